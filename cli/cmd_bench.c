/* cmd_bench.c - `glimp bench`: prefill and decode speed in the form of
 * llama-bench's markdown table (or its JSON rows), so the two can be
 * compared line by line on the same file, thread count and machine; and
 * with --parallel, aggregate decode speed of many sequences decoding in the
 * same passes, as llama.cpp's llama-batched-bench measures it. With
 * --bandwidth, the machine's read bandwidth and decode as a fraction of it;
 * with --profile, where the forward pass spends its time. */
#include "cli.h"

#include "glimp.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

static const char bench_usage[] =
    "usage: glimp bench -m MODEL [-p N] [-n N] [-t N] [-r N] [-o md|json]\n"
    "                   [--bandwidth [--bandwidth-size MIB]] [--profile]\n"
    "                   [--parallel LIST [-c N] [-b N]]\n"
    "       glimp bench --bandwidth [--bandwidth-size MIB] [-t N] [-r N] [-o md|json]\n"
    "\n"
    "Measure prompt processing (ppN: N tokens appended in one call to an empty\n"
    "sequence) and text generation (tgN: N single-token appends from an empty\n"
    "sequence) on random token ids, as llama-bench does, after one warm-up run\n"
    "of each. Prints a markdown table with tokens/s as mean +- standard\n"
    "deviation over the repetitions, or with -o json the rows as a JSON array.\n"
    "\n"
    "With --parallel, for each count P in LIST: P sequences each take a prompt\n"
    "of N (-p) random tokens of its own, all in one decode, then decode N (-n)\n"
    "tokens each, the P sequences in the same forward pass at every step (as\n"
    "llama-batched-bench does). Reports the aggregate decode speed (P * n_gen /\n"
    "decode time: avg_ts), the prompt speed, the time per token each sequence\n"
    "sees, the aggregate decode speed over the first count's (tg ratio), the KV\n"
    "cache the P sequences hold and the process's resident memory. The\n"
    "repetitions go round the counts (the first of each, then the second...),\n"
    "so that every count meets the same phases of a shared machine.\n"
    "\n"
    "With --bandwidth, first measures the machine's read bandwidth: the threads\n"
    "(-t) each read their share of a buffer far larger than the caches, as\n"
    "plain 64-bit loads, max(-r, 5) times after a warm-up read; prints the best\n"
    "and the median GB/s (10^9 bytes). The table's tg rows then say what decode\n"
    "reads per token (the weights one token reads: every layer's matrices,\n"
    "norms and biases, the output head, one embedding row; not the KV cache),\n"
    "that times tokens/s, and that as a share of the best read bandwidth.\n"
    "Without -m, measures the bandwidth alone.\n"
    "\n"
    "With --profile, times the phases of the forward pass during the timed\n"
    "repetitions and prints, after the table, ms/token and the share of the\n"
    "runs' time of each: activation quantization, attention projections,\n"
    "attention over the KV cache, feed-forward, elementwise work (norms, RoPE,\n"
    "biases, residuals), the output head, thread hand-off and join waits (also\n"
    "split by the phase whose jobs they wait in), and the decode call outside\n"
    "the pass. The logits are those of a run without. With --parallel, of the\n"
    "decode steps of each count (ms per decoded token, all sequences').\n"
    "\n"
    "  -m, --model PATH        GGUF model (required but for --bandwidth alone)\n"
    "  -p, --n-prompt N        prompt tokens (default 512; 0: no pp test)\n"
    "  -n, --n-gen N           generated tokens (default 128; 0: no tg test)\n"
    "  -t, --threads N         threads; 0: one per core (default 2)\n"
    "  -r, --repetitions N     repetitions of each test (default 5)\n"
    "  -o, --output FORMAT     md (default) or json\n"
    "      --parallel LIST     sequence counts, comma-separated (1,2,4,8,16)\n"
    "  -c, --ctx-size N        each sequence's context (default: -p + -n)\n"
    "  -b, --batch-size N      tokens per forward pass (default: the model's,\n"
    "                          at least the largest count in LIST)\n"
    "      --bandwidth         measure the read bandwidth, decode as a share of it\n"
    "      --bandwidth-size MIB  the buffer it reads (default 1024)\n"
    "      --profile           time the phases of the forward pass\n"
    "  -h, --help              show this help\n";

#define MAX_TOKENS (1u << 20)
#define MAX_PARALLEL 256u
#define MAX_LIST 32

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

/* P sequences at once: each a prompt of n_prompt random ids of its own
 * (all in one decode, so in shared passes), then n_gen steps that decode one
 * token of each in one pass. Seconds of each phase in *t_pp, *t_tg; false
 * after printing a failure. ids holds P * max(n_prompt, 1). */
struct par {
    struct glimp_ctx *ctx;
    struct glimp_seq **seqs; /* n_seqs of them; a run uses the first P */
    uint32_t n_seqs;
    struct glimp_batch_item *items;
    const float **logits;
    int32_t *ids;
    uint32_t n_vocab;
    uint64_t rng;
    bool profile;                /* time the phases of the decode steps */
    struct glimp_phase_times pt; /* their sums while profile is on */
    double pt_wall;              /* seconds of the decode steps timed */
};

/* Add the phase times of b's context since timing was turned on to b->pt. */
static void par_add_phases(struct par *b, double wall)
{
    struct glimp_phase_times t;
    glimp_ctx_phase_times(b->ctx, &t);
    for (int ph = 0; ph < GLIMP_PASS_COUNT; ph++) {
        b->pt.seconds[ph] += t.seconds[ph];
        b->pt.waits[ph] += t.waits[ph];
    }
    b->pt.n_calls += t.n_calls;
    b->pt.n_tokens += t.n_tokens;
    b->pt_wall += wall;
}

static bool run_parallel(struct par *b, uint32_t P, uint32_t n_prompt, uint32_t n_gen, double *t_pp,
                         double *t_tg)
{
    /* every sequence starts empty (those past P give their memory back) */
    int rc = GLIMP_OK;
    for (uint32_t i = 0; i < b->n_seqs && rc == GLIMP_OK; i++)
        rc = glimp_seq_truncate(b->seqs[i], 0);
    *t_pp = *t_tg = 0.0;
    if (rc == GLIMP_OK && n_prompt) {
        for (uint32_t i = 0; i < P; i++) {
            for (uint32_t j = 0; j < n_prompt; j++)
                b->ids[(size_t)i * n_prompt + j] = (int32_t)(next_rand(&b->rng) % b->n_vocab);
            b->items[i] = (struct glimp_batch_item){.seq = b->seqs[i],
                                                    .ids = b->ids + (size_t)i * n_prompt,
                                                    .n = n_prompt,
                                                    .logits = &b->logits[i]};
        }
        double t0 = glimp_now();
        rc = glimp_ctx_decode(b->ctx, b->items, P);
        *t_pp = glimp_now() - t0;
    }
    if (b->profile)
        glimp_ctx_time_phases(b->ctx, true);
    double t0 = glimp_now();
    for (uint32_t step = 0; rc == GLIMP_OK && step < n_gen; step++) {
        /* a random next token per sequence stands for the sampled one */
        for (uint32_t i = 0; i < P; i++) {
            b->ids[i] = (int32_t)(next_rand(&b->rng) % b->n_vocab);
            b->items[i] = (struct glimp_batch_item){
                .seq = b->seqs[i], .ids = &b->ids[i], .n = 1, .logits = &b->logits[i]};
        }
        rc = glimp_ctx_decode(b->ctx, b->items, P);
    }
    *t_tg = glimp_now() - t0;
    if (b->profile) {
        glimp_ctx_time_phases(b->ctx, false);
        par_add_phases(b, *t_tg);
    }
    if (rc != GLIMP_OK) {
        cli_fail("bench", rc);
        return false;
    }
    return true;
}

/* Mean and sample standard deviation of n values. */
static void mean_sd(const double *x, uint32_t n, double *mean, double *sd)
{
    double sum = 0.0, var = 0.0;
    for (uint32_t i = 0; i < n; i++)
        sum += x[i];
    *mean = sum / n;
    for (uint32_t i = 0; i < n; i++)
        var += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(var / (n - 1)) : 0.0;
}

/* This process's resident memory (VmRSS) in bytes; 0 where /proc does not
 * say. */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

/* ------------------------------------------------------ read bandwidth */

/* The machine's read bandwidth as decode could use it: n threads, each
 * reading its own contiguous share of one buffer far larger than the
 * last-level cache, with plain 64-bit loads summed into four accumulators
 * (the compiler may widen them to vector loads); each read of the whole
 * buffer timed from a barrier that starts every thread to one they all
 * reach when done. Each thread first writes its share, so that its pages
 * are mapped (and, on a NUMA machine, near it) before any timing. */
#define BW_MIN_READS 5
#define BW_MAX_READS 1000 /* -r's largest */
#define BW_MAX_MIB 65536u

struct bw_shared {
    uint64_t *buf;
    size_t n_words;
    uint32_t n_threads, n_reads; /* timed reads; one warm-up before them */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int gate; /* 0: wait, 1: go, -1: give up (a thread could not start) */
    pthread_barrier_t start, done;
};

struct bw_thread {
    struct bw_shared *sh;
    uint32_t ith;
    double *gbs;   /* thread 0: GB/s of each timed read; else NULL */
    uint64_t sink; /* the sums, kept so that the loads stay */
    pthread_t id;
};

static uint64_t read_words(const uint64_t *p, size_t n)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n; i++)
        s0 += p[i];
    return s0 ^ s1 ^ s2 ^ s3;
}

/* A thread's life: wait at the gate, write its share, then read it once
 * per read between the barriers; thread 0 (the caller) times each read. */
static void *bw_main(void *arg)
{
    struct bw_thread *t = arg;
    struct bw_shared *sh = t->sh;
    pthread_mutex_lock(&sh->mu);
    while (sh->gate == 0)
        pthread_cond_wait(&sh->cv, &sh->mu);
    int gate = sh->gate;
    pthread_mutex_unlock(&sh->mu);
    if (gate < 0)
        return NULL;
    size_t per = sh->n_words / sh->n_threads, w0 = (size_t)t->ith * per;
    size_t n = t->ith + 1 == sh->n_threads ? sh->n_words - w0 : per;
    uint64_t *p = sh->buf + w0;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint64_t)(w0 + i) * 0x9E3779B97F4A7C15ull;
    for (uint32_t r = 0; r <= sh->n_reads; r++) {
        pthread_barrier_wait(&sh->start);
        double t0 = glimp_now();
        t->sink += read_words(p, n);
        pthread_barrier_wait(&sh->done);
        double dt = glimp_now() - t0;
        if (t->gbs && r > 0) /* read 0 warms up */
            t->gbs[r - 1] = dt > 0 ? (double)sh->n_words * sizeof(uint64_t) / dt / 1e9 : 0.0;
    }
    return NULL;
}

/* GB/s of each of n_reads reads of mib MiB on n_threads threads, into
 * gbs. False after a message when memory or threads cannot be had. */
static bool measure_bandwidth(uint32_t n_threads, uint32_t mib, uint32_t n_reads, double *gbs)
{
    struct bw_shared sh = {.n_words = (size_t)mib * (1u << 20) / sizeof(uint64_t),
                           .n_threads = n_threads,
                           .n_reads = n_reads};
    struct bw_thread *th = calloc(n_threads, sizeof *th);
    if (!th || posix_memalign((void **)&sh.buf, 4096, sh.n_words * sizeof(uint64_t)) != 0) {
        fprintf(stderr, "glimp bench: out of memory for a %u MiB bandwidth buffer\n", mib);
        free(th);
        return false;
    }
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv, NULL);
    pthread_barrier_init(&sh.start, NULL, n_threads);
    pthread_barrier_init(&sh.done, NULL, n_threads);
    uint32_t started = 1; /* the caller is thread 0 */
    for (uint32_t i = 0; i < n_threads; i++)
        th[i] = (struct bw_thread){.sh = &sh, .ith = i, .gbs = i == 0 ? gbs : NULL};
    for (; started < n_threads; started++)
        if (pthread_create(&th[started].id, NULL, bw_main, &th[started]) != 0)
            break;
    bool ok = started == n_threads;
    pthread_mutex_lock(&sh.mu);
    sh.gate = ok ? 1 : -1;
    pthread_cond_broadcast(&sh.cv);
    pthread_mutex_unlock(&sh.mu);
    if (ok)
        bw_main(&th[0]);
    else
        fprintf(stderr, "glimp bench: cannot start bandwidth thread %u of %u\n", started + 1,
                n_threads);
    for (uint32_t i = 1; i < started; i++)
        pthread_join(th[i].id, NULL);
    pthread_barrier_destroy(&sh.start);
    pthread_barrier_destroy(&sh.done);
    pthread_cond_destroy(&sh.cv);
    pthread_mutex_destroy(&sh.mu);
    free(sh.buf);
    free(th);
    return ok;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The bandwidth as the table and the JSON rows report it. */
struct bandwidth {
    uint32_t mib, n_reads;
    double samples[BW_MAX_READS]; /* GB/s of each read, in order */
    double best, median;          /* GB/s */
};

static bool bandwidth_run(uint32_t n_threads, uint32_t mib, uint32_t reps, struct bandwidth *bw)
{
    bw->mib = mib;
    bw->n_reads = reps < BW_MIN_READS ? BW_MIN_READS : reps;
    if (!measure_bandwidth(n_threads, mib, bw->n_reads, bw->samples))
        return false;
    double sorted[BW_MAX_READS];
    memcpy(sorted, bw->samples, bw->n_reads * sizeof *sorted);
    qsort(sorted, bw->n_reads, sizeof *sorted, cmp_double);
    bw->best = sorted[bw->n_reads - 1];
    uint32_t h = bw->n_reads / 2;
    bw->median = bw->n_reads % 2 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2.0;
    return true;
}

static void bandwidth_print(const struct bandwidth *bw, unsigned threads)
{
    printf("read bandwidth: %u threads, %u MiB, %u reads: best %.2f GB/s, median %.2f GB/s\n",
           threads, bw->mib, bw->n_reads, bw->best, bw->median);
}

/* The bandwidth's fields of a JSON row; false when out of memory. */
static bool bandwidth_json(json_t *row, const struct bandwidth *bw)
{
    json_t *samples = json_array();
    for (uint32_t r = 0; samples && r < bw->n_reads; r++)
        if (json_array_append_new(samples, json_real(bw->samples[r])))
            break;
    return samples &&
           !json_object_set_new(row, "read_bw_bytes",
                                json_integer((json_int_t)bw->mib * (1 << 20))) &&
           !json_object_set_new(row, "read_bw_gbs", json_real(bw->best)) &&
           !json_object_set_new(row, "read_bw_median_gbs", json_real(bw->median)) &&
           !json_object_set_new(row, "read_bw_samples_gbs", samples);
}

/* ------------------------------------------------------------ profile */

/* Each phase of the forward pass as the profile table names it. */
static const char *const phase_label[GLIMP_PASS_COUNT] = {
    [GLIMP_PASS_QUANTIZE] = "activation quantization",
    [GLIMP_PASS_ATTN_PROJ] = "attention projections (q, k, v, o)",
    [GLIMP_PASS_ATTENTION] = "attention over the KV cache",
    [GLIMP_PASS_FFN] = "feed-forward (gate, up, SiLU, down)",
    [GLIMP_PASS_ELEMENTWISE] = "norms, RoPE, biases, residuals",
    [GLIMP_PASS_OUTPUT] = "output head (norm, logits)",
    [GLIMP_PASS_SYNC] = "thread hand-off and join waits",
    [GLIMP_PASS_OTHER] = "decode call outside the pass",
};

/* One test's profile: the phase times over its timed repetitions, and the
 * time those took by the bench's own clock. */
struct prof {
    char test[48];
    struct glimp_phase_times t;
    double wall; /* seconds */
};

static double phase_sum(const struct glimp_phase_times *t)
{
    double sum = 0.0;
    for (int ph = 0; ph < GLIMP_PASS_COUNT; ph++)
        sum += t->seconds[ph];
    return sum;
}

/* The tests side by side: ms per token of each phase, its share of the
 * runs' time, and the hand-off and join waits in its jobs (which the sync
 * row holds); then the phases' sum and the runs' time. */
static void profile_print(const struct prof *pr, uint32_t n, unsigned threads, uint32_t reps)
{
    printf("\nprofile: %u threads, the %u timed repetitions of each test; ms/token, share "
           "of their time, waits in the phase's jobs (ms/token, in the sync row)\n",
           threads, reps);
    printf("| %-36s |", "phase");
    for (uint32_t i = 0; i < n; i++)
        printf(" %14s | %6s | %8s |", pr[i].test, "%", "waits");
    printf("\n| ------------------------------------ |");
    for (uint32_t i = 0; i < n; i++)
        printf(" -------------: | -----: | -------: |");
    putchar('\n');
    for (int ph = 0; ph <= GLIMP_PASS_COUNT + 1; ph++) {
        bool phase = ph < GLIMP_PASS_COUNT;
        printf("| %-36s |", phase                    ? phase_label[ph]
                            : ph == GLIMP_PASS_COUNT ? "sum of the phases"
                                                     : "the runs (bench clock)");
        for (uint32_t i = 0; i < n; i++) {
            double sec = phase                    ? pr[i].t.seconds[ph]
                         : ph == GLIMP_PASS_COUNT ? phase_sum(&pr[i].t)
                                                  : pr[i].wall;
            double per = pr[i].t.n_tokens ? 1e3 / (double)pr[i].t.n_tokens : 0.0;
            printf(" %14.4f | %5.1f%% |", sec * per,
                   pr[i].wall > 0 ? sec / pr[i].wall * 100.0 : 0.0);
            if (phase && ph != GLIMP_PASS_SYNC)
                printf(" %8.4f |", pr[i].t.waits[ph] * per);
            else
                printf(" %8s |", "-");
        }
        putchar('\n');
    }
}

/* A JSON object of seconds per phase name; NULL when out of memory. */
static json_t *phases_json(const double *seconds)
{
    json_t *o = json_object();
    for (int ph = 0; o && ph < GLIMP_PASS_COUNT; ph++)
        if (json_object_set_new(o, glimp_pass_phase_name((enum glimp_pass_phase)ph),
                                json_real(seconds[ph]))) {
            json_decref(o);
            o = NULL;
        }
    return o;
}

/* The profile's fields of a JSON row; false when out of memory. */
static bool profile_json(json_t *row, const struct prof *pr)
{
    json_t *phases = phases_json(pr->t.seconds), *waits = phases_json(pr->t.waits);
    if (!phases || !waits) {
        json_decref(phases);
        json_decref(waits);
        return false;
    }
    json_t *o = json_pack("{s:f, s:I, s:o, s:o}", "wall_s", pr->wall, "n_tokens",
                          (json_int_t)pr->t.n_tokens, "phases_s", phases, "waits_s", waits);
    return o && !json_object_set_new(row, "profile", o);
}

/* What every row of one run shares: the model as llama-bench names it. */
struct row_base {
    const char *path;
    char desc[128];
    uint64_t bytes, params;
    unsigned threads;
    uint32_t n_batch;
    const char *kernels; /* the kernel table that runs */
};

/* A JSON row in llama-bench's names: times per repetition in ns and rates
 * in tokens/s (tokens: n tokens per repetition). */
static json_t *json_row(const struct row_base *rb, uint32_t n_parallel, uint32_t n_prompt,
                        uint32_t n_gen, const double *secs, uint32_t reps, double tokens)
{
    json_t *ns = json_array(), *ts = json_array();
    double *rate = malloc((size_t)reps * 2 * sizeof *rate);
    if (!ns || !ts || !rate) {
        json_decref(ns);
        json_decref(ts);
        free(rate);
        return NULL;
    }
    double *nsv = rate + reps;
    for (uint32_t r = 0; r < reps; r++) {
        nsv[r] = secs[r] * 1e9;
        rate[r] = secs[r] > 0 ? tokens / secs[r] : 0.0;
        json_array_append_new(ns, json_integer((json_int_t)llround(nsv[r])));
        json_array_append_new(ts, json_real(rate[r]));
    }
    double avg_ns, sd_ns, avg_ts, sd_ts;
    mean_sd(nsv, reps, &avg_ns, &sd_ns);
    mean_sd(rate, reps, &avg_ts, &sd_ts);
    free(rate);
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:f, s:f, s:o, "
                     "s:o}",
                     "model_filename", rb->path, "model_type", rb->desc, "kernels", rb->kernels,
                     "model_size", (json_int_t)rb->bytes, "model_n_params", (json_int_t)rb->params,
                     "n_batch", (int)rb->n_batch, "n_threads", (int)rb->threads, "n_parallel",
                     (int)n_parallel, "n_prompt", (int)n_prompt, "n_gen", (int)n_gen, "avg_ns",
                     (json_int_t)llround(avg_ns), "stddev_ns", (json_int_t)llround(sd_ns), "avg_ts",
                     avg_ts, "stddev_ts", sd_ts, "samples_ns", ns, "samples_ts", ts);
}

/* "1,2,4,8,16" into list; false for anything else. */
static bool parse_list(const char *s, uint32_t *list, uint32_t *n)
{
    *n = 0;
    while (*s) {
        char num[16];
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= sizeof num || *n == MAX_LIST)
            return false;
        memcpy(num, s, len);
        num[len] = '\0';
        if (!cli_parse_u32(num, 1, MAX_PARALLEL, &list[(*n)++]))
            return false;
        s += len;
        if (*s == ',' && *++s == '\0')
            return false;
    }
    return *n > 0;
}

static void print_json(json_t *rows)
{
    char *text = json_dumps(rows, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    if (text) {
        puts(text);
        free(text);
    }
}

/* --parallel: one row per count in list. The repetitions go round the
 * counts (the first of each count, then the second of each, ...), so that
 * every count meets the same phases of a shared machine and the ratio of
 * two counts' speeds is a fair one. */
static int bench_parallel(struct glimp_model *m, const struct row_base *rb, const uint32_t *list,
                          uint32_t n_list, uint32_t n_prompt, uint32_t n_gen, uint32_t n_ctx,
                          uint32_t reps, bool json, bool profile)
{
    uint32_t most = 0;
    for (uint32_t i = 0; i < n_list; i++)
        most = list[i] > most ? list[i] : most;
    struct glimp_ctx_params cp = glimp_ctx_default_params();
    cp.n_batch = rb->n_batch;
    struct par b = {.n_vocab = glimp_model_info(m)->n_vocab, .rng = 1234, .n_seqs = most};
    b.seqs = calloc(most, sizeof *b.seqs);
    b.items = calloc(most, sizeof *b.items);
    b.logits = calloc(most, sizeof *b.logits);
    b.ids = malloc((size_t)most * (n_prompt ? n_prompt : 1) * sizeof *b.ids);
    /* seconds of count li, repetition r: pp at [li * reps + r], tg after
     * all of pp; then reps of scratch */
    double *secs = malloc(((size_t)n_list * 2 + 1) * reps * sizeof *secs);
    struct prof *pr = calloc(n_list, sizeof *pr);
    uint64_t *kv = calloc(n_list, sizeof *kv), *rss = calloc(n_list, sizeof *rss);
    json_t *rows = json ? json_array() : NULL;
    int status = 0;
    if (!b.seqs || !b.items || !b.logits || !b.ids || !secs || (json && !rows) || !pr || !kv ||
        !rss) {
        fprintf(stderr, "glimp bench: out of memory\n");
        status = 1;
    }
    int rc = GLIMP_OK;
    if (status == 0)
        rc = glimp_ctx_init(m, &cp, &b.ctx);
    for (uint32_t i = 0; i < most && rc == GLIMP_OK && status == 0; i++)
        rc = glimp_seq_init(m, n_ctx, &b.seqs[i]);
    if (status == 0 && rc != GLIMP_OK)
        status = cli_fail("bench", rc);

    /* warm-up: pages of the mapping, caches, thread start-up */
    double tp, tt;
    if (status == 0 &&
        !run_parallel(&b, 1, n_prompt < 32 ? n_prompt : 32, n_gen < 2 ? n_gen : 2, &tp, &tt))
        status = 1;
    double *pp = secs, *tg = secs + (size_t)n_list * reps, *tmp = tg + (size_t)n_list * reps;
    b.profile = profile;
    for (uint32_t r = 0; r < reps && status == 0; r++)
        for (uint32_t li = 0; li < n_list && status == 0; li++) {
            b.pt = pr[li].t;
            b.pt_wall = pr[li].wall;
            if (!run_parallel(&b, list[li], n_prompt, n_gen, &pp[li * reps + r],
                              &tg[li * reps + r])) {
                status = 1;
                break;
            }
            pr[li].t = b.pt;
            pr[li].wall = b.pt_wall;
            /* the P sequences (and no others) still hold their tokens:
             * what they cost */
            kv[li] = 0;
            for (uint32_t i = 0; i < list[li]; i++)
                kv[li] += glimp_seq_bytes(b.seqs[i]);
            rss[li] = rss_bytes();
        }

    if (status == 0 && !json) {
        printf("| %-30s | %7s | %10s | %13s | %12s | %12s | %12s | %8s | %8s | %8s |\n", "model",
               "threads", "n_parallel", "test", "pp t/s", "tg t/s", "ms/token/seq", "tg ratio",
               "KV MiB", "RSS MiB");
        puts("| ------------------------------ | ------: | ---------: | ------------: | "
             "-----------: | -----------: | -----------: | -------: | -------: | -------: |");
    }
    double first_tg = 0.0;
    for (uint32_t li = 0; li < n_list && status == 0; li++) {
        uint32_t P = list[li];
        const double *lpp = pp + (size_t)li * reps, *ltg = tg + (size_t)li * reps;
        if (profile)
            snprintf(pr[li].test, sizeof pr[li].test, "%u seq ms/tok", P);
        double tg_ts, tg_sd, pp_ts = 0.0, pp_sd = 0.0, ms, ms_sd;
        for (uint32_t r = 0; r < reps; r++)
            tmp[r] = ltg[r] > 0 ? (double)P * n_gen / ltg[r] : 0.0;
        mean_sd(tmp, reps, &tg_ts, &tg_sd);
        if (li == 0)
            first_tg = tg_ts;
        double ratio = first_tg > 0 ? tg_ts / first_tg : 0.0;
        for (uint32_t r = 0; r < reps; r++)
            tmp[r] = ltg[r] * 1e3 / n_gen;
        mean_sd(tmp, reps, &ms, &ms_sd);
        if (n_prompt) {
            for (uint32_t r = 0; r < reps; r++)
                tmp[r] = lpp[r] > 0 ? (double)P * n_prompt / lpp[r] : 0.0;
            mean_sd(tmp, reps, &pp_ts, &pp_sd);
        }
        if (json) {
            json_t *row = json_row(rb, P, n_prompt, n_gen, ltg, reps, (double)P * n_gen);
            if (!row || json_object_set_new(row, "pp_avg_ts", json_real(pp_ts)) ||
                json_object_set_new(row, "pp_stddev_ts", json_real(pp_sd)) ||
                json_object_set_new(row, "ms_per_token", json_real(ms)) ||
                json_object_set_new(row, "tg_ratio", json_real(ratio)) ||
                json_object_set_new(row, "kv_bytes", json_integer((json_int_t)kv[li])) ||
                json_object_set_new(row, "rss_bytes", json_integer((json_int_t)rss[li])) ||
                (profile && !profile_json(row, &pr[li])) || json_array_append_new(rows, row)) {
                fprintf(stderr, "glimp bench: out of memory\n");
                status = 1;
            }
            continue;
        }
        char test[32], pps[48], tgs[48], mss[48];
        snprintf(test, sizeof test, "pp%u+tg%u", n_prompt, n_gen);
        snprintf(pps, sizeof pps, "%.2f ± %.2f", pp_ts, pp_sd);
        snprintf(tgs, sizeof tgs, "%.2f ± %.2f", tg_ts, tg_sd);
        snprintf(mss, sizeof mss, "%.2f ± %.2f", ms, ms_sd);
        /* the ± is two bytes in UTF-8 and one column: pad one more */
        printf("| %-30s | %7u | %10u | %13s | %13s | %13s | %13s | %7.2fx | %8.1f | %8.1f |\n",
               rb->desc, rb->threads, P, test, n_prompt ? pps : "-", tgs, mss, ratio,
               (double)kv[li] / (1024.0 * 1024.0), (double)rss[li] / (1024.0 * 1024.0));
    }
    if (status == 0 && json)
        print_json(rows);
    if (status == 0 && !json && profile)
        profile_print(pr, n_list, rb->threads, reps);
    json_decref(rows);
    free(pr);
    free(kv);
    free(rss);
    for (uint32_t i = 0; b.seqs && i < most; i++)
        glimp_seq_free(b.seqs[i]);
    glimp_ctx_free(b.ctx);
    free(b.seqs);
    free(b.items);
    free(b.logits);
    free(b.ids);
    free(secs);
    return status;
}

/* The pp and tg tests on one sequence: the llama-bench table (with bw,
 * decode against the read bandwidth; with profile, the phases of the
 * timed repetitions after it) or the JSON rows. */
static int bench_tests(struct glimp_model *m, const struct row_base *rb, uint32_t n_prompt,
                       uint32_t n_gen, uint32_t reps, bool json, const struct bandwidth *bw,
                       bool profile)
{
    const struct glimp_model_info *h = glimp_model_info(m);
    uint32_t n_seq = n_prompt > n_gen ? n_prompt : n_gen;
    struct glimp_ctx *ctx = NULL;
    struct glimp_seq *seq = NULL;
    int status = 0;
    int32_t *ids = malloc((size_t)n_seq * sizeof *ids);
    int rc = glimp_ctx_init(m, NULL, &ctx);
    if (rc == GLIMP_OK)
        rc = glimp_seq_init(m, n_seq, &seq);
    double *secs = malloc((size_t)reps * 2 * sizeof *secs);
    json_t *rows = json ? json_array() : NULL;
    if (rc != GLIMP_OK) {
        status = cli_fail("bench", rc);
    } else if (!ids || !secs || (json && !rows)) {
        fprintf(stderr, "glimp bench: out of memory\n");
        status = 1;
    }

    char size[32], npar[32];
    if (rb->bytes < (1ull << 30))
        snprintf(size, sizeof size, "%.2f MiB", (double)rb->bytes / (1024.0 * 1024.0));
    else
        snprintf(size, sizeof size, "%.2f GiB", (double)rb->bytes / (1024.0 * 1024.0 * 1024.0));
    if (rb->params < 1000000000ull)
        snprintf(npar, sizeof npar, "%.2f M", (double)rb->params / 1e6);
    else
        snprintf(npar, sizeof npar, "%.2f B", (double)rb->params / 1e9);

    /* decode reads decode_bytes a token: tokens/s times that is the
     * bandwidth it draws */
    double mb_token = (double)h->decode_bytes / 1e6, tg_gbs = -1.0;
    if (status == 0 && !json) {
        if (bw)
            bandwidth_print(bw, rb->threads);
        printf("| %-30s | %10s | %10s | %7s | %13s | %20s |", "model", "size", "params", "threads",
               "test", "t/s");
        if (bw)
            printf(" %10s | %9s | %9s |", "MB/token", "GB/s", "% of bw");
        puts("");
        printf("| ------------------------------ | ---------: | ---------: | ------: | "
               "------------: | -------------------: |");
        if (bw)
            printf(" ---------: | --------: | --------: |");
        puts("");
        fflush(stdout);
    }
    struct prof pr[2];
    uint32_t n_prof = 0;
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
        double *ts = secs + reps;
        if (profile)
            glimp_ctx_time_phases(ctx, true);
        for (uint32_t r = 0; r < reps; r++) {
            secs[r] = run_test(ctx, seq, ids, n, gen, h->n_vocab, &rng);
            if (secs[r] < 0) {
                status = 1;
                break;
            }
            ts[r] = secs[r] > 0 ? (double)n / secs[r] : 0.0;
        }
        if (status != 0)
            break;
        char name[32];
        snprintf(name, sizeof name, "%s%u", gen ? "tg" : "pp", n);
        struct prof *p = &pr[n_prof];
        if (profile) {
            glimp_ctx_time_phases(ctx, false);
            glimp_ctx_phase_times(ctx, &p->t);
            snprintf(p->test, sizeof p->test, "%s ms/tok", name);
            p->wall = 0.0;
            for (uint32_t r = 0; r < reps; r++)
                p->wall += secs[r];
            n_prof++;
        }
        double mean, sd;
        mean_sd(ts, reps, &mean, &sd);
        if (gen)
            tg_gbs = mean * (double)h->decode_bytes / 1e9;
        if (json) {
            json_t *row = json_row(rb, 1, gen ? 0 : n, gen ? n : 0, secs, reps, n);
            bool ok = row && (!bw || bandwidth_json(row, bw)) && (!profile || profile_json(row, p));
            if (ok && bw && gen)
                ok = !json_object_set_new(row, "decode_bytes_per_token",
                                          json_integer((json_int_t)h->decode_bytes)) &&
                     !json_object_set_new(row, "decode_gbs", json_real(tg_gbs)) &&
                     !json_object_set_new(row, "decode_bw_frac",
                                          json_real(bw->best > 0 ? tg_gbs / bw->best : 0.0));
            if (!ok || json_array_append_new(rows, row)) {
                if (!ok)
                    json_decref(row);
                fprintf(stderr, "glimp bench: out of memory\n");
                status = 1;
            }
            continue;
        }
        char rate[48];
        snprintf(rate, sizeof rate, "%.2f ± %.2f", mean, sd);
        /* the ± is two bytes in UTF-8 and one column: pad one more */
        printf("| %-30s | %10s | %10s | %7u | %13s | %21s |", rb->desc, size, npar, rb->threads,
               name, rate);
        if (bw && gen)
            printf(" %10.2f | %9.2f | %8.1f%% |", mb_token, tg_gbs,
                   bw->best > 0 ? tg_gbs / bw->best * 100.0 : 0.0);
        else if (bw)
            printf(" %10s | %9s | %9s |", "-", "-", "-");
        puts("");
        fflush(stdout);
    }
    if (status == 0 && json)
        print_json(rows);
    if (status == 0 && !json && bw && tg_gbs >= 0)
        printf("\ndecode reads %.2f MB/token (every layer's weights, norms and biases, the "
               "output head, one embedding row): %.2f GB/s = %.1f%% of the measured read "
               "bandwidth (best %.2f GB/s)\n",
               mb_token, tg_gbs, bw->best > 0 ? tg_gbs / bw->best * 100.0 : 0.0, bw->best);
    if (status == 0 && !json && n_prof)
        profile_print(pr, n_prof, rb->threads, reps);
    json_decref(rows);
    free(secs);
    free(ids);
    glimp_seq_free(seq);
    glimp_ctx_free(ctx);
    return status;
}

int cmd_bench(int argc, char **argv)
{
    const char *model = NULL, *output = "md", *par = NULL;
    uint32_t n_prompt = 512, n_gen = 128, n_threads = 2, reps = 5, n_ctx = 0, n_batch = 0;
    uint32_t bw_mib = 0;
    bool bandwidth = false, profile = false;
    uint32_t list[MAX_LIST], n_list = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(bench_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--bandwidth") || !strcmp(a, "--profile")) {
            *(a[2] == 'b' ? &bandwidth : &profile) = true;
            continue;
        }
        const char **str = !strcmp(a, "-m") || !strcmp(a, "--model")    ? &model
                           : !strcmp(a, "-o") || !strcmp(a, "--output") ? &output
                           : !strcmp(a, "--parallel")                   ? &par
                                                                        : NULL;
        uint32_t *target = !strcmp(a, "-p") || !strcmp(a, "--n-prompt")      ? &n_prompt
                           : !strcmp(a, "-n") || !strcmp(a, "--n-gen")       ? &n_gen
                           : !strcmp(a, "-t") || !strcmp(a, "--threads")     ? &n_threads
                           : !strcmp(a, "-r") || !strcmp(a, "--repetitions") ? &reps
                           : !strcmp(a, "-c") || !strcmp(a, "--ctx-size")    ? &n_ctx
                           : !strcmp(a, "-b") || !strcmp(a, "--batch-size")  ? &n_batch
                           : !strcmp(a, "--bandwidth-size")                  ? &bw_mib
                                                                             : NULL;
        if (!str && !target)
            return cli_usage_error("bench", bench_usage, "unknown option '%s'", a);
        if (i + 1 >= argc)
            return cli_usage_error("bench", bench_usage, "%s needs a value", a);
        const char *v = argv[++i];
        if (str) {
            *str = v;
            continue;
        }
        uint32_t lo =
            target == &reps || target == &n_ctx || target == &n_batch || target == &bw_mib ? 1 : 0;
        uint32_t hi = target == &n_threads ? 1024
                      : target == &reps    ? BW_MAX_READS
                      : target == &n_batch ? 4096
                      : target == &bw_mib  ? BW_MAX_MIB
                                           : MAX_TOKENS;
        if (!cli_parse_u32(v, lo, hi, target))
            return cli_usage_error("bench", bench_usage,
                                   "%s '%s': expected a whole number from %u to %u", a, v, lo, hi);
    }
    if (!model && !bandwidth)
        return cli_usage_error("bench", bench_usage, "no model given (-m MODEL)");
    if (!model && profile)
        return cli_usage_error("bench", bench_usage, "--profile needs a model (-m MODEL)");
    if (bw_mib && !bandwidth)
        return cli_usage_error("bench", bench_usage, "--bandwidth-size goes with --bandwidth");
    if (strcmp(output, "md") != 0 && strcmp(output, "json") != 0)
        return cli_usage_error("bench", bench_usage, "-o '%s': expected md or json", output);
    bool json = !strcmp(output, "json");
    if (par && !parse_list(par, list, &n_list))
        return cli_usage_error("bench", bench_usage,
                               "--parallel '%s': expected counts from 1 to %u, comma-separated "
                               "(at most %u)",
                               par, MAX_PARALLEL, MAX_LIST);
    if (par && bandwidth)
        return cli_usage_error("bench", bench_usage, "--bandwidth goes without --parallel");
    if (!par && (n_ctx || n_batch))
        return cli_usage_error("bench", bench_usage, "-c and -b go with --parallel");
    if (par && n_gen == 0)
        return cli_usage_error("bench", bench_usage, "--parallel measures decoding: -n is 0");
    if (model && n_prompt == 0 && n_gen == 0)
        return cli_usage_error("bench", bench_usage, "nothing to measure: -p and -n are both 0");
    if (par && n_ctx && n_ctx < n_prompt + n_gen)
        return cli_usage_error("bench", bench_usage,
                               "-c %u holds fewer than the %u prompt and generated tokens", n_ctx,
                               n_prompt + n_gen);

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = n_threads ? n_threads : cores > 0 ? (unsigned)cores : 1u;
    /* the bandwidth first, its buffer gone before the model is mapped */
    struct bandwidth *bw = bandwidth ? malloc(sizeof *bw) : NULL;
    if (bandwidth && (!bw || !bandwidth_run(threads, bw_mib ? bw_mib : 1024, reps, bw))) {
        if (!bw)
            fprintf(stderr, "glimp bench: out of memory\n");
        free(bw);
        return 1;
    }
    int status = 0;
    if (!model) {
        json_t *rows = json ? json_array() : NULL, *row = json ? json_object() : NULL;
        if (!json)
            bandwidth_print(bw, threads);
        else if (!rows || !row || json_array_append_new(rows, row) ||
                 json_object_set_new(row, "n_threads", json_integer(threads)) ||
                 !bandwidth_json(row, bw)) {
            fprintf(stderr, "glimp bench: out of memory\n");
            status = 1;
        } else {
            print_json(rows);
        }
        json_decref(rows);
        free(bw);
        return status;
    }

    struct glimp_model *m = NULL;
    status = cli_load_model("bench", model, n_threads, &m, NULL);
    if (status != 0) {
        free(bw);
        return status;
    }
    struct row_base rb = {.path = model};
    describe(m, rb.desc, sizeof rb.desc, &rb.bytes, &rb.params);
    rb.threads = threads;
    rb.kernels = glimp_model_info(m)->kernels;
    rb.n_batch = cli_model_params(n_threads).n_batch;
    if (par) {
        uint32_t most = 0;
        for (uint32_t i = 0; i < n_list; i++)
            most = list[i] > most ? list[i] : most;
        rb.n_batch = n_batch ? n_batch : rb.n_batch > most ? rb.n_batch : most;
        status = bench_parallel(m, &rb, list, n_list, n_prompt, n_gen,
                                n_ctx ? n_ctx : n_prompt + n_gen, reps, json, profile);
    } else {
        status = bench_tests(m, &rb, n_prompt, n_gen, reps, json, bw, profile);
    }
    if (status == 0 && !json)
        printf("\nkernels: %s (GLIMP_KERNELS names another)\n", rb.kernels);
    free(bw);
    glimp_model_free(m);
    return status;
}
