/* svg.h - the plots of `glimp eval` reports, written as standalone SVG text
 * with no library: a scatter/line plot (accuracy against latency) and a
 * histogram of several series (H_init by writer and step difficulty).
 *
 * Both produce well-formed XML (every string escaped, invalid UTF-8 and
 * control bytes replaced by U+FFFD) with width, height and viewBox. Axes get
 * 1-2-5 ticks that cover the data, gridlines and a legend to the right of
 * the plot; series colours come in order from a fixed colour-blind-safe
 * palette. Points with a NaN or infinite coordinate are skipped (a line
 * breaks there). Elements carry classes for styling and checking:
 * "xtick"/"ytick" tick labels, "pt" points, "line" polylines, "ptlabel",
 * "legend-label", "bar" bars with data-series/data-bin/data-count. */
#ifndef GLIMP_EVAL_SVG_H
#define GLIMP_EVAL_SVG_H

#include <stdbool.h>
#include <stddef.h>

enum ev_draw {
    EV_DRAW_POINTS = 1, /* a circle at each point */
    EV_DRAW_LINE = 2,   /* a line through the points in the order given */
};

struct ev_series {
    const char *label; /* legend text; NULL or "": left out of the legend */
    const double *x;   /* (n) */
    const double *y;   /* (n) */
    size_t n;
    const char *const *point_labels; /* NULL, or (n) strings, NULL for none */
    unsigned draw;                   /* EV_DRAW_* bits; 0 means points */
};

struct ev_plot {
    const char *title, *x_label, *y_label; /* each may be NULL */
    const struct ev_series *series;
    size_t n_series;
    int width, height; /* pixels, 0 for 720 x 480; grown when labels need it */
};

struct ev_hist_series {
    const char *label; /* "SLM, easy" */
    const double *values;
    size_t n;
};

struct ev_hist {
    const char *title, *x_label; /* each may be NULL; the y axis is counts */
    const struct ev_hist_series *series;
    size_t n_series;
    double bin_width; /* > 0: bins [k w, (k+1) w) for integers k */
    size_t n_bins;    /* bin_width 0: this many equal bins from the smallest
                       * to the largest value (0 for 20), the last closed */
    bool stacked;     /* stack the series in each bin; else overlay them */
    int width, height;
};

#define EV_SVG_MAX_BINS 10000
#define EV_SVG_MAX_BYTES (64u << 20)

/* Write the plot into *out, a malloc'ed NUL-terminated string the caller
 * frees. Returns 0, GLIMP_ERR_INVALID (NULL arguments, a series with points
 * but no x or y, a bad size), GLIMP_ERR_RANGE (values whose span overflows
 * a double) or GLIMP_ERR_NOMEM (malloc failed, or the text would pass
 * EV_SVG_MAX_BYTES); on failure *out is NULL. */
int ev_svg_xy(const struct ev_plot *p, char **out);

/* The same for a histogram. GLIMP_ERR_INVALID also for a bin width that is
 * not finite or an n_bins past EV_SVG_MAX_BINS, GLIMP_ERR_RANGE when the
 * bin width would need more than EV_SVG_MAX_BINS bins. */
int ev_svg_hist(const struct ev_hist *h, char **out);

#endif
