/* cmd_logits.c - `glimp logits`: evaluate a prompt as one batch and print
 * the largest logits of its last position, or of every position, as JSON
 * (for comparisons against other engines and for tests). */
#include "cli.h"

#include "glimp.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char logits_usage[] =
    "usage: glimp logits -m MODEL (-p PROMPT | -f FILE) [options]\n"
    "\n"
    "Tokenize the prompt (special tokens parsed; BOS added only when the model\n"
    "asks for it), evaluate it as one batch and print one line of JSON:\n"
    "  {\"tokens\":[ID,...],\"positions\":[{\"pos\":P,\"top\":[[ID,LOGIT],...]},...]}\n"
    "with the K largest logits of the last position (ties: lower id first),\n"
    "or of every position with --all. Logits are printed with 9 significant\n"
    "digits, so they read back as the same float.\n"
    "\n"
    "  -m, --model PATH    GGUF model (required)\n"
    "  -p, --prompt TEXT   the prompt\n"
    "  -f, --file FILE     read the prompt from FILE ('-': standard input)\n"
    "  --top K             logits per position (default 10)\n"
    "  --all               every position, not only the last\n"
    "  --no-special        take control tokens written in the text as plain text\n"
    "  -t, --threads N     threads; 0: one per core (default 0)\n"
    "  -h, --help          show this help\n";

/* {"pos":pos,"top":[[id,logit],...]} for one position's n_vocab logits; ids
 * is scratch for k ids. NULL when out of memory. */
static json_t *position_json(size_t pos, const float *logits, uint32_t n_vocab, uint32_t k,
                             int32_t *ids)
{
    size_t n = glimp_logits_top_k(logits, n_vocab, k, ids);
    json_t *top = json_array();
    bool ok = top != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        float x = logits[ids[i]];
        /* a logit that is not finite has no JSON number: null */
        json_t *pair = isfinite(x) ? json_pack("[If]", (json_int_t)ids[i], (double)x)
                                   : json_pack("[In]", (json_int_t)ids[i]);
        ok = pair && json_array_append_new(top, pair) == 0; /* _new: always takes pair */
    }
    if (!ok) {
        json_decref(top);
        return NULL;
    }
    return json_pack("{sIso}", "pos", (json_int_t)pos, "top", top); /* o: takes top */
}

int cmd_logits(int argc, char **argv)
{
    const char *model = NULL, *prompt_arg = NULL, *file = NULL;
    uint32_t top_k = 10, n_threads = 0;
    bool all = false, parse_special = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(logits_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--all")) {
            all = true;
        } else if (!strcmp(a, "--no-special")) {
            parse_special = false;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "-p") ||
                   !strcmp(a, "--prompt") || !strcmp(a, "-f") || !strcmp(a, "--file") ||
                   !strcmp(a, "--top") || !strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (i + 1 >= argc)
                return cli_usage_error("logits", logits_usage, "%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
                model = v;
            } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
                prompt_arg = v;
            } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
                file = v;
            } else if (!strcmp(a, "--top")) {
                if (!cli_parse_u32(v, 1, UINT32_MAX, &top_k))
                    return cli_usage_error("logits", logits_usage,
                                           "--top '%s': expected a whole number >= 1", v);
            } else if (!cli_parse_u32(v, 0, 1024, &n_threads)) {
                return cli_usage_error("logits", logits_usage,
                                       "%s '%s': expected a whole number up to 1024", a, v);
            }
        } else {
            return cli_usage_error("logits", logits_usage, "unknown option '%s'", a);
        }
    }
    if (!model)
        return cli_usage_error("logits", logits_usage, "no model given (-m MODEL)");
    if (!prompt_arg == !file)
        return cli_usage_error("logits", logits_usage, "give either -p PROMPT or -f FILE");

    char *file_text = NULL;
    size_t len = 0;
    if (file && cli_read_file("logits", file, &file_text, &len) != 0)
        return 1;
    const char *text = file ? file_text : prompt_arg;
    if (!file)
        len = strlen(text);

    struct glimp_model *m = NULL;
    struct glimp_tokenizer *t = NULL;
    struct glimp_ctx *ctx = NULL;
    struct glimp_seq *seq = NULL;
    struct glimp_tokens toks = {0};
    int32_t *ids = NULL;
    json_t *root = NULL;
    int status = cli_load_model("logits", model, n_threads, &m, &t);
    if (status == 0)
        status = cli_tokenize_prompt("logits", t, text, len, parse_special, &toks);
    int rc = GLIMP_OK;
    const float *logits = NULL;
    /* a sequence exactly as long as the prompt: one batch, all logits */
    if (status == 0 && toks.n > UINT32_MAX) {
        fprintf(stderr, "glimp logits: the prompt is %zu tokens, too many\n", toks.n);
        status = 1;
    }
    if (status == 0 && (rc = glimp_ctx_init(m, NULL, &ctx)) != GLIMP_OK)
        status = cli_fail("logits", rc);
    if (status == 0 && (rc = glimp_seq_init(m, (uint32_t)toks.n, &seq)) != GLIMP_OK)
        status = cli_fail("logits", rc);
    if (status == 0 &&
        (rc = glimp_seq_append(ctx, seq, toks.ids, toks.n, true, &logits)) != GLIMP_OK)
        status = cli_fail("logits", rc);

    if (status == 0) {
        const uint32_t n_vocab = glimp_model_info(m)->n_vocab;
        uint32_t k = top_k < n_vocab ? top_k : n_vocab;
        json_t *tokens = json_array(), *positions = json_array();
        ids = malloc((size_t)k * sizeof *ids);
        bool ok = tokens && positions && ids;
        for (size_t i = 0; ok && i < toks.n; i++)
            ok = json_array_append_new(tokens, json_integer(toks.ids[i])) == 0;
        for (size_t pos = all ? 0 : toks.n - 1; ok && pos < toks.n; pos++) {
            json_t *p = position_json(pos, logits + pos * n_vocab, n_vocab, k, ids);
            ok = p && json_array_append_new(positions, p) == 0;
        }
        if (ok) /* o: the object takes both */
            root = json_pack("{soso}", "tokens", tokens, "positions", positions);
        else {
            json_decref(tokens);
            json_decref(positions);
        }
        /* %.9g: every float reads back exactly */
        char *s = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
        if (!s) {
            fprintf(stderr, "glimp logits: out of memory\n");
            status = 1;
        } else {
            fputs(s, stdout);
            putchar('\n');
            free(s);
            if (fflush(stdout) != 0) {
                fprintf(stderr, "glimp logits: writing the output: %s\n", strerror(errno));
                status = 1;
            }
        }
    }
    json_decref(root);
    free(ids);
    glimp_tokens_free(&toks);
    glimp_seq_free(seq);
    glimp_ctx_free(ctx);
    glimp_tokenizer_free(t);
    glimp_model_free(m);
    free(file_text);
    return status;
}
