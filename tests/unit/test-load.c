/*
 * The loader: typing, defaults, references, merging of a directory's files,
 * anchors and merge keys, and that every error carries its position.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "reconcile/model.h"
#include "reconcile/schedule-input.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/vf-test-load.XXXXXX";

static char *write_file(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as one file; returns the config (or NULL) and fills diags. */
static struct vf_config *load_text(const char *text, struct vf_diags *d)
{
	char *path = write_file("one.yaml", text);
	struct vf_config *c;
	memset(d, 0, sizeof(*d));
	c = vf_config_load(path, d);
	vf_diags_sort(d);
	unlink(path);
	free(path);
	return c;
}

/* Does some diagnostic sit at line:col and contain needle? */
static int has_diag(const struct vf_diags *d, unsigned line, unsigned col, const char *needle)
{
	size_t i;
	for (i = 0; i < d->n; i++)
		if (d->items[i].pos.line == line && d->items[i].pos.col == col &&
		    strstr(d->items[i].message, needle))
			return 1;
	for (i = 0; i < d->n; i++)
		printf("#   have %u:%u: %s\n", d->items[i].pos.line, d->items[i].pos.col,
		       d->items[i].message);
	return 0;
}

static const char base[] =
	"version: 1\n"
	"clusters:\n"
	"  - name: prod\n"
	"hosts:\n"
	"  - {name: h1, uri: 'qemu:///system'}\n"
	"networks:\n"
	"  - {name: lan, mode: isolated}\n"
	"storage_domains:\n"
	"  - {name: data, type: dir, path: /var/lib/vf}\n";

static void test_defaults(void)
{
	struct vf_diags d;
	char *text = xasprintf("%s%s", base,
			       "vms:\n"
			       "  - name: web1\n"
			       "    cpus: 2\n"
			       "    memory: 1GiB\n"
			       "    disks: [{name: root, size: 10GiB, storage: data}]\n"
			       "    nics: [{network: lan}]\n");
	struct vf_config *c = load_text(text, &d);
	struct vf_vm *vm;

	ok(c != NULL, "a minimal config loads");
	if (!c)
		goto out;
	vm = vf_config_find_vm(c, "web1");
	ok(vm != NULL, "vm found by name");
	is_int(vm->memory, 1ull << 30, "memory in bytes");
	is_int(vm->cpus, 2, "cpus");
	is_str(vm->cluster, "prod", "the only cluster is the default");
	ok(vm->cluster_ref == &c->clusters[0], "cluster reference resolved");
	ok(vm->host == NULL && vm->host_ref == NULL, "no pin");
	is_int(vm->state, VF_VM_STATE_RUNNING, "state defaults to running");
	is_int(vm->graphics, VF_GRAPHICS_VNC, "graphics defaults to vnc");
	is_str(vm->graphics_listen, "127.0.0.1", "graphics listens on localhost by default");
	is_int(vm->shutdown_timeout, 60, "shutdown_timeout defaults to 60 s");
	ok(!vm->protect && !vm->autostart && !vm->ha_enabled, "flags default to false");
	ok(vm->disks[0].storage_ref == &c->storages[0], "disk storage resolved");
	ok(vm->nics[0].network_ref == &c->networks[0], "nic network resolved");
	is_str(c->networks[0].bridge, "br-lan", "bridge derived from the network name");
	is_str(c->hosts[0].cluster, "prod", "host defaults to the only cluster");
	vf_config_free(c);
out:
	vf_diags_release(&d);
	free(text);
}

static void test_errors_have_positions(void)
{
	struct vf_diags d;
	char *text = xasprintf("%s%s", base,
			       "vms:\n"                                     /* 10 */
			       "  - name: web1\n"                           /* 11 */
			       "    cluster: prd\n"                         /* 12 */
			       "    cpus: 0\n"                              /* 13 */
			       "    memory: 2G\n"                           /* 14 */
			       "    disks: [{name: root, size: 1GiB, storage: dta}]\n" /* 15 */
			       "    nics: [{network: lna}]\n"               /* 16 */
			       "    colour: blue\n");                       /* 17 */
	struct vf_config *c = load_text(text, &d);

	ok(c == NULL, "a bad config does not load");
	ok(has_diag(&d, 12, 14, "cluster 'prd' is not defined"), "dangling cluster at its value");
	ok(has_diag(&d, 13, 11, "cpus must be between 1 and 4096, got 0"), "zero cpus");
	ok(has_diag(&d, 14, 13, "'2G' needs a binary unit"), "2G needs a binary unit");
	ok(has_diag(&d, 15, 47, "storage domain 'dta' is not defined"), "dangling storage");
	ok(has_diag(&d, 16, 22, "network 'lna' is not defined"), "dangling network");
	ok(has_diag(&d, 17, 5, "unknown key 'colour'"), "unknown key at the key");
	is_int(d.n_errors, 6, "exactly the six errors");
	vf_diags_release(&d);
	free(text);
}

static void test_anchors_and_merge_keys(void)
{
	struct vf_diags d;
	char *text = xasprintf("%s%s", base,
			       "vms:\n"
			       "  - &small\n"
			       "    name: a\n"
			       "    cpus: 1\n"
			       "    memory: 512MiB\n"
			       "    nics: &nics [{network: lan}]\n"
			       "  - <<: *small\n"
			       "    name: b\n"
			       "    cpus: 4\n"
			       "  - {<<: [*small], name: c, nics: *nics}\n");
	struct vf_config *c = load_text(text, &d);

	ok(c != NULL, "anchors, aliases and merge keys load");
	if (c) {
		struct vf_vm *b = vf_config_find_vm(c, "b"), *cc = vf_config_find_vm(c, "c");
		ok(b && b->cpus == 4, "an explicit key overrides the merged one");
		ok(b && b->memory == 512ull << 20, "merged keys are inherited");
		ok(cc && cc->n_nics == 1 && cc->cpus == 1, "merge from a list of mappings");
		vf_config_free(c);
	}
	vf_diags_release(&d);
	free(text);
}

/* A document built piece by piece for the size tests below. */
struct text {
	char *s;
	size_t len, alloc;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	char *piece;
	size_t n;

	va_start(ap, fmt);
	piece = xvasprintf(fmt, ap);
	va_end(ap);
	n = strlen(piece);
	VF_GROW(t->s, t->len + n + 1, t->alloc);
	memcpy(t->s + t->len, piece, n + 1);
	t->len += n;
	free(piece);
}

/* load_text, and how long it took in *secs. */
static struct vf_config *load_text_timed(const char *text, struct vf_diags *d, double *secs)
{
	struct timespec t0, t1;
	struct vf_config *c;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = load_text(text, d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return c;
}

/*
 * Merge keys are linear: a host's labels merge two anchored mappings of
 * N_MERGE keys each and add N_MERGE of their own.  Merging once scanned the
 * pairs placed so far for every merged key (O(n^2): about 13 s here); the
 * bound below is generous and only catches that blow-up.
 */
#define N_MERGE 40000
static void test_merge_keys_linear(void)
{
	struct vf_diags d;
	struct text text = { 0 };
	struct vf_config *c;
	struct vf_host *h2;
	size_t i;
	double secs;

	/* base, with three more hosts at the end of its hosts: list */
	add(&text, "%.*s", (int)(strstr(base, "networks:") - base), base);
	add(&text, "  - {name: h2, uri: 'qemu:///system', labels: &a {");
	for (i = 0; i < N_MERGE; i++)
		add(&text, "%sa%zu: x", i ? ", " : "", i);
	add(&text, "}}\n  - {name: h3, uri: 'qemu:///system', labels: &b {");
	for (i = 0; i < N_MERGE; i++)
		add(&text, "b%zu: x, ", i);
	add(&text, "a7: from-b}}\n  - name: h4\n    uri: 'qemu:///system'\n    labels:\n      <<: [*a, *b]\n");
	for (i = 0; i < N_MERGE; i++)
		add(&text, "      c%zu: x\n", i);
	add(&text, "      a5: own\n%s", strstr(base, "networks:"));
	c = load_text_timed(text.s, &d, &secs);
	ok(c != NULL, "%d keys merged from two anchors load", 2 * N_MERGE);
	h2 = c ? vf_config_find_host(c, "h4") : NULL;
	is_int(h2 ? h2->n_labels : 0, 3 * N_MERGE, "every key once (a5 and a7 are written twice)");
	if (h2) {
		const char *a5 = NULL, *a7 = NULL;
		for (i = 0; i < h2->n_labels; i++) {
			if (!strcmp(h2->labels[i].key, "a5"))
				a5 = h2->labels[i].value;
			if (!strcmp(h2->labels[i].key, "a7"))
				a7 = h2->labels[i].value;
		}
		ok(a5 && !strcmp(a5, "own"), "an own key overrides a merged one");
		ok(a7 && !strcmp(a7, "x"), "the first merged mapping wins over a later one");
	}
	ok(secs < 5.0, "loading takes %.2f s (bound 5 s: linear, not quadratic)", secs);
	vf_config_free(c);
	vf_diags_release(&d);
	free(text.s);
}

/*
 * Anchors are found by a hash, not a scan: N_ANCHORS anchors, each aliased
 * once (a scan per alias was O(n^2): about 13 s for 50,000).  A redefined
 * anchor shadows the old one from there on.
 */
#define N_ANCHORS 80000
static void test_anchors_linear(void)
{
	struct vf_diags d;
	struct text text = { 0 };
	struct vf_config *c;
	struct vf_host *h;
	size_t i;
	double secs;

	add(&text, "%.*s", (int)(strstr(base, "networks:") - base), base);
	add(&text, "  - name: h2\n    uri: 'qemu:///system'\n    labels:\n");
	for (i = 0; i < N_ANCHORS; i++)
		add(&text, "      k%zu: &a%zu v%zu\n", i, i, i);
	add(&text, "      again: &a7 redefined\n");
	add(&text, "  - name: h3\n    uri: 'qemu:///system'\n    labels:\n");
	for (i = 0; i < N_ANCHORS; i++)
		add(&text, "      j%zu: *a%zu\n", i, i);
	add(&text, "%s", strstr(base, "networks:"));
	c = load_text_timed(text.s, &d, &secs);
	ok(c != NULL, "%d anchors, each aliased once, load", N_ANCHORS);
	h = c ? vf_config_find_host(c, "h3") : NULL;
	is_int(h ? h->n_labels : 0, N_ANCHORS, "every alias resolved");
	ok(h && h->n_labels > 9 && !strcmp(h->labels[9].value, "v9") &&
	   !strcmp(h->labels[7].value, "redefined"),
	   "an alias is its anchor's value; a redefined anchor shadows the first");
	ok(secs < 5.0, "loading takes %.2f s (bound 5 s: linear, not quadratic)", secs);
	vf_config_free(c);
	vf_diags_release(&d);
	free(text.s);
}

static void test_directory_merge(void)
{
	struct vf_diags d = { 0 };
	struct vf_config *c;
	char *p1, *p2, *p3, *msg;

	p1 = write_file("10-hosts.yaml", "version: 1\nclusters: [{name: prod}]\n"
			"hosts:\n  - {name: h1, uri: 'qemu:///system'}\n");
	p2 = write_file("20-vms.yml", "vms:\n  - {name: v1, cpus: 1, memory: 1GiB, host: h1}\n");
	p3 = write_file("notes.txt", "not yaml: [\n");
	c = vf_config_load(tmpdir, &d);
	ok(c != NULL, "a directory of files merges");
	if (c) {
		is_int(c->n_files, 2, "only *.yaml and *.yml files are read");
		ok(c->vms[0].host_ref == &c->hosts[0], "a reference across files resolves");
		vf_config_free(c);
	}
	vf_diags_release(&d);

	unlink(p3);
	free(p3);
	p3 = write_file("30-more.yaml", "hosts:\n  - {name: h1, uri: 'qemu:///system'}\n");
	c = vf_config_load(tmpdir, &d);
	vf_diags_sort(&d);
	ok(c == NULL, "a name defined in two files is an error");
	msg = xasprintf("first at %s:4:5", p1);
	ok(d.n == 1 && strstr(d.items[0].message, msg) && strstr(d.items[0].pos.file, "30-more.yaml") &&
	   d.items[0].pos.line == 2, "the error names both places");
	free(msg);
	vf_diags_release(&d);
	unlink(p1);
	unlink(p2);
	unlink(p3);
	free(p1);
	free(p2);
	free(p3);
}

static void test_project(void)
{
	struct vf_diags d = { 0 };
	struct vf_config *c;
	char *p1, *p2;

	c = load_text("version: 1\nclusters: [{name: zeta}, {name: alpha}]\n", &d);
	is_str(c ? c->project : NULL, "alpha+zeta", "the default project is the sorted cluster names");
	vf_config_free(c);
	vf_diags_release(&d);
	c = load_text("version: 1\n", &d);
	is_str(c ? c->project : NULL, "default", "without clusters the project is 'default'");
	vf_config_free(c);
	vf_diags_release(&d);
	c = load_text("version: 1\nproject: shop\nclusters: [{name: a}]\n", &d);
	is_str(c ? c->project : NULL, "shop", "project: sets the identity");
	vf_config_free(c);
	vf_diags_release(&d);
	c = load_text("version: 1\nproject: 'two words'\n", &d);
	ok(!c && d.n == 1 && d.items[0].pos.line == 2 && d.items[0].pos.col == 10 &&
	   strstr(d.items[0].message, "invalid project 'two words'"), "a bad project name is an error at its value");
	vf_config_free(c);
	vf_diags_release(&d);

	p1 = write_file("a.yaml", "version: 1\nproject: one\n");
	p2 = write_file("b.yaml", "project: two\n");
	c = vf_config_load(tmpdir, &d);
	ok(!c && d.n == 1 && strstr(d.items[0].message, "project 'two' differs from project 'one' at") &&
	   d.items[0].pos.line == 1, "two files giving different projects is an error naming both");
	vf_config_free(c);
	vf_diags_release(&d);
	unlink(p1);
	unlink(p2);
	free(p1);
	free(p2);
}

static void test_cross_checks(void)
{
	struct vf_diags d;
	struct vf_config *c = load_text(
		"version: 1\n"
		"clusters: [{name: a}, {name: b}]\n"
		"hosts: [{name: h1, cluster: a, uri: 'qemu:///system'}]\n"
		"networks: [{name: n, mode: isolated, clusters: [a]}]\n"
		"vms:\n"
		"  - {name: v1, cluster: b, host: h1, cpus: 1, memory: 1GiB, nics: [{network: n, mac: '52:54:00:00:00:01'}]}\n"
		"  - {name: v2, cpus: 1, memory: 1GiB, nics: [{network: n, mac: '52:54:00:00:00:01'}]}\n", &d);

	ok(c == NULL, "cross-object rules are checked");
	ok(has_diag(&d, 6, 34, "host 'h1' is in cluster 'a'"), "pin outside the vm's cluster");
	ok(has_diag(&d, 6, 78, "network 'n' is not available in cluster 'b'"), "network out of scope");
	ok(has_diag(&d, 7, 5, "has no cluster (there is more than one"), "no default among two clusters");
	ok(has_diag(&d, 7, 46, "mac 52:54:00:00:00:01 is also used"), "duplicate MAC");
	vf_diags_release(&d);
}

/* iscsi-direct: iscsi's keys and CHAP, plus the initiator it needs. */
static void test_iscsi_direct(void)
{
	struct vf_diags d;
	struct vf_config *c = load_text(
		"version: 1\n"
		"storage_domains:\n"
		"  - name: lun\n"
		"    type: iscsi-direct\n"
		"    portal: san.example.org:3260\n"
		"    target: iqn.2004-04.com.example:storage\n"
		"    initiator: iqn.2026-11.org.example:host1\n"
		"    chap:\n"
		"      username: host1\n"
		"      secret: {sealed: \"pS/iUWNRJD9FX0JBPZxsbps3eSCg/JuZ1uaouOWRkw1k89Mhk6QPy2owpLbqbN8rZI1Erw9oRTzS6gaomiOqyQ==\"}\n"
		"  - {name: san, type: iscsi, portal: san.example.org, target: iqn.2004-04.com.example:s,\n"
		"     initiator: iqn.2026-11.org.example:host2}\n"
		"  - {name: old, type: iscsi, portal: san.example.org, target: iqn.2004-04.com.example:s}\n",
		&d);
	const struct vf_storage *st;

	ok(c != NULL, "an iscsi-direct storage domain loads");
	if (!c) {
		vf_diags_release(&d);
		return;
	}
	is_int(c->n_storages, 3, "three storage domains");
	st = &c->storages[0];
	is_int(st->type, VF_STORAGE_ISCSI_DIRECT, "type: iscsi-direct");
	is_str(st->portal, "san.example.org:3260", "portal");
	is_str(st->target, "iqn.2004-04.com.example:storage", "target");
	is_str(st->initiator, "iqn.2026-11.org.example:host1", "initiator");
	is_str(st->chap_username, "host1", "chap username");
	ok(st->chap_secret.sealed && st->chap_secret.pos.line == 10, "chap secret, sealed, at 10");
	ok(st->path == NULL && st->vg == NULL && st->server == NULL, "no path, vg or server");
	is_str(vf_storage_type_name(st->type), "iscsi-direct", "named iscsi-direct");
	is_int(c->storages[1].type, VF_STORAGE_ISCSI, "an iscsi domain");
	is_str(c->storages[1].initiator, "iqn.2026-11.org.example:host2", "may name its initiator");
	ok(c->storages[2].initiator == NULL && c->storages[2].chap_username == NULL,
	   "an iscsi domain without initiator or chap: NULL");
	is_int(d.n, 0, "no diagnostics");
	vf_config_free(c);
	vf_diags_release(&d);
}

static void test_bad_documents(void)
{
	static const struct {
		const char *text;
		unsigned line, col;
		const char *needle;
	} cases[] = {
		{ "", 1, 1, "the file is empty" },
		{ "# only a comment\n", 1, 1, "the file is empty" },
		{ "- a\n", 1, 1, "top level must be a mapping" },
		{ "version: 1\nversion: 1\n", 2, 1, "duplicate key 'version'" },
		/* over 16 keys: the sorted path of the duplicate check */
		{ "version: 1\nhosts:\n  - labels: {k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, "
		  "k8: 1, k9: 1, k10: 1, k11: 1, k12: 1, k13: 1, k14: 1, k15: 1, k16: 1, k17: 1, k3: 2}\n",
		  3, 141, "duplicate key 'k3' (first defined at line 3, column 28)" },
		{ "version: 2\n", 1, 10, "unsupported configuration version 2" },
		{ "clusters: []\n", 1, 1, "no 'version' key" },
		{ "version: 1\nvms: {}\n", 2, 6, "vms must be a list" },
		{ "version: 1\nvm: []\n", 2, 1, "unknown top-level key 'vm'" },
		{ "version: 1\nclusters:\n\t- name: a\n", 3, 1, "invalid YAML" },
		{ "version: 1\nclusters: [{name: a}]\n---\nversion: 1\n", 3, 1, "more than one YAML document" },
		{ "version: 1\nclusters: [*nope]\n", 2, 12, "unknown anchor" },
		{ "version: \"1\"\n", 1, 10, "must be an integer, not the string" },
		{ "version: 1\nclusters: [{name: a, scheduling: evenly}]\n", 2, 34, "scheduling must be" },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(cases); i++) {
		struct vf_diags d;
		struct vf_config *c = load_text(cases[i].text, &d);
		ok(c == NULL && has_diag(&d, cases[i].line, cases[i].col, cases[i].needle),
		   "bad document %zu: %u:%u %s", i, cases[i].line, cases[i].col, cases[i].needle);
		vf_config_free(c);
		vf_diags_release(&d);
	}
}

/* The scheduling keys: their defaults, then every one given. */
static void test_scheduling_defaults(void)
{
	struct vf_diags d;
	struct vf_config *c = load_text(base, &d);

	ok(c != NULL, "a config without scheduling keys loads");
	if (!c)
		goto out;
	is_int(c->clusters[0].memory_overcommit, 100, "memory_overcommit defaults to 100%%");
	is_int(c->clusters[0].cpu_overcommit, 0, "cpu_overcommit: no limit by default");
	is_int(c->clusters[0].rebalance_threshold, 0, "rebalance off by default");
	ok(!c->clusters[0].migration.given, "no migration mapping");
	is_int(c->clusters[0].migration.parallel, 2, "migration.parallel defaults to 2");
	ok(!c->hosts[0].maintenance, "maintenance defaults to false");
	is_int(c->hosts[0].memory_reserve, 1ull << 30, "memory_reserve defaults to 1 GiB");
	is_int(c->n_affinity_groups, 0, "no affinity groups");
	vf_config_free(c);
out:
	vf_diags_release(&d);
}

static void test_scheduling_keys(void)
{
	struct vf_diags d;
	struct vf_config *c = load_text(
		"version: 1\n"
		"clusters:\n"
		"  - name: a\n"
		"    scheduling: vm_evenly_distributed\n"
		"    memory_overcommit: 150%\n"
		"    cpu_overcommit: 2.5\n"
		"    rebalance: {threshold: 20%}\n"
		"    migration: {bandwidth: 100MiB, max_downtime: 250, parallel: 4, auto_converge: true,\n"
		"                post_copy: true, copy_storage: true, timeout: 90, network: mig}\n"
		"  - {name: b, memory_overcommit: 1.5, cpu_overcommit: 400%}\n"
		"networks: [{name: mig, mode: isolated}]\n"
		"hosts:\n"
		"  - {name: h1, cluster: a, uri: 'qemu:///system', maintenance: true, memory_reserve: 4GiB}\n"
		"  - {name: h2, cluster: a, uri: 'qemu:///system'}\n"
		"vms:\n"
		"  - {name: v1, cluster: a, cpus: 1, memory: 1GiB}\n"
		"  - {name: v2, cluster: a, cpus: 1, memory: 1GiB}\n"
		"affinity_groups:\n"
		"  - {name: apart, vms: [v1, v2], vm_rule: negative, enforcing: false}\n"
		"  - {name: on-h2, vms: [v2], hosts: [h2], host_rule: positive}\n", &d);
	const struct vf_cluster *a;
	const struct vf_affinity_group *g;

	ok(c != NULL, "every scheduling key loads");
	if (!c)
		goto out;
	a = &c->clusters[0];
	is_int(a->scheduling, VF_SCHEDULING_VM_EVENLY_DISTRIBUTED, "scheduling vm_evenly_distributed");
	is_str(vf_scheduling_name(a->scheduling), "vm_evenly_distributed", "its name");
	is_int(a->memory_overcommit, 150, "memory_overcommit 150%%");
	is_int(a->cpu_overcommit, 250, "cpu_overcommit 2.5 is 250%%");
	is_int(a->rebalance_threshold, 20, "rebalance threshold 20%%");
	ok(a->migration.given, "migration given");
	is_int(a->migration.bandwidth, 100, "bandwidth in MiB/s");
	is_int(a->migration.max_downtime_ms, 250, "max_downtime in ms");
	is_int(a->migration.parallel, 4, "parallel");
	ok(a->migration.auto_converge && a->migration.post_copy && a->migration.copy_storage,
	   "migration flags");
	is_int(a->migration.timeout, 90, "timeout in seconds");
	ok(a->migration.network_ref == &c->networks[0], "migration network resolved");
	is_int(c->clusters[1].memory_overcommit, 150, "memory_overcommit 1.5 is 150%%");
	is_int(c->clusters[1].cpu_overcommit, 400, "cpu_overcommit 400%%");
	ok(c->hosts[0].maintenance, "maintenance: true");
	is_int(c->hosts[0].memory_reserve, 4ull << 30, "memory_reserve 4GiB");
	is_int(c->n_affinity_groups, 2, "two affinity groups");
	g = &c->affinity_groups[0];
	ok(g->n_vms == 2 && g->vm_refs[0] == &c->vms[0] && g->vm_refs[1] == &c->vms[1],
	   "a group's vms resolved");
	is_int(g->vm_rule, VF_AFFINITY_NEGATIVE, "vm_rule negative");
	ok(!g->enforcing, "enforcing: false");
	is_int(g->host_rule, VF_AFFINITY_NONE, "no host rule");
	g = &c->affinity_groups[1];
	ok(g->enforcing, "enforcing defaults to true");
	is_int(g->vm_rule, VF_AFFINITY_NONE, "no vm rule");
	ok(g->n_hosts == 1 && g->host_refs[0] == &c->hosts[1], "a group's hosts resolved");
	is_int(g->host_rule, VF_AFFINITY_POSITIVE, "host_rule positive");
	vf_config_free(c);
out:
	vf_diags_release(&d);
}

static void test_scheduling_errors(void)
{
	struct vf_diags d;
	struct vf_config *c = load_text(
		"version: 1\n"                                                            /* 1 */
		"clusters: [{name: a, memory_overcommit: 150, cpu_overcommit: 1.234}]\n"  /* 2 */
		"hosts: [{name: h1, uri: 'qemu:///system', memory_reserve: 1.5GiB}]\n"   /* 3 */
		"vms: [{name: v1, cpus: 1, memory: 1GiB}]\n"                             /* 4 */
		"affinity_groups:\n"                                                      /* 5 */
		"  - {name: g, vms: [v1, v9], vm_rule: negative, hosts: [h9]}\n"         /* 6 */
		"  - {name: g, vms: [v1], host_rule: negative}\n"                        /* 7 */
		"  - {name: k, vms: [v1], vm_rul: negative}\n", &d);                     /* 8 */

	static const struct {
		unsigned line, col;
		const char *message;
	} want[] = {
		{ 2, 41, "memory_overcommit must be between 10% and 1000%, got 150" }, /* a ratio */
		{ 2, 62, "cpu_overcommit '1.234' is not a percentage" },
		{ 3, 59, "memory_reserve '1.5GiB' must be a whole number" },
		{ 6, 25, "vm 'v9' is not defined" },
		{ 6, 57, "host 'h9' is not defined" },
		{ 6, 49, "hosts without host_rule" },
		{ 7, 5, "affinity group 'g' is defined twice" },
		{ 7, 26, "host_rule without hosts" },
		{ 8, 26, "unknown key 'vm_rul'" },
		{ 8, 5, "the group has no rule" },
	};
	size_t i;

	ok(c == NULL, "bad scheduling keys do not load");
	for (i = 0; i < VF_ARRAY_SIZE(want); i++)
		ok(has_diag(&d, want[i].line, want[i].col, want[i].message), "%u:%u: %s",
		   want[i].line, want[i].col, want[i].message);
	is_int(d.n_errors, VF_ARRAY_SIZE(want), "exactly those errors");
	vf_diags_release(&d);
}

/* schedule-input.c: the scheduler's input from a config, and validate's
 * scheduler checks at the affinity group's position. */
static void test_sched_input(void)
{
	struct vf_diags d, checks = { 0 };
	struct vf_config *c = load_text(
		"version: 1\n"
		"clusters: [{name: a, scheduling: power_saving, memory_overcommit: 120%}]\n"
		"networks: [{name: n, mode: isolated}]\n"
		"hosts: [{name: h1, uri: 'qemu:///system', maintenance: true},\n"
		"        {name: h2, uri: 'qemu:///system'}]\n"
		"vms:\n"
		"  - {name: v1, cpus: 2, memory: 1GiB, host: h2, nics: [{network: n}]}\n"
		"  - {name: v2, cpus: 1, memory: 2GiB}\n"
		"affinity_groups:\n"
		"  - {name: together, vms: [v1, v2], vm_rule: positive}\n"
		"  - {name: apart, vms: [v1, v2], vm_rule: negative}\n", &d);
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_sched_input in;

	ok(c != NULL, "contradicting groups load (the loader does not judge them)");
	if (!c)
		goto out;
	vf_sched_input_from_config(c, &arena, &in);
	ok(in.n_clusters == 1 && in.clusters[0].policy == VF_SCHED_POWER_SAVING &&
	   in.clusters[0].memory_overcommit == 120, "the cluster's policy and overcommit");
	ok(in.n_hosts == 2 && in.hosts[0].maintenance && !in.hosts[1].maintenance &&
	   in.hosts[0].memory_reserve == 1ull << 30 && in.hosts[0].memory_total == 0,
	   "hosts: maintenance, reserve, facts unknown");
	ok(in.hosts[0].n_networks == 1 && !strcmp(in.hosts[0].networks[0], "n"),
	   "a host has the networks of its cluster");
	ok(in.n_vms == 2 && in.vms[0].memory == 1ull << 30 && in.vms[0].vcpus == 2 &&
	   !strcmp(in.vms[0].pin, "h2") && in.vms[0].host == NULL && in.vms[0].n_networks == 1,
	   "vms: size, pin, networks; running nowhere");
	ok(in.n_groups == 2 && in.groups[0].vm_rule == VF_AFFINITY_POSITIVE && in.groups[0].enforcing &&
	   in.groups[0].n_vms == 2, "groups");
	is_int(vf_sched_check_config(c, &checks), 1, "one problem");
	ok(checks.n == 1 && checks.items[0].pos.line == 11 && checks.items[0].pos.col == 5 &&
	   strstr(checks.items[0].message, "must run together") != NULL,
	   "reported at the negative group's position");
	vf_arena_release(&arena);
	vf_diags_release(&checks);
	vf_config_free(c);
out:
	vf_diags_release(&d);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_defaults();
	test_errors_have_positions();
	test_anchors_and_merge_keys();
	test_merge_keys_linear();
	test_anchors_linear();
	test_directory_merge();
	test_cross_checks();
	test_project();
	test_iscsi_direct();
	test_bad_documents();
	test_scheduling_defaults();
	test_scheduling_keys();
	test_scheduling_errors();
	test_sched_input();
	rmdir(tmpdir);
	return tap_done();
}
