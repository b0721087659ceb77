/*
 * json-stream.h — JSON documents too large to hold as one jansson tree,
 * written and read one piece at a time.
 *
 * A jansson value costs a few hundred bytes: a plan of 30,000 changes is
 * 250 MiB as one tree, 64 MB as text.  The writer emits a document's
 * structure (the braces, brackets, commas and member names of its outer
 * levels) and hands every value to jansson, one at a time; the reader
 * walks the outer levels the same way and hands every value to jansson's
 * parser.  So at most one value (one plan change) is a jansson tree at a
 * time, and every string is escaped and unescaped by jansson, never here.
 *
 * The writer's output is byte for byte what json_dumpf() of the whole
 * tree prints with JSON_INDENT(2) | JSON_PRESERVE_ORDER: values nested
 * in it are re-indented.  vf_jsonw_line() writes one value compact on a
 * line of its own instead (long lists nobody reads).
 *
 * Last, two helpers every jansson reader and writer here uses.
 *
 * Neither is thread-safe; nesting is limited to VF_JSON_DEPTH levels of
 * streamed containers (the values inside them may nest as deep as jansson
 * allows).
 */
#ifndef VF_JSON_STREAM_H
#define VF_JSON_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#define VF_JSON_DEPTH 8

/* ---- writing -------------------------------------------------------------- */

struct vf_jsonw {
	FILE *out;                       /* borrowed; written to in blocks,
					  * whole when the document is */
	char buf[4096];
	size_t len;
	int depth;                       /* containers open */
	char close[VF_JSON_DEPTH];       /* '}' or ']' for each */
	bool filled[VF_JSON_DEPTH];      /* it has a member already */
	bool failed;                     /* a value could not be encoded, or
					  * nesting went too deep */
};

void vf_jsonw_init(struct vf_jsonw *w, FILE *out);
/* Open an object or array: a member named key of the object open, or
 * (key NULL) an element of the array open, or the document itself. */
void vf_jsonw_object(struct vf_jsonw *w, const char *key);
void vf_jsonw_array(struct vf_jsonw *w, const char *key);
/* Close the innermost container open. */
void vf_jsonw_end(struct vf_jsonw *w);
/* Write value (taken: decref'd here; NULL marks the writer failed) as a
 * member named key, or an element when key is NULL.  _line: compact, on
 * a line of its own. */
void vf_jsonw_value(struct vf_jsonw *w, const char *key, json_t *value);
void vf_jsonw_line(struct vf_jsonw *w, const char *key, json_t *value);
/* 0 when the document is complete and every write went through (the
 * stream itself is not flushed), -1 otherwise. */
int vf_jsonw_finish(struct vf_jsonw *w);

/* ---- reading -------------------------------------------------------------- */

/*
 * Reads a regular file through its descriptor with pread(), so several
 * readers may walk one descriptor at once.  The first error sticks: every
 * later call fails, and err_* say where (as jansson counts: line from 1,
 * column in characters from 1) and what.
 */
struct vf_jsonr {
	int fd;                          /* borrowed */
	off_t off;                       /* the next byte to read */
	char *buf;                       /* a window on the file */
	off_t buf_off;
	size_t buf_len;
	off_t feed;                      /* what jansson's parser reads next */
	int depth;
	char close[VF_JSON_DEPTH];
	bool first[VF_JSON_DEPTH];       /* nothing read in it yet */
	char *key;                       /* the member vf_jsonr_next() read */
	off_t key_end;                   /* where its name ends */
	bool failed;
	int err_line, err_column;
	char err_text[JSON_ERROR_TEXT_LENGTH];
};

/* A reader of fd from offset off (0: the start of the document). */
void vf_jsonr_init(struct vf_jsonr *r, int fd, off_t off);
void vf_jsonr_release(struct vf_jsonr *r);
/* The next value's first character ('{', '[', '"', ...), without reading
 * it; EOF at the end of the file or after an error. */
int vf_jsonr_peek(struct vf_jsonr *r);
/* The offset of the next value (after white space). */
off_t vf_jsonr_tell(struct vf_jsonr *r);
/* Enter the object or array that comes next.  0, or -1 (not one). */
int vf_jsonr_enter(struct vf_jsonr *r);
/* In the container entered last: 1 when another member (its name in
 * r->key) or element follows, 0 at its end (it is left), -1 on error. */
int vf_jsonr_next(struct vf_jsonr *r);
/* The next value, whole (jansson's flags, e.g. JSON_REJECT_DUPLICATES,
 * may be added); NULL on error.  Skip: read it and drop it, walking
 * objects and arrays so that memory stays bounded. */
json_t *vf_jsonr_value(struct vf_jsonr *r, size_t flags);
int vf_jsonr_skip(struct vf_jsonr *r);
/* After the document: only white space may follow.  0 or -1. */
int vf_jsonr_finish(struct vf_jsonr *r);
/* Fail with text where the reader is, or at the member name read last
 * (e.g. "duplicate object key"): a semantic error reported as a place. */
void vf_jsonr_fail(struct vf_jsonr *r, const char *text);
void vf_jsonr_fail_key(struct vf_jsonr *r, const char *text);

/* ---- small helpers for jansson trees ---------------------------------------- */

/* o's member key when it is a string, else NULL (absent, null, another
 * type, or o not an object). */
const char *vf_json_str(const json_t *o, const char *key);
/* A new reference: json_string(s), or json_null() for NULL. */
json_t *vf_json_str_or_null(const char *s);

#endif
