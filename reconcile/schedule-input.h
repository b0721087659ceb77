/*
 * schedule-input.h — the scheduler's input (schedule.h) built from a
 * configuration: what validate checks now and what the planner will fill
 * with the hosts' facts (memory, CPUs, where each VM runs).
 */
#ifndef VF_SCHEDULE_INPUT_H
#define VF_SCHEDULE_INPUT_H

#include "reconcile/model.h"
#include "reconcile/schedule.h"

/*
 * The input, from the configuration alone: every cluster, host, VM and
 * affinity group in config order (index i of each array is config's
 * item i), strings borrowed from config.  What only the hosts can say
 * is left zero or NULL for the caller to fill: a host's memory_total
 * (0: unknown, the size checks skip it), memory_other, cpus,
 * vcpus_other, non_operational, cpu_incompatible; a VM's host (where it
 * runs) and immovable.  A host's networks and storage domains are those
 * its cluster may use (their clusters: scope).  Arrays in arena.
 */
void vf_sched_input_from_config(const struct vf_config *c, struct vf_arena *arena,
				struct vf_sched_input *in);

/*
 * validate: vf_sched_check on the configuration's input, each problem an
 * error in diags at the position of its subject (the affinity group, VM
 * or host it is about).  Returns how many were added.
 */
size_t vf_sched_check_config(const struct vf_config *c, struct vf_diags *diags);

#endif
