/*
 * facts.c — what `virtform hosts` shows about one hypervisor: versions,
 * CPU, memory and domain counts, read over a read-only connection.
 *
 * The host CPU model and architecture come from the capabilities XML,
 * parsed with libxml2 and queried with XPath: never string-matched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "providers/libvirt/conn.h"
#include "providers/libvirt/facts.h"
#include "reconcile/util.h"

/* libvirt packs versions as major * 1000000 + minor * 1000 + release. */
static void format_version(char *buf, size_t size, unsigned long version)
{
	snprintf(buf, size, "%lu.%lu.%lu", version / 1000000, version / 1000 % 1000,
		 version % 1000);
}

/* The string value of xpath in doc, copied into dst[size] ("" if absent). */
static void xpath_string(xmlXPathContextPtr ctx, const char *xpath, char *dst, size_t size)
{
	xmlXPathObjectPtr obj;

	dst[0] = '\0';
	obj = xmlXPathEvalExpression((const xmlChar *)xpath, ctx);
	if (obj && obj->type == XPATH_STRING && obj->stringval)
		vf_libvirt_copy(dst, size, (const char *)obj->stringval);
	xmlXPathFreeObject(obj);
}

int vf_libvirt_parse_capabilities(const char *xml, struct vf_host_facts *facts, char **error)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;

	doc = xmlReadMemory(xml, (int)strlen(xml), "capabilities.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		*error = xstrdup("cannot parse the host's capabilities XML");
		return -1;
	}
	ctx = xmlXPathNewContext(doc);
	if (!ctx) {
		xmlFreeDoc(doc);
		*error = xstrdup("out of memory parsing the host's capabilities XML");
		return -1;
	}
	xpath_string(ctx, "string(/capabilities/host/cpu/model)", facts->cpu_model,
		     sizeof(facts->cpu_model));
	xpath_string(ctx, "string(/capabilities/host/cpu/arch)", facts->arch,
		     sizeof(facts->arch));
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return 0;
}

/* -1 with *error "WHAT: LIBVIRT MESSAGE" for the thread's last libvirt error. */
static int fail(char **error, const char *what)
{
	*error = vf_libvirt_error(what);
	return -1;
}

/* One of libvirt's version numbers (get) into dst[size], as "1.2.3". */
static int read_version(virConnectPtr conn, int (*get)(virConnectPtr conn, unsigned long *version),
			char *dst, size_t size, const char *what, char **error)
{
	unsigned long version = 0;

	if (get(conn, &version) < 0)
		return fail(error, what);
	format_version(dst, size, version);
	return 0;
}

/* A string libvirt returned (NULL: failed) into dst[size]. */
static int copy_string(char *dst, size_t size, const char *s, const char *what, char **error)
{
	if (!s)
		return fail(error, what);
	vf_libvirt_copy(dst, size, s);
	return 0;
}

/* libvirt's and the hypervisor's type and versions, the host name. */
static int read_versions(virConnectPtr conn, struct vf_host_facts *facts, char **error)
{
	char *hostname;
	int rc;

	if (read_version(conn, virConnectGetLibVersion, facts->lib_version,
			 sizeof(facts->lib_version), "cannot read the libvirt version", error) < 0 ||
	    copy_string(facts->hypervisor, sizeof(facts->hypervisor), virConnectGetType(conn),
			"cannot read the hypervisor type", error) < 0 ||
	    read_version(conn, virConnectGetVersion, facts->hypervisor_version,
			 sizeof(facts->hypervisor_version), "cannot read the hypervisor version",
			 error) < 0)
		return -1;
	hostname = virConnectGetHostname(conn);
	rc = copy_string(facts->hostname, sizeof(facts->hostname), hostname,
			 "cannot read the host name", error);
	free(hostname);
	return rc;
}

/* CPUs and memory (node info, free memory). */
static int read_node(virConnectPtr conn, struct vf_host_facts *facts, char **error)
{
	unsigned long long free_memory;
	virNodeInfo info;

	if (virNodeGetInfo(conn, &info) < 0)
		return fail(error, "cannot read node info");
	facts->cpus = info.cpus;
	facts->sockets = info.nodes * info.sockets;
	facts->cores = info.cores;
	facts->threads = info.threads;
	facts->memory_total = (uint64_t)info.memory * 1024;   /* KiB */

	free_memory = virNodeGetFreeMemory(conn);
	if (free_memory == 0) {
		virErrorPtr err = virGetLastError();
		if (err && err->code != VIR_ERR_OK)
			return fail(error, "cannot read free memory");
	}
	facts->memory_free = free_memory;
	return 0;
}

/* The number of domains and of running ones. */
static int read_domain_counts(virConnectPtr conn, struct vf_host_facts *facts, char **error)
{
	int total, running;

	/* Counts only: a NULL list asks libvirt for the number. */
	total = virConnectListAllDomains(conn, NULL, 0);
	if (total < 0)
		return fail(error, "cannot list domains");
	running = virConnectListAllDomains(conn, NULL, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (running < 0)
		return fail(error, "cannot list running domains");
	facts->domains_total = (unsigned)total;
	facts->domains_running = (unsigned)running;
	return 0;
}

static int read_facts(virConnectPtr conn, struct vf_host_facts *facts, char **error)
{
	char *caps;
	int rc;

	if (read_versions(conn, facts, error) < 0 || read_node(conn, facts, error) < 0)
		return -1;
	caps = virConnectGetCapabilities(conn);
	if (!caps)
		return fail(error, "cannot read capabilities");
	rc = vf_libvirt_parse_capabilities(caps, facts, error);
	free(caps);
	if (rc < 0)
		return -1;
	return read_domain_counts(conn, facts, error);
}

int vf_libvirt_host_facts(const char *uri, struct vf_host_facts *facts, char **error)
{
	virConnectPtr conn;
	int rc;

	memset(facts, 0, sizeof(*facts));
	*error = NULL;
	conn = vf_libvirt_open(uri, 1, error);
	if (!conn)
		return -1;
	rc = read_facts(conn, facts, error);
	virConnectClose(conn);
	return rc;
}
