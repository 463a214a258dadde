/* profile.c - routing profiles: a small JSON file of routing settings (the
 * format is in glimp.h), read with every field checked before any is
 * applied, and written in one fixed order. glimp tune writes them; glimp
 * run, eval and serve load them. */
#include "backend/backend.h"

#include "core/error.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROFILE_VERSION 1

/* A field's value is wrong: say which and what was expected. */
static int bad(const char *origin, const char *field, const char *want)
{
    return glimp_error(GLIMP_ERR_FORMAT, "%s: field '%s': expected %s", origin, field, want);
}

static bool get_uint(json_t *v, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    if (x < (json_int_t)min || x > (json_int_t)max)
        return false;
    *out = (uint32_t)x;
    return true;
}

static bool get_num(json_t *v, double min, double max, double *out)
{
    double x;
    const char *s = json_string_value(v);
    if (json_is_number(v))
        x = json_number_value(v);
    else if (s && !strcmp(s, "inf"))
        x = INFINITY;
    else if (s && !strcmp(s, "-inf"))
        x = -INFINITY;
    else
        return false;
    if (isnan(x) || x < min || x > max)
        return false;
    *out = x;
    return true;
}

/* One model of "pair". */
static int get_model(json_t *o, const char *origin, const char *which,
                     struct glimp_profile_model *m)
{
    char field[32];
    snprintf(field, sizeof field, "pair.%s", which);
    if (!json_is_object(o))
        return bad(origin, field, "an object with desc, n_vocab and vocab_hash");
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        snprintf(field, sizeof field, "pair.%s.%.12s", which, key);
        const char *s = json_string_value(v);
        if (!strcmp(key, "desc")) {
            if (!s || strlen(s) >= sizeof m->desc)
                return bad(origin, field, "a string of at most 255 bytes");
            snprintf(m->desc, sizeof m->desc, "%s", s);
        } else if (!strcmp(key, "n_vocab")) {
            if (!get_uint(v, 1, UINT32_MAX, &m->n_vocab))
                return bad(origin, field, "a whole number >= 1");
        } else if (!strcmp(key, "vocab_hash")) {
            char *end;
            errno = 0;
            if (!s || strlen(s) != 16 || (m->vocab_hash = strtoull(s, &end, 16), *end || errno))
                return bad(origin, field, "16 hex digits");
        } else {
            return glimp_error(GLIMP_ERR_FORMAT, "%s: unknown field '%s'", origin, field);
        }
    }
    return GLIMP_OK;
}

/* Every field of root into *p and *info (copies: the caller's change only
 * when all is well). */
static int apply(json_t *root, const char *origin, struct glimp_router_params *p,
                 struct glimp_profile_info *info)
{
    if (!json_is_object(root))
        return glimp_error(GLIMP_ERR_FORMAT, "%s: a profile is a JSON object", origin);
    json_t *ver = json_object_get(root, "glimp_profile");
    if (!ver)
        return glimp_error(GLIMP_ERR_FORMAT, "%s: not a glimp profile (no field 'glimp_profile')",
                           origin);
    if (!json_is_integer(ver) || json_integer_value(ver) != PROFILE_VERSION)
        return bad(origin, "glimp_profile", "1 (the only version there is)");
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        const char *s = json_string_value(v);
        double x;
        bool ok = true;
        const char *want = NULL;
        if (!strcmp(key, "glimp_profile")) {
            continue;
        } else if (!strcmp(key, "name")) {
            ok = s && strlen(s) < sizeof info->name;
            want = "a string of at most 63 bytes";
            if (ok)
                snprintf(info->name, sizeof info->name, "%s", s);
        } else if (!strcmp(key, "policy")) {
            ok = false;
            for (int i = GLIMP_POLICY_GLIMP; !ok && i <= GLIMP_POLICY_SPECREASON; i++)
                if (s && !strcmp(s, glimp_policy_name((enum glimp_policy)i)))
                    p->policy = (enum glimp_policy)i, ok = true;
            want = "glimp, share, instance, random, slm, llm or specreason";
        } else if (!strcmp(key, "signal")) {
            ok = false;
            for (int i = GLIMP_SIGNAL_HINIT; !ok && i <= GLIMP_SIGNAL_PPL; i++)
                if (s && !strcmp(s, glimp_signal_name((enum glimp_signal)i)))
                    p->signal = (enum glimp_signal)i, ok = true;
            want = "hinit, hstep or ppl";
        } else if (!strcmp(key, "glimpse")) {
            ok = get_uint(v, 1, 1u << 20, &p->glimpse);
            want = "a whole number from 1 to 1048576";
        } else if (!strcmp(key, "tau")) {
            ok = get_num(v, -INFINITY, INFINITY, &p->tau);
            want = "a number, \"inf\" or \"-inf\"";
        } else if (!strcmp(key, "share")) {
            ok = get_num(v, 0.0, 1.0, &p->share);
            want = "a number from 0 to 1";
        } else if (!strcmp(key, "instance_k")) {
            ok = get_uint(v, 1, UINT32_MAX, &p->instance_k);
            want = "a whole number >= 1";
        } else if (!strcmp(key, "instance_z")) {
            ok = get_num(v, -1e300, 1e300, &p->instance_z);
            want = "a finite number";
        } else if (!strcmp(key, "threshold")) {
            ok = get_num(v, 0.0, 10.0, &p->specreason_threshold);
            want = "a number from 0 to 10";
        } else if (!strcmp(key, "entropy")) {
            uint32_t k;
            char tail;
            ok = s && (!strcmp(s, "full") || (sscanf(s, "topk:%u%c", &k, &tail) == 1 && k >= 1 &&
                                              s[5] >= '0' && s[5] <= '9'));
            if (ok)
                p->entropy_topk = !strcmp(s, "full") ? 0 : k;
            want = "\"full\" or \"topk:K\" (K >= 1)";
        } else if (!strcmp(key, "draft")) {
            ok = get_uint(v, 0, 64, &p->draft);
            want = "a whole number from 0 to 64";
        } else if (!strcmp(key, "segment")) {
            ok = s && glimp_segment_parse(s, p) == GLIMP_OK;
            if (!ok && s) { /* what is wrong with the pattern */
                char why[512];
                snprintf(why, sizeof why, "%s", glimp_last_error());
                return glimp_error(GLIMP_ERR_FORMAT, "%s: field 'segment': %s", origin, why);
            }
            want = "blank, line or marker:REGEX";
        } else if (!strcmp(key, "max_think")) {
            ok = get_uint(v, 0, INT32_MAX, &p->max_think);
            want = "a whole number >= 0";
        } else if (!strcmp(key, "max_step")) {
            ok = get_uint(v, 1, 1u << 20, &p->max_step);
            want = "a whole number from 1 to 1048576";
        } else if (!strcmp(key, "max_answer")) {
            ok = get_uint(v, 1, 1u << 24, &p->max_answer);
            want = "a whole number from 1 to 16777216";
        } else if (!strcmp(key, "answer_model")) {
            ok = s && (!strcmp(s, "slm") || !strcmp(s, "llm"));
            if (ok)
                p->answer_model = !strcmp(s, "slm") ? GLIMP_WRITER_SLM : GLIMP_WRITER_LLM;
            want = "slm or llm";
        } else if (!strcmp(key, "pair")) {
            if (!json_is_object(v))
                return bad(origin, "pair", "an object with slm and llm");
            const char *k2;
            json_t *m;
            json_object_foreach(v, k2, m)
            {
                int rc;
                if (!strcmp(k2, "slm"))
                    rc = get_model(m, origin, "slm", &info->slm);
                else if (!strcmp(k2, "llm"))
                    rc = get_model(m, origin, "llm", &info->llm);
                else
                    rc = glimp_error(GLIMP_ERR_FORMAT, "%s: unknown field 'pair.%s'", origin, k2);
                if (rc != GLIMP_OK)
                    return rc;
            }
        } else if (!strcmp(key, "tuned")) {
            char *t = json_is_object(v) ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            ok = t && strlen(t) < sizeof info->tuned;
            if (ok)
                snprintf(info->tuned, sizeof info->tuned, "%s", t);
            free(t);
            want = "an object (of at most 2047 bytes as compact JSON)";
        } else {
            return glimp_error(GLIMP_ERR_FORMAT, "%s: unknown field '%s'", origin, key);
        }
        (void)x;
        if (!ok)
            return bad(origin, key, want);
    }
    if (p->glimpse > 1 && p->signal != GLIMP_SIGNAL_HINIT)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "%s: field 'glimpse': a glimpse of %u tokens goes with signal hinit, "
                           "not %s",
                           origin, p->glimpse, glimp_signal_name(p->signal));
    return GLIMP_OK;
}

int glimp_profile_parse(const char *text, size_t len, const char *origin,
                        struct glimp_router_params *p, struct glimp_profile_info *info)
{
    if (!text || !p)
        return glimp_error(GLIMP_ERR_INVALID, "profile: text or params is NULL");
    origin = origin ? origin : "profile";
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return glimp_error(GLIMP_ERR_FORMAT, "%s:%d: not JSON: %s", origin, err.line, err.text);
    struct glimp_router_params np = *p;
    struct glimp_profile_info ni;
    memset(&ni, 0, sizeof ni);
    int rc = apply(root, origin, &np, &ni);
    json_decref(root);
    if (rc != GLIMP_OK)
        return rc;
    *p = np;
    if (info)
        *info = ni;
    return GLIMP_OK;
}

int glimp_profile_load(const char *path, struct glimp_router_params *p,
                       struct glimp_profile_info *info)
{
    if (!path || !p)
        return glimp_error(GLIMP_ERR_INVALID, "profile: path or params is NULL");
    FILE *f = fopen(path, "rb");
    if (!f)
        return glimp_error(GLIMP_ERR_IO, "%s: %s", path, strerror(errno));
    /* a profile is small: a cap keeps a wrong file from being read whole */
    enum { CAP = 1 << 20 };
    char *buf = malloc(CAP);
    size_t n = buf ? fread(buf, 1, CAP, f) : 0;
    bool failed = ferror(f);
    fclose(f);
    int rc;
    if (!buf)
        rc = glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
    else if (failed)
        rc = glimp_error(GLIMP_ERR_IO, "%s: read failed", path);
    else if (n == CAP)
        rc = glimp_error(GLIMP_ERR_FORMAT, "%s: larger than a profile can be (1 MiB)", path);
    else
        rc = glimp_profile_parse(buf, n, path, p, info);
    free(buf);
    return rc;
}

static json_t *model_json(const struct glimp_profile_model *m)
{
    char hash[17];
    snprintf(hash, sizeof hash, "%016" PRIx64, m->vocab_hash);
    return json_pack("{s:s, s:I, s:s}", "desc", m->desc, "n_vocab", (json_int_t)m->n_vocab,
                     "vocab_hash", hash);
}

static json_t *num_json(double x)
{
    return isinf(x) ? json_string(x > 0 ? "inf" : "-inf") : json_real(x);
}

int glimp_profile_write(const char *path, const struct glimp_router_params *p,
                        const struct glimp_profile_info *info)
{
    if (!path || !p)
        return glimp_error(GLIMP_ERR_INVALID, "profile: path or params is NULL");
    char seg[GLIMP_SEGMENT_MARKER_MAX + 16], entropy[32];
    int rc = glimp_segment_format(p, seg, sizeof seg);
    if (rc != GLIMP_OK)
        return rc;
    if (p->entropy_topk)
        snprintf(entropy, sizeof entropy, "topk:%u", p->entropy_topk);
    else
        snprintf(entropy, sizeof entropy, "full");
    json_t *o = json_object();
    if (!o)
        return glimp_error(GLIMP_ERR_NOMEM, "profile: out of memory");
    json_object_set_new(o, "glimp_profile", json_integer(PROFILE_VERSION));
    if (info && info->name[0])
        json_object_set_new(o, "name", json_string(info->name));
    json_object_set_new(o, "policy", json_string(glimp_policy_name(p->policy)));
    json_object_set_new(o, "signal", json_string(glimp_signal_name(p->signal)));
    json_object_set_new(o, "glimpse", json_integer(p->glimpse));
    json_object_set_new(o, "tau", num_json(p->tau));
    json_object_set_new(o, "share", json_real(p->share));
    json_object_set_new(o, "instance_k", json_integer(p->instance_k));
    json_object_set_new(o, "instance_z", json_real(p->instance_z));
    json_object_set_new(o, "threshold", json_real(p->specreason_threshold));
    json_object_set_new(o, "entropy", json_string(entropy));
    json_object_set_new(o, "draft", json_integer(p->draft));
    json_object_set_new(o, "segment", json_string(seg));
    json_object_set_new(o, "max_think", json_integer(p->max_think));
    json_object_set_new(o, "max_step", json_integer(p->max_step));
    json_object_set_new(o, "max_answer", json_integer(p->max_answer));
    json_object_set_new(o, "answer_model", json_string(glimp_writer_name(p->answer_model)));
    if (info && (info->slm.vocab_hash || info->llm.vocab_hash))
        json_object_set_new(
            o, "pair",
            json_pack("{s:o, s:o}", "slm", model_json(&info->slm), "llm", model_json(&info->llm)));
    if (info && info->tuned[0]) {
        json_error_t err;
        json_t *t = json_loads(info->tuned, 0, &err);
        if (!json_is_object(t)) {
            json_decref(t);
            json_decref(o);
            return glimp_error(GLIMP_ERR_FORMAT, "profile: tuned is not a JSON object");
        }
        json_object_set_new(o, "tuned", t);
    }
    rc = json_dump_file(o, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (rc != 0)
        return glimp_error(GLIMP_ERR_IO, "%s: cannot write the profile", path);
    return GLIMP_OK;
}

void glimp_profile_set_pair(struct glimp_profile_info *info, const struct glimp_backend *slm,
                            const struct glimp_backend *llm)
{
    if (!info)
        return;
    const struct glimp_backend *b[2] = {slm, llm};
    struct glimp_profile_model *m[2] = {&info->slm, &info->llm};
    for (int i = 0; i < 2; i++) {
        snprintf(m[i]->desc, sizeof m[i]->desc, "%s", glimp_backend_describe(b[i]));
        m[i]->n_vocab = glimp_backend_n_vocab(b[i]);
        m[i]->vocab_hash = glimp_backend_vocab_hash(b[i]);
    }
}

bool glimp_profile_check_pair(const struct glimp_profile_info *info,
                              const struct glimp_backend *slm, const struct glimp_backend *llm,
                              char *why, size_t cap)
{
    if (why && cap)
        why[0] = '\0';
    if (!info)
        return true;
    const struct glimp_backend *b[2] = {slm, llm};
    const struct glimp_profile_model *m[2] = {&info->slm, &info->llm};
    const char *role[2] = {"small", "large"};
    for (int i = 0; i < 2; i++) {
        const char *desc = glimp_backend_describe(b[i]);
        if (m[i]->vocab_hash && m[i]->vocab_hash != glimp_backend_vocab_hash(b[i])) {
            if (why)
                snprintf(why, cap,
                         "tuned on another %s model: its vocabulary differs (tuned on %s, "
                         "vocabulary %016" PRIx64 "; given %s, vocabulary %016" PRIx64 ")",
                         role[i], m[i]->desc, m[i]->vocab_hash, desc,
                         glimp_backend_vocab_hash(b[i]));
            return false;
        }
        if (m[i]->desc[0] && strcmp(m[i]->desc, desc) != 0) {
            if (why)
                snprintf(why, cap, "tuned on another %s model (tuned on %s; given %s)", role[i],
                         m[i]->desc, desc);
            return false;
        }
    }
    return true;
}
