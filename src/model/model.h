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

/* One token of a chunk: whose it is, where it goes and where its logits go.
 * A chunk may hold tokens of several sequences, each sequence's in
 * position order. */
struct model_tok {
    struct glimp_seq *s;
    int32_t id;    /* checked against the vocabulary */
    uint32_t pos;  /* its position in s: it sees s's positions 0..pos */
    float *logits; /* (n_vocab) its logits, or NULL: none wanted */
};

/* The workspace of a forward pass, lent to one batch at a time. Nothing in
 * it outlives a pass: every buffer is written before it is read. */
struct glimp_ctx {
    const struct glimp_model *m;
    uint32_t n_batch;
    /* scratch for one chunk of up to n_batch tokens */
    struct model_tok *tok; /* (n_batch) the chunk's tokens */
    float *x;              /* (n_batch, n_embd) residual stream */
    float *xn;             /* (n_batch, n_embd) normed input of a sublayer, then its output */
    float *q;              /* (n_batch, q_dim) */
    float *k;              /* (n_batch, kv_dim) keys before they go to their caches */
    float *v;              /* (n_batch, kv_dim) values, likewise */
    float *att;            /* (n_batch, q_dim) attention output, heads side by side */
    float *gate;           /* (n_batch, n_ff) */
    float *up;             /* (n_batch, n_ff) */
    float *rope;           /* (n_batch, n_rot) cos, sin of pair i at 2i, 2i+1 */
    float *out;            /* (n_out, n_vocab) logits before they go to their sequences */
    uint32_t n_out;        /* rows of out: the output head runs on this many at a time */
    /* attention weights, a group of query heads per thread: (n_threads,
     * n_head / n_head_kv, n_scores). Grown by a decode to the KV capacity
     * of the longest sequence it serves. */
    float *scores;
    uint32_t n_scores;

    struct glimp_pool *pool;            /* n_threads threads, the caller's included */
    void *act[GLIMP_ACT_COUNT];         /* (n_batch, act_stride) quantized activations */
    size_t act_stride[GLIMP_ACT_COUNT]; /* bytes per row of act[f]: max_in elements */

    /* phase timing (glimp_ctx_time_phases): the only state that outlives a
     * pass, and never read by the computation */
    bool timing;
    double lap_t; /* glimp_now() at the last phase boundary */
    struct glimp_phase_times times;
};

/* A phase boundary: the time since the last one goes to phase ph (less
 * the thread pool's hand-offs and waits in it, which go to
 * GLIMP_PASS_SYNC). One test of a flag while timing is off. */
void model_lap_timed(struct glimp_ctx *c, enum glimp_pass_phase ph);
static inline void model_lap(struct glimp_ctx *c, enum glimp_pass_phase ph)
{
    if (c->timing)
        model_lap_timed(c, ph);
}

/* Positions a KV cache grows by at least (and the granularity of its
 * capacity): a sequence allocates as it grows, not its whole n_ctx. */
#define MODEL_KV_PAGE 256u

/* A token history: its KV cache and where it stands, and the logits of its
 * last append (the sequence's, so that they outlive other sequences'
 * appends in the same context). */
struct glimp_seq {
    const struct glimp_model *m;
    uint32_t n_ctx;
    uint32_t n_past;
    /* Positions every layer's K and V block holds (at least): pages of
     * MODEL_KV_PAGE, doubling as the sequence grows, up to n_ctx. */
    uint32_t kv_cap;
    float **k;             /* (n_layer) each (kv_cap, kv_dim), after norm and RoPE */
    float **v;             /* (n_layer) each (kv_cap, kv_dim) */
    float *logits;         /* (n_vocab) last position */
    float *logits_all;     /* (cap_all) all positions of the last append */
    size_t logits_all_cap; /* floats */
    /* While a decode prepares: the all-logits buffer it is about to put
     * in place, and 1 + the index of the item naming the sequence (0: none),
     * which finds a sequence named twice. */
    float *logits_next;
    size_t batch_item;
};

/* Make c's attention scores hold n positions of a group of heads per
 * thread (before anything changes, so that a failed decode changes
 * nothing). */
int model_ctx_reserve(struct glimp_ctx *c, uint32_t n);

/* Run the n <= c->n_batch tokens of c->tok through the model in c's
 * scratch and threads: each token's K and V go into its sequence's cache at
 * its position (within the cache's capacity), its logits where it says.
 * The tokens of one sequence come in position order, and a token's
 * earlier positions are in its cache or earlier in the chunk. c->n_scores
 * must be at least every position + 1. Does not advance any n_past. Cannot
 * fail. */
void model_forward_chunk(struct glimp_ctx *c, uint32_t n);

#endif
