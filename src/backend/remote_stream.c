/* remote_stream.c - a remote sequence's streamed request: the body (token
 * ids, or text mode's chat or text), opening it with retries, reading its
 * events into the sequence's queue (a cut stream resumes from the tokens
 * taken), checking the server sent every token it generated, draining. */
#include "backend/pieces.h"
#include "backend/remote_internal.h"
#include "backend/remote_prefill.h"

#include "core/error.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One answer or stream event, its tokens named as the mode says. */
static int parse_event(struct remote_backend *r, const char *data, size_t len,
                       struct rp_answer *out)
{
    return r->pc ? rp_parse_answer_text(data, len, resolve_text, r, out)
                 : rp_parse_answer(data, len, resolve_text, r, out);
}

/* Close the stream in flight (the server aborts its request). */
void remote_stream_close(struct remote_seq *s)
{
    if (s->open) {
        bool cut = rh_active(s->conn);
        if (s->t_first > 0)
            remote_stat_add(rb(s->base.b), 0, 0, cut, 0, 0, glimp_now() - s->t_first);
        else if (cut)
            remote_stat_add(rb(s->base.b), 0, 0, 1, 0, 0, 0);
        rh_abort(s->conn);
    }
    s->open = s->ended = false;
    s->q_head = s->q_n = 0;
    s->s_got = 0;
    s->s_said = -1;
    s->t_first = 0;
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

/* A request of ids[0..n) (model, and prompt or messages), and the
 * endpoint it goes to (under the API base); NULL when out of memory. */
json_t *remote_request_of(struct remote_backend *r, const int32_t *ids, size_t n,
                          const char **endpoint)
{
    *endpoint = "/completions";
    if (r->pc) {
        bool chat = false;
        json_t *j = remote_text_request(r, ids, n, &chat);
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
    json_t *j = remote_request_of(r, s->ids.ids, s->ids.n, endpoint);
    if (!j)
        return NULL;
    if (!strcmp(*endpoint, "/chat/completions")) {
        json_object_set_new(j, "logprobs", json_true());
        json_object_set_new(j, "top_logprobs", json_integer(BK_TOPK_MAX));
    } else {
        json_object_set_new(j, "logprobs", json_integer(BK_TOPK_MAX));
    }
    if (!r->pc) {
        json_object_set_new(j, "return_tokens_as_token_ids", json_true());
        json_object_set_new(j, "return_token_ids", json_true());
    }
    sampling_fields(s, j, max_tokens, stop_blank, greedy);
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

/* What a stream of s is for, in messages. */
static void stream_what(const struct remote_seq *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "a streamed completion of at most %u tokens%s after %zu tokens of context",
             s->s_max, s->s_blank ? " (to the step's end)" : "", s->ids.n);
}

/* Open a stream for at most max_tokens (stop at "\n\n" or not): start the
 * request and wait for its status; retried as the params say. */
int remote_stream_open_as(struct remote_seq *s, uint32_t max_tokens, bool stop_blank, bool greedy)
{
    struct remote_backend *r = rb(s->base.b);
    remote_stream_close(s);
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
            remote_stat_add(r, 0, 1, 0, 0, 0, 0);
            remote_sleep_s(remote_backoff(r, s->conn, attempt - 1));
        }
        if ((rc = rh_start(s->conn, url, body, r->api_key)) != GLIMP_OK)
            break;
        s->n_req++;
        remote_stat_add(r, 1, 0, 0, 0, 0, 0);
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
        /* a stream cut at once may still hold events: remote_stream_fill reads
         * them, then opens it again from there */
        if (status == 200 && (st != RH_FAILED || body_len > 0)) {
            remote_stat_add(r, 0, 0, 0, 0, glimp_now() - t0, 0);
            s->open = true;
            s->t_first = glimp_now();
            free(body);
            return GLIMP_OK;
        }
        if (st == RH_FAILED && !why[0])
            snprintf(why, sizeof why, "%s", rh_failure(s->conn));
        if (st == RH_DONE) {
            remote_status_why(s->conn, status, why, sizeof why);
            if (!remote_retryable_status(status))
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
                       what, why, remote_retries_note(r, status));
}

int remote_stream_open(struct remote_seq *s, uint32_t max_tokens, bool stop_blank)
{
    return remote_stream_open_as(s, max_tokens, stop_blank, false);
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
int remote_check_sent(struct remote_seq *s)
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
int remote_stream_fill(struct remote_seq *s, const atomic_int *cancel)
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
                    if ((rc = remote_check_sent(s)) != GLIMP_OK) {
                        remote_stream_close(s);
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
            remote_stream_close(s);
            return glimp_error(GLIMP_ERR_REMOTE, "remote %s (model %s): %s: %s%s", r->url, r->model,
                               what, why, r->p.retries ? " (retries used up)" : "");
        }
        broken++;
        remote_stat_add(r, 0, 1, 0, 0, 0, 0);
        remote_sleep_s(remote_backoff(r, NULL, broken - 1));
        /* the tokens queued and not taken are dropped: they come again */
        s->q_head = s->q_n = 0;
        int rc = remote_stream_open(s, left, blank);
        if (rc != GLIMP_OK)
            return rc;
    }
    return GLIMP_OK;
}

/* Read a stream that stopped at the blank line to its end, so that its
 * connection can be kept: a second or so at most, and not one token more
 * (a server that does not stop there is cut off). */
void remote_stream_drain(struct remote_seq *s)
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
