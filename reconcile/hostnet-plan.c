/*
 * hostnet-plan.c — the plan from a host's live links to its desired ones:
 * per-link creates, updates, replaces and deletes in phases, ordered so that
 * what others stack on comes first (see hostnet.h).  Pure: the observed
 * links come in as data.
 */
#include <stdlib.h>
#include <string.h>

#include "reconcile/hostnet-internal.h"

/* Creation order: what others stack on first. */
static int kind_rank(enum vf_host_link_kind k)
{
	switch (k) {
	case VF_HOST_LINK_ETHERNET:
	case VF_HOST_LINK_PORT:
	case VF_HOST_LINK_OTHER:  return 0;
	case VF_HOST_LINK_BOND:   return 1;
	case VF_HOST_LINK_VLAN:   return 2;
	case VF_HOST_LINK_BRIDGE: return 3;
	}
	return 0;
}

struct builder {
	struct vf_hostnet_plan *plan;
	const char *host;
	const struct vf_host_links *desired, *observed;
	const struct vf_hostnet_owned *owned;
	struct vf_diags *diags;
	/* phases, concatenated at the end */
	struct vf_hostnet_action *phase[4];
	size_t n[4], alloc[4];
};

enum { PHASE_CREATE, PHASE_UPDATE, PHASE_ENSLAVE, PHASE_DELETE };

static struct vf_hostnet_action *action_add(struct builder *b, int phase, enum vf_hostnet_op op,
					    const char *name, enum vf_host_link_kind kind,
					    const char *reason)
{
	struct vf_hostnet_action *a;

	VF_GROW(b->phase[phase], b->n[phase] + 1, b->alloc[phase]);
	a = &b->phase[phase][b->n[phase]++];
	memset(a, 0, sizeof(*a));
	a->op = op;
	a->name = name;
	a->kind = kind;
	a->reason = reason;
	return a;
}

static void change_add(struct builder *b, struct vf_hostnet_action *a, const char *field,
		       const char *before, const char *after)
{
	struct vf_hostnet_change *c = vf_arena_alloc(&b->plan->arena,
						    (a->n_changes + 1) * sizeof(*c));

	if (a->n_changes)
		memcpy(c, a->changes, a->n_changes * sizeof(*c));
	c[a->n_changes].field = field;
	c[a->n_changes].before = before;
	c[a->n_changes].after = after;
	a->changes = c;
	a->n_changes++;
}

static const char *num(struct builder *b, unsigned v)
{
	return afmt(&b->plan->arena, "%u", v);
}

static const char *onoff(int v)
{
	return v < 0 ? "?" : v ? "on" : "off";
}

/* A desired link that will exist after the plan (not absent). */
static const struct vf_host_link *desired_present(const struct builder *b, const char *name)
{
	const struct vf_host_link *d = vf_host_links_find(b->desired, name);
	return d && !d->absent ? d : NULL;
}

/* Is name a bridge or bond virtform manages (so its ports are ours to release)? */
static bool managed_master(const struct builder *b, const char *name)
{
	const struct vf_host_link *d = desired_present(b, name);
	return (d && (d->kind == VF_HOST_LINK_BRIDGE || d->kind == VF_HOST_LINK_BOND)) ||
	       vf_hostnet_owned_by(b->owned, name);
}

/* The MTU link name will have after the plan; 0 when unknown. */
static unsigned mtu_after(const struct builder *b, const char *name)
{
	const struct vf_host_link *d = desired_present(b, name);
	const struct vf_host_link *o = vf_host_links_find(b->observed, name);

	if (d && d->mtu)
		return d->mtu;
	return o ? o->mtu : 0;
}

static const char *what_of(const struct vf_host_link *d)
{
	return d->kind == VF_HOST_LINK_PORT ? "link" : vf_host_link_kind_name(d->kind);
}

/* Plan-time checks of d against its uplink / ports. */
static void check_links(struct builder *b, const struct vf_host_link *d)
{
	size_t i;

	if (d->kind == VF_HOST_LINK_VLAN && d->vlan_base) {
		unsigned base_mtu = mtu_after(b, d->vlan_base);

		const struct vf_host_link *base = vf_host_links_find(b->desired, d->vlan_base);

		if (base && base->absent)
			vf_error_at(b->diags, &d->pos, "keep the uplink, or remove this link",
				    "uplink '%s' of vlan '%s' is 'state: absent' on host %s",
				    d->vlan_base, d->name, b->host);
		else if (!desired_present(b, d->vlan_base) &&
		    !vf_host_links_find(b->observed, d->vlan_base))
			vf_error_at(b->diags, &d->pos, "name an existing NIC or bond, or declare it under hosts[].interfaces",
				    "uplink '%s' does not exist on host %s", d->vlan_base, b->host);
		else if (d->mtu && base_mtu && d->mtu > base_mtu)
			vf_error_at(b->diags, &d->pos, "raise the uplink's mtu (hosts[].interfaces) or lower this one",
				    "vlan '%s': mtu %u is above uplink %s's %u", d->name, d->mtu,
				    d->vlan_base, base_mtu);
	}
	if (d->kind == VF_HOST_LINK_BRIDGE && d->mtu) {
		bool net = !strncmp(d->owner, "network ", 8);

		for (i = 0; i < b->desired->n; i++) {
			const struct vf_host_link *p = &b->desired->items[i];
			unsigned pm;

			if (p->absent || !streq(p->master, d->name))
				continue;
			pm = mtu_after(b, p->name);
			if (pm && d->mtu > pm)
				vf_error_at(b->diags, &d->pos,
					    net ? "raise the uplink's mtu (hosts[].interfaces) or lower this one"
						: "raise the port's mtu or lower this one",
					    "bridge '%s': mtu %u is above %s %s's %u", d->name,
					    d->mtu, net ? "uplink" : "port", p->name, pm);
		}
	}
}

static const char *adopt_reason(struct builder *b, const struct vf_host_link *d, bool owned)
{
	if (owned || d->kind == VF_HOST_LINK_ETHERNET || d->kind == VF_HOST_LINK_PORT)
		return d->owner;
	return afmt(&b->plan->arena, "%s; adopts the existing link", d->owner);
}

static void plan_master(struct builder *b, const struct vf_host_link *d,
			const struct vf_host_link *o)
{
	const char *have = o && o->master ? o->master : NULL;
	struct vf_hostnet_action *a;

	if (d->master ? streq(have, d->master) : !have || !managed_master(b, have))
		return;
	a = action_add(b, PHASE_ENSLAVE, VF_HOSTNET_UPDATE, d->name, d->kind,
		       d->master ? afmt(&b->plan->arena, "%s: port of %s",
					d->master_owner ? d->master_owner : d->owner, d->master)
				 : afmt(&b->plan->arena, "%s: not a port of %s", d->owner, have));
	a->desired = d;
	a->observed = o;
	change_add(b, a, "master", have ? have : "(none)", d->master ? d->master : "(none)");
}

/* The plan's field name of a bond option: "options.miimon". */
static const char *option_field(struct builder *b, const char *name)
{
	return afmt(&b->plan->arena, "options.%s", name);
}

/* d says state: absent: delete the link if it is there (never a NIC). */
static void plan_absent(struct builder *b, const struct vf_host_link *d,
			const struct vf_host_link *o)
{
	struct vf_hostnet_action *a;

	if (!o)
		return;
	if (o->kind == VF_HOST_LINK_ETHERNET) {
		vf_error_at(b->diags, &d->pos, "remove 'state: absent', or the entry",
			    "interface '%s' is a NIC on host %s and cannot be removed",
			    d->name, b->host);
		return;
	}
	a = action_add(b, PHASE_DELETE, VF_HOSTNET_DELETE, d->name, o->kind,
		       afmt(&b->plan->arena, "%s: state: absent", d->owner));
	a->observed = o;
}

/* A NIC or a port: it must exist; only its MTU and master are managed. */
static void plan_existing(struct builder *b, const struct vf_host_link *d,
			  const struct vf_host_link *o)
{
	struct vf_hostnet_action *a;

	if (!o) {
		if (!strncmp(d->owner, "network ", 8))
			vf_error_at(b->diags, &d->pos, "name an existing NIC or bond, or declare it under hosts[].interfaces",
				    "uplink '%s' does not exist on host %s", d->name, b->host);
		else if (d->kind == VF_HOST_LINK_PORT)
			vf_error_at(b->diags, &d->pos, "name an existing link, or declare it",
				    "%s: port '%s' does not exist on host %s", d->owner,
				    d->name, b->host);
		else
			vf_error_at(b->diags, &d->pos, "virtform cannot create a NIC; check the name ('virtform host show')",
				    "interface '%s' does not exist on host %s", d->name, b->host);
		return;
	}
	if (d->kind == VF_HOST_LINK_ETHERNET && o->kind != VF_HOST_LINK_ETHERNET) {
		vf_error_at(b->diags, &d->pos, "use its type, or another name",
			    "interface '%s' is a %s on host %s, not an ethernet link",
			    d->name, vf_host_link_kind_name(o->kind), b->host);
		return;
	}
	if (d->mtu && d->mtu != o->mtu) {
		a = action_add(b, PHASE_UPDATE, VF_HOSTNET_UPDATE, d->name, o->kind, d->owner);
		a->desired = d;
		a->observed = o;
		change_add(b, a, "mtu", num(b, o->mtu), num(b, d->mtu));
	}
	plan_master(b, d, o);
}

/* A link that is not there: create it with everything it is asked to have. */
static void plan_create(struct builder *b, const struct vf_host_link *d)
{
	struct vf_hostnet_action *a;
	size_t i;

	a = action_add(b, PHASE_CREATE, VF_HOSTNET_CREATE, d->name, d->kind, d->owner);
	a->desired = d;
	if (d->kind == VF_HOST_LINK_VLAN) {
		change_add(b, a, "base", NULL, d->vlan_base);
		change_add(b, a, "id", NULL, num(b, d->vlan_id));
	}
	if (d->kind == VF_HOST_LINK_BOND && d->bond_mode)
		change_add(b, a, "mode", NULL, d->bond_mode);
	for (i = 0; d->kind == VF_HOST_LINK_BOND && i < d->n_bond_options; i++)
		change_add(b, a, option_field(b, d->bond_options[i].key), NULL,
			   d->bond_options[i].value);
	if (d->kind == VF_HOST_LINK_BRIDGE && d->stp >= 0)
		change_add(b, a, "stp", NULL, onoff(d->stp));
	if (d->mtu)
		change_add(b, a, "mtu", NULL, num(b, d->mtu));
	plan_master(b, d, NULL);
}

/* Does o differ from d in what cannot change in place (a VLAN's base or
 * id, a bond's mode)? */
static bool needs_replace(const struct vf_host_link *d, const struct vf_host_link *o)
{
	return (d->kind == VF_HOST_LINK_VLAN &&
		(!streq(d->vlan_base, o->vlan_base) || d->vlan_id != o->vlan_id)) ||
	       (d->kind == VF_HOST_LINK_BOND && d->bond_mode && !streq(d->bond_mode, o->bond_mode));
}

/* Replace o by d: only a link virtform created (owner) may go. */
static void plan_replace(struct builder *b, const struct vf_host_link *d,
			 const struct vf_host_link *o, const char *owner)
{
	struct vf_hostnet_action *a;
	const char *diff = d->kind == VF_HOST_LINK_VLAN
		? afmt(&b->plan->arena, "base %s id %u -> base %s id %u",
		       o->vlan_base ? o->vlan_base : "?", o->vlan_id, d->vlan_base, d->vlan_id)
		: afmt(&b->plan->arena, "mode %s -> %s", o->bond_mode ? o->bond_mode : "?",
		       d->bond_mode);

	if (!owner) {
		vf_error_at(b->diags, &d->pos, "remove or rename the existing link, or change the config to match it",
			    "%s '%s' exists on host %s, not created by virtform, with %s "
			    "than %s wants (%s)", vf_host_link_kind_name(d->kind), d->name,
			    b->host, d->kind == VF_HOST_LINK_VLAN ? "another base or id"
							       : "another mode",
			    d->owner, diff);
		return;
	}
	a = action_add(b, PHASE_CREATE, VF_HOSTNET_REPLACE, d->name, d->kind,
		       afmt(&b->plan->arena, "%s: %s cannot change in place", d->owner, diff));
	a->desired = d;
	a->observed = o;
	if (d->mtu)
		change_add(b, a, "mtu", num(b, o->mtu), num(b, d->mtu));
	/* a new link has no master: enslave it again */
	plan_master(b, d, NULL);
}

/* The update action of d, made on its first change (*a NULL before). */
static struct vf_hostnet_action *update_of(struct builder *b, struct vf_hostnet_action **a,
					   const struct vf_host_link *d, const char *owner)
{
	if (!*a)
		*a = action_add(b, PHASE_UPDATE, VF_HOSTNET_UPDATE, d->name, d->kind,
				adopt_reason(b, d, owner));
	return *a;
}

/* An existing link of the right kind: update what differs in place. */
static void plan_update(struct builder *b, const struct vf_host_link *d,
			const struct vf_host_link *o, const char *owner)
{
	struct vf_hostnet_action *a = NULL;
	size_t i;

	if (d->mtu && d->mtu != o->mtu)
		change_add(b, update_of(b, &a, d, owner), "mtu", num(b, o->mtu), num(b, d->mtu));
	if (d->kind == VF_HOST_LINK_BRIDGE && d->stp >= 0 && d->stp != o->stp)
		change_add(b, update_of(b, &a, d, owner), "stp", onoff(o->stp), onoff(d->stp));
	for (i = 0; d->kind == VF_HOST_LINK_BOND && i < d->n_bond_options; i++) {
		const struct vf_label *want = &d->bond_options[i];
		const char *have = vf_hostnet_label_get(o->bond_options, o->n_bond_options, want->key);

		if (streq(have, want->value))
			continue;
		change_add(b, update_of(b, &a, d, owner), option_field(b, want->key),
			   have ? have : "(none)", want->value);
	}
	if (!o->up)
		change_add(b, update_of(b, &a, d, owner), "up", "no", "yes");
	if (a) {
		a->desired = d;
		a->observed = o;
	}
	plan_master(b, d, o);
}

static void plan_one(struct builder *b, const struct vf_host_link *d)
{
	const struct vf_host_link *o = vf_host_links_find(b->observed, d->name);
	const char *owner = vf_hostnet_owned_by(b->owned, d->name);

	if (d->absent) {
		plan_absent(b, d, o);
		return;
	}
	if (d->kind == VF_HOST_LINK_PORT || d->kind == VF_HOST_LINK_ETHERNET) {
		plan_existing(b, d, o);
		return;
	}
	check_links(b, d);
	/* with a mode in the config, vf_hostnet_desired checked them */
	if (d->kind == VF_HOST_LINK_BOND && d->n_bond_options && !d->bond_mode)
		vf_hostnet_bond_options_check(d, o && o->kind == VF_HOST_LINK_BOND ? o->bond_mode : NULL,
					      b->host, b->diags);
	if (!o)
		plan_create(b, d);
	else if (o->kind != d->kind)
		vf_error_at(b->diags, &d->pos, "remove or rename the existing link, or give this one another name",
			    "link '%s' on host %s is of kind %s, but %s wants a %s",
			    d->name, b->host, vf_host_link_kind_name(o->kind), d->owner, what_of(d));
	else if (needs_replace(d, o))
		plan_replace(b, d, o, owner);
	else
		plan_update(b, d, o, owner);
}

static bool has_action(const struct builder *b, int phase, const char *name)
{
	size_t i;

	for (i = 0; i < b->n[phase]; i++)
		if (!strcmp(b->phase[phase][i].name, name))
			return true;
	return false;
}

/*
 * Replacing a bond (its mode) takes its ports out of it and deletes the
 * VLANs stacked on it, behind the plan's back: put the ports back, and
 * create those VLANs again (a replace; apply takes "already gone" for
 * its delete) and put them back in their bridge.
 */
static void replace_dependents(struct builder *b)
{
	size_t i, j;

	for (i = 0; i < b->n[PHASE_CREATE]; i++) {
		const char *name = b->phase[PHASE_CREATE][i].name;

		if (b->phase[PHASE_CREATE][i].op != VF_HOSTNET_REPLACE ||
		    b->phase[PHASE_CREATE][i].kind != VF_HOST_LINK_BOND)
			continue;
		for (j = 0; j < b->desired->n; j++) {
			const struct vf_host_link *d = &b->desired->items[j];
			const struct vf_host_link *o = vf_host_links_find(b->observed, d->name);
			struct vf_hostnet_action *a;

			if (d->absent || !o)
				continue;
			if (streq(d->master, name) && streq(o->master, name) &&
			    !has_action(b, PHASE_ENSLAVE, d->name)) {
				a = action_add(b, PHASE_ENSLAVE, VF_HOSTNET_UPDATE, d->name, d->kind,
					       afmt(&b->plan->arena, "%s: port of %s again after "
						    "its replace", d->master_owner ? d->master_owner
										    : d->owner, name));
				a->desired = d;
				a->observed = o;
				change_add(b, a, "master", "(none)", name);
			}
			if (d->kind == VF_HOST_LINK_VLAN && streq(d->vlan_base, name) &&
			    o->kind == VF_HOST_LINK_VLAN && streq(o->vlan_base, name) &&
			    !has_action(b, PHASE_CREATE, d->name)) {
				a = action_add(b, PHASE_CREATE, VF_HOSTNET_REPLACE, d->name, d->kind,
					       afmt(&b->plan->arena, "%s: its base %s is replaced",
						    d->owner, name));
				a->desired = d;
				a->observed = o;
				if (d->master && !has_action(b, PHASE_ENSLAVE, d->name))
					plan_master(b, d, NULL);
			}
		}
	}
}

static int by_rank(const void *x, const void *y)
{
	const struct vf_hostnet_action *a = x, *b = y;
	int d = kind_rank(a->kind) - kind_rank(b->kind);

	/* qsort is not stable: fall back on the position (same array) */
	return d ? d : (a < b ? -1 : a > b);
}

static int by_rank_reverse(const void *x, const void *y)
{
	const struct vf_hostnet_action *a = x, *b = y;
	int d = kind_rank(b->kind) - kind_rank(a->kind);

	return d ? d : (a < b ? -1 : a > b);
}

static const char *vlan_base_of(const struct vf_hostnet_action *a)
{
	if (a->kind != VF_HOST_LINK_VLAN)
		return NULL;
	if (a->desired && a->desired->vlan_base)
		return a->desired->vlan_base;
	return a->observed ? a->observed->vlan_base : NULL;
}

/*
 * A VLAN stacked on a link of the same phase (a VLAN on a bridge or bond
 * the plan creates or deletes): the rank order puts bridges after VLANs,
 * so move the VLAN after its base (creates) or before it (deletes: the
 * kernel removes the VLANs of a deleted base with it).
 */
static void stack_order(struct vf_hostnet_action *v, size_t n, bool deletes)
{
	size_t i, j, moves = 0;

	for (i = 0; i < n && moves <= n * n; i++) {
		const char *base = vlan_base_of(&v[i]);
		struct vf_hostnet_action t;

		if (!base)
			continue;
		for (j = 0; j < n; j++)
			if (j != i && !strcmp(v[j].name, base))
				break;
		if (j == n)
			continue;
		t = v[i];
		if (!deletes && j > i) {          /* base later: VLAN after it */
			memmove(&v[i], &v[i + 1], (j - i) * sizeof(*v));
			v[j] = t;
			i--;
			moves++;
		} else if (deletes && j < i) {    /* base earlier: VLAN before it */
			memmove(&v[j + 1], &v[j], (i - j) * sizeof(*v));
			v[j] = t;
			moves++;
		}
	}
}

int vf_hostnet_plan_build(const char *host, const struct vf_host_links *desired,
			  const struct vf_host_links *observed,
			  const struct vf_hostnet_owned *owned, struct vf_hostnet_plan *plan,
			  struct vf_diags *diags)
{
	struct builder b;
	size_t errors = diags->n_errors;
	size_t i, p;

	memset(&b, 0, sizeof(b));
	b.plan = plan;
	b.host = host;
	b.desired = desired;
	b.observed = observed;
	b.owned = owned;
	b.diags = diags;
	plan->host = vf_arena_strdup(&plan->arena, host);

	for (i = 0; i < desired->n; i++)
		plan_one(&b, &desired->items[i]);
	for (i = 0; owned && i < owned->n; i++) {
		const struct vf_host_link *o = vf_host_links_find(observed, owned->names[i]);
		struct vf_hostnet_action *a;

		if (!o || vf_host_links_find(desired, owned->names[i]))
			continue;
		a = action_add(&b, PHASE_DELETE, VF_HOSTNET_DELETE, o->name, o->kind,
			       afmt(&plan->arena, "no longer in the configuration (was %s)",
				    owned->owners[i]));
		a->observed = o;
	}
	for (i = 0; i < observed->n; i++) {
		const char *name = observed->items[i].name;

		if (vf_host_links_find(desired, name) || vf_hostnet_owned_by(owned, name))
			continue;
		VF_GROW(plan->unmanaged, plan->n_unmanaged + 1, plan->alloc_unmanaged);
		plan->unmanaged[plan->n_unmanaged++] = vf_arena_strdup(&plan->arena, name);
	}

	replace_dependents(&b);
	for (p = 0; p < 4; p++)
		if (b.n[p])   /* qsort(NULL, 0, ...) is undefined */
			qsort(b.phase[p], b.n[p], sizeof(struct vf_hostnet_action),
			      p == PHASE_DELETE ? by_rank_reverse : by_rank);
	stack_order(b.phase[PHASE_CREATE], b.n[PHASE_CREATE], false);
	stack_order(b.phase[PHASE_DELETE], b.n[PHASE_DELETE], true);
	for (p = 0; p < 4; p++) {
		for (i = 0; i < b.n[p]; i++) {
			VF_GROW(plan->actions, plan->n + 1, plan->alloc);
			plan->actions[plan->n++] = b.phase[p][i];
		}
		free(b.phase[p]);
	}
	return diags->n_errors > errors ? -1 : 0;
}

void vf_hostnet_plan_release(struct vf_hostnet_plan *plan)
{
	vf_arena_release(&plan->arena);
	free(plan->actions);
	free(plan->unmanaged);
	memset(plan, 0, sizeof(*plan));
}

/* Does plan delete the link called name? */
static bool plan_deletes(const struct vf_hostnet_plan *plan, const char *name)
{
	size_t i;

	for (i = 0; i < plan->n; i++)
		if (plan->actions[i].op == VF_HOSTNET_DELETE && !strcmp(plan->actions[i].name, name))
			return true;
	return false;
}

void vf_hostnet_plan_drop_deletes(struct vf_hostnet_plan *plan)
{
	size_t i, j, n = 0;

	for (i = 0; i < plan->n; i++) {
		struct vf_hostnet_action *a = &plan->actions[i];
		size_t k = 0;

		if (a->op == VF_HOSTNET_DELETE)
			continue;
		/*
		 * A port released from a bridge or bond that goes stays in it
		 * until the delete (which releases it): a VM's uplink keeps
		 * working until the VMs that use it are gone.
		 */
		if (a->op == VF_HOSTNET_UPDATE && a->observed && a->observed->master &&
		    plan_deletes(plan, a->observed->master)) {
			for (j = 0; j < a->n_changes; j++)
				if (strcmp(a->changes[j].field, "master") ||
				    strcmp(a->changes[j].after, "(none)"))
					a->changes[k++] = a->changes[j];
			a->n_changes = k;
			if (!k)
				continue;
		}
		plan->actions[n++] = *a;
	}
	plan->n = n;
}
