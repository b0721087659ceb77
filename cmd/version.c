/*
 * version.c — `virtform version` / `virtform --version`.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

#ifndef VF_VERSION
#define VF_VERSION "0.0.0"
#endif
#ifndef VF_GIT_REV
#define VF_GIT_REV "unknown"
#endif

const char *vf_cmd_version_string(void)
{
	return VF_VERSION;
}

static const char usage[] =
	"usage: virtform version\n"
	"\n"
	"Print virtform's version.\n";

static int version_run(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return VF_EXIT_OK;
	}
	if (argc > 1)
		return vf_cmd_error(&vf_cmd_version, "unexpected argument '%s'", argv[1]);
	printf("virtform %s (%s)\n", VF_VERSION, VF_GIT_REV);
	return VF_EXIT_OK;
}

const struct vf_cmd vf_cmd_version = VF_CMD("version", "print the version", usage, version_run);
