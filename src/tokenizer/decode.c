/* decode.c - token ids back to bytes: one token, a whole list, and the
 * streaming decoder that hands out only complete UTF-8 (holding back a
 * character split across tokens, replacing what can never be valid by
 * U+FFFD as Unicode's "maximal subpart" rule says). */
#include "tokenizer/tokenizer_internal.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static int bad_id(const struct glimp_tokenizer *t, int32_t id)
{
    return glimp_error(GLIMP_ERR_RANGE, "token id %ld is outside the vocabulary [0, %u)", (long)id,
                       t->n_vocab);
}

/* The bytes of a valid id under render_special. */
static const char *token_bytes(const struct glimp_tokenizer *t, int32_t id, bool render_special,
                               size_t *len)
{
    uint8_t type = t->type[id];
    if (!render_special && (type == GLIMP_TOKEN_CONTROL || type == GLIMP_TOKEN_UNKNOWN ||
                            type == GLIMP_TOKEN_UNUSED)) {
        *len = 0;
        return "";
    }
    *len = (size_t)(t->bytes_off[id + 1] - t->bytes_off[id]);
    return t->bytes + t->bytes_off[id];
}

int glimp_token_to_bytes(const struct glimp_tokenizer *t, int32_t id, bool render_special,
                         char *buf, size_t cap, size_t *len)
{
    if (!t || !len || (!buf && cap))
        return glimp_error(GLIMP_ERR_INVALID, "glimp_token_to_bytes: %s is NULL",
                           !t     ? "the tokenizer"
                           : !len ? "len"
                                  : "buf");
    *len = 0;
    if (id < 0 || (uint32_t)id >= t->n_vocab)
        return bad_id(t, id);
    size_t n;
    const char *b = token_bytes(t, id, render_special, &n);
    *len = n;
    if (n > cap)
        return glimp_error(GLIMP_ERR_RANGE, "token %ld has %zu bytes; the buffer holds %zu",
                           (long)id, n, cap);
    if (n)
        memcpy(buf, b, n);
    return GLIMP_OK;
}

int glimp_detokenize(const struct glimp_tokenizer *t, const int32_t *ids, size_t n,
                     bool render_special, char **text, size_t *len)
{
    if (!t || !text || !len || (!ids && n))
        return glimp_error(GLIMP_ERR_INVALID, "glimp_detokenize: %s is NULL",
                           !t      ? "the tokenizer"
                           : !text ? "text"
                           : !len  ? "len"
                                   : "ids");
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (uint32_t)ids[i] >= t->n_vocab)
            return glimp_error_prefix(bad_id(t, ids[i]), "ids[%zu]: ", i);
        size_t k;
        token_bytes(t, ids[i], render_special, &k);
        if (k > SIZE_MAX - 1 - total)
            return glimp_error(GLIMP_ERR_NOMEM, "detokenize: text too long");
        total += k;
    }
    char *out = malloc(total + 1);
    if (!out)
        return glimp_error(GLIMP_ERR_NOMEM, "detokenize: out of memory for %zu bytes", total);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k;
        const char *b = token_bytes(t, ids[i], render_special, &k);
        memcpy(out + off, b, k);
        off += k;
    }
    out[off] = '\0';
    *text = out;
    *len = off;
    return GLIMP_OK;
}

/* ------------------------------------------------------ streaming decoder */

struct glimp_decoder {
    const struct glimp_tokenizer *t;
    bool render_special;
    uint8_t held[4]; /* an incomplete but so far valid UTF-8 sequence */
    size_t n_held;
    char *work; /* held bytes followed by the new token's */
    size_t work_cap;
    char *out; /* what the last call handed out */
    size_t out_cap;
};

struct glimp_decoder *glimp_decoder_init(const struct glimp_tokenizer *t, bool render_special)
{
    if (!t) {
        glimp_error(GLIMP_ERR_INVALID, "glimp_decoder_init: the tokenizer is NULL");
        return NULL;
    }
    struct glimp_decoder *d = calloc(1, sizeof *d);
    if (!d) {
        glimp_error(GLIMP_ERR_NOMEM, "decoder: out of memory");
        return NULL;
    }
    d->t = t;
    d->render_special = render_special;
    return d;
}

void glimp_decoder_free(struct glimp_decoder *d)
{
    if (!d)
        return;
    free(d->work);
    free(d->out);
    free(d);
}

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return GLIMP_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    char *p = realloc(*buf, c);
    if (!p)
        return glimp_error(GLIMP_ERR_NOMEM, "decoder: out of memory for %zu bytes", need);
    *buf = p;
    *cap = c;
    return GLIMP_OK;
}

static const char replacement[3] = {'\xEF', '\xBF', '\xBD'}; /* U+FFFD */

int glimp_decoder_push(struct glimp_decoder *d, int32_t id, const char **out, size_t *len)
{
    if (!d || !out || !len)
        return glimp_error(GLIMP_ERR_INVALID, "glimp_decoder_push: %s is NULL",
                           !d     ? "the decoder"
                           : !out ? "out"
                                  : "len");
    *out = "";
    *len = 0;
    if (id < 0 || (uint32_t)id >= d->t->n_vocab)
        return bad_id(d->t, id);
    size_t n;
    const char *b = token_bytes(d->t, id, d->render_special, &n);
    size_t m = d->n_held + n;
    /* Each input byte gives at most 3 output bytes (one U+FFFD). */
    if (m > (SIZE_MAX - 4) / 3)
        return glimp_error(GLIMP_ERR_NOMEM, "decoder: token too long");
    int rc;
    if ((rc = grow(&d->work, &d->work_cap, m + 1)) != GLIMP_OK ||
        (rc = grow(&d->out, &d->out_cap, 3 * m + 1)) != GLIMP_OK)
        return rc;
    memcpy(d->work, d->held, d->n_held);
    if (n)
        memcpy(d->work + d->n_held, b, n);
    const uint8_t *w = (const uint8_t *)d->work;
    size_t i = 0, o = 0;
    d->n_held = 0;
    while (i < m) {
        size_t prefix;
        size_t k = tok_utf8_seq(w + i, m - i, &prefix);
        if (k) {
            memcpy(d->out + o, w + i, k);
            o += k;
            i += k;
        } else if (prefix) { /* cut short by the end: wait for more */
            memcpy(d->held, w + i, prefix);
            d->n_held = prefix;
            break;
        } else {
            memcpy(d->out + o, replacement, 3);
            o += 3;
            i += tok_utf8_bad_len(w + i, m - i);
        }
    }
    d->out[o] = '\0';
    *out = d->out;
    *len = o;
    return GLIMP_OK;
}

int glimp_decoder_flush(struct glimp_decoder *d, const char **out, size_t *len)
{
    if (!d || !out || !len)
        return glimp_error(GLIMP_ERR_INVALID, "glimp_decoder_flush: %s is NULL",
                           !d     ? "the decoder"
                           : !out ? "out"
                                  : "len");
    *out = "";
    *len = 0;
    int rc = grow(&d->out, &d->out_cap, 4);
    if (rc != GLIMP_OK)
        return rc;
    size_t o = 0;
    if (d->n_held) {
        memcpy(d->out, replacement, 3);
        o = 3;
    }
    d->out[o] = '\0';
    d->n_held = 0;
    *out = d->out;
    *len = o;
    return GLIMP_OK;
}
