/* cmd_tune.c - `glimp tune`: from a pilot to a routing profile. Builds the
 * sweep (each signal asked, each segmentation, each threshold of the
 * sweep; glimp_method_sweep, as glimp eval --sweep), runs it with the LLM
 * and the SLM alone through glimp eval's machinery (cli_eval_run: the same
 * data, prompt, budgets, progress and --resume), lets the library pick the
 * setting that meets the target (glimp_tune_pick), prints the choice with
 * its intervals, and writes the profile (glimp_profile_write). */
#include "cli.h"

#include "glimp_eval.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char tune_usage[] =
    "usage: glimp tune --slm MODEL --llm MODEL --data PILOT.jsonl --target T [options]\n"
    "\n"
    "Run a pilot (every problem of PILOT.jsonl with the LLM alone, the SLM alone\n"
    "and GlimpRouter at each threshold of the sweep, for each signal and\n"
    "segmentation asked), pick the setting that meets the target, print it with\n"
    "its accuracy, LLM share and latency and their 95% intervals over the\n"
    "pilot's problems, and write it as a profile (glimp run/eval --profile).\n"
    "\n"
    "  --slm PATH, --llm PATH  the two models (required)\n"
    "  --data FILE             the pilot's problems, as for glimp eval (required)\n"
    "  --target T              accuracy:D (within D points of the LLM alone, e.g.\n"
    "                          accuracy:-1; then the lowest latency), share:S\n"
    "                          (LLM share of steps at most S; the best accuracy)\n"
    "                          or latency:R (at most R x the LLM alone's mean\n"
    "                          latency; the best accuracy) (required)\n"
    "  --out FILE              the profile (default profile.json)\n"
    "  --name NAME             the profile's name (default: the file's, no .json)\n"
    "  --signal S              hinit (default), glimpse:K or hstep; repeatable\n"
    "  --segment S             blank (default), line or marker:REGEX; repeatable:\n"
    "                          every signal is swept with every segmentation\n"
    "  --sweep tau=A:B:STEP    the thresholds (default tau=0.25:2.5:0.25);\n"
    "                          share=A:B:STEP sweeps the share policy instead\n"
    "  --dir DIR               where the pilot's eval goes (default tune-out:\n"
    "                          results.jsonl, report.md, ...)\n"
    "  --resume                keep DIR/results.jsonl and run only what it lacks\n"
    "  --runs K, --limit N, --prompt FILE, --strict, --no-chat, --draft N,\n"
    "  --max-think N, --max-step N, --max-answer N, --temp T, --top-p P,\n"
    "  --top-k K, --min-p M, --seed S, -t N, -c N   as for glimp eval / run\n"
    "  -h, --help              show this help\n";

#define MAX_LIST 8
#define DEFAULT_SWEEP "tau=0.25:2.5:0.25"

struct tune_opts {
    const char *slm, *llm, *data, *target, *out, *name, *dir, *prompt_file, *sweep;
    const char *signals[MAX_LIST], *segments[MAX_LIST];
    size_t n_signals, n_segments;
    uint32_t runs, limit, n_threads;
    bool resume, strict, no_chat;
    struct glimp_router_params base;
};

static int parse_args(int argc, char **argv, struct tune_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(tune_usage, stdout);
            return 0;
        }
        bool *flag = !strcmp(a, "--resume")    ? &o->resume
                     : !strcmp(a, "--strict")  ? &o->strict
                     : !strcmp(a, "--no-chat") ? &o->no_chat
                                               : NULL;
        if (flag) {
            *flag = true;
            continue;
        }
        if (a[0] != '-')
            return cli_usage_error("tune", tune_usage, "unexpected argument '%s'", a);
        if (i + 1 >= argc)
            return cli_usage_error("tune", tune_usage, "%s needs a value", a);
        const char *v = argv[++i];
        bool ok = true;
        struct glimp_router_params *p = &o->base;
        if (!strcmp(a, "--slm"))
            o->slm = v;
        else if (!strcmp(a, "--llm"))
            o->llm = v;
        else if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--target"))
            o->target = v;
        else if (!strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--name"))
            o->name = v;
        else if (!strcmp(a, "--dir"))
            o->dir = v;
        else if (!strcmp(a, "--prompt"))
            o->prompt_file = v;
        else if (!strcmp(a, "--sweep"))
            o->sweep = v;
        else if (!strcmp(a, "--signal") || !strcmp(a, "--segment")) {
            bool sig = a[3] == 'i';
            size_t *n = sig ? &o->n_signals : &o->n_segments;
            if (*n == MAX_LIST)
                return cli_usage_error("tune", tune_usage, "%s: at most %d", a, MAX_LIST);
            (sig ? o->signals : o->segments)[(*n)++] = v;
        } else if (!strcmp(a, "--runs"))
            ok = cli_parse_u32(v, 1, 1000, &o->runs);
        else if (!strcmp(a, "--limit"))
            ok = cli_parse_u32(v, 1, UINT32_MAX, &o->limit);
        else if (!strcmp(a, "--draft"))
            ok = cli_parse_u32(v, 0, 64, &p->draft);
        else if (cli_router_option(a, v, p, &ok)) {
            /* budgets, sampling, seed: as glimp run reads them */
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
            ok = cli_parse_u32(v, 0, 1024, &o->n_threads);
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size"))
            ok = cli_parse_u32(v, 0, 1u << 24, &p->n_ctx);
        else
            return cli_usage_error("tune", tune_usage, "unknown option '%s'", a);
        if (!ok)
            return cli_usage_error("tune", tune_usage, "%s: bad value '%s'", a, v);
    }
    if (!o->slm || !o->llm || !o->data || !o->target)
        return cli_usage_error("tune", tune_usage,
                               "--slm, --llm, --data and --target are required");
    if (o->base.segment != GLIMP_SEGMENT_BLANK)
        return cli_usage_error("tune", tune_usage,
                               "--segment is a setting tune compares: give it "
                               "as such (repeatable), not to every method");
    o->base.chat = !o->no_chat;
    o->base.sampling.seed = o->base.seed;
    return -1;
}

/* "hinit", "glimpse:K", "hstep" as method settings ("" for hinit). */
static bool signal_setting(const char *s, char *buf, size_t n)
{
    uint32_t k;
    if (!strcmp(s, "hinit"))
        snprintf(buf, n, "%s", "");
    else if (!strcmp(s, "hstep"))
        snprintf(buf, n, "signal=hstep");
    else if (!strncmp(s, "glimpse:", 8) && cli_parse_u32(s + 8, 1, 4096, &k))
        snprintf(buf, n, "glimpse=%u", k);
    else
        return false;
    return true;
}

/* The methods: llm and slm alone, then the sweep of every signal with every
 * segmentation. */
static int build_methods(const struct tune_opts *o, struct glimp_method *m, size_t cap, size_t *n)
{
    const char *signals[] = {"hinit"}, *segments[] = {"blank"};
    const char *const *sig = o->n_signals ? o->signals : signals;
    const char *const *seg = o->n_segments ? o->segments : segments;
    size_t n_sig = o->n_signals ? o->n_signals : 1, n_seg = o->n_segments ? o->n_segments : 1;
    int rc = glimp_method_parse("llm", &o->base, &m[(*n)++]);
    if (rc == GLIMP_OK)
        rc = glimp_method_parse("slm", &o->base, &m[(*n)++]);
    if (rc != GLIMP_OK)
        return cli_fail("tune", rc);
    for (size_t g = 0; g < n_seg; g++) {
        struct glimp_router_params check = o->base;
        if (glimp_segment_parse(seg[g], &check) != GLIMP_OK)
            return cli_usage_error("tune", tune_usage, "--segment: %s", glimp_last_error());
        for (size_t s = 0; s < n_sig; s++) {
            char with[400], sset[32];
            if (!signal_setting(sig[s], sset, sizeof sset))
                return cli_usage_error("tune", tune_usage,
                                       "--signal '%s': expected hinit, glimpse:K or hstep", sig[s]);
            bool blank = !strcmp(seg[g], "blank");
            snprintf(with, sizeof with, "%s%s%s%s", sset, sset[0] && !blank ? "," : "",
                     blank ? "" : "segment=", blank ? "" : seg[g]);
            rc = glimp_method_sweep(o->sweep ? o->sweep : DEFAULT_SWEEP, with[0] ? with : NULL,
                                    &o->base, m + *n, cap - *n, n);
            if (rc != GLIMP_OK)
                return cli_usage_error("tune", tune_usage, "%s", glimp_last_error());
        }
    }
    return -1;
}

static const char *goal_text(const struct glimp_tune_target *t, char *buf, size_t n)
{
    switch (t->goal) {
    case GLIMP_TUNE_ACCURACY:
        snprintf(buf, n, "accuracy at least the LLM alone's %s %g point%s, then the lowest latency",
                 t->value < 0 ? "minus" : "plus", fabs(t->value), fabs(t->value) == 1 ? "" : "s");
        break;
    case GLIMP_TUNE_SHARE:
        snprintf(buf, n, "LLM share of steps at most %g%%, then the best accuracy",
                 100.0 * t->value);
        break;
    case GLIMP_TUNE_LATENCY:
        snprintf(buf, n, "latency at most %gx the LLM alone's, then the best accuracy", t->value);
        break;
    }
    return buf;
}

static void print_row(const struct glimp_tune_candidate *c, const char *mark, int w)
{
    printf("  %-2s %-*s %6.1f%%  [%5.1f, %5.1f]  %8.1f%%  %7.3f s  %6.2fx\n", mark, w, c->method,
           100.0 * c->accuracy, 100.0 * c->acc_lo, 100.0 * c->acc_hi, 100.0 * c->llm_share,
           c->latency_s, c->latency_ratio);
}

/* Candidates meeting the target, best first: the chosen, the runner-up,
 * then the others in file order; those that miss after. */
static void print_table(const struct glimp_tune_result *r)
{
    int w = 20;
    for (size_t i = 0; i < r->n_cands; i++)
        w = (int)strlen(r->cands[i].method) > w ? (int)strlen(r->cands[i].method) : w;
    printf("  %-2s %-*s %7s  %14s  %9s  %9s  %7s\n", "", w, "method", "accuracy", "95% interval",
           "LLM share", "latency", "vs LLM");
    if (r->llm.n)
        print_row(&r->llm, "", w);
    if (r->chosen >= 0)
        print_row(&r->cands[r->chosen], "*", w);
    if (r->runner_up >= 0)
        print_row(&r->cands[r->runner_up], "2", w);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < r->n_cands; i++)
            if ((long)i != r->chosen && (long)i != r->runner_up && r->cands[i].meets == !pass)
                print_row(&r->cands[i], pass ? "x" : "", w);
    printf("  (* chosen, 2 runner-up, x misses the target)\n");
}

/* How the profile was chosen, for its "tuned" field. */
static int tuned_json(const struct tune_opts *o, const struct glimp_tune_result *r,
                      size_t n_problems, char *buf, size_t n)
{
    const struct glimp_tune_candidate *c = &r->cands[r->chosen];
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:f, s:[f,f], s:f, s:f, s:f, s:b}", "target", o->target,
        "method", c->method, "data", o->data, "problems", (json_int_t)n_problems, "runs",
        (json_int_t)(o->runs ? o->runs : 1), "accuracy", c->accuracy, "accuracy_ci95", c->acc_lo,
        c->acc_hi, "llm_share", isnan(c->llm_share) ? -1.0 : c->llm_share, "latency_s",
        c->latency_s, "latency_ratio", isnan(c->latency_ratio) ? -1.0 : c->latency_ratio,
        "apart_from_runner_up", r->apart);
    if (j && r->llm.n)
        json_object_set_new(j, "llm_accuracy", json_real(r->llm.accuracy));
    if (j && r->runner_up >= 0)
        json_object_set_new(j, "runner_up", json_string(r->cands[r->runner_up].method));
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(j);
    int ok = s && strlen(s) < n;
    if (ok)
        snprintf(buf, n, "%s", s);
    free(s);
    return ok ? 0 : 1;
}

/* The profile's name: --name, else the file's without folders and .json. */
static void profile_name(const struct tune_opts *o, char *buf, size_t n)
{
    const char *base = o->name ? o->name : strrchr(o->out, '/') ? strrchr(o->out, '/') + 1 : o->out;
    snprintf(buf, n, "%s", base);
    size_t len = strlen(buf);
    if (!o->name && len > 5 && !strcmp(buf + len - 5, ".json"))
        buf[len - 5] = '\0';
}

int cmd_tune(int argc, char **argv)
{
    static struct tune_opts o;
    static struct glimp_method methods[GLIMP_EVAL_MAX_METHODS];
    memset(&o, 0, sizeof o);
    o.base = glimp_router_default_params();
    o.runs = 1;
    o.out = "profile.json";
    o.dir = "tune-out";
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;
    struct glimp_tune_target target;
    if (glimp_tune_target_parse(o.target, &target) != GLIMP_OK)
        return cli_usage_error("tune", tune_usage, "%s", glimp_last_error());
    size_t n_methods = 0;
    if ((status = build_methods(&o, methods, GLIMP_EVAL_MAX_METHODS, &n_methods)) >= 0)
        return status;

    struct glimp_dataset *data = NULL;
    struct glimp_backend *slm = NULL, *llm = NULL;
    struct glimp_tune_result *res = NULL;
    char *tmpl = NULL;
    size_t tlen;
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_threads = o.n_threads;
    int rc = glimp_dataset_load(o.data, o.strict, NULL, NULL, &data);
    if (rc != GLIMP_OK)
        return cli_fail("tune", rc);
    char results[4096];
    snprintf(results, sizeof results, "%s/results.jsonl", o.dir);
    if (o.prompt_file && cli_read_file("tune", o.prompt_file, &tmpl, &tlen) != 0)
        status = 1;
    if (status < 0 && cli_make_dir("tune", o.dir) != 0)
        status = 1;
    if (status < 0 && !o.resume && access(results, F_OK) == 0) {
        fprintf(stderr,
                "glimp tune: %s exists: add --resume to go on with that pilot, or choose "
                "another --dir\n",
                results);
        status = 1;
    }
    if (status < 0 && (rc = glimp_backend_local_open(o.slm, &mp, &slm)) != GLIMP_OK)
        status = cli_fail("tune", rc);
    if (status < 0 && (rc = glimp_backend_local_open(o.llm, &mp, &llm)) != GLIMP_OK)
        status = cli_fail("tune", rc);
    size_t n_problems = o.limit && o.limit < data->n ? o.limit : data->n;
    if (status < 0) {
        struct glimp_eval_params p = glimp_eval_default_params();
        p.slm = slm;
        p.llm = llm;
        p.dataset = data;
        p.limit = o.limit;
        p.methods = methods;
        p.n_methods = n_methods;
        p.base = o.base;
        p.runs = o.runs;
        p.out_dir = o.dir;
        p.resume = o.resume;
        p.prompt_template = tmpl;
        p.label_steps = false; /* the pick needs no labels: half the time */
        int st = cli_eval_run(&p);
        if (st != 0)
            status = st;
    }
    char goal[160];
    if (status < 0 && (rc = glimp_tune_pick(results, &target, &res)) != GLIMP_OK)
        status = cli_fail("tune", rc);
    if (status < 0) {
        printf("\nglimp tune: target %s (%s), %zu problems x %u runs, %zu settings\n\n", o.target,
               goal_text(&target, goal, sizeof goal), n_problems, o.runs, res->n_cands);
        print_table(res);
        printf("\n");
        if (res->chosen < 0) {
            printf("No setting meets %s on this pilot; no profile written.\n", o.target);
            status = 1;
        }
    }
    if (status < 0) {
        const struct glimp_tune_candidate *c = &res->cands[res->chosen];
        printf("Chosen: %s: accuracy %.1f%% (95%% interval %.1f-%.1f%% over %zu problem runs), "
               "LLM share %.1f%%, latency %.3f s (%.2fx the LLM alone",
               c->method, 100.0 * c->accuracy, 100.0 * c->acc_lo, 100.0 * c->acc_hi, c->n,
               100.0 * c->llm_share, c->latency_s, c->latency_ratio);
        if (res->llm.n)
            printf(", whose accuracy is %.1f%%", 100.0 * res->llm.accuracy);
        printf(").\n");
        if (res->runner_up >= 0 && !res->apart)
            printf("The pilot is too small to tell it from the runner-up, %s: the 95%% intervals "
                   "of their %s overlap.\n",
                   res->cands[res->runner_up].method,
                   target.goal == GLIMP_TUNE_ACCURACY ? "mean latency" : "accuracy");
        else if (res->runner_up >= 0)
            printf("The pilot tells it from the runner-up, %s: their 95%% intervals of %s do not "
                   "overlap.\n",
                   res->cands[res->runner_up].method,
                   target.goal == GLIMP_TUNE_ACCURACY ? "mean latency" : "accuracy");
        struct glimp_method m;
        static struct glimp_profile_info info;
        memset(&info, 0, sizeof info);
        profile_name(&o, info.name, sizeof info.name);
        glimp_profile_set_pair(&info, slm, llm);
        if ((rc = glimp_method_parse(c->method, &o.base, &m)) != GLIMP_OK)
            status = cli_fail("tune", rc);
        else if (tuned_json(&o, res, n_problems, info.tuned, sizeof info.tuned) != 0)
            status = cli_fail("tune", GLIMP_ERR_NOMEM);
        else if ((rc = glimp_profile_write(o.out, &m.params, &info)) != GLIMP_OK)
            status = cli_fail("tune", rc);
        else
            printf("Wrote %s (profile '%s'; glimp run/eval --profile %s).\n", o.out, info.name,
                   o.out);
    }
    glimp_tune_result_free(res);
    glimp_backend_free(slm);
    glimp_backend_free(llm);
    glimp_dataset_free(data);
    free(tmpl);
    return status < 0 ? 0 : status;
}
