/* fake_backend.c - the scripted model of fake_backend.h: it reads its
 * history to find which step it is in and how far, and gives the script's
 * next token with the script's certainty. */
#include "fake_backend.h"

#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EOS = 0, BLANK = 1, NL = 2, CLOSE = 3, START = 4, CHAR0 = 5, N_VOCAB = CHAR0 + 95 };

struct fake_backend {
    struct glimp_backend base;
    struct fake_params p;
    struct bk_ops ops; /* fake_ops, less what its capabilities leave out */
};

struct fake_seq {
    struct bk_seq base;
    struct glimp_tokens hist;
    uint32_t n_ctx;
    bool known; /* the next distribution is known (not after a truncate) */
    bool greedy;
    uint64_t rng;
    struct glimp_sampler *smp;
    float *logits; /* N_VOCAB */
    float *rows;   /* score: rows_cap rows */
    size_t rows_cap;
};

static struct fake_backend *fb(const struct glimp_backend *b)
{
    return (struct fake_backend *)b;
}

static struct fake_seq *fs(const struct bk_seq *s)
{
    return (struct fake_seq *)s;
}

static const char *tok_text(int32_t id)
{
    static char chars[95][2];
    static const char *special[] = {"<eos>", "\n\n", "\n", "</think>", "<start>"};
    if (id < CHAR0)
        return special[id];
    chars[id - CHAR0][0] = (char)(32 + id - CHAR0);
    return chars[id - CHAR0];
}

/* Longest match first; with cuts, '|' ends a token and adds nothing, and
 * '^' marks the next token uncertain (in marked, when not NULL: one entry a
 * token, 1 for a marked one). */
static int tokens_of(const char *text, size_t len, bool cuts, struct glimp_tokens *out,
                     struct glimp_tokens *marked)
{
    bool mark = false;
    for (size_t i = 0; i < len;) {
        int32_t id;
        size_t n = 1;
        if (cuts && (text[i] == '|' || text[i] == '^')) {
            mark |= text[i] == '^';
            i++;
            continue;
        }
        if (text[i] == '\n' && i + 1 < len && text[i + 1] == '\n') {
            id = BLANK, n = 2;
        } else if (text[i] == '\n') {
            id = NL;
        } else if (len - i >= 8 && !memcmp(text + i, "</think>", 8)) {
            id = CLOSE, n = 8;
        } else if ((unsigned char)text[i] >= 32 && (unsigned char)text[i] < 127) {
            id = CHAR0 + (text[i] - 32);
        } else {
            return glimp_error(GLIMP_ERR_INVALID, "fake: byte 0x%02x has no token",
                               (unsigned char)text[i]);
        }
        int rc = glimp_tokens_push(out, &id, 1);
        int32_t m = mark;
        if (rc == GLIMP_OK && marked)
            rc = glimp_tokens_push(marked, &m, 1);
        if (rc != GLIMP_OK)
            return rc;
        mark = false;
        i += n;
    }
    return GLIMP_OK;
}

double fake_entropy(unsigned u)
{
    if (u <= 1)
        return 0.0;
    double p0 = 1.5 / (u + 0.5), p1 = 1.0 / (u + 0.5);
    return -(p0 * log(p0) + (u - 1) * p1 * log(p1));
}

double fake_clock_now(void *user)
{
    return *(double *)user;
}

static void spend(const struct fake_backend *b, double s)
{
    if (b->p.clock)
        *b->p.clock += s;
}

/* The script's next token after hist, and how many share its probability. */
static void script_next(const struct fake_backend *b, const struct glimp_tokens *h, int32_t *t,
                        unsigned *u)
{
    size_t start = 0;
    for (size_t i = h->n; i-- > 0;)
        if (h->ids[i] == START) {
            start = i + 1;
            break;
        }
    *u = 1;
    size_t close = 0;
    for (size_t i = start; i < h->n; i++)
        if (h->ids[i] == CLOSE)
            close = i + 1;
    struct glimp_tokens s = {0};
    if (close) { /* the answer: its tokens so far, newlines aside */
        size_t pos = 0;
        bool nl = false;
        for (size_t i = close; i < h->n; i++) {
            pos += h->ids[i] != BLANK && h->ids[i] != NL;
            nl |= h->ids[i] == BLANK;
        }
        tokens_of(b->p.answer, strlen(b->p.answer), true, &s, NULL);
        *t = !nl ? BLANK : pos < s.n ? s.ids[pos] : EOS; /* "</think>\n\n" first */
        glimp_tokens_free(&s);
        return;
    }
    /* which step, and how far into it: a step ends where its text holds
     * "\n\n", whichever tokens brought it */
    size_t step = 0, j = 0;
    bool nl = false;
    for (size_t i = start; i < h->n; i++) {
        const char *x = tok_text(h->ids[i]);
        size_t n = strlen(x);
        bool ends = (n && nl && x[0] == '\n') || strstr(x, "\n\n");
        nl = n ? x[n - 1] == '\n' : nl;
        j++;
        if (ends) {
            step++, j = 0, nl = false;
        }
    }
    const char *text = step < b->p.n_steps ? b->p.steps[step] : "</think>\n\n";
    struct glimp_tokens marked = {0};
    tokens_of(text, strlen(text), true, &s, &marked);
    *t = j < s.n ? s.ids[j] : BLANK;
    if (j == 0 && step < b->p.n_steps && b->p.first_u)
        *u = b->p.first_u[step];
    if (j < marked.n && marked.ids[j])
        *u = FAKE_MARKED_U;
    glimp_tokens_free(&s);
    glimp_tokens_free(&marked);
}

/* The tokens that share the first token's probability: t, then u - 1
 * characters from 'A' on, t left out. */
static void dist_of(int32_t t, unsigned u, uint32_t k, struct bk_dist *d, float *logits)
{
    double p0 = u <= 1 ? 1.0 : 1.5 / (u + 0.5), p1 = u <= 1 ? 0.0 : 1.0 / (u + 0.5);
    int32_t ids[N_VOCAB];
    unsigned n = 0;
    ids[n++] = t;
    for (int32_t c = CHAR0 + ('A' - 32); n < u && c < N_VOCAB; c++)
        if (c != t)
            ids[n++] = c;
    d->k = k < n ? k : n;
    for (uint32_t i = 0; i < d->k; i++) {
        d->id[i] = ids[i];
        d->logprob[i] = log(i == 0 ? p0 : p1);
    }
    d->logits = NULL;
    if (logits) {
        for (int i = 0; i < N_VOCAB; i++)
            logits[i] = -INFINITY;
        for (unsigned i = 0; i < n; i++)
            logits[ids[i]] = (float)log(i == 0 ? p0 : p1);
        d->logits = logits;
    }
}

/* ------------------------------------------------------------ ops */

static void fake_free(struct glimp_backend *b)
{
    free(b);
}

static int fake_prompt_tokens(struct glimp_backend *b, const struct bk_prompt *p,
                              struct glimp_tokens *out)
{
    (void)b;
    int32_t start = START;
    int rc = tokens_of(p->text, strlen(p->text), false, out, NULL);
    return rc == GLIMP_OK ? glimp_tokens_push(out, &start, 1) : rc;
}

static int fake_tokenize(struct glimp_backend *b, const char *text, size_t len,
                         struct glimp_tokens *out)
{
    (void)b;
    return tokens_of(text, len, false, out, NULL);
}

static bool fake_is_eog(const struct glimp_backend *b, int32_t id)
{
    (void)b;
    return id == EOS;
}

static uint64_t fake_vocab_hash(const struct glimp_backend *b)
{
    return fb(b)->p.vocab_hash ? fb(b)->p.vocab_hash : 0xfa4e;
}

static int32_t fake_find_token(const struct glimp_backend *b, const char *text)
{
    (void)b;
    for (int32_t i = 0; i < N_VOCAB; i++)
        if (!strcmp(tok_text(i), text))
            return i;
    return -1;
}

static int fake_token_bytes(const struct glimp_backend *b, int32_t id, char *buf, size_t cap,
                            size_t *len)
{
    (void)b;
    const char *x = id == EOS || id == START ? "" : tok_text(id);
    *len = strlen(x);
    if (*len > cap)
        return glimp_error(GLIMP_ERR_RANGE, "fake: token %d needs %zu bytes", id, *len);
    memcpy(buf, x, *len);
    return GLIMP_OK;
}

static void fake_seq_free(struct bk_seq *s)
{
    if (!s)
        return;
    glimp_tokens_free(&fs(s)->hist);
    glimp_sampler_free(fs(s)->smp);
    free(fs(s)->logits);
    free(fs(s)->rows);
    free(s);
}

static int fake_seq_init(struct glimp_backend *b, uint32_t n_ctx,
                         const struct glimp_sampler_params *sp, struct bk_seq **out)
{
    struct fake_seq *s = calloc(1, sizeof *s);
    if (!s)
        return GLIMP_ERR_NOMEM;
    s->base.b = b;
    s->n_ctx = n_ctx ? n_ctx : fb(b)->p.n_ctx ? fb(b)->p.n_ctx : 4096;
    s->greedy = sp->temperature == 0.0f;
    s->rng = sp->seed * 0x9e3779b97f4a7c15ull + 1;
    s->logits = malloc(N_VOCAB * sizeof *s->logits);
    int rc = s->logits ? glimp_sampler_init(sp, N_VOCAB, &s->smp) : GLIMP_ERR_NOMEM;
    if (rc != GLIMP_OK) {
        fake_seq_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return GLIMP_OK;
}

static uint32_t fake_seq_len(const struct bk_seq *s)
{
    return (uint32_t)fs(s)->hist.n;
}

static uint32_t fake_seq_n_ctx(const struct bk_seq *s)
{
    return fs(s)->n_ctx;
}

static int fake_append(struct bk_seq *s, const int32_t *ids, size_t n)
{
    struct fake_seq *q = fs(s);
    if (n == 0 || q->hist.n + n > q->n_ctx)
        return glimp_error(GLIMP_ERR_RANGE, "fake: %zu + %zu tokens do not fit %u", q->hist.n, n,
                           q->n_ctx);
    spend(fb(s->b), (double)n * fb(s->b)->p.t_read);
    q->known = true;
    return glimp_tokens_push(&q->hist, ids, n);
}

static int fake_truncate(struct bk_seq *s, uint32_t len)
{
    struct fake_seq *q = fs(s);
    if (len > q->hist.n)
        return glimp_error(GLIMP_ERR_RANGE, "fake: truncate to %u of %zu", len, q->hist.n);
    q->hist.n = len;
    q->known = false;
    return GLIMP_OK;
}

static int fake_next(struct bk_seq *s, uint32_t k, struct bk_dist *d)
{
    struct fake_seq *q = fs(s);
    if (!q->known)
        return glimp_error(GLIMP_ERR_INVALID, "fake: next asked after a truncate, before a read");
    int32_t t;
    unsigned u;
    script_next(fb(s->b), &q->hist, &t, &u);
    dist_of(t, u, k, d, bk_has(s->b, BK_CAP_FULL_DIST) ? q->logits : NULL);
    return GLIMP_OK;
}

static int fake_generate(struct bk_seq *s, const struct bk_gen_rule *r, struct bk_gen_out *o)
{
    struct fake_seq *q = fs(s);
    const struct fake_backend *b = fb(s->b);
    if (!q->known)
        return glimp_error(GLIMP_ERR_INVALID, "fake: generate after a truncate, before a read");
    while (o->n < r->max_tokens && !o->end && !o->stopped) {
        if (r->cancel && atomic_load(r->cancel)) {
            o->cancelled = true;
            break;
        }
        int32_t t;
        unsigned u;
        script_next(b, &q->hist, &t, &u);
        struct bk_dist d;
        dist_of(t, u, BK_TOPK_MAX, &d, NULL);
        int32_t id = t;
        double lp = d.logprob[0];
        if (!q->greedy && u > 1) { /* xorshift64 */
            q->rng ^= q->rng << 13, q->rng ^= q->rng >> 7, q->rng ^= q->rng << 17;
            double x = (double)(q->rng >> 11) / 9007199254740992.0;
            double p0 = exp(d.logprob[0]), p1 = exp(d.logprob[1]);
            if (x >= p0) {
                uint32_t i = 1 + (uint32_t)((x - p0) / p1);
                id = d.id[i < d.k ? i : d.k - 1];
                lp = d.logprob[1];
            }
        }
        if (id == EOS) {
            o->eos = true;
            break;
        }
        if (q->hist.n >= q->n_ctx) {
            o->ctx_full = true;
            break;
        }
        double ent = r->want_entropy ? bk_dist_entropy(&d, N_VOCAB, r->entropy_topk) : 0.0;
        int rc = glimp_tokens_push(&q->hist, &id, 1);
        spend(b, b->p.t_write);
        const char *x = tok_text(id);
        if (rc == GLIMP_OK)
            rc = bk_gen_keep(o, r, id, id == START ? "" : x, id == START ? 0 : strlen(x), ent, lp);
        if (rc != GLIMP_OK)
            return rc;
    }
    return GLIMP_OK;
}

static int fake_score(struct bk_seq *s, const int32_t *ids, size_t n, const float **rows)
{
    struct fake_seq *q = fs(s);
    if (n > q->rows_cap) {
        float *p = realloc(q->rows, n * N_VOCAB * sizeof *p);
        if (!p)
            return GLIMP_ERR_NOMEM;
        q->rows = p;
        q->rows_cap = n;
    }
    int rc = fake_append(s, ids, n);
    if (rc != GLIMP_OK)
        return rc;
    size_t n0 = q->hist.n - n;
    for (size_t i = 0; i < n; i++) {
        q->hist.n = n0 + i + 1; /* the history up to and with token i */
        int32_t t;
        unsigned u;
        struct bk_dist d;
        script_next(fb(s->b), &q->hist, &t, &u);
        dist_of(t, u, 0, &d, q->rows + i * N_VOCAB);
    }
    *rows = q->rows;
    return GLIMP_OK;
}

static int fake_sample(struct bk_seq *s, const float *logits, int32_t *id)
{
    return glimp_sampler_sample(fs(s)->smp, logits, N_VOCAB, id);
}

static int fake_probs(struct bk_seq *s, const float *logits, float *probs)
{
    return glimp_sampler_probs(fs(s)->smp, logits, N_VOCAB, probs);
}

static int fake_draw(struct bk_seq *s, const float *probs, int32_t *id)
{
    return glimp_sampler_draw(fs(s)->smp, probs, N_VOCAB, id);
}

static double fake_uniform(struct bk_seq *s)
{
    return glimp_sampler_uniform(fs(s)->smp);
}

static const struct bk_ops fake_ops = {
    .free = fake_free,
    .prompt_tokens = fake_prompt_tokens,
    .tokenize = fake_tokenize,
    .is_eog = fake_is_eog,
    .vocab_hash = fake_vocab_hash,
    .find_token = fake_find_token,
    .token_bytes = fake_token_bytes,
    .seq_init = fake_seq_init,
    .seq_free = fake_seq_free,
    .seq_len = fake_seq_len,
    .seq_n_ctx = fake_seq_n_ctx,
    .append = fake_append,
    .truncate = fake_truncate,
    .next = fake_next,
    .generate = fake_generate,
    .score = fake_score,
    .sample = fake_sample,
    .probs = fake_probs,
    .draw = fake_draw,
    .uniform = fake_uniform,
};

int fake_backend_open(const struct fake_params *p, struct glimp_backend **out)
{
    struct fake_backend *b = calloc(1, sizeof *b);
    if (!b)
        return GLIMP_ERR_NOMEM;
    b->p = *p;
    b->ops = fake_ops;
    if (!(p->caps & BK_CAP_FULL_DIST)) /* as a remote server: no logits, no sampler */
        b->ops.score = NULL, b->ops.sample = NULL, b->ops.probs = NULL, b->ops.draw = NULL,
        b->ops.uniform = NULL;
    b->base.ops = &b->ops;
    b->base.caps = p->caps;
    b->base.n_vocab = N_VOCAB;
    b->base.n_logits = N_VOCAB;
    snprintf(b->base.desc, sizeof b->base.desc, "fake %s", p->name ? p->name : "model");
    *out = &b->base;
    return GLIMP_OK;
}
