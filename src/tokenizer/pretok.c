/* pretok.c - from text to BPE pieces: added tokens are cut out first
 * (longest match at the leftmost position), the rest is normalised (NFC for
 * Qwen) and split by the pre-tokenizer regex of the model's tokenizer.json,
 * and each piece goes to the BPE merger.
 *
 * Text that is not valid UTF-8 is split at the bad bytes: each maximal run
 * of valid UTF-8 is normalised and split by the regex on its own, and each
 * run of bytes that form no valid character becomes one piece of its own,
 * which BPE encodes like any other bytes. Nothing is dropped or replaced,
 * so decoding gives back the input (NFC-normalised where valid). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/tokenizer_internal.h"

#include "core/error.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* The Split regexes of the tokenizer.json files (Qwen2.5/Qwen3 and Llama 3;
 * they differ only in \p{N} versus \p{N}{1,3}) with two adaptations that
 * make the result independent of the regex library's version:
 * - (?i:'s|'t|...) is spelled with ASCII classes ('[sS]), as llama.cpp and
 *   transformers.js do, so no Unicode case folding (U+017F for 's') enters;
 * - \s is the Unicode White_Space property written out, as llama.cpp's
 *   tables and Oniguruma (Hugging Face's regex engine) have it; PCRE2
 *   10.42's \s would also take U+180E. */
#define WS                                                                                         \
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{"   \
    "202F}\\x{205F}\\x{3000}"
#define CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define AFTER_DIGITS                                                                               \
    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+"

static const char qwen2_regex[] = CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" AFTER_DIGITS;
static const char llama3_regex[] =
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}" AFTER_DIGITS;

/* Kept beside the pattern: a match context without PCRE2's default match
 * limit, which a few megabytes of whitespace would reach although every
 * match here is linear in its length. */
struct tok_regex {
    pcre2_code *code;
    pcre2_match_context *mctx;
};

int tok_pretok_init(struct glimp_tokenizer *t)
{
    const char *pattern = t->pretok == GLIMP_PRETOK_LLAMA3 ? llama3_regex : qwen2_regex;
    struct tok_regex *re = calloc(1, sizeof *re);
    if (!re)
        return glimp_error(GLIMP_ERR_NOMEM, "tokenizer: out of memory");
    t->re = re;
    int err;
    PCRE2_SIZE err_off;
    re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                             &err, &err_off, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "tokenizer: the pre-tokenizer regex does not compile at offset %zu: %s",
                           (size_t)err_off, (const char *)msg);
    }
    /* JIT where the library has it; the interpreter gives the same
     * matches otherwise. */
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    re->mctx = pcre2_match_context_create(NULL);
    if (!re->mctx)
        return glimp_error(GLIMP_ERR_NOMEM, "tokenizer: out of memory");
    pcre2_set_match_limit(re->mctx, UINT32_MAX);
    pcre2_set_depth_limit(re->mctx, UINT32_MAX);
    return GLIMP_OK;
}

void tok_pretok_free(struct glimp_tokenizer *t)
{
    struct tok_regex *re = t->re;
    if (!re)
        return;
    pcre2_match_context_free(re->mctx);
    pcre2_code_free(re->code);
    free(re);
    t->re = NULL;
}

void tok_pretok_scratch_free(struct tok_scratch *s)
{
    pcre2_match_data_free(s->match_data);
    s->match_data = NULL;
}

/* Split valid UTF-8 with the regex; every piece goes to BPE. The patterns
 * match every character, so matches follow each other without gaps; a gap
 * or an empty match would still be encoded, never lost. */
static int split_valid(const struct glimp_tokenizer *t, struct tok_scratch *s, const uint8_t *p,
                       size_t n, struct glimp_tokens *out)
{
    const struct tok_regex *re = t->re;
    if (!s->match_data && !(s->match_data = pcre2_match_data_create_from_pattern(re->code, NULL)))
        return glimp_error(GLIMP_ERR_NOMEM, "tokenize: out of memory");
    size_t off = 0;
    int rc;
    while (off < n) {
        int m = pcre2_match(re->code, p, n, off, PCRE2_NO_UTF_CHECK, s->match_data, re->mctx);
        size_t start = n, end = n;
        if (m >= 0) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->match_data);
            start = ov[0];
            end = ov[1];
        } else if (m != PCRE2_ERROR_NOMATCH) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(m, msg, sizeof msg);
            return glimp_error(GLIMP_ERR_NOMEM,
                               "tokenize: pre-tokenizer regex failed at byte %zu: %s", off,
                               (const char *)msg);
        }
        if (start > off && (rc = tok_bpe_piece(t, s, p + off, start - off, out)) != GLIMP_OK)
            return rc;
        if (start >= n)
            break;
        if (end <= start) {
            size_t k = tok_utf8_seq(p + start, n - start, NULL);
            end = start + (k ? k : 1);
        }
        if ((rc = tok_bpe_piece(t, s, p + start, end - start, out)) != GLIMP_OK)
            return rc;
        off = end;
    }
    return GLIMP_OK;
}

/* NFC changes nothing in text whose code points are all below U+0300 (the
 * first combining mark): those are never decomposed, and nothing composes
 * with them that is not at or above U+0300. Lead bytes >= 0xCC start the
 * code points from U+0300 on. */
static bool may_change_under_nfc(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0xCC)
            return true;
    return false;
}

static int split_normalized(const struct glimp_tokenizer *t, struct tok_scratch *s,
                            const uint8_t *p, size_t n, struct glimp_tokens *out)
{
    if (!t->nfc || !may_change_under_nfc(p, n))
        return split_valid(t, s, p, n, out);
    utf8proc_uint8_t *norm = NULL;
    utf8proc_ssize_t len =
        utf8proc_map(p, (utf8proc_ssize_t)n, &norm, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (len == UTF8PROC_ERROR_NOMEM)
        return glimp_error(GLIMP_ERR_NOMEM, "tokenize: out of memory for NFC");
    if (len < 0) /* not reached: the run is valid UTF-8; encode it as is */
        return split_valid(t, s, p, n, out);
    int rc = split_valid(t, s, norm, (size_t)len, out);
    free(norm);
    return rc;
}

int tok_encode_fragment(const struct glimp_tokenizer *t, struct tok_scratch *s, const char *text,
                        size_t len, struct glimp_tokens *out)
{
    const uint8_t *p = (const uint8_t *)text;
    size_t i = 0;
    int rc;
    while (i < len) {
        size_t j = i;
        while (j < len) {
            if (p[j] < 0x80) {
                j++;
                continue;
            }
            size_t k = tok_utf8_seq(p + j, len - j, NULL);
            if (k == 0)
                break;
            j += k;
        }
        if (j > i && (rc = split_normalized(t, s, p + i, j - i, out)) != GLIMP_OK)
            return rc;
        if (j == len)
            break;
        size_t k = j;
        while (k < len && tok_utf8_seq(p + k, len - k, NULL) == 0)
            k += tok_utf8_bad_len(p + k, len - k);
        if ((rc = tok_bpe_piece(t, s, p + j, k - j, out)) != GLIMP_OK)
            return rc;
        i = k;
    }
    return GLIMP_OK;
}

/* ---------------------------------------------------------- added tokens */

static bool has_bit(const uint8_t *mask, uint8_t b)
{
    return mask[b >> 3] & (1u << (b & 7));
}

/* The longest added token that p starts with and that parse_special allows
 * (USER_DEFINED always, CONTROL only with it): its length, or 0. */
static size_t longest_added(const struct glimp_tokenizer *t, const uint8_t *p, size_t n,
                            bool parse_special, int32_t *id)
{
    size_t best = 0;
    int32_t node = 0;
    for (size_t k = 0; k < n; k++) {
        int32_t c = t->trie[node].child;
        while (c >= 0 && t->trie[c].byte != p[k])
            c = t->trie[c].sibling;
        if (c < 0)
            break;
        node = c;
        int32_t tid = t->trie[node].id;
        if (tid >= 0 && (parse_special || t->type[tid] == GLIMP_TOKEN_USER_DEFINED)) {
            best = k + 1;
            *id = tid;
        }
    }
    return best;
}

int glimp_tokenize(const struct glimp_tokenizer *t, const char *text, size_t len,
                   bool parse_special, struct glimp_tokens *out)
{
    if (!t || !out || (!text && len))
        return glimp_error(GLIMP_ERR_INVALID, "glimp_tokenize: %s is NULL",
                           !t     ? "the tokenizer"
                           : !out ? "out"
                                  : "text");
    if (len > TOK_MAX_TEXT)
        return glimp_error(GLIMP_ERR_RANGE, "tokenize: text of %zu bytes is longer than %zu", len,
                           TOK_MAX_TEXT);
    const uint8_t *p = (const uint8_t *)text;
    const uint8_t *first = parse_special ? t->first_any : t->first_user;
    bool any = false;
    for (size_t b = 0; b < 32; b++)
        any |= first[b] != 0;
    size_t n0 = out->n, pos = 0;
    struct tok_scratch s = {0};
    if (len >= TOK_CACHE_MIN_TEXT)
        s.cache = calloc(TOK_CACHE_SLOTS, sizeof *s.cache); /* none if NULL: slower, not wrong */
    int rc = GLIMP_OK;
    while (pos < len && rc == GLIMP_OK) {
        size_t at = len, mlen = 0;
        int32_t id = -1;
        for (size_t i = pos; any && i < len; i++) {
            if (has_bit(first, p[i]) &&
                (mlen = longest_added(t, p + i, len - i, parse_special, &id))) {
                at = i;
                break;
            }
        }
        if (at > pos)
            rc = tok_encode_fragment(t, &s, text + pos, at - pos, out);
        if (rc == GLIMP_OK && mlen)
            rc = tok_push(out, id);
        pos = at + mlen;
    }
    tok_scratch_free(&s);
    if (rc != GLIMP_OK)
        out->n = n0;
    return rc;
}
