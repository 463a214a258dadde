/* util.c - what the model-running commands (generate, logits, bench) share:
 * usage errors, strict number parsing, reading a prompt file, loading a
 * model with its tokenizer, and a monotonic clock. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "glimp %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n%s", usage);
    va_end(ap);
    return 2;
}

bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') /* no sign, no space: strtoull would take both */
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!cli_parse_u64(s, min, max, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

bool cli_parse_float(const char *s, double min, double max, float *out)
{
    if (!s || *s == '\0' || isspace((unsigned char)*s)) /* strtod would skip it */
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
        return false;
    *out = (float)v;
    return true;
}

/* A double in [min, max]: what strtod reads, the whole string; "inf" and
 * "-inf" when the range holds them; never NaN or an overflow. */
bool cli_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || *s == '\0' || isspace((unsigned char)*s)) /* strtod would skip it */
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    bool overflow = errno == ERANGE && fabs(v) > 1.0; /* underflow: the tiny value stands */
    if (*end != '\0' || overflow || isnan(v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int cli_make_dir(const char *cmd, const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "glimp %s: cannot create %s: %s\n", cmd, dir, strerror(errno));
        return 1;
    }
    return 0;
}

int cli_read_file(const char *cmd, const char *path, char **data, size_t *size)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "glimp %s: %s: %s\n", cmd, path, strerror(errno));
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = cap <= (SIZE_MAX - 1) / 2 ? realloc(buf, cap * 2 + 1) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    bool failed = !buf || ferror(f);
    int saved = errno;
    if (f != stdin)
        fclose(f);
    if (failed) {
        fprintf(stderr, "glimp %s: %s: %s\n", cmd, path, buf ? strerror(saved) : "out of memory");
        free(buf);
        return 1;
    }
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return 0;
}

struct glimp_model_params cli_model_params(uint32_t n_threads)
{
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_threads = n_threads;
    mp.kernels = getenv("GLIMP_KERNELS"); /* NULL: auto */
    return mp;
}

int cli_load_model(const char *cmd, const char *path, uint32_t n_threads, struct glimp_model **m,
                   struct glimp_tokenizer **t)
{
    struct glimp_model_params mp = cli_model_params(n_threads);
    int rc = glimp_model_load(path, &mp, m);
    if (rc != GLIMP_OK)
        return cli_fail(cmd, rc);
    const char *note = glimp_model_info(*m)->kernels_note;
    if (note[0])
        fprintf(stderr, "glimp %s: warning: %s\n", cmd, note);
    if (!t)
        return 0;
    rc = glimp_tokenizer_load(glimp_model_gguf(*m), NULL, t);
    if (rc != GLIMP_OK) {
        int status = cli_fail(cmd, rc);
        glimp_model_free(*m);
        *m = NULL;
        return status;
    }
    const char *warning = glimp_tokenizer_warning(*t);
    if (warning[0])
        fprintf(stderr, "glimp %s: warning: %s\n", cmd, warning);
    return 0;
}

int cli_tokenize_prompt(const char *cmd, const struct glimp_tokenizer *t, const char *text,
                        size_t len, bool parse_special, struct glimp_tokens *out)
{
    int32_t bos = glimp_tokenizer_bos(t);
    int rc = glimp_tokenize(t, text, len, parse_special, out);
    if (rc != GLIMP_OK)
        return cli_fail(cmd, rc);
    if (glimp_tokenizer_add_bos(t) && bos >= 0 && (out->n == 0 || out->ids[0] != bos)) {
        if ((rc = glimp_tokens_insert(out, 0, &bos, 1)) != GLIMP_OK)
            return cli_fail(cmd, rc);
    }
    if (out->n == 0) {
        fprintf(stderr, "glimp %s: the prompt is empty: no tokens to evaluate\n", cmd);
        return 1;
    }
    return 0;
}


bool cli_router_option(const char *a, const char *v, struct glimp_router_params *p, bool *ok)
{
    if (!strcmp(a, "--max-think"))
        *ok = cli_parse_u32(v, 0, INT32_MAX, &p->max_think);
    else if (!strcmp(a, "--max-step"))
        *ok = cli_parse_u32(v, 1, 1u << 20, &p->max_step);
    else if (!strcmp(a, "--max-answer"))
        *ok = cli_parse_u32(v, 1, 1u << 24, &p->max_answer);
    else if (!strcmp(a, "--temp"))
        *ok = cli_parse_float(v, 0.0, 1e6, &p->sampling.temperature);
    else if (!strcmp(a, "--top-p"))
        *ok = cli_parse_float(v, 0.0, 1.0, &p->sampling.top_p);
    else if (!strcmp(a, "--min-p"))
        *ok = cli_parse_float(v, 0.0, 1.0, &p->sampling.min_p);
    else if (!strcmp(a, "--top-k"))
        *ok = cli_parse_u32(v, 0, UINT32_MAX, &p->sampling.top_k);
    else if (!strcmp(a, "--seed"))
        *ok = cli_parse_u64(v, 0, UINT64_MAX / 2, &p->seed);
    else if (!strcmp(a, "--segment")) {
        *ok = glimp_segment_parse(v, p) == GLIMP_OK;
        if (!*ok) /* say what is wrong with it (a pattern that does not compile) */
            fprintf(stderr, "%s\n", glimp_last_error());
    } else
        return false;
    return true;
}

json_t *cli_json_number(double x)
{
    if (isnan(x))
        return json_null();
    if (isinf(x))
        return json_string(x > 0 ? "inf" : "-inf");
    return json_real(x);
}

int cli_profile_prescan(const char *cmd, int argc, char **argv, struct glimp_router_params *p,
                        struct glimp_profile_info *info, const char **path)
{
    *path = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--profile"))
            *path = argv[++i];
    if (!*path)
        return 0;
    int rc = glimp_profile_load(*path, p, info);
    if (rc != GLIMP_OK)
        return cli_fail(cmd, rc);
    return 0;
}

void cli_profile_warn_pair(const char *cmd, const char *path, const struct glimp_profile_info *info,
                           const struct glimp_backend *slm, const struct glimp_backend *llm)
{
    char why[1024];
    if (path && !glimp_profile_check_pair(info, slm, llm, why, sizeof why))
        fprintf(stderr, "glimp %s: warning: profile %s: %s\n", cmd, path, why);
}

/* ------------------------------------------------------------ models by path or URL */

bool cli_remote_option(const char *a, const char *v, struct cli_remote *r, bool *ok)
{
    *ok = true;
    for (int w = 0; w < 2; w++) {
        const char *role = w ? "--llm" : "--slm";
        size_t rl = strlen(role);
        if (strncmp(a, role, rl) != 0)
            continue;
        const char *rest = a + rl;
        if (!strcmp(rest, "-model"))
            r->model[w] = v;
        else if (!strcmp(rest, "-api-key-file"))
            r->key_file[w] = v;
        else if (!strcmp(rest, "-vocab"))
            r->vocab[w] = v;
        else
            continue;
        return true;
    }
    if (!strcmp(a, "--remote-timeout"))
        *ok = cli_parse_double(v, 0.001, 1e6, &r->timeout_s);
    else if (!strcmp(a, "--remote-probe")) {
        *ok = !strcmp(v, "stream") || !strcmp(v, "request");
        r->probe_request = !strcmp(v, "request");
    } else if (!strcmp(a, "--remote-sync")) {
        *ok = !strcmp(v, "eager") || !strcmp(v, "lazy");
        r->lazy_sync = !strcmp(v, "lazy");
    } else if (!strcmp(a, "--remote-retries"))
        *ok = cli_parse_u32(v, 0, 100, &r->retries), r->set_retries = true;
    else
        return false;
    return true;
}

/* The key of role w: the file's first line, else the environment. */
static int remote_key(const char *cmd, const struct cli_remote *r, int w, char **key)
{
    *key = NULL;
    if (r->key_file[w]) {
        size_t n = 0;
        if (cli_read_file(cmd, r->key_file[w], key, &n) != 0)
            return 1;
        (*key)[strcspn(*key, "\r\n")] = '\0';
        if (!(*key)[0]) {
            fprintf(stderr, "glimp %s: %s: the key is empty\n", cmd, r->key_file[w]);
            free(*key);
            *key = NULL;
            return 1;
        }
        return 0;
    }
    const char *env = getenv(w ? "GLIMP_LLM_API_KEY" : "GLIMP_SLM_API_KEY");
    if (env && env[0] && !(*key = strdup(env))) {
        fprintf(stderr, "glimp %s: out of memory\n", cmd);
        return 1;
    }
    return 0;
}

int cli_remote_params(const char *cmd, const struct cli_remote *r, int w, const char *url,
                      const char *other, struct glimp_remote_params *rp, char **key)
{
    *rp = glimp_remote_default_params();
    rp->url = url;
    rp->model = r->model[w];
    if (r->timeout_s > 0)
        rp->token_timeout_s = r->timeout_s;
    if (r->set_retries)
        rp->retries = r->retries;
    rp->probe_request = r->probe_request;
    rp->no_eager_sync = r->lazy_sync;
    /* the vocabulary: the one given (the server's /tokenize must agree
     * with it), "none" for text mode, else the other model's file, and
     * text mode where the server's /tokenize does not agree with it */
    if (r->vocab[w] && !strcmp(r->vocab[w], "none"))
        rp->vocab = NULL;
    else if (r->vocab[w])
        rp->vocab = r->vocab[w];
    else {
        rp->vocab = other && !glimp_is_url(other) ? other : NULL;
        rp->vocab_checked = false;
    }
    if (remote_key(cmd, r, w, key) != 0)
        return 1;
    rp->api_key = *key;
    return 0;
}

int cli_open_models(const char *cmd, const char *slm, const char *llm, const struct cli_remote *r,
                    uint32_t n_threads, struct glimp_backend **out_slm,
                    struct glimp_backend **out_llm)
{
    const char *spec[2] = {slm, llm};
    struct glimp_backend *b[2] = {NULL, NULL};
    struct glimp_model_params mp = cli_model_params(n_threads);
    int status = 0;
    for (int w = 0; w < 2 && status == 0; w++) {
        const char *name = w ? "llm" : "slm";
        if (!glimp_is_url(spec[w])) {
            if (r->model[w] || r->vocab[w] || r->key_file[w])
                fprintf(stderr, "glimp %s: note: --%s-model, --%s-vocab and --%s-api-key-file "
                        "are for a server's URL; %s is a file\n", cmd, name, name, name, spec[w]);
            int rc = glimp_backend_local_open(spec[w], &mp, &b[w]);
            if (rc != GLIMP_OK)
                status = cli_fail(cmd, rc);
            continue;
        }
        struct glimp_remote_params rp;
        char *key = NULL;
        if (cli_remote_params(cmd, r, w, spec[w], spec[1 - w], &rp, &key) != 0) {
            status = 1;
            break;
        }
        int rc = glimp_backend_remote_open(&rp, &b[w]);
        if (key) {
            memset(key, 0, strlen(key));
            free(key);
        }
        if (rc != GLIMP_OK) {
            status = cli_fail(cmd, rc);
            break;
        }
        fprintf(stderr, "glimp %s: %s: %s\n", cmd, name, glimp_backend_describe(b[w]));
    }
    if (status != 0) {
        glimp_backend_free(b[0]);
        glimp_backend_free(b[1]);
        return status;
    }
    *out_slm = b[0];
    *out_llm = b[1];
    return 0;
}

void cli_print_network(FILE *f, const struct glimp_backend *slm, const struct glimp_backend *llm)
{
    const struct glimp_backend *b[2] = {slm, llm};
    for (int w = 0; w < 2; w++) {
        if (!glimp_backend_is_remote(b[w]))
            continue;
        struct glimp_remote_stats st;
        glimp_backend_remote_stats(b[w], &st);
        fprintf(f,
                "network:  %s %llu requests (%llu retried, %llu closed early), %.3f s to first "
                "bytes, %.3f s streaming; eager sync %llu prefills (%llu failed), %.3f s in "
                "flight, %.3f s waited for\n",
                w ? "llm" : "slm", (unsigned long long)st.requests,
                (unsigned long long)st.retries, (unsigned long long)st.aborted, st.first_byte_s,
                st.stream_s, (unsigned long long)st.prefills,
                (unsigned long long)st.prefills_failed, st.prefill_s, st.prefill_wait_s);
    }
}

json_t *cli_network_json(const struct glimp_backend *b)
{
    if (!glimp_backend_is_remote(b))
        return json_null();
    struct glimp_remote_stats st;
    glimp_backend_remote_stats(b, &st);
    return json_pack("{s:I,s:I,s:I,s:f,s:f,s:I,s:I,s:f,s:f}", "requests",
                     (json_int_t)st.requests, "retries", (json_int_t)st.retries, "aborted",
                     (json_int_t)st.aborted, "first_byte_s", st.first_byte_s, "stream_s",
                     st.stream_s, "prefills", (json_int_t)st.prefills, "prefills_failed",
                     (json_int_t)st.prefills_failed, "prefill_s", st.prefill_s,
                     "prefill_wait_s", st.prefill_wait_s);
}

bool cli_parse_entropy(const char *s, uint32_t *out)
{
    if (!strcmp(s, "full")) {
        *out = 0;
        return true;
    }
    return !strncmp(s, "topk:", 5) && cli_parse_u32(s + 5, 1, UINT32_MAX, out);
}
