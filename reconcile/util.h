/*
 * util.h — small helpers shared by every part of virtform: checked
 * allocation, a bump arena, growable arrays and strings, edit distance, a
 * string map, FNV-1a hashing, writing a file whole or atomically, private
 * directories, escaping text for a terminal, a monotonic clock, waiting
 * for a lock and the yes/no prompt.
 *
 * Allocation failure is not recoverable in a CLI: the x* functions print
 * "virtform: out of memory" and exit(1) instead of returning NULL.
 */
#ifndef VF_UTIL_H
#define VF_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define VF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/*
 * Grow *array (of element size elem) so it can hold at least need elements;
 * *alloc holds the current capacity.  Doubling, so appends are amortized O(1).
 */
void vf_grow(void **array, size_t elem, size_t need, size_t *alloc);
#define VF_GROW(arr, need, alloc) vf_grow((void **)&(arr), sizeof(*(arr)), (need), &(alloc))

/*
 * A bump allocator: everything allocated from it is freed at once by
 * vf_arena_release().  The config model lives in one arena, so loading
 * 10,000 VMs costs a handful of mallocs and freeing it is O(blocks).
 * Memory returned is zeroed and 8-byte aligned (pointers, uint64_t; not
 * long double).  Not thread-safe.
 */
struct vf_arena_block;
struct vf_arena {
	struct vf_arena_block *head;
	size_t used;     /* bytes used in head */
	size_t total;    /* bytes handed out, for statistics */
};
#define VF_ARENA_INIT { NULL, 0, 0 }
void *vf_arena_alloc(struct vf_arena *a, size_t n);
char *vf_arena_strndup(struct vf_arena *a, const char *s, size_t n);
char *vf_arena_strdup(struct vf_arena *a, const char *s);
void vf_arena_release(struct vf_arena *a);
/*
 * Move every block of from into a, leaving from empty (and reusable):
 * what was allocated from from now lives as long as a.  Lets threads fill
 * arenas of their own and hand the result to one owner.  O(blocks of from).
 */
void vf_arena_merge(struct vf_arena *a, struct vf_arena *from);

/* Levenshtein distance between a and b, capped at max+1 (cheap reject). */
size_t vf_edit_distance(const char *a, const char *b, size_t max);

/*
 * The candidate nearest to word, or NULL when none is close enough to be a
 * plausible typo (distance <= max(1, strlen(word)/3), at most 3).
 */
const char *vf_nearest(const char *word, const char *const *candidates, size_t n);


/* FNV-1a (64 bits) of n bytes (see vf_hash_add below): the hash of
 * vf_strmap and of the YAML loader's key sets. */
uint64_t vf_hash_bytes(const void *data, size_t n);

/*
 * A string-keyed hash map (open addressing).  Keys are borrowed, not
 * copied: they must outlive the map.  Zero-initialize, free with
 * vf_strmap_release().
 */
struct vf_strmap_slot {
	const char *key;
	void *value;
};
struct vf_strmap {
	struct vf_strmap_slot *slots;
	size_t n, cap;
};
/* Insert key -> value unless key is present; returns the value now stored
 * under key (the old one if it was present). */
void *vf_strmap_put(struct vf_strmap *m, const char *key, void *value);
void *vf_strmap_get(const struct vf_strmap *m, const char *key);
/* Insert key -> value, or replace the value stored under key. */
void vf_strmap_set(struct vf_strmap *m, const char *key, void *value);
void vf_strmap_release(struct vf_strmap *m);

/*
 * Write all len bytes of buf to fd, again after EINTR and a short write.
 * 0, or -1 with errno set (nothing says how much was written then).
 */
int vf_write_all(int fd, const void *buf, size_t len);

/*
 * Writing a file atomically — the one way virtform replaces a file it
 * keeps (the state, host network records, saved plans, hooks):
 *
 *   vf_atomic_begin   a new temporary file beside path, at a name nobody can
 *                     guess (DIR/.NAME.XXXXXX), opened O_EXCL|O_NOFOLLOW|
 *                     O_CLOEXEC with mode: a file or symlink planted there
 *                     is never followed or truncated
 *   (write to a->fd)
 *   vf_atomic_commit  fsync, close, rename over path, fsync of the directory
 *   vf_atomic_abort   close and remove the temporary file
 *
 * commit and abort release a (they are safe on a released one).  A caller
 * that closed a->fd itself (an fdopen'd FILE, flushed and fsync'd) sets it
 * to -1 first.  0, or -1 with errno set: path is then untouched (unless
 * only the directory's fsync failed: then it is replaced, maybe not
 * durably).
 */
struct vf_atomic {
	char *path;
	char *tmp;      /* NULL once released */
	int fd;
};
int vf_atomic_begin(struct vf_atomic *a, const char *path, unsigned mode);
int vf_atomic_commit(struct vf_atomic *a);
void vf_atomic_abort(struct vf_atomic *a);
/* The whole of buf, as above.  0, or -1 with errno set. */
int vf_write_file_atomic(const char *path, const void *buf, size_t len, unsigned mode);
/* fsync a directory (a rename or create in it durable).  0, or -1 (errno). */
int vf_fsync_dir(const char *dir);

/*
 * A directory virtform keeps its own files in (the state directory, the
 * host network state directory, a git cache): made (mode 0700) when it is
 * missing and make is true, then refused — NULL returned, a malloc'd error
 * saying what to do — when it is not a directory, is owned by someone
 * other than this user (or root), or is writable by its group or by
 * others (who could plant files or symlinks in it).  what names it in
 * the error ("the state directory").
 */
char *vf_private_dir_check(const char *dir, const char *what, bool make);

/*
 * Text from users (names, paths, values, libvirt's answers) on its way to
 * a terminal or a log: every control character — C0 and DEL written as
 * \xNN (\t, \n and \r as such), C1 (U+0080..U+009F in UTF-8) as \uNNNN —
 * so that nothing a configuration says can move the cursor, change
 * colours or talk to the terminal.  Everything else passes as is; NULL is
 * "(none)".  vf_escape_text returns a malloc'd copy; vf_fputs_text prints.
 */
char *vf_escape_text(const char *s);
void vf_fputs_text(const char *s, FILE *out);
/* fmt formatted, the whole result escaped (so fmt holds no control
 * characters of its own: the caller prints its newline), printed. */
void vf_vfprintf_text(FILE *out, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * A growable string (git's strbuf is the model).  Invariants:
 *
 *   - buf is always a NUL-terminated string: "" (a shared, read-only
 *     empty string, alloc 0) until something is added, so it can be
 *     printed or compared at any time without a NULL check;
 *   - len is strlen(buf) for text (buf[len] is always the NUL; binary
 *     data may hold NULs before it);
 *   - alloc is what buf owns (0: it owns nothing, do not free or write).
 *
 * Start from VF_BUF_INIT (or vf_buf_init); vf_buf_release() frees and
 * resets it, vf_buf_detach() hands the malloc'd string over (never NULL)
 * and resets it.  Growth is doubling, so appends are amortized O(1);
 * allocation failure exits, as the x* functions do.
 *
 * A buffer made with vf_buf_init_secret() holds secrets: its storage is
 * sodium_malloc'd (locked, guarded, zeroed when freed, also when it
 * grows), and its content is handed over as a read-only vf_secret
 * (reconcile/secret.h: vf_secret_from_buf) rather than detached.  Locked
 * memory is limited (RLIMIT_MEMLOCK): when it runs out the buffer keeps
 * what it had, ignores further adds and sets failed, for the owner to
 * report.
 */
struct vf_buf {
	char *buf;
	size_t len;
	size_t alloc;
	bool secret;     /* storage from sodium_malloc */
	bool failed;     /* secret only: an add was dropped (no locked memory) */
};
extern char vf_buf_empty[];
#define VF_BUF_INIT { vf_buf_empty, 0, 0, false, false }
void vf_buf_init(struct vf_buf *b);
void vf_buf_init_secret(struct vf_buf *b);
/* Room for at least extra more bytes (and the NUL) without growing. */
void vf_buf_grow(struct vf_buf *b, size_t extra);
void vf_buf_add(struct vf_buf *b, const void *data, size_t n);
void vf_buf_adds(struct vf_buf *b, const char *s);
void vf_buf_addch(struct vf_buf *b, char c);
void vf_buf_addf(struct vf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vf_buf_vaddf(struct vf_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* sep, unless b is still empty, then s: "a, b, c" from a loop. */
void vf_buf_addsep(struct vf_buf *b, const char *sep, const char *s);
/* Cut to len bytes (len <= b->len). */
void vf_buf_setlen(struct vf_buf *b, size_t len);
/* Drop trailing white space (' ', \t, \r, \n). */
void vf_buf_rtrim(struct vf_buf *b);
/* The string, now the caller's to free(); b is reset.  Not for secret buffers. */
char *vf_buf_detach(struct vf_buf *b);
void vf_buf_release(struct vf_buf *b);

/* FNV-1a, 64 bits, fed piece by piece: h = vf_hash_add(VF_HASH_INIT, ...);
 * vf_hash_bytes(d, n) is vf_hash_add(VF_HASH_INIT, d, n).  A change
 * detector and a hash-table hash, not for anything an attacker must not
 * collide. */
#define VF_HASH_INIT 14695981039346656037ull
uint64_t vf_hash_add(uint64_t h, const void *data, size_t n);
/* s with its terminating NUL (so "ab","c" and "a","bc" differ). */
uint64_t vf_hash_str(uint64_t h, const char *s);

/* Seconds on CLOCK_MONOTONIC (immune to wall-clock jumps): for deadlines
 * and durations, never for dates. */
double vf_now(void);

/*
 * flock(fd, LOCK_EX), waiting up to timeout seconds (0: try once), polling
 * every 50 ms.  0, or -1 with errno set: EWOULDBLOCK when the time ran
 * out (someone else holds it), another errno when flock itself failed.
 */
int vf_flock_wait(int fd, double timeout);

/*
 * Ask a yes/no question on out ("\nQUESTION (yes/no) ") and read the
 * answer from stdin: true only for the word "yes" (anything else, or the
 * end of input, is no).  The one prompt every command that asks uses.
 */
bool vf_confirm(FILE *out, const char *question);

/* ---- growing, freeing many pointers and arrays, finding by name ------- */

/*
 * One more element at the end of arr, whose count is n and capacity alloc
 * (as VF_GROW): grows it, counts the new element in n and returns it,
 * zeroed.  The pointer holds until the array next grows (it may move).
 *
 *   a = VF_APPEND(plan->actions, plan->n_actions, plan->alloc_actions);
 */
static inline void *vf_append(void **array, size_t elem, size_t *n, size_t *alloc)
{
	char *slot;

	vf_grow(array, elem, *n + 1, alloc);
	slot = (char *)*array + *n * elem;
	(*n)++;
	memset(slot, 0, elem);
	return slot;
}
#define VF_APPEND(arr, n, alloc) \
	((__typeof__(&(arr)[0]))vf_append((void **)&(arr), sizeof(*(arr)), &(n), &(alloc)))

/*
 * free() each of the n pointers in p (NULL ones too, as free does), as
 * systemd's free_many: a struct's release that frees its strings says
 * VF_FREE_MANY(e->name, e->host, e->uuid), which counts them.
 */
void vf_free_many(void *const *p, size_t n);
#define VF_FREE_MANY(...)                                                    \
	vf_free_many((void *const[]){ __VA_ARGS__ },                         \
		     sizeof((void *const[]){ __VA_ARGS__ }) / sizeof(void *))

/*
 * Free an array of n records that own memory: release_one on each (given
 * a pointer to it: the record type's own _release), then arr itself.
 *   VF_FREE_ARRAY(s->entries, s->n, entry_release);
 */
#define VF_FREE_ARRAY(arr, n, release_one) do {                               \
	for (size_t vf_i_ = 0; vf_i_ < (n); vf_i_++)                          \
		release_one(&(arr)[vf_i_]);                                   \
	free(arr);                                                            \
} while (0)

/* Is s one of the n strings of v (strcmp)?  The lookup of a short list. */
bool vf_str_in(const char *const *v, size_t n, const char *s);

/*
 * The first of the n elements of array arr whose string member field
 * equals key (strcmp), as a pointer to arr's element type; NULL when none.
 * The linear lookup of a short list (a host's links, the hosts of a run):
 *   return VF_FIND_BY(list->links, list->n, name, name);
 * A GNU C statement expression (the caller includes <string.h>); arr and
 * key are evaluated once per element.
 */
#define VF_FIND_BY(arr, n, field, key) ({                                     \
	__typeof__((arr)[0]) *vf_found_ = NULL;                                \
	for (size_t vf_i_ = 0; !vf_found_ && vf_i_ < (n); vf_i_++)            \
		if (!strcmp((arr)[vf_i_].field, (key)))                      \
			vf_found_ = &(arr)[vf_i_];                           \
	vf_found_;                                                            \
})

/*
 * s as one word for sh, appended to b: always in single quotes, a ' in it
 * written '\'' (it's -> 'it'\''s', "" -> ''), so nothing in s is expanded
 * or splits it, whatever it holds.  The one quoting of the command lines
 * virtform writes (git hooks) and suggests (messages).
 */
void vf_buf_add_shell_quoted(struct vf_buf *b, const char *s);
#endif
