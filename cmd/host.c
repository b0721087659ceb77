/*
 * host.c — `virtform host SUBCOMMAND`: what virtform does on the machine
 * it runs on, as opposed to the hosts of a configuration.
 *
 *   virtform host show [--json]   this machine's links as virtform sees them
 *   virtform host plan --host NAME [CONFIG]
 *                                 what converging this machine's links to
 *                                 host NAME of the config would change
 *
 * `host apply` (also what the controller runs over SSH) comes next: one
 * more entry in subcommands[] below.  Sub-commands get
 * their own descriptor named "host SUB", so option errors and --help read
 * "virtform host show: ...".
 *
 * host show reads the network namespace virtform runs in: run it under
 * `ip netns exec NS` to see a namespace's links.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const struct vf_cmd *const subcommands[] = {
	&host_show,
	&host_plan,
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
	const char *host_name = NULL, *state_file = VF_HOSTNET_STATE_FILE, *path;
	struct vf_host_links desired = { VF_ARENA_INIT, NULL, 0, 0 };
	struct vf_host_links observed = { VF_ARENA_INIT, NULL, 0, 0 };
	struct vf_hostnet_plan plan;
	struct vf_hostnet_owned owned = { NULL, NULL, 0, 0 };
	struct vf_link_list list = { NULL, 0 };
	struct vf_config *config = NULL;
	struct vf_diags diags = { 0 };
	struct vf_netlink *nl = NULL;
	const struct vf_host *host;
	bool json = false, detailed = false;
	char *error = NULL;
	int c, rc = VF_EXIT_ERROR;

	memset(&plan, 0, sizeof(plan));
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
	if (!host_name)
		return vf_cmd_error(&host_plan, "--host NAME is required: the host of the "
				    "configuration this machine is");
	path = vf_cmd_config_arg(&host_plan, argc, argv);
	if (!path)
		return VF_EXIT_ERROR;
	config = vf_cmd_load_config(path);
	if (!config)
		return VF_EXIT_ERROR;
	host = vf_config_find_host(config, host_name);
	if (!host) {
		const char *names[64];
		const char *near;
		size_t i, n = 0;

		for (i = 0; i < config->n_hosts && n < VF_ARRAY_SIZE(names); i++)
			names[n++] = config->hosts[i].name;
		near = vf_nearest(host_name, names, n);
		if (near)
			vf_cmd_error(&host_plan, "no host '%s' in %s; did you mean '%s'?",
				     host_name, path, near);
		else
			vf_cmd_error(&host_plan, "no host '%s' in %s", host_name, path);
		goto out;
	}
	if (vf_hostnet_owned_read(state_file, &owned, &error) < 0) {
		vf_cmd_error(&host_plan, "%s", error);
		goto out;
	}
	if (vf_netlink_open(&nl, &error) < 0 || vf_link_list_read(nl, &list, &error) < 0) {
		vf_cmd_error(&host_plan, "%s", error);
		goto out;
	}
	links_to_host_links(&list, &observed);
	if (vf_hostnet_desired(config, host, &desired, &diags) < 0 ||
	    vf_hostnet_plan_build(host->name, &desired, &observed, &owned, &plan, &diags) < 0) {
		vf_diags_sort(&diags);
		vf_diags_print(&diags, stderr);
		goto out;
	}
	if (json ? vf_hostnet_plan_print_json(&plan, stdout) < 0
		 : (vf_hostnet_plan_print(&plan, stdout), 0)) {
		vf_cmd_error(&host_plan, "cannot write the plan");
		goto out;
	}
	if (fflush(stdout) != 0) {
		vf_cmd_error(&host_plan, "cannot write output");
		goto out;
	}
	rc = detailed && plan.n ? VF_EXIT_CHANGES : VF_EXIT_OK;
out:
	free(error);
	vf_netlink_close(nl);
	vf_link_list_release(&list);
	vf_hostnet_plan_release(&plan);
	vf_host_links_release(&desired);
	vf_host_links_release(&observed);
	vf_hostnet_owned_release(&owned);
	vf_diags_release(&diags);
	vf_config_free(config);
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
	.summary = "this machine's host networking (host show, host plan)",
	.usage = usage,
	.run = host_run,
};
