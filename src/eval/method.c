/* method.c - the method specs of glimp eval ("glimp:signal=hstep,share=0.25")
 * turned into router params. */
#include "glimp_eval.h"

#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_num(const char *s, double min, double max, double *out)
{
    if (!*s || isspace((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    double v;
    if (!strcmp(s, "inf") || !strcmp(s, "+inf"))
        v = INFINITY;
    else if (!strcmp(s, "-inf"))
        v = -INFINITY;
    else
        v = strtod(s, &end);
    if ((isfinite(v) && (*end || errno)) || isnan(v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_uint(const char *s, uint32_t max, uint32_t *out)
{
    double v;
    if (!parse_num(s, 0, max, &v) || v != floor(v))
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Apply one key=value (or a bare flag) to m; false with why set. */
static bool apply(struct glimp_method *m, const char *key, const char *val, bool *share_given,
                  char *why, size_t why_len)
{
    struct glimp_router_params *p = &m->params;
    double v;
    uint32_t u;
#define NEED_VALUE                                                                                 \
    if (!val) {                                                                                    \
        snprintf(why, why_len, "'%s' needs a value", key);                                         \
        return false;                                                                              \
    }
    if (!strcmp(key, "instance") && !val) {
        p->policy = GLIMP_POLICY_INSTANCE;
        return true;
    }
    NEED_VALUE
    if (!strcmp(key, "tau")) {
        if (!parse_num(val, -INFINITY, INFINITY, &v))
            goto bad;
        p->tau = v;
    } else if (!strcmp(key, "share")) {
        if (!strcmp(val, "auto") &&
            (p->policy == GLIMP_POLICY_RANDOM || p->policy == GLIMP_POLICY_GLIMP)) {
            m->share_auto = true;
        } else {
            if (!parse_num(val, 0, 1, &v))
                goto bad;
            p->share = v;
        }
        *share_given = true;
    } else if (!strcmp(key, "signal")) {
        if (!strcmp(val, "hinit"))
            p->signal = GLIMP_SIGNAL_HINIT;
        else if (!strcmp(val, "hstep"))
            p->signal = GLIMP_SIGNAL_HSTEP;
        else if (!strcmp(val, "ppl"))
            p->signal = GLIMP_SIGNAL_PPL;
        else
            goto bad;
    } else if (!strcmp(key, "glimpse")) {
        if (!parse_uint(val, 4096, &u) || u < 1)
            goto bad;
        p->glimpse = u;
    } else if (!strcmp(key, "draft")) {
        if (!parse_uint(val, 64, &u))
            goto bad;
        p->draft = u;
    } else if (!strcmp(key, "threshold")) {
        if (!parse_num(val, 0, 10, &v))
            goto bad;
        p->specreason_threshold = v;
    } else if (!strcmp(key, "z")) {
        if (!parse_num(val, -100, 100, &v))
            goto bad;
        p->instance_z = v;
    } else if (!strcmp(key, "k")) {
        if (!parse_uint(val, 100000, &u) || u < 1)
            goto bad;
        p->instance_k = u;
    } else if (!strcmp(key, "entropy")) {
        if (!strcmp(val, "full"))
            p->entropy_topk = 0;
        else if (!parse_uint(val, 1u << 20, &u) || u < 1)
            goto bad;
        else
            p->entropy_topk = u;
    } else if (!strcmp(key, "segment")) {
        if (glimp_segment_parse(val, p) != GLIMP_OK) {
            snprintf(why, why_len, "%s", glimp_last_error());
            return false;
        }
    } else if (!strcmp(key, "answer")) {
        if (!strcmp(val, "slm"))
            p->answer_model = GLIMP_WRITER_SLM;
        else if (!strcmp(val, "llm"))
            p->answer_model = GLIMP_WRITER_LLM;
        else
            goto bad;
    } else {
        snprintf(why, why_len, "unknown key '%s'", key);
        return false;
    }
    return true;
bad:
    snprintf(why, why_len, "bad value '%s' for '%s'", val, key);
    return false;
#undef NEED_VALUE
}

int glimp_method_parse(const char *spec, const struct glimp_router_params *base,
                       struct glimp_method *out)
{
    if (!spec || !out)
        return glimp_error(GLIMP_ERR_INVALID, "method: spec or out is NULL");
    memset(out, 0, sizeof *out);
    size_t n = 0;
    for (const char *s = spec; *s; s++) {
        if (isspace((unsigned char)*s))
            continue;
        if (n + 1 >= sizeof out->spec)
            return glimp_error(GLIMP_ERR_INVALID, "method '%.40s...': longer than %zu characters",
                               spec, sizeof out->spec - 1);
        out->spec[n++] = *s;
    }
    out->spec[n] = '\0';
    out->params = base ? *base : glimp_router_default_params();
    char buf[128];
    memcpy(buf, out->spec, n + 1);
    char *colon = strchr(buf, ':');
    if (colon)
        *colon = '\0';
    struct glimp_router_params *p = &out->params;
    if (!strcmp(buf, "slm"))
        p->policy = GLIMP_POLICY_SLM;
    else if (!strcmp(buf, "llm"))
        p->policy = GLIMP_POLICY_LLM;
    else if (!strcmp(buf, "random"))
        p->policy = GLIMP_POLICY_RANDOM;
    else if (!strcmp(buf, "glimp"))
        p->policy = GLIMP_POLICY_GLIMP;
    else if (!strcmp(buf, "specreason"))
        p->policy = GLIMP_POLICY_SPECREASON;
    else
        return glimp_error(GLIMP_ERR_INVALID,
                           "method '%s': unknown method '%s' (slm, llm, random, glimp, "
                           "specreason)",
                           out->spec, buf);
    bool share_given = false;
    char *rest = colon ? colon + 1 : NULL;
    while (rest && *rest) {
        /* a marker's pattern may hold commas: it takes the rest of the spec */
        char *comma = strncmp(rest, "segment=marker:", 15) ? strchr(rest, ',') : NULL;
        if (comma)
            *comma = '\0';
        char *eq = strchr(rest, '=');
        if (eq)
            *eq = '\0';
        char why[160];
        if (!*rest)
            return glimp_error(GLIMP_ERR_INVALID, "method '%s': an empty setting", out->spec);
        if (!apply(out, rest, eq ? eq + 1 : NULL, &share_given, why, sizeof why))
            return glimp_error(GLIMP_ERR_INVALID, "method '%s': %s", out->spec, why);
        rest = comma ? comma + 1 : NULL;
    }
    /* glimp with a share is the share policy; instance keeps its own */
    if (p->policy == GLIMP_POLICY_GLIMP && share_given)
        p->policy = GLIMP_POLICY_SHARE;
    if (p->policy == GLIMP_POLICY_RANDOM && !share_given)
        return glimp_error(GLIMP_ERR_INVALID, "method '%s': random needs share=S (or share=auto)",
                           out->spec);
    if (p->glimpse > 1 && p->signal != GLIMP_SIGNAL_HINIT)
        return glimp_error(GLIMP_ERR_INVALID, "method '%s': glimpse goes with signal=hinit",
                           out->spec);
    return GLIMP_OK;
}

int glimp_method_sweep(const char *sweep, const char *with, const struct glimp_router_params *base,
                       struct glimp_method *out, size_t cap, size_t *n)
{
    if (!sweep || !out || !n)
        return glimp_error(GLIMP_ERR_INVALID, "sweep: sweep, out or n is NULL");
    double a, z, step;
    char key[8], tail;
    if (sscanf(sweep, "%5[a-z]=%lf:%lf:%lf%c", key, &a, &z, &step, &tail) != 4 ||
        (strcmp(key, "tau") && strcmp(key, "share")) || !(step > 0) || !isfinite(a) ||
        !isfinite(z) || z < a)
        return glimp_error(GLIMP_ERR_INVALID,
                           "--sweep '%s': expected tau=A:B:STEP or share=A:B:STEP with A <= B "
                           "and STEP > 0",
                           sweep);
    long count = lround(floor((z - a) / step + 1e-9)) + 1;
    if (count > 100)
        return glimp_error(GLIMP_ERR_INVALID, "--sweep '%s': %ld values, at most 100", sweep,
                           count);
    if ((size_t)count > cap)
        return glimp_error(GLIMP_ERR_INVALID, "--sweep '%s': more than %zu methods", sweep, cap);
    for (long i = 0; i < count; i++) {
        char spec[sizeof out->spec + 1];
        int len = snprintf(spec, sizeof spec, "glimp:%s=%.6g%s%s", key, a + (double)i * step,
                           with ? "," : "", with ? with : "");
        if (len < 0 || (size_t)len >= sizeof out->spec)
            return glimp_error(GLIMP_ERR_INVALID, "--sweep '%s': method '%s...' is too long",
                               sweep, spec);
        int rc = glimp_method_parse(spec, base, &out[i]);
        if (rc != GLIMP_OK)
            return rc;
    }
    *n += (size_t)count;
    return GLIMP_OK;
}
