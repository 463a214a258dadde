/* cache.c - the prompt cache of one model (--prompt-cache N): sequences of
 * finished one-model requests kept with their tokens, so that a request
 * whose prompt begins with the same tokens (the next turn of a chat, or a
 * remote router's next step, which resends the whole context) reads only
 * what is new. At most N are kept; the least recently used goes first.
 * Logits do not change: the engine gives a token bitwise the same logits
 * however the tokens before it were computed, in whichever request. */
#include "server/internal.h"

#include <stdlib.h>
#include <string.h>

void srv_cache_init(struct srv_cache *c, uint32_t cap)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->cap = cap;
    c->e = cap ? calloc(cap, sizeof *c->e) : NULL;
    if (!c->e)
        c->cap = 0; /* no memory for it: no cache, nothing else changes */
}

void srv_cache_free(struct srv_cache *c)
{
    for (uint32_t i = 0; i < c->n; i++) {
        c->e[i].seq->b->ops->seq_free(c->e[i].seq);
        glimp_tokens_free(&c->e[i].ids);
    }
    free(c->e);
    pthread_mutex_destroy(&c->mu);
    memset(c, 0, sizeof *c);
}

static uint32_t common_prefix(const struct glimp_tokens *a, const int32_t *ids, uint32_t n)
{
    uint32_t k = 0;
    while (k < a->n && k < n && a->ids[k] == ids[k])
        k++;
    return k;
}

struct bk_seq *srv_cache_take(struct srv_cache *c, const int32_t *ids, uint32_t n,
                              struct glimp_tokens *held, uint32_t *common)
{
    *common = 0;
    pthread_mutex_lock(&c->mu);
    uint32_t best = c->n, best_k = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t k = common_prefix(&c->e[i].ids, ids, n);
        if (k > best_k) {
            best = i;
            best_k = k;
        }
    }
    struct bk_seq *seq = NULL;
    if (best < c->n) {
        seq = c->e[best].seq;
        *held = c->e[best].ids;
        *common = best_k;
        c->e[best] = c->e[--c->n];
    }
    c->queries += n;
    c->hits += best_k;
    pthread_mutex_unlock(&c->mu);
    return seq;
}

void srv_cache_put(struct srv_cache *c, struct bk_seq *seq, struct glimp_tokens *ids)
{
    struct bk_seq *drop = seq;
    struct glimp_tokens drop_ids = *ids;
    pthread_mutex_lock(&c->mu);
    if (c->cap > 0) {
        uint32_t at = c->n;
        if (c->n == c->cap) { /* the least recently used makes room */
            at = 0;
            for (uint32_t i = 1; i < c->n; i++)
                if (c->e[i].used < c->e[at].used)
                    at = i;
            drop = c->e[at].seq;
            drop_ids = c->e[at].ids;
        } else {
            drop = NULL;
            c->n++;
        }
        c->e[at] = (struct srv_cache_entry){.seq = seq, .ids = *ids, .used = ++c->clock};
    }
    pthread_mutex_unlock(&c->mu);
    *ids = (struct glimp_tokens){0};
    if (drop) {
        drop->b->ops->seq_free(drop);
        glimp_tokens_free(&drop_ids);
    }
}

void srv_cache_counts(struct srv_cache *c, uint64_t *queries, uint64_t *hits)
{
    pthread_mutex_lock(&c->mu);
    *queries = c->queries;
    *hits = c->hits;
    pthread_mutex_unlock(&c->mu);
}
