/* forward.c - the transformer of qwen3, qwen2 and llama for a chunk of
 * tokens: RMSNorm, grouped-query attention over the F32 KV cache with RoPE
 * (and qwen3's per-head q/k norm), SwiGLU, output head. Matrix products,
 * attention and SiLU run in the model's kernel table (kernels.h) on the
 * context's thread pool: products split by output rows, attention by
 * token and the query heads of one key/value head. The chunk's tokens
 * may belong to several sequences: the products run over all of them at
 * once (each weight row read once per chunk), while each token's RoPE, K/V
 * rows and attention are those of its own sequence at its own position;
 * everything else is the context's scratch.
 *
 * Batch invariance: every number a token produces is computed by the same
 * code in the same order whether the chunk holds it alone or with others
 * (of its own sequence or of others) and whichever thread computes it:
 * matrix products are one fixed-order dot per output element (activations
 * quantized per token), RoPE angles come from the token's own position,
 * attention runs per token over positions 0..pos of its own sequence in a
 * fixed order, norms sum in order per token, and the output head's rows
 * are the same dots whichever rows share the call. Only the amount of work
 * per call changes with the chunk's make-up. The context carries no state
 * from one chunk to the next (every scratch buffer is written before it is
 * read), so neither which context runs a sequence, nor its thread count,
 * nor the sequences it is batched with or served before change a bit.
 *
 * Phase timing (model_lap at each boundary between phases) only reads the
 * clock and adds to the context's counters; no computed value passes
 * through it. */
#include "core/threadpool.h"
#include "model/model.h"

#include <math.h>
#include <string.h>

/* y = x / rms(x) * w over n elements; the sum of squares is taken in double,
 * in order. y may be x. */
static void rms_norm(const float *x, const float *w, float *y, uint32_t n, float eps)
{
    double ss = 0.0;
    for (uint32_t i = 0; i < n; i++)
        ss += (double)x[i] * (double)x[i];
    float scale = (float)(1.0 / sqrt(ss / n + (double)eps));
    for (uint32_t i = 0; i < n; i++)
        y[i] = x[i] * scale * w[i];
}

static void add_bias(float *y, const float *b, uint32_t n_tok, uint32_t dim)
{
    if (!b)
        return;
    for (uint32_t t = 0; t < n_tok; t++)
        for (uint32_t i = 0; i < dim; i++)
            y[(size_t)t * dim + i] += b[i];
}

/* cos and sin of every pair's angle at pos, into cs[2i], cs[2i+1]. */
static void rope_table(const struct glimp_model *m, uint32_t pos, float *cs)
{
    for (uint32_t i = 0; i < m->info.n_rot / 2; i++) {
        double a = (double)pos * m->inv_freq[i];
        cs[2 * i] = (float)cos(a);
        cs[2 * i + 1] = (float)sin(a);
    }
}

/* Rotate the first n_rot dimensions of one head in place. */
static void rope_head(float *x, const float *cs, uint32_t n_rot, enum glimp_rope_type type)
{
    uint32_t half = n_rot / 2;
    for (uint32_t i = 0; i < half; i++) {
        uint32_t i0 = type == GLIMP_ROPE_NEOX ? i : 2 * i;
        uint32_t i1 = type == GLIMP_ROPE_NEOX ? i + half : 2 * i + 1;
        float c = cs[2 * i], s = cs[2 * i + 1];
        float x0 = x[i0], x1 = x[i1];
        x[i0] = x0 * c - x1 * s;
        x[i1] = x0 * s + x1 * c;
    }
}

/* Per-head norm (qwen3, optional), then RoPE, for n_tok rows of n_heads
 * heads. */
static void qk_prepare(const struct glimp_model *m, float *x, uint32_t n_tok, uint32_t n_heads,
                       const float *norm, const float *rope)
{
    const struct glimp_model_info *h = &m->info;
    for (uint32_t t = 0; t < n_tok; t++)
        for (uint32_t hh = 0; hh < n_heads; hh++) {
            float *v = x + ((size_t)t * n_heads + hh) * h->head_dim;
            if (norm)
                rms_norm(v, norm, v, h->head_dim, h->rms_eps);
            rope_head(v, rope + (size_t)t * h->n_rot, h->n_rot, h->rope_type);
        }
}

/* ------------------------------------------------- products, threads */

/* Quantized copies of n activation rows (n_in floats each, row stride
 * n_in) for the weights about to multiply them, each format made once. */
struct act_in {
    const float *x;
    uint32_t n_in, n;
    bool made[GLIMP_ACT_COUNT];
};

/* Quantizing activation rows on the pool, a row per work item. */
struct quant_arg {
    glimp_act_fn quantize;
    const float *x;
    uint32_t n_in, n;
    char *out;
    size_t stride;
};

static void quant_thread(void *arg, struct glimp_pool *p, uint32_t ith)
{
    (void)ith;
    const struct quant_arg *a = arg;
    for (uint32_t t; (t = glimp_pool_next(p)) < a->n;)
        a->quantize(a->x + (size_t)t * a->n_in, a->out + t * a->stride, a->n_in);
}

/* A product job for w on the rows of in, quantizing them on first need. */
static struct glimp_mm_job mm_job(struct glimp_ctx *c, struct act_in *in,
                                  const struct glimp_wmat *w, float *y, size_t ldy)
{
    const struct glimp_kernels *k = c->m->kern;
    enum glimp_act f;
    struct glimp_mm_job j = {
        .w = w, .fn = glimp_kernels_mm(k, w->type, &f), .n_tok = in->n, .y = y, .ldy = ldy};
    if (f == GLIMP_ACT_F32) {
        j.x = in->x;
        j.x_stride = (size_t)in->n_in * sizeof(float);
        return j;
    }
    if (!in->made[f]) {
        struct quant_arg qa = {k->quantize[f], in->x, in->n_in, in->n, c->act[f], c->act_stride[f]};
        if (in->n == 1)
            qa.quantize(qa.x, qa.out, qa.n_in);
        else
            glimp_pool_run(c->pool, quant_thread, &qa);
        in->made[f] = true;
    }
    j.x = c->act[f];
    j.x_stride = c->act_stride[f];
    return j;
}

/* y = w x for n rows, its time (after the quantization's) given to ph. */
static void matmul(struct glimp_ctx *c, const struct glimp_wmat *w, const float *x, uint32_t n,
                   float *y, enum glimp_pass_phase ph)
{
    struct act_in in = {.x = x, .n_in = w->n_in, .n = n};
    struct glimp_mm_job j = mm_job(c, &in, w, y, w->n_out);
    model_lap(c, GLIMP_PASS_QUANTIZE);
    glimp_mm_run(c->pool, &j, 1);
    model_lap(c, ph);
}

/* gate and up on the same input, then silu(gate) * up, a chunk of rows
 * at a time. */
struct ffn_arg {
    struct glimp_mm_job gate, up;
    float *g;
    const float *u;
    uint32_t n_ff, n;
    glimp_silu_mul_fn silu_mul;
};

static void ffn_thread(void *arg, struct glimp_pool *p, uint32_t ith)
{
    (void)ith;
    const struct ffn_arg *a = arg;
    const struct glimp_mm_job *g = &a->gate, *u = &a->up;
    /* rows per work item: about four per thread, as glimp_mm_run */
    uint32_t chunk = (a->n_ff / (glimp_pool_size(p) * 4) + 15) & ~15u;
    chunk = chunk < 32 ? 32 : chunk;
    for (uint32_t r0; (r0 = glimp_pool_next(p) * chunk) < a->n_ff;) {
        uint32_t r1 = a->n_ff - r0 < chunk ? a->n_ff : r0 + chunk;
        g->fn(g->w, r0, r1, g->x, g->x_stride, g->n_tok, g->y, g->ldy);
        u->fn(u->w, r0, r1, u->x, u->x_stride, u->n_tok, u->y, u->ldy);
        for (uint32_t t = 0; t < a->n; t++)
            a->silu_mul(a->g + (size_t)t * a->n_ff + r0, a->u + (size_t)t * a->n_ff + r0, r1 - r0);
    }
}

/* Attention of every token of the chunk over its own sequence's cache of
 * layer il. A work item is a run of query heads of one token that share a
 * key/value head (all of the group's, unless that leaves too few items for
 * the threads), so that the kernel reads each cached row once for them:
 * decoding at 1024 positions, attention took half the time it took a
 * head at a time, whose items read a group's rows seven times. */
struct attn_arg {
    struct glimp_ctx *c;
    uint32_t il, n; /* the layer, the chunk's tokens */
    uint32_t run;   /* query heads per item, at most the group's */
};

static void attn_thread(void *arg, struct glimp_pool *p, uint32_t ith)
{
    const struct attn_arg *a = arg;
    struct glimp_ctx *c = a->c;
    const struct glimp_model_info *h = &c->m->info;
    uint32_t hd = h->head_dim, group = h->n_head / h->n_head_kv, kv = c->m->kv_dim;
    uint32_t runs = (group + a->run - 1) / a->run; /* per key/value head */
    uint32_t per_tok = h->n_head_kv * runs;
    float *scores = c->scores + (size_t)ith * c->n_scores * group;
    for (uint32_t i; (i = glimp_pool_next(p)) < a->n * per_tok;) {
        uint32_t t = i / per_tok, g = i % per_tok / runs, r = i % runs;
        uint32_t hh = g * group + r * a->run; /* the run's first head */
        uint32_t n_q = group - r * a->run < a->run ? group - r * a->run : a->run;
        const struct model_tok *tk = &c->tok[t];
        size_t off = ((size_t)t * h->n_head + hh) * hd, kv_off = (size_t)g * hd;
        c->m->kern->attn(c->q + off, n_q, tk->s->k[a->il] + kv_off, tk->s->v[a->il] + kv_off, kv,
                         tk->pos + 1, hd, scores, c->att + off);
    }
}

/* Query heads per attention item: the whole group, so that its cached
 * rows are read once, or fewer where the chunk has fewer (token, key/value
 * head) pairs than threads (one sequence decoding with one or two
 * key/value heads). */
static uint32_t attn_run(const struct glimp_ctx *c, uint32_t n)
{
    const struct glimp_model_info *h = &c->m->info;
    uint32_t group = h->n_head / h->n_head_kv, want = glimp_pool_size(c->pool);
    uint32_t groups = n * h->n_head_kv;
    if (groups >= want)
        return group;
    uint32_t parts = (want + groups - 1) / groups; /* runs per group */
    return parts >= group ? 1 : (group + parts - 1) / parts;
}

static void layer(struct glimp_ctx *c, uint32_t il, uint32_t n)
{
    const struct glimp_model *m = c->m;
    const struct glimp_model_info *h = &m->info;
    const struct glimp_layer *L = &m->layers[il];
    uint32_t e = h->n_embd, kv = m->kv_dim;

    /* attention */
    for (uint32_t t = 0; t < n; t++)
        rms_norm(c->x + (size_t)t * e, L->attn_norm, c->xn + (size_t)t * e, e, h->rms_eps);
    model_lap(c, GLIMP_PASS_ELEMENTWISE);
    struct act_in in = {.x = c->xn, .n_in = e, .n = n};
    struct glimp_mm_job qkv[3] = {
        mm_job(c, &in, &L->wq, c->q, m->q_dim),
        mm_job(c, &in, &L->wk, c->k, kv),
        mm_job(c, &in, &L->wv, c->v, kv),
    };
    model_lap(c, GLIMP_PASS_QUANTIZE);
    glimp_mm_run(c->pool, qkv, 3);
    model_lap(c, GLIMP_PASS_ATTN_PROJ);
    add_bias(c->q, L->bq, n, m->q_dim);
    add_bias(c->k, L->bk, n, kv);
    add_bias(c->v, L->bv, n, kv);
    qk_prepare(m, c->q, n, h->n_head, L->q_norm, c->rope);
    qk_prepare(m, c->k, n, h->n_head_kv, L->k_norm, c->rope);
    for (uint32_t t = 0; t < n; t++) {
        const struct model_tok *tk = &c->tok[t];
        memcpy(tk->s->k[il] + (size_t)tk->pos * kv, c->k + (size_t)t * kv, kv * sizeof(float));
        memcpy(tk->s->v[il] + (size_t)tk->pos * kv, c->v + (size_t)t * kv, kv * sizeof(float));
    }

    /* Every token's keys and values are in its cache now; a token at
     * position pos sees its sequence's positions 0..pos. */
    model_lap(c, GLIMP_PASS_ELEMENTWISE);
    struct attn_arg aa = {.c = c, .il = il, .n = n, .run = attn_run(c, n)};
    glimp_pool_run(c->pool, attn_thread, &aa);
    model_lap(c, GLIMP_PASS_ATTENTION);
    matmul(c, &L->wo, c->att, n, c->xn, GLIMP_PASS_ATTN_PROJ);
    add_bias(c->xn, L->bo, n, e);
    for (size_t i = 0; i < (size_t)n * e; i++)
        c->x[i] += c->xn[i];

    /* feed-forward: down(silu(gate(x)) * up(x)) */
    for (uint32_t t = 0; t < n; t++)
        rms_norm(c->x + (size_t)t * e, L->ffn_norm, c->xn + (size_t)t * e, e, h->rms_eps);
    model_lap(c, GLIMP_PASS_ELEMENTWISE);
    struct act_in fin = {.x = c->xn, .n_in = e, .n = n};
    struct ffn_arg fa = {
        .gate = mm_job(c, &fin, &L->gate, c->gate, h->n_ff),
        .up = mm_job(c, &fin, &L->up, c->up, h->n_ff),
        .g = c->gate,
        .u = c->up,
        .n_ff = h->n_ff,
        .n = n,
        .silu_mul = m->kern->silu_mul,
    };
    model_lap(c, GLIMP_PASS_QUANTIZE);
    glimp_pool_run(c->pool, ffn_thread, &fa);
    model_lap(c, GLIMP_PASS_FFN);
    matmul(c, &L->down, c->gate, n, c->xn, GLIMP_PASS_FFN);
    for (size_t i = 0; i < (size_t)n * e; i++)
        c->x[i] += c->xn[i];
    model_lap(c, GLIMP_PASS_ELEMENTWISE);
}

void model_forward_chunk(struct glimp_ctx *c, uint32_t n)
{
    const struct glimp_model *m = c->m;
    const struct glimp_model_info *h = &m->info;
    uint32_t e = h->n_embd, V = h->n_vocab;
    for (uint32_t t = 0; t < n; t++) {
        glimp_wmat_row_ref(&m->tok_embd, (uint32_t)c->tok[t].id, c->x + (size_t)t * e);
        rope_table(m, c->tok[t].pos, c->rope + (size_t)t * h->n_rot);
    }
    model_lap(c, GLIMP_PASS_ELEMENTWISE);
    for (uint32_t il = 0; il < h->n_layer; il++)
        layer(c, il, n);

    /* The output head on the rows that want logits, packed in xn (and
     * their destinations at the front of tok, which is read no more), n_out
     * rows at a time into c->out, each row then copied where it goes. The
     * rows are the same dots wherever they are written. */
    uint32_t n_rows = 0;
    for (uint32_t t = 0; t < n; t++) {
        if (!c->tok[t].logits)
            continue;
        rms_norm(c->x + (size_t)t * e, m->output_norm, c->xn + (size_t)n_rows * e, e, h->rms_eps);
        c->tok[n_rows++].logits = c->tok[t].logits;
    }
    for (uint32_t r0 = 0; r0 < n_rows; r0 += c->n_out) {
        uint32_t k = n_rows - r0 < c->n_out ? n_rows - r0 : c->n_out;
        /* rows bound for consecutive places (one sequence's decode or
         * all-logits append) go there directly */
        uintptr_t first = (uintptr_t)c->tok[r0].logits;
        uint32_t run = 1;
        while (run < k &&
               (uintptr_t)c->tok[r0 + run].logits == first + run * (uintptr_t)V * sizeof(float))
            run++;
        model_lap(c, GLIMP_PASS_OUTPUT);
        if (run == k) {
            matmul(c, &m->output, c->xn + (size_t)r0 * e, k, c->tok[r0].logits, GLIMP_PASS_OUTPUT);
            continue;
        }
        matmul(c, &m->output, c->xn + (size_t)r0 * e, k, c->out, GLIMP_PASS_OUTPUT);
        for (uint32_t r = 0; r < k; r++)
            memcpy(c->tok[r0 + r].logits, c->out + (size_t)r * V, V * sizeof(float));
    }
    model_lap(c, GLIMP_PASS_OUTPUT);
}
