/*
 * provider.h — the interface between the engine (reconcile/) and the
 * things that talk to real systems (providers/).  The engine never includes
 * a provider's headers; it calls through struct vf_provider.
 *
 * Thread safety: every operation takes its own connection state, so
 * different hosts may be driven from different threads at once.  A provider
 * translates library errors into messages that name the virtform object.
 */
#ifndef VF_PROVIDER_H
#define VF_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

/* What `virtform hosts` shows about one hypervisor host. */
struct vf_host_facts {
	char hostname[256];
	char lib_version[32];        /* "9.0.0" */
	char hypervisor[32];         /* "QEMU" */
	char hypervisor_version[32]; /* "7.2.0" */
	char cpu_model[64];          /* host CPU model from capabilities, "" if unknown */
	char arch[32];               /* "x86_64" */
	unsigned cpus;               /* logical CPUs */
	unsigned sockets, cores, threads;
	uint64_t memory_total;       /* bytes */
	uint64_t memory_free;        /* bytes */
	unsigned domains_running;
	unsigned domains_total;
};

struct vf_provider {
	const char *name;
	/*
	 * Connect to uri and fill facts.  Returns 0, or -1 with *error set to
	 * a malloc'd one-line message (caller frees).  May block on the
	 * network: callers bound it with a deadline (reconcile/pool.h).
	 */
	int (*host_facts)(const char *uri, struct vf_host_facts *facts, char **error);
};

extern const struct vf_provider vf_provider_libvirt;

#endif
