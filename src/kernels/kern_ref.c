/* kern_ref.c - the "ref" kernel table: the engine's original scalar
 * numerics (float activations, each weight row dequantized and dotted in
 * the order of glimp_dot_f32_ref, libm expf), for the kernels "ref" and as
 * the fallback for weight types that have no fast kernel. */
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

/* Elements dequantized at a time: a multiple of every block size (32, 256)
 * and of 8, so element i keeps lane i % 8 across chunks. */
#define REF_CHUNK 256
#define REF_TOK 16 /* tokens sharing one dequantized chunk */

/* Elements [i0, i0 + len) of row r as floats; i0 is a multiple of
 * REF_CHUNK, len a multiple of the block size. */
static void row_chunk(const struct glimp_wmat *w, uint32_t r, uint32_t i0, uint32_t len, float *dst)
{
    const struct glimp_type_info *ti = glimp_type_info(w->type);
    const char *row = (const char *)w->data + (size_t)r * w->row_bytes;
    const char *src = row + (size_t)(i0 / ti->block_size) * ti->type_size;
    if (w->type == GLIMP_TYPE_F32)
        memcpy(dst, src, (size_t)len * sizeof(float));
    else if (glimp_dequantize((enum glimp_type)w->type, src, dst, len) != GLIMP_OK)
        memset(dst, 0, (size_t)len * sizeof(float)); /* the loader refuses such types */
}

/* Each y element equals glimp_dot_f32_ref(dequantized row, x row): element
 * i goes to partial sum i % 8 in order, combined in the same tree. */
static void mm_ref(const struct glimp_wmat *w, uint32_t r0, uint32_t r1, const void *x,
                   size_t x_stride, uint32_t n_tok, float *y, size_t ldy)
{
    float buf[REF_CHUNK];
    float s[REF_TOK][8];
    uint32_t n = w->n_in;
    for (uint32_t r = r0; r < r1; r++) {
        for (uint32_t t0 = 0; t0 < n_tok; t0 += REF_TOK) {
            uint32_t nt = n_tok - t0 < REF_TOK ? n_tok - t0 : REF_TOK;
            memset(s, 0, sizeof s);
            for (uint32_t i0 = 0; i0 < n; i0 += REF_CHUNK) {
                uint32_t len = n - i0 < REF_CHUNK ? n - i0 : REF_CHUNK;
                row_chunk(w, r, i0, len, buf);
                for (uint32_t t = 0; t < nt; t++) {
                    const float *xr =
                        (const float *)((const char *)x + (size_t)(t0 + t) * x_stride) + i0;
                    for (uint32_t i = 0; i < len; i++)
                        s[t][i % 8] += buf[i] * xr[i];
                }
            }
            for (uint32_t t = 0; t < nt; t++)
                y[(size_t)(t0 + t) * ldy + r] = ((s[t][0] + s[t][4]) + (s[t][1] + s[t][5])) +
                                                ((s[t][2] + s[t][6]) + (s[t][3] + s[t][7]));
        }
    }
}

/* The engine's original attention: the softmax and the weighted sum run
 * over positions in order. */
static void attn_head(const float *q, const float *k, const float *v, size_t stride, uint32_t n_pos,
                      uint32_t head_dim, float *scores, float *out)
{
    float scale = 1.0f / sqrtf((float)head_dim);
    float max = -INFINITY;
    for (uint32_t j = 0; j < n_pos; j++) {
        scores[j] = glimp_dot_f32_ref(q, k + j * stride, head_dim) * scale;
        if (scores[j] > max)
            max = scores[j];
    }
    float sum = 0.0f;
    for (uint32_t j = 0; j < n_pos; j++) {
        scores[j] = expf(scores[j] - max);
        sum += scores[j];
    }
    memset(out, 0, head_dim * sizeof *out);
    for (uint32_t j = 0; j < n_pos; j++) {
        const float *vj = v + j * stride;
        for (uint32_t d = 0; d < head_dim; d++)
            out[d] += scores[j] * vj[d];
    }
    float inv = 1.0f / sum;
    for (uint32_t d = 0; d < head_dim; d++)
        out[d] *= inv;
}

static void attn_ref(const float *q, uint32_t n_q, const float *k, const float *v, size_t stride,
                     uint32_t n_pos, uint32_t head_dim, float *scores, float *out)
{
    for (uint32_t h = 0; h < n_q; h++)
        attn_head(q + (size_t)h * head_dim, k, v, stride, n_pos, head_dim, scores,
                  out + (size_t)h * head_dim);
}

static void silu_mul_ref(float *g, const float *u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

const struct glimp_kernels glimp_kernels_ref = {
    .name = "ref",
    /* .act: all GLIMP_ACT_F32 (zero) */
    .matmul =
        {
            [GLIMP_TYPE_F32] = mm_ref,
            [GLIMP_TYPE_F16] = mm_ref,
            [GLIMP_TYPE_BF16] = mm_ref,
            [GLIMP_TYPE_Q8_0] = mm_ref,
            [GLIMP_TYPE_Q4_0] = mm_ref,
            [GLIMP_TYPE_Q5_0] = mm_ref,
            [GLIMP_TYPE_Q5_1] = mm_ref,
            [GLIMP_TYPE_Q4_K] = mm_ref,
            [GLIMP_TYPE_Q5_K] = mm_ref,
            [GLIMP_TYPE_Q6_K] = mm_ref,
        },
    .attn = attn_ref,
    .silu_mul = silu_mul_ref,
};
