/*
 * apply.c — execute a plan.
 *
 * The plan's array is a valid order and every action lists what it waits
 * for; up to parallelism threads pick the first action whose dependencies
 * have all succeeded, so independent work on different hosts (and on one
 * host) runs at once.  An action whose dependency failed is not attempted
 * — and neither is anything waiting on it — while everything else goes
 * on: a failure stops only what depends on it.
 *
 * Each host gets one provider session, opened by the first action that
 * needs it and shared by the threads (providers are thread-safe per
 * session).
 *
 * Crash safety — the intent journal (state.h: the journal, pending).
 * Before an action calls its provider, its state entry (made if there is
 * none: a create claims its object before making it) says what is about
 * to happen, in a begin record appended to the journal and made durable
 * (fdatasync).  When the action ends its entry is updated (or dropped,
 * for a delete) and the pending mark cleared, in an end record appended
 * without a sync: the next action's sync makes it durable, and the save
 * at the end of the run folds the journal into state.json.  So whatever
 * kills the run (kill -9, a power cut), every object it was working on is
 * recorded as virtform's with the action that was cut short — no orphan,
 * and the next plan re-checks it (an interrupted upload is redone) —
 * while an action costs two appended lines and one fdatasync, whatever
 * the size of the state.  Deferring the end's sync is safe: an action
 * starts only after what it depends on has ended, and its own sync makes
 * that durable too (one file: fdatasync flushes all of it).  The records
 * are appended under the executor's lock, in the order the actions begin
 * and end; the syncs run outside it, so that those of actions running at
 * once share the disk's flushes.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconcile/engine.h"

enum status {
	PENDING,
	RUNNING,
	SUCCEEDED,
	FAILED,
	NOT_ATTEMPTED,
};

struct host_session {
	const char *host;
	const char *uri;
	pthread_mutex_t lock;
	bool tried;
	struct vf_session *session;
	char *error;
};

struct exec {
	const struct vf_config *config;
	const struct vf_plan *plan;
	const struct vf_provider *provider;
	struct vf_state *state;
	const struct vf_apply_opts *opts;
	struct vf_apply_result *result;

	pthread_mutex_t lock;
	pthread_cond_t changed;
	enum status *status;
	char **errors;
	size_t first_pending;       /* no PENDING action before it */
	size_t finished;
	size_t running;
	double start;               /* vf_now() when the apply began */

	struct host_session *sessions;
	size_t n_sessions;
	bool dirty;                 /* the state changed since it was saved */
	bool journal_warned;        /* a failed end record was reported */
};

static const char *const past[VF_ACTION_COUNT] = {
	"created", "updated", "replaced", "destroyed", "started", "stopped",
};

static struct host_session *session_for(struct exec *x, const char *host)
{
	size_t i;

	for (i = 0; i < x->n_sessions; i++)
		if (!strcmp(x->sessions[i].host, host))
			return &x->sessions[i];
	return NULL;
}

/* The host's session, opened on first use; NULL with *error set. */
static struct vf_session *session_get(struct exec *x, const char *host, char **error)
{
	struct host_session *hs = session_for(x, host);
	struct vf_session *s;

	if (!hs) {
		*error = xasprintf("host '%s' is not in the configuration", host);
		return NULL;
	}
	pthread_mutex_lock(&hs->lock);
	if (!hs->tried) {
		hs->tried = true;
		hs->session = x->provider->session_open(hs->uri, &hs->error);
		if (!hs->session && !hs->error)
			hs->error = xstrdup("cannot connect");
	}
	s = hs->session;
	if (!s)
		*error = xasprintf("host '%s': %s", host, hs->error);
	pthread_mutex_unlock(&hs->lock);
	return s;
}

static void state_save(struct exec *x)
{
	char *error = NULL;

	if (vf_state_save(x->state, &error) < 0) {
		/* the caller says what is recorded where */
		x->result->state_error = error;
		x->result->journal_incomplete = x->journal_warned;
		return;
	}
	x->dirty = false;
}

/* The state entry of what action a makes or changes (strings borrowed). */
static void entry_of(const struct vf_action *a, struct vf_state_entry *e)
{
	const struct vf_resource *r = a->desired ? a->desired : a->observed;

	memset(e, 0, sizeof(*e));
	e->address = (char *)a->address;
	e->kind = a->kind;
	e->name = (char *)a->name;
	e->host = (char *)a->host;
	if (a->kind == VF_KIND_VOLUME && r)
		e->pool = (char *)r->u.vol.pool;
	e->protect = a->kind == VF_KIND_VM && r && r->protect;
	e->keep = a->kind == VF_KIND_VOLUME && r && r->u.vol.keep;
}

/*
 * Journal the start of action a, before the provider is called; under
 * x->lock.  A create or replace claims its object with a new entry; other
 * actions mark the entry there is (or make one); *made says which.  The
 * record is durable once vf_state_journal_sync() returned 0.  Returns 0, or -1 with
 * *error set when it cannot be appended: then the action must not run (a
 * crash could leave what it makes unknown).
 */
static int journal_begin(struct exec *x, const struct vf_action *a, bool *made, char **error)
{
	const struct vf_state_entry *old = vf_state_find(x->state, a->address);
	struct vf_state_entry e;
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	if (old && a->type != VF_ACTION_CREATE && a->type != VF_ACTION_REPLACE)
		e = *old;
	else
		entry_of(a, &e);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	e.pending = (char *)vf_action_type_name(a->type);
	e.pending_since = stamp;
	*made = !old;
	x->dirty = true;
	return vf_state_journal_begin(x->state, &e, error);
}

/*
 * Record what action a did (ok) or that it failed — started says whether
 * its provider was called at all — and end its journal entry: an end
 * record, made durable by the next action's sync or folded into
 * state.json by the save at the end of the run.  Under x->lock.
 */
static void journal_end(struct exec *x, const struct vf_action *a, bool ok, bool made,
			bool started)
{
	const struct vf_state_entry *old = vf_state_find(x->state, a->address);
	struct vf_state_entry e;
	const struct vf_state_entry *left = old;  /* the entry the action leaves */
	char *error = NULL, spec[17];

	x->dirty = true;
	if (ok && a->type == VF_ACTION_DELETE) {
		left = NULL;
	} else if (ok && (a->type == VF_ACTION_CREATE || a->type == VF_ACTION_UPDATE ||
			  a->type == VF_ACTION_REPLACE)) {
		entry_of(a, &e);
		/* a redefined domain keeps its uuid (a new one comes with a
		 * replace, and the next sync records it) */
		if (a->type == VF_ACTION_UPDATE && old && old->host && a->host &&
		    !strcmp(old->host, a->host))
			e.uuid = old->uuid;
		/* what it is now, so that a later difference can be told to
		 * come from outside (a domain's marker carries its own) */
		if (a->kind != VF_KIND_VM && a->desired) {
			vf_resource_hash(a->desired, spec);
			e.spec = spec;
		}
		left = &e;
	} else if (!ok && made &&
		   (!started || a->kind == VF_KIND_VM ||
		    (a->type != VF_ACTION_CREATE && a->type != VF_ACTION_REPLACE))) {
		/*
		 * Failed, on an entry made only for the journal: back to no
		 * entry.  A domain that came to be anyway carries its marker
		 * (the next sync records it); other objects a create or replace
		 * claimed stay claimed — a pool defined but not built is
		 * virtform's — and entries of what never came to be are pruned
		 * by vf_state_sync.  An action whose start could not be
		 * journaled made nothing: no claim.
		 */
		left = NULL;
	} else if (!old) {
		return;
	}
	/* otherwise the entry stays, its pending mark cleared */
	if (vf_state_journal_end(x->state, a->address, ok, left, &error) < 0 &&
	    !x->journal_warned) {
		/* the state in memory has it: the save at the end writes it */
		fprintf(x->opts->out, "warning: %s\n", error);
		x->journal_warned = true;
	}
	free(error);
}

static void progress(struct exec *x)
{
	size_t i, shown = 0;

	if (!x->opts->tty)
		return;
	fprintf(x->opts->out, "\r\033[K[%zu/%zu, %.0f s]", x->finished, x->plan->n_actions,
		vf_now() - x->start);
	for (i = 0; i < x->plan->n_actions && shown < 3; i++)
		if (x->status[i] == RUNNING) {
			fprintf(x->opts->out, "%s %s", shown ? "," : " working on",
				x->plan->actions[i].address);
			shown++;
		}
	if (x->running > shown)
		fprintf(x->opts->out, " and %zu more", x->running - shown);
	fflush(x->opts->out);
}

static void line(struct exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct exec *x, const char *fmt, ...)
{
	va_list ap;

	if (x->opts->tty)
		fputs("\r\033[K", x->opts->out);
	va_start(ap, fmt);
	vf_vfprintf_text(x->opts->out, fmt, ap);   /* libvirt's errors quote names */
	va_end(ap);
	fputc('\n', x->opts->out);
	progress(x);
}

/*
 * The next action to run, or SIZE_MAX when none is ready; marks those that
 * cannot run any more as NOT_ATTEMPTED.  Under x->lock.
 */
static size_t pick(struct exec *x)
{
	size_t i, j;

	while (x->first_pending < x->plan->n_actions && x->status[x->first_pending] != PENDING)
		x->first_pending++;
	for (i = x->first_pending; i < x->plan->n_actions; i++) {
		const struct vf_action *a = &x->plan->actions[i];
		bool ready = true;
		const struct vf_action *failed = NULL;
		if (x->status[i] != PENDING)
			continue;
		for (j = 0; j < a->n_deps; j++) {
			enum status s = x->status[a->deps[j]];
			if (s == FAILED || s == NOT_ATTEMPTED)
				failed = &x->plan->actions[a->deps[j]];
			else if (s != SUCCEEDED)
				ready = false;
		}
		if (failed) {
			x->status[i] = NOT_ATTEMPTED;
			x->finished++;
			x->result->n_not_attempted++;
			x->errors[i] = xasprintf("not attempted: it depends on %s, which %s",
						 failed->address,
						 x->status[failed->index] == FAILED ? "failed"
										    : "was not attempted");
			line(x, "%s: %s", a->address, x->errors[i]);
			continue;
		}
		if (ready)
			return i;
	}
	return SIZE_MAX;
}

/* No action can run and none is running: a cycle (which a well-formed
 * plan cannot have).  What is left is not attempted.  Under x->lock. */
static void pending_abandon(struct exec *x)
{
	size_t k;

	for (k = 0; k < x->plan->n_actions; k++)
		if (x->status[k] == PENDING) {
			x->status[k] = NOT_ATTEMPTED;
			x->errors[k] = xstrdup("not attempted: dependency cycle");
			x->result->n_not_attempted++;
			x->finished++;
		}
	pthread_cond_broadcast(&x->changed);
}

/*
 * Carry out a, its begin record journaled (rc: journal_begin's): make the
 * record durable, then call the provider on a's host.  Not under the lock
 * (the syncs of actions starting at once share the disk's flushes).
 * *started: the begin record is durable, so the provider was called.
 */
static int action_run(struct exec *x, const struct vf_action *a, int rc, bool *started,
		      char **error)
{
	struct vf_session *s;

	if (rc == 0)
		rc = vf_state_journal_sync(x->state, error);
	*started = rc == 0;
	if (!*started) {
		char *why = *error;
		*error = xasprintf("not started: cannot record it in the state first: %s", why);
		free(why);
	} else {
		s = session_get(x, a->host, error);
		rc = s ? x->provider->apply(s, a, error) : -1;
	}
	if (rc < 0 && !*error)
		*error = xstrdup("failed (no reason given)");
	return rc;
}

/* Action i ended (rc, error: action_run's, error now x's): its status,
 * its end record and its line.  Under x->lock. */
static void action_finish(struct exec *x, size_t i, int rc, char *error, bool made,
			  bool started, double t0)
{
	const struct vf_action *a = &x->plan->actions[i];

	x->running--;
	x->finished++;
	if (rc == 0) {
		x->status[i] = SUCCEEDED;
		x->result->done[a->type]++;
		journal_end(x, a, true, made, true);
		if (a->kind == VF_KIND_VM)
			line(x, "%s on %s: %s in %.1f s", a->address, a->host, past[a->type],
			     vf_now() - t0);
		else
			line(x, "%s: %s in %.1f s", a->address, past[a->type], vf_now() - t0);
	} else {
		size_t n = strlen(a->address);
		x->status[i] = FAILED;
		/* providers name the object; say it once */
		if (!strncmp(error, a->address, n) && !strncmp(error + n, ": ", 2))
			memmove(error, error + n + 2, strlen(error + n + 2) + 1);
		x->errors[i] = error;
		x->result->n_failed++;
		journal_end(x, a, false, made, started);
		line(x, "%s: FAILED after %.1f s: %s", a->address, vf_now() - t0, error);
	}
	pthread_cond_broadcast(&x->changed);
}

static void *worker(void *opaque)
{
	struct exec *x = opaque;

	pthread_mutex_lock(&x->lock);
	for (;;) {
		size_t i = pick(x);
		const struct vf_action *a;
		double t0;
		char *error = NULL;
		bool made, started;
		int rc;

		if (i == SIZE_MAX) {
			if (x->finished == x->plan->n_actions)
				break;
			if (!x->running) {
				pending_abandon(x);
				break;
			}
			pthread_cond_wait(&x->changed, &x->lock);
			continue;
		}
		a = &x->plan->actions[i];
		x->status[i] = RUNNING;
		x->running++;
		/*
		 * Journal it before doing it: if the action fails half-way (a
		 * pool defined but not started) or the run dies, what it made is
		 * still ours next time — converged, not an orphan blocking the
		 * plan as an unmanaged clash — and marked as interrupted.
		 */
		rc = journal_begin(x, a, &made, &error);
		progress(x);
		pthread_mutex_unlock(&x->lock);

		t0 = vf_now();
		rc = action_run(x, a, rc, &started, &error);

		pthread_mutex_lock(&x->lock);
		action_finish(x, i, rc, error, made, started, t0);
	}
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

static void print_failed(FILE *out, const char *address, const char *error)
{
	fputs("  ", out);
	vf_fputs_text(address, out);
	fputs(": ", out);
	vf_fputs_text(error, out);
	fputc('\n', out);
}

/* x's status, errors and one session slot per host. */
static void exec_init(struct exec *x)
{
	const struct vf_config *config = x->config;
	size_t i;

	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->changed, NULL);
	x->status = xcalloc(x->plan->n_actions, sizeof(*x->status));
	x->errors = xcalloc(x->plan->n_actions, sizeof(*x->errors));
	x->sessions = xcalloc(config->n_hosts ? config->n_hosts : 1, sizeof(*x->sessions));
	x->n_sessions = config->n_hosts;
	for (i = 0; i < config->n_hosts; i++) {
		x->sessions[i].host = config->hosts[i].name;
		x->sessions[i].uri = config->hosts[i].uri;
		pthread_mutex_init(&x->sessions[i].lock, NULL);
	}
}

static void sessions_close(struct exec *x)
{
	size_t i;

	for (i = 0; i < x->n_sessions; i++) {
		if (x->sessions[i].session)
			x->provider->session_close(x->sessions[i].session);
		free(x->sessions[i].error);
		pthread_mutex_destroy(&x->sessions[i].lock);
	}
}

/* What exec_init made (the sessions closed first). */
static void exec_release(struct exec *x)
{
	size_t i;

	for (i = 0; i < x->plan->n_actions; i++)
		free(x->errors[i]);
	free(x->errors);
	free(x->status);
	free(x->sessions);
	pthread_cond_destroy(&x->changed);
	pthread_mutex_destroy(&x->lock);
}

/* Actions on skipped hosts, and so what waits for them, are not attempted. */
static void skip_hosts(struct exec *x)
{
	const struct vf_apply_opts *opts = x->opts;
	size_t i, k;

	for (i = 0; i < x->plan->n_actions; i++) {
		const struct vf_action *a = &x->plan->actions[i];
		for (k = 0; a->host && k < opts->n_skip_hosts; k++)
			if (!strcmp(a->host, opts->skip_hosts[k]))
				break;
		if (!a->host || k == opts->n_skip_hosts)
			continue;
		x->status[i] = NOT_ATTEMPTED;
		x->finished++;
		x->result->n_not_attempted++;
		x->errors[i] = xasprintf("not attempted: host %s: %s", a->host,
					 opts->skip_reason ? opts->skip_reason : "skipped");
		line(x, "%s: %s", a->address, x->errors[i]);
	}
}

/* Run the workers (opts->parallelism threads, or this one when none can
 * be made) until every action has ended. */
static void run_workers(struct exec *x)
{
	unsigned n_threads = x->opts->parallelism ? x->opts->parallelism : 1, t;
	size_t started = 0;
	pthread_t *threads;

	if (n_threads > x->plan->n_actions)
		n_threads = (unsigned)x->plan->n_actions;
	threads = xcalloc(n_threads, sizeof(*threads));
	for (t = 0; t < n_threads; t++)
		if (pthread_create(&threads[t], NULL, worker, x) == 0)
			started++;
		else
			break;
	if (!started)
		worker(x);         /* no thread at all: do it here */
	if (x->opts->tty) {
		/* keep the progress line's clock moving during long actions
		 * (a graceful shutdown waits up to shutdown_timeout) */
		pthread_mutex_lock(&x->lock);
		while (x->finished < x->plan->n_actions) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&x->changed, &x->lock, &until);
			progress(x);
		}
		pthread_mutex_unlock(&x->lock);
	}
	for (t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	free(threads);
}

int vf_apply(const struct vf_config *config, const struct vf_plan *plan,
	     const struct vf_provider *provider, struct vf_state *state,
	     const struct vf_apply_opts *opts, struct vf_apply_result *result)
{
	struct exec x = {
		.config = config, .plan = plan, .provider = provider, .state = state,
		.opts = opts, .result = result,
	};
	size_t i;

	memset(result, 0, sizeof(*result));
	if (!plan->n_actions)
		return 0;
	exec_init(&x);
	if (!state->project)
		state->project = xstrdup(config->project);
	x.start = vf_now();

	skip_hosts(&x);
	run_workers(&x);
	if (x.dirty)
		state_save(&x);         /* the journal, folded into state.json */
	if (opts->tty)
		fputs("\r\033[K", opts->out);
	sessions_close(&x);

	if (result->n_failed || result->n_not_attempted) {
		fprintf(opts->out, "\nFailed:\n");
		for (i = 0; i < plan->n_actions; i++)
			if (x.status[i] == FAILED)
				print_failed(opts->out, plan->actions[i].address, x.errors[i]);
		for (i = 0; i < plan->n_actions; i++)
			if (x.status[i] == NOT_ATTEMPTED)
				print_failed(opts->out, plan->actions[i].address, x.errors[i]);
	}
	exec_release(&x);
	return result->n_failed || result->n_not_attempted || result->state_error ? -1 : 0;
}

/*
 * One host's observed objects by kind, pool (volumes) and name, for
 * vf_state_sync: built once per host, so that matching the state's
 * entries costs one lookup each rather than a scan of the host.
 */
struct host_index {
	bool built;
	struct vf_strmap items;      /* key -> the first item with it */
	char **keys;                 /* the map's keys, owned */
	size_t n_keys, alloc_keys;
};

/* The key of an object; NULL for a volume of no pool (it matches nothing). */
static char *item_key(enum vf_kind kind, const char *pool, const char *name)
{
	if (kind == VF_KIND_VOLUME && !pool)
		return NULL;
	return xasprintf("%s\x1f%s\x1f%s", vf_kind_name(kind),
			 kind == VF_KIND_VOLUME ? pool : "", name);
}

static const struct vf_observed_item *host_index_find(const struct host_index *hi,
						       enum vf_kind kind, const char *pool,
						       const char *name)
{
	char *key = item_key(kind, pool, name);
	const struct vf_observed_item *it = key ? vf_strmap_get(&hi->items, key) : NULL;

	free(key);
	return it;
}

/* The index of view v (views->hosts[i]), built on first use. */
static struct host_index *host_index_of(struct host_index *all, const struct vf_views *views,
					const struct vf_host_view *v)
{
	struct host_index *hi = &all[v - views->hosts];
	const struct vf_observed *o = v->observed;
	size_t i;

	if (hi->built)
		return hi;
	hi->built = true;
	for (i = 0; i < o->n_items; i++) {
		const struct vf_resource *r = &o->items[i].r;
		char *key = item_key(r->kind, r->kind == VF_KIND_VOLUME ? r->u.vol.pool : NULL,
				     r->name);
		if (!key)
			continue;
		if (vf_strmap_get(&hi->items, key)) {
			free(key);
			continue;
		}
		VF_GROW(hi->keys, hi->n_keys + 1, hi->alloc_keys);
		hi->keys[hi->n_keys++] = key;
		vf_strmap_put(&hi->items, key, (void *)&o->items[i]);
	}
	return hi;
}

static void host_indexes_free(struct host_index *all, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		vf_strmap_release(&all[i].items);
		for (j = 0; j < all[i].n_keys; j++)
			free(all[i].keys[j]);
		free(all[i].keys);
	}
	free(all);
}

/*
 * Is the object of state entry e certainly absent from its host (hi)?  A
 * volume is only known absent when its pool was read and is active.
 */
static bool state_entry_absent(const struct vf_state_entry *e, const struct host_index *hi)
{
	const struct vf_observed_item *pool;

	if (host_index_find(hi, e->kind, e->pool, e->name))
		return false;
	if (e->kind != VF_KIND_VOLUME)
		return true;
	pool = e->pool ? host_index_find(hi, VF_KIND_STORAGE, NULL, e->pool) : NULL;
	return pool && pool->detailed && pool->r.u.pool.active;
}

/* Does e's host (hi) have the object of e (a domain: with project's marker)? */
static bool state_entry_present(const struct vf_state_entry *e, const struct host_index *hi,
				const char *project)
{
	const struct vf_observed_item *it = host_index_find(hi, e->kind, e->pool, e->name);

	if (!it)
		return false;
	if (e->kind == VF_KIND_VM)
		return vf_observed_ours(it, project);
	return true;
}

/*
 * Does the journal say e's content may be incomplete — an image upload
 * that an interrupted apply began?  That is the one thing the hosts
 * cannot tell (the volume is there, with the right size); the plan
 * replaces such a volume, and its mark stays until that is done.
 */
static bool upload_interrupted(const struct vf_state_entry *e, const struct vf_desired *desired)
{
	size_t i;

	if (e->kind != VF_KIND_VOLUME || !e->pending ||
	    (strcmp(e->pending, "create") && strcmp(e->pending, "replace")))
		return false;
	for (i = 0; i < desired->n; i++)
		if (desired->items[i].kind == VF_KIND_VOLUME &&
		    !strcmp(desired->items[i].address, e->address))
			return desired->items[i].u.vol.upload_file != NULL;
	return false;
}

/* Managed domains, wherever they are: recorded with their host and uuid. */
static bool sync_domains(struct vf_state *state, const struct vf_config *config,
			 const struct vf_views *views)
{
	bool changed = false;
	size_t i, j;

	for (i = 0; i < views->n; i++) {
		const struct vf_observed *o = views->hosts[i].observed;
		for (j = 0; o && j < o->n_items; j++) {
			const struct vf_resource *r = &o->items[j].r;
			const struct vf_state_entry *e;
			struct vf_state_entry ne = { 0 };
			char *addr;
			if (!vf_observed_ours(&o->items[j], config->project))
				continue;
			addr = vf_address_new(VF_KIND_VM, r->name, NULL);
			e = vf_state_find(state, addr);
			if (!e || !e->host || strcmp(e->host, o->host) ||
			    (r->uuid && (!e->uuid || strcmp(e->uuid, r->uuid)))) {
				ne.address = addr;
				ne.kind = VF_KIND_VM;
				ne.name = (char *)r->name;
				ne.host = (char *)o->host;
				ne.uuid = (char *)r->uuid;
				ne.protect = e && e->protect;
				vf_state_put(state, &ne);
				changed = true;
			}
			free(addr);
		}
	}
	return changed;
}

/* The index of e's host when that host was read; NULL when it was not
 * (skipped, unreachable, or not in the configuration). */
static const struct host_index *read_host_index(const struct vf_state_entry *e,
						const struct vf_views *views,
						struct host_index *index)
{
	const struct vf_host_view *v = e->host ? vf_views_find(views, e->host) : NULL;

	return v && v->observed ? host_index_of(index, views, v) : NULL;
}

/* Records of objects that are not there (a create that failed before
 * making anything), on hosts that were read: dropped. */
static bool sync_absent(struct vf_state *state, const struct vf_views *views,
			struct host_index *index)
{
	bool changed = false;
	size_t i;

	for (i = state->n; i-- > 0;) {
		const struct vf_state_entry *e = &state->entries[i];
		const struct host_index *hi;
		if (e->kind == VF_KIND_VM || !(hi = read_host_index(e, views, index)) ||
		    !state_entry_absent(e, hi))
			continue;
		vf_state_remove(state, e->address);
		changed = true;
	}
	return changed;
}

/*
 * The journal of an interrupted apply: the plan was built from what the
 * hosts have, so it already completes what was cut short (an interrupted
 * upload is replaced: that mark stays until it is).  A domain whose
 * create was cut short before its definition reached its host leaves a
 * record of nothing: dropped (a managed domain found anywhere was
 * recorded by sync_domains, with its host).
 */
static bool sync_pending(struct vf_state *state, const struct vf_config *config,
			 const struct vf_desired *desired, const struct vf_views *views,
			 struct host_index *index)
{
	bool changed = false;
	size_t i;

	for (i = state->n; i-- > 0;) {
		const struct vf_state_entry *e = &state->entries[i];
		const struct host_index *hi;
		struct vf_state_entry ne;
		if (!e->pending || upload_interrupted(e, desired) ||
		    !(hi = read_host_index(e, views, index)))
			continue;
		if (e->kind == VF_KIND_VM && !state_entry_present(e, hi, config->project)) {
			vf_state_remove(state, e->address);
		} else {
			ne = *e;
			ne.pending = NULL;
			ne.pending_since = NULL;
			vf_state_put(state, &ne);
		}
		changed = true;
	}
	return changed;
}

/* Flags the config sets on what exists (protect, keep). */
static bool sync_flags(struct vf_state *state, const struct vf_desired *desired)
{
	bool changed = false;
	size_t i;

	for (i = 0; i < desired->n; i++) {
		const struct vf_resource *r = &desired->items[i];
		const struct vf_state_entry *e = vf_state_find(state, r->address);
		struct vf_state_entry ne;
		bool keep = r->kind == VF_KIND_VOLUME && r->u.vol.keep;
		bool protect = r->kind == VF_KIND_VM && r->protect;
		if (!e || (e->protect == protect && e->keep == keep))
			continue;
		ne = *e;
		ne.protect = protect;
		ne.keep = keep;
		vf_state_put(state, &ne);
		changed = true;
	}
	return changed;
}

bool vf_state_sync(struct vf_state *state, const struct vf_config *config,
		   const struct vf_desired *desired, const struct vf_views *views)
{
	struct host_index *index = xcalloc(views->n ? views->n : 1, sizeof(*index));
	bool changed = false;

	if (!state->project) {
		state->project = xstrdup(config->project);
		changed = true;
	}
	changed |= sync_domains(state, config, views);
	changed |= sync_absent(state, views, index);
	changed |= sync_pending(state, config, desired, views, index);
	changed |= sync_flags(state, desired);
	host_indexes_free(index, views->n);
	return changed;
}
