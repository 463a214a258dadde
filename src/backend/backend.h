/* backend.h - the one interface between the router and a model: the
 * vtable every backend fills in (the local engine now, an OpenAI-compatible
 * server later) and thin inline calls through it. Nothing in the router may
 * assume more about a model than what is here. */
#ifndef GLIMP_BACKEND_H
#define GLIMP_BACKEND_H

#include "glimp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_seq;

/* How far one generate call may go. */
struct bk_gen_rule {
    uint32_t max_tokens;        /* >= 1 */
    bool stop_blank_line;       /* stop once out->text (what it held before
                                   the call included) holds "\n\n" */
    bool want_entropy;          /* fill out->entropy */
    bool want_logprob;          /* fill out->logprob */
    uint32_t entropy_topk;      /* 0: full entropy */
    const volatile int *cancel; /* polled before each token */
};

/* What one generate call wrote. ids, entropy and logprob are caller-owned
 * arrays of at least max_tokens entries (entropy/logprob may be NULL when
 * not wanted); text grows as needed (the caller frees it). Every token in
 * ids was appended to the sequence, so its logits are the distribution of
 * the next token. An end-of-generation token is not kept. */
struct bk_gen_out {
    int32_t *ids;
    double *entropy; /* entropy (nats) of the distribution each token was drawn from */
    double *logprob; /* ln p of each token at T = 1 */
    uint32_t n;
    char *text; /* NUL-terminated, text_len bytes */
    size_t text_len, text_cap;
    bool eos;       /* the model ended its turn */
    bool blank;     /* stopped at "\n\n" */
    bool ctx_full;  /* the sequence's context is full */
    bool cancelled; /* *cancel was set */
    double t_first; /* CLOCK_MONOTONIC seconds when the first token came; 0: none yet */
};

struct bk_ops {
    void (*free)(struct glimp_backend *b);
    /* Render the user text through the chat template (when chat) and
     * tokenize it with special tokens, adding BOS as the model asks. */
    int (*prompt_tokens)(struct glimp_backend *b, const char *text, bool chat, bool think,
                         struct glimp_tokens *out);
    /* Tokenize text (special tokens parsed), no BOS. */
    int (*tokenize)(struct glimp_backend *b, const char *text, size_t len,
                    struct glimp_tokens *out);
    bool (*is_eog)(const struct glimp_backend *b, int32_t id);
    /* A hash of the vocabulary (every token's text and type). */
    uint64_t (*vocab_hash)(const struct glimp_backend *b);
    /* The id of a token whose text is exactly text, or -1. */
    int32_t (*find_token)(const struct glimp_backend *b, const char *text);
    /* The bytes of one token as generated text shows them (control tokens
     * give nothing); GLIMP_ERR_RANGE when cap is too small. */
    int (*token_bytes)(const struct glimp_backend *b, int32_t id, char *buf, size_t cap,
                       size_t *len);

    /* A sequence with its own context of n_ctx tokens (0: the model's) and
     * its own sampler. */
    int (*seq_init)(struct glimp_backend *b, uint32_t n_ctx, const struct glimp_sampler_params *sp,
                    struct bk_seq **out);
    void (*seq_free)(struct bk_seq *s);
    uint32_t (*seq_len)(const struct bk_seq *s);
    uint32_t (*seq_n_ctx)(const struct bk_seq *s);
    /* Evaluate n tokens; *logits gets the last position's n_vocab logits,
     * or all n rows with all_logits; valid until the next append, truncate
     * or generate on s. */
    int (*append)(struct bk_seq *s, const int32_t *ids, size_t n, bool all_logits,
                  const float **logits);
    int (*truncate)(struct bk_seq *s, uint32_t len);
    /* Sampling with the sequence's sampler. */
    int (*sample)(struct bk_seq *s, const float *logits, int32_t *id);
    int (*probs)(struct bk_seq *s, const float *logits, float *probs);
    int (*draw)(struct bk_seq *s, const float *probs, int32_t *id);
    double (*uniform)(struct bk_seq *s);
    /* Sample from *logits (the distribution after the sequence's last
     * token), append, and sample on until the rule stops it; *logits ends
     * as the distribution after the last token appended. */
    int (*generate)(struct bk_seq *s, const float **logits, const struct bk_gen_rule *r,
                    struct bk_gen_out *out);
};

/* The common head of every backend and sequence. */
struct glimp_backend {
    const struct bk_ops *ops;
    uint32_t n_vocab; /* ids that can be sampled and decoded */
    char desc[256];
    char warning[600]; /* "" or what people should know (a fallback taken) */
};

struct bk_seq {
    struct glimp_backend *b;
};

/* Empty out for the next generate: no tokens, no text, no flags (the
 * arrays and the text buffer stay). */
void bk_gen_reset(struct bk_gen_out *out);

/* Does text[0..len) hold "\n\n" ending at or after byte `from` (a pair
 * may straddle from - 1 and from)? How a step's end is found, whatever
 * wrote the bytes from `from` on. */
bool bk_has_blank_line(const char *text, size_t len, size_t from);

/* Append len bytes to out->text, growing it; GLIMP_ERR_NOMEM. */
int bk_text_append(struct bk_gen_out *out, const char *s, size_t len);

#endif
