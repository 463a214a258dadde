/* seq.c - sequences and the batches that extend them: a KV cache that grows
 * as the sequence does (pages of MODEL_KV_PAGE positions, doubling, up to
 * n_ctx) and shrinks when a rollback leaves most of it unused; decodes of
 * many sequences at once, checked in full and their memory had before
 * anything changes (so a refused one leaves every sequence as it was), run
 * in a context's workspace in chunks of its n_batch; appends as one-item
 * decodes; rollback. */
#include "core/error.h"
#include "model/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n floats, or NULL when n * 4 bytes overflow size_t or malloc fails. */
static float *alloc_floats(uint64_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / sizeof(float))
        return NULL;
    return calloc((size_t)n, sizeof(float));
}

/* The context for n_ctx 0: the model's, capped by the KV budget. */
static int default_ctx(const struct glimp_model *m, uint32_t *n_ctx)
{
    const struct glimp_model_info *h = &m->info;
    uint64_t per_token = (uint64_t)h->n_layer * m->kv_dim * 2 * sizeof(float);
    uint64_t fit = m->params.kv_budget / per_token;
    uint64_t n = h->n_ctx_train < fit ? h->n_ctx_train : fit;
    if (n < h->n_ctx_train && n > 256)
        n -= n % 256;
    if (n == 0)
        return glimp_error(GLIMP_ERR_NOMEM,
                           "sequence: the KV budget of %llu bytes holds no token (one takes %llu)",
                           (unsigned long long)m->params.kv_budget, (unsigned long long)per_token);
    *n_ctx = (uint32_t)n;
    return GLIMP_OK;
}

int glimp_seq_init(const struct glimp_model *m, uint32_t n_ctx, struct glimp_seq **out)
{
    if (!m || !out)
        return glimp_error(GLIMP_ERR_INVALID, "sequence: no %s given", m ? "out" : "model");
    *out = NULL;
    int rc;
    if (n_ctx == 0 && (rc = default_ctx(m, &n_ctx)) != GLIMP_OK)
        return rc;
    const struct glimp_model_info *h = &m->info;
    uint64_t per_layer = (uint64_t)n_ctx * m->kv_dim; /* below 2^52 */
    if (per_layer > UINT64_MAX / 8 / h->n_layer || per_layer > SIZE_MAX / sizeof(float))
        return glimp_error(GLIMP_ERR_NOMEM, "sequence: a KV cache of %u tokens is too large",
                           n_ctx);

    struct glimp_seq *s = calloc(1, sizeof *s);
    if (!s)
        return glimp_error(GLIMP_ERR_NOMEM, "sequence: out of memory");
    s->m = m;
    s->n_ctx = n_ctx;
    s->k = calloc(2 * (size_t)h->n_layer, sizeof *s->k); /* the caches come with tokens */
    s->v = s->k ? s->k + h->n_layer : NULL;
    s->logits = alloc_floats(h->n_vocab);
    if (!s->k || !s->logits) {
        glimp_seq_free(s);
        return glimp_error(GLIMP_ERR_NOMEM, "sequence: out of memory");
    }
    *out = s;
    return GLIMP_OK;
}

void glimp_seq_free(struct glimp_seq *s)
{
    if (!s)
        return;
    for (uint32_t il = 0; s->k && il < 2 * s->m->info.n_layer; il++)
        free(s->k[il]);
    free(s->k);
    free(s->logits);
    free(s->logits_all);
    free(s);
}

uint32_t glimp_seq_len(const struct glimp_seq *s)
{
    return s->n_past;
}

uint32_t glimp_seq_n_ctx(const struct glimp_seq *s)
{
    return s->n_ctx;
}

size_t glimp_seq_bytes(const struct glimp_seq *s)
{
    if (!s)
        return 0;
    const struct glimp_model_info *h = &s->m->info;
    uint64_t kv = (uint64_t)s->kv_cap * s->m->kv_dim * sizeof(float) * 2 * h->n_layer;
    return sizeof *s + 2 * (size_t)h->n_layer * sizeof *s->k + (size_t)kv +
           ((size_t)h->n_vocab + s->logits_all_cap) * sizeof(float);
}

/* ------------------------------------------------------------ KV cache */

/* Resize every layer's K and V block to cap positions. A block that fails
 * to grow keeps what it held, and the ones resized before it hold at least
 * that, so a failure changes nothing but memory; kv_cap follows only on
 * success. Shrinking cannot fail: a block that realloc will not shrink
 * stays as it is (kv_cap is a lower bound of every block). cap 0 frees. */
static int kv_resize(struct glimp_seq *s, uint32_t cap)
{
    uint32_t n_blocks = 2 * s->m->info.n_layer;
    size_t bytes = (size_t)cap * s->m->kv_dim * sizeof(float); /* checked at init */
    for (uint32_t i = 0; i < n_blocks; i++) {
        if (cap == 0) {
            free(s->k[i]);
            s->k[i] = NULL;
            continue;
        }
        float *p = realloc(s->k[i], bytes);
        if (p)
            s->k[i] = p;
        else if (cap > s->kv_cap)
            return glimp_error(GLIMP_ERR_NOMEM,
                               "sequence: out of memory for a KV cache of %u tokens (%llu bytes)",
                               cap, (unsigned long long)bytes * n_blocks);
    }
    s->kv_cap = cap;
    return GLIMP_OK;
}

/* Positions rounded up to whole pages, at most n_ctx. */
static uint32_t kv_pages(const struct glimp_seq *s, uint64_t n)
{
    n = (n + MODEL_KV_PAGE - 1) / MODEL_KV_PAGE * MODEL_KV_PAGE;
    return n < s->n_ctx ? (uint32_t)n : s->n_ctx;
}

/* Make the caches hold need <= n_ctx positions: at least double what they
 * hold, so that a growing sequence copies each row a bounded number of
 * times and allocates rarely. */
static int kv_reserve(struct glimp_seq *s, uint32_t need)
{
    if (need <= s->kv_cap)
        return GLIMP_OK;
    uint32_t cap = kv_pages(s, need);
    uint32_t twice = kv_pages(s, 2 * (uint64_t)s->kv_cap);
    return kv_resize(s, cap > twice ? cap : twice);
}

/* -------------------------------------------------------------- decode */

/* Check one item of a batch (item i of a decode, or the append's); where
 * names it in messages ("append: " or "decode: item 3: "), range the same
 * for the range errors ("" for an append, as before batches). */
static int check_item(const struct glimp_ctx *c, const struct glimp_batch_item *it,
                      const char *where, const char *range)
{
    if (!it->seq || (!it->ids && it->n))
        return glimp_error(GLIMP_ERR_INVALID, "%sno %s given", where,
                           !it->seq ? "sequence" : "ids");
    struct glimp_seq *s = it->seq;
    if (c->m != s->m)
        return glimp_error(GLIMP_ERR_INVALID,
                           "%sthe context and the sequence belong to different models", where);
    if (it->n == 0)
        return glimp_error(GLIMP_ERR_INVALID, "%sno tokens given", where);
    if (s->batch_item)
        return glimp_error(GLIMP_ERR_INVALID, "%sthe sequence is item %zu's too", where,
                           s->batch_item - 1);
    uint32_t n_vocab = s->m->info.n_vocab;
    if (it->n > s->n_ctx - s->n_past)
        return glimp_error(GLIMP_ERR_RANGE, "%ssequence would hold %llu tokens, context is %u",
                           range, (unsigned long long)s->n_past + it->n, s->n_ctx);
    for (uint32_t j = 0; j < it->n; j++)
        if (it->ids[j] < 0 || (uint32_t)it->ids[j] >= n_vocab)
            return glimp_error(GLIMP_ERR_RANGE,
                               "%stoken id %ld at index %u is outside the vocabulary (0..%u)",
                               range, (long)it->ids[j], j, n_vocab - 1);
    return GLIMP_OK;
}

/* Everything a decode can fail on, checked and had before anything the
 * caller can see changes: the items, then the KV caches (growing them
 * changes nothing visible), the context's scores, and the all-logits
 * buffers (made aside, put in place only once all are had). */
static int decode_prepare(struct glimp_ctx *c, const struct glimp_batch_item *items, size_t n_items,
                          bool single)
{
    if (!c || (!items && n_items))
        return glimp_error(GLIMP_ERR_INVALID, "%s: no %s given", single ? "append" : "decode",
                           !c ? "context" : "items");
    if (n_items == 0)
        return glimp_error(GLIMP_ERR_INVALID, "decode: no items given");
    int rc = GLIMP_OK;
    size_t checked = 0;
    char where[64];
    for (; checked < n_items && rc == GLIMP_OK; checked++) {
        if (single)
            snprintf(where, sizeof where, "append: ");
        else
            snprintf(where, sizeof where, "decode: item %zu: ", checked);
        rc = check_item(c, &items[checked], where, single ? "" : where);
        if (rc == GLIMP_OK)
            items[checked].seq->batch_item = checked + 1;
    }
    for (size_t i = 0; i < checked; i++)
        if (items[i].seq)
            items[i].seq->batch_item = 0;
    if (rc != GLIMP_OK)
        return rc;

    uint32_t most = 0;
    for (size_t i = 0; i < n_items && rc == GLIMP_OK; i++) {
        struct glimp_seq *s = items[i].seq;
        rc = kv_reserve(s, s->n_past + items[i].n);
        most = s->kv_cap > most ? s->kv_cap : most;
    }
    if (rc == GLIMP_OK)
        rc = model_ctx_reserve(c, most);

    uint32_t n_vocab = c->m->info.n_vocab;
    size_t made = 0;
    for (; made < n_items && rc == GLIMP_OK; made++) {
        const struct glimp_batch_item *it = &items[made];
        uint64_t want = (uint64_t)it->n * n_vocab; /* n <= n_ctx: below 2^56 */
        if (!it->all_logits || !it->logits || want <= it->seq->logits_all_cap)
            continue;
        float *p = want <= SIZE_MAX / sizeof(float) ? malloc((size_t)want * sizeof(float)) : NULL;
        if (!p)
            rc = glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory for the logits of %u positions",
                             single ? "append" : "decode", it->n);
        it->seq->logits_next = p;
    }
    for (size_t i = 0; i < made; i++) {
        struct glimp_seq *s = items[i].seq;
        if (!s->logits_next)
            continue;
        if (rc == GLIMP_OK) {
            free(s->logits_all);
            s->logits_all = s->logits_next;
            s->logits_all_cap = (size_t)items[i].n * n_vocab;
        } else {
            free(s->logits_next);
        }
        s->logits_next = NULL;
    }
    return rc;
}

/* The tokens of all items in chunks of n_batch, item after item (an item
 * may straddle two chunks); every token's numbers are the same whatever
 * the chunking and whatever shares its chunk, so this only bounds the
 * scratch. */
static void decode_run(struct glimp_ctx *c, const struct glimp_batch_item *items, size_t n_items)
{
    uint32_t B = c->n_batch, V = c->m->info.n_vocab;
    size_t i = 0;
    uint32_t off = 0; /* the next token: item i's off-th */
    while (i < n_items) {
        uint32_t k = 0;
        while (k < B && i < n_items) {
            const struct glimp_batch_item *it = &items[i];
            struct glimp_seq *s = it->seq;
            uint32_t take = it->n - off < B - k ? it->n - off : B - k;
            for (uint32_t j = off; j < off + take; j++) {
                struct model_tok *tk = &c->tok[k++];
                tk->s = s;
                tk->id = it->ids[j];
                tk->pos = s->n_past + j;
                tk->logits = !it->logits      ? NULL
                             : it->all_logits ? s->logits_all + (size_t)j * V
                             : j + 1 == it->n ? s->logits
                                              : NULL;
            }
            off += take;
            if (off == it->n) {
                i++;
                off = 0;
            }
        }
        model_lap(c, GLIMP_PASS_OTHER);
        model_forward_chunk(c, k);
    }
    for (i = 0; i < n_items; i++) {
        const struct glimp_batch_item *it = &items[i];
        it->seq->n_past += it->n;
        if (it->logits)
            *it->logits = it->all_logits ? it->seq->logits_all : it->seq->logits;
        if (c->timing)
            c->times.n_tokens += it->n;
    }
    if (c->timing)
        c->times.n_calls++;
    model_lap(c, GLIMP_PASS_OTHER);
}

/* The start of a timed call: its checks are the first of its time. */
static void decode_timed_begin(struct glimp_ctx *c)
{
    if (c && c->timing)
        c->lap_t = glimp_now();
}

int glimp_ctx_decode(struct glimp_ctx *c, const struct glimp_batch_item *items, size_t n_items)
{
    decode_timed_begin(c);
    int rc = decode_prepare(c, items, n_items, false);
    if (rc == GLIMP_OK)
        decode_run(c, items, n_items);
    return rc;
}

int glimp_seq_append(struct glimp_ctx *c, struct glimp_seq *s, const int32_t *ids, size_t n,
                     bool all_logits, const float **logits)
{
    if (c && s && n > UINT32_MAX)
        return glimp_error(GLIMP_ERR_RANGE, "sequence would hold %llu tokens, context is %u",
                           (unsigned long long)s->n_past + n, s->n_ctx);
    struct glimp_batch_item it = {
        .seq = s, .ids = ids, .n = (uint32_t)n, .all_logits = all_logits, .logits = logits};
    decode_timed_begin(c);
    int rc = decode_prepare(c, &it, 1, true);
    if (rc == GLIMP_OK)
        decode_run(c, &it, 1);
    return rc;
}

int glimp_seq_truncate(struct glimp_seq *s, uint32_t len)
{
    if (!s)
        return glimp_error(GLIMP_ERR_INVALID, "truncate: no sequence given");
    if (len > s->n_past)
        return glimp_error(GLIMP_ERR_RANGE, "truncate: sequence holds %u tokens, cannot grow to %u",
                           s->n_past, len);
    /* The cache rows past len are overwritten before they are read again.
     * A rollback that leaves three quarters of the cache unused gives it
     * back (all of it at len 0: a cancelled request's memory), keeping
     * whole pages; a short rollback (a rejected draft) keeps it all. */
    s->n_past = len;
    uint32_t keep = len ? kv_pages(s, len) : 0;
    if ((uint64_t)keep * 4 <= s->kv_cap)
        kv_resize(s, keep);
    return GLIMP_OK;
}
