/*
 * provider.h — the interface between the engine (reconcile/) and the
 * things that talk to real systems (providers/).  The engine never includes
 * a provider's headers; it calls through struct vf_provider.
 *
 * Thread safety: every operation takes its own connection state, so
 * different hosts may be driven from different threads at once, and one
 * session may be used by several threads at once.  A provider translates
 * library errors into messages that name the virtform object
 * ("vm.web1@lab1: cannot start: ...").
 *
 * Errors: operations return 0 (or a pointer) on success, -1 (NULL) with
 * *error set to a malloc'd one-line message the caller frees.
 */
#ifndef VF_PROVIDER_H
#define VF_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

#include "reconcile/plan.h"
#include "reconcile/spec.h"

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

/* A provider's connection to one host, for apply (opaque to the engine). */
struct vf_session;

struct vf_provider {
	const char *name;
	/*
	 * Connect to uri and fill facts.  May block on the network: callers
	 * bound it with a deadline (reconcile/pool.h).
	 */
	int (*host_facts)(const char *uri, struct vf_host_facts *facts, char **error);

	/*
	 * Read one host (read-only): every object of the four kinds, those of
	 * interest in full (spec.h, struct vf_observed).  Returns a heap
	 * observation the caller frees with vf_observed_free().  May block on
	 * the network: callers bound it with a deadline.
	 */
	struct vf_observed *(*observe)(const struct vf_observe_request *req, char **error);

	/* Open / close a read-write session to a host for apply. */
	struct vf_session *(*session_open)(const char *uri, char **error);
	void (*session_close)(struct vf_session *s);

	/*
	 * Carry out one action on its host.  Idempotent: applying an action
	 * whose effect is already (partly) there completes it instead of
	 * failing (a crash between define and start, a retry).  A VM stop or
	 * delete shuts the guest down gracefully (ACPI) and forces it off
	 * after action->shutdown_timeout seconds.
	 */
	int (*apply)(struct vf_session *s, const struct vf_action *action, char **error);

	/*
	 * Import: mark the existing object r (observed, with r->u.vm.marker
	 * filled in) as managed, changing nothing else.  Only VMs carry a
	 * marker; for other kinds the state record is the mark and this is not
	 * called.  Refuses a domain that carries another project's marker.
	 */
	int (*adopt)(struct vf_session *s, const struct vf_resource *r, char **error);

	/*
	 * Diff hint: how a change of one field is made — the one place that
	 * decides it: the plan shows it, and the provider's apply asks the
	 * same rule and carries out what the plan said.  desired and observed
	 * are the whole resources (either may be NULL), for rules that
	 * depend on other fields (a VM's memory is live only up to the
	 * maximum it booted with).  before and after carry the path
	 * (after->path) and both values; a field only one side has (a NIC
	 * added or removed) has .present false on the other.  Pure: no I/O.
	 */
	enum vf_field_class (*field_class)(const struct vf_resource *desired,
					   const struct vf_resource *observed,
					   const struct vf_field *before,
					   const struct vf_field *after);
};

#endif
