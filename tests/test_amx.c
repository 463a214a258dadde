/* test_amx.c - the amx kernel table, whose Q8_0 products have numerics of
 * their own (kernels.h): "amx-emulated" (tests/kern_amx_emu.c) on every
 * machine, the native "amx" where the CPU runs it. Q8_0 products bit for
 * bit those of the amx numerics written out here, the same bits for every
 * token count 1..70, tile edge, row range and thread count, close to
 * "ref"; the other types, attention and SiLU the bits of "scalar"; the
 * self-check; the choice by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/threadpool.h"
#include "glimp.h"
#include "kern_amx_emu.h"
#include "kernel_fixtures.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* As in test_kernels.c: against "ref" (float activations) the error of the
 * 8-bit activations; against the float64 product of the same operands
 * only float rounding. */
#define TOL_QUANT 4e-2
#define TOL_EXACT 1e-5

#define N_TOK 70 /* four tiles of 16 and an edge of 6 */

/* The table under test and its self-check. */
static const struct glimp_kernels *g_amx;
static int (*g_check)(char *why, size_t why_size);

/* ------------------------------------------------ the amx numerics */

/* One output as kernels.h defines it for "amx": per block in order the
 * exact integer sum, then acc = fmaf(d_w * d_a, (float)sum, acc). */
static float amx_dot(const uint8_t *row, const int8_t *aq, const float *ad, uint32_t n_in)
{
    float acc = 0.0f;
    for (uint32_t b = 0; b < n_in / QK8_0; b++) {
        block_q8_0 blk;
        memcpy(&blk, row + b * sizeof blk, sizeof blk);
        long sum = 0;
        for (int i = 0; i < QK8_0; i++)
            sum += (long)blk.qs[i] * aq[b * QK8_0 + i];
        assert_true(labs(sum) < (1l << 24));
        float scale = glimp_fp16_to_fp32(blk.d) * ad[b];
        acc = fmaf(scale, (float)sum, acc);
    }
    return acc;
}

/* y[t * n_out + r] for all rows and n_tok tokens, by amx_dot. */
static void amx_product(const struct glimp_wmat *w, const struct acts *a, uint32_t n_tok, float *y)
{
    for (uint32_t t = 0; t < n_tok; t++) {
        const int8_t *q = (const int8_t *)(a->buf + t * a->stride);
        const float *d = (const float *)(const void *)(q + 2 * (size_t)w->n_in);
        for (uint32_t r = 0; r < w->n_out; r++)
            y[(size_t)t * w->n_out + r] =
                amx_dot((const uint8_t *)w->data + r * w->row_bytes, q, d, w->n_in);
    }
}

/* max |y - exact| / max |exact|, exact: the float64 product of the same
 * operands (weights dequantized, activations as quantized). */
static double exact_err(const struct glimp_wmat *w, const struct acts *a, uint32_t n_tok,
                        const float *y)
{
    uint32_t n = w->n_in;
    float *row = malloc(n * sizeof *row);
    double max_ref = 0.0, max_diff = 0.0;
    for (uint32_t t = 0; t < n_tok; t++) {
        const int8_t *q = (const int8_t *)(a->buf + t * a->stride);
        const float *d = (const float *)(const void *)(q + 2 * (size_t)n);
        for (uint32_t r = 0; r < w->n_out; r++) {
            glimp_dequantize(GLIMP_TYPE_Q8_0, (const char *)w->data + r * w->row_bytes, row, n);
            double e = 0.0;
            for (uint32_t i = 0; i < n; i++)
                e += (double)row[i] * (double)q[i] * (double)d[i / 32];
            max_ref = fmax(max_ref, fabs(e));
            max_diff = fmax(max_diff, fabs(e - (double)y[(size_t)t * w->n_out + r]));
        }
    }
    free(row);
    return max_diff / max_ref;
}

/* ------------------------------------------------------------ Q8_0 */

/* One weight matrix: the whole batch against amx_product; every token
 * count from 1 to N_TOK (windows starting at several places) and row
 * ranges cut across tiles give the same bits; 1..3 threads too. */
static void check_q8_0(const struct mat *m, bool compare_ref, const char *what)
{
    const struct glimp_wmat *w = &m->w;
    uint32_t n_out = w->n_out;
    float *x = make_x(w->n_in, N_TOK, w->n_in + n_out);
    size_t ny = (size_t)N_TOK * n_out;
    float *y = malloc(ny * sizeof *y), *y2 = malloc(ny * sizeof *y), *yp = malloc(ny * sizeof *y);
    struct acts a = prepare(g_amx, w, x, N_TOK);
    struct acts as = prepare(&glimp_kernels_scalar, w, x, N_TOK);
    if (memcmp(a.buf, as.buf, as.stride * N_TOK) != 0)
        fail_msg("%s: quantized activations differ between %s and scalar", what, g_amx->name);

    a.fn(w, 0, n_out, a.buf, a.stride, N_TOK, y, n_out);
    amx_product(w, &a, N_TOK, yp);
    same_floats(y, yp, ny, what);

    for (uint32_t nt = 1; nt <= N_TOK; nt++) {
        uint32_t starts[3] = {0, N_TOK - nt, (nt * 7) % (N_TOK - nt + 1)};
        for (int s = 0; s < 3; s++) {
            uint32_t t0 = starts[s];
            memset(y2, 0xff, ny * sizeof *y2);
            a.fn(w, 0, n_out, a.buf + t0 * a.stride, a.stride, nt, y2 + (size_t)t0 * n_out, n_out);
            char msg[96];
            snprintf(msg, sizeof msg, "%s, %u tokens from %u", what, nt, t0);
            same_floats(y2 + (size_t)t0 * n_out, y + (size_t)t0 * n_out, (size_t)nt * n_out, msg);
        }
    }

    /* rows in ranges that cut tiles: [0,1) [1,17) [17,20) [20,36) [36,..) */
    static const uint32_t cuts[] = {0, 1, 17, 20, 36};
    memset(y2, 0xff, ny * sizeof *y2);
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0] && cuts[c] < n_out; c++) {
        uint32_t r1 =
            c + 1 < sizeof cuts / sizeof cuts[0] && cuts[c + 1] < n_out ? cuts[c + 1] : n_out;
        a.fn(w, cuts[c], r1, a.buf, a.stride, N_TOK, y2, n_out);
    }
    same_floats(y2, y, ny, what);

    for (uint32_t nth = 1; nth <= 3; nth++) {
        struct glimp_pool *pool = NULL;
        assert_int_equal(glimp_pool_init(nth, &pool), GLIMP_OK);
        struct glimp_mm_job j = {w, a.fn, a.buf, a.stride, N_TOK, y2, n_out};
        memset(y2, 0xff, ny * sizeof *y2);
        glimp_mm_run(pool, &j, 1);
        same_floats(y2, y, ny, what);
        glimp_pool_free(pool);
    }

    double ee = exact_err(w, &a, N_TOK, y);
    if (!(ee <= TOL_EXACT))
        fail_msg("%s: %.3e from the exact product of the same operands", what, ee);
    if (compare_ref) {
        struct acts ar = prepare(&glimp_kernels_ref, w, x, N_TOK);
        ar.fn(w, 0, n_out, ar.buf, ar.stride, N_TOK, y2, n_out);
        double max_ref = 0.0, max_diff = 0.0;
        for (size_t i = 0; i < ny; i++) {
            max_ref = fmax(max_ref, fabs((double)y2[i]));
            max_diff = fmax(max_diff, fabs((double)y[i] - (double)y2[i]));
        }
        printf("    %-28s vs ref: %.2e (tolerance %.0e), vs exact: %.1e\n", what,
               max_diff / max_ref, TOL_QUANT, ee);
        assert_true(max_diff / max_ref <= TOL_QUANT);
        free(ar.buf);
    }
    free(a.buf), free(as.buf), free(x), free(y), free(y2), free(yp);
}

static void test_q8_0(void **state)
{
    (void)state;
    /* rows: one block, three, and 37 blocks (more than one pack of weight
     * blocks); row counts below a tile, at one, two and a bit, four, five
     * and a bit (pairs of row tiles, then a single one, then rows) */
    static const struct {
        uint32_t n_in, n_out;
    } shapes[] = {{32, 37}, {96, 16}, {96, 5}, {64, 64}, {64, 83}, {32 * 37, 35}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct mat m;
        char what[64];
        make_mat(&m, GLIMP_TYPE_Q8_0, shapes[i].n_in, shapes[i].n_out, 11 + i, false);
        snprintf(what, sizeof what, "Q8_0 %u x %u", shapes[i].n_out, shapes[i].n_in);
        check_q8_0(&m, true, what);
        free(m.data);
        make_mat(&m, GLIMP_TYPE_Q8_0, shapes[i].n_in, shapes[i].n_out, 50 + i, true);
        snprintf(what, sizeof what, "Q8_0 %u x %u random bytes", shapes[i].n_out, shapes[i].n_in);
        check_q8_0(&m, false, what);
        free(m.data);
    }
}

/* Activations at the clamp (+-127) times levels of -128; zero activations
 * give +0. */
static void test_q8_0_extremes(void **state)
{
    (void)state;
    struct mat m;
    make_mat(&m, GLIMP_TYPE_Q8_0, 64, 40, 3, true);
    for (size_t i = 0; i < 40 * m.w.row_bytes; i++)
        if (i % sizeof(block_q8_0) >= 2 && i % 3 == 0)
            ((int8_t *)m.data)[i] = -128;
    float *x = malloc(64 * 20 * sizeof *x);
    for (int i = 0; i < 64 * 20; i++)
        x[i] = i % 3 ? -1.0f : 1.0f;
    struct acts a = prepare(g_amx, &m.w, x, 20);
    float y[40 * 20], yp[40 * 20];
    a.fn(&m.w, 0, 40, a.buf, a.stride, 20, y, 40);
    amx_product(&m.w, &a, 20, yp);
    same_floats(y, yp, 40 * 20, "Q8_0 at the clamp");
    free(a.buf);

    memset(x, 0, 64 * 20 * sizeof *x);
    a = prepare(g_amx, &m.w, x, 20);
    a.fn(&m.w, 0, 40, a.buf, a.stride, 20, y, 40);
    for (int i = 0; i < 40 * 20; i++) {
        assert_true(y[i] == 0.0f);
        assert_false(signbit(y[i]));
    }
    free(a.buf), free(x), free(m.data);
}

/* --------------------------------------------------- the other kernels */

static void test_others(void **state)
{
    (void)state;
    static const uint32_t types[] = {GLIMP_TYPE_F32,  GLIMP_TYPE_F16,  GLIMP_TYPE_BF16,
                                     GLIMP_TYPE_Q4_0, GLIMP_TYPE_Q5_0, GLIMP_TYPE_Q5_1,
                                     GLIMP_TYPE_Q4_K, GLIMP_TYPE_Q5_K, GLIMP_TYPE_Q6_K};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        uint32_t bs = glimp_type_info(types[i])->block_size, n_in = bs == 1 ? 96 : 2 * bs;
        uint64_t rb = 0;
        assert_int_equal(glimp_type_nbytes(types[i], n_in, &rb), GLIMP_OK);
        float *wf = make_x(n_in, 21, 7 + i), *x = make_x(n_in, 9, 8 + i);
        uint8_t *wd = malloc(rb * 21);
        for (uint32_t r = 0; r < 21; r++)
            assert_int_equal(
                glimp_quantize((enum glimp_type)types[i], wf + r * n_in, wd + r * rb, n_in),
                GLIMP_OK);
        struct glimp_wmat w = {wd, types[i], n_in, 21, (size_t)rb};
        struct acts a = prepare(g_amx, &w, x, 9), as = prepare(&glimp_kernels_scalar, &w, x, 9);
        assert_int_equal(a.f, as.f);
        float y[21 * 9], ys[21 * 9];
        a.fn(&w, 0, 21, a.buf, a.stride, 9, y, 21);
        as.fn(&w, 0, 21, as.buf, as.stride, 9, ys, 21);
        same_floats(y, ys, 21 * 9, glimp_type_info(types[i])->name);
        free(a.buf), free(as.buf), free(wf), free(x), free(wd);
    }

    uint32_t hd = 64, stride = 2 * hd, n_pos = 19;
    float *q = make_x(hd, 1, 1), *kv = make_x(stride, n_pos, 2);
    float sc[19], o[64], os[64];
    g_amx->attn(q, 1, kv, kv + hd, stride, n_pos, hd, sc, o);
    glimp_kernels_scalar.attn(q, 1, kv, kv + hd, stride, n_pos, hd, sc, os);
    same_floats(o, os, hd, "attention");
    float *g = make_x(37, 1, 3), *g2 = malloc(37 * sizeof *g2), *u = make_x(37, 1, 4);
    memcpy(g2, g, 37 * sizeof *g);
    g_amx->silu_mul(g, u, 37);
    glimp_kernels_scalar.silu_mul(g2, u, 37);
    same_floats(g, g2, 37, "silu");
    free(q), free(kv), free(g), free(g2), free(u);
}

/* ------------------------------------------------ self-check, choice */

static void test_self_check(void **state)
{
    (void)state;
    char why[200] = "";
    if (g_check(why, sizeof why) != 0)
        fail_msg("%s self-check: %s", g_amx->name, why);
}

static void test_select(void **state)
{
    (void)state;
    const struct glimp_kernels *k = NULL;
    /* the emulated table: found by name in a program that links it */
    assert_int_equal(glimp_kernels_resolve("amx-emulated", &k), GLIMP_OK);
    assert_ptr_equal(k, &glimp_kernels_amx_emulated);

    /* the native one: the best where the CPU runs it, else refused by name
     * with the reason */
    const struct glimp_kernels *amx = glimp_kernels_by_name("amx");
    int rc = glimp_kernels_resolve("amx", &k);
    if (amx) {
        assert_int_equal(rc, GLIMP_OK);
        assert_string_equal(glimp_kernels_best()->name, "amx");
    } else {
        assert_int_equal(rc, GLIMP_ERR_UNSUPPORTED);
        assert_null(k);
        assert_non_null(strstr(glimp_last_error(), "kernels 'amx': "));
        printf("    native amx: %s\n", glimp_last_error());
        assert_string_not_equal(glimp_kernels_best()->name, "amx");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q8_0),   cmocka_unit_test(test_q8_0_extremes),
        cmocka_unit_test(test_others), cmocka_unit_test(test_self_check),
        cmocka_unit_test(test_select),
    };
    int failed = 0;
    g_amx = &glimp_kernels_amx_emulated;
    g_check = glimp_kernels_amx_emulated_check;
    failed += cmocka_run_group_tests_name("amx-emulated", tests, NULL, NULL);
#if defined(__x86_64__) && defined(GLIMP_KERNELS_AMX)
    if ((g_amx = glimp_kernels_by_name("amx")) != NULL) {
        g_check = glimp_kernels_amx_check;
        failed += cmocka_run_group_tests_name("amx", tests, NULL, NULL);
    } else {
        const struct glimp_kernels *k;
        glimp_kernels_resolve("amx", &k);
        printf("native amx: skipped (%s)\n", glimp_last_error());
    }
#else
    printf("native amx: skipped (not in this build)\n");
#endif
    return failed;
}
