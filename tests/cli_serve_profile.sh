#!/usr/bin/env bash
# cli_serve_profile.sh - glimp serve with routing profiles: --profile FILE sets
# the defaults, --profile NAME=FILE adds a model glimp:NAME that routes with
# that profile (listed in /v1/models, equal to the same settings given as a
# method name), and a bad profile or name stops the server before it starts.
#   cli_serve_profile.sh GLIMP TESTDATA
set -u
glimp=$1
. "$(dirname "$0")/lib/cli.sh"
. "$(dirname "$0")/lib/serve.sh"
need_node
demo=$(cd "$(dirname "$0")/../models/demo" && pwd)
pair=(--slm "$demo/small.gguf" --llm "$demo/large.gguf")
problem=$(node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").split("\n")[0]; console.log(JSON.parse(l).problem)' "$demo/taskA.jsonl")

# a profile as glimp tune writes one: every field, on the demo pair's hashes
# left out (no pair: no warning either way)
cat >"$tmp/always.json" <<'J'
{"glimp_profile": 1, "name": "always", "policy": "glimp", "signal": "hinit", "tau": "-inf",
 "max_step": 48, "max_answer": 16}
J
cat >"$tmp/never.json" <<'J'
{"glimp_profile": 1, "name": "never", "policy": "glimp", "tau": "inf", "max_step": 48,
 "max_answer": 16}
J
cat >"$tmp/bad.json" <<'J'
{"glimp_profile": 1, "policy": "sometimes"}
J

serve_start prof "${pair[@]}" -t 1 --temp 0 --max-think 256 --max-step 48 --max-answer 16 \
    --profile "always=$tmp/always.json" --profile "never=$tmp/never.json" || { finish; exit 1; }
curl -s "$base/v1/models" >"$tmp/models.json"
check "models: lists the profiles" js "$tmp/models.json" \
    'j.data.map((m) => m.id).join(",") === "glimp,slm,llm,glimp:always,glimp:never"'
chat() { # MODEL -> $tmp/MODEL.json
    post /v1/chat/completions "$(node -e 'console.log(JSON.stringify({model: process.argv[1],
        max_tokens: 4096, messages: [{role: "user", content: process.argv[2]}]}))' "$1" "$problem")" \
        >"$tmp/status"
    cp "$tmp/body" "$tmp/$1.json"
}
chat "glimp:always"
check "glimp:always: 200" same "$(cat "$tmp/status")" 200
check "glimp:always: every step by the LLM" js "$tmp/glimp:always.json" \
    'j.glimp.steps.length > 1 && j.glimp.steps.every((s) => s.writer === "llm")'
chat "glimp:never"
check "glimp:never: every thinking step by the SLM" js "$tmp/glimp:never.json" \
    'j.glimp.steps.filter((s) => s.phase !== "answer").every((s) => s.writer === "slm")'
chat "glimp:tau=-inf"
check "a profile routes as the same settings named in the model" js "$tmp/glimp:always.json" \
    "j.choices[0].message.content === $(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).choices[0].message.content))' "$tmp/glimp:tau=-inf.json")"
chat "glimp:nosuch"
check "an unknown profile: 400" same "$(cat "$tmp/status")" 400
serve_stop
check "stopped: exit 0" test $? -eq 0
check "log: names each profile" has "$tmp/prof.log" "model glimp:always routes with profile"

# the unnamed profile sets the defaults; the options override it
serve_start dflt "${pair[@]}" -t 1 --temp 0 --max-think 256 --max-answer 16 \
    --profile "$tmp/always.json" || { finish; exit 1; }
chat "glimp"
check "--profile FILE: the defaults route as the profile" js "$tmp/glimp.json" \
    'j.glimp.steps.every((s) => s.writer === "llm")'
serve_stop

"$glimp" serve --port 0 "${pair[@]}" --profile "x=$tmp/bad.json" >"$tmp/bad.log" 2>&1
check "a bad profile: exit 1" test $? -eq 1
check "a bad profile: names the field" has "$tmp/bad.log" "policy"
"$glimp" serve --port 0 "${pair[@]}" --profile "x=$tmp/always.json" --profile "x=$tmp/never.json" \
    >"$tmp/twice.log" 2>&1
check "a name given twice: usage error" test $? -eq 2
finish
