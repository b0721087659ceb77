/*
 * state.c — the state directory (state.h): records of managed objects in
 * one JSON file written atomically, the journal of the apply running
 * (appended records, folded into the file by the next save), and the
 * flock that serializes plan/apply runs.  The kernel releases a crashed
 * holder's lock; nothing here ever breaks a lock by guesswork.
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

#include "reconcile/json-stream.h"
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
	VF_FREE_MANY(e->address, e->name, e->host, e->pool, e->uuid, e->spec, e->pending,
		     e->pending_since);
	memset(e, 0, sizeof(*e));
}

/* Rebuild the address map from the live entries; frees the dead keys. */
static void reindex(struct vf_state *s)
{
	size_t i;

	vf_strmap_release(&s->by_address);
	for (i = 0; i < s->n; i++)
		vf_strmap_put(&s->by_address, s->entries[i].address, (void *)(uintptr_t)(i + 1));
	for (i = 0; i < s->n_dead_keys; i++)
		free(s->dead_keys[i]);
	s->n_dead_keys = 0;
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
		.spec = dup_or_null(e->spec),
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
	/* set, not put: the address may have a removed entry's slot */
	vf_strmap_set(&s->by_address, copy.address, (void *)(uintptr_t)s->n);
}

/*
 * O(1), so that an apply deleting thousands of objects does not rebuild
 * the map per delete: the slot is emptied (its key, which the map
 * borrows, kept among the dead keys) and the last entry moved into the
 * hole.  The map is rebuilt once the dead keys outnumber the entries.
 */
void vf_state_remove(struct vf_state *s, const char *address)
{
	uintptr_t i = (uintptr_t)vf_strmap_get(&s->by_address, address);
	struct vf_state_entry *e;

	if (!i)
		return;
	e = &s->entries[i - 1];
	vf_strmap_set(&s->by_address, e->address, NULL);
	VF_GROW(s->dead_keys, s->n_dead_keys + 1, s->alloc_dead_keys);
	s->dead_keys[s->n_dead_keys++] = e->address;
	e->address = NULL;
	entry_release(e);
	if (i < s->n) {
		*e = s->entries[s->n - 1];
		vf_strmap_set(&s->by_address, e->address, (void *)i);
	}
	s->n--;
	if (s->n_dead_keys > 64 && s->n_dead_keys > s->n)
		reindex(s);
}

/*
 * The fields of a record (state.json's resources, a journal record's
 * entry) but address and pending, borrowed from item.  -1 when kind or
 * name is missing.
 */
static int entry_parse(json_t *item, struct vf_state_entry *e)
{
	e->name = (char *)vf_json_str(item, "name");
	e->host = (char *)vf_json_str(item, "host");
	e->pool = (char *)vf_json_str(item, "pool");
	e->uuid = (char *)vf_json_str(item, "uuid");
	e->protect = json_is_true(json_object_get(item, "protect"));
	e->keep = json_is_true(json_object_get(item, "keep"));
	e->spec = (char *)vf_json_str(item, "spec");
	return e->name && vf_kind_parse(vf_json_str(item, "kind"), &e->kind) == 0 ? 0 : -1;
}

/* The inverse: o gets e's fields but address and pending. */
static void entry_format(json_t *o, const struct vf_state_entry *e)
{
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
	if (e->spec)
		json_object_set_new(o, "spec", json_string(e->spec));
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
	if (vf_json_str(root, "project"))
		s->project = xstrdup(vf_json_str(root, "project"));
	v = json_object_get(root, "serial");
	s->serial = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
	list = json_object_get(root, "resources");
	json_array_foreach(list, i, item) {
		struct vf_state_entry e = { 0 };
		int bad = entry_parse(item, &e);
		e.address = (char *)vf_json_str(item, "address");
		/* absent in states written before the journal: nothing pending */
		e.pending = (char *)vf_json_str(item, "pending");
		e.pending_since = (char *)vf_json_str(item, "pending_since");
		if (!e.address || bad) {
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
	char line[256], stamp[32];
	time_t t;
	struct tm tm;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		*error = xasprintf("cannot open '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (vf_flock_wait(fd, timeout) < 0) {
		if (errno != EWOULDBLOCK) {
			*error = xasprintf("cannot lock '%s': %s", path, strerror(errno));
		} else {
			char *holder = lock_holder(fd);
			*error = xasprintf("the state in '%s' is locked by %s; wait for it to finish, "
					   "or give --lock-timeout SECONDS to wait", s->dir, holder);
			free(holder);
		}
		goto fail;
	}
	t = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
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

/* ---- the journal (state.h) ---- */

/*
 * Replay one journal line; true when it changed the state.  Anything but a
 * whole record of this state.json's serial is skipped (see state.h).
 */
static bool journal_replay_line(struct vf_state *s, const char *line, size_t len)
{
	json_t *r = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *serial = json_object_get(r, "serial"), *entry = json_object_get(r, "entry");
	const char *event = vf_json_str(r, "event"), *address = vf_json_str(r, "address");
	struct vf_state_entry e = { 0 };
	bool done = false;

	if (!json_is_integer(serial) || (uint64_t)json_integer_value(serial) != s->serial ||
	    !event || !address)
		goto out;
	if (!strcmp(event, "end") && json_is_null(entry)) {
		vf_state_remove(s, address);
		done = true;
		goto out;
	}
	if (!json_is_object(entry) || entry_parse(entry, &e) < 0)
		goto out;
	e.address = (char *)address;
	if (!strcmp(event, "begin")) {
		e.pending = (char *)vf_json_str(r, "action");
		e.pending_since = (char *)vf_json_str(r, "since");
		if (!e.pending)
			goto out;
	} else if (strcmp(event, "end")) {
		goto out;
	}
	vf_state_put(s, &e);
	done = true;
out:
	json_decref(r);
	return done;
}

/*
 * The journal a killed apply left: replayed on top of state.json, then
 * folded into it (a save) and removed.  A last line without its newline
 * is a write the crash cut short: ignored.
 */
static int journal_replay(struct vf_state *s, char **error)
{
	FILE *f = fopen(s->journal_path, "re");
	char *line = NULL, *why;
	size_t cap = 0, applied = 0;
	ssize_t len;
	int rc = 0;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		*error = xasprintf("cannot read the journal '%s': %s", s->journal_path,
				   strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0 && line[len - 1] == '\n')
		if (journal_replay_line(s, line, (size_t)len))
			applied++;
	if (ferror(f)) {
		*error = xasprintf("cannot read the journal '%s': %s", s->journal_path,
				   strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	if (rc < 0)
		return -1;
	if (!applied) {
		/* empty, or older than state.json (a save that could not remove it) */
		unlink(s->journal_path);
		return 0;
	}
	if (vf_state_save(s, &why) < 0) {
		*error = xasprintf("%s; it is needed to record what an interrupted apply did "
				   "(its journal '%s' is kept)", why, s->journal_path);
		free(why);
		return -1;
	}
	return 0;
}

/*
 * Start a journal.  Whatever a file there holds is in state.json already
 * (vf_state_open folded it in, or it names an older serial): truncated.
 */
static int journal_create(struct vf_state *s, char **error)
{
	int fd;

	if (!s->journal_path) {
		*error = xstrdup("the state has no directory to keep its journal in");
		return -1;
	}
	fd = open(s->journal_path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		*error = xasprintf("cannot create the journal '%s': %s", s->journal_path,
				   strerror(errno));
		return -1;
	}
	/* its name must outlive a power cut, as its records do */
	if (vf_fsync_dir(s->dir) < 0) {
		*error = xasprintf("cannot create the journal '%s': fsync of '%s': %s",
				   s->journal_path, s->dir, strerror(errno));
		close(fd);
		return -1;
	}
	s->journal_fd = fd;
	s->journal_open = true;
	s->journal_size = 0;
	return 0;
}

/* The journal is in state.json now: close and remove it. */
static void journal_remove(struct vf_state *s)
{
	if (s->journal_open)
		close(s->journal_fd);
	s->journal_open = false;
	s->journal_broken = false;
	s->journal_size = 0;
	if (s->journal_path)
		unlink(s->journal_path);
}

static json_t *record_new(const struct vf_state *s, const char *event, const char *address)
{
	json_t *r = json_object();

	json_object_set_new(r, "serial", json_integer((json_int_t)s->serial));
	json_object_set_new(r, "event", json_string(event));
	json_object_set_new(r, "address", json_string(address));
	return r;
}

/*
 * Append record (consumed) as one line, with one write(2): records never
 * interleave, and a crash leaves at most the last one cut short.  A
 * partial write (a full disk) is cut off again, so that the next record
 * starts a line; if that fails too, the journal takes no more records.
 */
static int journal_append(struct vf_state *s, json_t *record, char **error)
{
	char *body = json_dumps(record, JSON_COMPACT | JSON_PRESERVE_ORDER), *line;
	size_t len;
	ssize_t n;
	int err, rc = -1;

	json_decref(record);
	if (!body) {
		*error = xstrdup("cannot encode a journal record");
		return -1;
	}
	line = xasprintf("%s\n", body);
	free(body);
	len = strlen(line);
	if (s->journal_broken) {
		*error = xasprintf("the journal '%s' ends with a record cut short that could "
				   "not be removed; nothing more is written to it",
				   s->journal_path);
		goto out;
	}
	if (!s->journal_open && journal_create(s, error) < 0)
		goto out;
	do
		n = write(s->journal_fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len) {
		s->journal_size += len;
		rc = 0;
		goto out;
	}
	err = n < 0 ? errno : ENOSPC;
	if (n > 0 && ftruncate(s->journal_fd, (off_t)s->journal_size) < 0)
		s->journal_broken = true;
	*error = xasprintf("cannot write the journal '%s': %s", s->journal_path, strerror(err));
out:
	free(line);
	return rc;
}

int vf_state_journal_begin(struct vf_state *s, const struct vf_state_entry *e, char **error)
{
	json_t *r = record_new(s, "begin", e->address), *entry = json_object();

	json_object_set_new(r, "action", json_string(e->pending));
	if (e->pending_since)
		json_object_set_new(r, "since", json_string(e->pending_since));
	entry_format(entry, e);
	json_object_set_new(r, "entry", entry);
	vf_state_put(s, e);
	return journal_append(s, r, error);
}

int vf_state_journal_end(struct vf_state *s, const char *address, bool ok,
			 const struct vf_state_entry *e, char **error)
{
	json_t *r = record_new(s, "end", address), *entry = json_null();

	json_object_set_new(r, "result", json_string(ok ? "ok" : "failed"));
	if (e) {
		struct vf_state_entry done = *e;
		done.pending = NULL;
		done.pending_since = NULL;
		json_decref(entry);
		entry = json_object();
		entry_format(entry, &done);
		vf_state_put(s, &done);
	} else {
		vf_state_remove(s, address);
	}
	json_object_set_new(r, "entry", entry);
	return journal_append(s, r, error);
}

int vf_state_journal_sync(const struct vf_state *s, char **error)
{
	if (!s->journal_open || fdatasync(s->journal_fd) == 0)
		return 0;
	*error = xasprintf("cannot write the journal '%s': %s", s->journal_path, strerror(errno));
	return -1;
}

int vf_state_open(struct vf_state *s, const char *dir, double lock_timeout,
		  const char *command, char **error)
{
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	s->dir = xstrdup(dir);
	s->path = xasprintf("%s/state.json", dir);
	s->journal_path = xasprintf("%s/journal", dir);
	*error = vf_private_dir_check(dir, "the state directory", true);
	if (*error) {
		char *e = xasprintf("%s; or give another with --state-dir", *error);
		free(*error);
		*error = e;
		return -1;
	}
	if (lock_take(s, lock_timeout, command, error) < 0)
		return -1;
	if (state_read(s, error) < 0)
		return -1;
	return journal_replay(s, error);
}

int vf_state_save(struct vf_state *s, char **error)
{
	json_t *root = json_object(), *list = json_array();
	char *text = NULL, *body;
	size_t i;
	int rc = -1;

	s->serial++;
	json_object_set_new(root, "format_version", json_integer(VF_STATE_FORMAT_VERSION));
	if (s->project)
		json_object_set_new(root, "project", json_string(s->project));
	json_object_set_new(root, "serial", json_integer((json_int_t)s->serial));
	for (i = 0; i < s->n; i++) {
		const struct vf_state_entry *e = &s->entries[i];
		json_t *o = json_object();
		json_object_set_new(o, "address", json_string(e->address));
		entry_format(o, e);
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
	 * apply saves once before its first action and once after its last
	 * (each action in between costs a journal record) */
	text = xasprintf("%s\n", body);
	free(body);
	if (vf_write_file_atomic(s->path, text, strlen(text), 0600) < 0) {
		*error = xasprintf("cannot write the state '%s': %s", s->path, strerror(errno));
		goto out;
	}
	/* state.json first, then the journal it now holds: the rename is
	 * durable (the directory fsync'd) before the removal is */
	journal_remove(s);
	rc = 0;
out:
	if (rc < 0)
		s->serial--;    /* state.json keeps the serial the journal names */
	free(text);
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

	if (s->journal_open)
		close(s->journal_fd);   /* kept: the next open replays it */
	if (s->lock_fd >= 0)
		close(s->lock_fd);      /* releases the flock */
	VF_FREE_ARRAY(s->entries, s->n, entry_release);
	vf_strmap_release(&s->by_address);
	for (i = 0; i < s->n_dead_keys; i++)
		free(s->dead_keys[i]);
	VF_FREE_MANY(s->dead_keys, s->project, s->dir, s->path, s->journal_path);
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
}
