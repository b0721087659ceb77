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
	return diags->n_errors > errors ? -1 : 0;
}

/* ---- ownership records --------------------------------------------------- */

int vf_hostnet_owned_read(const char *path, struct vf_hostnet_owned *out, char **error)
{
	json_error_t je;
	json_t *doc, *links, *l;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	doc = json_load_file(path, 0, &je);
	if (!doc) {
		*error = xasprintf("cannot read host network state '%s': %s", path, je.text);
		return -1;
	}
	links = json_object_get(doc, "links");
	if (!json_is_array(links)) {
		*error = xasprintf("host network state '%s': no \"links\" array", path);
		json_decref(doc);
		return -1;
	}
	json_array_foreach(links, i, l) {
		const char *name = json_string_value(json_object_get(l, "name"));
		const char *owner = json_string_value(json_object_get(l, "owner"));

		if (!name) {
			*error = xasprintf("host network state '%s': links[%zu] has no name", path, i);
			json_decref(doc);
			vf_hostnet_owned_release(out);
			return -1;
		}
		VF_GROW(out->names, out->n + 1, out->alloc);
		out->owners = xrealloc(out->owners, out->alloc * sizeof(*out->owners));
		out->names[out->n] = xstrdup(name);
		out->owners[out->n++] = xstrdup(owner ? owner : "?");
	}
	json_decref(doc);
	return 0;
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

int vf_hostnet_owned_write(const char *path, const struct vf_hostnet_owned *o, char **error)
{
	json_t *doc = json_object(), *links = json_array();
	char *copy = xstrdup(path), *dir = dirname(copy);
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	char *text;
	size_t i, len;
	int fd = -1, rc = -1;

	for (i = 0; i < o->n; i++)
		json_array_append_new(links, json_pack("{s:s, s:s}", "name", o->names[i],
						       "owner", o->owners[i]));
	json_object_set_new(doc, "links", links);
	text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	len = strlen(text);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*error = xasprintf("cannot create the directory '%s' of host network state '%s': %s",
				   dir, path, strerror(errno));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error = xasprintf("cannot write host network state '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || write(fd, text, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		*error = xasprintf("cannot write host network state '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		*error = xasprintf("cannot write host network state '%s': %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		*error = xasprintf("cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);   /* best effort: the rename is done */
		close(fd);
		fd = -1;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(text);
	free(tmp);
	free(copy);
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

static void plan_one(struct builder *b, const struct vf_host_link *d)
{
	const struct vf_host_link *o = vf_host_links_find(b->observed, d->name);
	const char *owner = owned_by(b->owned, d->name);
	struct vf_hostnet_action *a;

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
	if (!o) {
		a = action_add(b, PHASE_CREATE, VF_HOSTNET_CREATE, d->name, d->kind, d->owner);
		a->desired = d;
		if (d->kind == VF_HOST_LINK_VLAN) {
			change_add(b, a, "base", NULL, d->vlan_base);
			change_add(b, a, "id", NULL, num(b, d->vlan_id));
		}
		if (d->kind == VF_HOST_LINK_BOND && d->bond_mode)
			change_add(b, a, "mode", NULL, d->bond_mode);
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
			fprintf(out, "%-3s %-7s link.%s@%s", op_symbols[a->op], op_words[a->op],
				a->name, plan->host);
			if (a->op == VF_HOSTNET_CREATE) {
				fprintf(out, ": %s", vf_host_link_kind_name(a->kind));
				for (j = 0; j < a->n_changes; j++)
					fprintf(out, ", %s %s", a->changes[j].field, a->changes[j].after);
			} else if (a->op == VF_HOSTNET_UPDATE) {
				for (j = 0; j < a->n_changes; j++)
					fprintf(out, "%s %s %s -> %s", j ? "," : ":",
						a->changes[j].field, a->changes[j].before,
						a->changes[j].after);
			}
			if (a->reason)
				fprintf(out, " (%s)", a->reason);
			fputc('\n', out);
		}
		fprintf(out, "\nPlan: %u to create, %u to update, %u to replace, %u to destroy.\n",
			counts[VF_HOSTNET_CREATE], counts[VF_HOSTNET_UPDATE],
			counts[VF_HOSTNET_REPLACE], counts[VF_HOSTNET_DELETE]);
	}
	if (plan->n_unmanaged) {
		fprintf(out, "Not managed (left as they are):");
		for (i = 0; i < plan->n_unmanaged; i++)
			fprintf(out, " %s", plan->unmanaged[i]);
		fputc('\n', out);
	}
}

int vf_hostnet_plan_print_json(const struct vf_hostnet_plan *plan, FILE *out)
{
	json_t *doc = json_object(), *changes = json_array(), *unmanaged = json_array();
	size_t i, j;
	int rc;

	for (i = 0; i < plan->n; i++) {
		const struct vf_hostnet_action *a = &plan->actions[i];
		json_t *c = json_object(), *fields = json_array();

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
		json_array_append_new(changes, c);
	}
	for (i = 0; i < plan->n_unmanaged; i++)
		json_array_append_new(unmanaged, json_string(plan->unmanaged[i]));
	json_object_set_new(doc, "host", json_string(plan->host));
	json_object_set_new(doc, "changes", changes);
	json_object_set_new(doc, "unmanaged", unmanaged);
	rc = json_dumpf(doc, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(doc);
	return rc;
}
