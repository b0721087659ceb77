/*
 * ops.h — the libvirt provider's plan/apply operations (reconcile/provider.h):
 * observe (observe.c), sessions and apply (apply.c, which dispatches to
 * each kind's file: internal.h), the diff hints (hints.c).
 * Private to providers/libvirt/: provider.c puts them in the descriptor.
 *
 * Contracts are provider.h's; what is specific to libvirt:
 *
 *   - observe opens its own read-only connection and always closes it.
 *     Its cost on domains is fixed: three list calls and one XML read per
 *     domain, whatever the number of domains (state comes from the bulk
 *     lists, not per-domain calls).
 *   - a session is one read-write connection.  libvirt connections are
 *     thread-safe, so apply may run on one session from several threads at
 *     once; the session itself is never written after session_open.
 *   - apply re-checks at apply time what it must never get wrong: it
 *     refuses to touch a domain that does not carry virtform's marker (or
 *     carries another project's), and never deletes a pool's data
 *     (pools are destroyed and undefined, never virStoragePoolDelete'd).
 */
#ifndef VF_PROVIDER_LIBVIRT_OPS_H
#define VF_PROVIDER_LIBVIRT_OPS_H

#include <libvirt/libvirt.h>

#include "reconcile/provider.h"

struct vf_observed *vf_libvirt_observe(const struct vf_observe_request *req, char **error);

struct vf_session *vf_libvirt_session_open(const char *uri, char **error);
void vf_libvirt_session_close(struct vf_session *s);
int vf_libvirt_apply(struct vf_session *s, const struct vf_action *action, char **error);
int vf_libvirt_adopt(struct vf_session *s, const struct vf_resource *r, char **error);

/*
 * The diff hints (hints.c).  vf_libvirt_field_class is the descriptor's
 * field_class: one field's two sides.  vf_libvirt_change_class is the same
 * rule given the whole desired and observed resources as well (either may
 * be NULL), which a VM's memory and vCPUs need: they change live only up
 * to the maximum the running VM booted with.  The apply asks it for every
 * field it carries out, so it does what the plan says.
 */
enum vf_field_class vf_libvirt_field_class(enum vf_kind kind, const struct vf_field *before,
					    const struct vf_field *after);
enum vf_field_class vf_libvirt_change_class(const struct vf_resource *desired,
					    const struct vf_resource *observed,
					    const struct vf_field *before,
					    const struct vf_field *after);

/* Does the space-separated list of field paths (NULL: empty) hold path?
 * (a marker's pending list: what waits for a restart) */
bool vf_libvirt_path_listed(const char *list, const char *path);

/*
 * The persistent (inactive) XML of a pool, or the live XML when the
 * driver does not take the INACTIVE flag (libvirt's test driver): the two
 * differ only while a changed definition waits for a restart.  Malloc'd;
 * NULL with libvirt's error set.  In observe.c, which reads networks the
 * same way.
 */
char *vf_libvirt_pool_xml(virStoragePoolPtr pool);

/* The session's connection (borrowed), for tests that check what apply did. */
virConnectPtr vf_libvirt_session_conn(struct vf_session *s);

/*
 * Tests only: keep libvirt secrets (iSCSI CHAP) on conn — borrowed,
 * shared by sessions and observe, never closed here — instead of on the
 * host's connection: libvirt's test driver has no secrets, and its
 * embedded secret driver ("secret:///embed?root=DIR", one connection per
 * process) stands in.  NULL (the default): the host's connection.  Set
 * before any session opens or observe runs.  In apply.c.
 */
void vf_libvirt_set_secret_conn(virConnectPtr conn);
virConnectPtr vf_libvirt_secret_conn(void);

#endif
