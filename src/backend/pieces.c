/* pieces.c - the text-mode token table: an open-addressing hash from a
 * token's text to its id, over texts kept one allocation each. */
#include "backend/pieces.h"

#include "core/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct piece {
    char *text;
    uint32_t len;
};

struct pieces {
    pthread_mutex_t mu;
    struct piece *at; /* id - PIECES_FIRST -> its text */
    uint32_t n, cap;
    size_t bytes;
    int32_t *slot; /* the hash: ids, -1 empty; n_slot a power of two */
    uint32_t n_slot;
};

static uint32_t hash_of(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

int pieces_new(struct pieces **out)
{
    struct pieces *p = calloc(1, sizeof *p);
    if (p && (p->slot = malloc(1024 * sizeof *p->slot))) {
        p->n_slot = 1024;
        memset(p->slot, 0xff, 1024 * sizeof *p->slot);
        pthread_mutex_init(&p->mu, NULL);
        *out = p;
        return GLIMP_OK;
    }
    free(p);
    return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory for the token table");
}

void pieces_free(struct pieces *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->n; i++)
        free(p->at[i].text);
    free(p->at);
    free(p->slot);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Where text is in the hash, or the empty slot where it would go. */
static uint32_t find_slot(const struct pieces *p, const char *text, size_t len)
{
    uint32_t mask = p->n_slot - 1, i = hash_of(text, len) & mask;
    for (;;) {
        int32_t id = p->slot[i];
        if (id < 0)
            return i;
        const struct piece *e = &p->at[id - PIECES_FIRST];
        if (e->len == len && !memcmp(e->text, text, len))
            return i;
        i = (i + 1) & mask;
    }
}

/* Double the hash (kept at most half full). */
static bool grow_slots(struct pieces *p)
{
    uint32_t n = p->n_slot * 2;
    int32_t *slot = malloc((size_t)n * sizeof *slot);
    if (!slot)
        return false;
    memset(slot, 0xff, (size_t)n * sizeof *slot);
    for (uint32_t i = 0; i < p->n; i++) {
        uint32_t j = hash_of(p->at[i].text, p->at[i].len) & (n - 1);
        while (slot[j] >= 0)
            j = (j + 1) & (n - 1);
        slot[j] = (int32_t)(i + PIECES_FIRST);
    }
    free(p->slot);
    p->slot = slot;
    p->n_slot = n;
    return true;
}

static int32_t add(struct pieces *p, const char *text, size_t len)
{
    if (p->n >= PIECES_MAX - PIECES_FIRST || len > PIECES_MAX_BYTES - p->bytes)
        return -1;
    if ((p->n + 1) * 2 > p->n_slot && !grow_slots(p))
        return -1;
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 256;
        struct piece *at = realloc(p->at, cap * sizeof *at);
        if (!at)
            return -1;
        p->at = at;
        p->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    p->at[p->n] = (struct piece){.text = copy, .len = (uint32_t)len};
    p->bytes += len;
    int32_t id = (int32_t)(p->n++ + PIECES_FIRST);
    p->slot[find_slot(p, text, len)] = id;
    return id;
}

int32_t pieces_intern(struct pieces *p, const char *text, size_t len)
{
    if (len == 1)
        return (uint8_t)text[0];
    if (len > PIECES_MAX_LEN)
        return -1;
    pthread_mutex_lock(&p->mu);
    int32_t id = p->slot[find_slot(p, text, len)];
    if (id < 0)
        id = add(p, text, len);
    pthread_mutex_unlock(&p->mu);
    return id;
}

bool pieces_has(struct pieces *p, int32_t id)
{
    if (id >= 0 && id < PIECES_FIRST)
        return true;
    pthread_mutex_lock(&p->mu);
    bool in = id >= PIECES_FIRST && (uint32_t)(id - PIECES_FIRST) < p->n;
    pthread_mutex_unlock(&p->mu);
    return in;
}

bool pieces_bytes(struct pieces *p, int32_t id, char *buf, size_t cap, size_t *len)
{
    *len = 0;
    if (id >= 0 && id < 256) {
        if (cap < 1)
            return false;
        buf[0] = (char)id;
        *len = 1;
        return true;
    }
    if (id >= 256 && id < PIECES_FIRST)
        return true;
    pthread_mutex_lock(&p->mu);
    bool ok = id >= PIECES_FIRST && (uint32_t)(id - PIECES_FIRST) < p->n;
    if (ok) {
        const struct piece *e = &p->at[id - PIECES_FIRST];
        ok = e->len <= cap;
        if (ok) {
            memcpy(buf, e->text, e->len);
            *len = e->len;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}
