/*
 * The worker pool: results come back in order, at most max_threads run at
 * once, a hung item is abandoned at its deadline without holding up the
 * others, and a late worker's arg and result are freed by the pool.
 *
 * A hung worker here blocks on a condition variable until the test
 * releases it, so nothing depends on timing except the one generous bound
 * on how long vf_pool_run may take when an item hangs.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "reconcile/pool.h"
#include "reconcile/util.h"
#include "tests/tap.h"

struct arg {
	int id;
	bool hang;         /* block until release_hung() */
};

static atomic_int running_now, running_max, args_freed, late_results_freed;
static pthread_mutex_t hang_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cond = PTHREAD_COND_INITIALIZER;
static bool hang_released;

static void *work(void *opaque)
{
	struct arg *arg = opaque;
	int *result, now, max;

	now = atomic_fetch_add(&running_now, 1) + 1;
	max = atomic_load(&running_max);
	while (now > max && !atomic_compare_exchange_weak(&running_max, &max, now))
		;
	if (arg->hang) {
		pthread_mutex_lock(&hang_lock);
		while (!hang_released)
			pthread_cond_wait(&hang_cond, &hang_lock);
		pthread_mutex_unlock(&hang_lock);
	} else {
		usleep(2000);   /* long enough for threads to overlap */
	}
	result = xmalloc(sizeof(*result));
	*result = arg->id * 10;
	atomic_fetch_sub(&running_now, 1);
	return result;
}

static void free_arg(void *arg)
{
	atomic_fetch_add(&args_freed, 1);
	free(arg);
}

static void free_late_result(void *result)
{
	atomic_fetch_add(&late_results_freed, 1);
	free(result);
}

static const struct vf_pool_ops ops = { work, free_arg, free_late_result };

static void release_hung(void)
{
	pthread_mutex_lock(&hang_lock);
	hang_released = true;
	pthread_cond_broadcast(&hang_cond);
	pthread_mutex_unlock(&hang_lock);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(struct vf_pool_item *items, size_t n, double timeout, int hang_id)
{
	size_t i;
	for (i = 0; i < n; i++) {
		struct arg *arg = xcalloc(1, sizeof(*arg));
		arg->id = (int)i;
		arg->hang = (int)i == hang_id;
		items[i].arg = arg;
		items[i].timeout = timeout;
	}
}

/* Wait (bounded) for an atomic counter to reach want. */
static int wait_for(atomic_int *counter, int want)
{
	int i;
	for (i = 0; i < 500 && atomic_load(counter) < want; i++)
		usleep(10000);
	return atomic_load(counter);
}

static void test_all_finish(void)
{
	struct vf_pool_item items[40];
	size_t i, failed;
	int in_order = 1;

	atomic_store(&running_max, 0);
	atomic_store(&args_freed, 0);
	fill(items, 40, 0, -1);
	failed = vf_pool_run(items, 40, 4, &ops);
	is_int(failed, 0, "40 quick items: none failed");
	for (i = 0; i < 40; i++) {
		if (items[i].status != VF_POOL_DONE || !items[i].result ||
		    *(int *)items[i].result != (int)i * 10)
			in_order = 0;
		free(items[i].result);
	}
	ok(in_order, "every result is in its own item");
	ok(atomic_load(&running_max) <= 4, "at most 4 ran at once (saw %d)",
	   atomic_load(&running_max));
	ok(atomic_load(&running_max) >= 1, "something ran");
	is_int(atomic_load(&args_freed), 40, "every arg was freed");
}

static void test_hung_item(void)
{
	struct vf_pool_item items[5];
	double t0, took;
	size_t failed, i;

	atomic_store(&args_freed, 0);
	atomic_store(&late_results_freed, 0);
	/* One thread, item 0 hangs: the others must still run. */
	fill(items, 5, 0.2, 0);
	t0 = now_seconds();
	failed = vf_pool_run(items, 5, 1, &ops);
	took = now_seconds() - t0;
	is_int(failed, 1, "one item failed");
	is_int(items[0].status, VF_POOL_TIMED_OUT, "the hung item timed out");
	ok(items[0].result == NULL, "a timed-out item has no result");
	ok(items[0].seconds >= 0.2, "it ran at least its timeout (%.3f s)", items[0].seconds);
	for (i = 1; i < 5; i++) {
		is_int(items[i].status, VF_POOL_DONE, "item %zu finished despite the hung one", i);
		ok(items[i].result && *(int *)items[i].result == (int)i * 10, "item %zu result", i);
		free(items[i].result);
	}
	/* Generous: the point is that it returns at all. */
	ok(took < 5.0, "returned in %.2f s, not when the hung worker ends", took);
	is_int(atomic_load(&args_freed), 4, "finished items' args freed");
	is_int(atomic_load(&late_results_freed), 0, "the hung worker has not returned yet");

	/* Let the abandoned worker return: the pool frees its arg and result. */
	release_hung();
	is_int(wait_for(&late_results_freed, 1), 1, "the late result was freed by the pool");
	is_int(wait_for(&args_freed, 5), 5, "the late item's arg was freed by the pool");
}

static void test_edges(void)
{
	struct vf_pool_item items[3];
	size_t i;

	is_int(vf_pool_run(NULL, 0, 4, &ops), 0, "no items: nothing to do");
	fill(items, 3, -1, -1);
	is_int(vf_pool_run(items, 3, 0, &ops), 0, "max_threads 0 means 1; no timeout");
	for (i = 0; i < 3; i++)
		free(items[i].result);
}

int main(void)
{
	test_all_finish();
	test_hung_item();
	test_edges();
	return tap_done();
}
