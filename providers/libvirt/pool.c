/*
 * pool.c — apply for storage pools: define, build, start and stop,
 * autostart, CHAP credentials changed in place, delete.
 *
 * Deliberate limits, on the side of keeping data: a pool is destroyed
 * and undefined, never deleted (virStoragePoolDelete would remove its
 * directory or volume group); it is built only when it is a dir or netfs
 * pool by its own XML (building a logical or iSCSI pool formats devices).
 */
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/internal.h"

int vf_libvirt_pool_find(struct op *op, const char *name, virStoragePoolPtr *pool)
{
	*pool = virStoragePoolLookupByName(op->conn, name);
	return vf_op_found(op, *pool, VIR_ERR_NO_STORAGE_POOL, "look up the storage pool");
}

static int pool_active(virStoragePoolPtr pool)
{
	int active = virStoragePoolIsActive(pool);

	if (active < 0 && last_error_was(VIR_ERR_NO_STORAGE_POOL))
		return 0;
	return active;
}

/*
 * Whether building pool is harmless: only for dir (makes the directory)
 * and netfs (makes the mount point) pools, judged by the pool's own XML,
 * not by the desired spec — a name clash with an existing logical pool
 * must never get it built (that formats its devices).  A type virtform
 * cannot parse is not built.
 */
static int pool_buildable(struct op *op, virStoragePoolPtr pool)
{
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_resource r = { .kind = VF_KIND_STORAGE };
	char *xml, *xml_error = NULL;
	int buildable;

	xml = vf_libvirt_pool_xml(pool);
	if (!xml)
		return vf_op_fail(op, "read the storage pool's XML");
	buildable = vf_xml_pool_parse(xml, &arena, &r, &xml_error) == 0 &&
		    (r.u.pool.type == VF_STORAGE_DIR || r.u.pool.type == VF_STORAGE_NFS);
	free(xml_error);
	free(xml);
	vf_arena_release(&arena);
	return buildable;
}

static int pool_start(struct op *op, virStoragePoolPtr pool)
{
	int active = pool_active(pool), buildable;

	if (active < 0)
		return vf_op_fail(op, "start");
	if (active)
		return 0;
	buildable = pool_buildable(op, pool);
	if (buildable < 0)
		return -1;
	/* Build with no flags never overwrites: an existing directory is kept. */
	if (buildable && virStoragePoolBuild(pool, 0) < 0)
		return vf_op_fail(op, "build");
	if (virStoragePoolCreate(pool, 0) == 0)
		return 0;
	vf_op_fail(op, "start");
	return pool_active(pool) == 1 ? vf_op_recovered(op) : -1;
}

static int pool_stop(struct op *op, virStoragePoolPtr pool)
{
	int active = pool_active(pool);

	if (active < 0)
		return vf_op_fail(op, "stop");
	if (!active || virStoragePoolDestroy(pool) == 0)
		return 0;
	vf_op_fail(op, "stop");
	return pool_active(pool) == 0 ? vf_op_recovered(op) : -1;
}

static int pool_set_autostart(struct op *op, virStoragePoolPtr pool, bool on)
{
	return virStoragePoolSetAutostart(pool, on) < 0 ? vf_op_fail(op, "set autostart") : 0;
}

static int pool_create(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virStoragePoolPtr pool;
	char *xml, *xml_error = NULL;
	int rc = -1, found;

	found = vf_libvirt_pool_find(op, object_name(op, d), &pool);
	if (found < 0)
		return -1;
	/* the secret first: the pool names it, and starting it logs in */
	if (d->u.pool.chap_usage && vf_libvirt_chap_set(op, &d->u.pool) < 0)
		goto out_pool;
	if (!found) {
		xml = vf_xml_pool_format(d, &xml_error);
		if (!xml) {
			vf_op_failf(op, "cannot define: %s", xml_error);
			free(xml_error);
			return -1;
		}
		pool = virStoragePoolDefineXML(op->conn, xml, 0);
		free(xml);
		if (!pool)
			return vf_op_fail(op, "define");
	}
	if (d->u.pool.active && pool_start(op, pool) < 0)
		goto out;
	rc = pool_set_autostart(op, pool, d->u.pool.autostart);
out:
	virStoragePoolFree(pool);
	return rc;
out_pool:
	if (found)
		virStoragePoolFree(pool);
	return -1;
}

/*
 * A new <auth> (CHAP added, removed, another username) is a new
 * persistent definition, the same pool (its uuid kept); an active pool
 * logs in with it at its next start.  A new CHAP secret only needs the
 * libvirt secret's value.
 */
static int pool_update_chap(struct op *op, virStoragePoolPtr pool)
{
	const struct vf_resource *d = op->a->desired, *o = op->a->observed;
	const char *old_usage = o ? o->u.pool.chap_usage : NULL;
	char uuid[VIR_UUID_STRING_BUFLEN], *xml, *xml_error = NULL;
	struct vf_resource r = *d;
	virStoragePoolPtr again;

	if (d->u.pool.chap_usage && vf_libvirt_chap_set(op, &d->u.pool) < 0)
		return -1;
	if (!vf_op_changes(op->a, "chap.username") &&
	    (old_usage && d->u.pool.chap_usage ? !strcmp(old_usage, d->u.pool.chap_usage)
					       : old_usage == d->u.pool.chap_usage))
		return 0;
	if (virStoragePoolGetUUIDString(pool, uuid) < 0)
		return vf_op_fail(op, "read the storage pool's uuid");
	r.uuid = uuid;
	xml = vf_xml_pool_format(&r, &xml_error);
	if (!xml) {
		vf_op_failf(op, "cannot define: %s", xml_error);
		free(xml_error);
		return -1;
	}
	again = virStoragePoolDefineXML(op->conn, xml, 0);
	free(xml);
	if (!again)
		return vf_op_fail(op, "define");
	virStoragePoolFree(again);
	if (old_usage && (!d->u.pool.chap_usage || strcmp(old_usage, d->u.pool.chap_usage)))
		return vf_libvirt_chap_delete(op, old_usage);
	return 0;
}

/* Autostart and CHAP change in place (field_class: the rest is replace). */
static int pool_update(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virStoragePoolPtr pool;
	int rc, found;

	found = vf_libvirt_pool_find(op, object_name(op, d), &pool);
	if (found <= 0)
		return found < 0 ? -1 : vf_op_failf(op,
						    "cannot update: the storage pool no longer exists");
	rc = 0;
	if (vf_op_changes(op->a, "chap.username") || vf_op_changes(op->a, "chap.secret"))
		rc = pool_update_chap(op, pool);
	if (rc == 0)
		rc = pool_set_autostart(op, pool, d->u.pool.autostart);
	virStoragePoolFree(pool);
	return rc;
}

/* Stop and forget the pool; its directory, volume group or LUNs stay. */
static int pool_delete(struct op *op, const struct vf_resource *observed)
{
	virStoragePoolPtr pool;
	int rc = -1, found;

	found = vf_libvirt_pool_find(op, object_name(op, observed), &pool);
	if (found < 0)
		return -1;
	if (!found) {
		rc = 0;
		goto secret;
	}
	if (pool_stop(op, pool) < 0)
		goto out;
	if (virStoragePoolUndefine(pool) == 0 || last_error_was(VIR_ERR_NO_STORAGE_POOL))
		rc = 0;
	else
		vf_op_fail(op, "undefine");
out:
	virStoragePoolFree(pool);
secret:
	/* the CHAP secret it named goes with it (also on a retry that finds
	 * the pool gone already) */
	if (rc == 0 && observed && observed->u.pool.chap_usage)
		rc = vf_libvirt_chap_delete(op, observed->u.pool.chap_usage);
	return rc;
}

static int pool_start_or_stop(struct op *op, bool start)
{
	virStoragePoolPtr pool;
	int rc, found;

	found = vf_libvirt_pool_find(op, op->a->name, &pool);
	if (found <= 0) {
		if (found < 0 || !start)
			return found;
		return vf_op_failf(op, "cannot start: the storage pool does not exist");
	}
	rc = start ? pool_start(op, pool) : pool_stop(op, pool);
	virStoragePoolFree(pool);
	return rc;
}

const struct vf_kind_ops vf_libvirt_pool_ops = {
	.create = pool_create,
	.update = pool_update,
	.remove = pool_delete,
	.start_or_stop = pool_start_or_stop,
};
