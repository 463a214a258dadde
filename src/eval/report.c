/* report.c - from DIR/results.jsonl (its records, read by record.c) to
 * what people read: report.md (the paper-style table), summary.json,
 * pareto.svg (accuracy against latency), hinit.svg (H_init by writer
 * and by easy/hard step) and report.html (all of it in one self-contained
 * file, with each problem's steps). */
#include "eval/html.h"
#include "eval/svg.h"

#include "glimp_eval.h"

#include "core/error.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RP_MAX_METHODS 512
/* report.html shows the steps of at most this many attempts (a method's
 * run of one problem); the rest are counted and left out */
#define RP_MAX_ATTEMPTS 5000

struct rp_step {
    char writer[8];
    double h_init;
    int easy;
    char *text; /* NULL when not recorded */
    size_t len;
};

/* One record, kept for the per-problem view of report.html. */
struct rp_attempt {
    char *method, *id, *extracted, *expected; /* extracted, expected: NULL when none */
    uint32_t run;
    bool correct;
    double latency_s;
    struct rp_step *steps;
    size_t n_steps;
};

struct rp_hsteps { /* H_init values: [writer][easy: 0 hard, 1 easy, 2 unlabelled] */
    double *v[2][3];
    size_t n[2][3], cap[2][3];
    bool labelled;
};

/* One method's numbers, gathered over its lines. */
struct rp_method {
    char spec[128];
    char policy[16], signal[8];
    double tau, share;
    int draft;
    uint32_t runs_seen[64]; /* problems per run (runs past 64 are pooled in the last) */
    uint32_t correct_run[64];
    uint32_t n_runs;
    double *lat; /* latencies */
    size_t n, cap;
    double ttft_sum;
    size_t ttft_n;
    double share_steps, share_tokens, tok_slm, tok_llm;
    double draft_prop, draft_acc;
    struct rp_hsteps h; /* glimp-family methods only */
};

struct rp {
    struct rp_method m[RP_MAX_METHODS];
    size_t n_methods;
    struct rp_attempt *at; /* (n_at), at most RP_MAX_ATTEMPTS */
    size_t n_at, cap_at, left_out;
    size_t lines;
    const char *path; /* results.jsonl, for messages */
};

static int push(double **v, size_t *n, size_t *cap, double x)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        double *p = realloc(*v, c * sizeof *p);
        if (!p)
            return glimp_error(GLIMP_ERR_NOMEM, "report: out of memory");
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = x;
    return GLIMP_OK;
}

static bool is_glimp_family(const char *policy)
{
    return !strcmp(policy, "glimp") || !strcmp(policy, "share") || !strcmp(policy, "instance");
}

static double or0(double v)
{
    return isfinite(v) ? v : 0;
}

static char *dup_or_null(const char *s, size_t n)
{
    char *d = s ? malloc(n + 1) : NULL;
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void attempt_free(struct rp_attempt *a)
{
    free(a->method);
    free(a->id);
    free(a->extracted);
    free(a->expected);
    for (size_t i = 0; i < a->n_steps; i++)
        free(a->steps[i].text);
    free(a->steps);
}

/* Keep rec for the per-problem view (copies: rec is valid during the call). */
static int keep_attempt(struct rp *rp, const struct glimp_eval_record *rec)
{
    if (rp->n_at == RP_MAX_ATTEMPTS) {
        rp->left_out++;
        return GLIMP_OK;
    }
    if (rp->n_at == rp->cap_at) {
        size_t c = rp->cap_at ? rp->cap_at * 2 : 64;
        struct rp_attempt *p = realloc(rp->at, c * sizeof *p);
        if (!p)
            return glimp_error(GLIMP_ERR_NOMEM, "report: out of memory");
        rp->at = p;
        rp->cap_at = c;
    }
    struct rp_attempt *a = &rp->at[rp->n_at++];
    *a = (struct rp_attempt){.run = rec->run, .correct = rec->correct,
                             .latency_s = rec->latency_s};
    a->method = dup_or_null(rec->method, strlen(rec->method));
    a->id = dup_or_null(rec->id, strlen(rec->id));
    bool ok = a->method && a->id;
    if (rec->extracted)
        ok = ok && (a->extracted = dup_or_null(rec->extracted, strlen(rec->extracted)));
    if (rec->expected)
        ok = ok && (a->expected = dup_or_null(rec->expected, strlen(rec->expected)));
    if (ok && rec->n_steps) {
        ok = (a->steps = calloc(rec->n_steps, sizeof *a->steps)) != NULL;
        for (size_t i = 0; ok && i < rec->n_steps; i++) {
            const struct glimp_eval_step *e = &rec->steps[i];
            struct rp_step *st = &a->steps[a->n_steps++];
            memcpy(st->writer, e->writer, sizeof st->writer);
            st->h_init = e->h_init;
            st->easy = e->easy;
            st->len = e->text_len;
            if (e->text)
                ok = (st->text = dup_or_null(e->text, e->text_len)) != NULL;
        }
    }
    return ok ? GLIMP_OK : glimp_error(GLIMP_ERR_NOMEM, "report: out of memory");
}

static int add_record(const struct glimp_eval_record *rec, void *user)
{
    struct rp *rp = user;
    struct rp_method *m = NULL;
    for (size_t i = 0; i < rp->n_methods && !m; i++)
        if (!strcmp(rp->m[i].spec, rec->method))
            m = &rp->m[i];
    if (!m) {
        if (rp->n_methods == RP_MAX_METHODS)
            return glimp_error(GLIMP_ERR_RANGE, "%s:%u: more than %d methods", rp->path, rec->line,
                               RP_MAX_METHODS);
        m = &rp->m[rp->n_methods++];
        snprintf(m->spec, sizeof m->spec, "%s", rec->method);
        snprintf(m->policy, sizeof m->policy, "%s", rec->policy[0] ? rec->policy : "?");
        snprintf(m->signal, sizeof m->signal, "%s", rec->signal[0] ? rec->signal : "?");
        m->tau = rec->tau;
        m->share = rec->share;
        m->draft = (int)rec->draft;
    }
    uint32_t ri = rec->run > 63 ? 63 : rec->run;
    if (ri + 1 > m->n_runs)
        m->n_runs = ri + 1;
    m->runs_seen[ri]++;
    m->correct_run[ri] += rec->correct;
    int rc = push(&m->lat, &m->n, &m->cap, rec->latency_s);
    if (rc != GLIMP_OK)
        return rc;
    if (isfinite(rec->ttft_s)) {
        m->ttft_sum += rec->ttft_s;
        m->ttft_n++;
    }
    m->share_steps += or0(rec->llm_share_steps);
    m->share_tokens += or0(rec->llm_share_tokens);
    m->tok_slm += (double)rec->tokens_slm;
    m->tok_llm += (double)rec->tokens_llm;
    m->draft_prop += (double)rec->draft_proposed;
    m->draft_acc += (double)rec->draft_accepted;
    rp->lines++;
    rc = keep_attempt(rp, rec);
    if (rc != GLIMP_OK)
        return rc;

    /* H_init of the steps, split by writer and easy/hard */
    if (!is_glimp_family(m->policy))
        return GLIMP_OK;
    for (size_t i = 0; i < rec->n_steps; i++) {
        const struct glimp_eval_step *s = &rec->steps[i];
        if (!isfinite(s->h_init) || !s->writer[0])
            continue;
        int wi = !strcmp(s->writer, "llm"), ei = s->easy == 0 ? 0 : s->easy == 1 ? 1 : 2;
        m->h.labelled = m->h.labelled || ei < 2;
        rc = push(&m->h.v[wi][ei], &m->h.n[wi][ei], &m->h.cap[wi][ei], s->h_init);
        if (rc != GLIMP_OK)
            return rc;
    }
    return GLIMP_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of sorted v, by linear interpolation. */
static double quantile(const double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    double f = pos - (double)lo;
    return lo + 1 < n ? v[lo] * (1 - f) + v[lo + 1] * f : v[lo];
}

struct rp_stats {
    double acc_mean, acc_sd, lat_mean, p50, p90, ttft, share_steps, share_tokens, tok_slm, tok_llm,
        draft_rate;
    uint32_t runs;
    size_t problems;
};

static struct rp_stats stats(struct rp_method *m)
{
    struct rp_stats s = {0};
    double sum = 0, sum2 = 0;
    for (uint32_t r = 0; r < m->n_runs; r++) {
        if (!m->runs_seen[r])
            continue;
        double a = (double)m->correct_run[r] / m->runs_seen[r];
        sum += a;
        sum2 += a * a;
        s.runs++;
        if (m->runs_seen[r] > s.problems)
            s.problems = m->runs_seen[r];
    }
    s.acc_mean = s.runs ? sum / s.runs : NAN;
    s.acc_sd = s.runs > 1 ? sqrt(fmax(0.0, (sum2 - sum * sum / s.runs) / (s.runs - 1))) : 0.0;
    qsort(m->lat, m->n, sizeof *m->lat, cmp_double);
    double lsum = 0;
    for (size_t i = 0; i < m->n; i++)
        lsum += m->lat[i];
    s.lat_mean = m->n ? lsum / m->n : NAN;
    s.p50 = quantile(m->lat, m->n, 0.5);
    s.p90 = quantile(m->lat, m->n, 0.9);
    s.ttft = m->ttft_n ? m->ttft_sum / m->ttft_n : NAN;
    double n = m->n ? (double)m->n : NAN;
    s.share_steps = m->share_steps / n;
    s.share_tokens = m->share_tokens / n;
    s.tok_slm = m->tok_slm / n;
    s.tok_llm = m->tok_llm / n;
    s.draft_rate = m->draft_prop > 0 ? m->draft_acc / m->draft_prop : NAN;
    return s;
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return glimp_error(GLIMP_ERR_IO, "%s: %s", path, strerror(errno));
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    return ok ? GLIMP_OK : glimp_error(GLIMP_ERR_IO, "%s: write failed", path);
}

/* Where hinit.svg takes its steps from: the first glimp-family method with
 * labelled steps, else the first glimp-family method; NULL when none. */
static const struct rp_method *hinit_source(const struct rp *rp)
{
    const struct rp_method *first = NULL;
    for (size_t i = 0; i < rp->n_methods; i++) {
        const struct rp_method *m = &rp->m[i];
        if (!is_glimp_family(m->policy))
            continue;
        if (m->h.labelled)
            return m;
        if (!first)
            first = m;
    }
    return first;
}

/* A method's label in tables and plots. */
static void label(const struct rp_method *m, char *buf, size_t n)
{
    snprintf(buf, n, "%s", m->spec);
}

/* The LLM alone (policy llm, no drafting), the row every latency is
 * relative to; the last such method when there are several; NULL: none. */
static const struct rp_stats *llm_stats(const struct rp *rp, const struct rp_stats *st)
{
    const struct rp_stats *llm = NULL;
    for (size_t i = 0; i < rp->n_methods; i++)
        if (!strcmp(rp->m[i].policy, "llm") && rp->m[i].draft == 0)
            llm = &st[i];
    return llm;
}

static int write_markdown(struct rp *rp, const struct rp_stats *st, const char *dir)
{
    char *md = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&md, &len);
    if (!f)
        return glimp_error(GLIMP_ERR_NOMEM, "report: out of memory");
    const struct rp_stats *llm = llm_stats(rp, st);
    fprintf(f, "# glimp eval report\n\n");
    fprintf(f,
            "%zu result lines, %zu methods. Accuracy is Pass@1, the mean over runs (± sd "
            "over runs); latency is end to end per problem; LLM share is the share of "
            "thinking steps the large model wrote (and of all tokens).\n\n",
            rp->lines, rp->n_methods);
    fprintf(f, "| method | runs × problems | accuracy | mean latency (s) | vs LLM alone | p50 (s) "
               "| p90 (s) | TTFT (s) | LLM share steps | LLM share tokens | tokens SLM / LLM | "
               "draft acceptance |\n");
    fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < rp->n_methods; i++) {
        const struct rp_stats *s = &st[i];
        char name[160], vs[32] = "", dr[32] = "";
        label(&rp->m[i], name, sizeof name);
        if (llm && llm->lat_mean > 0)
            snprintf(vs, sizeof vs, "%.2f×", s->lat_mean / llm->lat_mean);
        if (isfinite(s->draft_rate))
            snprintf(dr, sizeof dr, "%.1f%%", 100 * s->draft_rate);
        fprintf(f,
                "| %s | %u × %zu | %.1f%% ± %.1f | %.2f | %s | %.2f | %.2f | %.2f | %.1f%% | "
                "%.1f%% | %.0f / %.0f | %s |\n",
                name, s->runs, s->problems, 100 * s->acc_mean, 100 * s->acc_sd, s->lat_mean, vs,
                s->p50, s->p90, s->ttft, 100 * s->share_steps, 100 * s->share_tokens, s->tok_slm,
                s->tok_llm, dr);
    }
    const struct rp_method *hm = hinit_source(rp);
    if (hm)
        fprintf(f,
                "\nH_init histogram (`hinit.svg`): the steps of `%s`; SLM-written steps: %zu "
                "easy, %zu hard, %zu unlabelled; LLM-written: %zu easy, %zu hard, %zu "
                "unlabelled. A step is easy when the other model, from the same prefix, writes "
                "the same text.\n",
                hm->spec, hm->h.n[0][1], hm->h.n[0][0], hm->h.n[0][2], hm->h.n[1][1], hm->h.n[1][0],
                hm->h.n[1][2]);
    fprintf(f, "\n![accuracy against latency](pareto.svg)\n\n![H_init](hinit.svg)\n");
    fclose(f);
    int rc = write_text(dir, "report.md", md);
    free(md);
    return rc;
}

static int write_summary(struct rp *rp, const struct rp_stats *st, const char *dir)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < rp->n_methods; i++) {
        const struct rp_method *m = &rp->m[i];
        const struct rp_stats *s = &st[i];
        json_t *o = json_object();
        json_object_set_new(o, "method", json_string(m->spec));
        json_object_set_new(o, "policy", json_string(m->policy));
        json_object_set_new(o, "signal", json_string(m->signal));
        json_object_set_new(
            o, "tau", isinf(m->tau) ? json_string(m->tau > 0 ? "inf" : "-inf") : jnum(m->tau));
        json_object_set_new(o, "share", jnum(m->share));
        json_object_set_new(o, "draft", json_integer(m->draft));
        json_object_set_new(o, "runs", json_integer(s->runs));
        json_object_set_new(o, "problems", json_integer((json_int_t)s->problems));
        json_object_set_new(o, "accuracy_mean", jnum(s->acc_mean));
        json_object_set_new(o, "accuracy_sd", jnum(s->acc_sd));
        json_object_set_new(o, "latency_mean_s", jnum(s->lat_mean));
        json_object_set_new(o, "latency_p50_s", jnum(s->p50));
        json_object_set_new(o, "latency_p90_s", jnum(s->p90));
        json_object_set_new(o, "ttft_mean_s", jnum(s->ttft));
        json_object_set_new(o, "llm_share_steps", jnum(s->share_steps));
        json_object_set_new(o, "llm_share_tokens", jnum(s->share_tokens));
        json_object_set_new(o, "tokens_slm_mean", jnum(s->tok_slm));
        json_object_set_new(o, "tokens_llm_mean", jnum(s->tok_llm));
        json_object_set_new(o, "draft_accept_rate", jnum(s->draft_rate));
        json_array_append_new(arr, o);
    }
    json_t *root = json_pack("{s:o}", "methods", arr);
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!text)
        return glimp_error(GLIMP_ERR_NOMEM, "report: out of memory");
    int rc = write_text(dir, "summary.json", text);
    free(text);
    return rc;
}

/* pareto.svg: accuracy against mean latency, one point per method; methods
 * of one family (same policy and signal: a tau sweep, matched shares) share
 * a series drawn as a line through its points by latency. */
static int write_pareto(const struct rp *rp, const struct rp_stats *st, const char *dir,
                        char **keep)
{
    size_t n = rp->n_methods;
    struct ev_series *ser = calloc(n, sizeof *ser);
    double *x = calloc(n, sizeof *x), *y = calloc(n, sizeof *y);
    const char **pl = calloc(n, sizeof *pl);
    char(*names)[96] = calloc(n, sizeof *names);
    size_t *order = calloc(n, sizeof *order), ns = 0, k = 0;
    bool *used = calloc(n, sizeof *used);
    int rc = GLIMP_OK;
    if (!ser || !x || !y || !pl || !names || !order || !used)
        rc = glimp_error(GLIMP_ERR_NOMEM, "report: out of memory");
    for (size_t i = 0; rc == GLIMP_OK && i < n; i++) {
        if (used[i])
            continue;
        /* the family of method i, in order of latency */
        size_t start = k;
        for (size_t j = i; j < n; j++) {
            if (used[j] || strcmp(rp->m[j].policy, rp->m[i].policy) ||
                strcmp(rp->m[j].signal, rp->m[i].signal) || rp->m[j].draft != rp->m[i].draft ||
                !strcmp(rp->m[i].policy, "slm") || !strcmp(rp->m[i].policy, "llm") ||
                !strcmp(rp->m[i].policy, "specreason"))
                if (j != i)
                    continue;
            used[j] = true;
            size_t at = k++;
            while (at > start && st[order[at - 1]].lat_mean > st[j].lat_mean) {
                order[at] = order[at - 1];
                at--;
            }
            order[at] = j;
        }
        for (size_t q = start; q < k; q++) {
            x[q] = st[order[q]].lat_mean;
            y[q] = 100 * st[order[q]].acc_mean;
            pl[q] = k - start > 1 ? rp->m[order[q]].spec : NULL;
        }
        if (k - start > 1)
            snprintf(names[ns], sizeof names[ns], "%s (%s%s), %zu settings", rp->m[i].policy,
                     rp->m[i].signal, rp->m[i].draft ? ", draft" : "", k - start);
        else
            snprintf(names[ns], sizeof names[ns], "%s", rp->m[i].spec);
        ser[ns] = (struct ev_series){.label = names[ns],
                                     .x = x + start,
                                     .y = y + start,
                                     .n = k - start,
                                     .point_labels = pl + start,
                                     .draw = EV_DRAW_POINTS | (k - start > 1 ? EV_DRAW_LINE : 0)};
        ns++;
    }
    char *svg = NULL;
    if (rc == GLIMP_OK) {
        struct ev_plot plot = {.title = "Accuracy against latency",
                               .x_label = "mean latency per problem (s)",
                               .y_label = "accuracy, Pass@1 (%)",
                               .series = ser,
                               .n_series = ns};
        rc = ev_svg_xy(&plot, &svg);
    }
    if (rc == GLIMP_OK)
        rc = write_text(dir, "pareto.svg", svg);
    if (rc == GLIMP_OK)
        *keep = svg;
    else
        free(svg);
    free(ser);
    free(x);
    free(y);
    free(pl);
    free(names);
    free(order);
    free(used);
    return rc;
}

/* hinit.svg: H_init of the steps of one glimp method, stacked by who wrote
 * the step and whether it was easy. */
static int write_hinit(const struct rp *rp, const char *dir, char **keep)
{
    const struct rp_method *m = hinit_source(rp);
    struct ev_hist_series ser[6];
    size_t ns = 0;
    static const char *const names[2][3] = {{"SLM wrote, hard", "SLM wrote, easy", "SLM wrote"},
                                            {"LLM wrote, hard", "LLM wrote, easy", "LLM wrote"}};
    for (int w = 0; m && w < 2; w++)
        for (int e = 0; e < 3; e++)
            if (m->h.n[w][e])
                ser[ns++] = (struct ev_hist_series){names[w][e], m->h.v[w][e], m->h.n[w][e]};
    char title[200];
    snprintf(title, sizeof title, "H_init of the steps of %s", m ? m->spec : "(no glimp method)");
    struct ev_hist h = {.title = title,
                        .x_label = "H_init (nats)",
                        .series = ser,
                        .n_series = ns,
                        .n_bins = 30,
                        .stacked = true};
    char *svg = NULL;
    int rc = ev_svg_hist(&h, &svg);
    if (rc == GLIMP_OK)
        rc = write_text(dir, "hinit.svg", svg);
    if (rc == GLIMP_OK)
        *keep = svg;
    else
        free(svg);
    return rc;
}

static int write_plots(const struct rp *rp, const struct rp_stats *st, const char *dir,
                       char **pareto, char **hinit)
{
    int rc = write_pareto(rp, st, dir, pareto);
    return rc == GLIMP_OK ? write_hinit(rp, dir, hinit) : rc;
}

/* ------------------------------------------------------------ report.html */

/* The page's look, inline: the file opens from disk with nothing else. */
static const char html_style[] =
    ":root{--slm:#0072b2;--slm-bg:#e6f1f8;--llm:#d55e00;--llm-bg:#fbeee5;--line:#d8d8d8;"
    "font-family:system-ui,sans-serif;color:#1b1b1b;background:#fafafa}"
    "body{margin:0 auto;max-width:1200px;padding:.75rem}h1{font-size:1.3rem}"
    "h2{font-size:1.1rem;margin-top:1.5rem}.wide{overflow-x:auto}"
    "table{border-collapse:collapse;font-size:.82rem;background:#fff}"
    "th,td{border:1px solid var(--line);padding:.25rem .45rem;text-align:right;white-space:nowrap}"
    "th:first-child,td:first-child{text-align:left}"
    "figure{margin:.8rem 0}figure svg{max-width:100%;height:auto}"
    "details.problem{background:#fff;border:1px solid var(--line);border-radius:6px;"
    "margin:.35rem 0;padding:.3rem .6rem}summary{cursor:pointer}"
    ".ok{color:#1a7f37;font-weight:bold}.bad{color:#b00020;font-weight:bold}"
    ".attempt{border-top:1px solid var(--line);margin-top:.4rem;padding-top:.3rem}"
    ".attempt h3{font-size:.9rem;margin:.2rem 0}"
    "ol.steps{list-style:none;padding:0;margin:.3rem 0;display:flex;flex-direction:column;gap:.25rem}"
    ".step{border-left:4px solid var(--slm);background:var(--slm-bg);padding:.2rem .45rem;"
    "font-size:.82rem}.step[data-writer=llm]{border-left-color:var(--llm);background:var(--llm-bg)}"
    ".step .head{display:block;font-size:.72rem;color:#666}"
    ".step .text{white-space:pre-wrap;overflow-wrap:anywhere;font-family:ui-monospace,monospace}"
    ".tag{display:inline-block;font-weight:bold;font-size:.72rem;padding:0 .3rem;"
    "border-radius:3px;color:#fff;background:var(--slm)}.tag.llm{background:var(--llm)}"
    "code{overflow-wrap:anywhere}.note{color:#666;font-size:.85rem}";

/* An SVG from svg.c, inline: without its XML declaration. */
static void put_svg(FILE *f, const char *svg)
{
    if (!svg)
        return;
    if (!strncmp(svg, "<?xml", 5)) {
        const char *end = strstr(svg, "?>");
        svg = end ? end + 2 : svg;
        while (*svg == '\n')
            svg++;
    }
    fputs(svg, f);
}

static void put_step(FILE *f, const struct rp_step *s, size_t i)
{
    bool llm = !strcmp(s->writer, "llm");
    fprintf(f, "<li class=\"step\" data-writer=\"%s\" data-h-init=\"", llm ? "llm" : "slm");
    if (isfinite(s->h_init))
        fprintf(f, "%.17g", s->h_init);
    fprintf(f, "\"><span class=\"head\"><span class=\"tag %s\">%s</span> step %zu &middot; "
               "H_init ",
            llm ? "llm" : "slm", llm ? "LLM" : "SLM", i);
    if (isfinite(s->h_init))
        fprintf(f, "%.3f", s->h_init);
    else
        fputs("n/a", f);
    if (s->easy >= 0)
        fprintf(f, " &middot; %s", s->easy ? "easy" : "hard");
    fputs("</span><span class=\"text\">", f);
    if (s->text)
        ev_html_put(f, s->text, s->len);
    else
        fputs("<i>(text not recorded)</i>", f);
    fputs("</span></li>\n", f);
}

/* Each problem (in order of first appearance) as a <details> that opens on
 * its expected answer and every method's attempt at it: the given answer,
 * right or wrong, and the steps marked by writer and H_init. No script:
 * <details> opens by itself. */
static void put_problems(FILE *f, const struct rp *rp)
{
    bool *done = calloc(rp->n_at ? rp->n_at : 1, sizeof *done);
    if (!done)
        return;
    for (size_t i = 0; i < rp->n_at; i++) {
        if (done[i])
            continue;
        const char *id = rp->at[i].id, *expected = NULL;
        size_t n = 0, ok = 0;
        for (size_t j = i; j < rp->n_at; j++)
            if (!strcmp(rp->at[j].id, id)) {
                n++;
                ok += rp->at[j].correct;
                if (!expected)
                    expected = rp->at[j].expected;
            }
        fputs("<details class=\"problem\" data-id=\"", f);
        ev_html_puts(f, id);
        fputs("\"><summary><b>", f);
        ev_html_puts(f, id);
        fprintf(f, "</b>: %zu of %zu attempts right</summary>\n<p class=\"expected\">expected: ",
                ok, n);
        if (expected) {
            fputs("<code>", f);
            ev_html_puts(f, expected);
            fputs("</code>", f);
        } else {
            fputs("<i>(not recorded)</i>", f);
        }
        fputs("</p>\n", f);
        for (size_t j = i; j < rp->n_at; j++) {
            const struct rp_attempt *a = &rp->at[j];
            if (strcmp(a->id, id))
                continue;
            done[j] = true;
            fprintf(f, "<section class=\"attempt\" data-correct=\"%s\"><h3>", a->correct ? "true" : "false");
            ev_html_puts(f, a->method);
            fprintf(f, ", run %u: <span class=\"%s\">%s</span>, %.2f s</h3>\n<p>given: ", a->run,
                    a->correct ? "ok" : "bad", a->correct ? "right" : "wrong", a->latency_s);
            fputs("<code class=\"given\">", f);
            if (a->extracted)
                ev_html_puts(f, a->extracted);
            else
                fputs("(no \\boxed{} answer)", f);
            fputs("</code></p>\n<ol class=\"steps\">\n", f);
            for (size_t k = 0; k < a->n_steps; k++)
                put_step(f, &a->steps[k], k);
            fputs("</ol></section>\n", f);
        }
        fputs("</details>\n", f);
    }
    free(done);
}

/* report.html: the table, the plots inline and the per-problem view, in one
 * file that loads nothing (its CSP allows no script and no request). */
static int write_html(struct rp *rp, const struct rp_stats *st, const char *dir,
                      const char *pareto, const char *hinit)
{
    char *html = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&html, &len);
    if (!f)
        return glimp_error(GLIMP_ERR_NOMEM, "report: out of memory");
    const struct rp_stats *llm = llm_stats(rp, st);
    fprintf(f, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
               "style-src 'unsafe-inline'; img-src data:\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>glimp eval report</title>\n<style>%s</style></head><body>\n"
               "<h1>glimp eval report</h1>\n<p>%zu result lines, %zu methods. Accuracy is "
               "Pass@1, the mean over runs (&plusmn; sd over runs); latency is end to end per "
               "problem; LLM share is the share of thinking steps the large model wrote (and of "
               "all tokens).</p>\n",
            html_style, rp->lines, rp->n_methods);
    fputs("<div class=\"wide\"><table class=\"methods\"><thead><tr><th>method</th><th>runs "
          "&times; problems</th><th>accuracy</th><th>mean latency (s)</th><th>vs LLM "
          "alone</th><th>p50 (s)</th><th>p90 (s)</th><th>TTFT (s)</th><th>LLM share "
          "steps</th><th>LLM share tokens</th><th>tokens SLM / LLM</th><th>draft "
          "acceptance</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < rp->n_methods; i++) {
        const struct rp_stats *s = &st[i];
        fputs("<tr><td>", f);
        ev_html_puts(f, rp->m[i].spec);
        fprintf(f, "</td><td>%u &times; %zu</td><td>%.1f%% &plusmn; %.1f</td><td>%.2f</td><td>",
                s->runs, s->problems, 100 * s->acc_mean, 100 * s->acc_sd, s->lat_mean);
        if (llm && llm->lat_mean > 0)
            fprintf(f, "%.2f&times;", s->lat_mean / llm->lat_mean);
        fprintf(f, "</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.1f%%</td><td>%.1f%%</td>"
                   "<td>%.0f / %.0f</td><td>",
                s->p50, s->p90, s->ttft, 100 * s->share_steps, 100 * s->share_tokens, s->tok_slm,
                s->tok_llm);
        if (isfinite(s->draft_rate))
            fprintf(f, "%.1f%%", 100 * s->draft_rate);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table></div>\n<figure class=\"pareto\">", f);
    put_svg(f, pareto);
    fputs("</figure>\n<figure class=\"hinit\">", f);
    put_svg(f, hinit);
    fputs("</figure>\n", f);
    const struct rp_method *hm = hinit_source(rp);
    if (hm) {
        fputs("<p class=\"note\">H_init histogram: the steps of <code>", f);
        ev_html_puts(f, hm->spec);
        fputs("</code>. A step is easy when the other model, from the same prefix, writes the "
              "same text.</p>\n",
              f);
    }
    fputs("<h2>Problems</h2>\n<p class=\"note\">Each problem opens on its expected answer and "
          "every attempt at it: the given answer and the thinking steps, each marked by its "
          "writer (<span class=\"tag slm\">SLM</span> the small model, <span class=\"tag "
          "llm\">LLM</span> the large one) and H_init, the small model's first-token entropy "
          "in nats.</p>\n",
          f);
    put_problems(f, rp);
    if (rp->left_out)
        fprintf(f, "<p class=\"note\">%zu more attempts are in results.jsonl but not shown "
                   "here (the page shows %d).</p>\n",
                rp->left_out, RP_MAX_ATTEMPTS);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0 || !html) {
        free(html);
        return glimp_error(GLIMP_ERR_NOMEM, "report: out of memory");
    }
    int rc = write_text(dir, "report.html", html);
    free(html);
    return rc;
}

int glimp_eval_report(const char *dir)
{
    if (!dir)
        return glimp_error(GLIMP_ERR_INVALID, "report: dir is NULL");
    char path[4096];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    struct rp *rp = calloc(1, sizeof *rp);
    if (!rp)
        return glimp_error(GLIMP_ERR_NOMEM, "report: out of memory");
    rp->path = path;
    int rc = glimp_eval_records_read(path, add_record, rp);
    if (rc == GLIMP_OK && rp->n_methods == 0)
        rc = glimp_error(GLIMP_ERR_FORMAT, "%s: no results", path);
    struct rp_stats *st = rc == GLIMP_OK ? calloc(rp->n_methods, sizeof *st) : NULL;
    if (rc == GLIMP_OK && !st)
        rc = glimp_error(GLIMP_ERR_NOMEM, "report: out of memory");
    for (size_t i = 0; rc == GLIMP_OK && i < rp->n_methods; i++)
        st[i] = stats(&rp->m[i]);
    if (rc == GLIMP_OK)
        rc = write_markdown(rp, st, dir);
    if (rc == GLIMP_OK)
        rc = write_summary(rp, st, dir);
    char *pareto = NULL, *hinit = NULL;
    if (rc == GLIMP_OK)
        rc = write_plots(rp, st, dir, &pareto, &hinit);
    if (rc == GLIMP_OK)
        rc = write_html(rp, st, dir, pareto, hinit);
    free(pareto);
    free(hinit);
    free(st);
    for (size_t i = 0; i < rp->n_at; i++)
        attempt_free(&rp->at[i]);
    free(rp->at);
    for (size_t i = 0; i < rp->n_methods; i++) {
        free(rp->m[i].lat);
        for (int w = 0; w < 2; w++)
            for (int e = 0; e < 3; e++)
                free(rp->m[i].h.v[w][e]);
    }
    free(rp);
    return rc;
}
