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

/* Text mode: a chat prompt is its marker, the user's bytes and the
 * assistant's marker (what follows is the assistant's text); any other is
 * its bytes. */
int remote_text_prompt(const char *text, bool chat, bool think, struct glimp_tokens *out)
{
    size_t n = strlen(text);
    if (n == 0)
        return glimp_error(GLIMP_ERR_INVALID, "backend: the prompt is empty: no tokens");
    int32_t head = think ? PIECES_USER_THINK : PIECES_USER_NOTHINK, tail = PIECES_ASSISTANT;
    int rc = chat ? glimp_tokens_push(out, &head, 1) : GLIMP_OK;
    if (rc == GLIMP_OK)
        rc = remote_text_tokenize(text, n, out);
    return rc == GLIMP_OK && chat ? glimp_tokens_push(out, &tail, 1) : rc;
}

/* Text mode: the sequence's text, split where the assistant's begins.
 * *think: -1 no chat (all of it in *user), 0 or 1 a chat with thinking off
 * or on. */
static int text_parts(struct remote_backend *r, const int32_t *ids, size_t n, char **user,
                      size_t *un, char **asst, size_t *an, int *think)
{
    size_t ucap = 0, acap = 0;
    *user = *asst = NULL;
    *un = *an = 0;
    *think = -1;
    bool in_asst = false;
    char piece[RP_MAX_TOKEN_BYTES];
    int rc = GLIMP_OK;
    for (size_t i = 0; i < n && rc == GLIMP_OK; i++) {
        int32_t id = ids[i];
        if (i == 0 && (id == PIECES_USER_THINK || id == PIECES_USER_NOTHINK)) {
            *think = id == PIECES_USER_THINK;
            continue;
        }
        if (id == PIECES_ASSISTANT && *think >= 0 && !in_asst) {
            in_asst = true;
            continue;
        }
        size_t len;
        if (!pieces_bytes(r->pc, id, piece, sizeof piece, &len))
            rc = glimp_error(GLIMP_ERR_INVALID, "remote: token %d is not in the table", (int)id);
        else if (in_asst)
            rc = buf_append(asst, an, &acap, piece, len);
        else
            rc = buf_append(user, un, &ucap, piece, len);
    }
    if (rc == GLIMP_OK && *think >= 0 && !in_asst)
        rc = glimp_error(GLIMP_ERR_INVALID, "remote: the chat prompt has no assistant's part");
    if (rc == GLIMP_OK && !*user)
        rc = buf_append(user, un, &ucap, "", 0);
    if (rc != GLIMP_OK) {
        free(*user);
        free(*asst);
        *user = *asst = NULL;
    }
    return rc;
}

/* Text mode: a chat whose assistant message the server continues (a
 * first request, with no assistant text yet, asks for the generation
 * prompt instead: a server cannot continue an empty message); or, for a
 * prompt that is no chat, a completion of the text. */
json_t *remote_text_request(struct remote_backend *r, const int32_t *ids, size_t n, bool *chat)
{
    char *user, *asst;
    size_t un, an;
    int think;
    if (text_parts(r, ids, n, &user, &un, &asst, &an, &think) != GLIMP_OK)
        return NULL;
    json_t *j = json_pack("{s:s}", "model", r->model);
    *chat = think >= 0;
    if (!*chat) {
        json_object_set_new(j, "prompt", jtext_new(user, un));
    } else {
        json_t *msgs = json_array();
        json_array_append_new(msgs, json_pack("{s:s,s:o}", "role", "user", "content",
                                              jtext_new(user, un)));
        if (an > 0)
            json_array_append_new(msgs, json_pack("{s:s,s:o}", "role", "assistant", "content",
                                                  jtext_new(asst, an)));
        json_object_set_new(j, "messages", msgs);
        json_object_set_new(j, "add_generation_prompt", json_boolean(an == 0));
        json_object_set_new(j, "continue_final_message", json_boolean(an > 0));
        json_object_set_new(j, "chat_template_kwargs",
                            json_pack("{s:b}", "enable_thinking", think));
    }
    free(user);
    free(asst);
    return j;
}
