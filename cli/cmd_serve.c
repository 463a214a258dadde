/* cmd_serve.c - `glimp serve`: the command line of the OpenAI-compatible
 * server (server/). Options in llama-server's spelling where one exists;
 * the router's options of glimp run become the defaults of every request. */
#include "cli.h"

#include "server/server.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char serve_usage[] =
    "usage: glimp serve --slm MODEL --llm MODEL [options]   (routed)\n"
    "       glimp serve -m MODEL [options]                   (one model)\n"
    "\n"
    "An OpenAI-compatible server: /v1/chat/completions (reasoning_content,\n"
    "streaming), /v1/completions (logprobs, token-id prompts), /v1/models,\n"
    "/tokenize, /detokenize, /health, /props, /metrics. With two models every\n"
    "chat request is routed step by step and the routing is shown in a glimp\n"
    "object; model names: glimp, slm, llm, or a method such as glimp:tau=0.8.\n"
    "SIGTERM or Ctrl-C stops it gracefully (exit 0).\n"
    "\n"
    "  --slm MODEL, --llm MODEL  the small and the large model: GGUF files or\n"
    "                        OpenAI-compatible servers' URLs (see remote models)\n"
    "  -m, --model PATH        one model alone\n"
    "server:\n"
    "  --host ADDR             IPv4 address to listen on (default 127.0.0.1)\n"
    "  --port N                port (default 8080; 0: any free one, printed)\n"
    "  -np, --parallel N       requests generated at once (default 4); their tokens\n"
    "                          share each model's forward passes (continuous batching)\n"
    "  -ub, --ubatch N         prompt tokens a shared pass takes, so that a long\n"
    "                          prompt is read in chunks between others' tokens (512)\n"
    "  --prompt-cache N        finished one-model requests' sequences kept per model, so\n"
    "                          that a prompt starting with the same tokens reads only\n"
    "                          the rest (a chat's next turn, a remote router's next\n"
    "                          step); 0: none (default: -np)\n"
    "  --queue N               requests waiting for a slot; beyond, 503 (default 64)\n"
    "  --api-key KEY           require Authorization: Bearer KEY\n"
    "  --api-key-file FILE     the key from FILE (first line)\n"
    "  --timeout S             a request's longest life in seconds; 0: none (default 600)\n"
    "  --grace S               on SIGTERM: seconds running requests may finish (default 10)\n"
    "  --idle-timeout S        close a connection whose bytes stop moving for S seconds\n"
    "                          (headers, body, or an answer not read; default 120)\n"
    "  --max-body BYTES        largest request body (default 4194304)\n"
    "  --log-format F          text (default) or json: one line per request on stderr\n"
    "models:\n"
    "  -t, --threads N         threads of each model's forward passes; 0: one per core\n"
    "  -c, --ctx-size N        context of each sequence; 0: the model's (default 0)\n"
    "routing defaults (a request's glimp object or model name overrides them):\n"
    "  --policy P              glimp, share, instance, random, slm, llm, specreason\n"
    "  --signal S              hinit, hstep or ppl      --glimpse K\n"
    "  --tau X                 (default 1.0)            --share S (default 0.25)\n"
    "  --instance-k K, --instance-z Z, --threshold X, --entropy topk:K|full\n"
    "  --draft N               speculative decoding in LLM steps (default 0)\n"
    "  --answer-model M        slm or llm (default llm)\n"
    "  --profile FILE          routing defaults from a profile (glimp tune); the\n"
    "                          options above override it\n"
    "  --profile NAME=FILE     one more model, glimp:NAME, routed by that profile\n"
    "                          over the defaults (up to 16)\n"
    "  --max-think N, --max-step N, --max-answer N   budgets in tokens\n"
    "sampling defaults (a request's fields override them):\n"
    "  --temp T (0.6), --top-p P (0.95), --top-k K (0), --min-p M (0), --seed S (0)\n"
    "  --no-think              thinking off unless a request turns it on\n"
    CLI_REMOTE_USAGE
    "  -h, --help              show this help\n";

/* The first line of a key file, without its line end. */
static char *read_key(const char *path)
{
    char *data = NULL;
    size_t n = 0;
    if (cli_read_file("serve", path, &data, &n) != 0)
        return NULL;
    data[strcspn(data, "\r\n")] = '\0';
    if (!data[0]) {
        fprintf(stderr, "glimp serve: %s: the key is empty\n", path);
        free(data);
        return NULL;
    }
    return data;
}

/* NAME=FILE with NAME of letters, digits, '_', '-' and '.', else NULL. */
static const char *profile_name_end(const char *v)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || eq - v >= 64)
        return NULL;
    for (const char *c = v; c < eq; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
            return NULL;
    return eq;
}

/* --profile NAME=FILE, each over the final defaults. */
static int load_named_profiles(int argc, char **argv, struct server_opts *o,
                               struct srv_profile *ps)
{
    size_t n = 0;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--profile") != 0)
            continue;
        const char *v = argv[++i], *eq = profile_name_end(v);
        if (!eq)
            continue; /* the unnamed one: the defaults' */
        if (n == SRV_MAX_PROFILES)
            return cli_usage_error("serve", serve_usage, "more than %d named profiles",
                                   SRV_MAX_PROFILES);
        struct srv_profile *pr = &ps[n];
        snprintf(pr->name, sizeof pr->name, "%.*s", (int)(eq - v), v);
        for (size_t k = 0; k < n; k++)
            if (!strcmp(ps[k].name, pr->name))
                return cli_usage_error("serve", serve_usage, "profile name '%s' given twice",
                                       pr->name);
        pr->path = eq + 1;
        pr->params = o->defaults;
        int rc = glimp_profile_load(pr->path, &pr->params, &pr->info);
        if (rc != GLIMP_OK)
            return cli_fail("serve", rc);
        n++;
    }
    o->profiles = ps;
    o->n_profiles = n;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    struct server_opts o = {
        .host = "127.0.0.1",
        .port = 8080,
        .n_parallel = 4,
        .queue = 64,
        .prompt_cache = -1,
        .timeout_s = 600,
        .grace_s = 10,
        .idle_timeout_s = 120,
        .max_body = 4u << 20,
        .defaults = glimp_router_default_params(),
    };
    struct glimp_router_params *p = &o.defaults;
    static struct srv_profile profiles[SRV_MAX_PROFILES];
    /* the unnamed profile first: the options override it */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--profile") && !profile_name_end(argv[i + 1]))
            o.profile_path = argv[++i];
    int prc;
    if (o.profile_path &&
        (prc = glimp_profile_load(o.profile_path, p, &o.profile_info)) != GLIMP_OK)
        return cli_fail("serve", prc);
    const char *key_file = NULL;
    char *key_buf = NULL;
    struct cli_remote remote = {0};
    char *rkey[2] = {NULL, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(serve_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--no-think")) {
            p->think = false;
            continue;
        }
        if (i + 1 >= argc)
            return cli_usage_error("serve", serve_usage, "%s needs a value (or is unknown)", a);
        const char *v = argv[++i];
        bool ok = true;
        double d = 0;
        uint64_t u = 0;
        if (cli_remote_option(a, v, &remote, &ok))
            ; /* the models' servers */
        else if (!strcmp(a, "--slm"))
            o.slm = v;
        else if (!strcmp(a, "--llm"))
            o.llm = v;
        else if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            o.model = v;
        else if (!strcmp(a, "--host"))
            o.host = v;
        else if (!strcmp(a, "--port"))
            ok = cli_parse_u32(v, 0, 65535, &o.port);
        else if (!strcmp(a, "-np") || !strcmp(a, "--parallel"))
            ok = cli_parse_u32(v, 1, 256, &o.n_parallel);
        else if (!strcmp(a, "--queue"))
            ok = cli_parse_u32(v, 0, 1u << 16, &o.queue);
        else if (!strcmp(a, "--api-key"))
            o.api_key = v;
        else if (!strcmp(a, "--api-key-file"))
            key_file = v;
        else if (!strcmp(a, "--timeout"))
            ok = cli_parse_double(v, 0, 1e7, &o.timeout_s);
        else if (!strcmp(a, "--grace"))
            ok = cli_parse_double(v, 0, 1e6, &o.grace_s);
        else if (!strcmp(a, "--idle-timeout"))
            ok = cli_parse_u32(v, 1, 86400, &o.idle_timeout_s);
        else if (!strcmp(a, "--max-body")) {
            ok = cli_parse_u64(v, 1024, 1u << 30, &u);
            o.max_body = (size_t)u;
        } else if (!strcmp(a, "--log-format")) {
            ok = !strcmp(v, "text") || !strcmp(v, "json");
            o.log_json = !strcmp(v, "json");
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
            ok = cli_parse_u32(v, 0, 1024, &o.n_threads);
        else if (!strcmp(a, "--prompt-cache")) {
            ok = cli_parse_u64(v, 0, 4096, &u);
            o.prompt_cache = (int64_t)u;
        } else if (!strcmp(a, "-ub") || !strcmp(a, "--ubatch"))
            ok = cli_parse_u32(v, 1, 1u << 20, &o.n_ubatch);
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size"))
            ok = cli_parse_u32(v, 0, 1u << 24, &p->n_ctx);
        else if (!strcmp(a, "--profile"))
            ; /* read before and after the others */
        else if (!strcmp(a, "--policy"))
            ok = glimp_policy_parse(v, &p->policy);
        else if (!strcmp(a, "--signal"))
            ok = glimp_signal_parse(v, &p->signal);
        else if (!strcmp(a, "--glimpse"))
            ok = cli_parse_u32(v, 1, 1u << 20, &p->glimpse);
        else if (!strcmp(a, "--tau"))
            ok = cli_parse_double(v, -INFINITY, INFINITY, &p->tau);
        else if (!strcmp(a, "--share"))
            ok = cli_parse_double(v, 0.0, 1.0, &p->share);
        else if (!strcmp(a, "--instance-k"))
            ok = cli_parse_u32(v, 1, UINT32_MAX, &p->instance_k);
        else if (!strcmp(a, "--instance-z"))
            ok = cli_parse_double(v, -DBL_MAX, DBL_MAX, &p->instance_z);
        else if (!strcmp(a, "--threshold"))
            ok = cli_parse_double(v, 0.0, 10.0, &p->specreason_threshold);
        else if (!strcmp(a, "--entropy"))
            ok = cli_parse_entropy(v, &p->entropy_topk);
        else if (!strcmp(a, "--draft"))
            ok = cli_parse_u32(v, 0, 64, &p->draft);
        else if (!strcmp(a, "--answer-model")) {
            ok = !strcmp(v, "slm") || !strcmp(v, "llm");
            p->answer_model = !strcmp(v, "slm") ? GLIMP_WRITER_SLM : GLIMP_WRITER_LLM;
        } else if (cli_router_option(a, v, p, &ok)) {
            /* budgets, sampling, seed: as glimp run reads them */
        } else {
            return cli_usage_error("serve", serve_usage, "unknown option '%s'", a);
        }
        (void)d;
        if (!ok)
            return cli_usage_error("serve", serve_usage, "%s '%s': not a valid value", a, v);
    }
    p->sampling.seed = p->seed;
    if (o.model && (o.slm || o.llm))
        return cli_usage_error("serve", serve_usage, "give -m MODEL or --slm and --llm, not both");
    if (!o.model && (!o.slm || !o.llm))
        return cli_usage_error("serve", serve_usage,
                               "give --slm MODEL and --llm MODEL, or -m MODEL");
    if (p->glimpse > 1 && p->signal != GLIMP_SIGNAL_HINIT)
        return cli_usage_error("serve", serve_usage, "--glimpse goes with --signal hinit");
    if (o.api_key && key_file)
        return cli_usage_error("serve", serve_usage, "give --api-key or --api-key-file, not both");
    if (key_file && !(o.api_key = key_buf = read_key(key_file)))
        return 1;
    if (glimp_is_url(o.model))
        return cli_usage_error("serve", serve_usage,
                               "-m takes a GGUF file: a server's URL goes with --slm/--llm");
    int status = 0;
    const char *spec[2] = {o.slm, o.llm};
    for (int w = 0; w < 2 && status == 0 && !o.model; w++) {
        if (!glimp_is_url(spec[w]))
            continue;
        status = cli_remote_params("serve", &remote, w, spec[w], spec[1 - w], &o.remote[w],
                                   &rkey[w]);
    }
    if (status == 0)
        status = load_named_profiles(argc, argv, &o, profiles);
    if (status == 0)
        status = server_run(&o);
    free(key_buf);
    for (int w = 0; w < 2; w++)
        if (rkey[w]) {
            memset(rkey[w], 0, strlen(rkey[w]));
            free(rkey[w]);
        }
    return status;
}
