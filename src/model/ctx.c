/* ctx.c - contexts: the workspace of a forward pass (scratch for n_batch
 * tokens, quantized activations, the thread pool, per-thread attention
 * scores), made once and lent to one batch at a time, so that many
 * sequences share one set of threads and buffers. */
#include "core/error.h"
#include "core/threadpool.h"
#include "model/model.h"

#include <stdint.h>
#include <stdlib.h>

#define CTX_MAX_BATCH 4096u
#define CTX_MAX_THREADS 1024u
/* Logits rows the output head computes in one go (its scratch is this many
 * times n_vocab floats): enough for a decode step of 32 sequences; more
 * rows wanting logits in a chunk read the head once per 32. */
#define CTX_OUT_ROWS 32u

/* n floats, or NULL when n * 4 bytes overflow size_t or malloc fails. */
static float *alloc_floats(uint64_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / sizeof(float))
        return NULL;
    return calloc((size_t)n, sizeof(float));
}

struct glimp_ctx_params glimp_ctx_default_params(void)
{
    struct glimp_ctx_params p = {0};
    return p;
}

int glimp_ctx_init(const struct glimp_model *m, const struct glimp_ctx_params *p,
                   struct glimp_ctx **out)
{
    if (!m || !out)
        return glimp_error(GLIMP_ERR_INVALID, "context: no %s given", m ? "out" : "model");
    *out = NULL;
    struct glimp_ctx_params cp = p ? *p : glimp_ctx_default_params();
    uint32_t n_batch = cp.n_batch ? cp.n_batch : m->params.n_batch;
    uint32_t n_threads = cp.n_threads ? cp.n_threads : m->n_threads;
    if (n_batch > CTX_MAX_BATCH)
        return glimp_error(GLIMP_ERR_INVALID, "context: n_batch %u, expected 1..%u", n_batch,
                           CTX_MAX_BATCH);
    if (n_threads > CTX_MAX_THREADS)
        return glimp_error(GLIMP_ERR_INVALID, "context: n_threads %u, expected 1..%u", n_threads,
                           CTX_MAX_THREADS);

    const struct glimp_model_info *h = &m->info;
    uint64_t B = n_batch;
    struct glimp_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return glimp_error(GLIMP_ERR_NOMEM, "context: out of memory");
    c->m = m;
    c->n_batch = n_batch;
    c->n_out = n_batch < CTX_OUT_ROWS ? n_batch : CTX_OUT_ROWS;
    c->tok = calloc(n_batch ? n_batch : 1, sizeof *c->tok);
    c->x = alloc_floats(B * h->n_embd);
    c->xn = alloc_floats(B * h->n_embd);
    c->q = alloc_floats(B * m->q_dim);
    c->k = alloc_floats(B * m->kv_dim);
    c->v = alloc_floats(B * m->kv_dim);
    c->att = alloc_floats(B * m->q_dim);
    c->gate = alloc_floats(B * h->n_ff);
    c->up = alloc_floats(B * h->n_ff);
    c->rope = alloc_floats(B * h->n_rot);
    c->out = alloc_floats((uint64_t)c->n_out * h->n_vocab);
    bool act_ok = true;
    for (int f = GLIMP_ACT_Q8; f < GLIMP_ACT_COUNT; f++) {
        /* rows of whole 64-byte lines, so every row starts aligned */
        c->act_stride[f] = glimp_act_row_bytes((enum glimp_act)f, m->max_in);
        if (posix_memalign(&c->act[f], 64, B * c->act_stride[f]) != 0) {
            c->act[f] = NULL;
            act_ok = false;
        }
    }
    if (!c->tok || !c->x || !c->xn || !c->q || !c->k || !c->v || !c->att || !c->gate || !c->up ||
        !c->rope || !c->out || !act_ok) {
        glimp_ctx_free(c);
        return glimp_error(GLIMP_ERR_NOMEM, "context: out of memory for a batch of %u tokens",
                           n_batch);
    }
    int rc = glimp_pool_init(n_threads, &c->pool);
    if (rc != GLIMP_OK) {
        glimp_ctx_free(c);
        return rc;
    }
    *out = c;
    return GLIMP_OK;
}

void glimp_ctx_free(struct glimp_ctx *c)
{
    if (!c)
        return;
    free(c->tok);
    free(c->x);
    free(c->xn);
    free(c->q);
    free(c->k);
    free(c->v);
    free(c->att);
    free(c->gate);
    free(c->up);
    free(c->rope);
    free(c->out);
    free(c->scores);
    for (int f = 0; f < GLIMP_ACT_COUNT; f++)
        free(c->act[f]);
    glimp_pool_free(c->pool);
    free(c);
}

uint32_t glimp_ctx_n_batch(const struct glimp_ctx *c)
{
    return c->n_batch;
}

uint32_t glimp_ctx_n_threads(const struct glimp_ctx *c)
{
    return glimp_pool_size(c->pool);
}

void glimp_ctx_time_phases(struct glimp_ctx *c, bool on)
{
    c->timing = on;
    if (on)
        c->times = (struct glimp_phase_times){0};
    glimp_pool_time_waits(c->pool, on);
}

void glimp_ctx_phase_times(const struct glimp_ctx *c, struct glimp_phase_times *out)
{
    *out = c->times;
}

const char *glimp_pass_phase_name(enum glimp_pass_phase ph)
{
    static const char *const names[GLIMP_PASS_COUNT] = {
        [GLIMP_PASS_QUANTIZE] = "quantize",
        [GLIMP_PASS_ATTN_PROJ] = "attn_proj",
        [GLIMP_PASS_ATTENTION] = "attention",
        [GLIMP_PASS_FFN] = "ffn",
        [GLIMP_PASS_ELEMENTWISE] = "elementwise",
        [GLIMP_PASS_OUTPUT] = "output",
        [GLIMP_PASS_SYNC] = "sync",
        [GLIMP_PASS_OTHER] = "other",
    };
    return (unsigned)ph < GLIMP_PASS_COUNT ? names[ph] : NULL;
}

/* The pool's hand-offs and waits since the last boundary are inside the
 * lap: they go to sync, the rest to ph. */
void model_lap_timed(struct glimp_ctx *c, enum glimp_pass_phase ph)
{
    double now = glimp_now(), waited = glimp_pool_take_waited(c->pool);
    c->times.seconds[ph] += now - c->lap_t - waited;
    c->times.seconds[GLIMP_PASS_SYNC] += waited;
    c->times.waits[ph] += waited;
    c->lap_t = now;
}

/* The scores grow with the sequences served: to the KV capacity of the
 * longest, which the sequence's own cache (many times larger) bounds, and
 * which grows by doubling, so that decoding rarely allocates. */
int model_ctx_reserve(struct glimp_ctx *c, uint32_t n)
{
    if (n <= c->n_scores)
        return GLIMP_OK;
    const struct glimp_model_info *h = &c->m->info;
    uint32_t n_threads = glimp_pool_size(c->pool), group = h->n_head / h->n_head_kv;
    float *p = alloc_floats((uint64_t)n * group * n_threads);
    if (!p)
        return glimp_error(GLIMP_ERR_NOMEM,
                           "context: out of memory for the attention scores of %u positions "
                           "on %u threads",
                           n, n_threads);
    free(c->scores);
    c->scores = p;
    c->n_scores = n;
    return GLIMP_OK;
}
