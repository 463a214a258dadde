/* policy.c - the routing decision of policy.h: static and calibrated
 * thresholds, a seeded coin, and the share policy, which ranks each signal
 * among those seen so far and steers the LLM share toward its target. */
#include "router/policy.h"

#include "core/error.h"
#include "core/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The share policy's history: a sliding window of the last SHARE_CAP signals
 * (more than a thinking budget has steps), grown by doubling from
 * SHARE_INIT. Past the cap, or when growing fails, the oldest signal leaves
 * as each new one comes in. */
#define SHARE_INIT 64
#define SHARE_CAP 8192

/* The share policy's feedback: the effective share is the target plus
 * (steps behind / SHARE_LAG)^3. Cubic, so that the imbalance of a step or
 * two that rank decisions make anyway barely moves the threshold (routing
 * stays by the signal), while an imbalance of several steps, as drifting
 * signals make, is pushed back hard: SHARE_LAG / 2 steps behind adds 1/8 to
 * the share, SHARE_LAG steps behind makes it 1. */
#define SHARE_LAG 8.0

/* The random stream is the seed XORed with this, so that the same seed
 * gives the samplers and the policy different streams. */
#define POLICY_SEED_SALT 0x6A09E667F3BCC908ull

struct rt_policy {
    enum glimp_policy kind;
    double tau, share, z, threshold;
    uint32_t k;
    uint64_t rng[4]; /* xoshiro256** state, never all zero */

    /* instance: running mean and sum of squared deviations (Welford) of the
     * first k signals; tau_cal once n_seen reaches k */
    uint64_t n_seen;
    double mean, m2, tau_cal;

    /* share */
    uint64_t n_decided, n_llm;
    double *sorted; /* (alloc) the window, ascending */
    double *ring;   /* (alloc) the window in arrival order, oldest at head once full */
    size_t count, alloc, cap, head;
};

/* ------------------------------------------------------------ lifecycle */

int rt_policy_init(const struct glimp_router_params *p, struct rt_policy **out)
{
    if (!out)
        return glimp_error(GLIMP_ERR_INVALID, "router: policy out is NULL");
    *out = NULL;
    if (!p)
        return glimp_error(GLIMP_ERR_INVALID, "router: params are NULL");
    if ((unsigned)p->policy > (unsigned)GLIMP_POLICY_SPECREASON)
        return glimp_error(GLIMP_ERR_INVALID, "router: policy %d, expected 0..%d", (int)p->policy,
                           (int)GLIMP_POLICY_SPECREASON);
    if (isnan(p->tau))
        return glimp_error(GLIMP_ERR_INVALID, "router: tau is NaN");
    if (!(p->share >= 0.0 && p->share <= 1.0))
        return glimp_error(GLIMP_ERR_INVALID, "router: share %g, expected 0..1", p->share);
    if (p->instance_k == 0)
        return glimp_error(GLIMP_ERR_INVALID, "router: instance_k 0, expected >= 1");
    if (!isfinite(p->instance_z))
        return glimp_error(GLIMP_ERR_INVALID, "router: instance_z %g, expected a finite value",
                           p->instance_z);
    if (isnan(p->specreason_threshold))
        return glimp_error(GLIMP_ERR_INVALID, "router: specreason_threshold is NaN");

    struct rt_policy *pol = calloc(1, sizeof *pol);
    if (!pol)
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for the policy");
    pol->kind = p->policy;
    pol->tau = p->tau;
    pol->share = p->share;
    pol->z = p->instance_z;
    pol->threshold = p->specreason_threshold;
    pol->k = p->instance_k;
    pol->tau_cal = NAN;
    rng_seed(pol->rng, p->seed ^ POLICY_SEED_SALT); /* a stream apart from the samplers' */
    if (pol->kind == GLIMP_POLICY_SHARE) {
        pol->sorted = malloc(SHARE_INIT * sizeof *pol->sorted);
        pol->ring = malloc(SHARE_INIT * sizeof *pol->ring);
        if (!pol->sorted || !pol->ring) {
            rt_policy_free(pol);
            return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for the share history");
        }
        pol->alloc = SHARE_INIT;
        pol->cap = SHARE_CAP;
    }
    *out = pol;
    return GLIMP_OK;
}

void rt_policy_free(struct rt_policy *pol)
{
    if (!pol)
        return;
    free(pol->sorted);
    free(pol->ring);
    free(pol);
}

void rt_policy_new_problem(struct rt_policy *pol)
{
    pol->n_seen = 0;
    pol->mean = pol->m2 = 0.0;
    pol->tau_cal = NAN;
}

struct glimp_policy_state {
    struct rt_policy *pol;
};

int glimp_policy_state_init(const struct glimp_router_params *p, struct glimp_policy_state **out)
{
    if (!p || !out)
        return glimp_error(GLIMP_ERR_INVALID, "router: params or out is NULL");
    *out = NULL;
    struct glimp_policy_state *st = calloc(1, sizeof *st);
    if (!st)
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory");
    int rc = rt_policy_init(p, &st->pol);
    if (rc != GLIMP_OK) {
        free(st);
        return rc;
    }
    *out = st;
    return GLIMP_OK;
}

void glimp_policy_state_free(struct glimp_policy_state *st)
{
    if (!st)
        return;
    rt_policy_free(st->pol);
    free(st);
}

enum glimp_writer glimp_policy_state_replay(struct glimp_policy_state *st, double signal)
{
    return rt_policy_decide(st->pol, signal, NULL);
}

struct rt_policy *rt_policy_of_state(struct glimp_policy_state *st)
{
    return st->pol;
}

bool rt_policy_uses_signal(const struct rt_policy *pol)
{
    switch (pol->kind) {
    case GLIMP_POLICY_GLIMP:
    case GLIMP_POLICY_SHARE:
    case GLIMP_POLICY_INSTANCE:
    case GLIMP_POLICY_SPECREASON: return true;
    case GLIMP_POLICY_RANDOM:
    case GLIMP_POLICY_SLM:
    case GLIMP_POLICY_LLM: break;
    }
    return false;
}

/* --------------------------------------------------------------- share */

/* The first index in sorted[0 .. n) whose value is >= x (strict: > x). */
static size_t bound(const double *sorted, size_t n, double x, bool strict)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strict ? sorted[mid] <= x : sorted[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Double the window's arrays, up to the cap. When either allocation fails
 * the window stays at its present size for good. */
static void history_grow(struct rt_policy *pol)
{
    size_t n = pol->alloc * 2 < pol->cap ? pol->alloc * 2 : pol->cap;
    double *s = realloc(pol->sorted, n * sizeof *s);
    if (!s) {
        pol->cap = pol->alloc;
        return;
    }
    pol->sorted = s;
    double *r = realloc(pol->ring, n * sizeof *r);
    if (!r) {
        pol->cap = pol->alloc;
        return;
    }
    pol->ring = r;
    pol->alloc = n;
}

/* Add x to the window; once full, the oldest signal leaves. */
static void history_add(struct rt_policy *pol, double x)
{
    if (pol->count == pol->alloc && pol->alloc < pol->cap)
        history_grow(pol);
    if (pol->count == pol->alloc) {
        double old = pol->ring[pol->head];
        pol->ring[pol->head] = x;
        pol->head = (pol->head + 1) % pol->count;
        /* any element equal to old will do: they are interchangeable */
        size_t i = bound(pol->sorted, pol->count, old, false);
        memmove(pol->sorted + i, pol->sorted + i + 1, (pol->count - i - 1) * sizeof *pol->sorted);
        pol->count--;
    } else {
        pol->ring[pol->count] = x;
    }
    size_t i = bound(pol->sorted, pol->count, x, true);
    memmove(pol->sorted + i + 1, pol->sorted + i, (pol->count - i) * sizeof *pol->sorted);
    pol->sorted[i] = x;
    pol->count++;
}

/* The share policy. With the signal added to the window (n signals), g of
 * them strictly above it and e equal to it (itself included), the signal's
 * tie block covers ranks [g, g + e) from the top. The LLM takes the top
 * cut = s * n ranks, s the effective share, so the step goes to the LLM
 * with probability (cut - g) / e clamped to [0, 1]: the fraction of the
 * block inside the cut. For i.i.d. signals each rank is equally likely and
 * the LLM's chance is exactly s, ties or not; the only randomness is the
 * split of a tie block (a fractional cut is a block split too).
 *
 * Ranks alone lose the target when the signals drift (a rising signal keeps
 * ranking at the top), so s is the target corrected by the steps behind it
 * (negative when ahead): s = share + ((share * decided - llm) / SHARE_LAG)^3,
 * clamped to [0, 1]. The steps behind then stay within about SHARE_LAG
 * (even when every new signal is the largest yet; one or two for i.i.d.
 * signals), so the share over n steps is within a few / n of the target.
 * Targets 0 and 1 bypass all this and are exact.
 *
 * *tau is the window's (1 - s) quantile by nearest rank (the value with
 * about s * n signals above it); +inf for target 0, -inf for target 1. */
static enum glimp_writer decide_share(struct rt_policy *pol, double signal, double *tau)
{
    history_add(pol, signal);
    enum glimp_writer w;
    double t;
    if (pol->share <= 0.0) {
        w = GLIMP_WRITER_SLM;
        t = INFINITY;
    } else if (pol->share >= 1.0) {
        w = GLIMP_WRITER_LLM;
        t = -INFINITY;
    } else {
        double behind = pol->share * (double)pol->n_decided - (double)pol->n_llm;
        double c = behind / SHARE_LAG;
        double s = pol->share + c * c * c;
        s = s < 0.0 ? 0.0 : s > 1.0 ? 1.0 : s;
        size_t n = pol->count;
        size_t lo = bound(pol->sorted, n, signal, false);
        size_t hi = bound(pol->sorted, n, signal, true);
        double g = (double)(n - hi), e = (double)(hi - lo);
        double pr = (s * (double)n - g) / e;
        if (pr >= 1.0)
            w = GLIMP_WRITER_LLM;
        else if (pr <= 0.0)
            w = GLIMP_WRITER_SLM;
        else
            w = rng_unit(pol->rng) < pr ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM;
        /* nearest rank: the ceil((1 - s) * n)-th smallest, at least the first */
        double r = ceil((1.0 - s) * (double)n);
        size_t idx = r < 1.0 ? 0 : (size_t)r - 1;
        t = pol->sorted[idx < n ? idx : n - 1];
    }
    pol->n_decided++;
    if (w == GLIMP_WRITER_LLM)
        pol->n_llm++;
    if (tau)
        *tau = t;
    return w;
}

/* -------------------------------------------------------------- decide */

/* signal > tau, with tau -inf taking every signal, -inf included. */
static bool above(double signal, double tau)
{
    return signal > tau || tau == -INFINITY;
}

enum glimp_writer rt_policy_decide(struct rt_policy *pol, double signal, double *tau)
{
    if (isnan(signal))
        signal = 0.0;
    enum glimp_writer w = GLIMP_WRITER_SLM;
    double t = NAN;
    switch (pol->kind) {
    case GLIMP_POLICY_SLM: w = GLIMP_WRITER_SLM; break;
    case GLIMP_POLICY_LLM: w = GLIMP_WRITER_LLM; break;
    case GLIMP_POLICY_RANDOM:
        /* u < 0 never holds and u < 1 always does: shares 0 and 1 are exact */
        w = rng_unit(pol->rng) < pol->share ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM;
        break;
    case GLIMP_POLICY_GLIMP:
        t = pol->tau;
        w = above(signal, t) ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM;
        break;
    case GLIMP_POLICY_SHARE: return decide_share(pol, signal, tau);
    case GLIMP_POLICY_INSTANCE:
        /* the first k steps calibrate, decided with the static tau; from
         * step k + 1 on, tau is mean + z * sd of those k signals */
        if (pol->n_seen < pol->k) {
            t = pol->tau;
            pol->n_seen++;
            double d = signal - pol->mean;
            pol->mean += d / (double)pol->n_seen;
            pol->m2 += d * (signal - pol->mean);
            if (pol->n_seen == pol->k) {
                pol->tau_cal = pol->mean + pol->z * sqrt(pol->m2 / (double)pol->k);
                if (isnan(pol->tau_cal)) /* infinite signals: keep the static tau */
                    pol->tau_cal = pol->tau;
            }
        } else {
            t = pol->tau_cal;
        }
        w = above(signal, t) ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM;
        break;
    case GLIMP_POLICY_SPECREASON:
        t = pol->threshold;
        w = signal >= t ? GLIMP_WRITER_SLM : GLIMP_WRITER_LLM;
        break;
    }
    if (tau)
        *tau = t;
    return w;
}
