/*
 * hostnet.c — the host-networking model's small parts: the names of link
 * kinds and plan operations, and the list of links both the desired and
 * the observed side use (see hostnet.h; docs/hostnet.md).  The rest lives
 * by concern beside it: hostnet-bond.c (bond options), hostnet-desired.c
 * (the links the config asks for), hostnet-records.c (ownership records),
 * hostnet-plan.c (the plan), hostnet-print.c (its text and JSON),
 * hostnet-spec.c (the host spec a remote host applies).
 *
 * Hosts have tens of links, not thousands: lookups are linear on purpose.
 * Nothing here touches the kernel; the plan is pure so that the unit test
 * can feed it hand-made observations.
 */
#include <stdlib.h>
#include <string.h>

#include "reconcile/hostnet-internal.h"

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
	return VF_FIND_BY(l->items, l->n, name, name);
}

struct vf_host_link *vf_hostnet_links_add_copy(struct vf_host_links *l,
					       const struct vf_host_link *w)
{
	struct vf_host_link *k = vf_host_links_add(l, w->name);
	const char *name = k->name;

	*k = *w;
	k->name = name;
	return k;
}
