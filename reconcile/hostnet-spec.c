/*
 * hostnet-spec.c — the host spec: a host's desired links as JSON, written
 * for a remote host to apply, and the strict parser that reads it back
 * (see hostnet.h).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "reconcile/hostnet-internal.h"
#include "reconcile/json-stream.h"

#define SPEC_FORMAT "virtform-host-spec"
#define SPEC_VERSION 1

json_t *vf_hostnet_spec_json(const char *host, const struct vf_host_links *desired)
{
	json_t *links = json_array();
	size_t i, j;

	for (i = 0; i < desired->n; i++) {
		const struct vf_host_link *d = &desired->items[i];
		json_t *ports = json_array(), *opts = json_object();

		for (j = 0; j < d->n_bond_options; j++)
			json_object_set_new(opts, d->bond_options[j].key,
					    json_string(d->bond_options[j].value));
		for (j = 0; j < d->n_ports; j++)
			json_array_append_new(ports, json_string(d->ports[j]));
		/* the keys in the order the spec has always had them */
		json_array_append_new(links, json_pack(
			"{s:s, s:s, s:I, s:s?, s:s?, s:I, s:s?, s:o, s:o, s:o, s:b, s:s?, s:s?, s:o}",
			"name", d->name, "kind", vf_host_link_kind_name(d->kind),
			"mtu", (json_int_t)d->mtu, "master", d->master, "vlan_base", d->vlan_base,
			"vlan_id", (json_int_t)d->vlan_id, "bond_mode", d->bond_mode,
			"bond_options", opts, "ports", ports,
			"stp", d->stp < 0 ? json_null() : json_boolean(d->stp),
			"absent", d->absent, "owner", d->owner, "master_owner", d->master_owner,
			"pos", d->pos.line || d->pos.file
				? json_pack("{s:s?, s:I, s:I}", "file", d->pos.file,
					    "line", (json_int_t)d->pos.line, "col", (json_int_t)d->pos.col)
				: json_null()));
	}
	return json_pack("{s:s, s:i, s:s, s:o}", "format", SPEC_FORMAT, "version", SPEC_VERSION,
			 "host", host, "links", links);
}

/* Parsing: strict, every message names the link (index and name) and
 * the field.  The parser state, so that helpers can say where they are. */
struct spec_parser {
	struct vf_host_links *out;
	char *error;                /* the first error (malloc'd) */
	size_t index;               /* the link being parsed */
	const char *name;           /* its name, once known */
};

__attribute__((format(printf, 2, 3)))
static int spec_fail(struct spec_parser *p, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (p->error)
		return -1;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (p->index == (size_t)-1)
		p->error = xasprintf("host spec: %s", msg);
	else if (p->name)
		p->error = xasprintf("host spec: links[%zu] ('%s'): %s", p->index, p->name, msg);
	else
		p->error = xasprintf("host spec: links[%zu]: %s", p->index, msg);
	free(msg);
	return -1;
}

static const char *json_type_text(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:  return "an object";
	case JSON_ARRAY:   return "an array";
	case JSON_STRING:  return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL:    return "a number";
	case JSON_TRUE:
	case JSON_FALSE:   return "a boolean";
	case JSON_NULL:    return "null";
	}
	return "a value";
}

/* Unknown keys of obj are errors, with a did-you-mean. */
static int spec_keys(struct spec_parser *p, const json_t *obj, const char *what,
		     const char *const *keys, size_t n)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)obj, key, v) {
		const char *near;

		for (i = 0; i < n; i++)
			if (!strcmp(keys[i], key))
				break;
		if (i < n)
			continue;
		near = vf_nearest(key, keys, n);
		if (near)
			return spec_fail(p, "unknown key '%s' in %s; did you mean '%s'?", key, what, near);
		return spec_fail(p, "unknown key '%s' in %s", key, what);
	}
	return 0;
}

/* A string field (NULL when absent or null, if nullable); a link name
 * when ifname.  0 or -1. */
static int spec_str(struct spec_parser *p, const json_t *obj, const char *key, bool required,
		    bool ifname, const char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return spec_fail(p, "\"%s\" is missing; it must be a string", key);
		return 0;
	}
	if (!json_is_string(v))
		return spec_fail(p, "\"%s\" must be a string%s, not %s", key,
				 required ? "" : " or null", json_type_text(v));
	if (ifname && !vf_hostnet_ifname_ok(json_string_value(v)))
		return spec_fail(p, "\"%s\": '%s' is not a link name (1 to %d bytes, no '/', ':' "
				 "or white space)", key, json_string_value(v), VF_IFNAME_MAX);
	if (!ifname && !json_string_value(v)[0] && required)
		return spec_fail(p, "\"%s\" is empty", key);
	*out = vf_arena_strdup(&p->out->arena, json_string_value(v));
	return 0;
}

/* An integer field in lo..hi (absent or null: 0, which must be allowed by zero_ok). */
static int spec_uint(struct spec_parser *p, const json_t *obj, const char *key, unsigned lo,
		     unsigned hi, bool zero_ok, unsigned *out)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t i;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return spec_fail(p, "\"%s\" must be an integer, not %s", key, json_type_text(v));
	i = json_integer_value(v);
	if (i == 0 && zero_ok)
		return 0;
	if (i < (json_int_t)lo || i > (json_int_t)hi)
		return spec_fail(p, "\"%s\" %" JSON_INTEGER_FORMAT " is outside %u..%u%s", key, i,
				 lo, hi, zero_ok ? " (or 0: leave as it is)" : "");
	*out = (unsigned)i;
	return 0;
}

static int spec_bool(struct spec_parser *p, const json_t *obj, const char *key, bool *out)
{
	const json_t *v = json_object_get(obj, key);

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return spec_fail(p, "\"%s\" must be true or false, not %s", key, json_type_text(v));
	*out = json_is_true(v);
	return 0;
}

/* "kind" into w->kind; the kind's text in *kind. */
static int spec_kind(struct spec_parser *p, const json_t *l, struct vf_host_link *w,
		     const char **kind)
{
	static const char *const kinds[] = { "ethernet", "bond", "bridge", "vlan", "port" };
	static const enum vf_host_link_kind kind_values[] = {
		VF_HOST_LINK_ETHERNET, VF_HOST_LINK_BOND, VF_HOST_LINK_BRIDGE,
		VF_HOST_LINK_VLAN, VF_HOST_LINK_PORT,
	};
	size_t k;

	if (spec_str(p, l, "kind", true, false, kind) < 0)
		return -1;
	for (k = 0; k < VF_ARRAY_SIZE(kinds); k++)
		if (!strcmp(kinds[k], *kind))
			break;
	if (k == VF_ARRAY_SIZE(kinds))
		return spec_fail(p, "kind '%s' is not one of ethernet, bond, bridge, vlan or port",
				 *kind);
	w->kind = kind_values[k];
	return 0;
}

/* The single-valued members, and the rules between them and the kind. */
static int spec_scalars(struct spec_parser *p, const json_t *l, struct vf_host_link *w,
			const char *kind)
{
	if (spec_uint(p, l, "mtu", 68, 65535, true, &w->mtu) < 0 ||
	    spec_str(p, l, "master", false, true, &w->master) < 0 ||
	    spec_str(p, l, "vlan_base", false, true, &w->vlan_base) < 0 ||
	    spec_uint(p, l, "vlan_id", 1, 4094, true, &w->vlan_id) < 0 ||
	    spec_str(p, l, "bond_mode", false, false, &w->bond_mode) < 0 ||
	    spec_bool(p, l, "absent", &w->absent) < 0 ||
	    spec_str(p, l, "owner", true, false, &w->owner) < 0 ||
	    spec_str(p, l, "master_owner", false, false, &w->master_owner) < 0)
		return -1;
	if (w->kind == VF_HOST_LINK_VLAN && (!w->vlan_base || !w->vlan_id))
		return spec_fail(p, "a vlan needs \"vlan_base\" and \"vlan_id\" (1..4094)");
	if (w->kind != VF_HOST_LINK_VLAN && (w->vlan_base || w->vlan_id))
		return spec_fail(p, "\"vlan_base\" and \"vlan_id\" are for kind vlan only, not %s",
				 kind);
	if (w->bond_mode) {
		if (w->kind != VF_HOST_LINK_BOND)
			return spec_fail(p, "\"bond_mode\" is for kind bond only, not %s", kind);
		if (!vf_hostnet_bond_mode_known(w->bond_mode))
			return spec_fail(p, "\"bond_mode\" '%s' is not one of balance-rr, "
					 "active-backup, balance-xor, broadcast, 802.3ad, "
					 "balance-tlb or balance-alb", w->bond_mode);
	}
	return 0;
}

/* "bond_options": option name to value, canonical as the config's. */
static int spec_bond_options(struct spec_parser *p, const json_t *l, struct vf_host_link *w,
			     const char *kind)
{
	const json_t *v = json_object_get(l, "bond_options");
	const char *key;
	json_t *val;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return spec_fail(p, "\"bond_options\" must be an object of option name to "
				 "string value, not %s", json_type_text(v));
	if (json_object_size(v) && w->kind != VF_HOST_LINK_BOND)
		return spec_fail(p, "\"bond_options\" are for kind bond only, not %s", kind);
	w->bond_options = vf_arena_alloc(&p->out->arena,
					 (json_object_size(v) + 1) * sizeof(*w->bond_options));
	json_object_foreach((json_t *)v, key, val) {
		const char *canon;
		char *error = NULL;

		if (!json_is_string(val))
			return spec_fail(p, "\"bond_options\": '%s' must be a string, not %s",
					 key, json_type_text(val));
		if (vf_hostnet_bond_option_canon(&p->out->arena, key, json_string_value(val),
						 &canon, &error) < 0) {
			spec_fail(p, "\"bond_options\": %s", error);
			free(error);
			return -1;
		}
		w->bond_options[w->n_bond_options].key = vf_arena_strdup(&p->out->arena, key);
		w->bond_options[w->n_bond_options++].value = canon;
	}
	return 0;
}

/* "ports": a bond's or bridge's port names. */
static int spec_ports(struct spec_parser *p, const json_t *l, struct vf_host_link *w,
		      const char *kind)
{
	const json_t *v = json_object_get(l, "ports");
	json_t *port;
	size_t i;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return spec_fail(p, "\"ports\" must be an array of link names, not %s",
				 json_type_text(v));
	if (json_array_size(v) && w->kind != VF_HOST_LINK_BOND && w->kind != VF_HOST_LINK_BRIDGE)
		return spec_fail(p, "\"ports\" are for kinds bond and bridge only, not %s", kind);
	w->ports = vf_arena_alloc(&p->out->arena, (json_array_size(v) + 1) * sizeof(*w->ports));
	json_array_foreach(v, i, port) {
		if (!json_is_string(port) || !vf_hostnet_ifname_ok(json_string_value(port)))
			return spec_fail(p, "\"ports\"[%zu] must be a link name (1 to %d bytes, "
					 "no '/', ':' or white space)", i, VF_IFNAME_MAX);
		w->ports[w->n_ports++] = vf_arena_strdup(&p->out->arena, json_string_value(port));
	}
	return 0;
}

/* "stp": a bridge's, true, false or null (leave it). */
static int spec_stp(struct spec_parser *p, const json_t *l, struct vf_host_link *w,
		    const char *kind)
{
	const json_t *v = json_object_get(l, "stp");

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return spec_fail(p, "\"stp\" must be true, false or null, not %s",
				 json_type_text(v));
	if (w->kind != VF_HOST_LINK_BRIDGE)
		return spec_fail(p, "\"stp\" is for kind bridge only, not %s", kind);
	w->stp = json_is_true(v);
	return 0;
}

/* "pos": where the config declares the link, for messages. */
static int spec_pos(struct spec_parser *p, const json_t *l, struct vf_host_link *w)
{
	static const char *const pos_keys[] = { "file", "line", "col" };
	const json_t *v = json_object_get(l, "pos");
	const char *file;
	unsigned line, col;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return spec_fail(p, "\"pos\" must be an object {\"file\", \"line\", \"col\"} or "
				 "null, not %s", json_type_text(v));
	if (spec_keys(p, v, "\"pos\"", pos_keys, VF_ARRAY_SIZE(pos_keys)) < 0 ||
	    spec_str(p, v, "file", false, false, &file) < 0 ||
	    spec_uint(p, v, "line", 1, UINT_MAX / 2, true, &line) < 0 ||
	    spec_uint(p, v, "col", 1, UINT_MAX / 2, true, &col) < 0)
		return -1;
	w->pos.file = file;
	w->pos.line = line;
	w->pos.col = col;
	return 0;
}

static int spec_link(struct spec_parser *p, const json_t *l)
{
	static const char *const keys[] = {
		"name", "kind", "mtu", "master", "vlan_base", "vlan_id", "bond_mode",
		"bond_options", "ports", "stp", "absent", "owner", "master_owner", "pos",
	};
	struct vf_host_link w;
	const char *kind, *name;

	if (!json_is_object(l))
		return spec_fail(p, "must be an object, not %s", json_type_text(l));
	if (spec_str(p, l, "name", true, true, &name) < 0)
		return -1;
	p->name = name;
	if (vf_host_links_find(p->out, name))
		return spec_fail(p, "a link of that name comes earlier in \"links\"; each link once");
	memset(&w, 0, sizeof(w));
	w.stp = -1;
	if (spec_keys(p, l, "a link", keys, VF_ARRAY_SIZE(keys)) < 0 ||
	    spec_kind(p, l, &w, &kind) < 0 ||
	    spec_scalars(p, l, &w, kind) < 0 ||
	    spec_bond_options(p, l, &w, kind) < 0 ||
	    spec_ports(p, l, &w, kind) < 0 ||
	    spec_stp(p, l, &w, kind) < 0 ||
	    spec_pos(p, l, &w) < 0)
		return -1;
	w.name = name;
	vf_hostnet_links_add_copy(p->out, &w);
	return 0;
}

int vf_hostnet_spec_parse(const json_t *doc, struct vf_host_links *out, const char **host,
			  char **error)
{
	static const char *const keys[] = { "format", "version", "host", "links" };
	struct spec_parser p = { out, NULL, (size_t)-1, NULL };
	const json_t *links, *l;
	const char *format;
	unsigned version;
	size_t i;

	*host = NULL;
	if (!json_is_object(doc)) {
		spec_fail(&p, "must be a JSON object, not %s", json_type_text(doc));
		goto fail;
	}
	if (spec_keys(&p, doc, "the document", keys, VF_ARRAY_SIZE(keys)) < 0 ||
	    spec_str(&p, doc, "format", true, false, &format) < 0)
		goto fail;
	if (strcmp(format, SPEC_FORMAT)) {
		spec_fail(&p, "\"format\" is '%s', expected '%s'", format, SPEC_FORMAT);
		goto fail;
	}
	if (!json_is_integer(json_object_get(doc, "version"))) {
		spec_fail(&p, "\"version\" is missing or not an integer; expected %d", SPEC_VERSION);
		goto fail;
	}
	if (spec_uint(&p, doc, "version", 1, 1000000, false, &version) < 0)
		goto fail;
	if (version != SPEC_VERSION) {
		spec_fail(&p, "\"version\" %u is not supported by this virtform (it reads version "
			  "%d): update virtform on this host", version, SPEC_VERSION);
		goto fail;
	}
	if (spec_str(&p, doc, "host", true, false, host) < 0)
		goto fail;
	links = json_object_get(doc, "links");
	if (!json_is_array(links)) {
		spec_fail(&p, "\"links\" must be an array, not %s",
			  links ? json_type_text(links) : "missing");
		goto fail;
	}
	json_array_foreach(links, i, l) {
		p.index = i;
		p.name = NULL;
		if (spec_link(&p, l) < 0)
			goto fail;
	}
	return 0;
fail:
	*error = p.error;
	*host = NULL;
	return -1;
}
