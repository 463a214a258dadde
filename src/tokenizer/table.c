/* table.c - the tokenizer's open-addressing hash tables: a string hash for
 * token text -> id and the (left, right) -> merge table. Both are sized once
 * at load to a load factor of at most one half and never grow. */
#include "tokenizer/tokenizer_internal.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

uint64_t tok_hash_bytes(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
}

/* Smallest power of two >= 2 * n (at least 16), or 0 past 2^31. */
static uint64_t table_capacity(uint64_t n)
{
    uint64_t cap = 16;
    while (cap < 2 * n) {
        cap <<= 1;
        if (cap > (1ull << 31))
            return 0;
    }
    return cap;
}

int tok_pairmap_init(struct tok_pairmap *m, uint64_t n_entries)
{
    uint64_t cap = table_capacity(n_entries);
    if (cap == 0)
        return glimp_error(GLIMP_ERR_NOMEM, "tokenizer: %llu merges are too many",
                           (unsigned long long)n_entries);
    m->slots = malloc(cap * sizeof *m->slots);
    if (!m->slots)
        return glimp_error(GLIMP_ERR_NOMEM, "tokenizer: out of memory for the merge table");
    for (uint64_t i = 0; i < cap; i++)
        m->slots[i].key = TOK_PAIR_EMPTY;
    m->mask = (uint32_t)(cap - 1);
    return GLIMP_OK;
}

void tok_pairmap_free(struct tok_pairmap *m)
{
    free(m->slots);
    m->slots = NULL;
}

void tok_pairmap_put(struct tok_pairmap *m, int32_t left, int32_t right, uint32_t rank,
                     int32_t merged)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    uint32_t i = (uint32_t)(h >> 32) & m->mask;
    while (m->slots[i].key != TOK_PAIR_EMPTY) {
        if (m->slots[i].key == key)
            return;
        i = (i + 1) & m->mask;
    }
    m->slots[i].key = key;
    m->slots[i].rank = rank;
    m->slots[i].merged = merged;
}
