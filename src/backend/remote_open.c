/* remote_open.c - opening a remote backend: the URL, the model's name, the
 * start-up checks (vocabulary through /tokenize, context through /props,
 * that text mode's chats are continued), then token-id or text mode; and
 * the public calls around it (default params, stats, is_remote, open). */
#include "backend/pieces.h"
#include "backend/remote_internal.h"
#include "backend/remote_prefill.h"

#include "core/error.h"

#include <jansson.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    rc = body ? remote_call(r, c, url, body, "checking the vocabulary") : GLIMP_ERR_NOMEM;
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
    if (remote_call(r, c, url, NULL, "reading its context") == GLIMP_OK) {
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
    int rc = body ? remote_call(r, c, url, body, "checking that it continues a message")
                  : GLIMP_ERR_NOMEM;
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
        rc = remote_call(r, c, url, NULL, "listing its models");
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
