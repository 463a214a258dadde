/* chat.c - the chat-template API: family names, default parameters, input
 * checks and dispatch to the family renderers in families.c. */
#include "chat/chat_internal.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

const char *glimp_chat_family_name(enum glimp_chat_family f)
{
    switch (f) {
    case GLIMP_CHAT_CHATML: return "chatml";
    case GLIMP_CHAT_QWEN3: return "qwen3";
    case GLIMP_CHAT_QWEN25: return "qwen2.5";
    case GLIMP_CHAT_DEEPSEEK_R1: return "deepseek-r1";
    case GLIMP_CHAT_DEMO: return "demo";
    }
    return "?";
}

struct glimp_chat_params glimp_chat_default_params(void)
{
    return (struct glimp_chat_params){
        .add_generation_prompt = true,
        .enable_thinking = true,
    };
}

void chat_buf_append(struct chat_buf *b, const char *s, size_t len)
{
    if (b->err)
        return;
    if (len > CHAT_MAX_PROMPT - b->n) {
        b->err = glimp_error(GLIMP_ERR_NOMEM, "chat: rendered prompt longer than %zu bytes",
                             CHAT_MAX_PROMPT);
        return;
    }
    size_t need = b->n + len + 1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap = cap > CHAT_MAX_PROMPT / 2 ? CHAT_MAX_PROMPT + 1 : cap * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->err =
                glimp_error(GLIMP_ERR_NOMEM, "chat: out of memory for a %zu-byte prompt", need);
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

void chat_buf_puts(struct chat_buf *b, const char *s)
{
    chat_buf_append(b, s, strlen(s));
}

static bool known_role(const char *role)
{
    return strcmp(role, "system") == 0 || strcmp(role, "user") == 0 ||
           strcmp(role, "assistant") == 0;
}

static void render_family(struct chat_buf *b, const struct glimp_chat_template *tmpl,
                          const struct glimp_chat_message *msgs, size_t n,
                          const struct glimp_chat_params *p)
{
    switch (tmpl->family) {
    case GLIMP_CHAT_CHATML: chat_render_chatml(b, msgs, n, p); break;
    case GLIMP_CHAT_QWEN3: chat_render_qwen3(b, msgs, n, p); break;
    case GLIMP_CHAT_QWEN25: chat_render_qwen25(b, msgs, n, p); break;
    case GLIMP_CHAT_DEEPSEEK_R1: chat_render_deepseek_r1(b, tmpl->bos_text, msgs, n, p); break;
    case GLIMP_CHAT_DEMO: chat_render_demo(b, msgs, n, p); break;
    default: break; /* refused by the caller */
    }
}

/* The final message left open (continue_final_message): the conversation
 * rendered with GLIMP_CHAT_SENTINEL after the final content, and cut where
 * the sentinel lands. The final content is the last message text a family
 * writes and every family keeps its end, so the last occurrence is the
 * one; a template that dropped it could not be continued, and says so. */
static void render_continued(struct chat_buf *b, const struct glimp_chat_template *tmpl,
                             const struct glimp_chat_message *msgs, size_t n,
                             const struct glimp_chat_params *p)
{
    struct glimp_chat_message *m = malloc(n * sizeof *m);
    if (!m) {
        b->err = glimp_error(GLIMP_ERR_NOMEM, "chat: out of memory for %zu messages", n);
        return;
    }
    memcpy(m, msgs, n * sizeof *m);
    struct chat_buf last = {0};
    chat_buf_puts(&last, msgs[n - 1].content);
    chat_buf_puts(&last, GLIMP_CHAT_SENTINEL);
    if (last.err) {
        b->err = last.err;
    } else {
        m[n - 1].content = last.p;
        render_family(b, tmpl, m, n, p);
    }
    const size_t sn = strlen(GLIMP_CHAT_SENTINEL);
    if (!b->err) {
        size_t at = b->n + 1; /* none */
        for (size_t i = b->n >= sn ? b->n - sn + 1 : 0; i-- > 0;)
            if (memcmp(b->p + i, GLIMP_CHAT_SENTINEL, sn) == 0) {
                at = i;
                break;
            }
        if (at > b->n)
            b->err = glimp_error(GLIMP_ERR_UNSUPPORTED,
                                 "chat: the %s template drops the final message's content, so "
                                 "it cannot be continued",
                                 glimp_chat_family_name(tmpl->family));
        else {
            b->n = at;
            b->p[at] = '\0';
        }
    }
    free(last.p);
    free(m);
}

int glimp_chat_render(const struct glimp_chat_template *tmpl, const struct glimp_chat_message *msgs,
                      size_t n_msgs, const struct glimp_chat_params *p, char **out)
{
    if (!out)
        return glimp_error(GLIMP_ERR_INVALID, "chat: no output pointer");
    *out = NULL;
    if (!tmpl)
        return glimp_error(GLIMP_ERR_INVALID, "chat: no template");
    if (n_msgs == 0 || !msgs)
        return glimp_error(GLIMP_ERR_INVALID, "chat: no messages to render");
    for (size_t i = 0; i < n_msgs; i++) {
        if (!msgs[i].role)
            return glimp_error(GLIMP_ERR_INVALID, "chat: message %zu has no role", i);
        if (!known_role(msgs[i].role))
            return glimp_error(GLIMP_ERR_INVALID,
                               "chat: message %zu: unknown role '%.64s' (expected system, user "
                               "or assistant)",
                               i, msgs[i].role);
        if (!msgs[i].content)
            return glimp_error(GLIMP_ERR_INVALID, "chat: message %zu (%s) has no content", i,
                               msgs[i].role);
    }
    if ((unsigned)tmpl->family > GLIMP_CHAT_DEMO)
        return glimp_error(GLIMP_ERR_INVALID, "chat: unknown template family %d",
                           (int)tmpl->family);
    if (memchr(tmpl->bos_text, '\0', sizeof tmpl->bos_text) == NULL)
        return glimp_error(GLIMP_ERR_INVALID, "chat: template's bos_text is not terminated");

    struct glimp_chat_params defaults = glimp_chat_default_params();
    if (!p)
        p = &defaults;
    if (p->continue_final_message) {
        const struct glimp_chat_message *last = &msgs[n_msgs - 1];
        if (strcmp(last->role, "assistant") != 0)
            return glimp_error(GLIMP_ERR_INVALID,
                               "chat: continue_final_message needs the last message to be the "
                               "assistant's, not %s",
                               last->role);
        if (p->add_generation_prompt)
            return glimp_error(GLIMP_ERR_INVALID,
                               "chat: continue_final_message and add_generation_prompt are both "
                               "set: the final message is continued or a new one opened, not both");
        if (strstr(last->content, GLIMP_CHAT_SENTINEL))
            return glimp_error(GLIMP_ERR_INVALID,
                               "chat: message %zu (the one to continue) holds the text glimp "
                               "marks its end with (GLIMP_CHAT_SENTINEL)",
                               n_msgs - 1);
    }

    struct chat_buf b = {0};
    chat_buf_append(&b, "", 0); /* an empty prompt is still a string */
    if (p->continue_final_message)
        render_continued(&b, tmpl, msgs, n_msgs, p);
    else
        render_family(&b, tmpl, msgs, n_msgs, p);
    if (b.err) {
        free(b.p);
        return b.err;
    }
    *out = b.p;
    return GLIMP_OK;
}
