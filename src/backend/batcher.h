/* batcher.h - continuous batching for the sequences of one local model:
 * threads that each drive a sequence (a server's requests) append tokens
 * through the batcher, and every append that is waiting when a forward pass
 * starts joins it, so that one pass reads the weights once for all of them
 * (glimp_ctx_decode). No scheduler thread: the first waiting thread that
 * finds no pass running runs the next one for everybody (its caller's
 * thread and the context's pool do the work), then hands over.
 *
 * What a pass takes:
 *   - every waiting sequence that decodes (one token, or a verification
 *     block that wants the logits of every position), whole;
 *   - prompts (many tokens, last logits only) in chunks: all of them
 *     together at most ubatch tokens per pass, oldest first, so a long
 *     prompt is read between decoding steps instead of stalling them, and
 *     at least one token so that every prompt moves.
 * A thread in a token loop (the local backend's generate) holds the
 * batcher for that loop: a pass waits, a bounded time, until each such
 * thread has its next token waiting, so that sequences decoding side by
 * side stay in the same passes instead of drifting one pass apart.
 *
 * The passes of all batchers in a process run one at a time (they share
 * the cores).
 *
 * Logits do not depend on the batching (the engine's batch invariance
 * across sequences): a sequence gets bitwise what glimp_seq_append alone
 * would give it. A failed append leaves the sequence as it was, whatever
 * chunks of it had already run, and fails only its own caller: a pass that
 * the context refuses is run again item by item. */
#ifndef GLIMP_BACKEND_BATCHER_H
#define GLIMP_BACKEND_BATCHER_H

#include "glimp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_batcher;

/* Counters since the batcher was made (read as one snapshot). */
struct bk_batch_stats {
    uint64_t passes;      /* forward passes run (glimp_ctx_decode calls that succeeded) */
    uint64_t items;       /* sequences' parts in them: items / passes is the mean batch */
    uint64_t tokens;      /* tokens evaluated */
    uint64_t chunked;     /* prompt chunks cut short by ubatch */
    uint64_t hold_expired;/* passes that started without a holding thread's token */
    uint64_t most_prompt; /* the most prompt tokens one pass took (at most ubatch) */
};

/* The batcher of ctx's passes (not owned), for a model of n_vocab tokens.
 * ubatch 0: 512. */
int bk_batcher_init(struct glimp_ctx *ctx, uint32_t n_vocab, uint32_t ubatch,
                    struct bk_batcher **out);
void bk_batcher_free(struct bk_batcher *b);

/* glimp_seq_append(ctx, seq, ids, n, all_logits, logits), done in shared
 * passes; returns when the tokens are in (or refused), with the same
 * results, errors and messages. held: the caller holds the batcher (see
 * bk_batcher_hold). One thread at a time per sequence. */
int bk_batcher_append(struct bk_batcher *b, struct glimp_seq *seq, const int32_t *ids, size_t n,
                      bool all_logits, const float **logits, bool held);

/* A token loop begins (hold) or ends (release): while held, passes wait for
 * the holder's appends (made with held true). */
void bk_batcher_hold(struct bk_batcher *b);
void bk_batcher_release(struct bk_batcher *b);

void bk_batcher_stats(struct bk_batcher *b, struct bk_batch_stats *out);

#endif
