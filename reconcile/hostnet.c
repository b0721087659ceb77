/*
 * hostnet.c — a host's desired links from the config, and the plan from
 * its live links to them (see hostnet.h; docs/hostnet.md).
 *
 * Hosts have tens of links, not thousands: lookups are linear on purpose.
 * Nothing here touches the kernel; the plan is pure so that the unit test
 * can feed it hand-made observations.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/hostnet.h"

const char *vf_host_link_kind_name(enum vf_host_link_kind k)
{
	switch (k) {
	case VF_HOST_LINK_ETHERNET: return "ethernet";
	case VF_HOST_LINK_BOND:     return "bond";
	case VF_HOST_LINK_BRIDGE:   return "bridge";
	case VF_HOST_LINK_VLAN:     return "vlan";
	case VF_HOST_LINK_PORT:     return "port";
	case VF_HOST_LINK_OTHER:    return "other";
	}
	return "other";
}

const char *vf_hostnet_op_name(enum vf_hostnet_op op)
{
	switch (op) {
	case VF_HOSTNET_CREATE:  return "create";
	case VF_HOSTNET_UPDATE:  return "update";
	case VF_HOSTNET_REPLACE: return "replace";
	case VF_HOSTNET_DELETE:  return "delete";
	}
	return "?";
}

__attribute__((format(printf, 2, 3)))
static const char *afmt(struct vf_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *s, *r;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	r = vf_arena_strdup(a, s);
	free(s);
	return r;
}

static bool streq(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* ---- link lists ---------------------------------------------------------- */

void vf_host_links_release(struct vf_host_links *l)
{
	vf_arena_release(&l->arena);
	free(l->items);
	l->items = NULL;
	l->n = l->alloc = 0;
}

struct vf_host_link *vf_host_links_add(struct vf_host_links *l, const char *name)
{
	struct vf_host_link *k;

	VF_GROW(l->items, l->n + 1, l->alloc);
	k = &l->items[l->n++];
	memset(k, 0, sizeof(*k));
	k->name = vf_arena_strdup(&l->arena, name);
	k->stp = -1;
	return k;
}

const struct vf_host_link *vf_host_links_find(const struct vf_host_links *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].name, name))
			return &l->items[i];
	return NULL;
}

/* ---- bond options ---------------------------------------------------------- */

/*
 * The bond options virtform sets, with the kernel's rules that can be
 * checked before anything changes: the values it takes and the modes it
 * accepts the option in (it refuses the others).  providers/hostnet/links.c
 * has the same table with the netlink attributes; keep the two in step.
 */
enum {
	MODE_RR = 1 << 0, MODE_AB = 1 << 1, MODE_XOR = 1 << 2, MODE_BROADCAST = 1 << 3,
	MODE_8023AD = 1 << 4, MODE_TLB = 1 << 5, MODE_ALB = 1 << 6, MODE_ALL = 0x7f,
};
static const char *const bond_mode_names[] = {
	"balance-rr", "active-backup", "balance-xor", "broadcast",
	"802.3ad", "balance-tlb", "balance-alb",
};
static const char *const lacp_rates[] = { "slow", "fast", NULL };
static const char *const ad_selects[] = { "stable", "bandwidth", "count", NULL };
static const char *const xmit_hash_policies[] = {
	"layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac", NULL,
};
static const char *const primary_reselects[] = { "always", "better", "failure", NULL };

struct bond_option {
	const char *name;
	const char *const *values;  /* enumeration, by kernel number; NULL: a number or link */
	bool link;                  /* a link name (primary) */
	unsigned modes;             /* the modes the kernel accepts it in */
};

static const struct bond_option bond_options[] = {
	{ "miimon", NULL, false, MODE_ALL },
	{ "updelay", NULL, false, MODE_ALL },
	{ "downdelay", NULL, false, MODE_ALL },
	{ "arp_interval", NULL, false, MODE_RR | MODE_AB | MODE_XOR | MODE_BROADCAST },
	{ "lacp_rate", lacp_rates, false, MODE_8023AD },
	{ "ad_select", ad_selects, false, MODE_8023AD },
	{ "xmit_hash_policy", xmit_hash_policies, false, MODE_ALL },
	{ "primary", NULL, true, MODE_AB | MODE_TLB | MODE_ALB },
	{ "primary_reselect", primary_reselects, false, MODE_AB | MODE_TLB | MODE_ALB },
	{ "min_links", NULL, false, MODE_ALL },
};

const char *vf_hostnet_bond_option_names(void)
{
	return "miimon, updelay, downdelay, arp_interval, lacp_rate, ad_select, "
	       "xmit_hash_policy, primary, primary_reselect, min_links";
}

static const struct bond_option *bond_option_find(const char *name)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(bond_options); i++)
		if (!strcmp(bond_options[i].name, name))
			return &bond_options[i];
	return NULL;
}

static char *joined(const char *const *v, const char *last_sep)
{
	char *s = xstrdup(""), *n;
	size_t i;

	for (i = 0; v[i]; i++) {
		n = xasprintf("%s%s%s", s, i == 0 ? "" : v[i + 1] ? ", " : last_sep, v[i]);
		free(s);
		s = n;
	}
	return s;
}

/* A link name as the kernel takes it (the same rule as the provider's). */
static bool ifname_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > VF_IFNAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return strcspn(name, "/: \t\n\v\f\r") == len;
}

int vf_hostnet_bond_option_canon(struct vf_arena *arena, const char *name, const char *value,
				 const char **canon, char **error)
{
	const struct bond_option *o = bond_option_find(name);
	size_t i;

	if (!o) {
		const char *names[VF_ARRAY_SIZE(bond_options)];
		const char *near;

		for (i = 0; i < VF_ARRAY_SIZE(bond_options); i++)
			names[i] = bond_options[i].name;
		near = vf_nearest(name, names, VF_ARRAY_SIZE(bond_options));
		if (near)
			*error = xasprintf("unknown bond option '%s'; did you mean '%s'?", name, near);
		else
			*error = xasprintf("unknown bond option '%s'; virtform sets %s", name,
					   vf_hostnet_bond_option_names());
		return -1;
	}
	if (o->link) {
		if (!ifname_ok(value)) {
			*error = xasprintf("bond option '%s': '%s' is not a link name (1 to %d bytes, "
					   "no '/', ':' or white space)", name, value, VF_IFNAME_MAX);
			return -1;
		}
		*canon = vf_arena_strdup(arena, value);
		return 0;
	}
	if (o->values) {
		for (i = 0; o->values[i]; i++)
			if (!strcmp(o->values[i], value))
				break;
		if (!o->values[i] && value[0] >= '0' && value[0] <= '9' && !value[1] &&
		    (size_t)(value[0] - '0') < i)
			i = (size_t)(value[0] - '0');   /* the kernel's number, as sysfs takes it */
		if (!o->values[i]) {
			char *list = joined(o->values, " or ");
			*error = xasprintf("bond option '%s': '%s' is not one of %s", name, value, list);
			free(list);
			return -1;
		}
		*canon = o->values[i];
		return 0;
	}
	{
		unsigned long v = 0;
		const char *p;

		for (p = value; *p >= '0' && *p <= '9' && v <= INT_MAX; p++)
			v = v * 10 + (unsigned long)(*p - '0');
		if (!*value || *p || v > INT_MAX) {
			*error = xasprintf("bond option '%s': '%s' is not a whole number 0..%d",
					   name, value, INT_MAX);
			return -1;
		}
		*canon = afmt(arena, "%lu", v);
	}
	return 0;
}

static const char *label_get(const struct vf_label *l, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(l[i].key, key))
			return l[i].value;
	return NULL;
}

static unsigned long label_num(const struct vf_label *l, size_t n, const char *key)
{
	const char *v = label_get(l, n, key);
	return v ? strtoul(v, NULL, 10) : 0;
}

/*
 * What the kernel would refuse, or do otherwise than asked, in the options
 * of bond d in mode (NULL: the kernel's default, balance-rr): an option of
 * another mode, MII and ARP monitoring together, delays without MII
 * monitoring or not a multiple of it, a primary that is not a port.
 */
static void bond_options_check(const struct vf_host_link *d, const char *mode, const char *host,
			       struct vf_diags *diags)
{
	unsigned miimon = (unsigned)label_num(d->bond_options, d->n_bond_options, "miimon");
	unsigned bit = 1;
	size_t i, m;

	if (!mode)
		mode = "balance-rr";
	for (m = 0; m < VF_ARRAY_SIZE(bond_mode_names); m++)
		if (!strcmp(bond_mode_names[m], mode))
			bit = 1u << m;
	for (i = 0; i < d->n_bond_options; i++) {
		const struct vf_label *l = &d->bond_options[i];
		const struct bond_option *o = bond_option_find(l->key);
		const char *names[VF_ARRAY_SIZE(bond_mode_names) + 1];
		size_t n = 0;
		char *list;

		if (!o)
			continue;
		if (!(o->modes & bit)) {
			for (m = 0; m < VF_ARRAY_SIZE(bond_mode_names); m++)
				if (o->modes & (1u << m))
					names[n++] = bond_mode_names[m];
			names[n] = NULL;
			list = joined(names, " and ");
			vf_error_at(diags, &d->pos, "remove the option, or change the mode",
				    "bond '%s': option '%s' applies only in mode %s, not %s%s",
				    d->name, l->key, list, mode,
				    d->bond_mode ? "" : " (the bond's mode on this host)");
			free(list);
		}
		if ((!strcmp(l->key, "updelay") || !strcmp(l->key, "downdelay")) &&
		    strcmp(l->value, "0")) {
			unsigned long v = strtoul(l->value, NULL, 10);
			if (!miimon)
				vf_error_at(diags, &d->pos, "set miimon (e.g. 100) in the same options",
					    "bond '%s': option '%s' needs option 'miimon' above 0 "
					    "(the kernel counts delays in MII monitoring intervals)",
					    d->name, l->key);
			else if (v % miimon)
				vf_error_at(diags, &d->pos, "use a multiple of miimon",
					    "bond '%s': option '%s' %lu is not a multiple of miimon %u "
					    "(the kernel would round it down)", d->name, l->key, v, miimon);
		}
		if (!strcmp(l->key, "primary")) {
			for (m = 0; m < d->n_ports; m++)
				if (!strcmp(d->ports[m], l->value))
					break;
			if (m == d->n_ports)
				vf_error_at(diags, &d->pos, "name one of the bond's ports",
					    "bond '%s': option 'primary' names '%s', which is not one "
					    "of its ports on host %s", d->name, l->value, host);
		}
	}
	if (miimon && label_num(d->bond_options, d->n_bond_options, "arp_interval"))
		vf_error_at(diags, &d->pos, "keep one of them (set the other to 0, or leave it out)",
			    "bond '%s': options 'miimon' and 'arp_interval' exclude each other "
			    "(the kernel turns one off when the other is set)", d->name);
}

/* ---- desired ------------------------------------------------------------- */

static void pos_text(const struct vf_pos *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u:%u", p->file ? p->file : "?", p->line, p->col);
}

/*
 * Add want to out, or merge it into the link of that name already there.
 * A port entry (only a master) merges with anything; otherwise kinds and
 * every setting both sides give must agree.
 */
static void merge(struct vf_host_links *out, const struct vf_host_link *want,
		  struct vf_diags *diags)
{
	struct vf_host_link *have = NULL;
	const char *what = NULL;
	char where[512];
	size_t i;

	for (i = 0; i < out->n; i++)
		if (!strcmp(out->items[i].name, want->name))
			have = &out->items[i];
	if (!have) {
		struct vf_host_link *k = vf_host_links_add(out, want->name);
		const char *name = k->name;
		*k = *want;
		k->name = name;
		return;
	}
	if (have->absent != want->absent)
		what = "state";
	else if (have->master && want->master && strcmp(have->master, want->master))
		what = "master";
	else if (have->kind != VF_HOST_LINK_PORT && want->kind != VF_HOST_LINK_PORT) {
		if (have->kind != want->kind)
			what = "type";
		else if (have->mtu && want->mtu && have->mtu != want->mtu)
			what = "mtu";
		else if (!streq(have->vlan_base, want->vlan_base) || have->vlan_id != want->vlan_id)
			what = "vlan base or id";
		else if (have->bond_mode && want->bond_mode && strcmp(have->bond_mode, want->bond_mode))
			what = "bond mode";
		else if (have->stp >= 0 && want->stp >= 0 && have->stp != want->stp)
			what = "stp";
	}
	if (what) {
		pos_text(&have->pos, where, sizeof(where));
		vf_error_at(diags, &want->pos, "make them agree, or give one of them another name",
			    "%s derives link '%s' with another %s than %s at %s",
			    want->owner, want->name, what, have->owner, where);
		return;
	}
	if (have->kind == VF_HOST_LINK_PORT && want->kind != VF_HOST_LINK_PORT) {
		/* the declaration wins, the port entry keeps its master */
		const char *master = have->master, *master_owner = have->master_owner;
		const char *name = have->name;
		*have = *want;
		have->name = name;
		if (!have->master) {
			have->master = master;
			have->master_owner = master_owner;
		}
		return;
	}
	if (!have->master) {
		have->master = want->master;
		have->master_owner = want->master_owner;
	}
	if (!have->mtu)
		have->mtu = want->mtu;
	if (!have->bond_mode)
		have->bond_mode = want->bond_mode;
	if (!have->n_bond_options) {
		have->bond_options = want->bond_options;
		have->n_bond_options = want->n_bond_options;
	}
	if (have->stp < 0)
		have->stp = want->stp;
}

static enum vf_host_link_kind iface_kind(enum vf_iface_type t)
{
	switch (t) {
	case VF_IFACE_ETHERNET: return VF_HOST_LINK_ETHERNET;
	case VF_IFACE_BOND:     return VF_HOST_LINK_BOND;
	case VF_IFACE_BRIDGE:   return VF_HOST_LINK_BRIDGE;
	case VF_IFACE_VLAN:     return VF_HOST_LINK_VLAN;
	}
	return VF_HOST_LINK_OTHER;
}

static void add_port(struct vf_host_links *out, const char *name, const char *master,
		     const struct vf_pos *pos, const char *owner, struct vf_diags *diags)
{
	struct vf_host_link w;

	memset(&w, 0, sizeof(w));
	w.name = name;
	w.kind = VF_HOST_LINK_PORT;
	w.master = master;
	w.stp = -1;
	w.pos = *pos;
	w.owner = owner;
	w.master_owner = owner;
	merge(out, &w, diags);
}

int vf_hostnet_desired(const struct vf_config *config, const struct vf_host *host,
		       struct vf_host_links *out, struct vf_diags *diags)
{
	size_t errors = diags->n_errors;
	size_t i, j;

	for (i = 0; i < host->n_ifaces; i++) {
		const struct vf_iface *f = &host->ifaces[i];
		struct vf_host_link w;

		memset(&w, 0, sizeof(w));
		w.name = f->name;
		w.kind = iface_kind(f->type);
		w.mtu = f->mtu;
		w.absent = f->state == VF_IFACE_STATE_ABSENT;
		w.bond_mode = f->bond_mode;
		w.ports = f->ports;
		w.n_ports = f->n_ports;
		w.stp = f->type == VF_IFACE_BRIDGE ? f->stp : -1;
		w.vlan_base = f->vlan_base;
		w.vlan_id = f->vlan_id;
		w.pos = f->pos;
		w.owner = afmt(&out->arena, "interface %s", f->name);
		if (f->n_options) {
			w.bond_options = vf_arena_alloc(&out->arena,
							f->n_options * sizeof(*w.bond_options));
			for (j = 0; j < f->n_options; j++) {
				const char *canon = NULL;
				char *error = NULL;

				if (vf_hostnet_bond_option_canon(&out->arena, f->options[j].key,
								 f->options[j].value, &canon,
								 &error) < 0) {
					vf_error_at(diags, &f->pos, NULL, "interface '%s': %s",
						    f->name, error);
					free(error);
					continue;
				}
				w.bond_options[w.n_bond_options].key = f->options[j].key;
				w.bond_options[w.n_bond_options++].value = canon;
			}
		}
		merge(out, &w, diags);
		if (w.absent)
			continue;
		for (j = 0; j < f->n_ports; j++)
			add_port(out, f->ports[j], f->name, &f->pos, w.owner, diags);
	}

	for (i = 0; i < config->n_networks; i++) {
		const struct vf_network *net = &config->networks[i];
		const char *owner, *port;
		struct vf_host_link w;

		if (net->mode != VF_NET_MODE_BRIDGE || !net->uplink)
			continue;  /* without an uplink, bridge names an existing bridge */
		if (!vf_cluster_in_scope(net->cluster_refs, net->n_clusters, host->cluster_ref))
			continue;
		owner = afmt(&out->arena, "network %s", net->name);
		port = net->uplink;
		if (net->vlan) {
			port = afmt(&out->arena, "%s.%u", net->uplink, net->vlan);
			if (strlen(port) > VF_IFNAME_MAX) {
				vf_error_at(diags, &net->pos,
					    "shorten the uplink's name, or declare the vlan under hosts[].interfaces",
					    "network '%s': vlan link name '%s' exceeds %d bytes",
					    net->name, port, VF_IFNAME_MAX);
				continue;
			}
			memset(&w, 0, sizeof(w));
			w.name = port;
			w.kind = VF_HOST_LINK_VLAN;
			w.vlan_base = net->uplink;
			w.vlan_id = net->vlan;
			w.mtu = net->mtu;
			w.master = net->bridge;
			w.master_owner = owner;
			w.stp = -1;
			w.pos = net->pos;
			w.owner = owner;
			merge(out, &w, diags);
		} else {
			add_port(out, port, net->bridge, &net->pos, owner, diags);
		}
		memset(&w, 0, sizeof(w));
		w.name = net->bridge;
		w.kind = VF_HOST_LINK_BRIDGE;
		w.mtu = net->mtu;
		w.stp = -1;
		w.ports = vf_arena_alloc(&out->arena, sizeof(*w.ports));
		w.ports[0] = port;
		w.n_ports = 1;
		w.pos = net->pos;
		w.owner = owner;
		merge(out, &w, diags);
	}
	/* a bond's options against the mode the config gives (without one,
	 * the plan checks them against the host's bond) */
	for (i = 0; i < out->n; i++) {
		const struct vf_host_link *d = &out->items[i];
		if (d->kind == VF_HOST_LINK_BOND && d->bond_mode && d->n_bond_options && !d->absent)
			bond_options_check(d, d->bond_mode, host->name, diags);
	}
	return diags->n_errors > errors ? -1 : 0;
}

/* ---- ownership records --------------------------------------------------- */

int vf_hostnet_owned_from_json(const json_t *doc, const char *what,
			       struct vf_hostnet_owned *out, char **error)
{
	json_t *links, *l;
	size_t i;

	memset(out, 0, sizeof(*out));
	links = json_object_get(doc, "links");
	if (!json_is_array(links)) {
		*error = xasprintf("%s: no \"links\" array", what);
		return -1;
	}
	json_array_foreach(links, i, l) {
		const char *name = json_string_value(json_object_get(l, "name"));
		const char *owner = json_string_value(json_object_get(l, "owner"));

		if (!name) {
			*error = xasprintf("%s: links[%zu] has no name", what, i);
			vf_hostnet_owned_release(out);
			return -1;
		}
		vf_hostnet_owned_add(out, name, owner);
	}
	return 0;
}

int vf_hostnet_owned_read(const char *path, struct vf_hostnet_owned *out, char **error)
{
	json_error_t je;
	json_t *doc;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	doc = json_load_file(path, 0, &je);
	if (!doc) {
		*error = xasprintf("cannot read host network state '%s': %s", path, je.text);
		return -1;
	}
	what = xasprintf("host network state '%s'", path);
	rc = vf_hostnet_owned_from_json(doc, what, out, error);
	free(what);
	json_decref(doc);
	return rc;
}

json_t *vf_hostnet_owned_json(const struct vf_hostnet_owned *o)
{
	json_t *doc = json_object(), *links = json_array();
	size_t i;

	for (i = 0; i < o->n; i++)
		json_array_append_new(links, json_pack("{s:s, s:s}", "name", o->names[i],
						       "owner", o->owners[i]));
	json_object_set_new(doc, "links", links);
	return doc;
}

void vf_hostnet_owned_release(struct vf_hostnet_owned *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		free(o->names[i]);
		free(o->owners[i]);
	}
	free(o->names);
	free(o->owners);
	memset(o, 0, sizeof(*o));
}

void vf_hostnet_owned_add(struct vf_hostnet_owned *o, const char *name, const char *owner)
{
	VF_GROW(o->names, o->n + 1, o->alloc);
	o->owners = xrealloc(o->owners, o->alloc * sizeof(*o->owners));
	o->names[o->n] = xstrdup(name);
	o->owners[o->n++] = xstrdup(owner ? owner : "?");
}

int vf_hostnet_write_json(const char *path, const json_t *doc, const char *what,
			  char **error)
{
	char *copy = xstrdup(path), *dir = dirname(copy), *why;
	char *body = json_dumps(doc, JSON_INDENT(2)), *text;
	int rc = -1;

	if (!body) {
		*error = xasprintf("cannot write %s '%s': out of memory", what, path);
		free(copy);
		return -1;
	}
	text = xasprintf("%s\n", body);
	free(body);
	why = vf_private_dir_check(dir, "the host network state directory", true);
	if (why) {
		*error = xasprintf("cannot write %s '%s': %s", what, path, why);
		free(why);
		goto out;
	}
	if (vf_write_file_atomic(path, text, strlen(text), 0600) < 0) {
		*error = xasprintf("cannot write %s '%s': %s", what, path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(text);
	free(copy);
	return rc;
}

int vf_hostnet_owned_write(const char *path, const struct vf_hostnet_owned *o, char **error)
{
	json_t *doc = vf_hostnet_owned_json(o);
	int rc = vf_hostnet_write_json(path, doc, "host network state", error);

	json_decref(doc);
	return rc;
}

static const char *owned_by(const struct vf_hostnet_owned *o, const char *name)
{
	size_t i;

	for (i = 0; o && i < o->n; i++)
		if (!strcmp(o->names[i], name))
			return o->owners[i];
	return NULL;
}

/* ---- plan ---------------------------------------------------------------- */

/* Creation order: what others stack on first. */
static int kind_rank(enum vf_host_link_kind k)
{
	switch (k) {
	case VF_HOST_LINK_ETHERNET:
	case VF_HOST_LINK_PORT:
	case VF_HOST_LINK_OTHER:  return 0;
	case VF_HOST_LINK_BOND:   return 1;
	case VF_HOST_LINK_VLAN:   return 2;
	case VF_HOST_LINK_BRIDGE: return 3;
	}
	return 0;
}

struct builder {
	struct vf_hostnet_plan *plan;
	const char *host;
	const struct vf_host_links *desired, *observed;
	const struct vf_hostnet_owned *owned;
	struct vf_diags *diags;
	/* phases, concatenated at the end */
	struct vf_hostnet_action *phase[4];
	size_t n[4], alloc[4];
};

enum { PHASE_CREATE, PHASE_UPDATE, PHASE_ENSLAVE, PHASE_DELETE };

static struct vf_hostnet_action *action_add(struct builder *b, int phase, enum vf_hostnet_op op,
					    const char *name, enum vf_host_link_kind kind,
					    const char *reason)
{
	struct vf_hostnet_action *a;

	VF_GROW(b->phase[phase], b->n[phase] + 1, b->alloc[phase]);
	a = &b->phase[phase][b->n[phase]++];
	memset(a, 0, sizeof(*a));
	a->op = op;
	a->name = name;
	a->kind = kind;
	a->reason = reason;
	return a;
}

static void change_add(struct builder *b, struct vf_hostnet_action *a, const char *field,
		       const char *before, const char *after)
{
	struct vf_hostnet_change *c = vf_arena_alloc(&b->plan->arena,
						    (a->n_changes + 1) * sizeof(*c));

	if (a->n_changes)
		memcpy(c, a->changes, a->n_changes * sizeof(*c));
	c[a->n_changes].field = field;
	c[a->n_changes].before = before;
	c[a->n_changes].after = after;
	a->changes = c;
	a->n_changes++;
}

static const char *num(struct builder *b, unsigned v)
{
	return afmt(&b->plan->arena, "%u", v);
}

static const char *onoff(int v)
{
	return v < 0 ? "?" : v ? "on" : "off";
}

/* A desired link that will exist after the plan (not absent). */
static const struct vf_host_link *desired_present(const struct builder *b, const char *name)
{
	const struct vf_host_link *d = vf_host_links_find(b->desired, name);
	return d && !d->absent ? d : NULL;
}

/* Is name a bridge or bond virtform manages (so its ports are ours to release)? */
static bool managed_master(const struct builder *b, const char *name)
{
	const struct vf_host_link *d = desired_present(b, name);
	return (d && (d->kind == VF_HOST_LINK_BRIDGE || d->kind == VF_HOST_LINK_BOND)) ||
	       owned_by(b->owned, name);
}

/* The MTU link name will have after the plan; 0 when unknown. */
static unsigned mtu_after(const struct builder *b, const char *name)
{
	const struct vf_host_link *d = desired_present(b, name);
	const struct vf_host_link *o = vf_host_links_find(b->observed, name);

	if (d && d->mtu)
		return d->mtu;
	return o ? o->mtu : 0;
}

static const char *what_of(const struct vf_host_link *d)
{
	return d->kind == VF_HOST_LINK_PORT ? "link" : vf_host_link_kind_name(d->kind);
}

/* Plan-time checks of d against its uplink / ports. */
static void check_links(struct builder *b, const struct vf_host_link *d)
{
	size_t i;

	if (d->kind == VF_HOST_LINK_VLAN && d->vlan_base) {
		unsigned base_mtu = mtu_after(b, d->vlan_base);

		const struct vf_host_link *base = vf_host_links_find(b->desired, d->vlan_base);

		if (base && base->absent)
			vf_error_at(b->diags, &d->pos, "keep the uplink, or remove this link",
				    "uplink '%s' of vlan '%s' is 'state: absent' on host %s",
				    d->vlan_base, d->name, b->host);
		else if (!desired_present(b, d->vlan_base) &&
		    !vf_host_links_find(b->observed, d->vlan_base))
			vf_error_at(b->diags, &d->pos, "name an existing NIC or bond, or declare it under hosts[].interfaces",
				    "uplink '%s' does not exist on host %s", d->vlan_base, b->host);
		else if (d->mtu && base_mtu && d->mtu > base_mtu)
			vf_error_at(b->diags, &d->pos, "raise the uplink's mtu (hosts[].interfaces) or lower this one",
				    "vlan '%s': mtu %u is above uplink %s's %u", d->name, d->mtu,
				    d->vlan_base, base_mtu);
	}
	if (d->kind == VF_HOST_LINK_BRIDGE && d->mtu) {
		bool net = !strncmp(d->owner, "network ", 8);

		for (i = 0; i < b->desired->n; i++) {
			const struct vf_host_link *p = &b->desired->items[i];
			unsigned pm;

			if (p->absent || !streq(p->master, d->name))
				continue;
			pm = mtu_after(b, p->name);
			if (pm && d->mtu > pm)
				vf_error_at(b->diags, &d->pos,
					    net ? "raise the uplink's mtu (hosts[].interfaces) or lower this one"
						: "raise the port's mtu or lower this one",
					    "bridge '%s': mtu %u is above %s %s's %u", d->name,
					    d->mtu, net ? "uplink" : "port", p->name, pm);
		}
	}
}

static const char *adopt_reason(struct builder *b, const struct vf_host_link *d, bool owned)
{
	if (owned || d->kind == VF_HOST_LINK_ETHERNET || d->kind == VF_HOST_LINK_PORT)
		return d->owner;
	return afmt(&b->plan->arena, "%s; adopts the existing link", d->owner);
}

static void plan_master(struct builder *b, const struct vf_host_link *d,
			const struct vf_host_link *o)
{
	const char *have = o && o->master ? o->master : NULL;
	struct vf_hostnet_action *a;

	if (d->master ? streq(have, d->master) : !have || !managed_master(b, have))
		return;
	a = action_add(b, PHASE_ENSLAVE, VF_HOSTNET_UPDATE, d->name, d->kind,
		       d->master ? afmt(&b->plan->arena, "%s: port of %s",
					d->master_owner ? d->master_owner : d->owner, d->master)
				 : afmt(&b->plan->arena, "%s: not a port of %s", d->owner, have));
	a->desired = d;
	a->observed = o;
	change_add(b, a, "master", have ? have : "(none)", d->master ? d->master : "(none)");
}

/* The plan's field name of a bond option: "options.miimon". */
static const char *option_field(struct builder *b, const char *name)
{
	return afmt(&b->plan->arena, "options.%s", name);
}

static void plan_one(struct builder *b, const struct vf_host_link *d)
{
	const struct vf_host_link *o = vf_host_links_find(b->observed, d->name);
	const char *owner = owned_by(b->owned, d->name);
	struct vf_hostnet_action *a;
	size_t i;

	if (d->absent) {
		if (!o)
			return;
		if (o->kind == VF_HOST_LINK_ETHERNET) {
			vf_error_at(b->diags, &d->pos, "remove 'state: absent', or the entry",
				    "interface '%s' is a NIC on host %s and cannot be removed",
				    d->name, b->host);
			return;
		}
		a = action_add(b, PHASE_DELETE, VF_HOSTNET_DELETE, d->name, o->kind,
			       afmt(&b->plan->arena, "%s: state: absent", d->owner));
		a->observed = o;
		return;
	}

	if (d->kind == VF_HOST_LINK_PORT || d->kind == VF_HOST_LINK_ETHERNET) {
		if (!o) {
			if (!strncmp(d->owner, "network ", 8))
				vf_error_at(b->diags, &d->pos, "name an existing NIC or bond, or declare it under hosts[].interfaces",
					    "uplink '%s' does not exist on host %s", d->name, b->host);
			else if (d->kind == VF_HOST_LINK_PORT)
				vf_error_at(b->diags, &d->pos, "name an existing link, or declare it",
					    "%s: port '%s' does not exist on host %s", d->owner,
					    d->name, b->host);
			else
				vf_error_at(b->diags, &d->pos, "virtform cannot create a NIC; check the name ('virtform host show')",
					    "interface '%s' does not exist on host %s", d->name, b->host);
			return;
		}
		if (d->kind == VF_HOST_LINK_ETHERNET && o->kind != VF_HOST_LINK_ETHERNET) {
			vf_error_at(b->diags, &d->pos, "use its type, or another name",
				    "interface '%s' is a %s on host %s, not an ethernet link",
				    d->name, vf_host_link_kind_name(o->kind), b->host);
			return;
		}
		if (d->mtu && d->mtu != o->mtu) {
			a = action_add(b, PHASE_UPDATE, VF_HOSTNET_UPDATE, d->name, o->kind, d->owner);
			a->desired = d;
			a->observed = o;
			change_add(b, a, "mtu", num(b, o->mtu), num(b, d->mtu));
		}
		plan_master(b, d, o);
		return;
	}

	check_links(b, d);
	/* with a mode in the config, vf_hostnet_desired checked them */
	if (d->kind == VF_HOST_LINK_BOND && d->n_bond_options && !d->bond_mode)
		bond_options_check(d, o && o->kind == VF_HOST_LINK_BOND ? o->bond_mode : NULL,
				   b->host, b->diags);
	if (!o) {
		a = action_add(b, PHASE_CREATE, VF_HOSTNET_CREATE, d->name, d->kind, d->owner);
		a->desired = d;
		if (d->kind == VF_HOST_LINK_VLAN) {
			change_add(b, a, "base", NULL, d->vlan_base);
			change_add(b, a, "id", NULL, num(b, d->vlan_id));
		}
		if (d->kind == VF_HOST_LINK_BOND && d->bond_mode)
			change_add(b, a, "mode", NULL, d->bond_mode);
		for (i = 0; d->kind == VF_HOST_LINK_BOND && i < d->n_bond_options; i++)
			change_add(b, a, option_field(b, d->bond_options[i].key), NULL,
				   d->bond_options[i].value);
		if (d->kind == VF_HOST_LINK_BRIDGE && d->stp >= 0)
			change_add(b, a, "stp", NULL, onoff(d->stp));
		if (d->mtu)
			change_add(b, a, "mtu", NULL, num(b, d->mtu));
		plan_master(b, d, NULL);
		return;
	}
	if (o->kind != d->kind) {
		vf_error_at(b->diags, &d->pos, "remove or rename the existing link, or give this one another name",
			    "link '%s' on host %s is of kind %s, but %s wants a %s",
			    d->name, b->host, vf_host_link_kind_name(o->kind), d->owner, what_of(d));
		return;
	}
	if ((d->kind == VF_HOST_LINK_VLAN &&
	     (!streq(d->vlan_base, o->vlan_base) || d->vlan_id != o->vlan_id)) ||
	    (d->kind == VF_HOST_LINK_BOND && d->bond_mode && !streq(d->bond_mode, o->bond_mode))) {
		const char *diff = d->kind == VF_HOST_LINK_VLAN
			? afmt(&b->plan->arena, "base %s id %u -> base %s id %u",
			       o->vlan_base ? o->vlan_base : "?", o->vlan_id, d->vlan_base, d->vlan_id)
			: afmt(&b->plan->arena, "mode %s -> %s", o->bond_mode ? o->bond_mode : "?",
			       d->bond_mode);
		if (!owner) {
			vf_error_at(b->diags, &d->pos, "remove or rename the existing link, or change the config to match it",
				    "%s '%s' exists on host %s, not created by virtform, with %s "
				    "than %s wants (%s)", vf_host_link_kind_name(d->kind), d->name,
				    b->host, d->kind == VF_HOST_LINK_VLAN ? "another base or id"
								       : "another mode",
				    d->owner, diff);
			return;
		}
		a = action_add(b, PHASE_CREATE, VF_HOSTNET_REPLACE, d->name, d->kind,
			       afmt(&b->plan->arena, "%s: %s cannot change in place", d->owner, diff));
		a->desired = d;
		a->observed = o;
		if (d->mtu)
			change_add(b, a, "mtu", num(b, o->mtu), num(b, d->mtu));
		/* a new link has no master: enslave it again */
		plan_master(b, d, NULL);
		return;
	}
	a = NULL;
	if (d->mtu && d->mtu != o->mtu) {
		a = action_add(b, PHASE_UPDATE, VF_HOSTNET_UPDATE, d->name, d->kind,
			       adopt_reason(b, d, owner));
		change_add(b, a, "mtu", num(b, o->mtu), num(b, d->mtu));
	}
	if (d->kind == VF_HOST_LINK_BRIDGE && d->stp >= 0 && d->stp != o->stp) {
		if (!a)
			a = action_add(b, PHASE_UPDATE, VF_HOSTNET_UPDATE, d->name, d->kind,
				       adopt_reason(b, d, owner));
		change_add(b, a, "stp", onoff(o->stp), onoff(d->stp));
	}
	for (i = 0; d->kind == VF_HOST_LINK_BOND && i < d->n_bond_options; i++) {
		const struct vf_label *want = &d->bond_options[i];
		const char *have = label_get(o->bond_options, o->n_bond_options, want->key);

		if (streq(have, want->value))
			continue;
		if (!a)
			a = action_add(b, PHASE_UPDATE, VF_HOSTNET_UPDATE, d->name, d->kind,
				       adopt_reason(b, d, owner));
		change_add(b, a, option_field(b, want->key), have ? have : "(none)", want->value);
	}
	if (!o->up) {
		if (!a)
			a = action_add(b, PHASE_UPDATE, VF_HOSTNET_UPDATE, d->name, d->kind,
				       adopt_reason(b, d, owner));
		change_add(b, a, "up", "no", "yes");
	}
	if (a) {
		a->desired = d;
		a->observed = o;
	}
	plan_master(b, d, o);
}

static bool has_action(const struct builder *b, int phase, const char *name)
{
	size_t i;

	for (i = 0; i < b->n[phase]; i++)
		if (!strcmp(b->phase[phase][i].name, name))
			return true;
	return false;
}

/*
 * Replacing a bond (its mode) takes its ports out of it and deletes the
 * VLANs stacked on it, behind the plan's back: put the ports back, and
 * create those VLANs again (a replace; apply takes "already gone" for
 * its delete) and put them back in their bridge.
 */
static void replace_dependents(struct builder *b)
{
	size_t i, j;

	for (i = 0; i < b->n[PHASE_CREATE]; i++) {
		const char *name = b->phase[PHASE_CREATE][i].name;

		if (b->phase[PHASE_CREATE][i].op != VF_HOSTNET_REPLACE ||
		    b->phase[PHASE_CREATE][i].kind != VF_HOST_LINK_BOND)
			continue;
		for (j = 0; j < b->desired->n; j++) {
			const struct vf_host_link *d = &b->desired->items[j];
			const struct vf_host_link *o = vf_host_links_find(b->observed, d->name);
			struct vf_hostnet_action *a;

			if (d->absent || !o)
				continue;
			if (streq(d->master, name) && streq(o->master, name) &&
			    !has_action(b, PHASE_ENSLAVE, d->name)) {
				a = action_add(b, PHASE_ENSLAVE, VF_HOSTNET_UPDATE, d->name, d->kind,
					       afmt(&b->plan->arena, "%s: port of %s again after "
						    "its replace", d->master_owner ? d->master_owner
										    : d->owner, name));
				a->desired = d;
				a->observed = o;
				change_add(b, a, "master", "(none)", name);
			}
			if (d->kind == VF_HOST_LINK_VLAN && streq(d->vlan_base, name) &&
			    o->kind == VF_HOST_LINK_VLAN && streq(o->vlan_base, name) &&
			    !has_action(b, PHASE_CREATE, d->name)) {
				a = action_add(b, PHASE_CREATE, VF_HOSTNET_REPLACE, d->name, d->kind,
					       afmt(&b->plan->arena, "%s: its base %s is replaced",
						    d->owner, name));
				a->desired = d;
				a->observed = o;
				if (d->master && !has_action(b, PHASE_ENSLAVE, d->name))
					plan_master(b, d, NULL);
			}
		}
	}
}

static int by_rank(const void *x, const void *y)
{
	const struct vf_hostnet_action *a = x, *b = y;
	int d = kind_rank(a->kind) - kind_rank(b->kind);

	/* qsort is not stable: fall back on the position (same array) */
	return d ? d : (a < b ? -1 : a > b);
}

static int by_rank_reverse(const void *x, const void *y)
{
	const struct vf_hostnet_action *a = x, *b = y;
	int d = kind_rank(b->kind) - kind_rank(a->kind);

	return d ? d : (a < b ? -1 : a > b);
}

static const char *vlan_base_of(const struct vf_hostnet_action *a)
{
	if (a->kind != VF_HOST_LINK_VLAN)
		return NULL;
	if (a->desired && a->desired->vlan_base)
		return a->desired->vlan_base;
	return a->observed ? a->observed->vlan_base : NULL;
}

/*
 * A VLAN stacked on a link of the same phase (a VLAN on a bridge or bond
 * the plan creates or deletes): the rank order puts bridges after VLANs,
 * so move the VLAN after its base (creates) or before it (deletes: the
 * kernel removes the VLANs of a deleted base with it).
 */
static void stack_order(struct vf_hostnet_action *v, size_t n, bool deletes)
{
	size_t i, j, moves = 0;

	for (i = 0; i < n && moves <= n * n; i++) {
		const char *base = vlan_base_of(&v[i]);
		struct vf_hostnet_action t;

		if (!base)
			continue;
		for (j = 0; j < n; j++)
			if (j != i && !strcmp(v[j].name, base))
				break;
		if (j == n)
			continue;
		t = v[i];
		if (!deletes && j > i) {          /* base later: VLAN after it */
			memmove(&v[i], &v[i + 1], (j - i) * sizeof(*v));
			v[j] = t;
			i--;
			moves++;
		} else if (deletes && j < i) {    /* base earlier: VLAN before it */
			memmove(&v[j + 1], &v[j], (i - j) * sizeof(*v));
			v[j] = t;
			moves++;
		}
	}
}

int vf_hostnet_plan_build(const char *host, const struct vf_host_links *desired,
			  const struct vf_host_links *observed,
			  const struct vf_hostnet_owned *owned, struct vf_hostnet_plan *plan,
			  struct vf_diags *diags)
{
	struct builder b;
	size_t errors = diags->n_errors;
	size_t i, p;

	memset(&b, 0, sizeof(b));
	b.plan = plan;
	b.host = host;
	b.desired = desired;
	b.observed = observed;
	b.owned = owned;
	b.diags = diags;
	plan->host = vf_arena_strdup(&plan->arena, host);

	for (i = 0; i < desired->n; i++)
		plan_one(&b, &desired->items[i]);
	for (i = 0; owned && i < owned->n; i++) {
		const struct vf_host_link *o = vf_host_links_find(observed, owned->names[i]);
		struct vf_hostnet_action *a;

		if (!o || vf_host_links_find(desired, owned->names[i]))
			continue;
		a = action_add(&b, PHASE_DELETE, VF_HOSTNET_DELETE, o->name, o->kind,
			       afmt(&plan->arena, "no longer in the configuration (was %s)",
				    owned->owners[i]));
		a->observed = o;
	}
	for (i = 0; i < observed->n; i++) {
		const char *name = observed->items[i].name;

		if (vf_host_links_find(desired, name) || owned_by(owned, name))
			continue;
		VF_GROW(plan->unmanaged, plan->n_unmanaged + 1, plan->alloc_unmanaged);
		plan->unmanaged[plan->n_unmanaged++] = vf_arena_strdup(&plan->arena, name);
	}

	replace_dependents(&b);
	for (p = 0; p < 4; p++)
		if (b.n[p])   /* qsort(NULL, 0, ...) is undefined */
			qsort(b.phase[p], b.n[p], sizeof(struct vf_hostnet_action),
			      p == PHASE_DELETE ? by_rank_reverse : by_rank);
	stack_order(b.phase[PHASE_CREATE], b.n[PHASE_CREATE], false);
	stack_order(b.phase[PHASE_DELETE], b.n[PHASE_DELETE], true);
	for (p = 0; p < 4; p++) {
		for (i = 0; i < b.n[p]; i++) {
			VF_GROW(plan->actions, plan->n + 1, plan->alloc);
			plan->actions[plan->n++] = b.phase[p][i];
		}
		free(b.phase[p]);
	}
	return diags->n_errors > errors ? -1 : 0;
}

void vf_hostnet_plan_release(struct vf_hostnet_plan *plan)
{
	vf_arena_release(&plan->arena);
	free(plan->actions);
	free(plan->unmanaged);
	memset(plan, 0, sizeof(*plan));
}

/* ---- printing ------------------------------------------------------------ */

static const char *const op_symbols[] = { "+", "~", "-/+", "-" };
static const char *const op_words[] = { "create", "update", "replace", "destroy" };

void vf_hostnet_plan_print(const struct vf_hostnet_plan *plan, FILE *out)
{
	unsigned counts[4] = { 0, 0, 0, 0 };
	size_t i, j;

	if (!plan->n) {
		fprintf(out, "No changes. Host %s's links match the configuration.\n", plan->host);
	} else {
		for (i = 0; i < plan->n; i++) {
			const struct vf_hostnet_action *a = &plan->actions[i];

			counts[a->op]++;
			/* link names and values from the kernel or a spec:
			 * escaped (a NULL value is "(none)") */
			fprintf(out, "%-3s %-7s link.", op_symbols[a->op], op_words[a->op]);
			vf_fputs_text(a->name, out);
			fputc('@', out);
			vf_fputs_text(plan->host, out);
			if (a->op == VF_HOSTNET_CREATE) {
				fprintf(out, ": %s", vf_host_link_kind_name(a->kind));
				for (j = 0; j < a->n_changes; j++) {
					fprintf(out, ", %s ", a->changes[j].field);
					vf_fputs_text(a->changes[j].after, out);
				}
			} else if (a->op == VF_HOSTNET_UPDATE) {
				for (j = 0; j < a->n_changes; j++) {
					fprintf(out, "%s %s ", j ? "," : ":", a->changes[j].field);
					vf_fputs_text(a->changes[j].before, out);
					fputs(" -> ", out);
					vf_fputs_text(a->changes[j].after, out);
				}
			}
			if (a->reason) {
				fputs(" (", out);
				vf_fputs_text(a->reason, out);
				fputc(')', out);
			}
			fputc('\n', out);
		}
		fprintf(out, "\nPlan: %u to create, %u to update, %u to replace, %u to destroy.\n",
			counts[VF_HOSTNET_CREATE], counts[VF_HOSTNET_UPDATE],
			counts[VF_HOSTNET_REPLACE], counts[VF_HOSTNET_DELETE]);
	}
	if (plan->n_unmanaged) {
		fprintf(out, "Not managed (left as they are):");
		for (i = 0; i < plan->n_unmanaged; i++) {
			fputc(' ', out);
			vf_fputs_text(plan->unmanaged[i], out);
		}
		fputc('\n', out);
	}
}

json_t *vf_hostnet_action_json(const struct vf_hostnet_plan *plan, size_t i)
{
	const struct vf_hostnet_action *a = &plan->actions[i];
	json_t *c = json_object(), *fields = json_array();
	size_t j;

	json_object_set_new(c, "address", json_sprintf("link.%s@%s", a->name, plan->host));
	json_object_set_new(c, "name", json_string(a->name));
	json_object_set_new(c, "kind", json_string(vf_host_link_kind_name(a->kind)));
	json_object_set_new(c, "action", json_string(vf_hostnet_op_name(a->op)));
	json_object_set_new(c, "reason", a->reason ? json_string(a->reason) : json_null());
	for (j = 0; j < a->n_changes; j++)
		json_array_append_new(fields, json_pack("{s:s, s:o, s:s}",
			"field", a->changes[j].field,
			"before", a->changes[j].before ? json_string(a->changes[j].before)
						       : json_null(),
			"after", a->changes[j].after));
	json_object_set_new(c, "fields", fields);
	return c;
}

json_t *vf_hostnet_plan_json(const struct vf_hostnet_plan *plan)
{
	json_t *doc = json_object(), *changes = json_array(), *unmanaged = json_array();
	size_t i;

	for (i = 0; i < plan->n; i++)
		json_array_append_new(changes, vf_hostnet_action_json(plan, i));
	for (i = 0; i < plan->n_unmanaged; i++)
		json_array_append_new(unmanaged, json_string(plan->unmanaged[i]));
	json_object_set_new(doc, "host", json_string(plan->host));
	json_object_set_new(doc, "status", json_string("planned"));
	json_object_set_new(doc, "changes", changes);
	json_object_set_new(doc, "unmanaged", unmanaged);
	return doc;
}

int vf_hostnet_plan_print_json(const struct vf_hostnet_plan *plan, FILE *out)
{
	json_t *doc = vf_hostnet_plan_json(plan);
	int rc;

	rc = json_dumpf(doc, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(doc);
	return rc;
}

/* Does plan delete the link called name? */
static bool plan_deletes(const struct vf_hostnet_plan *plan, const char *name)
{
	size_t i;

	for (i = 0; i < plan->n; i++)
		if (plan->actions[i].op == VF_HOSTNET_DELETE && !strcmp(plan->actions[i].name, name))
			return true;
	return false;
}

void vf_hostnet_plan_drop_deletes(struct vf_hostnet_plan *plan)
{
	size_t i, j, n = 0;

	for (i = 0; i < plan->n; i++) {
		struct vf_hostnet_action *a = &plan->actions[i];
		size_t k = 0;

		if (a->op == VF_HOSTNET_DELETE)
			continue;
		/*
		 * A port released from a bridge or bond that goes stays in it
		 * until the delete (which releases it): a VM's uplink keeps
		 * working until the VMs that use it are gone.
		 */
		if (a->op == VF_HOSTNET_UPDATE && a->observed && a->observed->master &&
		    plan_deletes(plan, a->observed->master)) {
			for (j = 0; j < a->n_changes; j++)
				if (strcmp(a->changes[j].field, "master") ||
				    strcmp(a->changes[j].after, "(none)"))
					a->changes[k++] = a->changes[j];
			a->n_changes = k;
			if (!k)
				continue;
		}
		plan->actions[n++] = *a;
	}
	plan->n = n;
}

/* ---- the host spec ------------------------------------------------------- */

#define SPEC_FORMAT "virtform-host-spec"
#define SPEC_VERSION 1

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *vf_hostnet_spec_json(const char *host, const struct vf_host_links *desired)
{
	json_t *doc = json_object(), *links = json_array();
	size_t i, j;

	json_object_set_new(doc, "format", json_string(SPEC_FORMAT));
	json_object_set_new(doc, "version", json_integer(SPEC_VERSION));
	json_object_set_new(doc, "host", json_string(host));
	for (i = 0; i < desired->n; i++) {
		const struct vf_host_link *d = &desired->items[i];
		json_t *l = json_object(), *ports = json_array(), *opts = json_object();

		json_object_set_new(l, "name", json_string(d->name));
		json_object_set_new(l, "kind", json_string(vf_host_link_kind_name(d->kind)));
		json_object_set_new(l, "mtu", json_integer(d->mtu));
		json_object_set_new(l, "master", str_or_null(d->master));
		json_object_set_new(l, "vlan_base", str_or_null(d->vlan_base));
		json_object_set_new(l, "vlan_id", json_integer(d->vlan_id));
		json_object_set_new(l, "bond_mode", str_or_null(d->bond_mode));
		for (j = 0; j < d->n_bond_options; j++)
			json_object_set_new(opts, d->bond_options[j].key,
					    json_string(d->bond_options[j].value));
		json_object_set_new(l, "bond_options", opts);
		for (j = 0; j < d->n_ports; j++)
			json_array_append_new(ports, json_string(d->ports[j]));
		json_object_set_new(l, "ports", ports);
		json_object_set_new(l, "stp", d->stp < 0 ? json_null() : json_boolean(d->stp));
		json_object_set_new(l, "absent", json_boolean(d->absent));
		json_object_set_new(l, "owner", str_or_null(d->owner));
		json_object_set_new(l, "master_owner", str_or_null(d->master_owner));
		json_object_set_new(l, "pos", d->pos.line || d->pos.file
			? json_pack("{s:o, s:I, s:I}", "file", str_or_null(d->pos.file),
				    "line", (json_int_t)d->pos.line, "col", (json_int_t)d->pos.col)
			: json_null());
		json_array_append_new(links, l);
	}
	json_object_set_new(doc, "links", links);
	return doc;
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
	if (ifname && !ifname_ok(json_string_value(v)))
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

static int spec_link(struct spec_parser *p, const json_t *l)
{
	static const char *const keys[] = {
		"name", "kind", "mtu", "master", "vlan_base", "vlan_id", "bond_mode",
		"bond_options", "ports", "stp", "absent", "owner", "master_owner", "pos",
	};
	static const char *const kinds[] = { "ethernet", "bond", "bridge", "vlan", "port" };
	static const enum vf_host_link_kind kind_values[] = {
		VF_HOST_LINK_ETHERNET, VF_HOST_LINK_BOND, VF_HOST_LINK_BRIDGE,
		VF_HOST_LINK_VLAN, VF_HOST_LINK_PORT,
	};
	struct vf_host_link w;
	const char *kind, *name;
	const json_t *v;
	size_t i, k;

	if (!json_is_object(l))
		return spec_fail(p, "must be an object, not %s", json_type_text(l));
	if (spec_str(p, l, "name", true, true, &name) < 0)
		return -1;
	p->name = name;
	if (vf_host_links_find(p->out, name))
		return spec_fail(p, "a link of that name comes earlier in \"links\"; each link once");
	if (spec_keys(p, l, "a link", keys, VF_ARRAY_SIZE(keys)) < 0 ||
	    spec_str(p, l, "kind", true, false, &kind) < 0)
		return -1;
	for (k = 0; k < VF_ARRAY_SIZE(kinds); k++)
		if (!strcmp(kinds[k], kind))
			break;
	if (k == VF_ARRAY_SIZE(kinds))
		return spec_fail(p, "kind '%s' is not one of ethernet, bond, bridge, vlan or port",
				 kind);
	memset(&w, 0, sizeof(w));
	w.kind = kind_values[k];
	w.stp = -1;
	if (spec_uint(p, l, "mtu", 68, 65535, true, &w.mtu) < 0 ||
	    spec_str(p, l, "master", false, true, &w.master) < 0 ||
	    spec_str(p, l, "vlan_base", false, true, &w.vlan_base) < 0 ||
	    spec_uint(p, l, "vlan_id", 1, 4094, true, &w.vlan_id) < 0 ||
	    spec_str(p, l, "bond_mode", false, false, &w.bond_mode) < 0 ||
	    spec_bool(p, l, "absent", &w.absent) < 0 ||
	    spec_str(p, l, "owner", true, false, &w.owner) < 0 ||
	    spec_str(p, l, "master_owner", false, false, &w.master_owner) < 0)
		return -1;
	if (w.kind == VF_HOST_LINK_VLAN && (!w.vlan_base || !w.vlan_id))
		return spec_fail(p, "a vlan needs \"vlan_base\" and \"vlan_id\" (1..4094)");
	if (w.kind != VF_HOST_LINK_VLAN && (w.vlan_base || w.vlan_id))
		return spec_fail(p, "\"vlan_base\" and \"vlan_id\" are for kind vlan only, not %s",
				 kind);
	if (w.bond_mode) {
		if (w.kind != VF_HOST_LINK_BOND)
			return spec_fail(p, "\"bond_mode\" is for kind bond only, not %s", kind);
		for (i = 0; i < VF_ARRAY_SIZE(bond_mode_names); i++)
			if (!strcmp(bond_mode_names[i], w.bond_mode))
				break;
		if (i == VF_ARRAY_SIZE(bond_mode_names))
			return spec_fail(p, "\"bond_mode\" '%s' is not one of balance-rr, "
					 "active-backup, balance-xor, broadcast, 802.3ad, "
					 "balance-tlb or balance-alb", w.bond_mode);
	}
	v = json_object_get(l, "bond_options");
	if (v && !json_is_null(v)) {
		const char *key;
		json_t *val;

		if (!json_is_object(v))
			return spec_fail(p, "\"bond_options\" must be an object of option name to "
					 "string value, not %s", json_type_text(v));
		if (json_object_size(v) && w.kind != VF_HOST_LINK_BOND)
			return spec_fail(p, "\"bond_options\" are for kind bond only, not %s", kind);
		w.bond_options = vf_arena_alloc(&p->out->arena,
						(json_object_size(v) + 1) * sizeof(*w.bond_options));
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
			w.bond_options[w.n_bond_options].key = vf_arena_strdup(&p->out->arena, key);
			w.bond_options[w.n_bond_options++].value = canon;
		}
	}
	v = json_object_get(l, "ports");
	if (v && !json_is_null(v)) {
		json_t *port;

		if (!json_is_array(v))
			return spec_fail(p, "\"ports\" must be an array of link names, not %s",
					 json_type_text(v));
		if (json_array_size(v) && w.kind != VF_HOST_LINK_BOND && w.kind != VF_HOST_LINK_BRIDGE)
			return spec_fail(p, "\"ports\" are for kinds bond and bridge only, not %s", kind);
		w.ports = vf_arena_alloc(&p->out->arena, (json_array_size(v) + 1) * sizeof(*w.ports));
		json_array_foreach(v, i, port) {
			if (!json_is_string(port) || !ifname_ok(json_string_value(port)))
				return spec_fail(p, "\"ports\"[%zu] must be a link name (1 to %d bytes, "
						 "no '/', ':' or white space)", i, VF_IFNAME_MAX);
			w.ports[w.n_ports++] = vf_arena_strdup(&p->out->arena, json_string_value(port));
		}
	}
	v = json_object_get(l, "stp");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return spec_fail(p, "\"stp\" must be true, false or null, not %s",
					 json_type_text(v));
		if (w.kind != VF_HOST_LINK_BRIDGE)
			return spec_fail(p, "\"stp\" is for kind bridge only, not %s", kind);
		w.stp = json_is_true(v);
	}
	v = json_object_get(l, "pos");
	if (v && !json_is_null(v)) {
		static const char *const pos_keys[] = { "file", "line", "col" };
		const char *file;
		unsigned line, col;

		if (!json_is_object(v))
			return spec_fail(p, "\"pos\" must be an object {\"file\", \"line\", \"col\"} or "
					 "null, not %s", json_type_text(v));
		if (spec_keys(p, v, "\"pos\"", pos_keys, VF_ARRAY_SIZE(pos_keys)) < 0 ||
		    spec_str(p, v, "file", false, false, &file) < 0 ||
		    spec_uint(p, v, "line", 1, UINT_MAX / 2, true, &line) < 0 ||
		    spec_uint(p, v, "col", 1, UINT_MAX / 2, true, &col) < 0)
			return -1;
		w.pos.file = file;
		w.pos.line = line;
		w.pos.col = col;
	}
	{
		struct vf_host_link *k2 = vf_host_links_add(p->out, name);
		const char *n2 = k2->name;

		*k2 = w;
		k2->name = n2;
	}
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
