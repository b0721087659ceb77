/*
 * migrate.h — moving one VM from the host a session is open on to another
 * host (migrate.c): the primitive the engine's future `migrate` action
 * (issue 15, "Migration is a plan action") and HA's restarts call.  Not
 * yet wired into the plan: only tests/lab/vf-migrate drives it.
 *
 * A running VM moves live with libvirt's migration API, peer to peer (the
 * source libvirtd connects to the destination URI itself: that URI must
 * work from the source host, not only from where virtform runs), made
 * persistent on the destination and undefined on the source only once
 * the destination runs it.  A stopped VM moves cold: defined on the
 * destination with its inactive XML (same UUID, marker kept), then
 * undefined on the source; a failure in between leaves the source
 * definition in place and removes the copy.
 *
 * Only a domain that carries virtform's marker (of req->project when
 * given) is moved: the ownership check is domain.c's.
 *
 * Thread safety: one call per domain at a time; several calls on one
 * session from different threads are fine (provider.h).  The progress
 * callback runs on the calling thread.
 */
#ifndef VF_PROVIDER_LIBVIRT_MIGRATE_H
#define VF_PROVIDER_LIBVIRT_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include "reconcile/provider.h"

/* What a running migration has done so far (libvirt's job info). */
struct vf_migrate_progress {
	uint64_t processed;     /* bytes sent */
	uint64_t total;         /* bytes to send as now estimated (grows with dirty memory) */
	uint64_t remaining;
	double elapsed;         /* seconds since the migration started */
};

/*
 * How to migrate (a cluster's migration policy, as oVirt's).  Zero
 * everywhere is libvirt's defaults, no timeout, no progress.
 */
struct vf_migrate_settings {
	unsigned bandwidth;             /* MiB/s; 0: unlimited */
	unsigned max_downtime_ms;       /* the pause allowed at switchover; 0: libvirt's (300 ms) */
	unsigned timeout;               /* seconds, then the job is aborted; 0: none */
	bool auto_converge;             /* throttle the guest's vCPUs when it dirties faster than we send */
	/* allow post-copy, and switch to it at the timeout instead of
	 * aborting: the move then always ends on the destination, but a
	 * failure after the switch loses the running guest (off by default,
	 * as oVirt's) */
	bool post_copy;
	bool copy_storage;              /* copy the disks too (libvirt's non-shared-disk migration) */
	/* where the memory goes: the destination's address on its migration
	 * network; NULL: the destination URI's host */
	const char *address;
	unsigned progress_interval_ms;  /* between progress calls and timeout checks; 0: 500 */
	void (*progress)(const struct vf_migrate_progress *p, void *data);
	void *progress_data;
};

/* Which VM goes where; from and to are host names, for messages. */
struct vf_migrate_request {
	const char *address;            /* "vm.web1" */
	const char *name;               /* the domain's name */
	const char *project;            /* the marker's project; NULL: any virtform marker */
	const char *from, *to;
	const char *to_uri;             /* the destination's libvirt URI */
};

/* What happened, filled on success and on failure. */
struct vf_migrate_result {
	bool live;                      /* it was running: a live migration */
	bool timed_out;                 /* the timeout aborted it (or switched to post-copy) */
	double seconds;                 /* wall clock of the move itself */
	uint64_t processed;             /* bytes sent (live), as libvirt counted them */
	uint64_t downtime_ms;           /* how long the guest was paused (live, when known) */
	/* a failure left the VM on the source (running if it ran): the
	 * engine may retry or keep it there */
	bool on_source;
};

/*
 * Move req's domain from the session's host to req->to_uri.  0 done; -1
 * with *error (malloc'd) "migrating vm.web1 from lab1 to lab2 failed:
 * WHY; it still runs on lab1" (or where it is now, when a post-copy
 * failure left it elsewhere).  res may be NULL.
 */
int vf_libvirt_migrate(struct vf_session *s, const struct vf_migrate_request *req,
		       const struct vf_migrate_settings *set, struct vf_migrate_result *res,
		       char **error);

#endif
