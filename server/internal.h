/* internal.h - the running server's state, shared by its files: the models,
 * the jobs a request becomes, the slots that run them, the metrics. The
 * HTTP side (http.c, api.c) makes a job and ships the bytes a worker
 * (slots.c, generate.c) writes into it. */
#ifndef GLIMP_SERVER_INTERNAL_H
#define GLIMP_SERVER_INTERNAL_H

#include "server/server.h"

/* Single-model mode drives the model interface itself (token-level
 * generation with top-k logprobs and exact ids), which the public router
 * API does not offer: hence the library's internal header. */
#include "backend/backend.h"
#include "core/jtext.h"

#include <pthread.h>
#include <stdatomic.h>

/* One model the server holds: its backend, and its own tokenizer and chat
 * template read from the same mapped file (for /tokenize, prompt rendering
 * and the prompt-length check on the HTTP side). */
/* The prompt cache of one model (cache.c). */
struct srv_cache_entry {
    struct bk_seq *seq;
    struct glimp_tokens ids; /* exactly the tokens seq holds */
    uint64_t used;
};
struct srv_cache {
    pthread_mutex_t mu;
    struct srv_cache_entry *e;
    uint32_t n, cap;
    uint64_t clock;
    uint64_t queries, hits; /* prompt tokens asked, and found in the cache */
};

struct srv_model {
    struct glimp_backend *b;
    struct srv_cache cache; /* one-model requests' sequences, kept (--prompt-cache) */
    /* its file, tokenizer and template; NULL (tmpl unused) for a remote
     * model in text mode, whose server renders and tokenizes */
    struct glimp_gguf *gguf;
    struct glimp_tokenizer *tok;
    struct glimp_chat_template tmpl;
    uint32_t n_ctx; /* a sequence's context */
    char id[128];   /* its name in /v1/models */
    const char *path;
};

/* The chat template's family name, or what stands for it in text mode. */
const char *srv_template_name(const struct srv_model *m);

/* cap 0: nothing is kept. */
void srv_cache_init(struct srv_cache *c, uint32_t cap);
void srv_cache_free(struct srv_cache *c);
/* The kept sequence sharing the longest prefix with ids (at least one
 * token), taken out of the cache with its tokens (*held) and the length of
 * that prefix (*common); NULL when none shares a token. */
struct bk_seq *srv_cache_take(struct srv_cache *c, const int32_t *ids, uint32_t n,
                              struct glimp_tokens *held, uint32_t *common);
/* Keep seq, holding exactly the tokens ids (taken over: *ids is emptied);
 * the least recently used one is freed to make room. */
void srv_cache_put(struct srv_cache *c, struct bk_seq *seq, struct glimp_tokens *ids);
void srv_cache_counts(struct srv_cache *c, uint64_t *queries, uint64_t *hits);

/* ------------------------------------------------------------ metrics */

#define SRV_H_BUCKETS 12
#define SRV_T_BUCKETS 14

struct srv_hist {
    uint64_t count[SRV_T_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
    double sum;
    uint64_t n;
};

struct srv_metrics {
    pthread_mutex_t mu;
    uint64_t running, waiting;
    uint64_t success[4]; /* stop, length, abort, error */
    uint64_t prompt_tokens;
    uint64_t gen_tokens[2]; /* by writer */
    uint64_t steps[2];
    uint64_t draft_tokens, accepted_tokens;
    uint64_t http[6]; /* responses by status class: 1xx..5xx, index 1..5 */
    uint64_t rejected; /* 503 when full */
    struct srv_hist h_init, ttft, e2e, itl;
    /* the models' batchers, copied in when /metrics is asked: a label per
     * model that has one ("slm", "llm", or "model" alone), else NULL */
    const char *batch_label[2];
    struct bk_batch_stats batch[2];
    uint64_t cache_queries[2], cache_hits[2]; /* their prompt caches, likewise */
};

enum srv_finish { SRV_FIN_STOP = 0, SRV_FIN_LENGTH = 1, SRV_FIN_ABORT = 2, SRV_FIN_ERROR = 3 };

void srv_metrics_init(struct srv_metrics *m);
void srv_metrics_free(struct srv_metrics *m);
void srv_hist_add(struct srv_hist *h, const double *bounds, size_t n_bounds, double x);
extern const double srv_h_bounds[SRV_H_BUCKETS];
extern const double srv_t_bounds[SRV_T_BUCKETS];
/* The Prometheus text exposition, malloc'ed. */
char *srv_metrics_text(struct srv_metrics *m);

/* ------------------------------------------------------------ jobs */

/* A generation request on its way: made by the HTTP side, queued, run by
 * a worker, its bytes shipped by the HTTP side. Two references (the HTTP
 * side and the queue/worker); the last one frees it. */
struct srv_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;

    struct srv_server *srv;
    struct srv_req req;
    struct glimp_router_params params;
    enum srv_target target;
    bool routed;              /* the router writes (else one model alone) */
    struct srv_model *model;  /* single model: who writes */
    char *prompt;             /* routed: the prompt the router reads */
    bool prompt_chat;         /* routed: prompt is one user message (chat template) */
    /* routed, prompt_chat: the conversation instead (its texts are req's),
     * through each model's own template; NULL: the one user message */
    struct glimp_chat_message *msgs;
    size_t n_msgs;
    struct glimp_tokens ids;  /* one model: the prompt's tokens */
    uint32_t prompt_tokens;

    atomic_int cancel;        /* 0, or why it ends early (enum srv_cancel; the first wins) */
    char id[48];
    long long created;
    const char *model_name;   /* as answered */

    /* what the worker writes; under mu */
    char *out;
    size_t out_len, out_cap, out_sent;
    bool started;   /* the worker began (headers may go) */
    bool done;      /* nothing more will come */
    int status;     /* HTTP status of a non-streamed answer, or of a failure before start */
    char *error_body; /* the error's body when status is not 200 */

    /* figures for the log and the metrics */
    double t_arrive, t_start, t_first, t_end;
    uint64_t completion_tokens;
    uint32_t cached_tokens; /* prompt tokens the prompt cache gave */
    enum srv_finish finish;
};

/* Why a job ends early. The client's leaving is told apart from the server's
 * reasons: a job whose client left before it started is answered 499 (no
 * one reads it, and it is no server failure), the others 503. */
enum srv_cancel {
    SRV_CANCEL_CLIENT = 1,   /* the client closed the connection */
    SRV_CANCEL_TIMEOUT = 2,  /* --timeout ran out */
    SRV_CANCEL_SHUTDOWN = 3, /* SIGTERM/SIGINT, after the grace */
    SRV_CANCEL_NOMEM = 4,    /* its output could not grow */
};

struct srv_job *srv_job_new(struct srv_server *s);
/* Ask the job to end, for reason (enum srv_cancel), unless it has been asked
 * already; thread-safe. */
void srv_job_cancel(struct srv_job *j, int reason);
void srv_job_unref(struct srv_job *j);
/* Append bytes to the job's output and wake the HTTP side (under mu). */
void srv_job_write(struct srv_job *j, const char *s, size_t n);

/* ------------------------------------------------------------ the server */

struct srv_server {
    const struct server_opts *o;
    bool routed;
    struct srv_model m[2]; /* routed: slm, llm; single: m[0] */
    atomic_int loading;    /* 1 until the models are loaded */
    atomic_int stopping;   /* SIGTERM/SIGINT: no new requests */
    struct srv_metrics metrics;

    /* slots and the queue */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    struct srv_job **queue; /* ring of q_cap entries: waiting, and taken by idle slots */
    size_t q_cap, q_head, q_len;
    uint32_t running;
    pthread_t *workers;
    uint32_t n_workers;
    bool quit;              /* workers leave */
    struct srv_job **active; /* per worker, the job it runs (for cancel at shutdown) */

    pthread_mutex_t log_mu;
};

/* Start the workers; queue a job (false: the queue is full, 503); cancel
 * every job; stop the workers after the queue drains or is cancelled. */
int srv_slots_start(struct srv_server *s);
bool srv_slots_submit(struct srv_server *s, struct srv_job *j);
void srv_slots_cancel_all(struct srv_server *s);
void srv_slots_stop(struct srv_server *s);
/* Running and waiting jobs now. */
void srv_slots_counts(struct srv_server *s, uint32_t *running, uint32_t *waiting);

/* Run one job to its end on the calling worker (generate.c). */
void srv_generate(struct srv_job *j);

/* The endpoints (api.c): fill status, content type and a malloc'ed body
 * for a request that is answered at once. */
struct srv_reply {
    int status;
    const char *content_type;
    char *body;
    size_t len;
    const char *retry_after; /* Retry-After header, or NULL */
};
void srv_reply_error(struct srv_reply *r, const struct srv_error *err);
void srv_api_models(struct srv_server *s, struct srv_reply *r);
void srv_api_health(struct srv_server *s, struct srv_reply *r);
void srv_api_props(struct srv_server *s, struct srv_reply *r);
void srv_api_metrics(struct srv_server *s, struct srv_reply *r);
void srv_api_tokenize(struct srv_server *s, const char *body, size_t len, struct srv_reply *r);
void srv_api_detokenize(struct srv_server *s, const char *body, size_t len,
                        struct srv_reply *r);
/* Make the job of a chat or completions request: parse, resolve, render
 * and tokenize the prompt, check its length. NULL with the error in r. */
struct srv_job *srv_api_job(struct srv_server *s, enum srv_kind kind, const char *body,
                            size_t len, struct srv_reply *r);

/* A JSON value as compact text, malloc'ed; takes j. */
char *srv_dump(json_t *j);

#endif
