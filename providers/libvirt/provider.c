/*
 * provider.c — the libvirt provider's descriptor: the one symbol the rest
 * of virtform knows about (reconcile/provider.h).  Each operation lives in
 * the file named after what it does.
 */
#include "providers/libvirt/facts.h"
#include "reconcile/provider.h"

const struct vf_provider vf_provider_libvirt = {
	.name = "libvirt",
	.host_facts = vf_libvirt_host_facts,
};
