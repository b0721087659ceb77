/*
 * The cluster CPU model's provider side (providers/libvirt/cpu.c) on CPU
 * documents recorded from real machines (tests/data/cpu/, README there):
 * host-model CPUs read from domain capabilities, a named model, the
 * baseline and the checks libvirt's test driver can compute (its CPU map,
 * no hypervisor), libvirt's incompatible-CPU message, and whether a
 * model change lowers the cluster.
 *
 * With VF_CPU_LAB_URIS (space-separated URIs of the lab's libvirtds, set
 * by tests/t3810-cpu-lab.sh) it also asks real QEMU drivers.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/libvirt/cpu.h"
#include "reconcile/readall.h"
#include "tests/tap.h"

#define DOC_MAX (64 * 1024)

/* Stop the test: what it needs is not there. */
__attribute__((format(printf, 1, 2), noreturn))
static void bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

/* tests/data/cpu/NAME, found from this file's path, read whole. */
static char *data(const char *name)
{
	const char *file = __FILE__, *unit = strstr(file, "unit/test-cpu.c");
	char *path = unit ? xasprintf("%.*sdata/cpu/%s", (int)(unit - file), file, name) :
		     xasprintf("tests/data/cpu/%s", name);
	char *buf = xmalloc(DOC_MAX + 1);
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || vf_read_whole(fd, buf, DOC_MAX, &len) != 0)
		bail("cannot read %s", path);
	close(fd);
	free(path);
	return buf;
}

/* Parse a recorded document into c with parse. */
static void load(const char *name, struct vf_cpu *c,
		 int (*parse)(const char *xml, struct vf_cpu *c, char **error))
{
	char *xml = data(name), *error = NULL;

	if (parse(xml, c, &error) < 0)
		bail("%s: %s", name, error);
	free(xml);
}

static bool has(const struct vf_cpu_features *f, const char *name)
{
	return vf_str_in(f->v, f->n, name);
}

static void test_domcaps(void)
{
	struct vf_cpu c, again;
	char *error = NULL;

	load("lab-kvm64-domcaps.xml", &c, vf_cpu_from_domcaps);
	is_str(c.model, "EPYC-Milan", "lab: host-model EPYC-Milan");
	is_str(c.vendor, "AMD", "lab: vendor");
	is_str(c.arch, "x86_64", "lab: arch from the document");
	ok(has(&c.required, "x2apic") && has(&c.disabled, "svm") && has(&c.disabled, "pni"),
	   "lab: required and disabled features apart");
	is_int(vf_cpu_parse(c.xml, &again, &error), 0, "lab: its guest CPU parses");
	ok(again.required.n == c.required.n && again.disabled.n == c.disabled.n &&
	   !strcmp(again.model, c.model), "lab: the same CPU written and read back");
	ok(strstr(c.xml, "<cpu mode=\"custom\" match=\"exact\">") &&
	   strstr(c.xml, "<model fallback=\"forbid\">EPYC-Milan</model>") &&
	   strstr(c.xml, "<feature policy=\"disable\" name=\"svm\"/>"), "lab: a guest CPU");
	vf_cpu_release(&again);
	vf_cpu_release(&c);

	load("epyc-rome-domcaps.xml", &c, vf_cpu_from_domcaps);
	is_str(c.model, "EPYC-Rome", "EPYC-Rome host-model");
	is_int(c.required.n, 24, "its 24 required features");
	is_int(c.disabled.n, 0, "none disabled");
	vf_cpu_release(&c);

	is_int(vf_cpu_from_domcaps("<domainCapabilities><cpu><mode name='host-model' "
				   "supported='no'/></cpu></domainCapabilities>", &c, &error),
	       -1, "an unsupported host-model is an error");
	ok(error && strstr(error, "host-model"), "saying so: %s", error);
	free(error);
	error = NULL;
	is_int(vf_cpu_from_domcaps("<capabilities/>", &c, &error), -1, "not domain capabilities");
	free(error);
}

static void test_named(void)
{
	struct vf_cpu c;
	char *error = NULL;

	is_int(vf_cpu_named("Haswell-noTSX", &c, &error), 0, "a named model");
	is_str(c.xml, "<cpu mode=\"custom\" match=\"exact\">\n"
		      "  <model fallback=\"forbid\">Haswell-noTSX</model>\n</cpu>\n",
	       "as a guest CPU, vendor open");
	vf_cpu_release(&c);
	is_int(vf_cpu_named("bad\001name", &c, &error), -1, "a control character is refused");
	free(error);
}

static void test_message(void)
{
	struct vf_cpu_verdict v = { 0 };

	/* what the lab's QEMU driver said for qemu64 */
	vf_cpu_read_incompatible("the CPU is incompatible with host CPU: Host CPU does not "
				 "provide required features: svm, pni", &v);
	ok(!v.compatible, "message: incompatible");
	is_int(v.missing.n, 2, "message: two features");
	is_str(v.reason, "missing features: pni, svm", "message: sorted reason");
	vf_cpu_verdict_release(&v);

	vf_cpu_read_incompatible("the CPU is incompatible with host CPU: host CPU vendor does "
				 "not match required CPU vendor Intel", &v);
	is_int(v.missing.n, 0, "vendor: no feature");
	is_str(v.reason, "host CPU vendor does not match required CPU vendor Intel",
	       "vendor: libvirt's reason");
	vf_cpu_verdict_release(&v);
}

/* What libvirt's test driver computes from its CPU map. */
static void test_driver(virConnectPtr conn)
{
	struct vf_cpu hosts[3], model, named, host;
	struct vf_cpu_verdict v;
	char *error = NULL;

	load("haswell-core-i7-4600U-host.xml", &hosts[0], vf_cpu_parse);
	load("skylake-core-i5-6600-host.xml", &hosts[1], vf_cpu_parse);
	load("epyc-7601-host.xml", &hosts[2], vf_cpu_parse);

	is_int(vf_cpu_host_model(conn, &host, &error), 0,
	       "test driver: its host CPU, from capabilities");
	ok(host.arch != NULL, "test driver: arch %s", host.arch);
	vf_cpu_release(&host);

	is_int(vf_cpu_cluster_model(conn, "auto", hosts, 2, &model, &error), 0,
	       "auto: the baseline of Haswell and Skylake");
	is_str(model.model, "Haswell-noTSX", "auto: Haswell-noTSX");
	is_str(model.vendor, "Intel", "auto: Intel");
	ok(has(&model.required, "vmx") && !has(&model.required, "clflushopt"),
	   "auto: features both have, not Skylake's own");

	is_int(vf_cpu_check(conn, &model, &hosts[1], &v, &error), 0, "check on Skylake");
	ok(v.compatible && !v.reason, "the baseline runs on Skylake");
	vf_cpu_verdict_release(&v);

	is_int(vf_cpu_baseline(conn, hosts, 3, &named, &error), -1,
	       "Intel and AMD have no baseline");
	ok(error && strstr(error, "vendors"), "libvirt says why: %s", error);
	free(error);
	error = NULL;

	is_int(vf_cpu_cluster_model(conn, "Skylake-Client", hosts, 2, &named, &error), 0,
	       "a named model");
	is_int(vf_cpu_check(conn, &named, &hosts[0], &v, &error), 0, "Skylake on Haswell");
	ok(!v.compatible && has(&v.missing, "3dnowprefetch") && has(&v.missing, "xsavec"),
	   "Haswell lacks Skylake's features: %s", v.reason);
	ok(v.reason && !strncmp(v.reason, "missing features: ", 18), "named in the reason");
	vf_cpu_verdict_release(&v);

	is_int(vf_cpu_check(conn, &hosts[0], &hosts[2], &v, &error), 0, "Haswell on EPYC");
	ok(!v.compatible, "incompatible: %s", v.reason);
	ok(v.reason && strstr(v.reason, "vendor"), "for the vendor");
	vf_cpu_verdict_release(&v);

	is_int(vf_cpu_lowers(conn, &named, &model, &v, &error), 1,
	       "Skylake-Client to the baseline lowers the model");
	ok(has(&v.missing, "xsavec"), "losing Skylake's features: %s", v.reason);
	vf_cpu_verdict_release(&v);
	is_int(vf_cpu_lowers(conn, &model, &named, &v, &error), 1,
	       "the baseline to Skylake-Client lowers it too (the hosts' extra features)");
	ok(has(&v.missing, "vmx") && !has(&v.missing, "avx2"), "losing vmx, not avx2: %s",
	   v.reason);
	vf_cpu_verdict_release(&v);
	vf_cpu_release(&model);
	is_int(vf_cpu_named("Haswell-noTSX", &model, &error), 0, "Haswell-noTSX");
	is_int(vf_cpu_lowers(conn, &model, &named, &v, &error), 0,
	       "Haswell-noTSX to Skylake-Client does not lower it");
	vf_cpu_verdict_release(&v);
	is_int(vf_cpu_lowers(conn, &model, &model, &v, &error), 0, "nor the same model");
	vf_cpu_verdict_release(&v);
	ok(error == NULL, "no error");

	vf_cpu_release(&named);
	vf_cpu_release(&model);
	for (int i = 0; i < 3; i++)
		vf_cpu_release(&hosts[i]);
}

/* One lab host's QEMU driver: its host-model, a baseline with a recorded
 * CPU of the other vendor, lowering computed by its CPU map. */
static void test_lab_host(const char *uri)
{
	struct vf_cpu cpus[2], named, model;
	struct vf_cpu_verdict v;
	char *error = NULL;
	virConnectPtr conn = vf_libvirt_open(uri, 0, &error);

	if (!conn)
		bail("%s", error);
	if (vf_cpu_host_model(conn, &cpus[0], &error) < 0)
		bail("%s", error);
	printf("# host-model %s\n", cpus[0].model);
	load(cpus[0].vendor && !strcmp(cpus[0].vendor, "Intel") ? "epyc-7601-host.xml" :
	     "haswell-core-i7-4600U-host.xml", &cpus[1], vf_cpu_parse);
	is_int(vf_cpu_baseline(conn, cpus, 2, &model, &error), -1,
	       "lab host: no baseline with the other vendor");
	ok(error && strstr(error, "vendors"), "lab host: libvirt says why: %s", error);
	free(error);
	error = NULL;
	is_int(vf_cpu_named("pentium3", &named, &error), 0, "pentium3");
	is_int(vf_cpu_lowers(conn, &cpus[0], &named, &v, &error), 1,
	       "lab host: its host-model to pentium3 lowers it");
	ok(v.missing.n > 0 && v.reason, "lab host: %s", v.reason);
	vf_cpu_verdict_release(&v);
	is_int(vf_cpu_lowers(conn, &named, &cpus[0], &v, &error), 0,
	       "lab host: pentium3 to its host-model does not");
	vf_cpu_verdict_release(&v);
	ok(error == NULL, "lab host: no error%s%s", error ? ": " : "", error ? error : "");
	free(error);
	vf_cpu_release(&named);
	vf_cpu_release(&cpus[0]);
	vf_cpu_release(&cpus[1]);
	virConnectClose(conn);
}

/*
 * The lab's QEMU drivers (uris: space-separated): auto, whose baseline
 * every host runs, and each named model's verdict on the first host as
 * a "# verdict MODEL: compatible|REASON" line, which t3810 holds against
 * `virsh hypervisor-cpu-compare` (what a host lacks is the host's).
 */
static void test_lab(char *uris)
{
	static const char *const models[] = { "pentium3", "qemu64", "Haswell-noTSX",
					      "EPYC-Milan" };
	const char *v[8];
	size_t n = 0;
	struct vf_cpu_cluster c;
	char *error = NULL;

	for (char *save = NULL, *u = strtok_r(uris, " ", &save); u && n < 8;
	     u = strtok_r(NULL, " ", &save))
		v[n++] = u;
	if (!n)
		bail("no URI in VF_CPU_LAB_URIS");
	is_int(vf_libvirt_cpu_cluster(v, n, "auto", &c, &error), 0, "lab: auto");
	ok(c.model.model != NULL, "lab: baseline model %s", c.model.model);
	ok(c.n_hosts == n, "lab: every host checked");
	for (size_t i = 0; i < c.n_hosts; i++)
		ok(c.hosts[i].compatible, "lab: host %zu runs the baseline", i);
	vf_cpu_cluster_release(&c);

	for (size_t m = 0; m < sizeof(models) / sizeof(*models); m++) {
		is_int(vf_libvirt_cpu_cluster(v, n, models[m], &c, &error), 0, "lab: %s",
		       models[m]);
		ok(c.n_hosts == n && (c.hosts[0].compatible == !c.hosts[0].reason),
		   "lab: %s checked on every host", models[m]);
		if (c.n_hosts)
			printf("# verdict %s: %s\n", models[m],
			       c.hosts[0].compatible ? "compatible" : c.hosts[0].reason);
		vf_cpu_cluster_release(&c);
	}
	ok(error == NULL, "lab: no error%s%s", error ? ": " : "", error ? error : "");
	free(error);
	test_lab_host(v[0]);
}

int main(void)
{
	virConnectPtr conn;
	char *error = NULL, *lab = getenv("VF_CPU_LAB_URIS");

	if (vf_libvirt_init(&error) < 0)
		bail("%s", error);
	test_domcaps();
	test_named();
	test_message();
	conn = vf_libvirt_open("test:///default", 0, &error);
	if (!conn)
		bail("%s", error);
	test_driver(conn);
	virConnectClose(conn);
	if (lab && *lab) {
		lab = xstrdup(lab);
		test_lab(lab);
		free(lab);
	}
	return tap_done();
}
