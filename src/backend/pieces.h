/* pieces.h - the token table of a remote model whose vocabulary glimp does
 * not know (text mode). Ids 0-255 are single bytes (how text glimp sends
 * is counted), six ids mark where a chat prompt's parts begin, and every
 * other text the server reports as one of its tokens gets the next id the
 * first time it is seen, so that the same text always has the same id
 * (the judge's digits among a distribution's top entries, say). Bounded
 * (PIECES_MAX entries, PIECES_MAX_BYTES of text) and safe to share
 * between threads. */
#ifndef GLIMP_PIECES_H
#define GLIMP_PIECES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    PIECES_USER_THINK = 256, /* a chat prompt begins: the user's text follows, thinking on */
    PIECES_USER_NOTHINK,     /* likewise, thinking off */
    PIECES_ASSISTANT,        /* the user's text ended: the assistant's text follows */
    /* Earlier messages of a conversation (the first, when the user's,
     * follows the chat's first marker without one): */
    PIECES_SYSTEM_TURN,    /* a system message's text follows */
    PIECES_USER_TURN,      /* a user message's text follows */
    PIECES_ASSISTANT_TURN, /* an earlier answer of the assistant's follows */
    PIECES_FIRST,            /* the first id of a server's token */
};

#define PIECES_MAX (1u << 22)
#define PIECES_MAX_BYTES ((size_t)64 << 20)
#define PIECES_MAX_LEN 1024 /* bytes of one token's text */

struct pieces;

/* An empty table (bytes and markers only). GLIMP_ERR_NOMEM. */
int pieces_new(struct pieces **out);
void pieces_free(struct pieces *p); /* accepts NULL */

/* The id of text[0..len): its byte when len is 1, else the id the text
 * got when first seen (given now if new). -1 when the text is longer than
 * PIECES_MAX_LEN, the table is full or memory ran out. */
int32_t pieces_intern(struct pieces *p, const char *text, size_t len);

/* The bytes of id into buf (markers have none): false when id is not in
 * the table or cap is too small. */
bool pieces_bytes(struct pieces *p, int32_t id, char *buf, size_t cap, size_t *len);

/* Is id in the table (a byte, a marker or a text seen)? */
bool pieces_has(struct pieces *p, int32_t id);

#endif
