/* tokenizer.c - loading a byte-level BPE tokenizer from GGUF metadata (the
 * keys llama.cpp's converter writes), the vocabulary lookups and the special
 * token ids. Everything is copied out of the file, so the tokenizer outlives
 * it and is read-only afterwards. */
#include "tokenizer/tokenizer_internal.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MODEL "tokenizer.ggml.model"
#define KEY_PRE "tokenizer.ggml.pre"
#define KEY_TOKENS "tokenizer.ggml.tokens"
#define KEY_TYPES "tokenizer.ggml.token_type"
#define KEY_MERGES "tokenizer.ggml.merges"

struct glimp_tokenizer_params glimp_tokenizer_default_params(void)
{
    struct glimp_tokenizer_params p = {.allow_unknown_pre = false};
    return p;
}

/* ---------------------------------------------------------- vocab lookups */

int32_t tok_find(const struct glimp_tokenizer *t, const char *s, size_t n)
{
    uint64_t h = tok_hash_bytes(s, n);
    uint32_t i = (uint32_t)h & t->vocab.mask;
    for (;;) {
        uint32_t slot = t->vocab.slots[i];
        if (slot == 0)
            return -1;
        uint32_t id = slot - 1;
        if (t->vocab.hashes[i] == h && tok_text_len(t, id) == n &&
            memcmp(t->text + t->text_off[id], s, n) == 0)
            return (int32_t)id;
        i = (i + 1) & t->vocab.mask;
    }
}

/* Index every token by its text; of two equal texts the first id wins. */
static int build_vocab_map(struct glimp_tokenizer *t)
{
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)t->n_vocab)
        cap <<= 1;
    t->vocab.slots = calloc(cap, sizeof *t->vocab.slots);
    t->vocab.hashes = malloc(cap * sizeof *t->vocab.hashes);
    if (!t->vocab.slots || !t->vocab.hashes)
        return glimp_error(GLIMP_ERR_NOMEM, "tokenizer: out of memory for the vocabulary index");
    t->vocab.mask = (uint32_t)(cap - 1);
    for (uint32_t id = 0; id < t->n_vocab; id++) {
        const char *s = t->text + t->text_off[id];
        uint64_t n = tok_text_len(t, id);
        uint64_t h = tok_hash_bytes(s, n);
        uint32_t i = (uint32_t)h & t->vocab.mask;
        bool dup = false;
        while (t->vocab.slots[i] != 0) {
            uint32_t other = t->vocab.slots[i] - 1;
            if (t->vocab.hashes[i] == h && tok_text_len(t, other) == n &&
                memcmp(t->text + t->text_off[other], s, n) == 0) {
                dup = true;
                break;
            }
            i = (i + 1) & t->vocab.mask;
        }
        if (!dup) {
            t->vocab.slots[i] = id + 1;
            t->vocab.hashes[i] = h;
        }
    }
    return GLIMP_OK;
}

/* ------------------------------------------------------------- loading */

static bool is_int_vtype(enum glimp_gguf_vtype v)
{
    return v == GLIMP_GGUF_U8 || v == GLIMP_GGUF_I8 || v == GLIMP_GGUF_U16 || v == GLIMP_GGUF_I16 ||
           v == GLIMP_GGUF_U32 || v == GLIMP_GGUF_I32 || v == GLIMP_GGUF_U64 || v == GLIMP_GGUF_I64;
}

static int copy_tokens(struct glimp_tokenizer *t, const struct glimp_gguf_value *tokens)
{
    uint64_t total = 0;
    for (uint64_t i = 0; i < tokens->arr.n; i++) {
        total += tokens->arr.strs[i].len + 1;
        if (total > (1ull << 40))
            return glimp_error(GLIMP_ERR_FORMAT, "tokenizer: %s holds too much text", KEY_TOKENS);
    }
    uint32_t n = t->n_vocab;
    t->text = malloc(total ? total : 1);
    t->bytes = malloc(total ? total : 1);
    t->text_off = malloc(((size_t)n + 1) * sizeof *t->text_off);
    t->bytes_off = malloc(((size_t)n + 1) * sizeof *t->bytes_off);
    t->type = malloc(n);
    if (!t->text || !t->bytes || !t->text_off || !t->bytes_off || !t->type)
        return glimp_error(GLIMP_ERR_NOMEM, "tokenizer: out of memory for %u tokens", n);
    uint64_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct glimp_str *s = &tokens->arr.strs[i];
        t->text_off[i] = off;
        if (s->len)
            memcpy(t->text + off, s->ptr, s->len);
        t->text[off + s->len] = '\0';
        off += s->len + 1;
    }
    t->text_off[n] = off;
    return GLIMP_OK;
}

static int read_types(struct glimp_tokenizer *t, const struct glimp_gguf *g)
{
    const struct glimp_gguf_value *v;
    int rc = glimp_gguf_get_arr(g, KEY_TYPES, GLIMP_GGUF_ARR, &v);
    if (rc == GLIMP_ERR_NOT_FOUND) {
        memset(t->type, GLIMP_TOKEN_NORMAL, t->n_vocab);
        return GLIMP_OK;
    }
    if (rc != GLIMP_OK)
        return glimp_error_prefix(rc, "tokenizer: ");
    if (!is_int_vtype(v->arr.type))
        return glimp_error(GLIMP_ERR_TYPE, "tokenizer: %s holds %s values, not integers", KEY_TYPES,
                           glimp_gguf_vtype_name(v->arr.type));
    if (v->arr.n != t->n_vocab)
        return glimp_error(GLIMP_ERR_FORMAT, "tokenizer: %s has %llu entries for %u tokens",
                           KEY_TYPES, (unsigned long long)v->arr.n, t->n_vocab);
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        int64_t x = glimp_gguf_arr_i64(v, i);
        if (v->arr.type == GLIMP_GGUF_U64 && glimp_gguf_arr_u64(v, i) > 6)
            x = -1;
        if (x < GLIMP_TOKEN_UNDEFINED || x > GLIMP_TOKEN_BYTE)
            return glimp_error(GLIMP_ERR_FORMAT, "tokenizer: %s[%u] = %lld is no token type",
                               KEY_TYPES, i, (long long)x);
        t->type[i] = (uint8_t)x;
    }
    return GLIMP_OK;
}

/* Byte-level symbols of each of the 256 bytes must be tokens. */
static int find_byte_tokens(struct glimp_tokenizer *t)
{
    for (unsigned b = 0; b < 256; b++) {
        uint32_t cp = tok_byte_to_cp((uint8_t)b);
        char s[2];
        size_t n = 1;
        if (cp < 0x80) {
            s[0] = (char)cp;
        } else {
            s[0] = (char)(0xC0 | (cp >> 6));
            s[1] = (char)(0x80 | (cp & 0x3F));
            n = 2;
        }
        t->byte_id[b] = tok_find(t, s, n);
        if (t->byte_id[b] < 0)
            return glimp_error(GLIMP_ERR_FORMAT,
                               "tokenizer: %s has no token '%.*s' for byte 0x%02X, as byte-level "
                               "BPE needs",
                               KEY_TOKENS, (int)n, s, b);
    }
    return GLIMP_OK;
}

/* Merges are "left right" strings, rank = index; both parts and their
 * concatenation must be tokens. */
static int read_merges(struct glimp_tokenizer *t, const struct glimp_gguf *g)
{
    const struct glimp_gguf_value *v;
    int rc = glimp_gguf_get_arr(g, KEY_MERGES, GLIMP_GGUF_STR, &v);
    if (rc != GLIMP_OK)
        return glimp_error_prefix(rc, "tokenizer: ");
    if (v->arr.n > (1u << 30))
        return glimp_error(GLIMP_ERR_FORMAT, "tokenizer: %s has %llu entries, too many", KEY_MERGES,
                           (unsigned long long)v->arr.n);
    if ((rc = tok_pairmap_init(&t->merges, v->arr.n)) != GLIMP_OK)
        return rc;
    char *buf = NULL;
    size_t buf_cap = 0;
    for (uint64_t i = 0; i < v->arr.n; i++) {
        const struct glimp_str *m = &v->arr.strs[i];
        /* The first space after the first byte splits, as llama.cpp does. */
        const char *sp = m->len > 1 ? memchr(m->ptr + 1, ' ', m->len - 1) : NULL;
        if (!sp || (uint64_t)(sp - m->ptr) + 1 == m->len) {
            free(buf);
            return glimp_error(
                GLIMP_ERR_FORMAT, "tokenizer: %s[%llu] '%.*s' is not two tokens split by a space",
                KEY_MERGES, (unsigned long long)i, (int)(m->len > 200 ? 200 : m->len), m->ptr);
        }
        size_t na = (size_t)(sp - m->ptr), nb = (size_t)m->len - na - 1;
        if (na + nb > buf_cap) {
            free(buf);
            buf_cap = 2 * (na + nb);
            if (!(buf = malloc(buf_cap)))
                return glimp_error(GLIMP_ERR_NOMEM, "tokenizer: out of memory");
        }
        memcpy(buf, m->ptr, na);
        memcpy(buf + na, sp + 1, nb);
        int32_t a = tok_find(t, m->ptr, na), b = tok_find(t, sp + 1, nb);
        int32_t ab = tok_find(t, buf, na + nb);
        if (a < 0 || b < 0 || ab < 0) {
            const char *what = a < 0 ? m->ptr : b < 0 ? sp + 1 : buf;
            size_t wn = a < 0 ? na : b < 0 ? nb : na + nb;
            rc = glimp_error(GLIMP_ERR_FORMAT, "tokenizer: %s[%llu] '%.*s': '%.*s' is not a token",
                             KEY_MERGES, (unsigned long long)i, (int)(m->len > 200 ? 200 : m->len),
                             m->ptr, (int)(wn > 200 ? 200 : wn), what);
            free(buf);
            return rc;
        }
        tok_pairmap_put(&t->merges, a, b, (uint32_t)i, ab);
    }
    free(buf);
    return GLIMP_OK;
}

/* A special id key: absent leaves *id as it is; present must name a token. */
static int read_special(const struct glimp_tokenizer *t, const struct glimp_gguf *g,
                        const char *key, int32_t *id)
{
    uint32_t v;
    int rc = glimp_gguf_get_u32(g, key, &v);
    if (rc == GLIMP_ERR_NOT_FOUND)
        return GLIMP_OK;
    if (rc != GLIMP_OK)
        return glimp_error_prefix(rc, "tokenizer: ");
    if (v >= t->n_vocab)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "tokenizer: %s = %u is past the vocabulary (%u tokens)", key, v,
                           t->n_vocab);
    *id = (int32_t)v;
    return GLIMP_OK;
}

static bool is_special_type(uint8_t type)
{
    return type == GLIMP_TOKEN_CONTROL || type == GLIMP_TOKEN_USER_DEFINED ||
           type == GLIMP_TOKEN_UNKNOWN || type == GLIMP_TOKEN_UNUSED;
}

/* Each token's bytes: byte-level symbols mapped back for ordinary tokens
 * (code points that stand for no byte, and bytes that are not UTF-8, are
 * kept as they are), the text itself for added and special tokens. */
static void decode_tokens(struct glimp_tokenizer *t)
{
    uint64_t off = 0;
    for (uint32_t id = 0; id < t->n_vocab; id++) {
        const uint8_t *s = (const uint8_t *)t->text + t->text_off[id];
        size_t n = (size_t)tok_text_len(t, id);
        t->bytes_off[id] = off;
        if (is_special_type(t->type[id])) {
            memcpy(t->bytes + off, s, n);
            off += n;
            continue;
        }
        for (size_t i = 0; i < n;) {
            size_t k = tok_utf8_seq(s + i, n - i, NULL);
            int b = -1;
            if (k == 1)
                b = tok_cp_to_byte(s[i]);
            else if (k == 2)
                b = tok_cp_to_byte((uint32_t)(s[i] & 0x1F) << 6 | (s[i + 1] & 0x3F));
            if (k == 0)
                k = 1;
            if (b >= 0) {
                t->bytes[off++] = (char)b;
            } else {
                memcpy(t->bytes + off, s + i, k);
                off += k;
            }
            i += k;
        }
    }
    t->bytes_off[t->n_vocab] = off;
}

static void set_bit(uint8_t *mask, uint8_t b)
{
    mask[b >> 3] |= (uint8_t)(1u << (b & 7));
}

/* The trie of CONTROL and USER_DEFINED tokens. */
static int build_trie(struct glimp_tokenizer *t)
{
    uint64_t nodes = 1;
    for (uint32_t id = 0; id < t->n_vocab; id++)
        if (t->type[id] == GLIMP_TOKEN_CONTROL || t->type[id] == GLIMP_TOKEN_USER_DEFINED)
            nodes += tok_text_len(t, id);
    if (nodes > INT32_MAX)
        return glimp_error(GLIMP_ERR_FORMAT, "tokenizer: added tokens hold too much text");
    t->trie = malloc(nodes * sizeof *t->trie);
    if (!t->trie)
        return glimp_error(GLIMP_ERR_NOMEM, "tokenizer: out of memory for the added tokens");
    t->trie[0] = (struct tok_trie_node){.child = -1, .sibling = -1, .id = -1};
    t->n_trie = 1;
    for (uint32_t id = 0; id < t->n_vocab; id++) {
        uint8_t type = t->type[id];
        if (type != GLIMP_TOKEN_CONTROL && type != GLIMP_TOKEN_USER_DEFINED)
            continue;
        const uint8_t *s = (const uint8_t *)t->text + t->text_off[id];
        size_t n = (size_t)tok_text_len(t, id);
        if (n == 0)
            continue;
        set_bit(t->first_any, s[0]);
        if (type == GLIMP_TOKEN_USER_DEFINED)
            set_bit(t->first_user, s[0]);
        int32_t node = 0;
        for (size_t k = 0; k < n; k++) {
            int32_t c = t->trie[node].child;
            while (c >= 0 && t->trie[c].byte != s[k])
                c = t->trie[c].sibling;
            if (c < 0) {
                c = (int32_t)t->n_trie++;
                t->trie[c] = (struct tok_trie_node){
                    .child = -1, .sibling = t->trie[node].child, .id = -1, .byte = s[k]};
                t->trie[node].child = c;
            }
            node = c;
        }
        if (t->trie[node].id < 0)
            t->trie[node].id = (int32_t)id;
    }
    return GLIMP_OK;
}

/* tokenizer.ggml.pre -> rules. Names as llama.cpp maps them. */
static int choose_pretok(struct glimp_tokenizer *t, const struct glimp_gguf *g,
                         const struct glimp_tokenizer_params *p)
{
    static const struct {
        const char *name;
        enum glimp_pretok pretok;
    } known[] = {
        {"qwen2", GLIMP_PRETOK_QWEN2},      {"deepseek-r1-qwen", GLIMP_PRETOK_QWEN2},
        {"llama-bpe", GLIMP_PRETOK_LLAMA3}, {"llama3", GLIMP_PRETOK_LLAMA3},
        {"llama-v3", GLIMP_PRETOK_LLAMA3},
    };
    struct glimp_str pre;
    int rc = glimp_gguf_get_str(g, KEY_PRE, &pre);
    if (rc != GLIMP_OK && rc != GLIMP_ERR_NOT_FOUND)
        return glimp_error_prefix(rc, "tokenizer: ");
    if (rc == GLIMP_OK) {
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            if (strlen(known[i].name) == pre.len && !memcmp(known[i].name, pre.ptr, pre.len)) {
                t->pretok = known[i].pretok;
                return GLIMP_OK;
            }
        }
    }
    char what[160];
    if (rc == GLIMP_OK)
        snprintf(what, sizeof what, "unknown pre-tokenizer '%.*s' (%s)",
                 (int)(pre.len > 64 ? 64 : pre.len), pre.ptr, KEY_PRE);
    else
        snprintf(what, sizeof what, "no pre-tokenizer (%s is missing)", KEY_PRE);
    if (!p->allow_unknown_pre)
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "tokenizer: %s; glimp knows qwen2, deepseek-r1-qwen and llama-bpe",
                           what);
    t->pretok = GLIMP_PRETOK_QWEN2;
    snprintf(t->warning, sizeof t->warning, "%s; using the qwen2 rules", what);
    return GLIMP_OK;
}

static int load(struct glimp_tokenizer *t, const struct glimp_gguf *g,
                const struct glimp_tokenizer_params *p)
{
    struct glimp_str model;
    int rc = glimp_gguf_get_str(g, KEY_MODEL, &model);
    if (rc != GLIMP_OK)
        return glimp_error_prefix(rc, "tokenizer: ");
    if (model.len != 4 || memcmp(model.ptr, "gpt2", 4) != 0)
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "tokenizer: model '%.*s' (%s) is not supported; glimp reads "
                           "byte-level BPE ('gpt2') only",
                           (int)(model.len > 64 ? 64 : model.len), model.ptr, KEY_MODEL);
    if ((rc = choose_pretok(t, g, p)) != GLIMP_OK)
        return rc;
    t->nfc = t->pretok == GLIMP_PRETOK_QWEN2;
    t->ignore_merges = t->pretok == GLIMP_PRETOK_LLAMA3;

    const struct glimp_gguf_value *tokens;
    if ((rc = glimp_gguf_get_arr(g, KEY_TOKENS, GLIMP_GGUF_STR, &tokens)) != GLIMP_OK)
        return glimp_error_prefix(rc, "tokenizer: ");
    if (tokens->arr.n < 256 || tokens->arr.n > INT32_MAX - 1)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "tokenizer: %s has %llu tokens; byte-level BPE "
                           "needs 256 to 2^31 - 2",
                           KEY_TOKENS, (unsigned long long)tokens->arr.n);
    t->n_vocab = (uint32_t)tokens->arr.n;
    if ((rc = copy_tokens(t, tokens)) != GLIMP_OK || (rc = read_types(t, g)) != GLIMP_OK ||
        (rc = build_vocab_map(t)) != GLIMP_OK || (rc = find_byte_tokens(t)) != GLIMP_OK ||
        (rc = read_merges(t, g)) != GLIMP_OK)
        return rc;

    t->bos = t->eos = t->eot = t->pad = -1;
    if ((rc = read_special(t, g, "tokenizer.ggml.bos_token_id", &t->bos)) != GLIMP_OK ||
        (rc = read_special(t, g, "tokenizer.ggml.eos_token_id", &t->eos)) != GLIMP_OK ||
        (rc = read_special(t, g, "tokenizer.ggml.padding_token_id", &t->pad)) != GLIMP_OK ||
        (rc = read_special(t, g, "tokenizer.ggml.eot_token_id", &t->eot)) != GLIMP_OK)
        return rc;
    if (t->eot < 0)
        t->eot = tok_find(t, "<|im_end|>", 10);
    if (t->eot < 0)
        t->eot = tok_find(t, "<|eot_id|>", 10);
    if (t->eot < 0)
        t->eot = t->eos;

    /* llama.cpp's defaults: Llama 3 adds BOS, Qwen does not. */
    t->add_bos = t->pretok == GLIMP_PRETOK_LLAMA3;
    bool ab;
    rc = glimp_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &ab);
    if (rc == GLIMP_OK)
        t->add_bos = ab;
    else if (rc != GLIMP_ERR_NOT_FOUND)
        return glimp_error_prefix(rc, "tokenizer: ");

    decode_tokens(t);
    if ((rc = build_trie(t)) != GLIMP_OK)
        return rc;
    return tok_pretok_init(t);
}

int glimp_tokenizer_load(const struct glimp_gguf *g, const struct glimp_tokenizer_params *p,
                         struct glimp_tokenizer **out)
{
    if (!out)
        return glimp_error(GLIMP_ERR_INVALID, "glimp_tokenizer_load: out is NULL");
    *out = NULL;
    if (!g)
        return glimp_error(GLIMP_ERR_INVALID, "glimp_tokenizer_load: no GGUF file given");
    struct glimp_tokenizer_params defaults = glimp_tokenizer_default_params();
    struct glimp_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return glimp_error(GLIMP_ERR_NOMEM, "tokenizer: out of memory");
    int rc = load(t, g, p ? p : &defaults);
    if (rc != GLIMP_OK) {
        glimp_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return GLIMP_OK;
}

void glimp_tokenizer_free(struct glimp_tokenizer *t)
{
    if (!t)
        return;
    tok_pretok_free(t);
    free(t->text);
    free(t->text_off);
    free(t->type);
    free(t->bytes);
    free(t->bytes_off);
    free(t->vocab.slots);
    free(t->vocab.hashes);
    tok_pairmap_free(&t->merges);
    free(t->trie);
    free(t);
}

/* ------------------------------------------------------------- accessors */

uint32_t glimp_tokenizer_n_vocab(const struct glimp_tokenizer *t)
{
    return t ? t->n_vocab : 0;
}

enum glimp_pretok glimp_tokenizer_pretok(const struct glimp_tokenizer *t)
{
    return t ? t->pretok : GLIMP_PRETOK_QWEN2;
}

const char *glimp_tokenizer_warning(const struct glimp_tokenizer *t)
{
    return t ? t->warning : "";
}

int32_t glimp_tokenizer_bos(const struct glimp_tokenizer *t)
{
    return t ? t->bos : -1;
}

int32_t glimp_tokenizer_eos(const struct glimp_tokenizer *t)
{
    return t ? t->eos : -1;
}

int32_t glimp_tokenizer_eot(const struct glimp_tokenizer *t)
{
    return t ? t->eot : -1;
}

int32_t glimp_tokenizer_pad(const struct glimp_tokenizer *t)
{
    return t ? t->pad : -1;
}

bool glimp_tokenizer_add_bos(const struct glimp_tokenizer *t)
{
    return t ? t->add_bos : false;
}

enum glimp_token_type glimp_tokenizer_token_type(const struct glimp_tokenizer *t, int32_t id)
{
    if (!t || id < 0 || (uint32_t)id >= t->n_vocab)
        return GLIMP_TOKEN_UNDEFINED;
    return (enum glimp_token_type)t->type[id];
}

const char *glimp_tokenizer_token_text(const struct glimp_tokenizer *t, int32_t id)
{
    if (!t || id < 0 || (uint32_t)id >= t->n_vocab)
        return NULL;
    return t->text + t->text_off[id];
}

int32_t glimp_tokenizer_find(const struct glimp_tokenizer *t, const char *text, size_t len)
{
    if (!t || (!text && len))
        return -1;
    return tok_find(t, text ? text : "", len);
}
