/* cmd_mkmodel.c - `glimp mkmodel`: write a GGUF model with seeded random
 * weights (or trained ones read from raw float32 files) and a real or
 * built-in vocabulary, for tests, benchmarks and the demo models. */
#include "cli.h"

#include "glimp_testmodel.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char mkmodel_usage[] =
    "usage: glimp mkmodel -o OUT.gguf [options]\n"
    "\n"
    "Write a model with seeded random weights (or those of --weights), laid out\n"
    "as llama.cpp's converter lays out real Qwen3, Qwen2 and Llama checkpoints.\n"
    "\n"
    "  -o, --output PATH     file to write (required)\n"
    "  --arch ARCH           qwen3 (default), qwen2 or llama\n"
    "  --layers N            transformer blocks (default 2)\n"
    "  --embd N              embedding width (default 64)\n"
    "  --heads N             attention heads (default 4)\n"
    "  --kv-heads N          key/value heads, dividing --heads (default 2)\n"
    "  --head-dim N          head size (default: embd / heads)\n"
    "  --ff N                feed-forward width (default 192)\n"
    "  --ctx N               context length (default 4096)\n"
    "  --rope-base F         RoPE frequency base (default 1000000; llama 500000)\n"
    "  --rms-eps F           RMSNorm epsilon (default 1e-6; llama 1e-5)\n"
    "  --tied | --untied     share token_embd as the output matrix (default tied)\n"
    "  --type T              2-D weight type: F32 (default), F16, BF16, Q8_0, Q4_0,\n"
    "                        Q5_0, Q5_1, Q4_K, Q5_K, Q6_K (rows must fill whole\n"
    "                        blocks), or a mix of them per tensor as llama-quantize\n"
    "                        makes it: Q4_K_M, Q5_K_M (rows: multiples of 32)\n"
    "  --seed N              random seed (default 1)\n"
    "  --weights DIR         take every tensor from DIR/<tensor name>.f32 (raw\n"
    "                        little-endian float32, rows of ne0 values as ggml\n"
    "                        lays them out) instead of random values; each file's\n"
    "                        size must match the shape the options above give;\n"
    "                        2-D weights are still converted to --type\n"
    "  --tokenizer PATH      a Hugging Face tokenizer.json, or a folder holding\n"
    "                        tokenizer.json and tokenizer_config.json (default:\n"
    "                        a small built-in byte-level vocabulary)\n"
    "  --name S              general.name (default \"glimp test model\")\n"
    "  -h, --help            show this help\n";

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int
usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "glimp mkmodel: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n%s", mkmodel_usage);
    va_end(ap);
    return 2;
}

static const uint32_t mkmodel_types[] = {
    GLIMP_TYPE_F32,  GLIMP_TYPE_F16,  GLIMP_TYPE_BF16, GLIMP_TYPE_Q8_0, GLIMP_TYPE_Q4_0,
    GLIMP_TYPE_Q5_0, GLIMP_TYPE_Q5_1, GLIMP_TYPE_Q4_K, GLIMP_TYPE_Q5_K, GLIMP_TYPE_Q6_K,
};

static const struct {
    const char *name;
    uint32_t mix;
} mkmodel_mixes[] = {{"Q4_K_M", GLIMP_MIX_Q4_K_M}, {"Q5_K_M", GLIMP_MIX_Q5_K_M}};

/* A tensor type (*type set, *mix NONE) or a mix (*mix set). */
static bool parse_type(const char *s, uint32_t *type, uint32_t *mix)
{
    for (size_t i = 0; i < sizeof mkmodel_types / sizeof mkmodel_types[0]; i++) {
        const struct glimp_type_info *ti = glimp_type_info(mkmodel_types[i]);
        if (ti && strcasecmp(s, ti->name) == 0) {
            *type = mkmodel_types[i];
            *mix = GLIMP_MIX_NONE;
            return true;
        }
    }
    for (size_t i = 0; i < sizeof mkmodel_mixes / sizeof mkmodel_mixes[0]; i++) {
        if (strcasecmp(s, mkmodel_mixes[i].name) == 0) {
            *mix = mkmodel_mixes[i].mix;
            return true;
        }
    }
    return false;
}

static const char *type_label(const struct glimp_testmodel_params *p)
{
    for (size_t i = 0; i < sizeof mkmodel_mixes / sizeof mkmodel_mixes[0]; i++)
        if (p->mix == mkmodel_mixes[i].mix)
            return mkmodel_mixes[i].name;
    return glimp_type_info(p->weight_type)->name;
}

/* --tokenizer: a file is tokenizer.json (its folder may hold the config); a
 * folder must hold tokenizer.json and may hold tokenizer_config.json. The
 * paths are written into buffers of PATH_BUF bytes. */
#define PATH_BUF 4096

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int resolve_tokenizer(const char *arg, char *json, char *config, bool *have_config)
{
    struct stat st;
    if (stat(arg, &st) != 0) {
        fprintf(stderr, "glimp mkmodel: --tokenizer %s: %s\n", arg, strerror(errno));
        return 2;
    }
    int n;
    if (S_ISDIR(st.st_mode)) {
        n = snprintf(json, PATH_BUF, "%s/tokenizer.json", arg);
        if (n > 0 && n < PATH_BUF && !is_file(json)) {
            fprintf(stderr, "glimp mkmodel: --tokenizer %s: no tokenizer.json in that folder\n",
                    arg);
            return 2;
        }
        n = n > 0 && n < PATH_BUF ? snprintf(config, PATH_BUF, "%s/tokenizer_config.json", arg)
                                  : -1;
    } else {
        n = snprintf(json, PATH_BUF, "%s", arg);
        const char *slash = strrchr(arg, '/');
        if (n > 0 && n < PATH_BUF)
            n = slash ? snprintf(config, PATH_BUF, "%.*s/tokenizer_config.json", (int)(slash - arg),
                                 arg)
                      : snprintf(config, PATH_BUF, "tokenizer_config.json");
    }
    if (n < 0 || n >= PATH_BUF) {
        fprintf(stderr, "glimp mkmodel: --tokenizer %s: path too long\n", arg);
        return 2;
    }
    *have_config = is_file(config);
    return 0;
}

static void print_size(uint64_t bytes)
{
    if (bytes >= 1ull << 20)
        printf("%.1f MiB", (double)bytes / (1 << 20));
    else if (bytes >= 1ull << 10)
        printf("%.1f KiB", (double)bytes / (1 << 10));
    else
        printf("%llu bytes", (unsigned long long)bytes);
}

int cmd_mkmodel(int argc, char **argv)
{
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    const char *out = NULL, *tokenizer = NULL;
    bool rope_set = false, eps_set = false;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(mkmodel_usage, stdout);
            return 0;
        }
        if (!strcmp(arg, "--tied")) {
            p.tied_output = true;
            continue;
        }
        if (!strcmp(arg, "--untied")) {
            p.tied_output = false;
            continue;
        }
        if (arg[0] != '-')
            return usage_error("unexpected argument '%s'", arg);
        /* Every other option takes a value: "--opt V" or "--opt=V". */
        char name[32];
        const char *val;
        const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        if (eq && (size_t)(eq - arg) < sizeof name) {
            memcpy(name, arg, (size_t)(eq - arg));
            name[eq - arg] = '\0';
            val = eq + 1;
        } else if (strlen(arg) < sizeof name) {
            memcpy(name, arg, strlen(arg) + 1);
            val = NULL;
        } else {
            return usage_error("unknown option '%s'", arg);
        }
        static const char *const valued[] = {
            "-o",         "--output",   "--arch",      "--layers", "--embd",      "--heads",
            "--kv-heads", "--head-dim", "--ff",        "--ctx",    "--rope-base", "--rms-eps",
            "--type",     "--seed",     "--tokenizer", "--name",   "--weights",
        };
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            known = known || !strcmp(name, valued[k]);
        if (!known)
            return usage_error("unknown option '%s'", arg);
        if (!val) {
            if (i + 1 >= argc)
                return usage_error("option %s needs a value", name);
            val = argv[++i];
        }

        bool ok = true;
        if (!strcmp(name, "-o") || !strcmp(name, "--output")) {
            out = val;
            ok = *val != '\0';
        } else if (!strcmp(name, "--arch")) {
            p.arch = val;
            ok = !strcmp(val, "qwen3") || !strcmp(val, "qwen2") || !strcmp(val, "llama");
        } else if (!strcmp(name, "--layers"))
            ok = cli_parse_u32(val, 1, 1024, &p.n_layer);
        else if (!strcmp(name, "--embd"))
            ok = cli_parse_u32(val, 1, 1u << 20, &p.n_embd);
        else if (!strcmp(name, "--heads"))
            ok = cli_parse_u32(val, 1, 1u << 20, &p.n_head);
        else if (!strcmp(name, "--kv-heads"))
            ok = cli_parse_u32(val, 1, 1u << 20, &p.n_head_kv);
        else if (!strcmp(name, "--head-dim"))
            ok = cli_parse_u32(val, 1, 1u << 20, &p.head_dim);
        else if (!strcmp(name, "--ff"))
            ok = cli_parse_u32(val, 1, 1u << 20, &p.n_ff);
        else if (!strcmp(name, "--ctx"))
            ok = cli_parse_u32(val, 1, UINT32_MAX, &p.n_ctx);
        else if (!strcmp(name, "--rope-base"))
            ok = rope_set = cli_parse_float(val, FLT_TRUE_MIN, FLT_MAX, &p.rope_base);
        else if (!strcmp(name, "--rms-eps"))
            ok = eps_set = cli_parse_float(val, FLT_TRUE_MIN, FLT_MAX, &p.rms_eps);
        else if (!strcmp(name, "--type"))
            ok = parse_type(val, &p.weight_type, &p.mix);
        else if (!strcmp(name, "--seed"))
            ok = cli_parse_u64(val, 0, UINT64_MAX, &p.seed);
        else if (!strcmp(name, "--tokenizer")) {
            tokenizer = val;
            ok = *val != '\0';
        } else if (!strcmp(name, "--name")) {
            p.name = val;
        } else if (!strcmp(name, "--weights")) {
            p.weights_dir = val;
            ok = *val != '\0';
        }
        if (!ok)
            return usage_error("bad value '%s' for %s", val, name);
    }
    if (!out)
        return usage_error("no output file given (-o OUT.gguf)");
    if (!strcmp(p.arch, "llama")) { /* Llama 3's values */
        if (!rope_set)
            p.rope_base = 500000.0f;
        if (!eps_set)
            p.rms_eps = 1e-5f;
    }

    char json_path[PATH_BUF], config_path[PATH_BUF];
    if (tokenizer) {
        bool have_config;
        int rc = resolve_tokenizer(tokenizer, json_path, config_path, &have_config);
        if (rc != 0)
            return rc;
        p.tokenizer_json = json_path;
        p.tokenizer_config_json = have_config ? config_path : NULL;
    }

    int err = glimp_testmodel_write(&p, out);
    if (err != GLIMP_OK)
        return cli_fail("mkmodel", err);

    /* Read the file back: the summary reports what is there. */
    struct glimp_gguf *g;
    if ((err = glimp_gguf_open(out, &g)) != GLIMP_OK)
        return cli_fail("mkmodel", err);
    const struct glimp_gguf_value *tokens = NULL;
    uint64_t n_vocab = 0;
    if (glimp_gguf_get_arr(g, "tokenizer.ggml.tokens", GLIMP_GGUF_STR, &tokens) == GLIMP_OK)
        n_vocab = tokens->arr.n;
    uint64_t n_params = 0;
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++)
        n_params += glimp_gguf_tensor_at(g, i)->n_elements;
    uint32_t head_dim = p.head_dim ? p.head_dim : p.n_embd / p.n_head;

    printf("wrote %s: %s, %u layers, embd %u, %u heads (%u kv, head_dim %u), ff %u, ctx %u, "
           "vocab %llu%s, %s weights, %s, ",
           out, p.arch, p.n_layer, p.n_embd, p.n_head, p.n_head_kv, head_dim, p.n_ff, p.n_ctx,
           (unsigned long long)n_vocab, tokenizer ? "" : " (built-in)", type_label(&p),
           p.tied_output ? "tied" : "untied");
    if (p.weights_dir)
        printf("weights from %s, ", p.weights_dir);
    else
        printf("seed %llu, ", (unsigned long long)p.seed);
    printf("%.2fM params, ", (double)n_params / 1e6);
    print_size(glimp_gguf_file_size(g));
    printf("\n");
    glimp_gguf_close(g);
    return 0;
}
