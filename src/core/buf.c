/* buf.c - the growable string of buf.h. */
#include "core/buf.h"

#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int buf_append(char **p, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (n > SIZE_MAX / 2 - *len)
        return glimp_error(GLIMP_ERR_NOMEM, "text of more than %zu bytes", SIZE_MAX / 2);
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1)
            c *= 2;
        char *q = realloc(*p, c);
        if (!q)
            return glimp_error(GLIMP_ERR_NOMEM, "out of memory for %zu bytes of text", c);
        *p = q;
        *cap = c;
    }
    if (n)
        memcpy(*p + *len, s, n);
    *len += n;
    (*p)[*len] = '\0';
    return GLIMP_OK;
}

char *buf_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}
