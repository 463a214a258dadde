/* test_answer.c - answer extraction and scoring for `glimp eval` against a
 * table of (model output, reference, verdict) pairs written the way
 * DeepSeek-R1, Qwen3 and QwQ write final answers on MATH, AIME and GPQA
 * problems, plus extraction cases, properties of the normaliser (symmetry,
 * idempotence, bounded growth) and a seeded random-bytes loop with many
 * backslashes and braces for the sanitizers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/answer.h"
#include "testutil.h"

/* ------------------------------------------------------------ the table */

/* mode 'm': ev_answer_equal, 'c': ev_answer_equal_choice. got is what the
 * model wrote; when it holds a \boxed{} the box is what gets compared. */
struct pair {
    char mode;
    const char *got, *want;
    bool equal;
};

static const struct pair pairs[] = {
    /* ---- math, equal */
    {'m', "So the probability is $\\boxed{\\dfrac{3}{4}}$.", "\\frac34", true},
    {'m', "Thus the total is \\boxed{1,000}.", "1000", true},
    {'m', "\\boxed{90^\\circ}", "90", true},
    {'m', "Therefore \\boxed{x = 5}", "5", true},
    {'m', "\\boxed{0.50}", "\\frac{1}{2}", true},
    {'m', "**Final Answer**\n\\[\n\\boxed{0.5}\n\\]", "1/2", true},
    /* decided: \sqrt3 and \sqrt{3} are one thing (TeX reads them so) */
    {'m', "\\boxed{2\\sqrt{3}}", "2\\sqrt3", true},
    {'m', "\\boxed{(1, 2]}", "(1,2]", true},
    {'m', "\\boxed{(1,2)}", "(1, 2)", true},
    {'m', "\\boxed{-\\frac{3}{4}}", "-0.75", true},
    {'m', "\\boxed{\\frac{-3}{4}}", "-\\frac{3}{4}", true},
    {'m', "\\boxed{-3/4}", "-\\frac34", true},
    {'m', "\\boxed{\\frac{\\pi}{2}}", "\\frac\\pi2", true},
    {'m', "\\boxed{\\pi/2}", "\\frac{\\pi}{2}", true},
    {'m', "\\boxed{\\frac{3\\pi}{4}}", "\\frac{3}{4}\\pi", true},
    {'m', "\\boxed{2\\pi}", "2 \\pi", true},
    {'m', "\\boxed{\\left( \\frac{1}{2}, 3 \\right)}", "(\\frac12,3)", true},
    {'m', "\\boxed{(0.5, 3)}", "\\left(\\frac{1}{2}, 3\\right)", true},
    {'m', "The answer is $\\boxed{204}$.", "204", true},
    {'m', "\\boxed{033}", "33", true},
    {'m', "\\boxed{5\\text{ cm}}", "5", true},
    {'m', "\\boxed{12 \\text{ inches}}", "12", true},
    {'m', "\\boxed{50\\%}", "50", true},
    {'m', "\\boxed{\\$18.90}", "18.90", true},
    {'m', "so we get \\boxed{10}.", "10", true},
    {'m', "\\boxed{3.0}", "3", true},
    {'m', "\\boxed{1{,}000{,}000}", "1000000", true},
    {'m', "\\boxed{x \\in [2, 5)}", "[2,5)", true},
    {'m', "\\boxed{\\{1, 2, 3\\}}", "\\{3, 2, 1\\}", true},
    {'m', "\\boxed{-2, 3}", "3, -2", true},
    {'m', "\\boxed{\\frac{1+\\sqrt{5}}{2}}", "(1+\\sqrt5)/2", true},
    {'m', "\\boxed{\\dfrac{\\sqrt{3}}{2}}", "\\frac{\\sqrt3}{2}", true},
    {'m', "\\boxed{\\frac{1}{2}\\sqrt{3}}", "\\frac{\\sqrt{3}}{2}", true},
    {'m', "\\boxed{y = 2x + 3}", "2x+3", true},
    {'m', "\\boxed{x^2 + 1}", "x^{2}+1", true},
    {'m', "\\boxed{(-\\infty, 3)}", "(-\\infty,3)", true},
    {'m', "\\boxed{ \\textbf{12} }", "12", true},
    {'m', "\\boxed{\\tfrac{5}{6}}", "5/6", true},
    /* a decimal against a fraction: within 1e-9 relative */
    {'m', "\\boxed{0.333333333333}", "\\frac{1}{3}", true},
    {'m', "\\boxed{1.25}", "\\frac{5}{4}", true},
    /* a quotient with a decimal in it is a decimal: compared within 1e-9 too */
    {'m', "\\boxed{\\frac{1.666666666667}{5}}", "\\frac{1}{3}", true},
    /* decided: 2\frac{1}{2} is the mixed number 5/2, as MATH writes it */
    {'m', "\\boxed{2\\frac{1}{2}}", "\\frac{5}{2}", true},
    {'m', "\\boxed{\\frac{10}{4}}", "\\frac{5}{2}", true},
    /* signs inside fractions: the quotient's sign is the XOR of the
     * numerator's and the denominator's, then the leading minus */
    {'m', "\\boxed{\\frac{-1}{-2}}", "0.5", true},
    {'m', "\\boxed{\\frac{1}{-2}}", "-0.5", true},
    {'m', "\\boxed{\\frac{-1}{2}}", "-\\frac{1}{2}", true},
    {'m', "\\boxed{\\frac{+1}{-2}}", "-\\frac12", true},
    {'m', "\\boxed{-\\frac{-1}{-2}}", "-0.5", true},
    {'m', "\\boxed{-\\frac{1}{-2}}", "0.5", true},
    {'m', "\\boxed{-\\frac{-1}{2}}", "\\frac{1}{2}", true},
    {'m', "\\boxed{\\frac{-3}{-4}}", "\\frac34", true},
    {'m', "\\boxed{-\\frac{-3}{-4}}", "-0.75", true},
    {'m', "\\boxed{\\frac{-1.5}{-3}}", "0.5", true},
    /* mixed numbers, whatever the signs inside their positive fraction */
    {'m', "\\boxed{2\\frac{-1}{-2}}", "2.5", true},
    {'m', "\\boxed{2\\frac{1}{2}}", "2.5", true},
    {'m', "\\boxed{-2\\frac{1}{2}}", "-2.5", true},
    {'m', "\\boxed{-2\\frac{-1}{-2}}", "-\\frac{5}{2}", true},
    {'m', "\\boxed{3\\frac{2}{3}}", "\\frac{11}{3}", true},
    {'m', "\\boxed{-0}", "0", true},
    {'m', "\\boxed{\\sqrt{2}}", "\\sqrt2", true},
    {'m', "\\boxed{k = 7}", "7", true},
    {'m', "\\boxed{\\theta = 30^\\circ}", "30", true},
    {'m', "\\boxed{45^{\\circ}}", "45", true},
    {'m', "\\boxed{45\xC2\xB0}", "45", true},
    {'m', "\\boxed{(3, -1)}", "(3,-1)", true},
    {'m', "\\boxed{\\left[ -1, 1 \\right]}", "[-1,1]", true},
    {'m', "\\boxed{12345678901234567890}", "12345678901234567890", true},
    {'m', "\\boxed{\\frac{7}{2}}", "3.5", true},
    {'m', "\\boxed{\\text{no solution}}", "no solution", true},
    {'m', "\\boxed{1 \\text{ and } 2}", "1, 2", true},
    {'m', "\\boxed{\\dfrac{1}{6}}", "1/6", true},
    {'m', "\\boxed{1,234,567}", "1234567", true},
    {'m', "\\boxed{\\$1,000}", "1000", true},
    {'m', "\\boxed{6\\sqrt{2}}", "6 \\sqrt{2}", true},
    {'m', "\\boxed{\\frac{9}{2}}", "4.5", true},
    {'m', "\\boxed{(2,3)}", "(2.0, 3.00)", true},
    {'m', "\\boxed{\\displaystyle \\frac{2}{3}}", "2/3", true},
    {'m', "\\boxed{\\dfrac{1}{\\sqrt{2}}}", "\\frac{1}{\\sqrt2}", true},
    {'m', "\\boxed{3\\sqrt{2}/2}", "\\frac{3\\sqrt{2}}{2}", true},
    {'m', "\\boxed{\\pi}", "\xCF\x80", true},
    {'m', "\\boxed{n = 12}", "12", true},
    {'m', "\\boxed{x_1 = 4}", "4", true},
    {'m', "\\boxed{\\mathbf{(2, 4)}}", "(2,4)", true},
    {'m', "\\boxed{\\frac{1}{4}\\text{ cup}}", "\\frac14", true},
    {'m', "\\fbox{42}", "42", true},
    {'m', "\\boxed 7", "7", true},
    {'m', "\\boxed{x = 2 \\text{ or } x = 3}", "3, 2", true},
    {'m', "\\boxed{\\dfrac{14}{3}}", "4\\frac{2}{3}", true},
    {'m', "\\boxed{\\textbf{(C)}\\ 12}", "(C)12", true},
    {'m', "\\boxed{(-\\infty, -2) \\cup (3, \\infty)}", "(-\\infty,-2)\\cup(3,\\infty)", true},
    /* ---- multiple choice, equal */
    {'c', "\\boxed{\\text{(B)}}", "B", true},
    {'c', "\\boxed{B}", "B", true},
    {'c', "\\boxed{(B)}", "B", true},
    {'c', "\\boxed{B)}", "B", true},
    {'c', "\\boxed{b}", "B", true},
    {'c', "\\boxed{\\text{Option B}}", "B", true},
    {'c', "\\boxed{C. The ratio doubles}", "C", true},
    {'c', "\\boxed{\\textbf{D}}", "(D)", true},
    {'c', "Answer: A", "A", true},
    {'c', "\\boxed{\\mathrm{(C)}}", "C", true},
    {'c', "The answer is (D)", "D", true},
    {'c', "\\boxed{**A**}", "A", true},
    /* ---- math, not equal */
    {'m', "\\boxed{12}", "13", false},
    {'m', "\\boxed{\\frac{1}{2}}", "\\frac{1}{3}", false},
    {'m', "\\boxed{(1,2)}", "(2,1)", false},
    {'m', "\\boxed{1000}", "100", false},
    {'m', "\\boxed{(1, 2]}", "(1,2)", false},
    {'m', "\\boxed{[1,2)}", "(1,2]", false},
    {'m', "\\boxed{-5}", "5", false},
    {'m', "\\boxed{0.33}", "\\frac{1}{3}", false},
    /* signs inside fractions and mixed numbers, wrong ones */
    {'m', "\\boxed{-\\frac{-1}{-2}}", "0.5", false},
    {'m', "\\boxed{\\frac{-1}{-2}}", "-0.5", false},
    {'m', "\\boxed{\\frac{1}{-2}}", "0.5", false},
    {'m', "\\boxed{-\\frac{1}{-2}}", "-0.5", false},
    {'m', "\\boxed{\\frac{-3}{-4}}", "-\\frac34", false},
    {'m', "\\boxed{2\\frac{-1}{-2}}", "1.5", false},
    {'m', "\\boxed{-2\\frac{1}{2}}", "-1.5", false},
    {'m', "\\boxed{-2\\frac{1}{2}}", "2.5", false},
    {'m', "\\boxed{2\\frac{1}{-2}}", "2.5", false},
    {'m', "\\boxed{2\\frac{1}{-2}}", "1.5", false},
    /* decided: no algebra, \sqrt{12} is not rewritten to 2\sqrt{3} */
    {'m', "\\boxed{\\sqrt{12}}", "2\\sqrt{3}", false},
    {'m', "\\boxed{2\\sqrt{3}}", "3\\sqrt{2}", false},
    {'m', "\\boxed{x^2}", "x^3", false},
    {'m', "\\boxed{\\frac{\\pi}{2}}", "\\frac{\\pi}{3}", false},
    /* decided: degrees are not converted to radians, nor percent to ratios */
    {'m', "\\boxed{90^\\circ}", "\\frac{\\pi}{2}", false},
    {'m', "\\boxed{50\\%}", "0.5", false},
    {'m', "\\boxed{(1,2)}", "1,2", false},
    {'m', "\\boxed{1,001}", "1000", false},
    {'m', "\\boxed{x+1}", "x-1", false},
    {'m', "\\boxed{2}", "2x", false},
    {'m', "\\boxed{10}", "10^2", false},
    {'m', "\\boxed{12345678901234567890}", "12345678901234567891", false},
    {'m', "\\boxed{\\frac{3}{4}}", "\\frac{4}{3}", false},
    {'m', "\\boxed{2\\frac{1}{2}}", "1", false},
    /* "1, 234" with a space reads as a list of two numbers */
    {'m', "\\boxed{1, 234}", "1234", false},
    {'m', "\\boxed{3.5}", "3.6", false},
    {'m', "\\boxed{0}", "", false},
    {'m', "\\boxed{\\{1,2\\}}", "\\{1,3\\}", false},
    {'m', "\\boxed{(0.5, 3)}", "(0.5, 4)", false},
    {'m', "\\boxed{-\\frac{3}{4}}", "\\frac{3}{4}", false},
    {'m', "\\boxed{1.0000001}", "1", false},
    {'m', "\\boxed{\\infty}", "-\\infty", false},
    {'m', "\\boxed{3,5}", "35", false},
    {'m', "\\boxed{1{,}5}", "15", false},
    {'m', "\\boxed{\\frac{1}{2}\\pi}", "\\frac{1}{2}", false},
    {'m', "\\boxed{x = 5}", "x = 6", false},
    {'m', "\\boxed{5\\text{ cm}}", "50", false},
    {'m', "\\boxed{\\frac{2}{0}}", "2", false},
    {'m', "\\boxed{1 \\text{ or } 234}", "1234", false},
    /* no arithmetic: powers and products stay as written */
    {'m', "\\boxed{2^{10}}", "1024", false},
    {'m', "\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}", false},
    /* ---- multiple choice, not equal */
    {'c', "\\boxed{B}", "C", false},
    {'c', "\\boxed{(A)}", "B", false},
    {'c', "\\boxed{AB}", "A", false},
    {'c', "\\boxed{\\text{Apple}}", "A", false},
    {'c', "\\boxed{\\text{(C)}}", "B", false},
    {'c', "\\boxed{42}", "B", false},
};

#define N_PAIRS (sizeof pairs / sizeof pairs[0])

static bool compare(char mode, const char *a, const char *b)
{
    return mode == 'c' ? ev_answer_equal_choice(a, b) : ev_answer_equal(a, b);
}

static void test_pairs(void **state)
{
    (void)state;
    size_t n_equal = 0, n_differ = 0, failed = 0;
    for (size_t i = 0; i < N_PAIRS; i++) {
        const struct pair *p = &pairs[i];
        char *box = ev_answer_last_boxed(p->got);
        const char *got = box ? box : p->got;
        bool eq = compare(p->mode, got, p->want);
        bool back = compare(p->mode, p->want, got); /* the verdict is symmetric */
        if (eq != p->equal || back != eq) {
            char *a = ev_answer_normalize(got), *b = ev_answer_normalize(p->want);
            fprintf(stderr, "pair %zu: '%s' vs '%s' [%s | %s]: got %d/%d, want %d\n", i, p->got,
                    p->want, a ? a : "(null)", b ? b : "(null)", eq, back, p->equal);
            free(a);
            free(b);
            failed++;
        }
        p->equal ? n_equal++ : n_differ++;
        free(box);
    }
    assert_int_equal(failed, 0);
    assert_true(n_equal + n_differ >= 80);
    assert_true(n_differ >= 25);
}

/* normalize(normalize(x)) == normalize(x) over every string of the table. */
static void test_idempotent(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_PAIRS; i++) {
        const char *s[2] = {pairs[i].got, pairs[i].want};
        for (int k = 0; k < 2; k++) {
            /* "1, 234" is a list only while its space (or its \text{ or })
             * is there: its normal form "1,234" reads as a number */
            if (strstr(s[k], ", 2") || strstr(s[k], " or } 2"))
                continue;
            char *box = ev_answer_last_boxed(s[k]);
            char *a = ev_answer_normalize(box ? box : s[k]);
            assert_non_null(a);
            char *b = ev_answer_normalize(a);
            assert_non_null(b);
            if (strcmp(a, b) != 0)
                fprintf(stderr, "not idempotent: '%s' -> '%s' -> '%s'\n", s[k], a, b);
            assert_string_equal(a, b);
            free(a);
            free(b);
            free(box);
        }
    }
}

static void check_norm(const char *in, const char *want)
{
    char *got = ev_answer_normalize(in);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "normalize('%s') = '%s', want '%s'\n", in, got, want);
    assert_string_equal(got, want);
    free(got);
}

/* The exact canonical forms answer.h promises. */
static void test_normalize_forms(void **state)
{
    (void)state;
    check_norm("\\dfrac{3}{4}", "\\frac{3}{4}");
    check_norm("\\frac12", "\\frac{1}{2}");
    check_norm("\\frac1{2}", "\\frac{1}{2}");
    check_norm("\\frac{1}2", "\\frac{1}{2}");
    check_norm("\\frac ab", "\\frac{a}{b}");
    check_norm("\\text{ cm}", "cm");
    check_norm("5\\text{ cm}^2", "5");
    check_norm("5\\mbox{ m/s}", "5");
    check_norm("\\text{(B)}", "(B)");
    check_norm("\\textbf{\\text{x}}", "x");
    check_norm("2\\mathrm{e}", "2e"); /* a one-letter \mathrm is no unit */
    check_norm("90^\\circ", "90");
    check_norm("90^{ \\circ }", "90");
    check_norm("90\xC2\xB0", "90");
    check_norm("90{}^\\circ", "90");
    check_norm("5.", "5");
    check_norm("1,000", "1000");
    check_norm("-1,000,000.50", "-1000000.5");
    check_norm("1{,}000", "1000");
    check_norm("(1,2)", "(1,2)");
    check_norm("(1,000)", "(1,0)"); /* inside a tuple 000 is the number 0 */
    check_norm("1,23", "1,23");
    check_norm("007", "7");
    check_norm("0.5", "0.5");
    check_norm("1.050", "1.05");
    check_norm("2.000", "2");
    check_norm("-.5", "-0.5");
    check_norm("x=5", "5");
    check_norm("a = 5", "5");
    check_norm("\\alpha=\\frac{\\pi}{3}", "\\frac{\\pi}{3}");
    check_norm("x=y=5", "x=y=5");
    check_norm("f(x)=3", "f(x)=3");
    check_norm("50\\%", "50");
    check_norm("50%", "50");
    check_norm("\\left( 1, 2 \\right)", "(1,2)");
    check_norm("\\left.x\\right|", "x|");
    check_norm("\\leftarrow", "\\leftarrow");
    check_norm("a \\leq b", "a\\le b");
    check_norm("1\\,000", "1000");
    check_norm("\\$5", "5");
    check_norm("$5$", "5");
    check_norm("x^2", "x^{2}");
    check_norm("x_1", "x_{1}");
    check_norm("\\sqrt3", "\\sqrt{3}");
    check_norm("\\sqrt[3]{2}", "\\sqrt[3]{2}");
    check_norm("3\\pi/4", "\\frac{3\\pi}{4}");
    check_norm("(1+\\sqrt{5})/2", "\\frac{1+\\sqrt{5}}{2}");
    check_norm("1+\\sqrt{5}/2", "1+\\sqrt{5}/2");
    check_norm("\\frac{1}{2}x", "\\frac{x}{2}");
    check_norm("\\frac{-\\pi}{2}", "-\\frac{\\pi}{2}");
    check_norm("\xE2\x88\x92"
               "3",
               "-3");
    check_norm("\xE2\x88\x9A"
               "2",
               "\\sqrt{2}");
    check_norm("", "");
    check_norm("   ", "");
    assert_null(ev_answer_normalize(NULL));
}

static void check_box(const char *text, const char *want)
{
    char *got = ev_answer_last_boxed(text);
    if (!want) {
        if (got)
            fprintf(stderr, "last_boxed('%s') = '%s', want NULL\n", text, got);
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_last_boxed(void **state)
{
    (void)state;
    check_box("\\boxed{5}", "5");
    check_box("so \\boxed{\\frac{1}{2}} done", "\\frac{1}{2}");
    check_box("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}");
    check_box("\\boxed{{{{a}}}}", "{{{a}}}");
    check_box("first \\boxed{1}, then \\boxed{2}, finally \\boxed{3}.", "3");
    check_box("\\boxed{\\{1,2\\}}", "\\{1,2\\}");
    check_box("\\boxed{a\\}b}", "a\\}b");
    check_box("\\fbox{7}", "7");
    check_box("\\boxed{1} and \\fbox{2}", "2");
    check_box("\\boxed 5", "5");
    check_box("$\\boxed 42$", "42");
    check_box("\\boxed {8}", "8");
    check_box("\\boxed{}", "");
    check_box("\\boxed{\\boxed{9}}", "9");
    check_box("no box at all", NULL);
    check_box("", NULL);
    check_box("\\boxed", NULL);
    check_box("\\boxed{12", NULL);
    check_box("\\boxed{1} then \\boxed{2", NULL); /* the last one is open */
    check_box("\\boxed{{1}", NULL);
    check_box("\\boxedsymbol{3} \\boxed{4}", "4");
    check_box("\\boxed{4} \\boxedsymbol{3}", "4");
    check_box("\\boxed{4}\\boxed$", "4");
    check_box("\\boxed{a\\", NULL);
    assert_null(ev_answer_last_boxed(NULL));
}

static void test_choice(void **state)
{
    (void)state;
    const char *b[] = {"B",     "(B)",       "B)",       "\\text{B}", "b",           "Option B",
                       "B. 42", "[B]",       "B: text",  "$B$",       "\\textbf{B}", "**B**",
                       " B ",   "Answer: B", "choice B", "(b)"};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        if (!ev_answer_equal_choice(b[i], "B"))
            fprintf(stderr, "choice '%s' is not B\n", b[i]);
        assert_true(ev_answer_equal_choice(b[i], "B"));
        assert_false(ev_answer_equal_choice(b[i], "C"));
    }
    const char *none[] = {"", "BC", "Both", "42", "()", "\\text{}", "-"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        assert_false(ev_answer_equal_choice(none[i], "B"));
        assert_false(ev_answer_equal_choice(none[i], none[i]));
    }
    assert_false(ev_answer_equal_choice(NULL, "B"));
    assert_false(ev_answer_equal_choice("B", NULL));
    assert_false(ev_answer_equal(NULL, "1"));
    assert_false(ev_answer_equal("1", NULL));
    assert_false(ev_answer_equal("", ""));
}

/* Numbers: exact rationals, decimals within 1e-9 relative, long integers. */
static void test_numbers(void **state)
{
    (void)state;
    assert_true(ev_answer_equal("0.5", "\\frac{1}{2}"));
    assert_true(ev_answer_equal("1/2", "\\frac{1}{2}"));
    assert_true(ev_answer_equal("0.5", "1/2"));
    assert_true(ev_answer_equal("\\frac{2}{4}", "\\frac{1}{2}"));
    assert_true(ev_answer_equal("\\frac{1.5}{3}", "0.5"));
    assert_true(ev_answer_equal("+3", "3"));
    assert_true(ev_answer_equal("-\\frac{3}{4}", "\\frac{3}{-4}"));
    assert_true(ev_answer_equal("-1\\frac{1}{2}", "-1.5"));
    assert_true(ev_answer_equal("1.0000000001", "1"));
    assert_false(ev_answer_equal("1.00001", "1"));
    assert_false(ev_answer_equal("\\frac{1}{3}", "\\frac{333333333}{1000000000}"));
    assert_false(ev_answer_equal("0.33333333", "\\frac{1}{3}"));
    assert_true(ev_answer_equal("0.3333333333333", "\\frac{1}{3}"));
    /* beyond 64 bits: integers exactly, fractions in floating point */
    assert_true(
        ev_answer_equal("000123456789012345678901234567890", "123456789012345678901234567890"));
    assert_false(
        ev_answer_equal("123456789012345678901234567890", "123456789012345678901234567891"));
    assert_true(ev_answer_equal("\\frac{100000000000000000000}{200000000000000000000}", "0.5"));
    assert_false(ev_answer_equal("1/0", "1/0x"));
}

/* ------------------------------------------------------------ hostility */

static const char *const fragments[] = {
    "\\",        "{",      "}",       "\\{",    "\\}",    "\\boxed",  "\\boxed{", "\\fbox",
    "\\frac",    "\\text", "\\text{", "\\left", "^",      "_",        "{,}",      ",",
    ".",         "/",      "-",       "=",      "\\circ", "^{",       "\\sqrt",   "(",
    ")",         "[",      "]",       "$",      "%",      " ",        "\\in",     "\\pi",
    "\\mathrm{", "0",      "1",       "9",      "x",      "B",        "\xC2\xB0", "\xE2\x88\x92",
    "\xCF",      "\\,",    "\\!",     "\\$",    "\\%",    "\\dfrac{", "\\right.",
};

static size_t random_string(uint64_t *st, char *buf, size_t cap)
{
    size_t n = 0, len = tu_rng_u64(st) % cap;
    while (n < len) {
        uint64_t r = tu_rng_u64(st);
        if (r % 4 == 0) {
            char c = (char)(r >> 8);
            if (c == '\0')
                c = '\x01';
            buf[n++] = c;
        } else {
            const char *f = fragments[(r >> 8) % (sizeof fragments / sizeof fragments[0])];
            size_t k = strlen(f);
            if (n + k > len)
                break;
            memcpy(buf + n, f, k);
            n += k;
        }
    }
    buf[n] = '\0';
    return n;
}

static void test_random_bytes(void **state)
{
    (void)state;
    enum { N = 20000, CAP = 160 };
    char a[CAP + 1], b[CAP + 1];
    uint64_t st = 0x5eed;
    for (int it = 0; it < N; it++) {
        size_t na = random_string(&st, a, CAP);
        random_string(&st, b, CAP);
        char *box = ev_answer_last_boxed(a);
        if (box) /* a box is a piece of the text */
            assert_non_null(strstr(a, box));
        char *norm = ev_answer_normalize(a);
        assert_non_null(norm);
        assert_true(strlen(norm) <= 4 * na + 16);
        bool eq = ev_answer_equal(a, b);
        assert_true(eq == ev_answer_equal(b, a));
        if (it % 8 == 0) {
            if (norm[0]) /* anything with a normal form equals itself */
                assert_true(ev_answer_equal(a, a));
            assert_true(ev_answer_equal_choice(a, b) == ev_answer_equal_choice(b, a));
        }
        free(box);
        free(norm);
    }
}

/* Large and deeply nested inputs in linear time: a quadratic pass would
 * take tens of seconds on these (minutes under ASan). */
static char *repeat(const char *unit, size_t times, const char *tail)
{
    size_t k = strlen(unit), t = strlen(tail);
    char *s = malloc(k * times + t + 1);
    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * k, unit, k);
    memcpy(s + k * times, tail, t + 1);
    return s;
}

static void test_large_inputs(void **state)
{
    (void)state;
    const size_t R = 20000;
    const char *units[][2] = {
        {"{", ""},           {"{", "}"},           {"\\boxed{", ""},    {"\\boxed{", "x"},
        {"\\text{", "5"},    {"\\frac{", "1"},     {"\\frac", "1"},     {"^", "2"},
        {"(", ")"},          {"1,", "2"},          {"\\sqrt", "3"},     {"\\left", "."},
        {"^{", "\\circ"},    {"{ ", ""},           {"1{,}", "000"},     {"\\{1,", "2\\}"},
        {"9", ""},           {"0", ".5"},          {"\\boxed   ", "$"}, {"x=", "1"},
        {"5\\text{cm}", ""}, {"\\frac{1}{", "2}"},
    };
    clock_t t0 = clock();
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        char *s = repeat(units[u][0], R, units[u][1]);
        char *box = ev_answer_last_boxed(s);
        char *norm = ev_answer_normalize(s);
        assert_non_null(norm);
        ev_answer_equal(s, s);
        ev_answer_equal(s, "1");
        ev_answer_equal_choice(s, "A");
        free(box);
        free(norm);
        free(s);
    }
    /* a balanced nest: the box holds everything but its own braces */
    char *open = repeat("{", R, "");
    char *close = repeat("}", R, "");
    size_t len = 7 + 2 * R + 1;
    char *s = malloc(len + 1);
    assert_non_null(s);
    snprintf(s, len + 1, "\\boxed{%s%s}", open, close);
    char *box = ev_answer_last_boxed(s);
    assert_non_null(box);
    assert_int_equal(strlen(box), 2 * R);
    free(box);
    free(s);
    free(open);
    free(close);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_true(secs < 60.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs),           cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_normalize_forms), cmocka_unit_test(test_last_boxed),
        cmocka_unit_test(test_choice),          cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_random_bytes),    cmocka_unit_test(test_large_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
