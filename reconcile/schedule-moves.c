/*
 * schedule-moves.c — what the scheduler decides, as ordered moves:
 * placing new VMs, draining a host for maintenance, repairing affinity,
 * rebalancing a cluster, restarting a failed host's VMs.  Each move is
 * committed before the next is chosen, so every step's capacity and
 * rules hold when it is carried out in order.
 */
#include <stdlib.h>
#include <string.h>

#include "reconcile/schedule-internal.h"

/*
 * Move vm (to its best host other than exclude) for cause, as action.
 * False, with nothing changed and no decision, when no host takes it.
 */
static bool try_move(struct vf_sched *s, size_t vm, int exclude, enum vf_sched_action action,
		     const char *cause, struct vf_sched_result *r)
{
	int from = s->v[vm].at, to;

	vf_sched_assign(s, vm, -1);
	to = vf_sched_best(s, vm, exclude, NULL);
	vf_sched_assign(s, vm, to >= 0 ? to : from);
	if (to < 0)
		return false;
	vf_sched_decide(r, action, vm, from, to, cause);
	return true;
}

/* vm stays where it is for cause: BLOCKED, with why no host takes it
 * (why_not: already known, or NULL). */
static void block(struct vf_sched *s, size_t vm, const char *cause, const char *why_not,
		  struct vf_sched_result *r)
{
	int from = s->v[vm].at;

	if (!why_not) {
		vf_sched_assign(s, vm, -1);
		why_not = vf_sched_why_nowhere(s, vm, from);
		vf_sched_assign(s, vm, from);
	}
	vf_sched_decide(r, VF_SCHED_BLOCKED, vm, from, -1,
			vf_sched_keep(s, "%s; %s", cause, why_not));
	r->complete = false;
}

void vf_sched_place_new(struct vf_sched *s, struct vf_sched_result *r)
{
	size_t vm;
	int64_t score;
	int to;

	r->complete = true;
	for (vm = 0; vm < s->in->n_vms; vm++) {
		if (s->v[vm].at >= 0)
			continue;
		to = vf_sched_best(s, vm, -1, &score);
		if (to < 0) {
			vf_sched_decide(r, VF_SCHED_BLOCKED, vm, -1, -1,
					vf_sched_why_nowhere(s, vm, -1));
			r->complete = false;
			continue;
		}
		vf_sched_assign(s, vm, to);
		vf_sched_decide(r, VF_SCHED_PLACE, vm, -1, to,
				vf_sched_keep(s, "new VM: the best host by %s (score %lld)",
					      s->v[vm].cluster >= 0 ?
					      vf_sched_policy_name(s->in->clusters[s->v[vm].cluster].policy) :
					      "(no cluster)", (long long)score));
	}
}

/* The VMs on host (into *out, malloc'd), ordered by cmp (qsort_r's,
 * given the VM records). */
static size_t vms_on(const struct vf_sched *s, int host, size_t **out,
		     int (*cmp)(const void *, const void *, void *))
{
	size_t vm, n = 0;

	*out = xmalloc((s->in->n_vms + 1) * sizeof(**out));
	for (vm = 0; vm < s->in->n_vms; vm++)
		if (s->v[vm].at == host)
			(*out)[n++] = vm;
	qsort_r(*out, n, sizeof(**out), cmp, (void *)s->in->vms);
	return n;
}

/* -1, 0, 1 as a is less, equal or more than b. */
static int order(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int order_signed(int a, int b)
{
	return (a > b) - (a < b);
}

/* Biggest first (memory, then vCPUs), then input order. */
static int bigger_first(const void *a, const void *b, void *vms)
{
	const struct vf_sched_vm *v = vms;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return order(v[y].memory, v[x].memory) ?: order(v[y].vcpus, v[x].vcpus) ?: order(x, y);
}

static int smaller_first(const void *a, const void *b, void *vms)
{
	return -bigger_first(a, b, vms);
}

/* HA VMs first, highest priority first, then input order. */
static int priority_first(const void *a, const void *b, void *vms)
{
	const struct vf_sched_vm *v = vms;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return order(v[y].ha, v[x].ha) ?: order_signed(v[y].ha_priority, v[x].ha_priority) ?:
	       order(x, y);
}

/* May vm leave its host at all: not pinned there, not immovable? */
static bool movable(const struct vf_sched *s, size_t vm)
{
	const struct vf_sched_vm *in = &s->in->vms[vm];

	return !(in->pin && s->v[vm].pin == s->v[vm].at) && !in->immovable;
}

/* Why vm cannot leave its host at all, or NULL when it can. */
static const char *stuck(struct vf_sched *s, size_t vm)
{
	const struct vf_sched_vm *in = &s->in->vms[vm];

	if (movable(s, vm))
		return NULL;
	if (in->pin && s->v[vm].pin == s->v[vm].at)
		return vf_sched_keep(s, "pinned to host '%s' (its host: in the configuration)",
				     in->pin);
	return vf_sched_keep(s, "cannot migrate: %s", in->immovable);
}

/* Does vm (lifted) pass every filter of host h, with w lifted too? */
static bool fits_without(struct vf_sched *s, size_t vm, int from, size_t w, size_t h)
{
	bool fits;

	vf_sched_assign(s, w, -1);
	vf_sched_assign(s, vm, -1);
	fits = vf_sched_filter_host(s, vm, h, NULL) == VF_SCHED_FILTER_NONE;
	vf_sched_assign(s, vm, from);
	vf_sched_assign(s, w, (int)h);
	return fits;
}

/*
 * Make room for vm (on from) on host h by migrating w off h first: both
 * moves decided when w goes elsewhere (vm still on from then) and vm
 * then fits; else nothing changes.
 */
static bool room_by(struct vf_sched *s, size_t vm, int from, size_t w, size_t h,
		    const char *cause, struct vf_sched_result *r)
{
	int to;

	if (!fits_without(s, vm, from, w, h))
		return false;
	vf_sched_assign(s, w, -1);
	to = vf_sched_best(s, w, (int)h, NULL);
	vf_sched_assign(s, w, to >= 0 ? to : (int)h);
	if (to < 0)
		return false;
	vf_sched_assign(s, vm, -1);
	if (vf_sched_filter_host(s, vm, h, NULL) != VF_SCHED_FILTER_NONE) {
		vf_sched_assign(s, vm, from);
		vf_sched_assign(s, w, (int)h);
		return false;
	}
	vf_sched_assign(s, vm, (int)h);
	vf_sched_decide(r, VF_SCHED_MIGRATE, w, (int)h, to,
			vf_sched_keep(s, "makes room on host '%s' for vm.%s (%s)",
				      s->in->hosts[h].name, s->in->vms[vm].name, cause));
	vf_sched_decide(r, VF_SCHED_MIGRATE, vm, from, (int)h, cause);
	return true;
}

/*
 * Room for vm (leaving from) on some host: a smaller VM there migrated
 * elsewhere first, when that is what keeps vm out (memory or vCPUs
 * alone).  Both moves decided, the room-maker's first; false when no
 * single move makes room.
 */
static bool make_room(struct vf_sched *s, size_t vm, int from, const char *cause,
		      struct vf_sched_result *r)
{
	const unsigned capacity = 1u << VF_SCHED_FILTER_MEMORY | 1u << VF_SCHED_FILTER_VCPU;
	size_t h, *on, n, i;
	bool done = false;

	for (h = 0; h < s->in->n_hosts && !done; h++) {
		unsigned rejected;
		if ((int)h == from)
			continue;
		vf_sched_assign(s, vm, -1);
		rejected = vf_sched_filter_all(s, vm, h);
		vf_sched_assign(s, vm, from);
		if (!rejected || rejected & ~capacity)
			continue;
		n = vms_on(s, (int)h, &on, smaller_first);
		for (i = 0; i < n && !done; i++)
			done = movable(s, on[i]) && room_by(s, vm, from, on[i], h, cause, r);
		free(on);
	}
	return done;
}

void vf_sched_drain(struct vf_sched *s, int host, struct vf_sched_result *r)
{
	const char *cause = vf_sched_keep(s, "host '%s' is in maintenance", s->in->hosts[host].name);
	size_t *on, n, i;

	s->h[host].maintenance = true;
	n = vms_on(s, host, &on, bigger_first);
	for (i = 0; i < n; i++) {
		const char *why = stuck(s, on[i]);
		if (why || (!try_move(s, on[i], host, VF_SCHED_MIGRATE, cause, r) &&
			    !make_room(s, on[i], host, cause, r)))
			block(s, on[i], cause, why, r);
	}
	free(on);
	r->complete = s->h[host].n_vms == 0;
}

/*
 * The rule of group g that vm (lifted, its host at) breaks, or NULL:
 * the group's VM-to-VM rule, then its VM-to-host rule.
 */
static const char *broken_rule(struct vf_sched *s, size_t g, size_t vm, int at)
{
	const struct vf_sched_group *grp = &s->in->groups[g];
	const struct vf_sched_grouprec *r = &s->g[g];
	const char *kind = grp->enforcing ? "enforcing" : "soft";
	int anchor;

	if (grp->vm_rule == VF_AFFINITY_NEGATIVE && r->count[at])
		return vf_sched_keep(s, "affinity group '%s' (negative, %s): vm.%s shares host "
				     "'%s' with another of its VMs", grp->name, kind,
				     s->in->vms[vm].name, s->in->hosts[at].name);
	anchor = grp->vm_rule == VF_AFFINITY_POSITIVE ? vf_sched_anchor(s, g) : -1;
	if (anchor >= 0 && anchor != at)
		return vf_sched_keep(s, "affinity group '%s' (positive, %s): vm.%s runs on '%s', "
				     "the group on '%s'", grp->name, kind, s->in->vms[vm].name,
				     s->in->hosts[at].name, s->in->hosts[anchor].name);
	if (grp->host_rule != VF_AFFINITY_NONE &&
	    vf_sched_bit(&r->hosts, (size_t)at) != (grp->host_rule == VF_AFFINITY_POSITIVE))
		return vf_sched_keep(s, "affinity group '%s' (%s): vm.%s runs on '%s', %s its hosts",
				     grp->name, kind, s->in->vms[vm].name, s->in->hosts[at].name,
				     grp->host_rule == VF_AFFINITY_POSITIVE ? "not one of" : "one of");
	return NULL;
}

/* Repair vm's breach of group g, if it still breaks it. */
static void repair(struct vf_sched *s, size_t g, size_t vm, struct vf_sched_result *r)
{
	int at = s->v[vm].at, to;
	const char *why, *cause;

	vf_sched_assign(s, vm, -1);
	cause = broken_rule(s, g, vm, at);
	to = cause ? vf_sched_best(s, vm, -1, NULL) : at;
	vf_sched_assign(s, vm, at);
	if (!cause)
		return;
	why = stuck(s, vm);
	if (!why && to >= 0 && to != at) {
		vf_sched_assign(s, vm, -1);
		if (!broken_rule(s, g, vm, to)) {
			vf_sched_assign(s, vm, to);
			vf_sched_decide(r, VF_SCHED_MIGRATE, vm, at, to, cause);
			return;
		}
		vf_sched_assign(s, vm, at);
		why = "no host keeps the rule";
	}
	block(s, vm, cause, why, r);
}

void vf_sched_fix_affinity(struct vf_sched *s, struct vf_sched_result *r)
{
	size_t g, i;

	r->complete = true;
	for (g = 0; g < s->in->n_groups; g++)
		for (i = 0; i < s->g[g].n_members; i++)
			if (s->v[s->g[g].members[i]].at >= 0)
				repair(s, g, s->g[g].members[i], r);
}

/* The spread of load (per mille) over the hosts of cluster c that take
 * VMs; *busiest and *idlest the first most and least loaded (-1: none). */
static int64_t spread(const struct vf_sched *s, size_t c, int *busiest, int *idlest)
{
	bool vcpus = s->in->clusters[c].cpu_overcommit != 0;
	int64_t max = -1, min = -1, load;
	size_t i;

	*busiest = *idlest = -1;
	for (i = 0; i < s->n_cluster_hosts[c]; i++) {
		size_t h = s->cluster_hosts[c][i];
		if (s->h[h].maintenance || s->h[h].down || s->in->hosts[h].cpu_incompatible)
			continue;
		load = vf_sched_load(s, h, vcpus);
		if (max < 0 || load > max) {
			max = load;
			*busiest = (int)h;
		}
		if (min < 0 || load < min) {
			min = load;
			*idlest = (int)h;
		}
	}
	return max - min;
}

/* The one migration off host from that lowers the spread of cluster c
 * most (its VM in *vm, its target returned), or -1 when none lowers it.
 * A move that would break more soft affinity than it keeps is no
 * candidate: balance is worth less than a rule. */
static int best_rebalance(struct vf_sched *s, size_t c, int from, int64_t now, size_t *vm)
{
	size_t *on, n, i, h;
	int best = -1, b, l;
	int64_t best_spread = now, after, soft;

	n = vms_on(s, from, &on, bigger_first);
	for (i = 0; i < n; i++) {
		if (!movable(s, on[i]))
			continue;
		vf_sched_assign(s, on[i], -1);
		soft = vf_sched_soft_cost(s, on[i], (size_t)from);
		for (h = 0; h < s->in->n_hosts; h++) {
			if ((int)h == from ||
			    vf_sched_filter_host(s, on[i], h, NULL) != VF_SCHED_FILTER_NONE ||
			    vf_sched_soft_cost(s, on[i], h) > soft)
				continue;
			vf_sched_assign(s, on[i], (int)h);
			after = spread(s, c, &b, &l);
			vf_sched_assign(s, on[i], -1);
			if (after < best_spread) {
				best_spread = after;
				best = (int)h;
				*vm = on[i];
			}
		}
		vf_sched_assign(s, on[i], from);
	}
	free(on);
	return best;
}

void vf_sched_rebalance(struct vf_sched *s, size_t c, struct vf_sched_result *r)
{
	unsigned threshold = s->in->clusters[c].rebalance_threshold;
	size_t steps, vm = 0;
	int busiest, idlest, to;
	int64_t now;
	bool vcpus = s->in->clusters[c].cpu_overcommit != 0;
	const char *cause;

	r->complete = true;
	if (!threshold)
		return;
	for (steps = 0; steps <= s->in->n_vms; steps++) {
		now = spread(s, c, &busiest, &idlest);
		if (busiest < 0 || now <= (int64_t)threshold * 10)
			return;
		to = best_rebalance(s, c, busiest, now, &vm);
		if (to < 0)
			break;
		cause = vf_sched_keep(s, "rebalance: load spread %lld%% over %u%% (host '%s' "
				      "%lld%%, host '%s' %lld%%)", (long long)now / 10, threshold,
				      s->in->hosts[busiest].name,
				      (long long)vf_sched_load(s, (size_t)busiest, vcpus) / 10,
				      s->in->hosts[idlest].name,
				      (long long)vf_sched_load(s, (size_t)idlest, vcpus) / 10);
		vf_sched_assign(s, vm, to);
		vf_sched_decide(r, VF_SCHED_MIGRATE, vm, busiest, to, cause);
	}
	r->complete = false;
}

void vf_sched_restart(struct vf_sched *s, int host, struct vf_sched_result *r)
{
	const char *cause = vf_sched_keep(s, "host '%s' failed", s->in->hosts[host].name);
	size_t *on, n, i;

	s->h[host].down = "it failed";
	n = vms_on(s, host, &on, priority_first);
	r->complete = true;
	for (i = 0; i < n; i++) {
		const struct vf_sched_vm *in = &s->in->vms[on[i]];
		if (!in->ha)
			vf_sched_decide(r, VF_SCHED_BLOCKED, on[i], host, -1,
					vf_sched_keep(s, "%s; not highly available: it stays down",
						      cause));
		else if (!try_move(s, on[i], host, VF_SCHED_RESTART,
				   vf_sched_keep(s, "%s; HA priority %d", cause, in->ha_priority), r))
			block(s, on[i], cause, NULL, r);
	}
	free(on);
}
