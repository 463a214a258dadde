/* testmodel.c - GGUF models with seeded random weights for tests: the
 * metadata keys, tensor names, shapes and types that llama.cpp's
 * convert_hf_to_gguf.py writes for Qwen3, Qwen2 and Llama checkpoints, so a
 * loader that reads these files reads real downloads too. */
#include "core/error.h"
#include "glimp_testmodel.h"
#include "kernels/quant.h"
#include "testmodel/vocab.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sizes beyond these are refused before anything is allocated. */
#define TM_MAX_DIM (1u << 20) /* any one width */
#define TM_MAX_LAYERS 1024u
#define TM_MAX_ELEMENTS (1ull << 31) /* one tensor */

struct glimp_testmodel_params glimp_testmodel_default_params(void)
{
    struct glimp_testmodel_params p = {
        .arch = "qwen3",
        .n_layer = 2,
        .n_embd = 64,
        .n_head = 4,
        .n_head_kv = 2,
        .head_dim = 0,
        .n_ff = 192,
        .n_ctx = 4096,
        .rope_base = 1000000.0f,
        .rms_eps = 1e-6f,
        .tied_output = true,
        .weight_type = GLIMP_TYPE_F32,
        .mix = GLIMP_MIX_NONE,
        .seed = 1,
        .tokenizer_json = NULL,
        .tokenizer_config_json = NULL,
        .name = NULL,
        .weights_dir = NULL,
    };
    return p;
}

/* ------------------------------------------------------------ validation */

enum tm_arch { TM_QWEN3, TM_QWEN2, TM_LLAMA };

/* The shape everything else is built from, after validation. */
struct tm_shape {
    enum tm_arch arch;
    uint32_t head_dim;
    uint32_t q_dim;  /* n_head * head_dim */
    uint32_t kv_dim; /* n_head_kv * head_dim */
};

static int check_dim(const char *what, uint32_t v, uint32_t max)
{
    if (v == 0)
        return glimp_error(GLIMP_ERR_INVALID, "test model: %s must be at least 1", what);
    if (v > max)
        return glimp_error(GLIMP_ERR_INVALID, "test model: %s %u is larger than the limit %u", what,
                           v, max);
    return GLIMP_OK;
}

static int validate(const struct glimp_testmodel_params *p, struct tm_shape *s)
{
    int rc;
    if (!p->arch)
        return glimp_error(GLIMP_ERR_INVALID, "test model: no architecture given");
    if (!strcmp(p->arch, "qwen3"))
        s->arch = TM_QWEN3;
    else if (!strcmp(p->arch, "qwen2"))
        s->arch = TM_QWEN2;
    else if (!strcmp(p->arch, "llama"))
        s->arch = TM_LLAMA;
    else
        return glimp_error(GLIMP_ERR_INVALID,
                           "test model: unknown architecture '%s' (known: qwen3, qwen2, llama)",
                           p->arch);
    if ((rc = check_dim("n_layer", p->n_layer, TM_MAX_LAYERS)) != GLIMP_OK ||
        (rc = check_dim("n_embd", p->n_embd, TM_MAX_DIM)) != GLIMP_OK ||
        (rc = check_dim("n_head", p->n_head, TM_MAX_DIM)) != GLIMP_OK ||
        (rc = check_dim("n_head_kv", p->n_head_kv, TM_MAX_DIM)) != GLIMP_OK ||
        (rc = check_dim("n_ff", p->n_ff, TM_MAX_DIM)) != GLIMP_OK ||
        (rc = check_dim("n_ctx", p->n_ctx, UINT32_MAX)) != GLIMP_OK)
        return rc;
    if (p->n_head % p->n_head_kv != 0)
        return glimp_error(GLIMP_ERR_INVALID, "test model: n_head_kv %u does not divide n_head %u",
                           p->n_head_kv, p->n_head);
    if (p->head_dim == 0) {
        if (p->n_embd % p->n_head != 0)
            return glimp_error(GLIMP_ERR_INVALID,
                               "test model: n_head %u does not divide n_embd %u (set head_dim "
                               "to choose the head size)",
                               p->n_head, p->n_embd);
        s->head_dim = p->n_embd / p->n_head;
    } else {
        if ((rc = check_dim("head_dim", p->head_dim, TM_MAX_DIM)) != GLIMP_OK)
            return rc;
        s->head_dim = p->head_dim;
    }
    if (s->head_dim % 2 != 0)
        return glimp_error(GLIMP_ERR_INVALID,
                           "test model: head_dim %u is odd; rotary embeddings need pairs",
                           s->head_dim);
    uint64_t q_dim = (uint64_t)p->n_head * s->head_dim;
    if (q_dim > TM_MAX_DIM)
        return glimp_error(GLIMP_ERR_INVALID,
                           "test model: n_head * head_dim = %llu is larger than the limit %u",
                           (unsigned long long)q_dim, TM_MAX_DIM);
    s->q_dim = (uint32_t)q_dim;
    s->kv_dim = p->n_head_kv * s->head_dim;
    if (!(p->rope_base > 0.0f) || !isfinite(p->rope_base))
        return glimp_error(GLIMP_ERR_INVALID, "test model: rope_base %g must be positive",
                           (double)p->rope_base);
    if (!(p->rms_eps > 0.0f) || !isfinite(p->rms_eps))
        return glimp_error(GLIMP_ERR_INVALID, "test model: rms_eps %g must be positive",
                           (double)p->rms_eps);

    /* Every 2-D weight is quantized row by row, so each row length must be
     * a whole number of blocks (token_embd and output have rows of n_embd).
     * A mix falls back to 32-element blocks where 256 do not fit. */
    const char *type_name;
    uint32_t block;
    if (p->mix != GLIMP_MIX_NONE) {
        if (p->mix != GLIMP_MIX_Q4_K_M && p->mix != GLIMP_MIX_Q5_K_M)
            return glimp_error(GLIMP_ERR_INVALID,
                               "test model: mix %u is not one glimp knows (%d Q4_K_M, %d Q5_K_M)",
                               p->mix, GLIMP_MIX_Q4_K_M, GLIMP_MIX_Q5_K_M);
        type_name = p->mix == GLIMP_MIX_Q4_K_M ? "Q4_K_M" : "Q5_K_M";
        block = 32;
    } else {
        const struct glimp_type_info *ti = glimp_type_info(p->weight_type);
        if (!ti)
            return glimp_error(GLIMP_ERR_INVALID, "test model: weight type %u is no tensor type",
                               p->weight_type);
        if (!ti->supported)
            return glimp_error(GLIMP_ERR_UNSUPPORTED,
                               "test model: weight type %s: glimp cannot quantize to it", ti->name);
        type_name = ti->name;
        block = ti->block_size;
    }
    const struct {
        const char *what;
        uint32_t len;
    } rows[] = {
        {"n_embd (rows of token_embd, attn_q/k/v, ffn_gate/up, output)", p->n_embd},
        {"n_head * head_dim (rows of attn_output)", s->q_dim},
        {"n_ff (rows of ffn_down)", p->n_ff},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].len % block != 0)
            return glimp_error(GLIMP_ERR_INVALID,
                               "test model: weight type %s packs %u values a block, but %s is "
                               "%u",
                               type_name, block, rows[i].what, rows[i].len);
    if (!p->tokenizer_json && p->tokenizer_config_json)
        return glimp_error(GLIMP_ERR_INVALID,
                           "test model: tokenizer_config_json given without tokenizer_json");
    return GLIMP_OK;
}

/* --------------------------------------------------------- random weights */

/* splitmix64 */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Approximately standard normal: the Irwin-Hall sum of 12 uniforms, minus 6.
 * Integer arithmetic up to one exact conversion, so every platform draws
 * the same floats (Box-Muller would lean on libm's last bits). */
static float rng_normal(uint64_t *state)
{
    uint64_t sum = 0;
    for (int i = 0; i < 12; i++)
        sum += rng_next(state) >> 32;
    return (float)((double)sum * (1.0 / 4294967296.0) - 6.0);
}

/* Each tensor draws from its own stream, keyed by the seed and its name, so
 * a tensor's values do not depend on which tensors came before it. */
static uint64_t tensor_stream(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 0x100000001b3ULL;
    uint64_t s = seed ^ h;
    rng_next(&s);
    return s;
}

enum tm_fill {
    FILL_WEIGHT, /* normal * 0.02, like a fresh init */
    FILL_NORM,   /* 1 + normal * 0.05 */
    FILL_BIAS,   /* normal * 0.02 */
};

struct tm_gen {
    struct glimp_gguf_writer *w;
    uint64_t seed;
    uint32_t weight_type;
    uint32_t mix;            /* enum glimp_testmodel_mix */
    uint32_t n_layer;        /* for the mix's choice of layers */
    bool tied;               /* no output.weight */
    const char *weights_dir; /* NULL: random values */
    uint64_t n_params;
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* The type llama.cpp's llama-quantize gives a 2-D weight under the mix, as
 * llama_tensor_get_type (src/llama-quant.cpp, February 2025) decides it for
 * a model of one expert, without an imatrix, converted from F16; name is the
 * tensor's name, layer its block (-1 outside the blocks), ne0 its row
 * length. Its counters of attn_v and ffn_down tensors equal the layer
 * index, because it visits the tensors sorted by layer. */
static uint32_t mix_type(const struct tm_gen *g, const char *name, int layer, uint64_t ne0)
{
    uint32_t base = g->mix == GLIMP_MIX_Q4_K_M ? GLIMP_TYPE_Q4_K : GLIMP_TYPE_Q5_K;
    int n = (int)g->n_layer;
    /* use_more_bits: the first and last eighth of the layers, and every
     * third one between. */
    bool more_bits =
        layer >= 0 && (layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2);
    uint32_t type = base;
    if (!strcmp(name, "output.weight") || (g->tied && !strcmp(name, "token_embd.weight"))) {
        /* Q8_0 when the row does not fill the mix's blocks, else Q6_K. */
        type = ne0 % QK_K != 0 ? GLIMP_TYPE_Q8_0 : GLIMP_TYPE_Q6_K;
    } else if (ends_with(name, ".attn_v.weight") || ends_with(name, ".ffn_down.weight")) {
        if (more_bits)
            type = GLIMP_TYPE_Q6_K;
    }
    /* Rows that are not whole 256-blocks: the "fallback quantization". */
    if (ne0 % QK_K != 0) {
        if (type == GLIMP_TYPE_Q4_K)
            type = GLIMP_TYPE_Q5_0;
        else if (type == GLIMP_TYPE_Q5_K)
            type = GLIMP_TYPE_Q5_1;
        else if (type == GLIMP_TYPE_Q6_K)
            type = GLIMP_TYPE_Q8_0;
    }
    return type;
}

/* ------------------------------------------------------- weights from files */

/* Read tensor name's n = ne0 * ne1 values from <dir>/<name>.f32 into x: raw
 * little-endian float32, row-major with rows of ne0 (ggml's order). The
 * file must hold exactly n * 4 bytes and only finite values; the error
 * names the tensor, the file and both sizes. */
static int read_weights(const char *dir, const char *name, uint64_t ne0, uint64_t ne1, float *x,
                        uint64_t n)
{
    char path[4096];
    int len = snprintf(path, sizeof path, "%s/%s.f32", dir, name);
    if (len < 0 || (size_t)len >= sizeof path)
        return glimp_error(GLIMP_ERR_INVALID, "test model: tensor %s: weights path too long", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return glimp_error(errno == ENOENT ? GLIMP_ERR_NOT_FOUND : GLIMP_ERR_IO,
                           "test model: tensor %s: cannot open %s: %s", name, path,
                           strerror(errno));
    int rc = GLIMP_OK;
    uint64_t want = n * 4;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = glimp_error(GLIMP_ERR_IO, "test model: tensor %s: cannot size %s", name, path);
    } else if ((uint64_t)size != want) {
        char shape[64];
        if (ne1)
            snprintf(shape, sizeof shape, "%llu x %llu", (unsigned long long)ne0,
                     (unsigned long long)ne1);
        else
            snprintf(shape, sizeof shape, "%llu", (unsigned long long)ne0);
        rc = glimp_error(GLIMP_ERR_FORMAT,
                         "test model: tensor %s: %s holds %lld bytes, expected %llu (%s float32 "
                         "values, ne0 = %llu)",
                         name, path, (long long)size, (unsigned long long)want, shape,
                         (unsigned long long)ne0);
    }
    /* Decode byte by byte: the file is little-endian whatever the host. */
    unsigned char buf[4096];
    for (uint64_t i = 0; rc == GLIMP_OK && i < n;) {
        size_t want_vals = n - i < sizeof buf / 4 ? (size_t)(n - i) : sizeof buf / 4;
        if (fread(buf, 4, want_vals, f) != want_vals) {
            rc = glimp_error(GLIMP_ERR_IO, "test model: tensor %s: short read from %s", name, path);
            break;
        }
        for (size_t k = 0; k < want_vals; k++, i++) {
            const unsigned char *b = buf + 4 * k;
            uint32_t u =
                (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&x[i], &u, sizeof u);
            if (!isfinite(x[i])) {
                rc = glimp_error(GLIMP_ERR_FORMAT,
                                 "test model: tensor %s: value %llu of %s is not finite", name,
                                 (unsigned long long)i, path);
                break;
            }
        }
    }
    fclose(f);
    return rc;
}

/* Add one tensor, [ne0] (1-D, F32) or [ne0, ne1] (2-D, the weight type or
 * the mix's choice). layer: its block, -1 for those outside. Its values are
 * seeded random ones, or the file's in g->weights_dir. */
static int add_tensor(struct tm_gen *g, const char *name, int layer, uint64_t ne0, uint64_t ne1,
                      enum tm_fill fill)
{
    uint32_t n_dims = ne1 ? 2 : 1;
    uint64_t ne[2] = {ne0, ne1 ? ne1 : 1};
    uint32_t type = n_dims == 1                ? GLIMP_TYPE_F32
                    : g->mix != GLIMP_MIX_NONE ? mix_type(g, name, layer, ne0)
                                               : g->weight_type;
    uint64_t n = ne[0] * ne[1]; /* below 2^20 * 2^24: no overflow */
    if (n > TM_MAX_ELEMENTS)
        return glimp_error(GLIMP_ERR_INVALID,
                           "test model: tensor %s would have %llu elements, over the limit %llu",
                           name, (unsigned long long)n, (unsigned long long)TM_MAX_ELEMENTS);
    uint64_t nbytes;
    int rc = glimp_type_nbytes(type, n, &nbytes);
    if (rc != GLIMP_OK)
        return glimp_error_prefix(rc, "test model: tensor %s: ", name);

    float *x = malloc((size_t)n * sizeof *x);
    if (!x)
        return glimp_error(GLIMP_ERR_NOMEM, "test model: tensor %s: out of memory (%llu values)",
                           name, (unsigned long long)n);
    if (g->weights_dir) {
        rc = read_weights(g->weights_dir, name, ne0, ne1, x, n);
        if (rc != GLIMP_OK) {
            free(x);
            return rc;
        }
    } else {
        uint64_t st = tensor_stream(g->seed, name);
        for (uint64_t i = 0; i < n; i++) {
            float r = rng_normal(&st);
            x[i] = fill == FILL_NORM ? 1.0f + 0.05f * r : 0.02f * r;
        }
    }
    void *data = x;
    void *q = NULL;
    if (type != GLIMP_TYPE_F32) {
        q = malloc((size_t)nbytes);
        if (!q) {
            free(x);
            return glimp_error(GLIMP_ERR_NOMEM, "test model: tensor %s: out of memory", name);
        }
        rc = glimp_quantize((enum glimp_type)type, x, q, n);
        if (rc != GLIMP_OK) {
            free(x);
            free(q);
            return glimp_error_prefix(rc, "test model: tensor %s: ", name);
        }
        data = q;
    }
    rc = glimp_gguf_writer_add_tensor(g->w, name, type, n_dims, ne, data);
    free(x);
    free(q);
    if (rc != GLIMP_OK)
        return glimp_error_prefix(rc, "test model: tensor %s: ", name);
    g->n_params += n;
    return GLIMP_OK;
}

static int add_layer_tensor(struct tm_gen *g, uint32_t layer, const char *what, uint64_t ne0,
                            uint64_t ne1, enum tm_fill fill)
{
    char name[64];
    snprintf(name, sizeof name, "blk.%u.%s", layer, what);
    return add_tensor(g, name, (int)layer, ne0, ne1, fill);
}

static int add_tensors(struct tm_gen *g, const struct glimp_testmodel_params *p,
                       const struct tm_shape *s, uint32_t n_vocab)
{
    int rc;
    uint32_t e = p->n_embd;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if ((rc = (call)) != GLIMP_OK)                                                             \
            return rc;                                                                             \
    } while (0)
    TRY(add_tensor(g, "token_embd.weight", -1, e, n_vocab, FILL_WEIGHT)); /* (n_embd, n_vocab) */
    for (uint32_t l = 0; l < p->n_layer; l++) {
        TRY(add_layer_tensor(g, l, "attn_norm.weight", e, 0, FILL_NORM));
        TRY(add_layer_tensor(g, l, "attn_q.weight", e, s->q_dim, FILL_WEIGHT));
        TRY(add_layer_tensor(g, l, "attn_k.weight", e, s->kv_dim, FILL_WEIGHT));
        TRY(add_layer_tensor(g, l, "attn_v.weight", e, s->kv_dim, FILL_WEIGHT));
        if (s->arch == TM_QWEN2) {
            TRY(add_layer_tensor(g, l, "attn_q.bias", s->q_dim, 0, FILL_BIAS));
            TRY(add_layer_tensor(g, l, "attn_k.bias", s->kv_dim, 0, FILL_BIAS));
            TRY(add_layer_tensor(g, l, "attn_v.bias", s->kv_dim, 0, FILL_BIAS));
        }
        TRY(add_layer_tensor(g, l, "attn_output.weight", s->q_dim, e, FILL_WEIGHT));
        if (s->arch == TM_QWEN3) {
            TRY(add_layer_tensor(g, l, "attn_q_norm.weight", s->head_dim, 0, FILL_NORM));
            TRY(add_layer_tensor(g, l, "attn_k_norm.weight", s->head_dim, 0, FILL_NORM));
        }
        TRY(add_layer_tensor(g, l, "ffn_norm.weight", e, 0, FILL_NORM));
        TRY(add_layer_tensor(g, l, "ffn_gate.weight", e, p->n_ff, FILL_WEIGHT));
        TRY(add_layer_tensor(g, l, "ffn_up.weight", e, p->n_ff, FILL_WEIGHT));
        TRY(add_layer_tensor(g, l, "ffn_down.weight", p->n_ff, e, FILL_WEIGHT));
    }
    TRY(add_tensor(g, "output_norm.weight", -1, e, 0, FILL_NORM));
    if (!p->tied_output)
        TRY(add_tensor(g, "output.weight", -1, e, n_vocab, FILL_WEIGHT)); /* (n_embd, n_vocab) */
#undef TRY
    return GLIMP_OK;
}

/* --------------------------------------------------------------- metadata */

/* llama.cpp's LlamaFileType for a file whose 2-D weights are all one type.
 * Uniform K-quant files are closest to the _S ("small") mixes. */
static uint32_t file_type_of(uint32_t weight_type)
{
    switch (weight_type) {
    case GLIMP_TYPE_F32: return 0;   /* ALL_F32 */
    case GLIMP_TYPE_F16: return 1;   /* MOSTLY_F16 */
    case GLIMP_TYPE_Q4_0: return 2;  /* MOSTLY_Q4_0 */
    case GLIMP_TYPE_Q8_0: return 7;  /* MOSTLY_Q8_0 */
    case GLIMP_TYPE_Q5_0: return 8;  /* MOSTLY_Q5_0 */
    case GLIMP_TYPE_Q5_1: return 9;  /* MOSTLY_Q5_1 */
    case GLIMP_TYPE_Q4_K: return 14; /* MOSTLY_Q4_K_S */
    case GLIMP_TYPE_Q5_K: return 16; /* MOSTLY_Q5_K_S */
    case GLIMP_TYPE_Q6_K: return 18; /* MOSTLY_Q6_K */
    case GLIMP_TYPE_BF16: return 32; /* MOSTLY_BF16 */
    default: return 1024;            /* GUESSED */
    }
}

static int set_arch_u32(struct glimp_gguf_writer *w, const char *arch, const char *key, uint32_t v)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return glimp_gguf_writer_set_u32(w, k, v);
}

static int set_arch_f32(struct glimp_gguf_writer *w, const char *arch, const char *key, float v)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return glimp_gguf_writer_set_f32(w, k, v);
}

/* The keys in the order convert_hf_to_gguf.py writes them: general, then
 * the architecture's hyperparameters, then the tokenizer. */
static int set_metadata(struct glimp_gguf_writer *w, const struct glimp_testmodel_params *p,
                        const struct tm_shape *s, const struct tm_vocab *v)
{
    const char *a = p->arch;
    int rc;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if ((rc = (call)) != GLIMP_OK)                                                             \
            return rc;                                                                             \
    } while (0)
    TRY(glimp_gguf_writer_set_str(w, "general.architecture", a));
    TRY(glimp_gguf_writer_set_str(w, "general.type", "model"));
    TRY(glimp_gguf_writer_set_str(w, "general.name", p->name ? p->name : "glimp test model"));
    TRY(set_arch_u32(w, a, "block_count", p->n_layer));
    TRY(set_arch_u32(w, a, "context_length", p->n_ctx));
    TRY(set_arch_u32(w, a, "embedding_length", p->n_embd));
    TRY(set_arch_u32(w, a, "feed_forward_length", p->n_ff));
    TRY(set_arch_u32(w, a, "attention.head_count", p->n_head));
    TRY(set_arch_u32(w, a, "attention.head_count_kv", p->n_head_kv));
    TRY(set_arch_f32(w, a, "rope.freq_base", p->rope_base));
    TRY(set_arch_f32(w, a, "attention.layer_norm_rms_epsilon", p->rms_eps));
    /* Written when config.json has head_dim: always for Qwen3 and Llama 3
     * (transformers puts it in their configs), for Qwen2 only when it is not
     * n_embd / n_head. */
    if (s->arch != TM_QWEN2 || s->head_dim * p->n_head != p->n_embd) {
        TRY(set_arch_u32(w, a, "attention.key_length", s->head_dim));
        TRY(set_arch_u32(w, a, "attention.value_length", s->head_dim));
    }
    if (s->arch == TM_LLAMA) {
        TRY(set_arch_u32(w, a, "vocab_size", v->n_tokens));
        TRY(set_arch_u32(w, a, "rope.dimension_count", s->head_dim));
    }
    TRY(glimp_gguf_writer_set_u32(
        w, "general.file_type", p->mix != GLIMP_MIX_NONE ? p->mix : file_type_of(p->weight_type)));
    TRY(glimp_gguf_writer_set_u32(w, "general.quantization_version", 2));

    TRY(glimp_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2"));
    TRY(glimp_gguf_writer_set_str(w, "tokenizer.ggml.pre",
                                  s->arch == TM_LLAMA ? "llama-bpe" : "qwen2"));
    TRY(glimp_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", v->n_tokens,
                                      (const char *const *)v->tokens));
    TRY(glimp_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GLIMP_GGUF_I32, v->n_tokens,
                                  v->types));
    TRY(glimp_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", v->n_merges,
                                      (const char *const *)v->merges));
    if (v->bos_id >= 0)
        TRY(glimp_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v->bos_id));
    if (v->eos_id >= 0)
        TRY(glimp_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)v->eos_id));
    if (v->unk_id >= 0)
        TRY(glimp_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)v->unk_id));
    if (v->pad_id >= 0)
        TRY(glimp_gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)v->pad_id));
    TRY(glimp_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", v->add_bos));
    if (v->chat_template)
        TRY(glimp_gguf_writer_set_str(w, "tokenizer.chat_template", v->chat_template));
    for (uint32_t i = 0; i < v->n_named_templates; i++) {
        char k[256];
        snprintf(k, sizeof k, "tokenizer.chat_template.%s", v->named_templates[i].name);
        TRY(glimp_gguf_writer_set_str(w, k, v->named_templates[i].text));
    }
#undef TRY
    return GLIMP_OK;
}

int glimp_testmodel_write(const struct glimp_testmodel_params *p, const char *path)
{
    if (!p || !path)
        return glimp_error(GLIMP_ERR_INVALID, "test model: no %s given", p ? "path" : "params");
    struct tm_shape s = {0};
    int rc = validate(p, &s);
    if (rc != GLIMP_OK)
        return rc;

    struct tm_vocab v;
    if (p->tokenizer_json)
        rc = tm_vocab_from_hf(p->tokenizer_json, p->tokenizer_config_json, p->arch, &v);
    else
        rc = tm_vocab_builtin(&v);
    if (rc != GLIMP_OK)
        return rc;

    struct glimp_gguf_writer *w = glimp_gguf_writer_init(3, GLIMP_GGUF_DEFAULT_ALIGNMENT);
    if (!w) {
        tm_vocab_free(&v);
        return glimp_error(GLIMP_ERR_NOMEM, "test model: cannot start a GGUF writer");
    }
    rc = set_metadata(w, p, &s, &v);
    if (rc == GLIMP_OK) {
        struct tm_gen g = {.w = w,
                           .seed = p->seed,
                           .weight_type = p->weight_type,
                           .mix = p->mix,
                           .n_layer = p->n_layer,
                           .tied = p->tied_output,
                           .weights_dir = p->weights_dir};
        rc = add_tensors(&g, p, &s, v.n_tokens);
    }
    tm_vocab_free(&v);
    if (rc == GLIMP_OK && (rc = glimp_gguf_writer_write_file(w, path)) != GLIMP_OK)
        glimp_error_prefix(rc, "test model: ");
    glimp_gguf_writer_free(w);
    return rc;
}
