/*
 * internal.h — what repo.c and hook.c share inside providers/git: not part
 * of the API (repo.h), and the one place that includes <git2.h> for both.
 */
#ifndef VF_GIT_INTERNAL_H
#define VF_GIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <git2.h>

#include "providers/git/repo.h"

/* "what: libgit2's message" (malloc'd): what virtform was doing, then why. */
char *vf_git_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --path as a path in a tree: "./a/b/" -> "a/b", NULL or "." -> "" (malloc'd). */
char *vf_git_clean_path(const char *path);

/* A configuration file's name: *.yaml or *.yml, not a dot file. */
bool vf_git_yaml_name(const char *name);

/*
 * Append blob id to out->files, named label ("SHORT:PATH", ":0:PATH"),
 * its bytes NUL-terminated.  what names it in the error when the blob
 * cannot be read ("cannot read WHAT"); a blob over VF_CONFIG_FILE_MAX is
 * an error naming label.  -1 with *error.
 */
int vf_git_add_blob(git_repository *repo, const git_oid *id, const char *label,
		    const char *what, struct vf_git_files *out, size_t *alloc, char **error);

/*
 * The end of a read into out: rc 0, out->files sorted by name (strcmp,
 * the loader's directory order; git's tree order differs only for names
 * that are prefixes of one another); else out released.  Returns rc.
 */
int vf_git_files_finish(struct vf_git_files *out, int rc);

#endif
