/*
 * pool.h — run independent items (one per host, typically) on a bounded
 * number of threads, each with its own deadline.
 *
 * An item that misses its deadline is abandoned, not cancelled: its thread
 * keeps running detached until the worker returns, then frees what it owns
 * and exits.  vf_pool_run() therefore returns once every item has either
 * finished or timed out, even when a worker hangs forever (a frozen
 * libvirtd answers the TCP handshake and then nothing).
 *
 * The price of abandonment is ownership discipline, which is why the
 * interface passes ownership rather than pointers into the caller's memory:
 *
 *   - arg is handed to the pool.  The worker may use it for as long as it
 *     runs; the pool frees it with ops->free_arg after the worker returns
 *     (in time or not).  A worker must not touch anything of the caller's
 *     except through arg: after abandonment the caller's memory may be gone.
 *   - the worker's result is a heap object it returns.  If the item
 *     finished in time it is moved to item->result and belongs to the
 *     caller; a result that arrives after abandonment is freed with
 *     ops->free_result.
 *
 * Abandoned threads do not count against max_threads (else a few hung
 * hosts would starve the rest and the deadline would not hold), so while
 * abandoned workers linger the process may run more than max_threads.
 *
 * Generic: no libvirt here.  Not reentrant per items array; different
 * calls may run concurrently.
 */
#ifndef VF_POOL_H
#define VF_POOL_H

#include <stddef.h>

enum vf_pool_status {
	VF_POOL_DONE,       /* the worker returned in time; result is the caller's */
	VF_POOL_TIMED_OUT,  /* abandoned at its deadline; result is NULL */
	VF_POOL_NO_THREAD,  /* no thread could be created for it; result is NULL */
};

struct vf_pool_item {
	/* in */
	void *arg;                  /* ownership passes to the pool (see above) */
	double timeout;             /* seconds from the item's start; <= 0: none */
	/* out */
	enum vf_pool_status status;
	void *result;               /* worker's return value when DONE */
	double seconds;             /* how long it ran until done or abandoned */
};

struct vf_pool_ops {
	/* The work.  Runs on a pool thread; returns a heap result (or NULL). */
	void *(*run)(void *arg);
	/* Free an item's arg after its worker returned; NULL: do nothing. */
	void (*free_arg)(void *arg);
	/* Free a result that arrived after its item was abandoned; NULL: free(). */
	void (*free_result)(void *result);
};

/*
 * Run items[0..n) with at most max_threads (>= 1; 0 means 1) running at
 * once, in index order.  Fills each item's status, result and seconds.
 * Returns the number of items that are not VF_POOL_DONE.
 */
size_t vf_pool_run(struct vf_pool_item *items, size_t n, unsigned max_threads,
		   const struct vf_pool_ops *ops);

#endif
