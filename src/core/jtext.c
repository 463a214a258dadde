/* jtext.c - model text as a JSON string (see jtext.h). */
#include "core/jtext.h"

#include "glimp.h"

#include <stdlib.h>

json_t *jtext_new(const char *s, size_t n)
{
    /* well-formed already (the usual case, and the server's per-chunk
     * path): no copy */
    size_t i = 0, len;
    while (i < n && (len = glimp_utf8_char_len(s + i, n - i)) > 0 && s[i] != '\0')
        i += len;
    if (i == n)
        return json_stringn(s, n);
    size_t m;
    char *fixed = glimp_utf8_repair(s, n, &m);
    json_t *j = fixed ? json_stringn(fixed, m) : NULL;
    free(fixed);
    return j;
}
