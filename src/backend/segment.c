/* segment.c - where a thinking step ends: at a blank line (the paper's
 * rule), at every line, or before text that matches a marker pattern. The
 * one rule every backend's generate applies through bk_gen_keep and the
 * router applies to the steps it writes itself (speculative decoding);
 * backend.h states it. A marker is compiled once per request (PCRE2, UTF
 * mode that tolerates invalid UTF-8, since a step may end inside a
 * character) and tried, after each token, on the step's text from the end
 * of its first token: a complete match ends the step before the token that
 * holds the match's first byte; a partial match (the text so far could
 * still become one) holds its tokens back from streaming. */
#include "backend/backend.h"

#include "core/error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdlib.h>
#include <string.h>

struct bk_marker {
    pcre2_code *code;
    pcre2_match_data *md;
};

int bk_segment_init(struct bk_segment *s, enum glimp_segment kind, const char *pattern)
{
    memset(s, 0, sizeof *s);
    if (kind != GLIMP_SEGMENT_BLANK && kind != GLIMP_SEGMENT_LINE && kind != GLIMP_SEGMENT_MARKER)
        return glimp_error(GLIMP_ERR_INVALID, "segment: unknown kind %d", (int)kind);
    s->kind = kind;
    if (kind != GLIMP_SEGMENT_MARKER)
        return GLIMP_OK;
    if (!pattern || !pattern[0])
        return glimp_error(GLIMP_ERR_INVALID, "segment: marker needs a pattern (marker:REGEX)");
    struct bk_marker *m = calloc(1, sizeof *m);
    if (!m)
        return glimp_error(GLIMP_ERR_NOMEM, "segment: out of memory");
    int err;
    PCRE2_SIZE at;
    m->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &at, NULL);
    if (!m->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        free(m);
        return glimp_error(GLIMP_ERR_INVALID, "segment: marker '%s': %s at offset %zu", pattern,
                           (const char *)msg, (size_t)at);
    }
    m->md = pcre2_match_data_create_from_pattern(m->code, NULL);
    if (!m->md) {
        pcre2_code_free(m->code);
        free(m);
        return glimp_error(GLIMP_ERR_NOMEM, "segment: out of memory");
    }
    s->marker = m;
    return GLIMP_OK;
}

void bk_segment_free(struct bk_segment *s)
{
    if (!s || !s->marker)
        return;
    pcre2_match_data_free(s->marker->md);
    pcre2_code_free(s->marker->code);
    free(s->marker);
    s->marker = NULL;
}

/* The token of out that holds byte b (the last one starting at or before it). */
static uint32_t token_at(const struct bk_gen_out *out, size_t b)
{
    uint32_t t = out->n;
    while (t > 0 && out->off[t - 1] > b)
        t--;
    return t ? t - 1 : 0;
}

/* The marker on the step's text after its first token: the token where a
 * complete match begins (*complete), or where a partial one does; out->n
 * when there is none. */
static uint32_t marker_find(const struct bk_marker *m, const struct bk_gen_out *out, bool *complete)
{
    *complete = false;
    if (out->n < 2 || !out->off)
        return out->n;
    size_t from = out->off[1];
    int rc = pcre2_match(m->code, (PCRE2_SPTR)out->text, out->text_len, from, PCRE2_PARTIAL_SOFT,
                         m->md, NULL);
    if (rc < 0 && rc != PCRE2_ERROR_PARTIAL)
        return out->n; /* no match, or none that can be had (a limit): the text stands */
    size_t start = pcre2_get_ovector_pointer(m->md)[0];
    *complete = rc >= 0;
    if (start >= out->text_len) /* an empty match at the very end: nothing to take back */
        return out->n;
    return token_at(out, start);
}

void bk_segment_apply(const struct bk_segment *s, struct bk_gen_out *out, size_t before)
{
    switch (s->kind) {
    case GLIMP_SEGMENT_LINE: {
        size_t from = before ? before : 1;
        if (from < out->text_len && memchr(out->text + from, '\n', out->text_len - from))
            out->end = true;
        out->n_final = out->n;
        return;
    }
    case GLIMP_SEGMENT_MARKER: {
        bool complete;
        uint32_t t = marker_find(s->marker, out, &complete);
        /* what was once final stays so (only a pattern that looks at the
         * end of the text could move a match before it) */
        t = t < out->n_final ? out->n_final : t;
        if (complete && t < out->n) {
            out->end = true;
            out->cut = t;
            out->n_final = t;
            return;
        }
        if (bk_has_blank_line(out->text, out->text_len, before)) {
            out->end = true;
            out->n_final = out->n;
        } else {
            out->n_final = t;
        }
        return;
    }
    case GLIMP_SEGMENT_BLANK:
    default:
        if (bk_has_blank_line(out->text, out->text_len, before))
            out->end = true;
        out->n_final = out->n;
        return;
    }
}
