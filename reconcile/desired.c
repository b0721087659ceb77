/*
 * desired.c — what the config wants, as resources on hosts.
 *
 * A storage domain and a network become one resource per host in their
 * scope; each VM disk a volume "VM-DISK" in its storage domain on the VM's
 * host; an image a volume named after it, uploaded into the storage domain
 * of each host that has a VM cloning it; each VM one domain.
 *
 * Placement: a VM pinned to a host goes there.  Otherwise it stays where
 * it is (a managed domain found on a host, or the host the state recorded)
 * — virtform never moves a VM by replanning — and a new one goes where its
 * cluster's scheduling puts it: evenly_distributed to the host with the
 * least memory placed on it, power_saving to the first host (in config
 * order) with room.  A VM that might live on a host skipped as
 * unreachable is left out, with a warning: planning it elsewhere could
 * make a second copy.
 *
 * A VM with cloud_init gets a seed volume "VM-cidata.iso" (raw) in the
 * storage domain of its first disk, attached as a SATA CD-ROM; its hash
 * (cloudinit.h) is the VM's cloud_init field and goes into its marker.
 * Without the secret key, sealed values cannot be compared: plan says so
 * and counts them unchanged; apply (the key required) stops.
 *
 * An iSCSI storage domain (iscsi or iscsi-direct) with chap: the pool
 * names a libvirt secret "virtform/PROJECT/NAME"; its "chap.secret" field
 * is the keyed hash of the sealed value (never the value), compared with
 * the one the secret's description records.
 *
 * MAC addresses the config leaves open are derived from the project, the
 * VM and the NIC's index (52:54:00:xx:xx:xx), so plans show them and they
 * stay stable; an existing NIC keeps the MAC it has.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/cloudinit.h"
#include "reconcile/engine.h"
#include "reconcile/lines.h"

struct builder {
	const struct vf_config *c;
	const struct vf_views *views;
	const struct vf_state *state;
	struct vf_desired *d;
	struct vf_diags *diags;
	char ***warnings;
	size_t *n_warnings, *alloc_warnings;
	struct vf_strmap managed;       /* vm name -> struct found */
	struct vf_strmap macs;          /* "52:54:00:.." -> non-NULL, in use */
	struct vf_strmap images;        /* image volume addresses added */
	uint64_t *load;                 /* per view: memory placed */
};

struct found {
	struct vf_host_view *view;
	const struct vf_resource *r;
};

static void warn(struct builder *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void warn(struct builder *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vf_lines_vaddf(b->warnings, b->n_warnings, b->alloc_warnings, fmt, ap);
	va_end(ap);
}

/*
 * What a spec takes from the config as it is, field for field under the
 * same name: a list per kind, each field X(name).  copy_pool,
 * copy_network and copy_settings run their list through TAKE, from the
 * config's object (from) into the spec (to), and write out beside it
 * what the spec derives (a default, a condition).
 */
#define TAKE(field) to->field = from->field;
#define POOL_FROM_STORAGE(X) \
	X(type) X(path) X(server) X(export_path) X(vg) X(portal) X(target) X(initiator)
#define NETWORK_FROM_CONFIG(X) \
	X(mode) X(bridge) X(has_ipv4) X(ipv4_address) X(ipv4_prefix) X(has_dhcp) X(dhcp_start) \
	X(dhcp_end)
#define VM_FROM_CONFIG(X) \
	X(cpus) X(memory) X(restart_allowed) X(firmware) X(graphics) X(graphics_port) \
	X(autostart) X(description) X(shutdown_timeout)

static struct vf_resource *add(struct builder *b, enum vf_kind kind, const char *name,
			       const char *host, const struct vf_pos *pos)
{
	struct vf_resource *r;
	char *addr;

	r = VF_APPEND(b->d->items, b->d->n, b->d->alloc);
	r->kind = kind;
	r->name = vf_arena_strdup(&b->d->arena, name);
	r->host = host;
	addr = vf_address_new(kind, name, host);
	r->address = vf_arena_strdup(&b->d->arena, addr);
	free(addr);
	if (pos)
		r->pos = *pos;
	return r;
}

/* Views a plan is made for: reachable ones. */
static bool usable(const struct vf_host_view *v)
{
	return v->observed != NULL;
}

/* a + b, at most UINT64_MAX: a host's memory sum never wraps (observed
 * domains are whatever a host says, not bounded as the config is). */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/*
 * The hosts a storage domain or a network (scope: its n clusters, none
 * for every one) is made on: the next usable view from *h on, NULL after
 * the last.  for (h = 0; (v = next_in_scope(b, scope, n, &h));)
 */
static const struct vf_host_view *next_in_scope(const struct builder *b,
						struct vf_cluster *const *scope, size_t n, size_t *h)
{
	while (*h < b->views->n) {
		const struct vf_host_view *v = &b->views->hosts[(*h)++];
		if (usable(v) && vf_cluster_in_scope(scope, n, v->host->cluster_ref))
			return v;
	}
	return NULL;
}

static void index_managed(struct builder *b)
{
	size_t i, j;

	for (i = 0; i < b->views->n; i++) {
		struct vf_host_view *v = &b->views->hosts[i];
		if (!usable(v))
			continue;
		for (j = 0; j < v->observed->n_items; j++) {
			const struct vf_observed_item *it = &v->observed->items[j];
			struct found *f, *old;
			size_t k;
			if (!vf_observed_ours(it, b->c->project))
				continue;
			for (k = 0; k < it->r.u.vm.n_nics; k++) {
				char mac[18];
				vf_mac_format(it->r.u.vm.nics[k].mac, mac);
				vf_strmap_put(&b->macs, vf_arena_strdup(&b->d->arena, mac), (void *)1);
			}
			f = vf_arena_alloc(&b->d->arena, sizeof(*f));
			f->view = v;
			f->r = &it->r;
			old = vf_strmap_put(&b->managed, it->r.name, f);
			if (old != f) {
				struct vf_pos nopos = { 0 };
				vf_error_at(b->diags, &nopos,
					    "destroy one of them by hand (virsh undefine) after checking "
					    "which holds the data",
					    "vm '%s' exists on host '%s' and on host '%s', both marked as "
					    "managed by project '%s'", it->r.name, old->view->host->name,
					    v->host->name, b->c->project);
			}
			b->load[i] = add_sat(b->load[i], it->r.u.vm.memory);
		}
	}
}

/* The CHAP secret of a storage domain as observed on any host: the keyed
 * hash its libvirt secret records; NULL when none. */
static const char *chap_seen(struct builder *b, const struct vf_storage *s)
{
	size_t h, j;

	for (h = 0; h < b->views->n; h++) {
		const struct vf_host_view *v = &b->views->hosts[h];
		if (!usable(v))
			continue;
		for (j = 0; j < v->observed->n_items; j++) {
			const struct vf_observed_item *it = &v->observed->items[j];
			if (it->r.kind == VF_KIND_STORAGE && it->detailed &&
			    !strcmp(it->r.name, s->name) && it->r.u.pool.chap_secret)
				return it->r.u.pool.chap_secret;
		}
	}
	return NULL;
}

/*
 * The field of a sealed value ref (a CHAP secret, a graphics password):
 * 16 hex digits of the keyed hash of its clear text, context what.
 * Without a key: apply stops at the sealed value; plan warns ("LABEL was
 * not compared") and takes seen, what the host has (unchanged), or
 * "unopened" for a new object.  NULL after an error.
 */
static const char *sealed_hash(struct builder *b, const struct vf_secret_ref *ref,
			       const char *what, const char *label, const char *seen)
{
	const struct vf_secret_key *key = vf_cloudinit_key();
	char hex[VF_SECRET_HASH_HEX];

	if (!key && vf_cloudinit_key_required()) {
		vf_error_at(b->diags, &ref->pos,
			    "give the secret key with --secret-key FILE or VIRTFORM_SECRET_KEY "
			    "(docs/secrets.md)",
			    "%s: cannot open the sealed value: no secret key was given", what);
		return NULL;
	}
	if (!key) {
		warn(b, "%s was not compared (no secret key: give --secret-key FILE or "
			"VIRTFORM_SECRET_KEY); it counts as unchanged, and apply needs the key", label);
		return seen ? seen : "unopened";
	}
	if (vf_secret_hash_sealed(key, ref, what, what, hex, b->diags) < 0)
		return NULL;
	hex[16] = '\0';
	return vf_arena_strdup(&b->d->arena, hex);
}

/* The CHAP secret's field (spec.h: chap_secret) of storage domain s. */
static const char *chap_hash(struct builder *b, const struct vf_storage *s, const char *what)
{
	char *label = xasprintf("storage.%s: chap: the sealed secret", s->name);
	const char *hash = sealed_hash(b, &s->chap_secret, what, label, chap_seen(b, s));

	free(label);
	return hash;
}

/* A pool's own settings, copied from its storage domain (path: NULL for
 * iscsi-direct, libvirt reaches its LUNs over the network, they never
 * show up under /dev). */
static void copy_pool(struct builder *b, struct vf_pool_spec *to, const struct vf_storage *from)
{
	POOL_FROM_STORAGE(TAKE)
	if (from->type == VF_STORAGE_LOGICAL && !to->path) {
		char *dev = xasprintf("/dev/%s", from->vg);
		to->path = vf_arena_strdup(&b->d->arena, dev);
		free(dev);
	} else if (from->type == VF_STORAGE_ISCSI && !to->path) {
		to->path = "/dev/disk/by-path";
	}
	to->active = to->autostart = true;   /* running now and at every boot */
}

static void add_storage(struct builder *b)
{
	const struct vf_host_view *v;
	size_t i, h;

	for (i = 0; i < b->c->n_storages; i++) {
		const struct vf_storage *s = &b->c->storages[i];
		const char *chap_usage = NULL, *chap_what = NULL, *chap_secret = NULL;
		if (s->chap_username && s->chap_secret.sealed) {
			char *t = xasprintf("virtform/%s/%s", b->c->project, s->name);
			chap_usage = vf_arena_strdup(&b->d->arena, t);
			free(t);
			t = xasprintf("storage domain '%s': chap: secret", s->name);
			chap_what = vf_arena_strdup(&b->d->arena, t);
			free(t);
			chap_secret = chap_hash(b, s, chap_what);
			if (!chap_secret)
				continue;
		}
		for (h = 0; (v = next_in_scope(b, s->cluster_refs, s->n_clusters, &h));) {
			struct vf_pool_spec *p = &add(b, VF_KIND_STORAGE, s->name, v->host->name,
						      &s->pos)->u.pool;
			copy_pool(b, p, s);
			if (chap_usage) {
				p->chap_username = s->chap_username;
				p->chap_usage = chap_usage;
				p->chap_secret = chap_secret;
				p->chap_sealed = &s->chap_secret;
				p->chap_what = chap_what;
			}
		}
	}
}

static void add_networks(struct builder *b)
{
	const struct vf_host_view *v;
	size_t i, h;

	for (i = 0; i < b->c->n_networks; i++) {
		const struct vf_network *from = &b->c->networks[i];
		for (h = 0; (v = next_in_scope(b, from->cluster_refs, from->n_clusters, &h));) {
			struct vf_network_spec *to = &add(b, VF_KIND_NETWORK, from->name,
							  v->host->name, &from->pos)->u.net;
			NETWORK_FROM_CONFIG(TAKE)
			/* a bridge's MTU is the host bridge's (host networking);
			 * libvirt takes <mtu> only for networks it makes */
			to->mtu = from->mode == VF_NET_MODE_BRIDGE ? 0 : from->mtu;
			to->active = to->autostart = true;
		}
	}
}

static size_t view_index(const struct builder *b, const struct vf_host_view *v)
{
	return (size_t)(v - b->views->hosts);
}

/*
 * Where vm goes: its view, or NULL (with a warning or an error) when it
 * cannot be planned now.
 */
bool vf_vm_may_run_on(const struct vf_vm *vm, const struct vf_host *h)
{
	if (vm->host_ref)
		return vm->host_ref == h;
	return h->cluster_ref == vm->cluster_ref;
}

static struct vf_host_view *place(struct builder *b, const struct vf_vm *vm)
{
	const struct found *f = vf_strmap_get(&b->managed, vm->name);
	const struct vf_state_entry *e;
	struct vf_host_view *best = NULL;
	char *addr;
	size_t i;

	if (f) {
		if (vm->host_ref && strcmp(vm->host_ref->name, f->view->host->name))
			warn(b, "vm.%s stays on host '%s': the config pins it to '%s', and moving a "
				"VM (live migration) is not supported yet", vm->name,
			     f->view->host->name, vm->host_ref->name);
		return f->view;
	}
	if (vm->host_ref) {
		struct vf_host_view *v = vf_views_find(b->views, vm->host_ref->name);
		if (v && usable(v))
			return v;
		warn(b, "vm.%s is not planned: its host '%s' is unreachable", vm->name,
		     vm->host_ref->name);
		return NULL;
	}
	addr = vf_address_new(VF_KIND_VM, vm->name, NULL);
	e = b->state ? vf_state_find(b->state, addr) : NULL;
	free(addr);
	if (e && e->host) {
		struct vf_host_view *v = vf_views_find(b->views, e->host);
		if (v && !usable(v)) {
			warn(b, "vm.%s is not planned: it was last placed on host '%s', which is "
				"unreachable", vm->name, e->host);
			return NULL;
		}
		if (v && vf_vm_may_run_on(vm, v->host))
			return v;
	}
	for (i = 0; i < b->views->n; i++) {
		struct vf_host_view *v = &b->views->hosts[i];
		if (!vf_vm_may_run_on(vm, v->host))
			continue;
		if (!usable(v)) {
			warn(b, "vm.%s is not planned: it is not on any reachable host, and host "
				"'%s' of its cluster is unreachable and may have it", vm->name,
			     v->host->name);
			return NULL;
		}
	}
	for (i = 0; i < b->views->n; i++) {
		struct vf_host_view *v = &b->views->hosts[i];
		if (!vf_vm_may_run_on(vm, v->host))
			continue;
		if (vm->cluster_ref && vm->cluster_ref->scheduling == VF_SCHEDULING_POWER_SAVING) {
			uint64_t room = v->observed->memory_total / 10 * 9;
			if (add_sat(b->load[i], vm->memory) <= room)
				return v;
		}
		if (!best || b->load[i] < b->load[view_index(b, best)])
			best = v;
	}
	if (!best)
		vf_error_at(b->diags, &vm->pos, "add a host to the cluster",
			    "vm '%s': cluster '%s' has no host to place it on", vm->name,
			    vm->cluster ? vm->cluster : "(none)");
	return best;
}

static void derive_mac(struct builder *b, const char *vm, size_t idx, uint8_t mac[6])
{
	uint32_t salt;

	for (salt = 0;; salt++) {
		char buf[200], text[18];
		uint64_t h;
		snprintf(buf, sizeof(buf), "%s/%s/%zu/%u", b->c->project, vm, idx, salt);
		h = vf_hash_bytes(buf, strlen(buf));
		mac[0] = 0x52;
		mac[1] = 0x54;
		mac[2] = 0x00;
		mac[3] = (uint8_t)(h >> 16);
		mac[4] = (uint8_t)(h >> 8);
		mac[5] = (uint8_t)h;
		vf_mac_format(mac, text);
		if (!vf_strmap_get(&b->macs, text)) {
			vf_strmap_put(&b->macs, vf_arena_strdup(&b->d->arena, text), (void *)1);
			return;
		}
	}
}

/* Is a storage domain realized on host v? */
static bool storage_on(const struct vf_storage *s, const struct vf_host_view *v)
{
	return vf_cluster_in_scope(s->cluster_refs, s->n_clusters, v->host->cluster_ref);
}

static void add_image_volume(struct builder *b, const struct vf_image *img,
			     const struct vf_host_view *v)
{
	char *addr = xasprintf("volume.%s@%s", img->name, v->host->name);
	struct vf_resource *r;
	struct vf_volume_spec *s;

	if (vf_strmap_get(&b->images, addr)) {
		free(addr);
		return;
	}
	free(addr);
	r = add(b, VF_KIND_VOLUME, img->name, v->host->name, &img->pos);
	vf_strmap_put(&b->images, r->address, r);
	s = &r->u.vol;
	s->pool = img->storage;
	s->format = img->format;
	s->upload_file = img->file_path;
	s->upload_root = img->file_root;
}

/*
 * The room a VM has to grow live.  Given in the config: that.  Not given:
 * a new VM gets twice its vCPUs (hot-plugged vCPUs cost nothing until
 * used; just cpus above 128, the machine type's limits) and max_memory =
 * memory (a guest boots with max_memory and is ballooned down, so a larger
 * default would make every guest boot bigger than asked); an existing VM
 * keeps the maximum it has unless the value outgrows it — so leaving the
 * keys out never plans a restart.
 */
static void vm_maximums(const struct vf_vm *vm, const struct vf_vm_spec *seen,
			struct vf_vm_spec *s)
{
	s->max_cpus_auto = !vm->max_cpus;
	s->max_memory_auto = !vm->max_memory;
	if (vm->max_cpus)
		s->max_cpus = vm->max_cpus;
	else if (seen && seen->max_cpus >= vm->cpus)
		s->max_cpus = seen->max_cpus;
	else
		s->max_cpus = vm->cpus <= 128 ? 2 * vm->cpus : vm->cpus;
	if (vm->max_memory)
		s->max_memory = vm->max_memory;
	else if (seen && seen->max_memory >= vm->memory)
		s->max_memory = seen->max_memory;
	else
		s->max_memory = vm->memory;
}

/*
 * The seed volume of vm on host, and its hash into hash; NULL after an
 * error (no disk, a sealed value that does not open, no key for apply).
 */
static struct vf_seed *add_seed(struct builder *b, const struct vf_vm *vm, const struct found *f,
				const char *host)
{
	const struct vf_cloud_init *ci = &vm->cloud_init;
	const struct vf_secret_key *key = vf_cloudinit_key();
	bool sealed = vf_cloud_init_has_sealed(ci);
	char hash[VF_SEED_HASH_MAX], *name;
	struct vf_resource *r;
	struct vf_seed *seed;

	if (!vm->n_disks) {
		vf_error_at(b->diags, &ci->pos,
			    "add a disk: the seed volume goes in the storage domain of the first one",
			    "vm '%s': cloud_init needs a disk", vm->name);
		return NULL;
	}
	if (sealed && !key && vf_cloudinit_key_required()) {
		struct vf_cloudinit_files none;
		vf_cloudinit_files_build(vm, NULL, &none, b->diags);   /* says which field */
		return NULL;
	}
	if (vf_cloudinit_hash(vm, key, hash, b->diags) < 0)
		return NULL;
	if (sealed && !key) {
		const char *seen = f ? f->r->u.vm.marker.cloud_init : NULL;
		const char *plus = seen ? strchr(seen, '+') : NULL;
		if (plus)
			snprintf(strchr(hash, '+'), VF_SEED_HASH_MAX - 16, "%s", plus);
		warn(b, "vm.%s: cloud_init: sealed values were not compared (no secret key: give "
			"--secret-key FILE or VIRTFORM_SECRET_KEY); they count as unchanged, and apply "
			"needs the key", vm->name);
	}
	name = xasprintf("%s%s", vm->name, VF_SEED_SUFFIX);
	r = add(b, VF_KIND_VOLUME, name, host, &ci->pos);
	free(name);
	r->u.vol.pool = vm->disks[0].storage;
	r->u.vol.format = VF_FORMAT_RAW;
	r->u.vol.vm = vm->name;
	seed = vf_arena_alloc(&b->d->arena, sizeof(*seed));
	seed->vm = vm;
	seed->pool = r->u.vol.pool;
	seed->volume = r->name;
	seed->hash = vf_arena_strdup(&b->d->arena, hash);
	r->u.vol.seed = seed;
	return seed;
}

/*
 * The volume of each of vm's disks on host v.  False (errors reported)
 * when a disk's storage domain or image does not fit the host.
 */
static bool add_disk_volumes(struct builder *b, const struct vf_vm *vm, struct vf_host_view *v)
{
	const char *host = v->host->name;
	bool ok = true;
	size_t i;

	for (i = 0; i < vm->n_disks; i++) {
		const struct vf_disk *dk = &vm->disks[i];
		struct vf_volume_spec *vol;
		char *name;
		if (!storage_on(dk->storage_ref, v)) {
			vf_error_at(b->diags, &dk->pos, "scope the storage domain to the VM's cluster",
				    "vm '%s': disk '%s' is on storage domain '%s', which host '%s' "
				    "does not have", vm->name, dk->name, dk->storage, host);
			ok = false;
			continue;
		}
		if (dk->image_ref) {
			if (dk->image_ref->storage_ref != dk->storage_ref) {
				vf_error_at(b->diags, &dk->pos,
					    "put the disk on the image's storage domain",
					    "vm '%s': disk '%s' clones image '%s', which lives on storage "
					    "domain '%s', not '%s'", vm->name, dk->name, dk->image,
					    dk->image_ref->storage, dk->storage);
				ok = false;
				continue;
			}
			add_image_volume(b, dk->image_ref, v);
		}
		name = xasprintf("%s-%s", vm->name, dk->name);
		vol = &add(b, VF_KIND_VOLUME, name, host, &dk->pos)->u.vol;
		free(name);
		vol->pool = dk->storage;
		vol->capacity = dk->size;
		vol->format = dk->image_ref ? VF_FORMAT_QCOW2 : dk->format;
		vol->backing = dk->image;
		vol->vm = vm->name;
		vol->keep = dk->keep;
	}
	return ok;
}

/*
 * The keyed hash of vm's sealed graphics password (*hash, NULL without
 * one) and what names it in messages (*what).  False (reported) when it
 * cannot be opened.
 */
static bool graphics_password(struct builder *b, const struct vf_vm *vm, const struct found *f,
			      const char **what, const char **hash)
{
	char *text, *label;

	*what = *hash = NULL;
	if (vm->graphics == VF_GRAPHICS_NONE || !vm->graphics_password.sealed)
		return true;
	text = xasprintf("vm '%s': graphics: password", vm->name);
	label = xasprintf("vm.%s: graphics: the sealed password", vm->name);
	*what = vf_arena_strdup(&b->d->arena, text);
	*hash = sealed_hash(b, &vm->graphics_password, *what, label,
			    f ? f->r->u.vm.marker.graphics_password : NULL);
	free(text);
	free(label);
	return *hash != NULL;
}

/* The seed's CD-ROM, last of s's disks, and its volume in the marker. */
static void add_seed_disk(struct vf_vm_spec *s, size_t at, const struct vf_seed *seed)
{
	struct vf_disk_spec *d = &s->disks[at];

	d->name = "cidata";
	d->target = VF_SEED_TARGET;
	d->pool = seed->pool;
	d->volume = seed->volume;
	d->format = VF_FORMAT_RAW;
	d->cdrom = true;
	s->marker.volumes[at].pool = seed->pool;
	s->marker.volumes[at].name = seed->volume;
	s->marker.volumes[at].keep = false;
	s->marker.cloud_init = seed->hash;
	s->seed = seed;
}

/* vm's disks on targets vda..vdz, vdaa..; each volume in the marker. */
static void add_disks(struct builder *b, struct vf_vm_spec *s, const struct vf_vm *vm)
{
	size_t i;

	for (i = 0; i < vm->n_disks; i++) {
		const struct vf_disk *dk = &vm->disks[i];
		struct vf_disk_spec *d = &s->disks[i];
		char target[16], *name = xasprintf("%s-%s", vm->name, dk->name);
		/* vda..vdz, then vdaa..: 26 + 26*26 disks is plenty */
		if (i < 26)
			snprintf(target, sizeof(target), "vd%c", (char)('a' + i));
		else
			snprintf(target, sizeof(target), "vd%c%c", (char)('a' + i / 26 - 1),
				 (char)('a' + i % 26));
		d->name = dk->name;
		d->target = vf_arena_strdup(&b->d->arena, target);
		d->pool = dk->storage;
		d->volume = vf_arena_strdup(&b->d->arena, name);
		d->format = dk->image_ref ? VF_FORMAT_QCOW2 : dk->format;
		s->marker.volumes[i].pool = dk->storage;
		s->marker.volumes[i].name = d->volume;
		s->marker.volumes[i].keep = dk->keep;
		free(name);
	}
}

/* vm's NICs; a MAC the config leaves open is the managed VM's, or derived. */
static void add_nics(struct builder *b, struct vf_vm_spec *s, const struct vf_vm *vm,
		     const struct found *f)
{
	size_t i;

	s->n_nics = vm->n_nics;
	s->nics = vf_arena_alloc(&b->d->arena, (vm->n_nics ? vm->n_nics : 1) * sizeof(*s->nics));
	for (i = 0; i < vm->n_nics; i++) {
		const struct vf_nic *nic = &vm->nics[i];
		struct vf_nic_spec *n = &s->nics[i];
		n->network = nic->network;
		n->model = nic->model;
		if (nic->has_mac)
			memcpy(n->mac, nic->mac, 6);
		else if (f && i < f->r->u.vm.n_nics)
			memcpy(n->mac, f->r->u.vm.nics[i].mac, 6);
		else
			derive_mac(b, vm->name, i, n->mac);
	}
}

/* The VM's own settings, copied from the config. */
static void copy_settings(struct vf_vm_spec *to, const struct vf_vm *from)
{
	VM_FROM_CONFIG(TAKE)
	to->graphics_listen = from->graphics == VF_GRAPHICS_NONE ? NULL : from->graphics_listen;
	to->running = from->state == VF_VM_STATE_RUNNING;
}

/*
 * vm on host v: its disks' volumes, its seed, then the VM itself with its
 * marker (project, owned volumes, spec hash).  Nothing of the VM is added
 * when a disk, the seed or the graphics password fails (reported).
 */
static void add_vm(struct builder *b, const struct vf_vm *vm, struct vf_host_view *v)
{
	const struct found *f = vf_strmap_get(&b->managed, vm->name);
	struct vf_resource *r;
	struct vf_vm_spec *s;
	const struct vf_seed *seed = NULL;
	const char *graphics_what, *graphics_hash;
	size_t n_disks = vm->n_disks + (vm->cloud_init.given ? 1 : 0);
	char hash[17];

	if (!add_disk_volumes(b, vm, v))
		return;
	if (vm->cloud_init.given) {
		seed = add_seed(b, vm, f, v->host->name);
		if (!seed)
			return;
	}
	if (!graphics_password(b, vm, f, &graphics_what, &graphics_hash))
		return;

	r = add(b, VF_KIND_VM, vm->name, v->host->name, &vm->pos);
	r->protect = vm->protect;
	s = &r->u.vm;
	copy_settings(s, vm);
	vm_maximums(vm, f ? &f->r->u.vm : NULL, s);
	if (graphics_hash) {
		s->graphics_what = graphics_what;
		s->graphics_sealed = &vm->graphics_password;
		s->marker.graphics_password = graphics_hash;
	}
	s->n_disks = n_disks;
	s->disks = vf_arena_alloc(&b->d->arena, (n_disks ? n_disks : 1) * sizeof(*s->disks));
	s->marker.project = b->c->project;
	s->marker.n_volumes = n_disks;
	s->marker.volumes = vf_arena_alloc(&b->d->arena, (n_disks ? n_disks : 1) *
					   sizeof(*s->marker.volumes));
	if (seed)
		add_seed_disk(s, vm->n_disks, seed);
	add_disks(b, s, vm);
	add_nics(b, s, vm, f);
	vf_resource_hash(r, hash);
	s->marker.spec_hash = vf_arena_strdup(&b->d->arena, hash);
}

/* MACs the config gives are taken before any is derived. */
static void reserve_given_macs(struct builder *b)
{
	size_t i, j;

	for (i = 0; i < b->c->n_vms; i++)
		for (j = 0; j < b->c->vms[i].n_nics; j++)
			if (b->c->vms[i].nics[j].has_mac) {
				char mac[18];
				vf_mac_format(b->c->vms[i].nics[j].mac, mac);
				vf_strmap_put(&b->macs, vf_arena_strdup(&b->d->arena, mac), (void *)1);
			}
}

/* Every VM's host into where[]: VMs already placed first, so new ones see
 * the real load. */
static void place_all(struct builder *b, struct vf_host_view **where)
{
	const struct vf_config *config = b->c;
	size_t i;

	for (i = 0; i < config->n_vms; i++)
		if (vf_strmap_get(&b->managed, config->vms[i].name))
			where[i] = place(b, &config->vms[i]);
	for (i = 0; i < config->n_vms; i++)
		if (!vf_strmap_get(&b->managed, config->vms[i].name)) {
			where[i] = place(b, &config->vms[i]);
			if (where[i])
				b->load[view_index(b, where[i])] =
					add_sat(b->load[view_index(b, where[i])], config->vms[i].memory);
		}
}

/* One name per volume in a storage domain: an image called "web1-root"
 * would be the volume of vm web1's disk "root". */
static void check_volume_names(struct builder *b)
{
	struct vf_strmap seen = { 0 };
	size_t i;

	for (i = 0; i < b->d->n; i++) {
		const struct vf_resource *r = &b->d->items[i], *other;
		other = vf_strmap_put(&seen, r->address, (void *)r);
		if (other != r)
			vf_error_at(b->diags, &r->pos, "rename the image or the disk",
				    "%s: the volume of this disk and the one defined at "
				    "%s:%u:%u would have the same name", r->address,
				    other->pos.file, other->pos.line, other->pos.col);
	}
	vf_strmap_release(&seen);
}

int vf_desired_build(const struct vf_config *config, const struct vf_views *views,
		     const struct vf_state *state, bool destroy, struct vf_desired *out,
		     struct vf_diags *diags, char ***warnings, size_t *n_warnings,
		     size_t *alloc_warnings)
{
	struct builder b = {
		.c = config, .views = views, .state = state, .d = out, .diags = diags,
		.warnings = warnings, .n_warnings = n_warnings, .alloc_warnings = alloc_warnings,
	};
	struct vf_host_view **where;
	size_t errors = diags->n_errors, i, j;

	memset(out, 0, sizeof(*out));
	if (destroy)
		return 0;
	b.load = xcalloc(views->n ? views->n : 1, sizeof(*b.load));
	where = xcalloc(config->n_vms ? config->n_vms : 1, sizeof(*where));
	reserve_given_macs(&b);
	index_managed(&b);
	add_storage(&b);
	place_all(&b, where);
	/* volumes (images first, each once per host), then networks, then VMs */
	for (i = 0; i < config->n_vms; i++)
		if (where[i])
			for (j = 0; j < config->vms[i].n_disks; j++)
				if (config->vms[i].disks[j].image_ref &&
				    storage_on(config->vms[i].disks[j].storage_ref, where[i]))
					add_image_volume(&b, config->vms[i].disks[j].image_ref, where[i]);
	/* add_vm adds each VM's disk volumes before the VM itself */
	for (i = 0; i < config->n_vms; i++)
		if (where[i])
			add_vm(&b, &config->vms[i], where[i]);
	add_networks(&b);
	check_volume_names(&b);
	free(where);
	free(b.load);
	vf_strmap_release(&b.managed);
	vf_strmap_release(&b.macs);
	vf_strmap_release(&b.images);
	return diags->n_errors == errors ? 0 : -1;
}

void vf_desired_release(struct vf_desired *d)
{
	free(d->items);
	vf_arena_release(&d->arena);
	memset(d, 0, sizeof(*d));
}
