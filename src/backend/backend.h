/* backend.h - the model interface: what the router may ask of a model, as a
 * vtable that the local engine (local.c), a remote OpenAI-compatible server
 * and the scripted fake of the tests all fill in, plus what they share.
 *
 * A model gives the distribution of the next token as a small value (the
 * top-k ids with their log-probabilities, and the whole logit vector only
 * where it has one), writes a step by sampling on its own side (streaming
 * each token through a callback), scores given tokens, and rolls back. Its
 * capability flags say which of the costly or exact things it can do, so
 * that the router refuses a setting a backend cannot honour, clearly, before
 * anything runs. */
#ifndef GLIMP_BACKEND_H
#define GLIMP_BACKEND_H

#include "backend/batcher.h"
#include "glimp.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a backend can do beyond the common ground (top-k distributions,
 * step generation, text in and out). */
enum bk_cap {
    BK_CAP_FULL_DIST = 1u << 0, /* bk_dist.logits: the whole next-token vector,
                                   and the sampler calls over it (sample, probs,
                                   draw, uniform, score) */
    BK_CAP_EXACT_IDS = 1u << 1, /* token ids in and out are the model's own */
    BK_CAP_ROLLBACK = 1u << 2,  /* truncate is cheap and in this process */
};

/* The most top-k entries a distribution carries (a remote server's
 * top_logprobs is at most 20 on vLLM by default). */
#define BK_TOPK_MAX 20

/* The distribution of a sequence's next token. */
struct bk_dist {
    /* n_vocab raw logits (T = 1) where the backend has them (FULL_DIST),
     * else NULL; valid until the next call on the sequence. */
    const float *logits;
    uint32_t k;                 /* entries below, most likely first */
    int32_t id[BK_TOPK_MAX];
    double logprob[BK_TOPK_MAX]; /* ln p at T = 1 */
};

struct bk_seq;

/* Called with each token a generate call keeps (id, and its bytes as the
 * text shows them); false stops the call after that token. */
typedef bool (*bk_token_cb)(void *user, int32_t id, const char *piece, size_t len);

/* Where a thinking step ends (glimp_router_params.segment), ready to test
 * text against: the marker pattern is compiled once per request. The one
 * rule every backend's generate and the router apply (bk_gen_keep):
 *   blank   the text holds "\n\n" (a pair may straddle two tokens);
 *   line    a token brings a "\n" after the step's first byte;
 *   marker  as blank, and the step also ends BEFORE text matching the
 *           pattern, where the match starts after the step's first token:
 *           the tokens from the one holding the match's first byte on are
 *           not the step's (bk_gen_out.cut says which; the caller rolls
 *           them back and they begin the next step). */
struct bk_marker; /* a compiled PCRE2 pattern and its match data */
struct bk_segment {
    enum glimp_segment kind;
    struct bk_marker *marker; /* GLIMP_SEGMENT_MARKER only */
};

/* Compile the rule (pattern: marker only, UTF-8). GLIMP_ERR_INVALID naming
 * the pattern and where it is wrong; GLIMP_ERR_NOMEM. */
int bk_segment_init(struct bk_segment *s, enum glimp_segment kind, const char *pattern);
void bk_segment_free(struct bk_segment *s); /* accepts NULL and a zeroed one */

struct bk_gen_out;
/* Apply the rule to the token just kept into out (its bytes start at
 * `before` in out->text): sets out->end, out->cut and out->n_final. */
void bk_segment_apply(const struct bk_segment *s, struct bk_gen_out *out, size_t before);

/* How far one generate call may go. */
struct bk_gen_rule {
    uint32_t max_tokens;        /* >= 1: out->n stops there */
    /* Where the step ends; NULL: it does not end on its text (the answer).
     * The rule sees out->text as a whole, what it held before the call
     * included. */
    const struct bk_segment *seg;
    bool want_entropy;          /* fill out->entropy */
    bool want_logprob;          /* fill out->logprob */
    uint32_t entropy_topk;      /* 0: full entropy (FULL_DIST only) */
    const atomic_int *cancel;   /* polled before each token; may be NULL */
    bk_token_cb on_token;       /* may be NULL */
    void *user;
};

/* What one generate call wrote. ids, entropy, logprob and off are
 * caller-owned arrays of at least max_tokens entries (entropy, logprob and
 * off may be NULL when not wanted; a marker rule needs off); text grows as
 * needed (the caller frees it). Every token in ids was appended to the
 * sequence, so its distribution is that of the next token. An
 * end-of-generation token is not kept. */
struct bk_gen_out {
    int32_t *ids;
    double *entropy; /* entropy (nats) of the distribution each token was drawn from */
    double *logprob; /* ln p of each token at T = 1 */
    size_t *off;     /* where each token's bytes start in text */
    uint32_t n;
    /* Tokens [0, n_final) are the step's for good: no marker can take them
     * back any more (what may be streamed); n_final == n without a marker. */
    uint32_t n_final;
    /* end by a marker: tokens [cut, n) begin the next step (bk_gen_cut);
     * else cut == n. */
    uint32_t cut;
    char *text; /* NUL-terminated, text_len bytes */
    size_t text_len, text_cap;
    bool eos;       /* the model ended its turn */
    bool end;       /* the segment rule ended the step */
    bool ctx_full;  /* the sequence's context is full */
    bool cancelled; /* *cancel was set */
    bool stopped;   /* on_token said stop */
};

/* A request's prompt as a backend reads it. */
struct bk_prompt {
    const char *text; /* the prompt itself, or (chat, no msgs) the one user message */
    /* chat: the conversation, rendered with the generation prompt through
     * the backend's own template; NULL: one user message, text */
    const struct glimp_chat_message *msgs;
    size_t n_msgs;
    bool chat;  /* through the chat template */
    bool think; /* thinking on (enable_thinking) */
};

struct bk_ops {
    void (*free)(struct glimp_backend *b);
    /* Render the prompt through the chat template (when chat) and
     * tokenize it with special tokens, adding BOS as the model asks. */
    int (*prompt_tokens)(struct glimp_backend *b, const struct bk_prompt *p,
                         struct glimp_tokens *out);
    /* Tokenize text (special tokens parsed), no BOS, appending to out. */
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
     * its own sampler (sp; its seed is the sequence's). */
    int (*seq_init)(struct glimp_backend *b, uint32_t n_ctx, const struct glimp_sampler_params *sp,
                    struct bk_seq **out);
    void (*seq_free)(struct bk_seq *s);
    uint32_t (*seq_len)(const struct bk_seq *s);
    uint32_t (*seq_n_ctx)(const struct bk_seq *s);
    /* Read n tokens; the sequence then has the distribution of the next. */
    int (*append)(struct bk_seq *s, const int32_t *ids, size_t n);
    /* Keep the first len tokens; the next-token distribution is then
     * unknown until the next append (GLIMP_ERR_INVALID from next). */
    int (*truncate)(struct bk_seq *s, uint32_t len);
    /* The distribution after the last token read, with its top k entries
     * (k <= BK_TOPK_MAX; 0: logits only, FULL_DIST backends). */
    int (*next)(struct bk_seq *s, uint32_t k, struct bk_dist *d);
    /* Sample from the next-token distribution, append, and sample on until
     * the rule stops it. */
    int (*generate)(struct bk_seq *s, const struct bk_gen_rule *r, struct bk_gen_out *out);
    /* What the next generate on s will ask (NULL where it changes nothing,
     * as for the local engine): at most max_tokens, stopping at "\n\n" or
     * not. A remote backend opens its stream for that much when next is
     * asked first (the probe's distribution is the first streamed token's),
     * so one request both probes and writes. max_tokens 0: nothing will be
     * generated from here: drop a stream in flight (the server aborts). */
    void (*expect)(struct bk_seq *s, uint32_t max_tokens, bool stop_blank);
    /* The tokens s will read soon: ids[0..n), all of them from its start
     * (its own first). A backend behind a server with a prefix cache sends
     * them ahead, so that the next request on s finds them computed (eager
     * sync); NULL where that gains nothing. */
    void (*prefetch)(struct bk_seq *s, const int32_t *ids, size_t n);

    /* FULL_DIST backends only (NULL elsewhere): read n tokens and give the
     * logits after each (*rows: n rows of n_logits, valid until the next call
     * on s), as speculative decoding verifies drafts; and the sequence's
     * sampler over whole vectors. */
    int (*score)(struct bk_seq *s, const int32_t *ids, size_t n, const float **rows);
    int (*sample)(struct bk_seq *s, const float *logits, int32_t *id);
    int (*probs)(struct bk_seq *s, const float *logits, float *probs);
    int (*draw)(struct bk_seq *s, const float *probs, int32_t *id);
    double (*uniform)(struct bk_seq *s);

    /* Backends that batch their sequences' passes (the local one), NULL
     * elsewhere: hold (on) or let go (off) the batcher around a loop that
     * appends to s one token at a time from this thread (as generate does
     * on its own): passes then wait for s's next token, so that sequences
     * decoding side by side share them; and the batcher's counters. */
    void (*hold)(struct bk_seq *s, bool on);
    /* Start s's sampler afresh with sp, as seq_init would (a sequence kept
     * for reuse by another request); NULL where sequences are not reused. */
    int (*reseed)(struct bk_seq *s, const struct glimp_sampler_params *sp);
    void (*batch_stats)(const struct glimp_backend *b, struct bk_batch_stats *out);
};

/* The common head of every backend and sequence. */
struct glimp_backend {
    const struct bk_ops *ops;
    unsigned caps;    /* enum bk_cap flags */
    uint32_t n_vocab; /* ids that can be sampled and decoded */
    uint32_t n_logits; /* floats in a row of logits (>= n_vocab: rows past the
                          vocabulary are the model's padding) */
    char desc[256];
    char warning[600]; /* "" or what people should know (a fallback taken) */
};

struct bk_seq {
    struct glimp_backend *b;
};

/* ops->hold where the backend has one. */
static inline void bk_hold(struct bk_seq *s, bool on)
{
    if (s->b->ops->hold)
        s->b->ops->hold(s, on);
}

/* ops->prefetch where the backend has one. */
static inline void bk_prefetch(struct bk_seq *s, const int32_t *ids, size_t n)
{
    if (s && s->b->ops->prefetch)
        s->b->ops->prefetch(s, ids, n);
}

/* ops->expect where the backend has one. */
static inline void bk_expect(struct bk_seq *s, uint32_t max_tokens, bool stop_blank)
{
    if (s && s->b->ops->expect)
        s->b->ops->expect(s, max_tokens, stop_blank);
}

/* FNV-1a over every token's text and type, so two files (or a file and a
 * server's vocabulary given as a file) with the same vocabulary hash alike
 * whatever else differs. */
uint64_t bk_vocab_hash(const struct glimp_tokenizer *t);

/* The prompt_tokens of a backend that holds a tokenizer and a template:
 * p rendered (when chat) and tokenized, BOS added as the model asks;
 * GLIMP_ERR_INVALID for a prompt of no tokens. */
int bk_prompt_ids(const struct glimp_tokenizer *tok, const struct glimp_chat_template *tmpl,
                  const struct bk_prompt *p, struct glimp_tokens *out);

static inline bool bk_has(const struct glimp_backend *b, unsigned caps)
{
    return (b->caps & caps) == caps;
}

/* Empty out for the next generate: no tokens, no text, no flags (the
 * arrays and the text buffer stay). */
void bk_gen_reset(struct bk_gen_out *out);

/* Does text[0..len) hold "\n\n" ending at or after byte `from` (a pair
 * may straddle from - 1 and from)? How a step's end is found, whatever
 * wrote the bytes from `from` on. */
bool bk_has_blank_line(const char *text, size_t len, size_t from);

/* Drop tokens [cut, n) from out (ids and text), as a marker asks; the
 * caller rolls the sequence back to match. */
void bk_gen_cut(struct bk_gen_out *out);

/* Append len bytes to out->text, growing it; GLIMP_ERR_NOMEM. */
int bk_text_append(struct bk_gen_out *out, const char *s, size_t len);

/* Keep one token that a generate call drew: its id (and entropy, logprob,
 * offset when the arrays are there), its bytes in the text; then apply the
 * rule's stops (the segment rule, then on_token). What every backend's
 * generate does with a token, in one place. */
int bk_gen_keep(struct bk_gen_out *out, const struct bk_gen_rule *r, int32_t id, const char *piece,
                size_t len, double entropy, double logprob);

/* The entropy (nats) of a distribution over its top k entries
 * renormalised (k > 0), as the reference code computes it from a server's
 * top-20, or over the whole vocabulary (k == 0, logits needed). From the
 * logits where the distribution has them, so that the local path stays
 * exactly what it was; else from the top-k log-probabilities. NaN when it
 * cannot be computed. */
double bk_dist_entropy(const struct bk_dist *d, uint32_t n_vocab, uint32_t k);

/* Fill d's top k entries from its logits (k <= BK_TOPK_MAX). */
void bk_dist_fill_topk(struct bk_dist *d, uint32_t n_vocab, uint32_t k);

#endif
