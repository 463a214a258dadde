/* kernel_rate.c - how fast each kernel table this CPU runs multiplies, on
 * one thread with its data in cache: the matrix products of Q8_0, Q4_K and
 * F16 weights (896 inputs, 4864 outputs: Qwen2.5-0.5B's gate projection)
 * for 1, 8 and 64 tokens, in GMAC/s (10^9 multiply-adds a second), and
 * attention of a group of 7 query heads over 1024 cached positions
 * (head size 64), in ns per head and position. Best of REPS calls each, so
 * that a neighbour's bursts on a shared machine drop out. Tables the CPU
 * lacks are left out, with a line saying so.
 *
 * It answers what the engine's figures cannot: whether a table is faster
 * than another on this CPU (avx2 against avxvnni, avx512 or amx on a CPU
 * that has them), and how near a batch of sequences is to the products'
 * own ceiling. Reads the library's internal kernels.h; built with the
 * other benchmarks:
 *
 *   build/kernel_rate [REPS]
 */
#include "glimp.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_IN = 896, N_OUT = 4864, MAX_TOK = 64, HD = 64, GROUP = 7, N_POS = 1024 };

/* Uniform in [-1, 1) from a 64-bit LCG. */
static float next_value(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(*s >> 40) / (float)(1u << 23) - 1.0f;
}

/* n_out rows of n_in random weights of type t; NULL when out of memory. */
static void *make_weights(uint32_t t, size_t *row_bytes)
{
    size_t rb = t == GLIMP_TYPE_Q8_0   ? N_IN / 32 * sizeof(block_q8_0)
                : t == GLIMP_TYPE_Q4_K ? N_IN / 256 * sizeof(block_q4_K)
                                       : N_IN * sizeof(uint16_t);
    uint8_t *w = malloc(rb * N_OUT);
    float *row = malloc(N_IN * sizeof *row);
    uint64_t s = 12345;
    for (uint32_t r = 0; w && row && r < N_OUT; r++) {
        for (uint32_t i = 0; i < N_IN; i++)
            row[i] = next_value(&s);
        if (t == GLIMP_TYPE_Q8_0)
            glimp_quantize_row_q8_0_ref(row, (block_q8_0 *)(w + r * rb), N_IN);
        else if (t == GLIMP_TYPE_Q4_K)
            glimp_quantize_row_q4_K_ref(row, (block_q4_K *)(w + r * rb), N_IN);
        else
            glimp_quantize_row_f16_ref(row, (uint16_t *)(w + r * rb), N_IN);
    }
    free(row);
    *row_bytes = rb;
    return w;
}

/* Best seconds of reps calls of k's product of w with n_tok tokens. */
static double time_product(const struct glimp_kernels *k, const struct glimp_wmat *w,
                           uint32_t n_tok, const float *x, int reps)
{
    enum glimp_act act;
    glimp_mm_fn fn = glimp_kernels_mm(k, w->type, &act);
    size_t xs = act == GLIMP_ACT_F32 ? N_IN * sizeof(float) : glimp_act_row_bytes(act, N_IN);
    char *xq = aligned_alloc(64, (xs * n_tok + 63) / 64 * 64);
    float *y = malloc((size_t)N_OUT * n_tok * sizeof *y);
    double best = -1.0;
    if (xq && y) {
        for (uint32_t t = 0; t < n_tok; t++) {
            if (act == GLIMP_ACT_F32)
                memcpy(xq + t * xs, x + (size_t)t * N_IN, N_IN * sizeof(float));
            else
                k->quantize[act](x + (size_t)t * N_IN, xq + t * xs, N_IN);
        }
        fn(w, 0, N_OUT, xq, xs, n_tok, y, N_OUT); /* warm-up */
        for (int r = 0; r < reps; r++) {
            double t0 = glimp_now();
            fn(w, 0, N_OUT, xq, xs, n_tok, y, N_OUT);
            double dt = glimp_now() - t0;
            best = best < 0 || dt < best ? dt : best;
        }
    }
    free(xq);
    free(y);
    return best;
}

/* Best seconds of reps calls of k's attention: GROUP heads, N_POS
 * positions, keys and values of two key/value heads interleaved in rows as
 * the engine's cache holds them. */
static double time_attention(const struct glimp_kernels *k, const float *kv, const float *q,
                             int reps)
{
    float *scores = malloc((size_t)GROUP * N_POS * sizeof *scores);
    float out[GROUP * HD];
    double best = -1.0;
    for (int r = 0; scores && r <= reps; r++) {
        double t0 = glimp_now();
        k->attn(q, GROUP, kv, kv + 2 * HD, 4 * HD, N_POS, HD, scores, out);
        double dt = glimp_now() - t0;
        if (r > 0) /* the first is a warm-up */
            best = best < 0 || dt < best ? dt : best;
    }
    free(scores);
    return best;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 50;
    if (reps < 1 || reps > 100000) {
        fprintf(stderr, "usage: kernel_rate [REPS]   (1 to 100000, default 50)\n");
        return 2;
    }
    static const char *const tables[] = {"scalar", "avx2", "avxvnni", "avx512", "amx"};
    static const uint32_t types[] = {GLIMP_TYPE_Q8_0, GLIMP_TYPE_Q4_K, GLIMP_TYPE_F16};
    static const uint32_t toks[] = {1, 8, MAX_TOK};

    uint64_t s = 777;
    float *x = malloc((size_t)MAX_TOK * N_IN * sizeof *x);
    float *kv = malloc((size_t)N_POS * 4 * HD * sizeof *kv), q[GROUP * HD];
    void *w[3] = {0};
    size_t rb[3];
    for (int i = 0; i < 3; i++)
        w[i] = make_weights(types[i], &rb[i]);
    if (!x || !kv || !w[0] || !w[1] || !w[2]) {
        fprintf(stderr, "kernel_rate: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)MAX_TOK * N_IN; i++)
        x[i] = next_value(&s);
    for (size_t i = 0; i < (size_t)N_POS * 4 * HD; i++)
        kv[i] = next_value(&s);
    for (size_t i = 0; i < GROUP * HD; i++)
        q[i] = next_value(&s);

    printf("products of %u x %u weights (GMAC/s, one thread, best of %d); attention of %u "
           "heads over %u positions (ns per head and position)\n\n",
           N_IN, N_OUT, reps, GROUP, N_POS);
    printf("| table | Q8_0 x1 | Q8_0 x8 | Q8_0 x64 | Q4_K x1 | Q4_K x8 | Q4_K x64 | F16 x1 | "
           "F16 x8 | F16 x64 | attention |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    uint32_t features = glimp_kernels_cpu_features();
    for (size_t ti = 0; ti < sizeof tables / sizeof tables[0]; ti++) {
        const char *missing = glimp_kernels_missing(tables[ti], features);
        const struct glimp_kernels *k = missing ? NULL : glimp_kernels_by_name(tables[ti]);
        if (!k) {
            printf("| %s | this CPU or build lacks it%s%s |\n", tables[ti], missing ? ": " : "",
                   missing ? missing : "");
            continue;
        }
        printf("| %s |", tables[ti]);
        for (int i = 0; i < 3; i++) {
            struct glimp_wmat m = {w[i], types[i], N_IN, N_OUT, rb[i]};
            for (size_t j = 0; j < sizeof toks / sizeof toks[0]; j++) {
                /* fewer calls of the slow ones: the scalar table takes
                 * seconds for 64 tokens */
                int n = tables[ti][0] == 's' ? (reps + 9) / 10 : reps;
                double sec = time_product(k, &m, toks[j], x, n);
                printf(" %.1f |", sec > 0 ? (double)N_IN * N_OUT * toks[j] / sec * 1e-9 : 0.0);
            }
        }
        double at = time_attention(k, kv, q, reps);
        printf(" %.2f |\n", at > 0 ? at * 1e9 / ((double)GROUP * N_POS) : 0.0);
        fflush(stdout);
    }
    for (int i = 0; i < 3; i++)
        free(w[i]);
    free(x);
    free(kv);
    return 0;
}
