/* x86_tiles.h - what the x86 kernel tables (kern_avx2.c, kern_avx512.c)
 * share: the tile drivers (SHAPE, DEFINE_MM), the layout of the blocks of
 * 32, the shuffle masks of the K-quants and small helpers. Included by
 * those files only, once they have defined INL (static inline with their
 * target attributes) and included their intrinsics (immintrin.h, or
 * SIMDe when emulated). */
#ifndef GLIMP_KERNELS_X86_TILES_H
#define GLIMP_KERNELS_X86_TILES_H

#include "kernels/kernels.h"

#include <stddef.h>
#include <stdint.h>

#define TB 64                 /* tokens whose activations stay in cache while rows stream past */
#define TB_BYTES (256u << 10) /* ... at most this many bytes of them (half an L2) */
#define PF_ROWS 8             /* rows ahead that decoding prefetches */

/* Ask for the bytes [p, p + len) of a row PF_ROWS rows ahead: the
 * hardware prefetchers stop at page boundaries and rows are read slowly,
 * several streams at once. A prefetch never faults, so one past the end of
 * the matrix is harmless. */
INL void prefetch_ahead(const uint8_t *p, size_t row_bytes, size_t len)
{
    const char *q = (const char *)p + PF_ROWS * row_bytes;
    for (size_t o = 0; o < len; o += 64)
        _mm_prefetch(q + o, _MM_HINT_T0);
}

/* ((s0+s4)+(s1+s5))+((s2+s6)+(s3+s7)), as combine8 in kern_scalar.c. */
INL float hsum8(__m256 v)
{
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 b = _mm_add_ps(a, _mm_shuffle_ps(a, a, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtss_f32(_mm_add_ss(b, _mm_movehl_ps(b, b)));
}

/* Sum of the four int32 of v (exact). */
INL int hsum_epi32x4(__m128i v)
{
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(v);
}

/* Activation row of token t: qs, |qs| (Q8K) or qs + 128 (Q8), scales. */
struct arow {
    const int8_t *q;
    const uint8_t *q2;
    const float *d;
};

INL struct arow arow_at(const char *x, size_t xs, uint32_t t, uint32_t n)
{
    struct arow a;
    a.q = (const int8_t *)(x + (size_t)t * xs);
    a.q2 = (const uint8_t *)a.q + n;
    a.d = (const float *)(a.q + 2 * (size_t)n);
    return a;
}

/* The types with blocks of 32: kind 0 Q8_0 (signed levels), 1 Q4_0 (q - 8),
 * 2 Q5_0 (q - 16), 3 Q5_1 (d q + m). */
#define K_Q8_0 0
#define K_Q4_0 1
#define K_Q5_0 2
#define K_Q5_1 3

static const size_t b32_bytes[4] = {34, 18, 22, 24};

/* The offset of unsigned levels (Q4_0, Q5_0); 0 for none. */
#define B32_OFF(kind) ((kind) == K_Q4_0 ? 8 : (kind) == K_Q5_0 ? 16 : 0)

/* byte masks that broadcast int16 lane j of a 128-bit half to all lanes */
static const uint8_t shuf_k4[8][32] = {
#define S(j)                                                                                       \
    {                                                                                              \
        2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1,  \
            2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j,         \
            2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1,     \
            2 * j, 2 * j + 1, 2 * j, 2 * j + 1                                                     \
    }
    S(0), S(1), S(2), S(3), S(4), S(5), S(6), S(7),
#undef S
};

/* byte masks: scale 2g in bytes 0..7, scale 2g + 1 in bytes 8..15 */
static const uint8_t shuf_k6[8][16] = {
#define S(g)                                                                                       \
    {                                                                                              \
        2 * g, 2 * g, 2 * g, 2 * g, 2 * g, 2 * g, 2 * g, 2 * g, 2 * g + 1, 2 * g + 1, 2 * g + 1,   \
            2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1                                  \
    }
    S(0), S(1), S(2), S(3), S(4), S(5), S(6), S(7),
#undef S
};

/* Each tile shape a driver uses is its own function (no inlining): that
 * keeps functions small enough for compilers, sanitizers included. */
#define SHAPE(ATTR, name, R, T)                                                                    \
    ATTR __attribute__((noinline)) static void name##_##R##x##T(                                   \
        const struct glimp_wmat *w, uint32_t r, const char *x, size_t xs, float *y, size_t ldy)    \
    {                                                                                              \
        tile_##name(w, r, R, x, xs, T, y, ldy);                                                    \
    }

/* One token: RD rows at a time. Several: rows in tiles of RM times tokens
 * in tiles of TM; what is left over (rows past the last whole tile, tokens
 * past the last whole TM) runs a row at a time in tiles of 4 or 1 tokens,
 * which keeps the number of tile shapes small. Tokens go in blocks of TB,
 * fewer (whole TM) where TB rows of activations pass TB_BYTES, so that
 * their activations stay in L2 while each weight row is reused: the F32
 * rows of the feed-forward's down projection (4864 wide in Qwen2.5-0.5B)
 * were read from L3, and F16 prefill ran 7% slower for it. The shapes
 * RDx1, 1x1, RMxTM, 1xTM and 1x4 must exist. */
#define DEFINE_MM(ATTR, name, RD, RM, TM)                                                          \
    ATTR static void mm_##name(const struct glimp_wmat *w, uint32_t r0, uint32_t r1,               \
                               const void *x, size_t xs, uint32_t n_tok, float *y, size_t ldy)     \
    {                                                                                              \
        const char *xc = x;                                                                        \
        if (n_tok == 1) {                                                                          \
            uint32_t r = r0;                                                                       \
            for (; r + RD <= r1; r += RD)                                                          \
                name##_##RD##x1(w, r, xc, xs, y, ldy);                                             \
            for (; r < r1; r++)                                                                    \
                name##_1x1(w, r, xc, xs, y, ldy);                                                  \
            return;                                                                                \
        }                                                                                          \
        uint32_t tb = xs * TB <= TB_BYTES ? TB : (uint32_t)(TB_BYTES / xs) / TM * TM;              \
        tb = tb < TM ? TM : tb;                                                                    \
        for (uint32_t t0 = 0; t0 < n_tok; t0 += tb) {                                              \
            uint32_t t1 = n_tok - t0 < tb ? n_tok : t0 + tb;                                       \
            uint32_t tm = t0 + (t1 - t0) / TM * TM; /* end of the whole TM tiles */                \
            for (uint32_t r = r0; r < r1;) {                                                       \
                uint32_t nr = r + RM <= r1 ? RM : 1;                                               \
                for (uint32_t t = t0; t < tm; t += TM) {                                           \
                    const char *xt = xc + (size_t)t * xs;                                          \
                    float *yt = y + (size_t)t * ldy;                                               \
                    if (nr == RM)                                                                  \
                        name##_##RM##x##TM(w, r, xt, xs, yt, ldy);                                 \
                    else                                                                           \
                        name##_1x##TM(w, r, xt, xs, yt, ldy);                                      \
                }                                                                                  \
                for (uint32_t i = r; i < r + nr; i++) {                                            \
                    uint32_t t = tm;                                                               \
                    for (; t + 4 <= t1; t += 4)                                                    \
                        name##_1x4(w, i, xc + (size_t)t * xs, xs, y + (size_t)t * ldy, ldy);       \
                    for (; t < t1; t++)                                                            \
                        name##_1x1(w, i, xc + (size_t)t * xs, xs, y + (size_t)t * ldy, ldy);       \
                }                                                                                  \
                r += nr;                                                                           \
            }                                                                                      \
        }                                                                                          \
    }

#endif
