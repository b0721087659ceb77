/*
 * main.c — virtform's entry point: global options and the dispatch table.
 *
 *   virtform <command> [options] [CONFIG]
 *
 * Every command is one descriptor in cmd/<name>.c; adding a command means
 * adding its descriptor to vf_commands[] below, nothing else: help, the
 * manual pages (help --man) and the shell completion (completion bash|zsh)
 * are written from the descriptors.  Then 'make completion' refreshes
 * contrib/completion/, which tests/t0055-completion-man.sh checks along
 * with every option being in its usage.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "reconcile/secret.h"
#include "reconcile/util.h"

const struct vf_cmd *const vf_commands[] = {
	&vf_cmd_validate,
	&vf_cmd_hosts,
	&vf_cmd_host,
	&vf_cmd_plan,
	&vf_cmd_apply,
	&vf_cmd_destroy,
	&vf_cmd_show,
	&vf_cmd_import,
	&vf_cmd_sync,
	&vf_cmd_log,
	&vf_cmd_hook,
	&vf_cmd_hooks,
	&vf_cmd_keygen,
	&vf_cmd_seal,
	&vf_cmd_drift,
	&vf_cmd_completion,
	&vf_cmd_help,
	&vf_cmd_version,
	NULL,
};

static const struct vf_cmd *cmd_find(const char *name)
{
	size_t i;
	for (i = 0; vf_commands[i]; i++)
		if (!strcmp(vf_commands[i]->name, name))
			return vf_commands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	const char *names[32];
	const char *near;
	size_t n = 0;

	while (vf_commands[n] && n < VF_ARRAY_SIZE(names)) {
		names[n] = vf_commands[n]->name;
		n++;
	}
	near = vf_nearest(name, names, n);
	if (near)
		fprintf(stderr, "virtform: error: unknown command '%s'; did you mean '%s'?\n", name, near);
	else
		fprintf(stderr, "virtform: error: unknown command '%s'; see 'virtform help'\n", name);
	return VF_EXIT_ERROR;
}

int main(int argc, char **argv)
{
	const struct vf_cmd *cmd;
	const char *name;
	int rc;

	/*
	 * Peak memory at 10,000 VMs (docs/performance.md): blocks of 128 KiB
	 * and more (arena chunks, a parsed YAML tree) go back to the system
	 * when freed, instead of raising glibc's threshold so that they stay.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/* Secrets given in the environment leave it before anything runs:
	 * no child (ssh, gpgv, a notify command) inherits them. */
	vf_secret_env_take_all();

	if (argc < 2) {
		vf_cmd_help.run(1, (char *[]){ "help", NULL });
		return VF_EXIT_ERROR;
	}
	name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		name = "help";
	else if (!strcmp(name, "--version") || !strcmp(name, "-V"))
		name = "version";
	else if (name[0] == '-') {
		static const char *const globals[] = { "--help", "--version" };
		const char *near = vf_nearest(name, globals, VF_ARRAY_SIZE(globals));
		fprintf(stderr, "virtform: error: unknown option '%s'", name);
		if (near)
			fprintf(stderr, "; did you mean '%s'?\n", near);
		else
			fputs("; options go after the command: virtform <command> [options]\n", stderr);
		return VF_EXIT_ERROR;
	}
	cmd = cmd_find(name);
	if (!cmd)
		return unknown_command(name);
	argv[1] = (char *)cmd->name;
	rc = cmd->run(argc - 1, argv + 1);
	/* what a command printed is its result (a plan, a JSON document, a
	 * drift report): output that could not be written is a failure, not
	 * a success with a truncated file (a full disk) */
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "virtform %s: error: cannot write the output: %s\n", cmd->name,
			errno ? strerror(errno) : "a write failed");
		return VF_EXIT_ERROR;
	}
	return rc;
}
