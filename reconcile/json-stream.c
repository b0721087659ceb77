/*
 * json-stream.c — write and read large JSON documents one value at a time
 * (json-stream.h).
 *
 * Only structure is written or read here: braces, brackets, commas,
 * colons, white space.  Member names and values go through jansson
 * (json_dump_callback, json_load_callback), which escapes and unescapes
 * every string.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reconcile/json-stream.h"
#include "reconcile/util.h"

#define DUMP_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)
#define LINE_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)
#define WINDOW (64 * 1024)

/* ---- writing -------------------------------------------------------------- */

void vf_jsonw_init(struct vf_jsonw *w, FILE *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
}

/* jansson hands over a value a token at a time: gathered here, written
 * to the stream in blocks. */
static void flush(struct vf_jsonw *w)
{
	if (w->len && fwrite(w->buf, 1, w->len, w->out) != w->len)
		w->failed = true;
	w->len = 0;
}

static void put(struct vf_jsonw *w, const char *s, size_t n)
{
	if (w->len + n > sizeof(w->buf)) {
		flush(w);
		if (n > sizeof(w->buf)) {
			if (fwrite(s, 1, n, w->out) != n)
				w->failed = true;
			return;
		}
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void put_char(struct vf_jsonw *w, char c)
{
	put(w, &c, 1);
}

static void indent(struct vf_jsonw *w, int depth)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)depth * 2;

	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		put(w, spaces, k);
		n -= k;
	}
}

/* What jansson writes between a container's members, before the next. */
static void separate(struct vf_jsonw *w)
{
	if (!w->depth)
		return;
	if (w->filled[w->depth - 1])
		put_char(w, ',');
	w->filled[w->depth - 1] = true;
	put_char(w, '\n');
	indent(w, w->depth);
}

/* jansson's output of a value nested w->depth levels deep: each of its
 * line breaks (never inside a string: jansson escapes those) followed by
 * the indentation of that depth. */
static int reindent(const char *buffer, size_t size, void *data)
{
	struct vf_jsonw *w = data;
	const char *nl;

	while (size && (nl = memchr(buffer, '\n', size))) {
		size_t n = (size_t)(nl - buffer) + 1;
		put(w, buffer, n);
		indent(w, w->depth);
		buffer += n;
		size -= n;
	}
	put(w, buffer, size);
	return 0;
}

static void dump(struct vf_jsonw *w, json_t *v, size_t flags)
{
	if (!v || json_dump_callback(v, reindent, w, flags) < 0)
		w->failed = true;
	json_decref(v);
	if (!w->depth)   /* the document is whole: the caller may write next */
		flush(w);
}

/* The separator, then "key": for a member. */
static void member(struct vf_jsonw *w, const char *key)
{
	separate(w);
	if (key) {
		dump(w, json_string(key), DUMP_FLAGS);
		put(w, ": ", 2);
	}
}

static void open_container(struct vf_jsonw *w, const char *key, char open, char close)
{
	member(w, key);
	put_char(w, open);
	if (w->depth >= VF_JSON_DEPTH) {
		w->failed = true;
		return;
	}
	w->close[w->depth] = close;
	w->filled[w->depth] = false;
	w->depth++;
}

void vf_jsonw_object(struct vf_jsonw *w, const char *key)
{
	open_container(w, key, '{', '}');
}

void vf_jsonw_array(struct vf_jsonw *w, const char *key)
{
	open_container(w, key, '[', ']');
}

void vf_jsonw_end(struct vf_jsonw *w)
{
	if (!w->depth) {
		w->failed = true;
		return;
	}
	w->depth--;
	if (w->filled[w->depth]) {   /* an empty one is "[]" or "{}" */
		put_char(w, '\n');
		indent(w, w->depth);
	}
	put_char(w, w->close[w->depth]);
	if (!w->depth)
		flush(w);
}

void vf_jsonw_value(struct vf_jsonw *w, const char *key, json_t *value)
{
	member(w, key);
	dump(w, value, DUMP_FLAGS);
}

void vf_jsonw_line(struct vf_jsonw *w, const char *key, json_t *value)
{
	member(w, key);
	dump(w, value, LINE_FLAGS);
}

int vf_jsonw_finish(struct vf_jsonw *w)
{
	flush(w);
	return w->failed || w->depth || ferror(w->out) ? -1 : 0;
}

/* ---- reading -------------------------------------------------------------- */

void vf_jsonr_init(struct vf_jsonr *r, int fd, off_t off)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->off = off;
	r->buf = xmalloc(WINDOW);
}

void vf_jsonr_release(struct vf_jsonr *r)
{
	free(r->buf);
	free(r->key);
	r->buf = r->key = NULL;
}

/* Make the window hold the byte at off; 1, 0 at the end of the file, -1
 * on a read error (errno). */
static int window(struct vf_jsonr *r, off_t off)
{
	ssize_t n;

	if (off >= r->buf_off && off < r->buf_off + (off_t)r->buf_len)
		return 1;
	do
		n = pread(r->fd, r->buf, WINDOW, off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	r->buf_off = off;
	r->buf_len = (size_t)n;
	return n > 0;
}

/* Where the byte at offset at is, as jansson counts: the lines and the
 * characters (UTF-8 sequences) before it on its line. */
static void position(struct vf_jsonr *r, off_t at, int *line, int *column)
{
	off_t o;

	*line = 1;
	*column = 0;
	for (o = 0; o < at && window(r, o) > 0; o++) {
		unsigned char c = (unsigned char)r->buf[o - r->buf_off];
		if (c == '\n') {
			(*line)++;
			*column = 0;
		} else if ((c & 0xc0) != 0x80) {
			(*column)++;
		}
	}
}

/* The first error: at is the offset just after what was wrong. */
static void fail_at(struct vf_jsonr *r, off_t at, const char *text)
{
	if (r->failed)
		return;
	r->failed = true;
	snprintf(r->err_text, sizeof(r->err_text), "%s", text);
	position(r, at, &r->err_line, &r->err_column);
}

void vf_jsonr_fail(struct vf_jsonr *r, const char *text)
{
	fail_at(r, r->off, text);
}

void vf_jsonr_fail_key(struct vf_jsonr *r, const char *text)
{
	char *near = xasprintf("%s near '\"%s\"'", text, r->key ? r->key : "");

	fail_at(r, r->key_end, near);
	free(near);
}

/* The byte at r->off after white space, not read; EOF at the end. */
static int peek(struct vf_jsonr *r)
{
	int w;

	if (r->failed)
		return EOF;
	for (;;) {
		w = window(r, r->off);
		if (w < 0) {
			fail_at(r, r->off, strerror(errno));
			return EOF;
		}
		if (!w)
			return EOF;
		switch (r->buf[r->off - r->buf_off]) {
		case ' ': case '\t': case '\n': case '\r':
			r->off++;
			continue;
		default:
			return (unsigned char)r->buf[r->off - r->buf_off];
		}
	}
}

int vf_jsonr_peek(struct vf_jsonr *r)
{
	return peek(r);
}

off_t vf_jsonr_tell(struct vf_jsonr *r)
{
	peek(r);
	return r->off;
}

static void unexpected(struct vf_jsonr *r, int c, const char *what)
{
	char text[64];

	if (r->failed)
		return;
	if (c == EOF) {
		snprintf(text, sizeof(text), "unexpected end of file, %s expected", what);
		fail_at(r, r->off, text);
	} else {
		snprintf(text, sizeof(text), "%s expected near '%c'", what, c);
		fail_at(r, r->off + 1, text);
	}
}

int vf_jsonr_enter(struct vf_jsonr *r)
{
	int c = peek(r);

	if (c != '{' && c != '[') {
		unexpected(r, c, "'{' or '['");
		return -1;
	}
	if (r->depth >= VF_JSON_DEPTH) {
		fail_at(r, r->off + 1, "too deeply nested");
		return -1;
	}
	r->off++;
	r->close[r->depth] = c == '{' ? '}' : ']';
	r->first[r->depth] = true;
	r->depth++;
	return 0;
}

/* jansson's parser reads through this, from r->feed on. */
static size_t feed(void *buffer, size_t size, void *data)
{
	struct vf_jsonr *r = data;
	size_t n;
	int w = window(r, r->feed);

	if (w <= 0)
		return w < 0 ? (size_t)-1 : 0;
	n = (size_t)(r->buf_off + (off_t)r->buf_len - r->feed);
	if (n > size)
		n = size;
	memcpy(buffer, r->buf + (r->feed - r->buf_off), n);
	r->feed += (off_t)n;
	return n;
}

json_t *vf_jsonr_value(struct vf_jsonr *r, size_t flags)
{
	json_error_t je;
	json_t *v;
	int c = peek(r);

	if (c == EOF) {
		unexpected(r, c, "a value");
		return NULL;
	}
	/* jansson reads ahead (in blocks, and a character after a number);
	 * the position it reports is where the value ends */
	r->feed = r->off;
	v = json_load_callback(feed, r, flags | JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &je);
	if (!v) {
		fail_at(r, r->off + je.position, je.text);
		return NULL;
	}
	r->off += je.position;
	return v;
}

int vf_jsonr_next(struct vf_jsonr *r)
{
	int c = peek(r), d = r->depth - 1;
	bool object;
	json_t *key;

	if (r->failed || d < 0)
		return -1;
	object = r->close[d] == '}';
	if (c == r->close[d]) {
		r->off++;
		r->depth--;
		return 0;
	}
	if (!r->first[d]) {
		if (c != ',') {
			unexpected(r, c, object ? "',' or '}'" : "',' or ']'");
			return -1;
		}
		r->off++;
		c = peek(r);
	}
	r->first[d] = false;
	if (!object)
		return c == EOF ? (unexpected(r, c, "a value"), -1) : 1;
	if (c != '"') {
		unexpected(r, c, "string (a member name)");
		return -1;
	}
	key = vf_jsonr_value(r, 0);
	if (!key)
		return -1;
	free(r->key);
	r->key = xstrdup(json_string_value(key));
	r->key_end = r->off;
	json_decref(key);
	c = peek(r);
	if (c != ':') {
		unexpected(r, c, "':'");
		return -1;
	}
	r->off++;
	return 1;
}

int vf_jsonr_skip(struct vf_jsonr *r)
{
	int c = peek(r), more;

	/* deeper than the reader nests: the value, whole */
	if ((c == '{' || c == '[') && r->depth < VF_JSON_DEPTH) {
		int depth = r->depth;
		if (vf_jsonr_enter(r) < 0)
			return -1;
		while ((more = vf_jsonr_next(r)) > 0)
			if (vf_jsonr_skip(r) < 0)
				return -1;
		return more < 0 || r->depth != depth ? -1 : 0;
	}
	json_decref(vf_jsonr_value(r, 0));
	return r->failed ? -1 : 0;
}

int vf_jsonr_finish(struct vf_jsonr *r)
{
	int c = peek(r);

	if (r->failed)
		return -1;
	if (c != EOF) {
		char text[64];
		snprintf(text, sizeof(text), "end of file expected near '%c'", c);
		fail_at(r, r->off + 1, text);
		return -1;
	}
	return 0;
}

/* ---- small helpers for jansson trees ---------------------------------------- */

const char *vf_json_str(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *vf_json_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}
