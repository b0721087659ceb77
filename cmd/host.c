/*
 * host.c — `virtform host SUBCOMMAND`: what virtform does on the machine
 * it runs on, as opposed to the hosts of a configuration.  The controller
 * (`virtform plan`/`apply`) drives hosts through these commands, locally
 * or over SSH, sending a host spec on stdin and reading one JSON document
 * from stdout (/work/notes/hostnet-contract.md, docs/hostnet.md).
 *
 *   virtform host show [--json]   this machine's links as virtform sees them
 *   virtform host plan (--host NAME [CONFIG] | --spec FILE|-)
 *                                 what converging this machine's links to
 *                                 host NAME of the config (or to a spec)
 *                                 would change
 *   virtform host apply (... | --last-confirmed) [--confirm-timeout S]
 *                                 carry that plan out: snapshot the links it
 *                                 touches, execute, verify, roll back on
 *                                 failure, write the ownership records; with
 *                                 a confirm timeout, keep the change only if
 *                                 `host confirm` comes in time
 *   virtform host confirm --token T
 *                                 keep a change that waits for confirmation
 *
 * Host-local files, in the directory of --state-file: the ownership
 * records (hostnet.json), the last confirmed spec (hostnet-confirmed.json,
 * what the boot unit re-applies), the change waiting for confirmation
 * (hostnet-pending.json: enough to roll it back from the file alone) and
 * hostnet.lock, which apply, confirm and the rollback of a pending change
 * hold.  Every file is written atomically, mode 0600.
 *
 * A pending change is rolled back by a watcher: a process forked by apply
 * that leaves the caller's session and descriptors at once (so that an SSH
 * session or a $(...) ends with apply) and wakes at the deadline.  Should
 * it not come (killed, host restarted), the next apply or confirm under
 * the lock rolls the expired change back itself.
 *
 * Sub-commands get their own descriptor named "host SUB", so option errors
 * and --help read "virtform host show: ...".
 *
 * host show reads the network namespace virtform runs in: run it under
 * `ip netns exec NS` to see a namespace's links.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "providers/hostnet/links.h"
#include "reconcile/hostnet.h"
#include "reconcile/model.h"
#include "reconcile/util.h"

static const char usage[] =
	"usage: virtform host <subcommand> [options]\n"
	"\n"
	"Work on the machine virtform runs on (a hypervisor host).\n"
	"\n"
	"Subcommands:\n"
	"  show [--json]   this machine's network links as virtform sees them\n"
	"  plan (--host NAME [CONFIG] | --spec FILE|-)\n"
	"                  what converging them to host NAME of CONFIG (or a host\n"
	"                  spec) would change\n"
	"  apply (--host NAME [CONFIG] | --spec FILE|- | --last-confirmed)\n"
	"                  converge them, verified, rolled back on failure; with\n"
	"                  --confirm-timeout S kept only if confirmed in time\n"
	"  confirm --token TOKEN\n"
	"                  keep a change that waits for confirmation\n"
	"\n"
	"Run 'virtform host <subcommand> --help' for a subcommand's options.\n";

static const char show_usage[] =
	"usage: virtform host show [--json]\n"
	"\n"
	"Show this machine's network links (of the network namespace virtform\n"
	"runs in), read over netlink: NAME, KIND (ethernet, veth, bridge, vlan,\n"
	"bond, or the kernel's kind for anything else), MTU, STATE (administrative\n"
	"state, with the operational state in parentheses when it differs),\n"
	"MASTER (the bridge or bond it is a port of) and DETAILS (a vlan's base\n"
	"and id, a bond's mode and options, a bridge's stp; a bridge's or bond's\n"
	"ports).\n"
	"\n"
	"Options:\n"
	"      --json   print one JSON document instead of the table:\n"
	"               {\"links\": [{\"name\", \"ifindex\", \"kind\", \"kernel_kind\",\n"
	"               \"mtu\", \"up\", \"operstate\", \"master\", ...}]}\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 success; 1 the links could not be read.\n";

static const char plan_usage[] =
	"usage: virtform host plan (--host NAME [CONFIG] | --spec FILE|-) [--json]\n"
	"                          [--no-delete] [--detailed-exitcode] [--state-file FILE]\n"
	"\n"
	"Show what converging this machine's links (of the network namespace\n"
	"virtform runs in) to host NAME of CONFIG would change: its\n"
	"hosts[].interfaces, and for every bridge-mode network in its scope with\n"
	"an uplink, the bridge and (with vlan) the VLAN link <uplink>.<vlan>.\n"
	"Only links the config declares or derives, and links virtform created\n"
	"(the state file), are ever changed; the others are listed as not managed.\n"
	"Nothing is changed.\n"
	"\n"
	"Options:\n"
	"      --host NAME          the host of CONFIG this machine is (with --spec:\n"
	"                           optional, must be the spec's host)\n"
	"      --spec FILE|-        the desired links from a host spec (JSON; '-': stdin)\n"
	"      --no-delete          leave out the deletes (a replace stays)\n"
	"      --json               print the plan as one JSON document; on failure\n"
	"                           {\"host\", \"status\": \"error\", \"error\"}\n"
	"      --detailed-exitcode  exit 0 no changes, 2 changes, 1 error\n"
	"      --state-file FILE    ownership records (default " VF_HOSTNET_STATE_FILE ")\n"
	"  -h, --help               show this help\n"
	"\n"
	"Exit status: 0 success (with --detailed-exitcode: no changes), 2 changes\n"
	"(with --detailed-exitcode), 1 error: invalid configuration or spec, unknown\n"
	"host, a change that cannot be made (a missing uplink, an MTU above the\n"
	"uplink's, a link of another kind in the way), links that could not be read.\n";

static int host_show_run(int argc, char **argv);
static int host_plan_run(int argc, char **argv);

static const struct vf_cmd host_show = {
	.name = "host show",
	.summary = "this machine's network links",
	.usage = show_usage,
	.run = host_show_run,
};

static const struct vf_cmd host_plan = {
	.name = "host plan",
	.summary = "what converging this machine's links would change",
	.usage = plan_usage,
	.run = host_plan_run,
};

static const struct vf_cmd host_apply;
static const struct vf_cmd host_confirm;

static const struct vf_cmd *const subcommands[] = {
	&host_show,
	&host_plan,
	&host_apply,
	&host_confirm,
	NULL,
};

/* KIND column: ours, or for anything else the kernel's kind or link type. */
static const char *kind_text(const struct vf_link *l)
{
	if (l->kind != VF_LINK_KIND_OTHER)
		return vf_link_kind_name(l->kind);
	if (l->kernel_kind[0])
		return l->kernel_kind;
	return l->link_type[0] ? l->link_type : "other";
}

static char *state_text(const struct vf_link *l)
{
	const char *admin = l->up ? "up" : "down";

	if (!strcmp(admin, l->operstate))
		return xstrdup(admin);
	return xasprintf("%s (%s)", admin, l->operstate);
}

static char *ports_text(const struct vf_link *l)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; i < l->n_ports; i++)
		len += strlen(l->ports[i]) + 1;
	s = xcalloc(1, len);
	for (i = 0; i < l->n_ports; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, l->ports[i]);
	}
	return s;
}

static char *details_text(const struct vf_link *l)
{
	char *ports = ports_text(l), *s;

	switch (l->kind) {
	case VF_LINK_KIND_VLAN:
		s = xasprintf("base %s id %u", l->vlan_base[0] ? l->vlan_base : "?", l->vlan_id);
		break;
	case VF_LINK_KIND_BOND: {
		char *opts = xstrdup(""), *n;
		size_t i;

		for (i = 0; i < l->n_bond_options; i++) {
			n = xasprintf("%s %s %s", opts, l->bond_options[i].name,
				      l->bond_options[i].value);
			free(opts);
			opts = n;
		}
		s = xasprintf("mode %s%s%s%s", l->bond_mode[0] ? l->bond_mode : "?",
			      l->n_ports ? " ports " : "", ports, opts);
		free(opts);
		break;
	}
	case VF_LINK_KIND_BRIDGE:
		s = xasprintf("stp %s%s%s", l->stp < 0 ? "?" : l->stp ? "on" : "off",
			      l->n_ports ? " ports " : "", ports);
		break;
	default:
		s = xstrdup("-");
		break;
	}
	free(ports);
	return s;
}

enum column { COL_NAME, COL_KIND, COL_MTU, COL_STATE, COL_MASTER, COL_DETAILS, COL_COUNT };

static const char *const column_titles[COL_COUNT] = {
	"NAME", "KIND", "MTU", "STATE", "MASTER", "DETAILS",
};

static void print_line(const char *const cells[COL_COUNT], const size_t width[COL_COUNT])
{
	int c;

	for (c = 0; c + 1 < COL_COUNT; c++)
		printf("%-*s  ", (int)width[c], cells[c]);
	printf("%s\n", cells[COL_COUNT - 1]);
}

static void print_table(const struct vf_link_list *list)
{
	char *(*cells)[COL_COUNT] = xcalloc(list->n + 1, sizeof(*cells));
	size_t width[COL_COUNT];
	size_t i;
	int c;

	for (c = 0; c < COL_COUNT; c++)
		width[c] = strlen(column_titles[c]);
	for (i = 0; i < list->n; i++) {
		const struct vf_link *l = &list->links[i];

		cells[i][COL_NAME] = xstrdup(l->name);
		cells[i][COL_KIND] = xstrdup(kind_text(l));
		cells[i][COL_MTU] = xasprintf("%u", l->mtu);
		cells[i][COL_STATE] = state_text(l);
		cells[i][COL_MASTER] = xstrdup(l->master[0] ? l->master : "-");
		cells[i][COL_DETAILS] = details_text(l);
		for (c = 0; c < COL_COUNT; c++)
			if (strlen(cells[i][c]) > width[c])
				width[c] = strlen(cells[i][c]);
	}
	print_line(column_titles, width);
	for (i = 0; i < list->n; i++) {
		print_line((const char *const *)cells[i], width);
		for (c = 0; c < COL_COUNT; c++)
			free(cells[i][c]);
	}
	free(cells);
}

static json_t *string_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *ports_json(const struct vf_link *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < l->n_ports; i++)
		json_array_append_new(a, json_string(l->ports[i]));
	return a;
}

static json_t *link_json(const struct vf_link *l)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(l->name));
	json_object_set_new(o, "ifindex", json_integer(l->ifindex));
	json_object_set_new(o, "kind", json_string(vf_link_kind_name(l->kind)));
	json_object_set_new(o, "kernel_kind", string_or_null(l->kernel_kind));
	json_object_set_new(o, "link_type", string_or_null(l->link_type));
	json_object_set_new(o, "mtu", json_integer(l->mtu));
	json_object_set_new(o, "up", json_boolean(l->up));
	json_object_set_new(o, "operstate", json_string(l->operstate));
	json_object_set_new(o, "master", string_or_null(l->master));
	if (l->kind == VF_LINK_KIND_VLAN)
		json_object_set_new(o, "vlan", json_pack("{s:o, s:i}",
			"base", string_or_null(l->vlan_base), "id", (int)l->vlan_id));
	if (l->kind == VF_LINK_KIND_BOND) {
		json_t *opts = json_object();
		size_t i;

		for (i = 0; i < l->n_bond_options; i++)
			json_object_set_new(opts, l->bond_options[i].name,
					    json_string(l->bond_options[i].value));
		json_object_set_new(o, "bond", json_pack("{s:o, s:o, s:o}",
			"mode", string_or_null(l->bond_mode), "ports", ports_json(l),
			"options", opts));
	}
	if (l->kind == VF_LINK_KIND_BRIDGE)
		json_object_set_new(o, "bridge", json_pack("{s:o, s:o}",
			"stp", l->stp < 0 ? json_null() : json_boolean(l->stp),
			"ports", ports_json(l)));
	return o;
}

static void print_json(const struct vf_link_list *list)
{
	json_t *doc = json_object(), *links = json_array();
	size_t i;

	for (i = 0; i < list->n; i++)
		json_array_append_new(links, link_json(&list->links[i]));
	json_object_set_new(doc, "links", links);
	json_dumpf(doc, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(doc);
}

static int host_show_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vf_link_list list = { NULL, 0 };
	struct vf_netlink *nl;
	char *error = NULL;
	bool json = false;
	int c;

	while ((c = vf_getopt(&host_show, argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(show_usage, stdout);
			return VF_EXIT_OK;
		default:
			return VF_EXIT_ERROR;
		}
	}
	if (optind < argc)
		return vf_cmd_error(&host_show, "unexpected argument '%s'; see 'virtform host show --help'",
				    argv[optind]);

	if (vf_netlink_open(&nl, &error) < 0 || vf_link_list_read(nl, &list, &error) < 0) {
		vf_cmd_error(&host_show, "%s", error);
		free(error);
		vf_netlink_close(nl);
		return VF_EXIT_ERROR;
	}
	vf_netlink_close(nl);
	if (json)
		print_json(&list);
	else
		print_table(&list);
	vf_link_list_release(&list);
	if (fflush(stdout) != 0)
		return vf_cmd_error(&host_show, "cannot write output");
	return VF_EXIT_OK;
}

/*
 * The live links as the engine's neutral records (reconcile/hostnet.h):
 * a veth is an Ethernet link to the plan (lab uplinks are veths).
 */
static void links_to_host_links(const struct vf_link_list *list, struct vf_host_links *out)
{
	size_t i, j;

	for (i = 0; i < list->n; i++) {
		const struct vf_link *l = &list->links[i];
		struct vf_host_link *h = vf_host_links_add(out, l->name);

		switch (l->kind) {
		case VF_LINK_KIND_ETHERNET:
		case VF_LINK_KIND_VETH:   h->kind = VF_HOST_LINK_ETHERNET; break;
		case VF_LINK_KIND_BRIDGE: h->kind = VF_HOST_LINK_BRIDGE; break;
		case VF_LINK_KIND_VLAN:   h->kind = VF_HOST_LINK_VLAN; break;
		case VF_LINK_KIND_BOND:   h->kind = VF_HOST_LINK_BOND; break;
		case VF_LINK_KIND_OTHER:  h->kind = VF_HOST_LINK_OTHER; break;
		}
		h->mtu = l->mtu;
		h->up = l->up;
		h->master = l->master[0] ? vf_arena_strdup(&out->arena, l->master) : NULL;
		h->vlan_base = l->vlan_base[0] ? vf_arena_strdup(&out->arena, l->vlan_base) : NULL;
		h->vlan_id = l->vlan_id;
		h->bond_mode = l->bond_mode[0] ? vf_arena_strdup(&out->arena, l->bond_mode) : NULL;
		h->stp = l->stp;
		h->n_ports = l->n_ports;
		h->ports = vf_arena_alloc(&out->arena, (l->n_ports + 1) * sizeof(*h->ports));
		for (j = 0; j < l->n_ports; j++)
			h->ports[j] = vf_arena_strdup(&out->arena, l->ports[j]);
		h->n_bond_options = l->n_bond_options;
		h->bond_options = vf_arena_alloc(&out->arena,
						 (l->n_bond_options + 1) * sizeof(*h->bond_options));
		for (j = 0; j < l->n_bond_options; j++) {
			h->bond_options[j].key = vf_arena_strdup(&out->arena, l->bond_options[j].name);
			h->bond_options[j].value = vf_arena_strdup(&out->arena,
								   l->bond_options[j].value);
		}
	}
}

/* ---- what host plan, apply and confirm share ------------------------------ */

/* Where the desired links come from. */
enum source { SOURCE_CONFIG, SOURCE_SPEC, SOURCE_LAST_CONFIRMED };

/*
 * One host command's state: the host-local files, the lock, the desired
 * and observed links, the plan, and the errors reported so far (for the
 * --json error document).  Everything is released by host_ctx_release.
 */
struct host_ctx {
	const struct vf_cmd *cmd;
	bool json;                  /* --json: one document on stdout */
	FILE *progress;             /* what people read: stdout, or stderr with --json */
	char *errors;               /* every error message reported, one per line */
	char *host;                 /* the host's name once known (--host or the spec) */
	/* host-local files, absolute paths */
	char *state_file, *dir, *pending_path, *confirmed_path, *lock_path;
	int lock_fd;
	/* desired links and their spec */
	struct vf_config *config;
	json_t *spec;               /* vf_hostnet_spec_json of desired: what is confirmed */
	struct vf_host_links desired, observed;
	struct vf_hostnet_plan plan;
	struct vf_hostnet_owned owned;
	struct vf_link_list list;
	struct vf_netlink *nl;
	bool no_delete;
};

static void host_ctx_init(struct host_ctx *x, const struct vf_cmd *cmd, bool json)
{
	memset(x, 0, sizeof(*x));
	x->cmd = cmd;
	x->json = json;
	x->progress = json ? stderr : stdout;
	x->lock_fd = -1;
	x->desired.arena = (struct vf_arena)VF_ARENA_INIT;
	x->observed.arena = (struct vf_arena)VF_ARENA_INIT;
}

static void host_ctx_release(struct host_ctx *x)
{
	vf_netlink_close(x->nl);
	vf_link_list_release(&x->list);
	vf_hostnet_plan_release(&x->plan);
	vf_host_links_release(&x->desired);
	vf_host_links_release(&x->observed);
	vf_hostnet_owned_release(&x->owned);
	vf_config_free(x->config);
	json_decref(x->spec);
	if (x->lock_fd >= 0)
		close(x->lock_fd);   /* releases the lock */
	free(x->errors);
	free(x->host);
	free(x->state_file);
	free(x->dir);
	free(x->pending_path);
	free(x->confirmed_path);
	free(x->lock_path);
}

static void errors_append(struct host_ctx *x, const char *msg)
{
	char *n = x->errors ? xasprintf("%s\n%s", x->errors, msg) : xstrdup(msg);

	free(x->errors);
	x->errors = n;
}

/* "virtform host apply: error: MSG" on stderr, and MSG kept for --json.
 * Returns -1. */
__attribute__((format(printf, 2, 3)))
static int report(struct host_ctx *x, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	vf_cmd_error(x->cmd, "%s", msg);
	errors_append(x, msg);
	free(msg);
	return -1;
}

/* Diagnostics as vf_diags_print renders them, on stderr and kept. */
static void report_diags(struct host_ctx *x, struct vf_diags *diags)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	vf_diags_sort(diags);
	vf_diags_print(diags, f);
	fclose(f);
	fputs(text, stderr);
	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
	if (len)
		errors_append(x, text);
	free(text);
}

static void set_host(struct host_ctx *x, const char *name)
{
	free(x->host);
	x->host = name ? xstrdup(name) : NULL;
}

/* Print doc on stdout (the one --json document).  0 or -1. */
static int print_doc(json_t *doc)
{
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2));

	fputc('\n', stdout);
	return rc < 0 || fflush(stdout) != 0 ? -1 : 0;
}

/* {"host", "status": "error", "error"} for a failure with --json. */
static void print_error_doc(struct host_ctx *x)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "host", x->host ? json_string(x->host) : json_null());
	json_object_set_new(doc, "status", json_string("error"));
	json_object_set_new(doc, "error", json_string(x->errors ? x->errors : "failed"));
	print_doc(doc);
	json_decref(doc);
}

/* The host-local files: state_file and, in its directory, the others. */
static int host_paths(struct host_ctx *x, const char *state_file)
{
	char *copy, *dir, *cwd;

	if (state_file[0] == '/') {
		x->state_file = xstrdup(state_file);
	} else {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return report(x, "cannot find the current directory for --state-file '%s': %s",
				      state_file, strerror(errno));
		x->state_file = xasprintf("%s/%s", cwd, state_file);
		free(cwd);
	}
	copy = xstrdup(x->state_file);
	dir = dirname(copy);
	x->dir = xstrdup(dir);
	free(copy);
	x->pending_path = xasprintf("%s/%s", x->dir, VF_HOSTNET_PENDING_NAME);
	x->confirmed_path = xasprintf("%s/%s", x->dir, VF_HOSTNET_CONFIRMED_NAME);
	x->lock_path = xasprintf("%s/%s", x->dir, VF_HOSTNET_LOCK_NAME);
	return 0;
}

/*
 * Open and lock path (created 0600, its directory 0700): every host
 * command that changes links or the host-local files holds it, and so
 * does the watcher when it rolls back.  Waits up to wait_s seconds for
 * another holder (a confirm or a rollback takes milliseconds).  The fd,
 * or -1 with *error.
 */
static int lock_open(const char *path, const char *dir, double wait_s, char **error)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int fd, i, tries = (int)(wait_s * 20);

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*error = xasprintf("cannot create the host network state directory '%s': %s",
				   dir, strerror(errno));
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error = xasprintf("cannot open the lock '%s': %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; i++) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			*error = xasprintf("cannot lock '%s': %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (i >= tries) {
			*error = xasprintf("another virtform host command holds the lock '%s' (for "
					   "more than %.0f s); wait for it to finish and try again",
					   path, wait_s);
			close(fd);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return fd;
}

static int host_lock(struct host_ctx *x)
{
	char *error = NULL;

	x->lock_fd = lock_open(x->lock_path, x->dir, 30, &error);
	if (x->lock_fd < 0) {
		report(x, "%s", error);
		free(error);
		return -1;
	}
	return 0;
}

/* A JSON file, or NULL: *missing when it does not exist, else *error. */
static json_t *json_file_read(const char *path, const char *what, bool *missing, char **error)
{
	json_error_t je;
	json_t *doc;

	*missing = false;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		*missing = true;
		return NULL;
	}
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		*error = xasprintf("cannot read %s '%s': line %d: %s", what, path, je.line, je.text);
	return doc;
}

/* Parse spec (a host spec document) into x->desired; what names it in
 * messages.  Checks --host against its host.  0 or -1 (reported). */
static int desired_from_spec(struct host_ctx *x, json_t *spec, const char *what,
			     const char *host_name)
{
	const char *host = NULL;
	char *error = NULL;

	if (vf_hostnet_spec_parse(spec, &x->desired, &host, &error) < 0) {
		report(x, "%s (%s)", error, what);
		free(error);
		return -1;
	}
	if (host_name && strcmp(host_name, host))
		return report(x, "--host %s does not match the host spec's host '%s' (%s); give "
			      "the spec of this host, or leave --host out", host_name, host, what);
	set_host(x, host);
	x->spec = vf_hostnet_spec_json(host, &x->desired);
	return 0;
}

/* The desired links from a config (--host NAME [CONFIG]). */
static int desired_from_config(struct host_ctx *x, const char *path, const char *host_name)
{
	struct vf_diags diags = { 0 };
	const struct vf_host *host;
	int rc = -1;

	if (!host_name)
		return report(x, "--host NAME is required: the host of the configuration this "
			      "machine is (or give --spec FILE)");
	set_host(x, host_name);
	x->config = vf_config_load(path, &diags);
	if (!x->config) {
		char *count = xasprintf("%zu error%s in %s", diags.n_errors,
					diags.n_errors == 1 ? "" : "s", path);
		report_diags(x, &diags);
		fprintf(stderr, "%s\n", count);
		errors_append(x, count);
		free(count);
		goto out;
	}
	if (diags.n) {
		vf_diags_sort(&diags);
		vf_diags_print(&diags, stderr);   /* warnings */
	}
	host = vf_config_find_host(x->config, host_name);
	if (!host) {
		const char *names[64];
		const char *near;
		size_t i, n = 0;

		for (i = 0; i < x->config->n_hosts && n < VF_ARRAY_SIZE(names); i++)
			names[n++] = x->config->hosts[i].name;
		near = vf_nearest(host_name, names, n);
		if (near)
			report(x, "no host '%s' in %s; did you mean '%s'?", host_name, path, near);
		else
			report(x, "no host '%s' in %s", host_name, path);
		goto out;
	}
	vf_diags_release(&diags);
	if (vf_hostnet_desired(x->config, host, &x->desired, &diags) < 0) {
		report_diags(x, &diags);
		goto out;
	}
	x->spec = vf_hostnet_spec_json(host->name, &x->desired);
	rc = 0;
out:
	vf_diags_release(&diags);
	return rc;
}

static int desired_load(struct host_ctx *x, enum source src, const char *spec_path,
			const char *host_name, int argc, char **argv)
{
	json_error_t je;
	json_t *doc;
	char *what;
	int rc;

	if (src == SOURCE_CONFIG) {
		const char *path = vf_cmd_config_arg(x->cmd, argc, argv);
		if (!path) {
			errors_append(x, "expected at most one CONFIG argument");
			return -1;
		}
		return desired_from_config(x, path, host_name);
	}
	set_host(x, host_name);
	if (optind < argc)
		return report(x, "unexpected argument '%s': with --spec the desired links come "
			      "from the spec, not a CONFIG", argv[optind]);
	if (!strcmp(spec_path, "-")) {
		doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
		what = xstrdup("the host spec on stdin");
	} else {
		doc = json_load_file(spec_path, JSON_REJECT_DUPLICATES, &je);
		what = xasprintf("the host spec '%s'", spec_path);
	}
	if (!doc) {
		report(x, "cannot read %s: line %d, column %d: %s", what, je.line, je.column,
		       je.text);
		free(what);
		return -1;
	}
	rc = desired_from_spec(x, doc, what, host_name);
	json_decref(doc);
	free(what);
	return rc;
}

/* Read the records and the links, build the plan (without its deletes
 * when --no-delete).  0, or -1 reported. */
static int host_plan_build(struct host_ctx *x)
{
	struct vf_diags diags = { 0 };
	char *error = NULL;

	vf_hostnet_owned_release(&x->owned);
	if (vf_hostnet_owned_read(x->state_file, &x->owned, &error) < 0 ||
	    (!x->nl && vf_netlink_open(&x->nl, &error) < 0) ||
	    vf_link_list_read(x->nl, &x->list, &error) < 0) {
		report(x, "%s", error);
		free(error);
		return -1;
	}
	links_to_host_links(&x->list, &x->observed);
	if (vf_hostnet_plan_build(x->host, &x->desired, &x->observed, &x->owned, &x->plan,
				  &diags) < 0) {
		report_diags(x, &diags);
		vf_diags_release(&diags);
		return -1;
	}
	vf_diags_release(&diags);
	if (x->no_delete)
		vf_hostnet_plan_drop_deletes(&x->plan);
	return 0;
}

/* The source options of plan and apply: exactly one of --host NAME
 * [CONFIG], --spec, --last-confirmed.  0, or -1 reported. */
static int source_check(struct host_ctx *x, enum source src, const char *spec_path,
			bool last_confirmed, const char *host_name, int argc)
{
	if (spec_path && last_confirmed)
		return report(x, "--spec and --last-confirmed exclude each other: give one");
	if (last_confirmed && (host_name || optind < argc))
		return report(x, "--last-confirmed takes the host and its links from the last "
			      "confirmed spec: leave out --host and CONFIG");
	(void)src;
	return 0;
}

/* ---- host plan ------------------------------------------------------------ */

static int host_plan_run(int argc, char **argv)
{
	enum { OPT_HOST = 256, OPT_JSON, OPT_DETAILED, OPT_STATE_FILE, OPT_SPEC, OPT_NO_DELETE };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "spec", required_argument, NULL, OPT_SPEC },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "no-delete", no_argument, NULL, OPT_NO_DELETE },
		{ "detailed-exitcode", no_argument, NULL, OPT_DETAILED },
		{ "state-file", required_argument, NULL, OPT_STATE_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host_name = NULL, *state_file = VF_HOSTNET_STATE_FILE, *spec_path = NULL;
	struct host_ctx x;
	bool json = false, detailed = false, no_delete = false;
	int c, rc = VF_EXIT_ERROR;

	while ((c = vf_getopt(&host_plan, argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case OPT_HOST: host_name = optarg; break;
		case OPT_SPEC: spec_path = optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_NO_DELETE: no_delete = true; break;
		case OPT_DETAILED: detailed = true; break;
		case OPT_STATE_FILE: state_file = optarg; break;
		case 'h': fputs(plan_usage, stdout); return VF_EXIT_OK;
		default: return VF_EXIT_ERROR;
		}
	}
	host_ctx_init(&x, &host_plan, json);
	x.no_delete = no_delete;
	set_host(&x, host_name);
	if (host_paths(&x, state_file) < 0 ||
	    desired_load(&x, spec_path ? SOURCE_SPEC : SOURCE_CONFIG, spec_path, host_name,
			 argc, argv) < 0 ||
	    host_plan_build(&x) < 0)
		goto out;
	if (json ? vf_hostnet_plan_print_json(&x.plan, stdout) < 0
		 : (vf_hostnet_plan_print(&x.plan, stdout), 0)) {
		report(&x, "cannot write the plan");
		goto out;
	}
	if (fflush(stdout) != 0) {
		report(&x, "cannot write output");
		goto out;
	}
	rc = detailed && x.plan.n ? VF_EXIT_CHANGES : VF_EXIT_OK;
out:
	if (rc == VF_EXIT_ERROR && json)
		print_error_doc(&x);
	host_ctx_release(&x);
	return rc;
}

/* ---- host apply: snapshot, steps, rollback -------------------------------- */

static const char apply_usage[] =
	"usage: virtform host apply (--host NAME [CONFIG] | --spec FILE|- | --last-confirmed)\n"
	"                           [--auto-approve] [--no-delete] [--confirm-timeout SECONDS]\n"
	"                           [--json] [--state-file FILE]\n"
	"\n"
	"Converge this machine's links (of the network namespace virtform runs\n"
	"in) to host NAME of CONFIG, or to a host spec: show the plan of 'virtform\n"
	"host plan', ask for confirmation, then carry it out over netlink.  Before\n"
	"changing anything, the links the plan touches are recorded; after, they\n"
	"are read back and verified (every desired link exists, is up, has its\n"
	"master, MTU and bond options).  When an action or the verification fails,\n"
	"every change is undone in reverse order and the command says what failed\n"
	"(\"rolled back: ...\").  On success the links virtform created or adopted\n"
	"are recorded in the state file, and the desired links are kept as the\n"
	"last confirmed state (" VF_HOSTNET_CONFIRMED_NAME " beside it).\n"
	"\n"
	"Options:\n"
	"      --host NAME          the host of CONFIG this machine is\n"
	"      --spec FILE|-        the desired links from a host spec (JSON; '-': stdin),\n"
	"                           as 'virtform plan' and 'apply' send it\n"
	"      --last-confirmed     the desired links from the last confirmed spec\n"
	"                           (at boot: contrib/systemd/virtform-hostnet.service);\n"
	"                           implies --auto-approve; none yet is a note, exit 0\n"
	"      --auto-approve       do not ask (needed without a terminal)\n"
	"      --no-delete          leave out the deletes (a replace stays)\n"
	"      --confirm-timeout S  keep the change only if 'virtform host confirm --token\n"
	"                           TOKEN' comes within S seconds (1..3600); otherwise it\n"
	"                           is rolled back by itself\n"
	"      --json               progress on stderr, one JSON document on stdout\n"
	"      --state-file FILE    ownership records (default " VF_HOSTNET_STATE_FILE ")\n"
	"  -h, --help               show this help\n"
	"\n"
	"While a change waits for confirmation, another apply is refused.\n"
	"\n"
	"Exit status: 0 applied, waiting for confirmation, or nothing to do; 1 error:\n"
	"invalid configuration or spec, a change refused at plan time, a failed\n"
	"change (rolled back), a change waiting for confirmation.\n";

/* The state of one link before apply (exists or not, and its settings). */
struct snap {
	char *name;
	bool exists;
	struct vf_link link;        /* ports not used: see ports below */
	char **ports;               /* a bridge's or bond's ports (re-enslaved when re-created) */
	size_t n_ports;
};

enum step_type {
	STEP_CREATED, STEP_DELETED, STEP_MTU, STEP_STP, STEP_UP, STEP_MASTER, STEP_BOND_OPTIONS,
};
static const char *const step_names[] = {
	"created", "deleted", "mtu", "stp", "up", "master", "bond-options",
};

/* One change made, undone from the snapshot in reverse order. */
struct step {
	enum step_type type;
	size_t snap;                /* index into the snapshot */
	size_t action;              /* the plan's action it belongs to */
	char **options;             /* STEP_BOND_OPTIONS: the options set */
	size_t n_options;
	bool undo_failed;
};

/*
 * The changes one apply made and how to undo them.  Built while applying,
 * or from the pending file (a watcher's rollback): everything is owned.
 */
struct applier {
	struct vf_netlink *nl;
	struct vf_link_list *list;  /* the links as last read */
	struct snap *snaps;
	size_t n_snaps;
	struct step *steps;
	size_t n_steps, alloc_steps;
	size_t action;              /* the action being applied */
};

static size_t snap_index(const struct applier *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n_snaps; i++)
		if (!strcmp(a->snaps[i].name, name))
			return i;
	return (size_t)-1;
}

static struct snap *snap_new(struct applier *a, const char *name)
{
	struct snap *s;

	a->snaps = xrealloc(a->snaps, (a->n_snaps + 1) * sizeof(*a->snaps));
	s = &a->snaps[a->n_snaps++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	return s;
}

static void snap_take(struct applier *a, const char *name)
{
	const struct vf_link *l;
	struct snap *s;
	size_t i;

	if (!name || snap_index(a, name) != (size_t)-1)
		return;
	s = snap_new(a, name);
	l = vf_link_list_find(a->list, name);
	if (!l)
		return;
	s->exists = true;
	s->link = *l;
	s->link.ports = NULL;
	s->link.n_ports = 0;
	s->ports = xcalloc(l->n_ports + 1, sizeof(*s->ports));
	for (i = 0; i < l->n_ports; i++)
		s->ports[i] = xstrdup(l->ports[i]);
	s->n_ports = l->n_ports;
}

static void applier_release(struct applier *a)
{
	size_t i, j;

	for (i = 0; i < a->n_snaps; i++) {
		for (j = 0; j < a->snaps[i].n_ports; j++)
			free(a->snaps[i].ports[j]);
		free(a->snaps[i].ports);
		free(a->snaps[i].name);
	}
	for (i = 0; i < a->n_steps; i++) {
		for (j = 0; j < a->steps[i].n_options; j++)
			free(a->steps[i].options[j]);
		free(a->steps[i].options);
	}
	free(a->snaps);
	free(a->steps);
	memset(a, 0, sizeof(*a));
}

static struct step *step_add(struct applier *a, enum step_type type, const char *name)
{
	struct step *st;

	VF_GROW(a->steps, a->n_steps + 1, a->alloc_steps);
	st = &a->steps[a->n_steps++];
	memset(st, 0, sizeof(*st));
	st->type = type;
	st->snap = snap_index(a, name);
	st->action = a->action;
	return st;
}

/* The desired bond options of d as the provider takes them. */
static struct vf_link_bond_option *bond_opts(const struct vf_label *l, size_t n)
{
	struct vf_link_bond_option *o = xcalloc(n + 1, sizeof(*o));
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(o[i].name, sizeof(o[i].name), "%s", l[i].key);
		snprintf(o[i].value, sizeof(o[i].value), "%s", l[i].value);
	}
	return o;
}

/* Create the link act wants (down), then bring it up. */
static int create_link(struct applier *a, const struct vf_host_link *d, char **error)
{
	struct vf_netlink *nl = a->nl;
	struct vf_link_bond_option *opts;
	int rc;

	switch (d->kind) {
	case VF_HOST_LINK_BRIDGE:
		rc = vf_link_create_bridge(nl, d->name, d->mtu, d->stp, error);
		break;
	case VF_HOST_LINK_VLAN:
		rc = vf_link_create_vlan(nl, d->name, d->vlan_base, d->vlan_id, d->mtu, error);
		break;
	case VF_HOST_LINK_BOND:
		opts = bond_opts(d->bond_options, d->n_bond_options);
		rc = vf_link_create_bond(nl, d->name, d->bond_mode, opts, d->n_bond_options,
					 d->mtu, error);
		free(opts);
		break;
	default:
		*error = xasprintf("link '%s': virtform does not create a %s", d->name,
				   vf_host_link_kind_name(d->kind));
		return VF_LINK_ERR_INVALID;
	}
	if (rc < 0)
		return rc;
	step_add(a, STEP_CREATED, d->name);
	return vf_link_set_up(nl, d->name, true, error);
}

/* Set the bond options among act's changes ("options.NAME"), in one request. */
static int apply_bond_options(struct applier *a, const struct vf_hostnet_action *act,
			      char **error)
{
	struct vf_link_bond_option *opts = xcalloc(act->n_changes + 1, sizeof(*opts));
	struct step *st;
	size_t i, n = 0;
	int rc;

	for (i = 0; i < act->n_changes; i++) {
		const struct vf_hostnet_change *c = &act->changes[i];

		if (strncmp(c->field, "options.", 8))
			continue;
		snprintf(opts[n].name, sizeof(opts[n].name), "%s", c->field + 8);
		snprintf(opts[n].value, sizeof(opts[n].value), "%s", c->after);
		n++;
	}
	if (!n) {
		free(opts);
		return 0;
	}
	/* the kernel keeps the delays in MII intervals: a new miimon changes
	 * them unless they are sent along (it applies miimon first) */
	for (i = 0; i < n && strcmp(opts[i].name, "miimon"); i++)
		;
	if (i < n && act->desired) {
		static const char *const delays[] = { "updelay", "downdelay" };
		size_t k, j;

		opts = xrealloc(opts, (n + 3) * sizeof(*opts));
		for (k = 0; k < 2; k++) {
			for (j = 0; j < act->desired->n_bond_options; j++)
				if (!strcmp(act->desired->bond_options[j].key, delays[k]))
					break;
			if (j == act->desired->n_bond_options)
				continue;
			for (i = 0; i < n && strcmp(opts[i].name, delays[k]); i++)
				;
			if (i < n)
				continue;
			snprintf(opts[n].name, sizeof(opts[n].name), "%s", delays[k]);
			snprintf(opts[n].value, sizeof(opts[n].value), "%s",
				 act->desired->bond_options[j].value);
			n++;
		}
	}
	rc = vf_link_set_bond_options(a->nl, act->name, opts, n, error);
	if (rc == 0) {
		st = step_add(a, STEP_BOND_OPTIONS, act->name);
		st->options = xcalloc(n, sizeof(*st->options));
		for (i = 0; i < n; i++)
			st->options[i] = xstrdup(opts[i].name);
		st->n_options = n;
	}
	free(opts);
	return rc;
}

static int apply_change(struct applier *a, const struct vf_hostnet_action *act,
			const struct vf_hostnet_change *c, char **error)
{
	struct vf_netlink *nl = a->nl;
	int rc;

	if (!strcmp(c->field, "mtu")) {
		rc = vf_link_set_mtu(nl, act->name, (unsigned)strtoul(c->after, NULL, 10), error);
		if (rc == 0)
			step_add(a, STEP_MTU, act->name);
	} else if (!strcmp(c->field, "stp")) {
		rc = vf_link_set_bridge_stp(nl, act->name, !strcmp(c->after, "on"), error);
		if (rc == 0)
			step_add(a, STEP_STP, act->name);
	} else if (!strcmp(c->field, "up")) {
		rc = vf_link_set_up(nl, act->name, true, error);
		if (rc == 0)
			step_add(a, STEP_UP, act->name);
	} else if (!strcmp(c->field, "master")) {
		if (!strcmp(c->after, "(none)"))
			rc = vf_link_release(nl, act->name, error);
		else
			rc = vf_link_set_master(nl, act->name, c->after, error);
		if (rc == 0)
			step_add(a, STEP_MASTER, act->name);
	} else if (!strncmp(c->field, "options.", 8)) {
		rc = 0;   /* all of them at once: apply_bond_options */
	} else {
		*error = xasprintf("link '%s': cannot change '%s'", act->name, c->field);
		rc = VF_LINK_ERR_INVALID;
	}
	return rc;
}

static int apply_action(struct applier *a, const struct vf_hostnet_action *act, char **error)
{
	size_t i;
	int rc;

	switch (act->op) {
	case VF_HOSTNET_CREATE:
		return create_link(a, act->desired, error);
	case VF_HOSTNET_REPLACE:
		rc = vf_link_delete(a->nl, act->name, error);
		/* a VLAN on a bond replaced before it went with the bond */
		if (rc == VF_LINK_ERR_NOT_FOUND) {
			free(*error);
			*error = NULL;
			rc = 0;
		}
		if (rc < 0)
			return rc;
		step_add(a, STEP_DELETED, act->name);
		return create_link(a, act->desired, error);
	case VF_HOSTNET_UPDATE:
		/* settings first (bond options before "up": some need the bond down) */
		for (i = 0; i < act->n_changes; i++) {
			if (!strcmp(act->changes[i].field, "up") &&
			    (rc = apply_bond_options(a, act, error)) < 0)
				return rc;
			rc = apply_change(a, act, &act->changes[i], error);
			if (rc < 0)
				return rc;
		}
		for (i = 0; i < act->n_changes && strcmp(act->changes[i].field, "up"); i++)
			;
		return i == act->n_changes ? apply_bond_options(a, act, error) : 0;
	case VF_HOSTNET_DELETE:
		rc = vf_link_delete(a->nl, act->name, error);
		/* a VLAN goes with its base: gone is what was asked */
		if (rc == VF_LINK_ERR_NOT_FOUND) {
			free(*error);
			*error = NULL;
			rc = 0;
		}
		if (rc == 0)
			step_add(a, STEP_DELETED, act->name);
		return rc;
	}
	return 0;
}

/* Re-read the links into a->list; 0 or -1 with *error. */
static int reread(struct applier *a, char **error)
{
	vf_link_list_release(a->list);
	return vf_link_list_read(a->nl, a->list, error);
}

static void problem_add(char **problems, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem_add(char **problems, const char *fmt, ...)
{
	va_list ap;
	char *p, *n;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	n = *problems ? xasprintf("%s; %s", *problems, p) : xstrdup(p);
	free(p);
	free(*problems);
	*problems = n;
}

static bool kind_made(enum vf_host_link_kind k)
{
	return k == VF_HOST_LINK_BRIDGE || k == VF_HOST_LINK_VLAN || k == VF_HOST_LINK_BOND;
}

/*
 * After the plan: a bridge adjusts its MTU to its ports' until one is set
 * on it, so set the desired MTU again where the kernel moved it (once),
 * then check every desired link.  NULL when all is right, else what is
 * wrong (malloc'd).
 */
static char *verify(struct applier *a, struct host_ctx *x, char **error)
{
	char *problems = NULL;
	bool again = false;
	size_t i, j;

	if (reread(a, error) < 0)
		return NULL;
	for (i = 0; i < x->desired.n; i++) {
		const struct vf_host_link *d = &x->desired.items[i];
		const struct vf_link *l = vf_link_list_find(a->list, d->name);
		char *e = NULL;

		if (d->absent || !l || !d->mtu || l->mtu == d->mtu)
			continue;
		snap_take(a, d->name);
		if (vf_link_set_mtu(a->nl, d->name, d->mtu, &e) == 0)
			step_add(a, STEP_MTU, d->name);
		free(e);
		again = true;
	}
	if (again && reread(a, error) < 0)
		return NULL;
	for (i = 0; i < x->desired.n; i++) {
		const struct vf_host_link *d = &x->desired.items[i];
		const struct vf_link *l = vf_link_list_find(a->list, d->name);

		if (d->absent) {
			if (l && !x->no_delete)
				problem_add(&problems, "link '%s' still exists", d->name);
			continue;
		}
		if (!l) {
			problem_add(&problems, "link '%s' does not exist", d->name);
			continue;
		}
		if (kind_made(d->kind) && !l->up)
			problem_add(&problems, "link '%s' is down", d->name);
		if (d->master && strcmp(l->master, d->master))
			problem_add(&problems, "link '%s' has master %s instead of %s", d->name,
				    l->master[0] ? l->master : "(none)", d->master);
		if (d->mtu && l->mtu != d->mtu)
			problem_add(&problems, "link '%s' has mtu %u instead of %u", d->name,
				    l->mtu, d->mtu);
		for (j = 0; d->kind == VF_HOST_LINK_BOND && j < d->n_bond_options; j++) {
			const char *have = vf_link_bond_option(l, d->bond_options[j].key);

			if (!have || strcmp(have, d->bond_options[j].value))
				problem_add(&problems, "bond '%s' has %s %s instead of %s", d->name,
					    d->bond_options[j].key, have ? have : "(none)",
					    d->bond_options[j].value);
		}
	}
	for (i = 0; i < x->plan.n; i++) {
		const struct vf_hostnet_action *act = &x->plan.actions[i];

		if (act->op == VF_HOSTNET_DELETE && vf_link_list_find(a->list, act->name))
			problem_add(&problems, "link '%s' still exists", act->name);
	}
	return problems;
}

/* Re-create a deleted link from its snapshot: kind, settings, master,
 * ports, state. */
static int recreate(struct applier *a, const struct snap *s, char **error)
{
	struct vf_netlink *nl = a->nl;
	const struct vf_link *l = &s->link;
	size_t i;
	int rc;

	switch (l->kind) {
	case VF_LINK_KIND_BRIDGE:
		rc = vf_link_create_bridge(nl, l->name, l->mtu, l->stp, error);
		break;
	case VF_LINK_KIND_VLAN:
		rc = vf_link_create_vlan(nl, l->name, l->vlan_base, l->vlan_id, l->mtu, error);
		break;
	case VF_LINK_KIND_BOND:
		/* primary names a port, enslaved below: set it after */
		rc = vf_link_create_bond(nl, l->name, l->bond_mode[0] ? l->bond_mode : NULL,
					 NULL, 0, l->mtu, error);
		break;
	default:
		*error = xasprintf("link '%s': cannot re-create a %s", l->name,
				   vf_link_kind_name(l->kind));
		return VF_LINK_ERR_INVALID;
	}
	if (rc < 0)
		return rc;
	if (l->master[0] && (rc = vf_link_set_master(nl, l->name, l->master, error)) < 0)
		return rc;
	for (i = 0; i < s->n_ports; i++) {
		char *e = NULL;

		/* best effort: a port may have gone meanwhile */
		vf_link_set_master(nl, s->ports[i], l->name, &e);
		free(e);
	}
	if (l->kind == VF_LINK_KIND_BOND && l->n_bond_options &&
	    (rc = vf_link_set_bond_options(nl, l->name, l->bond_options, l->n_bond_options,
					   error)) < 0)
		return rc;
	return l->up ? vf_link_set_up(nl, l->name, true, error) : 0;
}

/* Set the options of step st back to the snapshot's values. */
static int undo_bond_options(struct applier *a, const struct step *st, const struct snap *s,
			     char **error)
{
	struct vf_link_bond_option *opts = xcalloc(st->n_options + 1, sizeof(*opts));
	size_t i, n = 0;
	int rc;

	/* miimon first: the delays are sent in its units (see apply_bond_options) */
	for (i = 0; i < st->n_options; i++) {
		const char *v = vf_link_bond_option(&s->link, st->options[i]);

		if (!v && strcmp(st->options[i], "primary"))
			continue;   /* not reported before: nothing to go back to */
		snprintf(opts[n].name, sizeof(opts[n].name), "%s", st->options[i]);
		snprintf(opts[n].value, sizeof(opts[n].value), "%s", v ? v : "");
		n++;
	}
	rc = n ? vf_link_set_bond_options(a->nl, s->name, opts, n, error) : 0;
	free(opts);
	return rc;
}

static int undo(struct applier *a, const struct step *st, char **error)
{
	const struct snap *s = &a->snaps[st->snap];
	const char *name = s->name;
	struct vf_netlink *nl = a->nl;

	/* a setting of a link this apply created: undoing its creation is enough */
	if (!s->exists && st->type != STEP_CREATED)
		return 0;
	switch (st->type) {
	case STEP_CREATED:
		return vf_link_delete(nl, name, error);
	case STEP_DELETED:
		return recreate(a, s, error);
	case STEP_MTU:
		return vf_link_set_mtu(nl, name, s->link.mtu, error);
	case STEP_STP:
		return s->link.stp < 0 ? 0 : vf_link_set_bridge_stp(nl, name, s->link.stp, error);
	case STEP_UP:
		return vf_link_set_up(nl, name, s->link.up, error);
	case STEP_MASTER:
		if (!s->link.master[0])
			return vf_link_release(nl, name, error);
		return vf_link_set_master(nl, name, s->link.master, error);
	case STEP_BOND_OPTIONS:
		return undo_bond_options(a, st, s, error);
	}
	return 0;
}

/*
 * Undo every step in reverse order, re-read and compare with the
 * snapshot.  NULL when the links are as before, else what differs or
 * could not be undone (malloc'd).
 */
static char *rollback(struct applier *a)
{
	char *problems = NULL, *error = NULL;
	size_t i, j;

	for (i = a->n_steps; i-- > 0;) {
		if (undo(a, &a->steps[i], &error) < 0) {
			a->steps[i].undo_failed = true;
			problem_add(&problems, "%s", error);
			free(error);
			error = NULL;
		}
	}
	if (reread(a, &error) < 0) {
		problem_add(&problems, "%s", error);
		free(error);
		return problems;
	}
	for (i = 0; i < a->n_snaps; i++) {
		const struct snap *s = &a->snaps[i];
		const struct vf_link *l = vf_link_list_find(a->list, s->name);

		if (!s->exists) {
			if (l)
				problem_add(&problems, "link '%s' still exists", s->name);
			continue;
		}
		if (!l) {
			problem_add(&problems, "link '%s' is missing", s->name);
			continue;
		}
		if (l->mtu != s->link.mtu)
			problem_add(&problems, "link '%s' has mtu %u, was %u", l->name, l->mtu,
				    s->link.mtu);
		if (strcmp(l->master, s->link.master))
			problem_add(&problems, "link '%s' has master %s, was %s", l->name,
				    l->master[0] ? l->master : "(none)",
				    s->link.master[0] ? s->link.master : "(none)");
		if (l->up != s->link.up)
			problem_add(&problems, "link '%s' is %s, was %s", l->name,
				    l->up ? "up" : "down", s->link.up ? "up" : "down");
		for (j = 0; j < s->link.n_bond_options; j++) {
			const char *have = vf_link_bond_option(l, s->link.bond_options[j].name);

			if (!have || strcmp(have, s->link.bond_options[j].value))
				problem_add(&problems, "bond '%s' has %s %s, was %s", l->name,
					    s->link.bond_options[j].name, have ? have : "(none)",
					    s->link.bond_options[j].value);
		}
	}
	return problems;
}

/* ---- the snapshot and steps as JSON (the pending file) -------------------- */

static json_t *snap_json(const struct snap *s)
{
	const struct vf_link *l = &s->link;
	json_t *o = json_object(), *ports, *opts;
	size_t i;

	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "exists", json_boolean(s->exists));
	if (!s->exists)
		return o;
	ports = json_array();
	opts = json_object();
	json_object_set_new(o, "kind", json_string(vf_link_kind_name(l->kind)));
	json_object_set_new(o, "mtu", json_integer(l->mtu));
	json_object_set_new(o, "up", json_boolean(l->up));
	json_object_set_new(o, "master", json_string(l->master));
	json_object_set_new(o, "vlan_base", json_string(l->vlan_base));
	json_object_set_new(o, "vlan_id", json_integer(l->vlan_id));
	json_object_set_new(o, "bond_mode", json_string(l->bond_mode));
	for (i = 0; i < l->n_bond_options; i++)
		json_object_set_new(opts, l->bond_options[i].name,
				    json_string(l->bond_options[i].value));
	json_object_set_new(o, "bond_options", opts);
	json_object_set_new(o, "stp", json_integer(l->stp));
	for (i = 0; i < s->n_ports; i++)
		json_array_append_new(ports, json_string(s->ports[i]));
	json_object_set_new(o, "ports", ports);
	if (!json_object_size(opts))
		json_object_del(o, "bond_options");
	return o;
}

static json_t *steps_json(const struct applier *a)
{
	json_t *steps = json_array();
	size_t i, j;

	for (i = 0; i < a->n_steps; i++) {
		const struct step *st = &a->steps[i];
		json_t *o = json_pack("{s:s, s:s}", "type", step_names[st->type],
				      "link", a->snaps[st->snap].name);

		if (st->n_options) {
			json_t *opts = json_array();
			for (j = 0; j < st->n_options; j++)
				json_array_append_new(opts, json_string(st->options[j]));
			json_object_set_new(o, "options", opts);
		}
		json_array_append_new(steps, o);
	}
	return steps;
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
	snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* The applier of a pending file: its snapshot and steps.  0, or -1 with *error. */
static int applier_from_json(struct applier *a, const json_t *pending, char **error)
{
	const json_t *snaps = json_object_get(pending, "snapshot");
	const json_t *steps = json_object_get(pending, "steps");
	const json_t *v;
	size_t i, j;

	if (!json_is_array(snaps) || !json_is_array(steps)) {
		*error = xstrdup("no \"snapshot\" or \"steps\" array");
		return -1;
	}
	json_array_foreach(snaps, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const json_t *opts = json_object_get(v, "bond_options");
		const json_t *ports = json_object_get(v, "ports");
		struct vf_link *l;
		struct snap *s;
		const char *key, *kind;
		json_t *val;

		if (!name) {
			*error = xasprintf("snapshot[%zu] has no name", i);
			return -1;
		}
		s = snap_new(a, name);
		s->exists = json_is_true(json_object_get(v, "exists"));
		if (!s->exists)
			continue;
		l = &s->link;
		snprintf(l->name, sizeof(l->name), "%s", name);
		kind = json_string_value(json_object_get(v, "kind"));
		l->kind = VF_LINK_KIND_OTHER;
		for (j = 0; kind && j <= VF_LINK_KIND_OTHER; j++)
			if (!strcmp(vf_link_kind_name((enum vf_link_kind)j), kind))
				l->kind = (enum vf_link_kind)j;
		l->mtu = (unsigned)json_integer_value(json_object_get(v, "mtu"));
		l->up = json_is_true(json_object_get(v, "up"));
		copy_str(l->master, sizeof(l->master), json_object_get(v, "master"));
		copy_str(l->vlan_base, sizeof(l->vlan_base), json_object_get(v, "vlan_base"));
		l->vlan_id = (unsigned)json_integer_value(json_object_get(v, "vlan_id"));
		copy_str(l->bond_mode, sizeof(l->bond_mode), json_object_get(v, "bond_mode"));
		l->stp = json_is_integer(json_object_get(v, "stp"))
			? (int)json_integer_value(json_object_get(v, "stp")) : -1;
		json_object_foreach((json_t *)opts, key, val) {
			struct vf_link_bond_option *o;

			if (l->n_bond_options == VF_LINK_BOND_OPTIONS_MAX)
				break;
			o = &l->bond_options[l->n_bond_options++];
			snprintf(o->name, sizeof(o->name), "%s", key);
			copy_str(o->value, sizeof(o->value), val);
		}
		s->ports = xcalloc(json_array_size(ports) + 1, sizeof(*s->ports));
		json_array_foreach(ports, j, val)
			if (json_is_string(val))
				s->ports[s->n_ports++] = xstrdup(json_string_value(val));
	}
	json_array_foreach(steps, i, v) {
		const char *type = json_string_value(json_object_get(v, "type"));
		const char *link = json_string_value(json_object_get(v, "link"));
		const json_t *opts = json_object_get(v, "options");
		struct step *st;
		json_t *val;
		size_t t;

		for (t = 0; type && t < VF_ARRAY_SIZE(step_names); t++)
			if (!strcmp(step_names[t], type))
				break;
		if (!type || t == VF_ARRAY_SIZE(step_names) || !link ||
		    snap_index(a, link) == (size_t)-1) {
			*error = xasprintf("steps[%zu] is not a step of the snapshot", i);
			return -1;
		}
		st = step_add(a, (enum step_type)t, link);
		st->options = xcalloc(json_array_size(opts) + 1, sizeof(*st->options));
		json_array_foreach(opts, j, val)
			if (json_is_string(val))
				st->options[st->n_options++] = xstrdup(json_string_value(val));
	}
	return 0;
}

/* ---- pending changes: the file, the watcher, expiry ----------------------- */

static double now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "2026-11-27 10:00:05 UTC" (local time). */
static const char *time_text(json_int_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(buf, size, "%lld", (long long)t);
	return buf;
}

/* The kernel's boot id: tells a pending change from before a restart. */
static char *boot_id(void)
{
	char buf[64] = "";
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	return xstrdup(buf);
}

/* The network namespace this process is in ("net:[4026531840]"): a
 * pending change is rolled back only in the namespace it was made in. */
static char *netns_id(void)
{
	char buf[64];
	ssize_t n = readlink("/proc/self/ns/net", buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return xstrdup(buf);
}

/* A process's start time (clock ticks after boot, /proc/PID/stat field
 * 22), so that a recycled pid is not taken for the watcher; "" if gone. */
static char *proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	size_t n;
	int field;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return xstrdup("");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');   /* the command name may hold spaces */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return xstrdup("");      /* gone, or a zombie: not running */
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return xstrdup("");
	return xasprintf("%llu", start);
}

static bool watcher_alive(const json_t *pending)
{
	json_int_t pid = json_integer_value(json_object_get(pending, "pid"));
	const char *start = json_string_value(json_object_get(pending, "pid_start"));
	char *now;
	bool alive;

	if (pid <= 0 || !start || kill((pid_t)pid, 0) < 0)
		return false;
	now = proc_start((pid_t)pid);
	alive = !strcmp(now, start);
	free(now);
	return alive;
}

/* 32 hex digits from getrandom(). */
static int token_new(char out[33], char **error)
{
	unsigned char b[16];
	size_t i;
	ssize_t n;

	do
		n = getrandom(b, sizeof(b), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(b)) {
		*error = xasprintf("cannot make a confirmation token: getrandom: %s",
				   n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	for (i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static json_int_t jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/*
 * Roll back the pending change of doc (read under the lock): undo its
 * steps from its snapshot with a new netlink session, restore the
 * ownership records from before it, and record in the pending file
 * status "rolled-back", the time and the outcome.  A change from before a
 * restart (another boot id) went with the restart: only the records are
 * restored.  A change made in another network namespace is not touched
 * (-1, status still pending).  Returns 0 when the links are as before, 1
 * when the rollback is incomplete, -1 when nothing was done or the file
 * could not be written; *outcome
 * (malloc'd) says which: "complete", "incomplete: WHAT".
 */
static int pending_rollback(const char *pending_path, const char *state_file, json_t *doc,
			    char **outcome)
{
	struct vf_hostnet_owned prev = { NULL, NULL, 0, 0 };
	struct vf_link_list list = { NULL, 0 };
	struct applier a;
	char *problems = NULL, *error = NULL, *bid = boot_id();
	int rc = 0;

	memset(&a, 0, sizeof(a));
	a.list = &list;
	if (!strcmp(bid, jstr(doc, "boot_id"))) {
		char *ns = netns_id();
		bool other = strcmp(ns, jstr(doc, "netns")) != 0;

		if (other)
			*outcome = xasprintf("not done: the change was made in network namespace %s, "
					     "this is %s; run the command in that namespace",
					     jstr(doc, "netns"), ns);
		free(ns);
		if (other) {
			free(bid);
			return -1;
		}
	}
	if (strcmp(bid, jstr(doc, "boot_id"))) {
		*outcome = xstrdup("complete: the host restarted before confirmation, and the "
				   "change did not survive it");
	} else if (applier_from_json(&a, doc, &error) < 0 ||
		   vf_netlink_open(&a.nl, &error) < 0) {
		problem_add(&problems, "cannot roll back from '%s': %s", pending_path, error);
	} else {
		problems = rollback(&a);
	}
	free(error);
	error = NULL;
	if (!*outcome || !**outcome) {
		free(*outcome);
		*outcome = problems ? xasprintf("incomplete: %s", problems) : xstrdup("complete");
	}
	if (problems)
		rc = 1;
	if (vf_hostnet_owned_from_json(json_object_get(doc, "previous_records"),
				       "the pending change's previous records", &prev, &error) < 0 ||
	    vf_hostnet_owned_write(state_file, &prev, &error) < 0) {
		char *o = xasprintf("%s; the ownership records were not restored: %s",
				    *outcome, error);
		free(*outcome);
		*outcome = o;
		free(error);
		error = NULL;
		rc = 1;
	}
	json_object_set_new(doc, "status", json_string("rolled-back"));
	json_object_set_new(doc, "rolled_back_at", json_integer((json_int_t)now_real()));
	json_object_set_new(doc, "rollback", json_string(*outcome));
	if (vf_hostnet_write_json(pending_path, doc, "pending host network change", &error) < 0) {
		char *o = xasprintf("%s; %s", *outcome, error);
		free(*outcome);
		*outcome = o;
		rc = -1;
	}
	free(error);
	free(problems);
	free(bid);
	vf_hostnet_owned_release(&prev);
	vf_netlink_close(a.nl);
	applier_release(&a);
	vf_link_list_release(&list);
	return rc;
}

/*
 * The watcher: a detached process (its own session, stdio on /dev/null,
 * no other descriptor) that waits for the deadline of the pending change
 * with token, and rolls it back unless it was confirmed meanwhile.  It
 * polls the pending file every 100 ms, so a confirmation ends it within
 * that.  go: the read end of a pipe on which the parent says "1" once the
 * pending file is written (anything else: the apply gave up; exit).
 */
static void watcher_run(int go, const char *pending_path, const char *state_file,
			const char *lock_path, const char *dir, const char *token,
			double fire_at)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	char c = 0;

	if (read(go, &c, 1) != 1 || c != '1')
		_exit(0);
	close(go);
	for (;;) {
		char *error = NULL, *outcome = NULL;
		bool missing;
		json_t *doc = json_file_read(pending_path, "", &missing, &error);
		int fd;

		free(error);
		error = NULL;
		if (!doc || strcmp(jstr(doc, "token"), token) || strcmp(jstr(doc, "status"), "pending")) {
			json_decref(doc);
			_exit(0);   /* confirmed, or replaced */
		}
		json_decref(doc);
		if (now_mono() < fire_at) {
			nanosleep(&tick, NULL);
			continue;
		}
		fd = lock_open(lock_path, dir, 60, &error);
		if (fd < 0) {
			free(error);
			_exit(1);
		}
		doc = json_file_read(pending_path, "", &missing, &error);
		if (doc && !strcmp(jstr(doc, "token"), token) &&
		    !strcmp(jstr(doc, "status"), "pending"))
			pending_rollback(pending_path, state_file, doc, &outcome);
		json_decref(doc);
		free(outcome);
		free(error);
		close(fd);
		_exit(0);
	}
}

/*
 * Start the watcher.  Returns its pid (the caller writes the pending
 * file, then says go on *go_fd, or closes it to call it off), or -1 with
 * *error.
 */
static pid_t watcher_start(struct host_ctx *x, const char *token, double fire_at, int *go_fd,
			   char **error)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		*error = xasprintf("cannot start the confirmation watcher: pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		*error = xasprintf("cannot start the confirmation watcher: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* let go of the caller: its terminal, its pipes (an SSH session or
		 * a $(...) waits for their end), the lock and the netlink socket */
		setsid();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		if (dup2(p[0], 3) < 0)
			_exit(1);
		if (close_range(4, ~0U, 0) < 0) {
			int fd;
			for (fd = 4; fd < 65536; fd++)
				close(fd);
		}
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		prctl(PR_SET_NAME, "vf-hostnet-wait", 0, 0, 0);
		if (chdir("/") < 0)
			_exit(1);
		watcher_run(3, x->pending_path, x->state_file, x->lock_path, x->dir, token, fire_at);
		_exit(0);
	}
	close(p[0]);
	*go_fd = p[1];
	return pid;
}

/* The pending file's document, or NULL (none, or an error reported: *failed). */
static json_t *pending_read(struct host_ctx *x, bool *failed)
{
	char *error = NULL;
	bool missing;
	json_t *doc = json_file_read(x->pending_path, "pending host network change", &missing,
				     &error);

	*failed = false;
	if (!doc && !missing) {
		report(x, "%s; move it away to go on, after checking the links with 'virtform "
		       "host show'", error);
		*failed = true;
	}
	free(error);
	return doc;
}

/*
 * Under the lock, before an apply: a change that waits for confirmation
 * refuses it; one whose deadline passed (its watcher did not come, or has
 * not yet) is rolled back now, and one from before a restart is void.
 * 0 to go on, -1 reported.
 */
static int pending_check(struct host_ctx *x)
{
	char applied[64], until[64];
	char *outcome = NULL;
	bool failed;
	json_t *doc = pending_read(x, &failed);
	char *bid;
	int rc = 0;

	if (!doc)
		return failed ? -1 : 0;
	if (strcmp(jstr(doc, "status"), "pending")) {
		json_decref(doc);
		return 0;
	}
	bid = boot_id();
	time_text(jint(doc, "applied_at"), applied, sizeof(applied));
	time_text(jint(doc, "deadline"), until, sizeof(until));
	if (!strcmp(bid, jstr(doc, "boot_id")) && now_real() < (double)jint(doc, "deadline")) {
		rc = report(x, "host %s: a change applied at %s waits for confirmation until %s "
			    "(token %s); confirm it with 'virtform host confirm --token %s' or "
			    "wait for its rollback%s", jstr(doc, "host"), applied, until,
			    jstr(doc, "token"), jstr(doc, "token"),
			    watcher_alive(doc) ? "" : " (its watcher is gone: the first apply or "
			    "confirm after the deadline rolls it back)");
	} else {
		int r = pending_rollback(x->pending_path, x->state_file, doc, &outcome);

		if (r >= 0)
			fprintf(stderr, "virtform %s: the unconfirmed change applied at %s (deadline "
				"%s) was rolled back first: %s\n", x->cmd->name, applied, until,
				outcome);
		if (r != 0)
			rc = report(x, "rolling back the unconfirmed change applied at %s failed: "
				    "%s; check the links with 'virtform host show'", applied, outcome);
	}
	free(outcome);
	free(bid);
	json_decref(doc);
	return rc;
}

/* ---- host apply ----------------------------------------------------------- */

enum outcome { OUTCOME_NOT_RUN, OUTCOME_DONE, OUTCOME_FAILED, OUTCOME_ROLLED_BACK };
static const char *const outcome_names[] = { "not-run", "done", "failed", "rolled-back" };

/* What an apply did, for its --json document. */
struct result {
	const char *status;         /* unchanged, applied, pending, rolled-back, failed, error */
	enum outcome *outcomes;     /* one per plan action */
	char *error;                /* malloc'd */
	char *rollback;             /* "complete", "incomplete: ..."; malloc'd */
	json_t *confirm;            /* {"token", "timeout", "deadline"} */
};

static void print_apply_doc(struct host_ctx *x, struct result *r)
{
	json_t *doc = json_object(), *changes = json_array();
	size_t i;

	for (i = 0; i < x->plan.n; i++) {
		json_t *c = vf_hostnet_action_json(&x->plan, i);
		json_object_set_new(c, "outcome",
				    json_string(outcome_names[r->outcomes ? r->outcomes[i]
									  : OUTCOME_NOT_RUN]));
		json_array_append_new(changes, c);
	}
	json_object_set_new(doc, "host", x->host ? json_string(x->host) : json_null());
	json_object_set_new(doc, "status", json_string(r->status));
	json_object_set_new(doc, "changes", changes);
	if (!r->error && x->errors && !strcmp(r->status, "error"))
		r->error = xstrdup(x->errors);
	json_object_set_new(doc, "error", r->error ? json_string(r->error) : json_null());
	json_object_set_new(doc, "rollback", r->rollback ? json_string(r->rollback) : json_null());
	json_object_set_new(doc, "confirm", r->confirm ? json_incref(r->confirm) : json_null());
	print_doc(doc);
	json_decref(doc);
}

/*
 * The ownership records after a successful apply: every bond, bridge and
 * vlan the config declares or derives (created or adopted); with
 * --no-delete also the links recorded before that still exist (their
 * delete comes later).
 */
static int write_records(struct host_ctx *x, char **error)
{
	struct vf_hostnet_owned o = { NULL, NULL, 0, 0 };
	size_t i;
	int rc;

	for (i = 0; i < x->desired.n; i++) {
		const struct vf_host_link *d = &x->desired.items[i];

		if (!d->absent && kind_made(d->kind))
			vf_hostnet_owned_add(&o, d->name, d->owner);
	}
	for (i = 0; x->no_delete && i < x->owned.n; i++)
		if (!vf_host_links_find(&x->desired, x->owned.names[i]) &&
		    vf_link_list_find(&x->list, x->owned.names[i]))
			vf_hostnet_owned_add(&o, x->owned.names[i], x->owned.owners[i]);
	rc = vf_hostnet_owned_write(x->state_file, &o, error);
	vf_hostnet_owned_release(&o);
	return rc;
}

static int write_confirmed(struct host_ctx *x, char **error)
{
	return vf_hostnet_write_json(x->confirmed_path, x->spec, "confirmed host network state",
				     error);
}

static bool host_approve(FILE *out)
{
	char line[64];

	fprintf(out, "\nApply these changes to this host's links? (yes/no) ");
	fflush(out);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return !strcmp(line, "yes");
}

static const char *op_verb(enum vf_hostnet_op op)
{
	switch (op) {
	case VF_HOSTNET_CREATE:  return "creating";
	case VF_HOSTNET_UPDATE:  return "updating";
	case VF_HOSTNET_REPLACE: return "replacing";
	case VF_HOSTNET_DELETE:  return "deleting";
	}
	return "changing";
}

/*
 * The change is applied and verified: keep it pending confirmation.
 * Start the watcher, write the pending file (everything to roll back from
 * it alone) and the new records, then let the watcher go.  0, or -1 with
 * *error (the caller rolls back; the watcher was called off).
 */
static int make_pending(struct host_ctx *x, struct applier *a, unsigned timeout,
			struct result *r, char **error)
{
	char token[33], *bid = NULL, *start = NULL;
	double now = now_real(), deadline, fire_at;
	json_t *doc = NULL;
	int go = -1, rc = -1;
	pid_t pid;

	if (token_new(token, error) < 0)
		return -1;
	/* a whole second: the deadline the file, people and the watcher share */
	deadline = (double)(long long)(now + timeout + 0.999);
	fire_at = now_mono() + (deadline - now);
	pid = watcher_start(x, token, fire_at, &go, error);
	if (pid < 0)
		return -1;
	bid = boot_id();
	start = proc_start(pid);
	doc = json_object();
	json_object_set_new(doc, "format", json_string("virtform-host-pending"));
	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "status", json_string("pending"));
	json_object_set_new(doc, "host", json_string(x->host));
	json_object_set_new(doc, "token", json_string(token));
	json_object_set_new(doc, "applied_at", json_integer((json_int_t)now));
	json_object_set_new(doc, "timeout", json_integer(timeout));
	json_object_set_new(doc, "deadline", json_integer((json_int_t)deadline));
	json_object_set_new(doc, "pid", json_integer(pid));
	json_object_set_new(doc, "pid_start", json_string(start));
	json_object_set_new(doc, "boot_id", json_string(bid));
	{
		char *ns = netns_id();
		json_object_set_new(doc, "netns", json_string(ns));
		free(ns);
	}
	json_object_set_new(doc, "spec", json_incref(x->spec));
	json_object_set_new(doc, "previous_records", vf_hostnet_owned_json(&x->owned));
	{
		json_t *snaps = json_array();
		size_t i;
		for (i = 0; i < a->n_snaps; i++)
			json_array_append_new(snaps, snap_json(&a->snaps[i]));
		json_object_set_new(doc, "snapshot", snaps);
	}
	json_object_set_new(doc, "steps", steps_json(a));
	json_object_set_new(doc, "rolled_back_at", json_null());
	json_object_set_new(doc, "rollback", json_null());
	if (vf_hostnet_write_json(x->pending_path, doc, "pending host network change", error) < 0)
		goto out;
	if (write_records(x, error) < 0) {
		unlink(x->pending_path);
		goto out;
	}
	if (write(go, "1", 1) != 1) {
		*error = xasprintf("cannot start the confirmation watcher: %s", strerror(errno));
		unlink(x->pending_path);
		goto out;
	}
	r->confirm = json_pack("{s:s, s:i, s:I}", "token", token, "timeout", (int)timeout,
			       "deadline", (json_int_t)deadline);
	rc = 0;
out:
	close(go);   /* without "1": the watcher exits */
	if (rc < 0)
		waitpid(pid, NULL, 0);
	json_decref(doc);
	free(bid);
	free(start);
	return rc;
}

/* Snapshot, execute, verify, roll back on failure, record; fills r.
 * The exit status. */
static int host_execute(struct host_ctx *x, unsigned confirm_timeout, struct result *r)
{
	struct applier a;
	FILE *out = x->progress;
	size_t i, created = 0, updated = 0, deleted = 0;
	char *error = NULL, *failed = NULL, *problems;
	int rc = VF_EXIT_ERROR;

	memset(&a, 0, sizeof(a));
	a.nl = x->nl;
	a.list = &x->list;
	for (i = 0; i < x->plan.n; i++) {
		const struct vf_hostnet_action *act = &x->plan.actions[i];

		snap_take(&a, act->name);
		if (act->kind == VF_HOST_LINK_VLAN && act->desired)
			snap_take(&a, act->desired->vlan_base);
	}

	fputc('\n', out);
	for (i = 0; i < x->plan.n && !failed; i++) {
		const struct vf_hostnet_action *act = &x->plan.actions[i];

		fflush(out);   /* progress before any error on stderr */
		a.action = i;
		if (apply_action(&a, act, &error) < 0) {
			failed = xasprintf("%s link.%s@%s failed", op_verb(act->op), act->name,
					   x->plan.host);
			fprintf(stderr, "Error: %s\n", error);
			r->outcomes[i] = OUTCOME_FAILED;
			r->error = xstrdup(error);
			break;
		}
		r->outcomes[i] = OUTCOME_DONE;
		fprintf(out, "link.%s@%s: %s\n", act->name, x->plan.host,
			act->op == VF_HOSTNET_CREATE ? "created" :
			act->op == VF_HOSTNET_REPLACE ? "replaced" :
			act->op == VF_HOSTNET_UPDATE ? "updated" : "deleted");
		switch (act->op) {
		case VF_HOSTNET_CREATE:  created++; break;
		case VF_HOSTNET_UPDATE:  updated++; break;
		case VF_HOSTNET_REPLACE: created++; deleted++; break;
		case VF_HOSTNET_DELETE:  deleted++; break;
		}
	}
	free(error);
	error = NULL;
	fflush(out);
	a.action = (size_t)-1;   /* verification's own MTU steps belong to no action */
	if (!failed) {
		problems = verify(&a, x, &error);
		if (error) {
			failed = xasprintf("verification failed: %s", error);
			fprintf(stderr, "Error: %s\n", error);
		} else if (problems) {
			failed = xasprintf("verification failed: %s", problems);
			fprintf(stderr, "Error: verification failed: %s\n", problems);
		}
		if (failed && !r->error)
			r->error = xstrdup(failed);
		free(problems);
		free(error);
		error = NULL;
	}
	if (!failed && confirm_timeout && make_pending(x, &a, confirm_timeout, r, &error) < 0) {
		failed = xasprintf("keeping the change for confirmation failed: %s", error);
		fprintf(stderr, "Error: %s\n", error);
		r->error = error;
		error = NULL;
	}
	if (failed) {
		fflush(out);
		problems = rollback(&a);
		for (i = 0; i < x->plan.n; i++)
			if (r->outcomes[i] == OUTCOME_DONE)
				r->outcomes[i] = OUTCOME_ROLLED_BACK;
		for (i = 0; i < a.n_steps; i++)
			if (a.steps[i].undo_failed && a.steps[i].action < x->plan.n)
				r->outcomes[a.steps[i].action] = OUTCOME_DONE;
		if (problems) {
			fprintf(stderr, "rollback incomplete: %s; %s. Check the links with "
				"'virtform host show'.\n", failed, problems);
			r->status = "failed";
			r->rollback = xasprintf("incomplete: %s", problems);
			free(problems);
		} else {
			fprintf(stderr, "rolled back: %s; %zu change%s undone, the links are as "
				"they were before.\n", failed, a.n_steps, a.n_steps == 1 ? "" : "s");
			r->status = "rolled-back";
			r->rollback = xstrdup("complete");
		}
		free(failed);
		applier_release(&a);
		return VF_EXIT_ERROR;
	}
	a.nl = NULL;   /* x's */
	if (confirm_timeout) {
		char until[64];

		r->status = "pending";
		fprintf(out, "\nHost apply complete: %zu created, %zu updated, %zu deleted.\n",
			created, updated, deleted);
		fprintf(out, "The change is kept only if confirmed by %s: run 'virtform host "
			"confirm --token %s' within %u s, or it is rolled back.\n",
			time_text(jint(r->confirm, "deadline"), until, sizeof(until)),
			jstr(r->confirm, "token"), confirm_timeout);
		rc = VF_EXIT_OK;
	} else if (write_records(x, &error) < 0 || write_confirmed(x, &error) < 0) {
		report(x, "the links are applied, but %s", error);
		r->status = "failed";
		r->error = error;
		error = NULL;
	} else {
		r->status = "applied";
		fprintf(out, "\nHost apply complete: %zu created, %zu updated, %zu deleted.\n",
			created, updated, deleted);
		rc = VF_EXIT_OK;
	}
	free(error);
	applier_release(&a);
	return rc;
}

static int host_apply_run(int argc, char **argv)
{
	enum { OPT_HOST = 256, OPT_AUTO, OPT_STATE_FILE, OPT_SPEC, OPT_JSON, OPT_NO_DELETE,
	       OPT_CONFIRM_TIMEOUT, OPT_LAST_CONFIRMED };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "spec", required_argument, NULL, OPT_SPEC },
		{ "last-confirmed", no_argument, NULL, OPT_LAST_CONFIRMED },
		{ "auto-approve", no_argument, NULL, OPT_AUTO },
		{ "no-delete", no_argument, NULL, OPT_NO_DELETE },
		{ "confirm-timeout", required_argument, NULL, OPT_CONFIRM_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "state-file", required_argument, NULL, OPT_STATE_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host_name = NULL, *state_file = VF_HOSTNET_STATE_FILE, *spec_path = NULL;
	const char *timeout_text = NULL;
	struct result r = { "error", NULL, NULL, NULL, NULL };
	struct host_ctx x;
	bool auto_approve = false, json = false, no_delete = false, last_confirmed = false;
	unsigned timeout = 0;
	char *error = NULL;
	int c, rc = VF_EXIT_ERROR;

	while ((c = vf_getopt(&host_apply, argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case OPT_HOST: host_name = optarg; break;
		case OPT_SPEC: spec_path = optarg; break;
		case OPT_LAST_CONFIRMED: last_confirmed = true; break;
		case OPT_AUTO: auto_approve = true; break;
		case OPT_NO_DELETE: no_delete = true; break;
		case OPT_CONFIRM_TIMEOUT: timeout_text = optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_STATE_FILE: state_file = optarg; break;
		case 'h': fputs(apply_usage, stdout); return VF_EXIT_OK;
		default: return VF_EXIT_ERROR;
		}
	}
	host_ctx_init(&x, &host_apply, json);
	x.no_delete = no_delete;
	set_host(&x, host_name);
	if (timeout_text) {
		char *end;
		unsigned long t;

		errno = 0;
		t = strtoul(timeout_text, &end, 10);
		if (errno || end == timeout_text || *end || t < 1 || t > 3600 ||
		    timeout_text[0] == '-') {
			report(&x, "--confirm-timeout '%s' is not a whole number of seconds in "
			       "1..3600", timeout_text);
			goto out;
		}
		timeout = (unsigned)t;
	}
	if (source_check(&x, SOURCE_CONFIG, spec_path, last_confirmed, host_name, argc) < 0 ||
	    host_paths(&x, state_file) < 0 || host_lock(&x) < 0 || pending_check(&x) < 0)
		goto out;
	if (last_confirmed) {
		bool missing;
		json_t *doc = json_file_read(x.confirmed_path, "confirmed host network state",
					     &missing, &error);

		if (!doc && missing) {
			fprintf(x.progress, "No confirmed host network state in %s: nothing to apply.\n",
				x.dir);
			r.status = "unchanged";
			rc = VF_EXIT_OK;
			goto out;
		}
		if (!doc) {
			report(&x, "%s", error);
			goto out;
		}
		error = xasprintf("the last confirmed host spec '%s'", x.confirmed_path);
		rc = desired_from_spec(&x, doc, error, NULL);
		free(error);
		error = NULL;
		json_decref(doc);
		rc = VF_EXIT_ERROR;
		if (!x.spec)
			goto out;
		auto_approve = true;
	} else if (desired_load(&x, spec_path ? SOURCE_SPEC : SOURCE_CONFIG, spec_path,
				host_name, argc, argv) < 0) {
		goto out;
	}
	if (host_plan_build(&x) < 0)
		goto out;
	r.outcomes = xcalloc(x.plan.n + 1, sizeof(*r.outcomes));
	vf_hostnet_plan_print(&x.plan, x.progress);
	if (!x.plan.n) {
		/* converged: record what is ours (adopted links), and that this
		 * spec is what the host has */
		if (write_records(&x, &error) < 0 || write_confirmed(&x, &error) < 0) {
			report(&x, "%s", error);
			goto out;
		}
		r.status = "unchanged";
		rc = VF_EXIT_OK;
		goto out;
	}
	if (!auto_approve) {
		if (!isatty(STDIN_FILENO)) {
			report(&x, "no terminal to confirm on: review the plan and give "
			       "--auto-approve to apply without asking");
			goto out;
		}
		if (!host_approve(x.progress)) {
			fprintf(x.progress, "Apply cancelled; nothing was changed.\n");
			errors_append(&x, "apply cancelled; nothing was changed");
			goto out;
		}
	}
	rc = host_execute(&x, timeout, &r);
out:
	fflush(x.progress);
	if (json)
		print_apply_doc(&x, &r);
	free(r.outcomes);
	free(r.error);
	free(r.rollback);
	json_decref(r.confirm);
	free(error);
	host_ctx_release(&x);
	return rc;
}

static const struct vf_cmd host_apply = {
	.name = "host apply",
	.summary = "converge this machine's links, verified, rolled back on failure",
	.usage = apply_usage,
	.run = host_apply_run,
};

/* ---- host confirm --------------------------------------------------------- */

static const char confirm_usage[] =
	"usage: virtform host confirm --token TOKEN [--json] [--state-file FILE]\n"
	"\n"
	"Keep the change that 'virtform host apply --confirm-timeout SECONDS' made\n"
	"and that waits for confirmation: its spec becomes the last confirmed\n"
	"state (" VF_HOSTNET_CONFIRMED_NAME "), and its watcher, which would have\n"
	"rolled it back at the deadline, ends.\n"
	"\n"
	"Options:\n"
	"      --token TOKEN        the token 'host apply' printed (32 hex digits)\n"
	"      --json               print {\"host\", \"status\": \"confirmed\"} (or an error\n"
	"                           document) on stdout\n"
	"      --state-file FILE    ownership records (default " VF_HOSTNET_STATE_FILE ");\n"
	"                           the pending change is in the same directory\n"
	"  -h, --help               show this help\n"
	"\n"
	"Exit status: 0 confirmed; 1 error: nothing waits for confirmation, another\n"
	"token, the change was already rolled back (no confirmation in time).\n";

static int host_confirm_run(int argc, char **argv);

static const struct vf_cmd host_confirm = {
	.name = "host confirm",
	.summary = "keep a host network change that waits for confirmation",
	.usage = confirm_usage,
	.run = host_confirm_run,
};

static int host_confirm_run(int argc, char **argv)
{
	enum { OPT_TOKEN = 256, OPT_JSON, OPT_STATE_FILE };
	static const struct option longopts[] = {
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "state-file", required_argument, NULL, OPT_STATE_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *token = NULL, *state_file = VF_HOSTNET_STATE_FILE;
	char applied[64], when[64], *error = NULL, *outcome = NULL, *bid = NULL;
	struct host_ctx x;
	json_t *doc = NULL;
	bool json = false, failed;
	int c, rc = VF_EXIT_ERROR;

	while ((c = vf_getopt(&host_confirm, argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case OPT_TOKEN: token = optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_STATE_FILE: state_file = optarg; break;
		case 'h': fputs(confirm_usage, stdout); return VF_EXIT_OK;
		default: return VF_EXIT_ERROR;
		}
	}
	host_ctx_init(&x, &host_confirm, json);
	if (!token) {
		report(&x, "--token TOKEN is required: the token 'virtform host apply "
		       "--confirm-timeout' printed");
		goto out;
	}
	if (optind < argc) {
		report(&x, "unexpected argument '%s'; see 'virtform host confirm --help'",
		       argv[optind]);
		goto out;
	}
	if (host_paths(&x, state_file) < 0 || host_lock(&x) < 0)
		goto out;
	doc = pending_read(&x, &failed);
	if (!doc) {
		if (!failed)
			report(&x, "nothing waits for confirmation on this host (no pending change "
			       "in %s)", x.dir);
		goto out;
	}
	set_host(&x, jstr(doc, "host"));
	time_text(jint(doc, "applied_at"), applied, sizeof(applied));
	if (strcmp(jstr(doc, "token"), token)) {
		if (!strcmp(jstr(doc, "status"), "pending"))
			report(&x, "token '%s' is not the token of the change that waits for "
			       "confirmation (applied at %s); give the token its 'virtform host "
			       "apply' printed", token, applied);
		else
			report(&x, "nothing waits for confirmation on this host (the last change, "
			       "with another token, was rolled back)");
		goto out;
	}
	bid = boot_id();
	if (!strcmp(jstr(doc, "status"), "pending") &&
	    (strcmp(bid, jstr(doc, "boot_id")) || now_real() >= (double)jint(doc, "deadline"))) {
		/* too late: roll back now rather than wait for the watcher */
		if (pending_rollback(x.pending_path, x.state_file, doc, &outcome) < 0 &&
		    !strcmp(jstr(doc, "status"), "pending")) {
			report(&x, "the confirmation came after the deadline, and the rollback "
			       "failed: %s", outcome);
			goto out;
		}
	}
	if (strcmp(jstr(doc, "status"), "pending")) {
		time_text(jint(doc, "rolled_back_at"), when, sizeof(when));
		report(&x, "the change was rolled back at %s: no confirmation came within %lld s "
		       "(rollback %s)", when, (long long)jint(doc, "timeout"), jstr(doc, "rollback"));
		goto out;
	}
	if (vf_hostnet_write_json(x.confirmed_path, json_object_get(doc, "spec"),
				  "confirmed host network state", &error) < 0) {
		report(&x, "%s", error);
		goto out;
	}
	if (unlink(x.pending_path) < 0) {
		report(&x, "cannot remove '%s': %s; the change is confirmed, but its watcher "
		       "will roll it back at the deadline unless the file goes", x.pending_path,
		       strerror(errno));
		goto out;
	}
	if (watcher_alive(doc))   /* it would notice within 100 ms; spare it that */
		kill((pid_t)jint(doc, "pid"), SIGTERM);
	{
		int dfd = open(x.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	if (json) {
		json_t *ok = json_pack("{s:s, s:s}", "host", x.host, "status", "confirmed");
		print_doc(ok);
		json_decref(ok);
	} else {
		printf("Confirmed: the change applied at %s to host %s is kept.\n", applied, x.host);
	}
	rc = VF_EXIT_OK;
out:
	if (rc != VF_EXIT_OK && json)
		print_error_doc(&x);
	json_decref(doc);
	free(error);
	free(outcome);
	free(bid);
	host_ctx_release(&x);
	return rc;
}

static int host_run(int argc, char **argv)
{
	const char *names[8];
	const char *near;
	size_t i, n = 0;

	if (argc < 2) {
		fputs(usage, stderr);
		return vf_cmd_error(&vf_cmd_host, "a subcommand is required; see 'virtform host --help'");
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, stdout);
		return VF_EXIT_OK;
	}
	for (i = 0; subcommands[i]; i++) {
		/* "host show" -> "show" */
		const char *sub = subcommands[i]->name + strlen("host ");
		if (!strcmp(sub, argv[1]))
			return subcommands[i]->run(argc - 1, argv + 1);
		if (n < VF_ARRAY_SIZE(names))
			names[n++] = sub;
	}
	near = vf_nearest(argv[1], names, n);
	if (near)
		return vf_cmd_error(&vf_cmd_host, "unknown subcommand '%s'; did you mean '%s'?",
				    argv[1], near);
	return vf_cmd_error(&vf_cmd_host, "unknown subcommand '%s'; see 'virtform host --help'", argv[1]);
}

const struct vf_cmd vf_cmd_host = {
	.name = "host",
	.summary = "this machine's host networking (host show, plan, apply, confirm)",
	.usage = usage,
	.run = host_run,
};
