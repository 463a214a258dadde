#!/usr/bin/env bash
# cli_eval.sh - `glimp eval` and `glimp roi` end to end on a small JSONL
# fixture and two random-weight models (the scores mean nothing; the files,
# the table, resume after a kill, bad lines and the SVGs are what is checked).
# usage: cli_eval.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
data=$2
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"
# the result lines without their timings, sorted: what must not depend on
# how the run was cut up
stable() {
    node -e 'const fs = require("fs");
             const drop = /_s$/;
             const lines = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)
               .map((l) => JSON.stringify(JSON.parse(l), (k, v) => (drop.test(k) ? undefined : v)));
             console.log(lines.sort().join("\n"));' "$1"
}
need_node
have_xmllint=1
command -v xmllint >/dev/null || have_xmllint=0
if [ $have_xmllint = 0 ] && [ "${GLIMP_ALLOW_NO_XMLLINT:-0}" != 1 ]; then
    check "xmllint installed (libxml2-utils; run scripts/setup.sh)" false
fi

slm=$tmp/slm.gguf
llm=$tmp/llm.gguf
"$glimp" mkmodel -o "$slm" --untied --seed 1 >/dev/null 2>&1
"$glimp" mkmodel -o "$llm" --untied --layers 3 --embd 96 --ff 288 --seed 2 >/dev/null 2>&1
fixture=$data/eval-fixture.jsonl
common=(--slm "$slm" --llm "$llm" --data "$fixture" --temp 0 --max-think 24 --max-step 6
    --max-answer 6 -t 2)

# --- the default methods, two runs
"$glimp" eval "${common[@]}" --runs 2 --out "$tmp/a" >"$tmp/out" 2>"$tmp/err"
check "eval exit 0" test $? -eq 0
for f in results.jsonl report.md summary.json pareto.svg hinit.svg; do
    check "eval wrote $f" test -s "$tmp/a/$f"
done
# 5 problems x 2 runs x 5 methods
check "50 result lines" test "$(wc -l <"$tmp/a/results.jsonl")" -eq 50
check "summary: the 5 default methods in order" js "$tmp/a/summary.json" \
    'j.methods.map((m) => m.method).join(" ") === "slm llm specreason:threshold=7 glimp:tau=1.0 random:share=auto"'
check "summary: 2 runs x 5 problems each" js "$tmp/a/summary.json" \
    'j.methods.every((m) => m.runs === 2 && m.problems === 5)'
check "summary: slm share 0, llm share 1" js "$tmp/a/summary.json" \
    'j.methods[0].llm_share_steps === 0 && j.methods[1].llm_share_steps === 1'
check "summary: random runs at the glimp share" js "$tmp/a/summary.json" \
    'Math.abs(j.methods[4].share - j.methods[3].llm_share_steps) < 1e-9'
check "report.md: a table row per method" test "$(grep -c '^| \(slm\|llm\|specreason\|glimp\|random\)' "$tmp/a/report.md")" -eq 5
check "report.md: the header" has "$tmp/a/report.md" "| method | runs × problems | accuracy |"
check "report.md: links the plots" has "$tmp/a/report.md" "(pareto.svg)"
# greedy: the two runs give the same answers
check "greedy runs agree" js "$tmp/a/summary.json" 'j.methods.every((m) => m.accuracy_sd === 0)'
# the steps of the first glimp method are labelled easy/hard
check "glimp steps labelled" node -e '
    const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
    const g = l.filter((r) => r.method === "glimp:tau=1.0");
    const s = l.filter((r) => r.method === "slm");
    process.exit(g.every((r) => r.steps.every((x) => x.easy === 0 || x.easy === 1)) &&
                 s.every((r) => r.steps.every((x) => x.easy === -1)) ? 0 : 1);' "$tmp/a/results.jsonl"
if [ $have_xmllint = 1 ]; then
    check "pareto.svg well-formed" xmllint --noout "$tmp/a/pareto.svg"
    check "hinit.svg well-formed" xmllint --noout "$tmp/a/hinit.svg"
fi
check "pareto.svg: one point per method" test "$(grep -o 'class="pt"' "$tmp/a/pareto.svg" | wc -l)" -eq 5
for m in slm llm specreason glimp random; do
    check "pareto.svg names $m" has "$tmp/a/pareto.svg" "$m"
done

# --- an existing run is not overwritten; --resume of a finished run adds nothing
"$glimp" eval "${common[@]}" --runs 2 --out "$tmp/a" >"$tmp/out" 2>"$tmp/err"
check "existing results refused" test $? -eq 1
check "refusal says --resume" has "$tmp/err" "--resume"
"$glimp" eval "${common[@]}" --runs 2 --out "$tmp/a" --resume >"$tmp/out" 2>"$tmp/err"
check "resume of a finished run: exit 0" test $? -eq 0
check "resume of a finished run: still 50 lines" test "$(wc -l <"$tmp/a/results.jsonl")" -eq 50

# --- killed mid-run, then resumed: the same results as an unbroken run
methods=(--method slm --method llm --method glimp:tau=1.0)
"$glimp" eval "${common[@]}" "${methods[@]}" --runs 3 --out "$tmp/whole" >/dev/null 2>&1
"$glimp" eval "${common[@]}" "${methods[@]}" --runs 3 --out "$tmp/cut" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
    [ -s "$tmp/cut/results.jsonl" ] && [ "$(wc -l <"$tmp/cut/results.jsonl")" -ge 12 ] && break
    sleep 0.05
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
n=$(wc -l <"$tmp/cut/results.jsonl")
check "the kill left a partial run ($n of 45 lines)" test "$n" -lt 45
printf '{"method":"slm","ru' >>"$tmp/cut/results.jsonl" # a line torn by the kill
"$glimp" eval "${common[@]}" "${methods[@]}" --runs 3 --out "$tmp/cut" --resume >/dev/null 2>"$tmp/err"
check "resume exit 0" test $? -eq 0
check "resume cut the torn line" has "$tmp/err" "torn"
check "resumed run has 45 lines" test "$(wc -l <"$tmp/cut/results.jsonl")" -eq 45
check "resumed results = unbroken results" test "$(stable "$tmp/cut/results.jsonl")" = "$(stable "$tmp/whole/results.jsonl")"
check "resumed summary accuracy = unbroken" test \
    "$(node -e 'console.log(JSON.stringify(require(process.argv[1]).methods.map((m) => [m.method, m.accuracy_mean, m.tokens_slm_mean, m.tokens_llm_mean])))' "$tmp/cut/summary.json")" = \
    "$(node -e 'console.log(JSON.stringify(require(process.argv[1]).methods.map((m) => [m.method, m.accuracy_mean, m.tokens_slm_mean, m.tokens_llm_mean])))' "$tmp/whole/summary.json")"

# --- random routing flips other coins on other problems: the writers of
# the first two steps are not the same on all five (one seed per problem
# gave every problem the same ones)
"$glimp" eval "${common[@]}" --method random:share=0.5 --out "$tmp/coins" >/dev/null 2>&1
check "random routing: other coins on other problems" node -e '
    const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
    const pat = l.map((r) => r.steps.slice(0, 2).map((s) => s.w).join(","));
    process.exit(l.length === 5 && l.every((r) => r.steps.length >= 2) && new Set(pat).size > 1 ? 0 : 1);' \
    "$tmp/coins/results.jsonl"

# ... and run k draws from seed S + k: two runs do not route alike
"$glimp" eval "${common[@]}" --method random:share=0.5 --runs 2 --out "$tmp/coins2" >/dev/null 2>&1
check "random routing: other coins in another run" node -e '
    const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
    const pat = (k) => l.filter((r) => r.run === k).map((r) => r.steps.map((s) => s.w).join(",")).join(";");
    process.exit(l.length === 10 && pat(0) !== pat(1) ? 0 : 1);' "$tmp/coins2/results.jsonl"

# --- the share policy ranks each signal among all earlier ones, those of
# problems done before a resume too, and random routing's coins follow on:
# stopped after 2 problems and resumed, they route every step as an
# unbroken run does
shm=(--method glimp:share=0.4 --method random:share=0.4)
"$glimp" eval "${common[@]}" "${shm[@]}" --out "$tmp/sh-whole" >/dev/null 2>&1
"$glimp" eval "${common[@]}" "${shm[@]}" --limit 2 --out "$tmp/sh-cut" >/dev/null 2>&1
"$glimp" eval "${common[@]}" "${shm[@]}" --out "$tmp/sh-cut" --resume >/dev/null 2>"$tmp/err"
check "share policy resumed: exit 0" test $? -eq 0
check "share policy resumed: no replay warning" lacks "$tmp/err" "chose another writer"
check "share policy resumed: the LLM wrote some steps" has "$tmp/sh-whole/results.jsonl" '"w":"llm"'
check "share policy resumed = unbroken (every step's writer)" test \
    "$(stable "$tmp/sh-cut/results.jsonl")" = "$(stable "$tmp/sh-whole/results.jsonl")"

# a record the replay routes otherwise (edited here) is reported, not fatal
"$glimp" eval "${common[@]}" --method glimp:share=0.4 --limit 2 --out "$tmp/sh-edit" >/dev/null 2>&1
sed -i '1s/"w":"slm"/"w":"llm"/' "$tmp/sh-edit/results.jsonl"
"$glimp" eval "${common[@]}" --method glimp:share=0.4 --out "$tmp/sh-edit" --resume >/dev/null 2>"$tmp/err"
check "edited record resumed: exit 0" test $? -eq 0
check "edited record: the replay says it differs" has "$tmp/err" "chose another writer at 1"

# --- bad lines: reported with their number, skipped; --strict stops
{
    cat "$fixture"
    echo '{"id": "broken", "problem": "no answer"}'
    echo 'this is not json'
    echo '{"id": "add-1", "problem": "dup", "answer": "1"}'
} >"$tmp/bad.jsonl"
"$glimp" eval "${common[@]}" --data "$tmp/bad.jsonl" --method slm --out "$tmp/bad" >/dev/null 2>"$tmp/err"
check "bad lines skipped: exit 0" test $? -eq 0
check "bad line 7 named (no answer)" has "$tmp/err" "bad.jsonl:7: no \"answer\""
check "bad line 8 named (not JSON)" has "$tmp/err" "bad.jsonl:8: not JSON"
check "bad line 9 named (duplicate id)" has "$tmp/err" "bad.jsonl:9: id 'add-1' already used on line 1"
check "the good problems ran" test "$(wc -l <"$tmp/bad/results.jsonl")" -eq 5
"$glimp" eval "${common[@]}" --data "$tmp/bad.jsonl" --method slm --strict --out "$tmp/strict" >/dev/null 2>"$tmp/err"
check "--strict: exit 1" test $? -eq 1
check "--strict: names line 7" has "$tmp/err" "bad.jsonl:7"
printf 'not json at all\n' >"$tmp/none.jsonl"
"$glimp" eval "${common[@]}" --data "$tmp/none.jsonl" --out "$tmp/none" >/dev/null 2>"$tmp/err"
check "no usable problem: exit 1" test $? -eq 1
check "no usable problem: said" has "$tmp/err" "no usable problem"

# --- method specs and the sweep
"$glimp" eval "${common[@]}" --method 'glimp:tua=1' --out "$tmp/x" >/dev/null 2>"$tmp/err"
check "bad method: exit 2" test $? -eq 2
check "bad method: names the key" has "$tmp/err" "unknown key 'tua'"
# share=auto for any glimp signal: the share the first glimp method measured
"$glimp" eval "${common[@]}" --limit 3 --method glimp:tau=1.0 \
    --method glimp:signal=hstep,share=auto --method glimp:glimpse=2,share=auto --out "$tmp/auto" \
    >/dev/null 2>"$tmp/err"
check "glimp share=auto: exit 0" test $? -eq 0
check "glimp share=auto: runs at glimp:tau's share" js "$tmp/auto/summary.json" \
    'j.methods.length === 3 && j.methods.slice(1).every((m) => m.policy === "share" && Math.abs(m.share - j.methods[0].llm_share_steps) < 1e-9)'
"$glimp" eval "${common[@]}" --method 'specreason:share=auto' --out "$tmp/x" >/dev/null 2>"$tmp/err"
check "share=auto elsewhere: exit 2" test $? -eq 2
"$glimp" eval "${common[@]}" --sweep tau=0.5:1.5:0.5 --matched --limit 2 --out "$tmp/sw" >/dev/null 2>"$tmp/err"
check "sweep exit 0" test $? -eq 0
check "sweep: 3 taus + matched methods" js "$tmp/sw/summary.json" \
    'j.methods.filter((m) => m.policy === "glimp").length === 3 && j.methods.some((m) => m.signal === "hstep") && j.methods.some((m) => m.signal === "ppl") && j.methods.some((m) => m.policy === "random")'

# --- raw prompts (models trained without a chat template)
printf '{problem}\n\n' >"$tmp/raw.txt"
"$glimp" eval "${common[@]}" --method slm --no-chat --prompt "$tmp/raw.txt" --limit 2 --out "$tmp/raw" >/dev/null 2>"$tmp/err"
check "--no-chat exit 0" test $? -eq 0
check "--no-chat: 2 results" test "$(wc -l <"$tmp/raw/results.jsonl")" -eq 2
check "--no-chat: another prompt than the template's (other H_init)" node -e '
    const fs = require("fs");
    const first = (f) => fs.readFileSync(f, "utf8").split("\n").filter(Boolean).map(JSON.parse)
        .find((r) => r.method === "slm" && r.run === 0 && r.id === "add-1");
    const a = first(process.argv[1]), b = first(process.argv[2]);
    process.exit(a && b && a.steps[0].h !== b.steps[0].h ? 0 : 1);' "$tmp/raw/results.jsonl" "$tmp/a/results.jsonl"

# --- roi
"$glimp" roi --report "$tmp/a" --requests-per-day 1000 --llm-cost-per-1k-tokens 2 >"$tmp/roi" 2>"$tmp/err"
check "roi exit 0" test $? -eq 0
check "roi prints its assumptions" has "$tmp/roi" "requests per day:           1000"
check "roi: a row per method" test "$(grep -c '^| \(slm\|llm\|specreason\|glimp\|random\)' "$tmp/roi")" -eq 5
check "roi: llm saves nothing against itself" grep -q '^| llm | .* | +0.0% | .* | +0.0% |' "$tmp/roi"
"$glimp" roi --report "$tmp/sw" >"$tmp/roi" 2>"$tmp/err"
check "roi without an llm method: exit 1" test $? -eq 1
check "roi without an llm method: said" has "$tmp/err" "no 'llm' method"

finish
