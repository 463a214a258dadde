/* dataset.c - benchmark problems from JSONL (one problem a line), the
 * prompts they are asked with, and whether a response got them right. */
#include "eval/dataset.h"
#include "eval/answer.h"

#include "core/buf.h"
#include "core/error.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lines longer than this are refused (a problem is text, not a book). */
#define DS_MAX_LINE (16u << 20)
#define DS_MAX_CHOICES 26

static const char math_template[] =
    "Solve the following problem. Reason step by step, and separate the steps with a "
    "blank line. Put your final answer within \\boxed{}.\n\n{problem}";

static const char choice_template[] =
    "Answer the following multiple-choice question. Reason step by step, and separate the "
    "steps with a blank line. Put the letter of the correct choice within \\boxed{}.\n\n"
    "{problem}\n\n{choices}";

static void problem_free(struct glimp_problem *p)
{
    free(p->id);
    free(p->problem);
    free(p->answer);
    for (size_t i = 0; i < p->n_choices; i++)
        free(p->choices[i]);
    free(p->choices);
}

void glimp_dataset_free(struct glimp_dataset *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        problem_free(&d->items[i]);
    free(d->items);
    free(d);
}

/* A string field (or, for id and answer, a number written as text). */
static int text_field(json_t *o, const char *key, bool required, bool number_ok, char **out,
                      char *why, size_t why_len)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v) {
        if (required)
            snprintf(why, why_len, "no \"%s\"", key);
        return required ? -1 : 0;
    }
    char num[64];
    const char *s = NULL;
    if (json_is_string(v))
        s = json_string_value(v);
    else if (number_ok && json_is_integer(v))
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), s = num;
    else if (number_ok && json_is_real(v))
        snprintf(num, sizeof num, "%.17g", json_real_value(v)), s = num;
    if (!s) {
        snprintf(why, why_len, "\"%s\" is not a %s", key,
                 number_ok ? "string or number" : "string");
        return -1;
    }
    if (!*s && required) {
        snprintf(why, why_len, "\"%s\" is empty", key);
        return -1;
    }
    if (!(*out = buf_strdup(s))) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    return 0;
}

/* The reference answer of a choice problem: one letter, maybe in
 * parentheses ("B", "(b)"); its index, or -1. */
static int ref_letter(const char *s)
{
    while (*s == ' ' || *s == '(')
        s++;
    int c = *s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s;
    if (c < 'A' || c > 'Z')
        return -1;
    for (s++; *s; s++)
        if (*s != ' ' && *s != ')' && *s != '.')
            return -1;
    return c - 'A';
}

/* Parse one line into p; on failure why says what is wrong. */
static int parse_problem(const char *line, size_t len, struct glimp_problem *p, char *why,
                         size_t why_len)
{
    json_error_t err;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    memset(p, 0, sizeof *p);
    if (!o) {
        snprintf(why, why_len, "not JSON: %s (column %d)", err.text, err.column);
        return -1;
    }
    int rc = 0;
    if (!json_is_object(o)) {
        snprintf(why, why_len, "not a JSON object");
        rc = -1;
    }
    if (rc == 0)
        rc = text_field(o, "id", true, true, &p->id, why, why_len);
    if (rc == 0)
        rc = text_field(o, "problem", true, false, &p->problem, why, why_len);
    if (rc == 0)
        rc = text_field(o, "answer", true, true, &p->answer, why, why_len);
    char *type = NULL;
    if (rc == 0)
        rc = text_field(o, "type", false, false, &type, why, why_len);
    if (rc == 0 && type) {
        if (!strcmp(type, "math")) {
            p->type = GLIMP_PROBLEM_MATH;
        } else if (!strcmp(type, "choice")) {
            p->type = GLIMP_PROBLEM_CHOICE;
        } else {
            snprintf(why, why_len, "\"type\" is '%.40s', expected math or choice", type);
            rc = -1;
        }
    }
    free(type);
    json_t *ch = rc == 0 ? json_object_get(o, "choices") : NULL;
    if (ch) {
        size_t n = json_is_array(ch) ? json_array_size(ch) : 0;
        if (!json_is_array(ch) || n < 2 || n > DS_MAX_CHOICES) {
            snprintf(why, why_len, "\"choices\" must be an array of 2 to %d strings",
                     DS_MAX_CHOICES);
            rc = -1;
        } else if (!(p->choices = calloc(n, sizeof *p->choices))) {
            snprintf(why, why_len, "out of memory");
            rc = -1;
        }
        for (size_t i = 0; rc == 0 && i < n; i++) {
            json_t *c = json_array_get(ch, i);
            if (!json_is_string(c)) {
                snprintf(why, why_len, "choice %zu is not a string", i + 1);
                rc = -1;
            } else if (!(p->choices[i] = buf_strdup(json_string_value(c)))) {
                snprintf(why, why_len, "out of memory");
                rc = -1;
            } else {
                p->n_choices = i + 1;
            }
        }
    }
    if (rc == 0 && p->type == GLIMP_PROBLEM_CHOICE) {
        if (p->n_choices == 0) {
            snprintf(why, why_len, "a choice problem needs \"choices\"");
            rc = -1;
        } else {
            int a = ref_letter(p->answer);
            if (a < 0 || (size_t)a >= p->n_choices) {
                snprintf(why, why_len, "\"answer\" '%.40s' is not one of the %zu choices' letters",
                         p->answer, p->n_choices);
                rc = -1;
            }
        }
    }
    json_decref(o);
    if (rc != 0)
        problem_free(p);
    return rc;
}

int ev_dataset_read(FILE *f, const char *path, bool strict, glimp_bad_line_cb on_bad, void *user,
                    struct glimp_dataset **out)
{
    *out = NULL;
    struct glimp_dataset *d = calloc(1, sizeof *d);
    size_t cap = 0, lcap = 0;
    char *line = NULL;
    int rc = d ? GLIMP_OK : glimp_error(GLIMP_ERR_NOMEM, "dataset: out of memory");
    uint32_t no = 0;
    ssize_t got;
    while (rc == GLIMP_OK && (got = getline(&line, &lcap, f)) >= 0) {
        no++;
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        size_t sp = 0;
        while (sp < len && (line[sp] == ' ' || line[sp] == '\t'))
            sp++;
        if (sp == len)
            continue;
        char why[256] = "";
        struct glimp_problem p;
        int bad = len > DS_MAX_LINE
                      ? (snprintf(why, sizeof why, "line longer than %u bytes", DS_MAX_LINE), -1)
                      : parse_problem(line, len, &p, why, sizeof why);
        for (size_t i = 0; bad == 0 && i < d->n; i++) {
            if (!strcmp(d->items[i].id, p.id)) {
                snprintf(why, sizeof why, "id '%.40s' already used on line %u", p.id,
                         d->items[i].line);
                problem_free(&p);
                bad = -1;
            }
        }
        if (bad) {
            if (strict)
                rc = glimp_error(GLIMP_ERR_FORMAT, "%s:%u: %s", path, no, why);
            else if (on_bad)
                on_bad(no, why, user);
            continue;
        }
        if (d->n == cap) {
            size_t c = cap ? cap * 2 : 64;
            struct glimp_problem *items = realloc(d->items, c * sizeof *items);
            if (!items) {
                problem_free(&p);
                rc = glimp_error(GLIMP_ERR_NOMEM, "dataset: out of memory");
                break;
            }
            d->items = items;
            cap = c;
        }
        p.line = no;
        d->items[d->n++] = p;
    }
    if (rc == GLIMP_OK && ferror(f))
        rc = glimp_error(GLIMP_ERR_IO, "%s: read error", path);
    if (rc == GLIMP_OK && d->n == 0)
        rc = glimp_error(GLIMP_ERR_FORMAT, "%s: no usable problem in %u lines", path, no);
    free(line);
    if (rc != GLIMP_OK) {
        glimp_dataset_free(d);
        return rc;
    }
    *out = d;
    return GLIMP_OK;
}

int glimp_dataset_load(const char *path, bool strict, glimp_bad_line_cb on_bad, void *user,
                       struct glimp_dataset **out)
{
    if (!path || !out)
        return glimp_error(GLIMP_ERR_INVALID, "dataset: path or out is NULL");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return glimp_error(GLIMP_ERR_IO, "%s: %s", path, strerror(errno));
    int rc = ev_dataset_read(f, path, strict, on_bad, user, out);
    fclose(f);
    return rc;
}

int glimp_problem_prompt(const struct glimp_problem *p, const char *tmpl, char **out)
{
    if (!p || !out)
        return glimp_error(GLIMP_ERR_INVALID, "prompt: problem or out is NULL");
    *out = NULL;
    if (!tmpl)
        tmpl = p->type == GLIMP_PROBLEM_CHOICE ? choice_template : math_template;
    char *s = NULL, *choices = NULL;
    size_t len = 0, cap = 0, clen = 0, ccap = 0;
    int rc = buf_append(&choices, &clen, &ccap, "", 0);
    for (size_t i = 0; rc == GLIMP_OK && i < p->n_choices; i++) {
        char head[8];
        snprintf(head, sizeof head, "%s%c) ", i ? "\n" : "", (char)('A' + i));
        rc = buf_append(&choices, &clen, &ccap, head, strlen(head));
        if (rc == GLIMP_OK)
            rc = buf_append(&choices, &clen, &ccap, p->choices[i], strlen(p->choices[i]));
    }
    for (const char *t = tmpl; rc == GLIMP_OK && *t;) {
        if (!strncmp(t, "{problem}", 9)) {
            rc = buf_append(&s, &len, &cap, p->problem, strlen(p->problem));
            t += 9;
        } else if (!strncmp(t, "{choices}", 9)) {
            rc = buf_append(&s, &len, &cap, choices, clen);
            t += 9;
        } else {
            rc = buf_append(&s, &len, &cap, t, 1);
            t++;
        }
    }
    free(choices);
    if (rc == GLIMP_OK && !s)
        rc = buf_append(&s, &len, &cap, "", 0);
    if (rc != GLIMP_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return GLIMP_OK;
}

bool glimp_answer_correct(const struct glimp_problem *p, const char *response, char **extracted)
{
    if (extracted)
        *extracted = NULL;
    if (!p || !response)
        return false;
    char *box = ev_answer_last_boxed(response);
    bool ok = false;
    if (box)
        ok = p->type == GLIMP_PROBLEM_CHOICE ? ev_answer_equal_choice(box, p->answer)
                                             : ev_answer_equal(box, p->answer);
    if (extracted)
        *extracted = box;
    else
        free(box);
    return ok;
}
