/* model.c - loading a qwen3, qwen2 or llama GGUF file: hyperparameters from
 * the <arch>.* keys, every weight bound in place in the read-only mapping
 * after its name, shape and type are checked, and the RoPE frequencies. */
#include "model/model.h"
#include "core/error.h"
#include "core/threadpool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hyperparameters beyond these are taken for corruption. */
#define MODEL_MAX_DIM (1u << 20) /* any width: n_embd, n_ff, head_dim, ... */
#define MODEL_MAX_LAYERS 4096u
#define MODEL_MAX_VOCAB (1u << 24) /* token ids stay far inside int32 */
#define MODEL_MAX_BATCH 4096u
#define MODEL_MAX_THREADS 1024u

struct glimp_model_params glimp_model_default_params(void)
{
    struct glimp_model_params p = {
        .kv_budget = 2ull << 30,
        .n_batch = 32,
    };
    return p;
}

static const struct {
    const char *name;
    enum glimp_arch arch;
    enum glimp_rope_type rope;
} arch_table[] = {
    /* llama.cpp's llama_model_rope_type: LLAMA is NORM; QWEN2 and QWEN3 are
     * NEOX. */
    {"qwen3", GLIMP_ARCH_QWEN3, GLIMP_ROPE_NEOX},
    {"qwen2", GLIMP_ARCH_QWEN2, GLIMP_ROPE_NEOX},
    {"llama", GLIMP_ARCH_LLAMA, GLIMP_ROPE_NORM},
};

/* ---------------------------------------------------------------- keys */

/* <arch>.<suffix> as a u32; when absent, def if not required. */
static int arch_u32(const struct glimp_gguf *g, const char *arch, const char *suffix, bool required,
                    uint32_t def, uint32_t *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int rc = glimp_gguf_get_u32(g, key, out);
    if (rc == GLIMP_ERR_NOT_FOUND && !required) {
        *out = def;
        return GLIMP_OK;
    }
    return rc;
}

static int arch_f32(const struct glimp_gguf *g, const char *arch, const char *suffix, bool required,
                    float def, float *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int rc = glimp_gguf_get_f32(g, key, out);
    if (rc == GLIMP_ERR_NOT_FOUND && !required) {
        *out = def;
        return GLIMP_OK;
    }
    if (rc == GLIMP_OK && !isfinite(*out))
        return glimp_error(GLIMP_ERR_FORMAT, "key '%s' is %g, expected a finite number", key,
                           (double)*out);
    return rc;
}

static int check_dim(const char *arch, const char *suffix, uint32_t v, uint32_t max)
{
    if (v == 0 || v > max)
        return glimp_error(GLIMP_ERR_FORMAT, "key '%s.%s' is %u, expected 1..%u", arch, suffix, v,
                           max);
    return GLIMP_OK;
}

/* RoPE scaling keys: none, or linear (positions divided by a factor). YaRN
 * and the like are refused by name rather than silently ignored. llama3's
 * scaling arrives as the rope_freqs.weight tensor, not as keys. */
static int read_rope_scaling(const struct glimp_gguf *g, const char *arch, float *freq_scale)
{
    char key[128];
    *freq_scale = 1.0f;
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    struct glimp_str type;
    int rc = glimp_gguf_get_str(g, key, &type);
    if (rc == GLIMP_ERR_NOT_FOUND) {
        /* older files: <arch>.rope.scale_linear */
        float f;
        if ((rc = arch_f32(g, arch, "rope.scale_linear", false, 1.0f, &f)) != GLIMP_OK)
            return rc;
        if (!(f > 0.0f))
            return glimp_error(GLIMP_ERR_FORMAT, "key '%s.rope.scale_linear' is %g, expected > 0",
                               arch, (double)f);
        *freq_scale = 1.0f / f;
        return GLIMP_OK;
    }
    if (rc != GLIMP_OK)
        return rc;
    if (type.len == 4 && !memcmp(type.ptr, "none", 4))
        return GLIMP_OK;
    if (type.len == 6 && !memcmp(type.ptr, "linear", 6)) {
        float f;
        if ((rc = arch_f32(g, arch, "rope.scaling.factor", true, 1.0f, &f)) != GLIMP_OK)
            return rc;
        if (!(f > 0.0f))
            return glimp_error(GLIMP_ERR_FORMAT, "key '%s.rope.scaling.factor' is %g, expected > 0",
                               arch, (double)f);
        *freq_scale = 1.0f / f;
        return GLIMP_OK;
    }
    int shown = type.len > 32 ? 32 : (int)type.len;
    return glimp_error(GLIMP_ERR_UNSUPPORTED,
                       "key '%s' is '%.*s': glimp supports no RoPE scaling but linear (and "
                       "llama3's rope_freqs.weight)",
                       key, shown, type.ptr);
}

static int read_hparams(struct glimp_model *m)
{
    const struct glimp_gguf *g = m->gguf;
    struct glimp_model_info *h = &m->info;
    struct glimp_str s;
    int rc = glimp_gguf_get_str(g, "general.architecture", &s);
    if (rc != GLIMP_OK)
        return rc;
    size_t i;
    for (i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
        if (strlen(arch_table[i].name) == s.len && !memcmp(arch_table[i].name, s.ptr, s.len))
            break;
    if (i == sizeof arch_table / sizeof arch_table[0]) {
        int shown = s.len > 64 ? 64 : (int)s.len;
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "unknown architecture '%.*s' (general.architecture; known: qwen3, "
                           "qwen2, llama)",
                           shown, s.ptr);
    }
    h->arch = arch_table[i].arch;
    h->arch_name = arch_table[i].name;
    h->rope_type = arch_table[i].rope;
    const char *a = h->arch_name;

#define TRY(call)                                                                                  \
    do {                                                                                           \
        if ((rc = (call)) != GLIMP_OK)                                                             \
            return rc;                                                                             \
    } while (0)
    TRY(arch_u32(g, a, "context_length", true, 0, &h->n_ctx_train));
    TRY(arch_u32(g, a, "block_count", true, 0, &h->n_layer));
    TRY(arch_u32(g, a, "embedding_length", true, 0, &h->n_embd));
    TRY(arch_u32(g, a, "feed_forward_length", true, 0, &h->n_ff));
    TRY(arch_u32(g, a, "attention.head_count", true, 0, &h->n_head));
    TRY(arch_u32(g, a, "attention.head_count_kv", false, h->n_head, &h->n_head_kv));
    TRY(check_dim(a, "context_length", h->n_ctx_train, UINT32_MAX));
    TRY(check_dim(a, "block_count", h->n_layer, MODEL_MAX_LAYERS));
    TRY(check_dim(a, "embedding_length", h->n_embd, MODEL_MAX_DIM));
    TRY(check_dim(a, "feed_forward_length", h->n_ff, MODEL_MAX_DIM));
    TRY(check_dim(a, "attention.head_count", h->n_head, MODEL_MAX_DIM));
    TRY(check_dim(a, "attention.head_count_kv", h->n_head_kv, MODEL_MAX_DIM));
    if (h->n_head % h->n_head_kv != 0)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "key '%s.attention.head_count_kv' is %u, which does not divide "
                           "'%s.attention.head_count' %u",
                           a, h->n_head_kv, a, h->n_head);

    uint32_t def_head = h->n_embd % h->n_head == 0 ? h->n_embd / h->n_head : 0;
    uint32_t k_len, v_len;
    TRY(arch_u32(g, a, "attention.key_length", false, def_head, &k_len));
    TRY(arch_u32(g, a, "attention.value_length", false, k_len, &v_len));
    if (k_len == 0 && def_head == 0)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "'%s.attention.head_count' %u does not divide '%s.embedding_length' "
                           "%u and no '%s.attention.key_length' gives the head size",
                           a, h->n_head, a, h->n_embd, a);
    TRY(check_dim(a, "attention.key_length", k_len, MODEL_MAX_DIM));
    if (v_len != k_len)
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "key '%s.attention.value_length' %u differs from key_length %u; glimp "
                           "needs equal head sizes",
                           a, v_len, k_len);
    h->head_dim = k_len;
    if ((uint64_t)h->n_head * h->head_dim > MODEL_MAX_DIM)
        return glimp_error(GLIMP_ERR_FORMAT, "%u heads of %u: attention width over the limit %u",
                           h->n_head, h->head_dim, MODEL_MAX_DIM);
    m->q_dim = h->n_head * h->head_dim;
    m->kv_dim = h->n_head_kv * h->head_dim;

    TRY(arch_u32(g, a, "rope.dimension_count", false, h->head_dim, &h->n_rot));
    if (h->n_rot == 0 || h->n_rot % 2 != 0 || h->n_rot > h->head_dim)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "key '%s.rope.dimension_count' is %u, expected an even number in "
                           "2..%u (the head size)",
                           a, h->n_rot, h->head_dim);
    TRY(arch_f32(g, a, "rope.freq_base", false, 10000.0f, &h->rope_base));
    if (!(h->rope_base > 0.0f))
        return glimp_error(GLIMP_ERR_FORMAT, "key '%s.rope.freq_base' is %g, expected > 0", a,
                           (double)h->rope_base);
    TRY(read_rope_scaling(g, a, &h->rope_freq_scale));
    TRY(arch_f32(g, a, "attention.layer_norm_rms_epsilon", true, 0.0f, &h->rms_eps));
    if (!(h->rms_eps > 0.0f))
        return glimp_error(GLIMP_ERR_FORMAT,
                           "key '%s.attention.layer_norm_rms_epsilon' is %g, expected > 0", a,
                           (double)h->rms_eps);
#undef TRY
    return GLIMP_OK;
}

/* ------------------------------------------------------------- tensors */

static const char *type_name(uint32_t type)
{
    const struct glimp_type_info *ti = glimp_type_info(type);
    return ti ? ti->name : "?";
}

static bool computable(uint32_t type)
{
    switch (type) {
    case GLIMP_TYPE_F32:
    case GLIMP_TYPE_F16:
    case GLIMP_TYPE_BF16:
    case GLIMP_TYPE_Q8_0:
    case GLIMP_TYPE_Q4_0:
    case GLIMP_TYPE_Q5_0:
    case GLIMP_TYPE_Q5_1:
    case GLIMP_TYPE_Q4_K:
    case GLIMP_TYPE_Q5_K:
    case GLIMP_TYPE_Q6_K: return true;
    default: return false;
    }
}

/* The tensor called name, NULL when it is absent and optional. */
static int find(struct glimp_model *m, const char *name, bool optional,
                const struct glimp_gguf_tensor **out)
{
    *out = glimp_gguf_find_tensor(m->gguf, name);
    if (!*out && !optional)
        return glimp_error(GLIMP_ERR_NOT_FOUND, "tensor '%s' not found", name);
    return GLIMP_OK;
}

static int shape_error(const struct glimp_gguf_tensor *t, uint64_t ne0, uint64_t ne1, bool mat)
{
    char got[96] = "";
    size_t off = 0;
    for (uint32_t d = 0; d < t->n_dims && off < sizeof got; d++)
        off += (size_t)snprintf(got + off, sizeof got - off, "%s%llu", d ? ", " : "",
                                (unsigned long long)t->ne[d]);
    if (mat)
        return glimp_error(GLIMP_ERR_FORMAT, "tensor '%s' has shape [%s], expected [%llu, %llu]",
                           t->name, got, (unsigned long long)ne0, (unsigned long long)ne1);
    return glimp_error(GLIMP_ERR_FORMAT, "tensor '%s' has shape [%s], expected [%llu]", t->name,
                       got, (unsigned long long)ne0);
}

/* A matrix of n_out rows of n_in (ne = [n_in, n_out]); n_out 0 takes any
 * row count (the vocabulary, learnt from token_embd). */
static int bind_mat(struct glimp_model *m, const char *name, uint64_t n_in, uint64_t n_out,
                    bool optional, struct glimp_wmat *w)
{
    const struct glimp_gguf_tensor *t;
    int rc = find(m, name, optional, &t);
    memset(w, 0, sizeof *w);
    if (rc != GLIMP_OK || !t)
        return rc;
    if (t->ne[0] != n_in || (n_out && t->ne[1] != n_out) || t->ne[2] != 1 || t->ne[3] != 1)
        return shape_error(t, n_in, n_out ? n_out : t->ne[1], true);
    if (!computable(t->type))
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "tensor '%s' has type %s, which glimp cannot compute with (it can: "
                           "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)",
                           name, type_name(t->type));
    const struct glimp_type_info *ti = glimp_type_info(t->type);
    if (n_in % ti->block_size != 0)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "tensor '%s': rows of %llu elements are not whole %s blocks of %u", name,
                           (unsigned long long)n_in, ti->name, ti->block_size);
    /* F32 rows are read as floats, block structs hold 16-bit fields */
    uintptr_t align = t->type == GLIMP_TYPE_F32 ? 4 : 2;
    if ((uintptr_t)t->data % align != 0)
        return glimp_error(GLIMP_ERR_FORMAT, "tensor '%s': data not aligned to %u bytes", name,
                           (unsigned)align);
    w->data = t->data;
    w->type = t->type;
    w->n_in = (uint32_t)n_in;
    w->n_out = (uint32_t)t->ne[1];
    w->row_bytes = (size_t)(n_in / ti->block_size * ti->type_size);
    m->info.n_params += t->n_elements;
    m->info.weight_bytes += t->nbytes;
    if (n_in > m->max_in)
        m->max_in = (uint32_t)n_in;
    return GLIMP_OK;
}

/* A vector of n F32 values (norms, biases, rope factors). */
static int bind_vec(struct glimp_model *m, const char *name, uint64_t n, bool optional,
                    const float **v)
{
    const struct glimp_gguf_tensor *t;
    int rc = find(m, name, optional, &t);
    *v = NULL;
    if (rc != GLIMP_OK || !t)
        return rc;
    if (t->n_elements != n || t->ne[0] != n)
        return shape_error(t, n, 0, false);
    if (t->type != GLIMP_TYPE_F32)
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "tensor '%s' has type %s; glimp reads vectors as F32 only", name,
                           type_name(t->type));
    if ((uintptr_t)t->data % 4 != 0)
        return glimp_error(GLIMP_ERR_FORMAT, "tensor '%s': data not aligned to 4 bytes", name);
    *v = t->data;
    m->info.n_params += t->n_elements;
    m->info.weight_bytes += t->nbytes;
    return GLIMP_OK;
}

static int bind_layer(struct glimp_model *m, uint32_t il, struct glimp_layer *L)
{
    const struct glimp_model_info *h = &m->info;
    uint64_t e = h->n_embd, q = m->q_dim, kv = m->kv_dim, hd = h->head_dim, ff = h->n_ff;
    bool qwen2 = h->arch == GLIMP_ARCH_QWEN2, qwen3 = h->arch == GLIMP_ARCH_QWEN3;
    bool llama = h->arch == GLIMP_ARCH_LLAMA;
    char name[96];
    int rc;
#define N(what) (snprintf(name, sizeof name, "blk.%u.%s", il, what), name)
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if ((rc = (call)) != GLIMP_OK)                                                             \
            return rc;                                                                             \
    } while (0)
    TRY(bind_vec(m, N("attn_norm.weight"), e, false, &L->attn_norm));
    TRY(bind_mat(m, N("attn_q.weight"), e, q, false, &L->wq));
    TRY(bind_mat(m, N("attn_k.weight"), e, kv, false, &L->wk));
    TRY(bind_mat(m, N("attn_v.weight"), e, kv, false, &L->wv));
    TRY(bind_mat(m, N("attn_output.weight"), q, e, false, &L->wo));
    /* qwen2 always has q/k/v biases; some llama-architecture models carry
     * them (and an output bias) too, as llama.cpp allows. */
    if (qwen2 || llama) {
        TRY(bind_vec(m, N("attn_q.bias"), q, llama, &L->bq));
        TRY(bind_vec(m, N("attn_k.bias"), kv, llama, &L->bk));
        TRY(bind_vec(m, N("attn_v.bias"), kv, llama, &L->bv));
    }
    if (llama)
        TRY(bind_vec(m, N("attn_output.bias"), e, true, &L->bo));
    if (qwen3) {
        TRY(bind_vec(m, N("attn_q_norm.weight"), hd, false, &L->q_norm));
        TRY(bind_vec(m, N("attn_k_norm.weight"), hd, false, &L->k_norm));
    }
    TRY(bind_vec(m, N("ffn_norm.weight"), e, false, &L->ffn_norm));
    TRY(bind_mat(m, N("ffn_gate.weight"), e, ff, false, &L->gate));
    TRY(bind_mat(m, N("ffn_up.weight"), e, ff, false, &L->up));
    TRY(bind_mat(m, N("ffn_down.weight"), ff, e, false, &L->down));
#undef TRY
#undef N
    return GLIMP_OK;
}

static int bind_all(struct glimp_model *m)
{
    struct glimp_model_info *h = &m->info;
    int rc = bind_mat(m, "token_embd.weight", h->n_embd, 0, false, &m->tok_embd);
    if (rc != GLIMP_OK)
        return rc;
    if (m->tok_embd.n_out == 0 || m->tok_embd.n_out > MODEL_MAX_VOCAB)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "tensor 'token_embd.weight' has %u rows, expected 1..%u",
                           m->tok_embd.n_out, MODEL_MAX_VOCAB);
    h->n_vocab = m->tok_embd.n_out;

    /* The vocabulary size other places state must agree. */
    char key[128];
    uint32_t vs;
    snprintf(key, sizeof key, "%s.vocab_size", h->arch_name);
    rc = glimp_gguf_get_u32(m->gguf, key, &vs);
    if (rc == GLIMP_OK && vs != h->n_vocab)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "key '%s' is %u but tensor 'token_embd.weight' has %u rows", key, vs,
                           h->n_vocab);
    if (rc != GLIMP_OK && rc != GLIMP_ERR_NOT_FOUND)
        return rc;
    const struct glimp_gguf_value *toks;
    rc = glimp_gguf_get_arr(m->gguf, "tokenizer.ggml.tokens", GLIMP_GGUF_STR, &toks);
    if (rc == GLIMP_OK && toks->arr.n != h->n_vocab)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "tokenizer.ggml.tokens has %llu entries but tensor 'token_embd.weight' "
                           "has %u rows",
                           (unsigned long long)toks->arr.n, h->n_vocab);
    if (rc != GLIMP_OK && rc != GLIMP_ERR_NOT_FOUND)
        return rc;

    m->layers = calloc(h->n_layer, sizeof *m->layers);
    if (!m->layers)
        return glimp_error(GLIMP_ERR_NOMEM, "out of memory for %u layers", h->n_layer);
    for (uint32_t il = 0; il < h->n_layer; il++)
        if ((rc = bind_layer(m, il, &m->layers[il])) != GLIMP_OK)
            return rc;
    if ((rc = bind_vec(m, "output_norm.weight", h->n_embd, false, &m->output_norm)) != GLIMP_OK)
        return rc;
    if ((rc = bind_mat(m, "output.weight", h->n_embd, h->n_vocab, true, &m->output)) != GLIMP_OK)
        return rc;
    h->tied_output = m->output.data == NULL;
    if (h->tied_output)
        m->output = m->tok_embd;

    /* RoPE: pair i turns by pos * inv_freq[i]. llama3 files carry their
     * frequency scaling as rope_freqs.weight, one divisor per pair (as
     * ggml_rope_ext's freq_factors). */
    const float *ff = NULL;
    uint64_t ff_bytes = 0;
    if (h->arch == GLIMP_ARCH_LLAMA) {
        const struct glimp_gguf_tensor *t = glimp_gguf_find_tensor(m->gguf, "rope_freqs.weight");
        if (t && t->ne[0] < h->n_rot / 2) /* ggml reads the first n_rot / 2 */
            return shape_error(t, h->n_rot / 2, 0, false);
        if (t && (rc = bind_vec(m, "rope_freqs.weight", t->ne[0], false, &ff)) != GLIMP_OK)
            return rc;
        ff_bytes = ff ? t->nbytes : 0;
    }
    h->rope_freqs = ff != NULL;
    /* what a decode reads: all but the embedding rows it does not look up
     * (none when the embedding is the head) and the RoPE divisors */
    h->decode_bytes = h->weight_bytes - ff_bytes;
    if (!h->tied_output)
        h->decode_bytes -= (uint64_t)(m->tok_embd.n_out - 1) * m->tok_embd.row_bytes;
    uint32_t n_pairs = h->n_rot / 2;
    m->inv_freq = malloc(n_pairs * sizeof *m->inv_freq);
    if (!m->inv_freq)
        return glimp_error(GLIMP_ERR_NOMEM, "out of memory for RoPE frequencies");
    for (uint32_t i = 0; i < n_pairs; i++) {
        double f = (double)h->rope_freq_scale *
                   pow((double)h->rope_base, -2.0 * (double)i / (double)h->n_rot);
        if (ff) {
            if (!(ff[i] > 0.0f) || !isfinite(ff[i]))
                return glimp_error(GLIMP_ERR_FORMAT,
                                   "tensor 'rope_freqs.weight': element %u is %g, expected > 0", i,
                                   (double)ff[i]);
            f /= (double)ff[i];
        }
        m->inv_freq[i] = f;
    }
    return GLIMP_OK;
}

/* -------------------------------------------------------------- public */

int glimp_model_load(const char *path, const struct glimp_model_params *p, struct glimp_model **out)
{
    if (!path || !out)
        return glimp_error(GLIMP_ERR_INVALID, "model load: no %s given", path ? "out" : "path");
    *out = NULL;
    struct glimp_model_params params = p ? *p : glimp_model_default_params();
    if (params.n_batch == 0 || params.n_batch > MODEL_MAX_BATCH)
        return glimp_error(GLIMP_ERR_INVALID, "model load: n_batch %u, expected 1..%u",
                           params.n_batch, MODEL_MAX_BATCH);
    if (params.n_threads > MODEL_MAX_THREADS)
        return glimp_error(GLIMP_ERR_INVALID, "model load: n_threads %u, expected 0..%u",
                           params.n_threads, MODEL_MAX_THREADS);
    const struct glimp_kernels *kern;
    int rc = glimp_kernels_resolve(params.kernels, &kern);
    if (rc != GLIMP_OK)
        return glimp_error_prefix(rc, "model load: ");
    struct glimp_model *m = calloc(1, sizeof *m);
    if (!m)
        return glimp_error(GLIMP_ERR_NOMEM, "model load: out of memory");
    m->params = params;
    m->params.kernels = NULL; /* read only here: the caller's string may go */
    m->kern = kern;
    m->info.kernels = kern->name;
    m->info.kernels_note = glimp_kernels_note();
    m->n_threads = params.n_threads ? params.n_threads : glimp_pool_default_threads();
    rc = glimp_gguf_open(path, &m->gguf); /* its messages name the path */
    if (rc == GLIMP_OK) {
        rc = read_hparams(m);
        if (rc == GLIMP_OK)
            rc = bind_all(m);
        if (rc != GLIMP_OK)
            glimp_error_prefix(rc, "%s: ", path);
    }
    if (rc != GLIMP_OK) {
        glimp_model_free(m);
        return rc;
    }
    *out = m;
    return GLIMP_OK;
}

void glimp_model_free(struct glimp_model *m)
{
    if (!m)
        return;
    free(m->layers);
    free(m->inv_freq);
    glimp_gguf_close(m->gguf);
    free(m);
}

const struct glimp_model_info *glimp_model_info(const struct glimp_model *m)
{
    return &m->info;
}

const struct glimp_gguf *glimp_model_gguf(const struct glimp_model *m)
{
    return m->gguf;
}
