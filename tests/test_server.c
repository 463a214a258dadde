/* test_server.c - glimp serve's pure parts without a socket: the request
 * parser's field limits at their edges (stop strings, max_tokens, top_p),
 * and the metrics histograms against Prometheus' rules (a bucket counts
 * the values <= its le, buckets are cumulative, +Inf is the count), checked
 * by hand. The HTTP side is cli_serve.sh's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- parser */

static bool parse(const char *body, enum srv_kind kind, struct srv_req *r, struct srv_error *err)
{
    memset(err, 0, sizeof *err);
    return srv_parse_request(body, strlen(body), kind, r, err);
}

/* The body refused with 400 naming param. */
static void refused(const char *body, enum srv_kind kind, const char *param)
{
    struct srv_req r;
    struct srv_error err;
    if (parse(body, kind, &r, &err)) {
        srv_req_free(&r);
        fail_msg("accepted: %s", body);
    }
    assert_int_equal(err.status, 400);
    if (strcmp(err.param, param) != 0)
        fail_msg("%s: param '%s', want '%s' (%s)", body, err.param, param, err.message);
}

/* A completions body with "stop": the JSON text stop_json. */
static char *stop_body(const char *stop_json)
{
    size_t n = strlen(stop_json) + 64;
    char *b = malloc(n);
    assert_non_null(b);
    snprintf(b, n, "{\"prompt\":\"x\",\"stop\":%s}", stop_json);
    return b;
}

/* A JSON array of k strings "s0", "s1", ... */
static char *stop_array(int k)
{
    size_t cap = 16 + 8 * (size_t)k;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t at = 0;
    s[at++] = '[';
    for (int i = 0; i < k; i++)
        at += (size_t)snprintf(s + at, cap - at, "%s\"s%d\"", i ? "," : "", i);
    s[at++] = ']';
    s[at] = '\0';
    return s;
}

static void test_parse_stop(void **state)
{
    (void)state;
    struct srv_req r;
    struct srv_error err;
    /* empty strings are dropped, the others kept in order */
    assert_true(parse("{\"prompt\":\"x\",\"stop\":[\"a\",\"\",\"bc\"]}", SRV_COMPLETION, &r, &err));
    assert_int_equal(r.n_stop, 2);
    assert_string_equal(r.stop[0], "a");
    assert_string_equal(r.stop[1], "bc");
    srv_req_free(&r);
    assert_true(parse("{\"prompt\":\"x\",\"stop\":\"\\n\"}", SRV_COMPLETION, &r, &err));
    assert_int_equal(r.n_stop, 1);
    assert_string_equal(r.stop[0], "\n");
    srv_req_free(&r);

    /* SRV_MAX_STOP strings are fine, one more is not */
    char *a = stop_array(SRV_MAX_STOP), *b = stop_body(a);
    assert_true(parse(b, SRV_COMPLETION, &r, &err));
    assert_int_equal(r.n_stop, SRV_MAX_STOP);
    assert_string_equal(r.stop[SRV_MAX_STOP - 1], "s7");
    srv_req_free(&r);
    free(a);
    free(b);
    a = stop_array(SRV_MAX_STOP + 1);
    b = stop_body(a);
    refused(b, SRV_COMPLETION, "stop");
    free(a);
    free(b);

    /* SRV_MAX_STOP_LEN bytes are fine, one more is not (string and array) */
    char s[SRV_MAX_STOP_LEN + 8];
    memset(s, 'z', sizeof s);
    s[0] = '"';
    s[SRV_MAX_STOP_LEN + 1] = '"';
    s[SRV_MAX_STOP_LEN + 2] = '\0';
    b = stop_body(s);
    assert_true(parse(b, SRV_COMPLETION, &r, &err));
    assert_int_equal(strlen(r.stop[0]), SRV_MAX_STOP_LEN);
    srv_req_free(&r);
    free(b);
    s[SRV_MAX_STOP_LEN + 1] = 'z';
    s[SRV_MAX_STOP_LEN + 2] = '"';
    s[SRV_MAX_STOP_LEN + 3] = '\0';
    b = stop_body(s);
    refused(b, SRV_COMPLETION, "stop");
    free(b);
    refused("{\"prompt\":\"x\",\"stop\":[\"a\",3]}", SRV_COMPLETION, "stop");
    refused("{\"prompt\":\"x\",\"stop\":7}", SRV_COMPLETION, "stop");
}

static void test_parse_limits(void **state)
{
    (void)state;
    struct srv_req r;
    struct srv_error err;
    const char *chat = "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],";
    char b[256];

    /* max_tokens: chat from 1, completions from 0 (an echo-only request),
     * both up to 2^24; chat prefers max_completion_tokens */
    snprintf(b, sizeof b, "%s\"max_tokens\":0}", chat);
    refused(b, SRV_CHAT, "max_tokens");
    snprintf(b, sizeof b, "%s\"max_tokens\":1}", chat);
    assert_true(parse(b, SRV_CHAT, &r, &err));
    assert_int_equal(r.max_tokens, 1);
    srv_req_free(&r);
    assert_true(parse("{\"prompt\":\"x\",\"max_tokens\":0}", SRV_COMPLETION, &r, &err));
    assert_int_equal(r.max_tokens, 0);
    srv_req_free(&r);
    assert_true(parse("{\"prompt\":\"x\",\"max_tokens\":16777216}", SRV_COMPLETION, &r, &err));
    assert_int_equal(r.max_tokens, 16777216);
    srv_req_free(&r);
    refused("{\"prompt\":\"x\",\"max_tokens\":16777217}", SRV_COMPLETION, "max_tokens");
    assert_true(parse("{\"prompt\":\"x\"}", SRV_COMPLETION, &r, &err));
    assert_int_equal(r.max_tokens, -1);
    srv_req_free(&r);
    snprintf(b, sizeof b, "%s\"max_tokens\":5,\"max_completion_tokens\":9}", chat);
    assert_true(parse(b, SRV_CHAT, &r, &err));
    assert_int_equal(r.max_tokens, 9);
    srv_req_free(&r);
    snprintf(b, sizeof b, "%s\"max_completion_tokens\":0}", chat);
    refused(b, SRV_CHAT, "max_completion_tokens");

    /* top_p in [0, 1], temperature >= 0, n only 1 */
    assert_true(
        parse("{\"prompt\":\"x\",\"top_p\":1.0,\"temperature\":0}", SRV_COMPLETION, &r, &err));
    assert_true(r.set_top_p && r.top_p == 1.0f && r.set_temperature && r.temperature == 0.0f);
    srv_req_free(&r);
    refused("{\"prompt\":\"x\",\"top_p\":1.01}", SRV_COMPLETION, "top_p");
    refused("{\"prompt\":\"x\",\"top_p\":-0.01}", SRV_COMPLETION, "top_p");
    refused("{\"prompt\":\"x\",\"temperature\":-1}", SRV_COMPLETION, "temperature");
    refused("{\"prompt\":\"x\",\"n\":2}", SRV_COMPLETION, "n");
    assert_true(parse("{\"prompt\":\"x\",\"n\":1}", SRV_COMPLETION, &r, &err));
    srv_req_free(&r);
}

/* ------------------------------------------------------------ metrics */

/* The chat fields text-mode clients send: logprobs with top_logprobs, and
 * continue_final_message with add_generation_prompt, as vLLM takes them;
 * logprobs only where one model writes. */
static void test_parse_chat_text_mode(void **state)
{
    (void)state;
    struct srv_req r;
    struct srv_error err;
    const char *asst = "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
                       "{\"role\":\"assistant\",\"content\":\"<think>\\nstep\\n\\n\"}],";
    char b[512];
    snprintf(b, sizeof b, "%s\"logprobs\":true,\"top_logprobs\":%d}", asst, SRV_MAX_LOGPROBS);
    assert_true(parse(b, SRV_CHAT, &r, &err));
    assert_int_equal(r.logprobs, SRV_MAX_LOGPROBS);
    assert_true(r.add_generation_prompt);
    assert_false(r.continue_final);
    srv_req_free(&r);
    snprintf(b, sizeof b, "%s\"logprobs\":true}", asst);
    assert_true(parse(b, SRV_CHAT, &r, &err));
    assert_int_equal(r.logprobs, 0);
    srv_req_free(&r);
    snprintf(b, sizeof b, "%s\"logprobs\":false}", asst);
    assert_true(parse(b, SRV_CHAT, &r, &err));
    assert_int_equal(r.logprobs, -1);
    srv_req_free(&r);
    snprintf(b, sizeof b, "%s\"logprobs\":true,\"top_logprobs\":%d}", asst, SRV_MAX_LOGPROBS + 1);
    refused(b, SRV_CHAT, "top_logprobs");
    snprintf(b, sizeof b, "%s\"logprobs\":true,\"top_logprobs\":-1}", asst);
    refused(b, SRV_CHAT, "top_logprobs");
    snprintf(b, sizeof b, "%s\"top_logprobs\":0}", asst);
    refused(b, SRV_CHAT, "top_logprobs");
    snprintf(b, sizeof b, "%s\"logprobs\":3}", asst);
    refused(b, SRV_CHAT, "logprobs");

    /* continued: add_generation_prompt false when omitted or false */
    snprintf(b, sizeof b, "%s\"continue_final_message\":true}", asst);
    assert_true(parse(b, SRV_CHAT, &r, &err));
    assert_true(r.continue_final);
    assert_false(r.add_generation_prompt);
    srv_req_free(&r);
    snprintf(b, sizeof b, "%s\"continue_final_message\":true,\"add_generation_prompt\":false}", asst);
    assert_true(parse(b, SRV_CHAT, &r, &err));
    assert_true(r.continue_final);
    assert_false(r.add_generation_prompt);
    srv_req_free(&r);
    snprintf(b, sizeof b, "%s\"continue_final_message\":true,\"add_generation_prompt\":true}", asst);
    refused(b, SRV_CHAT, "add_generation_prompt");
    snprintf(b, sizeof b, "%s\"continue_final_message\":1}", asst);
    refused(b, SRV_CHAT, "continue_final_message");
    snprintf(b, sizeof b, "%s\"add_generation_prompt\":\"no\"}", asst);
    refused(b, SRV_CHAT, "add_generation_prompt");
    refused("{\"messages\":[{\"role\":\"assistant\",\"content\":\"a\"},{\"role\":\"user\","
            "\"content\":\"q\"}],\"continue_final_message\":true}",
            SRV_CHAT, "continue_final_message");
    /* without continuing, no generation prompt is a choice of its own */
    snprintf(b, sizeof b, "%s\"add_generation_prompt\":false}", asst);
    assert_true(parse(b, SRV_CHAT, &r, &err));
    assert_false(r.add_generation_prompt);
    assert_false(r.continue_final);
    srv_req_free(&r);

    /* logprobs need one model writing: refused for the router's requests */
    struct glimp_router_params d = glimp_router_default_params(), out;
    enum srv_target target;
    const char *cases[][2] = {{"\"glimp\"", "router"}, {"\"glimp:tau=0.5\"", "router"},
                              {"\"slm\"", "slm"},      {"\"llm\"", "llm"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(b, sizeof b, "%s\"model\":%s,\"logprobs\":true,\"top_logprobs\":2}", asst,
                 cases[i][0]);
        assert_true(parse(b, SRV_CHAT, &r, &err));
        bool ok = srv_resolve_params(&r, &d, NULL, 0, true, "x", &out, &target, &err);
        srv_req_free(&r);
        if (!strcmp(cases[i][1], "router")) {
            assert_false(ok);
            assert_string_equal(err.param, "logprobs");
        } else {
            assert_true(ok);
            assert_int_equal(target, !strcmp(cases[i][1], "slm") ? SRV_TARGET_SLM : SRV_TARGET_LLM);
        }
        memset(&err, 0, sizeof err);
    }
    snprintf(b, sizeof b, "%s\"logprobs\":true}", asst);
    assert_true(parse(b, SRV_CHAT, &r, &err));
    assert_true(srv_resolve_params(&r, &d, NULL, 0, false, "one", &out, &target, &err));
    srv_req_free(&r);
}

static void test_hist_buckets(void **state)
{
    (void)state;
    static const double bounds[3] = {0.5, 1.0, 2.0};
    struct srv_hist h;
    memset(&h, 0, sizeof h);
    /* le is <=: a value equal to a bound belongs to that bucket */
    const double xs[] = {0.1, 0.5, 0.7, 1.0, 2.0, 2.5, 9.0};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        srv_hist_add(&h, bounds, 3, xs[i]);
    assert_int_equal(h.count[0], 2); /* 0.1, 0.5 */
    assert_int_equal(h.count[1], 2); /* 0.7, 1.0 */
    assert_int_equal(h.count[2], 1); /* 2.0 */
    assert_int_equal(h.count[3], 2); /* +Inf: 2.5, 9.0 */
    assert_int_equal(h.n, 7);
    assert_true(fabs(h.sum - 15.8) < 1e-12);
}

/* The exposition: h_init's buckets cumulative and +Inf equal to the count,
 * for values on and between its bounds (0.05, 0.1, 0.2, ... 3.0). */
static void test_metrics_text(void **state)
{
    (void)state;
    struct srv_metrics m;
    memset(&m, 0, sizeof m);
    srv_metrics_init(&m);
    const double xs[] = {0.05, 0.07, 0.1, 3.0, 4.0};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        srv_hist_add(&m.h_init, srv_h_bounds, SRV_H_BUCKETS, xs[i]);
    m.success[SRV_FIN_LENGTH] = 3;
    char *t = srv_metrics_text(&m);
    assert_non_null(t);
    static const char *const want[] = {
        "\nglimp:h_init_bucket{le=\"0.05\"} 1\n",
        "\nglimp:h_init_bucket{le=\"0.1\"} 3\n",
        "\nglimp:h_init_bucket{le=\"0.2\"} 3\n",
        "\nglimp:h_init_bucket{le=\"2.5\"} 3\n",
        "\nglimp:h_init_bucket{le=\"3\"} 4\n",
        "\nglimp:h_init_bucket{le=\"+Inf\"} 5\n",
        "\nglimp:h_init_count 5\n",
        "\nglimp:h_init_sum 7.22\n",
        "\nglimp:time_to_first_token_seconds_bucket{le=\"+Inf\"} 0\n",
        "{finished_reason=\"length\"} 3\n",
        "{finished_reason=\"stop\"} 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(t, want[i]))
            fail_msg("metrics text lacks %s", want[i]);
    free(t);
    srv_metrics_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_stop),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_chat_text_mode),
        cmocka_unit_test(test_hist_buckets),
        cmocka_unit_test(test_metrics_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
