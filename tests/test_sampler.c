/* test_sampler.c - sampling and entropy against independent computations:
 * entropy against closed forms and a direct float64 formula, the filter
 * chain (top-k -> top-p -> min-p) against a plain sort-everything version
 * written here, draw frequencies against the exact filtered distribution
 * (chi-square, fixed seeds so nothing can flake), the RNG against the
 * xoshiro256** reference vector, and seeded reproducibility. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glimp.h"
#include "sampler/sampler_internal.h"
#include "testutil.h"

/* ------------------------------------------------------------- helpers */

static float *random_logits(size_t n, float sd, uint64_t seed)
{
    float *l = malloc(n * sizeof *l);
    assert_non_null(l);
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++)
        l[i] = sd * tu_rng_normal(&st);
    return l;
}

static struct glimp_sampler *make_sampler(float temp, uint32_t top_k, float top_p, float min_p,
                                          uint64_t seed, uint32_t n_vocab)
{
    struct glimp_sampler_params p = glimp_sampler_default_params();
    p.temperature = temp;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.seed = seed;
    struct glimp_sampler *s = NULL;
    assert_int_equal(glimp_sampler_init(&p, n_vocab, &s), GLIMP_OK);
    assert_non_null(s);
    return s;
}

/* The reference ranking: larger logit first, lower id on ties. */
struct ref_item {
    double logit;
    int32_t id;
};

static int ref_cmp(const void *pa, const void *pb)
{
    const struct ref_item *a = pa, *b = pb;
    if (a->logit != b->logit)
        return a->logit > b->logit ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id ? 1 : 0;
}

/* All finite logits, fully sorted. Returns the count; *out malloc'ed. */
static size_t ref_sorted(const float *l, size_t n, struct ref_item **out)
{
    struct ref_item *it = malloc((n ? n : 1) * sizeof *it);
    assert_non_null(it);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(l[i]))
            it[m++] = (struct ref_item){l[i], (int32_t)i};
    qsort(it, m, sizeof *it, ref_cmp);
    *out = it;
    return m;
}

/* The filter chain the header promises, done the plain way: sort all, cut
 * at k, cut at the first cumulative probability >= top_p, drop those below
 * min_p times the largest probability. Survivors stay in it[0..return). */
static size_t ref_filter(struct ref_item *it, size_t m, uint32_t top_k, float top_p, float min_p)
{
    if (top_k > 0 && top_k < m)
        m = top_k;
    if (top_p < 1.0f && m > 1) {
        double z = 0.0;
        for (size_t i = 0; i < m; i++)
            z += exp(it[i].logit - it[0].logit);
        double cum = 0.0;
        for (size_t i = 0; i < m; i++) {
            cum += exp(it[i].logit - it[0].logit) / z;
            if (cum >= (double)top_p) {
                m = i + 1;
                break;
            }
        }
    }
    if (min_p > 0.0f && m > 1) {
        size_t kept = 0;
        for (size_t i = 0; i < m; i++)
            if (exp(it[i].logit - it[0].logit) >= (double)min_p)
                it[kept++] = it[i];
        m = kept;
    }
    return m;
}

/* Entropy straight from the definition: p = e^l / sum e^l, -sum p ln p. */
static double ref_entropy(const double *l, size_t n)
{
    double mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        mx = l[i] > mx ? l[i] : mx;
    double z = 0.0;
    for (size_t i = 0; i < n; i++)
        z += exp(l[i] - mx);
    double h = 0.0;
    for (size_t i = 0; i < n; i++) {
        double p = exp(l[i] - mx) / z;
        if (p > 0.0)
            h -= p * log(p);
    }
    return h;
}

/* ------------------------------------------------------------- entropy */

static void test_entropy_closed_forms(void **state)
{
    (void)state;
    /* uniform over n: ln n, whatever the common value */
    static const size_t ns[] = {1, 2, 7, 20, 1000, 151936};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        size_t n = ns[t];
        float *l = malloc(n * sizeof *l);
        assert_non_null(l);
        for (size_t i = 0; i < n; i++)
            l[i] = 3.75f;
        assert_true(fabs(glimp_entropy_full(l, n) - log((double)n)) < 1e-12 * (1 + log((double)n)));
        for (size_t i = 0; i < n; i++)
            l[i] = -12345.5f;
        assert_true(fabs(glimp_entropy_full(l, n) - log((double)n)) < 1e-12 * (1 + log((double)n)));
        free(l);
    }
    /* two points: p = 1 / (1 + e^(b - a)) */
    static const float pairs[][2] = {{0, 0},         {0, 1},  {2.5f, -1},     {1000, 1001},
                                     {-50, -57.25f}, {0, 30}, {3e38f, 3e38f}, {3e38f, -3e38f}};
    for (size_t t = 0; t < sizeof pairs / sizeof pairs[0]; t++) {
        double a = pairs[t][0], b = pairs[t][1];
        double p = 1.0 / (1.0 + exp(b - a)), q = 1.0 / (1.0 + exp(a - b));
        double want = (p > 0 ? -p * log(p) : 0) + (q > 0 ? -q * log(q) : 0);
        double got = glimp_entropy_full(pairs[t], 2);
        assert_true(fabs(got - want) < 1e-12);
    }
    /* one huge logit: all the mass on it */
    float big[1000] = {0};
    big[417] = 100.0f;
    double h = glimp_entropy_full(big, 1000);
    assert_true(h >= 0.0 && h < 1e-35);
    big[417] = 3e38f;
    assert_true(glimp_entropy_full(big, 1000) == 0.0);
    /* -inf logits are tokens of probability 0 */
    const float with_inf[] = {0, 0, -INFINITY, 0, -INFINITY};
    assert_true(fabs(glimp_entropy_full(with_inf, 5) - log(3.0)) < 1e-14);
    const float one_left[] = {-INFINITY, 7, -INFINITY};
    assert_true(glimp_entropy_full(one_left, 3) == 0.0);
    /* shift invariance */
    float *l = random_logits(5000, 3.0f, 7);
    float *sh = malloc(5000 * sizeof *sh);
    assert_non_null(sh);
    for (size_t i = 0; i < 5000; i++)
        sh[i] = l[i] + 64.0f; /* exact in float for these magnitudes? close enough */
    assert_true(fabs(glimp_entropy_full(l, 5000) - glimp_entropy_full(sh, 5000)) < 1e-5);
    /* against the plain formula */
    double *d = malloc(5000 * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < 5000; i++)
        d[i] = l[i];
    assert_true(fabs(glimp_entropy_full(l, 5000) - ref_entropy(d, 5000)) < 1e-11);
    free(d);
    free(sh);
    free(l);
    /* NaN when there is no distribution */
    const float all_inf[] = {-INFINITY, -INFINITY};
    const float has_nan[] = {0, NAN, 1};
    const float has_pinf[] = {0, INFINITY, 1};
    assert_true(isnan(glimp_entropy_full(all_inf, 2)));
    assert_true(isnan(glimp_entropy_full(has_nan, 3)));
    assert_true(isnan(glimp_entropy_full(has_pinf, 3)));
    assert_true(isnan(glimp_entropy_full(has_nan, 0)));
    assert_true(isnan(glimp_entropy_full(NULL, 3)));
}

/* Top-k entropy against a direct float64 computation: sort everything,
 * take k, renormalise, -sum p ln p. */
static double ref_entropy_topk(const float *l, size_t n, size_t k)
{
    struct ref_item *it;
    size_t m = ref_sorted(l, n, &it);
    if (k < m)
        m = k;
    double *top = malloc((m ? m : 1) * sizeof *top);
    assert_non_null(top);
    for (size_t i = 0; i < m; i++)
        top[i] = it[i].logit;
    double h = ref_entropy(top, m);
    free(top);
    free(it);
    return h;
}

static void test_entropy_topk(void **state)
{
    (void)state;
    static const size_t ks[] = {1, 2, 5, 20, 100, 300, 999, 1000, 5000};
    for (uint64_t seed = 1; seed <= 4; seed++) {
        float *l = random_logits(1000, seed == 4 ? 0.3f : 2.5f * (float)seed, 100 + seed);
        if (seed == 3) /* coarse values: many ties at the k-th place */
            for (size_t i = 0; i < 1000; i++)
                l[i] = floorf(l[i]);
        for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
            double got = glimp_entropy_topk(l, 1000, ks[t]);
            double want = ref_entropy_topk(l, 1000, ks[t]);
            assert_true(fabs(got - want) < 1e-12);
            assert_true(got <= log((double)ks[t]) + 1e-12);
        }
        assert_true(glimp_entropy_topk(l, 1000, 1) == 0.0);
        assert_true(glimp_entropy_topk(l, 1000, 1000) == glimp_entropy_full(l, 1000));
        free(l);
    }
    /* uniform: ln k; ties at the cut do not change the value */
    float flat[100];
    for (size_t i = 0; i < 100; i++)
        flat[i] = 1.0f;
    assert_true(fabs(glimp_entropy_topk(flat, 100, 20) - log(20.0)) < 1e-14);
    const float tied[] = {1, 5, 5, 0, 5, 5, 2};
    assert_true(fabs(glimp_entropy_topk(tied, 7, 2) - log(2.0)) < 1e-14);
    /* -inf among the k largest: probability 0 */
    const float sparse[] = {-INFINITY, 3, -INFINITY, 3, -INFINITY};
    assert_true(fabs(glimp_entropy_topk(sparse, 5, 4) - log(2.0)) < 1e-14);

    /* what the reference code does: the server's top-20 logprobs (log-softmax
     * over the whole vocabulary), exponentiated and renormalised */
    float *l = random_logits(151936, 2.0f, 99);
    double mx = -INFINITY, z = 0.0;
    for (size_t i = 0; i < 151936; i++)
        mx = l[i] > mx ? l[i] : mx;
    for (size_t i = 0; i < 151936; i++)
        z += exp(l[i] - mx);
    struct ref_item *it;
    ref_sorted(l, 151936, &it);
    double p[20], sum = 0.0, h = 0.0;
    for (int i = 0; i < 20; i++) {
        double logprob = it[i].logit - mx - log(z);
        p[i] = exp(logprob);
        sum += p[i];
    }
    for (int i = 0; i < 20; i++)
        h -= p[i] / sum * log(p[i] / sum);
    assert_true(fabs(glimp_entropy_topk(l, 151936, 20) - h) < 1e-12);
    free(it);
    free(l);

    assert_true(isnan(glimp_entropy_topk(flat, 100, 0)));
    const float has_nan[] = {0, NAN, 1};
    assert_true(isnan(glimp_entropy_topk(has_nan, 3, 1)));
    const float all_inf[] = {-INFINITY, -INFINITY, -INFINITY};
    assert_true(isnan(glimp_entropy_topk(all_inf, 3, 2)));
}

static void test_logits_top_k(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        float *l = random_logits(3000, 1.0f, 200 + seed);
        if (seed == 2)
            for (size_t i = 0; i < 3000; i++)
                l[i] = roundf(l[i] * 2.0f); /* heavy ties */
        if (seed == 3)
            l[5] = l[77] = NAN; /* NaN ranks as -inf */
        struct ref_item *it;
        size_t m = ref_sorted(l, 3000, &it);
        int32_t *ids = malloc(3000 * sizeof *ids);
        assert_non_null(ids);
        static const size_t ks[] = {1, 3, 40, 256, 1000, 2998};
        for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
            size_t got = glimp_logits_top_k(l, 3000, ks[t], ids);
            assert_int_equal(got, ks[t]);
            for (size_t i = 0; i < got && i < m; i++)
                assert_int_equal(ids[i], it[i].id);
        }
        if (seed == 3) { /* the NaN ones rank last, lower id first */
            assert_int_equal(glimp_logits_top_k(l, 3000, 3000, ids), 3000);
            assert_int_equal(ids[2998], 5);
            assert_int_equal(ids[2999], 77);
        }
        assert_int_equal(glimp_logits_top_k(l, 3000, 5000, ids), 3000);
        assert_int_equal(glimp_logits_top_k(l, 3000, 0, ids), 0);
        free(ids);
        free(it);
        free(l);
    }
}

/* ----------------------------------------------------------- sampling */

static void test_greedy(void **state)
{
    (void)state;
    struct glimp_sampler *s = make_sampler(0.0f, 3, 0.5f, 0.3f, 1, 1000);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        float *l = random_logits(1000, 2.0f, 300 + seed);
        int32_t want = 0;
        for (int32_t i = 1; i < 1000; i++)
            if (l[i] > l[want])
                want = i;
        int32_t id = -1;
        assert_int_equal(glimp_sampler_sample(s, l, 1000, &id), GLIMP_OK);
        assert_int_equal(id, want);
        free(l);
    }
    /* ties: the lowest id; -inf never */
    const float tied[] = {-INFINITY, 1, 4, 2, 4, 4};
    int32_t id = -1;
    assert_int_equal(glimp_sampler_sample(s, tied, 6, &id), GLIMP_OK);
    assert_int_equal(id, 2);
    const float lone[] = {-INFINITY, -INFINITY, -3};
    assert_int_equal(glimp_sampler_sample(s, lone, 3, &id), GLIMP_OK);
    assert_int_equal(id, 2);
    /* fewer logits than the sampler was made for */
    assert_int_equal(glimp_sampler_sample(s, tied, 2, &id), GLIMP_OK);
    assert_int_equal(id, 1);
    /* greedy takes no draw: the RNG state is that of a fresh sampler */
    struct glimp_sampler *fresh = make_sampler(0.0f, 3, 0.5f, 0.3f, 1, 1000);
    assert_memory_equal(s->rng, fresh->rng, sizeof s->rng);
    glimp_sampler_free(fresh);
    glimp_sampler_free(s);
}

static void test_top_k_one_is_greedy(void **state)
{
    (void)state;
    struct glimp_sampler *g = make_sampler(0.0f, 0, 1.0f, 0.0f, 5, 4000);
    struct glimp_sampler *k1 = make_sampler(1.5f, 1, 1.0f, 0.0f, 5, 4000);
    struct glimp_sampler *k1p = make_sampler(0.7f, 1, 0.9f, 0.05f, 6, 4000);
    for (uint64_t seed = 1; seed <= 50; seed++) {
        float *l = random_logits(4000, 1.0f, 400 + seed);
        if (seed % 5 == 0) /* ties for first place */
            for (size_t i = 0; i < 4000; i++)
                l[i] = roundf(l[i]);
        int32_t a, b, c;
        assert_int_equal(glimp_sampler_sample(g, l, 4000, &a), GLIMP_OK);
        assert_int_equal(glimp_sampler_sample(k1, l, 4000, &b), GLIMP_OK);
        assert_int_equal(glimp_sampler_sample(k1p, l, 4000, &c), GLIMP_OK);
        assert_int_equal(a, b);
        assert_int_equal(a, c);
        free(l);
    }
    glimp_sampler_free(g);
    glimp_sampler_free(k1);
    glimp_sampler_free(k1p);
}

static int id_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The sampler's survivors as a sorted id list against the reference's. */
static void check_filter(const float *l, uint32_t n, uint32_t top_k, float top_p, float min_p)
{
    struct glimp_sampler *s = make_sampler(1.0f, top_k, top_p, min_p, 1, n);
    size_t got_n;
    int32_t best;
    assert_int_equal(smp_filter(s, l, n, &got_n, &best), GLIMP_OK);
    struct ref_item *it;
    size_t m = ref_sorted(l, n, &it);
    size_t want_n = ref_filter(it, m, top_k, top_p, min_p);
    if (got_n != want_n)
        fail_msg("top_k %u top_p %g min_p %g: %zu survivors, want %zu", top_k, (double)top_p,
                 (double)min_p, got_n, want_n);
    int32_t *got = malloc((got_n ? got_n : 1) * sizeof *got);
    int32_t *want = malloc((want_n ? want_n : 1) * sizeof *want);
    assert_non_null(got);
    assert_non_null(want);
    for (size_t i = 0; i < got_n; i++)
        got[i] = s->cand[i].id;
    for (size_t i = 0; i < want_n; i++)
        want[i] = it[i].id;
    /* same set; compare as sorted lists */
    qsort(got, got_n, sizeof *got, id_cmp);
    qsort(want, want_n, sizeof *want, id_cmp);
    assert_memory_equal(got, want, got_n * sizeof *got);
    assert_int_equal(best, it[0].id);
    free(got);
    free(want);
    free(it);
    glimp_sampler_free(s);
}

static void test_filters_exact(void **state)
{
    (void)state;
    static const uint32_t ks[] = {0, 1, 2, 40, 256, 257, 1000, 4999, 5000, 9000};
    static const float ps[] = {1.0f, 0.999f, 0.95f, 0.5f, 0.1f, 0.0f};
    static const float mps[] = {0.0f, 0.01f, 0.05f, 0.3f, 1.0f};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        float *l = random_logits(5000, seed == 1 ? 1.0f : 3.0f, 500 + seed);
        if (seed == 3) { /* ties and dead tokens */
            for (size_t i = 0; i < 5000; i++)
                l[i] = i % 7 == 0 ? -INFINITY : roundf(l[i]);
        }
        for (size_t a = 0; a < sizeof ks / sizeof ks[0]; a++)
            for (size_t b = 0; b < sizeof ps / sizeof ps[0]; b++)
                for (size_t c = 0; c < sizeof mps / sizeof mps[0]; c++)
                    check_filter(l, 5000, ks[a], ps[b], mps[c]);
        free(l);
    }
    /* the documented boundary rules on a small case: four equal tokens,
     * top-p 0.5 keeps exactly two, the lower ids */
    const float four[] = {2, 2, 2, 2};
    check_filter(four, 4, 0, 0.5f, 0.0f);
    struct glimp_sampler *s = make_sampler(1.0f, 0, 0.5f, 0.0f, 1, 4);
    size_t n;
    int32_t best;
    assert_int_equal(smp_filter(s, four, 4, &n, &best), GLIMP_OK);
    assert_int_equal(n, 2);
    assert_true((s->cand[0].id == 0 && s->cand[1].id == 1) ||
                (s->cand[0].id == 1 && s->cand[1].id == 0));
    glimp_sampler_free(s);
    /* 1024 equal tokens: every weight is exactly 1, so each top-p of j/64
     * lands exactly on a boundary, where "reaches" (>=) must stop the run
     * at j * 16 tokens, the lowest ids; this goes through the weighted
     * quickselect, not a sort */
    float flat[1024];
    for (size_t i = 0; i < 1024; i++)
        flat[i] = 0.5f;
    s = make_sampler(1.0f, 0, 1.0f, 0.0f, 1, 1024);
    for (int j = 1; j < 64; j++) {
        s->p.top_p = (float)j / 64.0f;
        assert_int_equal(smp_filter(s, flat, 1024, &n, &best), GLIMP_OK);
        assert_int_equal(n, (size_t)j * 16);
        for (size_t i = 0; i < n; i++)
            assert_true(s->cand[i].id < j * 16);
        check_filter(flat, 1024, 0, (float)j / 64.0f, 0.0f);
    }
    glimp_sampler_free(s);
}

/* Draw many tokens and compare the counts with the exact distribution:
 * the reference survivors, p proportional to exp((l - l_max) / T). A token
 * outside the survivors is a failure on its own. */
static void check_frequencies(const float *l, uint32_t n, float temp, uint32_t top_k, float top_p,
                              float min_p, uint64_t seed, int draws)
{
    struct glimp_sampler *s = make_sampler(temp, top_k, top_p, min_p, seed, n);
    struct ref_item *it;
    size_t m = ref_sorted(l, n, &it);
    m = ref_filter(it, m, top_k, top_p, min_p);
    double *p = calloc(n, sizeof *p), z = 0.0;
    long *count = calloc(n, sizeof *count);
    assert_non_null(p);
    assert_non_null(count);
    for (size_t i = 0; i < m; i++)
        z += p[it[i].id] = exp((it[i].logit - it[0].logit) / (double)temp);
    for (int d = 0; d < draws; d++) {
        int32_t id;
        assert_int_equal(glimp_sampler_sample(s, l, n, &id), GLIMP_OK);
        assert_true(id >= 0 && (uint32_t)id < n);
        if (p[id] == 0.0)
            fail_msg("drew token %d, which the filters remove", id);
        count[id]++;
    }
    double chi2 = 0.0;
    for (size_t i = 0; i < m; i++) {
        double e = draws * p[it[i].id] / z;
        double o = (double)count[it[i].id];
        chi2 += (o - e) * (o - e) / e;
    }
    double df = m > 1 ? (double)(m - 1) : 1.0;
    /* generous: the 0.9999 quantile is below df + 6 sqrt(2 df) + 10 for
     * every df; a wrong law (temperature ignored, a filter off by one)
     * gives thousands here */
    double limit = df + 6.0 * sqrt(2.0 * df) + 10.0;
    if (!(chi2 < limit))
        fail_msg("T %g top_k %u top_p %g min_p %g: chi-square %.1f over %zu tokens, limit %.1f",
                 (double)temp, top_k, (double)top_p, (double)min_p, chi2, m, limit);
    free(count);
    free(p);
    free(it);
    glimp_sampler_free(s);
}

static void test_sampling_frequencies(void **state)
{
    (void)state;
    const float small[12] = {1.0f,  0.5f, 2.0f,  -1.0f, 0.0f, 1.5f,
                             -0.5f, 2.0f, 0.25f, -3.0f, 1.0f, -INFINITY};
    check_frequencies(small, 12, 1.0f, 0, 1.0f, 0.0f, 11, 200000);  /* plain softmax */
    check_frequencies(small, 12, 0.5f, 0, 1.0f, 0.0f, 12, 200000);  /* sharper */
    check_frequencies(small, 12, 2.0f, 0, 1.0f, 0.0f, 13, 200000);  /* flatter */
    check_frequencies(small, 12, 0.7f, 5, 1.0f, 0.0f, 14, 200000);  /* top-k */
    check_frequencies(small, 12, 1.3f, 0, 0.8f, 0.0f, 15, 200000);  /* top-p */
    check_frequencies(small, 12, 1.0f, 0, 1.0f, 0.2f, 16, 200000);  /* min-p */
    check_frequencies(small, 12, 0.6f, 8, 0.9f, 0.05f, 17, 200000); /* all of them */
    check_frequencies(small, 12, 1.0f, 2, 1.0f, 0.0f, 18, 100000);  /* tie at the top */
    /* a larger vocabulary: the incremental top-p sort and the quickselect */
    float *l = random_logits(2000, 0.8f, 21);
    check_frequencies(l, 2000, 1.0f, 0, 0.3f, 0.0f, 19, 20000);
    check_frequencies(l, 2000, 0.8f, 300, 0.5f, 0.01f, 20, 20000);
    free(l);
    /* a top-p cut past the first SMP_TOP_P_FIRST tokens: the sort grows */
    l = random_logits(3000, 0.3f, 22);
    struct ref_item *it;
    size_t m = ref_sorted(l, 3000, &it);
    m = ref_filter(it, m, 0, 0.2f, 0.0f);
    assert_true(m > 64);
    free(it);
    check_filter(l, 3000, 0, 0.2f, 0.0f);
    free(l);
}

/* ------------------------------------------------------------ the RNG */

static void test_rng(void **state)
{
    (void)state;
    /* xoshiro256** from the state {1, 2, 3, 4}: the reference outputs */
    struct glimp_sampler *s = make_sampler(1.0f, 0, 1.0f, 0.0f, 0, 4);
    s->rng[0] = 1;
    s->rng[1] = 2;
    s->rng[2] = 3;
    s->rng[3] = 4;
    assert_true(smp_rng_next(s) == 11520u);
    assert_true(smp_rng_next(s) == 0u);
    assert_true(smp_rng_next(s) == 1509978240u);
    assert_true(smp_rng_next(s) == 1215971899390074240u);
    /* seeding: four splitmix64 outputs from the seed */
    glimp_sampler_set_seed(s, 12345);
    uint64_t st = 12345;
    for (int i = 0; i < 4; i++)
        assert_true(s->rng[i] == tu_rng_u64(&st));
    glimp_sampler_free(s);
}

static void test_seeds(void **state)
{
    (void)state;
    float *l = random_logits(1000, 1.0f, 600);
    enum { N = 500 };
    int32_t a[N], b[N], c[N];
    struct glimp_sampler *sa = make_sampler(0.9f, 50, 0.95f, 0.02f, 42, 1000);
    struct glimp_sampler *sb = make_sampler(0.9f, 50, 0.95f, 0.02f, 42, 1000);
    struct glimp_sampler *sc = make_sampler(0.9f, 50, 0.95f, 0.02f, 43, 1000);
    for (int i = 0; i < N; i++) {
        assert_int_equal(glimp_sampler_sample(sa, l, 1000, &a[i]), GLIMP_OK);
        assert_int_equal(glimp_sampler_sample(sb, l, 1000, &b[i]), GLIMP_OK);
        assert_int_equal(glimp_sampler_sample(sc, l, 1000, &c[i]), GLIMP_OK);
    }
    assert_memory_equal(a, b, sizeof a);
    assert_true(memcmp(a, c, sizeof a) != 0);
    /* set_seed restarts the sequence */
    glimp_sampler_set_seed(sb, 42);
    for (int i = 0; i < N; i++) {
        int32_t id;
        assert_int_equal(glimp_sampler_sample(sb, l, 1000, &id), GLIMP_OK);
        assert_int_equal(id, a[i]);
    }
    /* golden: the same draws on every platform (integer RNG, and the
     * survivors and their weights are far from any rounding boundary) */
    static const int32_t golden[8] = {951, 950, 245, 19, 634, 669, 562, 247};
    assert_memory_equal(a, golden, sizeof golden);
    glimp_sampler_free(sa);
    glimp_sampler_free(sb);
    glimp_sampler_free(sc);
    free(l);
}

/* ------------------------------------------------ speculative decoding */

/* Chi-square of counts against a law (weights w, any positive total) over
 * `draws` trials. Cells expected below 5 are pooled into one, so that a rare
 * token hit once cannot dominate; a count on a cell of weight 0 fails. *df
 * is the number of cells less one (0: a single cell, chi-square 0). */
static double chi2_counts(const double *w, const long *count, size_t n, long draws, double *df)
{
    double z = 0.0;
    for (size_t i = 0; i < n; i++)
        z += w[i];
    assert_true(z > 0.0);
    double chi2 = 0.0, pool_e = 0.0, pool_o = 0.0;
    size_t cells = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0.0) {
            if (count[i] != 0)
                fail_msg("token %zu, of probability 0, came up %ld times", i, count[i]);
            continue;
        }
        double e = (double)draws * w[i] / z, o = (double)count[i];
        if (e < 5.0) {
            pool_e += e;
            pool_o += o;
            continue;
        }
        chi2 += (o - e) * (o - e) / e;
        cells++;
    }
    if (pool_e > 0.0) {
        chi2 += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
        cells++;
    }
    *df = cells > 0 ? (double)(cells - 1) : 0.0;
    return chi2;
}

/* Far beyond the 0.9999 quantile for every df (as check_frequencies). */
static double chi2_limit(double df)
{
    return df + 6.0 * sqrt(2.0 * df) + 10.0;
}

/* glimp_sampler_probs against the reference law (ref_filter, softmax at T
 * in double) and against the sampler's own draws. */
static void check_probs(const float *l, uint32_t n, float temp, uint32_t top_k, float top_p,
                        float min_p, uint64_t seed, long draws)
{
    struct glimp_sampler *s = make_sampler(temp, top_k, top_p, min_p, seed, n);
    float *probs = malloc(n * sizeof *probs);
    double *want = calloc(n, sizeof *want), *got = calloc(n, sizeof *got);
    long *count = calloc(n, sizeof *count);
    assert_non_null(probs);
    assert_non_null(want);
    assert_non_null(got);
    assert_non_null(count);

    /* the reference law */
    struct ref_item *it;
    size_t m = ref_sorted(l, n, &it);
    if (temp == 0.0f) {
        want[it[0].id] = 1.0;
    } else {
        m = ref_filter(it, m, top_k, top_p, min_p);
        double z = 0.0;
        for (size_t i = 0; i < m; i++)
            z += want[it[i].id] = exp((it[i].logit - it[0].logit) / (double)temp);
        for (size_t i = 0; i < n; i++)
            want[i] /= z;
    }

    uint64_t rng_before[4];
    memcpy(rng_before, s->rng, sizeof rng_before);
    assert_int_equal(glimp_sampler_probs(s, l, n, probs), GLIMP_OK);
    assert_memory_equal(s->rng, rng_before, sizeof rng_before); /* no draw */
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        sum += got[i] = probs[i];
        if ((want[i] == 0.0) != (probs[i] == 0.0) || fabs(probs[i] - want[i]) > 1e-6)
            fail_msg("T %g top_k %u top_p %g min_p %g: token %u has probability %.9g, want %.9g",
                     (double)temp, top_k, (double)top_p, (double)min_p, i, (double)probs[i],
                     want[i]);
    }
    assert_true(fabs(sum - 1.0) < 1e-5);

    for (long d = 0; d < draws; d++) {
        int32_t id;
        assert_int_equal(glimp_sampler_sample(s, l, n, &id), GLIMP_OK);
        assert_true(id >= 0 && (uint32_t)id < n);
        count[id]++;
    }
    double df, chi2 = chi2_counts(got, count, n, draws, &df);
    print_message("probs T %g top_k %u top_p %g min_p %g: chi-square %.1f, df %.0f\n", (double)temp,
                  top_k, (double)top_p, (double)min_p, chi2, df);
    if (!(chi2 < chi2_limit(df)))
        fail_msg("T %g top_k %u top_p %g min_p %g: chi-square %.1f, df %.0f, limit %.1f",
                 (double)temp, top_k, (double)top_p, (double)min_p, chi2, df, chi2_limit(df));
    free(it);
    free(count);
    free(got);
    free(want);
    free(probs);
    glimp_sampler_free(s);
}

static void test_probs(void **state)
{
    (void)state;
    float *l = random_logits(50, 1.5f, 700);
    check_probs(l, 50, 0.0f, 0, 1.0f, 0.0f, 31, 1000);      /* greedy */
    check_probs(l, 50, 1.0f, 0, 1.0f, 0.0f, 32, 100000);    /* plain softmax */
    check_probs(l, 50, 0.7f, 5, 1.0f, 0.0f, 33, 100000);    /* top-k */
    check_probs(l, 50, 1.0f, 0, 0.9f, 0.0f, 34, 100000);    /* top-p */
    check_probs(l, 50, 1.0f, 0, 1.0f, 0.1f, 35, 100000);    /* min-p */
    check_probs(l, 50, 0.7f, 20, 0.9f, 0.1f, 36, 100000);   /* all together */
    check_probs(l, 50, 1.8f, 30, 0.95f, 0.01f, 37, 100000); /* flatter, wider */
    free(l);
    /* ties and dead tokens: greedy to the lower id, -inf always 0 */
    const float tied[] = {-INFINITY, 1, 4, 2, 4, 4, -INFINITY};
    check_probs(tied, 7, 0.0f, 0, 1.0f, 0.0f, 38, 100);
    check_probs(tied, 7, 1.0f, 0, 1.0f, 0.0f, 39, 20000);
    check_probs(tied, 7, 1.0f, 2, 1.0f, 0.0f, 40, 20000);
    /* a weight that underflows at a small temperature is exactly 0, as the
     * draw can never reach it */
    struct glimp_sampler *s = make_sampler(0.01f, 0, 1.0f, 0.0f, 1, 8);
    const float far[] = {0, -20, 0.5f, -1e4f};
    float pr[8];
    for (size_t i = 0; i < 8; i++)
        pr[i] = -1.0f;
    assert_int_equal(glimp_sampler_probs(s, far, 4, pr), GLIMP_OK);
    assert_true(pr[1] == 0.0f && pr[3] == 0.0f);
    assert_true(fabs(pr[2] - 1.0 / (1.0 + exp(-50.0))) < 1e-7);
    assert_true(fabs(pr[0] - exp(-50.0) / (1.0 + exp(-50.0))) < 1e-25);
    for (size_t i = 4; i < 8; i++) /* only n_vocab entries are written */
        assert_true(pr[i] == -1.0f);

    /* fails as glimp_sampler_sample does: no write, no draw */
    uint64_t rng_before[4];
    memcpy(rng_before, s->rng, sizeof rng_before);
    for (int greedy = 0; greedy < 2; greedy++) {
        s->p.temperature = greedy ? 0.0f : 0.9f;
        for (size_t i = 0; i < 8; i++)
            pr[i] = -1.0f;
        const float nan_l[] = {0, NAN, 1, 2};
        assert_int_equal(glimp_sampler_probs(s, nan_l, 4, pr), GLIMP_ERR_INVALID);
        assert_non_null(strstr(glimp_last_error(), "token 1 is NaN"));
        const float inf_l[] = {0, 1, INFINITY, 2};
        assert_int_equal(glimp_sampler_probs(s, inf_l, 4, pr), GLIMP_ERR_INVALID);
        assert_non_null(strstr(glimp_last_error(), "+inf"));
        const float dead[] = {-INFINITY, -INFINITY, -INFINITY};
        assert_int_equal(glimp_sampler_probs(s, dead, 3, pr), GLIMP_ERR_INVALID);
        const float ok[9] = {0};
        assert_int_equal(glimp_sampler_probs(s, ok, 9, pr), GLIMP_ERR_INVALID);
        assert_int_equal(glimp_sampler_probs(s, ok, 0, pr), GLIMP_ERR_INVALID);
        assert_int_equal(glimp_sampler_probs(s, NULL, 4, pr), GLIMP_ERR_INVALID);
        assert_int_equal(glimp_sampler_probs(s, ok, 4, NULL), GLIMP_ERR_INVALID);
        assert_int_equal(glimp_sampler_probs(NULL, ok, 4, pr), GLIMP_ERR_INVALID);
        for (size_t i = 0; i < 8; i++)
            assert_true(pr[i] == -1.0f);
    }
    assert_memory_equal(s->rng, rng_before, sizeof rng_before);
    glimp_sampler_free(s);
}

/* The inverse of an odd a modulo 2^64 (Newton: each step doubles the
 * correct low bits, from 3). */
static uint64_t inv_odd(uint64_t a)
{
    uint64_t x = a;
    for (int i = 0; i < 5; i++)
        x *= 2 - a * x;
    return x;
}

/* Set the xoshiro256** state so that its next output is `out`: the output
 * is rotl(r1 * 5, 7) * 9, which only r1 decides and which can be undone. */
static void force_next_output(struct glimp_sampler *s, uint64_t out)
{
    uint64_t y = out * inv_odd(9);
    y = (y >> 7) | (y << 57); /* rotr 7 */
    s->rng[0] = 1;
    s->rng[1] = y * inv_odd(5);
    s->rng[2] = 2;
    s->rng[3] = 3;
}

static void test_draw(void **state)
{
    (void)state;
    /* frequencies against a hand-made, unnormalised vector with holes */
    static const float v[] = {0.5f, 0, 2.0f, 1.0f, 0, 0.25f, 4.0f, 0, 0.125f, 1.5f, 0.01f, 0, 0};
    enum { NV = sizeof v / sizeof v[0] };
    const long draws = 200000;
    struct glimp_sampler *s = make_sampler(1.0f, 0, 1.0f, 0.0f, 51, NV);
    long count[NV] = {0};
    for (long d = 0; d < draws; d++) {
        int32_t id = -1;
        assert_int_equal(glimp_sampler_draw(s, v, NV, &id), GLIMP_OK);
        assert_true(id >= 0 && id < NV);
        count[id]++;
    }
    double w[NV];
    for (size_t i = 0; i < NV; i++)
        w[i] = v[i];
    double df, chi2 = chi2_counts(w, count, NV, draws, &df);
    print_message("draw: chi-square %.1f, df %.0f\n", chi2, df);
    assert_true(chi2 < chi2_limit(df));

    /* the two ends of the RNG's range: u = 0 takes the first nonzero entry,
     * the largest u the last nonzero one, never a zero entry */
    static const float ends[] = {0, 0, 0.3f, 0.1f, 0.6f, 0, 0};
    int32_t id = -1;
    force_next_output(s, 0);
    assert_true(smp_rng_next(s) == 0);
    force_next_output(s, 0);
    assert_int_equal(glimp_sampler_draw(s, ends, 7, &id), GLIMP_OK);
    assert_int_equal(id, 2);
    force_next_output(s, UINT64_MAX);
    assert_true(smp_rng_next(s) == UINT64_MAX);
    force_next_output(s, UINT64_MAX);
    assert_int_equal(glimp_sampler_draw(s, ends, 7, &id), GLIMP_OK);
    assert_int_equal(id, 4);
    static const float one[] = {0, 0, 0, 1e-30f, 0};
    for (int i = 0; i < 100; i++) {
        assert_int_equal(glimp_sampler_draw(s, one, 5, &id), GLIMP_OK);
        assert_int_equal(id, 3);
    }
    /* one draw per call, the same as glimp_sampler_uniform's */
    struct glimp_sampler *t = make_sampler(1.0f, 0, 1.0f, 0.0f, 99, NV);
    glimp_sampler_set_seed(s, 99);
    for (int i = 0; i < 50; i++) {
        double u = glimp_sampler_uniform(t);
        assert_true(u >= 0.0 && u < 1.0);
        assert_int_equal(glimp_sampler_draw(s, v, NV, &id), GLIMP_OK);
        /* the id whose run of the cumulative sum holds u */
        double total = 0.0, cum = 0.0;
        for (size_t j = 0; j < NV; j++)
            total += v[j];
        int32_t want = -1;
        for (size_t j = 0; j < NV && want < 0; j++) {
            cum += v[j];
            if (v[j] > 0 && u * total < cum)
                want = (int32_t)j;
        }
        assert_int_equal(id, want);
    }
    assert_memory_equal(s->rng, t->rng, sizeof s->rng);
    glimp_sampler_free(t);

    /* bad input: an error, *id unchanged, no draw */
    uint64_t rng_before[4];
    memcpy(rng_before, s->rng, sizeof rng_before);
    id = 77;
    const float neg[] = {0.5f, -0.1f, 1};
    assert_int_equal(glimp_sampler_draw(s, neg, 3, &id), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "token 1"));
    const float nan_p[] = {0.5f, 1, NAN};
    assert_int_equal(glimp_sampler_draw(s, nan_p, 3, &id), GLIMP_ERR_INVALID);
    const float inf_p[] = {INFINITY, 1, 1};
    assert_int_equal(glimp_sampler_draw(s, inf_p, 3, &id), GLIMP_ERR_INVALID);
    const float ninf_p[] = {1, -INFINITY, 1};
    assert_int_equal(glimp_sampler_draw(s, ninf_p, 3, &id), GLIMP_ERR_INVALID);
    const float zeros[] = {0, 0, 0};
    assert_int_equal(glimp_sampler_draw(s, zeros, 3, &id), GLIMP_ERR_INVALID);
    const float negzero[] = {0, -0.0f, 0};
    assert_int_equal(glimp_sampler_draw(s, negzero, 3, &id), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_sampler_draw(s, v, 0, &id), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_sampler_draw(s, NULL, 3, &id), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_sampler_draw(s, v, 3, NULL), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_sampler_draw(NULL, v, 3, &id), GLIMP_ERR_INVALID);
    assert_int_equal(id, 77);
    assert_memory_equal(s->rng, rng_before, sizeof rng_before);
    glimp_sampler_free(s);
}

/* Speculative sampling (Leviathan et al. 2023; Chen et al. 2023): draft
 * x ~ q, keep it with probability min(1, p[x] / q[x]), else draw from
 * max(0, p - q) renormalised. Whatever q, the token that comes out is
 * distributed as p, and it is the draft with probability sum_i min(p_i, q_i).
 * Both are checked here on the primitives the router builds the rule from. */
static void check_speculative(const float *lp, const float *lq, uint32_t n, uint32_t k_p,
                              float top_p_q, uint64_t seed, long trials)
{
    struct glimp_sampler *sp = make_sampler(1.0f, k_p, 1.0f, 0.0f, seed, n);
    struct glimp_sampler *sq = make_sampler(1.0f, 0, top_p_q, 0.0f, seed + 1, n);
    float *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q), *r = malloc(n * sizeof *r);
    long *count = calloc(n, sizeof *count);
    double *w = malloc(n * sizeof *w);
    assert_non_null(p);
    assert_non_null(q);
    assert_non_null(r);
    assert_non_null(count);
    assert_non_null(w);
    assert_int_equal(glimp_sampler_probs(sp, lp, n, p), GLIMP_OK);
    assert_int_equal(glimp_sampler_probs(sq, lq, n, q), GLIMP_OK);
    double overlap = 0.0, rsum = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        overlap += p[i] < q[i] ? p[i] : q[i];
        r[i] = p[i] > q[i] ? p[i] - q[i] : 0.0f;
        rsum += r[i];
        w[i] = p[i];
    }
    long accepted = 0;
    for (long t = 0; t < trials; t++) {
        int32_t x;
        assert_int_equal(glimp_sampler_draw(sq, q, n, &x), GLIMP_OK);
        assert_true(q[x] > 0.0f);
        double a = (double)p[x] / (double)q[x];
        if (a >= 1.0 || glimp_sampler_uniform(sp) < a) {
            accepted++;
        } else {
            assert_true(rsum > 0.0); /* a rejection means p > q somewhere */
            assert_int_equal(glimp_sampler_draw(sp, r, n, &x), GLIMP_OK);
        }
        count[x]++;
    }
    double df, chi2 = chi2_counts(w, count, n, trials, &df);
    /* acceptances are binomial(trials, overlap) */
    double sd = sqrt((double)trials * overlap * fmax(0.0, 1.0 - overlap));
    double dev = fabs((double)accepted - (double)trials * overlap);
    print_message("speculative: accept rate %.4f (want %.4f, %.1f sd off), chi-square %.1f, "
                  "df %.0f\n",
                  (double)accepted / (double)trials, overlap, sd > 0 ? dev / sd : 0.0, chi2, df);
    if (!(chi2 < chi2_limit(df)))
        fail_msg("speculative: chi-square %.1f, df %.0f, limit %.1f", chi2, df, chi2_limit(df));
    assert_true(dev <= 6.0 * sd + 1.0);
    free(w);
    free(count);
    free(r);
    free(q);
    free(p);
    glimp_sampler_free(sq);
    glimp_sampler_free(sp);
}

static void test_speculative_rule(void **state)
{
    (void)state;
    enum { N = 50 };
    float *lp = random_logits(N, 1.5f, 800);
    float *noise = random_logits(N, 0.7f, 801);
    float *lq = malloc(N * sizeof *lq);
    assert_non_null(lq);
    /* a draft close to the target, as a small model of the same family */
    for (size_t i = 0; i < N; i++)
        lq[i] = lp[i] + noise[i];
    check_speculative(lp, lq, N, 0, 1.0f, 61, 200000);
    /* an unrelated draft */
    free(lq);
    lq = random_logits(N, 1.5f, 802);
    check_speculative(lp, lq, N, 0, 1.0f, 63, 200000);
    /* holes on both sides: the target keeps its top 30 and the draft a
     * top-p 0.9 run, so some tokens only the residual can give */
    check_speculative(lp, lq, N, 30, 0.9f, 65, 200000);
    /* the draft is the target: every draft is kept */
    check_speculative(lp, lp, N, 0, 1.0f, 67, 50000);
    free(lq);
    free(noise);
    free(lp);
}

/* ------------------------------------------------------------- errors */

static void test_errors(void **state)
{
    (void)state;
    struct glimp_sampler *s = NULL;
    struct glimp_sampler_params p = glimp_sampler_default_params();
    assert_true(p.temperature == 0.8f && p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f);
    assert_int_equal(glimp_sampler_init(&p, 0, &s), GLIMP_ERR_INVALID);
    assert_null(s);
    p.temperature = -1.0f;
    assert_int_equal(glimp_sampler_init(&p, 10, &s), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "temperature"));
    p.temperature = NAN;
    assert_int_equal(glimp_sampler_init(&p, 10, &s), GLIMP_ERR_INVALID);
    p.temperature = INFINITY;
    assert_int_equal(glimp_sampler_init(&p, 10, &s), GLIMP_ERR_INVALID);
    p = glimp_sampler_default_params();
    p.top_p = 1.5f;
    assert_int_equal(glimp_sampler_init(&p, 10, &s), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "top_p"));
    p = glimp_sampler_default_params();
    p.min_p = -0.1f;
    assert_int_equal(glimp_sampler_init(&p, 10, &s), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "min_p"));
    assert_int_equal(glimp_sampler_init(NULL, 10, NULL), GLIMP_ERR_INVALID);
    assert_null(s);

    assert_int_equal(glimp_sampler_init(NULL, 4, &s), GLIMP_OK);
    int32_t id = 77;
    const float nan_l[] = {0, NAN, 1, 2};
    assert_int_equal(glimp_sampler_sample(s, nan_l, 4, &id), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "token 1 is NaN"));
    const float inf_l[] = {0, 1, INFINITY, 2};
    assert_int_equal(glimp_sampler_sample(s, inf_l, 4, &id), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "+inf"));
    const float dead[] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    assert_int_equal(glimp_sampler_sample(s, dead, 4, &id), GLIMP_ERR_INVALID);
    const float ok[] = {0, 1, 2, 3, 4};
    assert_int_equal(glimp_sampler_sample(s, ok, 5, &id), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_sampler_sample(s, ok, 0, &id), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_sampler_sample(s, NULL, 4, &id), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_sampler_sample(s, ok, 4, NULL), GLIMP_ERR_INVALID);
    assert_int_equal(id, 77);
    /* a failed call takes no draw */
    struct glimp_sampler *fresh = NULL;
    assert_int_equal(glimp_sampler_init(NULL, 4, &fresh), GLIMP_OK);
    assert_memory_equal(s->rng, fresh->rng, sizeof s->rng);
    assert_int_equal(glimp_sampler_sample(s, ok, 4, &id), GLIMP_OK);
    assert_true(id >= 0 && id < 4);
    glimp_sampler_free(fresh);
    glimp_sampler_free(s);
    glimp_sampler_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entropy_closed_forms),
        cmocka_unit_test(test_entropy_topk),
        cmocka_unit_test(test_logits_top_k),
        cmocka_unit_test(test_greedy),
        cmocka_unit_test(test_top_k_one_is_greedy),
        cmocka_unit_test(test_filters_exact),
        cmocka_unit_test(test_sampling_frequencies),
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_probs),
        cmocka_unit_test(test_draw),
        cmocka_unit_test(test_speculative_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
