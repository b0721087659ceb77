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
 * A change kept for confirmation that is not confirmed in time is rolled
 * back by a watcher process, or failing that by the next apply or confirm
 * (cmd/host-confirm.c).
 *
 * Sub-commands get their own descriptor named "host SUB", so option errors
 * and --help read "virtform host show: ...".
 *
 * host show reads the network namespace virtform runs in: run it under
 * `ip netns exec NS` to see a namespace's links.
 *
 * This file holds the dispatcher, host show, the context that host plan,
 * apply and confirm share (reporting, the host-local paths and the lock,
 * loading the desired links, building the plan) and host plan.  host apply
 * is in cmd/host-apply.c, the pending change and host confirm in
 * cmd/host-confirm.c; cmd/host.h declares what crosses between them.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/host.h"
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

static const struct vf_cmd host_show = VF_CMD("host show", "this machine's network links",
	show_usage, host_show_run, .options = VF_OPTS(VF_OPT_JSON));

static const struct vf_cmd host_plan = VF_CMD("host plan",
	"what converging this machine's links would change", plan_usage, host_plan_run,
	.options = VF_OPTS(VF_OPT_HOST, VF_OPT_SPEC, VF_OPT_JSON, VF_OPT_NO_DELETE,
			   VF_OPT_DETAILED_EXITCODE, VF_OPT_STATE_FILE));

static const struct vf_cmd *const subcommands[] = {
	&host_show,
	&host_plan,
	&vf_hostcmd_apply,
	&vf_hostcmd_confirm,
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
	struct vf_buf s = VF_BUF_INIT;
	size_t i;

	for (i = 0; i < l->n_ports; i++) {
		if (i)
			vf_buf_addch(&s, ',');
		vf_buf_adds(&s, l->ports[i]);
	}
	return vf_buf_detach(&s);
}

static char *details_text(const struct vf_link *l)
{
	char *ports = ports_text(l), *s;

	switch (l->kind) {
	case VF_LINK_KIND_VLAN:
		s = xasprintf("base %s id %u", l->vlan_base[0] ? l->vlan_base : "?", l->vlan_id);
		break;
	case VF_LINK_KIND_BOND: {
		struct vf_buf b = VF_BUF_INIT;
		size_t i;

		vf_buf_addf(&b, "mode %s%s%s", l->bond_mode[0] ? l->bond_mode : "?",
			    l->n_ports ? " ports " : "", ports);
		for (i = 0; i < l->n_bond_options; i++)
			vf_buf_addf(&b, " %s %s", l->bond_options[i].name, l->bond_options[i].value);
		s = vf_buf_detach(&b);
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

/* {"miimon": "100", ...}: a bond's options, for host show and the snapshot. */
json_t *vf_hostcmd_bond_options_json(const struct vf_link *l)
{
	json_t *opts = json_object();
	size_t i;

	for (i = 0; i < l->n_bond_options; i++)
		json_object_set_new(opts, l->bond_options[i].name,
				    json_string(l->bond_options[i].value));
	return opts;
}

/* Link names are bytes to the kernel: one that is not UTF-8 (json_string
 * refuses it) is a null member (o?), not a link missing from the list. */
static json_t *link_json(const struct vf_link *l)
{
	json_t *o = json_pack("{s:o?, s:i, s:s, s:o, s:o, s:I, s:b, s:s, s:o?}",
		"name", json_string(l->name), "ifindex", l->ifindex,
		"kind", vf_link_kind_name(l->kind), "kernel_kind", string_or_null(l->kernel_kind),
		"link_type", string_or_null(l->link_type), "mtu", (json_int_t)l->mtu,
		"up", l->up, "operstate", l->operstate, "master", string_or_null(l->master));

	if (l->kind == VF_LINK_KIND_VLAN)
		json_object_set_new(o, "vlan", json_pack("{s:o, s:i}",
			"base", string_or_null(l->vlan_base), "id", (int)l->vlan_id));
	if (l->kind == VF_LINK_KIND_BOND)
		json_object_set_new(o, "bond", json_pack("{s:o, s:o, s:o}",
			"mode", string_or_null(l->bond_mode), "ports", ports_json(l),
			"options", vf_hostcmd_bond_options_json(l)));
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
	struct vf_link_list list = { NULL, 0 };
	struct vf_netlink *nl;
	char *error = NULL;
	bool json = false;
	int rc = VF_CMD_PARSE(&host_show, argc, argv, "; see 'virtform host show --help'",
			      VF_FLAG(VF_OPT_JSON, &json));

	if (rc != VF_CMD_GO_ON)
		return rc;

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

/* A live link's kind as the engine's records have it: a veth is an
 * Ethernet link to the plan (lab uplinks are veths). */
enum vf_host_link_kind vf_hostcmd_link_kind(enum vf_link_kind kind)
{
	switch (kind) {
	case VF_LINK_KIND_ETHERNET:
	case VF_LINK_KIND_VETH:   return VF_HOST_LINK_ETHERNET;
	case VF_LINK_KIND_BRIDGE: return VF_HOST_LINK_BRIDGE;
	case VF_LINK_KIND_VLAN:   return VF_HOST_LINK_VLAN;
	case VF_LINK_KIND_BOND:   return VF_HOST_LINK_BOND;
	case VF_LINK_KIND_OTHER:  break;
	}
	return VF_HOST_LINK_OTHER;
}

/* The live links as the engine's neutral records (reconcile/hostnet.h). */
static void links_to_host_links(const struct vf_link_list *list, struct vf_host_links *out)
{
	size_t i, j;

	for (i = 0; i < list->n; i++) {
		const struct vf_link *l = &list->links[i];
		struct vf_host_link *h = vf_host_links_add(out, l->name);

		h->kind = vf_hostcmd_link_kind(l->kind);
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

void vf_hostcmd_init(struct vf_hostcmd *x, const struct vf_cmd *cmd, bool json)
{
	memset(x, 0, sizeof(*x));
	x->cmd = cmd;
	x->json = json;
	x->progress = json ? stderr : stdout;
	x->lock_fd = -1;
	vf_buf_init(&x->errors);
	x->desired.arena = (struct vf_arena)VF_ARENA_INIT;
	x->observed.arena = (struct vf_arena)VF_ARENA_INIT;
}

void vf_hostcmd_release(struct vf_hostcmd *x)
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
	vf_buf_release(&x->errors);
	free(x->host);
	free(x->state_file);
	free(x->dir);
	free(x->pending_path);
	free(x->confirmed_path);
	free(x->lock_path);
}

void vf_hostcmd_errors_append(struct vf_hostcmd *x, const char *msg)
{
	vf_buf_addsep(&x->errors, "\n", msg);
}

/* "virtform host apply: error: MSG" on stderr, and MSG kept for --json.
 * Returns -1. */
__attribute__((format(printf, 2, 3)))
int vf_hostcmd_report(struct vf_hostcmd *x, const char *fmt, ...)
{
	size_t start;
	va_list ap;

	vf_buf_addsep(&x->errors, "\n", "");
	start = x->errors.len;
	va_start(ap, fmt);
	vf_buf_vaddf(&x->errors, fmt, ap);
	va_end(ap);
	vf_cmd_error(x->cmd, "%s", x->errors.buf + start);
	return -1;
}

/* Diagnostics as vf_diags_print renders them, on stderr and kept. */
static void report_diags(struct vf_hostcmd *x, struct vf_diags *diags)
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
		vf_hostcmd_errors_append(x, text);
	free(text);
}

void vf_hostcmd_set_name(struct vf_hostcmd *x, const char *name)
{
	free(x->host);
	x->host = name ? xstrdup(name) : NULL;
}

/* Print doc on stdout (the one --json document).  0 or -1. */
int vf_hostcmd_print_doc(json_t *doc)
{
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2));

	fputc('\n', stdout);
	return rc < 0 || fflush(stdout) != 0 ? -1 : 0;
}

/* {"host", "status": "error", "error"} for a failure with --json. */
void vf_hostcmd_print_error_doc(struct vf_hostcmd *x)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "host", x->host ? json_string(x->host) : json_null());
	json_object_set_new(doc, "status", json_string("error"));
	json_object_set_new(doc, "error", json_string(x->errors.len ? x->errors.buf : "failed"));
	vf_hostcmd_print_doc(doc);
	json_decref(doc);
}

/* The host-local files: state_file and, in its directory, the others. */
int vf_hostcmd_paths(struct vf_hostcmd *x, const char *state_file)
{
	char *copy, *dir, *cwd;

	if (state_file[0] == '/') {
		x->state_file = xstrdup(state_file);
	} else {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return vf_hostcmd_report(x, "cannot find the current directory for --state-file '%s': %s",
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
 * Open and lock path (created 0600, its directory 0700 and refused when
 * others can write it: vf_private_dir_check): every host
 * command that changes links or the host-local files holds it, and so
 * does the watcher when it rolls back.  Waits up to wait_s seconds for
 * another holder (a confirm or a rollback takes milliseconds).  The fd,
 * or -1 with *error.
 */
int vf_hostcmd_lock_open(const char *path, const char *dir, double wait_s, char **error)
{
	int fd;

	*error = vf_private_dir_check(dir, "the host network state directory", true);
	if (*error)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		*error = xasprintf("cannot open the lock '%s': %s", path, strerror(errno));
		return -1;
	}
	if (vf_flock_wait(fd, wait_s) < 0) {
		if (errno != EWOULDBLOCK)
			*error = xasprintf("cannot lock '%s': %s", path, strerror(errno));
		else
			*error = xasprintf("another virtform host command holds the lock '%s' (for "
					   "more than %.0f s); wait for it to finish and try again",
					   path, wait_s);
		close(fd);
		return -1;
	}
	return fd;
}

int vf_hostcmd_lock(struct vf_hostcmd *x)
{
	char *error = NULL;

	x->lock_fd = vf_hostcmd_lock_open(x->lock_path, x->dir, 30, &error);
	if (x->lock_fd < 0) {
		vf_hostcmd_report(x, "%s", error);
		free(error);
		return -1;
	}
	return 0;
}

/* A JSON file, or NULL: *missing when it does not exist, else *error. */
json_t *vf_hostcmd_json_file_read(const char *path, const char *what, bool *missing, char **error)
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
int vf_hostcmd_desired_from_spec(struct vf_hostcmd *x, json_t *spec, const char *what,
			     const char *host_name)
{
	const char *host = NULL;
	char *error = NULL;

	if (vf_hostnet_spec_parse(spec, &x->desired, &host, &error) < 0) {
		vf_hostcmd_report(x, "%s (%s)", error, what);
		free(error);
		return -1;
	}
	if (host_name && strcmp(host_name, host))
		return vf_hostcmd_report(x, "--host %s does not match the host spec's host '%s' (%s); give "
			      "the spec of this host, or leave --host out", host_name, host, what);
	vf_hostcmd_set_name(x, host);
	x->spec = vf_hostnet_spec_json(host, &x->desired);
	return 0;
}

/* The desired links from a config (--host NAME [CONFIG]). */
static int desired_from_config(struct vf_hostcmd *x, const char *path, const char *host_name)
{
	struct vf_diags diags = { 0 };
	const struct vf_host *host;
	int rc = -1;

	if (!host_name)
		return vf_hostcmd_report(x, "--host NAME is required: the host of the configuration this "
			      "machine is (or give --spec FILE)");
	vf_hostcmd_set_name(x, host_name);
	x->config = vf_config_load(path, &diags);
	if (!x->config) {
		char *count = xasprintf("%zu error%s in %s", diags.n_errors,
					diags.n_errors == 1 ? "" : "s", path);
		report_diags(x, &diags);
		fprintf(stderr, "%s\n", count);
		vf_hostcmd_errors_append(x, count);
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
			vf_hostcmd_report(x, "no host '%s' in %s; did you mean '%s'?", host_name, path, near);
		else
			vf_hostcmd_report(x, "no host '%s' in %s", host_name, path);
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

int vf_hostcmd_desired_load(struct vf_hostcmd *x, enum vf_hostcmd_source src, const char *spec_path,
			const char *host_name, int argc, char **argv)
{
	json_error_t je;
	json_t *doc;
	char *what;
	int rc;

	if (src == VF_HOSTCMD_SOURCE_CONFIG) {
		const char *path = vf_cmd_config_arg(x->cmd, argc, argv);
		if (!path) {
			vf_hostcmd_errors_append(x, "expected at most one CONFIG argument");
			return -1;
		}
		return desired_from_config(x, path, host_name);
	}
	vf_hostcmd_set_name(x, host_name);
	if (optind < argc)
		return vf_hostcmd_report(x, "unexpected argument '%s': with --spec the desired links come "
			      "from the spec, not a CONFIG", argv[optind]);
	if (!strcmp(spec_path, "-")) {
		doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
		what = xstrdup("the host spec on stdin");
	} else {
		doc = json_load_file(spec_path, JSON_REJECT_DUPLICATES, &je);
		what = xasprintf("the host spec '%s'", spec_path);
	}
	if (!doc) {
		vf_hostcmd_report(x, "cannot read %s: line %d, column %d: %s", what, je.line, je.column,
		       je.text);
		free(what);
		return -1;
	}
	rc = vf_hostcmd_desired_from_spec(x, doc, what, host_name);
	json_decref(doc);
	free(what);
	return rc;
}

/* Read the records and the links, build the plan (without its deletes
 * when --no-delete).  0, or -1 reported. */
int vf_hostcmd_plan_build(struct vf_hostcmd *x)
{
	struct vf_diags diags = { 0 };
	char *error = NULL;

	vf_hostnet_owned_release(&x->owned);
	if (vf_hostnet_owned_read(x->state_file, &x->owned, &error) < 0 ||
	    (!x->nl && vf_netlink_open(&x->nl, &error) < 0) ||
	    vf_link_list_read(x->nl, &x->list, &error) < 0) {
		vf_hostcmd_report(x, "%s", error);
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

/* ---- host plan ------------------------------------------------------------ */

static int host_plan_run(int argc, char **argv)
{
	const char *host_name = NULL, *state_file = VF_HOSTNET_STATE_FILE, *spec_path = NULL;
	struct vf_hostcmd x;
	bool json = false, detailed = false, no_delete = false;
	int c, rc = VF_EXIT_ERROR;

	while ((c = vf_cmd_getopt(&host_plan, argc, argv)) != -1) {
		switch (c) {
		case VF_OPT_HOST: host_name = optarg; break;
		case VF_OPT_SPEC: spec_path = optarg; break;
		case VF_OPT_JSON: json = true; break;
		case VF_OPT_NO_DELETE: no_delete = true; break;
		case VF_OPT_DETAILED_EXITCODE: detailed = true; break;
		case VF_OPT_STATE_FILE: state_file = optarg; break;
		default: return vf_cmd_usage_or_error(&host_plan, c);
		}
	}
	vf_hostcmd_init(&x, &host_plan, json);
	x.no_delete = no_delete;
	vf_hostcmd_set_name(&x, host_name);
	if (vf_hostcmd_paths(&x, state_file) < 0 ||
	    vf_hostcmd_desired_load(&x, spec_path ? VF_HOSTCMD_SOURCE_SPEC : VF_HOSTCMD_SOURCE_CONFIG, spec_path, host_name,
			 argc, argv) < 0 ||
	    vf_hostcmd_plan_build(&x) < 0)
		goto out;
	if (json ? vf_hostnet_plan_print_json(&x.plan, stdout) < 0
		 : (vf_hostnet_plan_print(&x.plan, stdout), 0)) {
		vf_hostcmd_report(&x, "cannot write the plan");
		goto out;
	}
	if (fflush(stdout) != 0) {
		vf_hostcmd_report(&x, "cannot write output");
		goto out;
	}
	rc = detailed && x.plan.n ? VF_EXIT_CHANGES : VF_EXIT_OK;
out:
	if (rc == VF_EXIT_ERROR && json)
		vf_hostcmd_print_error_doc(&x);
	vf_hostcmd_release(&x);
	return rc;
}

static int host_run(int argc, char **argv)
{
	const struct vf_cmd *sub;
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
	sub = vf_cmd_subcommand(&vf_cmd_host, argv[1]);
	if (sub)
		return sub->run(argc - 1, argv + 1);
	for (i = 0; subcommands[i] && n < VF_ARRAY_SIZE(names); i++)
		names[n++] = vf_cmd_subcommand_word(subcommands[i]);
	near = vf_nearest(argv[1], names, n);
	if (near)
		return vf_cmd_error(&vf_cmd_host, "unknown subcommand '%s'; did you mean '%s'?",
				    argv[1], near);
	return vf_cmd_error(&vf_cmd_host, "unknown subcommand '%s'; see 'virtform host --help'", argv[1]);
}

const struct vf_cmd vf_cmd_host = VF_CMD("host",
	"this machine's host networking (host show, plan, apply, confirm)", usage, host_run,
	.subcommands = subcommands);
