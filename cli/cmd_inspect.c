/* cmd_inspect.c - `glimp inspect FILE`: what a GGUF file holds. A summary
 * (architecture, parameters, bytes per tensor type, context length,
 * vocabulary), then every metadata entry (long arrays and strings shortened
 * unless --full) and every tensor (name, type, shape, offset). */
#include "cli.h"

#include "glimp.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SHOW_ELEMS 8      /* array elements shown before "..." */
#define SHOW_STR_BYTES 96 /* string bytes shown before "..." */

static void usage(FILE *out)
{
    fprintf(out, "usage: glimp inspect [--full] FILE.gguf\n"
                 "  --full   print whole strings and arrays instead of shortening them\n");
}

/* A string as a quoted, escaped literal; invalid UTF-8 bytes as \xNN. */
static void print_str(const struct glimp_str *s, uint64_t limit)
{
    uint64_t n = s->len < limit ? s->len : limit;
    putchar('"');
    for (uint64_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s->ptr[i];
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", stdout);
        else if (ch == '\t')
            fputs("\\t", stdout);
        else if (ch == '\r')
            fputs("\\r", stdout);
        else if (ch < 0x20 || ch == 0x7f)
            printf("\\x%02x", ch);
        else if (ch < 0x80)
            putchar(ch);
        else {
            /* copy a whole well-formed UTF-8 character, escape anything else */
            size_t len = glimp_utf8_char_len(s->ptr + i, (size_t)(n - i));
            bool ok = len > 0;
            if (ok) {
                fwrite(s->ptr + i, 1, (size_t)len, stdout);
                i += (uint64_t)len - 1;
            } else {
                printf("\\x%02x", ch);
            }
        }
    }
    putchar('"');
    if (n < s->len)
        printf("... (%" PRIu64 " bytes)", s->len);
}

static void print_scalar(const struct glimp_gguf_value *v)
{
    switch (v->type) {
    case GLIMP_GGUF_U8:
    case GLIMP_GGUF_U16:
    case GLIMP_GGUF_U32:
    case GLIMP_GGUF_U64: printf("%" PRIu64, v->u); break;
    case GLIMP_GGUF_I8:
    case GLIMP_GGUF_I16:
    case GLIMP_GGUF_I32:
    case GLIMP_GGUF_I64: printf("%" PRId64, v->i); break;
    case GLIMP_GGUF_F32: printf("%.9g", v->f); break;
    case GLIMP_GGUF_F64: printf("%.17g", v->f); break;
    case GLIMP_GGUF_BOOL: fputs(v->b ? "true" : "false", stdout); break;
    default: break;
    }
}

static void print_value(const struct glimp_gguf_value *v, bool full)
{
    uint64_t str_limit = full ? UINT64_MAX : SHOW_STR_BYTES;
    if (v->type == GLIMP_GGUF_STR) {
        print_str(&v->s, str_limit);
        return;
    }
    if (v->type != GLIMP_GGUF_ARR) {
        print_scalar(v);
        return;
    }
    uint64_t n = v->arr.n;
    uint64_t shown = full || n <= SHOW_ELEMS ? n : SHOW_ELEMS;
    printf("[");
    for (uint64_t i = 0; i < shown; i++) {
        if (i)
            printf(", ");
        if (v->arr.type == GLIMP_GGUF_STR) {
            print_str(&v->arr.strs[i], full ? UINT64_MAX : 32);
        } else {
            struct glimp_gguf_value e = {.type = v->arr.type};
            if (v->arr.type == GLIMP_GGUF_F32 || v->arr.type == GLIMP_GGUF_F64)
                e.f = glimp_gguf_arr_f64(v, i);
            else if (v->arr.type == GLIMP_GGUF_BOOL)
                e.b = glimp_gguf_arr_u64(v, i) != 0;
            else if (v->arr.type == GLIMP_GGUF_I8 || v->arr.type == GLIMP_GGUF_I16 ||
                     v->arr.type == GLIMP_GGUF_I32 || v->arr.type == GLIMP_GGUF_I64)
                e.i = glimp_gguf_arr_i64(v, i);
            else
                e.u = glimp_gguf_arr_u64(v, i);
            print_scalar(&e);
        }
    }
    if (shown < n)
        printf(", ... %" PRIu64 " more", n - shown);
    printf("]");
}

static void print_bytes(uint64_t b)
{
    if (b >= (1ull << 30))
        printf("%.2f GiB", (double)b / (double)(1ull << 30));
    else if (b >= (1ull << 20))
        printf("%.2f MiB", (double)b / (double)(1ull << 20));
    else if (b >= 1024)
        printf("%.2f KiB", (double)b / 1024.0);
    else
        printf("%" PRIu64 " B", b);
}

static void print_count(uint64_t n)
{
    if (n >= 1000000000ull)
        printf("%.2f B", (double)n / 1e9);
    else if (n >= 1000000ull)
        printf("%.2f M", (double)n / 1e6);
    else if (n >= 1000ull)
        printf("%.2f K", (double)n / 1e3);
    else
        printf("%" PRIu64, n);
}

/* "<arch>.<suffix>" as an unsigned integer, if present and integral. */
static bool arch_uint(const struct glimp_gguf *g, const char *arch, const char *suffix,
                      uint64_t *out)
{
    char key[256];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return glimp_gguf_get_u64(g, key, out) == GLIMP_OK;
}

static void print_summary(const struct glimp_gguf *g, const char *path)
{
    printf("file:          %s (", path);
    print_bytes(glimp_gguf_file_size(g));
    printf(", GGUF v%u, alignment %u, data at offset %" PRIu64 ")\n", glimp_gguf_version(g),
           glimp_gguf_alignment(g), glimp_gguf_data_offset(g));

    char arch[128] = "";
    struct glimp_str s;
    if (glimp_gguf_get_str(g, "general.architecture", &s) == GLIMP_OK)
        snprintf(arch, sizeof arch, "%.*s", (int)(s.len < 100 ? s.len : 100), s.ptr);
    printf("architecture:  %s\n", arch[0] ? arch : "(none: general.architecture missing)");
    if (glimp_gguf_get_str(g, "general.name", &s) == GLIMP_OK) {
        printf("name:          ");
        print_str(&s, SHOW_STR_BYTES);
        printf("\n");
    }

    uint64_t params = 0, bytes = 0;
    uint64_t type_bytes[GLIMP_TYPE_COUNT] = {0}, type_count[GLIMP_TYPE_COUNT] = {0};
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++) {
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        params += t->n_elements;
        bytes += t->nbytes;
        type_bytes[t->type] += t->nbytes;
        type_count[t->type]++;
    }
    printf("parameters:    ");
    print_count(params);
    printf(" (%" PRIu64 ") in %" PRIu64 " tensors, ", params, glimp_gguf_n_tensors(g));
    print_bytes(bytes);
    if (params)
        printf(", %.2f bits per weight", 8.0 * (double)bytes / (double)params);
    printf("\n");
    for (uint32_t t = 0; t < GLIMP_TYPE_COUNT; t++) {
        if (!type_count[t])
            continue;
        const struct glimp_type_info *ti = glimp_type_info(t);
        printf("  %-6s %5" PRIu64 " tensors  ", ti->name, type_count[t]);
        print_bytes(type_bytes[t]);
        printf("%s\n", ti->supported ? "" : "  (glimp cannot compute with this type)");
    }

    uint64_t v;
    if (arch[0]) {
        if (arch_uint(g, arch, "context_length", &v))
            printf("context:       %" PRIu64 " tokens\n", v);
        uint64_t layers = 0, embd = 0, heads = 0, kv = 0, ff = 0;
        bool have = arch_uint(g, arch, "block_count", &layers);
        have |= arch_uint(g, arch, "embedding_length", &embd);
        have |= arch_uint(g, arch, "attention.head_count", &heads);
        have |= arch_uint(g, arch, "attention.head_count_kv", &kv);
        have |= arch_uint(g, arch, "feed_forward_length", &ff);
        if (have)
            printf("shape:         %" PRIu64 " layers, %" PRIu64 " wide, %" PRIu64
                   " heads (%" PRIu64 " KV), feed-forward %" PRIu64 "\n",
                   layers, embd, heads, kv, ff);
    }
    const struct glimp_gguf_value *tokens;
    if (glimp_gguf_get_arr(g, "tokenizer.ggml.tokens", GLIMP_GGUF_STR, &tokens) == GLIMP_OK) {
        printf("vocabulary:    %" PRIu64 " tokens", tokens->arr.n);
        if (glimp_gguf_get_str(g, "tokenizer.ggml.model", &s) == GLIMP_OK)
            printf(", model %.*s", (int)(s.len < 64 ? s.len : 64), s.ptr);
        if (glimp_gguf_get_str(g, "tokenizer.ggml.pre", &s) == GLIMP_OK)
            printf(", pre-tokenizer %.*s", (int)(s.len < 64 ? s.len : 64), s.ptr);
        printf("\n");
    } else if (arch[0] && arch_uint(g, arch, "vocab_size", &v)) {
        printf("vocabulary:    %" PRIu64 " tokens\n", v);
    }
}

static void print_metadata(const struct glimp_gguf *g, bool full)
{
    printf("\nmetadata (%" PRIu64 " keys):\n", glimp_gguf_n_kv(g));
    for (uint64_t i = 0; i < glimp_gguf_n_kv(g); i++) {
        const struct glimp_gguf_kv *kv = glimp_gguf_kv_at(g, i);
        char type[32];
        if (kv->val.type == GLIMP_GGUF_ARR)
            snprintf(type, sizeof type, "arr[%s]", glimp_gguf_vtype_name(kv->val.arr.type));
        else
            snprintf(type, sizeof type, "%s", glimp_gguf_vtype_name(kv->val.type));
        printf("  %-40s %-9s ", kv->key, type);
        if (kv->val.type == GLIMP_GGUF_ARR)
            printf("(%" PRIu64 ") ", kv->val.arr.n);
        print_value(&kv->val, full);
        printf("\n");
    }
}

static void print_tensors(const struct glimp_gguf *g)
{
    printf("\ntensors (%" PRIu64 "):\n", glimp_gguf_n_tensors(g));
    printf("  %-40s %-7s %-26s %12s %12s\n", "name", "type", "shape", "offset", "bytes");
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++) {
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        char shape[96];
        int len = 0;
        for (uint32_t d = 0; d < t->n_dims; d++)
            len += snprintf(shape + len, sizeof shape - (size_t)len, "%s%" PRIu64, d ? " x " : "",
                            t->ne[d]);
        printf("  %-40s %-7s %-26s %12" PRIu64 " %12" PRIu64 "\n", t->name,
               glimp_type_info(t->type)->name, shape, glimp_gguf_data_offset(g) + t->offset,
               t->nbytes);
    }
}

int cmd_inspect(int argc, char **argv)
{
    bool full = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--full") == 0) {
            full = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "glimp inspect: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (path) {
            fprintf(stderr, "glimp inspect: one file at a time ('%s' and '%s')\n", path, argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    struct glimp_gguf *g;
    int err = glimp_gguf_open(path, &g);
    if (err)
        return cli_fail("inspect", err);
    print_summary(g, path);
    print_metadata(g, full);
    print_tensors(g);
    glimp_gguf_close(g);
    return 0;
}
