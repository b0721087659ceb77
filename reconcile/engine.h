/*
 * engine.h — the reconcile engine: from a config and the live hosts to a
 * plan, and from a plan to converged hosts.
 *
 *   observe.c   read every host in parallel (bounded, with deadlines)
 *   desired.c   the desired resources: placement, volumes, images, MACs
 *   fields.c    a resource as a list of fields; the spec hash
 *   plan.c      diff desired against observed + state into a plan
 *   plan-print.c the plan as text (for people) and JSON (for machines)
 *   apply.c     execute a plan: dependency order, parallel, per-action
 *               outcome, state kept current
 *   state.c     the state directory: ownership records, flock
 *
 * Nothing here knows libvirt: providers come in through provider.h.
 */
#ifndef VF_ENGINE_H
#define VF_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "reconcile/model.h"
#include "reconcile/plan.h"
#include "reconcile/provider.h"
#include "reconcile/spec.h"
#include "reconcile/state.h"

/* ---- observe ------------------------------------------------------------ */

/* One host's observation, or why there is none. */
struct vf_host_view {
	const struct vf_host *host;      /* in the config */
	struct vf_observed *observed;    /* NULL when unreachable */
	char *error;                     /* malloc'd; set when unreachable */
	bool skipped;                    /* unreachable and --skip-unreachable */
};

struct vf_views {
	struct vf_host_view *hosts;      /* one per config host, config order */
	size_t n;
};

/*
 * Observe every host of config at once (at most max_threads in flight,
 * each bounded by timeout seconds).  Returns the number of unreachable
 * hosts.  Free with vf_views_release().
 */
size_t vf_observe_all(const struct vf_config *config, const struct vf_provider *provider,
		      const struct vf_state *state, double timeout, unsigned max_threads,
		      struct vf_views *views);
void vf_views_release(struct vf_views *views);
struct vf_host_view *vf_views_find(const struct vf_views *v, const char *host);

/* ---- desired ------------------------------------------------------------ */

/* The desired resources, every string in arena.  Order: config order by
 * kind (storage, images and disks, networks, VMs). */
struct vf_desired {
	struct vf_arena arena;
	struct vf_resource *items;
	size_t n, alloc;
};

/*
 * Build the desired resources of config against what was observed: a VM
 * stays on the host it runs on, a new VM goes where its cluster's
 * scheduling policy puts it, a VM that may live on a skipped host is left
 * out.  destroy: nothing is desired (every managed object goes).  Problems
 * (an image in another storage domain than the disk cloning it, no host
 * to place a VM on) go to diags; notes for the operator to warnings.
 * Returns 0, or -1 when diags has errors.
 */
int vf_desired_build(const struct vf_config *config, const struct vf_views *views,
		     const struct vf_state *state, bool destroy, struct vf_desired *out,
		     struct vf_diags *diags, char ***warnings, size_t *n_warnings,
		     size_t *alloc_warnings);
void vf_desired_release(struct vf_desired *d);

/* ---- fields ------------------------------------------------------------- */

/*
 * The fields of r (desired or observed) in display order, allocated in
 * arena.  desired: fields the config leaves open (a clone's capacity) are
 * marked any.
 */
size_t vf_resource_fields(const struct vf_resource *r, bool desired, struct vf_arena *arena,
			  struct vf_field **fields);

/*
 * The field changes of action a, for printing and saving.  A create or a
 * delete keeps none (a->fields_implied: its fields are every field of its
 * resource, from or to nothing — 30,000 creates would hold 30 MiB of
 * them): they are made here, in scratch, which the caller releases after
 * use.  Any other action's are a->fields.  Returns the count; *out is
 * valid while scratch and the plan are.
 */
size_t vf_action_fields(const struct vf_action *a, struct vf_arena *scratch,
			const struct vf_field_change **out);

/* The value of f as shown to people: "2 GiB", "yes", "(none)"; buf[len]. */
const char *vf_field_format(const struct vf_field *f, char *buf, size_t len);

/* 16 hex digits hashing what virtform writes of a desired resource. */
void vf_resource_hash(const struct vf_resource *r, char out[17]);

/* ---- plan --------------------------------------------------------------- */

/* The pool an observed object lives in: a volume's, NULL for other kinds. */
const char *vf_observed_pool(const struct vf_observed_item *it);
/*
 * Is it a domain of project: read in detail and carrying a marker that
 * names project?  The one ownership rule for domains, which the planner,
 * the state's sync and the saved plan's fingerprint all ask.
 */
bool vf_observed_ours(const struct vf_observed_item *it, const char *project);
/*
 * May vm run on host h: its pinned host (host:) if it has one, else any
 * host of its cluster.  The one placement filter, asked when a VM is
 * placed (desired.c) and when import looks for its domain.
 */
bool vf_vm_may_run_on(const struct vf_vm *vm, const struct vf_host *h);

struct vf_plan_opts {
	const char *const *targets;      /* --target ADDR; none: everything */
	size_t n_targets;
	bool destroy;                    /* `virtform destroy` */
	bool allow_replace;              /* --allow-replace: a network that running
					  * VMs use may be replaced (they have no link
					  * on it until they restart) */
	/* the mass-deletion guard (plan->guard; destroy is exempt) */
	bool max_destroy_given;          /* --max-destroy N given */
	unsigned max_destroy;            /* N: VMs and volumes a plan may destroy */
	bool allow_mass_destroy;         /* --allow-mass-destroy */
};

/* The guard's default limit: the larger of VF_GUARD_MIN and
 * VF_GUARD_PERCENT % of the VMs and volumes managed. */
#define VF_GUARD_MIN 3
#define VF_GUARD_PERCENT 10

/*
 * Diff desired against the views and state into plan.  Problems that
 * forbid the plan (a name clash with an unmanaged object, a protected
 * resource to destroy, a disk shrink, an unknown --target) go to diags.
 * Returns 0, or -1 when diags has errors (plan is then incomplete).
 *
 * It also decides the mass-deletion guard (plan->guard, plan.h): a plan
 * that destroys more VMs and volumes than opts allow is built and shown,
 * but marked refused, with the count, the limit and the likely cause in
 * plan->guard.message.  Whoever carries a plan out, or saves one, asks
 * plan->guard.refused first; nothing else decides it.
 */
int vf_plan_build(const struct vf_config *config, const struct vf_desired *desired,
		  const struct vf_views *views, const struct vf_state *state,
		  const struct vf_provider *provider, const struct vf_plan_opts *opts,
		  struct vf_plan *plan, struct vf_diags *diags);

/* Does target name something the config defines (for --target checks)? */
bool vf_target_known(const struct vf_config *c, const char *target);

/* Text for people (colour when color); JSON (schemas/plan.schema.json),
 * written one change at a time (memory stays that of the plan).  0, or
 * -1 when a value could not be encoded or the stream failed. */
void vf_plan_print(const struct vf_plan *plan, FILE *out, bool color);
int vf_plan_print_json(const struct vf_plan *plan, FILE *out);
/* The same document as a member key (or, key NULL, an element or the
 * whole document) of what w writes (reconcile/json-stream.h); one change
 * of it, plan->actions[i], as a new jansson object. */
struct vf_jsonw;
struct json_t;
int vf_plan_write_json(struct vf_jsonw *w, const char *key, const struct vf_plan *plan);
struct json_t *vf_plan_change_json(const struct vf_plan *plan, size_t i);
bool vf_plan_empty(const struct vf_plan *plan);
/* The plan's host network changes as the JSON plan's "host_network"
 * member: {"changes": [{"address", "name", "host", "kind", "action",
 * "reason", "fields": [{"field", "before", "after"}]}], "summary": {...}}. */
struct json_t *vf_plan_links_json(const struct vf_plan *plan);
/* Add the changes of such a document (or of `virtform host plan --json`)
 * to plan; host: the host they are of, or NULL to read each change's
 * "host".  0, or -1 when one is malformed. */
int vf_plan_add_links(struct vf_plan *plan, const char *host, const struct json_t *changes);
/* Does plan->links[i] run after the other changes (a delete, or a port's
 * release from a bridge or bond deleted with it)? */
bool vf_plan_link_late(const struct vf_plan *plan, size_t i);

/* ---- import ------------------------------------------------------------- */

struct vf_import {
	struct vf_observed_item *item;   /* the live object (in the views) */
	const char *host;                /* its host */
	bool already;                    /* managed already: nothing to do */
	struct vf_marker marker;         /* a VM's new marker (spec_hash: the
					  * caller's) */
	struct vf_marker_volume *volumes;
	size_t alloc_volumes;
	size_t n_disks;                  /* disk volumes adopted with a VM */
};

/*
 * `virtform import ADDRESS`, before any change: find the object (a VM on
 * its pinned host or the one host of its cluster that has it; other kinds
 * on the host the address names), check it is described by config and not
 * another project's, and make it managed in memory — the VM's observed
 * marker, a state record (not saved) — so that the desired build and the
 * planner treat it as ours.  Returns 0 (imp->already when it was managed
 * already), or -1 with diags.
 */
int vf_import_prepare(const struct vf_config *config, struct vf_views *views,
		      struct vf_state *state, const char *address, struct vf_import *imp,
		      struct vf_diags *diags);
/* After vf_desired_build: adopt the VM's disk volumes that exist (state
 * records, imp->marker's volume list). */
int vf_import_disks(const struct vf_desired *desired, struct vf_views *views,
		    struct vf_state *state, struct vf_import *imp);
void vf_import_release(struct vf_import *imp);

/* ---- apply -------------------------------------------------------------- */

/*
 * Bring the state up to date with what exists and is managed before
 * anything changes: VMs found by their marker (a lost state heals itself)
 * with their host, and the protect / keep flags of objects the plan does
 * not touch (protect: true added to a VM is a change of the state only).
 * Returns true when the state changed (the caller saves it).
 */
bool vf_state_sync(struct vf_state *state, const struct vf_config *config,
		   const struct vf_desired *desired, const struct vf_views *views);

struct vf_apply_opts {
	unsigned parallelism;            /* actions in flight at once (>= 1) */
	/* hosts whose actions are not attempted (their network links could
	 * not be made), with why */
	const char *const *skip_hosts;
	size_t n_skip_hosts;
	const char *skip_reason;         /* "its network links failed" */
	bool tty;                        /* draw a live progress line */
	bool color;
	FILE *out;
};

struct vf_apply_result {
	unsigned done[VF_ACTION_COUNT];  /* succeeded, per action type */
	size_t n_failed;                 /* failed */
	size_t n_not_attempted;          /* waited on a failed action */
	char *state_error;               /* the state could not be saved at the
					    end (malloc'd; free it): why */
	bool journal_incomplete;         /* and some journal records could not
					    be written either */
};

/*
 * Execute plan: an action starts once every action it depends on has
 * succeeded; one whose dependency failed is not attempted.  Actions run
 * on up to opts->parallelism threads, across hosts at once.  state is
 * saved before every action starts (the intent journal: the action is
 * marked pending) and at the end.  Prints one line per action.
 * Returns 0 when every action succeeded and the state was saved, -1
 * otherwise (result->state_error says when the save failed).
 */
int vf_apply(const struct vf_config *config, const struct vf_plan *plan,
	     const struct vf_provider *provider, struct vf_state *state,
	     const struct vf_apply_opts *opts, struct vf_apply_result *result);

#endif
