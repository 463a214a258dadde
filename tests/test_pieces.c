/* test_pieces.c - the token table of text mode (backend/pieces.h): bytes
 * and markers, one id per text against a second bookkeeping of the same
 * texts, the bounds, threads interning the same texts at once; and the
 * parse of a chat chunk's content[] entries into it, where a token's exact
 * bytes (a UTF-8 character split over two tokens) win over its text, and
 * the server's own ids are not taken; a conversation's prompt read back
 * as the chat request it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/pieces.h"
#include "backend/remote_internal.h"
#include "backend/remote_parse.h"
#include "core/error.h"
#include "testutil.h"

static void test_bytes_and_markers(void **state)
{
    (void)state;
    struct pieces *p;
    assert_int_equal(pieces_new(&p), GLIMP_OK);
    char buf[8];
    size_t len;
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        assert_int_equal(pieces_intern(p, &c, 1), b);
        assert_true(pieces_bytes(p, b, buf, sizeof buf, &len));
        assert_int_equal(len, 1);
        assert_int_equal((uint8_t)buf[0], b);
    }
    for (int32_t m = PIECES_USER_THINK; m < PIECES_FIRST; m++) {
        assert_true(pieces_has(p, m));
        assert_true(pieces_bytes(p, m, buf, sizeof buf, &len));
        assert_int_equal(len, 0);
    }
    assert_false(pieces_has(p, PIECES_FIRST)); /* nothing seen yet */
    assert_false(pieces_has(p, -1));
    assert_false(pieces_bytes(p, PIECES_FIRST, buf, sizeof buf, &len));
    pieces_free(p);
    pieces_free(NULL);
}

/* Random texts with many repeats: two texts get one id exactly when they
 * are equal (checked against the first index each text was drawn at), ids
 * are dense from PIECES_FIRST, and every id gives its text back. */
static void test_one_id_per_text(void **state)
{
    (void)state;
    enum { N = 20000, POOL = 3000 };
    struct pieces *p;
    assert_int_equal(pieces_new(&p), GLIMP_OK);
    static char pool[POOL][24];
    static size_t plen[POOL];
    uint64_t rng = 7;
    for (int i = 0; i < POOL; i++) {
        plen[i] = 6 + tu_rng_u64(&rng) % 18;
        for (size_t k = 0; k < plen[i]; k++)
            pool[i][k] = (char)(tu_rng_u64(&rng) % 256);
        pool[i][0] = (char)('a' + i % 26); /* pool texts are distinct: */
        memcpy(pool[i] + 1, &i, sizeof i); /* their bytes 1-4 are i */
    }
    static int32_t id_of[POOL];
    memset(id_of, 0xff, sizeof id_of);
    int32_t next = PIECES_FIRST;
    for (int n = 0; n < N; n++) {
        int i = (int)(tu_rng_u64(&rng) % POOL);
        int32_t id = pieces_intern(p, pool[i], plen[i]);
        if (id_of[i] < 0) {
            assert_int_equal(id, next); /* a new text: the next id */
            id_of[i] = next++;
        }
        assert_int_equal(id, id_of[i]);
    }
    char buf[64];
    size_t len;
    for (int i = 0; i < POOL; i++) {
        if (id_of[i] < 0)
            continue;
        assert_true(pieces_bytes(p, id_of[i], buf, sizeof buf, &len));
        assert_int_equal(len, plen[i]);
        assert_memory_equal(buf, pool[i], len);
        assert_false(pieces_bytes(p, id_of[i], buf, plen[i] - 1, &len)); /* too small */
    }
    pieces_free(p);
}

static void test_bounds(void **state)
{
    (void)state;
    struct pieces *p;
    assert_int_equal(pieces_new(&p), GLIMP_OK);
    char *big = malloc(PIECES_MAX_LEN + 1);
    assert_non_null(big);
    memset(big, 'x', PIECES_MAX_LEN + 1);
    assert_int_equal(pieces_intern(p, big, PIECES_MAX_LEN + 1), -1);
    int32_t id = pieces_intern(p, big, PIECES_MAX_LEN);
    assert_true(id >= PIECES_FIRST);
    int32_t empty = pieces_intern(p, "", 0); /* a token with no text */
    assert_true(empty >= PIECES_FIRST && empty != id);
    assert_int_equal(pieces_intern(p, "", 0), empty);
    char buf[4];
    size_t len = 9;
    assert_true(pieces_bytes(p, empty, buf, sizeof buf, &len));
    assert_int_equal(len, 0);
    free(big);
    pieces_free(p);
}

struct worker {
    struct pieces *p;
    int32_t ids[500];
};

static void *intern_all(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 500; i++) {
        char t[16];
        int n = snprintf(t, sizeof t, "tok%d", i);
        w->ids[i] = pieces_intern(w->p, t, (size_t)n);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct pieces *p;
    assert_int_equal(pieces_new(&p), GLIMP_OK);
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i].p = p;
        assert_int_equal(pthread_create(&t[i], NULL, intern_all, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < 500; k++) {
        assert_true(w[0].ids[k] >= PIECES_FIRST && w[0].ids[k] < PIECES_FIRST + 500);
        for (int i = 1; i < 4; i++)
            assert_int_equal(w[i].ids[k], w[0].ids[k]);
    }
    pieces_free(p);
}

static int32_t resolve(void *user, const char *text, size_t len)
{
    return pieces_intern(user, text, len);
}

/* A chat chunk as a server streams it: "é" (C3 A9) split over two tokens,
 * whose token text is U+FFFD, and a top entry without bytes. */
static void test_parse_chat_bytes(void **state)
{
    (void)state;
    struct pieces *p;
    assert_int_equal(pieces_new(&p), GLIMP_OK);
    const char *chunk =
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xc3\xa9t\"},\"logprobs\":{\"content\":["
        "{\"token\":\"\\ufffd\",\"logprob\":-0.5,\"bytes\":[195],\"top_logprobs\":["
        "{\"token\":\"\\ufffd\",\"logprob\":-0.5,\"bytes\":[195]},"
        "{\"token\":\"ab\",\"logprob\":-1.5}]},"
        "{\"token\":\"\\ufffdt\",\"logprob\":-0.25,\"bytes\":[169,116],\"top_logprobs\":[]}]},"
        "\"finish_reason\":null}]}";
    struct rp_answer a = {0};
    assert_int_equal(rp_parse_answer(chunk, strlen(chunk), resolve, p, &a), GLIMP_OK);
    assert_int_equal(a.n, 2);
    char buf[8];
    size_t len;
    assert_int_equal(a.tok[0].id, 195); /* one byte: its own id */
    assert_true(pieces_bytes(p, a.tok[1].id, buf, sizeof buf, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(buf, "\xa9t", 2);
    assert_int_equal(a.tok[0].k, 2);
    assert_int_equal(a.tok[0].top_id[0], 195);
    assert_int_equal(a.tok[0].top_id[1], pieces_intern(p, "ab", 2));
    assert_true(a.tok[0].top_lp[1] == -1.5);
    /* bytes that are no bytes: the entry's token text is used */
    const char *odd = "{\"choices\":[{\"index\":0,\"logprobs\":{\"content\":["
                      "{\"token\":\"xy\",\"logprob\":-1,\"bytes\":[300]}]}}]}";
    assert_int_equal(rp_parse_answer(odd, strlen(odd), resolve, p, &a), GLIMP_OK);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.tok[0].id, pieces_intern(p, "xy", 2));
    /* llama-server's entries carry its own ids: text mode names them by
     * their bytes (ids mode takes the id) */
    const char *ids = "{\"choices\":[{\"index\":0,\"logprobs\":{\"content\":["
                      "{\"id\":77268,\"token\":\"ok\",\"logprob\":-1,\"bytes\":[111,107],"
                      "\"top_logprobs\":[{\"id\":5,\"token\":\"no\",\"logprob\":-2}]}]}}]}";
    assert_int_equal(rp_parse_answer_text(ids, strlen(ids), resolve, p, &a), GLIMP_OK);
    assert_int_equal(a.tok[0].id, pieces_intern(p, "ok", 2));
    assert_int_equal(a.tok[0].top_id[0], pieces_intern(p, "no", 2));
    assert_int_equal(rp_parse_answer(ids, strlen(ids), resolve, p, &a), GLIMP_OK);
    assert_int_equal(a.tok[0].id, 77268);
    rp_answer_free(&a);
    pieces_free(p);
}

/* The request a text-mode sequence makes (remote_text_request) as a
 * string with the keys in a fixed order. */
static char *request_of(struct remote_backend *r, const struct glimp_tokens *t, bool *chat)
{
    json_t *j = remote_text_request(r, t->ids, t->n, chat);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    assert_non_null(s);
    return s;
}

/* A conversation sent in text mode (remote_text_prompt) comes back from
 * the sequence as the same messages, in order, with the assistant's text
 * so far as the message continued; written out here by hand from the
 * messages given. */
static void test_conversation_round_trip(void **state)
{
    (void)state;
    struct remote_backend r = {.pc = NULL};
    snprintf(r.model, sizeof r.model, "m");
    assert_int_equal(pieces_new(&r.pc), GLIMP_OK);
    const struct glimp_chat_message conv[] = {
        {.role = "system", .content = "Be brief."},
        {.role = "user", .content = "2 + 3?"},
        {.role = "assistant", .content = "5", .reasoning_content = "add"},
        {.role = "user", .content = "and \u00e9 \"q\"\n"},
    };
    struct bk_prompt p = {.text = "", .msgs = conv, .n_msgs = 4, .chat = true, .think = false};
    struct glimp_tokens t = {0};
    assert_int_equal(remote_text_prompt(&p, &t), GLIMP_OK);
    bool chat = false;
    char *got = request_of(&r, &t, &chat);
    assert_true(chat);
    const char *msgs = "[{\"content\":\"Be brief.\",\"role\":\"system\"},"
                       "{\"content\":\"2 + 3?\",\"role\":\"user\"},"
                       "{\"content\":\"5\",\"role\":\"assistant\"},"
                       "{\"content\":\"and \u00e9 \\\"q\\\"\\n\",\"role\":\"user\"}";
    char want[1024];
    snprintf(want, sizeof want,
             "{\"add_generation_prompt\":true,\"chat_template_kwargs\":{\"enable_thinking\":"
             "false},\"continue_final_message\":false,\"messages\":%s],\"model\":\"m\"}",
             msgs);
    assert_string_equal(got, want);
    free(got);

    /* the assistant's tokens so far: continued, not a new message */
    int32_t a = pieces_intern(r.pc, "Si", 2), b = pieces_intern(r.pc, "x.", 2);
    assert_int_equal(glimp_tokens_push(&t, &a, 1), GLIMP_OK);
    assert_int_equal(glimp_tokens_push(&t, &b, 1), GLIMP_OK);
    got = request_of(&r, &t, &chat);
    snprintf(want, sizeof want,
             "{\"add_generation_prompt\":false,\"chat_template_kwargs\":{\"enable_thinking\":"
             "false},\"continue_final_message\":true,\"messages\":%s,{\"content\":\"Six.\","
             "\"role\":\"assistant\"}],\"model\":\"m\"}",
             msgs);
    assert_string_equal(got, want);
    free(got);
    glimp_tokens_free(&t);

    /* one user message: as a prompt of that text (the same tokens), and
     * an empty one is still given */
    const struct glimp_chat_message one[] = {{.role = "user", .content = "hi"}};
    struct bk_prompt p1 = {.text = "hi", .chat = true, .think = true};
    struct bk_prompt p2 = {.text = "", .msgs = one, .n_msgs = 1, .chat = true, .think = true};
    struct glimp_tokens t1 = {0}, t2 = {0};
    assert_int_equal(remote_text_prompt(&p1, &t1), GLIMP_OK);
    assert_int_equal(remote_text_prompt(&p2, &t2), GLIMP_OK);
    assert_int_equal(t1.n, t2.n);
    assert_memory_equal(t1.ids, t2.ids, t1.n * sizeof *t1.ids);
    glimp_tokens_free(&t1);
    struct bk_prompt pe = {.text = "", .chat = true, .think = true};
    assert_int_equal(remote_text_prompt(&pe, &t1), GLIMP_OK);
    got = request_of(&r, &t1, &chat);
    assert_string_equal(got, "{\"add_generation_prompt\":true,\"chat_template_kwargs\":{"
                             "\"enable_thinking\":true},\"continue_final_message\":false,"
                             "\"messages\":[{\"content\":\"\",\"role\":\"user\"}],\"model\":\"m\"}");
    free(got);
    glimp_tokens_free(&t1);
    glimp_tokens_free(&t2);

    /* a role text mode cannot send is refused, naming it */
    const struct glimp_chat_message tool[] = {{.role = "user", .content = "x"},
                                              {.role = "tool", .content = "y"}};
    struct bk_prompt pt = {.text = "", .msgs = tool, .n_msgs = 2, .chat = true};
    assert_int_equal(remote_text_prompt(&pt, &t1), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "'tool'"));
    glimp_tokens_free(&t1);
    pieces_free(r.pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_and_markers), cmocka_unit_test(test_one_id_per_text),
        cmocka_unit_test(test_bounds),            cmocka_unit_test(test_threads),
        cmocka_unit_test(test_parse_chat_bytes),  cmocka_unit_test(test_conversation_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
