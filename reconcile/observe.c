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
 * A request is handed to the pool with everything it points to (one
 * arena), because an abandoned worker may outlive the caller's config.
 */
#include <stdlib.h>
#include <string.h>

#include "reconcile/engine.h"
#include "reconcile/pool.h"

struct observe_arg {
	struct vf_arena arena;
	struct vf_observe_request req;
	const struct vf_provider *provider;
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

static struct observe_arg *request_for(const struct vf_config *c, const struct vf_host *h,
				       const struct vf_state *state,
				       const struct vf_provider *provider)
{
	struct observe_arg *arg = xcalloc(1, sizeof(*arg));
	struct vf_arena *a = &arg->arena;
	struct names nets = { 0 }, pools = { 0 }, vols = { 0 };
	size_t i, j;

	arg->provider = provider;
	arg->req.host = vf_arena_strdup(a, h->name);
	arg->req.uri = vf_arena_strdup(a, h->uri);
	arg->req.project = vf_arena_strdup(a, c->project);
	for (i = 0; i < c->n_networks; i++)
		if (vf_cluster_in_scope(c->networks[i].cluster_refs, c->networks[i].n_clusters, h->cluster_ref))
			names_add(&nets, a, c->networks[i].name);
	for (i = 0; i < c->n_storages; i++)
		if (vf_cluster_in_scope(c->storages[i].cluster_refs, c->storages[i].n_clusters, h->cluster_ref))
			names_add(&pools, a, c->storages[i].name);
	for (i = 0; i < c->n_images; i++)
		names_add(&vols, a, c->images[i].name);
	for (i = 0; i < c->n_vms; i++)
		for (j = 0; j < c->vms[i].n_disks; j++) {
			char *name = xasprintf("%s-%s", c->vms[i].name, c->vms[i].disks[j].name);
			names_add(&vols, a, name);
			free(name);
		}
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
	arg->req.volumes = names_finish(&vols, a, &arg->req.n_volumes);
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
	size_t i, unreachable = 0;

	views->n = config->n_hosts;
	views->hosts = xcalloc(config->n_hosts ? config->n_hosts : 1, sizeof(*views->hosts));
	for (i = 0; i < config->n_hosts; i++) {
		items[i].arg = request_for(config, &config->hosts[i], state, provider);
		items[i].timeout = timeout;
	}
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

void vf_views_release(struct vf_views *views)
{
	size_t i;

	for (i = 0; i < views->n; i++) {
		vf_observed_free(views->hosts[i].observed);
		free(views->hosts[i].error);
	}
	free(views->hosts);
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
