/* kern_avx512.c - the "avx512" kernel table: the fast algorithm of
 * kernels.h with AVX-512 F, BW, VL and VNNI (and AVX2, FMA, F16C), compiled
 * per function (target attributes) so that the library still runs on any
 * x86-64; kernels.c hands this table out only when the CPU and the OS
 * support all of them. Bit for bit equal to kern_scalar.c and kern_avx2.c.
 *
 * Each 8-lane float accumulator of the contract is a chain of its own, so
 * one zmm register holds two of them: a "pair" of chains, in lanes 0..7 and
 * 8..15. A tile of R weight rows times T tokens has R * T chains, chain c
 * being row c / T and token c % T, and pair p holds chains 2p and 2p + 1
 * (with an odd count, the last pair holds its chain twice and the upper
 * half is dropped). With T even a pair is two tokens of one row (batches),
 * with T = 1 two rows of one token (decoding). Every lane still does
 * exactly the fmaf of the contract; the integer lane sums come from
 * vpdpbusd (types with blocks of 32) or from maddubs and vpdpwssd on 512
 * bits (K-quants), exact either way.
 *
 * Compiled a second time by tests/kern_avx512_emu.c with
 * GLIMP_AVX512_EMULATE defined: then SIMDe's portable AVX-512 stands in for
 * the instructions and the table is "avx512-emulated", which the tests run
 * on every machine. */
#if defined(GLIMP_AVX512_EMULATE) || defined(__x86_64__)

#include "kernels/kernels.h"
#include "kernels/quant.h"

#include <math.h>
#include <string.h>

#ifdef GLIMP_AVX512_EMULATE
/* the includer has provided the intrinsics (tests/simde_avx512.h) */
#define TGT
#define TABLE glimp_kernels_avx512_emulated
#define TABLE_NAME "avx512-emulated"
/* what the table does not compute itself: the portable versions */
#define BASE glimp_kernels_scalar
#else
#include <immintrin.h>
#define TGT __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define TABLE glimp_kernels_avx512
#define TABLE_NAME "avx512"
#define BASE glimp_kernels_avx2
#endif

/* As in kern_avx2.c: the sanitizer's pointer-overflow check on every block
 * address of the unrolled tiles costs minutes of compile time. */
#if defined(__clang__)
#define NO_PTR_CHECK __attribute__((no_sanitize("pointer-overflow")))
#else
#define NO_PTR_CHECK
#endif

#define INL static inline __attribute__((always_inline)) TGT NO_PTR_CHECK

#include "kernels/x86_tiles.h"

INL float fp16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(v)));
}

INL __m256i loadu(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* Two chains side by side: lo in lanes 0..7, hi in lanes 8..15. */
INL __m512 pair_ps(__m256 lo, __m256 hi)
{
    __m512d v = _mm512_castpd256_pd512(_mm256_castps_pd(lo));
    return _mm512_castpd_ps(_mm512_insertf64x4(v, _mm256_castps_pd(hi), 1));
}

INL __m512i pair_si(__m256i lo, __m256i hi)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

INL __m512 pair_set1(float lo, float hi)
{
    return _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(lo), _mm512_set1_ps(hi));
}

/* int32 to float, lane for lane (exact below 2^24). */
INL __m512 cvt_ps(__m512i v)
{
    return _mm512_cvtepi32_ps(v);
}

/* The two chains of a pair, each combined as the contract says. */
INL float hsum_lo(__m512 v)
{
    return hsum8(_mm512_castps512_ps256(v));
}

INL float hsum_hi(__m512 v)
{
    return hsum8(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* The chains of pair p in a tile of R rows x T tokens: c0 = 2p, and c1 =
 * 2p + 1, or c0 again past the last chain. */
#define PAIR_C1(p, R, T) (2 * (p) + 1 < (R) * (T) ? 2 * (p) + 1 : 2 * (p))

/* ------------------------------------------- Q8_0, Q4_0, Q5_0, Q5_1 */

/* Block b of a row: the 32 levels as stored (Q8_0 signed, else unsigned:
 * 0..15, 0..31), byte e holding element e; its scale d and, for Q5_1, its
 * offset m. The fifth bits of Q5 are a 32-bit mask, element e in bit e. */
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
    uint32_t qh;
    memcpy(&qh, blk + (kind == K_Q5_0 ? 2 : 4), sizeof qh);
    return _mm256_mask_blend_epi8(qh, q, _mm256_or_si256(q, _mm256_set1_epi8(0x10)));
}

/* R rows from r times T tokens from x (already at the first token), with
 * vpdpbusd (unsigned bytes times signed bytes, four products into each
 * int32 lane). Q8_0: (a + 128) * w, stored with the activations, from a
 * start of -128 * (w's lane sums). Others: the unsigned levels times a,
 * from a start of -off * (a's lane sums). Both are the exact lane sums of
 * the contract. */
INL void tile_b32(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                  const int T, float *y, size_t ldy, const int kind)
{
    const uint32_t n = w->n_in;
    const int NP = (R * T + 1) / 2;
    const uint8_t *row[4];
    struct arow a[8];
    __m512 acc[8];
    float accm[16];
    const __m256i zero = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
        row[i] = (const uint8_t *)w->data + (size_t)(r + i) * w->row_bytes;
#pragma GCC unroll 8
    for (int t = 0; t < T; t++)
        a[t] = arow_at(x, xs, (uint32_t)t, n);
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++)
        acc[p] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int c = 0; c < R * T; c++)
        accm[c] = 0.0f;
    for (uint32_t b = 0; b < n / 32; b++) {
        __m256i wq[4], corr[4], av[8], aoff[8];
        float dw[4], mw[4], da[8];
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            prefetch_ahead(row[i] + b32_bytes[kind] * b, w->row_bytes, 1);
            wq[i] = w32(kind, row[i], b, &dw[i], &mw[i]);
            corr[i] = kind == K_Q8_0
                          ? _mm256_sub_epi32(zero, _mm256_dpbusd_epi32(
                                                       zero, _mm256_set1_epi8((char)0x80), wq[i]))
                          : zero;
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) {
            da[t] = a[t].d[b];
            av[t] =
                kind == K_Q8_0 ? loadu(a[t].q2 + 32 * (size_t)b) : loadu(a[t].q + 32 * (size_t)b);
            aoff[t] =
                B32_OFF(kind)
                    ? _mm256_sub_epi32(
                          zero, _mm256_dpbusd_epi32(zero, _mm256_set1_epi8(B32_OFF(kind)), av[t]))
                    : zero;
        }
#pragma GCC unroll 8
        for (int p = 0; p < NP; p++) {
            const int c0 = 2 * p, c1 = PAIR_C1(p, R, T);
            const int i0 = c0 / T, t0 = c0 % T, i1 = c1 / T, t1 = c1 % T;
            __m512i wz = pair_si(wq[i0], wq[i1]), az = pair_si(av[t0], av[t1]);
            __m512i ip = kind == K_Q8_0 ? _mm512_dpbusd_epi32(pair_si(corr[i0], corr[i1]), az, wz)
                                        : _mm512_dpbusd_epi32(pair_si(aoff[t0], aoff[t1]), wz, az);
            __m512 s = _mm512_mul_ps(pair_set1(dw[i0], dw[i1]), pair_set1(da[t0], da[t1]));
            acc[p] = _mm512_fmadd_ps(s, cvt_ps(ip), acc[p]);
        }
        if (kind == K_Q5_1) {
#pragma GCC unroll 16
            for (int c = 0; c < R * T; c++) {
                const int i = c / T, t = c % T;
                const int16_t *bsum = (const int16_t *)(a[t].d + n / 32);
                accm[c] = fmaf(mw[i] * da[t], (float)bsum[b], accm[c]);
            }
        }
    }
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++) {
        const int c0 = 2 * p, c1 = PAIR_C1(p, R, T);
        y[(size_t)(c0 % T) * ldy + r + (uint32_t)(c0 / T)] =
            hsum_lo(acc[p]) + (kind == K_Q5_1 ? accm[c0] : 0.0f);
        if (c1 != c0)
            y[(size_t)(c1 % T) * ldy + r + (uint32_t)(c1 / T)] =
                hsum_hi(acc[p]) + (kind == K_Q5_1 ? accm[c1] : 0.0f);
    }
}

#define B32_TILE(name, kind)                                                                       \
    INL void tile_##name(const struct glimp_wmat *w, uint32_t r, const int R, const char *x,       \
                         size_t xs, const int T, float *y, size_t ldy)                             \
    {                                                                                              \
        tile_b32(w, r, R, x, xs, T, y, ldy, kind);                                                 \
    }
B32_TILE(q8_0, K_Q8_0)
B32_TILE(q4_0, K_Q4_0)
B32_TILE(q5_0, K_Q5_0)
B32_TILE(q5_1, K_Q5_1)

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

/* acc plus the lane sums of a 32-element run, two chains at once:
 * unsigned levels (at most 31) times a, pairs of products in int16 (no
 * saturation: 2 * 31 * 127 < 2^15), then vpdpwssd multiplies the pairs by
 * the run's int16 scale and adds them into the int32 lanes (exact). */
INL __m512i run_k(__m512i acc, __m512i q, __m512i a, __m512i s)
{
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(q, a), s);
}

INL void tile_q45_K(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                    const int T, float *y, size_t ldy, const int five)
{
    const uint32_t n = w->n_in;
    const int NP = (R * T + 1) / 2;
    const size_t bb = five ? sizeof(block_q5_K) : sizeof(block_q4_K);
    const uint8_t *row[4];
    struct arow a[8];
    const int16_t *bsum[8];
    __m512 acc[8];
    float accm[16];
    const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
        row[i] = (const uint8_t *)w->data + (size_t)(r + i) * w->row_bytes;
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
        a[t] = arow_at(x, xs, (uint32_t)t, n);
        bsum[t] = (const int16_t *)(a[t].d + n / 256);
    }
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++)
        acc[p] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int c = 0; c < R * T; c++)
        accm[c] = 0.0f;
    for (uint32_t b = 0; b < n / 256; b++) {
        const uint8_t *qs[4];
        __m256i qh[4], sc[4];
        __m128i mins[4];
        float d[4], dmin[4], da[8];
        __m512i isum[8];
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            const uint8_t *blk = row[i] + bb * b;
            prefetch_ahead(blk, w->row_bytes, bb);
            qs[i] = blk + (five ? 48 : 16);
            qh[i] = five ? loadu(blk + 16) : _mm256_setzero_si256();
            __m256i sm = _mm256_cvtepu8_epi16(k4_scales_mins(blk + 4));
            sc[i] = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(sm));
            mins[i] = _mm256_extracti128_si256(sm, 1);
            d[i] = fp16(blk);
            dmin[i] = fp16(blk + 2);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; t++)
            da[t] = a[t].d[b];
#pragma GCC unroll 8
        for (int p = 0; p < NP; p++)
            isum[p] = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            __m256i qlo[4], qhi[4], slo[4], shi[4];
#pragma GCC unroll 4
            for (int i = 0; i < R; i++) {
                __m256i bits = loadu(qs[i] + 32 * c);
                qlo[i] = _mm256_and_si256(bits, m4);
                qhi[i] = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                if (five) {
                    __m256i hlo = _mm256_and_si256(_mm256_srli_epi16(qh[i], 2 * c), one);
                    __m256i hhi = _mm256_and_si256(_mm256_srli_epi16(qh[i], 2 * c + 1), one);
                    qlo[i] = _mm256_or_si256(qlo[i], _mm256_slli_epi16(hlo, 4));
                    qhi[i] = _mm256_or_si256(qhi[i], _mm256_slli_epi16(hhi, 4));
                }
                slo[i] = _mm256_shuffle_epi8(sc[i], loadu(shuf_k4[2 * c]));
                shi[i] = _mm256_shuffle_epi8(sc[i], loadu(shuf_k4[2 * c + 1]));
            }
#pragma GCC unroll 8
            for (int p = 0; p < NP; p++) {
                const int c0 = 2 * p, c1 = PAIR_C1(p, R, T);
                const int i0 = c0 / T, t0 = c0 % T, i1 = c1 / T, t1 = c1 % T;
                const int8_t *a0 = a[t0].q + 256 * (size_t)b + 64 * c;
                const int8_t *a1 = a[t1].q + 256 * (size_t)b + 64 * c;
                isum[p] = run_k(isum[p], pair_si(qlo[i0], qlo[i1]), pair_si(loadu(a0), loadu(a1)),
                                pair_si(slo[i0], slo[i1]));
                isum[p] = run_k(isum[p], pair_si(qhi[i0], qhi[i1]),
                                pair_si(loadu(a0 + 32), loadu(a1 + 32)), pair_si(shi[i0], shi[i1]));
            }
        }
#pragma GCC unroll 8
        for (int p = 0; p < NP; p++) {
            const int c0 = 2 * p, c1 = PAIR_C1(p, R, T);
            const int i0 = c0 / T, t0 = c0 % T, i1 = c1 / T, t1 = c1 % T;
            __m512 s = _mm512_mul_ps(pair_set1(d[i0], d[i1]), pair_set1(da[t0], da[t1]));
            acc[p] = _mm512_fmadd_ps(s, cvt_ps(isum[p]), acc[p]);
        }
#pragma GCC unroll 16
        for (int c = 0; c < R * T; c++) {
            const int i = c / T, t = c % T;
            __m128i bs = _mm_loadu_si128((const __m128i *)(bsum[t] + 8 * (size_t)b));
            int imin = hsum_epi32x4(_mm_madd_epi16(mins[i], bs));
            accm[c] = fmaf(dmin[i] * da[t], (float)imin, accm[c]);
        }
    }
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++) {
        const int c0 = 2 * p, c1 = PAIR_C1(p, R, T);
        y[(size_t)(c0 % T) * ldy + r + (uint32_t)(c0 / T)] = hsum_lo(acc[p]) - accm[c0];
        if (c1 != c0)
            y[(size_t)(c1 % T) * ldy + r + (uint32_t)(c1 / T)] = hsum_hi(acc[p]) - accm[c1];
    }
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

/* acc plus levels q in -32..31 times activations a: |a| unsigned times q
 * with a's sign (negated under the mask of a's sign bits; 2 * 32 * 127 <
 * 2^15), the pairs times the int16 scales into the int32 lanes (vpdpwssd). */
INL __m512i run_k6(__m512i acc, __m512i q, __m512i a, __m512i absa, __m512i s)
{
    __m512i sq = _mm512_mask_sub_epi8(q, _mm512_movepi8_mask(a), _mm512_setzero_si512(), q);
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(absa, sq), s);
}

INL void tile_q6_K(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                   const int T, float *y, size_t ldy)
{
    const uint32_t n = w->n_in;
    const int NP = (R * T + 1) / 2;
    const uint8_t *row[4];
    struct arow a[8];
    __m512 acc[8];
    const __m256i m4 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3), c32 = _mm256_set1_epi8(32);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
        row[i] = (const uint8_t *)w->data + (size_t)(r + i) * w->row_bytes;
#pragma GCC unroll 8
    for (int t = 0; t < T; t++)
        a[t] = arow_at(x, xs, (uint32_t)t, n);
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++)
        acc[p] = _mm512_setzero_ps();
    for (uint32_t b = 0; b < n / 256; b++) {
        const block_q6_K *blk[4];
        __m128i s8[4];
        float d[4];
        __m512i isum[8];
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            blk[i] = (const block_q6_K *)(row[i] + sizeof(block_q6_K) * b);
            prefetch_ahead((const uint8_t *)blk[i], w->row_bytes, sizeof(block_q6_K));
            s8[i] = _mm_loadu_si128((const __m128i *)blk[i]->scales);
            d[i] = fp16(&blk[i]->d);
        }
#pragma GCC unroll 8
        for (int p = 0; p < NP; p++)
            isum[p] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int g = 0; g < 8; g++) {
            /* group g = 4h + k: low nibbles of ql[64h..], ql[64h+32..], then
             * their high nibbles; qh[32h..] bits 2k, 2k+1 */
            const int h = g / 4, k = g % 4;
            __m256i q[4], sv[4];
#pragma GCC unroll 4
            for (int i = 0; i < R; i++) {
                __m256i l = loadu(blk[i]->ql + 64 * h + 32 * (k & 1));
                __m256i lo = k & 2 ? _mm256_srli_epi16(l, 4) : l;
                __m256i hi =
                    _mm256_and_si256(_mm256_srli_epi16(loadu(blk[i]->qh + 32 * h), 2 * k), m3);
                q[i] = _mm256_sub_epi8(
                    _mm256_or_si256(_mm256_and_si256(lo, m4), _mm256_slli_epi16(hi, 4)), c32);
                sv[i] = _mm256_cvtepi8_epi16(
                    _mm_shuffle_epi8(s8[i], _mm_loadu_si128((const __m128i *)shuf_k6[g])));
            }
#pragma GCC unroll 8
            for (int p = 0; p < NP; p++) {
                const int c0 = 2 * p, c1 = PAIR_C1(p, R, T);
                const int i0 = c0 / T, t0 = c0 % T, i1 = c1 / T, t1 = c1 % T;
                size_t off = 256 * (size_t)b + 32 * (size_t)g;
                __m512i az = pair_si(loadu(a[t0].q + off), loadu(a[t1].q + off));
                __m512i abs = pair_si(loadu(a[t0].q2 + off), loadu(a[t1].q2 + off));
                isum[p] = run_k6(isum[p], pair_si(q[i0], q[i1]), az, abs, pair_si(sv[i0], sv[i1]));
            }
        }
#pragma GCC unroll 8
        for (int p = 0; p < NP; p++) {
            const int c0 = 2 * p, c1 = PAIR_C1(p, R, T);
            const int i0 = c0 / T, t0 = c0 % T, i1 = c1 / T, t1 = c1 % T;
            __m512 s = _mm512_mul_ps(pair_set1(d[i0], d[i1]), pair_set1(a[t0].d[b], a[t1].d[b]));
            acc[p] = _mm512_fmadd_ps(s, cvt_ps(isum[p]), acc[p]);
        }
    }
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++) {
        const int c0 = 2 * p, c1 = PAIR_C1(p, R, T);
        y[(size_t)(c0 % T) * ldy + r + (uint32_t)(c0 / T)] = hsum_lo(acc[p]);
        if (c1 != c0)
            y[(size_t)(c1 % T) * ldy + r + (uint32_t)(c1 / T)] = hsum_hi(acc[p]);
    }
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

/* The products of the eight elements from e: W, X the weights of each row
 * and the floats of each token (of the row, zero-padded at the tail). */
INL void float_step(__m512 *acc, const __m256 *wv, const __m256 *xv, const int R, const int T)
{
    const int NP = (R * T + 1) / 2;
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++) {
        const int c0 = 2 * p, c1 = PAIR_C1(p, R, T);
        acc[p] = _mm512_fmadd_ps(pair_ps(wv[c0 / T], wv[c1 / T]), pair_ps(xv[c0 % T], xv[c1 % T]),
                                 acc[p]);
    }
}

INL void tile_float(const struct glimp_wmat *w, uint32_t r, const int R, const char *x, size_t xs,
                    const int T, float *y, size_t ldy, const int kind)
{
    const uint32_t n = w->n_in, n8 = n & ~7u;
    const int NP = (R * T + 1) / 2;
    const size_t es = kind == 0 ? 4 : 2;
    const uint8_t *row[4];
    const float *xf[8];
    __m512 acc[8];
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
        row[i] = (const uint8_t *)w->data + (size_t)(r + i) * w->row_bytes;
#pragma GCC unroll 8
    for (int t = 0; t < T; t++)
        xf[t] = (const float *)(const void *)(x + (size_t)t * xs);
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++)
        acc[p] = _mm512_setzero_ps();
    for (uint32_t e = 0; e < n8; e += 8) {
        __m256 wv[4], xv[8];
        if (((es * e) & 63) == 0) /* a cache line of each row */
#pragma GCC unroll 4
            for (int i = 0; i < R; i++)
                prefetch_ahead(row[i] + es * e, w->row_bytes, 1);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            wv[i] = w8(row[i], e, kind);
#pragma GCC unroll 8
        for (int t = 0; t < T; t++)
            xv[t] = _mm256_loadu_ps(xf[t] + e);
        float_step(acc, wv, xv, R, T);
    }
    if (n8 < n) {
        /* the last n % 8 elements, zero-padded: fma(0, 0, acc) is acc */
        uint8_t wt[4][32];
        float xt[8][8];
        __m256 wv[4], xv[8];
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
            xv[t] = _mm256_loadu_ps(xt[t]);
        }
        float_step(acc, wv, xv, R, T);
    }
#pragma GCC unroll 8
    for (int p = 0; p < NP; p++) {
        const int c0 = 2 * p, c1 = PAIR_C1(p, R, T);
        y[(size_t)(c0 % T) * ldy + r + (uint32_t)(c0 / T)] = hsum_lo(acc[p]);
        if (c1 != c0)
            y[(size_t)(c1 % T) * ldy + r + (uint32_t)(c1 / T)] = hsum_hi(acc[p]);
    }
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

/* Types with blocks of 32: decode 4 rows (2 pairs); batches 2 rows x 8
 * tokens (8 pairs), leftovers 1x8 and 1x4 */
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

/* K-quants: decode 4 rows; batches 2 rows x 4 tokens (4 pairs) */
SHAPE(TGT, q4_K, 4, 1)
SHAPE(TGT, q4_K, 1, 1)
SHAPE(TGT, q4_K, 2, 4)
SHAPE(TGT, q4_K, 1, 4)
DEFINE_MM(TGT, q4_K, 4, 2, 4)
SHAPE(TGT, q5_K, 4, 1)
SHAPE(TGT, q5_K, 1, 1)
SHAPE(TGT, q5_K, 2, 4)
SHAPE(TGT, q5_K, 1, 4)
DEFINE_MM(TGT, q5_K, 4, 2, 4)
SHAPE(TGT, q6_K, 4, 1)
SHAPE(TGT, q6_K, 1, 1)
SHAPE(TGT, q6_K, 2, 4)
SHAPE(TGT, q6_K, 1, 4)
DEFINE_MM(TGT, q6_K, 4, 2, 4)

/* F32, F16, BF16: decode 4 rows; batches 2 rows x 8 tokens */
SHAPE(TGT, f32, 4, 1)
SHAPE(TGT, f32, 1, 1)
SHAPE(TGT, f32, 2, 8)
SHAPE(TGT, f32, 1, 8)
SHAPE(TGT, f32, 1, 4)
DEFINE_MM(TGT, f32, 4, 2, 8)
SHAPE(TGT, f16, 4, 1)
SHAPE(TGT, f16, 1, 1)
SHAPE(TGT, f16, 2, 8)
SHAPE(TGT, f16, 1, 8)
SHAPE(TGT, f16, 1, 4)
DEFINE_MM(TGT, f16, 4, 2, 8)
SHAPE(TGT, bf16, 4, 1)
SHAPE(TGT, bf16, 1, 1)
SHAPE(TGT, bf16, 2, 8)
SHAPE(TGT, bf16, 1, 8)
SHAPE(TGT, bf16, 1, 4)
DEFINE_MM(TGT, bf16, 4, 2, 8)

/* ------------------------------- quantizers, attention, SiLU: reused */

/* Quantizing a row, attention and SiLU are a small part of the time and
 * gain little from 512 bits: the avx2 table's (the scalar table's when
 * emulated, which gives the same bits) run behind these. */
GLIMP_KERNELS_FORWARD(BASE)

const struct glimp_kernels TABLE = {
    .name = TABLE_NAME,
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
    .attn = attn,
    .silu_mul = silu_mul,
};

#endif
