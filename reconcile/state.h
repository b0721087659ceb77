/*
 * state.h — the state directory: what virtform created and manages, for
 * the objects libvirt cannot mark (networks, pools, volumes), plus where
 * each VM was last put and whether it is protected.
 *
 *   DIR/state.json   the records (JSON, mode 0600), written atomically:
 *                    temp file, fsync, rename, fsync of the directory
 *   DIR/journal      the intent journal of the apply running (or killed):
 *                    one JSON record a line, appended (O_APPEND, one
 *                    write each) on top of the state.json whose serial
 *                    it names; folded into state.json and removed by
 *                    the next save (see "The journal" below)
 *   DIR/lock         flock()ed from plan to the end of apply; holds a line
 *                    naming the holder (pid, command, since when)
 *
 * Losing the state loses no VM: managed domains carry a marker
 * (spec.h) and are found again from it, with the volumes they own.
 *
 * Thread safety: none, but for vf_state_journal_sync(); apply.c
 * serializes its updates.
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
	 * A network's, pool's or volume's spec hash (vf_resource_hash, 16 hex)
	 * as virtform last created or updated it; NULL for VMs (their marker
	 * carries it) and for records older than it.  When the object differs
	 * from the configuration while this still matches it, the object
	 * changed outside virtform (drift).
	 */
	char *spec;
	/*
	 * The intent journal: the action type ("create", "update", ...) an
	 * apply began on this object and has not finished; NULL when none.
	 * Set and journaled before the action starts, cleared when it ends;
	 * an entry still pending when the next plan runs was interrupted (a
	 * crash, kill -9) and is re-checked — an interrupted upload is
	 * redone.
	 */
	char *pending;
	char *pending_since;     /* ISO 8601 UTC; with pending */
};

/*
 * entries[0..n) are the records, in no particular order (a removal moves
 * the last one into the hole).  by_address maps an address to its index +
 * 1, or to NULL (0) once removed: the map borrows its keys, so the
 * addresses of removed entries live on in dead_keys until the map is
 * rebuilt.
 */
struct vf_state {
	char *dir;
	char *path;              /* DIR/state.json */
	char *journal_path;      /* DIR/journal */
	int lock_fd;             /* -1 when not locked */
	char *project;           /* NULL for a new state */
	/*
	 * The serial of state.json on disk: incremented by every save (not
	 * by journal records, which name the serial they apply to).  A
	 * saved plan holds it: another apply since, or a killed apply's
	 * journal folded in, changes it.
	 */
	uint64_t serial;
	struct vf_state_entry *entries;
	size_t n, alloc;
	struct vf_strmap by_address;  /* address -> entry index + 1, or NULL */
	char **dead_keys;
	size_t n_dead_keys, alloc_dead_keys;
	/* DIR/journal, open for appending (zero-initialized: not open) */
	bool journal_open;
	bool journal_broken;     /* a record half-written and not undone */
	int journal_fd;
	uint64_t journal_size;   /* bytes written to it */
};

/*
 * The default state directory for config path: ".virtform" beside a
 * config file, inside a config directory.  Malloc'd.
 */
char *vf_state_default_dir(const char *config_path);

/*
 * Create dir if needed (0700), take its lock — waiting up to lock_timeout
 * seconds (0: fail at once) — and read state.json if there is one, then
 * the journal a killed apply left, if any: its records are applied and
 * the whole is saved (vf_state_save), so the journal is gone once this
 * returns.  command names the holder ("apply").  Returns 0, or -1 with
 * *error set (malloc'd; a lock held by another process names it).
 */
int vf_state_open(struct vf_state *s, const char *dir, double lock_timeout,
		  const char *command, char **error);

/*
 * Write the state atomically (serial + 1), then remove the journal: its
 * records are in state.json now (and would be skipped, naming an older
 * serial, if the removal did not happen).  Returns 0, or -1 with *error
 * set; the journal is then kept.
 */
int vf_state_save(struct vf_state *s, char **error);

/* Release the lock and free everything. */
void vf_state_close(struct vf_state *s);

const struct vf_state_entry *vf_state_find(const struct vf_state *s, const char *address);
/*
 * Add or replace the entry for e->address (e's strings are copied; e may
 * point into the entry it replaces).  In memory only: vf_state_save
 * writes it.
 */
void vf_state_put(struct vf_state *s, const struct vf_state_entry *e);
/* Remove address's entry, if any; the last entry takes its place (O(1)). */
void vf_state_remove(struct vf_state *s, const char *address);

/*
 * The journal: what apply is doing, durable at O(1) cost per action
 * whatever the size of the state.  Each record is one line of JSON,
 * written with one write(2) to DIR/journal (O_APPEND):
 *
 *   {"serial":7,"event":"begin","address":"volume.b@h1","action":"create",
 *    "since":"2026-11-27T08:01:11Z","entry":{"kind":"volume","name":"b",...}}
 *   {"serial":7,"event":"end","address":"volume.b@h1","result":"ok",
 *    "entry":{...}}                     (or "entry":null: no record left)
 *
 * Each carries the whole entry it leaves, so replaying a record sets its
 * address to a value: replaying twice changes nothing.  vf_state_open
 * replays the records whose serial is state.json's, in order, and skips
 * the others (older: already folded in by a save that could not remove
 * the journal) and any line that is not a whole record (a write cut
 * short by a crash).
 *
 * Put e (pending and pending_since set: the action begun) and append its
 * begin record.  Durable once vf_state_journal_sync() returned 0.
 * Returns 0, or -1 with *error set (the entry is put all the same).
 */
int vf_state_journal_begin(struct vf_state *s, const struct vf_state_entry *e, char **error);

/*
 * The action on address ended (ok or failed): e is the entry it leaves
 * (its pending mark is not kept), NULL for none.  Put or remove it and
 * append the end record; it becomes durable with the next sync (the next
 * action's begin) or save.  Returns 0, or -1 with *error set (the state
 * in memory is changed all the same: the end is then written by the next
 * save, and a crash before it leaves the begin, which is what an
 * unfinished action leaves).
 */
int vf_state_journal_end(struct vf_state *s, const char *address, bool ok,
			 const struct vf_state_entry *e, char **error);

/*
 * fdatasync the journal: every record appended so far is durable.  May be
 * called without the caller's lock, at the same time as other threads
 * append (once a record was appended, appending never changes what this
 * reads).  Returns 0, or -1 with *error set.
 */
int vf_state_journal_sync(const struct vf_state *s, char **error);

/*
 * The intent journal's marks (pending, pending_since in struct
 * vf_state_entry), as the journal left them.
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
