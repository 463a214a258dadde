/* test_profile.c - routing profiles (glimp.h): written and read back to the
 * same settings and the same bytes, every bad field refused with a message
 * naming it and nothing changed, and the pair a profile was tuned on
 * checked against the pair it is used with (scripted models,
 * fake_backend.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "fake_backend.h"
#include "glimp.h"
#include "testutil.h"

static const char *steps[] = {"a\n\n"};

static void open_fake(const char *name, uint64_t hash, struct glimp_backend **b)
{
    struct fake_params fp = {
        .steps = steps, .n_steps = 1, .answer = "x", .name = name, .vocab_hash = hash};
    assert_int_equal(fake_backend_open(&fp, b), GLIMP_OK);
}

/* Settings unlike the defaults in every field a profile holds. */
static struct glimp_router_params odd_params(void)
{
    struct glimp_router_params p = glimp_router_default_params();
    p.policy = GLIMP_POLICY_SHARE;
    p.signal = GLIMP_SIGNAL_HINIT;
    p.glimpse = 4;
    p.tau = -INFINITY;
    p.share = 0.3;
    p.instance_k = 6;
    p.instance_z = -0.5;
    p.specreason_threshold = 8.5;
    p.entropy_topk = 0;
    p.draft = 3;
    p.max_think = 512;
    p.max_step = 48;
    p.max_answer = 16;
    p.answer_model = GLIMP_WRITER_SLM;
    assert_int_equal(glimp_segment_parse("marker:(?=Wait),|\\d\\.", &p), GLIMP_OK);
    return p;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct glimp_backend *slm, *llm;
    open_fake("slm", 0, &slm);
    open_fake("llm", 0, &llm);
    struct glimp_router_params p = odd_params();
    struct glimp_profile_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.name, sizeof info.name, "demo");
    snprintf(info.tuned, sizeof info.tuned, "{\"target\":\"share:0.3\",\"accuracy\":0.5}");
    glimp_profile_set_pair(&info, slm, llm);
    const char *path = tu_tmp_path("p.json");
    assert_int_equal(glimp_profile_write(path, &p, &info), GLIMP_OK);

    struct glimp_router_params q = glimp_router_default_params();
    q.seed = 77; /* not a routing setting: left as it is */
    struct glimp_profile_info qi;
    assert_int_equal(glimp_profile_load(path, &q, &qi), GLIMP_OK);
    assert_int_equal(q.policy, p.policy);
    assert_int_equal(q.signal, p.signal);
    assert_int_equal(q.glimpse, 4);
    assert_true(q.tau == -INFINITY);
    assert_true(q.share == 0.3);
    assert_int_equal(q.instance_k, 6);
    assert_true(q.instance_z == -0.5);
    assert_true(q.specreason_threshold == 8.5);
    assert_int_equal(q.entropy_topk, 0);
    assert_int_equal(q.draft, 3);
    assert_int_equal(q.max_think, 512);
    assert_int_equal(q.max_step, 48);
    assert_int_equal(q.max_answer, 16);
    assert_int_equal(q.answer_model, GLIMP_WRITER_SLM);
    assert_int_equal(q.segment, GLIMP_SEGMENT_MARKER);
    assert_string_equal(q.segment_marker, "(?=Wait),|\\d\\.");
    assert_int_equal(q.seed, 77);
    assert_string_equal(qi.name, "demo");
    assert_string_equal(qi.slm.desc, "fake slm");
    assert_int_equal(qi.slm.vocab_hash, 0xfa4e);
    assert_int_equal(qi.llm.n_vocab, glimp_backend_n_vocab(llm));
    assert_string_equal(qi.tuned, info.tuned);
    /* written again: the same bytes */
    size_t n1, n2;
    char *a = tu_read_file(path, &n1);
    const char *path2 = tu_tmp_path("p2.json");
    assert_int_equal(glimp_profile_write(path2, &q, &qi), GLIMP_OK);
    char *b = tu_read_file(path2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    free(a);
    free(b);
    /* only what a profile holds changes: a minimal one keeps the rest */
    const char *min = "{\"glimp_profile\": 1, \"tau\": \"inf\", \"segment\": \"line\"}";
    q = odd_params();
    assert_int_equal(glimp_profile_parse(min, strlen(min), "min", &q, NULL), GLIMP_OK);
    assert_true(q.tau == INFINITY);
    assert_int_equal(q.segment, GLIMP_SEGMENT_LINE);
    assert_int_equal(q.draft, 3);
    assert_int_equal(glimp_profile_write(path, &p, &(struct glimp_profile_info){.tuned = "[1]"}),
                     GLIMP_ERR_FORMAT);
    glimp_backend_free(slm);
    glimp_backend_free(llm);
}

/* Every bad field: GLIMP_ERR_FORMAT, a message naming it, nothing changed. */
static void test_validation(void **state)
{
    (void)state;
    static const struct {
        const char *json, *says;
    } bad[] = {
        {"{\"tau\": 1}", "no field 'glimp_profile'"},
        {"{\"glimp_profile\": 2}", "field 'glimp_profile'"},
        {"[1]", "a profile is a JSON object"},
        {"{\"glimp_profile\": 1, \"tau\": 1,", "not JSON"},
        {"{\"glimp_profile\": 1, \"tau\": 1, \"tau\": 2}", "not JSON"},
        {"{\"glimp_profile\": 1, \"tua\": 1}", "unknown field 'tua'"},
        {"{\"glimp_profile\": 1, \"tau\": \"high\"}", "field 'tau': expected a number"},
        {"{\"glimp_profile\": 1, \"share\": 1.5}", "field 'share': expected a number from 0 to 1"},
        {"{\"glimp_profile\": 1, \"policy\": \"fast\"}", "field 'policy'"},
        {"{\"glimp_profile\": 1, \"signal\": 1}", "field 'signal'"},
        {"{\"glimp_profile\": 1, \"glimpse\": 0}", "field 'glimpse'"},
        {"{\"glimp_profile\": 1, \"glimpse\": 2.5}", "field 'glimpse'"},
        {"{\"glimp_profile\": 1, \"signal\": \"hstep\", \"glimpse\": 4}", "field 'glimpse'"},
        {"{\"glimp_profile\": 1, \"draft\": 65}", "field 'draft'"},
        {"{\"glimp_profile\": 1, \"entropy\": \"topk:0\"}", "field 'entropy'"},
        {"{\"glimp_profile\": 1, \"entropy\": \"topk:-3\"}", "field 'entropy'"},
        {"{\"glimp_profile\": 1, \"max_step\": 0}", "field 'max_step'"},
        {"{\"glimp_profile\": 1, \"answer_model\": \"both\"}", "field 'answer_model'"},
        {"{\"glimp_profile\": 1, \"segment\": \"para\"}", "field 'segment'"},
        {"{\"glimp_profile\": 1, \"segment\": \"marker:Wa(\"}",
         "field 'segment': segment: marker 'Wa('"},
        {"{\"glimp_profile\": 1, \"pair\": {\"slm\": {\"vocab_hash\": \"xyz\"}}}",
         "field 'pair.slm.vocab_hash'"},
        {"{\"glimp_profile\": 1, \"pair\": {\"llm\": {\"size\": 1}}}",
         "unknown field 'pair.llm.size'"},
        {"{\"glimp_profile\": 1, \"pair\": {\"mid\": {}}}", "unknown field 'pair.mid'"},
        {"{\"glimp_profile\": 1, \"tuned\": 3}", "field 'tuned'"},
        {"{\"glimp_profile\": 1, \"name\": 3}", "field 'name'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct glimp_router_params p = glimp_router_default_params(), was = p;
        struct glimp_profile_info info = {.name = "kept"};
        int rc = glimp_profile_parse(bad[i].json, strlen(bad[i].json), "x.json", &p, &info);
        if (rc != GLIMP_ERR_FORMAT || !strstr(glimp_last_error(), bad[i].says) ||
            strncmp(glimp_last_error(), "x.json", 6) != 0)
            fail_msg("%s: rc %d, '%s' (want '%s')", bad[i].json, rc, glimp_last_error(),
                     bad[i].says);
        assert_memory_equal(&p, &was, sizeof p);
        assert_string_equal(info.name, "kept");
    }
    struct glimp_router_params p = glimp_router_default_params();
    assert_int_equal(glimp_profile_load(tu_tmp_path("none.json"), &p, NULL), GLIMP_ERR_IO);
    assert_non_null(strstr(glimp_last_error(), "none.json"));
}

/* A profile tuned on another pair says so; one on this pair, or naming no
 * pair, does not. */
static void test_pair(void **state)
{
    (void)state;
    struct glimp_backend *slm, *llm, *other, *other_vocab, *llm_vocab;
    open_fake("slm", 0, &slm);
    open_fake("llm", 0, &llm);
    open_fake("bigger", 0, &other);
    open_fake("slm", 0x1234, &other_vocab);
    open_fake("llm", 0x5678, &llm_vocab); /* the large model's name, another vocabulary */
    struct glimp_profile_info info;
    memset(&info, 0, sizeof info);
    char why[512];
    assert_true(glimp_profile_check_pair(&info, slm, llm, why, sizeof why));
    glimp_profile_set_pair(&info, slm, llm);
    assert_true(glimp_profile_check_pair(&info, slm, llm, why, sizeof why));
    assert_string_equal(why, "");
    assert_false(glimp_profile_check_pair(&info, slm, other, why, sizeof why));
    assert_non_null(strstr(why, "another large model"));
    assert_non_null(strstr(why, "fake bigger"));
    assert_false(glimp_profile_check_pair(&info, other_vocab, llm, why, sizeof why));
    assert_non_null(strstr(why, "another small model: its vocabulary differs"));
    assert_non_null(strstr(why, "0000000000001234"));
    assert_false(glimp_profile_check_pair(&info, slm, llm_vocab, why, sizeof why));
    assert_non_null(strstr(why, "another large model: its vocabulary differs"));
    assert_non_null(strstr(why, "0000000000005678"));
    assert_int_equal(glimp_backend_vocab_hash(other_vocab), 0x1234);
    assert_int_equal(glimp_backend_vocab_hash(NULL), 0);
    glimp_backend_free(slm);
    glimp_backend_free(llm);
    glimp_backend_free(other);
    glimp_backend_free(other_vocab);
    glimp_backend_free(llm_vocab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
