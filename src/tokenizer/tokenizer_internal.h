/* tokenizer_internal.h - the loaded byte-level BPE tokenizer and the pieces
 * its source files share: hash tables (token text -> id, token pair ->
 * merge), the added-token trie, the pre-tokenizer and the BPE merger. */
#ifndef GLIMP_TOKENIZER_INTERNAL_H
#define GLIMP_TOKENIZER_INTERNAL_H

#include "glimp.h"

#include <stddef.h>
#include <stdint.h>

/* One text passed to glimp_tokenize may be at most this long, so that
 * positions inside it fit in 32 bits. */
#define TOK_MAX_TEXT ((size_t)INT32_MAX)

/* ------------------------------------------------------------ hash tables */

/* Token text -> id. Slots hold id + 1 (0: empty); the keys are the token
 * strings of the owning tokenizer, compared through it. */
struct tok_strmap {
    uint32_t *slots;
    uint64_t *hashes; /* hash of the slot's key, to skip most string compares */
    uint32_t mask;    /* capacity - 1, capacity a power of two */
};

/* (left id, right id) -> merge rank and the id of the merged token. */
struct tok_pair {
    uint64_t key; /* TOK_PAIR_EMPTY or left << 32 | right */
    uint32_t rank;
    int32_t merged;
};

#define TOK_PAIR_EMPTY UINT64_MAX

struct tok_pairmap {
    struct tok_pair *slots;
    uint32_t mask;
};

uint64_t tok_hash_bytes(const void *p, size_t n);

int tok_pairmap_init(struct tok_pairmap *m, uint64_t n_entries);
void tok_pairmap_free(struct tok_pairmap *m);
/* Adds the pair unless present (the first, lowest rank, wins). */
void tok_pairmap_put(struct tok_pairmap *m, int32_t left, int32_t right, uint32_t rank,
                     int32_t merged);
/* The entry, or NULL. */
static inline const struct tok_pair *tok_pairmap_get(const struct tok_pairmap *m, int32_t left,
                                                     int32_t right)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    uint32_t i = (uint32_t)(h >> 32) & m->mask;
    for (;;) {
        const struct tok_pair *e = &m->slots[i];
        if (e->key == key)
            return e;
        if (e->key == TOK_PAIR_EMPTY)
            return NULL;
        i = (i + 1) & m->mask;
    }
}

/* ------------------------------------------------------------------- trie */

/* Added tokens (CONTROL and USER_DEFINED) by their text, to find them in
 * the input before pre-tokenization. Children are a linked list of
 * siblings; node 0 is the root. */
struct tok_trie_node {
    int32_t child;   /* first child, -1 none */
    int32_t sibling; /* next sibling, -1 none */
    int32_t id;      /* token ending here, -1 none */
    uint8_t byte;    /* the byte on the edge into this node */
};

/* ------------------------------------------------------------- tokenizer */

struct glimp_tokenizer {
    uint32_t n_vocab;
    char *text;          /* every token's vocabulary string, NUL-terminated */
    uint64_t *text_off;  /* (n_vocab + 1): token i is text[text_off[i] ..
                            text_off[i + 1] - 1), the NUL excluded */
    uint8_t *type;       /* (n_vocab) enum glimp_token_type */
    char *bytes;         /* every token's decoded bytes */
    uint64_t *bytes_off; /* (n_vocab + 1) */

    int32_t byte_id[256]; /* the token of each single byte's symbol */
    struct tok_strmap vocab;
    struct tok_pairmap merges;

    struct tok_trie_node *trie;
    uint32_t n_trie;
    uint8_t first_any[32];  /* bit b: some added token starts with byte b */
    uint8_t first_user[32]; /* the same for USER_DEFINED ones */

    void *re; /* pcre2_code * of the pre-tokenizer */
    enum glimp_pretok pretok;
    bool nfc;           /* normalise to NFC before splitting (Qwen) */
    bool ignore_merges; /* a piece that is a token is taken whole (Llama 3) */

    int32_t bos, eos, eot, pad;
    bool add_bos;
    char warning[256];
};

static inline uint64_t tok_text_len(const struct glimp_tokenizer *t, uint32_t id)
{
    return t->text_off[id + 1] - t->text_off[id] - 1;
}

/* The id of a token text, or -1 (any type). */
int32_t tok_find(const struct glimp_tokenizer *t, const char *s, size_t n);

/* ------------------------------------------------------------ pre-tokenizer */

/* Scratch memory for one glimp_tokenize call; zero-initialise, release with
 * tok_scratch_free. */
struct tok_scratch {
    void *match_data; /* pcre2_match_data * */
    int32_t *sym;     /* BPE symbols of the current piece; -1: merged away */
    int32_t *prev, *next;
    size_t sym_cap;
    struct tok_heap_entry *heap;
    size_t heap_cap;
    char *word; /* a piece in byte-level symbols (ignore_merges lookups) */
    size_t word_cap;
    /* Direct-mapped memo of short pieces -> their tokens, for long texts
     * where words repeat; NULL when not worth it. */
    struct tok_cache_slot *cache;
};

#define TOK_CACHE_SLOTS 2048   /* a power of two */
#define TOK_CACHE_MAX_BYTES 16 /* longer pieces are not memoised */
#define TOK_CACHE_MAX_IDS 8
#define TOK_CACHE_MIN_TEXT 2048 /* texts shorter than this do without */

struct tok_cache_slot {
    uint8_t len; /* piece bytes; 0: empty */
    uint8_t n_ids;
    char bytes[TOK_CACHE_MAX_BYTES];
    int32_t ids[TOK_CACHE_MAX_IDS];
};

void tok_scratch_free(struct tok_scratch *s);
void tok_pretok_scratch_free(struct tok_scratch *s); /* the regex match data */

/* Compile the pre-tokenizer regex of t->pretok into t->re. */
int tok_pretok_init(struct glimp_tokenizer *t);
void tok_pretok_free(struct glimp_tokenizer *t);

/* Split len bytes of ordinary text (no added tokens in it) into pieces and
 * append the BPE tokens of each to out. */
int tok_encode_fragment(const struct glimp_tokenizer *t, struct tok_scratch *s, const char *text,
                        size_t len, struct glimp_tokens *out);

/* Append the BPE tokens of one piece (raw bytes, n >= 1). */
int tok_bpe_piece(const struct glimp_tokenizer *t, struct tok_scratch *s, const uint8_t *p,
                  size_t n, struct glimp_tokens *out);

/* Append one id, growing out. */
int tok_push(struct glimp_tokens *out, int32_t id);

/* --------------------------------------------------------------- UTF-8 */

/* Length of the well-formed UTF-8 sequence at p[0..n) (1..4), or 0 when it
 * is not one. *prefix (may be NULL) is set to the number of bytes that form
 * a valid but incomplete start of a sequence when n cuts it short, else 0. */
size_t tok_utf8_seq(const uint8_t *p, size_t n, size_t *prefix);

/* Length of the maximal subpart at p (Unicode's unit for one U+FFFD): the
 * longest prefix of a well-formed sequence, at least 1. */
size_t tok_utf8_bad_len(const uint8_t *p, size_t n);

/* GPT-2's byte-level symbols: the code point standing for byte b, and the
 * byte of a code point (-1 when it stands for none). */
uint32_t tok_byte_to_cp(uint8_t b);
int tok_cp_to_byte(uint32_t cp);

#endif
