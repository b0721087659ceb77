/*
 * schedule.h — the scheduler: which hosts a VM may run on (filters),
 * which of them it should run on (weights), and the ordered moves that
 * placement, maintenance drains, affinity repairs, rebalancing and HA
 * restarts are made of.  docs/scheduling.md explains the rules.
 *
 * Pure, as oVirt's scheduling policies and Proxmox's HA manager are fed
 * by an environment: no libvirt, no clock, no I/O.  Its inputs are the
 * hosts' facts and the VMs as plain structs; its outputs are decisions,
 * each with its reason.  The same code answers the plan, the apply and
 * (later) the HA simulator.
 *
 * Not wired into plan/apply yet: reconcile/desired.c still places new VMs
 * itself.  Indices: a host or VM is named by its index in the input
 * arrays; -1 is "no host".  Ties go to the host that comes first.
 */
#ifndef VF_SCHEDULE_H
#define VF_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/util.h"

/* The weight policy of a cluster (oVirt's scheduling policies). */
enum vf_sched_policy {
	VF_SCHED_EVENLY_DISTRIBUTED,    /* the host with the most free CPU and memory */
	VF_SCHED_POWER_SAVING,          /* the busiest host that fits */
	VF_SCHED_VM_EVENLY_DISTRIBUTED, /* the host with the fewest VMs */
};

struct vf_sched_cluster {
	const char *name;
	enum vf_sched_policy policy;
	unsigned memory_overcommit;     /* percent of (memory - reserve) VMs may
					 * have: 100 (the default, also when 0)
					 * is none, 150 is 1.5x (KSM) */
	unsigned cpu_overcommit;        /* percent of host CPUs in vCPUs: 400 is
					 * 4 vCPUs per CPU; 0: no limit */
	unsigned rebalance_threshold;   /* percent of load spread; 0: off */
};

/*
 * A host as the scheduler sees it.  NULL strings mean "no": a host is
 * usable unless maintenance is set or non_operational or cpu_incompatible
 * says why not.  memory_total 0 means its facts are unknown (validate,
 * offline): the size checks skip it, the memory filter rejects it.
 */
struct vf_sched_host {
	const char *name;
	const char *cluster;
	uint64_t memory_total;           /* bytes */
	uint64_t memory_reserve;         /* bytes kept for the host itself */
	uint64_t memory_other;           /* used by domains not in the VMs given */
	unsigned cpus;                   /* logical CPUs */
	unsigned vcpus_other;            /* vCPUs of domains not in the VMs given */
	bool maintenance;
	const char *non_operational;     /* why the host is not operational */
	const char *cpu_incompatible;    /* why it cannot run the cluster's CPU
					  * model (the missing features) */
	const char *const *networks;     /* networks present on it */
	size_t n_networks;
	const char *const *storages;     /* storage domains present on it */
	size_t n_storages;
};

struct vf_sched_vm {
	const char *name;
	const char *cluster;
	uint64_t memory;                 /* bytes */
	unsigned vcpus;
	const char *const *networks;     /* networks it needs */
	size_t n_networks;
	const char *const *storages;     /* storage domains it needs */
	size_t n_storages;
	const char *host;                /* where it runs now; NULL: nowhere yet */
	const char *pin;                 /* the host its config pins it to; NULL: any */
	const char *immovable;           /* why it cannot migrate (disks on local
					  * storage); NULL: it can */
	bool ha;                         /* restarted elsewhere when its host fails */
	int ha_priority;                 /* higher restarts first */
};

enum vf_affinity_rule {
	VF_AFFINITY_NONE,                /* no rule of this kind */
	VF_AFFINITY_POSITIVE,            /* together / on these hosts */
	VF_AFFINITY_NEGATIVE,            /* apart / not on these hosts */
};

/* affinity_groups[] of the configuration (docs/scheduling.md). */
struct vf_sched_group {
	const char *name;
	const char *const *vms;
	size_t n_vms;
	enum vf_affinity_rule vm_rule;
	bool enforcing;                  /* a filter; false: a weight */
	const char *const *hosts;
	size_t n_hosts;
	enum vf_affinity_rule host_rule; /* NONE when hosts is empty */
};

/* Everything the scheduler reads: borrowed, must outlive the scheduler. */
struct vf_sched_input {
	const struct vf_sched_cluster *clusters;
	size_t n_clusters;
	const struct vf_sched_host *hosts;
	size_t n_hosts;
	const struct vf_sched_vm *vms;
	size_t n_vms;
	const struct vf_sched_group *groups;
	size_t n_groups;
};

/*
 * The filters, in the order they are asked: a host is rejected by the
 * first that fails.  One list, X(ID, name), makes the enum
 * (VF_SCHED_FILTER_ID) and schedule.c's table (the name, as explain and
 * the docs say it, and the function f_name that asks it).
 */
#define VF_SCHED_FILTERS(X)                                                    \
	X(CLUSTER, cluster) X(PIN, pin) X(MAINTENANCE, maintenance)            \
	X(NON_OPERATIONAL, non_operational) X(CPU, cpu) X(NETWORK, network)    \
	X(STORAGE, storage) X(MEMORY, memory) X(VCPU, vcpu)                    \
	X(VM_AFFINITY, vm_affinity) X(HOST_AFFINITY, host_affinity)

#define VF_SCHED_FILTER_ENUM_(id, name) VF_SCHED_FILTER_##id,
enum vf_sched_filter {
	VF_SCHED_FILTER_NONE,            /* passed every filter */
	VF_SCHED_FILTERS(VF_SCHED_FILTER_ENUM_)
	VF_SCHED_N_FILTERS
};
#undef VF_SCHED_FILTER_ENUM_

/* The weights, summed into a host's score (lower is better). */
enum vf_sched_weight {
	VF_SCHED_WEIGHT_LOAD,            /* the cluster's policy */
	VF_SCHED_WEIGHT_VM_AFFINITY,     /* soft VM-to-VM rules */
	VF_SCHED_WEIGHT_HOST_AFFINITY,   /* soft VM-to-host rules */
	VF_SCHED_N_WEIGHTS
};

/* What one soft rule broken costs: more than any load difference (the
 * load weight stays under 10^9 up to 250,000 VMs on a host), so a soft
 * rule decides unless every host breaks it. */
#define VF_SCHED_SOFT_COST 1000000000

/* The YAML spelling: "memory", "vm_affinity", "evenly_distributed"... */
const char *vf_sched_filter_name(enum vf_sched_filter f);
const char *vf_sched_weight_name(enum vf_sched_weight w);
const char *vf_sched_policy_name(enum vf_sched_policy p);

/*
 * The scheduler: the input, indexed, and where each VM runs now (the
 * input's vm.host, then every decision taken).  Decisions change it, so
 * a sequence of calls plans one after the other: drain, then repair
 * affinity, then rebalance.  The reasons it hands out live until
 * vf_sched_free.
 */
struct vf_sched;

/* A VM's host that names no host is taken as none (a new VM); a pin or
 * cluster that names nothing leaves it nowhere to go.  vf_sched_check
 * reports both.  Not thread-safe: a scheduler belongs to one thread. */
struct vf_sched *vf_sched_new(const struct vf_sched_input *in);
void vf_sched_free(struct vf_sched *s);

/* The host VM vm runs on now (in the scheduler's plan), or -1. */
int vf_sched_host_of(const struct vf_sched *s, size_t vm);

enum vf_sched_action {
	VF_SCHED_PLACE,                  /* a new VM goes to "to" */
	VF_SCHED_MIGRATE,                /* from "from" to "to" */
	VF_SCHED_RESTART,                /* its host failed: start it on "to" */
	VF_SCHED_BLOCKED,                /* cannot be done: reason says why */
};

/* One decision.  reason is never NULL. */
struct vf_sched_decision {
	enum vf_sched_action action;
	size_t vm;
	int from;                        /* the host it leaves (a failed one for
					  * RESTART); -1: nowhere (a new VM) */
	int to;                          /* -1 when blocked */
	const char *reason;
};

/*
 * The decisions of one call, in the order they are to be carried out:
 * each one's capacity holds at its step.  complete: the goal was
 * reached (every VM placed, the host drained, every violation repaired,
 * the spread under the threshold).  Zero-initialize; release with
 * vf_sched_result_release.
 */
struct vf_sched_result {
	struct vf_sched_decision *items;
	size_t n, alloc;
	bool complete;
};
void vf_sched_result_release(struct vf_sched_result *r);

/* Every VM that runs nowhere, in input order, to its best host. */
void vf_sched_place_new(struct vf_sched *s, struct vf_sched_result *r);

/*
 * Maintenance: every VM off host, the biggest first, each to its best
 * host at that step; a VM that fits nowhere may get room made for it by
 * one migration of a smaller VM (listed before it).  The host takes no
 * VM afterwards.  A VM that cannot leave (pinned, immovable, no room) is
 * BLOCKED with its reason; complete when the host is empty.
 */
void vf_sched_drain(struct vf_sched *s, int host, struct vf_sched_result *r);

/*
 * Affinity: each VM that breaks a rule (an enforcing one, or a soft one
 * some host would keep), with the migration that repairs it, or BLOCKED
 * with why none does.
 */
void vf_sched_fix_affinity(struct vf_sched *s, struct vf_sched_result *r);

/*
 * Rebalance cluster (an index) when the spread of load (the busiest
 * host's percentage minus the idlest's; a host's load is the larger of
 * its memory and vCPU use) exceeds its rebalance_threshold: one
 * migration at a time, each the one that lowers the spread most, until
 * it is under (greedy: few migrations, not proven fewest).
 */
void vf_sched_rebalance(struct vf_sched *s, size_t cluster, struct vf_sched_result *r);

/* HA: host failed; its HA VMs restarted elsewhere, highest priority
 * first; the others BLOCKED (not highly available). */
void vf_sched_restart(struct vf_sched *s, int host, struct vf_sched_result *r);

/* Why each host would take VM vm or not: the first filter that rejects
 * it, with why, or its score and the weights that make it. */
struct vf_sched_verdict {
	enum vf_sched_filter filter;     /* NONE: passed */
	char *why;                       /* malloc'd; NULL when passed */
	int64_t score;                   /* passed: the sum of parts */
	int64_t parts[VF_SCHED_N_WEIGHTS];
};

/*
 * Explain (`plan --explain vm.X`): verdicts[i] for each host i
 * (n_hosts of them, the caller frees each why); returns the host the VM
 * would go to, or -1.  As if the VM were not placed yet.
 */
int vf_sched_explain(struct vf_sched *s, size_t vm, struct vf_sched_verdict *verdicts);
/* The same as text, one host per line, the chosen one marked; appended
 * to out as is (reasons may quote hosts' words: print with
 * vf_fputs_text). */
void vf_sched_explain_text(struct vf_sched *s, size_t vm, struct vf_buf *out);

/* One problem vf_sched_check found: its text (malloc'd) and what it is
 * about, the input's VM, host or group of that index (where validate
 * reports it). */
enum vf_sched_subject { VF_SCHED_SUBJECT_VM, VF_SCHED_SUBJECT_HOST, VF_SCHED_SUBJECT_GROUP };
struct vf_sched_problem {
	enum vf_sched_subject subject;
	size_t index;
	char *text;
};

/*
 * For validate: what no placement can satisfy — enforcing rules that
 * contradict (together and apart, host sets that exclude each other, a
 * pin outside them, more VMs kept apart than hosts), a VM bigger than
 * every host of its cluster, names that name nothing.  Each problem is
 * appended to (*problems)[(*n)++] (as VF_APPEND); returns how many were
 * added.  The caller frees each text and the array.
 */
size_t vf_sched_check(const struct vf_sched_input *in, struct vf_sched_problem **problems,
		      size_t *n, size_t *alloc);

#endif
