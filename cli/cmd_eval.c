/* cmd_eval.c - `glimp eval`: run a JSONL benchmark through the router with
 * several methods and runs, append one result line per problem as it
 * finishes (so --resume continues a broken run), show progress, and write
 * the report (glimp_eval_report). */
#include "cli.h"

#include "glimp.h"

#include <errno.h>
#include <jansson.h>
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
    "DIR/summary.json, DIR/pareto.svg and DIR/hinit.svg.\n"
    "\n"
    "  --slm PATH, --llm PATH  the two models (required)\n"
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
    "  -h, --help              show this help\n";

#define MAX_METHODS 256

static volatile int eval_cancel;

static void on_sigint(int sig)
{
    (void)sig;
    eval_cancel = 1;
}

struct eval_opts {
    const char *slm, *llm, *data, *out, *prompt_file, *sweep;
    const char *methods[MAX_METHODS];
    size_t n_methods;
    uint32_t runs, limit, n_threads;
    bool resume, strict, matched, no_label, no_chat;
    struct glimp_router_params base;
};

/* One method as the run goes: its spec and the share it measured. */
struct eval_method {
    struct glimp_method m;
    double share_sum; /* llm_share_steps over finished problems */
    uint32_t share_n;
    bool matched_added;
    bool label; /* label steps of this method's runs */
};

struct eval_state {
    struct eval_method methods[MAX_METHODS];
    size_t n_methods;
    json_t *done;   /* "spec|run|id" -> true for lines already in results.jsonl */
    json_t *replay; /* "spec|run" -> the steps of its share/random lines, in order */
    FILE *results;
    size_t total, finished, skipped;
    double t_start, t_busy;
    bool tty;
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
        if (!strcmp(a, "--slm"))
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

/* "tau=A:B:STEP" -> glimp:tau=X specs, kept in storage owned by the caller. */
static int add_sweep(const char *sweep, struct eval_state *st, const struct glimp_router_params *b)
{
    double a, z, step;
    char tail;
    if (sscanf(sweep, "tau=%lf:%lf:%lf%c", &a, &z, &step, &tail) != 3 || !(step > 0) ||
        !isfinite(a) || !isfinite(z) || z < a)
        return cli_usage_error("eval", eval_usage,
                               "--sweep '%s': expected tau=A:B:STEP with A <= B and STEP > 0",
                               sweep);
    long n = lround(floor((z - a) / step + 1e-9)) + 1;
    if (n > 100)
        return cli_usage_error("eval", eval_usage, "--sweep '%s': %ld values, at most 100", sweep,
                               n);
    for (long i = 0; i < n; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "glimp:tau=%.6g", a + (double)i * step);
        if (st->n_methods == MAX_METHODS)
            return cli_usage_error("eval", eval_usage, "more than %d methods", MAX_METHODS);
        int rc = glimp_method_parse(spec, b, &st->methods[st->n_methods].m);
        if (rc != GLIMP_OK)
            return cli_fail("eval", rc);
        st->n_methods++;
    }
    return -1;
}

static bool is_glimp_family(const struct glimp_method *m)
{
    enum glimp_policy p = m->params.policy;
    return p == GLIMP_POLICY_GLIMP || p == GLIMP_POLICY_SHARE || p == GLIMP_POLICY_INSTANCE;
}

static char *done_key(const char *spec, uint32_t run, const char *id)
{
    size_t n = strlen(spec) + strlen(id) + 24;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s|%u|%s", spec, run, id);
    return k;
}

static struct eval_method *find_method(struct eval_state *st, const char *spec)
{
    for (size_t i = 0; i < st->n_methods; i++)
        if (!strcmp(st->methods[i].m.spec, spec))
            return &st->methods[i];
    return NULL;
}

/* The steps of a share or random policy's result line, kept to be replayed
 * into the policy's state before its run goes on (see replay_steps). */
static void keep_replay(struct eval_state *st, const char *spec, uint32_t run, json_t *steps)
{
    char *k = done_key(spec, run, "");
    json_t *all = k ? json_object_get(st->replay, k) : NULL;
    if (k && !all && (all = json_array()))
        json_object_set_new(st->replay, k, all);
    if (all)
        json_array_extend(all, steps);
    free(k);
}

/* The share policy ranks each step's signal among all the run's earlier
 * ones, and random routing's coins follow on from theirs: before a resumed
 * run goes on, the steps already recorded go through its state in their
 * order, so that it routes what is left as the unbroken run would have. A
 * step the replay routes otherwise than recorded (a record from another
 * version, say) is counted and reported. */
static void replay_steps(struct eval_state *st, const char *spec, uint32_t run,
                         struct glimp_policy_state *ps)
{
    char *k = done_key(spec, run, "");
    json_t *all = k ? json_object_get(st->replay, k) : NULL;
    free(k);
    size_t i, differ = 0;
    json_t *step;
    json_array_foreach(all, i, step)
    {
        json_t *sig = json_object_get(step, "sig");
        enum glimp_writer w =
            glimp_policy_state_replay(ps, json_is_number(sig) ? json_number_value(sig) : NAN);
        const char *was = json_string_value(json_object_get(step, "w"));
        if (!was || strcmp(was, glimp_writer_name(w)) != 0)
            differ++;
    }
    if (differ)
        fprintf(stderr,
                "glimp eval: %s, run %u: replaying %zu recorded steps, the policy chose "
                "another writer at %zu; what is left may route otherwise than in an unbroken "
                "run\n",
                spec, run + 1, json_array_size(all), differ);
}

/* Read what an earlier run left in results.jsonl: which problems are done,
 * and the shares measured. A torn last line (the process was killed while
 * writing it) is cut off. */
static int load_done(const char *path, struct eval_state *st)
{
    char *data = NULL;
    size_t size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT
                   ? 0
                   : (fprintf(stderr, "glimp eval: %s: %s\n", path, strerror(errno)), 1);
    fclose(f);
    if (cli_read_file("eval", path, &data, &size) != 0)
        return 1;
    size_t good = 0, line_no = 0;
    for (size_t i = 0; i < size;) {
        char *nl = memchr(data + i, '\n', size - i);
        if (!nl)
            break; /* torn */
        line_no++;
        json_error_t err;
        json_t *o = json_loadb(data + i, (size_t)(nl - (data + i)), 0, &err);
        const char *spec = json_string_value(json_object_get(o, "method"));
        const char *id = json_string_value(json_object_get(o, "id"));
        json_t *run = json_object_get(o, "run");
        if (!spec || !id || !json_is_integer(run)) {
            fprintf(stderr, "glimp eval: %s:%zu: not a result line; it stays but is not counted\n",
                    path, line_no);
        } else {
            char *k = done_key(spec, (uint32_t)json_integer_value(run), id);
            if (k)
                json_object_set_new(st->done, k, json_true());
            free(k);
            const char *policy = json_string_value(json_object_get(o, "policy"));
            json_t *steps = json_object_get(o, "steps");
            if (policy && (!strcmp(policy, "share") || !strcmp(policy, "random")) &&
                json_is_array(steps))
                keep_replay(st, spec, (uint32_t)json_integer_value(run), steps);
            struct eval_method *m = find_method(st, spec);
            json_t *sh = json_object_get(o, "llm_share_steps");
            if (m && json_is_number(sh)) {
                m->share_sum += json_number_value(sh);
                m->share_n++;
            }
        }
        json_decref(o);
        i = (size_t)(nl - data) + 1;
        good = i;
    }
    free(data);
    if (good < size) {
        fprintf(stderr, "glimp eval: %s: cutting off a torn last line (%zu bytes)\n", path,
                size - good);
        if (truncate(path, (off_t)good) != 0) {
            fprintf(stderr, "glimp eval: %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    return 0;
}

static json_t *result_line(const struct eval_method *em, uint32_t run,
                           const struct glimp_problem *pb, bool correct, const char *extracted,
                           const struct glimp_router_result *r)
{
    const struct glimp_router_summary *s = &r->summary;
    const struct glimp_router_params *p = &em->m.params;
    json_t *steps = json_array();
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct glimp_step_event *e = &r->steps[i];
        if (e->phase != GLIMP_PHASE_THINK)
            continue;
        json_array_append_new(
            steps, json_pack("{s:s, s:o, s:o, s:i, s:i, s:b}", "w", glimp_writer_name(e->writer),
                             "h", cli_json_number(e->h_init), "sig", cli_json_number(e->signal),
                             "easy", e->easy, "n", (int)e->n_tokens, "rw", e->rewritten));
    }
    json_t *o = json_object();
    json_object_set_new(o, "method", json_string(em->m.spec));
    json_object_set_new(o, "run", json_integer(run));
    json_object_set_new(o, "id", json_string(pb->id));
    json_object_set_new(o, "correct", json_boolean(correct));
    json_object_set_new(o, "extracted", extracted ? json_string(extracted) : json_null());
    json_object_set_new(o, "policy", json_string(glimp_policy_name(p->policy)));
    json_object_set_new(o, "signal", json_string(glimp_signal_name(p->signal)));
    json_object_set_new(o, "tau", cli_json_number(p->tau));
    json_object_set_new(o, "share", json_real(p->share));
    json_object_set_new(o, "draft", json_integer(p->draft));
    json_object_set_new(o, "latency_s", json_real(s->wall_s));
    json_object_set_new(o, "ttft_s", cli_json_number(s->ttft_s));
    json_object_set_new(o, "steps_slm", json_integer(s->steps_slm));
    json_object_set_new(o, "steps_llm", json_integer(s->steps_llm));
    json_object_set_new(o, "tokens_slm", json_integer((json_int_t)s->tokens_slm));
    json_object_set_new(o, "tokens_llm", json_integer((json_int_t)s->tokens_llm));
    json_object_set_new(o, "slm_s", json_real(s->slm_s));
    json_object_set_new(o, "llm_s", json_real(s->llm_s));
    json_object_set_new(o, "sync_s", json_real(s->sync_s));
    json_object_set_new(o, "overhead_s", json_real(s->overhead_s));
    json_object_set_new(o, "llm_share_steps", json_real(s->llm_share_steps));
    json_object_set_new(o, "llm_share_tokens", json_real(s->llm_share_tokens));
    json_object_set_new(o, "draft_proposed", json_integer((json_int_t)s->draft_proposed));
    json_object_set_new(o, "draft_accepted", json_integer((json_int_t)s->draft_accepted));
    json_object_set_new(o, "rewrites", json_integer(s->rewrites));
    json_object_set_new(o, "think_end", json_string(glimp_think_end_name(s->think_end)));
    json_object_set_new(o, "steps", steps);
    return o;
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

static void progress(struct eval_state *st, const char *spec, uint32_t run, const char *id,
                     bool correct, double latency)
{
    size_t todo = st->total - st->skipped, done = st->finished;
    double per = done ? st->t_busy / (double)done : NAN;
    double eta = todo > done ? per * (double)(todo - done) : 0.0;
    char eta_s[32], el_s[32];
    fmt_time(eta, eta_s, sizeof eta_s);
    fmt_time(cli_now() - st->t_start, el_s, sizeof el_s);
    if (st->tty) {
        int width = 30, fill = todo ? (int)((double)width * (double)done / (double)todo) : width;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r\033[K[%s] %zu/%zu  %s run %u  elapsed %s  ETA %s", bar, done, todo,
                spec, run, el_s, eta_s);
    } else {
        fprintf(stderr, "eval: %zu/%zu %s run %u id %s: %s, %.2f s (ETA %s)\n", done, todo, spec,
                run, id, correct ? "correct" : "wrong", latency, eta_s);
    }
    fflush(stderr);
}

/* After a glimp:tau method: the matched-share comparison at its share. */
static int add_matched(struct eval_state *st, struct eval_method *em,
                       const struct glimp_router_params *base)
{
    em->matched_added = true;
    if (em->share_n == 0)
        return 0;
    double s = em->share_sum / em->share_n;
    const char *head[] = {"random:", "glimp:signal=hstep,", "glimp:signal=ppl,"};
    for (size_t i = 0; i < 3; i++) {
        char spec[96];
        snprintf(spec, sizeof spec, "%sshare=%.3f", head[i], s);
        if (find_method(st, spec))
            continue;
        if (st->n_methods == MAX_METHODS) {
            fprintf(stderr, "glimp eval: more than %d methods\n", MAX_METHODS);
            return 1;
        }
        int rc = glimp_method_parse(spec, base, &st->methods[st->n_methods].m);
        if (rc != GLIMP_OK)
            return cli_fail("eval", rc);
        st->n_methods++;
    }
    return 0;
}

struct eval_run {
    struct glimp_backend *slm, *llm;
    struct glimp_dataset *data;
    size_t n_problems;
    char *tmpl;
    struct eval_opts *o;
    char results_path[4096];
};

static int run_problems(struct eval_state *st, struct eval_run *er, struct eval_method *em,
                        const struct glimp_router_params *rp, uint32_t run,
                        struct glimp_policy_state *ps);

static int run_method(struct eval_state *st, struct eval_run *er, size_t mi)
{
    struct eval_method *em = &st->methods[mi];
    if (em->m.share_auto) {
        /* the share the first glimp method measured */
        struct eval_method *g = NULL;
        for (size_t i = 0; i < st->n_methods && !g; i++)
            if (is_glimp_family(&st->methods[i].m) && st->methods[i].share_n)
                g = &st->methods[i];
        if (!g) {
            fprintf(stderr, "glimp eval: %s: no glimp method has measured a share before it\n",
                    em->m.spec);
            return 1;
        }
        em->m.params.share = g->share_sum / g->share_n;
    }
    for (uint32_t run = 0; run < er->o->runs; run++) {
        /* Run k has seed S + k. Its problems share one policy state: the
         * share policy tracks its quantile over all of them, and random
         * routing draws its coins from one stream (a stream seeded afresh
         * for each problem would flip the same coins on every problem). */
        struct glimp_router_params rp = em->m.params;
        rp.seed = er->o->base.seed + run;
        struct glimp_policy_state *ps = NULL;
        int rc = glimp_policy_state_init(&rp, &ps);
        if (rc != GLIMP_OK)
            return cli_fail("eval", rc);
        replay_steps(st, em->m.spec, run, ps);
        int status = run_problems(st, er, em, &rp, run, ps);
        glimp_policy_state_free(ps);
        if (status != 0)
            return status;
    }
    return 0;
}

/* One run of a method over the problems not done yet, with the run's
 * params (its seed set) and policy state. */
static int run_problems(struct eval_state *st, struct eval_run *er, struct eval_method *em,
                        const struct glimp_router_params *rp, uint32_t run,
                        struct glimp_policy_state *ps)
{
    for (size_t i = 0; i < er->n_problems; i++) {
        const struct glimp_problem *pb = &er->data->items[i];
        char *key = done_key(em->m.spec, run, pb->id);
        bool done = key && json_object_get(st->done, key);
        free(key);
        if (done)
            continue;
        if (eval_cancel)
            return 130;
        char *prompt = NULL;
        int rc = glimp_problem_prompt(pb, er->tmpl, &prompt);
        if (rc != GLIMP_OK)
            return cli_fail("eval", rc);
        struct glimp_router_params p = *rp;
        p.cancel = &eval_cancel;
        p.label_steps = em->label;
        p.policy_state = ps;
        struct glimp_router_result *r = NULL;
        double t0 = cli_now();
        rc = glimp_router_run(er->slm, er->llm, prompt, &p, &r);
        free(prompt);
        if (rc != GLIMP_OK) {
            fprintf(stderr, "%sglimp eval: %s, problem %s (line %u): %s\n", st->tty ? "\n" : "",
                    em->m.spec, pb->id, pb->line, glimp_last_error());
            return 1;
        }
        if (r->summary.stopped) { /* interrupted: not a result */
            glimp_router_result_free(r);
            return 130;
        }
        char *extracted = NULL;
        bool correct = glimp_answer_correct(pb, r->answer, &extracted);
        json_t *line = result_line(em, run, pb, correct, extracted, r);
        char *text = json_dumps(line, JSON_COMPACT);
        json_decref(line);
        if (!text || fprintf(st->results, "%s\n", text) < 0 || fflush(st->results) != 0) {
            fprintf(stderr, "glimp eval: writing %s: %s\n", er->results_path, strerror(errno));
            free(text);
            free(extracted);
            glimp_router_result_free(r);
            return 1;
        }
        free(text);
        em->share_sum += r->summary.llm_share_steps;
        em->share_n++;
        st->finished++;
        st->t_busy += cli_now() - t0;
        progress(st, em->m.spec, run + 1, pb->id, correct, r->summary.wall_s);
        free(extracted);
        glimp_router_result_free(r);
    }
    return 0;
}

/* How many (method, run, problem) of this run were done before it began. */
static size_t count_done(struct eval_state *st, const struct eval_run *er)
{
    size_t n = 0;
    for (size_t mi = 0; mi < st->n_methods; mi++)
        for (uint32_t run = 0; run < er->o->runs; run++)
            for (size_t i = 0; i < er->n_problems; i++) {
                char *k = done_key(st->methods[mi].m.spec, run, er->data->items[i].id);
                n += k && json_object_get(st->done, k);
                free(k);
            }
    return n;
}

int cmd_eval(int argc, char **argv)
{
    static struct eval_opts o;
    static struct eval_state st;
    memset(&o, 0, sizeof o);
    memset(&st, 0, sizeof st);
    o.base = glimp_router_default_params();
    o.runs = 1;
    o.out = "eval-out";
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;

    /* the methods */
    for (size_t i = 0; i < o.n_methods; i++) {
        int rc = glimp_method_parse(o.methods[i], &o.base, &st.methods[st.n_methods].m);
        if (rc != GLIMP_OK) {
            fprintf(stderr, "glimp eval: %s\n", glimp_last_error());
            return 2;
        }
        if (find_method(&st, st.methods[st.n_methods].m.spec)) {
            fprintf(stderr, "glimp eval: method '%s' given twice\n", o.methods[i]);
            return 2;
        }
        st.n_methods++;
    }
    if (o.sweep && (status = add_sweep(o.sweep, &st, &o.base)) >= 0)
        return status;
    if (st.n_methods == 0) {
        const char *def[] = {"slm", "llm", "specreason:threshold=7", "glimp:tau=1.0",
                             "random:share=auto"};
        for (size_t i = 0; i < 5; i++)
            glimp_method_parse(def[i], &o.base, &st.methods[st.n_methods++].m);
    }
    for (size_t i = 0; i < st.n_methods && !o.no_label; i++) {
        if (is_glimp_family(&st.methods[i].m)) {
            st.methods[i].label = true;
            break;
        }
    }

    struct eval_run er = {.o = &o};
    struct glimp_model_params mp = cli_model_params(o.n_threads);
    int rc = glimp_dataset_load(o.data, o.strict, on_bad_line, (void *)o.data, &er.data);
    if (rc != GLIMP_OK)
        return cli_fail("eval", rc);
    er.n_problems = o.limit && o.limit < er.data->n ? o.limit : er.data->n;
    size_t tlen;
    if (o.prompt_file && cli_read_file("eval", o.prompt_file, &er.tmpl, &tlen) != 0)
        status = 1;
    if (status < 0 && cli_make_dir("eval", o.out) != 0)
        status = 1;
    snprintf(er.results_path, sizeof er.results_path, "%s/results.jsonl", o.out);
    st.done = json_object();
    st.replay = json_object();
    if (status < 0 && !o.resume && access(er.results_path, F_OK) == 0) {
        fprintf(stderr,
                "glimp eval: %s exists: add --resume to continue it, or choose another --out\n",
                er.results_path);
        status = 1;
    }
    if (status < 0 && o.resume && load_done(er.results_path, &st) != 0)
        status = 1;
    if (status < 0 && (rc = glimp_backend_local_open(o.slm, &mp, &er.slm)) != GLIMP_OK)
        status = cli_fail("eval", rc);
    if (status < 0 && (rc = glimp_backend_local_open(o.llm, &mp, &er.llm)) != GLIMP_OK)
        status = cli_fail("eval", rc);
    if (status < 0 && !(st.results = fopen(er.results_path, "ab"))) {
        fprintf(stderr, "glimp eval: cannot open %s: %s\n", er.results_path, strerror(errno));
        status = 1;
    }

    if (status < 0) {
        st.tty = isatty(STDERR_FILENO);
        st.t_start = cli_now();
        struct sigaction sa = {.sa_handler = on_sigint};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        fprintf(stderr, "glimp eval: %zu problems x %u runs, %zu methods -> %s\n", er.n_problems,
                o.runs, st.n_methods, o.out);
        for (size_t mi = 0; mi < st.n_methods && status < 0; mi++) {
            st.total = st.n_methods * er.n_problems * o.runs;
            st.skipped = count_done(&st, &er);
            int r = run_method(&st, &er, mi);
            if (r != 0)
                status = r;
            struct eval_method *em = &st.methods[mi];
            if (status < 0 && o.matched && em->m.params.policy == GLIMP_POLICY_GLIMP &&
                em->m.params.signal == GLIMP_SIGNAL_HINIT && em->m.params.glimpse == 1 &&
                !em->matched_added && (r = add_matched(&st, em, &o.base)) != 0)
                status = r;
        }
        if (st.tty)
            fputc('\n', stderr);
        signal(SIGINT, SIG_DFL);
    }
    if (st.results && fclose(st.results) != 0 && status < 0) {
        fprintf(stderr, "glimp eval: closing %s: %s\n", er.results_path, strerror(errno));
        status = 1;
    }
    /* the report covers whatever is done, even after Ctrl-C */
    if ((status < 0 || status == 130) && access(er.results_path, F_OK) == 0) {
        rc = glimp_eval_report(o.out);
        if (rc != GLIMP_OK) {
            fprintf(stderr, "glimp eval: report: %s\n", glimp_last_error());
            status = 1;
        } else {
            fprintf(stderr, "glimp eval: wrote %s/report.md, summary.json, pareto.svg, hinit.svg\n",
                    o.out);
        }
    }
    if (status == 130)
        fprintf(stderr, "glimp eval: interrupted; finished problems are kept (--resume goes on)\n");
    json_decref(st.done);
    json_decref(st.replay);
    glimp_backend_free(er.slm);
    glimp_backend_free(er.llm);
    glimp_dataset_free(er.data);
    free(er.tmpl);
    return status < 0 ? 0 : status;
}
