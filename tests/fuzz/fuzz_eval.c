/* fuzz_eval.c - libFuzzer target for what glimp eval reads from people: the
 * JSONL problem file (through ev_dataset_read on a memory stream) and the
 * method specs (glimp_method_parse on each line). Beyond "no crash": every
 * problem read has an id, a problem and an answer, a choice problem has a
 * valid letter, and its prompt can be made. Also built as a replay program
 * (see replay_main.c). */
#include "eval/dataset.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
    fprintf(stderr, "fuzz_eval: %s\n", what);
    abort();
}

static void count_bad(uint32_t line, const char *msg, void *user)
{
    if (line == 0 || !msg || !*msg)
        die("a bad line without a number or a message");
    (*(size_t *)user)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* the first byte picks the parser */
    bool strict = data[0] & 2;
    if (data[0] & 1) {
        char *buf = malloc(size);
        if (!buf)
            return 0;
        memcpy(buf, data + 1, size - 1);
        buf[size - 1] = '\0';
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
            struct glimp_method m;
            if (glimp_method_parse(line, NULL, &m) == GLIMP_OK &&
                (m.params.glimpse < 1 || strlen(m.spec) >= sizeof m.spec))
                die("a method parsed into bad params");
        }
        free(buf);
        return 0;
    }
    FILE *f = fmemopen((void *)(data + 1), size - 1, "rb");
    if (!f)
        return 0;
    struct glimp_dataset *d = NULL;
    size_t bad = 0;
    int rc = ev_dataset_read(f, "fuzz.jsonl", strict, count_bad, &bad, &d);
    fclose(f);
    if (rc == GLIMP_OK) {
        if (!d || d->n == 0)
            die("success without problems");
        for (size_t i = 0; i < d->n; i++) {
            const struct glimp_problem *p = &d->items[i];
            if (!p->id || !p->problem || !p->answer || !*p->id || !*p->problem)
                die("a problem without id, problem or answer");
            if (p->type == GLIMP_PROBLEM_CHOICE && (p->n_choices < 2 || p->n_choices > 26))
                die("a choice problem with a bad number of choices");
            char *prompt = NULL;
            if (glimp_problem_prompt(p, NULL, &prompt) != GLIMP_OK || !strstr(prompt, p->problem))
                die("no prompt for a problem");
            free(prompt);
            char *box = NULL;
            glimp_answer_correct(p, p->problem, &box);
            free(box);
        }
    } else if (d) {
        die("failure with a dataset");
    }
    glimp_dataset_free(d);
    return 0;
}
