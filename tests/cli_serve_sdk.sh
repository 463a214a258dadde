#!/usr/bin/env bash
# cli_serve_sdk.sh - the official OpenAI client (tests/oracle/serve_openai.mjs)
# against glimp serve on the demo pair: models, chat whole and streamed, a
# continued message with chat logprobs, routing fields, completions with
# logprobs and token-id prompts, and the SDK's error classes for a bad key
# and a bad parameter.
# usage: cli_serve_sdk.sh GLIMP_BINARY TEST_DATA_DIR
set -u
glimp=$1
. "$(dirname "$0")/lib/cli.sh"
. "$(dirname "$0")/lib/serve.sh"
need_node
oracle=$(cd "$(dirname "$0")/oracle" && pwd)
if [ ! -d "$oracle/node_modules/openai" ]; then
    echo "FAIL: the npm openai client is missing (run scripts/setup.sh)"; echo "0 passed, 1 failed"; exit 1
fi
demo=$(cd "$(dirname "$0")/../models/demo" && pwd)
problem=$(head -n 1 "$demo/taskA.jsonl" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).problem))')
serve_start sdk --slm "$demo/small.gguf" --llm "$demo/large.gguf" --temp 0 --max-think 512 \
    --max-step 48 --max-answer 16 -t 1 --api-key sk-glimp-test || { finish; exit 1; }
node "$oracle/serve_openai.mjs" "$base" sk-glimp-test "$problem" >"$tmp/sdk.out" 2>&1
rc=$?
cat "$tmp/sdk.out"
check "openai client: every check" test $rc = 0
pass=$((pass + $(grep -c '^ok ' "$tmp/sdk.out")))
check "graceful stop" serve_stop
finish
