/* test_tune.c - glimp tune's pick (glimp_tune_pick) on a hand-made pilot
 * (tests/data/tune-results.jsonl, described in tests/data/README.md): for
 * each kind of target, the setting a hand computation over the fixture
 * picks, the runner-up, the 95% intervals and whether the pilot tells them
 * apart; and the target's text form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "glimp_eval.h"
#include "testutil.h"

#define FIXTURE GLIMP_TEST_DATA "/tune-results.jsonl"

static struct glimp_tune_result *pick(const char *target)
{
    struct glimp_tune_target t;
    assert_int_equal(glimp_tune_target_parse(target, &t), GLIMP_OK);
    struct glimp_tune_result *r;
    if (glimp_tune_pick(FIXTURE, &t, &r) != GLIMP_OK)
        fail_msg("%s: %s", target, glimp_last_error());
    return r;
}

static const char *name(const struct glimp_tune_result *r, long i)
{
    return i < 0 ? "(none)" : r->cands[i].method;
}

/* The candidates as read: the five glimp-family methods, in file order, and
 * the LLM alone as the reference. */
static void test_candidates(void **state)
{
    (void)state;
    struct glimp_tune_result *r = pick("share:1");
    assert_int_equal(r->n_cands, 5);
    const char *want[] = {"glimp:tau=0.5", "glimp:tau=1", "glimp:tau=1.5",
                          "glimp:tau=1,signal=hstep", "glimp:share=0.2,segment=line"};
    const double acc[] = {0.9, 0.8, 0.6, 0.9, 0.8}, lat[] = {0.5, 0.40625, 0.25, 0.75, 0.40625},
                 share[] = {0.40, 0.25, 0.10, 0.28, 0.20};
    for (int i = 0; i < 5; i++) {
        const struct glimp_tune_candidate *c = &r->cands[i];
        assert_string_equal(c->method, want[i]);
        assert_int_equal(c->n, 10);
        assert_true(fabs(c->accuracy - acc[i]) < 1e-12);
        assert_true(fabs(c->latency_s - lat[i]) < 1e-12);
        assert_true(fabs(c->latency_ratio - lat[i]) < 1e-12); /* the LLM takes 1.0 s */
        assert_true(fabs(c->llm_share - share[i]) < 1e-12);
    }
    assert_string_equal(r->llm.method, "llm");
    assert_true(fabs(r->llm.accuracy - 0.9) < 1e-12);
    assert_true(fabs(r->llm.latency_s - 1.0) < 1e-12);
    /* Wilson, by hand: 9 of 10 -> [0.5958, 0.9821]; 8 of 10 -> [0.4902, 0.9433] */
    assert_true(fabs(r->cands[0].acc_lo - 0.59585) < 1e-4);
    assert_true(fabs(r->cands[0].acc_hi - 0.98212) < 1e-4);
    assert_true(fabs(r->cands[1].acc_lo - 0.49016) < 1e-4);
    assert_true(fabs(r->cands[1].acc_hi - 0.94332) < 1e-4);
    /* latency: 0.375/0.625 -> sd 0.13176, half-width 1.96 sd / sqrt(10) = 0.08167 */
    assert_true(fabs(r->cands[0].lat_lo - (0.5 - 0.08167)) < 1e-4);
    assert_true(fabs(r->cands[2].lat_hi - 0.25) < 1e-12); /* no spread */
    glimp_tune_result_free(r);
}

/* accuracy:D: the fastest within D points of the LLM alone (90%). */
static void test_accuracy_target(void **state)
{
    (void)state;
    /* -1: at least 89%: tau=0.5 (0.5 s) and hstep (0.75 s); the faster
     * wins; their latency intervals [0.418, 0.582] and [0.668, 0.832] are
     * apart */
    struct glimp_tune_result *r = pick("accuracy:-1");
    assert_string_equal(name(r, r->chosen), "glimp:tau=0.5");
    assert_string_equal(name(r, r->runner_up), "glimp:tau=1,signal=hstep");
    assert_true(r->apart);
    assert_false(r->cands[1].meets);
    glimp_tune_result_free(r);
    /* -15: at least 75%: tau=1 and share=0.2 tie at 0.40625 s and 80%; the
     * lower share (0.20) wins; their intervals overlap */
    r = pick("accuracy:-15");
    assert_string_equal(name(r, r->chosen), "glimp:share=0.2,segment=line");
    assert_string_equal(name(r, r->runner_up), "glimp:tau=1");
    assert_false(r->apart);
    glimp_tune_result_free(r);
    /* +5: better than the LLM alone by 5 points: none */
    r = pick("accuracy:5");
    assert_int_equal(r->chosen, -1);
    assert_int_equal(r->runner_up, -1);
    glimp_tune_result_free(r);
}

/* share:S: the most accurate with an LLM share of at most S. */
static void test_share_target(void **state)
{
    (void)state;
    /* 0.3: tau=1 (80%), tau=1.5 (60%), hstep (90%, share 0.28), share=0.2
     * (80%): hstep; runner-up share=0.2 (80%, as fast as tau=1, lower
     * share); 9/10 and 8/10 cannot be told apart on ten problems */
    struct glimp_tune_result *r = pick("share:0.3");
    assert_string_equal(name(r, r->chosen), "glimp:tau=1,signal=hstep");
    assert_string_equal(name(r, r->runner_up), "glimp:share=0.2,segment=line");
    assert_false(r->apart);
    glimp_tune_result_free(r);
    /* 0.05: nothing routes that little */
    r = pick("share:0.05");
    assert_int_equal(r->chosen, -1);
    assert_true(r->apart);
    glimp_tune_result_free(r);
}

/* latency:R: the most accurate at most R x the LLM alone's latency. */
static void test_latency_target(void **state)
{
    (void)state;
    /* 0.6: tau=0.5 (0.5x, 90%), tau=1, tau=1.5, share=0.2 (0.41x): tau=0.5 */
    struct glimp_tune_result *r = pick("latency:0.6");
    assert_string_equal(name(r, r->chosen), "glimp:tau=0.5");
    assert_string_equal(name(r, r->runner_up), "glimp:share=0.2,segment=line");
    assert_false(r->apart);
    assert_false(r->cands[3].meets); /* hstep: 0.75x */
    glimp_tune_result_free(r);
    /* 0.3: tau=1.5 alone; no runner-up, nothing to tell apart */
    r = pick("latency:0.3");
    assert_string_equal(name(r, r->chosen), "glimp:tau=1.5");
    assert_int_equal(r->runner_up, -1);
    assert_true(r->apart);
    glimp_tune_result_free(r);
}

/* A method whose records carry no LLM share (older records, say) does not
 * meet a share target, however accurate: NaN is not <= S. By hand: tau=9
 * is right but has no share, tau=1 is wrong with share 0.2: tau=1. */
static void test_share_unknown(void **state)
{
    (void)state;
    static const char text[] =
        "{\"method\":\"llm\",\"run\":0,\"id\":\"a\",\"correct\":true,\"policy\":\"llm\","
        "\"latency_s\":1.0,\"llm_share_steps\":1.0}\n"
        "{\"method\":\"glimp:tau=9\",\"run\":0,\"id\":\"a\",\"correct\":true,"
        "\"policy\":\"glimp\",\"latency_s\":0.5}\n"
        "{\"method\":\"glimp:tau=1\",\"run\":0,\"id\":\"a\",\"correct\":false,"
        "\"policy\":\"glimp\",\"latency_s\":0.5,\"llm_share_steps\":0.2}\n";
    const char *path = tu_tmp_path("noshare.jsonl");
    tu_write_file(path, text, sizeof text - 1);
    struct glimp_tune_target t;
    assert_int_equal(glimp_tune_target_parse("share:0.3", &t), GLIMP_OK);
    struct glimp_tune_result *r = NULL;
    assert_int_equal(glimp_tune_pick(path, &t, &r), GLIMP_OK);
    assert_int_equal(r->n_cands, 2);
    assert_true(isnan(r->cands[0].llm_share));
    assert_false(r->cands[0].meets);
    assert_string_equal(name(r, r->chosen), "glimp:tau=1");
    assert_int_equal(r->runner_up, -1);
    glimp_tune_result_free(r);
}

static void test_target_parse_and_errors(void **state)
{
    (void)state;
    struct glimp_tune_target t;
    assert_int_equal(glimp_tune_target_parse("accuracy:-1", &t), GLIMP_OK);
    assert_int_equal(t.goal, GLIMP_TUNE_ACCURACY);
    assert_true(t.value == -1.0);
    assert_int_equal(glimp_tune_target_parse("latency:0.6", &t), GLIMP_OK);
    assert_int_equal(t.goal, GLIMP_TUNE_LATENCY);
    const char *bad[] = {"accuracy", "share:1.5", "share:", "latency:0", "speed:1", "share:0.3x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(glimp_tune_target_parse(bad[i], &t), GLIMP_ERR_INVALID);
        assert_non_null(strstr(glimp_last_error(), bad[i]));
    }
    /* without the LLM alone, only a share target can be held */
    const char *path = tu_tmp_path("nollm.jsonl");
    size_t n;
    char *all = tu_read_file(FIXTURE, &n);
    char *keep = malloc(n + 1);
    size_t k = 0;
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "\"policy\":\"llm\""))
            continue;
        size_t len = strlen(line);
        memcpy(keep + k, line, len);
        keep[k + len] = '\n';
        k += len + 1;
    }
    tu_write_file(path, keep, k);
    struct glimp_tune_result *r = NULL;
    assert_int_equal(glimp_tune_target_parse("latency:0.6", &t), GLIMP_OK);
    assert_int_equal(glimp_tune_pick(path, &t, &r), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "no LLM-alone method"));
    assert_null(r);
    assert_int_equal(glimp_tune_target_parse("share:0.3", &t), GLIMP_OK);
    assert_int_equal(glimp_tune_pick(path, &t, &r), GLIMP_OK);
    assert_string_equal(name(r, r->chosen), "glimp:tau=1,signal=hstep");
    assert_true(isnan(r->cands[0].latency_ratio));
    glimp_tune_result_free(r);
    free(all);
    free(keep);
    assert_int_equal(glimp_tune_pick(tu_tmp_path("none.jsonl"), &t, &r), GLIMP_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates),    cmocka_unit_test(test_accuracy_target),
        cmocka_unit_test(test_share_target),  cmocka_unit_test(test_latency_target),
        cmocka_unit_test(test_share_unknown), cmocka_unit_test(test_target_parse_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
