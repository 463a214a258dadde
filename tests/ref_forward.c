/* ref_forward.c - see ref_forward.h. Written from the architectures'
 * definitions (Hugging Face modeling code as llama.cpp's converter lays it
 * out in GGUF), not from glimp's engine: every weight is dequantized whole
 * into doubles, every sum is a double, the sequence runs layer by layer with
 * the full causal attention matrix. Slow and simple on purpose. */
#include "ref_forward.h"

#include "glimp.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ref {
    struct glimp_gguf *g;
    char arch[16];
    char *err;
    size_t err_cap;
    bool failed;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
fail(struct ref *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->err_cap, fmt, ap);
    va_end(ap);
}

static uint32_t key_u32(struct ref *r, const char *suffix, bool required, uint32_t def)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", r->arch, suffix);
    uint32_t v = def;
    if (glimp_gguf_get_u32(r->g, key, &v) != GLIMP_OK) {
        if (required)
            fail(r, "ref: key %s: %s", key, glimp_last_error());
        v = def;
    }
    return v;
}

static double key_f64(struct ref *r, const char *suffix, bool required, double def)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", r->arch, suffix);
    double v = def;
    if (glimp_gguf_get_f64(r->g, key, &v) != GLIMP_OK) {
        if (required)
            fail(r, "ref: key %s: %s", key, glimp_last_error());
        v = def;
    }
    return v;
}

/* The tensor as doubles (NULL if absent and optional), checked to hold
 * exactly `expect` elements. */
static double *tensor(struct ref *r, const char *name, uint64_t expect, bool optional)
{
    const struct glimp_gguf_tensor *t = glimp_gguf_find_tensor(r->g, name);
    if (!t) {
        if (!optional)
            fail(r, "ref: tensor %s missing", name);
        return NULL;
    }
    if (expect && t->n_elements != expect) {
        fail(r, "ref: tensor %s has %llu elements, expected %llu", name,
             (unsigned long long)t->n_elements, (unsigned long long)expect);
        return NULL;
    }
    float *f = malloc(t->n_elements * sizeof *f);
    double *d = malloc(t->n_elements * sizeof *d);
    if (!f || !d || glimp_dequantize((enum glimp_type)t->type, t->data, f, t->n_elements) != 0) {
        fail(r, "ref: tensor %s: cannot dequantize: %s", name, glimp_last_error());
        free(f);
        free(d);
        return NULL;
    }
    for (uint64_t i = 0; i < t->n_elements; i++)
        d[i] = f[i];
    free(f);
    return d;
}

/* out[o] = sum_i w[o][i] * in[i] (+ bias[o]); w has rows of n_in. */
static void linear(const double *w, const double *bias, const double *in, double *out, size_t n_in,
                   size_t n_out)
{
    for (size_t o = 0; o < n_out; o++) {
        double acc = bias ? bias[o] : 0.0;
        for (size_t i = 0; i < n_in; i++)
            acc += w[o * n_in + i] * in[i];
        out[o] = acc;
    }
}

static void rmsnorm(const double *in, const double *w, double *out, size_t n, double eps)
{
    double ms = 0.0;
    for (size_t i = 0; i < n; i++)
        ms += in[i] * in[i];
    ms /= (double)n;
    double k = 1.0 / sqrt(ms + eps);
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] * k * w[i];
}

/* Rotary embedding of one head at position pos. neox: dimension i pairs
 * with i + n_rot/2 (rotate_half); otherwise 2i pairs with 2i+1. */
static void rotary(double *v, size_t n_rot, bool neox, double pos, double base, double scale,
                   const double *factors)
{
    size_t half = n_rot / 2;
    for (size_t i = 0; i < half; i++) {
        double freq = 1.0 / pow(base, (double)(2 * i) / (double)n_rot);
        if (factors)
            freq /= factors[i];
        double ang = pos * scale * freq;
        size_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
        double re = v[a], im = v[b];
        v[a] = re * cos(ang) - im * sin(ang);
        v[b] = re * sin(ang) + im * cos(ang);
    }
}

struct ref_layer {
    double *attn_norm, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *bo, *qn, *kn;
    double *ffn_norm, *w1, *w3, *w2;
};

int ref_forward(const char *path, const int32_t *ids, size_t n, double **logits,
                uint32_t *n_vocab_out, char *err, size_t err_cap)
{
    struct ref R = {.err = err, .err_cap = err_cap};
    struct ref *r = &R;
    err[0] = '\0';
    if (glimp_gguf_open(path, &r->g) != GLIMP_OK) {
        snprintf(err, err_cap, "ref: %s", glimp_last_error());
        return -1;
    }
    struct glimp_str a;
    if (glimp_gguf_get_str(r->g, "general.architecture", &a) != GLIMP_OK ||
        a.len >= sizeof r->arch) {
        snprintf(err, err_cap, "ref: no usable general.architecture");
        glimp_gguf_close(r->g);
        return -1;
    }
    memcpy(r->arch, a.ptr, a.len);
    r->arch[a.len] = '\0';
    bool qwen3 = !strcmp(r->arch, "qwen3"), qwen2 = !strcmp(r->arch, "qwen2");
    bool llama = !strcmp(r->arch, "llama");
    if (!qwen3 && !qwen2 && !llama)
        fail(r, "ref: architecture %s", r->arch);

    size_t L = key_u32(r, "block_count", true, 0);
    size_t E = key_u32(r, "embedding_length", true, 0);
    size_t F = key_u32(r, "feed_forward_length", true, 0);
    size_t H = key_u32(r, "attention.head_count", true, 1);
    size_t HKV = key_u32(r, "attention.head_count_kv", false, (uint32_t)H);
    size_t D = key_u32(r, "attention.key_length", false, (uint32_t)(E / H));
    size_t ROT = key_u32(r, "rope.dimension_count", false, (uint32_t)D);
    double base = key_f64(r, "rope.freq_base", false, 10000.0);
    double eps = key_f64(r, "attention.layer_norm_rms_epsilon", true, 1e-5);
    double pos_scale = 1.0;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", r->arch);
    struct glimp_str st;
    if (glimp_gguf_get_str(r->g, key, &st) == GLIMP_OK && st.len == 6 &&
        !memcmp(st.ptr, "linear", 6))
        pos_scale = 1.0 / key_f64(r, "rope.scaling.factor", true, 1.0);

    const struct glimp_gguf_tensor *te = glimp_gguf_find_tensor(r->g, "token_embd.weight");
    size_t V = te ? (size_t)te->ne[1] : 0;
    if (!te)
        fail(r, "ref: no token_embd.weight");

    double *embd = NULL, *onorm = NULL, *out = NULL, *factors = NULL;
    struct ref_layer *ly = calloc(L ? L : 1, sizeof *ly);
    if (!r->failed) {
        embd = tensor(r, "token_embd.weight", V * E, false);
        onorm = tensor(r, "output_norm.weight", E, false);
        out = tensor(r, "output.weight", V * E, true);
        if (llama)
            factors = tensor(r, "rope_freqs.weight", 0, true);
        for (size_t l = 0; l < L && !r->failed; l++) {
            char nm[96];
#define T(field, what, count, opt)                                                                 \
    (snprintf(nm, sizeof nm, "blk.%zu.%s", l, what), ly[l].field = tensor(r, nm, count, opt))
            T(attn_norm, "attn_norm.weight", E, false);
            T(wq, "attn_q.weight", H * D * E, false);
            T(wk, "attn_k.weight", HKV * D * E, false);
            T(wv, "attn_v.weight", HKV * D * E, false);
            T(wo, "attn_output.weight", E * H * D, false);
            T(bq, "attn_q.bias", H * D, !qwen2);
            T(bk, "attn_k.bias", HKV * D, !qwen2);
            T(bv, "attn_v.bias", HKV * D, !qwen2);
            T(bo, "attn_output.bias", E, true);
            if (qwen3) {
                T(qn, "attn_q_norm.weight", D, false);
                T(kn, "attn_k_norm.weight", D, false);
            }
            T(ffn_norm, "ffn_norm.weight", E, false);
            T(w1, "ffn_gate.weight", F * E, false);
            T(w3, "ffn_up.weight", F * E, false);
            T(w2, "ffn_down.weight", E * F, false);
#undef T
        }
    }
    const double *head = out ? out : embd; /* tied: the embedding serves */

    double *X = NULL, *XN = NULL, *Q = NULL, *K = NULL, *Vv = NULL, *A = NULL, *G = NULL, *U = NULL,
           *P = NULL, *Y = NULL, *res = NULL;
    if (!r->failed) {
        X = calloc(n * E, sizeof *X);
        XN = calloc(n * E, sizeof *XN);
        Q = calloc(n * H * D, sizeof *Q);
        K = calloc(n * HKV * D, sizeof *K);
        Vv = calloc(n * HKV * D, sizeof *Vv);
        A = calloc(n * H * D, sizeof *A);
        G = calloc(F, sizeof *G);
        U = calloc(F, sizeof *U);
        P = calloc(n, sizeof *P);
        Y = calloc(E, sizeof *Y);
        res = calloc(n * V, sizeof *res);
        if (!X || !XN || !Q || !K || !Vv || !A || !G || !U || !P || !Y || !res)
            fail(r, "ref: out of memory");
    }
    if (!r->failed) {
        for (size_t t = 0; t < n; t++)
            for (size_t i = 0; i < E; i++)
                X[t * E + i] = embd[(size_t)ids[t] * E + i];
        for (size_t l = 0; l < L; l++) {
            struct ref_layer *y = &ly[l];
            for (size_t t = 0; t < n; t++) {
                rmsnorm(X + t * E, y->attn_norm, XN + t * E, E, eps);
                linear(y->wq, y->bq, XN + t * E, Q + t * H * D, E, H * D);
                linear(y->wk, y->bk, XN + t * E, K + t * HKV * D, E, HKV * D);
                linear(y->wv, y->bv, XN + t * E, Vv + t * HKV * D, E, HKV * D);
                for (size_t h = 0; h < H; h++) {
                    double *q = Q + (t * H + h) * D;
                    if (y->qn)
                        rmsnorm(q, y->qn, q, D, eps);
                    rotary(q, ROT, !llama, (double)t, base, pos_scale, factors);
                }
                for (size_t h = 0; h < HKV; h++) {
                    double *k = K + (t * HKV + h) * D;
                    if (y->kn)
                        rmsnorm(k, y->kn, k, D, eps);
                    rotary(k, ROT, !llama, (double)t, base, pos_scale, factors);
                }
            }
            /* causal softmax attention, query head h reads KV head h / (H / HKV) */
            for (size_t t = 0; t < n; t++)
                for (size_t h = 0; h < H; h++) {
                    size_t kh = h / (H / HKV);
                    const double *q = Q + (t * H + h) * D;
                    double mx = -INFINITY, z = 0.0;
                    for (size_t j = 0; j <= t; j++) {
                        double d = 0.0;
                        for (size_t i = 0; i < D; i++)
                            d += q[i] * K[(j * HKV + kh) * D + i];
                        P[j] = d / sqrt((double)D);
                        mx = P[j] > mx ? P[j] : mx;
                    }
                    for (size_t j = 0; j <= t; j++)
                        z += (P[j] = exp(P[j] - mx));
                    double *o = A + (t * H + h) * D;
                    for (size_t i = 0; i < D; i++) {
                        double acc = 0.0;
                        for (size_t j = 0; j <= t; j++)
                            acc += P[j] / z * Vv[(j * HKV + kh) * D + i];
                        o[i] = acc;
                    }
                }
            for (size_t t = 0; t < n; t++) {
                linear(y->wo, y->bo, A + t * H * D, Y, H * D, E);
                for (size_t i = 0; i < E; i++)
                    X[t * E + i] += Y[i];
                rmsnorm(X + t * E, y->ffn_norm, XN + t * E, E, eps);
                linear(y->w1, NULL, XN + t * E, G, E, F);
                linear(y->w3, NULL, XN + t * E, U, E, F);
                for (size_t i = 0; i < F; i++)
                    G[i] = G[i] / (1.0 + exp(-G[i])) * U[i];
                linear(y->w2, NULL, G, Y, F, E);
                for (size_t i = 0; i < E; i++)
                    X[t * E + i] += Y[i];
            }
        }
        for (size_t t = 0; t < n; t++) {
            rmsnorm(X + t * E, onorm, XN + t * E, E, eps);
            linear(head, NULL, XN + t * E, res + t * V, E, V);
        }
    }

    free(X), free(XN), free(Q), free(K), free(Vv), free(A), free(G), free(U), free(P), free(Y);
    free(embd), free(onorm), free(out), free(factors);
    for (size_t l = 0; ly && l < L; l++) {
        struct ref_layer *y = &ly[l];
        double *all[] = {y->attn_norm, y->wq, y->wk, y->wv,       y->wo, y->bq, y->bk, y->bv,
                         y->bo,        y->qn, y->kn, y->ffn_norm, y->w1, y->w3, y->w2};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            free(all[i]);
    }
    free(ly);
    glimp_gguf_close(r->g);
    if (r->failed) {
        free(res);
        return -1;
    }
    *logits = res;
    *n_vocab_out = (uint32_t)V;
    return 0;
}
