/*
 * help.c — `virtform help [COMMAND]`: the command list, or one command's
 * usage (the same text as `virtform COMMAND --help`).
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static const char usage[] =
	"usage: virtform help [COMMAND]\n"
	"\n"
	"Show the list of commands, or the usage of COMMAND.\n";

static const char intro[] =
	"usage: virtform <command> [options] [CONFIG]\n"
	"\n"
	"virtform reconciles KVM hosts (libvirt) with a declarative YAML\n"
	"configuration: clusters, hosts, networks, storage domains and VMs.\n"
	"CONFIG is a YAML file or a directory whose *.yaml/*.yml files are\n"
	"merged; default: the current directory.  'virtform plan -out FILE' saves\n"
	"a plan for review; 'virtform apply FILE' carries out exactly it.\n"
	"\n"
	"Commands:\n";

static const char outro[] =
	"\n"
	"Exit status:\n"
	"  0  success\n"
	"  1  error (bad configuration, unreachable host, failed action, stale\n"
	"     saved plan)\n"
	"  2  changes present (plan --detailed-exitcode, drift)\n"
	"\n"
	"Run 'virtform <command> --help' for a command's options.\n";

static int help_run(int argc, char **argv)
{
	size_t i;

	if (argc > 1 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")) {
		for (i = 0; vf_commands[i]; i++) {
			if (!strcmp(vf_commands[i]->name, argv[1])) {
				fputs(vf_commands[i]->usage, stdout);
				return VF_EXIT_OK;
			}
		}
		return vf_cmd_error(&vf_cmd_help, "unknown command '%s'", argv[1]);
	}
	if (argc > 1) {
		fputs(usage, stdout);
		return VF_EXIT_OK;
	}
	fputs(intro, stdout);
	for (i = 0; vf_commands[i]; i++)
		printf("  %-10s %s\n", vf_commands[i]->name, vf_commands[i]->summary);
	fputs(outro, stdout);
	return VF_EXIT_OK;
}

const struct vf_cmd vf_cmd_help = VF_CMD("help", "show commands, or one command's usage", usage,
	help_run);
