/* remote_parse.c - a completion answer or stream event, in any of the
 * shapes servers send, turned into tokens (ids, log-probabilities, top
 * entries), the finish reason and the text. Every field is checked; what is
 * absent is absent, never guessed. */
#include "backend/remote_parse.h"

#include "core/error.h"

#include <jansson.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rp_answer_free(struct rp_answer *a)
{
    if (!a)
        return;
    free(a->tok);
    free(a->text);
    memset(a, 0, sizeof *a);
}

static void reset(struct rp_answer *a)
{
    a->n = 0;
    a->finish = RP_FIN_NONE;
    a->done_marker = a->has_error = false;
    a->error[0] = '\0';
    a->text_len = 0;
    a->n_generated = -1;
    if (a->text)
        a->text[0] = '\0';
}

static struct rp_tok *push_tok(struct rp_answer *a)
{
    if (a->n >= RP_MAX_TOKENS)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        struct rp_tok *t = realloc(a->tok, cap * sizeof *t);
        if (!t)
            return NULL;
        a->tok = t;
        a->cap = cap;
    }
    struct rp_tok *t = &a->tok[a->n++];
    t->id = -1;
    t->logprob = NAN;
    t->k = 0;
    return t;
}

static int set_text(struct rp_answer *a, const char *s, size_t n)
{
    char *t = realloc(a->text, n + 1);
    if (!t)
        return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    memcpy(t, s, n);
    t[n] = '\0';
    a->text = t;
    a->text_len = n;
    return GLIMP_OK;
}

/* How tokens get their ids: from the server (ids, "token_id:N" keys) and
 * else through resolve on their text; or, in text mode, only through
 * resolve (the server's ids mean nothing here). */
struct names {
    rp_resolve_fn resolve;
    void *user;
    bool by_text;
};

/* "token_id:N" -> N, or the resolver's id for any other text. */
static int32_t key_id(const char *s, size_t n, const struct names *nm)
{
    rp_resolve_fn resolve = nm->resolve;
    void *user = nm->user;
    if (n > 9 && !memcmp(s, "token_id:", 9) && !nm->by_text) {
        long long v = 0;
        size_t i = 9;
        for (; i < n && i < 9 + 10 && s[i] >= '0' && s[i] <= '9'; i++)
            v = v * 10 + (s[i] - '0');
        if (i == n && v <= INT32_MAX)
            return (int32_t)v;
        return -1;
    }
    return resolve ? resolve(user, s, n) : -1;
}

static bool get_lp(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    double x = json_number_value(v);
    if (isnan(x))
        return false;
    *out = x < -9999.0 ? -9999.0 : x > 0.0 ? 0.0 : x;
    return true;
}

/* Add (id, lp) to t's top entries, keeping the BK_TOPK_MAX largest, most
 * likely first; the same id twice keeps the first. */
static void top_add(struct rp_tok *t, int32_t id, double lp)
{
    for (uint32_t i = 0; i < t->k; i++)
        if (t->top_id[i] == id)
            return;
    uint32_t at = t->k;
    while (at > 0 && t->top_lp[at - 1] < lp)
        at--;
    if (at >= BK_TOPK_MAX)
        return;
    uint32_t last = t->k < BK_TOPK_MAX ? t->k : BK_TOPK_MAX - 1;
    for (uint32_t i = last; i > at; i--) {
        t->top_id[i] = t->top_id[i - 1];
        t->top_lp[i] = t->top_lp[i - 1];
    }
    t->top_id[at] = id;
    t->top_lp[at] = lp;
    if (t->k < BK_TOPK_MAX)
        t->k++;
}

static int bad(const char *what)
{
    return glimp_error(GLIMP_ERR_FORMAT, "remote: malformed answer: %s", what);
}

/* A token's exact bytes, from a "bytes" list of integers (the chat
 * endpoints' entries carry it: a token that is part of a UTF-8 sequence
 * has no exact text): false when absent or not such a list. */
static bool bytes_of(const json_t *list, char *buf, size_t *n)
{
    if (!json_is_array(list) || json_array_size(list) > RP_MAX_TOKEN_BYTES)
        return false;
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
            return false;
        buf[i] = (char)json_integer_value(v);
    }
    *n = json_array_size(list);
    return true;
}

/* An {id?, bytes?, token?, logprob} entry (content[] and llama-server's shapes). */
static int entry_of(const json_t *e, const struct names *nm, int32_t *id, double *lp)
{
    if (!json_is_object(e))
        return bad("a log-probability entry is not an object");
    const json_t *jid = json_object_get(e, "id");
    const json_t *jt = json_object_get(e, "token");
    if (!get_lp(json_object_get(e, "logprob"), lp))
        return bad("an entry's logprob is not a number");
    char raw[RP_MAX_TOKEN_BYTES];
    size_t n_raw;
    if (json_is_integer(jid) && json_integer_value(jid) >= 0 &&
        json_integer_value(jid) <= INT32_MAX && !nm->by_text)
        *id = (int32_t)json_integer_value(jid);
    else if (bytes_of(json_object_get(e, "bytes"), raw, &n_raw))
        *id = nm->resolve ? nm->resolve(nm->user, raw, n_raw) : -1;
    else if (json_is_string(jt))
        *id = key_id(json_string_value(jt), json_string_length(jt), nm);
    else
        return bad("an entry has neither an id nor a token");
    if (*id < 0)
        return bad("an entry names a token the vocabulary does not hold");
    return GLIMP_OK;
}

/* A list of {id, token, logprob, top_logprobs: [...]} (content[] and
 * completion_probabilities). */
static int parse_entries(const json_t *list, const struct names *nm, struct rp_answer *a)
{
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        struct rp_tok *t = push_tok(a);
        if (!t)
            return glimp_error(GLIMP_ERR_NOMEM, "remote: too many tokens in one answer");
        int rc = entry_of(e, nm, &t->id, &t->logprob);
        if (rc != GLIMP_OK)
            return rc;
        const json_t *top = json_object_get(e, "top_logprobs");
        if (!top)
            top = json_object_get(e, "top_probs");
        if (top && !json_is_array(top))
            return bad("top_logprobs is not a list");
        size_t j;
        const json_t *x;
        json_array_foreach(top, j, x)
        {
            int32_t id;
            double lp;
            if ((rc = entry_of(x, nm, &id, &lp)) != GLIMP_OK)
                return rc;
            top_add(t, id, lp);
        }
    }
    return GLIMP_OK;
}

/* The legacy completions object: {tokens, token_logprobs, top_logprobs}. */
static int parse_legacy(const json_t *lp, const json_t *token_ids, const struct names *nm,
                        struct rp_answer *a)
{
    const json_t *toks = json_object_get(lp, "tokens");
    const json_t *tlp = json_object_get(lp, "token_logprobs");
    const json_t *top = json_object_get(lp, "top_logprobs");
    if (!json_is_array(toks))
        return bad("logprobs.tokens is not a list");
    size_t n = json_array_size(toks);
    if ((tlp && !json_is_null(tlp) && (!json_is_array(tlp) || json_array_size(tlp) != n)) ||
        (top && !json_is_null(top) && (!json_is_array(top) || json_array_size(top) != n)))
        return bad("logprobs' lists differ in length");
    bool ids_given = json_is_array(token_ids) && json_array_size(token_ids) == n && !nm->by_text;
    for (size_t i = 0; i < n; i++) {
        struct rp_tok *t = push_tok(a);
        if (!t)
            return glimp_error(GLIMP_ERR_NOMEM, "remote: too many tokens in one answer");
        const json_t *ts = json_array_get(toks, i);
        if (ids_given) {
            const json_t *v = json_array_get(token_ids, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > INT32_MAX)
                return bad("token_ids holds something that is not a token id");
            t->id = (int32_t)json_integer_value(v);
        } else if (json_is_string(ts)) {
            t->id = key_id(json_string_value(ts), json_string_length(ts), nm);
        }
        if (t->id < 0)
            return bad("a token names no id the vocabulary holds");
        if (json_is_array(tlp)) {
            const json_t *v = json_array_get(tlp, i);
            if (!json_is_null(v) && !get_lp(v, &t->logprob))
                return bad("token_logprobs holds something that is not a number");
        }
        const json_t *d = json_is_array(top) ? json_array_get(top, i) : NULL;
        if (d && !json_is_null(d) && !json_is_object(d))
            return bad("top_logprobs holds something that is not an object");
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)d, key, v)
        {
            double x;
            if (!get_lp(v, &x))
                return bad("a top log-probability is not a number");
            int32_t id = key_id(key, strlen(key), nm);
            if (id < 0)
                return bad("a top log-probability names a token the vocabulary does not hold");
            top_add(t, id, x);
        }
    }
    return GLIMP_OK;
}

/* SGLang's native tuples: [[logprob, id, text|null], ...]. */
static int tuple_of(const json_t *x, int32_t *id, double *lp)
{
    const json_t *v = json_array_get(x, 1);
    if (!json_is_array(x) || !get_lp(json_array_get(x, 0), lp) || !json_is_integer(v) ||
        json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
        return bad("a [logprob, id, text] tuple is malformed");
    *id = (int32_t)json_integer_value(v);
    return GLIMP_OK;
}

static int parse_sglang(const json_t *meta, struct rp_answer *a)
{
    const json_t *out = json_object_get(meta, "output_token_logprobs");
    const json_t *top = json_object_get(meta, "output_top_logprobs");
    if (!json_is_array(out))
        return GLIMP_OK;
    size_t i;
    const json_t *x;
    json_array_foreach(out, i, x)
    {
        struct rp_tok *t = push_tok(a);
        if (!t)
            return glimp_error(GLIMP_ERR_NOMEM, "remote: too many tokens in one answer");
        int rc = tuple_of(x, &t->id, &t->logprob);
        if (rc != GLIMP_OK)
            return rc;
        const json_t *tl = json_is_array(top) ? json_array_get(top, i) : NULL;
        size_t j;
        const json_t *y;
        json_array_foreach(tl, j, y)
        {
            int32_t id;
            double lp;
            if ((rc = tuple_of(y, &id, &lp)) != GLIMP_OK)
                return rc;
            top_add(t, id, lp);
        }
    }
    const json_t *fr = json_object_get(meta, "finish_reason");
    if (json_is_object(fr)) {
        const char *type = json_string_value(json_object_get(fr, "type"));
        const json_t *m = json_object_get(fr, "matched");
        if (type && !strcmp(type, "length"))
            a->finish = RP_FIN_LENGTH;
        else if (type && !strcmp(type, "stop"))
            a->finish = json_is_string(m) ? RP_FIN_STOP : RP_FIN_EOS;
        else if (type)
            a->finish = RP_FIN_OTHER;
    }
    return GLIMP_OK;
}

static void finish_of(const char *fr, const json_t *stop_reason, struct rp_answer *a)
{
    if (!fr)
        return;
    if (!strcmp(fr, "length"))
        a->finish = RP_FIN_LENGTH;
    else if (!strcmp(fr, "stop") || !strcmp(fr, "eos"))
        a->finish = json_is_string(stop_reason) ? RP_FIN_STOP : RP_FIN_EOS;
    else
        a->finish = RP_FIN_OTHER;
}

/* A count of generated tokens, when v is one. */
static void generated_of(const json_t *v, struct rp_answer *a)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= INT32_MAX)
        a->n_generated = (int64_t)json_integer_value(v);
}

static int parse_root(const json_t *root, const struct names *nm, struct rp_answer *a)
{
    if (!json_is_object(root))
        return bad("not a JSON object");
    const json_t *err = json_object_get(root, "error");
    if (err) {
        a->has_error = true;
        const json_t *m = json_is_object(err) ? json_object_get(err, "message") : err;
        snprintf(a->error, sizeof a->error, "%s",
                 json_is_string(m) ? json_string_value(m) : "an error without a message");
        return GLIMP_OK;
    }
    int rc;
    const json_t *choices = json_object_get(root, "choices");
    if (choices) {
        if (!json_is_array(choices))
            return bad("choices is not a list");
        const json_t *usage = json_object_get(root, "usage");
        if (json_is_object(usage))
            generated_of(json_object_get(usage, "completion_tokens"), a);
        if (json_array_size(choices) == 0)
            return GLIMP_OK; /* the usage chunk */
        const json_t *c = json_array_get(choices, 0);
        if (!json_is_object(c))
            return bad("a choice is not an object");
        const json_t *text = json_object_get(c, "text");
        const json_t *delta = json_object_get(c, "delta");
        const json_t *msg = json_object_get(c, "message");
        if (!json_is_string(text) && json_is_object(delta))
            text = json_object_get(delta, "content");
        if (!json_is_string(text) && json_is_object(msg))
            text = json_object_get(msg, "content");
        if (json_is_string(text) &&
            (rc = set_text(a, json_string_value(text), json_string_length(text))) != GLIMP_OK)
            return rc;
        const json_t *lp = json_object_get(c, "logprobs");
        if (json_is_object(lp)) {
            const json_t *content = json_object_get(lp, "content");
            if (json_is_array(content))
                rc = parse_entries(content, nm, a);
            else
                rc = parse_legacy(lp, json_object_get(c, "token_ids"), nm, a);
            if (rc != GLIMP_OK)
                return rc;
        } else if (lp && !json_is_null(lp)) {
            return bad("logprobs is neither an object nor null");
        }
        const json_t *fr = json_object_get(c, "finish_reason");
        if (fr && !json_is_null(fr) && !json_is_string(fr))
            return bad("finish_reason is not a string");
        finish_of(json_string_value(fr), json_object_get(c, "stop_reason"), a);
        return GLIMP_OK;
    }
    /* llama-server's /completion */
    const json_t *cp = json_object_get(root, "completion_probabilities");
    if (cp) {
        if (!json_is_array(cp))
            return bad("completion_probabilities is not a list");
        if ((rc = parse_entries(cp, nm, a)) != GLIMP_OK)
            return rc;
    }
    const json_t *content = json_object_get(root, "content");
    if (json_is_string(content) &&
        (rc = set_text(a, json_string_value(content), json_string_length(content))) != GLIMP_OK)
        return rc;
    generated_of(json_object_get(root, "tokens_predicted"), a);
    const json_t *st = json_object_get(root, "stop_type");
    if (json_is_string(st)) {
        const char *s = json_string_value(st);
        a->finish = !strcmp(s, "eos")     ? RP_FIN_EOS
                    : !strcmp(s, "word")  ? RP_FIN_STOP
                    : !strcmp(s, "limit") ? RP_FIN_LENGTH
                    : !strcmp(s, "none")  ? RP_FIN_NONE
                                          : RP_FIN_OTHER;
    }
    /* SGLang's /generate */
    const json_t *meta = json_object_get(root, "meta_info");
    if (json_is_object(meta)) {
        if (json_is_string(json_object_get(root, "text")) &&
            (rc = set_text(a, json_string_value(json_object_get(root, "text")),
                           json_string_length(json_object_get(root, "text")))) != GLIMP_OK)
            return rc;
        return nm->by_text ? GLIMP_OK : parse_sglang(meta, a);
    }
    return GLIMP_OK;
}

static int parse_answer(const char *json, size_t len, const struct names *nm,
                        struct rp_answer *out)
{
    reset(out);
    while (len > 0 && (json[len - 1] == ' ' || json[len - 1] == '\r' || json[len - 1] == '\n'))
        len--;
    if (len == 6 && !memcmp(json, "[DONE]", 6)) {
        out->done_marker = true;
        return GLIMP_OK;
    }
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return glimp_error(GLIMP_ERR_FORMAT, "remote: malformed answer: not JSON (%s)", je.text);
    int rc = parse_root(root, nm, out);
    json_decref(root);
    return rc;
}

int rp_parse_answer(const char *json, size_t len, rp_resolve_fn resolve, void *user,
                    struct rp_answer *out)
{
    struct names nm = {.resolve = resolve, .user = user};
    return parse_answer(json, len, &nm, out);
}

int rp_parse_answer_text(const char *json, size_t len, rp_resolve_fn resolve, void *user,
                         struct rp_answer *out)
{
    struct names nm = {.resolve = resolve, .user = user, .by_text = true};
    return parse_answer(json, len, &nm, out);
}

int rp_parse_tokenize(const char *json, size_t len, struct glimp_tokens *ids,
                      uint32_t *max_model_len)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    *max_model_len = 0;
    if (!root)
        return glimp_error(GLIMP_ERR_FORMAT, "remote: /tokenize: not JSON (%s)", je.text);
    int rc = GLIMP_OK;
    const json_t *t = json_object_get(root, "tokens");
    const json_t *mm = json_object_get(root, "max_model_len");
    if (json_is_integer(mm) && json_integer_value(mm) > 0 && json_integer_value(mm) <= UINT32_MAX)
        *max_model_len = (uint32_t)json_integer_value(mm);
    if (!json_is_array(t))
        rc = glimp_error(GLIMP_ERR_FORMAT, "remote: /tokenize: no tokens list");
    size_t i;
    const json_t *v;
    json_array_foreach(t, i, v)
    {
        if (rc != GLIMP_OK)
            break;
        const json_t *x = json_is_object(v) ? json_object_get(v, "id") : v;
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > INT32_MAX) {
            rc = glimp_error(GLIMP_ERR_FORMAT, "remote: /tokenize: a token is not an id");
            break;
        }
        int32_t id = (int32_t)json_integer_value(x);
        rc = glimp_tokens_push(ids, &id, 1);
    }
    json_decref(root);
    return rc;
}

uint32_t rp_parse_props(const char *json, size_t len)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    const json_t *s = json_object_get(root, "default_generation_settings");
    const json_t *v = json_object_get(s, "n_ctx");
    uint32_t n = 0;
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= UINT32_MAX)
        n = (uint32_t)json_integer_value(v);
    json_decref(root);
    return n;
}

int rp_parse_models(const char *json, size_t len, char *buf, size_t cap)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root)
        return glimp_error(GLIMP_ERR_FORMAT, "remote: /v1/models: not JSON (%s)", je.text);
    const json_t *data = json_object_get(root, "data");
    int rc = GLIMP_OK;
    if (!json_is_array(data)) {
        rc = glimp_error(GLIMP_ERR_FORMAT, "remote: /v1/models: no data list");
    } else if (json_array_size(data) != 1) {
        rc = glimp_error(GLIMP_ERR_INVALID,
                         "remote: the server lists %zu models: name one (--slm-model or "
                         "--llm-model)",
                         json_array_size(data));
    } else {
        const char *id = json_string_value(json_object_get(json_array_get(data, 0), "id"));
        if (!id || strlen(id) >= cap)
            rc = glimp_error(GLIMP_ERR_FORMAT, "remote: /v1/models: the model has no usable id");
        else
            snprintf(buf, cap, "%s", id);
    }
    json_decref(root);
    return rc;
}

void rp_error_message(const char *body, size_t len, char *buf, size_t cap)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    const json_t *e = root ? json_object_get(root, "error") : NULL;
    const json_t *m = json_is_object(e) ? json_object_get(e, "message") : e;
    if (!m && root)
        m = json_object_get(root, "message");
    if (json_is_string(m)) {
        snprintf(buf, cap, "%s", json_string_value(m));
    } else {
        size_t n = len < 200 ? len : 200;
        size_t o = 0;
        for (size_t i = 0; i < n && o + 1 < cap; i++)
            buf[o++] = body[i] >= 0x20 && body[i] < 0x7f ? body[i] : '?';
        if (cap)
            buf[o < cap ? o : cap - 1] = '\0';
        if (n == 0)
            snprintf(buf, cap, "an empty body");
    }
    json_decref(root);
}
