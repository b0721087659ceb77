/*
 * load-affinity.c — affinity_groups[] into the model (docs/scheduling.md):
 * a group's VMs and hosts as references (load-refs.c resolves them), its
 * VM-to-VM and VM-to-host rules, and the rules of the keys themselves
 * (hosts and host_rule go together; a group has at least one rule).
 * Whether the groups can be kept at all is the scheduler's check
 * (schedule-input.h: vf_sched_check_config, run by validate).
 */

#include "reconcile/load-internal.h"

static void load_group(struct loader *L, const struct vf_node *n, void *obj, size_t index,
		       const char *ctx)
{
	/* VF_AFFINITY_POSITIVE, VF_AFFINITY_NEGATIVE: index + 1 */
	static const char *const rules[] = { "positive", "negative" };
	struct vf_affinity_group *g = obj;
	int e;

	g->vm_refs = vf_load_get_refs(L, n, "vms", REF_GROUP_VM, index, &g->vms, &g->n_vms, ctx);
	if (!vf_map_pair(n, "vms"))
		ERR(L, &n->pos, "list the group's VMs: vms: [db1, db2]",
		    "%s: missing required key 'vms'", ctx);
	e = vf_load_get_enum(L, n, "vm_rule", false, rules, VF_ARRAY_SIZE(rules), -1, ctx);
	g->vm_rule = (enum vf_affinity_rule)(e + 1);
	g->enforcing = vf_load_get_bool(L, n, "enforcing", true, ctx);
	g->host_refs = vf_load_get_refs(L, n, "hosts", REF_GROUP_HOST, index, &g->hosts,
					&g->n_hosts, ctx);
	e = vf_load_get_enum(L, n, "host_rule", false, rules, VF_ARRAY_SIZE(rules), -1, ctx);
	g->host_rule = (enum vf_affinity_rule)(e + 1);
	if (vf_map_pair(n, "hosts") && !vf_map_pair(n, "host_rule"))
		ERR(L, &vf_map_pair(n, "hosts")->key->pos,
		    "add host_rule: positive (keep the VMs on these hosts) or negative (off them)",
		    "%s: hosts without host_rule", ctx);
	else if (vf_map_pair(n, "host_rule") && !vf_map_pair(n, "hosts"))
		ERR(L, &vf_map_pair(n, "host_rule")->key->pos, "add hosts: [NAME, ...], or remove it",
		    "%s: host_rule without hosts", ctx);
	else if (!vf_map_pair(n, "vm_rule") && !vf_map_pair(n, "host_rule"))
		ERR(L, &n->pos, "add vm_rule: positive|negative, or hosts and host_rule",
		    "%s: the group has no rule", ctx);
	if (g->n_hosts == 0)
		g->host_rule = VF_AFFINITY_NONE;
}

static const char *const group_keys[] = { "name", "vms", "vm_rule", "enforcing", "hosts",
					  "host_rule" };

const struct vf_load_kind vf_load_affinity_kind = {
	KIND_AFFINITY_GROUP, "an affinity group", group_keys, VF_ARRAY_SIZE(group_keys),
	VF_LOAD_KIND_SLOT(struct vf_affinity_group, affinity_groups), load_group,
};
