/*
 * log.c — `virtform log`: the commits applied from git (sync, apply
 * --git, apply of a saved plan from git), newest first, from the state
 * directory's append-only record STATE_DIR/git-log.jsonl.  Reads only: no
 * lock is taken (lines are appended whole, in one write).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/run.h"

static const char usage[] =
	"usage: virtform log [--state-dir DIR] [--json]\n"
	"\n"
	"Show the commits applied from git to the state in DIR, newest first: time\n"
	"(UTC), short sha, outcome (applied, unchanged, failed, refused), subject.\n"
	"\n"
	"Options:\n"
	"      --state-dir DIR   the state directory (default: $VIRTFORM_STATE_DIR,\n"
	"                        else .virtform in the current directory)\n"
	"      --json            a JSON array of the records, newest first: time,\n"
	"                        command, repo, ref, path, commit, subject, author,\n"
	"                        outcome, message, counts\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0, or 1 when the record cannot be read.\n";

static int cmd_log(int argc, char **argv);

static const struct option longopts[] = {
	{ "state-dir", required_argument, NULL, RUN_OPT_STATE_DIR },
	{ "json", no_argument, NULL, RUN_OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

const struct vf_cmd vf_cmd_log = VF_CMD("log", "show the commits applied from git", usage, cmd_log,
	.longopts = longopts);

static int cmd_log(int argc, char **argv)
{
	const char *env = getenv("VIRTFORM_STATE_DIR"), *dir = NULL;
	json_t *list = json_array();
	char *path, *line = NULL;
	size_t cap = 0, i;
	unsigned lineno = 0;
	bool json = false;
	int c, rc = VF_EXIT_ERROR;
	FILE *f;

	while ((c = vf_getopt(&vf_cmd_log, argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case RUN_OPT_STATE_DIR: dir = optarg; break;
		case RUN_OPT_JSON: json = true; break;
		case 'h': fputs(usage, stdout); json_decref(list); return VF_EXIT_OK;
		default: json_decref(list); return VF_EXIT_ERROR;
		}
	}
	if (optind < argc) {
		json_decref(list);
		return vf_cmd_error(&vf_cmd_log, "unexpected argument '%s'; give the state "
				    "directory with --state-dir DIR", argv[optind]);
	}
	if (!dir)
		dir = env && *env ? env : ".virtform";
	path = xasprintf("%s/%s", dir, GIT_LOG_FILE);
	f = fopen(path, "re");
	if (!f) {
		if (json) {
			puts("[]");
		} else {
			printf("No commit applied from git yet (no %s).\n", path);
		}
		free(path);
		json_decref(list);
		return VF_EXIT_OK;
	}
	while (getline(&line, &cap, f) > 0) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		lineno++;
		if (!json_is_object(o)) {
			vf_cmd_error(&vf_cmd_log, "%s:%u: not a JSON object (%s); the record of "
				     "applied commits is damaged: fix or remove that line", path,
				     lineno, je.text);
			json_decref(o);
			goto out;
		}
		json_array_append_new(list, o);
	}
	if (json) {
		json_t *rev = json_array();
		for (i = json_array_size(list); i > 0; i--)
			json_array_append(rev, json_array_get(list, i - 1));
		json_dumpf(rev, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(rev);
	} else {
		for (i = json_array_size(list); i > 0; i--) {
			json_t *o = json_array_get(list, i - 1);
			const char *t = json_string_value(json_object_get(o, "time"));
			const char *sha = json_string_value(json_object_get(o, "commit"));
			const char *subj = json_string_value(json_object_get(o, "subject"));
			const char *outcome = json_string_value(json_object_get(o, "outcome"));
			printf("%s  %.7s  %-9s  ", t ? t : "?", sha ? sha : "?",
			       outcome ? outcome : "?");
			vf_fputs_text(subj ? subj : "", stdout);   /* the pusher's words */
			putchar('\n');
		}
		if (!json_array_size(list))
			printf("No commit applied from git yet (%s is empty).\n", path);
	}
	rc = VF_EXIT_OK;
out:
	fclose(f);
	free(line);
	free(path);
	json_decref(list);
	return rc;
}
