/* test_remote_parse.c - the remote backend's answer parser on what a live
 * llama-server (llama.cpp c392e50) sent glimp's requests: streamed
 * /v1/completions events (content[] with ids, the stop string's and the
 * end of turn's tokens, the last event with usage), the native /completion
 * shape, and the stream of tokens it generated and never sent (each ended
 * inside a UTF-8 character), which shows only in the generated count, and
 * a /v1/chat/completions chunk, and /props (the context). The events are
 * trimmed to two top entries and their timings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "backend/remote_parse.h"
#include "glimp.h"

static void parse(const char *json, struct rp_answer *a)
{
    assert_int_equal(rp_parse_answer(json, strlen(json), NULL, NULL, a), GLIMP_OK);
    assert_false(a->has_error);
}

/* A token of a streamed /v1/completions: its id, ln p at T = 1 and its top
 * entries come in content[]; no count until the end. */
static void test_llama_server_token(void **state)
{
    (void)state;
    static const char ev[] =
        "{\"choices\":[{\"text\":\"\xd7\x94\xd7\x92\",\"index\":0,\"logprobs\":{\"content\":[{"
        "\"id\":135831,\"token\":\"\xd7\x94\xd7\x92\",\"bytes\":[215,148,215,146],"
        "\"logprob\":-10.169431686401367,\"top_logprobs\":[{\"id\":135831,\"token\":"
        "\"\xd7\x94\xd7\x92\",\"bytes\":[215,148,215,146],\"logprob\":-10.169431686401367},{"
        "\"id\":113773,\"token\":\"x\",\"bytes\":[120],\"logprob\":-10.180481910705566}]}]},"
        "\"finish_reason\":null}],\"created\":1796305746,\"model\":\"/tmp/ll_l.gguf\","
        "\"system_fingerprint\":\"b0-unknown\",\"object\":\"text_completion\",\"id\":"
        "\"chatcmpl-uuMUZU9GetwK4Hojq62uR69KeRoIa29T\"}";
    struct rp_answer a = {0};
    parse(ev, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.tok[0].id, 135831);
    assert_true(fabs(a.tok[0].logprob + 10.169431686401367) < 1e-12);
    assert_int_equal(a.tok[0].k, 2);
    assert_int_equal(a.tok[0].top_id[0], 135831);
    assert_int_equal(a.tok[0].top_id[1], 113773);
    assert_true(a.tok[0].top_lp[0] >= a.tok[0].top_lp[1]);
    assert_int_equal(a.finish, RP_FIN_NONE);
    assert_int_equal(a.n_generated, -1);
    assert_int_equal(a.text_len, 4);
    rp_answer_free(&a);
}

/* The stop string's token comes with its id and no text (the server cuts
 * the stop string out whatever include_stop_str_in_output says); the end
 * of turn's token comes with its id too. The last event says "stop" for
 * both, so only the ids tell them apart, and it counts the tokens. */
static void test_llama_server_stop_and_end(void **state)
{
    (void)state;
    static const char stop_tok[] =
        "{\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":{\"content\":[{\"id\":271,"
        "\"token\":\"\",\"bytes\":[],\"logprob\":-11.819669723510742,\"top_logprobs\":[{"
        "\"id\":135831,\"token\":\"a\",\"bytes\":[97],\"logprob\":-10.169431686401367},{"
        "\"id\":113773,\"token\":\"b\",\"bytes\":[98],\"logprob\":-10.180481910705566}]}]},"
        "\"finish_reason\":null}],\"created\":1796306467,\"model\":\"m\",\"object\":"
        "\"text_completion\",\"timings\":{\"prompt_n\":1,\"predicted_n\":1,"
        "\"predicted_per_second\":null}}";
    static const char eot_tok[] =
        "{\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":{\"content\":[{\"id\":151645,"
        "\"token\":\"\",\"bytes\":[],\"logprob\":-12.146744728088379,\"top_logprobs\":[]}]},"
        "\"finish_reason\":null}],\"object\":\"text_completion\"}";
    static const char last[] =
        "{\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}],"
        "\"created\":1796306467,\"model\":\"m\",\"system_fingerprint\":\"b0-unknown\","
        "\"object\":\"text_completion\",\"usage\":{\"completion_tokens\":1,\"prompt_tokens\":7,"
        "\"total_tokens\":8},\"id\":\"chatcmpl-nrmZod0YZNzpC4lCpf5Q0xmIjSk7prXw\","
        "\"timings\":{\"prompt_n\":1,\"predicted_n\":1}}";
    struct rp_answer a = {0};
    parse(stop_tok, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.tok[0].id, 271);
    assert_int_equal(a.tok[0].k, 2);
    assert_int_equal(a.text_len, 0);
    parse(eot_tok, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.tok[0].id, 151645);
    assert_int_equal(a.tok[0].k, 0);
    parse(last, &a);
    assert_int_equal(a.n, 0);
    assert_int_equal(a.finish, RP_FIN_EOS);
    assert_int_equal(a.n_generated, 1);
    parse("[DONE]\n", &a);
    assert_true(a.done_marker);
    assert_int_equal(a.n_generated, -1);
    rp_answer_free(&a);
}

/* Three tokens that each ended inside a UTF-8 character (a lead byte):
 * none was streamed, only the last event says three were generated. */
static void test_llama_server_tokens_never_sent(void **state)
{
    (void)state;
    static const char last[] =
        "{\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"length\"}"
        "],\"created\":1796305900,\"model\":\"gpt-3.5-turbo\",\"system_fingerprint\":"
        "\"b0-unknown\",\"object\":\"text_completion\",\"usage\":{\"completion_tokens\":3,"
        "\"prompt_tokens\":7,\"total_tokens\":10},\"id\":"
        "\"chatcmpl-GD7ObUAkZBUaWcxJWhyTPsZpQUHPS4Rh\"}";
    struct rp_answer a = {0};
    parse(last, &a);
    assert_int_equal(a.n, 0);
    assert_int_equal(a.finish, RP_FIN_LENGTH);
    assert_int_equal(a.n_generated, 3);
    rp_answer_free(&a);
}

/* The native /completion stream: the id in tokens and in
 * completion_probabilities, the count in every event, the end in
 * stop_type. */
static void test_llama_server_native(void **state)
{
    (void)state;
    static const char ev[] =
        "{\"index\":0,\"content\":\"ab\",\"tokens\":[135831],\"stop\":false,\"id_slot\":-1,"
        "\"tokens_predicted\":1,\"tokens_evaluated\":7,\"completion_probabilities\":[{\"id\":"
        "135831,\"token\":\"ab\",\"bytes\":[97,98],\"logprob\":-10.169431686401367,"
        "\"top_logprobs\":[{\"id\":135831,\"token\":\"ab\",\"bytes\":[97,98],\"logprob\":"
        "-10.169431686401367},{\"id\":113773,\"token\":\"c\",\"bytes\":[99],\"logprob\":"
        "-10.180481910705566}]}]}";
    static const char last[] =
        "{\"index\":0,\"content\":\"\",\"tokens\":[],\"id_slot\":0,\"stop\":true,\"model\":"
        "\"gpt-3.5-turbo\",\"tokens_predicted\":1,\"tokens_evaluated\":7,\"has_new_line\":"
        "false,\"truncated\":false,\"stop_type\":\"limit\",\"stopping_word\":\"\","
        "\"tokens_cached\":7}";
    struct rp_answer a = {0};
    parse(ev, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.tok[0].id, 135831);
    assert_int_equal(a.tok[0].k, 2);
    assert_int_equal(a.n_generated, 1);
    assert_int_equal(a.finish, RP_FIN_NONE);
    parse(last, &a);
    assert_int_equal(a.n, 0);
    assert_int_equal(a.finish, RP_FIN_LENGTH);
    assert_int_equal(a.n_generated, 1);
    rp_answer_free(&a);
}

/* /v1/chat/completions streams the same content[] under delta (the
 * trailing assistant message is closed by the template, never continued,
 * so this is what a text mode would read). */
static void test_llama_server_chat_chunk(void **state)
{
    (void)state;
    static const char ev[] =
        "{\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"ab\"},"
        "\"logprobs\":{\"content\":[{\"id\":113773,\"token\":\"ab\",\"bytes\":[97,98],"
        "\"logprob\":-10.241198539733887,\"top_logprobs\":[{\"id\":113773,\"token\":\"ab\","
        "\"bytes\":[97,98],\"logprob\":-10.241198539733887},{\"id\":121432,\"token\":\"c\","
        "\"bytes\":[99],\"logprob\":-10.266407012939453}]}]}}],\"created\":1796306550,"
        "\"model\":\"gpt-3.5-turbo\",\"object\":\"chat.completion.chunk\"}";
    static const char last[] =
        "{\"choices\":[{\"finish_reason\":\"length\",\"index\":0,\"delta\":{}}],"
        "\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":2,"
        "\"prompt_tokens\":9,\"total_tokens\":11}}";
    struct rp_answer a = {0};
    parse(ev, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.tok[0].id, 113773);
    assert_int_equal(a.tok[0].k, 2);
    assert_int_equal(a.text_len, 2);
    parse(last, &a);
    assert_int_equal(a.n, 0);
    assert_int_equal(a.finish, RP_FIN_LENGTH);
    assert_int_equal(a.n_generated, 2);
    rp_answer_free(&a);
}

/* llama-server's /props: the context of each slot (its /tokenize gives
 * none); anything else is no answer. */
static void test_llama_server_props(void **state)
{
    (void)state;
    static const char props[] =
        "{\"default_generation_settings\":{\"id\":0,\"id_task\":-1,\"n_ctx\":4096,"
        "\"speculative\":false,\"is_processing\":false,\"params\":{\"n_predict\":-1}},"
        "\"total_slots\":1,\"model_path\":\"/tmp/ll_l.gguf\",\"chat_template\":\"\","
        "\"build_info\":\"b0-unknown\"}";
    assert_int_equal(rp_parse_props(props, strlen(props)), 4096);
    static const char *none[] = {
        "{}",
        "{\"default_generation_settings\":{\"n_ctx\":0}}",
        "{\"default_generation_settings\":{\"n_ctx\":-4}}",
        "{\"default_generation_settings\":{\"n_ctx\":\"4096\"}}",
        "{\"default_generation_settings\":{\"n_ctx\":99999999999}}",
        "{\"default_generation_settings\":4096}",
        "[4096]",
        "not json",
    };
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        assert_int_equal(rp_parse_props(none[i], strlen(none[i])), 0);
}

/* A count that is not a count is not taken. */
static void test_generated_count_checked(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{\"choices\":[],\"usage\":{\"completion_tokens\":-1}}",
        "{\"choices\":[],\"usage\":{\"completion_tokens\":\"3\"}}",
        "{\"choices\":[],\"usage\":{\"completion_tokens\":1e30}}",
        "{\"choices\":[],\"usage\":{\"completion_tokens\":99999999999}}",
        "{\"choices\":[],\"usage\":7}",
        "{\"content\":\"\",\"tokens_predicted\":null}",
    };
    struct rp_answer a = {0};
    parse("{\"choices\":[],\"usage\":{\"completion_tokens\":5}}", &a); /* vLLM's usage chunk */
    assert_int_equal(a.n_generated, 5);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        parse(bad[i], &a);
        assert_int_equal(a.n_generated, -1);
    }
    rp_answer_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama_server_token),
        cmocka_unit_test(test_llama_server_stop_and_end),
        cmocka_unit_test(test_llama_server_tokens_never_sent),
        cmocka_unit_test(test_llama_server_native),
        cmocka_unit_test(test_llama_server_chat_chunk),
        cmocka_unit_test(test_llama_server_props),
        cmocka_unit_test(test_generated_count_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
