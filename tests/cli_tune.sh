#!/usr/bin/env bash
# cli_tune.sh - `glimp tune` end to end on the demo pair (a few problems):
# the pilot it runs, the choice it prints, the profile it writes; that
# glimp run and glimp eval take the profile (--profile), warn when it was
# tuned on another pair and refuse a bad one naming the field; and
# --segment on the command line. Which setting a target picks is checked
# by test_tune; the profile format by test_profile.
# usage: cli_tune.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
data=$2
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"
need_node
demo=$(cd "$data/../.." && pwd)/models/demo
pair=(--slm "$demo/small.gguf" --llm "$demo/large.gguf")
budgets=(--no-chat --temp 0 --max-think 512 --max-step 48 --max-answer 16 -t 2)

# --- a pilot of 4 problems, two signals, two segmentations, 3 thresholds
"$glimp" tune "${pair[@]}" "${budgets[@]}" --data "$demo/taskA.jsonl" --prompt "$demo/prompt.txt" \
    --limit 4 --target share:0.5 --signal hinit --signal glimpse:2 --segment blank \
    --segment 'marker:(?<==)\s*[0-9]' --sweep tau=0.5:1.5:0.5 --dir "$tmp/pilot" \
    --out "$tmp/p.json" >"$tmp/out" 2>"$tmp/err"
check "tune exit 0" test $? -eq 0
check "tune: the pilot's results" test "$(wc -l <"$tmp/pilot/results.jsonl")" -eq $((4 * (2 + 12)))
check "tune: the report" test -s "$tmp/pilot/report.md"
check "tune: the methods" js "$tmp/pilot/summary.json" \
    'j.methods.map((m) => m.method).slice(0, 6).join(" ") === "llm slm glimp:tau=0.5 glimp:tau=1 glimp:tau=1.5 glimp:tau=0.5,glimpse=2"'
check "tune: marker methods" js "$tmp/pilot/summary.json" \
    'j.methods.some((m) => m.method === "glimp:tau=1,glimpse=2,segment=marker:(?<==)\\s*[0-9]")'
check "tune: target line" has "$tmp/out" "target share:0.5 (LLM share of steps at most 50%"
check "tune: the choice" has "$tmp/out" "Chosen: glimp:"
check "tune: 95% interval" has "$tmp/out" "95% interval"
check "tune: wrote it" has "$tmp/out" "Wrote $tmp/p.json (profile 'p';"
check "tune: 4 problems cannot tell apart" has "$tmp/out" "The pilot is too small to tell it from the runner-up"
check "profile: names the pair" js "$tmp/p.json" \
    'j.glimp_profile === 1 && j.name === "p" && j.pair.slm.desc.includes("small.gguf") && j.pair.llm.vocab_hash.length === 16'
check "profile: the budgets" js "$tmp/p.json" 'j.max_step === 48 && j.max_answer === 16'
check "profile: how it was tuned" js "$tmp/p.json" \
    'j.tuned.target === "share:0.5" && j.tuned.problems === 4 && j.tuned.llm_share <= 0.5'
chosen=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).tuned.method)' "$tmp/p.json")
check "tune: the profile is the printed choice" has "$tmp/out" "Chosen: $chosen:"

# --- a second tune over the same folder needs --resume, and then runs nothing new
"$glimp" tune "${pair[@]}" "${budgets[@]}" --data "$demo/taskA.jsonl" --limit 4 --target share:0.5 \
    --dir "$tmp/pilot" --out "$tmp/q.json" >/dev/null 2>"$tmp/err"
check "tune: existing pilot refused" test $? -eq 1
check "tune: says --resume" has "$tmp/err" "--resume"

# --- the profile in glimp run and glimp eval
prompt=$(head -n1 "$demo/taskA.jsonl" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).problem))')
"$glimp" run "${pair[@]}" --no-chat --temp 0 -t 2 --profile "$tmp/p.json" --json -p "$prompt" >"$tmp/run.json" 2>"$tmp/err"
check "run --profile exit 0" test $? -eq 0
check "run --profile: no warning on its own pair" lacks "$tmp/err" "warning"
check "run --profile: the profile's policy" js "$tmp/run.json" "j.policy === \"$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).policy)' "$tmp/p.json")\""
check "run --profile: its step budget" js "$tmp/run.json" 'j.steps.every((s) => s.n_tokens <= 48)'
# an option beside it overrides it
"$glimp" run "${pair[@]}" --no-chat --temp 0 -t 2 --profile "$tmp/p.json" --policy llm --json -p "$prompt" >"$tmp/run2.json" 2>/dev/null
check "run --profile --policy llm: the option wins" js "$tmp/run2.json" 'j.policy === "llm"'
# tuned on another pair: a warning, and the run goes on
"$glimp" run --slm "$demo/large.gguf" --llm "$demo/large.gguf" --no-chat --temp 0 -t 2 --max-think 32 \
    --profile "$tmp/p.json" -p "$prompt" >/dev/null 2>"$tmp/err"
check "another pair: exit 0" test $? -eq 0
check "another pair: warns" has "$tmp/err" "glimp run: warning: profile $tmp/p.json: tuned on another small model"
"$glimp" eval "${pair[@]}" "${budgets[@]}" --data "$demo/taskA.jsonl" --prompt "$demo/prompt.txt" --limit 2 \
    --profile "$tmp/p.json" --no-label --out "$tmp/ev" >/dev/null 2>"$tmp/err"
check "eval --profile exit 0" test $? -eq 0
check "eval --profile: llm and the profile" js "$tmp/ev/summary.json" \
    'j.methods.map((m) => m.method).join(" ") === "llm profile"'

# --- a bad profile: exit 1, the field named
node -e 'const fs=require("fs");const j=JSON.parse(fs.readFileSync(process.argv[1]));j.tau="high";fs.writeFileSync(process.argv[2],JSON.stringify(j))' "$tmp/p.json" "$tmp/bad.json"
"$glimp" run "${pair[@]}" --profile "$tmp/bad.json" -p x >/dev/null 2>"$tmp/err"
check "bad profile: exit 1" test $? -eq 1
check "bad profile: names the field" has "$tmp/err" "glimp run: $tmp/bad.json: field 'tau': expected a number"
"$glimp" eval "${pair[@]}" --data "$demo/taskA.jsonl" --profile "$tmp/none.json" --out "$tmp/e2" >/dev/null 2>"$tmp/err"
check "missing profile: exit 1" test $? -eq 1

# --- --segment on the command line
"$glimp" run "${pair[@]}" "${budgets[@]}" --tau inf --segment line --json -p "$prompt" >"$tmp/line.json" 2>/dev/null
check "run --segment line: exit 0" test $? -eq 0
check "run --segment line: no step holds a newline before its end" js "$tmp/line.json" \
    'j.steps.filter((s) => s.phase === "think").every((s) => !s.text.slice(1).replace(/\n+$/, "").includes("\n"))'
"$glimp" run "${pair[@]}" "${budgets[@]}" --tau inf --json -p "$prompt" >"$tmp/blank.json" 2>/dev/null
check "run --segment line: the SLM alone writes the same text" js "$tmp/line.json" \
    "j.reasoning === $(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).reasoning))' "$tmp/blank.json")"
want="expected blank, line or marker:REGEX"
usage_error "run --segment para" "$glimp" run "${pair[@]}" --segment para -p x
want="missing closing parenthesis"
usage_error "eval --segment marker:Wa(" "$glimp" eval "${pair[@]}" --data "$demo/taskA.jsonl" --segment 'marker:Wa('
want="target 'speed:1'"
usage_error "tune --target speed:1" "$glimp" tune "${pair[@]}" --data "$demo/taskA.jsonl" --target speed:1
want="--signal 'ppl'"
usage_error "tune --signal ppl" "$glimp" tune "${pair[@]}" --data "$demo/taskA.jsonl" --target share:0.3 --signal ppl

finish
