#!/usr/bin/env bash
# cli_demo.sh - `glimp demo` end to end on the shipped pair (models/demo),
# reduced to a few problems: the table, histogram and transcript it prints,
# the reports it writes, that a second run replaces the first, and its
# errors. What the pair achieves is checked by test_demo.
# usage: cli_demo.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
data=$2
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"
need_node
demo=$(cd "$data/../.." && pwd)/models/demo
n=4

# --- both tasks, found beside the program (run from elsewhere, no --dir)
(cd "$tmp" && "$glimp" demo --limit $n --out d -t 2 >out 2>err)
check "demo exit 0" test $? -eq 0
out=$tmp/out
for t in A B; do
    check "task $t header" has "$out" "== Task $t ("
    for f in results.jsonl report.md summary.json pareto.svg hinit.svg; do
        check "task $t: wrote $f" test -s "$tmp/d/task$t/$f"
    done
    check "task $t: $n problems x 6 methods" test "$(wc -l <"$tmp/d/task$t/results.jsonl")" -eq $((n * 6))
    # task A: a threshold on H_init; task B, where H_init sees only "So": a set share
    router=glimp:tau=0.5
    [ $t = B ] && router=glimp:share=0.3
    check "task $t: the methods in order" js "$tmp/d/task$t/summary.json" \
        'j.methods.map((m) => m.method).join(" ") === "slm:answer=slm llm '$router' random:share=auto glimp:signal=hstep,share=auto glimp:glimpse=4,share=auto"'
    # every comparison runs at the share GlimpRouter measured
    check "task $t: same share" js "$tmp/d/task$t/summary.json" \
        'j.methods.slice(3).every((m) => Math.abs(m.share - j.methods[2].llm_share_steps) < 1e-9)'
done
for row in "SLM alone" "LLM alone" "random routing, same share" "H_step, same share" \
    "glimpse K, same share"; do
    check "row '$row' in both tables" test "$(grep -cF "  $row " "$out")" -eq 2
done
check "task A: GlimpRouter with tau" test "$(grep -cF "  GlimpRouter (H_init > tau) " "$out")" -eq 1
check "task B: GlimpRouter at a share" test "$(grep -cF "  GlimpRouter (H_init, share) " "$out")" -eq 1
# the printed accuracy is the report's
check "table accuracy = summary.json" node -e '
    const fs = require("fs");
    const s = JSON.parse(fs.readFileSync(process.argv[1] + "/d/taskA/summary.json", "utf8"));
    const want = (100 * s.methods[2].accuracy_mean).toFixed(1) + "%";
    const line = fs.readFileSync(process.argv[1] + "/out", "utf8").split("\n")
        .find((l) => l.includes("GlimpRouter (H_init > tau)"));
    process.exit(line.trim().split(/\s+/).includes(want) ? 0 : 1);' "$tmp"
check "histogram: 12 bins a task" test "$(grep -cE '^  [0-9]\.[0-9]{2}(-[0-9]\.[0-9]{2}|\+) ' "$out")" -eq 24
check "histogram: tau marked on task A only" test "$(grep -c '<- tau 0.50' "$out")" -eq 1
# the bins count GlimpRouter's labelled steps
check "histogram counts = labelled steps" node -e '
    const fs = require("fs");
    const l = fs.readFileSync(process.argv[1] + "/d/taskA/results.jsonl", "utf8").split("\n")
        .filter(Boolean).map(JSON.parse).filter((r) => r.method === "glimp:tau=0.5");
    const steps = l.flatMap((r) => r.steps).filter((s) => s.h !== null && s.easy >= 0).length;
    const out = fs.readFileSync(process.argv[1] + "/out", "utf8").split("\n");
    const i = out.findIndex((x) => x.startsWith("== Task A"));
    const bins = out.slice(i).filter((x) => /^  \d\.\d\d(-\d\.\d\d|\+) /.test(x)).slice(0, 12);
    const sum = bins.reduce((a, x) => a + Number(x.trim().split(/\s+/)[1]), 0);
    process.exit(sum === steps && steps > 0 ? 0 : 1);' "$tmp"
check "transcript: the problem" has "$out" "problem A-0000: "
check "transcript: names the router" has "$out" "routed by GlimpRouter (glimp:tau=0.5)"
check "transcript: steps marked by writer and H_init" grep -qE '^  \[(slm|LLM) H=[0-9]+\.[0-9]{2}\] ' "$out"
check "transcript: the answer checked" grep -qE '^  answer: .* \(expected [0-9]+: (right|wrong)\)$' "$out"
check "timing line" grep -qE '^glimp demo: [0-9]+ s$' "$out"

# --- again into the same folder: the results are replaced, not appended
"$glimp" demo --dir "$demo" --task A --limit 3 --out "$tmp/d" -t 1 >"$tmp/out2" 2>"$tmp/err2"
check "second run exit 0" test $? -eq 0
check "second run replaced task A" test "$(wc -l <"$tmp/d/taskA/results.jsonl")" -eq 18
check "--task A: no task B table" test "$(grep -c '== Task B' "$tmp/out2")" -eq 0
check "--task A: task B untouched" test "$(wc -l <"$tmp/d/taskB/results.jsonl")" -eq $((n * 6))

# --- errors
mkdir -p "$tmp/empty"
"$glimp" demo --dir "$tmp/empty" --out "$tmp/e" >"$tmp/out3" 2>"$tmp/err3"
check "missing demo files: exit 1" test $? -eq 1
check "missing demo files: names the file" has "$tmp/err3" "$tmp/empty/small.gguf: missing"
mkdir -p "$tmp/bad"
cp "$demo"/* "$tmp/bad/"
head -c 4000 "$demo/large.gguf" >"$tmp/bad/large.gguf"
"$glimp" demo --dir "$tmp/bad" --limit 2 --out "$tmp/b" >"$tmp/out4" 2>"$tmp/err4"
check "truncated model: exit 1" test $? -eq 1
check "truncated model: names it" has "$tmp/err4" "large.gguf"
want="--task: bad value 'C'" usage_error "bad task" "$glimp" demo --task C
want="--limit: bad value '0'" usage_error "zero limit" "$glimp" demo --limit 0
want="unknown option '--tua'" usage_error "unknown option" "$glimp" demo --tua 1
"$glimp" demo --help >"$tmp/help"
check "help exit 0" test $? -eq 0
check "help names --tau" has "$tmp/help" "--tau X"
want="--share-b: bad value '2'" usage_error "share out of range" "$glimp" demo --share-b 2
finish
