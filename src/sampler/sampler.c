/* sampler.c - drawing the next token from raw logits: greedy, or top-k ->
 * top-p -> min-p -> temperature (llama.cpp's default chain order) and one
 * draw from a seeded xoshiro256** RNG. All scratch is allocated with the
 * sampler, so sampling a token never allocates. */
#include "sampler/sampler_internal.h"

#include "core/error.h"
#include "core/rng.h"

#include <math.h>
#include <stdlib.h>

/* Up to this k, top-k runs as one read-only pass over the logits with a
 * heap of k ids (glimp_logits_top_k); above it, by quickselect over the
 * candidate array. Both give the same set in the same order. */
#define SMP_HEAP_K_MAX 256

struct glimp_sampler_params glimp_sampler_default_params(void)
{
    struct glimp_sampler_params p = {
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .seed = 0,
    };
    return p;
}

/* ------------------------------------------------------------------ RNG */

void glimp_sampler_set_seed(struct glimp_sampler *s, uint64_t seed)
{
    rng_seed(s->rng, seed);
}

uint64_t smp_rng_next(struct glimp_sampler *s)
{
    return rng_next(s->rng);
}

/* ------------------------------------------------------------ lifecycle */

int glimp_sampler_init(const struct glimp_sampler_params *p, uint32_t n_vocab,
                       struct glimp_sampler **out)
{
    if (!out)
        return glimp_error(GLIMP_ERR_INVALID, "sampler: out is NULL");
    *out = NULL;
    struct glimp_sampler_params q = p ? *p : glimp_sampler_default_params();
    if (!(q.temperature >= 0.0f) || !isfinite(q.temperature))
        return glimp_error(GLIMP_ERR_INVALID,
                           "sampler: temperature %g, expected a finite value >= 0",
                           (double)q.temperature);
    if (!(q.top_p >= 0.0f && q.top_p <= 1.0f))
        return glimp_error(GLIMP_ERR_INVALID, "sampler: top_p %g, expected 0..1", (double)q.top_p);
    if (!(q.min_p >= 0.0f && q.min_p <= 1.0f))
        return glimp_error(GLIMP_ERR_INVALID, "sampler: min_p %g, expected 0..1", (double)q.min_p);
    if (n_vocab == 0 || n_vocab > (uint32_t)INT32_MAX)
        return glimp_error(GLIMP_ERR_INVALID, "sampler: n_vocab %u, expected 1..%d", n_vocab,
                           INT32_MAX);
    struct glimp_sampler *s = calloc(1, sizeof *s);
    if (s) {
        s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
        s->ids = malloc((size_t)n_vocab * sizeof *s->ids);
    }
    if (!s || !s->cand || !s->ids) {
        glimp_sampler_free(s);
        return glimp_error(GLIMP_ERR_NOMEM, "sampler: out of memory for %u candidates", n_vocab);
    }
    s->p = q;
    s->cap = n_vocab;
    glimp_sampler_set_seed(s, q.seed);
    *out = s;
    return GLIMP_OK;
}

void glimp_sampler_free(struct glimp_sampler *s)
{
    if (!s)
        return;
    free(s->cand);
    free(s->ids);
    free(s);
}

/* ------------------------------------------------------- ranking helpers */

/* The ranking every filter uses: larger logit first, lower id on ties. It
 * is a strict total order (ids differ), so any correct selection or sort
 * gives one and the same result on every platform. */
static int cand_before(const struct smp_cand *a, const struct smp_cand *b)
{
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cand_cmp(const void *pa, const void *pb)
{
    const struct smp_cand *a = pa, *b = pb;
    return cand_before(a, b) ? -1 : cand_before(b, a) ? 1 : 0;
}

static void cand_swap(struct smp_cand *a, struct smp_cand *b)
{
    struct smp_cand t = *a;
    *a = *b;
    *b = t;
}

/* Partition c[lo..hi) (hi - lo >= 3) around a median-of-three pivot: on
 * return c[lo..p) rank before c[p], the pivot, and c(p..hi) after it. With
 * mass not NULL, *mass is the sum of the weights of c[lo..p). */
static size_t partition(struct smp_cand *c, size_t lo, size_t hi, double *mass)
{
    size_t mid = lo + (hi - lo) / 2, last = hi - 1;
    if (cand_before(&c[mid], &c[lo]))
        cand_swap(&c[mid], &c[lo]);
    if (cand_before(&c[last], &c[lo]))
        cand_swap(&c[last], &c[lo]);
    if (cand_before(&c[last], &c[mid]))
        cand_swap(&c[last], &c[mid]);
    cand_swap(&c[mid], &c[last]); /* the median is the pivot, at the end */
    const struct smp_cand pv = c[last];
    size_t store = lo;
    double sum = 0.0;
    for (size_t i = lo; i < last; i++) {
        if (cand_before(&c[i], &pv)) {
            sum += c[i].w;
            cand_swap(&c[i], &c[store++]);
        }
    }
    cand_swap(&c[store], &c[last]);
    if (mass)
        *mass = sum;
    return store;
}

/* Quickselect gives up and sorts after about 2 log2(n) + 8 partitions that
 * did not close in (lopsided pivots), so no input makes it quadratic. */
static int partition_budget(size_t n)
{
    int budget = 8;
    for (size_t k = n; k > 1; k >>= 1)
        budget += 2;
    return budget;
}

/* Rearrange c[0..n) so that c[0..m) holds its m first-ranked candidates,
 * in ranking order (0 < m <= n). */
static void select_sorted_prefix(struct smp_cand *c, size_t n, size_t m)
{
    size_t lo = 0, hi = n; /* c[0..lo) rank before c[lo..hi), which rank
                              before c[hi..n); lo <= m <= hi */
    int budget = partition_budget(n);
    while (lo < m && m < hi && hi - lo > 16 && budget-- > 0) {
        size_t p = partition(c, lo, hi, NULL);
        if (m <= p)
            hi = p;
        else
            lo = p + 1;
    }
    if (lo < m && m < hi) /* the boundary inside a small or stubborn range */
        qsort(c + lo, hi - lo, sizeof *c, cand_cmp);
    qsort(c, m, sizeof *c, cand_cmp);
}

/* top-p: with weights c[i].w = p_i * Z and target = top_p * Z, the length of
 * the shortest first-ranked run of c[0..n) whose weight reaches target
 * (at least 1). A weighted quickselect: linear time whatever the run's
 * length, leaving the run in c[0..return) in no particular order. With
 * sorted, c is already in ranking order and is scanned. */
static size_t top_p_cut(struct smp_cand *c, size_t n, bool sorted, double target)
{
    size_t lo = 0, hi = n; /* c[0..lo) are kept for sure, c[hi..n) dropped */
    double acc = 0.0;      /* weight of c[0..lo) */
    int budget = partition_budget(n);
    while (!sorted && hi - lo > 32 && budget-- > 0) {
        double before;
        size_t p = partition(c, lo, hi, &before);
        if (acc + before >= target) {
            hi = p; /* the run ends before the pivot */
        } else {
            acc += before;
            if (acc + c[p].w >= target)
                return p + 1; /* ends at the pivot */
            acc += c[p].w;
            lo = p + 1;
        }
    }
    if (!sorted)
        qsort(c + lo, hi - lo, sizeof *c, cand_cmp);
    for (size_t i = lo; i < hi; i++) {
        acc += c[i].w;
        if (acc >= target)
            return i + 1;
    }
    return hi > 0 ? hi : 1; /* rounding kept the sum just short */
}

/* ----------------------------------------------------------- top-k ids */

/* ids[0..n) as a heap whose root ranks last; by logit, NaN as -inf. */
static float rank_logit(const float *logits, int32_t id)
{
    float x = logits[id];
    return isnan(x) ? -INFINITY : x;
}

static int id_before(const float *logits, int32_t a, int32_t b)
{
    float x = rank_logit(logits, a), y = rank_logit(logits, b);
    return x > y || (x == y && a < b);
}

static void heap_down(const float *logits, int32_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, worst = i;
        if (l < n && id_before(logits, h[worst], h[l]))
            worst = l;
        if (r < n && id_before(logits, h[worst], h[r]))
            worst = r;
        if (worst == i)
            return;
        int32_t t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

size_t glimp_logits_top_k(const float *logits, size_t n, size_t k, int32_t *ids)
{
    if (n > (size_t)INT32_MAX + 1)
        n = (size_t)INT32_MAX + 1;
    if (k > n)
        k = n;
    if (k == 0 || !logits || !ids)
        return 0;
    for (size_t i = 0; i < k; i++)
        ids[i] = (int32_t)i;
    for (size_t i = k / 2; i-- > 0;)
        heap_down(logits, ids, k, i);
    /* every id in the heap is below i, so i gets in only on a strictly
     * larger logit (never as NaN): one compare per logit */
    float thr = rank_logit(logits, ids[0]);
    for (size_t i = k; i < n; i++) {
        if (logits[i] > thr) {
            ids[0] = (int32_t)i;
            heap_down(logits, ids, k, 0);
            thr = rank_logit(logits, ids[0]);
        }
    }
    /* pop the last-ranked to the back: ids end up first-ranked first */
    for (size_t end = k; end > 1; end--) {
        int32_t t = ids[0];
        ids[0] = ids[end - 1];
        ids[end - 1] = t;
        heap_down(logits, ids, end - 1, 0);
    }
    return k;
}

/* --------------------------------------------------------------- filters */

/* Reject NaN and +inf, find the first-ranked finite logit. The loop has no
 * early exit so that it runs at memory speed; a bad logit is looked up
 * again for the message. */
static int check_logits(const struct glimp_sampler *s, const float *logits, uint32_t n,
                        int32_t *best)
{
    if (!logits)
        return glimp_error(GLIMP_ERR_INVALID, "sampler: logits is NULL");
    if (n == 0 || n > s->cap)
        return glimp_error(GLIMP_ERR_INVALID, "sampler: n_vocab %u, expected 1..%u", n, s->cap);
    uint32_t b = 0;
    float bmax = -INFINITY;
    bool bad = false;
    for (uint32_t i = 0; i < n; i++) {
        float x = logits[i];
        bad |= !(x < INFINITY); /* NaN or +inf */
        if (x > bmax) {
            bmax = x;
            b = i;
        }
    }
    if (bad) {
        for (uint32_t i = 0; i < n; i++)
            if (!(logits[i] < INFINITY))
                return glimp_error(GLIMP_ERR_INVALID, "sampler: logit of token %u is %s", i,
                                   isnan(logits[i]) ? "NaN" : "+inf");
    }
    if (bmax == -INFINITY)
        return glimp_error(GLIMP_ERR_INVALID, "sampler: no token has a finite logit (of %u)", n);
    *best = (int32_t)b;
    return GLIMP_OK;
}

int smp_filter(struct glimp_sampler *s, const float *logits, uint32_t n, size_t *n_out,
               int32_t *best)
{
    int rc = check_logits(s, logits, n, best);
    if (rc != GLIMP_OK)
        return rc;
    const double lmax = logits[*best]; /* always survives: it ranks first */
    struct smp_cand *c = s->cand;
    size_t nc = 0;
    bool sorted = false; /* c[0..nc) in ranking order */
    uint32_t k = s->p.top_k;

    /* top-k */
    if (k > 0 && k < n && k <= SMP_HEAP_K_MAX) {
        size_t got = glimp_logits_top_k(logits, n, k, s->ids);
        for (size_t i = 0; i < got && logits[s->ids[i]] > -INFINITY; i++)
            c[nc++] = (struct smp_cand){0.0, logits[s->ids[i]], s->ids[i]};
        sorted = true;
    } else {
        for (uint32_t i = 0; i < n; i++)
            if (logits[i] > -INFINITY)
                c[nc++] = (struct smp_cand){0.0, logits[i], (int32_t)i};
        if (k > 0 && k < nc) {
            select_sorted_prefix(c, nc, k);
            nc = k;
            sorted = true;
        }
    }

    /* top-p: the shortest first-ranked run whose probability reaches top_p */
    if (s->p.top_p < 1.0f && nc > 1) {
        double z = 0.0;
        for (size_t i = 0; i < nc; i++)
            z += c[i].w = exp((double)c[i].logit - lmax);
        nc = top_p_cut(c, nc, sorted, (double)s->p.top_p * z);
    }

    /* min-p: p_i >= min_p * p_max, that is logit_i - max >= ln min_p */
    if (s->p.min_p > 0.0f && nc > 1) {
        const double lfloor = log((double)s->p.min_p);
        size_t kept = 0;
        for (size_t i = 0; i < nc; i++)
            if ((double)c[i].logit - lmax >= lfloor)
                c[kept++] = c[i];
        nc = kept;
    }
    *n_out = nc;
    return GLIMP_OK;
}

/* ------------------------------------------------------------------ draw */

/* The filters, then each survivor's draw weight exp((logit - max) / T) in
 * s->cand[i].w (i < *nc) and their *total: what a draw and the law it
 * draws from (glimp_sampler_probs) both start from. */
static int weigh(struct glimp_sampler *s, const float *logits, uint32_t n_vocab, size_t *nc,
                 double *total)
{
    int32_t best;
    int rc = smp_filter(s, logits, n_vocab, nc, &best);
    if (rc != GLIMP_OK)
        return rc;
    struct smp_cand *c = s->cand;
    const double lmax = logits[best], inv_t = 1.0 / (double)s->p.temperature;
    double sum = 0.0;
    for (size_t i = 0; i < *nc; i++)
        sum += c[i].w = exp(((double)c[i].logit - lmax) * inv_t);
    *total = sum;
    return GLIMP_OK;
}

int glimp_sampler_sample(struct glimp_sampler *s, const float *logits, uint32_t n_vocab,
                         int32_t *id)
{
    if (!s || !id)
        return glimp_error(GLIMP_ERR_INVALID, "sampler: sampler or id is NULL");
    int32_t best;
    if (s->p.temperature == 0.0f) {
        int rc = check_logits(s, logits, n_vocab, &best);
        if (rc == GLIMP_OK)
            *id = best;
        return rc;
    }
    size_t nc;
    double total;
    int rc = weigh(s, logits, n_vocab, &nc, &total);
    if (rc != GLIMP_OK)
        return rc;
    const struct smp_cand *c = s->cand;
    /* total >= 1: the first-ranked token survives every filter, weight 1 */
    const double u = rng_unit(s->rng) * total;
    double cum = 0.0;
    size_t pick = nc;
    for (size_t i = 0; i < nc; i++) {
        cum += c[i].w;
        if (u < cum) {
            pick = i;
            break;
        }
    }
    if (pick == nc) { /* u fell past the rounded sum: the last one that can be drawn */
        pick = nc - 1;
        while (pick > 0 && c[pick].w == 0.0)
            pick--;
    }
    *id = c[pick].id;
    return GLIMP_OK;
}

/* ------------------------------------------------ speculative decoding */

/* The law glimp_sampler_sample draws from, written out: the same filters and
 * the same weights exp((logit - max) / T), divided by the same total, so a
 * token the draw can never reach (dropped, or a weight that underflows) is
 * exactly 0. probs is untouched on failure. */
int glimp_sampler_probs(struct glimp_sampler *s, const float *logits, uint32_t n_vocab,
                        float *probs)
{
    if (!s || !probs)
        return glimp_error(GLIMP_ERR_INVALID, "sampler: sampler or probs is NULL");
    int32_t best;
    int rc;
    if (s->p.temperature == 0.0f) {
        if ((rc = check_logits(s, logits, n_vocab, &best)) != GLIMP_OK)
            return rc;
        for (uint32_t i = 0; i < n_vocab; i++)
            probs[i] = 0.0f;
        probs[best] = 1.0f;
        return GLIMP_OK;
    }
    size_t nc;
    double total;
    rc = weigh(s, logits, n_vocab, &nc, &total);
    if (rc != GLIMP_OK)
        return rc;
    const struct smp_cand *c = s->cand;
    for (uint32_t i = 0; i < n_vocab; i++)
        probs[i] = 0.0f;
    for (size_t i = 0; i < nc; i++)
        probs[c[i].id] = (float)(c[i].w / total);
    return GLIMP_OK;
}

/* One pass checks every entry and sums them (in double: n floats cannot
 * overflow it), a second finds where u lands. On failure *id is unchanged
 * and no draw is taken. */
int glimp_sampler_draw(struct glimp_sampler *s, const float *probs, uint32_t n, int32_t *id)
{
    if (!s || !probs || !id)
        return glimp_error(GLIMP_ERR_INVALID, "sampler: sampler, probs or id is NULL");
    if (n == 0 || n > (uint32_t)INT32_MAX)
        return glimp_error(GLIMP_ERR_INVALID, "sampler: draw from %u entries, expected 1..%d", n,
                           INT32_MAX);
    double total = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        float x = probs[i];
        if (!(x >= 0.0f) || isinf(x))
            return glimp_error(GLIMP_ERR_INVALID, "sampler: probability of token %u is %g", i,
                               (double)x);
        total += x;
    }
    if (total == 0.0)
        return glimp_error(GLIMP_ERR_INVALID, "sampler: draw from %u probabilities that are all 0",
                           n);
    const double u = rng_unit(s->rng) * total;
    double cum = 0.0;
    uint32_t last = 0; /* the last nonzero entry seen */
    for (uint32_t i = 0; i < n; i++) {
        if (probs[i] == 0.0f)
            continue;
        last = i;
        cum += probs[i];
        if (u < cum) {
            *id = (int32_t)i;
            return GLIMP_OK;
        }
    }
    *id = (int32_t)last; /* u fell past the rounded sum */
    return GLIMP_OK;
}

double glimp_sampler_uniform(struct glimp_sampler *s)
{
    return rng_unit(s->rng);
}
