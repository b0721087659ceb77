/*
 * plan-print.c — a plan for people (text, colour on a terminal) and for
 * machines (one JSON document, schemas/plan.schema.json).
 *
 *   + create   vm.web1 on lab1
 *         memory: 256 MiB
 *   ~ update   vm.web2 on lab2 (takes effect at next restart)
 *         max_memory: 256 MiB -> 512 MiB (at next restart)
 *   ~ update   vm.web3 on lab1 (restarts the VM: restart_policy: allow)
 *   -/+ replace network.lan@lab1: mode: nat -> isolated cannot change in place
 *   - destroy  vm.old on lab3
 *
 *   Plan: 1 to create, 1 to update, 1 to replace, 1 to destroy.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "reconcile/engine.h"
#include "reconcile/hostnet.h"
#include "reconcile/json-stream.h"

#define PLAN_FORMAT_VERSION 1

static const char *const symbols[VF_ACTION_COUNT] = { "+", "~", "-/+", "-", ">", "<" };
static const char *const words[VF_ACTION_COUNT] = {
	"create", "update", "replace", "destroy", "start", "stop",
};
static const char *const colors[VF_ACTION_COUNT] = {
	"\033[32m", "\033[33m", "\033[35m", "\033[31m", "\033[36m", "\033[36m",
};
#define RESET "\033[0m"
#define BOLD "\033[1m"

/*
 * A change of a VM's cloud_init field in words: its values are hashes
 * (reconcile/cloudinit.h: PLAIN[+SEALED]) that mean nothing to a reader and
 * must not look like content.
 */
static const char *cloud_init_change(const struct vf_field *before, const struct vf_field *after)
{
	const char *b = before->present ? before->text : NULL;
	const char *c = after->present ? after->text : NULL;
	const char *bs, *cs;
	bool plain, sealed;

	if (!b)
		return "(added) (takes effect at first boot only)";
	if (!c)
		return "(removed)";
	bs = strchr(b, '+');
	cs = strchr(c, '+');
	plain = strncmp(b, c, 16) != 0;
	sealed = bs && cs && strcmp(bs, cs);
	if (plain && sealed)
		return "(cloud-init data and sealed value changed) (takes effect at first boot only)";
	if (sealed)
		return "(sealed value changed) (takes effect at first boot only)";
	return "(cloud-init data changed) (takes effect at first boot only)";
}

/* A sealed value's field (a storage domain's "chap.secret", a VM's
 * "graphics.password"): its values are keyed hashes, shown as what
 * happened, never as text. */
static bool sealed_field(const char *path)
{
	return !strcmp(path, "chap.secret") || !strcmp(path, "graphics.password");
}

static const char *sealed_change(const struct vf_field *before, const struct vf_field *after)
{
	if (!before->present)
		return "(sealed value set)";
	if (!after->present)
		return "(removed)";
	return "(sealed value changed)";
}

/* A value from the config or a host, then the end of its line: escaped
 * (vf_escape_text), so that no value can talk to the terminal. */
static void put_line(FILE *out, const char *s)
{
	vf_fputs_text(s, out);
	fputc('\n', out);
}

static void print_fields(const struct vf_action *a, FILE *out)
{
	struct vf_arena scratch = VF_ARENA_INIT;
	const struct vf_field_change *fields;
	char b[512], c[512];
	size_t i, n = vf_action_fields(a, &scratch, &fields);

	for (i = 0; i < n; i++) {
		const struct vf_field_change *f = &fields[i];
		if (a->type == VF_ACTION_CREATE) {
			if (!f->after.present || (f->after.any && !f->after.text))
				continue;
			if (!strcmp(f->after.path, "cloud_init")) {
				/* no text: a saved plan may say anything (a number) */
				fprintf(out, "      cloud_init: (a seed for the first boot%s)\n",
					f->after.text && strchr(f->after.text, '+') ?
					", with sealed values" : "");
				continue;
			}
			if (sealed_field(f->after.path)) {
				fprintf(out, "      %s: (sealed)\n", f->after.path);
				continue;
			}
			fprintf(out, "      %s: ", f->after.path);
			put_line(out, vf_field_format(&f->after, c, sizeof(c)));
		} else if (a->type == VF_ACTION_DELETE) {
			continue;  /* the address says it all */
		} else if (!strcmp(f->after.present ? f->after.path : f->before.path, "cloud_init")) {
			fprintf(out, "      cloud_init: %s\n", cloud_init_change(&f->before, &f->after));
		} else if (sealed_field(f->after.present ? f->after.path : f->before.path)) {
			fprintf(out, "      %s: %s\n", f->after.present ? f->after.path : f->before.path,
				sealed_change(&f->before, &f->after));
		} else {
			fprintf(out, "      %s: ", f->after.present ? f->after.path : f->before.path);
			vf_fputs_text(vf_field_format(&f->before, b, sizeof(b)), out);
			fputs(" -> ", out);
			vf_fputs_text(vf_field_format(&f->after, c, sizeof(c)), out);
			fprintf(out, "%s\n",
				a->type != VF_ACTION_UPDATE || f->class != VF_FIELD_RESTART ? ""
				: a->requires_restart ? " (at next restart)"
				: a->restart ? " (needs the restart)" : "");
		}
	}
	vf_arena_release(&scratch);
}

/*
 * Does link change i run in apply's second phase (cmd/hostnet.c): a
 * delete, or a port's release from a bridge or bond that is deleted?
 */
bool vf_plan_link_late(const struct vf_plan *plan, size_t i)
{
	const struct vf_link_change *l = &plan->links[i];
	size_t j, k;

	if (l->type == VF_ACTION_DELETE)
		return true;
	if (l->type != VF_ACTION_UPDATE || !l->n_fields)
		return false;
	for (j = 0; j < l->n_fields; j++) {
		const struct vf_link_field *f = &l->fields[j];
		bool gone = false;
		if (strcmp(f->field, "master") || !f->after || strcmp(f->after, "(none)") ||
		    !f->before)
			return false;
		for (k = 0; k < plan->n_links; k++)
			if (plan->links[k].type == VF_ACTION_DELETE &&
			    !strcmp(plan->links[k].host, l->host) &&
			    !strcmp(plan->links[k].name, f->before))
				gone = true;
		if (!gone)
			return false;
	}
	return true;
}

/* One link change, as `virtform host plan` prints it. */
static void print_link(const struct vf_link_change *l, FILE *out, bool color)
{
	bool shown = l->type == VF_ACTION_CREATE || l->type == VF_ACTION_UPDATE ||
		     l->type == VF_ACTION_REPLACE;
	size_t j;

	fprintf(out, "%s%-3s %-7s%s %s", color ? colors[l->type] : "", symbols[l->type],
		words[l->type], color ? RESET : "", color ? BOLD : "");
	vf_fputs_text(l->address, out);
	fputs(color ? RESET : "", out);
	if (l->type == VF_ACTION_CREATE)
		fprintf(out, ": %s", l->link_kind);
	for (j = 0; shown && j < l->n_fields; j++)
		vf_hostnet_field_print(out, l->type == VF_ACTION_CREATE, j, l->fields[j].field,
				       l->fields[j].before, l->fields[j].after);
	vf_hostnet_reason_print(out, l->reason);
	fputc('\n', out);
}

void vf_plan_print(const struct vf_plan *plan, FILE *out, bool color)
{
	size_t i;

	for (i = 0; i < plan->n_skipped; i++)
		fprintf(out, "%sWARNING: host %s — skipped (--skip-unreachable): nothing on it is "
			     "planned%s\n", color ? "\033[1;31m" : "", plan->skipped_hosts[i],
			color ? RESET : "");
	for (i = 0; i < plan->n_warnings; i++) {
		fputs("warning: ", out);
		put_line(out, plan->warnings[i]);
	}
	if (plan->n_skipped || plan->n_warnings)
		fputc('\n', out);
	if (vf_plan_empty(plan)) {
		fprintf(out, "No changes. Infrastructure matches the configuration.\n");
		return;
	}
	/* host links first (they are made before anything uses them),
	 * their deletes last */
	for (i = 0; i < plan->n_links; i++)
		if (!vf_plan_link_late(plan, i))
			print_link(&plan->links[i], out, color);
	for (i = 0; i < plan->n_actions; i++) {
		const struct vf_action *a = &plan->actions[i];
		fprintf(out, "%s%-3s %-7s%s %s", color ? colors[a->type] : "", symbols[a->type],
			words[a->type], color ? RESET : "", color ? BOLD : "");
		vf_fputs_text(a->address, out);
		fputs(color ? RESET : "", out);
		if (a->kind == VF_KIND_VM) {
			fputs(" on ", out);
			vf_fputs_text(a->host, out);
		}
		if (a->type == VF_ACTION_REPLACE && a->reason) {
			fputs(": ", out);
			vf_fputs_text(a->reason, out);
		}
		if (a->type == VF_ACTION_UPDATE && a->requires_restart)
			fprintf(out, " (takes effect at next restart)");
		if (a->type == VF_ACTION_UPDATE && a->restart)
			fprintf(out, " (restarts the VM: restart_policy: allow)");
		if (a->drift)
			fprintf(out, " (changed outside virtform)");
		fputc('\n', out);
		print_fields(a, out);
	}
	for (i = 0; i < plan->n_links; i++)
		if (vf_plan_link_late(plan, i))
			print_link(&plan->links[i], out, color);
	fprintf(out, "\nPlan: %u to create, %u to update, %u to replace, %u to destroy",
		plan->counts[VF_ACTION_CREATE] + plan->link_counts[VF_ACTION_CREATE],
		plan->counts[VF_ACTION_UPDATE] + plan->link_counts[VF_ACTION_UPDATE],
		plan->counts[VF_ACTION_REPLACE] + plan->link_counts[VF_ACTION_REPLACE],
		plan->counts[VF_ACTION_DELETE] + plan->link_counts[VF_ACTION_DELETE]);
	if (plan->counts[VF_ACTION_START] || plan->counts[VF_ACTION_STOP])
		fprintf(out, ", %u to start, %u to stop", plan->counts[VF_ACTION_START],
			plan->counts[VF_ACTION_STOP]);
	fprintf(out, ".\n");
}

static json_t *field_json(const struct vf_field *f)
{
	if (!f->present || (f->any && !f->text))
		return json_null();
	switch (f->type) {
	case VF_VALUE_STRING: return json_string(f->text);
	case VF_VALUE_NUMBER:
	case VF_VALUE_BYTES:  return json_integer((json_int_t)f->number);
	case VF_VALUE_BOOL:   return json_boolean(f->number);
	}
	return json_null();
}

json_t *vf_plan_change_json(const struct vf_plan *plan, size_t i)
{
	const struct vf_action *a = &plan->actions[i];
	json_t *fields = json_array(), *deps = json_array();
	struct vf_arena scratch = VF_ARENA_INIT;
	const struct vf_field_change *fs;
	size_t j, nf;

	nf = vf_action_fields(a, &scratch, &fs);
	for (j = 0; j < nf; j++) {
		const struct vf_field_change *f = &fs[j];
		json_array_append_new(fields, json_pack("{s:s, s:o, s:o}",
			"path", f->after.present ? f->after.path : f->before.path,
			"before", field_json(&f->before), "after", field_json(&f->after)));
	}
	vf_arena_release(&scratch);
	for (j = 0; j < a->n_deps; j++)
		json_array_append_new(deps, json_string(plan->actions[a->deps[j]].address));
	/* the keys in this order: the plan's JSON (docs/plan-apply.md, tests/golden) */
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s?, s:b, s:o, s:o}",
			 "address", a->address, "kind", vf_kind_name(a->kind), "name", a->name,
			 "host", a->host ? a->host : "", "action", vf_action_type_name(a->type),
			 "live", a->live, "requires_restart", a->requires_restart,
			 "restart", a->restart, "reason", a->reason, "drift", a->drift,
			 "fields", fields, "depends_on", deps);
}

static const char *link_str(struct vf_plan *plan, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? vf_arena_strdup(&plan->arena, s) : NULL;
}

int vf_plan_add_links(struct vf_plan *plan, const char *host, const json_t *changes)
{
	const json_t *c;
	size_t i, j;

	if (!json_is_array(changes))
		return -1;
	json_array_foreach(changes, i, c) {
		const json_t *fields = json_object_get(c, "fields"), *f;
		const char *action = json_string_value(json_object_get(c, "action"));
		const char *h = host ? host : json_string_value(json_object_get(c, "host"));
		struct vf_link_change l = { 0 };
		char *address;
		enum vf_action_type t;

		if (vf_action_type_parse(action, &t) < 0 || t > VF_ACTION_DELETE || !h || !json_is_array(fields) ||
		    !(l.name = link_str(plan, c, "name")) || !(l.link_kind = link_str(plan, c, "kind")))
			return -1;
		l.type = t;
		l.host = vf_arena_strdup(&plan->arena, h);
		address = xasprintf("link.%s@%s", l.name, h);
		l.address = vf_arena_strdup(&plan->arena, address);
		free(address);
		l.reason = link_str(plan, c, "reason");
		l.n_fields = json_array_size(fields);
		l.fields = vf_arena_alloc(&plan->arena, (l.n_fields + 1) * sizeof(*l.fields));
		json_array_foreach(fields, j, f) {
			l.fields[j].field = link_str(plan, f, "field");
			l.fields[j].before = link_str(plan, f, "before");
			l.fields[j].after = link_str(plan, f, "after");
			if (!l.fields[j].field)
				return -1;
		}
		VF_GROW(plan->links, plan->n_links + 1, plan->alloc_links);
		plan->links[plan->n_links++] = l;
		plan->link_counts[l.type]++;
	}
	return 0;
}

json_t *vf_plan_links_json(const struct vf_plan *plan)
{
	json_t *doc = json_object(), *changes = json_array(), *summary = json_object();
	size_t i, j;

	for (i = 0; i < plan->n_links; i++) {
		const struct vf_link_change *l = &plan->links[i];
		json_t *fields = json_array();

		for (j = 0; j < l->n_fields; j++)
			json_array_append_new(fields, json_pack("{s:s, s:o, s:o}",
				"field", l->fields[j].field,
				"before", vf_json_str_or_null(l->fields[j].before),
				"after", vf_json_str_or_null(l->fields[j].after)));
		json_array_append_new(changes, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
			"address", l->address, "name", l->name, "host", l->host,
			"kind", l->link_kind, "action", vf_action_type_name(l->type),
			"reason", vf_json_str_or_null(l->reason),
			"fields", fields));
	}
	for (i = 0; i < VF_ACTION_COUNT; i++)
		if (i == VF_ACTION_CREATE || i == VF_ACTION_UPDATE || i == VF_ACTION_REPLACE ||
		    i == VF_ACTION_DELETE)
			json_object_set_new(summary, vf_action_type_name(i),
					    json_integer(plan->link_counts[i]));
	json_object_set_new(doc, "changes", changes);
	json_object_set_new(doc, "summary", summary);
	return doc;
}

/* The mass-deletion guard's verdict (plan.h, struct vf_guard). */
static json_t *guard_json(const struct vf_guard *g)
{
	return json_pack("{s:b, s:b, s:i, s:b, s:{s:i, s:i}, s:{s:i, s:i}, s:{s:i, s:i}, s:o, s:o}",
			 "refused", g->refused, "allowed", g->allowed,
			 "limit", (json_int_t)g->limit, "limit_given", g->limit_given,
			 "destroys", "vms", (json_int_t)g->vms, "volumes", (json_int_t)g->volumes,
			 "managed", "vms", (json_int_t)g->managed_vms,
			 "volumes", (json_int_t)g->managed_volumes,
			 "configured", "vms", (json_int_t)g->configured_vms,
			 "volumes", (json_int_t)g->configured_volumes,
			 "message", vf_json_str_or_null(g->message),
			 "hint", vf_json_str_or_null(g->hint));
}

/*
 * The document is written as it goes, one change at a time: as one
 * jansson tree it would cost 250 MiB for 30,000 changes.  The output is
 * what json_dumpf() of that tree printed (JSON_INDENT(2)).
 */
int vf_plan_write_json(struct vf_jsonw *w, const char *key, const struct vf_plan *plan)
{
	json_t *summary = json_object(), *warnings = json_array(), *skipped = json_array();
	size_t i;

	vf_jsonw_object(w, key);
	vf_jsonw_value(w, "format_version", json_integer(PLAN_FORMAT_VERSION));
	vf_jsonw_value(w, "project", json_string(plan->project ? plan->project : ""));
	vf_jsonw_array(w, "changes");
	for (i = 0; i < plan->n_actions; i++)
		vf_jsonw_value(w, NULL, vf_plan_change_json(plan, i));
	vf_jsonw_end(w);
	for (i = 0; i < VF_ACTION_COUNT; i++)
		json_object_set_new(summary, vf_action_type_name(i), json_integer(plan->counts[i]));
	vf_jsonw_value(w, "summary", summary);
	for (i = 0; i < plan->n_warnings; i++)
		json_array_append_new(warnings, json_string(plan->warnings[i]));
	vf_jsonw_value(w, "warnings", warnings);
	for (i = 0; i < plan->n_skipped; i++)
		json_array_append_new(skipped, json_string(plan->skipped_hosts[i]));
	vf_jsonw_value(w, "skipped_hosts", skipped);
	vf_jsonw_value(w, "host_network", vf_plan_links_json(plan));
	if (plan->guard.checked)
		vf_jsonw_value(w, "guard", guard_json(&plan->guard));
	vf_jsonw_end(w);
	return w->failed ? -1 : 0;
}

int vf_plan_print_json(const struct vf_plan *plan, FILE *out)
{
	struct vf_jsonw w;

	vf_jsonw_init(&w, out);
	vf_plan_write_json(&w, NULL, plan);
	fputc('\n', out);
	return vf_jsonw_finish(&w);
}
