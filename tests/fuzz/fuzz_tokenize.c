/* fuzz_tokenize.c - libFuzzer target for the tokenizer: any bytes must
 * encode to ids inside the vocabulary and decode back, with and without
 * special-token parsing. Two tokenizers over the built-in vocabulary, built
 * once in memory: with llama-bpe (no normaliser) decoding must give the
 * input byte for byte; with qwen2 it must give NFC of valid UTF-8 without
 * added tokens, and re-encoding what it gives must change nothing. The
 * streaming decoder must hand out valid UTF-8 only, the input itself when
 * that is valid. Also built as a replay program (see replay_main.c). */
#include "glimp.h"
#include "testmodel/vocab.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
    fprintf(stderr, "fuzz_tokenize: %s (%s)\n", what, glimp_last_error());
    abort();
}

static struct glimp_tokenizer *build(const char *pre)
{
    struct tm_vocab v;
    if (tm_vocab_builtin(&v) != GLIMP_OK)
        die("built-in vocabulary");
    struct glimp_gguf_writer *w = glimp_gguf_writer_init(3, 32);
    if (!w || glimp_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2") ||
        glimp_gguf_writer_set_str(w, "tokenizer.ggml.pre", pre) ||
        glimp_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", v.n_tokens,
                                      (const char *const *)v.tokens) ||
        glimp_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GLIMP_GGUF_I32, v.n_tokens,
                                  v.types) ||
        glimp_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", v.n_merges,
                                      (const char *const *)v.merges))
        die("writing the vocabulary");
    void *buf = NULL;
    size_t n;
    struct glimp_gguf *g = NULL;
    struct glimp_tokenizer *t = NULL;
    if (glimp_gguf_writer_write_memory(w, &buf, &n) || glimp_gguf_open_memory(buf, n, &g) ||
        glimp_tokenizer_load(g, NULL, &t))
        die("loading the tokenizer");
    glimp_gguf_close(g);
    free(buf);
    glimp_gguf_writer_free(w);
    tm_vocab_free(&v);
    return t;
}

static size_t utf8_len(const uint8_t *p, size_t n)
{
    uint8_t b = p[0];
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static bool valid_utf8(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(p + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

static struct glimp_tokens encode(const struct glimp_tokenizer *t, const uint8_t *data, size_t size,
                                  bool special)
{
    struct glimp_tokens ids = {0};
    if (glimp_tokenize(t, (const char *)data, size, special, &ids) != GLIMP_OK)
        die("glimp_tokenize failed");
    uint32_t n_vocab = glimp_tokenizer_n_vocab(t);
    for (size_t i = 0; i < ids.n; i++)
        if (ids.ids[i] < 0 || (uint32_t)ids.ids[i] >= n_vocab)
            die("id out of range");
    if (size > 0 && ids.n == 0)
        die("text without tokens");
    return ids;
}

static char *decode(const struct glimp_tokenizer *t, const struct glimp_tokens *ids, size_t *len)
{
    char *text;
    if (glimp_detokenize(t, ids->ids, ids->n, true, &text, len) != GLIMP_OK)
        die("glimp_detokenize failed");
    return text;
}

/* Streamed chunks are valid UTF-8; together they are the input when that
 * is valid UTF-8, and never longer than three bytes per input byte. */
static void check_stream(const struct glimp_tokenizer *t, const struct glimp_tokens *ids,
                         const uint8_t *data, size_t size)
{
    struct glimp_decoder *d = glimp_decoder_init(t, true);
    if (!d)
        die("glimp_decoder_init");
    bool valid = valid_utf8(data, size);
    size_t off = 0;
    for (size_t i = 0; i <= ids->n; i++) {
        const char *chunk;
        size_t k;
        int rc = i < ids->n ? glimp_decoder_push(d, ids->ids[i], &chunk, &k)
                            : glimp_decoder_flush(d, &chunk, &k);
        if (rc != GLIMP_OK)
            die("decoder failed");
        if (!valid_utf8((const uint8_t *)chunk, k))
            die("decoder chunk is not valid UTF-8");
        if (valid && (k > size - off || memcmp(chunk, data + off, k) != 0))
            die("decoder output differs from valid input");
        off += k;
    }
    if (valid && off != size)
        die("decoder output shorter than valid input");
    if (off > 3 * size)
        die("decoder output too long");
    glimp_decoder_free(d);
}

static bool same_ids(const struct glimp_tokens *a, const struct glimp_tokens *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->ids, b->ids, a->n * sizeof *a->ids) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct glimp_tokenizer *llama, *qwen;
    if (!llama) {
        llama = build("llama-bpe");
        qwen = build("qwen2");
    }
    for (int special = 0; special < 2; special++) {
        /* llama-bpe: bytes in, the same bytes out */
        struct glimp_tokens ids = encode(llama, data, size, special);
        size_t len;
        char *text = decode(llama, &ids, &len);
        if (len != size || (size && memcmp(text, data, size) != 0))
            die("llama-bpe: decode(encode(x)) != x");
        free(text);
        check_stream(llama, &ids, data, size);
        glimp_tokens_free(&ids);

        /* qwen2: NFC, then stable */
        ids = encode(qwen, data, size, special);
        text = decode(qwen, &ids, &len);
        if (valid_utf8(data, size) && !memchr(data, '<', size)) {
            utf8proc_uint8_t *nfc = NULL;
            utf8proc_ssize_t n = utf8proc_map(data, (utf8proc_ssize_t)size, &nfc,
                                              UTF8PROC_STABLE | UTF8PROC_COMPOSE);
            if (n < 0)
                die("utf8proc rejected valid UTF-8");
            if ((size_t)n != len || memcmp(nfc, text, len) != 0)
                die("qwen2: decode(encode(x)) != NFC(x)");
            free(nfc);
        }
        struct glimp_tokens again = encode(qwen, (const uint8_t *)text, len, special);
        if (!same_ids(&ids, &again))
            die("qwen2: encode(decode(encode(x))) != encode(x)");
        check_stream(qwen, &ids, (const uint8_t *)text, len);
        free(text);
        glimp_tokens_free(&again);
        glimp_tokens_free(&ids);
    }
    return 0;
}
