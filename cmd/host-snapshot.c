/*
 * host-snapshot.c — the undo side of `virtform host apply`: the snapshot
 * of the links a plan touches, the steps the apply made, the rollback that
 * undoes them in reverse order from the snapshot, and their JSON for the
 * pending file (written by host apply, read back by the watcher and
 * host confirm, so that a change can be rolled back from the file alone).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/host-snapshot.h"
#include "providers/hostnet/links.h"
#include "reconcile/json-stream.h"
#include "reconcile/util.h"

/* By enum step_type: the steps as the pending file names them. */
static const char *const step_names[] = {
	"created", "deleted", "mtu", "stp", "up", "master", "bond-options",
};

/* The index of name's snapshot in a, or (size_t)-1. */
static size_t snap_index(const struct vf_hostcmd_applier *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n_snaps; i++)
		if (!strcmp(a->snaps[i].name, name))
			return i;
	return (size_t)-1;
}

static struct vf_hostcmd_snap *snap_new(struct vf_hostcmd_applier *a, const char *name)
{
	struct vf_hostcmd_snap *s;

	a->snaps = xrealloc(a->snaps, (a->n_snaps + 1) * sizeof(*a->snaps));
	s = &a->snaps[a->n_snaps++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	return s;
}

void vf_hostcmd_snap_take(struct vf_hostcmd_applier *a, const char *name)
{
	const struct vf_link *l;
	struct vf_hostcmd_snap *s;
	size_t i;

	if (!name || snap_index(a, name) != (size_t)-1)
		return;
	s = snap_new(a, name);
	l = vf_link_list_find(a->list, name);
	if (!l)
		return;
	s->exists = true;
	s->link = *l;
	s->link.ports = NULL;
	s->link.n_ports = 0;
	s->ports = xcalloc(l->n_ports + 1, sizeof(*s->ports));
	for (i = 0; i < l->n_ports; i++)
		s->ports[i] = xstrdup(l->ports[i]);
	s->n_ports = l->n_ports;
}

void vf_hostcmd_applier_release(struct vf_hostcmd_applier *a)
{
	size_t i, j;

	for (i = 0; i < a->n_snaps; i++) {
		for (j = 0; j < a->snaps[i].n_ports; j++)
			free(a->snaps[i].ports[j]);
		free(a->snaps[i].ports);
		free(a->snaps[i].name);
	}
	for (i = 0; i < a->n_steps; i++) {
		for (j = 0; j < a->steps[i].n_options; j++)
			free(a->steps[i].options[j]);
		free(a->steps[i].options);
	}
	free(a->snaps);
	free(a->steps);
	memset(a, 0, sizeof(*a));
}

struct vf_hostcmd_step *vf_hostcmd_step_add(struct vf_hostcmd_applier *a, enum step_type type, const char *name)
{
	struct vf_hostcmd_step *st;

	VF_GROW(a->steps, a->n_steps + 1, a->alloc_steps);
	st = &a->steps[a->n_steps++];
	memset(st, 0, sizeof(*st));
	st->type = type;
	st->snap = snap_index(a, name);
	st->action = a->action;
	return st;
}


/* Re-read the links into a->list; 0 or -1 with *error. */
int vf_hostcmd_reread(struct vf_hostcmd_applier *a, char **error)
{
	vf_link_list_release(a->list);
	return vf_link_list_read(a->nl, a->list, error);
}

/* Re-create a deleted link from its snapshot: kind, settings, master,
 * ports, state. */
static int recreate(struct vf_hostcmd_applier *a, const struct vf_hostcmd_snap *s, char **error)
{
	struct vf_netlink *nl = a->nl;
	const struct vf_link *l = &s->link;
	/* no bond options yet: primary names a port, enslaved below, so they
	 * are set after */
	const struct vf_host_link d = {
		.name = l->name,
		.kind = vf_hostcmd_link_kind(l->kind),
		.mtu = l->mtu,
		.stp = l->stp,
		.vlan_base = l->vlan_base,
		.vlan_id = l->vlan_id,
		.bond_mode = l->bond_mode[0] ? l->bond_mode : NULL,
	};
	size_t i;
	int rc;

	rc = vf_hostcmd_link_create(nl, &d, error);
	if (rc < 0)
		return rc;
	if (l->master[0] && (rc = vf_link_set_master(nl, l->name, l->master, error)) < 0)
		return rc;
	for (i = 0; i < s->n_ports; i++) {
		char *e = NULL;

		/* best effort: a port may have gone meanwhile */
		vf_link_set_master(nl, s->ports[i], l->name, &e);
		free(e);
	}
	/* a bridge takes its ports' MTU as they join (as apply does, set its
	 * own again after them) */
	if (s->n_ports && l->mtu && (rc = vf_link_set_mtu(nl, l->name, l->mtu, error)) < 0)
		return rc;
	if (l->kind == VF_LINK_KIND_BOND && l->n_bond_options &&
	    (rc = vf_link_set_bond_options(nl, l->name, l->bond_options, l->n_bond_options,
					   error)) < 0)
		return rc;
	return l->up ? vf_link_set_up(nl, l->name, true, error) : 0;
}

/* Set the options of step st back to the snapshot's values. */
static int undo_bond_options(struct vf_hostcmd_applier *a, const struct vf_hostcmd_step *st, const struct vf_hostcmd_snap *s,
			     char **error)
{
	struct vf_link_bond_option *opts = xcalloc(st->n_options + 1, sizeof(*opts));
	size_t i, n = 0;
	int rc;

	/* miimon first: the delays are sent in its units (see apply_bond_options) */
	for (i = 0; i < st->n_options; i++) {
		const char *v = vf_link_bond_option(&s->link, st->options[i]);

		if (!v && strcmp(st->options[i], "primary"))
			continue;   /* not reported before: nothing to go back to */
		snprintf(opts[n].name, sizeof(opts[n].name), "%s", st->options[i]);
		snprintf(opts[n].value, sizeof(opts[n].value), "%s", v ? v : "");
		n++;
	}
	rc = n ? vf_link_set_bond_options(a->nl, s->name, opts, n, error) : 0;
	free(opts);
	return rc;
}

static int undo(struct vf_hostcmd_applier *a, const struct vf_hostcmd_step *st, char **error)
{
	const struct vf_hostcmd_snap *s = &a->snaps[st->snap];
	const char *name = s->name;
	struct vf_netlink *nl = a->nl;

	/* a setting of a link this apply created: undoing its creation is enough */
	if (!s->exists && st->type != STEP_CREATED)
		return 0;
	switch (st->type) {
	case STEP_CREATED:
		return vf_link_delete(nl, name, error);
	case STEP_DELETED:
		return recreate(a, s, error);
	case STEP_MTU:
		return vf_link_set_mtu(nl, name, s->link.mtu, error);
	case STEP_STP:
		return s->link.stp < 0 ? 0 : vf_link_set_bridge_stp(nl, name, s->link.stp, error);
	case STEP_UP:
		return vf_link_set_up(nl, name, s->link.up, error);
	case STEP_MASTER:
		if (!s->link.master[0])
			return vf_link_release(nl, name, error);
		return vf_link_set_master(nl, name, s->link.master, error);
	case STEP_BOND_OPTIONS:
		return undo_bond_options(a, st, s, error);
	}
	return 0;
}

/*
 * Undo every step in reverse order, re-read and compare with the
 * snapshot.  NULL when the links are as before, else what differs or
 * could not be undone (malloc'd).
 */
char *vf_hostcmd_rollback(struct vf_hostcmd_applier *a)
{
	char *problems = NULL, *error = NULL;
	size_t i, j;

	for (i = a->n_steps; i-- > 0;) {
		if (undo(a, &a->steps[i], &error) < 0) {
			a->steps[i].undo_failed = true;
			vf_hostcmd_problem_add(&problems, "%s", error);
			free(error);
			error = NULL;
		}
	}
	if (vf_hostcmd_reread(a, &error) < 0) {
		vf_hostcmd_problem_add(&problems, "%s", error);
		free(error);
		return problems;
	}
	for (i = 0; i < a->n_snaps; i++) {
		const struct vf_hostcmd_snap *s = &a->snaps[i];
		const struct vf_link *l = vf_link_list_find(a->list, s->name);

		if (!s->exists) {
			if (l)
				vf_hostcmd_problem_add(&problems, "link '%s' still exists", s->name);
			continue;
		}
		if (!l) {
			vf_hostcmd_problem_add(&problems, "link '%s' is missing", s->name);
			continue;
		}
		if (l->mtu != s->link.mtu)
			vf_hostcmd_problem_add(&problems, "link '%s' has mtu %u, was %u", l->name, l->mtu,
				    s->link.mtu);
		if (strcmp(l->master, s->link.master))
			vf_hostcmd_problem_add(&problems, "link '%s' has master %s, was %s", l->name,
				    l->master[0] ? l->master : "(none)",
				    s->link.master[0] ? s->link.master : "(none)");
		if (l->up != s->link.up)
			vf_hostcmd_problem_add(&problems, "link '%s' is %s, was %s", l->name,
				    l->up ? "up" : "down", s->link.up ? "up" : "down");
		for (j = 0; j < s->link.n_bond_options; j++) {
			const char *have = vf_link_bond_option(l, s->link.bond_options[j].name);

			if (!have || strcmp(have, s->link.bond_options[j].value))
				vf_hostcmd_problem_add(&problems, "bond '%s' has %s %s, was %s", l->name,
					    s->link.bond_options[j].name, have ? have : "(none)",
					    s->link.bond_options[j].value);
		}
	}
	return problems;
}

/* ---- the snapshot and steps as JSON (the pending file) -------------------- */

/* ["a", "b"] of n strings (a new reference). */
static json_t *strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* As link_from_json reads it back: strings "" for none, stp -1 unknown,
 * bond_options only when there are any.  master and vlan_base name links
 * of the kernel's, maybe not in UTF-8: such a name is null (read back as
 * ""), the rest of the record is kept. */
json_t *vf_hostcmd_snap_json(const struct vf_hostcmd_snap *s)
{
	const struct vf_link *l = &s->link;
	json_t *o = json_pack("{s:s, s:b}", "name", s->name, "exists", s->exists);

	if (!s->exists)
		return o;
	json_object_update_new(o, json_pack("{s:s, s:I, s:b, s:o?, s:o?, s:I, s:s, s:o*, s:i, s:o}",
		"kind", vf_link_kind_name(l->kind), "mtu", (json_int_t)l->mtu, "up", l->up,
		"master", json_string(l->master), "vlan_base", json_string(l->vlan_base),
		"vlan_id", (json_int_t)l->vlan_id,
		"bond_mode", l->bond_mode,
		"bond_options", l->n_bond_options ? vf_hostcmd_bond_options_json(l) : NULL,
		"stp", l->stp, "ports", strings_json(s->ports, s->n_ports)));
	return o;
}

json_t *vf_hostcmd_steps_json(const struct vf_hostcmd_applier *a)
{
	json_t *steps = json_array();
	size_t i;

	for (i = 0; i < a->n_steps; i++) {
		const struct vf_hostcmd_step *st = &a->steps[i];

		json_array_append_new(steps, json_pack("{s:s, s:s, s:o*}",
			"type", step_names[st->type], "link", a->snaps[st->snap].name,
			"options", st->n_options ? strings_json(st->options, st->n_options) : NULL));
	}
	return steps;
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
	snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* The applier of a pending file: its snapshot and steps.  0, or -1 with *error. */
/* The strings of JSON array arr (others skipped), NULL-terminated, their
 * count in *n; malloc'd. */
static char **strings_from_json(const json_t *arr, size_t *n)
{
	char **v = xcalloc(json_array_size(arr) + 1, sizeof(*v));
	const json_t *val;
	size_t j;

	*n = 0;
	json_array_foreach(arr, j, val)
		if (json_is_string(val))
			v[(*n)++] = xstrdup(json_string_value(val));
	return v;
}

/* A snapshot's link as pending_json wrote it. */
static void link_from_json(struct vf_link *l, const char *name, const json_t *v)
{
	const json_t *opts = json_object_get(v, "bond_options");
	const char *key, *kind = vf_json_str(v, "kind");
	json_t *val;
	size_t j;

	snprintf(l->name, sizeof(l->name), "%s", name);
	l->kind = VF_LINK_KIND_OTHER;
	for (j = 0; kind && j <= VF_LINK_KIND_OTHER; j++)
		if (!strcmp(vf_link_kind_name((enum vf_link_kind)j), kind))
			l->kind = (enum vf_link_kind)j;
	l->mtu = (unsigned)json_integer_value(json_object_get(v, "mtu"));
	l->up = json_is_true(json_object_get(v, "up"));
	copy_str(l->master, sizeof(l->master), json_object_get(v, "master"));
	copy_str(l->vlan_base, sizeof(l->vlan_base), json_object_get(v, "vlan_base"));
	l->vlan_id = (unsigned)json_integer_value(json_object_get(v, "vlan_id"));
	copy_str(l->bond_mode, sizeof(l->bond_mode), json_object_get(v, "bond_mode"));
	l->stp = json_is_integer(json_object_get(v, "stp"))
		? (int)json_integer_value(json_object_get(v, "stp")) : -1;
	json_object_foreach((json_t *)opts, key, val) {
		struct vf_link_bond_option *o;

		if (l->n_bond_options == VF_LINK_BOND_OPTIONS_MAX)
			break;
		o = &l->bond_options[l->n_bond_options++];
		snprintf(o->name, sizeof(o->name), "%s", key);
		copy_str(o->value, sizeof(o->value), val);
	}
}

/* snapshot[i] (v) into a.  0, or -1 with *error. */
static int snap_from_json(struct vf_hostcmd_applier *a, size_t i, const json_t *v, char **error)
{
	const char *name = vf_json_str(v, "name");
	struct vf_hostcmd_snap *s;

	if (!name) {
		*error = xasprintf("snapshot[%zu] has no name", i);
		return -1;
	}
	s = snap_new(a, name);
	s->exists = json_is_true(json_object_get(v, "exists"));
	if (!s->exists)
		return 0;
	link_from_json(&s->link, name, v);
	s->ports = strings_from_json(json_object_get(v, "ports"), &s->n_ports);
	return 0;
}

/* steps[i] (v) into a, on a link of its snapshot.  0, or -1 with *error. */
static int step_from_json(struct vf_hostcmd_applier *a, size_t i, const json_t *v, char **error)
{
	const char *type = vf_json_str(v, "type"), *link = vf_json_str(v, "link");
	struct vf_hostcmd_step *st;
	size_t t;

	for (t = 0; type && t < VF_ARRAY_SIZE(step_names); t++)
		if (!strcmp(step_names[t], type))
			break;
	if (!type || t == VF_ARRAY_SIZE(step_names) || !link ||
	    snap_index(a, link) == (size_t)-1) {
		*error = xasprintf("steps[%zu] is not a step of the snapshot", i);
		return -1;
	}
	st = vf_hostcmd_step_add(a, (enum step_type)t, link);
	st->options = strings_from_json(json_object_get(v, "options"), &st->n_options);
	return 0;
}

int vf_hostcmd_applier_from_json(struct vf_hostcmd_applier *a, const json_t *pending, char **error)
{
	const json_t *snaps = json_object_get(pending, "snapshot");
	const json_t *steps = json_object_get(pending, "steps");
	const json_t *v;
	size_t i;

	if (!json_is_array(snaps) || !json_is_array(steps)) {
		*error = xstrdup("no \"snapshot\" or \"steps\" array");
		return -1;
	}
	json_array_foreach(snaps, i, v)
		if (snap_from_json(a, i, v, error) < 0)
			return -1;
	json_array_foreach(steps, i, v)
		if (step_from_json(a, i, v, error) < 0)
			return -1;
	return 0;
}
