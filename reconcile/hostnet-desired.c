/*
 * hostnet-desired.c — a host's desired links from the config: the
 * interfaces it declares and the bridges (with their uplink ports) that
 * bridge-mode networks derive, merged into one list (see hostnet.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/hostnet-internal.h"

static void pos_text(const struct vf_pos *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u:%u", p->file ? p->file : "?", p->line, p->col);
}

/*
 * Add want to out, or merge it into the link of that name already there.
 * A port entry (only a master) merges with anything; otherwise kinds and
 * every setting both sides give must agree.
 */
/* What have and want (the same link, from two places) disagree on, or
 * NULL: a port entry only names the link, so only its master counts. */
static const char *conflict_of(const struct vf_host_link *have, const struct vf_host_link *want)
{
	if (have->absent != want->absent)
		return "state";
	if (have->master && want->master && strcmp(have->master, want->master))
		return "master";
	if (have->kind == VF_HOST_LINK_PORT || want->kind == VF_HOST_LINK_PORT)
		return NULL;
	if (have->kind != want->kind)
		return "type";
	if (have->mtu && want->mtu && have->mtu != want->mtu)
		return "mtu";
	if (!streq(have->vlan_base, want->vlan_base) || have->vlan_id != want->vlan_id)
		return "vlan base or id";
	if (have->bond_mode && want->bond_mode && strcmp(have->bond_mode, want->bond_mode))
		return "bond mode";
	if (have->stp >= 0 && want->stp >= 0 && have->stp != want->stp)
		return "stp";
	return NULL;
}

/* What have leaves unset, from want. */
static void fill_unset(struct vf_host_link *have, const struct vf_host_link *want)
{
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

static void merge(struct vf_host_links *out, const struct vf_host_link *want,
		  struct vf_diags *diags)
{
	struct vf_host_link *have = NULL;
	const char *what;
	char where[512];
	size_t i;

	for (i = 0; i < out->n; i++)
		if (!strcmp(out->items[i].name, want->name))
			have = &out->items[i];
	if (!have) {
		vf_hostnet_links_add_copy(out, want);
		return;
	}
	what = conflict_of(have, want);
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
	fill_unset(have, want);
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

/* A declared interface's bond options, canonical; the ones that are not
 * valid reported and left out. */
static void iface_bond_options(struct vf_host_links *out, const struct vf_iface *f,
			       struct vf_host_link *w, struct vf_diags *diags)
{
	size_t j;

	if (!f->n_options)
		return;
	w->bond_options = vf_arena_alloc(&out->arena, f->n_options * sizeof(*w->bond_options));
	for (j = 0; j < f->n_options; j++) {
		const char *canon = NULL;
		char *error = NULL;

		if (vf_hostnet_bond_option_canon(&out->arena, f->options[j].key,
						 f->options[j].value, &canon, &error) < 0) {
			vf_error_at(diags, &f->pos, NULL, "interface '%s': %s", f->name, error);
			free(error);
			continue;
		}
		w->bond_options[w->n_bond_options].key = f->options[j].key;
		w->bond_options[w->n_bond_options++].value = canon;
	}
}

/* A link the host declares (hosts[].interfaces), and its ports. */
static void add_iface(struct vf_host_links *out, const struct vf_iface *f,
		      struct vf_diags *diags)
{
	struct vf_host_link w;
	size_t j;

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
	iface_bond_options(out, f, &w, diags);
	merge(out, &w, diags);
	if (w.absent)
		return;
	for (j = 0; j < f->n_ports; j++)
		add_port(out, f->ports[j], f->name, &f->pos, w.owner, diags);
}

/*
 * The links a bridge-mode network with an uplink derives: its bridge, with
 * the uplink as its port, or a VLAN on the uplink (net->vlan) as the port.
 */
static void add_network(struct vf_host_links *out, const struct vf_network *net,
			struct vf_diags *diags)
{
	const char *owner = afmt(&out->arena, "network %s", net->name);
	const char *port = net->uplink;
	struct vf_host_link w;

	if (net->vlan) {
		port = afmt(&out->arena, "%s.%u", net->uplink, net->vlan);
		if (strlen(port) > VF_IFNAME_MAX) {
			vf_error_at(diags, &net->pos,
				    "shorten the uplink's name, or declare the vlan under hosts[].interfaces",
				    "network '%s': vlan link name '%s' exceeds %d bytes",
				    net->name, port, VF_IFNAME_MAX);
			return;
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

int vf_hostnet_desired(const struct vf_config *config, const struct vf_host *host,
		       struct vf_host_links *out, struct vf_diags *diags)
{
	size_t errors = diags->n_errors;
	size_t i;

	for (i = 0; i < host->n_ifaces; i++)
		add_iface(out, &host->ifaces[i], diags);
	for (i = 0; i < config->n_networks; i++) {
		const struct vf_network *net = &config->networks[i];

		if (net->mode != VF_NET_MODE_BRIDGE || !net->uplink)
			continue;  /* without an uplink, bridge names an existing bridge */
		if (!vf_cluster_in_scope(net->cluster_refs, net->n_clusters, host->cluster_ref))
			continue;
		add_network(out, net, diags);
	}
	/* a bond's options against the mode the config gives (without one,
	 * the plan checks them against the host's bond) */
	for (i = 0; i < out->n; i++) {
		const struct vf_host_link *d = &out->items[i];
		if (d->kind == VF_HOST_LINK_BOND && d->bond_mode && d->n_bond_options && !d->absent)
			vf_hostnet_bond_options_check(d, d->bond_mode, host->name, diags);
	}
	return diags->n_errors > errors ? -1 : 0;
}
