/* generate.c - a job's generation on its worker: the router, a step at a
 * time with each token streamed (routed mode), or one model token by token
 * with logprobs and exact ids (single-model mode, model slm or llm). Every
 * token goes through one emitter that splits thinking from the answer at
 * </think>, holds back bytes that may still turn into a stop string or
 * complete a UTF-8 character, and writes the SSE chunks or, at the end, the
 * one JSON answer. */
#include "server/internal.h"

#include "core/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ text buffers */

struct tbuf {
    char *p;
    size_t n, cap;
    size_t sent; /* bytes already streamed */
};

static bool tbuf_add(struct tbuf *b, const char *s, size_t n)
{
    return buf_append(&b->p, &b->n, &b->cap, s, n) == GLIMP_OK;
}

static void tbuf_cut(struct tbuf *b, size_t n)
{
    if (n < b->n) {
        b->n = n;
        b->p[n] = '\0';
    }
}

/* The longest suffix of s[0..n) that is a proper prefix of pat. */
static size_t partial_suffix(const char *s, size_t n, const char *pat)
{
    size_t m = strlen(pat);
    for (size_t k = m - 1 < n ? m - 1 : n; k > 0; k--)
        if (!memcmp(s + n - k, pat, k))
            return k;
    return 0;
}

/* Bytes at the end of s[0..n) that begin a UTF-8 character still to be
 * completed by what comes next (0 when the end is clean or hopeless). */
static size_t utf8_tail(const char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        unsigned char c = (unsigned char)s[n - k];
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte: look further back */
        size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
        if (need > k && glimp_utf8_bad_len(s + n - k, k) == k)
            return k;
        return 0;
    }
    return 0;
}

static void *find_mem(const char *h, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0 || nn > hn)
        return NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (h[i] == needle[0] && !memcmp(h + i, needle, nn))
            return (void *)(h + i);
    return NULL;
}

/* ------------------------------------------------------------ the emitter */

struct lp_entry {
    int32_t id;
    double logprob;
    uint32_t k;
    int32_t top_id[SRV_MAX_LOGPROBS]; /* most likely first */
    double top_lp[SRV_MAX_LOGPROBS];
    size_t offset; /* text offset of the token */
    /* chat: the reasoning's and the content's length once the token's text
     * is in (less what a tag or stop string cut out of it), so that a
     * stream sends the entry with the chunk that carries its last byte */
    size_t r_end, c_end;
};

struct emitter {
    struct srv_job *j;
    bool chat, stream, split_think;
    struct tbuf reasoning, content;
    bool in_think;    /* bytes go to reasoning */
    bool open_checked; /* a leading <think> was looked for */
    size_t stop_hold; /* longest stop string - 1 */
    bool stopped;     /* a stop string or max_tokens ended it */
    bool stop_string; /* ... a stop string */
    const char *stop_match;
    uint64_t n_tokens, n_reasoning_tokens, max_tokens;
    bool first_chunk_sent;
    int64_t last_step; /* the step of the last chunk (-1: none yet) */
    /* one model writing: its ids and logprobs */
    struct glimp_tokens ids; /* generated ids (return_token_ids) */
    struct lp_entry *lp;
    size_t n_lp, cap_lp, lp_sent;
    bool oom;
    uint64_t gen_by_writer[2];
};

static struct srv_model *text_model(struct srv_job *j)
{
    struct srv_server *s = j->srv;
    if (j->model)
        return j->model;
    return &s->m[j->params.answer_model == GLIMP_WRITER_SLM ? 0 : 1];
}

#define PIECE_MAX 1024 /* bytes of one token's text */

/* A token's exact bytes (possibly part of a UTF-8 character); their count,
 * 0 when the backend has none. */
static size_t token_piece(struct emitter *e, int32_t id, char piece[PIECE_MAX])
{
    size_t len = 0;
    struct srv_model *m = text_model(e->j);
    if (m->b->ops->token_bytes(m->b, id, piece, PIECE_MAX, &len) != GLIMP_OK)
        len = 0;
    return len;
}

static json_t *token_string(struct emitter *e, int32_t id)
{
    if (e->j->req.tokens_as_ids) {
        char buf[32];
        snprintf(buf, sizeof buf, "token_id:%d", (int)id);
        return json_string(buf);
    }
    char piece[PIECE_MAX];
    size_t len = token_piece(e, id, piece);
    return jtext_new(piece, len);
}

/* A log-probability as vLLM reports it: -inf is -9999.0. */
static json_t *lp_number(double x)
{
    return json_real(isfinite(x) ? x : -9999.0);
}

/* One token in the chat shape: {"token", "logprob", "bytes"}; token is the
 * text (what is not UTF-8 as U+FFFD), bytes the exact bytes. */
static json_t *chat_token_json(struct emitter *e, int32_t id, double logprob)
{
    char piece[PIECE_MAX];
    size_t len = token_piece(e, id, piece);
    json_t *bytes = json_array();
    for (size_t i = 0; i < len; i++)
        json_array_append_new(bytes, json_integer((unsigned char)piece[i]));
    return json_pack("{s:o,s:o,s:o}", "token", jtext_new(piece, len), "logprob",
                     lp_number(logprob), "bytes", bytes);
}

/* The logprobs object of entries [from, to): for chat, OpenAI's
 * {"content": [{token, logprob, bytes, top_logprobs: [{token, logprob,
 * bytes}, ...]}]}; for completions the legacy {tokens, token_logprobs,
 * top_logprobs, text_offset}. Top entries most likely first, as the
 * backend gives them. */
static json_t *logprobs_json(struct emitter *e, size_t from, size_t to)
{
    if (e->chat) {
        json_t *content = json_array();
        for (size_t i = from; i < to; i++) {
            const struct lp_entry *l = &e->lp[i];
            json_t *t = chat_token_json(e, l->id, l->logprob), *top = json_array();
            for (uint32_t k = 0; k < l->k; k++)
                json_array_append_new(top, chat_token_json(e, l->top_id[k], l->top_lp[k]));
            json_object_set_new(t, "top_logprobs", top);
            json_array_append_new(content, t);
        }
        return json_pack("{s:o}", "content", content);
    }
    json_t *tokens = json_array(), *lps = json_array(), *tops = json_array(),
           *offs = json_array();
    for (size_t i = from; i < to; i++) {
        const struct lp_entry *l = &e->lp[i];
        json_array_append_new(tokens, token_string(e, l->id));
        json_array_append_new(lps, lp_number(l->logprob));
        json_t *top = json_object();
        for (uint32_t k = 0; k < l->k; k++) {
            json_t *key = token_string(e, l->top_id[k]);
            const char *ks = json_string_value(key);
            if (ks && !json_object_get(top, ks))
                json_object_set_new(top, ks, lp_number(l->top_lp[k]));
            json_decref(key);
        }
        json_array_append_new(tops, top);
        json_array_append_new(offs, json_integer((json_int_t)l->offset));
    }
    return json_pack("{s:o,s:o,s:o,s:o}", "tokens", tokens, "token_logprobs", lps,
                     "top_logprobs", tops, "text_offset", offs);
}

/* The reasoning or the content lost its end (a </think> or a stop string
 * cut out; r_max 0: a leading <think> dropped, which only the tokens
 * before the current one held): entries whose text ended past the new end
 * now end there. */
static void lp_clamp(struct emitter *e, size_t r_max, size_t c_max)
{
    for (size_t i = e->lp_sent; i < e->n_lp; i++) {
        if (e->lp[i].r_end > r_max)
            e->lp[i].r_end = r_max;
        if (e->lp[i].c_end > c_max)
            e->lp[i].c_end = c_max;
    }
}

/* The end of the entries a chunk sending reasoning up to r_end and content
 * up to c_end carries: chat sends a token's entry with its last byte;
 * completions send each entry as soon as it is known. */
static size_t lp_ready(const struct emitter *e, size_t r_end, size_t c_end, bool final)
{
    if (!e->chat || final)
        return e->n_lp;
    size_t i = e->lp_sent;
    while (i < e->n_lp && e->lp[i].r_end <= r_end && e->lp[i].c_end <= c_end)
        i++;
    return i;
}

/* Chat with logprobs: a chunk's text ends where the token of its last
 * entry ends, so that it carries exactly the text of the tokens whose
 * entries it holds (a token whose last bytes are held back waits whole,
 * the part of a character it holds too). */
static void lp_text_end(const struct emitter *e, size_t lp_end, size_t *r_end, size_t *c_end)
{
    size_t r = lp_end > 0 ? e->lp[lp_end - 1].r_end : 0;
    size_t c = lp_end > 0 ? e->lp[lp_end - 1].c_end : 0;
    *r_end = r > e->reasoning.sent ? r : e->reasoning.sent;
    *c_end = c > e->content.sent ? c : e->content.sent;
}

/* How much of a channel may go out now. */
static size_t safe_end(const struct emitter *e, const struct tbuf *b, bool content, bool final)
{
    size_t n = b->n;
    if (final)
        return n;
    if (e->stop_hold && (content || e->in_think)) {
        size_t hold = 0;
        for (size_t i = 0; i < e->j->req.n_stop; i++) {
            size_t k = partial_suffix(b->p, b->n, e->j->req.stop[i]);
            hold = k > hold ? k : hold;
        }
        n -= hold;
    }
    if (!content && e->in_think) {
        size_t k = partial_suffix(b->p, n, "</think>");
        n -= k;
        if (!e->open_checked)
            n = 0;
    }
    n -= utf8_tail(b->p, n);
    return n < b->sent ? b->sent : n;
}

/* Write chunk as one SSE event; takes chunk. */
static void put_sse(struct srv_job *j, json_t *chunk)
{
    char *s = srv_dump(chunk);
    if (!s)
        return;
    pthread_mutex_lock(&j->mu);
    srv_job_write(j, "data: ", 6);
    srv_job_write(j, s, strlen(s));
    srv_job_write(j, "\n\n", 2);
    pthread_mutex_unlock(&j->mu);
    free(s);
}

static json_t *chunk_head(struct srv_job *j)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "id", j->id, "object",
                     j->req.kind == SRV_CHAT ? "chat.completion.chunk" : "text_completion",
                     "created", (json_int_t)j->created, "model", j->model_name);
}

/* One chunk of what is safe to send now (and the step that opens, when
 * one does); nothing when there is nothing new. */
static void flush_stream(struct emitter *e, const struct glimp_token_event *ev, bool final)
{
    struct srv_job *j = e->j;
    size_t r_end = safe_end(e, &e->reasoning, false, final);
    size_t c_end = safe_end(e, &e->content, true, final);
    bool new_step = ev && (int64_t)ev->step != e->last_step;
    size_t lp_end = lp_ready(e, r_end, c_end, final);
    if (e->chat && j->req.logprobs >= 0 && !final)
        lp_text_end(e, lp_end, &r_end, &c_end);
    bool has_text = r_end > e->reasoning.sent || c_end > e->content.sent;
    bool has_lp = e->j->req.logprobs >= 0 && lp_end > e->lp_sent;
    if (!has_text && !new_step && !has_lp && e->first_chunk_sent)
        return;
    json_t *chunk = chunk_head(j);
    json_t *choice = json_pack("{s:i}", "index", 0);
    if (j->req.kind == SRV_CHAT) {
        json_t *delta = json_object();
        if (!e->first_chunk_sent)
            json_object_set_new(delta, "role", json_string("assistant"));
        if (r_end > e->reasoning.sent) {
            json_t *t = jtext_new(e->reasoning.p + e->reasoning.sent, r_end - e->reasoning.sent);
            json_object_set(delta, "reasoning_content", t);
            json_object_set_new(delta, "reasoning", t);
        }
        if (c_end > e->content.sent || !e->first_chunk_sent)
            json_object_set_new(delta, "content",
                                jtext_new(e->content.p + e->content.sent, c_end - e->content.sent));
        json_object_set_new(choice, "delta", delta);
    } else {
        json_object_set_new(choice, "text",
                            jtext_new(e->content.p + e->content.sent, c_end - e->content.sent));
    }
    if (has_lp) {
        json_object_set_new(choice, "logprobs", logprobs_json(e, e->lp_sent, lp_end));
        e->lp_sent = lp_end;
    } else {
        json_object_set_new(choice, "logprobs", json_null());
    }
    json_object_set_new(choice, "finish_reason", json_null());
    json_object_set_new(chunk, "choices", json_pack("[o]", choice));
    if (new_step && j->routed) {
        json_object_set_new(chunk, "glimp",
                            json_pack("{s:I,s:s,s:o,s:s}", "step", (json_int_t)ev->step, "writer",
                                      glimp_writer_name(ev->writer), "h_init",
                                      srv_number(ev->h_init), "phase",
                                      ev->phase == GLIMP_PHASE_ANSWER ? "answer" : "think"));
    }
    if (ev)
        e->last_step = ev->step;
    e->reasoning.sent = r_end;
    e->content.sent = c_end;
    e->first_chunk_sent = true;
    put_sse(j, chunk);
}

/* A stop string in the content ends the output before it. */
/* A stop string that ends in b past byte `from` and starts before byte
 * `limit` ends the output before it (as vLLM matches stop strings on the
 * whole text, thinking included): true when one did. */
static bool check_stop(struct emitter *e, struct tbuf *b, size_t from, size_t limit)
{
    struct srv_req *r = &e->j->req;
    size_t best = SIZE_MAX;
    const char *which = NULL;
    for (size_t i = 0; i < r->n_stop; i++) {
        size_t sl = strlen(r->stop[i]);
        size_t start = from > sl ? from - sl : 0;
        const char *hit = find_mem(b->p + start, b->n - start, r->stop[i], sl);
        if (hit && (size_t)(hit - b->p) < best) {
            best = (size_t)(hit - b->p);
            which = r->stop[i];
        }
    }
    if (!which || best >= limit)
        return false;
    tbuf_cut(b, best);
    if (b == &e->content)
        lp_clamp(e, SIZE_MAX, best);
    else
        lp_clamp(e, best, 0);
    e->stopped = e->stop_string = true;
    e->stop_match = which;
    return true;
}

static void add_content(struct emitter *e, const char *s, size_t n)
{
    size_t from = e->content.n;
    if (!tbuf_add(&e->content, s, n))
        e->oom = true;
    if (e->j->req.n_stop)
        check_stop(e, &e->content, from, SIZE_MAX);
}

/* Bytes of the output as a model wrote them; think says they were
 * written while thinking (they may still hold the </think> that ends it). */
static void add_bytes(struct emitter *e, const char *s, size_t n, bool think)
{
    if (!think || !e->in_think) {
        if (e->in_think) /* the answer began without a tag (the router closed it) */
            e->in_think = false;
        add_content(e, s, n);
        return;
    }
    size_t from = e->reasoning.n;
    if (!tbuf_add(&e->reasoning, s, n)) {
        e->oom = true;
        return;
    }
    if (!e->open_checked) {
        static const char open[] = "<think>";
        if (e->reasoning.n < 7 && !memcmp(e->reasoning.p, open, e->reasoning.n))
            return; /* may still be <think> */
        e->open_checked = true;
        if (e->reasoning.n >= 7 && !memcmp(e->reasoning.p, open, 7)) {
            size_t skip = 7 + (e->reasoning.n > 7 && e->reasoning.p[7] == '\n');
            memmove(e->reasoning.p, e->reasoning.p + skip, e->reasoning.n - skip + 1);
            e->reasoning.n -= skip;
            lp_clamp(e, 0, SIZE_MAX);
            from = 0;
        }
    }
    size_t start = from > 7 ? from - 7 : 0;
    char *tag = find_mem(e->reasoning.p + start, e->reasoning.n - start, "</think>", 8);
    if (e->j->req.n_stop &&
        check_stop(e, &e->reasoning, from, tag ? (size_t)(tag - e->reasoning.p) : SIZE_MAX))
        return;
    if (tag) {
        size_t at = (size_t)(tag - e->reasoning.p);
        size_t after = at + 8;
        e->in_think = false;
        char *rest = NULL;
        size_t rest_n = e->reasoning.n - after;
        if (rest_n && (rest = malloc(rest_n)))
            memcpy(rest, e->reasoning.p + after, rest_n);
        tbuf_cut(&e->reasoning, at);
        lp_clamp(e, at, SIZE_MAX);
        if (rest_n && !rest)
            e->oom = true;
        if (rest)
            add_content(e, rest, rest_n);
        free(rest);
    }
}

/* One token kept: its bytes, counted against max_tokens; streamed. */
static bool emit_token(struct emitter *e, const struct glimp_token_event *ev)
{
    bool think = e->split_think && (ev->phase == GLIMP_PHASE_THINK);
    if (think && e->in_think)
        e->n_reasoning_tokens++;
    e->n_tokens++;
    e->gen_by_writer[ev->writer]++;
    if (e->j->req.return_token_ids && glimp_tokens_push(&e->ids, &ev->id, 1) != GLIMP_OK)
        e->oom = true;
    if (e->j->t_first == 0.0)
        e->j->t_first = glimp_now();
    add_bytes(e, ev->piece, ev->len, think);
    if (e->j->req.logprobs >= 0 && e->n_lp > 0) { /* this token's entry */
        e->lp[e->n_lp - 1].r_end = e->reasoning.n;
        e->lp[e->n_lp - 1].c_end = e->content.n;
    }
    if (e->max_tokens && e->n_tokens >= e->max_tokens)
        e->stopped = true;
    if (e->stream)
        flush_stream(e, ev, false);
    return !e->stopped && !e->oom && !atomic_load(&e->j->cancel);
}

/* ------------------------------------------------------------ the answer */

static json_t *summary_json(const struct glimp_router_summary *s)
{
    return json_pack("{s:i,s:i,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:o,s:i,s:s,s:b,"
                     "s:b}",
                     "steps_slm", (int)s->steps_slm, "steps_llm", (int)s->steps_llm,
                     "tokens_slm", (json_int_t)s->tokens_slm, "tokens_llm",
                     (json_int_t)s->tokens_llm, "llm_share_steps", srv_number(s->llm_share_steps),
                     "llm_share_tokens", srv_number(s->llm_share_tokens), "wall_s",
                     srv_number(s->wall_s), "slm_s", srv_number(s->slm_s), "llm_s",
                     srv_number(s->llm_s), "sync_s", srv_number(s->sync_s), "overhead_s",
                     srv_number(s->overhead_s), "ttft_s", srv_number(s->ttft_s),
                     "draft_proposed", (json_int_t)s->draft_proposed, "draft_accepted",
                     (json_int_t)s->draft_accepted, "draft_accept_rate",
                     srv_number(s->draft_accept_rate), "rewrites", (int)s->rewrites, "think_end",
                     glimp_think_end_name(s->think_end), "stopped", s->stopped, "ctx_full",
                     s->ctx_full);
}

/* The routing as the response shows it: the method, each step, the
 * summary (the keys of glimp run --json). */
static json_t *glimp_json(const struct srv_job *j, const struct glimp_router_result *r)
{
    const struct glimp_router_params *p = &j->params;
    json_t *steps = json_array();
    for (size_t i = 0; r && i < r->n_steps; i++) {
        const struct glimp_step_event *ev = &r->steps[i];
        json_array_append_new(
            steps, json_pack("{s:i,s:s,s:s,s:o,s:o,s:o,s:b,s:i,s:i,s:i}", "index", (int)ev->index,
                             "phase", ev->phase == GLIMP_PHASE_ANSWER ? "answer" : "think",
                             "writer", glimp_writer_name(ev->writer), "h_init",
                             srv_number(ev->h_init), "signal", srv_number(ev->signal), "tau",
                             srv_number(ev->tau), "rewritten", ev->rewritten, "n_tokens",
                             (int)ev->n_tokens, "draft_proposed", (int)ev->draft_proposed,
                             "draft_accepted", (int)ev->draft_accepted));
    }
    return json_pack("{s:s,s:s,s:o,s:o,s:i,s:o,s:o}", "policy", glimp_policy_name(p->policy),
                     "signal", glimp_signal_name(p->signal), "tau", srv_number(p->tau), "share",
                     srv_number(p->share), "draft", (int)p->draft, "steps", steps, "summary",
                     r ? summary_json(&r->summary) : json_object());
}

static const char *finish_name(enum srv_finish f)
{
    return f == SRV_FIN_LENGTH ? "length" : f == SRV_FIN_STOP ? "stop" : "abort";
}

static json_t *usage_json(const struct emitter *e)
{
    const struct srv_job *j = e->j;
    json_t *u = json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)j->prompt_tokens,
                          "completion_tokens", (json_int_t)e->n_tokens, "total_tokens",
                          (json_int_t)(j->prompt_tokens + e->n_tokens));
    json_object_set_new(u, "prompt_tokens_details",
                        json_pack("{s:I}", "cached_tokens", (json_int_t)j->cached_tokens));
    if (j->req.kind == SRV_CHAT)
        json_object_set_new(u, "completion_tokens_details",
                            json_pack("{s:I}", "reasoning_tokens",
                                      (json_int_t)e->n_reasoning_tokens));
    return u;
}

/* The end: the last chunks and [DONE], or the whole answer. */
static void finish_job(struct emitter *e, const struct glimp_router_result *res)
{
    struct srv_job *j = e->j;
    const char *fin = finish_name(j->finish);
    if (e->stream) {
        flush_stream(e, NULL, true);
        json_t *chunk = chunk_head(j);
        json_t *choice = json_pack("{s:i,s:o,s:s}", "index", 0, "logprobs", json_null(),
                                   "finish_reason", fin);
        if (j->req.kind == SRV_CHAT)
            json_object_set_new(choice, "delta", json_object());
        else
            json_object_set_new(choice, "text", json_string(""));
        if (e->stop_match)
            json_object_set_new(choice, "stop_reason", json_string(e->stop_match));
        json_object_set_new(chunk, "choices", json_pack("[o]", choice));
        if (j->routed)
            json_object_set_new(chunk, "glimp", glimp_json(j, res));
        put_sse(j, chunk);
        if (j->req.include_usage) {
            chunk = chunk_head(j);
            json_object_set_new(chunk, "choices", json_array());
            json_object_set_new(chunk, "usage", usage_json(e));
            put_sse(j, chunk);
        }
        pthread_mutex_lock(&j->mu);
        srv_job_write(j, "data: [DONE]\n\n", 14);
        pthread_mutex_unlock(&j->mu);
        return;
    }
    json_t *choice = json_pack("{s:i,s:s}", "index", 0, "finish_reason", fin);
    if (j->req.kind == SRV_CHAT) {
        json_t *r = jtext_new(e->reasoning.p ? e->reasoning.p : "", e->reasoning.n);
        json_object_set_new(
            choice, "message",
            json_pack("{s:s,s:o,s:O,s:O}", "role", "assistant", "content",
                      jtext_new(e->content.p ? e->content.p : "", e->content.n),
                      "reasoning_content", r, "reasoning", r));
        json_decref(r);
        json_object_set_new(choice, "logprobs",
                            j->req.logprobs >= 0 ? logprobs_json(e, 0, e->n_lp) : json_null());
    } else {
        json_object_set_new(choice, "text",
                            jtext_new(e->content.p ? e->content.p : "", e->content.n));
        json_object_set_new(choice, "logprobs",
                            j->req.logprobs >= 0 ? logprobs_json(e, 0, e->n_lp) : json_null());
        json_object_set_new(choice, "stop_reason",
                            e->stop_match ? json_string(e->stop_match) : json_null());
        if (j->req.return_token_ids) {
            json_t *ids = json_array(), *pids = json_array();
            for (size_t i = 0; i < e->ids.n; i++)
                json_array_append_new(ids, json_integer(e->ids.ids[i]));
            for (size_t i = 0; i < j->ids.n; i++)
                json_array_append_new(pids, json_integer(j->ids.ids[i]));
            json_object_set_new(choice, "token_ids", ids);
            json_object_set_new(choice, "prompt_token_ids", pids);
        }
    }
    json_t *root = json_pack("{s:s,s:s,s:I,s:s,s:[o],s:o}", "id", j->id, "object",
                             j->req.kind == SRV_CHAT ? "chat.completion" : "text_completion",
                             "created", (json_int_t)j->created, "model", j->model_name,
                             "choices", choice, "usage", usage_json(e));
    if (j->routed)
        json_object_set_new(root, "glimp", glimp_json(j, res));
    char *body = srv_dump(root);
    pthread_mutex_lock(&j->mu);
    if (body)
        srv_job_write(j, body, strlen(body));
    else
        j->status = 500;
    pthread_mutex_unlock(&j->mu);
    free(body);
}

/* A failure once the worker has the job: an error answer, or in a stream
 * an error event then [DONE] (the status line has gone). */
static void fail_job(struct srv_job *j, int status, const char *msg)
{
    struct srv_error err = {0};
    srv_fail(&err, status, NULL, "%s", msg);
    if (status >= 500)
        err.type = "server_error";
    char *body = srv_error_body(&err);
    pthread_mutex_lock(&j->mu);
    if (!j->started || !j->req.stream) {
        j->status = status;
        free(j->error_body);
        j->error_body = body;
        body = NULL;
    } else if (body) {
        srv_job_write(j, "data: ", 6);
        srv_job_write(j, body, strlen(body));
        srv_job_write(j, "\n\ndata: [DONE]\n\n", 16);
    }
    pthread_mutex_unlock(&j->mu);
    free(body);
    j->finish = SRV_FIN_ERROR;
}

static void mark_started(struct srv_job *j)
{
    pthread_mutex_lock(&j->mu);
    j->started = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* ------------------------------------------------------------ routed */

static bool on_token(const struct glimp_token_event *ev, void *user)
{
    return emit_token(user, ev);
}

static void record_metrics(struct srv_job *j, struct emitter *e,
                           const struct glimp_router_result *res)
{
    struct srv_metrics *m = &j->srv->metrics;
    if (j->t_end == 0.0)
        j->t_end = glimp_now();
    pthread_mutex_lock(&m->mu);
    m->success[j->finish]++;
    m->prompt_tokens += j->prompt_tokens;
    m->gen_tokens[0] += e->gen_by_writer[0];
    m->gen_tokens[1] += e->gen_by_writer[1];
    if (res) {
        for (size_t i = 0; i < res->n_steps; i++) {
            m->steps[res->steps[i].writer]++;
            if (!isnan(res->steps[i].h_init))
                srv_hist_add(&m->h_init, srv_h_bounds, SRV_H_BUCKETS, res->steps[i].h_init);
        }
        m->draft_tokens += res->summary.draft_proposed;
        m->accepted_tokens += res->summary.draft_accepted;
    }
    if (j->t_first > 0.0) {
        srv_hist_add(&m->ttft, srv_t_bounds, SRV_T_BUCKETS, j->t_first - j->t_arrive);
        if (e->n_tokens > 1)
            srv_hist_add(&m->itl, srv_t_bounds, SRV_T_BUCKETS,
                         (j->t_end - j->t_first) / (double)(e->n_tokens - 1));
    }
    srv_hist_add(&m->e2e, srv_t_bounds, SRV_T_BUCKETS, j->t_end - j->t_arrive);
    pthread_mutex_unlock(&m->mu);
}

static void run_routed(struct srv_job *j, struct emitter *e)
{
    struct srv_server *s = j->srv;
    struct glimp_router_params p = j->params;
    p.on_token = on_token;
    p.on_step = NULL;
    p.user = e;
    p.cancel = &j->cancel;
    p.chat = j->prompt_chat;
    p.messages = j->msgs;
    p.n_messages = j->n_msgs;
    struct glimp_request *q = NULL;
    struct glimp_router_result *res = NULL;
    int rc = glimp_request_init(s->m[0].b, s->m[1].b, j->prompt, &p, &q);
    if (rc != GLIMP_OK) {
        fail_job(j, rc == GLIMP_ERR_NOMEM ? 503 : 400, glimp_last_error());
        glimp_request_free(q);
        record_metrics(j, e, NULL);
        return;
    }
    mark_started(j);
    bool answer_full = false;
    while (rc == GLIMP_OK && !glimp_request_done(q)) {
        const struct glimp_step_event *ev;
        rc = glimp_request_step(q, &ev);
        if (rc == GLIMP_OK && ev && ev->phase == GLIMP_PHASE_ANSWER &&
            ev->n_tokens >= p.max_answer)
            answer_full = true;
        if (e->stopped || e->oom)
            glimp_request_cancel(q);
    }
    if (rc == GLIMP_OK)
        rc = glimp_request_result(q, &res);
    glimp_request_free(q);
    j->t_end = glimp_now();
    if (rc != GLIMP_OK) {
        fail_job(j, 500, glimp_last_error());
    } else {
        if (e->stopped && !e->stop_string)
            j->finish = SRV_FIN_LENGTH;
        else if (e->stop_string)
            j->finish = SRV_FIN_STOP;
        else if (atomic_load(&j->cancel))
            j->finish = SRV_FIN_ABORT;
        else if (answer_full || res->summary.ctx_full)
            j->finish = SRV_FIN_LENGTH;
        else
            j->finish = SRV_FIN_STOP;
        finish_job(e, res);
    }
    record_metrics(j, e, res);
    glimp_router_result_free(res);
}

/* ------------------------------------------------------------ one model */

/* The request's sequence holding its prompt: the kept one that shares the
 * most of it (rolled back to what it shares, less a token when it shares
 * all, since the last one's logits are wanted), else a new one. *hist gets
 * the tokens it holds. */
static int prompt_seq(struct srv_job *j, const struct glimp_sampler_params *sp,
                      struct bk_seq **out, struct glimp_tokens *hist)
{
    struct srv_model *m = j->model;
    const struct bk_ops *ops = m->b->ops;
    const int32_t *ids = j->ids.ids;
    uint32_t n = (uint32_t)j->ids.n, keep = 0;
    struct bk_seq *seq = n ? srv_cache_take(&m->cache, ids, n, hist, &keep) : NULL;
    int rc = GLIMP_OK;
    if (seq) {
        keep = keep < n ? keep : n - 1;
        rc = ops->truncate(seq, keep);
        if (rc == GLIMP_OK)
            rc = ops->reseed(seq, sp);
        if (rc != GLIMP_OK) { /* not reused after all */
            ops->seq_free(seq);
            seq = NULL;
            keep = 0;
        }
    }
    if (!seq)
        rc = ops->seq_init(m->b, m->n_ctx, sp, &seq);
    hist->n = keep;
    if (rc == GLIMP_OK)
        rc = ops->append(seq, ids + keep, n - keep);
    if (rc == GLIMP_OK)
        rc = glimp_tokens_push(hist, ids + keep, n - keep);
    j->cached_tokens = keep;
    *out = seq;
    return rc;
}

static void run_single(struct srv_job *j, struct emitter *e)
{
    struct srv_model *m = j->model;
    const struct bk_ops *ops = m->b->ops;
    struct glimp_sampler_params sp = j->params.sampling;
    sp.seed = j->params.seed;
    struct glimp_tokens hist = {0}; /* the tokens seq holds, for the prompt cache */
    struct bk_seq *seq = NULL;
    int rc = prompt_seq(j, &sp, &seq, &hist);
    if (rc != GLIMP_OK) {
        fail_job(j, rc == GLIMP_ERR_RANGE || rc == GLIMP_ERR_INVALID ? 400 : 503,
                 glimp_last_error());
        if (seq)
            ops->seq_free(seq);
        glimp_tokens_free(&hist);
        record_metrics(j, e, NULL);
        return;
    }
    mark_started(j);
    enum glimp_writer w = j->target == SRV_TARGET_LLM ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM;
    int k = j->req.logprobs > 0 ? j->req.logprobs : 0;
    const uint32_t nv = m->b->n_vocab;
    char piece[PIECE_MAX];
    j->finish = SRV_FIN_STOP;
    bool hist_ok = true;
    bk_hold(seq, true); /* a token loop: its passes are shared with the other slots' */
    while (rc == GLIMP_OK) {
        if (atomic_load(&j->cancel)) {
            j->finish = SRV_FIN_ABORT;
            break;
        }
        if (e->max_tokens && e->n_tokens >= e->max_tokens) {
            j->finish = SRV_FIN_LENGTH;
            break;
        }
        struct bk_dist d;
        int32_t id;
        if ((rc = ops->next(seq, (uint32_t)k, &d)) != GLIMP_OK ||
            (rc = ops->sample(seq, d.logits, &id)) != GLIMP_OK)
            break;
        /* A stream that asks for ids (a remote glimp backend does) hears of
         * the end-of-turn token too, with its logprobs and no text, as
         * vLLM reports its EOS: the client then knows the distribution the
         * end was drawn from (the router's probe needs it). */
        bool eog = ops->is_eog(m->b, id);
        if (eog && !(j->req.stream && j->req.tokens_as_ids && j->req.logprobs >= 0))
            break;
        if (!eog && ops->seq_len(seq) >= ops->seq_n_ctx(seq)) {
            j->finish = SRV_FIN_LENGTH;
            break;
        }
        if (j->req.logprobs >= 0) {
            if (e->n_lp == e->cap_lp) {
                size_t cap = e->cap_lp ? e->cap_lp * 2 : 64;
                struct lp_entry *lp = realloc(e->lp, cap * sizeof *lp);
                if (!lp) {
                    e->oom = true;
                    break;
                }
                e->lp = lp;
                e->cap_lp = cap;
            }
            struct lp_entry *l = &e->lp[e->n_lp++];
            double lse = glimp_log_sum_exp(d.logits, nv);
            l->id = id;
            l->logprob = (double)d.logits[id] - lse;
            l->k = d.k;
            for (uint32_t i = 0; i < d.k; i++) {
                l->top_id[i] = d.id[i];
                l->top_lp[i] = d.logprob[i];
            }
            l->offset = e->content.n;
            l->r_end = e->reasoning.n;
            l->c_end = e->content.n;
        }
        if (eog) {
            flush_stream(e, NULL, false);
            break;
        }
        size_t len = 0;
        if ((rc = ops->token_bytes(m->b, id, piece, sizeof piece, &len)) != GLIMP_OK)
            break;
        /* the last token max_tokens allows is not read: no one wants the
         * distribution after it (a prefill sent ahead asks for one token) */
        bool last = e->max_tokens && e->n_tokens + 1 >= e->max_tokens;
        if (!last && (rc = ops->append(seq, &id, 1)) != GLIMP_OK)
            break;
        if (!last && hist_ok && glimp_tokens_push(&hist, &id, 1) != GLIMP_OK)
            hist_ok = false; /* what seq holds is no longer known: not kept */
        struct glimp_token_event ev = {.step = 0, .phase = GLIMP_PHASE_THINK, .writer = w,
                                       .h_init = NAN, .id = id, .piece = piece, .len = len};
        if (!emit_token(e, &ev)) {
            if (atomic_load(&j->cancel))
                j->finish = SRV_FIN_ABORT;
            else if (e->stopped)
                j->finish = e->stop_string ? SRV_FIN_STOP : SRV_FIN_LENGTH;
            break;
        }
    }
    bk_hold(seq, false);
    if (m->cache.cap && hist_ok && hist.n == ops->seq_len(seq))
        srv_cache_put(&m->cache, seq, &hist);
    else
        ops->seq_free(seq);
    glimp_tokens_free(&hist);
    j->t_end = glimp_now();
    if (rc != GLIMP_OK)
        fail_job(j, 500, glimp_last_error());
    else
        finish_job(e, NULL);
    record_metrics(j, e, NULL);
}

/* ------------------------------------------------------------ entry */

void srv_generate(struct srv_job *j)
{
    j->t_start = glimp_now();
    struct emitter e = {.j = j, .stream = j->req.stream, .chat = j->req.kind == SRV_CHAT,
                        .last_step = -1};
    e.split_think = e.chat && j->params.think;
    e.in_think = e.split_think;
    /* a continued message (continue_final_message) goes on thinking unless
     * its thinking is over: its content holds </think>, or it came with
     * reasoning_content */
    if (e.in_think && j->req.continue_final) {
        const struct srv_msg *last = &j->req.msgs[j->req.n_msgs - 1];
        e.in_think = !last->reasoning && !strstr(last->content, "</think>");
    }
    e.open_checked = !e.in_think;
    for (size_t i = 0; i < j->req.n_stop; i++) {
        size_t l = strlen(j->req.stop[i]);
        if (l > e.stop_hold)
            e.stop_hold = l;
    }
    e.max_tokens = j->req.max_tokens > 0 ? (uint64_t)j->req.max_tokens : 0;
    if (!tbuf_add(&e.reasoning, "", 0) || !tbuf_add(&e.content, "", 0)) {
        fail_job(j, 503, "out of memory");
    } else if (atomic_load(&j->cancel)) {
        /* a client that left while its request waited is no server error:
         * 499, as nginx logs it (tests/cli_serve_abuse.sh) */
        int why = atomic_load(&j->cancel);
        fail_job(j, why == SRV_CANCEL_CLIENT ? 499 : 503,
                 why == SRV_CANCEL_CLIENT   ? "the client closed the connection before the "
                                              "request started"
                 : why == SRV_CANCEL_TIMEOUT ? "the request timed out (--timeout) before it "
                                               "started"
                                             : "the request was cancelled before it started");
        j->finish = SRV_FIN_ABORT;
    } else if (j->routed) {
        run_routed(j, &e);
    } else {
        run_single(j, &e);
    }
    j->completion_tokens = e.n_tokens;
    pthread_mutex_lock(&j->mu);
    j->done = true;
    j->started = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    free(e.reasoning.p);
    free(e.content.p);
    free(e.lp);
    glimp_tokens_free(&e.ids);
}
