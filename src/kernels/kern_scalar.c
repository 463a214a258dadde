/* kern_scalar.c - the "scalar" kernel table: the fast algorithm of
 * kernels.h written out in portable C, one output at a time. It is the
 * oracle the SIMD tables are held to bit for bit, and the kernels of CPUs
 * without them; so it spells out every rounding step (fmaf, float
 * products, the lane of each partial sum) rather than being fast. */
#include "kernels/kernels.h"
#include "kernels/quant.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

static uint16_t rd16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static float fp16_at(const void *p)
{
    return glimp_fp16_to_fp32(rd16(p));
}

/* The fixed combination of eight partial sums. */
static float combine8(const float s[8])
{
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

size_t glimp_act_row_bytes(enum glimp_act f, uint32_t n)
{
    size_t b;
    switch (f) {
    case GLIMP_ACT_Q8: b = 2 * (size_t)n + 4 * (size_t)(n / 32) + 2 * (size_t)(n / 32); break;
    case GLIMP_ACT_Q8K: b = 2 * (size_t)n + 4 * (size_t)(n / 256) + 2 * (size_t)(n / 32); break;
    default: b = 4 * (size_t)n; break;
    }
    return (b + 63) & ~(size_t)63;
}

/* round_even(x * id) clamped to -127..127. */
static int8_t q8_of(float x, float id)
{
    float v = x * id;
    if (!(v > -127.0f)) /* NaN included, as the SIMD clamp does */
        return -127;
    if (v >= 127.0f)
        return 127;
    return (int8_t)lrintf(v);
}

/* Quantize blocks of bs elements: d = max|x| / 127, q = round(x / d) via
 * the reciprocal id = 1 / d (0 when d is 0). q2 receives |q| (abs) or
 * q + 128. */
static void quantize_blocks(const float *x, int8_t *qs, uint8_t *q2, float *d, uint32_t n,
                            uint32_t bs, bool abs)
{
    for (uint32_t b = 0; b < n / bs; b++) {
        float amax = 0.0f;
        for (uint32_t i = 0; i < bs; i++) {
            float a = fabsf(x[b * bs + i]);
            amax = a > amax ? a : amax;
        }
        float db = amax / 127.0f;
        float id = db != 0.0f ? 1.0f / db : 0.0f;
        d[b] = db;
        for (uint32_t i = 0; i < bs; i++) {
            int8_t q = q8_of(x[b * bs + i], id);
            qs[b * bs + i] = q;
            q2[b * bs + i] = (uint8_t)(abs ? (q < 0 ? -q : q) : q + 128);
        }
    }
}

/* bsum[j] = the sum of qs over elements 32j..32j+31. */
static void block_sums(const int8_t *qs, int16_t *bsum, uint32_t n)
{
    for (uint32_t j = 0; j < n / 32; j++) {
        int s = 0;
        for (uint32_t i = 0; i < 32; i++)
            s += qs[32 * j + i];
        bsum[j] = (int16_t)s;
    }
}

static void quantize_q8(const float *x, void *y, uint32_t n)
{
    int8_t *qs = y;
    float *d = (float *)(qs + 2 * (size_t)n);
    quantize_blocks(x, qs, (uint8_t *)qs + n, d, n, 32, false);
    block_sums(qs, (int16_t *)(d + n / 32), n);
}

static void quantize_q8k(const float *x, void *y, uint32_t n)
{
    int8_t *qs = y;
    float *d = (float *)(qs + 2 * (size_t)n);
    quantize_blocks(x, qs, (uint8_t *)qs + n, d, n, 256, true);
    block_sums(qs, (int16_t *)(d + n / 256), n);
}

/* ----------------------------------------------------- per-output dots */

/* One output: row (w->row_bytes bytes) times one activation row. */
typedef float (*dot_fn)(const uint8_t *row, const void *x, uint32_t n);

static float dot_f32(const uint8_t *row, const void *x, uint32_t n)
{
    float acc[8] = {0};
    const float *xf = x;
    for (uint32_t i = 0; i < n; i++) {
        float wv;
        memcpy(&wv, row + 4 * (size_t)i, sizeof wv);
        acc[i % 8] = fmaf(wv, xf[i], acc[i % 8]);
    }
    return combine8(acc);
}

static float dot_f16(const uint8_t *row, const void *x, uint32_t n)
{
    float acc[8] = {0};
    const float *xf = x;
    for (uint32_t i = 0; i < n; i++)
        acc[i % 8] = fmaf(fp16_at(row + 2 * (size_t)i), xf[i], acc[i % 8]);
    return combine8(acc);
}

static float dot_bf16(const uint8_t *row, const void *x, uint32_t n)
{
    float acc[8] = {0};
    const float *xf = x;
    for (uint32_t i = 0; i < n; i++)
        acc[i % 8] = fmaf(glimp_bf16_to_fp32(rd16(row + 2 * (size_t)i)), xf[i], acc[i % 8]);
    return combine8(acc);
}

/* Shared tail of the 32-blocks types: w[0..31] the block's signed levels. */
static void acc_block32(const int *w, const int8_t *a, float s, float acc[8])
{
    for (int m = 0; m < 8; m++) {
        int t = 0;
        for (int i = 0; i < 4; i++)
            t += w[4 * m + i] * a[4 * m + i];
        acc[m] = fmaf(s, (float)t, acc[m]);
    }
}

static float dot_q8_0(const uint8_t *row, const void *x, uint32_t n)
{
    const int8_t *aq = x;
    const float *ad = (const float *)(aq + 2 * (size_t)n);
    float acc[8] = {0};
    for (uint32_t b = 0; b < n / 32; b++) {
        const uint8_t *blk = row + 34 * (size_t)b;
        int w[32];
        for (int i = 0; i < 32; i++)
            w[i] = (int8_t)blk[2 + i];
        acc_block32(w, aq + 32 * (size_t)b, fp16_at(blk) * ad[b], acc);
    }
    return combine8(acc);
}

static float dot_q4_0(const uint8_t *row, const void *x, uint32_t n)
{
    const int8_t *aq = x;
    const float *ad = (const float *)(aq + 2 * (size_t)n);
    float acc[8] = {0};
    for (uint32_t b = 0; b < n / 32; b++) {
        const uint8_t *blk = row + 18 * (size_t)b;
        int w[32];
        for (int j = 0; j < 16; j++) {
            w[j] = (blk[2 + j] & 15) - 8;
            w[j + 16] = (blk[2 + j] >> 4) - 8;
        }
        acc_block32(w, aq + 32 * (size_t)b, fp16_at(blk) * ad[b], acc);
    }
    return combine8(acc);
}

/* The 5-bit levels of a Q5_0 or Q5_1 block (qh, qs as in quant.h). */
static void q5_levels(const uint8_t *qh, const uint8_t *qs, int q[32])
{
    for (int e = 0; e < 32; e++) {
        int lo = e < 16 ? qs[e] & 15 : qs[e - 16] >> 4;
        q[e] = lo | (((qh[e / 8] >> (e % 8)) & 1) << 4);
    }
}

static float dot_q5_0(const uint8_t *row, const void *x, uint32_t n)
{
    const int8_t *aq = x;
    const float *ad = (const float *)(aq + 2 * (size_t)n);
    float acc[8] = {0};
    for (uint32_t b = 0; b < n / 32; b++) {
        const uint8_t *blk = row + 22 * (size_t)b;
        int w[32];
        q5_levels(blk + 2, blk + 6, w);
        for (int e = 0; e < 32; e++)
            w[e] -= 16;
        acc_block32(w, aq + 32 * (size_t)b, fp16_at(blk) * ad[b], acc);
    }
    return combine8(acc);
}

/* Q5_1: x = d q + m, so a block adds d da (q . a) in the lanes and
 * m da (the block's activation sum) to one more accumulator. */
static float dot_q5_1(const uint8_t *row, const void *x, uint32_t n)
{
    const int8_t *aq = x;
    const float *ad = (const float *)(aq + 2 * (size_t)n);
    const int16_t *bsum = (const int16_t *)(ad + n / 32);
    float acc[8] = {0}, accm = 0.0f;
    for (uint32_t b = 0; b < n / 32; b++) {
        const uint8_t *blk = row + 24 * (size_t)b;
        int w[32];
        q5_levels(blk + 4, blk + 8, w);
        acc_block32(w, aq + 32 * (size_t)b, fp16_at(blk) * ad[b], acc);
        accm = fmaf(fp16_at(blk + 2) * ad[b], (float)bsum[b], accm);
    }
    return combine8(acc) + accm;
}

/* K-quants: lane m of a super-block gathers, over its 32-element runs j,
 * sc[j] * (sum of q * a over elements 32j + 4m .. 32j + 4m + 3), where Q6_K
 * has a scale per 16 (lanes 0..3 take the first, 4..7 the second). */
static void acc_superblock(const int q[256], const int sc[16], bool per16, const int8_t *a,
                           int isum[8])
{
    for (int m = 0; m < 8; m++)
        isum[m] = 0;
    for (int j = 0; j < 8; j++)
        for (int m = 0; m < 8; m++) {
            int t = 0;
            for (int i = 0; i < 4; i++)
                t += q[32 * j + 4 * m + i] * a[32 * j + 4 * m + i];
            isum[m] += (per16 ? sc[2 * j + m / 4] : sc[j]) * t;
        }
}

/* Q4_K and Q5_K: q = low nibble (+ 16 * fifth bit), x = d*sc*q - dmin*m. */
static float dot_q45_K(const uint8_t *row, const void *x, uint32_t n, bool five)
{
    const int8_t *aq = x;
    const float *ad = (const float *)(aq + 2 * (size_t)n);
    const int16_t *bsum = (const int16_t *)(ad + n / 256);
    size_t bytes = five ? sizeof(block_q5_K) : sizeof(block_q4_K);
    float acc[8] = {0}, accm = 0.0f;
    for (uint32_t b = 0; b < n / 256; b++) {
        const uint8_t *blk = row + bytes * b;
        const uint8_t *scales = blk + 4;
        const uint8_t *qh = blk + 16; /* Q5_K */
        const uint8_t *qs = blk + (five ? 48 : 16);
        int q[256], sc[16], isum[8];
        int imin = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t s, m;
            glimp_get_scale_min_k4(j, scales, &s, &m);
            sc[j] = s;
            imin += m * bsum[8 * b + j];
        }
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                int lo = qs[32 * c + l] & 15, hi = qs[32 * c + l] >> 4;
                if (five) {
                    lo += ((qh[l] >> (2 * c)) & 1) << 4;
                    hi += ((qh[l] >> (2 * c + 1)) & 1) << 4;
                }
                q[64 * c + l] = lo;
                q[64 * c + 32 + l] = hi;
            }
        acc_superblock(q, sc, false, aq + 256 * (size_t)b, isum);
        float da = ad[b];
        float s = fp16_at(blk) * da, smin = fp16_at(blk + 2) * da;
        for (int m = 0; m < 8; m++)
            acc[m] = fmaf(s, (float)isum[m], acc[m]);
        accm = fmaf(smin, (float)imin, accm);
    }
    return combine8(acc) - accm;
}

static float dot_q4_K(const uint8_t *row, const void *x, uint32_t n)
{
    return dot_q45_K(row, x, n, false);
}

static float dot_q5_K(const uint8_t *row, const void *x, uint32_t n)
{
    return dot_q45_K(row, x, n, true);
}

static float dot_q6_K(const uint8_t *row, const void *x, uint32_t n)
{
    const int8_t *aq = x;
    const float *ad = (const float *)(aq + 2 * (size_t)n);
    float acc[8] = {0};
    for (uint32_t b = 0; b < n / 256; b++) {
        const block_q6_K *blk = (const block_q6_K *)(row + sizeof(block_q6_K) * b);
        int q[256], sc[16], isum[8];
        for (int j = 0; j < 16; j++)
            sc[j] = blk->scales[j];
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = blk->ql + 64 * h, *qh = blk->qh + 32 * h;
            int *qq = q + 128 * h;
            for (int l = 0; l < 32; l++) {
                qq[l] = ((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32;
                qq[l + 32] = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                qq[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                qq[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            }
        }
        acc_superblock(q, sc, true, aq + 256 * (size_t)b, isum);
        float s = fp16_at(&blk->d) * ad[b];
        for (int m = 0; m < 8; m++)
            acc[m] = fmaf(s, (float)isum[m], acc[m]);
    }
    return combine8(acc);
}

static void mm_loop(dot_fn dot, const struct glimp_wmat *w, uint32_t r0, uint32_t r1, const void *x,
                    size_t x_stride, uint32_t n_tok, float *y, size_t ldy)
{
    for (uint32_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
        for (uint32_t t = 0; t < n_tok; t++)
            y[(size_t)t * ldy + r] = dot(row, (const char *)x + (size_t)t * x_stride, w->n_in);
    }
}

#define MM(name)                                                                                   \
    static void mm_##name(const struct glimp_wmat *w, uint32_t r0, uint32_t r1, const void *x,     \
                          size_t x_stride, uint32_t n_tok, float *y, size_t ldy)                   \
    {                                                                                              \
        mm_loop(dot_##name, w, r0, r1, x, x_stride, n_tok, y, ldy);                                \
    }
MM(f32)
MM(f16)
MM(bf16)
MM(q8_0)
MM(q4_0)
MM(q5_0)
MM(q5_1)
MM(q4_K)
MM(q5_K)
MM(q6_K)
#undef MM

/* ------------------------------------------------------ exp, attention */

/* exp(x) for x clamped to [-87, 88]: x = n ln2 + r (Cody-Waite, two
 * constants), e^r by Cephes' degree-6 polynomial, times 2^n. Every step is
 * one rounding the SIMD versions repeat (fmaf, products, one add). */
float glimp_exp_poly(float x)
{
    if (x != x)
        return x;
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = nearbyintf(x * 1.44269504088896341f);
    float r = fmaf(n, -0.693359375f, x);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    float r2 = r * r;
    p = fmaf(p, r2, r);
    p = p + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

float glimp_dot_f32_fma(const float *a, const float *b, size_t n)
{
    float acc[8] = {0};
    for (size_t i = 0; i < n; i++)
        acc[i % 8] = fmaf(a[i], b[i], acc[i % 8]);
    return combine8(acc);
}

/* The fast attention: scores by glimp_dot_f32_fma, the softmax sum in
 * eight lanes (position j in lane j % 8), the weighted sum of values by
 * fmaf over positions in order, then one multiply by 1 / sum. */
static void attn_head(const float *q, const float *k, const float *v, size_t stride, uint32_t n_pos,
                      uint32_t head_dim, float *scores, float *out)
{
    float scale = 1.0f / sqrtf((float)head_dim);
    float max = -INFINITY;
    for (uint32_t j = 0; j < n_pos; j++) {
        scores[j] = glimp_dot_f32_fma(q, k + j * stride, head_dim) * scale;
        max = scores[j] > max ? scores[j] : max;
    }
    float sum[8] = {0};
    for (uint32_t j = 0; j < n_pos; j++) {
        scores[j] = glimp_exp_poly(scores[j] - max);
        sum[j % 8] += scores[j];
    }
    for (uint32_t d = 0; d < head_dim; d++)
        out[d] = 0.0f;
    for (uint32_t j = 0; j < n_pos; j++) {
        const float *vj = v + j * stride;
        for (uint32_t d = 0; d < head_dim; d++)
            out[d] = fmaf(scores[j], vj[d], out[d]);
    }
    float inv = 1.0f / combine8(sum);
    for (uint32_t d = 0; d < head_dim; d++)
        out[d] *= inv;
}

static void attn_scalar(const float *q, uint32_t n_q, const float *k, const float *v, size_t stride,
                        uint32_t n_pos, uint32_t head_dim, float *scores, float *out)
{
    for (uint32_t h = 0; h < n_q; h++)
        attn_head(q + (size_t)h * head_dim, k, v, stride, n_pos, head_dim, scores,
                  out + (size_t)h * head_dim);
}

static void silu_mul_scalar(float *g, const float *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float e = glimp_exp_poly(-g[i]);
        g[i] = g[i] / (1.0f + e) * u[i];
    }
}

const struct glimp_kernels glimp_kernels_scalar = {
    .name = "scalar",
    .act = GLIMP_KERNELS_ACT,
    .quantize = {[GLIMP_ACT_Q8] = quantize_q8, [GLIMP_ACT_Q8K] = quantize_q8k},
    .matmul =
        {
            [GLIMP_TYPE_F32] = mm_f32,
            [GLIMP_TYPE_F16] = mm_f16,
            [GLIMP_TYPE_BF16] = mm_bf16,
            [GLIMP_TYPE_Q8_0] = mm_q8_0,
            [GLIMP_TYPE_Q4_0] = mm_q4_0,
            [GLIMP_TYPE_Q5_0] = mm_q5_0,
            [GLIMP_TYPE_Q5_1] = mm_q5_1,
            [GLIMP_TYPE_Q4_K] = mm_q4_K,
            [GLIMP_TYPE_Q5_K] = mm_q5_K,
            [GLIMP_TYPE_Q6_K] = mm_q6_K,
        },
    .attn = attn_scalar,
    .silu_mul = silu_mul_scalar,
};
