/*
 * internal.h — what repo.c, hook.c, verify.c and transport.c share inside
 * providers/git: not part of the API (repo.h), and the one place that
 * includes <git2.h> for them.
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

/* A full commit id as hex: exactly GIT_OID_HEXSZ hex digits, nothing
 * after them (git_oid_fromstr alone reads the first 40 of a longer
 * string).  0, or -1. */
int vf_git_oid_parse(git_oid *out, const char *hex);

/* A configuration file's name: *.yaml or *.yml, not a dot file. */
bool vf_git_yaml_name(const char *name);

/*
 * The configuration files a read collects (a tree's or the index's
 * entries) before any is read: vf_git_batch_add each entry (its blob id,
 * label "SHORT:PATH" or ":0:PATH", and what names it in "cannot read
 * WHAT"; both strings malloc'd, taken over), then vf_git_batch_read.
 */
struct vf_git_batch_entry {
	git_oid id;
	char *label, *what;
	size_t first;            /* the first entry naming the same blob (itself
				  * if none before it): read once */
	size_t size;             /* the blob's size, from its header */
};
struct vf_git_batch {
	struct vf_git_batch_entry *v;
	size_t n, alloc;
};
void vf_git_batch_add(struct vf_git_batch *b, const git_oid *id, char *label, char *what);

/*
 * The end of every read: the batch into out->files (bytes NUL-terminated),
 * sorted by name (strcmp, the loader's directory order; git's tree order
 * differs only for names that are prefixes of one another); the labels
 * move there, vf_git_batch_release frees the rest.
 * Before reading anything, the limits (repo.h): more than VF_GIT_FILES_MAX
 * entries, a blob over VF_CONFIG_FILE_MAX or more than VF_GIT_BYTES_MAX
 * bytes in all (every entry counted: each is parsed) is an error naming
 * where ("1a2b3c4:infra", "the index"), the limit and what was found; then
 * an empty batch is the error none (malloc'd and taken over: freed when
 * not needed; NULL where a batch cannot be empty).  A blob named by
 * several entries is read once.  0, or -1 with *error and out released.
 */
int vf_git_batch_read(git_repository *repo, struct vf_git_batch *b, const char *where,
		      char *none, struct vf_git_files *out, char **error);
void vf_git_batch_release(struct vf_git_batch *b);

/*
 * Run argv (argv[0] looked up in PATH, no shell) with stdin from
 * stdin_path (NULL: /dev/null); its stdout and stderr together in *output
 * (malloc'd, at most 16 KiB).  The exit status, or -1 when it could not
 * run (verify.c).
 */
int vf_git_run(char *const argv[], const char *stdin_path, char **output);

/*
 * A fetch's authentication and host key check (transport.c): init sets
 * cb's credentials and certificate_check callbacks with ctx as payload;
 * after a failed fetch, ctx->error (if set) says why better than libgit2.
 */
struct vf_git_fetch_ctx {
	const char *url;
	const struct vf_git_auth *auth;  /* NULL: the defaults */
	bool ssh_offered, userpass_offered;
	char *ssh_what;                  /* which key was offered, for the error */
	char *error;
};
void vf_git_fetch_ctx_init(struct vf_git_fetch_ctx *ctx, const char *url,
			   const struct vf_git_auth *auth, git_remote_callbacks *cb);
void vf_git_fetch_ctx_release(struct vf_git_fetch_ctx *ctx);

/*
 * Is host's key (OpenSSH type name, raw bytes) in the known hosts (a->
 * known_hosts, else ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts),
 * under "host" or "[host]:port" (the port from url)?  0 yes; -1 with
 * *error: unknown host, another key, @revoked, no file.
 */
int vf_git_check_hostkey(const char *url, const char *host, const char *type,
			 const unsigned char *hostkey, size_t len, const struct vf_git_auth *a,
			 char **error);

#endif
