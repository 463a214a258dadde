/* kernel_fixtures.c - what the kernel tests (test_kernels.c, test_amx.c)
 * build their products from: weight matrices, activation rows in a
 * table's format, and float comparisons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kernel_fixtures.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* n_out rows of n_in random weights, quantized by the reference quantizer;
 * with raw, quantized blocks get random bytes instead (every bit pattern:
 * extreme levels and scales), their fp16 scales set to sane values. */
void make_mat(struct mat *m, uint32_t type, uint32_t n_in, uint32_t n_out, uint64_t seed, bool raw)
{
    const struct glimp_type_info *ti = glimp_type_info(type);
    uint64_t rb = 0;
    assert_int_equal(glimp_type_nbytes(type, n_in, &rb), GLIMP_OK);
    m->data = malloc(rb * n_out);
    assert_non_null(m->data);
    float *row = malloc(n_in * sizeof *row);
    uint64_t st = seed;
    for (uint32_t r = 0; r < n_out; r++) {
        uint8_t *dst = (uint8_t *)m->data + r * rb;
        if (raw && ti->block_size > 1) {
            for (uint64_t i = 0; i < rb; i++)
                dst[i] = (uint8_t)tu_rng_u64(&st);
            uint16_t d = glimp_fp32_to_fp16(0.01f + 0.02f * tu_rng_uniform(&st));
            for (uint64_t b = 0; b < rb / ti->type_size; b++) {
                uint8_t *blk = dst + b * ti->type_size;
                size_t off = type == GLIMP_TYPE_Q6_K ? 208 : 0;
                memcpy(blk + off, &d, 2);
                if (type == GLIMP_TYPE_Q4_K || type == GLIMP_TYPE_Q5_K || type == GLIMP_TYPE_Q5_1)
                    memcpy(blk + 2, &d, 2); /* dmin, m */
            }
            continue;
        }
        for (uint32_t i = 0; i < n_in; i++)
            row[i] = tu_rng_normal(&st) * (i % 17 == 0 ? 3.0f : 1.0f);
        assert_int_equal(glimp_quantize((enum glimp_type)type, row, dst, n_in), GLIMP_OK);
    }
    free(row);
    m->w.data = m->data;
    m->w.type = type;
    m->w.n_in = n_in;
    m->w.n_out = n_out;
    m->w.row_bytes = (size_t)rb;
}

/* n_tok activation rows with an outlier channel, as real ones have. */
float *make_x(uint32_t n_in, uint32_t n_tok, uint64_t seed)
{
    float *x = malloc((size_t)n_in * n_tok * sizeof *x);
    assert_non_null(x);
    uint64_t st = seed;
    for (size_t i = 0; i < (size_t)n_in * n_tok; i++)
        x[i] = tu_rng_normal(&st) * (i % n_in == 5 ? 6.0f : 1.0f);
    return x;
}

/* Activations in k's format for w: a buffer of n_tok rows and its stride. */
struct acts prepare(const struct glimp_kernels *k, const struct glimp_wmat *w, const float *x,
                    uint32_t n_tok)
{
    struct acts a;
    a.fn = glimp_kernels_mm(k, w->type, &a.f);
    enum glimp_act f = a.f;
    a.stride = glimp_act_row_bytes(f, w->n_in);
    a.buf = aligned_alloc(64, a.stride * n_tok);
    assert_non_null(a.buf);
    memset(a.buf, 0, a.stride * n_tok); /* the padding of the rows compares equal */
    if (f == GLIMP_ACT_F32) {
        a.stride = (size_t)w->n_in * sizeof(float);
        memcpy(a.buf, x, a.stride * n_tok);
    } else {
        for (uint32_t t = 0; t < n_tok; t++)
            k->quantize[f](x + (size_t)t * w->n_in, (char *)a.buf + t * a.stride, w->n_in);
    }
    return a;
}

void same_floats(const float *a, const float *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            fail_msg("%s: element %zu: %.9g vs %.9g", what, i, (double)a[i], (double)b[i]);
}

double rel_err(const float *y, const float *ref, size_t n)
{
    double max_ref = 0.0, max_diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        assert_true(isfinite(y[i]));
        max_ref = fmax(max_ref, fabs((double)ref[i]));
        max_diff = fmax(max_diff, fabs((double)y[i] - (double)ref[i]));
    }
    assert_true(max_ref > 0.0);
    return max_diff / max_ref;
}
