/*
 * host.c — `virtform host SUBCOMMAND`: what virtform does on the machine
 * it runs on, as opposed to the hosts of a configuration.
 *
 *   virtform host show [--json]   this machine's links as virtform sees them
 *
 * `host plan` and `host apply` (converging this machine's links to a
 * host of the configuration, also what the controller runs over SSH) come
 * next: each is one more entry in subcommands[] below.  Sub-commands get
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
#include "reconcile/util.h"

static const char usage[] =
	"usage: virtform host <subcommand> [options]\n"
	"\n"
	"Work on the machine virtform runs on (a hypervisor host).\n"
	"\n"
	"Subcommands:\n"
	"  show [--json]   this machine's network links as virtform sees them\n"
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

static int host_show_run(int argc, char **argv);

static const struct vf_cmd host_show = {
	.name = "host show",
	.summary = "this machine's network links",
	.usage = show_usage,
	.run = host_show_run,
};

static const struct vf_cmd *const subcommands[] = {
	&host_show,
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
	.summary = "this machine's host networking (host show)",
	.usage = usage,
	.run = host_run,
};
