/*
 * saved-read.c — reading a saved plan back and validating it
 * (vf_saved_detect, vf_saved_read, vf_saved_release, saved.h), and the
 * walks over its changes (vf_saved_changes_walk, vf_saved_print_json).
 *
 * Memory: a saved plan read back keeps only small things in memory (the
 * members as parsed, the observed objects and display hints compactly in
 * struct vf_saved_doc); its changes stay in the file and are read again,
 * one at a time (json-stream.h), by whoever needs them.  A file changed
 * since it was read is refused.
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

#define DETECT_BYTES 4096

bool vf_saved_detect(const char *path)
{
	char buf[DETECT_BYTES + 1];
	struct stat st;
	ssize_t n;
	size_t i = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	do
		n = read(fd, buf, DETECT_BYTES);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	while (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')
		i++;
	/* "format" is the first member we write; a YAML file never names it */
	return buf[i] == '{' && strstr(buf + i, "\"" VF_SAVED_FORMAT "\"") != NULL;
}

static void doc_free(struct vf_saved_doc *doc)
{
	size_t i;

	if (!doc)
		return;
	if (doc->fd >= 0)
		close(doc->fd);
	json_decref(doc->root);
	for (i = 0; i < doc->n_objects; i++)
		json_decref(doc->objects[i].fields);
	VF_FREE_MANY(doc->objects, doc->n_fields, doc->display, doc->hints, doc->deps);
	vf_arena_release(&doc->arena);
	free(doc);
}

void vf_saved_release(struct vf_saved *s)
{
	size_t i;

	free(s->file);
	free(s->created);
	free(s->version);
	free(s->config_path);
	free(s->git_repo);
	free(s->git_commit);
	free(s->git_path);
	free(s->git_cache);
	free(s->git_allowed_signers);
	free(s->git_gpg_keyring);
	free(s->state_dir);
	free(s->state_project);
	free(s->project);
	for (i = 0; i < s->n_targets; i++)
		free(s->targets[i]);
	free(s->targets);
	doc_free(s->doc);
	memset(s, 0, sizeof(*s));
}

/* The member key of o with the JSON type want, or NULL and *error. */
static json_t *need(const struct vf_saved *s, json_t *o, const char *where, const char *key,
		    json_type want, char **error)
{
	static const char *const type_names[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
		[JSON_INTEGER] = "an integer", [JSON_REAL] = "a number", [JSON_TRUE] = "a boolean",
		[JSON_FALSE] = "a boolean", [JSON_NULL] = "null",
	};
	json_t *v = json_object_get(o, key);
	bool ok = v && (json_typeof(v) == want ||
			(want == JSON_TRUE && json_is_boolean(v)));

	if (ok)
		return v;
	*error = xasprintf("%s: the saved plan is damaged: %s%s%s is %s, not %s; make it again "
			   "with 'virtform plan -out %s'", s->file, where, *where ? "." : "", key,
			   v ? "of another type" : "missing", type_names[want], s->file);
	return NULL;
}

/* An observed object read back, kept compactly in doc. */
static void object_keep(struct vf_saved_doc *doc, json_t *v)
{
	const char *address = vf_json_str(v, "address"), *host = vf_json_str(v, "host");
	struct saved_object *o;
	char *key;

	if (!address || !host)
		return;
	VF_GROW(doc->objects, doc->n_objects + 1, doc->alloc_objects);
	o = &doc->objects[doc->n_objects++];
	key = vf_saved_object_key(address, host, vf_json_str(v, "pool"));
	o->key = vf_arena_strdup(&doc->arena, key);
	free(key);
	o->address = vf_arena_strdup(&doc->arena, address);
	o->host = vf_arena_strdup(&doc->arena, host);
	o->hash = vf_arena_strdup(&doc->arena, vf_json_str(v, "hash") ? vf_json_str(v, "hash") : "");
	o->fields = json_object_get(v, "fields");
	if (json_is_object(o->fields))
		json_incref(o->fields);
	else
		o->fields = NULL;
}

/* A change of the plan read: what an action needs is there (the rest is
 * checked when the plan is compared or rebuilt); its fields counted. */
static void change_keep(struct vf_saved_doc *doc, json_t *c)
{
	json_t *fields = json_object_get(c, "fields");
	enum vf_action_type type;
	enum vf_kind kind;

	if (!doc->damaged &&
	    (!vf_json_str(c, "address") || !vf_json_str(c, "name") || vf_kind_parse(vf_json_str(c, "kind"), &kind) < 0 ||
	     vf_action_type_parse(vf_json_str(c, "action"), &type) < 0 || !json_is_array(fields)))
		doc->damaged = doc->n_changes + 1;
	VF_GROW(doc->n_fields, doc->n_changes + 1, doc->alloc_changes);
	doc->n_fields[doc->n_changes++] = (uint32_t)json_array_size(fields);
}

/*
 * The object member of the top level that r is about to read ("plan",
 * "observed", "display"), as a skeleton: its members parsed, except the
 * array named big, which is read one element at a time — each handed to
 * keep (when not NULL), then dropped — and left empty in the skeleton.
 * *count: its elements; *at: where it starts.  NULL on a JSON error.
 */
static json_t *read_streamed(struct vf_jsonr *r, const char *big, struct vf_saved_doc *doc,
			     void (*keep)(struct vf_saved_doc *, json_t *), size_t *count, off_t *at)
{
	json_t *o = json_object(), *v;
	int more;

	if (vf_jsonr_enter(r) < 0)
		goto fail;
	while ((more = vf_jsonr_next(r)) > 0) {
		if (json_object_get(o, r->key)) {
			vf_jsonr_fail_key(r, "duplicate object key");
			goto fail;
		}
		if (!strcmp(r->key, big) && vf_jsonr_peek(r) == '[') {
			*count = 0;
			if (at)
				*at = vf_jsonr_tell(r);
			if (vf_jsonr_enter(r) < 0)
				goto fail;
			while ((more = vf_jsonr_next(r)) > 0) {
				if (!(v = vf_jsonr_value(r, JSON_REJECT_DUPLICATES)))
					goto fail;
				if (keep)
					keep(doc, v);
				json_decref(v);
				(*count)++;
			}
			if (more < 0)
				goto fail;
			v = json_array();
		} else if (!(v = vf_jsonr_value(r, JSON_REJECT_DUPLICATES))) {
			goto fail;
		}
		json_object_set_new(o, r->key, v);   /* the arrays' elements have no names */
	}
	if (more < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/*
 * The top level, one member at a time: "plan", "observed" and "display"
 * as skeletons (read_streamed), the rest whole.  Syntax only: what the
 * members hold is checked by the caller, in the order it always was.
 */
static json_t *read_document(struct vf_jsonr *r, struct vf_saved_doc *doc, size_t *n_changes)
{
	json_t *root = json_object(), *v;
	size_t n_objects = 0, n_display = 0;
	char *key;
	int more;

	if (vf_jsonr_peek(r) != '{') {   /* vf_saved_detect saw one */
		vf_jsonr_fail(r, "'{' expected");
		goto fail;
	}
	vf_jsonr_enter(r);
	while ((more = vf_jsonr_next(r)) > 0) {
		int c = vf_jsonr_peek(r);
		if (json_object_get(root, r->key)) {
			vf_jsonr_fail_key(r, "duplicate object key");
			goto fail;
		}
		key = xstrdup(r->key);   /* r->key is the last member read, at any depth */
		if (c == '{' && !strcmp(key, "plan"))
			v = read_streamed(r, "changes", doc, change_keep, n_changes,
					  &doc->changes_at);
		else if (c == '{' && !strcmp(key, "observed"))
			v = read_streamed(r, "objects", doc, object_keep, &n_objects, NULL);
		else if (c == '{' && !strcmp(key, "display"))
			v = read_streamed(r, "changes", doc, vf_saved_display_keep, &n_display, NULL);
		else
			v = vf_jsonr_value(r, JSON_REJECT_DUPLICATES);
		if (v)
			json_object_set_new(root, key, v);
		free(key);
		if (!v)
			goto fail;
	}
	if (more < 0 || vf_jsonr_finish(r) < 0)
		goto fail;
	return root;
fail:
	json_decref(root);
	return NULL;
}

/* Open path and parse it, the changes streamed (read_document): the
 * root, or NULL and *error. */
static json_t *read_file(const char *path, struct vf_saved *s, size_t *n_changes, char **error)
{
	struct vf_saved_doc *doc;
	struct vf_jsonr r;
	json_t *root;
	struct stat st;

	if (stat(path, &st) < 0) {
		*error = xasprintf("cannot read the saved plan '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || !vf_saved_detect(path)) {
		*error = xasprintf("'%s' is not a saved plan (%s); make one with 'virtform plan "
				   "-out FILE'", path, S_ISREG(st.st_mode)
				   ? "a saved plan is a JSON object with \"format\": \"" VF_SAVED_FORMAT "\""
				   : "not a regular file");
		return NULL;
	}
	s->doc = doc = xcalloc(1, sizeof(*doc));
	doc->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (doc->fd < 0 || fstat(doc->fd, &doc->st) < 0) {
		*error = xasprintf("cannot read the saved plan '%s': %s", path, strerror(errno));
		return NULL;
	}
	vf_jsonr_init(&r, doc->fd, 0);
	root = read_document(&r, doc, n_changes);
	if (!root)
		*error = xasprintf("%s:%d:%d: the saved plan is not valid JSON (%s): it may be "
				   "truncated or edited; make it again with 'virtform plan -out %s'",
				   path, r.err_line, r.err_column, r.err_text, path);
	vf_jsonr_release(&r);
	doc->root = root;
	return root;
}

/* "format", "format_version" (one this virtform reads), "created" and
 * "virtform_version". */
static int read_format(const char *path, struct vf_saved *s, json_t *root, char **error)
{
	json_t *v;

	if (!vf_json_str(root, "format") || strcmp(vf_json_str(root, "format"), VF_SAVED_FORMAT)) {
		*error = xasprintf("'%s' is not a saved plan (it has no \"format\": \"%s\"); make "
				   "one with 'virtform plan -out %s'", path, VF_SAVED_FORMAT, path);
		return -1;
	}
	v = json_object_get(root, "format_version");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		*error = xasprintf("%s: the saved plan is damaged: \"format_version\" is missing or "
				   "not a positive integer; make it again with 'virtform plan -out %s'",
				   path, path);
		return -1;
	}
	if (json_integer_value(v) > VF_SAVED_FORMAT_VERSION) {
		const char *by = vf_json_str(root, "virtform_version");
		*error = xasprintf("%s: the saved plan has format version %lld, and this virtform "
				   "reads version %d: apply it with the virtform that made it (%s), "
				   "or make it again with 'virtform plan -out %s'", path,
				   (long long)json_integer_value(v), VF_SAVED_FORMAT_VERSION,
				   by ? by : "a newer one", path);
		return -1;
	}
	if (!(v = need(s, root, "", "created", JSON_STRING, error)))
		return -1;
	s->created = xstrdup(json_string_value(v));
	if (!(v = need(s, root, "", "virtform_version", JSON_STRING, error)))
		return -1;
	s->version = xstrdup(json_string_value(v));
	return 0;
}

/* "config": its path, the git commit it was read from, its project. */
static int read_config(const char *path, struct vf_saved *s, json_t *root, char **error)
{
	json_t *config, *v, *g;

	if (!(config = need(s, root, "", "config", JSON_OBJECT, error)) ||
	    !(v = need(s, config, "config", "path", JSON_STRING, error)))
		return -1;
	s->config_path = xstrdup(json_string_value(v));
	if ((g = json_object_get(config, "git"))) {
		if (!vf_json_str(g, "repo") || !vf_json_str(g, "commit") || !vf_json_str(g, "path")) {
			*error = xasprintf("%s: the saved plan is damaged: config.git needs repo, "
					   "commit and path", path);
			return -1;
		}
		s->git_repo = xstrdup(vf_json_str(g, "repo"));
		s->git_commit = xstrdup(vf_json_str(g, "commit"));
		s->git_path = xstrdup(vf_json_str(g, "path"));
		if (vf_json_str(g, "cache_dir"))
			s->git_cache = xstrdup(vf_json_str(g, "cache_dir"));
		if (vf_json_str(g, "allowed_signers"))
			s->git_allowed_signers = xstrdup(vf_json_str(g, "allowed_signers"));
		if (vf_json_str(g, "gpg_keyring"))
			s->git_gpg_keyring = xstrdup(vf_json_str(g, "gpg_keyring"));
		s->git_allow_rewind = json_is_true(json_object_get(g, "allow_rewind"));
	}
	if (!(v = need(s, config, "config", "project", JSON_STRING, error)))
		return -1;
	s->project = xstrdup(json_string_value(v));
	if (!need(s, config, "config", "files", JSON_ARRAY, error) ||
	    !need(s, config, "config", "images", JSON_ARRAY, error))
		return -1;
	return 0;
}

/* "options" (--target, --destroy, ...) and "state" (serial, dir, project). */
static int read_options(const char *path, struct vf_saved *s, json_t *root, char **error)
{
	json_t *opts, *state, *v, *t;
	size_t i;

	if (!(opts = need(s, root, "", "options", JSON_OBJECT, error)) ||
	    !(v = need(s, opts, "options", "targets", JSON_ARRAY, error)))
		return -1;
	s->targets = xcalloc(json_array_size(v) + 1, sizeof(*s->targets));
	json_array_foreach(v, i, t) {
		if (!json_is_string(t)) {
			*error = xasprintf("%s: the saved plan is damaged: options.targets[%zu] is "
					   "not a string", path, i);
			return -1;
		}
		s->targets[s->n_targets++] = xstrdup(json_string_value(t));
	}
	if (!(v = need(s, opts, "options", "destroy", JSON_TRUE, error)))
		return -1;
	s->destroy = json_is_true(v);
	if (!(v = need(s, opts, "options", "allow_replace", JSON_TRUE, error)))
		return -1;
	s->allow_replace = json_is_true(v);
	if (!(v = need(s, opts, "options", "skip_unreachable", JSON_TRUE, error)))
		return -1;
	s->skip_unreachable = json_is_true(v);
	if (!(state = need(s, root, "", "state", JSON_OBJECT, error)) ||
	    !(v = need(s, state, "state", "serial", JSON_INTEGER, error)))
		return -1;
	s->serial = (uint64_t)json_integer_value(v);
	if (!(v = need(s, state, "state", "dir", JSON_STRING, error)))
		return -1;
	s->state_dir = xstrdup(json_string_value(v));
	if (vf_json_str(state, "project"))
		s->state_project = xstrdup(vf_json_str(state, "project"));
	return 0;
}

/* "observed", "plan" and "display" are there, and every change has its
 * display entry with as many fields. */
static int read_changes(const char *path, struct vf_saved *s, json_t *root, size_t n_changes,
			char **error)
{
	struct vf_saved_doc *doc = s->doc;
	json_t *v, *plan, *display;
	size_t i;

	if (!(v = need(s, root, "", "observed", JSON_OBJECT, error)) ||
	    !need(s, v, "observed", "objects", JSON_ARRAY, error) ||
	    !need(s, v, "observed", "skipped_hosts", JSON_ARRAY, error))
		return -1;
	if (!(plan = need(s, root, "", "plan", JSON_OBJECT, error)) ||
	    !need(s, plan, "plan", "changes", JSON_ARRAY, error) ||
	    !(display = need(s, root, "", "display", JSON_OBJECT, error)) ||
	    !need(s, display, "display", "changes", JSON_ARRAY, error))
		return -1;
	if (doc->n_display != n_changes) {
		*error = xasprintf("%s: the saved plan is damaged: %zu changes but %zu display "
				   "entries; make it again with 'virtform plan -out %s'", path,
				   n_changes, doc->n_display, path);
		return -1;
	}
	for (i = 0; i < n_changes && !doc->damaged; i++)
		if (doc->n_fields[i] != doc->display[i].n_fields)
			doc->damaged = i + 1;
	if (doc->damaged) {
		*error = xasprintf("%s: the saved plan is damaged: change %zu is incomplete "
				   "(address, kind, name, action, fields); make it again "
				   "with 'virtform plan -out %s'", path, doc->damaged - 1, path);
		return -1;
	}
	free(doc->n_fields);
	doc->n_fields = NULL;
	doc->alloc_changes = 0;
	s->n_changes = n_changes;
	return 0;
}

int vf_saved_read(const char *path, struct vf_saved *s, char **error)
{
	json_t *root;
	size_t n_changes = 0;

	memset(s, 0, sizeof(*s));
	s->file = xstrdup(path);
	if (!(root = read_file(path, s, &n_changes, error)) ||
	    read_format(path, s, root, error) < 0 || read_config(path, s, root, error) < 0 ||
	    read_options(path, s, root, error) < 0 ||
	    read_changes(path, s, root, n_changes, error) < 0)
		return -1;
	return 0;
}

/* Walk the saved plan's changes again (saved-internal.h). */
int vf_saved_changes_walk(const struct vf_saved *s,
			  int (*each)(const struct vf_saved *, size_t, json_t *, void *), void *arg,
			  char **error)
{
	struct vf_saved_doc *doc = s->doc;
	struct vf_jsonr r;
	struct stat st;
	json_t *c;
	size_t i = 0;
	int more, rc = 0;

	if (fstat(doc->fd, &st) < 0 || st.st_size != doc->st.st_size ||
	    st.st_mtim.tv_sec != doc->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != doc->st.st_mtim.tv_nsec) {
		*error = xasprintf("the saved plan %s changed while virtform read it", s->file);
		return -1;
	}
	vf_jsonr_init(&r, doc->fd, doc->changes_at);
	if (vf_jsonr_enter(&r) < 0)
		goto changed;
	while ((more = vf_jsonr_next(&r)) > 0) {
		if (i >= s->n_changes || !(c = vf_jsonr_value(&r, JSON_REJECT_DUPLICATES)))
			goto changed;
		rc = each(s, i++, c, arg);
		json_decref(c);
		if (rc)
			break;
	}
	if (rc == 0 && (more < 0 || i != s->n_changes))
		goto changed;
	vf_jsonr_release(&r);
	return rc;
changed:
	*error = xasprintf("the saved plan %s changed while virtform read it", s->file);
	vf_jsonr_release(&r);
	return -1;
}

static int print_change(const struct vf_saved *s, size_t i, json_t *c, void *arg)
{
	vf_jsonw_value(arg, NULL, json_incref(c));
	return 0;
}

/* The "plan" member as plan --json printed it: its members in their order,
 * the changes read from the file again one at a time. */
int vf_saved_print_json(const struct vf_saved *s, FILE *out)
{
	json_t *plan = json_object_get(s->doc->root, "plan"), *v;
	struct vf_jsonw w;
	const char *key;
	char *error = NULL;
	int rc = 0;

	vf_jsonw_init(&w, out);
	vf_jsonw_object(&w, NULL);
	json_object_foreach(plan, key, v) {
		if (strcmp(key, "changes")) {
			vf_jsonw_value(&w, key, json_incref(v));
			continue;
		}
		vf_jsonw_array(&w, key);
		rc = vf_saved_changes_walk(s, print_change, &w, &error);
		vf_jsonw_end(&w);
	}
	vf_jsonw_end(&w);
	fputc('\n', out);
	if (rc < 0) {
		fprintf(stderr, "virtform: error: %s\n", error);
		free(error);
	}
	return rc < 0 ? -1 : vf_jsonw_finish(&w);
}
