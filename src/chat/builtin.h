/* builtin.h - the chat template glimp's own test models carry (glimp
 * mkmodel with the built-in vocabulary): Qwen3's rendering without tools,
 * recognised verbatim as the qwen3 family. */
#ifndef GLIMP_CHAT_BUILTIN_H
#define GLIMP_CHAT_BUILTIN_H

extern const char chat_builtin_template[];
/* The demo pair's: each message's text and a blank line (family demo). */
extern const char chat_demo_template[];

#endif
