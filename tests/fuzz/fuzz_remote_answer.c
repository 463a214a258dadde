/* fuzz_remote_answer.c - libFuzzer target for what a remote backend reads
 * from a server (src/backend/remote_parse.h, remote_http.h): the input is
 * split into SSE data lines as a stream would be, and each line, and the
 * whole input as one answer, goes through the completion parser (every
 * shape: legacy logprobs, content[], llama-server's and SGLang's natives;
 * by ids, and as text mode reads it into a token table of pieces), the
 * /tokenize, /v1/models, /props and error-body parsers. Beyond "no crash":
 * the SSE splitter never reads past the input, a token has at most
 * BK_TOPK_MAX top entries, most likely first, every log-probability in
 * [-9999, 0]. Also built as a replay program (see replay_main.c). */
#include "backend/pieces.h"
#include "backend/remote_http.h"
#include "backend/remote_parse.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
    fprintf(stderr, "fuzz_remote_answer: %s\n", what);
    abort();
}

/* A resolver that knows one-byte tokens only (their byte is the id). */
static int32_t resolve(void *user, const char *text, size_t len)
{
    (void)user;
    return len == 1 ? (unsigned char)text[0] : -1;
}

static int32_t intern(void *user, const char *text, size_t len)
{
    return pieces_intern(user, text, len);
}

static void check_answer(const struct rp_answer *a)
{
    for (size_t i = 0; i < a->n; i++) {
        const struct rp_tok *t = &a->tok[i];
        if (t->k > BK_TOPK_MAX)
            die("more top entries than BK_TOPK_MAX");
        if (!isnan(t->logprob) && (t->logprob < -9999.0 || t->logprob > 0.0))
            die("a log-probability outside [-9999, 0]");
        for (uint32_t j = 0; j < t->k; j++) {
            if (t->top_lp[j] < -9999.0 || t->top_lp[j] > 0.0)
                die("a top log-probability outside [-9999, 0]");
            if (j > 0 && t->top_lp[j] > t->top_lp[j - 1])
                die("top entries out of order");
        }
    }
    if (a->text && strlen(a->text) > a->text_len)
        die("text longer than text_len");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct rp_answer a = {0};
    size_t off = 0;
    const char *line;
    size_t len, used;
    while (off <= size && rh_sse_next(buf + off, size - off, &used, &line, &len)) {
        if (used == 0 || used > size - off || line < buf + off || line + len > buf + size)
            die("the SSE splitter went outside its input");
        if (rp_parse_answer(line, len, resolve, NULL, &a) == 0)
            check_answer(&a);
        off += used;
    }
    if (rp_parse_answer(buf, size, resolve, NULL, &a) == 0)
        check_answer(&a);
    /* text mode: every token it names is in the table, and gives its
     * bytes back */
    struct pieces *pc;
    if (pieces_new(&pc) != 0)
        die("no memory for a token table");
    if (rp_parse_answer_text(buf, size, intern, pc, &a) == 0) {
        check_answer(&a);
        char piece[PIECES_MAX_LEN];
        size_t n;
        for (size_t i = 0; i < a.n; i++)
            if (!pieces_bytes(pc, a.tok[i].id, piece, sizeof piece, &n))
                die("text mode named a token its table does not hold");
    }
    pieces_free(pc);
    rp_answer_free(&a);
    struct glimp_tokens ids = {0};
    uint32_t mm;
    (void)rp_parse_tokenize(buf, size, &ids, &mm);
    glimp_tokens_free(&ids);
    char name[64], msg[128];
    (void)rp_parse_models(buf, size, name, sizeof name);
    (void)rp_parse_props(buf, size);
    rp_error_message(buf, size, msg, sizeof msg);
    if (strlen(msg) >= sizeof msg)
        die("the error message overran its buffer");
    return 0;
}
