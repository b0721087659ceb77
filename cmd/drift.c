/*
 * drift.c — `virtform drift [CONFIG]`: do the live hosts still match the
 * configuration?  For timers, cron and CI: exit 0 no drift, 2 drift, 1
 * error.  Changes nothing unless --fix.
 *
 * It is plan (cmd/run.h: vf_run_plan), read another way.  Every action of
 * the plan and every host link change is drift, one entry per resource,
 * with its cause — what an operator needs to know before deciding whether
 * to converge or to go and ask who touched the host:
 *
 *   changed_outside   the spec hash virtform wrote the object with (a
 *                     domain's marker; a network's, pool's or volume's
 *                     state record) still matches the configuration but
 *                     the fields do not: someone changed it after virtform
 *                     last wrote it (plan.c: changed_outside, a->drift)
 *   not_applied       the object differs because the configuration moved
 *                     on and was not applied yet (or it was last written
 *                     by a virtform that kept no spec hash for it)
 *   missing           not on its host, but the state says virtform made it:
 *                     deleted outside virtform
 *   not_created       not on its host, never made (not applied yet)
 *   not_in_configuration  managed, gone from the configuration, not
 *                     destroyed yet
 *   state             a VM running or stopped (a network or pool
 *                     inactive) against the configuration
 *   host_network      a host's network links (link.NAME@HOST)
 *
 * Field values are shown exactly as plan shows them (vf_field_format,
 * vf_plan_change_json): drift prints nothing the plan would not.
 *
 * --fix is the consent to converge: the same plan, applied unasked, then a
 * fresh plan to check that nothing differs any more.  --notify-command runs
 * an operator's command line with the JSON report on stdin whenever drift
 * was found (also with --fix); its failure is a warning, never the exit
 * status: a broken mailer must not hide drift from the timer's status.
 *
 * CONFIG goes through the same path as plan (vf_run_config_arg, vf_run_plan), so
 * drift reads what plan reads: a file, a directory, or --git REPO[@REF].
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/run.h"
#include "reconcile/json-stream.h"

#define DRIFT_FORMAT_VERSION 1

static const char usage[] =
	"usage: virtform drift [CONFIG | --git REPO[@REF]] [--json] [--fix]\n"
	"                      [--notify-command CMD]\n"
	"                      [--state-dir DIR] [--timeout SECONDS] [--skip-unreachable]\n"
	"\n"
	"Read every host of CONFIG (a YAML file or a directory; default: the\n"
	"current directory) and report where they differ from the configuration,\n"
	"one line per resource with the reason:\n"
	"\n"
	"  changed outside virtform   the object changed since virtform last wrote it\n"
	"  not applied yet            the configuration changed and was not applied\n"
	"  missing: deleted outside virtform / not created yet\n"
	"  no longer in the configuration, not destroyed yet\n"
	"  running / stopped against the configuration; host network links\n"
	"\n"
	"  ~ vm.web1 on lab1: changed outside virtform: memory 256 MiB (configured 128 MiB)\n"
	"\n"
	"Nothing is changed unless --fix.  Made to run from a timer or cron\n"
	"(contrib/systemd/virtform-drift.timer, docs/drift.md).\n"
	"\n"
	"Options:\n"
	"      --json                one JSON document on stdout (schemas/drift.schema.json);\n"
	"                            with --fix, the text report and apply output go\n"
	"                            to stderr\n"
	"      --fix                 converge: apply the plan without asking (--fix is\n"
	"                            the consent), then check again; a plan that\n"
	"                            destroys more than --max-destroy VMs and volumes\n"
	"                            is refused unless --allow-mass-destroy\n"
	"      --notify-command CMD  when drift is found, run CMD with /bin/sh -c, the\n"
	"                            JSON report on its stdin, VIRTFORM_DRIFT_COUNT and\n"
	"                            VIRTFORM_DRIFT_PROJECT in its environment; its\n"
	"                            output goes to stderr; its failure is a warning;\n"
	"                            an empty CMD runs nothing\n"
	RUN_GUARD_OPTIONS_HELP
	RUN_OPTIONS_HELP
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0 no drift (with --fix: none left), 2 drift found (without\n"
	"--fix), 1 error: invalid configuration, unreachable host (unless\n"
	"--skip-unreachable), state locked, or --fix did not converge.\n";

enum drift_cause {
	DRIFT_CHANGED_OUTSIDE,
	DRIFT_NOT_APPLIED,
	DRIFT_MISSING,
	DRIFT_NOT_CREATED,
	DRIFT_NOT_IN_CONFIG,
	DRIFT_STATE,
	DRIFT_HOST_NETWORK,
	DRIFT_CAUSE_COUNT,
};

/* JSON names (schemas/drift.schema.json) and the words of the text report. */
static const char *const cause_names[DRIFT_CAUSE_COUNT] = {
	"changed_outside", "not_applied", "missing", "not_created", "not_in_configuration",
	"state", "host_network",
};
static const char *const cause_texts[DRIFT_CAUSE_COUNT] = {
	"changed outside virtform", "not applied yet", "missing: deleted outside virtform",
	"not created yet", "no longer in the configuration, not destroyed yet",
	"state differs", "host network differs",
};

static const char *const symbols[VF_ACTION_COUNT] = { "+", "~", "-/+", "-", ">", "<" };

/*
 * One drifted resource.  Points into the run's plan: valid until the run
 * is released.  main is its create/update/replace/delete action (NULL for
 * a state change alone), state its start/stop, link a host link change.
 */
struct drift_item {
	const char *address;
	enum drift_cause cause;
	const struct vf_action *main, *state;
	const struct vf_link_change *link;
	const char *note;        /* "an earlier apply was interrupted", ... */
};

struct drift_report {
	struct drift_item *items;
	size_t n, alloc;
	unsigned counts[DRIFT_CAUSE_COUNT];
};

static void report_release(struct drift_report *r)
{
	free(r->items);
	memset(r, 0, sizeof(*r));
}

static enum drift_cause action_cause(const struct vf_run *run, const struct vf_action *a,
				     const char **note)
{
	const struct vf_state_entry *e;

	*note = NULL;
	switch (a->type) {
	case VF_ACTION_CREATE:
		e = vf_state_find(&run->state, a->address);
		if (!e)
			return DRIFT_NOT_CREATED;
		if (e->pending) {
			*note = "an earlier apply was interrupted before it finished";
			return DRIFT_NOT_CREATED;
		}
		return DRIFT_MISSING;
	case VF_ACTION_UPDATE:
	case VF_ACTION_REPLACE:
		return a->drift ? DRIFT_CHANGED_OUTSIDE : DRIFT_NOT_APPLIED;
	case VF_ACTION_DELETE:
		return DRIFT_NOT_IN_CONFIG;
	default:
		return DRIFT_STATE;
	}
}

static struct drift_item *item_add(struct drift_report *r, const char *address)
{
	struct drift_item *it;

	VF_GROW(r->items, r->n + 1, r->alloc);
	it = &r->items[r->n++];
	memset(it, 0, sizeof(*it));
	it->address = address;
	return it;
}

/*
 * One item per resource: a VM's start or stop joins its update, if it
 * has one (the plan orders stops first, starts last).
 */
static void report_build(const struct vf_run *run, struct drift_report *r)
{
	const struct vf_plan *plan = &run->plan;
	struct vf_strmap by_address = { 0 };
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < plan->n_links; i++) {
		struct drift_item *it = item_add(r, plan->links[i].address);
		it->cause = DRIFT_HOST_NETWORK;
		it->link = &plan->links[i];
	}
	for (i = 0; i < plan->n_actions; i++) {
		const struct vf_action *a = &plan->actions[i];
		bool is_state = a->type == VF_ACTION_START || a->type == VF_ACTION_STOP;
		uintptr_t k = (uintptr_t)vf_strmap_get(&by_address, a->address);
		struct drift_item *it = k ? &r->items[k - 1] : NULL;
		const char *note;
		enum drift_cause cause = action_cause(run, a, &note);

		if (!it) {
			it = item_add(r, a->address);
			it->cause = cause;
			it->note = note;
			vf_strmap_put(&by_address, a->address, (void *)(uintptr_t)r->n);
		} else if (!is_state) {
			it->cause = cause;       /* the change says more than the state */
			it->note = note;
		}
		if (is_state)
			it->state = a;
		else
			it->main = a;
	}
	vf_strmap_release(&by_address);
	for (i = 0; i < r->n; i++)
		r->counts[r->items[i].cause]++;
}

/* "stopped (configured running)" for a VM; "inactive (configured active)". */
static void state_words(const struct vf_action *s, const char **now, const char **want)
{
	bool vm = s->kind == VF_KIND_VM;

	if (s->type == VF_ACTION_START) {
		*now = vm ? "stopped" : "inactive";
		*want = vm ? "running" : "active";
	} else {
		*now = vm ? "running" : "active";
		*want = vm ? "stopped" : "inactive";
	}
}

/* " (PREFIXTEXT)", text escaped. */
static void paren(FILE *out, const char *prefix, const char *text)
{
	fprintf(out, " (%s", prefix);
	vf_fputs_text(text, out);
	fputc(')', out);
}

/* "SEPPATH BEFORE (configured AFTER)", the values escaped (NULL: (none)). */
static void field_diff(FILE *out, const char *sep, const char *path, const char *before,
		       const char *after)
{
	fprintf(out, "%s%s ", sep, path);
	vf_fputs_text(before, out);
	paren(out, "configured ", after);
}

/* What differs in a host link: missing, not configured, or its fields. */
static void print_link(const struct vf_link_change *l, FILE *out)
{
	size_t i;

	if (l->type == VF_ACTION_CREATE)
		fprintf(out, ": %s missing", l->link_kind);
	else if (l->type == VF_ACTION_DELETE)
		fprintf(out, ": %s not in the configuration", l->link_kind);
	else
		for (i = 0; i < l->n_fields; i++)
			field_diff(out, i ? ", " : ": ", l->fields[i].field, l->fields[i].before,
				   l->fields[i].after);
	if (l->reason)
		paren(out, "", l->reason);
}

/* The fields an update or a replace changes back, and why it replaces. */
static void print_fields(const struct vf_action *a, FILE *out)
{
	struct vf_arena scratch = VF_ARENA_INIT;
	const struct vf_field_change *fs;
	size_t n = vf_action_fields(a, &scratch, &fs), i;
	char b[512], c[512];

	for (i = 0; i < n; i++) {
		const struct vf_field_change *f = &fs[i];
		field_diff(out, i ? ", " : ": ", f->after.present ? f->after.path : f->before.path,
			   vf_field_format(&f->before, b, sizeof(b)),
			   vf_field_format(&f->after, c, sizeof(c)));
	}
	vf_arena_release(&scratch);
	if (a->type == VF_ACTION_REPLACE && a->reason)
		paren(out, "fixing replaces it: ", a->reason);
}

static void print_item(const struct drift_item *it, FILE *out, bool color)
{
	static const char *const colors[VF_ACTION_COUNT] = {
		"\033[32m", "\033[33m", "\033[35m", "\033[31m", "\033[36m", "\033[36m",
	};
	const struct vf_action *a = it->main ? it->main : it->state;
	enum vf_action_type t = it->link ? it->link->type : a->type;
	const char *host = it->link ? NULL : a->kind == VF_KIND_VM ? a->host : NULL;

	/* names and values from the config and the hosts: escaped */
	fprintf(out, "%s%s%s ", color ? colors[t] : "", symbols[t], color ? "\033[0m" : "");
	vf_fputs_text(it->address, out);
	if (host) {
		fputs(" on ", out);
		vf_fputs_text(host, out);
	}
	if (it->cause != DRIFT_STATE)
		fprintf(out, ": %s", cause_texts[it->cause]);
	if (it->note)
		paren(out, "", it->note);
	if (it->link)
		print_link(it->link, out);
	else if (it->main && (it->main->type == VF_ACTION_UPDATE ||
			      it->main->type == VF_ACTION_REPLACE))
		print_fields(it->main, out);
	if (it->state) {
		const char *now, *want;
		state_words(it->state, &now, &want);
		fprintf(out, "%s%s (configured %s)", it->cause == DRIFT_STATE ? ": " : "; ", now, want);
	}
	fputc('\n', out);
}

static void print_report(const struct vf_run *run, const struct drift_report *r, FILE *out,
			 bool color)
{
	const struct vf_plan *plan = &run->plan;
	size_t i, checked = run->views.n - plan->n_skipped;
	int c, listed = 0;

	for (i = 0; i < plan->n_skipped; i++)
		fprintf(out, "WARNING: host %s — skipped (--skip-unreachable): not checked\n",
			plan->skipped_hosts[i]);
	for (i = 0; i < plan->n_warnings; i++)
		fprintf(out, "warning: %s\n", plan->warnings[i]);
	for (i = 0; i < r->n; i++)
		print_item(&r->items[i], out, color);
	if (!r->n) {
		fprintf(out, "No drift: the %zu host%s checked match%s the configuration "
			"(project %s)", checked, checked == 1 ? "" : "s", checked == 1 ? "es" : "",
			plan->project);
		if (plan->n_skipped)
			fprintf(out, "; %zu skipped", plan->n_skipped);
		fputs(".\n", out);
		return;
	}
	fprintf(out, "\nDrift: %zu resource%s of project %s differ%s from the configuration (",
		r->n, r->n == 1 ? "" : "s", plan->project, r->n == 1 ? "s" : "");
	for (c = 0; c < DRIFT_CAUSE_COUNT; c++) {
		if (!r->counts[c])
			continue;
		fprintf(out, "%s%u %s", listed++ ? ", " : "", r->counts[c],
			c == DRIFT_MISSING ? "deleted outside virtform" : cause_texts[c]);
	}
	fprintf(out, ")");
	if (plan->n_skipped)
		fprintf(out, "; %zu host%s skipped", plan->n_skipped, plan->n_skipped == 1 ? "" : "s");
	fputs(".\n", out);
}

/* ---- JSON (schemas/drift.schema.json) ------------------------------------- */

static json_t *item_json(const struct vf_run *run, const struct drift_item *it)
{
	const struct vf_action *a = it->main ? it->main : it->state;
	json_t *o = json_object(), *fields = json_array();
	size_t i;

	json_object_set_new(o, "address", json_string(it->address));
	if (it->link) {
		const struct vf_link_change *l = it->link;
		json_object_set_new(o, "kind", json_string("link"));
		json_object_set_new(o, "name", json_string(l->name));
		json_object_set_new(o, "host", json_string(l->host));
		json_object_set_new(o, "action", json_string(vf_action_type_name(l->type)));
		json_object_set_new(o, "reason", vf_json_str_or_null(l->reason));
		for (i = 0; i < l->n_fields; i++)
			json_array_append_new(fields, json_pack("{s:s, s:o, s:o}",
				"path", l->fields[i].field,
				"before", vf_json_str_or_null(l->fields[i].before),
				"after", vf_json_str_or_null(l->fields[i].after)));
	} else {
		json_object_set_new(o, "kind", json_string(vf_kind_name(a->kind)));
		json_object_set_new(o, "name", json_string(a->name));
		json_object_set_new(o, "host", vf_json_str_or_null(a->host));
		json_object_set_new(o, "action", json_string(vf_action_type_name(a->type)));
		json_object_set_new(o, "reason", vf_json_str_or_null(a->type == VF_ACTION_REPLACE
								      ? a->reason : NULL));
		if (it->main && (it->main->type == VF_ACTION_UPDATE ||
				 it->main->type == VF_ACTION_REPLACE)) {
			/* the plan's own rendering of the fields: same values, same
			 * redactions as plan --json */
			json_t *c = vf_plan_change_json(&run->plan, it->main->index);
			json_decref(fields);
			fields = json_incref(json_object_get(c, "fields"));
			json_decref(c);
		}
	}
	json_object_set_new(o, "cause", json_string(cause_names[it->cause]));
	json_object_set_new(o, "cause_text", json_string(cause_texts[it->cause]));
	json_object_set_new(o, "note", vf_json_str_or_null(it->note));
	json_object_set_new(o, "fields", fields);
	if (it->state) {
		const char *now, *want;
		state_words(it->state, &now, &want);
		json_object_set_new(o, "state", json_pack("{s:s, s:s}", "before", now, "after", want));
	} else {
		json_object_set_new(o, "state", json_null());
	}
	return o;
}

static json_t *report_json(const struct vf_run *run, const struct drift_report *r,
			   const char *config_path)
{
	const struct vf_plan *plan = &run->plan;
	json_t *doc = json_object(), *items = json_array(), *skipped = json_array();
	json_t *warnings = json_array(), *counts = json_object();
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (i = 0; i < r->n; i++)
		json_array_append_new(items, item_json(run, &r->items[i]));
	for (i = 0; i < plan->n_skipped; i++) {
		const char *s = plan->skipped_hosts[i], *colon = strstr(s, ": ");
		json_array_append_new(skipped, json_pack("{s:s%, s:s}", "host", s,
			colon ? (size_t)(colon - s) : strlen(s), "error", colon ? colon + 2 : ""));
	}
	for (i = 0; i < plan->n_warnings; i++)
		json_array_append_new(warnings, json_string(plan->warnings[i]));
	json_object_set_new(counts, "resources", json_integer((json_int_t)r->n));
	for (i = 0; i < DRIFT_CAUSE_COUNT; i++)
		json_object_set_new(counts, cause_names[i], json_integer(r->counts[i]));
	json_object_set_new(counts, "hosts_checked",
			    json_integer((json_int_t)(run->views.n - plan->n_skipped)));
	json_object_set_new(counts, "hosts_skipped", json_integer((json_int_t)plan->n_skipped));

	json_object_set_new(doc, "format_version", json_integer(DRIFT_FORMAT_VERSION));
	json_object_set_new(doc, "project", json_string(plan->project ? plan->project : ""));
	json_object_set_new(doc, "config", json_string(config_path));
	json_object_set_new(doc, "checked_at", json_string(when));
	json_object_set_new(doc, "drift", json_boolean(r->n > 0));
	json_object_set_new(doc, "resources", items);
	json_object_set_new(doc, "skipped_hosts", skipped);
	json_object_set_new(doc, "warnings", warnings);
	json_object_set_new(doc, "counts", counts);
	json_object_set_new(doc, "fix", json_null());
	return doc;
}

/* ---- --notify-command ------------------------------------------------------- */

/*
 * Run cmd with /bin/sh -c, text on its stdin, its stdout sent to our
 * stderr (stdout may be a JSON document).  Failures are warnings.
 */
static void notify(const char *cmd, const char *text, size_t count, const char *project)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int fds[2], status;
	size_t len = strlen(text);
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) < 0) {
		fprintf(stderr, "virtform drift: warning: cannot run the notify command: %s\n",
			strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "virtform drift: warning: cannot run the notify command: %s\n",
			strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		char n[32];
		snprintf(n, sizeof(n), "%zu", count);
		close(fds[1]);
		if (dup2(fds[0], STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		close(fds[0]);
		setenv("VIRTFORM_DRIFT_COUNT", n, 1);
		setenv("VIRTFORM_DRIFT_PROJECT", project ? project : "", 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	/* a command that does not read its stdin must not kill us */
	sigaction(SIGPIPE, &ign, &old);
	vf_write_all(fds[1], text, len);   /* a reader gone early: its exit status says */
	close(fds[1]);
	sigaction(SIGPIPE, &old, NULL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (WIFEXITED(status))
		fprintf(stderr, "virtform drift: warning: the notify command exited with status %d "
			"(%s); the drift report above stands\n", WEXITSTATUS(status), cmd);
	else
		fprintf(stderr, "virtform drift: warning: the notify command was killed by signal "
			"%d (%s); the drift report above stands\n", WTERMSIG(status), cmd);
}

/* ---- --fix ---------------------------------------------------------------- */

/*
 * Apply run's plan unasked, with stdout going to stderr while it runs
 * when stdout is to carry only the JSON document.  The exit status.
 */
static int fix(const struct vf_run_opts *o, struct vf_run *run, bool quiet_stdout)
{
	int saved = -1, rc;

	fflush(stdout);
	if (quiet_stdout) {
		saved = dup(STDOUT_FILENO);
		if (saved < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
			if (saved >= 0)
				close(saved);
			return vf_cmd_error(&vf_cmd_drift, "cannot redirect the apply output: %s",
					    strerror(errno));
		}
	}
	printf("\nFixing the drift (--fix): applying the plan.\n");
	rc = vf_run_apply(&vf_cmd_drift, o, run, true);
	fflush(stdout);
	if (saved >= 0) {
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	return rc;
}

/* What drift was asked for: the run options and its own. */
struct drift_args {
	struct vf_run_opts o;
	const char *notify_cmd;      /* --notify-command; NULL: none */
	bool json, fix;
};

/*
 * After --fix applied the plan: a fresh plan, which must find nothing.
 * What it finds is told on text and added to remaining; its count.
 */
static size_t still_drifting(struct vf_run_opts *o, FILE *text, json_t *remaining, int *arc)
{
	struct drift_report left = { 0 };
	struct vf_run run;
	size_t n_left = 0, i;

	*arc = vf_run_plan(&vf_cmd_drift, o, &run);
	if (*arc == 0) {
		report_build(&run, &left);
		n_left = left.n;
		for (i = 0; i < left.n; i++)
			json_array_append_new(remaining, item_json(&run, &left.items[i]));
		if (left.n) {
			fprintf(text, "\nStill drifting after --fix:\n");
			for (i = 0; i < left.n; i++)
				print_item(&left.items[i], text, false);
		}
		report_release(&left);
	}
	vf_run_release(&run, o);
	return n_left;
}

/*
 * --fix: apply run's plan (released here), plan again to check that it
 * converged, say so on text and record it in doc ("fix").  targets (the
 * --target list, which vf_run_release frees with the first run) is taken
 * over for the second plan.  The exit status.
 */
static int fix_and_check(struct drift_args *a, struct vf_run *run, const char **targets,
			 FILE *text, json_t *doc)
{
	json_t *remaining = json_array();
	size_t n_left = 0;
	int arc = fix(&a->o, run, a->json), rc;

	vf_run_release(run, &a->o);
	if (arc == 0) {
		a->o.targets = targets;
		a->o.n_targets = a->o.alloc_targets = targets ? a->o.n_targets : 0;
		targets = NULL;
		n_left = still_drifting(&a->o, text, remaining, &arc);
	}
	free(targets);
	rc = arc == 0 && n_left == 0 ? VF_EXIT_OK : VF_EXIT_ERROR;
	fprintf(text, "\n%s\n", rc == VF_EXIT_OK
		? "Drift fixed: the hosts match the configuration again."
		: arc ? "Drift not fixed: the apply failed (see above)."
		      : "Drift not fixed: the hosts still differ after the apply (see above).");
	json_object_set_new(doc, "fix", json_pack("{s:b, s:b, s:o}", "applied", arc == 0,
		"converged", rc == VF_EXIT_OK, "remaining", remaining));
	return rc;
}

/* The JSON document on stdout (--json) and to --notify-command (drift found). */
static void emit(const struct drift_args *a, json_t *doc, size_t found)
{
	char *s, *line;

	if (a->json) {
		fflush(stderr);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	if (!found || !a->notify_cmd)
		return;
	s = json_dumps(doc, JSON_INDENT(2));
	if (s) {
		line = xasprintf("%s\n", s);
		notify(a->notify_cmd, line, found, json_string_value(json_object_get(doc, "project")));
		free(line);
		free(s);
	}
}

/* The work of drift, options parsed: plan, report, --fix.  The exit status. */
static int drift(struct drift_args *a)
{
	struct drift_report report = { 0 };
	struct vf_run run;
	const char **targets = NULL;
	FILE *text = a->json ? (a->fix ? stderr : NULL) : stdout;
	json_t *doc = NULL;
	size_t found = 0;
	int rc;

	/* vf_run_release frees the targets array; --fix plans twice */
	if (a->o.n_targets) {
		targets = xcalloc(a->o.n_targets, sizeof(*targets));
		memcpy(targets, a->o.targets, a->o.n_targets * sizeof(*targets));
	}
	rc = vf_run_plan(&vf_cmd_drift, &a->o, &run);
	if (rc) {
		vf_run_release(&run, &a->o);
		free(targets);
		fflush(stdout);
		return rc;
	}
	report_build(&run, &report);
	found = report.n;
	doc = report_json(&run, &report, a->o.config_path);
	if (text)
		print_report(&run, &report, text, text == stdout && vf_run_color());
	if (found && a->fix) {
		rc = fix_and_check(a, &run, targets, text, doc);
	} else {
		rc = found ? VF_EXIT_CHANGES : VF_EXIT_OK;
		vf_run_release(&run, &a->o);
		free(targets);
	}
	emit(a, doc, found);
	report_release(&report);
	json_decref(doc);
	fflush(stdout);
	return rc;
}

static int cmd_drift(int argc, char **argv)
{
	struct drift_args a = { .o = { .confirm_timeout = -1 } };
	int c, rc = VF_EXIT_ERROR;

	while ((c = vf_run_getopt(&vf_cmd_drift, argc, argv, &a.o)) != -1) {
		switch (c) {
		case VF_OPT_JSON: a.json = true; break;
		case VF_OPT_FIX: a.fix = true; break;
		case VF_OPT_NOTIFY_COMMAND: a.notify_cmd = optarg; break;
		default: rc = vf_cmd_usage_or_error(&vf_cmd_drift, c); goto bad;
		}
	}
	/* empty: none, so that a unit can pass an unset variable */
	if (a.notify_cmd && !a.notify_cmd[strspn(a.notify_cmd, " \t")])
		a.notify_cmd = NULL;
	/* CONFIG or --git REPO[@REF], as plan reads them */
	if (vf_run_config_arg(&vf_cmd_drift, argc, argv, &a.o) < 0)
		goto bad;
	return drift(&a);
bad:
	free(a.o.targets);
	return rc;
}

const struct vf_cmd vf_cmd_drift = VF_CMD("drift",
	"report where the hosts differ from the configuration (exit 2); --fix converges", usage,
	cmd_drift, .options = VF_OPTS(VF_OPT_JSON, VF_OPT_FIX, VF_OPT_NOTIFY_COMMAND, RUN_OPTS,
				      RUN_GUARD_OPTS));
