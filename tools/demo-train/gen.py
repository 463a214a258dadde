#!/usr/bin/env python3
"""gen.py - seeded data for glimp's demo models: chains of modular arithmetic
in two formats, task A ("decision-first": a step opens with its result) and
task B ("decision-late": a step opens with "So" or "Wait" and the result
comes mid-step), as training documents and as held-out test sets in glimp
eval's JSONL format.

Standard library only. The text formats are described in README.md; the
generator below is their definition.

    python3 gen.py --task A --out data/        # train + test for task A
    python3 gen.py --task B --out data/ --n-train 100000
"""

import argparse
import json
import os
import random
import sys

LABELS = "abcdefghijkl"  # rule names; a chain has at most len(LABELS) steps

# The raw prompt the models are trained on is the problem followed by one
# blank line; the reasoning starts right after it. glimp eval gets the same
# prompt from a template file holding exactly PROMPT_TEMPLATE.
PROMPT_TEMPLATE = "{problem}\n\n"
THINK_END = "</think>\n\n"
EOS = "<|im_end|>"


def raw_prompt(problem):
    return PROMPT_TEMPLATE.replace("{problem}", problem)


# ------------------------------------------------------------------ rules


def make_rule(rng, kind, mod):
    """A rule as a dict: kind 'easy', 'one' (one-hop), 'two' (two-hop) or
    'hard' (three-hop)."""
    if kind == "easy":
        # +0, +1, +2, -1, -2 or a copy, uniformly
        op = rng.choice(["+0", "+1", "+2", "-1", "-2", "copy"])
        if op == "copy":
            return {"kind": "easy", "form": "copy"}
        return {"kind": "easy", "form": "add", "k": int(op)}
    if kind == "one":  # x + a or x * c, any a, c: the primitives of two-hop rules
        if rng.random() < 0.5:
            return {"kind": "one", "form": "add", "k": rng.randrange(1, mod)}
        return {"kind": "one", "form": "mul", "c": rng.randrange(2, mod)}
    if kind == "two":
        a, c, d = rng.randrange(1, mod), rng.randrange(2, mod), rng.randrange(1, mod)
        if rng.random() < 0.5:
            return {"kind": "two", "form": "addmul", "a": a, "c": c}  # (x + a) * c
        return {"kind": "two", "form": "muladd", "c": c, "d": d}  # x * c + d
    a, c, d = rng.randrange(1, mod), rng.randrange(2, mod), rng.randrange(1, mod)
    return {"kind": "hard", "form": "three", "a": a, "c": c, "d": d}  # (x + a) * c + d


def rule_apply(r, v, mod):
    f = r["form"]
    if f == "copy":
        return v
    if f == "add":
        return (v + r["k"]) % mod
    if f == "mul":
        return v * r["c"] % mod
    if f == "addmul":
        return (v + r["a"]) * r["c"] % mod
    if f == "muladd":
        return (v * r["c"] + r["d"]) % mod
    return ((v + r["a"]) * r["c"] + r["d"]) % mod


def rule_text(r, x):
    """The rule's expression with x written as x (a string or a number)."""
    f = r["form"]
    if f == "copy":
        return f"{x}"
    if f == "add":
        k = r["k"]
        return f"{x} + {k}" if k >= 0 else f"{x} - {-k}"
    if f == "mul":
        return f"{x} * {r['c']}"
    if f == "addmul":
        return f"({x} + {r['a']}) * {r['c']}"
    if f == "muladd":
        return f"{x} * {r['c']} + {r['d']}"
    return f"({x} + {r['a']}) * {r['c']} + {r['d']}"


# ---------------------------------------------------------------- problems


def make_problem(rng, args, task, train):
    """One chain: its rules, start value and problem statement."""
    n = rng.randint(args.min_steps, args.max_steps)
    rules = []
    for _ in range(n):
        if rng.random() < args.hard:
            if train and args.one_hop and rng.random() < args.one_hop:
                kind = "one"
            elif train:
                kind = "two" if rng.random() < args.two_hop else "hard"
            else:
                kind = "two" if args.test_hops == 2 else "hard"
        else:
            kind = "easy"
        rules.append(make_rule(rng, kind, args.mod))
    x0 = rng.randrange(args.mod)
    parts = [f"x = {x0}."]
    for lab, r in zip(LABELS, rules):
        # the label before the rule: a step that names a label copies what
        # follows it here (an induction copy, no search)
        parts.append(f"{lab}: {rule_text(r, 'x')}.")
    tail = "result first." if task == "A" else "then check."
    parts.append(f"Apply a to {LABELS[n - 1]} mod {args.mod}, {tail}")
    return rules, x0, " ".join(parts)


class Doc:
    """Text built piece by piece, with character spans of interest."""

    def __init__(self):
        self.text = ""
        self.spans = []  # [start, end, kind]: kind easy|hard|two (results), wrong (masked)

    def add(self, s, kind=None):
        if kind:
            self.spans.append([len(self.text), len(self.text) + len(s), kind])
        self.text += s


def next_rule(rules, k, v):
    """The tail of a step: the next rule, copied from the problem with the
    result just found written for x. The next step then finds the whole
    expression it evaluates right before it."""
    if k + 1 >= len(rules):
        return ""
    return f" {LABELS[k + 1]}: {rule_text(rules[k + 1], v)}."


def chain_a(rules, x0, mod, doc):
    doc.add(f"x = {x0}.{next_rule(rules, -1, x0)}\n\n")
    v = x0
    for k, r in enumerate(rules):
        v = rule_apply(r, v, mod)
        doc.add(str(v), r["kind"])
        doc.add(f".{next_rule(rules, k, v)}\n\n")
    return v


def chain_b(rules, x0, mod, doc, rng, args):
    doc.add(f"So x = {x0}.{next_rule(rules, -1, x0)}\n\n")
    v = x0
    for k, r in enumerate(rules):
        nv = rule_apply(r, v, mod)
        expr = rule_text(r, v)
        p_err = args.err_hard if r["kind"] != "easy" else args.err_easy
        if rng.random() < p_err:
            # An injected wrong result: never a target of the loss. The next
            # step opens with "Wait" and redoes the rule.
            wrong = rng.choice([j for j in range(mod) if j != nv])
            doc.add(f"So {expr} = ")
            doc.add(str(wrong), "wrong")
            doc.add(".\n\n")
            doc.add(f"Wait, {expr} = ")
        else:
            doc.add(f"So {expr} = ")
        doc.add(str(nv), r["kind"])
        doc.add(f".{next_rule(rules, k, nv)}\n\n")
        v = nv
    return v


def make_doc(rng, args, task, train):
    rules, x0, problem = make_problem(rng, args, task, train)
    doc = Doc()
    doc.add(raw_prompt(problem))
    prompt_len = len(doc.text)
    if task == "A":
        ans = chain_a(rules, x0, args.mod, doc)
    else:
        ans = chain_b(rules, x0, args.mod, doc, rng, args if train else args_no_errors(args))
    doc.add(THINK_END)
    doc.add("\\boxed{")
    doc.add(str(ans), "answer")
    doc.add("}" + EOS)
    return {
        "problem": problem,
        "answer": str(ans),
        "text": doc.text,
        "prompt_len": prompt_len,
        "spans": doc.spans,
        "kinds": [r["kind"] for r in rules],
    }


def args_no_errors(args):
    """Reference solutions of test problems carry no injected errors."""
    a = argparse.Namespace(**vars(args))
    a.err_easy = a.err_hard = 0.0
    return a


# ---------------------------------------------------------------- output


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=True) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=["A", "B"], required=True)
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--seed", type=int, default=1, help="train seed (default 1)")
    ap.add_argument("--test-seed", type=int, default=None,
                    help="test seed (default: seed + 1000003), a separate stream")
    ap.add_argument("--n-train", type=int, default=50000)
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--mod", type=int, default=10)
    ap.add_argument("--min-steps", type=int, default=6)
    ap.add_argument("--max-steps", type=int, default=10)
    ap.add_argument("--hard", type=float, default=0.35, help="share of hard steps")
    ap.add_argument("--two-hop", type=float, default=0.0,
                    help="train only: share of hard steps made two-hop instead "
                         "((x + a) * c or x * c + d), the warm-up")
    ap.add_argument("--one-hop", type=float, default=0.0,
                    help="train only: share of hard steps made one-hop (x + a or x * c "
                         "for any a, c), a warm-up for two-hop rules; the rest follow "
                         "--two-hop")
    ap.add_argument("--test-hops", type=int, choices=[2, 3], default=3,
                    help="the hard rules of the test set: three-hop (default) or two-hop")
    ap.add_argument("--exclude", action="append", default=[], metavar="JSONL",
                    help="keep the test set apart from the problems of this training "
                         "file too (repeatable)")
    ap.add_argument("--err-easy", type=float, default=0.05,
                    help="task B train: chance of an injected wrong result on an easy step")
    ap.add_argument("--err-hard", type=float, default=0.25,
                    help="task B train: chance of an injected wrong result on a hard step")
    args = ap.parse_args(argv)
    if not 1 <= args.min_steps <= args.max_steps <= len(LABELS):
        ap.error(f"need 1 <= --min-steps <= --max-steps <= {len(LABELS)}")
    if args.mod < 3 or args.mod > 99:
        ap.error("--mod must be in 3..99")
    test_seed = args.test_seed if args.test_seed is not None else args.seed + 1000003
    if test_seed == args.seed:
        ap.error("the test seed must differ from the train seed")
    os.makedirs(args.out, exist_ok=True)
    t = args.task

    rng = random.Random(f"glimp-demo-{t}-train-{args.seed}")
    train = []
    for i in range(args.n_train):
        d = make_doc(rng, args, t, True)
        train.append({"id": f"{t}-train-{i}", "problem": d["problem"], "answer": d["answer"],
                      "text": d["text"], "prompt_len": d["prompt_len"], "spans": d["spans"]})
    seen = {row["problem"] for row in train}
    for path in args.exclude:  # other training files: held out from those too
        with open(path, encoding="utf-8") as f:
            seen.update(json.loads(line)["problem"] for line in f if line.strip())

    rng = random.Random(f"glimp-demo-{t}-test-{test_seed}")
    test = []
    while len(test) < args.n_test:
        d = make_doc(rng, args, t, False)
        if d["problem"] in seen:
            continue  # held out means held out
        seen.add(d["problem"])
        test.append({"id": f"{t}-{len(test):04d}", "problem": d["problem"],
                     "answer": d["answer"], "type": "math", "kinds": d["kinds"],
                     "solution": d["text"][d["prompt_len"]:], "spans": [
                         [s - d["prompt_len"], e - d["prompt_len"], k] for s, e, k in d["spans"]]})

    base = os.path.join(args.out, f"task{t}")
    write_jsonl(base + "-train.jsonl", train)
    write_jsonl(base + "-test.jsonl", test)
    with open(os.path.join(args.out, "prompt.txt"), "w", encoding="utf-8") as f:
        f.write(PROMPT_TEMPLATE)
    with open(base + "-gen.json", "w", encoding="utf-8") as f:
        json.dump({"args": vars(args), "test_seed": test_seed,
                   "prompt_template": PROMPT_TEMPLATE}, f, indent=1)
        f.write("\n")
    n_hard = sum(k != "easy" for row in test for k in row["kinds"])
    n_steps = sum(len(row["kinds"]) for row in test)
    print(f"task {t}: {len(train)} train documents -> {base}-train.jsonl, "
          f"{len(test)} test problems ({n_hard}/{n_steps} hard steps) -> {base}-test.jsonl",
          file=sys.stderr)


if __name__ == "__main__":
    main()
