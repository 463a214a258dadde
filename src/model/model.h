/* model.h - what a loaded model holds (hyperparameters and the weights bound
 * in place in the GGUF mapping), what a context holds (the workspace of a
 * forward pass: scratch for a batch, threads) and what a sequence holds (its
 * KV cache and position), shared by model.c (loading), ctx.c (contexts),
 * seq.c (sequences) and forward.c (the transformer). */
#ifndef GLIMP_MODEL_MODEL_H
#define GLIMP_MODEL_MODEL_H

#include "glimp.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"

struct glimp_layer {
    const float *attn_norm; /* (n_embd) */
    struct glimp_wmat wq;   /* (n_embd -> n_head * head_dim) */
    struct glimp_wmat wk;   /* (n_embd -> n_head_kv * head_dim) */
    struct glimp_wmat wv;   /* (n_embd -> n_head_kv * head_dim) */
    struct glimp_wmat wo;   /* (n_head * head_dim -> n_embd) */
    const float *bq;        /* (n_head * head_dim) or NULL */
    const float *bk;        /* (n_head_kv * head_dim) or NULL */
    const float *bv;        /* (n_head_kv * head_dim) or NULL */
    const float *bo;        /* (n_embd) or NULL */
    const float *q_norm;    /* (head_dim) qwen3, else NULL */
    const float *k_norm;    /* (head_dim) qwen3, else NULL */
    const float *ffn_norm;  /* (n_embd) */
    struct glimp_wmat gate; /* (n_embd -> n_ff) */
    struct glimp_wmat up;   /* (n_embd -> n_ff) */
    struct glimp_wmat down; /* (n_ff -> n_embd) */
};

struct glimp_model {
    struct glimp_gguf *gguf;
    struct glimp_model_params params;
    struct glimp_model_info info;
    uint32_t q_dim;             /* n_head * head_dim */
    uint32_t kv_dim;            /* n_head_kv * head_dim */
    uint32_t max_in;            /* longest weight row: sizes activation scratch */
    struct glimp_wmat tok_embd; /* (n_embd -> n_vocab): row id is the embedding */
    struct glimp_wmat output;   /* (n_embd -> n_vocab); tok_embd when tied */
    const float *output_norm;   /* (n_embd) */
    double *inv_freq;           /* (n_rot / 2) radians per position of pair i */
    struct glimp_layer *layers; /* (n_layer) */

    /* how the forward pass runs */
    const struct glimp_kernels *kern; /* chosen at load (params.kernels, the CPU) */
    uint32_t n_threads;               /* params.n_threads, 0 resolved: contexts' default */
};

/* The workspace of a forward pass, lent to one sequence per append. Nothing
 * in it outlives an append: every buffer is written before it is read. */
struct glimp_ctx {
    const struct glimp_model *m;
    uint32_t n_batch;
    /* scratch for one chunk of up to n_batch tokens */
    float *x;    /* (n_batch, n_embd) residual stream */
    float *xn;   /* (n_batch, n_embd) normed input of a sublayer, then its output */
    float *q;    /* (n_batch, q_dim) */
    float *att;  /* (n_batch, q_dim) attention output, heads side by side */
    float *gate; /* (n_batch, n_ff) */
    float *up;   /* (n_batch, n_ff) */
    float *rope; /* (n_batch, n_rot) cos, sin of pair i at 2i, 2i+1 */
    /* attention weights, a head per thread: (n_threads, n_scores). Grown by
     * glimp_seq_append to the n_ctx of the longest sequence served. */
    float *scores;
    uint32_t n_scores;

    struct glimp_pool *pool;            /* n_threads threads, the caller's included */
    void *act[GLIMP_ACT_COUNT];         /* (n_batch, act_stride) quantized activations */
    size_t act_stride[GLIMP_ACT_COUNT]; /* bytes per row of act[f]: max_in elements */
};

/* A token history: its KV cache and where it stands, and the logits of its
 * last append (the sequence's, so that they outlive other sequences'
 * appends in the same context). */
struct glimp_seq {
    const struct glimp_model *m;
    uint32_t n_ctx;
    uint32_t n_past;
    float *k_cache;        /* (n_layer, n_ctx, kv_dim) after norm and RoPE */
    float *v_cache;        /* (n_layer, n_ctx, kv_dim) */
    float *logits;         /* (n_vocab) last position */
    float *logits_all;     /* (cap_all) all positions of the last append */
    size_t logits_all_cap; /* floats */
};

/* Make c's attention scores hold n_ctx positions per thread (before
 * anything changes, so that a failed append changes nothing). */
int model_ctx_reserve(struct glimp_ctx *c, uint32_t n_ctx);

/* Run n <= c->n_batch tokens (ids checked) of s at positions s->n_past ..
 * +n-1 in c's scratch and threads, writing their K and V into s's cache.
 * Logits of every token go to out_all (n * n_vocab) when it is not NULL,
 * else those of the last token to out_last. Does not advance n_past.
 * c->n_scores must be at least s->n_ctx. Cannot fail. */
void glimp_forward_chunk(struct glimp_ctx *c, struct glimp_seq *s, const int32_t *ids, uint32_t n,
                         float *out_all, float *out_last);

#endif
