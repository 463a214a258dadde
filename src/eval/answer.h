/* answer.h - scoring the final answers of reasoning models for `glimp eval`:
 * pull the last \boxed{...} out of a model's text, bring a LaTeX answer to a
 * canonical form, and compare it with the reference (math or multiple choice).
 *
 * Every function takes any bytes (hostile model output): no crash, and time
 * linear in the input apart from list comparison (capped, see below). */
#ifndef GLIMP_EVAL_ANSWER_H
#define GLIMP_EVAL_ANSWER_H

#include <stdbool.h>

/* The content of the last \boxed{...} or \fbox{...} in text (nested braces
 * and escaped \{ \} handled), or of the last "\boxed 5" (the token up to the
 * next space or '$'). NULL when there is none, when the last one is not
 * closed, for NULL text or when malloc fails. The result is malloc'ed; the
 * caller frees it. */
char *ev_answer_last_boxed(const char *text);

/* A malloc'ed canonical form of one answer (NULL for NULL or when malloc
 * fails). The rules, in order:
 *  - whitespace goes (one space stays between a macro name and a letter:
 *    "\pi r"), as do $, \left \right \big.., \displaystyle, the spacing
 *    macros \! \, \; \: \quad, %, \%, \$, degree marks (^\circ, ^{\circ},
 *    the sign U+00B0, \degree) and empty groups {};
 *    \dfrac \tfrac -> \frac, \leq -> \le, \geq -> \ge, \neq -> \ne,
 *    U+2212 -> "-", U+03C0 -> \pi, U+221A -> \sqrt, U+221E -> \infty;
 *  - \text{..}, \textbf{..}, \mathrm{..}, \mbox{..}, \boxed{..} and kin are
 *    unwrapped; right after a number or a "}" such a group holding a unit
 *    ("5\text{ cm}^2") is dropped with its exponent; \text{ or } and
 *    \text{ and } become a comma;
 *  - macro and script arguments get braces: \frac12 -> \frac{1}{2},
 *    \sqrt3 -> \sqrt{3}, x^2 -> x^{2};
 *  - one assignment to one variable is dropped: "x=5", "\theta = 30",
 *    "x_1=2", "x \in (0,1]" -> the right-hand side;
 *  - thousands separators go: 1{,}000 anywhere, and 1,000 / 1,000,000.5
 *    when they are the whole answer (not "1, 234", which reads as a list);
 *  - a trailing period goes; in every number leading zeros go (007 -> 7),
 *    trailing decimal zeros go (2.50 -> 2.5, 3.0 -> 3), .5 -> 0.5;
 *  - a whole answer "A/B" becomes \frac{A}{B} when A and B are products
 *    without operators or are parenthesised ("3\pi/4", "(1+\sqrt{5})/2"),
 *    "\frac{3}{4}\pi" becomes \frac{3\pi}{4}, "\frac{-a}{b}" -> -\frac{a}{b}.
 * There is no algebra beyond that: \sqrt{12} and 2\sqrt{3} stay different,
 * as do 50\% and 0.5, and 90^\circ and \frac{\pi}{2}. */
char *ev_answer_normalize(const char *s);

/* Math answers: true when the normal forms are the same non-empty string,
 * or both are numbers of equal value (integers of any length, decimals,
 * a/b, \frac{a}{b}, mixed numbers 2\frac{1}{2} = 5/2, with a sign):
 * exactly as rationals when neither is a decimal, within 1e-9 relative when
 * one is. Tuples and intervals "(a,b]" compare element by element (same
 * brackets, same order); sets "\{a,b\}" and bare lists "a,b" in any order
 * (at most 64 elements). got is the answer itself (from
 * ev_answer_last_boxed), not the whole model output. False for NULL. */
bool ev_answer_equal(const char *got, const char *want);

/* Multiple choice: true when both name the same letter A-Z, read from
 * "B", "b", "(B)", "B)", "[B]", "B.", "B: text", "\text{(B)}", "\textbf{B}",
 * "**B**", "Option B", "Answer: B", "The answer is (B)". A letter must stand
 * alone ("AB", "Apple" name none). False when either names none. */
bool ev_answer_equal_choice(const char *got, const char *want);

#endif
