/* local.c - the local backend: a GGUF model run by glimp's own engine in
 * this process, with its tokenizer, chat template, one context (scratch and
 * threads) that all its sequences share through a batcher (their appends
 * from many threads run in shared forward passes) and, per sequence, a KV
 * cache and a sampler. */
#include "backend/backend.h"

#include "backend/batcher.h"

#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct local_backend {
    struct glimp_backend base;
    struct glimp_model *model;
    /* The workspace of every forward pass of this backend's sequences, and
     * the batcher that runs them: sequences may be driven from several
     * threads (each sequence by one at a time), and their appends share
     * passes. */
    struct glimp_ctx *ctx;
    struct bk_batcher *batch;
    struct glimp_tokenizer *tok;
    struct glimp_chat_template tmpl;
    int32_t eos, eot;
    uint64_t vocab_hash;
};

struct local_seq {
    struct bk_seq base;
    struct glimp_seq *seq;
    struct glimp_sampler *smp;
    const float *next; /* logits of the next token, or NULL after a truncate */
    int held;          /* hold calls not yet let go: its appends are a token loop's */
};

static struct local_backend *lb(const struct glimp_backend *b)
{
    return (struct local_backend *)b;
}

static struct local_seq *ls(const struct bk_seq *s)
{
    return (struct local_seq *)s;
}

static void local_free(struct glimp_backend *b)
{
    struct local_backend *l = lb(b);
    glimp_tokenizer_free(l->tok);
    bk_batcher_free(l->batch);
    glimp_ctx_free(l->ctx);
    glimp_model_free(l->model);
    free(l);
}

static int local_prompt_tokens(struct glimp_backend *b, const struct bk_prompt *p,
                               struct glimp_tokens *out)
{
    return bk_prompt_ids(lb(b)->tok, &lb(b)->tmpl, p, out);
}

static int local_tokenize(struct glimp_backend *b, const char *text, size_t len,
                          struct glimp_tokens *out)
{
    return glimp_tokenize(lb(b)->tok, text, len, true, out);
}

static bool local_is_eog(const struct glimp_backend *b, int32_t id)
{
    return id == lb(b)->eos || id == lb(b)->eot;
}

static uint64_t local_vocab_hash(const struct glimp_backend *b)
{
    return lb(b)->vocab_hash;
}

static int32_t local_find_token(const struct glimp_backend *b, const char *text)
{
    return glimp_tokenizer_find(lb(b)->tok, text, strlen(text));
}

static int local_seq_init(struct glimp_backend *b, uint32_t n_ctx,
                          const struct glimp_sampler_params *sp, struct bk_seq **out)
{
    struct local_seq *s = calloc(1, sizeof *s);
    if (!s)
        return glimp_error(GLIMP_ERR_NOMEM, "backend: out of memory");
    s->base.b = b;
    int rc = glimp_seq_init(lb(b)->model, n_ctx, &s->seq);
    if (rc == GLIMP_OK)
        rc = glimp_sampler_init(sp, b->n_vocab, &s->smp);
    if (rc != GLIMP_OK) {
        glimp_seq_free(s->seq);
        free(s);
        return rc;
    }
    *out = &s->base;
    return GLIMP_OK;
}

static void local_seq_free(struct bk_seq *s)
{
    if (!s)
        return;
    glimp_sampler_free(ls(s)->smp);
    glimp_seq_free(ls(s)->seq);
    free(s);
}

static uint32_t local_seq_len(const struct bk_seq *s)
{
    return glimp_seq_len(ls(s)->seq);
}

static uint32_t local_seq_n_ctx(const struct bk_seq *s)
{
    return glimp_seq_n_ctx(ls(s)->seq);
}

static int local_append(struct bk_seq *s, const int32_t *ids, size_t n)
{
    struct local_seq *q = ls(s);
    int rc = bk_batcher_append(lb(s->b)->batch, q->seq, ids, n, false, &q->next, q->held > 0);
    if (rc != GLIMP_OK)
        q->next = NULL;
    return rc;
}

static void local_hold(struct bk_seq *s, bool on)
{
    struct local_seq *q = ls(s);
    q->held += on ? 1 : -1;
    if (on)
        bk_batcher_hold(lb(s->b)->batch);
    else
        bk_batcher_release(lb(s->b)->batch);
}

static int local_score(struct bk_seq *s, const int32_t *ids, size_t n, const float **rows)
{
    struct local_seq *q = ls(s);
    int rc = bk_batcher_append(lb(s->b)->batch, q->seq, ids, n, true, rows, false);
    q->next = rc == GLIMP_OK ? *rows + (n - 1) * (size_t)s->b->n_logits : NULL;
    return rc;
}

static int local_truncate(struct bk_seq *s, uint32_t len)
{
    int rc = glimp_seq_truncate(ls(s)->seq, len);
    if (rc == GLIMP_OK)
        ls(s)->next = NULL;
    return rc;
}

static int local_next(struct bk_seq *s, uint32_t k, struct bk_dist *d)
{
    const float *logits = ls(s)->next;
    if (!logits)
        return glimp_error(GLIMP_ERR_INVALID,
                           "backend: no next-token distribution (nothing read since a rollback)");
    d->logits = logits;
    d->k = 0;
    if (k > 0)
        bk_dist_fill_topk(d, s->b->n_vocab, k);
    return GLIMP_OK;
}

static int local_sample(struct bk_seq *s, const float *logits, int32_t *id)
{
    return glimp_sampler_sample(ls(s)->smp, logits, s->b->n_vocab, id);
}

static int local_probs(struct bk_seq *s, const float *logits, float *probs)
{
    return glimp_sampler_probs(ls(s)->smp, logits, s->b->n_vocab, probs);
}

static int local_draw(struct bk_seq *s, const float *probs, int32_t *id)
{
    return glimp_sampler_draw(ls(s)->smp, probs, s->b->n_vocab, id);
}

static double local_uniform(struct bk_seq *s)
{
    return glimp_sampler_uniform(ls(s)->smp);
}

static int local_token_bytes(const struct glimp_backend *b, int32_t id, char *buf, size_t cap,
                             size_t *len)
{
    return glimp_token_to_bytes(lb(b)->tok, id, false, buf, cap, len);
}

static int generate_held(struct bk_seq *s, const struct bk_gen_rule *r, struct bk_gen_out *o);

/* The token loop holds the batcher, so that the passes wait for its next
 * token and sequences generating side by side share every pass. */
static int local_generate(struct bk_seq *s, const struct bk_gen_rule *r, struct bk_gen_out *o)
{
    local_hold(s, true);
    int rc = generate_held(s, r, o);
    local_hold(s, false);
    return rc;
}

static int generate_held(struct bk_seq *s, const struct bk_gen_rule *r, struct bk_gen_out *o)
{
    struct local_seq *q = ls(s);
    struct local_backend *l = lb(s->b);
    const uint32_t nv = s->b->n_vocab;
    char piece[1024];
    if (!q->next)
        return glimp_error(GLIMP_ERR_INVALID, "backend: generate with no distribution to draw from");
    while (o->n < r->max_tokens && !o->end && !o->stopped) {
        if (r->cancel && atomic_load(r->cancel)) {
            o->cancelled = true;
            break;
        }
        const float *logits = q->next;
        int32_t id;
        int rc = glimp_sampler_sample(q->smp, logits, nv, &id);
        if (rc != GLIMP_OK)
            return rc;
        if (local_is_eog(s->b, id)) {
            o->eos = true;
            break;
        }
        if (glimp_seq_len(q->seq) >= glimp_seq_n_ctx(q->seq)) {
            o->ctx_full = true;
            break;
        }
        double ent = 0.0, lp = 0.0;
        if (r->want_entropy)
            ent = r->entropy_topk ? glimp_entropy_topk(logits, nv, r->entropy_topk)
                                  : glimp_entropy_full(logits, nv);
        if (r->want_logprob)
            lp = (double)logits[id] - glimp_log_sum_exp(logits, nv);
        size_t plen;
        rc = glimp_token_to_bytes(l->tok, id, false, piece, sizeof piece, &plen);
        if (rc == GLIMP_OK)
            rc = local_append(s, &id, 1);
        if (rc == GLIMP_OK)
            rc = bk_gen_keep(o, r, id, piece, plen, ent, lp);
        if (rc != GLIMP_OK)
            return rc;
    }
    return GLIMP_OK;
}

static int local_reseed(struct bk_seq *s, const struct glimp_sampler_params *sp)
{
    struct glimp_sampler *smp = NULL;
    int rc = glimp_sampler_init(sp, s->b->n_vocab, &smp);
    if (rc != GLIMP_OK)
        return rc;
    glimp_sampler_free(ls(s)->smp);
    ls(s)->smp = smp;
    return GLIMP_OK;
}

static void local_batch_stats(const struct glimp_backend *b, struct bk_batch_stats *out)
{
    bk_batcher_stats(lb(b)->batch, out);
}

static const struct bk_ops local_ops = {
    .free = local_free,
    .prompt_tokens = local_prompt_tokens,
    .tokenize = local_tokenize,
    .is_eog = local_is_eog,
    .vocab_hash = local_vocab_hash,
    .find_token = local_find_token,
    .token_bytes = local_token_bytes,
    .seq_init = local_seq_init,
    .seq_free = local_seq_free,
    .seq_len = local_seq_len,
    .seq_n_ctx = local_seq_n_ctx,
    .append = local_append,
    .truncate = local_truncate,
    .next = local_next,
    .generate = local_generate,
    .score = local_score,
    .sample = local_sample,
    .probs = local_probs,
    .draw = local_draw,
    .uniform = local_uniform,
    .hold = local_hold,
    .reseed = local_reseed,
    .batch_stats = local_batch_stats,
};

int glimp_backend_local_open(const char *path, const struct glimp_model_params *p,
                             struct glimp_backend **out)
{
    if (!path || !out)
        return glimp_error(GLIMP_ERR_INVALID, "backend: path or out is NULL");
    *out = NULL;
    struct local_backend *l = calloc(1, sizeof *l);
    if (!l)
        return glimp_error(GLIMP_ERR_NOMEM, "backend: out of memory");
    int rc = glimp_model_load(path, p, &l->model); /* its messages name the path */
    bool named = rc != GLIMP_OK;
    if (rc == GLIMP_OK)
        rc = glimp_ctx_init(l->model, NULL, &l->ctx);
    if (rc == GLIMP_OK)
        rc = bk_batcher_init(l->ctx, glimp_model_info(l->model)->n_vocab, p ? p->n_ubatch : 0,
                             &l->batch);
    if (rc == GLIMP_OK)
        rc = glimp_tokenizer_load(glimp_model_gguf(l->model), NULL, &l->tok);
    if (rc == GLIMP_OK)
        rc = glimp_chat_detect(glimp_model_gguf(l->model), &l->tmpl);
    if (rc != GLIMP_OK) {
        if (!named)
            glimp_error_prefix(rc, "%s: ", path);
        glimp_tokenizer_free(l->tok);
        bk_batcher_free(l->batch);
        glimp_ctx_free(l->ctx);
        glimp_model_free(l->model);
        free(l);
        return rc;
    }
    const struct glimp_model_info *mi = glimp_model_info(l->model);
    /* output rows past the tokenizer's vocabulary (padding) have no text */
    uint32_t nv = mi->n_vocab;
    if (glimp_tokenizer_n_vocab(l->tok) < nv)
        nv = glimp_tokenizer_n_vocab(l->tok);
    l->base.ops = &local_ops;
    l->base.caps = BK_CAP_FULL_DIST | BK_CAP_EXACT_IDS | BK_CAP_ROLLBACK;
    l->base.n_vocab = nv;
    l->base.n_logits = mi->n_vocab;
    l->eos = glimp_tokenizer_eos(l->tok);
    l->eot = glimp_tokenizer_eot(l->tok);
    l->vocab_hash = bk_vocab_hash(l->tok);
    const char *tw = glimp_tokenizer_warning(l->tok);
    snprintf(l->base.warning, sizeof l->base.warning, "%s%s%s", tw,
             tw[0] && l->tmpl.fallback ? "; " : "", l->tmpl.fallback ? l->tmpl.warning : "");
    const char *kn = mi->kernels_note;
    size_t wl = strlen(l->base.warning);
    if (kn[0])
        snprintf(l->base.warning + wl, sizeof l->base.warning - wl, "%s%s", wl ? "; " : "", kn);
    const char *slash = strrchr(path, '/');
    snprintf(l->base.desc, sizeof l->base.desc, "local %s %u layers x %u, %.1f M params (%s)",
             mi->arch_name, mi->n_layer, mi->n_embd, (double)mi->n_params / 1e6,
             slash ? slash + 1 : path);
    *out = &l->base;
    return GLIMP_OK;
}
