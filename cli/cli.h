/* cli.h - the glimp program's subcommands. Each takes the arguments after
 * its name (argv[0] is the subcommand) and returns the process exit code;
 * only cli/ prints to people. */
#ifndef GLIMP_CLI_H
#define GLIMP_CLI_H

#include "glimp.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int cmd_run(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_roi(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_chat_template(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_mkmodel(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* An eval run as glimp eval shows it (cmd_eval.c): the plan, progress on
 * stderr, Ctrl-C as a clean stop, then the report. Sets p's callbacks and
 * cancel. Returns 0, 1 after a message, or 130 when interrupted. */
struct glimp_eval_params;
int cli_eval_run(struct glimp_eval_params *p);

/* The exit code of a command that failed because a model's server did
 * (GLIMP_ERR_REMOTE): glimp eval --resume continues once it is back. */
#define CLI_EXIT_REMOTE 3

/* Print "glimp <cmd>: <message>" for the library's last error to stderr and
 * return the exit code for a failed command (1; CLI_EXIT_REMOTE when a
 * server failed). */
int cli_fail(const char *cmd, int err);

/* Helpers of the model-running commands (util.c). Each prints its failure
 * as "glimp <cmd>: ..." and returns the exit code (0 on success). */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Whole decimal numbers in [min, max] (no sign, no spaces) and finite floats
 * in [min, max]; false when s is anything else. */
bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
bool cli_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
bool cli_parse_float(const char *s, double min, double max, float *out);
/* A double in [min, max], the whole string; "inf" and "-inf" when the
 * range holds them; never NaN or an overflow. */
bool cli_parse_double(const char *s, double min, double max, double *out);
/* mkdir that accepts a folder already there; 0, or 1 after a message. */
int cli_make_dir(const char *cmd, const char *dir);
/* A whole file ("-": stdin), NUL-terminated, in a malloc'ed buffer. */
int cli_read_file(const char *cmd, const char *path, char **data, size_t *size);
/* The model defaults with n_threads (0: one per core) and the kernels the
 * GLIMP_KERNELS environment variable names (unset: auto); the programs read
 * the environment, the library does not. The string is getenv's. */
struct glimp_model_params cli_model_params(uint32_t n_threads);
/* Load a model (cli_model_params(n_threads)) and, when t is not NULL, its
 * tokenizer; the tokenizer's warning, if any, goes to stderr. */
int cli_load_model(const char *cmd, const char *path, uint32_t n_threads, struct glimp_model **m,
                   struct glimp_tokenizer **t);
/* Tokenize a prompt, adding BOS when the tokenizer asks for it and the text
 * does not already start with it; an empty result is an error. */
int cli_tokenize_prompt(const char *cmd, const struct glimp_tokenizer *t, const char *text,
                        size_t len, bool parse_special, struct glimp_tokens *out);

/* A number for JSON output: finite as itself, NaN (not computed) as null,
 * +-inf, which JSON has no number for, as the strings "inf" and "-inf". */
json_t *cli_json_number(double x);
/* The options glimp run and glimp eval share: the budgets (--max-think,
 * --max-step, --max-answer), sampling (--temp, --top-p, --min-p, --top-k)
 * and --seed. True when a is one of them; *ok then says whether v is a
 * valid value (stored in p). */
bool cli_router_option(const char *a, const char *v, struct glimp_router_params *p, bool *ok);

/* --profile FILE among argv (the last one given wins): load it over *p
 * before the other options are read, so that they override it; info gets
 * the rest and *path the file (NULL when none). 0, or 1 after a message. */
int cli_profile_prescan(const char *cmd, int argc, char **argv, struct glimp_router_params *p,
                        struct glimp_profile_info *info, const char **path);
/* Warn on stderr when the profile was tuned on another pair. */
void cli_profile_warn_pair(const char *cmd, const char *path, const struct glimp_profile_info *info,
                           const struct glimp_backend *slm, const struct glimp_backend *llm);
/* Models given by path or by URL (glimp run, eval, serve): the options of
 * remote backends, and the opening of both models. */
struct cli_remote {
    const char *model[2];    /* --slm-model, --llm-model (indexed by writer) */
    const char *key_file[2]; /* --slm-api-key-file, --llm-api-key-file */
    const char *vocab[2];    /* --slm-vocab, --llm-vocab */
    double timeout_s;        /* --remote-timeout: between tokens; 0: default */
    uint32_t retries;        /* --remote-retries */
    bool set_retries;
    bool probe_request;      /* --remote-probe request (the reference's pattern) */
    bool lazy_sync;          /* --remote-sync lazy: no eager sync */
};
/* Help text of those options, for the usages. */
#define CLI_REMOTE_USAGE                                                                  \
    "remote models (a MODEL may be http(s)://HOST:PORT/v1, an OpenAI-compatible server):\n" \
    "  --slm-model NAME, --llm-model NAME   the server's model (default: its only one)\n"  \
    "  --slm-vocab GGUF, --llm-vocab GGUF   a local GGUF of the server's vocabulary: token\n" \
    "                        ids are sent; none: text (default: the other model's file,\n" \
    "                        if local and the server's /tokenize agrees, else text)\n"     \
    "  --slm-api-key-file F, --llm-api-key-file F   the key (else GLIMP_SLM_API_KEY,\n"    \
    "                        GLIMP_LLM_API_KEY)\n"                                          \
    "  --remote-timeout S    seconds without a token before a stream is retried (60)\n"    \
    "  --remote-retries N    retries after connection failures, 429, 5xx (4)\n"    \
    "  --remote-probe P      stream (default: the step's stream gives the probe) or\n" \
    "                        request (a request per probe, as the reference code)\n" \
    "  --remote-sync S       eager (default: the SLM's steps are sent ahead to a remote\n" \
    "                        LLM's server, filling its prefix cache while it waits) or\n" \
    "                        lazy (its next step reads them)\n"
/* True when a is one of them (*ok: v is valid). */
bool cli_remote_option(const char *a, const char *v, struct cli_remote *r, bool *ok);
/* The params of the remote model w (0 slm, 1 llm) at url, other being the
 * other model's path or URL; *key (the API key, or NULL) is the caller's to
 * wipe and free. 0, or 1 after a message. */
int cli_remote_params(const char *cmd, const struct cli_remote *r, int w, const char *url,
                      const char *other, struct glimp_remote_params *rp, char **key);
/* Open the two models (local files or servers); a remote one's mode is
 * said on stderr. 0, or the exit code after a message. */
int cli_open_models(const char *cmd, const char *slm, const char *llm, const struct cli_remote *r,
                    uint32_t n_threads, struct glimp_backend **out_slm,
                    struct glimp_backend **out_llm);
/* "network: ..." lines for the remote ones (nothing for local models). */
void cli_print_network(FILE *f, const struct glimp_backend *slm, const struct glimp_backend *llm);
/* A remote backend's network figures as JSON (null when local). */
json_t *cli_network_json(const struct glimp_backend *b);

/* --entropy: "full" -> 0, "topk:K" -> K (K >= 1). */
bool cli_parse_entropy(const char *s, uint32_t *out);

/* --entropy: "full" -> 0, "topk:K" -> K (K >= 1). */
bool cli_parse_entropy(const char *s, uint32_t *out);

#endif
