/*
 * provider.h — the libvirt provider, as the commands wire it in: its one
 * public symbol, the descriptor of its operations (provider.c).  The
 * engine (reconcile/) names no provider; cmd/ passes this one to it.
 */
#ifndef VF_PROVIDER_LIBVIRT_PROVIDER_H
#define VF_PROVIDER_LIBVIRT_PROVIDER_H

#include "reconcile/provider.h"

extern const struct vf_provider vf_provider_libvirt;

#endif
