/*
 * repo.h — configuration from git (libgit2; virtform never runs git).
 *
 * A repository (a URL, a local path or file://) is fetched into a cache: a
 * bare repository per REPO, every branch and tag fetched with force
 * (the heads and tags mirrored, deleted ones pruned), the remote's
 * default branch kept as the cache's HEAD.  A REF (branch, tag, full or
 * abbreviated sha; NULL: the default branch) is resolved to a commit, and
 * the configuration is read straight from that commit's tree — no checkout,
 * no working tree: a directory's *.yaml / *.yml blobs (sorted by name, as
 * the loader sorts a directory's files) or one YAML file.
 *
 * Each file read is labelled "<short-sha>:<path>" (git's rev:path form), so
 * every diagnostic points at the commit and the file: "1a2b3c4:vms.yaml:4:7".
 *
 * Errors: functions return 0, or -1 with *error set (malloc'd, one line,
 * naming the repository and what to do); libgit2's own message is kept at
 * the end of it, after what virtform was doing.
 *
 * Ownership: struct vf_git_repo owns its libgit2 objects (vf_git_close);
 * struct vf_git_commit and struct vf_git_files own their strings and bytes
 * (vf_git_commit_release, vf_git_files_release).  Not thread-safe.
 */
#ifndef VF_GIT_REPO_H
#define VF_GIT_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/model.h"

struct git_repository;

struct vf_git_repo {
	struct git_repository *repo;     /* the bare cache */
	char *url;                       /* REPO, normalised (a local path made absolute) */
	char *cache;                     /* the cache's directory */
};

/* A resolved commit. */
struct vf_git_commit {
	char sha[41];                    /* full hex id */
	char short_sha[41];              /* unique abbreviation, at least 7 digits */
	char *ref;                       /* REF as given, or the default branch's name */
	char *subject;                   /* first line of the message */
	char *author;                    /* "Name <email>" */
	int64_t time;                    /* commit time, seconds since the epoch */
};

/*
 * What one read of a configuration from git (a commit's, or the index's)
 * may hold: a push must not make the server parse a blob a thousand times.
 * Each file is at most VF_CONFIG_FILE_MAX (the loader's own limit).
 */
#define VF_GIT_FILES_MAX 1000            /* configuration files */
#define VF_GIT_BYTES_MAX (64u << 20)     /* their sizes added up, 64 MiB */

/* Files read from a commit, sorted by name; bytes NUL-terminated. */
struct vf_git_files {
	struct vf_config_file *files;    /* name: "<short-sha>:<path>" */
	size_t n;
};

/*
 * The default cache directory of url under state_dir:
 * STATE_DIR/git-cache/<basename>-<hash of url>.  malloc'd.
 */
char *vf_git_cache_dir(const char *state_dir, const char *url);

/*
 * The normalised form of REPO: a local directory made absolute (so one
 * repository has one cache whatever the current directory); anything else
 * as given.  malloc'd.
 */
char *vf_git_normalise_url(const char *url);

/*
 * How a fetch authenticates and which SSH servers it trusts (transport.c).
 * NULL members: the defaults — the ssh-agent or ~/.ssh/id_*, and
 * ~/.ssh/known_hosts then /etc/ssh/ssh_known_hosts.  An SSH server whose
 * host key is not known is refused.  HTTPS credentials come from
 * $VIRTFORM_GIT_USERNAME and $VIRTFORM_GIT_PASSWORD only.
 */
struct vf_git_auth {
	const char *ssh_key;             /* --git-ssh-key: a private key file */
	const char *known_hosts;         /* --git-known-hosts: OpenSSH known_hosts */
};

/*
 * Open the cache at cache_dir (created, mode 0700, on first use) for url
 * and, when fetch is true, fetch every branch and tag of url into it,
 * authenticating as auth says (NULL: the defaults).
 */
int vf_git_open(struct vf_git_repo *r, const char *url, const char *cache_dir, bool fetch,
		const struct vf_git_auth *auth, char **error);
void vf_git_close(struct vf_git_repo *r);

/* Resolve ref (NULL: the remote's default branch) to a commit. */
int vf_git_resolve(struct vf_git_repo *r, const char *ref, struct vf_git_commit *c, char **error);
void vf_git_commit_release(struct vf_git_commit *c);

/*
 * Read the configuration at path (NULL or "": the root) from commit c: a
 * directory's *.yaml / *.yml files, or one file.
 */
int vf_git_read_files(struct vf_git_repo *r, const struct vf_git_commit *c, const char *path,
		      struct vf_git_files *out, char **error);
void vf_git_files_release(struct vf_git_files *f);

/*
 * Is commit descendant (hex) a descendant of ancestor (hex), or the same
 * commit?  1 yes, 0 no (also when ancestor is not in the repository any
 * more), -1 error.
 */
int vf_git_descends(struct vf_git_repo *r, const char *descendant, const char *ancestor,
		    char **error);

/*
 * The signature of commit c (its gpgsig header) and the signed payload
 * (the commit without that header).  1 found, 0 the commit is unsigned,
 * -1 error.  *signature and *payload malloc'd (NUL-terminated).
 */
int vf_git_signature(struct vf_git_repo *r, const struct vf_git_commit *c, char **signature,
		     char **payload, size_t *payload_len, char **error);

/*
 * The keys an operator trusts to sign the commits virtform applies: an
 * OpenSSH allowed-signers file, an OpenPGP keyring (binary, or an
 * ASCII-armored export), or both.  At least one is set.
 */
struct vf_git_trust {
	const char *allowed_signers;     /* --allowed-signers FILE, or NULL */
	const char *gpg_keyring;         /* --gpg-keyring FILE, or NULL */
};

/*
 * Is commit c signed by a trusted key?  An SSH signature is checked with
 * OpenSSH's ssh-keygen -Y find-principals and -Y verify (namespace "git")
 * against the allowed signers, an OpenPGP one with gpgv against the
 * keyring alone; both run without a shell (verify.c).  1 verified:
 * *principal (malloc'd) names the signer ("alice@example.org", "Alice
 * <alice@example.org> (FINGERPRINT)"); 0 the commit is not signed; -1
 * refused or not checkable, with *error saying why.
 */
int vf_git_verify_commit(struct vf_git_repo *r, const struct vf_git_commit *c,
			 const struct vf_git_trust *t, char **principal, char **error);

/* How to sign a commit so that t trusts it, for the messages that refuse
 * an unsigned one ("sign it with ..."). */
const char *vf_git_sign_hint(const struct vf_git_trust *t);

/* ---- the repository a git hook runs in (providers/git/hook.c) ----------- */

/*
 * Open the repository a hook runs in, as git's own programs find it:
 * $GIT_DIR, else discovered from the current directory; the objects of
 * $GIT_OBJECT_DIRECTORY and $GIT_ALTERNATE_OBJECT_DIRECTORIES (the
 * quarantine of a push being received, which pre-receive must read) and
 * $GIT_INDEX_FILE honoured.  r->url and r->cache: the repository's
 * directory (its git directory), made absolute.
 */
int vf_git_open_env(struct vf_git_repo *r, char **error);

/*
 * Every value of the multi-valued configuration key (repository, global
 * and system configuration, as git reads them), each split at blanks and
 * commas.  *values malloc'd (each string too), *n their count (0: unset).
 */
int vf_git_config_list(struct vf_git_repo *r, const char *key, char ***values, size_t *n,
		       char **error);

/*
 * The commits a push of new_sha brings that the repository did not have
 * reachable before: new_sha and its ancestors, excluding old_sha (NULL or
 * all zeros: none) and everything reachable from an existing ref; new_sha
 * itself always (a ref moved onto a commit pushed before is still
 * checked).  Oldest first; *shas malloc'd hex ids.
 */
int vf_git_new_commits(struct vf_git_repo *r, const char *new_sha, const char *old_sha,
		       char ***shas, size_t *n, char **error);

/*
 * Read the configuration at path (NULL or "": the root of the work tree)
 * from the index (the staged files, stage 0): a directory's *.yaml / *.yml
 * files directly in it, or one file, labelled ":0:PATH" (git's name for
 * the staged version of PATH: `git show :0:PATH`).  A file with a merge
 * conflict is an error.
 */
int vf_git_read_index(struct vf_git_repo *r, const char *path, struct vf_git_files *out,
		      char **error);

/*
 * The hooks directory of the repository at or above path (its common
 * directory's "hooks": a worktree's hooks are the main repository's), for
 * `virtform hooks install`.  0 with *hooks_dir (malloc'd); 1 when the
 * repository sets core.hooksPath (git runs the hooks there instead), with
 * *hooks_path (malloc'd, its value); -1 when path is in no repository,
 * with *error (malloc'd: libgit2's message, "not found" without one).
 */
int vf_git_hooks_dir(const char *path, char **hooks_dir, char **hooks_path, char **error);

#endif
