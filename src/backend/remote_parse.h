/* remote_parse.h - what a server's completion answer (whole, or one
 * streamed event) says, in the shapes found in the wild: the legacy
 * completions logprobs object (vLLM, SGLang, glimp serve; keys
 * "token_id:N" or token text), the content[] list (llama-server's
 * /v1/completions and every chat endpoint), llama-server's native
 * completion_probabilities and SGLang's native meta_info tuples. Pure (no
 * I/O): a fuzz target drives it. */
#ifndef GLIMP_REMOTE_PARSE_H
#define GLIMP_REMOTE_PARSE_H

#include "backend/backend.h"

/* The most tokens one answer may carry, and bytes one token may have. */
#define RP_MAX_TOKENS (1u << 20)
#define RP_MAX_TOKEN_BYTES 1024

/* A token as the server reports it: its id, ln p at T = 1 (NaN when not
 * given), its top entries (most likely first, at most BK_TOPK_MAX). */
struct rp_tok {
    int32_t id;
    double logprob;
    uint32_t k;
    int32_t top_id[BK_TOPK_MAX];
    double top_lp[BK_TOPK_MAX];
};

enum rp_finish {
    RP_FIN_NONE = 0, /* not finished (a stream event in the middle) */
    RP_FIN_EOS,      /* the model ended its turn (finish "stop", no stop string) */
    RP_FIN_STOP,     /* a stop string matched */
    RP_FIN_LENGTH,   /* max_tokens or the context */
    RP_FIN_OTHER,    /* anything else (abort, content filter) */
};

struct rp_answer {
    struct rp_tok *tok; /* malloc'ed, n entries */
    size_t n, cap;
    enum rp_finish finish;
    bool done_marker; /* the event was "[DONE]" */
    bool has_error;   /* the body is an error object */
    char error[512];  /* its message */
    char *text;       /* the text of this answer or event, NUL-terminated */
    size_t text_len;
    /* the tokens the server says it generated so far in this request
     * (usage.completion_tokens, llama-server's tokens_predicted), -1 when
     * not said: more than it sent means it skipped some (llama-server never
     * streams a token that ends inside a UTF-8 character) */
    int64_t n_generated;
};

/* Map a token's text (a top-logprobs key that is not "token_id:N") to an
 * id, or -1 when it names no known token. */
typedef int32_t (*rp_resolve_fn)(void *user, const char *text, size_t len);

/* Parse one answer or event (JSON, or "[DONE]") into out, which is reset
 * first and keeps its token array. GLIMP_ERR_FORMAT with a message naming
 * the field for anything malformed: a token without an id (none given and
 * resolve NULL or -1), a logprob that is not a number, more than
 * RP_MAX_TOKENS tokens; GLIMP_ERR_NOMEM. */
int rp_parse_answer(const char *json, size_t len, rp_resolve_fn resolve, void *user,
                    struct rp_answer *out);
/* The same for text mode: ids the server gives (its vocabulary's) are
 * ignored, and every token is named through resolve by its exact bytes
 * where the entry has them, else its text (SGLang's native tuples, which
 * carry ids only, are not read). */
int rp_parse_answer_text(const char *json, size_t len, rp_resolve_fn resolve, void *user,
                         struct rp_answer *out);
void rp_answer_free(struct rp_answer *a);

/* The ids of a /tokenize answer ({"tokens": [ids]} or [{id, piece}]) and
 * its max_model_len (0 when absent). */
int rp_parse_tokenize(const char *json, size_t len, struct glimp_tokens *ids,
                      uint32_t *max_model_len);

/* The context of each of llama-server's slots from its /props answer
 * (default_generation_settings.n_ctx), 0 when absent. */
uint32_t rp_parse_props(const char *json, size_t len);

/* The ids of a /v1/models answer: the only model's id into buf, or
 * GLIMP_ERR_INVALID naming the count when there is not exactly one. */
int rp_parse_models(const char *json, size_t len, char *buf, size_t cap);

/* The message of an error body ({"error": {"message"}} or {"error": "..."}
 * or {"message"}), or the body's first bytes, into buf. */
void rp_error_message(const char *body, size_t len, char *buf, size_t cap);

#endif
