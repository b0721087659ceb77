/*
 * state.h — the state directory: what virtform created and manages, for
 * the objects libvirt cannot mark (networks, pools, volumes), plus where
 * each VM was last put and whether it is protected.
 *
 *   DIR/state.json   the records (JSON, mode 0600), written atomically:
 *                    temp file, fsync, rename, fsync of the directory
 *   DIR/lock         flock()ed from plan to the end of apply; holds a line
 *                    naming the holder (pid, command, since when)
 *
 * Losing the state loses no VM: managed domains carry a marker
 * (spec.h) and are found again from it, with the volumes they own.
 *
 * Thread safety: none; apply.c serializes its updates.
 */
#ifndef VF_STATE_H
#define VF_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/spec.h"
#include "reconcile/util.h"

#define VF_STATE_FORMAT_VERSION 1

/* One managed object.  Every string is malloc'd and owned by the entry. */
struct vf_state_entry {
	char *address;
	enum vf_kind kind;
	char *name;
	char *host;
	char *pool;              /* volumes; NULL otherwise */
	char *uuid;              /* NULL when unknown */
	bool protect;            /* vm: protect: true when last applied */
	bool keep;               /* volume: keep: true when last applied */
	/*
	 * The intent journal: the action type ("create", "update", ...) an
	 * apply began on this object and has not finished; NULL when none.
	 * Set and saved before the action starts, cleared when it ends; an
	 * entry still pending when the next plan runs was interrupted (a
	 * crash, kill -9) and is re-checked — an interrupted upload is
	 * redone.
	 */
	char *pending;
	char *pending_since;     /* ISO 8601 UTC; with pending */
};

struct vf_state {
	char *dir;
	char *path;              /* DIR/state.json */
	int lock_fd;             /* -1 when not locked */
	char *project;           /* NULL for a new state */
	uint64_t serial;         /* incremented on every save */
	struct vf_state_entry *entries;
	size_t n, alloc;
	struct vf_strmap by_address;  /* address -> entry index + 1 */
};

/*
 * The default state directory for config path: ".virtform" beside a
 * config file, inside a config directory.  Malloc'd.
 */
char *vf_state_default_dir(const char *config_path);

/*
 * Create dir if needed (0700), take its lock — waiting up to lock_timeout
 * seconds (0: fail at once) — and read state.json if there is one.
 * command names the holder ("apply").  Returns 0, or -1 with *error set
 * (malloc'd; a lock held by another process names it).
 */
int vf_state_open(struct vf_state *s, const char *dir, double lock_timeout,
		  const char *command, char **error);

/* Write the state atomically.  Returns 0, or -1 with *error set. */
int vf_state_save(struct vf_state *s, char **error);

/* Release the lock and free everything. */
void vf_state_close(struct vf_state *s);

const struct vf_state_entry *vf_state_find(const struct vf_state *s, const char *address);
/* Add or replace the entry for e->address (e's strings are copied). */
void vf_state_put(struct vf_state *s, const struct vf_state_entry *e);
void vf_state_remove(struct vf_state *s, const char *address);

/*
 * The intent journal (pending, pending_since in struct vf_state_entry).
 *
 * Was an action on address interrupted: does its entry still say an
 * apply began an action there and never finished it?  *action (when not
 * NULL) is then that action's type name ("create", ...), owned by the
 * state.
 */
bool vf_state_interrupted(const struct vf_state *s, const char *address, const char **action);

/*
 * One line per interrupted action, for the plan's warnings ("an earlier
 * apply was interrupted (since TIME) during create of volume.x@lab1; this
 * plan completes it"): each malloc'd and appended to *warnings (grown
 * with VF_GROW over *n, *alloc).
 */
void vf_state_interrupted_notes(const struct vf_state *s, char ***warnings, size_t *n,
				size_t *alloc);

#endif
