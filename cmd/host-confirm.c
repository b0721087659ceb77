/*
 * host-confirm.c — a change `virtform host apply --confirm-timeout S`
 * keeps only if it is confirmed in time, and `virtform host confirm`,
 * which keeps it: the pending file (hostnet-pending.json: enough to roll
 * the change back from the file alone), the watcher, expiry.
 *
 * A pending change is rolled back by a watcher: a process forked by apply
 * that leaves the caller's session and descriptors at once (so that an SSH
 * session or a $(...) ends with apply) and wakes at the deadline.  Should
 * it not come (killed, host restarted), the next apply or confirm under
 * the lock rolls the expired change back itself.
 *
 * The snapshot, the steps and the rollback itself are host apply's
 * (cmd/host-apply.c); the context and the lock are cmd/host.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/random.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/host.h"
#include "providers/hostnet/links.h"
#include "reconcile/hostnet.h"
#include "reconcile/json-stream.h"
#include "reconcile/util.h"

/* ---- pending changes: the file, the watcher, expiry ----------------------- */

double vf_hostcmd_now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "2026-11-27 10:00:05 UTC" (local time). */
const char *vf_hostcmd_time_text(json_int_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(buf, size, "%lld", (long long)t);
	return buf;
}

/* The kernel's boot id: tells a pending change from before a restart. */
char *vf_hostcmd_boot_id(void)
{
	char buf[64] = "";
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	return xstrdup(buf);
}

/* The network namespace this process is in ("net:[4026531840]"): a
 * pending change is rolled back only in the namespace it was made in. */
char *vf_hostcmd_netns_id(void)
{
	char buf[64];
	ssize_t n = readlink("/proc/self/ns/net", buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return xstrdup(buf);
}

/* A process's start time (clock ticks after boot, /proc/PID/stat field
 * 22), so that a recycled pid is not taken for the watcher; "" if gone. */
char *vf_hostcmd_proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	size_t n;
	int field;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return xstrdup("");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');   /* the command name may hold spaces */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return xstrdup("");      /* gone, or a zombie: not running */
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return xstrdup("");
	return xasprintf("%llu", start);
}

static bool watcher_alive(const json_t *pending)
{
	json_int_t pid = json_integer_value(json_object_get(pending, "pid"));
	const char *start = json_string_value(json_object_get(pending, "pid_start"));
	char *now;
	bool alive;

	if (pid <= 0 || !start || kill((pid_t)pid, 0) < 0)
		return false;
	now = vf_hostcmd_proc_start((pid_t)pid);
	alive = !strcmp(now, start);
	free(now);
	return alive;
}

/* 32 hex digits from getrandom(). */
int vf_hostcmd_token_new(char out[33], char **error)
{
	unsigned char b[16];
	size_t i;
	ssize_t n;

	do
		n = getrandom(b, sizeof(b), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(b)) {
		*error = xasprintf("cannot make a confirmation token: getrandom: %s",
				   n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	for (i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

const char *vf_hostcmd_jstr(const json_t *o, const char *key)
{
	const char *s = vf_json_str(o, key);
	return s ? s : "";
}

json_int_t vf_hostcmd_jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* Is the pending change doc from another network namespace than this
 * one?  Then *outcome says so (malloc'd). */
static bool other_netns(const json_t *doc, char **outcome)
{
	char *ns = vf_hostcmd_netns_id();
	bool other = strcmp(ns, vf_hostcmd_jstr(doc, "netns")) != 0;

	if (other)
		*outcome = xasprintf("not done: the change was made in network namespace %s, "
				     "this is %s; run the command in that namespace",
				     vf_hostcmd_jstr(doc, "netns"), ns);
	free(ns);
	return other;
}

/* Undo the steps of the pending change doc on the links.  NULL, or the
 * problems (malloc'd). */
static char *links_roll_back(const char *pending_path, const json_t *doc)
{
	struct vf_link_list list = { NULL, 0 };
	struct vf_hostcmd_applier a;
	char *problems = NULL, *error = NULL;

	memset(&a, 0, sizeof(a));
	a.list = &list;
	if (vf_hostcmd_applier_from_json(&a, doc, &error) < 0 ||
	    vf_netlink_open(&a.nl, &error) < 0)
		vf_hostcmd_problem_add(&problems, "cannot roll back from '%s': %s", pending_path, error);
	else
		problems = vf_hostcmd_rollback(&a);
	free(error);
	vf_netlink_close(a.nl);
	vf_hostcmd_applier_release(&a);
	vf_link_list_release(&list);
	return problems;
}

/* The ownership records from before the pending change doc, written
 * back.  0, or -1 with *error. */
static int records_restore(const char *state_file, const json_t *doc, char **error)
{
	struct vf_hostnet_owned prev = { NULL, NULL, 0, 0 };
	int rc = 0;

	if (vf_hostnet_owned_from_json(json_object_get(doc, "previous_records"),
				       "the pending change's previous records", &prev, error) < 0 ||
	    vf_hostnet_owned_write(state_file, &prev, error) < 0)
		rc = -1;
	vf_hostnet_owned_release(&prev);
	return rc;
}

/* *outcome with more said after it. */
__attribute__((format(printf, 2, 3)))
static void outcome_append(char **outcome, const char *fmt, ...)
{
	struct vf_buf b = VF_BUF_INIT;
	va_list ap;

	vf_buf_adds(&b, *outcome);
	va_start(ap, fmt);
	vf_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(*outcome);
	*outcome = vf_buf_detach(&b);
}

/*
 * Roll back the pending change of doc (read under the lock): undo its
 * steps from its snapshot with a new netlink session, restore the
 * ownership records from before it, and record in the pending file
 * status "rolled-back", the time and the outcome.  A change from before a
 * restart (another boot id) went with the restart: only the records are
 * restored.  A change made in another network namespace is not touched
 * (-1, status still pending).  Returns 0 when the links are as before, 1
 * when the rollback is incomplete, -1 when nothing was done or the file
 * could not be written; *outcome
 * (malloc'd) says which: "complete", "incomplete: WHAT".
 */
static int pending_rollback(const char *pending_path, const char *state_file, json_t *doc,
			    char **outcome)
{
	char *problems, *error = NULL, *bid = vf_hostcmd_boot_id();
	bool same_boot = !strcmp(bid, vf_hostcmd_jstr(doc, "boot_id"));
	int rc = 0;

	free(bid);
	if (same_boot && other_netns(doc, outcome))
		return -1;
	if (!same_boot)
		*outcome = xstrdup("complete: the host restarted before confirmation, and the "
				   "change did not survive it");
	problems = same_boot ? links_roll_back(pending_path, doc) : NULL;
	if (!*outcome || !**outcome) {
		free(*outcome);
		*outcome = problems ? xasprintf("incomplete: %s", problems) : xstrdup("complete");
	}
	if (problems)
		rc = 1;
	free(problems);
	if (records_restore(state_file, doc, &error) < 0) {
		outcome_append(outcome, "; the ownership records were not restored: %s", error);
		free(error);
		error = NULL;
		rc = 1;
	}
	json_object_set_new(doc, "status", json_string("rolled-back"));
	json_object_set_new(doc, "rolled_back_at", json_integer((json_int_t)vf_hostcmd_now_real()));
	json_object_set_new(doc, "rollback", json_string(*outcome));
	if (vf_hostnet_write_json(pending_path, doc, "pending host network change", &error) < 0) {
		outcome_append(outcome, "; %s", error);
		rc = -1;
	}
	free(error);
	return rc;
}

/*
 * The watcher: a detached process (its own session, stdio on /dev/null,
 * no other descriptor) that waits for the deadline of the pending change
 * with token, and rolls it back unless it was confirmed meanwhile.  It
 * polls the pending file every 100 ms, so a confirmation ends it within
 * that.  go: the read end of a pipe on which the parent says "1" once the
 * pending file is written (anything else: the apply gave up; exit).
 */
static void watcher_run(int go, const char *pending_path, const char *state_file,
			const char *lock_path, const char *dir, const char *token,
			double fire_at)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	char c = 0;

	if (read(go, &c, 1) != 1 || c != '1')
		_exit(0);
	close(go);
	for (;;) {
		char *error = NULL, *outcome = NULL;
		bool missing;
		json_t *doc = vf_hostcmd_json_file_read(pending_path, "", &missing, &error);
		int fd;

		free(error);
		error = NULL;
		if (!doc || strcmp(vf_hostcmd_jstr(doc, "token"), token) || strcmp(vf_hostcmd_jstr(doc, "status"), "pending")) {
			json_decref(doc);
			_exit(0);   /* confirmed, or replaced */
		}
		json_decref(doc);
		if (vf_now() < fire_at) {
			nanosleep(&tick, NULL);
			continue;
		}
		fd = vf_hostcmd_lock_open(lock_path, dir, 60, &error);
		if (fd < 0) {
			free(error);
			_exit(1);
		}
		doc = vf_hostcmd_json_file_read(pending_path, "", &missing, &error);
		if (doc && !strcmp(vf_hostcmd_jstr(doc, "token"), token) &&
		    !strcmp(vf_hostcmd_jstr(doc, "status"), "pending"))
			pending_rollback(pending_path, state_file, doc, &outcome);
		json_decref(doc);
		free(outcome);
		free(error);
		close(fd);
		_exit(0);
	}
}

/*
 * Start the watcher.  Returns its pid (the caller writes the pending
 * file, then says go on *go_fd, or closes it to call it off), or -1 with
 * *error.
 */
pid_t vf_hostcmd_watcher_start(struct vf_hostcmd *x, const char *token, double fire_at, int *go_fd,
			   char **error)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		*error = xasprintf("cannot start the confirmation watcher: pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		*error = xasprintf("cannot start the confirmation watcher: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* let go of the caller: its terminal, its pipes (an SSH session or
		 * a $(...) waits for their end), the lock and the netlink socket */
		setsid();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		if (dup2(p[0], 3) < 0)
			_exit(1);
		if (close_range(4, ~0U, 0) < 0) {
			int fd;
			for (fd = 4; fd < 65536; fd++)
				close(fd);
		}
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		prctl(PR_SET_NAME, "vf-hostnet-wait", 0, 0, 0);
		if (chdir("/") < 0)
			_exit(1);
		watcher_run(3, x->pending_path, x->state_file, x->lock_path, x->dir, token, fire_at);
		_exit(0);
	}
	close(p[0]);
	*go_fd = p[1];
	return pid;
}

/* The pending file's document, or NULL (none, or an error reported: *failed). */
static json_t *pending_read(struct vf_hostcmd *x, bool *failed)
{
	char *error = NULL;
	bool missing;
	json_t *doc = vf_hostcmd_json_file_read(x->pending_path, "pending host network change", &missing,
				     &error);

	*failed = false;
	if (!doc && !missing) {
		vf_hostcmd_report(x, "%s; move it away to go on, after checking the links with 'virtform "
		       "host show'", error);
		*failed = true;
	}
	free(error);
	return doc;
}

/*
 * Under the lock, before an apply: a change that waits for confirmation
 * refuses it; one whose deadline passed (its watcher did not come, or has
 * not yet) is rolled back now, and one from before a restart is void.
 * 0 to go on, -1 reported.
 */
int vf_hostcmd_pending_check(struct vf_hostcmd *x)
{
	char applied[64], until[64];
	char *outcome = NULL;
	bool failed;
	json_t *doc = pending_read(x, &failed);
	char *bid;
	int rc = 0;

	if (!doc)
		return failed ? -1 : 0;
	if (strcmp(vf_hostcmd_jstr(doc, "status"), "pending")) {
		json_decref(doc);
		return 0;
	}
	bid = vf_hostcmd_boot_id();
	vf_hostcmd_time_text(vf_hostcmd_jint(doc, "applied_at"), applied, sizeof(applied));
	vf_hostcmd_time_text(vf_hostcmd_jint(doc, "deadline"), until, sizeof(until));
	if (!strcmp(bid, vf_hostcmd_jstr(doc, "boot_id")) && vf_hostcmd_now_real() < (double)vf_hostcmd_jint(doc, "deadline")) {
		rc = vf_hostcmd_report(x, "host %s: a change applied at %s waits for confirmation until %s "
			    "(token %s); confirm it with 'virtform host confirm --token %s' or "
			    "wait for its rollback%s", vf_hostcmd_jstr(doc, "host"), applied, until,
			    vf_hostcmd_jstr(doc, "token"), vf_hostcmd_jstr(doc, "token"),
			    watcher_alive(doc) ? "" : " (its watcher is gone: the first apply or "
			    "confirm after the deadline rolls it back)");
	} else {
		int r = pending_rollback(x->pending_path, x->state_file, doc, &outcome);

		if (r >= 0)
			fprintf(stderr, "virtform %s: the unconfirmed change applied at %s (deadline "
				"%s) was rolled back first: %s\n", x->cmd->name, applied, until,
				outcome);
		if (r != 0)
			rc = vf_hostcmd_report(x, "rolling back the unconfirmed change applied at %s failed: "
				    "%s; check the links with 'virtform host show'", applied, outcome);
	}
	free(outcome);
	free(bid);
	json_decref(doc);
	return rc;
}

/* ---- host confirm --------------------------------------------------------- */

static const char confirm_usage[] =
	"usage: virtform host confirm --token TOKEN [--json] [--state-file FILE]\n"
	"\n"
	"Keep the change that 'virtform host apply --confirm-timeout SECONDS' made\n"
	"and that waits for confirmation: its spec becomes the last confirmed\n"
	"state (" VF_HOSTNET_CONFIRMED_NAME "), and its watcher, which would have\n"
	"rolled it back at the deadline, ends.\n"
	"\n"
	"Options:\n"
	"      --token TOKEN        the token 'host apply' printed (32 hex digits)\n"
	"      --json               print {\"host\", \"status\": \"confirmed\"} (or an error\n"
	"                           document) on stdout\n"
	"      --state-file FILE    ownership records (default " VF_HOSTNET_STATE_FILE ");\n"
	"                           the pending change is in the same directory\n"
	"  -h, --help               show this help\n"
	"\n"
	"Exit status: 0 confirmed; 1 error: nothing waits for confirmation, another\n"
	"token, the change was already rolled back (no confirmation in time).\n";

/* host confirm's options.  0: go on; 1: --help printed; -1: a bad option. */
static int confirm_opts_parse(int argc, char **argv, const char **token, bool *json,
			      const char **state_file)
{
	int c;

	while ((c = vf_cmd_getopt(&vf_hostcmd_confirm, argc, argv)) != -1) {
		switch (c) {
		case VF_OPT_TOKEN: *token = optarg; break;
		case VF_OPT_JSON: *json = true; break;
		case VF_OPT_STATE_FILE: *state_file = optarg; break;
		case 'h': fputs(confirm_usage, stdout); return 1;
		default: return -1;
		}
	}
	return 0;
}

/*
 * The pending change doc, when token is its token and it still waits:
 * past its deadline (or from before a restart) it is rolled back here
 * rather than by the watcher.  0, or -1 reported.
 */
static int confirm_check(struct vf_hostcmd *x, json_t *doc, const char *token,
			 const char *applied)
{
	char when[64], *outcome = NULL, *bid;
	int rc = 0;

	if (strcmp(vf_hostcmd_jstr(doc, "token"), token)) {
		if (!strcmp(vf_hostcmd_jstr(doc, "status"), "pending"))
			vf_hostcmd_report(x, "token '%s' is not the token of the change that waits for "
			       "confirmation (applied at %s); give the token its 'virtform host "
			       "apply' printed", token, applied);
		else
			vf_hostcmd_report(x, "nothing waits for confirmation on this host (the last change, "
			       "with another token, was rolled back)");
		return -1;
	}
	bid = vf_hostcmd_boot_id();
	if (!strcmp(vf_hostcmd_jstr(doc, "status"), "pending") &&
	    (strcmp(bid, vf_hostcmd_jstr(doc, "boot_id")) || vf_hostcmd_now_real() >= (double)vf_hostcmd_jint(doc, "deadline"))) {
		/* too late: roll back now rather than wait for the watcher */
		if (pending_rollback(x->pending_path, x->state_file, doc, &outcome) < 0 &&
		    !strcmp(vf_hostcmd_jstr(doc, "status"), "pending")) {
			vf_hostcmd_report(x, "the confirmation came after the deadline, and the rollback "
			       "failed: %s", outcome);
			rc = -1;
		}
	}
	if (!rc && strcmp(vf_hostcmd_jstr(doc, "status"), "pending")) {
		vf_hostcmd_time_text(vf_hostcmd_jint(doc, "rolled_back_at"), when, sizeof(when));
		vf_hostcmd_report(x, "the change was rolled back at %s: no confirmation came within %lld s "
		       "(rollback %s)", when, (long long)vf_hostcmd_jint(doc, "timeout"), vf_hostcmd_jstr(doc, "rollback"));
		rc = -1;
	}
	free(outcome);
	free(bid);
	return rc;
}

/* Keep the pending change doc: its spec becomes the confirmed one, the
 * pending file goes (and with it the watcher).  0, or -1 reported. */
static int confirm_keep(struct vf_hostcmd *x, json_t *doc)
{
	char *error = NULL;

	if (vf_hostnet_write_json(x->confirmed_path, json_object_get(doc, "spec"),
				  "confirmed host network state", &error) < 0) {
		vf_hostcmd_report(x, "%s", error);
		free(error);
		return -1;
	}
	if (unlink(x->pending_path) < 0) {
		vf_hostcmd_report(x, "cannot remove '%s': %s; the change is confirmed, but its watcher "
		       "will roll it back at the deadline unless the file goes", x->pending_path,
		       strerror(errno));
		return -1;
	}
	if (watcher_alive(doc))   /* it would notice within 100 ms; spare it that */
		kill((pid_t)vf_hostcmd_jint(doc, "pid"), SIGTERM);
	vf_fsync_dir(x->dir);   /* best effort: the removal is done */
	return 0;
}

/* The work of host confirm once its options are read; an exit code. */
static int host_confirm(struct vf_hostcmd *x, const char *token, const char *state_file,
			bool json, int argc, char **argv)
{
	char applied[64];
	json_t *doc;
	bool failed;
	int rc = VF_EXIT_ERROR;

	if (!token) {
		vf_hostcmd_report(x, "--token TOKEN is required: the token 'virtform host apply "
		       "--confirm-timeout' printed");
		return VF_EXIT_ERROR;
	}
	if (optind < argc) {
		vf_hostcmd_report(x, "unexpected argument '%s'; see 'virtform host confirm --help'",
		       argv[optind]);
		return VF_EXIT_ERROR;
	}
	if (vf_hostcmd_paths(x, state_file) < 0 || vf_hostcmd_lock(x) < 0)
		return VF_EXIT_ERROR;
	doc = pending_read(x, &failed);
	if (!doc) {
		if (!failed)
			vf_hostcmd_report(x, "nothing waits for confirmation on this host (no pending change "
			       "in %s)", x->dir);
		return VF_EXIT_ERROR;
	}
	vf_hostcmd_set_name(x, vf_hostcmd_jstr(doc, "host"));
	vf_hostcmd_time_text(vf_hostcmd_jint(doc, "applied_at"), applied, sizeof(applied));
	if (confirm_check(x, doc, token, applied) == 0 && confirm_keep(x, doc) == 0) {
		if (json) {
			json_t *ok = json_pack("{s:s, s:s}", "host", x->host, "status", "confirmed");
			vf_hostcmd_print_doc(ok);
			json_decref(ok);
		} else {
			printf("Confirmed: the change applied at %s to host %s is kept.\n", applied,
			       x->host);
		}
		rc = VF_EXIT_OK;
	}
	json_decref(doc);
	return rc;
}

static int host_confirm_run(int argc, char **argv)
{
	const char *token = NULL, *state_file = VF_HOSTNET_STATE_FILE;
	struct vf_hostcmd x;
	bool json = false;
	int rc;

	switch (confirm_opts_parse(argc, argv, &token, &json, &state_file)) {
	case 1: return VF_EXIT_OK;
	case -1: return VF_EXIT_ERROR;
	}
	vf_hostcmd_init(&x, &vf_hostcmd_confirm, json);
	rc = host_confirm(&x, token, state_file, json, argc, argv);
	if (rc != VF_EXIT_OK && json)
		vf_hostcmd_print_error_doc(&x);
	vf_hostcmd_release(&x);
	return rc;
}

const struct vf_cmd vf_hostcmd_confirm = VF_CMD("host confirm",
	"keep a host network change that waits for confirmation", confirm_usage, host_confirm_run,
	.options = VF_OPTS(VF_OPT_TOKEN, VF_OPT_JSON, VF_OPT_STATE_FILE));
