/* threadpool.h - a fixed set of worker threads that run one job at a time
 * with the calling thread (fork-join), for the forward pass: created once
 * with a context, so no thread is created per token. Threads take the
 * job's work items from a shared counter, so a worker that the OS has not
 * scheduled yet (the machine may be busy with other programs) delays
 * nobody: the threads that run take its share, and a worker arriving after
 * the caller has finished skips the job. Which thread computes an item
 * never changes how it is computed, so results do not depend on timing or
 * on the thread count. Workers spin briefly between jobs (a decode step
 * runs a few hundred short jobs) and then sleep. */
#ifndef GLIMP_CORE_THREADPOOL_H
#define GLIMP_CORE_THREADPOOL_H

#include <stdbool.h>
#include <stdint.h>

struct glimp_pool;

/* A job body: take items with glimp_pool_next until it returns a value
 * past the job's last item. ith (below glimp_pool_size) names the thread,
 * for per-thread scratch; 0 is the caller. */
typedef void (*glimp_pool_fn)(void *arg, struct glimp_pool *p, uint32_t ith);

/* A pool of n_threads threads in all, the caller's included (n_threads - 1
 * are started; 1 starts none). Fails with GLIMP_ERR_INVALID for 0, or
 * GLIMP_ERR_NOMEM when threads cannot be created. */
int glimp_pool_init(uint32_t n_threads, struct glimp_pool **out);
void glimp_pool_free(struct glimp_pool *p); /* accepts NULL; joins the workers */

uint32_t glimp_pool_size(const struct glimp_pool *p);

/* Run fn on the calling thread and on every worker that joins before the
 * caller's own call returns; return when every call has returned. One
 * caller at a time (the pool belongs to one context). */
void glimp_pool_run(struct glimp_pool *p, glimp_pool_fn fn, void *arg);

/* Timing of the caller's hand-offs (for the forward pass's phase times):
 * while on, each glimp_pool_run adds to a counter the time its caller spends
 * publishing the job and then waiting for the other threads to finish
 * after its own call returned; glimp_pool_take_waited returns that sum and
 * zeroes it. Off (the default) costs a test per run. A pool of one thread
 * never waits. */
void glimp_pool_time_waits(struct glimp_pool *p, bool on);
double glimp_pool_take_waited(struct glimp_pool *p);

/* The next work item of the running job: 0, 1, 2, ... across all threads,
 * each handed out once. */
uint32_t glimp_pool_next(struct glimp_pool *p);

/* The number of threads "0: one per core" means: the online CPUs, at
 * least 1. */
uint32_t glimp_pool_default_threads(void);

#endif
