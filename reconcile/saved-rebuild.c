/*
 * saved-rebuild.c — the plan of a saved plan rebuilt as a struct vf_plan
 * (vf_saved_plan, saved.h): for `show`, which prints it as `plan` did,
 * and for the stale checks' messages, which quote a field's old value.
 * Each change is checked for what an action needs before it is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/json-stream.h"
#include "reconcile/saved-internal.h"

/* One side of a field change from its JSON value and display hint. */
static void field_from_json(struct vf_arena *arena, struct vf_field *f, const char *path,
			    json_t *v, int type, bool any)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	f->type = type < 0 ? VF_VALUE_STRING : (enum vf_value_type)type;
	f->any = any;
	if (json_is_string(v)) {
		f->type = VF_VALUE_STRING;
		f->text = vf_arena_strdup(arena, json_string_value(v));
		f->present = true;
	} else if (json_is_integer(v)) {
		if (f->type != VF_VALUE_BYTES)
			f->type = VF_VALUE_NUMBER;
		f->number = (uint64_t)json_integer_value(v);
		f->present = true;
	} else if (json_is_boolean(v)) {
		f->type = VF_VALUE_BOOL;
		f->number = json_is_true(v);
		f->present = true;
	} else {
		/* null: absent, or left open by the configuration */
		f->present = any;
	}
}

static char **strings_of(json_t *a, size_t *n, size_t *alloc)
{
	char **out = NULL;
	json_t *v;
	size_t i;

	*n = *alloc = 0;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			continue;
		VF_GROW(out, *n + 1, *alloc);
		out[(*n)++] = xstrdup(json_string_value(v));
	}
	return out;
}

/* Change i of the saved plan has what an action needs, or *error. */
static int change_check(const struct vf_saved *s, size_t i, json_t *c, enum vf_kind *kind,
			enum vf_action_type *type, char **error)
{
	json_t *fields = json_object_get(c, "fields");

	if (!vf_json_str(c, "address") || !vf_json_str(c, "name") || vf_kind_parse(vf_json_str(c, "kind"), kind) < 0 ||
	    vf_action_type_parse(vf_json_str(c, "action"), type) < 0 || !json_is_array(fields) ||
	    s->doc->display[i].n_fields != json_array_size(fields)) {
		*error = xasprintf("%s: the saved plan is damaged: change %zu is incomplete "
				   "(address, kind, name, action, fields); make it again "
				   "with 'virtform plan -out %s'", s->file, i, s->file);
		return -1;
	}
	return 0;
}

struct rebuild {
	struct vf_plan *plan;
	struct vf_strmap paths;          /* field paths, shared: in plan->arena */
	char **error;
};

static int rebuild_change(const struct vf_saved *s, size_t i, json_t *c, void *arg)
{
	struct rebuild *rb = arg;
	struct vf_plan *plan = rb->plan;
	const struct vf_saved_doc *doc = s->doc;
	const struct display *d = &doc->display[i];
	struct vf_action *a = &plan->actions[plan->n_actions];
	json_t *fields = json_object_get(c, "fields"), *f;
	size_t j;

	if (change_check(s, i, c, &a->kind, &a->type, rb->error) < 0)
		return -1;
	a->index = plan->n_actions++;
	a->address = vf_arena_strdup(&plan->arena, vf_json_str(c, "address"));
	a->name = vf_arena_strdup(&plan->arena, vf_json_str(c, "name"));
	a->host = vf_arena_strdup(&plan->arena, vf_json_str(c, "host") ? vf_json_str(c, "host") : "");
	a->live = json_is_true(json_object_get(c, "live"));
	a->requires_restart = json_is_true(json_object_get(c, "requires_restart"));
	a->restart = json_is_true(json_object_get(c, "restart"));
	a->drift = json_is_true(json_object_get(c, "drift"));
	if (vf_json_str(c, "reason"))
		a->reason = vf_arena_strdup(&plan->arena, vf_json_str(c, "reason"));
	a->shutdown_timeout = d->shutdown_timeout;
	a->n_fields = json_array_size(fields);
	a->fields = vf_arena_alloc(&plan->arena, (a->n_fields ? a->n_fields : 1) *
						 sizeof(*a->fields));
	json_array_foreach(fields, j, f) {
		const struct hint *h = &doc->hints[d->first_hint + j];
		const char *path = vf_json_str(f, "path") ? vf_json_str(f, "path") : "?";
		char *shared = vf_strmap_get(&rb->paths, path);
		struct vf_field_change *fc = &a->fields[j];
		if (!shared) {
			shared = vf_arena_strdup(&plan->arena, path);
			vf_strmap_put(&rb->paths, shared, shared);
		}
		field_from_json(&plan->arena, &fc->before, shared, json_object_get(f, "before"),
				h->type - 1, h->before_any);
		field_from_json(&plan->arena, &fc->after, shared, json_object_get(f, "after"),
				h->type - 1, h->after_any);
		fc->class = h->cls ? (enum vf_field_class)(h->cls - 1) : VF_FIELD_LIVE;
	}
	for (j = 0; j < d->n_deps; j++) {
		uint32_t k = doc->deps[d->first_dep + j];
		if (k == UINT32_MAX || k >= s->n_changes || k == i)
			continue;
		VF_GROW(a->deps, a->n_deps + 1, a->alloc_deps);
		a->deps[a->n_deps++] = (size_t)k;
	}
	plan->counts[a->type]++;
	return 0;
}

int vf_saved_plan(const struct vf_saved *s, struct vf_plan *plan, char **error)
{
	json_t *doc = json_object_get(s->doc->root, "plan");
	struct rebuild rb = { .plan = plan, .error = error };
	int rc;

	memset(plan, 0, sizeof(*plan));
	plan->project = vf_arena_strdup(&plan->arena, vf_json_str(doc, "project") ? vf_json_str(doc, "project")
									    : s->project);
	plan->warnings = strings_of(json_object_get(doc, "warnings"), &plan->n_warnings,
				    &plan->alloc_warnings);
	plan->skipped_hosts = strings_of(json_object_get(doc, "skipped_hosts"), &plan->n_skipped,
					 &plan->alloc_skipped);
	plan->actions = xcalloc(s->n_changes + 1, sizeof(*plan->actions));
	plan->alloc_actions = s->n_changes + 1;
	rc = vf_saved_changes_walk(s, rebuild_change, &rb, error);
	vf_strmap_release(&rb.paths);
	if (rc == 0 && json_object_get(doc, "host_network") &&
	    vf_plan_add_links(plan, NULL, json_object_get(json_object_get(doc, "host_network"),
							   "changes")) < 0) {
		*error = xasprintf("%s: the saved plan is damaged: a host network change is "
				   "incomplete; make it again", s->file);
		rc = -1;
	}
	if (rc < 0)
		vf_plan_free(plan);
	return rc;
}
