/*
 * schedule.c — the scheduler's figure (docs/performance.md): 10,000 new
 * VMs placed on 500 hosts of one cluster (the worst case: every host is
 * asked for every VM) under affinity rules, then one host drained and
 * one placement explained.  A benchmark tool, not part of virtform.
 *
 *   build/bench/schedule [VMS [HOSTS]]
 *
 * The rules: 2,000 enforcing anti-affinity pairs, 500 soft positive
 * groups of three, 200 enforcing VM-to-host groups (five VMs on five
 * hosts), one soft anti-affinity group of 100 VMs.  Prints the seconds
 * of each step; exit 1 when a placement breaks a rule it must keep
 * (checked after the clock stops).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconcile/schedule.h"

#define GiB (1ull << 30)

/* Wall and CPU seconds: the CPU time is the figure on a busy machine. */
struct stamp {
	double wall, cpu;
};

static double seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct stamp now(void)
{
	return (struct stamp){ seconds(CLOCK_MONOTONIC), seconds(CLOCK_PROCESS_CPUTIME_ID) };
}

static void step(const char *what, struct stamp from, struct stamp to, const char *detail)
{
	printf("  %-13s %7.3f s wall %7.3f s CPU%s\n", what, to.wall - from.wall, to.cpu - from.cpu,
	       detail);
}

/* A group of n VMs from *next on (wrapping), its name and names kept. */
static struct vf_sched_group *add_group(struct vf_sched_input *in, struct vf_sched_group *groups,
					char **vm_names, size_t n, size_t *next)
{
	struct vf_sched_group *g = &groups[in->n_groups];
	const char **members = xcalloc(n, sizeof(*members));
	size_t i;

	for (i = 0; i < n; i++)
		members[i] = vm_names[(*next)++ % in->n_vms];
	g->name = xasprintf("g%zu", in->n_groups++);
	g->vms = members;
	g->n_vms = n;
	g->enforcing = true;
	return g;
}

static void build(struct vf_sched_input *in, size_t n_vms, size_t n_hosts, char **host_names,
		  char **vm_names)
{
	static const char *const nets[] = { "lan", "storage" };
	static struct vf_sched_cluster cluster = { "prod", VF_SCHED_EVENLY_DISTRIBUTED, 150, 800, 20 };
	struct vf_sched_host *hosts = xcalloc(n_hosts, sizeof(*hosts));
	struct vf_sched_vm *vms = xcalloc(n_vms, sizeof(*vms));
	struct vf_sched_group *groups = xcalloc(2701, sizeof(*groups));
	size_t i, next = 0;

	for (i = 0; i < n_hosts; i++) {
		host_names[i] = xasprintf("host%03zu", i);
		hosts[i] = (struct vf_sched_host){ .name = host_names[i], .cluster = "prod",
			.memory_total = (128 + 128 * (i % 2)) * GiB, .memory_reserve = 4 * GiB,
			.cpus = 64, .networks = nets, .n_networks = 2 };
	}
	for (i = 0; i < n_vms; i++) {
		vm_names[i] = xasprintf("vm%05zu", i);
		vms[i] = (struct vf_sched_vm){ .name = vm_names[i], .cluster = "prod",
			.memory = (1 + i % 8) * 2 * GiB, .vcpus = 1 + i % 4,
			.networks = nets, .n_networks = 1 + i % 2 };
	}
	*in = (struct vf_sched_input){ .clusters = &cluster, .n_clusters = 1, .hosts = hosts,
		.n_hosts = n_hosts, .vms = vms, .n_vms = n_vms, .groups = groups };
	for (i = 0; i < 2000; i++)
		add_group(in, groups, vm_names, 2, &next)->vm_rule = VF_AFFINITY_NEGATIVE;
	for (i = 0; i < 500; i++) {
		struct vf_sched_group *g = add_group(in, groups, vm_names, 3, &next);
		g->vm_rule = VF_AFFINITY_POSITIVE;
		g->enforcing = false;
	}
	for (i = 0; i < 200; i++) {
		struct vf_sched_group *g = add_group(in, groups, vm_names, 5, &next);
		g->hosts = (const char *const *)&host_names[(i * 5) % (n_hosts - 5)];
		g->n_hosts = 5;
		g->host_rule = VF_AFFINITY_POSITIVE;
	}
	add_group(in, groups, vm_names, 100, &next)->vm_rule = VF_AFFINITY_NEGATIVE;
	groups[in->n_groups - 1].enforcing = false;
}

/* The enforcing rules, checked from scratch: 0 when every one holds. */
static int verify(const struct vf_sched_input *in, struct vf_sched *s)
{
	size_t g, i, j, bad = 0;

	for (g = 0; g < in->n_groups; g++) {
		const struct vf_sched_group *grp = &in->groups[g];
		int at[5];
		if (!grp->enforcing || grp->n_vms > 5)
			continue;
		for (i = 0; i < grp->n_vms; i++)
			at[i] = vf_sched_host_of(s, (size_t)atoi(grp->vms[i] + 2));
		for (i = 1; grp->vm_rule == VF_AFFINITY_NEGATIVE && i < grp->n_vms; i++)
			bad += at[i] >= 0 && at[i] == at[0];
		for (i = 0; grp->host_rule == VF_AFFINITY_POSITIVE && i < grp->n_vms; i++) {
			bool in_set = false;
			for (j = 0; j < grp->n_hosts; j++)
				in_set |= at[i] >= 0 && !strcmp(in->hosts[at[i]].name, grp->hosts[j]);
			bad += at[i] >= 0 && !in_set;
		}
	}
	if (bad)
		fprintf(stderr, "schedule: %zu VMs break an enforcing rule\n", bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	size_t n_vms = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t n_hosts = argc > 2 ? strtoul(argv[2], NULL, 10) : 500;
	char **host_names, **vm_names;
	struct vf_sched_input in;
	struct vf_sched_result placed = { 0 }, drained = { 0 };
	struct vf_buf explain = VF_BUF_INIT;
	struct vf_sched *s;
	struct stamp t0, t1, t2, t3, t4;
	char detail[100];
	size_t i, blocked = 0;
	int rc;

	if (n_hosts < 10 || n_vms < 10) {
		fprintf(stderr, "usage: schedule [VMS [HOSTS]] (at least 10 of each)\n");
		return 2;
	}
	host_names = xcalloc(n_hosts, sizeof(*host_names));
	vm_names = xcalloc(n_vms, sizeof(*vm_names));
	build(&in, n_vms, n_hosts, host_names, vm_names);
	t0 = now();
	s = vf_sched_new(&in);
	t1 = now();
	vf_sched_place_new(s, &placed);
	t2 = now();
	vf_sched_drain(s, 0, &drained);
	t3 = now();
	vf_sched_explain_text(s, n_vms - 1, &explain);
	t4 = now();
	for (i = 0; i < placed.n; i++)
		blocked += placed.items[i].action == VF_SCHED_BLOCKED;
	printf("schedule: %zu VMs, %zu hosts, %zu affinity groups\n", n_vms, n_hosts, in.n_groups);
	step("index", t0, t1, "");
	snprintf(detail, sizeof(detail), "  (%zu placed, %zu blocked)", placed.n - blocked, blocked);
	step("place all", t1, t2, detail);
	snprintf(detail, sizeof(detail), "  (%zu decisions, %s)", drained.n,
		 drained.complete ? "complete" : "incomplete");
	step("drain a host", t2, t3, detail);
	step("explain", t3, t4, "");
	step("total", t0, t4, "");
	rc = verify(&in, s);
	vf_buf_release(&explain);
	vf_sched_result_release(&placed);
	vf_sched_result_release(&drained);
	vf_sched_free(s);
	return rc;
}
