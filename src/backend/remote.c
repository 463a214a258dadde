/* remote.c - the remote backend: a model behind an OpenAI-compatible server
 * (vLLM, SGLang, llama-server, glimp serve -m). The token list of each
 * sequence lives here, on the client; every step is one streamed request
 * whose prompt is that list, so the server's prefix cache reuses what it
 * computed before. Where glimp knows the server's vocabulary the list is
 * the model's token ids, sent to /v1/completions; else (text mode) it is
 * text (pieces.h: bytes glimp sent, texts of the tokens the server wrote),
 * sent as a chat whose assistant message the server continues
 * (continue_final_message), or as a text prompt to /v1/completions when
 * the prompt is no chat. next() opens the
 * stream and returns the first streamed token's top-20 log-probabilities
 * (the probe), keeping the stream open; a generate that follows consumes the
 * same stream (its first token is the sampled one); an append or truncate
 * first closes it (the server aborts the request). Failures are retried
 * (connection, time-outs, 429, 5xx; never other 4xx), a stream cut mid-way
 * resumes from the tokens already read, and what finally fails names the
 * server and what was in flight. */
#include "backend/backend.h"
#include "backend/pieces.h"
#include "backend/remote_http.h"
#include "backend/remote_parse.h"
#include "backend/remote_prefill.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/jtext.h"

#include <jansson.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static struct remote_backend *rb(const struct glimp_backend *b)
{
    return (struct remote_backend *)b;
}

static struct remote_seq *rs(const struct bk_seq *s)
{
    return (struct remote_seq *)s;
}

struct glimp_remote_params glimp_remote_default_params(void)
{
    return (struct glimp_remote_params){
        .vocab_checked = true,
        .connect_timeout_s = 10,
        .first_byte_timeout_s = 300,
        .token_timeout_s = 60,
        .retries = 4,
        .backoff_s = 0.5,
        .step_hint = 512,
    };
}

bool glimp_is_url(const char *s)
{
    return s && (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8));
}

/* ------------------------------------------------------------ stats */

static void stat_add(struct remote_backend *r, uint64_t req, uint64_t retry, uint64_t aborted,
                     double connect_s, double fb_s, double stream_s)
{
    pthread_mutex_lock(&r->mu);
    r->st.requests += req;
    r->st.retries += retry;
    r->st.aborted += aborted;
    r->st.connect_s += connect_s;
    r->st.first_byte_s += fb_s;
    r->st.stream_s += stream_s;
    pthread_mutex_unlock(&r->mu);
}

/* ------------------------------------------------------------ requests */

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static bool retryable_status(long st)
{
    return st == 429 || st == 408 || st >= 500;
}

/* How long to wait before retry `attempt` (0-based) of a request that
 * failed: Retry-After when the server said, else backoff doubled. */
static double backoff(const struct remote_backend *r, const struct rh_conn *c, uint32_t attempt)
{
    double ra = c ? rh_retry_after(c) : -1;
    if (ra >= 0)
        return ra < 60 ? ra : 60;
    double w = r->p.backoff_s;
    for (uint32_t i = 0; i < attempt && w < 30; i++)
        w *= 2;
    return w;
}

/* Wait for a request's whole answer, with the time-outs; why it failed in
 * why (empty when it did not). */
static enum rh_state wait_whole(struct remote_backend *r, struct rh_conn *c, char *why, size_t cap)
{
    double t0 = glimp_now(), last = t0;
    bool first = true;
    why[0] = '\0';
    for (;;) {
        bool got;
        enum rh_state st = rh_pump(c, 0.25, &got);
        double now = glimp_now();
        if (got) {
            if (first)
                stat_add(r, 0, 0, 0, 0, now - t0, 0);
            first = false;
            last = now;
        }
        if (st == RH_FAILED)
            snprintf(why, cap, "%s", rh_failure(c));
        if (st != RH_RUNNING)
            return st;
        double limit = first ? r->p.first_byte_timeout_s : r->p.token_timeout_s;
        if (now - last > limit) {
            snprintf(why, cap, "no answer for %.1f s (the %s time-out)", now - last,
                     first ? "first-byte" : "between-bytes");
            rh_abort(c);
            return RH_FAILED;
        }
    }
}

/* Why a finished answer with this status failed: "HTTP 503: message" with
 * the server's own message. */
static void status_why(const struct rh_conn *c, long status, char *why, size_t cap)
{
    size_t n;
    const char *b = rh_body(c, &n);
    char msg[400];
    rp_error_message(b, n, msg, sizeof msg);
    snprintf(why, cap, "HTTP %ld: %s", status, msg);
}

/* What a final failure adds when retries were allowed and this status
 * would have been retried. */
static const char *retries_note(const struct remote_backend *r, long status)
{
    return r->p.retries && !(status >= 400 && !retryable_status(status)) ? " (retries used up)"
                                                                           : "";
}

/* One request answered whole (GET when body is NULL): retried as the
 * params say; on success the body is rh_body(c). what says what it was
 * for, in messages. */
static int call(struct remote_backend *r, struct rh_conn *c, const char *url, const char *body,
                const char *what)
{
    char why[600] = "";
    long status = 0;
    for (uint32_t attempt = 0;; attempt++) {
        if (attempt > 0) {
            stat_add(r, 0, 1, 0, 0, 0, 0);
            sleep_s(backoff(r, c, attempt - 1));
        }
        int rc = rh_start(c, url, body, r->api_key);
        if (rc != GLIMP_OK)
            return rc;
        enum rh_state st = wait_whole(r, c, why, sizeof why);
        status = rh_status(c);
        if (st == RH_DONE && status == 200)
            return GLIMP_OK;
        if (st == RH_DONE) {
            status_why(c, status, why, sizeof why);
            if (!retryable_status(status))
                break;
        }
        if (attempt >= r->p.retries)
            break;
    }
    return glimp_error(GLIMP_ERR_REMOTE, "remote %s: %s: %s%s", url, what, why,
                       retries_note(r, status));
}

/* ------------------------------------------------------------ the vocabulary */

static int32_t resolve_text(void *user, const char *text, size_t len)
{
    struct remote_backend *r = user;
    if (r->pc)
        return pieces_intern(r->pc, text, len);
    char buf[256];
    if (!r->tok || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    return glimp_tokenizer_find(r->tok, buf, len);
}

/* Text mode: a chat prompt is its marker, the user's bytes and the
 * assistant's marker (what follows is the assistant's text); any other is
 * its bytes. */
static int text_prompt(const char *text, bool chat, bool think, struct glimp_tokens *out)
{
    size_t n = strlen(text);
    if (n == 0)
        return glimp_error(GLIMP_ERR_INVALID, "backend: the prompt is empty: no tokens");
    int32_t head = think ? PIECES_USER_THINK : PIECES_USER_NOTHINK, tail = PIECES_ASSISTANT;
    int rc = chat ? glimp_tokens_push(out, &head, 1) : GLIMP_OK;
    for (size_t i = 0; i < n && rc == GLIMP_OK; i++) {
        int32_t id = (uint8_t)text[i];
        rc = glimp_tokens_push(out, &id, 1);
    }
    return rc == GLIMP_OK && chat ? glimp_tokens_push(out, &tail, 1) : rc;
}

/* One answer or stream event, its tokens named as the mode says. */
static int parse_event(struct remote_backend *r, const char *data, size_t len,
                       struct rp_answer *out)
{
    return r->pc ? rp_parse_answer_text(data, len, resolve_text, r, out)
                 : rp_parse_answer(data, len, resolve_text, r, out);
}

static int remote_prompt_tokens(struct glimp_backend *b, const char *text, bool chat, bool think,
                                struct glimp_tokens *out)
{
    struct remote_backend *r = rb(b);
    if (r->pc)
        return text_prompt(text, chat, think, out);
    char *rendered = NULL;
    if (chat) {
        struct glimp_chat_message msg = {.role = "user", .content = text};
        struct glimp_chat_params cp = glimp_chat_default_params();
        cp.enable_thinking = think;
        int rc = glimp_chat_render(&r->tmpl, &msg, 1, &cp, &rendered);
        if (rc != GLIMP_OK)
            return rc;
        text = rendered;
    }
    int rc = glimp_tokenize(r->tok, text, strlen(text), true, out);
    free(rendered);
    if (rc != GLIMP_OK)
        return rc;
    int32_t bos = glimp_tokenizer_bos(r->tok);
    if (glimp_tokenizer_add_bos(r->tok) && bos >= 0 && (out->n == 0 || out->ids[0] != bos))
        rc = glimp_tokens_insert(out, 0, &bos, 1);
    if (rc == GLIMP_OK && out->n == 0)
        rc = glimp_error(GLIMP_ERR_INVALID, "backend: the prompt is empty: no tokens");
    return rc;
}

static int remote_tokenize(struct glimp_backend *b, const char *text, size_t len,
                           struct glimp_tokens *out)
{
    if (!rb(b)->pc)
        return glimp_tokenize(rb(b)->tok, text, len, true, out);
    int rc = GLIMP_OK;
    for (size_t i = 0; i < len && rc == GLIMP_OK; i++) {
        int32_t id = (uint8_t)text[i];
        rc = glimp_tokens_push(out, &id, 1);
    }
    return rc;
}

static bool remote_is_eog(const struct glimp_backend *b, int32_t id)
{
    return id == rb(b)->eos || id == rb(b)->eot;
}

static uint64_t remote_vocab_hash(const struct glimp_backend *b)
{
    return rb(b)->vocab_hash;
}

static int32_t remote_find_token(const struct glimp_backend *b, const char *text)
{
    if (rb(b)->pc)
        return pieces_intern(rb(b)->pc, text, strlen(text));
    return glimp_tokenizer_find(rb(b)->tok, text, strlen(text));
}

static int remote_token_bytes(const struct glimp_backend *b, int32_t id, char *buf, size_t cap,
                              size_t *len)
{
    struct pieces *pc = rb(b)->pc;
    if (!pc)
        return glimp_token_to_bytes(rb(b)->tok, id, false, buf, cap, len);
    if (pieces_bytes(pc, id, buf, cap, len))
        return GLIMP_OK;
    return pieces_has(pc, id) ? glimp_error(GLIMP_ERR_RANGE, "remote: token %d is longer than %zu bytes", (int)id, cap)
                              : glimp_error(GLIMP_ERR_INVALID, "remote: token %d is not in the table", (int)id);
}

/* ------------------------------------------------------------ sequences */

static int remote_seq_init(struct glimp_backend *b, uint32_t n_ctx,
                           const struct glimp_sampler_params *sp, struct bk_seq **out)
{
    struct remote_backend *r = rb(b);
    struct remote_seq *s = calloc(1, sizeof *s);
    if (!s)
        return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    s->base.b = b;
    s->n_ctx = n_ctx ? n_ctx : r->n_ctx;
    s->sp = sp ? *sp : glimp_sampler_default_params();
    s->plan_max = r->p.step_hint;
    s->plan_blank = true;
    int rc = rh_open(r->p.connect_timeout_s, &s->conn);
    if (rc != GLIMP_OK) {
        free(s);
        return rc;
    }
    *out = &s->base;
    return GLIMP_OK;
}

/* Close the stream in flight (the server aborts its request). */
static void stream_close(struct remote_seq *s)
{
    if (s->open) {
        bool cut = rh_active(s->conn);
        if (s->t_first > 0)
            stat_add(rb(s->base.b), 0, 0, cut, 0, 0, glimp_now() - s->t_first);
        else if (cut)
            stat_add(rb(s->base.b), 0, 0, 1, 0, 0, 0);
        rh_abort(s->conn);
    }
    s->open = s->ended = false;
    s->q_head = s->q_n = 0;
    s->s_got = 0;
    s->s_said = -1;
    s->t_first = 0;
}

static void remote_seq_free(struct bk_seq *b)
{
    if (!b)
        return;
    struct remote_seq *s = rs(b);
    if (rb(b->b)->pre)
        rpf_settle(rb(b->b)->pre, s);
    stream_close(s);
    rh_close(s->conn);
    glimp_tokens_free(&s->ids);
    free(s->q);
    rp_answer_free(&s->ans);
    free(s);
}

static uint32_t remote_seq_len(const struct bk_seq *s)
{
    return (uint32_t)rs(s)->ids.n;
}

static uint32_t remote_seq_n_ctx(const struct bk_seq *s)
{
    return rs(s)->n_ctx;
}

static int remote_append(struct bk_seq *b, const int32_t *ids, size_t n)
{
    struct remote_seq *s = rs(b);
    struct pieces *pc = rb(b->b)->pc;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (uint32_t)ids[i] >= b->b->n_vocab || (pc && !pieces_has(pc, ids[i])))
            return glimp_error(GLIMP_ERR_INVALID, "remote: token id %d is outside the vocabulary",
                               (int)ids[i]);
    if (s->ids.n + n > s->n_ctx)
        return glimp_error(GLIMP_ERR_RANGE, "remote: %zu tokens pass the context of %u",
                           s->ids.n + n, s->n_ctx);
    stream_close(s);
    return glimp_tokens_push(&s->ids, ids, n);
}

static int remote_truncate(struct bk_seq *b, uint32_t len)
{
    struct remote_seq *s = rs(b);
    if (len > s->ids.n)
        return glimp_error(GLIMP_ERR_INVALID, "remote: truncate to %u of %zu tokens", len,
                           s->ids.n);
    stream_close(s);
    s->ids.n = len;
    return GLIMP_OK;
}

static void remote_expect(struct bk_seq *b, uint32_t max_tokens, bool stop_blank)
{
    struct remote_seq *s = rs(b);
    if (max_tokens == 0) {
        stream_close(s);
        s->plan_max = rb(b->b)->p.step_hint;
        s->plan_blank = true;
        return;
    }
    s->plan_max = max_tokens;
    s->plan_blank = stop_blank;
}

/* The sampling fields of a streamed request: at most max_tokens, stopping
 * at "\n\n" or not, greedy or as the sequence samples. */
static void sampling_fields(struct remote_seq *s, json_t *j, uint32_t max_tokens, bool stop_blank,
                            bool greedy)
{
    json_object_set_new(j, "max_tokens", json_integer((json_int_t)max_tokens));
    json_object_set_new(j, "stream", json_true());
    json_object_set_new(j, "skip_special_tokens", json_false());
    json_object_set_new(j, "include_stop_str_in_output", json_true());
    json_object_set_new(j, "temperature", json_real(greedy ? 0.0 : (double)s->sp.temperature));
    if (stop_blank)
        json_object_set_new(j, "stop", json_pack("[s]", "\n\n"));
    if (s->sp.temperature > 0 && !greedy) {
        json_object_set_new(j, "top_p", json_real(s->sp.top_p));
        if (s->sp.top_k > 0)
            json_object_set_new(j, "top_k", json_integer(s->sp.top_k));
        if (s->sp.min_p > 0)
            json_object_set_new(j, "min_p", json_real(s->sp.min_p));
        /* a new stream per request, so the seed moves on with them */
        json_object_set_new(j, "seed",
                            json_integer((json_int_t)((s->sp.seed + s->n_req) & 0x7fffffffffffll)));
    }
}

/* Text mode: the sequence's text, split where the assistant's begins.
 * *think: -1 no chat (all of it in *user), 0 or 1 a chat with thinking off
 * or on. */
static int text_parts(struct remote_backend *r, const int32_t *ids, size_t n, char **user,
                      size_t *un, char **asst, size_t *an, int *think)
{
    size_t ucap = 0, acap = 0;
    *user = *asst = NULL;
    *un = *an = 0;
    *think = -1;
    bool in_asst = false;
    char piece[RP_MAX_TOKEN_BYTES];
    int rc = GLIMP_OK;
    for (size_t i = 0; i < n && rc == GLIMP_OK; i++) {
        int32_t id = ids[i];
        if (i == 0 && (id == PIECES_USER_THINK || id == PIECES_USER_NOTHINK)) {
            *think = id == PIECES_USER_THINK;
            continue;
        }
        if (id == PIECES_ASSISTANT && *think >= 0 && !in_asst) {
            in_asst = true;
            continue;
        }
        size_t len;
        if (!pieces_bytes(r->pc, id, piece, sizeof piece, &len))
            rc = glimp_error(GLIMP_ERR_INVALID, "remote: token %d is not in the table", (int)id);
        else if (in_asst)
            rc = buf_append(asst, an, &acap, piece, len);
        else
            rc = buf_append(user, un, &ucap, piece, len);
    }
    if (rc == GLIMP_OK && *think >= 0 && !in_asst)
        rc = glimp_error(GLIMP_ERR_INVALID, "remote: the chat prompt has no assistant's part");
    if (rc == GLIMP_OK && !*user)
        rc = buf_append(user, un, &ucap, "", 0);
    if (rc != GLIMP_OK) {
        free(*user);
        free(*asst);
        *user = *asst = NULL;
    }
    return rc;
}

/* Text mode: a chat whose assistant message the server continues (a
 * first request, with no assistant text yet, asks for the generation
 * prompt instead: a server cannot continue an empty message); or, for a
 * prompt that is no chat, a completion of the text. */
static json_t *text_request(struct remote_backend *r, const int32_t *ids, size_t n, bool *chat)
{
    char *user, *asst;
    size_t un, an;
    int think;
    if (text_parts(r, ids, n, &user, &un, &asst, &an, &think) != GLIMP_OK)
        return NULL;
    json_t *j = json_pack("{s:s}", "model", r->model);
    *chat = think >= 0;
    if (!*chat) {
        json_object_set_new(j, "prompt", jtext_new(user, un));
    } else {
        json_t *msgs = json_array();
        json_array_append_new(msgs, json_pack("{s:s,s:o}", "role", "user", "content",
                                              jtext_new(user, un)));
        if (an > 0)
            json_array_append_new(msgs, json_pack("{s:s,s:o}", "role", "assistant", "content",
                                                  jtext_new(asst, an)));
        json_object_set_new(j, "messages", msgs);
        json_object_set_new(j, "add_generation_prompt", json_boolean(an == 0));
        json_object_set_new(j, "continue_final_message", json_boolean(an > 0));
        json_object_set_new(j, "chat_template_kwargs",
                            json_pack("{s:b}", "enable_thinking", think));
    }
    free(user);
    free(asst);
    return j;
}

/* A request of ids[0..n) (model, and prompt or messages), and the
 * endpoint it goes to (under the API base); NULL when out of memory. */
static json_t *request_of(struct remote_backend *r, const int32_t *ids, size_t n,
                          const char **endpoint)
{
    *endpoint = "/completions";
    if (r->pc) {
        bool chat = false;
        json_t *j = text_request(r, ids, n, &chat);
        if (chat)
            *endpoint = "/chat/completions";
        return j;
    }
    json_t *prompt = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(prompt, json_integer(ids[i]));
    return json_pack("{s:s,s:o}", "model", r->model, "prompt", prompt);
}

/* The body of a streamed request from the sequence's tokens, with the
 * top-20 log-probabilities of each token written (as ids; or in text mode
 * as text, and on chats with each token's exact bytes). */
static char *stream_body(struct remote_seq *s, uint32_t max_tokens, bool stop_blank, bool greedy,
                         const char **endpoint)
{
    struct remote_backend *r = rb(s->base.b);
    json_t *j = request_of(r, s->ids.ids, s->ids.n, endpoint);
    if (!j)
        return NULL;
    if (!r->pc) {
        json_object_set_new(j, "logprobs", json_integer(BK_TOPK_MAX));
        json_object_set_new(j, "return_tokens_as_token_ids", json_true());
        json_object_set_new(j, "return_token_ids", json_true());
    } else if (json_object_get(j, "messages")) {
        json_object_set_new(j, "logprobs", json_true());
        json_object_set_new(j, "top_logprobs", json_integer(BK_TOPK_MAX));
    } else {
        json_object_set_new(j, "logprobs", json_integer(BK_TOPK_MAX));
    }
    sampling_fields(s, j, max_tokens, stop_blank, greedy);
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

/* Eager sync: a greedy one-token request nobody reads, of the tokens s
 * will read soon. */
static void remote_prefetch(struct bk_seq *b, const int32_t *ids, size_t n)
{
    struct remote_backend *r = rb(b->b);
    if (!r->pre || n == 0)
        return;
    const char *endpoint;
    json_t *j = request_of(r, ids, n, &endpoint);
    if (!j)
        return; /* a prefill is a hint: without memory, none */
    json_object_set_new(j, "max_tokens", json_integer(1));
    json_object_set_new(j, "temperature", json_real(0.0));
    json_object_set_new(j, "stream", json_false());
    char url[600];
    snprintf(url, sizeof url, "%s%s", r->url, endpoint);
    rpf_post(r->pre, rs(b), url, json_dumps(j, JSON_COMPACT));
    json_decref(j);
}

/* What a stream of s is for, in messages. */
static void stream_what(const struct remote_seq *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "a streamed completion of at most %u tokens%s after %zu tokens of context",
             s->s_max, s->s_blank ? " (to the step's end)" : "", s->ids.n);
}

/* Open a stream for at most max_tokens (stop at "\n\n" or not): start the
 * request and wait for its status; retried as the params say. */
static int stream_open_as(struct remote_seq *s, uint32_t max_tokens, bool stop_blank, bool greedy)
{
    struct remote_backend *r = rb(s->base.b);
    stream_close(s);
    if (r->pre) /* its eager sync, if one is in flight, fills the cache first */
        rpf_settle(r->pre, s);
    s->s_max = max_tokens;
    s->s_blank = stop_blank;
    const char *endpoint;
    char *body = stream_body(s, max_tokens, stop_blank, greedy, &endpoint);
    if (!body)
        return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    char url[600];
    snprintf(url, sizeof url, "%s%s", r->url, endpoint);
    char why[600] = "";
    long status = 0;
    int rc = GLIMP_OK;
    for (uint32_t attempt = 0;; attempt++) {
        if (attempt > 0) {
            stat_add(r, 0, 1, 0, 0, 0, 0);
            sleep_s(backoff(r, s->conn, attempt - 1));
        }
        if ((rc = rh_start(s->conn, url, body, r->api_key)) != GLIMP_OK)
            break;
        s->n_req++;
        stat_add(r, 1, 0, 0, 0, 0, 0);
        double t0 = glimp_now();
        enum rh_state st = RH_RUNNING;
        /* until the status line (and, for a failure, the whole error body) */
        for (;;) {
            bool got;
            st = rh_pump(s->conn, 0.25, &got);
            status = rh_status(s->conn);
            if (st != RH_RUNNING || (status == 200 && got))
                break;
            if (!rh_got_bytes(s->conn) && glimp_now() - t0 > r->p.first_byte_timeout_s) {
                snprintf(why, sizeof why, "no answer for %.1f s (the first-byte time-out)",
                         glimp_now() - t0);
                rh_abort(s->conn);
                st = RH_FAILED;
                break;
            }
            if (rh_got_bytes(s->conn) &&
                glimp_now() - t0 > r->p.first_byte_timeout_s + r->p.token_timeout_s) {
                snprintf(why, sizeof why, "the answer stalled (the time-outs)");
                rh_abort(s->conn);
                st = RH_FAILED;
                break;
            }
        }
        s->t_start = t0;
        size_t body_len;
        rh_body(s->conn, &body_len);
        /* a stream cut at once may still hold events: stream_fill reads
         * them, then opens it again from there */
        if (status == 200 && (st != RH_FAILED || body_len > 0)) {
            stat_add(r, 0, 0, 0, 0, glimp_now() - t0, 0);
            s->open = true;
            s->t_first = glimp_now();
            free(body);
            return GLIMP_OK;
        }
        if (st == RH_FAILED && !why[0])
            snprintf(why, sizeof why, "%s", rh_failure(s->conn));
        if (st == RH_DONE) {
            status_why(s->conn, status, why, sizeof why);
            if (!retryable_status(status))
                break;
        }
        if (attempt >= r->p.retries)
            break;
        why[0] = '\0';
    }
    free(body);
    if (rc != GLIMP_OK)
        return rc;
    char what[200];
    stream_what(s, what, sizeof what);
    return glimp_error(GLIMP_ERR_REMOTE, "remote %s (model %s): %s: %s%s", r->url, r->model,
                       what, why, retries_note(r, status));
}

static int stream_open(struct remote_seq *s, uint32_t max_tokens, bool stop_blank)
{
    return stream_open_as(s, max_tokens, stop_blank, false);
}

static int queue_push(struct remote_seq *s, const struct rp_tok *t)
{
    if (s->q_head > 0 && s->q_head == s->q_n)
        s->q_head = s->q_n = 0;
    if (s->q_n == s->q_cap) {
        size_t cap = s->q_cap ? s->q_cap * 2 : 16;
        if (cap > RP_MAX_TOKENS)
            return glimp_error(GLIMP_ERR_NOMEM, "remote: too many tokens unread");
        struct rp_tok *q = realloc(s->q, cap * sizeof *q);
        if (!q)
            return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
        s->q = q;
        s->q_cap = cap;
    }
    s->q[s->q_n++] = *t;
    return GLIMP_OK;
}

/* Take the count of tokens the server says the stream generated from the
 * event just parsed; fail when that is more than it sent: llama-server
 * holds back a token that ends inside a UTF-8 character and then streams
 * only the next token's id (or none, at the end), so the sequence would no
 * longer be what the server read. One token short is allowed when the turn
 * ended: a server may count the end-of-turn token it does not send. */
static int check_sent(struct remote_seq *s)
{
    struct remote_backend *r = rb(s->base.b);
    if (s->ans.n_generated > s->s_said)
        s->s_said = s->ans.n_generated;
    int64_t slack = s->ended && s->finish == RP_FIN_EOS;
    if (s->s_said <= (int64_t)s->s_got + slack)
        return GLIMP_OK;
    char what[200];
    stream_what(s, what, sizeof what);
    return glimp_error(GLIMP_ERR_REMOTE,
                       "remote %s (model %s): %s: the server generated %lld tokens and sent "
                       "the ids of %u (a token that ends inside a UTF-8 character is never "
                       "streamed by llama-server): the token ids are lost",
                       r->url, r->model, what, (long long)s->s_said, s->s_got);
}

/* Read the stream until a token is waiting or it ended (s->ended). A
 * stream that breaks (cut, stalled, malformed) before its end is opened
 * again from the tokens taken so far, as the retries allow. */
static int stream_fill(struct remote_seq *s, const atomic_int *cancel)
{
    struct remote_backend *r = rb(s->base.b);
    uint32_t broken = 0;
    char why[600];
    while (s->q_head == s->q_n && !s->ended) {
        why[0] = '\0';
        const char *data;
        size_t len;
        if (rh_sse_take(s->conn, &data, &len)) {
            int rc = parse_event(r, data, len, &s->ans);
            if (rc == GLIMP_OK && s->ans.has_error) {
                /* the server failed mid-stream: retried as a broken stream */
                snprintf(why, sizeof why, "the server failed: %s", s->ans.error);
            } else if (rc != GLIMP_OK) {
                snprintf(why, sizeof why, "%s", glimp_last_error());
            } else {
                for (size_t i = 0; i < s->ans.n && rc == GLIMP_OK; i++) {
                    if (s->ans.tok[i].id < 0 || (uint32_t)s->ans.tok[i].id >= s->base.b->n_vocab) {
                        snprintf(why, sizeof why,
                                 "the server sent token id %d, outside the "
                                 "vocabulary of %u",
                                 (int)s->ans.tok[i].id, s->base.b->n_vocab);
                        break;
                    }
                    rc = queue_push(s, &s->ans.tok[i]);
                }
                if (rc != GLIMP_OK)
                    return rc;
                if (!why[0]) {
                    s->s_got += (uint32_t)s->ans.n;
                    if (s->ans.finish != RP_FIN_NONE) {
                        s->finish = s->ans.finish;
                        s->ended = true;
                    }
                    if (s->ans.done_marker && !s->ended) {
                        s->finish = RP_FIN_OTHER;
                        s->ended = true;
                    }
                    if ((rc = check_sent(s)) != GLIMP_OK) {
                        stream_close(s);
                        return rc;
                    }
                    continue;
                }
            }
        } else {
            if (cancel && atomic_load(cancel))
                return GLIMP_OK;
            bool got;
            double t0 = glimp_now();
            enum rh_state st = RH_RUNNING;
            got = false;
            while (st == RH_RUNNING && !(cancel && atomic_load(cancel))) {
                st = rh_pump(s->conn, 0.25, &got);
                if (got)
                    break;
                /* the first event waits for the prefill (and a queue) */
                bool first = s->s_got == 0;
                double limit = first ? r->p.first_byte_timeout_s : r->p.token_timeout_s;
                if (glimp_now() - t0 > limit) {
                    snprintf(why, sizeof why, "no token for %.1f s (the %s time-out)",
                             glimp_now() - t0, first ? "first-token" : "between-tokens");
                    break;
                }
            }
            if (!why[0] && (got || st == RH_RUNNING))
                continue; /* new bytes (or cancelled: the loop head says) */
            if (!why[0]) {
                size_t n;
                rh_body(s->conn, &n);
                if (st == RH_DONE && n == 0)
                    snprintf(why, sizeof why, "the stream ended before its end was announced");
                else if (st == RH_DONE)
                    snprintf(why, sizeof why, "the stream ended in the middle of an event");
                else if (st == RH_FAILED)
                    snprintf(why, sizeof why, "%s", rh_failure(s->conn));
                else
                    continue;
            }
        }
        /* broken: open it again from what was taken */
        uint32_t left = s->s_max > s->s_got ? s->s_max - s->s_got : 0;
        bool blank = s->s_blank;
        if (left == 0) { /* every token came; only the end was lost */
            s->ended = true;
            s->finish = RP_FIN_LENGTH;
            break;
        }
        /* broken counts the failures in a row: each call that returns has
         * taken a token, so a stream cut again and again still ends */
        if (broken >= r->p.retries) {
            char what[200];
            stream_what(s, what, sizeof what);
            stream_close(s);
            return glimp_error(GLIMP_ERR_REMOTE, "remote %s (model %s): %s: %s%s", r->url, r->model,
                               what, why, r->p.retries ? " (retries used up)" : "");
        }
        broken++;
        stat_add(r, 0, 1, 0, 0, 0, 0);
        sleep_s(backoff(r, NULL, broken - 1));
        /* the tokens queued and not taken are dropped: they come again */
        s->q_head = s->q_n = 0;
        int rc = stream_open(s, left, blank);
        if (rc != GLIMP_OK)
            return rc;
    }
    return GLIMP_OK;
}

static int remote_next(struct bk_seq *b, uint32_t k, struct bk_dist *d)
{
    struct remote_seq *s = rs(b);
    d->logits = NULL;
    d->k = 0;
    if (s->ids.n == 0)
        return glimp_error(GLIMP_ERR_INVALID, "remote: no next-token distribution (nothing read)");
    if (s->ids.n >= s->n_ctx)
        return GLIMP_OK; /* the context is full: nothing can be asked (k 0); generate says so */
    const bool apart = rb(b->b)->p.probe_request;
    if (!s->open) {
        uint32_t room = s->n_ctx - (uint32_t)s->ids.n;
        uint32_t max = s->plan_max < room ? s->plan_max : room;
        int rc = apart ? stream_open_as(s, 1, false, true)
                       : stream_open(s, max ? max : 1, s->plan_blank);
        if (rc != GLIMP_OK)
            return rc;
    }
    int rc = stream_fill(s, NULL);
    if (rc != GLIMP_OK)
        return rc;
    if (s->q_head == s->q_n)
        return GLIMP_OK;                 /* the stream ended with no token: nothing known (k 0) */
    s->plan_max = rb(b->b)->p.step_hint; /* the plan was for this stream */
    s->plan_blank = true;
    const struct rp_tok *t = &s->q[s->q_head];
    uint32_t n = t->k < k ? t->k : k;
    for (uint32_t i = 0; i < n; i++) {
        d->id[i] = t->top_id[i];
        d->logprob[i] = t->top_lp[i];
    }
    d->k = n;
    if (apart) /* the step will be a request of its own */
        stream_close(s);
    return GLIMP_OK;
}

/* Entropy over the top k of a streamed token, renormalised. */
static double tok_entropy(const struct rp_tok *t, uint32_t k)
{
    struct bk_dist d = {.logits = NULL, .k = t->k};
    memcpy(d.id, t->top_id, sizeof d.id);
    memcpy(d.logprob, t->top_lp, sizeof d.logprob);
    return bk_dist_entropy(&d, 0, k ? k : BK_TOPK_MAX);
}

/* Read a stream that stopped at the blank line to its end, so that its
 * connection can be kept: a second or so at most, and not one token more
 * (a server that does not stop there is cut off). */
static void stream_drain(struct remote_seq *s)
{
    struct remote_backend *r = rb(s->base.b);
    double t0 = glimp_now();
    while (glimp_now() - t0 < 1.0) {
        const char *data;
        size_t len;
        while (rh_sse_take(s->conn, &data, &len)) {
            if (parse_event(r, data, len, &s->ans) != GLIMP_OK ||
                s->ans.has_error || s->ans.n > 0)
                return;
            if (s->ans.n_generated > s->s_said)
                s->s_said = s->ans.n_generated;
        }
        bool got;
        if (rh_pump(s->conn, 0.05, &got) != RH_RUNNING)
            return;
    }
}

static int remote_generate(struct bk_seq *b, const struct bk_gen_rule *r, struct bk_gen_out *o)
{
    struct remote_seq *s = rs(b);
    struct glimp_backend *be = b->b;
    char piece[RP_MAX_TOKEN_BYTES];
    uint32_t empty_streams = 0;
    int rc = GLIMP_OK;
    while (o->n < r->max_tokens && !o->end && !o->stopped) {
        if (r->cancel && atomic_load(r->cancel)) {
            o->cancelled = true;
            break;
        }
        if (s->q_head == s->q_n && (!s->open || s->ended)) {
            /* nothing waiting and nothing coming: open a stream for the rest */
            if (s->open && s->ended && s->finish == RP_FIN_EOS) {
                o->eos = true;
                break;
            }
            if (s->ids.n >= s->n_ctx) {
                o->ctx_full = true;
                break;
            }
            if (s->open && s->ended && s->s_got == 0 && ++empty_streams > 1) {
                rc = glimp_error(GLIMP_ERR_REMOTE,
                                 "remote %s (model %s): the server ended two streams without a "
                                 "token and without ending the turn",
                                 rb(be)->url, rb(be)->model);
                break;
            }
            uint32_t room = s->n_ctx - (uint32_t)s->ids.n;
            uint32_t want = r->max_tokens - o->n;
            /* every segmentation ends a step at a blank line at the latest (line
             * and marker end it earlier, on this side) */
            if ((rc = stream_open(s, want < room ? want : room, r->seg != NULL)) != GLIMP_OK)
                break;
        }
        if ((rc = stream_fill(s, r->cancel)) != GLIMP_OK)
            break;
        if (s->q_head == s->q_n)
            continue; /* ended (looked at above) or cancelled */
        const struct rp_tok *t = &s->q[s->q_head];
        if (remote_is_eog(be, t->id)) {
            o->eos = true;
            s->q_head++;
            break;
        }
        if (s->ids.n >= s->n_ctx) {
            o->ctx_full = true;
            break;
        }
        double ent = r->want_entropy ? tok_entropy(t, r->entropy_topk) : 0.0;
        double lp = r->want_logprob ? t->logprob : 0.0;
        size_t plen = 0;
        int32_t id = t->id;
        s->q_head++;
        if ((rc = remote_token_bytes(be, id, piece, sizeof piece, &plen)) != GLIMP_OK ||
            (rc = glimp_tokens_push(&s->ids, &id, 1)) != GLIMP_OK ||
            (rc = bk_gen_keep(o, r, id, piece, plen, ent, lp)) != GLIMP_OK)
            break;
    }
    /* what the stream holds past the call is not the sequence's: a stream
     * asked to stop at the blank line that did, or one that gave every
     * token it was opened for (llama-server sends its end in an event of
     * its own), is read to its end (the connection is then kept), any
     * other is closed */
    if (s->open) {
        if (rc == GLIMP_OK && s->q_head == s->q_n &&
            ((o->end && s->s_blank) || s->s_got >= s->s_max)) {
            stream_drain(s);
            rc = check_sent(s);
        }
        stream_close(s);
    }
    return rc;
}

static void remote_free(struct glimp_backend *b)
{
    struct remote_backend *r = rb(b);
    rpf_free(r->pre);
    pieces_free(r->pc);
    glimp_tokenizer_free(r->tok);
    glimp_gguf_close(r->gguf);
    if (r->api_key) {
        memset(r->api_key, 0, strlen(r->api_key));
        free(r->api_key);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static const struct bk_ops remote_ops = {
    .free = remote_free,
    .prompt_tokens = remote_prompt_tokens,
    .tokenize = remote_tokenize,
    .is_eog = remote_is_eog,
    .vocab_hash = remote_vocab_hash,
    .find_token = remote_find_token,
    .token_bytes = remote_token_bytes,
    .seq_init = remote_seq_init,
    .seq_free = remote_seq_free,
    .seq_len = remote_seq_len,
    .seq_n_ctx = remote_seq_n_ctx,
    .append = remote_append,
    .truncate = remote_truncate,
    .next = remote_next,
    .generate = remote_generate,
    .expect = remote_expect,
    .prefetch = remote_prefetch,
};

/* ------------------------------------------------------------ opening */

/* A text the vocabulary check tokenizes on both sides: words, digits,
 * blank lines, non-ASCII, the chat template's markers. */
static const char probe_text[] =
    "<|im_start|>user\nHow many positive divisors does 2024 have? Let's think.\n\n"
    "So 2024 = 2^3 * 11 * 23, d(n) = (3+1)(1+1)(1+1) = 16. Wait, \xc3\xa9t\xc3\xa9 "
    "\xe4\xbd\xa0\xe5\xa5\xbd  \t tabs<|im_end|>\n<think>\n\n</think>\n\n";

/* Check the vocabulary against the server's /tokenize: *agrees, *n_ctx
 * (its max_model_len, 0 when not said); *why says what was found. */
static int check_vocab(struct remote_backend *r, struct rh_conn *c, bool *agrees, uint32_t *n_ctx,
                       char *why, size_t cap)
{
    *agrees = false;
    *n_ctx = 0;
    struct glimp_tokens mine = {0}, theirs = {0};
    int rc = glimp_tokenize(r->tok, probe_text, strlen(probe_text), true, &mine);
    if (rc != GLIMP_OK)
        return rc;
    json_t *j = json_pack("{s:s,s:s,s:s,s:b,s:b}", "model", r->model, "prompt", probe_text,
                          "content", probe_text, "add_special_tokens", 0, "add_special", 0);
    json_object_set_new(j, "parse_special", json_true());
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char url[600];
    snprintf(url, sizeof url, "%s/tokenize", r->root);
    /* one try: a server without /tokenize says 404 */
    uint32_t retries = r->p.retries;
    r->p.retries = 0;
    rc = body ? call(r, c, url, body, "checking the vocabulary") : GLIMP_ERR_NOMEM;
    r->p.retries = retries;
    free(body);
    if (rc != GLIMP_OK) {
        snprintf(why, cap, "its /tokenize did not answer (%s)", glimp_last_error());
        glimp_tokens_free(&mine);
        return GLIMP_OK;
    }
    size_t n;
    const char *b = rh_body(c, &n);
    rc = rp_parse_tokenize(b, n, &theirs, n_ctx);
    if (rc == GLIMP_OK) {
        *agrees = theirs.n == mine.n && !memcmp(theirs.ids, mine.ids, mine.n * sizeof *mine.ids);
        if (*agrees)
            snprintf(why, cap, "its /tokenize agrees with the vocabulary of %s", r->p.vocab);
        else
            snprintf(why, cap,
                     "its /tokenize disagrees with the vocabulary of %s (%zu tokens "
                     "against %zu)",
                     r->p.vocab, theirs.n, mine.n);
    } else {
        snprintf(why, cap, "its /tokenize answer made no sense (%s)", glimp_last_error());
        rc = GLIMP_OK;
    }
    glimp_tokens_free(&mine);
    glimp_tokens_free(&theirs);
    return rc;
}

/* llama-server's context per slot, from /props (0 when it does not say):
 * its /tokenize gives no max_model_len, and a prompt past its context is
 * cut silently (context shift), not refused. One try; a failure is no
 * answer. */
static uint32_t props_n_ctx(struct remote_backend *r, struct rh_conn *c)
{
    char url[600];
    snprintf(url, sizeof url, "%s/props", r->root);
    uint32_t retries = r->p.retries, n = 0;
    r->p.retries = 0;
    if (call(r, c, url, NULL, "reading its context") == GLIMP_OK) {
        size_t len;
        const char *b = rh_body(c, &len);
        n = rp_parse_props(b, len);
    }
    r->p.retries = retries;
    return n;
}

/* Text mode continues the assistant's message: where the server shows how
 * it renders a chat (llama-server's /apply-template), check that a final
 * assistant message is left open rather than closed and a new turn opened
 * (llama-server before its assistant prefill). GLIMP_ERR_UNSUPPORTED
 * naming the server when it is closed; nothing when the server has no
 * such endpoint. */
static int check_continues(struct remote_backend *r, struct rh_conn *c)
{
    static const char mark[] = "glimp-continues-here";
    json_t *j = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s}],s:b,s:b}", "model", r->model, "messages",
                          "role", "user", "content", "Hi.", "role", "assistant", "content", mark,
                          "continue_final_message", 1, "add_generation_prompt", 0);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    char url[600];
    snprintf(url, sizeof url, "%s/apply-template", r->root);
    uint32_t retries = r->p.retries;
    r->p.retries = 0;
    int rc = body ? call(r, c, url, body, "checking that it continues a message") : GLIMP_ERR_NOMEM;
    r->p.retries = retries;
    free(body);
    if (rc == GLIMP_ERR_NOMEM)
        return rc;
    if (rc != GLIMP_OK)
        return GLIMP_OK; /* no such endpoint: nothing to check */
    size_t n;
    const char *b = rh_body(c, &n);
    json_t *root = json_loadb(b, n, 0, NULL);
    const char *prompt = json_string_value(json_object_get(root, "prompt"));
    size_t pn = prompt ? strlen(prompt) : 0, mn = strlen(mark);
    bool open = pn >= mn && !memcmp(prompt + pn - mn, mark, mn);
    bool known = prompt != NULL;
    json_decref(root);
    if (!known || open)
        return GLIMP_OK;
    return glimp_error(GLIMP_ERR_UNSUPPORTED,
                       "remote %s (model %s): text mode needs the server to continue the "
                       "assistant's message, and its /apply-template shows it closes the message "
                       "and opens a new turn (llama-server before assistant prefill): give a "
                       "local GGUF of the server's model with --slm-vocab or --llm-vocab, so that "
                       "token ids are sent",
                       r->url, r->model);
}

/* Split url into the API base (.../v1) and the server's root. */
static int split_url(struct remote_backend *r, const char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n + 4 >= sizeof r->url)
        return glimp_error(GLIMP_ERR_INVALID, "remote: the URL is too long");
    const char *host = strstr(url, "://") + 3;
    if ((size_t)(host - url) >= n || strchr(host, ' ') || strchr(host, '@'))
        return glimp_error(GLIMP_ERR_INVALID,
                           "remote: '%.*s' is not a server's URL "
                           "(http://HOST:PORT[/v1])",
                           (int)(n < 200 ? n : 200), url);
    bool v1 = n >= 3 && !memcmp(url + n - 3, "/v1", 3);
    memcpy(r->root, url, v1 ? n - 3 : n);
    r->root[v1 ? n - 3 : n] = '\0';
    int w = snprintf(r->url, sizeof r->url, "%s/v1", r->root);
    return w > 0 && (size_t)w < sizeof r->url
               ? GLIMP_OK
               : glimp_error(GLIMP_ERR_INVALID, "remote: the URL is too long");
}

int glimp_backend_remote_open(const struct glimp_remote_params *p, struct glimp_backend **out)
{
    if (!p || !out || !glimp_is_url(p->url))
        return glimp_error(GLIMP_ERR_INVALID, "remote: a URL (http:// or https://) is needed");
    *out = NULL;
    if (p->connect_timeout_s <= 0 || p->first_byte_timeout_s <= 0 || p->token_timeout_s <= 0 ||
        p->backoff_s < 0 || p->step_hint == 0)
        return glimp_error(GLIMP_ERR_INVALID, "remote: time-outs and the step hint must be > 0");
    struct remote_backend *r = calloc(1, sizeof *r);
    if (!r)
        return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    pthread_mutex_init(&r->mu, NULL);
    r->p = *p;
    r->p.url = r->p.model = r->p.api_key = NULL;
    struct rh_conn *c = NULL;
    int rc = split_url(r, p->url);
    if (rc == GLIMP_OK && p->api_key && !(r->api_key = strdup(p->api_key)))
        rc = glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    if (rc == GLIMP_OK)
        rc = rh_open(p->connect_timeout_s, &c);
    if (rc == GLIMP_OK && p->model) {
        if (strlen(p->model) >= sizeof r->model)
            rc = glimp_error(GLIMP_ERR_INVALID, "remote: the model name is too long");
        else
            snprintf(r->model, sizeof r->model, "%s", p->model);
    } else if (rc == GLIMP_OK) {
        char url[600];
        snprintf(url, sizeof url, "%s/models", r->url);
        rc = call(r, c, url, NULL, "listing its models");
        if (rc == GLIMP_OK) {
            size_t n;
            const char *b = rh_body(c, &n);
            rc = rp_parse_models(b, n, r->model, sizeof r->model);
            if (rc != GLIMP_OK)
                glimp_error_prefix(rc, "%s: ", r->url);
        }
    }
    char why[700] = "";
    bool agrees = false;
    uint32_t n_ctx = 0;
    if (rc == GLIMP_OK && p->vocab) {
        rc = glimp_gguf_open(p->vocab, &r->gguf);
        if (rc == GLIMP_OK)
            rc = glimp_tokenizer_load(r->gguf, NULL, &r->tok);
        if (rc == GLIMP_OK)
            rc = glimp_chat_detect(r->gguf, &r->tmpl);
        r->p.vocab = p->vocab;
        if (rc == GLIMP_OK)
            rc = check_vocab(r, c, &agrees, &n_ctx, why, sizeof why);
        if (rc == GLIMP_OK && !agrees && p->vocab_checked)
            rc = glimp_error(GLIMP_ERR_INVALID, "remote %s (model %s): cannot send token ids: %s",
                             r->url, r->model, why);
    } else if (rc == GLIMP_OK) {
        snprintf(why, sizeof why, "no vocabulary given");
    }
    if (rc == GLIMP_OK && n_ctx == 0)
        n_ctx = props_n_ctx(r, c);
    if (rc == GLIMP_OK && !agrees)
        rc = check_continues(r, c);
    rh_close(c);
    /* text mode: no vocabulary, or one the server does not agree with */
    if (rc == GLIMP_OK && !agrees) {
        glimp_tokenizer_free(r->tok);
        glimp_gguf_close(r->gguf);
        r->tok = NULL;
        r->gguf = NULL;
        r->p.vocab = NULL;
        rc = pieces_new(&r->pc);
    }
    if (rc == GLIMP_OK && !p->no_eager_sync)
        rc = rpf_init(r->api_key, p->connect_timeout_s, p->first_byte_timeout_s, &r->pre);
    if (rc != GLIMP_OK) {
        remote_free(&r->base);
        return rc;
    }
    r->base.ops = &remote_ops;
    int w;
    if (r->pc) {
        /* lengths count bytes sent and tokens written: at most a few per
         * token of the server's, whose own limit is the one that holds */
        r->n_ctx = p->n_ctx ? p->n_ctx : 4 * (n_ctx ? n_ctx : 32768);
        r->base.caps = 0;
        r->base.n_vocab = r->base.n_logits = PIECES_MAX;
        r->eos = r->eot = -1;
        r->vocab_hash = 0;
        w = snprintf(r->base.desc, sizeof r->base.desc,
                     "remote %s model %s, text (%s: chats continued, each model tokenizing its "
                     "own text), context %u bytes and tokens%s",
                     r->url, r->model, why, r->n_ctx, r->pre ? ", eager sync" : "");
    } else {
        r->n_ctx = p->n_ctx ? p->n_ctx : n_ctx ? n_ctx : 32768;
        r->base.caps = BK_CAP_EXACT_IDS;
        r->base.n_vocab = glimp_tokenizer_n_vocab(r->tok);
        r->base.n_logits = r->base.n_vocab;
        r->eos = glimp_tokenizer_eos(r->tok);
        r->eot = glimp_tokenizer_eot(r->tok);
        r->vocab_hash = bk_vocab_hash(r->tok);
        w = snprintf(r->base.desc, sizeof r->base.desc,
                     "remote %s model %s, token ids (checked through /tokenize), context %u%s",
                     r->url, r->model, r->n_ctx, r->pre ? ", eager sync" : "");
    }
    if (w >= (int)sizeof r->base.desc)
        memcpy(r->base.desc + sizeof r->base.desc - 4, "...", 4);
    *out = &r->base;
    return GLIMP_OK;
}

void glimp_backend_remote_stats(const struct glimp_backend *b, struct glimp_remote_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!glimp_backend_is_remote(b))
        return;
    struct remote_backend *r = rb(b);
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    pthread_mutex_unlock(&r->mu);
    if (r->pre) {
        struct rpf_stats ps;
        rpf_stats(r->pre, &ps);
        out->prefills = ps.sent;
        out->prefills_failed = ps.failed;
        out->prefill_s = ps.busy_s;
        out->prefill_wait_s = ps.waited_s;
    }
}

bool glimp_backend_is_remote(const struct glimp_backend *b)
{
    return b && b->ops == &remote_ops;
}

int glimp_backend_open(const char *path_or_url, const struct glimp_model_params *mp,
                       const struct glimp_remote_params *rp, struct glimp_backend **out)
{
    if (!glimp_is_url(path_or_url))
        return glimp_backend_local_open(path_or_url, mp, out);
    struct glimp_remote_params p = rp ? *rp : glimp_remote_default_params();
    p.url = path_or_url;
    return glimp_backend_remote_open(&p, out);
}
