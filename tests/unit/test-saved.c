/*
 * Saved plans (reconcile/saved-*.c) on fixtures: a config, hand-made
 * observations of two hosts and a state.  What the observed fingerprint
 * holds (managed and desired objects, never someone else's), the plan
 * rebuilt for `show` printing as the plan did, and the stale checks: an
 * unrelated object appearing is not a change, a managed one changing is,
 * named with its fields; the serial; the configuration files.  The file
 * is written and read one change at a time: its "plan" is byte for byte
 * what plan --json prints, a tool may reorder or reformat it, a damaged
 * change is refused when the file is read, a file rewritten in place
 * while it is open is noticed.  No host is contacted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/engine.h"
#include "providers/libvirt/provider.h"
#include "reconcile/saved.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/vf-test-saved.XXXXXX";

static const char config_text[] =
	"version: 1\n"
	"project: p\n"
	"clusters: [{name: c}]\n"
	"hosts:\n"
	"  - {name: h1, uri: 'test:///default'}\n"
	"  - {name: h2, uri: 'test:///default'}\n"
	"storage_domains:\n"
	"  - {name: s, type: dir, path: /srv/s}\n"
	"images:\n"
	"  - {name: img, file: img.qcow2, storage: s}\n"
	"vms:\n"
	"  - name: a\n"
	"    host: h1\n"
	"    cpus: 1\n"
	"    memory: 256MiB\n"
	"    disks: [{name: root, storage: s, image: img}]\n"
	"  - name: b\n"
	"    host: h2\n"
	"    cpus: 2\n"
	"    memory: 1GiB\n"
	"    state: stopped\n";

struct fixture {
	char *path;
	struct vf_config *c;
	struct vf_views views;
	struct vf_state state;
	struct vf_desired desired;
	struct vf_desired old[8];        /* observations point into these */
	size_t n_old;
	struct vf_plan plan;
	struct vf_plan_opts opts;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static void fixture_init(struct fixture *f)
{
	struct vf_diags d = { 0 };
	char *img = xasprintf("%s/img.qcow2", tmpdir);
	size_t i;

	memset(f, 0, sizeof(*f));
	f->path = xasprintf("%s/c.yaml", tmpdir);
	write_file(f->path, config_text);
	write_file(img, "not really qcow2");
	free(img);
	f->c = vf_config_load(f->path, &d);
	if (!f->c) {
		vf_diags_print(&d, stdout);
		printf("Bail out! the fixture configuration does not load\n");
		exit(1);
	}
	vf_diags_release(&d);
	f->state.lock_fd = -1;
	f->state.dir = xstrdup(tmpdir);
	f->views.n = f->c->n_hosts;
	f->views.hosts = xcalloc(f->c->n_hosts, sizeof(*f->views.hosts));
	for (i = 0; i < f->c->n_hosts; i++) {
		f->views.hosts[i].host = &f->c->hosts[i];
		f->views.hosts[i].observed = xcalloc(1, sizeof(struct vf_observed));
		f->views.hosts[i].observed->host = f->c->hosts[i].name;
		f->views.hosts[i].observed->memory_total = 8ull << 30;
	}
}

static int fixture_plan(struct fixture *f)
{
	struct vf_diags diags = { 0 };
	struct vf_desired d = { 0 };
	int rc;

	vf_plan_free(&f->plan);
	if (f->desired.n && f->n_old < 8)
		f->old[f->n_old++] = f->desired;
	else
		vf_desired_release(&f->desired);
	rc = vf_desired_build(f->c, &f->views, &f->state, false, &d, &diags, &f->plan.warnings,
			      &f->plan.n_warnings, &f->plan.alloc_warnings);
	f->desired = d;
	if (rc == 0)
		rc = vf_plan_build(f->c, &f->desired, &f->views, &f->state, &vf_provider_libvirt,
				   &f->opts, &f->plan, &diags);
	if (rc)
		vf_diags_print(&diags, stdout);
	vf_diags_release(&diags);
	return rc;
}

static void fixture_release(struct fixture *f)
{
	size_t i;

	vf_plan_free(&f->plan);
	for (i = 0; i < f->views.n; i++)
		f->views.hosts[i].observed->host = NULL;
	vf_views_release(&f->views);
	vf_desired_release(&f->desired);
	for (i = 0; i < f->n_old; i++)
		vf_desired_release(&f->old[i]);
	vf_state_close(&f->state);
	vf_config_free(f->c);
	free(f->path);
}

static struct vf_saved_source source(struct fixture *f)
{
	struct vf_saved_source s = {
		.config_path = f->path, .config = f->c, .views = &f->views, .desired = &f->desired,
		.state = &f->state, .plan = &f->plan, .opts = &f->opts, .version = "test",
	};
	return s;
}

/* Put a copy of r on its host, as a provider would read it. */
static struct vf_observed_item *observe_as(struct fixture *f, const struct vf_resource *r)
{
	struct vf_observed *o = vf_views_find(&f->views, r->host)->observed;
	struct vf_observed_item *it = vf_observed_add(o, r->kind, r->name);

	it->r = *r;
	it->r.address = NULL;
	it->detailed = true;
	return it;
}

static struct vf_observed_item *find_item(struct fixture *f, const char *host, const char *name)
{
	struct vf_observed *o = vf_views_find(&f->views, host)->observed;
	size_t i;

	for (i = 0; i < o->n_items; i++)
		if (!strcmp(o->items[i].r.name, name))
			return &o->items[i];
	printf("Bail out! fixture: no '%s' on %s\n", name, host);
	exit(1);
}

/* Make the hosts what the config wants, managed (markers, state records). */
static void converge(struct fixture *f)
{
	size_t i;

	for (i = 0; i < f->desired.n; i++) {
		const struct vf_resource *r = &f->desired.items[i];
		struct vf_observed_item *it = observe_as(f, r);
		struct vf_state_entry e = {
			.address = (char *)r->address, .kind = r->kind, .name = (char *)r->name,
			.host = (char *)r->host,
			.pool = r->kind == VF_KIND_VOLUME ? (char *)r->u.vol.pool : NULL,
		};
		if (r->kind == VF_KIND_VOLUME && !it->r.u.vol.capacity)
			it->r.u.vol.capacity = 1 << 30;
		if (r->kind == VF_KIND_VOLUME)
			it->r.u.vol.upload_file = NULL;
		vf_state_put(&f->state, &e);
	}
}

/* An object nobody refers to: no marker, no record, not desired. */
static void add_foreign(struct fixture *f, const char *host, enum vf_kind kind, const char *name)
{
	struct vf_observed *o = vf_views_find(&f->views, host)->observed;
	struct vf_observed_item *it = vf_observed_add(o, kind, name);

	it->detailed = true;
	if (kind == VF_KIND_VM) {
		it->r.u.vm.cpus = 1;
		it->r.u.vm.memory = 64 << 20;
	} else if (kind == VF_KIND_VOLUME) {
		it->r.u.vol.pool = "s";
		it->r.u.vol.capacity = 1 << 20;
	}
}

static char *saved_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static bool object_listed(json_t *root, const char *address)
{
	json_t *objs = json_object_get(json_object_get(root, "observed"), "objects"), *o;
	size_t i;

	json_array_foreach(objs, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "address")), address))
			return true;
	return false;
}

static bool problems_contain(const struct vf_saved_problems *p, const char *text)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strstr(p->lines[i], text))
			return true;
	return false;
}

static void problems_show(const struct vf_saved_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		printf("#   %s\n", p->lines[i]);
}

static char *print_text(const struct vf_plan *plan)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	vf_plan_print(plan, m, false);
	fclose(m);
	return text;
}

static char *print_json(const struct vf_plan *plan)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	vf_plan_print_json(plan, m);
	fclose(m);
	return text;
}

static char *print_saved_json(const struct vf_saved *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	vf_saved_print_json(s, m);
	fclose(m);
	return text;
}

/* The saved plan file, passed through jansson: edit() may change it. */
static void rewrite(const char *from, const char *to, size_t flags, void (*edit)(json_t *))
{
	json_t *root = json_load_file(from, 0, NULL);

	if (edit)
		edit(root);
	json_dump_file(root, to, flags);
	json_decref(root);
}

static void drop_an_address(json_t *root)
{
	json_t *changes = json_object_get(json_object_get(root, "plan"), "changes");

	json_object_del(json_array_get(changes, json_array_size(changes) - 1), "address");
}

static void test_show_round_trip(void)
{
	struct fixture f;
	struct vf_saved_source src;
	struct vf_saved s;
	struct vf_plan rebuilt;
	char *file = saved_path("create.vfplan"), *error = NULL, *a, *b;
	size_t i, deps_same = 1;

	fixture_init(&f);
	is_int(fixture_plan(&f), 0, "empty hosts: plan builds");
	src = source(&f);
	is_int(vf_saved_write(file, &src, &error), 0, "the plan is saved");
	ok(vf_saved_detect(file), "and detected as a saved plan");
	ok(!vf_saved_detect(f.path), "the configuration is not detected as one");
	is_int(vf_saved_read(file, &s, &error), 0, "and read back");
	is_int(vf_saved_plan(&s, &rebuilt, &error), 0, "and rebuilt as a plan");
	a = print_text(&f.plan);
	b = print_text(&rebuilt);
	is_str(b, a, "the rebuilt plan prints exactly as the plan did");
	ok(strstr(b, "memory: 256 MiB") && strstr(b, "upload: "),
	   "sizes print as sizes, a field left open with a value too");
	is_int(rebuilt.n_actions, f.plan.n_actions, "as many actions");
	for (i = 0; i < rebuilt.n_actions && i < f.plan.n_actions; i++)
		if (rebuilt.actions[i].n_deps != f.plan.actions[i].n_deps ||
		    (rebuilt.actions[i].n_deps &&
		     memcmp(rebuilt.actions[i].deps, f.plan.actions[i].deps,
			    rebuilt.actions[i].n_deps * sizeof(size_t))))
			deps_same = 0;
	ok(deps_same, "with the same dependencies");
	free(a);
	free(b);
	vf_plan_free(&rebuilt);
	a = print_json(&f.plan);
	b = print_saved_json(&s);
	is_str(b, a, "show --json prints byte for byte what plan --json printed");
	free(a);
	free(b);
	vf_saved_release(&s);

	{
		char *sorted = saved_path("sorted.vfplan"), *damaged = saved_path("damaged.vfplan");
		char *text = print_text(&f.plan), *again;
		FILE *out;
		int rc;

		rewrite(file, sorted, JSON_SORT_KEYS | JSON_COMPACT, NULL);
		is_int(vf_saved_read(sorted, &s, &error), 0,
		       "a saved plan rewritten by a JSON tool (keys sorted, no white space) reads");
		is_int(vf_saved_plan(&s, &rebuilt, &error), 0, "and rebuilds");
		again = print_text(&rebuilt);
		is_str(again, text, "as the same plan");
		free(again);
		vf_plan_free(&rebuilt);
		out = fopen(sorted, "w");   /* the same file (inode), rewritten */
		fputs("{\"changed\": true}", out);
		fclose(out);
		rc = vf_saved_plan(&s, &rebuilt, &error);
		ok(rc < 0 && error && strstr(error, "changed while virtform read it"),
		   "a file rewritten in place after it was read is noticed: %s", error);
		free(error);
		error = NULL;
		vf_saved_release(&s);

		rewrite(file, damaged, JSON_INDENT(2), drop_an_address);
		rc = vf_saved_read(damaged, &s, &error);
		ok(rc < 0 && error &&
		   strstr(error, "the saved plan is damaged: change ") &&
		   strstr(error, " is incomplete"),
		   "a change without an address: refused when the file is read: %s", error);
		vf_saved_release(&s);
		free(text);
		free(sorted);
		free(damaged);
	}
	free(error);
	free(file);
	fixture_release(&f);
}

static void test_fingerprint_and_stale(void)
{
	struct fixture f;
	struct vf_saved_source src;
	struct vf_saved_problems p = { 0 };
	struct vf_saved s;
	json_error_t je;
	json_t *root;
	char *file = saved_path("noop.vfplan"), *error = NULL;

	fixture_init(&f);
	fixture_plan(&f);
	converge(&f);
	add_foreign(&f, "h1", VF_KIND_VM, "theirs");
	add_foreign(&f, "h1", VF_KIND_VOLUME, "their-disk");
	is_int(fixture_plan(&f), 0, "converged: plan builds");
	is_int(f.plan.n_actions, 0, "converged: no changes");
	src = source(&f);
	is_int(vf_saved_write(file, &src, &error), 0, "the empty plan is saved");
	root = json_load_file(file, 0, &je);
	ok(root && object_listed(root, "vm.a") && object_listed(root, "storage.s@h2") &&
	   object_listed(root, "volume.a-root@h1") && object_listed(root, "volume.img@h1"),
	   "the fingerprint holds the managed objects");
	ok(root && !object_listed(root, "vm.theirs") && !object_listed(root, "volume.their-disk@h1"),
	   "and not the objects nobody refers to");
	json_decref(root);
	is_int(vf_saved_read(file, &s, &error), 0, "read back");

	is_int(vf_saved_check_config(&s, f.c, &p), 0, "the same configuration: no problem");
	is_int(vf_saved_check_run(&s, &src, &p), 0, "the same hosts: not stale");
	problems_show(&p);

	add_foreign(&f, "h2", VF_KIND_VM, "newcomer");
	find_item(&f, "h1", "theirs")->r.u.vm.memory = 128 << 20;
	fixture_plan(&f);
	is_int(vf_saved_check_run(&s, &src, &p), 0,
	       "someone else's VM appearing or changing: not stale");
	problems_show(&p);

	find_item(&f, "h2", "b")->r.u.vm.cpus = 4;
	fixture_plan(&f);
	ok(vf_saved_check_run(&s, &src, &p) == 1 &&
	   problems_contain(&p, "vm.b on h2 changed since the plan was made (a plan made now "
				"would update it: cpus: 4 -> 2"),
	   "a managed VM changed: stale, with what a plan would do now");
	problems_show(&p);
	vf_saved_problems_release(&p);
	find_item(&f, "h2", "b")->r.u.vm.cpus = 2;

	f.views.hosts[0].observed->n_items--;   /* "newcomer" on h2 stays; h1 loses "their-disk" */
	fixture_plan(&f);
	is_int(vf_saved_check_run(&s, &src, &p), 0, "someone else's volume vanishing: not stale");
	vf_saved_problems_release(&p);

	f.state.serial++;
	ok(vf_saved_check_run(&s, &src, &p) == 1 &&
	   problems_contain(&p, "another apply ran since the plan was made (state serial 0 then, "
				"1 now)"), "the state serial moved: stale");
	vf_saved_problems_release(&p);
	f.state.serial--;

	write_file(f.path, "# edited\n");
	ok(vf_saved_check_config(&s, f.c, &p) == 1 &&
	   problems_contain(&p, "c.yaml' changed since the plan was made"),
	   "an edited configuration file is named");
	vf_saved_problems_release(&p);
	write_file(f.path, config_text);

	vf_saved_release(&s);
	free(error);
	free(file);
	fixture_release(&f);
}

static void test_fields_of_acted_objects(void)
{
	struct fixture f;
	struct vf_saved_source src;
	struct vf_saved_problems p = { 0 };
	struct vf_saved s;
	struct vf_observed_item *b;
	char *file = saved_path("update.vfplan"), *error = NULL;

	fixture_init(&f);
	fixture_plan(&f);
	converge(&f);
	b = find_item(&f, "h2", "b");
	b->r.u.vm.memory = 512 << 20;
	b->r.u.vm.max_memory = 512 << 20;
	fixture_plan(&f);
	ok(f.plan.n_actions == 1 && f.plan.actions[0].type == VF_ACTION_UPDATE,
	   "a memory change: one update");
	src = source(&f);
	vf_saved_write(file, &src, &error);
	is_int(vf_saved_read(file, &s, &error), 0, "saved and read back");

	b->r.u.vm.memory = 768 << 20;
	b->r.u.vm.cpus = 3;
	fixture_plan(&f);
	vf_saved_check_run(&s, &src, &p);
	ok(problems_contain(&p, "vm.b on h2: memory 512 MiB -> 768 MiB changed since the plan was "
				"made"), "the changed field the plan shows: old and new value");
	ok(problems_contain(&p, "vm.b on h2: cpus changed since the plan was made (now 3)"),
	   "a changed field the plan does not show: the new value");
	problems_show(&p);
	vf_saved_problems_release(&p);

	b->r.u.vm.memory = 512 << 20;
	b->r.u.vm.cpus = 2;
	fixture_plan(&f);
	is_int(vf_saved_check_run(&s, &src, &p), 0, "changed back: not stale");
	problems_show(&p);
	vf_saved_problems_release(&p);

	f.views.hosts[1].observed->n_items = 0;
	fixture_plan(&f);
	vf_saved_check_run(&s, &src, &p);
	ok(problems_contain(&p, "vm.b vanished from h2 since the plan was made"),
	   "a managed VM gone: named");
	vf_saved_problems_release(&p);

	vf_saved_release(&s);
	free(error);
	free(file);
	fixture_release(&f);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	test_show_round_trip();
	test_fingerprint_and_stale();
	test_fields_of_acted_objects();
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove the temporary directory");
		free(cmd);
	}
	return tap_done();
}
