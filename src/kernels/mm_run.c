/* mm_run.c - matrix products on a thread pool: the rows of every job are
 * cut into chunks that the threads take in turn. Who computes a chunk
 * never changes how, so any thread count and any timing give the same
 * bits. */
#include "core/threadpool.h"
#include "kernels/kernels.h"

/* Rows per work item: about four items per thread and job, so that a
 * thread streams long runs of consecutive rows (the prefetchers like that)
 * while a thread the OS holds back leaves little for the others to wait
 * for; at least MM_CHUNK_MIN rows, a multiple of 16 (whole tiles). */
#define MM_CHUNK_MIN 32
#define MM_ITEMS_PER_THREAD 4

struct mm_run_arg {
    const struct glimp_mm_job *jobs;
    uint32_t n_jobs;
    uint32_t nth;
};

static uint32_t chunk_rows(uint32_t n_out, uint32_t nth)
{
    uint32_t c = n_out / (nth * MM_ITEMS_PER_THREAD);
    c = (c + 15) & ~15u;
    return c < MM_CHUNK_MIN ? MM_CHUNK_MIN : c;
}

static void mm_run_thread(void *arg, struct glimp_pool *p, uint32_t ith)
{
    (void)ith;
    const struct mm_run_arg *a = arg;
    uint32_t j = 0, base = 0; /* item numbers below base belong to jobs before j */
    for (uint32_t item = glimp_pool_next(p);; item = glimp_pool_next(p)) {
        uint32_t rows = 0, chunks = 0;
        while (j < a->n_jobs) {
            rows = chunk_rows(a->jobs[j].w->n_out, a->nth);
            chunks = (a->jobs[j].w->n_out + rows - 1) / rows;
            if (item < base + chunks)
                break;
            base += chunks;
            j++;
        }
        if (j == a->n_jobs)
            return;
        const struct glimp_mm_job *jb = &a->jobs[j];
        uint32_t r0 = (item - base) * rows;
        uint32_t r1 = jb->w->n_out - r0 < rows ? jb->w->n_out : r0 + rows;
        jb->fn(jb->w, r0, r1, jb->x, jb->x_stride, jb->n_tok, jb->y, jb->ldy);
    }
}

void glimp_mm_run(struct glimp_pool *pool, const struct glimp_mm_job *jobs, uint32_t n_jobs)
{
    struct mm_run_arg a = {jobs, n_jobs, glimp_pool_size(pool)};
    glimp_pool_run(pool, mm_run_thread, &a);
}
