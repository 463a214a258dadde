/* router_internal.h - a request's state, shared by the request's life and
 * step loop (router.c), the writing of one step (step.c) and speculative
 * decoding (spec.c). */
#ifndef GLIMP_ROUTER_INTERNAL_H
#define GLIMP_ROUTER_INTERNAL_H

#include "backend/backend.h"
#include "router/policy.h"

#include <stdatomic.h>

/* The most tokens one round of speculative decoding drafts
 * (glimp_router_params.draft is checked against it). */
#define RT_DRAFT_MAX 64

/* Where a request's time goes. Every second between its first step and
 * its end is charged to exactly one part. */
enum rt_part {
    RT_PART_OTHER = 0, /* the router's own work: overhead */
    RT_PART_PROBE,     /* computing the routing signal */
    RT_PART_SYNC,      /* a model reading what the other wrote */
    RT_PART_SLM,       /* the SLM writing (and drafting) */
    RT_PART_LLM,       /* the LLM writing (verifying, judging) */
    RT_PART_LABEL,     /* label_steps: left out of every time reported */
    RT_PART_COUNT
};

/* One clock that charges time to named parts: rt_charge(c, part) charges
 * the time since the last charge to the part in force, then puts `part` in
 * force. While sealed, the part in force stays (a judge's reading is the
 * LLM's work, a label's everything is the label's). */
struct rt_clock {
    double (*now)(void *user); /* seconds, monotonic */
    void *user;
    double last;
    enum rt_part cur;
    int sealed;
    double part[RT_PART_COUNT];
};

/* Charge, switch, and return the part that was in force. */
enum rt_part rt_charge(struct rt_clock *c, enum rt_part part);

/* One model as the router drives it. ids is everything the model reads
 * (its prompt, then the steps); its sequence holds a prefix of ids and
 * reads the rest lazily (rt_sync). */
struct rt_model {
    struct glimp_backend *b;
    struct bk_seq *seq;
    struct glimp_tokens ids;
    bool live; /* the sequence holds exactly ids and knows its next distribution */
    enum rt_part part; /* its writing time */
};

enum rt_state { RT_THINK = 0, RT_ANSWER, RT_DONE };

struct glimp_request {
    struct glimp_router_params p; /* a copy: the caller's may go */
    struct rt_model m[2];         /* indexed by enum glimp_writer */
    bool shared;                  /* one vocabulary: ids pass between the models */
    bool slm_live;                /* the SLM reads every step at once (probe) */
    struct bk_segment seg;        /* where a thinking step ends, compiled */
    struct rt_policy *pol;
    bool pol_borrowed;      /* from params.policy_state: not ours to free */
    atomic_int cancel;      /* glimp_request_cancel */
    enum rt_state state;
    struct rt_clock clk;
    bool started;           /* the first step began: the clock runs */
    double t_start;         /* when */

    /* the step being written (arrays of step_cap entries) */
    struct bk_gen_out step;
    uint32_t step_cap;
    uint32_t step_start[2]; /* each model's ids.n when the step began */
    enum glimp_writer step_writer;
    enum glimp_phase step_phase;
    double step_h_init;
    bool step_emitting;     /* its tokens go to on_token as they come */
    uint32_t step_emitted;  /* how many of its tokens went to on_token */
    uint32_t step_proposed, step_accepted;
    double step_part0[RT_PART_COUNT]; /* the clock's parts when it began */
    struct glimp_step_event ev;       /* the last step made */

    /* speculative decoding: (draft+1), draft, 1 rows of n_vocab */
    float *spec_p, *spec_q, *spec_r;
    uint64_t draft_proposed, draft_accepted;
    bool ctx_full;
    struct bk_gen_out label; /* label_steps: the other model's version of the step */
    double t_first;          /* when the first token came, label time out; 0: not yet */

    /* what the request has written */
    struct glimp_router_result *res;
    size_t steps_cap;
    char *reasoning, *answer;
    size_t reasoning_len, reasoning_cap, answer_len, answer_cap;
    struct glimp_tokens gen_ids;
    size_t prev_off, prev_len; /* the previous thinking step in reasoning */
    uint32_t think_tokens;
    bool tag_seen;             /* a step held </think> */
    size_t tag_off;            /* where in reasoning */
};

/* Use another clock (tests: one that the fake backend moves). */
void rt_request_set_clock(struct glimp_request *q, double (*now)(void *), void *user);

bool rt_cancelled(const struct glimp_request *q);

/* Read what model w has not read; its next distribution is then known.
 * GLIMP_ERR_RANGE when ids no longer fit its context. */
int rt_sync(struct glimp_request *q, enum glimp_writer w);

/* The same, but the last unread token stays unread (*unread 1) so that
 * it can be read in one batch with what follows, as the verification of
 * speculative decoding does; *unread 0 when nothing was unread and the
 * next distribution is already known. */
int rt_sync_but_last(struct glimp_request *q, enum glimp_writer w, uint32_t *unread);

/* Keep the first len ids (rolling the sequence back when it holds more). */
int rt_keep(struct glimp_request *q, enum glimp_writer w, size_t len);

/* Add one token written by w to the step (its text too), checking for the
 * end of the step by seg (NULL: the answer, which does not end on its
 * text) and passing it on to on_token when the step is being emitted; sets
 * q->step.end (and q->step.cut) as bk_gen_keep does. */
int rt_step_add(struct glimp_request *q, enum glimp_writer w, int32_t id,
                const struct bk_segment *seg);

/* The LLM writes the step on (up to budget tokens in q->step) with the SLM
 * drafting q->p.draft tokens a round (spec.c). */
int rt_spec_write(struct glimp_request *q, uint32_t budget, const struct bk_segment *seg);

/* One thinking step: probe, decide, write, hand the step to both models
 * (step.c); q->ev describes it. */
int rt_think_step(struct glimp_request *q, uint32_t budget);

/* The answer model writes the answer (step.c); q->ev describes it. */
int rt_answer_step(struct glimp_request *q);

/* A new step begins: empty text, each model's start, the clock's parts. */
void rt_step_begin(struct glimp_request *q, enum glimp_phase phase);

/* The step's event from q->step and the clock (index and text filled by
 * the recorder). */
void rt_step_event(struct glimp_request *q, enum glimp_writer w, double h, double signal,
                   double tau, bool rewritten, int easy);

#endif
