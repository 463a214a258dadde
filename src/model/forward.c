/* forward.c - the transformer of qwen3, qwen2 and llama for a chunk of
 * tokens: RMSNorm, grouped-query attention over the F32 KV cache with RoPE
 * (and qwen3's per-head q/k norm), SwiGLU, output head.
 *
 * Batch invariance: every number a token produces is computed by the same
 * code in the same order whether the chunk holds it alone or with others:
 * matrix products are one fixed-order dot per output element, attention
 * runs per token over positions 0..pos in order, norms sum in order. Only
 * the amount of work per call changes with the chunk size. */
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

/* Causal attention of one query head at position pos over the cached keys
 * and values 0..pos of its KV head (rows of stride kv_dim). The softmax and
 * the weighted sum run over positions in order. */
static void attend(const float *q, const float *k, const float *v, size_t stride, uint32_t pos,
                   uint32_t head_dim, float *scores, float *out)
{
    float scale = 1.0f / sqrtf((float)head_dim);
    float max = -INFINITY;
    for (uint32_t j = 0; j <= pos; j++) {
        scores[j] = glimp_dot_f32_ref(q, k + j * stride, head_dim) * scale;
        if (scores[j] > max)
            max = scores[j];
    }
    float sum = 0.0f;
    for (uint32_t j = 0; j <= pos; j++) {
        scores[j] = expf(scores[j] - max);
        sum += scores[j];
    }
    memset(out, 0, head_dim * sizeof *out);
    for (uint32_t j = 0; j <= pos; j++) {
        const float *vj = v + j * stride;
        for (uint32_t d = 0; d < head_dim; d++)
            out[d] += scores[j] * vj[d];
    }
    float inv = 1.0f / sum;
    for (uint32_t d = 0; d < head_dim; d++)
        out[d] *= inv;
}

static float silu(float x)
{
    return x / (1.0f + expf(-x));
}

static void layer(struct glimp_seq *s, uint32_t il, uint32_t n)
{
    const struct glimp_model *m = s->m;
    const struct glimp_model_info *h = &m->info;
    const struct glimp_layer *L = &m->layers[il];
    uint32_t e = h->n_embd, kv = m->kv_dim, hd = h->head_dim;
    uint32_t p0 = s->n_past;
    /* This layer's cache rows for the chunk: (n, kv_dim) matrices. */
    float *kc = s->k_cache + ((size_t)il * s->n_ctx) * kv;
    float *vc = s->v_cache + ((size_t)il * s->n_ctx) * kv;

    /* attention */
    for (uint32_t t = 0; t < n; t++)
        rms_norm(s->x + (size_t)t * e, L->attn_norm, s->xn + (size_t)t * e, e, h->rms_eps);
    glimp_matmul_ref(&L->wq, s->xn, n, s->q, s->row);
    glimp_matmul_ref(&L->wk, s->xn, n, kc + (size_t)p0 * kv, s->row);
    glimp_matmul_ref(&L->wv, s->xn, n, vc + (size_t)p0 * kv, s->row);
    add_bias(s->q, L->bq, n, m->q_dim);
    add_bias(kc + (size_t)p0 * kv, L->bk, n, kv);
    add_bias(vc + (size_t)p0 * kv, L->bv, n, kv);
    qk_prepare(m, s->q, n, h->n_head, L->q_norm, s->rope);
    qk_prepare(m, kc + (size_t)p0 * kv, n, h->n_head_kv, L->k_norm, s->rope);

    /* Every token's keys and values are in the cache now; token t sees
     * positions 0..p0+t. Threads will split the (token, head) pairs. */
    uint32_t group = h->n_head / h->n_head_kv;
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t hh = 0; hh < h->n_head; hh++) {
            size_t off = ((size_t)t * h->n_head + hh) * hd;
            size_t kv_off = (size_t)(hh / group) * hd;
            attend(s->q + off, kc + kv_off, vc + kv_off, kv, p0 + t, hd, s->scores, s->att + off);
        }
    glimp_matmul_ref(&L->wo, s->att, n, s->xn, s->row);
    add_bias(s->xn, L->bo, n, e);
    for (size_t i = 0; i < (size_t)n * e; i++)
        s->x[i] += s->xn[i];

    /* feed-forward: down(silu(gate(x)) * up(x)) */
    for (uint32_t t = 0; t < n; t++)
        rms_norm(s->x + (size_t)t * e, L->ffn_norm, s->xn + (size_t)t * e, e, h->rms_eps);
    glimp_matmul_ref(&L->gate, s->xn, n, s->gate, s->row);
    glimp_matmul_ref(&L->up, s->xn, n, s->up, s->row);
    for (size_t i = 0; i < (size_t)n * h->n_ff; i++)
        s->gate[i] = silu(s->gate[i]) * s->up[i];
    glimp_matmul_ref(&L->down, s->gate, n, s->xn, s->row);
    for (size_t i = 0; i < (size_t)n * e; i++)
        s->x[i] += s->xn[i];
}

void glimp_forward_chunk(struct glimp_seq *s, const int32_t *ids, uint32_t n, float *out_all,
                         float *out_last)
{
    const struct glimp_model *m = s->m;
    const struct glimp_model_info *h = &m->info;
    uint32_t e = h->n_embd;
    for (uint32_t t = 0; t < n; t++) {
        glimp_wmat_row_ref(&m->tok_embd, (uint32_t)ids[t], s->x + (size_t)t * e);
        rope_table(m, s->n_past + t, s->rope + (size_t)t * h->n_rot);
    }
    for (uint32_t il = 0; il < h->n_layer; il++)
        layer(s, il, n);
    if (!out_all && !out_last)
        return; /* a chunk before the last: only its K and V are needed */

    uint32_t first = out_all ? 0 : n - 1;
    for (uint32_t t = first; t < n; t++)
        rms_norm(s->x + (size_t)t * e, m->output_norm, s->xn + (size_t)t * e, e, h->rms_eps);
    glimp_matmul_ref(&m->output, s->xn + (size_t)first * e, n - first, out_all ? out_all : out_last,
                     s->row);
}
