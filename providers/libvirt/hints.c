/*
 * hints.c — the diff hints: how each field's change is made (live, at the
 * next restart, or by replacing the object).  The plan asks them through
 * the descriptor (field_class) and the apply asks the same functions
 * (vf_libvirt_change_class), so a change the plan calls live is made live
 * and one it calls restart waits: nothing here is decided twice.
 *
 * Pure: no I/O, no libvirt call.
 */
#include <string.h>

#include "providers/libvirt/ops.h"

static bool is(const char *path, const char *name)
{
	return !strcmp(path, name);
}

static bool starts(const char *path, const char *prefix)
{
	return !strncmp(path, prefix, strlen(prefix));
}

bool vf_libvirt_path_listed(const char *list, const char *path)
{
	size_t n = strlen(path);
	const char *p = list;

	while (p && (p = strstr(p, path))) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/*
 * A VM's memory and vCPUs grow live only up to the maximum the running VM
 * booted with (the balloon, vCPU hot-plug): beyond it the new value is
 * written for the next boot.  Fewer vCPUs wait for a restart (unplugging
 * needs the guest).  Judged from both sides of the change and, when the
 * caller has them, the whole desired and observed VMs: the running
 * maximum is the observed definition's, unless a change of it waits for
 * a restart (the marker's pending list) — then only a decrease below a
 * value that is itself not waiting is sure to fit.
 */
static enum vf_field_class vm_size_class(const char *path, const struct vf_field *before,
					 const struct vf_field *after,
					 const struct vf_vm_spec *desired,
					 const struct vf_vm_spec *observed)
{
	bool memory = is(path, "memory");
	const char *max_path = memory ? "max_memory" : "max_cpus";
	uint64_t want, max;

	if (!memory && !(before->present && after->number > before->number))
		return VF_FIELD_RESTART;
	if (!desired || !observed)
		return VF_FIELD_LIVE;
	if (vf_libvirt_path_listed(observed->marker.pending, max_path))
		return before->present && after->number <= before->number &&
			       !vf_libvirt_path_listed(observed->marker.pending, path)
			       ? VF_FIELD_LIVE
			       : VF_FIELD_RESTART;
	want = memory ? desired->memory : desired->cpus;
	max = memory ? observed->max_memory : observed->max_cpus;
	return want <= max ? VF_FIELD_LIVE : VF_FIELD_RESTART;
}

static enum vf_field_class vm_class(const struct vf_field *before, const struct vf_field *after,
				    const struct vf_vm_spec *desired,
				    const struct vf_vm_spec *observed)
{
	const char *path = after->path ? after->path : before->path;

	if (is(path, "firmware"))
		return VF_FIELD_REPLACE;
	/* a new seed volume; the guest reads it at first boot only */
	if (is(path, "cloud_init"))
		return VF_FIELD_LIVE;
	if (is(path, "autostart") || is(path, "description") || is(path, "running") ||
	    is(path, "state"))
		return VF_FIELD_LIVE;
	if (is(path, "memory") || is(path, "cpus"))
		return vm_size_class(path, before, after, desired, observed);
	if (starts(path, "nic[")) {
		const char *leaf = strrchr(path, '.');
		if (!before->present || !after->present)
			return VF_FIELD_LIVE;  /* the whole NIC comes or goes */
		/* a new MAC is a new NIC: the old one unplugged */
		return leaf && (is(leaf, ".network") || is(leaf, ".mac")) ? VF_FIELD_LIVE
									   : VF_FIELD_RESTART;
	}
	return VF_FIELD_RESTART;               /* max_*, graphics, disks */
}

/*
 * Diff hints: what libvirt and QEMU change on a running object without
 * help from the guest.  Run state ("running", "active") is carried out
 * live by start/stop actions; it is listed so that no kind's default (a
 * pool's is replace) ever turns starting an object into destroying it.
 *
 *   VM memory        live: the balloon, up to the running max_memory;
 *                    beyond it at the next restart (a change of
 *                    max_memory itself waits for a restart)
 *   VM cpus          more: live (vCPU hot-plug up to the running
 *                    max_cpus); fewer: at the next restart (unplugging a
 *                    vCPU needs the guest)
 *   VM NICs          added, removed or given a new MAC: live (hot-plug,
 *                    hot-unplug); moved to another network: live; a new
 *                    model: at restart
 *   VM firmware      replace (the loader and NVRAM change)
 *   network DHCP     live (virNetworkUpdate: dnsmasq reloads, the bridge
 *                    and the VMs on it stay); address, MTU: at restart
 */
enum vf_field_class vf_libvirt_field_class(enum vf_kind kind, const struct vf_field *before,
					   const struct vf_field *after)
{
	const char *path = after->path ? after->path : before->path;

	switch (kind) {
	case VF_KIND_VM:
		return vm_class(before, after, NULL, NULL);
	case VF_KIND_VOLUME:
		if (is(path, "capacity"))
			return VF_FIELD_LIVE;          /* grown in place (shrinks refused) */
		if (is(path, "format") || is(path, "backing") || is(path, "pool"))
			return VF_FIELD_REPLACE;
		return VF_FIELD_RESTART;
	case VF_KIND_NETWORK:
		if (is(path, "mode") || is(path, "bridge"))
			return VF_FIELD_REPLACE;
		if (is(path, "autostart") || is(path, "active"))
			return VF_FIELD_LIVE;
		if (is(path, "dhcp") && before->present && after->present)
			return VF_FIELD_LIVE;
		return VF_FIELD_RESTART;               /* mtu, address, DHCP on/off */
	case VF_KIND_STORAGE:
		if (is(path, "autostart") || is(path, "active"))
			return VF_FIELD_LIVE;
		/* the libvirt secret's value, the pool's <auth>: redefined in
		 * place; an active pool logs in with them at its next start */
		if (starts(path, "chap."))
			return VF_FIELD_LIVE;
		return VF_FIELD_REPLACE;               /* a pool's source is its identity */
	default:
		return VF_FIELD_RESTART;
	}
}

enum vf_field_class vf_libvirt_change_class(const struct vf_resource *desired,
					    const struct vf_resource *observed,
					    const struct vf_field *before,
					    const struct vf_field *after)
{
	const struct vf_resource *r = desired ? desired : observed;

	if (r && r->kind == VF_KIND_VM)
		return vm_class(before, after, desired ? &desired->u.vm : NULL,
				observed ? &observed->u.vm : NULL);
	return vf_libvirt_field_class(r ? r->kind : VF_KIND_COUNT, before, after);
}
