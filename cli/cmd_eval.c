/* cmd_eval.c - `glimp eval`: the flags of an eval run, its progress on
 * stderr and its report. The run itself (methods, runs, resume, records)
 * is the library's glimp_eval_run; cli_eval_run here serves glimp demo
 * too. */
#include "cli.h"

#include "glimp_eval.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char eval_usage[] =
    "usage: glimp eval --slm MODEL --llm MODEL --data FILE.jsonl [options]\n"
    "\n"
    "Run every problem of FILE.jsonl (one JSON object a line: id, problem,\n"
    "answer, optional type math|choice and choices) with each method and run,\n"
    "score the last \\boxed{} against the answer, append one JSON line per\n"
    "problem to DIR/results.jsonl as it finishes, and write DIR/report.md,\n"
    "DIR/summary.json, DIR/pareto.svg, DIR/hinit.svg and DIR/report.html.\n"
    "\n"
    "  --slm MODEL, --llm MODEL  the two models: GGUF paths or server URLs\n"
    "                          (required; see the remote options below)\n"
    "  --data FILE             the problems (required)\n"
    "  --method SPEC           a router configuration; repeatable. slm, llm,\n"
    "                          random:share=S (share=auto: the share the first\n"
    "                          glimp method measured), glimp:tau=X,\n"
    "                          glimp:share=S (share=auto too),\n"
    "                          glimp:signal=hstep|ppl,...,\n"
    "                          glimp:glimpse=K,..., glimp:instance,z=Z,k=K,\n"
    "                          specreason:threshold=X; any with ,draft=N.\n"
    "                          Default: slm, llm, specreason:threshold=7,\n"
    "                          glimp:tau=1.0, random:share=auto\n"
    "  --sweep tau=A:B:STEP    add glimp:tau=X for X = A, A+STEP, ..., B\n"
    "                          (share=A:B:STEP: glimp:share=X)\n"
    "  --profile FILE          routing settings from a profile (glimp tune) as\n"
    "                          the base every method is parsed over; without\n"
    "                          --method, runs llm and the profile itself\n"
    "                          (method 'profile')\n"
    "  --segment S             where steps end for every method: blank\n"
    "                          (default), line, marker:REGEX (a method may\n"
    "                          set its own: ,segment=...)\n"
    "  --matched               after each glimp:tau method, run random,\n"
    "                          glimp:signal=hstep and glimp:signal=ppl at the\n"
    "                          LLM share it measured (the paper's ablation)\n"
    "  --runs K                runs of every method (seeds S, S+1, ...; default 1)\n"
    "  --limit N               only the first N problems\n"
    "  --out DIR               where results and report go (default eval-out)\n"
    "  --resume                keep DIR/results.jsonl and run only what is missing\n"
    "  --strict                a bad JSONL line stops the run (default: skipped)\n"
    "  --prompt FILE           prompt template with {problem} and {choices}\n"
    "  --no-chat               send the prompt as it is, not through the models'\n"
    "                          chat templates (models trained on raw text)\n"
    "  --no-label              do not label steps easy/hard (labelling makes the\n"
    "                          other model write each step of the first glimp\n"
    "                          method too; its time is not counted)\n"
    "  --max-think N, --max-step N, --max-answer N, --temp T, --top-p P,\n"
    "  --top-k K, --min-p M, --seed S, -t N, -c N   as for glimp run\n"
    CLI_REMOTE_USAGE
    "  -h, --help              show this help\n";

#define MAX_METHODS GLIMP_EVAL_MAX_METHODS

static atomic_int eval_cancel;

static void on_sigint(int sig)
{
    (void)sig;
    eval_cancel = 1;
}

struct eval_opts {
    const char *slm, *llm, *data, *out, *prompt_file, *sweep, *profile;
    const char *methods[MAX_METHODS];
    size_t n_methods;
    uint32_t runs, limit, n_threads;
    bool resume, strict, matched, no_label, no_chat;
    struct glimp_router_params base;
    struct cli_remote remote; /* models given as URLs */
};

/* The methods to run, parsed from --method, --sweep or the defaults. */
struct eval_methods {
    struct glimp_method m[MAX_METHODS];
    size_t n;
};

static void on_bad_line(uint32_t line, const char *msg, void *user)
{
    fprintf(stderr, "glimp eval: %s:%u: %s; line skipped\n", (const char *)user, line, msg);
}

static int parse_args(int argc, char **argv, struct eval_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(eval_usage, stdout);
            return 0;
        }
        bool *flag = !strcmp(a, "--resume")     ? &o->resume
                     : !strcmp(a, "--strict")   ? &o->strict
                     : !strcmp(a, "--matched")  ? &o->matched
                     : !strcmp(a, "--no-label") ? &o->no_label
                     : !strcmp(a, "--no-chat")  ? &o->no_chat
                                                : NULL;
        if (flag) {
            *flag = true;
            continue;
        }
        if (a[0] != '-')
            return cli_usage_error("eval", eval_usage, "unexpected argument '%s'", a);
        if (i + 1 >= argc)
            return cli_usage_error("eval", eval_usage, "%s needs a value", a);
        const char *v = argv[++i];
        bool ok = true;
        struct glimp_router_params *p = &o->base;
        if (cli_remote_option(a, v, &o->remote, &ok))
            ; /* the models' servers */
        else if (!strcmp(a, "--slm"))
            o->slm = v;
        else if (!strcmp(a, "--llm"))
            o->llm = v;
        else if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--prompt"))
            o->prompt_file = v;
        else if (!strcmp(a, "--sweep"))
            o->sweep = v;
        else if (!strcmp(a, "--profile"))
            o->profile = v; /* read first, by cli_profile_prescan */
        else if (!strcmp(a, "--method")) {
            if (o->n_methods == MAX_METHODS)
                return cli_usage_error("eval", eval_usage, "more than %d methods", MAX_METHODS);
            o->methods[o->n_methods++] = v;
        } else if (!strcmp(a, "--runs"))
            ok = cli_parse_u32(v, 1, 1000, &o->runs);
        else if (!strcmp(a, "--limit"))
            ok = cli_parse_u32(v, 1, UINT32_MAX, &o->limit);
        else if (cli_router_option(a, v, p, &ok)) {
            /* budgets, sampling, seed: as glimp run reads them */
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
            ok = cli_parse_u32(v, 0, 1024, &o->n_threads);
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size"))
            ok = cli_parse_u32(v, 0, 1u << 24, &p->n_ctx);
        else
            return cli_usage_error("eval", eval_usage, "unknown option '%s'", a);
        if (!ok)
            return cli_usage_error("eval", eval_usage, "%s: bad value '%s'", a, v);
    }
    if (!o->slm || !o->llm || !o->data)
        return cli_usage_error("eval", eval_usage, "--slm, --llm and --data are required");
    o->base.chat = !o->no_chat;
    return -1;
}

/* --sweep: the library's expansion (glimp_method_sweep), as glimp tune's. */
static int add_sweep(const char *sweep, struct eval_methods *ms,
                     const struct glimp_router_params *b)
{
    int rc = glimp_method_sweep(sweep, NULL, b, ms->m + ms->n, MAX_METHODS - ms->n, &ms->n);
    if (rc != GLIMP_OK)
        return cli_usage_error("eval", eval_usage, "%s", glimp_last_error());
    return -1;
}

static bool has_method(const struct eval_methods *ms, const char *spec)
{
    for (size_t i = 0; i < ms->n; i++)
        if (!strcmp(ms->m[i].spec, spec))
            return true;
    return false;
}

static void fmt_time(double s, char *buf, size_t n)
{
    if (!(s >= 0) || s > 1e7)
        snprintf(buf, n, "--");
    else if (s < 60)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

struct progress_state {
    double t_start;
    bool tty;
};

/* A bar on a terminal, else a line a problem. */
static bool on_problem(const struct glimp_eval_progress *pr, void *user)
{
    const struct progress_state *ps = user;
    size_t todo = pr->todo, done = pr->done;
    double per = done ? pr->busy_s / (double)done : NAN;
    double eta = todo > done ? per * (double)(todo - done) : 0.0;
    char eta_s[32], el_s[32];
    fmt_time(eta, eta_s, sizeof eta_s);
    fmt_time(glimp_now() - ps->t_start, el_s, sizeof el_s);
    if (ps->tty) {
        int width = 30, fill = todo ? (int)((double)width * (double)done / (double)todo) : width;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r\033[K[%s] %zu/%zu  %s run %u  elapsed %s  ETA %s", bar, done, todo,
                pr->method, pr->run + 1, el_s, eta_s);
    } else {
        fprintf(stderr, "eval: %zu/%zu %s run %u id %s: %s, %.2f s (ETA %s)\n", done, todo,
                pr->method, pr->run + 1, pr->id, pr->correct ? "correct" : "wrong", pr->latency_s,
                eta_s);
    }
    fflush(stderr);
    return true;
}

static void on_note(const char *msg, void *user)
{
    (void)user;
    fprintf(stderr, "glimp eval: %s\n", msg);
}

int cli_eval_run(struct glimp_eval_params *p)
{
    struct progress_state ps = {.t_start = glimp_now(), .tty = isatty(STDERR_FILENO)};
    p->on_problem = on_problem;
    p->on_note = on_note;
    p->user = &ps;
    eval_cancel = 0;
    p->cancel = &eval_cancel;
    size_t n_problems = p->limit && p->limit < p->dataset->n ? p->limit : p->dataset->n;
    fprintf(stderr, "glimp eval: %zu problems x %u runs, %zu methods -> %s\n", n_problems, p->runs,
            p->n_methods, p->out_dir);
    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    struct glimp_eval_summary *sum = NULL;
    int rc = glimp_eval_run(p, &sum);
    if (ps.tty)
        fputc('\n', stderr);
    signal(SIGINT, SIG_DFL);
    int status = 0;
    if (rc != GLIMP_OK) {
        fprintf(stderr, "glimp eval: %s\n", glimp_last_error());
        status = rc == GLIMP_ERR_REMOTE ? CLI_EXIT_REMOTE : 1;
        if (rc == GLIMP_ERR_REMOTE)
            fprintf(stderr, "glimp eval: the results so far are kept: run again with --resume "
                            "once the server is back\n");
    } else if (sum->stopped) {
        status = 130;
    }
    glimp_eval_summary_free(sum);
    /* the report covers whatever is done, even after Ctrl-C */
    char results[4096];
    snprintf(results, sizeof results, "%s/results.jsonl", p->out_dir);
    if (status != 1 && access(results, F_OK) == 0) {
        if (glimp_eval_report(p->out_dir) != GLIMP_OK) {
            fprintf(stderr, "glimp eval: report: %s\n", glimp_last_error());
            status = 1;
        } else {
            fprintf(stderr, "glimp eval: wrote %s/report.md, report.html, summary.json, pareto.svg, hinit.svg\n",
                    p->out_dir);
        }
    }
    if (status == 130)
        fprintf(stderr, "glimp eval: interrupted; finished problems are kept (--resume goes on)\n");
    return status;
}

int cmd_eval(int argc, char **argv)
{
    static struct eval_opts o;
    static struct eval_methods ms;
    memset(&o, 0, sizeof o);
    memset(&ms, 0, sizeof ms);
    o.base = glimp_router_default_params();
    o.runs = 1;
    o.out = "eval-out";
    static struct glimp_profile_info pinfo;
    const char *profile;
    if (cli_profile_prescan("eval", argc, argv, &o.base, &pinfo, &profile) != 0)
        return 1;
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;

    /* the methods */
    for (size_t i = 0; i < o.n_methods; i++) {
        int rc = glimp_method_parse(o.methods[i], &o.base, &ms.m[ms.n]);
        if (rc != GLIMP_OK) {
            fprintf(stderr, "glimp eval: %s\n", glimp_last_error());
            return 2;
        }
        if (has_method(&ms, ms.m[ms.n].spec)) {
            fprintf(stderr, "glimp eval: method '%s' given twice\n", o.methods[i]);
            return 2;
        }
        ms.n++;
    }
    if (o.sweep && (status = add_sweep(o.sweep, &ms, &o.base)) >= 0)
        return status;
    if (ms.n == 0 && profile) { /* the profile against the LLM alone */
        glimp_method_parse("llm", &o.base, &ms.m[ms.n++]);
        struct glimp_method *pm = &ms.m[ms.n++];
        memset(pm, 0, sizeof *pm);
        snprintf(pm->spec, sizeof pm->spec, "profile");
        pm->params = o.base;
    }
    if (ms.n == 0) {
        const char *def[] = {"slm", "llm", "specreason:threshold=7", "glimp:tau=1.0",
                             "random:share=auto"};
        for (size_t i = 0; i < 5; i++)
            glimp_method_parse(def[i], &o.base, &ms.m[ms.n++]);
    }

    struct glimp_dataset *data = NULL;
    struct glimp_backend *slm = NULL, *llm = NULL;
    char *tmpl = NULL;
    struct glimp_model_params mp = cli_model_params(o.n_threads);
    int rc = glimp_dataset_load(o.data, o.strict, on_bad_line, (void *)o.data, &data);
    if (rc != GLIMP_OK)
        return cli_fail("eval", rc);
    size_t tlen;
    if (o.prompt_file && cli_read_file("eval", o.prompt_file, &tmpl, &tlen) != 0)
        status = 1;
    if (status < 0 && cli_make_dir("eval", o.out) != 0)
        status = 1;
    char results[4096];
    snprintf(results, sizeof results, "%s/results.jsonl", o.out);
    if (status < 0 && !o.resume && access(results, F_OK) == 0) {
        fprintf(stderr,
                "glimp eval: %s exists: add --resume to continue it, or choose another --out\n",
                results);
        status = 1;
    }
    (void)mp;
    if (status < 0) {
        int st = cli_open_models("eval", o.slm, o.llm, &o.remote, o.n_threads, &slm, &llm);
        if (st != 0)
            status = st;
    }
    if (status < 0)
        cli_profile_warn_pair("eval", profile, &pinfo, slm, llm);
    if (status < 0) {
        struct glimp_eval_params p = glimp_eval_default_params();
        p.slm = slm;
        p.llm = llm;
        p.dataset = data;
        p.limit = o.limit;
        p.methods = ms.m;
        p.n_methods = ms.n;
        p.base = o.base;
        p.runs = o.runs;
        p.out_dir = o.out;
        p.resume = o.resume;
        p.prompt_template = tmpl;
        p.label_steps = !o.no_label;
        p.matched = o.matched;
        status = cli_eval_run(&p);
    }
    glimp_backend_free(slm);
    glimp_backend_free(llm);
    glimp_dataset_free(data);
    free(tmpl);
    return status < 0 ? 0 : status;
}
