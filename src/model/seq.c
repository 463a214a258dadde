/* seq.c - sequences: a KV cache allocated whole at creation, appends
 * checked in full before anything changes (so a refused one leaves the
 * sequence as it was), run in a context's workspace in chunks of its
 * n_batch, and rollback. */
#include "core/error.h"
#include "model/model.h"

#include <stdint.h>
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
    if (per_layer > UINT64_MAX / 8 / h->n_layer)
        return glimp_error(GLIMP_ERR_NOMEM, "sequence: a KV cache of %u tokens is too large",
                           n_ctx);
    uint64_t cache = per_layer * h->n_layer; /* floats in K, and in V */

    struct glimp_seq *s = calloc(1, sizeof *s);
    if (!s)
        return glimp_error(GLIMP_ERR_NOMEM, "sequence: out of memory");
    s->m = m;
    s->n_ctx = n_ctx;
    s->k_cache = alloc_floats(cache);
    s->v_cache = alloc_floats(cache);
    s->logits = alloc_floats(h->n_vocab);
    if (!s->k_cache || !s->v_cache || !s->logits) {
        glimp_seq_free(s);
        return glimp_error(GLIMP_ERR_NOMEM,
                           "sequence: out of memory for a KV cache of %u tokens (%llu bytes)",
                           n_ctx, (unsigned long long)(cache * 2 * sizeof(float)));
    }
    *out = s;
    return GLIMP_OK;
}

void glimp_seq_free(struct glimp_seq *s)
{
    if (!s)
        return;
    free(s->k_cache);
    free(s->v_cache);
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

int glimp_seq_append(struct glimp_ctx *c, struct glimp_seq *s, const int32_t *ids, size_t n,
                     bool all_logits, const float **logits)
{
    if (!c || !s || (!ids && n))
        return glimp_error(GLIMP_ERR_INVALID, "append: no %s given",
                           !c   ? "context"
                           : !s ? "sequence"
                                : "ids");
    if (c->m != s->m)
        return glimp_error(GLIMP_ERR_INVALID,
                           "append: the context and the sequence belong to different models");
    if (n == 0)
        return glimp_error(GLIMP_ERR_INVALID, "append: no tokens given");
    const struct glimp_model *m = s->m;
    uint32_t n_vocab = m->info.n_vocab;
    if (n > (size_t)(s->n_ctx - s->n_past))
        return glimp_error(GLIMP_ERR_RANGE, "sequence would hold %llu tokens, context is %u",
                           (unsigned long long)s->n_past + n, s->n_ctx);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (uint32_t)ids[i] >= n_vocab)
            return glimp_error(GLIMP_ERR_RANGE,
                               "token id %ld at index %zu is outside the vocabulary (0..%u)",
                               (long)ids[i], i, n_vocab - 1);
    /* the context's scores first: growing them changes nothing the caller
     * holds, while the all-logits buffer replaces the last append's */
    int rc = model_ctx_reserve(c, s->n_ctx);
    if (rc != GLIMP_OK)
        return rc;
    if (all_logits && (uint64_t)n * n_vocab > s->logits_all_cap) {
        uint64_t want = (uint64_t)n * n_vocab; /* n <= n_ctx: below 2^56 */
        float *p = want <= SIZE_MAX / sizeof(float) ? malloc((size_t)want * sizeof(float)) : NULL;
        if (!p)
            return glimp_error(GLIMP_ERR_NOMEM,
                               "append: out of memory for the logits of %zu positions", n);
        free(s->logits_all);
        s->logits_all = p;
        s->logits_all_cap = (size_t)want;
    }

    /* Chunks of n_batch; every token's numbers are the same whatever the
     * chunking, so this only bounds the scratch. */
    uint32_t B = c->n_batch;
    for (size_t off = 0; off < n;) {
        uint32_t k = n - off < B ? (uint32_t)(n - off) : B;
        bool last = off + k == n;
        glimp_forward_chunk(c, s, ids + off, k, all_logits ? s->logits_all + off * n_vocab : NULL,
                            last && !all_logits ? s->logits : NULL);
        s->n_past += k;
        off += k;
    }
    if (logits)
        *logits = all_logits ? s->logits_all : s->logits;
    return GLIMP_OK;
}

int glimp_seq_truncate(struct glimp_seq *s, uint32_t len)
{
    if (!s)
        return glimp_error(GLIMP_ERR_INVALID, "truncate: no sequence given");
    if (len > s->n_past)
        return glimp_error(GLIMP_ERR_RANGE, "truncate: sequence holds %u tokens, cannot grow to %u",
                           s->n_past, len);
    /* The cache rows past len are overwritten before they are read again. */
    s->n_past = len;
    return GLIMP_OK;
}
