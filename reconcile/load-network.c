/*
 * load-network.c — networks[] into the model: the bridge or the link it
 * derives, and the IPv4 settings (address, DHCP range).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/load-internal.h"

static bool get_ipv4(struct loader *L, const struct vf_node *map, const char *key, bool prefix,
		     const char *ctx, uint32_t *addr, unsigned *plen)
{
	const char *s = vf_load_get_str(L, map, key, true, ctx);
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

	if (!vf_load_want_map(L, n, "ipv4"))
		return;
	c = xasprintf("%s: ipv4", ctx);
	vf_load_check_keys(L, n, c, keys, VF_ARRAY_SIZE(keys));
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
	if (dhcp && vf_load_want_map(L, dhcp, "dhcp")) {
		char *dc = xasprintf("%s.dhcp", c);
		bool ok;
		vf_load_check_keys(L, dhcp, dc, dkeys, VF_ARRAY_SIZE(dkeys));
		ok = get_ipv4(L, dhcp, "start", false, dc, &net->dhcp_start, NULL);
		ok = get_ipv4(L, dhcp, "end", false, dc, &net->dhcp_end, NULL) && ok;
		if (ok) {
			if ((net->dhcp_start & mask) != lo || (net->dhcp_end & mask) != lo ||
			    net->dhcp_start == lo || net->dhcp_end == hi)
				ERR(L, &dhcp->pos, NULL, "%s: the range is not inside the subnet of %s", dc,
				    vf_load_get_str(L, n, "address", true, c));
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

static void load_network(struct loader *L, const struct vf_node *n, void *obj, size_t index,
			 const char *ctx)
{
	static const char *const modes[] = { "bridge", "nat", "isolated" };
	struct vf_network *net = obj;
	const struct vf_node *ip;
	bool ok;
	int e;

	e = vf_load_get_enum(L, n, "mode", true, modes, VF_ARRAY_SIZE(modes), 0, ctx);
	net->mode = e < 0 ? VF_NET_MODE_BRIDGE : (enum vf_net_mode)e;
	net->vlan = (unsigned)vf_load_get_uint(L, n, "vlan", false, 1, 4094, 0, ctx, &ok);
	net->uplink = vf_load_get_ifname(L, n, "uplink", false, ctx);
	net->bridge = vf_load_get_ifname(L, n, "bridge", false, ctx);
	net->mtu = (unsigned)vf_load_get_uint(L, n, "mtu", false, 68, 65535, 0, ctx, &ok);
	net->clusters = vf_load_get_scope(L, n, REF_NETWORK_CLUSTER, index, &net->n_clusters,
					  &net->cluster_refs, ctx);
	ip = vf_map_get(n, "ipv4");
	if (e >= 0) {
		if (net->mode == VF_NET_MODE_BRIDGE) {
			if (ip)
				vf_load_forbid(L, n, "ipv4", ctx, "mode: nat and mode: isolated");
			if (net->vlan && !vf_map_pair(n, "uplink"))
				ERR(L, &n->pos, "add 'uplink: bond0' (the NIC or bond carrying the VLAN)",
				    "%s: a VLAN network needs an uplink", ctx);
			else if (!vf_map_pair(n, "uplink") && !vf_map_pair(n, "bridge"))
				ERR(L, &n->pos, "add 'uplink:' (a NIC or bond) or 'bridge:' (an existing bridge)",
				    "%s: a bridge network needs an uplink or a bridge", ctx);
		} else {
			vf_load_forbid(L, n, "vlan", ctx, "mode: bridge");
			vf_load_forbid(L, n, "uplink", ctx, "mode: bridge");
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
}

static const char *const network_keys[] = { "name", "mode", "vlan", "uplink", "bridge", "mtu",
					    "clusters", "ipv4" };

const struct vf_load_kind vf_load_network_kind = {
	KIND_NETWORK, "a network", network_keys, VF_ARRAY_SIZE(network_keys),
	VF_LOAD_KIND_SLOT(struct vf_network, networks), load_network,
};
