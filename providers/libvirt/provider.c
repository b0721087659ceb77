/*
 * provider.c — the libvirt provider's descriptor: the one symbol the rest
 * of virtform knows about (reconcile/provider.h).  Each operation lives in
 * the file named after what it does: host facts in facts.c, observe in
 * observe.c, sessions and the apply dispatch in apply.c (each kind's
 * apply in network.c, pool.c, secret.c, volume.c, upload.c, domain.c,
 * and what networks, pools and domains share in object.c), the diff
 * hints in hints.c.
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
	.field_class = vf_libvirt_change_class,
};
