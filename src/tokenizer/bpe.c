/* bpe.c - byte-level BPE merging of one pre-tokenized piece. The piece
 * starts as one symbol per byte; the adjacent pair with the lowest merge
 * rank (leftmost on ties) is merged until none is left, as Hugging Face's
 * and llama.cpp's BPE do. Candidate pairs sit in a binary heap, stale ones
 * are skipped when popped, so a piece of n bytes costs O(n log n) even when
 * it is a megabyte with no spaces. */
#include "tokenizer/tokenizer_internal.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* A candidate merge: rank << 32 | position of its left symbol, so that
 * ordering by the integer is ordering by rank, then leftmost. The rank
 * names the pair (one merge per rank), so an entry is still good when the
 * pair now at its position has its rank. */
struct tok_heap_entry {
    uint64_t key;
};

struct heap {
    struct tok_heap_entry *e;
    size_t n;
};

static void heap_push(struct heap *h, uint64_t key)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->e[parent].key <= key)
            break;
        h->e[i] = h->e[parent];
        i = parent;
    }
    h->e[i].key = key;
}

static uint64_t heap_pop(struct heap *h)
{
    uint64_t top = h->e[0].key;
    uint64_t x = h->e[--h->n].key;
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h->e[c + 1].key < h->e[c].key)
            c++;
        if (h->e[c].key >= x)
            break;
        h->e[i] = h->e[c];
        i = c;
    }
    if (n > 0)
        h->e[i].key = x;
    return top;
}

int glimp_tokens_insert(struct glimp_tokens *t, size_t at, const int32_t *ids, size_t n)
{
    if (!t || at > t->n || (!ids && n))
        return glimp_error(GLIMP_ERR_INVALID, "tokens: nothing to insert into, or at %zu of %zu",
                           at, t ? t->n : 0);
    if (n == 0)
        return GLIMP_OK;
    if (n > SIZE_MAX / sizeof *t->ids - t->n)
        return glimp_error(GLIMP_ERR_NOMEM, "tokens: a list of %zu + %zu tokens is too long", t->n,
                           n);
    if (t->n + n > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->n + n)
            cap = cap > SIZE_MAX / 2 / sizeof *t->ids ? t->n + n : cap * 2;
        int32_t *p = realloc(t->ids, cap * sizeof *p);
        if (!p)
            return glimp_error(GLIMP_ERR_NOMEM, "tokens: out of memory for %zu tokens", cap);
        t->ids = p;
        t->cap = cap;
    }
    memmove(t->ids + at + n, t->ids + at, (t->n - at) * sizeof *t->ids);
    memcpy(t->ids + at, ids, n * sizeof *ids);
    t->n += n;
    return GLIMP_OK;
}

int glimp_tokens_push(struct glimp_tokens *t, const int32_t *ids, size_t n)
{
    return glimp_tokens_insert(t, t ? t->n : 0, ids, n);
}

int tok_push(struct glimp_tokens *out, int32_t id)
{
    if (out->n < out->cap) { /* the tokenizer's hot path */
        out->ids[out->n++] = id;
        return GLIMP_OK;
    }
    return glimp_tokens_push(out, &id, 1);
}

void glimp_tokens_free(struct glimp_tokens *tokens)
{
    if (!tokens)
        return;
    free(tokens->ids);
    tokens->ids = NULL;
    tokens->n = tokens->cap = 0;
}

/* Room for a piece of n bytes: n symbols and at most 3n heap entries (n - 1
 * at first, two more per merge). */
static int reserve(struct tok_scratch *s, size_t n)
{
    if (n <= s->sym_cap)
        return GLIMP_OK;
    size_t cap = s->sym_cap ? s->sym_cap : 64;
    while (cap < n)
        cap *= 2;
    free(s->sym);
    free(s->prev);
    free(s->next);
    free(s->heap);
    s->sym = malloc(cap * sizeof *s->sym);
    s->prev = malloc(cap * sizeof *s->prev);
    s->next = malloc(cap * sizeof *s->next);
    s->heap = malloc(3 * cap * sizeof *s->heap);
    if (!s->sym || !s->prev || !s->next || !s->heap) {
        s->sym_cap = 0;
        return glimp_error(GLIMP_ERR_NOMEM, "tokenize: out of memory for a piece of %zu bytes", n);
    }
    s->sym_cap = cap;
    s->heap_cap = 3 * cap;
    return GLIMP_OK;
}

static inline void try_pair(const struct glimp_tokenizer *t, const struct tok_scratch *s,
                            struct heap *h, int32_t left_pos, int32_t right_pos)
{
    const struct tok_pair *m = tok_pairmap_get(&t->merges, s->sym[left_pos], s->sym[right_pos]);
    if (m)
        heap_push(h, (uint64_t)m->rank << 32 | (uint32_t)left_pos);
}

/* Llama 3 (ignore_merges): a piece that is an ordinary token is that token,
 * whatever the merges would make of it. */
static int32_t whole_piece(const struct glimp_tokenizer *t, struct tok_scratch *s, const uint8_t *p,
                           size_t n)
{
    if (n > s->word_cap / 2) {
        size_t cap = 2 * n + 16;
        char *w = realloc(s->word, cap);
        if (!w)
            return -2;
        s->word = w;
        s->word_cap = cap;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = tok_byte_to_cp(p[i]);
        if (cp < 0x80) {
            s->word[k++] = (char)cp;
        } else {
            s->word[k++] = (char)(0xC0 | (cp >> 6));
            s->word[k++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    int32_t id = tok_find(t, s->word, k);
    if (id >= 0 && t->type[id] != GLIMP_TOKEN_NORMAL && t->type[id] != GLIMP_TOKEN_UNDEFINED)
        id = -1;
    return id;
}

static int bpe_merge(const struct glimp_tokenizer *t, struct tok_scratch *s, const uint8_t *p,
                     size_t n, struct glimp_tokens *out)
{
    if (t->ignore_merges) {
        int32_t id = whole_piece(t, s, p, n);
        if (id == -2)
            return glimp_error(GLIMP_ERR_NOMEM, "tokenize: out of memory");
        if (id >= 0)
            return tok_push(out, id);
    }
    int rc = reserve(s, n);
    if (rc != GLIMP_OK)
        return rc;
    int32_t *sym = s->sym, *prev = s->prev, *next = s->next;
    for (size_t i = 0; i < n; i++) {
        sym[i] = t->byte_id[p[i]];
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    struct heap h = {.e = s->heap, .n = 0};
    for (size_t i = 0; i + 1 < n; i++)
        try_pair(t, s, &h, (int32_t)i, (int32_t)i + 1);
    while (h.n > 0) {
        uint64_t key = heap_pop(&h);
        int32_t l = (int32_t)(uint32_t)key, r = next[l];
        /* Stale: the left symbol was merged into another, or the pair at
         * its place is no longer the one the entry was made for. */
        if (sym[l] < 0 || r < 0)
            continue;
        const struct tok_pair *m = tok_pairmap_get(&t->merges, sym[l], sym[r]);
        if (!m || m->rank != (uint32_t)(key >> 32))
            continue;
        sym[l] = m->merged;
        sym[r] = -1;
        int32_t nr = next[r];
        next[l] = nr;
        if (nr >= 0)
            prev[nr] = l;
        if (prev[l] >= 0)
            try_pair(t, s, &h, prev[l], l);
        if (nr >= 0)
            try_pair(t, s, &h, l, nr);
    }
    for (int32_t i = 0; i >= 0; i = next[i])
        if ((rc = tok_push(out, sym[i])) != GLIMP_OK)
            return rc;
    return GLIMP_OK;
}

int tok_bpe_piece(const struct glimp_tokenizer *t, struct tok_scratch *s, const uint8_t *p,
                  size_t n, struct glimp_tokens *out)
{
    if (n == 1)
        return tok_push(out, t->byte_id[p[0]]);
    if (!s->cache || n > TOK_CACHE_MAX_BYTES)
        return bpe_merge(t, s, p, n, out);
    struct tok_cache_slot *c = &s->cache[tok_hash_bytes(p, n) & (TOK_CACHE_SLOTS - 1)];
    int rc;
    if (c->len == n && memcmp(c->bytes, p, n) == 0) {
        for (size_t i = 0; i < c->n_ids; i++)
            if ((rc = tok_push(out, c->ids[i])) != GLIMP_OK)
                return rc;
        return GLIMP_OK;
    }
    size_t first = out->n;
    if ((rc = bpe_merge(t, s, p, n, out)) != GLIMP_OK)
        return rc;
    size_t n_ids = out->n - first;
    if (n_ids <= TOK_CACHE_MAX_IDS) {
        c->len = (uint8_t)n;
        c->n_ids = (uint8_t)n_ids;
        memcpy(c->bytes, p, n);
        memcpy(c->ids, out->ids + first, n_ids * sizeof *c->ids);
    }
    return GLIMP_OK;
}

void tok_scratch_free(struct tok_scratch *s)
{
    free(s->cache);
    free(s->sym);
    free(s->prev);
    free(s->next);
    free(s->heap);
    free(s->word);
    tok_pretok_scratch_free(s);
    memset(s, 0, sizeof *s);
}
