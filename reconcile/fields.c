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

/*
 * The generator below emits each field once it is complete: into an
 * array (vf_resource_fields) or straight into the spec hash
 * (vf_resource_hash, which allocates nothing — it runs for every desired
 * VM of every plan).  Paths and values that are string literals (field
 * names, enum names, the disk and NIC paths of the tables below) are not
 * copied: a literal outlives any arena.  Everything else is copied into
 * the arena, so fields never point into r.
 */
struct fields {
	struct vf_arena *arena;
	struct vf_field *items;
	size_t n, alloc;
	bool desired;
	uint64_t *hash;          /* set: hash fields instead of keeping them */
};

/* Paths of the usual disk targets and NIC indices, so 10,000 VMs do not
 * make 10,000 copies of "disk[vda].volume". */
#define DISK_PATHS(c) { "disk[vd" #c "].volume", "disk[vd" #c "].format" }
static const char *const disk_paths[26][2] = {
	DISK_PATHS(a), DISK_PATHS(b), DISK_PATHS(c), DISK_PATHS(d), DISK_PATHS(e),
	DISK_PATHS(f), DISK_PATHS(g), DISK_PATHS(h), DISK_PATHS(i), DISK_PATHS(j),
	DISK_PATHS(k), DISK_PATHS(l), DISK_PATHS(m), DISK_PATHS(n), DISK_PATHS(o),
	DISK_PATHS(p), DISK_PATHS(q), DISK_PATHS(r), DISK_PATHS(s), DISK_PATHS(t),
	DISK_PATHS(u), DISK_PATHS(v), DISK_PATHS(w), DISK_PATHS(x), DISK_PATHS(y),
	DISK_PATHS(z),
};
#define NIC_PATHS(i) { "nic[" #i "].network", "nic[" #i "].mac", "nic[" #i "].model" }
static const char *const nic_paths[8][3] = {
	NIC_PATHS(0), NIC_PATHS(1), NIC_PATHS(2), NIC_PATHS(3),
	NIC_PATHS(4), NIC_PATHS(5), NIC_PATHS(6), NIC_PATHS(7),
};

static bool hashed(const char *path)
{
	return strcmp(path, "state") && strcmp(path, "autostart") && strcmp(path, "active");
}

/*
 * Take the complete field x.  path_literal / text_literal: the strings
 * are literals (kept as they are), else they may be stack buffers and are
 * copied.
 */
static void emit(struct fields *f, const struct vf_field *x, bool path_literal, bool text_literal)
{
	struct vf_field *y;

	if (f->hash) {
		char buf[1024];
		if (!hashed(x->path))
			return;
		const char *value = vf_field_format(x, buf, sizeof(buf));
		/* "path=value\n", without NULs (the hashes in saved markers) */
		*f->hash = vf_hash_add(*f->hash, x->path, strlen(x->path));
		*f->hash = vf_hash_add(*f->hash, "=", 1);
		*f->hash = vf_hash_add(*f->hash, value, strlen(value));
		*f->hash = vf_hash_add(*f->hash, "\n", 1);
		return;
	}
	y = VF_APPEND(f->items, f->n, f->alloc);
	*y = *x;
	if (!path_literal)
		y->path = vf_arena_strdup(f->arena, x->path);
	if (x->text && !text_literal)
		y->text = vf_arena_strdup(f->arena, x->text);
}

/* A string field (nothing when value is NULL); any: the config leaves it open. */
static void add_text(struct fields *f, const char *path, bool path_literal, const char *value,
		     bool value_literal, bool any)
{
	struct vf_field x = { .path = path, .type = VF_VALUE_STRING, .text = value,
			      .present = true, .any = any };

	if (value)
		emit(f, &x, path_literal, value_literal);
}

/* path and value are literals (a field name, an enum's name). */
static void add_lit(struct fields *f, const char *path, const char *value)
{
	add_text(f, path, true, value, true, false);
}

/* path is a literal; value is copied. */
static void add_str(struct fields *f, const char *path, const char *value)
{
	add_text(f, path, true, value, false, false);
}

static void add_num(struct fields *f, const char *path, enum vf_value_type type, uint64_t v)
{
	struct vf_field x = { .path = path, .type = type, .number = v, .present = true };

	emit(f, &x, true, true);
}

/* A pool's "source" made of two parts, "SERVER:EXPORT" or "PORTAL TARGET"
 * (a part not set is empty). */
static void add_source(struct fields *f, const char *a, char sep, const char *b)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%c%s", a ? a : "", sep, b ? b : "");
	add_str(f, "source", buf);
}

static void storage_fields(struct fields *f, const struct vf_pool_spec *p)
{
	add_lit(f, "type", vf_storage_type_name(p->type));
	add_str(f, "path", p->path);
	switch (p->type) {
	case VF_STORAGE_NFS:
		add_source(f, p->server, ':', p->export_path);
		break;
	case VF_STORAGE_LOGICAL:
		add_str(f, "source", p->vg);
		break;
	case VF_STORAGE_ISCSI:
	case VF_STORAGE_ISCSI_DIRECT:
		add_source(f, p->portal, ' ', p->target);
		break;
	case VF_STORAGE_DIR:
		break;
	}
	/* who logs in: a field of its own (absent without one, so an iscsi
	 * pool that never had one hashes as before); a change replaces the
	 * pool, like a change of its source (field_class) */
	add_str(f, "initiator", p->initiator);
	/* the secret's keyed hash, never the secret; plans show a change as
	 * "(sealed value changed)" (plan-print.c) */
	add_str(f, "chap.username", p->chap_username);
	add_str(f, "chap.secret", p->chap_secret);
	add_num(f, "active", VF_VALUE_BOOL, p->active);
	add_num(f, "autostart", VF_VALUE_BOOL, p->autostart);
}

static void volume_fields(struct fields *f, const struct vf_volume_spec *v)
{
	add_str(f, "pool", v->pool);
	if (f->desired && !v->capacity) {
		struct vf_field x = { .path = "capacity", .type = VF_VALUE_BYTES, .present = true,
				      .any = true };
		emit(f, &x, true, true);
	} else {
		add_num(f, "capacity", VF_VALUE_BYTES, v->capacity);
	}
	add_lit(f, "format", vf_image_format_name(v->format));
	add_str(f, "backing", v->backing);
	/* shown on create, never diffed: libvirt does not know the file */
	if (f->desired && v->upload_file)
		add_text(f, "upload", true, v->upload_file, false, true);
	/* a seed's content is never shown, not even its hash: the VM's
	 * cloud_init field carries that */
	if (f->desired && v->seed)
		add_text(f, "upload", true, "(cloud-init seed, built at apply)", true, true);
}

static void network_fields(struct fields *f, const struct vf_network_spec *n)
{
	add_lit(f, "mode", vf_net_mode_name(n->mode));
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

/* target "vda".."vdz": its row of disk_paths; NULL otherwise. */
static const char *const *disk_path_row(const char *target)
{
	if (target && target[0] == 'v' && target[1] == 'd' && target[2] >= 'a' && target[2] <= 'z' &&
	    !target[3])
		return disk_paths[target[2] - 'a'];
	return NULL;
}

static void vm_fields(struct fields *f, const struct vf_vm_spec *vm)
{
	char path[96], buf[160];
	size_t i;

	/* A maximum the config leaves out is derived from what the host has
	 * (desired.c); the spec hash takes the config's intent, so that a
	 * derived value never looks like a change of the config (which would
	 * hide drift): cpus and memory, as before maximums existed. */
	bool cpus_auto = f->hash && vm->max_cpus_auto, mem_auto = f->hash && vm->max_memory_auto;

	add_num(f, "cpus", VF_VALUE_NUMBER, vm->cpus);
	add_num(f, "max_cpus", VF_VALUE_NUMBER,
		vm->max_cpus && !cpus_auto ? vm->max_cpus : vm->cpus);
	add_num(f, "memory", VF_VALUE_BYTES, vm->memory);
	add_num(f, "max_memory", VF_VALUE_BYTES,
		vm->max_memory && !mem_auto ? vm->max_memory : vm->memory);
	add_lit(f, "firmware", vf_firmware_name(vm->firmware));
	add_lit(f, "graphics", vf_graphics_type_name(vm->graphics));
	if (vm->graphics != VF_GRAPHICS_NONE) {
		add_str(f, "graphics.listen", vm->graphics_listen);
		if (vm->graphics_port >= 0)
			add_num(f, "graphics.port", VF_VALUE_NUMBER, (uint64_t)vm->graphics_port);
		/* a keyed hash, shown as "(sealed value changed)" (plan-print.c) */
		if (vm->marker.graphics_password)
			add_str(f, "graphics.password", vm->marker.graphics_password);
	}
	for (i = 0; i < vm->n_disks; i++) {
		const struct vf_disk_spec *d = &vm->disks[i];
		const char *const *row = disk_path_row(d->target);
		if (d->pool)
			snprintf(buf, sizeof(buf), "%s/%s", d->pool, d->volume ? d->volume : "");
		else
			snprintf(buf, sizeof(buf), "%s", d->volume ? d->volume : "");
		if (!row)
			snprintf(path, sizeof(path), "disk[%s].volume", d->target);
		add_text(f, row ? row[0] : path, row != NULL, buf, false, false);
		if (!row)
			snprintf(path, sizeof(path), "disk[%s].format", d->target);
		add_text(f, row ? row[1] : path, row != NULL, vf_image_format_name(d->format), true,
			 false);
	}
	for (i = 0; i < vm->n_nics; i++) {
		const struct vf_nic_spec *n = &vm->nics[i];
		const char *const *row = i < VF_ARRAY_SIZE(nic_paths) ? nic_paths[i] : NULL;
		char mac[18];
		if (!row)
			snprintf(path, sizeof(path), "nic[%zu].network", i);
		add_text(f, row ? row[0] : path, row != NULL, n->network, false, false);
		vf_mac_format(n->mac, mac);
		if (!row)
			snprintf(path, sizeof(path), "nic[%zu].mac", i);
		add_text(f, row ? row[1] : path, row != NULL, mac, false, false);
		if (!row)
			snprintf(path, sizeof(path), "nic[%zu].model", i);
		add_text(f, row ? row[2] : path, row != NULL, n->model, false, false);
	}
	if (vm->description)
		add_str(f, "description", vm->description);
	/* the seed's hash (reconcile/cloudinit.h), never its content; plans
	 * show it as "(cloud-init data changed)" / "(sealed value changed)" */
	if (vm->marker.cloud_init)
		add_str(f, "cloud_init", vm->marker.cloud_init);
	add_num(f, "autostart", VF_VALUE_BOOL, vm->autostart);
	add_lit(f, "state", vm->running ? "running" : "stopped");
}

/* Run the generator for r's kind. */
static void generate(struct fields *f, const struct vf_resource *r)
{
	switch (r->kind) {
	case VF_KIND_STORAGE: storage_fields(f, &r->u.pool); break;
	case VF_KIND_VOLUME:  volume_fields(f, &r->u.vol); break;
	case VF_KIND_NETWORK: network_fields(f, &r->u.net); break;
	case VF_KIND_VM:      vm_fields(f, &r->u.vm); break;
	case VF_KIND_COUNT:   break;
	}
}

size_t vf_resource_fields(const struct vf_resource *r, bool desired, struct vf_arena *arena,
			  struct vf_field **out)
{
	struct fields f = { .arena = arena, .desired = desired };
	struct vf_field *copy;

	generate(&f, r);
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

void vf_resource_hash(const struct vf_resource *r, char out[17])
{
	uint64_t h = VF_HASH_INIT;
	struct fields f = { .desired = true, .hash = &h };

	generate(&f, r);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

size_t vf_action_fields(const struct vf_action *a, struct vf_arena *scratch,
			const struct vf_field_change **out)
{
	bool desired = a->type == VF_ACTION_CREATE;
	const struct vf_resource *r = desired ? a->desired : a->observed;
	struct vf_field_change *ch;
	struct vf_field *f;
	size_t n, i;

	if (!a->fields_implied || !r) {
		*out = a->fields;
		return a->n_fields;
	}
	n = vf_resource_fields(r, desired, scratch, &f);
	ch = vf_arena_alloc(scratch, (n ? n : 1) * sizeof(*ch));
	for (i = 0; i < n; i++) {
		if (desired)
			ch[i].after = f[i];
		else
			ch[i].before = f[i];
	}
	*out = ch;
	return n;
}
