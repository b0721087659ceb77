/*
 * plan.c — the differ and planner: desired resources against what the
 * hosts have, into an ordered graph of actions.
 *
 * Ownership decides everything.  An observed object is managed when
 *   - a domain: its marker names this project;
 *   - a network or pool: the state records it;
 *   - a volume: the state records it, or a managed domain's marker lists
 *     it (so disks survive a lost state directory with their VM).
 * A desired object whose name is taken by an unmanaged one stops the
 * plan (suggesting `virtform import`); unmanaged objects are never changed
 * or deleted.  Managed objects nothing desires any more are deleted —
 * unless protected (a VM) or kept (a volume with keep: true, which is let
 * go and left in place).
 *
 * Changes are classified with the provider's diff hints: an object
 * changes in place when it can (update: live, or written now and effective
 * at the next restart — virtform never restarts a VM on its own), and is
 * replaced, with the reason shown, only when it cannot.  Replacing a
 * volume would lose its data, so that is refused instead.
 *
 * vf_plan_build then orders the actions and links their dependencies
 * (plan-order.c, also --target) and asks the mass-deletion guard
 * (plan-guard.c), which marks a plan that destroys too much refused.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/engine.h"
#include "reconcile/lines.h"
#include "reconcile/plan-internal.h"

const char *vf_action_type_name(enum vf_action_type t)
{
	static const char *const names[VF_ACTION_COUNT] = {
		"create", "update", "replace", "delete", "start", "stop",
	};
	return (unsigned)t < VF_ACTION_COUNT ? names[t] : "?";
}

int vf_action_type_parse(const char *name, enum vf_action_type *t)
{
	int i;

	for (i = 0; name && i < VF_ACTION_COUNT; i++)
		if (!strcmp(vf_action_type_name((enum vf_action_type)i), name)) {
			*t = (enum vf_action_type)i;
			return 0;
		}
	return -1;
}

void vf_plan_warn(struct vf_plan *plan, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vf_lines_vaddf(&plan->warnings, &plan->n_warnings, &plan->alloc_warnings, fmt, ap);
	va_end(ap);
}

void vf_plan_free(struct vf_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n_actions; i++)
		free(plan->actions[i].deps);
	free(plan->actions);
	free(plan->links);
	for (i = 0; i < plan->n_warnings; i++)
		free(plan->warnings[i]);
	free(plan->warnings);
	for (i = 0; i < plan->n_skipped; i++)
		free(plan->skipped_hosts[i]);
	free(plan->skipped_hosts);
	vf_arena_release(&plan->arena);
	memset(plan, 0, sizeof(*plan));
}


/* The map key of an object: "KIND/HOST/POOL/NAME" (malloc'd). */
static char *key_new(enum vf_kind kind, const char *host, const char *pool, const char *name)
{
	return xasprintf("%d/%s/%s/%s", (int)kind, host, pool ? pool : "", name);
}

/* Put value under the object's key; vf_strmap borrows keys, so the key
 * lives in the plan's arena. */
static void key_put(struct planner *p, struct vf_strmap *map, enum vf_kind kind, const char *host,
		    const char *pool, const char *name, void *value)
{
	char *k = key_new(kind, host, pool, name);

	vf_strmap_put(map, vf_arena_strdup(&p->plan->arena, k), value);
	free(k);
}

void *vf_planner_key_get(const struct vf_strmap *map, enum vf_kind kind, const char *host,
		     const char *pool, const char *name)
{
	char *k = key_new(kind, host, pool, name);
	void *v = vf_strmap_get(map, k);

	free(k);
	return v;
}

const char *vf_observed_pool(const struct vf_observed_item *it)
{
	return it->r.kind == VF_KIND_VOLUME ? it->r.u.vol.pool : NULL;
}

bool vf_observed_ours(const struct vf_observed_item *it, const char *project)
{
	return it->r.kind == VF_KIND_VM && it->detailed && it->r.u.vm.marker.project &&
	       !strcmp(it->r.u.vm.marker.project, project);
}

/* Call fn for each object observed on each host read. */
void vf_planner_observed_each(struct planner *p,
			  void (*fn)(struct planner *p, const char *host,
				     const struct vf_observed_item *it))
{
	size_t i, j;

	for (i = 0; i < p->views->n; i++) {
		const struct vf_observed *o = p->views->hosts[i].observed;
		for (j = 0; o && j < o->n_items; j++)
			fn(p, o->host, &o->items[j]);
	}
}

/* it by key (p->observed); the volumes its marker lists, when it is a
 * domain of this project, by their key (p->owner). */
static void index_item(struct planner *p, const char *host, const struct vf_observed_item *it)
{
	const struct vf_marker *m = &it->r.u.vm.marker;
	size_t k;

	key_put(p, &p->observed, it->r.kind, host, vf_observed_pool(it), it->r.name, (void *)it);
	if (!vf_observed_ours(it, p->c->project))
		return;
	for (k = 0; k < m->n_volumes; k++)
		key_put(p, &p->owner, VF_KIND_VOLUME, host, m->volumes[k].pool, m->volumes[k].name,
			(void *)it);
}

static void index_observed(struct planner *p)
{
	vf_planner_observed_each(p, index_item);
}

static char *address_of(const struct vf_resource *r)
{
	return vf_address_new(r->kind, r->name, r->host);
}

/* The domain whose marker owns volume it, or NULL. */
static const struct vf_observed_item *volume_owner(struct planner *p, const struct vf_observed_item *it)
{
	return vf_planner_key_get(&p->owner, VF_KIND_VOLUME, it->r.host, vf_observed_pool(it), it->r.name);
}

bool vf_planner_managed(struct planner *p, const struct vf_observed_item *it)
{
	char *addr;
	bool yes;

	if (it->r.kind == VF_KIND_VM)
		return vf_observed_ours(it, p->c->project);
	if (it->r.kind == VF_KIND_VOLUME && volume_owner(p, it))
		return true;
	addr = address_of(&it->r);
	yes = p->state && vf_state_find(p->state, addr) != NULL;
	if (yes && it->r.kind == VF_KIND_VOLUME) {
		const struct vf_state_entry *e = vf_state_find(p->state, addr);
		yes = e->pool && it->r.u.vol.pool && !strcmp(e->pool, it->r.u.vol.pool);
	}
	free(addr);
	return yes;
}

static struct vf_action *action_new(struct planner *p, enum vf_action_type type,
				    const struct vf_resource *desired,
				    const struct vf_resource *observed)
{
	const struct vf_resource *r = desired ? desired : observed;
	struct vf_action *a;
	char *addr;

	a = VF_APPEND(p->plan->actions, p->plan->n_actions, p->plan->alloc_actions);
	a->type = type;
	a->kind = r->kind;
	a->name = r->name;
	a->host = r->host;
	addr = address_of(r);
	a->address = vf_arena_strdup(&p->plan->arena, addr);
	free(addr);
	a->desired = desired;
	a->observed = observed;
	a->live = true;
	if (r->kind == VF_KIND_VM) {
		/* a lookup by name is a scan of the config's VMs: only when needed */
		const struct vf_vm *vm = desired ? NULL : vf_config_find_vm(p->c, r->name);
		a->shutdown_timeout = desired ? desired->u.vm.shutdown_timeout
					      : vm ? vm->shutdown_timeout : 60;
	}
	return a;
}

static bool field_equal(const struct vf_field *a, const struct vf_field *b)
{
	if (a->present != b->present)
		return false;
	if (!a->present)
		return true;
	if (a->type == VF_VALUE_STRING)
		return b->type == VF_VALUE_STRING && !strcmp(a->text, b->text);
	return a->number == b->number;
}

struct diff {
	struct vf_field_change *changes;
	size_t n, alloc;
	const struct vf_field_change *replace;   /* first replace-class change */
	bool restart;                            /* some change needs a restart */
	bool state_changes;                      /* "state" differs */
	bool active_changes;                     /* "active" differs */
};

static void diff_fields(struct planner *p, const struct vf_resource *d, const struct vf_resource *o,
			struct diff *out)
{
	struct vf_field *df, *of;
	size_t nd = vf_resource_fields(d, true, &p->plan->arena, &df);
	size_t no = vf_resource_fields(o, false, &p->plan->arena, &of);
	struct vf_strmap opaths = { 0 }, dpaths = { 0 };
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < no; i++)
		vf_strmap_put(&opaths, of[i].path, &of[i]);
	for (i = 0; i < nd; i++)
		vf_strmap_put(&dpaths, df[i].path, &df[i]);

	for (i = 0; i < nd + no; i++) {
		struct vf_field absent = { 0 };
		const struct vf_field *after, *before;
		struct vf_field_change *ch;
		if (i < nd) {
			after = &df[i];
			before = vf_strmap_get(&opaths, after->path);
		} else {
			before = &of[i - nd];
			if (vf_strmap_get(&dpaths, before->path))
				continue;     /* seen from the desired side */
			after = NULL;
		}
		if (!before) {
			absent.path = after->path;
			absent.type = after->type;
			before = &absent;
		}
		if (!after) {
			absent.path = before->path;
			absent.type = before->type;
			after = &absent;
		}
		if (after->any || field_equal(before, after))
			continue;
		if (!strcmp(after->path, "state")) {
			out->state_changes = true;
			continue;
		}
		if (!strcmp(after->path, "active")) {
			out->active_changes = true;
			continue;
		}
		VF_GROW(out->changes, out->n + 1, out->alloc);
		ch = &out->changes[out->n++];
		ch->before = *before;
		ch->after = *after;
		ch->class = p->provider->field_class(d, o, before, after);
		if (ch->class == VF_FIELD_RESTART)
			out->restart = true;
	}
	for (i = 0; i < out->n; i++)
		if (out->changes[i].class == VF_FIELD_REPLACE && !out->replace)
			out->replace = &out->changes[i];
	vf_strmap_release(&opaths);
	vf_strmap_release(&dpaths);
}

static bool object_running(const struct vf_resource *o)
{
	switch (o->kind) {
	case VF_KIND_VM:      return o->u.vm.running;
	case VF_KIND_NETWORK: return o->u.net.active;
	default:              return false;
	}
}

/*
 * Replacing a network takes it away from the running VMs plugged into it
 * (ours or anyone's), and libvirt does not plug them back into the new
 * one: they have no link on it until they restart.  Refuse unless
 * --allow-replace, naming them.
 */
static void check_network_users(struct planner *p, struct vf_action *a)
{
	const struct vf_host_view *v = vf_views_find(p->views, a->host);
	struct vf_buf users = VF_BUF_INIT;
	size_t i, j, n = 0;

	for (i = 0; v && v->observed && i < v->observed->n_items; i++) {
		const struct vf_observed_item *it = &v->observed->items[i];
		if (it->r.kind != VF_KIND_VM || !it->detailed || !it->r.u.vm.running)
			continue;
		for (j = 0; j < it->r.u.vm.n_nics; j++)
			if (it->r.u.vm.nics[j].network && !strcmp(it->r.u.vm.nics[j].network, a->name))
				break;
		if (j == it->r.u.vm.n_nics)
			continue;
		vf_buf_addf(&users, "%svm.%s", users.len ? ", " : "", it->r.name);
		n++;
	}
	if (!n)
		return;
	if (p->opts->allow_replace) {
		vf_plan_warn(p->plan, "%s: replacing it (--allow-replace) takes it away from the running "
			      "VM%s %s: libvirt does not plug a running VM back into a re-created "
			      "network, so %s no link on it until %s restarted", a->address,
		     n > 1 ? "s" : "", users.buf, n > 1 ? "they have" : "it has",
		     n > 1 ? "they are" : "it is");
	} else {
		char *msg = xasprintf("%s: %s, and replacing it would cut off the running VM%s %s",
				      a->address, a->reason, n > 1 ? "s" : "", users.buf);
		a->blocked = vf_arena_strdup(&p->plan->arena, msg);
		a->blocked_hint = "stop those VMs first, or pass --allow-replace to replace the "
				  "network anyway (they have no link on it until they restart)";
		a->blocked_pos = a->desired->pos;
		free(msg);
	}
	vf_buf_release(&users);
}

/*
 * An image volume whose create (or replace) an apply began and never
 * finished (the state's intent journal): its upload may have stopped
 * half-way, and a partial image looks like a whole one — so it is
 * uploaded again.  No clone can be on it: clones wait for the image.
 */
static bool upload_interrupted(struct planner *p, const struct vf_resource *d)
{
	const char *action = NULL;

	if (d->kind != VF_KIND_VOLUME || !d->u.vol.upload_file || !p->state ||
	    !vf_state_interrupted(p->state, d->address, &action) || !action)
		return false;
	return !strcmp(action, "create") || !strcmp(action, "replace");
}

/* A running VM whose definition has changes its running self lacks. */
static void note_waiting(struct planner *p, const struct vf_resource *d, const char *pending)
{
	char *list = xmalloc(2 * strlen(pending) + 1), *o = list;
	const char *c;

	for (c = pending; *c; c++) {     /* "cpus max_memory" -> "cpus, max_memory" */
		if (*c == ' ')
			*o++ = ',';
		*o++ = *c;
	}
	*o = '\0';
	vf_plan_warn(p->plan, "%s on %s runs without changes written to its definition, which wait for "
		      "its restart: %s (restart it when convenient, or set restart_policy: allow)",
	     d->address, d->host, list);
	free(list);
}

/*
 * Did someone change o since virtform last wrote it as d has it now?  A
 * domain's marker carries the spec hash it was written with; a network's,
 * pool's or volume's is in its state record.  Otherwise the difference is
 * the configuration's: not applied yet.
 */
static bool changed_outside(const struct planner *p, const struct vf_resource *d,
			    const struct vf_resource *o)
{
	const struct vf_state_entry *e;
	char hash[17];

	if (d->kind == VF_KIND_VM)
		return o->u.vm.marker.spec_hash && d->u.vm.marker.spec_hash &&
		       !strcmp(o->u.vm.marker.spec_hash, d->u.vm.marker.spec_hash);
	e = p->state ? vf_state_find(p->state, d->address) : NULL;
	if (!e || !e->spec)
		return false;
	vf_resource_hash(d, hash);
	return !strcmp(e->spec, hash);
}

/*
 * A volume's change that would lose data: a shrink, or a field that
 * cannot change in place (replacing the volume loses its content).  Each
 * is an error; true when the volume cannot be planned at all.
 */
static bool volume_change_refused(struct planner *p, const struct vf_resource *d,
				  const struct diff *df)
{
	size_t i;

	for (i = 0; i < df->n; i++) {
		const struct vf_field_change *ch = &df->changes[i];
		char b[64], a2[64];
		if (!strcmp(ch->after.path, "capacity") && ch->before.number > ch->after.number)
			vf_error_at(p->diags, &d->pos,
				    "grow it or leave it; to start over with a smaller disk, "
				    "give the disk a new name",
				    "%s: shrinking a volume from %s to %s would lose data; "
				    "virtform never shrinks volumes", d->address,
				    vf_field_format(&ch->before, b, sizeof(b)),
				    vf_field_format(&ch->after, a2, sizeof(a2)));
	}
	if (df->replace) {
		char b[256], a2[256];
		vf_error_at(p->diags, &d->pos,
			    "give the disk a new name (a new volume), or destroy the VM first",
			    "%s: %s %s -> %s cannot change in place, and replacing the volume "
			    "would lose its data", d->address, df->replace->after.path,
			    vf_field_format(&df->replace->before, b, sizeof(b)),
			    vf_field_format(&df->replace->after, a2, sizeof(a2)));
		return true;
	}
	return false;
}

/* The field changes of df, copied into the plan's arena. */
static void action_take_fields(struct planner *p, struct vf_action *a, const struct diff *df)
{
	a->fields = vf_arena_alloc(&p->plan->arena, (df->n ? df->n : 1) * sizeof(*a->fields));
	memcpy(a->fields, df->changes, df->n * sizeof(*a->fields));
	a->n_fields = df->n;
}

/* A field cannot change in place (df->replace): replace the object. */
static void plan_replace(struct planner *p, const struct vf_resource *d,
			 const struct vf_resource *o, const struct diff *df)
{
	struct vf_action *a = action_new(p, VF_ACTION_REPLACE, d, o);
	char b[256], a2[256];
	char *why = xasprintf("%s: %s -> %s cannot change in place", df->replace->after.path,
			      vf_field_format(&df->replace->before, b, sizeof(b)),
			      vf_field_format(&df->replace->after, a2, sizeof(a2)));

	a->reason = vf_arena_strdup(&p->plan->arena, why);
	free(why);
	a->drift = changed_outside(p, d, o);
	if (d->kind == VF_KIND_NETWORK)
		check_network_users(p, a);
	if (d->kind == VF_KIND_VM && d->protect) {
		char *msg = xasprintf("%s is protected (protect: true), and %s", d->address,
				      a->reason);
		a->blocked = vf_arena_strdup(&p->plan->arena, msg);
		a->blocked_hint = "remove 'protect: true' to let virtform replace it";
		a->blocked_pos = d->pos;
		free(msg);
	}
	a->live = false;
	action_take_fields(p, a, df);
}

/* Fields that change in place (df->n of them): an update, live or at the
 * next restart (made now when the VM allows a restart). */
static void plan_update(struct planner *p, const struct vf_resource *d,
			const struct vf_resource *o, const struct diff *df)
{
	struct vf_action *a = action_new(p, VF_ACTION_UPDATE, d, o);

	action_take_fields(p, a, df);
	a->live = !df->restart;
	a->requires_restart = df->restart && object_running(o);
	if (a->requires_restart && d->kind == VF_KIND_VM && d->u.vm.restart_allowed) {
		a->requires_restart = false;
		a->restart = true;
		a->shutdown_timeout = d->u.vm.shutdown_timeout;
	}
	a->drift = changed_outside(p, d, o);
	if (d->kind == VF_KIND_VOLUME && !d->u.vol.vm && d->u.vol.upload_file)
		a->live = true;
}

static void plan_existing(struct planner *p, const struct vf_resource *d,
			  const struct vf_observed_item *it)
{
	const struct vf_resource *o = &it->r;
	struct diff df;
	struct vf_action *a;

	if (upload_interrupted(p, d)) {
		a = action_new(p, VF_ACTION_REPLACE, d, o);
		a->reason = "an interrupted apply left its upload incomplete";
		a->live = false;
		return;
	}
	diff_fields(p, d, o, &df);
	if (d->kind == VF_KIND_VOLUME && volume_change_refused(p, d, &df)) {
		free(df.changes);
		return;
	}
	if (df.replace) {
		plan_replace(p, d, o, &df);
		free(df.changes);
		return;
	}
	if (df.n)
		plan_update(p, d, o, &df);
	free(df.changes);
	if (d->kind == VF_KIND_VM && o->u.vm.running && o->u.vm.marker.pending &&
	    !(df.n && d->u.vm.restart_allowed && df.restart) && !(df.state_changes && !d->u.vm.running))
		note_waiting(p, d, o->u.vm.marker.pending);
	if (d->kind == VF_KIND_VM && df.state_changes)
		action_new(p, d->u.vm.running ? VF_ACTION_START : VF_ACTION_STOP, d, o);
	if ((d->kind == VF_KIND_NETWORK || d->kind == VF_KIND_STORAGE) && df.active_changes)
		action_new(p, VF_ACTION_START, d, o);
}

static const struct vf_observed_item *find_observed(struct planner *p, const struct vf_resource *r)
{
	const char *pool = r->kind == VF_KIND_VOLUME ? r->u.vol.pool : NULL;
	return vf_planner_key_get(&p->observed, r->kind, r->host, pool, r->name);
}

static const char *kind_noun(enum vf_kind k)
{
	switch (k) {
	case VF_KIND_STORAGE: return "storage pool";
	case VF_KIND_VOLUME:  return "volume";
	case VF_KIND_NETWORK: return "network";
	default:              return "domain";
	}
}

static void plan_desired(struct planner *p, const struct vf_desired *desired)
{
	size_t i;

	for (i = 0; i < desired->n; i++) {
		const struct vf_resource *d = &desired->items[i];
		const struct vf_observed_item *it = find_observed(p, d);

		if (!it) {
			action_new(p, VF_ACTION_CREATE, d, NULL)->fields_implied = true;
			continue;
		}
		key_put(p, &p->handled, it->r.kind, it->r.host, vf_observed_pool(it), it->r.name,
			(void *)it);
		if (!vf_planner_managed(p, it)) {
			if (d->kind == VF_KIND_VOLUME && d->u.vol.keep && it->detailed) {
				/* a kept disk comes back to its VM */
				vf_plan_warn(p->plan, "%s: reusing the volume kept from an earlier VM "
					      "(keep: true)", d->address);
				plan_existing(p, d, it);
				continue;
			}
			{
				char *hint = xasprintf("adopt it with 'virtform import %s', rename "
						       "one of them, or remove the existing one",
						       d->address);
				vf_error_at(p->diags, &d->pos, hint,
					    "%s: a %s named '%s' already exists on host '%s' and "
					    "virtform does not manage it", d->address,
					    kind_noun(d->kind), d->name, d->host);
				free(hint);
			}
			continue;
		}
		plan_existing(p, d, it);
	}
}

static bool vm_protected(struct planner *p, const struct vf_observed_item *it, bool *from_state)
{
	const struct vf_vm *vm = vf_config_find_vm(p->c, it->r.name);
	char *addr = address_of(&it->r);
	const struct vf_state_entry *e = p->state ? vf_state_find(p->state, addr) : NULL;

	free(addr);
	*from_state = false;
	if (vm && vm->protect)
		return true;
	if (!vm && e && e->protect) {
		*from_state = true;
		return true;
	}
	return false;
}

static bool volume_kept(struct planner *p, const struct vf_observed_item *it)
{
	const struct vf_observed_item *owner = volume_owner(p, it);
	char *addr = address_of(&it->r);
	const struct vf_state_entry *e = p->state ? vf_state_find(p->state, addr) : NULL;
	size_t k;

	free(addr);
	if (e && e->keep)
		return true;
	if (owner)
		for (k = 0; k < owner->r.u.vm.marker.n_volumes; k++) {
			const struct vf_marker_volume *mv = &owner->r.u.vm.marker.volumes[k];
			if (!strcmp(mv->name, it->r.name) && it->r.u.vol.pool &&
			    !strcmp(mv->pool, it->r.u.vol.pool))
				return mv->keep;
		}
	return false;
}

/* A managed object nothing desires or handled: delete it (unless a disk
 * says keep: true); a protected VM's delete is blocked. */
static void plan_delete(struct planner *p, const char *host, const struct vf_observed_item *it)
{
	bool from_state;
	struct vf_action *a;

	if (vf_planner_key_get(&p->handled, it->r.kind, host, vf_observed_pool(it), it->r.name) ||
	    !vf_planner_managed(p, it))
		return;
	if (it->r.kind == VF_KIND_VOLUME && volume_kept(p, it)) {
		char *addr = address_of(&it->r);
		vf_plan_warn(p->plan, "%s stays on its host: its disk says keep: true (virtform "
			      "lets go of it)", addr);
		free(addr);
		return;
	}
	a = action_new(p, VF_ACTION_DELETE, NULL, &it->r);
	a->live = false;
	if (it->r.kind == VF_KIND_VM && vm_protected(p, it, &from_state)) {
		const struct vf_vm *vm = vf_config_find_vm(p->c, it->r.name);
		char *msg;
		if (from_state) {
			msg = xasprintf("vm.%s was removed from the configuration but is "
					"protected (protect: true when last applied)",
					it->r.name);
			a->blocked_hint = "put it back in the configuration without "
					  "'protect: true' and apply, then remove it";
		} else {
			msg = xasprintf("vm.%s is protected (protect: true) and cannot be "
					"destroyed", it->r.name);
			a->blocked_hint = "remove 'protect: true' and apply first";
			a->blocked_pos = vm->pos;
		}
		a->blocked = vf_arena_strdup(&p->plan->arena, msg);
		free(msg);
	}
	a->fields_implied = it->detailed;
}

static void plan_deletes(struct planner *p)
{
	vf_planner_observed_each(p, plan_delete);
}

/* The hosts not read: skipped ones listed in the plan, an unreachable one
 * (not skipped) an error. */
static void hosts_unread(struct vf_plan *plan, const struct vf_views *views,
			 struct vf_diags *diags)
{
	size_t i;

	for (i = 0; i < views->n; i++) {
		const struct vf_host_view *v = &views->hosts[i];
		if (v->observed)
			continue;
		if (v->skipped) {
			vf_lines_addf(&plan->skipped_hosts, &plan->n_skipped, &plan->alloc_skipped,
				      "%s: %s", v->host->name, v->error ? v->error : "unreachable");
		} else {
			const char *why = v->error ? v->error : "unknown error";
			char *prefix = xasprintf("cannot read host '%s': ", v->host->name);
			/* the provider names the host too; say it once */
			if (!strncmp(why, prefix, strlen(prefix)))
				why += strlen(prefix);
			vf_error_at(diags, &v->host->pos,
				    "check the host and its libvirtd, or give --skip-unreachable to "
				    "plan for the other hosts",
				    "host '%s' is unreachable: %s", v->host->name, why);
			free(prefix);
		}
	}
}

/* Objects recorded on a host the config no longer has: out of reach. */
static void records_out_of_reach(struct vf_plan *plan, const struct vf_config *config,
				 const struct vf_state *state)
{
	size_t i;

	for (i = 0; state && i < state->n; i++) {
		const struct vf_state_entry *e = &state->entries[i];
		if (e->host && !vf_config_find_host(config, e->host))
			vf_plan_warn(plan, "%s is on host '%s', which is no longer in the configuration: "
				   "virtform leaves it alone (put the host back to manage or destroy it)",
			     e->address, e->host);
	}
}

int vf_plan_build(const struct vf_config *config, const struct vf_desired *desired,
		  const struct vf_views *views, const struct vf_state *state,
		  const struct vf_provider *provider, const struct vf_plan_opts *opts,
		  struct vf_plan *plan, struct vf_diags *diags)
{
	struct planner p = {
		.c = config, .views = views, .state = state, .provider = provider, .opts = opts,
		.plan = plan, .diags = diags,
	};
	size_t errors = diags->n_errors, i;

	plan->project = config->project;
	hosts_unread(plan, views, diags);
	records_out_of_reach(plan, config, state);
	if (state)
		vf_state_interrupted_notes(state, &plan->warnings, &plan->n_warnings,
					   &plan->alloc_warnings);
	index_observed(&p);
	plan_desired(&p, desired);
	plan_deletes(&p);
	if (plan->n_actions)
		qsort(plan->actions, plan->n_actions, sizeof(*plan->actions), vf_plan_action_cmp);
	vf_plan_link_deps(&p);
	vf_plan_apply_targets(&p);
	for (i = 0; i < plan->n_actions; i++) {
		const struct vf_action *a = &plan->actions[i];
		plan->counts[a->type]++;
		if (a->blocked)
			vf_error_at(diags, &a->blocked_pos, a->blocked_hint, "%s", a->blocked);
	}
	vf_plan_guard_check(&p, desired);
	vf_strmap_release(&p.observed);
	vf_strmap_release(&p.owner);
	vf_strmap_release(&p.handled);
	return diags->n_errors == errors ? 0 : -1;
}

bool vf_plan_empty(const struct vf_plan *plan)
{
	return plan->n_actions == 0 && plan->n_links == 0;
}
