#!/usr/bin/env bash
# cli_inspect.sh - `glimp mkmodel` and `glimp inspect` as a person runs them:
# exit codes, what is printed where, and clear errors for bad files.
# usage: cli_inspect.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
data=$2
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"
lacks() { ! grep -qF -- "$2" "$1"; }

# a model glimp writes, inspected
"$glimp" mkmodel -o "$tmp/m.gguf" --arch qwen3 --layers 3 --embd 64 --heads 4 --kv-heads 2 \
    --ff 96 --ctx 2048 --type Q8_0 --seed 5 >"$tmp/mk.out" 2>"$tmp/mk.err"
check "mkmodel exit 0" test $? -eq 0
"$glimp" inspect "$tmp/m.gguf" >"$tmp/out" 2>"$tmp/err"
check "inspect exit 0" test $? -eq 0
check "inspect quiet on stderr" test ! -s "$tmp/err"
check "architecture" has "$tmp/out" "architecture:  qwen3"
check "context length" has "$tmp/out" "context:       2048 tokens"
check "shape" has "$tmp/out" "3 layers, 64 wide, 4 heads (2 KV), feed-forward 96"
check "Q8_0 summary line" grep -qE '^  Q8_0 +[0-9]+ tensors' "$tmp/out"
check "tensor listed" grep -qE '^  blk\.2\.ffn_down\.weight +Q8_0 +96 x 64 ' "$tmp/out"
check "vocab" grep -qE '^vocabulary: +[0-9]+ tokens, model gpt2, pre-tokenizer qwen2' "$tmp/out"
check "long array shortened" grep -qE 'tokenizer\.ggml\.tokens .*more\]$' "$tmp/out"
check "template shortened" grep -qE 'tokenizer\.chat_template .*\.\.\. \([0-9]+ bytes\)$' "$tmp/out"
"$glimp" inspect --full "$tmp/m.gguf" >"$tmp/full" 2>&1
check "--full prints whole arrays" lacks "$tmp/full" "more]"

# a file from another writer (llama.cpp's gguf-py): every tensor name appears
"$glimp" inspect "$data/ggml-ref.gguf" >"$tmp/ref" 2>&1
check "reference file exit 0" test $? -eq 0
for t in f32 f16 bf16 q8_0 q4_0 q4_k q5_k q6_k q5_0 q5_1; do
    check "reference tensor q.$t" grep -qE "^  q\.$t " "$tmp/ref"
done
check "reference u64 max" has "$tmp/ref" "18446744073709551615"
check "reference architecture" has "$tmp/ref" "architecture:  glimptest"

# bad files: non-zero exit, the error on stderr naming the file, nothing on stdout
size=$(stat -c %s "$tmp/m.gguf")
head -c $((size / 2)) "$tmp/m.gguf" >"$tmp/cut.gguf"
"$glimp" inspect "$tmp/cut.gguf" >"$tmp/out" 2>"$tmp/err"
check "truncated exit 1" test $? -eq 1
check "truncated nothing on stdout" test ! -s "$tmp/out"
check "truncated message" grep -qE "^glimp inspect: $tmp/cut.gguf: tensor '[^']+': data \[offset [0-9]+, [0-9]+ bytes\] past end of file \(size $((size / 2))\)$" "$tmp/err"
printf 'hello world, not a model' >"$tmp/text.gguf"
"$glimp" inspect "$tmp/text.gguf" >"$tmp/out" 2>"$tmp/err"
check "text file exit 1" test $? -eq 1
check "text file message" has "$tmp/err" "not a GGUF file: starts with 'hell'"
"$glimp" inspect "$tmp/missing.gguf" >"$tmp/out" 2>"$tmp/err"
check "missing file exit 1" test $? -eq 1
check "missing file message" has "$tmp/err" "$tmp/missing.gguf: cannot open: No such file or directory"
"$glimp" inspect "$tmp" >"$tmp/out" 2>"$tmp/err"
check "directory exit 1" test $? -eq 1
check "directory message" has "$tmp/err" "not a regular file"

# usage
"$glimp" inspect >"$tmp/out" 2>"$tmp/err"
check "no file exit 2" test $? -eq 2
"$glimp" inspect --bogus "$tmp/m.gguf" >"$tmp/out" 2>"$tmp/err"
check "unknown option exit 2" test $? -eq 2
check "unknown option named" has "$tmp/err" "unknown option '--bogus'"
"$glimp" inspect --help >"$tmp/out" 2>&1
check "help exit 0" test $? -eq 0
check "help text" has "$tmp/out" "usage: glimp inspect"
"$glimp" frobnicate >"$tmp/out" 2>"$tmp/err"
check "unknown command exit 2" test $? -eq 2
check "unknown command named" has "$tmp/err" "unknown command 'frobnicate'"

finish
