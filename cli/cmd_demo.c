/* cmd_demo.c - `glimp demo`: GlimpRouter on the trained demo pair that ships
 * in models/demo. For each task it runs an eval (glimp_eval_run) with a fixed
 * set of methods (SLM alone, LLM alone, GlimpRouter on H_init, then random
 * routing, H_step and glimpse K at the share GlimpRouter measured), prints
 * the table, a terminal histogram of H_init and one routed transcript, and
 * leaves each task's eval report in a folder of its own. */
#include "cli.h"

#include "glimp_eval.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char demo_usage[] =
    "usage: glimp demo [options]\n"
    "\n"
    "Run GlimpRouter on the demo pair (a 0.12M and a 1.8M parameter qwen3\n"
    "model trained on chains of modular arithmetic, models/demo) and compare\n"
    "it with the methods it is measured against. Task A opens each step with\n"
    "its result, so the first token of a step decides it (the paper's case);\n"
    "task B opens each step with \"So\" and the hard token comes mid-step.\n"
    "For each task: SLM alone, LLM alone, GlimpRouter (task A: H_init > tau;\n"
    "task B: the share of steps with the highest H_init), and at\n"
    "the LLM share GlimpRouter measured: random routing, H_step (the SLM's\n"
    "mean entropy over the whole step) and glimpse K. Greedy decoding.\n"
    "Prints the table, a histogram of H_init and one transcript; writes each\n"
    "task's eval report (report.md, summary.json, results.jsonl, SVGs) to\n"
    "OUT/taskA and OUT/taskB, replacing the results there.\n"
    "\n"
    "  --dir DIR       the demo pair and test sets (default: models/demo beside\n"
    "                  the glimp program's source tree, else ./models/demo)\n"
    "  --out DIR       where the reports go (default demo-out)\n"
    "  --limit N       problems per task (default 100; the sets hold 500)\n"
    "  --task A|B      one task only\n"
    "  --tau X         GlimpRouter's threshold in nats on task A (default 0.5)\n"
    "  --share-b S     GlimpRouter's LLM share on task B, where a threshold on\n"
    "                  H_init routes almost nothing (default 0.3)\n"
    "  --glimpse K     tokens glimpsed for the glimpse method (default 4)\n"
    "  -t N            threads (default: one per core)\n"
    "  -h, --help      show this help\n";

#define DEMO_TAU 0.5
/* the budgets of every run, in tokens: a chain has at most 11 steps of
 * about 35 tokens, and the answer is \boxed{D} */
#define DEMO_MAX_THINK 512
#define DEMO_MAX_STEP 48
#define DEMO_MAX_ANSWER 16
#define DEMO_SHARE_B 0.3
#define DEMO_LIMIT 100

struct demo_opts {
    const char *dir, *out, *task;
    uint32_t limit, glimpse, n_threads;
    float tau, share_b;
};

static int parse_args(int argc, char **argv, struct demo_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(demo_usage, stdout);
            return 0;
        }
        if (i + 1 >= argc)
            return cli_usage_error("demo", demo_usage, "%s needs a value", a);
        const char *v = argv[++i];
        bool ok = true;
        if (!strcmp(a, "--dir"))
            o->dir = v;
        else if (!strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--task"))
            ok = !strcmp(v, "A") || !strcmp(v, "B"), o->task = v;
        else if (!strcmp(a, "--limit"))
            ok = cli_parse_u32(v, 1, 100000, &o->limit);
        else if (!strcmp(a, "--tau"))
            ok = cli_parse_float(v, 0.0, 100.0, &o->tau);
        else if (!strcmp(a, "--share-b"))
            ok = cli_parse_float(v, 0.0, 1.0, &o->share_b);
        else if (!strcmp(a, "--glimpse"))
            ok = cli_parse_u32(v, 2, 64, &o->glimpse);
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
            ok = cli_parse_u32(v, 0, 1024, &o->n_threads);
        else
            return cli_usage_error("demo", demo_usage, "unknown option '%s'", a);
        if (!ok)
            return cli_usage_error("demo", demo_usage, "%s: bad value '%s'", a, v);
    }
    return -1;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir + "/" + name + suffix into out; false (with a message) when too long. */
static bool join(char *out, size_t n, const char *dir, const char *name, const char *suffix)
{
    int len = snprintf(out, n, "%s/%s%s", dir, name, suffix);
    if (len < 0 || (size_t)len >= n) {
        fprintf(stderr, "glimp demo: path too long: %s/%s%s\n", dir, name, suffix);
        return false;
    }
    return true;
}

static const char *const demo_files[] = {"small.gguf", "large.gguf", "prompt.txt", "taskA.jsonl",
                                         "taskB.jsonl"};

/* The first demo file missing from dir, into path; NULL when all are there. */
static const char *missing_file(const char *dir, char *path, size_t n)
{
    for (size_t i = 0; i < sizeof demo_files / sizeof demo_files[0]; i++)
        if (!join(path, n, dir, demo_files[i], "") || !is_file(path))
            return path;
    return NULL;
}

static bool has_demo_files(const char *dir)
{
    char path[PATH_MAX];
    return !missing_file(dir, path, sizeof path);
}

/* --dir, else models/demo of the source tree the program was built in
 * (build/glimp -> ../models/demo), else ./models/demo. */
static int find_dir(const struct demo_opts *o, char *dir, size_t n)
{
    if (o->dir) {
        if (strlen(o->dir) >= n) {
            fprintf(stderr, "glimp demo: --dir: path too long\n");
            return 1;
        }
        strcpy(dir, o->dir);
        char path[PATH_MAX];
        if (missing_file(dir, path, sizeof path)) {
            fprintf(stderr,
                    "glimp demo: %s: missing (a demo folder holds small.gguf, "
                    "large.gguf, prompt.txt, taskA.jsonl and taskB.jsonl)\n",
                    path);
            return 1;
        }
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            for (int up = 1; up <= 3; up++) { /* build/, build/werror/, ... */
                char *s = strrchr(exe, '/');
                if (!s)
                    break;
                *s = '\0';
                if (join(dir, n, exe, "models/demo", "") && has_demo_files(dir))
                    return 0;
            }
        }
    }
    snprintf(dir, n, "models/demo");
    if (has_demo_files(dir))
        return 0;
    fprintf(stderr, "glimp demo: no demo folder found (models/demo beside the glimp source tree "
                    "or in the current folder); give one with --dir\n");
    return 1;
}

/* The files of the demo folder. */
struct demo_paths {
    char slm[PATH_MAX], llm[PATH_MAX], prompt[PATH_MAX], data[2][PATH_MAX];
};

static bool demo_paths(const char *dir, struct demo_paths *p)
{
    return join(p->slm, sizeof p->slm, dir, "small.gguf", "") &&
           join(p->llm, sizeof p->llm, dir, "large.gguf", "") &&
           join(p->prompt, sizeof p->prompt, dir, "prompt.txt", "") &&
           join(p->data[0], sizeof p->data[0], dir, "taskA", ".jsonl") &&
           join(p->data[1], sizeof p->data[1], dir, "taskB", ".jsonl");
}

/* The methods, in table order. share=auto takes GlimpRouter's share. On
 * task B, H_init sees only "So" and a threshold routes almost nothing, so
 * GlimpRouter runs there at a set share (the share policy on H_init): the
 * comparisons then mean something. */
struct demo_method {
    char spec[64];
    const char *label;
};

static size_t demo_methods(const struct demo_opts *o, bool task_b, struct demo_method *m)
{
    size_t n = 0;
    snprintf(m[n].spec, sizeof m[n].spec, "slm:answer=slm");
    m[n++].label = "SLM alone";
    snprintf(m[n].spec, sizeof m[n].spec, "llm");
    m[n++].label = "LLM alone";
    if (task_b) {
        snprintf(m[n].spec, sizeof m[n].spec, "glimp:share=%g", o->share_b);
        m[n++].label = "GlimpRouter (H_init, share)";
    } else {
        snprintf(m[n].spec, sizeof m[n].spec, "glimp:tau=%g", o->tau);
        m[n++].label = "GlimpRouter (H_init > tau)";
    }
    snprintf(m[n].spec, sizeof m[n].spec, "random:share=auto");
    m[n++].label = "random routing, same share";
    snprintf(m[n].spec, sizeof m[n].spec, "glimp:signal=hstep,share=auto");
    m[n++].label = "H_step, same share";
    snprintf(m[n].spec, sizeof m[n].spec, "glimp:glimpse=%u,share=auto", o->glimpse);
    m[n++].label = "glimpse K, same share";
    return n;
}

/* The params every demo run has: greedy, raw prompts, the budgets. */
static struct glimp_router_params demo_base(void)
{
    struct glimp_router_params p = glimp_router_default_params();
    p.chat = false;
    p.sampling.temperature = 0.0f;
    p.max_think = DEMO_MAX_THINK;
    p.max_step = DEMO_MAX_STEP;
    p.max_answer = DEMO_MAX_ANSWER;
    return p;
}

/* An eval of one task, into OUT/taskX (its old results replaced). */
static int run_task(const struct demo_opts *o, const struct demo_paths *p, int task,
                    const char *task_out, const struct demo_method *m, size_t n_m)
{
    char results[PATH_MAX];
    if (!join(results, sizeof results, task_out, "results.jsonl", "") ||
        cli_make_dir("demo", task_out) != 0)
        return 1;
    if (unlink(results) != 0 && errno != ENOENT) {
        fprintf(stderr, "glimp demo: cannot replace %s: %s\n", results, strerror(errno));
        return 1;
    }
    struct glimp_router_params base = demo_base();
    struct glimp_method methods[8];
    struct glimp_dataset *data = NULL;
    struct glimp_backend *slm = NULL, *llm = NULL;
    char *tmpl = NULL;
    size_t tlen;
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_threads = o->n_threads;
    int status = 1, rc = GLIMP_OK;
    for (size_t i = 0; i < n_m && rc == GLIMP_OK; i++)
        rc = glimp_method_parse(m[i].spec, &base, &methods[i]);
    if (rc == GLIMP_OK)
        rc = glimp_dataset_load(p->data[task], false, NULL, NULL, &data);
    if (rc != GLIMP_OK) {
        status = cli_fail("demo", rc);
        goto done;
    }
    if (cli_read_file("demo", p->prompt, &tmpl, &tlen) != 0)
        goto done;
    if ((rc = glimp_backend_local_open(p->slm, &mp, &slm)) != GLIMP_OK ||
        (rc = glimp_backend_local_open(p->llm, &mp, &llm)) != GLIMP_OK) {
        status = cli_fail("demo", rc);
        goto done;
    }
    struct glimp_eval_params ep = glimp_eval_default_params();
    ep.slm = slm;
    ep.llm = llm;
    ep.dataset = data;
    ep.limit = o->limit;
    ep.methods = methods;
    ep.n_methods = n_m;
    ep.base = base;
    ep.out_dir = task_out;
    ep.prompt_template = tmpl;
    status = cli_eval_run(&ep);
done:
    glimp_backend_free(slm);
    glimp_backend_free(llm);
    glimp_dataset_free(data);
    free(tmpl);
    return status;
}

static json_t *find_summary(json_t *methods, const char *spec)
{
    size_t i;
    json_t *v;
    json_array_foreach(methods, i, v)
    {
        const char *s = json_string_value(json_object_get(v, "method"));
        if (s && !strcmp(s, spec))
            return v;
    }
    return NULL;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The table of one task, from its summary.json. */
static int print_table(const char *task_out, const struct demo_method *m, size_t n_m)
{
    char path[PATH_MAX];
    if (!join(path, sizeof path, task_out, "summary.json", ""))
        return 1;
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    json_t *methods = json_object_get(root, "methods");
    if (!json_is_array(methods)) {
        fprintf(stderr, "glimp demo: %s: %s\n", path, root ? "no methods" : err.text);
        json_decref(root);
        return 1;
    }
    double llm_lat = num(find_summary(methods, "llm"), "latency_mean_s");
    printf("  %-28s %9s %10s %15s\n", "method", "accuracy", "LLM share", "latency vs LLM");
    for (size_t i = 0; i < n_m; i++) {
        json_t *s = find_summary(methods, m[i].spec);
        if (!s)
            continue;
        double lat = num(s, "latency_mean_s");
        printf("  %-28s %8.1f%% %9.1f%% %14.2fx\n", m[i].label, 100.0 * num(s, "accuracy_mean"),
               100.0 * num(s, "llm_share_steps"), llm_lat > 0 ? lat / llm_lat : NAN);
    }
    json_decref(root);
    return 0;
}

enum { BINS = 12 };

/* The steps of one method, binned by H_init. */
struct hist {
    const char *spec;
    double width;
    size_t easy[BINS], hard[BINS], unlabelled;
};

static int hist_add(const struct glimp_eval_record *r, void *user)
{
    struct hist *h = user;
    if (strcmp(r->method, h->spec) != 0)
        return GLIMP_OK;
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct glimp_eval_step *st = &r->steps[i];
        if (!isfinite(st->h_init))
            continue;
        int b = (int)(st->h_init / h->width);
        b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
        if (st->easy < 0)
            h->unlabelled++;
        else if (st->easy)
            h->easy[b]++;
        else
            h->hard[b]++;
    }
    return GLIMP_OK;
}

/* A histogram of the SLM's first-token entropy over GlimpRouter's steps,
 * each bar split into steps both models write alike (easy, '.') and steps
 * they write differently (hard, '#'); tau marked. */
static int print_histogram(const char *task_out, const char *spec, double tau)
{
    const double width = 0.25; /* nats; the last bin takes everything above */
    char path[PATH_MAX];
    if (!join(path, sizeof path, task_out, "results.jsonl", ""))
        return 1;
    struct hist h = {.spec = spec, .width = width};
    if (glimp_eval_records_read(path, hist_add, &h) != GLIMP_OK)
        return cli_fail("demo", GLIMP_ERR_IO);
    size_t top = 1;
    for (int b = 0; b < BINS; b++)
        top = h.easy[b] + h.hard[b] > top ? h.easy[b] + h.hard[b] : top;
    printf("  H_init (nats)   steps   '.' both models write it alike, '#' they differ\n");
    for (int b = 0; b < BINS; b++) {
        double lo = b * width;
        char range[32];
        if (b == BINS - 1)
            snprintf(range, sizeof range, "%.2f+", lo);
        else
            snprintf(range, sizeof range, "%.2f-%.2f", lo, lo + width);
        int ne = (int)lround(50.0 * (double)h.easy[b] / (double)top);
        int nh = (int)lround(50.0 * (double)h.hard[b] / (double)top);
        if (h.easy[b] && !ne)
            ne = 1;
        if (h.hard[b] && !nh)
            nh = 1;
        printf("  %-11s %5zu  ", range, h.easy[b] + h.hard[b]);
        for (int i = 0; i < ne; i++)
            putchar('.');
        for (int i = 0; i < nh; i++)
            putchar('#');
        if (tau >= lo && (tau < lo + width || b == BINS - 1))
            printf("  <- tau %.2f", tau);
        putchar('\n');
    }
    if (h.unlabelled)
        printf("  (%zu steps unlabelled)\n", h.unlabelled);
    return 0;
}

/* One problem routed by GlimpRouter, each step under its writer and H_init. */
static int print_transcript(const struct demo_opts *o, const struct demo_paths *p, int task,
                            const char *spec)
{
    struct glimp_dataset *ds = NULL;
    struct glimp_backend *slm = NULL, *llm = NULL;
    struct glimp_router_result *r = NULL;
    char *tmpl = NULL, *prompt = NULL, *extracted = NULL;
    size_t tlen;
    struct glimp_method m;
    struct glimp_router_params base = demo_base();
    struct glimp_model_params mp = cli_model_params(o->n_threads);
    int status = 1, rc;
    if (cli_read_file("demo", p->prompt, &tmpl, &tlen) != 0)
        goto done;
    if ((rc = glimp_dataset_load(p->data[task], false, NULL, NULL, &ds)) != GLIMP_OK ||
        (rc = glimp_problem_prompt(&ds->items[0], tmpl, &prompt)) != GLIMP_OK ||
        (rc = glimp_method_parse(spec, &base, &m)) != GLIMP_OK ||
        (rc = glimp_backend_local_open(p->slm, &mp, &slm)) != GLIMP_OK ||
        (rc = glimp_backend_local_open(p->llm, &mp, &llm)) != GLIMP_OK) {
        status = cli_fail("demo", rc);
        goto done;
    }
    if ((rc = glimp_router_run(slm, llm, prompt, &m.params, &r)) != GLIMP_OK) {
        status = cli_fail("demo", rc);
        goto done;
    }
    bool color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    printf("  problem %s: %s\n", ds->items[0].id, ds->items[0].problem);
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct glimp_step_event *e = &r->steps[i];
        if (e->phase != GLIMP_PHASE_THINK)
            continue;
        bool big = e->writer == GLIMP_WRITER_LLM;
        const char *tag = strstr(e->text, "</think>");
        size_t len = tag ? (size_t)(tag - e->text) : e->text_len;
        while (len && (e->text[len - 1] == '\n' || e->text[len - 1] == ' '))
            len--;
        if (len == 0)
            continue;
        printf("  %s[%s H=%.2f]%s %.*s\n", color ? (big ? "\033[1;33m" : "\033[2;32m") : "",
               big ? "LLM" : "slm", e->h_init, color ? "\033[0m" : "", (int)len, e->text);
    }
    bool ok = glimp_answer_correct(&ds->items[0], r->answer, &extracted);
    printf("  answer: %s (expected %s: %s)\n", extracted ? extracted : "(none)",
           ds->items[0].answer, ok ? "right" : "wrong");
    status = 0;
done:
    free(extracted);
    glimp_router_result_free(r);
    glimp_backend_free(slm);
    glimp_backend_free(llm);
    glimp_dataset_free(ds);
    free(prompt);
    free(tmpl);
    return status;
}

int cmd_demo(int argc, char **argv)
{
    struct demo_opts o = {.out = "demo-out",
                          .limit = DEMO_LIMIT,
                          .glimpse = 4,
                          .tau = DEMO_TAU,
                          .share_b = DEMO_SHARE_B};
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;
    char dir[PATH_MAX];
    static struct demo_paths paths;
    if (find_dir(&o, dir, sizeof dir) != 0 || !demo_paths(dir, &paths) ||
        cli_make_dir("demo", o.out) != 0)
        return 1;
    struct demo_method m[2][8];
    size_t n_m = demo_methods(&o, false, m[0]);
    demo_methods(&o, true, m[1]);
    const char *tasks[] = {"A", "B"};
    const char *about[] = {"decision-first: a step opens with its result",
                           "decision-late: a step opens with \"So\", the result comes mid-step"};
    double t0 = glimp_now();
    char task_out[2][PATH_MAX];
    for (int t = 0; t < 2; t++) {
        char name[16];
        snprintf(name, sizeof name, "task%s", tasks[t]);
        if (!join(task_out[t], sizeof task_out[t], o.out, name, ""))
            return 1;
        if (o.task && strcmp(o.task, tasks[t]))
            continue;
        fprintf(stderr, "glimp demo: task %s (%s), %s\n", tasks[t], about[t], dir);
        if ((status = run_task(&o, &paths, t, task_out[t], m[t], n_m)) != 0)
            return status;
    }
    for (int t = 0; t < 2; t++) {
        if (o.task && strcmp(o.task, tasks[t]))
            continue;
        printf("\n== Task %s (%s), %u problems ==\n\n", tasks[t], about[t], o.limit);
        if (print_table(task_out[t], m[t], n_m) != 0)
            return 1;
        printf("\n");
        if (print_histogram(task_out[t], m[t][2].spec, t == 0 ? o.tau : NAN) != 0)
            return 1;
        printf("\n  Report: %s/report.md (pareto.svg, hinit.svg)\n", task_out[t]);
    }
    int tt = o.task && !strcmp(o.task, "B");
    printf("\n== One problem of task %s, routed by GlimpRouter (%s) ==\n\n", tasks[tt],
           m[tt][2].spec);
    if (print_transcript(&o, &paths, tt, m[tt][2].spec) != 0)
        return 1;
    printf("\nglimp demo: %.0f s\n", glimp_now() - t0);
    return 0;
}
