/* families.c - each chat-template family as C code that writes exactly what
 * the model's own Jinja template writes for system/user/assistant turns
 * (no tools). The Jinja each function mirrors is quoted beside it; string
 * methods follow Python (what transformers runs): s.lstrip('\n') strips
 * newlines only, s.split(sep)[0] / [-1] is the text before the first / after
 * the last sep. */
#include "chat/chat_internal.h"

#include <stdbool.h>
#include <string.h>

/* A byte range inside a message's text. */
struct span {
    const char *p;
    size_t n;
};

static struct span span_of(const char *s)
{
    return (struct span){s, strlen(s)};
}

/* Offset of the first / last occurrence of needle in s, or -1. */
static ptrdiff_t span_find(struct span s, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m <= s.n && i <= s.n - m; i++)
        if (memcmp(s.p + i, needle, m) == 0)
            return (ptrdiff_t)i;
    return -1;
}

static ptrdiff_t span_rfind(struct span s, const char *needle)
{
    size_t m = strlen(needle);
    if (m > s.n)
        return -1;
    for (size_t i = s.n - m + 1; i-- > 0;)
        if (memcmp(s.p + i, needle, m) == 0)
            return (ptrdiff_t)i;
    return -1;
}

static bool span_has(struct span s, const char *needle)
{
    return span_find(s, needle) >= 0;
}

/* s.split(sep)[0] and s.split(sep)[-1] */
static struct span split_first(struct span s, const char *sep)
{
    ptrdiff_t i = span_find(s, sep);
    return i < 0 ? s : (struct span){s.p, (size_t)i};
}

static struct span split_last(struct span s, const char *sep)
{
    ptrdiff_t i = span_rfind(s, sep);
    if (i < 0)
        return s;
    size_t skip = (size_t)i + strlen(sep);
    return (struct span){s.p + skip, s.n - skip};
}

/* s.lstrip('\n'), s.rstrip('\n'), s.strip('\n') */
static struct span lstrip_nl(struct span s)
{
    while (s.n > 0 && s.p[0] == '\n')
        s.p++, s.n--;
    return s;
}

static struct span rstrip_nl(struct span s)
{
    while (s.n > 0 && s.p[s.n - 1] == '\n')
        s.n--;
    return s;
}

static struct span strip_nl(struct span s)
{
    return rstrip_nl(lstrip_nl(s));
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static void put_span(struct chat_buf *b, struct span s)
{
    chat_buf_append(b, s.p, s.n);
}

static bool is_role(const struct glimp_chat_message *m, const char *role)
{
    return strcmp(m->role, role) == 0;
}

/* '<|im_start|>' + role + '\n' + content + '<|im_end|>\n' */
static void put_chatml_turn(struct chat_buf *b, const char *role, const char *content)
{
    chat_buf_puts(b, "<|im_start|>");
    chat_buf_puts(b, role);
    chat_buf_puts(b, "\n");
    chat_buf_puts(b, content);
    chat_buf_puts(b, "<|im_end|>\n");
}

/* The ChatML template Hugging Face and llama.cpp use as the generic one:
 *   {% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'
 *   + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}
 *   {% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %} */
void chat_render_chatml(struct chat_buf *b, const struct glimp_chat_message *m, size_t n,
                        const struct glimp_chat_params *p)
{
    for (size_t i = 0; i < n; i++)
        put_chatml_turn(b, m[i].role, m[i].content);
    if (p->add_generation_prompt)
        chat_buf_puts(b, "<|im_start|>assistant\n");
}

/* Qwen3 (tokenizer_config.json of Qwen/Qwen3-*), without its tools branch:
 * - a leading system message opens the prompt; later ones are plain turns;
 * - last_query_index: the last user message that is not a bare
 *   <tool_response>...</tool_response> (else the last message);
 * - an assistant turn's reasoning is reasoning_content when given (not
 *   None), else the text between <think> and </think> in its content, which
 *   then keeps only what follows the last </think>;
 * - assistant turns after the last query show their reasoning in a think
 *   block when they are the last message or the reasoning is non-empty;
 *   earlier turns show the answer only;
 * - the generation prompt pre-fills an empty think block when
 *   enable_thinking is false. */
void chat_render_qwen3(struct chat_buf *b, const struct glimp_chat_message *m, size_t n,
                       const struct glimp_chat_params *p)
{
    if (is_role(&m[0], "system"))
        put_chatml_turn(b, "system", m[0].content);

    size_t last_query = n - 1;
    for (size_t i = n; i-- > 0;) {
        if (is_role(&m[i], "user") && !(starts_with(m[i].content, "<tool_response>") &&
                                        ends_with(m[i].content, "</tool_response>"))) {
            last_query = i;
            break;
        }
    }

    for (size_t i = 0; i < n; i++) {
        if (is_role(&m[i], "user") || (is_role(&m[i], "system") && i > 0)) {
            put_chatml_turn(b, m[i].role, m[i].content);
            continue;
        }
        if (!is_role(&m[i], "assistant"))
            continue; /* the leading system message, already written */

        struct span content = span_of(m[i].content);
        struct span reasoning = {"", 0};
        if (m[i].reasoning_content) {
            reasoning = span_of(m[i].reasoning_content);
        } else if (span_has(content, "</think>")) {
            struct span whole = content;
            content = lstrip_nl(split_last(whole, "</think>"));
            reasoning = split_first(whole, "</think>");
            reasoning = lstrip_nl(split_last(rstrip_nl(reasoning), "<think>"));
        }

        chat_buf_puts(b, "<|im_start|>assistant\n");
        if (i > last_query && (i == n - 1 || reasoning.n > 0)) {
            chat_buf_puts(b, "<think>\n");
            put_span(b, strip_nl(reasoning));
            chat_buf_puts(b, "\n</think>\n\n");
            put_span(b, lstrip_nl(content));
        } else {
            put_span(b, content);
        }
        chat_buf_puts(b, "<|im_end|>\n");
    }

    if (p->add_generation_prompt) {
        chat_buf_puts(b, "<|im_start|>assistant\n");
        if (!p->enable_thinking)
            chat_buf_puts(b, "<think>\n\n</think>\n\n");
    }
}

/* Qwen2.5 Instruct: ChatML whose system turn defaults to Qwen's own line
 * when the conversation does not open with a system message. Assistant
 * content is written as given, think blocks and all. */
void chat_render_qwen25(struct chat_buf *b, const struct glimp_chat_message *m, size_t n,
                        const struct glimp_chat_params *p)
{
    if (is_role(&m[0], "system"))
        put_chatml_turn(b, "system", m[0].content);
    else
        put_chatml_turn(b, "system",
                        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
    for (size_t i = 0; i < n; i++)
        if (!(is_role(&m[i], "system") && i == 0))
            put_chatml_turn(b, m[i].role, m[i].content);
    if (p->add_generation_prompt)
        chat_buf_puts(b, "<|im_start|>assistant\n");
}

/* DeepSeek-R1-Distill (Qwen and Llama share the template):
 *   {{bos_token}}{{ns.system_prompt}} where system_prompt is the content of
 *   the LAST system message (each one overwrites it), then per turn
 *   '<｜User｜>' + content, or '<｜Assistant｜>' + content.split('</think>')[-1]
 *   + '<｜end▁of▁sentence｜>'; the generation prompt is
 *   '<｜Assistant｜><think>\n' whatever enable_thinking says. */
#define R1_USER "<｜User｜>" /* U+FF5C FULLWIDTH VERTICAL LINE */
#define R1_ASSISTANT "<｜Assistant｜>"
#define R1_EOS "<｜end▁of▁sentence｜>" /* U+2581 LOWER ONE EIGHTH BLOCK */

void chat_render_deepseek_r1(struct chat_buf *b, const char *bos_text,
                             const struct glimp_chat_message *m, size_t n,
                             const struct glimp_chat_params *p)
{
    const char *system = "";
    for (size_t i = 0; i < n; i++)
        if (is_role(&m[i], "system"))
            system = m[i].content;
    chat_buf_puts(b, bos_text);
    chat_buf_puts(b, system);
    for (size_t i = 0; i < n; i++) {
        if (is_role(&m[i], "user")) {
            chat_buf_puts(b, R1_USER);
            chat_buf_puts(b, m[i].content);
        } else if (is_role(&m[i], "assistant")) {
            chat_buf_puts(b, R1_ASSISTANT);
            put_span(b, split_last(span_of(m[i].content), "</think>"));
            chat_buf_puts(b, R1_EOS);
        }
    }
    if (p->add_generation_prompt)
        chat_buf_puts(b, R1_ASSISTANT "<think>\n");
}

/* The demo pair's template (chat_demo_template): every message's text and a
 * blank line, whatever its role; no generation prompt and no think switch
 * (the demo models always think, and were trained on raw "problem\n\n"). */
void chat_render_demo(struct chat_buf *b, const struct glimp_chat_message *m, size_t n,
                      const struct glimp_chat_params *p)
{
    (void)p;
    for (size_t i = 0; i < n; i++) {
        chat_buf_puts(b, m[i].content);
        chat_buf_puts(b, "\n\n");
    }
}
