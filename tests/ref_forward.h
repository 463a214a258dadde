/* ref_forward.h - an independent float64 forward pass of the qwen3, qwen2
 * and llama architectures for the tests: plain loops over weights read with
 * glimp_gguf and glimp_dequantize only, no code shared with src/model. It
 * recomputes a whole token sequence from scratch. */
#ifndef GLIMP_TESTS_REF_FORWARD_H
#define GLIMP_TESTS_REF_FORWARD_H

#include <stddef.h>
#include <stdint.h>

/* Logits of every position of ids (n * n_vocab doubles, position by
 * position) in a malloc'ed *logits. Returns 0, or -1 with a message in err
 * (err_cap bytes). */
int ref_forward(const char *path, const int32_t *ids, size_t n, double **logits, uint32_t *n_vocab,
                char *err, size_t err_cap);

#endif
