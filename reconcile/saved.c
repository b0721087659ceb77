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
 * Memory: a plan of 30,000 changes is 250 MiB as one jansson tree, so
 * the file is written and read one change at a time (json-stream.h), and
 * a saved plan read back keeps only small things in memory; its changes
 * are read again from the file, one at a time, by whoever needs them.
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

#include "reconcile/json-stream.h"
#include "reconcile/saved.h"

#define HASH_ALGORITHM "fnv1a-64"
#define DETECT_BYTES 4096

/* ---- hashing -------------------------------------------------------------- */

/* FNV-1a (vf_hash_add, util.h): a change detector, not a MAC (see saved.h). */
static void hex16(uint64_t h, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The hash of a file's content; -1 with errno when it cannot be read. */
static int file_hash(const char *path, char out[17])
{
	char buf[65536];
	uint64_t h = VF_HASH_INIT;
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
		h = vf_hash_add(h, buf, (size_t)n);
	}
	close(fd);
	hex16(h, out);
	return 0;
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
	uint64_t h = VF_HASH_INIT;
	char hex[17];
	size_t i;

	for (i = 0; i < c->n_files; i++) {
		json_t *f = json_object();
		if (c->git_commit) {
			/* read from a commit: the commit fixes the content */
			uint64_t g = VF_HASH_INIT;
			g = vf_hash_str(g, c->git_commit);
			g = vf_hash_str(g, c->files[i]);
			hex16(g, hex);
		} else if (file_hash(c->files[i], hex) < 0) {
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
		h = vf_hash_str(h, c->files[i]);
		h = vf_hash_str(h, hex);
	}
	for (i = 0; i < c->n_images; i++) {
		const char *path = c->images[i].file_path;
		json_t *im = json_object();
		struct stat st;
		if (!path)
			continue;
		json_object_set_new(im, "path", json_string(path));
		h = vf_hash_str(h, path);
		if (stat(path, &st) == 0) {
			uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
					 (uint64_t)st.st_mtim.tv_nsec;
			json_object_set_new(im, "size", json_integer((json_int_t)st.st_size));
			json_object_set_new(im, "mtime_ns", json_integer((json_int_t)mtime));
			h = vf_hash_add(h, &st.st_size, sizeof(st.st_size));
			h = vf_hash_add(h, &mtime, sizeof(mtime));
		} else {
			json_object_set_new(im, "missing", json_true());
			h = vf_hash_str(h, "missing");
		}
		json_array_append_new(images, im);
	}
	hex16(h, hex);
	json_object_set_new(o, "path", json_string(config_path));
	if (c->git_commit) {
		json_t *g = json_pack("{ssssss}", "repo", c->git_repo, "commit", c->git_commit,
				      "path", c->git_path ? c->git_path : "");
		if (c->git_cache)
			json_object_set_new(g, "cache_dir", json_string(c->git_cache));
		json_object_set_new(o, "git", g);
	}
	json_object_set_new(o, "project", json_string(c->project));
	json_object_set_new(o, "files", files);
	json_object_set_new(o, "images", images);
	json_object_set_new(o, "fingerprint", json_string(hex));
	return o;
}

/* ---- what is kept of a saved plan read back ------------------------------- */

/* An observed object as the saved plan recorded it. */
struct saved_object {
	const char *key;                 /* object_key(): in doc->arena */
	const char *address, *host;      /* in doc->arena */
	const char *hash;                /* "" when the file has none */
	json_t *fields;                  /* per-field hashes, or NULL */
};

/* A field's display hint: its value type and change class, each + 1 so
 * that 0 is "not said" (then a string, a live change). */
struct hint {
	unsigned char type : 3, cls : 2, before_any : 1, after_any : 1;
};

/* A change's display hints: hints[first_hint ..] and deps[first_dep ..]
 * of the doc (a 32-bit index is 4 billion fields). */
struct display {
	uint32_t n_fields, first_hint;
	uint32_t n_deps, first_dep;
	unsigned shutdown_timeout;
};

/*
 * The file stays open: "plan" -> "changes" is read again, one change at a
 * time, by whoever needs the changes (show, the stale checks), instead of
 * being held as a jansson tree of 400 MiB for 30,000 changes.  Everything
 * else is small and kept: the members as parsed, except that the arrays
 * plan.changes, observed.objects and display.changes are left empty in
 * root, the objects and hints kept compactly here.
 */
struct vf_saved_doc {
	int fd;
	struct stat st;                  /* as read: a file changed since is refused */
	json_t *root;
	off_t changes_at;                /* plan.changes: the offset of its '[' */
	uint32_t *n_fields;              /* while reading: each change's fields, */
	size_t n_changes, alloc_changes; /* checked against its display entry */
	size_t damaged;                  /* 1 + the first change that is incomplete */
	struct saved_object *objects;
	size_t n_objects, alloc_objects;
	struct display *display;
	size_t n_display, alloc_display;
	struct hint *hints;
	size_t n_hints, alloc_hints;
	uint32_t *deps;                  /* UINT32_MAX: not a change's index */
	size_t n_deps, alloc_deps;
	struct vf_arena arena;
};

/* ---- the observed objects' fingerprint ------------------------------------- */

struct object {
	char *key;                       /* "ADDRESS\tHOST\tPOOL": unique per object */
	char *address;
	const char *host;                /* the observation's */
	char hash[17];
	bool fields;                     /* the plan acts on it: per-field hashes */
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
		free(o->v[i].address);
	}
	free(o->v);
	vf_strmap_release(&o->by_key);
	memset(o, 0, sizeof(*o));
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
	uint64_t h = VF_HASH_INIT;
	char buf[4096], hex[17];
	size_t n, i;

	h = vf_hash_str(h, vf_kind_name(it->r.kind));
	h = vf_hash_str(h, address);
	h = vf_hash_str(h, it->r.host ? it->r.host : "");
	h = vf_hash_str(h, vf_observed_pool(it) ? vf_observed_pool(it) : "");
	h = vf_hash_str(h, it->detailed ? "detailed" : "listed");
	if (it->detailed) {
		n = vf_resource_fields(&it->r, false, &arena, &fields);
		for (i = 0; i < n; i++) {
			const char *v = vf_field_format(&fields[i], buf, sizeof(buf));
			h = vf_hash_str(h, fields[i].path);
			h = vf_hash_str(h, v);
			if (field_hashes) {
				uint64_t fh = VF_HASH_INIT;
				fh = vf_hash_str(fh, v);
				hex16(fh, hex);
				json_object_set_new(field_hashes, fields[i].path, json_string(hex));
			}
		}
		if (it->r.kind == VF_KIND_VM) {
			const struct vf_marker *m = &it->r.u.vm.marker;
			h = vf_hash_str(h, m->project ? m->project : "(no marker)");
			h = vf_hash_str(h, m->spec_hash ? m->spec_hash : "");
			for (i = 0; i < m->n_volumes; i++) {
				h = vf_hash_str(h, m->volumes[i].pool ? m->volumes[i].pool : "");
				h = vf_hash_str(h, m->volumes[i].name ? m->volumes[i].name : "");
				h = vf_hash_str(h, m->volumes[i].keep ? "keep" : "");
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
 * file), sorted by key, each with its hash.
 */
static void objects_collect(const struct vf_saved_source *src, struct objects *out)
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
			char *address = vf_address_new(it->r.kind, it->r.name, it->r.host);
			bool keep = vf_strmap_get(&desired, address) ||
				    (src->state && vf_state_find(src->state, address)) ||
				    marker_ours(it, src->config->project);
			struct object *ob;
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
			VF_GROW(out->v, out->n + 1, out->alloc);
			ob = &out->v[out->n++];
			item_hash(it, address, ob->hash, NULL);
			ob->key = object_key(address, o->host, vf_observed_pool(it));
			ob->address = address;
			ob->host = o->host;
			ob->item = it;
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

/*
 * Mark the objects the plan acts on: they get per-field hashes in the
 * file, made when each is written.  objs is sorted by key, which starts
 * with "ADDRESS\t": one binary search per action, no set of addresses.
 */
static void objects_mark_acted(struct objects *objs, const struct vf_plan *plan)
{
	size_t i, lo, hi, len;

	for (i = 0; i < plan->n_actions && objs->n; i++) {
		char *prefix = xasprintf("%s\t", plan->actions[i].address);
		len = strlen(prefix);
		for (lo = 0, hi = objs->n; lo < hi;) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(objs->v[mid].key, prefix) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < objs->n && !strncmp(objs->v[lo].key, prefix, len); lo++)
			objs->v[lo].fields = objs->v[lo].item->detailed;
		free(prefix);
	}
}

/* An object as the file holds it: {address, host, pool?, hash, fields?}. */
static json_t *object_json(const struct object *ob)
{
	const struct vf_observed_item *it = ob->item;
	json_t *o = json_object(), *fields = NULL;
	char hash[17];

	json_object_set_new(o, "address", json_string(ob->address));
	json_object_set_new(o, "host", json_string(ob->host));
	if (vf_observed_pool(it))
		json_object_set_new(o, "pool", json_string(vf_observed_pool(it)));
	json_object_set_new(o, "hash", json_string(ob->hash));
	if (ob->fields) {
		fields = json_object();
		item_hash(it, ob->address, hash, fields);
		json_object_set_new(o, "fields", fields);
	}
	return o;
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

/* observed: {fingerprint, skipped_hosts, objects: [one a line]}. */
static void observed_write(struct vf_jsonw *w, const struct vf_saved_source *src)
{
	json_t *skipped = skipped_json(src->views), *v;
	struct objects objs;
	uint64_t h = VF_HASH_INIT;
	char hex[17];
	size_t i;

	objects_collect(src, &objs);
	objects_mark_acted(&objs, src->plan);
	for (i = 0; i < objs.n; i++) {
		h = vf_hash_str(h, objs.v[i].key);
		h = vf_hash_str(h, objs.v[i].hash);
	}
	json_array_foreach(skipped, i, v) {
		h = vf_hash_str(h, "skipped");
		h = vf_hash_str(h, json_string_value(v));
	}
	hex16(h, hex);
	vf_jsonw_object(w, "observed");
	vf_jsonw_value(w, "fingerprint", json_string(hex));
	vf_jsonw_value(w, "skipped_hosts", skipped);
	vf_jsonw_array(w, "objects");
	for (i = 0; i < objs.n; i++)
		vf_jsonw_line(w, NULL, object_json(&objs.v[i]));
	vf_jsonw_end(w);
	vf_jsonw_end(w);
	objects_release(&objs);
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
 * What the plan document loses and `show` needs, for plan->actions[i]:
 * each field's value type (bytes vs number) and change class, whether a
 * side is "left open by the configuration", the dependencies by index
 * (an address may have two actions), the VM's shutdown timeout.
 */
static json_t *display_json(const struct vf_plan *plan, size_t i)
{
	const struct vf_action *a = &plan->actions[i];
	json_t *c = json_object(), *fields = json_array(), *deps = json_array();
	struct vf_arena scratch = VF_ARENA_INIT;
	const struct vf_field_change *fs;
	size_t j, nf = vf_action_fields(a, &scratch, &fs);

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
	return c;
}

/* A display entry read back, kept compactly in doc. */
static void display_keep(struct vf_saved_doc *doc, json_t *d)
{
	json_t *fields = json_object_get(d, "fields"), *deps = json_object_get(d, "depends_on");
	json_t *v = json_object_get(d, "shutdown_timeout"), *h;
	struct display *e;
	size_t j;

	/* the plan's changes come first: as many display entries, exactly */
	if (!doc->alloc_display && doc->n_changes) {
		doc->display = xcalloc(doc->n_changes, sizeof(*doc->display));
		doc->alloc_display = doc->n_changes;
	}
	VF_GROW(doc->display, doc->n_display + 1, doc->alloc_display);
	e = &doc->display[doc->n_display++];
	memset(e, 0, sizeof(*e));
	e->first_hint = (uint32_t)doc->n_hints;
	e->n_fields = (uint32_t)json_array_size(fields);
	VF_GROW(doc->hints, doc->n_hints + e->n_fields, doc->alloc_hints);
	json_array_foreach(fields, j, h) {
		struct hint *x = &doc->hints[doc->n_hints++];
		x->type = (unsigned)(name_index(value_types, VF_ARRAY_SIZE(value_types),
						vf_json_str(h, "type")) + 1);
		x->cls = (unsigned)(name_index(field_classes, VF_ARRAY_SIZE(field_classes),
					       vf_json_str(h, "class")) + 1);
		x->before_any = json_is_true(json_object_get(h, "before_any"));
		x->after_any = json_is_true(json_object_get(h, "after_any"));
	}
	e->first_dep = (uint32_t)doc->n_deps;
	e->n_deps = (uint32_t)json_array_size(deps);
	VF_GROW(doc->deps, doc->n_deps + e->n_deps, doc->alloc_deps);
	json_array_foreach(deps, j, h)
		doc->deps[doc->n_deps++] = json_is_integer(h) && json_integer_value(h) >= 0 &&
					   json_integer_value(h) < UINT32_MAX
					   ? (uint32_t)json_integer_value(h) : UINT32_MAX;
	e->shutdown_timeout = json_is_integer(v) ? (unsigned)json_integer_value(v) : 0;
}

/* ---- write ---------------------------------------------------------------- */

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
	observed_write(&w, src);
	vf_plan_write_json(&w, "plan", src->plan);
	vf_jsonw_object(&w, "display");
	vf_jsonw_array(&w, "changes");
	for (i = 0; i < src->plan->n_actions; i++)
		vf_jsonw_line(&w, NULL, display_json(src->plan, i));
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

/* Write the saved plan of src to path atomically (vf_atomic_begin). */
int vf_saved_write(const char *path, const struct vf_saved_source *src, char **error)
{
	struct vf_atomic a;
	json_t *config;
	FILE *out = NULL;
	int e;

	config = config_json(src->config_path, src->config, error);
	if (!config)
		return -1;
	if (json_object_get(config, "git")) {
		/* the checks apply makes again on the commit */
		json_t *g = json_object_get(config, "git");
		if (src->git_allowed_signers)
			json_object_set_new(g, "allowed_signers",
					    json_string(src->git_allowed_signers));
		if (src->git_gpg_keyring)
			json_object_set_new(g, "gpg_keyring", json_string(src->git_gpg_keyring));
		json_object_set_new(g, "allow_rewind", json_boolean(src->git_allow_rewind));
	}
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
	free(doc->objects);
	free(doc->n_fields);
	free(doc->display);
	free(doc->hints);
	free(doc->deps);
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
	key = object_key(address, host, vf_json_str(v, "pool"));
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
			v = read_streamed(r, "changes", doc, display_keep, &n_display, NULL);
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

int vf_saved_read(const char *path, struct vf_saved *s, char **error)
{
	struct vf_saved_doc *doc;
	struct vf_jsonr r;
	json_t *root, *v, *config, *opts, *state, *plan, *display, *t;
	struct stat st;
	size_t i, n_changes = 0;

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
	s->doc = doc = xcalloc(1, sizeof(*doc));
	doc->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (doc->fd < 0 || fstat(doc->fd, &doc->st) < 0) {
		*error = xasprintf("cannot read the saved plan '%s': %s", path, strerror(errno));
		return -1;
	}
	vf_jsonr_init(&r, doc->fd, 0);
	root = read_document(&r, doc, &n_changes);
	if (!root) {
		*error = xasprintf("%s:%d:%d: the saved plan is not valid JSON (%s): it may be "
				   "truncated or edited; make it again with 'virtform plan -out %s'",
				   path, r.err_line, r.err_column, r.err_text, path);
		vf_jsonr_release(&r);
		return -1;
	}
	vf_jsonr_release(&r);
	doc->root = root;
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
	if (!(config = need(s, root, "", "config", JSON_OBJECT, error)) ||
	    !(v = need(s, config, "config", "path", JSON_STRING, error)))
		return -1;
	s->config_path = xstrdup(json_string_value(v));
	if (json_object_get(config, "git")) {
		json_t *g = json_object_get(config, "git");
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

/*
 * Walk the saved plan's changes again, from the file kept open: each
 * change parsed, handed to each() with its index, dropped.  0, or -1 with
 * *error (the file changed since it was read, or each() said -1).
 */
static int changes_walk(const struct vf_saved *s,
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
		rc = changes_walk(s, print_change, &w, &error);
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

/* ---- the plan rebuilt ----------------------------------------------------- */

/* One side of a field change from its JSON value and display hint. */
static void field_from_json(struct vf_arena *arena, struct vf_field *f, const char *path,
			    json_t *v, int type, bool any)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
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

/* Change i of the saved plan has what an action needs, or *error. */
static int change_check(const struct vf_saved *s, size_t i, json_t *c, enum vf_kind *kind,
			enum vf_action_type *type, char **error)
{
	json_t *fields = json_object_get(c, "fields");

	if (!vf_json_str(c, "address") || !vf_json_str(c, "name") || vf_kind_parse(vf_json_str(c, "kind"), kind) < 0 ||
	    vf_action_type_parse(vf_json_str(c, "action"), type) < 0 || !json_is_array(fields) ||
	    s->doc->display[i].n_fields != json_array_size(fields)) {
		*error = xasprintf("%s: the saved plan is damaged: change %zu is incomplete "
				   "(address, kind, name, action, fields); make it again "
				   "with 'virtform plan -out %s'", s->file, i, s->file);
		return -1;
	}
	return 0;
}

struct rebuild {
	struct vf_plan *plan;
	struct vf_strmap paths;          /* field paths, shared: in plan->arena */
	char **error;
};

static int rebuild_change(const struct vf_saved *s, size_t i, json_t *c, void *arg)
{
	struct rebuild *rb = arg;
	struct vf_plan *plan = rb->plan;
	const struct vf_saved_doc *doc = s->doc;
	const struct display *d = &doc->display[i];
	struct vf_action *a = &plan->actions[plan->n_actions];
	json_t *fields = json_object_get(c, "fields"), *f;
	size_t j;

	if (change_check(s, i, c, &a->kind, &a->type, rb->error) < 0)
		return -1;
	a->index = plan->n_actions++;
	a->address = vf_arena_strdup(&plan->arena, vf_json_str(c, "address"));
	a->name = vf_arena_strdup(&plan->arena, vf_json_str(c, "name"));
	a->host = vf_arena_strdup(&plan->arena, vf_json_str(c, "host") ? vf_json_str(c, "host") : "");
	a->live = json_is_true(json_object_get(c, "live"));
	a->requires_restart = json_is_true(json_object_get(c, "requires_restart"));
	a->restart = json_is_true(json_object_get(c, "restart"));
	a->drift = json_is_true(json_object_get(c, "drift"));
	if (vf_json_str(c, "reason"))
		a->reason = vf_arena_strdup(&plan->arena, vf_json_str(c, "reason"));
	a->shutdown_timeout = d->shutdown_timeout;
	a->n_fields = json_array_size(fields);
	a->fields = vf_arena_alloc(&plan->arena, (a->n_fields ? a->n_fields : 1) *
						 sizeof(*a->fields));
	json_array_foreach(fields, j, f) {
		const struct hint *h = &doc->hints[d->first_hint + j];
		const char *path = vf_json_str(f, "path") ? vf_json_str(f, "path") : "?";
		char *shared = vf_strmap_get(&rb->paths, path);
		struct vf_field_change *fc = &a->fields[j];
		if (!shared) {
			shared = vf_arena_strdup(&plan->arena, path);
			vf_strmap_put(&rb->paths, shared, shared);
		}
		field_from_json(&plan->arena, &fc->before, shared, json_object_get(f, "before"),
				h->type - 1, h->before_any);
		field_from_json(&plan->arena, &fc->after, shared, json_object_get(f, "after"),
				h->type - 1, h->after_any);
		fc->class = h->cls ? (enum vf_field_class)(h->cls - 1) : VF_FIELD_LIVE;
	}
	for (j = 0; j < d->n_deps; j++) {
		uint32_t k = doc->deps[d->first_dep + j];
		if (k == UINT32_MAX || k >= s->n_changes || k == i)
			continue;
		VF_GROW(a->deps, a->n_deps + 1, a->alloc_deps);
		a->deps[a->n_deps++] = (size_t)k;
	}
	plan->counts[a->type]++;
	return 0;
}

int vf_saved_plan(const struct vf_saved *s, struct vf_plan *plan, char **error)
{
	json_t *doc = json_object_get(s->doc->root, "plan");
	struct rebuild rb = { .plan = plan, .error = error };
	int rc;

	memset(plan, 0, sizeof(*plan));
	plan->project = vf_arena_strdup(&plan->arena, vf_json_str(doc, "project") ? vf_json_str(doc, "project")
									    : s->project);
	plan->warnings = strings_of(json_object_get(doc, "warnings"), &plan->n_warnings,
				    &plan->alloc_warnings);
	plan->skipped_hosts = strings_of(json_object_get(doc, "skipped_hosts"), &plan->n_skipped,
					 &plan->alloc_skipped);
	plan->actions = xcalloc(s->n_changes + 1, sizeof(*plan->actions));
	plan->alloc_actions = s->n_changes + 1;
	rc = changes_walk(s, rebuild_change, &rb, error);
	vf_strmap_release(&rb.paths);
	if (rc == 0 && json_object_get(doc, "host_network") &&
	    vf_plan_add_links(plan, NULL, json_object_get(json_object_get(doc, "host_network"),
							   "changes")) < 0) {
		*error = xasprintf("%s: the saved plan is damaged: a host network change is "
				   "incomplete; make it again", s->file);
		rc = -1;
	}
	if (rc < 0)
		vf_plan_free(plan);
	return rc;
}

/* ---- stale checks --------------------------------------------------------- */

static bool same_file(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* "--allowed-signers '/x'", or "no --allowed-signers" (malloc'd). */
static char *option_value(const char *option, const char *value)
{
	return value ? xasprintf("%s '%s'", option, value) : xasprintf("no %s", option);
}

size_t vf_saved_check_trust(const struct vf_saved *s, const struct vf_saved_trust *t,
			    struct vf_saved_problems *p)
{
	bool plan_verify = s->git_allowed_signers || s->git_gpg_keyring;
	bool apply_verify = t->allowed_signers || t->gpg_keyring;
	size_t before = p->n;

	if (plan_verify != apply_verify) {
		problem(p, "the plan was made %s --verify-signatures, this apply %s it",
			plan_verify ? "with" : "without", apply_verify ? "gives" : "does not give");
	} else if (plan_verify) {
		static const char *const opts[] = { "--allowed-signers", "--gpg-keyring" };
		const char *plan_v[] = { s->git_allowed_signers, s->git_gpg_keyring };
		const char *apply_v[] = { t->allowed_signers, t->gpg_keyring };
		size_t i;

		for (i = 0; i < VF_ARRAY_SIZE(opts); i++) {
			char *was, *now;
			if (same_file(plan_v[i], apply_v[i]))
				continue;
			was = option_value(opts[i], plan_v[i]);
			now = option_value(opts[i], apply_v[i]);
			problem(p, "the plan was made with %s, this apply gives %s", was, now);
			free(was);
			free(now);
		}
	}
	if (s->git_allow_rewind != t->allow_rewind)
		problem(p, "the plan was made %s --allow-rewind, this apply %s it",
			s->git_allow_rewind ? "with" : "without",
			t->allow_rewind ? "gives" : "does not give");
	return p->n - before;
}

size_t vf_saved_check_config(const struct vf_saved *s, const struct vf_config *config,
			     struct vf_saved_problems *p)
{
	json_t *saved = json_object_get(s->doc->root, "config"), *now, *f;
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
			if (vf_json_str(f, "path"))
				vf_strmap_put(&seen, vf_json_str(f, "path"), f);
		json_array_foreach(cur, i, f) {
			const char *path = vf_json_str(f, "path");
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
			if (vf_json_str(f, "path") && vf_strmap_get(&seen, vf_json_str(f, "path")))
				problem(p, "%s '%s' is no longer part of the configuration", what,
					vf_json_str(f, "path"));
	}
	vf_strmap_release(&seen);
	json_decref(now);
	return p->n - before;
}

/* The saved plan rebuilt when a message needs its old values: only when
 * an object the plan acts on changed, so a plan that is not stale never
 * holds every field of every change in memory. */
struct lazy_plan {
	const struct vf_saved *s;
	struct vf_saved_problems *p;     /* where a failure to rebuild it goes */
	struct vf_plan plan;
	bool built;
};

static const struct vf_plan *lazy_plan_get(struct lazy_plan *lp)
{
	char *error = NULL;

	if (!lp->built) {
		lp->built = true;
		if (vf_saved_plan(lp->s, &lp->plan, &error) < 0) {
			problem(lp->p, "%s", error);
			free(error);
			memset(&lp->plan, 0, sizeof(lp->plan));
		}
	}
	return &lp->plan;
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
static void field_problems(struct lazy_plan *saved, const char *name, const char *address,
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
		const char *was = vf_json_str(old, fields[i].path);
		const struct vf_field_change *fc;
		uint64_t h = VF_HASH_INIT;
		h = vf_hash_str(h, val);
		hex16(h, hex);
		if (was && !strcmp(was, hex))
			continue;
		found++;
		fc = saved_field(lazy_plan_get(saved), address, fields[i].path);
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
	struct vf_buf what = VF_BUF_INIT;
	char b[256], c[256];
	size_t i, j;

	for (i = 0; i < now->n_actions; i++) {
		const struct vf_action *a = &now->actions[i];
		if (strcmp(a->address, address))
			continue;
		vf_buf_addf(&what, "%s a plan made now would %s it", what.len ? ";" : "",
			    vf_action_type_name(a->type));
		for (j = 0; j < a->n_fields && a->type != VF_ACTION_DELETE &&
			    a->type != VF_ACTION_CREATE; j++) {
			const struct vf_field_change *f = &a->fields[j];
			vf_buf_addf(&what, "%s %s: %s -> %s", j ? "," : ":",
				    f->after.present ? f->after.path : f->before.path,
				    vf_field_format(&f->before, b, sizeof(b)),
				    vf_field_format(&f->after, c, sizeof(c)));
		}
	}
	if (what.len)
		problem(p, "%s changed since the plan was made (%s)", name, what.buf + 1);
	else
		problem(p, "%s changed since the plan was made", name);
	vf_buf_release(&what);
}

/* The saved changes against the changes planned now, in order: 1 while
 * every one is equal (*n_same of them), 0 at the first difference. */
struct same_walk {
	const struct vf_plan *now;
	size_t n_same;
};

static int same_change(const struct vf_saved *s, size_t i, json_t *c, void *arg)
{
	struct same_walk *sw = arg;
	json_t *now;
	bool same;

	if (i >= sw->now->n_actions)
		return 1;
	now = vf_plan_change_json(sw->now, i);
	same = json_equal(c, now);
	json_decref(now);
	if (!same)
		return 1;
	sw->n_same++;
	return 0;
}

/* A change by what it is ("ADDRESS ACTION") and a hash of all it says
 * (keys sorted: as json_equal, member order does not count). */
struct change_key {
	char *key;
	uint64_t hash;
};

struct keys_walk {
	struct change_key *v;
	size_t n, alloc;
};

static void change_key(json_t *c, struct change_key *out)
{
	char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	const char *address = vf_json_str(c, "address"), *action = vf_json_str(c, "action");

	out->key = xasprintf("%s %s", address ? address : "?", action ? action : "?");
	out->hash = VF_HASH_INIT;
	out->hash = vf_hash_str(out->hash, text);
	free(text);
}

static int key_change(const struct vf_saved *s, size_t i, json_t *c, void *arg)
{
	struct keys_walk *kw = arg;

	VF_GROW(kw->v, kw->n + 1, kw->alloc);
	change_key(c, &kw->v[kw->n++]);
	return 0;
}

/* The saved and the recomputed plan's changes, by address and action. */
static void changes_problems(const struct vf_saved *s, const struct vf_plan *now,
			     struct vf_saved_problems *p)
{
	struct same_walk sw = { .now = now };
	struct keys_walk olds = { 0 };
	struct vf_strmap old_by_key = { 0 }, now_by_key = { 0 };
	struct change_key *nows;
	char *error = NULL;
	size_t i, before = p->n;
	int rc;

	rc = changes_walk(s, same_change, &sw, &error);
	if (rc < 0) {
		problem(p, "%s", error);
		free(error);
		return;
	}
	if (sw.n_same == s->n_changes && sw.n_same == now->n_actions)
		return;
	if (changes_walk(s, key_change, &olds, &error) < 0) {
		problem(p, "%s", error);
		free(error);
		goto out;
	}
	for (i = 0; i < olds.n; i++)
		vf_strmap_put(&old_by_key, olds.v[i].key, &olds.v[i]);
	nows = xcalloc(now->n_actions + 1, sizeof(*nows));
	for (i = 0; i < now->n_actions; i++) {
		json_t *c = vf_plan_change_json(now, i);
		struct change_key *k = &nows[i], *o;
		change_key(c, k);
		json_decref(c);
		vf_strmap_put(&now_by_key, k->key, k);
		o = vf_strmap_get(&old_by_key, k->key);
		if (!o)
			problem(p, "%s: a plan made now would also %s it", now->actions[i].address,
				vf_action_type_name(now->actions[i].type));
		else if (o->hash != k->hash)
			problem(p, "%s: the %s planned now differs from the saved one",
				now->actions[i].address, vf_action_type_name(now->actions[i].type));
	}
	for (i = 0; i < olds.n; i++) {
		if (vf_strmap_get(&now_by_key, olds.v[i].key))
			continue;
		{
			char *space = strrchr(olds.v[i].key, ' ');
			problem(p, "%.*s: the saved plan would %s it; a plan made now would not",
				(int)(space - olds.v[i].key), olds.v[i].key, space + 1);
		}
	}
	if (p->n == before)
		problem(p, "the actions planned now come in another order than the saved ones");
	for (i = 0; i < now->n_actions; i++)
		free(nows[i].key);
	free(nows);
out:
	for (i = 0; i < olds.n; i++)
		free(olds.v[i].key);
	free(olds.v);
	vf_strmap_release(&old_by_key);
	vf_strmap_release(&now_by_key);
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

/* A link change as people read it: "create (bridge, mtu 9000)". */
static char *link_text(const json_t *c)
{
	json_t *fields = json_object_get(c, "fields"), *f;
	const char *action = vf_json_str(c, "action");
	struct vf_buf s = VF_BUF_INIT;
	size_t i;

	vf_buf_adds(&s, action ? action : "?");
	json_array_foreach(fields, i, f) {
		const char *b = vf_json_str(f, "before"), *a = vf_json_str(f, "after");
		const char *field = vf_json_str(f, "field");
		vf_buf_addf(&s, "%s %s %s%s%s", i ? "," : ":", field ? field : "?",
			    b ? b : "", b ? " -> " : "", a ? a : "(none)");
	}
	return vf_buf_detach(&s);
}

static void links_problems(const json_t *saved, const struct vf_plan *plan,
			   struct vf_saved_problems *p)
{
	json_t *now_doc = vf_plan_links_json(plan), *now = json_object_get(now_doc, "changes");
	json_t *c, *d;
	size_t i, j;

	json_array_foreach(saved, i, c) {
		const char *addr = vf_json_str(c, "address");
		bool found = false;
		json_array_foreach(now, j, d)
			if (addr && vf_json_str(d, "address") && !strcmp(addr, vf_json_str(d, "address"))) {
				found = true;
				if (!json_equal(c, d)) {
					char *then = link_text(c), *later = link_text(d);
					problem(p, "%s: the host planned %s then, and plans %s now", addr,
						then, later);
					free(then);
					free(later);
				}
			}
		if (!found && addr)
			problem(p, "%s: the host needs no such change any more (its links changed "
				   "since the plan was made)", addr);
	}
	json_array_foreach(now, j, d) {
		const char *addr = vf_json_str(d, "address");
		bool found = false;
		json_array_foreach(saved, i, c)
			if (vf_json_str(c, "address") && !strcmp(addr, vf_json_str(c, "address")))
				found = true;
		if (!found) {
			char *later = link_text(d);
			problem(p, "%s: the host plans a change the saved plan does not have (%s)",
				addr, later);
			free(later);
		}
	}
	json_decref(now_doc);
}

size_t vf_saved_check_run(const struct vf_saved *s, const struct vf_saved_source *now,
			  struct vf_saved_problems *p)
{
	const struct vf_saved_doc *doc = s->doc;
	json_t *observed = json_object_get(doc->root, "observed");
	json_t *old_skipped = json_object_get(observed, "skipped_hosts");
	json_t *now_skipped = skipped_json(now->views), *v;
	struct vf_strmap old_by_key = { 0 };
	struct lazy_plan saved = { .s = s, .p = p };
	struct objects objs;
	size_t before = p->n, i;

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

	/* the observed objects (the saved plan's changes were checked when
	 * it was read) */
	objects_collect(now, &objs);
	for (i = 0; i < doc->n_objects; i++) {
		const struct saved_object *o = &doc->objects[i];
		char *name;
		uintptr_t k;
		vf_strmap_put(&old_by_key, o->key, (void *)o);
		name = object_name(o->address, o->host);
		k = (uintptr_t)vf_strmap_get(&objs.by_key, o->key);
		if (!k) {
			if (!strncmp(o->address, "vm.", 3))
				problem(p, "%s vanished from %s since the plan was made", o->address,
					o->host);
			else
				problem(p, "%s vanished since the plan was made", o->address);
		} else if (strcmp(o->hash, objs.v[k - 1].hash)) {
			if (o->fields && objs.v[k - 1].item->detailed)
				field_problems(&saved, name, o->address, o->fields,
					       objs.v[k - 1].item, p);
			else
				changed_problem(now->plan, name, o->address, p);
		}
		free(name);
	}
	for (i = 0; i < objs.n; i++) {
		if (vf_strmap_get(&old_by_key, objs.v[i].key))
			continue;
		if (objs.v[i].item->r.kind == VF_KIND_VM)
			problem(p, "%s appeared on %s since the plan was made", objs.v[i].address,
				objs.v[i].item->r.host);
		else
			problem(p, "%s appeared since the plan was made", objs.v[i].address);
	}

	/* the hosts' link changes: what each host plans now must be what
	 * it planned then (they answer for their own links) */
	links_problems(json_object_get(json_object_get(json_object_get(doc->root, "plan"),
						       "host_network"), "changes"),
		       now->plan, p);

	/* all the same: the plan made now must be the reviewed one */
	if (p->n == before) {
		size_t n0 = p->n;
		changes_problems(s, now->plan, p);
		if (p->n != n0 && strcmp(s->version, now->version))
			problem(p, "the plan was made by virtform %s, this is virtform %s",
				s->version, now->version);
	}

	vf_strmap_release(&old_by_key);
	objects_release(&objs);
	if (saved.built)
		vf_plan_free(&saved.plan);
	json_decref(now_skipped);
	return p->n - before;
}
