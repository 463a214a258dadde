/* segment.c - a request's segmentation as text ("blank", "line",
 * "marker:REGEX"), the form the command line, method specs and profiles
 * use; the rule itself is the backend's (backend/segment.c). */
#include "backend/backend.h"

#include "core/error.h"

#include <stdio.h>
#include <string.h>

int glimp_segment_parse(const char *text, struct glimp_router_params *p)
{
    if (!text || !p)
        return glimp_error(GLIMP_ERR_INVALID, "segment: text or params is NULL");
    if (!strcmp(text, "blank") || !strcmp(text, "line")) {
        p->segment = text[0] == 'b' ? GLIMP_SEGMENT_BLANK : GLIMP_SEGMENT_LINE;
        p->segment_marker[0] = '\0';
        return GLIMP_OK;
    }
    if (strncmp(text, "marker:", 7) != 0)
        return glimp_error(GLIMP_ERR_INVALID, "segment '%s': expected blank, line or marker:REGEX",
                           text);
    const char *re = text + 7;
    if (strlen(re) >= GLIMP_SEGMENT_MARKER_MAX)
        return glimp_error(GLIMP_ERR_INVALID, "segment: the marker is longer than %d bytes",
                           GLIMP_SEGMENT_MARKER_MAX - 1);
    struct bk_segment s;
    int rc = bk_segment_init(&s, GLIMP_SEGMENT_MARKER, re);
    bk_segment_free(&s);
    if (rc != GLIMP_OK)
        return rc;
    p->segment = GLIMP_SEGMENT_MARKER;
    memcpy(p->segment_marker, re, strlen(re) + 1);
    return GLIMP_OK;
}

int glimp_segment_format(const struct glimp_router_params *p, char *buf, size_t cap)
{
    if (!p || !buf)
        return glimp_error(GLIMP_ERR_INVALID, "segment: params or buf is NULL");
    int n = p->segment == GLIMP_SEGMENT_MARKER
                ? snprintf(buf, cap, "marker:%.*s", GLIMP_SEGMENT_MARKER_MAX - 1, p->segment_marker)
                : snprintf(buf, cap, "%s", glimp_segment_name(p->segment));
    if (n < 0 || (size_t)n >= cap)
        return glimp_error(GLIMP_ERR_RANGE, "segment: %zu bytes do not hold it", cap);
    return GLIMP_OK;
}
