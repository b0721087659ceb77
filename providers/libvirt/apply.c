/*
 * apply.c — carry out one plan action on its host (provider.h: apply):
 * the dispatch to each kind's file (network.c, pool.c, volume.c,
 * domain.c; object.c holds what networks, pools and domains share), the
 * read-write sessions apply runs on, and the error helpers every kind
 * reports through.
 *
 * Every action is idempotent: it looks at what is there before acting and
 * completes a half-done job instead of failing on it (a crash between
 * define and start, a retry, another thread that got there first).  When a
 * libvirt call fails, the state it was meant to reach is checked once more
 * before the failure is reported, so a lost race is not an error.
 *
 * Errors read "ADDRESS: cannot VERB: LIBVIRT MESSAGE" (vf_libvirt_error).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/internal.h"

/* "ADDRESS: cannot VERB: LIBVIRT MESSAGE" for the thread's last libvirt error. */
int vf_op_fail(struct op *op, const char *verb)
{
	char *what = xasprintf("%s: cannot %s", op_address(op), verb);

	free(*op->error);
	*op->error = vf_libvirt_error(what);
	free(what);
	return -1;
}

/* "ADDRESS: TEXT" for a failure that is not libvirt's. */
__attribute__((format(printf, 2, 3)))
int vf_op_failf(struct op *op, const char *fmt, ...)
{
	struct vf_buf text = VF_BUF_INIT;
	va_list ap;

	vf_buf_addf(&text, "%s: ", op_address(op));
	va_start(ap, fmt);
	vf_buf_vaddf(&text, fmt, ap);
	va_end(ap);
	free(*op->error);
	*op->error = vf_buf_detach(&text);
	return -1;
}

/* The failure just reported turned out to be a race already won: forget it. */
int vf_op_recovered(struct op *op)
{
	free(*op->error);
	*op->error = NULL;
	virResetLastError();
	return 0;
}

/* Does the action change the field at path (either side)? */
bool vf_op_changes(const struct vf_action *a, const char *path)
{
	size_t i;

	for (i = 0; i < a->n_fields; i++)
		if (a->fields[i].after.path && !strcmp(a->fields[i].after.path, path))
			return true;
		else if (a->fields[i].before.path && !strcmp(a->fields[i].before.path, path))
			return true;
	return false;
}

static int kind_remove(struct op *op, const struct vf_kind_ops *k)
{
	if (k->remove)
		return k->remove(op, op->a->observed);
	return vf_libvirt_object_delete(op, k->object, op->a->observed);
}

static int kind_apply(struct op *op, const struct vf_kind_ops *k)
{
	const struct vf_action *a = op->a;

	switch (a->type) {
	case VF_ACTION_CREATE:
		return k->create(op);
	case VF_ACTION_UPDATE:
		return k->update(op);
	case VF_ACTION_REPLACE:
		return kind_remove(op, k) < 0 ? -1 : k->create(op);
	case VF_ACTION_DELETE:
		return kind_remove(op, k);
	case VF_ACTION_START:
	case VF_ACTION_STOP:
		/* a kind without a run state (a volume) has nothing to do */
		return k->object ? vf_libvirt_object_start_or_stop(op, k->object,
								   a->type == VF_ACTION_START)
				 : 0;
	default:
		return vf_op_failf(op, "unknown action");
	}
}

int vf_op_found(struct op *op, const void *obj, int absent_code, const char *verb)
{
	if (obj)
		return 1;
	if (last_error_was(absent_code))
		return 0;
	return vf_op_fail(op, verb);
}

int vf_libvirt_apply(struct vf_session *s, const struct vf_action *a, char **error)
{
	struct op op = { s->conn, a, error, s->secrets };

	*error = NULL;
	switch (a->type) {
	case VF_ACTION_CREATE:
	case VF_ACTION_UPDATE:
	case VF_ACTION_REPLACE:
	case VF_ACTION_START:
		if (!a->desired)
			return vf_op_failf(&op, "cannot apply: the action has no desired resource");
		break;
	default:
		break;
	}
	switch (a->kind) {
	case VF_KIND_NETWORK:
		return kind_apply(&op, &vf_libvirt_network_ops);
	case VF_KIND_STORAGE:
		return kind_apply(&op, &vf_libvirt_pool_ops);
	case VF_KIND_VOLUME:
		return kind_apply(&op, &vf_libvirt_volume_ops);
	case VF_KIND_VM:
		return kind_apply(&op, &vf_libvirt_vm_ops);
	default:
		return vf_op_failf(&op, "unknown resource kind");
	}
}

/* Tests only: libvirt's test driver has no secrets. */
static virConnectPtr secret_conn;

void vf_libvirt_set_secret_conn(virConnectPtr conn)
{
	secret_conn = conn;
}

virConnectPtr vf_libvirt_secret_conn(void)
{
	return secret_conn;
}

struct vf_session *vf_libvirt_session_open(const char *uri, char **error)
{
	struct vf_session *s;
	virConnectPtr conn;

	*error = NULL;
	conn = vf_libvirt_open(uri, 0, error);
	if (!conn)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->conn = conn;
	s->secrets = secret_conn ? secret_conn : conn;
	return s;
}

void vf_libvirt_session_close(struct vf_session *s)
{
	if (!s)
		return;
	virConnectClose(s->conn);
	free(s);
}

virConnectPtr vf_libvirt_session_conn(struct vf_session *s)
{
	return s->conn;
}
