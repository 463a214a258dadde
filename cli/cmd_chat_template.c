/* cmd_chat_template.c - `glimp chat-template`: render a conversation with a
 * model's chat template and print the prompt exactly as the model will read
 * it, so that templates can be checked by eye or by diff. */
#include "cli.h"

#include "glimp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char chat_template_usage[] =
    "usage: glimp chat-template -m MODEL.gguf -f MESSAGES.json [options]\n"
    "\n"
    "Print the prompt the model's chat template makes of a conversation, byte for\n"
    "byte (no newline added). MESSAGES.json is an OpenAI-style array of messages,\n"
    "[{\"role\": \"user\", \"content\": \"...\"}, ...], or an object with such an\n"
    "array under \"messages\". Roles: system, user, assistant; an assistant message\n"
    "may carry \"reasoning_content\".\n"
    "\n"
    "  -m, --model PATH            the GGUF model whose template is used (required)\n"
    "  -f, --file PATH             the messages; - reads standard input (required)\n"
    "  --no-think                  enable_thinking=false (Qwen3: empty think block)\n"
    "  --no-generation-prompt      do not open an assistant turn at the end\n"
    "  --continue                  leave the last (assistant) message open to be\n"
    "                              continued: continue_final_message, no generation\n"
    "                              prompt\n"
    "  -h, --help                  show this help\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "glimp chat-template: %s%s%s\n\n%s", msg, arg ? " " : "", arg ? arg : "",
            chat_template_usage);
    return 2;
}

/* Messages read from JSON; the strings point into the JSON document. */
struct messages {
    struct glimp_chat_message *m;
    size_t n;
};

/* Check the document's shape and collect its messages. On failure prints
 * what is wrong, naming the file and the message, and returns false. */
static bool read_messages(const char *path, json_t *doc, struct messages *out)
{
    json_t *arr = doc;
    if (json_is_object(doc)) {
        arr = json_object_get(doc, "messages");
        if (!arr) {
            fprintf(stderr, "glimp chat-template: %s: an object needs a \"messages\" array\n",
                    path);
            return false;
        }
    }
    if (!json_is_array(arr)) {
        fprintf(stderr, "glimp chat-template: %s: messages must be a JSON array\n", path);
        return false;
    }
    size_t n = json_array_size(arr);
    if (n == 0) {
        fprintf(stderr, "glimp chat-template: %s: no messages\n", path);
        return false;
    }
    out->m = calloc(n, sizeof *out->m);
    if (!out->m) {
        fprintf(stderr, "glimp chat-template: out of memory\n");
        return false;
    }
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        json_t *msg = json_array_get(arr, i);
        if (!json_is_object(msg)) {
            fprintf(stderr, "glimp chat-template: %s: message %zu is not an object\n", path, i);
            return false;
        }
        json_t *role = json_object_get(msg, "role");
        json_t *content = json_object_get(msg, "content");
        json_t *reasoning = json_object_get(msg, "reasoning_content");
        if (!json_is_string(role)) {
            fprintf(stderr, "glimp chat-template: %s: message %zu needs a string \"role\"\n", path,
                    i);
            return false;
        }
        if (!json_is_string(content)) {
            fprintf(stderr,
                    "glimp chat-template: %s: message %zu (%s) needs a string \"content\"%s\n",
                    path, i, json_string_value(role),
                    json_is_array(content) ? " (content parts are not supported)" : "");
            return false;
        }
        if (reasoning && !json_is_string(reasoning) && !json_is_null(reasoning)) {
            fprintf(stderr,
                    "glimp chat-template: %s: message %zu: \"reasoning_content\" must be a "
                    "string or null\n",
                    path, i);
            return false;
        }
        json_t *calls = json_object_get(msg, "tool_calls");
        if (calls && !json_is_null(calls) &&
            !(json_is_array(calls) && json_array_size(calls) == 0)) {
            fprintf(stderr, "glimp chat-template: %s: message %zu: tool calls are not supported\n",
                    path, i);
            return false;
        }
        out->m[i].role = json_string_value(role);
        out->m[i].content = json_string_value(content);
        out->m[i].reasoning_content =
            json_is_string(reasoning) ? json_string_value(reasoning) : NULL;
    }
    return true;
}

int cmd_chat_template(int argc, char **argv)
{
    const char *model = NULL, *file = NULL;
    struct glimp_chat_params params = glimp_chat_default_params();

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(chat_template_usage, stdout);
            return 0;
        } else if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            if (++i >= argc)
                return usage_error("missing value for", a);
            model = argv[i];
        } else if (strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0) {
            if (++i >= argc)
                return usage_error("missing value for", a);
            file = argv[i];
        } else if (strcmp(a, "--no-think") == 0) {
            params.enable_thinking = false;
        } else if (strcmp(a, "--no-generation-prompt") == 0) {
            params.add_generation_prompt = false;
        } else if (strcmp(a, "--continue") == 0) {
            params.continue_final_message = true;
            params.add_generation_prompt = false;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option", a);
        } else {
            return usage_error("unexpected argument", a);
        }
    }
    if (!model)
        return usage_error("no model given (-m MODEL.gguf)", NULL);
    if (!file)
        return usage_error("no messages given (-f MESSAGES.json)", NULL);

    json_error_t jerr;
    json_t *doc = strcmp(file, "-") == 0 ? json_loadf(stdin, JSON_DECODE_ANY, &jerr)
                                         : json_load_file(file, JSON_DECODE_ANY, &jerr);
    if (!doc) {
        if (jerr.line < 0)
            fprintf(stderr, "glimp chat-template: %s: %s\n", file, jerr.text);
        else
            fprintf(stderr, "glimp chat-template: %s: not valid JSON: %s (line %d, column %d)\n",
                    file, jerr.text, jerr.line, jerr.column);
        return 1;
    }

    int rc = 1;
    struct messages msgs = {0};
    struct glimp_gguf *g = NULL;
    char *prompt = NULL;
    if (!read_messages(file, doc, &msgs))
        goto done;

    int err = glimp_gguf_open(model, &g);
    if (err) {
        rc = cli_fail("chat-template", err);
        goto done;
    }
    struct glimp_chat_template tmpl;
    err = glimp_chat_detect(g, &tmpl);
    if (err) {
        rc = cli_fail("chat-template", err);
        goto done;
    }
    if (tmpl.fallback)
        fprintf(stderr, "glimp chat-template: warning: %s\n", tmpl.warning);
    err = glimp_chat_render(&tmpl, msgs.m, msgs.n, &params, &prompt);
    if (err) {
        rc = cli_fail("chat-template", err);
        goto done;
    }
    size_t len = strlen(prompt);
    if (fwrite(prompt, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "glimp chat-template: could not write the prompt\n");
        goto done;
    }
    rc = 0;
done:
    free(prompt);
    glimp_gguf_close(g);
    free(msgs.m);
    json_decref(doc);
    return rc;
}
