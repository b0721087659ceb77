/*
 * import.c — adopt an existing object the config describes (`virtform
 * import ADDR`): find it on its host, show how it differs from the config,
 * and make it managed without changing it.
 *
 * "Managed" is what plan.c's ownership rules read: a domain carries the
 * project's marker; a network, pool or volume has a state record.  Import
 * first makes the object managed in memory only (the observation's marker,
 * the state's records), so the ordinary planner computes the remaining
 * differences exactly as the next `virtform plan` will; the caller then
 * writes the marker (provider->adopt) and saves the state.
 *
 * A VM comes with the disks the config gives it: a volume of the
 * expected name (VM-DISK) found in the disk's pool on the VM's host is
 * adopted with it, so the next plan neither clashes on it nor creates it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/engine.h"

static struct vf_observed_item *find_item(struct vf_host_view *v, enum vf_kind kind,
					  const char *pool, const char *name)
{
	size_t i;

	if (!v || !v->observed)
		return NULL;
	for (i = 0; i < v->observed->n_items; i++) {
		struct vf_observed_item *it = &v->observed->items[i];
		if (it->r.kind != kind || strcmp(it->r.name, name))
			continue;
		if (pool && (!it->detailed || !it->r.u.vol.pool || strcmp(it->r.u.vol.pool, pool)))
			continue;
		return it;
	}
	return NULL;
}

/* Split "KIND.NAME[@HOST]"; false when it is not an address. */
static bool parse_address(const char *address, enum vf_kind *kind, char **name, char **host)
{
	static const struct { const char *prefix; enum vf_kind kind; } kinds[] = {
		{ "vm.", VF_KIND_VM }, { "network.", VF_KIND_NETWORK },
		{ "storage.", VF_KIND_STORAGE }, { "volume.", VF_KIND_VOLUME },
	};
	const char *rest = NULL, *at;
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(kinds) && !rest; i++)
		if (!strncmp(address, kinds[i].prefix, strlen(kinds[i].prefix))) {
			rest = address + strlen(kinds[i].prefix);
			*kind = kinds[i].kind;
		}
	if (!rest || !*rest)
		return false;
	at = strchr(rest, '@');
	*name = at ? xstrndup(rest, (size_t)(at - rest)) : xstrdup(rest);
	*host = at && at[1] ? xstrdup(at + 1) : NULL;
	return **name && (*kind == VF_KIND_VM || *host);
}

static void record(struct vf_state *state, const struct vf_resource *r, const char *address,
		   const char *host, const char *pool)
{
	struct vf_state_entry e = {
		.address = (char *)address, .kind = r->kind, .name = (char *)r->name,
		.host = (char *)host, .pool = (char *)pool, .uuid = (char *)r->uuid,
	};
	vf_state_put(state, &e);
}

/* What vf_import_prepare is looking for, and where it found it. */
struct lookup {
	const char *address;
	enum vf_kind kind;
	char *name, *host;               /* host: NULL for a VM */
	struct vf_host_view *where;
	struct vf_observed_item *it;
};

/*
 * A VM: on its pinned host, else on the one host of its cluster that has
 * a domain of the name.  -1 (an error in diags) when two hosts have one.
 */
static int find_domain(const struct vf_config *config, struct vf_views *views,
		       struct lookup *l, struct vf_diags *diags)
{
	const struct vf_vm *vm = vf_config_find_vm(config, l->name);
	size_t i;

	for (i = 0; i < views->n; i++) {
		struct vf_host_view *v = &views->hosts[i];
		struct vf_observed_item *found;
		if (vm && !vf_vm_may_run_on(vm, v->host))
			continue;
		found = find_item(v, VF_KIND_VM, NULL, l->name);
		if (!found)
			continue;
		if (l->it) {
			vf_error_at(diags, &vm->pos, "pin the VM to the host that has its data "
						    "(host: NAME) and import again",
				    "%s: hosts '%s' and '%s' both have a domain named '%s'",
				    l->address, l->where->host->name, v->host->name, l->name);
			return -1;
		}
		l->it = found;
		l->where = v;
	}
	return 0;
}

/* Find the object of l on its host; -1 (an error in diags) when it is
 * not there or a host that may have it is unreachable. */
static int find_object(const struct vf_config *config, struct vf_views *views,
		       struct lookup *l, struct vf_diags *diags)
{
	struct vf_pos nopos = { 0 };
	size_t i;

	if (l->kind == VF_KIND_VM) {
		if (find_domain(config, views, l, diags) < 0)
			return -1;
	} else {
		l->where = vf_views_find(views, l->host);
		if (l->where)
			l->it = find_item(l->where, l->kind, NULL, l->name);
	}
	for (i = 0; i < views->n; i++)
		if (!views->hosts[i].observed && (!l->where || l->where == &views->hosts[i]) &&
		    (l->kind == VF_KIND_VM || !strcmp(views->hosts[i].host->name, l->host))) {
			vf_error_at(diags, &views->hosts[i].host->pos, NULL,
				    "host '%s' is unreachable: %s", views->hosts[i].host->name,
				    views->hosts[i].error ? views->hosts[i].error : "unknown error");
			return -1;
		}
	if (!l->it) {
		vf_error_at(diags, &nopos, "nothing to import: 'virtform apply' creates it",
			    "%s: no %s named '%s' exists on %s%s", l->address, vf_kind_name(l->kind),
			    l->name, l->kind == VF_KIND_VM ? "any host of its cluster" : "host ",
			    l->kind == VF_KIND_VM ? "" : l->host);
		return -1;
	}
	return 0;
}

/*
 * Make the object found managed, in memory: a domain gets this project's
 * marker (refused when another project's is there), and every object a
 * state record.  imp->already when it was managed before.
 */
static void adopt(const struct vf_config *config, struct vf_state *state,
		  const struct lookup *l, struct vf_import *imp, struct vf_diags *diags)
{
	struct vf_pos nopos = { 0 };
	struct vf_observed_item *it = l->it;

	if (l->kind == VF_KIND_VM) {
		const char *project = it->r.u.vm.marker.project;
		if (project && !strcmp(project, config->project)) {
			imp->already = true;
			return;
		}
		if (project) {
			vf_error_at(diags, &nopos, "a VM belongs to one project: destroy or release it "
						  "there first",
				    "%s: domain '%s' on host '%s' is managed by project '%s'",
				    l->address, l->name, imp->host, project);
			return;
		}
		/* managed, in memory: the planner places and diffs it as ours */
		it->r.u.vm.marker.project = config->project;
		record(state, &it->r, l->address, imp->host, NULL);
	} else {
		if (vf_state_find(state, l->address)) {
			imp->already = true;
			return;
		}
		record(state, &it->r, l->address, imp->host, vf_observed_pool(it));
	}
}

int vf_import_prepare(const struct vf_config *config, struct vf_views *views,
		      struct vf_state *state, const char *address, struct vf_import *imp,
		      struct vf_diags *diags)
{
	struct vf_pos nopos = { 0 };
	struct lookup l = { .address = address, .kind = VF_KIND_VM };
	size_t errors = diags->n_errors;

	memset(imp, 0, sizeof(*imp));
	if (!parse_address(address, &l.kind, &l.name, &l.host)) {
		vf_error_at(diags, &nopos, "addresses look like vm.NAME, network.NAME@HOST, "
					  "storage.NAME@HOST, volume.NAME@HOST",
			    "'%s' is not an address virtform can import", address);
	} else if (!vf_target_known(config, address)) {
		vf_error_at(diags, &nopos, "describe it in the configuration first: import adopts "
					  "what the configuration already says",
			    "%s is not in the configuration", address);
	} else if (find_object(config, views, &l, diags) == 0) {
		imp->item = l.it;
		imp->host = l.where->host->name;
		adopt(config, state, &l, imp, diags);
	}
	free(l.name);
	free(l.host);
	return diags->n_errors == errors ? 0 : -1;
}

int vf_import_disks(const struct vf_desired *desired, struct vf_views *views,
		    struct vf_state *state, struct vf_import *imp)
{
	struct vf_host_view *v = vf_views_find(views, imp->host);
	struct vf_marker *m = &imp->marker;
	size_t i;

	if (imp->item->r.kind != VF_KIND_VM)
		return 0;
	m->project = imp->item->r.u.vm.marker.project;
	for (i = 0; i < desired->n; i++) {
		const struct vf_resource *d = &desired->items[i];
		struct vf_observed_item *vol;
		if (d->kind != VF_KIND_VOLUME || !d->u.vol.vm || strcmp(d->u.vol.vm, imp->item->r.name) ||
		    strcmp(d->host, imp->host))
			continue;
		vol = find_item(v, VF_KIND_VOLUME, d->u.vol.pool, d->name);
		if (!vol || vf_state_find(state, d->address))
			continue;
		record(state, &vol->r, d->address, imp->host, d->u.vol.pool);
		VF_GROW(imp->volumes, m->n_volumes + 1, imp->alloc_volumes);
		imp->volumes[m->n_volumes].pool = d->u.vol.pool;
		imp->volumes[m->n_volumes].name = d->name;
		imp->volumes[m->n_volumes].keep = d->u.vol.keep;
		m->n_volumes++;
		imp->n_disks++;
	}
	m->volumes = imp->volumes;
	imp->item->r.u.vm.marker.volumes = m->volumes;
	imp->item->r.u.vm.marker.n_volumes = m->n_volumes;
	return 0;
}

void vf_import_release(struct vf_import *imp)
{
	free(imp->volumes);
	memset(imp, 0, sizeof(*imp));
}
