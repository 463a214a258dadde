/* utf8.c - UTF-8 well-formedness by the Unicode standard's table 3-7 (no
 * overlongs, no surrogates, nothing past U+10FFFF) and GPT-2's byte-level
 * symbol map, which byte-level BPE vocabularies spell their tokens in. */
#include "tokenizer/tokenizer_internal.h"

#include <stdlib.h>
#include <string.h>

/* Inspect the sequence at p. Returns its length when complete and well
 * formed; otherwise 0, with *good set to how many leading bytes are a valid
 * start of a sequence (0 when p[0] can start none) and *cut to whether the
 * end of the input, not a bad byte, stopped it. */
static size_t scan(const uint8_t *p, size_t n, size_t *good, bool *cut)
{
    uint8_t b = p[0], lo = 0x80, hi = 0xBF;
    size_t need;
    *good = 0;
    *cut = false;
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF) {
        need = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    for (size_t k = 1; k < need; k++) {
        if (k >= n) {
            *good = k;
            *cut = true;
            return 0;
        }
        uint8_t c = p[k];
        if (c < lo || c > hi) {
            *good = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

size_t tok_utf8_seq(const uint8_t *p, size_t n, size_t *prefix)
{
    size_t good;
    bool cut;
    size_t len = scan(p, n, &good, &cut);
    if (prefix)
        *prefix = cut ? good : 0;
    return len;
}

size_t tok_utf8_bad_len(const uint8_t *p, size_t n)
{
    size_t good;
    bool cut;
    if (scan(p, n, &good, &cut) != 0)
        return 0;
    return good ? good : 1;
}

/* Printable Latin-1 bytes stand for themselves; the other 68 (controls,
 * space, DEL, the C1 range, NBSP, soft hyphen) map in byte order to U+0100
 * upwards. */
static bool byte_stands_for_itself(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

/* The 68 others in order: 0x00..0x20 (33), 0x7F..0xA0 (34), 0xAD. */
uint32_t tok_byte_to_cp(uint8_t b)
{
    if (byte_stands_for_itself(b))
        return b;
    if (b <= 0x20)
        return 0x100 + b;
    if (b >= 0x7F && b <= 0xA0)
        return 0x100 + 33 + (b - 0x7Fu);
    return 0x100 + 67; /* 0xAD */
}

int tok_cp_to_byte(uint32_t cp)
{
    if (cp < 0x100)
        return byte_stands_for_itself(cp) ? (int)cp : -1;
    uint32_t n = cp - 0x100;
    if (n < 33)
        return (int)n;
    if (n < 67)
        return (int)(0x7F + n - 33);
    return n == 67 ? 0xAD : -1;
}

size_t glimp_utf8_char_len(const char *s, size_t n)
{
    return s && n ? tok_utf8_seq((const uint8_t *)s, n, NULL) : 0;
}

size_t glimp_utf8_bad_len(const char *s, size_t n)
{
    return s && n ? tok_utf8_bad_len((const uint8_t *)s, n) : 0;
}

char *glimp_utf8_repair(const char *s, size_t n, size_t *out_n)
{
    char *buf = n < (SIZE_MAX - 1) / 3 ? malloc(n * 3 + 1) : NULL, *p = buf;
    if (!buf)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t len = glimp_utf8_char_len(s + i, n - i);
        if (len && s[i] != '\0') {
            memcpy(p, s + i, len);
            p += len;
            i += len;
        } else {
            memcpy(p, "\xEF\xBF\xBD", 3);
            p += 3;
            i += len ? len : glimp_utf8_bad_len(s + i, n - i);
        }
    }
    *p = '\0';
    *out_n = (size_t)(p - buf);
    return buf;
}
