/*
 * saved-display.c — a saved plan's private display hints: each field's
 * value type and change class and each change's dependencies, written
 * beside the plan (saved-write.c) so that `show` prints "2 GiB" again
 * although JSON keeps only 2147483648, and read back compactly into the
 * doc (saved-read.c) for the plan rebuilt (saved-rebuild.c).
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

static const char *const value_types[] = {
	[VF_VALUE_STRING] = "string", [VF_VALUE_NUMBER] = "number",
	[VF_VALUE_BYTES] = "bytes",   [VF_VALUE_BOOL] = "bool",
};
static const char *const field_classes[] = {
	[VF_FIELD_LIVE] = "live", [VF_FIELD_RESTART] = "restart", [VF_FIELD_REPLACE] = "replace",
};

static int name_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (!strcmp(names[i], name))
			return (int)i;
	return -1;
}

/*
 * What the plan document loses and `show` needs, for plan->actions[i]:
 * each field's value type (bytes vs number) and change class, whether a
 * side is "left open by the configuration", the dependencies by index
 * (an address may have two actions), the VM's shutdown timeout.
 */
json_t *vf_saved_display_json(const struct vf_plan *plan, size_t i)
{
	const struct vf_action *a = &plan->actions[i];
	json_t *c = json_object(), *fields = json_array(), *deps = json_array();
	struct vf_arena scratch = VF_ARENA_INIT;
	const struct vf_field_change *fs;
	size_t j, nf = vf_action_fields(a, &scratch, &fs);

	for (j = 0; j < nf; j++) {
		const struct vf_field_change *f = &fs[j];
		json_t *x = json_object();
		enum vf_value_type t = f->after.present ? f->after.type : f->before.type;
		json_object_set_new(x, "type", json_string(value_types[t]));
		json_object_set_new(x, "class", json_string(field_classes[f->class]));
		if (f->before.any)
			json_object_set_new(x, "before_any", json_true());
		if (f->after.any)
			json_object_set_new(x, "after_any", json_true());
		json_array_append_new(fields, x);
	}
	for (j = 0; j < a->n_deps; j++)
		json_array_append_new(deps, json_integer((json_int_t)a->deps[j]));
	json_object_set_new(c, "fields", fields);
	vf_arena_release(&scratch);
	json_object_set_new(c, "depends_on", deps);
	json_object_set_new(c, "shutdown_timeout", json_integer(a->shutdown_timeout));
	return c;
}

/* A display entry read back, kept compactly in doc. */
void vf_saved_display_keep(struct vf_saved_doc *doc, json_t *d)
{
	json_t *fields = json_object_get(d, "fields"), *deps = json_object_get(d, "depends_on");
	json_t *v = json_object_get(d, "shutdown_timeout"), *h;
	struct display *e;
	size_t j;

	/* the plan's changes come first: as many display entries, exactly */
	if (!doc->alloc_display && doc->n_changes) {
		doc->display = xcalloc(doc->n_changes, sizeof(*doc->display));
		doc->alloc_display = doc->n_changes;
	}
	VF_GROW(doc->display, doc->n_display + 1, doc->alloc_display);
	e = &doc->display[doc->n_display++];
	memset(e, 0, sizeof(*e));
	e->first_hint = (uint32_t)doc->n_hints;
	e->n_fields = (uint32_t)json_array_size(fields);
	VF_GROW(doc->hints, doc->n_hints + e->n_fields, doc->alloc_hints);
	json_array_foreach(fields, j, h) {
		struct hint *x = &doc->hints[doc->n_hints++];
		x->type = (unsigned)(name_index(value_types, VF_ARRAY_SIZE(value_types),
						vf_json_str(h, "type")) + 1);
		x->cls = (unsigned)(name_index(field_classes, VF_ARRAY_SIZE(field_classes),
					       vf_json_str(h, "class")) + 1);
		x->before_any = json_is_true(json_object_get(h, "before_any"));
		x->after_any = json_is_true(json_object_get(h, "after_any"));
	}
	e->first_dep = (uint32_t)doc->n_deps;
	e->n_deps = (uint32_t)json_array_size(deps);
	VF_GROW(doc->deps, doc->n_deps + e->n_deps, doc->alloc_deps);
	json_array_foreach(deps, j, h)
		doc->deps[doc->n_deps++] = json_is_integer(h) && json_integer_value(h) >= 0 &&
					   json_integer_value(h) < UINT32_MAX
					   ? (uint32_t)json_integer_value(h) : UINT32_MAX;
	e->shutdown_timeout = json_is_integer(v) ? (unsigned)json_integer_value(v) : 0;
}
