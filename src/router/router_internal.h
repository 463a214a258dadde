/* router_internal.h - the router's state, shared by the step loop
 * (router.c) and speculative decoding (spec.c). */
#ifndef GLIMP_ROUTER_INTERNAL_H
#define GLIMP_ROUTER_INTERNAL_H

#include "backend/backend.h"
#include "router/policy.h"

/* One model as the router drives it. ids is everything the model reads
 * (its prompt, then the steps); its sequence holds a prefix of ids and
 * ingests the rest lazily (rt_sync). */
struct rt_model {
    struct glimp_backend *b;
    struct bk_seq *seq;
    struct glimp_tokens ids;
    const float *logits; /* next-token logits of the sequence as it is, or NULL */
    double write_s;      /* seconds spent writing (and drafting, judging) */
};

struct router {
    const struct glimp_router_params *p;
    struct rt_model m[2]; /* indexed by enum glimp_writer */
    bool shared;          /* one vocabulary: ids pass between the models */
    bool slm_live;        /* the SLM ingests every step at once (probe) */
    struct rt_policy *pol;
    bool pol_borrowed;      /* from params.policy_state: not ours to free */
    struct bk_gen_out step; /* the step being written (arrays of cap entries) */
    uint32_t step_cap;
    uint32_t step_start[2];          /* each model's ids.n when the step began */
    float *spec_p, *spec_q, *spec_r; /* speculative decoding: (draft+1), draft, 1 rows */
    double sync_s;                   /* all ingesting */
    double step_sync_s;              /* ingesting during the current step */
    uint64_t draft_proposed, draft_accepted;
    uint32_t step_proposed, step_accepted;
    bool ctx_full;
    struct bk_gen_out label; /* label_steps: the other model's version of the step */
    double label_s;          /* spent labelling, left out of every time */
    double t_first;          /* when the run's first token came; 0: not yet */
};

double rt_now(void);

/* Ingest what the model has not seen; m->logits is then the distribution
 * of its next token. GLIMP_ERR_RANGE when ids no longer fit its context. */
int rt_sync(struct router *r, enum glimp_writer w);

/* The same, but the last unread token stays unread (*unread 1) so that
 * it can be read in one batch with what follows, as the verification of
 * speculative decoding does; *unread 0 when nothing was unread and
 * m->logits already holds the next-token distribution. */
int rt_sync_but_last(struct router *r, enum glimp_writer w, uint32_t *unread);

/* Keep the first len ids (rolling the sequence back when it holds more). */
int rt_retain(struct router *r, enum glimp_writer w, size_t len);

int rt_push_ids(struct glimp_tokens *t, const int32_t *ids, size_t n);

/* Add one written token to the step (its text too), checking for the end
 * of the step; returns GLIMP_OK and sets r->step.blank when the text now
 * holds "\n\n" and stop_blank. */
int rt_step_add(struct router *r, enum glimp_writer w, int32_t id, bool stop_blank);

/* The LLM writes the step on (up to budget tokens in r->step) with the SLM
 * drafting r->p->draft tokens a round (spec.c). */
int rt_spec_write(struct router *r, uint32_t budget, bool stop_blank);

#endif
