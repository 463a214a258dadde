/* api.c - the endpoints: the answers made at once (/v1/models, /health,
 * /props, /metrics, /tokenize, /detokenize) and the job a chat or
 * completions request becomes (parsed, resolved to router params, its
 * prompt rendered, tokenized and checked against the context). */
#include "server/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *srv_dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(j);
    return s;
}

static void reply_json(struct srv_reply *r, int status, json_t *j)
{
    r->status = status;
    r->content_type = "application/json";
    r->body = srv_dump(j);
    if (!r->body) {
        r->status = 500;
        r->body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\","
                         "\"param\":null,\"code\":500}}");
    }
    r->len = r->body ? strlen(r->body) : 0;
}

void srv_reply_error(struct srv_reply *r, const struct srv_error *err)
{
    r->status = err->status ? err->status : 400;
    r->content_type = "application/json";
    r->body = srv_error_body(err);
    r->len = r->body ? strlen(r->body) : 0;
}

static bool loading(struct srv_server *s, struct srv_reply *r)
{
    if (!atomic_load(&s->loading))
        return false;
    struct srv_error err = {0};
    srv_fail(&err, 503, NULL, "Loading model");
    err.type = "unavailable_error";
    srv_reply_error(r, &err);
    r->retry_after = "1";
    return true;
}

/* ------------------------------------------------------------ info */

static json_t *model_entry(const char *id, long long created)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object", "model", "created",
                     (json_int_t)created, "owned_by", "glimp");
}

void srv_api_models(struct srv_server *s, struct srv_reply *r)
{
    long long now = (long long)time(NULL);
    json_t *data = json_array();
    if (s->routed) {
        json_array_append_new(data, model_entry("glimp", now));
        json_array_append_new(data, model_entry("slm", now));
        json_array_append_new(data, model_entry("llm", now));
        for (size_t i = 0; i < s->o->n_profiles; i++) {
            char id[80];
            snprintf(id, sizeof id, "glimp:%s", s->o->profiles[i].name);
            json_array_append_new(data, model_entry(id, now));
        }
    } else {
        json_array_append_new(data, model_entry(s->m[0].id, now));
    }
    reply_json(r, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

void srv_api_health(struct srv_server *s, struct srv_reply *r)
{
    if (loading(s, r))
        return;
    reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static json_t *model_props(const struct srv_model *m)
{
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx",
             (unsigned long long)m->b->ops->vocab_hash(m->b));
    return json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:s,s:b}", "id", m->id, "path", m->path,
                     "description", glimp_backend_describe(m->b), "n_ctx", (int)m->n_ctx,
                     "n_vocab", (int)m->b->n_vocab, "vocab_hash", hash, "chat_template",
                     srv_template_name(m), "chat_template_fallback", m->tmpl.fallback);
}

void srv_api_props(struct srv_server *s, struct srv_reply *r)
{
    if (loading(s, r))
        return;
    const struct server_opts *o = s->o;
    const struct glimp_router_params *p = &o->defaults;
    json_t *models = json_array();
    for (int i = 0; i < (s->routed ? 2 : 1); i++)
        json_array_append_new(models, model_props(&s->m[i]));
    json_t *j = json_pack(
        "{s:s,s:s,s:o,s:i,s:i,s:{s:s,s:s,s:o,s:o,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:i,s:f,s:I}}",
        "version", glimp_version(), "mode", s->routed ? "routed" : "single", "models", models,
        "total_slots", (int)o->n_parallel, "queue", (int)o->queue, "defaults", "policy",
        glimp_policy_name(p->policy), "signal", glimp_signal_name(p->signal), "tau",
        srv_number(p->tau), "share", srv_number(p->share), "glimpse", (int)p->glimpse, "draft",
        (int)p->draft, "max_think", (int)p->max_think, "max_step", (int)p->max_step,
        "max_answer", (int)p->max_answer, "temperature", (double)p->sampling.temperature, "top_p",
        (double)p->sampling.top_p, "top_k", (int)p->sampling.top_k, "min_p",
        (double)p->sampling.min_p, "seed", (json_int_t)p->seed);
    /* llama-server's keys for the one model clients look at */
    json_object_set_new(j, "n_ctx", json_integer(s->m[0].n_ctx));
    json_object_set_new(j, "chat_template", json_string(srv_template_name(&s->m[0])));
    reply_json(r, 200, j);
}

void srv_api_metrics(struct srv_server *s, struct srv_reply *r)
{
    uint32_t running, waiting;
    srv_slots_counts(s, &running, &waiting);
    pthread_mutex_lock(&s->metrics.mu);
    s->metrics.running = running;
    s->metrics.waiting = waiting;
    for (int w = 0; w < 2; w++) {
        const struct glimp_backend *b = w == 0 || s->routed ? s->m[w].b : NULL;
        s->metrics.batch_label[w] = NULL;
        if (b && b->ops->batch_stats) {
            b->ops->batch_stats(b, &s->metrics.batch[w]);
            srv_cache_counts(&s->m[w].cache, &s->metrics.cache_queries[w],
                             &s->metrics.cache_hits[w]);
            s->metrics.batch_label[w] = !s->routed ? "model" : w ? "llm" : "slm";
        }
    }
    pthread_mutex_unlock(&s->metrics.mu);
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->body = srv_metrics_text(&s->metrics);
    r->len = r->body ? strlen(r->body) : 0;
    if (!r->body)
        r->status = 500;
}

/* ------------------------------------------------------------ tokens */

const char *srv_template_name(const struct srv_model *m)
{
    return m->tok ? glimp_chat_family_name(m->tmpl.family) : "the server's (text mode)";
}

/* The model of a routed server whose tokenizer and template the server
 * holds (the SLM's, else the LLM's: a remote model in text mode has
 * none), or NULL with a 400 in err. */
static struct srv_model *text_model_of(struct srv_server *s, const char *param,
                                       struct srv_error *err)
{
    for (int i = 0; i < (s->routed ? 2 : 1); i++)
        if (s->m[i].tok)
            return &s->m[i];
    srv_fail(err, 400, param,
             "both models are remote in text mode: this server holds no tokenizer or chat "
             "template (give --slm-vocab or --llm-vocab)");
    return NULL;
}

/* Tokenize text with special tokens, BOS added as the model asks. */
static int prompt_ids(const struct srv_model *m, const char *text, bool add_special,
                      struct glimp_tokens *out)
{
    int rc = glimp_tokenize(m->tok, text, strlen(text), true, out);
    int32_t bos = glimp_tokenizer_bos(m->tok);
    if (rc == GLIMP_OK && add_special && glimp_tokenizer_add_bos(m->tok) && bos >= 0 &&
        (out->n == 0 || out->ids[0] != bos))
        rc = glimp_tokens_insert(out, 0, &bos, 1);
    return rc;
}

void srv_api_tokenize(struct srv_server *s, const char *body, size_t len, struct srv_reply *r)
{
    if (loading(s, r))
        return;
    struct srv_tok_req t;
    struct srv_error err = {0};
    if (!srv_parse_tokenize(body, len, &t, &err)) {
        srv_reply_error(r, &err);
        return;
    }
    struct srv_model *m = text_model_of(s, "content", &err);
    if (!m) {
        srv_reply_error(r, &err);
        srv_tok_req_free(&t);
        return;
    }
    struct glimp_tokens ids = {0};
    int rc = prompt_ids(m, t.text, t.add_special, &ids);
    if (rc != GLIMP_OK) {
        srv_fail(&err, 400, "content", "%s", glimp_last_error());
        srv_reply_error(r, &err);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < ids.n; i++) {
            if (!t.with_pieces) {
                json_array_append_new(arr, json_integer(ids.ids[i]));
                continue;
            }
            char piece[1024];
            size_t n = 0;
            if (glimp_token_to_bytes(m->tok, ids.ids[i], true, piece, sizeof piece, &n) != 0)
                n = 0;
            json_array_append_new(arr, json_pack("{s:i,s:o}", "id", (int)ids.ids[i], "piece",
                                                 jtext_new(piece, n)));
        }
        reply_json(r, 200,
                   json_pack("{s:o,s:I,s:i}", "tokens", arr, "count", (json_int_t)ids.n,
                             "max_model_len", (int)m->n_ctx));
    }
    glimp_tokens_free(&ids);
    srv_tok_req_free(&t);
}

void srv_api_detokenize(struct srv_server *s, const char *body, size_t len, struct srv_reply *r)
{
    if (loading(s, r))
        return;
    struct srv_tok_req t;
    struct srv_error err = {0};
    if (!srv_parse_detokenize(body, len, &t, &err)) {
        srv_reply_error(r, &err);
        return;
    }
    char *text = NULL;
    size_t n = 0;
    const struct srv_model *m = text_model_of(s, "tokens", &err);
    if (!m) {
        srv_reply_error(r, &err);
    } else if (glimp_detokenize(m->tok, t.ids, t.n_ids, true, &text, &n) != GLIMP_OK) {
        srv_fail(&err, 400, "tokens", "%s", glimp_last_error());
        srv_reply_error(r, &err);
    } else {
        json_t *jt = jtext_new(text, n);
        reply_json(r, 200, json_pack("{s:O,s:o}", "content", jt, "prompt", jt));
        free(text);
    }
    srv_tok_req_free(&t);
}

/* ------------------------------------------------------------ jobs */

static void make_id(struct srv_job *j, const char *prefix)
{
    static atomic_uint counter;
    unsigned c = atomic_fetch_add(&counter, 1);
    unsigned long long t = (unsigned long long)(glimp_now() * 1e6);
    snprintf(j->id, sizeof j->id, "%s-%llx%06x", prefix, t, c & 0xffffffu);
}

static bool render_messages(const struct srv_model *m, const struct srv_req *r, bool think,
                            char **out, struct srv_error *err)
{
    struct glimp_chat_message *msgs = calloc(r->n_msgs, sizeof *msgs);
    if (!msgs)
        return srv_fail(err, 503, NULL, "out of memory");
    for (size_t i = 0; i < r->n_msgs; i++)
        msgs[i] = (struct glimp_chat_message){.role = r->msgs[i].role,
                                              .content = r->msgs[i].content,
                                              .reasoning_content = r->msgs[i].reasoning};
    struct glimp_chat_params cp = glimp_chat_default_params();
    cp.enable_thinking = think;
    cp.add_generation_prompt = r->add_generation_prompt;
    cp.continue_final_message = r->continue_final;
    int rc = glimp_chat_render(&m->tmpl, msgs, r->n_msgs, &cp, out);
    free(msgs);
    if (rc != GLIMP_OK)
        return srv_fail(err, 400, "messages", "%s", glimp_last_error());
    return true;
}

/* The prompt fits each model's context with room for one token. */
static bool check_len(const struct srv_model *m, size_t n, struct srv_error *err)
{
    const char *param = "messages";
    if (n + 1 > m->n_ctx)
        return srv_fail(err, 400, param,
                        "the prompt is %zu tokens, longer than the context of %u tokens "
                        "(room for at least one more is needed)",
                        n, m->n_ctx);
    return true;
}

/* The conversation of a chat that asks for the generation prompt, for
 * each model to render through its own template. */
static bool routed_messages(struct srv_job *j, struct srv_error *err)
{
    const struct srv_req *r = &j->req;
    if (!(j->msgs = calloc(r->n_msgs, sizeof *j->msgs)) || !(j->prompt = strdup("")))
        return srv_fail(err, 503, NULL, "out of memory");
    for (size_t i = 0; i < r->n_msgs; i++)
        j->msgs[i] = (struct glimp_chat_message){.role = r->msgs[i].role,
                                                 .content = r->msgs[i].content,
                                                 .reasoning_content = r->msgs[i].reasoning};
    j->n_msgs = r->n_msgs;
    j->prompt_chat = true;
    return true;
}

static bool setup_routed(struct srv_server *s, struct srv_job *j, struct srv_error *err)
{
    const struct srv_req *r = &j->req;
    const char *param = r->kind == SRV_CHAT ? "messages" : "prompt";
    j->routed = true;
    if (r->kind == SRV_CHAT && r->n_msgs == 1 && !strcmp(r->msgs[0].role, "user") &&
        r->add_generation_prompt) {
        /* exactly what glimp run -p does: one user message through each
         * model's own chat template */
        j->prompt_chat = true;
        j->prompt = strdup(r->msgs[0].content);
    } else if (r->kind == SRV_CHAT && r->add_generation_prompt) {
        if (!routed_messages(j, err))
            return false;
    } else if (r->kind == SRV_CHAT) {
        /* a final message continued: rendered once, with the template of
         * the model whose tokenizer the server holds */
        const struct srv_model *tm = text_model_of(s, "messages", err);
        if (!tm || !render_messages(tm, r, j->params.think, &j->prompt, err))
            return false;
    } else if (r->prompt) {
        j->prompt = strdup(r->prompt);
    } else {
        const struct srv_model *tm = text_model_of(s, "prompt", err);
        if (!tm)
            return false;
        for (size_t i = 0; i < r->n_prompt_ids; i++)
            if ((uint32_t)r->prompt_ids[i] >= tm->b->n_vocab)
                return srv_fail(err, 400, "prompt", "'prompt[%zu]': token id %d is outside the "
                                "vocabulary of %u", i, (int)r->prompt_ids[i], tm->b->n_vocab);
        size_t n = 0;
        if (glimp_detokenize(tm->tok, r->prompt_ids, r->n_prompt_ids, true, &j->prompt, &n) !=
            GLIMP_OK)
            return srv_fail(err, 400, "prompt", "%s", glimp_last_error());
    }
    if (!j->prompt)
        return srv_fail(err, 503, NULL, "out of memory");
    /* each model's prompt as the router will read it */
    struct bk_prompt bp = {.text = j->prompt, .chat = j->prompt_chat, .think = j->params.think,
                           .msgs = j->msgs, .n_msgs = j->n_msgs};
    for (int w = 0; w < 2; w++) {
        struct glimp_tokens ids = {0};
        bool ok = true;
        if (s->m[w].b->ops->prompt_tokens(s->m[w].b, &bp, &ids) != GLIMP_OK)
            ok = srv_fail(err, 400, param, "%s", glimp_last_error());
        if (ok && !check_len(&s->m[w], ids.n, err)) {
            snprintf(err->param, sizeof err->param, "%s", param);
            ok = false;
        }
        if (w == 0)
            j->prompt_tokens = (uint32_t)ids.n;
        glimp_tokens_free(&ids);
        if (!ok)
            return false;
    }
    return true;
}

static bool setup_single(struct srv_server *s, struct srv_job *j, struct srv_error *err)
{
    const struct srv_req *r = &j->req;
    struct srv_model *m = j->model = &s->m[j->target == SRV_TARGET_LLM ? 1 : 0];
    const char *param = r->kind == SRV_CHAT ? "messages" : "prompt";
    if (!m->tok)
        return srv_fail(err, 400, "model",
                        "model %s is remote in text mode: this server cannot give its tokens "
                        "alone; ask the router (model glimp), or the model's own server",
                        j->target == SRV_TARGET_LLM ? "llm" : "slm");
    if (r->kind == SRV_CHAT) {
        char *text = NULL;
        if (!render_messages(m, r, j->params.think, &text, err))
            return false;
        int rc = prompt_ids(m, text, true, &j->ids);
        free(text);
        if (rc != GLIMP_OK)
            return srv_fail(err, 400, param, "%s", glimp_last_error());
    } else if (r->prompt) {
        if (prompt_ids(m, r->prompt, true, &j->ids) != GLIMP_OK)
            return srv_fail(err, 400, param, "%s", glimp_last_error());
    } else {
        for (size_t i = 0; i < r->n_prompt_ids; i++)
            if ((uint32_t)r->prompt_ids[i] >= m->b->n_vocab)
                return srv_fail(err, 400, param, "'prompt[%zu]': token id %d is outside the "
                                "vocabulary of %u", i, (int)r->prompt_ids[i], m->b->n_vocab);
        if (glimp_tokens_push(&j->ids, r->prompt_ids, r->n_prompt_ids) != GLIMP_OK)
            return srv_fail(err, 503, NULL, "out of memory");
    }
    if (j->ids.n == 0)
        return srv_fail(err, 400, param, "the prompt is empty: no tokens");
    if (!check_len(m, j->ids.n, err)) {
        snprintf(err->param, sizeof err->param, "%s", param);
        return false;
    }
    j->prompt_tokens = (uint32_t)j->ids.n;
    return true;
}

struct srv_job *srv_api_job(struct srv_server *s, enum srv_kind kind, const char *body,
                            size_t len, struct srv_reply *r)
{
    if (loading(s, r))
        return NULL;
    struct srv_error err = {0};
    struct srv_job *j = srv_job_new(s);
    if (!j) {
        srv_fail(&err, 503, NULL, "out of memory");
        srv_reply_error(r, &err);
        return NULL;
    }
    j->t_arrive = glimp_now();
    j->created = (long long)time(NULL);
    bool ok = srv_parse_request(body, len, kind, &j->req, &err) &&
              srv_resolve_params(&j->req, &s->o->defaults, s->o->profiles, s->o->n_profiles,
                                 s->routed, s->m[0].id, &j->params, &j->target, &err);
    if (ok) {
        if (kind == SRV_COMPLETION && j->req.max_tokens < 0)
            j->req.max_tokens = 16; /* OpenAI's and vLLM's default */
        make_id(j, kind == SRV_CHAT ? "chatcmpl" : "cmpl");
        j->model_name = j->req.model ? j->req.model : s->routed ? "glimp" : s->m[0].id;
        /* routed: chat goes through the router whatever the model (slm and
         * llm as policies, so the steps show) unless it asks for logprobs;
         * completions by slm or llm, and chat with logprobs, are one model
         * writing, with logprobs and exact ids */
        bool by_router = s->routed && (j->target == SRV_TARGET_ROUTER ||
                                       (kind == SRV_CHAT && j->req.logprobs < 0));
        ok = by_router ? setup_routed(s, j, &err) : setup_single(s, j, &err);
    }
    if (!ok) {
        srv_reply_error(r, &err);
        srv_job_unref(j);
        return NULL;
    }
    return j;
}
