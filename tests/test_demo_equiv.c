/* test_demo_equiv.c - the demo models' path from PyTorch to glimp: logits of
 * a tiny qwen3 written by tools/demo-train/train.py (weights exported
 * through `glimp mkmodel --weights`) against PyTorch's own logits, an
 * oracle for the forward pass and the export that needs no Python here;
 * and glimp_testmodel_write reading weights from raw float32 files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "glimp_testmodel.h"
#include "testutil.h"

#define FIXTURE_DIR GLIMP_TEST_DATA "/demo-equiv"

/* float32 against float32, summed in different orders: each logit within
 * EQUIV_TOL of PyTorch's, relative to the largest logit of its position
 * (at least 1). Measured: about 1e-6 (see tools/demo-train/README.md). */
#define EQUIV_TOL 1e-4

/* ------------------------------------------------------------ fixture */

struct fixture {
    json_t *root;
    int32_t *ids;
    size_t n_tok;
    uint32_t n_vocab;
    float *logits; /* (n_tok, n_vocab) */
};

static uint32_t cfg_u32(json_t *cfg, const char *key)
{
    json_t *v = json_object_get(cfg, key);
    if (!json_is_integer(v))
        fail_msg("logits.json: config.%s is not an integer", key);
    return (uint32_t)json_integer_value(v);
}

static void fixture_load(struct fixture *f)
{
    json_error_t err;
    f->root = json_load_file(FIXTURE_DIR "/logits.json", 0, &err);
    if (!f->root)
        fail_msg("%s/logits.json: %s (line %d)", FIXTURE_DIR, err.text, err.line);
    json_t *tokens = json_object_get(f->root, "tokens");
    json_t *logits = json_object_get(f->root, "logits");
    json_t *nv = json_object_get(f->root, "n_vocab");
    assert_true(json_is_array(tokens) && json_is_array(logits) && json_is_integer(nv));
    f->n_tok = json_array_size(tokens);
    f->n_vocab = (uint32_t)json_integer_value(nv);
    assert_true(f->n_tok > 0);
    assert_int_equal(json_array_size(logits), f->n_tok);
    f->ids = malloc(f->n_tok * sizeof *f->ids);
    f->logits = malloc(f->n_tok * f->n_vocab * sizeof *f->logits);
    assert_non_null(f->ids);
    assert_non_null(f->logits);
    for (size_t t = 0; t < f->n_tok; t++) {
        f->ids[t] = (int32_t)json_integer_value(json_array_get(tokens, t));
        json_t *row = json_array_get(logits, t);
        assert_int_equal(json_array_size(row), f->n_vocab);
        for (size_t i = 0; i < f->n_vocab; i++)
            f->logits[t * f->n_vocab + i] = (float)json_number_value(json_array_get(row, i));
    }
}

static void fixture_free(struct fixture *f)
{
    json_decref(f->root);
    free(f->ids);
    free(f->logits);
}

/* The largest error of one position's logits relative to its scale. */
static double position_error(const float *got, const float *want, uint32_t n)
{
    double scale = 1.0, err = 0.0;
    for (uint32_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)want[i]));
    for (uint32_t i = 0; i < n; i++) {
        if (!isfinite(got[i]))
            fail_msg("logit %u is %g", i, (double)got[i]);
        err = fmax(err, fabs((double)got[i] - (double)want[i]));
    }
    return err / scale;
}

static struct glimp_model *load_fixture_model(const struct fixture *f, const char *kernels)
{
    struct glimp_model *m = NULL;
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_threads = 2;
    mp.kernels = kernels;
    if (glimp_model_load(FIXTURE_DIR "/tiny.gguf", &mp, &m) != GLIMP_OK)
        fail_msg("glimp_model_load(tiny.gguf): %s", glimp_last_error());
    /* the file carries the shape PyTorch ran */
    const struct glimp_model_info *h = glimp_model_info(m);
    json_t *cfg = json_object_get(f->root, "config");
    assert_int_equal(h->n_vocab, f->n_vocab);
    assert_int_equal(h->n_layer, cfg_u32(cfg, "n_layer"));
    assert_int_equal(h->n_embd, cfg_u32(cfg, "n_embd"));
    assert_int_equal(h->n_head, cfg_u32(cfg, "n_head"));
    assert_int_equal(h->n_head_kv, cfg_u32(cfg, "n_head_kv"));
    assert_int_equal(h->head_dim, cfg_u32(cfg, "head_dim"));
    assert_int_equal(h->n_ff, cfg_u32(cfg, "n_ff"));
    assert_int_equal(h->tied_output, json_is_true(json_object_get(cfg, "tied")));
    assert_true(h->n_head_kv < h->n_head); /* grouped-query attention is covered */
    assert_float_equal(h->rope_base, (float)json_number_value(json_object_get(cfg, "rope_base")),
                       0.0);
    assert_float_equal(h->rms_eps, (float)json_number_value(json_object_get(cfg, "rms_eps")), 0.0);
    return m;
}

/* All positions in one batch, then token by token through the KV cache. */
static void check_against_torch(const char *kernels)
{
    struct fixture f;
    fixture_load(&f);
    struct glimp_model *m = load_fixture_model(&f, kernels);

    struct glimp_ctx *c = NULL;
    struct glimp_seq *s = NULL;
    assert_int_equal(glimp_ctx_init(m, NULL, &c), GLIMP_OK);
    assert_int_equal(glimp_seq_init(m, 0, &s), GLIMP_OK);
    const float *lg = NULL;
    if (glimp_seq_append(c, s, f.ids, f.n_tok, true, &lg) != GLIMP_OK)
        fail_msg("glimp_seq_append: %s", glimp_last_error());
    double worst = 0.0;
    for (size_t t = 0; t < f.n_tok; t++) {
        double e = position_error(lg + t * f.n_vocab, f.logits + t * f.n_vocab, f.n_vocab);
        if (e > EQUIV_TOL)
            fail_msg("%s kernels, batch: position %zu: error %.3g > %g",
                     kernels ? kernels : "default", t, e, EQUIV_TOL);
        worst = fmax(worst, e);
    }
    assert_int_equal(glimp_seq_truncate(s, 0), GLIMP_OK);
    for (size_t t = 0; t < f.n_tok; t++) {
        if (glimp_seq_append(c, s, f.ids + t, 1, false, &lg) != GLIMP_OK)
            fail_msg("glimp_seq_append: %s", glimp_last_error());
        double e = position_error(lg, f.logits + t * f.n_vocab, f.n_vocab);
        if (e > EQUIV_TOL)
            fail_msg("%s kernels, one by one: position %zu: error %.3g > %g",
                     kernels ? kernels : "default", t, e, EQUIV_TOL);
        worst = fmax(worst, e);
    }
    print_message("%s kernels: %zu positions, largest relative error %.3g (tolerance %g)\n",
                  kernels ? kernels : "default", f.n_tok, worst, EQUIV_TOL);
    glimp_seq_free(s);
    glimp_ctx_free(c);
    glimp_model_free(m);
    fixture_free(&f);
}

static void test_torch_logits(void **state)
{
    (void)state;
    check_against_torch(NULL);
}

static void test_torch_logits_ref(void **state)
{
    (void)state;
    check_against_torch("ref");
}

/* ------------------------------------------------- weights from files */

static struct glimp_testmodel_params small_params(void)
{
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.n_layer = 1;
    p.n_embd = 32;
    p.n_head = 2;
    p.n_head_kv = 1;
    p.n_ff = 64;
    p.n_ctx = 64;
    p.tied_output = false;
    p.seed = 5;
    return p;
}

static void write_ok(const struct glimp_testmodel_params *p, const char *path)
{
    if (glimp_testmodel_write(p, path) != GLIMP_OK)
        fail_msg("glimp_testmodel_write(%s): %s", path, glimp_last_error());
}

static struct glimp_gguf *open_ok(const char *path)
{
    struct glimp_gguf *g = NULL;
    if (glimp_gguf_open(path, &g) != GLIMP_OK)
        fail_msg("glimp_gguf_open(%s): %s", path, glimp_last_error());
    return g;
}

/* Every tensor of an F32 file as dir/<name>.f32, little-endian bytes. */
static void dump_weights(const char *gguf, const char *dir)
{
    mkdir(dir, 0700);
    struct glimp_gguf *g = open_ok(gguf);
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++) {
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        assert_int_equal(t->type, GLIMP_TYPE_F32);
        unsigned char *buf = malloc(t->n_elements * 4);
        assert_non_null(buf);
        const float *x = t->data;
        for (uint64_t k = 0; k < t->n_elements; k++) {
            uint32_t u;
            memcpy(&u, &x[k], 4);
            for (int b = 0; b < 4; b++)
                buf[4 * k + (uint64_t)b] = (unsigned char)(u >> (8 * b));
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.f32", dir, t->name);
        tu_write_file(path, buf, t->n_elements * 4);
        free(buf);
    }
    glimp_gguf_close(g);
}

/* Two files hold the same tensors, byte for byte. */
static void expect_same_tensors(const char *a_path, const char *b_path)
{
    struct glimp_gguf *a = open_ok(a_path), *b = open_ok(b_path);
    assert_int_equal(glimp_gguf_n_tensors(a), glimp_gguf_n_tensors(b));
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(a); i++) {
        const struct glimp_gguf_tensor *ta = glimp_gguf_tensor_at(a, i);
        const struct glimp_gguf_tensor *tb = glimp_gguf_find_tensor(b, ta->name);
        if (!tb)
            fail_msg("tensor %s missing", ta->name);
        assert_int_equal(ta->type, tb->type);
        assert_int_equal(ta->nbytes, tb->nbytes);
        if (memcmp(ta->data, tb->data, ta->nbytes) != 0)
            fail_msg("tensor %s differs", ta->name);
    }
    glimp_gguf_close(a);
    glimp_gguf_close(b);
}

/* A model written from the weights of another is that model, in F32 and
 * after quantization (the same floats quantize to the same blocks). */
static void test_weights_dir_roundtrip(void **state)
{
    (void)state;
    char ref[512], dir[512], again[512];
    struct glimp_testmodel_params p = small_params();
    snprintf(ref, sizeof ref, "%s", tu_tmp_path("ref.gguf"));
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("weights"));
    snprintf(again, sizeof again, "%s", tu_tmp_path("again.gguf"));
    write_ok(&p, ref);
    dump_weights(ref, dir);

    p.weights_dir = dir;
    p.seed = 99; /* unused with weights_dir */
    write_ok(&p, again);
    expect_same_tensors(ref, again);

    p.weight_type = GLIMP_TYPE_Q8_0;
    write_ok(&p, again);
    struct glimp_testmodel_params q = small_params();
    q.weight_type = GLIMP_TYPE_Q8_0;
    write_ok(&q, ref);
    expect_same_tensors(ref, again);
}

static void expect_error(const struct glimp_testmodel_params *p, int code, const char *const *parts)
{
    int rc = glimp_testmodel_write(p, tu_tmp_path("bad.gguf"));
    if (rc != code)
        fail_msg("rc %d, want %d (%s)", rc, code, glimp_last_error());
    for (size_t i = 0; parts[i]; i++)
        if (!strstr(glimp_last_error(), parts[i]))
            fail_msg("error '%s' does not say '%s'", glimp_last_error(), parts[i]);
}

/* A file of the wrong size, a missing one or a non-finite value fails
 * naming the tensor (and, for the size, both sizes). */
static void test_weights_dir_errors(void **state)
{
    (void)state;
    char ref[512], dir[512], path[1024];
    struct glimp_testmodel_params p = small_params();
    snprintf(ref, sizeof ref, "%s", tu_tmp_path("ref2.gguf"));
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("weights2"));
    write_ok(&p, ref);
    dump_weights(ref, dir);
    p.weights_dir = dir;

    /* attn_k: (n_embd 32 -> kv_dim 16), 512 values, 2048 bytes */
    snprintf(path, sizeof path, "%s/blk.0.attn_k.weight.f32", dir);
    size_t size;
    unsigned char *good = tu_read_file(path, &size);
    assert_int_equal(size, 2048);
    tu_write_file(path, good, 2044);
    expect_error(&p, GLIMP_ERR_FORMAT,
                 (const char *const[]){"blk.0.attn_k.weight", "2044", "2048", "32 x 16", NULL});

    /* the shape the options give decides: a wider kv head count expects more */
    tu_write_file(path, good, size);
    p.n_head_kv = 2;
    expect_error(&p, GLIMP_ERR_FORMAT,
                 (const char *const[]){"blk.0.attn_k.weight", "2048", "4096", NULL});
    p.n_head_kv = 1;

    unsigned char *bad = malloc(size);
    assert_non_null(bad);
    memcpy(bad, good, size);
    memcpy(bad + 40, (const unsigned char[]){0x00, 0x00, 0xC0, 0x7F}, 4); /* a quiet NaN */
    tu_write_file(path, bad, size);
    expect_error(&p, GLIMP_ERR_FORMAT,
                 (const char *const[]){"blk.0.attn_k.weight", "value 10", "not finite", NULL});
    tu_write_file(path, good, size);
    free(bad);
    free(good);

    snprintf(path, sizeof path, "%s/output.weight.f32", dir);
    assert_int_equal(remove(path), 0);
    expect_error(&p, GLIMP_ERR_NOT_FOUND, (const char *const[]){"output.weight", NULL});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_logits),
        cmocka_unit_test(test_torch_logits_ref),
        cmocka_unit_test(test_weights_dir_roundtrip),
        cmocka_unit_test(test_weights_dir_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
