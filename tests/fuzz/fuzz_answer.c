/* fuzz_answer.c - libFuzzer target for answer scoring (src/eval/answer.h):
 * the input, split at its first newline into a model answer and a
 * reference, goes through extraction, normalisation and both comparisons.
 * Beyond "no crash": a box is a piece of its text, a normal form grows at
 * most 4x, the verdicts are symmetric and an answer with a non-empty normal
 * form equals itself. Also built as a replay program (see replay_main.c). */
#include "eval/answer.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
    fprintf(stderr, "fuzz_answer: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *want = strchr(buf, '\n');
    if (want)
        *want++ = '\0';
    else
        want = buf + size;
    const char *got = buf;

    char *box = ev_answer_last_boxed(got);
    if (box && !strstr(got, box))
        die("the box is not part of the text");
    char *norm = ev_answer_normalize(got);
    if (!norm)
        die("normalize returned NULL");
    if (strlen(norm) > 4 * strlen(got) + 16)
        die("normal form too long");

    bool eq = ev_answer_equal(got, want);
    if (eq != ev_answer_equal(want, got))
        die("ev_answer_equal is not symmetric");
    if (norm[0] && !ev_answer_equal(got, got))
        die("an answer differs from itself");
    if (box && ev_answer_equal(box, want) != ev_answer_equal(want, box))
        die("ev_answer_equal is not symmetric on the box");
    if (ev_answer_equal_choice(got, want) != ev_answer_equal_choice(want, got))
        die("ev_answer_equal_choice is not symmetric");
    ev_answer_equal(norm, want);

    free(norm);
    free(box);
    free(buf);
    return 0;
}
