/* answer.c - final-answer extraction, normalisation and comparison for
 * `glimp eval` (see answer.h for the rules). The normaliser is a chain of
 * single passes over a buffer; braces are matched once per pass with a stack,
 * so no input, however nested, costs more than linear time. */
#include "eval/answer.h"

#include "core/buf.h"
#include "glimp_eval.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX
#define LIST_MAX 64 /* elements of an unordered list we are willing to match */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* s[0..n) is exactly name (s need not be NUL-terminated at n). */
static bool name_is(const char *s, size_t n, const char *name)
{
    if (n == 0 || s[0] != name[0])
        return false;
    size_t i = 1;
    while (i < n && name[i] && s[i] == name[i])
        i++;
    return i == n && name[i] == '\0';
}

static bool starts(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

/* End of the letters after a backslash at i (i + 1 when there are none). */
static size_t macro_end(const char *s, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && is_alpha(s[j]))
        j++;
    return j;
}

/* ------------------------------------------------------------ buffers */

struct sb {
    char *p;
    size_t n, cap;
    bool fail;
};

static void sb_putn(struct sb *b, const char *s, size_t k)
{
    if (!b->fail && k && buf_append(&b->p, &b->n, &b->cap, s, k) != GLIMP_OK)
        b->fail = true;
}

/* Room for about k bytes up front: one allocation instead of a chain. */
static void sb_reserve(struct sb *b, size_t k)
{
    if (b->p || k > SIZE_MAX / 4)
        return;
    b->p = malloc(k + 1);
    if (b->p) {
        b->cap = k + 1;
        b->p[0] = '\0';
    }
}

static void sb_putc(struct sb *b, char c)
{
    if (b->n + 2 <= b->cap) { /* the common case, and b->fail leaves cap alone */
        b->p[b->n++] = c;
        b->p[b->n] = '\0';
        return;
    }
    sb_putn(b, &c, 1);
}

static void sb_puts(struct sb *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static char sb_last(const struct sb *b)
{
    return b->n ? b->p[b->n - 1] : '\0';
}

/* Hand over the contents as a NUL-terminated string (NULL on failure). */
static char *sb_take(struct sb *b)
{
    if (b->fail) {
        free(b->p);
        return NULL;
    }
    if (!b->p) {
        char *e = malloc(1);
        if (e)
            e[0] = '\0';
        return e;
    }
    return b->p;
}

/* match[i] for every '{' and '}' of s: the index of its partner, else NONE.
 * A backslash escapes the next byte (\{ is text). NULL when malloc fails. */
static size_t *brace_match(const char *s, size_t n)
{
    if (n > SIZE_MAX / (2 * sizeof(size_t)) - 1)
        return NULL;
    size_t *m = malloc((2 * n + 1) * sizeof *m); /* m[0..n), then the stack */
    if (!m)
        return NULL;
    size_t *stack = m + n;
    size_t sp = 0;
    for (size_t i = 0; i < n; i++) {
        m[i] = NONE;
        if (s[i] == '\\') {
            if (i + 1 < n)
                m[++i] = NONE;
        } else if (s[i] == '{') {
            stack[sp++] = i;
        } else if (s[i] == '}' && sp > 0) {
            size_t o = stack[--sp];
            m[o] = i;
            m[i] = o;
        }
    }
    return m;
}

/* ----------------------------------------------------------- extraction */

char *ev_answer_last_boxed(const char *text)
{
    if (!text)
        return NULL;
    size_t n = strlen(text);
    for (size_t i = n; i-- > 0;) {
        if (text[i] != '\\')
            continue;
        size_t k;
        if (n - i > 5 && memcmp(text + i + 1, "boxed", 5) == 0)
            k = i + 6;
        else if (n - i > 4 && memcmp(text + i + 1, "fbox", 4) == 0)
            k = i + 5;
        else
            continue;
        if (k < n && is_alpha(text[k]))
            continue; /* another macro, \boxedsymbol */
        size_t j = k;
        while (j < n && is_space(text[j]))
            j++;
        if (j < n && text[j] == '{') {
            size_t depth = 0;
            for (size_t e = j; e < n; e++) {
                if (text[e] == '\\') {
                    if (e + 1 < n)
                        e++;
                } else if (text[e] == '{') {
                    depth++;
                } else if (text[e] == '}' && --depth == 0) {
                    struct sb b = {0};
                    sb_putn(&b, text + j + 1, e - j - 1);
                    return sb_take(&b);
                }
            }
            return NULL; /* the last box is not closed */
        }
        if (j > k && j < n && text[j] != '$') {
            size_t e = j;
            while (e < n && !is_space(text[e]) && text[e] != '$')
                e++;
            struct sb b = {0};
            sb_putn(&b, text + j, e - j);
            return sb_take(&b);
        }
    }
    return NULL;
}

/* ------------------------------------------------------ normalisation */

/* Pass 1, lexical: drop whitespace, $, spacing and sizing macros, degree
 * marks and percent signs; rename macro spellings to one. *comma_space is
 * set when a comma is followed by whitespace (a list, not 1,000). */
struct rename {
    const char *from, *to; /* to "" drops the macro */
};

static const struct rename renames[] = {
    {"dfrac", "\\frac"},
    {"tfrac", "\\frac"},
    {"cfrac", "\\frac"},
    {"dbinom", "\\binom"},
    {"tbinom", "\\binom"},
    {"leq", "\\le"},
    {"leqslant", "\\le"},
    {"geq", "\\ge"},
    {"geqslant", "\\ge"},
    {"neq", "\\ne"},
    {"lt", "<"},
    {"gt", ">"},
    {"varnothing", "\\emptyset"},
    {"left", ""},
    {"right", ""},
    {"big", ""},
    {"Big", ""},
    {"bigg", ""},
    {"Bigg", ""},
    {"bigl", ""},
    {"bigr", ""},
    {"Bigl", ""},
    {"Bigr", ""},
    {"biggl", ""},
    {"biggr", ""},
    {"Biggl", ""},
    {"Biggr", ""},
    {"displaystyle", ""},
    {"textstyle", ""},
    {"degree", ""},
    {"quad", ""},
    {"qquad", ""},
};

/* Skip "^\circ" or "^{\circ}" (spaces allowed) at s[i] == '^': the index
 * after it, or i when it is not there. */
static size_t skip_degree(const char *s, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && is_space(s[j]))
        j++;
    bool brace = j < n && s[j] == '{';
    if (brace)
        for (j++; j < n && is_space(s[j]);)
            j++;
    if (!starts(s + j, n - j, "\\circ") || (j + 5 < n && is_alpha(s[j + 5])))
        return i;
    j += 5;
    if (brace) {
        while (j < n && is_space(s[j]))
            j++;
        if (j >= n || s[j] != '}')
            return i;
        j++;
    }
    return j;
}

static void pass_lex(const char *s, size_t n, struct sb *o, bool *comma_space)
{
    bool after_macro = false; /* the output ends in a macro name */
    bool gap = false;         /* whitespace or a spacing macro was dropped */
    for (size_t i = 0; i < n;) {
        char c = s[i];
        const char *emit = NULL; /* a replacement, else copy s[i..next) */
        size_t next = i + 1;
        bool emits_macro = false;
        if (is_space(c) || c == '$' || c == '%') {
            if (c != '%')
                gap = true;
            if (is_space(c) && i > 0 && s[i - 1] == ',')
                *comma_space = true;
            i++;
            continue;
        }
        if (c == '\\') {
            size_t j = macro_end(s, n, i);
            if (j == i + 1) {
                if (i + 1 >= n) {
                    i++;
                    continue;
                }
                char d = s[i + 1];
                if (d == '!' || d == ',' || d == ';' || d == ':' || d == '>' || is_space(d)) {
                    gap = true;
                    i += 2;
                    continue;
                }
                if (d == '%' || d == '$') {
                    i += 2;
                    continue;
                }
                next = i + 2;
            } else {
                const struct rename *r = NULL;
                for (size_t k = 0; k < sizeof renames / sizeof renames[0]; k++)
                    if (name_is(s + i + 1, j - i - 1, renames[k].from))
                        r = &renames[k];
                if (r && r->to[0] == '\0') {
                    bool delim = name_is(s + i + 1, j - i - 1, "left") ||
                                 name_is(s + i + 1, j - i - 1, "right");
                    size_t k = j;
                    while (k < n && is_space(s[k]))
                        k++;
                    if (delim && k < n && s[k] == '.')
                        j = k + 1; /* \left. is an invisible delimiter */
                    gap = true;
                    i = j;
                    continue;
                }
                if (r) {
                    emit = r->to;
                    emits_macro = r->to[0] == '\\';
                } else {
                    emits_macro = true;
                }
                next = j;
            }
        } else if (c == '^') {
            size_t j = skip_degree(s, n, i);
            if (j != i) {
                i = j;
                continue;
            }
        } else if (c == '{') {
            size_t j = i + 1;
            while (j < n && is_space(s[j]))
                j++;
            if (j < n && s[j] == '}') { /* {} is nothing: 90{}^\circ */
                i = j + 1;
                continue;
            }
        } else if ((unsigned char)c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xB0) {
            i += 2; /* degree sign */
            continue;
        } else if ((unsigned char)c == 0xE2 && i + 2 < n) {
            unsigned char b1 = (unsigned char)s[i + 1], b2 = (unsigned char)s[i + 2];
            if (b1 == 0x84 && b2 == 0x83) { /* degree Celsius sign */
                i += 3;
                continue;
            }
            if (b1 == 0x88 && b2 == 0x92)
                emit = "-";
            else if (b1 == 0x88 && b2 == 0x9A)
                emit = "\\sqrt", emits_macro = true;
            else if (b1 == 0x88 && b2 == 0x9E)
                emit = "\\infty", emits_macro = true;
            if (emit)
                next = i + 3;
        } else if ((unsigned char)c == 0xCF && i + 1 < n && (unsigned char)s[i + 1] == 0x80) {
            emit = "\\pi", emits_macro = true;
            next = i + 2;
        }
        char first = emit ? emit[0] : s[i];
        if (gap && after_macro && is_alpha(first))
            sb_putc(o, ' ');
        if (emit)
            sb_puts(o, emit);
        else
            sb_putn(o, s + i, next - i);
        after_macro = emits_macro;
        gap = false;
        i = next;
    }
}

/* Pass 2: unwrap \text{..} and kin, drop units after numbers. */
enum wrap { WRAP_NONE, WRAP_TEXT, WRAP_MATHRM, WRAP_KEEP };

static enum wrap wrap_kind(const char *name, size_t n)
{
    static const char *const text[] = {"text",   "textrm", "textnormal", "textbf", "textit",
                                       "textsf", "texttt", "mbox",       "hbox"};
    static const char *const keep[] = {"mathbf",     "mathit", "mathsf", "mathtt",
                                       "mathnormal", "boxed",  "fbox",   "operatorname"};
    for (size_t k = 0; k < sizeof text / sizeof text[0]; k++)
        if (name_is(name, n, text[k]))
            return WRAP_TEXT;
    for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
        if (name_is(name, n, keep[k]))
            return WRAP_KEEP;
    return name_is(name, n, "mathrm") ? WRAP_MATHRM : WRAP_NONE;
}

/* A unit: starts with a letter, holds only letters, digits and ^{}/.*-. */
static bool unit_like(const char *s, size_t n)
{
    if (n == 0 || !is_alpha(s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alpha(s[i]) && !is_digit(s[i]) && !strchr("^{}/.*-", s[i]))
            return false;
    return true;
}

static bool pass_unwrap(const char *s, size_t n, struct sb *o, bool *comma_space)
{
    size_t *match = brace_match(s, n);
    unsigned char *drop = calloc(n ? n : 1, 1);
    if (!match || !drop) {
        free(match);
        free(drop);
        return false;
    }
    for (size_t i = 0; i < n;) {
        if (drop[i]) {
            i++;
            continue;
        }
        if (s[i] != '\\') {
            sb_putc(o, s[i++]);
            continue;
        }
        size_t j = macro_end(s, n, i);
        if (j == i + 1) {
            sb_putn(o, s + i, i + 2 <= n ? 2 : 1);
            i += 2;
            continue;
        }
        enum wrap w = wrap_kind(s + i + 1, j - i - 1);
        if (w == WRAP_NONE || j >= n || s[j] != '{' || match[j] == NONE) {
            sb_putn(o, s + i, j - i);
            i = j;
            continue;
        }
        size_t m = match[j];
        const char *in = s + j + 1;
        size_t k = m - j - 1;
        if (w != WRAP_KEEP && (name_is(in, k, "or") || name_is(in, k, "and"))) {
            sb_putc(o, ',');
            *comma_space = true; /* 1 \text{ or } 234 is a list */
            i = m + 1;
            continue;
        }
        char prev = sb_last(o);
        if (w != WRAP_KEEP && (is_digit(prev) || prev == '}') && unit_like(in, k) &&
            (w == WRAP_TEXT || k >= 2)) {
            i = m + 1; /* 5\text{cm}^2: the unit and its exponent go */
            if (i < n && s[i] == '^') {
                if (i + 1 < n && s[i + 1] == '{' && match[i + 1] != NONE)
                    i = match[i + 1] + 1;
                else
                    i = i + 2 <= n ? i + 2 : n;
            }
            continue;
        }
        drop[m] = 1;
        i = j + 1;
    }
    free(match);
    free(drop);
    return true;
}

/* Pass 3: braces around the arguments of \frac, \binom, \sqrt, ^ and _.
 * pend[i] counts the arguments still to brace after the '}' at i. */
struct argctx {
    const char *s;
    size_t n;
    const size_t *match;
    unsigned char *pend;
    struct sb *o;
};

static size_t brace_args(struct argctx *c, size_t pos, unsigned k)
{
    const char *s = c->s;
    size_t n = c->n;
    while (k > 0) {
        size_t p = pos;
        if (p < n && s[p] == ' ')
            p++;
        if (p >= n)
            return pos;
        if (s[p] == '{') {
            if (c->match[p] != NONE && k > 1) {
                unsigned v = c->pend[c->match[p]] + (k - 1);
                c->pend[c->match[p]] = v > 255 ? 255 : (unsigned char)v;
            }
            return p;
        }
        size_t e;
        if (s[p] == '\\') {
            e = macro_end(s, n, p);
            if (e == p + 1)
                e = p + 2 <= n ? p + 2 : n;
        } else if (s[p] == '}' || s[p] == '^' || s[p] == '_') {
            return p;
        } else {
            e = p + 1;
        }
        sb_putc(c->o, '{');
        sb_putn(c->o, s + p, e - p);
        sb_putc(c->o, '}');
        pos = e;
        k--;
    }
    return pos;
}

static bool pass_args(const char *s, size_t n, struct sb *o)
{
    size_t *match = brace_match(s, n);
    unsigned char *pend = calloc(n ? n : 1, 1);
    if (!match || !pend) {
        free(match);
        free(pend);
        return false;
    }
    struct argctx c = {s, n, match, pend, o};
    for (size_t i = 0; i < n;) {
        char ch = s[i];
        if (ch == '\\') {
            size_t j = macro_end(s, n, i);
            if (j == i + 1) {
                sb_putn(o, s + i, i + 2 <= n ? 2 : 1);
                i += 2;
                continue;
            }
            sb_putn(o, s + i, j - i);
            const char *name = s + i + 1;
            size_t len = j - i - 1;
            if (name_is(name, len, "frac") || name_is(name, len, "binom"))
                i = brace_args(&c, j, 2);
            else if (name_is(name, len, "sqrt") && !(j < n && s[j] == '['))
                i = brace_args(&c, j, 1);
            else
                i = j;
        } else if (ch == '^' || ch == '_') {
            sb_putc(o, ch);
            i = brace_args(&c, i + 1, 1);
        } else if (ch == '}') {
            sb_putc(o, ch);
            unsigned k = pend[i];
            i = k ? brace_args(&c, i + 1, k) : i + 1;
        } else {
            sb_putc(o, ch);
            i++;
        }
    }
    free(match);
    free(pend);
    return true;
}

/* The end of a variable at s[i] (a letter or a macro name, then optionally
 * _x or _{alnum}), or i when there is none. */
static size_t variable_end(const char *s, size_t n, size_t i)
{
    size_t j;
    if (i < n && is_alpha(s[i]))
        j = i + 1;
    else if (i < n && s[i] == '\\' && (j = macro_end(s, n, i)) > i + 1)
        ;
    else
        return i;
    if (j + 1 < n && s[j] == '_' && s[j + 1] == '{') {
        size_t k = j + 2;
        while (k < n && (is_alpha(s[k]) || is_digit(s[k])))
            k++;
        if (k > j + 2 && k < n && s[k] == '}')
            j = k + 1;
    }
    return j;
}

/* Pass 5: "x=5" -> "5", "x\in(0,1]" -> "(0,1]". Returns the start of what
 * stays. */
static size_t skip_assignment(const char *s, size_t n)
{
    size_t v = variable_end(s, n, 0);
    if (v == 0 || v >= n)
        return 0;
    if (s[v] == '=' && !memchr(s + v + 1, '=', n - v - 1) && v + 1 < n)
        return v + 1;
    if (starts(s + v, n - v, "\\in") && v + 3 < n && !is_alpha(s[v + 3]))
        return v + 3;
    return 0;
}

/* Pass 4: {,} between a digit and three digits goes anywhere; commas go from
 * a whole answer written [+-]d{1,3}(,ddd)+(.d+)?. */
static void pass_thousands(const char *s, size_t n, bool comma_space, struct sb *o)
{
    struct sb t = {0};
    sb_reserve(&t, n);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '{' && i > 0 && is_digit(s[i - 1]) && starts(s + i, n - i, "{,}") &&
            i + 6 <= n && is_digit(s[i + 3]) && is_digit(s[i + 4]) && is_digit(s[i + 5]) &&
            (i + 6 == n || !is_digit(s[i + 6]))) {
            i += 2;
            continue;
        }
        sb_putc(&t, s[i]);
    }
    const char *p = t.p ? t.p : "";
    size_t m = t.n, i = 0;
    bool grouped = !comma_space && !t.fail;
    if (i < m && (p[i] == '-' || p[i] == '+'))
        i++;
    size_t d = i;
    while (i < m && is_digit(p[i]))
        i++;
    if (i - d < 1 || i - d > 3)
        grouped = false;
    size_t groups = 0;
    while (grouped && i < m && p[i] == ',') {
        if (i + 4 > m || !is_digit(p[i + 1]) || !is_digit(p[i + 2]) || !is_digit(p[i + 3]) ||
            (i + 4 < m && is_digit(p[i + 4]))) {
            grouped = false;
            break;
        }
        i += 4;
        groups++;
    }
    if (grouped && i < m && p[i] == '.') {
        size_t f = ++i;
        while (i < m && is_digit(p[i]))
            i++;
        if (i == f)
            grouped = false;
    }
    grouped = grouped && groups > 0 && i == m;
    for (size_t k = 0; k < m; k++)
        if (!(grouped && p[k] == ','))
            sb_putc(o, p[k]);
    if (t.fail)
        o->fail = true;
    free(t.p);
}

/* Pass 7: leading zeros of integer parts and trailing zeros of fractions
 * go; a bare .5 gets its 0. */
static void pass_numbers(const char *s, size_t n, struct sb *o)
{
    for (size_t i = 0; i < n;) {
        char prev = i > 0 ? s[i - 1] : '\0';
        bool lead_ok = !is_digit(prev) && prev != '.' && prev != '\\';
        bool bare_point = s[i] == '.' && i + 1 < n && is_digit(s[i + 1]) &&
                          (prev == '\0' || strchr("-+({[,=", prev));
        bool starts_num = lead_ok && (is_digit(s[i]) || bare_point);
        if (!starts_num) {
            sb_putc(o, s[i++]);
            continue;
        }
        size_t a = i;
        while (a < n && is_digit(s[a]))
            a++;
        size_t z = i;
        while (z + 1 < a && s[z] == '0')
            z++;
        if (a > i)
            sb_putn(o, s + z, a - z);
        else
            sb_putc(o, '0');
        i = a;
        if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
            size_t b = i + 1;
            while (b < n && is_digit(s[b]))
                b++;
            size_t last = b;
            while (last > i + 1 && s[last - 1] == '0')
                last--;
            if (last > i + 1)
                sb_putn(o, s + i, last - i);
            i = b;
        }
    }
}

/* A product without top-level operators: "3\pi", "\sqrt{3}", "x^{2}y". */
static bool atom_product(const char *s, size_t n)
{
    static const char *const ops[] = {"pm", "mp", "cup", "cap", "le",      "ge",
                                      "ne", "in", "to",  "div", "setminus"};
    if (n == 0)
        return false;
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            size_t j = macro_end(s, n, i);
            if (j == i + 1)
                return false; /* \{ \} \, ... */
            if (depth == 0)
                for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
                    if (name_is(s + i + 1, j - i - 1, ops[k]))
                        return false;
            i = j - 1;
        } else if (c == '{') {
            depth++;
        } else if (c == '}') {
            if (depth == 0)
                return false;
            depth--;
        } else if (depth == 0 && strchr("+-=,()[]<>/|!", c)) {
            return false;
        }
    }
    return depth == 0;
}

/* s[0..n) is "(...)" with the parenthesis at 0 closed at n - 1. */
static bool parenthesised(const char *s, size_t n)
{
    if (n < 2 || s[0] != '(' || s[n - 1] != ')')
        return false;
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\') {
            i++;
            continue;
        }
        if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && --depth == 0 && i != n - 1)
            return false;
    }
    return depth == 0;
}

/* Operand of a slash: a product, or a parenthesised anything (stripped). */
static bool operand(const char *s, size_t n, const char **in, size_t *k)
{
    if (parenthesised(s, n)) {
        *in = s + 1;
        *k = n - 2;
        return n > 2;
    }
    *in = s;
    *k = n;
    return atom_product(s, n);
}

static void put_frac(struct sb *o, bool neg, const char *a, size_t na, const char *a2, size_t na2,
                     const char *b, size_t nb)
{
    if (neg)
        sb_putc(o, '-');
    sb_puts(o, "\\frac{");
    sb_putn(o, a, na);
    sb_putn(o, a2, na2);
    sb_puts(o, "}{");
    sb_putn(o, b, nb);
    sb_putc(o, '}');
}

/* Pass 8: whole-answer fraction forms, see answer.h. */
static void pass_fractions(const char *s, size_t n, struct sb *o)
{
    bool neg = n > 0 && s[0] == '-';
    const char *t = s + neg;
    size_t m = n - neg;

    /* one top-level slash */
    size_t slash = NONE, depth = 0, count = 0;
    for (size_t i = 0; i < m; i++) {
        char c = t[i];
        if (c == '\\') {
            i++;
        } else if (c == '{' || c == '(' || c == '[') {
            depth++;
        } else if (c == '}' || c == ')' || c == ']') {
            depth -= depth > 0;
        } else if (c == '/' && depth == 0) {
            slash = i;
            count++;
        }
    }
    const char *a, *b;
    size_t na, nb;
    if (count == 1 && operand(t, slash, &a, &na) &&
        operand(t + slash + 1, m - slash - 1, &b, &nb)) {
        put_frac(o, neg, a, na, NULL, 0, b, nb);
        return;
    }

    /* \frac{A}{B}T and \frac{-A}{B} */
    if (starts(t, m, "\\frac{")) {
        size_t *match = brace_match(t, m);
        size_t o1 = 5, c1 = match ? match[o1] : NONE;
        size_t c2 = c1 != NONE && c1 + 1 < m && t[c1 + 1] == '{' ? match[c1 + 1] : NONE;
        if (c2 != NONE) {
            const char *num = t + o1 + 1, *den = t + c1 + 2, *rest = t + c2 + 1;
            size_t nn = c1 - o1 - 1, nd = c2 - c1 - 2, nr = m - c2 - 1;
            bool digits = nn > 0, all_digits = nr > 0;
            for (size_t i = 0; i < nn; i++)
                digits = digits && is_digit(num[i]);
            for (size_t i = 0; i < nr; i++)
                all_digits = all_digits && is_digit(rest[i]);
            if (nr == 0 && nn > 1 && num[0] == '-' && !neg) {
                put_frac(o, true, num + 1, nn - 1, NULL, 0, den, nd);
                free(match);
                return;
            }
            if (nr > 0 && digits && !all_digits && atom_product(rest, nr)) {
                bool one = nn == 1 && num[0] == '1';
                put_frac(o, neg, one ? "" : num, one ? 0 : nn, rest, nr, den, nd);
                free(match);
                return;
            }
        }
        free(match);
    }
    sb_putn(o, s, n);
}

/* Run one pass from *cur into a fresh buffer; false on failure. */
static bool swap_in(struct sb *cur, struct sb *next)
{
    free(cur->p);
    if (next->fail) {
        free(next->p);
        *cur = (struct sb){0};
        return false;
    }
    *cur = *next;
    *next = (struct sb){0};
    return true;
}

char *ev_answer_normalize(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    struct sb cur = {0}, next = {0};
    bool comma_space = false;
    sb_reserve(&next, n + 16);
    pass_lex(s, n, &next, &comma_space);
    if (!swap_in(&cur, &next))
        return NULL;
    for (int pass = 0; pass < 5; pass++) {
        const char *p = cur.p ? cur.p : "";
        size_t start;
        sb_reserve(&next, cur.n + cur.n / 2 + 16);
        switch (pass) {
        case 0:
            if (!pass_unwrap(p, cur.n, &next, &comma_space))
                next.fail = true;
            break;
        case 1:
            if (!pass_args(p, cur.n, &next))
                next.fail = true;
            break;
        case 2:
            start = skip_assignment(p, cur.n);
            pass_thousands(p + start, cur.n - start, comma_space, &next);
            break;
        case 3: /* a trailing period, then the numbers */
            while (cur.n > 0 && cur.p[cur.n - 1] == '.' && !(cur.n > 1 && cur.p[cur.n - 2] == '\\'))
                cur.p[--cur.n] = '\0';
            pass_numbers(p, cur.n, &next);
            break;
        default: pass_fractions(p, cur.n, &next); break;
        }
        if (!swap_in(&cur, &next))
            return NULL;
    }
    return sb_take(&cur);
}

/* ---------------------------------------------------------- numbers */

struct num {
    bool neg;     /* the value is below zero */
    bool exact;   /* p / q holds |value| exactly, reduced */
    bool dec;     /* written with a decimal point somewhere */
    bool integer; /* a plain integer: digits[0..nd) without leading zeros */
    uint64_t p, q;
    double v; /* |value| */
    const char *digits;
    size_t nd;
};

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static bool mul64(uint64_t a, uint64_t b, uint64_t *r)
{
    if (a != 0 && b > UINT64_MAX / a)
        return false;
    *r = a * b;
    return true;
}

static void reduce(struct num *x)
{
    if (!x->exact)
        return;
    uint64_t g = gcd64(x->p, x->q);
    if (g > 1) {
        x->p /= g;
        x->q /= g;
    }
}

/* An unsigned literal d+ | d+.d+ | .d+ at s[*i]: advances *i. */
static bool literal(const char *s, size_t n, size_t *i, struct num *x)
{
    size_t a = *i, e = a;
    while (e < n && is_digit(s[e]))
        e++;
    size_t f = e, g = e;
    if (e + 1 < n && s[e] == '.' && is_digit(s[e + 1])) {
        f = e + 1;
        g = f;
        while (g < n && is_digit(s[g]))
            g++;
    }
    if (e == a && g == f)
        return false;
    *x = (struct num){.exact = true, .dec = g > f, .integer = g == f, .p = 0, .q = 1};
    size_t z = a;
    while (z + 1 < e && s[z] == '0')
        z++;
    x->digits = s + z;
    x->nd = e - z;
    double v = 0, fr = 0, scale = 1;
    for (size_t k = a; k < e; k++) {
        v = v * 10 + (s[k] - '0');
        if (x->exact && !(mul64(x->p, 10, &x->p) && x->p <= UINT64_MAX - 9))
            x->exact = false;
        x->p += x->exact ? (uint64_t)(s[k] - '0') : 0;
    }
    for (size_t k = f; k < g; k++) {
        if (k - f < 40) {
            fr = fr * 10 + (s[k] - '0');
            scale *= 10;
        }
        if (x->exact &&
            !(mul64(x->p, 10, &x->p) && x->p <= UINT64_MAX - 9 && mul64(x->q, 10, &x->q)))
            x->exact = false;
        x->p += x->exact ? (uint64_t)(s[k] - '0') : 0;
    }
    x->v = v + fr / scale;
    reduce(x);
    *i = g;
    return true;
}

/* x / y into x; false for a zero divisor. */
static bool divide(struct num *x, const struct num *y)
{
    if (y->v == 0)
        return false;
    x->neg = x->neg != y->neg;
    x->dec = x->dec || y->dec;
    x->integer = false;
    x->v /= y->v;
    if (x->exact && y->exact) {
        uint64_t g1 = gcd64(x->p, y->p), g2 = gcd64(x->q, y->q);
        uint64_t p, q;
        if (g1 == 0)
            g1 = 1;
        if (mul64(x->p / g1, y->q / g2, &p) && mul64(x->q / g2, y->p / g1, &q)) {
            x->p = p;
            x->q = q;
            reduce(x);
            return true;
        }
    }
    x->exact = false;
    return true;
}

/* "{" [sign] literal "}" at s[*i]. */
static bool braced(const char *s, size_t n, size_t *i, struct num *x)
{
    size_t k = *i;
    if (k >= n || s[k] != '{')
        return false;
    k++;
    bool neg = false;
    if (k < n && (s[k] == '-' || s[k] == '+'))
        neg = s[k++] == '-';
    if (!literal(s, n, &k, x) || k >= n || s[k] != '}')
        return false;
    x->neg = neg;
    *i = k + 1;
    return true;
}

/* \frac{a}{b} at s[*i]. */
static bool frac(const char *s, size_t n, size_t *i, struct num *x)
{
    size_t k = *i;
    struct num y;
    if (!starts(s + k, n - k, "\\frac"))
        return false;
    k += 5;
    if (!braced(s, n, &k, x) || !braced(s, n, &k, &y) || !divide(x, &y))
        return false;
    *i = k;
    return true;
}

/* The whole of s[0..n) as a number; false when it is anything else. */
static bool parse_number(const char *s, size_t n, struct num *x)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (starts(s + i, n - i, "\\frac")) {
        if (!frac(s, n, &i, x))
            return false;
    } else {
        if (!literal(s, n, &i, x))
            return false;
        if (i < n && s[i] == '/') {
            struct num y;
            i++;
            if (!literal(s, n, &i, &y) || !divide(x, &y))
                return false;
        } else if (i < n && x->integer && starts(s + i, n - i, "\\frac")) {
            struct num f; /* mixed number 2\frac{1}{2} */
            if (!frac(s, n, &i, &f) || f.neg)
                return false;
            uint64_t p;
            x->integer = false;
            x->dec = x->dec || f.dec;
            x->v += f.v;
            if (x->exact && f.exact && mul64(x->p, f.q, &p) && p <= UINT64_MAX - f.p) {
                x->p = p + f.p;
                x->q = f.q;
                reduce(x);
            } else {
                x->exact = false;
            }
        }
    }
    if (i != n)
        return false;
    x->neg = x->neg != neg;
    if (x->v == 0 || (x->exact && x->p == 0) || (x->integer && x->nd == 1 && x->digits[0] == '0'))
        x->neg = false;
    return true;
}

static bool numbers_equal(const struct num *a, const struct num *b)
{
    if (a->integer && b->integer)
        return a->neg == b->neg && a->nd == b->nd && memcmp(a->digits, b->digits, a->nd) == 0;
    if (a->exact && b->exact && !a->dec && !b->dec)
        return a->neg == b->neg && a->p == b->p && a->q == b->q;
    double x = a->neg ? -a->v : a->v, y = b->neg ? -b->v : b->v;
    if (!isfinite(x) || !isfinite(y))
        return false;
    double scale = fmax(fabs(x), fabs(y));
    return fabs(x - y) <= 1e-9 * scale;
}

/* ---------------------------------------------------------- comparison */

static bool scalar_equal(const char *a, size_t na, const char *b, size_t nb)
{
    if (na == 0 || nb == 0)
        return false;
    if (na == nb && memcmp(a, b, na) == 0)
        return true;
    struct num x, y;
    return parse_number(a, na, &x) && parse_number(b, nb, &y) && numbers_equal(&x, &y);
}

/* Elements of a list may be assignments: "x=2,x=3" against "2,3". */
static bool element_equal(const char *a, size_t na, const char *b, size_t nb)
{
    size_t xa = skip_assignment(a, na), xb = skip_assignment(b, nb);
    return scalar_equal(a + xa, na - xa, b + xb, nb - xb);
}

/* How a list is enclosed: '(' or '[' with its closer, 's' for \{..\}, 0 for
 * none. The inner part goes to *in, *k. Fails for a half-enclosed string. */
struct list {
    char open, close;
    const char *in;
    size_t k;
};

static bool list_of(const char *s, size_t n, struct list *l)
{
    *l = (struct list){0, 0, s, n};
    size_t skip = 0;
    if (n >= 4 && starts(s, n, "\\{") && s[n - 2] == '\\' && s[n - 1] == '}') {
        l->open = 's';
        skip = 2;
    } else if (n >= 2 && (s[0] == '(' || s[0] == '[') && (s[n - 1] == ')' || s[n - 1] == ']')) {
        l->open = s[0];
        l->close = s[n - 1];
        skip = 1;
    }
    if (skip) {
        /* the opener must close only at the very end */
        size_t depth = 0;
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            if (c == '\\' && i + 1 < n && (s[i + 1] == '{' || s[i + 1] == '}'))
                c = s[++i];
            else if (c == '\\') {
                i++;
                continue;
            }
            if (c == '(' || c == '[' || c == '{')
                depth++;
            else if ((c == ')' || c == ']' || c == '}') && depth > 0 && --depth == 0 && i != n - 1)
                return false;
        }
        l->in = s + skip;
        l->k = n - 2 * skip;
    }
    return true;
}

/* The next top-level comma-separated element of s[*pos..n). */
static bool next_element(const char *s, size_t n, size_t *pos, const char **e, size_t *k)
{
    if (*pos > n)
        return false;
    size_t depth = 0, i = *pos;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            if (i + 1 < n && s[i + 1] == '{')
                depth++;
            else if (i + 1 < n && s[i + 1] == '}' && depth > 0)
                depth--;
            i++;
        } else if (c == '(' || c == '[' || c == '{') {
            depth++;
        } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
            depth--;
        } else if (c == ',' && depth == 0) {
            break;
        }
    }
    *e = s + *pos;
    *k = i - *pos;
    *pos = i + 1;
    return true;
}

static size_t count_elements(const char *s, size_t n)
{
    size_t pos = 0, count = 0, k;
    const char *e;
    while (next_element(s, n, &pos, &e, &k))
        count++;
    return count;
}

/* Kuhn's augmenting path from a element i; recursion depth at most n. */
static bool augment(bool eq[][LIST_MAX], size_t n, int i, bool *seen, int *owner)
{
    for (size_t j = 0; j < n; j++) {
        if (!eq[i][j] || seen[j])
            continue;
        seen[j] = true;
        if (owner[j] < 0 || augment(eq, n, owner[j], seen, owner)) {
            owner[j] = i;
            return true;
        }
    }
    return false;
}

static bool lists_equal(const char *a, size_t na, const char *b, size_t nb)
{
    struct list la, lb;
    if (!list_of(a, na, &la) || !list_of(b, nb, &lb))
        return false;
    if (la.open != lb.open || la.close != lb.close)
        return false;
    size_t ca = count_elements(la.in, la.k), cb = count_elements(lb.in, lb.k);
    if (ca != cb || (la.open == 0 && ca < 2))
        return false;
    size_t pa = 0, pb = 0, ka, kb;
    const char *ea, *eb;
    if (la.open == '(' || la.open == '[') {
        while (next_element(la.in, la.k, &pa, &ea, &ka) && next_element(lb.in, lb.k, &pb, &eb, &kb))
            if (!element_equal(ea, ka, eb, kb))
                return false;
        return true;
    }
    if (ca > LIST_MAX)
        return false;
    /* any order: a perfect matching in the equality graph (Kuhn), so that
     * the verdict does not depend on which side is got */
    struct span {
        const char *p;
        size_t k;
    } ea_[LIST_MAX], eb_[LIST_MAX];
    for (size_t i = 0; next_element(la.in, la.k, &pa, &ea, &ka); i++)
        ea_[i] = (struct span){ea, ka};
    for (size_t j = 0; next_element(lb.in, lb.k, &pb, &eb, &kb); j++)
        eb_[j] = (struct span){eb, kb};
    bool eq[LIST_MAX][LIST_MAX];
    for (size_t i = 0; i < ca; i++)
        for (size_t j = 0; j < ca; j++)
            eq[i][j] = element_equal(ea_[i].p, ea_[i].k, eb_[j].p, eb_[j].k);
    int owner[LIST_MAX]; /* b element j is matched to a element owner[j] */
    for (size_t j = 0; j < ca; j++)
        owner[j] = -1;
    for (size_t i = 0; i < ca; i++) {
        bool seen[LIST_MAX] = {false};
        if (!augment(eq, ca, (int)i, seen, owner))
            return false;
    }
    return true;
}

bool ev_answer_equal(const char *got, const char *want)
{
    char *a = ev_answer_normalize(got);
    char *b = ev_answer_normalize(want);
    bool eq = false;
    if (a && b && a[0] && b[0]) {
        size_t na = strlen(a), nb = strlen(b);
        eq = scalar_equal(a, na, b, nb) || lists_equal(a, na, b, nb);
    }
    free(a);
    free(b);
    return eq;
}

/* ------------------------------------------------------- multiple choice */

static bool prefix_ci(const char *s, const char *p)
{
    for (; *p; s++, p++)
        if ((*s | 32) != *p)
            return false;
    return true;
}

/* The letter a normalised answer names, upper case, or 0. */
static char choice_letter(const char *s)
{
    static const char *const words[] = {"theansweris", "answeris", "answer", "option", "choice"};
    for (bool more = true; more;) {
        more = false;
        while (*s && strchr("*([{:", *s)) {
            s++;
            more = true;
        }
        for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
            if (prefix_ci(s, words[k])) {
                s += strlen(words[k]);
                more = true;
                break;
            }
    }
    if (!is_alpha(s[0]))
        return 0;
    if (s[1] != '\0' && !strchr(").:]},*;", s[1]))
        return 0;
    return (char)(s[0] & ~32);
}

bool ev_answer_equal_choice(const char *got, const char *want)
{
    char *a = ev_answer_normalize(got);
    char *b = ev_answer_normalize(want);
    char la = a ? choice_letter(a) : 0, lb = b ? choice_letter(b) : 0;
    free(a);
    free(b);
    return la != 0 && la == lb;
}
