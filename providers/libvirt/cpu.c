/*
 * cpu.c — the cluster CPU model, provider side: hosts' CPUs read from
 * libvirt, their baseline, a model checked against a host with the
 * features it lacks, and whether a model change lowers it.  cpu.h says
 * what each libvirt driver supports and how this falls back.
 *
 * CPU documents are read with the parser of xml.c and written with its
 * builder: never string-built.  The one text parsed by hand is libvirt's
 * error message for an incompatible CPU, which lists the missing
 * features ("... required features: pni, svm").
 */
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/cpu.h"
#include "providers/libvirt/xml-internal.h"

#define REQUIRED_FEATURES "required features: "

void vf_cpu_release(struct vf_cpu *c)
{
	free(c->required.v);
	free(c->disabled.v);
	free(c->xml);
	vf_arena_release(&c->arena);
	memset(c, 0, sizeof(*c));
}

void vf_cpu_verdict_release(struct vf_cpu_verdict *v)
{
	free(v->missing.v);
	free(v->reason);
	vf_arena_release(&v->arena);
	memset(v, 0, sizeof(*v));
}

static void add_feature(struct vf_cpu_features *f, const char *name)
{
	*(const char **)VF_APPEND(f->v, f->n, f->alloc) = name;
}

static bool has_feature(const struct vf_cpu_features *f, const char *name)
{
	return vf_str_in(f->v, f->n, name);
}

/* A feature's policy: disable and forbid take it away; anything else
 * (require, force, optional, none in a host CPU) gives it. */
static bool policy_disables(const char *policy)
{
	return policy && (!strcmp(policy, "disable") || !strcmp(policy, "forbid"));
}

/* Model, vendor and features of the element n (a <cpu> or a <mode>). */
static void read_cpu(struct parser *p, xmlNodePtr n, struct vf_cpu *c)
{
	xmlNodePtr f;

	c->model = vf_xml_text_of(p, vf_xml_find(n, "model"));
	c->vendor = vf_xml_text_of(p, vf_xml_find(n, "vendor"));
	if (!c->arch)
		c->arch = vf_xml_text_of(p, vf_xml_find(n, "arch"));
	for (f = vf_xml_next_element(n->children, "feature"); f;
	     f = vf_xml_next_element(f->next, "feature")) {
		const char *name = vf_xml_prop_of(p, f, "name");
		if (name)
			add_feature(policy_disables(vf_xml_prop_of(p, f, "policy")) ?
				    &c->disabled : &c->required, name);
	}
}

/*
 * c as a document: a guest CPU (mode custom, match exact, the model
 * without fallback, features with their policy), or a host CPU (arch,
 * model, vendor, the required features by name: what the host CPU
 * baseline takes).
 */
static char *format_cpu(const struct vf_cpu *c, bool host, char **error)
{
	struct builder b;
	xmlNodePtr root = vf_xml_start(&b, "cpu"), n;
	size_t i;

	if (host) {
		vf_xml_add(&b, root, "arch", c->arch ? c->arch : "x86_64");
	} else {
		vf_xml_set(&b, root, "mode", "custom");
		vf_xml_set(&b, root, "match", "exact");
	}
	if (c->model) {
		n = vf_xml_add(&b, root, "model", c->model);
		if (!host)
			vf_xml_set(&b, n, "fallback", "forbid");
	}
	if (c->vendor)
		vf_xml_add(&b, root, "vendor", c->vendor);
	for (i = 0; i < c->required.n + (host ? 0 : c->disabled.n); i++) {
		bool disable = i >= c->required.n;
		n = vf_xml_add(&b, root, "feature", NULL);
		if (!host)
			vf_xml_set(&b, n, "policy", disable ? "disable" : "require");
		vf_xml_set(&b, n, "name", disable ? c->disabled.v[i - c->required.n] :
			   c->required.v[i]);
	}
	return vf_xml_finish(&b, "a CPU", error);
}

/*
 * Read the CPU at path below the root <kind> of xml into c; c->xml is
 * then c written as a guest CPU (host false) or a host CPU.
 */
static int parse_at(const char *xml, const char *kind, const char *path, bool host,
		    struct vf_cpu *c, char **error)
{
	struct parser p;
	xmlNodePtr n;

	memset(c, 0, sizeof(*c));
	if (vf_xml_parser_open(&p, xml, kind, NULL, &c->arena, error) < 0)
		goto fail;
	c->arch = vf_xml_text_of(&p, vf_xml_find(p.root, "arch"));
	n = path ? vf_xml_find(p.root, path) : p.root;
	if (n && !strcmp(kind, "domainCapabilities")) {
		/* the <mode name='host-model'> among cpu's modes */
		for (n = vf_xml_next_element(n->children, "mode");
		     n && !vf_xml_prop_is(n, "name", "host-model");
		     n = vf_xml_next_element(n->next, "mode"))
			;
		if (n && !vf_xml_prop_is(n, "supported", "yes")) {
			*error = xstrdup("the host's libvirt does not support a host-model CPU");
			goto fail;
		}
	}
	if (!n) {
		*error = xasprintf("no CPU in the <%s> document", kind);
		goto fail;
	}
	read_cpu(&p, n, c);
	vf_xml_parser_close(&p);
	c->xml = path ? format_cpu(c, host, error) : xstrdup(xml);
	if (c->xml)
		return 0;
	vf_cpu_release(c);
	return -1;
fail:
	vf_xml_parser_close(&p);
	vf_cpu_release(c);
	return -1;
}

int vf_cpu_parse(const char *xml, struct vf_cpu *c, char **error)
{
	return parse_at(xml, "cpu", NULL, false, c, error);
}

int vf_cpu_from_domcaps(const char *domcaps, struct vf_cpu *c, char **error)
{
	return parse_at(domcaps, "domainCapabilities", "cpu", false, c, error);
}

int vf_cpu_from_capabilities(const char *caps, struct vf_cpu *c, char **error)
{
	return parse_at(caps, "capabilities", "host/cpu", true, c, error);
}

int vf_cpu_named(const char *model, struct vf_cpu *c, char **error)
{
	memset(c, 0, sizeof(*c));
	c->model = vf_arena_strdup(&c->arena, model);
	c->xml = format_cpu(c, false, error);
	if (c->xml)
		return 0;
	vf_cpu_release(c);
	return -1;
}

/* Did the last libvirt call fail because the driver lacks the API? */
static bool unsupported(void)
{
	return virGetLastErrorCode() == VIR_ERR_NO_SUPPORT;
}

/* A document libvirt returned (NULL: failed, "WHAT: MESSAGE"), parsed. */
static int take_cpu(char *xml, const char *what, struct vf_cpu *c, char **error)
{
	int rc;

	if (!xml) {
		*error = vf_libvirt_error(what);
		return -1;
	}
	rc = vf_cpu_parse(xml, c, error);
	free(xml);
	return rc;
}

int vf_cpu_host_model(virConnectPtr conn, struct vf_cpu *c, char **error)
{
	int (*parse)(const char *xml, struct vf_cpu *c, char **error) = vf_cpu_from_domcaps;
	const char *what = "cannot read domain capabilities";
	char *xml = virConnectGetDomainCapabilities(conn, NULL, NULL, NULL, NULL, 0);
	int rc;

	memset(c, 0, sizeof(*c));
	if (!xml && unsupported()) {
		parse = vf_cpu_from_capabilities;
		what = "cannot read capabilities";
		xml = virConnectGetCapabilities(conn);
	}
	if (!xml) {
		*error = vf_libvirt_error(what);
		return -1;
	}
	rc = parse(xml, c, error);
	free(xml);
	return rc;
}

/* The arch the CPUs say (the first that says one), or NULL. */
static const char *arch_of(const struct vf_cpu *cpus, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cpus[i].arch)
			return cpus[i].arch;
	return NULL;
}

int vf_cpu_baseline(virConnectPtr conn, const struct vf_cpu *cpus, size_t n,
		    struct vf_cpu *out, char **error)
{
	const char **xmls = xmalloc((n ? n : 1) * sizeof(*xmls));
	char *xml;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		xmls[i] = cpus[i].xml;
	xml = virConnectBaselineHypervisorCPU(conn, NULL, arch_of(cpus, n), NULL, NULL, xmls,
					      (unsigned)n,
					      VIR_CONNECT_BASELINE_CPU_MIGRATABLE);
	if (!xml && unsupported())
		xml = virConnectBaselineCPU(conn, xmls, (unsigned)n, 0);
	free(xmls);
	if (take_cpu(xml, "cannot compute the CPU baseline", out, error) < 0)
		return -1;
	if (!out->arch && arch_of(cpus, n))
		out->arch = vf_arena_strdup(&out->arena, arch_of(cpus, n));
	return 0;
}

/* Every feature c has: its required ones and its model's, from conn's
 * CPU map, minus those it disables. */
static int expand(virConnectPtr conn, const struct vf_cpu *c, struct vf_cpu *full, char **error)
{
	char *host = format_cpu(c, true, error);
	const char *xmls[1] = { host };
	char *xml;
	size_t i, kept = 0;

	if (!host)
		return -1;
	xml = virConnectBaselineCPU(conn, xmls, 1, VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES);
	free(host);
	if (take_cpu(xml, "cannot expand a CPU's features", full, error) < 0)
		return -1;
	for (i = 0; i < full->required.n; i++)
		if (!has_feature(&c->disabled, full->required.v[i]))
			full->required.v[kept++] = full->required.v[i];
	full->required.n = kept;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "missing features: a, b" for v's list (sorted), or NULL when empty. */
static char *missing_reason(struct vf_cpu_verdict *v)
{
	struct vf_buf b = VF_BUF_INIT;
	char *reason;

	if (!v->missing.n)
		return NULL;
	qsort(v->missing.v, v->missing.n, sizeof(*v->missing.v), by_name);
	for (size_t i = 0; i < v->missing.n; i++)
		vf_buf_addsep(&b, ", ", v->missing.v[i]);
	reason = xasprintf("missing features: %s", b.buf);
	vf_buf_release(&b);
	return reason;
}

int vf_cpu_diff(virConnectPtr conn, const struct vf_cpu *want, const struct vf_cpu *have,
		struct vf_cpu_verdict *v, char **error)
{
	struct vf_cpu w, h;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	memset(&h, 0, sizeof(h));
	if (expand(conn, want, &w, error) < 0)
		return -1;
	if (expand(conn, have, &h, error) < 0)
		goto out;
	for (size_t i = 0; i < w.required.n; i++)
		if (!has_feature(&h.required, w.required.v[i]))
			add_feature(&v->missing,
				    vf_arena_strdup(&v->arena, w.required.v[i]));
	if (want->vendor && h.vendor && strcmp(want->vendor, h.vendor))
		v->reason = xasprintf("the CPU vendor is %s, not %s", h.vendor, want->vendor);
	else
		v->reason = missing_reason(v);
	v->compatible = !v->reason;
	rc = 0;
out:
	vf_cpu_release(&w);
	vf_cpu_release(&h);
	return rc;
}

void vf_cpu_read_incompatible(const char *message, struct vf_cpu_verdict *v)
{
	const char *why = message ? strstr(message, "host CPU: ") : NULL;
	const char *list = message ? strstr(message, REQUIRED_FEATURES) : NULL;

	v->compatible = false;
	if (list) {
		char *copy = vf_arena_strdup(&v->arena, list + strlen(REQUIRED_FEATURES));
		for (char *save = NULL, *f = strtok_r(copy, ", ", &save); f;
		     f = strtok_r(NULL, ", ", &save))
			add_feature(&v->missing, f);
		v->reason = missing_reason(v);
	}
	if (!v->reason)
		v->reason = xstrdup(why ? why + strlen("host CPU: ") :
				    message ? message : "incompatible");
}

int vf_cpu_check(virConnectPtr conn, const struct vf_cpu *want, const struct vf_cpu *host,
		 struct vf_cpu_verdict *v, char **error)
{
	int r;

	memset(v, 0, sizeof(*v));
	r = virConnectCompareHypervisorCPU(conn, NULL, want->arch, NULL, NULL, want->xml,
					   VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
	if (r == VIR_CPU_COMPARE_IDENTICAL || r == VIR_CPU_COMPARE_SUPERSET) {
		v->compatible = true;
		return 0;
	}
	if (r == VIR_CPU_COMPARE_INCOMPATIBLE ||
	    virGetLastErrorCode() == VIR_ERR_CPU_INCOMPATIBLE) {
		vf_cpu_read_incompatible(r < 0 ? virGetLastErrorMessage() : NULL, v);
		virResetLastError();
		return 0;
	}
	if (unsupported())
		return vf_cpu_diff(conn, want, host, v, error);
	*error = vf_libvirt_error("cannot compare CPUs");
	return -1;
}

int vf_cpu_cluster_model(virConnectPtr conn, const char *setting, const struct vf_cpu *hosts,
			 size_t n, struct vf_cpu *model, char **error)
{
	if (setting && strcmp(setting, "auto"))
		return vf_cpu_named(setting, model, error);
	if (!n) {
		memset(model, 0, sizeof(*model));
		*error = xstrdup("no host to take the CPU baseline of");
		return -1;
	}
	return vf_cpu_baseline(conn, hosts, n, model, error);
}

int vf_cpu_lowers(virConnectPtr conn, const struct vf_cpu *old_model,
		  const struct vf_cpu *new_model, struct vf_cpu_verdict *v, char **error)
{
	if (vf_cpu_diff(conn, old_model, new_model, v, error) < 0)
		return -1;
	return !v->compatible;
}

void vf_cpu_cluster_release(struct vf_cpu_cluster *c)
{
	vf_cpu_release(&c->model);
	VF_FREE_ARRAY(c->hosts, c->n_hosts, vf_cpu_verdict_release);
	memset(c, 0, sizeof(*c));
}

/* Each host's CPU read on its own connection (conns[i], opened here
 * read-write: libvirt refuses domain capabilities and the hypervisor
 * CPU calls on a read-only one). */
static int read_hosts(const char *const *uris, size_t n, virConnectPtr *conns,
		      struct vf_cpu *cpus, char **error)
{
	for (size_t i = 0; i < n; i++) {
		char *why = NULL;
		if (!(conns[i] = vf_libvirt_open(uris[i], 0, &why)) ||
		    vf_cpu_host_model(conns[i], &cpus[i], &why) < 0) {
			*error = xasprintf("%s: %s", uris[i], why);
			free(why);
			return -1;
		}
	}
	return 0;
}

int vf_libvirt_cpu_cluster(const char *const *uris, size_t n, const char *setting,
			   struct vf_cpu_cluster *out, char **error)
{
	virConnectPtr *conns = xcalloc(n ? n : 1, sizeof(*conns));
	struct vf_cpu *cpus = xcalloc(n ? n : 1, sizeof(*cpus));
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (read_hosts(uris, n, conns, cpus, error) < 0 ||
	    vf_cpu_cluster_model(n ? conns[0] : NULL, setting, cpus, n, &out->model, error) < 0)
		goto out;
	out->hosts = xcalloc(n ? n : 1, sizeof(*out->hosts));
	for (; out->n_hosts < n; out->n_hosts++) {
		size_t i = out->n_hosts;
		if (vf_cpu_check(conns[i], &out->model, &cpus[i], &out->hosts[i], error) < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		if (conns[i])
			virConnectClose(conns[i]);
		vf_cpu_release(&cpus[i]);
	}
	free(conns);
	free(cpus);
	if (rc < 0)
		vf_cpu_cluster_release(out);
	return rc;
}
