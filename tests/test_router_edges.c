/* test_router_edges.c - the router at its edges, end to end through
 * glimp_router_run on local test models: speculative decoding changes no
 * token whichever model's context fills first (DESIGN.md section 3,
 * invariant 3), the SLM drafts exactly as far as its context allows, and a
 * step ends at a blank line written as two "\n" tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <sys/stat.h>

#include "backend/backend.h"
#include "glimp.h"
#include "glimp_testmodel.h"
#include "testutil.h"

static const char prompt[] = "What is 2 + 3? Think step by step.";

/* Random weights (untied: tied ones repeat one token forever); the same
 * seed and shape give the same weights whatever the context length. */
static void write_model(const char *path, uint32_t layers, uint32_t embd, uint64_t seed,
                        uint32_t n_ctx)
{
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.n_layer = layers;
    p.n_embd = embd;
    p.n_ff = embd * 3;
    p.seed = seed;
    p.n_ctx = n_ctx;
    p.tied_output = false;
    if (glimp_testmodel_write(&p, path) != GLIMP_OK)
        fail_msg("write %s: %s", path, glimp_last_error());
}

static struct glimp_backend *open_model(const char *path)
{
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_threads = 2;
    struct glimp_backend *b = NULL;
    if (glimp_backend_local_open(path, &mp, &b) != GLIMP_OK)
        fail_msg("open %s: %s", path, glimp_last_error());
    return b;
}

/* An SLM (2 layers, 64 wide, seed 1) or LLM (3 layers, 96 wide, seed 2)
 * whose context holds n_ctx tokens. */
static struct glimp_backend *slm_with_ctx(uint32_t n_ctx)
{
    char name[64];
    snprintf(name, sizeof name, "slm_%u.gguf", n_ctx);
    const char *path = tu_tmp_path(name);
    write_model(path, 2, 64, 1, n_ctx);
    return open_model(path);
}

static struct glimp_backend *llm_with_ctx(uint32_t n_ctx)
{
    char name[64];
    snprintf(name, sizeof name, "llm_%u.gguf", n_ctx);
    const char *path = tu_tmp_path(name);
    write_model(path, 3, 96, 2, n_ctx);
    return open_model(path);
}

/* Greedy, each model at its own context (n_ctx 0). */
static struct glimp_router_params greedy(void)
{
    struct glimp_router_params p = glimp_router_default_params();
    p.sampling.temperature = 0.0f;
    p.max_think = 48;
    p.max_step = 6;
    p.max_answer = 12;
    p.n_ctx = 0;
    return p;
}

static struct glimp_router_result *run(struct glimp_backend *s, struct glimp_backend *l,
                                       const struct glimp_router_params *p, const char *what)
{
    struct glimp_router_result *r = NULL;
    if (glimp_router_run(s, l, prompt, p, &r) != GLIMP_OK)
        fail_msg("%s: router: %s", what, glimp_last_error());
    return r;
}

/* Same tokens and text, and the run ended the same way. */
static void same_run(const struct glimp_router_result *a, const struct glimp_router_result *b,
                     const char *what)
{
    if (a->n_ids != b->n_ids || memcmp(a->ids, b->ids, a->n_ids * sizeof *a->ids))
        fail_msg("%s: %zu vs %zu generated ids differ", what, a->n_ids, b->n_ids);
    if (strcmp(a->reasoning, b->reasoning) || strcmp(a->answer, b->answer))
        fail_msg("%s: text differs", what);
    if (a->n_steps != b->n_steps)
        fail_msg("%s: %zu vs %zu steps", what, a->n_steps, b->n_steps);
    for (size_t i = 0; i < a->n_steps; i++)
        if (a->steps[i].writer != b->steps[i].writer ||
            a->steps[i].n_tokens != b->steps[i].n_tokens)
            fail_msg("%s: step %zu differs", what, i);
    if (a->summary.ctx_full != b->summary.ctx_full)
        fail_msg("%s: ctx_full %d vs %d", what, a->summary.ctx_full, b->summary.ctx_full);
    if (a->summary.think_end != b->summary.think_end)
        fail_msg("%s: thinking ended by %s vs %s", what,
                 glimp_think_end_name(a->summary.think_end),
                 glimp_think_end_name(b->summary.think_end));
}

/* How many tokens the prompt takes (both test models share a vocabulary). */
static uint32_t prompt_len(struct glimp_backend *b, const struct glimp_router_params *p)
{
    struct glimp_tokens t = {0};
    struct bk_prompt bp = {.text = prompt, .chat = p->chat, .think = p->think};
    assert_int_equal(b->ops->prompt_tokens(b, &bp, &t), GLIMP_OK);
    uint32_t n = (uint32_t)t.n;
    glimp_tokens_free(&t);
    return n;
}

/* ------------------------------------------------ contexts that fill up */

/* Drafting on (1, 3 and 64 tokens a round) or off gives the same run, token
 * for token, when the SLM's context is smaller than, equal to or larger
 * than the LLM's, with the LLM writing every step, none or some: when the
 * SLM has no room left to draft, the LLM carries on without drafts; when
 * the LLM's context fills, it stops where it stops without drafts. */
static void test_draft_changes_nothing_at_the_context_edge(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    struct glimp_backend *probe = slm_with_ctx(4096);
    const uint32_t P = prompt_len(probe, &p);
    glimp_backend_free(probe);
    /* the LLM alone writes 48 + 12 tokens; its context of P + 30 fills in
     * the middle of the thinking */
    const uint32_t lctx[] = {P + 30, 4096};
    const uint32_t sctx[] = {P + 1, P + 9, P + 30, P + 31, P + 60, 4096};
    const uint32_t drafts[] = {1, 3, 64};
    int llm_filled = 0, slm_filled = 0, both_open = 0;
    for (size_t li = 0; li < sizeof lctx / sizeof lctx[0]; li++) {
        struct glimp_backend *l = llm_with_ctx(lctx[li]);
        for (size_t si = 0; si < sizeof sctx / sizeof sctx[0]; si++) {
            struct glimp_backend *s = slm_with_ctx(sctx[si]);
            struct {
                enum glimp_policy policy;
                double tau;
            } pol[] = {{GLIMP_POLICY_LLM, 0.0},
                       {GLIMP_POLICY_GLIMP, -INFINITY},
                       {GLIMP_POLICY_GLIMP, 2.0},
                       {GLIMP_POLICY_GLIMP, 2.6}};
            for (size_t pi = 0; pi < sizeof pol / sizeof pol[0]; pi++) {
                p = greedy();
                p.policy = pol[pi].policy;
                p.tau = pol[pi].tau;
                struct glimp_router_result *off = run(s, l, &p, "draft 0");
                if (pol[pi].policy == GLIMP_POLICY_LLM && off->summary.ctx_full)
                    llm_filled++;
                else if (off->summary.ctx_full)
                    slm_filled++;
                else
                    both_open++;
                for (size_t di = 0; di < sizeof drafts / sizeof drafts[0]; di++) {
                    char what[160];
                    snprintf(what, sizeof what,
                             "slm ctx %u, llm ctx %u (prompt %u), %s tau %g, draft %u vs 0",
                             sctx[si], lctx[li], P, glimp_policy_name(p.policy), p.tau,
                             drafts[di]);
                    p.draft = drafts[di];
                    struct glimp_router_result *on = run(s, l, &p, what);
                    same_run(on, off, what);
                    glimp_router_result_free(on);
                }
                glimp_router_result_free(off);
            }
            glimp_backend_free(s);
        }
        glimp_backend_free(l);
    }
    /* each ending happened, so the comparisons above cover them */
    assert_true(llm_filled > 0);
    assert_true(slm_filled > 0);
    assert_true(both_open > 0);
}

/* The LLM at a context that fills mid-step writes exactly to its end,
 * with drafts or without: every token it keeps, it has read. The SLM is a
 * random model (drafts mostly rejected) or the LLM's twin (every draft
 * stands, so a round ends with a bonus token right at the edge). */
static void test_llm_context_fills_exactly(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    struct glimp_backend *s = slm_with_ctx(4096);
    const uint32_t P = prompt_len(s, &p);
    const char *path = tu_tmp_path("twin_4096.gguf");
    write_model(path, 3, 96, 2, 4096);
    struct glimp_backend *twin = open_model(path);
    for (uint32_t extra = 15; extra <= 18; extra++) {
        struct glimp_backend *l = llm_with_ctx(P + extra);
        p.policy = GLIMP_POLICY_LLM;
        for (uint32_t d = 0; d <= 6; d++) {
            for (int t = 0; t < 2; t++) {
                p.draft = d;
                struct glimp_router_result *r = run(t ? twin : s, l, &p, "llm ctx P + extra");
                assert_true(r->summary.ctx_full);
                if (r->n_ids != extra)
                    fail_msg("llm ctx P + %u, draft %u, %s: %zu ids", extra, d,
                             t ? "twin" : "random slm", r->n_ids);
                assert_string_equal(r->answer, "");
                glimp_router_result_free(r);
            }
        }
        glimp_backend_free(l);
    }
    glimp_backend_free(twin);
    glimp_backend_free(s);
}

/* The SLM drafts as far as its context goes, and no further: with the
 * LLM's own weights (so every draft stands) and room for the prompt plus
 * two tokens, it reads the prompt and two drafts and proposes a third
 * (the last draft of a round is never read), then the LLM writes on
 * alone to its budget. */
static void test_slm_drafts_to_its_last_token(void **state)
{
    (void)state;
    struct glimp_router_params p = greedy();
    struct glimp_backend *l = llm_with_ctx(4096);
    const uint32_t P = prompt_len(l, &p);
    /* the LLM's twin with a context of P + 2 */
    const char *path = tu_tmp_path("twin.gguf");
    write_model(path, 3, 96, 2, P + 2);
    struct glimp_backend *s = open_model(path);

    p.policy = GLIMP_POLICY_LLM;
    struct glimp_router_result *off = run(s, l, &p, "draft 0");
    assert_false(off->summary.ctx_full);
    assert_true(off->n_steps >= 2 && off->steps[0].n_tokens >= 4); /* no early end */
    for (uint32_t d = 3; d <= 64; d += 61) {
        p.draft = d;
        struct glimp_router_result *on = run(s, l, &p, "twin drafts");
        same_run(on, off, "twin drafts vs none");
        assert_int_equal(on->summary.draft_proposed, 3);
        assert_int_equal(on->summary.draft_accepted, 3);
        assert_int_equal(on->steps[0].draft_proposed, 3);
        glimp_router_result_free(on);
    }
    /* a round of one draft: the SLM reads the prompt, then one draft a
     * round while it has room: P + 2 holds drafts for three rounds */
    p.draft = 1;
    struct glimp_router_result *on = run(s, l, &p, "twin, one draft a round");
    same_run(on, off, "twin, one draft a round vs none");
    assert_int_equal(on->summary.draft_proposed, 2);
    glimp_router_result_free(on);
    glimp_router_result_free(off);
    glimp_backend_free(s);
    glimp_backend_free(l);
}

/* -------------------------------------- a blank line of two "\n" tokens */

/* A model that follows a chain, whatever came before: the prompt's last
 * token is followed by "a", "a" by "b", "b" by "\n" and "\n" by "\n". All
 * its layers are zero, so the final norm sees the token's embedding
 * alone: a one-hot row per state, and the output matrix maps each state to
 * its successor. */
static void write_chain_model(const char *path, int32_t a, int32_t b, int32_t nl)
{
    /* the shapes and names: from a random model of the same dimensions */
    char tmpl[512], dir[512];
    snprintf(tmpl, sizeof tmpl, "%s", tu_tmp_path("chain_tmpl.gguf"));
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("chain_weights"));
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.tied_output = false;
    if (glimp_testmodel_write(&p, tmpl) != GLIMP_OK)
        fail_msg("write %s: %s", tmpl, glimp_last_error());
    mkdir(dir, 0700);
    struct glimp_gguf *g = NULL;
    assert_int_equal(glimp_gguf_open(tmpl, &g), GLIMP_OK);
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++) {
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        uint64_t n = t->n_elements, ne0 = t->ne[0];
        float *x = calloc(n, sizeof *x);
        assert_non_null(x);
        size_t len = strlen(t->name);
        if (len > 12 && !strcmp(t->name + len - 12, "_norm.weight")) {
            for (uint64_t k = 0; k < n; k++)
                x[k] = 1.0f;
        } else if (!strcmp(t->name, "token_embd.weight")) {
            /* state 0: any token; 1: "a"; 2: "b"; 3: "\n" */
            for (uint64_t tok = 0; tok < n / ne0; tok++) {
                int s = (int32_t)tok == a ? 1 : (int32_t)tok == b ? 2 : (int32_t)tok == nl ? 3 : 0;
                x[tok * ne0 + (uint64_t)s] = 1.0f;
            }
        } else if (!strcmp(t->name, "output.weight")) {
            x[(uint64_t)a * ne0 + 0] = 1.0f;
            x[(uint64_t)b * ne0 + 1] = 1.0f;
            x[(uint64_t)nl * ne0 + 2] = 1.0f;
            x[(uint64_t)nl * ne0 + 3] = 1.0f;
        }
        char f[1024];
        snprintf(f, sizeof f, "%s/%s.f32", dir, t->name);
        unsigned char *bytes = malloc(n * 4);
        assert_non_null(bytes);
        for (uint64_t k = 0; k < n; k++) {
            uint32_t u;
            memcpy(&u, &x[k], 4);
            for (int j = 0; j < 4; j++)
                bytes[4 * k + (uint64_t)j] = (unsigned char)(u >> (8 * j));
        }
        tu_write_file(f, bytes, n * 4);
        free(bytes);
        free(x);
    }
    glimp_gguf_close(g);
    p.weights_dir = dir;
    if (glimp_testmodel_write(&p, path) != GLIMP_OK)
        fail_msg("write %s: %s", path, glimp_last_error());
}

static int32_t one_token(struct glimp_backend *b, const char *text)
{
    struct glimp_tokens t = {0};
    assert_int_equal(b->ops->tokenize(b, text, strlen(text), &t), GLIMP_OK);
    assert_int_equal(t.n, 1);
    int32_t id = t.ids[0];
    glimp_tokens_free(&t);
    return id;
}

/* A step whose blank line comes as "\n" then "\n" ends there, whoever
 * writes it and however: the SLM (the engine's generate), the LLM alone,
 * and the LLM with drafts (the router's own step loop). The chain then
 * writes "\n\n" steps until two in a row end the thinking. */
static void test_blank_line_of_two_tokens_ends_the_step(void **state)
{
    (void)state;
    const char *tmpl = tu_tmp_path("vocab.gguf");
    struct glimp_testmodel_params tp = glimp_testmodel_default_params();
    if (glimp_testmodel_write(&tp, tmpl) != GLIMP_OK)
        fail_msg("write %s: %s", tmpl, glimp_last_error());
    struct glimp_backend *v = open_model(tmpl);
    const int32_t a = one_token(v, "a"), b = one_token(v, "b"), nl = one_token(v, "\n");
    glimp_backend_free(v);

    char path[512];
    snprintf(path, sizeof path, "%s", tu_tmp_path("chain.gguf"));
    write_chain_model(path, a, b, nl);
    struct glimp_backend *m = open_model(path);
    struct {
        enum glimp_policy policy;
        uint32_t draft;
    } cases[] = {{GLIMP_POLICY_SLM, 0}, {GLIMP_POLICY_LLM, 0}, {GLIMP_POLICY_LLM, 1},
                 {GLIMP_POLICY_LLM, 3}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct glimp_router_params p = greedy();
        p.policy = cases[i].policy;
        p.draft = cases[i].draft;
        p.max_step = 12;
        p.max_answer = 4;
        p.chat = false; /* the prompt ends in ".", not in the template's "\n" */
        struct glimp_router_result *r = run(m, m, &p, "chain");
        assert_true(r->n_steps >= 3);
        assert_int_equal(r->steps[0].n_tokens, 4);
        assert_string_equal(r->steps[0].text, "ab\n\n");
        assert_int_equal(r->ids[0], a);
        assert_int_equal(r->ids[1], b);
        assert_int_equal(r->ids[2], nl);
        assert_int_equal(r->ids[3], nl);
        assert_int_equal(r->steps[1].n_tokens, 2);
        assert_string_equal(r->steps[1].text, "\n\n");
        assert_int_equal(r->summary.think_end, GLIMP_THINK_REPEAT);
        assert_int_equal(r->n_steps, 4); /* three thinking steps and the answer */
        assert_string_equal(r->reasoning, "ab\n\n\n\n\n\n");
        glimp_router_result_free(r);
    }
    glimp_backend_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draft_changes_nothing_at_the_context_edge),
        cmocka_unit_test(test_llm_context_fills_exactly),
        cmocka_unit_test(test_slm_drafts_to_its_last_token),
        cmocka_unit_test(test_blank_line_of_two_tokens_ends_the_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
