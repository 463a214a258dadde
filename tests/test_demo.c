/* test_demo.c - the shipped demo pair (models/demo) shows what glimp demo
 * claims, measured here with the library alone (not through glimp eval's
 * report): on the first DEMO_N problems of task A, the SLM's first-token
 * entropy orders easy steps below hard ones and GlimpRouter sends the hard
 * steps to the LLM (the step kinds come from the test set, not from the
 * models). Greedy outputs are the same for every thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glimp_eval.h"

/* Problems of task A: 100, as glimp demo runs; under the sanitizers, where
 * the engine runs many times slower, 20 (memory errors do not need the
 * statistics). */
#if defined(__SANITIZE_ADDRESS__)
#define DEMO_N 20
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEMO_N 20
#endif
#endif
#ifndef DEMO_N
#define DEMO_N 100
#endif
#define DEMO_TAU 0.5 /* glimp demo's default threshold */
#define PROMPT "{problem}\n\n"

struct demo {
    struct glimp_dataset *data;
    json_t *kinds; /* per problem: ["easy", "hard", ...], one per rule */
    struct glimp_backend *slm, *llm;
};

static struct demo D;

static void load_kinds(const char *path, size_t n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    D.kinds = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (json_array_size(D.kinds) < n && getline(&line, &cap, f) > 0) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        if (!o)
            fail_msg("%s: %s", path, err.text);
        json_t *k = json_object_get(o, "kinds");
        assert_true(json_is_array(k));
        json_array_append(D.kinds, k);
        json_decref(o);
    }
    free(line);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    const char *path = GLIMP_DEMO_DIR "/taskA.jsonl";
    if (glimp_dataset_load(path, true, NULL, NULL, &D.data) != GLIMP_OK)
        fail_msg("%s", glimp_last_error());
    assert_true(D.data->n >= DEMO_N);
    load_kinds(path, DEMO_N);
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_threads = 1;
    if (glimp_backend_local_open(GLIMP_DEMO_DIR "/small.gguf", &mp, &D.slm) != GLIMP_OK ||
        glimp_backend_local_open(GLIMP_DEMO_DIR "/large.gguf", &mp, &D.llm) != GLIMP_OK)
        fail_msg("%s", glimp_last_error());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    glimp_backend_free(D.slm);
    glimp_backend_free(D.llm);
    glimp_dataset_free(D.data);
    json_decref(D.kinds);
    return 0;
}

static struct glimp_router_params demo_params(const char *spec)
{
    struct glimp_method m;
    if (glimp_method_parse(spec, NULL, &m) != GLIMP_OK)
        fail_msg("%s", glimp_last_error());
    m.params.chat = false;
    m.params.sampling.temperature = 0.0f;
    m.params.max_think = 512;
    m.params.max_step = 48;
    m.params.max_answer = 16;
    return m.params;
}

static struct glimp_router_result *run_one(struct glimp_backend *slm, struct glimp_backend *llm,
                                           size_t i, const struct glimp_router_params *p)
{
    char *prompt = NULL;
    assert_int_equal(glimp_problem_prompt(&D.data->items[i], PROMPT, &prompt), GLIMP_OK);
    struct glimp_router_result *r = NULL;
    if (glimp_router_run(slm, llm, prompt, p, &r) != GLIMP_OK)
        fail_msg("problem %zu: %s", i, glimp_last_error());
    free(prompt);
    return r;
}

#define MAX_STEPS 2048

struct score {
    double accuracy, share;
    size_t hard_llm, hard, easy_slm, easy;       /* think steps by the rule's kind */
    double h_easy[MAX_STEPS], h_hard[MAX_STEPS]; /* their H_init */
};

/* Step k > 0 of a chain applies rule k (step 0 restates the start); the
 * kinds come from the test set. */
static void count_kinds(const struct glimp_router_result *r, json_t *kinds, struct score *s)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct glimp_step_event *e = &r->steps[i];
        if (e->phase != GLIMP_PHASE_THINK || strstr(e->text, "</think>"))
            continue;
        if (k > 0 && k <= json_array_size(kinds)) {
            const char *kind = json_string_value(json_array_get(kinds, k - 1));
            bool llm = e->writer == GLIMP_WRITER_LLM;
            if (kind && !strcmp(kind, "easy")) {
                if (s->easy < MAX_STEPS)
                    s->h_easy[s->easy] = e->h_init;
                s->easy++;
                s->easy_slm += !llm;
            } else {
                if (s->hard < MAX_STEPS)
                    s->h_hard[s->hard] = e->h_init;
                s->hard++;
                s->hard_llm += llm;
            }
        }
        k++;
    }
}

static void run_method(const char *spec, double share, struct score *out)
{
    struct glimp_router_params p = demo_params(spec);
    if (share >= 0)
        p.share = share;
    /* one policy state over all problems (one random stream), as glimp
     * eval runs them */
    struct glimp_policy_state *ps = NULL;
    assert_int_equal(glimp_policy_state_init(&p, &ps), GLIMP_OK);
    p.policy_state = ps;
    struct score *s = out;
    memset(s, 0, sizeof *s);
    size_t right = 0;
    double share_sum = 0;
    for (size_t i = 0; i < DEMO_N; i++) {
        struct glimp_router_result *r = run_one(D.slm, D.llm, i, &p);
        right += glimp_answer_correct(&D.data->items[i], r->answer, NULL);
        share_sum += r->summary.llm_share_steps;
        count_kinds(r, json_array_get(D.kinds, i), s);
        glimp_router_result_free(r);
    }
    glimp_policy_state_free(ps);
    s->accuracy = (double)right / DEMO_N;
    s->share = share_sum / DEMO_N;
    print_message("%-32s accuracy %.3f, LLM share of steps %.3f; hard steps to the LLM %zu/%zu, "
                  "easy steps kept by the SLM %zu/%zu\n",
                  spec, s->accuracy, s->share, s->hard_llm, s->hard, s->easy_slm, s->easy);
}

/* What GlimpRouter does on task A: the SLM's first-token entropy sends the
 * hard rules' steps to the LLM and keeps the easy ones; random routing runs
 * at the share that gives. Then the margins on accuracy: the LLM
 * alone at least 15 points above the SLM alone, and GlimpRouter at least
 * 10 above random routing at its share and no more than 5 below the LLM
 * alone. The margins need the statistics of 100 problems; under the
 * sanitizers (20 problems) only the routing is checked. */
static void test_routing_follows_the_hard_steps(void **state)
{
    (void)state;
    char spec[64];
    snprintf(spec, sizeof spec, "glimp:tau=%g", DEMO_TAU);
    static struct score slm, llm, glimp, rnd;
    run_method("slm:answer=slm", -1, &slm);
    run_method("llm", -1, &llm);
    run_method(spec, -1, &glimp);
    run_method("random:share=0.5", glimp.share, &rnd);
    assert_true(slm.share == 0.0 && llm.share == 1.0);
    assert_true(glimp.hard >= DEMO_N && glimp.easy >= 2 * DEMO_N);
    assert_true((double)glimp.hard_llm >= 0.95 * (double)glimp.hard);
    assert_true((double)glimp.easy_slm >= 0.95 * (double)glimp.easy);
    assert_true(glimp.share >= 0.15 && glimp.share <= 0.40);
    assert_true(fabs(rnd.share - glimp.share) <= 0.05);
    if (DEMO_N >= 100) {
        assert_true(llm.accuracy >= slm.accuracy + 0.15);
        assert_true(glimp.accuracy >= rnd.accuracy + 0.10);
        assert_true(glimp.accuracy >= llm.accuracy - 0.05);
    }
}

/* The SLM alone: H_init of each reasoning step against the kind of the rule
 * it applies. */
static void test_hinit_orders_easy_below_hard(void **state)
{
    (void)state;
    static struct score slm;
    run_method("slm", -1, &slm);
    size_t n_easy = slm.easy < MAX_STEPS ? slm.easy : MAX_STEPS;
    size_t n_hard = slm.hard < MAX_STEPS ? slm.hard : MAX_STEPS;
    const double *easy = slm.h_easy, *hard = slm.h_hard;
    assert_true(n_easy >= 2 * DEMO_N && n_hard >= DEMO_N);
    size_t below = 0;
    for (size_t a = 0; a < n_easy; a++)
        for (size_t b = 0; b < n_hard; b++)
            below += easy[a] < hard[b];
    double frac = (double)below / ((double)n_easy * (double)n_hard);
    print_message("H_init: %zu easy and %zu hard steps; easy below hard in %.4f of pairs\n", n_easy,
                  n_hard, frac);
    assert_true(frac >= 0.95);
}

/* Greedy GlimpRouter runs are the same, token for token and writer for
 * writer, under 1, 2, 3 and 4 threads. */
static void test_same_output_every_thread_count(void **state)
{
    (void)state;
    char spec[64];
    snprintf(spec, sizeof spec, "glimp:tau=%g", DEMO_TAU);
    struct glimp_router_params p = demo_params(spec);
    enum { N = DEMO_N < 100 ? 1 : 3 };
    struct glimp_router_result *ref[N] = {0};
    for (uint32_t t = 1; t <= 4; t++) {
        struct glimp_model_params mp = glimp_model_default_params();
        mp.n_threads = t;
        struct glimp_backend *slm = NULL, *llm = NULL;
        assert_int_equal(glimp_backend_local_open(GLIMP_DEMO_DIR "/small.gguf", &mp, &slm),
                         GLIMP_OK);
        assert_int_equal(glimp_backend_local_open(GLIMP_DEMO_DIR "/large.gguf", &mp, &llm),
                         GLIMP_OK);
        for (size_t i = 0; i < N; i++) {
            struct glimp_router_result *r = run_one(slm, llm, i, &p);
            if (t == 1) {
                ref[i] = r;
                continue;
            }
            assert_string_equal(r->reasoning, ref[i]->reasoning);
            assert_string_equal(r->answer, ref[i]->answer);
            assert_int_equal(r->n_steps, ref[i]->n_steps);
            for (size_t s = 0; s < r->n_steps; s++)
                assert_int_equal(r->steps[s].writer, ref[i]->steps[s].writer);
            glimp_router_result_free(r);
        }
        glimp_backend_free(slm);
        glimp_backend_free(llm);
    }
    for (size_t i = 0; i < N; i++)
        glimp_router_result_free(ref[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing_follows_the_hard_steps),
        cmocka_unit_test(test_hinit_orders_easy_below_hard),
        cmocka_unit_test(test_same_output_every_thread_count),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
