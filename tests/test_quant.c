/* test_quant.c - tensor type conversions: fp16/bf16 bit patterns and
 * rounding, round-trip error bounds of every supported type, hand-packed
 * blocks that pin the bit layouts independently of the quantizers, error
 * paths. Agreement with ggml's own blocks is test_quant_ggml.c's job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "glimp.h"
#include "kernels/quant.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static int fp16_is_nan(uint16_t h)
{
    return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
}

static int bf16_is_nan(uint16_t h)
{
    return (h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0;
}

/* ----------------------------------------------------------- fp16, bf16 */

static void test_fp16_known(void **state)
{
    (void)state;
    assert_int_equal(glimp_fp32_to_fp16(1.0f), 0x3c00);
    assert_int_equal(glimp_fp32_to_fp16(-2.0f), 0xc000);
    assert_int_equal(glimp_fp32_to_fp16(65504.0f), 0x7bff);
    assert_int_equal(glimp_fp32_to_fp16(0x1p-24f), 0x0001);
    assert_int_equal(glimp_fp32_to_fp16(0x1p-14f), 0x0400);   /* smallest normal */
    assert_int_equal(glimp_fp32_to_fp16(0x3ffp-24f), 0x03ff); /* largest subnormal */
    assert_int_equal(glimp_fp32_to_fp16(0.0f), 0x0000);
    assert_int_equal(glimp_fp32_to_fp16(-0.0f), 0x8000);
    assert_int_equal(glimp_fp32_to_fp16(INFINITY), 0x7c00);
    assert_int_equal(glimp_fp32_to_fp16(-INFINITY), 0xfc00);
    /* Overflow: 65520 is the tie between 65504 and 2^16, goes to inf (even). */
    assert_int_equal(glimp_fp32_to_fp16(65519.0f), 0x7bff);
    assert_int_equal(glimp_fp32_to_fp16(65520.0f), 0x7c00);
    assert_int_equal(glimp_fp32_to_fp16(-1e6f), 0xfc00);
    assert_int_equal(glimp_fp32_to_fp16(3.4e38f), 0x7c00);
    /* Ties to even: 1 + 2^-11 lies between 0x3c00 and 0x3c01. */
    assert_int_equal(glimp_fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);
    assert_int_equal(glimp_fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);
    assert_int_equal(glimp_fp32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
    /* ... and among subnormals: 2^-25 ties to 0, 3 * 2^-25 to 2 * 2^-24. */
    assert_int_equal(glimp_fp32_to_fp16(0x1p-25f), 0x0000);
    assert_int_equal(glimp_fp32_to_fp16(3 * 0x1p-25f), 0x0002);
    assert_int_equal(glimp_fp32_to_fp16(0x1.000002p-25f), 0x0001);
    assert_int_equal(glimp_fp32_to_fp16(0x1p-30f), 0x0000);
    assert_int_equal(glimp_fp32_to_fp16(-0x1p-30f), 0x8000);
    /* Rounding up out of the subnormals lands on the smallest normal. */
    assert_int_equal(glimp_fp32_to_fp16(0x3ffp-24f + 0x1.8p-25f), 0x0400);
    /* NaN stays NaN, even with a payload only in bits fp16 drops. */
    assert_true(fp16_is_nan(glimp_fp32_to_fp16(NAN)));
    assert_true(fp16_is_nan(glimp_fp32_to_fp16(f32_from_bits(0x7f800001))));
    assert_true(fp16_is_nan(glimp_fp32_to_fp16(f32_from_bits(0xff800001))));
    assert_true(glimp_fp32_to_fp16(f32_from_bits(0x7f800001)) & 0x0200); /* quiet */

    assert_true(glimp_fp16_to_fp32(0x3c00) == 1.0f);
    assert_true(glimp_fp16_to_fp32(0xc000) == -2.0f);
    assert_true(glimp_fp16_to_fp32(0x7bff) == 65504.0f);
    assert_true(glimp_fp16_to_fp32(0x0001) == 0x1p-24f);
    assert_true(glimp_fp16_to_fp32(0x8001) == -0x1p-24f);
    assert_true(glimp_fp16_to_fp32(0x03ff) == 0x3ffp-24f);
    assert_true(glimp_fp16_to_fp32(0x3555) == 0x1.554p-2f);
    assert_int_equal(f32_bits(glimp_fp16_to_fp32(0x8000)), 0x80000000u);
    assert_true(glimp_fp16_to_fp32(0x7c00) == INFINITY);
    assert_true(glimp_fp16_to_fp32(0xfc00) == -INFINITY);
    assert_true(isnan(glimp_fp16_to_fp32(0x7e00)));
    assert_true(isnan(glimp_fp16_to_fp32(0x7c01)));
}

static void test_bf16_known(void **state)
{
    (void)state;
    assert_int_equal(glimp_fp32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(glimp_fp32_to_bf16(-2.0f), 0xc000);
    assert_int_equal(glimp_fp32_to_bf16(-0.0f), 0x8000);
    assert_int_equal(glimp_fp32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(glimp_fp32_to_bf16(-INFINITY), 0xff80);
    /* Ties to even, and just above a tie. */
    assert_int_equal(glimp_fp32_to_bf16(f32_from_bits(0x3f808000)), 0x3f80);
    assert_int_equal(glimp_fp32_to_bf16(f32_from_bits(0x3f818000)), 0x3f82);
    assert_int_equal(glimp_fp32_to_bf16(f32_from_bits(0x3f808001)), 0x3f81);
    assert_int_equal(glimp_fp32_to_bf16(f32_from_bits(0x3f807fff)), 0x3f80);
    /* Largest finite bf16, and the float maximum rounding up to inf. */
    assert_int_equal(glimp_fp32_to_bf16(f32_from_bits(0x7f7f7fff)), 0x7f7f);
    assert_int_equal(glimp_fp32_to_bf16(3.4028235e38f), 0x7f80);
    /* Subnormals: smallest bf16 subnormal is 2^-133. */
    assert_int_equal(glimp_fp32_to_bf16(0x1p-133f), 0x0001);
    assert_true(glimp_bf16_to_fp32(0x0001) == 0x1p-133f);
    assert_true(bf16_is_nan(glimp_fp32_to_bf16(NAN)));
    assert_true(bf16_is_nan(glimp_fp32_to_bf16(f32_from_bits(0x7f800001))));
    assert_true(bf16_is_nan(glimp_fp32_to_bf16(f32_from_bits(0xffffffff))));
    assert_true(glimp_bf16_to_fp32(0x3f80) == 1.0f);
    assert_true(glimp_bf16_to_fp32(0xc000) == -2.0f);
    assert_true(glimp_bf16_to_fp32(0x7f80) == INFINITY);
    assert_true(isnan(glimp_bf16_to_fp32(0x7fc0)));
}

/* Every non-NaN half survives half -> float -> half; every NaN stays NaN. */
static void test_fp16_exhaustive_roundtrip(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = glimp_fp16_to_fp32((uint16_t)h);
        uint16_t back = glimp_fp32_to_fp16(f);
        if (fp16_is_nan((uint16_t)h)) {
            assert_true(isnan(f));
            assert_true(fp16_is_nan(back));
        } else if (back != h) {
            fail_msg("fp16 0x%04x -> %a -> 0x%04x", h, (double)f, back);
        }
    }
}

static void test_bf16_exhaustive_roundtrip(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = glimp_bf16_to_fp32((uint16_t)h);
        uint16_t back = glimp_fp32_to_bf16(f);
        if (bf16_is_nan((uint16_t)h)) {
            assert_true(isnan(f));
            assert_true(bf16_is_nan(back));
        } else if (back != h) {
            fail_msg("bf16 0x%04x -> %a -> 0x%04x", h, (double)f, back);
        }
    }
}

/* For every pair of neighbouring finite values a < b of a 16-bit format:
 * the midpoint goes to the one with an even pattern, and one float ulp
 * either side of it goes to the nearer one. Both signs. The midpoint of two
 * 11-bit (or 8-bit) significands is exact in float. */
static void check_neighbour_rounding(float (*widen)(uint16_t), uint16_t (*narrow)(float),
                                     uint16_t last_finite, const char *name)
{
    for (uint32_t h = 0; h <= last_finite; h++) {
        double a = widen((uint16_t)h);
        double b = widen((uint16_t)(h + 1));
        if (isinf(b)) /* the next step above the largest finite value */
            b = a + (a - (double)widen((uint16_t)(h - 1)));
        float mid = (float)((a + b) / 2);
        assert_true((double)mid == (a + b) / 2);
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        for (int neg = 0; neg < 2; neg++) {
            float sg = neg ? -1.0f : 1.0f;
            uint16_t sb = neg ? 0x8000 : 0;
            uint16_t got_mid = narrow(sg * mid);
            uint16_t got_lo = narrow(sg * nextafterf(mid, 0.0f));
            uint16_t got_hi = narrow(sg * nextafterf(mid, INFINITY));
            if (got_mid != (even | sb) || got_lo != (h | sb) || got_hi != ((h + 1) | sb))
                fail_msg("%s between 0x%04x and 0x%04x (sign %d): mid->0x%04x below->0x%04x "
                         "above->0x%04x",
                         name, h, h + 1, neg, got_mid, got_lo, got_hi);
        }
    }
}

static void test_fp16_rounding_exhaustive(void **state)
{
    (void)state;
    check_neighbour_rounding(glimp_fp16_to_fp32, glimp_fp32_to_fp16, 0x7bff, "fp16");
}

/* A second implementation: the F16C instruction (vcvtps2ph, round to
 * nearest even), where the compiler and the CPU have it. Every float of the
 * top binade of fp16 and past it (0x1p15 .. 0x1.2p16: 65504, the 65520 tie,
 * overflow), both signs, and every 4099th float of the whole range. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_F16C_CHECK 1
__attribute__((target("f16c"))) static uint16_t f16c_narrow(float x)
{
    return (uint16_t)_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT);
}
#endif

static void test_fp16_vs_f16c(void **state)
{
    (void)state;
#ifdef HAVE_F16C_CHECK
    /* CPUID leaf 1, ECX bit 29 (clang 14's __builtin_cpu_supports has no "f16c") */
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 29))) {
        print_message("fp16: this CPU has no F16C; the check against it is skipped\n");
        skip();
    }
    size_t n = 0;
    for (uint32_t sign = 0; sign < 2; sign++) {
        for (uint32_t a = 0x47000000; a < 0x47900000; a++, n++) {
            float x = f32_from_bits(sign << 31 | a);
            uint16_t got = glimp_fp32_to_fp16(x), want = f16c_narrow(x);
            if (got != want)
                fail_msg("fp16(%a) = 0x%04x, F16C says 0x%04x", (double)x, got, want);
        }
    }
    for (uint64_t u = 0; u <= 0xffffffffu; u += 4099, n++) {
        float x = f32_from_bits((uint32_t)u);
        uint16_t got = glimp_fp32_to_fp16(x), want = f16c_narrow(x);
        if (isnan(x) ? !(fp16_is_nan(got) && fp16_is_nan(want)) : got != want)
            fail_msg("fp16 of bits 0x%08x = 0x%04x, F16C says 0x%04x", (unsigned)u, got, want);
    }
    print_message("fp16: %zu floats agree with F16C\n", n);
#else
    skip();
#endif
}

static void test_bf16_rounding_exhaustive(void **state)
{
    (void)state;
    check_neighbour_rounding(glimp_bf16_to_fp32, glimp_fp32_to_bf16, 0x7f7f, "bf16");
}

/* ------------------------------------------------------ round-trip bounds */

/* Stated error bounds. For the block types, as fractions of the block's (the
 * super-block's for K types) largest |x|: the largest error of any element,
 * and the RMS over all elements of error / block max. The float types are
 * bounded per element relative to |x| (plus half the smallest subnormal for
 * F16). Q4_0's max bound is its worst case by construction: when the
 * largest-magnitude element is negative, positive values reach only 7/8 of
 * it, so a value near +max|x| is off by up to max|x| / 8 (plus the fp16
 * rounding of d); Q5_0's likewise, with 15/16 and max|x| / 16. Q5_1's is
 * half a step of a range up to 2 max|x| on 31 steps: max|x| / 31. */
struct bound {
    enum glimp_type type;
    double max_frac;
    double rms_frac;
};

static const struct bound q_bounds[] = {
    {GLIMP_TYPE_Q8_0, 0.0040, 0.0025}, {GLIMP_TYPE_Q4_0, 0.1260, 0.0400},
    {GLIMP_TYPE_Q5_0, 0.0630, 0.0200}, {GLIMP_TYPE_Q5_1, 0.0330, 0.0200},
    {GLIMP_TYPE_Q4_K, 0.1250, 0.0350}, {GLIMP_TYPE_Q5_K, 0.0650, 0.0180},
    {GLIMP_TYPE_Q6_K, 0.0300, 0.0090},
};

enum dist {
    D_NORMAL,
    D_UNIFORM,
    D_POSITIVE,
    D_NEGATIVE,
    D_HEAVY,
    D_SCALED,
    D_SMALL, /* the size of LLM weights */
    D_OUTLIERS,
    D_COUNT
};

static const char *const dist_names[D_COUNT] = {
    "normal", "uniform", "positive", "negative", "heavy", "scaled", "small", "outliers",
};

static void fill(enum dist d, uint64_t seed, float *x, uint64_t n)
{
    uint64_t rng = seed;
    for (uint64_t i = 0; i < n; i++) {
        float v;
        switch (d) {
        case D_NORMAL: v = tu_rng_normal(&rng); break;
        case D_UNIFORM: v = 2.0f * tu_rng_uniform(&rng) - 1.0f; break;
        case D_POSITIVE: v = 0.5f + 1.5f * tu_rng_uniform(&rng); break;
        case D_NEGATIVE: v = -1.0f - 2.0f * tu_rng_uniform(&rng); break;
        case D_HEAVY:
            v = tu_rng_normal(&rng);
            v = v * v * v;
            break;
        case D_SMALL: v = 0.02f * tu_rng_normal(&rng); break;
        case D_SCALED: v = 50.0f * tu_rng_normal(&rng); break;
        case D_OUTLIERS:
        default:
            v = 0.01f * tu_rng_normal(&rng);
            if (i % 97 == 13)
                v = (i & 1) ? 40.0f : -40.0f;
            break;
        }
        x[i] = v;
    }
}

struct stats {
    double max_frac; /* largest |err| / block max|x| */
    double rms_frac; /* RMS of err / block max|x| */
};

/* Quantize then dequantize x; y gets the values read back. */
static void roundtrip(enum glimp_type t, const float *x, float *y, uint64_t n)
{
    uint64_t nbytes = 0;
    assert_int_equal(glimp_type_nbytes(t, n, &nbytes), GLIMP_OK);
    void *q = malloc(nbytes);
    assert_non_null(q);
    assert_int_equal(glimp_quantize(t, x, q, n), GLIMP_OK);
    assert_int_equal(glimp_dequantize(t, q, y, n), GLIMP_OK);
    free(q);
}

static struct stats block_error(enum glimp_type t, const float *x, const float *y, uint64_t n)
{
    uint32_t bs = glimp_type_info(t)->block_size;
    struct stats st = {0, 0};
    double sum = 0;
    for (uint64_t b = 0; b < n / bs; b++) {
        double amax = 0;
        for (uint32_t i = 0; i < bs; i++)
            amax = fmax(amax, fabs((double)x[b * bs + i]));
        for (uint32_t i = 0; i < bs; i++) {
            double yi = y[b * bs + i];
            assert_true(isfinite(yi));
            double e = fabs(yi - (double)x[b * bs + i]);
            double f = amax > 0 ? e / amax : (e == 0 ? 0 : INFINITY);
            st.max_frac = fmax(st.max_frac, f);
            sum += f * f;
        }
    }
    st.rms_frac = sqrt(sum / (double)n);
    return st;
}

#define N_RT 8192 /* elements per distribution: 32 super-blocks */

static void test_roundtrip_q_types(void **state)
{
    (void)state;
    float *x = malloc(N_RT * sizeof *x), *y = malloc(N_RT * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t k = 0; k < sizeof q_bounds / sizeof q_bounds[0]; k++) {
        const struct bound *bd = &q_bounds[k];
        const char *name = glimp_type_info(bd->type)->name;
        struct stats worst = {0, 0};
        for (int d = 0; d < D_COUNT; d++) {
            fill((enum dist)d, 1000 + (uint64_t)d, x, N_RT);
            roundtrip(bd->type, x, y, N_RT);
            struct stats st = block_error(bd->type, x, y, N_RT);
            print_message("  %-5s %-9s max %.5f rms %.5f (of block max|x|)\n", name, dist_names[d],
                          st.max_frac, st.rms_frac);
            if (st.max_frac > bd->max_frac || st.rms_frac > bd->rms_frac)
                fail_msg("%s on %s data: max %.5f rms %.5f exceed bounds %.4f / %.4f", name,
                         dist_names[d], st.max_frac, st.rms_frac, bd->max_frac, bd->rms_frac);
            worst.max_frac = fmax(worst.max_frac, st.max_frac);
            worst.rms_frac = fmax(worst.rms_frac, st.rms_frac);
        }
        print_message("%-5s worst max %.5f (bound %.4f), worst rms %.5f (bound %.4f)\n", name,
                      worst.max_frac, bd->max_frac, worst.rms_frac, bd->rms_frac);
    }
    free(x);
    free(y);
}

/* F32 exact; F16 within 2^-11 |x| (+ 2^-25 for subnormal results); BF16
 * within 2^-8 |x|. */
static void test_roundtrip_float_types(void **state)
{
    (void)state;
    float *x = malloc(N_RT * sizeof *x), *y = malloc(N_RT * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (int d = 0; d < D_COUNT; d++) {
        fill((enum dist)d, 2000 + (uint64_t)d, x, N_RT);
        roundtrip(GLIMP_TYPE_F32, x, y, N_RT);
        assert_memory_equal(x, y, N_RT * sizeof *x);
        double w16 = 0, wb16 = 0;
        roundtrip(GLIMP_TYPE_F16, x, y, N_RT);
        for (int i = 0; i < N_RT; i++) {
            double e = fabs((double)y[i] - x[i]);
            if (e > 0x1p-11 * fabs(x[i]) + 0x1p-25)
                fail_msg("F16 %s: %a -> %a", dist_names[d], (double)x[i], (double)y[i]);
            if (fabs(x[i]) >= 0x1p-14)
                w16 = fmax(w16, e / fabs(x[i]));
        }
        roundtrip(GLIMP_TYPE_BF16, x, y, N_RT);
        for (int i = 0; i < N_RT; i++) {
            double e = fabs((double)y[i] - x[i]);
            if (e > 0x1p-8 * fabs(x[i]))
                fail_msg("BF16 %s: %a -> %a", dist_names[d], (double)x[i], (double)y[i]);
            wb16 = fmax(wb16, x[i] != 0 ? e / fabs(x[i]) : 0);
        }
        print_message("  %-9s F16 max rel %.3g (2^-11 = %.3g), BF16 max rel %.3g (2^-8 = %.3g)\n",
                      dist_names[d], w16, 0x1p-11, wb16, 0x1p-8);
    }
    free(x);
    free(y);
}

static const enum glimp_type all_types[] = {
    GLIMP_TYPE_F32,  GLIMP_TYPE_F16,  GLIMP_TYPE_BF16, GLIMP_TYPE_Q8_0, GLIMP_TYPE_Q4_0,
    GLIMP_TYPE_Q5_0, GLIMP_TYPE_Q5_1, GLIMP_TYPE_Q4_K, GLIMP_TYPE_Q5_K, GLIMP_TYPE_Q6_K,
};
#define N_TYPES (sizeof all_types / sizeof all_types[0])
#define N_SPECIAL 512 /* two super-blocks */

/* Zeros read back as exact (positive or negative) zeros, never NaN. */
static void test_zero_blocks(void **state)
{
    (void)state;
    float x[N_SPECIAL] = {0}, y[N_SPECIAL];
    for (size_t k = 0; k < N_TYPES; k++) {
        for (int i = 0; i < N_SPECIAL; i++)
            x[i] = (i % 3 == 0) ? -0.0f : 0.0f;
        roundtrip(all_types[k], x, y, N_SPECIAL);
        for (int i = 0; i < N_SPECIAL; i++)
            if (!(y[i] == 0.0f))
                fail_msg("%s: zero -> %g at %d", glimp_type_info(all_types[k])->name, (double)y[i],
                         i);
    }
}

/* One large element among zeros: the outlier within the type's bound (the
 * fp16 scale's precision for these), every zero back as exactly zero. One
 * large element among small noise: within the round-trip bounds. */
static void test_single_outlier(void **state)
{
    (void)state;
    float x[N_SPECIAL], y[N_SPECIAL];
    const float big[] = {100.0f, -100.0f, 0.37f, -5e3f};
    for (size_t k = 0; k < N_TYPES; k++) {
        enum glimp_type t = all_types[k];
        const char *name = glimp_type_info(t)->name;
        for (size_t v = 0; v < sizeof big / sizeof big[0]; v++) {
            for (int pos = 0; pos < N_SPECIAL; pos += 37) {
                memset(x, 0, sizeof x);
                x[pos] = big[v];
                roundtrip(t, x, y, N_SPECIAL);
                for (int i = 0; i < N_SPECIAL; i++) {
                    /* Q4_K/Q5_K make the outlier's sub-block neighbours
                     * s * q - m, near zero but not exactly (d and dmin
                     * round separately), and Q5_1 its block's (d * q + m);
                     * all other zeros are exact. */
                    int affine =
                        t == GLIMP_TYPE_Q4_K || t == GLIMP_TYPE_Q5_K || t == GLIMP_TYPE_Q5_1;
                    int near = i == pos || (affine && i / 32 == pos / 32);
                    double rel = t == GLIMP_TYPE_BF16 ? 0x1p-8 : 0x1p-10;
                    double tol = near ? rel * fabsf(big[v]) : 0.0;
                    if (fabs((double)y[i] - x[i]) > tol)
                        fail_msg("%s: outlier %g at %d: element %d is %g, want %g", name,
                                 (double)big[v], pos, i, (double)y[i], (double)x[i]);
                }
            }
        }
    }
    for (size_t k = 0; k < sizeof q_bounds / sizeof q_bounds[0]; k++) {
        enum glimp_type t = q_bounds[k].type;
        uint64_t rng = 77;
        for (int i = 0; i < N_SPECIAL; i++)
            x[i] = 0.001f * tu_rng_normal(&rng);
        x[300] = -60.0f;
        x[5] = 60.0f;
        roundtrip(t, x, y, N_SPECIAL);
        struct stats st = block_error(t, x, y, N_SPECIAL);
        assert_true(st.max_frac <= q_bounds[k].max_frac);
        assert_true(fabs((double)y[300] + 60.0) <= 0x1p-10 * 60.0);
        assert_true(fabs((double)y[5] - 60.0) <= 0x1p-10 * 60.0);
    }
}

/* A block of equal values v reads back within the fp16 scale's precision:
 * 2^-10 relative (BF16 its own 2^-8). When the type's fp16 super-block scale
 * for v is a subnormal (below 2^-14) it has fewer significant bits, and 2^-8
 * is allowed: the scale is about v / 127 (Q8_0), v / 8 (Q4_0), v / 16
 * (Q5_0), v / (15 * 63) (Q4_K), v / (31 * 63) (Q5_K), v / (32 * 128) (Q6_K);
 * Q5_1 stores v itself as its offset m (d = 0). */
static double scale_divisor(enum glimp_type t)
{
    switch (t) {
    case GLIMP_TYPE_Q8_0: return 127;
    case GLIMP_TYPE_Q4_0: return 8;
    case GLIMP_TYPE_Q5_0: return 16;
    case GLIMP_TYPE_Q4_K: return 15 * 63;
    case GLIMP_TYPE_Q5_K: return 31 * 63;
    case GLIMP_TYPE_Q6_K: return 32 * 128;
    default: return 1;
    }
}

static void test_all_equal(void **state)
{
    (void)state;
    float x[N_SPECIAL], y[N_SPECIAL];
    const float vals[] = {0.3f, -0.3f, 7.0f, -123.456f, 0.05f, -0.05f, 1e-3f, -1e-3f};
    for (size_t k = 0; k < N_TYPES; k++) {
        enum glimp_type t = all_types[k];
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            for (int i = 0; i < N_SPECIAL; i++)
                x[i] = vals[v];
            roundtrip(t, x, y, N_SPECIAL);
            int coarse = t == GLIMP_TYPE_BF16 || fabsf(vals[v]) / scale_divisor(t) < 0x1p-14;
            double tol = (coarse ? 0x1p-8 : 0x1p-10) * fabsf(vals[v]);
            double worst = 0;
            for (int i = 0; i < N_SPECIAL; i++) {
                double e = fabs((double)y[i] - vals[v]);
                worst = fmax(worst, e / fabsf(vals[v]));
                if (e > tol)
                    fail_msg("%s: all %g: element %d is %g", glimp_type_info(t)->name,
                             (double)vals[v], i, (double)y[i]);
            }
            if (coarse && t != GLIMP_TYPE_BF16)
                print_message("  %-5s all %g: max rel error %.2e\n", glimp_type_info(t)->name,
                              (double)vals[v], worst);
        }
    }
}

/* --------------------------------------------------- hand-written blocks */

/* Bytes written out by hand (little-endian fp16), values worked out by hand
 * in the comments. */
static void test_hand_q8_0(void **state)
{
    (void)state;
    uint8_t blk[34] = {0x00, 0x38}; /* d = 0x3800 = 0.5 */
    blk[2 + 0] = 1;
    blk[2 + 1] = 0xff; /* -1 */
    blk[2 + 2] = 127;
    blk[2 + 3] = 0x81; /* -127 */
    blk[2 + 4] = 0x80; /* -128 */
    blk[2 + 31] = 10;
    float y[32];
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_Q8_0, blk, y, 32), GLIMP_OK);
    const float want[6] = {0.5f, -0.5f, 63.5f, -63.5f, -64.0f, 0.0f};
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == want[i]);
    for (int i = 5; i < 31; i++)
        assert_true(y[i] == 0.0f);
    assert_true(y[31] == 5.0f);
}

static void test_hand_q4_0(void **state)
{
    (void)state;
    uint8_t blk[18] = {0x00, 0xc0}; /* d = 0xc000 = -2 */
    memset(blk + 2, 0x88, 16);      /* q = 8 everywhere: value 0 */
    blk[2 + 0] = 0x0f;              /* x[0]: (15-8)*-2 = -14; x[16]: (0-8)*-2 = 16 */
    blk[2 + 2] = 0x9a;              /* x[2]: (10-8)*-2 = -4;  x[18]: (9-8)*-2 = -2 */
    blk[2 + 15] = 0x70;             /* x[15]: (0-8)*-2 = 16; x[31]: (7-8)*-2 = 2 */
    float y[32];
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_Q4_0, blk, y, 32), GLIMP_OK);
    for (int i = 0; i < 32; i++) {
        float want = 0.0f;
        switch (i) {
        case 0: want = -14; break;
        case 16: want = 16; break;
        case 2: want = -4; break;
        case 18: want = -2; break;
        case 15: want = 16; break;
        case 31: want = 2; break;
        }
        if (y[i] != want)
            fail_msg("Q4_0 element %d: %g, want %g", i, (double)y[i], (double)want);
    }
}

/* Q5_0 and Q5_1: qs as Q4_0 (byte j: element j low, j + 16 high nibble),
 * fifth bit of element e in qh[e / 8] bit e % 8. */
static void test_hand_q5_0(void **state)
{
    (void)state;
    uint8_t blk[22] = {0x00, 0x40}; /* d = 0x4000 = 2 */
    uint8_t *qh = blk + 2, *qs = blk + 6;
    memset(qh, 0xff, 4); /* fifth bits set, low bits 0: q = 16 everywhere, value 0 */
    qh[1] = 0x7d;        /* clears the fifth bits of elements 9 and 15 */
    qh[2] = 0xfe;        /* clears element 16's */
    qs[0] = 0x3f;        /* x[0]: q 15+16 = 31: (31-16)*2 = 30;  x[16]: q 3: (3-16)*2 = -26 */
    qs[9] = 0x05;        /* x[9]: q 5: -22;  x[25]: q 0+16: 0 */
    qs[15] = 0xa0;       /* x[15]: q 0: -32;  x[31]: q 10+16 = 26: 20 */
    float y[32];
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_Q5_0, blk, y, 32), GLIMP_OK);
    for (int i = 0; i < 32; i++) {
        float want = 0.0f;
        switch (i) {
        case 0: want = 30; break;
        case 16: want = -26; break;
        case 9: want = -22; break;
        case 15: want = -32; break;
        case 31: want = 20; break;
        }
        if (y[i] != want)
            fail_msg("Q5_0 element %d: %g, want %g", i, (double)y[i], (double)want);
    }
}

static void test_hand_q5_1(void **state)
{
    (void)state;
    /* d = 0x3800 = 0.5, m = 0xc200 = -3; all levels 0 (value -3) but: */
    uint8_t blk[24] = {0x00, 0x38, 0x00, 0xc2};
    uint8_t *qh = blk + 4, *qs = blk + 8;
    qh[0] = 0x01;  /* element 0's fifth bit */
    qh[2] = 0x41;  /* elements 16 and 22 */
    qh[3] = 0x80;  /* element 31 */
    qs[0] = 0x1f;  /* x[0]: q 15+16 = 31: 15.5 - 3 = 12.5;  x[16]: q 1+16 = 17: 5.5 */
    qs[6] = 0x06;  /* x[6]: q 6: 0;  x[22]: q 0+16: 5 */
    qs[15] = 0x90; /* x[15]: q 0: -3;  x[31]: q 9+16 = 25: 9.5 */
    float y[32];
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_Q5_1, blk, y, 32), GLIMP_OK);
    for (int i = 0; i < 32; i++) {
        float want = -3.0f;
        switch (i) {
        case 0: want = 12.5f; break;
        case 16: want = 5.5f; break;
        case 6: want = 0.0f; break;
        case 22: want = 5.0f; break;
        case 31: want = 9.5f; break;
        }
        if (y[i] != want)
            fail_msg("Q5_1 element %d: %g, want %g", i, (double)y[i], (double)want);
    }
}

/* The scale bytes shared by the Q4_K and Q5_K hand blocks; decoded by hand:
 *   sc = {2, 3, 0, 1, 17, 0, 0, 48}   m = {5, 0, 0, 63, 2, 32, 0, 15}
 * e.g. sc[4] = (s[8] & 15) | (s[0] >> 6) << 4 = 1 | 16 = 17,
 *      m[4]  = (s[8] >> 4) | (s[4] >> 6) << 4 = 2,
 *      m[5]  = (s[9] >> 4) | (s[5] >> 6) << 4 = 0 | 32 = 32,
 *      sc[7] = (s[11] & 15) | (s[3] >> 6) << 4 = 0 | 48 = 48,
 *      m[7]  = (s[11] >> 4) | (s[7] >> 6) << 4 = 15. */
static const uint8_t hand_k4_scales[12] = {0x42, 0x03, 0x00, 0xc1, 0x05, 0x80,
                                           0x00, 0x3f, 0x21, 0x00, 0x00, 0xf0};
static const float hand_k4_m[8] = {5, 0, 0, 63, 2, 32, 0, 15};

static void test_hand_q4_K(void **state)
{
    (void)state;
    uint8_t blk[144] = {0x00, 0x3c, 0x00, 0x38}; /* d = 1, dmin = 0.5 */
    memcpy(blk + 4, hand_k4_scales, 12);
    uint8_t *qs = blk + 16;
    qs[0] = 0x3a;      /* x[0] (sub 0, q 10): 2*10 - 0.5*5 = 17.5;  x[32] (sub 1, q 3): 9 */
    qs[64] = 0x7c;     /* x[128] (sub 4, q 12): 17*12 - 1 = 203;  x[160] (sub 5, q 7): -16 */
    qs[96 + 5] = 0xf1; /* x[197] (sub 6, q 1): 0;  x[229] (sub 7, q 15): 720 - 7.5 = 712.5 */
    float y[256];
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_Q4_K, blk, y, 256), GLIMP_OK);
    for (int i = 0; i < 256; i++) {
        float want = -0.5f * hand_k4_m[i / 32]; /* q = 0 */
        switch (i) {
        case 0: want = 17.5f; break;
        case 32: want = 9.0f; break;
        case 128: want = 203.0f; break;
        case 160: want = -16.0f; break;
        case 197: want = 0.0f; break;
        case 229: want = 712.5f; break;
        }
        if (y[i] != want)
            fail_msg("Q4_K element %d: %g, want %g", i, (double)y[i], (double)want);
    }
}

static void test_hand_q5_K(void **state)
{
    (void)state;
    uint8_t blk[176] = {0x00, 0x3c, 0x00, 0x38}; /* d = 1, dmin = 0.5 */
    memcpy(blk + 4, hand_k4_scales, 12);
    uint8_t *qh = blk + 16, *qs = blk + 48;
    qs[0] = 0x3a;
    qh[0] = 0x03; /* x[0]: q 10+16 = 26: 52 - 2.5 = 49.5;  x[32]: q 3+16 = 19: 57 */
    qh[1] = 0x10; /* bit 4 = chunk 2 low: x[129] (sub 4): q 16: 272 - 1 = 271 */
    qs[96 + 5] = 0xf1;
    qh[5] = 0x80;       /* bit 7 = chunk 3 high: x[229]: q 31: 1488 - 7.5 = 1480.5;  x[197]: 0 */
    qs[32 + 31] = 0x50; /* x[95] (sub 2): q 0;  x[127] (sub 3, sc 1, m 63): low 5 */
    qh[31] = 0x08;      /* bit 3 = chunk 1 high: x[127]: q 5+16 = 21: 21 - 31.5 = -10.5 */
    float y[256];
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_Q5_K, blk, y, 256), GLIMP_OK);
    for (int i = 0; i < 256; i++) {
        float want = -0.5f * hand_k4_m[i / 32];
        switch (i) {
        case 0: want = 49.5f; break;
        case 32: want = 57.0f; break;
        case 129: want = 271.0f; break;
        case 229: want = 1480.5f; break;
        case 197: want = 0.0f; break;
        case 127: want = -10.5f; break;
        }
        if (y[i] != want)
            fail_msg("Q5_K element %d: %g, want %g", i, (double)y[i], (double)want);
    }
}

static void test_hand_q6_K(void **state)
{
    (void)state;
    uint8_t blk[210] = {0};
    uint8_t *ql = blk, *qh = blk + 128;
    int8_t *sc = (int8_t *)(blk + 192);
    const int8_t scales[16] = {1, -2, 3, 4, -5, 6, 7, -8, 10, -128, 11, 12, 13, 2, 127, -1};
    memcpy(sc, scales, 16);
    blk[208] = 0x00;
    blk[209] = 0x38; /* d = 0.5 */
    /* Where ql and qh are 0 the stored 6 bits are 0: q = -32, x = -16 * sc. */
    ql[0] = 0x21;  /* x[0] low 1, x[64] low 2 */
    ql[32] = 0x5f; /* x[32] low 15, x[96] low 5 */
    qh[0] = 0xe4;  /* 11 10 01 00: x[96] hi 3, x[64] hi 2, x[32] hi 1, x[0] hi 0 */
    /* x[0]:  u 1  -> q -31, sc[0] 1:  -15.5
     * x[32]: u 31 -> q -1,  sc[2] 3:  -1.5
     * x[64]: u 34 -> q 2,   sc[4] -5: -5
     * x[96]: u 53 -> q 21,  sc[6] 7:  73.5 */
    ql[64 + 17] = 0x0f; /* second half, l 17: x[145] low 15, x[209] low 0 */
    qh[32 + 17] = 0x03; /* x[145] hi 3 -> u 63, q 31, sc[9] -128: -1984
                           x[209] u 0 -> q -32, sc[13] 2: -32 */
    float y[256];
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_Q6_K, blk, y, 256), GLIMP_OK);
    for (int i = 0; i < 256; i++) {
        float want = -16.0f * scales[i / 16];
        switch (i) {
        case 0: want = -15.5f; break;
        case 32: want = -1.5f; break;
        case 64: want = -5.0f; break;
        case 96: want = 73.5f; break;
        case 145: want = -1984.0f; break;
        case 209: want = -32.0f; break;
        }
        if (y[i] != want)
            fail_msg("Q6_K element %d: %g, want %g", i, (double)y[i], (double)want);
    }
}

static void test_hand_float_types(void **state)
{
    (void)state;
    const uint8_t f16[8] = {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0xff, 0x7b};
    const uint8_t b16[6] = {0x80, 0x3f, 0x00, 0xc0, 0x49, 0x40}; /* 1, -2, 3.140625 */
    float y[4];
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_F16, f16, y, 4), GLIMP_OK);
    assert_true(y[0] == 1.0f && y[1] == -2.0f && y[2] == 0x1p-24f && y[3] == 65504.0f);
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_BF16, b16, y, 3), GLIMP_OK);
    assert_true(y[0] == 1.0f && y[1] == -2.0f && y[2] == 3.140625f);
    uint8_t out[8];
    const float x[4] = {1.0f, -2.0f, 0x1p-24f, 65504.0f};
    assert_int_equal(glimp_quantize(GLIMP_TYPE_F16, x, out, 4), GLIMP_OK);
    assert_memory_equal(out, f16, 8);
}

/* ------------------------------------- K-type layouts from the description */

/* Each test packs a block with its own small packer, written from the layout
 * text (quant.h), not from the library: distinct scales and mins per
 * sub-block, a position-dependent level per element. Every element must read
 * back as d * sc[sub] * q - dmin * m[sub]; d and dmin are powers of two so
 * the expected values are exact. */

static const uint8_t lay_sc[8] = {1, 7, 13, 19, 33, 47, 58, 63};
static const uint8_t lay_m[8] = {63, 50, 2, 17, 0, 29, 44, 5};

/* Layout text: j < 4: scale = s[j] & 63, min = s[j+4] & 63; j >= 4: scale =
 * (s[j+4] & 0xF) | ((s[j-4] >> 6) << 4), min = (s[j+4] >> 4) | ((s[j] >> 6)
 * << 4). */
static void pack_k4_scales(uint8_t s[12], const uint8_t *sc, const uint8_t *m)
{
    memset(s, 0, 12);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            s[j] |= sc[j];
            s[j + 4] |= m[j];
        } else {
            s[j + 4] |= (uint8_t)((sc[j] & 0xf) | ((m[j] & 0xf) << 4));
            s[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            s[j] |= (uint8_t)((m[j] >> 4) << 6);
        }
    }
}

/* Layout text: 64-element chunk c uses qs[32c .. 32c+31]; low nibbles are
 * sub-block 2c, high nibbles sub-block 2c+1. Q5_K: qh[l] bit 2c is the 16s
 * bit of element l of sub-block 2c, bit 2c+1 that of sub-block 2c+1. */
static void pack_k4_levels(uint8_t *qs, uint8_t *qh, const uint8_t *q)
{
    memset(qs, 0, 128);
    if (qh)
        memset(qh, 0, 32);
    for (int e = 0; e < 256; e++) {
        int sub = e / 32, c = sub / 2, l = e % 32, high = sub % 2;
        qs[32 * c + l] |= (uint8_t)((q[e] & 15) << (high ? 4 : 0));
        if (qh)
            qh[l] |= (uint8_t)(((q[e] >> 4) & 1) << (2 * c + high));
    }
}

static void check_k4_layout(enum glimp_type t, int qmax)
{
    uint8_t q[256];
    for (int e = 0; e < 256; e++) /* no period 16 or 32 within a sub-block */
        q[e] = (uint8_t)((qmax == 15 ? e + e / 16 : e + 7 * (e / 32)) % (qmax + 1));
    uint8_t blk[176] = {0x00, 0x38, 0x00, 0x34}; /* d = 0.5, dmin = 0.25 */
    pack_k4_scales(blk + 4, lay_sc, lay_m);
    if (t == GLIMP_TYPE_Q4_K)
        pack_k4_levels(blk + 16, NULL, q);
    else
        pack_k4_levels(blk + 48, blk + 16, q);
    float y[256];
    assert_int_equal(glimp_dequantize(t, blk, y, 256), GLIMP_OK);
    for (int e = 0; e < 256; e++) {
        int sub = e / 32;
        float want = 0.5f * lay_sc[sub] * q[e] - 0.25f * lay_m[sub];
        if (y[e] != want)
            fail_msg("%s element %d (sub-block %d, q %d): %g, want %g", glimp_type_info(t)->name, e,
                     sub, q[e], (double)y[e], (double)want);
    }
}

static void test_layout_q4_K(void **state)
{
    (void)state;
    check_k4_layout(GLIMP_TYPE_Q4_K, 15);
}

static void test_layout_q5_K(void **state)
{
    (void)state;
    check_k4_layout(GLIMP_TYPE_Q5_K, 31);
}

/* Layout text: half h = e / 128 uses ql + 64h, qh + 32h, scales + 8h; within
 * it, r = e % 128, l = r % 32, group g = r / 32: the low four bits are in
 * ql[l] (g 0), ql[l+32] (g 1), ql[l] >> 4 (g 2), ql[l+32] >> 4 (g 3); the
 * top two bits in qh[l] bits 2g, 2g+1; the scale is scales[r / 16]. */
static void test_layout_q6_K(void **state)
{
    (void)state;
    const int8_t sc[16] = {-128, -97, -60, -33, -9, 1, 14, 27, 40, 55, 71, 86, 99, 113, 120, 127};
    uint8_t u[256];
    for (int e = 0; e < 256; e++)
        u[e] = (uint8_t)((e + e / 64) % 64);
    uint8_t blk[210] = {0};
    uint8_t *ql = blk, *qh = blk + 128;
    for (int e = 0; e < 256; e++) {
        int h = e / 128, r = e % 128, l = r % 32, g = r / 32;
        uint8_t *lo = ql + 64 * h + l + (g % 2) * 32;
        *lo |= (uint8_t)((u[e] & 15) << (g >= 2 ? 4 : 0));
        qh[32 * h + l] |= (uint8_t)((u[e] >> 4) << (2 * g));
        blk[192 + 8 * h + r / 16] = (uint8_t)sc[8 * h + r / 16];
    }
    blk[208] = 0x00;
    blk[209] = 0x38; /* d = 0.5 */
    float y[256];
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_Q6_K, blk, y, 256), GLIMP_OK);
    for (int e = 0; e < 256; e++) {
        float want = 0.5f * sc[e / 16] * (u[e] - 32);
        if (y[e] != want)
            fail_msg("Q6_K element %d (sub-block %d, q %d): %g, want %g", e, e / 16, u[e] - 32,
                     (double)y[e], (double)want);
    }
}

/* Layout text (quant.h): element e's low four bits are qs[e % 16], low
 * nibble for e < 16, high for e >= 16; its fifth bit is qh[e / 8] bit e % 8.
 * Two blocks with different scales, every level 0..31 in each, in a
 * different order per block. Q5_0 reads d * (q - 16), Q5_1 d * q + m. */
static void check_q5_layout(enum glimp_type t)
{
    const int hdr = t == GLIMP_TYPE_Q5_0 ? 2 : 4, bsize = hdr + 20;
    const uint16_t d_bits[2] = {0x3800, 0xc400}; /* 0.5, -4 */
    const float d_val[2] = {0.5f, -4.0f};
    const uint16_t m_bits[2] = {0xbc00, 0x4900}; /* -1, 10 */
    const float m_val[2] = {-1.0f, 10.0f};
    uint8_t blk[2 * 24] = {0};
    uint8_t q[2][32];
    for (int b = 0; b < 2; b++) {
        uint8_t *p = blk + b * bsize;
        p[0] = (uint8_t)(d_bits[b] & 0xff);
        p[1] = (uint8_t)(d_bits[b] >> 8);
        if (t == GLIMP_TYPE_Q5_1) {
            p[2] = (uint8_t)(m_bits[b] & 0xff);
            p[3] = (uint8_t)(m_bits[b] >> 8);
        }
        uint8_t *qh = p + hdr, *qs = p + hdr + 4;
        for (int e = 0; e < 32; e++) {
            q[b][e] = (uint8_t)((7 * e + 3 + 11 * b) % 32); /* 7 is odd: all 32 levels */
            qs[e % 16] |= (uint8_t)((q[b][e] & 15) << (e < 16 ? 0 : 4));
            qh[e / 8] |= (uint8_t)((q[b][e] >> 4) << (e % 8));
        }
    }
    float y[64];
    assert_int_equal(glimp_dequantize(t, blk, y, 64), GLIMP_OK);
    for (int b = 0; b < 2; b++) {
        for (int e = 0; e < 32; e++) {
            float want = t == GLIMP_TYPE_Q5_0 ? d_val[b] * (float)(q[b][e] - 16)
                                              : d_val[b] * (float)q[b][e] + m_val[b];
            if (y[32 * b + e] != want)
                fail_msg("%s block %d element %d (q %d): %g, want %g", glimp_type_info(t)->name, b,
                         e, q[b][e], (double)y[32 * b + e], (double)want);
        }
    }
}

static void test_layout_q5_0(void **state)
{
    (void)state;
    check_q5_layout(GLIMP_TYPE_Q5_0);
}

static void test_layout_q5_1(void **state)
{
    (void)state;
    check_q5_layout(GLIMP_TYPE_Q5_1);
}

/* Q8_0: a block of integers whose largest magnitude is 127 has d = 1 and
 * comes back exactly. */
static void test_q8_0_integers_exact(void **state)
{
    (void)state;
    float x[256], y[256];
    for (int e = 0; e < 256; e++)
        x[e] = (float)((e * 37) % 255 - 127);
    for (int b = 0; b < 8; b++)
        x[32 * b + b] = (b & 1) ? -127.0f : 127.0f;
    roundtrip(GLIMP_TYPE_Q8_0, x, y, 256);
    assert_memory_equal(x, y, sizeof x);
}

/* Q5_0: integers in -16..15 with a -16 in every block have d = 1 and come
 * back exactly. Q5_1: 32 consecutive integers from any (fp16-exact) start
 * have m = that start and d = 1, and come back exactly too. */
static void test_q5_integers_exact(void **state)
{
    (void)state;
    float x[256], y[256];
    for (int e = 0; e < 256; e++)
        x[e] = (float)((e * 13) % 32 - 16);
    for (int b = 0; b < 8; b++)
        x[32 * b + (b * 5) % 32] = -16.0f;
    roundtrip(GLIMP_TYPE_Q5_0, x, y, 256);
    assert_memory_equal(x, y, sizeof x);
    for (int b = 0; b < 8; b++)
        for (int e = 0; e < 32; e++)
            x[32 * b + e] = (float)(b * 37 - 100 + (e * 13) % 32);
    roundtrip(GLIMP_TYPE_Q5_1, x, y, 256);
    assert_memory_equal(x, y, sizeof x);
}

/* ----------------------------------------------------------- error paths */

static void test_errors(void **state)
{
    (void)state;
    float x[64] = {0}, y[64];
    uint8_t buf[512];
    memset(buf, 0xab, sizeof buf);
    memset(y, 0xab, sizeof y);
    const uint32_t bad_types[] = {GLIMP_TYPE_Q4_1,
                                  GLIMP_TYPE_Q2_K,
                                  GLIMP_TYPE_IQ4_NL,
                                  GLIMP_TYPE_I32,
                                  4 /* removed */,
                                  GLIMP_TYPE_COUNT,
                                  1000};
    for (size_t k = 0; k < sizeof bad_types / sizeof bad_types[0]; k++) {
        enum glimp_type t = (enum glimp_type)bad_types[k];
        assert_int_equal(glimp_quantize(t, x, buf, 32), GLIMP_ERR_UNSUPPORTED);
        assert_true(glimp_last_error()[0] != '\0');
        assert_int_equal(glimp_dequantize(t, buf, y, 32), GLIMP_ERR_UNSUPPORTED);
    }
    struct {
        enum glimp_type t;
        uint64_t n;
    } bad_n[] = {
        {GLIMP_TYPE_Q8_0, 33},  {GLIMP_TYPE_Q8_0, 16},  {GLIMP_TYPE_Q4_0, 31},
        {GLIMP_TYPE_Q5_0, 48},  {GLIMP_TYPE_Q5_1, 33},  {GLIMP_TYPE_Q4_K, 32},
        {GLIMP_TYPE_Q5_K, 255}, {GLIMP_TYPE_Q6_K, 257},
    };
    for (size_t k = 0; k < sizeof bad_n / sizeof bad_n[0]; k++) {
        assert_int_equal(glimp_quantize(bad_n[k].t, x, buf, bad_n[k].n), GLIMP_ERR_INVALID);
        assert_non_null(strstr(glimp_last_error(), "block size"));
        assert_int_equal(glimp_dequantize(bad_n[k].t, buf, y, bad_n[k].n), GLIMP_ERR_INVALID);
    }
    assert_int_equal(glimp_quantize(GLIMP_TYPE_F16, NULL, buf, 4), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_F16, buf, NULL, 4), GLIMP_ERR_INVALID);
    /* Nothing was written by any failed call. */
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xab);
    for (size_t i = 0; i < sizeof y; i++)
        assert_int_equal(((uint8_t *)y)[i], 0xab);
    /* n = 0 is a no-op, and a good call writes exactly its bytes. */
    assert_int_equal(glimp_quantize(GLIMP_TYPE_Q8_0, x, buf, 0), GLIMP_OK);
    assert_int_equal(glimp_quantize(GLIMP_TYPE_Q8_0, x, buf, 64), GLIMP_OK);
    assert_int_equal(buf[2 * 34], 0xab);
    assert_int_equal(buf[2 * 34 - 1], 0x00);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp16_known),
        cmocka_unit_test(test_bf16_known),
        cmocka_unit_test(test_fp16_exhaustive_roundtrip),
        cmocka_unit_test(test_bf16_exhaustive_roundtrip),
        cmocka_unit_test(test_fp16_rounding_exhaustive),
        cmocka_unit_test(test_fp16_vs_f16c),
        cmocka_unit_test(test_bf16_rounding_exhaustive),
        cmocka_unit_test(test_roundtrip_q_types),
        cmocka_unit_test(test_roundtrip_float_types),
        cmocka_unit_test(test_zero_blocks),
        cmocka_unit_test(test_single_outlier),
        cmocka_unit_test(test_all_equal),
        cmocka_unit_test(test_hand_q8_0),
        cmocka_unit_test(test_hand_q4_0),
        cmocka_unit_test(test_hand_q5_0),
        cmocka_unit_test(test_hand_q5_1),
        cmocka_unit_test(test_hand_q4_K),
        cmocka_unit_test(test_hand_q5_K),
        cmocka_unit_test(test_hand_q6_K),
        cmocka_unit_test(test_hand_float_types),
        cmocka_unit_test(test_layout_q5_0),
        cmocka_unit_test(test_layout_q5_1),
        cmocka_unit_test(test_layout_q4_K),
        cmocka_unit_test(test_layout_q5_K),
        cmocka_unit_test(test_layout_q6_K),
        cmocka_unit_test(test_q8_0_integers_exact),
        cmocka_unit_test(test_q5_integers_exact),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
