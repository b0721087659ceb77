/*
 * saved-internal.h — what the saved-plan files share (private to
 * reconcile/saved-*.c; saved.h is the interface):
 *
 *   saved-fingerprint.c  the configuration's and the observed objects'
 *                        fingerprints
 *   saved-display.c      the display hints (value types, change classes)
 *   saved-write.c        writing a saved plan
 *   saved-read.c         reading and validating one, walking its changes
 *   saved-rebuild.c      its plan rebuilt as a struct vf_plan
 *   saved-check.c        the stale checks of `apply FILE`
 *
 * Boundaries: these files never contact a host nor run the planner; the
 * command side (cmd/run.c) runs the normal pipeline and hands the
 * results here.
 */
#ifndef VF_SAVED_INTERNAL_H
#define VF_SAVED_INTERNAL_H

#include <stdint.h>
#include <sys/stat.h>

#include <jansson.h>

#include "reconcile/json-stream.h"
#include "reconcile/saved.h"

#define HASH_ALGORITHM "fnv1a-64"

/* ---- what is kept of a saved plan read back (saved-read.c) ---- */

/* An observed object as the saved plan recorded it. */
struct saved_object {
	const char *key;                 /* vf_saved_object_key(): in doc->arena */
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

/* ---- the observed objects' fingerprint (saved-fingerprint.c) ---- */

/* An observed object the fingerprint counts. */
struct observed_object {
	char *key;                       /* "ADDRESS\tHOST\tPOOL": unique per object */
	char *address;
	const char *host;                /* the observation's */
	char hash[17];
	bool fields;                     /* the plan acts on it: per-field hashes */
	const struct vf_observed_item *item;
};

/* The objects counted, sorted by key. */
struct observed_objects {
	struct observed_object *v;
	size_t n, alloc;
	struct vf_strmap by_key;         /* key -> struct observed_object index + 1 */
};

/* h as 16 hex digits. */
void vf_saved_hex16(uint64_t h, char out[17]);
/* {"path", "project", "files": [{path, hash}], "images": [...],
 * "fingerprint"} of config c; NULL with *error when a file cannot be read. */
json_t *vf_saved_config_json(const char *config_path, const struct vf_config *c, char **error);
/* "ADDRESS\tHOST\tPOOL" (malloc'd): unique per object. */
char *vf_saved_object_key(const char *address, const char *host, const char *pool);
/* "vm.web on lab1" / "volume.x@lab1": how messages name an object (malloc'd). */
char *vf_saved_object_name(const char *address, const char *host);
/* The observed objects src's plan depends on, sorted; release with
 * vf_saved_objects_release(). */
void vf_saved_objects_collect(const struct vf_saved_source *src, struct observed_objects *out);
void vf_saved_objects_release(struct observed_objects *o);
/* The hosts skipped with --skip-unreachable, by name (a new reference). */
json_t *vf_saved_skipped_json(const struct vf_views *views);
/* The "observed" member: {fingerprint, skipped_hosts, objects: [one a line]}. */
void vf_saved_observed_write(struct vf_jsonw *w, const struct vf_saved_source *src);

/* ---- display hints (saved-display.c) ---- */

/* The display entry of change i of plan (a new reference). */
json_t *vf_saved_display_json(const struct vf_plan *plan, size_t i);
/* A display entry read back, kept compactly in doc. */
void vf_saved_display_keep(struct vf_saved_doc *doc, json_t *d);

/* ---- the changes, read again from the file (saved-read.c) ---- */

/*
 * Walk the saved plan's changes again, from the file kept open: each
 * change parsed, handed to each() with its index, dropped.  0, or -1 with
 * *error (the file changed since it was read, or each() said -1).
 */
int vf_saved_changes_walk(const struct vf_saved *s,
			  int (*each)(const struct vf_saved *, size_t, json_t *, void *), void *arg,
			  char **error);

#endif
