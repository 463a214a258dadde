/* svg.c - SVG plots for eval reports (see svg.h): a text buffer with a cap,
 * an XML escaper that also repairs bad UTF-8, 1-2-5 axis ticks, and the
 * shared frame (title, grid, ticks, axis labels, legend) that the scatter
 * plot and the histogram draw into. */
#include "eval/svg.h"

#include "core/buf.h"
#include "core/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT 12
#define CHAR_W 7.0      /* rough width of a character at FONT */
#define LABEL_CHARS 60  /* longest legend label the layout makes room for */
#define MAX_SIDE 100000 /* largest width or height we accept */
#define MAX_TICKS 8     /* intervals between ticks on an axis, at most */

/* Okabe & Ito's palette, the yellow left out: readable on white, and told
 * apart by people with any common colour-vision deficiency. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#000000"};
#define N_PALETTE (sizeof palette / sizeof palette[0])

/* ------------------------------------------------------------- buffer */

struct buf {
    char *p;
    size_t n, cap;
    int err; /* first failure, GLIMP_ERR_NOMEM */
};

static void put_n(struct buf *b, const char *s, size_t k)
{
    if (b->err || k == 0)
        return;
    if (k > EV_SVG_MAX_BYTES - b->n) {
        b->err = glimp_error(GLIMP_ERR_NOMEM, "svg: plot larger than %u bytes",
                             (unsigned)EV_SVG_MAX_BYTES);
        return;
    }
    if (buf_append(&b->p, &b->n, &b->cap, s, k) != GLIMP_OK)
        b->err = glimp_error(GLIMP_ERR_NOMEM, "svg: out of memory at %zu bytes", b->n + k);
}

static void put(struct buf *b, const char *s)
{
    put_n(b, s, strlen(s));
}

static void GLIMP_PRINTF(2, 3) putf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof tmp) { /* only numbers and names go here */
        if (!b->err)
            b->err = glimp_error(GLIMP_ERR_NOMEM, "svg: formatted piece too long");
        return;
    }
    put_n(b, tmp, (size_t)k);
}

/* Is the well-formed character of len bytes at s one that XML 1.0 allows? */
static bool xml_allows(const unsigned char *s, size_t len)
{
    if (len == 1)
        return s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' || s[0] == '\r';
    /* U+FFFE and U+FFFF: EF BF BE, EF BF BF */
    return !(len == 3 && s[0] == 0xEF && s[1] == 0xBF && s[2] >= 0xBE);
}

/* Text as XML character data or attribute value: the five specials as
 * entities, newlines and tabs as spaces, anything else XML cannot hold as
 * U+FFFD. */
static void put_text(struct buf *b, const char *text)
{
    const char *t = text ? text : "";
    const size_t n = strlen(t);
    for (size_t i = 0; i < n && !b->err;) {
        const char *ent = NULL;
        switch (t[i]) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&apos;"; break;
        case '\t':
        case '\n':
        case '\r': ent = " "; break;
        default: break;
        }
        if (ent) {
            put(b, ent);
            i++;
            continue;
        }
        size_t k = glimp_utf8_char_len(t + i, n - i);
        if (k && xml_allows((const unsigned char *)t + i, k)) {
            put_n(b, t + i, k);
            i += k;
        } else { /* one U+FFFD for a character XML cannot hold or a bad stretch */
            put(b, "\xEF\xBF\xBD");
            i += k ? k : glimp_utf8_bad_len(t + i, n - i);
        }
    }
}

/* Characters (code points, roughly) in a label, at most cap. */
static size_t text_chars(const char *s, size_t cap)
{
    size_t n = 0;
    for (; s && *s && n < cap; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* ------------------------------------------------------------- axes */

struct axis {
    double lo, hi, step; /* lo and hi are multiples of step */
    int n;               /* ticks: lo + i step, i = 0..n */
    int decimals;        /* for %.*f, or -1 for %g */
};

/* Ticks at 1, 2 or 5 times a power of ten, about five intervals, covering
 * [dmin, dmax]. A single value gets room around it (above it for 0, so that
 * an axis of counts or accuracies never dips below 0); integer_step keeps
 * the step at 1 or more (counts). */
static int nice_axis(double dmin, double dmax, bool have, bool integer_step, struct axis *a)
{
    if (!have) {
        dmin = 0;
        dmax = 1;
    }
    if (dmin == dmax && dmin == 0) {
        dmax = 1;
    } else if (dmin == dmax) {
        double d = fabs(dmin) * 0.1;
        dmin -= d;
        dmax += d;
    }
    double span = dmax - dmin;
    if (!isfinite(span) || span <= 0)
        return glimp_error(GLIMP_ERR_RANGE, "svg: values from %g to %g span too much to plot", dmin,
                           dmax);
    /* the finest of 1, 2, 5 x 10^k that needs at most MAX_TICKS intervals */
    double e = floor(log10(span / MAX_TICKS));
    double step = 0, lo = 0, hi = 0;
    static const double mult[] = {1, 2, 5, 10, 20, 50};
    for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++) {
        step = mult[i] * pow(10, e);
        if (integer_step && step < 1)
            continue;
        lo = floor(dmin / step) * step;
        hi = ceil(dmax / step) * step;
        /* rounding in the division may leave an end a hair inside the data */
        if (lo > dmin)
            lo -= step;
        if (hi < dmax)
            hi += step;
        if ((hi - lo) / step <= MAX_TICKS + 0.5)
            break;
    }
    double n = round((hi - lo) / step);
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(n) || n < 1 || n > 100)
        return glimp_error(GLIMP_ERR_RANGE, "svg: no ticks for values from %g to %g", dmin, dmax);
    a->lo = lo;
    a->hi = hi;
    a->step = step;
    a->n = (int)n;
    double de = -floor(log10(step) + 1e-9);
    double big = fmax(fabs(lo), fabs(hi));
    a->decimals = (de > 9 || big >= 1e12) ? -1 : de > 0 ? (int)de : 0;
    return GLIMP_OK;
}

static double tick_value(const struct axis *a, int i)
{
    double v = a->lo + i * a->step;
    return fabs(v) < a->step * 1e-9 ? 0.0 : v;
}

static void format_tick(const struct axis *a, int i, char *s, size_t cap)
{
    double v = tick_value(a, i);
    if (a->decimals < 0)
        snprintf(s, cap, "%.6g", v);
    else
        snprintf(s, cap, "%.*f", a->decimals, v);
}

static size_t widest_tick(const struct axis *a)
{
    size_t w = 0;
    char s[64];
    for (int i = 0; i <= a->n; i++) {
        format_tick(a, i, s, sizeof s);
        if (strlen(s) > w)
            w = strlen(s);
    }
    return w;
}

/* ------------------------------------------------------------- frame */

struct legend_item {
    const char *label;
    const char *colour;
    bool line, point, box;
};

struct frame {
    int w, h;
    double x0, x1, y0, y1; /* plot area in pixels; y0 is the top */
    struct axis ax, ay;
};

static double px(const struct frame *f, double x)
{
    return f->x0 + (x - f->ax.lo) / (f->ax.hi - f->ax.lo) * (f->x1 - f->x0);
}

static double py(const struct frame *f, double y)
{
    return f->y1 - (y - f->ay.lo) / (f->ay.hi - f->ay.lo) * (f->y1 - f->y0);
}

static bool has_text(const char *s)
{
    return s && s[0];
}

/* Place the plot area: room on the left for y ticks and label, below for x
 * ticks and label, above for the title, on the right for the legend. */
static int layout(struct frame *f, int width, int height, const char *title, const char *xl,
                  const char *yl, const struct legend_item *items, size_t n_items)
{
    if (width < 0 || height < 0 || width > MAX_SIDE || height > MAX_SIDE)
        return glimp_error(GLIMP_ERR_INVALID, "svg: size %d x %d", width, height);
    size_t legend_chars = 0, labelled = 0;
    for (size_t i = 0; i < n_items; i++) {
        if (!has_text(items[i].label))
            continue;
        labelled++;
        size_t c = text_chars(items[i].label, LABEL_CHARS);
        if (c > legend_chars)
            legend_chars = c;
    }
    double left = 12 + widest_tick(&f->ay) * CHAR_W + (has_text(yl) ? 24 : 0);
    double right = labelled ? 44 + legend_chars * CHAR_W : 20;
    double top = has_text(title) ? 36 : 14;
    double bottom = 28 + (has_text(xl) ? 22 : 0);
    double legend_h = labelled ? 12 + 18.0 * (double)labelled : 0;
    f->w = width ? width : 720;
    f->h = height ? height : 480;
    if (f->w < left + right + 200)
        f->w = (int)ceil(left + right + 200);
    double need_h = fmax(top + bottom + 150, top + legend_h + 10);
    if (f->h < need_h)
        f->h = (int)ceil(fmin(need_h, 1e7)); /* a legend of a million series is cut */
    f->x0 = left;
    f->x1 = f->w - right;
    f->y0 = top;
    f->y1 = f->h - bottom;
    return GLIMP_OK;
}

static void open_svg(struct buf *b, const struct frame *f, const char *title)
{
    put(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    putf(b,
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
         "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"%d\">\n",
         f->w, f->h, f->w, f->h, FONT);
    putf(b, "<rect class=\"bg\" x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
         f->w, f->h);
    if (has_text(title)) {
        putf(b,
             "<text class=\"title\" x=\"%.1f\" y=\"22\" text-anchor=\"middle\" "
             "font-size=\"16\" font-weight=\"bold\">",
             (f->x0 + f->x1) / 2);
        put_text(b, title);
        put(b, "</text>\n");
    }
}

/* Grid, frame, tick labels and axis labels. */
static void draw_axes(struct buf *b, const struct frame *f, const char *xl, const char *yl)
{
    char s[64];
    put(b, "<g class=\"grid\" stroke=\"#e0e0e0\" stroke-width=\"1\">\n");
    for (int i = 0; i <= f->ax.n; i++) {
        double x = px(f, tick_value(&f->ax, i));
        putf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", x, f->y0, x, f->y1);
    }
    for (int i = 0; i <= f->ay.n; i++) {
        double y = py(f, tick_value(&f->ay, i));
        putf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", f->x0, y, f->x1, y);
    }
    put(b, "</g>\n");
    putf(b,
         "<rect class=\"frame\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
         "fill=\"none\" stroke=\"#333333\"/>\n",
         f->x0, f->y0, f->x1 - f->x0, f->y1 - f->y0);
    for (int i = 0; i <= f->ax.n; i++) {
        format_tick(&f->ax, i, s, sizeof s);
        putf(b, "<text class=\"xtick\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
             px(f, tick_value(&f->ax, i)), f->y1 + 16, s);
    }
    for (int i = 0; i <= f->ay.n; i++) {
        format_tick(&f->ay, i, s, sizeof s);
        putf(b, "<text class=\"ytick\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
             f->x0 - 6, py(f, tick_value(&f->ay, i)) + 4, s);
    }
    if (has_text(xl)) {
        putf(b, "<text class=\"xlabel\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">",
             (f->x0 + f->x1) / 2, f->y1 + 40);
        put_text(b, xl);
        put(b, "</text>\n");
    }
    if (has_text(yl)) {
        double x = 16, y = (f->y0 + f->y1) / 2;
        putf(b,
             "<text class=\"ylabel\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
             "transform=\"rotate(-90 %.2f %.2f)\">",
             x, y, x, y);
        put_text(b, yl);
        put(b, "</text>\n");
    }
}

static void draw_legend(struct buf *b, const struct frame *f, const struct legend_item *items,
                        size_t n)
{
    size_t labelled = 0, chars = 0;
    for (size_t i = 0; i < n; i++)
        if (has_text(items[i].label)) {
            labelled++;
            size_t c = text_chars(items[i].label, LABEL_CHARS);
            chars = c > chars ? c : chars;
        }
    if (!labelled)
        return;
    double x = f->x1 + 12, y = f->y0;
    put(b, "<g class=\"legend\">\n");
    putf(b,
         "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"white\" "
         "stroke=\"#999999\"/>\n",
         x, y, 30 + chars * CHAR_W, 8 + 18.0 * (double)labelled);
    double row = y + 16;
    for (size_t i = 0; i < n; i++) {
        const struct legend_item *it = &items[i];
        if (!has_text(it->label))
            continue;
        if (it->box)
            putf(b,
                 "<rect x=\"%.2f\" y=\"%.2f\" width=\"14\" height=\"10\" fill=\"%s\" "
                 "fill-opacity=\"0.6\" stroke=\"%s\"/>\n",
                 x + 6, row - 9, it->colour, it->colour);
        if (it->line)
            putf(b,
                 "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
                 "stroke-width=\"2\"/>\n",
                 x + 5, row - 4, x + 21, row - 4, it->colour);
        if (it->point)
            putf(b, "<circle class=\"key\" cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\"/>\n",
                 x + 13, row - 4, it->colour);
        putf(b, "<text class=\"legend-label\" x=\"%.2f\" y=\"%.2f\">", x + 26, row);
        put_text(b, it->label);
        put(b, "</text>\n");
        row += 18;
    }
    put(b, "</g>\n");
}

static int finish(struct buf *b, char **out)
{
    put(b, "</svg>\n");
    if (b->err) {
        free(b->p);
        return b->err;
    }
    *out = b->p;
    return GLIMP_OK;
}

/* ------------------------------------------------------------- scatter */

static bool finite_point(const struct ev_series *s, size_t i)
{
    return isfinite(s->x[i]) && isfinite(s->y[i]);
}

int ev_svg_xy(const struct ev_plot *p, char **out)
{
    if (out)
        *out = NULL;
    if (!p || !out || (p->n_series && !p->series))
        return glimp_error(GLIMP_ERR_INVALID, "ev_svg_xy: NULL argument");
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    bool have = false;
    for (size_t k = 0; k < p->n_series; k++) {
        const struct ev_series *s = &p->series[k];
        if (s->n && (!s->x || !s->y))
            return glimp_error(GLIMP_ERR_INVALID, "ev_svg_xy: series %zu has no x or y", k);
        for (size_t i = 0; i < s->n; i++) {
            if (!finite_point(s, i))
                continue;
            have = true;
            xmin = fmin(xmin, s->x[i]);
            xmax = fmax(xmax, s->x[i]);
            ymin = fmin(ymin, s->y[i]);
            ymax = fmax(ymax, s->y[i]);
        }
    }
    /* a little room so that no point sits on the frame, but none below 0
     * for data that has no negative value */
    double padx = have ? 0.02 * xmax - 0.02 * xmin : 0, pady = have ? 0.02 * ymax - 0.02 * ymin : 0;
    double xlo = xmin >= 0 ? fmax(0, xmin - padx) : xmin - padx;
    double ylo = ymin >= 0 ? fmax(0, ymin - pady) : ymin - pady;
    struct frame f;
    int rc = nice_axis(xlo, xmax + padx, have, false, &f.ax);
    if (rc == GLIMP_OK)
        rc = nice_axis(ylo, ymax + pady, have, false, &f.ay);
    if (rc != GLIMP_OK)
        return rc;
    struct legend_item *items = calloc(p->n_series ? p->n_series : 1, sizeof *items);
    if (!items)
        return glimp_error(GLIMP_ERR_NOMEM, "ev_svg_xy: out of memory");
    for (size_t k = 0; k < p->n_series; k++) {
        unsigned d = p->series[k].draw ? p->series[k].draw : EV_DRAW_POINTS;
        items[k] = (struct legend_item){p->series[k].label, palette[k % N_PALETTE],
                                        (d & EV_DRAW_LINE) != 0, (d & EV_DRAW_POINTS) != 0, false};
    }
    rc = layout(&f, p->width, p->height, p->title, p->x_label, p->y_label, items, p->n_series);
    if (rc != GLIMP_OK) {
        free(items);
        return rc;
    }

    struct buf b = {0};
    open_svg(&b, &f, p->title);
    draw_axes(&b, &f, p->x_label, p->y_label);
    for (size_t k = 0; k < p->n_series && !b.err; k++) {
        const struct ev_series *s = &p->series[k];
        const struct legend_item *it = &items[k];
        putf(&b, "<g class=\"series\" data-series=\"%zu\" fill=\"%s\" stroke=\"%s\">\n", k,
             it->colour, it->colour);
        if (it->line) { /* one polyline per run of finite points */
            bool open = false;
            for (size_t i = 0; i <= s->n && !b.err; i++) {
                bool ok = i < s->n && finite_point(s, i);
                if (ok && !open) {
                    put(&b, "<polyline class=\"line\" fill=\"none\" stroke-width=\"2\" points=\"");
                    open = true;
                } else if (!ok && open) {
                    put(&b, "\"/>\n");
                    open = false;
                }
                if (ok)
                    putf(&b, "%.2f,%.2f ", px(&f, s->x[i]), py(&f, s->y[i]));
            }
        }
        for (size_t i = 0; i < s->n && !b.err; i++) {
            if (!finite_point(s, i))
                continue;
            double cx = px(&f, s->x[i]), cy = py(&f, s->y[i]);
            if (it->point) {
                putf(&b, "<circle class=\"pt\" cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\"><title>", cx, cy);
                if (has_text(s->label)) {
                    put_text(&b, s->label);
                    put(&b, ": ");
                }
                putf(&b, "%g, %g</title></circle>\n", s->x[i], s->y[i]);
            }
            if (s->point_labels && has_text(s->point_labels[i])) {
                putf(&b,
                     "<text class=\"ptlabel\" x=\"%.2f\" y=\"%.2f\" font-size=\"10\" "
                     "stroke=\"none\">",
                     cx + 5, cy - 6);
                put_text(&b, s->point_labels[i]);
                put(&b, "</text>\n");
            }
        }
        put(&b, "</g>\n");
    }
    draw_legend(&b, &f, items, p->n_series);
    free(items);
    return finish(&b, out);
}

/* ------------------------------------------------------------- histogram */

int ev_svg_hist(const struct ev_hist *h, char **out)
{
    if (out)
        *out = NULL;
    if (!h || !out || (h->n_series && !h->series))
        return glimp_error(GLIMP_ERR_INVALID, "ev_svg_hist: NULL argument");
    if (h->bin_width < 0 || !isfinite(h->bin_width))
        return glimp_error(GLIMP_ERR_INVALID, "ev_svg_hist: bin width %g", h->bin_width);
    if (h->n_bins > EV_SVG_MAX_BINS)
        return glimp_error(GLIMP_ERR_INVALID, "ev_svg_hist: %zu bins, at most %d", h->n_bins,
                           EV_SVG_MAX_BINS);
    double vmin = INFINITY, vmax = -INFINITY;
    bool have = false;
    for (size_t k = 0; k < h->n_series; k++) {
        const struct ev_hist_series *s = &h->series[k];
        if (s->n && !s->values)
            return glimp_error(GLIMP_ERR_INVALID, "ev_svg_hist: series %zu has no values", k);
        for (size_t i = 0; i < s->n; i++)
            if (isfinite(s->values[i])) {
                have = true;
                vmin = fmin(vmin, s->values[i]);
                vmax = fmax(vmax, s->values[i]);
            }
    }
    if (!have) {
        vmin = 0;
        vmax = 1;
    }

    /* bins [lo + i w, lo + (i + 1) w), i < nb */
    double lo, w;
    size_t nb;
    if (h->bin_width > 0) {
        w = h->bin_width;
        lo = floor(vmin / w) * w;
        if (lo > vmin)
            lo -= w;
        double k = floor((vmax - lo) / w);
        if (!isfinite(lo) || !isfinite(k) || k >= EV_SVG_MAX_BINS)
            return glimp_error(GLIMP_ERR_RANGE,
                               "ev_svg_hist: bin width %g over [%g, %g] needs more than %d bins", w,
                               vmin, vmax, EV_SVG_MAX_BINS);
        nb = (size_t)k + 1;
    } else {
        nb = h->n_bins ? h->n_bins : 20;
        double hi = vmax;
        lo = vmin;
        if (lo == hi) {
            double d = fabs(lo) > 0 ? fabs(lo) * 0.05 : 0.5;
            lo -= d;
            hi += d;
        }
        w = (hi - lo) / (double)nb;
        if (!isfinite(w) || w <= 0)
            return glimp_error(GLIMP_ERR_RANGE, "ev_svg_hist: values from %g to %g", vmin, vmax);
    }

    size_t ns = h->n_series;
    if (ns > SIZE_MAX / sizeof(size_t) / nb)
        return glimp_error(GLIMP_ERR_NOMEM, "ev_svg_hist: too many series");
    size_t *count = calloc(ns ? ns * nb : 1, sizeof *count);
    struct legend_item *items = calloc(ns ? ns : 1, sizeof *items);
    if (!count || !items) {
        free(count);
        free(items);
        return glimp_error(GLIMP_ERR_NOMEM, "ev_svg_hist: out of memory");
    }
    for (size_t k = 0; k < ns; k++) {
        const struct ev_hist_series *s = &h->series[k];
        for (size_t i = 0; i < s->n; i++) {
            double v = s->values[i];
            if (!isfinite(v))
                continue;
            double j = floor((v - lo) / w);
            size_t bin = j < 0 ? 0 : j >= (double)nb ? nb - 1 : (size_t)j;
            count[k * nb + bin]++;
        }
        items[k] = (struct legend_item){s->label, palette[k % N_PALETTE], false, false, true};
    }
    size_t top = 0;
    for (size_t j = 0; j < nb; j++) {
        size_t sum = 0;
        for (size_t k = 0; k < ns; k++) {
            size_t c = count[k * nb + j];
            sum += c;
            if (!h->stacked && c > top)
                top = c;
        }
        if (h->stacked && sum > top)
            top = sum;
    }

    struct frame f;
    int rc = nice_axis(lo, lo + w * (double)nb, true, false, &f.ax);
    if (rc == GLIMP_OK)
        rc = nice_axis(0, top ? (double)top : 1, true, true, &f.ay);
    if (rc == GLIMP_OK)
        rc = layout(&f, h->width, h->height, h->title, h->x_label, "count", items, ns);
    if (rc != GLIMP_OK) {
        free(count);
        free(items);
        return rc;
    }

    struct buf b = {0};
    open_svg(&b, &f, h->title);
    draw_axes(&b, &f, h->x_label, "count");
    size_t *base = calloc(nb, sizeof *base);
    if (!base)
        b.err = glimp_error(GLIMP_ERR_NOMEM, "ev_svg_hist: out of memory");
    for (size_t k = 0; k < ns && !b.err; k++) {
        const char *col = items[k].colour;
        putf(&b, "<g class=\"series\" data-series=\"%zu\" fill=\"%s\" stroke=\"%s\" %s>\n", k, col,
             col,
             h->stacked ? "fill-opacity=\"0.85\"" : "fill-opacity=\"0.35\" stroke-width=\"1.5\"");
        for (size_t j = 0; j < nb && !b.err; j++) {
            size_t c = count[k * nb + j];
            if (c == 0)
                continue;
            size_t under = h->stacked ? base[j] : 0;
            double xa = px(&f, lo + w * (double)j), xb = px(&f, lo + w * (double)(j + 1));
            double ya = py(&f, (double)(under + c)), yb = py(&f, (double)under);
            putf(&b,
                 "<rect class=\"bar\" data-series=\"%zu\" data-bin=\"%zu\" data-count=\"%zu\" "
                 "x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"><title>",
                 k, j, c, xa, ya, xb - xa, yb - ya);
            put_text(&b, items[k].label);
            putf(&b, " [%g, %g): %zu</title></rect>\n", lo + w * (double)j,
                 lo + w * (double)(j + 1), c);
            base[j] += c;
        }
        put(&b, "</g>\n");
    }
    draw_legend(&b, &f, items, ns);
    free(base);
    free(count);
    free(items);
    return finish(&b, out);
}
