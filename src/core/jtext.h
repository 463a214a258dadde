/* jtext.h - model text as a JSON string: what JSON (and a server on the
 * other end) takes is well-formed UTF-8, so each ill-formed stretch and
 * each NUL becomes one U+FFFD (glimp_utf8_repair). The one place results
 * files, remote requests and the server's answers turn text into JSON. */
#ifndef GLIMP_CORE_JTEXT_H
#define GLIMP_CORE_JTEXT_H

#include <jansson.h>
#include <stddef.h>

/* A new JSON string of s[0..n) made well-formed; NULL when out of memory. */
json_t *jtext_new(const char *s, size_t n);

#endif
