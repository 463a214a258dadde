/* cmd_generate.c - `glimp generate`: evaluate a prompt with one model, then
 * sample tokens and stream their text to stdout, ending with a line of
 * timings on stderr. */
#include "cli.h"

#include "glimp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char generate_usage[] =
    "usage: glimp generate -m MODEL (-p PROMPT | -f FILE) [options]\n"
    "\n"
    "Tokenize the prompt (special tokens such as <|im_start|> parsed, BOS added\n"
    "when the model asks for it), evaluate it, then sample up to N tokens and\n"
    "stream their text to stdout. Stops early at the end-of-sequence or\n"
    "end-of-turn token. A line of timings goes to stderr at the end.\n"
    "\n"
    "  -m, --model PATH      GGUF model (required)\n"
    "  -p, --prompt TEXT     the prompt\n"
    "  -f, --file FILE       read the prompt from FILE ('-': standard input)\n"
    "  -n, --n-predict N     generate at most N tokens (default 128)\n"
    "  --temp T              temperature; 0 is greedy (default 0.8)\n"
    "  --top-k K             keep the K largest logits; 0: off (default 40)\n"
    "  --top-p P             keep the most likely tokens up to probability P;\n"
    "                        1: off (default 0.95)\n"
    "  --min-p M             drop tokens less likely than M times the most\n"
    "                        likely one; 0: off (default 0.05)\n"
    "  --seed S              sampler seed (default 0)\n"
    "  -t, --threads N       threads; 0: one per core (default 0)\n"
    "  -c, --ctx-size N      context in tokens; 0: the model's (default 0)\n"
    "  --chat                send the prompt as one user message through the\n"
    "                        model's chat template\n"
    "  --no-think            with --chat: thinking off (an empty think block)\n"
    "  --ids                 print the generated token ids as a JSON array\n"
    "                        instead of the text\n"
    "  -h, --help            show this help\n"
    "\n"
    "The filters apply in llama.cpp's order: top-k, top-p, min-p, then the\n"
    "temperature.\n";

#define MAX_CTX (1u << 24)
#define MAX_THREADS 1024u

struct gen_opts {
    const char *model, *prompt, *file;
    uint32_t n_predict, n_threads, n_ctx;
    struct glimp_sampler_params sp;
    bool chat, no_think, ids;
};

/* Parse the command line; returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct gen_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(generate_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--chat")) {
            o->chat = true;
            continue;
        } else if (!strcmp(a, "--no-think")) {
            o->no_think = true;
            continue;
        } else if (!strcmp(a, "--ids")) {
            o->ids = true;
            continue;
        }
        static const char *const valued[] = {
            "-m",     "--model",     "-p",        "--prompt", "-f",         "--file",
            "-n",     "--n-predict", "--temp",    "--top-k",  "--top-p",    "--min-p",
            "--seed", "-t",          "--threads", "-c",       "--ctx-size",
        };
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            known = known || !strcmp(a, valued[k]);
        if (!known)
            return cli_usage_error("generate", generate_usage, "unknown option '%s'", a);
        if (i + 1 >= argc)
            return cli_usage_error("generate", generate_usage, "%s needs a value", a);
        const char *v = argv[++i];
        bool ok = true;
        if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            o->model = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt"))
            o->prompt = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file"))
            o->file = v;
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict"))
            ok = cli_parse_u32(v, 0, INT32_MAX, &o->n_predict);
        else if (!strcmp(a, "--temp"))
            ok = cli_parse_float(v, 0.0, 1e6, &o->sp.temperature);
        else if (!strcmp(a, "--top-k"))
            ok = cli_parse_u32(v, 0, UINT32_MAX, &o->sp.top_k);
        else if (!strcmp(a, "--top-p"))
            ok = cli_parse_float(v, 0.0, 1.0, &o->sp.top_p);
        else if (!strcmp(a, "--min-p"))
            ok = cli_parse_float(v, 0.0, 1.0, &o->sp.min_p);
        else if (!strcmp(a, "--seed"))
            ok = cli_parse_u64(v, 0, UINT64_MAX, &o->sp.seed);
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
            ok = cli_parse_u32(v, 0, MAX_THREADS, &o->n_threads);
        else
            ok = cli_parse_u32(v, 0, MAX_CTX, &o->n_ctx);
        if (!ok) {
            const char *want =
                !strcmp(a, "--temp")                             ? "a number >= 0"
                : !strcmp(a, "--top-p") || !strcmp(a, "--min-p") ? "a number from 0 to 1"
                : !strcmp(a, "-t") || !strcmp(a, "--threads")    ? "a whole number up to 1024"
                : !strcmp(a, "-c") || !strcmp(a, "--ctx-size")   ? "a whole number up to 16777216"
                                                                 : "a whole number >= 0";
            return cli_usage_error("generate", generate_usage, "%s '%s': expected %s", a, v, want);
        }
    }
    if (!o->model)
        return cli_usage_error("generate", generate_usage, "no model given (-m MODEL)");
    if (!o->prompt == !o->file)
        return cli_usage_error("generate", generate_usage, "give either -p PROMPT or -f FILE");
    if (o->no_think && !o->chat)
        return cli_usage_error("generate", generate_usage, "--no-think needs --chat");
    return -1;
}

/* The prompt as the model should read it: the text itself, or one user
 * message rendered with the model's chat template. */
static int render_prompt(const struct gen_opts *o, const struct glimp_model *m, const char *text,
                         char **out)
{
    struct glimp_chat_template tmpl;
    int rc = glimp_chat_detect(glimp_model_gguf(m), &tmpl);
    if (rc != GLIMP_OK)
        return cli_fail("generate", rc);
    if (tmpl.fallback)
        fprintf(stderr, "glimp generate: warning: %s\n", tmpl.warning);
    struct glimp_chat_message msg = {.role = "user", .content = text};
    struct glimp_chat_params cp = glimp_chat_default_params();
    cp.enable_thinking = !o->no_think;
    rc = glimp_chat_render(&tmpl, &msg, 1, &cp, out);
    if (rc != GLIMP_OK)
        return cli_fail("generate", rc);
    return 0;
}

/* Write text to stdout now; false when stdout is gone. */
static bool emit(const char *s, size_t n)
{
    if (n && fwrite(s, 1, n, stdout) != n)
        return false;
    return fflush(stdout) == 0;
}

int cmd_generate(int argc, char **argv)
{
    struct gen_opts o = {.n_predict = 128, .sp = glimp_sampler_default_params()};
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;

    char *file_text = NULL, *rendered = NULL;
    size_t len = 0;
    if (o.file && cli_read_file("generate", o.file, &file_text, &len) != 0)
        return 1;
    const char *text = o.file ? file_text : o.prompt;
    if (!o.file)
        len = strlen(text);

    struct glimp_model *m = NULL;
    struct glimp_tokenizer *t = NULL;
    struct glimp_ctx *ctx = NULL;
    struct glimp_seq *seq = NULL;
    struct glimp_sampler *smp = NULL;
    struct glimp_decoder *dec = NULL;
    struct glimp_tokens prompt = {0}, out = {0};
    status = cli_load_model("generate", o.model, o.n_threads, &m, &t);
    if (status == 0 && o.chat && text && memchr(text, '\0', len)) {
        fprintf(stderr, "glimp generate: the prompt holds a NUL byte; --chat needs text\n");
        status = 1;
    }
    if (status == 0 && o.chat && (status = render_prompt(&o, m, text, &rendered)) == 0) {
        text = rendered;
        len = strlen(rendered);
    }
    if (status == 0)
        status = cli_tokenize_prompt("generate", t, text, len, true, &prompt);
    if (status == 0 && o.n_ctx != 0 && prompt.n > o.n_ctx) {
        fprintf(stderr,
                "glimp generate: the prompt is %zu tokens, longer than the context of %u "
                "tokens (-c)\n",
                prompt.n, o.n_ctx);
        status = 1;
    }
    int rc = GLIMP_OK;
    if (status == 0 && (rc = glimp_ctx_init(m, NULL, &ctx)) != GLIMP_OK)
        status = cli_fail("generate", rc);
    if (status == 0 && (rc = glimp_seq_init(m, o.n_ctx, &seq)) != GLIMP_OK)
        status = cli_fail("generate", rc);
    if (status == 0 && prompt.n > glimp_seq_n_ctx(seq)) {
        fprintf(stderr,
                "glimp generate: the prompt is %zu tokens, longer than the context of %u "
                "tokens (the model's; see -c)\n",
                prompt.n, glimp_seq_n_ctx(seq));
        status = 1;
    }
    /* a model's output matrix may have rows past the tokenizer's vocabulary
     * (padding): those ids have no text, so they are never sampled */
    uint32_t n_vocab = 0;
    if (status == 0) {
        n_vocab = glimp_model_info(m)->n_vocab;
        if (glimp_tokenizer_n_vocab(t) < n_vocab)
            n_vocab = glimp_tokenizer_n_vocab(t);
        if ((rc = glimp_sampler_init(&o.sp, n_vocab, &smp)) != GLIMP_OK)
            status = cli_fail("generate", rc);
    }
    if (status == 0 && !(dec = glimp_decoder_init(t, false))) {
        fprintf(stderr, "glimp generate: out of memory\n");
        status = 1;
    }

    const float *logits = NULL;
    double t0 = glimp_now(), t1 = t0, t2 = t0;
    if (status == 0 && (rc = glimp_seq_append(ctx, seq, prompt.ids, prompt.n, false, &logits)) != 0)
        status = cli_fail("generate", rc);
    t1 = t2 = glimp_now();

    const int32_t eos = glimp_tokenizer_eos(t), eot = glimp_tokenizer_eot(t);
    size_t n_gen = 0;
    bool ctx_full = false, out_gone = false;
    while (status == 0 && n_gen < o.n_predict) {
        int32_t id;
        if ((rc = glimp_sampler_sample(smp, logits, n_vocab, &id)) != GLIMP_OK) {
            status = cli_fail("generate", rc);
            break;
        }
        if (id == eos || id == eot)
            break;
        n_gen++;
        if (o.ids) {
            if ((rc = glimp_tokens_push(&out, &id, 1)) != GLIMP_OK) {
                status = cli_fail("generate", rc);
                break;
            }
        } else {
            const char *piece;
            size_t n;
            if ((rc = glimp_decoder_push(dec, id, &piece, &n)) != GLIMP_OK) {
                status = cli_fail("generate", rc);
                break;
            }
            if (!emit(piece, n)) {
                out_gone = true;
                break;
            }
        }
        if (n_gen == o.n_predict)
            break; /* the last token needs no evaluation */
        if (glimp_seq_len(seq) == glimp_seq_n_ctx(seq)) {
            ctx_full = true;
            break;
        }
        if ((rc = glimp_seq_append(ctx, seq, &id, 1, false, &logits)) != GLIMP_OK) {
            status = cli_fail("generate", rc);
            break;
        }
    }
    t2 = glimp_now();

    if (status == 0 && !out_gone) {
        if (o.ids) {
            putchar('[');
            for (size_t i = 0; i < out.n; i++)
                printf(i ? ", %ld" : "%ld", (long)out.ids[i]);
            putchar(']');
        } else {
            const char *piece;
            size_t n;
            if (glimp_decoder_flush(dec, &piece, &n) == GLIMP_OK)
                fwrite(piece, 1, n, stdout);
        }
        putchar('\n');
        out_gone = fflush(stdout) != 0;
    }
    if (out_gone) {
        fprintf(stderr, "glimp generate: writing the output: %s\n", strerror(errno));
        status = 1;
    }
    if (status == 0) {
        if (ctx_full)
            fprintf(stderr, "glimp generate: the context is full (%u tokens); stopped\n",
                    glimp_seq_n_ctx(seq));
        double tp = t1 - t0, tg = t2 - t1;
        fprintf(stderr, "glimp generate: kernels %s\n", glimp_model_info(m)->kernels);
        fprintf(stderr,
                "glimp generate: prompt %zu tokens in %.3f s (%.2f tokens/s), "
                "generated %zu tokens in %.3f s (%.2f tokens/s)\n",
                prompt.n, tp, tp > 0 ? (double)prompt.n / tp : 0.0, n_gen, tg,
                tg > 0 ? (double)n_gen / tg : 0.0);
    }

    glimp_tokens_free(&out);
    glimp_tokens_free(&prompt);
    glimp_decoder_free(dec);
    glimp_sampler_free(smp);
    glimp_seq_free(seq);
    glimp_ctx_free(ctx);
    glimp_tokenizer_free(t);
    glimp_model_free(m);
    free(rendered);
    free(file_text);
    return status;
}
