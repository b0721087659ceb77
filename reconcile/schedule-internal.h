/*
 * schedule-internal.h — what the scheduler's files share: the indexed
 * input and where each VM runs (schedule.c), used by the moves
 * (schedule-moves.c) and the validate checks (schedule-check.c).  Not for
 * anyone else: the contract is schedule.h.
 */
#ifndef VF_SCHEDULE_INTERNAL_H
#define VF_SCHEDULE_INTERNAL_H

#include "reconcile/schedule.h"

/* A set of small integers (interned names, host indices). */
struct vf_sched_bits {
	uint64_t *words;                 /* in the scheduler's arena */
};

struct vf_sched_hostrec {
	int cluster;                     /* index; -1: names no cluster */
	uint64_t memory_cap;             /* (total - reserve) * overcommit */
	uint64_t vcpu_cap;               /* cpus * overcommit; 0: no limit */
	uint64_t memory_used;            /* memory_other + the VMs on it */
	uint64_t vcpus_used;
	size_t n_vms;
	bool maintenance;                /* the input's, or drained */
	const char *down;                /* not operational: why (input, or failed) */
	struct vf_sched_bits networks, storages;
};

struct vf_sched_vmrec {
	int cluster;                     /* -1: names no cluster */
	int at;                          /* host it runs on; -1 none */
	int pin;                         /* -1: none */
	size_t pin_slot;                 /* pin, as a one-host candidate list */
	int *networks, *storages;        /* interned ids; -1: present nowhere */
	size_t *groups;                  /* the groups it is in */
	size_t n_groups;
};

struct vf_sched_grouprec {
	size_t *members;                 /* VM indices (unknown names dropped) */
	size_t n_members;
	uint32_t *count;                 /* vm_rule: members on each host */
	size_t placed;                   /* vm_rule: members on some host */
	struct vf_sched_bits hosts;      /* host_rule: the group's hosts */
};

struct vf_sched {
	const struct vf_sched_input *in;
	struct vf_arena arena;           /* everything below, and the reasons */
	struct vf_sched_hostrec *h;
	struct vf_sched_vmrec *v;
	struct vf_sched_grouprec *g;
	size_t **cluster_hosts;          /* per cluster: its hosts, in order */
	size_t *n_cluster_hosts;
	struct vf_strmap cluster_ids, host_ids, vm_ids;
	size_t n_host_words;             /* words of a host set */
	int *anchor;                     /* scratch: per group of the VM probed */
};

/* The index of name in a map built by vf_sched_new; -1 when absent or NULL. */
int vf_sched_id(const struct vf_strmap *m, const char *name);

static inline bool vf_sched_bit(const struct vf_sched_bits *b, size_t i)
{
	return b->words && (b->words[i / 64] >> (i % 64)) & 1;
}

/* VM vm now runs on host (-1: nowhere): the loads and group counts follow. */
void vf_sched_assign(struct vf_sched *s, size_t vm, int host);

/* The host the positive VM-to-VM rule of group g asks for: the one with
 * most members (the first of those); -1 when no member runs. */
int vf_sched_anchor(const struct vf_sched *s, size_t g);

/*
 * The first filter that rejects host for vm (as placed now: lift it
 * first), why (when why is not NULL) appended; NONE when it passes.
 * vf_sched_filter_all: every filter that rejects, as bits (1 << filter).
 */
enum vf_sched_filter vf_sched_filter_host(struct vf_sched *s, size_t vm, size_t host,
					  struct vf_buf *why);
unsigned vf_sched_filter_all(struct vf_sched *s, size_t vm, size_t host);

/* The best host for vm (lifted) other than exclude, or -1; *score its score. */
int vf_sched_best(struct vf_sched *s, size_t vm, int exclude, int64_t *score);

/* Why vm fits nowhere: "no host can take it: memory on 3 hosts, ...". */
const char *vf_sched_why_nowhere(struct vf_sched *s, size_t vm, int exclude);

/* A reason kept until vf_sched_free. */
const char *vf_sched_keep(struct vf_sched *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append one decision. */
void vf_sched_decide(struct vf_sched_result *r, enum vf_sched_action action, size_t vm,
		     int from, int to, const char *reason);

/* The load of host in per mille: its memory use of what it can give, or
 * (with_vcpus) its vCPU use of the limit when that is larger. */
int64_t vf_sched_load(const struct vf_sched *s, size_t host, bool with_vcpus);

/* What the soft rules vm (lifted) would break on host cost. */
int64_t vf_sched_soft_cost(struct vf_sched *s, size_t vm, size_t host);

#endif
