/* test_router_fake.c - the router's step loop on its own rules, on the
 * scripted fake backend (fake_backend.h): who writes each step, when
 * thinking stops, budgets, the answer's hand-over, what the events and the
 * streamed tokens carry, where the time goes, and which settings a backend
 * without a full distribution is refused. Every expected value here comes
 * from the script, not from a run of the router. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "fake_backend.h"
#include "glimp.h"
#include "router/router_internal.h"

#define ALL_CAPS (BK_CAP_FULL_DIST | BK_CAP_EXACT_IDS | BK_CAP_ROLLBACK)

static const char *slm_steps[] = {"s0 easy\n\n", "s1 hard\n\n", "s2 easy\n\n", "s3 hard\n\n"};
static const char *llm_steps[] = {"L0\n\n", "L1\n\n", "L2\n\n", "L3\n\n"};
static const unsigned slm_u[] = {1, 8, 1, 12};

struct pair {
    struct glimp_backend *slm, *llm;
    double clock;
};

static void open_pair(struct pair *pr, const char *const *ss, size_t ns, const unsigned *su,
                      const char *const *ls, size_t nl, unsigned slm_caps, unsigned llm_caps)
{
    pr->clock = 0.0;
    struct fake_params sp = {.steps = ss,
                             .n_steps = ns,
                             .first_u = su,
                             .answer = "S-ANS",
                             .caps = slm_caps,
                             .clock = &pr->clock,
                             .t_read = 0.01,
                             .t_write = 1.0,
                             .name = "slm"};
    struct fake_params lp = {.steps = ls,
                             .n_steps = nl,
                             .answer = "L-ANS",
                             .caps = llm_caps,
                             .clock = &pr->clock,
                             .t_read = 0.25,
                             .t_write = 16.0,
                             .name = "llm"};
    assert_int_equal(fake_backend_open(&sp, &pr->slm), GLIMP_OK);
    assert_int_equal(fake_backend_open(&lp, &pr->llm), GLIMP_OK);
}

static void close_pair(struct pair *pr)
{
    glimp_backend_free(pr->slm);
    glimp_backend_free(pr->llm);
}

static struct glimp_router_params greedy(void)
{
    struct glimp_router_params p = glimp_router_default_params();
    p.sampling.temperature = 0.0f;
    p.tau = 1.0;
    return p;
}

/* Run a request to its end on the pair's fake clock. */
static struct glimp_router_result *run_on(struct pair *pr, const struct glimp_router_params *p)
{
    struct glimp_request *q;
    if (glimp_request_init(pr->slm, pr->llm, "Q?", p, &q) != GLIMP_OK)
        fail_msg("init: %s", glimp_last_error());
    rt_request_set_clock(q, fake_clock_now, &pr->clock);
    while (!glimp_request_done(q)) {
        const struct glimp_step_event *ev;
        if (glimp_request_step(q, &ev) != GLIMP_OK)
            fail_msg("step: %s", glimp_last_error());
    }
    struct glimp_router_result *r;
    assert_int_equal(glimp_request_result(q, &r), GLIMP_OK);
    glimp_request_free(q);
    return r;
}

/* H_init above tau sends a step to the LLM, below keeps it on the SLM; each
 * step is its writer's script text; both models read every step. */
static void test_writer_choice(void **state)
{
    (void)state;
    struct pair pr;
    open_pair(&pr, slm_steps, 4, slm_u, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    struct glimp_router_params p = greedy();
    struct glimp_router_result *r = run_on(&pr, &p);
    /* 4 scripted steps, the closing step, the answer */
    assert_int_equal(r->n_steps, 6);
    const char *want[] = {"s0 easy\n\n", "L1\n\n", "s2 easy\n\n", "L3\n\n", "</think>\n\n"};
    const enum glimp_writer ww[] = {0, 1, 0, 1, 0};
    const unsigned u[] = {1, 8, 1, 12, 1};
    for (int i = 0; i < 5; i++) {
        const struct glimp_step_event *e = &r->steps[i];
        assert_int_equal(e->index, i);
        assert_int_equal(e->phase, GLIMP_PHASE_THINK);
        assert_int_equal(e->writer, ww[i]);
        assert_string_equal(e->text, want[i]);
        assert_true(fabs(e->h_init - fake_entropy(u[i])) < 1e-6); /* logits are floats */
        assert_true(e->signal == e->h_init);
        assert_true(e->tau == 1.0);
        assert_false(e->rewritten);
        assert_int_equal(e->easy, -1);
    }
    assert_true(fake_entropy(8) > 1.0 && fake_entropy(12) > 1.0);
    assert_string_equal(r->reasoning, "s0 easy\n\nL1\n\ns2 easy\n\nL3\n\n");
    assert_int_equal(r->summary.think_end, GLIMP_THINK_TAG);
    assert_int_equal(r->steps[5].phase, GLIMP_PHASE_ANSWER);
    assert_int_equal(r->steps[5].writer, GLIMP_WRITER_LLM);
    /* what followed the tag in its step opens the answer */
    assert_string_equal(r->answer, "\n\nL-ANS");
    assert_int_equal(r->summary.steps_slm, 3);
    assert_int_equal(r->summary.steps_llm, 2);
    assert_true(fabs(r->summary.llm_share_steps - 0.4) < 1e-12);
    /* tokens: s0 easy = 7 + blank, L1 = 2 + blank, ... */
    assert_int_equal(r->summary.tokens_slm, 8 + 8 + 2);
    assert_int_equal(r->summary.tokens_llm, 3 + 3 + 5);
    /* the ids are the script's, in order, the answer last */
    struct glimp_tokens want_ids = {0};
    struct glimp_tokens t = {0};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(pr.slm->ops->tokenize(pr.slm, r->steps[i].text, r->steps[i].text_len, &t),
                         GLIMP_OK);
    }
    assert_int_equal(r->n_ids, t.n);
    assert_memory_equal(r->ids, t.ids, t.n * sizeof *t.ids);
    glimp_tokens_free(&t);
    glimp_tokens_free(&want_ids);
    glimp_router_result_free(r);

    /* tau +inf: the SLM alone; -inf: the LLM alone */
    p.tau = INFINITY;
    r = run_on(&pr, &p);
    assert_string_equal(r->reasoning, "s0 easy\n\ns1 hard\n\ns2 easy\n\ns3 hard\n\n");
    assert_int_equal(r->summary.steps_llm, 0);
    glimp_router_result_free(r);
    p.tau = -INFINITY;
    r = run_on(&pr, &p);
    assert_string_equal(r->reasoning, "L0\n\nL1\n\nL2\n\nL3\n\n");
    assert_int_equal(r->summary.steps_slm, 0);
    glimp_router_result_free(r);
    close_pair(&pr);
}

/* Thinking ends at a repeated step, at the end of the turn, at the budget;
 * the answer then follows, written by the answer model. */
static void test_stop_rules(void **state)
{
    (void)state;
    struct pair pr;
    const char *rep[] = {"a\n\n", "same\n\n", "same\n\n", "never\n\n"};
    open_pair(&pr, rep, 4, NULL, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    struct glimp_router_params p = greedy();
    struct glimp_router_result *r = run_on(&pr, &p);
    assert_int_equal(r->summary.think_end, GLIMP_THINK_REPEAT);
    assert_string_equal(r->reasoning, "a\n\nsame\n\nsame\n\n");
    assert_string_equal(r->answer, "L-ANS");
    glimp_router_result_free(r);
    close_pair(&pr);
    /* the first two steps alike: thinking ends after the second */
    const char *twice[] = {"same\n\n", "same\n\n", "never\n\n"};
    open_pair(&pr, twice, 3, NULL, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    p.tau = INFINITY;
    r = run_on(&pr, &p);
    assert_int_equal(r->summary.think_end, GLIMP_THINK_REPEAT);
    assert_string_equal(r->reasoning, "same\n\nsame\n\n");
    glimp_router_result_free(r);
    close_pair(&pr);
    open_pair(&pr, rep, 4, NULL, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    p.tau = 1.0;

    /* the budget: 5 tokens of thinking, steps of at most 3 */
    p.max_think = 5;
    p.max_step = 3;
    r = run_on(&pr, &p);
    assert_int_equal(r->summary.think_end, GLIMP_THINK_BUDGET);
    assert_int_equal(r->n_steps, 3);
    assert_int_equal(r->steps[0].n_tokens, 2); /* "a", blank */
    assert_int_equal(r->steps[1].n_tokens, 3); /* "s", "a", "m": cut */
    assert_string_equal(r->reasoning, "a\n\nsam");
    /* glimp closed the think block on a new line, then the answer */
    assert_int_equal(r->steps[2].phase, GLIMP_PHASE_ANSWER);
    assert_string_equal(r->answer, "L-ANS");
    glimp_router_result_free(r);

    /* the answer budget, and the SLM answering */
    p = greedy();
    p.max_answer = 2;
    p.answer_model = GLIMP_WRITER_SLM;
    r = run_on(&pr, &p);
    assert_string_equal(r->answer, "S-");
    assert_int_equal(r->steps[r->n_steps - 1].writer, GLIMP_WRITER_SLM);
    glimp_router_result_free(r);
    close_pair(&pr);

    /* the SLM ends its turn while thinking */
    const char *eos[] = {"a\n\n", "</think>\n\n"};
    open_pair(&pr, eos, 1, NULL, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    p = greedy();
    p.tau = INFINITY;
    p.answer_model = GLIMP_WRITER_SLM;
    r = run_on(&pr, &p);
    /* after its script the fake closes thinking itself: the tag ends it */
    assert_int_equal(r->summary.think_end, GLIMP_THINK_TAG);
    assert_string_equal(r->answer, "\n\nS-ANS");
    glimp_router_result_free(r);
    close_pair(&pr);
}

/* A blank line that comes as "\n" then "\n" ends the step as "\n\n" does. */
static void test_split_blank_line(void **state)
{
    (void)state;
    struct pair pr;
    const char *split[] = {"one\n|\n", "two\n\n"};
    open_pair(&pr, split, 2, NULL, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    struct glimp_router_params p = greedy();
    p.tau = INFINITY;
    struct glimp_router_result *r = run_on(&pr, &p);
    assert_string_equal(r->steps[0].text, "one\n\n");
    assert_int_equal(r->steps[0].n_tokens, 5);
    assert_string_equal(r->steps[1].text, "two\n\n");
    glimp_router_result_free(r);
    close_pair(&pr);
}

/* Where the time goes: each part gets exactly what the fake spent in it. */
static void test_time_accounting(void **state)
{
    (void)state;
    struct pair pr;
    open_pair(&pr, slm_steps, 4, slm_u, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    struct glimp_router_params p = greedy();
    struct glimp_router_result *r = run_on(&pr, &p);
    const struct glimp_router_summary *s = &r->summary;
    /* writing: 1 s a SLM token, 16 s an LLM token */
    assert_true(fabs(s->slm_s - 1.0 * (double)s->tokens_slm) < 1e-9);
    assert_true(fabs(s->llm_s - 16.0 * (double)s->tokens_llm) < 1e-9);
    /* reading: the prompt (3 tokens) and every step the other model wrote,
     * 0.01 s a token for the SLM, 0.25 for the LLM; a writer reads its own
     * tokens as it writes them */
    double sync = 0.0;
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct glimp_step_event *e = &r->steps[i];
        double other = e->writer == GLIMP_WRITER_SLM ? 0.25 : 0.01;
        if (e->phase == GLIMP_PHASE_THINK && i + 2 < r->n_steps)
            sync += other * e->n_tokens; /* read before the next step */
        assert_true(fabs(e->write_s - (e->writer ? 16.0 : 1.0) * e->n_tokens) < 1e-9);
        assert_true(e->probe_s == 0.0);
    }
    /* the LLM reads the closing step before the answer; the SLM read it
     * as it wrote it; both read the prompt */
    sync += 3 * 0.01 + 3 * 0.25 + 0.25 * r->steps[r->n_steps - 2].n_tokens;
    assert_true(fabs(s->sync_s - sync) < 1e-9);
    double step_sync = 0.0;
    for (size_t i = 0; i < r->n_steps; i++)
        step_sync += r->steps[i].sync_s;
    assert_true(fabs(s->wall_s - (s->slm_s + s->llm_s + s->sync_s)) < 1e-9);
    assert_true(fabs(s->overhead_s) < 1e-9);
    assert_true(step_sync <= s->sync_s + 1e-9);
    /* the first token came after the SLM read the prompt and wrote one */
    assert_true(fabs(s->ttft_s - (3 * 0.01 + 1.0)) < 1e-9);
    glimp_router_result_free(r);

    /* label_steps: its writing is left out of every time */
    p.label_steps = true;
    r = run_on(&pr, &p);
    assert_true(r->summary.label_s > 0.0);
    assert_true(fabs(r->summary.slm_s - 1.0 * (double)r->summary.tokens_slm) < 1e-9);
    assert_true(fabs(r->summary.llm_s - 16.0 * (double)r->summary.tokens_llm) < 1e-9);
    assert_true(fabs(r->summary.overhead_s) < 1e-9);
    for (size_t i = 0; i + 2 < r->n_steps; i++)
        assert_int_equal(r->steps[i].easy, 0);          /* the two scripts differ there */
    assert_int_equal(r->steps[r->n_steps - 2].easy, 1); /* both close with "</think>" */
    glimp_router_result_free(r);
    close_pair(&pr);
}

struct streamed {
    char text[4096];
    size_t len;
    int steps_seen[16];
    int stop_after;
    int n;
};

static bool on_token(const struct glimp_token_event *ev, void *user)
{
    struct streamed *s = user;
    assert_true(s->len + ev->len < sizeof s->text);
    memcpy(s->text + s->len, ev->piece, ev->len);
    s->len += ev->len;
    s->text[s->len] = '\0';
    if (ev->step < 16)
        s->steps_seen[ev->step] = 1 + (int)ev->writer;
    return ++s->n != s->stop_after;
}

/* Streaming passes on exactly the text kept, also when a glimpse is thrown
 * away, each token with its step's writer. */
static void test_streaming(void **state)
{
    (void)state;
    struct pair pr;
    open_pair(&pr, slm_steps, 4, slm_u, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    for (uint32_t glimpse = 1; glimpse <= 3; glimpse += 2) {
        struct glimp_router_params p = greedy();
        struct streamed s = {.stop_after = -1};
        p.glimpse = glimpse;
        p.on_token = on_token;
        p.user = &s;
        struct glimp_router_result *r = run_on(&pr, &p);
        char want[4096];
        snprintf(want, sizeof want, "%s</think>%s", r->reasoning, r->answer);
        assert_string_equal(s.text, want);
        for (size_t i = 0; i < r->n_steps; i++)
            assert_int_equal(s.steps_seen[i], 1 + (int)r->steps[i].writer);
        if (glimpse == 3) { /* the glimpse of steps 1 and 3 was rolled back */
            assert_true(r->steps[1].rewritten && r->steps[3].rewritten);
            assert_true(r->steps[1].signal >= fake_entropy(8) - 1e-6); /* in floats */
        }
        glimp_router_result_free(r);
    }

    /* on_token saying stop ends the request there */
    struct glimp_router_params p = greedy();
    struct streamed s = {.stop_after = 4};
    p.on_token = on_token;
    p.user = &s;
    struct glimp_router_result *r = run_on(&pr, &p);
    assert_true(r->summary.stopped);
    assert_int_equal(r->summary.think_end, GLIMP_THINK_STOPPED);
    assert_int_equal(s.n, 4);
    assert_string_equal(r->reasoning, "s0 e");
    glimp_router_result_free(r);
    close_pair(&pr);
}

/* One step per call, then done; a cancel between steps stops it. */
static void test_request_steps(void **state)
{
    (void)state;
    struct pair pr;
    open_pair(&pr, slm_steps, 4, slm_u, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    struct glimp_router_params p = greedy();
    struct glimp_request *q;
    assert_int_equal(glimp_request_init(pr.slm, pr.llm, "Q?", &p, &q), GLIMP_OK);
    const struct glimp_step_event *ev;
    struct glimp_router_result *r;
    assert_int_equal(glimp_request_result(q, &r), GLIMP_ERR_INVALID); /* not done */
    assert_int_equal(glimp_request_step(q, &ev), GLIMP_OK);
    assert_non_null(ev);
    assert_string_equal(ev->text, "s0 easy\n\n");
    assert_int_equal(glimp_request_step(q, &ev), GLIMP_OK);
    assert_string_equal(ev->text, "L1\n\n");
    assert_false(glimp_request_done(q));
    glimp_request_cancel(q);
    assert_int_equal(glimp_request_step(q, &ev), GLIMP_OK);
    assert_null(ev);
    assert_true(glimp_request_done(q));
    assert_int_equal(glimp_request_result(q, &r), GLIMP_OK);
    assert_true(r->summary.stopped);
    assert_int_equal(r->summary.think_end, GLIMP_THINK_STOPPED);
    assert_int_equal(r->n_steps, 2);
    assert_string_equal(r->answer, "");
    glimp_router_result_free(r);
    glimp_request_free(q);
    close_pair(&pr);
}

/* A backend that gives only its top 20 routes as one with logits does
 * (the same H_init over the top 20), and is refused entropy full and
 * drafting with a message that says why. */
static void test_capabilities(void **state)
{
    (void)state;
    struct pair full, topk;
    open_pair(&full, slm_steps, 4, slm_u, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    const unsigned remote = BK_CAP_EXACT_IDS;
    open_pair(&topk, slm_steps, 4, slm_u, llm_steps, 4, remote, remote);
    struct glimp_router_params p = greedy();
    struct glimp_router_result *a = run_on(&full, &p), *b = run_on(&topk, &p);
    assert_string_equal(a->reasoning, b->reasoning);
    assert_int_equal(a->n_steps, b->n_steps);
    for (size_t i = 0; i + 1 < a->n_steps; i++)
        assert_true(fabs(a->steps[i].h_init - b->steps[i].h_init) < 1e-6);
    glimp_router_result_free(a);
    glimp_router_result_free(b);

    struct glimp_request *q = NULL;
    p.entropy_topk = 0;
    assert_int_equal(glimp_request_init(topk.slm, topk.llm, "Q?", &p, &q), GLIMP_ERR_UNSUPPORTED);
    assert_null(q);
    assert_non_null(strstr(glimp_last_error(), "entropy full"));
    assert_non_null(strstr(glimp_last_error(), "fake slm"));
    p = greedy();
    p.entropy_topk = 50;
    assert_int_equal(glimp_request_init(topk.slm, topk.llm, "Q?", &p, &q), GLIMP_ERR_UNSUPPORTED);
    p = greedy();
    p.draft = 3;
    assert_int_equal(glimp_request_init(topk.slm, topk.llm, "Q?", &p, &q), GLIMP_ERR_UNSUPPORTED);
    assert_non_null(strstr(glimp_last_error(), "speculative decoding"));
    p.draft = RT_DRAFT_MAX + 1;
    assert_int_equal(glimp_request_init(full.slm, full.llm, "Q?", &p, &q), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "draft"));
    p.draft = RT_DRAFT_MAX;
    glimp_router_result_free(run_on(&full, &p));
    p.draft = 3;
    /* with full distributions on both, drafting runs and changes nothing */
    a = run_on(&full, &p);
    p.draft = 0;
    b = run_on(&full, &p);
    assert_string_equal(a->reasoning, b->reasoning);
    assert_string_equal(a->answer, b->answer);
    assert_true(a->summary.draft_proposed > 0);
    glimp_router_result_free(a);
    glimp_router_result_free(b);
    /* sampling.seed is not read: setting it otherwise is refused */
    p = greedy();
    p.sampling.seed = 5;
    assert_int_equal(glimp_request_init(full.slm, full.llm, "Q?", &p, &q), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "sampling.seed"));
    close_pair(&full);
    close_pair(&topk);
}

/* Run with a segmentation given as text. */
static void dump(const struct glimp_router_result *r)
{
    for (size_t i = 0; getenv("DUMP") && i < r->n_steps; i++)
        fprintf(stderr, "step %zu w%d n%u [%s]\n", i, r->steps[i].writer, r->steps[i].n_tokens,
                r->steps[i].text);
}

static struct glimp_router_result *run_seg(struct pair *pr, struct glimp_router_params p,
                                           const char *seg)
{
    assert_int_equal(glimp_segment_parse(seg, &p), GLIMP_OK);
    struct glimp_router_result *r = run_on(pr, &p);
    dump(r);
    return r;
}

/* line: a step ends at every newline after its first byte, also one that
 * comes as the first "\n" of a blank line split over two tokens; the text
 * written is the same as with blank lines, only cut otherwise. */
static void test_segment_line(void **state)
{
    (void)state;
    struct pair pr;
    const char *ss[] = {"a\nb\n\n", "x\n|\n", "y\n\n"};
    open_pair(&pr, ss, 3, NULL, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    struct glimp_router_params p = greedy();
    p.tau = INFINITY;
    struct glimp_router_result *r = run_seg(&pr, p, "line");
    const char *want[] = {"a\n", "b\n\n", "x\n", "\ny\n\n", "</think>\n\n"};
    assert_int_equal(r->n_steps, 6);
    for (int i = 0; i < 5; i++)
        assert_string_equal(r->steps[i].text, want[i]);
    assert_int_equal(r->steps[3].n_tokens, 3); /* "\n", "y", "\n\n" */
    struct glimp_router_result *b = run_seg(&pr, p, "blank");
    assert_string_equal(r->reasoning, b->reasoning);
    assert_int_equal(b->n_steps, 5);
    assert_int_equal(r->summary.tokens_slm, b->summary.tokens_slm);
    glimp_router_result_free(r);
    glimp_router_result_free(b);
    close_pair(&pr);
}

/* A marker starts a step just before it: "Wait" (four tokens in the fake)
 * ends "So 3. " and opens the next step, which the router probes there; a
 * near miss ("Was") is kept; the tokens rolled back are written again and
 * counted once; streaming passes exactly the text kept. */
static void test_segment_marker(void **state)
{
    (void)state;
    struct pair pr;
    const char *ss[] = {"So 3. Was it. Wa|it, 4\n\n", "done\n\n"};
    open_pair(&pr, ss, 2, NULL, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    struct glimp_router_params p = greedy();
    p.tau = INFINITY;
    struct streamed st = {.stop_after = -1};
    p.on_token = on_token;
    p.user = &st;
    struct glimp_router_result *r = run_seg(&pr, p, "marker:Wait");
    const char *want[] = {"So 3. Was it. ", "Wait, 4\n\n", "done\n\n", "</think>\n\n"};
    assert_int_equal(r->n_steps, 5);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(r->steps[i].text, want[i]);
        assert_int_equal(r->steps[i].n_tokens,
                         strlen(want[i]) - (i == 1 || i == 2 ? 1 : 0) - (i == 3 ? 8 : 0));
    }
    char whole[4096];
    snprintf(whole, sizeof whole, "%s</think>%s", r->reasoning, r->answer);
    assert_string_equal(st.text, whole);
    /* the same text as with blank lines, the same tokens kept */
    p.on_token = NULL;
    struct glimp_router_result *b = run_seg(&pr, p, "blank");
    assert_string_equal(r->reasoning, b->reasoning);
    assert_int_equal(r->summary.tokens_slm, b->summary.tokens_slm);
    glimp_router_result_free(b);
    glimp_router_result_free(r);
    /* a pattern with an alternative and a comma: the earliest match wins */
    r = run_seg(&pr, p, "marker:it,|Was");
    assert_string_equal(r->steps[0].text, "So 3. ");
    assert_string_equal(r->steps[1].text, "Was it. Wa"); /* "it." is no match */
    assert_string_equal(r->steps[2].text, "it, 4\n\n");
    glimp_router_result_free(r);
    close_pair(&pr);
}

/* What the marker is for: the hard token sits mid-step ('^'), where H_init
 * at the step's start cannot see it. With blank lines the SLM writes the
 * whole step; with a marker before it, the step starts there, its H_init
 * is high and the LLM writes it. Drafting and label_steps change nothing. */
static void test_segment_marker_routes(void **state)
{
    (void)state;
    struct pair pr;
    const char *ss[] = {"So 3 + 4 = ^9.\n\n"}, *ls[] = {"So 3 + 4 = 7.\n\n"};
    open_pair(&pr, ss, 1, NULL, ls, 1, ALL_CAPS, ALL_CAPS);
    struct glimp_router_params p = greedy();
    struct glimp_router_result *r = run_seg(&pr, p, "blank");
    assert_string_equal(r->reasoning, "So 3 + 4 = 9.\n\n");
    assert_int_equal(r->summary.steps_llm, 0);
    glimp_router_result_free(r);
    r = run_seg(&pr, p, "marker:[0-9]\\.");
    assert_string_equal(r->reasoning, "So 3 + 4 = 7.\n\n");
    assert_int_equal(r->n_steps, 4);
    assert_string_equal(r->steps[0].text, "So 3 + 4 = ");
    assert_int_equal(r->steps[0].writer, GLIMP_WRITER_SLM);
    assert_string_equal(r->steps[1].text, "7.\n\n");
    assert_int_equal(r->steps[1].writer, GLIMP_WRITER_LLM);
    assert_true(fabs(r->steps[1].h_init - fake_entropy(FAKE_MARKED_U)) < 1e-6);
    /* the SLM wrote "9" before the cut: rolled back, not counted */
    assert_int_equal(r->summary.tokens_slm, 11 + 2);
    for (uint32_t draft = 0; draft <= 3; draft += 3) {
        for (int label = 0; label < 2; label++) {
            struct glimp_router_params q = p;
            q.draft = draft;
            q.label_steps = label;
            struct glimp_router_result *d = run_seg(&pr, q, "marker:[0-9]\\.");
            assert_string_equal(d->reasoning, r->reasoning);
            assert_int_equal(d->n_steps, r->n_steps);
            glimp_router_result_free(d);
        }
    }
    glimp_router_result_free(r);
    /* the LLM alone with drafts: a marker cut inside a verified round */
    p.tau = -INFINITY;
    r = run_seg(&pr, p, "marker:[0-9]\\.");
    p.draft = 3;
    struct glimp_router_result *d = run_seg(&pr, p, "marker:[0-9]\\.");
    assert_string_equal(r->reasoning, "So 3 + 4 = 7.\n\n");
    assert_string_equal(d->reasoning, r->reasoning);
    assert_int_equal(d->n_steps, r->n_steps);
    assert_string_equal(d->steps[0].text, "So 3 + 4 = ");
    assert_int_equal(d->summary.tokens_llm, r->summary.tokens_llm);
    glimp_router_result_free(r);
    glimp_router_result_free(d);
    close_pair(&pr);
}

/* The rule itself on tokens of several bytes: a marker that straddles two
 * tokens (" W" + "ait") ends the step before the token that holds its
 * first byte; a match inside the first token does not count; a partial
 * match holds tokens back from n_final until it fails. */
static void test_segment_rule(void **state)
{
    (void)state;
    struct bk_segment seg;
    assert_int_equal(bk_segment_init(&seg, GLIMP_SEGMENT_MARKER, "Wait"), GLIMP_OK);
    int32_t ids[8];
    size_t off[8];
    struct bk_gen_out o = {.ids = ids, .off = off};
    struct bk_gen_rule r = {.max_tokens = 8, .seg = &seg};
    const char *toks[] = {"Wait", " so", " W", "ait", " no"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(bk_gen_keep(&o, &r, i, toks[i], strlen(toks[i]), 0, 0), GLIMP_OK);
        assert_int_equal(o.end, i == 3);
        /* " W" may begin the marker: held back until it is known */
        assert_int_equal(o.n_final, i == 2 ? 2 : i == 3 ? 2 : o.n);
    }
    assert_int_equal(o.cut, 2);
    bk_gen_cut(&o);
    assert_int_equal(o.n, 2);
    assert_string_equal(o.text, "Wait so");
    /* a partial match that fails frees what it held */
    bk_gen_reset(&o);
    const char *miss[] = {"A", " W", "ai", "l"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(bk_gen_keep(&o, &r, i, miss[i], strlen(miss[i]), 0, 0), GLIMP_OK);
    assert_false(o.end);
    assert_int_equal(o.n_final, 4);
    bk_segment_free(&seg);
    free(o.text);
    /* line: a newline after the first byte ends the step, one at byte 0 not */
    assert_int_equal(bk_segment_init(&seg, GLIMP_SEGMENT_LINE, NULL), GLIMP_OK);
    struct bk_gen_out l = {.ids = ids, .off = off};
    r.seg = &seg;
    assert_int_equal(bk_gen_keep(&l, &r, 0, "\n", 1, 0, 0), GLIMP_OK);
    assert_false(l.end);
    assert_int_equal(bk_gen_keep(&l, &r, 0, "x\ny", 3, 0, 0), GLIMP_OK);
    assert_true(l.end);
    free(l.text);
    bk_segment_free(&seg);
}

/* The text form and its errors; a bad pattern is refused at the request. */
static void test_segment_parse(void **state)
{
    (void)state;
    struct glimp_router_params p = glimp_router_default_params();
    assert_int_equal(p.segment, GLIMP_SEGMENT_BLANK);
    char buf[300];
    assert_int_equal(glimp_segment_parse("marker:(?=Wait)|\\d+\\.", &p), GLIMP_OK);
    assert_int_equal(p.segment, GLIMP_SEGMENT_MARKER);
    assert_int_equal(glimp_segment_format(&p, buf, sizeof buf), GLIMP_OK);
    assert_string_equal(buf, "marker:(?=Wait)|\\d+\\.");
    assert_int_equal(glimp_segment_format(&p, buf, 8), GLIMP_ERR_RANGE);
    /* the room: the text and its NUL, not a byte less */
    size_t len = strlen("marker:(?=Wait)|\\d+\\.");
    assert_int_equal(glimp_segment_format(&p, buf, len + 1), GLIMP_OK);
    assert_int_equal(glimp_segment_format(&p, buf, len), GLIMP_ERR_RANGE);
    /* a marker of GLIMP_SEGMENT_MARKER_MAX - 1 bytes fits, one more does not
     * (and leaves the params as they were) */
    char re[GLIMP_SEGMENT_MARKER_MAX + 8] = "marker:";
    memset(re + 7, 'a', GLIMP_SEGMENT_MARKER_MAX - 1);
    re[7 + GLIMP_SEGMENT_MARKER_MAX - 1] = '\0';
    assert_int_equal(glimp_segment_parse(re, &p), GLIMP_OK);
    assert_int_equal(strlen(p.segment_marker), GLIMP_SEGMENT_MARKER_MAX - 1);
    assert_int_equal(glimp_segment_format(&p, buf, sizeof buf), GLIMP_OK);
    assert_string_equal(buf, re);
    re[7 + GLIMP_SEGMENT_MARKER_MAX - 1] = 'a';
    re[7 + GLIMP_SEGMENT_MARKER_MAX] = '\0';
    assert_int_equal(glimp_segment_parse(re, &p), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "longer than 255 bytes"));
    assert_int_equal(strlen(p.segment_marker), GLIMP_SEGMENT_MARKER_MAX - 1);
    assert_int_equal(glimp_segment_parse("line", &p), GLIMP_OK);
    assert_int_equal(p.segment, GLIMP_SEGMENT_LINE);
    assert_string_equal(p.segment_marker, "");
    assert_int_equal(glimp_segment_parse("lines", &p), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "blank, line or marker:REGEX"));
    assert_int_equal(glimp_segment_parse("marker:", &p), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_segment_parse("marker:Wa(", &p), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "'Wa('"));
    assert_int_equal(p.segment, GLIMP_SEGMENT_LINE); /* unchanged */
    struct pair pr;
    open_pair(&pr, slm_steps, 4, slm_u, llm_steps, 4, ALL_CAPS, ALL_CAPS);
    p = greedy();
    p.segment = GLIMP_SEGMENT_MARKER;
    snprintf(p.segment_marker, sizeof p.segment_marker, "Wa(");
    struct glimp_request *q = NULL;
    assert_int_equal(glimp_request_init(pr.slm, pr.llm, "Q?", &p, &q), GLIMP_ERR_INVALID);
    assert_null(q);
    assert_non_null(strstr(glimp_last_error(), "router: segment: marker 'Wa('"));
    close_pair(&pr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_choice),    cmocka_unit_test(test_stop_rules),
        cmocka_unit_test(test_split_blank_line), cmocka_unit_test(test_time_accounting),
        cmocka_unit_test(test_streaming),        cmocka_unit_test(test_request_steps),
        cmocka_unit_test(test_capabilities),     cmocka_unit_test(test_segment_line),
        cmocka_unit_test(test_segment_marker),   cmocka_unit_test(test_segment_marker_routes),
        cmocka_unit_test(test_segment_rule),     cmocka_unit_test(test_segment_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
