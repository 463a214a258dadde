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
 * server and what was in flight.
 *
 * This file is the model interface: the vocabulary, sequences, next,
 * generate and the ops table. Opening and the start-up checks are in
 * remote_open.c, requests answered whole and the retry rules in
 * remote_call.c, a sequence's stream in remote_stream.c, text mode's
 * prompts and requests in remote_text.c; remote_internal.h has what they
 * share. */
#include "backend/pieces.h"
#include "backend/remote_internal.h"
#include "backend/remote_prefill.h"

#include "core/error.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the vocabulary */

static int remote_prompt_tokens(struct glimp_backend *b, const struct bk_prompt *p,
                                struct glimp_tokens *out)
{
    struct remote_backend *r = rb(b);
    if (r->pc)
        return remote_text_prompt(p, out);
    return bk_prompt_ids(r->tok, &r->tmpl, p, out);
}

static int remote_tokenize(struct glimp_backend *b, const char *text, size_t len,
                           struct glimp_tokens *out)
{
    if (!rb(b)->pc)
        return glimp_tokenize(rb(b)->tok, text, len, true, out);
    return remote_text_tokenize(text, len, out);
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

static void remote_seq_free(struct bk_seq *b)
{
    if (!b)
        return;
    struct remote_seq *s = rs(b);
    if (rb(b->b)->pre)
        rpf_settle(rb(b->b)->pre, s);
    remote_stream_close(s);
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
    remote_stream_close(s);
    return glimp_tokens_push(&s->ids, ids, n);
}

static int remote_truncate(struct bk_seq *b, uint32_t len)
{
    struct remote_seq *s = rs(b);
    if (len > s->ids.n)
        return glimp_error(GLIMP_ERR_INVALID, "remote: truncate to %u of %zu tokens", len,
                           s->ids.n);
    remote_stream_close(s);
    s->ids.n = len;
    return GLIMP_OK;
}

static void remote_expect(struct bk_seq *b, uint32_t max_tokens, bool stop_blank)
{
    struct remote_seq *s = rs(b);
    if (max_tokens == 0) {
        remote_stream_close(s);
        s->plan_max = rb(b->b)->p.step_hint;
        s->plan_blank = true;
        return;
    }
    s->plan_max = max_tokens;
    s->plan_blank = stop_blank;
}

/* Eager sync: a greedy one-token request nobody reads, of the tokens s
 * will read soon. */
static void remote_prefetch(struct bk_seq *b, const int32_t *ids, size_t n)
{
    struct remote_backend *r = rb(b->b);
    if (!r->pre || n == 0)
        return;
    const char *endpoint;
    json_t *j = remote_request_of(r, ids, n, &endpoint);
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
        int rc = apart ? remote_stream_open_as(s, 1, false, true)
                       : remote_stream_open(s, max ? max : 1, s->plan_blank);
        if (rc != GLIMP_OK)
            return rc;
    }
    int rc = remote_stream_fill(s, NULL);
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
        remote_stream_close(s);
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
            if ((rc = remote_stream_open(s, want < room ? want : room, r->seg != NULL)) != GLIMP_OK)
                break;
        }
        if ((rc = remote_stream_fill(s, r->cancel)) != GLIMP_OK)
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
            remote_stream_drain(s);
            rc = remote_check_sent(s);
        }
        remote_stream_close(s);
    }
    return rc;
}

void remote_free(struct glimp_backend *b)
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

const struct bk_ops remote_ops = {
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
