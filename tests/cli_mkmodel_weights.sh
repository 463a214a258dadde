#!/usr/bin/env bash
# cli_mkmodel_weights.sh - `glimp mkmodel --weights DIR`, the export path of
# tools/demo-train: a model from raw float32 files, quantized on request,
# and errors that name the tensor and both sizes.
# usage: cli_mkmodel_weights.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"

# qwen3, 1 layer, embd 32, 2 heads of 16, 1 KV head, ff 32, tied, the
# built-in vocabulary of 309 tokens: every tensor as zeros of its size
shape=(--layers 1 --embd 32 --heads 2 --kv-heads 1 --ff 32 --ctx 64 --tied)
w=$tmp/w
mkdir "$w"
put() { head -c $(($2 * 4)) /dev/zero >"$w/$1.f32"; }
put token_embd.weight $((32 * 309))
put blk.0.attn_norm.weight 32
put blk.0.attn_q.weight $((32 * 32))
put blk.0.attn_k.weight $((32 * 16))
put blk.0.attn_v.weight $((32 * 16))
put blk.0.attn_output.weight $((32 * 32))
put blk.0.attn_q_norm.weight 16
put blk.0.attn_k_norm.weight 16
put blk.0.ffn_norm.weight 32
put blk.0.ffn_gate.weight $((32 * 32))
put blk.0.ffn_up.weight $((32 * 32))
put blk.0.ffn_down.weight $((32 * 32))
put output_norm.weight 32

"$glimp" mkmodel -o "$tmp/m.gguf" "${shape[@]}" --weights "$w" >"$tmp/out" 2>"$tmp/err"
check "exit 0" test $? -eq 0
check "says where the weights came from" has "$tmp/out" "weights from $w"
"$glimp" inspect "$tmp/m.gguf" >"$tmp/insp" 2>&1
check "inspect reads it" grep -qE '^  blk\.0\.ffn_down\.weight +F32 ' "$tmp/insp"

"$glimp" mkmodel -o "$tmp/q.gguf" "${shape[@]}" --weights "$w" --type Q8_0 >"$tmp/out" 2>"$tmp/err"
check "Q8_0 exit 0" test $? -eq 0
"$glimp" inspect "$tmp/q.gguf" >"$tmp/insp" 2>&1
check "Q8_0 quantized" grep -qE '^  blk\.0\.attn_q\.weight +Q8_0 ' "$tmp/insp"
check "Q8_0 norms stay F32" grep -qE '^  blk\.0\.attn_norm\.weight +F32 ' "$tmp/insp"

# untied wants output.weight too
"$glimp" mkmodel -o "$tmp/u.gguf" "${shape[@]}" --untied --weights "$w" >"$tmp/out" 2>"$tmp/err"
check "untied without output.weight fails" test $? -ne 0
check "names the missing tensor" has "$tmp/err" "output.weight"
check "no file left" test ! -e "$tmp/u.gguf"

# a file of the wrong size: the tensor, the file size and the expected one
head -c 100 /dev/zero >"$w/blk.0.attn_k.weight.f32"
"$glimp" mkmodel -o "$tmp/b.gguf" "${shape[@]}" --weights "$w" >"$tmp/out" 2>"$tmp/err"
check "wrong size fails" test $? -ne 0
check "wrong size names the tensor" has "$tmp/err" "blk.0.attn_k.weight"
check "wrong size says both sizes" grep -qE 'holds 100 bytes, expected 2048' "$tmp/err"

"$glimp" mkmodel -o "$tmp/b.gguf" "${shape[@]}" --weights "$tmp/nowhere" >"$tmp/out" 2>"$tmp/err"
check "missing folder fails" test $? -ne 0
check "missing folder names the first tensor" has "$tmp/err" "token_embd.weight"

"$glimp" mkmodel -o "$tmp/b.gguf" --weights >"$tmp/out" 2>"$tmp/err"
check "--weights needs a value" test $? -eq 2

printf 'cli_mkmodel_weights: '
finish
