/*
 * conn.h — what every part of the libvirt provider shares: one-time library
 * setup, opening a connection, and turning libvirt's errors into virtform's
 * one-line messages.  Private to providers/libvirt/: the engine never sees
 * a libvirt type.
 *
 * Thread safety: everything here may be called from any thread.  libvirt's
 * last error is thread-local, so an error message always describes the
 * failure of the calling thread's last libvirt call.
 */
#ifndef VF_PROVIDER_LIBVIRT_CONN_H
#define VF_PROVIDER_LIBVIRT_CONN_H

#include <stddef.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/*
 * Initialize libvirt and libxml2 once per process (safe to call from many
 * threads at once) and install an error handler that keeps libvirt from
 * printing to stderr: errors are reported through our messages instead.
 * Returns 0, or -1 with *error set (caller frees).
 */
int vf_libvirt_init(char **error);

/*
 * Open uri without ever prompting for credentials (a prompt from a worker
 * thread would hang `virtform hosts`).  readonly: VIR_CONNECT_RO.
 * A uri the transport policy refuses (reconcile/transport.h; plain tcp
 * is the configuration's decision, checked at validate) is never opened.
 * Returns the connection, or NULL with *error set to
 * "cannot connect: LIBVIRT MESSAGE" or "refused: WHY; HINT" (caller frees).
 */
virConnectPtr vf_libvirt_open(const char *uri, int readonly, char **error);

/*
 * "WHAT: LIBVIRT MESSAGE" for the calling thread's last libvirt error, on
 * one line (newlines in libvirt's text become spaces).  Malloc'd.
 */
char *vf_libvirt_error(const char *what);

/*
 * The URI virtform really opens: for the ssh transport ("qemu+ssh://"),
 * no_tty=1 is added unless the URI sets it, so ssh fails instead of asking
 * for a password on the terminal — virtform runs unattended (CI, hooks,
 * parallel probes).  Malloc'd.
 */
char *vf_libvirt_uri_unattended(const char *uri);

/* Copy src (NULL: "") into dst[size], truncating; always terminated. */
void vf_libvirt_copy(char *dst, size_t size, const char *src);

#endif
