/*
 * saved.c — saved plans (saved.h): fingerprints of the configuration and
 * of the observed objects a plan depends on, the file written and read
 * back, the stale checks of `apply FILE`, and the plan rebuilt for `show`.
 *
 * Boundaries: this file never contacts a host nor runs the planner; the
 * command side (cmd/run.c) runs the normal pipeline and hands the results
 * here.  It never changes the plan document `plan --json` prints: what is
 * saved under "plan" is that document, byte for byte the same data.
 *
 * Which observed objects count (the same rules as plan.c's ownership):
 * an object is part of the fingerprint when its address is desired, or
 * the state records it, or it is a domain whose marker names this
 * project, or a volume such a domain's marker lists.  Everything else on
 * the hosts is someone else's and cannot change what the plan does.
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

#include "reconcile/saved.h"

#define HASH_ALGORITHM "fnv1a-64"
#define DETECT_BYTES 4096

/* ---- hashing -------------------------------------------------------------- */

/* 64-bit FNV-1a: a change detector, not a MAC (see saved.h). */
#define FNV_INIT 14695981039346656037ull

static void fnv_add(uint64_t *h, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < n; i++)
		*h = (*h ^ p[i]) * 1099511628211ull;
}

/* A string and its terminating NUL, so "ab","c" and "a","bc" differ. */
static void fnv_str(uint64_t *h, const char *s)
{
	if (!s)
		s = "";
	fnv_add(h, s, strlen(s) + 1);
}

static void hex16(uint64_t h, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The hash of a file's content; -1 with errno when it cannot be read. */
static int file_hash(const char *path, char out[17])
{
	char buf[65536];
	uint64_t h = FNV_INIT;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -1;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		fnv_add(&h, buf, (size_t)n);
	}
	close(fd);
	hex16(h, out);
	return 0;
}

/* ---- small JSON helpers --------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The plan document exactly as `plan --json` prints it, parsed. */
static json_t *plan_document(const struct vf_plan *plan, char **error)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_error_t je;
	json_t *doc;

	if (!f) {
		*error = xasprintf("cannot encode the plan: %s", strerror(errno));
		return NULL;
	}
	vf_plan_print_json(plan, f);
	fclose(f);
	doc = json_loadb(buf, len, 0, &je);
	free(buf);
	if (!doc)
		*error = xasprintf("cannot encode the plan: %s", je.text);
	return doc;
}

void vf_saved_problems_release(struct vf_saved_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->lines[i]);
	free(p->lines);
	memset(p, 0, sizeof(*p));
}

static void problem(struct vf_saved_problems *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(struct vf_saved_problems *p, const char *fmt, ...)
{
	va_list ap;

	VF_GROW(p->lines, p->n + 1, p->alloc);
	va_start(ap, fmt);
	p->lines[p->n++] = xvasprintf(fmt, ap);
	va_end(ap);
}

/* ---- the configuration's fingerprint --------------------------------------- */

/* {"path", "project", "files": [{path, hash}], "images": [{path, size,
 * mtime_ns} or {path, missing: true}], "fingerprint"}; NULL with *error
 * when a file cannot be read. */
static json_t *config_json(const char *config_path, const struct vf_config *c, char **error)
{
	json_t *o = json_object(), *files = json_array(), *images = json_array();
	uint64_t h = FNV_INIT;
	char hex[17];
	size_t i;

	for (i = 0; i < c->n_files; i++) {
		json_t *f = json_object();
		if (file_hash(c->files[i], hex) < 0) {
			*error = xasprintf("cannot read '%s': %s", c->files[i], strerror(errno));
			json_decref(f);
			json_decref(files);
			json_decref(images);
			json_decref(o);
			return NULL;
		}
		json_object_set_new(f, "path", json_string(c->files[i]));
		json_object_set_new(f, "hash", json_string(hex));
		json_array_append_new(files, f);
		fnv_str(&h, c->files[i]);
		fnv_str(&h, hex);
	}
	for (i = 0; i < c->n_images; i++) {
		const char *path = c->images[i].file_path;
		json_t *im = json_object();
		struct stat st;
		if (!path)
			continue;
		json_object_set_new(im, "path", json_string(path));
		fnv_str(&h, path);
		if (stat(path, &st) == 0) {
			uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
					 (uint64_t)st.st_mtim.tv_nsec;
			json_object_set_new(im, "size", json_integer((json_int_t)st.st_size));
			json_object_set_new(im, "mtime_ns", json_integer((json_int_t)mtime));
			fnv_add(&h, &st.st_size, sizeof(st.st_size));
			fnv_add(&h, &mtime, sizeof(mtime));
		} else {
			json_object_set_new(im, "missing", json_true());
			fnv_str(&h, "missing");
		}
		json_array_append_new(images, im);
	}
	hex16(h, hex);
	json_object_set_new(o, "path", json_string(config_path));
	json_object_set_new(o, "project", json_string(c->project));
	json_object_set_new(o, "files", files);
	json_object_set_new(o, "images", images);
	json_object_set_new(o, "fingerprint", json_string(hex));
	return o;
}

/* ---- the observed objects' fingerprint ------------------------------------- */

struct object {
	char *key;                       /* "ADDRESS\tHOST\tPOOL": unique per object */
	json_t *json;                    /* {address, host, pool?, hash, fields?} */
	const struct vf_observed_item *item;
};

struct objects {
	struct object *v;
	size_t n, alloc;
	struct vf_strmap by_key;         /* key -> struct object index + 1 */
};

static void objects_release(struct objects *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		free(o->v[i].key);
		json_decref(o->v[i].json);
	}
	free(o->v);
	vf_strmap_release(&o->by_key);
	memset(o, 0, sizeof(*o));
}

static char *address_of(const struct vf_resource *r)
{
	if (r->kind == VF_KIND_VM)
		return xasprintf("vm.%s", r->name);
	return xasprintf("%s.%s@%s", vf_kind_name(r->kind), r->name, r->host);
}

static char *object_key(const char *address, const char *host, const char *pool)
{
	return xasprintf("%s\t%s\t%s", address, host ? host : "", pool ? pool : "");
}

/* "vm.web on lab1" / "volume.x@lab1": how messages name an object. */
static char *object_name(const char *address, const char *host)
{
	if (!strncmp(address, "vm.", 3) && host && *host)
		return xasprintf("%s on %s", address, host);
	return xstrdup(address);
}

static const char *item_pool(const struct vf_observed_item *it)
{
	return it->r.kind == VF_KIND_VOLUME ? it->r.u.vol.pool : NULL;
}

static bool marker_ours(const struct vf_observed_item *it, const char *project)
{
	return it->r.kind == VF_KIND_VM && it->detailed && it->r.u.vm.marker.project &&
	       !strcmp(it->r.u.vm.marker.project, project);
}

/* The hash of everything the planner reads of an observed object: its
 * fields as plans show them, and for a domain its marker. */
static void item_hash(const struct vf_observed_item *it, const char *address, char out[17],
		      json_t *field_hashes)
{
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_field *fields;
	uint64_t h = FNV_INIT;
	char buf[4096], hex[17];
	size_t n, i;

	fnv_str(&h, vf_kind_name(it->r.kind));
	fnv_str(&h, address);
	fnv_str(&h, it->r.host);
	fnv_str(&h, item_pool(it));
	fnv_str(&h, it->detailed ? "detailed" : "listed");
	if (it->detailed) {
		n = vf_resource_fields(&it->r, false, &arena, &fields);
		for (i = 0; i < n; i++) {
			const char *v = vf_field_format(&fields[i], buf, sizeof(buf));
			fnv_str(&h, fields[i].path);
			fnv_str(&h, v);
			if (field_hashes) {
				uint64_t fh = FNV_INIT;
				fnv_str(&fh, v);
				hex16(fh, hex);
				json_object_set_new(field_hashes, fields[i].path, json_string(hex));
			}
		}
		if (it->r.kind == VF_KIND_VM) {
			const struct vf_marker *m = &it->r.u.vm.marker;
			fnv_str(&h, m->project ? m->project : "(no marker)");
			fnv_str(&h, m->spec_hash);
			for (i = 0; i < m->n_volumes; i++) {
				fnv_str(&h, m->volumes[i].pool);
				fnv_str(&h, m->volumes[i].name);
				fnv_str(&h, m->volumes[i].keep ? "keep" : "");
			}
		}
	}
	hex16(h, out);
	vf_arena_release(&arena);
}

static int object_cmp(const void *a, const void *b)
{
	return strcmp(((const struct object *)a)->key, ((const struct object *)b)->key);
}

/*
 * Collect the observed objects src's plan depends on (see the top of this
 * file), sorted by key.  acted: addresses whose objects get per-field
 * hashes (those the plan has an action for).
 */
static void objects_collect(const struct vf_saved_source *src, const struct vf_strmap *acted,
			    struct objects *out)
{
	struct vf_strmap desired = { 0 }, owned = { 0 };
	char **owned_keys = NULL;
	size_t n_owned = 0, alloc_owned = 0, h, i, k;
	static int yes;

	memset(out, 0, sizeof(*out));
	for (i = 0; src->desired && i < src->desired->n; i++)
		vf_strmap_put(&desired, src->desired->items[i].address, &yes);
	/* volumes the markers of this project's domains list, per host */
	for (h = 0; h < src->views->n; h++) {
		const struct vf_observed *o = src->views->hosts[h].observed;
		for (i = 0; o && i < o->n_items; i++) {
			const struct vf_observed_item *it = &o->items[i];
			if (!marker_ours(it, src->config->project))
				continue;
			for (k = 0; k < it->r.u.vm.marker.n_volumes; k++) {
				const struct vf_marker_volume *mv = &it->r.u.vm.marker.volumes[k];
				char *key = xasprintf("%s\t%s\t%s", o->host, mv->pool, mv->name);
				VF_GROW(owned_keys, n_owned + 1, alloc_owned);
				owned_keys[n_owned++] = key;
				vf_strmap_put(&owned, key, &yes);
			}
		}
	}
	for (h = 0; h < src->views->n; h++) {
		const struct vf_observed *o = src->views->hosts[h].observed;
		for (i = 0; o && i < o->n_items; i++) {
			const struct vf_observed_item *it = &o->items[i];
			char *address = address_of(&it->r), hash[17];
			bool keep = vf_strmap_get(&desired, address) ||
				    (src->state && vf_state_find(src->state, address)) ||
				    marker_ours(it, src->config->project);
			struct object *ob;
			json_t *fields = NULL;
			if (!keep && it->r.kind == VF_KIND_VOLUME && it->r.u.vol.pool) {
				char *key = xasprintf("%s\t%s\t%s", o->host, it->r.u.vol.pool,
						      it->r.name);
				keep = vf_strmap_get(&owned, key) != NULL;
				free(key);
			}
			if (!keep) {
				free(address);
				continue;
			}
			if (it->detailed && acted && vf_strmap_get(acted, address))
				fields = json_object();
			item_hash(it, address, hash, fields);
			VF_GROW(out->v, out->n + 1, out->alloc);
			ob = &out->v[out->n++];
			ob->key = object_key(address, o->host, item_pool(it));
			ob->item = it;
			ob->json = json_object();
			json_object_set_new(ob->json, "address", json_string(address));
			json_object_set_new(ob->json, "host", json_string(o->host));
			if (item_pool(it))
				json_object_set_new(ob->json, "pool", json_string(item_pool(it)));
			json_object_set_new(ob->json, "hash", json_string(hash));
			if (fields)
				json_object_set_new(ob->json, "fields", fields);
			free(address);
		}
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), object_cmp);
	for (i = 0; i < out->n; i++)
		vf_strmap_put(&out->by_key, out->v[i].key, (void *)(uintptr_t)(i + 1));
	for (i = 0; i < n_owned; i++)
		free(owned_keys[i]);
	free(owned_keys);
	vf_strmap_release(&owned);
	vf_strmap_release(&desired);
}

/* The hosts skipped with --skip-unreachable, by name. */
static json_t *skipped_json(const struct vf_views *views)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < views->n; i++)
		if (views->hosts[i].skipped)
			json_array_append_new(a, json_string(views->hosts[i].host->name));
	return a;
}

static json_t *observed_json(const struct vf_saved_source *src, const struct vf_strmap *acted)
{
	json_t *o = json_object(), *list = json_array(), *skipped = skipped_json(src->views), *v;
	struct objects objs;
	uint64_t h = FNV_INIT;
	char hex[17];
	size_t i;

	objects_collect(src, acted, &objs);
	for (i = 0; i < objs.n; i++) {
		fnv_str(&h, objs.v[i].key);
		fnv_str(&h, jstr(objs.v[i].json, "hash"));
		json_array_append(list, objs.v[i].json);
	}
	json_array_foreach(skipped, i, v) {
		fnv_str(&h, "skipped");
		fnv_str(&h, json_string_value(v));
	}
	hex16(h, hex);
	json_object_set_new(o, "fingerprint", json_string(hex));
	json_object_set_new(o, "skipped_hosts", skipped);
	json_object_set_new(o, "objects", list);
	objects_release(&objs);
	return o;
}

/* ---- display hints -------------------------------------------------------- */

static const char *const value_types[] = {
	[VF_VALUE_STRING] = "string", [VF_VALUE_NUMBER] = "number",
	[VF_VALUE_BYTES] = "bytes",   [VF_VALUE_BOOL] = "bool",
};
static const char *const field_classes[] = {
	[VF_FIELD_LIVE] = "live", [VF_FIELD_RESTART] = "restart", [VF_FIELD_REPLACE] = "replace",
};

static int name_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (!strcmp(names[i], name))
			return (int)i;
	return -1;
}

/*
 * What the plan document loses and `show` needs, one entry per change:
 * each field's value type (bytes vs number) and change class, whether a
 * side is "left open by the configuration", the dependencies by index
 * (an address may have two actions), the VM's shutdown timeout.
 */
static json_t *display_json(const struct vf_plan *plan)
{
	json_t *o = json_object(), *changes = json_array();
	size_t i, j;

	for (i = 0; i < plan->n_actions; i++) {
		const struct vf_action *a = &plan->actions[i];
		json_t *c = json_object(), *fields = json_array(), *deps = json_array();
		struct vf_arena scratch = VF_ARENA_INIT;
		const struct vf_field_change *fs;
		size_t nf = vf_action_fields(a, &scratch, &fs);
		for (j = 0; j < nf; j++) {
			const struct vf_field_change *f = &fs[j];
			json_t *x = json_object();
			enum vf_value_type t = f->after.present ? f->after.type : f->before.type;
			json_object_set_new(x, "type", json_string(value_types[t]));
			json_object_set_new(x, "class", json_string(field_classes[f->class]));
			if (f->before.any)
				json_object_set_new(x, "before_any", json_true());
			if (f->after.any)
				json_object_set_new(x, "after_any", json_true());
			json_array_append_new(fields, x);
		}
		for (j = 0; j < a->n_deps; j++)
			json_array_append_new(deps, json_integer((json_int_t)a->deps[j]));
		json_object_set_new(c, "fields", fields);
		vf_arena_release(&scratch);
		json_object_set_new(c, "depends_on", deps);
		json_object_set_new(c, "shutdown_timeout", json_integer(a->shutdown_timeout));
		json_array_append_new(changes, c);
	}
	json_object_set_new(o, "changes", changes);
	return o;
}

/* ---- write ---------------------------------------------------------------- */

static void iso_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_all(int fd, const char *text, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static void fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? (slash == path ? xstrdup("/")
					   : xstrndup(path, (size_t)(slash - path)))
			  : xstrdup(".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);   /* best effort: the rename is done */
		close(fd);
	}
	free(dir);
}

/* Write text to path: temporary file beside it, fsync, rename. */
static int write_atomic(const char *path, const char *text, char **error)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd, e;

	unlink(tmp);   /* left by a crashed run that had our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 ||
	    write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		errno = e;
		goto fail_unlink;
	}
	if (close(fd) < 0)
		goto fail_unlink;
	if (rename(tmp, path) < 0)
		goto fail_unlink;
	fsync_parent(path);
	free(tmp);
	return 0;
fail_unlink:
	e = errno;
	unlink(tmp);
	errno = e;
fail:
	*error = xasprintf("cannot write the saved plan '%s': %s", path, strerror(errno));
	free(tmp);
	return -1;
}

/* Addresses the plan has an action for. */
static void acted_addresses(const struct vf_plan *plan, struct vf_strmap *m)
{
	static int yes;
	size_t i;

	for (i = 0; i < plan->n_actions; i++)
		vf_strmap_put(m, plan->actions[i].address, &yes);
}

int vf_saved_write(const char *path, const struct vf_saved_source *src, char **error)
{
	json_t *root = json_object(), *opts = json_object(), *targets = json_array();
	json_t *state = json_object(), *config, *plan;
	struct vf_strmap acted = { 0 };
	char created[32], *text;
	size_t i;
	int rc = -1;

	config = config_json(src->config_path, src->config, error);
	if (!config)
		goto out;
	plan = plan_document(src->plan, error);
	if (!plan) {
		json_decref(config);
		goto out;
	}
	iso_now(created);
	json_object_set_new(root, "format", json_string(VF_SAVED_FORMAT));
	json_object_set_new(root, "format_version", json_integer(VF_SAVED_FORMAT_VERSION));
	json_object_set_new(root, "created", json_string(created));
	json_object_set_new(root, "virtform_version", json_string(src->version));
	json_object_set_new(root, "hash_algorithm", json_string(HASH_ALGORITHM));
	json_object_set_new(root, "config", config);
	for (i = 0; i < src->opts->n_targets; i++)
		json_array_append_new(targets, json_string(src->opts->targets[i]));
	json_object_set_new(opts, "targets", targets);
	targets = NULL;
	json_object_set_new(opts, "destroy", json_boolean(src->opts->destroy));
	json_object_set_new(opts, "allow_replace", json_boolean(src->opts->allow_replace));
	json_object_set_new(opts, "skip_unreachable", json_boolean(src->skip_unreachable));
	json_object_set_new(root, "options", opts);
	opts = NULL;
	json_object_set_new(state, "dir", json_string(src->state->dir ? src->state->dir : ""));
	json_object_set_new(state, "serial", json_integer((json_int_t)src->state->serial));
	json_object_set_new(state, "project", jstr_or_null(src->state->project));
	json_object_set_new(root, "state", state);
	state = NULL;
	acted_addresses(src->plan, &acted);
	json_object_set_new(root, "observed", observed_json(src, &acted));
	json_object_set_new(root, "plan", plan);
	json_object_set_new(root, "display", display_json(src->plan));
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text) {
		*error = xstrdup("cannot encode the saved plan");
		goto out;
	}
	rc = write_atomic(path, text, error);
	free(text);
out:
	vf_strmap_release(&acted);
	json_decref(targets);
	json_decref(opts);
	json_decref(state);
	json_decref(root);
	return rc;
}

/* ---- read ----------------------------------------------------------------- */

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

void vf_saved_release(struct vf_saved *s)
{
	size_t i;

	free(s->file);
	free(s->created);
	free(s->version);
	free(s->config_path);
	free(s->state_dir);
	free(s->state_project);
	free(s->project);
	for (i = 0; i < s->n_targets; i++)
		free(s->targets[i]);
	free(s->targets);
	json_decref(s->doc);
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

int vf_saved_read(const char *path, struct vf_saved *s, char **error)
{
	json_error_t je;
	json_t *root, *v, *config, *opts, *state, *plan, *display, *changes, *t;
	struct stat st;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->file = xstrdup(path);
	if (stat(path, &st) < 0) {
		*error = xasprintf("cannot read the saved plan '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || !vf_saved_detect(path)) {
		*error = xasprintf("'%s' is not a saved plan (%s); make one with 'virtform plan "
				   "-out FILE'", path, S_ISREG(st.st_mode)
				   ? "a saved plan is a JSON object with \"format\": \"" VF_SAVED_FORMAT "\""
				   : "not a regular file");
		return -1;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		*error = xasprintf("%s:%d:%d: the saved plan is not valid JSON (%s): it may be "
				   "truncated or edited; make it again with 'virtform plan -out %s'",
				   path, je.line, je.column, je.text, path);
		return -1;
	}
	s->doc = root;
	if (!json_is_object(root) || !jstr(root, "format") ||
	    strcmp(jstr(root, "format"), VF_SAVED_FORMAT)) {
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
		const char *by = jstr(root, "virtform_version");
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
	if (!(config = need(s, root, "", "config", JSON_OBJECT, error)) ||
	    !(v = need(s, config, "config", "path", JSON_STRING, error)))
		return -1;
	s->config_path = xstrdup(json_string_value(v));
	if (!(v = need(s, config, "config", "project", JSON_STRING, error)))
		return -1;
	s->project = xstrdup(json_string_value(v));
	if (!need(s, config, "config", "files", JSON_ARRAY, error) ||
	    !need(s, config, "config", "images", JSON_ARRAY, error))
		return -1;
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
	if (jstr(state, "project"))
		s->state_project = xstrdup(jstr(state, "project"));
	if (!(v = need(s, root, "", "observed", JSON_OBJECT, error)) ||
	    !need(s, v, "observed", "objects", JSON_ARRAY, error) ||
	    !need(s, v, "observed", "skipped_hosts", JSON_ARRAY, error))
		return -1;
	if (!(plan = need(s, root, "", "plan", JSON_OBJECT, error)) ||
	    !(changes = need(s, plan, "plan", "changes", JSON_ARRAY, error)) ||
	    !(display = need(s, root, "", "display", JSON_OBJECT, error)) ||
	    !(v = need(s, display, "display", "changes", JSON_ARRAY, error)))
		return -1;
	if (json_array_size(v) != json_array_size(changes)) {
		*error = xasprintf("%s: the saved plan is damaged: %zu changes but %zu display "
				   "entries; make it again with 'virtform plan -out %s'", path,
				   json_array_size(changes), json_array_size(v), path);
		return -1;
	}
	s->n_changes = json_array_size(changes);
	return 0;
}

int vf_saved_print_json(const struct vf_saved *s, FILE *out)
{
	int rc = json_dumpf(json_object_get(s->doc, "plan"), out,
			    JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	fputc('\n', out);
	return rc;
}

/* ---- the plan rebuilt ----------------------------------------------------- */

static int action_parse(const char *name, enum vf_action_type *t)
{
	int i;

	for (i = 0; name && i < VF_ACTION_COUNT; i++)
		if (!strcmp(vf_action_type_name(i), name)) {
			*t = i;
			return 0;
		}
	return -1;
}

/* One side of a field change from its JSON value and display hint. */
static void field_from_json(struct vf_arena *arena, struct vf_field *f, const char *path,
			    json_t *v, int type, bool any)
{
	memset(f, 0, sizeof(*f));
	f->path = vf_arena_strdup(arena, path);
	f->type = type < 0 ? VF_VALUE_STRING : (enum vf_value_type)type;
	f->any = any;
	if (json_is_string(v)) {
		f->type = VF_VALUE_STRING;
		f->text = vf_arena_strdup(arena, json_string_value(v));
		f->present = true;
	} else if (json_is_integer(v)) {
		if (f->type != VF_VALUE_BYTES)
			f->type = VF_VALUE_NUMBER;
		f->number = (uint64_t)json_integer_value(v);
		f->present = true;
	} else if (json_is_boolean(v)) {
		f->type = VF_VALUE_BOOL;
		f->number = json_is_true(v);
		f->present = true;
	} else {
		/* null: absent, or left open by the configuration */
		f->present = any;
	}
}

static char **strings_of(json_t *a, size_t *n, size_t *alloc)
{
	char **out = NULL;
	json_t *v;
	size_t i;

	*n = *alloc = 0;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			continue;
		VF_GROW(out, *n + 1, *alloc);
		out[(*n)++] = xstrdup(json_string_value(v));
	}
	return out;
}

int vf_saved_plan(const struct vf_saved *s, struct vf_plan *plan, char **error)
{
	json_t *doc = json_object_get(s->doc, "plan");
	json_t *changes = json_object_get(doc, "changes");
	json_t *display = json_object_get(json_object_get(s->doc, "display"), "changes");
	json_t *c;
	size_t i, j;

	memset(plan, 0, sizeof(*plan));
	plan->project = vf_arena_strdup(&plan->arena, jstr(doc, "project") ? jstr(doc, "project")
									    : s->project);
	plan->warnings = strings_of(json_object_get(doc, "warnings"), &plan->n_warnings,
				    &plan->alloc_warnings);
	plan->skipped_hosts = strings_of(json_object_get(doc, "skipped_hosts"), &plan->n_skipped,
					 &plan->alloc_skipped);
	plan->actions = xcalloc(s->n_changes + 1, sizeof(*plan->actions));
	plan->alloc_actions = s->n_changes + 1;
	json_array_foreach(changes, i, c) {
		struct vf_action *a = &plan->actions[plan->n_actions];
		json_t *d = json_array_get(display, i);
		json_t *fields = json_object_get(c, "fields"), *dfields = json_object_get(d, "fields");
		json_t *deps = json_object_get(d, "depends_on"), *f, *v;
		const char *address = jstr(c, "address"), *name = jstr(c, "name");

		if (!address || !name || vf_kind_parse(jstr(c, "kind"), &a->kind) < 0 ||
		    action_parse(jstr(c, "action"), &a->type) < 0 || !json_is_array(fields) ||
		    json_array_size(dfields) != json_array_size(fields)) {
			*error = xasprintf("%s: the saved plan is damaged: change %zu is incomplete "
					   "(address, kind, name, action, fields); make it again "
					   "with 'virtform plan -out %s'", s->file, i, s->file);
			vf_plan_free(plan);
			return -1;
		}
		a->index = plan->n_actions++;
		a->address = vf_arena_strdup(&plan->arena, address);
		a->name = vf_arena_strdup(&plan->arena, name);
		a->host = vf_arena_strdup(&plan->arena, jstr(c, "host") ? jstr(c, "host") : "");
		a->live = json_is_true(json_object_get(c, "live"));
		a->requires_restart = json_is_true(json_object_get(c, "requires_restart"));
		a->drift = json_is_true(json_object_get(c, "drift"));
		if (jstr(c, "reason"))
			a->reason = vf_arena_strdup(&plan->arena, jstr(c, "reason"));
		v = json_object_get(d, "shutdown_timeout");
		a->shutdown_timeout = json_is_integer(v) ? (unsigned)json_integer_value(v) : 0;
		a->n_fields = json_array_size(fields);
		a->fields = vf_arena_alloc(&plan->arena, (a->n_fields ? a->n_fields : 1) *
							 sizeof(*a->fields));
		json_array_foreach(fields, j, f) {
			json_t *h = json_array_get(dfields, j);
			const char *path = jstr(f, "path") ? jstr(f, "path") : "?";
			int type = name_index(value_types, VF_ARRAY_SIZE(value_types), jstr(h, "type"));
			int cls = name_index(field_classes, VF_ARRAY_SIZE(field_classes),
					     jstr(h, "class"));
			struct vf_field_change *fc = &a->fields[j];
			field_from_json(&plan->arena, &fc->before, path, json_object_get(f, "before"),
					type, json_is_true(json_object_get(h, "before_any")));
			field_from_json(&plan->arena, &fc->after, path, json_object_get(f, "after"),
					type, json_is_true(json_object_get(h, "after_any")));
			fc->class = cls < 0 ? VF_FIELD_LIVE : (enum vf_field_class)cls;
		}
		json_array_foreach(deps, j, v) {
			json_int_t k = json_is_integer(v) ? json_integer_value(v) : -1;
			if (k < 0 || (size_t)k >= s->n_changes || (size_t)k == i)
				continue;
			VF_GROW(a->deps, a->n_deps + 1, a->alloc_deps);
			a->deps[a->n_deps++] = (size_t)k;
		}
		plan->counts[a->type]++;
	}
	return 0;
}

/* ---- stale checks --------------------------------------------------------- */

size_t vf_saved_check_config(const struct vf_saved *s, const struct vf_config *config,
			     struct vf_saved_problems *p)
{
	json_t *saved = json_object_get(s->doc, "config"), *now, *f;
	struct vf_strmap seen = { 0 };
	char *error = NULL;
	size_t before = p->n, i, k;
	static const char *const lists[] = { "files", "images" };

	now = config_json(s->config_path, config, &error);
	if (!now) {
		problem(p, "%s", error);
		free(error);
		return p->n - before;
	}
	for (k = 0; k < VF_ARRAY_SIZE(lists); k++) {
		json_t *old = json_object_get(saved, lists[k]), *cur = json_object_get(now, lists[k]);
		const char *what = k ? "the image file" : "the configuration file";
		vf_strmap_release(&seen);
		memset(&seen, 0, sizeof(seen));
		json_array_foreach(old, i, f)
			if (jstr(f, "path"))
				vf_strmap_put(&seen, jstr(f, "path"), f);
		json_array_foreach(cur, i, f) {
			const char *path = jstr(f, "path");
			json_t *o = vf_strmap_get(&seen, path);
			if (!o)
				problem(p, "%s '%s' was added since the plan was made", what, path);
			else if (!json_equal(o, f))
				problem(p, "%s '%s' %s since the plan was made", what, path,
					json_is_true(json_object_get(f, "missing")) ? "was removed"
										      : "changed");
			vf_strmap_set(&seen, path, NULL);
		}
		json_array_foreach(old, i, f)
			if (jstr(f, "path") && vf_strmap_get(&seen, jstr(f, "path")))
				problem(p, "%s '%s' is no longer part of the configuration", what,
					jstr(f, "path"));
	}
	vf_strmap_release(&seen);
	json_decref(now);
	return p->n - before;
}

/* The saved action on address with a field at path, for its old value. */
static const struct vf_field_change *saved_field(const struct vf_plan *plan, const char *address,
						 const char *path)
{
	size_t i, j;

	for (i = 0; i < plan->n_actions; i++) {
		const struct vf_action *a = &plan->actions[i];
		if (strcmp(a->address, address))
			continue;
		for (j = 0; j < a->n_fields; j++)
			if (!strcmp(a->fields[j].before.path, path) && a->fields[j].before.present)
				return &a->fields[j];
	}
	return NULL;
}

/* Name the fields of an object that changed: old value when the saved
 * plan shows it, the new one from the host. */
static void field_problems(const struct vf_plan *saved_plan, const char *name, const char *address,
			   json_t *old, const struct vf_observed_item *it,
			   struct vf_saved_problems *p)
{
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_field *fields;
	size_t n = vf_resource_fields(&it->r, false, &arena, &fields), i, found = 0;
	char now[512], then[512], hex[17];
	const char *path;
	json_t *v;

	for (i = 0; i < n; i++) {
		const char *val = vf_field_format(&fields[i], now, sizeof(now));
		const char *was = jstr(old, fields[i].path);
		const struct vf_field_change *fc;
		uint64_t h = FNV_INIT;
		fnv_str(&h, val);
		hex16(h, hex);
		if (was && !strcmp(was, hex))
			continue;
		found++;
		fc = saved_field(saved_plan, address, fields[i].path);
		if (fc)
			problem(p, "%s: %s %s -> %s changed since the plan was made", name,
				fields[i].path, vf_field_format(&fc->before, then, sizeof(then)), val);
		else if (!was)
			problem(p, "%s: %s %s appeared since the plan was made", name,
				fields[i].path, val);
		else
			problem(p, "%s: %s changed since the plan was made (now %s)", name,
				fields[i].path, val);
	}
	json_object_foreach(old, path, v) {
		bool still = false;
		for (i = 0; i < n && !still; i++)
			still = !strcmp(fields[i].path, path);
		if (!still) {
			found++;
			problem(p, "%s: %s was removed since the plan was made", name, path);
		}
	}
	if (!found)
		problem(p, "%s changed since the plan was made (its virtform marker)", name);
	vf_arena_release(&arena);
}

/*
 * An object the saved plan does not act on changed: say so, with what a
 * plan made now would do about it ("update it: autostart: yes -> no"),
 * which names the fields.
 */
static void changed_problem(const struct vf_plan *now, const char *name, const char *address,
			    struct vf_saved_problems *p)
{
	char *what = xstrdup(""), *next, b[256], c[256];
	size_t i, j;

	for (i = 0; i < now->n_actions; i++) {
		const struct vf_action *a = &now->actions[i];
		if (strcmp(a->address, address))
			continue;
		next = xasprintf("%s%s a plan made now would %s it", what, *what ? ";" : "",
				 vf_action_type_name(a->type));
		free(what);
		what = next;
		for (j = 0; j < a->n_fields && a->type != VF_ACTION_DELETE &&
			    a->type != VF_ACTION_CREATE; j++) {
			const struct vf_field_change *f = &a->fields[j];
			next = xasprintf("%s%s %s: %s -> %s", what, j ? "," : ":",
					 f->after.present ? f->after.path : f->before.path,
					 vf_field_format(&f->before, b, sizeof(b)),
					 vf_field_format(&f->after, c, sizeof(c)));
			free(what);
			what = next;
		}
	}
	if (*what)
		problem(p, "%s changed since the plan was made (%s)", name, what + 1);
	else
		problem(p, "%s changed since the plan was made", name);
	free(what);
}

/* The saved and the recomputed plan's changes, by address and action. */
static void changes_problems(const struct vf_saved *s, json_t *now_changes,
			     struct vf_saved_problems *p)
{
	json_t *old = json_object_get(json_object_get(s->doc, "plan"), "changes"), *c, *o;
	struct vf_strmap olds = { 0 }, nows = { 0 };
	char **keys = NULL;
	size_t n_keys = 0, alloc_keys = 0, i, before = p->n;

	if (json_equal(old, now_changes))
		return;
	json_array_foreach(old, i, c) {
		char *k = xasprintf("%s %s", jstr(c, "address"), jstr(c, "action"));
		VF_GROW(keys, n_keys + 1, alloc_keys);
		keys[n_keys++] = k;
		vf_strmap_put(&olds, k, c);
	}
	json_array_foreach(now_changes, i, c) {
		char *k = xasprintf("%s %s", jstr(c, "address"), jstr(c, "action"));
		VF_GROW(keys, n_keys + 1, alloc_keys);
		keys[n_keys++] = k;
		vf_strmap_put(&nows, k, c);
		o = vf_strmap_get(&olds, k);
		if (!o)
			problem(p, "%s: a plan made now would also %s it", jstr(c, "address"),
				jstr(c, "action"));
		else if (!json_equal(o, c))
			problem(p, "%s: the %s planned now differs from the saved one",
				jstr(c, "address"), jstr(c, "action"));
	}
	json_array_foreach(old, i, c) {
		char *k = xasprintf("%s %s", jstr(c, "address"), jstr(c, "action"));
		if (!vf_strmap_get(&nows, k))
			problem(p, "%s: the saved plan would %s it; a plan made now would not",
				jstr(c, "address"), jstr(c, "action"));
		free(k);
	}
	if (p->n == before)
		problem(p, "the actions planned now come in another order than the saved ones");
	for (i = 0; i < n_keys; i++)
		free(keys[i]);
	free(keys);
	vf_strmap_release(&olds);
	vf_strmap_release(&nows);
}

static bool strings_contain(json_t *a, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

size_t vf_saved_check_run(const struct vf_saved *s, const struct vf_saved_source *now,
			  struct vf_saved_problems *p)
{
	json_t *observed = json_object_get(s->doc, "observed");
	json_t *old_objs = json_object_get(observed, "objects");
	json_t *old_skipped = json_object_get(observed, "skipped_hosts");
	json_t *now_skipped = skipped_json(now->views), *v, *doc;
	struct vf_strmap acted = { 0 }, old_by_key = { 0 };
	struct vf_plan saved_plan;
	struct objects objs;
	char **keys = NULL, *error = NULL;
	size_t n_keys = 0, alloc_keys = 0, before = p->n, i;

	/* the state: another apply (or import) since */
	if (now->state->serial != s->serial) {
		char *dirs = now->state->dir && strcmp(now->state->dir, s->state_dir)
				     ? xasprintf("; the plan was made with the state in '%s', this "
						 "run uses '%s'", s->state_dir, now->state->dir)
				     : xstrdup("");
		problem(p, "another apply ran since the plan was made (state serial %llu then, "
			   "%llu now%s)", (unsigned long long)s->serial,
			(unsigned long long)now->state->serial, dirs);
		free(dirs);
	}

	/* hosts skipped then and now */
	json_array_foreach(old_skipped, i, v)
		if (json_is_string(v) && !strings_contain(now_skipped, json_string_value(v)))
			problem(p, "host %s was skipped (unreachable) when the plan was made and "
				   "answers now", json_string_value(v));
	json_array_foreach(now_skipped, i, v)
		if (!strings_contain(old_skipped, json_string_value(v)))
			problem(p, "host %s is unreachable now and was not when the plan was made",
				json_string_value(v));

	/* the observed objects */
	if (vf_saved_plan(s, &saved_plan, &error) < 0) {
		problem(p, "%s", error);
		free(error);
		memset(&saved_plan, 0, sizeof(saved_plan));
	}
	acted_addresses(&saved_plan, &acted);
	objects_collect(now, &acted, &objs);
	json_array_foreach(old_objs, i, v) {
		const char *address = jstr(v, "address"), *host = jstr(v, "host");
		char *key, *name;
		uintptr_t k;
		if (!address || !host)
			continue;
		key = object_key(address, host, jstr(v, "pool"));
		VF_GROW(keys, n_keys + 1, alloc_keys);
		keys[n_keys++] = key;
		vf_strmap_put(&old_by_key, key, v);
		name = object_name(address, host);
		k = (uintptr_t)vf_strmap_get(&objs.by_key, key);
		if (!k) {
			if (!strncmp(address, "vm.", 3))
				problem(p, "%s vanished from %s since the plan was made", address, host);
			else
				problem(p, "%s vanished since the plan was made", address);
		} else if (strcmp(jstr(v, "hash") ? jstr(v, "hash") : "",
				  jstr(objs.v[k - 1].json, "hash"))) {
			json_t *old_fields = json_object_get(v, "fields");
			if (json_is_object(old_fields) && objs.v[k - 1].item->detailed)
				field_problems(&saved_plan, name, address, old_fields,
					       objs.v[k - 1].item, p);
			else
				changed_problem(now->plan, name, address, p);
		}
		free(name);
	}
	for (i = 0; i < objs.n; i++) {
		if (vf_strmap_get(&old_by_key, objs.v[i].key))
			continue;
		if (objs.v[i].item->r.kind == VF_KIND_VM)
			problem(p, "%s appeared on %s since the plan was made",
				jstr(objs.v[i].json, "address"), objs.v[i].item->r.host);
		else
			problem(p, "%s appeared since the plan was made",
				jstr(objs.v[i].json, "address"));
	}

	/* all the same: the plan made now must be the reviewed one */
	if (p->n == before) {
		doc = plan_document(now->plan, &error);
		if (!doc) {
			problem(p, "%s", error);
			free(error);
		} else {
			size_t n0 = p->n;
			changes_problems(s, json_object_get(doc, "changes"), p);
			if (p->n != n0 && strcmp(s->version, now->version))
				problem(p, "the plan was made by virtform %s, this is virtform %s",
					s->version, now->version);
			json_decref(doc);
		}
	}

	for (i = 0; i < n_keys; i++)
		free(keys[i]);
	free(keys);
	vf_strmap_release(&old_by_key);
	vf_strmap_release(&acted);
	objects_release(&objs);
	vf_plan_free(&saved_plan);
	json_decref(now_skipped);
	return p->n - before;
}
