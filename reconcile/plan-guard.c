/*
 * plan-guard.c — the mass-deletion guard: a plan that destroys more VMs
 * and volumes (deleted, or a volume replaced) than the limit
 * (--max-destroy, default the larger of 3 and 10% of those managed) is
 * marked refused, with a message saying what it would destroy, unless
 * --allow-mass-destroy.  An empty or truncated configuration must not
 * wipe the fleet.  The one place that decides it: plan, apply, sync,
 * drift --fix and the post-receive hook all ask the plan.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/engine.h"
#include "reconcile/lines.h"
#include "reconcile/plan-internal.h"

static const char *plural(unsigned n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/*
 * The guard's verdict (plan.h, struct vf_guard): count what the plan
 * destroys against what is managed and what the configuration defines,
 * and refuse more than the limit unless --allow-mass-destroy.  destroy is
 * exempt: it is asked for.  Runs after --target, so a targeted plan
 * counts only what it carries out.
 */
/* it, when virtform manages it, in the guard's count of what is managed. */
static void guard_count_managed(struct planner *p, const char *host,
				const struct vf_observed_item *it)
{
	struct vf_guard *g = &p->plan->guard;

	if (it->r.kind == VF_KIND_VM && vf_planner_managed(p, it))
		g->managed_vms++;
	else if (it->r.kind == VF_KIND_VOLUME && vf_planner_managed(p, it))
		g->managed_volumes++;
}

/* The guard's counts: what the plan destroys, what virtform manages
 * (what the hosts read hold for this project, and what the state records
 * on hosts not read), what the configuration defines. */
static void guard_count(struct planner *p, const struct vf_desired *desired, struct vf_guard *g)
{
	size_t i;

	for (i = 0; i < p->plan->n_actions; i++) {
		const struct vf_action *a = &p->plan->actions[i];
		if (a->type == VF_ACTION_DELETE && a->kind == VF_KIND_VM)
			g->vms++;
		else if ((a->type == VF_ACTION_DELETE || a->type == VF_ACTION_REPLACE) &&
			 a->kind == VF_KIND_VOLUME)
			g->volumes++;
	}
	vf_planner_observed_each(p, guard_count_managed);
	for (i = 0; p->state && i < p->state->n; i++) {
		const struct vf_state_entry *e = &p->state->entries[i];
		const struct vf_host_view *v;
		if (e->kind != VF_KIND_VM && e->kind != VF_KIND_VOLUME)
			continue;
		v = e->host ? vf_views_find(p->views, e->host) : NULL;
		if (v && v->observed)
			continue;            /* counted above if it is still there */
		if (e->kind == VF_KIND_VM)
			g->managed_vms++;
		else
			g->managed_volumes++;
	}
	g->configured_vms = (unsigned)p->c->n_vms;
	for (i = 0; i < desired->n; i++)
		if (desired->items[i].kind == VF_KIND_VOLUME)
			g->configured_volumes++;
}

/* Why a plan over the limit is refused: the counts, the limit and the
 * likely cause (malloc'd). */
static char *guard_message(const struct vf_guard *g)
{
	unsigned destroyed = g->vms + g->volumes;
	unsigned n_managed = g->managed_vms + g->managed_volumes;
	const char *cause;
	char *msg, *limit;

	if (g->configured_vms == 0 && g->managed_vms)
		cause = "an empty or missing configuration (a wrong --path, a missing file, a "
			"bad merge)";
	else if (g->configured_vms < g->managed_vms / 2)
		cause = "a truncated configuration (a bad merge, a missing file, a wrong --path)";
	else
		cause = "many objects removed from the configuration, or renamed";
	limit = g->limit_given ? xstrdup("--max-destroy")
			       : xasprintf("the default: the larger of %d and %d%% of the %u VMs "
					   "and volumes managed", VF_GUARD_MIN, VF_GUARD_PERCENT,
					   n_managed);
	msg = xasprintf("the plan destroys %u %s and %u %s (%u objects that hold data), more "
			"than the limit of %u (%s); the configuration defines %u %s and %u %s, "
			"virtform manages %u %s and %u %s; likely cause: %s",
			g->vms, plural(g->vms, "VM", "VMs"), g->volumes,
			plural(g->volumes, "volume", "volumes"), destroyed, g->limit, limit,
			g->configured_vms, plural(g->configured_vms, "VM", "VMs"),
			g->configured_volumes, plural(g->configured_volumes, "volume", "volumes"),
			g->managed_vms, plural(g->managed_vms, "VM", "VMs"), g->managed_volumes,
			plural(g->managed_volumes, "volume", "volumes"), cause);
	free(limit);
	return msg;
}

void vf_plan_guard_check(struct planner *p, const struct vf_desired *desired)
{
	struct vf_guard *g = &p->plan->guard;
	unsigned n_managed;
	char *msg;

	memset(g, 0, sizeof(*g));
	if (p->opts && p->opts->destroy)
		return;
	g->checked = true;
	guard_count(p, desired, g);
	n_managed = g->managed_vms + g->managed_volumes;
	g->limit_given = p->opts && p->opts->max_destroy_given;
	if (g->limit_given)
		g->limit = p->opts->max_destroy;
	else
		g->limit = n_managed * VF_GUARD_PERCENT / 100 > VF_GUARD_MIN
			 ? n_managed * VF_GUARD_PERCENT / 100 : VF_GUARD_MIN;
	if (g->vms + g->volumes <= g->limit)
		return;

	msg = guard_message(g);
	g->message = vf_arena_strdup(&p->plan->arena, msg);
	free(msg);
	if (p->opts && p->opts->allow_mass_destroy) {
		g->allowed = true;
		vf_plan_warn(p->plan, "%s; allowed by --allow-mass-destroy", g->message);
		return;
	}
	g->refused = true;
	g->hint = "check the configuration (and --path); if these deletions are meant, give "
		  "--allow-mass-destroy, or --max-destroy N with N at least the count";
}

