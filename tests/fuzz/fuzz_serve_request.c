/* fuzz_serve_request.c - libFuzzer target for glimp serve's request parser
 * (server/parse.c): the input, after a first byte that picks the endpoint,
 * is a request body parsed as chat, completions, tokenize or detokenize,
 * then resolved against the server's defaults as a routed and a one-model
 * server would. Beyond "no crash": a refusal names a status of 400..503
 * and a message; an accepted request's values are in their ranges. Also
 * built as a replay program (see replay_main.c). */
#include "server/server.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
    fprintf(stderr, "fuzz_serve_request: %s\n", what);
    abort();
}

static void check_error(const struct srv_error *err)
{
    if (err->status < 400 || err->status > 503 || !err->message[0])
        die("a refusal without a status or a message");
    char *body = srv_error_body(err);
    if (!body)
        die("no error body");
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    int which = data[0] % 4;
    struct srv_error err = {0};
    if (which >= 2) {
        struct srv_tok_req t;
        bool ok = which == 2 ? srv_parse_tokenize(body, len, &t, &err)
                             : srv_parse_detokenize(body, len, &t, &err);
        if (!ok)
            check_error(&err);
        else if (which == 2 && !t.text)
            die("tokenize accepted without text");
        if (ok)
            srv_tok_req_free(&t);
        return 0;
    }
    struct srv_req r;
    enum srv_kind kind = which == 0 ? SRV_CHAT : SRV_COMPLETION;
    if (!srv_parse_request(body, len, kind, &r, &err)) {
        check_error(&err);
        return 0;
    }
    if (kind == SRV_CHAT && r.n_msgs == 0)
        die("chat accepted without messages");
    if (kind == SRV_COMPLETION && !r.prompt && r.n_prompt_ids == 0)
        die("completion accepted without a prompt");
    if (r.logprobs > SRV_MAX_LOGPROBS || r.n_stop > SRV_MAX_STOP)
        die("a value out of its range was accepted");
    if (r.set_temperature && !(r.temperature >= 0.0f))
        die("a bad temperature was accepted");
    if (r.continue_final &&
        (r.add_generation_prompt || strcmp(r.msgs[r.n_msgs - 1].role, "assistant") != 0))
        die("continue_final_message accepted with a generation prompt or no assistant message "
            "to continue");
    struct glimp_router_params defaults = glimp_router_default_params(), p;
    enum srv_target target;
    for (int routed = 0; routed < 2; routed++) {
        struct srv_error e2 = {0};
        if (!srv_resolve_params(&r, &defaults, NULL, 0, routed, "model", &p, &target, &e2))
            check_error(&e2);
        else if (isnan(p.tau) || p.share < 0 || p.share > 1 || p.glimpse < 1)
            die("resolved params out of range");
    }
    srv_req_free(&r);
    return 0;
}
