/* remote_internal.h - what the remote backend's files share (remote.c,
 * remote_call.c, remote_text.c, remote_stream.c, remote_open.c): the backend
 * and sequence structs, their casts, and the helpers one file lends another.
 * Not for use outside src/backend/remote*.c. */
#ifndef GLIMP_REMOTE_INTERNAL_H
#define GLIMP_REMOTE_INTERNAL_H

#include "backend/backend.h"
#include "backend/remote_http.h"
#include "backend/remote_parse.h"

#include <jansson.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pieces;
struct rpf;

struct remote_backend {
    struct glimp_backend base;
    struct glimp_remote_params p;
    char url[512];  /* the API base, ".../v1" */
    char root[512]; /* the server's root (where /tokenize is) */
    char model[256];
    char *api_key;
    struct glimp_gguf *gguf;
    struct glimp_tokenizer *tok;
    struct glimp_chat_template tmpl;
    int32_t eos, eot;
    uint64_t vocab_hash;
    uint32_t n_ctx;
    pthread_mutex_t mu; /* stats */
    struct glimp_remote_stats st;
    struct rpf *pre; /* eager sync, or NULL */
    struct pieces *pc; /* text mode's token table, or NULL (token ids) */
};

struct remote_seq {
    struct bk_seq base;
    struct glimp_tokens ids; /* everything the sequence read and wrote */
    uint32_t n_ctx;
    struct glimp_sampler_params sp;
    uint64_t n_req; /* requests made: sampling seeds move on with them */
    struct rh_conn *conn;
    /* the plan of the next generate (expect) */
    uint32_t plan_max;
    bool plan_blank;
    /* the stream in flight: tokens read and not yet taken, from q_head */
    bool open;  /* a stream was opened and not closed */
    bool ended; /* its server said it finished (finish) */
    enum rp_finish finish;
    uint32_t s_max; /* what it was opened with */
    bool s_blank;
    uint32_t s_got; /* tokens it gave so far */
    int64_t s_said; /* tokens its server said it generated (-1: not said) */
    struct rp_tok *q;
    size_t q_head, q_n, q_cap;
    struct rp_answer ans;
    double t_start, t_first;
};

static inline struct remote_backend *rb(const struct glimp_backend *b)
{
    return (struct remote_backend *)b;
}

static inline struct remote_seq *rs(const struct bk_seq *s)
{
    return (struct remote_seq *)s;
}

/* remote.c: the model interface (glimp_backend_is_remote knows a remote
 * backend by its ops) and the backend's destructor. */
extern const struct bk_ops remote_ops;
void remote_free(struct glimp_backend *b);

/* remote_call.c: requests answered whole, and what streams share with them
 * (stats, retries, back-off, failure messages). */
void remote_stat_add(struct remote_backend *r, uint64_t req, uint64_t retry, uint64_t aborted,
                     double connect_s, double fb_s, double stream_s);
void remote_sleep_s(double s);
bool remote_retryable_status(long st);
double remote_backoff(const struct remote_backend *r, const struct rh_conn *c, uint32_t attempt);
void remote_status_why(const struct rh_conn *c, long status, char *why, size_t cap);
const char *remote_retries_note(const struct remote_backend *r, long status);
int remote_call(struct remote_backend *r, struct rh_conn *c, const char *url, const char *body,
                const char *what);

/* remote_text.c: text mode's tokens (a text's bytes; a prompt with its
 * markers) and requests. */
int remote_text_tokenize(const char *text, size_t len, struct glimp_tokens *out);
int remote_text_prompt(const struct bk_prompt *p, struct glimp_tokens *out);
json_t *remote_text_request(struct remote_backend *r, const int32_t *ids, size_t n, bool *chat);

/* remote_stream.c: a sequence's streamed request: its body, opening,
 * reading (resumed when cut), draining and closing. */
json_t *remote_request_of(struct remote_backend *r, const int32_t *ids, size_t n,
                          const char **endpoint);
void remote_stream_close(struct remote_seq *s);
int remote_stream_open_as(struct remote_seq *s, uint32_t max_tokens, bool stop_blank, bool greedy);
int remote_stream_open(struct remote_seq *s, uint32_t max_tokens, bool stop_blank);
int remote_check_sent(struct remote_seq *s);
int remote_stream_fill(struct remote_seq *s, const atomic_int *cancel);
void remote_stream_drain(struct remote_seq *s);

#endif
