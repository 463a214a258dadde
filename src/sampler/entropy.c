/* entropy.c - the entropy of the next-token distribution, the router's
 * difficulty signal (DESIGN.md section 1): over the whole vocabulary, or over
 * the k largest logits renormalised as the reference code does with a
 * server's top-20 logprobs. Computed in double through log-sum-exp. */
#include "glimp.h"

#include <math.h>
#include <stdlib.h>

/* Entropy of softmax over the logits of ids[0..n) (ids NULL: 0..n), whose
 * largest is lmax (finite). H = ln Z - sum e_i d_i / Z with d_i = l_i - lmax
 * and e_i = exp(d_i), which never overflows: every d_i <= 0 and Z >= 1. */
static double entropy_of(const float *logits, const int32_t *ids, size_t n, double lmax)
{
    double z = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        float x = logits[ids ? (size_t)ids[i] : i];
        if (x == -INFINITY)
            continue; /* probability 0, and 0 ln 0 = 0 */
        double d = (double)x - lmax;
        double e = exp(d);
        z += e;
        s += e * d;
    }
    double h = log(z) - s / z;
    return h > 0.0 ? h : 0.0; /* a one-hot distribution may round to -1e-17 */
}

/* The largest logit, or NaN when one is NaN or +inf; -inf when none is
 * finite. */
static double max_logit(const float *logits, size_t n)
{
    double m = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        float x = logits[i];
        if (isnan(x) || x == INFINITY)
            return NAN;
        if (x > m)
            m = x;
    }
    return m;
}

double glimp_entropy_full(const float *logits, size_t n)
{
    if (!logits || n == 0)
        return NAN;
    double m = max_logit(logits, n);
    if (isnan(m) || m == -INFINITY)
        return NAN;
    return entropy_of(logits, NULL, n, m);
}

/* Top-k ids of up to this many live on the stack (k is 20 in practice). */
#define ENTROPY_STACK_K 256

double glimp_entropy_topk(const float *logits, size_t n, size_t k)
{
    if (!logits || n == 0 || k == 0)
        return NAN;
    if (k >= n)
        return glimp_entropy_full(logits, n);
    double m = max_logit(logits, n);
    if (isnan(m) || m == -INFINITY)
        return NAN;
    int32_t stack_ids[ENTROPY_STACK_K];
    int32_t *ids = k <= ENTROPY_STACK_K ? stack_ids : malloc(k * sizeof *ids);
    if (!ids)
        return NAN;
    size_t got = glimp_logits_top_k(logits, n, k, ids);
    /* summed largest first, so the result does not depend on where in the
     * vocabulary the k tokens sit */
    double h = entropy_of(logits, ids, got, m);
    if (ids != stack_ids)
        free(ids);
    return h;
}

double glimp_log_sum_exp(const float *x, size_t n)
{
    if (!x || n == 0)
        return NAN;
    double m = max_logit(x, n);
    if (isnan(m) || m == -INFINITY)
        return m;
    double z = 0.0;
    for (size_t i = 0; i < n; i++)
        z += exp((double)x[i] - m);
    return m + log(z);
}
