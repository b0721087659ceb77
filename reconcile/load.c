/*
 * load.c — from YAML files to a checked struct vf_config.
 *
 * Three passes:
 *   1. read each file (a CONFIG file, or every *.yaml / *.yml in a CONFIG
 *      directory, sorted) and parse it into a node tree (yaml.c);
 *   2. type every node into the model, reporting unknown keys, bad values
 *      and names defined twice (also across files);
 *   3. resolve references (vm -> cluster, host, network, storage, image)
 *      and check the rules that span objects (a pinned host in the VM's
 *      cluster, a network present in that cluster, MACs unique, ...).
 * Every problem is reported, not just the first: passes go on after errors
 * and only the final count decides.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/hostnet.h"
#include "reconcile/model.h"
#include "reconcile/secret.h"
#include "reconcile/transport.h"
#include "reconcile/yaml.h"

enum kind {
	KIND_CLUSTER,
	KIND_HOST,
	KIND_NETWORK,
	KIND_STORAGE,
	KIND_IMAGE,
	KIND_VM,
	KIND_COUNT,
};

static const char *const kind_names[KIND_COUNT] = {
	"cluster", "host", "network", "storage domain", "image", "vm",
};

/*
 * A reference met in pass 2, resolved in pass 3 (its target may be defined
 * later, in another file).  Top-level arrays still grow during pass 2, so a
 * reference names its owner by index; disks and nics live in the arena and
 * do not move.
 */
enum ref_role {
	REF_HOST_CLUSTER,
	REF_NETWORK_CLUSTER,     /* sub: index in clusters[] */
	REF_STORAGE_CLUSTER,     /* sub: index in clusters[] */
	REF_IMAGE_STORAGE,
	REF_VM_CLUSTER,
	REF_VM_HOST,
	REF_DISK_STORAGE,        /* sub: disk index */
	REF_DISK_IMAGE,          /* sub: disk index */
	REF_NIC_NETWORK,         /* sub: nic index */
};

struct ref {
	enum ref_role role;
	size_t owner, sub;
	const char *name;
	struct vf_pos pos;       /* of the referencing value */
	const char *ctx;
};

struct loader {
	struct vf_config *c;
	struct vf_diags *d;
	const char *file;              /* current file, in the arena */
	const char *dir;               /* its directory, for relative paths */
	bool saw_version;
	bool unreadable;               /* a file could not be read or parsed */
	struct vf_pos project_pos;     /* where 'project:' was set */
	struct vf_strmap defined[KIND_COUNT];  /* name -> struct vf_pos * */
	struct ref *refs;
	size_t n_refs, alloc_refs;
};

/* ---- small helpers ---------------------------------------------------- */

#define ERR(L, pos, hint, ...) vf_error_at((L)->d, (pos), (hint), __VA_ARGS__)

/*
 * "vm 'web1'" (or "vm #3" before the name is known), in the arena.  Built
 * for every object, so without printf: it shows up when loading 10,000 VMs.
 */
static char *ctx_join(struct loader *L, const char *prefix, const char *kind, const char *name,
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

static char *ctx_name(struct loader *L, const char *kind, const char *name, size_t index)
{
	return ctx_join(L, NULL, kind, name, index);
}

/* Unknown keys get an error with the nearest known key. */
static void check_keys(struct loader *L, const struct vf_node *map, const char *ctx,
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

static bool want_map(struct loader *L, const struct vf_node *n, const char *what)
{
	if (n->kind == VF_NODE_MAP)
		return true;
	ERR(L, &n->pos, NULL, "%s must be a mapping (key: value), not %s", what, vf_node_describe(n));
	return false;
}

static bool want_seq(struct loader *L, const struct vf_node *n, const char *what)
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

static const char *get_str(struct loader *L, const struct vf_node *map, const char *key,
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
static const char *get_name(struct loader *L, const struct vf_node *map, const char *key,
			    bool required, const char *ctx)
{
	const char *s = get_str(L, map, key, required, ctx);
	if (s && !vf_name_valid(s)) {
		ERR(L, &vf_map_get(map, key)->pos,
		    "names start with a letter or digit, then up to 62 letters, digits, '_', '.' or '-'",
		    "%s: invalid %s '%s'", ctx, key, s);
		return NULL;
	}
	return s;
}

static bool get_bool(struct loader *L, const struct vf_node *map, const char *key,
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
static unsigned long long get_uint(struct loader *L, const struct vf_node *map, const char *key,
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
static uint64_t get_size(struct loader *L, const struct vf_node *map, const char *key,
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
static int get_enum(struct loader *L, const struct vf_node *map, const char *key, bool required,
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

static const char *get_ifname(struct loader *L, const struct vf_node *map, const char *key,
			      bool required, const char *ctx)
{
	const struct vf_node *v = get_scalar(L, map, key, required, ctx);
	return v ? check_ifname(L, v, key, ctx) : NULL;
}

static const char *get_abspath(struct loader *L, const struct vf_node *map, const char *key,
			       bool required, const char *ctx)
{
	const char *s = get_str(L, map, key, required, ctx);
	if (s && (s[0] != '/' || strstr(s, "/../") || strchr(s, '\n'))) {
		ERR(L, &vf_map_get(map, key)->pos, "write an absolute path such as /var/lib/virtform/data",
		    "%s: %s '%s' must be an absolute path", ctx, key, s);
		return NULL;
	}
	return s;
}

/* "key applies only to type: X" for keys that make no sense here. */
static void forbid(struct loader *L, const struct vf_node *map, const char *key, const char *ctx,
		   const char *only)
{
	const struct vf_pair *p = vf_map_pair(map, key);
	if (p)
		ERR(L, &p->key->pos, "remove it", "%s: '%s' applies only to %s", ctx, key, only);
}

/* A list of names (cluster scopes) or interface names (ports). */
static const char **get_list(struct loader *L, const struct vf_node *map, const char *key,
			     bool ifnames, size_t *n_out, const struct vf_pos **pos_out,
			     const char *ctx)
{
	const struct vf_node *v = vf_map_get(map, key);
	const char **out;
	struct vf_pos *pos;
	size_t i, n = 0;

	*n_out = 0;
	if (!v)
		return NULL;
	if (!want_seq(L, v, key))
		return NULL;
	out = vf_arena_alloc(&L->c->arena, (v->n + 1) * sizeof(*out));
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
static struct vf_label *get_labels(struct loader *L, const struct vf_node *map, const char *key,
				   size_t *n_out, const char *ctx, bool check_key_syntax)
{
	const struct vf_node *v = vf_map_get(map, key);
	struct vf_label *out;
	size_t i, n = 0;

	*n_out = 0;
	if (!v)
		return NULL;
	if (!want_map(L, v, key))
		return NULL;
	out = vf_arena_alloc(&L->c->arena, (v->n + 1) * sizeof(*out));
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
static bool define(struct loader *L, enum kind k, const char *name, const struct vf_pos *pos)
{
	struct vf_pos *p = vf_arena_alloc(&L->c->arena, sizeof(*p));
	struct vf_pos *first;

	*p = *pos;
	first = vf_strmap_put(&L->defined[k], name, p);
	if (first == p)
		return true;
	if (first->file == pos->file)
		ERR(L, pos, "rename one of them", "%s '%s' is defined twice (first at line %u, column %u)",
		    kind_names[k], name, first->line, first->col);
	else
		ERR(L, pos, "rename one of them", "%s '%s' is defined twice (first at %s:%u:%u)",
		    kind_names[k], name, first->file, first->line, first->col);
	return false;
}

/* The position of key's value in map (or of the map itself). */
static const struct vf_pos *pos_of(const struct vf_node *map, const char *key)
{
	const struct vf_node *v = vf_map_get(map, key);
	return v ? &v->pos : &map->pos;
}

/* Note a reference to resolve once every file is loaded. */
static void add_ref(struct loader *L, enum ref_role role, size_t owner, size_t sub,
		    const char *name, const struct vf_pos *pos, const char *ctx)
{
	struct ref *r;

	if (!name)
		return;
	VF_GROW(L->refs, L->n_refs + 1, L->alloc_refs);
	r = &L->refs[L->n_refs++];
	r->role = role;
	r->owner = owner;
	r->sub = sub;
	r->name = name;
	r->pos = *pos;
	r->ctx = ctx;
}

/* ---- objects ---------------------------------------------------------- */

static void load_cluster(struct loader *L, const struct vf_node *n, size_t idx)
{
	static const char *const keys[] = { "name", "cpu_model", "scheduling", "description" };
	static const char *const sched[] = { "evenly_distributed", "power_saving" };
	struct vf_cluster *cl;
	const char *ctx;
	int e;

	if (!want_map(L, n, "a cluster"))
		return;
	VF_GROW(L->c->clusters, L->c->n_clusters + 1, L->c->alloc_clusters);
	cl = &L->c->clusters[L->c->n_clusters];
	cl->pos = n->pos;
	cl->name = get_name(L, n, "name", true, ctx_name(L, "cluster", NULL, idx));
	ctx = ctx_name(L, "cluster", cl->name, idx);
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	cl->cpu_model = get_str(L, n, "cpu_model", false, ctx);
	if (!cl->cpu_model)
		cl->cpu_model = "auto";
	e = get_enum(L, n, "scheduling", false, sched, VF_ARRAY_SIZE(sched), 0, ctx);
	cl->scheduling = e < 0 ? 0 : (enum vf_scheduling)e;
	cl->description = get_str(L, n, "description", false, ctx);
	/* kept even when invalid: refs name owners by index */
	if (cl->name)
		define(L, KIND_CLUSTER, cl->name, &cl->pos);
	L->c->n_clusters++;
}

static void load_iface(struct loader *L, const struct vf_node *n, struct vf_iface *f,
		       const char *host_ctx, size_t idx)
{
	static const char *const keys[] = { "name", "type", "mode", "ports", "options", "stp",
					    "base", "id", "mtu", "state" };
	static const char *const types[] = { "ethernet", "bond", "bridge", "vlan" };
	static const char *const states[] = { "up", "absent" };
	static const char *const modes[] = { "balance-rr", "active-backup", "balance-xor",
					     "broadcast", "802.3ad", "balance-tlb", "balance-alb" };
	const char *ctx;
	bool ok;
	int e;

	f->pos = n->pos;
	f->name = get_ifname(L, n, "name", true, ctx_join(L, host_ctx, "interface", NULL, idx));
	ctx = ctx_join(L, host_ctx, "interface", f->name, idx);
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	e = get_enum(L, n, "type", true, types, VF_ARRAY_SIZE(types), 0, ctx);
	f->type = e < 0 ? VF_IFACE_ETHERNET : (enum vf_iface_type)e;
	e = get_enum(L, n, "state", false, states, VF_ARRAY_SIZE(states), 0, ctx);
	f->state = e < 0 ? VF_IFACE_STATE_UP : (enum vf_iface_state)e;
	f->mtu = (unsigned)get_uint(L, n, "mtu", false, 68, 65535, 0, ctx, &ok);
	f->stp = -1;
	if (e < 0)
		return;     /* type-specific keys cannot be judged */
	if (f->type == VF_IFACE_BOND) {
		e = get_enum(L, n, "mode", false, modes, VF_ARRAY_SIZE(modes), -1, ctx);
		f->bond_mode = e < 0 ? NULL : modes[e];
		f->options = get_labels(L, n, "options", &f->n_options, ctx, false);
	} else {
		forbid(L, n, "mode", ctx, "type: bond");
		forbid(L, n, "options", ctx, "type: bond");
	}
	if (f->type == VF_IFACE_BOND || f->type == VF_IFACE_BRIDGE)
		f->ports = get_list(L, n, "ports", true, &f->n_ports, NULL, ctx);
	else
		forbid(L, n, "ports", ctx, "type: bond and type: bridge");
	if (f->type == VF_IFACE_BRIDGE) {
		if (vf_map_pair(n, "stp"))
			f->stp = get_bool(L, n, "stp", false, ctx);
	} else {
		forbid(L, n, "stp", ctx, "type: bridge");
	}
	if (f->type == VF_IFACE_VLAN) {
		f->vlan_base = get_ifname(L, n, "base", true, ctx);
		f->vlan_id = (unsigned)get_uint(L, n, "id", true, 1, 4094, 0, ctx, &ok);
	} else {
		forbid(L, n, "base", ctx, "type: vlan");
		forbid(L, n, "id", ctx, "type: vlan");
	}
}

/* A host name or address for ssh: no white space, quotes, '/', or a
 * leading '-' (ssh would take it for an option). */
static bool ssh_word_valid(const char *s)
{
	return *s && *s != '-' && !strpbrk(s, " \t\n/'\"\\`$;&|<>()");
}

static void load_ssh(struct loader *L, const struct vf_node *host, struct vf_ssh *ssh,
		     const char *ctx)
{
	static const char *const keys[] = { "host", "user", "port", "identity", "config",
					    "virtform" };
	const struct vf_node *m = vf_map_get(host, "ssh");
	char *c;
	bool ok;

	if (!m)
		return;
	if (m->kind != VF_NODE_MAP) {
		ERR(L, &m->pos, "write a mapping such as {user: root, port: 22}",
		    "%s: ssh must be a mapping, not %s", ctx, vf_node_describe(m));
		return;
	}
	c = xasprintf("%s: ssh", ctx);
	ssh->given = true;
	ssh->pos = m->pos;
	check_keys(L, m, c, keys, VF_ARRAY_SIZE(keys));
	ssh->host = get_str(L, m, "host", false, c);
	if (ssh->host && !ssh_word_valid(ssh->host)) {
		ERR(L, &vf_map_get(m, "host")->pos, "write a host name or an IP address",
		    "%s: host '%s' is not a host name or address", c, ssh->host);
		ssh->host = NULL;
	}
	ssh->user = get_str(L, m, "user", false, c);
	if (ssh->user && (!ssh_word_valid(ssh->user) || strchr(ssh->user, '@'))) {
		ERR(L, &vf_map_get(m, "user")->pos, "write a login name such as root",
		    "%s: user '%s' is not a login name", c, ssh->user);
		ssh->user = NULL;
	}
	if (vf_map_pair(m, "port"))
		ssh->port = (unsigned)get_uint(L, m, "port", false, 1, 65535, 0, c, &ok);
	/* files on the machine that runs virtform: the operator's, never the
	 * repository's (an ssh_config's ProxyCommand runs a program) */
	if (vf_map_pair(m, "config"))
		ERR(L, &vf_map_pair(m, "config")->key->pos,
		    "remove it; put the host's settings (a jump host, a key) in ~/.ssh/config or in "
		    "the file $VIRTFORM_SSH_CONFIG names on the machine that runs virtform",
		    "%s: config names an ssh_config file on the machine that runs virtform, whose "
		    "ProxyCommand or LocalCommand would run there", c);
	if (vf_map_pair(m, "identity"))
		ERR(L, &vf_map_pair(m, "identity")->key->pos,
		    "remove it; give the key through the ssh-agent, or IdentityFile in ~/.ssh/config "
		    "or in the file $VIRTFORM_SSH_CONFIG names on the machine that runs virtform",
		    "%s: identity names a key file on the machine that runs virtform", c);
	ssh->virtform = get_str(L, m, "virtform", false, c);
	if (ssh->virtform && !(ssh->virtform[0] == '/' ? !strchr(ssh->virtform, '\n')
						       : ssh_word_valid(ssh->virtform))) {
		ERR(L, &vf_map_get(m, "virtform")->pos,
		    "write an absolute path such as /usr/local/bin/virtform, or a command name",
		    "%s: virtform '%s' is not a path or command name", c, ssh->virtform);
		ssh->virtform = NULL;
	}
	free(c);
}

static void load_host(struct loader *L, const struct vf_node *n, size_t idx)
{
	static const char *const keys[] = { "name", "cluster", "uri", "address", "labels",
					    "interfaces", "ssh", "insecure_transport" };
	struct vf_host *h;
	const struct vf_node *ifs;
	const char *ctx, *s;
	size_t i;

	if (!want_map(L, n, "a host"))
		return;
	VF_GROW(L->c->hosts, L->c->n_hosts + 1, L->c->alloc_hosts);
	h = &L->c->hosts[L->c->n_hosts];
	h->pos = n->pos;
	h->name = get_name(L, n, "name", true, ctx_name(L, "host", NULL, idx));
	ctx = ctx_name(L, "host", h->name, idx);
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	h->cluster = get_name(L, n, "cluster", false, ctx);
	add_ref(L, REF_HOST_CLUSTER, L->c->n_hosts, 0, h->cluster, pos_of(n, "cluster"), ctx);
	h->uri = get_str(L, n, "uri", true, ctx);
	if (h->uri) {
		const char *colon = strstr(h->uri, ":/");
		for (s = h->uri; s < (colon ? colon : s) &&
		     ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '+'); s++)
			;
		if (!colon || s != colon || colon == h->uri || strpbrk(h->uri, " \t\n'\"")) {
			ERR(L, &vf_map_get(n, "uri")->pos,
			    "for example qemu+ssh://root@hyper1.example.com/system or qemu:///system",
			    "%s: uri '%s' is not a libvirt connection URI", ctx, h->uri);
			h->uri = NULL;
		}
	}
	h->insecure_transport = get_bool(L, n, "insecure_transport", false, ctx);
	if (h->uri) {
		char *why, *hint;
		if (vf_transport_check(h->uri, h->insecure_transport, &why, &hint) < 0) {
			ERR(L, &vf_map_get(n, "uri")->pos, hint, "%s: %s", ctx, why);
			free(why);
			free(hint);
			h->uri = NULL;
		} else if (h->insecure_transport && !vf_transport_is_clear(h->uri)) {
			ERR(L, &vf_map_get(n, "insecure_transport")->pos, "remove it",
			    "%s: insecure_transport applies only to a qemu+tcp uri", ctx);
		}
	}
	h->address = get_str(L, n, "address", false, ctx);
	if (h->address && (!*h->address || strpbrk(h->address, " \t\n/'\""))) {
		ERR(L, &vf_map_get(n, "address")->pos, "write an IP address or a host name",
		    "%s: address '%s' is not an address", ctx, h->address);
	}
	h->labels = get_labels(L, n, "labels", &h->n_labels, ctx, true);
	load_ssh(L, n, &h->ssh, ctx);
	ifs = vf_map_get(n, "interfaces");
	if (ifs && want_seq(L, ifs, "interfaces")) {
		h->ifaces = vf_arena_alloc(&L->c->arena, (ifs->n + 1) * sizeof(*h->ifaces));
		for (i = 0; i < ifs->n; i++) {
			const struct vf_node *it = ifs->u.items[i];
			struct vf_iface *f = &h->ifaces[h->n_ifaces];
			size_t j;
			if (!want_map(L, it, "an interface"))
				continue;
			load_iface(L, it, f, ctx, i);
			if (!f->name)
				continue;
			for (j = 0; j < h->n_ifaces; j++)
				if (!strcmp(h->ifaces[j].name, f->name))
					break;
			if (j < h->n_ifaces) {
				ERR(L, &f->pos, "rename one of them",
				    "%s: interface '%s' is defined twice (first at line %u)", ctx, f->name,
				    h->ifaces[j].pos.line);
				continue;
			}
			h->n_ifaces++;
		}
	}
	/* kept even when invalid: refs name owners by index */
	if (h->name)
		define(L, KIND_HOST, h->name, &h->pos);
	L->c->n_hosts++;
}

static bool get_ipv4(struct loader *L, const struct vf_node *map, const char *key, bool prefix,
		     const char *ctx, uint32_t *addr, unsigned *plen)
{
	const char *s = get_str(L, map, key, true, ctx);
	if (!s)
		return false;
	if (!vf_ipv4_parse(s, addr, plen, prefix)) {
		ERR(L, &vf_map_get(map, key)->pos,
		    prefix ? "write an address and prefix length, like 10.77.0.1/24"
			   : "write an IPv4 address, like 10.77.0.100",
		    "%s: %s '%s' is not an IPv4 %s", ctx, key, s, prefix ? "address/prefix" : "address");
		return false;
	}
	return true;
}

static void load_ipv4(struct loader *L, const struct vf_node *n, struct vf_network *net,
		      const char *ctx)
{
	static const char *const keys[] = { "address", "dhcp" };
	static const char *const dkeys[] = { "start", "end" };
	const struct vf_node *dhcp;
	uint32_t mask, lo, hi;
	char *c;

	if (!want_map(L, n, "ipv4"))
		return;
	c = xasprintf("%s: ipv4", ctx);
	check_keys(L, n, c, keys, VF_ARRAY_SIZE(keys));
	if (!get_ipv4(L, n, "address", true, c, &net->ipv4_address, &net->ipv4_prefix))
		goto out;
	if (net->ipv4_prefix < 8 || net->ipv4_prefix > 30) {
		ERR(L, &vf_map_get(n, "address")->pos, NULL,
		    "%s: prefix length /%u must be between /8 and /30", c, net->ipv4_prefix);
		goto out;
	}
	mask = ~0u << (32 - net->ipv4_prefix);
	lo = net->ipv4_address & mask;
	hi = lo | ~mask;
	if (net->ipv4_address == lo || net->ipv4_address == hi) {
		ERR(L, &vf_map_get(n, "address")->pos, "use a host address such as .1",
		    "%s: address is the %s address of its subnet", c,
		    net->ipv4_address == lo ? "network" : "broadcast");
		goto out;
	}
	net->has_ipv4 = true;
	dhcp = vf_map_get(n, "dhcp");
	if (dhcp && want_map(L, dhcp, "dhcp")) {
		char *dc = xasprintf("%s.dhcp", c);
		bool ok;
		check_keys(L, dhcp, dc, dkeys, VF_ARRAY_SIZE(dkeys));
		ok = get_ipv4(L, dhcp, "start", false, dc, &net->dhcp_start, NULL);
		ok = get_ipv4(L, dhcp, "end", false, dc, &net->dhcp_end, NULL) && ok;
		if (ok) {
			if ((net->dhcp_start & mask) != lo || (net->dhcp_end & mask) != lo ||
			    net->dhcp_start == lo || net->dhcp_end == hi)
				ERR(L, &dhcp->pos, NULL, "%s: the range is not inside the subnet of %s", dc,
				    get_str(L, n, "address", true, c));
			else if (net->dhcp_start > net->dhcp_end)
				ERR(L, &dhcp->pos, "swap start and end", "%s: start is after end", dc);
			else if (net->ipv4_address >= net->dhcp_start &&
				 net->ipv4_address <= net->dhcp_end)
				ERR(L, &dhcp->pos, "start the range after the network's own address",
				    "%s: the range contains the network's address", dc);
			else
				net->has_dhcp = true;
		}
		free(dc);
	}
out:
	free(c);
}

static void load_network(struct loader *L, const struct vf_node *n, size_t idx)
{
	static const char *const keys[] = { "name", "mode", "vlan", "uplink", "bridge", "mtu",
					    "clusters", "ipv4" };
	static const char *const modes[] = { "bridge", "nat", "isolated" };
	struct vf_network *net;
	const struct vf_node *ip;
	const struct vf_pos *cpos;
	const char *ctx;
	size_t i;
	bool ok;
	int e;

	if (!want_map(L, n, "a network"))
		return;
	VF_GROW(L->c->networks, L->c->n_networks + 1, L->c->alloc_networks);
	net = &L->c->networks[L->c->n_networks];
	net->pos = n->pos;
	net->name = get_name(L, n, "name", true, ctx_name(L, "network", NULL, idx));
	ctx = ctx_name(L, "network", net->name, idx);
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	e = get_enum(L, n, "mode", true, modes, VF_ARRAY_SIZE(modes), 0, ctx);
	net->mode = e < 0 ? VF_NET_MODE_BRIDGE : (enum vf_net_mode)e;
	net->vlan = (unsigned)get_uint(L, n, "vlan", false, 1, 4094, 0, ctx, &ok);
	net->uplink = get_ifname(L, n, "uplink", false, ctx);
	net->bridge = get_ifname(L, n, "bridge", false, ctx);
	net->mtu = (unsigned)get_uint(L, n, "mtu", false, 68, 65535, 0, ctx, &ok);
	net->clusters = get_list(L, n, "clusters", false, &net->n_clusters, &cpos, ctx);
	net->cluster_refs = vf_arena_alloc(&L->c->arena, (net->n_clusters + 1) * sizeof(void *));
	for (i = 0; i < net->n_clusters; i++)
		add_ref(L, REF_NETWORK_CLUSTER, L->c->n_networks, i, net->clusters[i], &cpos[i], ctx);
	ip = vf_map_get(n, "ipv4");
	if (e >= 0) {
		if (net->mode == VF_NET_MODE_BRIDGE) {
			if (ip)
				forbid(L, n, "ipv4", ctx, "mode: nat and mode: isolated");
			if (net->vlan && !vf_map_pair(n, "uplink"))
				ERR(L, &n->pos, "add 'uplink: bond0' (the NIC or bond carrying the VLAN)",
				    "%s: a VLAN network needs an uplink", ctx);
			else if (!vf_map_pair(n, "uplink") && !vf_map_pair(n, "bridge"))
				ERR(L, &n->pos, "add 'uplink:' (a NIC or bond) or 'bridge:' (an existing bridge)",
				    "%s: a bridge network needs an uplink or a bridge", ctx);
		} else {
			forbid(L, n, "vlan", ctx, "mode: bridge");
			forbid(L, n, "uplink", ctx, "mode: bridge");
			if (ip)
				load_ipv4(L, ip, net, ctx);
			else if (net->mode == VF_NET_MODE_NAT)
				ERR(L, &n->pos, "add 'ipv4: {address: 10.77.0.1/24}'",
				    "%s: a nat network needs an ipv4 address", ctx);
		}
	}
	if (!net->bridge && net->name) {
		net->bridge = vf_network_bridge_name(&L->c->arena, net->name);
		net->bridge_derived = true;
	}
	/* kept even when invalid: refs name owners by index */
	if (net->name)
		define(L, KIND_NETWORK, net->name, &net->pos);
	L->c->n_networks++;
}

static bool get_sealed(struct loader *L, const struct vf_node *v, const char *key,
		       const char *ctx, struct vf_secret_ref *out);

/* storage_domains[].chap (iscsi, iscsi-direct): {username, secret: {sealed: ...}}. */
static void load_chap(struct loader *L, const struct vf_node *n, struct vf_storage *st,
		      const char *ctx)
{
	static const char *const keys[] = { "username", "secret" };
	const struct vf_node *v;
	const char *user;
	char *c;

	if (n->kind != VF_NODE_MAP) {
		ERR(L, &n->pos, "write chap: {username: NAME, secret: {sealed: \"...\"}}",
		    "%s: chap must be a mapping", ctx);
		return;
	}
	st->chap_pos = n->pos;
	c = xasprintf("%s: chap", ctx);
	check_keys(L, n, c, keys, VF_ARRAY_SIZE(keys));
	user = get_str(L, n, "username", true, c);
	if (user && strpbrk(user, "\r\n")) {
		ERR(L, &vf_map_get(n, "username")->pos, NULL, "%s: username spans several lines", c);
		user = NULL;
	}
	st->chap_username = user;
	v = vf_map_get(n, "secret");
	if (!v)
		ERR(L, &n->pos, "add secret: {sealed: \"...\"} with what 'virtform seal' prints",
		    "%s: secret is required", c);
	else if (v->kind == VF_NODE_MAP)
		get_sealed(L, v, "secret", c, &st->chap_secret);
	else
		ERR(L, &v->pos,
		    "write secret: {sealed: \"...\"} with what it prints, and change the secret on "
		    "the target: a clear one committed to git stays in its history",
		    "%s: CHAP secrets must be sealed: virtform seal --public-key virtform.pub reads "
		    "the secret on stdin", c);
	free(c);
}

#define IQN_EXAMPLE "iqn.2026-11.org.example:host1"

/*
 * storage_domains[].initiator: an iSCSI qualified name, "iqn." and then
 * no white space and no control characters.  Kept that loose on purpose:
 * the date and naming authority are the target's business (its ACLs say
 * which names it accepts), but a value that cannot be an IQN at all is a
 * typo better caught here than as a login failure on every host.  An
 * iscsi-direct pool needs one (libvirt refuses its XML without), an iscsi
 * pool may have one.
 */
static const char *get_initiator(struct loader *L, const struct vf_node *map, bool required,
				 const char *ctx)
{
	const char *s, *p;

	if (required && !vf_map_pair(map, "initiator")) {
		ERR(L, &map->pos, "add initiator: " IQN_EXAMPLE ", the name this host logs in to "
		    "the target with (libvirt's iscsi-direct pool has no default)",
		    "%s: missing required key 'initiator'", ctx);
		return NULL;
	}
	s = get_str(L, map, "initiator", false, ctx);
	if (!s)
		return NULL;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			ERR(L, &vf_map_get(map, "initiator")->pos,
			    "an IQN is one word, e.g. " IQN_EXAMPLE,
			    "%s: initiator contains white space or a control character", ctx);
			return NULL;
		}
	if (strncmp(s, "iqn.", 4) || !s[4]) {
		ERR(L, &vf_map_get(map, "initiator")->pos,
		    "write an iSCSI qualified name: 'iqn.', the year and month, the reversed "
		    "domain, then ':' and a name, e.g. " IQN_EXAMPLE,
		    "%s: initiator '%s' is not an IQN", ctx, s);
		return NULL;
	}
	return s;
}

static void load_storage(struct loader *L, const struct vf_node *n, size_t idx)
{
	static const char *const keys[] = { "name", "type", "path", "server", "export", "vg",
					    "portal", "target", "initiator", "chap", "clusters" };
	/* in enum vf_storage_type's order */
	static const char *const types[] = { "dir", "nfs", "logical", "iscsi", "iscsi-direct" };
	struct vf_storage *st;
	const struct vf_pos *cpos;
	const char *ctx;
	size_t i;
	int e;

	if (!want_map(L, n, "a storage domain"))
		return;
	VF_GROW(L->c->storages, L->c->n_storages + 1, L->c->alloc_storages);
	st = &L->c->storages[L->c->n_storages];
	st->pos = n->pos;
	st->name = get_name(L, n, "name", true, ctx_name(L, "storage domain", NULL, idx));
	ctx = ctx_name(L, "storage domain", st->name, idx);
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	e = get_enum(L, n, "type", true, types, VF_ARRAY_SIZE(types), 0, ctx);
	st->type = e < 0 ? VF_STORAGE_DIR : (enum vf_storage_type)e;
	st->clusters = get_list(L, n, "clusters", false, &st->n_clusters, &cpos, ctx);
	st->cluster_refs = vf_arena_alloc(&L->c->arena, (st->n_clusters + 1) * sizeof(void *));
	for (i = 0; i < st->n_clusters; i++)
		add_ref(L, REF_STORAGE_CLUSTER, L->c->n_storages, i, st->clusters[i], &cpos[i], ctx);
	if (e >= 0) {
		bool dir = st->type == VF_STORAGE_DIR, nfs = st->type == VF_STORAGE_NFS;
		if (dir || nfs)
			st->path = get_abspath(L, n, "path", true, ctx);
		else
			forbid(L, n, "path", ctx, "type: dir and type: nfs");
		if (nfs) {
			st->server = get_str(L, n, "server", true, ctx);
			st->export_path = get_abspath(L, n, "export", true, ctx);
		} else {
			forbid(L, n, "server", ctx, "type: nfs");
			forbid(L, n, "export", ctx, "type: nfs");
		}
		if (st->type == VF_STORAGE_LOGICAL)
			st->vg = get_name(L, n, "vg", true, ctx);
		else
			forbid(L, n, "vg", ctx, "type: logical");
		/* iscsi-direct logs in to the same portal and target, with the
		 * same CHAP, from libvirtd instead of the host's initiator */
		if (st->type == VF_STORAGE_ISCSI || st->type == VF_STORAGE_ISCSI_DIRECT) {
			st->portal = get_str(L, n, "portal", true, ctx);
			st->target = get_str(L, n, "target", true, ctx);
			st->initiator = get_initiator(L, n, st->type == VF_STORAGE_ISCSI_DIRECT, ctx);
			if (vf_map_get(n, "chap"))
				load_chap(L, vf_map_get(n, "chap"), st, ctx);
		} else {
			forbid(L, n, "portal", ctx, "type: iscsi and type: iscsi-direct");
			forbid(L, n, "target", ctx, "type: iscsi and type: iscsi-direct");
			forbid(L, n, "initiator", ctx, "type: iscsi and type: iscsi-direct");
			forbid(L, n, "chap", ctx, "type: iscsi and type: iscsi-direct");
		}
	}
	/* kept even when invalid: refs name owners by index */
	if (st->name)
		define(L, KIND_STORAGE, st->name, &st->pos);
	L->c->n_storages++;
}

static const char *const formats[] = { "qcow2", "raw" };

static void load_image(struct loader *L, const struct vf_node *n, size_t idx)
{
	static const char *const keys[] = { "name", "file", "storage", "format" };
	struct vf_image *im;
	const char *ctx;
	int e;

	if (!want_map(L, n, "an image"))
		return;
	VF_GROW(L->c->images, L->c->n_images + 1, L->c->alloc_images);
	im = &L->c->images[L->c->n_images];
	im->pos = n->pos;
	im->name = get_name(L, n, "name", true, ctx_name(L, "image", NULL, idx));
	ctx = ctx_name(L, "image", im->name, idx);
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	im->file = get_str(L, n, "file", true, ctx);
	if (im->file) {
		char *p = im->file[0] == '/' || !L->dir ? xstrdup(im->file)
						       : xasprintf("%s/%s", L->dir, im->file);
		char *why = NULL, *real = NULL, *root = vf_image_root(im->file, L->dir, &why);
		if (!root) {
			ERR(L, &vf_map_get(n, "file")->pos,
			    L->dir ? "keep the image beside the configuration (a relative path), or "
				     "have the operator allow its directory with VIRTFORM_IMAGE_PATH=DIR "
				     "in the environment of the machine that runs virtform"
				   : "name the image by its absolute path in a directory the operator "
				     "allows with VIRTFORM_IMAGE_PATH=DIR in the environment of the "
				     "machine that runs virtform",
			    "%s: file %s", ctx, why);
		} else if (access(p, F_OK) == 0 && vf_image_open_check(p, root, &real, &why) < 0) {
			ERR(L, &vf_map_get(n, "file")->pos,
			    "replace the link with the file, or have the operator allow the target's "
			    "directory with VIRTFORM_IMAGE_PATH=DIR", "%s: %s", ctx, why);
		} else {
			im->file_path = vf_arena_strdup(&L->c->arena, p);
			im->file_root = vf_arena_strdup(&L->c->arena, root);
		}
		free(why);
		free(real);
		free(root);
		free(p);
	}
	im->storage = get_name(L, n, "storage", true, ctx);
	add_ref(L, REF_IMAGE_STORAGE, L->c->n_images, 0, im->storage, pos_of(n, "storage"), ctx);
	e = get_enum(L, n, "format", false, formats, VF_ARRAY_SIZE(formats), 0, ctx);
	im->format = e < 0 ? VF_FORMAT_QCOW2 : (enum vf_image_format)e;
	/* kept even when invalid: refs name owners by index */
	if (im->name)
		define(L, KIND_IMAGE, im->name, &im->pos);
	L->c->n_images++;
}

static void load_disk(struct loader *L, const struct vf_node *n, struct vf_disk *dk,
		      const char *vm_ctx, size_t idx)
{
	static const char *const keys[] = { "name", "size", "storage", "image", "format", "keep" };
	const char *ctx;
	int e;

	dk->pos = n->pos;
	dk->name = get_name(L, n, "name", true, ctx_join(L, vm_ctx, "disk", NULL, idx));
	ctx = ctx_join(L, vm_ctx, "disk", dk->name, idx);
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	dk->image = get_name(L, n, "image", false, ctx);
	dk->size = get_size(L, n, "size", !vf_map_pair(n, "image"), VF_DISK_SIZE_MAX, ctx);
	dk->storage = get_name(L, n, "storage", true, ctx);
	e = get_enum(L, n, "format", false, formats, VF_ARRAY_SIZE(formats), 0, ctx);
	dk->format = e < 0 ? VF_FORMAT_QCOW2 : (enum vf_image_format)e;
	dk->keep = get_bool(L, n, "keep", false, ctx);
}

static void load_nic(struct loader *L, const struct vf_node *n, struct vf_nic *nic,
		     const char *vm_ctx, size_t idx)
{
	static const char *const keys[] = { "network", "mac", "model" };
	static const char *const models[] = { "virtio", "e1000", "rtl8139" };
	const char *ctx, *mac;
	int e;

	nic->pos = n->pos;
	ctx = ctx_join(L, vm_ctx, "nic", NULL, idx);
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	nic->network = get_name(L, n, "network", true, ctx);
	mac = get_str(L, n, "mac", false, ctx);
	if (mac) {
		const struct vf_node *v = vf_map_get(n, "mac");
		if (!vf_mac_parse(mac, nic->mac))
			ERR(L, &v->pos, "write six hex pairs, like \"52:54:00:12:34:56\" (quoted)",
			    "%s: mac '%s' is not a MAC address", ctx, mac);
		else if (nic->mac[0] & 1)
			ERR(L, &v->pos, "use the 52:54:00 prefix for VMs",
			    "%s: mac '%s' is a multicast address", ctx, mac);
		else
			nic->has_mac = true;
	}
	e = get_enum(L, n, "model", false, models, VF_ARRAY_SIZE(models), 0, ctx);
	nic->model = models[e < 0 ? 0 : e];
}

static bool get_sealed(struct loader *L, const struct vf_node *v, const char *key,
		       const char *ctx, struct vf_secret_ref *out);

/* Is the listen address a loopback one (127.0.0.0/8, ::1)?  Anything else
 * reaches the console from the network. */
static bool listen_loopback(const char *listen)
{
	uint32_t a;

	return !strcmp(listen, "::1") ||
	       (vf_ipv4_parse(listen, &a, NULL, false) && (a >> 24) == 127);
}

/*
 * graphics: password: {sealed: ...} (opened by apply only, docs/secrets.md),
 * and the rule that a console listening beyond loopback has one: the
 * admin address is never exposed without a password.  type: the type's
 * index (0 none, -1 after an error).
 */
static void load_graphics_password(struct loader *L, const struct vf_node *g, struct vf_vm *vm,
				   int type, const char *c)
{
	const struct vf_node *v = vf_map_get(g, "password");

	if (v && type == 0) {
		ERR(L, &vf_map_pair(g, "password")->key->pos, "remove it",
		    "%s: 'password' applies only to type: vnc and type: spice", c);
		return;
	}
	if (v && v->kind == VF_NODE_MAP)
		get_sealed(L, v, "password", c, &vm->graphics_password);
	else if (v)
		ERR(L, &v->pos,
		    "write password: {sealed: \"...\"} with what 'virtform seal --public-key "
		    "virtform.pub' prints (it reads the password on stdin), and change the password: "
		    "a clear one committed to git stays in its history",
		    "%s: the password must be sealed", c);
	if (type != 0 && !v && !listen_loopback(vm->graphics_listen))
		ERR(L, &vf_map_get(g, "listen")->pos,
		    "add password: {sealed: \"...\"} (virtform seal), or listen on 127.0.0.1 and "
		    "reach the console through an ssh tunnel",
		    "%s: listen '%s' exposes the console to the network without a password", c,
		    vm->graphics_listen);
}

static void load_graphics(struct loader *L, const struct vf_node *map, struct vf_vm *vm,
			  const char *ctx)
{
	static const char *const types[] = { "none", "vnc", "spice" };
	static const char *const keys[] = { "type", "listen", "port", "password" };
	const struct vf_node *g = vf_map_get(map, "graphics");
	bool ok;
	int e;

	vm->graphics = VF_GRAPHICS_VNC;
	vm->graphics_listen = "127.0.0.1";
	vm->graphics_port = -1;
	if (!g)
		return;
	if (g->kind == VF_NODE_MAP) {
		char *c = xasprintf("%s: graphics", ctx);
		const char *listen;
		check_keys(L, g, c, keys, VF_ARRAY_SIZE(keys));
		e = get_enum(L, g, "type", true, types, VF_ARRAY_SIZE(types), 1, c);
		listen = get_str(L, g, "listen", false, c);
		if (listen) {
			uint32_t a;
			if (!vf_ipv4_parse(listen, &a, NULL, false) && strcmp(listen, "::1") &&
			    strcmp(listen, "::"))
				ERR(L, &vf_map_get(g, "listen")->pos, "write an IP address such as 127.0.0.1",
				    "%s: listen '%s' is not an IP address", c, listen);
			else
				vm->graphics_listen = listen;
		}
		if (vf_map_pair(g, "port"))
			vm->graphics_port = (int)get_uint(L, g, "port", false, 5900, 65535, 0, c, &ok);
		load_graphics_password(L, g, vm, e, c);
		free(c);
	} else {
		e = get_enum(L, map, "graphics", false, types, VF_ARRAY_SIZE(types), 1, ctx);
	}
	vm->graphics = e < 0 ? VF_GRAPHICS_VNC : (enum vf_graphics_type)e;
}

/* ---- cloud_init ------------------------------------------------------- */

/*
 * A sealed value {sealed: "<base64>"} at v, the value of key: its shape
 * only (validate has no key).  Returns false after an error.
 */
static bool get_sealed(struct loader *L, const struct vf_node *v, const char *key,
		       const char *ctx, struct vf_secret_ref *out)
{
	static const char *const keys[] = { "sealed" };
	const struct vf_node *s;
	const char *why;
	char *c = xasprintf("%s: %s", ctx, key), *text, *p;
	size_t i;

	check_keys(L, v, c, keys, VF_ARRAY_SIZE(keys));
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

/* A plain scalar the YAML 1.2 core way: null, true/false, integer, float. */
static json_t *scalar_json(const struct vf_node *v)
{
	const char *t = v->u.text, *p = t;
	char *end;

	if (v->plain) {
		if (vf_node_is_null(v))
			return json_null();
		if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE"))
			return json_true();
		if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE"))
			return json_false();
		if (*p == '-' || *p == '+')
			p++;
		if (*p >= '0' && *p <= '9' && strspn(p, "0123456789") == strlen(p)) {
			long long n;
			errno = 0;
			n = strtoll(t, &end, 10);
			if (!errno && !*end)
				return json_integer(n);
		} else if (*p && strspn(p, "0123456789.eE+-") == strlen(p) && strpbrk(p, "0123456789")) {
			double x = strtod(t, &end);
			if (!*end)
				return json_real(x);
		}
	}
	return json_stringn(t, v->n);
}

/* A YAML subtree as JSON; NULL when a string is not UTF-8 (reported). */
static json_t *node_json(struct loader *L, const struct vf_node *v, const char *ctx)
{
	json_t *j;
	uint32_t i;

	switch (v->kind) {
	case VF_NODE_SCALAR:
		j = scalar_json(v);
		if (!j)
			ERR(L, &v->pos, NULL, "%s: not a UTF-8 string", ctx);
		return j;
	case VF_NODE_SEQ:
		j = json_array();
		for (i = 0; i < v->n; i++) {
			json_t *it = node_json(L, v->u.items[i], ctx);
			if (!it) {
				json_decref(j);
				return NULL;
			}
			json_array_append_new(j, it);
		}
		return j;
	default:
		j = json_object();
		for (i = 0; i < v->n; i++) {
			const struct vf_node *k = v->u.pairs[i].key;
			json_t *it;
			char *key = xstrndup(k->u.text, k->n);
			it = node_json(L, v->u.pairs[i].value, ctx);
			if (!it || json_object_set_new(j, key, it) < 0) {
				if (it)
					ERR(L, &k->pos, NULL, "%s: key is not a UTF-8 string", ctx);
				free(key);
				json_decref(j);
				return NULL;
			}
			free(key);
		}
		return j;
	}
}

/* RFC 1123 host name: labels of letters, digits and '-', dots between. */
static bool hostname_valid(const char *s)
{
	size_t label = 0, i, n = strlen(s);

	if (!n || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   (c == '-' && label)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label && s[n - 1] != '-';
}

/* A login name as useradd takes it by default: [a-z_][a-z0-9_-]{0,31}. */
static bool login_valid(const char *s)
{
	size_t i;
	if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (i = 1; s[i]; i++)
		if (i >= 32 || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
				 s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* The first lines cloud-init recognizes user-data by (anything else it
 * ignores, silently: better said at validate). */
static bool user_data_recognized(const char *s)
{
	static const char *const starts[] = { "#cloud-config", "#!", "#include", "#cloud-boothook",
					      "#part-handler", "#upstart-job", "## template:",
					      "Content-Type:", "MIME-Version:" };
	size_t i;
	for (i = 0; i < VF_ARRAY_SIZE(starts); i++)
		if (!strncmp(s, starts[i], strlen(starts[i])))
			return true;
	return false;
}

static void load_ci_user(struct loader *L, const struct vf_node *n, struct vf_cloud_init_user *u,
			 const char *ci_ctx, size_t idx)
{
	static const char *const keys[] = { "name", "ssh_authorized_keys", "password", "sudo",
					    "shell" };
	const struct vf_node *v;
	const char *ctx;
	size_t i;

	u->pos = n->pos;
	u->name = get_str(L, n, "name", true, ctx_join(L, ci_ctx, "user", NULL, idx));
	if (u->name && !login_valid(u->name)) {
		ERR(L, &vf_map_get(n, "name")->pos,
		    "a lowercase letter or '_', then up to 31 lowercase letters, digits, '_' or '-'",
		    "%s: '%s' is not a login name", ctx_join(L, ci_ctx, "user", NULL, idx), u->name);
		u->name = NULL;
	}
	ctx = ctx_join(L, ci_ctx, "user", u->name, idx);
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	v = vf_map_get(n, "ssh_authorized_keys");
	if (v && want_seq(L, v, "ssh_authorized_keys")) {
		u->ssh_authorized_keys = vf_arena_alloc(&L->c->arena, (v->n + 1) * sizeof(char *));
		for (i = 0; i < v->n; i++) {
			const struct vf_node *k = v->u.items[i];
			if (k->kind != VF_NODE_SCALAR || vf_node_is_null(k) || !k->n ||
			    strlen(k->u.text) != k->n) {
				ERR(L, &k->pos, "write one public key per entry: 'ssh-ed25519 AAAA... comment'",
				    "%s: ssh_authorized_keys entries must be strings, not %s", ctx,
				    vf_node_describe(k));
				continue;
			}
			if (strstr(k->u.text, "PRIVATE KEY")) {
				ERR(L, &k->pos, "give the public key (the .pub file), and treat this one as leaked",
				    "%s: ssh_authorized_keys entry %zu is a private key", ctx, i + 1);
				continue;
			}
			if (strchr(k->u.text, '\n')) {
				ERR(L, &k->pos, "write one public key per entry",
				    "%s: ssh_authorized_keys entry %zu spans several lines", ctx, i + 1);
				continue;
			}
			u->ssh_authorized_keys[u->n_ssh_authorized_keys++] = k->u.text;
		}
	}
	v = vf_map_get(n, "password");
	if (v) {
		if (v->kind == VF_NODE_MAP)
			get_sealed(L, v, "password", ctx, &u->password);
		else
			ERR(L, &v->pos,
			    "write password: {sealed: \"...\"} with what it prints, and change the "
			    "password: a clear one committed to git stays in its history",
			    "%s: passwords must be sealed: virtform seal --public-key virtform.pub reads "
			    "the password on stdin", ctx);
	}
	u->sudo = get_str(L, n, "sudo", false, ctx);
	if (u->sudo && strchr(u->sudo, '\n')) {
		ERR(L, &vf_map_get(n, "sudo")->pos, "for example \"ALL=(ALL) NOPASSWD:ALL\"",
		    "%s: sudo must be one sudoers rule, on one line", ctx);
		u->sudo = NULL;
	}
	u->shell = get_abspath(L, n, "shell", false, ctx);
}

static void load_cloud_init(struct loader *L, const struct vf_node *vmnode, struct vf_vm *vm,
			    const char *vm_ctx)
{
	static const char *const keys[] = { "hostname", "users", "user_data", "network_config" };
	struct vf_cloud_init *ci = &vm->cloud_init;
	const struct vf_node *n = vf_map_get(vmnode, "cloud_init"), *v;
	char *ctx, *nc;
	size_t i;

	if (!n)
		return;
	ctx = xasprintf("%s: cloud_init", vm_ctx);
	if (!want_map(L, n, ctx)) {
		free(ctx);
		return;
	}
	ci->given = true;
	ci->pos = n->pos;
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));

	ci->hostname = get_str(L, n, "hostname", false, ctx);
	if (ci->hostname && !hostname_valid(ci->hostname)) {
		ERR(L, &vf_map_get(n, "hostname")->pos,
		    "letters, digits and '-' (not first or last), up to 63 per label, labels joined by '.'",
		    "%s: hostname '%s' is not a valid host name", ctx, ci->hostname);
		ci->hostname = NULL;
	} else if (!vf_map_pair(n, "hostname") && vm->name) {
		if (hostname_valid(vm->name))
			ci->hostname = vm->name;
		else
			ERR(L, &n->pos, "give cloud_init a 'hostname:'",
			    "%s: the vm's name is not a valid host name ('_' or a trailing '.' or '-'), "
			    "so it cannot be the default hostname", ctx);
	}

	v = vf_map_get(n, "users");
	if (v && want_seq(L, v, "users")) {
		ci->users = vf_arena_alloc(&L->c->arena, (v->n + 1) * sizeof(*ci->users));
		for (i = 0; i < v->n; i++) {
			const struct vf_node *it = v->u.items[i];
			struct vf_cloud_init_user *u = &ci->users[ci->n_users];
			size_t j;
			if (!want_map(L, it, "a cloud_init user"))
				continue;
			load_ci_user(L, it, u, ctx, i);
			if (!u->name)
				continue;
			for (j = 0; j < ci->n_users; j++)
				if (!strcmp(ci->users[j].name, u->name))
					break;
			if (j < ci->n_users) {
				ERR(L, &u->pos, "merge the two entries",
				    "%s: user '%s' is defined twice (first at line %u)", ctx, u->name,
				    ci->users[j].pos.line);
				continue;
			}
			ci->n_users++;
		}
	}

	v = vf_map_get(n, "user_data");
	if (v) {
		if (vf_map_pair(n, "users"))
			ERR(L, &vf_map_pair(n, "users")->key->pos,
			    "write the users in user_data, or leave user_data out and virtform writes it",
			    "%s: users and user_data exclude each other: user_data is the whole user-data",
			    ctx);
		if (v->kind == VF_NODE_MAP) {
			get_sealed(L, v, "user_data", ctx, &ci->user_data_sealed);
		} else {
			ci->user_data = get_str(L, n, "user_data", false, ctx);
			if (ci->user_data && !user_data_recognized(ci->user_data)) {
				ERR(L, &v->pos,
				    "start it with '#cloud-config' (YAML) or '#!' (a script); write it as a "
				    "block: 'user_data: |'",
				    "%s: cloud-init ignores user_data that does not start with a line it "
				    "recognizes", ctx);
				ci->user_data = NULL;
			}
		}
	}

	v = vf_map_get(n, "network_config");
	nc = xasprintf("%s: network_config", ctx);
	if (v && want_map(L, v, nc)) {
		const struct vf_node *inner = vf_map_get(v, "network"), *ver;
		json_t *j;
		bool ok = false;

		ci->network_config_pos = v->pos;
		if (inner && inner->kind == VF_NODE_MAP && !vf_map_get(v, "version"))
			ver = vf_map_get(inner, "version") ? inner : NULL;
		else
			ver = v;
		if (!ver || !vf_map_get(ver, "version"))
			ERR(L, &v->pos, "add 'version: 2' (netplan style) or 'version: 1'",
			    "%s: network_config has no version", ctx);
		else
			get_uint(L, ver, "version", true, 1, 2, 0, nc, &ok);
		/* kept as JSON text: the tree goes once the file is read */
		if (ver && ok && (j = node_json(L, v, nc))) {
			char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
			ci->network_config = vf_arena_strdup(&L->c->arena, text);
			free(text);
			json_decref(j);
		}
	}
	free(nc);
	free(ctx);
}

static void load_vm(struct loader *L, const struct vf_node *n, size_t idx)
{
	static const char *const keys[] = { "name", "cluster", "host", "cpus", "max_cpus",
					    "memory", "max_memory", "restart_policy", "state",
					    "autostart", "firmware", "graphics", "disks", "nics",
					    "ha", "protect", "shutdown_timeout", "description",
					    "labels", "cloud_init" };
	static const char *const policies[] = { "never", "allow" };
	static const char *const states[] = { "running", "stopped" };
	static const char *const fws[] = { "bios", "efi" };
	static const char *const prios[] = { "low", "medium", "high" };
	static const char *const hakeys[] = { "enabled", "priority" };
	const struct vf_node *v;
	struct vf_vm *vm;
	const char *ctx;
	bool ok;
	size_t i;
	int e;

	if (!want_map(L, n, "a vm"))
		return;
	VF_GROW(L->c->vms, L->c->n_vms + 1, L->c->alloc_vms);
	vm = &L->c->vms[L->c->n_vms];
	vm->pos = n->pos;
	vm->name = get_name(L, n, "name", true, ctx_name(L, "vm", NULL, idx));
	ctx = ctx_name(L, "vm", vm->name, idx);
	check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	vm->cluster = get_name(L, n, "cluster", false, ctx);
	add_ref(L, REF_VM_CLUSTER, L->c->n_vms, 0, vm->cluster, pos_of(n, "cluster"), ctx);
	vm->host = get_name(L, n, "host", false, ctx);
	add_ref(L, REF_VM_HOST, L->c->n_vms, 0, vm->host, pos_of(n, "host"), ctx);
	vm->cpus = (unsigned)get_uint(L, n, "cpus", true, 1, 4096, 1, ctx, &ok);
	vm->memory = get_size(L, n, "memory", true, VF_MEMORY_MAX, ctx);
	if (vm->memory && (vm->memory % 1024 || vm->memory < (16u << 20)))
		ERR(L, &vf_map_get(n, "memory")->pos, "for example 256MiB",
		    "%s: memory must be a whole number of KiB and at least 16 MiB", ctx);
	if (vf_map_pair(n, "max_cpus")) {
		vm->max_cpus = (unsigned)get_uint(L, n, "max_cpus", false, 1, 4096, 0, ctx, &ok);
		if (ok && vm->cpus && vm->max_cpus < vm->cpus)
			ERR(L, &vf_map_get(n, "max_cpus")->pos,
			    "raise max_cpus, or leave it out (default: room to double cpus)",
			    "%s: max_cpus (%u) is less than cpus (%u)", ctx, vm->max_cpus, vm->cpus);
	}
	if (vf_map_pair(n, "max_memory")) {
		vm->max_memory = get_size(L, n, "max_memory", false, VF_MEMORY_MAX, ctx);
		if (vm->max_memory && vm->max_memory % 1024)
			ERR(L, &vf_map_get(n, "max_memory")->pos, "for example 4GiB",
			    "%s: max_memory must be a whole number of KiB", ctx);
		else if (vm->max_memory && vm->memory && vm->max_memory < vm->memory) {
			char mx[32], mem[32];
			vf_size_format(vm->max_memory, mx, sizeof(mx));
			vf_size_format(vm->memory, mem, sizeof(mem));
			ERR(L, &vf_map_get(n, "max_memory")->pos,
			    "raise max_memory, or leave it out (default: memory)",
			    "%s: max_memory (%s) is less than memory (%s)", ctx, mx, mem);
		}
	}
	e = get_enum(L, n, "restart_policy", false, policies, VF_ARRAY_SIZE(policies), 0, ctx);
	vm->restart_allowed = e == 1;
	e = get_enum(L, n, "state", false, states, VF_ARRAY_SIZE(states), 0, ctx);
	vm->state = e < 0 ? VF_VM_STATE_RUNNING : (enum vf_vm_state)e;
	vm->autostart = get_bool(L, n, "autostart", false, ctx);
	e = get_enum(L, n, "firmware", false, fws, VF_ARRAY_SIZE(fws), 0, ctx);
	vm->firmware = e < 0 ? VF_FIRMWARE_BIOS : (enum vf_firmware)e;
	load_graphics(L, n, vm, ctx);
	vm->protect = get_bool(L, n, "protect", false, ctx);
	vm->shutdown_timeout = (unsigned)get_uint(L, n, "shutdown_timeout", false, 1, 3600, 60, ctx, &ok);
	vm->description = get_str(L, n, "description", false, ctx);
	vm->labels = get_labels(L, n, "labels", &vm->n_labels, ctx, true);
	load_cloud_init(L, n, vm, ctx);

	vm->ha_priority = VF_HA_PRIORITY_LOW;
	v = vf_map_get(n, "ha");
	if (v && want_map(L, v, "ha")) {
		char *c = xasprintf("%s: ha", ctx);
		check_keys(L, v, c, hakeys, VF_ARRAY_SIZE(hakeys));
		vm->ha_enabled = get_bool(L, v, "enabled", false, c);
		e = get_enum(L, v, "priority", false, prios, VF_ARRAY_SIZE(prios), 0, c);
		vm->ha_priority = e < 0 ? VF_HA_PRIORITY_LOW : (enum vf_ha_priority)e;
		free(c);
	}

	v = vf_map_get(n, "disks");
	if (v && want_seq(L, v, "disks")) {
		vm->disks = vf_arena_alloc(&L->c->arena, (v->n + 1) * sizeof(*vm->disks));
		for (i = 0; i < v->n; i++) {
			const struct vf_node *it = v->u.items[i];
			struct vf_disk *dk = &vm->disks[vm->n_disks];
			size_t j;
			if (!want_map(L, it, "a disk"))
				continue;
			load_disk(L, it, dk, ctx, i);
			if (!dk->name)
				continue;
			for (j = 0; j < vm->n_disks; j++)
				if (!strcmp(vm->disks[j].name, dk->name))
					break;
			if (j < vm->n_disks) {
				ERR(L, &dk->pos, "rename one of them",
				    "%s: disk '%s' is defined twice (first at line %u)", ctx, dk->name,
				    vm->disks[j].pos.line);
				continue;
			}
			add_ref(L, REF_DISK_STORAGE, L->c->n_vms, vm->n_disks, dk->storage,
				pos_of(it, "storage"), ctx);
			add_ref(L, REF_DISK_IMAGE, L->c->n_vms, vm->n_disks, dk->image,
				pos_of(it, "image"), ctx);
			vm->n_disks++;
		}
	}
	v = vf_map_get(n, "nics");
	if (v && want_seq(L, v, "nics")) {
		vm->nics = vf_arena_alloc(&L->c->arena, (v->n + 1) * sizeof(*vm->nics));
		for (i = 0; i < v->n; i++) {
			const struct vf_node *it = v->u.items[i];
			if (!want_map(L, it, "a nic"))
				continue;
			load_nic(L, it, &vm->nics[vm->n_nics], ctx, i);
			add_ref(L, REF_NIC_NETWORK, L->c->n_vms, vm->n_nics, vm->nics[vm->n_nics].network,
				pos_of(it, "network"), ctx);
			vm->n_nics++;
		}
	}
	/* kept even when invalid: refs name owners by index */
	if (vm->name)
		define(L, KIND_VM, vm->name, &vm->pos);
	L->c->n_vms++;
}

/* ---- files ------------------------------------------------------------ */

typedef void (*load_fn)(struct loader *, const struct vf_node *, size_t);

static void load_document(struct loader *L, const struct vf_node *root)
{
	static const char *const keys[] = { "version", "project", "clusters", "hosts", "networks",
					    "storage_domains", "images", "vms" };
	static const load_fn loaders[] = { NULL, NULL, load_cluster, load_host, load_network,
					   load_storage, load_image, load_vm };
	size_t i, k;

	if (root->kind != VF_NODE_MAP) {
		ERR(L, &root->pos, "start with 'version: 1' and lists such as 'hosts:' and 'vms:'",
		    "the top level must be a mapping, not %s", vf_node_describe(root));
		return;
	}
	check_keys(L, root, NULL, keys, VF_ARRAY_SIZE(keys));
	if (vf_map_pair(root, "version")) {
		bool ok;
		unsigned long long v = get_uint(L, root, "version", false, 0, ~0u, 0, "configuration", &ok);
		L->saw_version = true;
		if (ok && v != VF_CONFIG_VERSION)
			ERR(L, &vf_map_get(root, "version")->pos, "write 'version: 1'",
			    "unsupported configuration version %llu; this virtform reads version %d",
			    v, VF_CONFIG_VERSION);
		else if (ok)
			L->c->version = (unsigned)v;
	}
	if (vf_map_pair(root, "project")) {
		const char *p = get_name(L, root, "project", false, "configuration");
		const struct vf_pos *pos = &vf_map_get(root, "project")->pos;
		if (p && L->c->project && strcmp(p, L->c->project))
			ERR(L, pos, "give 'project:' once, or the same value in every file",
			    "project '%s' differs from project '%s' at %s:%u:%u", p, L->c->project,
			    L->project_pos.file, L->project_pos.line, L->project_pos.col);
		else if (p && !L->c->project) {
			L->c->project = vf_arena_strdup(&L->c->arena, p);
			L->project_pos = *pos;
		}
	}
	for (k = 2; k < VF_ARRAY_SIZE(keys); k++) {
		const struct vf_node *list = vf_map_get(root, keys[k]);
		if (!list || vf_node_is_null(list))
			continue;    /* "vms:" with nothing yet is fine */
		if (!want_seq(L, list, keys[k]))
			continue;
		for (i = 0; i < list->n; i++)
			loaders[k](L, list->u.items[i], i);
	}
}

/* Read a whole file (at most VF_CONFIG_FILE_MAX bytes). */
static char *read_file(struct loader *L, const char *path, size_t *len)
{
	struct vf_pos pos = { L->file, 1, 1 };   /* file-level problems: the top */
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ERR(L, &pos, NULL, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		ERR(L, &pos, NULL, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ERR(L, &pos, NULL, "not a regular file");
		goto fail;
	}
	if ((unsigned long long)st.st_size > VF_CONFIG_FILE_MAX) {
		ERR(L, &pos, "split the configuration into several files in one directory",
		    "file is larger than %u MiB", VF_CONFIG_FILE_MAX >> 20);
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	for (;;) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ERR(L, &pos, NULL, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > (size_t)st.st_size) {
			/* it grew while we read it */
			ERR(L, &pos, NULL, "file changed while being read");
			goto fail;
		}
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

static void load_text(struct loader *L, const char *buf, size_t len);

static void load_file(struct loader *L, const char *path)
{
	char *buf, *slash;
	size_t len;

	L->file = vf_arena_strdup(&L->c->arena, path);
	slash = strrchr(path, '/');
	L->dir = slash ? vf_arena_strndup(&L->c->arena, path, (size_t)(slash - path)) : ".";
	if (slash == path)
		L->dir = "/";
	VF_GROW(L->c->files, L->c->n_files + 1, L->c->alloc_files);
	L->c->files[L->c->n_files++] = L->file;

	buf = read_file(L, path, &len);
	if (!buf) {
		L->unreadable = true;
		return;
	}
	load_text(L, buf, len);
	free(buf);
}

/* Parse and type the text of L->file (buf[len] is NUL). */
static void load_text(struct loader *L, const char *buf, size_t len)
{
	struct vf_node *root;
	struct vf_arena tree = VF_ARENA_INIT;
	bool empty;

	/* The model keeps the scalars' texts (config arena), never a node:
	 * the tree goes once the file is read (16 MiB at 10,000 VMs). */
	root = vf_yaml_parse(&tree, &L->c->arena, L->file, buf, len, L->d, &empty);
	if (empty) {
		struct vf_pos pos = { L->file, 1, 1 };
		ERR(L, &pos, "start with 'version: 1'", "the file is empty");
		L->unreadable = true;
	} else if (root) {
		load_document(L, root);
	} else {
		L->unreadable = true;
	}
	vf_arena_release(&tree);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_yaml_name(const char *n)
{
	size_t l = strlen(n);
	if (n[0] == '.')
		return false;
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

static void load_dir(struct loader *L, const char *path)
{
	struct vf_pos pos = { path, 0, 0 };
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	struct dirent *de;
	DIR *d;

	d = opendir(path);
	if (!d) {
		ERR(L, &pos, NULL, "cannot open directory: %s", strerror(errno));
		L->unreadable = true;
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		char *full;
		if (!is_yaml_name(de->d_name))
			continue;
		full = xasprintf("%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", de->d_name);
		if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(full);
			continue;
		}
		VF_GROW(names, n + 1, alloc);
		names[n++] = full;
	}
	closedir(d);
	if (!n) {
		ERR(L, &pos, "put the configuration in *.yaml or *.yml files, or name a file",
		    "no *.yaml or *.yml files in this directory");
		L->unreadable = true;
		free(names);
		return;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		load_file(L, names[i]);
		free(names[i]);
	}
	free(names);
}

/* ---- references --------------------------------------------------------- */

/*
 * Resolve name (of kind k) or report it at pos, with the nearest defined
 * name as a hint.  map: the kind's name -> object map.
 */
static void *resolve(struct loader *L, const struct vf_strmap *map, enum kind k, const char *name,
		     const struct vf_pos *pos, const char *ctx)
{
	const char *cands[256];
	const char *near;
	char *hint = NULL;
	size_t i, n = 0;
	void *obj = vf_strmap_get(map, name);

	if (obj)
		return obj;
	for (i = 0; i < map->cap && n < VF_ARRAY_SIZE(cands); i++)
		if (map->slots[i].key)
			cands[n++] = map->slots[i].key;
	near = vf_nearest(name, cands, n);
	if (near)
		hint = xasprintf("did you mean '%s'?", near);
	else if (!n)
		hint = xasprintf("no %s is defined", kind_names[k]);
	ERR(L, pos, hint, "%s: %s '%s' is not defined", ctx, kind_names[k], name);
	free(hint);
	return NULL;
}

bool vf_cluster_in_scope(struct vf_cluster *const *refs, size_t n, const struct vf_cluster *cl)
{
	size_t i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (refs[i] == cl)
			return true;
	return false;
}

static enum kind ref_kind(enum ref_role role)
{
	switch (role) {
	case REF_HOST_CLUSTER:
	case REF_NETWORK_CLUSTER:
	case REF_STORAGE_CLUSTER:
	case REF_VM_CLUSTER:
		return KIND_CLUSTER;
	case REF_VM_HOST:
		return KIND_HOST;
	case REF_IMAGE_STORAGE:
	case REF_DISK_STORAGE:
		return KIND_STORAGE;
	case REF_DISK_IMAGE:
		return KIND_IMAGE;
	case REF_NIC_NETWORK:
		return KIND_NETWORK;
	}
	return KIND_CLUSTER;
}

/* Where the resolved pointer of r goes. */
static void **ref_slot(struct vf_config *c, const struct ref *r)
{
	switch (r->role) {
	case REF_HOST_CLUSTER:
		return (void **)&c->hosts[r->owner].cluster_ref;
	case REF_NETWORK_CLUSTER:
		return (void **)&c->networks[r->owner].cluster_refs[r->sub];
	case REF_STORAGE_CLUSTER:
		return (void **)&c->storages[r->owner].cluster_refs[r->sub];
	case REF_IMAGE_STORAGE:
		return (void **)&c->images[r->owner].storage_ref;
	case REF_VM_CLUSTER:
		return (void **)&c->vms[r->owner].cluster_ref;
	case REF_VM_HOST:
		return (void **)&c->vms[r->owner].host_ref;
	case REF_DISK_STORAGE:
		return (void **)&c->vms[r->owner].disks[r->sub].storage_ref;
	case REF_DISK_IMAGE:
		return (void **)&c->vms[r->owner].disks[r->sub].image_ref;
	case REF_NIC_NETWORK:
		return (void **)&c->vms[r->owner].nics[r->sub].network_ref;
	}
	return NULL;
}

/*
 * virtform makes a disk or an image as a volume of its storage domain: an
 * iSCSI target's LUNs are made on the storage array, never by libvirt (its
 * iscsi and iscsi-direct pools cannot create volumes).
 */
static void check_volume_storage(struct loader *L, const struct ref *r, const char *disk,
				 const struct vf_storage *st)
{
	if (!st || (st->type != VF_STORAGE_ISCSI && st->type != VF_STORAGE_ISCSI_DIRECT))
		return;
	ERR(L, &r->pos, "put it on a storage domain of type dir, nfs or logical: an iSCSI "
	    "target's LUNs are made on the storage array, not by libvirt",
	    "%s%s%s%s: storage domain '%s' is of type %s, where virtform cannot create volumes",
	    r->ctx, disk ? ": disk '" : "", disk ? disk : "", disk ? "'" : "", st->name,
	    st->type == VF_STORAGE_ISCSI ? "iscsi" : "iscsi-direct");
}

/* The rules that span objects, once every reference is resolved. */
static void check_ref(struct loader *L, const struct ref *r)
{
	struct vf_config *c = L->c;
	const struct vf_vm *vm;

	switch (r->role) {
	case REF_VM_HOST:
		vm = &c->vms[r->owner];
		if (vm->host_ref && vm->cluster_ref && vm->host_ref->cluster_ref &&
		    vm->host_ref->cluster_ref != vm->cluster_ref)
			ERR(L, &r->pos, "pin it to a host of its cluster, or change its cluster",
			    "%s: host '%s' is in cluster '%s', not in the vm's cluster '%s'", r->ctx,
			    vm->host, vm->host_ref->cluster, vm->cluster);
		break;
	case REF_DISK_STORAGE: {
		const struct vf_storage *st;
		vm = &c->vms[r->owner];
		st = vm->disks[r->sub].storage_ref;
		if (st && vm->cluster_ref && !vf_cluster_in_scope(st->cluster_refs, st->n_clusters, vm->cluster_ref))
			ERR(L, &r->pos, "add the cluster to the storage domain's 'clusters:'",
			    "%s: storage domain '%s' is not available in cluster '%s'", r->ctx, st->name,
			    vm->cluster);
		check_volume_storage(L, r, vm->disks[r->sub].name, st);
		break;
	}
	case REF_IMAGE_STORAGE:
		check_volume_storage(L, r, NULL, c->images[r->owner].storage_ref);
		break;
	case REF_NIC_NETWORK: {
		const struct vf_network *net;
		vm = &c->vms[r->owner];
		net = vm->nics[r->sub].network_ref;
		if (net && vm->cluster_ref &&
		    !vf_cluster_in_scope(net->cluster_refs, net->n_clusters, vm->cluster_ref))
			ERR(L, &r->pos, "add the cluster to the network's 'clusters:'",
			    "%s: network '%s' is not available in cluster '%s'", r->ctx, net->name,
			    vm->cluster);
		break;
	}
	default:
		break;
	}
}

/* Objects without 'cluster:' belong to the only cluster, if there is one. */
static void default_cluster(struct loader *L, const char **name, struct vf_cluster **ref,
			    const struct vf_pos *pos, const char *what)
{
	struct vf_config *c = L->c;

	if (*name)
		return;
	if (c->n_clusters == 1) {
		*ref = &c->clusters[0];
		*name = c->clusters[0].name;
	} else if (c->n_clusters == 0) {
		ERR(L, pos, "define one under 'clusters:'", "%s has no cluster, and none is defined", what);
	} else {
		ERR(L, pos, "add 'cluster: NAME'", "%s has no cluster (there is more than one to choose from)",
		    what);
	}
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The project — the identity virtform marks the objects it manages with —
 * defaults to the config's cluster names, sorted and joined with '+': it
 * then survives a lost state directory and a moved repository, and two
 * configurations for different clusters never claim each other's VMs.
 */
static void default_project(struct vf_config *c)
{
	const char **names;
	size_t i, n = 0, len = 1;
	char *p;

	names = xcalloc(c->n_clusters + 1, sizeof(*names));
	for (i = 0; i < c->n_clusters; i++) {
		if (!c->clusters[i].name)
			continue;       /* a bad name, already reported */
		names[n] = c->clusters[i].name;
		len += strlen(names[n++]) + 1;
	}
	if (!n) {
		c->project = "default";
		free(names);
		return;
	}
	qsort(names, n, sizeof(*names), str_cmp);
	p = vf_arena_alloc(&c->arena, len);
	for (i = 0; i < n; i++) {
		if (i)
			strcat(p, "+");
		strcat(p, names[i]);
	}
	c->project = p;
	free(names);
}

static void resolve_all(struct loader *L)
{
	struct vf_config *c = L->c;
	struct vf_strmap m[KIND_COUNT] = { { 0 } }, macs = { 0 }, bridges = { 0 };
	size_t i, j;

#define INDEX(K, arr, n)                                               \
	for (i = 0; i < c->n; i++)                                     \
		if (c->arr[i].name)                                    \
			vf_strmap_put(&m[K], c->arr[i].name, &c->arr[i]);
	INDEX(KIND_CLUSTER, clusters, n_clusters)
	INDEX(KIND_HOST, hosts, n_hosts)
	INDEX(KIND_NETWORK, networks, n_networks)
	INDEX(KIND_STORAGE, storages, n_storages)
	INDEX(KIND_IMAGE, images, n_images)
#undef INDEX

	for (i = 0; i < L->n_refs; i++) {
		const struct ref *r = &L->refs[i];
		*ref_slot(c, r) = resolve(L, &m[ref_kind(r->role)], ref_kind(r->role), r->name, &r->pos,
					  r->ctx);
	}
	/* "host 'NAME'", or "host #N" for one whose name is missing or bad */
	for (i = 0; i < c->n_hosts; i++)
		default_cluster(L, &c->hosts[i].cluster, &c->hosts[i].cluster_ref, &c->hosts[i].pos,
				ctx_name(L, "host", c->hosts[i].name, i));
	for (i = 0; i < c->n_vms; i++)
		default_cluster(L, &c->vms[i].cluster, &c->vms[i].cluster_ref, &c->vms[i].pos,
				ctx_name(L, "vm", c->vms[i].name, i));
	for (i = 0; i < L->n_refs; i++)
		check_ref(L, &L->refs[i]);

	for (i = 0; i < c->n_networks; i++) {
		struct vf_network *net = &c->networks[i], *other;
		if (!net->bridge)
			continue;
		other = vf_strmap_put(&bridges, net->bridge, net);
		if (other != net)
			ERR(L, &net->pos, "give one of them another 'bridge:'",
			    "network '%s': bridge '%s' is also used by network '%s'", net->name,
			    net->bridge, other->name);
	}
	for (i = 0; i < c->n_vms; i++) {
		struct vf_vm *vm = &c->vms[i];
		for (j = 0; j < vm->n_nics; j++) {
			struct vf_nic *nic = &vm->nics[j], *other;
			char key[18];
			const char *k;
			if (!nic->has_mac)
				continue;
			snprintf(key, sizeof(key), "%02x:%02x:%02x:%02x:%02x:%02x", nic->mac[0],
				 nic->mac[1], nic->mac[2], nic->mac[3], nic->mac[4], nic->mac[5]);
			k = vf_arena_strdup(&c->arena, key);
			other = vf_strmap_put(&macs, k, nic);
			if (other != nic)
				ERR(L, &nic->pos, "MAC addresses must be unique",
				    "vm '%s': mac %s is also used at %s:%u:%u", vm->name, k,
				    other->pos.file, other->pos.line, other->pos.col);
		}
	}
	if (!c->project)
		default_project(c);
	for (i = 0; i < KIND_COUNT; i++)
		vf_strmap_release(&m[i]);
	vf_strmap_release(&macs);
	vf_strmap_release(&bridges);
}

/* ---- entry points ------------------------------------------------------- */

static struct vf_config *load_finish(struct loader *L, const char *path, size_t errors_before);

struct vf_config *vf_config_load(const char *path, struct vf_diags *diags)
{
	struct vf_config *c = xcalloc(1, sizeof(*c));
	struct loader L = { .c = c, .d = diags };
	size_t errors_before = diags->n_errors;
	struct stat st;

	c->source = vf_arena_strdup(&c->arena, path);
	if (stat(path, &st) < 0) {
		struct vf_pos pos = { path, 0, 0 };
		ERR(&L, &pos, "give a YAML file or a directory of them", "cannot read configuration: %s",
		    strerror(errno));
		L.unreadable = true;
	} else if (S_ISDIR(st.st_mode)) {
		load_dir(&L, path);
	} else {
		load_file(&L, path);
	}
	return load_finish(&L, path, errors_before);
}

struct vf_config *vf_config_load_files(const char *source, const struct vf_config_file *files,
				       size_t n, struct vf_diags *diags)
{
	struct vf_config *c = xcalloc(1, sizeof(*c));
	struct loader L = { .c = c, .d = diags, .dir = NULL };   /* no directory here */
	size_t errors_before = diags->n_errors, i;

	c->source = vf_arena_strdup(&c->arena, source);
	for (i = 0; i < n; i++) {
		char *buf;
		L.file = vf_arena_strdup(&c->arena, files[i].name);
		VF_GROW(c->files, c->n_files + 1, c->alloc_files);
		c->files[c->n_files++] = L.file;
		if (files[i].len > VF_CONFIG_FILE_MAX) {
			struct vf_pos pos = { L.file, 1, 1 };
			ERR(&L, &pos, "split the configuration into several files in one directory",
			    "file is larger than %u MiB", VF_CONFIG_FILE_MAX >> 20);
			L.unreadable = true;
			continue;
		}
		buf = xmalloc(files[i].len + 1);
		memcpy(buf, files[i].data, files[i].len);
		buf[files[i].len] = '\0';
		load_text(&L, buf, files[i].len);
		free(buf);
	}
	if (!n) {
		struct vf_pos pos = { c->source, 0, 0 };
		ERR(&L, &pos, "put the configuration in *.yaml or *.yml files, or name a file",
		    "no *.yaml or *.yml files");
		L.unreadable = true;
	}
	return load_finish(&L, source, errors_before);
}

/* What both entry points do once every file is read: the version, the
 * references, the host links; frees the config on errors. */
static struct vf_config *load_finish(struct loader *Lp, const char *path, size_t errors_before)
{
	struct loader L = *Lp;
	struct vf_config *c = L.c;
	struct vf_diags *diags = L.d;
	size_t i;

	if (diags->n_errors == errors_before && !L.saw_version) {
		struct vf_pos pos = { c->n_files == 1 ? c->files[0] : path, c->n_files == 1 ? 1 : 0, 1 };
		ERR(&L, &pos, "add 'version: 1' at the top", "no 'version' key: the format version is required");
	}
	/* References into a file that did not parse would only add noise. */
	if (!L.unreadable)
		resolve_all(&L);
	/*
	 * Each host's links as host networking would make them: two networks
	 * deriving one link differently, a bad bond option, are mistakes in
	 * the configuration, found here without contacting any host.
	 */
	for (i = 0; diags->n_errors == errors_before && i < c->n_hosts; i++) {
		struct vf_host_links links = { .arena = VF_ARENA_INIT };
		vf_hostnet_desired(c, &c->hosts[i], &links, diags);
		vf_host_links_release(&links);
	}
	for (i = 0; i < KIND_COUNT; i++)
		vf_strmap_release(&L.defined[i]);
	free(L.refs);
	if (diags->n_errors != errors_before) {
		vf_config_free(c);
		return NULL;
	}
	return c;
}

void vf_config_free(struct vf_config *c)
{
	if (!c)
		return;
	free(c->files);
	free(c->clusters);
	free(c->hosts);
	free(c->networks);
	free(c->storages);
	free(c->images);
	free(c->vms);
	vf_arena_release(&c->arena);
	free(c);
}

#define FIND(fn, type, arr, n)                                              \
	type *fn(const struct vf_config *c, const char *name)               \
	{                                                                   \
		size_t i;                                                   \
		for (i = 0; i < c->n; i++)                                  \
			if (!strcmp(c->arr[i].name, name))                  \
				return &c->arr[i];                          \
		return NULL;                                                \
	}

FIND(vf_config_find_cluster, struct vf_cluster, clusters, n_clusters)
FIND(vf_config_find_host, struct vf_host, hosts, n_hosts)
FIND(vf_config_find_network, struct vf_network, networks, n_networks)
FIND(vf_config_find_storage, struct vf_storage, storages, n_storages)
FIND(vf_config_find_image, struct vf_image, images, n_images)
FIND(vf_config_find_vm, struct vf_vm, vms, n_vms)
