/*
 * plan-internal.h — what the planner's files share: the planner's state
 * and the steps one file does for another.  Not for use outside
 * reconcile/plan*.c.
 *
 *   plan.c        the differ and planner (which actions), vf_plan_build
 *   plan-order.c  the order of the actions, their dependencies, --target
 *   plan-guard.c  the mass-deletion guard
 */
#ifndef VF_PLAN_INTERNAL_H
#define VF_PLAN_INTERNAL_H

#include "reconcile/engine.h"
#include "reconcile/lines.h"

struct planner {
	const struct vf_config *c;
	const struct vf_views *views;
	const struct vf_state *state;
	const struct vf_provider *provider;
	const struct vf_plan_opts *opts;
	struct vf_plan *plan;
	struct vf_diags *diags;
	struct vf_strmap observed;   /* key(kind, host, pool, name) -> struct vf_observed_item */
	struct vf_strmap owner;      /* key(volume, host, pool, name) -> vm name (markers) */
	struct vf_strmap handled;    /* observed items matched with a desired one */
};

/* plan.c: the object of kind on host (pool, name) as observed, or NULL */
void *vf_planner_key_get(const struct vf_strmap *map, enum vf_kind kind, const char *host,
			 const char *pool, const char *name);
/* plan.c: is it managed (ownership: see plan.c's header)? */
bool vf_planner_managed(struct planner *p, const struct vf_observed_item *it);
/* plan.c: fn for every observed object of every host read */
void vf_planner_observed_each(struct planner *p,
			      void (*fn)(struct planner *p, const char *host,
					 const struct vf_observed_item *it));

/* plan-order.c: the phase order (qsort), each action's dependencies,
 * the --target selection */
int vf_plan_action_cmp(const void *x, const void *y);
void vf_plan_link_deps(struct planner *p);
void vf_plan_apply_targets(struct planner *p);

/* plan-guard.c: mark the plan refused when it destroys too much */
void vf_plan_guard_check(struct planner *p, const struct vf_desired *desired);

#endif
