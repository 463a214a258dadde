/* parse.c - request bodies to request parameters: every field of the chat,
 * completions, tokenize and detokenize requests checked for type and range,
 * and a bad one named in a 400 error. Pure (no I/O, no globals), so that the
 * fuzz target tests/fuzz/fuzz_serve_request.c can drive it alone. */
#include "server/server.h"

#include "core/jtext.h"

#include "glimp_eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool srv_fail(struct srv_error *err, int status, const char *param, const char *fmt, ...)
{
    err->status = status ? status : 400;
    if (!err->type)
        err->type = "invalid_request_error";
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

/* ------------------------------------------------------------ fields */

static const char *type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* A field that is absent or null counts as not given. */
static const json_t *field(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return v && !json_is_null(v) ? v : NULL;
}

static bool get_bool(const json_t *o, const char *key, bool *out, struct srv_error *err)
{
    const json_t *v = field(o, key);
    if (!v)
        return true;
    if (!json_is_boolean(v))
        return srv_fail(err, 400, key, "'%s' must be a boolean, not %s", key, type_of(v));
    *out = json_is_true(v);
    return true;
}

/* A number (integer or real) in [min, max]; *set says whether it was given. */
static bool get_num(const json_t *o, const char *key, double min, double max, double *out,
                    bool *set, struct srv_error *err)
{
    const json_t *v = field(o, key);
    if (!v)
        return true;
    if (!json_is_number(v))
        return srv_fail(err, 400, key, "'%s' must be a number, not %s", key, type_of(v));
    double x = json_number_value(v);
    if (!isfinite(x) || x < min || x > max)
        return srv_fail(err, 400, key, "'%s' must be from %g to %g, not %g", key, min, max, x);
    *out = x;
    if (set)
        *set = true;
    return true;
}

/* A whole number in [min, max]: an integer, or a real with no fraction. */
static bool get_int(const json_t *o, const char *key, int64_t min, int64_t max, int64_t *out,
                    bool *set, struct srv_error *err)
{
    const json_t *v = field(o, key);
    if (!v)
        return true;
    int64_t x;
    if (json_is_integer(v)) {
        x = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d == floor(d)) || d < -9.0e18 || d > 9.0e18)
            return srv_fail(err, 400, key, "'%s' must be a whole number, not %g", key, d);
        x = (int64_t)d;
    } else {
        return srv_fail(err, 400, key, "'%s' must be an integer, not %s", key, type_of(v));
    }
    if (x < min || x > max)
        return srv_fail(err, 400, key, "'%s' must be from %lld to %lld, not %lld", key,
                        (long long)min, (long long)max, (long long)x);
    *out = x;
    if (set)
        *set = true;
    return true;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* A string with no NUL byte (jansson has checked it is UTF-8). */
static bool take_string(const json_t *v, const char *param, char **out, struct srv_error *err)
{
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (memchr(s, '\0', n))
        return srv_fail(err, 400, param, "'%s' holds a NUL character", param);
    if (!(*out = dup_n(s, n)))
        return srv_fail(err, 500, param, "out of memory");
    return true;
}

/* ------------------------------------------------------------ chat */

/* content: a string, or an array of {"type": "text", "text": ...} parts
 * (joined), as OpenAI's chat API allows. */
static bool message_text(const json_t *v, const char *param, char **out, struct srv_error *err)
{
    if (json_is_string(v))
        return take_string(v, param, out, err);
    if (!json_is_array(v))
        return srv_fail(err, 400, param, "'%s' must be a string or an array of text parts, not %s",
                        param, type_of(v));
    size_t total = 0, i;
    const json_t *part;
    json_array_foreach(v, i, part)
    {
        const json_t *type = json_object_get(part, "type");
        const json_t *text = json_object_get(part, "text");
        if (!json_is_object(part) || !json_is_string(type) ||
            strcmp(json_string_value(type), "text") != 0 || !json_is_string(text))
            return srv_fail(err, 400, param,
                            "'%s[%zu]' must be a text part {\"type\": \"text\", \"text\": ...}",
                            param, i);
        total += json_string_length(text);
    }
    char *s = malloc(total + 1);
    if (!s)
        return srv_fail(err, 500, param, "out of memory");
    size_t n = 0;
    json_array_foreach(v, i, part)
    {
        const json_t *text = json_object_get(part, "text");
        memcpy(s + n, json_string_value(text), json_string_length(text));
        n += json_string_length(text);
    }
    s[n] = '\0';
    if (strlen(s) != n) {
        free(s);
        return srv_fail(err, 400, param, "'%s' holds a NUL character", param);
    }
    *out = s;
    return true;
}

static bool parse_messages(const json_t *root, struct srv_req *r, struct srv_error *err)
{
    const json_t *msgs = field(root, "messages");
    if (!msgs)
        return srv_fail(err, 400, "messages", "'messages' is required");
    if (!json_is_array(msgs))
        return srv_fail(err, 400, "messages", "'messages' must be an array, not %s",
                        type_of(msgs));
    size_t n = json_array_size(msgs);
    if (n == 0)
        return srv_fail(err, 400, "messages", "'messages' is empty");
    if (n > SRV_MAX_MESSAGES)
        return srv_fail(err, 400, "messages", "'messages' has %zu entries, at most %d", n,
                        SRV_MAX_MESSAGES);
    if (!(r->msgs = calloc(n, sizeof *r->msgs)))
        return srv_fail(err, 500, "messages", "out of memory");
    r->n_msgs = n;
    char param[64];
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(msgs, i);
        struct srv_msg *out = &r->msgs[i];
        snprintf(param, sizeof param, "messages[%zu]", i);
        if (!json_is_object(m))
            return srv_fail(err, 400, param, "'%s' must be an object, not %s", param, type_of(m));
        const json_t *role = json_object_get(m, "role");
        snprintf(param, sizeof param, "messages[%zu].role", i);
        if (!json_is_string(role))
            return srv_fail(err, 400, param, "'%s' must be a string", param);
        const char *rs = json_string_value(role);
        if (!strcmp(rs, "developer"))
            rs = "system";
        if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant"))
            return srv_fail(err, 400, param,
                            "'%s' must be system, developer, user or assistant, not '%.40s'", param,
                            rs);
        if (!(out->role = dup_n(rs, strlen(rs))))
            return srv_fail(err, 500, param, "out of memory");
        const json_t *content = field(m, "content");
        snprintf(param, sizeof param, "messages[%zu].content", i);
        if (!content && strcmp(rs, "assistant") != 0)
            return srv_fail(err, 400, param, "'%s' is required", param);
        if (content && !message_text(content, param, &out->content, err))
            return false;
        if (!content && !(out->content = dup_n("", 0)))
            return srv_fail(err, 500, param, "out of memory");
        const json_t *rc = field(m, "reasoning_content");
        if (!rc)
            rc = field(m, "reasoning");
        snprintf(param, sizeof param, "messages[%zu].reasoning_content", i);
        if (rc && !json_is_string(rc))
            return srv_fail(err, 400, param, "'%s' must be a string", param);
        if (rc && !take_string(rc, param, &out->reasoning, err))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ completions */

static bool parse_prompt(const json_t *root, struct srv_req *r, struct srv_error *err)
{
    const json_t *p = field(root, "prompt");
    if (!p)
        return srv_fail(err, 400, "prompt", "'prompt' is required");
    if (json_is_string(p))
        return take_string(p, "prompt", &r->prompt, err);
    if (!json_is_array(p))
        return srv_fail(err, 400, "prompt",
                        "'prompt' must be a string or an array of token ids, not %s", type_of(p));
    size_t n = json_array_size(p);
    /* a batch of one prompt, [[ids]] or ["text"], is one prompt */
    if (n == 1 && (json_is_array(json_array_get(p, 0)) || json_is_string(json_array_get(p, 0)))) {
        p = json_array_get(p, 0);
        if (json_is_string(p))
            return take_string(p, "prompt", &r->prompt, err);
        n = json_array_size(p);
    }
    if (n == 0)
        return srv_fail(err, 400, "prompt", "'prompt' is empty");
    if (n > SRV_MAX_PROMPT_IDS)
        return srv_fail(err, 400, "prompt", "'prompt' has %zu token ids, too many", n);
    if (!(r->prompt_ids = malloc(n * sizeof *r->prompt_ids)))
        return srv_fail(err, 500, "prompt", "out of memory");
    r->n_prompt_ids = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(p, i);
        if (json_is_string(v) || json_is_array(v))
            return srv_fail(err, 400, "prompt",
                            "'prompt': a batch of several prompts is not supported (n = 1)");
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > INT32_MAX)
            return srv_fail(err, 400, "prompt",
                            "'prompt[%zu]' must be a token id (a whole number >= 0)", i);
        r->prompt_ids[i] = (int32_t)json_integer_value(v);
    }
    return true;
}

static bool parse_stop(const json_t *root, struct srv_req *r, struct srv_error *err)
{
    const json_t *s = field(root, "stop");
    if (!s)
        return true;
    if (json_is_string(s)) {
        if (json_string_length(s) == 0)
            return true;
        if (json_string_length(s) > SRV_MAX_STOP_LEN)
            return srv_fail(err, 400, "stop", "'stop' is longer than %d bytes", SRV_MAX_STOP_LEN);
        if (!take_string(s, "stop", &r->stop[0], err))
            return false;
        r->n_stop = 1;
        return true;
    }
    if (!json_is_array(s))
        return srv_fail(err, 400, "stop", "'stop' must be a string or an array of strings, not %s",
                        type_of(s));
    if (json_array_size(s) > SRV_MAX_STOP)
        return srv_fail(err, 400, "stop", "'stop' has %zu strings, at most %d",
                        json_array_size(s), SRV_MAX_STOP);
    for (size_t i = 0; i < json_array_size(s); i++) {
        const json_t *v = json_array_get(s, i);
        if (!json_is_string(v))
            return srv_fail(err, 400, "stop", "'stop[%zu]' must be a string, not %s", i,
                            type_of(v));
        if (json_string_length(v) > SRV_MAX_STOP_LEN)
            return srv_fail(err, 400, "stop", "'stop[%zu]' is longer than %d bytes", i,
                            SRV_MAX_STOP_LEN);
        if (json_string_length(v) == 0)
            continue;
        if (!take_string(v, "stop", &r->stop[r->n_stop], err))
            return false;
        r->n_stop++;
    }
    return true;
}

/* ------------------------------------------------------------ glimp object */

/* tau: a number, or "inf" / "-inf" (JSON has no infinity). */
static bool get_tau(const json_t *g, struct srv_req *r, struct srv_error *err)
{
    const json_t *v = field(g, "tau");
    if (!v)
        return true;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "inf") && strcmp(s, "+inf") && strcmp(s, "-inf"))
            return srv_fail(err, 400, "glimp.tau", "'glimp.tau' must be a number, inf or -inf");
        r->tau = s[0] == '-' ? -INFINITY : INFINITY;
        r->set_tau = true;
        return true;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return srv_fail(err, 400, "glimp.tau", "'glimp.tau' must be a number, inf or -inf");
    r->tau = json_number_value(v);
    r->set_tau = true;
    return true;
}

static bool parse_glimp(const json_t *root, struct srv_req *r, struct srv_error *err)
{
    const json_t *g = field(root, "glimp");
    if (!g)
        return true;
    if (!json_is_object(g))
        return srv_fail(err, 400, "glimp", "'glimp' must be an object, not %s", type_of(g));
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)g, key, v)
    {
        static const char *const known[] = {"policy", "tau",   "share",     "signal",
                                            "glimpse", "draft", "max_think", "max_step"};
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok = ok || !strcmp(key, known[i]);
        if (!ok)
            return srv_fail(err, 400, "glimp",
                            "'glimp.%.40s' is not a routing field (policy, tau, share, signal, "
                            "glimpse, draft, max_think, max_step)",
                            key);
    }
    const json_t *p = field(g, "policy");
    if (p && (!json_is_string(p) || !glimp_policy_parse(json_string_value(p), &r->policy)))
        return srv_fail(err, 400, "glimp.policy",
                        "'glimp.policy' must be glimp, share, instance, random, slm, llm or "
                        "specreason");
    r->set_policy = p != NULL;
    const json_t *s = field(g, "signal");
    if (s && (!json_is_string(s) || !glimp_signal_parse(json_string_value(s), &r->signal)))
        return srv_fail(err, 400, "glimp.signal", "'glimp.signal' must be hinit, hstep or ppl");
    r->set_signal = s != NULL;
    int64_t x = 0;
    if (!get_tau(g, r, err) ||
        !get_num(g, "share", 0.0, 1.0, &r->share, &r->set_share, err))
        goto named;
    if (!get_int(g, "glimpse", 1, 1 << 20, &x, &r->set_glimpse, err))
        goto named;
    r->glimpse = (uint32_t)x;
    if (!get_int(g, "draft", 0, 64, &x, &r->set_draft, err))
        goto named;
    r->draft = (uint32_t)x;
    if (!get_int(g, "max_think", 0, INT32_MAX, &x, &r->set_max_think, err))
        goto named;
    r->max_think = (uint32_t)x;
    if (!get_int(g, "max_step", 1, 1 << 20, &x, &r->set_max_step, err))
        goto named;
    r->max_step = (uint32_t)x;
    return true;
named: /* the field is glimp.<key>: say so in param and message */
    if (err->param[0] && strncmp(err->param, "glimp.", 6) != 0) {
        char buf[sizeof err->message];
        size_t pn = strlen(err->param);
        if (pn + 7 <= sizeof err->param) {
            memmove(err->param + 6, err->param, pn + 1);
            memcpy(err->param, "glimp.", 6);
        }
        size_t mn = strlen(err->message);
        if (err->message[0] == '\'' && mn + 7 <= sizeof buf) {
            buf[0] = '\'';
            memcpy(buf + 1, "glimp.", 6);
            memcpy(buf + 7, err->message + 1, mn); /* with its NUL */
            memcpy(err->message, buf, mn + 7);
        }
    }
    return false;
}

/* ------------------------------------------------------------ the request */

static bool parse_common(const json_t *root, struct srv_req *r, struct srv_error *err)
{
    const json_t *model = field(root, "model");
    if (model && !json_is_string(model))
        return srv_fail(err, 400, "model", "'model' must be a string, not %s", type_of(model));
    if (model && !take_string(model, "model", &r->model, err))
        return false;
    int64_t x = 0;
    bool set = false;
    if (!get_int(root, "n", 1, INT64_MAX, &x, NULL, err))
        return false;
    if (x > 1)
        return srv_fail(err, 400, "n", "'n' must be 1: one choice per request");
    const char *mt = r->kind == SRV_CHAT && field(root, "max_completion_tokens")
                         ? "max_completion_tokens"
                         : "max_tokens";
    if (!get_int(root, mt, r->kind == SRV_CHAT ? 1 : 0, 1 << 24, &x, &set, err))
        return false;
    r->max_tokens = set ? x : -1;
    double d = 0;
    if (!get_num(root, "temperature", 0.0, 1e6, &d, &r->set_temperature, err))
        return false;
    r->temperature = (float)d;
    if (!get_num(root, "top_p", 0.0, 1.0, &d, &r->set_top_p, err))
        return false;
    r->top_p = (float)d;
    if (!get_num(root, "min_p", 0.0, 1.0, &d, &r->set_min_p, err))
        return false;
    r->min_p = (float)d;
    /* top_k: -1 is off in vLLM, 0 in llama.cpp */
    if (!get_int(root, "top_k", -1, UINT32_MAX, &x, &r->set_top_k, err))
        return false;
    r->top_k = x < 0 ? 0 : (uint32_t)x;
    if (!get_int(root, "seed", 0, INT64_MAX / 2, &x, &r->set_seed, err))
        return false;
    r->seed = (uint64_t)x;
    if (!parse_stop(root, r, err))
        return false;
    if (!get_bool(root, "stream", &r->stream, err))
        return false;
    const json_t *so = field(root, "stream_options");
    if (so && !json_is_object(so))
        return srv_fail(err, 400, "stream_options", "'stream_options' must be an object, not %s",
                        type_of(so));
    if (so && !get_bool(so, "include_usage", &r->include_usage, err))
        return srv_fail(err, 400, "stream_options.include_usage",
                        "'stream_options.include_usage' must be a boolean");
    return parse_glimp(root, r, err);
}

static bool parse_chat_only(const json_t *root, struct srv_req *r, struct srv_error *err)
{
    if (!parse_messages(root, r, err))
        return false;
    const json_t *kw = field(root, "chat_template_kwargs");
    if (kw && !json_is_object(kw))
        return srv_fail(err, 400, "chat_template_kwargs",
                        "'chat_template_kwargs' must be an object, not %s", type_of(kw));
    bool think = true;
    if (kw && field(kw, "enable_thinking")) {
        if (!get_bool(kw, "enable_thinking", &think, err))
            return srv_fail(err, 400, "chat_template_kwargs.enable_thinking",
                            "'chat_template_kwargs.enable_thinking' must be a boolean");
        r->enable_thinking = think;
    }
    /* logprobs true, with top_logprobs entries per token (vLLM refuses
     * top_logprobs without logprobs, 0 included) */
    bool lp = false;
    int64_t top = 0;
    bool top_set = false;
    if (!get_bool(root, "logprobs", &lp, err) ||
        !get_int(root, "top_logprobs", 0, SRV_MAX_LOGPROBS, &top, &top_set, err))
        return false;
    if (top_set && !lp)
        return srv_fail(err, 400, "top_logprobs", "'top_logprobs' needs 'logprobs': true");
    r->logprobs = lp ? (int)top : -1;
    /* continue_final_message, as vLLM has it: the last message is the
     * assistant's and is continued, so no generation prompt opens another
     * (omitted, add_generation_prompt is then false) */
    bool gen_set = field(root, "add_generation_prompt") != NULL;
    r->add_generation_prompt = true;
    if (!get_bool(root, "add_generation_prompt", &r->add_generation_prompt, err) ||
        !get_bool(root, "continue_final_message", &r->continue_final, err))
        return false;
    if (r->continue_final) {
        const char *last = r->msgs[r->n_msgs - 1].role;
        if (strcmp(last, "assistant") != 0)
            return srv_fail(err, 400, "continue_final_message",
                            "'continue_final_message' needs the last message to be the "
                            "assistant's, not the %s's",
                            last);
        if (gen_set && r->add_generation_prompt)
            return srv_fail(err, 400, "add_generation_prompt",
                            "'add_generation_prompt' and 'continue_final_message' cannot both be "
                            "true: the last message is continued or a new one opened");
        r->add_generation_prompt = false;
    }
    return true;
}

static bool parse_completion_only(const json_t *root, struct srv_req *r, struct srv_error *err)
{
    if (!parse_prompt(root, r, err))
        return false;
    int64_t x = -1;
    bool set = false;
    if (!get_int(root, "logprobs", 0, SRV_MAX_LOGPROBS, &x, &set, err))
        return false;
    r->logprobs = set ? (int)x : -1;
    if (!get_bool(root, "return_tokens_as_token_ids", &r->tokens_as_ids, err) ||
        !get_bool(root, "return_token_ids", &r->return_token_ids, err))
        return false;
    bool echo = false;
    if (!get_bool(root, "echo", &echo, err))
        return false;
    if (echo)
        return srv_fail(err, 400, "echo", "'echo' is not supported");
    return true;
}

bool srv_parse_request(const char *body, size_t len, enum srv_kind kind, struct srv_req *out,
                       struct srv_error *err)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->max_tokens = -1;
    out->enable_thinking = -1;
    out->logprobs = -1;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return srv_fail(err, 400, NULL, "the body is not valid JSON: %s (at byte %d)", je.text,
                        je.position);
    bool ok;
    if (!json_is_object(root))
        ok = srv_fail(err, 400, NULL, "the body must be a JSON object, not %s", type_of(root));
    else
        ok = parse_common(root, out, err) &&
             (kind == SRV_CHAT ? parse_chat_only(root, out, err)
                               : parse_completion_only(root, out, err));
    json_decref(root);
    if (!ok) {
        srv_req_free(out);
        memset(out, 0, sizeof *out);
    }
    return ok;
}

void srv_req_free(struct srv_req *r)
{
    if (!r)
        return;
    free(r->model);
    for (size_t i = 0; i < r->n_msgs; i++) {
        free(r->msgs[i].role);
        free(r->msgs[i].content);
        free(r->msgs[i].reasoning);
    }
    free(r->msgs);
    free(r->prompt);
    free(r->prompt_ids);
    for (size_t i = 0; i < r->n_stop; i++)
        free(r->stop[i]);
    r->n_stop = 0;
}

/* ------------------------------------------------------------ resolving */

/* The profile a model name "glimp:NAME" picks, or NULL. */
static const struct srv_profile *find_profile(const char *model, const struct srv_profile *ps,
                                              size_t n)
{
    if (strncmp(model, "glimp:", 6) != 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(model + 6, ps[i].name))
            return &ps[i];
    return NULL;
}

bool srv_resolve_params(const struct srv_req *r, const struct glimp_router_params *defaults,
                        const struct srv_profile *profiles, size_t n_profiles, bool routed, const char *single_id, struct glimp_router_params *out,
                        enum srv_target *target, struct srv_error *err)
{
    struct glimp_router_params p = *defaults;
    const struct srv_profile *prof;
    *target = SRV_TARGET_ROUTER;
    const char *m = r->model;
    if (!routed) {
        if (m && strcmp(m, single_id) != 0 && strcmp(m, "glimp") != 0 && strcmp(m, "default"))
            return srv_fail(err, 400, "model", "the model '%.100s' does not exist; this server "
                            "has '%s'", m, single_id);
        if (r->set_policy || r->set_tau || r->set_share || r->set_signal || r->set_glimpse ||
            r->set_draft || r->set_max_think || r->set_max_step)
            return srv_fail(err, 400, "glimp",
                            "'glimp' routing fields need a routed server (--slm and --llm)");
        *target = SRV_TARGET_SLM; /* the one model */
    } else if (m && !strcmp(m, "slm")) {
        *target = SRV_TARGET_SLM;
        p.policy = GLIMP_POLICY_SLM;
        p.answer_model = GLIMP_WRITER_SLM;
    } else if (m && !strcmp(m, "llm")) {
        *target = SRV_TARGET_LLM;
        p.policy = GLIMP_POLICY_LLM;
        p.answer_model = GLIMP_WRITER_LLM;
    } else if (m && (prof = find_profile(m, profiles, n_profiles))) {
        p = prof->params;
    } else if (m && strcmp(m, "glimp") != 0) {
        struct glimp_method method;
        if (glimp_method_parse(m, defaults, &method) != GLIMP_OK)
            return srv_fail(err, 400, "model",
                            "the model '%.100s' does not exist: use glimp, slm, llm or a method "
                            "such as glimp:tau=0.8 (%.200s)",
                            m, glimp_last_error());
        if (method.share_auto)
            return srv_fail(err, 400, "model", "the model '%.100s': share=auto needs an eval; "
                            "give a number", m);
        p = method.params;
    }
    if (r->set_policy)
        p.policy = r->policy;
    if (r->set_tau)
        p.tau = r->tau;
    if (r->set_share)
        p.share = r->share;
    if (r->set_signal)
        p.signal = r->signal;
    if (r->set_glimpse)
        p.glimpse = r->glimpse;
    if (r->set_draft)
        p.draft = r->draft;
    if (r->set_max_think)
        p.max_think = r->max_think;
    if (r->set_max_step)
        p.max_step = r->max_step;
    if (p.glimpse > 1 && p.signal != GLIMP_SIGNAL_HINIT)
        return srv_fail(err, 400, "glimp.glimpse", "'glimp.glimpse' %u goes with the hinit "
                        "signal, not %s", p.glimpse, glimp_signal_name(p.signal));
    if (r->set_temperature)
        p.sampling.temperature = r->temperature;
    if (r->set_top_p)
        p.sampling.top_p = r->top_p;
    if (r->set_top_k)
        p.sampling.top_k = r->top_k;
    if (r->set_min_p)
        p.sampling.min_p = r->min_p;
    if (r->set_seed)
        p.seed = r->seed;
    p.sampling.seed = p.seed;
    if (r->enable_thinking >= 0)
        p.think = r->enable_thinking != 0;
    if (r->logprobs >= 0 && routed && *target == SRV_TARGET_ROUTER)
        return srv_fail(err, 400, "logprobs",
                        "'logprobs' needs one model writing: use model slm or llm (the router "
                        "mixes two)");
    *out = p;
    return true;
}

/* ------------------------------------------------------------ tokenize */

static json_t *load_object(const char *body, size_t len, struct srv_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        srv_fail(err, 400, NULL, "the body is not valid JSON: %s (at byte %d)", je.text,
                 je.position);
        return NULL;
    }
    if (!json_is_object(root)) {
        srv_fail(err, 400, NULL, "the body must be a JSON object, not %s", type_of(root));
        json_decref(root);
        return NULL;
    }
    return root;
}

bool srv_parse_tokenize(const char *body, size_t len, struct srv_tok_req *out,
                        struct srv_error *err)
{
    memset(out, 0, sizeof *out);
    out->add_special = true;
    json_t *root = load_object(body, len, err);
    if (!root)
        return false;
    const char *key = field(root, "content") ? "content" : "prompt";
    const json_t *t = field(root, key);
    bool ok = true;
    if (!t)
        ok = srv_fail(err, 400, "content", "'content' (or 'prompt') is required");
    else if (!json_is_string(t))
        ok = srv_fail(err, 400, key, "'%s' must be a string, not %s", key, type_of(t));
    else
        ok = take_string(t, key, &out->text, err);
    const char *add = field(root, "add_special") ? "add_special" : "add_special_tokens";
    ok = ok && get_bool(root, add, &out->add_special, err) &&
         get_bool(root, "with_pieces", &out->with_pieces, err);
    json_decref(root);
    if (!ok)
        srv_tok_req_free(out);
    return ok;
}

bool srv_parse_detokenize(const char *body, size_t len, struct srv_tok_req *out,
                          struct srv_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *root = load_object(body, len, err);
    if (!root)
        return false;
    const json_t *t = field(root, "tokens");
    bool ok = true;
    if (!t)
        ok = srv_fail(err, 400, "tokens", "'tokens' is required");
    else if (!json_is_array(t))
        ok = srv_fail(err, 400, "tokens", "'tokens' must be an array of token ids, not %s",
                      type_of(t));
    else if (json_array_size(t) > SRV_MAX_PROMPT_IDS)
        ok = srv_fail(err, 400, "tokens", "'tokens' has too many ids");
    size_t n = ok ? json_array_size(t) : 0;
    if (ok && !(out->ids = malloc((n ? n : 1) * sizeof *out->ids)))
        ok = srv_fail(err, 500, "tokens", "out of memory");
    for (size_t i = 0; ok && i < n; i++) {
        const json_t *v = json_array_get(t, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            ok = srv_fail(err, 400, "tokens", "'tokens[%zu]' must be a token id", i);
        else
            out->ids[out->n_ids++] = (int32_t)json_integer_value(v);
    }
    json_decref(root);
    if (!ok)
        srv_tok_req_free(out);
    return ok;
}

void srv_tok_req_free(struct srv_tok_req *r)
{
    if (!r)
        return;
    free(r->text);
    free(r->ids);
    r->text = NULL;
    r->ids = NULL;
    r->n_ids = 0;
}

json_t *srv_number(double x)
{
    if (isnan(x))
        return json_null();
    if (isinf(x))
        return json_string(x > 0 ? "inf" : "-inf");
    return json_real(x);
}

char *srv_error_body(const struct srv_error *err)
{
    const char *code = NULL;
    switch (err->status) {
    case 401: code = "invalid_api_key"; break;
    case 404: code = "not_found"; break;
    case 413: code = "request_too_large"; break;
    case 503: code = "server_busy"; break;
    default: break;
    }
    json_t *e = json_pack("{s:o,s:s,s:o,s:o}", "message",
                          jtext_new(err->message, strlen(err->message)), "type",
                          err->type ? err->type : "invalid_request_error", "param",
                          err->param[0] ? json_string(err->param) : json_null(), "code",
                          code ? json_string(code) : json_integer(err->status));
    json_t *root = e ? json_pack("{s:o}", "error", e) : NULL;
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}
