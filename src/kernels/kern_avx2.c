/* kern_avx2.c - the "avx2" kernel table: the fast algorithm of kernels.h
 * with AVX2, FMA and F16C, compiled per function (target attributes) so
 * that the library still runs on any x86-64; kernels.c hands this table out
 * only when the CPU has all three. The "avxvnni" table is the same with
 * vpdpbusd in the products of Q8_0, Q4_0, Q5_0 and Q5_1. Bit for bit equal
 * to kern_scalar.c.
 *
 * Matrix products run in tiles of R weight rows times T tokens, holding one
 * 8-lane float accumulator per (row, token): a weight block is loaded and
 * unpacked once for T tokens, an activation block once for R rows, so a
 * batch (prefill) is bound by arithmetic, not by memory. Decoding (one
 * token) streams R = 4 rows at once, four independent accumulator chains,
 * and prefetches rows PF_ROWS ahead, so it runs at the memory's pace. The
 * tile shape never changes the operations of one output. */
#if defined(__x86_64__)

#include "kernels/kernels.h"
#include "kernels/quant.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

/* Clang's pointer-overflow check on every block address of the unrolled
 * tiles makes a sanitizer build of this file take minutes; the scalar
 * table, which computes the same addresses, keeps the check. */
#if defined(__clang__)
#define NO_PTR_CHECK __attribute__((no_sanitize("pointer-overflow")))
#else
#define NO_PTR_CHECK
#endif

#define TGT __attribute__((target("avx2,fma,f16c")))
#define INL static inline __attribute__((always_inline)) TGT NO_PTR_CHECK

/* AVX-VNNI (vpdpbusd on 256 bits) where the compiler knows it. */
#ifdef GLIMP_KERNELS_AVXVNNI
#define HAVE_AVXVNNI 1
#define TGT_VNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#endif

#include "kernels/x86_tiles.h"

static uint16_t rd16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

INL float fp16(const void *p)
{
    return _cvtsh_ss(rd16(p));
}

INL __m256i loadu(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* Weights w times activations a as 8 int32 lanes of four products each:
 * |w| (aw) unsigned, 128 for a Q8_0 level of -128, times a with w's sign
 * (|a| <= 127, so a pair of products stays inside int16 in maddubs). */
INL __m256i dot_s8_abs(__m256i aw, __m256i w, __m256i a)
{
    __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(a, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* --------------------------------------------------------- quantizers */

/* 32 floats to 32 int8 (round to nearest even, clamped as q8_of). */
INL __m256i quant32(const float *x, __m256 id)
{
    __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    __m256i i[4];
    for (int k = 0; k < 4; k++) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id);
        v = _mm256_min_ps(_mm256_max_ps(v, lo), hi); /* NaN -> -127 */
        i[k] = _mm256_cvtps_epi32(v);
    }
    __m256i p01 = _mm256_packs_epi32(i[0], i[1]), p23 = _mm256_packs_epi32(i[2], i[3]);
    __m256i p = _mm256_packs_epi16(p01, p23);
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

INL float amax_of(const float *x, uint32_t n)
{
    __m256 sign = _mm256_set1_ps(-0.0f), m = _mm256_setzero_ps();
    for (uint32_t i = 0; i < n; i += 8)
        m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), m); /* NaN ignored */
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

/* qs, and in q2 |qs| (abs) or qs + 128 as unsigned (the XOR of the sign
 * bit). */
INL void quantize_blocks(const float *x, int8_t *qs, uint8_t *q2, float *d, uint32_t n, uint32_t bs,
                         const int abs)
{
    for (uint32_t b = 0; b < n / bs; b++) {
        float db = amax_of(x + b * bs, bs) / 127.0f;
        float id = db != 0.0f ? 1.0f / db : 0.0f;
        d[b] = db;
        __m256 vid = _mm256_set1_ps(id);
        for (uint32_t i = b * bs; i < (b + 1) * bs; i += 32) {
            __m256i q = quant32(x + i, vid);
            _mm256_storeu_si256((__m256i *)(qs + i), q);
            __m256i v =
                abs ? _mm256_abs_epi8(q) : _mm256_xor_si256(q, _mm256_set1_epi8((char)0x80));
            _mm256_storeu_si256((__m256i *)(q2 + i), v);
        }
    }
}

/* bsum[j] = the sum of qs over elements 32j..32j+31. */
INL void block_sums(const int8_t *qs, int16_t *bsum, uint32_t n)
{
    for (uint32_t j = 0; j < n / 32; j++) {
        __m256i p = _mm256_maddubs_epi16(_mm256_set1_epi8(1), loadu(qs + 32 * j));
        p = _mm256_madd_epi16(p, _mm256_set1_epi16(1));
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        bsum[j] = (int16_t)hsum_epi32x4(s);
    }
}

TGT static void quantize_q8(const float *x, void *y, uint32_t n)
{
    int8_t *qs = y;
    float *d = (float *)(qs + 2 * (size_t)n);
    quantize_blocks(x, qs, (uint8_t *)qs + n, d, n, 32, 0);
    block_sums(qs, (int16_t *)(d + n / 32), n);
}

TGT static void quantize_q8k(const float *x, void *y, uint32_t n)
{
    int8_t *qs = y;
    float *d = (float *)(qs + 2 * (size_t)n);
    quantize_blocks(x, qs, (uint8_t *)qs + n, d, n, 256, 1);
    block_sums(qs, (int16_t *)(d + n / 256), n);
}

/* ------------------------------------------- Q8_0, Q4_0, Q5_0, Q5_1 */

/* 0x10 in the bytes whose fifth bit qh holds (element e: bit e of the
 * 32-bit field): each byte gets its qh byte, ORed with all bits but its
 * own; all ones then means the bit was set. */
INL __m256i q5_high(const uint8_t *qh)
{
    uint32_t x32;
    memcpy(&x32, qh, sizeof x32);
    __m256i bytes = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)x32),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    __m256i set = _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

/* Block b of a row: the 32 levels as stored (Q8_0 signed, else unsigned:
 * 0..15, 0..31), its scale d and, for Q5_1, its offset m. */
INL __m256i w32(const int kind, const uint8_t *row, uint32_t b, float *d, float *m)
{
    const uint8_t *blk = row + b32_bytes[kind] * b;
    *d = fp16(blk);
    if (kind == K_Q8_0)
        return loadu(blk + 2);
    const uint8_t *qs = blk + (kind == K_Q4_0 ? 2 : kind == K_Q5_0 ? 6 : 8);
    __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    __m256i q =
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(15));
    if (kind == K_Q4_0)
        return q;
    if (kind == K_Q5_1)
        *m = fp16(blk + 2);
    return _mm256_or_si256(q, q5_high(blk + (kind == K_Q5_0 ? 2 : 4)));
}

/* R rows from r times T tokens from x (already at the first token).
 * Lane sums: Q8_0 |w| unsigned times a with w's sign (w may be -128);
 * others q unsigned times a, less off * (a's lane sums) taken once per
 * token. */
INL void tile_b32(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                  const int T, float *y, size_t ldy, const int kind)
{
    uint32_t n = w->n_in;
    const uint8_t *row[4];
    struct arow a[8];
    __m256 acc[4][8];
    float accm[4][8];
    const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
        row[i] = (const uint8_t *)w->data + (size_t)(r + i) * w->row_bytes;
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
        a[t] = arow_at(x, xs, (uint32_t)t, n);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            acc[i][t] = _mm256_setzero_ps();
            accm[i][t] = 0.0f;
        }
    }
    for (uint32_t b = 0; b < n / 32; b++) {
        __m256i wq[4], aw[4];
        __m256 dw[4];
        float mw[4];
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            float d;
            prefetch_ahead(row[i] + b32_bytes[kind] * b, w->row_bytes, 1);
            wq[i] = w32(kind, row[i], b, &d, &mw[i]);
            aw[i] = kind == K_Q8_0 ? _mm256_abs_epi8(wq[i]) : wq[i];
            dw[i] = _mm256_set1_ps(d);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) {
            __m256i av = loadu(a[t].q + 32 * (size_t)b);
            __m256 da = _mm256_broadcast_ss(a[t].d + b);
            __m256i aoff =
                B32_OFF(kind) ? _mm256_madd_epi16(
                                    _mm256_maddubs_epi16(_mm256_set1_epi8(B32_OFF(kind)), av), ones)
                              : _mm256_setzero_si256();
#pragma GCC unroll 4
            for (int i = 0; i < R; i++) {
                __m256i ip =
                    kind == K_Q8_0
                        ? dot_s8_abs(aw[i], wq[i], av)
                        : _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(wq[i], av), ones),
                                           aoff);
                __m256 p = _mm256_cvtepi32_ps(ip);
                acc[i][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw[i], da), p, acc[i][t]);
                if (kind == K_Q5_1) {
                    const int16_t *bsum = (const int16_t *)(a[t].d + n / 32);
                    accm[i][t] = fmaf(mw[i] * a[t].d[b], (float)bsum[b], accm[i][t]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++)
#pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            y[(size_t)t * ldy + r + i] = hsum8(acc[i][t]) + (kind == K_Q5_1 ? accm[i][t] : 0.0f);
}

INL void tile_q8_0(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                   const int T, float *y, size_t ldy)
{
    tile_b32(w, r, R, x, xs, T, y, ldy, K_Q8_0);
}

INL void tile_q4_0(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                   const int T, float *y, size_t ldy)
{
    tile_b32(w, r, R, x, xs, T, y, ldy, K_Q4_0);
}

INL void tile_q5_0(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                   const int T, float *y, size_t ldy)
{
    tile_b32(w, r, R, x, xs, T, y, ldy, K_Q5_0);
}

INL void tile_q5_1(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                   const int T, float *y, size_t ldy)
{
    tile_b32(w, r, R, x, xs, T, y, ldy, K_Q5_1);
}

#ifdef HAVE_AVXVNNI
/* tile_b32 with vpdpbusd, which multiplies unsigned by signed bytes and
 * adds four products into each int32 lane. Q8_0: (a + 128) * w = a * w +
 * 128 * w (a + 128 is stored with the activations), from a start of -128 *
 * (w's lane sums). Others: q * a with the stored unsigned levels, from a
 * start of -off * (a's lane sums). Either gives the exact lane sums of
 * maddubs/madd in one instruction per row and token. */
static inline __attribute__((always_inline)) TGT_VNNI NO_PTR_CHECK void
tile_b32_vnni(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
              const int T, float *y, size_t ldy, const int kind)
{
    uint32_t n = w->n_in;
    const uint8_t *row[4];
    struct arow a[8];
    __m256 acc[4][8];
    float accm[4][8];
    const __m256i c128 = _mm256_set1_epi8((char)0x80), zero = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
        row[i] = (const uint8_t *)w->data + (size_t)(r + i) * w->row_bytes;
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
        a[t] = arow_at(x, xs, (uint32_t)t, n);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            acc[i][t] = _mm256_setzero_ps();
            accm[i][t] = 0.0f;
        }
    }
    for (uint32_t b = 0; b < n / 32; b++) {
        __m256i wq[4], corr[4];
        __m256 dw[4];
        float mw[4];
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            float d;
            prefetch_ahead(row[i] + b32_bytes[kind] * b, w->row_bytes, 1);
            wq[i] = w32(kind, row[i], b, &d, &mw[i]);
            corr[i] = kind == K_Q8_0
                          ? _mm256_sub_epi32(zero, _mm256_dpbusd_avx_epi32(zero, c128, wq[i]))
                          : zero;
            dw[i] = _mm256_set1_ps(d);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) {
            __m256 da = _mm256_broadcast_ss(a[t].d + b);
            __m256i av =
                kind == K_Q8_0 ? loadu(a[t].q2 + 32 * (size_t)b) : loadu(a[t].q + 32 * (size_t)b);
            __m256i aoff =
                B32_OFF(kind)
                    ? _mm256_sub_epi32(
                          zero, _mm256_dpbusd_avx_epi32(zero, _mm256_set1_epi8(B32_OFF(kind)), av))
                    : zero;
#pragma GCC unroll 4
            for (int i = 0; i < R; i++) {
                __m256i ip = kind == K_Q8_0 ? _mm256_dpbusd_avx_epi32(corr[i], av, wq[i])
                                            : _mm256_dpbusd_avx_epi32(aoff, wq[i], av);
                __m256 p = _mm256_cvtepi32_ps(ip);
                acc[i][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw[i], da), p, acc[i][t]);
                if (kind == K_Q5_1) {
                    const int16_t *bsum = (const int16_t *)(a[t].d + n / 32);
                    accm[i][t] = fmaf(mw[i] * a[t].d[b], (float)bsum[b], accm[i][t]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++)
#pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            y[(size_t)t * ldy + r + i] = hsum8(acc[i][t]) + (kind == K_Q5_1 ? accm[i][t] : 0.0f);
}

#define VNNI_TILE(name, kind)                                                                      \
    static inline __attribute__((always_inline)) TGT_VNNI NO_PTR_CHECK void tile_##name##_vnni(    \
        const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,             \
        const int T, float *y, size_t ldy)                                                         \
    {                                                                                              \
        tile_b32_vnni(w, r, R, x, xs, T, y, ldy, kind);                                            \
    }
VNNI_TILE(q8_0, K_Q8_0)
VNNI_TILE(q4_0, K_Q4_0)
VNNI_TILE(q5_0, K_Q5_0)
VNNI_TILE(q5_1, K_Q5_1)
#endif

/* ----------------------------------------------------- Q4_K and Q5_K */

/* The eight 6-bit scales and mins of a Q4_K/Q5_K block as bytes: out[0..7]
 * scales, out[8..15] mins (glimp_get_scale_min_k4, four at a time). */
INL __m128i k4_scales_mins(const uint8_t *s)
{
    uint32_t u[4];
    memcpy(u, s, 12);
    const uint32_t m1 = 0x3f3f3f3f, m2 = 0x0f0f0f0f, m3 = 0x03030303;
    u[3] = ((u[2] >> 4) & m2) | (((u[1] >> 6) & m3) << 4);
    uint32_t mins_lo = u[1] & m1;
    u[1] = (u[2] & m2) | (((u[0] >> 6) & m3) << 4);
    u[2] = mins_lo;
    u[0] &= m1;
    return _mm_set_epi32((int)u[3], (int)u[2], (int)u[1], (int)u[0]);
}

INL void tile_q45_K(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                    const int T, float *y, size_t ldy, const int five)
{
    uint32_t n = w->n_in;
    const size_t bb = five ? sizeof(block_q5_K) : sizeof(block_q4_K);
    const uint8_t *row[4];
    struct arow a[8];
    const int16_t *bsum[8];
    __m256 acc[4][8];
    float accm[4][8];
    const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
        row[i] = (const uint8_t *)w->data + (size_t)(r + i) * w->row_bytes;
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
        a[t] = arow_at(x, xs, (uint32_t)t, n);
        bsum[t] = (const int16_t *)(a[t].d + n / 256);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            acc[i][t] = _mm256_setzero_ps();
            accm[i][t] = 0.0f;
        }
    }
    for (uint32_t b = 0; b < n / 256; b++) {
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            const uint8_t *blk = row[i] + bb * b;
            const uint8_t *qs = blk + (five ? 48 : 16);
            prefetch_ahead(blk, w->row_bytes, bb);
            __m256i qh = five ? loadu(blk + 16) : _mm256_setzero_si256();
            __m256i sm = _mm256_cvtepu8_epi16(k4_scales_mins(blk + 4));
            __m256i sc = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(sm));
            __m128i mins = _mm256_extracti128_si256(sm, 1);
            float d = fp16(blk), dmin = fp16(blk + 2);
            __m256i isum[8];
#pragma GCC unroll 8
            for (int t = 0; t < T; t++)
                isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) {
                __m256i bits = loadu(qs + 32 * c);
                __m256i qlo = _mm256_and_si256(bits, m4);
                __m256i qhi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                if (five) {
                    __m256i hlo = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one);
                    __m256i hhi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one);
                    qlo = _mm256_or_si256(qlo, _mm256_slli_epi16(hlo, 4));
                    qhi = _mm256_or_si256(qhi, _mm256_slli_epi16(hhi, 4));
                }
                __m256i slo = _mm256_shuffle_epi8(sc, loadu(shuf_k4[2 * c]));
                __m256i shi = _mm256_shuffle_epi8(sc, loadu(shuf_k4[2 * c + 1]));
#pragma GCC unroll 8
                for (int t = 0; t < T; t++) {
                    const int8_t *aq = a[t].q + 256 * (size_t)b + 64 * c;
                    __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(qlo, loadu(aq)), slo);
                    __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(qhi, loadu(aq + 32)), shi);
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(plo, phi));
                }
            }
#pragma GCC unroll 8
            for (int t = 0; t < T; t++) {
                float da = a[t].d[b];
                __m128i bs = _mm_loadu_si128((const __m128i *)(bsum[t] + 8 * (size_t)b));
                int imin = hsum_epi32x4(_mm_madd_epi16(mins, bs));
                acc[i][t] =
                    _mm256_fmadd_ps(_mm256_set1_ps(d * da), _mm256_cvtepi32_ps(isum[t]), acc[i][t]);
                accm[i][t] = fmaf(dmin * da, (float)imin, accm[i][t]);
            }
        }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++)
#pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            y[(size_t)t * ldy + r + i] = hsum8(acc[i][t]) - accm[i][t];
}

INL void tile_q4_K(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                   const int T, float *y, size_t ldy)
{
    tile_q45_K(w, r, R, x, xs, T, y, ldy, 0);
}

INL void tile_q5_K(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                   const int T, float *y, size_t ldy)
{
    tile_q45_K(w, r, R, x, xs, T, y, ldy, 1);
}

/* --------------------------------------------------------------- Q6_K */

INL void tile_q6_K(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                   const int T, float *y, size_t ldy)
{
    uint32_t n = w->n_in;
    const uint8_t *row[4];
    struct arow a[8];
    __m256 acc[4][8];
    const __m256i m4 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3), c32 = _mm256_set1_epi8(32);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
        row[i] = (const uint8_t *)w->data + (size_t)(r + i) * w->row_bytes;
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
        a[t] = arow_at(x, xs, (uint32_t)t, n);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            acc[i][t] = _mm256_setzero_ps();
    }
    for (uint32_t b = 0; b < n / 256; b++) {
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            const block_q6_K *blk = (const block_q6_K *)(row[i] + sizeof(block_q6_K) * b);
            prefetch_ahead((const uint8_t *)blk, w->row_bytes, sizeof *blk);
            __m128i s8 = _mm_loadu_si128((const __m128i *)blk->scales);
            float d = fp16(&blk->d);
            __m256i isum[8];
#pragma GCC unroll 8
            for (int t = 0; t < T; t++)
                isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                __m256i l0 = loadu(blk->ql + 64 * h), l1 = loadu(blk->ql + 64 * h + 32);
                __m256i hb = loadu(blk->qh + 32 * h);
#pragma GCC unroll 4
                for (int k = 0; k < 4; k++) {
                    /* group k: low nibbles of l0, l1, then high nibbles; qh bits 2k, 2k+1 */
                    __m256i lo = k & 2 ? _mm256_srli_epi16(k & 1 ? l1 : l0, 4) : (k & 1 ? l1 : l0);
                    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * k), m3);
                    __m256i q = _mm256_or_si256(_mm256_and_si256(lo, m4), _mm256_slli_epi16(hi, 4));
                    q = _mm256_sub_epi8(q, c32);
                    int g = 4 * h + k;
                    __m256i sv = _mm256_cvtepi8_epi16(
                        _mm_shuffle_epi8(s8, _mm_loadu_si128((const __m128i *)shuf_k6[g])));
#pragma GCC unroll 8
                    for (int t = 0; t < T; t++) {
                        size_t off = 256 * (size_t)b + 32 * (size_t)g;
                        __m256i p = _mm256_maddubs_epi16(loadu(a[t].q2 + off),
                                                         _mm256_sign_epi8(q, loadu(a[t].q + off)));
                        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p, sv));
                    }
                }
            }
#pragma GCC unroll 8
            for (int t = 0; t < T; t++)
                acc[i][t] = _mm256_fmadd_ps(_mm256_set1_ps(d * a[t].d[b]),
                                            _mm256_cvtepi32_ps(isum[t]), acc[i][t]);
        }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++)
#pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            y[(size_t)t * ldy + r + i] = hsum8(acc[i][t]);
}

/* ------------------------------------------------------ F32, F16, BF16 */

/* Eight weights from element i of a row (kind 0 F32, 1 F16, 2 BF16). */
INL __m256 w8(const uint8_t *row, uint32_t i, const int kind)
{
    if (kind == 0)
        return _mm256_loadu_ps((const float *)(const void *)(row + 4 * (size_t)i));
    __m128i h = _mm_loadu_si128((const __m128i *)(row + 2 * (size_t)i));
    if (kind == 1)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

INL void tile_float(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                    const int T, float *y, size_t ldy, const int kind)
{
    uint32_t n = w->n_in, n8 = n & ~7u;
    const size_t es = kind == 0 ? 4 : 2;
    const uint8_t *row[4];
    const float *xf[8];
    __m256 acc[4][8];
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
        row[i] = (const uint8_t *)w->data + (size_t)(r + i) * w->row_bytes;
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
        xf[t] = (const float *)(const void *)(x + (size_t)t * xs);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            acc[i][t] = _mm256_setzero_ps();
    }
    for (uint32_t e = 0; e < n8; e += 8) {
        __m256 wv[4];
        if (((es * e) & 63) == 0) /* a cache line of each row */
#pragma GCC unroll 4
            for (int i = 0; i < R; i++)
                prefetch_ahead(row[i] + es * e, w->row_bytes, 1);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            wv[i] = w8(row[i], e, kind);
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) {
            __m256 xv = _mm256_loadu_ps(xf[t] + e);
#pragma GCC unroll 4
            for (int i = 0; i < R; i++)
                acc[i][t] = _mm256_fmadd_ps(wv[i], xv, acc[i][t]);
        }
    }
    if (n8 < n) {
        /* The last n % 8 elements, zero-padded: fma(0, 0, acc) is acc (an
         * accumulator that starts at +0 never becomes -0). */
        uint8_t wt[4][32];
        float xt[8][8];
        __m256 wv[4];
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            memset(wt[i], 0, sizeof wt[i]);
            memcpy(wt[i], row[i] + es * n8, es * (n - n8));
            wv[i] = w8(wt[i], 0, kind);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) {
            memset(xt[t], 0, sizeof xt[t]);
            memcpy(xt[t], xf[t] + n8, 4 * (size_t)(n - n8));
            __m256 xv = _mm256_loadu_ps(xt[t]);
#pragma GCC unroll 4
            for (int i = 0; i < R; i++)
                acc[i][t] = _mm256_fmadd_ps(wv[i], xv, acc[i][t]);
        }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++)
#pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            y[(size_t)t * ldy + r + i] = hsum8(acc[i][t]);
}

INL void tile_f32(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                  const int T, float *y, size_t ldy)
{
    tile_float(w, r, R, x, xs, T, y, ldy, 0);
}

INL void tile_f16(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                  const int T, float *y, size_t ldy)
{
    tile_float(w, r, R, x, xs, T, y, ldy, 1);
}

INL void tile_bf16(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                   const int T, float *y, size_t ldy)
{
    tile_float(w, r, R, x, xs, T, y, ldy, 2);
}

/* ------------------------------------------------------------ drivers */

/* Q8_0, Q4_0, Q5_0, Q5_1: decode 4 rows; batches 2 rows x 8 tokens */
SHAPE(TGT, q8_0, 4, 1)
SHAPE(TGT, q8_0, 1, 1)
SHAPE(TGT, q8_0, 2, 8)
SHAPE(TGT, q8_0, 1, 8)
SHAPE(TGT, q8_0, 1, 4)
DEFINE_MM(TGT, q8_0, 4, 2, 8)
SHAPE(TGT, q4_0, 4, 1)
SHAPE(TGT, q4_0, 1, 1)
SHAPE(TGT, q4_0, 2, 8)
SHAPE(TGT, q4_0, 1, 8)
SHAPE(TGT, q4_0, 1, 4)
DEFINE_MM(TGT, q4_0, 4, 2, 8)
SHAPE(TGT, q5_0, 4, 1)
SHAPE(TGT, q5_0, 1, 1)
SHAPE(TGT, q5_0, 2, 8)
SHAPE(TGT, q5_0, 1, 8)
SHAPE(TGT, q5_0, 1, 4)
DEFINE_MM(TGT, q5_0, 4, 2, 8)
SHAPE(TGT, q5_1, 4, 1)
SHAPE(TGT, q5_1, 1, 1)
SHAPE(TGT, q5_1, 2, 8)
SHAPE(TGT, q5_1, 1, 8)
SHAPE(TGT, q5_1, 1, 4)
DEFINE_MM(TGT, q5_1, 4, 2, 8)

/* K-quants: decode 4 rows; batches a row x 4 tokens (a super-block's
 * unpacked levels and scales take registers) */
SHAPE(TGT, q4_K, 4, 1)
SHAPE(TGT, q4_K, 1, 1)
SHAPE(TGT, q4_K, 1, 4)
DEFINE_MM(TGT, q4_K, 4, 1, 4)
SHAPE(TGT, q5_K, 4, 1)
SHAPE(TGT, q5_K, 1, 1)
SHAPE(TGT, q5_K, 1, 4)
DEFINE_MM(TGT, q5_K, 4, 1, 4)
SHAPE(TGT, q6_K, 4, 1)
SHAPE(TGT, q6_K, 1, 1)
SHAPE(TGT, q6_K, 1, 4)
DEFINE_MM(TGT, q6_K, 4, 1, 4)

/* F32, F16, BF16: decode 4 rows; batches 3 rows x 4 tokens (12 accumulators) */
SHAPE(TGT, f32, 4, 1)
SHAPE(TGT, f32, 1, 1)
SHAPE(TGT, f32, 3, 4)
SHAPE(TGT, f32, 1, 4)
DEFINE_MM(TGT, f32, 4, 3, 4)
SHAPE(TGT, f16, 4, 1)
SHAPE(TGT, f16, 1, 1)
SHAPE(TGT, f16, 3, 4)
SHAPE(TGT, f16, 1, 4)
DEFINE_MM(TGT, f16, 4, 3, 4)
SHAPE(TGT, bf16, 4, 1)
SHAPE(TGT, bf16, 1, 1)
SHAPE(TGT, bf16, 3, 4)
SHAPE(TGT, bf16, 1, 4)
DEFINE_MM(TGT, bf16, 4, 3, 4)

#ifdef HAVE_AVXVNNI
/* with vpdpbusd: Q8_0 a row x 8 tokens, the others 2 rows x 8 tokens */
SHAPE(TGT_VNNI, q8_0_vnni, 4, 1)
SHAPE(TGT_VNNI, q8_0_vnni, 1, 1)
SHAPE(TGT_VNNI, q8_0_vnni, 1, 8)
SHAPE(TGT_VNNI, q8_0_vnni, 1, 4)
DEFINE_MM(TGT_VNNI, q8_0_vnni, 4, 1, 8)
SHAPE(TGT_VNNI, q4_0_vnni, 4, 1)
SHAPE(TGT_VNNI, q4_0_vnni, 1, 1)
SHAPE(TGT_VNNI, q4_0_vnni, 2, 8)
SHAPE(TGT_VNNI, q4_0_vnni, 1, 8)
SHAPE(TGT_VNNI, q4_0_vnni, 1, 4)
DEFINE_MM(TGT_VNNI, q4_0_vnni, 4, 2, 8)
SHAPE(TGT_VNNI, q5_0_vnni, 4, 1)
SHAPE(TGT_VNNI, q5_0_vnni, 1, 1)
SHAPE(TGT_VNNI, q5_0_vnni, 2, 8)
SHAPE(TGT_VNNI, q5_0_vnni, 1, 8)
SHAPE(TGT_VNNI, q5_0_vnni, 1, 4)
DEFINE_MM(TGT_VNNI, q5_0_vnni, 4, 2, 8)
SHAPE(TGT_VNNI, q5_1_vnni, 4, 1)
SHAPE(TGT_VNNI, q5_1_vnni, 1, 1)
SHAPE(TGT_VNNI, q5_1_vnni, 2, 8)
SHAPE(TGT_VNNI, q5_1_vnni, 1, 8)
SHAPE(TGT_VNNI, q5_1_vnni, 1, 4)
DEFINE_MM(TGT_VNNI, q5_1_vnni, 4, 2, 8)
#endif

/* ------------------------------------------------------ exp, attention */

/* glimp_exp_poly on eight lanes, step for step. */
INL __m256 exp8(__m256 x)
{
    x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x); /* NaN stays NaN */
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

#define ATT_MAXD 256 /* head sizes handled here; others go to the scalar table */
#define ATT_KB 4     /* positions whose key rows every head of a group takes in turn */
#define ATT_VB 32    /* positions whose value rows (8 KiB of 64 floats) every head takes in turn */
#define ATT_MAXQ 16  /* heads of a group done together (their 1 / sums kept here) */

/* Scores of one head against ATT_KB key rows from k0, times scale, into sc. */
INL void att_scores4(const float *q, const float *k0, size_t stride, uint32_t hd, float scale,
                     float *sc)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (uint32_t i = 0; i < hd; i += 8) {
        __m256 qv = _mm256_loadu_ps(q + i);
        s0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + i), s0);
        s1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + stride + i), s1);
        s2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 2 * stride + i), s2);
        s3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 3 * stride + i), s3);
    }
    sc[0] = hsum8(s0) * scale;
    sc[1] = hsum8(s1) * scale;
    sc[2] = hsum8(s2) * scale;
    sc[3] = hsum8(s3) * scale;
}

/* The softmax of one head's scores in place (exp(s - max), the sum in
 * eight lanes); returns 1 / the sum. */
INL float att_softmax(float *scores, uint32_t n_pos)
{
    float max = -INFINITY;
    for (uint32_t j = 0; j < n_pos; j++)
        max = scores[j] > max ? scores[j] : max;
    __m256 vmax = _mm256_set1_ps(max), sum = _mm256_setzero_ps();
    uint32_t j = 0;
    for (; j + 8 <= n_pos; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + j), vmax));
        _mm256_storeu_ps(scores + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (j < n_pos) {
        /* lanes past n_pos add +0, as lanes the scalar code never touches */
        float tail[8] = {0};
        uint32_t m = n_pos - j;
        memcpy(tail, scores + j, 4 * (size_t)m);
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(tail), vmax));
        _mm256_storeu_ps(tail, e);
        memcpy(scores + j, tail, 4 * (size_t)m);
        memset(tail + m, 0, 4 * (size_t)(8 - m));
        sum = _mm256_add_ps(sum, _mm256_loadu_ps(tail));
    }
    return 1.0f / hsum8(sum);
}

/* o[u] (nv vectors) += p[j] * v row j over positions [j0, j1) in order. */
INL void att_values(__m256 o[8], uint32_t nv, const float *p, const float *v, size_t stride,
                    uint32_t j0, uint32_t j1)
{
    if (nv == 8) {
        for (uint32_t j = j0; j < j1; j++) {
            __m256 pj = _mm256_broadcast_ss(p + j);
            const float *vj = v + j * stride;
#pragma GCC unroll 8
            for (uint32_t u = 0; u < 8; u++)
                o[u] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8 * u), o[u]);
        }
        return;
    }
    for (uint32_t j = j0; j < j1; j++) {
        __m256 pj = _mm256_broadcast_ss(p + j);
        const float *vj = v + j * stride;
        for (uint32_t u = 0; u < nv; u++)
            o[u] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8 * u), o[u]);
    }
}

/* The heads of a group in turn over each block of key rows, then of value
 * rows, so that a block is read from memory once and from L1 by every
 * head; each head's operations are those of kern_scalar.c's attention in
 * its order (the value sums of a head wait in out between blocks). */
TGT static void attn_avx2(const float *q, uint32_t n_q, const float *k, const float *v,
                          size_t stride, uint32_t n_pos, uint32_t hd, float *scores, float *out)
{
    if (hd % 8 != 0 || hd > ATT_MAXD) {
        glimp_kernels_scalar.attn(q, n_q, k, v, stride, n_pos, hd, scores, out);
        return;
    }
    for (; n_q > ATT_MAXQ; n_q -= ATT_MAXQ, q += ATT_MAXQ * hd, out += ATT_MAXQ * hd)
        attn_avx2(q, ATT_MAXQ, k, v, stride, n_pos, hd, scores, out);
    float scale = 1.0f / sqrtf((float)hd);
    uint32_t j = 0;
    for (; j + ATT_KB <= n_pos; j += ATT_KB)
        for (uint32_t h = 0; h < n_q; h++)
            att_scores4(q + h * hd, k + j * stride, stride, hd, scale,
                        scores + (size_t)h * n_pos + j);
    for (; j < n_pos; j++)
        for (uint32_t h = 0; h < n_q; h++) {
            __m256 s0 = _mm256_setzero_ps();
            for (uint32_t i = 0; i < hd; i += 8)
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * hd + i),
                                     _mm256_loadu_ps(k + j * stride + i), s0);
            scores[(size_t)h * n_pos + j] = hsum8(s0) * scale;
        }
    float inv[ATT_MAXQ];
    for (uint32_t h = 0; h < n_q; h++)
        inv[h] = att_softmax(scores + (size_t)h * n_pos, n_pos);

    for (uint32_t d0 = 0; d0 < hd; d0 += 64) {
        uint32_t nv = hd - d0 < 64 ? (hd - d0) / 8 : 8;
        for (uint32_t j0 = 0; j0 < n_pos; j0 += ATT_VB) {
            uint32_t j1 = n_pos - j0 < ATT_VB ? n_pos : j0 + ATT_VB;
            for (uint32_t h = 0; h < n_q; h++) {
                float *oh = out + h * hd + d0;
                __m256 o[8];
                for (uint32_t u = 0; u < nv; u++)
                    o[u] = j0 ? _mm256_loadu_ps(oh + 8 * u) : _mm256_setzero_ps();
                att_values(o, nv, scores + (size_t)h * n_pos, v + d0, stride, j0, j1);
                __m256 f = _mm256_set1_ps(j1 == n_pos ? inv[h] : 1.0f);
                for (uint32_t u = 0; u < nv; u++)
                    _mm256_storeu_ps(oh + 8 * u, j1 == n_pos ? _mm256_mul_ps(o[u], f) : o[u]);
            }
        }
    }
}

TGT static void silu_mul_avx2(float *g, const float *u, size_t n)
{
    size_t i = 0;
    __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(g + i);
        __m256 e = exp8(_mm256_xor_ps(x, sign));
        __m256 s = _mm256_div_ps(x, _mm256_add_ps(one, e));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    if (i < n)
        glimp_kernels_scalar.silu_mul(g + i, u + i, n - i);
}

/* What the avx2 and avxvnni tables share: the activations each weight type
 * is multiplied with and their quantizers, attention and silu. */
#define AVX2_ACTIVATIONS                                                                           \
    .act = GLIMP_KERNELS_ACT,                                                                      \
    .quantize = {[GLIMP_ACT_Q8] = quantize_q8, [GLIMP_ACT_Q8K] = quantize_q8k}, .attn = attn_avx2, \
    .silu_mul = silu_mul_avx2

const struct glimp_kernels glimp_kernels_avx2 = {
    .name = "avx2",
    AVX2_ACTIVATIONS,
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
};

#ifdef HAVE_AVXVNNI
/* The avx2 table with vpdpbusd in the products of the 32-blocks types. */
const struct glimp_kernels glimp_kernels_avxvnni = {
    .name = "avxvnni",
    AVX2_ACTIVATIONS,
    .matmul =
        {
            [GLIMP_TYPE_F32] = mm_f32,
            [GLIMP_TYPE_F16] = mm_f16,
            [GLIMP_TYPE_BF16] = mm_bf16,
            [GLIMP_TYPE_Q8_0] = mm_q8_0_vnni,
            [GLIMP_TYPE_Q4_0] = mm_q4_0_vnni,
            [GLIMP_TYPE_Q5_0] = mm_q5_0_vnni,
            [GLIMP_TYPE_Q5_1] = mm_q5_1_vnni,
            [GLIMP_TYPE_Q4_K] = mm_q4_K,
            [GLIMP_TYPE_Q5_K] = mm_q5_K,
            [GLIMP_TYPE_Q6_K] = mm_q6_K,
        },
};
#endif

#endif /* __x86_64__ */
