/*
 * schedule-check.c — for validate: what no placement can satisfy, found
 * from the input alone (no VM needs to run): names that name nothing, a
 * VM bigger than every host of its cluster, enforcing affinity rules that
 * contradict.
 *
 * VMs that enforcing positive groups keep together form one component
 * (union-find); a component must fit one host that every member may run
 * on, and an enforcing negative group must not hold two VMs of one
 * component.  A VM may run on its cluster's hosts, narrowed by its pin
 * and its enforcing VM-to-host rules.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/model.h"
#include "reconcile/schedule-internal.h"

struct check {
	struct vf_sched *s;
	struct vf_sched_problem **problems;
	size_t *n, *alloc;
	size_t words;                    /* of a host set */
	uint64_t *allowed;               /* per VM: the hosts it may run on */
	size_t *parent;                  /* union-find over VMs */
};

/* A problem about the input's subject of that index. */
__attribute__((format(printf, 4, 5)))
static void problem(struct check *c, enum vf_sched_subject subject, size_t index,
		    const char *fmt, ...)
{
	struct vf_sched_problem *p = VF_APPEND(*c->problems, *c->n, *c->alloc);
	va_list ap;

	p->subject = subject;
	p->index = index;
	va_start(ap, fmt);
	p->text = xvasprintf(fmt, ap);
	va_end(ap);
}

static uint64_t *allowed_of(const struct check *c, size_t vm)
{
	return &c->allowed[vm * c->words];
}

static bool set_empty(const uint64_t *set, size_t words)
{
	size_t i;

	for (i = 0; i < words; i++)
		if (set[i])
			return false;
	return true;
}

static bool set_has(const uint64_t *set, size_t i)
{
	return (set[i / 64] >> (i % 64)) & 1;
}

static size_t set_count(const uint64_t *set, size_t words)
{
	size_t i, n = 0;

	for (i = 0; i < words; i++)
		n += (size_t)__builtin_popcountll(set[i]);
	return n;
}

static size_t find(struct check *c, size_t vm)
{
	while (c->parent[vm] != vm)
		vm = c->parent[vm] = c->parent[c->parent[vm]];
	return vm;
}

static void check_names(struct check *c)
{
	const struct vf_sched_input *in = c->s->in;
	size_t i, j;

	for (i = 0; i < in->n_hosts; i++)
		if (c->s->h[i].cluster < 0)
			problem(c, VF_SCHED_SUBJECT_HOST, i, "host '%s': no cluster '%s'", in->hosts[i].name,
				in->hosts[i].cluster ? in->hosts[i].cluster : "(none)");
	for (i = 0; i < in->n_vms; i++) {
		const struct vf_sched_vm *vm = &in->vms[i];
		if (c->s->v[i].cluster < 0)
			problem(c, VF_SCHED_SUBJECT_VM, i, "vm '%s': no cluster '%s'", vm->name,
				vm->cluster ? vm->cluster : "(none)");
		if (vm->pin && c->s->v[i].pin < 0)
			problem(c, VF_SCHED_SUBJECT_VM, i, "vm '%s': pinned to host '%s', which does not exist", vm->name,
				vm->pin);
	}
	for (i = 0; i < in->n_groups; i++) {
		const struct vf_sched_group *g = &in->groups[i];
		for (j = 0; j < g->n_vms; j++)
			if (vf_sched_id(&c->s->vm_ids, g->vms[j]) < 0)
				problem(c, VF_SCHED_SUBJECT_GROUP, i, "affinity group '%s': no vm '%s'", g->name, g->vms[j]);
		for (j = 0; j < g->n_hosts; j++)
			if (vf_sched_id(&c->s->host_ids, g->hosts[j]) < 0)
				problem(c, VF_SCHED_SUBJECT_GROUP, i, "affinity group '%s': no host '%s'", g->name, g->hosts[j]);
	}
}

/* The most memory (and vCPUs) any host of set can give; false when no
 * host of set has known facts. */
static bool largest(const struct check *c, const uint64_t *set, uint64_t *memory,
		    uint64_t *vcpus)
{
	size_t h;
	bool known = false;

	*memory = *vcpus = 0;
	for (h = 0; h < c->s->in->n_hosts; h++) {
		const struct vf_sched_hostrec *r = &c->s->h[h];
		if (!set_has(set, h) || !c->s->in->hosts[h].memory_total)
			continue;
		known = true;
		if (r->memory_cap > *memory)
			*memory = r->memory_cap;
		if (!r->vcpu_cap)
			*vcpus = UINT64_MAX;      /* no limit */
		else if (r->vcpu_cap > *vcpus)
			*vcpus = r->vcpu_cap;
	}
	return known;
}

/* what (memory bytes, vcpus: VM vm, or the VMs kept with it) fits no
 * host of set: the problem said. */
static void check_size(struct check *c, const uint64_t *set, size_t vm, const char *what,
		       uint64_t memory, uint64_t vcpus)
{
	uint64_t max_memory, max_vcpus;
	char need[32], have[32];

	if (!largest(c, set, &max_memory, &max_vcpus))
		return;
	if (memory > max_memory) {
		vf_size_format(memory, need, sizeof(need));
		vf_size_format(max_memory, have, sizeof(have));
		problem(c, VF_SCHED_SUBJECT_VM, vm, "%s: needs %s of memory, more than any host it may run on can give "
			"(at most %s)", what, need, have);
	}
	if (vcpus > max_vcpus)
		problem(c, VF_SCHED_SUBJECT_VM, vm, "%s: needs %llu vCPUs, more than any host it may run on allows "
			"(at most %llu)", what, (unsigned long long)vcpus,
			(unsigned long long)max_vcpus);
}

/* Each VM's hosts: its cluster's, its pin, its enforcing host rules. */
static void check_vms(struct check *c)
{
	const struct vf_sched *s = c->s;
	size_t vm, i, w;

	for (vm = 0; vm < s->in->n_vms; vm++) {
		const struct vf_sched_vmrec *v = &s->v[vm];
		uint64_t *set = allowed_of(c, vm);
		char *what;
		if (v->cluster < 0 || (s->in->vms[vm].pin && v->pin < 0))
			continue;
		for (i = 0; i < s->n_cluster_hosts[v->cluster]; i++) {
			size_t h = s->cluster_hosts[v->cluster][i];
			if (!s->in->vms[vm].pin || (int)h == v->pin)
				set[h / 64] |= (uint64_t)1 << (h % 64);
		}
		for (i = 0; i < v->n_groups; i++) {
			const struct vf_sched_group *grp = &s->in->groups[v->groups[i]];
			const uint64_t *hosts = s->g[v->groups[i]].hosts.words;
			if (!grp->enforcing || grp->host_rule == VF_AFFINITY_NONE)
				continue;
			for (w = 0; w < c->words; w++)
				set[w] &= grp->host_rule == VF_AFFINITY_POSITIVE ? hosts[w] : ~hosts[w];
		}
		if (set_empty(set, c->words)) {
			problem(c, VF_SCHED_SUBJECT_VM, vm, "vm '%s' can run on no host: its cluster, pin and enforcing "
				"affinity groups leave none", s->in->vms[vm].name);
			continue;
		}
		what = xasprintf("vm '%s'", s->in->vms[vm].name);
		check_size(c, set, vm, what, s->in->vms[vm].memory, s->in->vms[vm].vcpus);
		free(what);
	}
}

/* VMs kept together: one host for all, that each may run on. */
static void check_together(struct check *c)
{
	const struct vf_sched *s = c->s;
	size_t g, i, vm, w, n_vms = s->in->n_vms;
	uint64_t *common = xcalloc(n_vms * c->words + 1, sizeof(uint64_t));
	uint64_t *memory = xcalloc(n_vms + 1, sizeof(uint64_t));
	uint64_t *vcpus = xcalloc(n_vms + 1, sizeof(uint64_t));
	size_t *size = xcalloc(n_vms + 1, sizeof(size_t));

	for (g = 0; g < s->in->n_groups; g++)
		if (s->in->groups[g].enforcing && s->in->groups[g].vm_rule == VF_AFFINITY_POSITIVE)
			for (i = 1; i < s->g[g].n_members; i++)
				c->parent[find(c, s->g[g].members[i])] = find(c, s->g[g].members[0]);
	for (vm = 0; vm < n_vms; vm++)
		for (w = 0; w < c->words; w++)
			common[vm * c->words + w] = ~(uint64_t)0;
	for (vm = 0; vm < n_vms; vm++) {
		size_t root = find(c, vm);
		for (w = 0; w < c->words; w++)
			common[root * c->words + w] &= allowed_of(c, vm)[w];
		memory[root] += s->in->vms[vm].memory;
		vcpus[root] += s->in->vms[vm].vcpus;
		size[root]++;
	}
	for (vm = 0; vm < n_vms; vm++) {
		char *what;
		if (find(c, vm) != vm || size[vm] < 2)
			continue;
		what = xasprintf("vm '%s' with the VMs enforcing affinity keeps with it (%zu VMs)",
				 s->in->vms[vm].name, size[vm]);
		if (set_empty(&common[vm * c->words], c->words))
			problem(c, VF_SCHED_SUBJECT_VM, vm, "%s: no host they may all run on", what);
		else
			check_size(c, &common[vm * c->words], vm, what, memory[vm], vcpus[vm]);
		free(what);
	}
	free(common);
	free(memory);
	free(vcpus);
	free(size);
}

static int by_root(const void *a, const void *b)
{
	const size_t *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]) ?: (x[1] > y[1]) - (x[1] < y[1]);
}

/* VMs kept apart: never two of one component, never more than hosts. */
static void check_apart(struct check *c)
{
	const struct vf_sched *s = c->s;
	uint64_t *any = xcalloc(c->words, sizeof(uint64_t));
	size_t g, i, w;

	for (g = 0; g < s->in->n_groups; g++) {
		const struct vf_sched_grouprec *r = &s->g[g];
		size_t (*pairs)[2], hosts;
		if (!s->in->groups[g].enforcing || s->in->groups[g].vm_rule != VF_AFFINITY_NEGATIVE)
			continue;
		pairs = xcalloc(r->n_members + 1, sizeof(*pairs));
		memset(any, 0, c->words * sizeof(uint64_t));
		for (i = 0; i < r->n_members; i++) {
			pairs[i][0] = find(c, r->members[i]);
			pairs[i][1] = r->members[i];
			for (w = 0; w < c->words; w++)
				any[w] |= allowed_of(c, r->members[i])[w];
		}
		qsort(pairs, r->n_members, sizeof(*pairs), by_root);
		for (i = 1; i < r->n_members; i++)
			if (pairs[i][0] == pairs[i - 1][0])
				problem(c, VF_SCHED_SUBJECT_GROUP, g, "vm '%s' and vm '%s' must run together (enforcing positive "
					"affinity) and apart (affinity group '%s')",
					s->in->vms[pairs[i - 1][1]].name, s->in->vms[pairs[i][1]].name,
					s->in->groups[g].name);
		hosts = set_count(any, c->words);
		if (hosts < r->n_members)
			problem(c, VF_SCHED_SUBJECT_GROUP, g, "affinity group '%s' keeps %zu VMs apart, but they may run on "
				"only %zu host%s", s->in->groups[g].name, r->n_members, hosts,
				hosts == 1 ? "" : "s");
		free(pairs);
	}
	free(any);
}

size_t vf_sched_check(const struct vf_sched_input *in, struct vf_sched_problem **problems,
		      size_t *n, size_t *alloc)
{
	struct check c = { .problems = problems, .n = n, .alloc = alloc };
	size_t before = *n, vm;

	c.s = vf_sched_new(in);
	c.words = c.s->n_host_words;
	c.allowed = xcalloc(in->n_vms * c.words + 1, sizeof(uint64_t));
	c.parent = xcalloc(in->n_vms + 1, sizeof(size_t));
	for (vm = 0; vm < in->n_vms; vm++)
		c.parent[vm] = vm;
	check_names(&c);
	check_vms(&c);
	check_together(&c);
	check_apart(&c);
	free(c.allowed);
	free(c.parent);
	vf_sched_free(c.s);
	return *n - before;
}
