/*
 * provider.c — the libvirt provider's descriptor: the one symbol the rest
 * of virtform knows about (reconcile/provider.h).  Each operation lives in
 * the file named after what it does: host facts in facts.c, observe in
 * observe.c, sessions, apply and the diff hints in apply.c.
 */
#include "providers/libvirt/facts.h"
#include "providers/libvirt/ops.h"
#include "reconcile/provider.h"

const struct vf_provider vf_provider_libvirt = {
	.name = "libvirt",
	.host_facts = vf_libvirt_host_facts,
	.observe = vf_libvirt_observe,
	.session_open = vf_libvirt_session_open,
	.session_close = vf_libvirt_session_close,
	.apply = vf_libvirt_apply,
	.adopt = vf_libvirt_adopt,
	.field_class = vf_libvirt_field_class,
};
