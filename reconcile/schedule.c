/*
 * schedule.c — the scheduler's core: the input indexed (names interned,
 * hosts listed per cluster, VMs per affinity group), where each VM runs,
 * the filters and the weights as two tables of small named units (as
 * oVirt's policy units and Kubernetes' plugins are), the best host for a
 * VM, and explain.  The moves made of these are in schedule-moves.c, the
 * validate checks in schedule-check.c.
 *
 * Cost: placing one VM asks every host of its cluster once, each filter
 * O(1) but the network and storage ones (O(what the VM needs)) and the
 * affinity ones (O(groups of the VM)); a positive group's host is found
 * once per VM (O(hosts)), not per host.  Pure: no I/O, no clock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/model.h"
#include "reconcile/schedule-internal.h"

static const char *const policy_names[] = {
	[VF_SCHED_EVENLY_DISTRIBUTED] = "evenly_distributed",
	[VF_SCHED_POWER_SAVING] = "power_saving",
	[VF_SCHED_VM_EVENLY_DISTRIBUTED] = "vm_evenly_distributed",
};

const char *vf_sched_policy_name(enum vf_sched_policy p)
{
	return policy_names[p];
}

/* ---- indexing ---- */

int vf_sched_id(const struct vf_strmap *m, const char *name)
{
	void *v = name ? vf_strmap_get(m, name) : NULL;

	return v ? (int)((uintptr_t)v - 1) : -1;
}

static void intern(struct vf_strmap *m, const char *name, size_t id)
{
	if (name)
		vf_strmap_put(m, name, (void *)(uintptr_t)(id + 1));
}

/* Each of names[n] an id in m (the next free one when new). */
static void intern_all(struct vf_strmap *m, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (vf_sched_id(m, names[i]) < 0)
			intern(m, names[i], m->n);
}

/* The ids of names in m; -1 for a name present on no host. */
static int *ids_of(struct vf_sched *s, const struct vf_strmap *m, const char *const *names,
		   size_t n)
{
	int *ids = vf_arena_alloc(&s->arena, (n ? n : 1) * sizeof(*ids));
	size_t i;

	for (i = 0; i < n; i++)
		ids[i] = vf_sched_id(m, names[i]);
	return ids;
}

static void bits_set(struct vf_sched_bits *b, size_t i)
{
	b->words[i / 64] |= (uint64_t)1 << (i % 64);
}

static struct vf_sched_bits bits_new(struct vf_sched *s, size_t n_bits)
{
	struct vf_sched_bits b;

	b.words = vf_arena_alloc(&s->arena, ((n_bits + 63) / 64 + 1) * sizeof(uint64_t));
	return b;
}

/* x * pct / 100, saturating. */
static uint64_t percent_of(uint64_t x, unsigned pct)
{
	return x / 100 > UINT64_MAX / pct ? UINT64_MAX : x / 100 * pct + x % 100 * pct / 100;
}

static void index_hosts(struct vf_sched *s, struct vf_strmap *nets, struct vf_strmap *stors)
{
	const struct vf_sched_input *in = s->in;
	size_t i, j;

	s->h = vf_arena_alloc(&s->arena, (in->n_hosts + 1) * sizeof(*s->h));
	s->cluster_hosts = vf_arena_alloc(&s->arena, (in->n_clusters + 1) * sizeof(*s->cluster_hosts));
	s->n_cluster_hosts = vf_arena_alloc(&s->arena, (in->n_clusters + 1) * sizeof(size_t));
	for (i = 0; i < in->n_hosts; i++) {
		const struct vf_sched_host *h = &in->hosts[i];
		struct vf_sched_hostrec *r = &s->h[i];
		const struct vf_sched_cluster *c;
		r->cluster = vf_sched_id(&s->cluster_ids, h->cluster);
		c = r->cluster >= 0 ? &in->clusters[r->cluster] : NULL;
		r->memory_cap = percent_of(h->memory_total > h->memory_reserve ?
					   h->memory_total - h->memory_reserve : 0,
					   c && c->memory_overcommit ? c->memory_overcommit : 100);
		r->vcpu_cap = c && c->cpu_overcommit ? percent_of(h->cpus, c->cpu_overcommit) : 0;
		r->memory_used = h->memory_other;
		r->vcpus_used = h->vcpus_other;
		r->maintenance = h->maintenance;
		r->down = h->non_operational;
		if (r->cluster >= 0)
			s->n_cluster_hosts[r->cluster]++;
		intern_all(nets, h->networks, h->n_networks);
		intern_all(stors, h->storages, h->n_storages);
	}
	for (i = 0; i < in->n_clusters; i++) {
		s->cluster_hosts[i] = vf_arena_alloc(&s->arena,
						     (s->n_cluster_hosts[i] + 1) * sizeof(size_t));
		s->n_cluster_hosts[i] = 0;
	}
	for (i = 0; i < in->n_hosts; i++) {
		const struct vf_sched_host *h = &in->hosts[i];
		struct vf_sched_hostrec *r = &s->h[i];
		if (r->cluster >= 0)
			s->cluster_hosts[r->cluster][s->n_cluster_hosts[r->cluster]++] = i;
		r->networks = bits_new(s, nets->n);
		r->storages = bits_new(s, stors->n);
		for (j = 0; j < h->n_networks; j++)
			bits_set(&r->networks, (size_t)vf_sched_id(nets, h->networks[j]));
		for (j = 0; j < h->n_storages; j++)
			bits_set(&r->storages, (size_t)vf_sched_id(stors, h->storages[j]));
	}
}

static void index_groups(struct vf_sched *s)
{
	const struct vf_sched_input *in = s->in;
	size_t i, j, max = 1;
	size_t *seen = xmalloc((in->n_vms + 1) * sizeof(*seen));  /* last group a VM was in */

	for (i = 0; i < in->n_vms; i++)
		seen[i] = SIZE_MAX;
	s->g = vf_arena_alloc(&s->arena, (in->n_groups + 1) * sizeof(*s->g));
	for (i = 0; i < in->n_groups; i++) {
		const struct vf_sched_group *grp = &in->groups[i];
		struct vf_sched_grouprec *g = &s->g[i];
		g->members = vf_arena_alloc(&s->arena, (grp->n_vms + 1) * sizeof(size_t));
		for (j = 0; j < grp->n_vms; j++) {
			int vm = vf_sched_id(&s->vm_ids, grp->vms[j]);
			if (vm >= 0 && seen[vm] != i) {   /* a name given twice counts once */
				seen[vm] = i;
				g->members[g->n_members++] = (size_t)vm;
				s->v[vm].n_groups++;
			}
		}
		if (grp->vm_rule != VF_AFFINITY_NONE)
			g->count = vf_arena_alloc(&s->arena, (in->n_hosts + 1) * sizeof(uint32_t));
		if (grp->host_rule != VF_AFFINITY_NONE) {
			g->hosts = bits_new(s, in->n_hosts);
			for (j = 0; j < grp->n_hosts; j++) {
				int h = vf_sched_id(&s->host_ids, grp->hosts[j]);
				if (h >= 0)
					bits_set(&g->hosts, (size_t)h);
			}
		}
	}
	for (i = 0; i < in->n_vms; i++) {
		struct vf_sched_vmrec *v = &s->v[i];
		if (v->n_groups > max)
			max = v->n_groups;
		v->groups = vf_arena_alloc(&s->arena, (v->n_groups + 1) * sizeof(size_t));
		v->n_groups = 0;
	}
	for (i = 0; i < in->n_groups; i++)
		for (j = 0; j < s->g[i].n_members; j++) {
			struct vf_sched_vmrec *v = &s->v[s->g[i].members[j]];
			v->groups[v->n_groups++] = i;
		}
	s->anchor = vf_arena_alloc(&s->arena, max * sizeof(int));
	free(seen);
}

struct vf_sched *vf_sched_new(const struct vf_sched_input *in)
{
	struct vf_sched *s = xcalloc(1, sizeof(*s));
	struct vf_strmap nets = { 0 }, stors = { 0 };
	size_t i;

	s->in = in;
	s->n_host_words = (in->n_hosts + 63) / 64 + 1;
	for (i = 0; i < in->n_clusters; i++)
		intern(&s->cluster_ids, in->clusters[i].name, i);
	for (i = 0; i < in->n_hosts; i++)
		intern(&s->host_ids, in->hosts[i].name, i);
	for (i = 0; i < in->n_vms; i++)
		intern(&s->vm_ids, in->vms[i].name, i);
	index_hosts(s, &nets, &stors);
	s->v = vf_arena_alloc(&s->arena, (in->n_vms + 1) * sizeof(*s->v));
	for (i = 0; i < in->n_vms; i++) {
		const struct vf_sched_vm *vm = &in->vms[i];
		struct vf_sched_vmrec *v = &s->v[i];
		v->cluster = vf_sched_id(&s->cluster_ids, vm->cluster);
		v->pin = vf_sched_id(&s->host_ids, vm->pin);
		v->at = -1;
		v->pin_slot = v->pin >= 0 ? (size_t)v->pin : 0;
		v->networks = ids_of(s, &nets, vm->networks, vm->n_networks);
		v->storages = ids_of(s, &stors, vm->storages, vm->n_storages);
	}
	index_groups(s);
	for (i = 0; i < in->n_vms; i++)
		vf_sched_assign(s, i, vf_sched_id(&s->host_ids, in->vms[i].host));
	vf_strmap_release(&nets);
	vf_strmap_release(&stors);
	return s;
}

void vf_sched_free(struct vf_sched *s)
{
	if (!s)
		return;
	vf_strmap_release(&s->cluster_ids);
	vf_strmap_release(&s->host_ids);
	vf_strmap_release(&s->vm_ids);
	vf_arena_release(&s->arena);
	free(s);
}

int vf_sched_host_of(const struct vf_sched *s, size_t vm)
{
	return s->v[vm].at;
}

/* Add (sign 1) or take away (sign -1) vm's share of host. */
static void account(struct vf_sched *s, size_t vm, int host, int sign)
{
	const struct vf_sched_vm *in = &s->in->vms[vm];
	struct vf_sched_hostrec *h = &s->h[host];
	const struct vf_sched_vmrec *v = &s->v[vm];
	size_t i;

	h->memory_used += sign > 0 ? in->memory : -in->memory;
	h->vcpus_used += sign > 0 ? in->vcpus : -(uint64_t)in->vcpus;
	h->n_vms += sign > 0 ? 1 : (size_t)-1;
	for (i = 0; i < v->n_groups; i++) {
		struct vf_sched_grouprec *g = &s->g[v->groups[i]];
		if (!g->count)
			continue;
		g->count[host] += sign > 0 ? 1 : (uint32_t)-1;
		g->placed += sign > 0 ? 1 : (size_t)-1;
	}
}

void vf_sched_assign(struct vf_sched *s, size_t vm, int host)
{
	struct vf_sched_vmrec *v = &s->v[vm];

	if (v->at >= 0)
		account(s, vm, v->at, -1);
	v->at = host;
	if (host >= 0)
		account(s, vm, host, 1);
}

int vf_sched_anchor(const struct vf_sched *s, size_t g)
{
	const struct vf_sched_grouprec *r = &s->g[g];
	size_t h;
	int best = -1;

	if (!r->count || !r->placed)
		return -1;
	for (h = 0; h < s->in->n_hosts; h++)
		if (r->count[h] && (best < 0 || r->count[h] > r->count[best]))
			best = (int)h;
	return best;
}

const char *vf_sched_keep(struct vf_sched *s, const char *fmt, ...)
{
	va_list ap;
	char *t;
	const char *kept;

	va_start(ap, fmt);
	t = xvasprintf(fmt, ap);
	va_end(ap);
	kept = vf_arena_strdup(&s->arena, t);
	free(t);
	return kept;
}

void vf_sched_decide(struct vf_sched_result *r, enum vf_sched_action action, size_t vm,
		     int from, int to, const char *reason)
{
	VF_GROW(r->items, r->n + 1, r->alloc);
	r->items[r->n++] = (struct vf_sched_decision){ action, vm, from, to, reason };
}

void vf_sched_result_release(struct vf_sched_result *r)
{
	free(r->items);
	memset(r, 0, sizeof(*r));
}

/* ---- filters ---- */

/*
 * What a filter is asked about: VM vm (lifted: on no host) and a host.
 * anchor[i] is the host the positive rule of the VM's i-th group asks
 * for (-1: none yet), found once per probe.
 */
struct probe {
	struct vf_sched *s;
	size_t vm;
	const struct vf_sched_vm *in;
	const struct vf_sched_vmrec *v;
};

static void probe_init(struct probe *p, struct vf_sched *s, size_t vm)
{
	size_t i;

	p->s = s;
	p->vm = vm;
	p->in = &s->in->vms[vm];
	p->v = &s->v[vm];
	for (i = 0; i < p->v->n_groups; i++)
		s->anchor[i] = s->in->groups[p->v->groups[i]].vm_rule == VF_AFFINITY_POSITIVE ?
			       vf_sched_anchor(s, p->v->groups[i]) : -1;
}

static const char *host_name(const struct vf_sched *s, int h)
{
	return h >= 0 ? s->in->hosts[h].name : "(none)";
}

static bool f_cluster(const struct probe *p, size_t h, struct vf_buf *why)
{
	if (p->s->h[h].cluster >= 0 && p->s->h[h].cluster == p->v->cluster)
		return true;
	if (why)
		vf_buf_addf(why, "the host is in cluster '%s', the VM in '%s'",
			    p->s->in->hosts[h].cluster ? p->s->in->hosts[h].cluster : "(none)",
			    p->in->cluster ? p->in->cluster : "(none)");
	return false;
}

static bool f_pin(const struct probe *p, size_t h, struct vf_buf *why)
{
	if (!p->in->pin || p->v->pin == (int)h)
		return true;
	if (why)
		vf_buf_addf(why, "the VM is pinned to host '%s'", p->in->pin);
	return false;
}

static bool f_maintenance(const struct probe *p, size_t h, struct vf_buf *why)
{
	if (!p->s->h[h].maintenance)
		return true;
	if (why)
		vf_buf_adds(why, "the host is in maintenance");
	return false;
}

static bool f_non_operational(const struct probe *p, size_t h, struct vf_buf *why)
{
	if (!p->s->h[h].down)
		return true;
	if (why)
		vf_buf_addf(why, "the host is not operational: %s", p->s->h[h].down);
	return false;
}

static bool f_cpu(const struct probe *p, size_t h, struct vf_buf *why)
{
	const char *bad = p->s->in->hosts[h].cpu_incompatible;

	if (!bad)
		return true;
	if (why)
		vf_buf_addf(why, "the host cannot run the cluster's CPU model: %s", bad);
	return false;
}

/* Every id in ids[n] in set; else names[i] of the first missing one. */
static bool has_all(const struct vf_sched_bits *set, const int *ids, const char *const *names,
		    size_t n, const char *what, struct vf_buf *why)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i] < 0 || !vf_sched_bit(set, (size_t)ids[i])) {
			if (why)
				vf_buf_addf(why, "%s '%s' is not on the host", what, names[i]);
			return false;
		}
	return true;
}

static bool f_network(const struct probe *p, size_t h, struct vf_buf *why)
{
	return has_all(&p->s->h[h].networks, p->v->networks, p->in->networks,
		       p->in->n_networks, "network", why);
}

static bool f_storage(const struct probe *p, size_t h, struct vf_buf *why)
{
	return has_all(&p->s->h[h].storages, p->v->storages, p->in->storages,
		       p->in->n_storages, "storage domain", why);
}

static bool f_memory(const struct probe *p, size_t h, struct vf_buf *why)
{
	const struct vf_sched_hostrec *r = &p->s->h[h];
	uint64_t free_ = r->memory_cap > r->memory_used ? r->memory_cap - r->memory_used : 0;
	char need[32], have[32], cap[32];

	if (p->in->memory <= free_)
		return true;
	if (why) {
		vf_size_format(p->in->memory, need, sizeof(need));
		vf_size_format(free_, have, sizeof(have));
		vf_size_format(r->memory_cap, cap, sizeof(cap));
		vf_buf_addf(why, "needs %s, %s free of %s", need, have, cap);
	}
	return false;
}

static bool f_vcpu(const struct probe *p, size_t h, struct vf_buf *why)
{
	const struct vf_sched_hostrec *r = &p->s->h[h];

	if (!r->vcpu_cap || r->vcpus_used + p->in->vcpus <= r->vcpu_cap)
		return true;
	if (why)
		vf_buf_addf(why, "needs %u vCPUs, %llu of %llu in use", p->in->vcpus,
			    (unsigned long long)r->vcpus_used, (unsigned long long)r->vcpu_cap);
	return false;
}

/*
 * Group i of the probed VM on host h: does its VM-to-VM rule hold?  For
 * a soft rule, also how many members it breaks with (*broken).
 */
static bool vm_rule_holds(const struct probe *p, size_t i, size_t h, size_t *broken)
{
	const struct vf_sched_group *grp = &p->s->in->groups[p->v->groups[i]];
	const struct vf_sched_grouprec *g = &p->s->g[p->v->groups[i]];

	*broken = 0;
	if (grp->vm_rule == VF_AFFINITY_NEGATIVE)
		*broken = g->count[h];
	else if (grp->vm_rule == VF_AFFINITY_POSITIVE && p->s->anchor[i] >= 0)
		*broken = p->s->anchor[i] != (int)h ? g->placed - g->count[h] : 0;
	return *broken == 0;
}

static bool host_rule_holds(const struct probe *p, size_t i, size_t h)
{
	const struct vf_sched_group *grp = &p->s->in->groups[p->v->groups[i]];
	bool in_set = vf_sched_bit(&p->s->g[p->v->groups[i]].hosts, h);

	if (grp->host_rule == VF_AFFINITY_NONE)
		return true;
	return grp->host_rule == VF_AFFINITY_POSITIVE ? in_set : !in_set;
}

static bool f_vm_affinity(const struct probe *p, size_t h, struct vf_buf *why)
{
	size_t i, broken;

	for (i = 0; i < p->v->n_groups; i++) {
		const struct vf_sched_group *grp = &p->s->in->groups[p->v->groups[i]];
		if (!grp->enforcing || vm_rule_holds(p, i, h, &broken))
			continue;
		if (why && grp->vm_rule == VF_AFFINITY_NEGATIVE)
			vf_buf_addf(why, "affinity group '%s' (negative, enforcing): %zu of its "
				    "VMs run there", grp->name, broken);
		else if (why)
			vf_buf_addf(why, "affinity group '%s' (positive, enforcing): its VMs run "
				    "on host '%s'", grp->name, host_name(p->s, p->s->anchor[i]));
		return false;
	}
	return true;
}

static bool f_host_affinity(const struct probe *p, size_t h, struct vf_buf *why)
{
	size_t i;

	for (i = 0; i < p->v->n_groups; i++) {
		const struct vf_sched_group *grp = &p->s->in->groups[p->v->groups[i]];
		if (!grp->enforcing || host_rule_holds(p, i, h))
			continue;
		if (why)
			vf_buf_addf(why, "affinity group '%s' (enforcing) keeps its VMs %s its hosts",
				    grp->name, grp->host_rule == VF_AFFINITY_POSITIVE ? "on" : "off");
		return false;
	}
	return true;
}

static const struct filter {
	const char *name;
	bool (*pass)(const struct probe *p, size_t h, struct vf_buf *why);
} filters[VF_SCHED_N_FILTERS] = {
	[VF_SCHED_FILTER_NONE] = { "none", NULL },
#define FILTER_ROW(id, name) [VF_SCHED_FILTER_##id] = { #name, f_##name },
	VF_SCHED_FILTERS(FILTER_ROW)
#undef FILTER_ROW
};

const char *vf_sched_filter_name(enum vf_sched_filter f)
{
	return filters[f].name;
}

static enum vf_sched_filter first_reject(const struct probe *p, size_t h, struct vf_buf *why)
{
	size_t f;

	/* unrolled, the table's calls become direct ones the compiler
	 * inlines: this loop runs for every host of every VM placed */
#pragma GCC unroll 16
	for (f = 1; f < VF_SCHED_N_FILTERS; f++)
		if (!filters[f].pass(p, h, why))
			return (enum vf_sched_filter)f;
	return VF_SCHED_FILTER_NONE;
}

enum vf_sched_filter vf_sched_filter_host(struct vf_sched *s, size_t vm, size_t host,
					  struct vf_buf *why)
{
	struct probe p;

	probe_init(&p, s, vm);
	return first_reject(&p, host, why);
}

unsigned vf_sched_filter_all(struct vf_sched *s, size_t vm, size_t host)
{
	struct probe p;
	unsigned set = 0;
	size_t f;

	probe_init(&p, s, vm);
	for (f = 1; f < VF_SCHED_N_FILTERS; f++)
		if (!filters[f].pass(&p, host, NULL))
			set |= 1u << f;
	return set;
}

/* ---- weights ---- */

/* used of cap in per mille, at most 1000; 0 when cap is 0. */
static int64_t per_mille(uint64_t used, uint64_t cap)
{
	if (!cap)
		return 0;
	if (used >= cap)
		return 1000;
	/* used < cap, so a used too big to multiply has cap / 1000 > 0 */
	return (int64_t)(used > UINT64_MAX / 1000 ? used / (cap / 1000) : used * 1000 / cap);
}

int64_t vf_sched_load(const struct vf_sched *s, size_t host, bool with_vcpus)
{
	const struct vf_sched_hostrec *r = &s->h[host];
	int64_t mem = per_mille(r->memory_used, r->memory_cap);
	int64_t cpu = with_vcpus ? per_mille(r->vcpus_used, r->vcpu_cap) : 0;

	return mem > cpu ? mem : cpu;
}

/* The cluster's policy, the VM on host: CPU counts twice memory, as in
 * oVirt's evenly_distributed (weights CPU 2, memory 1). */
static int64_t w_load(const struct probe *p, size_t h)
{
	const struct vf_sched_hostrec *r = &p->s->h[h];
	const struct vf_sched_host *in = &p->s->in->hosts[h];
	uint64_t cpu_cap = r->vcpu_cap ? r->vcpu_cap : in->cpus;
	int64_t busy = per_mille(r->memory_used + p->in->memory, r->memory_cap) +
		       2 * per_mille(r->vcpus_used + p->in->vcpus, cpu_cap);

	switch (r->cluster >= 0 ? p->s->in->clusters[r->cluster].policy : VF_SCHED_EVENLY_DISTRIBUTED) {
	case VF_SCHED_POWER_SAVING:
		return 3000 - busy;
	case VF_SCHED_VM_EVENLY_DISTRIBUTED:
		/* VM count first; free resources between hosts that tie */
		return (int64_t)(r->n_vms + 1) * 4000 + busy;
	case VF_SCHED_EVENLY_DISTRIBUTED:
	default:
		return busy;
	}
}

static int64_t w_vm_affinity(const struct probe *p, size_t h)
{
	size_t i, broken;
	int64_t cost = 0;

	for (i = 0; i < p->v->n_groups; i++)
		if (!p->s->in->groups[p->v->groups[i]].enforcing && !vm_rule_holds(p, i, h, &broken))
			cost += (int64_t)broken * VF_SCHED_SOFT_COST;
	return cost;
}

static int64_t w_host_affinity(const struct probe *p, size_t h)
{
	size_t i;
	int64_t cost = 0;

	for (i = 0; i < p->v->n_groups; i++)
		if (!p->s->in->groups[p->v->groups[i]].enforcing && !host_rule_holds(p, i, h))
			cost += VF_SCHED_SOFT_COST;
	return cost;
}

static const struct weight {
	const char *name;
	int64_t (*cost)(const struct probe *p, size_t h);
} weights[VF_SCHED_N_WEIGHTS] = {
	[VF_SCHED_WEIGHT_LOAD] = { "load", w_load },
	[VF_SCHED_WEIGHT_VM_AFFINITY] = { "vm_affinity", w_vm_affinity },
	[VF_SCHED_WEIGHT_HOST_AFFINITY] = { "host_affinity", w_host_affinity },
};

const char *vf_sched_weight_name(enum vf_sched_weight w)
{
	return weights[w].name;
}

static int64_t score(const struct probe *p, size_t h, int64_t *parts)
{
	int64_t sum = 0, part;
	size_t w;

#pragma GCC unroll 4
	for (w = 0; w < VF_SCHED_N_WEIGHTS; w++) {
		part = weights[w].cost(p, h);
		if (parts)
			parts[w] = part;
		sum += part;
	}
	return sum;
}

int64_t vf_sched_soft_cost(struct vf_sched *s, size_t vm, size_t host)
{
	struct probe p;

	probe_init(&p, s, vm);
	return w_vm_affinity(&p, host) + w_host_affinity(&p, host);
}

/* ---- choosing ---- */

/* The hosts worth asking for vm: its pin, else its cluster's. */
static const size_t *candidates(const struct vf_sched *s, size_t vm, size_t *n)
{
	const struct vf_sched_vmrec *v = &s->v[vm];

	if (s->in->vms[vm].pin) {
		*n = v->pin >= 0 ? 1 : 0;
		return &v->pin_slot;
	}
	if (v->cluster < 0) {
		*n = 0;
		return NULL;
	}
	*n = s->n_cluster_hosts[v->cluster];
	return s->cluster_hosts[v->cluster];
}

int vf_sched_best(struct vf_sched *s, size_t vm, int exclude, int64_t *best_score)
{
	struct probe p;
	int best = -1;
	int64_t best_cost = 0, cost;
	size_t n, i;
	const size_t *hosts = candidates(s, vm, &n);

	probe_init(&p, s, vm);
	for (i = 0; i < n; i++) {
		size_t h = hosts[i];
		if ((int)h == exclude || first_reject(&p, h, NULL) != VF_SCHED_FILTER_NONE)
			continue;
		cost = score(&p, h, NULL);
		if (best < 0 || cost < best_cost) {
			best = (int)h;
			best_cost = cost;
		}
	}
	if (best_score)
		*best_score = best_cost;
	return best;
}

const char *vf_sched_why_nowhere(struct vf_sched *s, size_t vm, int exclude)
{
	struct vf_buf b = VF_BUF_INIT;
	size_t counts[VF_SCHED_N_FILTERS] = { 0 }, f, asked = 0, n, i;
	const size_t *hosts = candidates(s, vm, &n);
	struct probe p;
	const char *kept;

	probe_init(&p, s, vm);
	if (s->in->vms[vm].pin) {
		vf_buf_addf(&b, "pinned to host '%s': ", s->in->vms[vm].pin);
		if (s->v[vm].pin < 0)
			vf_buf_adds(&b, "no such host");
		else if (s->v[vm].pin == exclude)
			vf_buf_adds(&b, "the host it leaves");
		else
			first_reject(&p, (size_t)s->v[vm].pin, &b);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((int)hosts[i] != exclude) {
			counts[first_reject(&p, hosts[i], NULL)]++;
			asked++;
		}
	if (!asked) {
		vf_buf_addf(&b, "cluster '%s' has no other host",
			    s->in->vms[vm].cluster ? s->in->vms[vm].cluster : "(none)");
		goto out;
	}
	vf_buf_adds(&b, "no host can take it:");
	for (f = 1; f < VF_SCHED_N_FILTERS; f++)
		if (counts[f]) {
			vf_buf_addf(&b, "%s %s on %zu host%s", b.buf[b.len - 1] == ':' ? "" : ",",
				    filters[f].name, counts[f], counts[f] == 1 ? "" : "s");
		}
out:
	kept = vf_arena_strdup(&s->arena, b.buf);
	vf_buf_release(&b);
	return kept;
}

/* ---- explain ---- */

int vf_sched_explain(struct vf_sched *s, size_t vm, struct vf_sched_verdict *verdicts)
{
	int at = s->v[vm].at, best = -1;
	struct probe p;
	size_t h;

	vf_sched_assign(s, vm, -1);
	probe_init(&p, s, vm);
	for (h = 0; h < s->in->n_hosts; h++) {
		struct vf_sched_verdict *d = &verdicts[h];
		struct vf_buf why = VF_BUF_INIT;
		memset(d, 0, sizeof(*d));
		d->filter = first_reject(&p, h, &why);
		if (d->filter != VF_SCHED_FILTER_NONE) {
			d->why = vf_buf_detach(&why);
			continue;
		}
		vf_buf_release(&why);
		d->score = score(&p, h, d->parts);
		if (best < 0 || d->score < verdicts[best].score)
			best = (int)h;
	}
	vf_sched_assign(s, vm, at);
	return best;
}

void vf_sched_explain_text(struct vf_sched *s, size_t vm, struct vf_buf *out)
{
	const struct vf_sched_vm *in = &s->in->vms[vm];
	const struct vf_sched_vmrec *v = &s->v[vm];
	struct vf_sched_verdict *verdicts = xcalloc(s->in->n_hosts + 1, sizeof(*verdicts));
	int best = vf_sched_explain(s, vm, verdicts);
	char mem[32];
	size_t h, w;

	vf_size_format(in->memory, mem, sizeof(mem));
	vf_buf_addf(out, "vm.%s (%s, %u vCPUs) in cluster '%s', policy %s, now on %s:\n",
		    in->name, mem, in->vcpus, in->cluster ? in->cluster : "(none)",
		    v->cluster >= 0 ? policy_names[s->in->clusters[v->cluster].policy] : "(none)",
		    v->at >= 0 ? host_name(s, v->at) : "no host");
	for (h = 0; h < s->in->n_hosts; h++) {
		const struct vf_sched_verdict *d = &verdicts[h];
		vf_buf_addf(out, "  %s: ", s->in->hosts[h].name);
		if (d->filter != VF_SCHED_FILTER_NONE) {
			vf_buf_addf(out, "rejected by %s: %s\n", filters[d->filter].name, d->why);
			free(d->why);
			continue;
		}
		vf_buf_addf(out, "score %lld (", (long long)d->score);
		for (w = 0; w < VF_SCHED_N_WEIGHTS; w++)
			vf_buf_addf(out, "%s%s %lld", w ? ", " : "", weights[w].name,
				    (long long)d->parts[w]);
		vf_buf_addf(out, ")%s\n", (int)h == best ? " <- chosen" : "");
	}
	if (best < 0)
		vf_buf_adds(out, "  no host can take it\n");
	free(verdicts);
}
