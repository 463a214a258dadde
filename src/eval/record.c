/* record.c - the one reader and writer of results.jsonl lines. A line is
 * made from a router result (ev_record_make), written as compact JSON with
 * its fields in a fixed order (ev_record_format), and read back into the
 * same struct (ev_records_read), so a record read and written again gives
 * the same bytes. */
#include "eval/record.h"

#include "core/error.h"
#include "core/jtext.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void ev_record_make(struct glimp_eval_record *rec, const struct glimp_method *m, uint32_t run,
                    const struct glimp_problem *pb, bool correct, const char *extracted,
                    const struct glimp_router_result *r, struct glimp_eval_step *steps)
{
    const struct glimp_router_summary *s = &r->summary;
    const struct glimp_router_params *p = &m->params;
    size_t n = 0;
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct glimp_step_event *e = &r->steps[i];
        if (e->phase != GLIMP_PHASE_THINK)
            continue;
        struct glimp_eval_step *st = &steps[n++];
        memset(st, 0, sizeof *st);
        snprintf(st->writer, sizeof st->writer, "%s", glimp_writer_name(e->writer));
        st->h_init = e->h_init;
        st->signal = e->signal;
        st->easy = e->easy;
        st->n_tokens = e->n_tokens;
        st->rewritten = e->rewritten;
        st->text = e->text;
        st->text_len = e->text ? e->text_len : 0;
    }
    *rec = (struct glimp_eval_record){
        .method = m->spec,
        .run = run,
        .id = pb->id,
        .correct = correct,
        .extracted = extracted,
        .policy = glimp_policy_name(p->policy),
        .signal = glimp_signal_name(p->signal),
        .tau = p->tau,
        .share = p->share,
        .draft = p->draft,
        .latency_s = s->wall_s,
        .ttft_s = s->ttft_s,
        .steps_slm = s->steps_slm,
        .steps_llm = s->steps_llm,
        .tokens_slm = s->tokens_slm,
        .tokens_llm = s->tokens_llm,
        .slm_s = s->slm_s,
        .llm_s = s->llm_s,
        .sync_s = s->sync_s,
        .overhead_s = s->overhead_s,
        .llm_share_steps = s->llm_share_steps,
        .llm_share_tokens = s->llm_share_tokens,
        .draft_proposed = s->draft_proposed,
        .draft_accepted = s->draft_accepted,
        .rewrites = s->rewrites,
        .think_end = glimp_think_end_name(s->think_end),
        .steps = steps,
        .n_steps = n,
        .expected = pb->answer,
    };
}

/* A number JSON can hold: NaN (not computed) as null, +-inf as "inf" and
 * "-inf"; read back by num(). */
static json_t *jnum(double x)
{
    if (isnan(x))
        return json_null();
    if (isinf(x))
        return json_string(x > 0 ? "inf" : "-inf");
    return json_real(x);
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_number(v))
        return json_number_value(v);
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "inf"))
        return INFINITY;
    if (s && !strcmp(s, "-inf"))
        return -INFINITY;
    return NAN;
}

/* The fields, in the order lines have always had (the step text and the
 * expected answer, added later, last). Some are json_real (a
 * value that is not finite leaves the field out) and some jnum, as they
 * were first written. */
int ev_record_format(const struct glimp_eval_record *rec, char **line)
{
    *line = NULL;
    json_t *steps = json_array();
    for (size_t i = 0; steps && i < rec->n_steps; i++) {
        const struct glimp_eval_step *e = &rec->steps[i];
        json_t *st = json_pack("{s:s, s:o, s:o, s:i, s:i, s:b}", "w", e->writer, "h",
                               jnum(e->h_init), "sig", jnum(e->signal), "easy", e->easy, "n",
                               (int)e->n_tokens, "rw", e->rewritten);
        if (st && e->text)
            json_object_set_new(st, "t", jtext_new(e->text, e->text_len));
        json_array_append_new(steps, st);
    }
    json_t *o = json_object();
    if (!o || !steps) {
        json_decref(o);
        json_decref(steps);
        return glimp_error(GLIMP_ERR_NOMEM, "record: out of memory");
    }
    json_object_set_new(o, "method", json_string(rec->method));
    json_object_set_new(o, "run", json_integer(rec->run));
    json_object_set_new(o, "id", json_string(rec->id));
    json_object_set_new(o, "correct", json_boolean(rec->correct));
    json_object_set_new(o, "extracted", rec->extracted ? json_string(rec->extracted) : json_null());
    json_object_set_new(o, "policy", json_string(rec->policy));
    json_object_set_new(o, "signal", json_string(rec->signal));
    json_object_set_new(o, "tau", jnum(rec->tau));
    json_object_set_new(o, "share", json_real(rec->share));
    json_object_set_new(o, "draft", json_integer(rec->draft));
    json_object_set_new(o, "latency_s", json_real(rec->latency_s));
    json_object_set_new(o, "ttft_s", jnum(rec->ttft_s));
    json_object_set_new(o, "steps_slm", json_integer(rec->steps_slm));
    json_object_set_new(o, "steps_llm", json_integer(rec->steps_llm));
    json_object_set_new(o, "tokens_slm", json_integer((json_int_t)rec->tokens_slm));
    json_object_set_new(o, "tokens_llm", json_integer((json_int_t)rec->tokens_llm));
    json_object_set_new(o, "slm_s", json_real(rec->slm_s));
    json_object_set_new(o, "llm_s", json_real(rec->llm_s));
    json_object_set_new(o, "sync_s", json_real(rec->sync_s));
    json_object_set_new(o, "overhead_s", json_real(rec->overhead_s));
    json_object_set_new(o, "llm_share_steps", json_real(rec->llm_share_steps));
    json_object_set_new(o, "llm_share_tokens", json_real(rec->llm_share_tokens));
    json_object_set_new(o, "draft_proposed", json_integer((json_int_t)rec->draft_proposed));
    json_object_set_new(o, "draft_accepted", json_integer((json_int_t)rec->draft_accepted));
    json_object_set_new(o, "rewrites", json_integer(rec->rewrites));
    json_object_set_new(o, "think_end", json_string(rec->think_end));
    json_object_set_new(o, "steps", steps);
    if (rec->expected)
        json_object_set_new(o, "expected", jtext_new(rec->expected, strlen(rec->expected)));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    size_t n = text ? strlen(text) : 0;
    char *out = text ? malloc(n + 2) : NULL;
    if (!out) {
        free(text);
        return glimp_error(GLIMP_ERR_NOMEM, "record: out of memory");
    }
    memcpy(out, text, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    free(text);
    *line = out;
    return GLIMP_OK;
}

static uint64_t count(json_t *o, const char *key, uint64_t max)
{
    json_t *v = json_object_get(o, key);
    json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;
    return i < 0 ? 0 : (uint64_t)i > max ? max : (uint64_t)i;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Steps of one line, into a buffer kept across lines. */
struct ev_steps_buf {
    struct glimp_eval_step *v;
    size_t cap;
};

/* o as a record, pointing into o; *ok false when it is not one. */
static int parse(json_t *o, struct glimp_eval_record *rec, struct ev_steps_buf *sb, bool *ok)
{
    *ok = false;
    json_t *run = json_object_get(o, "run");
    memset(rec, 0, sizeof *rec);
    rec->method = json_string_value(json_object_get(o, "method"));
    rec->id = json_string_value(json_object_get(o, "id"));
    json_t *correct = json_object_get(o, "correct");
    rec->latency_s = num(o, "latency_s");
    if (!rec->method || !rec->id || !json_is_integer(run) || json_integer_value(run) < 0 ||
        json_integer_value(run) > UINT32_MAX || !json_is_boolean(correct) ||
        !isfinite(rec->latency_s))
        return GLIMP_OK;
    rec->run = (uint32_t)json_integer_value(run);
    rec->correct = json_is_true(correct);
    rec->extracted = json_string_value(json_object_get(o, "extracted"));
    rec->policy = str(o, "policy");
    rec->signal = str(o, "signal");
    rec->tau = num(o, "tau");
    rec->share = num(o, "share");
    rec->draft = (uint32_t)count(o, "draft", UINT32_MAX);
    rec->ttft_s = num(o, "ttft_s");
    rec->steps_slm = (uint32_t)count(o, "steps_slm", UINT32_MAX);
    rec->steps_llm = (uint32_t)count(o, "steps_llm", UINT32_MAX);
    rec->tokens_slm = count(o, "tokens_slm", INT64_MAX);
    rec->tokens_llm = count(o, "tokens_llm", INT64_MAX);
    rec->slm_s = num(o, "slm_s");
    rec->llm_s = num(o, "llm_s");
    rec->sync_s = num(o, "sync_s");
    rec->overhead_s = num(o, "overhead_s");
    rec->llm_share_steps = num(o, "llm_share_steps");
    rec->llm_share_tokens = num(o, "llm_share_tokens");
    rec->draft_proposed = count(o, "draft_proposed", INT64_MAX);
    rec->draft_accepted = count(o, "draft_accepted", INT64_MAX);
    rec->rewrites = (uint32_t)count(o, "rewrites", UINT32_MAX);
    rec->think_end = str(o, "think_end");
    rec->expected = json_string_value(json_object_get(o, "expected"));
    json_t *steps = json_object_get(o, "steps");
    size_t n = json_array_size(steps);
    if (n > sb->cap) {
        struct glimp_eval_step *v = realloc(sb->v, n * sizeof *v);
        if (!v)
            return glimp_error(GLIMP_ERR_NOMEM, "record: out of memory");
        sb->v = v;
        sb->cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(steps, i);
        struct glimp_eval_step *e = &sb->v[i];
        memset(e, 0, sizeof *e);
        const char *w = json_string_value(json_object_get(s, "w"));
        snprintf(e->writer, sizeof e->writer, "%s", w ? w : "");
        e->h_init = num(s, "h");
        e->signal = num(s, "sig");
        json_t *easy = json_object_get(s, "easy");
        json_int_t ev = json_is_integer(easy) ? json_integer_value(easy) : -1;
        e->easy = ev < -1 ? -1 : ev > 1 ? 1 : (int)ev;
        e->n_tokens = (uint32_t)count(s, "n", UINT32_MAX);
        json_t *t = json_object_get(s, "t");
        e->text = json_string_value(t);
        e->text_len = e->text ? json_string_length(t) : 0;
        e->rewritten = json_is_true(json_object_get(s, "rw"));
    }
    rec->steps = sb->v;
    rec->n_steps = n;
    *ok = true;
    return GLIMP_OK;
}

int ev_records_read(const char *path, const struct ev_read_opts *o, glimp_eval_record_cb fn,
                    void *user, size_t *complete, size_t *torn)
{
    if (complete)
        *complete = 0;
    if (torn)
        *torn = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return glimp_error(GLIMP_ERR_IO, "%s: %s", path, strerror(errno));
    struct ev_steps_buf sb = {0};
    char *line = NULL;
    size_t cap = 0, no = 0, at = 0;
    ssize_t got;
    int rc = GLIMP_OK;
    while (rc == GLIMP_OK && (got = getline(&line, &cap, f)) > 0) {
        bool whole = line[got - 1] == '\n';
        if (!whole && !o->tail_is_line) {
            if (torn)
                *torn = (size_t)got;
            break;
        }
        no++;
        at += (size_t)got;
        if (whole && complete)
            *complete = at;
        size_t len = (size_t)got - whole;
        if (len == 0 || (len == 1 && line[0] == '\r'))
            continue;
        json_error_t err;
        json_t *obj = json_loadb(line, len, 0, &err);
        struct glimp_eval_record rec;
        bool ok = false;
        char why[200];
        if (!obj)
            snprintf(why, sizeof why, "not JSON: %s", err.text);
        else if ((rc = parse(obj, &rec, &sb, &ok)) == GLIMP_OK && !ok)
            snprintf(why, sizeof why, "not a result line (method, run, id, correct, latency_s)");
        if (rc == GLIMP_OK && ok) {
            rec.line = no > UINT32_MAX ? UINT32_MAX : (uint32_t)no;
            rc = fn(&rec, user);
        } else if (rc == GLIMP_OK && o->on_bad) {
            o->on_bad(no, why, user);
        } else if (rc == GLIMP_OK) {
            rc = glimp_error(GLIMP_ERR_FORMAT, "%s:%zu: %s", path, no, why);
        }
        json_decref(obj);
    }
    if (rc == GLIMP_OK && ferror(f))
        rc = glimp_error(GLIMP_ERR_IO, "%s: read failed", path);
    free(line);
    free(sb.v);
    fclose(f);
    return rc;
}

int glimp_eval_records_read(const char *path, glimp_eval_record_cb fn, void *user)
{
    if (!path || !fn)
        return glimp_error(GLIMP_ERR_INVALID, "records: path or fn is NULL");
    struct ev_read_opts o = {.on_bad = NULL, .tail_is_line = true};
    return ev_records_read(path, &o, fn, user, NULL, NULL);
}
