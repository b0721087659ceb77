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

static int read_facts(virConnectPtr conn, struct vf_host_facts *facts, char **error)
{
	unsigned long long free_memory;
	unsigned long lib_version, hv_version = 0;
	const char *type;
	virNodeInfo info;
	char *hostname, *caps;
	int total, running, rc;

	if (virConnectGetLibVersion(conn, &lib_version) < 0) {
		*error = vf_libvirt_error("cannot read the libvirt version");
		return -1;
	}
	format_version(facts->lib_version, sizeof(facts->lib_version), lib_version);

	type = virConnectGetType(conn);
	if (!type) {
		*error = vf_libvirt_error("cannot read the hypervisor type");
		return -1;
	}
	vf_libvirt_copy(facts->hypervisor, sizeof(facts->hypervisor), type);
	if (virConnectGetVersion(conn, &hv_version) < 0) {
		*error = vf_libvirt_error("cannot read the hypervisor version");
		return -1;
	}
	format_version(facts->hypervisor_version, sizeof(facts->hypervisor_version), hv_version);

	hostname = virConnectGetHostname(conn);
	if (!hostname) {
		*error = vf_libvirt_error("cannot read the host name");
		return -1;
	}
	vf_libvirt_copy(facts->hostname, sizeof(facts->hostname), hostname);
	free(hostname);

	if (virNodeGetInfo(conn, &info) < 0) {
		*error = vf_libvirt_error("cannot read node info");
		return -1;
	}
	facts->cpus = info.cpus;
	facts->sockets = info.nodes * info.sockets;
	facts->cores = info.cores;
	facts->threads = info.threads;
	facts->memory_total = (uint64_t)info.memory * 1024;   /* KiB */

	free_memory = virNodeGetFreeMemory(conn);
	if (free_memory == 0) {
		virErrorPtr err = virGetLastError();
		if (err && err->code != VIR_ERR_OK) {
			*error = vf_libvirt_error("cannot read free memory");
			return -1;
		}
	}
	facts->memory_free = free_memory;

	caps = virConnectGetCapabilities(conn);
	if (!caps) {
		*error = vf_libvirt_error("cannot read capabilities");
		return -1;
	}
	rc = vf_libvirt_parse_capabilities(caps, facts, error);
	free(caps);
	if (rc < 0)
		return -1;

	/* Counts only: a NULL list asks libvirt for the number. */
	total = virConnectListAllDomains(conn, NULL, 0);
	if (total < 0) {
		*error = vf_libvirt_error("cannot list domains");
		return -1;
	}
	running = virConnectListAllDomains(conn, NULL, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (running < 0) {
		*error = vf_libvirt_error("cannot list running domains");
		return -1;
	}
	facts->domains_total = (unsigned)total;
	facts->domains_running = (unsigned)running;
	return 0;
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
