/*
 * volume.c — apply for storage volumes: create (empty, cloned from an
 * image already in a pool, or uploaded: upload.c), grow (also under a
 * running VM's block device), delete.
 *
 * A volume's capacity only grows (the engine refuses shrinks).
 */
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/internal.h"
#include "reconcile/fault.h"
#include "reconcile/transport.h"

/* The pool a volume lives in; it must exist (1), or -1. */
int vf_libvirt_volume_pool(struct op *op, const char *pool_name, virStoragePoolPtr *pool)
{
	int found = vf_libvirt_pool_find(op, pool_name, pool);

	if (found == 0)
		return vf_op_failf(op, "storage pool '%s' does not exist on host %s", pool_name,
				   op->a->host ? op->a->host : "?");
	return found;
}

int vf_libvirt_volume_find(struct op *op, virStoragePoolPtr pool, const char *name,
			   virStorageVolPtr *vol)
{
	*vol = virStorageVolLookupByName(pool, name);
	return vf_op_found(op, *vol, VIR_ERR_NO_STORAGE_VOL, "look up the volume");
}

/*
 * Refresh pool, waiting out libvirt's refusal while the pool has
 * asynchronous jobs (a volume being built by another thread, libvirt's own
 * refresh after an upload).  That refusal is an internal error; any other
 * failure, or a pool that went inactive, ends the wait.
 */
int vf_libvirt_pool_refresh(virStoragePoolPtr pool)
{
	double deadline = vf_now() + REFRESH_WAIT_SECONDS;

	while (virStoragePoolRefresh(pool, 0) < 0) {
		if (virGetLastErrorCode() != VIR_ERR_INTERNAL_ERROR || vf_now() >= deadline)
			return -1;
		sleep_ms(POLL_INTERVAL_MS);
	}
	return 0;
}

/*
 * After a failed create: does the volume exist after all (another thread
 * or run made it, or a file libvirt had not seen yet)?  The failure is
 * already reported; libvirt's error may be overwritten here.
 */
static int volume_appeared(virStoragePoolPtr pool, const char *name)
{
	virStorageVolPtr vol;

	vf_libvirt_pool_refresh(pool);
	vol = virStorageVolLookupByName(pool, name);
	if (!vol)
		return 0;
	virStorageVolFree(vol);
	return 1;
}

int vf_libvirt_volume_create_xml(struct op *op, virStoragePoolPtr pool, const struct vf_resource *r,
				 uint64_t capacity, const char *backing_path,
			     enum vf_image_format backing_format, virStorageVolPtr *vol)
{
	char *xml, *xml_error = NULL;

	xml = vf_xml_volume_format(r, capacity, backing_path, backing_format, &xml_error);
	if (!xml) {
		vf_op_failf(op, "cannot create: %s", xml_error);
		free(xml_error);
		return -1;
	}
	*vol = virStorageVolCreateXML(pool, xml, 0);
	free(xml);
	if (!*vol)
		return vf_op_fail(op, "create");
	vf_fault_point("volume-create", op_address(op));
	return 0;
}

/*
 * Parse xml, a libvirt object's description (NULL: reading it failed,
 * reported as "cannot READ_VERB"), into r with parse, its strings in
 * arena; a parse failure reads "cannot read NOUN 'NAME': WHY".  Frees
 * xml.  0 or -1.
 */
static int parse_described(struct op *op, char *xml, const char *read_verb,
			   int (*parse)(const char *xml, struct vf_arena *arena,
					struct vf_resource *r, char **error),
			   struct vf_arena *arena, struct vf_resource *r, const char *noun,
			   const char *name)
{
	char *xml_error = NULL;
	int rc;

	if (!xml)
		return vf_op_fail(op, read_verb);
	rc = parse(xml, arena, r, &xml_error);
	free(xml);
	if (rc < 0) {
		vf_op_failf(op, "cannot read %s '%s': %s", noun, name, xml_error);
		free(xml_error);
		return -1;
	}
	return 0;
}

/* A copy-on-write clone of the image volume desired->u.vol.backing, in the same pool. */
static int volume_clone(struct op *op, virStoragePoolPtr pool, virStorageVolPtr *vol)
{
	const struct vf_resource *d = op->a->desired;
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_resource image = { .kind = VF_KIND_VOLUME };
	virStorageVolPtr image_vol;
	char *verb, *path = NULL;
	uint64_t capacity;
	int rc = -1;

	image_vol = virStorageVolLookupByName(pool, d->u.vol.backing);
	if (!image_vol) {
		verb = xasprintf("find the image volume '%s'", d->u.vol.backing);
		vf_op_fail(op, verb);
		free(verb);
		return -1;
	}
	/* One read gives the image's format, capacity and path. */
	if (parse_described(op, virStorageVolGetXMLDesc(image_vol, 0), "read the image volume",
			    vf_xml_volume_parse, &arena, &image, "the image volume",
			    d->u.vol.backing) < 0)
		goto out;
	if (!image.u.vol.path || !*image.u.vol.path) {
		path = virStorageVolGetPath(image_vol);
		if (!path) {
			vf_op_fail(op, "read the image volume's path");
			goto out;
		}
	}
	capacity = d->u.vol.capacity ? d->u.vol.capacity : image.u.vol.capacity;
	if (capacity < image.u.vol.capacity) {
		vf_op_failf(op,
			    "cannot create: capacity %llu bytes is smaller than image '%s' (%llu bytes)",
			 (unsigned long long)capacity, d->u.vol.backing,
			 (unsigned long long)image.u.vol.capacity);
		goto out;
	}
	rc = vf_libvirt_volume_create_xml(op, pool, d, capacity, path ? path : image.u.vol.path,
					  image.u.vol.format, vol);
out:
	free(path);
	vf_arena_release(&arena);
	virStorageVolFree(image_vol);
	return rc;
}

static int volume_create(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	const char *name = object_name(op, d);
	virStoragePoolPtr pool;
	virStorageVolPtr vol = NULL;
	int rc, found;

	if (vf_libvirt_volume_pool(op, d->u.vol.pool, &pool) < 0)
		return -1;
	/*
	 * libvirt's list first, refreshed only when a create fails: a refresh
	 * re-reads every volume of the pool (quadratic over a big apply) and
	 * is refused while another volume of the pool is being built.
	 */
	found = vf_libvirt_volume_find(op, pool, name, &vol);
	if (found < 0) {
		rc = -1;
	} else if (found) {
		/*
		 * Done already (it appeared since the plan read the host).  An
		 * upload cut short by a crash of virtform itself (a failed
		 * upload deletes its volume) leaves a volume of the right name
		 * and size with partial content: the intent journal in the
		 * state says so, and the next plan replaces it rather than
		 * create it here.  The refresh finishes an upload whose
		 * refresh was refused.
		 */
		rc = 0;
		if (d->u.vol.upload_file && vf_libvirt_pool_refresh(pool) < 0)
			rc = vf_op_fail(op, "refresh the storage pool");
	} else if (d->u.vol.seed) {
		rc = vf_libvirt_seed_write(op, pool, d->u.vol.seed, &vol);
	} else if (d->u.vol.backing) {
		rc = volume_clone(op, pool, &vol);
	} else if (d->u.vol.upload_file) {
		rc = vf_libvirt_volume_upload(op, pool, &vol);
	} else {
		rc = vf_libvirt_volume_create_xml(op, pool, d, d->u.vol.capacity, NULL,
						  VF_FORMAT_QCOW2, &vol);
	}
	if (rc < 0 && found == 0 && !vol && volume_appeared(pool, name))
		rc = vf_op_recovered(op);
	if (vol)
		virStorageVolFree(vol);
	virStoragePoolFree(pool);
	return rc;
}

/*
 * Grow a volume that is a disk of a running VM through the VM
 * (virDomainBlockResize), so the guest sees the new size at once and qemu,
 * which holds the image open, is not bypassed.  1: done that way; 0: not
 * attached to a running domain; -1: error.
 */
static int volume_grow_live(struct op *op, const struct vf_resource *d)
{
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_resource vm = { .kind = VF_KIND_VM };
	const char *target = NULL;
	virDomainPtr dom;
	size_t i;
	int rc = 0, active;

	dom = virDomainLookupByName(op->conn, d->u.vol.vm);
	if (!dom) {
		virResetLastError();
		return 0;
	}
	active = virDomainIsActive(dom);
	if (active <= 0) {
		virResetLastError();
		goto out;
	}
	/* live: what qemu has open */
	if (parse_described(op, virDomainGetXMLDesc(dom, 0), "read the domain using the volume",
			    vf_xml_domain_parse, &arena, &vm, "domain", d->u.vol.vm) < 0) {
		rc = -1;
		goto out;
	}
	for (i = 0; i < vm.u.vm.n_disks && !target; i++) {
		const struct vf_disk_spec *disk = &vm.u.vm.disks[i];

		if (disk->pool && disk->volume && !strcmp(disk->pool, d->u.vol.pool) &&
		    !strcmp(disk->volume, d->name))
			target = disk->target;
	}
	if (!target)
		goto out;
	if (virDomainBlockResize(dom, target, d->u.vol.capacity, VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0)
		rc = vf_op_fail(op, "resize the running VM's disk");
	else
		rc = 1;
out:
	vf_arena_release(&arena);
	virDomainFree(dom);
	return rc;
}

/* Capacity only grows (the engine refuses shrinks); other fields replace. */
static int volume_update(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virStoragePoolPtr pool;
	virStorageVolPtr vol = NULL;
	virStorageVolInfo info;
	int rc = -1, found, live;

	if (vf_libvirt_volume_pool(op, d->u.vol.pool, &pool) < 0)
		return -1;
	found = vf_libvirt_volume_find(op, pool, object_name(op, d), &vol);
	if (found <= 0) {
		if (found == 0)
			vf_op_failf(op, "cannot update: the volume no longer exists");
		goto out;
	}
	if (virStorageVolGetInfo(vol, &info) < 0) {
		vf_op_fail(op, "read the volume's capacity");
		goto out;
	}
	if (!d->u.vol.capacity || info.capacity >= d->u.vol.capacity) {
		rc = 0;                 /* grown already (or nothing asked) */
		goto out;
	}
	live = d->u.vol.vm ? volume_grow_live(op, d) : 0;
	if (live < 0)
		goto out;
	if (!live && virStorageVolResize(vol, d->u.vol.capacity, 0) < 0)
		vf_op_fail(op, "resize");
	else
		rc = 0;
out:
	if (vol)
		virStorageVolFree(vol);
	virStoragePoolFree(pool);
	return rc;
}

static int volume_delete(struct op *op, const struct vf_resource *observed)
{
	const char *pool_name = observed ? observed->u.vol.pool : NULL;
	virStoragePoolPtr pool;
	virStorageVolPtr vol;
	int rc = -1, found;

	if (!pool_name)
		return vf_op_failf(op, "cannot delete: the volume's pool is unknown");
	found = vf_libvirt_pool_find(op, pool_name, &pool);
	if (found <= 0)
		return found;           /* no pool, no volume */
	found = vf_libvirt_volume_find(op, pool, object_name(op, observed), &vol);
	if (found <= 0) {
		rc = found;
		goto out;
	}
	if (virStorageVolDelete(vol, 0) == 0 || last_error_was(VIR_ERR_NO_STORAGE_VOL))
		rc = 0;
	else
		vf_op_fail(op, "delete");
	virStorageVolFree(vol);
out:
	virStoragePoolFree(pool);
	return rc;
}

const struct vf_kind_ops vf_libvirt_volume_ops = {
	.create = volume_create,
	.update = volume_update,
	.remove = volume_delete,
};
