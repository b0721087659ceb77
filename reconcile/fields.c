/*
 * fields.c — a resource as an ordered list of named fields: what plans
 * show ("memory: 256 MiB -> 512 MiB") and what the differ compares.  One
 * generator serves both sides, so a desired and an observed resource are
 * always described in the same words.
 *
 * The spec hash (marker.spec_hash) is computed from the same fields,
 * minus the ones set through the API rather than written into the object
 * (state, autostart, active): when a domain's fields differ from the
 * config while its hash still matches, someone changed it behind
 * virtform's back (drift).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/engine.h"

struct fields {
	struct vf_arena *arena;
	struct vf_field *items;
	size_t n, alloc;
	bool desired;
};

static struct vf_field *add(struct fields *f, const char *path, enum vf_value_type type)
{
	struct vf_field *x;

	VF_GROW(f->items, f->n + 1, f->alloc);
	x = &f->items[f->n++];
	memset(x, 0, sizeof(*x));
	x->path = vf_arena_strdup(f->arena, path);
	x->type = type;
	x->present = true;
	return x;
}

static void add_str(struct fields *f, const char *path, const char *value)
{
	struct vf_field *x;

	if (!value)
		return;
	x = add(f, path, VF_VALUE_STRING);
	x->text = vf_arena_strdup(f->arena, value);
}

static void add_num(struct fields *f, const char *path, enum vf_value_type type, uint64_t v)
{
	add(f, path, type)->number = v;
}

static void storage_fields(struct fields *f, const struct vf_pool_spec *p)
{
	char buf[1024];

	add_str(f, "type", vf_storage_type_name(p->type));
	add_str(f, "path", p->path);
	switch (p->type) {
	case VF_STORAGE_NFS:
		snprintf(buf, sizeof(buf), "%s:%s", p->server ? p->server : "",
			 p->export_path ? p->export_path : "");
		add_str(f, "source", buf);
		break;
	case VF_STORAGE_LOGICAL:
		add_str(f, "source", p->vg);
		break;
	case VF_STORAGE_ISCSI:
		snprintf(buf, sizeof(buf), "%s %s", p->portal ? p->portal : "",
			 p->target ? p->target : "");
		add_str(f, "source", buf);
		break;
	case VF_STORAGE_DIR:
		break;
	}
	add_num(f, "active", VF_VALUE_BOOL, p->active);
	add_num(f, "autostart", VF_VALUE_BOOL, p->autostart);
}

static void volume_fields(struct fields *f, const struct vf_volume_spec *v)
{
	add_str(f, "pool", v->pool);
	if (f->desired && !v->capacity)
		add(f, "capacity", VF_VALUE_BYTES)->any = true;
	else
		add_num(f, "capacity", VF_VALUE_BYTES, v->capacity);
	add_str(f, "format", vf_image_format_name(v->format));
	add_str(f, "backing", v->backing);
	if (f->desired && v->upload_file) {
		/* shown on create, never diffed: libvirt does not know the file */
		add_str(f, "upload", v->upload_file);
		f->items[f->n - 1].any = true;
	}
}

static void network_fields(struct fields *f, const struct vf_network_spec *n)
{
	add_str(f, "mode", vf_net_mode_name(n->mode));
	add_str(f, "bridge", n->bridge);
	if (n->mtu)
		add_num(f, "mtu", VF_VALUE_NUMBER, n->mtu);
	if (n->has_ipv4) {
		char a[16], buf[24];
		snprintf(buf, sizeof(buf), "%s/%u", vf_ipv4_format(n->ipv4_address, a), n->ipv4_prefix);
		add_str(f, "ipv4", buf);
	}
	if (n->has_dhcp) {
		char a[16], b[16], buf[40];
		snprintf(buf, sizeof(buf), "%s-%s", vf_ipv4_format(n->dhcp_start, a),
			 vf_ipv4_format(n->dhcp_end, b));
		add_str(f, "dhcp", buf);
	}
	add_num(f, "active", VF_VALUE_BOOL, n->active);
	add_num(f, "autostart", VF_VALUE_BOOL, n->autostart);
}

static void vm_fields(struct fields *f, const struct vf_vm_spec *vm)
{
	char path[96], buf[160];
	size_t i;

	add_num(f, "cpus", VF_VALUE_NUMBER, vm->cpus);
	add_num(f, "max_cpus", VF_VALUE_NUMBER, vm->max_cpus ? vm->max_cpus : vm->cpus);
	add_num(f, "memory", VF_VALUE_BYTES, vm->memory);
	add_num(f, "max_memory", VF_VALUE_BYTES, vm->max_memory ? vm->max_memory : vm->memory);
	add_str(f, "firmware", vf_firmware_name(vm->firmware));
	add_str(f, "graphics", vf_graphics_type_name(vm->graphics));
	if (vm->graphics != VF_GRAPHICS_NONE) {
		add_str(f, "graphics.listen", vm->graphics_listen);
		if (vm->graphics_port >= 0)
			add_num(f, "graphics.port", VF_VALUE_NUMBER, (uint64_t)vm->graphics_port);
	}
	for (i = 0; i < vm->n_disks; i++) {
		const struct vf_disk_spec *d = &vm->disks[i];
		snprintf(path, sizeof(path), "disk[%s].volume", d->target);
		if (d->pool)
			snprintf(buf, sizeof(buf), "%s/%s", d->pool, d->volume ? d->volume : "");
		else
			snprintf(buf, sizeof(buf), "%s", d->volume ? d->volume : "");
		add_str(f, path, buf);
		snprintf(path, sizeof(path), "disk[%s].format", d->target);
		add_str(f, path, vf_image_format_name(d->format));
	}
	for (i = 0; i < vm->n_nics; i++) {
		const struct vf_nic_spec *n = &vm->nics[i];
		char mac[18];
		snprintf(path, sizeof(path), "nic[%zu].network", i);
		add_str(f, path, n->network);
		snprintf(path, sizeof(path), "nic[%zu].mac", i);
		vf_mac_format(n->mac, mac);
		add_str(f, path, mac);
		snprintf(path, sizeof(path), "nic[%zu].model", i);
		add_str(f, path, n->model);
	}
	if (vm->description)
		add_str(f, "description", vm->description);
	add_num(f, "autostart", VF_VALUE_BOOL, vm->autostart);
	add_str(f, "state", vm->running ? "running" : "stopped");
}

size_t vf_resource_fields(const struct vf_resource *r, bool desired, struct vf_arena *arena,
			  struct vf_field **out)
{
	struct fields f = { .arena = arena, .desired = desired };
	struct vf_field *copy;

	switch (r->kind) {
	case VF_KIND_STORAGE: storage_fields(&f, &r->u.pool); break;
	case VF_KIND_VOLUME:  volume_fields(&f, &r->u.vol); break;
	case VF_KIND_NETWORK: network_fields(&f, &r->u.net); break;
	case VF_KIND_VM:      vm_fields(&f, &r->u.vm); break;
	case VF_KIND_COUNT:   break;
	}
	/* Into the arena: callers keep fields as long as the arena. */
	copy = f.n ? vf_arena_alloc(arena, f.n * sizeof(*copy)) : NULL;
	if (f.n)
		memcpy(copy, f.items, f.n * sizeof(*copy));
	free(f.items);
	*out = copy;
	return f.n;
}

const char *vf_field_format(const struct vf_field *f, char *buf, size_t len)
{
	if (!f->present)
		return "(none)";
	if (f->any && !f->text)
		return "(from the image)";
	switch (f->type) {
	case VF_VALUE_STRING:
		snprintf(buf, len, "%s", f->text);
		break;
	case VF_VALUE_NUMBER:
		snprintf(buf, len, "%llu", (unsigned long long)f->number);
		break;
	case VF_VALUE_BYTES:
		vf_size_format(f->number, buf, len);
		break;
	case VF_VALUE_BOOL:
		snprintf(buf, len, "%s", f->number ? "yes" : "no");
		break;
	}
	return buf;
}

static bool hashed(const char *path)
{
	return strcmp(path, "state") && strcmp(path, "autostart") && strcmp(path, "active");
}

void vf_resource_hash(const struct vf_resource *r, char out[17])
{
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_field *fields;
	size_t n = vf_resource_fields(r, true, &arena, &fields), i;
	uint64_t h = 14695981039346656037ull;
	char buf[1024];

	for (i = 0; i < n; i++) {
		const char *p;
		if (!hashed(fields[i].path))
			continue;
		for (p = fields[i].path; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ '=') * 1099511628211ull;
		for (p = vf_field_format(&fields[i], buf, sizeof(buf)); *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ '\n') * 1099511628211ull;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	vf_arena_release(&arena);
}
