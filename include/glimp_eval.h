/* glimp_eval.h - the evaluation library of libglimp: benchmark problems
 * from JSONL, answer scoring, method specs, the eval run (every problem
 * through the router with each method and run, one record a problem
 * appended to OUT/results.jsonl, resumable) and its report. Builds on
 * glimp.h (backends, the router). */
#ifndef GLIMP_EVAL_H
#define GLIMP_EVAL_H

#include "glimp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- problems */

enum glimp_problem_type { GLIMP_PROBLEM_MATH = 0, GLIMP_PROBLEM_CHOICE = 1 };

/* One benchmark problem, from a JSONL line:
 *   {"id": "...", "problem": "...", "answer": "...", "type": "math"|"choice",
 *    "choices": ["...", ...]}
 * id may be a string or a number; type defaults to math; a choice problem
 * needs 2 to 26 choices, lettered A, B, ... */
struct glimp_problem {
    char *id;
    char *problem;
    char *answer;
    enum glimp_problem_type type;
    char **choices;
    size_t n_choices;
    uint32_t line; /* where it came from, 1-based */
};

struct glimp_dataset {
    struct glimp_problem *items;
    size_t n;
};

/* Called for each line that cannot be used (bad JSON, a missing or wrong
 * field, a duplicate id), with its 1-based number and what is wrong. */
typedef void (*glimp_bad_line_cb)(uint32_t line, const char *message, void *user);

/* Read a JSONL file. Blank lines are skipped. A bad line goes to on_bad
 * (may be NULL) and is skipped, or with strict is an error
 * (GLIMP_ERR_FORMAT, "data.jsonl:12: ..."). GLIMP_ERR_IO when the file
 * cannot be read, GLIMP_ERR_FORMAT when no problem is left. */
GLIMP_API int glimp_dataset_load(const char *path, bool strict, glimp_bad_line_cb on_bad,
                                 void *user, struct glimp_dataset **out);
GLIMP_API void glimp_dataset_free(struct glimp_dataset *d); /* accepts NULL */

/* The prompt for a problem: tmpl NULL gives the default for its type (math:
 * reason step by step, separate steps with a blank line, final answer in
 * \boxed{}; choice: the lettered choices, the letter in \boxed{}). A custom
 * template replaces {problem} and {choices} (the lettered list); other
 * text stays as it is. Malloc'ed. */
GLIMP_API int glimp_problem_prompt(const struct glimp_problem *p, const char *tmpl, char **out);

/* Score a response: the last \boxed{...} against the reference answer
 * (normalised, numbers compared by value; a letter for choice problems).
 * *extracted (may be NULL) gets the boxed text, malloc'ed, or NULL when
 * there is none. */
GLIMP_API bool glimp_answer_correct(const struct glimp_problem *p, const char *response,
                                    char **extracted);

/* A method: a router configuration named by a spec such as "slm", "llm",
 * "random:share=0.25", "glimp:tau=1.0", "glimp:share=0.25" (the share
 * policy), "glimp:signal=hstep,share=0.25", "glimp:glimpse=4,tau=0.8",
 * "glimp:instance,z=1.0,k=4", "specreason:threshold=7", any of them with
 * ",draft=3", ",segment=line" or, last (the pattern takes the rest of the
 * spec, commas included), ",segment=marker:REGEX"; share=auto (random, or
 * glimp with any signal) takes the share that an earlier glimp method
 * measured. Spaces are removed: write \x20 or \s for one in a pattern. */
struct glimp_method {
    char spec[128];                    /* as given, spaces removed */
    struct glimp_router_params params; /* base params with the spec applied */
    bool share_auto;                   /* share=auto */
};

/* Parse spec over base (p NULL: defaults). GLIMP_ERR_INVALID naming the
 * bad part ("method 'glimp:tua=1': unknown key 'tua'"). */
GLIMP_API int glimp_method_parse(const char *spec, const struct glimp_router_params *base,
                                 struct glimp_method *out);

/* Expand a sweep, "tau=A:B:STEP" or "share=A:B:STEP", into the methods
 * "glimp:tau=X" (or "glimp:share=X", the share policy) for X = A, A+STEP,
 * ..., B (at most 100), each followed by ",WITH" when with is not NULL
 * (more settings: "signal=hstep", "glimpse=4,segment=line"), parsed over
 * base into out[0], out[1], ... (cap entries); *n grows by the number
 * written. GLIMP_ERR_INVALID naming the sweep or the method. */
GLIMP_API int glimp_method_sweep(const char *sweep, const char *with,
                                 const struct glimp_router_params *base, struct glimp_method *out,
                                 size_t cap, size_t *n);

/* ----------------------------------------------------------------- records */

/* One thinking step of a record. */
struct glimp_eval_step {
    char writer[8]; /* "slm" or "llm" as recorded; "" when missing */
    double h_init;  /* the SLM's first-token entropy (nats); NaN when not computed */
    double signal;  /* what the policy compared; NaN when none */
    int easy;       /* 1 easy, 0 hard, -1 unlabelled (glimp_step_event.easy) */
    uint32_t n_tokens;
    bool rewritten;
    const char *text; /* the step's text (text_len bytes, any bytes); NULL when not recorded */
    size_t text_len;
};

/* One line of results.jsonl: one problem run by one method in one run. A
 * line is a JSON object with these fields under these names (steps: "w",
 * "h", "sig", "easy", "n", "rw", "t" for the text; "expected" for the
 * reference answer; the text and the answer are left out when NULL, and
 * read as NULL from older lines without them); a number that is not finite is written
 * as null (NaN) or "inf"/"-inf". The strings and steps belong to whoever
 * made the record (for glimp_eval_records_read: valid during the call). */
struct glimp_eval_record {
    const char *method; /* the method's spec */
    uint32_t run;       /* 0-based; run k has seed S + k */
    const char *id;     /* the problem's id */
    bool correct;
    const char *extracted; /* the last \boxed{} text; NULL when there is none */
    const char *policy;    /* glimp_policy_name; "" when missing */
    const char *signal;    /* glimp_signal_name; "" when missing */
    double tau;            /* NaN when missing; +-INFINITY */
    double share;          /* NaN when missing */
    uint32_t draft;
    double latency_s; /* end to end (the router's wall time) */
    double ttft_s;    /* NaN when no token was generated */
    uint32_t steps_slm, steps_llm;
    uint64_t tokens_slm, tokens_llm;
    double slm_s, llm_s, sync_s, overhead_s;
    double llm_share_steps, llm_share_tokens; /* NaN when missing */
    uint64_t draft_proposed, draft_accepted;
    uint32_t rewrites;
    const char *think_end;               /* glimp_think_end_name; "" when missing */
    const struct glimp_eval_step *steps; /* the thinking steps, in order */
    size_t n_steps;
    const char *expected; /* the problem's reference answer; NULL when not recorded */
    uint32_t line; /* 1-based line in the file read; 0 for a record not read */
};

/* Return 0 to go on; anything else stops the reading and is returned. */
typedef int (*glimp_eval_record_cb)(const struct glimp_eval_record *r, void *user);

/* Read a results.jsonl file and call fn with each record in file order
 * (blank lines are skipped; a last line without a newline is read too).
 * Stops at the first line that is not a record with GLIMP_ERR_FORMAT
 * naming it ("out/results.jsonl:7: not JSON: ..."; a record needs method,
 * run, id, correct and a finite latency_s); GLIMP_ERR_IO when the file
 * cannot be read. */
GLIMP_API int glimp_eval_records_read(const char *path, glimp_eval_record_cb fn, void *user);

/* ---------------------------------------------------------------- eval run */

/* After each problem: what was run and how it went. */
struct glimp_eval_progress {
    const char *method; /* the method's spec */
    uint32_t run;       /* 0-based */
    size_t problem;     /* index into the dataset */
    const char *id;     /* the problem's id */
    bool correct;
    double latency_s;                       /* the router's wall time for the problem */
    size_t done;                            /* problems this call has finished, this one included */
    size_t todo;                            /* problems this call has to run, as known now (matched
                                               methods, when added, add theirs) */
    double busy_s;                          /* seconds spent on the done ones: running, labelling,
                                               grading, writing */
    const struct glimp_eval_record *record; /* the line just appended */
};

/* Return false to stop after this problem (its record is kept); the run
 * then ends as after a cancel. Pointers are valid during the call. */
typedef bool (*glimp_eval_problem_cb)(const struct glimp_eval_progress *p, void *user);
/* Something a person may want to know that is not a failure: a torn last
 * line cut off, a record line not counted, a replay that routed otherwise
 * than recorded. One line of text, no newline; valid during the call. */
typedef void (*glimp_eval_note_cb)(const char *message, void *user);

struct glimp_eval_params {
    struct glimp_backend *slm, *llm;     /* required; the caller keeps them open */
    const struct glimp_dataset *dataset; /* required */
    size_t limit;                        /* only the first limit problems; 0: all */
    /* The methods, run in this order (copied in). At least one; specs must
     * differ. share=auto takes the mean LLM share of the first glimp-family
     * method (glimp, share, instance) that has measured one, records found
     * on resume included; GLIMP_ERR_INVALID when none has. */
    const struct glimp_method *methods;
    size_t n_methods; /* at most GLIMP_EVAL_MAX_METHODS with matched */
    /* What the methods were parsed over: budgets, sampling, chat, n_ctx;
     * the methods added by matched are parsed over it, and run k of every
     * method has seed base.seed + k. Default glimp_router_default_params(). */
    struct glimp_router_params base;
    uint32_t runs;       /* runs of every method; default 1 */
    const char *out_dir; /* required; results.jsonl goes here (made
                            when missing) */
    /* Keep out_dir/results.jsonl and run only what it lacks: a torn last line
     * is cut off, and the share policy's and random routing's state is
     * replayed from the recorded steps, so a resumed run routes as an
     * unbroken one. Without it an existing results.jsonl is an error
     * (GLIMP_ERR_INVALID). Default false. */
    bool resume;
    const char *prompt_template; /* glimp_problem_prompt's tmpl; NULL: default */
    /* Label the steps of the first glimp-family method easy or hard
     * (glimp_router_params.label_steps). Default true. */
    bool label_steps;
    /* After each glimp method on H_init alone (tau, glimpse 1): random,
     * glimp:signal=hstep and glimp:signal=ppl at the LLM share it measured,
     * added after it (the paper's matched-share ablation). Default false. */
    bool matched;
    /* Polled before each problem and between tokens; nonzero stops the run
     * cleanly (a problem cut short is not recorded). May be NULL. */
    const atomic_int *cancel;
    glimp_eval_problem_cb on_problem; /* may be NULL */
    glimp_eval_note_cb on_note;       /* may be NULL */
    void *user;
};

#define GLIMP_EVAL_MAX_METHODS 256

GLIMP_API struct glimp_eval_params glimp_eval_default_params(void);

struct glimp_eval_method_summary {
    struct glimp_method method; /* as run: share=auto resolved in params.share */
    size_t n_results;           /* its records: this call's and, for the methods
                                   given, those found on resume */
    size_t n_correct;
    double llm_share_steps; /* mean over those records; NaN when none */
};

struct glimp_eval_summary {
    struct glimp_eval_method_summary *methods; /* given ones, then matched ones */
    size_t n_methods;
    size_t n_problems; /* problems of the dataset used (limit applied) */
    size_t finished;   /* problems this call ran */
    size_t skipped;    /* (method, run, problem) found done in results.jsonl */
    bool stopped;      /* cancel or on_problem stopped it; resume goes on */
};

/* Run every problem with every method and run, in that order, through
 * glimp_router_run; score each answer and append its record to
 * out_dir/results.jsonl as it finishes, then call on_problem. Stopped by
 * cancel or on_problem, it returns GLIMP_OK with summary->stopped set.
 * Fails with GLIMP_ERR_INVALID for bad params (naming them), a router
 * error naming the method and problem, GLIMP_ERR_IO when results.jsonl
 * cannot be read or written; the records written stay. *out (freed with
 * glimp_eval_summary_free) is set on success only. The report is not
 * written: call glimp_eval_report(out_dir). */
GLIMP_API int glimp_eval_run(const struct glimp_eval_params *p, struct glimp_eval_summary **out);
GLIMP_API void glimp_eval_summary_free(struct glimp_eval_summary *s); /* accepts NULL */

/* -------------------------------------------------------------------- tune */

/* What a pilot's setting must meet (glimp tune --target). */
enum glimp_tune_goal {
    /* "accuracy:D": accuracy at least the LLM alone's + D points (D = -1:
     * within one point below it); the lowest mean latency among those */
    GLIMP_TUNE_ACCURACY = 0,
    /* "share:S": the LLM's mean share of the steps at most S; the best accuracy */
    GLIMP_TUNE_SHARE = 1,
    /* "latency:R": mean latency at most R x the LLM alone's; the best accuracy */
    GLIMP_TUNE_LATENCY = 2,
};

struct glimp_tune_target {
    enum glimp_tune_goal goal;
    double value;
};

/* "accuracy:-1", "share:0.3", "latency:0.6" into *t. GLIMP_ERR_INVALID
 * saying what is expected (share in [0, 1], latency > 0, accuracy in
 * [-100, 100]). */
GLIMP_API int glimp_tune_target_parse(const char *text, struct glimp_tune_target *t);

/* One method of a pilot as the target sees it, over its records (every run
 * and problem). */
struct glimp_tune_candidate {
    char method[128]; /* the spec */
    size_t n, n_correct;
    double accuracy;        /* n_correct / n */
    double acc_lo, acc_hi;  /* the 95% Wilson interval of accuracy */
    double llm_share;       /* mean LLM share of steps (records without one left out) */
    double latency_s;       /* mean latency */
    double lat_lo, lat_hi;  /* mean -+ 1.96 sd / sqrt(n) */
    double latency_ratio;   /* latency_s / the LLM alone's; NaN without it */
    bool meets;             /* meets the target */
};

/* What glimp_tune_pick found. The candidates are the glimp-family methods
 * (policy glimp, share or instance: what a profile can hold), in the order
 * they first appear; the LLM alone (method "llm", else the first method
 * with policy llm) is the reference, not a candidate.
 *
 * Ranking: among the candidates that meet the target, the accuracy goal
 * ranks by mean latency (lower first), the share and latency goals by
 * accuracy (higher first); ties go to higher accuracy, then lower latency,
 * then lower share, then the earlier method. chosen is the first,
 * runner_up the second (-1 when there is none).
 *
 * Telling them apart: the pilot tells the chosen from the runner-up when
 * the 95% intervals of what the ranking compares (accuracy: Wilson;
 * latency: normal) do not overlap; apart is false when they do (the pilot
 * is too small to say the choice is better than the runner-up), true when
 * there is no runner-up. */
struct glimp_tune_result {
    struct glimp_tune_candidate *cands;
    size_t n_cands;
    struct glimp_tune_candidate llm; /* the reference; llm.n 0 when there is none */
    long chosen, runner_up;          /* indexes into cands; -1: none */
    bool apart;
};

/* Read a results.jsonl (glimp_eval_records_read) and pick the setting that
 * meets t. Fails with GLIMP_ERR_INVALID when the goal needs the LLM alone
 * (accuracy, latency) and the file has none, or when there is no
 * candidate; the reader's errors otherwise. No candidate meeting the target
 * is a success with chosen -1. */
GLIMP_API int glimp_tune_pick(const char *results_path, const struct glimp_tune_target *t,
                              struct glimp_tune_result **out);
GLIMP_API void glimp_tune_result_free(struct glimp_tune_result *r); /* accepts NULL */

/* ------------------------------------------------------------------ report */

/* Read DIR/results.jsonl (glimp_eval_records_read) and write DIR/report.html
 * (self-contained: the table, the plots inline, each problem's steps), DIR/report.md,
 * DIR/summary.json, DIR/pareto.svg and DIR/hinit.svg. GLIMP_ERR_IO,
 * GLIMP_ERR_FORMAT naming the line. */
GLIMP_API int glimp_eval_report(const char *dir);

#ifdef __cplusplus
}
#endif

#endif /* GLIMP_EVAL_H */
