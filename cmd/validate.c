/*
 * validate.c — `virtform validate [CONFIG]`: load and check a
 * configuration without contacting any host (the loader's checks, then
 * the scheduler's: what no placement can satisfy).  Prints a one-line summary,
 * or every problem found (FILE:LINE:COL: error: ...) and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/run.h"
#include "reconcile/model.h"
#include "reconcile/schedule-input.h"
#include "reconcile/util.h"

static const char usage[] =
	"usage: virtform validate [CONFIG | --git REPO[@REF] [--path SUBDIR]\n"
	"                         | --staged [--path SUBDIR]] [--json]\n"
	"\n"
	"Load CONFIG (a YAML file, or a directory whose *.yaml/*.yml files are\n"
	"merged; default: the current directory) and check it: syntax, types,\n"
	"units, names and references, and what no placement can satisfy\n"
	"(affinity rules that contradict, a VM no host may take).  No host is\n"
	"contacted.\n"
	"\n"
	"Prints 'ok: N hosts, N networks, N storage domains, N vms', or every\n"
	"problem as FILE:LINE:COL: error: MESSAGE.\n"
	"\n"
	"Options:\n"
	"      --json   print one JSON document instead: {\"valid\": bool,\n"
	"               \"counts\": {...}, \"diagnostics\": [{\"severity\", \"file\",\n"
	"               \"line\", \"column\", \"message\", \"hint\"}]} (for editors, CI)\n"
	RUN_GIT_OPTIONS_HELP
	"      --staged              check the staged files (git's index) of the\n"
	"                            repository of the current directory, at\n"
	"                            --path SUBDIR of the work tree; positions read\n"
	"                            :0:PATH:LINE:COL (git show :0:PATH); what the\n"
	"                            pre-commit hook runs\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 valid, 1 invalid or unreadable.\n";

/* A JSON string of s; bytes that are not UTF-8 (a file name) become '?'. */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char *copy, *p;

	if (j)
		return j;
	copy = xstrdup(s);
	for (p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* With --git: the commit's configuration; a git failure (fetch, ref, path)
 * becomes a diagnostic without a position. */
static struct vf_config *load_git(const struct vf_run_opts *o, struct vf_git_source *g,
				  struct vf_diags *diags)
{
	struct vf_config *config = NULL;
	struct vf_pos pos = { o->git, 0, 0 };
	char *error = NULL, *state_dir = vf_run_state_dir(o);
	struct vf_git_auth auth = vf_run_git_auth(o);

	if (vf_git_source_parse(g, o->git, o->git_path, &error) == 0)
		config = vf_git_source_load(g, o->cache_dir, state_dir, true, &auth, diags, &error);
	if (error)
		vf_error_at(diags, &pos, NULL, "%s", error);
	free(error);
	free(state_dir);
	return config;
}

/*
 * With --staged: the index of the repository of the current directory
 * (or $GIT_DIR, as in a hook).  Files are labelled ":0:PATH"; a git
 * failure becomes a diagnostic without a position.
 */
static struct vf_config *load_staged(const struct vf_run_opts *o, struct vf_diags *diags)
{
	struct vf_config *config = NULL;
	struct vf_pos pos = { "(staged)", 0, 0 };
	struct vf_git_repo r;
	struct vf_git_files files;
	char *error = NULL;

	if (vf_git_open_env(&r, &error) < 0) {
		vf_error_at(diags, &pos, NULL, "%s", error);
		free(error);
		return NULL;
	}
	if (vf_git_read_index(&r, o->git_path, &files, &error) < 0) {
		vf_error_at(diags, &pos, NULL, "%s", error);
		free(error);
	} else {
		config = vf_config_load_files("(staged)", files.files, files.n, diags);
		vf_git_files_release(&files);
	}
	vf_git_close(&r);
	return config;
}

/* The scheduler's checks on a loaded config, into diags: the config, or
 * NULL (freed) when they found a problem. */
static struct vf_config *check_schedule(struct vf_config *config, struct vf_diags *diags)
{
	if (!config || !vf_sched_check_config(config, diags))
		return config;
	vf_config_free(config);
	return NULL;
}

static int validate_json(const char *path, const struct vf_run_opts *ro, bool staged)
{
	struct vf_diags diags = { 0 };
	struct vf_git_source gs = { 0 };
	struct vf_config *config = staged ? load_staged(ro, &diags)
				   : ro->git ? load_git(ro, &gs, &diags) : vf_config_load(path, &diags);
	json_t *doc = json_object(), *list = json_array();
	size_t i;

	config = check_schedule(config, &diags);
	vf_diags_sort(&diags);
	for (i = 0; i < diags.n; i++) {
		const struct vf_diag *g = &diags.items[i];
		json_t *o = json_object();
		json_object_set_new(o, "severity",
				    json_string(g->severity == VF_SEVERITY_ERROR ? "error" : "warning"));
		json_object_set_new(o, "file", g->pos.file ? json_text(g->pos.file) : json_null());
		json_object_set_new(o, "line", g->pos.line ? json_integer(g->pos.line) : json_null());
		json_object_set_new(o, "column", g->pos.line ? json_integer(g->pos.col) : json_null());
		json_object_set_new(o, "message", json_text(g->message));
		json_object_set_new(o, "hint", g->hint ? json_text(g->hint) : json_null());
		json_array_append_new(list, o);
	}
	json_object_set_new(doc, "valid", json_boolean(config != NULL));
	if (gs.resolved)
		json_object_set_new(doc, "commit", json_pack("{ssss}", "sha", gs.commit.sha,
							    "subject", gs.commit.subject));
	if (config) {
		json_t *counts = json_object();
		json_object_set_new(counts, "clusters", json_integer((json_int_t)config->n_clusters));
		json_object_set_new(counts, "hosts", json_integer((json_int_t)config->n_hosts));
		json_object_set_new(counts, "networks", json_integer((json_int_t)config->n_networks));
		json_object_set_new(counts, "storage_domains", json_integer((json_int_t)config->n_storages));
		json_object_set_new(counts, "images", json_integer((json_int_t)config->n_images));
		json_object_set_new(counts, "vms", json_integer((json_int_t)config->n_vms));
		json_object_set_new(doc, "counts", counts);
	}
	json_object_set_new(doc, "diagnostics", list);
	json_dumpf(doc, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(doc);
	vf_diags_release(&diags);
	vf_git_source_release(&gs);
	if (!config)
		return VF_EXIT_ERROR;
	vf_config_free(config);
	return VF_EXIT_OK;
}

/* The work of validate without --json: the configuration loaded (CONFIG,
 * --git or, staged, the index), its errors on stderr, "ok: ..." on
 * stdout.  The exit status. */
static int validate_text(const struct vf_run_opts *o, bool staged)
{
	struct vf_config *config;
	struct vf_run run = { 0 };
	struct vf_diags diags = { 0 };

	/* vf_run_load prints its own errors; the scheduler's go with the
	 * staged loader's */
	config = staged ? load_staged(o, &diags) : vf_run_load(&vf_cmd_validate, o, &run);
	config = check_schedule(config, &diags);
	vf_diags_sort(&diags);
	vf_diags_print(&diags, stderr);
	if (diags.n_errors)
		fprintf(stderr, "%zu error%s in the %sconfiguration\n", diags.n_errors,
			diags.n_errors == 1 ? "" : "s", staged ? "staged " : "");
	vf_diags_release(&diags);
	if (run.git) {
		vf_git_source_release(run.git);
		free(run.git);
	}
	if (!config)
		return VF_EXIT_ERROR;
	/* The exact wording is a contract: scripts parse it.  Always plural. */
	printf("ok: %zu hosts, %zu networks, %zu storage domains, %zu vms\n",
	       config->n_hosts, config->n_networks, config->n_storages, config->n_vms);
	vf_config_free(config);
	return VF_EXIT_OK;
}

static int validate_run(int argc, char **argv)
{
	struct vf_run_opts o = { 0 };
	bool json = false, staged = false;
	int c;

	while ((c = vf_run_getopt(&vf_cmd_validate, argc, argv, &o)) != -1) {
		switch (c) {
		case VF_OPT_JSON: json = true; break;
		case VF_OPT_STAGED: staged = true; break;
		default: return vf_cmd_usage_or_error(&vf_cmd_validate, c);
		}
	}
	if (staged && (o.git || o.cache_dir || optind < argc)) {
		vf_cmd_error(&vf_cmd_validate, "--staged reads the index of the current "
			     "repository: give no CONFIG, --git or --cache-dir with it (--path "
			     "SUBDIR names the configuration in the work tree)");
		return VF_EXIT_ERROR;
	}
	if (!staged && vf_run_config_arg(&vf_cmd_validate, argc, argv, &o) < 0)
		return VF_EXIT_ERROR;
	if (json)
		return validate_json(o.config_path, &o, staged);
	return validate_text(&o, staged);
}

const struct vf_cmd vf_cmd_validate = VF_CMD("validate",
	"check a configuration without contacting any host", usage, validate_run,
	.options = VF_OPTS(VF_OPT_JSON, VF_OPT_STAGED, RUN_GIT_OPTS));

