/* tune.c - the pick of glimp tune: from a pilot's records and a target
 * (accuracy near the LLM alone, an LLM share, a latency budget), the
 * glimp-family method that meets it best, with 95% intervals over the
 * pilot's problems and whether the pilot can tell the choice from the
 * runner-up. Pure: it reads records and computes; the rules are in
 * glimp_eval.h. */
#include "glimp_eval.h"

#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Z95 1.959963984540054

int glimp_tune_target_parse(const char *text, struct glimp_tune_target *t)
{
    if (!text || !t)
        return glimp_error(GLIMP_ERR_INVALID, "tune: text or target is NULL");
    static const struct {
        const char *prefix;
        enum glimp_tune_goal goal;
        double min, max;
    } goals[] = {
        {"accuracy:", GLIMP_TUNE_ACCURACY, -100.0, 100.0},
        {"share:", GLIMP_TUNE_SHARE, 0.0, 1.0},
        {"latency:", GLIMP_TUNE_LATENCY, 1e-9, 1e9},
    };
    for (size_t i = 0; i < sizeof goals / sizeof goals[0]; i++) {
        size_t n = strlen(goals[i].prefix);
        if (strncmp(text, goals[i].prefix, n) != 0)
            continue;
        char *end;
        double v = strtod(text + n, &end);
        if (end == text + n || *end || !(v >= goals[i].min && v <= goals[i].max))
            break;
        t->goal = goals[i].goal;
        t->value = v;
        return GLIMP_OK;
    }
    return glimp_error(GLIMP_ERR_INVALID,
                       "target '%s': expected accuracy:D (points against the LLM alone, -100 to "
                       "100), share:S (0 to 1) or latency:R (> 0, a ratio to the LLM alone)",
                       text);
}

/* Sums over one method's records. */
struct tn_acc {
    char method[128];
    char policy[16];
    size_t n, n_correct, n_share;
    double lat_sum, lat_sq, share_sum;
};

struct tn_read {
    struct tn_acc *a;
    size_t n, cap;
};

static int on_record(const struct glimp_eval_record *r, void *user)
{
    struct tn_read *rd = user;
    struct tn_acc *a = NULL;
    for (size_t i = 0; i < rd->n && !a; i++)
        if (!strcmp(rd->a[i].method, r->method))
            a = &rd->a[i];
    if (!a) {
        if (rd->n == rd->cap) {
            size_t c = rd->cap ? rd->cap * 2 : 32;
            struct tn_acc *p = realloc(rd->a, c * sizeof *p);
            if (!p)
                return glimp_error(GLIMP_ERR_NOMEM, "tune: out of memory");
            rd->a = p;
            rd->cap = c;
        }
        a = &rd->a[rd->n++];
        memset(a, 0, sizeof *a);
        snprintf(a->method, sizeof a->method, "%s", r->method);
        snprintf(a->policy, sizeof a->policy, "%s", r->policy);
    }
    a->n++;
    a->n_correct += r->correct;
    a->lat_sum += r->latency_s;
    a->lat_sq += r->latency_s * r->latency_s;
    if (!isnan(r->llm_share_steps)) {
        a->share_sum += r->llm_share_steps;
        a->n_share++;
    }
    return GLIMP_OK;
}

/* The 95% Wilson interval of k successes in n. */
static void wilson(size_t k, size_t n, double *lo, double *hi)
{
    double p = (double)k / (double)n, z2 = Z95 * Z95, nn = (double)n;
    double d = 1.0 + z2 / nn, c = (p + z2 / (2 * nn)) / d;
    double h = Z95 * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / d;
    *lo = c - h > 0 ? c - h : 0;
    *hi = c + h < 1 ? c + h : 1;
}

static void candidate_of(const struct tn_acc *a, struct glimp_tune_candidate *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->method, sizeof c->method, "%s", a->method);
    c->n = a->n;
    c->n_correct = a->n_correct;
    c->accuracy = (double)a->n_correct / (double)a->n;
    wilson(a->n_correct, a->n, &c->acc_lo, &c->acc_hi);
    c->llm_share = a->n_share ? a->share_sum / (double)a->n_share : NAN;
    double nn = (double)a->n, mean = a->lat_sum / nn;
    double var = a->n > 1 ? (a->lat_sq - nn * mean * mean) / (nn - 1) : 0.0;
    double h = Z95 * sqrt(var > 0 ? var : 0) / sqrt(nn);
    c->latency_s = mean;
    c->lat_lo = mean - h;
    c->lat_hi = mean + h;
    c->latency_ratio = NAN;
}

static bool meets(const struct glimp_tune_candidate *c, const struct glimp_tune_candidate *llm,
                  const struct glimp_tune_target *t)
{
    const double eps = 1e-9;
    switch (t->goal) {
    case GLIMP_TUNE_ACCURACY: return 100.0 * (c->accuracy - llm->accuracy) >= t->value - eps;
    case GLIMP_TUNE_SHARE: return c->llm_share <= t->value + eps; /* NaN: no */
    case GLIMP_TUNE_LATENCY: return c->latency_ratio <= t->value + eps;
    }
    return false;
}

/* Does a rank before b? (Both meet the target.) */
static bool before(const struct glimp_tune_candidate *a, const struct glimp_tune_candidate *b,
                   enum glimp_tune_goal goal)
{
    if (goal == GLIMP_TUNE_ACCURACY && a->latency_s != b->latency_s)
        return a->latency_s < b->latency_s;
    if (a->accuracy != b->accuracy)
        return a->accuracy > b->accuracy;
    if (a->latency_s != b->latency_s)
        return a->latency_s < b->latency_s;
    double sa = isnan(a->llm_share) ? 2 : a->llm_share, sb = isnan(b->llm_share) ? 2 : b->llm_share;
    return sa < sb;
}

static bool glimp_family(const char *policy)
{
    return !strcmp(policy, "glimp") || !strcmp(policy, "share") || !strcmp(policy, "instance");
}

int glimp_tune_pick(const char *results_path, const struct glimp_tune_target *t,
                    struct glimp_tune_result **out)
{
    if (!results_path || !t || !out)
        return glimp_error(GLIMP_ERR_INVALID, "tune: a path, the target or out is NULL");
    *out = NULL;
    struct tn_read rd = {0};
    int rc = glimp_eval_records_read(results_path, on_record, &rd);
    struct glimp_tune_result *r = rc == GLIMP_OK ? calloc(1, sizeof *r) : NULL;
    if (rc == GLIMP_OK && (!r || !(r->cands = calloc(rd.n ? rd.n : 1, sizeof *r->cands))))
        rc = glimp_error(GLIMP_ERR_NOMEM, "tune: out of memory");
    if (rc != GLIMP_OK) {
        free(rd.a);
        glimp_tune_result_free(r);
        return rc;
    }
    /* the reference: "llm", else the first LLM-alone method */
    const struct tn_acc *ref = NULL;
    for (size_t i = 0; i < rd.n; i++)
        if (!strcmp(rd.a[i].method, "llm") || (!ref && !strcmp(rd.a[i].policy, "llm")))
            ref = &rd.a[i];
    if (ref) {
        candidate_of(ref, &r->llm);
        r->llm.latency_ratio = 1.0;
    }
    for (size_t i = 0; i < rd.n; i++)
        if (glimp_family(rd.a[i].policy))
            candidate_of(&rd.a[i], &r->cands[r->n_cands++]);
    free(rd.a);
    if (!ref && t->goal != GLIMP_TUNE_SHARE) {
        glimp_tune_result_free(r);
        return glimp_error(GLIMP_ERR_INVALID,
                           "tune: %s has no LLM-alone method ('llm') to hold the target to",
                           results_path);
    }
    if (r->n_cands == 0) {
        glimp_tune_result_free(r);
        return glimp_error(GLIMP_ERR_INVALID,
                           "tune: %s has no glimp, share or instance method to choose from",
                           results_path);
    }
    r->chosen = r->runner_up = -1;
    for (size_t i = 0; i < r->n_cands; i++) {
        struct glimp_tune_candidate *c = &r->cands[i];
        if (ref && r->llm.latency_s > 0)
            c->latency_ratio = c->latency_s / r->llm.latency_s;
        c->meets = meets(c, &r->llm, t);
        if (!c->meets)
            continue;
        if (r->chosen < 0 || before(c, &r->cands[r->chosen], t->goal)) {
            r->runner_up = r->chosen;
            r->chosen = (long)i;
        } else if (r->runner_up < 0 || before(c, &r->cands[r->runner_up], t->goal)) {
            r->runner_up = (long)i;
        }
    }
    r->apart = true;
    if (r->chosen >= 0 && r->runner_up >= 0) {
        const struct glimp_tune_candidate *a = &r->cands[r->chosen], *b = &r->cands[r->runner_up];
        r->apart = t->goal == GLIMP_TUNE_ACCURACY ? a->lat_hi < b->lat_lo : a->acc_lo > b->acc_hi;
    }
    *out = r;
    return GLIMP_OK;
}

void glimp_tune_result_free(struct glimp_tune_result *r)
{
    if (!r)
        return;
    free(r->cands);
    free(r);
}
