/* cmd_tokenize.c - `glimp tokenize` (text -> token ids, or ids with their
 * pieces) and `glimp detokenize` (ids -> text) with a model's tokenizer. */
#include "cli.h"

#include "glimp.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char tokenize_usage[] =
    "usage: glimp tokenize -m MODEL [--no-special] [--pieces] (TEXT | -f FILE)\n"
    "\n"
    "Encode text with the model's tokenizer and print the token ids as a JSON\n"
    "array on one line. No BOS token is added.\n"
    "\n"
    "  -m, --model PATH   GGUF file whose tokenizer to use (required)\n"
    "  -f, --file FILE    read the text from FILE ('-': standard input)\n"
    "  --                 the next argument is TEXT, even if it starts with '-'\n"
    "  --no-special       take control tokens written in the text (<|im_start|>)\n"
    "                     as plain text; added tokens such as <think> still match\n"
    "  --pieces           print one 'ID<TAB>PIECE' line per token instead, the\n"
    "                     piece's control characters and stray bytes escaped\n"
    "  -h, --help         show this help\n";

static const char detokenize_usage[] =
    "usage: glimp detokenize -m MODEL [--no-special] ID...\n"
    "\n"
    "Decode token ids with the model's tokenizer and print the text, followed\n"
    "by a newline.\n"
    "\n"
    "  -m, --model PATH   GGUF file whose tokenizer to use (required)\n"
    "  --no-special       leave out control tokens (<|im_end|>)\n"
    "  -h, --help         show this help\n";

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "glimp %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n%s", usage);
    va_end(ap);
    return 2;
}

/* Open the model and load its tokenizer; prints the failure. */
static int open_tokenizer(const char *cmd, const char *path, struct glimp_tokenizer **t)
{
    struct glimp_gguf *g = NULL;
    int rc = glimp_gguf_open(path, &g);
    if (rc == GLIMP_OK)
        rc = glimp_tokenizer_load(g, NULL, t);
    glimp_gguf_close(g);
    if (rc != GLIMP_OK)
        return cli_fail(cmd, rc);
    return 0;
}

/* The whole of a file (or stdin for "-") in a malloc'ed buffer. */
static int read_all(const char *path, char **data, size_t *size)
{
    return cli_read_file("tokenize", path, data, size);
}

/* A piece for a terminal: complete UTF-8 characters as they are, control
 * characters and bytes that are no complete character escaped. */
static void print_piece(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t k = 0;
        if (c >= 0x20 && c < 0x7F) {
            k = 1;
        } else if (c >= 0xC2 && c <= 0xF4) {
            size_t need = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
            unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
            k = need;
            for (size_t j = 1; j < need; j++) {
                unsigned char d = i + j < n ? p[i + j] : 0;
                if (d < (j == 1 ? lo : 0x80) || d > (j == 1 ? hi : 0xBF)) {
                    k = 0;
                    break;
                }
            }
            /* C1 controls (U+0080..U+009F) are escaped too */
            if (k == 2 && c == 0xC2 && p[i + 1] < 0xA0)
                k = 0;
        }
        if (k == 1 && c == '\\') {
            fputs("\\\\", stdout);
        } else if (k) {
            fwrite(p + i, 1, k, stdout);
        } else if (c == '\n') {
            fputs("\\n", stdout);
        } else if (c == '\t') {
            fputs("\\t", stdout);
        } else if (c == '\r') {
            fputs("\\r", stdout);
        } else {
            printf("\\x%02X", c);
        }
        i += k ? k : 1;
    }
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *file = NULL, *text = NULL;
    bool parse_special = true, pieces = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(tokenize_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--no-special")) {
            parse_special = false;
        } else if (!strcmp(a, "--pieces")) {
            pieces = true;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "-f") ||
                   !strcmp(a, "--file")) {
            if (i + 1 >= argc)
                return usage_error("tokenize", tokenize_usage, "%s needs a value", a);
            if (!strcmp(a, "-m") || !strcmp(a, "--model"))
                model = argv[++i];
            else
                file = argv[++i];
        } else if (!strcmp(a, "--")) {
            if (i + 2 != argc || text)
                return usage_error("tokenize", tokenize_usage, "give one TEXT after --");
            text = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("tokenize", tokenize_usage, "unknown option '%s'", a);
        } else if (text) {
            return usage_error("tokenize", tokenize_usage, "one TEXT only (quote it), got '%s' too",
                               a);
        } else {
            text = a;
        }
    }
    if (!model)
        return usage_error("tokenize", tokenize_usage, "no model given (-m MODEL)");
    if (!text == !file)
        return usage_error("tokenize", tokenize_usage, "give either TEXT or -f FILE");

    char *data = NULL;
    size_t len;
    if (file) {
        if (read_all(file, &data, &len) != 0)
            return 1;
    } else {
        len = strlen(text);
    }
    struct glimp_tokenizer *t = NULL;
    int status = open_tokenizer("tokenize", model, &t);
    struct glimp_tokens ids = {0};
    if (status == 0) {
        int rc = glimp_tokenize(t, file ? data : text, len, parse_special, &ids);
        if (rc != GLIMP_OK)
            status = cli_fail("tokenize", rc);
    }
    if (status == 0 && pieces) {
        for (size_t i = 0; i < ids.n; i++) {
            char buf[256];
            char *big = NULL;
            const char *p = buf;
            size_t n;
            int rc = glimp_token_to_bytes(t, ids.ids[i], true, buf, sizeof buf, &n);
            if (rc == GLIMP_ERR_RANGE && n > sizeof buf && (big = malloc(n))) {
                rc = glimp_token_to_bytes(t, ids.ids[i], true, big, n, &n);
                p = big;
            }
            if (rc != GLIMP_OK) {
                free(big);
                status = cli_fail("tokenize", rc);
                break;
            }
            printf("%ld\t", (long)ids.ids[i]);
            print_piece((const unsigned char *)p, n);
            putchar('\n');
            free(big);
        }
    } else if (status == 0) {
        putchar('[');
        for (size_t i = 0; i < ids.n; i++)
            printf(i ? ", %ld" : "%ld", (long)ids.ids[i]);
        puts("]");
    }
    glimp_tokens_free(&ids);
    glimp_tokenizer_free(t);
    free(data);
    if (status == 0 && fflush(stdout) != 0) {
        fprintf(stderr, "glimp tokenize: writing the output: %s\n", strerror(errno));
        return 1;
    }
    return status;
}

/* A token id: a whole decimal integer that fits an int32. */
static bool parse_id(const char *s, int32_t *out)
{
    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return false;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = (int32_t)v;
    return true;
}

int cmd_detokenize(int argc, char **argv)
{
    const char *model = NULL;
    bool render_special = true;
    int32_t *ids = calloc((size_t)argc, sizeof *ids);
    size_t n = 0;
    if (!ids) {
        fprintf(stderr, "glimp detokenize: out of memory\n");
        return 1;
    }
    int status = -1;
    for (int i = 1; i < argc && status < 0; i++) {
        const char *a = argv[i];
        bool numeric = a[0] != '-' || (a[1] >= '0' && a[1] <= '9');
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(detokenize_usage, stdout);
            status = 0;
        } else if (!strcmp(a, "--no-special")) {
            render_special = false;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (i + 1 >= argc)
                status = usage_error("detokenize", detokenize_usage, "%s needs a value", a);
            else
                model = argv[++i];
        } else if (!numeric) {
            status = usage_error("detokenize", detokenize_usage, "unknown option '%s'", a);
        } else if (!parse_id(a, &ids[n++])) {
            fprintf(stderr, "glimp detokenize: '%s' is not a token id\n", a);
            status = 1;
        }
    }
    if (status < 0 && !model)
        status = usage_error("detokenize", detokenize_usage, "no model given (-m MODEL)");
    if (status < 0 && n == 0)
        status = usage_error("detokenize", detokenize_usage, "no token ids given");
    struct glimp_tokenizer *t = NULL;
    if (status < 0 && open_tokenizer("detokenize", model, &t) != 0)
        status = 1;
    if (status < 0) {
        uint32_t n_vocab = glimp_tokenizer_n_vocab(t);
        for (size_t i = 0; i < n && status < 0; i++) {
            if (ids[i] < 0 || (uint32_t)ids[i] >= n_vocab) {
                fprintf(stderr,
                        "glimp detokenize: token id %ld is outside the vocabulary [0, %u)\n",
                        (long)ids[i], n_vocab);
                status = 1;
            }
        }
    }
    if (status < 0) {
        char *text = NULL;
        size_t len = 0;
        int rc = glimp_detokenize(t, ids, n, render_special, &text, &len);
        if (rc != GLIMP_OK) {
            status = cli_fail("detokenize", rc);
        } else {
            fwrite(text, 1, len, stdout);
            putchar('\n');
            status = fflush(stdout) == 0 ? 0 : 1;
            if (status)
                fprintf(stderr, "glimp detokenize: writing the output: %s\n", strerror(errno));
        }
        free(text);
    }
    glimp_tokenizer_free(t);
    free(ids);
    return status;
}
