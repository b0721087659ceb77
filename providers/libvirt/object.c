/*
 * object.c — what networks, storage pools and domains share in apply:
 * they are defined, then started and stopped, and every step on them
 * (look up, define, start, stop, autostart, delete, the start and stop
 * actions) is the same but for libvirt's calls and a few hooks, which
 * each kind's struct vf_object_class names (internal.h).  What differs
 * stays in the kind's file: a pool's build, a VM's ownership check,
 * define and graceful shutdown.
 *
 * Like every step of apply, each one here checks before it acts and, when
 * a libvirt call fails, checks once more whether the state it was meant to
 * reach is there after all (a lost race is not an error).
 */
#include <stdlib.h>

#include "providers/libvirt/internal.h"

int vf_libvirt_object_lookup(struct op *op, const struct vf_object_class *kind, const char *name,
			     void **obj)
{
	char *verb = xasprintf("look up the %s", kind->noun);
	int found;

	*obj = kind->lookup(op->conn, name);
	found = vf_op_found(op, *obj, kind->absent_code, verb);
	free(verb);
	return found;
}

int vf_libvirt_object_find(struct op *op, const struct vf_object_class *kind,
			   const struct vf_resource *r, void **obj)
{
	int found = vf_libvirt_object_lookup(op, kind, object_name(op, r), obj);

	if (found <= 0 || !kind->owned)
		return found;
	found = kind->owned(op, *obj, r);
	if (found <= 0) {
		kind->free(*obj);
		*obj = NULL;
	}
	return found;
}

int vf_libvirt_object_define(struct op *op, const struct vf_object_class *kind,
			     const struct vf_resource *desired, void *old, void **obj)
{
	char uuid[VIR_UUID_STRING_BUFLEN], *xml, *xml_error = NULL, *verb;
	struct vf_resource r = *desired;

	if (old) {
		if (kind->get_uuid(old, uuid) < 0) {
			verb = xasprintf("read the %s's uuid", kind->noun);
			vf_op_fail(op, verb);
			free(verb);
			return -1;
		}
		r.uuid = uuid;
	}
	xml = kind->format(&r, &xml_error);
	if (!xml) {
		vf_op_failf(op, "cannot define: %s", xml_error);
		free(xml_error);
		return -1;
	}
	*obj = kind->define_xml(op->conn, xml);
	free(xml);
	return *obj ? 0 : vf_op_fail(op, "define");
}

int vf_libvirt_object_active(const struct vf_object_class *kind, void *obj)
{
	int active = kind->is_active(obj);

	if (active < 0 && last_error_was(kind->absent_code))
		return 0;
	return active;
}

int vf_libvirt_object_start(struct op *op, const struct vf_object_class *kind, void *obj)
{
	int active = vf_libvirt_object_active(kind, obj);

	if (active < 0)
		return vf_op_fail(op, "start");
	if (active)
		return 0;
	if (kind->prepare_start && kind->prepare_start(op, obj) < 0)
		return -1;
	if (kind->start(obj) == 0) {
		if (kind->started)
			kind->started(op);
		return 0;
	}
	vf_op_fail(op, "start");
	return vf_libvirt_object_active(kind, obj) == 1 ? vf_op_recovered(op) : -1;
}

int vf_libvirt_object_stop(struct op *op, const struct vf_object_class *kind, void *obj)
{
	int active;

	if (kind->stop)
		return kind->stop(op, obj);
	active = vf_libvirt_object_active(kind, obj);
	if (active < 0)
		return vf_op_fail(op, "stop");
	if (!active || kind->destroy(obj) == 0)
		return 0;
	vf_op_fail(op, "stop");
	return vf_libvirt_object_active(kind, obj) == 0 ? vf_op_recovered(op) : -1;
}

int vf_libvirt_object_set_autostart(struct op *op, const struct vf_object_class *kind, void *obj,
				    bool on)
{
	return kind->set_autostart(obj, on) < 0 ? vf_op_fail(op, "set autostart") : 0;
}

int vf_libvirt_object_after_define(struct op *op, const struct vf_object_class *kind, void *obj,
				   bool active, bool autostart)
{
	if (active && vf_libvirt_object_start(op, kind, obj) < 0)
		return -1;
	return vf_libvirt_object_set_autostart(op, kind, obj, autostart);
}

int vf_libvirt_object_delete(struct op *op, const struct vf_object_class *kind,
			     const struct vf_resource *observed)
{
	void *obj;
	int rc = -1, found;

	found = vf_libvirt_object_find(op, kind, observed, &obj);
	if (found <= 0)
		return found;                   /* absent: done already */
	if (vf_libvirt_object_stop(op, kind, obj) == 0) {
		if (kind->undefine(obj) == 0 || last_error_was(kind->absent_code))
			rc = 0;
		else
			vf_op_fail(op, "undefine");
	}
	kind->free(obj);
	return rc;
}

int vf_libvirt_object_start_or_stop(struct op *op, const struct vf_object_class *kind, bool start)
{
	void *obj;
	int rc, found;

	found = vf_libvirt_object_find(op, kind, start ? op->a->desired : op->a->observed, &obj);
	if (found <= 0) {
		if (found < 0 || !start)
			return found;           /* stopping what is gone: done */
		return vf_op_failf(op, "cannot start: the %s does not exist", kind->noun);
	}
	rc = start ? vf_libvirt_object_start(op, kind, obj) : vf_libvirt_object_stop(op, kind, obj);
	kind->free(obj);
	return rc;
}
