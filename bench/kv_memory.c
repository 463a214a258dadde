/* kv_memory.c - what N sequences of a long context cost in memory: loads a
 * model, makes N sequences of context CTX, appends TOKENS tokens to each,
 * and prints how much the process's resident memory (VmRSS) and address
 * space (VmSize) grew. Uses only glimp_seq_init and glimp_seq_append, so it
 * builds against any glimp library, old or new, to compare them:
 *
 *   cc -O2 -Iinclude bench/kv_memory.c build/libglimp.a -lm -lpthread -o kv_memory
 *   ./kv_memory MODEL.gguf N CTX TOKENS
 */
#include "glimp.h"

#include <stdio.h>
#include <stdlib.h>

/* VmRSS and VmSize of this process in KiB (0 where /proc does not say). */
static void vm_kib(unsigned long long *rss, unsigned long long *size)
{
    *rss = *size = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %llu", rss);
        sscanf(line, "VmSize: %llu", size);
    }
    fclose(f);
}

static unsigned long arg(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v == 0 || v > 1000000) {
        fprintf(stderr, "kv_memory: '%s': expected a whole number from 1 to 1000000\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: kv_memory MODEL.gguf N CTX TOKENS\n");
        return 2;
    }
    unsigned long n = arg(argv[2]), n_ctx = arg(argv[3]), n_tok = arg(argv[4]);
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_threads = 2;
    struct glimp_model *m = NULL;
    struct glimp_ctx *c = NULL;
    struct glimp_seq *warm = NULL;
    const float *lg;
    int32_t *ids = calloc(n_tok, sizeof *ids);
    struct glimp_seq **s = calloc(n, sizeof *s);
    if (!ids || !s || glimp_model_load(argv[1], &mp, &m) != GLIMP_OK ||
        glimp_ctx_init(m, NULL, &c) != GLIMP_OK) {
        fprintf(stderr, "kv_memory: %s\n", ids && s ? glimp_last_error() : "out of memory");
        return 1;
    }
    uint32_t n_vocab = glimp_model_info(m)->n_vocab;
    for (unsigned long i = 0; i < n_tok; i++)
        ids[i] = (int32_t)((i * 7919) % n_vocab);
    /* one token first, so that the mapping's pages and the context's
     * scratch are in before the measure */
    if (glimp_seq_init(m, 16, &warm) != GLIMP_OK ||
        glimp_seq_append(c, warm, ids, 1, false, &lg) != GLIMP_OK) {
        fprintf(stderr, "kv_memory: %s\n", glimp_last_error());
        return 1;
    }
    glimp_seq_free(warm);
    unsigned long long rss0, vm0, rss1, vm1;
    vm_kib(&rss0, &vm0);
    for (unsigned long i = 0; i < n; i++)
        if (glimp_seq_init(m, (uint32_t)n_ctx, &s[i]) != GLIMP_OK ||
            glimp_seq_append(c, s[i], ids, n_tok, false, &lg) != GLIMP_OK) {
            fprintf(stderr, "kv_memory: sequence %lu: %s\n", i, glimp_last_error());
            return 1;
        }
    vm_kib(&rss1, &vm1);
    printf("%lu sequences, context %lu, %lu tokens each: resident +%.1f MiB, virtual +%.1f MiB\n",
           n, n_ctx, n_tok, (double)(rss1 - rss0) / 1024.0, (double)(vm1 - vm0) / 1024.0);
    for (unsigned long i = 0; i < n; i++)
        glimp_seq_free(s[i]);
    free(s);
    free(ids);
    glimp_ctx_free(c);
    glimp_model_free(m);
    return 0;
}
