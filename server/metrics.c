/* metrics.c - /metrics: counters and histograms of what the server did, in
 * the Prometheus text format with vLLM's names under the glimp: prefix
 * (glimp:num_requests_running, glimp:time_to_first_token_seconds, ...). */
#include "server/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* H_init is in nats, at most ln 20 (about 3.0) with the default top-20. */
const double srv_h_bounds[SRV_H_BUCKETS] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.75,
                                            1.0,  1.25, 1.5, 2.0, 2.5, 3.0};
const double srv_t_bounds[SRV_T_BUCKETS] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08,
                                            0.1,   0.25,  0.5,  1.0,  2.5,  5.0,  10.0};

void srv_metrics_init(struct srv_metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void srv_metrics_free(struct srv_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

void srv_hist_add(struct srv_hist *h, const double *bounds, size_t n_bounds, double x)
{
    size_t i = 0;
    while (i < n_bounds && x > bounds[i])
        i++;
    h->count[i]++;
    h->sum += x;
    h->n++;
}

struct out {
    char *p;
    size_t n, cap;
    bool oom;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void outf(struct out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = o->cap - o->n;
        int k = vsnprintf(o->p ? o->p + o->n : NULL, o->p ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            o->oom = true;
            return;
        }
        if (o->p && (size_t)k < room) {
            o->n += (size_t)k;
            return;
        }
        size_t cap = o->cap ? o->cap * 2 : 8192;
        while (cap < o->n + (size_t)k + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->oom = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
    outf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void hist(struct out *o, const char *name, const char *help, const struct srv_hist *h,
                 const double *bounds, size_t n)
{
    head(o, name, "histogram", help);
    uint64_t cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += h->count[i];
        outf(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)cum);
    }
    cum += h->count[n];
    outf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    outf(o, "%s_sum %.9g\n", name, h->sum);
    outf(o, "%s_count %llu\n", name, (unsigned long long)h->n);
}

char *srv_metrics_text(struct srv_metrics *m)
{
    struct out o = {0};
    pthread_mutex_lock(&m->mu);
    head(&o, "glimp:num_requests_running", "gauge", "Requests being generated now.");
    outf(&o, "glimp:num_requests_running %llu\n", (unsigned long long)m->running);
    head(&o, "glimp:num_requests_waiting", "gauge", "Requests waiting for a slot.");
    outf(&o, "glimp:num_requests_waiting %llu\n", (unsigned long long)m->waiting);
    head(&o, "glimp:request_success_total", "counter",
         "Generation requests finished, by finish reason.");
    static const char *const reasons[] = {"stop", "length", "abort", "error"};
    for (int i = 0; i < 4; i++)
        outf(&o, "glimp:request_success_total{finished_reason=\"%s\"} %llu\n", reasons[i],
             (unsigned long long)m->success[i]);
    head(&o, "glimp:request_rejected_total", "counter",
         "Requests refused with 503 because every slot and the queue were full.");
    outf(&o, "glimp:request_rejected_total %llu\n", (unsigned long long)m->rejected);
    head(&o, "glimp:prompt_tokens_total", "counter", "Prompt tokens read.");
    outf(&o, "glimp:prompt_tokens_total %llu\n", (unsigned long long)m->prompt_tokens);
    head(&o, "glimp:generation_tokens_total", "counter", "Tokens generated, by writer.");
    for (int w = 0; w < 2; w++)
        outf(&o, "glimp:generation_tokens_total{writer=\"%s\"} %llu\n",
             glimp_writer_name((enum glimp_writer)w), (unsigned long long)m->gen_tokens[w]);
    head(&o, "glimp:steps_total", "counter", "Steps written, by writer (the answer included).");
    for (int w = 0; w < 2; w++)
        outf(&o, "glimp:steps_total{writer=\"%s\"} %llu\n",
             glimp_writer_name((enum glimp_writer)w), (unsigned long long)m->steps[w]);
    hist(&o, "glimp:h_init", "The SLM's first-token entropy of each step (nats).", &m->h_init,
         srv_h_bounds, SRV_H_BUCKETS);
    hist(&o, "glimp:time_to_first_token_seconds", "From arrival to the first token.", &m->ttft,
         srv_t_bounds, SRV_T_BUCKETS);
    hist(&o, "glimp:inter_token_latency_seconds", "Mean time per token after the first.",
         &m->itl, srv_t_bounds, SRV_T_BUCKETS);
    hist(&o, "glimp:e2e_request_latency_seconds", "From arrival to the last token.", &m->e2e,
         srv_t_bounds, SRV_T_BUCKETS);
    head(&o, "glimp:spec_decode_num_draft_tokens_total", "counter",
         "Tokens the SLM drafted in LLM steps.");
    outf(&o, "glimp:spec_decode_num_draft_tokens_total %llu\n",
         (unsigned long long)m->draft_tokens);
    head(&o, "glimp:spec_decode_num_accepted_tokens_total", "counter",
         "Drafted tokens the LLM accepted.");
    outf(&o, "glimp:spec_decode_num_accepted_tokens_total %llu\n",
         (unsigned long long)m->accepted_tokens);
    static const char *const batch[][2] = {
        {"glimp:batch_passes_total", "Forward passes run, by model."},
        {"glimp:batch_items_total",
         "Sequences' parts in those passes, by model (over passes: the mean batch)."},
        {"glimp:batch_tokens_total", "Tokens evaluated in those passes, by model."},
        {"glimp:batch_prompt_chunks_total",
         "Prompts cut short to --ubatch tokens in a pass, by model."},
    };
    for (int k = 0; k < 4 && (m->batch_label[0] || m->batch_label[1]); k++) {
        head(&o, batch[k][0], "counter", batch[k][1]);
        for (int w = 0; w < 2; w++) {
            const struct bk_batch_stats *b = &m->batch[w];
            uint64_t v[4] = {b->passes, b->items, b->tokens, b->chunked};
            if (m->batch_label[w])
                outf(&o, "%s{model=\"%s\"} %llu\n", batch[k][0], m->batch_label[w],
                     (unsigned long long)v[k]);
        }
    }
    for (int k = 0; k < 2 && (m->batch_label[0] || m->batch_label[1]); k++) {
        const char *name = k ? "glimp:prefix_cache_hits_total" : "glimp:prefix_cache_queries_total";
        head(&o, name, "counter",
             k ? "Prompt tokens of one-model requests found in the prompt cache, by model."
               : "Prompt tokens of one-model requests looked up in the prompt cache, by model.");
        for (int w = 0; w < 2; w++)
            if (m->batch_label[w])
                outf(&o, "%s{model=\"%s\"} %llu\n", name, m->batch_label[w],
                     (unsigned long long)(k ? m->cache_hits[w] : m->cache_queries[w]));
    }
    head(&o, "glimp:http_responses_total", "counter", "HTTP responses, by status class.");
    for (int c = 1; c <= 5; c++)
        outf(&o, "glimp:http_responses_total{code=\"%dxx\"} %llu\n", c,
             (unsigned long long)m->http[c]);
    pthread_mutex_unlock(&m->mu);
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    return o.p;
}
