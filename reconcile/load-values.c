/*
 * load-values.c — the typed getters every object loader uses: a scalar, a
 * name, a bool, an integer, a size, a percentage, one of a set, an
 * interface name, an absolute path, lists, labels, lists of references,
 * a sub-mapping, a sealed value; unknown-key checks with a
 * did-you-mean hint; the "kind 'name'" contexts messages start with; and
 * the bookkeeping of pass 2: definitions (names defined twice) and the
 * references load-refs.c resolves.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/load-internal.h"
#include "reconcile/secret.h"

const char *const vf_load_kind_names[KIND_COUNT] = {
	"cluster", "host", "network", "storage domain", "image", "vm", "affinity group",
};

/*
 * "vm 'web1'" (or "vm #3" before the name is known), in the arena.  Built
 * for every object, so without printf: it shows up when loading 10,000 VMs.
 */
char *vf_load_ctx_join(struct loader *L, const char *prefix, const char *kind, const char *name,
		       size_t index)
{
	char num[24];
	size_t lp = prefix ? strlen(prefix) + 2 : 0, lk = strlen(kind), ln;
	char *s, *p;

	if (!name) {
		/* "#N" by hand: snprintf here was visible in the 10,000-VM profile */
		char digits[24], *d = digits + sizeof(digits);
		size_t v = index + 1;
		*--d = '\0';
		do
			*--d = (char)('0' + v % 10);
		while ((v /= 10));
		num[0] = '#';
		memcpy(num + 1, d, (size_t)(digits + sizeof(digits) - d));
		name = num;
	}
	ln = strlen(name) + (name == num ? 0 : 2);
	p = s = vf_arena_alloc(&L->c->arena, lp + lk + 1 + ln + 1);
	if (prefix) {
		memcpy(p, prefix, lp - 2);
		memcpy(p + lp - 2, ": ", 2);
		p += lp;
	}
	memcpy(p, kind, lk);
	p += lk;
	*p++ = ' ';
	if (name != num)
		*p++ = '\'';
	memcpy(p, name, strlen(name));
	p += strlen(name);
	if (name != num)
		*p++ = '\'';
	*p = '\0';
	return s;
}

char *vf_load_ctx_name(struct loader *L, const char *kind, const char *name, size_t index)
{
	return vf_load_ctx_join(L, NULL, kind, name, index);
}

/* Unknown keys get an error with the nearest known key. */
void vf_load_check_keys(struct loader *L, const struct vf_node *map, const char *ctx,
			const char *const *keys, size_t n)
{
	size_t i, j;

	for (i = 0; i < map->n; i++) {
		const struct vf_node *k = map->u.pairs[i].key;
		const char *near;
		char *hint = NULL;
		bool known = false;

		for (j = 0; j < n && !known; j++)
			known = k->u.text[0] == keys[j][0] && !strcmp(k->u.text, keys[j]);
		if (known)
			continue;
		near = vf_nearest(k->u.text, keys, n);
		if (near)
			hint = xasprintf("did you mean '%s'?", near);
		else
			hint = xasprintf("known keys: %s%s%s%s%s%s", keys[0],
					 n > 1 ? ", " : "", n > 1 ? keys[1] : "",
					 n > 2 ? ", " : "", n > 2 ? keys[2] : "", n > 3 ? ", ..." : "");
		if (ctx)
			ERR(L, &k->pos, hint, "%s: unknown key '%s'", ctx, k->u.text);
		else
			ERR(L, &k->pos, hint, "unknown top-level key '%s'", k->u.text);
		free(hint);
	}
}

bool vf_load_want_map(struct loader *L, const struct vf_node *n, const char *what)
{
	if (n->kind == VF_NODE_MAP)
		return true;
	ERR(L, &n->pos, NULL, "%s must be a mapping (key: value), not %s", what, vf_node_describe(n));
	return false;
}

bool vf_load_want_seq(struct loader *L, const struct vf_node *n, const char *what)
{
	if (n->kind == VF_NODE_SEQ)
		return true;
	ERR(L, &n->pos, "write a YAML list: '- item' lines or [a, b]",
	    "%s must be a list, not %s", what, vf_node_describe(n));
	return false;
}

/*
 * The value of key in map, checked to be a non-null scalar.  NULL when the
 * key is absent (an error if required) or its value is bad (reported).
 */
static const struct vf_node *get_scalar(struct loader *L, const struct vf_node *map,
					const char *key, bool required, const char *ctx)
{
	const struct vf_pair *p = vf_map_pair(map, key);

	if (!p) {
		if (required)
			ERR(L, &map->pos, NULL, "%s: missing required key '%s'", ctx, key);
		return NULL;
	}
	if (p->value->kind != VF_NODE_SCALAR) {
		ERR(L, &p->value->pos, NULL, "%s: %s must be a single value, not %s", ctx, key,
		    vf_node_describe(p->value));
		return NULL;
	}
	if (vf_node_is_null(p->value)) {
		ERR(L, &p->value->pos, "give it a value or remove the key",
		    "%s: %s has no value", ctx, key);
		return NULL;
	}
	return p->value;
}

const char *vf_load_get_str(struct loader *L, const struct vf_node *map, const char *key,
			    bool required, const char *ctx)
{
	const struct vf_node *v = get_scalar(L, map, key, required, ctx);
	if (!v)
		return NULL;
	if (strlen(v->u.text) != v->n) {
		ERR(L, &v->pos, NULL, "%s: %s contains a NUL character", ctx, key);
		return NULL;
	}
	if (!v->n) {
		ERR(L, &v->pos, "give it a value or remove the key", "%s: %s is empty", ctx, key);
		return NULL;
	}
	return v->u.text;
}

/* A name (or a reference to one): [A-Za-z0-9][A-Za-z0-9_.-]{0,62}. */
const char *vf_load_get_name(struct loader *L, const struct vf_node *map, const char *key,
			     bool required, const char *ctx)
{
	const char *s = vf_load_get_str(L, map, key, required, ctx);
	if (s && !vf_name_valid(s)) {
		ERR(L, &vf_map_get(map, key)->pos,
		    "names start with a letter or digit, then up to 62 letters, digits, '_', '.' or '-'",
		    "%s: invalid %s '%s'", ctx, key, s);
		return NULL;
	}
	return s;
}

bool vf_load_get_bool(struct loader *L, const struct vf_node *map, const char *key,
		      bool def, const char *ctx)
{
	const struct vf_node *v = get_scalar(L, map, key, false, ctx);
	const char *t;

	if (!v)
		return def;
	t = v->u.text;
	if (v->plain) {
		if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE"))
			return true;
		if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE"))
			return false;
	}
	ERR(L, &v->pos, "write true or false", "%s: %s must be true or false, got %s'%s'", ctx, key,
	    v->plain ? "" : "the string ", t);
	return def;
}

/*
 * An integer in [min, max]; *ok false (after an error) on bad input.
 * Only plain scalars: "2" in quotes is a string.
 */
unsigned long long vf_load_get_uint(struct loader *L, const struct vf_node *map, const char *key,
				    bool required, unsigned long long min, unsigned long long max,
				    unsigned long long def, const char *ctx, bool *ok)
{
	const struct vf_node *v = get_scalar(L, map, key, required, ctx);
	const char *t, *p;
	unsigned long long n = 0;
	bool overflow = false, neg = false;

	*ok = false;
	if (!v)
		return def;
	p = t = v->u.text;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!*p)
		goto syntax;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto syntax;
		if (n > (~0ull - (unsigned)(*p - '0')) / 10)
			overflow = true;
		else
			n = n * 10 + (unsigned)(*p - '0');
	}
	if (!v->plain) {
		ERR(L, &v->pos, "remove the quotes", "%s: %s must be an integer, not the string \"%s\"",
		    ctx, key, t);
		return def;
	}
	if (overflow || (neg && n) || n < min || n > max) {
		ERR(L, &v->pos, NULL, "%s: %s must be between %llu and %llu, got %s", ctx, key, min,
		    max, overflow ? "a number too large" : t);
		return def;
	}
	*ok = true;
	return n;
syntax:
	ERR(L, &v->pos, NULL, "%s: %s must be an integer, got '%s'", ctx, key, t);
	return def;
}

/* A size of at most max bytes (model.h: VF_MEMORY_MAX, VF_DISK_SIZE_MAX). */
uint64_t vf_load_get_size(struct loader *L, const struct vf_node *map, const char *key,
			  bool required, uint64_t max, const char *ctx)
{
	const struct vf_node *v = get_scalar(L, map, key, required, ctx);
	enum vf_size_status st;
	uint64_t bytes = 0;
	char *hint = NULL, *msg_hint = NULL;
	const char *t;

	if (!v)
		return 0;
	t = v->u.text;
	st = vf_size_parse(t, &bytes, &hint);
	if (hint)
		msg_hint = xasprintf("write '%s'", hint);
	switch (st) {
	case VF_SIZE_OK:
		break;
	case VF_SIZE_NO_UNIT:
		ERR(L, &v->pos, msg_hint, "%s: %s '%s' has no unit (KiB, MiB, GiB or TiB)", ctx, key, t);
		break;
	case VF_SIZE_BAD_UNIT:
		ERR(L, &v->pos, msg_hint, "%s: %s '%s' needs a binary unit (KiB, MiB, GiB or TiB)", ctx,
		    key, t);
		break;
	case VF_SIZE_FRACTION:
		ERR(L, &v->pos, msg_hint, "%s: %s '%s' must be a whole number of a unit", ctx, key, t);
		break;
	case VF_SIZE_OVERFLOW:
		ERR(L, &v->pos, NULL, "%s: %s '%s' is too large", ctx, key, t);
		break;
	case VF_SIZE_ZERO:
		ERR(L, &v->pos, NULL, "%s: %s must be greater than zero", ctx, key);
		break;
	case VF_SIZE_NEGATIVE:
		ERR(L, &v->pos, NULL, "%s: %s '%s' cannot be negative", ctx, key, t);
		break;
	case VF_SIZE_EMPTY:
	case VF_SIZE_SYNTAX:
		ERR(L, &v->pos, "write a whole number and a unit, like '512MiB' or '20GiB'",
		    "%s: %s '%s' is not a size", ctx, key, t);
		break;
	}
	free(hint);
	free(msg_hint);
	if (st == VF_SIZE_OK && bytes > max) {
		char lim[32];
		vf_size_format(max, lim, sizeof(lim));
		ERR(L, &v->pos, "write a smaller size",
		    "%s: %s '%s' is larger than the most virtform allows (%s)", ctx, key, t, lim);
		return 0;
	}
	return st == VF_SIZE_OK ? bytes : 0;
}

/* One of names[]; def when absent; -1 after an error. */
int vf_load_get_enum(struct loader *L, const struct vf_node *map, const char *key, bool required,
		     const char *const *names, size_t n, int def, const char *ctx)
{
	const struct vf_node *v = get_scalar(L, map, key, required, ctx);
	const char *near;
	char list[256] = "";
	char *hint;
	size_t i;

	if (!v)
		return vf_map_pair(map, key) ? -1 : def;
	for (i = 0; i < n; i++)
		if (!strcmp(v->u.text, names[i]))
			return (int)i;
	for (i = 0; i < n; i++) {
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
		if (i + 1 < n)
			strncat(list, i + 2 < n ? ", " : " or ", sizeof(list) - strlen(list) - 1);
	}
	near = vf_nearest(v->u.text, names, n);
	hint = near ? xasprintf("did you mean '%s'?", near) : NULL;
	ERR(L, &v->pos, hint, "%s: %s must be %s, got '%s'", ctx, key, list, v->u.text);
	free(hint);
	return -1;
}

/* A Linux interface name: 1..15 bytes of [A-Za-z0-9_.-], not "." or "..". */
static bool ifname_valid(const char *s)
{
	size_t i, n = strlen(s);
	if (!n || n > VF_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static const char *check_ifname(struct loader *L, const struct vf_node *v, const char *key,
				const char *ctx)
{
	const char *s = v->u.text;
	if (ifname_valid(s))
		return s;
	if (strlen(s) > VF_IFNAME_MAX)
		ERR(L, &v->pos, "Linux interface names have at most 15 bytes",
		    "%s: %s '%s' is longer than 15 bytes", ctx, key, s);
	else
		ERR(L, &v->pos, "use letters, digits, '_', '.' and '-'",
		    "%s: %s '%s' is not a valid interface name", ctx, key, s);
	return NULL;
}

const char *vf_load_get_ifname(struct loader *L, const struct vf_node *map, const char *key,
			       bool required, const char *ctx)
{
	const struct vf_node *v = get_scalar(L, map, key, required, ctx);
	return v ? check_ifname(L, v, key, ctx) : NULL;
}

const char *vf_load_get_abspath(struct loader *L, const struct vf_node *map, const char *key,
				bool required, const char *ctx)
{
	const char *s = vf_load_get_str(L, map, key, required, ctx);
	if (s && (s[0] != '/' || strstr(s, "/../") || strchr(s, '\n'))) {
		ERR(L, &vf_map_get(map, key)->pos, "write an absolute path such as /var/lib/virtform/data",
		    "%s: %s '%s' must be an absolute path", ctx, key, s);
		return NULL;
	}
	return s;
}

/* "key applies only to type: X" for keys that make no sense here. */
void vf_load_forbid(struct loader *L, const struct vf_node *map, const char *key, const char *ctx,
		    const char *only)
{
	const struct vf_pair *p = vf_map_pair(map, key);
	if (p)
		ERR(L, &p->key->pos, "remove it", "%s: '%s' applies only to %s", ctx, key, only);
}

/*
 * Where the getters of lists and mappings start: key's value in map, *v,
 * a list (seq) or a mapping (!seq), and room in the arena for its items
 * (size bytes each, and one spare).  NULL, *n_out 0, when the key is
 * absent or its value is not one (reported).
 */
static void *get_items(struct loader *L, const struct vf_node *map, const char *key, bool seq,
		       size_t size, const struct vf_node **v, size_t *n_out)
{
	*v = vf_map_get(map, key);
	*n_out = 0;
	if (!*v || !(seq ? vf_load_want_seq(L, *v, key) : vf_load_want_map(L, *v, key)))
		return NULL;
	return vf_arena_alloc(&L->c->arena, ((*v)->n + 1) * size);
}

/* A list of names (cluster scopes) or interface names (ports). */
const char **vf_load_get_list(struct loader *L, const struct vf_node *map, const char *key,
			      bool ifnames, size_t *n_out, const struct vf_pos **pos_out,
			      const char *ctx)
{
	const struct vf_node *v;
	const char **out = get_items(L, map, key, true, sizeof(*out), &v, n_out);
	struct vf_pos *pos;
	size_t i, n = 0;

	if (!out)
		return NULL;
	pos = vf_arena_alloc(&L->c->arena, (v->n + 1) * sizeof(*pos));
	if (pos_out)
		*pos_out = pos;
	for (i = 0; i < v->n; i++) {
		const struct vf_node *it = v->u.items[i];
		const char *s;
		size_t j;
		if (it->kind != VF_NODE_SCALAR || vf_node_is_null(it)) {
			ERR(L, &it->pos, NULL, "%s: %s entries must be names, not %s", ctx, key,
			    vf_node_describe(it));
			continue;
		}
		s = it->u.text;
		if (ifnames ? !check_ifname(L, it, key, ctx) : !vf_name_valid(s)) {
			if (!ifnames)
				ERR(L, &it->pos, NULL, "%s: invalid name '%s' in %s", ctx, s, key);
			continue;
		}
		for (j = 0; j < n; j++)
			if (!strcmp(out[j], s))
				break;
		if (j < n) {
			ERR(L, &it->pos, "remove the repetition", "%s: '%s' is listed twice in %s", ctx, s, key);
			continue;
		}
		pos[n] = it->pos;
		out[n++] = s;
	}
	*n_out = n;
	return out;
}

/* Label keys: like names, but '/' is allowed too ("example.com/role"). */
static bool label_key_valid(const char *k)
{
	size_t i;
	if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z') ||
	      (k[0] >= '0' && k[0] <= '9')))
		return false;
	for (i = 1; k[i]; i++)
		if (i >= VF_NAME_MAX ||
		    !((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
		      (k[i] >= '0' && k[i] <= '9') || strchr("_./-", k[i])))
			return false;
	return true;
}

/* A mapping of scalars: labels, bond options. */
struct vf_label *vf_load_get_labels(struct loader *L, const struct vf_node *map, const char *key,
				    size_t *n_out, const char *ctx, bool check_key_syntax)
{
	const struct vf_node *v;
	struct vf_label *out = get_items(L, map, key, false, sizeof(*out), &v, n_out);
	size_t i, n = 0;

	if (!out)
		return NULL;
	for (i = 0; i < v->n; i++) {
		const struct vf_node *k = v->u.pairs[i].key, *val = v->u.pairs[i].value;
		const char *ks = k->u.text;

		if (check_key_syntax && !label_key_valid(ks)) {
			ERR(L, &k->pos, "use letters, digits, '_', '.', '/' and '-'",
			    "%s: invalid %s key '%s'", ctx, key, ks);
			continue;
		}
		if (val->kind != VF_NODE_SCALAR || vf_node_is_null(val)) {
			ERR(L, &val->pos, NULL, "%s: %s '%s' must be a single value, not %s", ctx, key, ks,
			    vf_node_describe(val));
			continue;
		}
		out[n].key = ks;
		out[n].value = val->u.text;
		n++;
	}
	*n_out = n;
	return out;
}

/* Record a definition; a name defined twice is an error naming both places. */
bool vf_load_define(struct loader *L, enum kind k, const char *name, const struct vf_pos *pos)
{
	struct vf_pos *p = vf_arena_alloc(&L->c->arena, sizeof(*p));
	struct vf_pos *first;

	*p = *pos;
	first = vf_strmap_put(&L->defined[k], name, p);
	if (first == p)
		return true;
	if (first->file == pos->file)
		ERR(L, pos, "rename one of them", "%s '%s' is defined twice (first at line %u, column %u)",
		    vf_load_kind_names[k], name, first->line, first->col);
	else
		ERR(L, pos, "rename one of them", "%s '%s' is defined twice (first at %s:%u:%u)",
		    vf_load_kind_names[k], name, first->file, first->line, first->col);
	return false;
}

/* The position of key's value in map (or of the map itself). */
const struct vf_pos *vf_load_pos_of(const struct vf_node *map, const char *key)
{
	const struct vf_node *v = vf_map_get(map, key);
	return v ? &v->pos : &map->pos;
}

/* Note a reference to resolve once every file is loaded. */
void vf_load_add_ref(struct loader *L, enum ref_role role, size_t owner, size_t sub,
		     const char *name, const struct vf_pos *pos, const char *ctx)
{
	struct ref *r;

	if (!name)
		return;
	r = VF_APPEND(L->refs, L->n_refs, L->alloc_refs);
	r->role = role;
	r->owner = owner;
	r->sub = sub;
	r->name = name;
	r->pos = *pos;
	r->ctx = ctx;
}

void *vf_load_get_refs(struct loader *L, const struct vf_node *map, const char *key,
		       enum ref_role role, size_t owner, const char ***names_out, size_t *n_out,
		       const char *ctx)
{
	const struct vf_pos *pos;
	const char **names = vf_load_get_list(L, map, key, false, n_out, &pos, ctx);
	size_t i;

	*names_out = names;
	for (i = 0; i < *n_out; i++)
		vf_load_add_ref(L, role, owner, i, names[i], &pos[i], ctx);
	return vf_arena_alloc(&L->c->arena, (*n_out + 1) * sizeof(void *));
}

const char **vf_load_get_scope(struct loader *L, const struct vf_node *map, enum ref_role role,
			       size_t owner, size_t *n_out, struct vf_cluster ***refs,
			       const char *ctx)
{
	const char **names;

	*refs = vf_load_get_refs(L, map, "clusters", role, owner, &names, n_out, ctx);
	return names;
}

unsigned vf_load_get_percent(struct loader *L, const struct vf_node *map, const char *key,
			     bool ratio, unsigned min, unsigned max, unsigned def, const char *ctx)
{
	const struct vf_node *v = get_scalar(L, map, key, false, ctx);
	const char *t, *p;
	unsigned long long n = 0, frac = 0, scale = 100;

	if (!v)
		return def;
	p = t = v->u.text;
	if (*p < '0' || *p > '9')
		goto syntax;
	for (; *p >= '0' && *p <= '9' && n <= 1000000; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (!strcmp(p, "%"))
		scale = 1;
	else if (!ratio)
		goto syntax;
	else if (*p == '.' && p[1] >= '0' && p[1] <= '9' && (!p[2] || (p[2] >= '0' && p[2] <= '9' && !p[3])))
		frac = (unsigned)(p[1] - '0') * 10 + (p[2] ? (unsigned)(p[2] - '0') : 0);
	else if (*p)
		goto syntax;
	n = n * scale + frac;
	if (n < min || n > max) {
		ERR(L, &v->pos, scale == 100 ? "a number without '%' is a ratio: 1.5 is 150%" : NULL,
		    "%s: %s must be between %u%% and %u%%, got %s", ctx, key, min, max, t);
		return def;
	}
	return (unsigned)n;
syntax:
	ERR(L, &v->pos, ratio ? "write a percentage such as 150%, or a ratio such as 1.5"
			      : "write a percentage such as 20%",
	    "%s: %s '%s' is not a percentage", ctx, key, t);
	return def;
}

const struct vf_node *vf_load_sub_map(struct loader *L, const struct vf_node *map,
				      const char *key, const char *const *keys, size_t n,
				      const char *ctx, const char **sub_ctx)
{
	const struct vf_node *v = vf_map_get(map, key);
	char *c;

	if (!v || !vf_load_want_map(L, v, key))
		return NULL;
	c = xasprintf("%s: %s", ctx, key);
	*sub_ctx = vf_arena_strdup(&L->c->arena, c);
	free(c);
	vf_load_check_keys(L, v, *sub_ctx, keys, n);
	return v;
}

/* A disk's or an image's format: qcow2 (the default) or raw. */
enum vf_image_format vf_load_get_format(struct loader *L, const struct vf_node *map,
					const char *ctx)
{
	static const char *const formats[] = { "qcow2", "raw" };
	int e = vf_load_get_enum(L, map, "format", false, formats, VF_ARRAY_SIZE(formats), 0, ctx);

	return e < 0 ? VF_FORMAT_QCOW2 : (enum vf_image_format)e;
}

/*
 * A sealed value {sealed: "<base64>"} at v, the value of key: its shape
 * only (validate has no key).  Returns false after an error.
 */
bool vf_load_get_sealed(struct loader *L, const struct vf_node *v, const char *key,
			const char *ctx, struct vf_secret_ref *out)
{
	static const char *const keys[] = { "sealed" };
	const struct vf_node *s;
	const char *why;
	char *c = xasprintf("%s: %s", ctx, key), *text, *p;
	size_t i;

	vf_load_check_keys(L, v, c, keys, VF_ARRAY_SIZE(keys));
	s = get_scalar(L, v, "sealed", true, c);
	free(c);
	if (!s)
		return false;
	text = vf_arena_alloc(&L->c->arena, s->n + 1);
	for (i = 0, p = text; i < s->n; i++)
		if (!strchr(" \t\r\n", s->u.text[i]))
			*p++ = s->u.text[i];
	*p = '\0';
	why = vf_sealed_check(text);
	if (why) {
		ERR(L, &s->pos, "paste the whole output of 'virtform seal --public-key virtform.pub'",
		    "%s: %s: %s", ctx, key, why);
		return false;
	}
	out->sealed = text;
	out->pos = v->pos;
	return true;
}

bool vf_load_sealed_only(struct loader *L, const struct vf_node *v, const char *key,
			 const char *ctx, struct vf_secret_ref *out, const char *hint,
			 const char *why)
{
	if (v->kind == VF_NODE_MAP)
		return vf_load_get_sealed(L, v, key, ctx, out);
	ERR(L, &v->pos, hint, "%s: %s", ctx, why);
	return false;
}

void *vf_load_named_list(struct loader *L, const struct vf_node *map,
			 const struct vf_load_list *list, const char *ctx, size_t *n_out,
			 const struct vf_node ***nodes_out)
{
	const struct vf_node *v, **nodes;
	const char **names;
	char *items = get_items(L, map, list->key, true, list->size, &v, n_out);
	size_t i, j, n = 0;

	if (nodes_out)
		*nodes_out = NULL;
	if (!items)
		return NULL;
	nodes = xcalloc(v->n + 1, sizeof(*nodes));
	names = xcalloc(v->n + 1, sizeof(*names));
	for (i = 0; i < v->n; i++) {
		const struct vf_node *it = v->u.items[i];
		const char *name;
		if (!vf_load_want_map(L, it, list->what))
			continue;
		name = list->load(L, it, items + n * list->size, ctx, i);
		if (!name)
			continue;
		for (j = 0; j < n; j++)
			if (!strcmp(names[j], name))
				break;
		if (j < n) {
			ERR(L, &it->pos, list->hint, "%s: %s '%s' is defined twice (first at line %u)",
			    ctx, list->kind, name, nodes[j]->pos.line);
			continue;
		}
		names[n] = name;
		nodes[n++] = it;
	}
	free(names);
	*n_out = n;
	if (nodes_out)
		*nodes_out = nodes;
	else
		free(nodes);
	return items;
}
