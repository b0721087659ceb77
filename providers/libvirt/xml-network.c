/*
 * xml-network.c — a virtual network's libvirt XML both ways (xml.h), and
 * the DHCP range fragment virNetworkUpdate takes for a live change.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/xml-internal.h"

char *vf_xml_network_format(const struct vf_resource *r, char **error)
{
	const struct vf_network_spec *net = &r->u.net;
	xmlNodePtr root, n;
	struct builder b;
	char *what, *xml = NULL;

	what = vf_xml_object_label("network", r->name);
	if (!r->name || !net->bridge || !*net->bridge) {
		*error = xasprintf("cannot write the XML of %s: it has no %s", what,
				   r->name ? "bridge" : "name");
		goto out;
	}
	root = vf_xml_start(&b, "network");
	vf_xml_add(&b, root, "name", r->name);
	if (r->uuid)
		vf_xml_add(&b, root, "uuid", r->uuid);
	switch (net->mode) {
	case VF_NET_MODE_NAT:
		vf_xml_set(&b, vf_xml_add(&b, root, "forward", NULL), "mode", "nat");
		break;
	case VF_NET_MODE_BRIDGE:
		vf_xml_set(&b, vf_xml_add(&b, root, "forward", NULL), "mode", "bridge");
		break;
	case VF_NET_MODE_ISOLATED:
		break;
	}
	n = vf_xml_add(&b, root, "bridge", NULL);
	vf_xml_set(&b, n, "name", net->bridge);
	if (net->mode != VF_NET_MODE_BRIDGE) {
		/* libvirt makes this bridge: STP on, no forwarding delay */
		vf_xml_set(&b, n, "stp", "on");
		vf_xml_set(&b, n, "delay", "0");
	}
	/* libvirt refuses <mtu> in bridge mode: the host bridge's MTU is
	 * the host's, so a bridge network reads back with mtu 0 */
	if (net->mtu && net->mode != VF_NET_MODE_BRIDGE)
		vf_xml_set_u64(&b, vf_xml_add(&b, root, "mtu", NULL), "size", net->mtu);
	if (net->has_ipv4) {
		n = vf_xml_add(&b, root, "ip", NULL);
		vf_xml_set_ipv4(&b, n, "address", net->ipv4_address);
		vf_xml_set_u64(&b, n, "prefix", net->ipv4_prefix);
		if (net->has_dhcp) {
			n = vf_xml_add(&b, vf_xml_add(&b, n, "dhcp", NULL), "range", NULL);
			vf_xml_set_ipv4(&b, n, "start", net->dhcp_start);
			vf_xml_set_ipv4(&b, n, "end", net->dhcp_end);
		}
	}
	xml = vf_xml_finish(&b, what, error);
out:
	free(what);
	return xml;
}

char *vf_xml_dhcp_range_format(uint32_t first, uint32_t last, char **error)
{
	struct builder b;
	xmlNodePtr root = vf_xml_start(&b, "range");

	vf_xml_set_ipv4(&b, root, "start", first);
	vf_xml_set_ipv4(&b, root, "end", last);
	return vf_xml_finish(&b, "a DHCP range", error);
}

/* The prefix length of a contiguous netmask; -1 when it is not one. */
static int netmask_prefix(uint32_t mask)
{
	int prefix = 0;

	while (prefix < 32 && (mask & (UINT32_C(1) << (31 - prefix))))
		prefix++;
	if (prefix < 32 && (mask << prefix))
		return -1;
	return prefix;
}

static int read_ipv4_address(struct parser *p, xmlNodePtr n, const char *name, uint32_t *addr,
			     char **error)
{
	const char *v = vf_xml_prop_of(p, n, name);

	if (!v || !vf_ipv4_parse(v, addr, NULL, false)) {
		*error = xasprintf("invalid IPv4 %s '%s' on <%s> in %s", name, vf_xml_or_empty(v),
				   (const char *)n->name, p->what);
		return -1;
	}
	return 0;
}

/* The first IPv4 <ip>: address, prefix (or netmask, or classful) and DHCP range. */
static int read_network_ip(struct parser *p, struct vf_network_spec *net, char **error)
{
	xmlNodePtr ip, range;
	const char *family, *addr, *mask;
	uint32_t a, m;
	int prefix, rc;

	for (ip = vf_xml_next_element(p->root->children,
				      "ip"); ip; ip = vf_xml_next_element(ip->next, "ip")) {
		family = vf_xml_prop_of(p, ip, "family");
		addr = vf_xml_prop_of(p, ip, "address");
		if (family ? !strcmp(family, "ipv4") : addr && vf_ipv4_parse(addr, &a, NULL, false))
			break;
	}
	if (!ip)
		return 0;
	if (read_ipv4_address(p, ip, "address", &net->ipv4_address, error) < 0)
		return -1;
	rc = vf_xml_read_uint_prop(p, ip, "prefix", 32, &net->ipv4_prefix, error);
	if (rc < 0)
		return -1;
	if (rc == 0 && (mask = vf_xml_prop_of(p, ip, "netmask"))) {
		if (!vf_ipv4_parse(mask, &m, NULL, false) || (prefix = netmask_prefix(m)) < 0) {
			*error = xasprintf("invalid netmask '%s' in %s", mask, p->what);
			return -1;
		}
		net->ipv4_prefix = (unsigned)prefix;
	} else if (rc == 0) {
		/* neither: libvirt takes the address's class */
		a = net->ipv4_address >> 24;
		net->ipv4_prefix = a < 128 ? 8 : a < 192 ? 16 : 24;
	}
	net->has_ipv4 = true;
	range = vf_xml_find(ip, "dhcp/range");
	if (range) {
		if (read_ipv4_address(p, range, "start", &net->dhcp_start, error) < 0 ||
		    read_ipv4_address(p, range, "end", &net->dhcp_end, error) < 0)
			return -1;
		net->has_dhcp = true;
	}
	return 0;
}

static int read_network(struct parser *p, struct vf_resource *r, char **error)
{
	struct vf_network_spec *net = &r->u.net;
	xmlNodePtr forward;
	const char *mode;
	unsigned mtu = 0;

	if (vf_xml_read_identity(p, r, error) < 0)
		return -1;
	forward = vf_xml_find(p->root, "forward");
	mode = vf_xml_prop_of(p, forward, "mode");
	if (!forward)
		net->mode = VF_NET_MODE_ISOLATED;
	else if (!mode || !strcmp(mode, "nat"))   /* <forward/> is nat */
		net->mode = VF_NET_MODE_NAT;
	else if (!strcmp(mode, "bridge"))
		net->mode = VF_NET_MODE_BRIDGE;
	else {
		*error = xasprintf("unsupported forward mode '%s' in %s", mode, p->what);
		return -1;
	}
	net->bridge = vf_xml_or_empty(vf_xml_prop_of(p, vf_xml_find(p->root, "bridge"), "name"));
	if (vf_xml_read_uint_prop(p, vf_xml_find(p->root, "mtu"), "size", UINT_MAX, &mtu,
				  error) < 0)
		return -1;
	net->mtu = mtu;
	net->has_ipv4 = net->has_dhcp = false;
	net->ipv4_address = net->dhcp_start = net->dhcp_end = 0;
	net->ipv4_prefix = 0;
	return read_network_ip(p, net, error);
}

int vf_xml_network_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
			 char **error)
{
	return vf_xml_parse_resource(xml, "network", arena, r, error, read_network);
}
