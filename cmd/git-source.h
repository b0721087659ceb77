/*
 * git-source.h — a configuration read from a git commit, for every
 * command that takes one (validate/plan/apply --git, sync), and the record
 * of the commits applied from git (STATE_DIR/git-log.jsonl, `virtform log`).
 *
 * Where things live: the state directory of a configuration from git is
 * --state-dir or $VIRTFORM_STATE_DIR — required, as there is no directory
 * on disk to keep it beside; the git cache is --cache-dir, by default
 * STATE_DIR/git-cache/<name>-<hash of REPO>.  validate, which has no state,
 * uses a temporary cache removed when it ends (unless --cache-dir, or
 * $VIRTFORM_STATE_DIR is set).
 */
#ifndef VF_CMD_GIT_SOURCE_H
#define VF_CMD_GIT_SOURCE_H

#include <stdbool.h>
#include <stdio.h>

#include "providers/git/repo.h"
#include "reconcile/model.h"

#define GIT_LOG_FILE "git-log.jsonl"

/* Owns everything in it; zero-initialise, free with vf_git_source_release(). */
struct vf_git_source {
	char *repo;                      /* REPO, normalised */
	char *ref;                       /* REF as given; NULL: the default branch */
	char *path;                      /* --path; "" the root */
	char *cache_dir;                 /* NULL until opened */
	char *temp_dir;                  /* the private directory a temporary
					    cache is made in (cache_dir inside
					    it), removed by vf_git_source_release;
					    NULL otherwise */
	bool opened, resolved;
	struct vf_git_repo r;
	struct vf_git_commit commit;     /* valid when resolved */
};

/*
 * Split "REPO[@REF]": the last '@' after the URL's user@host part (so
 * "git@host:org/repo@main" is repo "git@host:org/repo", ref "main").
 * Sets g->repo and g->ref (NULL without '@REF').  -1 with *error when
 * REPO or REF is empty.
 */
int vf_git_source_parse(struct vf_git_source *g, const char *arg, const char *path, char **error);

/*
 * Open the cache (cache_dir, else under state_dir, else a temporary one),
 * fetch when fetch is true (authenticating as auth says: repo.h), resolve
 * the ref, read the files and load them.
 * The config's git_* fields are set.  NULL on failure: either *error is
 * set (git: fetch, ref, path) or the configuration's problems are in
 * diags.
 */
struct vf_config *vf_git_source_load(struct vf_git_source *g, const char *cache_dir,
				  const char *state_dir, bool fetch, const struct vf_git_auth *auth,
				  struct vf_diags *diags, char **error);
void vf_git_source_release(struct vf_git_source *g);


/* "REPO@SHORT" and ":PATH" when a path was given: what a message calls it. */
char *vf_git_source_label(const struct vf_git_source *g);

/*
 * Append one line to STATE_DIR/git-log.jsonl: time, command, repo, ref,
 * path, commit, subject, author, outcome ("applied", "unchanged",
 * "failed", "refused"), message (NULL: none) and the plan's counts
 * (create, update, replace, destroy; NULL: none).  -1 with *error.
 */
int vf_git_log_append(const char *state_dir, const char *command, const struct vf_git_source *g,
		   const char *outcome, const char *message, const unsigned counts[4],
		   char **error);

/*
 * The last commit applied (outcome applied, unchanged or failed) from
 * repo + path, per STATE_DIR/git-log.jsonl: *commit malloc'd, or NULL when
 * none.  -1 with *error when the log cannot be read.
 */
int vf_git_log_last(const char *state_dir, const char *repo, const char *path, char **commit,
		 char **error);

/*
 * The records of a log open on f (its file name path, for errors), oldest
 * first, each handed to fn (which takes the reference): 0, or -1 with
 * *error naming a line that is not a JSON object (the records before it
 * were handed over).
 */
struct json_t;
int vf_git_log_read(FILE *f, const char *path, void (*fn)(struct json_t *record, void *arg),
		    void *arg, char **error);

#endif
