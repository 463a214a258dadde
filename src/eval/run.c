/* run.c - glimp_eval_run: every problem of a dataset through the router
 * with each method and run, one record a problem appended to
 * results.jsonl as it finishes, so that a run stopped anywhere resumes
 * where it was and routes what is left as the unbroken run would have. */
#include "eval/record.h"

#include "core/error.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One method as the run goes: its spec and the share it measured. */
struct ev_method {
    struct glimp_method m;
    double share_sum; /* llm_share_steps over finished problems */
    uint32_t share_n;
    size_t n_results, n_correct;
    bool matched_added;
    bool label; /* label steps of this method's runs */
};

/* The recorded steps of a share or random method's run, to replay. */
struct ev_replay {
    double *sig;
    char (*w)[8];
    size_t n, cap;
};

struct ev_run {
    const struct glimp_eval_params *p;
    struct ev_method *methods;
    size_t n_methods;
    size_t n_problems;
    json_t *done;   /* "spec|run|id" -> true for records already in results.jsonl */
    json_t *replay; /* "spec|run|" -> index into replays */
    struct ev_replay *replays;
    size_t n_replays;
    FILE *results;
    char results_path[4096];
    size_t total, finished, skipped;
    double t_busy;
    bool stopped;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void note(const struct ev_run *er, const char *fmt, ...) GLIMP_PRINTF(2, 3);
static void note(const struct ev_run *er, const char *fmt, ...)
{
    if (!er->p->on_note)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    er->p->on_note(msg, er->p->user);
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

static struct ev_method *find_method(struct ev_run *er, const char *spec)
{
    for (size_t i = 0; i < er->n_methods; i++)
        if (!strcmp(er->methods[i].m.spec, spec))
            return &er->methods[i];
    return NULL;
}

static int nomem(void)
{
    return glimp_error(GLIMP_ERR_NOMEM, "eval: out of memory");
}

/* The replay list of (spec, run), made when make is set; NULL when none. */
static struct ev_replay *replay_of(struct ev_run *er, const char *spec, uint32_t run, bool make)
{
    char *k = done_key(spec, run, "");
    if (!k)
        return NULL;
    json_t *at = json_object_get(er->replay, k);
    struct ev_replay *r = NULL;
    if (at) {
        r = &er->replays[json_integer_value(at)];
    } else if (make) {
        struct ev_replay *v = realloc(er->replays, (er->n_replays + 1) * sizeof *v);
        if (v) {
            er->replays = v;
            r = &v[er->n_replays];
            memset(r, 0, sizeof *r);
            if (json_object_set_new(er->replay, k, json_integer((json_int_t)er->n_replays)) == 0)
                er->n_replays++;
            else
                r = NULL;
        }
    }
    free(k);
    return r;
}

/* The steps of a share or random policy's record, kept to be replayed into
 * the policy's state before its run goes on (see replay_steps). */
static int keep_replay(struct ev_run *er, const struct glimp_eval_record *rec)
{
    struct ev_replay *r = replay_of(er, rec->method, rec->run, true);
    if (!r)
        return nomem();
    if (r->n + rec->n_steps > r->cap) {
        size_t cap = r->cap ? r->cap : 64;
        while (cap < r->n + rec->n_steps)
            cap *= 2;
        double *sig = realloc(r->sig, cap * sizeof *sig);
        if (sig)
            r->sig = sig;
        char(*w)[8] = realloc(r->w, cap * sizeof *w);
        if (w)
            r->w = w;
        if (!sig || !w)
            return nomem();
        r->cap = cap;
    }
    for (size_t i = 0; i < rec->n_steps; i++) {
        r->sig[r->n] = rec->steps[i].signal;
        memcpy(r->w[r->n], rec->steps[i].writer, sizeof r->w[r->n]);
        r->n++;
    }
    return GLIMP_OK;
}

/* The share policy ranks each step's signal among all the run's earlier
 * ones, and random routing's coins follow on from theirs: before a resumed
 * run goes on, the steps already recorded go through its state in their
 * order, so that it routes what is left as the unbroken run would have. A
 * step the replay routes otherwise than recorded (a record from another
 * version, say) is counted and noted. */
static void replay_steps(struct ev_run *er, const char *spec, uint32_t run,
                         struct glimp_policy_state *ps)
{
    const struct ev_replay *r = replay_of(er, spec, run, false);
    size_t differ = 0;
    for (size_t i = 0; r && i < r->n; i++) {
        enum glimp_writer w = glimp_policy_state_replay(ps, r->sig[i]);
        if (strcmp(r->w[i], glimp_writer_name(w)) != 0)
            differ++;
    }
    if (differ)
        note(er,
             "%s, run %u: replaying %zu recorded steps, the policy chose another writer at %zu; "
             "what is left may route otherwise than in an unbroken run",
             spec, run + 1, r->n, differ);
}

static void on_bad_record(size_t line, const char *why, void *user)
{
    (void)why;
    const struct ev_run *er = user;
    note(er, "%s:%zu: not a result line; it stays but is not counted", er->results_path, line);
}

static int on_done_record(const struct glimp_eval_record *rec, void *user)
{
    struct ev_run *er = user;
    char *k = done_key(rec->method, rec->run, rec->id);
    if (!k || json_object_set_new(er->done, k, json_true()) != 0) {
        free(k);
        return nomem();
    }
    free(k);
    if (!strcmp(rec->policy, "share") || !strcmp(rec->policy, "random")) {
        int rc = keep_replay(er, rec);
        if (rc != GLIMP_OK)
            return rc;
    }
    struct ev_method *m = find_method(er, rec->method);
    if (m) {
        m->n_results++;
        m->n_correct += rec->correct;
        if (!isnan(rec->llm_share_steps)) {
            m->share_sum += rec->llm_share_steps;
            m->share_n++;
        }
    }
    return GLIMP_OK;
}

/* Read what an earlier run left in results.jsonl: which problems are done,
 * the steps to replay and the shares measured. A torn last line (the
 * process was killed while writing it) is cut off. */
static int load_done(struct ev_run *er)
{
    if (access(er->results_path, F_OK) != 0)
        return errno == ENOENT
                   ? GLIMP_OK
                   : glimp_error(GLIMP_ERR_IO, "%s: %s", er->results_path, strerror(errno));
    struct ev_read_opts o = {.on_bad = on_bad_record, .tail_is_line = false};
    size_t complete, torn;
    int rc = ev_records_read(er->results_path, &o, on_done_record, er, &complete, &torn);
    if (rc != GLIMP_OK || torn == 0)
        return rc;
    note(er, "%s: cutting off a torn last line (%zu bytes)", er->results_path, torn);
    if (truncate(er->results_path, (off_t)complete) != 0)
        return glimp_error(GLIMP_ERR_IO, "%s: %s", er->results_path, strerror(errno));
    return GLIMP_OK;
}

/* After a glimp:tau method: the matched-share comparison at its share. */
static int add_matched(struct ev_run *er, struct ev_method *em)
{
    em->matched_added = true;
    if (em->share_n == 0)
        return GLIMP_OK;
    double s = em->share_sum / em->share_n;
    const char *head[] = {"random:", "glimp:signal=hstep,", "glimp:signal=ppl,"};
    for (size_t i = 0; i < 3; i++) {
        char spec[96];
        snprintf(spec, sizeof spec, "%sshare=%.3f", head[i], s);
        if (find_method(er, spec))
            continue;
        if (er->n_methods == GLIMP_EVAL_MAX_METHODS)
            return glimp_error(GLIMP_ERR_RANGE, "more than %d methods", GLIMP_EVAL_MAX_METHODS);
        struct ev_method *nm = &er->methods[er->n_methods];
        memset(nm, 0, sizeof *nm);
        int rc = glimp_method_parse(spec, &er->p->base, &nm->m);
        if (rc != GLIMP_OK)
            return rc;
        er->n_methods++;
    }
    return GLIMP_OK;
}

/* One problem of a method's run: route it, score it, append its record. */
static int run_problem(struct ev_run *er, struct ev_method *em,
                       const struct glimp_router_params *rp, uint32_t run, size_t i)
{
    const struct glimp_eval_params *p = er->p;
    const struct glimp_problem *pb = &p->dataset->items[i];
    char *prompt = NULL;
    int rc = glimp_problem_prompt(pb, p->prompt_template, &prompt);
    if (rc != GLIMP_OK)
        return rc;
    struct glimp_router_result *r = NULL;
    double t0 = now();
    rc = glimp_router_run(p->slm, p->llm, prompt, rp, &r);
    free(prompt);
    if (rc != GLIMP_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", glimp_last_error());
        return glimp_error(rc, "%s, problem %s (line %u): %s", em->m.spec, pb->id, pb->line, why);
    }
    if (r->summary.stopped) { /* interrupted: not a result */
        glimp_router_result_free(r);
        er->stopped = true;
        return GLIMP_OK;
    }
    char *extracted = NULL, *line = NULL;
    bool correct = glimp_answer_correct(pb, r->answer, &extracted);
    struct glimp_eval_step *steps = calloc(r->n_steps ? r->n_steps : 1, sizeof *steps);
    struct glimp_eval_record rec;
    if (!steps)
        rc = nomem();
    if (rc == GLIMP_OK) {
        ev_record_make(&rec, &em->m, run, pb, correct, extracted, r, steps);
        rc = ev_record_format(&rec, &line);
    }
    if (rc == GLIMP_OK && (fputs(line, er->results) < 0 || fflush(er->results) != 0))
        rc = glimp_error(GLIMP_ERR_IO, "writing %s: %s", er->results_path, strerror(errno));
    if (rc == GLIMP_OK) {
        em->share_sum += r->summary.llm_share_steps;
        em->share_n++;
        em->n_results++;
        em->n_correct += correct;
        er->finished++;
        er->t_busy += now() - t0;
        struct glimp_eval_progress pr = {
            .method = em->m.spec,
            .run = run,
            .problem = i,
            .id = pb->id,
            .correct = correct,
            .latency_s = r->summary.wall_s,
            .done = er->finished,
            .todo = er->total - er->skipped,
            .busy_s = er->t_busy,
            .record = &rec,
        };
        if (p->on_problem && !p->on_problem(&pr, p->user))
            er->stopped = true;
    }
    free(line);
    free(steps);
    free(extracted);
    glimp_router_result_free(r);
    return rc;
}

/* One run of a method over the problems not done yet, with the run's
 * params (its seed set) and policy state. */
static int run_problems(struct ev_run *er, struct ev_method *em,
                        const struct glimp_router_params *rp, uint32_t run,
                        struct glimp_policy_state *ps)
{
    for (size_t i = 0; i < er->n_problems && !er->stopped; i++) {
        char *key = done_key(em->m.spec, run, er->p->dataset->items[i].id);
        if (!key)
            return nomem();
        bool done = json_object_get(er->done, key) != NULL;
        free(key);
        if (done)
            continue;
        if (er->p->cancel && *er->p->cancel) {
            er->stopped = true;
            break;
        }
        struct glimp_router_params p = *rp;
        p.cancel = er->p->cancel;
        p.label_steps = em->label;
        p.policy_state = ps;
        int rc = run_problem(er, em, &p, run, i);
        if (rc != GLIMP_OK)
            return rc;
    }
    return GLIMP_OK;
}

static int run_method(struct ev_run *er, size_t mi)
{
    struct ev_method *em = &er->methods[mi];
    if (em->m.share_auto) {
        /* the share the first glimp method measured */
        struct ev_method *g = NULL;
        for (size_t i = 0; i < er->n_methods && !g; i++)
            if (is_glimp_family(&er->methods[i].m) && er->methods[i].share_n)
                g = &er->methods[i];
        if (!g)
            return glimp_error(GLIMP_ERR_INVALID,
                               "%s: no glimp method has measured a share before it", em->m.spec);
        em->m.params.share = g->share_sum / g->share_n;
    }
    for (uint32_t run = 0; run < er->p->runs && !er->stopped; run++) {
        /* Run k has seed S + k. Its problems share one policy state: the
         * share policy tracks its quantile over all of them, and random
         * routing draws its coins from one stream (a stream seeded afresh
         * for each problem would flip the same coins on every problem). */
        struct glimp_router_params rp = em->m.params;
        rp.seed = er->p->base.seed + run;
        struct glimp_policy_state *ps = NULL;
        int rc = glimp_policy_state_init(&rp, &ps);
        if (rc != GLIMP_OK)
            return rc;
        replay_steps(er, em->m.spec, run, ps);
        rc = run_problems(er, em, &rp, run, ps);
        glimp_policy_state_free(ps);
        if (rc != GLIMP_OK)
            return rc;
    }
    return GLIMP_OK;
}

/* How many (method, run, problem) were done before this call began. */
static size_t count_done(struct ev_run *er)
{
    size_t n = 0;
    for (size_t mi = 0; mi < er->n_methods; mi++)
        for (uint32_t run = 0; run < er->p->runs; run++)
            for (size_t i = 0; i < er->n_problems; i++) {
                char *k = done_key(er->methods[mi].m.spec, run, er->p->dataset->items[i].id);
                n += k && json_object_get(er->done, k);
                free(k);
            }
    return n;
}

struct glimp_eval_params glimp_eval_default_params(void)
{
    return (struct glimp_eval_params){
        .base = glimp_router_default_params(),
        .runs = 1,
        .label_steps = true,
    };
}

static int check_params(const struct glimp_eval_params *p)
{
    if (!p->slm || !p->llm)
        return glimp_error(GLIMP_ERR_INVALID, "eval: slm and llm are required");
    if (!p->dataset || p->dataset->n == 0)
        return glimp_error(GLIMP_ERR_INVALID, "eval: no dataset, or one without problems");
    if (!p->methods || p->n_methods == 0)
        return glimp_error(GLIMP_ERR_INVALID, "eval: no methods");
    if (p->n_methods > GLIMP_EVAL_MAX_METHODS)
        return glimp_error(GLIMP_ERR_RANGE, "more than %d methods", GLIMP_EVAL_MAX_METHODS);
    if (p->runs == 0)
        return glimp_error(GLIMP_ERR_INVALID, "eval: runs is 0");
    if (!p->out_dir || !*p->out_dir)
        return glimp_error(GLIMP_ERR_INVALID, "eval: no out_dir");
    for (size_t i = 0; i < p->n_methods; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(p->methods[i].spec, p->methods[j].spec))
                return glimp_error(GLIMP_ERR_INVALID, "method '%s' given twice",
                                   p->methods[i].spec);
    return GLIMP_OK;
}

static int make_summary(const struct ev_run *er, struct glimp_eval_summary **out)
{
    struct glimp_eval_summary *s = calloc(1, sizeof *s);
    struct glimp_eval_method_summary *m = calloc(er->n_methods, sizeof *m);
    if (!s || !m) {
        free(s);
        free(m);
        return nomem();
    }
    for (size_t i = 0; i < er->n_methods; i++) {
        const struct ev_method *em = &er->methods[i];
        m[i] = (struct glimp_eval_method_summary){
            .method = em->m,
            .n_results = em->n_results,
            .n_correct = em->n_correct,
            .llm_share_steps = em->share_n ? em->share_sum / em->share_n : NAN,
        };
    }
    s->methods = m;
    s->n_methods = er->n_methods;
    s->n_problems = er->n_problems;
    s->finished = er->finished;
    s->skipped = er->skipped;
    s->stopped = er->stopped;
    *out = s;
    return GLIMP_OK;
}

int glimp_eval_run(const struct glimp_eval_params *p, struct glimp_eval_summary **out)
{
    if (!p || !out)
        return glimp_error(GLIMP_ERR_INVALID, "eval: params or out is NULL");
    *out = NULL;
    int rc = check_params(p);
    if (rc != GLIMP_OK)
        return rc;
    struct ev_run *er = calloc(1, sizeof *er);
    if (!er)
        return nomem();
    er->p = p;
    er->methods = calloc(GLIMP_EVAL_MAX_METHODS, sizeof *er->methods);
    er->done = json_object();
    er->replay = json_object();
    if (!er->methods || !er->done || !er->replay)
        rc = nomem();
    for (size_t i = 0; rc == GLIMP_OK && i < p->n_methods; i++)
        er->methods[er->n_methods++].m = p->methods[i];
    /* the steps of the first glimp method are labelled easy or hard */
    for (size_t i = 0; rc == GLIMP_OK && i < er->n_methods && p->label_steps; i++) {
        if (is_glimp_family(&er->methods[i].m)) {
            er->methods[i].label = true;
            break;
        }
    }
    er->n_problems = p->limit && p->limit < p->dataset->n ? p->limit : p->dataset->n;
    int len = snprintf(er->results_path, sizeof er->results_path, "%s/results.jsonl", p->out_dir);
    if (rc == GLIMP_OK && (len < 0 || (size_t)len >= sizeof er->results_path))
        rc = glimp_error(GLIMP_ERR_INVALID, "eval: out_dir too long");
    if (rc == GLIMP_OK && mkdir(p->out_dir, 0777) != 0 && errno != EEXIST)
        rc = glimp_error(GLIMP_ERR_IO, "cannot create %s: %s", p->out_dir, strerror(errno));
    if (rc == GLIMP_OK && !p->resume && access(er->results_path, F_OK) == 0)
        rc = glimp_error(GLIMP_ERR_INVALID,
                         "%s exists: resume to continue it, or choose another out_dir",
                         er->results_path);
    if (rc == GLIMP_OK && p->resume)
        rc = load_done(er);
    if (rc == GLIMP_OK && !(er->results = fopen(er->results_path, "ab")))
        rc = glimp_error(GLIMP_ERR_IO, "cannot open %s: %s", er->results_path, strerror(errno));
    for (size_t mi = 0; rc == GLIMP_OK && mi < er->n_methods && !er->stopped; mi++) {
        er->total = er->n_methods * er->n_problems * p->runs;
        er->skipped = count_done(er);
        rc = run_method(er, mi);
        struct ev_method *em = &er->methods[mi];
        if (rc == GLIMP_OK && !er->stopped && p->matched &&
            em->m.params.policy == GLIMP_POLICY_GLIMP &&
            em->m.params.signal == GLIMP_SIGNAL_HINIT && em->m.params.glimpse == 1 &&
            !em->matched_added)
            rc = add_matched(er, em);
    }
    if (er->results && fclose(er->results) != 0 && rc == GLIMP_OK)
        rc = glimp_error(GLIMP_ERR_IO, "closing %s: %s", er->results_path, strerror(errno));
    if (rc == GLIMP_OK)
        rc = make_summary(er, out);
    json_decref(er->done);
    json_decref(er->replay);
    for (size_t i = 0; i < er->n_replays; i++) {
        free(er->replays[i].sig);
        free(er->replays[i].w);
    }
    free(er->replays);
    free(er->methods);
    free(er);
    return rc;
}

void glimp_eval_summary_free(struct glimp_eval_summary *s)
{
    if (!s)
        return;
    free(s->methods);
    free(s);
}
