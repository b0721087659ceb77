/*
 * floor.c — the raw floor a no-op `virtform plan` is measured against:
 * the least a program can do with libvirt to see every domain of every
 * host in full.  One thread per host, all at once:
 *
 *   virConnectOpen(uri)
 *   virConnectListAllDomains(conn, &doms, 0)
 *   virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE)   once per domain
 *
 * and nothing else: no parsing, no config, no state.  The XML is read with
 * the flags virtform uses, and thrown away.  A benchmark tool, not part of
 * virtform (bench/plan-noop-lab.sh runs it beside `virtform plan`).
 *
 *   build/bench/floor [-q] URI...
 *
 * Prints one line per host (domains, XML bytes, seconds) and the total, on
 * stderr with -q.  Exit 1 when a host fails.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

struct host {
	const char *uri;
	pthread_t thread;
	int domains;
	size_t bytes;
	double seconds;
	char error[512];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_error(struct host *h, const char *what)
{
	const virError *e = virGetLastError();

	snprintf(h->error, sizeof(h->error), "%s: %s", what, e && e->message ? e->message : "?");
}

static void *read_host(void *opaque)
{
	struct host *h = opaque;
	double t0 = now();
	virConnectPtr conn;
	virDomainPtr *doms = NULL;
	int n, i;

	conn = virConnectOpen(h->uri);
	if (!conn) {
		set_error(h, "cannot connect");
		return NULL;
	}
	n = virConnectListAllDomains(conn, &doms, 0);
	if (n < 0) {
		set_error(h, "cannot list domains");
		virConnectClose(conn);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		char *xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
		if (xml) {
			h->bytes += strlen(xml);
			free(xml);
		} else if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN && !h->error[0]) {
			set_error(h, "cannot read a domain");
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	h->domains = n;
	virConnectClose(conn);
	h->seconds = now() - t0;
	return NULL;
}

static void ignore_error(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

int main(int argc, char **argv)
{
	struct host *hosts;
	FILE *out = stdout;
	double t0;
	int i, first = 1, n, failed = 0, total = 0;
	size_t bytes = 0;

	if (argc > 1 && !strcmp(argv[1], "-q")) {
		out = stderr;
		first = 2;
	}
	n = argc - first;
	if (n < 1) {
		fprintf(stderr, "usage: floor [-q] URI...\n");
		return 2;
	}
	if (virInitialize() < 0) {
		fprintf(stderr, "floor: cannot initialize libvirt\n");
		return 1;
	}
	virSetErrorFunc(NULL, ignore_error);
	hosts = calloc((size_t)n, sizeof(*hosts));
	if (!hosts)
		return 1;
	t0 = now();
	for (i = 0; i < n; i++) {
		hosts[i].uri = argv[first + i];
		if (pthread_create(&hosts[i].thread, NULL, read_host, &hosts[i])) {
			fprintf(stderr, "floor: cannot start a thread\n");
			return 1;
		}
	}
	for (i = 0; i < n; i++)
		pthread_join(hosts[i].thread, NULL);
	for (i = 0; i < n; i++) {
		if (hosts[i].error[0]) {
			fprintf(stderr, "floor: %s: %s\n", hosts[i].uri, hosts[i].error);
			failed = 1;
			continue;
		}
		fprintf(out, "%s: %d domains, %zu bytes of XML, %.3f s\n", hosts[i].uri,
			hosts[i].domains, hosts[i].bytes, hosts[i].seconds);
		total += hosts[i].domains;
		bytes += hosts[i].bytes;
	}
	fprintf(out, "total: %d domains, %zu bytes of XML, %.3f s\n", total, bytes, now() - t0);
	free(hosts);
	return failed;
}
