/*
 * schedule-input.c — the configuration as the scheduler's input
 * (schedule-input.h), and validate's scheduler checks on it.
 */
#include <stdlib.h>
#include <string.h>

#include "reconcile/schedule-input.h"

/* The names of the networks or storage domains (items of size bytes,
 * the name first, the scope at scope_off) cluster cl may use. */
static const char *const *in_scope(struct vf_arena *arena, const void *items, size_t n,
				   size_t size, size_t scope_off, size_t n_scope_off,
				   const struct vf_cluster *cl, size_t *n_out)
{
	const char **out = vf_arena_alloc(arena, (n + 1) * sizeof(*out));
	size_t i;

	*n_out = 0;
	for (i = 0; i < n; i++) {
		const char *it = (const char *)items + i * size;
		struct vf_cluster *const *scope = *(struct vf_cluster *const *const *)(it + scope_off);
		if (vf_cluster_in_scope(scope, *(const size_t *)(it + n_scope_off), cl))
			out[(*n_out)++] = *(const char *const *)it;
	}
	return out;
}

#define IN_SCOPE(arena, arr, n, type, cl, n_out)                                   \
	in_scope(arena, arr, n, sizeof(type), offsetof(type, cluster_refs),        \
		 offsetof(type, n_clusters), cl, n_out)

static void vm_input(struct vf_arena *arena, const struct vf_vm *vm, struct vf_sched_vm *v)
{
	const char **nets = vf_arena_alloc(arena, (vm->n_nics + 1) * sizeof(*nets));
	const char **sts = vf_arena_alloc(arena, (vm->n_disks + 1) * sizeof(*sts));
	size_t i;

	v->name = vm->name;
	v->cluster = vm->cluster;
	v->memory = vm->memory;
	v->vcpus = vm->cpus;
	for (i = 0; i < vm->n_nics; i++)
		nets[v->n_networks++] = vm->nics[i].network;
	for (i = 0; i < vm->n_disks; i++)
		sts[v->n_storages++] = vm->disks[i].storage;
	v->networks = nets;
	v->storages = sts;
	v->pin = vm->host;
	v->ha = vm->ha_enabled;
	v->ha_priority = (int)vm->ha_priority;
}

void vf_sched_input_from_config(const struct vf_config *c, struct vf_arena *arena,
				struct vf_sched_input *in)
{
	static const enum vf_sched_policy policies[] = {
		[VF_SCHEDULING_EVENLY_DISTRIBUTED] = VF_SCHED_EVENLY_DISTRIBUTED,
		[VF_SCHEDULING_POWER_SAVING] = VF_SCHED_POWER_SAVING,
		[VF_SCHEDULING_VM_EVENLY_DISTRIBUTED] = VF_SCHED_VM_EVENLY_DISTRIBUTED,
	};
	struct vf_sched_cluster *cls = vf_arena_alloc(arena, (c->n_clusters + 1) * sizeof(*cls));
	struct vf_sched_host *hosts = vf_arena_alloc(arena, (c->n_hosts + 1) * sizeof(*hosts));
	struct vf_sched_vm *vms = vf_arena_alloc(arena, (c->n_vms + 1) * sizeof(*vms));
	struct vf_sched_group *groups =
		vf_arena_alloc(arena, (c->n_affinity_groups + 1) * sizeof(*groups));
	size_t i;

	memset(in, 0, sizeof(*in));
	for (i = 0; i < c->n_clusters; i++) {
		const struct vf_cluster *cl = &c->clusters[i];
		cls[i] = (struct vf_sched_cluster){ cl->name, policies[cl->scheduling],
						    cl->memory_overcommit, cl->cpu_overcommit,
						    cl->rebalance_threshold };
	}
	for (i = 0; i < c->n_hosts; i++) {
		const struct vf_host *h = &c->hosts[i];
		struct vf_sched_host *o = &hosts[i];
		memset(o, 0, sizeof(*o));
		o->name = h->name;
		o->cluster = h->cluster;
		o->memory_reserve = h->memory_reserve;
		o->maintenance = h->maintenance;
		o->networks = IN_SCOPE(arena, c->networks, c->n_networks, struct vf_network,
				       h->cluster_ref, &o->n_networks);
		o->storages = IN_SCOPE(arena, c->storages, c->n_storages, struct vf_storage,
				       h->cluster_ref, &o->n_storages);
	}
	for (i = 0; i < c->n_vms; i++) {
		memset(&vms[i], 0, sizeof(vms[i]));
		vm_input(arena, &c->vms[i], &vms[i]);
	}
	for (i = 0; i < c->n_affinity_groups; i++) {
		const struct vf_affinity_group *g = &c->affinity_groups[i];
		groups[i] = (struct vf_sched_group){ g->name, g->vms, g->n_vms, g->vm_rule,
						     g->enforcing, g->hosts, g->n_hosts,
						     g->host_rule };
	}
	*in = (struct vf_sched_input){ cls, c->n_clusters, hosts, c->n_hosts, vms, c->n_vms,
				       groups, c->n_affinity_groups };
}

/* Where validate reports problem p: its subject's position (the input
 * is the configuration's arrays, index for index). */
static const struct vf_pos *problem_pos(const struct vf_config *c,
					const struct vf_sched_problem *p)
{
	switch (p->subject) {
	case VF_SCHED_SUBJECT_VM: return &c->vms[p->index].pos;
	case VF_SCHED_SUBJECT_HOST: return &c->hosts[p->index].pos;
	case VF_SCHED_SUBJECT_GROUP: return &c->affinity_groups[p->index].pos;
	}
	return NULL;
}

size_t vf_sched_check_config(const struct vf_config *c, struct vf_diags *diags)
{
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_sched_input in;
	struct vf_sched_problem *problems = NULL;
	size_t n = 0, alloc = 0, i;

	vf_sched_input_from_config(c, &arena, &in);
	vf_sched_check(&in, &problems, &n, &alloc);
	for (i = 0; i < n; i++) {
		vf_error_at(diags, problem_pos(c, &problems[i]), NULL, "%s", problems[i].text);
		free(problems[i].text);
	}
	free(problems);
	vf_arena_release(&arena);
	return n;
}
