#!/usr/bin/env bash
# cli_remote_faults.sh - the remote backend under faults: a small proxy
# (tests/oracle/fault_proxy.mjs) in front of `glimp serve -m` injects each
# fault (a connection dropped mid-stream, a stall, 500, 429 with
# Retry-After, truncated and malformed JSON and SSE, an error event, a
# stream without its end) into the first requests. Each is retried and the
# run then equals the local one token for token; a 400 is never retried; a
# fault that never ends gives a clear error naming the server and what was
# in flight, exit 3, no hang; a glimp eval whose server dies mid-run stops
# with exit 3 and --resume completes it with every problem exactly once.
# usage: cli_remote_faults.sh GLIMP TESTDATA_DIR
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

slm=$tmp/slm.gguf
llm=$tmp/llm.gguf
"$glimp" mkmodel -o "$slm" --layers 2 --embd 64 --seed 1 --untied >/dev/null 2>&1
"$glimp" mkmodel -o "$llm" --layers 3 --embd 96 --heads 4 --kv-heads 2 --seed 2 --untied \
    >/dev/null 2>&1
serve_start slm-server -m "$slm" -t 1
slm_port=${base##*:}
serve_start llm-server -m "$llm" -t 1
llm_port=${base##*:}


# The faults land on the first requests the proxy sees; with eager sync
# those would often be the prefills, which are hints and never retried, so
# the step streams are tested with it off, and eager sync on its own below.
eopts=(-p "Is 91 prime? Explain step by step." --temp 0 --max-think 60 --max-step 8
    --max-answer 10 -t 1 --tau 2.9936 --remote-timeout 1 --json)
opts=("${eopts[@]}" --remote-sync lazy)
"$glimp" run --slm "$slm" --llm "$llm" "${opts[@]}" >"$tmp/local.json" 2>/dev/null
want=$(routed "$tmp/local.json")
check "local run: both models wrote" js "$tmp/local.json" \
    'j.summary.steps_slm > 0 && j.summary.steps_llm > 0'

# --- each fault, twice, on the LLM's server; then on the SLM's (its probes)
for role in llm slm; do
    port=$llm_port
    [ $role = slm ] && port=$slm_port
    for fault in drop stall 500 429 truncjson badjson badsse eventerr hole; do
        proxy_start "$port" "$fault" 2
        if [ $role = llm ]; then
            models=(--slm "$slm" --llm "$proxy")
        else
            models=(--slm "$proxy" --llm "$llm")
        fi
        t0=$(date +%s.%N)
        timeout 120 "$glimp" run "${models[@]}" "${opts[@]}" >"$tmp/f.json" 2>"$tmp/f.err"
        rc=$?
        t1=$(date +%s.%N)
        check "$role $fault: exit 0 after retries" test $rc -eq 0
        [ $rc -eq 0 ] || cat "$tmp/f.err"
        check "$role $fault: injected twice" test "$(injected "$fault")" -eq 2
        check "$role $fault: the local run, token for token" same "$(routed "$tmp/f.json")" "$want"
        check "$role $fault: the retries are counted" js "$tmp/f.json" "j.network.$role.retries >= 2"
        if [ $fault = 429 ]; then
            check "429: Retry-After honoured (2 x 1 s)" \
                node -e 'process.exit(process.argv[2] - process.argv[1] >= 2 ? 0 : 1)' "$t0" "$t1"
        fi
    done
done

# --- eager sync: faults in the prefills sent ahead change nothing
for fault in drop 500 stall; do
    proxy_start "$llm_port" "$fault" 3
    timeout 120 "$glimp" run --slm "$slm" --llm "$proxy" "${eopts[@]}" >"$tmp/f.json" 2>"$tmp/f.err"
    rc=$?
    check "eager sync, $fault: exit 0" test $rc -eq 0
    [ $rc -eq 0 ] || cat "$tmp/f.err"
    check "eager sync, $fault: the local run, token for token" same "$(routed "$tmp/f.json")" "$want"
done

# --- a 400 is the client's fault: no retry, a clear error, exit 3
proxy_start "$llm_port" 400 1
timeout 60 "$glimp" run --slm "$slm" --llm "$proxy" "${opts[@]}" >"$tmp/out" 2>"$tmp/err"
check "400: exit 3" test $? -eq 3
check "400: not retried" test "$(injected 400)" -eq 1
check "400: the message names the server and the status" has "$tmp/err" "remote $proxy (model llm)"
check "400: ... and HTTP 400" has "$tmp/err" "HTTP 400: injected 400"

# --- a fault that never ends: every retry used, then a clear error
for fault in 500 badjson hole; do
    proxy_start "$llm_port" "$fault" 1000
    t0=$(date +%s)
    timeout 120 "$glimp" run --slm "$slm" --llm "$proxy" "${opts[@]}" --remote-retries 2 \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "endless $fault: exit 3, no hang" test $rc -eq 3
    check "endless $fault: 3 tries" test "$(injected "$fault")" -eq 3
    check "endless $fault: names the server" has "$tmp/err" "remote $proxy (model llm)"
    check "endless $fault: says what was in flight" has "$tmp/err" "a streamed completion of at most"
    check "endless $fault: retries used up" has "$tmp/err" "(retries used up)"
    check "endless $fault: soon" test $(($(date +%s) - t0)) -lt 30
done
# a stream cut every few tokens still ends: each retry resumes from the
# tokens already read, so only cuts in a row without a token count
proxy_start "$llm_port" drop 1000
timeout 120 "$glimp" run --slm "$slm" --llm "$proxy" "${opts[@]}" --remote-retries 2 \
    >"$tmp/f.json" 2>"$tmp/err"
check "endless drop: exit 0" test $? -eq 0
check "endless drop: many cuts" test "$(injected drop)" -gt 3
check "endless drop: the local run, token for token" same "$(routed "$tmp/f.json")" "$want"

# --- glimp eval: the LLM's server dies mid-run; --resume once it is back
ecommon=(--slm "$slm" --data "$data/eval-fixture.jsonl" --temp 0 --max-think 24 --max-step 6
    --max-answer 6 -t 1 --method llm --method glimp:tau=2.9936 --no-label --remote-retries 1)
"$glimp" eval "${ecommon[@]}" --llm "$llm" --out "$tmp/e-whole" >/dev/null 2>&1
check "eval local: 10 results" test "$(wc -l <"$tmp/e-whole/results.jsonl")" -eq 10
proxy_start "$llm_port" down 12
timeout 120 "$glimp" eval "${ecommon[@]}" --llm "$proxy" --out "$tmp/e-cut" >/dev/null 2>"$tmp/err"
check "eval, server down mid-run: exit 3" test $? -eq 3
check "eval, server down: the message names it" has "$tmp/err" "remote $proxy"
check "eval, server down: says to resume" has "$tmp/err" "--resume"
n=$(wc -l <"$tmp/e-cut/results.jsonl")
check "eval, server down: some results kept ($n of 10)" test "$n" -gt 0 -a "$n" -lt 10
timeout 120 "$glimp" eval "${ecommon[@]}" --llm "http://127.0.0.1:$llm_port/v1" --out "$tmp/e-cut" \
    --resume >/dev/null 2>"$tmp/err"
check "eval resumed: exit 0" test $? -eq 0
check "eval resumed: every problem exactly once" node -e '
    const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
    const keys = l.map((r) => r.method + "/" + r.run + "/" + r.id);
    process.exit(l.length === 10 && new Set(keys).size === 10 ? 0 : 1);' "$tmp/e-cut/results.jsonl"
stable() {
    node -e 'const fs = require("fs");
             const lines = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)
               .map((l) => JSON.stringify(JSON.parse(l), (k, v) =>
                 k.endsWith("_s") ? undefined : typeof v === "number" && !Number.isInteger(v) ? Math.round(v * 1e4) / 1e4 : v));
             console.log(lines.sort().join("\n"));' "$1"
}
check "eval resumed: the local results" same "$(stable "$tmp/e-cut/results.jsonl")" \
    "$(stable "$tmp/e-whole/results.jsonl")"

finish
