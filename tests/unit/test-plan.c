/*
 * The differ and planner on fixtures: a config, hand-made observations of
 * two hosts and a state, through vf_desired_build() and vf_plan_build().
 * No host is contacted; the libvirt provider is used only for its diff
 * hints (field_class), which are pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/libvirt/ops.h"
#include "reconcile/engine.h"
#include "providers/libvirt/provider.h"
#include "tests/tap.h"

static bool allow_replace;   /* --allow-replace for fixture_plan */
static bool allow_mass;      /* --allow-mass-destroy for fixture_plan */
static int max_destroy = -1; /* --max-destroy N for fixture_plan; -1: not given */
static char tmpdir[] = "/tmp/vf-test-plan.XXXXXX";

static const char config_text[] =
	"version: 1\n"
	"clusters: [{name: c}]\n"
	"hosts:\n"
	"  - {name: h1, uri: 'test:///default'}\n"
	"  - {name: h2, uri: 'test:///default'}\n"
	"networks:\n"
	"  - {name: n, mode: isolated, ipv4: {address: 10.9.0.1/24}}\n"
	"storage_domains:\n"
	"  - {name: s, type: dir, path: /srv/s}\n"
	"vms:\n"
	"  - name: a\n"
	"    cpus: 1\n"
	"    memory: 256MiB\n"
	"    disks: [{name: root, size: 1GiB, storage: s}]\n"
	"    nics: [{network: n}]\n"
	"  - name: b\n"
	"    cpus: 2\n"
	"    memory: 512MiB\n"
	"    disks: [{name: root, size: 1GiB, storage: s}]\n"
	"  - name: p\n"
	"    host: h2\n"
	"    cpus: 1\n"
	"    memory: 256MiB\n"
	"    protect: true\n"
	"    state: stopped\n";

static struct vf_config *load(const char *text)
{
	char *path = xasprintf("%s/c.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	struct vf_diags d = { 0 };
	struct vf_config *c;

	fputs(text, f);
	fclose(f);
	c = vf_config_load(path, &d);
	if (!c)
		vf_diags_print(&d, stdout);
	vf_diags_release(&d);
	free(path);
	return c;
}

/* Two empty, reachable hosts. */
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

/* Put a copy of desired resource r on its host, as a provider would read it. */
static struct vf_resource *observe_as(struct vf_views *v, const struct vf_resource *r)
{
	struct vf_host_view *hv = vf_views_find(v, r->host);
	struct vf_observed_item *it = vf_observed_add(hv->observed, r->kind, r->name);

	it->r = *r;
	it->r.address = NULL;
	it->detailed = true;
	return &it->r;
}

/* The object kind/name observed on host h (it must be there). */
static struct vf_resource *observed(struct vf_views *v, const char *h, enum vf_kind kind,
				    const char *name)
{
	struct vf_observed *o = vf_views_find(v, h)->observed;
	size_t i;

	for (i = 0; i < o->n_items; i++)
		if (o->items[i].r.kind == kind && !strcmp(o->items[i].r.name, name))
			return &o->items[i].r;
	printf("Bail out! fixture: no %s '%s' on %s\n", vf_kind_name(kind), name, h);
	exit(1);
}

struct fixture {
	struct vf_config *c;
	struct vf_views views;
	struct vf_state state;
	struct vf_desired desired;
	struct vf_desired old[16];     /* observations may point into these */
	size_t n_old;
	struct vf_plan plan;
	struct vf_diags diags;
	int rc;
};

static void fixture_init(struct fixture *f, const char *text)
{
	memset(f, 0, sizeof(*f));
	f->c = load(text);
	f->state.lock_fd = -1;
	views_empty(f->c, &f->views);
}

static int fixture_plan(struct fixture *f, const char *const *targets, size_t n_targets,
			bool destroy)
{
	struct vf_plan_opts o = { .targets = targets, .n_targets = n_targets, .destroy = destroy,
				  .allow_replace = allow_replace, .allow_mass_destroy = allow_mass,
				  .max_destroy_given = max_destroy >= 0,
				  .max_destroy = max_destroy >= 0 ? (unsigned)max_destroy : 0 };
	struct vf_desired d = { 0 };

	vf_plan_free(&f->plan);
	vf_diags_release(&f->diags);
	memset(&f->diags, 0, sizeof(f->diags));
	if (f->desired.n && f->n_old < 16)
		f->old[f->n_old++] = f->desired;
	else
		vf_desired_release(&f->desired);
	f->rc = vf_desired_build(f->c, &f->views, &f->state, destroy, &d, &f->diags,
				 &f->plan.warnings, &f->plan.n_warnings, &f->plan.alloc_warnings);
	f->desired = d;
	if (f->rc == 0)
		f->rc = vf_plan_build(f->c, &f->desired, &f->views, &f->state, &vf_provider_libvirt,
				      &o, &f->plan, &f->diags);
	if (f->rc) {
		/* as TAP comments */
		char *text = NULL, *line, *save = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);
		vf_diags_print(&f->diags, m);
		fclose(m);
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			printf("# %s\n", line);
		free(text);
	}
	return f->rc;
}

static void fixture_release(struct fixture *f)
{
	size_t i;

	vf_plan_free(&f->plan);
	vf_diags_release(&f->diags);
	for (i = 0; i < f->views.n; i++)
		f->views.hosts[i].observed->host = NULL;
	vf_views_release(&f->views);
	vf_desired_release(&f->desired);
	for (i = 0; i < f->n_old; i++)
		vf_desired_release(&f->old[i]);
	vf_state_close(&f->state);
	vf_config_free(f->c);
}

static const struct vf_action *find_action(const struct vf_plan *p, const char *address,
					   enum vf_action_type type)
{
	size_t i;

	for (i = 0; i < p->n_actions; i++)
		if (!strcmp(p->actions[i].address, address) && p->actions[i].type == type)
			return &p->actions[i];
	return NULL;
}

static const struct vf_resource *find_desired(const struct vf_desired *d, const char *address)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (!strcmp(d->items[i].address, address))
			return &d->items[i];
	return NULL;
}

static bool depends_on(const struct vf_plan *p, const struct vf_action *a, const char *address)
{
	size_t i;

	for (i = 0; i < a->n_deps; i++)
		if (!strcmp(p->actions[a->deps[i]].address, address))
			return true;
	return false;
}

static bool diags_contain(const struct vf_diags *d, const char *text)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strstr(d->items[i].message, text))
			return true;
	return false;
}

static void record(struct vf_state *s, const struct vf_resource *r)
{
	struct vf_state_entry e = {
		.address = (char *)r->address, .kind = r->kind, .name = (char *)r->name,
		.host = (char *)r->host,
		.pool = r->kind == VF_KIND_VOLUME ? (char *)r->u.vol.pool : NULL,
		.protect = r->protect,
	};
	vf_state_put(s, &e);
}

/* Make the hosts look exactly like the desired state, all managed. */
static void converge(struct fixture *f)
{
	size_t i;

	for (i = 0; i < f->desired.n; i++) {
		struct vf_resource *o = observe_as(&f->views, &f->desired.items[i]);
		record(&f->state, &f->desired.items[i]);
		if (o->kind == VF_KIND_VOLUME && !o->u.vol.capacity)
			o->u.vol.capacity = 1 << 30;
	}
}

static void test_create_from_nothing(void)
{
	struct fixture f;
	const struct vf_action *vm, *vol;
	size_t i;
	int last_phase_kind = -1;
	bool ordered = true;

	fixture_init(&f, config_text);
	is_int(fixture_plan(&f, NULL, 0, false), 0, "empty hosts: plan builds");
	is_int(f.plan.counts[VF_ACTION_CREATE], 9, "2 pools + 2 networks + 2 volumes + 3 VMs to create");
	is_int(f.plan.n_actions, 9, "nothing but creates");
	vm = find_action(&f.plan, "vm.a", VF_ACTION_CREATE);
	ok(vm && !strcmp(vm->host, "h1"), "vm a placed on h1 (least loaded, first)");
	vm = find_action(&f.plan, "vm.b", VF_ACTION_CREATE);
	ok(vm && !strcmp(vm->host, "h2"), "vm b placed on h2 (evenly distributed)");
	vm = find_action(&f.plan, "vm.p", VF_ACTION_CREATE);
	ok(vm && !strcmp(vm->host, "h2"), "vm p pinned to h2");
	vm = find_action(&f.plan, "vm.a", VF_ACTION_CREATE);
	ok(vm && depends_on(&f.plan, vm, "volume.a-root@h1"), "vm.a waits for its volume");
	ok(vm && depends_on(&f.plan, vm, "network.n@h1"), "vm.a waits for its network on h1");
	ok(vm && !depends_on(&f.plan, vm, "network.n@h2"), "vm.a does not wait for h2's network");
	vol = find_action(&f.plan, "volume.a-root@h1", VF_ACTION_CREATE);
	ok(vol && depends_on(&f.plan, vol, "storage.s@h1"), "the volume waits for its pool");
	for (i = 0; i < f.plan.n_actions; i++) {
		const struct vf_action *a = &f.plan.actions[i];
		size_t j;
		for (j = 0; j < a->n_deps; j++)
			if (a->deps[j] >= i)
				ordered = false;
		if ((int)a->kind < last_phase_kind)
			ordered = false;
		last_phase_kind = (int)a->kind;
	}
	ok(ordered, "actions are in dependency order: storage, volumes, networks, VMs");
	{
		const struct vf_resource *d = find_desired(&f.desired, "vm.a");
		char mac[18];
		vf_mac_format(d->u.vm.nics[0].mac, mac);
		ok(!strncmp(mac, "52:54:00:", 9), "a derived MAC is locally administered qemu (%s)", mac);
		ok(d->u.vm.marker.project && !strcmp(d->u.vm.marker.project, "c"),
		   "the marker carries the project (default: the cluster names)");
		is_str(d->u.vm.graphics_listen, "127.0.0.1", "graphics listen on loopback by default");
	}
	fixture_release(&f);
}

static void test_noop_and_drift(void)
{
	struct fixture f;
	const struct vf_action *a;
	size_t i;

	fixture_init(&f, config_text);
	fixture_plan(&f, NULL, 0, false);
	converge(&f);
	is_int(fixture_plan(&f, NULL, 0, false), 0, "converged: plan builds");
	is_int(f.plan.n_actions, 0, "converged: no changes");
	if (f.plan.n_actions)
		for (i = 0; i < f.plan.n_actions; i++)
			printf("# unexpected: %s %s\n", vf_action_type_name(f.plan.actions[i].type),
			       f.plan.actions[i].address);

	/* memory changed with virsh: same spec hash, other value */
	observed(&f.views, "h1", VF_KIND_VM, "a")->u.vm.memory = 512ull << 20;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.a", VF_ACTION_UPDATE);
	ok(a != NULL, "drifted memory is planned back as an update");
	if (a) {
		char b[32], c[32];
		ok(a->n_fields == 1 && !strcmp(a->fields[0].after.path, "memory"), "one field: memory");
		is_str(vf_field_format(&a->fields[0].before, b, sizeof(b)), "512 MiB", "before");
		is_str(vf_field_format(&a->fields[0].after, c, sizeof(c)), "256 MiB", "after");
		ok(a->drift, "marked as changed outside virtform (spec hash unchanged)");
		ok(a->live && !a->requires_restart, "memory changes live (balloon, within max_memory)");
	}
	is_int(f.plan.n_actions, 1, "nothing else changes");
	fixture_release(&f);
}

static const char *field_class_name(const struct vf_action *a, const char *path)
{
	size_t i;

	for (i = 0; a && i < a->n_fields; i++)
		if (!strcmp(a->fields[i].after.present ? a->fields[i].after.path
						       : a->fields[i].before.path, path))
			return a->fields[i].class == VF_FIELD_LIVE ? "live"
			       : a->fields[i].class == VF_FIELD_RESTART ? "restart" : "replace";
	return "absent";
}

static void test_live_and_restart(void)
{
	static const char allow[] =
		"version: 1\n"
		"clusters: [{name: c}]\n"
		"hosts: [{name: h1, uri: 'test:///default'}]\n"
		"vms:\n"
		"  - {name: r, cpus: 2, memory: 512MiB, restart_policy: allow, shutdown_timeout: 7}\n"
		"  - {name: m, cpus: 2, max_cpus: 6, memory: 512MiB, max_memory: 1GiB}\n";
	struct fixture f;
	const struct vf_action *a;
	struct vf_resource *o;
	char host_a[16], host_b[16];

	fixture_init(&f, config_text);
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.b", VF_ACTION_CREATE);
	ok(a && a->desired->u.vm.max_cpus == 4 && a->desired->u.vm.max_memory == 512ull << 20,
	   "a new VM gets room for twice its vCPUs and max_memory = memory by default");
	snprintf(host_b, sizeof(host_b), "%s", a ? a->host : "h1");
	a = find_action(&f.plan, "vm.a", VF_ACTION_CREATE);
	snprintf(host_a, sizeof(host_a), "%s", a ? a->host : "h1");
	converge(&f);

	/* one vCPU less on the host than desired: hot-plug */
	o = observed(&f.views, host_b, VF_KIND_VM, "b");
	o->u.vm.cpus = 1;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.b", VF_ACTION_UPDATE);
	ok(a && a->live && !a->requires_restart, "more vCPUs within max_cpus: live");
	is_str(field_class_name(a, "cpus"), "live", "cpus 1 -> 2 is a live field");

	/* more vCPUs on the host than desired: unplugging needs the guest */
	o->u.vm.cpus = 3;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.b", VF_ACTION_UPDATE);
	ok(a && !a->live && a->requires_restart && !a->restart,
	   "fewer vCPUs: takes effect at next restart (restart_policy never)");
	o->u.vm.cpus = 2;

	/* a host maximum below the memory: max_memory grows, at the next restart */
	o = observed(&f.views, host_a, VF_KIND_VM, "a");
	o->u.vm.max_memory = o->u.vm.memory = 128ull << 20;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.a", VF_ACTION_UPDATE);
	is_str(field_class_name(a, "max_memory"), "restart", "max_memory outgrown: restart field");
	is_str(field_class_name(a, "memory"), "restart",
	       "memory grown past the running max_memory: at next restart, as the apply does it");
	ok(a && a->requires_restart, "the update waits for a restart");

	/* changes written earlier wait for a restart: the plan says so */
	o->u.vm.max_memory = 256ull << 20;
	o->u.vm.memory = 256ull << 20;
	o->u.vm.running = true;
	o->u.vm.marker.pending = "cpus max_memory";
	fixture_plan(&f, NULL, 0, false);
	{
		bool noted = false;
		size_t i;
		for (i = 0; i < f.plan.n_warnings; i++)
			if (strstr(f.plan.warnings[i], "vm.a on ") &&
			    strstr(f.plan.warnings[i], "wait for its restart: cpus, max_memory"))
				noted = true;
		ok(noted, "changes waiting for a restart are noted");
	}
	o->u.vm.marker.pending = NULL;

	/* running, but should be stopped, and changed: the update waits for the stop */
	{
		struct vf_resource *pv = observed(&f.views, "h2", VF_KIND_VM, "p");
		const struct vf_action *stop, *upd;
		size_t i;
		bool waits = false;
		pv->u.vm.running = true;
		pv->u.vm.memory = 128ull << 20;
		fixture_plan(&f, NULL, 0, false);
		stop = find_action(&f.plan, "vm.p", VF_ACTION_STOP);
		upd = find_action(&f.plan, "vm.p", VF_ACTION_UPDATE);
		for (i = 0; stop && upd && i < upd->n_deps; i++)
			if (upd->deps[i] == stop->index)
				waits = true;
		ok(waits, "a VM's update waits for its own stop");
		pv->u.vm.running = false;
		pv->u.vm.memory = 256ull << 20;
	}

	/* a bigger maximum on the host is kept when the config leaves it out */
	o->u.vm.max_memory = 2ull << 30;
	o->u.vm.memory = 256ull << 20;
	fixture_plan(&f, NULL, 0, false);
	ok(!find_action(&f.plan, "vm.a", VF_ACTION_UPDATE),
	   "an existing VM keeps its larger max_memory: no change planned");
	fixture_release(&f);

	fixture_init(&f, allow);
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.m", VF_ACTION_CREATE);
	ok(a && a->desired->u.vm.max_cpus == 6 && a->desired->u.vm.max_memory == 1ull << 30,
	   "max_cpus and max_memory from the config");
	converge(&f);
	o = observed(&f.views, "h1", VF_KIND_VM, "r");
	o->u.vm.cpus = 3;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.r", VF_ACTION_UPDATE);
	ok(a && a->restart && !a->requires_restart && a->shutdown_timeout == 7,
	   "restart_policy allow: the plan restarts the VM (with its shutdown_timeout)");
	fixture_release(&f);
}

static void test_network_replace_in_use(void)
{
	struct fixture f;
	struct vf_resource *net, *vm;
	const struct vf_action *a;
	char host_a[16];
	size_t i;
	bool warned = false;

	fixture_init(&f, config_text);
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.a", VF_ACTION_CREATE);
	snprintf(host_a, sizeof(host_a), "%s", a ? a->host : "h1");
	converge(&f);
	vm = observed(&f.views, host_a, VF_KIND_VM, "a");
	vm->u.vm.running = true;
	net = observed(&f.views, host_a, VF_KIND_NETWORK, "n");
	net->u.net.mode = VF_NET_MODE_NAT;              /* the config says isolated */

	ok(fixture_plan(&f, NULL, 0, false) < 0,
	   "replacing a network a running VM uses fails the plan");
	ok(diags_contain(&f.diags, "mode: nat -> isolated cannot change in place, and replacing "
				   "it would cut off the running VM vm.a"),
	   "the error gives the reason and names the VM");
	ok(f.diags.n && f.diags.items[0].hint && strstr(f.diags.items[0].hint, "--allow-replace"),
	   "and the way out");

	allow_replace = true;
	is_int(fixture_plan(&f, NULL, 0, false), 0, "--allow-replace: the plan builds");
	a = find_action(&f.plan, "network.n@h1", VF_ACTION_REPLACE);
	if (!a)
		a = find_action(&f.plan, "network.n@h2", VF_ACTION_REPLACE);
	ok(a && a->reason && strstr(a->reason, "mode: nat -> isolated"), "shown as a replace with its reason");
	for (i = 0; i < f.plan.n_warnings; i++)
		if (strstr(f.plan.warnings[i], "takes it away from the running VM vm.a"))
			warned = true;
	ok(warned, "with a warning naming the VM");
	allow_replace = false;

	vm->u.vm.running = false;
	is_int(fixture_plan(&f, NULL, 0, false), 0, "no running VM on it: replaced without the flag");
	fixture_release(&f);
}

static void test_interrupted_upload(void)
{
	static const char text[] =
		"version: 1\n"
		"clusters: [{name: c}]\n"
		"hosts: [{name: h1, uri: 'test:///default'}]\n"
		"storage_domains: [{name: s, type: dir, path: /srv/s}]\n"
		"images: [{name: img, file: /etc/hostname, storage: s, format: raw}]\n"
		"vms:\n"
		"  - {name: v, cpus: 1, memory: 64MiB, disks: [{name: root, storage: s, image: img}]}\n";
	struct fixture f;
	struct vf_state_entry e = { 0 };
	const struct vf_action *a;
	size_t i;
	bool noted = false;

	fixture_init(&f, text);
	fixture_plan(&f, NULL, 0, false);
	converge(&f);
	is_int(fixture_plan(&f, NULL, 0, false), 0, "converged");
	is_int(f.plan.n_actions, 0, "no changes");

	/* an apply was killed while uploading the image */
	e = *vf_state_find(&f.state, "volume.img@h1");
	e.pending = "create";
	e.pending_since = "2026-11-27T08:00:00Z";
	vf_state_put(&f.state, &e);
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "volume.img@h1", VF_ACTION_REPLACE);
	ok(a && a->reason && !strcmp(a->reason, "an interrupted apply left its upload incomplete"),
	   "an image whose upload was interrupted is uploaded again (replace, with the reason)");
	for (i = 0; i < f.plan.n_warnings; i++)
		if (strstr(f.plan.warnings[i], "volume.img@h1"))
			noted = true;
	ok(noted, "the plan notes the interrupted apply");
	ok(f.plan.guard.volumes == 1 && f.plan.guard.vms == 0 && !f.plan.guard.refused,
	   "the guard counts a replaced volume as destroyed (one: within the limit)");
	max_destroy = 0;
	fixture_plan(&f, NULL, 0, false);
	ok(f.plan.guard.refused, "--max-destroy 0 refuses a volume replace");
	max_destroy = -1;

	/* an interrupted create of a clone: libvirt made it whole; nothing to redo
	 * (e's strings went with the put: read the entry again) */
	e = *vf_state_find(&f.state, "volume.img@h1");
	e.pending = NULL;
	e.pending_since = NULL;
	vf_state_put(&f.state, &e);
	e = *vf_state_find(&f.state, "volume.v-root@h1");
	e.pending = "create";
	e.pending_since = "2026-11-27T08:00:00Z";
	vf_state_put(&f.state, &e);
	fixture_plan(&f, NULL, 0, false);
	ok(!find_action(&f.plan, "volume.v-root@h1", VF_ACTION_REPLACE),
	   "a clone is not re-made for an interrupted create");
	fixture_release(&f);
}

static void test_clash_and_ownership(void)
{
	struct fixture f;

	fixture_init(&f, config_text);
	fixture_plan(&f, NULL, 0, false);
	/* an unmanaged domain named like vm a, on the host a goes to */
	vf_observed_add(f.views.hosts[0].observed, VF_KIND_VM, "a");
	/* an unmanaged network named like ours on h2 */
	vf_observed_add(f.views.hosts[1].observed, VF_KIND_NETWORK, "n");
	ok(fixture_plan(&f, NULL, 0, false) < 0, "a name clash with unmanaged objects fails the plan");
	ok(diags_contain(&f.diags, "vm.a: a domain named 'a' already exists on host 'h1' and "
				   "virtform does not manage it"), "the VM clash is named");
	ok(diags_contain(&f.diags, "network.n@h2: a network named 'n' already exists"),
	   "the network clash is named");
	ok(f.diags.n && f.diags.items[0].hint && strstr(f.diags.items[0].hint, "virtform import"),
	   "the hint suggests virtform import");
	fixture_release(&f);

	/* unmanaged objects that clash with nothing are never touched */
	fixture_init(&f, config_text);
	vf_observed_add(f.views.hosts[0].observed, VF_KIND_VM, "someone-elses");
	vf_observed_add(f.views.hosts[0].observed, VF_KIND_NETWORK, "default");
	fixture_plan(&f, NULL, 0, true);
	is_int(f.plan.n_actions, 0, "destroy with nothing managed: unmanaged objects untouched");
	fixture_release(&f);
}

static void test_removed_and_protected(void)
{
	struct fixture f;
	struct vf_resource *old, *vol;
	const struct vf_action *del_vm, *del_vol;
	struct vf_marker_volume mv = { "s", "old-root", false };
	struct vf_disk_spec disk = { "root", "vda", "s", "old-root", VF_FORMAT_QCOW2, false };

	fixture_init(&f, config_text);
	fixture_plan(&f, NULL, 0, false);
	converge(&f);
	/* a managed VM that is no longer in the config, with its disk */
	old = observe_as(&f.views, find_desired(&f.desired, "vm.a"));
	old->name = "old";
	old->u.vm.marker.volumes = &mv;
	old->u.vm.marker.n_volumes = 1;
	old->u.vm.disks = &disk;
	old->u.vm.n_disks = 1;
	vol = observe_as(&f.views, find_desired(&f.desired, "volume.a-root@h1"));
	vol->name = "old-root";
	is_int(fixture_plan(&f, NULL, 0, false), 0, "a removed VM plans");
	del_vm = find_action(&f.plan, "vm.old", VF_ACTION_DELETE);
	del_vol = find_action(&f.plan, "volume.old-root@h1", VF_ACTION_DELETE);
	ok(del_vm != NULL, "a VM removed from the config is destroyed");
	ok(del_vol != NULL, "its volume goes with it (owned through the marker, no state)");
	ok(del_vm && del_vol && depends_on(&f.plan, del_vol, "vm.old"),
	   "the volume is deleted after the VM");

	/* the same VM recorded as protected in the state */
	{
		struct vf_state_entry e = { .address = "vm.old", .kind = VF_KIND_VM, .name = "old",
					    .host = "h1", .protect = true };
		vf_state_put(&f.state, &e);
	}
	ok(fixture_plan(&f, NULL, 0, false) < 0, "a protected VM removed from the config fails the plan");
	ok(diags_contain(&f.diags, "vm.old was removed from the configuration but is protected"),
	   "the protected VM is named");

	/* destroy: p has protect: true in the config */
	vf_state_remove(&f.state, "vm.old");
	ok(fixture_plan(&f, NULL, 0, true) < 0, "destroy fails on a protected VM");
	ok(diags_contain(&f.diags, "vm.p is protected"), "and names it");
	{
		const char *t[] = { "vm.b" };
		is_int(fixture_plan(&f, t, 1, true), 0, "destroy --target vm.b plans");
		ok(find_action(&f.plan, "vm.b", VF_ACTION_DELETE) &&
		   find_action(&f.plan, "volume.b-root@h2", VF_ACTION_DELETE),
		   "destroy --target vm.b deletes the VM and its volume");
		is_int(f.plan.n_actions, 2, "and nothing else");
	}
	fixture_release(&f);
}

static void test_targets(void)
{
	struct fixture f;
	const char *t[] = { "vm.a" }, *bad[] = { "vm.nope" };

	fixture_init(&f, config_text);
	is_int(fixture_plan(&f, t, 1, false), 0, "--target vm.a plans");
	is_int(f.plan.n_actions, 4, "vm.a with its volume, pool and network on h1");
	ok(find_action(&f.plan, "storage.s@h1", VF_ACTION_CREATE) &&
	   !find_action(&f.plan, "storage.s@h2", VF_ACTION_CREATE), "only h1's pool");
	ok(fixture_plan(&f, bad, 1, false) < 0, "an unknown --target fails the plan");
	ok(diags_contain(&f.diags, "--target 'vm.nope' matches nothing"), "and names it");
	fixture_release(&f);
}

static void test_replace_and_shrink(void)
{
	struct fixture f;
	const struct vf_action *a;

	fixture_init(&f, config_text);
	fixture_plan(&f, NULL, 0, false);
	converge(&f);
	observed(&f.views, "h1", VF_KIND_VM, "a")->u.vm.firmware = VF_FIRMWARE_EFI;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.a", VF_ACTION_REPLACE);
	ok(a != NULL, "a firmware change is a replace");
	is_str(a ? a->reason : NULL, "firmware: efi -> bios cannot change in place", "with its reason");

	observed(&f.views, "h1", VF_KIND_VM, "a")->u.vm.firmware = VF_FIRMWARE_BIOS;
	observed(&f.views, "h1", VF_KIND_VOLUME, "a-root")->u.vol.capacity = 2ull << 30;
	ok(fixture_plan(&f, NULL, 0, false) < 0, "shrinking a volume is refused");
	ok(diags_contain(&f.diags, "shrinking a volume from 2 GiB to 1 GiB would lose data"),
	   "with sizes in the message");
	fixture_release(&f);
}

static void test_unreachable(void)
{
	struct fixture f;

	fixture_init(&f, config_text);
	vf_observed_free(f.views.hosts[1].observed);
	f.views.hosts[1].observed = NULL;
	f.views.hosts[1].error = xstrdup("cannot connect: Connection refused");
	ok(fixture_plan(&f, NULL, 0, false) < 0, "an unreachable host fails the plan");
	ok(diags_contain(&f.diags, "host 'h2' is unreachable: cannot connect: Connection refused"),
	   "naming the host and the error");
	f.views.hosts[1].skipped = true;
	is_int(fixture_plan(&f, NULL, 0, false), 0, "--skip-unreachable plans the rest");
	is_int(f.plan.n_skipped, 1, "the skipped host is listed");
	ok(!find_action(&f.plan, "vm.b", VF_ACTION_CREATE),
	   "a new VM that may already live on the skipped host is not planned");
	ok(!find_action(&f.plan, "vm.p", VF_ACTION_CREATE), "nor one pinned to it");
	ok(f.plan.n_warnings >= 2, "both are warned about (%zu warnings)", f.plan.n_warnings);
	ok(find_action(&f.plan, "storage.s@h1", VF_ACTION_CREATE) &&
	   !find_action(&f.plan, "storage.s@h2", VF_ACTION_CREATE), "h1 is planned, h2 is not");
	f.views.hosts[1].observed = xcalloc(1, sizeof(struct vf_observed));   /* for release */
	fixture_release(&f);
}

static void test_host_gone(void)
{
	struct fixture f;
	struct vf_state_entry e = { .address = "network.n@h9", .kind = VF_KIND_NETWORK, .name = "n",
				    .host = "h9" };
	size_t i;
	bool warned = false;

	fixture_init(&f, config_text);
	vf_state_put(&f.state, &e);
	is_int(fixture_plan(&f, NULL, 0, false), 0, "a state entry on a host no longer configured plans");
	for (i = 0; i < f.plan.n_warnings; i++)
		if (strstr(f.plan.warnings[i], "network.n@h9 is on host 'h9', which is no longer in the "
						"configuration"))
			warned = true;
	ok(warned, "and is warned about, not touched");
	ok(!find_action(&f.plan, "network.n@h9", VF_ACTION_DELETE), "no action on it");
	fixture_release(&f);
}

/*
 * An iscsi-direct pool: no path field (libvirt gives it no <target>), the
 * initiator a field of its own; converged it plans nothing, and a new
 * initiator or portal replaces the pool like an iscsi pool's source.
 */
static void test_iscsi_direct(void)
{
	struct fixture f;
	const struct vf_action *a;
	const struct vf_resource *d;
	struct vf_resource *o;

	fixture_init(&f, "version: 1\n"
			 "clusters: [{name: c}]\n"
			 "hosts: [{name: h1, uri: 'test:///default'}]\n"
			 "storage_domains:\n"
			 "  - name: lun\n"
			 "    type: iscsi-direct\n"
			 "    portal: 192.0.2.10\n"
			 "    target: iqn.2004-04.org.example:t\n"
			 "    initiator: iqn.2026-11.org.example:h1\n");
	is_int(fixture_plan(&f, NULL, 0, false), 0, "an iscsi-direct storage domain plans");
	a = find_action(&f.plan, "storage.lun@h1", VF_ACTION_CREATE);
	ok(a != NULL, "create storage.lun@h1");
	d = find_desired(&f.desired, "storage.lun@h1");
	ok(d && d->u.pool.type == VF_STORAGE_ISCSI_DIRECT && d->u.pool.path == NULL &&
	   d->u.pool.initiator && !strcmp(d->u.pool.initiator, "iqn.2026-11.org.example:h1"),
	   "desired: type iscsi-direct, no path, the initiator");
	if (a) {
		struct vf_arena ar = VF_ARENA_INIT;
		struct vf_field *fl = NULL;
		char buf[256], seen[512] = "";
		size_t i, n = vf_resource_fields(a->desired, true, &ar, &fl);
		for (i = 0; i < n; i++)
			if (strcmp(fl[i].path, "active") && strcmp(fl[i].path, "autostart"))
				snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%s=%s",
					 *seen ? " " : "", fl[i].path,
					 vf_field_format(&fl[i], buf, sizeof(buf)));
		is_str(seen, "type=iscsi-direct source=192.0.2.10 iqn.2004-04.org.example:t "
			     "initiator=iqn.2026-11.org.example:h1", "its fields: no path");
		vf_arena_release(&ar);
	}
	converge(&f);
	is_int(fixture_plan(&f, NULL, 0, false), 0, "plan again");
	is_int(f.plan.n_actions, 0, "converged: nothing to do");

	o = observed(&f.views, "h1", VF_KIND_STORAGE, "lun");
	o->u.pool.initiator = "iqn.2026-11.org.example:old";
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "storage.lun@h1", VF_ACTION_REPLACE);
	ok(a != NULL, "another initiator: a replace");
	is_str(field_class_name(a, "initiator"), "replace", "initiator is a replace field");
	is_str(a ? a->reason : NULL, "initiator: iqn.2026-11.org.example:old -> "
	       "iqn.2026-11.org.example:h1 cannot change in place", "with its reason");

	o->u.pool.initiator = "iqn.2026-11.org.example:h1";
	o->u.pool.portal = "192.0.2.11";
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "storage.lun@h1", VF_ACTION_REPLACE);
	is_str(field_class_name(a, "source"), "replace", "another portal: its source, a replace");
	fixture_release(&f);
}

static void test_volume_name_clash(void)
{
	struct fixture f;

	fixture_init(&f, "version: 1\n"
			 "clusters: [{name: c}]\n"
			 "hosts: [{name: h1, uri: 'test:///default'}]\n"
			 "storage_domains: [{name: s, type: dir, path: /srv/s}]\n"
			 "images: [{name: v-root, file: /etc/hostname, storage: s}]\n"
			 "vms:\n"
			 "  - {name: v, cpus: 1, memory: 64MiB, disks: [{name: root, size: 1GiB, storage: s},\n"
			 "     {name: x, storage: s, image: v-root}]}\n");
	ok(fixture_plan(&f, NULL, 0, false) < 0, "an image named like a VM disk's volume is refused");
	ok(diags_contain(&f.diags, "volume.v-root@h1: the volume of this disk and the one defined at"),
	   "naming both definitions");
	fixture_release(&f);
}

/*
 * A network, pool or volume carries no spec hash of its own: its state
 * record does (the apply that wrote it).  A difference while that still
 * matches the configuration was made outside virtform; without one (an
 * older state), or once the configuration moved on, it was not applied
 * yet.  And a start waits for its own object's change (a pool's new
 * CHAP secret before it logs in).
 */
static void test_changed_outside_and_start_order(void)
{
	struct fixture f;
	const struct vf_action *a, *start;
	const struct vf_resource *d;
	struct vf_resource *o;
	struct vf_state_entry e;
	char hash[17];

	fixture_init(&f, config_text);
	fixture_plan(&f, NULL, 0, false);
	converge(&f);
	o = observed(&f.views, "h1", VF_KIND_NETWORK, "n");
	o->u.net.has_dhcp = true;
	o->u.net.dhcp_start = (10u << 24) | (9u << 16) | 100;
	o->u.net.dhcp_end = (10u << 24) | (9u << 16) | 200;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "network.n@h1", VF_ACTION_UPDATE);
	if (!a)
		a = find_action(&f.plan, "network.n@h1", VF_ACTION_REPLACE);
	ok(a && !a->drift, "a network's difference without a spec in its record: not applied yet");

	d = find_desired(&f.desired, "network.n@h1");
	vf_resource_hash(d, hash);
	e = *vf_state_find(&f.state, "network.n@h1");
	e.spec = hash;
	vf_state_put(&f.state, &e);
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "network.n@h1", VF_ACTION_UPDATE);
	if (!a)
		a = find_action(&f.plan, "network.n@h1", VF_ACTION_REPLACE);
	ok(a && a->drift, "the record's spec matches the configuration: changed outside virtform");

	e = *vf_state_find(&f.state, "network.n@h1");
	e.spec = "0123456789abcdef";
	vf_state_put(&f.state, &e);
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "network.n@h1", VF_ACTION_UPDATE);
	if (!a)
		a = find_action(&f.plan, "network.n@h1", VF_ACTION_REPLACE);
	ok(a && !a->drift, "the configuration moved on since: not applied yet");

	o = observed(&f.views, "h1", VF_KIND_STORAGE, "s");
	o->u.pool.active = false;
	o->u.pool.autostart = false;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "storage.s@h1", VF_ACTION_UPDATE);
	start = find_action(&f.plan, "storage.s@h1", VF_ACTION_START);
	ok(a && start, "an inactive pool with autostart off: an update and a start");
	ok(start && depends_on(&f.plan, start, "storage.s@h1"),
	   "the pool's start waits for its update");
	start = find_action(&f.plan, "vm.a", VF_ACTION_START);
	ok(!start || !depends_on(&f.plan, start, "vm.b"), "a start does not wait for others");
	fixture_release(&f);
}

/* Per-host memory sums saturate: domains a host reports (any size, not
 * bounded as the config is) never wrap a host's load round to "empty". */
static void test_memory_sum_saturates(void)
{
	struct fixture f;
	const struct vf_action *vm;
	const char *const names[] = { "old1", "old2" };
	size_t i;

	fixture_init(&f, config_text);
	for (i = 0; i < 2; i++) {
		struct vf_observed_item *it = vf_observed_add(f.views.hosts[0].observed, VF_KIND_VM,
							      names[i]);
		it->detailed = true;
		it->r.u.vm.cpus = 1;
		it->r.u.vm.memory = it->r.u.vm.max_memory = 1ull << 63;
		it->r.u.vm.marker.project = "c";
	}
	is_int(fixture_plan(&f, NULL, 0, false), 0, "two 8 EiB domains of ours on h1: plan builds");
	vm = find_action(&f.plan, "vm.a", VF_ACTION_CREATE);
	ok(vm && !strcmp(vm->host, "h2"), "vm a goes to h2: h1's load is full, not wrapped to 0 "
	   "(placed on %s)", vm ? vm->host : "nothing");
	vm = find_action(&f.plan, "vm.b", VF_ACTION_CREATE);
	ok(vm && !strcmp(vm->host, "h2"), "vm b goes to h2 as well");
	fixture_release(&f);
}

/* A configuration of n VMs (g0, g1, ...) without disks, but for g0, which
 * has one, on one host. */
static char *fleet_text(unsigned n)
{
	char *text = xstrdup("version: 1\nproject: guard\nclusters: [{name: c}]\n"
			     "hosts: [{name: h1, uri: 'test:///default'}]\n"
			     "storage_domains: [{name: s, type: dir, path: /srv/s}]\n"
			     "vms:\n"), *next;
	unsigned i;

	if (!n) {
		next = xasprintf("%s  []\n", text);
		free(text);
		return next;
	}
	for (i = 0; i < n; i++) {
		next = xasprintf("%s  - {name: g%u, cpus: 1, memory: 64MiB%s}\n", text, i,
				 i ? "" : ", disks: [{name: root, size: 1GiB, storage: s}]");
		free(text);
		text = next;
	}
	return text;
}

/* The fixture's configuration replaced by text (the old one kept: the
 * observations point into what it made). */
static struct vf_config *fixture_reload(struct fixture *f, const char *text)
{
	struct vf_config *old = f->c;

	f->c = load(text);
	f->views.hosts[0].host = &f->c->hosts[0];
	return old;
}

static void test_mass_destroy(void)
{
	struct fixture f;
	struct vf_config *olds[6];
	size_t n_olds = 0, i;
	char *text = fleet_text(12);
	const struct vf_guard *g = &f.plan.guard;

	fixture_init(&f, text);
	free(text);
	fixture_plan(&f, NULL, 0, false);
	converge(&f);
	is_int(fixture_plan(&f, NULL, 0, false), 0, "a fleet of 12 VMs, converged, plans");
	ok(g->checked && !g->refused && g->managed_vms == 12 && g->managed_volumes == 1,
	   "the guard counts 12 VMs and 1 volume managed, nothing destroyed");

	/* the configuration emptied: every VM and the volume would go */
	text = fleet_text(0);
	olds[n_olds++] = fixture_reload(&f, text);
	free(text);
	is_int(fixture_plan(&f, NULL, 0, false), 0, "an empty configuration still plans");
	ok(find_action(&f.plan, "vm.g5", VF_ACTION_DELETE) != NULL, "the plan shows what would go");
	ok(g->refused, "but the guard refuses it");
	ok(g->vms == 12 && g->volumes == 1 && g->limit == 3 && !g->limit_given,
	   "12 VMs and 1 volume against the default limit of 3 (10%% of 13 is less)");
	ok(g->message && strstr(g->message, "the plan destroys 12 VMs and 1 volume (13 objects "
				"that hold data), more than the limit of 3"),
	   "the refusal names the count and the limit");
	ok(g->message && strstr(g->message, "the configuration defines 0 VMs and 0 volumes, "
				"virtform manages 12 VMs and 1 volume") &&
	   strstr(g->message, "an empty or missing configuration"),
	   "and the likely cause");
	ok(g->hint && strstr(g->hint, "--allow-mass-destroy"), "the hint names --allow-mass-destroy");

	allow_mass = true;
	fixture_plan(&f, NULL, 0, false);
	ok(!g->refused && g->allowed, "--allow-mass-destroy lets it through");
	{
		bool warned = false;
		for (i = 0; i < f.plan.n_warnings; i++)
			warned |= strstr(f.plan.warnings[i], "allowed by --allow-mass-destroy") != NULL;
		ok(warned, "with a warning that says so");
	}
	allow_mass = false;

	max_destroy = 13;
	fixture_plan(&f, NULL, 0, false);
	ok(!g->refused && g->limit == 13 && g->limit_given, "--max-destroy 13 allows 13");
	max_destroy = 12;
	fixture_plan(&f, NULL, 0, false);
	ok(g->refused && strstr(g->message, "limit of 12 (--max-destroy)"),
	   "--max-destroy 12 refuses 13, naming the option");
	max_destroy = -1;

	{
		const char *t[] = { "vm.g3" };
		fixture_plan(&f, t, 1, false);
		ok(!g->refused && g->vms == 1, "--target counts only what it carries out");
	}
	fixture_plan(&f, NULL, 0, true);
	ok(!g->checked && !g->refused, "destroy is exempt: it is asked for");

	/* three VMs fewer: at the limit, allowed; a truncated file: refused */
	text = fleet_text(9);
	olds[n_olds++] = fixture_reload(&f, text);
	free(text);
	fixture_plan(&f, NULL, 0, false);
	ok(!g->refused && g->vms == 3, "removing 3 VMs of 12 is within the default limit");
	text = fleet_text(4);
	olds[n_olds++] = fixture_reload(&f, text);
	free(text);
	fixture_plan(&f, NULL, 0, false);
	ok(g->refused && g->vms == 8 && strstr(g->message, "a truncated configuration"),
	   "a configuration cut to 4 of 12 VMs is refused as truncated");

	for (i = 0; i < n_olds; i++)
		vf_config_free(olds[i]);
	fixture_release(&f);
}

/* The default limit is a tenth of a large fleet. */
static void test_mass_destroy_percent(void)
{
	struct fixture f;
	struct vf_config *old, *old2;
	char *text = fleet_text(60);
	const struct vf_guard *g = &f.plan.guard;

	fixture_init(&f, text);
	free(text);
	fixture_plan(&f, NULL, 0, false);
	converge(&f);
	text = fleet_text(54);
	old = fixture_reload(&f, text);
	free(text);
	fixture_plan(&f, NULL, 0, false);
	ok(g->limit == 6 && !g->refused && g->vms == 6,
	   "61 managed: the limit is 6 (10%%), and 6 VMs removed pass");
	text = fleet_text(53);
	old2 = fixture_reload(&f, text);
	free(text);
	fixture_plan(&f, NULL, 0, false);
	ok(g->refused && g->vms == 7, "7 are refused");
	vf_config_free(old2);
	vf_config_free(old);
	fixture_release(&f);
}

/*
 * Memory grown beyond the running VM's max_memory, and within it: what the
 * plan says of the update and what the rule the apply asks
 * (vf_libvirt_change_class, given the action's desired and observed VMs)
 * says of each field agree — beyond it the apply writes memory for the
 * next boot, within it the balloon changes it live.
 */
static const char *change_class_name(const struct vf_action *a, const char *path)
{
	size_t i;

	for (i = 0; a && i < a->n_fields; i++) {
		const struct vf_field_change *c = &a->fields[i];
		if (!strcmp(c->after.present ? c->after.path : c->before.path, path)) {
			enum vf_field_class k =
				vf_libvirt_change_class(a->desired, a->observed, &c->before, &c->after);
			return k == VF_FIELD_LIVE ? "live" : k == VF_FIELD_RESTART ? "restart" : "replace";
		}
	}
	return "absent";
}

static void test_memory_beyond_max(void)
{
	struct fixture f;
	const struct vf_action *a;
	struct vf_resource *o;
	char host[16];

	fixture_init(&f, config_text);
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.a", VF_ACTION_CREATE);
	snprintf(host, sizeof(host), "%s", a ? a->host : "h1");
	converge(&f);
	o = observed(&f.views, host, VF_KIND_VM, "a");
	o->u.vm.running = true;

	/* 128 MiB running with a maximum of 128 MiB; 256 MiB desired */
	o->u.vm.memory = o->u.vm.max_memory = 128ull << 20;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.a", VF_ACTION_UPDATE);
	ok(a && a->requires_restart && !a->live && !a->restart,
	   "memory beyond max_memory: the update waits for the next restart");
	is_str(change_class_name(a, "memory"), "restart",
	       "and the apply writes the memory for the next boot (no balloon)");
	is_str(change_class_name(a, "max_memory"), "restart", "with its new maximum");

	/* the same growth within a larger running maximum: live both ways */
	o->u.vm.memory = 128ull << 20;
	o->u.vm.max_memory = 512ull << 20;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.a", VF_ACTION_UPDATE);
	ok(a && a->live && !a->requires_restart, "memory within max_memory: the update is live");
	is_str(field_class_name(a, "memory"), "live", "the plan: memory live");
	is_str(change_class_name(a, "memory"), "live", "the apply: memory through the balloon");

	/* a new maximum waits for a restart: the running one is not known */
	o->u.vm.marker.pending = "max_memory";
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.a", VF_ACTION_UPDATE);
	is_str(change_class_name(a, "memory"), "restart",
	       "growth under a pending max_memory waits for the restart");
	o->u.vm.memory = 384ull << 20;
	fixture_plan(&f, NULL, 0, false);
	a = find_action(&f.plan, "vm.a", VF_ACTION_UPDATE);
	is_str(change_class_name(a, "memory"), "live", "a decrease fits any maximum: live");
	o->u.vm.marker.pending = NULL;
	fixture_release(&f);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	/* the fixtures' image files are /etc/hostname: the operator allows /etc */
	setenv("VIRTFORM_IMAGE_PATH", "/etc", 1);
	test_create_from_nothing();
	test_noop_and_drift();
	test_live_and_restart();
	test_network_replace_in_use();
	test_interrupted_upload();
	test_clash_and_ownership();
	test_removed_and_protected();
	test_targets();
	test_replace_and_shrink();
	test_unreachable();
	test_volume_name_clash();
	test_host_gone();
	test_iscsi_direct();
	test_changed_outside_and_start_order();
	test_memory_sum_saturates();
	test_mass_destroy();
	test_mass_destroy_percent();
	test_memory_beyond_max();
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove the temporary directory");
		free(cmd);
	}
	return tap_done();
}
