/* html.h - model text into HTML: the one escaper report.html goes through.
 * Model output is untrusted: whatever its bytes, what comes out is text in
 * an element or a quoted attribute, never markup. */
#ifndef GLIMP_EVAL_HTML_H
#define GLIMP_EVAL_HTML_H

#include <stddef.h>
#include <stdio.h>

/* Write the n bytes at s to f as HTML text: & < > " ' as character
 * references; each ill-formed UTF-8 stretch (one per maximal subpart), NUL
 * and the C0 controls other than tab, newline and carriage return as
 * U+FFFD. Safe in element content and in a double- or single-quoted
 * attribute value. s may be NULL when n is 0. */
void ev_html_put(FILE *f, const char *s, size_t n);

/* The same for a NUL-terminated string; NULL writes nothing. */
void ev_html_puts(FILE *f, const char *s);

#endif
