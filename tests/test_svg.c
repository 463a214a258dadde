/* test_svg.c - the eval report plots: every SVG written here goes through
 * xmllint (an independent XML parser; the test fails without it unless
 * GLIMP_ALLOW_NO_XMLLINT=1), and its structure is checked against numbers
 * computed here: one circle per finite point, one polyline per run of
 * finite points, every series in the legend, text escaped, tick labels at
 * round 1-2-5 steps that cover the data (also over 300 random data sets),
 * histogram bar counts against a plain recount, and the error codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/svg.h"
#include "glimp.h"
#include "testutil.h"

/* ------------------------------------------------------------- helpers */

static int xmllint_state; /* 0 unknown, 1 present, 2 absent and allowed */

/* Well-formed XML by xmllint's judgement. */
static void check_xml(const char *svg)
{
    if (xmllint_state == 0) {
        if (system("command -v xmllint >/dev/null 2>&1") == 0) {
            xmllint_state = 1;
        } else {
            const char *allow = getenv("GLIMP_ALLOW_NO_XMLLINT");
            if (!allow || strcmp(allow, "1") != 0)
                fail_msg("xmllint not found: install libxml2-utils, or set "
                         "GLIMP_ALLOW_NO_XMLLINT=1 to skip the XML check");
            xmllint_state = 2;
        }
    }
    if (xmllint_state == 2)
        return;
    static int serial;
    char name[64];
    snprintf(name, sizeof name, "plot-%d.svg", serial++);
    const char *path = tu_tmp_path(name);
    tu_write_file(path, svg, strlen(svg));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("xmllint rejected %s", path);
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (const char *p = strstr(s, needle); p; p = strstr(p + k, needle))
        n++;
    return n;
}

/* The contents of the <text class="cls" ...>...</text> elements, in order;
 * returns how many (at most max), each copied into out[i]. */
static size_t texts_of(const char *svg, const char *cls, char out[][256], size_t max)
{
    char key[64];
    snprintf(key, sizeof key, "<text class=\"%s\"", cls);
    size_t n = 0;
    for (const char *p = strstr(svg, key); p && n < max; p = strstr(p + 1, key)) {
        const char *a = strchr(p, '>');
        assert_non_null(a);
        a++;
        const char *e = strstr(a, "</text>");
        assert_non_null(e);
        size_t k = (size_t)(e - a);
        assert_true(k < 256);
        memcpy(out[n], a, k);
        out[n][k] = '\0';
        n++;
    }
    return n;
}

/* Tick labels of one axis as numbers. */
static size_t ticks_of(const char *svg, const char *cls, double *v, size_t max)
{
    char t[128][256];
    size_t n = texts_of(svg, cls, t, max < 128 ? max : 128);
    for (size_t i = 0; i < n; i++) {
        char *end;
        v[i] = strtod(t[i], &end);
        assert_true(end != t[i] && *end == '\0');
    }
    return n;
}

/* Ticks at a 1-2-5 step, on multiples of it, covering [lo, hi], not
 * wildly wider than the data, and none below 0 for data that has none. */
static void check_ticks(const double *v, size_t n, double lo, double hi)
{
    assert_true(n >= 2 && n <= 30);
    double step = v[1] - v[0];
    assert_true(step > 0);
    double mag = pow(10, floor(log10(step) + 1e-9));
    double m = step / mag;
    if (!(fabs(m - 1) < 1e-6 || fabs(m - 2) < 1e-6 || fabs(m - 5) < 1e-6))
        fail_msg("tick step %g is not 1, 2 or 5 times a power of ten", step);
    for (size_t i = 0; i < n; i++) {
        double k = v[i] / step;
        if (fabs(k - round(k)) > 1e-6 * fmax(1, fabs(k)))
            fail_msg("tick %g is not a multiple of %g", v[i], step);
        if (i > 0 && fabs(v[i] - v[i - 1] - step) > 1e-6 * step)
            fail_msg("uneven ticks %g, %g (step %g)", v[i - 1], v[i], step);
    }
    double tol = 1e-9 * fmax(fabs(lo), fabs(hi));
    if (!(v[0] <= lo + tol && v[n - 1] >= hi - tol))
        fail_msg("ticks %g..%g do not cover %g..%g", v[0], v[n - 1], lo, hi);
    if (hi > lo && v[n - 1] - v[0] > 4 * (hi - lo) + 2 * step)
        fail_msg("ticks %g..%g too wide for %g..%g", v[0], v[n - 1], lo, hi);
    if (lo >= 0 && v[0] < 0)
        fail_msg("tick %g below 0 for data from %g to %g", v[0], lo, hi);
}

static void check_header(const char *svg)
{
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, " width=\""));
    assert_non_null(strstr(svg, " height=\""));
    assert_non_null(strstr(svg, " viewBox=\"0 0 "));
}

/* ------------------------------------------------------------- scatter */

static void test_scatter(void **state)
{
    (void)state;
    const double nan = NAN, inf = INFINITY;
    double x1[] = {120, 95.5, nan, 210, 180, inf};
    double y1[] = {0.46, 0.51, 0.6, 0.57, -inf, 0.55};
    double x2[] = {130, 140, nan, 150, 160, 170};
    double y2[] = {0.52, 0.55, 0.56, 0.58, 0.6, nan};
    const char *pl[] = {"tau=0.5", "tau=0.7", "nan", NULL, "tau=1.1", "tau=1.3"};
    struct ev_series s[] = {
        {"methods", x1, y1, 6, NULL, EV_DRAW_POINTS},
        {"glimp, tau sweep", x2, y2, 6, pl, EV_DRAW_POINTS | EV_DRAW_LINE},
        {"line only", x2, y2, 3, NULL, EV_DRAW_LINE},
    };
    struct ev_plot p = {"AIME25: accuracy against latency", "latency (s)", "accuracy", s, 3, 0, 0};
    char *svg = NULL;
    assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_OK);
    assert_non_null(svg);
    check_xml(svg);
    check_header(svg);
    /* finite points: series 0 has 3, series 1 has 4 (series 2 draws none) */
    assert_int_equal(count(svg, "<circle class=\"pt\""), 3 + 4);
    /* polylines: series 1 runs {0,1} {3,4}; series 2 runs {0,1} */
    assert_int_equal(count(svg, "<polyline class=\"line\""), 3);
    char labels[8][256];
    assert_int_equal(texts_of(svg, "legend-label", labels, 8), 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(labels[i], s[i].label);
    /* point labels of finite points only */
    char pts[8][256];
    assert_int_equal(texts_of(svg, "ptlabel", pts, 8), 3);
    assert_string_equal(pts[0], "tau=0.5");
    assert_string_equal(pts[2], "tau=1.1");
    /* distinct palette colours per series */
    assert_non_null(strstr(svg, "fill=\"#0072B2\""));
    assert_non_null(strstr(svg, "fill=\"#D55E00\""));
    assert_non_null(strstr(svg, "fill=\"#009E73\""));
    double t[64];
    size_t n = ticks_of(svg, "xtick", t, 64);
    check_ticks(t, n, 95.5, 210);
    n = ticks_of(svg, "ytick", t, 64);
    check_ticks(t, n, 0.46, 0.6);
    free(svg);
}

static void test_escaping(void **state)
{
    (void)state;
    double x[] = {1, 2}, y[] = {3, 4};
    const char *pl[] = {"<script>alert(1)</script>", "a&b"};
    struct ev_series s[] = {
        {"x<y>&z \"q\" 'a'", x, y, 2, pl, 0},
        {"bad \xff\xfe utf8 \x01\x1f ctl \xed\xa0\x80 \xc0\xaf", x, y, 2, NULL, 0},
        {"\xe2\x82\xac \xcf\x80 ok", x, y, 1, NULL, 0}};
    struct ev_plot p = {"a<b & \"c\" 'd' >", "H_init\n(nats)", "share ]]> %s", s, 3, 0, 0};
    char *svg = NULL;
    assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_OK);
    check_xml(svg);
    assert_non_null(strstr(svg, "a&lt;b &amp; &quot;c&quot; &apos;d&apos; &gt;"));
    assert_non_null(strstr(svg, "x&lt;y&gt;&amp;z &quot;q&quot; &apos;a&apos;"));
    assert_non_null(strstr(svg, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(svg, "a&amp;b"));
    assert_non_null(strstr(svg, "share ]]&gt; %s"));
    assert_non_null(strstr(svg, "H_init (nats)"));
    assert_null(strstr(svg, "<script"));
    assert_null(strchr(svg, '\x01'));
    assert_null(strchr(svg, '\x1f'));
    assert_null(strstr(svg, "\xff"));
    assert_null(strstr(svg, "\xed\xa0\x80")); /* a surrogate is not UTF-8 */
    assert_non_null(strstr(svg, "bad \xef\xbf\xbd\xef\xbf\xbd utf8"));
    assert_non_null(strstr(svg, "\xe2\x82\xac \xcf\x80 ok")); /* valid UTF-8 stays */
    free(svg);
}

/* One point, all-equal values, nothing finite, nothing at all. */
static void test_degenerate(void **state)
{
    (void)state;
    double t[64];
    size_t n;
    char *svg;

    double x1[] = {42}, y1[] = {0.5};
    struct ev_series one = {"one", x1, y1, 1, NULL, EV_DRAW_POINTS | EV_DRAW_LINE};
    struct ev_plot p = {"one point", "x", "y", &one, 1, 0, 0};
    assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_OK);
    check_xml(svg);
    assert_int_equal(count(svg, "<circle class=\"pt\""), 1);
    n = ticks_of(svg, "xtick", t, 64);
    check_ticks(t, n, 42, 42);
    n = ticks_of(svg, "ytick", t, 64);
    check_ticks(t, n, 0.5, 0.5);
    free(svg);

    double xe[] = {5, 5, 5, 5}, ye[] = {0, 0, 0, 0};
    struct ev_series eq = {"equal", xe, ye, 4, NULL, 0};
    p.series = &eq;
    assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_OK);
    check_xml(svg);
    assert_int_equal(count(svg, "<circle class=\"pt\""), 4);
    n = ticks_of(svg, "xtick", t, 64);
    check_ticks(t, n, 5, 5);
    n = ticks_of(svg, "ytick", t, 64);
    check_ticks(t, n, 0, 0);
    free(svg);

    double xn[] = {NAN, INFINITY, 1}, yn[] = {1, 2, -INFINITY};
    struct ev_series none = {"nothing finite", xn, yn, 3, NULL, EV_DRAW_POINTS | EV_DRAW_LINE};
    p.series = &none;
    assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_OK);
    check_xml(svg);
    assert_int_equal(count(svg, "<circle class=\"pt\""), 0);
    assert_int_equal(count(svg, "<polyline"), 0);
    assert_non_null(strstr(svg, ">nothing finite</text>"));
    free(svg);

    struct ev_plot empty = {NULL, NULL, NULL, NULL, 0, 300, 200};
    assert_int_equal(ev_svg_xy(&empty, &svg), GLIMP_OK);
    check_xml(svg);
    check_header(svg);
    assert_null(strstr(svg, "class=\"legend\""));
    free(svg);

    /* an empty series and an unlabelled one: neither breaks the legend */
    struct ev_series two[] = {{"empty", NULL, NULL, 0, NULL, 0}, {NULL, x1, y1, 1, NULL, 0}};
    p.series = two;
    p.n_series = 2;
    assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_OK);
    check_xml(svg);
    char labels[4][256];
    assert_int_equal(texts_of(svg, "legend-label", labels, 4), 1);
    assert_string_equal(labels[0], "empty");
    free(svg);
}

/* Ticks over random data of every scale and sign. */
static void test_ticks_random(void **state)
{
    (void)state;
    uint64_t st = 0x7157;
    for (int it = 0; it < 300; it++) {
        double scale = pow(10, (double)(tu_rng_u64(&st) % 17) - 8);
        double offset = (tu_rng_uniform(&st) - 0.5) * 20 * scale * (it % 3 == 0 ? 100 : 1);
        size_t n = 1 + tu_rng_u64(&st) % 40;
        double x[40], y[40], lx = INFINITY, hx = -INFINITY, ly = INFINITY, hy = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            x[i] = offset + scale * tu_rng_normal(&st);
            y[i] = (tu_rng_uniform(&st) - (it % 2 ? 0.3 : 0.0)) * scale; /* odd: some below 0 */
            lx = fmin(lx, x[i]);
            hx = fmax(hx, x[i]);
            ly = fmin(ly, y[i]);
            hy = fmax(hy, y[i]);
        }
        struct ev_series s = {"data", x, y, n, NULL, EV_DRAW_POINTS};
        struct ev_plot p = {"random", "x", "y", &s, 1, 0, 0};
        char *svg;
        assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_OK);
        if (it % 50 == 0)
            check_xml(svg);
        assert_int_equal(count(svg, "<circle class=\"pt\""), n);
        double t[64];
        size_t k = ticks_of(svg, "xtick", t, 64);
        check_ticks(t, k, lx, hx);
        k = ticks_of(svg, "ytick", t, 64);
        check_ticks(t, k, ly, hy);
        free(svg);
    }
}

static void test_scatter_errors(void **state)
{
    (void)state;
    double x[] = {1}, y[] = {2};
    struct ev_series s = {"s", x, y, 1, NULL, 0};
    struct ev_plot p = {"t", "x", "y", &s, 1, 0, 0};
    char *svg = (char *)1;
    assert_int_equal(ev_svg_xy(NULL, &svg), GLIMP_ERR_INVALID);
    assert_null(svg);
    assert_int_equal(ev_svg_xy(&p, NULL), GLIMP_ERR_INVALID);
    struct ev_series bad = {"s", NULL, y, 1, NULL, 0};
    p.series = &bad;
    assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_ERR_INVALID);
    assert_null(svg);
    double hx[] = {-1.5e308, 1.5e308};
    struct ev_series huge = {"s", hx, hx, 2, NULL, 0};
    p.series = &huge;
    assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_ERR_RANGE);
    assert_null(svg);
    p.series = &s;
    p.width = -5;
    assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_ERR_INVALID);
    p.width = 0;
    assert_int_equal(ev_svg_xy(&p, &svg), GLIMP_OK);
    free(svg);
}

/* ------------------------------------------------------------- histogram */

struct bar {
    size_t series, bin, count;
};

static size_t bars_of(const char *svg, struct bar *b, size_t max)
{
    size_t n = 0;
    for (const char *p = strstr(svg, "<rect class=\"bar\""); p && n < max;
         p = strstr(p + 1, "<rect class=\"bar\"")) {
        int used = 0;
        if (sscanf(p,
                   "<rect class=\"bar\" data-series=\"%zu\" data-bin=\"%zu\" data-count=\"%zu\"%n",
                   &b[n].series, &b[n].bin, &b[n].count, &used) != 3 ||
            used == 0)
            fail_msg("bar without data attributes");
        n++;
    }
    return n;
}

static void test_hist(void **state)
{
    (void)state;
    enum { NV = 500 };
    static double v[4][NV];
    uint64_t st = 0x4157;
    const char *names[4] = {"SLM, easy", "SLM, hard", "LLM, easy", "LLM, hard"};
    double vmin = INFINITY;
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < NV; i++) {
            double h = fabs(0.3 + 0.4 * k + 0.5 * tu_rng_normal(&st));
            v[k][i] = (i % 97 == 0) ? NAN : (i % 89 == 0) ? INFINITY : h;
            if (isfinite(v[k][i]))
                vmin = fmin(vmin, v[k][i]);
        }
    struct ev_hist_series s[4];
    for (int k = 0; k < 4; k++)
        s[k] = (struct ev_hist_series){names[k], v[k], NV};
    const double w = 0.25;
    for (int stacked = 0; stacked < 2; stacked++) {
        struct ev_hist h = {"H_init by writer & step", "H_init (nats)", s, 4, w, 0, stacked, 0, 0};
        char *svg;
        assert_int_equal(ev_svg_hist(&h, &svg), GLIMP_OK);
        check_xml(svg);
        check_header(svg);
        assert_non_null(strstr(svg, "H_init by writer &amp; step"));
        char labels[8][256];
        assert_int_equal(texts_of(svg, "legend-label", labels, 8), 4);
        assert_string_equal(labels[0], "SLM, easy");
        assert_string_equal(labels[3], "LLM, hard");

        /* recount: bins [k w, (k + 1) w), numbered from the lowest */
        static struct bar b[4 * 1000];
        size_t nb = bars_of(svg, b, 4000);
        size_t got[4][64] = {{0}}, want[4][64] = {{0}};
        double first = floor(vmin / w);
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < NV; i++)
                if (isfinite(v[k][i])) {
                    size_t j = (size_t)(floor(v[k][i] / w) - first);
                    assert_true(j < 64);
                    want[k][j]++;
                }
        for (size_t i = 0; i < nb; i++) {
            assert_true(b[i].series < 4 && b[i].bin < 64 && b[i].count > 0);
            got[b[i].series][b[i].bin] += b[i].count;
        }
        assert_memory_equal(got, want, sizeof got);

        /* y ticks: counts, integer steps, up to the tallest (stacked) bar */
        size_t top = 0;
        for (size_t j = 0; j < 64; j++) {
            size_t sum = 0;
            for (int k = 0; k < 4; k++) {
                sum += want[k][j];
                if (!stacked && want[k][j] > top)
                    top = want[k][j];
            }
            if (stacked && sum > top)
                top = sum;
        }
        double t[64];
        size_t n = ticks_of(svg, "ytick", t, 64);
        check_ticks(t, n, 0, (double)top);
        assert_true(t[1] - t[0] >= 1 && t[1] - t[0] == floor(t[1] - t[0]));
        n = ticks_of(svg, "xtick", t, 64);
        check_ticks(t, n, vmin, 3);
        free(svg);
    }
}

static void test_hist_bins(void **state)
{
    (void)state;
    double a[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, c[] = {7, 7, 7};
    struct ev_hist_series s = {"values", a, 11};
    struct ev_hist h = {"ten bins", "v", &s, 1, 0, 10, false, 0, 0};
    char *svg;
    struct bar b[64];
    assert_int_equal(ev_svg_hist(&h, &svg), GLIMP_OK);
    check_xml(svg);
    size_t nb = bars_of(svg, b, 64);
    size_t total = 0;
    for (size_t i = 0; i < nb; i++) {
        assert_true(b[i].bin < 10);
        total += b[i].count;
        /* bins [0,1) .. [8,9) hold one value, the last [9,10] holds two */
        assert_int_equal(b[i].count, b[i].bin == 9 ? 2 : 1);
    }
    assert_int_equal(nb, 10);
    assert_int_equal(total, 11);
    free(svg);

    /* all values equal; default bin count; an empty series in the legend */
    struct ev_hist_series two[] = {{"same", c, 3}, {"none", NULL, 0}};
    struct ev_hist h2 = {NULL, NULL, two, 2, 0, 0, true, 0, 0};
    assert_int_equal(ev_svg_hist(&h2, &svg), GLIMP_OK);
    check_xml(svg);
    nb = bars_of(svg, b, 64);
    assert_int_equal(nb, 1);
    assert_int_equal(b[0].count, 3);
    char labels[4][256];
    assert_int_equal(texts_of(svg, "legend-label", labels, 4), 2);
    free(svg);

    /* no series at all */
    struct ev_hist h3 = {"empty", "x", NULL, 0, 0.5, 0, false, 0, 0};
    assert_int_equal(ev_svg_hist(&h3, &svg), GLIMP_OK);
    check_xml(svg);
    assert_int_equal(count(svg, "class=\"bar\""), 0);
    free(svg);

    /* errors */
    svg = (char *)1;
    assert_int_equal(ev_svg_hist(NULL, &svg), GLIMP_ERR_INVALID);
    assert_null(svg);
    h.bin_width = NAN;
    assert_int_equal(ev_svg_hist(&h, &svg), GLIMP_ERR_INVALID);
    h.bin_width = -1;
    assert_int_equal(ev_svg_hist(&h, &svg), GLIMP_ERR_INVALID);
    h.bin_width = 1e-9;
    assert_int_equal(ev_svg_hist(&h, &svg), GLIMP_ERR_RANGE);
    assert_null(svg);
    h.bin_width = 0;
    h.n_bins = EV_SVG_MAX_BINS + 1;
    assert_int_equal(ev_svg_hist(&h, &svg), GLIMP_ERR_INVALID);
    struct ev_hist_series bad = {"bad", NULL, 3};
    struct ev_hist h4 = {"t", "x", &bad, 1, 0, 0, false, 0, 0};
    assert_int_equal(ev_svg_hist(&h4, &svg), GLIMP_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scatter),        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_degenerate),     cmocka_unit_test(test_ticks_random),
        cmocka_unit_test(test_scatter_errors), cmocka_unit_test(test_hist),
        cmocka_unit_test(test_hist_bins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
