/* bench_tokenize.c - encode throughput of glimp's tokenizer: the tokenizer
 * corpus joined into one text, repeated to about 8 MB, encoded R times.
 * bench/tokenize.sh runs it beside the reference tokenizer
 * (bench/bench_tokenize_ref.mjs), which builds the same text the same way.
 *
 *   bench_tokenize MODEL.gguf [CORPUS.json] [-r REPS] [-m MB]
 *
 * Prints MB/s (1 MB = 10^6 bytes) as mean ± sd over the runs and tokens/s,
 * then one line "result: key=value ..." for scripts. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glimp.h"

#ifdef GLIMP_SOURCE_DIR
#define DEFAULT_CORPUS GLIMP_SOURCE_DIR "/tests/data/tokenizer-corpus.json"
#else
#define DEFAULT_CORPUS "tests/data/tokenizer-corpus.json"
#endif
#define SEPARATOR "\n\n" /* between corpus strings; the .mjs side uses the same */
#define MAX_REPS 1000
#define MAX_MB 1024

static const char usage[] =
    "usage: bench_tokenize MODEL.gguf [CORPUS.json] [-r REPS] [-m MB]\n"
    "\n"
    "Encode the corpus strings (default " DEFAULT_CORPUS "),\n"
    "joined by a blank line and repeated to at least MB megabytes (default 8),\n"
    "REPS times (default 5) after one warm-up run, and print the throughput.\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool parse_int(const char *s, long min, long max, long *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* The corpus strings joined by SEPARATOR, in a malloc'ed buffer. Accepts
 * {"strings": [{"text": ...}, ...]} (tests/data/tokenizer-corpus.json) or a
 * plain array of strings. Entries with "hf_ids" are left out: there the
 * reference is known to differ (see the corpus generator), and the token
 * counts of both sides should agree. */
static char *load_corpus(const char *path, size_t *len, size_t *count)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (!root) {
        fprintf(stderr, "bench_tokenize: %s: %s (line %d)\n", path, err.text, err.line);
        return NULL;
    }
    json_t *arr = json_is_array(root) ? root : json_object_get(root, "strings");
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        fprintf(stderr, "bench_tokenize: %s: no strings\n", path);
        json_decref(root);
        return NULL;
    }
    size_t n = json_array_size(arr), total = 0, used = 0;
    for (size_t pass = 0; pass < 2; pass++) {
        char *buf = pass ? malloc(total + 1) : NULL;
        if (pass && !buf) {
            json_decref(root);
            return NULL;
        }
        size_t o = 0, k = 0; /* bytes and strings so far */
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(arr, i);
            json_t *s = json_is_string(e) ? e : json_object_get(e, "text");
            if (!json_is_string(s)) {
                fprintf(stderr, "bench_tokenize: %s: entry %zu has no text\n", path, i);
                free(buf);
                json_decref(root);
                return NULL;
            }
            if (json_object_get(e, "hf_ids"))
                continue;
            size_t sl = json_string_length(s);
            if (k++) {
                if (pass)
                    memcpy(buf + o, SEPARATOR, strlen(SEPARATOR));
                o += strlen(SEPARATOR);
            }
            if (pass)
                memcpy(buf + o, json_string_value(s), sl);
            o += sl;
        }
        if (pass) {
            buf[o] = '\0';
            *len = o;
            *count = used;
            json_decref(root);
            return buf;
        }
        total = o;
        used = k;
    }
    return NULL; /* not reached */
}

int main(int argc, char **argv)
{
    const char *model = NULL, *corpus = DEFAULT_CORPUS;
    long reps = 5, mb = 8;
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "-r") || !strcmp(argv[i], "-m")) {
            long *v = argv[i][1] == 'r' ? &reps : &mb;
            long max = argv[i][1] == 'r' ? MAX_REPS : MAX_MB;
            if (i + 1 >= argc || !parse_int(argv[i + 1], 1, max, v)) {
                fprintf(stderr, "bench_tokenize: %s needs a number from 1 to %ld\n\n%s", argv[i],
                        max, usage);
                return 2;
            }
            i++;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "bench_tokenize: unknown option %s\n\n%s", argv[i], usage);
            return 2;
        } else if (npos == 0) {
            model = argv[i], npos++;
        } else if (npos == 1) {
            corpus = argv[i], npos++;
        } else {
            fprintf(stderr, "bench_tokenize: too many arguments\n\n%s", usage);
            return 2;
        }
    }
    if (!model) {
        fputs(usage, stderr);
        return 2;
    }

    struct glimp_gguf *g = NULL;
    if (glimp_gguf_open(model, &g) != GLIMP_OK) {
        fprintf(stderr, "bench_tokenize: %s\n", glimp_last_error());
        return 1;
    }
    struct glimp_tokenizer_params tp = glimp_tokenizer_default_params();
    struct glimp_tokenizer *t = NULL;
    int rc = glimp_tokenizer_load(g, &tp, &t);
    glimp_gguf_close(g);
    if (rc != GLIMP_OK) {
        fprintf(stderr, "bench_tokenize: %s: %s\n", model, glimp_last_error());
        return 1;
    }

    size_t one_len = 0, n_strings = 0;
    char *one = load_corpus(corpus, &one_len, &n_strings);
    if (!one) {
        glimp_tokenizer_free(t);
        return 1;
    }
    /* whole copies joined by SEPARATOR until the text reaches mb * 10^6 bytes */
    size_t target = (size_t)mb * 1000000u, sep = strlen(SEPARATOR);
    size_t copies = 1;
    while (copies * one_len + (copies - 1) * sep < target)
        copies++;
    size_t len = copies * one_len + (copies - 1) * sep;
    char *text = malloc(len + 1);
    if (!text) {
        fprintf(stderr, "bench_tokenize: out of memory for %zu bytes\n", len);
        return 1;
    }
    for (size_t c = 0, o = 0; c < copies; c++) {
        if (c) {
            memcpy(text + o, SEPARATOR, sep);
            o += sep;
        }
        memcpy(text + o, one, one_len);
        o += one_len;
    }
    text[len] = '\0';
    free(one);

    printf("bench_tokenize: %s (%u tokens), %s: %zu strings, %zu bytes x %zu = %.2f MB, "
           "%ld runs + 1 warm-up\n",
           model, glimp_tokenizer_n_vocab(t), corpus, n_strings, one_len, copies, len / 1e6, reps);

    struct glimp_tokens toks = {0};
    double *mbs = malloc((size_t)reps * sizeof *mbs), secs = 0;
    size_t n_tokens = 0;
    if (!mbs)
        return 1;
    for (long r = -1; r < reps; r++) {
        toks.n = 0;
        double t0 = now_s();
        rc = glimp_tokenize(t, text, len, true, &toks);
        double dt = now_s() - t0;
        if (rc != GLIMP_OK) {
            fprintf(stderr, "bench_tokenize: glimp_tokenize: %s\n", glimp_last_error());
            return 1;
        }
        if (r < 0) {
            n_tokens = toks.n;
            continue;
        }
        if (toks.n != n_tokens) {
            fprintf(stderr, "bench_tokenize: run %ld gave %zu tokens, the warm-up %zu\n", r, toks.n,
                    n_tokens);
            return 1;
        }
        mbs[r] = len / 1e6 / dt;
        secs += dt;
    }
    double mean = 0, var = 0;
    for (long r = 0; r < reps; r++)
        mean += mbs[r];
    mean /= (double)reps;
    for (long r = 0; r < reps; r++)
        var += (mbs[r] - mean) * (mbs[r] - mean);
    double sd = reps > 1 ? sqrt(var / (double)(reps - 1)) : 0;
    double tok_s = (double)n_tokens * (double)reps / secs;

    printf("glimp: %.2f ± %.2f MB/s, %.3f M tokens/s (%zu tokens per run, %.2f bytes/token)\n",
           mean, sd, tok_s / 1e6, n_tokens, (double)len / (double)n_tokens);
    printf("result: impl=glimp mb_s=%.4f sd=%.4f tokens_s=%.0f tokens=%zu bytes=%zu runs=%ld\n",
           mean, sd, tok_s, n_tokens, len, reps);

    free(mbs);
    free(text);
    glimp_tokens_free(&toks);
    glimp_tokenizer_free(t);
    return 0;
}
