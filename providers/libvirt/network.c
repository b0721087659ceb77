/*
 * network.c — apply for virtual networks: define, start and stop,
 * autostart, the DHCP range changed live (virNetworkUpdate), delete.
 */
#include <stdlib.h>

#include "providers/libvirt/internal.h"

/* 1 found, 0 absent, -1 error. */
static int network_find(struct op *op, const char *name, virNetworkPtr *net)
{
	*net = virNetworkLookupByName(op->conn, name);
	return vf_op_found(op, *net, VIR_ERR_NO_NETWORK, "look up the network");
}

/* 1 active, 0 inactive or gone (a transient network goes when stopped), -1. */
static int network_active(virNetworkPtr net)
{
	int active = virNetworkIsActive(net);

	if (active < 0 && last_error_was(VIR_ERR_NO_NETWORK))
		return 0;
	return active;
}

/*
 * Define desired, keeping old's uuid when there is one: defining a
 * network of the same name again replaces its persistent config only when
 * the uuids agree.
 */
static int network_define(struct op *op, const struct vf_resource *desired, virNetworkPtr old,
			  virNetworkPtr *net)
{
	char uuid[VIR_UUID_STRING_BUFLEN], *xml, *xml_error = NULL;
	struct vf_resource r = *desired;

	if (old) {
		if (virNetworkGetUUIDString(old, uuid) < 0)
			return vf_op_fail(op, "read the network's uuid");
		r.uuid = uuid;
	}
	xml = vf_xml_network_format(&r, &xml_error);
	if (!xml) {
		vf_op_failf(op, "cannot define: %s", xml_error);
		free(xml_error);
		return -1;
	}
	*net = virNetworkDefineXML(op->conn, xml);
	free(xml);
	return *net ? 0 : vf_op_fail(op, "define");
}

static int network_start(struct op *op, virNetworkPtr net)
{
	int active = network_active(net);

	if (active < 0)
		return vf_op_fail(op, "start");
	if (active || virNetworkCreate(net) == 0)
		return 0;
	vf_op_fail(op, "start");
	return network_active(net) == 1 ? vf_op_recovered(op) : -1;
}

static int network_stop(struct op *op, virNetworkPtr net)
{
	int active = network_active(net);

	if (active < 0)
		return vf_op_fail(op, "stop");
	if (!active || virNetworkDestroy(net) == 0)
		return 0;
	vf_op_fail(op, "stop");
	return network_active(net) == 0 ? vf_op_recovered(op) : -1;
}

static int network_set_autostart(struct op *op, virNetworkPtr net, bool on)
{
	return virNetworkSetAutostart(net, on) < 0 ? vf_op_fail(op, "set autostart") : 0;
}

static int network_create(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virNetworkPtr old = NULL, net = NULL;
	int rc = -1;

	if (network_find(op, object_name(op, d), &old) < 0)
		return -1;
	if (network_define(op, d, old, &net) < 0)
		goto out;
	if (d->u.net.active && network_start(op, net) < 0)
		goto out;
	rc = network_set_autostart(op, net, d->u.net.autostart);
out:
	if (old)
		virNetworkFree(old);
	if (net)
		virNetworkFree(net);
	return rc;
}

/*
 * A new DHCP range on an active network, live: virNetworkUpdate swaps the
 * range (libvirt reloads dnsmasq; the bridge and the VMs on it stay).
 */
static int network_dhcp_live(struct op *op, virNetworkPtr net)
{
	const struct vf_network_spec *o = &op->a->observed->u.net, *d = &op->a->desired->u.net;
	unsigned flags = VIR_NETWORK_UPDATE_AFFECT_LIVE | VIR_NETWORK_UPDATE_AFFECT_CONFIG;
	char *old_xml, *new_xml, *xml_error = NULL;
	int rc = -1;

	old_xml = vf_xml_dhcp_range_format(o->dhcp_start, o->dhcp_end, &xml_error);
	new_xml = old_xml ? vf_xml_dhcp_range_format(d->dhcp_start, d->dhcp_end, &xml_error) : NULL;
	if (!new_xml) {
		vf_op_failf(op, "cannot change the DHCP range: %s", xml_error);
		goto out;
	}
	/* Add first, then delete: dnsmasq always has a range to serve.  An
	 * add that finds the range there already (a retry) is not an error. */
	if (virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
			     VIR_NETWORK_SECTION_IP_DHCP_RANGE, -1, new_xml, flags) < 0 &&
	    !last_error_was(VIR_ERR_OPERATION_INVALID)) {
		vf_op_fail(op, "add the new DHCP range");
		goto out;
	}
	if (virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_DELETE,
			     VIR_NETWORK_SECTION_IP_DHCP_RANGE, -1, old_xml, flags) < 0 &&
	    !last_error_was(VIR_ERR_OPERATION_INVALID)) {
		vf_op_fail(op, "remove the old DHCP range");
		goto out;
	}
	virResetLastError();
	rc = 0;
out:
	free(xml_error);
	free(old_xml);
	free(new_xml);
	return rc;
}

/*
 * Live changes on an active network (the DHCP range), then the new
 * persistent config and autostart.  An active network is never restarted:
 * the plan marks the other changes "effective at next restart".
 */
static int network_update(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virNetworkPtr old = NULL, net = NULL;
	int rc = -1, found;

	found = network_find(op, object_name(op, d), &old);
	if (found <= 0)
		return found < 0 ? -1 : vf_op_failf(op,
						    "cannot update: the network no longer exists");
	if (vf_op_changes(op->a, "dhcp") && op->a->observed && op->a->observed->u.net.has_dhcp &&
	    d->u.net.has_dhcp && network_active(old) == 1 && network_dhcp_live(op, old) < 0)
		goto out;
	if (network_define(op, d, old, &net) == 0)
		rc = network_set_autostart(op, net, d->u.net.autostart);
out:
	virNetworkFree(old);
	if (net)
		virNetworkFree(net);
	return rc;
}

static int network_delete(struct op *op, const struct vf_resource *observed)
{
	virNetworkPtr net;
	int rc = -1, found;

	found = network_find(op, object_name(op, observed), &net);
	if (found <= 0)
		return found;                   /* absent: done already */
	if (network_stop(op, net) < 0)
		goto out;
	if (virNetworkUndefine(net) == 0 || last_error_was(VIR_ERR_NO_NETWORK))
		rc = 0;
	else
		vf_op_fail(op, "undefine");
out:
	virNetworkFree(net);
	return rc;
}

static int network_start_or_stop(struct op *op, bool start)
{
	virNetworkPtr net;
	int rc, found;

	found = network_find(op, op->a->name, &net);
	if (found <= 0) {
		if (found < 0 || !start)
			return found;           /* stopping a network that is gone: done */
		return vf_op_failf(op, "cannot start: the network does not exist");
	}
	rc = start ? network_start(op, net) : network_stop(op, net);
	virNetworkFree(net);
	return rc;
}

const struct vf_kind_ops vf_libvirt_network_ops = {
	.create = network_create,
	.update = network_update,
	.remove = network_delete,
	.start_or_stop = network_start_or_stop,
};
