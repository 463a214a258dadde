/* quant_ref.c - scalar reference quantizers and dequantizers for the types
 * glimp computes with (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K,
 * Q6_K), and the public glimp_quantize / glimp_dequantize that dispatch on
 * the type. These favour clarity and accuracy over speed; faster paths are
 * tested against them. Block layouts are described in quant.h. */
#include "kernels/quant.h"

#include "core/error.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------ F16, BF16 */

void glimp_quantize_row_f16_ref(const float *x, uint16_t *y, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        y[i] = glimp_fp32_to_fp16(x[i]);
}

void glimp_dequantize_row_f16_ref(const uint16_t *x, float *y, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        y[i] = glimp_fp16_to_fp32(x[i]);
}

void glimp_quantize_row_bf16_ref(const float *x, uint16_t *y, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        y[i] = glimp_fp32_to_bf16(x[i]);
}

void glimp_dequantize_row_bf16_ref(const uint16_t *x, float *y, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        y[i] = glimp_bf16_to_fp32(x[i]);
}

/* --------------------------------------------------------------- helpers */

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Nearest integer of v (ties to even) clamped to [lo, hi]. Inputs are taken
 * to be finite: a NaN gives an unspecified level, never undefined behaviour. */
static int round_clamp(float v, int lo, int hi)
{
    if (v <= (float)lo)
        return lo;
    if (v >= (float)hi)
        return hi;
    return (int)lrintf(v);
}

/* A float stored as fp16, and the value it reads back as. */
static uint16_t to_fp16(float v, float *readback)
{
    uint16_t h = glimp_fp32_to_fp16(v);
    *readback = glimp_fp16_to_fp32(h);
    return h;
}

/* ------------------------------------------------------------------ Q8_0 */

/* d = max|x| / 127, q = round(x / d). q is computed against d as stored
 * (fp16), so the values read back are the nearest multiples of that d. */
void glimp_quantize_row_q8_0_ref(const float *x, block_q8_0 *y, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        float amax = 0.0f;
        for (int i = 0; i < QK8_0; i++)
            amax = fmaxf(amax, fabsf(x[i]));
        float d;
        y[b].d = to_fp16(amax / 127.0f, &d);
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int i = 0; i < QK8_0; i++)
            y[b].qs[i] = (int8_t)round_clamp(x[i] * id, -127, 127);
    }
}

void glimp_dequantize_row_q8_0_ref(const block_q8_0 *x, float *y, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK8_0; b++, y += QK8_0) {
        float d = glimp_fp16_to_fp32(x[b].d);
        for (int i = 0; i < QK8_0; i++)
            y[i] = (float)x[b].qs[i] * d;
    }
}

/* ------------------------------------------------------------------ Q4_0 */

/* ggml's convention: the element of largest magnitude, with its sign, maps
 * to q = 0 (that is -8 * d), so d = that element / -8 and the full 16 levels
 * are used on its side; the other side reaches 7 * |d|. */
void glimp_quantize_row_q4_0_ref(const float *x, block_q4_0 *y, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK4_0; b++, x += QK4_0) {
        float amax = 0.0f, vmax = 0.0f;
        for (int i = 0; i < QK4_0; i++) {
            if (fabsf(x[i]) > amax) {
                amax = fabsf(x[i]);
                vmax = x[i];
            }
        }
        float d;
        y[b].d = to_fp16(vmax / -8.0f, &d);
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < QK4_0 / 2; j++) {
            int lo = clamp_int(round_clamp(x[j] * id, -8, 8) + 8, 0, 15);
            int hi = clamp_int(round_clamp(x[j + QK4_0 / 2] * id, -8, 8) + 8, 0, 15);
            y[b].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

void glimp_dequantize_row_q4_0_ref(const block_q4_0 *x, float *y, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK4_0; b++, y += QK4_0) {
        float d = glimp_fp16_to_fp32(x[b].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = (float)((x[b].qs[j] & 15) - 8) * d;
            y[j + QK4_0 / 2] = (float)((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

/* ------------------------------------------------------------ Q5_0, Q5_1 */

/* Element e's 5-bit level from a Q5_0/Q5_1 block's qh and qs (quant.h). */
static int q5_level(const uint8_t *qh, const uint8_t *qs, int e)
{
    int lo = e < 16 ? qs[e] & 15 : qs[e - 16] >> 4;
    return lo | (((qh[e / 8] >> (e % 8)) & 1) << 4);
}

/* Store 32 levels q[0..31] in 0..31 as qh and qs. */
static void q5_pack(const uint8_t *q, uint8_t *qh, uint8_t *qs)
{
    memset(qh, 0, 4);
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)((q[j] & 15) | ((q[j + 16] & 15) << 4));
    for (int e = 0; e < 32; e++)
        qh[e / 8] |= (uint8_t)(((q[e] >> 4) & 1) << (e % 8));
}

/* As Q4_0 with 32 levels: the largest-magnitude element, with its sign,
 * maps to q = 0 (-16 * d), so d = that element / -16; the other side
 * reaches 15 * |d|. q is computed against d as stored. */
void glimp_quantize_row_q5_0_ref(const float *x, block_q5_0 *y, uint64_t n)
{
    uint8_t q[QK5_0];
    for (uint64_t b = 0; b < n / QK5_0; b++, x += QK5_0) {
        float amax = 0.0f, vmax = 0.0f;
        for (int i = 0; i < QK5_0; i++) {
            if (fabsf(x[i]) > amax) {
                amax = fabsf(x[i]);
                vmax = x[i];
            }
        }
        float d;
        y[b].d = to_fp16(vmax / -16.0f, &d);
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int i = 0; i < QK5_0; i++)
            q[i] = (uint8_t)clamp_int(round_clamp(x[i] * id, -16, 16) + 16, 0, 31);
        q5_pack(q, y[b].qh, y[b].qs);
    }
}

void glimp_dequantize_row_q5_0_ref(const block_q5_0 *x, float *y, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK5_0; b++, y += QK5_0) {
        float d = glimp_fp16_to_fp32(x[b].d);
        for (int e = 0; e < QK5_0; e++)
            y[e] = (float)(q5_level(x[b].qh, x[b].qs, e) - 16) * d;
    }
}

/* m = the block's minimum as stored (fp16), d = (max - m) / 31 as stored,
 * q = round((x - m) / d): the minimum reads back as m exactly and every
 * element lies within d / 2 of its level, up to fp16 rounding of d. */
void glimp_quantize_row_q5_1_ref(const float *x, block_q5_1 *y, uint64_t n)
{
    uint8_t q[QK5_0];
    for (uint64_t b = 0; b < n / QK5_0; b++, x += QK5_0) {
        float lo = x[0], hi = x[0];
        for (int i = 1; i < QK5_0; i++) {
            lo = fminf(lo, x[i]);
            hi = fmaxf(hi, x[i]);
        }
        float m, d;
        y[b].m = to_fp16(lo, &m);
        y[b].d = to_fp16(fmaxf(hi - m, 0.0f) / 31.0f, &d);
        float id = d > 0.0f ? 1.0f / d : 0.0f;
        for (int i = 0; i < QK5_0; i++)
            q[i] = (uint8_t)round_clamp((x[i] - m) * id, 0, 31);
        q5_pack(q, y[b].qh, y[b].qs);
    }
}

void glimp_dequantize_row_q5_1_ref(const block_q5_1 *x, float *y, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK5_0; b++, y += QK5_0) {
        float d = glimp_fp16_to_fp32(x[b].d);
        float m = glimp_fp16_to_fp32(x[b].m);
        for (int e = 0; e < QK5_0; e++)
            y[e] = (float)q5_level(x[b].qh, x[b].qs, e) * d + m;
    }
}

/* ------------------------------------------------- K-quant scale search */

/* Steps of the scale search: candidates put the sub-block's range on
 * qmax + k * SEARCH_STEP levels for k = -SEARCH_N..SEARCH_N, each then
 * refitted by least squares. */
#define SEARCH_N 10
#define SEARCH_STEP 0.1f

/* Squared error of x ~ s * q - m, q = nearest level in [0, qmax]. */
static float affine_sse(const float *x, int n, int qmax, float s, float m)
{
    float is = s > 0.0f ? 1.0f / s : 0.0f;
    float err = 0.0f;
    for (int i = 0; i < n; i++) {
        int q = round_clamp((x[i] + m) * is, 0, qmax);
        float e = s * (float)q - m - x[i];
        err += e * e;
    }
    return err;
}

/* Fit x[0..n) ~ s * q - m with integer q in [0, qmax], s >= 0 and m >= 0
 * (an offset of at most zero: a sub-block of positive values gets m = 0),
 * choosing among a few candidate scales the one of least squared error.
 * All-equal or all-zero input gives s = 0 and m = -min, exact. */
static void fit_affine(const float *x, int n, int qmax, float *s_out, float *m_out)
{
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
    }
    if (lo > 0.0f)
        lo = 0.0f;
    if (!(hi > lo)) {
        *s_out = 0.0f;
        *m_out = -lo;
        return;
    }
    float best_s = (hi - lo) / (float)qmax, best_m = -lo;
    float best_err = affine_sse(x, n, qmax, best_s, best_m);
    for (int k = -SEARCH_N; k <= SEARCH_N; k++) {
        float is = ((float)qmax + SEARCH_STEP * (float)k) / (hi - lo);
        /* Least squares for x ~ s * q + c over this assignment of q. */
        float sq = 0, sqq = 0, sx = 0, sqx = 0;
        for (int i = 0; i < n; i++) {
            float q = (float)round_clamp((x[i] - lo) * is, 0, qmax);
            sq += q;
            sqq += q * q;
            sx += x[i];
            sqx += q * x[i];
        }
        float det = (float)n * sqq - sq * sq;
        float s, c;
        if (det > 0.0f) {
            s = ((float)n * sqx - sq * sx) / det;
            c = (sqq * sx - sq * sqx) / det;
        } else {
            s = 0.0f;
            c = 1.0f; /* forces the refit below */
        }
        if (c > 0.0f) { /* a positive offset is not representable: c = 0 */
            c = 0.0f;
            s = sqq > 0.0f ? sqx / sqq : 0.0f;
        }
        if (!(s > 0.0f))
            continue;
        float err = affine_sse(x, n, qmax, s, -c);
        if (err < best_err) {
            best_err = err;
            best_s = s;
            best_m = -c;
        }
    }
    *s_out = best_s;
    *m_out = best_m;
}

/* Squared error of x ~ s * q, q = nearest integer in [-32, 31]. */
static float symmetric_sse(const float *x, int n, float s)
{
    float is = s != 0.0f ? 1.0f / s : 0.0f;
    float err = 0.0f;
    for (int i = 0; i < n; i++) {
        int q = round_clamp(x[i] * is, -32, 31);
        float e = s * (float)q - x[i];
        err += e * e;
    }
    return err;
}

/* Fit x[0..n) ~ s * q with integer q in [-32, 31] and s of either sign: the
 * largest-magnitude element goes near -32 (or +31), refitted by least
 * squares, keeping the candidate of least squared error. */
static float fit_symmetric6(const float *x, int n)
{
    float amax = 0.0f, vmax = 0.0f;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            vmax = x[i];
        }
    }
    if (amax == 0.0f)
        return 0.0f;
    float best_s = vmax / -32.0f;
    float best_err = symmetric_sse(x, n, best_s);
    for (int side = 0; side < 2; side++) {
        for (int k = -SEARCH_N; k <= SEARCH_N; k++) {
            float levels = (side == 0 ? -32.0f : 31.0f) + SEARCH_STEP * (float)k;
            float is = levels / vmax;
            float sqq = 0, sqx = 0;
            for (int i = 0; i < n; i++) {
                float q = (float)round_clamp(x[i] * is, -32, 31);
                sqq += q * q;
                sqx += q * x[i];
            }
            if (!(sqq > 0.0f))
                continue;
            float s = sqx / sqq;
            float err = symmetric_sse(x, n, s);
            if (err < best_err) {
                best_err = err;
                best_s = s;
            }
        }
    }
    return best_s;
}

/* The fp16 codes to try for a super-block scale whose ideal value rounds to
 * code h: h and its neighbours (same sign), as rounding the super-block scale
 * can cost more than the 6-bit sub-block scales can absorb, most of all when
 * it is a subnormal. A zero ideal value (all-zero input) only tries 0. */
#define D_SEARCH 2

static int d_candidates(uint16_t h, uint16_t *out)
{
    uint16_t sign = h & 0x8000, mag = h & 0x7fff;
    int n = 0;
    out[n++] = h;
    if (mag == 0)
        return n;
    for (int k = -D_SEARCH; k <= D_SEARCH; k++) {
        int c = (int)mag + k;
        if (k != 0 && c >= 1 && c <= 0x7bff)
            out[n++] = (uint16_t)(sign | c);
    }
    return n;
}

/* One Q4_K/Q5_K super-block against stored d and dmin: the 6-bit scales
 * ls/lm for the fitted s/m, the levels q in [0, qmax] of the 256 elements,
 * and the squared error of the values they read back as (computed as the
 * dequantizer computes them). */
static float encode_affine_k(const float *x, int qmax, const float *s, const float *m, float d,
                             float dmin, uint8_t *ls, uint8_t *lm, uint8_t *q)
{
    float id = d > 0.0f ? 1.0f / d : 0.0f;
    float idmin = dmin > 0.0f ? 1.0f / dmin : 0.0f;
    float err = 0.0f;
    for (int j = 0; j < 8; j++) {
        ls[j] = (uint8_t)round_clamp(s[j] * id, 0, 63);
        lm[j] = (uint8_t)round_clamp(m[j] * idmin, 0, 63);
        float se = d * (float)ls[j], me = dmin * (float)lm[j];
        float is = se > 0.0f ? 1.0f / se : 0.0f;
        for (int i = 0; i < 32; i++) {
            float xi = x[32 * j + i];
            int qi = round_clamp((xi + me) * is, 0, qmax);
            q[32 * j + i] = (uint8_t)qi;
            float e = se * (float)qi - me - xi;
            err += e * e;
        }
    }
    return err;
}

/* Quantize the 256 elements of one Q4_K/Q5_K super-block to levels q in
 * [0, qmax]: fit each sub-block's scale and min, store them as 6-bit
 * multiples of fp16 d and dmin (about max / 63, the best of a few fp16
 * neighbours), then quantize the elements against the scales as stored. */
static void quantize_affine_k(const float *x, int qmax, uint16_t *d_out, uint16_t *dmin_out,
                              uint8_t *scales, uint8_t *q)
{
    float s[8], m[8], smax = 0.0f, mmax = 0.0f;
    for (int j = 0; j < 8; j++) {
        fit_affine(x + 32 * j, 32, qmax, &s[j], &m[j]);
        smax = fmaxf(smax, s[j]);
        mmax = fmaxf(mmax, m[j]);
    }
    uint8_t ls[8], lm[8];
    uint16_t cand[2 * D_SEARCH + 1];
    uint16_t hd = glimp_fp32_to_fp16(smax / 63.0f), hm = glimp_fp32_to_fp16(mmax / 63.0f);
    /* Search d with dmin fixed, then dmin with the chosen d. */
    float best = INFINITY;
    int nc = d_candidates(hd, cand);
    for (int c = 0; c < nc; c++) {
        float err = encode_affine_k(x, qmax, s, m, glimp_fp16_to_fp32(cand[c]),
                                    glimp_fp16_to_fp32(hm), ls, lm, q);
        if (err < best) {
            best = err;
            hd = cand[c];
        }
    }
    uint16_t hm0 = hm;
    nc = d_candidates(hm0, cand);
    for (int c = 0; c < nc; c++) {
        float err = encode_affine_k(x, qmax, s, m, glimp_fp16_to_fp32(hd),
                                    glimp_fp16_to_fp32(cand[c]), ls, lm, q);
        if (err < best) {
            best = err;
            hm = cand[c];
        }
    }
    encode_affine_k(x, qmax, s, m, glimp_fp16_to_fp32(hd), glimp_fp16_to_fp32(hm), ls, lm, q);
    *d_out = hd;
    *dmin_out = hm;
    for (int j = 0; j < 4; j++) {
        scales[j] = (uint8_t)(ls[j] | ((ls[j + 4] >> 4) << 6));
        scales[j + 4] = (uint8_t)(lm[j] | ((lm[j + 4] >> 4) << 6));
        scales[j + 8] = (uint8_t)((ls[j + 4] & 15) | ((lm[j + 4] & 15) << 4));
    }
}

/* ------------------------------------------------------------------ Q4_K */

void glimp_quantize_row_q4_K_ref(const float *x, block_q4_K *y, uint64_t n)
{
    uint8_t q[QK_K];
    for (uint64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        quantize_affine_k(x, 15, &y[b].d, &y[b].dmin, y[b].scales, q);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                y[b].qs[32 * c + l] = (uint8_t)(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
}

void glimp_dequantize_row_q4_K_ref(const block_q4_K *x, float *y, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK_K; b++) {
        float d = glimp_fp16_to_fp32(x[b].d);
        float dmin = glimp_fp16_to_fp32(x[b].dmin);
        for (int c = 0; c < 4; c++) {
            uint8_t sc0, m0, sc1, m1;
            glimp_get_scale_min_k4(2 * c, x[b].scales, &sc0, &m0);
            glimp_get_scale_min_k4(2 * c + 1, x[b].scales, &sc1, &m1);
            float d0 = d * (float)sc0, o0 = dmin * (float)m0;
            float d1 = d * (float)sc1, o1 = dmin * (float)m1;
            const uint8_t *qs = x[b].qs + 32 * c;
            for (int l = 0; l < 32; l++) {
                y[l] = d0 * (float)(qs[l] & 15) - o0;
                y[l + 32] = d1 * (float)(qs[l] >> 4) - o1;
            }
            y += 64;
        }
    }
}

/* ------------------------------------------------------------------ Q5_K */

void glimp_quantize_row_q5_K_ref(const float *x, block_q5_K *y, uint64_t n)
{
    uint8_t q[QK_K];
    for (uint64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        quantize_affine_k(x, 31, &y[b].d, &y[b].dmin, y[b].scales, q);
        memset(y[b].qh, 0, sizeof y[b].qh);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int q0 = q[64 * c + l], q1 = q[64 * c + 32 + l];
                y[b].qs[32 * c + l] = (uint8_t)((q0 & 15) | ((q1 & 15) << 4));
                y[b].qh[l] |= (uint8_t)(((q0 >> 4) << (2 * c)) | ((q1 >> 4) << (2 * c + 1)));
            }
        }
    }
}

void glimp_dequantize_row_q5_K_ref(const block_q5_K *x, float *y, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK_K; b++) {
        float d = glimp_fp16_to_fp32(x[b].d);
        float dmin = glimp_fp16_to_fp32(x[b].dmin);
        for (int c = 0; c < 4; c++) {
            uint8_t sc0, m0, sc1, m1;
            glimp_get_scale_min_k4(2 * c, x[b].scales, &sc0, &m0);
            glimp_get_scale_min_k4(2 * c + 1, x[b].scales, &sc1, &m1);
            float d0 = d * (float)sc0, o0 = dmin * (float)m0;
            float d1 = d * (float)sc1, o1 = dmin * (float)m1;
            const uint8_t *qs = x[b].qs + 32 * c;
            for (int l = 0; l < 32; l++) {
                int h0 = (x[b].qh[l] >> (2 * c)) & 1;
                int h1 = (x[b].qh[l] >> (2 * c + 1)) & 1;
                y[l] = d0 * (float)((qs[l] & 15) | (h0 << 4)) - o0;
                y[l + 32] = d1 * (float)((qs[l] >> 4) | (h1 << 4)) - o1;
            }
            y += 64;
        }
    }
}

/* ------------------------------------------------------------------ Q6_K */

/* One Q6_K super-block against a stored d: int8 scales for the fitted s,
 * stored levels u = q + 32 in [0, 63], and the squared error of the values
 * they read back as. */
static float encode_q6_K(const float *x, const float *s, float d, int8_t *ls, uint8_t *u)
{
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    float err = 0.0f;
    for (int j = 0; j < 16; j++) {
        ls[j] = (int8_t)round_clamp(s[j] * id, -128, 127);
        float se = d * (float)ls[j];
        float is = se != 0.0f ? 1.0f / se : 0.0f;
        for (int i = 0; i < 16; i++) {
            float xi = x[16 * j + i];
            int qi = round_clamp(xi * is, -32, 31);
            u[16 * j + i] = (uint8_t)(qi + 32);
            float e = se * (float)qi - xi;
            err += e * e;
        }
    }
    return err;
}

/* Sub-block scales become int8 multiples of an fp16 d chosen so that the
 * largest-magnitude scale lands near -128 (the best of a few fp16
 * neighbours of that d). */
void glimp_quantize_row_q6_K_ref(const float *x, block_q6_K *y, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float s[16], amax = 0.0f, vmax = 0.0f;
        for (int j = 0; j < 16; j++) {
            s[j] = fit_symmetric6(x + 16 * j, 16);
            if (fabsf(s[j]) > amax) {
                amax = fabsf(s[j]);
                vmax = s[j];
            }
        }
        uint16_t cand[2 * D_SEARCH + 1];
        uint16_t hd = glimp_fp32_to_fp16(vmax / -128.0f);
        uint8_t u[QK_K]; /* q + 32, 0..63 */
        float best = INFINITY;
        int nc = d_candidates(hd, cand);
        for (int c = 0; c < nc; c++) {
            float err = encode_q6_K(x, s, glimp_fp16_to_fp32(cand[c]), y[b].scales, u);
            if (err < best) {
                best = err;
                hd = cand[c];
            }
        }
        encode_q6_K(x, s, glimp_fp16_to_fp32(hd), y[b].scales, u);
        y[b].d = hd;
        for (int h = 0; h < 2; h++) {
            const uint8_t *uh = u + 128 * h;
            uint8_t *ql = y[b].ql + 64 * h;
            uint8_t *qh = y[b].qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                int u1 = uh[l], u2 = uh[l + 32], u3 = uh[l + 64], u4 = uh[l + 96];
                ql[l] = (uint8_t)((u1 & 15) | ((u3 & 15) << 4));
                ql[l + 32] = (uint8_t)((u2 & 15) | ((u4 & 15) << 4));
                qh[l] =
                    (uint8_t)((u1 >> 4) | ((u2 >> 4) << 2) | ((u3 >> 4) << 4) | ((u4 >> 4) << 6));
            }
        }
    }
}

void glimp_dequantize_row_q6_K_ref(const block_q6_K *x, float *y, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK_K; b++) {
        float d = glimp_fp16_to_fp32(x[b].d);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[b].ql + 64 * h;
            const uint8_t *qh = x[b].qh + 32 * h;
            const int8_t *sc = x[b].scales + 8 * h;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
            y += 128;
        }
    }
}

/* -------------------------------------------------------------- dispatch */

/* The type's info when glimp converts it and n fits its blocks; otherwise
 * NULL with the error recorded in *err. */
static const struct glimp_type_info *check_args(enum glimp_type type, const void *src,
                                                const void *dst, uint64_t n, const char *what,
                                                int *err)
{
    const struct glimp_type_info *ti = glimp_type_info((uint32_t)type);
    if (!ti || !ti->supported) {
        *err = glimp_error(GLIMP_ERR_UNSUPPORTED, "%s: type %s (%u) not supported", what,
                           ti ? ti->name : "?", (unsigned)type);
        return NULL;
    }
    if (n % ti->block_size != 0) {
        *err = glimp_error(GLIMP_ERR_INVALID,
                           "%s: %llu elements of type %s: not a multiple of its block size %u",
                           what, (unsigned long long)n, ti->name, ti->block_size);
        return NULL;
    }
    if (n > 0 && (!src || !dst)) {
        *err = glimp_error(GLIMP_ERR_INVALID, "%s: NULL buffer", what);
        return NULL;
    }
    return ti;
}

int glimp_quantize(enum glimp_type type, const float *src, void *dst, uint64_t n)
{
    int err = GLIMP_OK;
    if (!check_args(type, src, dst, n, "quantize", &err))
        return err;
    switch (type) {
    case GLIMP_TYPE_F32: memcpy(dst, src, n * sizeof(float)); break;
    case GLIMP_TYPE_F16: glimp_quantize_row_f16_ref(src, dst, n); break;
    case GLIMP_TYPE_BF16: glimp_quantize_row_bf16_ref(src, dst, n); break;
    case GLIMP_TYPE_Q8_0: glimp_quantize_row_q8_0_ref(src, dst, n); break;
    case GLIMP_TYPE_Q4_0: glimp_quantize_row_q4_0_ref(src, dst, n); break;
    case GLIMP_TYPE_Q5_0: glimp_quantize_row_q5_0_ref(src, dst, n); break;
    case GLIMP_TYPE_Q5_1: glimp_quantize_row_q5_1_ref(src, dst, n); break;
    case GLIMP_TYPE_Q4_K: glimp_quantize_row_q4_K_ref(src, dst, n); break;
    case GLIMP_TYPE_Q5_K: glimp_quantize_row_q5_K_ref(src, dst, n); break;
    case GLIMP_TYPE_Q6_K: glimp_quantize_row_q6_K_ref(src, dst, n); break;
    default:
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "quantize: no quantizer for type %u",
                           (unsigned)type);
    }
    return GLIMP_OK;
}

int glimp_dequantize(enum glimp_type type, const void *src, float *dst, uint64_t n)
{
    int err = GLIMP_OK;
    if (!check_args(type, src, dst, n, "dequantize", &err))
        return err;
    switch (type) {
    case GLIMP_TYPE_F32: memcpy(dst, src, n * sizeof(float)); break;
    case GLIMP_TYPE_F16: glimp_dequantize_row_f16_ref(src, dst, n); break;
    case GLIMP_TYPE_BF16: glimp_dequantize_row_bf16_ref(src, dst, n); break;
    case GLIMP_TYPE_Q8_0: glimp_dequantize_row_q8_0_ref(src, dst, n); break;
    case GLIMP_TYPE_Q4_0: glimp_dequantize_row_q4_0_ref(src, dst, n); break;
    case GLIMP_TYPE_Q5_0: glimp_dequantize_row_q5_0_ref(src, dst, n); break;
    case GLIMP_TYPE_Q5_1: glimp_dequantize_row_q5_1_ref(src, dst, n); break;
    case GLIMP_TYPE_Q4_K: glimp_dequantize_row_q4_K_ref(src, dst, n); break;
    case GLIMP_TYPE_Q5_K: glimp_dequantize_row_q5_K_ref(src, dst, n); break;
    case GLIMP_TYPE_Q6_K: glimp_dequantize_row_q6_K_ref(src, dst, n); break;
    default:
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "dequantize: no dequantizer for type %u",
                           (unsigned)type);
    }
    return GLIMP_OK;
}
