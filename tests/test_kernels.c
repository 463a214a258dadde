/* test_kernels.c - the compute kernels: the SIMD table against the portable
 * "scalar" table of the same algorithm (bit for bit), products of one
 * token against products of many (bit for bit, batch sizes 1..9, odd row
 * counts, row ranges, 1..3 threads), the fast algorithm against the "ref"
 * table (float activations) within stated tolerances, attention, SiLU and
 * exp, and the choice of kernels by name and by CPU features. Every SIMD
 * table the CPU has runs these, and "avx512-emulated" (the avx512 table
 * over SIMDe) on any machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/threadpool.h"
#include "glimp.h"
#include "kernel_fixtures.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "testutil.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fast algorithm against "ref" on one product: max |fast - ref| over
 * the product's outputs, divided by max |ref|, stays below these.
 * Float weights: float activations on both sides, only the order of the
 * sums and FMA differ (measured below 1e-6). Quantized weights: 8-bit
 * activations, one scale per 32 (Q8_0, Q4_0) or per 256 (K-quants) as in
 * llama.cpp; the error is that of the activation rounding (measured
 * 2e-3 .. 6e-3 on these random rows). */
#define TOL_FLOAT 1e-5
#define TOL_QUANT 4e-2
/* The fast algorithm against the exact (float64) product of the same
 * operands, weights dequantized and activations as quantized: only float
 * rounding separates them. */
#define TOL_EXACT 1e-5
/* Attention and SiLU of the fast algorithm against libm's expf: a few ulp. */
#define TOL_ATTN 1e-5

#define N_TOK 9
#define N_OUT 37 /* not a multiple of any tile */

static const uint32_t types[] = {GLIMP_TYPE_F32,  GLIMP_TYPE_F16,  GLIMP_TYPE_BF16, GLIMP_TYPE_Q8_0,
                                 GLIMP_TYPE_Q4_0, GLIMP_TYPE_Q5_0, GLIMP_TYPE_Q5_1, GLIMP_TYPE_Q4_K,
                                 GLIMP_TYPE_Q5_K, GLIMP_TYPE_Q6_K};

/* The best SIMD table, or NULL where the CPU has none. ("amx", with
 * numerics of its own, is tested in test_amx.c.) */
static const struct glimp_kernels *simd(void)
{
    static const char *const order[] = {"amx", "avx512", "avxvnni", "avx2"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (glimp_kernels_by_name(order[i]))
            return glimp_kernels_by_name(order[i]);
    return NULL;
}

/* The table under test: main runs the tests once for every SIMD table the
 * CPU has (or for the scalar one, compared with itself, which still checks
 * batch and thread invariance). */
static const struct glimp_kernels *g_fast;

static const struct glimp_kernels *fast(void)
{
    return g_fast;
}

/* ------------------------------------------------------ matrix products */

/* max |y - exact| / max |exact| where exact multiplies, in double, the
 * dequantized weights with the activations as the kernel saw them. */
static double exact_err(const struct glimp_wmat *w, const struct acts *a, const float *y)
{
    enum glimp_act f;
    glimp_kernels_mm(fast(), w->type, &f);
    uint32_t n = w->n_in, bs = f == GLIMP_ACT_Q8 ? 32 : 256;
    float *row = malloc(n * sizeof *row);
    double *xv = malloc(n * sizeof *xv);
    double max_ref = 0.0, max_diff = 0.0;
    for (uint32_t t = 0; t < N_TOK; t++) {
        const int8_t *q = (const int8_t *)((const char *)a->buf + t * a->stride);
        const float *d = (const float *)(q + 2 * (size_t)n);
        for (uint32_t i = 0; i < n; i++)
            xv[i] = f == GLIMP_ACT_F32 ? (double)((const float *)(const void *)q)[i]
                                       : (double)q[i] * (double)d[i / bs];
        for (uint32_t r = 0; r < N_OUT; r++) {
            assert_int_equal(glimp_dequantize((enum glimp_type)w->type,
                                              (const char *)w->data + r * w->row_bytes, row, n),
                             GLIMP_OK);
            double e = 0.0;
            for (uint32_t i = 0; i < n; i++)
                e += (double)row[i] * xv[i];
            max_ref = fmax(max_ref, fabs(e));
            max_diff = fmax(max_diff, fabs(e - (double)y[t * N_OUT + r]));
        }
    }
    free(row), free(xv);
    return max_diff / max_ref;
}

/* Everything about one weight matrix: quantizers and products of the SIMD
 * and scalar tables equal; every batch size and row range gives the bits
 * of the full product; close to "ref". */
static void check_mat(const struct mat *m, bool compare_ref, const char *what)
{
    const struct glimp_wmat *w = &m->w;
    float *x = make_x(w->n_in, N_TOK, w->type * 101 + w->n_in);
    size_t ny = (size_t)N_TOK * N_OUT;
    float *y = malloc(ny * sizeof *y), *y2 = malloc(ny * sizeof *y), *ys = malloc(ny * sizeof *y);
    float *yr = malloc(ny * sizeof *y);

    struct acts af = prepare(fast(), w, x, N_TOK);
    struct acts as = prepare(&glimp_kernels_scalar, w, x, N_TOK);
    if (memcmp(af.buf, as.buf, as.stride * N_TOK) != 0)
        fail_msg("%s: quantized activations differ between %s and scalar", what, fast()->name);

    /* the whole batch at once: the baseline */
    af.fn(w, 0, N_OUT, af.buf, af.stride, N_TOK, y, N_OUT);
    /* the scalar table of the same algorithm */
    as.fn(w, 0, N_OUT, as.buf, as.stride, N_TOK, ys, N_OUT);
    same_floats(y, ys, ny, what);

    /* batch sizes 1..N_TOK, each window of tokens starting anywhere */
    for (uint32_t b = 1; b <= N_TOK; b++)
        for (uint32_t t0 = 0; t0 + b <= N_TOK; t0 += b) {
            memset(y2, 0, ny * sizeof *y2);
            af.fn(w, 0, N_OUT, (char *)af.buf + t0 * af.stride, af.stride, b, y2 + t0 * N_OUT,
                  N_OUT);
            same_floats(y2 + t0 * N_OUT, y + t0 * N_OUT, (size_t)b * N_OUT, what);
        }
    /* odd row ranges */
    static const uint32_t cuts[] = {0, 1, 6, 7, 20, 33, N_OUT};
    memset(y2, 0, ny * sizeof *y2);
    for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++)
        af.fn(w, cuts[c], cuts[c + 1], af.buf, af.stride, N_TOK, y2, N_OUT);
    same_floats(y2, y, ny, what);

    /* threads: 1, 2, 3 */
    for (uint32_t nt = 1; nt <= 3; nt++) {
        struct glimp_pool *pool = NULL;
        assert_int_equal(glimp_pool_init(nt, &pool), GLIMP_OK);
        struct glimp_mm_job j = {w, af.fn, af.buf, af.stride, N_TOK, y2, N_OUT};
        memset(y2, 0, ny * sizeof *y2);
        glimp_mm_run(pool, &j, 1);
        same_floats(y2, y, ny, what);
        glimp_pool_free(pool);
    }

    double ee = exact_err(w, &af, y);
    if (!(ee <= TOL_EXACT))
        fail_msg("%s: %.3e from the exact product of the same operands", what, ee);

    if (compare_ref) {
        struct acts ar = prepare(&glimp_kernels_ref, w, x, N_TOK);
        ar.fn(w, 0, N_OUT, ar.buf, ar.stride, N_TOK, yr, N_OUT);
        double e = rel_err(y, yr, ny);
        bool quant = glimp_type_info(w->type)->block_size > 1;
        printf("    %-20s fast vs ref: %.2e (tolerance %.0e), vs exact: %.1e\n", what, e,
               quant ? TOL_QUANT : TOL_FLOAT, ee);
        assert_true(e <= (quant ? TOL_QUANT : TOL_FLOAT));
        free(ar.buf);
    }
    free(af.buf), free(as.buf);
    free(x), free(y), free(y2), free(ys), free(yr);
}

static void test_products(void **state)
{
    (void)state;
    printf("    kernels under test: %s\n", fast()->name);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        uint32_t t = types[i];
        uint32_t bs = glimp_type_info(t)->block_size;
        char what[64];
        /* rows of 1, 3 and 2 blocks (K: 256, 768, 512); floats 96 wide */
        static const uint32_t blocks[] = {1, 3, 2};
        for (size_t b = 0; b < 3; b++) {
            uint32_t n_in = bs == 1 ? 96 + 32 * (uint32_t)b : bs * blocks[b];
            struct mat m;
            make_mat(&m, t, n_in, N_OUT, 7 + t + b, false);
            snprintf(what, sizeof what, "%s n_in %u", glimp_type_info(t)->name, n_in);
            check_mat(&m, true, what);
            free(m.data);
        }
    }
}

/* Float rows whose length is no multiple of 8: the zero-padded tail. */
static void test_float_tails(void **state)
{
    (void)state;
    static const uint32_t lens[] = {1, 5, 8, 13, 77};
    for (size_t i = 0; i < 3; i++)
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            struct mat m;
            char what[64];
            make_mat(&m, types[i], lens[l], N_OUT, 40 + l, false);
            snprintf(what, sizeof what, "%s n_in %u", glimp_type_info(types[i])->name, lens[l]);
            check_mat(&m, true, what);
            free(m.data);
        }
}

/* Random block bytes: extreme levels (Q8_0 -128, Q6_K scales -128, every
 * 5- and 6-bit pattern) must not saturate the SIMD integer steps. */
static void test_extreme_blocks(void **state)
{
    (void)state;
    for (size_t i = 3; i < sizeof types / sizeof types[0]; i++) {
        struct mat m;
        char what[64];
        uint32_t bs = glimp_type_info(types[i])->block_size;
        make_mat(&m, types[i], 2 * bs, N_OUT, 90 + i, true);
        snprintf(what, sizeof what, "%s random bytes", glimp_type_info(types[i])->name);
        check_mat(&m, false, what);
        free(m.data);
    }
    /* activations at the clamp: every level +-127 */
    struct mat m;
    make_mat(&m, GLIMP_TYPE_Q8_0, 64, N_OUT, 3, true);
    float *x = malloc(64 * sizeof *x);
    for (int i = 0; i < 64; i++)
        x[i] = i % 3 ? -1.0f : 1.0f;
    struct acts af = prepare(fast(), &m.w, x, 1), as = prepare(&glimp_kernels_scalar, &m.w, x, 1);
    float y[N_OUT], ys[N_OUT];
    af.fn(&m.w, 0, N_OUT, af.buf, af.stride, 1, y, N_OUT);
    as.fn(&m.w, 0, N_OUT, as.buf, as.stride, 1, ys, N_OUT);
    same_floats(y, ys, N_OUT, "Q8_0 at the clamp");
    free(af.buf), free(as.buf), free(x), free(m.data);
}

/* Zero activations: scale 0, levels 0, products exactly 0. */
static void test_zero_activations(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        struct mat m;
        uint32_t bs = glimp_type_info(types[i])->block_size;
        make_mat(&m, types[i], bs == 1 ? 64 : 2 * bs, 5, 1, false);
        float *x = calloc(m.w.n_in, sizeof *x);
        struct acts af = prepare(fast(), &m.w, x, 1);
        float y[5];
        af.fn(&m.w, 0, 5, af.buf, af.stride, 1, y, 5);
        for (int r = 0; r < 5; r++) {
            assert_true(y[r] == 0.0f);
            assert_false(signbit(y[r]));
        }
        free(af.buf), free(x), free(m.data);
    }
}

/* Every tile shape and leftover: 1..70 tokens (past the token block TB of
 * 64) from several starts, 13 rows in odd ranges, each output bit for bit
 * the scalar table's for the same token. */
static void test_shapes(void **state)
{
    (void)state;
    enum { NT = 70, NR = 13 };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        uint32_t bs = glimp_type_info(types[i])->block_size;
        uint32_t n_in = bs == 1 ? 77 : bs == 32 ? 64 : 256;
        struct mat m;
        make_mat(&m, types[i], n_in, NR, 500 + i, i % 2 == 1);
        float *x = make_x(n_in, NT, 600 + i);
        struct acts af = prepare(fast(), &m.w, x, NT),
                    as = prepare(&glimp_kernels_scalar, &m.w, x, NT);
        float *ys = malloc((size_t)NT * NR * sizeof *ys), *y = malloc((size_t)NT * NR * sizeof *y);
        as.fn(&m.w, 0, NR, as.buf, as.stride, NT, ys, NR);
        char what[64];
        static const uint32_t starts[] = {0, 3};
        static const uint32_t cuts[][2] = {{0, NR}, {0, 1}, {1, 4}, {4, 11}, {11, NR}};
        for (size_t si = 0; si < 2; si++)
            for (uint32_t n = 1; starts[si] + n <= NT; n++)
                for (size_t c = 0; c < (n % 7 == 0 ? 5u : 1u); c++) {
                    uint32_t t0 = starts[si], r0 = cuts[c][0], r1 = cuts[c][1];
                    memset(y, 0xff, (size_t)NT * NR * sizeof *y);
                    af.fn(&m.w, r0, r1, (char *)af.buf + t0 * af.stride, af.stride, n,
                          y + (size_t)t0 * NR, NR);
                    snprintf(what, sizeof what, "%s, tokens %u..%u, rows %u..%u",
                             glimp_type_info(types[i])->name, t0, t0 + n, r0, r1);
                    for (uint32_t t = t0; t < t0 + n; t++)
                        same_floats(y + (size_t)t * NR + r0, ys + (size_t)t * NR + r0, r1 - r0,
                                    what);
                }
        free(af.buf), free(as.buf), free(x), free(y), free(ys), free(m.data);
    }
}

/* Rows wide enough that 64 tokens' activations pass the tile drivers'
 * TB_BYTES (x86_tiles.h), so that tokens go in smaller blocks: every
 * output of 70 tokens and of 29, bit for bit the scalar table's. */
static void test_wide_rows(void **state)
{
    (void)state;
    enum { NT = 70, NR = 7, N_IN = 5120 };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        struct mat m;
        make_mat(&m, types[i], N_IN, NR, 700 + i, false);
        float *x = make_x(N_IN, NT, 800 + i);
        struct acts af = prepare(fast(), &m.w, x, NT),
                    as = prepare(&glimp_kernels_scalar, &m.w, x, NT);
        assert_true(af.stride * 64 > (256u << 10)); /* past TB_BYTES */
        float *ys = malloc((size_t)NT * NR * sizeof *ys), *y = malloc((size_t)NT * NR * sizeof *y);
        as.fn(&m.w, 0, NR, as.buf, as.stride, NT, ys, NR);
        static const uint32_t counts[] = {NT, 29};
        char what[64];
        for (size_t c = 0; c < 2; c++) {
            memset(y, 0xff, (size_t)NT * NR * sizeof *y);
            af.fn(&m.w, 0, NR, af.buf, af.stride, counts[c], y, NR);
            snprintf(what, sizeof what, "%s n_in %u, %u tokens", glimp_type_info(types[i])->name,
                     (unsigned)N_IN, counts[c]);
            same_floats(y, ys, (size_t)counts[c] * NR, what);
        }
        free(af.buf), free(as.buf), free(x), free(y), free(ys), free(m.data);
    }
}

/* ----------------------------------------------- attention, SiLU, exp */

static void test_attention(void **state)
{
    (void)state;
    static const uint32_t dims[] = {64, 128, 80, 24, 20};
    /* groups of query heads: one, a Qwen2.5-0.5B group (7), and more than
     * the avx2 table takes at once (16) */
    static const uint32_t groups[] = {1, 7, 19};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        uint32_t hd = dims[di], stride = 2 * hd + 8;
        uint32_t n_max = 40, g_max = 19;
        float *q = make_x(hd, g_max, hd);
        float *kv = make_x(stride, n_max, hd + 1);
        float *k = kv, *v = kv + hd;
        float *sc = malloc((size_t)g_max * n_max * sizeof *sc);
        size_t out = (size_t)g_max * hd;
        float *o = malloc(out * sizeof *o), *os = malloc(out * sizeof *o),
              *orf = malloc(out * sizeof *o);
        for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
            uint32_t g = groups[gi];
            for (uint32_t n = 1; n <= n_max; n += g == 1 ? 1 : 3) {
                fast()->attn(q, g, k, v, stride, n, hd, sc, o);
                for (uint32_t h = 0; h < g; h++) {
                    /* each head as if alone, in the scalar table */
                    glimp_kernels_scalar.attn(q + h * hd, 1, k, v, stride, n, hd, sc, os + h * hd);
                    glimp_kernels_ref.attn(q + h * hd, 1, k, v, stride, n, hd, sc, orf + h * hd);
                }
                same_floats(o, os, g * hd, "attention");
                double e = rel_err(o, orf, g * hd);
                if (e > TOL_ATTN)
                    fail_msg("attention head_dim %u, %u heads, %u positions: %.3e from ref", hd, g,
                             n, e);
                /* the scalar table's own groups agree with its single heads */
                glimp_kernels_scalar.attn(q, g, k, v, stride, n, hd, sc, o);
                same_floats(o, os, g * hd, "scalar attention of a group");
            }
        }
        free(q), free(kv), free(sc), free(o), free(os), free(orf);
    }
}

static void test_silu_exp(void **state)
{
    (void)state;
    uint32_t n = 101;
    float *g = make_x(n, 1, 5), *u = make_x(n, 1, 6);
    for (uint32_t i = 0; i < n; i++)
        g[i] *= 4.0f;
    g[0] = 100.0f, g[1] = -100.0f, g[2] = 0.0f;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    memcpy(a, g, n * sizeof *a), memcpy(b, g, n * sizeof *a), memcpy(c, g, n * sizeof *a);
    fast()->silu_mul(a, u, n);
    glimp_kernels_scalar.silu_mul(b, u, n);
    glimp_kernels_ref.silu_mul(c, u, n);
    same_floats(a, b, n, "silu");
    for (uint32_t i = 0; i < n; i++)
        assert_true(fabs((double)a[i] - (double)c[i]) <= TOL_ATTN * (fabs((double)c[i]) + 1e-30));

    /* exp against libm over the range the kernels use it in */
    double worst = 0.0;
    for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
        double e = fabs((double)glimp_exp_poly(x) - exp((double)x)) / exp((double)x);
        worst = fmax(worst, e);
    }
    printf("    exp_poly: max relative error %.2e on [-87, 88]\n", worst);
    assert_true(worst < 4e-7);
    assert_true(glimp_exp_poly(0.0f) == 1.0f);
    assert_true(isnan(glimp_exp_poly(NAN)));
    assert_true(glimp_exp_poly(-1000.0f) > 0.0f && glimp_exp_poly(-1000.0f) < 1e-37f);
    assert_true(isfinite(glimp_exp_poly(1000.0f)));
    free(g), free(u), free(a), free(b), free(c);
}

/* --------------------------------------------------------- the switch */

static void test_select(void **state)
{
    (void)state;
    const char *best = simd() ? simd()->name : "scalar";
    const struct glimp_kernels *kr = NULL;
    assert_string_equal(glimp_kernels_best()->name, best);
    assert_int_equal(glimp_kernels_resolve(NULL, &kr), GLIMP_OK);
    assert_string_equal(kr->name, best);
    assert_int_equal(glimp_kernels_resolve("auto", &kr), GLIMP_OK);
    assert_string_equal(kr->name, best);
    assert_int_equal(glimp_kernels_resolve("ref", &kr), GLIMP_OK);
    assert_string_equal(kr->name, "ref");
    assert_int_equal(glimp_kernels_resolve("scalar", &kr), GLIMP_OK);
    assert_string_equal(kr->name, "scalar");
    if (glimp_kernels_by_name("avx2")) {
        assert_int_equal(glimp_kernels_resolve("avx2", &kr), GLIMP_OK);
        assert_string_equal(kr->name, "avx2");
    }
    /* no environment is read: GLIMP_KERNELS is the programs' business */
    setenv("GLIMP_KERNELS", "ref", 1);
    assert_int_equal(glimp_kernels_resolve(NULL, &kr), GLIMP_OK);
    assert_string_equal(kr->name, best);
    unsetenv("GLIMP_KERNELS");
    assert_int_equal(glimp_kernels_resolve("no-such-kernels", &kr), GLIMP_ERR_INVALID);
    assert_null(kr);
    assert_non_null(strstr(glimp_last_error(), "kernels 'no-such-kernels' unknown"));
    if (!glimp_kernels_by_name("avxvnni")) { /* this CPU or build lacks it */
        assert_int_equal(glimp_kernels_resolve("avxvnni", &kr), GLIMP_ERR_UNSUPPORTED);
        assert_non_null(strstr(glimp_last_error(), "'avxvnni'"));
    }
    assert_null(glimp_kernels_by_name("no-such-kernels"));
    assert_null(glimp_kernels_by_name(NULL));
    /* a table this CPU lacks is refused, naming the feature it lacks */
    const char *missing = glimp_kernels_missing("avx512", glimp_kernels_cpu_features());
    if (missing) {
        char want[160];
        assert_null(glimp_kernels_by_name("avx512"));
        assert_int_equal(glimp_kernels_resolve("avx512", &kr), GLIMP_ERR_UNSUPPORTED);
        snprintf(want, sizeof want, "kernels 'avx512': this CPU lacks %s", missing);
        assert_string_equal(glimp_last_error(), want);
        printf("    native avx512 kernels: skipped (%s)\n", glimp_last_error());
    } else {
        assert_int_equal(glimp_kernels_resolve("avx512", &kr), GLIMP_OK);
        assert_string_equal(kr->name, "avx512");
    }
    /* the best is the pick for this CPU's features (all passed their
     * self-check here) */
    assert_string_equal(glimp_kernels_best()->name,
                        glimp_kernels_pick(glimp_kernels_cpu_features()));

    /* every type glimp computes has a product in every table */
    static const uint32_t all[] = {
        GLIMP_TYPE_F32,  GLIMP_TYPE_F16,  GLIMP_TYPE_BF16, GLIMP_TYPE_Q8_0, GLIMP_TYPE_Q4_0,
        GLIMP_TYPE_Q5_0, GLIMP_TYPE_Q5_1, GLIMP_TYPE_Q4_K, GLIMP_TYPE_Q5_K, GLIMP_TYPE_Q6_K};
    const struct glimp_kernels *ks[] = {&glimp_kernels_ref, &glimp_kernels_scalar, fast()};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            enum glimp_act f;
            assert_non_null(glimp_kernels_mm(ks[k], all[i], &f));
            assert_true(f == GLIMP_ACT_F32 || ks[k]->quantize[f] != NULL);
        }
}

/* The choice from a feature set, on made-up CPUs: a table is picked only
 * when every feature it needs is there, the OS's register state included. */
static void test_pick(void **state)
{
    (void)state;
    const uint32_t avx2 = GLIMP_CPU_AVX2 | GLIMP_CPU_FMA | GLIMP_CPU_F16C | GLIMP_CPU_OS_YMM;
    const uint32_t a512 = GLIMP_CPU_AVX512F | GLIMP_CPU_AVX512BW | GLIMP_CPU_AVX512VL |
                          GLIMP_CPU_AVX512VNNI | GLIMP_CPU_OS_ZMM;
#ifdef __x86_64__
#ifdef GLIMP_KERNELS_AVXVNNI
    const char *vnni = "avxvnni";
#else
    const char *vnni = "avx2";
#endif
    assert_string_equal(glimp_kernels_pick(0), "scalar");
    assert_string_equal(glimp_kernels_pick(avx2), "avx2");                   /* Zen 3 */
    assert_string_equal(glimp_kernels_pick(avx2 | GLIMP_CPU_AVXVNNI), vnni); /* Alder Lake */
    assert_string_equal(glimp_kernels_pick(avx2 | a512), "avx512");          /* Zen 4 */
    assert_string_equal(glimp_kernels_pick(avx2 | a512 | GLIMP_CPU_AVXVNNI), "avx512"); /* SPR */
    /* Skylake-X: AVX-512 without VNNI */
    assert_string_equal(glimp_kernels_pick(avx2 | (a512 & ~GLIMP_CPU_AVX512VNNI)), "avx2");
    assert_string_equal(glimp_kernels_missing("avx512", avx2 | (a512 & ~GLIMP_CPU_AVX512VNNI)),
                        "avx512vnni");
    /* each feature of avx512 missing alone */
    for (uint32_t bit = 1; bit <= GLIMP_CPU_OS_ZMM; bit <<= 1) {
        uint32_t f = (avx2 | a512 | GLIMP_CPU_AVXVNNI) & ~bit;
        if (bit == GLIMP_CPU_AVXVNNI)
            continue;
        assert_string_not_equal(glimp_kernels_pick(f), "avx512");
        assert_non_null(glimp_kernels_missing("avx512", f));
    }
    /* the OS does not save ZMM state: AVX-512 is off, AVX2 still on */
    assert_string_equal(glimp_kernels_pick(avx2 | (a512 & ~GLIMP_CPU_OS_ZMM)), "avx2");
    assert_non_null(strstr(glimp_kernels_missing("avx512", avx2 | (a512 & ~GLIMP_CPU_OS_ZMM)),
                           "OS support for AVX-512 state"));
    /* nor YMM state: nothing but scalar */
    assert_string_equal(glimp_kernels_pick((avx2 | a512) & ~GLIMP_CPU_OS_YMM), "scalar");
    assert_string_equal(glimp_kernels_pick(avx2 & ~GLIMP_CPU_F16C), "scalar");
    assert_string_equal(glimp_kernels_missing("avx2", avx2 & ~GLIMP_CPU_F16C), "f16c");
    assert_null(glimp_kernels_missing("avx2", avx2));
#ifdef GLIMP_KERNELS_AMX
    /* Sapphire Rapids with AMX: amx only with the tile state saved by the
     * OS and Linux's permission given; each of its features missing alone
     * falls back to avx512 (or below, for AVX-512's own) */
    const uint32_t amx =
        GLIMP_CPU_AMX_TILE | GLIMP_CPU_AMX_INT8 | GLIMP_CPU_OS_TILE | GLIMP_CPU_OS_TILE_PERM;
    assert_string_equal(glimp_kernels_pick(avx2 | a512 | GLIMP_CPU_AVXVNNI | amx), "amx");
    assert_null(glimp_kernels_missing("amx", avx2 | a512 | amx));
    for (uint32_t bit = 1; bit <= GLIMP_CPU_OS_TILE_PERM; bit <<= 1) {
        uint32_t f = (avx2 | a512 | amx) & ~bit;
        if (bit == GLIMP_CPU_AVXVNNI)
            continue;
        assert_string_not_equal(glimp_kernels_pick(f), "amx");
        assert_non_null(glimp_kernels_missing("amx", f));
        if (bit & amx)
            assert_string_equal(glimp_kernels_pick(f), "avx512");
    }
    assert_non_null(
        strstr(glimp_kernels_missing("amx", avx2 | a512 | (amx & ~GLIMP_CPU_OS_TILE_PERM)),
               "ARCH_REQ_XCOMP_PERM"));
    assert_string_equal(glimp_kernels_missing("amx", avx2 | a512), "amx-tile");
#endif
#else
    assert_string_equal(glimp_kernels_pick(avx2 | a512), "scalar");
#endif
    assert_null(glimp_kernels_missing("scalar", 0));
    assert_null(glimp_kernels_missing("no-such-kernels", 0));
    assert_null(glimp_kernels_missing(NULL, 0));
}

/* The self-check passes the table under test and catches a table that
 * differs: "ref" (another algorithm), and one product off by one bit. */
static glimp_mm_fn g_inner;

static void off_by_one_bit(const struct glimp_wmat *w, uint32_t r0, uint32_t r1, const void *x,
                           size_t xs, uint32_t n_tok, float *y, size_t ldy)
{
    g_inner(w, r0, r1, x, xs, n_tok, y, ldy);
    if (n_tok > 1 && r0 < r1) {
        uint32_t u;
        memcpy(&u, &y[(size_t)(n_tok - 1) * ldy + r1 - 1], 4);
        u ^= 1;
        memcpy(&y[(size_t)(n_tok - 1) * ldy + r1 - 1], &u, 4);
    }
}

static void test_selfcheck(void **state)
{
    (void)state;
    assert_int_equal(glimp_kernels_selfcheck(fast()), GLIMP_OK);
    assert_int_equal(glimp_kernels_selfcheck(&glimp_kernels_scalar), GLIMP_OK);
    assert_int_equal(glimp_kernels_selfcheck(&glimp_kernels_ref), GLIMP_ERR_UNSUPPORTED);
    assert_non_null(strstr(glimp_last_error(), "ref differs from the scalar table"));
    struct glimp_kernels bad = *fast();
    g_inner = bad.matmul[GLIMP_TYPE_Q5_K];
    bad.matmul[GLIMP_TYPE_Q5_K] = off_by_one_bit;
    assert_int_equal(glimp_kernels_selfcheck(&bad), GLIMP_ERR_UNSUPPORTED);
    assert_non_null(strstr(glimp_last_error(), "a product of several tokens of Q5_K"));
}

/* ----------------------------------------------------------- threads */

struct count_arg {
    uint32_t n_items;
    _Atomic uint32_t *taken; /* (n_items) */
    _Atomic uint32_t calls[8];
};

static void count_thread(void *arg, struct glimp_pool *p, uint32_t ith)
{
    struct count_arg *a = arg;
    a->calls[ith]++;
    for (uint32_t i; (i = glimp_pool_next(p)) < a->n_items;)
        a->taken[i]++;
}

static void test_pool(void **state)
{
    (void)state;
    for (uint32_t n = 1; n <= 4; n++) {
        struct glimp_pool *p = NULL;
        assert_int_equal(glimp_pool_init(n, &p), GLIMP_OK);
        assert_int_equal(glimp_pool_size(p), n);
        struct count_arg a = {.n_items = 37};
        a.taken = calloc(a.n_items, sizeof *a.taken);
        for (int r = 0; r < 1000; r++)
            glimp_pool_run(p, count_thread, &a);
        /* every item exactly once per run; the caller always takes part */
        for (uint32_t i = 0; i < a.n_items; i++)
            assert_int_equal(a.taken[i], 1000);
        assert_int_equal(a.calls[0], 1000);
        for (uint32_t i = 1; i < n; i++)
            assert_true(a.calls[i] <= 1000);
        free(a.taken);
        glimp_pool_free(p);
    }
    struct glimp_pool *p = (struct glimp_pool *)1;
    assert_int_equal(glimp_pool_init(0, &p), GLIMP_ERR_INVALID);
    assert_null(p);
    glimp_pool_free(NULL);
    assert_true(glimp_pool_default_threads() >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_products),       cmocka_unit_test(test_float_tails),
        cmocka_unit_test(test_extreme_blocks), cmocka_unit_test(test_zero_activations),
        cmocka_unit_test(test_attention),      cmocka_unit_test(test_silu_exp),
        cmocka_unit_test(test_select),         cmocka_unit_test(test_pool),
        cmocka_unit_test(test_shapes),         cmocka_unit_test(test_wide_rows),
        cmocka_unit_test(test_pick),           cmocka_unit_test(test_selfcheck),
    };
    static const char *const simd_tables[] = {"avx2", "avxvnni", "avx512", "avx512-emulated"};
    int failed = 0, ran = 0;
    for (size_t i = 0; i < sizeof simd_tables / sizeof simd_tables[0]; i++) {
        if (!(g_fast = glimp_kernels_by_name(simd_tables[i]))) {
            const struct glimp_kernels *k = NULL;
            if (glimp_kernels_resolve(simd_tables[i], &k) != GLIMP_OK)
                printf("%s: skipped (%s)\n", simd_tables[i], glimp_last_error());
            continue;
        }
        ran++;
        failed += cmocka_run_group_tests_name(simd_tables[i], tests, NULL, NULL);
    }
    if (!ran) {
        g_fast = &glimp_kernels_scalar;
        failed += cmocka_run_group_tests_name("scalar", tests, NULL, NULL);
    }
    return failed;
}
