/*
 * The scheduler (reconcile/schedule.h): each filter and weight, affinity
 * (VM-to-VM and VM-to-host, enforcing and soft), overcommit, drain order
 * under tight capacity and a blocked drain, affinity repair, rebalance,
 * HA restart, explain, the validate checks, and a property test: on many
 * random clusters (seeded, so a failure repeats), no decision ever breaks
 * a hard rule or overfills a host at its step, checked by a replay that
 * shares no code with the scheduler.
 */
#include <stdlib.h>
#include <string.h>

#include "reconcile/lines.h"
#include "reconcile/schedule.h"
#include "tests/tap.h"

#define GiB (1ull << 30)

/* A cluster to test, built by the helpers below; "c" is cluster 0. */
struct fx {
	struct vf_sched_cluster clusters[4];
	struct vf_sched_host hosts[16];
	struct vf_sched_vm vms[64];
	struct vf_sched_group groups[8];
	struct vf_sched_input in;
	struct vf_sched *s;
	struct vf_sched_result r;
	char *texts[8];                  /* fx_add's lines, holding the names */
	size_t n_texts;
};

static void fx_init(struct fx *f, enum vf_sched_policy policy)
{
	memset(f, 0, sizeof(*f));
	f->in.clusters = f->clusters;
	f->in.hosts = f->hosts;
	f->in.vms = f->vms;
	f->in.groups = f->groups;
	f->clusters[0].name = "c";
	f->clusters[0].policy = policy;
	f->in.n_clusters = 1;
}

static struct vf_sched_host *host(struct fx *f, const char *name, unsigned gib, unsigned cpus)
{
	struct vf_sched_host *h = &f->hosts[f->in.n_hosts++];

	h->name = name;
	h->cluster = "c";
	h->memory_total = gib * GiB;
	h->cpus = cpus;
	return h;
}

/* at: where it runs (NULL: a new VM). */
static struct vf_sched_vm *vm(struct fx *f, const char *name, unsigned gib, unsigned vcpus,
			      const char *at)
{
	struct vf_sched_vm *v = &f->vms[f->in.n_vms++];

	v->name = name;
	v->cluster = "c";
	v->memory = gib * GiB;
	v->vcpus = vcpus;
	v->host = at;
	return v;
}

static struct vf_sched_group *group(struct fx *f, const char *name, const char *const *vms,
				    size_t n, enum vf_affinity_rule rule, bool enforcing)
{
	struct vf_sched_group *g = &f->groups[f->in.n_groups++];

	memset(g, 0, sizeof(*g));
	g->name = name;
	g->vms = vms;
	g->n_vms = n;
	g->vm_rule = rule;
	g->enforcing = enforcing;
	return g;
}

/* fx_add's words of line, hosts or VMs. */
static void fx_words(struct fx *f, const char *line, bool hosts)
{
	char *text = f->texts[f->n_texts++] = xstrdup(line), *save = NULL, *word, *at;
	unsigned gib = 0, count;

	for (word = strtok_r(text, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
		at = strchr(word, '@');
		if (at)
			*at++ = '\0';
		count = hosts ? 8 : 1;
		sscanf(strchr(word, ':') + 1, "%u/%u", &gib, &count);
		*strchr(word, ':') = '\0';
		if (hosts)
			host(f, word, gib, count);
		else
			vm(f, word, gib, count, at);
	}
}

/*
 * Hosts and VMs, a line of each: "h1:16 h2:8/4" is h1 of 16 GiB and h2
 * of 8 GiB with 4 CPUs (8 unless told); "db1:2@h1 new:1/2" is db1 of
 * 2 GiB running on h1 and new, of 1 GiB with 2 vCPUs (1 unless told),
 * placed nowhere yet.
 */
static void fx_add(struct fx *f, const char *hosts, const char *vms)
{
	fx_words(f, hosts, true);
	fx_words(f, vms, false);
}

static struct vf_sched *start(struct fx *f)
{
	vf_sched_free(f->s);
	vf_sched_result_release(&f->r);
	f->s = vf_sched_new(&f->in);
	return f->s;
}

static void fx_release(struct fx *f)
{
	vf_sched_free(f->s);
	vf_sched_result_release(&f->r);
	while (f->n_texts)
		free(f->texts[--f->n_texts]);
}

/* The name of the host the last VM added goes to as a new VM. */
static const char *placed(struct fx *f)
{
	size_t vm = f->in.n_vms - 1;
	int h;

	start(f);
	vf_sched_place_new(f->s, &f->r);
	h = vf_sched_host_of(f->s, vm);
	return h >= 0 ? f->hosts[h].name : NULL;
}

/* The filter that rejects host h for the last VM added (explain). */
static enum vf_sched_filter rejected_by(struct fx *f, size_t h, char **why)
{
	struct vf_sched_verdict v[16];
	size_t i;

	start(f);
	vf_sched_explain(f->s, f->in.n_vms - 1, v);
	for (i = 0; i < f->in.n_hosts; i++) {
		if (i == h && why)
			*why = v[i].why;
		else
			free(v[i].why);
	}
	return v[h].filter;
}

static bool contains(const char *s, const char *part)
{
	return s && strstr(s, part);
}

static void test_filters(void)
{
	static const char *const lan[] = { "lan" }, *const nfs[] = { "nfs" };
	struct fx f;
	char *why = NULL;

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:8", "a:1");
	f.hosts[0].cluster = f.clusters[1].name = "other";
	f.in.n_clusters = 2;
	is_str(placed(&f), "h2", "cluster: a VM goes to a host of its cluster");
	is_int(rejected_by(&f, 0, &why), VF_SCHED_FILTER_CLUSTER, "cluster: rejects the other's host");
	ok(contains(why, "cluster 'other'"), "cluster: says which (%s)", why);
	free(why);
	fx_release(&f);

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:8", "a:1");
	f.vms[0].pin = "h2";
	is_str(placed(&f), "h2", "pin: a pinned VM goes to its host, not the emptier");
	is_int(rejected_by(&f, 0, NULL), VF_SCHED_FILTER_PIN, "pin: other hosts rejected");
	fx_release(&f);

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:8", "a:1");
	f.hosts[0].maintenance = true;
	is_str(placed(&f), "h2", "maintenance: a host in maintenance takes no VM");
	is_int(rejected_by(&f, 0, NULL), VF_SCHED_FILTER_MAINTENANCE, "maintenance: the filter");
	f.hosts[0].maintenance = false;
	f.hosts[0].non_operational = "its storage is unreachable";
	is_str(placed(&f), "h2", "non_operational: such a host takes no VM");
	is_int(rejected_by(&f, 0, &why), VF_SCHED_FILTER_NON_OPERATIONAL, "non_operational: the filter");
	ok(contains(why, "storage is unreachable"), "non_operational: with its reason (%s)", why);
	free(why);
	f.hosts[0].non_operational = NULL;
	f.hosts[0].cpu_incompatible = "missing avx2";
	is_str(placed(&f), "h2", "cpu: a host that cannot run the cluster model takes no VM");
	is_int(rejected_by(&f, 0, &why), VF_SCHED_FILTER_CPU, "cpu: the filter");
	ok(contains(why, "avx2"), "cpu: with the missing features (%s)", why);
	free(why);
	f.hosts[0].cpu_incompatible = NULL;

	f.vms[0].networks = lan;
	f.vms[0].n_networks = 1;
	f.hosts[1].networks = lan;
	f.hosts[1].n_networks = 1;
	is_str(placed(&f), "h2", "network: only a host with the VM's networks");
	is_int(rejected_by(&f, 0, &why), VF_SCHED_FILTER_NETWORK, "network: the filter");
	ok(contains(why, "network 'lan'"), "network: names it (%s)", why);
	free(why);
	f.vms[0].storages = nfs;
	f.vms[0].n_storages = 1;
	f.hosts[0].networks = lan;
	f.hosts[0].n_networks = 1;
	f.hosts[0].storages = nfs;
	f.hosts[0].n_storages = 1;
	is_str(placed(&f), "h1", "storage: only a host with the VM's storage domains");
	is_int(rejected_by(&f, 1, &why), VF_SCHED_FILTER_STORAGE, "storage: the filter");
	ok(contains(why, "storage domain 'nfs'"), "storage: names it (%s)", why);
	free(why);
	fx_release(&f);
}

static void test_capacity(void)
{
	struct fx f;
	char *why = NULL;

	fx_init(&f, VF_SCHED_POWER_SAVING);
	fx_add(&f, "h1:8 h2:16", "a:10");
	is_str(placed(&f), "h2", "memory: a VM bigger than a host's memory goes elsewhere");
	is_int(rejected_by(&f, 0, &why), VF_SCHED_FILTER_MEMORY, "memory: the filter");
	ok(contains(why, "needs 10 GiB, 8 GiB free of 8 GiB"), "memory: the figures (%s)", why);
	free(why);

	f.hosts[0].memory_reserve = 2 * GiB;
	f.vms[0].memory = 7 * GiB;
	is_int(rejected_by(&f, 0, NULL), VF_SCHED_FILTER_MEMORY, "memory: the reserve is not given");
	f.clusters[0].memory_overcommit = 150;
	is_int(rejected_by(&f, 0, NULL), VF_SCHED_FILTER_NONE,
	       "memory: overcommit 150%% of (8 - 2) GiB takes 7 GiB");
	f.vms[0].memory = 10 * GiB;
	is_int(rejected_by(&f, 0, NULL), VF_SCHED_FILTER_MEMORY, "memory: but not 10 GiB");
	f.hosts[0].memory_other = 1 * GiB;
	f.vms[0].memory = 9 * GiB;
	is_int(rejected_by(&f, 0, NULL), VF_SCHED_FILTER_MEMORY,
	       "memory: domains not ours count as used");
	fx_release(&f);

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:16", "big:6@h1 a:4@h2 b:8");
	is_str(placed(&f), "h2", "memory: what is placed counts (6 used on h1, 4 on h2)");
	vm(&f, "c", 11, 1, NULL);
	start(&f);
	vf_sched_place_new(f.s, &f.r);
	is_int(vf_sched_host_of(f.s, 3), -1, "memory: a VM that fits nowhere is not placed");
	ok(f.r.n == 2 && f.r.items[1].action == VF_SCHED_BLOCKED && !f.r.complete,
	   "memory: it is blocked, the placement incomplete");
	ok(f.r.n == 2 && contains(f.r.items[1].reason, "memory on 2 hosts"),
	   "memory: the reason counts the hosts (%s)", f.r.n == 2 ? f.r.items[1].reason : "");
	fx_release(&f);

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:64/2 h2:8/4", "a:1/3@h1 b:1/2");
	f.clusters[0].cpu_overcommit = 200;
	is_int(rejected_by(&f, 0, &why), VF_SCHED_FILTER_VCPU, "vcpu: 3 + 2 vCPUs > 2 CPUs x 200%%");
	ok(contains(why, "needs 2 vCPUs, 3 of 4 in use"), "vcpu: the figures (%s)", why);
	free(why);
	is_str(placed(&f), "h2", "vcpu: so it goes to the other host");
	f.clusters[0].cpu_overcommit = 0;
	is_int(rejected_by(&f, 0, NULL), VF_SCHED_FILTER_NONE, "vcpu: no limit when not set");
	fx_release(&f);
}

static void test_weights(void)
{
	struct fx f;

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:16", "x:8@h1 a:1");
	is_str(placed(&f), "h2", "evenly_distributed: the host with more free memory");
	f.vms[0].memory = 4 * GiB;
	vm(&f, "y", 1, 6, "h2");
	f.vms[1] = f.vms[2];
	f.vms[2] = (struct vf_sched_vm){ .name = "a", .cluster = "c", .memory = GiB, .vcpus = 1 };
	/* h1: 4 GiB, 1 vCPU; h2: 1 GiB, 6 vCPUs: CPU weighs twice memory */
	is_str(placed(&f), "h1", "evenly_distributed: CPU counts twice memory");
	f.in.n_vms = 2;
	f.vms[1] = (struct vf_sched_vm){ .name = "a", .cluster = "c", .memory = GiB, .vcpus = 1 };
	f.vms[0].memory = 8 * GiB;
	f.clusters[0].policy = VF_SCHED_POWER_SAVING;
	is_str(placed(&f), "h1", "power_saving: the busiest host that fits");
	f.vms[1].memory = 9 * GiB;
	is_str(placed(&f), "h2", "power_saving: not one it does not fit");
	fx_release(&f);

	fx_init(&f, VF_SCHED_VM_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:64 h2:64", "s1:1@h1 s2:1@h1 big:32/4@h2 a:1");
	is_str(placed(&f), "h2", "vm_evenly_distributed: the host with fewer VMs");
	f.clusters[0].policy = VF_SCHED_EVENLY_DISTRIBUTED;
	is_str(placed(&f), "h1", "evenly_distributed: there, the one with more free");
	fx_release(&f);

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:16", "a:1");
	is_str(placed(&f), "h1", "ties: the first host");
	fx_release(&f);
}

static void test_affinity(void)
{
	static const char *const db[] = { "db1", "db2" }, *const web[] = { "web1", "web2" };
	static const char *const h3[] = { "h3" }, *const h1[] = { "h1" };
	struct fx f;
	char *why = NULL;

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:64 h2:16 h3:16", "db1:1@h1 db2:1");
	group(&f, "db-apart", db, 2, VF_AFFINITY_NEGATIVE, true);
	is_str(placed(&f), "h2", "negative enforcing: not beside its twin, though h1 is emptier");
	is_int(rejected_by(&f, 0, &why), VF_SCHED_FILTER_VM_AFFINITY, "negative enforcing: a filter");
	ok(contains(why, "'db-apart' (negative, enforcing)"), "negative enforcing: why (%s)", why);
	free(why);
	f.groups[0].enforcing = false;
	is_int(rejected_by(&f, 0, NULL), VF_SCHED_FILTER_NONE, "negative soft: not a filter");
	is_str(placed(&f), "h2", "negative soft: a weight that keeps them apart");
	f.hosts[1].maintenance = f.hosts[2].maintenance = true;
	is_str(placed(&f), "h1", "negative soft: together when no other host is left");
	f.hosts[1].maintenance = f.hosts[2].maintenance = false;

	f.groups[0].vm_rule = VF_AFFINITY_POSITIVE;
	f.vms[0].host = "h2";
	f.groups[0].enforcing = true;
	is_str(placed(&f), "h2", "positive enforcing: beside its twin, though h1 is emptier");
	is_int(rejected_by(&f, 0, &why), VF_SCHED_FILTER_VM_AFFINITY, "positive enforcing: a filter");
	ok(contains(why, "run on host 'h2'"), "positive enforcing: why (%s)", why);
	free(why);
	f.groups[0].enforcing = false;
	is_str(placed(&f), "h2", "positive soft: a weight that keeps them together");
	fx_release(&f);

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:64 h2:64 h3:16/2", "web1:1 web2:1");
	group(&f, "web-h3", web, 2, VF_AFFINITY_NONE, true);
	f.groups[0].hosts = h3;
	f.groups[0].n_hosts = 1;
	f.groups[0].host_rule = VF_AFFINITY_POSITIVE;
	is_str(placed(&f), "h3", "VM-to-host positive enforcing: on the group's hosts");
	is_int(rejected_by(&f, 0, NULL), VF_SCHED_FILTER_HOST_AFFINITY, "VM-to-host: a filter");
	f.groups[0].enforcing = false;
	is_str(placed(&f), "h3", "VM-to-host positive soft: a weight");
	f.groups[0].hosts = h1;
	f.groups[0].host_rule = VF_AFFINITY_NEGATIVE;
	f.groups[0].enforcing = true;
	is_str(placed(&f), "h2", "VM-to-host negative enforcing: off the group's hosts");
	f.groups[0].enforcing = false;
	is_str(placed(&f), "h2", "VM-to-host negative soft: a weight");
	fx_release(&f);
}

/* The VM names of r's decisions, as "a>h2 b>h3 c!" (! blocked). */
static char *moves(const struct fx *f, const struct vf_sched_result *r)
{
	struct vf_buf b = VF_BUF_INIT;
	size_t i;

	for (i = 0; i < r->n; i++)
		vf_buf_addf(&b, "%s%s%s%s", i ? " " : "", f->vms[r->items[i].vm].name,
			    r->items[i].to >= 0 ? ">" : "!",
			    r->items[i].to >= 0 ? f->hosts[r->items[i].to].name : "");
	return vf_buf_detach(&b);
}

#define is_moves(f, want, ...) do {                                       \
	char *m_ = moves((f), &(f)->r);                                     \
	is_str(m_, want, __VA_ARGS__);                                      \
	free(m_);                                                           \
} while (0)

static void test_drain(void)
{
	static const char *const db[] = { "db1", "db2" };
	struct vf_sched_verdict verdicts[16];
	struct fx f;
	size_t i;

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:8 h3:6", "s1:2@h1 big:6@h1 s2:2@h1 s3:4@h1");
	start(&f);
	vf_sched_drain(f.s, 0, &f.r);
	/* smallest first would fill h2 and strand big; biggest first fits */
	is_moves(&f, "big>h2 s3>h3 s1>h2 s2>h3", "drain: biggest first, each where it fits then");
	ok(f.r.complete, "drain: complete");
	ok(f.r.n && f.r.items[0].action == VF_SCHED_MIGRATE && f.r.items[0].from == 0 &&
	   contains(f.r.items[0].reason, "host 'h1' is in maintenance"), "drain: migrations with the reason");
	ok(vf_sched_explain(f.s, 0, verdicts) >= 0 && verdicts[0].filter == VF_SCHED_FILTER_MAINTENANCE,
	   "drain: the drained host takes no VM afterwards");
	for (i = 0; i < f.in.n_hosts; i++)
		free(verdicts[i].why);
	fx_release(&f);

	/* room made: big fits nowhere until small leaves h2 for h3 */
	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:16 h3:6", "big:10@h1 small:4@h2 mid:6@h2");
	start(&f);
	vf_sched_drain(f.s, 0, &f.r);
	is_moves(&f, "small>h3 big>h2", "drain: room made by one migration first");
	ok(f.r.complete && contains(f.r.items[0].reason, "makes room on host 'h2' for vm.big"),
	   "drain: the room-maker says why (%s)", f.r.n ? f.r.items[0].reason : "");
	fx_release(&f);

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:8 h3:16", "db1:1@h1 db2:1@h3 pinned:1@h1 local:1@h1 huge:12@h1");
	f.vms[2].pin = "h1";
	f.vms[3].immovable = "its disks are on local storage";
	group(&f, "db-apart", db, 2, VF_AFFINITY_NEGATIVE, true);
	start(&f);
	vf_sched_drain(f.s, 0, &f.r);
	is_moves(&f, "huge>h3 db1>h2 pinned! local!", "drain: affinity kept, stuck VMs blocked");
	ok(!f.r.complete, "drain: not complete while VMs stay");
	ok(f.r.n == 4 && contains(f.r.items[2].reason, "pinned to host 'h1'"),
	   "drain: a pinned VM says so (%s)", f.r.n == 4 ? f.r.items[2].reason : "");
	ok(f.r.n == 4 && contains(f.r.items[3].reason, "local storage"),
	   "drain: an immovable VM says why (%s)", f.r.n == 4 ? f.r.items[3].reason : "");
	f.hosts[2].memory_total = 8 * GiB;
	f.vms[3].immovable = NULL;
	f.vms[2].pin = NULL;
	start(&f);
	vf_sched_drain(f.s, 0, &f.r);
	ok(f.r.n == 4 && f.r.items[0].action == VF_SCHED_BLOCKED &&
	   contains(f.r.items[0].reason, "no host can take it: memory on 2 hosts"),
	   "drain: no room, blocked with the filters (%s)", f.r.n ? f.r.items[0].reason : "");
	ok(!f.r.complete && vf_sched_host_of(f.s, 4) == 0, "drain: the VM stays, incomplete");
	fx_release(&f);
}

static void test_fix_affinity(void)
{
	static const char *const db[] = { "db1", "db2" }, *const web[] = { "w1", "w2", "w3" };
	static const char *const h3[] = { "h3" };
	struct fx f;

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:16 h3:16", "db1:1@h1 db2:1@h1 w1:1@h1 w2:1@h2 w3:1@h2");
	group(&f, "db-apart", db, 2, VF_AFFINITY_NEGATIVE, true);
	group(&f, "web", web, 3, VF_AFFINITY_POSITIVE, true);
	start(&f);
	vf_sched_fix_affinity(f.s, &f.r);
	is_moves(&f, "db1>h3 w1>h2", "fix: the negative pair split, the positive group joined");
	ok(f.r.complete && contains(f.r.items[0].reason, "'db-apart' (negative, enforcing)"),
	   "fix: each with the rule it repairs (%s)", f.r.n ? f.r.items[0].reason : "");
	vf_sched_result_release(&f.r);
	vf_sched_fix_affinity(f.s, &f.r);
	ok(f.r.n == 0 && f.r.complete, "fix: nothing more to repair afterwards");

	f.groups[1].hosts = h3;
	f.groups[1].n_hosts = 1;
	f.groups[1].host_rule = VF_AFFINITY_POSITIVE;
	f.groups[1].vm_rule = VF_AFFINITY_NONE;
	start(&f);
	vf_sched_fix_affinity(f.s, &f.r);
	is_moves(&f, "db1>h3 w1>h3 w2>h3 w3>h3", "fix: VM-to-host rules repaired too");
	f.in.n_hosts = 1;
	f.vms[3].host = f.vms[4].host = "h1";
	start(&f);
	vf_sched_fix_affinity(f.s, &f.r);
	ok(f.r.n >= 1 && f.r.items[0].action == VF_SCHED_BLOCKED && !f.r.complete,
	   "fix: blocked when no host repairs it (%s)", f.r.n ? f.r.items[0].reason : "");
	fx_release(&f);
}

static void test_rebalance(void)
{
	struct fx f;
	size_t i;

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:10 h2:10 h3:10", "a:2@h1 b:2@h1 c:2@h1 d:2@h1 e:2@h2");
	start(&f);
	vf_sched_rebalance(f.s, 0, &f.r);
	ok(f.r.n == 0 && f.r.complete, "rebalance: off without a threshold");
	f.clusters[0].rebalance_threshold = 20;
	start(&f);
	vf_sched_rebalance(f.s, 0, &f.r);
	/* 80% 20% 0%: two moves bring it to 40% 40% 20%, spread 20% */
	is_moves(&f, "a>h3 b>h2", "rebalance: the fewest migrations under the threshold");
	ok(f.r.complete && contains(f.r.items[0].reason, "load spread 80% over 20%"),
	   "rebalance: says why (%s)", f.r.n ? f.r.items[0].reason : "");
	group(&f, "ab", (const char *const[]){ "a", "b" }, 2, VF_AFFINITY_POSITIVE, false);
	start(&f);
	vf_sched_rebalance(f.s, 0, &f.r);
	is_moves(&f, "c>h3 d>h2", "rebalance: moves that keep soft affinity");
	f.in.n_groups = 0;
	for (i = 0; i < 4; i++)
		f.vms[i].pin = "h1";
	start(&f);
	vf_sched_rebalance(f.s, 0, &f.r);
	ok(f.r.n == 0 && !f.r.complete, "rebalance: incomplete when nothing may move");
	fx_release(&f);
}

static void test_restart(void)
{
	struct fx f;

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:8", "low:4@h1 plain:1@h1 high:6@h1");
	f.vms[0].ha = f.vms[2].ha = true;
	f.vms[2].ha_priority = 2;
	f.vms[0].ha_priority = 1;
	start(&f);
	vf_sched_restart(f.s, 0, &f.r);
	is_moves(&f, "high>h2 low! plain!", "restart: by priority while there is room");
	ok(f.r.n == 3 && f.r.items[0].action == VF_SCHED_RESTART &&
	   contains(f.r.items[0].reason, "host 'h1' failed"), "restart: a RESTART with why");
	ok(f.r.n == 3 && contains(f.r.items[2].reason, "not highly available"),
	   "restart: a VM without HA stays down");
	ok(!f.r.complete, "restart: incomplete when an HA VM stays down");
	fx_release(&f);
}

static void test_explain(void)
{
	static const char *const db[] = { "db1", "db2" };
	struct fx f;
	struct vf_buf b = VF_BUF_INIT;

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:4 h2:16 h3:16", "db1:1@h2 db2:2/2@h3");
	group(&f, "db-apart", db, 2, VF_AFFINITY_NEGATIVE, true);
	f.hosts[0].memory_other = 3 * GiB;
	start(&f);
	vf_sched_explain_text(f.s, 1, &b);
	ok(contains(b.buf, "vm.db2 (2 GiB, 2 vCPUs) in cluster 'c', policy evenly_distributed, now on h3:\n"),
	   "explain: the VM");
	ok(contains(b.buf, "  h1: rejected by memory: needs 2 GiB, 1 GiB free of 4 GiB\n"),
	   "explain: a host with the filter that rejects it");
	ok(contains(b.buf, "  h2: rejected by vm_affinity: affinity group 'db-apart'"),
	   "explain: affinity");
	ok(contains(b.buf, "  h3: score 625 (load 625, vm_affinity 0, host_affinity 0) <- chosen\n"),
	   "explain: the chosen host with its score");
	ok(vf_sched_host_of(f.s, 1) == 2, "explain: changes nothing");
	vf_buf_release(&b);
	fx_release(&f);
}

/* vf_sched_check's problems, their texts joined. */
static char *check(struct fx *f, size_t *n_problems)
{
	struct vf_sched_problem *problems = NULL;
	size_t n = 0, alloc = 0, i;
	struct vf_buf b = VF_BUF_INIT;

	*n_problems = vf_sched_check(&f->in, &problems, &n, &alloc);
	for (i = 0; i < n; i++) {
		vf_buf_addsep(&b, "; ", problems[i].text);
		free(problems[i].text);
	}
	free(problems);
	return vf_buf_detach(&b);
}

static void test_check(void)
{
	static const char *const ab[] = { "a", "b" }, *const bc[] = { "b", "c" };
	static const char *const ac[] = { "a", "c" }, *const h1[] = { "h1" }, *const abx[] = { "a", "x" };
	struct fx f;
	size_t n;
	char *text;

	fx_init(&f, VF_SCHED_EVENLY_DISTRIBUTED);
	fx_add(&f, "h1:16 h2:16", "a:4 b:4 c:4");
	group(&f, "ab", ab, 2, VF_AFFINITY_POSITIVE, true);
	text = check(&f, &n);
	is_int(n, 0, "check: a sound configuration has no problem");
	free(text);

	group(&f, "bc", bc, 2, VF_AFFINITY_POSITIVE, true);
	group(&f, "ac-apart", ac, 2, VF_AFFINITY_NEGATIVE, true);
	text = check(&f, &n);
	ok(n == 1 && contains(text, "vm 'a' and vm 'c' must run together (enforcing positive "
			      "affinity) and apart (affinity group 'ac-apart')"),
	   "check: together (through b) and apart contradict: %s", text);
	free(text);
	f.groups[2].enforcing = false;
	text = check(&f, &n);
	is_int(n, 0, "check: a soft rule contradicts nothing");
	free(text);

	f.in.n_groups = 1;
	f.groups[0].hosts = h1;
	f.groups[0].n_hosts = 1;
	f.groups[0].host_rule = VF_AFFINITY_POSITIVE;
	f.vms[1].pin = "h2";
	text = check(&f, &n);
	ok(n >= 1 && contains(text, "vm 'b' can run on no host"),
	   "check: a pin outside the group's hosts: %s", text);
	free(text);
	f.vms[1].pin = NULL;
	f.vms[0].memory = 10 * GiB;
	f.vms[1].memory = 10 * GiB;
	text = check(&f, &n);
	ok(n == 1 && contains(text, "vm 'a' with the VMs enforcing affinity keeps with it (2 VMs): "
			      "needs 20 GiB of memory, more than any host it may run on can give "
			      "(at most 16 GiB)"),
	   "check: VMs kept together bigger than a host: %s", text);
	free(text);
	f.in.n_groups = 0;
	f.vms[2].memory = 32 * GiB;
	f.clusters[0].cpu_overcommit = 100;
	f.vms[1].vcpus = 9;
	text = check(&f, &n);
	ok(n == 2 && contains(text, "vm 'c': needs 32 GiB of memory, more than any host") &&
	   contains(text, "vm 'b': needs 9 vCPUs, more than any host it may run on allows (at most 8)"),
	   "check: a VM bigger than any host: %s", text);
	free(text);
	f.vms[1].vcpus = 1;
	f.vms[2].memory = GiB;
	f.hosts[0].memory_total = f.hosts[1].memory_total = 0;
	text = check(&f, &n);
	is_int(n, 0, "check: hosts of unknown size are not measured");
	free(text);

	group(&f, "apart", (const char *const[]){ "a", "b", "c" }, 3, VF_AFFINITY_NEGATIVE, true);
	text = check(&f, &n);
	ok(n == 1 && contains(text, "'apart' keeps 3 VMs apart, but they may run on only 2 hosts"),
	   "check: more VMs apart than hosts: %s", text);
	free(text);
	f.in.n_groups = 0;
	group(&f, "typo", abx, 2, VF_AFFINITY_NONE, true);
	f.vms[0].cluster = "nope";
	f.vms[1].pin = "h9";
	text = check(&f, &n);
	ok(contains(text, "affinity group 'typo': no vm 'x'") &&
	   contains(text, "vm 'a': no cluster 'nope'") &&
	   contains(text, "vm 'b': pinned to host 'h9', which does not exist"),
	   "check: names that name nothing: %s", text);
	free(text);	fx_release(&f);
}

/* ---- the property test ---- */

static uint64_t rng_state;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

/*
 * An independent replay: the hosts' loads and each VM's host, updated
 * decision by decision; each destination checked against the hard
 * rules as docs/scheduling.md states them.
 */
struct replay {
	const struct fx *f;
	int at[64];
	bool down[16];                   /* maintenance or failed */
	char error[256];
};

static int host_index(const struct fx *f, const char *name)
{
	size_t i;

	for (i = 0; name && i < f->in.n_hosts; i++)
		if (!strcmp(f->hosts[i].name, name))
			return (int)i;
	return -1;
}

/* What may host h hold?  Memory in bytes, vCPUs (0: no limit). */
static void capacity(const struct fx *f, size_t h, uint64_t *memory, uint64_t *vcpus)
{
	const struct vf_sched_host *hh = &f->hosts[h];
	unsigned mo = f->clusters[0].memory_overcommit ? f->clusters[0].memory_overcommit : 100;

	*memory = (hh->memory_total - hh->memory_reserve) * mo / 100;
	*vcpus = (uint64_t)hh->cpus * f->clusters[0].cpu_overcommit / 100;
}

static bool group_rule_ok(struct replay *p, const struct vf_sched_group *g, size_t vm, int to)
{
	size_t j, with = 0, placed = 0;
	bool mine = false;

	for (j = 0; j < g->n_vms; j++) {
		int other = -1;
		size_t k;
		for (k = 0; k < p->f->in.n_vms; k++)
			if (!strcmp(p->f->vms[k].name, g->vms[j]))
				other = (int)k;
		if (other == (int)vm)
			mine = true;
		if (other < 0 || other == (int)vm || p->at[other] < 0)
			continue;
		placed++;
		with += p->at[other] == to;
	}
	if (!mine || !g->enforcing)
		return true;
	if (g->vm_rule == VF_AFFINITY_NEGATIVE && with)
		return false;
	if (g->vm_rule == VF_AFFINITY_POSITIVE && placed && !with)
		return false;
	if (g->host_rule != VF_AFFINITY_NONE &&
	    vf_str_in(g->hosts, g->n_hosts, p->f->hosts[to].name) != (g->host_rule == VF_AFFINITY_POSITIVE))
		return false;
	return true;
}

/* Is moving vm to host to at this step within every hard rule? */
static bool replay_step(struct replay *p, size_t vm, int to)
{
	const struct fx *f = p->f;
	const struct vf_sched_vm *v = &f->vms[vm];
	const struct vf_sched_host *h = &f->hosts[to];
	uint64_t memory = h->memory_other, vcpus = h->vcpus_other, cap_memory, cap_vcpus;
	size_t i;

	capacity(f, (size_t)to, &cap_memory, &cap_vcpus);
	for (i = 0; i < f->in.n_vms; i++)
		if (p->at[i] == to && i != vm) {
			memory += f->vms[i].memory;
			vcpus += f->vms[i].vcpus;
		}
	if (p->down[to] || h->non_operational || h->cpu_incompatible)
		snprintf(p->error, sizeof(p->error), "%s to a host that takes no VM", v->name);
	else if (v->pin && strcmp(v->pin, h->name))
		snprintf(p->error, sizeof(p->error), "%s off its pin", v->name);
	else if (memory + v->memory > cap_memory)
		snprintf(p->error, sizeof(p->error), "%s overfills %s's memory", v->name, h->name);
	else if (cap_vcpus && vcpus + v->vcpus > cap_vcpus)
		snprintf(p->error, sizeof(p->error), "%s overfills %s's vCPUs", v->name, h->name);
	for (i = 0; i < v->n_networks && !p->error[0]; i++)
		if (!vf_str_in(h->networks, h->n_networks, v->networks[i]))
			snprintf(p->error, sizeof(p->error), "%s without its network", v->name);
	for (i = 0; i < v->n_storages && !p->error[0]; i++)
		if (!vf_str_in(h->storages, h->n_storages, v->storages[i]))
			snprintf(p->error, sizeof(p->error), "%s without its storage", v->name);
	for (i = 0; i < f->in.n_groups && !p->error[0]; i++)
		if (!group_rule_ok(p, &f->groups[i], vm, to))
			snprintf(p->error, sizeof(p->error), "%s to %s breaks group %s", v->name,
				 h->name, f->groups[i].name);
	p->at[vm] = to;
	return !p->error[0];
}

static unsigned decisions_replayed;

static bool replay(struct replay *p, const struct vf_sched_result *r)
{
	size_t i;

	for (i = 0; i < r->n && !p->error[0]; i++) {
		const struct vf_sched_decision *d = &r->items[i];
		if (d->action == VF_SCHED_BLOCKED)
			continue;
		if (d->from != p->at[d->vm])
			snprintf(p->error, sizeof(p->error), "vm %zu moved from where it is not", d->vm);
		else
			replay_step(p, d->vm, d->to);
		decisions_replayed++;
	}
	return !p->error[0];
}

static char names[80][8];
static const char *const nets[] = { "n0", "n1" }, *const stors[] = { "s0", "s1" };

/* A random cluster: hosts of 8..32 GiB (some running others' domains,
 * some down, without the networks and storage a VM needs), VMs of
 * 1..8 GiB, a third of them running (overfilling a host is allowed
 * there: only moves must not), a few groups of every kind. */
static void random_cluster(struct fx *f)
{
	size_t n_hosts = 2 + rnd(8), n_vms = 4 + rnd(40), i, j;

	fx_init(f, (enum vf_sched_policy)rnd(3));
	f->clusters[0].memory_overcommit = rnd(2) ? 100 : 150;
	f->clusters[0].cpu_overcommit = rnd(2) ? 0 : 200;
	f->clusters[0].rebalance_threshold = 10 + rnd(30);
	for (i = 0; i < n_hosts; i++) {
		struct vf_sched_host *h = host(f, names[i], 8 + 4 * rnd(7), 2 + rnd(8));
		h->memory_reserve = rnd(2) * GiB;
		h->memory_other = rnd(4) ? 0 : rnd(8) * GiB;
		h->vcpus_other = rnd(4) ? 0 : rnd(8);
		h->maintenance = !rnd(8);
		h->non_operational = !rnd(10) ? "down" : NULL;
		h->cpu_incompatible = !rnd(10) ? "weaker" : NULL;
		h->networks = nets;
		h->n_networks = 1 + rnd(2);
		h->storages = &stors[rnd(2)];
		h->n_storages = 1 + rnd(2) - (h->storages != stors);
	}
	for (i = 0; i < n_vms; i++) {
		struct vf_sched_vm *v = vm(f, names[16 + i], 1 + rnd(8), 1 + rnd(4), NULL);
		if (!rnd(3))
			v->host = names[rnd((unsigned)n_hosts)];
		if (!rnd(12))
			v->pin = names[rnd((unsigned)n_hosts)];
		v->networks = &nets[rnd(2)];
		v->n_networks = 1;
		v->storages = &stors[rnd(2)];
		v->n_storages = rnd(2);
		v->immovable = !rnd(15) ? "local disks" : NULL;
		v->ha = rnd(2);
		v->ha_priority = (int)rnd(3);
	}
	for (i = 0; i < rnd(5); i++) {
		static const char *members[5][6];
		struct vf_sched_group *g;
		size_t n = 2 + rnd(4);
		for (j = 0; j < n; j++)
			members[i][j] = names[16 + rnd((unsigned)n_vms)];
		g = group(f, names[64 + i], members[i], n, (enum vf_affinity_rule)rnd(3), rnd(3) != 0);
		if (!rnd(3)) {
			g->hosts = (const char *const *)&f->hosts[rnd((unsigned)n_hosts)].name;
			g->n_hosts = 1;
			g->host_rule = rnd(2) ? VF_AFFINITY_POSITIVE : VF_AFFINITY_NEGATIVE;
		}
	}
}

static void replay_init(struct replay *p, const struct fx *f)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->f = f;
	for (i = 0; i < f->in.n_vms; i++)
		p->at[i] = host_index(f, f->vms[i].host);
	for (i = 0; i < f->in.n_hosts; i++)
		p->down[i] = f->hosts[i].maintenance;
}

/* One random cluster through every kind of decision: false on the
 * first broken rule, *what saying which. */
static bool property_round(struct fx *f, char *what, size_t len)
{
	struct replay p;
	int drained = (int)rnd((unsigned)f->in.n_hosts), failed;
	size_t i;
	bool good;

	replay_init(&p, f);
	start(f);
	vf_sched_place_new(f->s, &f->r);
	good = replay(&p, &f->r);
	vf_sched_result_release(&f->r);
	p.down[drained] = true;
	vf_sched_drain(f->s, drained, &f->r);
	good = good && replay(&p, &f->r);
	for (i = 0; good && i < f->in.n_vms; i++)
		if (p.at[i] == drained && f->r.complete)
			snprintf(p.error, sizeof(p.error), "drain complete but %s stays", f->vms[i].name);
	good = good && !p.error[0];
	if (!good)
		goto out;
	vf_sched_result_release(&f->r);
	vf_sched_fix_affinity(f->s, &f->r);
	good = good && replay(&p, &f->r);
	if (!good)
		goto out;
	vf_sched_result_release(&f->r);
	vf_sched_rebalance(f->s, 0, &f->r);
	good = good && replay(&p, &f->r);
	if (!good)
		goto out;
	vf_sched_result_release(&f->r);
	failed = (int)rnd((unsigned)f->in.n_hosts);
	p.down[failed] = true;
	vf_sched_restart(f->s, failed, &f->r);
	good = good && replay(&p, &f->r);
	for (i = 0; good && i < f->in.n_vms; i++)
		if (p.at[i] != vf_sched_host_of(f->s, i))
			snprintf(p.error, sizeof(p.error), "%s: the scheduler and the replay disagree",
				 f->vms[i].name);
out:
	snprintf(what, len, "%s", p.error);
	if (getenv("SCHED_DEBUG") && p.error[0]) {
		for (i = 0; i < f->r.n; i++)
			printf("# %d %s %d->%d %s\n", f->r.items[i].action, f->vms[f->r.items[i].vm].name,
			       f->r.items[i].from, f->r.items[i].to, f->r.items[i].reason);
	}
	return !p.error[0];
}

static void test_property(void)
{
	struct fx f;
	char what[256] = "";
	unsigned round, rounds = 2000;
	bool good = true;
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(names); i++)
		snprintf(names[i], sizeof(names[i]), "%c%zu", i < 16 ? 'h' : i < 64 ? 'v' : 'g', i);
	rng_state = 0x5eed2026;
	memset(&f, 0, sizeof(f));
	for (round = 0; round < rounds && good; round++) {
		random_cluster(&f);
		good = property_round(&f, what, sizeof(what));
		fx_release(&f);
	}
	ok(good, "property: %u random clusters, no decision breaks a hard rule or overfills "
	   "a host at its step%s%s", rounds, good ? "" : ": ", what);
	if (!good)
		printf("#   round %u of seed 0x5eed2026\n", round - 1);
	ok(decisions_replayed > rounds, "property: %u decisions replayed", decisions_replayed);
}

int main(void)
{
	test_filters();
	test_capacity();
	test_weights();
	test_affinity();
	test_drain();
	test_fix_affinity();
	test_rebalance();
	test_restart();
	test_explain();
	test_check();
	test_property();
	return tap_done();
}
