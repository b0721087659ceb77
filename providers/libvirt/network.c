/*
 * network.c — apply for virtual &network_class: create, the DHCP range changed
 * live (virNetworkUpdate), and libvirt's calls for the steps &network_class
 * share with pools and domains (object.c: define, start, stop, autostart,
 * delete).
 */
#include <stdlib.h>

#include "providers/libvirt/internal.h"

/* libvirt's calls on &network_class, for the steps object.c takes: at the end. */
static const struct vf_object_class network_class;

static int network_create(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	void *old = NULL, *net = NULL;
	int rc = -1;

	if (vf_libvirt_object_find(op, &network_class, d, &old) < 0)
		return -1;
	if (vf_libvirt_object_define(op, &network_class, d, old, &net) == 0) {
		rc = vf_libvirt_object_after_define(op, &network_class, net, d->u.net.active,
						    d->u.net.autostart);
		virNetworkFree(net);
	}
	if (old)
		virNetworkFree(old);
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
	void *old = NULL, *net = NULL;
	bool dhcp_live;
	int rc = -1, found;

	found = vf_libvirt_object_find(op, &network_class, d, &old);
	if (found <= 0)
		return found < 0 ? -1 : vf_op_failf(op,
						    "cannot update: the network no longer exists");
	dhcp_live = vf_op_changes(op->a, "dhcp") && op->a->observed &&
		    op->a->observed->u.net.has_dhcp && d->u.net.has_dhcp &&
		    vf_libvirt_object_active(&network_class, old) == 1;
	if ((!dhcp_live || network_dhcp_live(op, old) == 0) &&
	    vf_libvirt_object_define(op, &network_class, d, old, &net) == 0) {
		rc = vf_libvirt_object_set_autostart(op, &network_class, net, d->u.net.autostart);
		virNetworkFree(net);
	}
	virNetworkFree(old);
	return rc;
}

static const struct vf_object_class network_class = {
	VF_OBJECT_CALLS(Network, NETWORK, "network"),
	.start = (vf_handle_fn)virNetworkCreate,
	.undefine = (vf_handle_fn)virNetworkUndefine,
	.format = vf_xml_network_format,
	.define_xml = (void *(*)(virConnectPtr, const char *))virNetworkDefineXML,
};

const struct vf_kind_ops vf_libvirt_network_ops = {
	.create = network_create,
	.update = network_update,
	.object = &network_class,
};
