/*
 * internal.h — what the libvirt provider's apply files share, private to
 * providers/libvirt/: the session and the per-call context (struct op),
 * the error helpers (apply.c), each kind's actions and, for networks,
 * pools and domains, the object class whose steps object.c writes once,
 * and each kind's entry points that another kind calls (a pool's CHAP
 * secret, a VM's seed volume).
 *
 * Errors: every function taking a struct op reports through it
 * (vf_op_fail: "ADDRESS: cannot VERB: LIBVIRT MESSAGE") and returns -1;
 * *op->error then holds the message.  Lookups return 1 found, 0 absent,
 * -1 error.
 */
#ifndef VF_PROVIDER_LIBVIRT_INTERNAL_H
#define VF_PROVIDER_LIBVIRT_INTERNAL_H

#include <errno.h>
#include <time.h>

#include "providers/libvirt/conn.h"
#include "providers/libvirt/ops.h"
#include "providers/libvirt/xml.h"
#include "reconcile/secret.h"
#include "reconcile/util.h"

/* Written only by session_open: threads share it read-only. */
struct vf_session {
	virConnectPtr conn;
	virConnectPtr secrets;          /* conn, or the test's (vf_libvirt_set_secret_conn) */
};

/* One apply call: what every helper needs to act and to report. */
struct op {
	virConnectPtr conn;
	const struct vf_action *a;
	char **error;
	virConnectPtr secrets;          /* where libvirt secrets live: conn */
};

#define POLL_INTERVAL_MS 100
#define UPLOAD_CHUNK (256u * 1024)
/* How long a pool refresh waits out "asynchronous jobs running". */
#define REFRESH_WAIT_SECONDS 30

static inline const char *op_address(const struct op *op)
{
	return op->a->address ? op->a->address : op->a->name;
}

/* Was the thread's last libvirt error code?  If so it is consumed. */
static inline int last_error_was(int code)
{
	if (virGetLastErrorCode() != code)
		return 0;
	virResetLastError();
	return 1;
}

/* The name of the object an action works on, from the given side. */
static inline const char *object_name(const struct op *op, const struct vf_resource *r)
{
	return r && r->name ? r->name : op->a->name;
}

static inline void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- apply.c: errors ---- */

/* "ADDRESS: cannot VERB: LIBVIRT MESSAGE" for the thread's last libvirt error. */
int vf_op_fail(struct op *op, const char *verb);
/* After a lookup that returned obj: 1 found, 0 absent (libvirt's error
 * was absent_code), -1 reported as "cannot VERB". */
int vf_op_found(struct op *op, const void *obj, int absent_code, const char *verb);
/* "ADDRESS: TEXT" for a failure that is not libvirt's. */
__attribute__((format(printf, 2, 3)))
int vf_op_failf(struct op *op, const char *fmt, ...);
/* The failure just reported turned out to be a race already won: forget it. */
int vf_op_recovered(struct op *op);
/* Does the action change the field at path (either side)? */
bool vf_op_changes(const struct vf_action *a, const char *path);

/* ---- each kind's apply ---- */

/*
 * What a kind does for each action; vf_libvirt_apply (apply.c) is the one
 * place that maps an action to them (a replace is remove, then create).
 * remove gets the observed object.  A kind whose objects are defined, then
 * started and stopped (networks, storage pools, domains) names its object
 * class, and then remove may be NULL (vf_libvirt_object_delete); a volume
 * has no run state (object NULL): start and stop do nothing.
 */
struct vf_kind_ops {
	int (*create)(struct op *op);
	int (*update)(struct op *op);
	int (*remove)(struct op *op, const struct vf_resource *observed);
	const struct vf_object_class *object;
};

/* A libvirt call on one handle (virNetworkIsActive, ...): see below. */
typedef int (*vf_handle_fn)(void *obj);

/*
 * A kind of libvirt object that is defined, then started and stopped:
 * libvirt's calls on it (VF_OBJECT_CALLS) and the steps where it differs
 * from the others, so that object.c writes once what networks, pools and
 * domains share: look up, define, start, stop, autostart, delete, the
 * start and stop actions.
 *
 * Handles travel as void *, libvirt's calls cast to take one: every ABI
 * virtform runs on passes a pointer alike whatever it points to (GLib's
 * GDestroyNotify casts rely on the same).
 */
struct vf_object_class {
	const char *noun;                       /* "storage pool": in messages */
	int absent_code;                        /* libvirt's "no such object" */
	void *(*lookup)(virConnectPtr conn, const char *name);
	vf_handle_fn is_active, destroy, free;
	int (*set_autostart)(void *obj, int on);
	int (*get_uuid)(void *obj, char *uuid);
	vf_handle_fn start;                     /* an inactive object: 0 or -1 */
	vf_handle_fn undefine;                  /* 0, or -1 with libvirt's error */
	/* vf_libvirt_object_define's (NULL for a VM: its define is its own) */
	char *(*format)(const struct vf_resource *r, char **error);
	void *(*define_xml)(virConnectPtr conn, const char *xml);
	/* where a kind differs; NULL: nothing, or the shared step */
	int (*prepare_start)(struct op *op, void *obj); /* before start (a pool's build) */
	void (*started)(struct op *op);                 /* after start (a fault point) */
	int (*stop)(struct op *op, void *obj);          /* instead of destroy (a VM's shutdown) */
	/* After a lookup of r's object: ours to touch?  1, 0 gone, -1 refused. */
	int (*owned)(struct op *op, void *obj, const struct vf_resource *r);
};

/* The calls every such kind has, by libvirt's names: (Network, NETWORK, "network"). */
#define VF_OBJECT_CALLS(type, code, noun_)                                          \
	.noun = (noun_), .absent_code = VIR_ERR_NO_##code,                          \
	.lookup = (void *(*)(virConnectPtr, const char *))vir##type##LookupByName,  \
	.is_active = (vf_handle_fn)vir##type##IsActive,                             \
	.destroy = (vf_handle_fn)vir##type##Destroy,                                \
	.free = (vf_handle_fn)vir##type##Free,                                      \
	.set_autostart = (int (*)(void *, int))vir##type##SetAutostart,            \
	.get_uuid = (int (*)(void *, char *))vir##type##GetUUIDString

extern const struct vf_kind_ops vf_libvirt_network_ops;  /* network.c */
extern const struct vf_kind_ops vf_libvirt_pool_ops;     /* pool.c */
extern const struct vf_kind_ops vf_libvirt_volume_ops;   /* volume.c */
extern const struct vf_kind_ops vf_libvirt_vm_ops;       /* domain.c */

/* ---- object.c: the steps networks, pools and domains share ---- */

/* Look up name: 1 found, 0 absent, -1 ("cannot look up the NOUN"). */
int vf_libvirt_object_lookup(struct op *op, const struct vf_object_class *kind, const char *name,
			     void **obj);
/* Look up r's object (object_name) and check it is ours (kind->owned): 1, 0 absent, -1. */
int vf_libvirt_object_find(struct op *op, const struct vf_object_class *kind,
			   const struct vf_resource *r, void **obj);
/* Define desired, keeping old's uuid when there is one: defining an
 * object of the same name again replaces it only when the uuids agree. */
int vf_libvirt_object_define(struct op *op, const struct vf_object_class *kind,
			     const struct vf_resource *desired, void *old, void **obj);
/* 1 active, 0 inactive or gone (a transient object goes when stopped), -1. */
int vf_libvirt_object_active(const struct vf_object_class *kind, void *obj);
/* Start or stop obj; done already is fine, and so is a lost race. */
int vf_libvirt_object_start(struct op *op, const struct vf_object_class *kind, void *obj);
int vf_libvirt_object_stop(struct op *op, const struct vf_object_class *kind, void *obj);
int vf_libvirt_object_set_autostart(struct op *op, const struct vf_object_class *kind, void *obj,
				    bool on);
/* What follows a network's or pool's define: start obj when active, then
 * set its autostart. */
int vf_libvirt_object_after_define(struct op *op, const struct vf_object_class *kind, void *obj,
				   bool active, bool autostart);
/* Stop and undefine observed's object (absent: done). */
int vf_libvirt_object_delete(struct op *op, const struct vf_object_class *kind,
			     const struct vf_resource *observed);
/* The start or stop action (stopping an absent object: done). */
int vf_libvirt_object_start_or_stop(struct op *op, const struct vf_object_class *kind, bool start);

/* ---- secret.c: CHAP secrets and sealed values ---- */

/* Set the CHAP secret of pool p (its sealed value, opened here). */
int vf_libvirt_chap_set(struct op *op, const struct vf_pool_spec *p);
/* Undefine the CHAP secret whose usage target is usage (absent: done). */
int vf_libvirt_chap_delete(struct op *op, const char *usage);
/* The failure for a sealed value (what) without a key to open it. */
int vf_libvirt_sealed_no_key(struct op *op, const char *what);
/* Open ref with key into clear (the caller wipes it). */
int vf_libvirt_sealed_open(struct op *op, const struct vf_secret_key *key,
			   const struct vf_secret_ref *ref, const char *what,
			   struct vf_secret *clear);

/* ---- pool.c, volume.c, upload.c: what other kinds use ---- */

int vf_libvirt_pool_find(struct op *op, const char *name, virStoragePoolPtr *pool);
/* Refresh, waiting out "asynchronous jobs running" (REFRESH_WAIT_SECONDS). */
int vf_libvirt_pool_refresh(virStoragePoolPtr pool);
/* The pool a volume lives in; a missing pool is an error. */
int vf_libvirt_volume_pool(struct op *op, const char *pool_name, virStoragePoolPtr *pool);
int vf_libvirt_volume_find(struct op *op, virStoragePoolPtr pool, const char *name,
			   virStorageVolPtr *vol);
int vf_libvirt_volume_create_xml(struct op *op, virStoragePoolPtr pool,
				 const struct vf_resource *r, uint64_t capacity,
				 const char *backing_path, enum vf_image_format backing_format,
				 virStorageVolPtr *vol);
/* The desired volume, filled from its local image file (upload.c). */
int vf_libvirt_volume_upload(struct op *op, virStoragePoolPtr pool, virStorageVolPtr *vol);
/* A VM's cloud-init seed ISO, built in memory and written (upload.c). */
int vf_libvirt_seed_write(struct op *op, virStoragePoolPtr pool, const struct vf_seed *seed,
			  virStorageVolPtr *vol);

#endif
