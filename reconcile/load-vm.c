/*
 * load-vm.c — vms[] into the model: sizes, placement, disks (volumes),
 * nics, graphics and its password rule; a VM's cloud_init is
 * load-cloudinit.c.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/load-internal.h"

/* One of a VM's disks into slot (a struct vf_disk); its name. */
static const char *load_disk(struct loader *L, const struct vf_node *n, void *slot,
			     const char *vm_ctx, size_t idx)
{
	static const char *const keys[] = { "name", "size", "storage", "image", "format", "keep" };
	struct vf_disk *dk = slot;
	const char *ctx;

	dk->pos = n->pos;
	dk->name = vf_load_get_name(L, n, "name", true, vf_load_ctx_join(L, vm_ctx, "disk", NULL, idx));
	ctx = vf_load_ctx_join(L, vm_ctx, "disk", dk->name, idx);
	vf_load_check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	dk->image = vf_load_get_name(L, n, "image", false, ctx);
	dk->size = vf_load_get_size(L, n, "size", !vf_map_pair(n, "image"), VF_DISK_SIZE_MAX, ctx);
	dk->storage = vf_load_get_name(L, n, "storage", true, ctx);
	dk->format = vf_load_get_format(L, n, ctx);
	dk->keep = vf_load_get_bool(L, n, "keep", false, ctx);
	return dk->name;
}

static void load_nic(struct loader *L, const struct vf_node *n, struct vf_nic *nic,
		     const char *vm_ctx, size_t idx)
{
	static const char *const keys[] = { "network", "mac", "model" };
	static const char *const models[] = { "virtio", "e1000", "rtl8139" };
	const char *ctx, *mac;
	int e;

	nic->pos = n->pos;
	ctx = vf_load_ctx_join(L, vm_ctx, "nic", NULL, idx);
	vf_load_check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	nic->network = vf_load_get_name(L, n, "network", true, ctx);
	mac = vf_load_get_str(L, n, "mac", false, ctx);
	if (mac) {
		const struct vf_node *v = vf_map_get(n, "mac");
		if (!vf_mac_parse(mac, nic->mac))
			ERR(L, &v->pos, "write six hex pairs, like \"52:54:00:12:34:56\" (quoted)",
			    "%s: mac '%s' is not a MAC address", ctx, mac);
		else if (nic->mac[0] & 1)
			ERR(L, &v->pos, "use the 52:54:00 prefix for VMs",
			    "%s: mac '%s' is a multicast address", ctx, mac);
		else
			nic->has_mac = true;
	}
	e = vf_load_get_enum(L, n, "model", false, models, VF_ARRAY_SIZE(models), 0, ctx);
	nic->model = models[e < 0 ? 0 : e];
}

/* Is the listen address a loopback one (127.0.0.0/8, ::1)?  Anything else
 * reaches the console from the network. */
static bool listen_loopback(const char *listen)
{
	uint32_t a;

	return !strcmp(listen, "::1") ||
	       (vf_ipv4_parse(listen, &a, NULL, false) && (a >> 24) == 127);
}

/*
 * graphics: password: {sealed: ...} (opened by apply only, docs/secrets.md),
 * and the rule that a console listening beyond loopback has one: the
 * admin address is never exposed without a password.  type: the type's
 * index (0 none, -1 after an error).
 */
static void load_graphics_password(struct loader *L, const struct vf_node *g, struct vf_vm *vm,
				   int type, const char *c)
{
	const struct vf_node *v = vf_map_get(g, "password");

	if (v && type == 0) {
		ERR(L, &vf_map_pair(g, "password")->key->pos, "remove it",
		    "%s: 'password' applies only to type: vnc and type: spice", c);
		return;
	}
	if (v)
		vf_load_sealed_only(L, v, "password", c, &vm->graphics_password,
				    "write password: {sealed: \"...\"} with what 'virtform seal "
				    "--public-key virtform.pub' prints (it reads the password on stdin), "
				    "and change the password: a clear one committed to git stays in its "
				    "history",
				    "the password must be sealed");
	if (type != 0 && !v && !listen_loopback(vm->graphics_listen))
		ERR(L, &vf_map_get(g, "listen")->pos,
		    "add password: {sealed: \"...\"} (virtform seal), or listen on 127.0.0.1 and "
		    "reach the console through an ssh tunnel",
		    "%s: listen '%s' exposes the console to the network without a password", c,
		    vm->graphics_listen);
}

static void load_graphics(struct loader *L, const struct vf_node *map, struct vf_vm *vm,
			  const char *ctx)
{
	static const char *const types[] = { "none", "vnc", "spice" };
	static const char *const keys[] = { "type", "listen", "port", "password" };
	const struct vf_node *g = vf_map_get(map, "graphics");
	bool ok;
	int e;

	vm->graphics = VF_GRAPHICS_VNC;
	vm->graphics_listen = "127.0.0.1";
	vm->graphics_port = -1;
	if (!g)
		return;
	if (g->kind == VF_NODE_MAP) {
		char *c = xasprintf("%s: graphics", ctx);
		const char *listen;
		vf_load_check_keys(L, g, c, keys, VF_ARRAY_SIZE(keys));
		e = vf_load_get_enum(L, g, "type", true, types, VF_ARRAY_SIZE(types), 1, c);
		listen = vf_load_get_str(L, g, "listen", false, c);
		if (listen) {
			uint32_t a;
			if (!vf_ipv4_parse(listen, &a, NULL, false) && strcmp(listen, "::1") &&
			    strcmp(listen, "::"))
				ERR(L, &vf_map_get(g, "listen")->pos, "write an IP address such as 127.0.0.1",
				    "%s: listen '%s' is not an IP address", c, listen);
			else
				vm->graphics_listen = listen;
		}
		if (vf_map_pair(g, "port"))
			vm->graphics_port = (int)vf_load_get_uint(L, g, "port", false, 5900, 65535, 0, c, &ok);
		load_graphics_password(L, g, vm, e, c);
		free(c);
	} else {
		e = vf_load_get_enum(L, map, "graphics", false, types, VF_ARRAY_SIZE(types), 1, ctx);
	}
	vm->graphics = e < 0 ? VF_GRAPHICS_VNC : (enum vf_graphics_type)e;
}

/* cpus, memory and the ceilings they may grow to live (max_cpus, max_memory). */
static void load_vm_sizes(struct loader *L, const struct vf_node *n, struct vf_vm *vm,
			  const char *ctx)
{
	bool ok;

	vm->cpus = (unsigned)vf_load_get_uint(L, n, "cpus", true, 1, 4096, 1, ctx, &ok);
	vm->memory = vf_load_get_size(L, n, "memory", true, VF_MEMORY_MAX, ctx);
	if (vm->memory && (vm->memory % 1024 || vm->memory < (16u << 20)))
		ERR(L, &vf_map_get(n, "memory")->pos, "for example 256MiB",
		    "%s: memory must be a whole number of KiB and at least 16 MiB", ctx);
	if (vf_map_pair(n, "max_cpus")) {
		vm->max_cpus = (unsigned)vf_load_get_uint(L, n, "max_cpus", false, 1, 4096, 0, ctx, &ok);
		if (ok && vm->cpus && vm->max_cpus < vm->cpus)
			ERR(L, &vf_map_get(n, "max_cpus")->pos,
			    "raise max_cpus, or leave it out (default: room to double cpus)",
			    "%s: max_cpus (%u) is less than cpus (%u)", ctx, vm->max_cpus, vm->cpus);
	}
	if (vf_map_pair(n, "max_memory")) {
		vm->max_memory = vf_load_get_size(L, n, "max_memory", false, VF_MEMORY_MAX, ctx);
		if (vm->max_memory && vm->max_memory % 1024)
			ERR(L, &vf_map_get(n, "max_memory")->pos, "for example 4GiB",
			    "%s: max_memory must be a whole number of KiB", ctx);
		else if (vm->max_memory && vm->memory && vm->max_memory < vm->memory) {
			char mx[32], mem[32];
			vf_size_format(vm->max_memory, mx, sizeof(mx));
			vf_size_format(vm->memory, mem, sizeof(mem));
			ERR(L, &vf_map_get(n, "max_memory")->pos,
			    "raise max_memory, or leave it out (default: memory)",
			    "%s: max_memory (%s) is less than memory (%s)", ctx, mx, mem);
		}
	}
}

/* ha: {enabled, priority}. */
static void load_vm_ha(struct loader *L, const struct vf_node *n, struct vf_vm *vm,
		       const char *ctx)
{
	static const char *const prios[] = { "low", "medium", "high" };
	static const char *const hakeys[] = { "enabled", "priority" };
	const struct vf_node *v;
	const char *c;
	int e;

	vm->ha_priority = VF_HA_PRIORITY_LOW;
	v = vf_load_sub_map(L, n, "ha", hakeys, VF_ARRAY_SIZE(hakeys), ctx, &c);
	if (v) {
		vm->ha_enabled = vf_load_get_bool(L, v, "enabled", false, c);
		e = vf_load_get_enum(L, v, "priority", false, prios, VF_ARRAY_SIZE(prios), 0, c);
		vm->ha_priority = e < 0 ? VF_HA_PRIORITY_LOW : (enum vf_ha_priority)e;
	}
}

/* disks: named, each with a reference to its storage domain and image
 * (owner: the VM's index). */
static void load_vm_disks(struct loader *L, const struct vf_node *n, struct vf_vm *vm,
			  size_t owner, const char *ctx)
{
	static const struct vf_load_list disks = {
		"disks", "a disk", "disk", "rename one of them", sizeof(struct vf_disk), load_disk,
	};
	const struct vf_node **nodes;
	size_t i;

	vm->disks = vf_load_named_list(L, n, &disks, ctx, &vm->n_disks, &nodes);
	for (i = 0; i < vm->n_disks; i++) {
		vf_load_add_ref(L, REF_DISK_STORAGE, owner, i, vm->disks[i].storage,
				vf_load_pos_of(nodes[i], "storage"), ctx);
		vf_load_add_ref(L, REF_DISK_IMAGE, owner, i, vm->disks[i].image,
				vf_load_pos_of(nodes[i], "image"), ctx);
	}
	free(nodes);
}

/* nics: each with a reference to its network (no names: no repeats to
 * find; owner: the VM's index). */
static void load_vm_nics(struct loader *L, const struct vf_node *n, struct vf_vm *vm,
			 size_t owner, const char *ctx)
{
	const struct vf_node *v;
	size_t i;

	v = vf_map_get(n, "nics");
	if (v && vf_load_want_seq(L, v, "nics")) {
		vm->nics = vf_arena_alloc(&L->c->arena, (v->n + 1) * sizeof(*vm->nics));
		for (i = 0; i < v->n; i++) {
			const struct vf_node *it = v->u.items[i];
			struct vf_nic *nic = &vm->nics[vm->n_nics];
			if (!vf_load_want_map(L, it, "a nic"))
				continue;
			load_nic(L, it, nic, ctx, i);
			vf_load_add_ref(L, REF_NIC_NETWORK, owner, vm->n_nics, nic->network,
					vf_load_pos_of(it, "network"), ctx);
			vm->n_nics++;
		}
	}
}

static void load_vm(struct loader *L, const struct vf_node *n, void *obj, size_t index,
		    const char *ctx)
{
	static const char *const policies[] = { "never", "allow" };
	static const char *const states[] = { "running", "stopped" };
	static const char *const fws[] = { "bios", "efi" };
	struct vf_vm *vm = obj;
	bool ok;
	int e;

	vm->cluster = vf_load_get_name(L, n, "cluster", false, ctx);
	vf_load_add_ref(L, REF_VM_CLUSTER, index, 0, vm->cluster, vf_load_pos_of(n, "cluster"), ctx);
	vm->host = vf_load_get_name(L, n, "host", false, ctx);
	vf_load_add_ref(L, REF_VM_HOST, index, 0, vm->host, vf_load_pos_of(n, "host"), ctx);
	load_vm_sizes(L, n, vm, ctx);
	e = vf_load_get_enum(L, n, "restart_policy", false, policies, VF_ARRAY_SIZE(policies), 0, ctx);
	vm->restart_allowed = e == 1;
	e = vf_load_get_enum(L, n, "state", false, states, VF_ARRAY_SIZE(states), 0, ctx);
	vm->state = e < 0 ? VF_VM_STATE_RUNNING : (enum vf_vm_state)e;
	vm->autostart = vf_load_get_bool(L, n, "autostart", false, ctx);
	e = vf_load_get_enum(L, n, "firmware", false, fws, VF_ARRAY_SIZE(fws), 0, ctx);
	vm->firmware = e < 0 ? VF_FIRMWARE_BIOS : (enum vf_firmware)e;
	load_graphics(L, n, vm, ctx);
	vm->protect = vf_load_get_bool(L, n, "protect", false, ctx);
	vm->shutdown_timeout =
		(unsigned)vf_load_get_uint(L, n, "shutdown_timeout", false, 1, 3600, 60, ctx, &ok);
	vm->description = vf_load_get_str(L, n, "description", false, ctx);
	vm->labels = vf_load_get_labels(L, n, "labels", &vm->n_labels, ctx, true);
	vf_load_cloud_init(L, n, vm, ctx);

	load_vm_ha(L, n, vm, ctx);
	load_vm_disks(L, n, vm, index, ctx);
	load_vm_nics(L, n, vm, index, ctx);
}

static const char *const vm_keys[] = { "name", "cluster", "host", "cpus", "max_cpus", "memory",
				       "max_memory", "restart_policy", "state", "autostart",
				       "firmware", "graphics", "disks", "nics", "ha", "protect",
				       "shutdown_timeout", "description", "labels", "cloud_init" };

const struct vf_load_kind vf_load_vm_kind = {
	KIND_VM, "a vm", vm_keys, VF_ARRAY_SIZE(vm_keys), VF_LOAD_KIND_SLOT(struct vf_vm, vms),
	load_vm,
};
