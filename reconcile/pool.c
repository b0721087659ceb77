/*
 * pool.c — bounded parallelism with per-item deadlines (see pool.h).
 *
 * Design: one heap "run" object shared by the caller and every worker,
 * guarded by one mutex, reference-counted (the caller holds one reference,
 * every started worker one).  The caller starts workers up to the limit,
 * then sleeps on a condition variable until a worker finishes or the
 * earliest deadline passes.  A worker never touches the caller's items: it
 * records its result in the run's job slot, and the caller moves it out.
 * When the caller abandons a job and returns, the job slot and the run stay
 * alive until the last worker drops its reference, so a late worker only
 * ever writes into memory the pool still owns.
 *
 * Time is CLOCK_MONOTONIC: a wall-clock jump must not fire or stall
 * deadlines.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "reconcile/pool.h"
#include "reconcile/util.h"

enum job_state {
	JOB_WAITING,     /* not started yet */
	JOB_RUNNING,     /* a worker owns arg; the caller waits for it */
	JOB_FINISHED,    /* worker returned in time; result not yet collected */
	JOB_COLLECTED,   /* result moved to the caller's item */
	JOB_ABANDONED,   /* deadline passed; the worker cleans up alone */
	JOB_NO_THREAD,   /* pthread_create failed */
};

struct job {
	struct run *run;
	size_t index;
	void *arg;
	void *result;
	double started;
	double finished;          /* when the worker returned */
	double deadline;          /* absolute, monotonic; 0 = none */
	enum job_state state;
	pthread_t thread;
	bool joinable;            /* started, not abandoned: the caller joins it */
};

struct run {
	pthread_mutex_t lock;
	pthread_cond_t changed;   /* a worker finished */
	unsigned refs;            /* caller + live workers */
	struct vf_pool_ops ops;   /* a copy: the caller's may be on its stack */
	struct job *jobs;
};

static struct timespec timespec_from(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static void run_free(struct run *run)
{
	pthread_cond_destroy(&run->changed);
	pthread_mutex_destroy(&run->lock);
	free(run->jobs);
	free(run);
}

/* Drop one reference; called with run->lock held, releases it. */
static void run_unref_unlock(struct run *run)
{
	bool last = --run->refs == 0;

	pthread_mutex_unlock(&run->lock);
	if (last)
		run_free(run);
}

static void *worker(void *opaque)
{
	struct job *job = opaque;
	struct run *run = job->run;
	/* Read before dropping our reference: run may be freed after that. */
	void (*free_late)(void *) = run->ops.free_result;
	void *result, *late = NULL;

	result = run->ops.run(job->arg);
	if (run->ops.free_arg)
		run->ops.free_arg(job->arg);

	pthread_mutex_lock(&run->lock);
	job->arg = NULL;
	if (job->state == JOB_ABANDONED) {
		late = result;
	} else {
		job->result = result;
		job->finished = vf_now();
		job->state = JOB_FINISHED;
		pthread_cond_signal(&run->changed);
	}
	run_unref_unlock(run);
	if (late) {
		if (free_late)
			free_late(late);
		else
			free(late);
	}
	return NULL;
}

static bool job_start(struct job *job, double timeout)
{
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	job->started = vf_now();
	job->deadline = timeout > 0 ? job->started + timeout : 0;
	job->state = JOB_RUNNING;
	/*
	 * Joinable: the caller joins every worker that finished in time, so
	 * none is still exiting (running its thread-local destructors, such
	 * as libcrypto's) when the process exits and the libraries' atexit
	 * handlers free the same data.  Only an abandoned worker is detached.
	 */
	pthread_attr_init(&attr);
	err = pthread_create(&thread, &attr, worker, job);
	pthread_attr_destroy(&attr);
	if (err) {
		job->state = JOB_NO_THREAD;
		return false;
	}
	job->thread = thread;
	job->joinable = true;
	job->run->refs++;
	return true;
}

/* The caller's side of a run: the items and how far they have got. */
struct sched {
	struct vf_pool_item *items;
	size_t n;
	unsigned max_threads;
	size_t next;              /* the first item not started */
	unsigned running;
	size_t settled, failed;
};

/* A run of n jobs, one per item, and its condition variable on the
 * monotonic clock (the deadlines are vf_now()). */
static struct run *run_new(const struct vf_pool_item *items, size_t n,
			   const struct vf_pool_ops *ops)
{
	struct run *run = xcalloc(1, sizeof(*run));
	pthread_condattr_t cattr;
	size_t i;

	run->jobs = xcalloc(n, sizeof(*run->jobs));
	run->ops = *ops;
	run->refs = 1;
	pthread_mutex_init(&run->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&run->changed, &cattr);
	pthread_condattr_destroy(&cattr);
	for (i = 0; i < n; i++) {
		run->jobs[i].run = run;
		run->jobs[i].index = i;
		run->jobs[i].arg = items[i].arg;
		run->jobs[i].state = JOB_WAITING;
	}
	return run;
}

/* Fill free slots, in index order. */
static void sched_fill(struct run *run, struct sched *sc)
{
	while (sc->running < sc->max_threads && sc->next < sc->n) {
		struct job *job = &run->jobs[sc->next++];

		if (job_start(job, sc->items[job->index].timeout)) {
			sc->running++;
			continue;
		}
		/* No thread: the item fails; its arg is still ours to free. */
		if (run->ops.free_arg)
			run->ops.free_arg(job->arg);
		job->arg = NULL;
		sc->items[job->index].status = VF_POOL_NO_THREAD;
		sc->settled++;
		sc->failed++;
	}
}

/* Collect finished jobs, abandon late ones; the next deadline (0: none). */
static double sched_collect(struct run *run, struct sched *sc)
{
	double now = vf_now(), wake = 0;
	size_t i;

	for (i = 0; i < sc->next; i++) {
		struct job *job = &run->jobs[i];
		struct vf_pool_item *item = &sc->items[i];

		if (job->state == JOB_FINISHED) {
			item->status = VF_POOL_DONE;
			item->result = job->result;
			item->seconds = job->finished - job->started;
			job->result = NULL;
			job->state = JOB_COLLECTED;
			sc->running--;
			sc->settled++;
		} else if (job->state == JOB_RUNNING) {
			if (job->deadline && now >= job->deadline) {
				item->status = VF_POOL_TIMED_OUT;
				item->seconds = now - job->started;
				job->state = JOB_ABANDONED;
				pthread_detach(job->thread);
				job->joinable = false;
				sc->running--;
				sc->settled++;
				sc->failed++;
			} else if (job->deadline && (!wake || job->deadline < wake)) {
				wake = job->deadline;
			}
		}
	}
	return wake;
}

/* Wait (run->lock held) until a worker finishes or wake (0: no deadline). */
static void sched_wait(struct run *run, double wake)
{
	if (wake) {
		struct timespec ts = timespec_from(wake);
		int err = pthread_cond_timedwait(&run->changed, &run->lock, &ts);
		if (err && err != ETIMEDOUT)
			abort();
	} else {
		pthread_cond_wait(&run->changed, &run->lock);
	}
}

/* Join the workers that finished in time and drop the caller's reference
 * (run->lock held; released). */
static void run_join_unlock(struct run *run, size_t n)
{
	/* the threads to join, copied out: run may be freed by the unref */
	pthread_t *joins = xcalloc(n, sizeof(*joins));
	size_t i, n_joins = 0;

	for (i = 0; i < n; i++)
		if (run->jobs[i].joinable)
			joins[n_joins++] = run->jobs[i].thread;
	run_unref_unlock(run);
	for (i = 0; i < n_joins; i++)
		pthread_join(joins[i], NULL);
	free(joins);
}

size_t vf_pool_run(struct vf_pool_item *items, size_t n, unsigned max_threads,
		   const struct vf_pool_ops *ops)
{
	struct sched sc = { .items = items, .n = n, .max_threads = max_threads ? max_threads : 1 };
	struct run *run;
	size_t i;

	for (i = 0; i < n; i++) {
		items[i].status = VF_POOL_NO_THREAD;
		items[i].result = NULL;
		items[i].seconds = 0;
	}
	if (n == 0)
		return 0;

	run = run_new(items, n, ops);
	pthread_mutex_lock(&run->lock);
	while (sc.settled < n) {
		double wake;

		sched_fill(run, &sc);
		wake = sched_collect(run, &sc);
		/* Done, or a slot is free: go round.  Else running > 0: wait. */
		if (sc.settled == n || (sc.running < sc.max_threads && sc.next < n))
			continue;
		sched_wait(run, wake);
	}
	run_join_unlock(run, n);
	return sc.failed;
}
