/* cmd_run.c - `glimp run`: a small and a large model write one chain of
 * thought together (DESIGN.md sections 1-2, 6). Streams each step marked by
 * its writer, then the answer and a summary; or one JSON object (--json);
 * optionally a JSONL trace, one line per step, as the steps happen. */
#include "cli.h"

#include "glimp.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char run_usage[] =
    "usage: glimp run --slm MODEL --llm MODEL (-p PROMPT | -f FILE) [options]\n"
    "\n"
    "The small model (SLM) and the large model (LLM) write one chain of thought\n"
    "together, step by step (steps end at a blank line). Before each step the\n"
    "SLM's distribution for the step's first token is probed; the policy picks\n"
    "the writer. Then the answer model writes the answer. Streams each step\n"
    "marked by its writer, then the answer and a summary; Ctrl-C ends the run\n"
    "early with what it has (exit code 130).\n"
    "\n"
    "  --slm MODEL           the small model: GGUF path or server URL (required)\n"
    "  --llm MODEL           the large model: GGUF path or server URL (required)\n"
    "  -p, --prompt TEXT     the problem\n"
    "  -f, --file FILE       read it from FILE ('-': standard input)\n"
    "routing:\n"
    "  --policy P            glimp (signal > tau: the LLM writes; default),\n"
    "                        share (tau tracks a target LLM share), instance\n"
    "                        (tau from this problem's first steps), random (the\n"
    "                        LLM with probability --share), slm, llm (one model\n"
    "                        alone), specreason (the SLM writes, the LLM scores\n"
    "                        the step 0-9 and rewrites it below --threshold)\n"
    "  --signal S            hinit (default; the SLM's first-token entropy),\n"
    "                        hstep (mean entropy over the SLM's whole step),\n"
    "                        ppl (perplexity of the SLM's whole step)\n"
    "  --glimpse K           hinit: the largest entropy of the SLM's first K\n"
    "                        tokens (default 1)\n"
    "  --tau X               threshold of glimp and instance (before it is\n"
    "                        calibrated); inf and -inf allowed (default 1.0)\n"
    "  --share S             share, random: the LLM's share of steps, 0 to 1\n"
    "                        (default 0.25)\n"
    "  --instance-k K        instance: calibration steps (default 4)\n"
    "  --instance-z Z        instance: tau = mean + Z * sd (default 1.0)\n"
    "  --threshold X         specreason: keep the SLM's step at a score >= X,\n"
    "                        0 to 10 (default 7)\n"
    "  --entropy E           topk:K (entropy of the top K renormalised; default\n"
    "                        topk:20) or full\n"
    "  --draft N             speculative decoding in LLM steps: the SLM drafts\n"
    "                        N tokens, 0 to 64 (default 0: off); needs one\n"
    "                        vocabulary\n"
    "  --segment S           where a step ends: blank (a blank line; default),\n"
    "                        line (every newline), marker:REGEX (also just\n"
    "                        before text matching REGEX, e.g. marker:Wait)\n"
    "  --profile FILE        routing settings from a profile (glimp tune);\n"
    "                        options given beside it override it\n"
    "budgets:\n"
    "  --max-think N         thinking tokens in all (default 8192)\n"
    "  --max-step N          tokens per step (default 512)\n"
    "  --max-answer N        answer tokens (default 2048)\n"
    "  --answer-model M      who writes the answer: slm or llm (default llm)\n"
    "sampling:\n"
    "  --temp T              temperature; 0 is greedy (default 0.6)\n"
    "  --top-p P             (default 0.95; 1: off)\n"
    "  --top-k K             (default 0: off)\n"
    "  --min-p M             (default 0: off)\n"
    "  --seed S              seed of sampling and of the random policy (default 0)\n"
    "models:\n"
    "  -t, --threads N       threads of each model; 0: one per core (default 0)\n"
    "  -c, --ctx-size N      context of each model in tokens; 0: the model's\n"
    "                        (default 0)\n"
    "  --no-chat             the prompt as it is, not through the chat template\n"
    "  --no-think            thinking off: only the answer\n"
    "output:\n"
    "  --json                no streaming; one JSON object at the end\n"
    "  --trace FILE          one JSON line per step, written as it happens\n"
    CLI_REMOTE_USAGE
    "  -h, --help            show this help\n";

#define MAX_CTX (1u << 24)
#define MAX_THREADS 1024u

struct run_opts {
    const char *slm, *llm, *prompt, *file, *trace;
    uint32_t n_threads;
    struct glimp_router_params p;
    bool json;
    /* options given that only some policies read */
    bool set_signal, set_tau, set_share, set_instance, set_threshold;
    struct cli_remote remote; /* models given as URLs */
};

/* ------------------------------------------------------------- arguments */

/* What a valued option expects, for its usage error. */
static const char *expected(const char *a)
{
    static const struct {
        const char *opt, *want;
    } table[] = {
        {"--policy", "glimp, share, instance, random, slm, llm or specreason"},
        {"--signal", "hinit, hstep or ppl"},
        {"--glimpse", "a whole number from 1 to 1048576"},
        {"--tau", "a number, inf or -inf"},
        {"--share", "a number from 0 to 1"},
        {"--instance-k", "a whole number >= 1"},
        {"--instance-z", "a finite number"},
        {"--threshold", "a number from 0 to 10"},
        {"--entropy", "topk:K (K >= 1) or full"},
        {"--draft", "a whole number from 0 to 64"},
        {"--max-think", "a whole number >= 0"},
        {"--max-step", "a whole number from 1 to 1048576"},
        {"--max-answer", "a whole number from 1 to 16777216"},
        {"--answer-model", "slm or llm"},
        {"--segment", "blank, line or marker:REGEX"},
        {"--temp", "a number >= 0"},
        {"--top-p", "a number from 0 to 1"},
        {"--min-p", "a number from 0 to 1"},
        {"-t", "a whole number up to 1024"},
        {"--threads", "a whole number up to 1024"},
        {"-c", "a whole number up to 16777216"},
        {"--ctx-size", "a whole number up to 16777216"},
        {"--remote-probe", "stream or request"},
        {"--remote-sync", "eager or lazy"},
        {"--remote-timeout", "seconds, more than 0"},
        {"--remote-retries", "a whole number from 0 to 100"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(a, table[i].opt))
            return table[i].want;
    return "a whole number >= 0";
}

/* Parse the command line; returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct run_opts *o)
{
    struct glimp_router_params *p = &o->p;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(run_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        } else if (!strcmp(a, "--no-chat")) {
            p->chat = false;
            continue;
        } else if (!strcmp(a, "--no-think")) {
            p->think = false;
            continue;
        }
        static const char *const valued[] = {
            "--slm",   "--llm",        "-p",           "--prompt",     "-f",
            "--file",  "--policy",     "--signal",     "--glimpse",    "--tau",
            "--share", "--instance-k", "--instance-z", "--threshold",  "--entropy",
            "--draft", "--max-think",  "--max-step",   "--max-answer", "--answer-model",
            "--temp",  "--top-p",      "--top-k",      "--min-p",      "--seed",
            "-t",      "--threads",    "-c",           "--ctx-size",   "--trace",
            "--segment", "--profile",
        };
        bool known = false, dummy;
        struct cli_remote probe = {0};
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            known = known || !strcmp(a, valued[k]);
        known = known || cli_remote_option(a, "0", &probe, &dummy);
        if (!known)
            return cli_usage_error("run", run_usage, "unknown option '%s'", a);
        if (i + 1 >= argc)
            return cli_usage_error("run", run_usage, "%s needs a value", a);
        const char *v = argv[++i];
        bool ok = true;
        if (cli_remote_option(a, v, &o->remote, &ok))
            ; /* the models' servers */
        else if (!strcmp(a, "--slm"))
            o->slm = v;
        else if (!strcmp(a, "--llm"))
            o->llm = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt"))
            o->prompt = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file"))
            o->file = v;
        else if (!strcmp(a, "--trace"))
            o->trace = v;
        else if (!strcmp(a, "--profile"))
            ; /* read first, by cli_profile_prescan */
        else if (!strcmp(a, "--policy"))
            ok = glimp_policy_parse(v, &p->policy);
        else if (!strcmp(a, "--signal"))
            ok = o->set_signal = glimp_signal_parse(v, &p->signal);
        else if (!strcmp(a, "--glimpse"))
            ok = o->set_signal = cli_parse_u32(v, 1, 1u << 20, &p->glimpse);
        else if (!strcmp(a, "--tau"))
            ok = o->set_tau = cli_parse_double(v, -INFINITY, INFINITY, &p->tau);
        else if (!strcmp(a, "--share"))
            ok = o->set_share = cli_parse_double(v, 0.0, 1.0, &p->share);
        else if (!strcmp(a, "--instance-k"))
            ok = o->set_instance = cli_parse_u32(v, 1, UINT32_MAX, &p->instance_k);
        else if (!strcmp(a, "--instance-z"))
            ok = o->set_instance = cli_parse_double(v, -DBL_MAX, DBL_MAX, &p->instance_z);
        else if (!strcmp(a, "--threshold"))
            ok = o->set_threshold = cli_parse_double(v, 0.0, 10.0, &p->specreason_threshold);
        else if (!strcmp(a, "--entropy"))
            ok = cli_parse_entropy(v, &p->entropy_topk);
        else if (!strcmp(a, "--draft"))
            ok = cli_parse_u32(v, 0, 64, &p->draft);
        else if (!strcmp(a, "--answer-model")) {
            ok = !strcmp(v, "slm") || !strcmp(v, "llm");
            p->answer_model = !strcmp(v, "slm") ? GLIMP_WRITER_SLM : GLIMP_WRITER_LLM;
        } else if (cli_router_option(a, v, p, &ok)) {
            /* budgets, sampling, seed: as glimp eval reads them */
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
            ok = cli_parse_u32(v, 0, MAX_THREADS, &o->n_threads);
        else
            ok = cli_parse_u32(v, 0, MAX_CTX, &p->n_ctx);
        if (!ok)
            return cli_usage_error("run", run_usage, "%s '%s': expected %s", a, v, expected(a));
    }
    p->sampling.seed = p->seed;
    if (!o->slm)
        return cli_usage_error("run", run_usage, "no small model given (--slm MODEL)");
    if (!o->llm)
        return cli_usage_error("run", run_usage, "no large model given (--llm MODEL)");
    if (!o->prompt == !o->file)
        return cli_usage_error("run", run_usage, "give either -p PROMPT or -f FILE");
    if (p->glimpse > 1 && p->signal != GLIMP_SIGNAL_HINIT)
        return cli_usage_error("run", run_usage, "--glimpse %u goes with --signal hinit, not %s",
                               p->glimpse, glimp_signal_name(p->signal));
    return -1;
}

/* Options the chosen policy does not read are said to have no effect. */
static void note_unused(const struct run_opts *o)
{
    enum glimp_policy pol = o->p.policy;
    bool by_signal =
        pol == GLIMP_POLICY_GLIMP || pol == GLIMP_POLICY_SHARE || pol == GLIMP_POLICY_INSTANCE;
    const struct {
        bool given, used;
        const char *what;
    } opts[] = {
        {o->set_signal, by_signal, "--signal and --glimpse"},
        {o->set_tau, pol == GLIMP_POLICY_GLIMP || pol == GLIMP_POLICY_INSTANCE, "--tau"},
        {o->set_share, pol == GLIMP_POLICY_SHARE || pol == GLIMP_POLICY_RANDOM, "--share"},
        {o->set_instance, pol == GLIMP_POLICY_INSTANCE, "--instance-k and --instance-z"},
        {o->set_threshold, pol == GLIMP_POLICY_SPECREASON, "--threshold"},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (opts[i].given && !opts[i].used)
            fprintf(stderr, "glimp run: note: %s: no effect with --policy %s\n", opts[i].what,
                    glimp_policy_name(pol));
}

/* ------------------------------------------------------------------ JSON */

/* n bytes of text as a JSON string. A step may end inside a character (and
 * a random model writes any bytes): what is not UTF-8 becomes U+FFFD, one
 * per maximal subpart, as Unicode advises. NULL when out of memory. */
static json_t *text_json(const char *text, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n;) {
        size_t len = glimp_utf8_char_len(text + i, n - i);
        bad += len == 0;
        i += len ? len : glimp_utf8_bad_len(text + i, n - i);
    }
    if (bad == 0)
        return json_stringn(text, n);
    if (bad > (SIZE_MAX - n) / 3)
        return NULL;
    char *buf = malloc(n + 3 * bad); /* a stretch of 1 or more bytes grows to 3 */
    if (!buf)
        return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t len = glimp_utf8_char_len(text + i, n - i);
        if (len) {
            memcpy(buf + m, text + i, len);
            m += len;
            i += len;
        } else {
            memcpy(buf + m, "\xEF\xBF\xBD", 3);
            m += 3;
            i += glimp_utf8_bad_len(text + i, n - i);
        }
    }
    json_t *j = json_stringn(buf, m);
    free(buf);
    return j;
}

/* Set o[key] = v, taking v; *ok turns false (and stays) on any failure. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (!*ok || !v) {
        *ok = false;
        json_decref(v); /* NULL-safe */
        return;
    }
    if (json_object_set_new(o, key, v) != 0) /* takes v even when it fails */
        *ok = false;
}

/* One step as a steps entry and a trace line; NULL when out of memory. */
static json_t *step_json(const struct glimp_step_event *ev)
{
    json_t *j = json_object();
    bool ok = j != NULL;
    put(j, "index", json_integer(ev->index), &ok);
    put(j, "phase", json_string(ev->phase == GLIMP_PHASE_ANSWER ? "answer" : "think"), &ok);
    put(j, "writer", json_string(glimp_writer_name(ev->writer)), &ok);
    put(j, "h_init", cli_json_number(ev->h_init), &ok);
    put(j, "signal", cli_json_number(ev->signal), &ok);
    put(j, "tau", cli_json_number(ev->tau), &ok);
    put(j, "rewritten", json_boolean(ev->rewritten), &ok);
    put(j, "n_tokens", json_integer(ev->n_tokens), &ok);
    put(j, "text", text_json(ev->text, ev->text_len), &ok);
    put(j, "probe_s", cli_json_number(ev->probe_s), &ok);
    put(j, "sync_s", cli_json_number(ev->sync_s), &ok);
    put(j, "write_s", cli_json_number(ev->write_s), &ok);
    put(j, "draft_proposed", json_integer(ev->draft_proposed), &ok);
    put(j, "draft_accepted", json_integer(ev->draft_accepted), &ok);
    if (!ok) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *summary_json(const struct glimp_router_summary *s)
{
    json_t *j = json_object();
    bool ok = j != NULL;
    put(j, "steps_slm", json_integer(s->steps_slm), &ok);
    put(j, "steps_llm", json_integer(s->steps_llm), &ok);
    put(j, "tokens_slm", json_integer((json_int_t)s->tokens_slm), &ok);
    put(j, "tokens_llm", json_integer((json_int_t)s->tokens_llm), &ok);
    put(j, "llm_share_steps", cli_json_number(s->llm_share_steps), &ok);
    put(j, "llm_share_tokens", cli_json_number(s->llm_share_tokens), &ok);
    put(j, "wall_s", cli_json_number(s->wall_s), &ok);
    put(j, "slm_s", cli_json_number(s->slm_s), &ok);
    put(j, "llm_s", cli_json_number(s->llm_s), &ok);
    put(j, "sync_s", cli_json_number(s->sync_s), &ok);
    put(j, "overhead_s", cli_json_number(s->overhead_s), &ok);
    put(j, "ttft_s", cli_json_number(s->ttft_s), &ok);
    put(j, "draft_proposed", json_integer((json_int_t)s->draft_proposed), &ok);
    put(j, "draft_accepted", json_integer((json_int_t)s->draft_accepted), &ok);
    put(j, "draft_accept_rate", cli_json_number(s->draft_accept_rate), &ok);
    put(j, "rewrites", json_integer(s->rewrites), &ok);
    put(j, "think_end", json_string(glimp_think_end_name(s->think_end)), &ok);
    put(j, "stopped", json_boolean(s->stopped), &ok);
    put(j, "ctx_full", json_boolean(s->ctx_full), &ok);
    if (!ok) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* The whole run as --json prints it; NULL when out of memory. */
static json_t *result_json(const struct run_opts *o, const struct glimp_backend *slm,
                           const struct glimp_backend *llm, const struct glimp_router_result *r)
{
    json_t *j = json_object(), *steps = json_array(), *ids = NULL;
    bool ok = j && steps;
    for (size_t i = 0; ok && i < r->n_steps; i++) {
        json_t *s = step_json(&r->steps[i]);
        ok = s && json_array_append_new(steps, s) == 0;
    }
    if (ok && r->ids) {
        ids = json_array();
        ok = ids != NULL;
        for (size_t i = 0; ok && i < r->n_ids; i++)
            ok = json_array_append_new(ids, json_integer(r->ids[i])) == 0;
    } else if (ok) {
        ids = json_null(); /* different vocabularies: no common ids */
    }
    put(j, "policy", json_string(glimp_policy_name(o->p.policy)), &ok);
    put(j, "signal", json_string(glimp_signal_name(o->p.signal)), &ok);
    put(j, "slm", json_string(glimp_backend_describe(slm)), &ok);
    put(j, "llm", json_string(glimp_backend_describe(llm)), &ok);
    if (glimp_backend_is_remote(slm) || glimp_backend_is_remote(llm))
        put(j, "network",
            json_pack("{s:o,s:o}", "slm", cli_network_json(slm), "llm", cli_network_json(llm)),
            &ok);
    put(j, "reasoning", text_json(r->reasoning, strlen(r->reasoning)), &ok);
    put(j, "answer", text_json(r->answer, strlen(r->answer)), &ok);
    put(j, "steps", steps, &ok);
    steps = NULL;
    put(j, "ids", ids, &ok);
    ids = NULL;
    put(j, "summary", summary_json(&r->summary), &ok);
    json_decref(steps);
    json_decref(ids);
    if (!ok) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---------------------------------------------------------------- output */

/* Set by Ctrl-C; the router polls it between tokens. */
static atomic_int interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends the program at once */
}

struct run_out {
    const struct run_opts *o;
    bool stream, color;
    FILE *trace;
    int out_errno, trace_errno; /* nonzero once writing failed */
    const struct glimp_backend *slm, *llm;
};

/* Flush stdout; false (errno kept) once it is gone. */
static bool out_ok(struct run_out *out)
{
    if (out->out_errno)
        return false;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        out->out_errno = errno ? errno : EIO;
        return false;
    }
    return true;
}

/* What the step marker calls the signal when it is not H_init itself;
 * NULL when it is. */
static const char *signal_label(const struct glimp_router_params *p)
{
    if (p->policy == GLIMP_POLICY_SPECREASON)
        return "score";
    if (p->signal == GLIMP_SIGNAL_HSTEP)
        return "Hstep";
    if (p->signal == GLIMP_SIGNAL_PPL)
        return "PPL";
    return p->glimpse > 1 ? "Hmax" : NULL;
}

/* One thinking step as people read it: a marker, then its text up to a
 * </think> (what follows belongs to the answer). On a terminal the marker
 * is coloured, [slm H=0.12] or [LLM H=1.43]; piped, it is a line of its own,
 * [step 3 llm h_init=1.432 signal=1.432 tau=1.000]. */
static void print_step(struct run_out *out, const struct glimp_step_event *ev)
{
    const struct glimp_router_params *p = &out->o->p;
    bool llm = ev->writer == GLIMP_WRITER_LLM;
    if (out->color) {
        const char *label = signal_label(p);
        printf("%s[%s", llm ? "\033[1;33m" : "\033[2;32m", llm ? "LLM" : "slm");
        if (!isnan(ev->h_init))
            printf(" H=%.2f", ev->h_init);
        if (label && !isnan(ev->signal))
            printf(" %s=%.2f", label, ev->signal);
        printf("%s]\033[0m ", ev->rewritten ? " rewritten" : "");
    } else {
        printf("[step %u %s", ev->index, glimp_writer_name(ev->writer));
        if (!isnan(ev->h_init))
            printf(" h_init=%.3f", ev->h_init);
        if (!isnan(ev->signal))
            printf(" signal=%.3f", ev->signal);
        if (!isnan(ev->tau))
            printf(" tau=%.3f", ev->tau);
        printf("%s]\n", ev->rewritten ? " rewritten" : "");
    }
    const char *tag = strstr(ev->text, "</think>");
    size_t len = tag ? (size_t)(tag - ev->text) : ev->text_len;
    fwrite(ev->text, 1, len, stdout);
    if (len == 0 || ev->text[len - 1] != '\n')
        putchar('\n');
    out_ok(out);
}

/* The trace: one JSON line per step, flushed at once. */
static void trace_step(struct run_out *out, const struct glimp_step_event *ev)
{
    json_t *j = step_json(ev);
    char *line = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(j);
    errno = 0;
    if (!line)
        out->trace_errno = ENOMEM;
    else if (fputs(line, out->trace) == EOF || fputc('\n', out->trace) == EOF ||
             fflush(out->trace) != 0)
        out->trace_errno = errno ? errno : EIO;
    free(line);
}

static bool on_step(const struct glimp_step_event *ev, void *user)
{
    struct run_out *out = user;
    if (out->trace && !out->trace_errno)
        trace_step(out, ev);
    if (out->stream && ev->phase == GLIMP_PHASE_THINK && !out->out_errno)
        print_step(out, ev);
    /* output nobody can read: stop rather than compute on */
    return !out->out_errno && !out->trace_errno;
}

static double pct(double part, double whole)
{
    return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* The answer under its header, then the summary. */
static void print_result(struct run_out *out, const struct glimp_router_result *r)
{
    const struct glimp_router_params *p = &out->o->p;
    const struct glimp_router_summary *s = &r->summary;
    bool answered = r->n_steps && r->steps[r->n_steps - 1].phase == GLIMP_PHASE_ANSWER;
    const char *bold = out->color ? "\033[1m" : "", *reset = out->color ? "\033[0m" : "";
    if (answered || r->answer[0]) {
        printf("%s--- answer (%s) ---%s\n", bold, glimp_writer_name(p->answer_model), reset);
        size_t n = strlen(r->answer);
        fwrite(r->answer, 1, n, stdout);
        if (n && r->answer[n - 1] != '\n')
            putchar('\n');
    }
    uint32_t steps = s->steps_slm + s->steps_llm;
    uint64_t tokens = s->tokens_slm + s->tokens_llm;
    double wall = s->wall_s;
    printf("%s--- summary ---%s\n", bold, reset);
    printf("steps:    %u thinking (slm %u, llm %u), llm share %.1f%%\n", steps, s->steps_slm,
           s->steps_llm, 100.0 * s->llm_share_steps);
    printf("tokens:   %llu, answer included (slm %llu, llm %llu), llm share %.1f%%\n",
           (unsigned long long)tokens, (unsigned long long)s->tokens_slm,
           (unsigned long long)s->tokens_llm, 100.0 * s->llm_share_tokens);
    printf("time:     %.3f s wall: slm %.3f s (%.1f%%), llm %.3f s (%.1f%%), sync %.3f s "
           "(%.1f%%), router %.3f s (%.1f%%)\n",
           wall, s->slm_s, pct(s->slm_s, wall), s->llm_s, pct(s->llm_s, wall), s->sync_s,
           pct(s->sync_s, wall), s->overhead_s, pct(s->overhead_s, wall));
    cli_print_network(stdout, out->slm, out->llm);
    printf("speed:    %.2f tokens/s", wall > 0 ? (double)tokens / wall : 0.0);
    if (!isnan(s->ttft_s))
        printf(", first token after %.3f s", s->ttft_s);
    putchar('\n');
    if (p->draft > 0) {
        printf("drafts:   %llu of %llu accepted", (unsigned long long)s->draft_accepted,
               (unsigned long long)s->draft_proposed);
        if (!isnan(s->draft_accept_rate))
            printf(" (%.1f%%)", 100.0 * s->draft_accept_rate);
        putchar('\n');
    }
    printf("rewrites: %u\n", s->rewrites);
    printf("thinking: ended by %s\n", glimp_think_end_name(s->think_end));
    if (s->ctx_full)
        printf("context:  full; the run ended there\n");
    if (s->stopped)
        printf("stopped:  %s\n", interrupted ? "interrupted (Ctrl-C)" : "early");
    out_ok(out);
}

/* ------------------------------------------------------------------- run */

static bool color_wanted(void)
{
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
    if (no_color && no_color[0])
        return false;
    if (term && !strcmp(term, "dumb"))
        return false;
    return isatty(fileno(stdout)) == 1;
}

int cmd_run(int argc, char **argv)
{
    struct run_opts o = {.p = glimp_router_default_params()};
    struct glimp_profile_info pinfo;
    const char *profile;
    if (cli_profile_prescan("run", argc, argv, &o.p, &pinfo, &profile) != 0)
        return 1;
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;
    status = 0;
    note_unused(&o);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is a write error, not death */

    char *file_text = NULL;
    size_t len = 0;
    if (o.file && cli_read_file("run", o.file, &file_text, &len) != 0)
        return 1;
    const char *prompt = o.file ? file_text : o.prompt;
    if (o.file && memchr(file_text, '\0', len)) {
        fprintf(stderr, "glimp run: %s: the prompt holds a NUL byte; it must be text\n", o.file);
        free(file_text);
        return 1;
    }

    struct run_out out = {.o = &o, .stream = !o.json};
    out.color = out.stream && color_wanted();
    if (o.trace && !(out.trace = fopen(o.trace, "w"))) {
        fprintf(stderr, "glimp run: %s: %s\n", o.trace, strerror(errno));
        free(file_text);
        return 1;
    }

    struct glimp_backend *slm = NULL, *llm = NULL;
    struct glimp_router_result *res = NULL;
    int open_status = cli_open_models("run", o.slm, o.llm, &o.remote, o.n_threads, &slm, &llm);
    if (open_status != 0) {
        if (out.trace)
            fclose(out.trace);
        free(file_text);
        return open_status;
    }
    int rc = GLIMP_OK;
    for (int i = 0; rc == GLIMP_OK && i < 2; i++) {
        const char *w = glimp_backend_warning(i ? llm : slm);
        if (w[0])
            fprintf(stderr, "glimp run: warning: %s: %s\n", i ? "llm" : "slm", w);
    }
    if (rc == GLIMP_OK)
        cli_profile_warn_pair("run", profile, &pinfo, slm, llm);
    bool shared = false;
    if (rc == GLIMP_OK)
        rc = glimp_router_check_vocab(slm, llm, &shared);
    if (rc == GLIMP_OK && !shared)
        fprintf(stderr, "glimp run: note: the models' vocabularies differ: steps pass as text\n");

    struct sigaction sa = {0}, old_sa;
    bool handler = false;
    if (rc == GLIMP_OK) {
        o.p.on_step = on_step;
        o.p.user = &out;
        o.p.cancel = &interrupted;
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        handler = sigaction(SIGINT, &sa, &old_sa) == 0;
        rc = glimp_router_run(slm, llm, prompt, &o.p, &res);
    }
    if (handler)
        sigaction(SIGINT, &old_sa, NULL);

    if (rc != GLIMP_OK) {
        if (out.stream)
            fflush(stdout); /* the steps so far, before the message */
        status = cli_fail("run", rc);
    } else if (o.json && !out.out_errno) {
        json_t *j = result_json(&o, slm, llm, res);
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
        json_decref(j);
        if (!s) {
            fprintf(stderr, "glimp run: out of memory for the JSON result\n");
            status = 1;
        } else {
            fputs(s, stdout);
            putchar('\n');
            out_ok(&out);
            free(s);
        }
    } else if (!out.out_errno) {
        out.slm = slm;
        out.llm = llm;
        print_result(&out, res);
    }
    if (status == 0 && out.out_errno) {
        fprintf(stderr, "glimp run: writing the output: %s\n", strerror(out.out_errno));
        status = 1;
    }
    errno = 0;
    if (out.trace && fclose(out.trace) != 0 && !out.trace_errno)
        out.trace_errno = errno ? errno : EIO;
    if (status == 0 && out.trace_errno) {
        fprintf(stderr, "glimp run: writing the trace %s: %s\n", o.trace,
                strerror(out.trace_errno));
        status = 1;
    }
    if (status == 0 && interrupted)
        status = 130;

    glimp_router_result_free(res);
    glimp_backend_free(llm);
    glimp_backend_free(slm);
    free(file_text);
    return status;
}
