#!/usr/bin/env bash
# cli_serve_load.sh - 32 clients streaming at once on the demo pair, several
# requests each (fewer under the sanitizers): every request completes or is
# refused with 503, none lost or mixed up (tests/oracle/serve_load.mjs), and
# /metrics counts them all.
# usage: cli_serve_load.sh GLIMP_BINARY TEST_DATA_DIR
set -u
glimp=$1
. "$(dirname "$0")/lib/cli.sh"
. "$(dirname "$0")/lib/serve.sh"
need_node
oracle=$(cd "$(dirname "$0")/oracle" && pwd)
demo=$(cd "$(dirname "$0")/../models/demo" && pwd)
each=4
[ -n "${GLIMP_SANITIZE:-}" ] && each=1
serve_start load --slm "$demo/small.gguf" --llm "$demo/large.gguf" --temp 0 --max-think 512 \
    --max-step 48 --max-answer 16 -t 1 -np 4 --queue 16 || { finish; exit 1; }
node "$oracle/serve_load.mjs" "$base" "$demo/taskA.jsonl" 32 "$each" >"$tmp/load.json"
rc=$?
cat "$tmp/load.json"
check "load: every request completed or refused with 503, none lost or mixed" test $rc = 0
curl -s "$base/metrics" >"$tmp/metrics"
done_n=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).done)' "$tmp/load.json")
refused=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).refused)' "$tmp/load.json")
succ=$(awk '/^glimp:request_success_total\{finished_reason="(stop|length)"\}/ {s += $2} END {print s}' "$tmp/metrics")
rej=$(awk '/^glimp:request_rejected_total / {print $2}' "$tmp/metrics")
check "metrics: successes = completed ($succ = $done_n)" test "$succ" = "$done_n"
check "metrics: rejected = refused ($rej = $refused)" test "$rej" = "$refused"
check "graceful stop" serve_stop
finish
