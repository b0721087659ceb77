/*
 * saved-check.c — the stale checks of `apply FILE` (saved.h): the trust
 * settings of apply's command line against the recorded ones
 * (vf_saved_check_trust), the configuration's fingerprint
 * (vf_saved_check_config), and a fresh run against the saved one
 * (vf_saved_check_run: state serial, observed objects, the recomputed
 * plan's changes and host link changes).  Each difference becomes one
 * line for the operator, naming the object and, when it can, the field
 * with its old and new value.
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
#include "reconcile/lines.h"
#include "reconcile/saved-internal.h"

void vf_saved_problems_release(struct vf_saved_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->lines[i]);
	free(p->lines);
	memset(p, 0, sizeof(*p));
}

/* One more reason the saved plan is stale. */
#define problem(p, ...) vf_lines_addf(&(p)->lines, &(p)->n, &(p)->alloc, __VA_ARGS__)

static bool same_file(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* "--allowed-signers '/x'", or "no --allowed-signers" (malloc'd). */
static char *option_value(const char *option, const char *value)
{
	return value ? xasprintf("%s '%s'", option, value) : xasprintf("no %s", option);
}

size_t vf_saved_check_trust(const struct vf_saved *s, const struct vf_saved_trust *t,
			    struct vf_saved_problems *p)
{
	bool plan_verify = s->git_allowed_signers || s->git_gpg_keyring;
	bool apply_verify = t->allowed_signers || t->gpg_keyring;
	size_t before = p->n;

	if (plan_verify != apply_verify) {
		problem(p, "the plan was made %s --verify-signatures, this apply %s it",
			plan_verify ? "with" : "without", apply_verify ? "gives" : "does not give");
	} else if (plan_verify) {
		static const char *const opts[] = { "--allowed-signers", "--gpg-keyring" };
		const char *plan_v[] = { s->git_allowed_signers, s->git_gpg_keyring };
		const char *apply_v[] = { t->allowed_signers, t->gpg_keyring };
		size_t i;

		for (i = 0; i < VF_ARRAY_SIZE(opts); i++) {
			char *was, *now;
			if (same_file(plan_v[i], apply_v[i]))
				continue;
			was = option_value(opts[i], plan_v[i]);
			now = option_value(opts[i], apply_v[i]);
			problem(p, "the plan was made with %s, this apply gives %s", was, now);
			free(was);
			free(now);
		}
	}
	if (s->git_allow_rewind != t->allow_rewind)
		problem(p, "the plan was made %s --allow-rewind, this apply %s it",
			s->git_allow_rewind ? "with" : "without",
			t->allow_rewind ? "gives" : "does not give");
	return p->n - before;
}

size_t vf_saved_check_config(const struct vf_saved *s, const struct vf_config *config,
			     struct vf_saved_problems *p)
{
	json_t *saved = json_object_get(s->doc->root, "config"), *now, *f;
	struct vf_strmap seen = { 0 };
	char *error = NULL;
	size_t before = p->n, i, k;
	static const char *const lists[] = { "files", "images" };

	now = vf_saved_config_json(s->config_path, config, &error);
	if (!now) {
		problem(p, "%s", error);
		free(error);
		return p->n - before;
	}
	for (k = 0; k < VF_ARRAY_SIZE(lists); k++) {
		json_t *old = json_object_get(saved, lists[k]), *cur = json_object_get(now, lists[k]);
		const char *what = k ? "the image file" : "the configuration file";
		vf_strmap_release(&seen);
		memset(&seen, 0, sizeof(seen));
		json_array_foreach(old, i, f)
			if (vf_json_str(f, "path"))
				vf_strmap_put(&seen, vf_json_str(f, "path"), f);
		json_array_foreach(cur, i, f) {
			const char *path = vf_json_str(f, "path");
			json_t *o = vf_strmap_get(&seen, path);
			if (!o)
				problem(p, "%s '%s' was added since the plan was made", what, path);
			else if (!json_equal(o, f))
				problem(p, "%s '%s' %s since the plan was made", what, path,
					json_is_true(json_object_get(f, "missing")) ? "was removed"
										      : "changed");
			vf_strmap_set(&seen, path, NULL);
		}
		json_array_foreach(old, i, f)
			if (vf_json_str(f, "path") && vf_strmap_get(&seen, vf_json_str(f, "path")))
				problem(p, "%s '%s' is no longer part of the configuration", what,
					vf_json_str(f, "path"));
	}
	vf_strmap_release(&seen);
	json_decref(now);
	return p->n - before;
}

/* The saved plan rebuilt when a message needs its old values: only when
 * an object the plan acts on changed, so a plan that is not stale never
 * holds every field of every change in memory. */
struct lazy_plan {
	const struct vf_saved *s;
	struct vf_saved_problems *p;     /* where a failure to rebuild it goes */
	struct vf_plan plan;
	bool built;
};

static const struct vf_plan *lazy_plan_get(struct lazy_plan *lp)
{
	char *error = NULL;

	if (!lp->built) {
		lp->built = true;
		if (vf_saved_plan(lp->s, &lp->plan, &error) < 0) {
			problem(lp->p, "%s", error);
			free(error);
			memset(&lp->plan, 0, sizeof(lp->plan));
		}
	}
	return &lp->plan;
}

/* The saved action on address with a field at path, for its old value. */
static const struct vf_field_change *saved_field(const struct vf_plan *plan, const char *address,
						 const char *path)
{
	size_t i, j;

	for (i = 0; i < plan->n_actions; i++) {
		const struct vf_action *a = &plan->actions[i];
		if (strcmp(a->address, address))
			continue;
		for (j = 0; j < a->n_fields; j++)
			if (!strcmp(a->fields[j].before.path, path) && a->fields[j].before.present)
				return &a->fields[j];
	}
	return NULL;
}

/* Name the fields of an object that changed: old value when the saved
 * plan shows it, the new one from the host. */
static void field_problems(struct lazy_plan *saved, const char *name, const char *address,
			   json_t *old, const struct vf_observed_item *it,
			   struct vf_saved_problems *p)
{
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_field *fields;
	size_t n = vf_resource_fields(&it->r, false, &arena, &fields), i, found = 0;
	char now[512], then[512], hex[17];
	const char *path;
	json_t *v;

	for (i = 0; i < n; i++) {
		const char *val = vf_field_format(&fields[i], now, sizeof(now));
		const char *was = vf_json_str(old, fields[i].path);
		const struct vf_field_change *fc;
		uint64_t h = VF_HASH_INIT;
		h = vf_hash_str(h, val);
		vf_saved_hex16(h, hex);
		if (was && !strcmp(was, hex))
			continue;
		found++;
		fc = saved_field(lazy_plan_get(saved), address, fields[i].path);
		if (fc)
			problem(p, "%s: %s %s -> %s changed since the plan was made", name,
				fields[i].path, vf_field_format(&fc->before, then, sizeof(then)), val);
		else if (!was)
			problem(p, "%s: %s %s appeared since the plan was made", name,
				fields[i].path, val);
		else
			problem(p, "%s: %s changed since the plan was made (now %s)", name,
				fields[i].path, val);
	}
	json_object_foreach(old, path, v) {
		bool still = false;
		for (i = 0; i < n && !still; i++)
			still = !strcmp(fields[i].path, path);
		if (!still) {
			found++;
			problem(p, "%s: %s was removed since the plan was made", name, path);
		}
	}
	if (!found)
		problem(p, "%s changed since the plan was made (its virtform marker)", name);
	vf_arena_release(&arena);
}

/*
 * An object the saved plan does not act on changed: say so, with what a
 * plan made now would do about it ("update it: autostart: yes -> no"),
 * which names the fields.
 */
static void changed_problem(const struct vf_plan *now, const char *name, const char *address,
			    struct vf_saved_problems *p)
{
	struct vf_buf what = VF_BUF_INIT;
	char b[256], c[256];
	size_t i, j;

	for (i = 0; i < now->n_actions; i++) {
		const struct vf_action *a = &now->actions[i];
		if (strcmp(a->address, address))
			continue;
		vf_buf_addf(&what, "%s a plan made now would %s it", what.len ? ";" : "",
			    vf_action_type_name(a->type));
		for (j = 0; j < a->n_fields && a->type != VF_ACTION_DELETE &&
			    a->type != VF_ACTION_CREATE; j++) {
			const struct vf_field_change *f = &a->fields[j];
			vf_buf_addf(&what, "%s %s: %s -> %s", j ? "," : ":",
				    f->after.present ? f->after.path : f->before.path,
				    vf_field_format(&f->before, b, sizeof(b)),
				    vf_field_format(&f->after, c, sizeof(c)));
		}
	}
	if (what.len)
		problem(p, "%s changed since the plan was made (%s)", name, what.buf + 1);
	else
		problem(p, "%s changed since the plan was made", name);
	vf_buf_release(&what);
}

/* The saved changes against the changes planned now, in order: 1 while
 * every one is equal (*n_same of them), 0 at the first difference. */
struct same_walk {
	const struct vf_plan *now;
	size_t n_same;
};

static int same_change(const struct vf_saved *s, size_t i, json_t *c, void *arg)
{
	struct same_walk *sw = arg;
	json_t *now;
	bool same;

	if (i >= sw->now->n_actions)
		return 1;
	now = vf_plan_change_json(sw->now, i);
	same = json_equal(c, now);
	json_decref(now);
	if (!same)
		return 1;
	sw->n_same++;
	return 0;
}

/* A change by what it is ("ADDRESS ACTION") and a hash of all it says
 * (keys sorted: as json_equal, member order does not count). */
struct change_key {
	char *key;
	uint64_t hash;
};

struct keys_walk {
	struct change_key *v;
	size_t n, alloc;
};

static void change_key(json_t *c, struct change_key *out)
{
	char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	const char *address = vf_json_str(c, "address"), *action = vf_json_str(c, "action");

	out->key = xasprintf("%s %s", address ? address : "?", action ? action : "?");
	out->hash = VF_HASH_INIT;
	out->hash = vf_hash_str(out->hash, text);
	free(text);
}

static int key_change(const struct vf_saved *s, size_t i, json_t *c, void *arg)
{
	struct keys_walk *kw = arg;

	VF_GROW(kw->v, kw->n + 1, kw->alloc);
	change_key(c, &kw->v[kw->n++]);
	return 0;
}

/* The saved and the recomputed plan's changes, by address and action. */
static void changes_problems(const struct vf_saved *s, const struct vf_plan *now,
			     struct vf_saved_problems *p)
{
	struct same_walk sw = { .now = now };
	struct keys_walk olds = { 0 };
	struct vf_strmap old_by_key = { 0 }, now_by_key = { 0 };
	struct change_key *nows;
	char *error = NULL;
	size_t i, before = p->n;
	int rc;

	rc = vf_saved_changes_walk(s, same_change, &sw, &error);
	if (rc < 0) {
		problem(p, "%s", error);
		free(error);
		return;
	}
	if (sw.n_same == s->n_changes && sw.n_same == now->n_actions)
		return;
	if (vf_saved_changes_walk(s, key_change, &olds, &error) < 0) {
		problem(p, "%s", error);
		free(error);
		goto out;
	}
	for (i = 0; i < olds.n; i++)
		vf_strmap_put(&old_by_key, olds.v[i].key, &olds.v[i]);
	nows = xcalloc(now->n_actions + 1, sizeof(*nows));
	for (i = 0; i < now->n_actions; i++) {
		json_t *c = vf_plan_change_json(now, i);
		struct change_key *k = &nows[i], *o;
		change_key(c, k);
		json_decref(c);
		vf_strmap_put(&now_by_key, k->key, k);
		o = vf_strmap_get(&old_by_key, k->key);
		if (!o)
			problem(p, "%s: a plan made now would also %s it", now->actions[i].address,
				vf_action_type_name(now->actions[i].type));
		else if (o->hash != k->hash)
			problem(p, "%s: the %s planned now differs from the saved one",
				now->actions[i].address, vf_action_type_name(now->actions[i].type));
	}
	for (i = 0; i < olds.n; i++) {
		if (vf_strmap_get(&now_by_key, olds.v[i].key))
			continue;
		{
			char *space = strrchr(olds.v[i].key, ' ');
			problem(p, "%.*s: the saved plan would %s it; a plan made now would not",
				(int)(space - olds.v[i].key), olds.v[i].key, space + 1);
		}
	}
	if (p->n == before)
		problem(p, "the actions planned now come in another order than the saved ones");
	for (i = 0; i < now->n_actions; i++)
		free(nows[i].key);
	free(nows);
out:
	for (i = 0; i < olds.n; i++)
		free(olds.v[i].key);
	free(olds.v);
	vf_strmap_release(&old_by_key);
	vf_strmap_release(&now_by_key);
}

static bool strings_contain(json_t *a, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* A link change as people read it: "create (bridge, mtu 9000)". */
static char *link_text(const json_t *c)
{
	json_t *fields = json_object_get(c, "fields"), *f;
	const char *action = vf_json_str(c, "action");
	struct vf_buf s = VF_BUF_INIT;
	size_t i;

	vf_buf_adds(&s, action ? action : "?");
	json_array_foreach(fields, i, f) {
		const char *b = vf_json_str(f, "before"), *a = vf_json_str(f, "after");
		const char *field = vf_json_str(f, "field");
		vf_buf_addf(&s, "%s %s %s%s%s", i ? "," : ":", field ? field : "?",
			    b ? b : "", b ? " -> " : "", a ? a : "(none)");
	}
	return vf_buf_detach(&s);
}

static void links_problems(const json_t *saved, const struct vf_plan *plan,
			   struct vf_saved_problems *p)
{
	json_t *now_doc = vf_plan_links_json(plan), *now = json_object_get(now_doc, "changes");
	json_t *c, *d;
	size_t i, j;

	json_array_foreach(saved, i, c) {
		const char *addr = vf_json_str(c, "address");
		bool found = false;
		json_array_foreach(now, j, d)
			if (addr && vf_json_str(d, "address") && !strcmp(addr, vf_json_str(d, "address"))) {
				found = true;
				if (!json_equal(c, d)) {
					char *then = link_text(c), *later = link_text(d);
					problem(p, "%s: the host planned %s then, and plans %s now", addr,
						then, later);
					free(then);
					free(later);
				}
			}
		if (!found && addr)
			problem(p, "%s: the host needs no such change any more (its links changed "
				   "since the plan was made)", addr);
	}
	json_array_foreach(now, j, d) {
		const char *addr = vf_json_str(d, "address");
		bool found = false;
		json_array_foreach(saved, i, c)
			if (vf_json_str(c, "address") && !strcmp(addr, vf_json_str(c, "address")))
				found = true;
		if (!found) {
			char *later = link_text(d);
			problem(p, "%s: the host plans a change the saved plan does not have (%s)",
				addr, later);
			free(later);
		}
	}
	json_decref(now_doc);
}

/* The state: another apply (or import) since. */
static void serial_problems(const struct vf_saved *s, const struct vf_saved_source *now,
			    struct vf_saved_problems *p)
{
	char *dirs;

	if (now->state->serial == s->serial)
		return;
	dirs = now->state->dir && strcmp(now->state->dir, s->state_dir)
		       ? xasprintf("; the plan was made with the state in '%s', this "
				   "run uses '%s'", s->state_dir, now->state->dir)
		       : xstrdup("");
	problem(p, "another apply ran since the plan was made (state serial %llu then, "
		   "%llu now%s)", (unsigned long long)s->serial,
		(unsigned long long)now->state->serial, dirs);
	free(dirs);
}

/* Hosts skipped then and now. */
static void skipped_problems(const struct vf_saved *s, const struct vf_saved_source *now,
			     struct vf_saved_problems *p)
{
	json_t *observed = json_object_get(s->doc->root, "observed");
	json_t *old_skipped = json_object_get(observed, "skipped_hosts");
	json_t *now_skipped = vf_saved_skipped_json(now->views), *v;
	size_t i;

	json_array_foreach(old_skipped, i, v)
		if (json_is_string(v) && !strings_contain(now_skipped, json_string_value(v)))
			problem(p, "host %s was skipped (unreachable) when the plan was made and "
				   "answers now", json_string_value(v));
	json_array_foreach(now_skipped, i, v)
		if (!strings_contain(old_skipped, json_string_value(v)))
			problem(p, "host %s is unreachable now and was not when the plan was made",
				json_string_value(v));
	json_decref(now_skipped);
}

/* The observed objects: each saved one vanished or changed, each one
 * counted now that appeared (the saved plan's changes were checked when
 * it was read). */
static void objects_problems(const struct vf_saved *s, const struct vf_saved_source *now,
			     struct lazy_plan *saved, struct vf_saved_problems *p)
{
	const struct vf_saved_doc *doc = s->doc;
	struct vf_strmap old_by_key = { 0 };
	struct observed_objects objs;
	size_t i;

	vf_saved_objects_collect(now, &objs);
	for (i = 0; i < doc->n_objects; i++) {
		const struct saved_object *o = &doc->objects[i];
		char *name;
		uintptr_t k;
		vf_strmap_put(&old_by_key, o->key, (void *)o);
		name = vf_saved_object_name(o->address, o->host);
		k = (uintptr_t)vf_strmap_get(&objs.by_key, o->key);
		if (!k) {
			if (!strncmp(o->address, "vm.", 3))
				problem(p, "%s vanished from %s since the plan was made", o->address,
					o->host);
			else
				problem(p, "%s vanished since the plan was made", o->address);
		} else if (strcmp(o->hash, objs.v[k - 1].hash)) {
			if (o->fields && objs.v[k - 1].item->detailed)
				field_problems(saved, name, o->address, o->fields,
					       objs.v[k - 1].item, p);
			else
				changed_problem(now->plan, name, o->address, p);
		}
		free(name);
	}
	for (i = 0; i < objs.n; i++) {
		if (vf_strmap_get(&old_by_key, objs.v[i].key))
			continue;
		if (objs.v[i].item->r.kind == VF_KIND_VM)
			problem(p, "%s appeared on %s since the plan was made", objs.v[i].address,
				objs.v[i].item->r.host);
		else
			problem(p, "%s appeared since the plan was made", objs.v[i].address);
	}
	vf_strmap_release(&old_by_key);
	vf_saved_objects_release(&objs);
}

size_t vf_saved_check_run(const struct vf_saved *s, const struct vf_saved_source *now,
			  struct vf_saved_problems *p)
{
	struct lazy_plan saved = { .s = s, .p = p };
	size_t before = p->n;

	serial_problems(s, now, p);
	skipped_problems(s, now, p);
	objects_problems(s, now, &saved, p);

	/* the hosts' link changes: what each host plans now must be what
	 * it planned then (they answer for their own links) */
	links_problems(json_object_get(json_object_get(json_object_get(s->doc->root, "plan"),
						       "host_network"), "changes"),
		       now->plan, p);

	/* all the same: the plan made now must be the reviewed one */
	if (p->n == before) {
		size_t n0 = p->n;
		changes_problems(s, now->plan, p);
		if (p->n != n0 && strcmp(s->version, now->version))
			problem(p, "the plan was made by virtform %s, this is virtform %s",
				s->version, now->version);
	}

	if (saved.built)
		vf_plan_free(&saved.plan);
	return p->n - before;
}
