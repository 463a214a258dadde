/* test_quant_ggml.c - glimp's tensor types against ggml itself. The fixture
 * tests/data/ggml-ref.gguf (see tests/data/README.md) holds, for each type,
 * input floats, ggml's quantization of them and ggml's dequantization of
 * that. glimp must dequantize ggml's blocks to exactly ggml's floats (so
 * downloaded models mean the same), and glimp's quantizer must be about as
 * accurate as ggml's on the same input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glimp.h"

static struct glimp_gguf *ref;

static int setup(void **state)
{
    (void)state;
    if (glimp_gguf_open(GLIMP_TEST_DATA "/ggml-ref.gguf", &ref) != GLIMP_OK) {
        fprintf(stderr, "%s\n", glimp_last_error());
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    glimp_gguf_close(ref);
    return 0;
}

static const struct glimp_gguf_tensor *get(const char *prefix, const char *type)
{
    char name[64];
    snprintf(name, sizeof name, "%s.%s", prefix, type);
    const struct glimp_gguf_tensor *t = glimp_gguf_find_tensor(ref, name);
    if (!t)
        fail_msg("fixture lacks tensor %s", name);
    return t;
}

static double rmse(const float *a, const float *b, uint64_t n)
{
    double s = 0;
    for (uint64_t i = 0; i < n; i++)
        s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s / (double)n);
}

static const struct {
    const char *name;
    enum glimp_type type;
    double worse;    /* glimp's error may exceed ggml's by at most this factor */
    bool same_bytes; /* the rounding rule is fixed, so the bytes must agree */
} types[] = {
    {"f32", GLIMP_TYPE_F32, 1.0, true},     {"f16", GLIMP_TYPE_F16, 1.0, true},
    {"bf16", GLIMP_TYPE_BF16, 1.0, true},   {"q8_0", GLIMP_TYPE_Q8_0, 1.02, false},
    {"q4_0", GLIMP_TYPE_Q4_0, 1.10, false}, {"q4_k", GLIMP_TYPE_Q4_K, 1.15, false},
    {"q5_k", GLIMP_TYPE_Q5_K, 1.15, false}, {"q6_k", GLIMP_TYPE_Q6_K, 1.15, false},
    {"q5_0", GLIMP_TYPE_Q5_0, 1.10, false}, {"q5_1", GLIMP_TYPE_Q5_1, 1.10, false},
};

static void test_dequantize_matches_ggml(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const struct glimp_gguf_tensor *q = get("q", types[k].name);
        const struct glimp_gguf_tensor *dq = get("dq", types[k].name);
        assert_int_equal(q->type, types[k].type);
        assert_int_equal(dq->type, GLIMP_TYPE_F32);
        assert_int_equal(q->n_elements, dq->n_elements);
        float *out = malloc(q->n_elements * sizeof *out);
        assert_int_equal(glimp_dequantize(types[k].type, q->data, out, q->n_elements), GLIMP_OK);
        for (uint64_t i = 0; i < q->n_elements; i++) {
            float want;
            memcpy(&want, (const uint8_t *)dq->data + 4 * i, 4);
            if (memcmp(&want, &out[i], 4) != 0)
                fail_msg("%s element %llu: glimp %.9g, ggml %.9g", types[k].name,
                         (unsigned long long)i, out[i], want);
        }
        free(out);
    }
}

static void test_dequantize_2d_rows(void **state)
{
    (void)state;
    const struct glimp_gguf_tensor *t = glimp_gguf_find_tensor(ref, "q2d.q4_k");
    assert_non_null(t);
    assert_int_equal(t->ne[0], 256);
    assert_int_equal(t->ne[1], 3);
    /* whole tensor at once equals row by row */
    float all[768], row[256];
    assert_int_equal(glimp_dequantize(GLIMP_TYPE_Q4_K, t->data, all, 768), GLIMP_OK);
    for (int r = 0; r < 3; r++) {
        assert_int_equal(
            glimp_dequantize(GLIMP_TYPE_Q4_K, (const uint8_t *)t->data + 144 * r, row, 256),
            GLIMP_OK);
        assert_memory_equal(row, all + 256 * r, sizeof row);
    }
}

static void test_quantize_as_good_as_ggml(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const struct glimp_gguf_tensor *src = get("src", types[k].name);
        const struct glimp_gguf_tensor *q = get("q", types[k].name);
        const struct glimp_gguf_tensor *dq = get("dq", types[k].name);
        uint64_t n = src->n_elements;
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y),
              *ggml = malloc(n * sizeof *ggml);
        memcpy(x, src->data, n * sizeof *x);
        memcpy(ggml, dq->data, n * sizeof *ggml);
        uint8_t *mine = malloc(q->nbytes);
        assert_int_equal(glimp_quantize(types[k].type, x, mine, n), GLIMP_OK);
        if (types[k].same_bytes)
            assert_memory_equal(mine, q->data, q->nbytes);
        assert_int_equal(glimp_dequantize(types[k].type, mine, y, n), GLIMP_OK);
        double e_mine = rmse(x, y, n), e_ggml = rmse(x, ggml, n);
        printf("  %-5s rmse glimp %.6f  ggml %.6f  ratio %.3f\n", types[k].name, e_mine, e_ggml,
               e_ggml > 0 ? e_mine / e_ggml : 1.0);
        if (e_mine > e_ggml * types[k].worse + 1e-12)
            fail_msg("%s: glimp's quantization error %.6g is more than %.2fx ggml's %.6g",
                     types[k].name, e_mine, types[k].worse, e_ggml);
        free(x);
        free(y);
        free(ggml);
        free(mine);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dequantize_matches_ggml),
        cmocka_unit_test(test_dequantize_2d_rows),
        cmocka_unit_test(test_quantize_as_good_as_ggml),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
