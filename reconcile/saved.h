/*
 * saved.h — saved plans: what `virtform plan -out FILE` writes, what
 * `virtform apply FILE` checks before carrying it out, and what `virtform
 * show FILE` prints.
 *
 * A saved plan is one JSON document (format "virtform-saved-plan",
 * schemas/saved-plan.schema.json) holding:
 *
 *   - the plan exactly as `plan --json` prints it (the reviewed actions);
 *   - the options that shaped it (--target, --destroy, --allow-replace,
 *     --skip-unreachable) and the state serial it was planned against;
 *   - a fingerprint of the configuration (each file's content, each
 *     uploaded image's size and mtime); a configuration read from git
 *     records its repository, commit and path instead of hashing files,
 *     and apply re-reads exactly that commit and checks it again (its
 *     signature, the rewind) with the trust settings of apply's own
 *     command line, which must equal the ones recorded here (a saved plan
 *     is not authenticated: it never supplies them);
 *   - a fingerprint of the observed objects the plan depends on: every
 *     object the configuration desires or virtform manages (marker, state
 *     record), per host, hashed over its fields; objects nothing refers to
 *     (another team's VMs) are left out, so they never make a plan stale;
 *   - private display hints (each field's value type and change class), so
 *     `show` prints "2 GiB" again although JSON keeps only 2147483648.
 *
 * Applying it re-runs the whole plan pipeline with the recorded options
 * and refuses (stale) unless the configuration, the state serial, the
 * observed fingerprint and the recomputed plan's changes are all what was
 * saved: what runs is exactly what was reviewed.
 *
 * Hashes are 64-bit FNV-1a, as 16 hex digits: they detect change, they do
 * not authenticate (a saved plan is not signed; protect it like the
 * configuration).  A saved plan never holds a secret in clear text: it
 * holds only what `plan --json` shows, and hashes.
 *
 * Ownership: struct vf_saved owns every string in it and the parsed
 * document; free with vf_saved_release().  Nothing here is thread-safe.
 */
#ifndef VF_SAVED_H
#define VF_SAVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reconcile/engine.h"

#define VF_SAVED_FORMAT "virtform-saved-plan"
#define VF_SAVED_FORMAT_VERSION 1

/* What a plan was made from (all borrowed): vf_saved_write() records it,
 * vf_saved_check_run() compares a fresh run against a saved plan. */
struct vf_saved_source {
	const char *config_path;         /* as given on the command line */
	const struct vf_config *config;
	const struct vf_views *views;
	const struct vf_desired *desired;
	const struct vf_state *state;
	const struct vf_plan *plan;
	const struct vf_plan_opts *opts;
	bool skip_unreachable;
	const char *version;             /* virtform's version, "0.1.0" */
	const char *git_allowed_signers; /* from git with --verify-signatures: the
					  * allowed signers file; NULL: not required */
	const char *git_gpg_keyring;     /* ... and the GPG keyring; NULL: none */
	bool git_allow_rewind;           /* from git: --allow-rewind */
};

/* A saved plan read back.  Strings are malloc'd and never NULL unless
 * marked.  doc is private to the saved-*.c files (saved-internal.h): the
 * file, kept open, and what was read of it except the plan's changes,
 * which are read again one at a time when needed (so a plan of 30,000
 * changes is never one jansson tree). */
struct vf_saved_doc;
struct vf_saved {
	char *file;                      /* the path it was read from */
	char *created;                   /* ISO 8601 UTC */
	char *version;                   /* of the virtform that wrote it */
	char *config_path;               /* as given to plan */
	char *git_repo, *git_commit;     /* plan --git: the repository and the full
					  * sha; NULL from disk */
	char *git_path;                  /* --path ("" the root); NULL from disk */
	char *git_cache;                 /* the cache used; NULL: the default */
	char *git_allowed_signers;       /* plan --verify-signatures: apply verifies
					  * the commit again with this file; NULL:
					  * signatures were not required */
	char *git_gpg_keyring;           /* plan --gpg-keyring, likewise; NULL: none */
	bool git_allow_rewind;           /* plan --allow-rewind */
	char *state_dir;                 /* the state directory plan used */
	char *state_project;             /* NULL: the state was new */
	char *project;                   /* the configuration's project */
	uint64_t serial;                 /* the state serial planned against */
	char **targets;                  /* --target values */
	size_t n_targets;
	bool destroy, allow_replace, skip_unreachable;
	size_t n_changes;                /* actions in the plan */
	struct vf_saved_doc *doc;
};

/* Messages, one per problem found ("vm.web on lab1: memory ... changed
 * since the plan was made"); malloc'd. */
struct vf_saved_problems {
	char **lines;
	size_t n, alloc;
};
void vf_saved_problems_release(struct vf_saved_problems *p);

/*
 * Does path look like a saved plan (a regular file whose first bytes are a
 * JSON object naming the format)?  A YAML configuration never does, so
 * `apply PATH` can take either.  Never fails: false when unreadable.
 */
bool vf_saved_detect(const char *path);

/*
 * Write the saved plan of src to path atomically (a temporary file beside
 * it, fsync, rename, fsync of the directory), mode 0600.  Returns 0, or -1
 * with *error set (malloc'd).
 */
int vf_saved_write(const char *path, const struct vf_saved_source *src, char **error);

/*
 * Read and check a saved plan: JSON, its format, a format_version this
 * virtform reads (a newer one is refused by name), the members it needs.
 * The whole file is parsed (one value at a time: memory stays small) and
 * stays open until vf_saved_release(); a file changed in place since is
 * an error when the changes are read again.
 * Returns 0, or -1 with *error set (malloc'd; FILE:LINE:COL for bad JSON).
 */
int vf_saved_read(const char *path, struct vf_saved *s, char **error);
void vf_saved_release(struct vf_saved *s);

/*
 * The trust settings of an apply of a saved plan: apply's own command line
 * (a saved plan is not authenticated, so it never supplies them; a
 * tampered one could turn verification off).  The files as absolute paths.
 */
struct vf_saved_trust {
	const char *allowed_signers;     /* --verify-signatures --allowed-signers; NULL: none */
	const char *gpg_keyring;         /* --verify-signatures --gpg-keyring; NULL: none */
	bool allow_rewind;               /* --allow-rewind */
};

/*
 * The apply's trust settings against the ones the saved plan records: one
 * problem per difference, naming the option, what the plan was made with
 * and what this apply gives.  Returns the number of problems appended
 * (0: the same; the apply may go on, with its own settings).
 */
size_t vf_saved_check_trust(const struct vf_saved *s, const struct vf_saved_trust *t,
			    struct vf_saved_problems *p);

/*
 * The configuration loaded now against the saved fingerprint: one problem
 * per file changed, missing or added, and per uploaded image changed.
 * Returns the number of problems appended.
 */
size_t vf_saved_check_config(const struct vf_saved *s, const struct vf_config *config,
			     struct vf_saved_problems *p);

/*
 * A fresh run (same configuration, recorded options) against the saved
 * plan: the state serial, the skipped hosts, every observed object the
 * plan depends on (changed — with the fields that differ when the plan
 * acts on it — appeared, vanished), and, when all those match, the
 * recomputed plan's changes.  Returns the number of problems appended.
 */
size_t vf_saved_check_run(const struct vf_saved *s, const struct vf_saved_source *now,
			  struct vf_saved_problems *p);

/*
 * The saved plan as a struct vf_plan for vf_plan_print(): actions, field
 * changes with their types and classes, flags, reasons, deps, warnings,
 * skipped hosts.  desired/observed are NULL in every action: the result
 * is for printing, never for vf_apply().  Returns 0, or -1 with *error.
 */
int vf_saved_plan(const struct vf_saved *s, struct vf_plan *plan, char **error);

/* The saved "plan" document, as `plan --json` printed it.  0, or -1
 * (said on stderr) when the file changed since it was read. */
int vf_saved_print_json(const struct vf_saved *s, FILE *out);

#endif
