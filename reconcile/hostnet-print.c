/*
 * hostnet-print.c — a host-networking plan as text (the plan output) and as
 * JSON (--json, and the records host apply keeps; see hostnet.h).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "reconcile/hostnet-internal.h"

static const char *const op_symbols[] = { "+", "~", "-/+", "-" };
static const char *const op_words[] = { "create", "update", "replace", "destroy" };

void vf_hostnet_field_print(FILE *out, bool create, size_t j, const char *field,
			    const char *before, const char *after)
{
	if (create) {
		fprintf(out, ", %s ", field);
	} else {
		fprintf(out, "%s %s ", j ? "," : ":", field);
		vf_fputs_text(before, out);
		fputs(" -> ", out);
	}
	vf_fputs_text(after, out);
}

void vf_hostnet_reason_print(FILE *out, const char *reason)
{
	if (reason) {
		fputs(" (", out);
		vf_fputs_text(reason, out);
		fputc(')', out);
	}
}

void vf_hostnet_plan_print(const struct vf_hostnet_plan *plan, FILE *out)
{
	unsigned counts[4] = { 0, 0, 0, 0 };
	size_t i, j;

	if (!plan->n) {
		fprintf(out, "No changes. Host %s's links match the configuration.\n", plan->host);
	} else {
		for (i = 0; i < plan->n; i++) {
			const struct vf_hostnet_action *a = &plan->actions[i];
			bool shown = a->op == VF_HOSTNET_CREATE || a->op == VF_HOSTNET_UPDATE;

			counts[a->op]++;
			/* link names and values from the kernel or a spec:
			 * escaped (a NULL value is "(none)") */
			fprintf(out, "%-3s %-7s link.", op_symbols[a->op], op_words[a->op]);
			vf_fputs_text(a->name, out);
			fputc('@', out);
			vf_fputs_text(plan->host, out);
			if (a->op == VF_HOSTNET_CREATE)
				fprintf(out, ": %s", vf_host_link_kind_name(a->kind));
			for (j = 0; shown && j < a->n_changes; j++)
				vf_hostnet_field_print(out, a->op == VF_HOSTNET_CREATE, j,
						       a->changes[j].field, a->changes[j].before,
						       a->changes[j].after);
			vf_hostnet_reason_print(out, a->reason);
			fputc('\n', out);
		}
		fprintf(out, "\nPlan: %u to create, %u to update, %u to replace, %u to destroy.\n",
			counts[VF_HOSTNET_CREATE], counts[VF_HOSTNET_UPDATE],
			counts[VF_HOSTNET_REPLACE], counts[VF_HOSTNET_DELETE]);
	}
	if (plan->n_unmanaged) {
		fprintf(out, "Not managed (left as they are):");
		for (i = 0; i < plan->n_unmanaged; i++) {
			fputc(' ', out);
			vf_fputs_text(plan->unmanaged[i], out);
		}
		fputc('\n', out);
	}
}

json_t *vf_hostnet_action_json(const struct vf_hostnet_plan *plan, size_t i)
{
	const struct vf_hostnet_action *a = &plan->actions[i];
	json_t *c = json_object(), *fields = json_array();
	size_t j;

	json_object_set_new(c, "address", json_sprintf("link.%s@%s", a->name, plan->host));
	json_object_set_new(c, "name", json_string(a->name));
	json_object_set_new(c, "kind", json_string(vf_host_link_kind_name(a->kind)));
	json_object_set_new(c, "action", json_string(vf_hostnet_op_name(a->op)));
	json_object_set_new(c, "reason", a->reason ? json_string(a->reason) : json_null());
	for (j = 0; j < a->n_changes; j++)
		json_array_append_new(fields, json_pack("{s:s, s:o, s:s}",
			"field", a->changes[j].field,
			"before", a->changes[j].before ? json_string(a->changes[j].before)
						       : json_null(),
			"after", a->changes[j].after));
	json_object_set_new(c, "fields", fields);
	return c;
}

json_t *vf_hostnet_plan_json(const struct vf_hostnet_plan *plan)
{
	json_t *doc = json_object(), *changes = json_array(), *unmanaged = json_array();
	size_t i;

	for (i = 0; i < plan->n; i++)
		json_array_append_new(changes, vf_hostnet_action_json(plan, i));
	for (i = 0; i < plan->n_unmanaged; i++)
		json_array_append_new(unmanaged, json_string(plan->unmanaged[i]));
	json_object_set_new(doc, "host", json_string(plan->host));
	json_object_set_new(doc, "status", json_string("planned"));
	json_object_set_new(doc, "changes", changes);
	json_object_set_new(doc, "unmanaged", unmanaged);
	return doc;
}

int vf_hostnet_plan_print_json(const struct vf_hostnet_plan *plan, FILE *out)
{
	json_t *doc = vf_hostnet_plan_json(plan);
	int rc;

	rc = json_dumpf(doc, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(doc);
	return rc;
}
