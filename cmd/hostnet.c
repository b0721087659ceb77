/*
 * hostnet.c — the controller's side of host networking (hostnet.h).
 *
 * Every call to a host is `virtform host ...` there, with the host spec
 * (reconcile/hostnet.h) on its standard input and one JSON document on
 * its standard output; the hosts are asked at once, one thread each.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/hostnet.h"
#include "providers/hostnet/remote.h"
#include "reconcile/hostnet.h"
#include "reconcile/json-stream.h"

#define RECORD_NAME "hostnet.json"
/* Confirmation attempts: this long between them, and for this long after
 * the host's deadline (to hear that it rolled back). */
#define CONFIRM_RETRY 1.0
#define CONFIRM_GRACE 5.0

struct vf_hostnetcmd_host {
	const struct vf_host *host;
	enum vf_remote_kind kind;
	char *spec;                 /* the host spec, JSON text */
	bool has_links;             /* the config gives it links */
	/* one call's outcome (a thread's work) */
	struct vf_remote_result res;
	char *error;                /* could not run it */
	json_t *doc;                /* its answer */
	/* apply */
	bool planned;               /* its plan came back */
	const char *args[12];
	unsigned confirm_timeout;
	char confirm_buf[16];
	bool run;                   /* this phase runs on it */
	bool failed;
	struct vf_buf lines;        /* what to print, made by the thread */
	char *failure;              /* why its phase failed, for the final list */
	unsigned done[VF_ACTION_COUNT];
	size_t n_failed, n_rolled_back, n_not_attempted;
};

/* ---- the record: hosts with links applied ------------------------------ */

static void record_read(const char *path, char ***names, size_t *n)
{
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, NULL), *hosts, *v;
	size_t i;

	*names = NULL;
	*n = 0;
	hosts = doc ? json_object_get(doc, "hosts") : NULL;
	if (json_is_array(hosts)) {
		*names = xcalloc(json_array_size(hosts) + 1, sizeof(**names));
		json_array_foreach(hosts, i, v)
			if (json_is_string(v))
				(*names)[(*n)++] = xstrdup(json_string_value(v));
	}
	json_decref(doc);
}

static void names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Update the record after an apply: add or drop host (atomic write).
 * NULL, or why it could not be written (malloc'd). */
static char *record_set(const char *path, const char *host, bool present)
{
	char **names, *text, *line, *why = NULL;
	size_t n, i;
	json_t *doc, *arr;

	if (!path)
		return NULL;
	record_read(path, &names, &n);
	if (vf_str_in((const char *const *)names, n, host) == present) {
		names_free(names, n);
		return NULL;
	}
	doc = json_object();
	arr = json_array();
	for (i = 0; i < n; i++)
		if (strcmp(names[i], host))
			json_array_append_new(arr, json_string(names[i]));
	if (present)
		json_array_append_new(arr, json_string(host));
	json_object_set_new(doc, "hosts", arr);
	text = json_dumps(doc, JSON_INDENT(2));
	line = text ? xasprintf("%s\n", text) : NULL;
	errno = ENOMEM;
	if (!line || vf_write_file_atomic(path, line, strlen(line), 0600) < 0)
		why = xasprintf("cannot write %s: %s", path, strerror(errno));
	free(line);
	free(text);
	json_decref(doc);
	names_free(names, n);
	return why;
}

/* ---- calls --------------------------------------------------------------- */

static void call_reset(struct vf_hostnetcmd_host *h)
{
	vf_remote_result_release(&h->res);
	free(h->error);
	h->error = NULL;
	json_decref(h->doc);
	h->doc = NULL;
}

/* Run args on h with its spec on stdin; parse the answer into h->doc.
 * 0, or -1 with h->error. */
static int call(struct vf_hostnetcmd_host *h, const char *const *args, double timeout, unsigned flags)
{
	json_error_t je;

	call_reset(h);
	if (vf_remote_run(h->host, args, h->spec, timeout, flags, &h->res, &h->error) < 0)
		return -1;
	h->doc = json_loads(h->res.out, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(h->doc) || !json_is_string(json_object_get(h->doc, "status"))) {
		char *where = vf_remote_describe(h->host);
		h->error = xasprintf("host %s: 'virtform host %s' on %s answered no JSON document "
				     "(exit status %d)%s%s%s", h->host->name, args[0], where,
				     h->res.status, *h->res.err ? ": " : "", h->res.err,
				     strstr(h->res.err, "unknown") ? "; is virtform there as new as "
				     "this one?" : "");
		free(where);
		json_decref(h->doc);
		h->doc = NULL;
		return -1;
	}
	return 0;
}

/* ---- plan ---------------------------------------------------------------- */

static bool link_targeted(const struct vf_hostnetcmd_opts *o, const char *host, bool *any_link)
{
	size_t i;
	bool hit = false;

	*any_link = false;
	for (i = 0; i < o->n_targets; i++) {
		const char *t = o->targets[i], *at;
		if (strncmp(t, "link.", 5))
			continue;
		*any_link = true;
		at = strchr(t, '@');
		if (!at || !strcmp(at + 1, host))
			hit = true;
	}
	return hit;
}

struct plan_job {
	struct vf_hostnetcmd *hn;
	size_t next;
	pthread_mutex_t lock;
	const char *const *args;
};

/* The next host of the job for a worker thread, or NULL when none is left. */
static struct vf_hostnetcmd_host *job_next(struct plan_job *j)
{
	size_t i;

	pthread_mutex_lock(&j->lock);
	i = j->next++;
	pthread_mutex_unlock(&j->lock);
	return i < j->hn->n ? &j->hn->hosts[i] : NULL;
}

static void *call_worker(void *opaque)
{
	struct plan_job *j = opaque;
	struct vf_hostnetcmd_host *h;

	while ((h = job_next(j)))
		call(h, j->args, j->hn->timeout, 0);
	return NULL;
}

/* Run fn over every host at once (a thread each, at most 16). */
static void run_all(struct vf_hostnetcmd *hn, void *(*fn)(void *), void *arg)
{
	pthread_t threads[16];
	size_t n = hn->n < 16 ? hn->n : 16, i, started = 0;

	for (i = 0; i < n; i++)
		if (pthread_create(&threads[i], NULL, fn, arg) == 0)
			started++;
	if (!started)
		fn(arg);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

/* A host's error text into diags: lines "FILE:L:C: error: MSG" keep
 * their position. */
static void host_errors(struct vf_diags *diags, const char *host, const char *text)
{
	char *copy = xstrdup(text), *line, *save = NULL;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *e = strstr(line, ": error: ");
		unsigned l, c;
		struct vf_pos pos = { 0 };
		char *file = NULL;
		const char *msg = line;

		if (!strncmp(line, "error: ", 7))
			msg = line + 7;
		if (e) {
			char *colon2, *colon1;
			*e = '\0';
			colon2 = strrchr(line, ':');
			colon1 = colon2 ? (*colon2 = '\0', strrchr(line, ':')) : NULL;
			if (colon1 && sscanf(colon1 + 1, "%u", &l) == 1 &&
			    sscanf(colon2 + 1, "%u", &c) == 1) {
				*colon1 = '\0';
				file = line;
				pos.file = file;
				pos.line = l;
				pos.col = c;
				msg = e + 9;
			} else {
				if (colon2)
					*colon2 = ':';
				*e = ':';
				msg = line;
			}
		}
		if (!*msg)
			continue;
		vf_error_at(diags, pos.file ? &pos : NULL, NULL, "host %s: %s", host, msg);
	}
	free(copy);
}

/* An action name of the host's answer; an update when unknown. */
static enum vf_action_type op_of(const char *s)
{
	enum vf_action_type t;

	return vf_action_type_parse(s, &t) == 0 ? t : VF_ACTION_UPDATE;
}

/*
 * The host of config to ask about its links into hn, with the spec it is
 * to have: hosts with desired links, an ssh: block, or a record of links
 * applied earlier; not those of the test driver (a warning when they have
 * links).
 */
static void host_collect(struct vf_hostnetcmd *hn, const struct vf_config *config,
			 const struct vf_host *host, const struct vf_hostnetcmd_opts *o,
			 char **recorded, size_t n_recorded, struct vf_plan *plan,
			 struct vf_diags *diags)
{
	struct vf_host_links links = { .arena = VF_ARENA_INIT };
	struct vf_hostnetcmd_host *h;
	json_t *spec;
	bool hit;

	if (o->n_targets && !link_targeted(o, host->name, &hit))
		return;
	if (!o->destroy && vf_hostnet_desired(config, host, &links, diags) < 0)
		goto out;
	if (!links.n && !host->ssh.given && !vf_str_in((const char *const *)recorded, n_recorded, host->name))
		goto out;
	if (vf_remote_kind_of(host) == VF_REMOTE_NONE) {
		if (links.n)
			vf_plan_warn(plan, "host %s uses libvirt's test driver (%s): its network "
				  "links are not managed", host->name, host->uri);
		goto out;
	}
	h = &hn->hosts[hn->n++];
	h->host = host;
	vf_buf_init(&h->lines);
	h->kind = vf_remote_kind_of(host);
	h->has_links = links.n > 0;
	spec = vf_hostnet_spec_json(host->name, &links);
	h->spec = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
out:
	vf_host_links_release(&links);
}

/* Host h's answer to plan into plan (or its failure into diags, or a
 * warning with --skip-unreachable). */
static void host_planned(struct vf_hostnetcmd_host *h, const struct vf_hostnetcmd_opts *o,
			 struct vf_plan *plan, struct vf_diags *diags)
{
	const char *status = h->doc ? vf_json_str(h->doc, "status") : NULL;

	if (h->error) {
		if (o->skip_unreachable)
			vf_plan_warn(plan, "host %s: its network links are not planned: %s",
				  h->host->name, h->error);
		else
			vf_error_at(diags, NULL, "check that virtform is installed there and "
				    "reachable, or give --skip-unreachable", "%s", h->error);
		return;
	}
	if (!strcmp(status, "error")) {
		host_errors(diags, h->host->name,
			    vf_json_str(h->doc, "error") ? vf_json_str(h->doc, "error") : "failed");
		return;
	}
	if (vf_plan_add_links(plan, h->host->name, json_object_get(h->doc, "changes")) < 0)
		vf_error_at(diags, NULL, NULL, "host %s: its host plan document is malformed",
			    h->host->name);
	h->planned = true;
}

int vf_hostnetcmd_plan(struct vf_hostnetcmd *hn, const struct vf_config *config, const char *state_dir,
		 const struct vf_hostnetcmd_opts *o, struct vf_plan *plan, struct vf_diags *diags)
{
	static const char *const args[] = { "plan", "--spec", "-", "--json", NULL };
	struct plan_job job = { .hn = hn, .args = args };
	char **recorded = NULL;
	size_t n_recorded = 0, i;
	size_t errors = diags->n_errors;
	bool any_link = false;

	memset(hn, 0, sizeof(*hn));
	hn->timeout = o->timeout;
	hn->record_path = state_dir ? xasprintf("%s/%s", state_dir, RECORD_NAME) : NULL;
	if (o->n_targets) {
		link_targeted(o, "", &any_link);
		if (!any_link)
			return 0;      /* --target without link.*: no host networking */
	}
	if (hn->record_path)
		record_read(hn->record_path, &recorded, &n_recorded);
	hn->hosts = xcalloc(config->n_hosts + 1, sizeof(*hn->hosts));
	for (i = 0; i < config->n_hosts; i++)
		host_collect(hn, config, &config->hosts[i], o, recorded, n_recorded, plan, diags);
	names_free(recorded, n_recorded);
	if (diags->n_errors > errors || !hn->n)
		return diags->n_errors > errors ? -1 : 0;

	pthread_mutex_init(&job.lock, NULL);
	run_all(hn, call_worker, &job);
	pthread_mutex_destroy(&job.lock);

	for (i = 0; i < hn->n; i++)
		host_planned(&hn->hosts[i], o, plan, diags);
	return diags->n_errors > errors ? -1 : 0;
}

/* ---- apply --------------------------------------------------------------- */

static const char *past_of(const char *action)
{
	if (!strcmp(action, "create"))
		return "created";
	if (!strcmp(action, "replace"))
		return "replaced";
	if (!strcmp(action, "delete"))
		return "destroyed";
	return "updated";
}

static void lines_add(struct vf_hostnetcmd_host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void lines_add(struct vf_hostnetcmd_host *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vf_buf_vaddf(&h->lines, fmt, ap);
	va_end(ap);
	vf_buf_addch(&h->lines, '\n');
}

/*
 * The per-change lines and counts of an apply answer.  confirmed: the
 * changes done stay (else they were rolled back, unconfirmed); error:
 * what the failed change ran into.
 */
static void take_outcomes(struct vf_hostnetcmd_host *h, const json_t *doc, bool confirmed,
			  const char *error)
{
	const json_t *changes = json_object_get(doc, "changes"), *c;
	size_t i;

	json_array_foreach(changes, i, c) {
		const char *name = vf_json_str(c, "name"), *action = vf_json_str(c, "action");
		const char *outcome = vf_json_str(c, "outcome");

		if (!name || !action || !outcome)
			continue;
		if (!strcmp(outcome, "done") && confirmed) {
			h->done[op_of(action)]++;
			lines_add(h, "link.%s@%s: %s", name, h->host->name, past_of(action));
		} else if (!strcmp(outcome, "not-run")) {
			h->n_not_attempted++;
			lines_add(h, "link.%s@%s: not attempted: a link change before it on %s "
				  "failed", name, h->host->name, h->host->name);
		} else if (!strcmp(outcome, "failed")) {
			h->n_failed++;
			lines_add(h, "link.%s@%s: FAILED: %s", name, h->host->name,
				  error ? error : "failed");
		} else {
			h->n_rolled_back++;
			lines_add(h, "link.%s@%s: rolled back", name, h->host->name);
		}
	}
}

/* msg without its leading "host NAME: " (the line names the host). */
static const char *without_host(const struct vf_hostnetcmd_host *h, const char *msg)
{
	size_t n = strlen(h->host->name);

	if (!strncmp(msg, "host ", 5) && !strncmp(msg + 5, h->host->name, n) &&
	    !strncmp(msg + 5 + n, ": ", 2))
		return msg + 7 + n;
	return msg;
}

/* The host's own line for the final list of failures. */
static void failure(struct vf_hostnetcmd_host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void failure(struct vf_hostnetcmd_host *h, const char *fmt, ...)
{
	va_list ap;

	h->failed = true;
	free(h->failure);
	va_start(ap, fmt);
	h->failure = xvasprintf(fmt, ap);
	va_end(ap);
	lines_add(h, "host %s: %s", h->host->name, h->failure);
}

/*
 * Confirm the change of h (token) over fresh connections, retrying until
 * a little after the host's deadline: the host decides under its lock, so
 * a confirmation either arrives first (and proves it can be reached) or
 * finds the change rolled back.  True when confirmed.
 */
static bool confirm(struct vf_hostnetcmd_host *h, const char *token, double deadline)
{
	const char *args[] = { "confirm", "--token", token, "--json", NULL };
	char *last = NULL, *keep_spec = h->spec;
	double until = deadline + CONFIRM_GRACE;
	bool ok = false, answered = false;

	h->spec = NULL;       /* confirm reads no spec */
	do {
		double left = until - vf_now();
		if (call(h, args, left > 10 ? 10 : left > 1 ? left : 1, VF_REMOTE_FRESH) == 0) {
			const char *status = vf_json_str(h->doc, "status");
			ok = !strcmp(status, "confirmed");
			free(last);
			last = xstrdup(vf_json_str(h->doc, "error") ? vf_json_str(h->doc, "error") : status);
			answered = true;
			break;   /* the host decided */
		}
		free(last);
		last = h->error;
		h->error = NULL;
		if (until - vf_now() > CONFIRM_RETRY)
			usleep((useconds_t)(CONFIRM_RETRY * 1e6));
	} while (vf_now() < until);
	if (!ok)
		failure(h, "the link changes were not confirmed: %s%s",
			last ? last : "no answer in time",
			answered ? "" : "; the host rolls them back by itself at the end of its "
					"confirm timeout");
	free(last);
	h->spec = keep_spec;
	return ok;
}

static void *apply_worker(void *opaque)
{
	struct plan_job *j = opaque;

	struct vf_hostnetcmd_host *h;

	while ((h = job_next(j))) {
		const char *status, *error, *rollback;
		json_t *conf;
		double t0, timeout;
		bool ok;

		if (!h->run)
			continue;
		t0 = vf_now();
		timeout = j->hn->timeout + h->confirm_timeout;
		if (call(h, h->args, timeout, 0) < 0) {
			failure(h, "FAILED: %s", without_host(h, h->error));
			continue;
		}
		status = vf_json_str(h->doc, "status");
		error = vf_json_str(h->doc, "error");
		rollback = vf_json_str(h->doc, "rollback");
		if (!strcmp(status, "unchanged") || !strcmp(status, "applied")) {
			take_outcomes(h, h->doc, true, NULL);
			continue;
		}
		if (!strcmp(status, "pending")) {
			json_t *answer = json_incref(h->doc);
			conf = json_object_get(answer, "confirm");
			if (!vf_json_str(conf, "token")) {
				failure(h, "FAILED: it answered a pending change without a token");
				json_decref(answer);
				continue;
			}
			/* the host's deadline, measured from our side of the call */
			ok = confirm(h, vf_json_str(conf, "token"), t0 + h->confirm_timeout);
			take_outcomes(h, answer, ok, NULL);
			json_decref(answer);
			continue;
		}
		take_outcomes(h, h->doc, false, error);
		if (!error)
			error = *h->res.err ? h->res.err : status;
		if (!strcmp(status, "rolled-back") || (rollback && !strcmp(rollback, "complete")))
			failure(h, "its link changes failed and were rolled back completely: %s",
				error);
		else if (rollback)
			failure(h, "its link changes FAILED and the rollback is %s: %s; check its links "
				"with 'virtform host show' there", rollback, error);
		else
			failure(h, "FAILED: %s", error);
	}
	return NULL;
}

/* Has the plan changes of this phase for host? */
static bool phase_has(const struct vf_plan *plan, const char *host, bool deletes)
{
	size_t k;

	for (k = 0; k < plan->n_links; k++)
		if (!strcmp(plan->links[k].host, host) && vf_plan_link_late(plan, k) == deletes)
			return true;
	return false;
}

/*
 * Make ready host h for this phase of the apply (deletes: the late one):
 * whether it runs, and its arguments.  A host skipped (its earlier phase
 * failed) gets its changes listed as not attempted.
 */
static void apply_prepare(struct vf_hostnetcmd_host *h, const struct vf_plan *plan,
			  bool deletes, int confirm_timeout, const char *const *skip, size_t n_skip)
{
	size_t a = 0, k;

	vf_buf_release(&h->lines);
	free(h->failure);
	h->failure = NULL;
	memset(h->done, 0, sizeof(h->done));
	h->n_failed = h->n_rolled_back = h->n_not_attempted = 0;
	h->failed = false;
	h->run = h->planned && phase_has(plan, h->host->name, deletes);
	if (h->run && vf_str_in(skip, n_skip, h->host->name)) {
		/* what this phase would change there is not attempted */
		for (k = 0; k < plan->n_links; k++)
			if (!strcmp(plan->links[k].host, h->host->name) &&
			    vf_plan_link_late(plan, k) == deletes) {
				lines_add(h, "%s: not attempted: the changes before it on host "
					  "%s failed", plan->links[k].address, h->host->name);
				h->n_not_attempted++;
			}
		h->run = false;
		h->failed = true;
		return;
	}
	if (!h->run)
		return;
	/* over SSH a change is confirmed over a new connection by
	 * default: one that cuts the host off heals itself */
	h->confirm_timeout = confirm_timeout >= 0 ? (unsigned)confirm_timeout
			   : h->kind == VF_REMOTE_SSH ? HOSTNET_CONFIRM_TIMEOUT : 0;
	h->args[a++] = "apply";
	h->args[a++] = "--spec";
	h->args[a++] = "-";
	h->args[a++] = "--json";
	h->args[a++] = "--auto-approve";
	if (!deletes)
		h->args[a++] = "--no-delete";
	if (h->confirm_timeout) {
		snprintf(h->confirm_buf, sizeof(h->confirm_buf), "%u", h->confirm_timeout);
		h->args[a++] = "--confirm-timeout";
		h->args[a++] = h->confirm_buf;
	}
	h->args[a] = NULL;
}

/* A line "  host NAME: ..." appended to res->failures. */
__attribute__((format(printf, 3, 4)))
static void failure_add(struct vf_hostnetcmd_result *res, const char *host, const char *fmt, ...)
{
	struct vf_buf b = VF_BUF_INIT;
	va_list ap;

	if (res->failures)
		vf_buf_adds(&b, res->failures);
	vf_buf_addf(&b, "  host %s: ", host);
	va_start(ap, fmt);
	vf_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	vf_buf_addch(&b, '\n');
	free(res->failures);
	res->failures = vf_buf_detach(&b);
}

/* Host h's outcome of this phase into res, and the record of hosts with
 * links updated.  false: it failed. */
static bool apply_collect(struct vf_hostnetcmd *hn, struct vf_hostnetcmd_host *h, bool deletes,
			  FILE *out, struct vf_hostnetcmd_result *res)
{
	size_t k;

	fputs(h->lines.buf, out);
	for (k = 0; k < VF_ACTION_COUNT; k++)
		res->done[k] += h->done[k];
	res->n_failed += h->n_failed;
	res->n_rolled_back += h->n_rolled_back;
	res->n_not_attempted += h->n_not_attempted;
	if (h->failed) {
		if (!h->n_failed && !h->n_rolled_back && !h->n_not_attempted)
			res->n_failed++;
		if (h->failure)
			failure_add(res, h->host->name, "%s", h->failure);
		return false;
	}
	if (h->run) {
		/* links applied there: ask it again next time, even
		 * when the configuration gives it none */
		char *why = record_set(hn->record_path, h->host->name, h->has_links || !deletes);
		if (why) {
			/* what was applied stays; the record of which
			 * hosts to ask is what is missing */
			failure_add(res, h->host->name, "its links were applied, but %s; the next "
				    "plan may not ask it about its links: make room and run apply "
				    "again", why);
			res->unrecorded = true;
			free(why);
		}
	}
	return true;
}

int vf_hostnetcmd_apply(struct vf_hostnetcmd *hn, const struct vf_config *config, const struct vf_plan *plan,
		  bool deletes, int confirm_timeout, const char *const *skip, size_t n_skip,
		  FILE *out, struct vf_hostnetcmd_result *res, const char ***failed, size_t *n_failed)
{
	struct plan_job job = { .hn = hn };
	size_t i;
	int rc = 0;

	(void)config;
	*failed = xcalloc(hn->n + 1, sizeof(**failed));
	*n_failed = 0;
	for (i = 0; i < hn->n; i++)
		apply_prepare(&hn->hosts[i], plan, deletes, confirm_timeout, skip, n_skip);
	pthread_mutex_init(&job.lock, NULL);
	run_all(hn, apply_worker, &job);
	pthread_mutex_destroy(&job.lock);

	for (i = 0; i < hn->n; i++) {
		struct vf_hostnetcmd_host *h = &hn->hosts[i];

		if (!apply_collect(hn, h, deletes, out, res)) {
			rc = -1;
			(*failed)[(*n_failed)++] = h->host->name;
		}
	}
	fflush(out);
	return rc;
}

void vf_hostnetcmd_release(struct vf_hostnetcmd *hn)
{
	size_t i;

	for (i = 0; i < hn->n; i++) {
		call_reset(&hn->hosts[i]);
		free(hn->hosts[i].spec);
		vf_buf_release(&hn->hosts[i].lines);
		free(hn->hosts[i].failure);
	}
	free(hn->hosts);
	free(hn->record_path);
	memset(hn, 0, sizeof(*hn));
}
