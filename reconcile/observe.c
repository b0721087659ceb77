/*
 * observe.c — read every host of a config at once.
 *
 * Each host gets one provider observe() call on a pool thread
 * (reconcile/pool.h) with its own deadline: a hung libvirtd costs the
 * timeout, not the run.  The request says which networks, pools and
 * volumes are of interest on that host (those the config wants there and
 * those the state says virtform made there), so the provider reads those
 * in full and only lists the rest.
 *
 * A request is handed to the pool with everything it points to, because
 * an abandoned worker may outlive the caller's config: its own arena, and
 * a reference to the one list of the config's volume names (every VM
 * disk's "VM-DISK" and every image) that all hosts share.  That list is
 * the big one — 20,000 names for 10,000 VMs with two disks — so it is
 * built once, not once per host.  Names may repeat in a request (a state
 * record of a config disk): the provider reads them as a set.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/engine.h"
#include "reconcile/pool.h"

/* The config's volume names, shared by every request; freed by the last. */
struct shared_names {
	atomic_uint refs;
	struct vf_arena arena;
	const char **v;
	size_t n;
};

struct observe_arg {
	struct vf_arena arena;
	struct vf_observe_request req;
	const struct vf_provider *provider;
	struct shared_names *volumes;      /* a reference */
};

struct observe_result {
	struct vf_observed *observed;
	char *error;
};

struct names {
	const char **v;
	size_t n, alloc;
	struct vf_strmap seen;
};

static void names_add(struct names *n, struct vf_arena *a, const char *name)
{
	const char *copy;

	if (!name || vf_strmap_get(&n->seen, name))
		return;
	copy = vf_arena_strdup(a, name);
	vf_strmap_put(&n->seen, copy, (void *)copy);
	VF_GROW(n->v, n->n + 1, n->alloc);
	n->v[n->n++] = copy;
}

/* Copy names into the arena as the request's array, and free the list. */
static const char **names_finish(struct names *n, struct vf_arena *a, size_t *count)
{
	const char **out = vf_arena_alloc(a, (n->n ? n->n : 1) * sizeof(*out));

	if (n->n)
		memcpy(out, n->v, n->n * sizeof(*out));
	*count = n->n;
	free(n->v);
	vf_strmap_release(&n->seen);
	return out;
}

static struct shared_names *config_volume_names(const struct vf_config *c)
{
	struct shared_names *sn = xcalloc(1, sizeof(*sn));
	size_t i, j, n = c->n_images;

	atomic_init(&sn->refs, 1);
	for (i = 0; i < c->n_vms; i++)
		n += c->vms[i].n_disks;
	sn->v = vf_arena_alloc(&sn->arena, (n ? n : 1) * sizeof(*sn->v));
	for (i = 0; i < c->n_images; i++)
		sn->v[sn->n++] = vf_arena_strdup(&sn->arena, c->images[i].name);
	for (i = 0; i < c->n_vms; i++) {
		const struct vf_vm *vm = &c->vms[i];
		size_t vlen = strlen(vm->name);
		for (j = 0; j < vm->n_disks; j++) {
			size_t dlen = strlen(vm->disks[j].name);
			char *name = vf_arena_alloc(&sn->arena, vlen + dlen + 2);
			memcpy(name, vm->name, vlen);
			name[vlen] = '-';
			memcpy(name + vlen + 1, vm->disks[j].name, dlen + 1);
			sn->v[sn->n++] = name;
		}
	}
	return sn;
}

static void shared_names_unref(struct shared_names *sn)
{
	if (!sn || atomic_fetch_sub(&sn->refs, 1) != 1)
		return;
	vf_arena_release(&sn->arena);
	free(sn);
}

static struct observe_arg *request_for(const struct vf_config *c, const struct vf_host *h,
				       const struct vf_state *state,
				       const struct vf_provider *provider,
				       struct shared_names *volumes)
{
	struct observe_arg *arg = xcalloc(1, sizeof(*arg));
	struct vf_arena *a = &arg->arena;
	struct names nets = { 0 }, pools = { 0 }, vols = { 0 };
	const char **all;
	size_t i;

	arg->provider = provider;
	atomic_fetch_add(&volumes->refs, 1);
	arg->volumes = volumes;
	arg->req.host = vf_arena_strdup(a, h->name);
	arg->req.uri = vf_arena_strdup(a, h->uri);
	arg->req.project = vf_arena_strdup(a, c->project);
	for (i = 0; i < c->n_networks; i++)
		if (vf_cluster_in_scope(c->networks[i].cluster_refs, c->networks[i].n_clusters, h->cluster_ref))
			names_add(&nets, a, c->networks[i].name);
	for (i = 0; i < c->n_storages; i++)
		if (vf_cluster_in_scope(c->storages[i].cluster_refs, c->storages[i].n_clusters, h->cluster_ref))
			names_add(&pools, a, c->storages[i].name);
	for (i = 0; state && i < state->n; i++) {
		const struct vf_state_entry *e = &state->entries[i];
		if (!e->host || strcmp(e->host, h->name))
			continue;
		if (e->kind == VF_KIND_NETWORK)
			names_add(&nets, a, e->name);
		else if (e->kind == VF_KIND_STORAGE)
			names_add(&pools, a, e->name);
		else if (e->kind == VF_KIND_VOLUME) {
			names_add(&vols, a, e->name);
			names_add(&pools, a, e->pool);
		}
	}
	arg->req.networks = names_finish(&nets, a, &arg->req.n_networks);
	arg->req.pools = names_finish(&pools, a, &arg->req.n_pools);
	/* the shared names, then this host's state records */
	arg->req.n_volumes = volumes->n + vols.n;
	all = vf_arena_alloc(a, (arg->req.n_volumes ? arg->req.n_volumes : 1) * sizeof(*all));
	if (volumes->n)
		memcpy(all, volumes->v, volumes->n * sizeof(*all));
	if (vols.n)
		memcpy(all + volumes->n, vols.v, vols.n * sizeof(*all));
	free(vols.v);
	vf_strmap_release(&vols.seen);
	arg->req.volumes = all;
	return arg;
}

static void *observe_run(void *opaque)
{
	struct observe_arg *arg = opaque;
	struct observe_result *res = xcalloc(1, sizeof(*res));

	res->observed = arg->provider->observe(&arg->req, &res->error);
	if (!res->observed && !res->error)
		res->error = xstrdup("unknown error");
	return res;
}

static void observe_arg_free(void *opaque)
{
	struct observe_arg *arg = opaque;

	shared_names_unref(arg->volumes);
	vf_arena_release(&arg->arena);
	free(arg);
}

static void observe_result_free(void *opaque)
{
	struct observe_result *res = opaque;

	if (!res)
		return;
	vf_observed_free(res->observed);
	free(res->error);
	free(res);
}

size_t vf_observe_all(const struct vf_config *config, const struct vf_provider *provider,
		      const struct vf_state *state, double timeout, unsigned max_threads,
		      struct vf_views *views)
{
	static const struct vf_pool_ops ops = {
		.run = observe_run,
		.free_arg = observe_arg_free,
		.free_result = observe_result_free,
	};
	struct vf_pool_item *items = xcalloc(config->n_hosts ? config->n_hosts : 1, sizeof(*items));
	struct shared_names *volumes = config_volume_names(config);
	size_t i, unreachable = 0;

	views->n = config->n_hosts;
	views->hosts = xcalloc(config->n_hosts ? config->n_hosts : 1, sizeof(*views->hosts));
	for (i = 0; i < config->n_hosts; i++) {
		items[i].arg = request_for(config, &config->hosts[i], state, provider, volumes);
		items[i].timeout = timeout;
	}
	shared_names_unref(volumes);     /* the requests hold it now */
	vf_pool_run(items, config->n_hosts, max_threads, &ops);
	for (i = 0; i < config->n_hosts; i++) {
		struct vf_host_view *v = &views->hosts[i];
		v->host = &config->hosts[i];
		if (items[i].status == VF_POOL_DONE) {
			struct observe_result *res = items[i].result;
			v->observed = res->observed;
			v->error = res->error;
			free(res);
		} else if (items[i].status == VF_POOL_TIMED_OUT) {
			v->error = xasprintf("timed out after %g s", timeout);
		} else {
			v->error = xstrdup("cannot start a thread");
		}
		if (!v->observed)
			unreachable++;
	}
	free(items);
	return unreachable;
}

static void view_release(struct vf_host_view *v)
{
	vf_observed_free(v->observed);
	free(v->error);
}

void vf_views_release(struct vf_views *views)
{
	VF_FREE_ARRAY(views->hosts, views->n, view_release);
	views->hosts = NULL;
	views->n = 0;
}

struct vf_host_view *vf_views_find(const struct vf_views *v, const char *host)
{
	size_t i;

	for (i = 0; host && i < v->n; i++)
		if (!strcmp(v->hosts[i].host->name, host))
			return &v->hosts[i];
	return NULL;
}
