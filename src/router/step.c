/* step.c - one step of a request: probe the SLM's next-token distribution,
 * let the policy pick the writer, write the step (the SLM from its live
 * distribution, the LLM after reading what it has not seen), hand it to the
 * other model; SpecReason's judge and the easy/hard labels of label_steps;
 * the answer. DESIGN.md sections 1-3 describe the method and the invariants
 * held here. */
#include "router/router_internal.h"

#include "core/error.h"

#include <math.h>
#include <string.h>

/* SpecReason's judge: appended after the step, scored by the LLM's
 * distribution over the digits that follow, then rolled back. */
static const char judge_text[] =
    "\n\nEvaluate the last reasoning step solely based on factual correctness and logical "
    "validity. Ignore style, phrasing and usefulness; judge only whether the step is correct "
    "and follows from what came before. Score it from 0 (wrong) to 9 (certainly correct).\n"
    "I think the quality score is: ";

static const enum glimp_writer S = GLIMP_WRITER_SLM, L = GLIMP_WRITER_LLM;

void rt_step_begin(struct glimp_request *q, enum glimp_phase phase)
{
    bk_gen_reset(&q->step);
    q->step_start[S] = (uint32_t)q->m[S].ids.n;
    q->step_start[L] = (uint32_t)q->m[L].ids.n;
    q->step_phase = phase;
    q->step_h_init = NAN;
    q->step_emitting = false;
    q->step_emitted = 0;
    q->step_proposed = q->step_accepted = 0;
    rt_charge(&q->clk, q->clk.cur);
    memcpy(q->step_part0, q->clk.part, sizeof q->step_part0);
}

/* ------------------------------------------------------ streaming */

/* Pass tokens [step_emitted, upto) of the step to on_token. */
static void emit_upto(struct glimp_request *q, uint32_t upto)
{
    const struct glimp_backend *b = q->m[q->step_writer].b;
    for (; q->step_emitted < upto; q->step_emitted++) {
        int32_t id = q->step.ids[q->step_emitted];
        char piece[1024];
        size_t len = 0;
        if (b->ops->token_bytes(b, id, piece, sizeof piece, &len) != GLIMP_OK)
            len = 0;
        struct glimp_token_event ev = {
            .step = q->res->n_steps,
            .phase = q->step_phase,
            .writer = q->step_writer,
            .h_init = q->step_h_init,
            .id = id,
            .piece = piece,
            .len = len,
        };
        if (!q->p.on_token(&ev, q->p.user))
            atomic_store(&q->cancel, 1);
    }
}

/* From here on, the step's tokens are w's for good: pass what it holds
 * and what comes to on_token (those a marker may still take back wait
 * until it no longer can, or the step ends). */
static void emit_from_now(struct glimp_request *q, enum glimp_writer w)
{
    /* the LLM writes: a stream the SLM's probe opened (remote) is dropped */
    if (w == L)
        bk_expect(q->m[S].seq, 0, false);
    q->step_writer = w;
    q->step_emitting = q->p.on_token != NULL;
    if (q->step_emitting)
        emit_upto(q, q->step.n_final);
}

static void first_token_seen(struct glimp_request *q)
{
    if (q->t_first == 0.0)
        q->t_first = q->clk.now(q->clk.user) - q->clk.part[RT_PART_LABEL];
}

/* Every token a generate call keeps comes here first. */
static bool on_gen_token(void *user, int32_t id, const char *piece, size_t len)
{
    struct glimp_request *q = user;
    (void)id, (void)piece, (void)len;
    first_token_seen(q);
    if (q->step_emitting)
        emit_upto(q, q->step.n_final);
    return !rt_cancelled(q);
}

int rt_step_add(struct glimp_request *q, enum glimp_writer w, int32_t id,
                const struct bk_segment *seg)
{
    char piece[1024];
    size_t len;
    const struct glimp_backend *b = q->m[w].b;
    int rc = b->ops->token_bytes(b, id, piece, sizeof piece, &len);
    if (rc != GLIMP_OK)
        return rc;
    struct bk_gen_rule rule = {.seg = seg, .on_token = on_gen_token, .user = q};
    return bk_gen_keep(&q->step, &rule, id, piece, len, 0.0, 0.0);
}

/* ------------------------------------------------------- writing */

/* A marker ended the step before its last tokens: they are not the step's.
 * Every model that holds them lets them go (the writer, and the SLM that
 * drafted them); the next step writes them again, after its glimpse. */
static int step_cut(struct glimp_request *q)
{
    const uint32_t cut = q->step.cut;
    if (cut >= q->step.n)
        return GLIMP_OK;
    for (int w = 0; w < 2; w++) {
        if (q->m[w].ids.n <= q->step_start[w] + cut)
            continue;
        int rc = rt_keep(q, (enum glimp_writer)w, q->step_start[w] + cut);
        if (rc != GLIMP_OK)
            return rc;
    }
    bk_gen_cut(&q->step);
    return GLIMP_OK;
}

/* Model w writes on in q->step until the step ends (by seg; NULL: the
 * answer) or holds budget tokens: the SLM from its live distribution (for
 * the first token: the probe), the LLM after reading what it has not seen.
 * Entropies and log-probs are kept when the signal needs them. */
static int write_on(struct glimp_request *q, enum glimp_writer w, uint32_t budget,
                    const struct bk_segment *seg)
{
    if (q->step.n >= budget || q->step.eos || q->step.end || q->step.stopped)
        return GLIMP_OK;
    if (w == L && q->p.draft > 0) {
        int rc = rt_spec_write(q, budget, seg);
        return rc == GLIMP_OK ? step_cut(q) : rc;
    }
    struct rt_model *m = &q->m[w];
    int rc = rt_sync(q, w);
    if (rc != GLIMP_OK)
        return rc;
    struct bk_gen_rule rule = {
        .max_tokens = budget,
        .seg = seg,
        .want_entropy = w == S && (q->p.signal != GLIMP_SIGNAL_HINIT || q->p.glimpse > 1),
        .want_logprob = w == S && q->p.signal == GLIMP_SIGNAL_PPL,
        .entropy_topk = q->p.entropy_topk,
        .cancel = &q->cancel,
        .on_token = on_gen_token,
        .user = q,
    };
    size_t n0 = q->step.n;
    enum rt_part was = rt_charge(&q->clk, m->part);
    rc = m->b->ops->generate(m->seq, &rule, &q->step);
    rt_charge(&q->clk, was);
    if (rc == GLIMP_OK)
        rc = glimp_tokens_push(&m->ids, q->step.ids + n0, q->step.n - n0);
    m->live = rc == GLIMP_OK;
    if (q->step.ctx_full)
        q->ctx_full = true;
    return rc == GLIMP_OK ? step_cut(q) : rc;
}

/* Throw away what the SLM wrote of this step. */
static int slm_rollback(struct glimp_request *q)
{
    bk_gen_reset(&q->step);
    return rt_keep(q, S, q->step_start[S]);
}

/* Give the step to every model that does not hold it yet: the same ids
 * when the vocabulary is shared, else its text tokenized by that model. */
static int step_commit(struct glimp_request *q)
{
    for (int w = 0; w < 2; w++) {
        struct rt_model *m = &q->m[w];
        if (m->ids.n != q->step_start[w] || q->step.n == 0)
            continue;
        int rc = q->shared ? glimp_tokens_push(&m->ids, q->step.ids, q->step.n)
                           : m->b->ops->tokenize(m->b, q->step.text, q->step.text_len, &m->ids);
        if (rc != GLIMP_OK)
            return rc;
    }
    /* The LLM, when it did not write the step, may read it ahead (eager
     * sync: its server fills its cache while the SLM writes on). */
    struct rt_model *l = &q->m[L];
    if (l->b && l->seq && l->b->ops->seq_len(l->seq) < l->ids.n)
        bk_prefetch(l->seq, l->ids.ids, l->ids.n);
    return GLIMP_OK;
}

/* The entropy of the SLM's next-token distribution in the configured mode
 * (its top-k renormalised, or the whole vocabulary). */
static int probe_entropy(struct glimp_request *q, double *h)
{
    struct rt_model *s = &q->m[S];
    struct bk_dist d;
    uint32_t k = bk_has(s->b, BK_CAP_FULL_DIST) ? 0 : q->p.entropy_topk;
    int rc = s->b->ops->next(s->seq, k, &d);
    if (rc == GLIMP_OK)
        *h = bk_dist_entropy(&d, s->b->n_vocab, q->p.entropy_topk);
    return rc;
}

/* SpecReason: the LLM reads the SLM's step and the judge prompt in one
 * prefill; the score is the expected digit under its distribution over
 * "0".."9". Like the entropy, it follows the entropy mode: over the digits
 * among the LLM's top k with topk:k (k at most 20; the reference code's
 * one request of one token with its top 20, so that one threshold means
 * the same on a local and a remote LLM), over all ten with full. The judge
 * is rolled back out of its cache, the step kept. */
static int judge_step(struct glimp_request *q, double *score)
{
    struct rt_model *l = &q->m[L];
    const struct bk_ops *ops = l->b->ops;
    int rc = step_commit(q); /* the LLM now holds the step in its ids */
    if (rc != GLIMP_OK)
        return rc;
    size_t with_step = l->ids.n;
    if ((rc = ops->tokenize(l->b, judge_text, strlen(judge_text), &l->ids)) != GLIMP_OK)
        return rc;
    /* judging is the LLM's work, its reading included */
    enum rt_part was = rt_charge(&q->clk, RT_PART_LLM);
    q->clk.sealed++;
    rc = rt_sync(q, L);
    struct bk_dist d;
    bk_expect(l->seq, 1, false); /* remote: one request, one token, its top 20 */
    if (rc == GLIMP_OK)
        rc = ops->next(l->seq, BK_TOPK_MAX, &d);
    q->clk.sealed--;
    rt_charge(&q->clk, was);
    if (rc != GLIMP_OK)
        return rc;
    const bool exact = q->p.entropy_topk == 0 && d.logits;
    const uint32_t k = d.k < q->p.entropy_topk ? d.k : q->p.entropy_topk;
    float lg[10];
    for (int i = 0; i < 10; i++) {
        char s[2] = {(char)('0' + i), '\0'};
        int32_t id = ops->find_token(l->b, s);
        if (id < 0)
            return glimp_error(GLIMP_ERR_UNSUPPORTED,
                               "router: specreason needs a token for the digit %d", i);
        lg[i] = -INFINITY;
        if (exact)
            lg[i] = d.logits[id];
        for (uint32_t j = 0; !exact && j < k; j++)
            if (d.id[j] == id)
                lg[i] = (float)d.logprob[j];
    }
    double lse = glimp_log_sum_exp(lg, 10), e = 0.0;
    for (int i = 0; i < 10; i++)
        e += i * exp((double)lg[i] - lse);
    *score = isfinite(lse) ? e : 0.0; /* no digit at all: the lowest score */
    return rt_keep(q, L, with_step);
}

/* label_steps: the model that did not write the step writes it too from
 * the same prefix; the step is easy when both texts are the same. All of
 * it is rolled back and charged to the label, outside every time. */
static int label_step(struct glimp_request *q, enum glimp_writer w, uint32_t budget, int *easy)
{
    const enum glimp_writer o = w == S ? L : S;
    struct rt_model *m = &q->m[o];
    enum rt_part was = rt_charge(&q->clk, RT_PART_LABEL);
    q->clk.sealed++;
    const uint32_t held = m->b->ops->seq_len(m->seq);
    int rc = rt_keep(q, o, q->step_start[o]);
    if (rc == GLIMP_OK)
        rc = rt_sync(q, o);
    struct bk_gen_out *lb = &q->label;
    bk_gen_reset(lb);
    struct bk_gen_rule rule = {
        .max_tokens = budget,
        .seg = &q->seg,
        .entropy_topk = q->p.entropy_topk,
        .cancel = &q->cancel,
    };
    if (rc == GLIMP_OK)
        rc = m->b->ops->generate(m->seq, &rule, lb);
    bk_gen_cut(lb); /* where a marker ends its version of the step */
    if (rc == GLIMP_OK)
        *easy = lb->text_len == q->step.text_len &&
                (lb->text_len == 0 || !memcmp(lb->text, q->step.text, lb->text_len));
    /* back to the step as written */
    m->live = false;
    if (rc == GLIMP_OK)
        rc = rt_keep(q, o, q->step_start[o]);
    if (rc == GLIMP_OK)
        rc = q->shared ? glimp_tokens_push(&m->ids, q->step.ids, q->step.n)
                       : m->b->ops->tokenize(m->b, q->step.text, q->step.text_len, &m->ids);
    if (rc == GLIMP_OK && held > q->step_start[o])
        rc = rt_sync(q, o); /* it held the step before: so it does again */
    q->clk.sealed--;
    rt_charge(&q->clk, was);
    return rc;
}

void rt_step_event(struct glimp_request *q, enum glimp_writer w, double h, double signal,
                   double tau, bool rewritten, int easy)
{
    rt_charge(&q->clk, q->clk.cur);
    const double *p0 = q->step_part0, *p1 = q->clk.part;
    q->ev = (struct glimp_step_event){
        .phase = q->step_phase,
        .writer = w,
        .h_init = h,
        .signal = signal,
        .tau = tau,
        .rewritten = rewritten,
        .n_tokens = q->step.n,
        .text = q->step.text ? q->step.text : "",
        .text_len = q->step.text_len,
        .probe_s = p1[RT_PART_PROBE] - p0[RT_PART_PROBE],
        .sync_s = p1[RT_PART_SYNC] - p0[RT_PART_SYNC],
        .write_s = p1[RT_PART_SLM] - p0[RT_PART_SLM] + p1[RT_PART_LLM] - p0[RT_PART_LLM],
        .draft_proposed = q->step_proposed,
        .draft_accepted = q->step_accepted,
        .easy = easy,
    };
}

/* The signal of a step that the SLM began (a glimpse of k tokens or the
 * whole step): the largest entropy of the glimpse, the mean entropy, or
 * the perplexity. */
static double written_signal(const struct glimp_request *q)
{
    const struct bk_gen_out *st = &q->step;
    if (q->p.signal == GLIMP_SIGNAL_HINIT) {
        double mx = -INFINITY;
        for (uint32_t i = 0; i < st->n; i++)
            mx = st->entropy[i] > mx ? st->entropy[i] : mx;
        return mx;
    }
    double sum = 0.0;
    for (uint32_t i = 0; i < st->n; i++)
        sum += q->p.signal == GLIMP_SIGNAL_HSTEP ? st->entropy[i] : -st->logprob[i];
    double mean = sum / st->n;
    return q->p.signal == GLIMP_SIGNAL_PPL ? exp(mean) : mean;
}

int rt_think_step(struct glimp_request *q, uint32_t budget)
{
    const struct glimp_router_params *p = &q->p;
    rt_step_begin(q, GLIMP_PHASE_THINK);
    int rc;
    double h = NAN, tau = NAN, signal = NAN;
    if (q->slm_live) {
        if ((rc = rt_sync(q, S)) != GLIMP_OK)
            return rc;
        /* a remote SLM streams the step it may write from the probe on */
        bk_expect(q->m[S].seq, budget, true);
        enum rt_part was = rt_charge(&q->clk, RT_PART_PROBE);
        rc = probe_entropy(q, &h);
        rt_charge(&q->clk, was);
        if (rc != GLIMP_OK)
            return rc;
    }
    q->step_h_init = h;
    enum glimp_writer w;
    bool rewritten = false;
    if (!rt_policy_uses_signal(q->pol)) {
        w = rt_policy_decide(q->pol, h, &tau);
        emit_from_now(q, w);
        rc = write_on(q, w, budget, &q->seg);
    } else if (p->policy == GLIMP_POLICY_SPECREASON) {
        if ((rc = write_on(q, S, budget, &q->seg)) != GLIMP_OK)
            return rc;
        if (q->step.n == 0) { /* the SLM ended its turn: nothing to judge */
            w = S;
        } else {
            if ((rc = judge_step(q, &signal)) != GLIMP_OK)
                return rc;
            w = rt_policy_decide(q->pol, signal, &tau);
        }
        if (w == L) {
            if ((rc = slm_rollback(q)) != GLIMP_OK || (rc = rt_keep(q, L, q->step_start[L])) != GLIMP_OK)
                return rc;
            rewritten = true;
        }
        emit_from_now(q, w);
        if (w == L)
            rc = write_on(q, L, budget, &q->seg);
    } else if (p->signal == GLIMP_SIGNAL_HINIT && p->glimpse <= 1) {
        signal = h;
        w = rt_policy_decide(q->pol, signal, &tau);
        emit_from_now(q, w);
        rc = write_on(q, w, budget, &q->seg);
    } else {
        /* the SLM writes a glimpse (or the whole step), then the signal */
        bool whole = p->signal != GLIMP_SIGNAL_HINIT;
        uint32_t k = whole || p->glimpse > budget ? budget : p->glimpse;
        if ((rc = write_on(q, S, k, &q->seg)) != GLIMP_OK)
            return rc;
        signal = q->step.n == 0 ? h : written_signal(q);
        w = rt_policy_decide(q->pol, signal, &tau);
        if (w == L && q->step.n > 0) {
            if ((rc = slm_rollback(q)) != GLIMP_OK)
                return rc;
            rewritten = true;
        }
        emit_from_now(q, w);
        rc = write_on(q, w, budget, &q->seg);
    }
    if (rc != GLIMP_OK)
        return rc;
    if (q->step_emitting) /* what a marker held back is the step's now */
        emit_upto(q, q->step.n);
    if ((rc = step_commit(q)) != GLIMP_OK)
        return rc;
    int easy = -1;
    if (p->label_steps && q->step.n > 0 && (rc = label_step(q, w, budget, &easy)) != GLIMP_OK)
        return rc;
    rt_step_event(q, w, h, signal, tau, rewritten, easy);
    return GLIMP_OK;
}

int rt_answer_step(struct glimp_request *q)
{
    enum glimp_writer w = q->p.answer_model;
    rt_step_begin(q, GLIMP_PHASE_ANSWER);
    emit_from_now(q, w);
    int rc = write_on(q, w, q->p.max_answer, NULL);
    if (rc == GLIMP_ERR_RANGE && q->ctx_full)
        rc = GLIMP_OK; /* the answer ends where the context does */
    if (rc == GLIMP_OK)
        rc = step_commit(q);
    if (rc == GLIMP_OK)
        rt_step_event(q, w, NAN, NAN, NAN, false, -1);
    return rc;
}
