/*
 * hosts.c — `virtform hosts [CONFIG]`: connect to every host of the
 * configuration at once and show what each one is: libvirt and hypervisor
 * versions, CPU, memory, domains — or why it could not be reached.
 *
 * Hosts are probed in parallel (reconcile/pool.h), each with its own
 * deadline, so one hung hypervisor costs the timeout, not the whole run,
 * and the command always returns.  The probe runs on a pool thread and
 * owns a copy of its URI: once a probe is abandoned the config may be
 * freed under it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "providers/libvirt/provider.h"
#include "reconcile/model.h"
#include "reconcile/pool.h"
#include "reconcile/provider.h"

#define HOSTS_MAX_THREADS 16
#define HOSTS_DEFAULT_TIMEOUT 10.0

static const char usage[] =
	"usage: virtform hosts [CONFIG] [--json] [--timeout SECONDS]\n"
	"\n"
	"Connect to every host of CONFIG (a YAML file or a directory; default:\n"
	"the current directory), all at once, and show for each: whether it is\n"
	"reachable, its libvirt and hypervisor versions, host CPU model, logical\n"
	"CPUs (CORES), memory total/free and domains running/total.  A host that\n"
	"cannot be reached shows why on the line below its row.\n"
	"\n"
	"Options:\n"
	"      --json              print a JSON document instead of the table:\n"
	"                          {\"hosts\": [{\"name\", \"cluster\", \"uri\",\n"
	"                          \"reachable\", ..., \"error\"}]}\n"
	"      --timeout SECONDS   give each host at most this long (default 10);\n"
	"                          a host that takes longer is reported as timed out\n"
	"  -h, --help              show this help\n"
	"\n"
	"Exit status: 0 every host reachable; 1 a host unreachable or timed out,\n"
	"or the configuration is invalid.\n";

/* What one probe hands back through the pool (heap, owned by whoever
 * holds it: the pool while in flight, the command once collected). */
struct probe {
	int rc;
	struct vf_host_facts facts;
	char *error;             /* malloc'd; set when rc < 0 */
};

static void *probe_run(void *arg)
{
	struct probe *p = xcalloc(1, sizeof(*p));

	p->rc = vf_provider_libvirt.host_facts(arg, &p->facts, &p->error);
	if (p->rc < 0 && !p->error)
		p->error = xstrdup("unknown error");
	return p;
}

static void probe_free(void *opaque)
{
	struct probe *p = opaque;

	if (!p)
		return;
	free(p->error);
	free(p);
}

/* One host's outcome, as shown. */
struct row {
	const struct vf_host *host;
	const struct vf_host_facts *facts;   /* NULL when unreachable */
	char *error;                         /* NULL when reachable */
	bool timed_out;
};

/* "23.4 GiB": binary units, one decimal. */
static void format_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < VF_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
}

enum column {
	COL_HOST, COL_CLUSTER, COL_URI, COL_REACHABLE, COL_LIBVIRT, COL_HYPERVISOR,
	COL_CPU_MODEL, COL_CORES, COL_MEMORY, COL_DOMAINS, COL_COUNT
};

static const char *const column_titles[COL_COUNT] = {
	"HOST", "CLUSTER", "URI", "REACHABLE", "LIBVIRT", "HYPERVISOR",
	"CPU-MODEL", "CORES", "MEMORY", "DOMAINS",
};

/* The cells of one row, malloc'd. */
static void row_cells(const struct row *r, char *cells[COL_COUNT])
{
	const struct vf_host_facts *f = r->facts;
	char total[32], avail[32];
	int c;

	cells[COL_HOST] = xstrdup(r->host->name);
	cells[COL_CLUSTER] = xstrdup(r->host->cluster ? r->host->cluster : "-");
	cells[COL_URI] = xstrdup(r->host->uri);
	if (!f) {
		cells[COL_REACHABLE] = xstrdup("no");
		for (c = COL_LIBVIRT; c < COL_COUNT; c++)
			cells[c] = xstrdup("-");
		return;
	}
	format_bytes(f->memory_total, total, sizeof(total));
	format_bytes(f->memory_free, avail, sizeof(avail));
	cells[COL_REACHABLE] = xstrdup("yes");
	cells[COL_LIBVIRT] = xstrdup(f->lib_version);
	cells[COL_HYPERVISOR] = xasprintf("%s %s", f->hypervisor, f->hypervisor_version);
	cells[COL_CPU_MODEL] = xstrdup(f->cpu_model[0] ? f->cpu_model : "-");
	cells[COL_CORES] = xasprintf("%u", f->cpus);
	cells[COL_MEMORY] = xasprintf("%s/%s", total, avail);
	cells[COL_DOMAINS] = xasprintf("%u/%u", f->domains_running, f->domains_total);
}

/* Cells padded to their column's width; the last one is not padded. */
static void print_line(const char *const cells[COL_COUNT], const size_t width[COL_COUNT])
{
	int c;

	for (c = 0; c + 1 < COL_COUNT; c++)
		printf("%-*s  ", (int)width[c], cells[c]);
	printf("%s\n", cells[COL_COUNT - 1]);
}

static void print_table(const struct row *rows, size_t n)
{
	char *(*cells)[COL_COUNT] = xcalloc(n, sizeof(*cells));
	size_t width[COL_COUNT];
	size_t i;
	int c;

	for (c = 0; c < COL_COUNT; c++)
		width[c] = strlen(column_titles[c]);
	for (i = 0; i < n; i++) {
		row_cells(&rows[i], cells[i]);
		for (c = 0; c < COL_COUNT; c++)
			if (strlen(cells[i][c]) > width[c])
				width[c] = strlen(cells[i][c]);
	}
	print_line(column_titles, width);
	for (i = 0; i < n; i++) {
		print_line((const char *const *)cells[i], width);
		for (c = 0; c < COL_COUNT; c++)
			free(cells[i][c]);
		if (rows[i].error)
			printf("  error: %s\n", rows[i].error);
	}
	free(cells);
}

static json_t *row_json(const struct row *r)
{
	const struct vf_host_facts *f = r->facts;
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(r->host->name));
	json_object_set_new(o, "cluster", r->host->cluster ? json_string(r->host->cluster) : json_null());
	json_object_set_new(o, "uri", json_string(r->host->uri));
	json_object_set_new(o, "reachable", json_boolean(f != NULL));
	json_object_set_new(o, "timed_out", json_boolean(r->timed_out));
	if (f) {
		json_object_set_new(o, "hostname", json_string(f->hostname));
		json_object_set_new(o, "libvirt_version", json_string(f->lib_version));
		json_object_set_new(o, "hypervisor", json_string(f->hypervisor));
		json_object_set_new(o, "hypervisor_version", json_string(f->hypervisor_version));
		json_object_set_new(o, "cpu_model", f->cpu_model[0] ? json_string(f->cpu_model) : json_null());
		json_object_set_new(o, "arch", json_string(f->arch));
		json_object_set_new(o, "cpus", json_integer(f->cpus));
		json_object_set_new(o, "sockets", json_integer(f->sockets));
		json_object_set_new(o, "cores", json_integer(f->cores));
		json_object_set_new(o, "threads", json_integer(f->threads));
		json_object_set_new(o, "memory_total_bytes", json_integer((json_int_t)f->memory_total));
		json_object_set_new(o, "memory_free_bytes", json_integer((json_int_t)f->memory_free));
		json_object_set_new(o, "domains_running", json_integer(f->domains_running));
		json_object_set_new(o, "domains_total", json_integer(f->domains_total));
	}
	json_object_set_new(o, "error", r->error ? json_string(r->error) : json_null());
	return o;
}

static int print_json(const struct row *rows, size_t n)
{
	json_t *doc = json_object(), *hosts = json_array();
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		json_array_append_new(hosts, row_json(&rows[i]));
	json_object_set_new(doc, "hosts", hosts);
	rc = json_dumpf(doc, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(doc);
	return rc;
}

/* "10 s", "2.5 s" */
static char *format_seconds(double s)
{
	return xasprintf("%g s", s);
}

/* Probe every host of config at once (at most HOSTS_MAX_THREADS threads),
 * each within timeout; the pool's items, results in item.result. */
static struct vf_pool_item *hosts_probe(const struct vf_config *config, double timeout)
{
	struct vf_pool_ops ops = { probe_run, free, probe_free };
	size_t i, n = config->n_hosts;
	struct vf_pool_item *items = xcalloc(n, sizeof(*items));

	for (i = 0; i < n; i++) {
		items[i].arg = xstrdup(config->hosts[i].uri);
		items[i].timeout = timeout;
	}
	vf_pool_run(items, n, n < HOSTS_MAX_THREADS ? (unsigned)n : HOSTS_MAX_THREADS, &ops);
	return items;
}

/* The row of host h from its probe item; false when it is unreachable. */
static bool row_fill(struct row *r, const struct vf_host *h, const struct vf_pool_item *item,
		     double timeout)
{
	struct probe *p = item->result;

	r->host = h;
	switch (item->status) {
	case VF_POOL_DONE:
		if (p->rc == 0)
			r->facts = &p->facts;
		else
			r->error = xstrdup(p->error);
		break;
	case VF_POOL_TIMED_OUT: {
		char *s = format_seconds(timeout);
		r->error = xasprintf("timed out after %s", s);
		r->timed_out = true;
		free(s);
		break;
	}
	case VF_POOL_NO_THREAD:
		r->error = xstrdup("could not start a thread to probe it");
		break;
	}
	return !r->error;
}

/* Probe the hosts of config and print the rows; an exit code. */
static int hosts_show(const struct vf_config *config, bool json, double timeout)
{
	size_t i, n = config->n_hosts, unreachable = 0;
	struct vf_pool_item *items = hosts_probe(config, timeout);
	struct row *rows = xcalloc(n, sizeof(*rows));
	int status = VF_EXIT_ERROR;

	for (i = 0; i < n; i++)
		if (!row_fill(&rows[i], &config->hosts[i], &items[i], timeout))
			unreachable++;
	if (json)
		print_json(rows, n);
	else
		print_table(rows, n);
	if (fflush(stdout) != 0)
		vf_cmd_error(&vf_cmd_hosts, "cannot write output");
	else if (unreachable)
		vf_cmd_error(&vf_cmd_hosts, "%zu of %zu host%s unreachable", unreachable, n,
			     n == 1 ? "" : "s");
	else
		status = VF_EXIT_OK;
	for (i = 0; i < n; i++) {
		free(rows[i].error);
		probe_free(items[i].result);
	}
	free(rows);
	free(items);
	return status;
}

static int hosts_run(int argc, char **argv)
{
	struct vf_config *config;
	double timeout = HOSTS_DEFAULT_TIMEOUT;
	bool json = false;
	const char *path, *timeout_text = NULL;
	int status = VF_CMD_PARSE(&vf_cmd_hosts, argc, argv, NULL, VF_FLAG(VF_OPT_JSON, &json),
				  VF_VALUE(VF_OPT_TIMEOUT, &timeout_text));

	if (status != VF_CMD_GO_ON)
		return status;
	if (timeout_text && !vf_parse_seconds(timeout_text, &timeout))
		return vf_cmd_error(&vf_cmd_hosts, "invalid --timeout '%s'; expected a positive "
				    "number of seconds, such as 10 or 2.5", timeout_text);
	path = vf_cmd_config_arg(&vf_cmd_hosts, argc, argv);
	if (!path)
		return VF_EXIT_ERROR;
	config = vf_cmd_load_config(path);
	if (!config)
		return VF_EXIT_ERROR;
	if (config->n_hosts == 0) {
		fprintf(stderr, "virtform hosts: no hosts defined in '%s'\n", path);
		if (json)
			print_json(NULL, 0);
		status = VF_EXIT_OK;
	} else {
		status = hosts_show(config, json, timeout);
	}
	vf_config_free(config);
	return status;
}

const struct vf_cmd vf_cmd_hosts = VF_CMD("hosts",
	"show every host: reachable, versions, CPU, memory, domains", usage, hosts_run,
	.options = VF_OPTS(VF_OPT_JSON, VF_OPT_TIMEOUT));
