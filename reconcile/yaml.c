/*
 * yaml.c — build a positioned node tree from libyaml events (see yaml.h).
 *
 * The builder keeps one stack of open collections and one shared vector of
 * pending children: a collection's children are the tail of that vector
 * from the index where it opened, copied into the arena when it closes.
 * No recursion anywhere, so nesting depth costs no C stack.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "reconcile/yaml.h"

struct anchor {
	const char *name;
	struct vf_node *node;
	size_t weight;            /* nodes reachable from node, aliases expanded */
};

struct frame {
	struct vf_node *node;     /* the open collection */
	size_t first;             /* its first child in b->pending */
	const char *anchor;       /* anchor to register when it closes */
};

struct child {
	struct vf_node *node;
	size_t weight;
};

struct builder {
	struct vf_arena *arena;          /* nodes */
	struct vf_arena *text_arena;     /* scalars' texts */
	const char *file;
	const char *buf;
	size_t len;
	struct vf_diags *diags;

	struct frame *stack;
	size_t depth, alloc_stack;
	struct child *pending;
	size_t n_pending, alloc_pending;
	struct vf_strmap anchors;        /* name -> struct anchor (in the arena) */
	size_t expanded;          /* nodes reached through aliases so far */
	struct vf_node *root;
	size_t n_documents;
	bool failed;
};

static size_t weight_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static struct vf_pos mark_pos(const struct builder *b, yaml_mark_t m)
{
	struct vf_pos p = { b->file, (unsigned)m.line + 1, (unsigned)m.column + 1 };
	return p;
}

/* Line and column (in characters) of byte offset off in the buffer. */
static struct vf_pos offset_pos(const struct builder *b, size_t off)
{
	struct vf_pos p = { b->file, 1, 1 };
	size_t i;

	if (off > b->len)
		off = b->len;
	for (i = 0; i < off; i++) {
		unsigned char c = (unsigned char)b->buf[i];
		if (c == '\n') {
			p.line++;
			p.col = 1;
		} else if ((c & 0xc0) != 0x80) {
			p.col++;
		}
	}
	return p;
}

/* The first byte that is not valid UTF-8, or len. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

/* Does line (1-based) of the buffer have a tab in its indentation? */
static bool line_indented_with_tab(const struct builder *b, unsigned line)
{
	size_t i = 0;
	unsigned l = 1;

	while (i < b->len && l < line) {
		if (b->buf[i++] == '\n')
			l++;
	}
	for (; i < b->len && (b->buf[i] == ' ' || b->buf[i] == '\t'); i++)
		if (b->buf[i] == '\t')
			return true;
	return false;
}

static void parser_error(struct builder *b, const yaml_parser_t *p)
{
	struct vf_pos pos;
	const char *hint = NULL;

	if (p->error == YAML_READER_ERROR) {
		pos = offset_pos(b, p->problem_offset);
		if (p->problem_value != -1)
			vf_error_at(b->diags, &pos, NULL, "invalid character 0x%x: %s",
				    (unsigned)p->problem_value,
				    p->problem ? p->problem : "unreadable input");
		else
			vf_error_at(b->diags, &pos, NULL, "%s", p->problem ? p->problem : "unreadable input");
		b->failed = true;
		return;
	}
	if (p->error == YAML_MEMORY_ERROR) {
		pos = (struct vf_pos){ b->file, 0, 0 };
		vf_error_at(b->diags, &pos, NULL, "out of memory while parsing YAML");
		b->failed = true;
		return;
	}
	pos = mark_pos(b, p->problem_mark);
	if (line_indented_with_tab(b, pos.line) ||
	    (p->problem && strstr(p->problem, "tab")))
		hint = "YAML does not allow tabs for indentation; indent with spaces";
	if (p->context && (p->context_mark.line != p->problem_mark.line ||
			   p->context_mark.column != p->problem_mark.column))
		vf_error_at(b->diags, &pos, hint, "invalid YAML: %s %s (line %u, column %u)",
			    p->problem ? p->problem : "syntax error", p->context,
			    (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
	else
		vf_error_at(b->diags, &pos, hint, "invalid YAML: %s%s%s",
			    p->problem ? p->problem : "syntax error", p->context ? " " : "",
			    p->context ? p->context : "");
	b->failed = true;
}

static struct vf_node *node_new(struct builder *b, enum vf_node_kind kind, yaml_mark_t m)
{
	struct vf_node *n = vf_arena_alloc(b->arena, sizeof(*n));
	n->kind = kind;
	n->pos = mark_pos(b, m);
	return n;
}

/* One hash probe per anchor and per alias: a document of n anchors and n
 * aliases costs O(n), not O(n^2). */
static void anchor_add(struct builder *b, const char *name, struct vf_node *n, size_t weight)
{
	struct anchor *a = vf_strmap_get(&b->anchors, name);

	/* A redefined anchor shadows the old one from here on (YAML spec). */
	if (!a) {
		a = vf_arena_alloc(b->arena, sizeof(*a));
		a->name = vf_arena_strdup(b->arena, name);
		vf_strmap_put(&b->anchors, a->name, a);
	}
	a->node = n;
	a->weight = weight;
}

static void push_child(struct builder *b, struct vf_node *n, size_t weight)
{
	if (!b->depth) {
		b->root = n;
		return;
	}
	VF_GROW(b->pending, b->n_pending + 1, b->alloc_pending);
	b->pending[b->n_pending].node = n;
	b->pending[b->n_pending].weight = weight;
	b->n_pending++;
}

static bool is_merge_key(const struct vf_node *k)
{
	return k->kind == VF_NODE_SCALAR && k->plain && !strcmp(k->u.text, "<<");
}

static int pair_key_cmp(const void *pa, const void *pb)
{
	const struct vf_pair *const *a = pa, *const *b = pb;
	const struct vf_node *ka = (*a)->key, *kb = (*b)->key;
	size_t l = ka->n < kb->n ? ka->n : kb->n;
	int c = memcmp(ka->u.text, kb->u.text, l);
	if (c)
		return c;
	if (ka->n != kb->n)
		return ka->n < kb->n ? -1 : 1;
	/* equal keys: source order, so the later one is reported */
	return *a < *b ? -1 : *a > *b;
}

static bool key_eq(const struct vf_node *a, const struct vf_node *b)
{
	return a->n == b->n &&
	       !memcmp(a->u.text, b->u.text, a->n);
}

static void report_duplicate(struct builder *b, const struct vf_node *first,
			     const struct vf_node *again)
{
	vf_error_at(b->diags, &again->pos, "remove one of them",
		    "duplicate key '%s' (first defined at line %u, column %u)",
		    again->u.text, first->pos.line, first->pos.col);
}

/* Report keys written twice in one mapping. */
static void check_duplicates(struct builder *b, struct vf_pair *pairs, size_t n)
{
	struct vf_pair **sorted;
	size_t i;

	if (n < 2)
		return;
	if (n <= 16) {
		/* most mappings are small: no allocation, no sort */
		size_t j;
		for (i = 1; i < n; i++) {
			const struct vf_node *k = pairs[i].key;
			for (j = 0; j < i; j++) {
				const struct vf_node *prev = pairs[j].key;
				if (!key_eq(prev, k) || is_merge_key(k))
					continue;
				report_duplicate(b, prev, k);
				break;
			}
		}
		return;
	}
	sorted = xmalloc(n * sizeof(*sorted));
	for (i = 0; i < n; i++)
		sorted[i] = &pairs[i];
	qsort(sorted, n, sizeof(*sorted), pair_key_cmp);
	for (i = 1; i < n; i++) {
		const struct vf_node *prev = sorted[i - 1]->key, *k = sorted[i]->key;
		if (!key_eq(prev, k) || is_merge_key(k))
			continue;
		report_duplicate(b, prev, k);
	}
	free(sorted);
}

/*
 * The keys a merge has placed so far: an open-addressing set over the keys'
 * bytes, so that each merged pair costs one probe, not a scan of the pairs
 * before it (a mapping merging n keys is O(n), not O(n^2)).
 */
struct keyset {
	const struct vf_node **slots;
	size_t mask;
};

/* The key's bytes (a key may hold a NUL: not vf_strmap's strings). */
static size_t key_hash(const struct vf_node *k)
{
	return (size_t)vf_hash_bytes(k->u.text, k->n);
}

static void keyset_init(struct keyset *s, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	s->slots = xcalloc(cap, sizeof(*s->slots));
	s->mask = cap - 1;
}

/* Add k; false if an equal key is already there. */
static bool keyset_add(struct keyset *s, const struct vf_node *k)
{
	size_t i = key_hash(k) & s->mask;

	for (; s->slots[i]; i = (i + 1) & s->mask)
		if (key_eq(s->slots[i], k))
			return false;
	s->slots[i] = k;
	return true;
}

/* The mappings a merge key names: its value, or the items of its list. */
static struct vf_node *const *merge_sources(const struct vf_pair *mp, struct vf_node *const *one,
					    size_t *n)
{
	if (mp->value->kind == VF_NODE_MAP) {
		*n = 1;
		return one;
	}
	if (mp->value->kind == VF_NODE_SEQ) {
		*n = mp->value->n;
		return mp->value->u.items;
	}
	*n = 0;
	return NULL;
}

/*
 * YAML 1.1 merge keys: "<<: *base" or "<<: [*a, *b]" copy the pairs of the
 * named mappings into this one, unless this mapping (or an earlier merged
 * mapping) already has the key.
 */
/* An upper bound on the merged mapping's size (its pairs and every
 * source's); 0 when map has no merge key. */
static size_t merged_size_bound(const struct vf_node *map)
{
	size_t total = 0, i, j;
	bool any = false;

	for (i = 0; i < map->n; i++) {
		const struct vf_pair *mp = &map->u.pairs[i];
		struct vf_node *const *srcs;
		size_t n_srcs;

		total = weight_add(total, 1);
		if (!is_merge_key(mp->key))
			continue;
		any = true;
		srcs = merge_sources(mp, &mp->value, &n_srcs);
		for (j = 0; j < n_srcs; j++)
			if (srcs[j]->kind == VF_NODE_MAP)
				total = weight_add(total, srcs[j]->n);
	}
	return any ? total : 0;
}

static void apply_merges(struct builder *b, struct vf_node *map)
{
	struct vf_pair *out;
	struct keyset seen;
	size_t n_out = 0, total = merged_size_bound(map), i, j, k;

	if (!total)
		return;
	out = vf_arena_alloc(b->arena, total * sizeof(*out) + 1);
	keyset_init(&seen, total);
	for (i = 0; i < map->n; i++) {
		if (is_merge_key(map->u.pairs[i].key))
			continue;
		keyset_add(&seen, map->u.pairs[i].key);   /* duplicates were reported */
		out[n_out++] = map->u.pairs[i];
	}
	for (i = 0; i < map->n; i++) {
		const struct vf_pair *mp = &map->u.pairs[i];
		struct vf_node *const *srcs;
		size_t n_srcs;

		if (!is_merge_key(mp->key))
			continue;
		srcs = merge_sources(mp, &mp->value, &n_srcs);
		if (!srcs) {
			vf_error_at(b->diags, &mp->value->pos, "write '<<: *anchor' or '<<: [*a, *b]'",
				    "a merge key '<<' needs a mapping or a list of mappings, not %s",
				    vf_node_describe(mp->value));
			continue;
		}
		for (j = 0; j < n_srcs; j++) {
			const struct vf_node *src = srcs[j];
			if (src->kind != VF_NODE_MAP) {
				vf_error_at(b->diags, &src->pos, NULL,
					    "a merge key '<<' can only merge mappings, not %s",
					    vf_node_describe(src));
				continue;
			}
			for (k = 0; k < src->n; k++)
				if (keyset_add(&seen, src->u.pairs[k].key))
					out[n_out++] = src->u.pairs[k];
		}
	}
	free(seen.slots);
	map->u.pairs = out;
	map->n = n_out;
}

static void open_collection(struct builder *b, enum vf_node_kind kind, yaml_mark_t m,
			    const yaml_char_t *anchor)
{
	struct frame *f;

	if (b->depth >= VF_YAML_MAX_DEPTH) {
		struct vf_pos pos = mark_pos(b, m);
		vf_error_at(b->diags, &pos, NULL, "nesting deeper than %d levels", VF_YAML_MAX_DEPTH);
		b->failed = true;
		return;
	}
	VF_GROW(b->stack, b->depth + 1, b->alloc_stack);
	f = &b->stack[b->depth++];
	f->node = node_new(b, kind, m);
	f->first = b->n_pending;
	f->anchor = anchor ? vf_arena_strdup(b->arena, (const char *)anchor) : NULL;
}

static void close_collection(struct builder *b)
{
	struct frame f = b->stack[--b->depth];
	struct vf_node *n = f.node;
	size_t count = b->n_pending - f.first, i, weight = 1;
	/* pending is NULL until a first child: no pointer arithmetic on it */
	struct child *kids = count ? &b->pending[f.first] : NULL;

	for (i = 0; i < count; i++)
		weight = weight_add(weight, kids[i].weight);

	if (n->kind == VF_NODE_SEQ) {
		n->u.items = vf_arena_alloc(b->arena, count * sizeof(*n->u.items) + 1);
		for (i = 0; i < count; i++)
			n->u.items[i] = kids[i].node;
		n->n = count;
	} else {
		size_t np = count / 2, out = 0;
		n->u.pairs = vf_arena_alloc(b->arena, np * sizeof(*n->u.pairs) + 1);
		for (i = 0; i < np; i++) {
			struct vf_node *k = kids[2 * i].node, *v = kids[2 * i + 1].node;
			if (k->kind != VF_NODE_SCALAR) {
				vf_error_at(b->diags, &k->pos, NULL,
					    "a mapping key must be a plain string, not %s",
					    vf_node_describe(k));
				continue;
			}
			n->u.pairs[out].key = k;
			n->u.pairs[out].value = v;
			out++;
		}
		n->n = out;
		check_duplicates(b, n->u.pairs, n->n);
		apply_merges(b, n);
	}
	b->n_pending = f.first;
	if (f.anchor)
		anchor_add(b, f.anchor, n, weight);
	push_child(b, n, weight);
}

static void on_alias(struct builder *b, const yaml_event_t *e)
{
	const char *name = (const char *)e->data.alias.anchor;
	struct vf_pos pos = mark_pos(b, e->start_mark);
	const struct anchor *a = vf_strmap_get(&b->anchors, name);

	if (a) {
		b->expanded = weight_add(b->expanded, a->weight);
		if (b->expanded > VF_YAML_MAX_EXPANSION) {
			vf_error_at(b->diags, &pos, "use fewer nested aliases",
				    "aliases expand to more than %d nodes (alias '*%s'); "
				    "refusing a possible 'billion laughs' document",
				    VF_YAML_MAX_EXPANSION, name);
			b->failed = true;
			return;
		}
		push_child(b, a->node, a->weight);
		return;
	}
	vf_error_at(b->diags, &pos, "define it first with '&name'", "unknown anchor '*%s'", name);
	b->failed = true;
}

static void on_scalar(struct builder *b, const yaml_event_t *e)
{
	struct vf_node *n = node_new(b, VF_NODE_SCALAR, e->start_mark);

	n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	n->u.text = vf_arena_strndup(b->text_arena, (const char *)e->data.scalar.value,
					    e->data.scalar.length);
	n->n = e->data.scalar.length;
	if (e->data.scalar.anchor)
		anchor_add(b, (const char *)e->data.scalar.anchor, n, 1);
	push_child(b, n, 1);
}

/* One parser event into the tree; true at the end of the stream. */
static bool on_event(struct builder *b, const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_STREAM_END_EVENT:
		return true;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->n_documents > 1) {
			struct vf_pos pos = mark_pos(b, e->start_mark);
			vf_error_at(b->diags, &pos, "put each document in its own file",
				    "more than one YAML document in a file");
			b->failed = true;
		}
		break;
	case YAML_ALIAS_EVENT:
		on_alias(b, e);
		break;
	case YAML_SCALAR_EVENT:
		on_scalar(b, e);
		break;
	case YAML_SEQUENCE_START_EVENT:
		open_collection(b, VF_NODE_SEQ, e->start_mark, e->data.sequence_start.anchor);
		break;
	case YAML_MAPPING_START_EVENT:
		open_collection(b, VF_NODE_MAP, e->start_mark, e->data.mapping_start.anchor);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		close_collection(b);
		break;
	default:
		break;
	}
	return false;
}

struct vf_node *vf_yaml_parse(struct vf_arena *arena, struct vf_arena *text_arena,
			      const char *file, const char *buf, size_t len,
			      struct vf_diags *diags, bool *empty)
{
	struct builder b = { .arena = arena, .text_arena = text_arena, .file = file, .buf = buf,
			     .len = len, .diags = diags };
	yaml_parser_t parser;
	yaml_event_t event;
	size_t bad;
	bool done = false;

	*empty = false;
	bad = utf8_invalid_at((const unsigned char *)buf, len);
	if (bad < len) {
		struct vf_pos pos = offset_pos(&b, bad);
		vf_error_at(diags, &pos, "save the file as UTF-8",
			    "invalid UTF-8 (byte 0x%02x)", (unsigned char)buf[bad]);
		return NULL;
	}
	if (!yaml_parser_initialize(&parser)) {
		struct vf_pos pos = { file, 0, 0 };
		vf_error_at(diags, &pos, NULL, "cannot initialize the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	while (!done && !b.failed) {
		if (!yaml_parser_parse(&parser, &event)) {
			parser_error(&b, &parser);
			break;
		}
		done = on_event(&b, &event);
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	free(b.stack);
	free(b.pending);
	vf_strmap_release(&b.anchors);
	if (b.failed)
		return NULL;
	if (!b.root || vf_node_is_null(b.root)) {
		*empty = true;
		return NULL;
	}
	return b.root;
}

bool vf_node_is_null(const struct vf_node *n)
{
	const char *t;
	if (n->kind != VF_NODE_SCALAR || !n->plain)
		return false;
	t = n->u.text;
	return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
	       !strcmp(t, "NULL");
}

struct vf_pair *vf_map_pair(const struct vf_node *map, const char *key)
{
	size_t i;
	if (!map || map->kind != VF_NODE_MAP)
		return NULL;
	for (i = 0; i < map->n; i++) {
		const char *k = map->u.pairs[i].key->u.text;
		if (k[0] == key[0] && !strcmp(k, key))
			return &map->u.pairs[i];
	}
	return NULL;
}

struct vf_node *vf_map_get(const struct vf_node *map, const char *key)
{
	struct vf_pair *p = vf_map_pair(map, key);
	return p ? p->value : NULL;
}

const char *vf_node_describe(const struct vf_node *n)
{
	switch (n->kind) {
	case VF_NODE_SEQ:
		return "a list";
	case VF_NODE_MAP:
		return "a mapping";
	case VF_NODE_SCALAR:
		break;
	}
	if (vf_node_is_null(n))
		return "nothing (null)";
	return "a string";
}
