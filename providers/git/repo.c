/*
 * repo.c — the git cache and reading a configuration from a commit
 * (repo.h), with libgit2 only.
 *
 * The cache is a bare repository that mirrors REPO's branches and tags
 * (every head and tag, forced and pruned: the cache follows the
 * remote, rewrites included — rewind protection is decided above, from the
 * record of applied commits, not by refusing to fetch).  Objects are never
 * deleted from the cache, so a commit applied before stays readable after a
 * force-push, which is what `apply FILE` of an older saved plan needs.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "providers/git/internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
	git_libgit2_init();
}

/* "what: libgit2's message" (malloc'd). */
char *vf_git_fail(const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char *what, *msg;
	va_list ap;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	if (e && e->message && *e->message)
		msg = xasprintf("%s: %s", what, e->message);
	else
		msg = xstrdup(what);
	free(what);
	return msg;
}

char *vf_git_normalise_url(const char *url)
{
	char real[PATH_MAX];
	struct stat st;

	if (!strstr(url, "://") && stat(url, &st) == 0 && S_ISDIR(st.st_mode) &&
	    realpath(url, real))
		return xstrdup(real);
	return xstrdup(url);
}

char *vf_git_cache_dir(const char *state_dir, const char *url)
{
	const char *end = url + strlen(url), *start;
	char base[48];
	size_t n = 0;

	while (end > url && (end[-1] == '/' || end[-1] == ':'))
		end--;
	start = end;
	while (start > url && start[-1] != '/' && start[-1] != ':')
		start--;
	for (; start < end && n + 1 < sizeof(base); start++)
		base[n++] = (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
				    *start) && *start) ? *start : '_';
	base[n] = '\0';
	if (n > 4 && !strcmp(base + n - 4, ".git"))
		base[n - 4] = '\0';
	return xasprintf("%s/git-cache/%s%s%016llx", state_dir, base, *base ? "-" : "",
			 (unsigned long long)vf_hash_add(VF_HASH_INIT, url, strlen(url)));
}

/* mkdir -p, 0700 for what it makes. */
static int make_dirs(const char *dir, char **error)
{
	char *p = xstrdup(dir), *s;

	for (s = p + 1; ; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST) {
				*error = xasprintf("cannot create the git cache directory '%s': %s; "
						   "give --cache-dir DIR", p, strerror(errno));
				free(p);
				return -1;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return 0;
}

static int fetch(struct vf_git_repo *r, const struct vf_git_auth *auth, char **error)
{
	struct vf_git_fetch_ctx ctx;
	static char *specs[] = { "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*" };
	git_strarray refspecs = { specs, 2 };
	git_fetch_options opts;
	git_remote *remote = NULL;
	git_buf head = { 0 };
	int rc = -1;

	git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
	vf_git_fetch_ctx_init(&ctx, r->url, auth, &opts.callbacks);
	if (git_remote_create_anonymous(&remote, r->repo, r->url) < 0) {
		*error = vf_git_fail("cannot use the repository '%s'", r->url);
		vf_git_fetch_ctx_release(&ctx);
		return -1;
	}
	opts.prune = GIT_FETCH_PRUNE;
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;   /* the refspec has them all */
	if (git_remote_fetch(remote, &refspecs, &opts, "virtform fetch") < 0) {
		if (ctx.error)
			*error = xasprintf("cannot fetch '%s': %s", r->url, ctx.error);
		else
			*error = vf_git_fail("cannot fetch '%s' (is it a git repository you can "
					  "read?)", r->url);
		goto out;
	}
	/* The remote's HEAD, kept as the cache's: the default branch. */
	if (git_remote_default_branch(&head, remote) == 0) {
		git_reference *ref = NULL;
		if (git_reference_symbolic_create(&ref, r->repo, "HEAD", head.ptr, 1,
						  "virtform: the remote's default branch") < 0) {
			*error = vf_git_fail("cannot record the default branch of '%s'", r->url);
			goto out;
		}
		git_reference_free(ref);
	}
	rc = 0;
out:
	git_buf_dispose(&head);
	git_remote_free(remote);
	vf_git_fetch_ctx_release(&ctx);
	return rc;
}

int vf_git_open(struct vf_git_repo *r, const char *url, const char *cache_dir, bool do_fetch,
		const struct vf_git_auth *auth, char **error)
{
	struct stat st;

	pthread_once(&init_once, init);
	memset(r, 0, sizeof(*r));
	r->url = vf_git_normalise_url(url);
	r->cache = xstrdup(cache_dir);
	if (stat(cache_dir, &st) == 0) {
		/* what the cache holds is what is applied: nobody else may
		 * write it */
		*error = vf_private_dir_check(cache_dir, "the git cache", false);
		if (*error)
			return -1;
		if (git_repository_open_bare(&r->repo, cache_dir) < 0) {
			*error = vf_git_fail("the git cache '%s' is not a bare repository; remove it "
					  "or give another --cache-dir", cache_dir);
			return -1;
		}
	} else {
		if (make_dirs(cache_dir, error) < 0)
			return -1;
		if (git_repository_init(&r->repo, cache_dir, 1) < 0) {
			*error = vf_git_fail("cannot create the git cache '%s'", cache_dir);
			return -1;
		}
	}
	if (do_fetch && fetch(r, auth, error) < 0)
		return -1;
	return 0;
}

void vf_git_close(struct vf_git_repo *r)
{
	git_repository_free(r->repo);
	free(r->url);
	free(r->cache);
	memset(r, 0, sizeof(*r));
}

/* The cache's branches, "a, b" (for hints); malloc'd. */
static char *branch_list(git_repository *repo)
{
	git_branch_iterator *it;
	git_reference *ref;
	git_branch_t type;
	struct vf_buf list = VF_BUF_INIT;

	if (git_branch_iterator_new(&it, repo, GIT_BRANCH_LOCAL) < 0)
		return vf_buf_detach(&list);
	while (git_branch_next(&ref, &type, it) == 0) {
		const char *name = NULL;
		if (git_branch_name(&name, ref) == 0 && list.len < 200)
			vf_buf_addsep(&list, ", ", name);
		git_reference_free(ref);
	}
	git_branch_iterator_free(it);
	return vf_buf_detach(&list);
}

/* The commit of the default branch (HEAD's target, into c->ref): 0 with
 * *obj, or -1 with *error. */
static int default_branch(struct vf_git_repo *r, struct vf_git_commit *c, git_object **obj,
			  char **error)
{
	git_reference *head = NULL;

	if (git_reference_lookup(&head, r->repo, "HEAD") < 0 ||
	    git_reference_type(head) != GIT_REFERENCE_SYMBOLIC) {
		git_reference_free(head);
		*error = xasprintf("'%s' does not say which branch is its default; give "
				   "--ref BRANCH (or REPO@BRANCH)", r->url);
		return -1;
	}
	c->ref = xstrdup(git_reference_symbolic_target(head));
	if (!strncmp(c->ref, "refs/heads/", 11))
		memmove(c->ref, c->ref + 11, strlen(c->ref + 11) + 1);
	git_reference_free(head);
	if (git_revparse_single(obj, r->repo, "HEAD") < 0) {
		*error = vf_git_fail("'%s' has no commit on its default branch '%s'", r->url,
				     c->ref);
		return -1;
	}
	return 0;
}

/* What ref names (into c->ref): a branch, a tag, a sha; never an
 * option-like or a range.  0 with *obj, or -1 with *error. */
static int named_ref(struct vf_git_repo *r, const char *ref, struct vf_git_commit *c,
		     git_object **obj, char **error)
{
	char *branches;

	c->ref = xstrdup(ref);
	if (*ref && *ref != '-' && !strstr(ref, "..") &&
	    git_revparse_single(obj, r->repo, ref) == 0)
		return 0;
	branches = branch_list(r->repo);
	*error = xasprintf("ref '%s' not found in '%s': give a branch, a tag or a "
			   "commit sha of it (branches: %s)", ref, r->url,
			   *branches ? branches : "none");
	free(branches);
	return -1;
}

/* c's sha, short sha, subject, author and time, from commit. */
static void describe(git_commit *commit, struct vf_git_commit *c)
{
	git_buf sbuf = { 0 };
	const git_signature *author = git_commit_author(commit);
	const char *subject = git_commit_summary(commit);

	git_oid_tostr(c->sha, sizeof(c->sha), git_commit_id(commit));
	if (git_object_short_id(&sbuf, (git_object *)commit) == 0)
		snprintf(c->short_sha, sizeof(c->short_sha), "%s", sbuf.ptr);
	else
		snprintf(c->short_sha, sizeof(c->short_sha), "%.7s", c->sha);
	git_buf_dispose(&sbuf);
	c->subject = xstrdup(subject ? subject : "");
	c->author = xasprintf("%s <%s>", author->name, author->email);
	c->time = (int64_t)git_commit_time(commit);
}

int vf_git_resolve(struct vf_git_repo *r, const char *ref, struct vf_git_commit *c, char **error)
{
	git_object *obj = NULL, *peeled = NULL;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if ((ref ? named_ref(r, ref, c, &obj, error) : default_branch(r, c, &obj, error)) < 0)
		goto out;
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
		*error = vf_git_fail("ref '%s' of '%s' is not a commit", c->ref, r->url);
		goto out;
	}
	describe((git_commit *)peeled, c);
	rc = 0;
out:
	git_object_free(peeled);
	git_object_free(obj);
	if (rc)
		vf_git_commit_release(c);
	return rc;
}

void vf_git_commit_release(struct vf_git_commit *c)
{
	VF_FREE_MANY(c->ref, c->subject, c->author);
	memset(c, 0, sizeof(*c));
}

char *vf_git_clean_path(const char *path)
{
	char *clean;
	size_t n;

	while (path && path[0] == '.' && path[1] == '/')
		path += 2;
	clean = xstrdup(path && strcmp(path, ".") ? path : "");
	for (n = strlen(clean); n && clean[n - 1] == '/'; n--)
		clean[n - 1] = '\0';
	return clean;
}

int vf_git_oid_parse(git_oid *out, const char *hex)
{
	if (!hex || strlen(hex) != GIT_OID_HEXSZ || strspn(hex, "0123456789abcdefABCDEF") !=
	    GIT_OID_HEXSZ)
		return -1;
	return git_oid_fromstr(out, hex) < 0 ? -1 : 0;
}

bool vf_git_yaml_name(const char *n)
{
	size_t l = strlen(n);

	if (n[0] == '.')
		return false;
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

void vf_git_batch_add(struct vf_git_batch *b, const git_oid *id, char *label, char *what)
{
	struct vf_git_batch_entry *e;

	VF_GROW(b->v, b->n + 1, b->alloc);
	e = &b->v[b->n++];
	git_oid_cpy(&e->id, id);
	e->label = label;
	e->what = what;
}

/* The first entry before i that names the same blob, or i (at most
 * VF_GIT_FILES_MAX entries: checked before this is asked). */
static size_t batch_first(const struct vf_git_batch *b, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (git_oid_equal(&b->v[j].id, &b->v[i].id))
			return j;
	return i;
}

static double mib(unsigned long long bytes)
{
	return (double)bytes / (1u << 20);
}

/* The limits, from the blobs' headers: nothing is inflated yet.  Sets
 * each entry's first and size. */
static int batch_check(git_repository *repo, struct vf_git_batch *b, const char *where,
		       char **error)
{
	git_odb *odb = NULL;
	unsigned long long total = 0;
	size_t i;
	int rc = -1;

	if (b->n > VF_GIT_FILES_MAX) {
		*error = xasprintf("%s holds %zu configuration files; at most %d files (and %u MiB "
				   "in all) are read from one commit: put the configuration in fewer "
				   "files, or give --path the directory that holds it", where, b->n,
				   VF_GIT_FILES_MAX, VF_GIT_BYTES_MAX >> 20);
		return -1;
	}
	if (git_repository_odb(&odb, repo) < 0) {
		*error = vf_git_fail("cannot read the objects of %s", where);
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		struct vf_git_batch_entry *e = &b->v[i];
		git_object_t type;

		e->first = batch_first(b, i);
		if (e->first < i) {
			e->size = b->v[e->first].size;
		} else if (git_odb_read_header(&e->size, &type, odb, &e->id) < 0 ||
			   type != GIT_OBJECT_BLOB) {
			*error = vf_git_fail("cannot read %s", e->what);
			goto out;
		}
		if (e->size > VF_CONFIG_FILE_MAX) {
			*error = xasprintf("%s: file is larger than %u MiB (%.1f MiB); split the "
					   "configuration into several files in one directory",
					   e->label, VF_CONFIG_FILE_MAX >> 20, mib(e->size));
			goto out;
		}
		total += e->size;
	}
	if (total > VF_GIT_BYTES_MAX) {
		*error = xasprintf("%s: its %zu configuration files add up to %.1f MiB; at most "
				   "%u MiB (and %d files) are read from one commit, a file named "
				   "twice counted twice: put less configuration there, or give --path "
				   "the directory that holds it", where, b->n, mib(total),
				   VF_GIT_BYTES_MAX >> 20, VF_GIT_FILES_MAX);
		goto out;
	}
	rc = 0;
out:
	git_odb_free(odb);
	return rc;
}

static int file_cmp(const void *a, const void *b)
{
	const struct vf_config_file *x = a, *y = b;
	return strcmp(x->name, y->name);
}

/* vf_git_batch_read once the limits and none are checked: -1 with *error
 * and out part read. */
static int batch_files(git_repository *repo, struct vf_git_batch *b, struct vf_git_files *out,
		       char **error)
{
	size_t i;

	out->files = xcalloc(b->n + 1, sizeof(*out->files));
	for (i = 0; i < b->n; i++) {
		struct vf_git_batch_entry *e = &b->v[i];
		struct vf_config_file *f = &out->files[out->n];
		char *data = xmalloc(e->size + 1);

		if (e->first < i) {
			/* read once: the same blob's bytes, already in out->files[first] */
			memcpy(data, out->files[e->first].data, e->size + 1);
		} else {
			git_blob *blob;
			if (git_blob_lookup(&blob, repo, &e->id) < 0) {
				free(data);
				*error = vf_git_fail("cannot read %s", e->what);
				return -1;
			}
			if ((size_t)git_blob_rawsize(blob) != e->size) {
				git_blob_free(blob);
				free(data);
				*error = xasprintf("cannot read %s: its size changed while reading",
						   e->what);
				return -1;
			}
			memcpy(data, git_blob_rawcontent(blob), e->size);
			data[e->size] = '\0';
			git_blob_free(blob);
		}
		f->name = e->label;
		e->label = NULL;
		f->data = data;
		f->len = e->size;
		out->n++;
	}
	qsort(out->files, out->n, sizeof(*out->files), file_cmp);
	return 0;
}

int vf_git_batch_read(git_repository *repo, struct vf_git_batch *b, const char *where,
		      char *none, struct vf_git_files *out, char **error)
{
	int rc = -1;

	if (batch_check(repo, b, where, error) < 0)
		goto out;
	if (!b->n && none) {
		*error = none;
		none = NULL;
		goto out;
	}
	rc = batch_files(repo, b, out, error);
out:
	if (rc < 0)
		vf_git_files_release(out);
	free(none);
	return rc;
}

static void batch_entry_release(struct vf_git_batch_entry *e)
{
	VF_FREE_MANY(e->label, e->what);
}

void vf_git_batch_release(struct vf_git_batch *b)
{
	VF_FREE_ARRAY(b->v, b->n, batch_entry_release);
	memset(b, 0, sizeof(*b));
}

/*
 * What path (cleaned) names in commit c: a directory (*tree) or a YAML
 * file (*file, a regular file's entry), for the caller to free.  -1 with
 * *error when it is neither or cannot be read.
 */
static int path_at(struct vf_git_repo *r, const struct vf_git_commit *c, const char *clean,
		   git_tree **tree, git_tree_entry **file, char **error)
{
	git_oid oid;
	git_commit *commit = NULL;
	git_tree *root = NULL;
	git_tree_entry *entry = NULL;
	git_filemode_t mode;
	int rc = -1;

	*tree = NULL;
	*file = NULL;
	if (git_oid_fromstr(&oid, c->sha) < 0 || git_commit_lookup(&commit, r->repo, &oid) < 0 ||
	    git_commit_tree(&root, commit) < 0) {
		*error = vf_git_fail("cannot read commit %s of '%s'", c->sha, r->url);
		goto out;
	}
	if (!*clean) {
		*tree = root;
		root = NULL;
		rc = 0;
		goto out;
	}
	if (git_tree_entry_bypath(&entry, root, clean) < 0) {
		*error = xasprintf("'%s' does not exist in commit %s of '%s'; give --path the "
				   "directory or YAML file that holds the configuration", clean,
				   c->short_sha, r->url);
		goto out;
	}
	mode = git_tree_entry_filemode(entry);
	if (git_tree_entry_type(entry) == GIT_OBJECT_TREE) {
		if (git_tree_lookup(tree, r->repo, git_tree_entry_id(entry)) < 0)
			*error = vf_git_fail("cannot read %s:%s", c->short_sha, clean);
		else
			rc = 0;
	} else if (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE) {
		*file = entry;
		entry = NULL;
		rc = 0;
	} else {
		*error = xasprintf("%s:%s is not a file nor a directory (a symbolic link or a "
				   "submodule); give --path a directory or a YAML file", c->short_sha,
				   clean);
	}
out:
	git_tree_entry_free(entry);
	git_tree_free(root);
	git_commit_free(commit);
	return rc;
}

/* The YAML files directly in tree (the directory clean) into batch: -1
 * with *error for a symbolic link or a submodule among them. */
static int batch_tree(git_tree *tree, const struct vf_git_commit *c, const char *clean,
		      struct vf_git_batch *batch, char **error)
{
	size_t i, n = git_tree_entrycount(tree);

	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		char *full;
		if (!vf_git_yaml_name(name) || git_tree_entry_type(e) == GIT_OBJECT_TREE)
			continue;
		full = *clean ? xasprintf("%s/%s", clean, name) : xstrdup(name);
		if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
			*error = xasprintf("%s:%s is a symbolic link or a submodule; virtform reads "
					   "only regular files from a commit", c->short_sha, full);
			free(full);
			return -1;
		}
		vf_git_batch_add(batch, git_tree_entry_id(e), xasprintf("%s:%s", c->short_sha, full),
				 xasprintf("%s:%s", c->short_sha, full));
		free(full);
	}
	return 0;
}

int vf_git_read_files(struct vf_git_repo *r, const struct vf_git_commit *c, const char *path,
		      struct vf_git_files *out, char **error)
{
	git_tree *tree = NULL;
	git_tree_entry *file = NULL;
	struct vf_git_batch batch = { 0 };
	char *clean, *where = NULL, *label;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	clean = vf_git_clean_path(path);
	if (path_at(r, c, clean, &tree, &file, error) < 0)
		goto out;
	if (file) {
		label = xasprintf("%s:%s", c->short_sha, clean);
		vf_git_batch_add(&batch, git_tree_entry_id(file), label, xstrdup(label));
		rc = vf_git_batch_read(r->repo, &batch, label, NULL, out, error);
		goto out;
	}
	if (batch_tree(tree, c, clean, &batch, error) < 0)
		goto out;
	where = xasprintf("%s:%s", c->short_sha, *clean ? clean : "(the root)");
	rc = vf_git_batch_read(r->repo, &batch, where,
			       xasprintf("no *.yaml or *.yml files in %s of '%s'; put the "
					 "configuration there, or give --path the directory or "
					 "file that holds it", where, r->url),
			       out, error);
out:
	vf_git_batch_release(&batch);
	free(where);
	git_tree_entry_free(file);
	git_tree_free(tree);
	free(clean);
	return rc;
}

static void file_release(struct vf_config_file *f)
{
	VF_FREE_MANY((char *)f->name, (char *)f->data);
}

void vf_git_files_release(struct vf_git_files *f)
{
	VF_FREE_ARRAY(f->files, f->n, file_release);
	memset(f, 0, sizeof(*f));
}

int vf_git_descends(struct vf_git_repo *r, const char *descendant, const char *ancestor,
		    char **error)
{
	git_oid d, a;
	git_commit *commit;
	int rc;

	if (vf_git_oid_parse(&d, descendant) < 0 || vf_git_oid_parse(&a, ancestor) < 0) {
		*error = xasprintf("'%s' or '%s' is not a commit id", descendant, ancestor);
		return -1;
	}
	if (git_oid_equal(&d, &a))
		return 1;
	/* the descendant must be a commit here: libgit2 1.5's graph walk
	 * leaks its queue when it cannot read one (docs/fuzzing.md) */
	if (git_commit_lookup(&commit, r->repo, &d) < 0) {
		*error = vf_git_fail("commit %s is not in '%s' (or is not a commit)", descendant,
				     r->url);
		return -1;
	}
	git_commit_free(commit);
	if (git_commit_lookup(&commit, r->repo, &a) < 0)
		return 0;            /* not in the repository: not an ancestor */
	git_commit_free(commit);
	rc = git_graph_descendant_of(r->repo, &d, &a);
	if (rc < 0) {
		*error = vf_git_fail("cannot compare commits %s and %s of '%s'", descendant, ancestor,
				  r->url);
		return -1;
	}
	return rc ? 1 : 0;
}

int vf_git_signature(struct vf_git_repo *r, const struct vf_git_commit *c, char **signature,
		     char **payload, size_t *payload_len, char **error)
{
	git_buf sig = { 0 }, data = { 0 };
	git_oid oid;
	int rc;

	*signature = *payload = NULL;
	*payload_len = 0;
	if (git_oid_fromstr(&oid, c->sha) < 0) {
		*error = xasprintf("'%s' is not a commit id", c->sha);
		return -1;
	}
	rc = git_commit_extract_signature(&sig, &data, r->repo, &oid, NULL);
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (rc < 0) {
		*error = vf_git_fail("cannot read the signature of commit %s", c->sha);
		return -1;
	}
	*signature = xmalloc(sig.size + 1);
	memcpy(*signature, sig.ptr, sig.size);
	(*signature)[sig.size] = '\0';
	*payload = xmalloc(data.size + 1);
	memcpy(*payload, data.ptr, data.size);
	(*payload)[data.size] = '\0';
	*payload_len = data.size;
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return 1;
}
