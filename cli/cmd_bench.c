/* cmd_bench.c - `glimp bench`: prefill and decode speed in the form of
 * llama-bench's markdown table, so the two can be compared line by line on
 * the same file, thread count and machine. */
#include "cli.h"

#include "glimp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char bench_usage[] =
    "usage: glimp bench -m MODEL [-p N] [-n N] [-t N] [-r N]\n"
    "\n"
    "Measure prompt processing (ppN: N tokens appended in one call to an empty\n"
    "sequence) and text generation (tgN: N single-token appends from an empty\n"
    "sequence) on random token ids, as llama-bench does, after one warm-up run\n"
    "of each. Prints a markdown table with tokens/s as mean +- standard\n"
    "deviation over the repetitions.\n"
    "\n"
    "  -m, --model PATH        GGUF model (required)\n"
    "  -p, --n-prompt N        prompt tokens (default 512; 0: no pp test)\n"
    "  -n, --n-gen N           generated tokens (default 128; 0: no tg test)\n"
    "  -t, --threads N         threads; 0: one per core (default 2)\n"
    "  -r, --repetitions N     repetitions of each test (default 5)\n"
    "  -h, --help              show this help\n";

#define MAX_TOKENS (1u << 20)

/* llama.cpp's names for general.file_type (enum llama_ftype). */
static const char *ftype_name(uint32_t ft)
{
    switch (ft) {
    case 0: return "all F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 3: return "Q4_1";
    case 7: return "Q8_0";
    case 8: return "Q5_0";
    case 9: return "Q5_1";
    case 10: return "Q2_K - Medium";
    case 11: return "Q3_K - Small";
    case 12: return "Q3_K - Medium";
    case 13: return "Q3_K - Large";
    case 14: return "Q4_K - Small";
    case 15: return "Q4_K - Medium";
    case 16: return "Q5_K - Small";
    case 17: return "Q5_K - Medium";
    case 18: return "Q6_K";
    case 32: return "BF16";
    default: return NULL;
    }
}

/* llama.cpp's size class of a model ("1B", "0.6B"), from the layer count and
 * width as its loader decides it for these architectures; "?B" otherwise. */
static const char *size_label(const struct glimp_model_info *h)
{
    uint32_t l = h->n_layer, e = h->n_embd;
    switch (h->arch) {
    case GLIMP_ARCH_QWEN2:
        switch (l) {
        case 24: return e == 1024 ? "0.5B" : "1B";
        case 28: return e == 1536 ? "1.5B" : "7B";
        case 32: return "7B";
        case 36: return "3B";
        case 40: return h->n_head == 20 ? "4B" : "13B";
        case 48: return "14B";
        case 64: return "32B";
        case 80: return "70B";
        default: return "?B";
        }
    case GLIMP_ARCH_QWEN3:
        switch (l) {
        case 28: return e == 1024 ? "0.6B" : "1.7B";
        case 36: return e == 2560 ? "4B" : "8B";
        case 40: return "14B";
        case 64: return "32B";
        default: return "?B";
        }
    case GLIMP_ARCH_LLAMA:
        switch (l) {
        case 16: return "1B";
        case 22: return "1B";
        case 26: return "3B";
        case 28: return "3B";
        case 32: return h->n_vocab < 40000 ? "7B" : "8B";
        case 40: return "13B";
        case 48: return "34B";
        case 60: return "30B";
        case 80: return h->n_head == h->n_head_kv ? "65B" : "70B";
        default: return "?B";
        }
    }
    return "?B";
}

/* "qwen2 1B Q8_0" as llama-bench's model column reads, with the total bytes
 * and elements of the file's tensors (what its size and params count). */
static void describe(const struct glimp_model *m, char *desc, size_t cap, uint64_t *bytes,
                     uint64_t *params)
{
    const struct glimp_gguf *g = glimp_model_gguf(m);
    const struct glimp_model_info *h = glimp_model_info(m);
    uint64_t n_by_type[GLIMP_TYPE_COUNT] = {0};
    *bytes = *params = 0;
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++) {
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        *bytes += t->nbytes;
        *params += t->n_elements;
        if (t->type < GLIMP_TYPE_COUNT)
            n_by_type[t->type]++;
    }
    uint32_t ft;
    const char *ftype =
        glimp_gguf_get_u32(g, "general.file_type", &ft) == GLIMP_OK ? ftype_name(ft) : NULL;
    if (ftype) {
        snprintf(desc, cap, "%s %s %s", h->arch_name, size_label(h), ftype);
        return;
    }
    /* no (known) file type: the most common tensor type, as llama.cpp guesses */
    uint32_t best = GLIMP_TYPE_F32;
    for (uint32_t ty = 0; ty < GLIMP_TYPE_COUNT; ty++)
        if (n_by_type[ty] > n_by_type[best])
            best = ty;
    const struct glimp_type_info *ti = glimp_type_info(best);
    snprintf(desc, cap, "%s %s %s (guessed)", h->arch_name, size_label(h), ti ? ti->name : "?");
}

/* splitmix64 for the random token ids: the same ids on every run. */
static uint64_t next_rand(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* One timed run: n tokens from an empty sequence, in one append (pp) or one
 * at a time (tg). Returns seconds, or -1 after printing a failure. */
static double run_test(struct glimp_ctx *ctx, struct glimp_seq *seq, int32_t *ids, uint32_t n,
                       bool gen, uint32_t n_vocab, uint64_t *rng)
{
    for (uint32_t i = 0; i < n; i++)
        ids[i] = (int32_t)(next_rand(rng) % n_vocab);
    int rc = glimp_seq_truncate(seq, 0);
    const float *logits;
    double t0 = glimp_now();
    if (rc == GLIMP_OK && !gen)
        rc = glimp_seq_append(ctx, seq, ids, n, false, &logits);
    for (uint32_t i = 0; rc == GLIMP_OK && gen && i < n; i++)
        rc = glimp_seq_append(ctx, seq, &ids[i], 1, false, &logits);
    double t1 = glimp_now();
    if (rc != GLIMP_OK) {
        cli_fail("bench", rc);
        return -1.0;
    }
    return t1 - t0;
}

int cmd_bench(int argc, char **argv)
{
    const char *model = NULL;
    uint32_t n_prompt = 512, n_gen = 128, n_threads = 2, reps = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(bench_usage, stdout);
            return 0;
        }
        bool is_model = !strcmp(a, "-m") || !strcmp(a, "--model");
        uint32_t *target = !strcmp(a, "-p") || !strcmp(a, "--n-prompt")      ? &n_prompt
                           : !strcmp(a, "-n") || !strcmp(a, "--n-gen")       ? &n_gen
                           : !strcmp(a, "-t") || !strcmp(a, "--threads")     ? &n_threads
                           : !strcmp(a, "-r") || !strcmp(a, "--repetitions") ? &reps
                                                                             : NULL;
        if (!is_model && !target)
            return cli_usage_error("bench", bench_usage, "unknown option '%s'", a);
        if (i + 1 >= argc)
            return cli_usage_error("bench", bench_usage, "%s needs a value", a);
        const char *v = argv[++i];
        if (is_model) {
            model = v;
            continue;
        }
        uint32_t lo = target == &reps ? 1 : 0;
        uint32_t hi = target == &n_threads ? 1024 : target == &reps ? 1000 : MAX_TOKENS;
        if (!cli_parse_u32(v, lo, hi, target))
            return cli_usage_error("bench", bench_usage,
                                   "%s '%s': expected a whole number from %u to %u", a, v, lo, hi);
    }
    if (!model)
        return cli_usage_error("bench", bench_usage, "no model given (-m MODEL)");
    if (n_prompt == 0 && n_gen == 0)
        return cli_usage_error("bench", bench_usage, "nothing to measure: -p and -n are both 0");

    struct glimp_model *m = NULL;
    int status = cli_load_model("bench", model, n_threads, &m, NULL);
    if (status != 0)
        return status;
    const struct glimp_model_info *h = glimp_model_info(m);
    uint32_t n_ctx = n_prompt > n_gen ? n_prompt : n_gen;
    struct glimp_ctx *ctx = NULL;
    struct glimp_seq *seq = NULL;
    int32_t *ids = malloc((size_t)n_ctx * sizeof *ids);
    int rc = glimp_ctx_init(m, NULL, &ctx);
    if (rc == GLIMP_OK)
        rc = glimp_seq_init(m, n_ctx, &seq);
    double *ts = malloc((size_t)reps * sizeof *ts);
    if (rc != GLIMP_OK) {
        status = cli_fail("bench", rc);
    } else if (!ids || !ts) {
        fprintf(stderr, "glimp bench: out of memory\n");
        status = 1;
    }

    char desc[128];
    uint64_t bytes, params;
    describe(m, desc, sizeof desc, &bytes, &params);
    char size[32], npar[32];
    if (bytes < (1ull << 30))
        snprintf(size, sizeof size, "%.2f MiB", (double)bytes / (1024.0 * 1024.0));
    else
        snprintf(size, sizeof size, "%.2f GiB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
    if (params < 1000000000ull)
        snprintf(npar, sizeof npar, "%.2f M", (double)params / 1e6);
    else
        snprintf(npar, sizeof npar, "%.2f B", (double)params / 1e9);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned shown_threads = n_threads ? n_threads : cores > 0 ? (unsigned)cores : 1u;

    if (status == 0) {
        printf("| %-30s | %10s | %10s | %7s | %13s | %20s |\n", "model", "size", "params",
               "threads", "test", "t/s");
        puts("| ------------------------------ | ---------: | ---------: | ------: | ------------: "
             "| -------------------: |");
        fflush(stdout);
    }
    uint64_t rng = 1234;
    for (int test = 0; test < 2 && status == 0; test++) {
        bool gen = test == 1;
        uint32_t n = gen ? n_gen : n_prompt;
        if (n == 0)
            continue;
        /* warm-up: pages of the mapping, caches, thread start-up */
        if (run_test(ctx, seq, ids, gen ? 1 : n, gen, h->n_vocab, &rng) < 0) {
            status = 1;
            break;
        }
        double sum = 0.0;
        for (uint32_t r = 0; r < reps; r++) {
            double s = run_test(ctx, seq, ids, n, gen, h->n_vocab, &rng);
            if (s < 0) {
                status = 1;
                break;
            }
            ts[r] = s > 0 ? (double)n / s : 0.0;
            sum += ts[r];
        }
        if (status != 0)
            break;
        double mean = sum / reps, var = 0.0;
        for (uint32_t r = 0; r < reps; r++)
            var += (ts[r] - mean) * (ts[r] - mean);
        double sd = reps > 1 ? sqrt(var / (reps - 1)) : 0.0;
        char name[32], rate[48];
        snprintf(name, sizeof name, "%s%u", gen ? "tg" : "pp", n);
        snprintf(rate, sizeof rate, "%.2f ± %.2f", mean, sd);
        /* the ± is two bytes in UTF-8 and one column: pad one more */
        printf("| %-30s | %10s | %10s | %7u | %13s | %21s |\n", desc, size, npar, shown_threads,
               name, rate);
        fflush(stdout);
    }
    free(ts);
    free(ids);
    glimp_seq_free(seq);
    glimp_ctx_free(ctx);
    glimp_model_free(m);
    return status;
}
