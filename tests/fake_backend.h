/* fake_backend.h - a scripted model for router tests: a backend (the model
 * interface of src/backend/backend.h) whose every step text, first-token
 * distribution, capability and cost the test gives, so that the router's
 * step loop is checked on its own rules, without a real model.
 *
 * Vocabulary: 0 "<eos>" (end of turn), 1 "\n\n", 2 "\n", 3 "</think>",
 * 4 "<start>" (ends every prompt), then one token per printable ASCII
 * character (32..126). Text is tokenized longest match first; in script
 * texts the byte '|' is a cut (no token spans it, and it adds no text), so
 * "a\n|\n" is "a", "\n", "\n".
 *
 * What the model writes: after the prompt, step i of the thinking is
 * steps[i] (a step ends where its text holds "\n\n"); once the text after
 * <start> holds "</think>", it writes `answer` and ends its turn. After the
 * last scripted step it writes "</think>\n\n". Every token is certain
 * (probability 1) except the first of step i, which shares its probability
 * with first_u[i] - 1 other tokens: H_init grows with first_u[i] (1: 0),
 * and a token that a '^' comes before in a script text (a mark, like '|'),
 * which shares its probability with 7 others (fake_entropy(8)): an
 * uncertain token in mid-step, for segmentations that start a step there. */
#ifndef GLIMP_TESTS_FAKE_BACKEND_H
#define GLIMP_TESTS_FAKE_BACKEND_H

#include "backend/backend.h"

struct fake_params {
    const char *const *steps; /* n_steps thinking steps */
    size_t n_steps;
    const unsigned *first_u;  /* n_steps entries, or NULL: all 1 */
    const char *answer;       /* no newline in it */
    unsigned caps;            /* enum bk_cap flags */
    uint32_t n_ctx;           /* a sequence's context (0: 4096) */
    /* cost, in seconds of *clock (may be NULL): per token read, per token
     * written */
    double *clock;
    double t_read, t_write;
    const char *name; /* in the description */
    uint64_t vocab_hash; /* what the vocabulary hash says (0: 0xfa4e) */
};

int fake_backend_open(const struct fake_params *p, struct glimp_backend **out);

/* The entropy (nats) of a first token shared by u tokens, as the fake
 * gives it: one at 1.5 / (u + 0.5), u - 1 at 1 / (u + 0.5). */
double fake_entropy(unsigned u);

/* How uncertain a '^'-marked token is. */
#define FAKE_MARKED_U 8

/* The clock function for rt_request_set_clock: *(double *)user. */
double fake_clock_now(void *user);

#endif
