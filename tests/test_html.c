/* test_html.c - the HTML escaper of report.html (src/eval/html.c) on
 * hostile strings: markup, attribute breakers, entities, NUL and control
 * bytes, every kind of ill-formed UTF-8 (one U+FFFD per maximal subpart, as
 * Unicode's table 3-8 counts them), and well-formed text kept byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/html.h"

#define R "\xEF\xBF\xBD" /* U+FFFD */

/* s (n bytes) as ev_html_put writes it. */
static char *esc(const char *s, size_t n)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    ev_html_put(f, s, n);
    fclose(f);
    return out;
}

static void expect(const char *s, size_t n, const char *want)
{
    char *got = esc(s, n);
    if (strcmp(got, want) != 0)
        fail_msg("escaping %zu bytes: got \"%s\", want \"%s\"", n, got, want);
    free(got);
}
#define EXPECT(lit, want) expect(lit, sizeof lit - 1, want)

static void test_markup(void **state)
{
    (void)state;
    EXPECT("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
    EXPECT("<img src=x onerror=\"alert('x')\">",
           "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;");
    EXPECT("a && b &amp; c", "a &amp;&amp; b &amp;amp; c");
    EXPECT("]]><!-- -->", "]]&gt;&lt;!-- --&gt;");
    EXPECT("", "");
    expect(NULL, 0, "");
}

static void test_kept(void **state)
{
    (void)state;
    EXPECT("x = 1.\n\n\tH_init 0.5\r", "x = 1.\n\n\tH_init 0.5\r");
    EXPECT("caf\xC3\xA9 \xE2\x88\x9A \xF0\x9F\x98\x80",
           "caf\xC3\xA9 \xE2\x88\x9A \xF0\x9F\x98\x80");
    EXPECT(R, R); /* U+FFFD itself is well-formed */
}

static void test_controls(void **state)
{
    (void)state;
    expect("a\0b", 3, "a" R "b");
    EXPECT("\x01\x1b[31m", R R "[31m");
}

static void test_bad_utf8(void **state)
{
    (void)state;
    EXPECT("\x80", R);                   /* lone continuation */
    EXPECT("\xC3", R);                   /* cut at the end */
    EXPECT("\xC3<", R "&lt;");           /* cut before markup: the < survives */
    EXPECT("\xE2\x88", R);               /* a maximal subpart: one U+FFFD */
    EXPECT("\xC0\xAF", R R);             /* overlong: two */
    EXPECT("\xED\xA0\x80", R R R);       /* a surrogate: three */
    EXPECT("\xF4\x90\x80\x80", R R R R); /* past U+10FFFF: four */
    EXPECT("\xF0\x9F\x98", R);           /* a 4-byte character cut short */
    EXPECT("\xFF\xFEok", R R "ok");
    EXPECT("a\xE2\x88z\xC3\xA9", "a" R "z\xC3\xA9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markup),
        cmocka_unit_test(test_kept),
        cmocka_unit_test(test_controls),
        cmocka_unit_test(test_bad_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
