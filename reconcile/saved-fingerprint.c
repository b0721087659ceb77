/*
 * saved-fingerprint.c — the fingerprints a saved plan records (saved.h):
 * of the configuration (each file's content, each uploaded image's size
 * and mtime; for a configuration read from git, the commit) and of the
 * observed objects the plan depends on, hashed over their fields.  The
 * writer (saved-write.c) records them; the stale checks (saved-check.c)
 * compute them again and compare.
 *
 * Which observed objects count (the same rules as plan.c's ownership):
 * an object is part of the fingerprint when its address is desired, or
 * the state records it, or it is a domain whose marker names this
 * project, or a volume such a domain's marker lists.  Everything else on
 * the hosts is someone else's and cannot change what the plan does.
 *
 * Hashes are FNV-1a (vf_hash_add, util.h): change detectors, not MACs
 * (see saved.h).  What they are fed must stay byte for byte the same, or
 * every saved plan already written reads as stale.
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

/* FNV-1a (vf_hash_add, util.h): a change detector, not a MAC (see saved.h). */
void vf_saved_hex16(uint64_t h, char out[17])
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
	vf_saved_hex16(h, out);
	return 0;
}

/* An uploaded image's file: {path, size, mtime_ns} or {path, missing:
 * true}, fed to *h (its content is not read: images are large). */
static json_t *image_json(const char *path, uint64_t *h)
{
	json_t *im = json_object();
	struct stat st;

	json_object_set_new(im, "path", json_string(path));
	*h = vf_hash_str(*h, path);
	if (stat(path, &st) == 0) {
		uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
				 (uint64_t)st.st_mtim.tv_nsec;
		json_object_set_new(im, "size", json_integer((json_int_t)st.st_size));
		json_object_set_new(im, "mtime_ns", json_integer((json_int_t)mtime));
		*h = vf_hash_add(*h, &st.st_size, sizeof(st.st_size));
		*h = vf_hash_add(*h, &mtime, sizeof(mtime));
	} else {
		json_object_set_new(im, "missing", json_true());
		*h = vf_hash_str(*h, "missing");
	}
	return im;
}

/* {"path", "project", "files": [{path, hash}], "images": [{path, size,
 * mtime_ns} or {path, missing: true}], "fingerprint"}; NULL with *error
 * when a file cannot be read. */
json_t *vf_saved_config_json(const char *config_path, const struct vf_config *c, char **error)
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
			vf_saved_hex16(g, hex);
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
	for (i = 0; i < c->n_images; i++)
		if (c->images[i].file_path)
			json_array_append_new(images, image_json(c->images[i].file_path, &h));
	vf_saved_hex16(h, hex);
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

static void object_release(struct observed_object *o)
{
	VF_FREE_MANY(o->key, o->address);
}

void vf_saved_objects_release(struct observed_objects *o)
{
	VF_FREE_ARRAY(o->v, o->n, object_release);
	vf_strmap_release(&o->by_key);
	memset(o, 0, sizeof(*o));
}

char *vf_saved_object_key(const char *address, const char *host, const char *pool)
{
	return xasprintf("%s\t%s\t%s", address, host ? host : "", pool ? pool : "");
}

/* "vm.web on lab1" / "volume.x@lab1": how messages name an object. */
char *vf_saved_object_name(const char *address, const char *host)
{
	if (!strncmp(address, "vm.", 3) && host && *host)
		return xasprintf("%s on %s", address, host);
	return xstrdup(address);
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
				vf_saved_hex16(fh, hex);
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
	vf_saved_hex16(h, out);
	vf_arena_release(&arena);
}

static int object_cmp(const void *a, const void *b)
{
	return strcmp(((const struct observed_object *)a)->key, ((const struct observed_object *)b)->key);
}

/*
 * Collect the observed objects src's plan depends on (see the top of this
 * file), sorted by key, each with its hash.
 */
/* The volumes the markers of this project's domains list, by
 * "HOST\tPOOL\tNAME". */
struct owned_volumes {
	struct vf_strmap set;
	char **keys;                     /* the set's keys, owned */
	size_t n, alloc;
};

static void owned_volumes_collect(const struct vf_saved_source *src, struct owned_volumes *ov)
{
	static int yes;
	size_t h, i, k;

	for (h = 0; h < src->views->n; h++) {
		const struct vf_observed *o = src->views->hosts[h].observed;
		for (i = 0; o && i < o->n_items; i++) {
			const struct vf_observed_item *it = &o->items[i];
			if (!vf_observed_ours(it, src->config->project))
				continue;
			for (k = 0; k < it->r.u.vm.marker.n_volumes; k++) {
				const struct vf_marker_volume *mv = &it->r.u.vm.marker.volumes[k];
				char *key = xasprintf("%s\t%s\t%s", o->host, mv->pool, mv->name);
				VF_GROW(ov->keys, ov->n + 1, ov->alloc);
				ov->keys[ov->n++] = key;
				vf_strmap_put(&ov->set, key, &yes);
			}
		}
	}
}

static void owned_volumes_release(struct owned_volumes *ov)
{
	size_t i;

	for (i = 0; i < ov->n; i++)
		free(ov->keys[i]);
	free(ov->keys);
	vf_strmap_release(&ov->set);
}

void vf_saved_objects_collect(const struct vf_saved_source *src, struct observed_objects *out)
{
	struct vf_strmap desired = { 0 };
	struct owned_volumes owned = { { 0 }, NULL, 0, 0 };
	size_t h, i;
	static int yes;

	memset(out, 0, sizeof(*out));
	for (i = 0; src->desired && i < src->desired->n; i++)
		vf_strmap_put(&desired, src->desired->items[i].address, &yes);
	owned_volumes_collect(src, &owned);
	for (h = 0; h < src->views->n; h++) {
		const struct vf_observed *o = src->views->hosts[h].observed;
		for (i = 0; o && i < o->n_items; i++) {
			const struct vf_observed_item *it = &o->items[i];
			char *address = vf_address_new(it->r.kind, it->r.name, it->r.host);
			bool keep = vf_strmap_get(&desired, address) ||
				    (src->state && vf_state_find(src->state, address)) ||
				    vf_observed_ours(it, src->config->project);
			struct observed_object *ob;
			if (!keep && it->r.kind == VF_KIND_VOLUME && it->r.u.vol.pool) {
				char *key = xasprintf("%s\t%s\t%s", o->host, it->r.u.vol.pool,
						      it->r.name);
				keep = vf_strmap_get(&owned.set, key) != NULL;
				free(key);
			}
			if (!keep) {
				free(address);
				continue;
			}
			VF_GROW(out->v, out->n + 1, out->alloc);
			ob = &out->v[out->n++];
			item_hash(it, address, ob->hash, NULL);
			ob->key = vf_saved_object_key(address, o->host, vf_observed_pool(it));
			ob->address = address;
			ob->host = o->host;
			ob->item = it;
		}
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), object_cmp);
	for (i = 0; i < out->n; i++)
		vf_strmap_put(&out->by_key, out->v[i].key, (void *)(uintptr_t)(i + 1));
	owned_volumes_release(&owned);
	vf_strmap_release(&desired);
}

/*
 * Mark the objects the plan acts on: they get per-field hashes in the
 * file, made when each is written.  objs is sorted by key, which starts
 * with "ADDRESS\t": one binary search per action, no set of addresses.
 */
static void objects_mark_acted(struct observed_objects *objs, const struct vf_plan *plan)
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
static json_t *object_json(const struct observed_object *ob)
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
json_t *vf_saved_skipped_json(const struct vf_views *views)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < views->n; i++)
		if (views->hosts[i].skipped)
			json_array_append_new(a, json_string(views->hosts[i].host->name));
	return a;
}

/* observed: {fingerprint, skipped_hosts, objects: [one a line]}. */
void vf_saved_observed_write(struct vf_jsonw *w, const struct vf_saved_source *src)
{
	json_t *skipped = vf_saved_skipped_json(src->views), *v;
	struct observed_objects objs;
	uint64_t h = VF_HASH_INIT;
	char hex[17];
	size_t i;

	vf_saved_objects_collect(src, &objs);
	objects_mark_acted(&objs, src->plan);
	for (i = 0; i < objs.n; i++) {
		h = vf_hash_str(h, objs.v[i].key);
		h = vf_hash_str(h, objs.v[i].hash);
	}
	json_array_foreach(skipped, i, v) {
		h = vf_hash_str(h, "skipped");
		h = vf_hash_str(h, json_string_value(v));
	}
	vf_saved_hex16(h, hex);
	vf_jsonw_object(w, "observed");
	vf_jsonw_value(w, "fingerprint", json_string(hex));
	vf_jsonw_value(w, "skipped_hosts", skipped);
	vf_jsonw_array(w, "objects");
	for (i = 0; i < objs.n; i++)
		vf_jsonw_line(w, NULL, object_json(&objs.v[i]));
	vf_jsonw_end(w);
	vf_jsonw_end(w);
	vf_saved_objects_release(&objs);
}
