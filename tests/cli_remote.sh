#!/usr/bin/env bash
# cli_remote.sh - remote backends against `glimp serve -m` on free
# 127.0.0.1 ports: greedy `glimp run` with the LLM remote, the SLM remote
# and both remote equals the all-local run token for token (glimp, share,
# llm and specreason policies; H_init within float rounding), `glimp eval`
# over remote models writes the local results, and what a remote model
# cannot do (drafting, --entropy full) is refused clearly.
# usage: cli_remote.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
data=$2
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"
# shellcheck source=SCRIPTDIR/lib/serve.sh
. "$(dirname "$0")/lib/serve.sh"
# shellcheck source=SCRIPTDIR/lib/remote.sh
. "$(dirname "$0")/lib/remote.sh"
need_node

# the largest |H_init(a) - H_init(b)| over the steps of two runs
dh_max() {
    node -e 'const fs = require("fs");
             const a = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).steps;
             const b = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).steps;
             let m = 0;
             a.forEach((s, i) => { if (s.h_init !== null) m = Math.max(m, Math.abs(s.h_init - b[i].h_init)); });
             console.log(m);' "$1" "$2"
}

slm=$tmp/slm.gguf
llm=$tmp/llm.gguf
"$glimp" mkmodel -o "$slm" --layers 2 --embd 64 --seed 1 --untied >/dev/null 2>&1
"$glimp" mkmodel -o "$llm" --layers 3 --embd 96 --heads 4 --kv-heads 2 --seed 2 --untied \
    >/dev/null 2>&1
check "mkmodel: both models" test -f "$slm" -a -f "$llm"

serve_start slm-server -m "$slm" -t 1
slm_url=$base/v1
serve_start llm-server -m "$llm" -t 1
llm_url=$base/v1

prompt="Is 91 prime? Explain step by step."
greedy=(-p "$prompt" --temp 0 --max-think 60 --max-step 8 --max-answer 10 -t 1)
run() {
    local name=$1
    shift
    timeout 120 "$glimp" run "$@" "${greedy[@]}" --json >"$tmp/$name.json" 2>"$tmp/$name.err"
}

# a tau that splits the steps of this prompt between the two models. The
# judge reads the digits among the LLM's top 20 (as the reference does),
# where a random model rarely puts one: threshold 0 keeps every step after
# judging it, 9 rewrites every one
tau=2.9936

pairs=(
    "llm-remote|--slm $slm --llm $llm_url"
    "llm-remote-lazy|--slm $slm --llm $llm_url --remote-sync lazy"
    "slm-remote|--slm $slm_url --llm $llm"
    "both-remote|--slm $slm_url --llm $llm_url --slm-vocab $slm --llm-vocab $llm"
)
policies=(
    "glimp|--policy glimp --tau $tau"
    "share|--policy share --share 0.5"
    "llm|--policy llm"
    "specreason-keep|--policy specreason --threshold 0"
    "specreason-rewrite|--policy specreason --threshold 9"
)
# H_init of each remote run within float rounding of the local one's
dh_check() {
    check "$3: max |dH_init| < 1e-5" \
        node -e 'process.exit(+process.argv[1] < 1e-5 ? 0 : 1)' "$(dh_max "$1" "$2")"
}
remote_matrix routed dh_check
# the routing had something to route: both models wrote steps
check "glimp: both models wrote" js "$tmp/local-glimp.json" \
    'j.summary.steps_slm > 0 && j.summary.steps_llm > 0'
check "specreason 0: every step judged and kept" js "$tmp/local-specreason-keep.json" \
    'j.summary.rewrites === 0 && j.summary.steps_slm > 1 && j.steps[0].signal !== null'
check "specreason 9: every step rewritten" js "$tmp/local-specreason-rewrite.json" \
    'j.summary.rewrites > 0 && j.summary.rewrites === j.summary.steps_llm'
# the mode is said at start-up, and the network part of the time
check "start-up: the mode and why" has "$tmp/llm-remote-glimp.err" \
    "llm: remote $llm_url model llm, token ids (checked through /tokenize)"
check "json: network figures of the remote model" js "$tmp/llm-remote-glimp.json" \
    'j.network.slm === null && j.network.llm.requests > 0'
check "json: eager sync's figures; none with --remote-sync lazy" js "$tmp/llm-remote-lazy-glimp.json" \
    'j.network.llm.prefills === 0 && j.network.llm.prefill_wait_s === 0'
check "start-up: eager sync said" has "$tmp/llm-remote-glimp.err" ", eager sync"
# the probe costs no request: one streamed request per SLM step (a probe
# whose step the LLM writes is closed early), none more
check "probe: at most one request per step and model" js "$tmp/both-remote-glimp.json" \
    'const n = j.steps.length; return j.network.slm.requests <= n + 1 && j.network.slm.aborted > 0'

# --- what a remote model cannot do
run draft --slm "$slm" --llm "$llm_url" --tau -inf --draft 3
check "draft with a remote LLM: refused" test $? -ne 0
check "draft refusal points to the server's speculative decoding" has "$tmp/draft.err" \
    "--speculative-config"
run full --slm "$slm_url" --llm "$llm" --entropy full
check "entropy full with a remote SLM: refused" test $? -ne 0
check "entropy full refusal names the backend" has "$tmp/full.err" "remote $slm_url"
# no server there: a clear error naming it, exit 1, soon
"$glimp" run --slm "$slm" --llm http://127.0.0.1:9/v1 --remote-retries 1 "${greedy[@]}" \
    >"$tmp/out" 2>"$tmp/err"
check "no server: exit 3" test $? -eq 3
check "no server: the message names it" has "$tmp/err" "http://127.0.0.1:9/v1"

# --- glimp serve routes between a local SLM and a remote LLM as between two
# local models
body='{"model":"glimp","messages":[{"role":"user","content":"Is 91 prime?"}],"temperature":0,"max_tokens":40,"glimp":{"tau":2.9936,"max_step":8,"max_think":40}}'
serve_start routed-local --slm "$slm" --llm "$llm" -t 1
check "serve local: 200" same "$(post /v1/chat/completions "$body")" 200
cp "$tmp/body" "$tmp/serve-local.json"
serve_stop
serve_start routed-remote --slm "$slm" --llm "$llm_url" --llm-vocab "$llm" -t 1
check "serve, LLM remote: says so" has "$tmp/routed-remote.log" "llm: remote $llm_url"
check "serve, LLM remote: 200" same "$(post /v1/chat/completions "$body")" 200
cp "$tmp/body" "$tmp/serve-remote.json"
serve_stop
pick='[j.choices[0].message.content, j.choices[0].message.reasoning_content, j.glimp.steps.map((s) => s.writer)]'
check "serve, LLM remote: the local answer and routing" \
    same "$(node -e "const j = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); console.log(JSON.stringify($pick))" "$tmp/serve-remote.json")" \
         "$(node -e "const j = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); console.log(JSON.stringify($pick))" "$tmp/serve-local.json")"
want="-m takes a GGUF file"
usage_error "serve -m URL" "$glimp" serve -m "$llm_url"

# --- glimp eval over remote models writes the local results
stable() {
    node -e 'const fs = require("fs");
             const lines = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)
               .map((l) => JSON.stringify(JSON.parse(l), (k, v) =>
                 k.endsWith("_s") ? undefined : typeof v === "number" && !Number.isInteger(v) ? Math.round(v * 1e4) / 1e4 : v));
             console.log(lines.sort().join("\n"));' "$1"
}
ecommon=(--data "$data/eval-fixture.jsonl" --temp 0 --max-think 24 --max-step 6 --max-answer 6
    -t 1 --limit 3 --method slm --method llm --method "glimp:tau=$tau" --no-label)
timeout 300 "$glimp" eval --slm "$slm" --llm "$llm" "${ecommon[@]}" --out "$tmp/e-local" \
    >/dev/null 2>"$tmp/e-local.err"
check "eval local: exit 0" test $? -eq 0
timeout 300 "$glimp" eval --slm "$slm_url" --llm "$llm_url" --slm-vocab "$slm" --llm-vocab "$llm" \
    "${ecommon[@]}" --out "$tmp/e-remote" >/dev/null 2>"$tmp/e-remote.err"
check "eval remote: exit 0" test $? -eq 0
check "eval remote: the local results (timings aside)" \
    same "$(stable "$tmp/e-remote/results.jsonl")" "$(stable "$tmp/e-local/results.jsonl")"

finish
