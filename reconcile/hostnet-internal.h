/*
 * hostnet-internal.h — what the reconcile/hostnet*.c files share and no
 * one else needs: a few small helpers and the checks more than one of them
 * asks.  The public interface is hostnet.h.
 */
#ifndef VF_HOSTNET_INTERNAL_H
#define VF_HOSTNET_INTERNAL_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/hostnet.h"

/* A formatted string in arena a. */
__attribute__((format(printf, 2, 3)))
static inline const char *afmt(struct vf_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *s, *r;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	r = vf_arena_strdup(a, s);
	free(s);
	return r;
}

/* Equal strings, or both NULL. */
static inline bool streq(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* A copy of w added to l, its name in l's arena (w's other strings are
 * shared, not copied). */
struct vf_host_link *vf_hostnet_links_add_copy(struct vf_host_links *l,
					       const struct vf_host_link *w);

/* A link name as the kernel takes it (the same rule as the provider's). */
bool vf_hostnet_ifname_ok(const char *name);

/* Is mode one of the kernel's bond modes (balance-rr, ...)? */
bool vf_hostnet_bond_mode_known(const char *mode);

/* The value of key in labels l[0..n), or NULL. */
const char *vf_hostnet_label_get(const struct vf_label *l, size_t n, const char *key);

/*
 * What the kernel would refuse, or do otherwise than asked, in the options
 * of bond d in mode (NULL: the kernel's default, balance-rr), reported as
 * errors in diags (host names the host in the messages).
 */
void vf_hostnet_bond_options_check(const struct vf_host_link *d, const char *mode,
				   const char *host, struct vf_diags *diags);

/* Who owns the link called name by the records o (NULL: not recorded). */
const char *vf_hostnet_owned_by(const struct vf_hostnet_owned *o, const char *name);

#endif
