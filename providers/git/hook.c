/*
 * hook.c — what virtform's git hooks need from the repository they run in
 * (repo.h, "the repository a git hook runs in"), with libgit2 only:
 * open it as git does (GIT_DIR, the push quarantine), read its
 * configuration, list the commits a push brings, read the staged files;
 * and find the hooks directory `virtform hooks install` writes into.
 *
 * The quarantine: while pre-receive runs, the pushed objects are not in
 * the repository yet but in a temporary directory git names in
 * $GIT_OBJECT_DIRECTORY, the repository's own objects being then in
 * $GIT_ALTERNATE_OBJECT_DIRECTORIES.  libgit2 (1.5) honours both when the
 * repository is opened with GIT_REPOSITORY_OPEN_FROM_ENV; the quarantine
 * directory is also added as an alternate when only $GIT_QUARANTINE_PATH
 * is set (a caller that cleared the others), so the check never depends
 * on which of them a git version exports.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/git/internal.h"

int vf_git_open_env(struct vf_git_repo *r, char **error)
{
	const char *quarantine = getenv("GIT_QUARANTINE_PATH");
	char real[PATH_MAX];
	const char *dir;

	git_libgit2_init();
	memset(r, 0, sizeof(*r));
	if (git_repository_open_ext(&r->repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
		*error = vf_git_fail("cannot open the git repository of the current directory (or "
			      "$GIT_DIR); run this from a git hook, or inside the repository");
		return -1;
	}
	if (quarantine && *quarantine && !getenv("GIT_OBJECT_DIRECTORY")) {
		git_odb *odb = NULL;
		if (git_repository_odb(&odb, r->repo) < 0 ||
		    git_odb_add_disk_alternate(odb, quarantine) < 0) {
			git_odb_free(odb);
			*error = vf_git_fail("cannot read the pushed objects in '%s'", quarantine);
			git_repository_free(r->repo);
			r->repo = NULL;
			return -1;
		}
		git_odb_free(odb);
	}
	dir = git_repository_path(r->repo);
	r->url = xstrdup(realpath(dir, real) ? real : dir);
	/* "/srv/git/infra.git/" -> "/srv/git/infra.git" */
	while (strlen(r->url) > 1 && r->url[strlen(r->url) - 1] == '/')
		r->url[strlen(r->url) - 1] = '\0';
	r->cache = xstrdup(r->url);
	return 0;
}

struct list {
	char **v;
	size_t n, alloc;
};

static void list_add(struct list *l, const char *s, size_t len)
{
	VF_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = xstrndup(s, len);
}

static int config_value(const git_config_entry *e, void *data)
{
	struct list *l = data;
	const char *p = e->value ? e->value : "";

	while (*p) {
		size_t len = strcspn(p, " \t,");
		if (len)
			list_add(l, p, len);
		p += len;
		p += strspn(p, " \t,");
	}
	return 0;
}

int vf_git_config_list(struct vf_git_repo *r, const char *key, char ***values, size_t *n,
		       char **error)
{
	struct list l = { 0 };
	git_config *cfg = NULL;
	int rc;

	*values = NULL;
	*n = 0;
	if (git_repository_config_snapshot(&cfg, r->repo) < 0) {
		*error = vf_git_fail("cannot read the configuration of '%s'", r->url);
		return -1;
	}
	rc = git_config_get_multivar_foreach(cfg, key, NULL, config_value, &l);
	git_config_free(cfg);
	if (rc < 0 && rc != GIT_ENOTFOUND) {
		*error = vf_git_fail("cannot read '%s' from the configuration of '%s'", key, r->url);
		while (l.n)
			free(l.v[--l.n]);
		free(l.v);
		return -1;
	}
	git_error_clear();
	*values = l.v;
	*n = l.n;
	return 0;
}

static bool zero_sha(const char *s)
{
	return !s || !*s || strspn(s, "0") == strlen(s);
}

/* Hide from walk what the repository had: old_sha, and every existing
 * ref (commits pushed, and checked, before); a ref to something that is
 * not a commit (a tag of a tree) is skipped. */
static void hide_known(git_revwalk *walk, git_repository *repo, const char *old_sha)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	git_oid old;

	/* an old commit the repository lost is simply not hidden */
	if (!zero_sha(old_sha) && vf_git_oid_parse(&old, old_sha) == 0 &&
	    git_revwalk_hide(walk, &old) < 0)
		git_error_clear();
	if (git_revwalk_hide_glob(walk, "refs/*") == 0)
		return;
	git_error_clear();
	if (git_reference_iterator_new(&it, repo) == 0) {
		while (git_reference_next(&ref, it) == 0) {
			git_object *peeled = NULL;
			if (git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT) == 0)
				git_revwalk_hide(walk, git_object_id(peeled));
			git_object_free(peeled);
			git_reference_free(ref);
		}
		git_reference_iterator_free(it);
	}
	git_error_clear();
}

static void add_oid(struct list *l, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	list_add(l, hex, strlen(hex));
}

/* The walk's commits into l, then tip when the walk did not reach it; 0 or
 * libgit2's error. */
static int collect(git_revwalk *walk, const git_oid *tip, struct list *l)
{
	bool have_tip = false;
	git_oid id;
	int w;

	while ((w = git_revwalk_next(&id, walk)) == 0) {
		add_oid(l, &id);
		if (git_oid_equal(&id, tip))
			have_tip = true;
	}
	if (w != GIT_ITEROVER)
		return w;
	if (!have_tip)
		add_oid(l, tip);
	return 0;
}

int vf_git_new_commits(struct vf_git_repo *r, const char *new_sha, const char *old_sha,
		       char ***shas, size_t *n, char **error)
{
	struct list l = { 0 };
	git_revwalk *walk = NULL;
	git_oid tip;
	int rc = -1;
	size_t i;

	*shas = NULL;
	*n = 0;
	if (vf_git_oid_parse(&tip, new_sha) < 0) {
		*error = xasprintf("'%s' is not a commit id", new_sha);
		return -1;
	}
	if (git_revwalk_new(&walk, r->repo) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0) {
		*error = vf_git_fail("cannot walk the history of '%s'", r->url);
		goto out;
	}
	if (git_revwalk_push(walk, &tip) < 0) {
		*error = vf_git_fail("commit %s is not in '%s' (or is not a commit)", new_sha, r->url);
		goto out;
	}
	hide_known(walk, r->repo, old_sha);
	if (collect(walk, &tip, &l) < 0) {
		*error = vf_git_fail("cannot walk the history of %s in '%s'", new_sha, r->url);
		goto out;
	}
	git_error_clear();
	rc = 0;
out:
	git_revwalk_free(walk);
	if (rc) {
		for (i = 0; i < l.n; i++)
			free(l.v[i]);
		free(l.v);
		return -1;
	}
	*shas = l.v;
	*n = l.n;
	return 0;
}

/* ---- the staged configuration ---------------------------------------------- */

static int check_entry(const git_index_entry *e, char **error)
{
	if (git_index_entry_stage(e) != 0) {
		*error = xasprintf(":%s has a merge conflict; resolve it and stage the result "
				   "(git add %s)", e->path, e->path);
		return -1;
	}
	if (e->mode != GIT_FILEMODE_BLOB && e->mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
		*error = xasprintf(":0:%s is a symbolic link or a submodule; virtform reads only "
				   "regular files", e->path);
		return -1;
	}
	return 0;
}

int vf_git_read_index(struct vf_git_repo *r, const char *path, struct vf_git_files *out,
		      char **error)
{
	git_index *index = NULL;
	struct vf_git_batch batch = { 0 };
	char *clean;
	size_t i, n, len;
	bool is_file = false;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	clean = vf_git_clean_path(path);
	len = strlen(clean);
	if (git_repository_is_bare(r->repo)) {
		*error = xasprintf("'%s' is a bare repository: it has no staged files; run "
				   "validate --staged in a work tree", r->url);
		goto out;
	}
	if (git_repository_index(&index, r->repo) < 0) {
		*error = vf_git_fail("cannot read the index (the staged files) of '%s'", r->url);
		goto out;
	}
	n = git_index_entrycount(index);
	for (i = 0; i < n && *clean; i++)
		if (!strcmp(git_index_get_byindex(index, i)->path, clean))
			is_file = true;
	for (i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		const char *rest = e->path;
		if (is_file) {
			if (strcmp(e->path, clean))
				continue;
		} else {
			if (*clean) {
				if (strncmp(e->path, clean, len) || e->path[len] != '/')
					continue;
				rest = e->path + len + 1;
			}
			if (strchr(rest, '/') || !vf_git_yaml_name(rest))
				continue;
		}
		/* the stages of a conflicted file follow one another: one error */
		if (check_entry(e, error) < 0)
			goto out;
		vf_git_batch_add(&batch, &e->id, xasprintf(":0:%s", e->path),
				 xasprintf("the staged %s", e->path));
	}
	rc = vf_git_batch_read(r->repo, &batch, "the index",
			       xasprintf("no staged *.yaml or *.yml files in %s of '%s'; stage "
					 "the configuration (git add), or give --path the "
					 "directory or file that holds it",
					 *clean ? clean : "the root", r->url),
			       out, error);
out:
	vf_git_batch_release(&batch);
	git_index_free(index);
	free(clean);
	return rc;
}

int vf_git_hooks_dir(const char *path, char **hooks_dir, char **hooks_path, char **error)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	const char *value;
	int rc = 0;

	git_libgit2_init();
	if (git_repository_open_ext(&repo, path, 0, NULL) < 0) {
		const git_error *e = git_error_last();
		*error = xstrdup(e && e->message ? e->message : "not found");
		return -1;
	}
	if (git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_string(&value, cfg, "core.hooksPath") == 0) {
		*hooks_path = xstrdup(value);
		rc = 1;
	} else {
		*hooks_dir = xasprintf("%shooks", git_repository_commondir(repo));
	}
	git_config_free(cfg);
	git_repository_free(repo);
	return rc;
}
