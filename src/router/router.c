/* router.c - a request's life: made from two backends, a prompt and
 * params (checked against what each backend can do), advanced one step at
 * a time (thinking steps until </think>, a repeated step, the end of turn
 * or the budget; then the answer; then done), each step recorded in one
 * place, and its result handed over. glimp_router_run is a loop over it.
 * The writing of a step is in step.c. */
#include "router/router_internal.h"

#include "core/buf.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct glimp_router_params glimp_router_default_params(void)
{
    struct glimp_router_params p = {
        .policy = GLIMP_POLICY_GLIMP,
        .signal = GLIMP_SIGNAL_HINIT,
        .glimpse = 1,
        .tau = 1.0,
        .share = 0.25,
        .instance_k = 4,
        .instance_z = 1.0,
        .specreason_threshold = 7.0,
        .entropy_topk = 20,
        .draft = 0,
        .max_think = 8192,
        .max_step = 512,
        .max_answer = 2048,
        .answer_model = GLIMP_WRITER_LLM,
        .sampling = {.temperature = 0.6f, .top_k = 0, .top_p = 0.95f, .min_p = 0.0f, .seed = 0},
        .seed = 0,
        .chat = true,
        .think = true,
    };
    return p;
}

/* ------------------------------------------------------------ the clock */

enum rt_part rt_charge(struct rt_clock *c, enum rt_part part)
{
    double t = c->now(c->user);
    c->part[c->cur] += t - c->last;
    c->last = t;
    enum rt_part was = c->cur;
    if (!c->sealed)
        c->cur = part;
    return was;
}

static double mono_now(void *user)
{
    (void)user;
    return glimp_now();
}

void rt_request_set_clock(struct glimp_request *q, double (*now)(void *), void *user)
{
    q->clk.now = now;
    q->clk.user = user;
    q->clk.last = now(user);
}

bool rt_cancelled(const struct glimp_request *q)
{
    return atomic_load(&q->cancel) || (q->p.cancel && atomic_load(q->p.cancel));
}

/* ------------------------------------------------------- model state */

/* Read model w's ids up to upto (ids.n, or ids.n - 1 to leave the last one
 * unread); a sequence rolled back to exactly its ids gives up its last
 * token to read it again, since its next distribution is gone. */
static int read_ids(struct glimp_request *q, enum glimp_writer w, size_t upto)
{
    struct rt_model *m = &q->m[w];
    const struct bk_ops *ops = m->b->ops;
    uint32_t n_ctx = ops->seq_n_ctx(m->seq);
    if (m->ids.n > n_ctx) {
        q->ctx_full = true;
        return glimp_error(GLIMP_ERR_RANGE, "router: %s: %zu tokens pass its context of %u",
                           glimp_writer_name(w), m->ids.n, n_ctx);
    }
    uint32_t have = ops->seq_len(m->seq);
    if (have == 0 && m->ids.n == 0)
        return glimp_error(GLIMP_ERR_INVALID, "router: %s has nothing to read",
                           glimp_writer_name(w));
    enum rt_part was = rt_charge(&q->clk, RT_PART_SYNC);
    int rc = GLIMP_OK;
    if (have == m->ids.n) /* rolled back: read the last token again */
        rc = ops->truncate(m->seq, --have);
    if (rc == GLIMP_OK && have < upto)
        rc = ops->append(m->seq, m->ids.ids + have, upto - have);
    m->live = rc == GLIMP_OK && upto == m->ids.n;
    rt_charge(&q->clk, was);
    return rc;
}

int rt_sync(struct glimp_request *q, enum glimp_writer w)
{
    struct rt_model *m = &q->m[w];
    if (m->live && m->b->ops->seq_len(m->seq) == m->ids.n)
        return GLIMP_OK;
    return read_ids(q, w, m->ids.n);
}

int rt_sync_but_last(struct glimp_request *q, enum glimp_writer w, uint32_t *unread)
{
    struct rt_model *m = &q->m[w];
    *unread = 0;
    if (m->live && m->b->ops->seq_len(m->seq) == m->ids.n)
        return GLIMP_OK;
    *unread = 1;
    return read_ids(q, w, m->ids.n - 1);
}

int rt_keep(struct glimp_request *q, enum glimp_writer w, size_t len)
{
    struct rt_model *m = &q->m[w];
    if (len > m->ids.n)
        return glimp_error(GLIMP_ERR_INVALID, "router: keep %zu of %zu tokens", len, m->ids.n);
    if (m->b->ops->seq_len(m->seq) > len) {
        /* len < seq_len <= n_ctx, a uint32_t */
        int rc = m->b->ops->truncate(m->seq, (uint32_t)len);
        if (rc != GLIMP_OK)
            return rc;
        m->live = false;
    }
    m->ids.n = len;
    return GLIMP_OK;
}

/* ------------------------------------------------------ the checks */

int glimp_router_check_vocab(const struct glimp_backend *slm, const struct glimp_backend *llm,
                             bool *shared)
{
    if (!slm || !llm || !shared)
        return glimp_error(GLIMP_ERR_INVALID, "router: a backend or shared is NULL");
    *shared = slm->n_vocab == llm->n_vocab &&
              slm->ops->vocab_hash(slm) == llm->ops->vocab_hash(llm) &&
              bk_has(slm, BK_CAP_EXACT_IDS) && bk_has(llm, BK_CAP_EXACT_IDS);
    return GLIMP_OK;
}

/* What a backend lacks for a setting, as a refusal naming both. */
static int lacks(const struct glimp_backend *b, const char *what, const char *setting)
{
    return glimp_error(GLIMP_ERR_UNSUPPORTED, "router: %s needs %s, and %s gives none", setting,
                       what, glimp_backend_describe(b));
}

static int check_params(const struct glimp_router_params *p, const struct glimp_backend *slm,
                        const struct glimp_backend *llm, bool shared)
{
    if (p->policy > GLIMP_POLICY_SPECREASON)
        return glimp_error(GLIMP_ERR_INVALID, "router: unknown policy %d", (int)p->policy);
    if (p->signal > GLIMP_SIGNAL_PPL)
        return glimp_error(GLIMP_ERR_INVALID, "router: unknown signal %d", (int)p->signal);
    if (p->glimpse < 1)
        return glimp_error(GLIMP_ERR_INVALID, "router: glimpse must be at least 1");
    if (p->glimpse > 1 && p->signal != GLIMP_SIGNAL_HINIT)
        return glimp_error(GLIMP_ERR_INVALID,
                           "router: a glimpse of %u tokens goes with the hinit signal, not %s",
                           p->glimpse, glimp_signal_name(p->signal));
    if (p->max_step < 1 || p->max_answer < 1)
        return glimp_error(GLIMP_ERR_INVALID, "router: max_step and max_answer must be >= 1");
    if (p->max_step > (1u << 20))
        return glimp_error(GLIMP_ERR_INVALID, "router: max_step %u is too large (at most %u)",
                           p->max_step, 1u << 20);
    if (p->max_answer > (1u << 24))
        return glimp_error(GLIMP_ERR_INVALID, "router: max_answer %u is too large", p->max_answer);
    if (p->draft > RT_DRAFT_MAX)
        return glimp_error(GLIMP_ERR_INVALID, "router: draft %u is too many (at most %d)",
                           p->draft, RT_DRAFT_MAX);
    if (p->draft > 0 && !shared)
        return glimp_error(GLIMP_ERR_INVALID,
                           "router: speculative decoding (draft %u) needs both models to share "
                           "one vocabulary, and these two differ",
                           p->draft);
    if (p->segment > GLIMP_SEGMENT_MARKER)
        return glimp_error(GLIMP_ERR_INVALID, "router: unknown segment %d", (int)p->segment);
    if (!memchr(p->segment_marker, '\0', sizeof p->segment_marker))
        return glimp_error(GLIMP_ERR_INVALID, "router: segment_marker is not NUL-terminated");
    if (p->answer_model != GLIMP_WRITER_SLM && p->answer_model != GLIMP_WRITER_LLM)
        return glimp_error(GLIMP_ERR_INVALID, "router: unknown answer model %d",
                           (int)p->answer_model);
    if (p->sampling.seed != 0 && p->sampling.seed != p->seed)
        return glimp_error(GLIMP_ERR_INVALID,
                           "router: sampling.seed %llu is not read: set seed (each model's "
                           "sampler is seeded from it)",
                           (unsigned long long)p->sampling.seed);
    /* what each backend must be able to do */
    if (p->entropy_topk > BK_TOPK_MAX && !bk_has(slm, BK_CAP_FULL_DIST))
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "router: entropy over the top %u needs the full distribution, and %s "
                           "gives its top %d only",
                           p->entropy_topk, glimp_backend_describe(slm), BK_TOPK_MAX);
    if (p->entropy_topk == 0 && !bk_has(slm, BK_CAP_FULL_DIST))
        return lacks(slm, "the SLM's full next-token distribution", "entropy full");
    /* glimpse > 1, specreason and label_steps roll a model back: cheap or
     * not (a remote backend drops client-side ids and lets the server's
     * prefix cache recompute), it is correct either way, so ROLLBACK is not
     * required there; drafting rolls back every round and verifies over
     * full distributions, so it needs both. */
    if (p->draft > 0) {
        const unsigned need = BK_CAP_FULL_DIST | BK_CAP_ROLLBACK;
        const struct glimp_backend *b = !bk_has(slm, need) ? slm : llm;
        if (!bk_has(b, need) && glimp_backend_is_remote(b))
            return glimp_error(GLIMP_ERR_UNSUPPORTED,
                               "router: speculative decoding (draft %u) needs full "
                               "distributions and in-process rollback, and %s is a server that "
                               "gives neither over the network: turn on the server's own "
                               "speculative decoding instead (vLLM --speculative-config, "
                               "llama-server --model-draft, SGLang --speculative-algorithm)",
                               p->draft, glimp_backend_describe(b));
        if (!bk_has(b, need))
            return lacks(b, "full distributions and in-process rollback",
                         "speculative decoding (draft)");
    }
    return GLIMP_OK;
}

/* ------------------------------------------------------ the request */

void glimp_request_free(struct glimp_request *q)
{
    if (!q)
        return;
    for (int w = 0; w < 2; w++) {
        if (q->m[w].seq)
            q->m[w].b->ops->seq_free(q->m[w].seq);
        glimp_tokens_free(&q->m[w].ids);
    }
    if (!q->pol_borrowed)
        rt_policy_free(q->pol);
    bk_segment_free(&q->seg);
    free(q->step.ids);
    free(q->step.off);
    free(q->label.off);
    free(q->step.entropy);
    free(q->step.logprob);
    free(q->step.text);
    free(q->label.ids);
    free(q->label.text);
    free(q->spec_p);
    free(q->spec_q);
    free(q->spec_r);
    free(q->reasoning);
    free(q->answer);
    glimp_tokens_free(&q->gen_ids);
    glimp_router_result_free(q->res);
    free(q);
}

static int request_init(struct glimp_request *q, struct glimp_backend *slm,
                        struct glimp_backend *llm, const char *prompt)
{
    const struct glimp_router_params *p = &q->p;
    q->m[GLIMP_WRITER_SLM] = (struct rt_model){.b = slm, .part = RT_PART_SLM};
    q->m[GLIMP_WRITER_LLM] = (struct rt_model){.b = llm, .part = RT_PART_LLM};
    rt_request_set_clock(q, mono_now, NULL);
    int rc = glimp_router_check_vocab(slm, llm, &q->shared);
    if (rc == GLIMP_OK)
        rc = check_params(p, slm, llm, q->shared);
    /* a bad marker says so, naming the pattern */
    if (rc == GLIMP_OK &&
        (rc = bk_segment_init(&q->seg, p->segment, p->segment_marker)) != GLIMP_OK)
        glimp_error_prefix(rc, "router: ");
    if (rc == GLIMP_OK && p->policy_state) {
        q->pol = rt_policy_of_state(p->policy_state);
        q->pol_borrowed = true;
        rt_policy_new_problem(q->pol);
    } else if (rc == GLIMP_OK) {
        rc = rt_policy_init(p, &q->pol);
    }
    if (rc != GLIMP_OK)
        return rc;
    if (!(q->res = calloc(1, sizeof *q->res)))
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory");
    /* The LLM policy needs no probe; drafting syncs the SLM itself, as far
     * as its context allows (spec.c), so that drafts change nothing. */
    q->slm_live = p->policy != GLIMP_POLICY_LLM;
    q->step_cap = p->max_step > p->max_answer ? p->max_step : p->max_answer;
    q->step.ids = malloc(q->step_cap * sizeof *q->step.ids);
    q->step.entropy = malloc(q->step_cap * sizeof *q->step.entropy);
    q->step.logprob = malloc(q->step_cap * sizeof *q->step.logprob);
    q->step.off = malloc(q->step_cap * sizeof *q->step.off);
    if (!q->step.ids || !q->step.entropy || !q->step.logprob || !q->step.off)
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for a step of %u tokens",
                           q->step_cap);
    if (p->label_steps && (!(q->label.ids = malloc(p->max_step * sizeof *q->label.ids)) ||
                           !(q->label.off = malloc(p->max_step * sizeof *q->label.off))))
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for step labels");
    if (p->draft > 0) {
        size_t nv = llm->n_vocab;
        q->spec_p = malloc((p->draft + 1) * nv * sizeof(float));
        q->spec_q = malloc(p->draft * nv * sizeof(float));
        q->spec_r = malloc(nv * sizeof(float));
        if (!q->spec_p || !q->spec_q || !q->spec_r)
            return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for draft scratch");
    }
    for (int w = 0; w < 2; w++) {
        struct rt_model *m = &q->m[w];
        struct glimp_sampler_params sp = p->sampling;
        sp.seed = p->seed * 2 + (uint64_t)w; /* one stream per model */
        if ((rc = m->b->ops->seq_init(m->b, p->n_ctx, &sp, &m->seq)) != GLIMP_OK)
            return rc;
        struct bk_prompt bp = {.text = prompt, .chat = p->chat, .think = p->think};
        if (p->chat && p->messages) {
            bp.msgs = p->messages;
            bp.n_msgs = p->n_messages;
        }
        if ((rc = m->b->ops->prompt_tokens(m->b, &bp, &m->ids)) != GLIMP_OK)
            return rc;
        uint32_t n_ctx = m->b->ops->seq_n_ctx(m->seq);
        if (m->ids.n > n_ctx)
            return glimp_error(GLIMP_ERR_RANGE,
                               "router: the prompt is %zu tokens, longer than the %s's context "
                               "of %u tokens",
                               m->ids.n, glimp_writer_name((enum glimp_writer)w), n_ctx);
    }
    q->state = p->think ? RT_THINK : RT_ANSWER;
    q->res->summary.think_end = p->think ? GLIMP_THINK_BUDGET : GLIMP_THINK_NONE;
    return GLIMP_OK;
}

int glimp_request_init(struct glimp_backend *slm, struct glimp_backend *llm, const char *prompt,
                       const struct glimp_router_params *p, struct glimp_request **out)
{
    if (!slm || !llm || !prompt || !out)
        return glimp_error(GLIMP_ERR_INVALID, "router: a backend, the prompt or out is NULL");
    *out = NULL;
    struct glimp_request *q = calloc(1, sizeof *q);
    if (!q)
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory");
    q->p = p ? *p : glimp_router_default_params();
    atomic_init(&q->cancel, 0);
    int rc = request_init(q, slm, llm, prompt);
    if (rc != GLIMP_OK) {
        glimp_request_free(q);
        return rc;
    }
    *out = q;
    return GLIMP_OK;
}

void glimp_request_cancel(struct glimp_request *q)
{
    if (q)
        atomic_store(&q->cancel, 1);
}

bool glimp_request_done(const struct glimp_request *q)
{
    return !q || q->state == RT_DONE;
}

/* ------------------------------------------------------ recording */

/* Take the step just made (q->ev) into the result: its copy in the steps,
 * its text in the reasoning or the answer, its ids, the counts. The one
 * place a step is recorded. */
static int record_step(struct glimp_request *q)
{
    struct glimp_router_result *res = q->res;
    struct glimp_router_summary *sum = &res->summary;
    struct glimp_step_event *ev = &q->ev;
    ev->index = (uint32_t)res->n_steps;
    if (res->n_steps == q->steps_cap) {
        size_t c = q->steps_cap ? q->steps_cap * 2 : 64;
        struct glimp_step_event *s = realloc(res->steps, c * sizeof *s);
        if (!s)
            return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for %zu steps", c);
        res->steps = s;
        q->steps_cap = c;
    }
    char *text = malloc(ev->text_len + 1);
    if (!text)
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory");
    memcpy(text, ev->text, ev->text_len);
    text[ev->text_len] = '\0';
    res->steps[res->n_steps] = *ev;
    res->steps[res->n_steps++].text = text;

    int rc;
    if (ev->phase == GLIMP_PHASE_THINK) {
        if (ev->writer == GLIMP_WRITER_SLM)
            sum->steps_slm++;
        else
            sum->steps_llm++;
        sum->rewrites += ev->rewritten;
        q->think_tokens += ev->n_tokens;
        rc = buf_append(&q->reasoning, &q->reasoning_len, &q->reasoning_cap, ev->text,
                        ev->text_len);
    } else {
        rc = buf_append(&q->answer, &q->answer_len, &q->answer_cap, ev->text, ev->text_len);
    }
    if (ev->writer == GLIMP_WRITER_SLM)
        sum->tokens_slm += ev->n_tokens;
    else
        sum->tokens_llm += ev->n_tokens;
    if (rc == GLIMP_OK && q->shared)
        rc = glimp_tokens_push(&q->gen_ids, q->step.ids, q->step.n);
    return rc;
}

/* Where "</think>" starts in text, or NULL. */
static const char *find_tag(const char *text, size_t len)
{
    for (size_t i = 0; i + 8 <= len; i++)
        if (text[i] == '<' && !memcmp(text + i, "</think>", 8))
            return text + i;
    return NULL;
}

/* After a thinking step: does thinking go on? Sets the state and why it
 * ended. */
static void after_think_step(struct glimp_request *q, size_t off)
{
    struct glimp_router_summary *sum = &q->res->summary;
    const struct glimp_step_event *ev = &q->ev;
    /* the tag may straddle the step before, when a budget cut it */
    size_t from = off > 7 ? off - 7 : 0;
    const char *tag = find_tag(q->reasoning + from, q->reasoning_len - from);
    q->state = RT_ANSWER;
    if (tag) {
        q->tag_seen = true;
        q->tag_off = (size_t)(tag - q->reasoning);
        sum->think_end = GLIMP_THINK_TAG;
    } else if (q->step.eos || ev->n_tokens == 0) {
        sum->think_end = GLIMP_THINK_EOS;
    } else if (q->ctx_full) {
        /* the run ends where the context does */
    } else if (q->res->n_steps > 1 && ev->text_len == q->prev_len &&
               !memcmp(q->reasoning + q->prev_off, ev->text, ev->text_len)) {
        sum->think_end = GLIMP_THINK_REPEAT;
    } else {
        q->state = RT_THINK;
        q->prev_off = off;
        q->prev_len = ev->text_len;
    }
}

/* glimp closes the think block itself when the model did not. */
static int close_think(struct glimp_request *q)
{
    const char *close = q->reasoning_len && q->reasoning[q->reasoning_len - 1] == '\n'
                            ? "</think>\n\n"
                            : "\n</think>\n\n";
    for (int w = 0; w < 2; w++) {
        struct rt_model *m = &q->m[w];
        size_t n0 = m->ids.n;
        int rc = m->b->ops->tokenize(m->b, close, strlen(close), &m->ids);
        if (rc != GLIMP_OK)
            return rc;
        if (q->shared && w == (int)q->p.answer_model &&
            (rc = glimp_tokens_push(&q->gen_ids, m->ids.ids + n0, m->ids.n - n0)) != GLIMP_OK)
            return rc;
    }
    return GLIMP_OK;
}

/* Thinking is over: what followed </think> in the last step opens the
 * answer, and the think block is closed for both models when no model
 * closed it. */
static int end_thinking(struct glimp_request *q)
{
    if (q->tag_seen) {
        size_t after = q->tag_off + 8;
        int rc = buf_append(&q->answer, &q->answer_len, &q->answer_cap, q->reasoning + after,
                            q->reasoning_len - after);
        q->reasoning_len = q->tag_off;
        q->reasoning[q->reasoning_len] = '\0';
        return rc;
    }
    return q->p.think && !q->ctx_full ? close_think(q) : GLIMP_OK;
}

/* The request is over: the summary's totals and shares. */
static void finish(struct glimp_request *q, bool stopped)
{
    struct glimp_router_summary *sum = &q->res->summary;
    struct rt_clock *c = &q->clk;
    q->state = RT_DONE;
    if (stopped)
        sum->stopped = true;
    sum->ctx_full = q->ctx_full;
    uint32_t steps = sum->steps_slm + sum->steps_llm;
    sum->llm_share_steps = steps ? (double)sum->steps_llm / steps : 0.0;
    uint64_t toks = sum->tokens_slm + sum->tokens_llm;
    sum->llm_share_tokens = toks ? (double)sum->tokens_llm / (double)toks : 0.0;
    rt_charge(c, c->cur);
    double total = 0.0;
    for (int i = 0; i < RT_PART_COUNT; i++)
        total += c->part[i];
    sum->label_s = c->part[RT_PART_LABEL];
    sum->wall_s = total - sum->label_s;
    sum->ttft_s = q->t_first > 0.0 ? q->t_first - q->t_start : NAN;
    sum->slm_s = c->part[RT_PART_SLM];
    sum->llm_s = c->part[RT_PART_LLM];
    sum->sync_s = c->part[RT_PART_SYNC];
    sum->overhead_s = sum->wall_s - sum->slm_s - sum->llm_s - sum->sync_s;
    sum->draft_proposed = q->draft_proposed;
    sum->draft_accepted = q->draft_accepted;
    sum->draft_accept_rate =
        q->draft_proposed ? (double)q->draft_accepted / (double)q->draft_proposed : NAN;
}

int glimp_request_step(struct glimp_request *q, const struct glimp_step_event **ev)
{
    if (!q || !ev)
        return glimp_error(GLIMP_ERR_INVALID, "router: no request or ev given");
    *ev = NULL;
    if (!q->started) {
        q->started = true;
        rt_charge(&q->clk, RT_PART_OTHER);
        memset(q->clk.part, 0, sizeof q->clk.part);
        q->t_start = q->clk.last;
    }
    struct glimp_router_summary *sum = &q->res->summary;
    int rc = GLIMP_OK;
    while (q->state == RT_THINK) {
        if (rt_cancelled(q)) {
            sum->think_end = GLIMP_THINK_STOPPED;
            finish(q, true);
            return GLIMP_OK;
        }
        if (q->think_tokens >= q->p.max_think) {
            q->state = RT_ANSWER;
            break;
        }
        uint32_t budget = q->p.max_think - q->think_tokens;
        budget = budget < q->p.max_step ? budget : q->p.max_step;
        size_t off = q->reasoning_len;
        rc = rt_think_step(q, budget);
        if (rc == GLIMP_ERR_RANGE && q->ctx_full) {
            q->state = RT_ANSWER; /* the run ends where the context does */
            break;
        }
        if (rc == GLIMP_OK)
            rc = record_step(q);
        if (rc != GLIMP_OK)
            goto fail;
        after_think_step(q, off);
        /* the SLM reads the step at once: the next probe needs it */
        if (q->state == RT_THINK && q->slm_live && !rt_cancelled(q) &&
            (rc = rt_sync(q, GLIMP_WRITER_SLM)) != GLIMP_OK) {
            if (rc == GLIMP_ERR_RANGE && q->ctx_full) {
                rc = GLIMP_OK;
                q->state = RT_ANSWER;
            } else {
                goto fail;
            }
        }
        *ev = &q->res->steps[q->res->n_steps - 1];
        return GLIMP_OK;
    }
    if (q->state == RT_ANSWER) {
        if (rt_cancelled(q)) {
            if (q->p.think)
                sum->think_end = GLIMP_THINK_STOPPED;
            finish(q, true);
            return GLIMP_OK;
        }
        if ((rc = end_thinking(q)) != GLIMP_OK)
            goto fail;
        if (q->ctx_full) {
            finish(q, false);
            return GLIMP_OK;
        }
        if ((rc = rt_answer_step(q)) != GLIMP_OK || (rc = record_step(q)) != GLIMP_OK)
            goto fail;
        finish(q, false);
        *ev = &q->res->steps[q->res->n_steps - 1];
        return GLIMP_OK;
    }
    return GLIMP_OK;
fail:
    finish(q, false);
    return rc;
}

int glimp_request_result(struct glimp_request *q, struct glimp_router_result **out)
{
    if (!q || !out)
        return glimp_error(GLIMP_ERR_INVALID, "router: no request or out given");
    *out = NULL;
    if (q->state != RT_DONE || !q->res)
        return glimp_error(GLIMP_ERR_INVALID, "router: the request is not done");
    struct glimp_router_result *res = q->res;
    if (rt_cancelled(q))
        res->summary.stopped = true;
    int rc = GLIMP_OK;
    if (!q->reasoning)
        rc = buf_append(&q->reasoning, &q->reasoning_len, &q->reasoning_cap, "", 0);
    if (rc == GLIMP_OK && !q->answer)
        rc = buf_append(&q->answer, &q->answer_len, &q->answer_cap, "", 0);
    if (rc != GLIMP_OK)
        return rc;
    res->reasoning = q->reasoning;
    res->answer = q->answer;
    q->reasoning = q->answer = NULL;
    if (q->shared) {
        res->ids = q->gen_ids.ids;
        res->n_ids = q->gen_ids.n;
        q->gen_ids = (struct glimp_tokens){0};
    }
    q->res = NULL;
    *out = res;
    return GLIMP_OK;
}

void glimp_router_result_free(struct glimp_router_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_steps; i++)
        free((char *)r->steps[i].text);
    free(r->steps);
    free(r->reasoning);
    free(r->answer);
    free(r->ids);
    free(r);
}

int glimp_router_run(struct glimp_backend *slm, struct glimp_backend *llm, const char *prompt,
                     const struct glimp_router_params *p, struct glimp_router_result **out)
{
    if (!out)
        return glimp_error(GLIMP_ERR_INVALID, "router: out is NULL");
    *out = NULL;
    struct glimp_request *q;
    int rc = glimp_request_init(slm, llm, prompt, p, &q);
    if (rc != GLIMP_OK)
        return rc;
    while (rc == GLIMP_OK && !glimp_request_done(q)) {
        const struct glimp_step_event *ev;
        rc = glimp_request_step(q, &ev);
        if (rc == GLIMP_OK && ev && q->p.on_step && !q->p.on_step(ev, q->p.user))
            glimp_request_cancel(q);
    }
    if (rc == GLIMP_OK)
        rc = glimp_request_result(q, out);
    glimp_request_free(q);
    return rc;
}
