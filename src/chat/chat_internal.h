/* chat_internal.h - what the chat module's files share: a capped growable
 * string and one renderer per template family. Not part of the public API. */
#ifndef GLIMP_CHAT_INTERNAL_H
#define GLIMP_CHAT_INTERNAL_H

#include "glimp.h"

#include <stddef.h>

/* A rendered prompt may not exceed this; past it rendering fails with
 * GLIMP_ERR_NOMEM rather than growing without bound. */
#define CHAT_MAX_PROMPT ((size_t)1 << 30)

/* Zero-initialise. Every append keeps the text NUL-terminated; the first
 * failure sticks in err and later appends do nothing, so a renderer appends
 * freely and checks once at the end. */
struct chat_buf {
    char *p;
    size_t n;
    size_t cap;
    int err;
};

void chat_buf_append(struct chat_buf *b, const char *s, size_t len);
void chat_buf_puts(struct chat_buf *b, const char *s);

/* Renderers for validated input: n >= 1, every role one of "system", "user",
 * "assistant", every content non-NULL. They only append to b. */
void chat_render_chatml(struct chat_buf *b, const struct glimp_chat_message *m, size_t n,
                        const struct glimp_chat_params *p);
void chat_render_qwen3(struct chat_buf *b, const struct glimp_chat_message *m, size_t n,
                       const struct glimp_chat_params *p);
void chat_render_qwen25(struct chat_buf *b, const struct glimp_chat_message *m, size_t n,
                        const struct glimp_chat_params *p);
void chat_render_deepseek_r1(struct chat_buf *b, const char *bos_text,
                             const struct glimp_chat_message *m, size_t n,
                             const struct glimp_chat_params *p);

void chat_render_demo(struct chat_buf *b, const struct glimp_chat_message *m, size_t n,
                      const struct glimp_chat_params *p);

#endif
