/* kern_amx.c - the "amx" kernel table: Q8_0 products on Intel AMX-INT8
 * tiles (Sapphire Rapids and later), with the numerics of the amx contract
 * in kernels.h (one exact int32 sum per 32-block, one fmaf chain per
 * output). The other weight types, the quantizers, attention and SiLU are
 * those of the avx512 table. kernels.c hands this table out only when the
 * CPU, the OS and a self-check allow it.
 *
 * tests/kern_amx_emu.c compiles this file a second time with
 * GLIMP_AMX_EMULATED defined, on emulated tile instructions and SIMDe's
 * AVX-512 (the includer provides both), into the test-only table
 * "amx-emulated", so that every machine runs the same code paths.
 *
 * A product runs in two paths with the same operations per output:
 *  - tiles: 16 tokens x 16 weight rows per C tile, up to 2 x 2 C tiles per
 *    block. A (tmm4, tmm5) holds 16 tokens' 32 levels of block b, loaded
 *    straight from the activation rows (stride x_stride); B (tmm6, tmm7)
 *    holds 16 weight rows' levels of block b in AMX's 4-byte groups,
 *    B[k][4n + i] = level 4k + i of row n, packed on the stack KC blocks
 *    at a time, once per call (they serve every token of the call).
 *    tdpbssd into a zeroed C gives C[token][row] = s_b exactly. The float
 *    step then runs on 16 rows at once in a zmm, accumulating in y itself
 *    (the rows of one token are adjacent there), so nothing but the pack
 *    grows with the call. (Weights as A, loaded in place, would put the
 *    tokens in the zmm lanes, strided in y, and need the activations
 *    packed whole.)
 *  - rows: 16 rows times up to 4 tokens at a time (decoding, and the
 *    tokens and rows that do not fill a tile): vpdpbusd gives 8 partial
 *    sums per row and block, which 16 rows reduce together to their s_b in
 *    one zmm. */
#if defined(GLIMP_AMX_EMULATED) || defined(__x86_64__)

#include "kernels/kernels.h"
#include "kernels/quant.h"

#if defined(GLIMP_AMX_EMULATED) || defined(GLIMP_KERNELS_AMX)

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GLIMP_AMX_EMULATED
/* the includer has provided the intrinsics */
#define TGT
#define AMX_TABLE glimp_kernels_amx_emulated
#define AMX_NAME "amx-emulated"
#define AMX_CHECK glimp_kernels_amx_emulated_check
#define BASE glimp_kernels_scalar /* the same bits as avx2, on any CPU */
#else
#include <immintrin.h>
#define TGT __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni")))
#define AMX_TABLE glimp_kernels_amx
#define AMX_NAME "amx"
#define AMX_CHECK glimp_kernels_amx_check
#define BASE glimp_kernels_avx512 /* every AMX CPU has AVX-512 F/BW/VL/VNNI */
#endif

#if defined(__clang__)
#define NO_PTR_CHECK __attribute__((no_sanitize("pointer-overflow")))
#else
#define NO_PTR_CHECK
#endif
#define INL static inline __attribute__((always_inline)) TGT NO_PTR_CHECK

#define QB 34   /* bytes of a Q8_0 block: fp16 d, then 32 levels */
#define KC 32   /* blocks of weights packed at a time (2 x 16 KiB) */
#define TILE 16 /* tokens, and weight rows, of one C tile */

static uint16_t rd16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static const uint8_t *row_at(const struct glimp_wmat *w, uint32_t r)
{
    return (const uint8_t *)w->data + (size_t)r * w->row_bytes;
}

/* A Q8 activation row (kernels.h): levels, levels + 128, scales. */
static const int8_t *act_q(const char *x, size_t xs, uint32_t t)
{
    return (const int8_t *)(x + (size_t)t * xs);
}

static const float *act_d(const char *x, size_t xs, uint32_t t, uint32_t n)
{
    return (const float *)(const void *)(x + (size_t)t * xs + 2 * (size_t)n);
}

/* --------------------------------------------- the plain C numerics */

/* One output of the amx contract, spelled out: the oracle of the
 * self-check (tests carry an independent one of their own). */
static float dot_q8_0_plain(const uint8_t *row, const int8_t *aq, const float *ad, uint32_t nb)
{
    float acc = 0.0f;
    for (uint32_t b = 0; b < nb; b++) {
        const uint8_t *blk = row + (size_t)b * QB;
        int32_t s = 0;
        for (uint32_t i = 0; i < 32; i++)
            s += (int8_t)blk[2 + i] * aq[32 * b + i];
        float dd = glimp_fp16_to_fp32(rd16(blk)) * ad[b];
        acc = fmaf(dd, (float)s, acc);
    }
    return acc;
}

/* ----------------------------------------------- rows: a few tokens */

/* Lane indices for fold (vpermt2d: 0..15 from a, 16..31 from b): output
 * lane j sums lanes lo[j] and lo[j] + m / 2, for m = 8, 4, 2. */
static const int32_t fold_idx[3][16] = {
    {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27},
    {0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29},
    {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30},
};

/* Sum of adjacent lane groups of two vectors, each holding 16 / m rows'
 * partial sums in groups of m lanes (the rows of a before those of b):
 * the result holds their 32 / m rows in groups of m / 2 lanes. */
INL __m512i fold(__m512i a, __m512i b, const int m)
{
    const int32_t *lo = fold_idx[m == 8 ? 0 : m == 4 ? 1 : 2];
    __m512i il = _mm512_loadu_si512(lo);
    __m512i ih = _mm512_add_epi32(il, _mm512_set1_epi32(m / 2));
    return _mm512_add_epi32(_mm512_permutex2var_epi32(a, il, b),
                            _mm512_permutex2var_epi32(a, ih, b));
}

/* Rows r .. r + nr of w (nr <= 16) times T tokens (1..4) from t of x,
 * into y. Rows past nr repeat the last one and are not stored. s_b:
 * vpdpbusd of (a + 128) with w, less 128 * (w's sums), 8 lanes per row,
 * then the 16 rows folded together; exact. A weight block is loaded once
 * for the T tokens (speculative decoding verifies a few tokens at once).
 * The same block of the next 16 rows is prefetched (several streams read
 * slowly, which the hardware prefetchers follow badly, as in
 * kern_avx2.c). */
INL void rows_tokens(const struct glimp_wmat *w, uint32_t r, uint32_t nr, const char *x, size_t xs,
                     uint32_t t, const int T, float *y, size_t ldy)
{
    uint32_t n = w->n_in, nb = n / 32;
    const uint8_t *row[16], *au[4];
    const float *ad[4];
    __m512 acc[4];
    for (uint32_t i = 0; i < 16; i++)
        row[i] = row_at(w, r + (i < nr ? i : nr - 1));
    for (int j = 0; j < T; j++) {
        au[j] = (const uint8_t *)act_q(x, xs, t + (uint32_t)j) + n;
        ad[j] = act_d(x, xs, t + (uint32_t)j, n);
        acc[j] = _mm512_setzero_ps();
    }
    const __m512i c128 = _mm512_set1_epi8((char)0x80), zero = _mm512_setzero_si512();
    for (uint32_t b = 0; b < nb; b++) {
        size_t o = (size_t)b * QB;
        __m512i wq[8], corr[8];
        uint16_t dh[16];
        for (int p = 0; p < 8; p++) {
            wq[p] = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_loadu_si256((const void *)(row[2 * p] + o + 2))),
                _mm256_loadu_si256((const void *)(row[2 * p + 1] + o + 2)), 1);
            corr[p] = _mm512_dpbusd_epi32(zero, c128, wq[p]);
        }
        for (int i = 0; i < 16; i++) {
            dh[i] = rd16(row[i] + o);
            _mm_prefetch((const char *)row[i] + 16 * w->row_bytes + o, _MM_HINT_T0);
        }
        __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)dh));
        for (int j = 0; j < T; j++) {
            __m512i av =
                _mm512_broadcast_i64x4(_mm256_loadu_si256((const void *)(au[j] + 32 * (size_t)b)));
            __m512i s[8], s4[4], s2[2];
            for (int p = 0; p < 8; p++)
                s[p] = _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, av, wq[p]), corr[p]);
            for (int p = 0; p < 4; p++)
                s4[p] = fold(s[2 * p], s[2 * p + 1], 8);
            for (int p = 0; p < 2; p++)
                s2[p] = fold(s4[2 * p], s4[2 * p + 1], 4);
            __m512i sb = fold(s2[0], s2[1], 2);
            __m512 dd = _mm512_mul_ps(dw, _mm512_set1_ps(ad[j][b]));
            acc[j] = _mm512_fmadd_ps(dd, _mm512_cvtepi32_ps(sb), acc[j]);
        }
    }
    for (int j = 0; j < T; j++) {
        float *yt = y + (size_t)(t + (uint32_t)j) * ldy + r;
        if (nr == 16) {
            _mm512_storeu_ps(yt, acc[j]);
        } else {
            float out[16];
            _mm512_storeu_ps(out, acc[j]);
            memcpy(yt, out, nr * sizeof *out);
        }
    }
}

#define ROWS_SHAPE(T)                                                                              \
    TGT NO_PTR_CHECK __attribute__((noinline)) static void rows_##T(                               \
        const struct glimp_wmat *w, uint32_t r, uint32_t nr, const char *x, size_t xs, uint32_t t, \
        float *y, size_t ldy)                                                                      \
    {                                                                                              \
        rows_tokens(w, r, nr, x, xs, t, T, y, ldy);                                                \
    }
ROWS_SHAPE(1)
ROWS_SHAPE(2)
ROWS_SHAPE(3)
ROWS_SHAPE(4)

/* Rows [r0, r1) times tokens [t0, t1): 16 rows by up to 4 tokens. */
static void rows_range(const struct glimp_wmat *w, uint32_t r0, uint32_t r1, const char *x,
                       size_t xs, uint32_t t0, uint32_t t1, float *y, size_t ldy)
{
    for (uint32_t t = t0; t < t1; t += 4) {
        uint32_t nt = t1 - t < 4 ? t1 - t : 4;
        for (uint32_t r = r0; r < r1; r += TILE) {
            uint32_t nr = r1 - r < TILE ? r1 - r : TILE;
            switch (nt) {
            case 1: rows_1(w, r, nr, x, xs, t, y, ldy); break;
            case 2: rows_2(w, r, nr, x, xs, t, y, ldy); break;
            case 3: rows_3(w, r, nr, x, xs, t, y, ldy); break;
            default: rows_4(w, r, nr, x, xs, t, y, ldy); break;
            }
        }
    }
}

/* ----------------------------------------------------- tiles: AMX */

/* The tile configuration (Intel SDM, LDTILECFG): palette 1; C tiles tmm0..3
 * 16 x 64 bytes, A tiles tmm4..5 16 tokens x 32 bytes, B tiles tmm6..7
 * 8 (4-byte groups) x 64 bytes. */
struct tilecfg {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};
static_assert(sizeof(struct tilecfg) == 64, "the tile configuration is 64 bytes");

static const _Alignas(64) struct tilecfg tile_cfg = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 32, 32, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 8, 8},
};

/* Weight rows r.., nt row tiles (1 or 2) of 16, blocks [b0, b0 + nk):
 * levels in B's layout, scales as floats. */
struct wpack {
    _Alignas(64) int8_t q[2][KC][8][64];
    float d[2][KC][TILE];
};

static void pack_weights(const struct glimp_wmat *w, uint32_t r, uint32_t nt, uint32_t b0,
                         uint32_t nk, struct wpack *p)
{
    for (uint32_t j = 0; j < nt; j++)
        for (uint32_t n = 0; n < TILE; n++) {
            const uint8_t *row = row_at(w, r + TILE * j + n);
            for (uint32_t kb = 0; kb < nk; kb++) {
                const uint8_t *blk = row + (size_t)(b0 + kb) * QB;
                p->d[j][kb][n] = glimp_fp16_to_fp32(rd16(blk));
                for (uint32_t k = 0; k < 8; k++)
                    memcpy(&p->q[j][kb][k][4 * n], blk + 2 + 4 * k, 4);
            }
        }
}

/* acc = fmaf(d_w * d_a, s_b, acc) for 16 rows of one token, acc in y
 * (zero before the first block). */
INL void float_step(float *yr, const int32_t *s, const float *dw, float da, int first)
{
    __m512 acc = first ? _mm512_setzero_ps() : _mm512_loadu_ps(yr);
    __m512 dd = _mm512_mul_ps(_mm512_loadu_ps(dw), _mm512_set1_ps(da));
    acc = _mm512_fmadd_ps(dd, _mm512_cvtepi32_ps(_mm512_loadu_si512(s)), acc);
    _mm512_storeu_ps(yr, acc);
}

/* One block for NT token tiles (1, 2) from token t times NR row tiles (1,
 * 2) from row r; kb: the block's place in the pack. */
INL void tile_block(const struct wpack *p, uint32_t kb, uint32_t b, const int NT, const int NR,
                    const char *x, size_t xs, uint32_t t, uint32_t n, uint32_t r, float *y,
                    size_t ldy)
{
    _Alignas(64) int32_t c[2][2][TILE][TILE]; /* [token tile][row tile][token][row] */
    const char *xa = x + (size_t)t * xs + 32 * (size_t)b;
    _tile_zero(0);
    _tile_loadd(4, xa, xs);
    _tile_loadd(6, p->q[0][kb], 64);
    _tile_dpbssd(0, 4, 6);
    _tile_stored(0, c[0][0], 64);
    if (NR > 1) {
        _tile_zero(1);
        _tile_loadd(7, p->q[1][kb], 64);
        _tile_dpbssd(1, 4, 7);
        _tile_stored(1, c[0][1], 64);
    }
    if (NT > 1) {
        _tile_zero(2);
        _tile_loadd(5, xa + TILE * xs, xs);
        _tile_dpbssd(2, 5, 6);
        _tile_stored(2, c[1][0], 64);
        if (NR > 1) {
            _tile_zero(3);
            _tile_dpbssd(3, 5, 7);
            _tile_stored(3, c[1][1], 64);
        }
    }
    for (int i = 0; i < NT; i++)
        for (uint32_t m = 0; m < TILE; m++) {
            uint32_t tok = t + TILE * (uint32_t)i + m;
            float da = act_d(x, xs, tok, n)[b];
            for (int j = 0; j < NR; j++)
                float_step(y + (size_t)tok * ldy + r + TILE * (uint32_t)j, c[i][j][m], p->d[j][kb],
                           da, b == 0);
        }
}

#define TILE_SHAPE(NT, NR)                                                                         \
    TGT NO_PTR_CHECK __attribute__((noinline)) static void tiles_##NT##x##NR(                      \
        const struct wpack *p, uint32_t b0, uint32_t nk, const char *x, size_t xs, uint32_t t,     \
        uint32_t n, uint32_t r, float *y, size_t ldy)                                              \
    {                                                                                              \
        for (uint32_t kb = 0; kb < nk; kb++)                                                       \
            tile_block(p, kb, b0 + kb, NT, NR, x, xs, t, n, r, y, ldy);                            \
    }
TILE_SHAPE(1, 1)
TILE_SHAPE(1, 2)
TILE_SHAPE(2, 1)
TILE_SHAPE(2, 2)

/* Rows [r0, r1) x tokens [0, nt) in whole tiles (both multiples of 16 from
 * their start): per pair of row tiles, per KC blocks, pack the weights
 * once and run every token through them. */
TGT NO_PTR_CHECK static void mm_tiles(const struct glimp_wmat *w, uint32_t r0, uint32_t r1,
                                      const char *x, size_t xs, uint32_t nt, float *y, size_t ldy)
{
    uint32_t n = w->n_in, nb = n / 32;
    struct wpack pk, *p = &pk;
    _tile_loadconfig(&tile_cfg); /* tile state is per thread: set it in every call */
    for (uint32_t r = r0; r < r1; r += 2 * TILE) {
        uint32_t nr = r1 - r >= 2 * TILE ? 2 : 1;
        for (uint32_t b0 = 0; b0 < nb; b0 += KC) {
            uint32_t nk = nb - b0 < KC ? nb - b0 : KC;
            pack_weights(w, r, nr, b0, nk, p);
            for (uint32_t t = 0; t < nt;) {
                if (nt - t >= 2 * TILE) {
                    if (nr == 2)
                        tiles_2x2(p, b0, nk, x, xs, t, n, r, y, ldy);
                    else
                        tiles_2x1(p, b0, nk, x, xs, t, n, r, y, ldy);
                    t += 2 * TILE;
                } else {
                    if (nr == 2)
                        tiles_1x2(p, b0, nk, x, xs, t, n, r, y, ldy);
                    else
                        tiles_1x1(p, b0, nk, x, xs, t, n, r, y, ldy);
                    t += TILE;
                }
            }
        }
    }
    _tile_release();
}

/* The Q8_0 product: whole tiles on AMX, the rest (every token when there
 * are fewer than 16, rows past the last 16, tokens past the last 16) on
 * the rows path. */
TGT NO_PTR_CHECK static void mm_q8_0(const struct glimp_wmat *w, uint32_t r0, uint32_t r1,
                                     const void *x, size_t xs, uint32_t n_tok, float *y, size_t ldy)
{
    const char *xc = x;
    uint32_t t_tiles = n_tok / TILE * TILE, r_tiles = r0 + (r1 - r0) / TILE * TILE;
    if (t_tiles && r_tiles > r0) {
        mm_tiles(w, r0, r_tiles, xc, xs, t_tiles, y, ldy);
        rows_range(w, r_tiles, r1, xc, xs, 0, t_tiles, y, ldy);
        rows_range(w, r0, r1, xc, xs, t_tiles, n_tok, y, ldy);
    } else {
        rows_range(w, r0, r1, xc, xs, 0, n_tok, y, ldy);
    }
}

/* ---------------------------------- the rest: the avx512 table's */

#define FORWARD_MM(T)                                                                              \
    static void mm_##T(const struct glimp_wmat *w, uint32_t r0, uint32_t r1, const void *x,        \
                       size_t xs, uint32_t n_tok, float *y, size_t ldy)                            \
    {                                                                                              \
        BASE.matmul[GLIMP_TYPE_##T](w, r0, r1, x, xs, n_tok, y, ldy);                              \
    }
FORWARD_MM(F32)
FORWARD_MM(F16)
FORWARD_MM(BF16)
FORWARD_MM(Q4_0)
FORWARD_MM(Q5_0)
FORWARD_MM(Q5_1)
FORWARD_MM(Q4_K)
FORWARD_MM(Q5_K)
FORWARD_MM(Q6_K)

GLIMP_KERNELS_FORWARD(BASE)

/* Q8_0 on AMX (amx numerics); every other type, the quantizers, attention
 * and SiLU: the avx512 table's ("scalar" when emulated: the same bits). */
const struct glimp_kernels AMX_TABLE = {
    .name = AMX_NAME,
    .act = GLIMP_KERNELS_ACT,
    .quantize = {[GLIMP_ACT_Q8] = quantize_q8, [GLIMP_ACT_Q8K] = quantize_q8k},
    .matmul =
        {
            [GLIMP_TYPE_F32] = mm_F32,
            [GLIMP_TYPE_F16] = mm_F16,
            [GLIMP_TYPE_BF16] = mm_BF16,
            [GLIMP_TYPE_Q8_0] = mm_q8_0,
            [GLIMP_TYPE_Q4_0] = mm_Q4_0,
            [GLIMP_TYPE_Q5_0] = mm_Q5_0,
            [GLIMP_TYPE_Q5_1] = mm_Q5_1,
            [GLIMP_TYPE_Q4_K] = mm_Q4_K,
            [GLIMP_TYPE_Q5_K] = mm_Q5_K,
            [GLIMP_TYPE_Q6_K] = mm_Q6_K,
        },
    .attn = attn,
    .silu_mul = silu_mul,
};

/* ------------------------------------------------------ self-check */

static uint32_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(*s >> 33);
}

/* Q8_0 products of several shapes (tiles, edges, several pack chunks;
 * random levels, -128 included) against dot_q8_0_plain, bit for bit. */
int AMX_CHECK(char *why, size_t why_size)
{
    static const struct {
        uint32_t n_in, n_out, n_tok;
    } shapes[] = {{64, 16, 16}, {96, 37, 1}, {32 * (KC + 3), 35, 33}, {128, 64, 70}, {32, 5, 17}};
    int bad = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0] && !bad; si++) {
        uint32_t n = shapes[si].n_in, n_out = shapes[si].n_out, n_tok = shapes[si].n_tok;
        size_t rb = (size_t)n / 32 * QB, xs = glimp_act_row_bytes(GLIMP_ACT_Q8, n);
        uint8_t *wd = malloc(rb * n_out);
        char *xq = aligned_alloc(64, xs * n_tok);
        float *xf = malloc(n * sizeof *xf), *y = malloc((size_t)n_tok * n_out * sizeof *y);
        if (!wd || !xq || !xf || !y) {
            snprintf(why, why_size, "out of memory");
            bad = 1;
        } else {
            uint64_t st = 12345 + si;
            for (size_t i = 0; i < rb * n_out; i++)
                wd[i] = (uint8_t)lcg(&st);
            for (size_t i = 0; i < rb * n_out; i += QB) { /* scales 2^-8 .. 2^-5 */
                uint16_t d = (uint16_t)(0x1c00 + (lcg(&st) & 0x0bff));
                memcpy(wd + i, &d, 2);
            }
            for (uint32_t t = 0; t < n_tok; t++) {
                for (uint32_t i = 0; i < n; i++)
                    xf[i] = (float)((int32_t)(lcg(&st) & 0xffff) - 0x8000) / 4096.0f;
                AMX_TABLE.quantize[GLIMP_ACT_Q8](xf, xq + t * xs, n);
            }
            struct glimp_wmat w = {wd, GLIMP_TYPE_Q8_0, n, n_out, rb};
            AMX_TABLE.matmul[GLIMP_TYPE_Q8_0](&w, 0, n_out, xq, xs, n_tok, y, n_out);
            for (uint32_t t = 0; t < n_tok && !bad; t++)
                for (uint32_t r = 0; r < n_out && !bad; r++) {
                    float want =
                        dot_q8_0_plain(wd + r * rb, act_q(xq, xs, t), act_d(xq, xs, t, n), n / 32);
                    float got = y[(size_t)t * n_out + r];
                    if (memcmp(&want, &got, sizeof want) != 0) {
                        snprintf(why, why_size,
                                 "Q8_0 %u x %u, %u tokens: row %u token %u: %.9g, want %.9g", n_out,
                                 n, n_tok, r, t, (double)got, (double)want);
                        bad = 1;
                    }
                }
        }
        free(wd), free(xq), free(xf), free(y);
    }
    return bad ? -1 : 0;
}

#endif /* GLIMP_AMX_EMULATED || GLIMP_KERNELS_AMX */
#endif /* GLIMP_AMX_EMULATED || __x86_64__ */
