/* test_model.c - the inference engine: logits of small random qwen3, qwen2
 * and llama models in every weight type against an independent float64
 * forward pass (ref_forward.c); batch invariance bit for bit (one token at a
 * time, any chunking, full recompute, truncate and re-append, sequences side
 * by side); hyperparameters and errors that name the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glimp_testmodel.h"
#include "kern_amx_emu.h"
#include "ref_forward.h"
#include "testutil.h"

/* Engine (F32 activations, F32 KV cache) against the float64 reference on
 * the same dequantized weights: the largest difference of any logit at any
 * position, divided by the largest |logit| of the reference, stays below
 * this. Both read identical weights, so only float32 rounding of the
 * activations separates them (measured: below 4e-7). It holds for the
 * scalar reference kernels (kernels "ref") on every type, and for the
 * fast kernels on F32, F16 and BF16 weights (float activations there). */
#define REF_TOL 1e-5

/* The fast kernels on quantized weights quantize each activation row to 8
 * bits (per 32 for Q8_0/Q4_0, per 256 for K-quants, as llama.cpp does):
 * the same measure stays below this (measured on these random models: up
 * to 2e-2, K-quants the largest). */
#define FAST_QUANT_TOL 5e-2

#define N_TOK 24 /* tokens per test sequence */
#define CTX 64   /* context of the test sequences */

static const char *const archs[] = {"qwen3", "qwen2", "llama"};

/* ------------------------------------------------------------- helpers */

struct mcfg {
    const char *arch;
    uint32_t type;
    bool tied;
    bool wide;          /* 256 wide (K-quants need rows of 256) */
    uint32_t head_dim;  /* 0: n_embd / n_head */
    uint32_t n_head;    /* 0: 4 */
    uint32_t n_head_kv; /* 0: 2 */
};

static const char *write_model(const struct mcfg *c, const char *name)
{
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.arch = c->arch;
    p.weight_type = c->type;
    p.tied_output = c->tied;
    p.rope_base = 10000.0f; /* turns faster than Qwen's 1e6 over a few positions */
    p.seed = 1000 + c->type * 7 + (c->tied ? 3 : 0) + (uint64_t)c->arch[0] + c->head_dim;
    p.n_head = c->n_head ? c->n_head : 4;
    p.n_head_kv = c->n_head_kv ? c->n_head_kv : 2;
    p.head_dim = c->head_dim;
    if (c->wide) {
        p.n_embd = 256;
        p.n_ff = 512;
    }
    const char *path = tu_tmp_path(name);
    int rc = glimp_testmodel_write(&p, path);
    if (rc != GLIMP_OK)
        fail_msg("glimp_testmodel_write(%s): %s", name, glimp_last_error());
    return path;
}

/* n_batch 0: the default; threads 0: one per core. */
static struct glimp_model *load_threads(const char *path, uint32_t n_batch, uint32_t n_threads)
{
    struct glimp_model_params mp = glimp_model_default_params();
    if (n_batch)
        mp.n_batch = n_batch;
    mp.n_threads = n_threads;
    struct glimp_model *m = NULL;
    int rc = glimp_model_load(path, &mp, &m);
    if (rc != GLIMP_OK)
        fail_msg("glimp_model_load(%s): %s", path, glimp_last_error());
    return m;
}

static struct glimp_model *load_ok(const char *path, uint32_t n_batch)
{
    return load_threads(path, n_batch, 0);
}

/* The same on the kernels named ("ref": the scalar reference; "scalar":
 * the fast algorithm in portable C). */
static struct glimp_model *load_kernels(const char *path, const char *kernels)
{
    struct glimp_model_params mp = glimp_model_default_params();
    mp.kernels = kernels;
    struct glimp_model *m = NULL;
    int rc = glimp_model_load(path, &mp, &m);
    if (rc != GLIMP_OK)
        fail_msg("glimp_model_load(%s, kernels %s): %s", path, kernels, glimp_last_error());
    return m;
}

/* A context; n_batch and n_threads 0: the model's. */
static struct glimp_ctx *ctx_ok(const struct glimp_model *m, uint32_t n_batch, uint32_t n_threads)
{
    struct glimp_ctx_params cp = glimp_ctx_default_params();
    cp.n_batch = n_batch;
    cp.n_threads = n_threads;
    struct glimp_ctx *c = NULL;
    int rc = glimp_ctx_init(m, &cp, &c);
    if (rc != GLIMP_OK)
        fail_msg("glimp_ctx_init: %s", glimp_last_error());
    return c;
}

/* The portable C build of the default kernels, the same bits: "scalar",
 * or for "amx" (numerics of its own for Q8_0) its emulated build. */
static const char *portable_kernels(void)
{
    return strcmp(glimp_kernels_best()->name, "amx") ? "scalar" : "amx-emulated";
}

/* The tolerance against the float64 reference of the default kernels. */
static double fast_tol(uint32_t type)
{
    return glimp_type_info(type)->block_size > 1 ? FAST_QUANT_TOL : REF_TOL;
}

static struct glimp_seq *seq_ok(const struct glimp_model *m, uint32_t n_ctx)
{
    struct glimp_seq *s = NULL;
    int rc = glimp_seq_init(m, n_ctx, &s);
    if (rc != GLIMP_OK)
        fail_msg("glimp_seq_init: %s", glimp_last_error());
    return s;
}

static const float *append_ok(struct glimp_ctx *c, struct glimp_seq *s, const int32_t *ids,
                              size_t n, bool all)
{
    const float *lg = NULL;
    int rc = glimp_seq_append(c, s, ids, n, all, &lg);
    if (rc != GLIMP_OK)
        fail_msg("glimp_seq_append(%zu tokens): %s", n, glimp_last_error());
    assert_non_null(lg);
    return lg;
}

static void random_ids(uint64_t seed, uint32_t n_vocab, int32_t *ids, size_t n)
{
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)(tu_rng_u64(&st) % n_vocab);
}

/* Bitwise equality of n_vocab logits, reporting the first difference. */
static void same_bits(const float *a, const float *b, uint32_t n_vocab, const char *what,
                      size_t pos)
{
    if (memcmp(a, b, n_vocab * sizeof *a) == 0)
        return;
    for (uint32_t i = 0; i < n_vocab; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            fail_msg("%s: position %zu, logit %u: %.9g vs %.9g", what, pos, i, (double)a[i],
                     (double)b[i]);
}

/* Largest |engine - ref| over the largest |ref|. */
static double ref_error(const char *path, const int32_t *ids, size_t n, const float *logits,
                        uint32_t n_vocab)
{
    double *ref = NULL;
    uint32_t rv = 0;
    char err[512];
    if (ref_forward(path, ids, n, &ref, &rv, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(rv, n_vocab);
    double max_ref = 0.0, max_diff = 0.0;
    for (size_t i = 0; i < n * n_vocab; i++) {
        if (!isfinite(logits[i]))
            fail_msg("logit %zu is %g", i, (double)logits[i]);
        max_ref = fmax(max_ref, fabs(ref[i]));
        max_diff = fmax(max_diff, fabs((double)logits[i] - ref[i]));
    }
    free(ref);
    assert_true(max_ref > 0.0);
    return max_diff / max_ref;
}

/* ----------------------------------------------------- per-model checks */

static double max_err_by_type[GLIMP_TYPE_COUNT];     /* default kernels */
static double max_ref_err_by_type[GLIMP_TYPE_COUNT]; /* kernels "ref" */

/* The N_TOK tokens ids in one batch on model m: every position's logits
 * bit for bit those in all. */
static void all_same_bits(struct glimp_model *m, const int32_t *ids, const float *all, uint32_t V,
                          const char *what)
{
    struct glimp_ctx *c = ctx_ok(m, 0, 0);
    struct glimp_seq *s = seq_ok(m, CTX);
    const float *l = append_ok(c, s, ids, N_TOK, true);
    for (size_t t = 0; t < N_TOK; t++)
        same_bits(l + t * V, all + t * V, V, what, t);
    glimp_seq_free(s);
    glimp_ctx_free(c);
}

/* Everything a model must satisfy: agreement with the reference, and the
 * same bits for every way of feeding the same tokens. */
static void check_model(const struct mcfg *c)
{
    char name[64];
    snprintf(name, sizeof name, "%s-%u-%d-%u.gguf", c->arch, c->type, c->tied, c->head_dim);
    const char *p = write_model(c, name);
    char path[512];
    snprintf(path, sizeof path, "%s", p);

    /* The default kernels with 1, 2 and 3 threads must agree bit for bit. */
    struct glimp_model *m = load_threads(path, 0, 1);
    struct glimp_model *m2 = load_threads(path, 0, 2);
    struct glimp_model *m4 = load_threads(path, 4, 3); /* same file, chunks of 4 */
    /* contexts taking n_batch and n_threads from their model's params */
    struct glimp_ctx *cx = ctx_ok(m, 0, 0), *cx2 = ctx_ok(m2, 0, 0), *cx4 = ctx_ok(m4, 0, 0);
    assert_int_equal(glimp_ctx_n_threads(cx4), 3);
    assert_int_equal(glimp_ctx_n_batch(cx4), 4);
    const struct glimp_model_info *h = glimp_model_info(m);
    uint32_t V = h->n_vocab;
    assert_int_equal(h->tied_output, c->tied);

    int32_t ids[N_TOK];
    random_ids(c->type * 31 + c->arch[0], V, ids, N_TOK);
    size_t row = V * sizeof(float);
    float *all = malloc(N_TOK * row);
    assert_non_null(all);

    /* one batch, all positions: the baseline, checked against the reference */
    struct glimp_seq *s = seq_ok(m, CTX);
    memcpy(all, append_ok(cx, s, ids, N_TOK, true), N_TOK * row);
    assert_int_equal(glimp_seq_len(s), N_TOK);
    double e = ref_error(path, ids, N_TOK, all, V);
    /* the scalar reference kernels, to the float64 reference's precision */
    struct glimp_model *mr = load_kernels(path, "ref");
    struct glimp_ctx *cr = ctx_ok(mr, 0, 0);
    struct glimp_seq *sr = seq_ok(mr, CTX);
    double er = ref_error(path, ids, N_TOK, append_ok(cr, sr, ids, N_TOK, true), V);
    glimp_seq_free(sr);
    glimp_ctx_free(cr);
    glimp_model_free(mr);
    printf("    %-5s %-4s %s%s: max |engine - ref| / max |ref| = %.2e (kernels=ref: %.2e)\n",
           c->arch, glimp_type_info(c->type)->name, c->tied ? "tied" : "untied",
           c->head_dim ? " (head_dim set)" : "", e, er);
    if (e > max_err_by_type[c->type])
        max_err_by_type[c->type] = e;
    if (er > max_ref_err_by_type[c->type])
        max_ref_err_by_type[c->type] = er;
    if (!(e <= fast_tol(c->type)))
        fail_msg("%s: relative error %.3e over the tolerance %.1e", name, e, fast_tol(c->type));
    if (!(er <= REF_TOL))
        fail_msg("%s: kernels=ref: relative error %.3e over the tolerance %.1e", name, er, REF_TOL);

    /* the portable C version of the default kernels: the same bits */
    struct glimp_model *ms = load_kernels(path, portable_kernels());
    all_same_bits(ms, ids, all, V, "portable kernels");
    glimp_model_free(ms);

    /* the avx512 table over SIMDe (where the tests link it): the same bits */
    struct glimp_model_params mpe = glimp_model_default_params();
    mpe.kernels = "avx512-emulated";
    struct glimp_model *me = NULL;
    if (glimp_model_load(path, &mpe, &me) == GLIMP_OK) {
        all_same_bits(me, ids, all, V, "avx512-emulated kernels");
        glimp_model_free(me);
    }

    /* the amx numerics (emulated, so on every machine): as close to the
     * reference as the default kernels must be */
    if (c->type == GLIMP_TYPE_Q8_0) {
        struct glimp_model *ma = load_kernels(path, "amx-emulated");
        struct glimp_ctx *ca = ctx_ok(ma, 0, 0);
        struct glimp_seq *sa = seq_ok(ma, CTX);
        double ea = ref_error(path, ids, N_TOK, append_ok(ca, sa, ids, N_TOK, true), V);
        printf("    %-5s %-4s kernels=amx-emulated: %.2e\n", c->arch, "Q8_0", ea);
        if (!(ea <= fast_tol(c->type)))
            fail_msg("%s: kernels=amx-emulated: relative error %.3e over the tolerance %.1e", name,
                     ea, fast_tol(c->type));
        glimp_seq_free(sa);
        glimp_ctx_free(ca);
        glimp_model_free(ma);
    }

    /* one token at a time, two threads */
    struct glimp_seq *s1 = seq_ok(m2, CTX);
    for (size_t t = 0; t < N_TOK; t++)
        same_bits(append_ok(cx2, s1, &ids[t], 1, false), all + t * V, V, "incremental", t);
    glimp_seq_free(s1);

    /* chunks of 4 inside the engine, and uneven appends */
    struct glimp_seq *s4 = seq_ok(m4, CTX);
    const float *lg = append_ok(cx4, s4, ids, N_TOK, true);
    for (size_t t = 0; t < N_TOK; t++)
        same_bits(lg + t * V, all + t * V, V, "n_batch 4", t);
    glimp_seq_free(s4);
    static const size_t sizes[] = {5, 1, 7, 11};
    struct glimp_seq *su = seq_ok(m2, CTX);
    for (size_t i = 0, off = 0; i < 4; off += sizes[i], i++) {
        lg = append_ok(cx2, su, ids + off, sizes[i], true);
        for (size_t t = 0; t < sizes[i]; t++)
            same_bits(lg + t * V, all + (off + t) * V, V, "uneven appends", off + t);
    }
    glimp_seq_free(su);

    /* full recompute of prefixes, last position only */
    static const size_t prefixes[] = {1, 9, N_TOK};
    for (size_t i = 0; i < 3; i++) {
        struct glimp_seq *sf = seq_ok(m4, CTX);
        same_bits(append_ok(cx4, sf, ids, prefixes[i], false), all + (prefixes[i] - 1) * V, V,
                  "full recompute", prefixes[i] - 1);
        glimp_seq_free(sf);
    }

    /* rollback: truncate, append something else, truncate, re-append */
    int32_t other[5];
    random_ids(99, V, other, 5);
    assert_int_equal(glimp_seq_truncate(s, 10), GLIMP_OK);
    assert_int_equal(glimp_seq_len(s), 10);
    append_ok(cx, s, other, 5, false);
    assert_int_equal(glimp_seq_truncate(s, 7), GLIMP_OK);
    lg = append_ok(cx, s, ids + 7, N_TOK - 7, true);
    for (size_t t = 7; t < N_TOK; t++)
        same_bits(lg + (t - 7) * V, all + t * V, V, "truncate and re-append", t);
    assert_int_equal(glimp_seq_truncate(s, 0), GLIMP_OK);
    same_bits(append_ok(cx, s, ids, 3, false), all + 2 * V, V, "truncate to 0", 2);

    glimp_seq_free(s);
    free(all);
    glimp_ctx_free(cx4);
    glimp_ctx_free(cx2);
    glimp_ctx_free(cx);
    glimp_model_free(m4);
    glimp_model_free(m2);
    glimp_model_free(m);
}

/* All three architectures in one type; tied alternates so that each
 * architecture and each type is seen both ways. */
static void check_type(uint32_t type, bool wide)
{
    for (size_t a = 0; a < 3; a++) {
        struct mcfg c = {.arch = archs[a], .type = type, .tied = (a + type) % 2 == 1, .wide = wide};
        check_model(&c);
    }
}

static void test_f32(void **state)
{
    (void)state;
    check_type(GLIMP_TYPE_F32, false);
}

static void test_f16(void **state)
{
    (void)state;
    check_type(GLIMP_TYPE_F16, false);
}

static void test_bf16(void **state)
{
    (void)state;
    check_type(GLIMP_TYPE_BF16, false);
}

static void test_q8_0(void **state)
{
    (void)state;
    check_type(GLIMP_TYPE_Q8_0, false);
}

static void test_q4_0(void **state)
{
    (void)state;
    check_type(GLIMP_TYPE_Q4_0, false);
}

static void test_q5_0(void **state)
{
    (void)state;
    check_type(GLIMP_TYPE_Q5_0, false);
}

static void test_q5_1(void **state)
{
    (void)state;
    check_type(GLIMP_TYPE_Q5_1, false);
}

static void test_q4_K(void **state)
{
    (void)state;
    check_type(GLIMP_TYPE_Q4_K, true);
}

static void test_q5_K(void **state)
{
    (void)state;
    check_type(GLIMP_TYPE_Q5_K, true);
}

static void test_q6_K(void **state)
{
    (void)state;
    check_type(GLIMP_TYPE_Q6_K, true);
}

/* Head shapes other than n_embd / n_head with 2 KV heads: a head size set
 * apart from the width (qwen3 does this), full multi-head and multi-query
 * attention. */
static void test_head_shapes(void **state)
{
    (void)state;
    struct mcfg c1 = {.arch = "qwen3", .type = GLIMP_TYPE_F32, .head_dim = 32};
    check_model(&c1);
    struct mcfg c2 = {.arch = "llama",
                      .type = GLIMP_TYPE_Q8_0,
                      .head_dim = 8,
                      .n_head = 8,
                      .n_head_kv = 8,
                      .tied = true};
    check_model(&c2);
    struct mcfg c3 = {.arch = "qwen2", .type = GLIMP_TYPE_F16, .n_head = 4, .n_head_kv = 1};
    check_model(&c3);
}

/* ------------------------------------------------- rewriting GGUF files */

/* Copy a GGUF file with changes, to make files the test model writer will
 * not: a key dropped or set, a tensor dropped, replaced or added. */
struct rewrite {
    const char *drop_key;
    const char *set_key;
    struct glimp_gguf_value set_val;
    const char *set_key2;
    struct glimp_gguf_value set_val2;
    const char *drop_tensor;
    const char *put_tensor; /* replaces the one of that name, or is added */
    uint32_t put_type;
    uint32_t put_dims;
    uint64_t put_ne[2];
    const void *put_data; /* NULL: zeros */
};

static void rewrite_file(const char *src, const char *dst, const struct rewrite *rw)
{
    struct glimp_gguf *g = NULL;
    assert_int_equal(glimp_gguf_open(src, &g), GLIMP_OK);
    struct glimp_gguf_writer *w =
        glimp_gguf_writer_init(glimp_gguf_version(g), glimp_gguf_alignment(g));
    assert_non_null(w);
    bool set1 = false, set2 = false;
    for (uint64_t i = 0; i < glimp_gguf_n_kv(g); i++) {
        const struct glimp_gguf_kv *kv = glimp_gguf_kv_at(g, i);
        if (!strcmp(kv->key, "general.alignment") ||
            (rw->drop_key && !strcmp(kv->key, rw->drop_key)))
            continue;
        const struct glimp_gguf_value *v = &kv->val;
        if (rw->set_key && !strcmp(kv->key, rw->set_key))
            v = &rw->set_val, set1 = true;
        if (rw->set_key2 && !strcmp(kv->key, rw->set_key2))
            v = &rw->set_val2, set2 = true;
        assert_int_equal(glimp_gguf_writer_set(w, kv->key, v), GLIMP_OK);
    }
    if (rw->set_key && !set1)
        assert_int_equal(glimp_gguf_writer_set(w, rw->set_key, &rw->set_val), GLIMP_OK);
    if (rw->set_key2 && !set2)
        assert_int_equal(glimp_gguf_writer_set(w, rw->set_key2, &rw->set_val2), GLIMP_OK);
    void *zeros = NULL;
    if (rw->put_tensor && !rw->put_data) {
        uint64_t nb = 0;
        assert_int_equal(glimp_type_nbytes(rw->put_type, rw->put_ne[0] * rw->put_ne[1], &nb),
                         GLIMP_OK);
        zeros = calloc(1, nb);
        assert_non_null(zeros);
    }
    const void *put_data = rw->put_data ? rw->put_data : zeros;
    bool put = false;
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++) {
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        if (rw->drop_tensor && !strcmp(t->name, rw->drop_tensor))
            continue;
        if (rw->put_tensor && !strcmp(t->name, rw->put_tensor)) {
            assert_int_equal(glimp_gguf_writer_add_tensor(w, t->name, rw->put_type, rw->put_dims,
                                                          rw->put_ne, put_data),
                             GLIMP_OK);
            put = true;
            continue;
        }
        assert_int_equal(
            glimp_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data), GLIMP_OK);
    }
    if (rw->put_tensor && !put)
        assert_int_equal(glimp_gguf_writer_add_tensor(w, rw->put_tensor, rw->put_type, rw->put_dims,
                                                      rw->put_ne, put_data),
                         GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_write_file(w, dst), GLIMP_OK);
    free(zeros);
    glimp_gguf_writer_free(w);
    glimp_gguf_close(g);
}

static struct glimp_gguf_value str_val(const char *s)
{
    struct glimp_gguf_value v = {.type = GLIMP_GGUF_STR};
    v.s.ptr = s;
    v.s.len = strlen(s);
    return v;
}

static struct glimp_gguf_value u32_val(uint32_t x)
{
    struct glimp_gguf_value v = {.type = GLIMP_GGUF_U32};
    v.u = x;
    return v;
}

static struct glimp_gguf_value f32_val(float x)
{
    struct glimp_gguf_value v = {.type = GLIMP_GGUF_F32};
    v.f = x;
    return v;
}

/* Load must fail with code and a message containing each of the strings. */
static void expect_load_error(const char *path, int code, const char *want1, const char *want2)
{
    struct glimp_model *m = (struct glimp_model *)1;
    int rc = glimp_model_load(path, NULL, &m);
    const char *msg = glimp_last_error();
    if (rc != code)
        fail_msg("load: code %d (%s), expected %d", rc, msg, code);
    assert_null(m);
    if (want1 && !strstr(msg, want1))
        fail_msg("load error '%s' does not contain '%s'", msg, want1);
    if (want2 && !strstr(msg, want2))
        fail_msg("load error '%s' does not contain '%s'", msg, want2);
}

/* ------------------------------------------------ RoPE frequency scaling */

/* llama3's rope_freqs.weight and linear scaling keys, which the test model
 * writer does not produce, against the reference; rope_freqs changes the
 * logits of llama and is no part of qwen2. */
static float *logits_of(const char *path, const int32_t *ids, bool check_ref, bool want_freqs,
                        float want_scale)
{
    struct glimp_model *m = load_ok(path, 0);
    const struct glimp_model_info *h = glimp_model_info(m);
    assert_int_equal(h->rope_freqs, want_freqs);
    assert_true(h->rope_freq_scale == want_scale);
    struct glimp_ctx *c = ctx_ok(m, 0, 0);
    struct glimp_seq *s = seq_ok(m, CTX);
    const float *lg = append_ok(c, s, ids, N_TOK, true);
    float *copy = malloc(N_TOK * h->n_vocab * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, lg, N_TOK * h->n_vocab * sizeof *copy);
    if (check_ref) {
        double e = ref_error(path, ids, N_TOK, lg, h->n_vocab);
        printf("    %s: max |engine - ref| / max |ref| = %.2e\n", path + strlen(tu_tmp_path("")),
               e);
        assert_true(e <= REF_TOL);
    }
    glimp_seq_free(s);
    glimp_ctx_free(c);
    glimp_model_free(m);
    return copy;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double d = 0.0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

static void test_rope_scaling(void **state)
{
    (void)state;
    /* head_dim 16: 8 pairs; factors like llama3's, 1 for fast pairs up to 8 */
    static const float factors[8] = {1.0f, 1.0f, 1.0f, 1.5f, 2.5f, 4.0f, 8.0f, 8.0f};
    struct rewrite rf = {.put_tensor = "rope_freqs.weight",
                         .put_type = GLIMP_TYPE_F32,
                         .put_dims = 1,
                         .put_ne = {8, 1},
                         .put_data = factors};
    struct rewrite rl = {.set_key = "llama.rope.scaling.type",
                         .set_val = str_val("linear"),
                         .set_key2 = "llama.rope.scaling.factor",
                         .set_val2 = f32_val(4.0f)};
    char plain[512], freqs[512], linear[512];
    struct mcfg c = {.arch = "llama", .type = GLIMP_TYPE_F32};
    snprintf(plain, sizeof plain, "%s", write_model(&c, "rope-llama.gguf"));
    snprintf(freqs, sizeof freqs, "%s", tu_tmp_path("rope-llama-freqs.gguf"));
    snprintf(linear, sizeof linear, "%s", tu_tmp_path("rope-llama-freqs-linear.gguf"));
    rewrite_file(plain, freqs, &rf);
    rewrite_file(freqs, linear, &rl);

    int32_t ids[N_TOK];
    random_ids(5, 309, ids, N_TOK);
    size_t n = N_TOK * 309;
    float *a = logits_of(plain, ids, false, false, 1.0f);
    float *b = logits_of(freqs, ids, true, true, 1.0f);
    float *d = logits_of(linear, ids, true, true, 0.25f);
    double scale = max_abs_diff(a, a + n, 0) + 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)a[i]));
    printf("    max |logit| %.3g; rope_freqs change logits by %.3g, linear scaling by %.3g\n",
           scale, max_abs_diff(a, b, n), max_abs_diff(b, d, n));
    /* large enough for the comparison with the reference to notice */
    assert_true(max_abs_diff(a, b, n) > 10 * REF_TOL * scale);
    assert_true(max_abs_diff(b, d, n) > 10 * REF_TOL * scale);
    free(a), free(b), free(d);

    /* qwen2 does not read rope_freqs.weight (llama.cpp: llama only) */
    struct mcfg c2 = {.arch = "qwen2", .type = GLIMP_TYPE_F32};
    snprintf(plain, sizeof plain, "%s", write_model(&c2, "rope-qwen2.gguf"));
    snprintf(freqs, sizeof freqs, "%s", tu_tmp_path("rope-qwen2-freqs.gguf"));
    rewrite_file(plain, freqs, &rf);
    a = logits_of(plain, ids, false, false, 1.0f);
    b = logits_of(freqs, ids, true, false, 1.0f);
    assert_memory_equal(a, b, n * sizeof *a);
    free(a), free(b);
}

/* --------------------------------------------------- sequences together */

static void test_two_sequences(void **state)
{
    (void)state;
    struct mcfg c = {.arch = "qwen3", .type = GLIMP_TYPE_Q8_0};
    struct glimp_model *m = load_ok(write_model(&c, "two.gguf"), 0);
    uint32_t V = glimp_model_info(m)->n_vocab;
    int32_t a[N_TOK], b[N_TOK];
    random_ids(11, V, a, N_TOK);
    random_ids(12, V, b, N_TOK);
    float *alone_a = malloc(N_TOK * V * sizeof(float));
    float *alone_b = malloc(N_TOK * V * sizeof(float));
    /* each alone, in a context of its own */
    struct glimp_ctx *ca = ctx_ok(m, 0, 0), *cb = ctx_ok(m, 0, 0);
    struct glimp_seq *s = seq_ok(m, CTX);
    memcpy(alone_a, append_ok(ca, s, a, N_TOK, true), N_TOK * V * sizeof(float));
    glimp_seq_free(s);
    s = seq_ok(m, CTX);
    memcpy(alone_b, append_ok(cb, s, b, N_TOK, true), N_TOK * V * sizeof(float));
    glimp_seq_free(s);
    glimp_ctx_free(ca);
    glimp_ctx_free(cb);

    /* interleaved in one shared context: a in threes, b one by one, with a
     * rollback on b; b's longer context grows the shared scores on its
     * first append, and a's logits outlive b's appends */
    struct glimp_ctx *shared = ctx_ok(m, 0, 0);
    struct glimp_seq *sa = seq_ok(m, CTX), *sb = seq_ok(m, 0);
    assert_int_equal(glimp_seq_n_ctx(sb), 4096); /* the model's, within the budget */
    const float *la = NULL;
    for (size_t t = 0; t < N_TOK; t++) {
        if (t % 3 == 0) {
            la = append_ok(shared, sa, a + t, 3, true);
            for (size_t i = 0; i < 3; i++)
                same_bits(la + i * V, alone_a + (t + i) * V, V, "side by side (a)", t + i);
        }
        same_bits(append_ok(shared, sb, b + t, 1, false), alone_b + t * V, V, "side by side (b)",
                  t);
        same_bits(la + (t % 3) * V, alone_a + t * V, V, "a's logits after b's append", t);
        if (t == 10) {
            assert_int_equal(glimp_seq_truncate(sb, 4), GLIMP_OK);
            append_ok(shared, sb, b + 4, 7, false);
        }
    }
    assert_int_equal(glimp_seq_len(sa), N_TOK);
    assert_int_equal(glimp_seq_len(sb), N_TOK);
    glimp_seq_free(sa);
    glimp_seq_free(sb);
    glimp_ctx_free(shared);
    free(alone_a);
    free(alone_b);
    glimp_model_free(m);
}

/* The thread count and batch size of a context change no bit, and a
 * context of another model is refused. */
static void test_ctx_params(void **state)
{
    (void)state;
    struct mcfg c = {.arch = "qwen2", .type = GLIMP_TYPE_Q4_K, .wide = true};
    struct glimp_model *m = load_ok(write_model(&c, "ctx.gguf"), 0);
    uint32_t V = glimp_model_info(m)->n_vocab;
    int32_t ids[N_TOK];
    random_ids(21, V, ids, N_TOK);
    size_t row = V * sizeof(float);
    float *want = malloc(N_TOK * row);
    assert_non_null(want);

    struct glimp_ctx *c1 = ctx_ok(m, 0, 1), *c2 = ctx_ok(m, 0, 2), *c5 = ctx_ok(m, 5, 2);
    assert_int_equal(glimp_ctx_n_threads(c1), 1);
    assert_int_equal(glimp_ctx_n_threads(c2), 2);
    assert_int_equal(glimp_ctx_n_batch(c1), glimp_model_default_params().n_batch);
    assert_int_equal(glimp_ctx_n_batch(c5), 5);
    struct glimp_seq *s = seq_ok(m, CTX);
    memcpy(want, append_ok(c1, s, ids, N_TOK, true), N_TOK * row);
    glimp_seq_free(s);
    s = seq_ok(m, CTX);
    const float *lg = append_ok(c2, s, ids, N_TOK, true);
    for (size_t t = 0; t < N_TOK; t++)
        same_bits(lg + t * V, want + t * V, V, "2 threads against 1", t);
    glimp_seq_free(s);
    /* one sequence passed between contexts as it grows */
    s = seq_ok(m, CTX);
    struct glimp_ctx *cs[3] = {c1, c2, c5};
    for (size_t t = 0; t < N_TOK; t++)
        same_bits(append_ok(cs[t % 3], s, &ids[t], 1, false), want + t * V, V, "contexts in turn",
                  t);
    assert_int_equal(glimp_seq_truncate(s, 0), GLIMP_OK);
    lg = append_ok(c5, s, ids, N_TOK, true); /* chunks of 5 */
    for (size_t t = 0; t < N_TOK; t++)
        same_bits(lg + t * V, want + t * V, V, "n_batch 5", t);

    /* a context of another model */
    struct glimp_model *other = load_ok(tu_tmp_path("ctx.gguf"), 0);
    struct glimp_ctx *co = ctx_ok(other, 0, 1);
    const float *keep = (const float *)1;
    assert_int_equal(glimp_seq_append(co, s, ids, 1, false, &keep), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "different models"));
    assert_ptr_equal(keep, (const float *)1);
    assert_int_equal(glimp_seq_len(s), N_TOK);
    assert_int_equal(glimp_seq_append(NULL, s, ids, 1, false, &keep), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "no context"));

    /* params out of range, named */
    struct glimp_ctx *bad = (struct glimp_ctx *)1;
    struct glimp_ctx_params cp = glimp_ctx_default_params();
    cp.n_threads = 100000;
    assert_int_equal(glimp_ctx_init(m, &cp, &bad), GLIMP_ERR_INVALID);
    assert_null(bad);
    assert_non_null(strstr(glimp_last_error(), "n_threads 100000"));
    cp = glimp_ctx_default_params();
    cp.n_batch = 5000;
    assert_int_equal(glimp_ctx_init(m, &cp, &bad), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "n_batch 5000"));

    glimp_seq_free(s);
    glimp_ctx_free(co);
    glimp_ctx_free(c1);
    glimp_ctx_free(c2);
    glimp_ctx_free(c5);
    glimp_ctx_free(NULL);
    glimp_model_free(other);
    free(want);
    glimp_model_free(m);
}

/* A prompt of the first N_PP ids in one append (its logits all kept), then
 * the rest one token at a time; every position's logits into out (N_TOK
 * rows). Returns the seconds spent inside the appends. */
#define N_PP 16
static double timed_appends(struct glimp_ctx *c, struct glimp_seq *s, const int32_t *ids,
                            uint32_t V, float *out)
{
    double t0 = glimp_now();
    const float *lg = append_ok(c, s, ids, N_PP, true);
    double wall = glimp_now() - t0;
    memcpy(out, lg, (size_t)N_PP * V * sizeof *out);
    for (uint32_t t = N_PP; t < N_TOK; t++) {
        t0 = glimp_now();
        lg = append_ok(c, s, ids + t, 1, false);
        wall += glimp_now() - t0;
        memcpy(out + (size_t)t * V, lg, V * sizeof *out);
    }
    return wall;
}

/* Phase timing changes no bit of the logits (a prompt in chunks, then one
 * token at a time, on one thread and on two), every phase that runs gets
 * time, the phases add up to no more than the calls took (and to most of
 * it), a pool of one thread never waits, and timing off keeps the
 * counters as they were. */
static void test_phase_times(void **state)
{
    (void)state;
    struct mcfg c = {.arch = "qwen2", .type = GLIMP_TYPE_Q8_0};
    struct glimp_model *m = load_ok(write_model(&c, "phases.gguf"), 0);
    uint32_t V = glimp_model_info(m)->n_vocab;
    int32_t ids[N_TOK];
    random_ids(31, V, ids, N_TOK);
    float *off = malloc((size_t)N_TOK * V * sizeof *off);
    float *on = malloc((size_t)N_TOK * V * sizeof *on);
    assert_non_null(off);
    assert_non_null(on);
    for (uint32_t n_threads = 1; n_threads <= 2; n_threads++) {
        struct glimp_ctx *ctx = ctx_ok(m, 8, n_threads); /* the prompt in two chunks */
        struct glimp_seq *s = seq_ok(m, CTX);
        timed_appends(ctx, s, ids, V, off);
        glimp_seq_free(s);

        glimp_ctx_time_phases(ctx, true);
        s = seq_ok(m, CTX);
        double wall = timed_appends(ctx, s, ids, V, on);
        for (uint32_t t = 0; t < N_TOK; t++)
            same_bits(on + (size_t)t * V, off + (size_t)t * V, V, "timing on against off", t);

        struct glimp_phase_times pt;
        glimp_ctx_phase_times(ctx, &pt);
        assert_int_equal(pt.n_calls, 1 + N_TOK - N_PP);
        assert_int_equal(pt.n_tokens, N_TOK);
        double sum = 0.0;
        for (int ph = 0; ph < GLIMP_PASS_COUNT; ph++) {
            if (ph != GLIMP_PASS_SYNC && !(pt.seconds[ph] > 0.0))
                fail_msg("%u threads: phase %s got %g s", n_threads,
                         glimp_pass_phase_name((enum glimp_pass_phase)ph), pt.seconds[ph]);
            assert_true(pt.seconds[ph] >= 0.0);
            sum += pt.seconds[ph];
        }
        if (!(sum <= wall + 1e-9 && sum >= 0.5 * wall))
            fail_msg("%u threads: phases sum to %.9f s, the appends took %.9f s", n_threads, sum,
                     wall);
        if (n_threads == 1)
            assert_true(pt.seconds[GLIMP_PASS_SYNC] == 0.0);
        /* the waits, split by phase, are the sync phase */
        double waits = 0.0;
        for (int ph = 0; ph < GLIMP_PASS_COUNT; ph++) {
            assert_true(pt.waits[ph] >= 0.0);
            waits += pt.waits[ph];
        }
        assert_true(fabs(waits - pt.seconds[GLIMP_PASS_SYNC]) <= 1e-12 + 1e-9 * waits);
        assert_true(pt.waits[GLIMP_PASS_SYNC] == 0.0 && pt.waits[GLIMP_PASS_OTHER] == 0.0);

        /* off: the counters stay as they were */
        glimp_ctx_time_phases(ctx, false);
        assert_int_equal(glimp_seq_truncate(s, N_PP), GLIMP_OK);
        append_ok(ctx, s, ids + N_PP, 1, false);
        struct glimp_phase_times after;
        glimp_ctx_phase_times(ctx, &after);
        assert_memory_equal(&after, &pt, sizeof pt);
        /* on again: from zero */
        glimp_ctx_time_phases(ctx, true);
        glimp_ctx_phase_times(ctx, &after);
        assert_int_equal(after.n_calls, 0);
        assert_true(after.seconds[GLIMP_PASS_FFN] == 0.0);
        glimp_seq_free(s);
        glimp_ctx_free(ctx);
    }
    for (int ph = 0; ph < GLIMP_PASS_COUNT; ph++)
        for (int other = 0; other < ph; other++)
            assert_string_not_equal(glimp_pass_phase_name((enum glimp_pass_phase)ph),
                                    glimp_pass_phase_name((enum glimp_pass_phase)other));
    assert_null(glimp_pass_phase_name(GLIMP_PASS_COUNT));
    free(off);
    free(on);
    glimp_model_free(m);
}

/* The kernels parameter: resolved at load, an unknown name refused by
 * name, and the environment not read. */
static void test_kernels_param(void **state)
{
    (void)state;
    struct mcfg c = {.arch = "llama", .type = GLIMP_TYPE_Q8_0};
    const char *path = write_model(&c, "kern.gguf");
    struct glimp_model_params mp = glimp_model_default_params();
    struct glimp_model *m = (struct glimp_model *)1;
    mp.kernels = "avx9000";
    assert_int_equal(glimp_model_load(path, &mp, &m), GLIMP_ERR_INVALID);
    assert_null(m);
    assert_non_null(strstr(glimp_last_error(), "kernels 'avx9000' unknown"));
    /* "auto" and its portable build agree bit for bit; GLIMP_KERNELS is
     * not read */
    setenv("GLIMP_KERNELS", "no-such-kernels", 1);
    mp.kernels = "auto";
    assert_int_equal(glimp_model_load(path, &mp, &m), GLIMP_OK);
    unsetenv("GLIMP_KERNELS");
    struct glimp_model *ms = load_kernels(path, portable_kernels());
    uint32_t V = glimp_model_info(m)->n_vocab;
    int32_t ids[8];
    random_ids(4, V, ids, 8);
    struct glimp_ctx *cx = ctx_ok(m, 0, 0), *cs = ctx_ok(ms, 0, 0);
    struct glimp_seq *s = seq_ok(m, CTX), *ss = seq_ok(ms, CTX);
    const float *la = append_ok(cx, s, ids, 8, false);
    same_bits(append_ok(cs, ss, ids, 8, false), la, V, "auto against scalar", 7);
    glimp_seq_free(s);
    glimp_seq_free(ss);
    glimp_ctx_free(cx);
    glimp_ctx_free(cs);
    glimp_model_free(ms);
    glimp_model_free(m);
}

/* ------------------------------------------------------------- errors */

static void test_seq_errors(void **state)
{
    (void)state;
    struct mcfg c = {.arch = "llama", .type = GLIMP_TYPE_F32};
    struct glimp_model *m = load_ok(write_model(&c, "errs.gguf"), 4);
    uint32_t V = glimp_model_info(m)->n_vocab;
    int32_t ids[16];
    random_ids(3, V, ids, 16);
    float *want = malloc(16 * V * sizeof(float));
    struct glimp_ctx *cx = ctx_ok(m, 0, 0);
    struct glimp_seq *s = seq_ok(m, 16);
    memcpy(want, append_ok(cx, s, ids, 16, true), 16 * V * sizeof(float));
    glimp_seq_free(s);

    s = seq_ok(m, 16);
    assert_int_equal(glimp_seq_n_ctx(s), 16);
    append_ok(cx, s, ids, 10, false);
    const float *lg = (const float *)1;

    /* past the context: refused, nothing changes */
    assert_int_equal(glimp_seq_append(cx, s, ids + 10, 7, false, &lg), GLIMP_ERR_RANGE);
    assert_string_equal(glimp_last_error(), "sequence would hold 17 tokens, context is 16");
    assert_int_equal(glimp_seq_len(s), 10);
    assert_ptr_equal(lg, (const float *)1);

    /* ids outside the vocabulary */
    int32_t bad[3] = {ids[10], ids[11], (int32_t)V};
    assert_int_equal(glimp_seq_append(cx, s, bad, 3, true, &lg), GLIMP_ERR_RANGE);
    assert_non_null(strstr(glimp_last_error(), "token id 309 at index 2"));
    assert_non_null(strstr(glimp_last_error(), "outside the vocabulary"));
    bad[2] = -1;
    assert_int_equal(glimp_seq_append(cx, s, bad, 3, false, &lg), GLIMP_ERR_RANGE);
    assert_non_null(strstr(glimp_last_error(), "token id -1"));
    assert_int_equal(glimp_seq_len(s), 10);

    assert_int_equal(glimp_seq_append(cx, s, ids, 0, false, &lg), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_seq_truncate(s, 11), GLIMP_ERR_RANGE);
    assert_int_equal(glimp_seq_len(s), 10);

    /* and the sequence goes on as if nothing had happened, to the brim */
    lg = append_ok(cx, s, ids + 10, 6, true);
    for (size_t t = 10; t < 16; t++)
        same_bits(lg + (t - 10) * V, want + t * V, V, "after refused appends", t);
    assert_int_equal(glimp_seq_append(cx, s, ids, 1, false, &lg), GLIMP_ERR_RANGE);
    assert_string_equal(glimp_last_error(), "sequence would hold 17 tokens, context is 16");
    glimp_seq_free(s);
    glimp_ctx_free(cx);
    free(want);

    /* the default context follows the KV budget: 2 layers x 32 wide x K and
     * V x 4 bytes = 512 bytes a token */
    const char *path = tu_tmp_path("errs.gguf");
    struct glimp_model_params mp = glimp_model_default_params();
    mp.kv_budget = 512 * 1000;
    struct glimp_model *mb = NULL;
    assert_int_equal(glimp_model_load(path, &mp, &mb), GLIMP_OK);
    s = seq_ok(mb, 0);
    assert_int_equal(glimp_seq_n_ctx(s), 768); /* 1000, rounded down to 256s */
    glimp_seq_free(s);
    glimp_model_free(mb);
    mp.kv_budget = 100;
    assert_int_equal(glimp_model_load(path, &mp, &mb), GLIMP_OK);
    s = (struct glimp_seq *)1;
    assert_int_equal(glimp_seq_init(mb, 0, &s), GLIMP_ERR_NOMEM);
    assert_null(s);
    assert_non_null(strstr(glimp_last_error(), "holds no token"));
    glimp_model_free(mb);
    mp.n_batch = 0;
    assert_int_equal(glimp_model_load(path, &mp, &mb), GLIMP_ERR_INVALID);
    mp = glimp_model_default_params();
    mp.n_threads = 100000;
    assert_int_equal(glimp_model_load(path, &mp, &mb), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "n_threads"));
    glimp_model_free(m);
}

static void test_load_errors(void **state)
{
    (void)state;
    struct mcfg c = {.arch = "qwen3", .type = GLIMP_TYPE_F32};
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s", write_model(&c, "load-src.gguf"));
    snprintf(dst, sizeof dst, "%s", tu_tmp_path("load-bad.gguf"));

    struct rewrite r1 = {.set_key = "general.architecture", .set_val = str_val("gpt9")};
    rewrite_file(src, dst, &r1);
    expect_load_error(dst, GLIMP_ERR_UNSUPPORTED, "unknown architecture 'gpt9'", "load-bad.gguf");

    struct rewrite r2 = {.drop_tensor = "blk.1.ffn_up.weight"};
    rewrite_file(src, dst, &r2);
    expect_load_error(dst, GLIMP_ERR_NOT_FOUND, "tensor 'blk.1.ffn_up.weight' not found", NULL);

    struct rewrite r3 = {.drop_tensor = "blk.0.attn_k_norm.weight"};
    rewrite_file(src, dst, &r3);
    expect_load_error(dst, GLIMP_ERR_NOT_FOUND, "blk.0.attn_k_norm.weight", NULL);

    struct rewrite r4 = {.drop_key = "qwen3.attention.layer_norm_rms_epsilon"};
    rewrite_file(src, dst, &r4);
    expect_load_error(dst, GLIMP_ERR_NOT_FOUND, "qwen3.attention.layer_norm_rms_epsilon", NULL);

    struct rewrite r5 = {.set_key = "qwen3.attention.head_count_kv", .set_val = u32_val(3)};
    rewrite_file(src, dst, &r5);
    expect_load_error(dst, GLIMP_ERR_FORMAT, "head_count_kv' is 3", "does not divide");

    struct rewrite r6 = {.put_tensor = "blk.0.attn_q.weight",
                         .put_type = GLIMP_TYPE_F32,
                         .put_dims = 2,
                         .put_ne = {64, 32}};
    rewrite_file(src, dst, &r6);
    expect_load_error(dst, GLIMP_ERR_FORMAT, "tensor 'blk.0.attn_q.weight' has shape [64, 32]",
                      "expected [64, 64]");

    struct rewrite r7 = {.put_tensor = "blk.1.ffn_down.weight",
                         .put_type = GLIMP_TYPE_Q4_1,
                         .put_dims = 2,
                         .put_ne = {192, 64}};
    rewrite_file(src, dst, &r7);
    expect_load_error(dst, GLIMP_ERR_UNSUPPORTED, "tensor 'blk.1.ffn_down.weight' has type Q4_1",
                      "cannot compute");

    struct rewrite r8 = {.put_tensor = "output_norm.weight",
                         .put_type = GLIMP_TYPE_F16,
                         .put_dims = 1,
                         .put_ne = {64, 1}};
    rewrite_file(src, dst, &r8);
    expect_load_error(dst, GLIMP_ERR_UNSUPPORTED, "'output_norm.weight' has type F16", NULL);

    struct rewrite r9 = {.set_key = "qwen3.rope.scaling.type", .set_val = str_val("yarn")};
    rewrite_file(src, dst, &r9);
    expect_load_error(dst, GLIMP_ERR_UNSUPPORTED, "qwen3.rope.scaling.type' is 'yarn'", NULL);

    struct rewrite r10 = {.set_key = "qwen3.attention.key_length", .set_val = u32_val(8)};
    rewrite_file(src, dst, &r10);
    expect_load_error(dst, GLIMP_ERR_UNSUPPORTED, "value_length", NULL);

    /* head_count not dividing the width, with no key_length to help */
    struct mcfg c2 = {.arch = "qwen2", .type = GLIMP_TYPE_F32};
    char src2[512];
    snprintf(src2, sizeof src2, "%s", write_model(&c2, "load-src2.gguf"));
    struct rewrite r11 = {.set_key = "qwen2.attention.head_count",
                          .set_val = u32_val(6),
                          .set_key2 = "qwen2.attention.head_count_kv",
                          .set_val2 = u32_val(2)};
    rewrite_file(src2, dst, &r11);
    expect_load_error(dst, GLIMP_ERR_FORMAT, "head_count' 6 does not divide", NULL);

    struct rewrite r12 = {.drop_tensor = "blk.0.attn_v.bias"};
    rewrite_file(src2, dst, &r12);
    expect_load_error(dst, GLIMP_ERR_NOT_FOUND, "tensor 'blk.0.attn_v.bias' not found", NULL);

    struct rewrite r13 = {.put_tensor = "token_embd.weight",
                          .put_type = GLIMP_TYPE_F32,
                          .put_dims = 2,
                          .put_ne = {64, 300}};
    rewrite_file(src2, dst, &r13);
    expect_load_error(dst, GLIMP_ERR_FORMAT, "tokenizer.ggml.tokens has 309 entries",
                      "'token_embd.weight' has 300 rows");

    expect_load_error(tu_tmp_path("no-such-model.gguf"), GLIMP_ERR_IO, "no-such-model.gguf", NULL);
}

/* ---------------------------------------------------------------- info */

static void test_info(void **state)
{
    (void)state;
    struct mcfg c = {.arch = "qwen2", .type = GLIMP_TYPE_Q8_0};
    struct glimp_model *m = load_ok(write_model(&c, "info.gguf"), 0);
    const struct glimp_model_info *h = glimp_model_info(m);
    assert_int_equal(h->arch, GLIMP_ARCH_QWEN2);
    assert_string_equal(h->arch_name, "qwen2");
    assert_int_equal(h->n_vocab, 309);
    assert_int_equal(h->n_ctx_train, 4096);
    assert_int_equal(h->n_layer, 2);
    assert_int_equal(h->n_embd, 64);
    assert_int_equal(h->n_head, 4);
    assert_int_equal(h->n_head_kv, 2);
    assert_int_equal(h->head_dim, 16);
    assert_int_equal(h->n_rot, 16);
    assert_int_equal(h->n_ff, 192);
    assert_true(h->rope_base == 10000.0f);
    assert_true(h->rms_eps == 1e-6f);
    assert_true(h->rope_freq_scale == 1.0f);
    assert_int_equal(h->rope_type, GLIMP_ROPE_NEOX);
    assert_false(h->tied_output);
    assert_false(h->rope_freqs);
    /* 309 x 64 twice, 2 layers of q,k,v,o, biases, norms and the FFN */
    uint64_t per_layer = 64 * 64 + 2 * 64 * 32 + 64 * 64 + 64 + 32 + 32 + 64 + 64 + 3 * 64 * 192;
    assert_int_equal(h->n_params, 2 * 309 * 64 + 2 * per_layer + 64);
    assert_true(h->weight_bytes < h->n_params * 4);
    /* a decode reads one of the 309 embedding rows (Q8_0: 2 blocks of 34
     * bytes each) */
    assert_int_equal(h->decode_bytes, h->weight_bytes - 308 * 2 * 34);
    const struct glimp_gguf *g = glimp_model_gguf(m);
    assert_non_null(g);
    assert_non_null(glimp_gguf_find(g, "tokenizer.ggml.tokens"));
    glimp_model_free(m);

    struct mcfg c2 = {.arch = "llama", .type = GLIMP_TYPE_F32, .tied = true};
    m = load_ok(write_model(&c2, "info2.gguf"), 0);
    assert_int_equal(glimp_model_info(m)->rope_type, GLIMP_ROPE_NORM);
    assert_true(glimp_model_info(m)->tied_output);
    /* tied: the whole embedding is read, as the output head */
    assert_int_equal(glimp_model_info(m)->decode_bytes, glimp_model_info(m)->weight_bytes);
    glimp_model_free(m);
    glimp_model_free(NULL);
    glimp_seq_free(NULL);
    glimp_ctx_free(NULL);
}

static int print_summary(void **state)
{
    (void)state;
    printf("    max relative error per type (tolerance %.0e, quantized %.0e):", REF_TOL,
           FAST_QUANT_TOL);
    static const uint32_t types[] = {
        GLIMP_TYPE_F32,  GLIMP_TYPE_F16,  GLIMP_TYPE_BF16, GLIMP_TYPE_Q8_0, GLIMP_TYPE_Q4_0,
        GLIMP_TYPE_Q5_0, GLIMP_TYPE_Q5_1, GLIMP_TYPE_Q4_K, GLIMP_TYPE_Q5_K, GLIMP_TYPE_Q6_K};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        printf(" %s %.1e", glimp_type_info(types[i])->name, max_err_by_type[types[i]]);
    printf("\n    with kernels=ref (tolerance %.0e):", REF_TOL);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        printf(" %s %.1e", glimp_type_info(types[i])->name, max_ref_err_by_type[types[i]]);
    printf("\n");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f32),           cmocka_unit_test(test_f16),
        cmocka_unit_test(test_bf16),          cmocka_unit_test(test_q8_0),
        cmocka_unit_test(test_q4_0),          cmocka_unit_test(test_q5_0),
        cmocka_unit_test(test_q5_1),          cmocka_unit_test(test_q4_K),
        cmocka_unit_test(test_q5_K),          cmocka_unit_test(test_q6_K),
        cmocka_unit_test(test_head_shapes),   cmocka_unit_test(test_rope_scaling),
        cmocka_unit_test(test_two_sequences), cmocka_unit_test(test_ctx_params),
        cmocka_unit_test(test_kernels_param), cmocka_unit_test(test_seq_errors),
        cmocka_unit_test(test_load_errors),   cmocka_unit_test(test_info),
        cmocka_unit_test(test_phase_times),
    };
    return cmocka_run_group_tests(tests, NULL, print_summary);
}
