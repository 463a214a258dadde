/* test_dataset.c - the evaluation data set (src/eval/dataset.c): a choice
 * problem's reference letter must name one of its choices, the last one
 * included, and its prompt lists the choices as "A) ...", one a line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glimp_eval.h"
#include "testutil.h"

static int n_bad;

static void count_bad(uint32_t line, const char *message, void *user)
{
    (void)line;
    (void)message;
    (void)user;
    n_bad++;
}

static struct glimp_dataset *load(const char *text, bool strict, int *rc)
{
    char path[512];
    snprintf(path, sizeof path, "%s", tu_tmp_path("data.jsonl"));
    tu_write_file(path, text, strlen(text));
    struct glimp_dataset *d = NULL;
    n_bad = 0;
    *rc = glimp_dataset_load(path, strict, count_bad, NULL, &d);
    return d;
}

/* "D" of four choices is good, "E" is one past the last, "a" is "A". */
static void test_choice_letters(void **state)
{
    (void)state;
    int rc;
    struct glimp_dataset *d = load(
        "{\"id\": \"1\", \"type\": \"choice\", \"problem\": \"Pick\", \"answer\": \"D\","
        " \"choices\": [\"w\", \"x\", \"y\", \"z\"]}\n"
        "{\"id\": \"2\", \"type\": \"choice\", \"problem\": \"Pick\", \"answer\": \"E\","
        " \"choices\": [\"w\", \"x\", \"y\", \"z\"]}\n"
        "{\"id\": \"3\", \"type\": \"choice\", \"problem\": \"Pick\", \"answer\": \"(a)\","
        " \"choices\": [\"w\", \"x\"]}\n"
        "{\"id\": \"4\", \"type\": \"choice\", \"problem\": \"Pick\", \"answer\": \"C\","
        " \"choices\": [\"w\", \"x\"]}\n",
        false, &rc);
    assert_int_equal(rc, GLIMP_OK);
    assert_non_null(d);
    assert_int_equal(n_bad, 2);
    assert_int_equal(d->n, 2);
    assert_string_equal(d->items[0].id, "1");
    assert_string_equal(d->items[1].id, "3");
    glimp_dataset_free(d);

    d = load("{\"id\": \"2\", \"type\": \"choice\", \"problem\": \"Pick\", \"answer\": \"E\","
             " \"choices\": [\"w\", \"x\", \"y\", \"z\"]}\n",
             true, &rc);
    assert_int_not_equal(rc, GLIMP_OK);
    assert_null(d);
}

/* The default choice prompt ends with the choices, lettered A) B) C). */
static void test_choice_prompt(void **state)
{
    (void)state;
    int rc;
    struct glimp_dataset *d = load(
        "{\"id\": \"1\", \"type\": \"choice\", \"problem\": \"Which?\", \"answer\": \"B\","
        " \"choices\": [\"red\", \"green\", \"blue\"]}\n",
        true, &rc);
    assert_int_equal(rc, GLIMP_OK);
    char *s = NULL;
    assert_int_equal(glimp_problem_prompt(&d->items[0], NULL, &s), GLIMP_OK);
    const char *tail = "Which?\n\nA) red\nB) green\nC) blue";
    size_t n = strlen(s), k = strlen(tail);
    assert_true(n >= k);
    assert_string_equal(s + n - k, tail);
    free(s);
    assert_int_equal(glimp_problem_prompt(&d->items[0], "{choices}|{problem}", &s), GLIMP_OK);
    assert_string_equal(s, "A) red\nB) green\nC) blue|Which?");
    free(s);
    glimp_dataset_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choice_letters),
        cmocka_unit_test(test_choice_prompt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
