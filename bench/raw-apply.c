/*
 * raw-apply.c — the raw floor `virtform apply` of running VMs is measured
 * against: define and start the same domains with nothing but libvirt,
 * with the same parallelism (one connection per host, shared by N worker
 * threads taking the domains in list order).  A benchmark tool, not part
 * of virtform (bench/apply-40-lab.sh runs it beside `virtform apply`).
 *
 *   build/bench/raw-apply [-j N] up LIST     define + start (N = 10: virtform's default)
 *   build/bench/raw-apply [-j N] down LIST   destroy + undefine what is there
 *
 * LIST has one domain a line: "URI NAME XMLFILE" (XMLFILE is read by up
 * only).  Exit 1 when a domain fails; every failure is printed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

struct host {
	char *uri;
	virConnectPtr conn;
	pthread_mutex_t lock;       /* guards the lazy open */
	int tried;
};

struct job {
	struct host *host;
	char *name;
	char *xml;                  /* up: the definition */
};

static struct host hosts[64];
static size_t n_hosts;
static struct job *jobs;
static size_t n_jobs, next_job;
static int up;
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void ignore_error(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

static void fail(const struct job *j, const char *what)
{
	const virError *e = virGetLastError();

	pthread_mutex_lock(&lock);
	fprintf(stderr, "raw-apply: %s on %s: %s: %s\n", j->name, j->host->uri, what,
		e && e->message ? e->message : "?");
	failures++;
	pthread_mutex_unlock(&lock);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static struct host *host_for(const char *uri)
{
	size_t i;

	for (i = 0; i < n_hosts; i++)
		if (!strcmp(hosts[i].uri, uri))
			return &hosts[i];
	if (n_hosts == sizeof(hosts) / sizeof(hosts[0]))
		return NULL;
	hosts[n_hosts].uri = strdup(uri);
	pthread_mutex_init(&hosts[n_hosts].lock, NULL);
	return &hosts[n_hosts++];
}

/* The host's connection, opened by the first job that needs it (as apply does). */
static virConnectPtr conn_for(struct host *h)
{
	pthread_mutex_lock(&h->lock);
	if (!h->tried) {
		h->tried = 1;
		h->conn = virConnectOpen(h->uri);
	}
	pthread_mutex_unlock(&h->lock);
	return h->conn;
}

static void run_job(const struct job *j)
{
	virConnectPtr conn = conn_for(j->host);
	virDomainPtr dom;

	if (!conn) {
		fail(j, "cannot connect");
		return;
	}
	if (up) {
		dom = virDomainDefineXML(conn, j->xml);
		if (!dom) {
			fail(j, "define");
			return;
		}
		if (virDomainCreate(dom) < 0)
			fail(j, "start");
		virDomainFree(dom);
		return;
	}
	dom = virDomainLookupByName(conn, j->name);
	if (!dom) {
		if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN)
			fail(j, "look up");
		return;
	}
	if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
		fail(j, "destroy");
	else if (virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_NVRAM) < 0 &&
		 virDomainUndefine(dom) < 0)
		fail(j, "undefine");
	virDomainFree(dom);
}

static void *worker(void *unused)
{
	(void)unused;
	for (;;) {
		size_t i;
		pthread_mutex_lock(&lock);
		i = next_job++;
		pthread_mutex_unlock(&lock);
		if (i >= n_jobs)
			return NULL;
		run_job(&jobs[i]);
	}
}

static int read_list(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096], uri[1024], name[256], file[2048];
	size_t alloc = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct job *j;
		if (sscanf(line, "%1023s %255s %2047s", uri, name, file) != 3)
			continue;
		if (n_jobs == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			jobs = realloc(jobs, alloc * sizeof(*jobs));
			if (!jobs)
				return -1;
		}
		j = &jobs[n_jobs++];
		j->host = host_for(uri);
		j->name = strdup(name);
		j->xml = NULL;
		if (!j->host) {
			fprintf(stderr, "raw-apply: too many hosts\n");
			return -1;
		}
		if (up && !(j->xml = read_file(file))) {
			perror(file);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	pthread_t threads[256];
	int parallel = 10, i, n_threads, arg = 1;
	size_t h;

	if (argc > 2 && !strcmp(argv[1], "-j")) {
		parallel = atoi(argv[2]);
		arg = 3;
	}
	if (argc - arg != 2 || parallel < 1 || parallel > 256 ||
	    (strcmp(argv[arg], "up") && strcmp(argv[arg], "down"))) {
		fprintf(stderr, "usage: raw-apply [-j N] up|down LIST\n");
		return 2;
	}
	up = !strcmp(argv[arg], "up");
	if (virInitialize() < 0)
		return 1;
	virSetErrorFunc(NULL, ignore_error);
	if (read_list(argv[arg + 1]) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n_threads = (size_t)parallel < n_jobs ? parallel : (int)n_jobs;
	for (i = 0; i < n_threads; i++)
		if (pthread_create(&threads[i], NULL, worker, NULL)) {
			fprintf(stderr, "raw-apply: cannot start a thread\n");
			return 1;
		}
	for (i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (h = 0; h < n_hosts; h++)
		if (hosts[h].conn)
			virConnectClose(hosts[h].conn);
	fprintf(stderr, "raw-apply %s: %zu domains on %zu hosts, %d threads, %.3f s\n",
		up ? "up" : "down", n_jobs, n_hosts, n_threads,
		(double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failures ? 1 : 0;
}
