/* test_policy.c - the routing policies on synthetic signal streams: fixed
 * writers, the seeded coin (exact at shares 0 and 1, on target between,
 * reproducible), static and calibrated thresholds against values computed
 * here, SpecReason's acceptance rule, and the share policy holding its
 * target on i.i.d., tied, drifting and bimodal signals. Every stream comes
 * from a fixed seed, so nothing can flake. */
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
#include "router/policy.h"

/* ------------------------------------------------------------- helpers */

/* The test's own splitmix64 stream, for synthetic signals. */
static uint64_t rng_u64(uint64_t *st)
{
    uint64_t z = (*st += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *st)
{
    return (double)(rng_u64(st) >> 11) * 0x1.0p-53;
}

static double rng_normal(uint64_t *st)
{
    double u1 = ((double)(rng_u64(st) >> 11) + 0.5) * 0x1.0p-53;
    double u2 = rng_unit(st);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Router params with the defaults glimp.h documents for the fields the
 * policy reads. */
static struct glimp_router_params params(enum glimp_policy policy)
{
    struct glimp_router_params p;
    memset(&p, 0, sizeof p);
    p.policy = policy;
    p.tau = 1.0;
    p.share = 0.25;
    p.instance_k = 4;
    p.instance_z = 1.0;
    p.specreason_threshold = 7.0;
    p.seed = 0;
    return p;
}

static struct rt_policy *make(const struct glimp_router_params *p)
{
    struct rt_policy *pol = NULL;
    assert_int_equal(rt_policy_init(p, &pol), GLIMP_OK);
    assert_non_null(pol);
    return pol;
}

/* ------------------------------------------------------- fixed writers */

static void test_fixed_writers(void **state)
{
    (void)state;
    const double signals[] = {0.0, 1.0, -3.0, 1e300, INFINITY, -INFINITY, NAN, 0.5};
    const enum glimp_policy kinds[] = {GLIMP_POLICY_SLM, GLIMP_POLICY_LLM};
    for (int k = 0; k < 2; k++) {
        struct glimp_router_params p = params(kinds[k]);
        struct rt_policy *pol = make(&p);
        assert_false(rt_policy_uses_signal(pol));
        enum glimp_writer want = kinds[k] == GLIMP_POLICY_SLM ? GLIMP_WRITER_SLM : GLIMP_WRITER_LLM;
        for (int rep = 0; rep < 100; rep++) {
            for (size_t i = 0; i < sizeof signals / sizeof *signals; i++) {
                double tau = 0.0;
                assert_int_equal(rt_policy_decide(pol, signals[i], &tau), want);
                assert_true(isnan(tau));
                assert_int_equal(rt_policy_decide(pol, signals[i], NULL), want);
            }
        }
        rt_policy_free(pol);
    }
}

static void test_uses_signal(void **state)
{
    (void)state;
    const struct {
        enum glimp_policy kind;
        bool uses;
    } cases[] = {
        {GLIMP_POLICY_GLIMP, true},      {GLIMP_POLICY_SHARE, true}, {GLIMP_POLICY_INSTANCE, true},
        {GLIMP_POLICY_RANDOM, false},    {GLIMP_POLICY_SLM, false},  {GLIMP_POLICY_LLM, false},
        {GLIMP_POLICY_SPECREASON, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct glimp_router_params p = params(cases[i].kind);
        struct rt_policy *pol = make(&p);
        assert_int_equal(rt_policy_uses_signal(pol), cases[i].uses);
        rt_policy_free(pol);
    }
}

/* -------------------------------------------------------------- random */

/* n decisions of a random policy into w (signals from a stream that the
 * policy must ignore); returns the LLM count. */
static size_t run_random(double share, uint64_t seed, uint64_t signal_seed, size_t n,
                         enum glimp_writer *w)
{
    struct glimp_router_params p = params(GLIMP_POLICY_RANDOM);
    p.share = share;
    p.seed = seed;
    struct rt_policy *pol = make(&p);
    size_t llm = 0;
    uint64_t st = signal_seed;
    for (size_t i = 0; i < n; i++) {
        double tau = 0.0;
        w[i] = rt_policy_decide(pol, 10.0 * rng_normal(&st), &tau);
        assert_true(isnan(tau));
        llm += w[i] == GLIMP_WRITER_LLM;
    }
    rt_policy_free(pol);
    return llm;
}

/* xoshiro256** seeded by splitmix64 from the bare seed, as the samplers
 * seed theirs: the policy's coin must be another stream. */
static uint64_t ref_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static double sampler_stream_unit(uint64_t *r)
{
    uint64_t out = ref_rotl(r[1] * 5, 7) * 9, t = r[1] << 17;
    r[2] ^= r[0];
    r[3] ^= r[1];
    r[1] ^= r[2];
    r[0] ^= r[3];
    r[2] ^= t;
    r[3] = ref_rotl(r[3], 45);
    return (double)(out >> 11) * 0x1.0p-53;
}

static void test_random(void **state)
{
    (void)state;
    enum { N = 10000 };
    enum glimp_writer *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);

    for (uint64_t seed = 0; seed < 4; seed++) {
        assert_int_equal(run_random(0.0, seed, 1, N, a), 0);
        assert_int_equal(run_random(1.0, seed, 1, N, a), N);
    }
    /* share 0.3 within 2 points over 10,000 (sd 0.46 points) */
    for (uint64_t seed = 0; seed < 8; seed++) {
        double got = (double)run_random(0.3, seed, seed + 100, N, a) / N;
        print_message("random share 0.3, seed %llu: %.4f\n", (unsigned long long)seed, got);
        assert_true(fabs(got - 0.3) <= 0.02);
    }
    /* the same seed gives the same sequence whatever the signals */
    run_random(0.3, 42, 1, N, a);
    run_random(0.3, 42, 2, N, b);
    assert_memory_equal(a, b, N * sizeof *a);
    /* another seed another sequence: independent streams disagree on
     * 2 * 0.3 * 0.7 = 42% of steps */
    run_random(0.3, 43, 1, N, b);
    size_t diff = 0;
    for (size_t i = 0; i < N; i++)
        diff += a[i] != b[i];
    assert_true(diff > N / 3 && diff < N / 2);
    /* and not the samplers' stream for the same seed */
    run_random(0.5, 42, 1, N, a);
    uint64_t r[4], x = 42;
    for (int i = 0; i < 4; i++)
        r[i] = rng_u64(&x);
    size_t same = 0;
    for (size_t i = 0; i < N; i++)
        same += a[i] == (sampler_stream_unit(r) < 0.5 ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM);
    assert_true(same > N * 45 / 100 && same < N * 55 / 100);
    free(a);
    free(b);
}

/* --------------------------------------------------------------- glimp */

static void test_glimp(void **state)
{
    (void)state;
    struct glimp_router_params p = params(GLIMP_POLICY_GLIMP);
    p.tau = 0.7;
    struct rt_policy *pol = make(&p);
    assert_true(rt_policy_uses_signal(pol));
    double tau = 0.0;
    assert_int_equal(rt_policy_decide(pol, 0.7, &tau), GLIMP_WRITER_SLM); /* strictly above */
    assert_true(tau == 0.7);
    assert_int_equal(rt_policy_decide(pol, nextafter(0.7, 1.0), &tau), GLIMP_WRITER_LLM);
    assert_int_equal(rt_policy_decide(pol, nextafter(0.7, 0.0), &tau), GLIMP_WRITER_SLM);
    assert_int_equal(rt_policy_decide(pol, INFINITY, &tau), GLIMP_WRITER_LLM);
    assert_int_equal(rt_policy_decide(pol, -INFINITY, &tau), GLIMP_WRITER_SLM);
    assert_int_equal(rt_policy_decide(pol, NAN, &tau), GLIMP_WRITER_SLM); /* NaN is 0 */
    uint64_t st = 5;
    for (int i = 0; i < 1000; i++) {
        double s = 2.0 * rng_unit(&st);
        assert_int_equal(rt_policy_decide(pol, s, &tau),
                         s > 0.7 ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM);
        assert_true(tau == 0.7);
    }
    rt_policy_free(pol);

    p.tau = -0.5; /* NaN counts as 0, above -0.5 */
    pol = make(&p);
    assert_int_equal(rt_policy_decide(pol, NAN, &tau), GLIMP_WRITER_LLM);
    rt_policy_free(pol);

    const double extremes[] = {0.0, -1e308, 1e308, INFINITY, -INFINITY, NAN, 3.0};
    p.tau = INFINITY;
    pol = make(&p);
    for (size_t i = 0; i < sizeof extremes / sizeof *extremes; i++) {
        assert_int_equal(rt_policy_decide(pol, extremes[i], &tau), GLIMP_WRITER_SLM);
        assert_true(tau == INFINITY);
    }
    rt_policy_free(pol);
    p.tau = -INFINITY;
    pol = make(&p);
    for (size_t i = 0; i < sizeof extremes / sizeof *extremes; i++) {
        assert_int_equal(rt_policy_decide(pol, extremes[i], &tau), GLIMP_WRITER_LLM);
        assert_true(tau == -INFINITY);
    }
    rt_policy_free(pol);
}

/* ------------------------------------------------------------ instance */

static void test_instance(void **state)
{
    (void)state;
    const uint32_t ks[] = {1, 2, 5, 16};
    const double zs[] = {1.0, 0.0, -0.5, 1.2};
    for (size_t c = 0; c < sizeof ks / sizeof *ks; c++) {
        struct glimp_router_params p = params(GLIMP_POLICY_INSTANCE);
        p.tau = 2.0;
        p.instance_k = ks[c];
        p.instance_z = zs[c];
        struct rt_policy *pol = make(&p);
        assert_true(rt_policy_uses_signal(pol));
        uint64_t st = 1000 + c;
        double *cal = malloc(ks[c] * sizeof *cal);
        assert_non_null(cal);
        double tau = 0.0;
        /* the first k steps: the static tau */
        for (uint32_t i = 0; i < ks[c]; i++) {
            cal[i] = 1.0 + 2.0 * rng_unit(&st); /* both sides of 2.0 */
            assert_int_equal(rt_policy_decide(pol, cal[i], &tau),
                             cal[i] > 2.0 ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM);
            assert_true(tau == 2.0);
        }
        /* then mean + z * population sd of those k, computed in two passes */
        double mean = 0.0, ss = 0.0;
        for (uint32_t i = 0; i < ks[c]; i++)
            mean += cal[i];
        mean /= ks[c];
        for (uint32_t i = 0; i < ks[c]; i++)
            ss += (cal[i] - mean) * (cal[i] - mean);
        double want = mean + zs[c] * sqrt(ss / ks[c]);
        size_t llm = 0, slm = 0;
        for (int i = 0; i < 500; i++) {
            double s = 1.0 + 2.0 * rng_unit(&st);
            if (i % 50 == 0)
                s = want; /* at tau: not above it */
            enum glimp_writer w = rt_policy_decide(pol, s, &tau);
            assert_true(fabs(tau - want) <= 1e-12 * fabs(want));
            if (fabs(s - want) > 1e-9)
                assert_int_equal(w, s > want ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM);
            else
                assert_int_equal(w, s > tau ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM);
            llm += w == GLIMP_WRITER_LLM;
            slm += w == GLIMP_WRITER_SLM;
        }
        /* the calibrated tau is a real threshold, not the static one */
        if (ks[c] > 1)
            assert_true(llm > 0 && slm > 0);
        print_message("instance k %u z %g: tau %.4f, llm share %.3f\n", ks[c], zs[c], want,
                      (double)llm / 500.0);
        free(cal);
        rt_policy_free(pol);
    }

    /* an infinite calibration signal leaves no mean: the static tau stays */
    struct glimp_router_params p = params(GLIMP_POLICY_INSTANCE);
    p.tau = 2.0;
    p.instance_k = 2;
    struct rt_policy *pol = make(&p);
    double tau = 0.0;
    assert_int_equal(rt_policy_decide(pol, INFINITY, &tau), GLIMP_WRITER_LLM);
    assert_int_equal(rt_policy_decide(pol, 1.0, &tau), GLIMP_WRITER_SLM);
    assert_int_equal(rt_policy_decide(pol, 2.5, &tau), GLIMP_WRITER_LLM);
    assert_true(tau == 2.0);
    rt_policy_free(pol);
}

/* ---------------------------------------------------------- specreason */

static void test_specreason(void **state)
{
    (void)state;
    struct glimp_router_params p = params(GLIMP_POLICY_SPECREASON);
    struct rt_policy *pol = make(&p);
    assert_true(rt_policy_uses_signal(pol));
    double tau = 0.0;
    for (int score = 0; score <= 9; score++) {
        assert_int_equal(rt_policy_decide(pol, score, &tau),
                         score >= 7 ? GLIMP_WRITER_SLM : GLIMP_WRITER_LLM);
        assert_true(tau == 7.0);
    }
    assert_int_equal(rt_policy_decide(pol, NAN, &tau), GLIMP_WRITER_LLM); /* NaN is 0 */
    assert_int_equal(rt_policy_decide(pol, nextafter(7.0, 0.0), &tau), GLIMP_WRITER_LLM);
    rt_policy_free(pol);

    p.specreason_threshold = 4.5;
    pol = make(&p);
    for (int score = 0; score <= 9; score++)
        assert_int_equal(rt_policy_decide(pol, score, &tau),
                         score >= 5 ? GLIMP_WRITER_SLM : GLIMP_WRITER_LLM);
    assert_true(tau == 4.5);
    rt_policy_free(pol);

    p.specreason_threshold = 0.0; /* every score stands */
    pol = make(&p);
    for (int score = 0; score <= 9; score++)
        assert_int_equal(rt_policy_decide(pol, score, NULL), GLIMP_WRITER_SLM);
    rt_policy_free(pol);
}

/* --------------------------------------------------------------- share */

enum scenario {
    SC_IID,       /* uniform [0, 1) */
    SC_TIES_LOW,  /* 70% exactly 0.0, the rest uniform (0, 1] */
    SC_TIES_HIGH, /* 40% exactly 3.0 (a saturated signal), the rest uniform [0, 1) */
    SC_DRIFT,     /* normal, sd 1, mean from 0 to 4 over the run */
    SC_RISING,    /* every signal the largest yet */
    SC_BIMODAL,   /* 80% normal(1, 0.2), 20% normal(4, 0.5) */
    SC_COUNT,
};

static const char *const sc_names[SC_COUNT] = {"iid",   "ties-low", "ties-high",
                                               "drift", "rising",   "bimodal"};

static double signal_at(enum scenario sc, size_t i, size_t n, uint64_t *st)
{
    switch (sc) {
    case SC_IID: return rng_unit(st);
    case SC_TIES_LOW: return rng_unit(st) < 0.7 ? 0.0 : 1.0 - rng_unit(st);
    case SC_TIES_HIGH: return rng_unit(st) < 0.4 ? 3.0 : rng_unit(st);
    case SC_DRIFT: return 4.0 * (double)i / (double)n + rng_normal(st);
    case SC_RISING: return (double)i + 0.5 * rng_unit(st);
    case SC_BIMODAL:
        return rng_unit(st) < 0.8 ? 1.0 + 0.2 * rng_normal(st) : 4.0 + 0.5 * rng_normal(st);
    case SC_COUNT: break;
    }
    return 0.0;
}

struct share_run {
    double share;         /* LLM steps / steps */
    double mean_llm;      /* mean signal of the LLM's steps (NaN when none) */
    double mean_slm;      /* and of the SLM's */
    double tau_late;      /* mean tau over the last quarter */
    double agree;         /* fraction of steps where LLM == (signal > tau) */
    double *signals;      /* (n) the stream, when asked for */
    enum glimp_writer *w; /* (n) the decisions, when asked for */
};

/* Run the share policy over n signals of a scenario. keep: fill r->signals
 * and r->w (the caller frees them). */
static struct share_run run_share(enum scenario sc, double target, size_t n, uint64_t seed,
                                  uint64_t signal_seed, bool keep)
{
    struct glimp_router_params p = params(GLIMP_POLICY_SHARE);
    p.share = target;
    p.seed = seed;
    struct rt_policy *pol = make(&p);
    struct share_run r = {0};
    if (keep) {
        r.signals = malloc(n * sizeof *r.signals);
        r.w = malloc(n * sizeof *r.w);
        assert_non_null(r.signals);
        assert_non_null(r.w);
    }
    uint64_t st = signal_seed;
    size_t llm = 0, agree = 0, late = 0;
    double sum_llm = 0.0, sum_slm = 0.0, sum_tau = 0.0;
    for (size_t i = 0; i < n; i++) {
        double s = signal_at(sc, i, n, &st), tau = NAN;
        enum glimp_writer w = rt_policy_decide(pol, s, &tau);
        assert_false(isnan(tau));
        if (w == GLIMP_WRITER_LLM) {
            llm++;
            sum_llm += s;
        } else {
            sum_slm += s;
        }
        agree += (w == GLIMP_WRITER_LLM) == (s > tau);
        if (i >= n - n / 4) {
            sum_tau += tau;
            late++;
        }
        if (keep) {
            r.signals[i] = s;
            r.w[i] = w;
        }
    }
    rt_policy_free(pol);
    r.share = (double)llm / (double)n;
    r.mean_llm = llm ? sum_llm / (double)llm : NAN;
    r.mean_slm = llm < n ? sum_slm / (double)(n - llm) : NAN;
    r.tau_late = sum_tau / (double)late;
    r.agree = (double)agree / (double)n;
    return r;
}

/* Every scenario, targets 0.1, 0.25 and 0.5, 400 and 2000 steps, four
 * seeds each: the LLM share lands within 5 points of the target. */
static void test_share_targets(void **state)
{
    (void)state;
    const double targets[] = {0.1, 0.25, 0.5};
    const size_t lengths[] = {400, 2000};
    for (int sc = 0; sc < SC_COUNT; sc++) {
        for (size_t t = 0; t < sizeof targets / sizeof *targets; t++) {
            for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++) {
                double lo = 1.0, hi = 0.0;
                for (uint64_t seed = 0; seed < 4; seed++) {
                    struct share_run r = run_share((enum scenario)sc, targets[t], lengths[l], seed,
                                                   7919 * (seed + 1) + (uint64_t)sc, false);
                    lo = r.share < lo ? r.share : lo;
                    hi = r.share > hi ? r.share : hi;
                    assert_true(fabs(r.share - targets[t]) <= 0.05);
                }
                print_message("share %-9s target %.2f over %4zu: %.4f .. %.4f\n", sc_names[sc],
                              targets[t], lengths[l], lo, hi);
            }
        }
    }
}

/* Targets 0 and 1 are exact on every scenario, with tau +inf and -inf. */
static void test_share_extremes(void **state)
{
    (void)state;
    for (int sc = 0; sc < SC_COUNT; sc++) {
        for (int one = 0; one < 2; one++) {
            struct glimp_router_params p = params(GLIMP_POLICY_SHARE);
            p.share = one;
            struct rt_policy *pol = make(&p);
            uint64_t st = 17 + (uint64_t)sc;
            for (size_t i = 0; i < 1000; i++) {
                double tau = 0.0;
                enum glimp_writer w = rt_policy_decide(pol, signal_at(sc, i, 1000, &st), &tau);
                assert_int_equal(w, one ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM);
                assert_true(tau == (one ? -INFINITY : INFINITY));
            }
            rt_policy_free(pol);
        }
    }
}

/* The share policy routes by the signal: the LLM gets the high ones. */
static void test_share_ranks(void **state)
{
    (void)state;
    /* i.i.d. uniform, target 0.25: the LLM's steps are mostly above the
     * true 0.75 quantile, tau settles near it, and tau explains nearly
     * every decision */
    struct share_run r = run_share(SC_IID, 0.25, 2000, 3, 99, true);
    size_t llm = 0, top = 0;
    for (size_t i = 0; i < 2000; i++) {
        if (r.w[i] == GLIMP_WRITER_LLM) {
            llm++;
            top += r.signals[i] > 0.75;
        }
    }
    print_message("iid 0.25: %.3f of LLM steps above the 0.75 quantile, late tau %.3f, "
                  "tau agrees with %.3f of decisions\n",
                  (double)top / (double)llm, r.tau_late, r.agree);
    assert_true((double)top / (double)llm >= 0.88);
    assert_true(fabs(r.tau_late - 0.75) <= 0.05);
    assert_true(r.agree >= 0.95);
    assert_true(r.mean_llm > 0.75 && r.mean_slm < 0.5);
    free(r.signals);
    free(r.w);

    /* 70% ties at 0 and target 0.25 < 0.3: nearly every LLM step is one of
     * the nonzero signals; at 0.5 every nonzero one goes to the LLM and the
     * rest is split from the zeros at random */
    r = run_share(SC_TIES_LOW, 0.25, 2000, 4, 98, true);
    size_t zero_llm = 0;
    for (size_t i = 0; i < 2000; i++)
        zero_llm += r.w[i] == GLIMP_WRITER_LLM && r.signals[i] == 0.0;
    assert_true(zero_llm <= 40);
    free(r.signals);
    free(r.w);
    r = run_share(SC_TIES_LOW, 0.5, 2000, 4, 98, true);
    size_t nonzero = 0, nonzero_llm = 0;
    zero_llm = 0;
    for (size_t i = 0; i < 2000; i++) {
        bool z = r.signals[i] == 0.0;
        nonzero += !z;
        nonzero_llm += !z && r.w[i] == GLIMP_WRITER_LLM;
        zero_llm += z && r.w[i] == GLIMP_WRITER_LLM;
    }
    print_message("ties-low 0.5: %zu of %zu nonzero to the LLM, %zu zeros to the LLM, "
                  "late tau %.4f\n",
                  nonzero_llm, nonzero, zero_llm, r.tau_late);
    assert_true(nonzero_llm >= nonzero * 95 / 100);
    assert_true(zero_llm >= 300);    /* the tie block is split, not all-or-nothing */
    assert_true(r.tau_late <= 0.05); /* the 0.5 quantile is a zero, nearly always */
    free(r.signals);
    free(r.w);

    /* bimodal, target 0.2 (the upper mode's weight): the LLM's steps are
     * the upper mode's */
    r = run_share(SC_BIMODAL, 0.2, 2000, 5, 97, true);
    size_t upper = 0;
    llm = 0;
    for (size_t i = 0; i < 2000; i++) {
        if (r.w[i] == GLIMP_WRITER_LLM) {
            llm++;
            upper += r.signals[i] > 2.5;
        }
    }
    print_message("bimodal 0.2: %.3f of LLM steps from the upper mode\n",
                  (double)upper / (double)llm);
    assert_true((double)upper / (double)llm >= 0.85);
    free(r.signals);
    free(r.w);

    /* all signals NaN: all zeros, tau 0, still on target */
    struct glimp_router_params p = params(GLIMP_POLICY_SHARE);
    struct rt_policy *pol = make(&p);
    size_t n_llm = 0;
    for (int i = 0; i < 1000; i++) {
        double tau = 1.0;
        n_llm += rt_policy_decide(pol, NAN, &tau) == GLIMP_WRITER_LLM;
        assert_true(tau == 0.0);
    }
    assert_true(n_llm >= 200 && n_llm <= 300);
    rt_policy_free(pol);
}

/* The share of a tie block inside the cut, worked by hand on a rising
 * stream 1, 2, 3, ... at target 0.75. Step 1 is a coin (n 1, pr = s).
 * Each later signal is the largest yet: n = d + 1 signals, g 0 above it,
 * e 1 equal, so pr = s * n / 1. With d <= 9 decisions taken, d - 1 or d of
 * them LLM, behind = 0.75 d - llm >= -0.25 * 9, so s >= 0.75 - (9 / 32)^3
 * > 0.72 and pr >= 2 * 0.72 > 1: steps 2 to 10 go to the LLM for every
 * seed, with no coin. (A block share of s * n / (e + 1) would make step 2
 * a coin of 0.75.) */
static void test_share_block_exact(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 64; seed++) {
        struct glimp_router_params p = params(GLIMP_POLICY_SHARE);
        p.share = 0.75;
        p.seed = seed;
        struct rt_policy *pol = make(&p);
        rt_policy_decide(pol, 1.0, NULL);
        for (int i = 2; i <= 10; i++)
            if (rt_policy_decide(pol, (double)i, NULL) != GLIMP_WRITER_LLM)
                fail_msg("seed %llu: step %d (the largest signal yet) went to the SLM",
                         (unsigned long long)seed, i);
        rt_policy_free(pol);
    }
}

/* tau is always one of the signals seen so far (nearest-rank quantile). */
static void test_share_tau_is_seen(void **state)
{
    (void)state;
    struct glimp_router_params p = params(GLIMP_POLICY_SHARE);
    p.share = 0.3;
    struct rt_policy *pol = make(&p);
    double seen[300];
    uint64_t st = 11;
    for (size_t i = 0; i < 300; i++) {
        seen[i] = rng_normal(&st);
        double tau = NAN;
        rt_policy_decide(pol, seen[i], &tau);
        bool found = false;
        for (size_t j = 0; j <= i && !found; j++)
            found = seen[j] == tau;
        assert_true(found);
    }
    rt_policy_free(pol);
}

/* Same seed and signals: the same decisions; another seed: others (on tied
 * signals, where the tie split is random). */
static void test_share_seeded(void **state)
{
    (void)state;
    struct share_run a = run_share(SC_TIES_LOW, 0.5, 1000, 1, 55, true);
    struct share_run b = run_share(SC_TIES_LOW, 0.5, 1000, 1, 55, true);
    struct share_run c = run_share(SC_TIES_LOW, 0.5, 1000, 2, 55, true);
    assert_memory_equal(a.w, b.w, 1000 * sizeof *a.w);
    size_t diff = 0;
    for (size_t i = 0; i < 1000; i++)
        diff += a.w[i] != c.w[i];
    assert_true(diff >= 100);
    free(a.signals);
    free(a.w);
    free(b.signals);
    free(b.w);
    free(c.signals);
    free(c.w);
}

/* Past the history's cap (a window of the latest signals) the policy keeps
 * its target and still ranks: a long i.i.d. run, then a level shift. */
static void test_share_long(void **state)
{
    (void)state;
    struct share_run r = run_share(SC_IID, 0.25, 20000, 6, 77, false);
    print_message("iid 0.25 over 20000: %.4f\n", r.share);
    assert_true(fabs(r.share - 0.25) <= 0.01);
    assert_true(r.mean_llm > 0.75);
    assert_true(fabs(r.tau_late - 0.75) <= 0.05);

    /* the window forgets: 9000 signals in [10, 11), then 9000 in [0, 1);
     * at the end the window holds only the low ones, so tau is among them
     * and the LLM takes the top quarter of those */
    struct glimp_router_params p = params(GLIMP_POLICY_SHARE);
    struct rt_policy *pol = make(&p);
    uint64_t st = 1234;
    double tau = NAN;
    for (int i = 0; i < 9000; i++)
        rt_policy_decide(pol, 10.0 + rng_unit(&st), &tau);
    size_t llm = 0, top = 0;
    for (int i = 0; i < 9000; i++) {
        double s = rng_unit(&st);
        enum glimp_writer w = rt_policy_decide(pol, s, &tau);
        if (i >= 8500 && w == GLIMP_WRITER_LLM) {
            llm++;
            top += s > 0.75;
        }
    }
    print_message("after a level shift: tau %.3f, %zu of the last 500 to the LLM, %zu above "
                  "0.75\n",
                  tau, llm, top);
    assert_true(tau >= 0.65 && tau <= 0.85);
    assert_true(llm >= 100 && llm <= 150);
    assert_true(top >= llm * 85 / 100);
    rt_policy_free(pol);
}

/* ------------------------------------------------------------- invalid */

static void expect_invalid(const struct glimp_router_params *p, const char *name)
{
    struct rt_policy *pol = (struct rt_policy *)&pol; /* not NULL before the call */
    assert_int_equal(rt_policy_init(p, &pol), GLIMP_ERR_INVALID);
    assert_null(pol);
    const char *msg = glimp_last_error();
    assert_non_null(msg);
    assert_true(strncmp(msg, "router: ", 8) == 0);
    assert_non_null(strstr(msg, name));
}

static void test_invalid(void **state)
{
    (void)state;
    const double bad_shares[] = {-0.01, 1.01, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_shares / sizeof *bad_shares; i++) {
        struct glimp_router_params p = params(GLIMP_POLICY_SHARE);
        p.share = bad_shares[i];
        expect_invalid(&p, "share");
        p.policy = GLIMP_POLICY_RANDOM;
        expect_invalid(&p, "share");
    }
    struct glimp_router_params p = params(GLIMP_POLICY_GLIMP);
    p.tau = NAN;
    expect_invalid(&p, "tau");
    p = params(GLIMP_POLICY_INSTANCE);
    p.instance_k = 0;
    expect_invalid(&p, "instance_k");
    p = params(GLIMP_POLICY_INSTANCE);
    p.instance_z = NAN;
    expect_invalid(&p, "instance_z");
    p.instance_z = INFINITY;
    expect_invalid(&p, "instance_z");
    p = params(GLIMP_POLICY_SPECREASON);
    p.specreason_threshold = NAN;
    expect_invalid(&p, "specreason_threshold");
    p = params((enum glimp_policy)7);
    expect_invalid(&p, "policy");
    p = params((enum glimp_policy) - 1);
    expect_invalid(&p, "policy");
    expect_invalid(NULL, "params");
    p = params(GLIMP_POLICY_GLIMP);
    assert_int_equal(rt_policy_init(&p, NULL), GLIMP_ERR_INVALID);

    /* the edges of the ranges are fine */
    const double good_tau[] = {INFINITY, -INFINITY, 0.0, -5.0};
    for (size_t i = 0; i < sizeof good_tau / sizeof *good_tau; i++) {
        p = params(GLIMP_POLICY_GLIMP);
        p.tau = good_tau[i];
        rt_policy_free(make(&p));
    }
    p = params(GLIMP_POLICY_INSTANCE);
    p.instance_k = 1;
    p.instance_z = -3.0;
    rt_policy_free(make(&p));
    p = params(GLIMP_POLICY_SHARE);
    p.share = 0.0;
    rt_policy_free(make(&p));
    p.share = 1.0;
    rt_policy_free(make(&p));
    rt_policy_free(NULL);
}

/* --------------------------------------------------------------- names */

static void test_names(void **state)
{
    (void)state;
    const char *const policies[] = {"glimp", "share", "instance",  "random",
                                    "slm",   "llm",   "specreason"};
    for (int i = 0; i < 7; i++)
        assert_string_equal(glimp_policy_name((enum glimp_policy)i), policies[i]);
    assert_string_equal(glimp_policy_name((enum glimp_policy)7), "?");
    assert_string_equal(glimp_policy_name((enum glimp_policy) - 1), "?");

    const char *const signals[] = {"hinit", "hstep", "ppl"};
    for (int i = 0; i < 3; i++)
        assert_string_equal(glimp_signal_name((enum glimp_signal)i), signals[i]);
    assert_string_equal(glimp_signal_name((enum glimp_signal)3), "?");

    assert_string_equal(glimp_writer_name(GLIMP_WRITER_SLM), "slm");
    assert_string_equal(glimp_writer_name(GLIMP_WRITER_LLM), "llm");
    assert_string_equal(glimp_writer_name((enum glimp_writer)2), "?");

    const char *const ends[] = {"none", "tag", "repeat", "budget", "eos", "stopped"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(glimp_think_end_name((enum glimp_think_end)i), ends[i]);
    assert_string_equal(glimp_think_end_name((enum glimp_think_end)6), "?");
    assert_string_equal(glimp_think_end_name((enum glimp_think_end) - 1), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_writers),
        cmocka_unit_test(test_uses_signal),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_glimp),
        cmocka_unit_test(test_instance),
        cmocka_unit_test(test_specreason),
        cmocka_unit_test(test_share_targets),
        cmocka_unit_test(test_share_extremes),
        cmocka_unit_test(test_share_ranks),
        cmocka_unit_test(test_share_tau_is_seen),
        cmocka_unit_test(test_share_seeded),
        cmocka_unit_test(test_share_long),
        cmocka_unit_test(test_share_block_exact),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
