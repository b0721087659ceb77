/*
 * util.h — small helpers shared by every part of virtform: checked
 * allocation, a bump arena, growable arrays, edit distance, a string map
 * and writing a whole buffer.
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


/* FNV-1a (64 bits) of n bytes: the hash of vf_strmap and of the YAML
 * loader's key sets; not for anything an attacker must not collide. */
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
#endif
