/*
 * util.c — checked allocation, the arena, growable arrays and strings,
 * edit distance, hashing, writing files atomically, private directories,
 * escaping text for a terminal, the monotonic clock, lock waits and the
 * yes/no prompt (util.h documents each).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "reconcile/util.h"

static void oom(void)
{
	fputs("virtform: out of memory\n", stderr);
	exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void vf_grow(void **array, size_t elem, size_t need, size_t *alloc)
{
	size_t n;
	if (need <= *alloc)
		return;
	n = *alloc ? *alloc : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			oom();
		n *= 2;
	}
	*array = xrealloc(*array, n * elem);
	memset((char *)*array + *alloc * elem, 0, (n - *alloc) * elem);
	*alloc = n;
}

/* Arena: a list of blocks, newest first.  Large requests get their own
 * block so a 1 MiB scalar does not waste the rest of a standard block.
 * Blocks are malloc'd, not calloc'd, and each allocation is zeroed as it
 * is handed out: an arena that holds a few fields (a spec hash, one
 * parse) must not pay for clearing 64 KiB. */
#define ARENA_BLOCK (64u * 1024)
#define ARENA_ALIGN 8u     /* enough for every type the model stores */

struct vf_arena_block {
	struct vf_arena_block *next;
	size_t size;
	_Alignas(16) unsigned char data[];
};

void *vf_arena_alloc(struct vf_arena *a, size_t n)
{
	struct vf_arena_block *b;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (need < n)
		oom();
	a->total += need;
	if (a->head && a->head->size - a->used >= need) {
		void *p = a->head->data + a->used;
		a->used += need;
		return memset(p, 0, need);
	}
	if (need > ARENA_BLOCK / 4) {
		/* A dedicated block behind the head, so the head keeps its room. */
		b = xcalloc(1, sizeof(*b) + need);
		b->size = need;
		if (a->head) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = NULL;
			a->head = b;
			a->used = need;
		}
		return b->data;
	}
	b = xmalloc(sizeof(*b) + ARENA_BLOCK);
	b->size = ARENA_BLOCK;
	b->next = a->head;
	a->head = b;
	a->used = need;
	return memset(b->data, 0, need);
}

char *vf_arena_strndup(struct vf_arena *a, const char *s, size_t n)
{
	char *p = vf_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *vf_arena_strdup(struct vf_arena *a, const char *s)
{
	return vf_arena_strndup(a, s, strlen(s));
}

void vf_arena_release(struct vf_arena *a)
{
	struct vf_arena_block *b = a->head, *next;
	for (; b; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
	a->used = 0;
	a->total = 0;
}

void vf_arena_merge(struct vf_arena *a, struct vf_arena *from)
{
	struct vf_arena_block *tail;

	if (!from->head)
		return;
	if (!a->head) {
		*a = *from;
	} else {
		/* behind a's head, which stays the block a bumps from */
		for (tail = from->head; tail->next; tail = tail->next)
			;
		tail->next = a->head->next;
		a->head->next = from->head;
		a->total += from->total;
	}
	from->head = NULL;
	from->used = 0;
	from->total = 0;
}

size_t vf_edit_distance(const char *a, const char *b, size_t max)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t *row, result;

	if ((la > lb ? la - lb : lb - la) > max)
		return max + 1;
	if (la > 64 || lb > 64)
		return max + 1;
	row = xmalloc((lb + 1) * sizeof(*row));
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	result = row[lb];
	free(row);
	return result > max ? max + 1 : result;
}

const char *vf_nearest(const char *word, const char *const *candidates, size_t n)
{
	size_t max = strlen(word) / 3, best_d, i;
	const char *best = NULL;

	if (max < 1)
		max = 1;
	if (max > 3)
		max = 3;
	best_d = max + 1;
	for (i = 0; i < n; i++) {
		size_t d = vf_edit_distance(word, candidates[i], max);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}

uint64_t vf_hash_bytes(const void *data, size_t n)
{
	return vf_hash_add(VF_HASH_INIT, data, n);
}

static uint64_t str_hash(const char *s)
{
	return vf_hash_bytes(s, strlen(s));
}

static void strmap_resize(struct vf_strmap *m, size_t cap)
{
	struct vf_strmap_slot *old = m->slots;
	size_t old_cap = m->cap, i;

	m->slots = xcalloc(cap, sizeof(*m->slots));
	m->cap = cap;
	m->n = 0;
	for (i = 0; i < old_cap; i++)
		if (old[i].key)
			vf_strmap_put(m, old[i].key, old[i].value);
	free(old);
}

void *vf_strmap_put(struct vf_strmap *m, const char *key, void *value)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		strmap_resize(m, m->cap ? m->cap * 2 : 16);
	for (i = str_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slots[i].key) {
			m->slots[i].key = key;
			m->slots[i].value = value;
			m->n++;
			return value;
		}
		if (!strcmp(m->slots[i].key, key))
			return m->slots[i].value;
	}
}

void vf_strmap_set(struct vf_strmap *m, const char *key, void *value)
{
	size_t i;

	if (!m->cap) {
		vf_strmap_put(m, key, value);
		return;
	}
	for (i = str_hash(key) & (m->cap - 1); m->slots[i].key; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->slots[i].key, key)) {
			m->slots[i].value = value;
			return;
		}
	vf_strmap_put(m, key, value);
}

void *vf_strmap_get(const struct vf_strmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = str_hash(key) & (m->cap - 1); m->slots[i].key; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->slots[i].key, key))
			return m->slots[i].value;
	return NULL;
}

void vf_strmap_release(struct vf_strmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

int vf_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* ---- files ---------------------------------------------------------------- */

int vf_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, e;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* path's directory, malloc'd ("." for a bare name). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int vf_atomic_begin(struct vf_atomic *a, const char *path, unsigned mode)
{
	const char *slash = strrchr(path, '/');
	char *dir = dir_of(path);
	int e;

	a->path = xstrdup(path);
	a->tmp = xasprintf("%s/.%s.XXXXXX", dir, slash ? slash + 1 : path);
	free(dir);
	/* mkostemp opens O_CREAT|O_EXCL (it never follows a symlink there),
	 * mode 0600, and passes O_NOFOLLOW and O_CLOEXEC on */
	a->fd = mkostemp(a->tmp, O_CLOEXEC | O_NOFOLLOW);
	if (a->fd < 0)
		goto fail;
	if (fchmod(a->fd, (mode_t)mode) < 0) {
		e = errno;
		vf_atomic_abort(a);
		errno = e;
		return -1;
	}
	return 0;
fail:
	e = errno;
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	errno = e;
	return -1;
}

void vf_atomic_abort(struct vf_atomic *a)
{
	int e = errno;

	if (a->fd >= 0)
		close(a->fd);
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	a->fd = -1;
	errno = e;
}

int vf_atomic_commit(struct vf_atomic *a)
{
	char *dir;
	int rc, e;

	if (!a->tmp) {
		errno = EINVAL;
		return -1;
	}
	if (a->fd >= 0) {
		if (fsync(a->fd) < 0)
			goto fail;
		rc = close(a->fd);
		a->fd = -1;
		if (rc < 0)
			goto fail;
	}
	if (rename(a->tmp, a->path) < 0)
		goto fail;
	dir = dir_of(a->path);
	rc = vf_fsync_dir(dir);
	e = errno;
	free(dir);
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	errno = e;
	return rc;
fail:
	vf_atomic_abort(a);   /* keeps errno */
	return -1;
}

int vf_write_file_atomic(const char *path, const void *buf, size_t len, unsigned mode)
{
	struct vf_atomic a;

	if (vf_atomic_begin(&a, path, mode) < 0)
		return -1;
	if (vf_write_all(a.fd, buf, len) < 0) {
		vf_atomic_abort(&a);
		return -1;
	}
	return vf_atomic_commit(&a);
}

char *vf_private_dir_check(const char *dir, const char *what, bool make)
{
	struct stat st;
	uid_t me = geteuid();

	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || !make)
			return xasprintf("cannot use %s '%s': %s", what, dir, strerror(errno));
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return xasprintf("cannot create %s '%s': %s", what, dir, strerror(errno));
		if (stat(dir, &st) < 0)
			return xasprintf("cannot use %s '%s': %s", what, dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return xasprintf("%s '%s' is not a directory", what, dir);
	if (st.st_uid != me && st.st_uid != 0)
		return xasprintf("%s '%s' belongs to uid %u, not to you (uid %u): its owner could "
				 "change what virtform reads and writes there; use a directory of "
				 "your own (or chown it)", what, dir, (unsigned)st.st_uid,
				 (unsigned)me);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return xasprintf("%s '%s' is writable by %s (mode %04o): they could plant files "
				 "or symlinks where virtform writes; chmod go-w '%s'", what, dir,
				 (st.st_mode & S_IWGRP) && (st.st_mode & S_IWOTH) ? "its group and "
				 "others" : st.st_mode & S_IWGRP ? "its group" : "others",
				 (unsigned)(st.st_mode & 07777), dir);
	return NULL;
}

/* ---- text for a terminal --------------------------------------------------- */

/* The length of the UTF-8 C1 control (C2 80..C2 9F) at s, or 0. */
static int c1_at(const unsigned char *s)
{
	return s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f ? 2 : 0;
}

static bool control_at(const unsigned char *s)
{
	return *s < 0x20 || *s == 0x7f || c1_at(s);
}

char *vf_escape_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, k = 0;
	char *out;

	if (!s)
		return xstrdup("(none)");
	for (; *p; p++)
		n += control_at(p) ? 8 : 1;
	out = xmalloc(n + 1);
	for (p = (const unsigned char *)s; *p; p++) {
		if (c1_at(p)) {
			k += (size_t)sprintf(out + k, "\\u%04x", p[1]);
			p++;
		} else if (*p == '\t' || *p == '\n' || *p == '\r') {
			out[k++] = '\\';
			out[k++] = *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r';
		} else if (control_at(p)) {
			k += (size_t)sprintf(out + k, "\\x%02x", *p);
		} else {
			out[k++] = (char)*p;
		}
	}
	out[k] = '\0';
	return out;
}

void vf_fputs_text(const char *s, FILE *out)
{
	char *e = vf_escape_text(s);

	fputs(e, out);
	free(e);
}

void vf_vfprintf_text(FILE *out, const char *fmt, va_list ap)
{
	char *text = xvasprintf(fmt, ap);

	vf_fputs_text(text, out);
	free(text);
}

/* ---- growable strings ----------------------------------------------------- */

char vf_buf_empty[1];

void vf_buf_init(struct vf_buf *b)
{
	*b = (struct vf_buf)VF_BUF_INIT;
}

void vf_buf_init_secret(struct vf_buf *b)
{
	vf_buf_init(b);
	b->secret = true;
}

static void buf_free_storage(struct vf_buf *b)
{
	if (!b->alloc)
		return;
	if (b->secret)
		sodium_free(b->buf);            /* zeroes it */
	else
		free(b->buf);
}

void vf_buf_grow(struct vf_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1) {
		fputs("virtform: out of memory\n", stderr);
		exit(1);
	}
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return;
	cap = b->alloc ? b->alloc : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (!b->secret) {
		p = b->alloc ? xrealloc(b->buf, cap) : xmalloc(cap);
		if (!b->alloc)
			p[0] = '\0';
		b->buf = p;
		b->alloc = cap;
		return;
	}
	/* Secret: a new locked block, the old one zeroed and freed.
	 * sodium_init() is idempotent and thread-safe. */
	p = sodium_init() < 0 ? NULL : sodium_malloc(cap);
	if (!p) {
		b->failed = true;
		return;
	}
	memcpy(p, b->buf, b->len + 1);
	buf_free_storage(b);
	b->buf = p;
	b->alloc = cap;
}

void vf_buf_add(struct vf_buf *b, const void *data, size_t n)
{
	if (b->failed)
		return;
	vf_buf_grow(b, n);
	if (b->failed)
		return;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void vf_buf_adds(struct vf_buf *b, const char *s)
{
	vf_buf_add(b, s, strlen(s));
}

void vf_buf_addch(struct vf_buf *b, char c)
{
	vf_buf_add(b, &c, 1);
}

void vf_buf_vaddf(struct vf_buf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		vf_buf_add(b, small, (size_t)n);
		explicit_bzero(small, sizeof(small));   /* may have held a secret */
		return;
	}
	vf_buf_grow(b, (size_t)n);
	if (b->failed)
		return;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void vf_buf_addf(struct vf_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vf_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void vf_buf_addsep(struct vf_buf *b, const char *sep, const char *s)
{
	if (b->len)
		vf_buf_adds(b, sep);
	vf_buf_adds(b, s);
}

void vf_buf_setlen(struct vf_buf *b, size_t len)
{
	if (len > b->len || !b->alloc)
		return;
	b->len = len;
	b->buf[len] = '\0';
}

void vf_buf_rtrim(struct vf_buf *b)
{
	size_t n = b->len;

	while (n && strchr(" \t\r\n", b->buf[n - 1]))
		n--;
	vf_buf_setlen(b, n);
}

char *vf_buf_detach(struct vf_buf *b)
{
	char *s = b->alloc ? b->buf : xstrdup("");

	vf_buf_init(b);
	return s;
}

void vf_buf_release(struct vf_buf *b)
{
	bool secret = b->secret;

	buf_free_storage(b);
	vf_buf_init(b);
	b->secret = secret;
}

/* ---- hashing, time, locks, prompts ---------------------------------------- */

uint64_t vf_hash_add(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

uint64_t vf_hash_str(uint64_t h, const char *s)
{
	return vf_hash_add(h, s, strlen(s) + 1);
}

double vf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int vf_flock_wait(int fd, double timeout)
{
	const struct timespec step = { 0, 50 * 1000 * 1000 };
	double deadline = vf_now() + timeout;

	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (vf_now() >= deadline) {
			errno = EWOULDBLOCK;
			return -1;
		}
		nanosleep(&step, NULL);
	}
	return 0;
}

bool vf_confirm(FILE *out, const char *question)
{
	char line[64];

	fprintf(out, "\n%s (yes/no) ", question);
	fflush(out);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return !strcmp(line, "yes");
}

/* ---- freeing many pointers ----------------------------------------------- */

void vf_free_many(void *const *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(p[i]);
}

void vf_buf_add_shell_quoted(struct vf_buf *b, const char *s)
{
	vf_buf_addch(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			vf_buf_adds(b, "'\\''");
		else
			vf_buf_addch(b, *s);
	}
	vf_buf_addch(b, '\'');
}

bool vf_str_in(const char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}
