/*
 * plan.h — a plan: the ordered graph of actions that turns what the hosts
 * have (observed) into what the config says (desired).
 *
 * Built by vf_plan_build() (plan.c) from the desired resources
 * (desired.c), the hosts' observations and the state; printed by
 * plan-print.c (text, JSON); executed by apply.c.
 *
 * Ownership: a plan owns its actions, their field changes and every string
 * in them (plan->arena).  desired and observed point into the desired
 * state and the observations the plan was built from: those must outlive
 * the plan.
 */
#ifndef VF_PLAN_H
#define VF_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/spec.h"

enum vf_action_type {
	VF_ACTION_CREATE,
	VF_ACTION_UPDATE,
	VF_ACTION_REPLACE,
	VF_ACTION_DELETE,
	VF_ACTION_START,
	VF_ACTION_STOP,
	VF_ACTION_COUNT,
};
/* "create", "update", ... as in JSON plans. */
const char *vf_action_type_name(enum vf_action_type t);
/* The type named name ("create", ...): 0, or -1 for none (name may be NULL). */
int vf_action_type_parse(const char *name, enum vf_action_type *t);

/*
 * How a field's change can be made, from the provider's diff hints.  The
 * engine picks the strongest class among an action's fields.
 */
enum vf_field_class {
	VF_FIELD_LIVE,           /* applied to the running object */
	VF_FIELD_RESTART,        /* written now, takes effect at next restart */
	VF_FIELD_REPLACE,        /* cannot change in place: destroy + create */
};

enum vf_value_type {
	VF_VALUE_STRING,
	VF_VALUE_NUMBER,
	VF_VALUE_BYTES,          /* a number shown as "2 GiB" */
	VF_VALUE_BOOL,
};

/* One field of a resource: its path and value, for diffs. */
struct vf_field {
	const char *path;        /* "memory", "disk[vda].volume", "nic[0].mac" */
	enum vf_value_type type;
	const char *text;        /* VF_VALUE_STRING; NULL = absent */
	uint64_t number;         /* NUMBER, BYTES, BOOL (0/1) */
	bool present;            /* false: the object has no such field */
	bool any;                /* desired: the config leaves it open */
};

struct vf_field_change {
	struct vf_field before;  /* observed; .present false for a create */
	struct vf_field after;   /* desired; .present false for a delete */
	enum vf_field_class class;
};

struct vf_action {
	size_t index;                      /* in plan->actions */
	enum vf_action_type type;
	enum vf_kind kind;
	const char *address;
	const char *name;
	const char *host;
	const struct vf_resource *desired;   /* create, update, replace, start */
	const struct vf_resource *observed;  /* update, replace, delete, stop */
	struct vf_field_change *fields;
	size_t n_fields;
	bool fields_implied;               /* create, delete: fields and n_fields
					    * are empty; every field of the
					    * resource is implied, made on demand
					    * by vf_action_fields() */
	bool live;                         /* no restart of the object needed */
	bool requires_restart;             /* written, effective at next restart */
	bool restart;                      /* apply restarts the VM to make the
					    * change take effect (restart_policy:
					    * allow); requires_restart is then false */
	const char *reason;                /* replace: why; NULL otherwise */
	bool drift;                        /* the object was changed outside
					    * virtform since it last wrote it */
	size_t *deps;                      /* indices of actions to finish first */
	size_t n_deps, alloc_deps;
	unsigned shutdown_timeout;         /* stop/delete/replace of a VM: seconds */
	/* planner-internal: why this action may not run (protect), reported
	 * if it survives --target; NULL otherwise */
	const char *blocked, *blocked_hint;
	struct vf_pos blocked_pos;
};

/*
 * A change of a host's network links (docs/hostnet.md).  The host plans
 * and carries out its own links (`virtform host plan|apply` on it): the
 * controller only shows, counts and saves these, as the host reported
 * them, and runs the host's apply in two phases around the actions
 * (everything but deletes first, deletes after).
 */
struct vf_link_field {
	const char *field;                 /* "mtu", "master", ... */
	const char *before, *after;        /* as shown: "1500", "(none)" */
};
struct vf_link_change {
	enum vf_action_type type;          /* create, update, replace, delete */
	const char *address;               /* "link.br-prod@hyper1" */
	const char *name;
	const char *host;
	const char *link_kind;             /* "bridge", "vlan", "bond", "ethernet", "port" */
	const char *reason;                /* "network prod", "no longer in the configuration" */
	struct vf_link_field *fields;
	size_t n_fields;
};

/*
 * The mass-deletion guard's verdict on a plan (vf_plan_build decides it,
 * docs/plan-apply.md): an empty or truncated configuration must never wipe
 * a fleet.  It counts the objects that hold data the plan destroys: VMs
 * and volumes deleted, and volumes replaced (a replaced volume is deleted
 * and made again, empty).  A replaced VM is not counted: its definition is
 * made again, its disks are volumes of their own and stay.
 */
struct vf_guard {
	bool checked;                      /* false: exempt (destroy) */
	unsigned vms, volumes;             /* destroyed by the plan */
	unsigned managed_vms, managed_volumes;       /* managed now (markers, state) */
	unsigned configured_vms, configured_volumes; /* the configuration defines */
	unsigned limit;                    /* --max-destroy N, else the default */
	bool limit_given;                  /* --max-destroy */
	bool allowed;                      /* over the limit, --allow-mass-destroy */
	bool refused;                      /* over the limit: nothing may run */
	const char *message, *hint;        /* refused or allowed: why (in arena) */
};

struct vf_plan {
	struct vf_arena arena;
	const char *project;
	struct vf_action *actions;         /* in a valid execution order */
	size_t n_actions, alloc_actions;
	unsigned counts[VF_ACTION_COUNT];
	char **warnings;                   /* malloc'd lines, shown before the plan */
	size_t n_warnings, alloc_warnings;
	char **skipped_hosts;              /* --skip-unreachable: "HOST: ERROR" */
	size_t n_skipped, alloc_skipped;
	/* host networking: every host's link changes, hosts in config order;
	 * strings in arena; counted in link_counts, not counts */
	struct vf_link_change *links;
	size_t n_links, alloc_links;
	unsigned link_counts[VF_ACTION_COUNT];
	struct vf_guard guard;
};

void vf_plan_free(struct vf_plan *plan);

/* A warning for the operator, printed with the plan (plan->warnings):
 * the one way the planner, the host links' plan and a saved plan add one. */
void vf_plan_warn(struct vf_plan *plan, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
