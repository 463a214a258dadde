#!/usr/bin/env bash
# batched_vs_llamacpp.sh - aggregate decode speed of many sequences at once:
# `glimp bench --parallel` against llama.cpp's llama-batched-bench on the
# same GGUF file, thread count, prompt and generation lengths, each count of
# sequences run by both in turn (interleaved, so that a noisy neighbour hits
# both alike), REPS times; prints the medians side by side and the ratio
# glimp / llama.cpp. Each sequence has a prompt of its own (no -pps) and
# every decode step carries one token of each sequence, as both tools do.
# llama.cpp is not part of glimp and is never built here: pass the path of
# a llama-batched-bench you built yourself (an AVX2 build compares like with
# like; its KV cache stays at llama.cpp's default type, F16, glimp's is F32).
#
#   bench/batched_vs_llamacpp.sh [-t 2] [-r 3] [-p 128] [-n 128] [-l 1,2,4,8,16]
#                                /path/to/llama-batched-bench MODEL.gguf
#
# BUILD_DIR (default build) holds glimp.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
glimp=${BUILD_DIR:-$root/build}/glimp
threads=2 reps=3 npp=128 ntg=128 list=1,2,4,8,16
while getopts "t:r:p:n:l:h" o; do
    case $o in
    t) threads=$OPTARG ;;
    r) reps=$OPTARG ;;
    p) npp=$OPTARG ;;
    n) ntg=$OPTARG ;;
    l) list=$OPTARG ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { echo "batched_vs_llamacpp.sh: give LLAMA_BATCHED_BENCH and MODEL.gguf" >&2; exit 2; }
llama=$1 model=$2
[ -x "$llama" ] || { echo "batched_vs_llamacpp.sh: $llama is not an executable (build llama.cpp yourself)" >&2; exit 2; }
[ -x "$glimp" ] || { echo "batched_vs_llamacpp.sh: $glimp not built" >&2; exit 2; }
[ -f "$model" ] || { echo "batched_vs_llamacpp.sh: no model $model" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# glimp's markdown row: | model | threads | P | test | pp t/s | tg t/s | ...
glimp_rates() { awk -F'|' 'NR > 2 && $4 ~ /[0-9]/ { split($6, a, "±"); split($7, b, "±"); gsub(/ /, "", a[1]); gsub(/ /, "", b[1]); print a[1], b[1] }'; }
# llama-batched-bench's row: | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | ...
llama_rates() { awk -F'|' -v p="$1" '$4 + 0 == p && $2 ~ /[0-9]/ { gsub(/ /, "", $7); gsub(/ /, "", $9); print $7, $9 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $threads threads; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
IFS=, read -r -a counts <<< "$list"
for r in $(seq "$reps"); do
    for p in "${counts[@]}"; do
        "$glimp" bench -m "$model" --parallel "$p" -p "$npp" -n "$ntg" -t "$threads" -r 1 |
            glimp_rates >> "$out/glimp.$p"
        "$llama" -m "$model" -c $((p * (npp + ntg))) -b 2048 -ub 512 -npp "$npp" -ntg "$ntg" \
            -npl "$p" -t "$threads" -tb "$threads" 2>/dev/null | llama_rates "$p" >> "$out/llama.$p"
    done
    echo "repetition $r of $reps done" >&2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "$(basename "$model"), prompt $npp and $ntg generated tokens per sequence, median of $reps runs (t/s)"
echo
echo "| sequences | glimp decode (all) | llama.cpp decode (all) | ratio | glimp prompt | llama.cpp prompt |"
echo "|---:|---:|---:|---:|---:|---:|"
for p in "${counts[@]}"; do
    gt=$(cut -d' ' -f2 "$out/glimp.$p" | median); lt=$(cut -d' ' -f2 "$out/llama.$p" | median)
    gp=$(cut -d' ' -f1 "$out/glimp.$p" | median); lp=$(cut -d' ' -f1 "$out/llama.$p" | median)
    awk -v p="$p" -v gt="$gt" -v lt="$lt" -v gp="$gp" -v lp="$lp" \
        'BEGIN { printf "| %d | %.2f | %.2f | %.2fx | %.2f | %.2f |\n", p, gt, lt, (lt > 0 ? gt / lt : 0), gp, lp }'
done
