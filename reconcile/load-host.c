/*
 * load-host.c — clusters[] (with their overcommit, rebalance and
 * migration settings) and hosts[] (with a host's interfaces, its ssh
 * transport, maintenance and memory reserve) into the model.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/load-internal.h"
#include "reconcile/transport.h"

/* migration: {bandwidth, max_downtime, parallel, ...}; network a
 * reference (owner: the cluster's index). */
static void load_migration(struct loader *L, const struct vf_node *n, struct vf_migration *m,
			   size_t index, const char *ctx)
{
	static const char *const keys[] = { "bandwidth", "max_downtime", "parallel",
					    "auto_converge", "post_copy", "copy_storage",
					    "timeout", "network" };
	const struct vf_node *v;
	const char *c;
	uint64_t bw;
	bool ok;

	m->parallel = 2;
	v = vf_load_sub_map(L, n, "migration", keys, VF_ARRAY_SIZE(keys), ctx, &c);
	if (!v)
		return;
	m->given = true;
	m->pos = v->pos;
	bw = vf_load_get_size(L, v, "bandwidth", false, 1ull << 40, c);
	if (bw % (1u << 20))
		ERR(L, &vf_map_get(v, "bandwidth")->pos, "for example 100MiB (per second)",
		    "%s: bandwidth must be a whole number of MiB (per second)", c);
	else
		m->bandwidth = (unsigned)(bw >> 20);
	m->max_downtime_ms =
		(unsigned)vf_load_get_uint(L, v, "max_downtime", false, 1, 600000, 0, c, &ok);
	m->parallel = (unsigned)vf_load_get_uint(L, v, "parallel", false, 1, 64, 2, c, &ok);
	m->auto_converge = vf_load_get_bool(L, v, "auto_converge", false, c);
	m->post_copy = vf_load_get_bool(L, v, "post_copy", false, c);
	m->copy_storage = vf_load_get_bool(L, v, "copy_storage", false, c);
	m->timeout = (unsigned)vf_load_get_uint(L, v, "timeout", false, 1, 86400, 0, c, &ok);
	m->network = vf_load_get_name(L, v, "network", false, c);
	vf_load_add_ref(L, REF_MIGRATION_NETWORK, index, 0, m->network,
			vf_load_pos_of(v, "network"), c);
}

static void load_cluster(struct loader *L, const struct vf_node *n, void *obj, size_t index,
			 const char *ctx)
{
	static const char *const sched[] = { "evenly_distributed", "power_saving",
					     "vm_evenly_distributed" };
	static const char *const rebalance_keys[] = { "threshold" };
	struct vf_cluster *cl = obj;
	const struct vf_node *v;
	const char *c;
	int e;

	cl->cpu_model = vf_load_get_str(L, n, "cpu_model", false, ctx);
	if (!cl->cpu_model)
		cl->cpu_model = "auto";
	e = vf_load_get_enum(L, n, "scheduling", false, sched, VF_ARRAY_SIZE(sched), 0, ctx);
	cl->scheduling = e < 0 ? 0 : (enum vf_scheduling)e;
	cl->description = vf_load_get_str(L, n, "description", false, ctx);
	cl->memory_overcommit =
		vf_load_get_percent(L, n, "memory_overcommit", true, 10, 1000, 100, ctx);
	cl->cpu_overcommit = vf_load_get_percent(L, n, "cpu_overcommit", true, 10, 10000, 0, ctx);
	v = vf_load_sub_map(L, n, "rebalance", rebalance_keys, VF_ARRAY_SIZE(rebalance_keys), ctx,
			    &c);
	if (v && !vf_map_pair(v, "threshold"))
		ERR(L, &v->pos, "for example rebalance: {threshold: 20%}",
		    "%s: missing required key 'threshold'", c);
	else if (v)
		cl->rebalance_threshold = vf_load_get_percent(L, v, "threshold", false, 1, 100, 0, c);
	load_migration(L, n, &cl->migration, index, ctx);
}

static const char *const cluster_keys[] = { "name", "cpu_model", "scheduling", "description",
					    "memory_overcommit", "cpu_overcommit", "rebalance",
					    "migration" };

const struct vf_load_kind vf_load_cluster_kind = {
	KIND_CLUSTER, "a cluster", cluster_keys, VF_ARRAY_SIZE(cluster_keys),
	VF_LOAD_KIND_SLOT(struct vf_cluster, clusters), load_cluster,
};

/* One of a host's interfaces into slot (a struct vf_iface); its name. */
static const char *load_iface(struct loader *L, const struct vf_node *n, void *slot,
			      const char *host_ctx, size_t idx)
{
	static const char *const keys[] = { "name", "type", "mode", "ports", "options", "stp",
					    "base", "id", "mtu", "state" };
	static const char *const types[] = { "ethernet", "bond", "bridge", "vlan" };
	static const char *const states[] = { "up", "absent" };
	static const char *const modes[] = { "balance-rr", "active-backup", "balance-xor",
					     "broadcast", "802.3ad", "balance-tlb", "balance-alb" };
	struct vf_iface *f = slot;
	const char *ctx;
	bool ok;
	int e;

	f->pos = n->pos;
	f->name = vf_load_get_ifname(L, n, "name", true,
				     vf_load_ctx_join(L, host_ctx, "interface", NULL, idx));
	ctx = vf_load_ctx_join(L, host_ctx, "interface", f->name, idx);
	vf_load_check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	e = vf_load_get_enum(L, n, "type", true, types, VF_ARRAY_SIZE(types), 0, ctx);
	f->type = e < 0 ? VF_IFACE_ETHERNET : (enum vf_iface_type)e;
	e = vf_load_get_enum(L, n, "state", false, states, VF_ARRAY_SIZE(states), 0, ctx);
	f->state = e < 0 ? VF_IFACE_STATE_UP : (enum vf_iface_state)e;
	f->mtu = (unsigned)vf_load_get_uint(L, n, "mtu", false, 68, 65535, 0, ctx, &ok);
	f->stp = -1;
	if (e < 0)
		return f->name;     /* type-specific keys cannot be judged */
	if (f->type == VF_IFACE_BOND) {
		e = vf_load_get_enum(L, n, "mode", false, modes, VF_ARRAY_SIZE(modes), -1, ctx);
		f->bond_mode = e < 0 ? NULL : modes[e];
		f->options = vf_load_get_labels(L, n, "options", &f->n_options, ctx, false);
	} else {
		vf_load_forbid(L, n, "mode", ctx, "type: bond");
		vf_load_forbid(L, n, "options", ctx, "type: bond");
	}
	if (f->type == VF_IFACE_BOND || f->type == VF_IFACE_BRIDGE)
		f->ports = vf_load_get_list(L, n, "ports", true, &f->n_ports, NULL, ctx);
	else
		vf_load_forbid(L, n, "ports", ctx, "type: bond and type: bridge");
	if (f->type == VF_IFACE_BRIDGE) {
		if (vf_map_pair(n, "stp"))
			f->stp = vf_load_get_bool(L, n, "stp", false, ctx);
	} else {
		vf_load_forbid(L, n, "stp", ctx, "type: bridge");
	}
	if (f->type == VF_IFACE_VLAN) {
		f->vlan_base = vf_load_get_ifname(L, n, "base", true, ctx);
		f->vlan_id = (unsigned)vf_load_get_uint(L, n, "id", true, 1, 4094, 0, ctx, &ok);
	} else {
		vf_load_forbid(L, n, "base", ctx, "type: vlan");
		vf_load_forbid(L, n, "id", ctx, "type: vlan");
	}
	return f->name;
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
	vf_load_check_keys(L, m, c, keys, VF_ARRAY_SIZE(keys));
	ssh->host = vf_load_get_str(L, m, "host", false, c);
	if (ssh->host && !ssh_word_valid(ssh->host)) {
		ERR(L, &vf_map_get(m, "host")->pos, "write a host name or an IP address",
		    "%s: host '%s' is not a host name or address", c, ssh->host);
		ssh->host = NULL;
	}
	ssh->user = vf_load_get_str(L, m, "user", false, c);
	if (ssh->user && (!ssh_word_valid(ssh->user) || strchr(ssh->user, '@'))) {
		ERR(L, &vf_map_get(m, "user")->pos, "write a login name such as root",
		    "%s: user '%s' is not a login name", c, ssh->user);
		ssh->user = NULL;
	}
	if (vf_map_pair(m, "port"))
		ssh->port = (unsigned)vf_load_get_uint(L, m, "port", false, 1, 65535, 0, c, &ok);
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
	ssh->virtform = vf_load_get_str(L, m, "virtform", false, c);
	if (ssh->virtform && !(ssh->virtform[0] == '/' ? !strchr(ssh->virtform, '\n')
						       : ssh_word_valid(ssh->virtform))) {
		ERR(L, &vf_map_get(m, "virtform")->pos,
		    "write an absolute path such as /usr/local/bin/virtform, or a command name",
		    "%s: virtform '%s' is not a path or command name", c, ssh->virtform);
		ssh->virtform = NULL;
	}
	free(c);
}

/*
 * uri: a libvirt connection URI whose transport is safe for the admin
 * traffic (transport.c), or qemu+tcp with insecure_transport: true.  A bad
 * one is reported and left NULL.
 */
static void load_host_uri(struct loader *L, const struct vf_node *n, struct vf_host *h,
			  const char *ctx)
{
	const char *s;

	h->uri = vf_load_get_str(L, n, "uri", true, ctx);
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
	h->insecure_transport = vf_load_get_bool(L, n, "insecure_transport", false, ctx);
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
}

static void load_host(struct loader *L, const struct vf_node *n, void *obj, size_t index,
		      const char *ctx)
{
	static const struct vf_load_list ifaces = {
		"interfaces", "an interface", "interface", "rename one of them",
		sizeof(struct vf_iface), load_iface,
	};
	struct vf_host *h = obj;

	h->cluster = vf_load_get_name(L, n, "cluster", false, ctx);
	vf_load_add_ref(L, REF_HOST_CLUSTER, index, 0, h->cluster, vf_load_pos_of(n, "cluster"), ctx);
	load_host_uri(L, n, h, ctx);
	h->address = vf_load_get_str(L, n, "address", false, ctx);
	if (h->address && (!*h->address || strpbrk(h->address, " \t\n/'\""))) {
		ERR(L, &vf_map_get(n, "address")->pos, "write an IP address or a host name",
		    "%s: address '%s' is not an address", ctx, h->address);
	}
	h->labels = vf_load_get_labels(L, n, "labels", &h->n_labels, ctx, true);
	load_ssh(L, n, &h->ssh, ctx);
	h->ifaces = vf_load_named_list(L, n, &ifaces, ctx, &h->n_ifaces, NULL);
	h->maintenance = vf_load_get_bool(L, n, "maintenance", false, ctx);
	h->memory_reserve = 1ull << 30;
	if (vf_map_pair(n, "memory_reserve"))
		h->memory_reserve = vf_load_get_size(L, n, "memory_reserve", false, VF_MEMORY_MAX, ctx);
}

static const char *const host_keys[] = { "name", "cluster", "uri", "address", "labels",
					 "interfaces", "ssh", "insecure_transport",
					 "maintenance", "memory_reserve" };

const struct vf_load_kind vf_load_host_kind = {
	KIND_HOST, "a host", host_keys, VF_ARRAY_SIZE(host_keys),
	VF_LOAD_KIND_SLOT(struct vf_host, hosts), load_host,
};
