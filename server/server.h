/* server.h - glimp serve: an OpenAI-compatible HTTP server that routes every
 * request (DESIGN.md section 4). What the server's files share: the options
 * the command line gives, a parsed request, OpenAI-shaped errors, and the
 * entry point. server/ (with cli/) is the only code that prints or exits. */
#ifndef GLIMP_SERVER_H
#define GLIMP_SERVER_H

#include "glimp.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ options */

/* A named profile: model "glimp:NAME" routes with its settings. */
#define SRV_MAX_PROFILES 16
struct srv_profile {
    char name[64];
    const char *path;
    struct glimp_router_params params; /* the server's defaults, then the file's */
    struct glimp_profile_info info;
};

struct server_opts {
    const char *slm, *llm; /* routed mode: both */
    const char *model;     /* single-model mode (-m) */
    const char *host;      /* default 127.0.0.1 */
    uint32_t port;         /* 0: any free port (printed) */
    uint32_t n_threads;    /* per model; 0: one per core */
    uint32_t n_ubatch;     /* prompt tokens per shared forward pass; 0: 512 */
    int64_t prompt_cache;  /* sequences kept per model for prompt reuse; -1: n_parallel */
    uint32_t n_parallel;   /* requests generated at once (-np) */
    uint32_t queue;        /* requests waiting for a slot; beyond: 503 */
    const char *api_key;   /* NULL: none needed */
    double timeout_s;      /* a request's longest life; 0: none */
    double grace_s;        /* on SIGTERM/SIGINT: how long running requests may finish */
    uint32_t idle_timeout_s; /* a connection with no bytes moving (headers, body, or an
                                answer not read) is closed after this */
    size_t max_body;       /* bytes of a request body; beyond: 413 */
    bool log_json;         /* one JSON object per request line */
    struct glimp_router_params defaults; /* --policy, --tau, budgets, sampling, -c */
    const char *profile_path;            /* --profile FILE under the defaults, or NULL */
    struct glimp_profile_info profile_info;
    const struct srv_profile *profiles;  /* --profile NAME=FILE */
    size_t n_profiles;
    /* routed mode: how to reach --slm / --llm when they are server URLs
     * (remote backends; their vocab GGUF gives /tokenize and templates) */
    struct glimp_remote_params remote[2];
};

/* Serve until SIGTERM or SIGINT; returns the process exit code (0 after a
 * clean shutdown, 1 when the models or the socket fail). */
int server_run(const struct server_opts *o);

/* ------------------------------------------------------------ requests */

enum srv_kind { SRV_CHAT = 0, SRV_COMPLETION = 1 };

/* The most top entries per token a request may ask for (completions'
 * logprobs, chat's top_logprobs). */
#define SRV_MAX_LOGPROBS 20
#define SRV_MAX_STOP 8         /* stop strings */
#define SRV_MAX_STOP_LEN 256   /* bytes of one */
#define SRV_MAX_MESSAGES 4096
#define SRV_MAX_PROMPT_IDS (1u << 24)

struct srv_msg {
    char *role; /* "system", "user", "assistant" ("developer" becomes "system") */
    char *content;
    char *reasoning; /* assistant turns: reasoning_content / reasoning; NULL if none */
};

/* A request as the client sent it, every field checked; what is not set
 * keeps the server's defaults. Owned strings; srv_req_free releases them. */
struct srv_req {
    enum srv_kind kind;
    char *model; /* NULL when absent */
    struct srv_msg *msgs; /* chat */
    size_t n_msgs;
    char *prompt;        /* completions: a string prompt, or NULL */
    int32_t *prompt_ids; /* completions: a token-id prompt, or NULL */
    size_t n_prompt_ids;
    int64_t max_tokens; /* -1: not given */
    bool set_temperature, set_top_p, set_top_k, set_min_p, set_seed;
    float temperature, top_p, min_p;
    uint32_t top_k;
    uint64_t seed;
    char *stop[SRV_MAX_STOP];
    size_t n_stop;
    bool stream, include_usage;
    int enable_thinking; /* -1 not given, 0, 1 */
    bool add_generation_prompt; /* chat: default true; false with continue_final */
    bool continue_final;        /* chat: continue_final_message (the last message is
                                   the assistant's, left open) */
    int logprobs; /* -1 not asked; 0..SRV_MAX_LOGPROBS top entries per token (completions'
                     logprobs N, chat's logprobs true with top_logprobs N) */
    bool tokens_as_ids;  /* return_tokens_as_token_ids */
    bool return_token_ids;
    /* the glimp request object */
    bool set_policy, set_tau, set_share, set_signal, set_glimpse, set_draft, set_max_think,
        set_max_step;
    enum glimp_policy policy;
    double tau, share;
    enum glimp_signal signal;
    uint32_t glimpse, draft, max_think, max_step;
};

/* An error as OpenAI shapes it: {"error": {"message", "type", "param",
 * "code"}}, with its HTTP status. */
struct srv_error {
    int status;          /* 400, 401, 404, ... */
    const char *type;    /* "invalid_request_error", ... */
    char param[64];      /* the field, "" when none */
    char message[512];
};

/* Fill err (status 400 unless set) and return false. */
bool srv_fail(struct srv_error *err, int status, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Parse and check a request body (JSON) of the chat or completions endpoint.
 * Pure: no I/O, nothing kept. false with err naming the field on any bad
 * value (wrong type, out of range, n > 1, empty messages, ...); unknown
 * fields are ignored, as OpenAI's own server does. On failure *out is left
 * empty (nothing to free). */
bool srv_parse_request(const char *body, size_t len, enum srv_kind kind, struct srv_req *out,
                       struct srv_error *err);
void srv_req_free(struct srv_req *r); /* accepts NULL */

/* What the model field names in routed mode. */
enum srv_target {
    SRV_TARGET_ROUTER = 0, /* "glimp" or a method spec: the router writes */
    SRV_TARGET_SLM = 1,    /* "slm": the small model alone */
    SRV_TARGET_LLM = 2,    /* "llm": the large model alone */
};

/* The router params a request runs with: the server's defaults, then the
 * model name ("glimp", "slm", "llm", or a method spec of glimp eval such as
 * "glimp:tau=0.8"), then the request's glimp object and sampling fields.
 * routed: the server has two models (else any model name the server lists
 * is accepted and the router fields are refused). single_id is the name of
 * the one model in single-model mode. Pure. */
bool srv_resolve_params(const struct srv_req *r, const struct glimp_router_params *defaults,
                        const struct srv_profile *profiles, size_t n_profiles,
                        bool routed, const char *single_id, struct glimp_router_params *out,
                        enum srv_target *target, struct srv_error *err);

/* Parse /tokenize ({content|prompt, add_special, with_pieces}) and
 * /detokenize ({tokens}). Pure; the strings and ids are malloc'ed. */
struct srv_tok_req {
    char *text;
    bool add_special;
    bool with_pieces;
    int32_t *ids;
    size_t n_ids;
};
bool srv_parse_tokenize(const char *body, size_t len, struct srv_tok_req *out,
                        struct srv_error *err);
bool srv_parse_detokenize(const char *body, size_t len, struct srv_tok_req *out,
                          struct srv_error *err);
void srv_tok_req_free(struct srv_tok_req *r);

/* ------------------------------------------------------------ JSON helpers */

/* finite: a real; NaN: null; +-inf: "inf" / "-inf". */
json_t *srv_number(double x);
/* {"error": {...}} of err, compact, malloc'ed (NULL when out of memory). */
char *srv_error_body(const struct srv_error *err);

#endif
