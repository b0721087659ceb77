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
#include "reconcile/json-stream.h"

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

/* A record appended to the list arg. */
static void append(json_t *record, void *list)
{
	json_array_append_new(list, record);
}

/* The records, newest first: a JSON array or one line each. */
static void print_records(const json_t *list, const char *path, bool json)
{
	size_t i;

	if (json) {
		json_t *rev = json_array();
		for (i = json_array_size(list); i > 0; i--)
			json_array_append(rev, json_array_get(list, i - 1));
		json_dumpf(rev, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(rev);
		return;
	}
	for (i = json_array_size(list); i > 0; i--) {
		const json_t *o = json_array_get(list, i - 1);
		const char *t = vf_json_str(o, "time");
		const char *sha = vf_json_str(o, "commit");
		const char *subj = vf_json_str(o, "subject");
		const char *outcome = vf_json_str(o, "outcome");
		printf("%s  %.7s  %-9s  ", t ? t : "?", sha ? sha : "?", outcome ? outcome : "?");
		vf_fputs_text(subj ? subj : "", stdout);   /* the pusher's words */
		putchar('\n');
	}
	if (!json_array_size(list))
		printf("No commit applied from git yet (%s is empty).\n", path);
}

/* The work of log: the record in dir shown.  The exit status. */
static int show_log(const char *dir, bool json)
{
	char *path = xasprintf("%s/%s", dir, GIT_LOG_FILE), *error = NULL;
	json_t *list;
	FILE *f = fopen(path, "re");
	int rc = VF_EXIT_OK;

	if (!f) {
		if (json)
			puts("[]");
		else
			printf("No commit applied from git yet (no %s).\n", path);
		free(path);
		return VF_EXIT_OK;
	}
	list = json_array();
	if (vf_git_log_read(f, path, append, list, &error) < 0) {
		vf_cmd_error(&vf_cmd_log, "%s", error);
		free(error);
		rc = VF_EXIT_ERROR;
	} else {
		print_records(list, path, json);
	}
	fclose(f);
	free(path);
	json_decref(list);
	return rc;
}

static int cmd_log(int argc, char **argv)
{
	const char *env = getenv("VIRTFORM_STATE_DIR"), *dir = NULL;
	bool json = false;
	int rc = VF_CMD_PARSE(&vf_cmd_log, argc, argv,
			      "; give the state directory with --state-dir DIR",
			      VF_VALUE(VF_OPT_STATE_DIR, &dir), VF_FLAG(VF_OPT_JSON, &json));

	if (rc != VF_CMD_GO_ON)
		return rc;
	if (!dir)
		dir = env && *env ? env : ".virtform";
	return show_log(dir, json);
}

const struct vf_cmd vf_cmd_log = VF_CMD("log", "show the commits applied from git", usage, cmd_log,
	.options = VF_OPTS(VF_OPT_STATE_DIR, VF_OPT_JSON));
