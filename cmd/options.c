/*
 * options.c — option parsing shared by every command: getopt_long with
 * did-you-mean errors, durations, the CONFIG argument.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "reconcile/model.h"
#include "reconcile/util.h"

int vf_cmd_error(const struct vf_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "virtform %s: error: ", cmd->name);
	va_start(ap, fmt);
	vf_vfprintf_text(stderr, fmt, ap);     /* names from the config, escaped */
	va_end(ap);
	fputc('\n', stderr);
	return VF_EXIT_ERROR;
}

static void unknown_option(const struct vf_cmd *cmd, const char *arg,
			   const struct option *longopts)
{
	char *names[64];
	const char *near;
	char *word;
	size_t n = 0, i;
	const char *eq;

	/* "--jsn=1" is reported as "--jsn" */
	eq = strchr(arg, '=');
	word = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
	for (i = 0; longopts[i].name && n < VF_ARRAY_SIZE(names); i++)
		names[n++] = xasprintf("--%s", longopts[i].name);
	near = vf_nearest(word, (const char *const *)names, n);
	if (near)
		vf_cmd_error(cmd, "unknown option '%s'; did you mean '%s'?", word, near);
	else
		vf_cmd_error(cmd, "unknown option '%s'; see 'virtform %s --help'", word, cmd->name);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(word);
}

int vf_getopt(const struct vf_cmd *cmd, int argc, char **argv,
	      const char *shortopts, const struct option *longopts)
{
	char buf[64];
	int c;

	/* ':' first: report a missing argument as ':' rather than '?' */
	snprintf(buf, sizeof(buf), ":%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, buf, longopts, NULL);
	if (c == '?') {
		/* an unknown short option sets optopt; an unknown long one does not */
		if (optopt) {
			char s[3] = { '-', (char)optopt, '\0' };
			unknown_option(cmd, s, longopts);
		} else {
			unknown_option(cmd, argv[optind - 1], longopts);
		}
		return '?';
	}
	if (c == ':') {
		vf_cmd_error(cmd, "option '%s' needs a value; see 'virtform %s --help'",
			     argv[optind - 1], cmd->name);
		return '?';
	}
	return c;
}

bool vf_parse_seconds(const char *text, double *seconds)
{
	char *end;
	double v;

	if (!text || !*text)
		return false;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text)
		return false;
	if (*end == 's' && end[1] == '\0')
		end++;
	if (*end || !isfinite(v) || v <= 0 || v > 86400)
		return false;
	*seconds = v;
	return true;
}

const char *vf_cmd_config_arg(const struct vf_cmd *cmd, int argc, char **argv)
{
	if (optind >= argc)
		return ".";
	if (argc - optind > 1) {
		vf_cmd_error(cmd, "expected at most one CONFIG argument, got '%s' and '%s'",
			     argv[optind], argv[optind + 1]);
		return NULL;
	}
	return argv[optind];
}

struct vf_config *vf_cmd_load_config(const char *path)
{
	struct vf_diags diags = { 0 };
	struct vf_config *config = vf_config_load(path, &diags);

	vf_diags_sort(&diags);
	vf_diags_print(&diags, stderr);
	if (!config)
		fprintf(stderr, "%zu error%s in %s\n", diags.n_errors,
			diags.n_errors == 1 ? "" : "s", path);
	vf_diags_release(&diags);
	return config;
}
