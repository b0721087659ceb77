/*
 * pool.c — apply for storage &pool_class: create (its CHAP secret first), the
 * build before a start, CHAP credentials changed in place, delete (with
 * its secret), and libvirt's calls for the steps &pool_class share with
 * networks and domains (object.c: define, start, stop, autostart).
 *
 * Deliberate limits, on the side of keeping data: a pool is destroyed
 * and undefined, never deleted (virStoragePoolDelete would remove its
 * directory or volume group); it is built only when it is a dir or netfs
 * pool by its own XML (building a logical or iSCSI pool formats devices).
 */
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/internal.h"

/* libvirt's calls on &pool_class, for the steps object.c takes: at the end. */
static const struct vf_object_class pool_class;

int vf_libvirt_pool_find(struct op *op, const char *name, virStoragePoolPtr *pool)
{
	void *obj;
	int found = vf_libvirt_object_lookup(op, &pool_class, name, &obj);

	*pool = obj;
	return found;
}

/*
 * Whether building pool is harmless: only for dir (makes the directory)
 * and netfs (makes the mount point) &pool_class, judged by the pool's own XML,
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

/* Before a start: build the pool when that is harmless (pool_buildable). */
static int pool_build(struct op *op, void *pool)
{
	int buildable = pool_buildable(op, pool);

	if (buildable < 0)
		return -1;
	/* Build with no flags never overwrites: an existing directory is kept. */
	if (buildable && virStoragePoolBuild(pool, 0) < 0)
		return vf_op_fail(op, "build");
	return 0;
}

/* libvirt's calls that take flags, with none. */
static int pool_start_call(void *pool)
{
	return virStoragePoolCreate(pool, 0);
}

static void *pool_define_call(virConnectPtr conn, const char *xml)
{
	return virStoragePoolDefineXML(conn, xml, 0);
}

static int pool_create(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	void *pool;
	int rc = -1, found;

	found = vf_libvirt_object_find(op, &pool_class, d, &pool);
	if (found < 0)
		return -1;
	/* the secret first: the pool names it, and starting it logs in */
	if ((!d->u.pool.chap_usage || vf_libvirt_chap_set(op, &d->u.pool) == 0) &&
	    (found || vf_libvirt_object_define(op, &pool_class, d, NULL, &pool) == 0))
		rc = vf_libvirt_object_after_define(op, &pool_class, pool, d->u.pool.active,
						    d->u.pool.autostart);
	if (pool)
		virStoragePoolFree(pool);
	return rc;
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
	void *again;

	if (d->u.pool.chap_usage && vf_libvirt_chap_set(op, &d->u.pool) < 0)
		return -1;
	if (!vf_op_changes(op->a, "chap.username") &&
	    (old_usage && d->u.pool.chap_usage ? !strcmp(old_usage, d->u.pool.chap_usage)
					       : old_usage == d->u.pool.chap_usage))
		return 0;
	if (vf_libvirt_object_define(op, &pool_class, d, pool, &again) < 0)
		return -1;
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
		rc = vf_libvirt_object_set_autostart(op, &pool_class, pool, d->u.pool.autostart);
	virStoragePoolFree(pool);
	return rc;
}

/* Stop and forget the pool; its directory, volume group or LUNs stay. */
static int pool_delete(struct op *op, const struct vf_resource *observed)
{
	int rc = vf_libvirt_object_delete(op, &pool_class, observed);

	/* the CHAP secret it named goes with it (also on a retry that finds
	 * the pool gone already) */
	if (rc == 0 && observed && observed->u.pool.chap_usage)
		rc = vf_libvirt_chap_delete(op, observed->u.pool.chap_usage);
	return rc;
}

static const struct vf_object_class pool_class = {
	VF_OBJECT_CALLS(StoragePool, STORAGE_POOL, "storage pool"),
	.start = pool_start_call,
	.prepare_start = pool_build,
	.undefine = (vf_handle_fn)virStoragePoolUndefine,
	.format = vf_xml_pool_format,
	.define_xml = pool_define_call,
};

const struct vf_kind_ops vf_libvirt_pool_ops = {
	.create = pool_create,
	.update = pool_update,
	.remove = pool_delete,
	.object = &pool_class,
};
