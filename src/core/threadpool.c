/* threadpool.c - fork-join worker threads with a generation counter.
 *
 * A job is published by bumping the generation; workers spin on it for a
 * while, then sleep on a condition variable. A worker that sees a new
 * generation announces itself in `active` and only then checks that the
 * job is not closed yet; the caller, when its own call returns, closes the
 * job and then waits until `active` is zero. Both handshakes (worker
 * announces / caller closes, worker sleeps / caller wakes) are Dekker
 * pairs on sequentially consistent atomics: each side writes its flag and
 * then reads the other's, so one of them always sees the other. */
#include "core/threadpool.h"
#include "core/error.h"
#include "glimp.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Spin iterations before sleeping: some tens of microseconds, longer than
 * the gaps between the jobs of one forward pass, short enough not to burn
 * a core another program wants for long. */
#define SPIN_ITERS 4000

struct worker {
    struct glimp_pool *pool;
    uint32_t ith;
    pthread_t thread;
};

struct glimp_pool {
    uint32_t n;
    struct worker *workers; /* (n - 1) */
    uint32_t n_started;

    pthread_mutex_t mu;
    pthread_cond_t cv_work; /* workers wait for a new generation */
    pthread_cond_t cv_done; /* the caller waits for active == 0 */

    glimp_pool_fn fn;
    void *arg;
    atomic_uint_fast64_t gen;    /* the job being published */
    atomic_uint_fast64_t closed; /* the last job that took no more workers */
    atomic_uint active;          /* workers inside fn (or about to check closed) */
    atomic_uint next;            /* the next work item */
    atomic_uint n_sleeping;      /* workers (about to be) waiting on cv_work */
    atomic_bool caller_waits;
    atomic_bool stop;

    /* the caller's alone: glimp_pool_time_waits */
    bool timed;
    double waited; /* seconds */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct glimp_pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t g = atomic_load(&p->gen);
        for (int i = 0; g == seen && i < SPIN_ITERS; i++) {
            CPU_RELAX();
            g = atomic_load(&p->gen);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->n_sleeping, 1);
            while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv_work, &p->mu);
            atomic_fetch_sub(&p->n_sleeping, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = g;
        atomic_fetch_add(&p->active, 1);
        if (atomic_load(&p->closed) < g) /* still open: fn and arg are g's */
            p->fn(p->arg, p, w->ith);
        if (atomic_fetch_sub(&p->active, 1) == 1 && atomic_load(&p->caller_waits)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

uint32_t glimp_pool_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > 1024 ? 1024 : (uint32_t)n;
}

int glimp_pool_init(uint32_t n_threads, struct glimp_pool **out)
{
    *out = NULL;
    if (n_threads == 0)
        return glimp_error(GLIMP_ERR_INVALID, "thread pool: 0 threads");
    struct glimp_pool *p = calloc(1, sizeof *p);
    if (!p)
        return glimp_error(GLIMP_ERR_NOMEM, "thread pool: out of memory");
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->closed, 0);
    atomic_init(&p->active, 0);
    atomic_init(&p->next, 0);
    atomic_init(&p->n_sleeping, 0);
    atomic_init(&p->caller_waits, false);
    atomic_init(&p->stop, false);
    if (n_threads > 1) {
        p->workers = calloc(n_threads - 1, sizeof *p->workers);
        if (!p->workers) {
            glimp_pool_free(p);
            return glimp_error(GLIMP_ERR_NOMEM, "thread pool: out of memory");
        }
        for (uint32_t i = 0; i + 1 < n_threads; i++) {
            struct worker *w = &p->workers[i];
            w->pool = p;
            w->ith = i + 1;
            if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                glimp_pool_free(p);
                return glimp_error(GLIMP_ERR_NOMEM, "thread pool: cannot start thread %u of %u",
                                   i + 2, n_threads);
            }
            p->n_started++;
        }
    }
    *out = p;
    return GLIMP_OK;
}

void glimp_pool_free(struct glimp_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (uint32_t i = 0; i < p->n_started; i++)
        pthread_join(p->workers[i].thread, NULL);
    pthread_cond_destroy(&p->cv_done);
    pthread_cond_destroy(&p->cv_work);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}

uint32_t glimp_pool_size(const struct glimp_pool *p)
{
    return p->n;
}

void glimp_pool_time_waits(struct glimp_pool *p, bool on)
{
    p->timed = on;
    p->waited = 0.0;
}

double glimp_pool_take_waited(struct glimp_pool *p)
{
    double w = p->waited;
    p->waited = 0.0;
    return w;
}

uint32_t glimp_pool_next(struct glimp_pool *p)
{
    return atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
}

void glimp_pool_run(struct glimp_pool *p, glimp_pool_fn fn, void *arg)
{
    atomic_store(&p->next, 0);
    if (p->n == 1) {
        fn(arg, p, 0);
        return;
    }
    double t0 = p->timed ? glimp_now() : 0.0;
    p->fn = fn;
    p->arg = arg;
    uint64_t g = atomic_fetch_add(&p->gen, 1) + 1; /* publishes fn, arg, next */
    if (atomic_load(&p->n_sleeping) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
    }
    double t1 = p->timed ? glimp_now() : 0.0;
    fn(arg, p, 0);
    double t2 = p->timed ? glimp_now() : 0.0;
    /* Every item is taken; workers that have not joined yet must not. */
    atomic_store(&p->closed, g);
    for (int i = 0; atomic_load(&p->active) != 0 && i < SPIN_ITERS; i++)
        CPU_RELAX();
    if (atomic_load(&p->active) != 0) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_waits, true);
        while (atomic_load(&p->active) != 0)
            pthread_cond_wait(&p->cv_done, &p->mu);
        atomic_store(&p->caller_waits, false);
        pthread_mutex_unlock(&p->mu);
    }
    if (p->timed)
        p->waited += (t1 - t0) + (glimp_now() - t2);
}
