#!/usr/bin/env bash
# engine_vs_llamacpp.sh - glimp bench and llama-bench side by side on the
# same GGUF files, same threads, interleaved in one run, so that a noisy
# neighbour hits both alike. Prints both tables and the ratio glimp/llama.cpp
# per test. llama.cpp is not part of glimp: point LLAMA_BENCH at a
# llama-bench you built yourself (an AVX2 build compares like with like).
#
#   LLAMA_BENCH=/path/to/llama-bench bench/engine_vs_llamacpp.sh [-t 2] [-r 3] MODEL.gguf...
#
# BUILD_DIR (default build) holds glimp.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
glimp=${BUILD_DIR:-$root/build}/glimp
threads=2
reps=3
models=()
while [ $# -gt 0 ]; do
    case $1 in
    -t) threads=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) models+=("$1"); shift ;;
    esac
done
[ ${#models[@]} -gt 0 ] || { echo "engine_vs_llamacpp.sh: no model given" >&2; exit 2; }
[ -x "${LLAMA_BENCH:-}" ] || { echo "engine_vs_llamacpp.sh: set LLAMA_BENCH to a built llama-bench" >&2; exit 2; }
[ -x "$glimp" ] || { echo "engine_vs_llamacpp.sh: $glimp not built" >&2; exit 2; }

# mean t/s of test $2 in a markdown table on stdin
tps() { awk -F'|' -v t="$1" '$0 ~ "[|] *"t" *[|]" { split($(NF-1), a, "±"); gsub(/ /, "", a[1]); print a[1] }'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in "${models[@]}"; do
    for test in "-p 512 -n 0" "-p 0 -n 128"; do
        g=$("$glimp" bench -m "$m" $test -t "$threads" -r "$reps")
        l=$("$LLAMA_BENCH" -m "$m" $test -t "$threads" -r "$reps" 2>/dev/null)
        echo "$g" | grep -E 'pp|tg' | grep -v -- '---'
        echo "$l" | grep -E 'pp|tg' | grep -v -- '---'
        name=$(echo "$test" | awk '{ if ($2 != "0") print "pp"$2; else print "tg"$4 }')
        gv=$(echo "$g" | tps "$name"); lv=$(echo "$l" | tps "$name")
        awk -v m="$(basename "$m")" -v n="$name" -v g="$gv" -v l="$lv" \
            'BEGIN { printf "RATIO %s %s glimp %.2f llama.cpp %.2f ratio %.2f\n", m, n, g, l, g / l }'
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
