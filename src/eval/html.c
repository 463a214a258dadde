/* html.c - the HTML escaper of report.html (see html.h). */
#include "eval/html.h"

#include "glimp.h"

#include <string.h>

void ev_html_put(FILE *f, const char *s, size_t n)
{
    static const char fffd[] = "\xEF\xBF\xBD";
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        const char *ref = c == '&'    ? "&amp;"
                          : c == '<'  ? "&lt;"
                          : c == '>'  ? "&gt;"
                          : c == '"'  ? "&quot;"
                          : c == '\'' ? "&#39;"
                                      : NULL;
        if (ref) {
            fputs(ref, f);
            i++;
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            fputs(fffd, f);
            i++;
            continue;
        }
        size_t len = glimp_utf8_char_len(s + i, n - i);
        if (len == 0) {
            fputs(fffd, f);
            i += glimp_utf8_bad_len(s + i, n - i);
            continue;
        }
        fwrite(s + i, 1, len, f);
        i += len;
    }
}

void ev_html_puts(FILE *f, const char *s)
{
    if (s)
        ev_html_put(f, s, strlen(s));
}
