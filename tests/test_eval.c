/* test_eval.c - the eval run as a library call (glimp_eval_run) on the
 * fixture of tests/data and two random-weight models: progress once a
 * problem, records read back and written again byte for byte (record.c),
 * a run stopped after k problems and resumed equals an unbroken one,
 * share=auto, a torn last line, refusals; and the version macros. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/record.h"
#include "glimp_eval.h"
#include "glimp_testmodel.h"
#include "testutil.h"

#define FIXTURE GLIMP_TEST_DATA "/eval-fixture.jsonl"
#define N_PROBLEMS 5

static struct glimp_backend *slm, *llm;
static struct glimp_dataset *data;

static void write_model(const char *path, uint32_t layers, uint32_t embd, uint64_t seed)
{
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.n_layer = layers;
    p.n_embd = embd;
    p.n_ff = embd * 3;
    p.seed = seed;
    p.tied_output = false;
    if (glimp_testmodel_write(&p, path) != GLIMP_OK)
        fail_msg("write %s: %s", path, glimp_last_error());
}

static int setup(void **state)
{
    (void)state;
    char s[512], l[512];
    snprintf(s, sizeof s, "%s", tu_tmp_path("slm.gguf"));
    snprintf(l, sizeof l, "%s", tu_tmp_path("llm.gguf"));
    write_model(s, 2, 64, 1);
    write_model(l, 3, 96, 2);
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_threads = 2;
    if (glimp_backend_local_open(s, &mp, &slm) != GLIMP_OK ||
        glimp_backend_local_open(l, &mp, &llm) != GLIMP_OK ||
        glimp_dataset_load(FIXTURE, true, NULL, NULL, &data) != GLIMP_OK)
        fail_msg("setup: %s", glimp_last_error());
    assert_int_equal(data->n, N_PROBLEMS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    glimp_backend_free(slm);
    glimp_backend_free(llm);
    glimp_dataset_free(data);
    return 0;
}

/* What the callbacks saw. */
struct seen {
    size_t calls, stop_after; /* stop_after 0: never stop */
    size_t last_done;
    bool order_ok;
    char notes[1024];
};

static bool on_problem(const struct glimp_eval_progress *p, void *user)
{
    struct seen *s = user;
    s->calls++;
    s->order_ok = s->order_ok && p->done == s->last_done + 1 && p->problem < N_PROBLEMS &&
                  !strcmp(p->id, data->items[p->problem].id) &&
                  !strcmp(p->method, p->record->method) && p->run == p->record->run &&
                  p->correct == p->record->correct && p->latency_s == p->record->latency_s &&
                  p->done <= p->todo;
    s->last_done = p->done;
    return !s->stop_after || s->calls < s->stop_after;
}

static void on_note(const char *msg, void *user)
{
    struct seen *s = user;
    size_t n = strlen(s->notes);
    snprintf(s->notes + n, sizeof s->notes - n, "%s\n", msg);
}

/* One eval of specs into dir (under the scratch dir); the summary. */
static struct glimp_eval_summary *run_eval(const char *dir, const char *const *specs, size_t n,
                                           uint32_t runs, bool resume, struct seen *seen)
{
    struct glimp_router_params base = glimp_router_default_params();
    base.sampling.temperature = 0.0f;
    base.max_think = 24;
    base.max_step = 6;
    base.max_answer = 6;
    struct glimp_method m[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        if (glimp_method_parse(specs[i], &base, &m[i]) != GLIMP_OK)
            fail_msg("%s", glimp_last_error());
    struct glimp_eval_params p = glimp_eval_default_params();
    p.slm = slm;
    p.llm = llm;
    p.dataset = data;
    p.methods = m;
    p.n_methods = n;
    p.base = base;
    p.runs = runs;
    p.out_dir = dir;
    p.resume = resume;
    p.on_problem = on_problem;
    p.on_note = on_note;
    seen->order_ok = true;
    seen->last_done = 0;
    p.user = seen;
    struct glimp_eval_summary *s = NULL;
    if (glimp_eval_run(&p, &s) != GLIMP_OK)
        fail_msg("eval %s: %s", dir, glimp_last_error());
    return s;
}

static char *results_of(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    size_t size;
    return tu_read_file(path, &size);
}

/* The records of a file, each written again by record.c; with no_time
 * the timings are zeroed (what a resumed run may not reproduce). */
struct rewrite {
    char *text;
    size_t len, n;
    bool no_time;
    double glimp_share_sum; /* llm_share_steps of glimp:tau=1.0 */
    size_t glimp_n;
    double random_share;
};

static int rewrite_one(const struct glimp_eval_record *r, void *user)
{
    struct rewrite *w = user;
    struct glimp_eval_record c = *r;
    if (w->no_time)
        c.latency_s = c.ttft_s = c.slm_s = c.llm_s = c.sync_s = c.overhead_s = 0;
    char *line = NULL;
    assert_int_equal(ev_record_format(&c, &line), GLIMP_OK);
    size_t n = strlen(line);
    w->text = realloc(w->text, w->len + n + 1);
    memcpy(w->text + w->len, line, n + 1);
    w->len += n;
    w->n++;
    free(line);
    if (!strcmp(r->method, "glimp:tau=1.0")) {
        w->glimp_share_sum += r->llm_share_steps;
        w->glimp_n++;
    } else if (!strcmp(r->method, "random:share=auto")) {
        w->random_share = r->share;
    }
    return GLIMP_OK;
}

static struct rewrite rewrite_file(const char *dir, bool no_time)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    struct rewrite w = {.no_time = no_time};
    if (glimp_eval_records_read(path, rewrite_one, &w) != GLIMP_OK)
        fail_msg("%s", glimp_last_error());
    return w;
}

/* Progress once a problem; the file read back and written again is the
 * same bytes; share=auto takes the glimp method's measured share. */
static void test_run_progress_roundtrip(void **state)
{
    (void)state;
    const char *specs[] = {"slm", "glimp:tau=1.0", "random:share=auto"};
    const char *dir = tu_tmp_path("whole");
    struct seen seen = {0};
    struct glimp_eval_summary *s = run_eval(dir, specs, 3, 2, false, &seen);
    size_t total = 3 * 2 * N_PROBLEMS;
    assert_int_equal(seen.calls, total);
    assert_true(seen.order_ok);
    assert_int_equal(s->finished, total);
    assert_int_equal(s->skipped, 0);
    assert_false(s->stopped);
    assert_int_equal(s->n_methods, 3);
    assert_int_equal(s->n_problems, N_PROBLEMS);

    char *text = results_of(dir);
    struct rewrite w = rewrite_file(dir, false);
    assert_int_equal(w.n, total);
    assert_string_equal(w.text, text);

    /* share=auto: the mean LLM share of glimp:tau=1.0's records */
    assert_int_equal(w.glimp_n, 2 * N_PROBLEMS);
    double share = w.glimp_share_sum / (double)w.glimp_n;
    assert_true(fabs(s->methods[2].method.params.share - share) < 1e-12);
    assert_true(fabs(s->methods[1].llm_share_steps - share) < 1e-12);
    assert_true(fabs(w.random_share - share) < 1e-12);
    assert_true(s->methods[2].method.share_auto);
    assert_int_equal(s->methods[0].n_results, 2 * N_PROBLEMS);

    /* the report reads what the run wrote */
    assert_int_equal(glimp_eval_report(dir), GLIMP_OK);
    free(w.text);
    free(text);
    glimp_eval_summary_free(s);
}

/* The step writers of random:share=0.4, run by run, one letter a step. */
struct run_writers {
    char w[2][512];
    size_t n[2];
};

static int collect_random(const struct glimp_eval_record *r, void *user)
{
    struct run_writers *rw = user;
    if (strcmp(r->method, "random:share=0.4") != 0 || r->run > 1)
        return GLIMP_OK;
    for (size_t i = 0; i < r->n_steps && rw->n[r->run] + 1 < sizeof rw->w[0]; i++)
        rw->w[r->run][rw->n[r->run]++] = r->steps[i].writer[0];
    rw->w[r->run][rw->n[r->run]] = '\0';
    return GLIMP_OK;
}

/* Stopped by the callback after k problems, then resumed: the same
 * records, timings aside, in the same order, as an unbroken run. The
 * share policy and random routing carry state from problem to problem,
 * so this holds only when the replay is exact. */
static void test_resume_equals_unbroken(void **state)
{
    (void)state;
    const char *specs[] = {"glimp:share=0.4", "random:share=0.4", "llm"};
    const size_t total = 3 * 2 * N_PROBLEMS;
    struct seen whole = {0};
    glimp_eval_summary_free(run_eval(tu_tmp_path("r-whole"), specs, 3, 2, false, &whole));
    /* run k has seed S + k: random routing's coins differ between runs */
    char path[1024];
    snprintf(path, sizeof path, "%s/results.jsonl", tu_tmp_path("r-whole"));
    struct run_writers rw = {0};
    assert_int_equal(glimp_eval_records_read(path, collect_random, &rw), GLIMP_OK);
    print_message("random:share=0.4 writers: run 1 %s, run 2 %s\n", rw.w[0], rw.w[1]);
    assert_true(rw.n[0] > 0 && rw.n[1] > 0);
    assert_true(strcmp(rw.w[0], rw.w[1]) != 0);
    for (size_t k = 3; k <= 13; k += 5) {
        char name[32];
        snprintf(name, sizeof name, "r-cut%zu", k);
        const char *dir = tu_tmp_path(name);
        struct seen cut = {.stop_after = k};
        struct glimp_eval_summary *s = run_eval(dir, specs, 3, 2, false, &cut);
        assert_true(s->stopped);
        assert_int_equal(s->finished, k);
        assert_int_equal(cut.calls, k);
        glimp_eval_summary_free(s);

        struct seen rest = {0};
        s = run_eval(dir, specs, 3, 2, true, &rest);
        assert_false(s->stopped);
        assert_int_equal(s->finished, total - k);
        assert_int_equal(rest.calls, total - k);
        assert_int_equal(s->skipped, k);
        assert_true(rest.order_ok);
        assert_null(strstr(rest.notes, "another writer"));
        glimp_eval_summary_free(s);

        struct rewrite a = rewrite_file(tu_tmp_path("r-whole"), true);
        struct rewrite b = rewrite_file(dir, true);
        assert_int_equal(a.n, total);
        assert_string_equal(a.text, b.text);
        free(a.text);
        free(b.text);
    }
}

/* A line torn by a kill is cut off on resume and its problem run again. */
static void test_resume_cuts_torn_line(void **state)
{
    (void)state;
    const char *specs[] = {"slm"};
    const char *dir = tu_tmp_path("torn");
    struct seen a = {.stop_after = 2};
    glimp_eval_summary_free(run_eval(dir, specs, 1, 1, false, &a));
    char path[1024];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs("{\"method\":\"slm\",\"ru", f);
    fclose(f);
    struct seen b = {0};
    struct glimp_eval_summary *s = run_eval(dir, specs, 1, 1, true, &b);
    assert_non_null(strstr(b.notes, "cutting off a torn last line (19 bytes)"));
    assert_int_equal(s->finished, N_PROBLEMS - 2);
    struct rewrite w = rewrite_file(dir, false);
    assert_int_equal(w.n, N_PROBLEMS);
    free(w.text);
    glimp_eval_summary_free(s);
}

static void test_refusals(void **state)
{
    (void)state;
    struct glimp_method m;
    assert_int_equal(glimp_method_parse("random:share=auto", NULL, &m), GLIMP_OK);
    struct glimp_eval_params p = glimp_eval_default_params();
    p.slm = slm;
    p.llm = llm;
    p.dataset = data;
    p.methods = &m;
    p.n_methods = 1;
    p.out_dir = tu_tmp_path("refuse");
    struct glimp_eval_summary *s = NULL;
    /* share=auto with no glimp method before it */
    assert_int_equal(glimp_eval_run(&p, &s), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "no glimp method has measured a share"));
    assert_null(s);
    /* results.jsonl is there now (empty): without resume it is kept */
    assert_int_equal(glimp_method_parse("slm", NULL, &m), GLIMP_OK);
    assert_int_equal(glimp_eval_run(&p, &s), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "exists"));
    /* a method twice */
    struct glimp_method two[2] = {m, m};
    p.methods = two;
    p.n_methods = 2;
    p.resume = true;
    assert_int_equal(glimp_eval_run(&p, &s), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "given twice"));
    p.n_methods = 0;
    assert_int_equal(glimp_eval_run(&p, &s), GLIMP_ERR_INVALID);
}

/* Infinities and NaN in a record: written as "inf", "-inf" and null, read
 * back as they were. */
static int keep_first(const struct glimp_eval_record *r, void *user)
{
    struct glimp_eval_record *out = user;
    *out = *r;
    out->n_steps = 0;
    if (r->n_steps == 1) {
        static struct glimp_eval_step st;
        st = r->steps[0];
        out->steps = &st;
        out->n_steps = 1;
    }
    out->method = out->id = out->policy = out->signal = out->think_end = out->extracted = NULL;
    return GLIMP_OK;
}

static void test_record_infinities(void **state)
{
    (void)state;
    struct glimp_eval_step st = {
        .writer = "llm", .h_init = INFINITY, .signal = -INFINITY, .easy = -1, .n_tokens = 3};
    struct glimp_eval_record rec = {.method = "glimp:tau=-inf",
                                    .id = "p1",
                                    .policy = "glimp",
                                    .signal = "hinit",
                                    .tau = -INFINITY,
                                    .share = NAN,
                                    .latency_s = 0.5,
                                    .ttft_s = NAN,
                                    .llm_share_steps = 1.0,
                                    .llm_share_tokens = 1.0,
                                    .think_end = "",
                                    .steps = &st,
                                    .n_steps = 1};
    char *line = NULL;
    assert_int_equal(ev_record_format(&rec, &line), GLIMP_OK);
    assert_non_null(strstr(line, "\"tau\":\"-inf\""));
    const char *path = tu_tmp_path("inf.jsonl");
    tu_write_file(path, line, strlen(line));
    free(line);
    struct glimp_eval_record back;
    memset(&back, 0, sizeof back);
    assert_int_equal(glimp_eval_records_read(path, keep_first, &back), GLIMP_OK);
    assert_true(back.tau == -INFINITY);
    assert_true(isnan(back.ttft_s));
    assert_int_equal(back.n_steps, 1);
    assert_true(back.steps[0].h_init == INFINITY);
    assert_true(back.steps[0].signal == -INFINITY);
    assert_string_equal(back.steps[0].writer, "llm");
}

/* A line that is not a record: named, with its number. */
static void test_records_read_bad_line(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("bad.jsonl");
    const char text[] = "\n{\"method\":\"slm\",\"run\":0}\n";
    tu_write_file(path, text, sizeof text - 1);
    struct rewrite w = {0};
    assert_int_equal(glimp_eval_records_read(path, rewrite_one, &w), GLIMP_ERR_FORMAT);
    assert_non_null(strstr(glimp_last_error(), "bad.jsonl:2: not a result line"));
    assert_int_equal(w.n, 0);
}

static void test_version(void **state)
{
    (void)state;
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", GLIMP_VERSION_MAJOR, GLIMP_VERSION_MINOR,
             GLIMP_VERSION_PATCH);
    assert_string_equal(v, GLIMP_VERSION_STRING);
    assert_string_equal(glimp_version(), GLIMP_VERSION_STRING);
    assert_string_equal(GLIMP_PROJECT_VERSION, GLIMP_VERSION_STRING); /* CMakeLists.txt */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_records_read_bad_line),
        cmocka_unit_test(test_record_infinities),
        cmocka_unit_test(test_run_progress_roundtrip),
        cmocka_unit_test(test_resume_equals_unbroken),
        cmocka_unit_test(test_resume_cuts_torn_line),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
