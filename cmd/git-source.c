/*
 * git-source.c — a configuration read from a git commit for the commands
 * (git-source.h), and the record of applied commits in the state
 * directory.  The git work itself is providers/git/repo.c; this file
 * decides where the cache lives, turns the files of a commit into a
 * loaded configuration, and keeps the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/git-source.h"
#include "reconcile/json-stream.h"

int vf_git_source_parse(struct vf_git_source *g, const char *arg, const char *path, char **error)
{
	const char *after = arg, *scheme = strstr(arg, "://"), *at;

	if (scheme) {
		const char *slash = strchr(scheme + 3, '/');
		after = slash ? slash : arg + strlen(arg);
	} else {
		const char *colon = strchr(arg, ':'), *slash = strchr(arg, '/');
		if (colon && (!slash || colon < slash))
			after = colon;       /* user@host:path */
	}
	at = strrchr(after, '@');
	if (at && at[1] == '\0') {
		*error = xasprintf("'%s': give a branch, a tag or a commit after '@', or no '@'",
				   arg);
		return -1;
	}
	g->repo = at ? xstrndup(arg, (size_t)(at - arg)) : xstrdup(arg);
	g->ref = at ? xstrdup(at + 1) : NULL;
	g->path = xstrdup(path ? path : "");
	if (!*g->repo) {
		*error = xasprintf("'%s': give the repository, a URL or a path", arg);
		return -1;
	}
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void vf_git_source_release(struct vf_git_source *g)
{
	if (g->resolved)
		vf_git_commit_release(&g->commit);
	if (g->opened)
		vf_git_close(&g->r);
	if (g->temp_dir)
		nftw(g->temp_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	VF_FREE_MANY(g->temp_dir, g->repo, g->ref, g->path, g->cache_dir);
	memset(g, 0, sizeof(*g));
}

char *vf_git_source_label(const struct vf_git_source *g)
{
	const char *rev = g->resolved ? g->commit.short_sha : g->ref;

	return xasprintf("%s%s%s%s%s", g->repo, rev ? "@" : "", rev ? rev : "",
			 *g->path ? ":" : "", g->path);
}

struct vf_config *vf_git_source_load(struct vf_git_source *g, const char *cache_dir,
				  const char *state_dir, bool fetch, const struct vf_git_auth *auth,
				  struct vf_diags *diags, char **error)
{
	struct vf_git_files files;
	struct vf_config *c;
	char *url, *source;

	url = vf_git_normalise_url(g->repo);
	free(g->repo);
	g->repo = url;
	if (cache_dir) {
		g->cache_dir = xstrdup(cache_dir);
	} else if (state_dir) {
		/* the cache lives in the state directory: the same rule (one
		 * that is missing is made, 0700, with the cache) */
		struct stat st;
		if (stat(state_dir, &st) == 0 &&
		    (*error = vf_private_dir_check(state_dir, "the state directory", false)))
			return NULL;
		g->cache_dir = vf_git_cache_dir(state_dir, g->repo);
	} else {
		/* a private directory of our own (never removed and made
		 * again: someone could take the name in between) holding the
		 * repository */
		const char *tmp = getenv("TMPDIR");
		g->temp_dir = xasprintf("%s/virtform-git.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(g->temp_dir)) {
			*error = xasprintf("cannot create a temporary git cache '%s': %s; give "
					   "--cache-dir DIR", g->temp_dir, strerror(errno));
			return NULL;
		}
		g->cache_dir = xasprintf("%s/repo.git", g->temp_dir);
	}
	g->opened = true;
	if (vf_git_open(&g->r, g->repo, g->cache_dir, fetch, auth, error) < 0)
		return NULL;
	if (vf_git_resolve(&g->r, g->ref, &g->commit, error) < 0) {
		/* a commit not fetched yet (apply FILE reads the cache first) */
		if (fetch)
			return NULL;
		free(*error);
		*error = NULL;
		if (vf_git_open(&g->r, g->repo, g->cache_dir, true, auth, error) < 0 ||
		    vf_git_resolve(&g->r, g->ref, &g->commit, error) < 0)
			return NULL;
	}
	g->resolved = true;
	if (vf_git_read_files(&g->r, &g->commit, g->path, &files, error) < 0)
		return NULL;
	source = xasprintf("%s@%s%s%s", g->repo, g->commit.sha, *g->path ? ":" : "", g->path);
	c = vf_config_load_files(source, files.files, files.n, diags);
	free(source);
	vf_git_files_release(&files);
	if (c) {
		c->git_repo = vf_arena_strdup(&c->arena, g->repo);
		c->git_commit = vf_arena_strdup(&c->arena, g->commit.sha);
		c->git_path = vf_arena_strdup(&c->arena, g->path);
		c->git_cache = g->temp_dir ? NULL : vf_arena_strdup(&c->arena, g->cache_dir);
	}
	return c;
}

/* ---- the record of applied commits ------------------------------------------ */

static void iso_time(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


/* o's member key is the string value. */
static bool field_is(const json_t *o, const char *key, const char *value)
{
	const char *s = vf_json_str(o, key);

	return s && !strcmp(s, value);
}

/* o's member key, "" when it is not a string. */
static const char *field(const json_t *o, const char *key)
{
	const char *s = vf_json_str(o, key);

	return s ? s : "";
}

/*
 * Is the last record of the log at path "unchanged" for the same command,
 * repository, path and commit?  A timer that syncs every 5 minutes then
 * adds one line per change, not one per run.  Reads only the file's tail.
 */
static bool same_unchanged(const char *path, const char *command, const struct vf_git_source *g)
{
	char buf[8192], *last;
	struct stat st;
	json_t *o;
	ssize_t n;
	off_t at;
	bool same;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return false;
	}
	at = st.st_size > (off_t)sizeof(buf) - 1 ? st.st_size - (off_t)sizeof(buf) + 1 : 0;
	n = pread(fd, buf, sizeof(buf) - 1, at);
	close(fd);
	if (n <= 0 || buf[n - 1] != '\n')
		return false;
	buf[n - 1] = '\0';
	last = strrchr(buf, '\n');
	last = last ? last + 1 : at == 0 ? buf : NULL;
	if (!last)
		return false;             /* a line longer than the tail read */
	o = json_loads(last, 0, NULL);
	same = json_is_object(o) && !strcmp(field(o, "outcome"), "unchanged") &&
	       !strcmp(field(o, "command"), command) && !strcmp(field(o, "repo"), g->repo) &&
	       !strcmp(field(o, "path"), g->path) && !strcmp(field(o, "commit"), g->commit.sha);
	json_decref(o);
	return same;
}

int vf_git_log_append(const char *state_dir, const char *command, const struct vf_git_source *g,
		   const char *outcome, const char *message, const unsigned counts[4],
		   char **error)
{
	json_t *o = json_object();
	char when[32], *line, *dump, *path = xasprintf("%s/%s", state_dir, GIT_LOG_FILE);
	int fd, rc = -1;

	if (!strcmp(outcome, "unchanged") && same_unchanged(path, command, g)) {
		json_decref(o);
		free(path);
		return 0;
	}
	iso_time(when);
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "command", json_string(command));
	json_object_set_new(o, "repo", json_string(g->repo));
	json_object_set_new(o, "ref", g->commit.ref ? json_string(g->commit.ref) : json_null());
	json_object_set_new(o, "path", json_string(g->path));
	json_object_set_new(o, "commit", json_string(g->commit.sha));
	json_object_set_new(o, "subject", json_string(g->commit.subject ? g->commit.subject : ""));
	json_object_set_new(o, "author", json_string(g->commit.author ? g->commit.author : ""));
	json_object_set_new(o, "outcome", json_string(outcome));
	if (message)
		json_object_set_new(o, "message", json_string(message));
	if (counts)
		json_object_set_new(o, "counts",
				    json_pack("{sIsIsIsI}", "create", (json_int_t)counts[0],
					      "update", (json_int_t)counts[1],
					      "replace", (json_int_t)counts[2],
					      "destroy", (json_int_t)counts[3]));
	dump = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!dump) {
		*error = xasprintf("cannot write '%s': out of memory", path);
		free(path);
		return -1;
	}
	line = xasprintf("%s\n", dump);
	free(dump);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto fail;
	/* one write: lines of concurrent writers never interleave */
	if (vf_write_all(fd, line, strlen(line)) < 0) {
		close(fd);
		goto fail;
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	*error = xasprintf("cannot write the record of applied commits '%s': %s", path,
			   strerror(errno));
out:
	free(line);
	free(path);
	return rc;
}

int vf_git_log_read(FILE *f, const char *path, void (*fn)(json_t *record, void *arg), void *arg,
		    char **error)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;

	while (getline(&line, &cap, f) > 0) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		lineno++;
		if (!json_is_object(o)) {
			*error = xasprintf("%s:%u: not a JSON object (%s); the record of applied "
					   "commits is damaged: fix or remove that line", path, lineno,
					   je.text);
			json_decref(o);
			rc = -1;
			break;
		}
		fn(o, arg);
	}
	free(line);
	return rc;
}

/* What vf_git_log_last looks for, and the last one found. */
struct last_applied {
	const char *repo, *path;
	char *commit;
};

static void last_applied(json_t *o, void *arg)
{
	struct last_applied *l = arg;
	const char *outcome = vf_json_str(o, "outcome");

	if (vf_json_str(o, "commit") && outcome && field_is(o, "repo", l->repo) &&
	    field_is(o, "path", l->path) && strcmp(outcome, "refused")) {
		free(l->commit);
		l->commit = xstrdup(vf_json_str(o, "commit"));
	}
	json_decref(o);
}

int vf_git_log_last(const char *state_dir, const char *repo, const char *path, char **commit,
		 char **error)
{
	char *file = xasprintf("%s/%s", state_dir, GIT_LOG_FILE);
	struct last_applied l = { repo, path, NULL };
	FILE *f;
	int rc = 0;

	*commit = NULL;
	f = fopen(file, "re");
	if (!f) {
		if (errno != ENOENT) {
			*error = xasprintf("cannot read '%s': %s", file, strerror(errno));
			rc = -1;
		}
		free(file);
		return rc;
	}
	rc = vf_git_log_read(f, file, last_applied, &l, error);
	fclose(f);
	free(file);
	if (rc < 0)
		free(l.commit);
	else
		*commit = l.commit;
	return rc;
}
