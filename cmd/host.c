/*
 * host.c — `virtform host SUBCOMMAND`: what virtform does on the machine
 * it runs on, as opposed to the hosts of a configuration.
 *
 *   virtform host show [--json]   this machine's links as virtform sees them
 *   virtform host plan --host NAME [CONFIG]
 *                                 what converging this machine's links to
 *                                 host NAME of the config would change
 *
 *   virtform host apply --host NAME [CONFIG] [--auto-approve]
 *                                 carry that plan out: snapshot the links it
 *                                 touches, execute, verify, roll back on
 *                                 failure, write the ownership records
 *
 * Sub-commands get their own descriptor named "host SUB", so option errors
 * and --help read "virtform host show: ...".  The controller driving
 * `host apply` over SSH and --confirm-timeout are later parts of issue 5.
 *
 * host show reads the network namespace virtform runs in: run it under
 * `ip netns exec NS` to see a namespace's links.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	"  plan --host NAME [CONFIG]\n"
	"                  what converging them to host NAME of CONFIG would change\n"
	"  apply --host NAME [CONFIG] [--auto-approve]\n"
	"                  converge them, verified, rolled back on failure\n"
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
	"and id, a bond's mode, a bridge's stp; a bridge's or bond's ports).\n"
	"\n"
	"Options:\n"
	"      --json   print one JSON document instead of the table:\n"
	"               {\"links\": [{\"name\", \"ifindex\", \"kind\", \"kernel_kind\",\n"
	"               \"mtu\", \"up\", \"operstate\", \"master\", ...}]}\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 success; 1 the links could not be read.\n";

static const char plan_usage[] =
	"usage: virtform host plan --host NAME [CONFIG] [--json] [--detailed-exitcode]\n"
	"                          [--state-file FILE]\n"
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
	"      --host NAME          the host of CONFIG this machine is (required)\n"
	"      --json               print the plan as one JSON document\n"
	"      --detailed-exitcode  exit 0 no changes, 2 changes, 1 error\n"
	"      --state-file FILE    ownership records (default " VF_HOSTNET_STATE_FILE ")\n"
	"  -h, --help               show this help\n"
	"\n"
	"Exit status: 0 success (with --detailed-exitcode: no changes), 2 changes\n"
	"(with --detailed-exitcode), 1 error: invalid configuration, unknown host,\n"
	"a change that cannot be made (a missing uplink, an MTU above the uplink's,\n"
	"a link of another kind in the way), links that could not be read.\n";

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

static const struct vf_cmd *const subcommands[] = {
	&host_show,
	&host_plan,
	&host_apply,
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
	case VF_LINK_KIND_BOND:
		s = xasprintf("mode %s%s%s", l->bond_mode[0] ? l->bond_mode : "?",
			      l->n_ports ? " ports " : "", ports);
		break;
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
	if (l->kind == VF_LINK_KIND_BOND)
		json_object_set_new(o, "bond", json_pack("{s:o, s:o}",
			"mode", string_or_null(l->bond_mode), "ports", ports_json(l)));
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
	}
}

/* What host plan and host apply share: the config, the links, the plan. */
struct host_ctx {
	struct vf_host_links desired, observed;
	struct vf_hostnet_plan plan;
	struct vf_hostnet_owned owned;
	struct vf_link_list list;
	struct vf_config *config;
	struct vf_diags diags;
	struct vf_netlink *nl;
	const struct vf_host *host;
};

static void host_ctx_init(struct host_ctx *x)
{
	memset(x, 0, sizeof(*x));
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
	vf_diags_release(&x->diags);
	vf_config_free(x->config);
}

/* Load the config, find the host, read the records and the links, build
 * the plan.  0, or -1 with the error reported. */
static int host_prepare(const struct vf_cmd *cmd, int argc, char **argv, const char *host_name,
			const char *state_file, struct host_ctx *x)
{
	const char *path;
	char *error = NULL;

	if (!host_name)
		return vf_cmd_error(cmd, "--host NAME is required: the host of the "
				    "configuration this machine is"), -1;
	path = vf_cmd_config_arg(cmd, argc, argv);
	if (!path)
		return -1;
	x->config = vf_cmd_load_config(path);
	if (!x->config)
		return -1;
	x->host = vf_config_find_host(x->config, host_name);
	if (!x->host) {
		const char *names[64];
		const char *near;
		size_t i, n = 0;

		for (i = 0; i < x->config->n_hosts && n < VF_ARRAY_SIZE(names); i++)
			names[n++] = x->config->hosts[i].name;
		near = vf_nearest(host_name, names, n);
		if (near)
			vf_cmd_error(cmd, "no host '%s' in %s; did you mean '%s'?",
				     host_name, path, near);
		else
			vf_cmd_error(cmd, "no host '%s' in %s", host_name, path);
		return -1;
	}
	if (vf_hostnet_owned_read(state_file, &x->owned, &error) < 0 ||
	    vf_netlink_open(&x->nl, &error) < 0 || vf_link_list_read(x->nl, &x->list, &error) < 0) {
		vf_cmd_error(cmd, "%s", error);
		free(error);
		return -1;
	}
	links_to_host_links(&x->list, &x->observed);
	if (vf_hostnet_desired(x->config, x->host, &x->desired, &x->diags) < 0 ||
	    vf_hostnet_plan_build(x->host->name, &x->desired, &x->observed, &x->owned, &x->plan,
				  &x->diags) < 0) {
		vf_diags_sort(&x->diags);
		vf_diags_print(&x->diags, stderr);
		return -1;
	}
	return 0;
}

static int host_plan_run(int argc, char **argv)
{
	enum { OPT_HOST = 256, OPT_JSON, OPT_DETAILED, OPT_STATE_FILE };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "detailed-exitcode", no_argument, NULL, OPT_DETAILED },
		{ "state-file", required_argument, NULL, OPT_STATE_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host_name = NULL, *state_file = VF_HOSTNET_STATE_FILE;
	struct host_ctx x;
	bool json = false, detailed = false;
	int c, rc = VF_EXIT_ERROR;

	while ((c = vf_getopt(&host_plan, argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case OPT_HOST: host_name = optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_DETAILED: detailed = true; break;
		case OPT_STATE_FILE: state_file = optarg; break;
		case 'h': fputs(plan_usage, stdout); return VF_EXIT_OK;
		default: return VF_EXIT_ERROR;
		}
	}
	host_ctx_init(&x);
	if (host_prepare(&host_plan, argc, argv, host_name, state_file, &x) < 0)
		goto out;
	if (json ? vf_hostnet_plan_print_json(&x.plan, stdout) < 0
		 : (vf_hostnet_plan_print(&x.plan, stdout), 0)) {
		vf_cmd_error(&host_plan, "cannot write the plan");
		goto out;
	}
	if (fflush(stdout) != 0) {
		vf_cmd_error(&host_plan, "cannot write output");
		goto out;
	}
	rc = detailed && x.plan.n ? VF_EXIT_CHANGES : VF_EXIT_OK;
out:
	host_ctx_release(&x);
	return rc;
}

/* ---- host apply ------------------------------------------------------------ */

static const char apply_usage[] =
	"usage: virtform host apply --host NAME [CONFIG] [--auto-approve] [--state-file FILE]\n"
	"\n"
	"Converge this machine's links (of the network namespace virtform runs\n"
	"in) to host NAME of CONFIG: show the plan of 'virtform host plan', ask\n"
	"for confirmation, then carry it out over netlink.  Before changing\n"
	"anything, the links the plan touches are recorded; after, they are read\n"
	"back and verified (every desired link exists, is up, has its master and\n"
	"MTU).  When an action or the verification fails, every change is undone\n"
	"in reverse order and the command says what failed (\"rolled back: ...\").\n"
	"On success the links virtform created or adopted are recorded in the\n"
	"state file.\n"
	"\n"
	"Options:\n"
	"      --host NAME          the host of CONFIG this machine is (required)\n"
	"      --auto-approve       do not ask (needed without a terminal)\n"
	"      --state-file FILE    ownership records (default " VF_HOSTNET_STATE_FILE ")\n"
	"  -h, --help               show this help\n"
	"\n"
	"Exit status: 0 applied (or nothing to do); 1 error: invalid configuration,\n"
	"a change refused at plan time, a failed change (rolled back), not\n"
	"confirmed.\n";

/* The state of one link before apply (exists or not, and its settings). */
struct snap {
	bool exists;
	struct vf_link link;        /* ports not used: see ports below */
	char **ports;               /* a bridge's or bond's ports (re-enslaved when re-created) */
	size_t n_ports;
};

enum step_type { STEP_CREATED, STEP_DELETED, STEP_MTU, STEP_STP, STEP_UP, STEP_MASTER };

/* One change made, undone from the snapshot in reverse order. */
struct step {
	enum step_type type;
	size_t snap;                /* index into the snapshot */
};

struct applier {
	struct host_ctx *x;
	const char **names;         /* snapshot: one per link the plan touches */
	struct snap *snaps;
	size_t n_snaps;
	struct step *steps;
	size_t n_steps, alloc_steps;
};

static size_t snap_index(struct applier *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n_snaps; i++)
		if (!strcmp(a->names[i], name))
			return i;
	return (size_t)-1;
}

static void snap_take(struct applier *a, const char *name)
{
	const struct vf_link *l;
	struct snap *s;
	size_t i;

	if (!name || snap_index(a, name) != (size_t)-1)
		return;
	a->names = xrealloc(a->names, (a->n_snaps + 1) * sizeof(*a->names));
	a->snaps = xrealloc(a->snaps, (a->n_snaps + 1) * sizeof(*a->snaps));
	a->names[a->n_snaps] = name;
	s = &a->snaps[a->n_snaps++];
	memset(s, 0, sizeof(*s));
	l = vf_link_list_find(&a->x->list, name);
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
	}
	free(a->names);
	free(a->snaps);
	free(a->steps);
}

static void step_add(struct applier *a, enum step_type type, const char *name)
{
	VF_GROW(a->steps, a->n_steps + 1, a->alloc_steps);
	a->steps[a->n_steps].type = type;
	a->steps[a->n_steps++].snap = snap_index(a, name);
}

/* Create the link act wants (down), then bring it up. */
static int create_link(struct applier *a, const struct vf_host_link *d, char **error)
{
	struct vf_netlink *nl = a->x->nl;
	int rc;

	switch (d->kind) {
	case VF_HOST_LINK_BRIDGE:
		rc = vf_link_create_bridge(nl, d->name, d->mtu, d->stp, error);
		break;
	case VF_HOST_LINK_VLAN:
		rc = vf_link_create_vlan(nl, d->name, d->vlan_base, d->vlan_id, d->mtu, error);
		break;
	case VF_HOST_LINK_BOND:
		rc = vf_link_create_bond(nl, d->name, d->bond_mode, d->mtu, error);
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

static int apply_change(struct applier *a, const struct vf_hostnet_action *act,
			const struct vf_hostnet_change *c, char **error)
{
	struct vf_netlink *nl = a->x->nl;
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
		rc = vf_link_delete(a->x->nl, act->name, error);
		if (rc < 0)
			return rc;
		step_add(a, STEP_DELETED, act->name);
		return create_link(a, act->desired, error);
	case VF_HOSTNET_UPDATE:
		for (i = 0; i < act->n_changes; i++) {
			rc = apply_change(a, act, &act->changes[i], error);
			if (rc < 0)
				return rc;
		}
		return 0;
	case VF_HOSTNET_DELETE:
		rc = vf_link_delete(a->x->nl, act->name, error);
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

/* Re-read the links into x->list; 0 or -1 with *error. */
static int reread(struct applier *a, char **error)
{
	vf_link_list_release(&a->x->list);
	return vf_link_list_read(a->x->nl, &a->x->list, error);
}

static void problem_add(char **problems, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem_add(char **problems, const char *fmt, ...)
{
	va_list ap;
	char *p, *n;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		abort();
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
static char *verify(struct applier *a, char **error)
{
	struct host_ctx *x = a->x;
	char *problems = NULL;
	bool again = false;
	size_t i;

	if (reread(a, error) < 0)
		return NULL;
	for (i = 0; i < x->desired.n; i++) {
		const struct vf_host_link *d = &x->desired.items[i];
		const struct vf_link *l = vf_link_list_find(&x->list, d->name);
		char *e = NULL;

		if (d->absent || !l || !d->mtu || l->mtu == d->mtu)
			continue;
		snap_take(a, d->name);
		if (vf_link_set_mtu(x->nl, d->name, d->mtu, &e) == 0)
			step_add(a, STEP_MTU, d->name);
		free(e);
		again = true;
	}
	if (again && reread(a, error) < 0)
		return NULL;
	for (i = 0; i < x->desired.n; i++) {
		const struct vf_host_link *d = &x->desired.items[i];
		const struct vf_link *l = vf_link_list_find(&x->list, d->name);

		if (d->absent) {
			if (l)
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
	}
	for (i = 0; i < x->plan.n; i++) {
		const struct vf_hostnet_action *act = &x->plan.actions[i];

		if (act->op == VF_HOSTNET_DELETE && vf_link_list_find(&x->list, act->name))
			problem_add(&problems, "link '%s' still exists", act->name);
	}
	if (!problems)
		return NULL;
	return problems;
}

/* Re-create a deleted link from its snapshot: kind, settings, master,
 * ports, state. */
static int recreate(struct applier *a, const struct snap *s, char **error)
{
	struct vf_netlink *nl = a->x->nl;
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
		rc = vf_link_create_bond(nl, l->name, l->bond_mode[0] ? l->bond_mode : NULL,
					 l->mtu, error);
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
	return l->up ? vf_link_set_up(nl, l->name, true, error) : 0;
}

static int undo(struct applier *a, const struct step *st, char **error)
{
	const struct snap *s = &a->snaps[st->snap];
	const char *name = a->names[st->snap];
	struct vf_netlink *nl = a->x->nl;

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
	size_t i;

	for (i = a->n_steps; i-- > 0;) {
		if (undo(a, &a->steps[i], &error) < 0) {
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
		const struct vf_link *l = vf_link_list_find(&a->x->list, a->names[i]);

		if (!s->exists) {
			if (l)
				problem_add(&problems, "link '%s' still exists", a->names[i]);
			continue;
		}
		if (!l) {
			problem_add(&problems, "link '%s' is missing", a->names[i]);
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
	}
	return problems;
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

/* The ownership records after a successful apply: every bond, bridge and
 * vlan the config declares or derives (created or adopted). */
static int write_records(const char *state_file, const struct host_ctx *x, char **error)
{
	struct vf_hostnet_owned o = { NULL, NULL, 0, 0 };
	size_t i;
	int rc;

	for (i = 0; i < x->desired.n; i++) {
		const struct vf_host_link *d = &x->desired.items[i];

		if (!d->absent && kind_made(d->kind))
			vf_hostnet_owned_add(&o, d->name, d->owner);
	}
	rc = vf_hostnet_owned_write(state_file, &o, error);
	vf_hostnet_owned_release(&o);
	return rc;
}

static bool host_confirm(void)
{
	char line[64];

	printf("\nApply these changes to this host's links? (yes/no) ");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return !strcmp(line, "yes");
}

/* Snapshot, execute, verify, roll back on failure.  The exit status. */
static int host_execute(struct host_ctx *x, const char *state_file)
{
	struct applier a;
	size_t i, created = 0, updated = 0, deleted = 0;
	char *error = NULL, *failed = NULL, *problems;
	int rc = VF_EXIT_ERROR;

	memset(&a, 0, sizeof(a));
	a.x = x;
	for (i = 0; i < x->plan.n; i++) {
		const struct vf_hostnet_action *act = &x->plan.actions[i];

		snap_take(&a, act->name);
		if (act->kind == VF_HOST_LINK_VLAN && act->desired)
			snap_take(&a, act->desired->vlan_base);
	}

	putchar('\n');
	for (i = 0; i < x->plan.n && !failed; i++) {
		const struct vf_hostnet_action *act = &x->plan.actions[i];

		fflush(stdout);   /* progress before any error on stderr */
		if (apply_action(&a, act, &error) < 0) {
			failed = xasprintf("%s link.%s@%s failed", op_verb(act->op), act->name,
					   x->plan.host);
			fprintf(stderr, "Error: %s\n", error);
			break;
		}
		printf("link.%s@%s: %s\n", act->name, x->plan.host,
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
	fflush(stdout);
	if (!failed) {
		problems = verify(&a, &error);
		if (error) {
			failed = xasprintf("verification failed: %s", error);
			fprintf(stderr, "Error: %s\n", error);
		} else if (problems) {
			failed = xasprintf("verification failed: %s", problems);
			fprintf(stderr, "Error: verification failed: %s\n", problems);
		}
		free(problems);
		free(error);
		error = NULL;
	}
	if (failed) {
		fflush(stdout);
		problems = rollback(&a);
		if (problems) {
			fprintf(stderr, "rollback incomplete: %s; %s. Check the links with "
				"'virtform host show'.\n", failed, problems);
			free(problems);
		} else {
			fprintf(stderr, "rolled back: %s; %zu change%s undone, the links are as "
				"they were before.\n", failed, a.n_steps, a.n_steps == 1 ? "" : "s");
		}
		free(failed);
		applier_release(&a);
		return VF_EXIT_ERROR;
	}
	if (write_records(state_file, x, &error) < 0) {
		vf_cmd_error(&host_apply, "the links are applied, but %s", error);
		free(error);
	} else {
		printf("\nHost apply complete: %zu created, %zu updated, %zu deleted.\n",
		       created, updated, deleted);
		rc = VF_EXIT_OK;
	}
	applier_release(&a);
	return rc;
}

static int host_apply_run(int argc, char **argv)
{
	enum { OPT_HOST = 256, OPT_AUTO, OPT_STATE_FILE };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "auto-approve", no_argument, NULL, OPT_AUTO },
		{ "state-file", required_argument, NULL, OPT_STATE_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host_name = NULL, *state_file = VF_HOSTNET_STATE_FILE;
	struct host_ctx x;
	bool auto_approve = false;
	char *error = NULL;
	int c, rc = VF_EXIT_ERROR;

	while ((c = vf_getopt(&host_apply, argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case OPT_HOST: host_name = optarg; break;
		case OPT_AUTO: auto_approve = true; break;
		case OPT_STATE_FILE: state_file = optarg; break;
		case 'h': fputs(apply_usage, stdout); return VF_EXIT_OK;
		default: return VF_EXIT_ERROR;
		}
	}
	host_ctx_init(&x);
	if (host_prepare(&host_apply, argc, argv, host_name, state_file, &x) < 0)
		goto out;
	vf_hostnet_plan_print(&x.plan, stdout);
	if (!x.plan.n) {
		/* converged: record what is ours (adopted links) all the same */
		if (write_records(state_file, &x, &error) < 0) {
			vf_cmd_error(&host_apply, "%s", error);
			free(error);
			goto out;
		}
		rc = VF_EXIT_OK;
		goto out;
	}
	if (!auto_approve) {
		if (!isatty(STDIN_FILENO)) {
			vf_cmd_error(&host_apply, "no terminal to confirm on: review the plan and "
				     "give --auto-approve to apply without asking");
			goto out;
		}
		if (!host_confirm()) {
			printf("Apply cancelled; nothing was changed.\n");
			goto out;
		}
	}
	rc = host_execute(&x, state_file);
out:
	fflush(stdout);
	host_ctx_release(&x);
	return rc;
}

static const struct vf_cmd host_apply = {
	.name = "host apply",
	.summary = "converge this machine's links, verified, rolled back on failure",
	.usage = apply_usage,
	.run = host_apply_run,
};

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
	.summary = "this machine's host networking (host show, host plan, host apply)",
	.usage = usage,
	.run = host_run,
};
