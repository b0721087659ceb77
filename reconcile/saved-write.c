/*
 * saved-write.c — writing a saved plan (vf_saved_write, saved.h): the
 * plan exactly as `plan --json` prints it, the options and state serial
 * it was made with, the fingerprints (saved-fingerprint.c) and the
 * display hints (saved-display.c), into one JSON document replaced
 * atomically.
 *
 * It never changes the plan document `plan --json` prints: what is saved
 * under "plan" is that document, byte for byte the same data.  A plan of
 * 30,000 changes is 250 MiB as one jansson tree, so the changes are
 * written one at a time (json-stream.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/json-stream.h"
#include "reconcile/saved-internal.h"

static void iso_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * The document, written as it is made: the plan one change at a time
 * (exactly as `plan --json` prints it, indented one level more), the
 * observed objects and the display hints one a line.  So writing a plan
 * of 30,000 changes costs what printing it costs, not a jansson tree of
 * the whole file.  0, or -1 when a value could not be encoded or a write
 * failed (errno).
 */
static int saved_write_doc(FILE *out, const struct vf_saved_source *src, json_t *config)
{
	json_t *opts = json_object(), *targets = json_array(), *state = json_object();
	struct vf_jsonw w;
	char created[32];
	size_t i;

	iso_now(created);
	vf_jsonw_init(&w, out);
	vf_jsonw_object(&w, NULL);
	vf_jsonw_value(&w, "format", json_string(VF_SAVED_FORMAT));
	vf_jsonw_value(&w, "format_version", json_integer(VF_SAVED_FORMAT_VERSION));
	vf_jsonw_value(&w, "created", json_string(created));
	vf_jsonw_value(&w, "virtform_version", json_string(src->version));
	vf_jsonw_value(&w, "hash_algorithm", json_string(HASH_ALGORITHM));
	vf_jsonw_value(&w, "config", json_incref(config));
	for (i = 0; i < src->opts->n_targets; i++)
		json_array_append_new(targets, json_string(src->opts->targets[i]));
	json_object_set_new(opts, "targets", targets);
	json_object_set_new(opts, "destroy", json_boolean(src->opts->destroy));
	json_object_set_new(opts, "allow_replace", json_boolean(src->opts->allow_replace));
	json_object_set_new(opts, "skip_unreachable", json_boolean(src->skip_unreachable));
	vf_jsonw_value(&w, "options", opts);
	json_object_set_new(state, "dir", json_string(src->state->dir ? src->state->dir : ""));
	json_object_set_new(state, "serial", json_integer((json_int_t)src->state->serial));
	json_object_set_new(state, "project", vf_json_str_or_null(src->state->project));
	vf_jsonw_value(&w, "state", state);
	vf_saved_observed_write(&w, src);
	vf_plan_write_json(&w, "plan", src->plan);
	vf_jsonw_object(&w, "display");
	vf_jsonw_array(&w, "changes");
	for (i = 0; i < src->plan->n_actions; i++)
		vf_jsonw_line(&w, NULL, vf_saved_display_json(src->plan, i));
	vf_jsonw_end(&w);
	vf_jsonw_end(&w);
	vf_jsonw_end(&w);
	fputc('\n', out);
	if (w.failed) {
		errno = EINVAL;
		return -1;
	}
	return vf_jsonw_finish(&w);
}

/* The "config" member: the fingerprint (saved-fingerprint.c), and for a
 * configuration read from git the trust settings of the checks apply
 * makes again on the commit.  NULL with *error. */
static json_t *config_json(const struct vf_saved_source *src, char **error)
{
	json_t *config = vf_saved_config_json(src->config_path, src->config, error);
	json_t *g = config ? json_object_get(config, "git") : NULL;

	if (g) {
		if (src->git_allowed_signers)
			json_object_set_new(g, "allowed_signers",
					    json_string(src->git_allowed_signers));
		if (src->git_gpg_keyring)
			json_object_set_new(g, "gpg_keyring", json_string(src->git_gpg_keyring));
		json_object_set_new(g, "allow_rewind", json_boolean(src->git_allow_rewind));
	}
	return config;
}

/* Write the saved plan of src to path atomically (vf_atomic_begin). */
int vf_saved_write(const char *path, const struct vf_saved_source *src, char **error)
{
	struct vf_atomic a;
	json_t *config;
	FILE *out = NULL;
	int e;

	config = config_json(src, error);
	if (!config)
		return -1;
	if (vf_atomic_begin(&a, path, 0600) < 0)
		goto fail;
	if (!(out = fdopen(a.fd, "w"))) {
		vf_atomic_abort(&a);
		goto fail;
	}
	if (saved_write_doc(out, src, config) < 0) {
		e = errno;
		fclose(out);
		a.fd = -1;
		vf_atomic_abort(&a);
		if (e == EINVAL)
			*error = xasprintf("cannot encode the saved plan '%s' (a value is not valid "
					   "UTF-8?)", path);
		else
			*error = xasprintf("cannot write the saved plan '%s': %s", path,
					   strerror(e));
		json_decref(config);
		return -1;
	}
	/* the FILE's buffer out, then the fd is a's again to fsync and close */
	if (fflush(out) == EOF || fsync(a.fd) < 0) {
		e = errno;
		fclose(out);
		a.fd = -1;
		vf_atomic_abort(&a);
		errno = e;
		goto fail;
	}
	e = fclose(out) == EOF ? errno : 0;
	a.fd = -1;
	if (e) {
		vf_atomic_abort(&a);
		errno = e;
		goto fail;
	}
	if (vf_atomic_commit(&a) < 0)
		goto fail;
	json_decref(config);
	return 0;
fail:
	*error = xasprintf("cannot write the saved plan '%s': %s", path, strerror(errno));
	json_decref(config);
	return -1;
}
