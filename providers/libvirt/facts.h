/*
 * facts.h — host facts for `virtform hosts` (facts.c).  Private to the
 * libvirt provider.
 */
#ifndef VF_PROVIDER_LIBVIRT_FACTS_H
#define VF_PROVIDER_LIBVIRT_FACTS_H

#include "reconcile/provider.h"

/* The provider's host_facts operation (see reconcile/provider.h). */
int vf_libvirt_host_facts(const char *uri, struct vf_host_facts *facts, char **error);

/*
 * Fill facts->cpu_model and facts->arch from a capabilities document
 * (/capabilities/host/cpu/{model,arch}; "" when absent).  Returns 0, or -1
 * with *error set when xml is not well-formed.  Separate so that it can be
 * tested without a hypervisor.
 */
int vf_libvirt_parse_capabilities(const char *xml, struct vf_host_facts *facts, char **error);

#endif
