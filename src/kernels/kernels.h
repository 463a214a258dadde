/* kernels.h - the compute kernels of the forward pass behind one table,
 * chosen at run time: "ref" (the plain scalar reference: dequantize, float
 * dot, libm exp), "scalar" (the fast algorithm in portable C), "avx2" (the
 * fast algorithm with AVX2/FMA/F16C), "avxvnni" (avx2 plus AVX-VNNI),
 * "avx512" (AVX-512 F/BW/VL/VNNI) and "amx" (AMX-INT8 tiles for Q8_0, with
 * numerics of their own: below). "scalar", "avx2", "avxvnni" and "avx512"
 * compute the same floating point operations in the same order and agree
 * bit for bit; the tests hold them to each other and to "ref" within a
 * tolerance.
 *
 * The fast algorithm ("scalar", "avx2", "avxvnni", "avx512"):
 *  - Activations for quantized weights are quantized once per row: to
 *    blocks of 32 with a float scale (Q8_0, Q4_0, Q5_0, Q5_1 weights:
 *    glimp_act Q8) or of 256 (K-quants: Q8K). q = round_even(x * id),
 *    d = max|x| / 127, id = 1 / d.
 *  - A weight block times an activation block is an exact integer sum kept
 *    in 8 int32 lanes: lane m holds elements 4m..4m+3 of every 32-element
 *    run of the block (times the run's integer scale for K-quants; Q6_K's
 *    scales cover 16, so lanes 0..3 take the first, 4..7 the second).
 *    Each lane is then added into a float accumulator lane:
 *        acc[m] = fmaf(d_w * d_a, (float)lane[m], acc[m])
 *    block after block in order (d_w * d_a rounded to float first). Q4_K
 *    and Q5_K keep their mins in one more accumulator,
 *        accm = fmaf(dmin * d_a, (float)sum_j(min_j * bsum_j), accm),
 *    Q5_1 its offsets, accm = fmaf(m * d_a, (float)bsum, accm).
 *    The result is ((acc0+acc4)+(acc1+acc5))+((acc2+acc6)+(acc3+acc7))
 *    (minus accm for K-quants, plus for Q5_1). Every lane sum is below
 *    2^24, so the float conversions are exact and any integer instruction
 *    sequence gives the same bits.
 *  - F32, F16, BF16 weights: acc[i % 8] = fmaf(w[i], x[i], acc[i % 8]) in
 *    order of i, combined as above.
 *  - Exp is one polynomial (glimp_exp_poly in kern_scalar.c) evaluated
 *    with the same fmaf steps everywhere; attention and SiLU use it.
 *    Attention: scores by the float dot above, times 1/sqrt(head_dim);
 *    softmax sums in eight lanes (position j in lane j % 8); the values
 *    weighted by fmaf over positions in order; one multiply by 1 / sum.
 * Every output element is produced by this fixed sequence whatever the
 * number of tokens in the call, the tile it falls in, or the thread that
 * computes it: that is the batch invariance the engine promises.
 *
 * "amx" (Intel AMX-INT8 tiles, kern_amx.c) has numerics of its own for
 * Q8_0 weights, since a tile instruction sums a block's products whole:
 * for each block b in order, s_b = the exact int32 sum of the block's 32
 * products (|s_b| < 2^24, so (float)s_b is exact) and
 *     acc = fmaf(d_w * d_a, (float)s_b, acc)
 * (d_w * d_a rounded to float first), one chain per output from acc = +0;
 * the result is acc. The same invariance holds within the table; its
 * other weight types are those of "avx512", bit for bit. Its outputs are
 * not those of "scalar", and tests hold it to this definition instead. */
#ifndef GLIMP_KERNELS_KERNELS_H
#define GLIMP_KERNELS_KERNELS_H

#include "kernels/matmul.h"

#include <stddef.h>
#include <stdint.h>

/* Formats of the activation rows that a weight type multiplies. */
enum glimp_act {
    GLIMP_ACT_F32, /* the floats themselves */
    GLIMP_ACT_Q8,  /* blocks of 32: see below */
    GLIMP_ACT_Q8K, /* blocks of 256 */
    GLIMP_ACT_COUNT
};

/* A quantized activation row of n elements, in one buffer (64-byte aligned
 * rows, 64-byte aligned start):
 *
 *   Q8  (n % 32 == 0):   qs int8[n] | uqs uint8[n] | d float[n/32] |
 *                        bsum int16[n/32]
 *   Q8K (n % 256 == 0):  qs int8[n] | aqs uint8[n] | d float[n/256] |
 *                        bsum int16[n/32]
 *
 * qs in -127..127, uqs = qs + 128 (for vpdpbusd, which takes one unsigned
 * operand), aqs = |qs| (so that SIMD code needs no abs per weight row),
 * bsum[j] = sum of qs over elements 32j..32j+31. */
size_t glimp_act_row_bytes(enum glimp_act f, uint32_t n);

/* Rows [r0, r1) of w times n_tok activation rows: the activation row of
 * token t starts at (const char *)x + t * x_stride, in the format the kernel
 * table gives for w->type; y[t * ldy + r] receives each result. */
typedef void (*glimp_mm_fn)(const struct glimp_wmat *w, uint32_t r0, uint32_t r1, const void *x,
                            size_t x_stride, uint32_t n_tok, float *y, size_t ldy);

/* Quantize one activation row of n elements (see the layouts above). */
typedef void (*glimp_act_fn)(const float *x, void *y, uint32_t n);

/* Causal attention of n_q query heads that share one key/value head, over
 * n_pos cached positions: head h's query at q + h * head_dim, its output at
 * out + h * head_dim; rows j of k and v at k + j * stride; scores is
 * scratch for n_q * n_pos floats. Each head's output is that of the head
 * alone (n_q only lets a table read each key and value row once for all
 * of them). */
typedef void (*glimp_attn_fn)(const float *q, uint32_t n_q, const float *k, const float *v,
                              size_t stride, uint32_t n_pos, uint32_t head_dim, float *scores,
                              float *out);

/* g[i] = silu(g[i]) * u[i] for i < n. */
typedef void (*glimp_silu_mul_fn)(float *g, const float *u, size_t n);

struct glimp_kernels {
    const char *name;                       /* "ref", "scalar", "avx2"... */
    uint8_t act[GLIMP_TYPE_COUNT];          /* enum glimp_act of each weight type */
    glimp_act_fn quantize[GLIMP_ACT_COUNT]; /* NULL for GLIMP_ACT_F32 */
    glimp_mm_fn matmul[GLIMP_TYPE_COUNT];   /* NULL for types not computed */
    glimp_attn_fn attn;
    glimp_silu_mul_fn silu_mul;
};

/* The act of every table but "ref": the quantized activations each weight
 * type is multiplied with (F32, F16 and BF16 take the floats). */
#define GLIMP_KERNELS_ACT                                                                          \
    {                                                                                              \
        [GLIMP_TYPE_Q8_0] = GLIMP_ACT_Q8, [GLIMP_TYPE_Q4_0] = GLIMP_ACT_Q8,                        \
        [GLIMP_TYPE_Q5_0] = GLIMP_ACT_Q8, [GLIMP_TYPE_Q5_1] = GLIMP_ACT_Q8,                        \
        [GLIMP_TYPE_Q4_K] = GLIMP_ACT_Q8K, [GLIMP_TYPE_Q5_K] = GLIMP_ACT_Q8K,                      \
        [GLIMP_TYPE_Q6_K] = GLIMP_ACT_Q8K,                                                         \
    }

/* Static quantize_q8, quantize_q8k, attn and silu_mul that call table
 * base's: for a table whose own products are all that differ (base names
 * a table that is not a constant expression, so its functions cannot
 * stand in the initializer themselves). */
#define GLIMP_KERNELS_FORWARD(base)                                                                \
    static void quantize_q8(const float *x, void *y, uint32_t n)                                   \
    {                                                                                              \
        (base).quantize[GLIMP_ACT_Q8](x, y, n);                                                    \
    }                                                                                              \
    static void quantize_q8k(const float *x, void *y, uint32_t n)                                  \
    {                                                                                              \
        (base).quantize[GLIMP_ACT_Q8K](x, y, n);                                                   \
    }                                                                                              \
    static void attn(const float *q, uint32_t n_q, const float *k, const float *v, size_t stride,  \
                     uint32_t n_pos, uint32_t head_dim, float *scores, float *out)                 \
    {                                                                                              \
        (base).attn(q, n_q, k, v, stride, n_pos, head_dim, scores, out);                           \
    }                                                                                              \
    static void silu_mul(float *g, const float *u, size_t n)                                       \
    {                                                                                              \
        (base).silu_mul(g, u, n);                                                                  \
    }

/* The fastest kernels this CPU runs (CPU features are detected once).
 * Never NULL. */
const struct glimp_kernels *glimp_kernels_best(void);

/* The kernels a model's kernels parameter names: NULL or "auto": the best;
 * else by name. GLIMP_ERR_INVALID naming an unknown name,
 * GLIMP_ERR_UNSUPPORTED naming one this CPU or build cannot run; *out is
 * NULL then. Reads no environment. */
int glimp_kernels_resolve(const char *name, const struct glimp_kernels **out);

/* One kernel set by name, NULL when unknown or when the CPU lacks it. */
const struct glimp_kernels *glimp_kernels_by_name(const char *name);

/* The tables themselves (kern_*.c). */
extern const struct glimp_kernels glimp_kernels_ref;
extern const struct glimp_kernels glimp_kernels_scalar;
#if defined(__x86_64__)
extern const struct glimp_kernels glimp_kernels_avx2;
/* "avxvnni": "avx2" with vpdpbusd in the products of the types with
 * blocks of 32 (same bits), where the compiler knows AVX-VNNI. */
#if (defined(__clang__) && __clang_major__ >= 12) || (!defined(__clang__) && __GNUC__ >= 11)
#define GLIMP_KERNELS_AVXVNNI 1
extern const struct glimp_kernels glimp_kernels_avxvnni;
#endif
/* "avx512": the fast algorithm with AVX-512 F, BW, VL and VNNI, two
 * accumulators to a 512-bit register (kern_avx512.c). */
extern const struct glimp_kernels glimp_kernels_avx512;
/* "amx": AMX-INT8 tiles for Q8_0 (the amx numerics above), the rest as
 * "avx512"; handed out only where CPUID, the OS (XCR0, and Linux's
 * permission for the tile data) and its self-check allow. */
#if (defined(__clang__) && __clang_major__ >= 12) || (!defined(__clang__) && __GNUC__ >= 11)
#define GLIMP_KERNELS_AMX 1
extern const struct glimp_kernels glimp_kernels_amx;
/* The amx table's Q8_0 products of a few shapes against the amx numerics
 * in plain C, bit for bit: 0, or -1 with what differed in why. Needs a CPU
 * that runs the table. */
int glimp_kernels_amx_check(char *why, size_t why_size);
#endif
#endif
/* The avx512 and amx tables over SIMDe's portable AVX-512 (and, for amx,
 * tile instructions emulated in C), "avx512-emulated" and "amx-emulated":
 * only the tests link them (tests/kern_*_emu.c); the library names them by
 * weak references, absent elsewhere. */
extern const struct glimp_kernels glimp_kernels_avx512_emulated;
extern const struct glimp_kernels glimp_kernels_amx_emulated;

/* CPU features the tables need, as bits of a feature set. The OS_* bits
 * say that the OS saves the registers' state across context switches
 * (XCR0): without it the instructions fault or corrupt. */
enum glimp_cpu_feature {
    GLIMP_CPU_AVX2 = 1u << 0,
    GLIMP_CPU_FMA = 1u << 1,
    GLIMP_CPU_F16C = 1u << 2,
    GLIMP_CPU_OS_YMM = 1u << 3, /* XCR0 bits 1, 2: SSE and AVX state */
    GLIMP_CPU_AVXVNNI = 1u << 4,
    GLIMP_CPU_AVX512F = 1u << 5,
    GLIMP_CPU_AVX512BW = 1u << 6,
    GLIMP_CPU_AVX512VL = 1u << 7,
    GLIMP_CPU_AVX512VNNI = 1u << 8,
    GLIMP_CPU_OS_ZMM = 1u << 9, /* XCR0 bits 5, 6, 7: opmask and ZMM state */
    GLIMP_CPU_AMX_TILE = 1u << 10,
    GLIMP_CPU_AMX_INT8 = 1u << 11,
    GLIMP_CPU_OS_TILE = 1u << 12,      /* XCR0 bits 17, 18: tile config and data */
    GLIMP_CPU_OS_TILE_PERM = 1u << 13, /* Linux let this process use the tile data */
};

/* The features of this CPU and OS (read once). 0 off x86-64. */
uint32_t glimp_kernels_cpu_features(void);

/* The name of the first feature that table name needs and features lacks
 * ("avx512bw", "OS support for AVX-512 state..."); NULL when it has them all,
 * or for a table that needs none or that this build lacks. Pure. */
const char *glimp_kernels_missing(const char *name, uint32_t features);

/* The name of the best table for a feature set, in the order of
 * preference "amx" > "avx512" > "avxvnni" > "avx2" > "scalar", whatever the
 * self-check says. Pure. */
const char *glimp_kernels_pick(uint32_t features);

/* Table k against the scalar table on a small product of every type it
 * computes, its quantizers, attention and SiLU, bit for bit: GLIMP_OK, or
 * GLIMP_ERR_UNSUPPORTED with a message naming what differs. */
int glimp_kernels_selfcheck(const struct glimp_kernels *k);
/* The same but for the products of weight type skip. */
int glimp_kernels_selfcheck_except(const struct glimp_kernels *k, uint32_t skip);

/* "" or what the self-checks found on this CPU ("kernels 'avx512' failed
 * their self-check on this CPU (...): not used"), for the programs to
 * show: the library itself never prints. */
const char *glimp_kernels_note(void);

/* The product function and activation format that table k uses for a
 * weight type: its own, or the "ref" one (float activations) for types it
 * has no kernel for. */
static inline glimp_mm_fn glimp_kernels_mm(const struct glimp_kernels *k, uint32_t type,
                                           enum glimp_act *act)
{
    if (k->matmul[type]) {
        *act = (enum glimp_act)k->act[type];
        return k->matmul[type];
    }
    *act = GLIMP_ACT_F32;
    return glimp_kernels_ref.matmul[type];
}

/* One matrix product for glimp_mm_run: all n_out rows of w times n_tok
 * activation rows (x, x_stride: as glimp_mm_fn) into y (ldy). */
struct glimp_mm_job {
    const struct glimp_wmat *w;
    glimp_mm_fn fn;
    const void *x;
    size_t x_stride;
    uint32_t n_tok;
    float *y;
    size_t ldy;
};

struct glimp_pool;

/* Run the jobs on the threads of pool, which take chunks of rows in turn.
 * Every output is computed by the same code whatever the thread count. */
void glimp_mm_run(struct glimp_pool *pool, const struct glimp_mm_job *jobs, uint32_t n_jobs);

/* The exp and the float dot of the fast algorithm, in portable C (for the
 * scalar table and for tests). */
float glimp_exp_poly(float x);
float glimp_dot_f32_fma(const float *a, const float *b, size_t n);

#endif
