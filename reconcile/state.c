/*
 * state.c — the state directory (state.h): records of managed objects in
 * one JSON file written atomically, and the flock that serializes
 * plan/apply runs.  The kernel releases a crashed holder's lock; nothing
 * here ever breaks a lock by guesswork.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/state.h"

char *vf_state_default_dir(const char *config_path)
{
	struct stat st;
	const char *slash;

	if (stat(config_path, &st) == 0 && S_ISDIR(st.st_mode))
		return xasprintf("%s/.virtform", config_path);
	slash = strrchr(config_path, '/');
	if (!slash)
		return xstrdup(".virtform");
	return xasprintf("%.*s/.virtform", (int)(slash - config_path), config_path);
}

static void entry_release(struct vf_state_entry *e)
{
	free(e->address);
	free(e->name);
	free(e->host);
	free(e->pool);
	free(e->uuid);
	free(e->pending);
	free(e->pending_since);
	memset(e, 0, sizeof(*e));
}

static void reindex(struct vf_state *s)
{
	size_t i;

	vf_strmap_release(&s->by_address);
	memset(&s->by_address, 0, sizeof(s->by_address));
	for (i = 0; i < s->n; i++)
		vf_strmap_put(&s->by_address, s->entries[i].address, (void *)(uintptr_t)(i + 1));
}

const struct vf_state_entry *vf_state_find(const struct vf_state *s, const char *address)
{
	uintptr_t i = (uintptr_t)vf_strmap_get(&s->by_address, address);
	return i ? &s->entries[i - 1] : NULL;
}

static char *dup_or_null(const char *p)
{
	return p ? xstrdup(p) : NULL;
}

/*
 * e may point into the entry it replaces (a copy with one field changed):
 * everything is copied before the old strings are freed.
 */
void vf_state_put(struct vf_state *s, const struct vf_state_entry *e)
{
	uintptr_t i = (uintptr_t)vf_strmap_get(&s->by_address, e->address);
	struct vf_state_entry copy = {
		.address = NULL, .kind = e->kind, .name = xstrdup(e->name),
		.host = dup_or_null(e->host), .pool = dup_or_null(e->pool),
		.uuid = dup_or_null(e->uuid), .protect = e->protect, .keep = e->keep,
		.pending = dup_or_null(e->pending),
		.pending_since = e->pending ? dup_or_null(e->pending_since) : NULL,
	};

	if (i) {
		/* the map borrows the address string: keep it (apply replaces
		 * entries twice per action; no re-index of the whole map) */
		copy.address = s->entries[i - 1].address;
		s->entries[i - 1].address = NULL;
		entry_release(&s->entries[i - 1]);
		s->entries[i - 1] = copy;
		return;
	}
	copy.address = xstrdup(e->address);
	VF_GROW(s->entries, s->n + 1, s->alloc);
	s->entries[s->n++] = copy;
	vf_strmap_put(&s->by_address, copy.address, (void *)(uintptr_t)s->n);
}

void vf_state_remove(struct vf_state *s, const char *address)
{
	uintptr_t i = (uintptr_t)vf_strmap_get(&s->by_address, address);

	if (!i)
		return;
	entry_release(&s->entries[i - 1]);
	memmove(&s->entries[i - 1], &s->entries[i], (s->n - i) * sizeof(*s->entries));
	s->n--;
	reindex(s);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int state_read(struct vf_state *s, char **error)
{
	json_error_t jerr;
	json_t *root, *list, *item, *v;
	size_t i;
	int rc = -1;

	root = json_load_file(s->path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (access(s->path, F_OK) < 0 && errno == ENOENT)
			return 0;   /* a new state */
		*error = xasprintf("%s:%d:%d: cannot read the state: %s; restore it from a backup, "
				   "or move it away (managed VMs are found again by their marker)",
				   s->path, jerr.line, jerr.column, jerr.text);
		return -1;
	}
	v = json_object_get(root, "format_version");
	if (!json_is_integer(v) || json_integer_value(v) != VF_STATE_FORMAT_VERSION) {
		*error = xasprintf("%s: unsupported state format (format_version %s); this "
				   "virtform reads %d", s->path,
				   json_is_integer(v) ? "other than 1" : "missing",
				   VF_STATE_FORMAT_VERSION);
		goto out;
	}
	if (jstr(root, "project"))
		s->project = xstrdup(jstr(root, "project"));
	v = json_object_get(root, "serial");
	s->serial = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
	list = json_object_get(root, "resources");
	json_array_foreach(list, i, item) {
		struct vf_state_entry e = { 0 };
		e.address = (char *)jstr(item, "address");
		e.name = (char *)jstr(item, "name");
		e.host = (char *)jstr(item, "host");
		e.pool = (char *)jstr(item, "pool");
		e.uuid = (char *)jstr(item, "uuid");
		e.protect = json_is_true(json_object_get(item, "protect"));
		e.keep = json_is_true(json_object_get(item, "keep"));
		/* absent in states written before the journal: nothing pending */
		e.pending = (char *)jstr(item, "pending");
		e.pending_since = (char *)jstr(item, "pending_since");
		if (!e.address || !e.name || vf_kind_parse(jstr(item, "kind"), &e.kind) < 0) {
			*error = xasprintf("%s: resource %zu is incomplete (address, kind and name "
					   "are required)", s->path, i);
			goto out;
		}
		vf_state_put(s, &e);
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* Describe the holder of the lock (the text it wrote into the lock file). */
static char *lock_holder(int fd)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return xstrdup("another virtform");
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return xstrdup(buf);
}

static int lock_take(struct vf_state *s, double timeout, const char *command, char **error)
{
	char *path = xasprintf("%s/lock", s->dir);
	struct timespec start, now;
	char line[256], stamp[32];
	time_t t;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error = xasprintf("cannot open '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		double waited;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			*error = xasprintf("cannot lock '%s': %s", path, strerror(errno));
			goto fail;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
		if (waited >= timeout) {
			char *holder = lock_holder(fd);
			*error = xasprintf("the state in '%s' is locked by %s; wait for it to finish, "
					   "or give --lock-timeout SECONDS to wait", s->dir, holder);
			free(holder);
			goto fail;
		}
		usleep(100 * 1000);
	}
	t = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(line, sizeof(line), "pid %ld (virtform %s) since %s\n", (long)getpid(), command,
		 stamp);
	if (ftruncate(fd, 0) == 0 && pwrite(fd, line, strlen(line), 0) < 0) {
		/* the holder line is informative only */
	}
	s->lock_fd = fd;
	free(path);
	return 0;
fail:
	close(fd);
	free(path);
	return -1;
}

int vf_state_open(struct vf_state *s, const char *dir, double lock_timeout,
		  const char *command, char **error)
{
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	s->dir = xstrdup(dir);
	s->path = xasprintf("%s/state.json", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*error = xasprintf("cannot create the state directory '%s': %s; give another "
				   "with --state-dir", dir, strerror(errno));
		return -1;
	}
	if (lock_take(s, lock_timeout, command, error) < 0)
		return -1;
	return state_read(s, error);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int vf_state_save(struct vf_state *s, char **error)
{
	json_t *root = json_object(), *list = json_array();
	char *tmp = xasprintf("%s.tmp.%ld", s->path, (long)getpid());
	char *text = NULL, *body;
	size_t i, len, off = 0;
	int fd = -1, rc = -1;

	s->serial++;
	json_object_set_new(root, "format_version", json_integer(VF_STATE_FORMAT_VERSION));
	if (s->project)
		json_object_set_new(root, "project", json_string(s->project));
	json_object_set_new(root, "serial", json_integer((json_int_t)s->serial));
	for (i = 0; i < s->n; i++) {
		const struct vf_state_entry *e = &s->entries[i];
		json_t *o = json_object();
		json_object_set_new(o, "address", json_string(e->address));
		json_object_set_new(o, "kind", json_string(vf_kind_name(e->kind)));
		json_object_set_new(o, "name", json_string(e->name));
		if (e->host)
			json_object_set_new(o, "host", json_string(e->host));
		if (e->pool)
			json_object_set_new(o, "pool", json_string(e->pool));
		if (e->uuid)
			json_object_set_new(o, "uuid", json_string(e->uuid));
		if (e->protect)
			json_object_set_new(o, "protect", json_true());
		if (e->keep)
			json_object_set_new(o, "keep", json_true());
		if (e->pending) {
			json_object_set_new(o, "pending", json_string(e->pending));
			if (e->pending_since)
				json_object_set_new(o, "pending_since",
						    json_string(e->pending_since));
		}
		json_array_append_new(list, o);
	}
	json_object_set_new(root, "resources", list);
	body = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!body) {
		*error = xstrdup("cannot encode the state");
		goto out;
	}
	/* one write, one fsync, one rename, one directory fsync per save:
	 * apply saves before every action it starts */
	text = xasprintf("%s\n", body);
	free(body);
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, s->path) < 0)
		goto fail;
	fsync_dir(s->dir);
	rc = 0;
	goto out;
fail:
	*error = xasprintf("cannot write the state '%s': %s", s->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(text);
	free(tmp);
	json_decref(root);
	return rc;
}

bool vf_state_interrupted(const struct vf_state *s, const char *address, const char **action)
{
	const struct vf_state_entry *e = vf_state_find(s, address);

	if (!e || !e->pending)
		return false;
	if (action)
		*action = e->pending;
	return true;
}

void vf_state_interrupted_notes(const struct vf_state *s, char ***warnings, size_t *n,
				size_t *alloc)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct vf_state_entry *e = &s->entries[i];
		char *since;
		if (!e->pending)
			continue;
		since = e->pending_since ? xasprintf(" (since %s)", e->pending_since) : xstrdup("");
		VF_GROW(*warnings, *n + 1, *alloc);
		(*warnings)[(*n)++] = xasprintf("an earlier apply was interrupted%s during %s of "
						"%s; this plan completes it", since, e->pending,
						e->address);
		free(since);
	}
}

void vf_state_close(struct vf_state *s)
{
	size_t i;

	if (s->lock_fd >= 0)
		close(s->lock_fd);      /* releases the flock */
	for (i = 0; i < s->n; i++)
		entry_release(&s->entries[i]);
	free(s->entries);
	vf_strmap_release(&s->by_address);
	free(s->project);
	free(s->dir);
	free(s->path);
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
}
