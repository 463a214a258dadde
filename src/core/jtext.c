/* jtext.c - model text as a JSON string (see jtext.h). */
#include "core/jtext.h"

#include "glimp.h"

#include <stdlib.h>

json_t *jtext_new(const char *s, size_t n)
{
    size_t m;
    char *fixed = glimp_utf8_repair(s, n, &m);
    json_t *j = fixed ? json_stringn(fixed, m) : NULL;
    free(fixed);
    return j;
}
