/* main.c - the glimp program: dispatches to a subcommand. */
#include "cli.h"

#include "glimp.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"demo", cmd_demo, "GlimpRouter on the shipped demo pair: table, histogram, transcript"},
    {"run", cmd_run, "a small and a large model reason together, step by step"},
    {"serve", cmd_serve, "an OpenAI-compatible server that routes every request"},
    {"eval", cmd_eval, "run a JSONL benchmark with several methods; report and plots"},
    {"tune", cmd_tune, "run a pilot, pick the routing setting that meets a target, write a profile"},
    {"roi", cmd_roi, "project cost and latency savings from an eval report"},
    {"chat-template", cmd_chat_template, "render messages with a model's chat template"},
    {"inspect", cmd_inspect, "show a GGUF file: summary, metadata, tensors"},
    {"mkmodel", cmd_mkmodel, "write a GGUF test model with seeded random weights"},
    {"tokenize", cmd_tokenize, "encode text to token ids with a model's tokenizer"},
    {"detokenize", cmd_detokenize, "decode token ids to text"},
    {"generate", cmd_generate, "generate text from a prompt, streaming, with timings"},
    {"logits", cmd_logits, "evaluate a prompt and print the top logits as JSON"},
    {"bench", cmd_bench, "measure prefill and decode speed, llama-bench style"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: glimp <command> [options]   (glimp <command> --help for its options)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int cli_fail(const char *cmd, int err)
{
    const char *msg = glimp_last_error();
    fprintf(stderr, "glimp %s: %s\n", cmd, msg[0] ? msg : glimp_strerror(err));
    return err == GLIMP_ERR_REMOTE ? CLI_EXIT_REMOTE : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("glimp 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "glimp: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
