/* buf.h - a growable NUL-terminated byte string, the one the library's
 * text buffers (step text, prompts, reports) append to. */
#ifndef GLIMP_CORE_BUF_H
#define GLIMP_CORE_BUF_H

#include <stddef.h>

/* Append n bytes of s to the string *p of *len bytes in *cap allocated,
 * doubling the allocation as needed, and keep it NUL-terminated (also when
 * n is 0 and nothing was allocated yet). GLIMP_ERR_NOMEM when it cannot
 * grow; the string is then unchanged. */
int buf_append(char **p, size_t *len, size_t *cap, const char *s, size_t n);

/* A malloc'ed copy of the NUL-terminated s, or NULL when malloc fails. */
char *buf_strdup(const char *s);

#endif
