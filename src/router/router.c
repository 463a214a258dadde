/* router.c - GlimpRouter's step loop: probe the SLM's next-token
 * distribution at each step boundary, let the policy pick the writer, write
 * the step, let the other model ingest it, and end thinking at </think>, a
 * repeated step or the budget; then the answer model writes the answer.
 * DESIGN.md sections 1-3 describe the method and the invariants held here. */
#include "router/router_internal.h"

#include "core/buf.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* SpecReason's judge: appended after the step, scored by the LLM's
 * distribution over the digits that follow, then rolled back. */
static const char judge_text[] =
    "\n\nEvaluate the last reasoning step solely based on factual correctness and logical "
    "validity. Ignore style, phrasing and usefulness; judge only whether the step is correct "
    "and follows from what came before. Score it from 0 (wrong) to 9 (certainly correct).\n"
    "I think the quality score is: ";

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

double rt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int rt_push_ids(struct glimp_tokens *t, const int32_t *ids, size_t n)
{
    if (n == 0)
        return GLIMP_OK;
    if (t->n + n > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + n)
            cap *= 2;
        int32_t *p = realloc(t->ids, cap * sizeof *p);
        if (!p)
            return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for %zu tokens", cap);
        t->ids = p;
        t->cap = cap;
    }
    memcpy(t->ids + t->n, ids, n * sizeof *ids);
    t->n += n;
    return GLIMP_OK;
}

/* ------------------------------------------------------- model state */

/* Read model w's ids up to upto (ids.n, or ids.n - 1 to leave the last one
 * unread), with the logits of the last one read when logits; a sequence
 * rolled back to exactly its ids gives up its last token to read it again. */
static int read_ids(struct router *r, enum glimp_writer w, size_t upto, bool logits)
{
    struct rt_model *m = &r->m[w];
    const struct bk_ops *ops = m->b->ops;
    if (m->ids.n > ops->seq_n_ctx(m->seq)) {
        r->ctx_full = true;
        return glimp_error(GLIMP_ERR_RANGE, "router: %s: %zu tokens pass its context of %u",
                           glimp_writer_name(w), m->ids.n, ops->seq_n_ctx(m->seq));
    }
    uint32_t have = ops->seq_len(m->seq);
    if (have == 0 && m->ids.n == 0)
        return glimp_error(GLIMP_ERR_INVALID, "router: %s has nothing to read",
                           glimp_writer_name(w));
    double t0 = rt_now();
    int rc = GLIMP_OK;
    if (have == m->ids.n) { /* rolled back: read the last token again */
        rc = ops->truncate(m->seq, --have);
        m->logits = NULL;
    }
    if (rc == GLIMP_OK && have < upto)
        rc = ops->append(m->seq, m->ids.ids + have, upto - have, false, logits ? &m->logits : NULL);
    if (rc != GLIMP_OK || !logits)
        m->logits = NULL;
    double dt = rt_now() - t0;
    r->sync_s += dt;
    r->step_sync_s += dt;
    return rc;
}

int rt_sync(struct router *r, enum glimp_writer w)
{
    struct rt_model *m = &r->m[w];
    if (m->logits && m->b->ops->seq_len(m->seq) == m->ids.n)
        return GLIMP_OK;
    return read_ids(r, w, m->ids.n, true);
}

int rt_sync_but_last(struct router *r, enum glimp_writer w, uint32_t *unread)
{
    struct rt_model *m = &r->m[w];
    *unread = 0;
    if (m->logits && m->b->ops->seq_len(m->seq) == m->ids.n)
        return GLIMP_OK;
    *unread = 1;
    return read_ids(r, w, m->ids.n - 1, false);
}

int rt_retain(struct router *r, enum glimp_writer w, size_t len)
{
    struct rt_model *m = &r->m[w];
    if (len > m->ids.n)
        return glimp_error(GLIMP_ERR_INVALID, "router: retain %zu of %zu tokens", len, m->ids.n);
    if (m->b->ops->seq_len(m->seq) > len) {
        int rc = m->b->ops->truncate(m->seq, (uint32_t)len);
        if (rc != GLIMP_OK)
            return rc;
        m->logits = NULL;
    }
    m->ids.n = len;
    return GLIMP_OK;
}

/* ---------------------------------------------------------- the step */

static void step_reset(struct router *r)
{
    bk_gen_reset(&r->step);
    r->step_start[0] = (uint32_t)r->m[0].ids.n;
    r->step_start[1] = (uint32_t)r->m[1].ids.n;
    r->step_sync_s = 0.0;
    r->step_proposed = r->step_accepted = 0;
}

int rt_step_add(struct router *r, enum glimp_writer w, int32_t id, bool stop_blank)
{
    char piece[1024];
    size_t len;
    const struct glimp_backend *b = r->m[w].b;
    int rc = b->ops->token_bytes(b, id, piece, sizeof piece, &len);
    if (rc != GLIMP_OK)
        return rc;
    size_t before = r->step.text_len;
    if ((rc = bk_text_append(&r->step, piece, len)) != GLIMP_OK)
        return rc;
    r->step.ids[r->step.n++] = id;
    if (r->t_first == 0.0)
        r->t_first = rt_now() - r->label_s;
    if (stop_blank && bk_has_blank_line(r->step.text, r->step.text_len, before))
        r->step.blank = true;
    return GLIMP_OK;
}

/* Model w writes on in r->step until the step ends or holds budget tokens:
 * the SLM from its live distribution (for the first token: the probe), the
 * LLM after ingesting what it has not seen. Entropies and log-probs are
 * kept when the signal needs them. */
static int write_on(struct router *r, enum glimp_writer w, uint32_t budget, bool stop_blank)
{
    if (r->step.n >= budget || r->step.eos || r->step.blank)
        return GLIMP_OK;
    if (w == GLIMP_WRITER_LLM && r->p->draft > 0)
        return rt_spec_write(r, budget, stop_blank);
    struct rt_model *m = &r->m[w];
    int rc = rt_sync(r, w);
    if (rc != GLIMP_OK)
        return rc;
    struct bk_gen_rule rule = {
        .max_tokens = budget,
        .stop_blank_line = stop_blank,
        .want_entropy =
            w == GLIMP_WRITER_SLM && (r->p->signal != GLIMP_SIGNAL_HINIT || r->p->glimpse > 1),
        .want_logprob = w == GLIMP_WRITER_SLM && r->p->signal == GLIMP_SIGNAL_PPL,
        .entropy_topk = r->p->entropy_topk,
        .cancel = r->p->cancel,
    };
    size_t n0 = r->step.n;
    double t0 = rt_now();
    rc = m->b->ops->generate(m->seq, &m->logits, &rule, &r->step);
    m->write_s += rt_now() - t0;
    if (r->t_first == 0.0 && r->step.t_first > 0.0)
        r->t_first = r->step.t_first - r->label_s;
    if (rc == GLIMP_OK)
        rc = rt_push_ids(&m->ids, r->step.ids + n0, r->step.n - n0);
    if (r->step.ctx_full)
        r->ctx_full = true;
    return rc;
}

/* Throw away what the SLM wrote of this step. */
static int slm_rollback(struct router *r)
{
    bk_gen_reset(&r->step);
    return rt_retain(r, GLIMP_WRITER_SLM, r->step_start[GLIMP_WRITER_SLM]);
}

/* Give the step to every model that does not hold it yet: the same ids
 * when the vocabulary is shared, else its text tokenized by that model. */
static int step_commit(struct router *r)
{
    for (int w = 0; w < 2; w++) {
        struct rt_model *m = &r->m[w];
        if (m->ids.n != r->step_start[w] || r->step.n == 0)
            continue;
        int rc;
        if (r->shared) {
            rc = rt_push_ids(&m->ids, r->step.ids, r->step.n);
        } else {
            rc = m->b->ops->tokenize(m->b, r->step.text, r->step.text_len, &m->ids);
        }
        if (rc != GLIMP_OK)
            return rc;
    }
    return GLIMP_OK;
}

/* Entropy of the SLM's live distribution in the configured mode. */
static double probe_entropy(struct router *r)
{
    const struct rt_model *s = &r->m[GLIMP_WRITER_SLM];
    uint32_t nv = s->b->n_vocab;
    return r->p->entropy_topk ? glimp_entropy_topk(s->logits, nv, r->p->entropy_topk)
                              : glimp_entropy_full(s->logits, nv);
}

/* SpecReason: the LLM reads the SLM's step and the judge prompt in one
 * prefill; the score is the expected digit under its distribution over
 * "0".."9". The judge is rolled back out of its cache, the step kept. */
static int judge_step(struct router *r, double *score)
{
    struct rt_model *l = &r->m[GLIMP_WRITER_LLM];
    const struct bk_ops *ops = l->b->ops;
    int rc = step_commit(r); /* the LLM now holds the step in its ids */
    if (rc != GLIMP_OK)
        return rc;
    size_t with_step = l->ids.n;
    if ((rc = ops->tokenize(l->b, judge_text, strlen(judge_text), &l->ids)) != GLIMP_OK)
        return rc;
    double t0 = rt_now(), sync0 = r->sync_s;
    rc = rt_sync(r, GLIMP_WRITER_LLM);
    double dt = rt_now() - t0;
    /* judging is LLM work, not ingestion */
    r->sync_s = sync0;
    r->step_sync_s -= dt;
    l->write_s += dt;
    if (rc != GLIMP_OK)
        return rc;
    double mx = -INFINITY, z = 0.0, e = 0.0;
    int32_t digit[10];
    for (int d = 0; d < 10; d++) {
        char s[2] = {(char)('0' + d), '\0'};
        digit[d] = ops->find_token(l->b, s);
        if (digit[d] < 0)
            return glimp_error(GLIMP_ERR_UNSUPPORTED,
                               "router: specreason needs a token for the digit %d", d);
        if (l->logits[digit[d]] > mx)
            mx = l->logits[digit[d]];
    }
    for (int d = 0; d < 10; d++) {
        double w = exp((double)l->logits[digit[d]] - mx);
        z += w;
        e += d * w;
    }
    *score = e / z;
    return rt_retain(r, GLIMP_WRITER_LLM, with_step);
}

/* label_steps: the model that did not write the step writes it too from
 * the same prefix; the step is easy when both texts are the same. All of
 * it is rolled back and left out of the times. */
static int label_step(struct router *r, enum glimp_writer w, uint32_t budget, int *easy)
{
    const enum glimp_writer o = w == GLIMP_WRITER_SLM ? GLIMP_WRITER_LLM : GLIMP_WRITER_SLM;
    struct rt_model *m = &r->m[o];
    const double t0 = rt_now(), write0 = m->write_s, sync0 = r->sync_s, ssync0 = r->step_sync_s;
    const uint32_t held = m->b->ops->seq_len(m->seq);
    int rc = rt_retain(r, o, r->step_start[o]);
    if (rc == GLIMP_OK)
        rc = rt_sync(r, o);
    struct bk_gen_out *lb = &r->label;
    bk_gen_reset(lb);
    struct bk_gen_rule rule = {
        .max_tokens = budget,
        .stop_blank_line = true,
        .entropy_topk = r->p->entropy_topk,
        .cancel = r->p->cancel,
    };
    if (rc == GLIMP_OK)
        rc = m->b->ops->generate(m->seq, &m->logits, &rule, lb);
    if (rc == GLIMP_OK)
        *easy = lb->text_len == r->step.text_len &&
                (lb->text_len == 0 || !memcmp(lb->text, r->step.text, lb->text_len));
    /* back to the step as written */
    if (rc == GLIMP_OK)
        rc = rt_retain(r, o, r->step_start[o]);
    if (rc == GLIMP_OK)
        rc = r->shared ? rt_push_ids(&m->ids, r->step.ids, r->step.n)
                       : m->b->ops->tokenize(m->b, r->step.text, r->step.text_len, &m->ids);
    if (rc == GLIMP_OK && held > r->step_start[o])
        rc = rt_sync(r, o); /* it held the step before: so it does again */
    m->write_s = write0;
    r->sync_s = sync0;
    r->step_sync_s = ssync0;
    r->label_s += rt_now() - t0;
    return rc;
}

/* One thinking step: probe, decide, write; fills the event. */
static int think_step(struct router *r, uint32_t budget, struct glimp_step_event *ev)
{
    const struct glimp_router_params *p = r->p;
    const enum glimp_writer S = GLIMP_WRITER_SLM, L = GLIMP_WRITER_LLM;
    step_reset(r);
    int rc;
    double h = NAN, tau = NAN, signal = NAN, t_probe = 0.0;
    if (r->slm_live) {
        if ((rc = rt_sync(r, S)) != GLIMP_OK)
            return rc;
        double t0 = rt_now();
        h = probe_entropy(r);
        t_probe = rt_now() - t0;
    }
    double w0 = r->m[S].write_s + r->m[L].write_s;
    enum glimp_writer w;
    bool rewritten = false;
    if (!rt_policy_uses_signal(r->pol)) {
        w = rt_policy_decide(r->pol, h, &tau);
        rc = write_on(r, w, budget, true);
    } else if (p->policy == GLIMP_POLICY_SPECREASON) {
        if ((rc = write_on(r, S, budget, true)) != GLIMP_OK)
            return rc;
        if (r->step.n == 0) { /* the SLM ended its turn: nothing to judge */
            w = S;
        } else {
            if ((rc = judge_step(r, &signal)) != GLIMP_OK)
                return rc;
            w = rt_policy_decide(r->pol, signal, &tau);
        }
        if (w == L) {
            if ((rc = slm_rollback(r)) != GLIMP_OK ||
                (rc = rt_retain(r, L, r->step_start[L])) != GLIMP_OK)
                return rc;
            rewritten = true;
            rc = write_on(r, L, budget, true);
        }
    } else if (p->signal == GLIMP_SIGNAL_HINIT && p->glimpse <= 1) {
        signal = h;
        w = rt_policy_decide(r->pol, signal, &tau);
        rc = write_on(r, w, budget, true);
    } else {
        /* the SLM writes a glimpse (or the whole step), then the signal */
        bool whole = p->signal != GLIMP_SIGNAL_HINIT;
        uint32_t k = whole || p->glimpse > budget ? budget : p->glimpse;
        if ((rc = write_on(r, S, k, true)) != GLIMP_OK)
            return rc;
        if (r->step.n == 0) {
            signal = h;
        } else if (p->signal == GLIMP_SIGNAL_HINIT) {
            signal = -INFINITY;
            for (uint32_t i = 0; i < r->step.n; i++)
                signal = r->step.entropy[i] > signal ? r->step.entropy[i] : signal;
        } else {
            double sum = 0.0;
            for (uint32_t i = 0; i < r->step.n; i++)
                sum += p->signal == GLIMP_SIGNAL_HSTEP ? r->step.entropy[i] : -r->step.logprob[i];
            signal = sum / r->step.n;
            if (p->signal == GLIMP_SIGNAL_PPL)
                signal = exp(signal);
        }
        w = rt_policy_decide(r->pol, signal, &tau);
        if (w == S) {
            rc = write_on(r, S, budget, true);
        } else {
            if (r->step.n > 0) {
                if ((rc = slm_rollback(r)) != GLIMP_OK)
                    return rc;
                rewritten = true;
            }
            rc = write_on(r, L, budget, true);
        }
    }
    if (rc != GLIMP_OK)
        return rc;
    if ((rc = step_commit(r)) != GLIMP_OK)
        return rc;
    int easy = -1;
    if (p->label_steps && r->step.n > 0 && (rc = label_step(r, w, budget, &easy)) != GLIMP_OK)
        return rc;
    *ev = (struct glimp_step_event){
        .easy = easy,
        .phase = GLIMP_PHASE_THINK,
        .writer = w,
        .h_init = h,
        .signal = signal,
        .tau = tau,
        .rewritten = rewritten,
        .n_tokens = r->step.n,
        .text = r->step.text ? r->step.text : "",
        .text_len = r->step.text_len,
        .probe_s = t_probe,
        .sync_s = r->step_sync_s,
        .write_s = r->m[S].write_s + r->m[L].write_s - w0,
        .draft_proposed = r->step_proposed,
        .draft_accepted = r->step_accepted,
    };
    return GLIMP_OK;
}

/* --------------------------------------------------------- the result */

struct rt_text {
    char *s;
    size_t n, cap;
};

static int text_add(struct rt_text *t, const char *s, size_t n)
{
    return buf_append(&t->s, &t->n, &t->cap, s, n);
}

static int result_add_step(struct glimp_router_result *res, size_t *cap,
                           const struct glimp_step_event *ev, uint32_t index)
{
    if (res->n_steps == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        struct glimp_step_event *s = realloc(res->steps, c * sizeof *s);
        if (!s)
            return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for %zu steps", c);
        res->steps = s;
        *cap = c;
    }
    char *text = malloc(ev->text_len + 1);
    if (!text)
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory");
    memcpy(text, ev->text, ev->text_len);
    text[ev->text_len] = '\0';
    struct glimp_step_event *e = &res->steps[res->n_steps++];
    *e = *ev;
    e->index = index;
    e->text = text;
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

/* ------------------------------------------------------------ the run */

int glimp_router_check_vocab(const struct glimp_backend *slm, const struct glimp_backend *llm,
                             bool *shared)
{
    if (!slm || !llm || !shared)
        return glimp_error(GLIMP_ERR_INVALID, "router: a backend or shared is NULL");
    *shared =
        slm->n_vocab == llm->n_vocab && slm->ops->vocab_hash(slm) == llm->ops->vocab_hash(llm);
    return GLIMP_OK;
}

static int check_params(const struct glimp_router_params *p, bool shared)
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
    if (p->draft > 64)
        return glimp_error(GLIMP_ERR_INVALID, "router: draft %u is too many (at most 64)",
                           p->draft);
    if (p->draft > 0 && !shared)
        return glimp_error(GLIMP_ERR_INVALID,
                           "router: speculative decoding (draft %u) needs both models to share "
                           "one vocabulary, and these two differ",
                           p->draft);
    if (p->answer_model != GLIMP_WRITER_SLM && p->answer_model != GLIMP_WRITER_LLM)
        return glimp_error(GLIMP_ERR_INVALID, "router: unknown answer model %d",
                           (int)p->answer_model);
    return GLIMP_OK;
}

static void router_free(struct router *r)
{
    for (int w = 0; w < 2; w++) {
        if (r->m[w].seq)
            r->m[w].b->ops->seq_free(r->m[w].seq);
        glimp_tokens_free(&r->m[w].ids);
    }
    if (!r->pol_borrowed)
        rt_policy_free(r->pol);
    free(r->step.ids);
    free(r->step.entropy);
    free(r->step.logprob);
    free(r->step.text);
    free(r->label.ids);
    free(r->label.text);
    free(r->spec_p);
    free(r->spec_q);
    free(r->spec_r);
}

static int router_init(struct router *r, struct glimp_backend *slm, struct glimp_backend *llm,
                       const char *prompt, const struct glimp_router_params *p)
{
    r->p = p;
    r->m[GLIMP_WRITER_SLM].b = slm;
    r->m[GLIMP_WRITER_LLM].b = llm;
    int rc = glimp_router_check_vocab(slm, llm, &r->shared);
    if (rc == GLIMP_OK)
        rc = check_params(p, r->shared);
    if (rc == GLIMP_OK && p->policy_state) {
        r->pol = rt_policy_of_state(p->policy_state);
        r->pol_borrowed = true;
        rt_policy_new_problem(r->pol);
    } else if (rc == GLIMP_OK) {
        rc = rt_policy_init(p, &r->pol);
    }
    if (rc != GLIMP_OK)
        return rc;
    /* The LLM policy needs no probe; drafting syncs the SLM itself, as far
     * as its context allows (spec.c), so that drafts change nothing. */
    r->slm_live = p->policy != GLIMP_POLICY_LLM;
    r->step_cap = p->max_step > p->max_answer ? p->max_step : p->max_answer;
    r->step.ids = malloc(r->step_cap * sizeof *r->step.ids);
    r->step.entropy = malloc(r->step_cap * sizeof *r->step.entropy);
    r->step.logprob = malloc(r->step_cap * sizeof *r->step.logprob);
    if (!r->step.ids || !r->step.entropy || !r->step.logprob)
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for a step of %u tokens",
                           r->step_cap);
    if (p->label_steps && !(r->label.ids = malloc(p->max_step * sizeof *r->label.ids)))
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for step labels");
    if (p->draft > 0) {
        size_t nv = llm->n_vocab;
        r->spec_p = malloc((p->draft + 1) * nv * sizeof(float));
        r->spec_q = malloc(p->draft * nv * sizeof(float));
        r->spec_r = malloc(nv * sizeof(float));
        if (!r->spec_p || !r->spec_q || !r->spec_r)
            return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory for draft scratch");
    }
    for (int w = 0; w < 2; w++) {
        struct rt_model *m = &r->m[w];
        struct glimp_sampler_params sp = p->sampling;
        sp.seed = p->seed * 2 + (uint64_t)w; /* one stream per model */
        if ((rc = m->b->ops->seq_init(m->b, p->n_ctx, &sp, &m->seq)) != GLIMP_OK)
            return rc;
        if ((rc = m->b->ops->prompt_tokens(m->b, prompt, p->chat, p->think, &m->ids)) != GLIMP_OK)
            return rc;
        uint32_t n_ctx = m->b->ops->seq_n_ctx(m->seq);
        if (m->ids.n > n_ctx)
            return glimp_error(GLIMP_ERR_RANGE,
                               "router: the prompt is %zu tokens, longer than the %s's context "
                               "of %u tokens",
                               m->ids.n, glimp_writer_name((enum glimp_writer)w), n_ctx);
    }
    return GLIMP_OK;
}

static bool cancelled(const struct router *r)
{
    return r->p->cancel && *r->p->cancel;
}

/* glimp closes the think block itself when the model did not. */
static int close_think(struct router *r, const struct rt_text *reasoning,
                       struct glimp_tokens *gen_ids)
{
    const char *close =
        reasoning->n && reasoning->s[reasoning->n - 1] == '\n' ? "</think>\n\n" : "\n</think>\n\n";
    for (int w = 0; w < 2; w++) {
        struct rt_model *m = &r->m[w];
        size_t n0 = m->ids.n;
        int rc = m->b->ops->tokenize(m->b, close, strlen(close), &m->ids);
        if (rc != GLIMP_OK)
            return rc;
        if (r->shared && w == (int)r->p->answer_model &&
            (rc = rt_push_ids(gen_ids, m->ids.ids + n0, m->ids.n - n0)) != GLIMP_OK)
            return rc;
    }
    return GLIMP_OK;
}

static int run(struct router *r, struct glimp_router_result *res)
{
    const struct glimp_router_params *p = r->p;
    struct glimp_router_summary *sum = &res->summary;
    struct rt_text reasoning = {0}, answer = {0};
    struct glimp_tokens gen_ids = {0};
    size_t steps_cap = 0, prev_off = 0, prev_len = 0;
    uint32_t index = 0, think_tokens = 0;
    bool stop = false;
    int rc = GLIMP_OK;
    double t_start = rt_now();

    sum->think_end = p->think ? GLIMP_THINK_BUDGET : GLIMP_THINK_NONE;
    while (p->think && rc == GLIMP_OK) {
        if (cancelled(r)) {
            stop = true;
            break;
        }
        if (think_tokens >= p->max_think)
            break;
        uint32_t budget = p->max_think - think_tokens;
        budget = budget < p->max_step ? budget : p->max_step;
        struct glimp_step_event ev;
        if ((rc = think_step(r, budget, &ev)) != GLIMP_OK)
            break;
        ev.index = index++;
        think_tokens += ev.n_tokens;
        if (ev.writer == GLIMP_WRITER_SLM) {
            sum->steps_slm++;
            sum->tokens_slm += ev.n_tokens;
        } else {
            sum->steps_llm++;
            sum->tokens_llm += ev.n_tokens;
        }
        sum->rewrites += ev.rewritten;
        size_t off = reasoning.n;
        if ((rc = text_add(&reasoning, ev.text, ev.text_len)) != GLIMP_OK ||
            (rc = result_add_step(res, &steps_cap, &ev, ev.index)) != GLIMP_OK)
            break;
        if (r->shared && (rc = rt_push_ids(&gen_ids, r->step.ids, r->step.n)) != GLIMP_OK)
            break;
        if (p->on_step && !p->on_step(&ev, p->user))
            stop = true;
        if (r->step.cancelled)
            stop = true;
        if (stop)
            break;
        if (strstr(ev.text, "</think>")) {
            sum->think_end = GLIMP_THINK_TAG;
            break;
        }
        if (r->step.eos || ev.n_tokens == 0) {
            sum->think_end = GLIMP_THINK_EOS;
            break;
        }
        if (r->ctx_full)
            break;
        if (index > 1 && ev.text_len == prev_len &&
            !memcmp(reasoning.s + prev_off, ev.text, ev.text_len)) {
            sum->think_end = GLIMP_THINK_REPEAT;
            break;
        }
        prev_off = off;
        prev_len = ev.text_len;
        /* the SLM reads the step at once: the next probe needs it */
        if (r->slm_live && (rc = rt_sync(r, GLIMP_WRITER_SLM)) != GLIMP_OK)
            break;
    }
    if (rc == GLIMP_ERR_RANGE && r->ctx_full)
        rc = GLIMP_OK; /* the run ends where the context does */
    if (stop)
        sum->think_end = GLIMP_THINK_STOPPED;

    /* the answer: what followed </think> in the last step, then the answer
     * model's own text */
    char *tag = reasoning.s ? strstr(reasoning.s, "</think>") : NULL;
    if (rc == GLIMP_OK && tag) {
        const char *after = tag + strlen("</think>");
        rc = text_add(&answer, after, reasoning.n - (size_t)(after - reasoning.s));
        reasoning.n = (size_t)(tag - reasoning.s);
        reasoning.s[reasoning.n] = '\0';
    }
    if (rc == GLIMP_OK && p->think && !tag && !stop && !r->ctx_full)
        rc = close_think(r, &reasoning, &gen_ids);
    if (rc == GLIMP_OK && !stop && !r->ctx_full) {
        enum glimp_writer w = p->answer_model;
        step_reset(r);
        double w0 = r->m[0].write_s + r->m[1].write_s;
        rc = write_on(r, w, p->max_answer, false);
        if (rc == GLIMP_ERR_RANGE && r->ctx_full)
            rc = GLIMP_OK;
        if (rc == GLIMP_OK)
            rc = step_commit(r);
        if (rc == GLIMP_OK) {
            struct glimp_step_event ev = {
                .index = index++,
                .phase = GLIMP_PHASE_ANSWER,
                .writer = w,
                .h_init = NAN,
                .signal = NAN,
                .tau = NAN,
                .n_tokens = r->step.n,
                .text = r->step.text ? r->step.text : "",
                .text_len = r->step.text_len,
                .sync_s = r->step_sync_s,
                .write_s = r->m[0].write_s + r->m[1].write_s - w0,
                .draft_proposed = r->step_proposed,
                .draft_accepted = r->step_accepted,
                .easy = -1,
            };
            if (w == GLIMP_WRITER_SLM)
                sum->tokens_slm += ev.n_tokens;
            else
                sum->tokens_llm += ev.n_tokens;
            rc = text_add(&answer, ev.text, ev.text_len);
            if (rc == GLIMP_OK)
                rc = result_add_step(res, &steps_cap, &ev, ev.index);
            if (rc == GLIMP_OK && r->shared)
                rc = rt_push_ids(&gen_ids, r->step.ids, r->step.n);
            if (rc == GLIMP_OK && p->on_step && !p->on_step(&ev, p->user))
                stop = true;
            if (r->step.cancelled)
                stop = true;
        }
    }

    sum->stopped = stop;
    sum->ctx_full = r->ctx_full;
    uint32_t steps = sum->steps_slm + sum->steps_llm;
    sum->llm_share_steps = steps ? (double)sum->steps_llm / steps : 0.0;
    uint64_t toks = sum->tokens_slm + sum->tokens_llm;
    sum->llm_share_tokens = toks ? (double)sum->tokens_llm / (double)toks : 0.0;
    sum->label_s = r->label_s;
    sum->wall_s = rt_now() - t_start - r->label_s;
    sum->ttft_s = r->t_first > 0.0 ? r->t_first - t_start : NAN;
    sum->slm_s = r->m[GLIMP_WRITER_SLM].write_s;
    sum->llm_s = r->m[GLIMP_WRITER_LLM].write_s;
    sum->sync_s = r->sync_s;
    sum->overhead_s = sum->wall_s - sum->slm_s - sum->llm_s - sum->sync_s;
    sum->draft_proposed = r->draft_proposed;
    sum->draft_accepted = r->draft_accepted;
    sum->draft_accept_rate =
        r->draft_proposed ? (double)r->draft_accepted / (double)r->draft_proposed : NAN;

    if (rc == GLIMP_OK && !reasoning.s)
        rc = text_add(&reasoning, "", 0);
    if (rc == GLIMP_OK && !answer.s)
        rc = text_add(&answer, "", 0);
    res->reasoning = reasoning.s;
    res->answer = answer.s;
    if (r->shared) {
        res->ids = gen_ids.ids;
        res->n_ids = gen_ids.n;
    } else {
        glimp_tokens_free(&gen_ids);
    }
    return rc;
}

int glimp_router_run(struct glimp_backend *slm, struct glimp_backend *llm, const char *prompt,
                     const struct glimp_router_params *p, struct glimp_router_result **out)
{
    if (!slm || !llm || !prompt || !out)
        return glimp_error(GLIMP_ERR_INVALID, "router: a backend, the prompt or out is NULL");
    *out = NULL;
    struct glimp_router_params defaults = glimp_router_default_params();
    if (!p)
        p = &defaults;
    struct router r = {0};
    struct glimp_router_result *res = calloc(1, sizeof *res);
    if (!res)
        return glimp_error(GLIMP_ERR_NOMEM, "router: out of memory");
    int rc = router_init(&r, slm, llm, prompt, p);
    if (rc == GLIMP_OK)
        rc = run(&r, res);
    router_free(&r);
    if (rc != GLIMP_OK) {
        glimp_router_result_free(res);
        return rc;
    }
    *out = res;
    return GLIMP_OK;
}
