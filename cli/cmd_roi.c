/* cmd_roi.c - `glimp roi`: turn what glimp eval measured (tokens per model,
 * latency) into projected cost and latency against the LLM alone, printing
 * every assumption it makes. */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char roi_usage[] =
    "usage: glimp roi --report DIR [options]\n"
    "\n"
    "Project cost and latency from DIR/summary.json (written by glimp eval)\n"
    "for every method against the LLM alone (the method 'llm').\n"
    "\n"
    "  --report DIR                 a glimp eval output folder (required)\n"
    "  --requests-per-day N         (default 10000)\n"
    "  --llm-cost-per-1k-tokens X   price of 1000 LLM tokens (default 1.0)\n"
    "  --slm-cost-per-1k-tokens Y   price of 1000 SLM tokens (default 0.1)\n"
    "  --gpu-hour-cost Z            price of one GPU hour (default 2.0)\n"
    "  -h, --help                   show this help\n"
    "\n"
    "Token prices count generated tokens only (prompts are the same for every\n"
    "method). GPU cost assumes one request at a time on one GPU that holds both\n"
    "models, busy for the measured latency.\n";

static double jnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

int cmd_roi(int argc, char **argv)
{
    const char *dir = NULL;
    float req = 10000, cl = 1.0f, cs = 0.1f, gpu = 2.0f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(roi_usage, stdout);
            return 0;
        }
        if (i + 1 >= argc)
            return cli_usage_error("roi", roi_usage, "%s needs a value", a);
        const char *v = argv[++i];
        float *dst = !strcmp(a, "--requests-per-day")         ? &req
                     : !strcmp(a, "--llm-cost-per-1k-tokens") ? &cl
                     : !strcmp(a, "--slm-cost-per-1k-tokens") ? &cs
                     : !strcmp(a, "--gpu-hour-cost")          ? &gpu
                                                              : NULL;
        if (!strcmp(a, "--report"))
            dir = v;
        else if (!dst)
            return cli_usage_error("roi", roi_usage, "unknown option '%s'", a);
        else if (!cli_parse_float(v, 0.0, 1e12, dst))
            return cli_usage_error("roi", roi_usage, "%s '%s': expected a number >= 0", a, v);
    }
    if (!dir)
        return cli_usage_error("roi", roi_usage, "no --report DIR given");
    char path[4096];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        fprintf(stderr, "glimp roi: %s: %s\n", path, err.text);
        return 1;
    }
    json_t *methods = json_object_get(root, "methods"), *ref = NULL, *m;
    size_t i;
    json_array_foreach(methods, i, m)
    {
        const char *pol = json_string_value(json_object_get(m, "policy"));
        if (!ref && pol && !strcmp(pol, "llm") && jnum(m, "draft") == 0)
            ref = m;
    }
    if (!ref) {
        fprintf(stderr,
                "glimp roi: %s has no 'llm' method to compare with (run glimp eval "
                "with --method llm)\n",
                path);
        json_decref(root);
        return 1;
    }
    printf("Assumptions (change them with the options):\n");
    printf("  requests per day:           %.0f\n", req);
    printf("  LLM price per 1000 tokens:  %.4g\n", cl);
    printf("  SLM price per 1000 tokens:  %.4g\n", cs);
    printf("  GPU hour price:             %.4g (one request at a time, both models on one "
           "GPU,\n                              busy for the measured end-to-end latency)\n",
           gpu);
    printf("  measured on: %s (%s); prompt tokens are not priced (the same for every "
           "method)\n\n",
           dir, path);
    double ref_tok =
               (jnum(ref, "tokens_llm_mean") * cl + jnum(ref, "tokens_slm_mean") * cs) / 1000.0,
           ref_lat = jnum(ref, "latency_mean_s");
    printf("| method | accuracy | SLM / LLM tokens per request | token cost per day | saving "
           "| latency (s) | saving | GPU hours per day | GPU cost per day | saving |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    json_array_foreach(methods, i, m)
    {
        double ts = jnum(m, "tokens_slm_mean"), tl = jnum(m, "tokens_llm_mean");
        double tok = (tl * cl + ts * cs) / 1000.0, lat = jnum(m, "latency_mean_s");
        double gh = lat * req / 3600.0;
        printf("| %s | %.1f%% | %.0f / %.0f | %.2f | %+.1f%% | %.2f | %+.1f%% | %.2f | %.2f | "
               "%+.1f%% |\n",
               json_string_value(json_object_get(m, "method")), 100 * jnum(m, "accuracy_mean"), ts,
               tl, tok * req, ref_tok > 0 ? 100 * (ref_tok - tok) / ref_tok : 0.0, lat,
               ref_lat > 0 ? 100 * (ref_lat - lat) / ref_lat : 0.0, gh, gh * gpu,
               ref_lat > 0 ? 100 * (ref_lat - lat) / ref_lat : 0.0);
    }
    printf("\nSaving: against the LLM alone (%s); positive is cheaper or faster.\n",
           json_string_value(json_object_get(ref, "method")));
    json_decref(root);
    return 0;
}
