/* forward.c - the transformer of qwen3, qwen2 and llama for a chunk of
 * tokens: RMSNorm, grouped-query attention over the F32 KV cache with RoPE
 * (and qwen3's per-head q/k norm), SwiGLU, output head. Matrix products,
 * attention and SiLU run in the model's kernel table (kernels.h) on the
 * context's thread pool: products split by output rows, attention by
 * (token, head). The chunk's tokens belong to one sequence, whose KV cache
 * they read and extend; everything else is the context's scratch.
 *
 * Batch invariance: every number a token produces is computed by the same
 * code in the same order whether the chunk holds it alone or with others
 * and whichever thread computes it: matrix products are one fixed-order
 * dot per output element (activations quantized per token), attention
 * runs per token over positions 0..pos of its own sequence in a fixed
 * order, norms sum in order. Only the amount of work per call changes with
 * the chunk size. The context carries no state from one chunk to the next
 * (every scratch buffer is written before it is read), so neither which
 * context runs a sequence, nor its thread count, nor the other sequences
 * it served before change a bit. */
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

static void matmul(struct glimp_ctx *c, const struct glimp_wmat *w, const float *x, uint32_t n,
                   float *y)
{
    struct act_in in = {.x = x, .n_in = w->n_in, .n = n};
    struct glimp_mm_job j = mm_job(c, &in, w, y, w->n_out);
    glimp_mm_run(c->pool, &j, 1);
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

/* Attention of every (token, head) pair of the chunk, one pair per work
 * item. */
struct attn_arg {
    struct glimp_ctx *c;
    const float *kc, *vc; /* this layer's cache */
    uint32_t p0, n;       /* the chunk's first position, its tokens */
};

static void attn_thread(void *arg, struct glimp_pool *p, uint32_t ith)
{
    const struct attn_arg *a = arg;
    struct glimp_ctx *c = a->c;
    const struct glimp_model_info *h = &c->m->info;
    uint32_t hd = h->head_dim, group = h->n_head / h->n_head_kv, kv = c->m->kv_dim;
    float *scores = c->scores + (size_t)ith * c->n_scores;
    for (uint32_t i; (i = glimp_pool_next(p)) < a->n * h->n_head;) {
        uint32_t t = i / h->n_head, hh = i % h->n_head;
        size_t off = ((size_t)t * h->n_head + hh) * hd;
        size_t kv_off = (size_t)(hh / group) * hd;
        c->m->kern->attn(c->q + off, a->kc + kv_off, a->vc + kv_off, kv, a->p0 + t + 1, hd, scores,
                         c->att + off);
    }
}

static void layer(struct glimp_ctx *c, struct glimp_seq *s, uint32_t il, uint32_t n)
{
    const struct glimp_model *m = c->m;
    const struct glimp_model_info *h = &m->info;
    const struct glimp_layer *L = &m->layers[il];
    uint32_t e = h->n_embd, kv = m->kv_dim;
    uint32_t p0 = s->n_past;
    /* This layer's cache rows for the chunk: (n, kv_dim) matrices. */
    float *kc = s->k_cache + ((size_t)il * s->n_ctx) * kv;
    float *vc = s->v_cache + ((size_t)il * s->n_ctx) * kv;

    /* attention */
    for (uint32_t t = 0; t < n; t++)
        rms_norm(c->x + (size_t)t * e, L->attn_norm, c->xn + (size_t)t * e, e, h->rms_eps);
    struct act_in in = {.x = c->xn, .n_in = e, .n = n};
    struct glimp_mm_job qkv[3] = {
        mm_job(c, &in, &L->wq, c->q, m->q_dim),
        mm_job(c, &in, &L->wk, kc + (size_t)p0 * kv, kv),
        mm_job(c, &in, &L->wv, vc + (size_t)p0 * kv, kv),
    };
    glimp_mm_run(c->pool, qkv, 3);
    add_bias(c->q, L->bq, n, m->q_dim);
    add_bias(kc + (size_t)p0 * kv, L->bk, n, kv);
    add_bias(vc + (size_t)p0 * kv, L->bv, n, kv);
    qk_prepare(m, c->q, n, h->n_head, L->q_norm, c->rope);
    qk_prepare(m, kc + (size_t)p0 * kv, n, h->n_head_kv, L->k_norm, c->rope);

    /* Every token's keys and values are in the cache now; token t sees
     * positions 0..p0+t. */
    struct attn_arg aa = {.c = c, .kc = kc, .vc = vc, .p0 = p0, .n = n};
    glimp_pool_run(c->pool, attn_thread, &aa);
    matmul(c, &L->wo, c->att, n, c->xn);
    add_bias(c->xn, L->bo, n, e);
    for (size_t i = 0; i < (size_t)n * e; i++)
        c->x[i] += c->xn[i];

    /* feed-forward: down(silu(gate(x)) * up(x)) */
    for (uint32_t t = 0; t < n; t++)
        rms_norm(c->x + (size_t)t * e, L->ffn_norm, c->xn + (size_t)t * e, e, h->rms_eps);
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
    glimp_pool_run(c->pool, ffn_thread, &fa);
    matmul(c, &L->down, c->gate, n, c->xn);
    for (size_t i = 0; i < (size_t)n * e; i++)
        c->x[i] += c->xn[i];
}

void glimp_forward_chunk(struct glimp_ctx *c, struct glimp_seq *s, const int32_t *ids, uint32_t n,
                         float *out_all, float *out_last)
{
    const struct glimp_model *m = c->m;
    const struct glimp_model_info *h = &m->info;
    uint32_t e = h->n_embd;
    for (uint32_t t = 0; t < n; t++) {
        glimp_wmat_row_ref(&m->tok_embd, (uint32_t)ids[t], c->x + (size_t)t * e);
        rope_table(m, s->n_past + t, c->rope + (size_t)t * h->n_rot);
    }
    for (uint32_t il = 0; il < h->n_layer; il++)
        layer(c, s, il, n);
    if (!out_all && !out_last)
        return; /* a chunk before the last: only its K and V are needed */

    uint32_t first = out_all ? 0 : n - 1;
    for (uint32_t t = first; t < n; t++)
        rms_norm(c->x + (size_t)t * e, m->output_norm, c->xn + (size_t)t * e, e, h->rms_eps);
    matmul(c, &m->output, c->xn + (size_t)first * e, n - first, out_all ? out_all : out_last);
}
