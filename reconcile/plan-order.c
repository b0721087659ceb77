/*
 * plan-order.c — the order of a plan's actions and what each waits for:
 * actions are sorted into phases (stop and delete VMs, delete volumes,
 * networks, pools; then create or change pools, volumes — images before
 * their clones — networks, VMs; then start VMs), so the array is a valid
 * execution order, and each action lists the actions it depends on.
 * Also --target: keeping only the targeted actions and what they need,
 * and whether a target names anything (vf_target_known).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/engine.h"
#include "reconcile/lines.h"
#include "reconcile/plan-internal.h"

static int phase(const struct vf_action *a)
{
	bool del = a->type == VF_ACTION_DELETE;

	switch (a->kind) {
	case VF_KIND_VM:
		if (del || a->type == VF_ACTION_STOP)
			return 0;
		return a->type == VF_ACTION_START ? 9 : 8;
	case VF_KIND_VOLUME:
		if (del)
			return 1;
		/* images (no VM, no backing) before the clones of them */
		return a->desired && a->desired->u.vol.backing ? 6 : 5;
	case VF_KIND_NETWORK:
		return del ? 2 : 7;
	case VF_KIND_STORAGE:
		return del ? 3 : 4;
	default:
		return 10;
	}
}

int vf_plan_action_cmp(const void *x, const void *y)
{
	const struct vf_action *a = x, *b = y;
	int pa = phase(a), pb = phase(b), c;

	if (pa != pb)
		return pa - pb;
	c = strcmp(a->address, b->address);
	if (c)
		return c;
	return (int)a->type - (int)b->type;
}

static void dep_add(struct vf_action *a, size_t on)
{
	size_t i;

	if (on == a->index)
		return;
	for (i = 0; i < a->n_deps; i++)
		if (a->deps[i] == on)
			return;
	VF_GROW(a->deps, a->n_deps + 1, a->alloc_deps);
	a->deps[a->n_deps++] = on;
}

/* Does the VM of action b (as it is now) use the object of action a? */
static bool vm_uses(const struct vf_action *b, const struct vf_action *a)
{
	const struct vf_resource *vm = b->observed, *r = a->observed ? a->observed : a->desired;
	size_t i;

	if (!vm || !r)
		return false;
	for (i = 0; i < vm->u.vm.n_disks; i++) {
		const struct vf_disk_spec *d = &vm->u.vm.disks[i];
		if (a->kind == VF_KIND_VOLUME && d->volume && d->pool && r->u.vol.pool &&
		    !strcmp(d->volume, r->name) && !strcmp(d->pool, r->u.vol.pool))
			return true;
		if (a->kind == VF_KIND_STORAGE && d->pool && !strcmp(d->pool, r->name))
			return true;
	}
	for (i = 0; a->kind == VF_KIND_NETWORK && i < vm->u.vm.n_nics; i++)
		if (vm->u.vm.nics[i].network && !strcmp(vm->u.vm.nics[i].network, r->name))
			return true;
	return false;
}

/* Actions by address: first[address] = index + 1 of its first action,
 * next[i] = index + 1 of the next action of the same address (or 0). */
struct by_address {
	struct vf_strmap first;
	size_t *next;
};

/* Depend on the actions at address that are deletes (or are not). */
static void dep_on_address(const struct by_address *ba, struct vf_action *a,
			   const struct vf_plan *plan, const char *address, bool deletes)
{
	uintptr_t i;

	for (i = (uintptr_t)vf_strmap_get(&ba->first, address); i; i = ba->next[i - 1])
		if ((plan->actions[i - 1].type == VF_ACTION_DELETE) == deletes)
			dep_add(a, i - 1);
}

/* a waits for the changes of the object KIND.NAME@HOST (vf_address_new). */
static void dep_on_object(const struct by_address *ba, struct vf_action *a,
			  const struct vf_plan *plan, enum vf_kind kind, const char *name,
			  const char *host)
{
	char *addr = vf_address_new(kind, name, host);

	dep_on_address(ba, a, plan, addr, false);
	free(addr);
}

/* Index the plan's actions by address: ba->first (address -> index + 1
 * of its first action) and ba->next (index -> index + 1 of the next on
 * the same address, 0 at the end). */
static void by_address_index(struct by_address *ba, struct vf_plan *plan)
{
	size_t i;

	ba->next = xcalloc(plan->n_actions + 1, sizeof(size_t));
	for (i = 0; i < plan->n_actions; i++)
		plan->actions[i].index = i;
	for (i = plan->n_actions; i-- > 0;) {
		const char *addr = plan->actions[i].address;
		uintptr_t old = (uintptr_t)vf_strmap_get(&ba->first, addr);
		if (old) {
			/* chain i in front of the current first */
			ba->next[i] = old;
			vf_strmap_set(&ba->first, addr, (void *)(uintptr_t)(i + 1));
		} else {
			vf_strmap_put(&ba->first, addr, (void *)(uintptr_t)(i + 1));
		}
	}
}

/* A delete (or a network's replace), action i, waits for the earlier
 * actions that stop using what it removes. */
static void deps_on_users(struct vf_plan *plan, size_t i)
{
	struct vf_action *a = &plan->actions[i];
	size_t j;

	if (a->type != VF_ACTION_DELETE &&
	    !(a->type == VF_ACTION_REPLACE && a->kind == VF_KIND_NETWORK))
		return;
	for (j = 0; j < i; j++) {
		const struct vf_action *b = &plan->actions[j];
		if (b->host && a->host && strcmp(b->host, a->host))
			continue;
		/* deletes of volumes/networks/pools wait for the VMs using
		 * them to be gone or changed; a pool's for its volumes */
		if (a->type == VF_ACTION_DELETE && a->kind != VF_KIND_VM &&
		    b->kind == VF_KIND_VM && b->type != VF_ACTION_START && vm_uses(b, a))
			dep_add(a, j);
		if (a->type == VF_ACTION_DELETE && a->kind == VF_KIND_STORAGE &&
		    b->kind == VF_KIND_VOLUME && b->type == VF_ACTION_DELETE &&
		    b->observed->u.vol.pool && !strcmp(b->observed->u.vol.pool, a->name))
			dep_add(a, j);
		/* a replaced network waits for the VMs leaving it */
		if (a->type == VF_ACTION_REPLACE && a->kind == VF_KIND_NETWORK &&
		    b->kind == VF_KIND_VM && b->type == VF_ACTION_DELETE && vm_uses(b, a))
			dep_add(a, j);
	}
}

/* Action i waits for the earlier changes of its own object. */
static void deps_on_self(const struct by_address *ba, struct vf_plan *plan, size_t i)
{
	struct vf_action *a = &plan->actions[i];
	uintptr_t k;

	/*
	 * A start waits for its own object's change: a VM's new
	 * definition, a network's, a pool's new CHAP secret (a pool
	 * that starts before it logs in with the old one).
	 */
	if (a->type == VF_ACTION_START)
		dep_on_address(ba, a, plan, a->address, false);
	/* a VM's update or replace waits for its own stop: the update's
	 * live changes must not race the shutdown */
	if (a->kind == VF_KIND_VM &&
	    (a->type == VF_ACTION_UPDATE || a->type == VF_ACTION_REPLACE))
		for (k = (uintptr_t)vf_strmap_get(&ba->first, a->address); k; k = ba->next[k - 1])
			if (k - 1 < i && plan->actions[k - 1].type == VF_ACTION_STOP)
				dep_add(a, k - 1);
}

/* An action that makes or changes an object waits for what the object
 * uses: a volume for its pool and backing volume, a VM for its disks'
 * volumes and pools and its networks. */
static void deps_on_used(const struct by_address *ba, struct vf_plan *plan, struct vf_action *a)
{
	const struct vf_resource *r = a->desired ? a->desired : a->observed;
	size_t j;

	if (!r || a->type == VF_ACTION_DELETE || a->type == VF_ACTION_STOP)
		return;
	if (a->kind == VF_KIND_VOLUME) {
		dep_on_object(ba, a, plan, VF_KIND_STORAGE, r->u.vol.pool, r->host);
		if (r->u.vol.backing)
			dep_on_object(ba, a, plan, VF_KIND_VOLUME, r->u.vol.backing, r->host);
	} else if (a->kind == VF_KIND_VM) {
		for (j = 0; j < r->u.vm.n_disks; j++) {
			dep_on_object(ba, a, plan, VF_KIND_VOLUME, r->u.vm.disks[j].volume, r->host);
			dep_on_object(ba, a, plan, VF_KIND_STORAGE, r->u.vm.disks[j].pool, r->host);
		}
		for (j = 0; j < r->u.vm.n_nics; j++)
			dep_on_object(ba, a, plan, VF_KIND_NETWORK, r->u.vm.nics[j].network, r->host);
	}
}

void vf_plan_link_deps(struct planner *p)
{
	struct vf_plan *plan = p->plan;
	struct by_address ba = { { 0 }, NULL };
	size_t i;

	by_address_index(&ba, plan);
	for (i = 0; i < plan->n_actions; i++) {
		deps_on_users(plan, i);
		deps_on_self(&ba, plan, i);
		deps_on_used(&ba, plan, &plan->actions[i]);
	}
	vf_strmap_release(&ba.first);
	free(ba.next);
}

/* ---- --target ------------------------------------------------------------ */

static bool target_matches(const char *target, const struct vf_action *a)
{
	size_t n = strlen(target);
	const struct vf_resource *r = a->desired ? a->desired : a->observed;

	if (!strcmp(target, a->address))
		return true;
	/* "network.prod" names the network on every host */
	if (!strchr(target, '@') && !strncmp(a->address, target, n) && a->address[n] == '@')
		return true;
	/* a VM's target brings its volumes */
	if (a->kind == VF_KIND_VOLUME && r && !strncmp(target, "vm.", 3)) {
		if (a->desired && a->desired->u.vol.vm && !strcmp(a->desired->u.vol.vm, target + 3))
			return true;
	}
	return false;
}

/* Mark in keep the actions target names, and the deletes of the volumes
 * a targeted VM's marker owns; an error when it names nothing. */
static void target_mark(struct planner *p, const char *target, bool *keep)
{
	struct vf_plan *plan = p->plan;
	bool known = false;
	size_t i;

	for (i = 0; i < plan->n_actions; i++)
		if (target_matches(target, &plan->actions[i]))
			keep[i] = known = true;
	/* a volume owned by a targeted VM that is being deleted */
	for (i = 0; i < plan->n_actions; i++) {
		const struct vf_action *a = &plan->actions[i];
		const struct vf_observed_item *owner;
		char *vm;
		if (a->kind != VF_KIND_VOLUME || a->type != VF_ACTION_DELETE || !a->observed)
			continue;
		owner = vf_planner_key_get(&p->owner, VF_KIND_VOLUME, a->observed->host,
				a->observed->u.vol.pool, a->observed->name);
		if (!owner)
			continue;
		vm = vf_address_new(VF_KIND_VM, owner->r.name, NULL);
		if (!strcmp(vm, target))
			keep[i] = known = true;
		free(vm);
	}
	if (!known && !vf_target_known(p->c, target)) {
		struct vf_pos nopos = { 0 };
		vf_error_at(p->diags, &nopos,
			    "addresses look like vm.NAME, network.NAME@HOST, storage.NAME@HOST, "
			    "volume.NAME@HOST, link.NAME@HOST",
			    "--target '%s' matches nothing in the configuration or on the hosts",
			    target);
	}
}

/* Keep only the actions keep marks, renumbered, their deps remapped. */
static void plan_keep_only(struct vf_plan *plan, const bool *keep)
{
	size_t i, j, n = 0, *remap = xcalloc(plan->n_actions + 1, sizeof(*remap));

	for (i = 0; i < plan->n_actions; i++) {
		if (!keep[i]) {
			free(plan->actions[i].deps);
			continue;
		}
		remap[i] = n;
		plan->actions[n++] = plan->actions[i];
	}
	plan->n_actions = n;
	for (i = 0; i < n; i++) {
		struct vf_action *a = &plan->actions[i];
		size_t k = 0;
		a->index = i;
		for (j = 0; j < a->n_deps; j++)
			a->deps[k++] = remap[a->deps[j]];
		a->n_deps = k;
	}
	free(remap);
}

void vf_plan_apply_targets(struct planner *p)
{
	struct vf_plan *plan = p->plan;
	bool *keep;
	size_t i, j, t;

	if (!p->opts->n_targets)
		return;
	keep = xcalloc(plan->n_actions + 1, sizeof(*keep));
	for (t = 0; t < p->opts->n_targets; t++)
		target_mark(p, p->opts->targets[t], keep);
	/* what the kept actions depend on, transitively (deps point backwards) */
	for (i = plan->n_actions; i-- > 0;)
		if (keep[i])
			for (j = 0; j < plan->actions[i].n_deps; j++)
				keep[plan->actions[i].deps[j]] = true;
	plan_keep_only(plan, keep);
	free(keep);
}

/* Does target name kind.NAME or kind.NAME@HOST for this name? */
static bool target_names(const char *target, const char *kind, const char *name)
{
	size_t k = strlen(kind), n = strlen(name);

	return !strncmp(target, kind, k) && target[k] == '.' && !strncmp(target + k + 1, name, n) &&
	       (!target[k + 1 + n] || target[k + 1 + n] == '@');
}

bool vf_target_known(const struct vf_config *c, const char *target)
{
	size_t i;

	if (!strncmp(target, "vm.", 3))
		return vf_config_find_vm(c, target + 3) != NULL;
	/* link.NAME[@HOST]: the host's network links (cmd/hostnet.c) */
	if (!strncmp(target, "link.", 5) && target[5] && target[5] != '@') {
		const char *at = strchr(target, '@');
		return !at || vf_config_find_host(c, at + 1) != NULL;
	}
	for (i = 0; i < c->n_networks; i++)
		if (target_names(target, "network", c->networks[i].name))
			return true;
	for (i = 0; i < c->n_storages; i++)
		if (target_names(target, "storage", c->storages[i].name))
			return true;
	return !strncmp(target, "volume.", 7) && strchr(target, '@');
}

