/*
 * The state's intent journal (state.h: pending): its round trip through
 * state.json, states written before it, the notes the plan shows; the
 * executor's journal around each action (apply.c), seen from inside a
 * fake provider that reads state.json from disk while the action "runs";
 * and what vf_state_sync makes of an interrupted apply's marks.
 *
 * No host is contacted: the provider here is a fake; the libvirt one is
 * used only for its pure diff hints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/engine.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/vf-test-state.XXXXXX";

static char *dir_new(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static char *file_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	if (!f)
		return xstrdup("");
	m = open_memstream(&text, &len);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return text;
}

static void file_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

static int state_open(struct vf_state *s, const char *dir)
{
	char *error = NULL;
	int rc = vf_state_open(s, dir, 0, "test", &error);

	if (rc < 0)
		printf("# %s\n", error);
	free(error);
	return rc;
}

static int state_save(struct vf_state *s)
{
	char *error = NULL;
	int rc = vf_state_save(s, &error);

	if (rc < 0)
		printf("# %s\n", error);
	free(error);
	return rc;
}

static void test_round_trip(void)
{
	char *dir = dir_new("round-trip"), *text;
	struct vf_state s;
	struct vf_state_entry vol = {
		.address = "volume.img@h1", .kind = VF_KIND_VOLUME, .name = "img", .host = "h1",
		.pool = "s", .pending = "create", .pending_since = "2024-05-01T10:00:00Z",
	};
	struct vf_state_entry net = {
		.address = "network.n@h1", .kind = VF_KIND_NETWORK, .name = "n", .host = "h1",
	};
	const struct vf_state_entry *e;
	const char *action = NULL;

	ok(state_open(&s, dir) == 0, "a new state opens");
	s.project = xstrdup("t");
	vf_state_put(&s, &vol);
	vf_state_put(&s, &net);
	ok(state_save(&s) == 0, "a state with a pending entry saves");
	vf_state_close(&s);

	{
		char *path = xasprintf("%s/state.json", dir);
		text = file_read(path);
		free(path);
	}
	is_int(count(text, "\"pending\""), 1, "only the pending entry has a pending key");
	is_int(count(text, "\"pending_since\""), 1, "... and a pending_since");
	ok(text[strlen(text) - 1] == '\n', "state.json ends with a newline");
	free(text);

	ok(state_open(&s, dir) == 0, "the state opens again");
	e = vf_state_find(&s, "volume.img@h1");
	ok(e != NULL, "the pending entry is back");
	is_str(e ? e->pending : NULL, "create", "pending survives save and open");
	is_str(e ? e->pending_since : NULL, "2024-05-01T10:00:00Z", "pending_since survives too");
	is_str(e ? e->pool : NULL, "s", "the rest of the entry too");
	e = vf_state_find(&s, "network.n@h1");
	ok(e && !e->pending && !e->pending_since, "an entry never pending has no pending");
	ok(vf_state_interrupted(&s, "volume.img@h1", &action), "vf_state_interrupted: yes");
	is_str(action, "create", "... during a create");
	ok(!vf_state_interrupted(&s, "network.n@h1", NULL), "vf_state_interrupted: not the network");
	ok(!vf_state_interrupted(&s, "volume.nope@h1", NULL), "... nor an unknown address");

	/* cleared: the entry is replaced by a copy of itself without the mark */
	{
		struct vf_state_entry c = *vf_state_find(&s, "volume.img@h1");
		c.pending = NULL;
		c.pending_since = NULL;
		vf_state_put(&s, &c);
	}
	e = vf_state_find(&s, "volume.img@h1");
	ok(e && !e->pending && !strcmp(e->name, "img") && !strcmp(e->host, "h1"),
	   "put from a copy of the entry itself keeps its fields, clears the mark");
	ok(vf_state_find(&s, "network.n@h1") != NULL, "the other entry is still found");
	ok(state_save(&s) == 0, "saves");
	vf_state_close(&s);
	{
		char *path = xasprintf("%s/state.json", dir);
		text = file_read(path);
		free(path);
	}
	is_int(count(text, "pending"), 0, "cleared entries are not written with a pending key");
	free(text);
	free(dir);
}

static void test_old_format(void)
{
	char *dir = dir_new("old"), *path;
	struct vf_state s;
	char **notes = NULL;
	size_t n = 0, alloc = 0;

	mkdir(dir, 0700);
	path = xasprintf("%s/state.json", dir);
	file_write(path,
		   "{\n  \"format_version\": 1,\n  \"project\": \"t\",\n  \"serial\": 7,\n"
		   "  \"resources\": [\n"
		   "    {\"address\": \"vm.a\", \"kind\": \"vm\", \"name\": \"a\", \"host\": \"h1\","
		   " \"protect\": true},\n"
		   "    {\"address\": \"storage.s@h1\", \"kind\": \"storage\", \"name\": \"s\","
		   " \"host\": \"h1\"}\n  ]\n}\n");
	ok(state_open(&s, dir) == 0, "a state.json from before the journal loads");
	is_int(s.n, 2, "with its entries");
	ok(vf_state_find(&s, "vm.a") && vf_state_find(&s, "vm.a")->protect, "and their flags");
	ok(!vf_state_interrupted(&s, "vm.a", NULL) && !vf_state_interrupted(&s, "storage.s@h1", NULL),
	   "nothing in it is pending");
	vf_state_interrupted_notes(&s, &notes, &n, &alloc);
	is_int(n, 0, "no interruption note");
	vf_state_close(&s);
	free(notes);
	free(path);
	free(dir);
}

static void test_notes(void)
{
	struct vf_state s = { .lock_fd = -1 };
	struct vf_state_entry a = {
		.address = "volume.img@h1", .kind = VF_KIND_VOLUME, .name = "img", .host = "h1",
		.pool = "s", .pending = "create", .pending_since = "2024-05-01T10:00:00Z",
	};
	struct vf_state_entry b = {
		.address = "vm.a", .kind = VF_KIND_VM, .name = "a", .host = "h2", .pending = "start",
	};
	char **notes = NULL;
	size_t n = 1, alloc = 0, i;

	notes = xcalloc(1, sizeof(*notes));
	alloc = 1;
	notes[0] = xstrdup("an earlier warning");
	vf_state_put(&s, &a);
	vf_state_put(&s, &b);
	vf_state_interrupted_notes(&s, &notes, &n, &alloc);
	is_int(n, 3, "one note per pending entry, after the warnings there were");
	is_str(n > 1 ? notes[1] : NULL,
	       "an earlier apply was interrupted (since 2024-05-01T10:00:00Z) during create of "
	       "volume.img@h1; this plan completes it", "the note names time, action and address");
	is_str(n > 2 ? notes[2] : NULL,
	       "an earlier apply was interrupted during start of vm.a; this plan completes it",
	       "without pending_since the note still reads");
	for (i = 0; i < n; i++)
		free(notes[i]);
	free(notes);
	vf_state_close(&s);
}

/* ---- the executor's journal, with a fake provider ---- */

static const char config_text[] =
	"version: 1\n"
	"project: t\n"
	"clusters: [{name: c}]\n"
	"hosts:\n"
	"  - {name: h1, uri: 'test:///default'}\n"
	"networks:\n"
	"  - {name: n, mode: isolated, ipv4: {address: 10.9.0.1/24}}\n"
	"storage_domains:\n"
	"  - {name: s, type: dir, path: /srv/s}\n"
	"images:\n"
	"  - {name: img, file: %s, storage: s, format: raw}\n"
	"vms:\n"
	"  - name: a\n"
	"    host: h1\n"
	"    cpus: 1\n"
	"    memory: 64MiB\n"
	"    disks: [{name: root, storage: s, image: img}]\n"
	"    nics: [{network: n}]\n"
	"  - name: b\n"
	"    host: h1\n"
	"    cpus: 1\n"
	"    memory: 64MiB\n";

static struct vf_config *load(void)
{
	char *image = xasprintf("%s/img.raw", tmpdir);
	char *text = xasprintf(config_text, image);
	char *path = xasprintf("%s/c.yaml", tmpdir);
	struct vf_diags d = { 0 };
	struct vf_config *c;

	file_write(image, "not really an image\n");
	file_write(path, text);
	c = vf_config_load(path, &d);
	if (!c)
		vf_diags_print(&d, stdout);
	vf_diags_release(&d);
	free(path);
	free(text);
	free(image);
	return c;
}

static void views_empty(const struct vf_config *c, struct vf_views *v)
{
	size_t i;

	v->n = c->n_hosts;
	v->hosts = xcalloc(c->n_hosts, sizeof(*v->hosts));
	for (i = 0; i < c->n_hosts; i++) {
		v->hosts[i].host = &c->hosts[i];
		v->hosts[i].observed = xcalloc(1, sizeof(struct vf_observed));
		v->hosts[i].observed->host = c->hosts[i].name;
		v->hosts[i].observed->memory_total = 8ull << 30;
	}
}

static void views_release(struct vf_views *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		v->hosts[i].observed->host = NULL;    /* the config's */
	vf_views_release(v);
}

/* What the fake provider saw, and what it is told to fail. */
static struct {
	const char *state_path;
	const char *fail;            /* address whose action fails */
	size_t calls, journaled;     /* actions run; seen pending on disk first */
	char *missing;               /* the first action that was not */
} fake;

/* Was address pending action on disk (state.json as a crash would leave it)? */
static bool on_disk_pending(const char *address, const char *action)
{
	json_t *root = json_load_file(fake.state_path, 0, NULL), *item;
	size_t i;
	bool yes = false;

	json_array_foreach(json_object_get(root, "resources"), i, item) {
		json_t *a = json_object_get(item, "address"), *p = json_object_get(item, "pending");
		if (json_is_string(a) && !strcmp(json_string_value(a), address) &&
		    json_is_string(p) && !strcmp(json_string_value(p), action) &&
		    json_is_string(json_object_get(item, "pending_since")))
			yes = true;
	}
	json_decref(root);
	return yes;
}

static struct vf_session *fake_open(const char *uri, char **error)
{
	static int session;

	return (struct vf_session *)&session;
}

static void fake_close(struct vf_session *s)
{
}

static int fake_apply(struct vf_session *s, const struct vf_action *a, char **error)
{
	fake.calls++;
	if (on_disk_pending(a->address, vf_action_type_name(a->type)))
		fake.journaled++;
	else if (!fake.missing)
		fake.missing = xstrdup(a->address);
	if (fake.fail && !strcmp(fake.fail, a->address)) {
		*error = xasprintf("%s: cannot %s: told to fail", a->address,
				   vf_action_type_name(a->type));
		return -1;
	}
	return 0;
}

static const struct vf_provider fake_provider = {
	.name = "fake",
	.session_open = fake_open,
	.session_close = fake_close,
	.apply = fake_apply,
};

struct run {
	struct vf_config *c;
	struct vf_views views;
	struct vf_desired desired;
	struct vf_plan plan;
	struct vf_state state;
};

static int run_plan(struct run *r, const char *dir)
{
	struct vf_plan_opts o = { 0 };
	struct vf_diags d = { 0 };
	int rc;

	memset(r, 0, sizeof(*r));
	r->c = load();
	if (!r->c || state_open(&r->state, dir) < 0)
		return -1;
	views_empty(r->c, &r->views);
	rc = vf_desired_build(r->c, &r->views, &r->state, false, &r->desired, &d,
			      &r->plan.warnings, &r->plan.n_warnings, &r->plan.alloc_warnings);
	if (rc == 0)
		rc = vf_plan_build(r->c, &r->desired, &r->views, &r->state, &vf_provider_libvirt, &o,
				   &r->plan, &d);
	if (rc)
		vf_diags_print(&d, stdout);
	vf_diags_release(&d);
	return rc;
}

static void run_release(struct run *r)
{
	vf_plan_free(&r->plan);
	vf_desired_release(&r->desired);
	views_release(&r->views);
	vf_state_close(&r->state);
	vf_config_free(r->c);
}

/* Apply r's plan with the fake provider; its output as TAP comments. */
static int apply(struct run *r)
{
	struct vf_apply_opts o = { .parallelism = 4 };
	struct vf_apply_result res;
	char *path = xasprintf("%s/state.json", r->state.dir);
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	int rc;

	o.out = open_memstream(&text, &len);
	fake.state_path = path;
	fake.calls = fake.journaled = 0;
	free(fake.missing);
	fake.missing = NULL;
	rc = vf_apply(r->c, &r->plan, &fake_provider, &r->state, &o, &res);
	fclose(o.out);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("#   %s\n", line);
	free(text);
	free(path);
	return rc;
}

static bool plan_has(const struct vf_plan *p, const char *address)
{
	size_t i;

	for (i = 0; i < p->n_actions; i++)
		if (!strcmp(p->actions[i].address, address))
			return true;
	return false;
}

static void test_executor(void)
{
	char *dir = dir_new("exec"), *path = xasprintf("%s/state.json", dir), *text;
	struct run r;
	uint64_t serial0;
	size_t i;

	if (run_plan(&r, dir) < 0) {
		ok(0, "the fixture plans");
		free(path);
		free(dir);
		return;
	}
	ok(plan_has(&r.plan, "vm.a") && plan_has(&r.plan, "volume.img@h1"),
	   "the fixture plans VMs and an image");
	serial0 = r.state.serial;
	ok(apply(&r) == 0, "apply succeeds");
	is_int(fake.calls, r.plan.n_actions, "every action ran");
	is_int(fake.journaled, r.plan.n_actions,
	       "each was pending on disk (state.json) when its provider call ran");
	if (fake.missing)
		printf("#   first not journaled: %s\n", fake.missing);
	is_int(r.state.serial - serial0, r.plan.n_actions + 1,
	       "one save per action start, one at the end");
	text = file_read(path);
	is_int(count(text, "pending"), 0, "after the run nothing is pending on disk");
	free(text);
	for (i = 0; i < r.plan.n_actions; i++)
		if (!vf_state_find(&r.state, r.plan.actions[i].address))
			break;
	is_int(i, r.plan.n_actions, "every created object is recorded, VMs too");
	run_release(&r);

	/* failures: a VM create and an image create */
	free(dir);
	free(path);
	dir = dir_new("exec-fail");
	path = xasprintf("%s/state.json", dir);
	if (run_plan(&r, dir) < 0) {
		ok(0, "the fixture plans");
		goto out;
	}
	fake.fail = "vm.b";
	ok(apply(&r) < 0, "apply with a failing VM create fails");
	ok(!vf_state_find(&r.state, "vm.b"),
	   "the failed VM create leaves no record (a domain defined anyway has its marker)");
	text = file_read(path);
	ok(!strstr(text, "\"vm.b\""), "... on disk either");
	is_int(count(text, "pending"), 0, "a failure leaves nothing pending");
	free(text);
	run_release(&r);

	free(dir);
	dir = dir_new("exec-fail-image");
	if (run_plan(&r, dir) < 0) {
		ok(0, "the fixture plans");
		goto out;
	}
	fake.fail = "volume.img@h1";
	ok(apply(&r) < 0, "apply with a failing image create fails");
	ok(vf_state_find(&r.state, "volume.img@h1") &&
	   !vf_state_find(&r.state, "volume.img@h1")->pending,
	   "the failed create's claim stays, not pending (the failure is known)");
	ok(!vf_state_find(&r.state, "vm.a"), "what waits on it is not attempted: no record");
	fake.fail = NULL;
	run_release(&r);
out:
	free(path);
	free(dir);
}

/* ---- vf_state_sync after an interrupted apply ---- */

static void test_sync(void)
{
	struct run r;
	char *dir = dir_new("sync");
	struct vf_state_entry e;
	struct vf_observed_item *it;
	struct vf_observed *o;

	if (run_plan(&r, dir) < 0) {
		ok(0, "the fixture plans");
		free(dir);
		return;
	}
	o = r.views.hosts[0].observed;
	/* what a run killed at several points leaves */
	memset(&e, 0, sizeof(e));
	e = (struct vf_state_entry){ .address = "vm.a", .kind = VF_KIND_VM, .name = "a",
				     .host = "h1", .pending = "create", .pending_since = "T" };
	vf_state_put(&r.state, &e);          /* never defined */
	e = (struct vf_state_entry){ .address = "vm.b", .kind = VF_KIND_VM, .name = "b",
				     .host = "h1", .pending = "create", .pending_since = "T" };
	vf_state_put(&r.state, &e);          /* defined, not started */
	e = (struct vf_state_entry){ .address = "volume.img@h1", .kind = VF_KIND_VOLUME,
				     .name = "img", .host = "h1", .pool = "s",
				     .pending = "create", .pending_since = "T" };
	vf_state_put(&r.state, &e);          /* upload cut short */
	e = (struct vf_state_entry){ .address = "volume.a-root@h1", .kind = VF_KIND_VOLUME,
				     .name = "a-root", .host = "h1", .pool = "s",
				     .pending = "create", .pending_since = "T" };
	vf_state_put(&r.state, &e);          /* clone made */
	e = (struct vf_state_entry){ .address = "network.n@h1", .kind = VF_KIND_NETWORK,
				     .name = "n", .host = "h1", .pending = "create",
				     .pending_since = "T" };
	vf_state_put(&r.state, &e);          /* never defined */

	it = vf_observed_add(o, VF_KIND_VM, "b");
	it->detailed = true;
	it->r.u.vm.marker.project = "t";
	it = vf_observed_add(o, VF_KIND_VM, "a");      /* someone else's "a" */
	it->detailed = true;
	it = vf_observed_add(o, VF_KIND_STORAGE, "s");
	it->detailed = true;
	it->r.u.pool.active = true;
	it = vf_observed_add(o, VF_KIND_VOLUME, "img");
	it->r.u.vol.pool = "s";
	it = vf_observed_add(o, VF_KIND_VOLUME, "a-root");
	it->r.u.vol.pool = "s";

	ok(vf_state_sync(&r.state, r.c, &r.desired, &r.views), "sync changes the state");
	ok(!vf_state_find(&r.state, "vm.a"),
	   "a VM create cut short before define: its record is dropped (the plan creates it)");
	ok(!vf_state_interrupted(&r.state, "vm.b", NULL) && vf_state_find(&r.state, "vm.b"),
	   "a VM found by its marker: recorded, no longer pending");
	ok(vf_state_interrupted(&r.state, "volume.img@h1", NULL),
	   "an interrupted upload stays pending until the plan's replace is done");
	ok(vf_state_find(&r.state, "volume.a-root@h1") &&
	   !vf_state_interrupted(&r.state, "volume.a-root@h1", NULL),
	   "a clone that was made: managed, no longer pending");
	ok(!vf_state_find(&r.state, "network.n@h1"), "a network never defined: pruned");
	ok(!vf_state_sync(&r.state, r.c, &r.desired, &r.views), "a second sync changes nothing");
	run_release(&r);
	free(dir);
}

int main(void)
{
	char *cmd;

	if (!mkdtemp(tmpdir)) {
		printf("Bail out! cannot create %s\n", tmpdir);
		return 1;
	}
	test_round_trip();
	test_old_format();
	test_notes();
	test_executor();
	test_sync();
	free(fake.missing);
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove the scratch directory");
	free(cmd);
	return tap_done();
}
