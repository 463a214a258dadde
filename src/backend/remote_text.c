/* remote_text.c - the remote backend's text mode (no vocabulary shared with
 * the server): a prompt as pieces.h tokens (markers and bytes), and the
 * sequence turned back into the chat or text prompt of a request. */
#include "backend/pieces.h"
#include "backend/remote_internal.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/jtext.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>

int remote_text_tokenize(const char *text, size_t len, struct glimp_tokens *out)
{
    int rc = GLIMP_OK;
    for (size_t i = 0; i < len && rc == GLIMP_OK; i++) {
        int32_t id = (uint8_t)text[i];
        rc = glimp_tokens_push(out, &id, 1);
    }
    return rc;
}

/* The marker that begins an earlier message of role, or -1. */
static int32_t turn_marker(const char *role)
{
    if (!strcmp(role, "system"))
        return PIECES_SYSTEM_TURN;
    if (!strcmp(role, "user"))
        return PIECES_USER_TURN;
    if (!strcmp(role, "assistant"))
        return PIECES_ASSISTANT_TURN;
    return -1;
}

/* Text mode: a chat prompt is its first marker (thinking on or off), the
 * messages (each but a first user message after its role's marker) and the
 * assistant's marker, after which the assistant's text follows; any other
 * prompt is its bytes. */
int remote_text_prompt(const struct bk_prompt *p, struct glimp_tokens *out)
{
    struct glimp_chat_message one = {.role = "user", .content = p->text};
    const struct glimp_chat_message *msgs = p->msgs ? p->msgs : &one;
    size_t n_msgs = p->msgs ? p->n_msgs : 1;
    if (!p->chat) {
        if (!p->text[0])
            return glimp_error(GLIMP_ERR_INVALID, "backend: the prompt is empty: no tokens");
        return remote_text_tokenize(p->text, strlen(p->text), out);
    }
    int32_t head = p->think ? PIECES_USER_THINK : PIECES_USER_NOTHINK, tail = PIECES_ASSISTANT;
    int rc = glimp_tokens_push(out, &head, 1);
    for (size_t i = 0; i < n_msgs && rc == GLIMP_OK; i++) {
        int32_t mark = turn_marker(msgs[i].role);
        if (mark < 0)
            return glimp_error(GLIMP_ERR_INVALID,
                               "backend: message %zu: role '%.32s' cannot be sent in text mode "
                               "(system, user and assistant can)",
                               i, msgs[i].role);
        if (i > 0 || mark != PIECES_USER_TURN)
            rc = glimp_tokens_push(out, &mark, 1);
        if (rc == GLIMP_OK)
            rc = remote_text_tokenize(msgs[i].content, strlen(msgs[i].content), out);
    }
    return rc == GLIMP_OK ? glimp_tokens_push(out, &tail, 1) : rc;
}

/* The role an earlier message's marker begins, or NULL. */
static const char *turn_role(int32_t id)
{
    return id == PIECES_SYSTEM_TURN      ? "system"
           : id == PIECES_USER_TURN      ? "user"
           : id == PIECES_ASSISTANT_TURN ? "assistant"
                                         : NULL;
}

/* A text-mode chat read back: the earlier messages and the text of the
 * assistant's message being written. */
struct text_chat {
    json_t *msgs;
    const char *role; /* of the message being read; NULL once in the assistant's */
    char *text;       /* its bytes so far */
    size_t len, cap;
    bool implicit;    /* it is the first user message, which has no marker */
};

/* The message read so far joins msgs (a first user message with no text
 * does not when another message follows it: it was never given). */
static int chat_flush(struct text_chat *c, bool at_end)
{
    if (!(c->implicit && c->len == 0 && !at_end)) {
        json_t *m = json_pack("{s:s,s:o}", "role", c->role, "content",
                              jtext_new(c->text ? c->text : "", c->len));
        if (!m || json_array_append_new(c->msgs, m) != 0)
            return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    }
    c->len = 0;
    c->implicit = false;
    return GLIMP_OK;
}

/* Text mode: the sequence's bytes as a prompt (*think -1), or as a chat
 * (*think 0 or 1: thinking off or on): c->msgs gets every message before
 * the assistant's, c->text that one's text. */
static int text_parts(struct remote_backend *r, const int32_t *ids, size_t n,
                      struct text_chat *c, int *think)
{
    *think = -1;
    size_t i = 0;
    if (n > 0 && (ids[0] == PIECES_USER_THINK || ids[0] == PIECES_USER_NOTHINK)) {
        *think = ids[0] == PIECES_USER_THINK;
        c->role = "user";
        c->implicit = true;
        i = 1;
    }
    char piece[RP_MAX_TOKEN_BYTES];
    int rc = GLIMP_OK;
    for (; i < n && rc == GLIMP_OK; i++) {
        const char *next = c->role ? turn_role(ids[i]) : NULL;
        if (next || (c->role && ids[i] == PIECES_ASSISTANT)) {
            rc = chat_flush(c, !next);
            c->role = next;
            continue;
        }
        size_t len;
        if (!pieces_bytes(r->pc, ids[i], piece, sizeof piece, &len))
            rc = glimp_error(GLIMP_ERR_INVALID, "remote: token %d is not in the table",
                             (int)ids[i]);
        else
            rc = buf_append(&c->text, &c->len, &c->cap, piece, len);
    }
    if (rc == GLIMP_OK && c->role && *think >= 0)
        rc = glimp_error(GLIMP_ERR_INVALID, "remote: the chat prompt has no assistant's part");
    return rc;
}

/* Text mode: a chat whose assistant message the server continues (a
 * first request, with no assistant text yet, asks for the generation
 * prompt instead: a server cannot continue an empty message); or, for a
 * prompt that is no chat, a completion of the text. */
json_t *remote_text_request(struct remote_backend *r, const int32_t *ids, size_t n, bool *chat)
{
    struct text_chat c = {.msgs = json_array()};
    int think;
    json_t *j = NULL;
    if (c.msgs && text_parts(r, ids, n, &c, &think) == GLIMP_OK &&
        (j = json_pack("{s:s}", "model", r->model)) != NULL) {
        *chat = think >= 0;
        const char *text = c.text ? c.text : "";
        if (!*chat) {
            json_object_set_new(j, "prompt", jtext_new(text, c.len));
        } else {
            if (c.len > 0)
                json_array_append_new(c.msgs, json_pack("{s:s,s:o}", "role", "assistant",
                                                        "content", jtext_new(text, c.len)));
            json_object_set_new(j, "messages", json_incref(c.msgs));
            json_object_set_new(j, "add_generation_prompt", json_boolean(c.len == 0));
            json_object_set_new(j, "continue_final_message", json_boolean(c.len > 0));
            json_object_set_new(j, "chat_template_kwargs",
                                json_pack("{s:b}", "enable_thinking", think));
        }
    }
    json_decref(c.msgs);
    free(c.text);
    return j;
}
