/* batcher.c - continuous batching over one context (see batcher.h): the
 * waiting appends, who runs the next pass, what it takes, and how each
 * caller gets its own result back. */
#include "backend/batcher.h"

#include "core/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_UBATCH_DEFAULT 512u
/* How long a pass waits for the next token of a thread that holds the
 * batcher: far above the time a token loop spends between two appends
 * (sampling, entropy, streaming), so it only ends a wait that something
 * unforeseen blocks (a holder waiting on another holder's sequence). */
#define BATCH_HOLD_WAIT_NS 20000000L
#define BATCH_ITEMS_START 64u

/* One caller's append, on its stack, from enqueue until finished. */
struct bt_req {
    struct glimp_seq *seq;
    const int32_t *ids;
    uint32_t n;        /* tokens asked */
    uint32_t done;     /* tokens in the cache so far */
    uint32_t start;    /* the sequence's length when asked (for a rollback) */
    uint32_t take;     /* tokens in the running pass */
    bool all_logits, want_logits, held, finished;
    int rc;
    const float *logits;
    char msg[1024];
    struct bt_req *next;
};

struct bk_batcher {
    struct glimp_ctx *ctx;
    uint32_t n_vocab;
    uint32_t ubatch;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* a pass ended, or an append arrived */
    struct bt_req *head, *tail; /* waiting appends, oldest first */
    bool running;               /* a thread is forming or running a pass */
    uint32_t n_held;            /* threads in a token loop */
    uint32_t n_pending_held;    /* their appends among the waiting ones */
    struct glimp_batch_item *items;
    struct bt_req **in_pass;
    size_t items_cap;
    struct bk_batch_stats stats;
};

int bk_batcher_init(struct glimp_ctx *ctx, uint32_t n_vocab, uint32_t ubatch,
                    struct bk_batcher **out)
{
    *out = NULL;
    struct bk_batcher *b = calloc(1, sizeof *b);
    if (!b)
        return glimp_error(GLIMP_ERR_NOMEM, "batcher: out of memory");
    b->ctx = ctx;
    b->n_vocab = n_vocab;
    b->ubatch = ubatch ? ubatch : BATCH_UBATCH_DEFAULT;
    b->items_cap = BATCH_ITEMS_START;
    b->items = calloc(b->items_cap, sizeof *b->items);
    b->in_pass = calloc(b->items_cap, sizeof *b->in_pass);
    pthread_condattr_t ca;
    bool ok = b->items && b->in_pass && pthread_condattr_init(&ca) == 0;
    if (ok) {
        ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&b->cv, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (ok && pthread_mutex_init(&b->mu, NULL) != 0) {
        pthread_cond_destroy(&b->cv);
        ok = false;
    }
    if (!ok) {
        free(b->items);
        free(b->in_pass);
        free(b);
        return glimp_error(GLIMP_ERR_NOMEM, "batcher: cannot make its lock");
    }
    *out = b;
    return GLIMP_OK;
}

void bk_batcher_free(struct bk_batcher *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b->items);
    free(b->in_pass);
    free(b);
}

void bk_batcher_hold(struct bk_batcher *b)
{
    pthread_mutex_lock(&b->mu);
    b->n_held++;
    pthread_mutex_unlock(&b->mu);
}

void bk_batcher_release(struct bk_batcher *b)
{
    pthread_mutex_lock(&b->mu);
    b->n_held--;
    pthread_cond_broadcast(&b->cv); /* a pass may be waiting for this thread */
    pthread_mutex_unlock(&b->mu);
}

void bk_batcher_stats(struct bk_batcher *b, struct bk_batch_stats *out)
{
    pthread_mutex_lock(&b->mu);
    *out = b->stats;
    pthread_mutex_unlock(&b->mu);
}

static void unlink_req(struct bk_batcher *b, struct bt_req *r)
{
    struct bt_req **p = &b->head, *prev = NULL;
    while (*p != r) {
        prev = *p;
        p = &(*p)->next;
    }
    *p = r->next;
    if (b->tail == r)
        b->tail = prev;
    if (r->held)
        b->n_pending_held--;
}

/* Room for every waiting append in the pass arrays; when they cannot grow
 * the pass takes as many as fit (the rest go in the next). */
static size_t pass_room(struct bk_batcher *b)
{
    size_t want = 0;
    for (struct bt_req *r = b->head; r; r = r->next)
        want++;
    if (want > b->items_cap) {
        size_t cap = b->items_cap * 2 > want ? b->items_cap * 2 : want;
        struct glimp_batch_item *it = realloc(b->items, cap * sizeof *it);
        if (it)
            b->items = it;
        struct bt_req **ip = it ? realloc(b->in_pass, cap * sizeof *ip) : NULL;
        if (ip) {
            b->in_pass = ip;
            b->items_cap = cap;
        }
    }
    return b->items_cap;
}

/* Under b->mu: the waiting appends this pass takes, and how much of each. */
static size_t form_pass(struct bk_batcher *b)
{
    size_t room = pass_room(b), n = 0;
    uint32_t budget = b->ubatch, prompt = 0;
    for (struct bt_req *r = b->head; r && n < room; r = r->next) {
        uint32_t left = r->n - r->done, take = left;
        /* A prompt is cut to the budget, unless it cannot fit the context
         * at all: whole, it fails at once with the message an append alone
         * gives, before any of it runs. */
        bool fits = (uint64_t)glimp_seq_len(r->seq) + left <= glimp_seq_n_ctx(r->seq);
        if (left > 1 && !r->all_logits && fits) {
            if (budget == 0)
                continue; /* the next pass */
            if (take > budget) {
                take = budget;
                b->stats.chunked++;
            }
            budget -= take;
            prompt += take;
        }
        r->take = take;
        bool last = r->done + take == r->n;
        b->items[n] = (struct glimp_batch_item){
            .seq = r->seq,
            .ids = r->ids + r->done,
            .n = take,
            .all_logits = r->all_logits,
            .logits = last && r->want_logits ? &r->logits : NULL,
        };
        b->in_pass[n++] = r;
    }
    if (prompt > b->stats.most_prompt)
        b->stats.most_prompt = prompt;
    return n;
}

static void fail_req(struct bt_req *r, int rc)
{
    r->rc = rc;
    snprintf(r->msg, sizeof r->msg, "%s", glimp_last_error());
}

/* Run the pass outside the lock. A refused pass leaves every sequence as it
 * was; each item then runs alone, so only the one at fault fails (with the
 * message it would get alone). */
/* The passes of every local model in the process run one at a time: each
 * already spreads over all the threads it was given (one per core by
 * default), and two at once (a routed server's SLM and LLM) would only
 * fight over the cores, while the waiting model's batch grows meanwhile. */
static pthread_mutex_t cpu_lock = PTHREAD_MUTEX_INITIALIZER;
static void run_pass_locked(struct bk_batcher *b, size_t n, uint64_t *passes);

static void run_pass(struct bk_batcher *b, size_t n, uint64_t *passes)
{
    pthread_mutex_lock(&cpu_lock);
    run_pass_locked(b, n, passes);
    pthread_mutex_unlock(&cpu_lock);
}

static void run_pass_locked(struct bk_batcher *b, size_t n, uint64_t *passes)
{
    int rc = n > 1 ? glimp_ctx_decode(b->ctx, b->items, n) : GLIMP_ERR_INVALID;
    if (rc == GLIMP_OK) {
        (*passes)++;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct glimp_batch_item *it = &b->items[i];
        rc = glimp_seq_append(b->ctx, it->seq, it->ids, it->n, it->all_logits, it->logits);
        if (rc != GLIMP_OK)
            fail_req(b->in_pass[i], rc);
        else
            (*passes)++;
    }
}

/* Under b->mu, with no pass running: run the next one. Returns with b->mu
 * held and the pass's appends advanced (finished ones unlinked). */
static void lead(struct bk_batcher *b)
{
    b->running = true;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += BATCH_HOLD_WAIT_NS;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    bool expired = false;
    while (b->n_pending_held < b->n_held && !expired)
        expired = pthread_cond_timedwait(&b->cv, &b->mu, &until) == ETIMEDOUT;
    if (expired && b->n_pending_held < b->n_held)
        b->stats.hold_expired++;

    size_t n = form_pass(b);
    for (size_t i = 0; i < n; i++)
        b->in_pass[i]->rc = GLIMP_OK;
    pthread_mutex_unlock(&b->mu);
    uint64_t passes = 0;
    run_pass(b, n, &passes);
    pthread_mutex_lock(&b->mu);

    b->stats.passes += passes;
    for (size_t i = 0; i < n; i++) {
        struct bt_req *r = b->in_pass[i];
        if (r->rc == GLIMP_OK) {
            r->done += r->take;
            b->stats.items++;
            b->stats.tokens += r->take;
            if (r->done < r->n)
                continue;
        } else if (r->done > 0) {
            glimp_seq_truncate(r->seq, r->start); /* undo the chunks that ran */
        }
        unlink_req(b, r);
        r->finished = true;
    }
    b->running = false;
    pthread_cond_broadcast(&b->cv);
}

int bk_batcher_append(struct bk_batcher *b, struct glimp_seq *seq, const int32_t *ids, size_t n,
                      bool all_logits, const float **logits, bool held)
{
    if (!seq || !ids || n == 0)
        return glimp_error(GLIMP_ERR_INVALID, "append: no %s given", !seq ? "sequence" : "tokens");
    if (n > UINT32_MAX)
        return glimp_error(GLIMP_ERR_RANGE, "sequence would hold %llu tokens, context is %u",
                           (unsigned long long)glimp_seq_len(seq) + n, glimp_seq_n_ctx(seq));
    /* ids are checked here, so that a prompt cut in chunks is refused whole
     * with the index an append alone names */
    for (size_t j = 0; j < n; j++)
        if (ids[j] < 0 || (uint32_t)ids[j] >= b->n_vocab)
            return glimp_error(GLIMP_ERR_RANGE,
                               "token id %ld at index %zu is outside the vocabulary (0..%u)",
                               (long)ids[j], j, b->n_vocab - 1);
    struct bt_req r = {
        .seq = seq,
        .ids = ids,
        .n = (uint32_t)n,
        .start = glimp_seq_len(seq),
        .all_logits = all_logits,
        .want_logits = logits != NULL,
        .held = held,
    };
    pthread_mutex_lock(&b->mu);
    if (b->tail)
        b->tail->next = &r;
    else
        b->head = &r;
    b->tail = &r;
    if (held)
        b->n_pending_held++;
    pthread_cond_broadcast(&b->cv); /* a pass may be waiting for this one */
    while (!r.finished) {
        if (!b->running)
            lead(b);
        else
            pthread_cond_wait(&b->cv, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    if (r.rc != GLIMP_OK)
        return glimp_error(r.rc, "%s", r.msg);
    if (logits)
        *logits = r.logits;
    return GLIMP_OK;
}
