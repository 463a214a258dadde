#!/usr/bin/env bash
# cli_bench.sh - `glimp bench --bandwidth` and `--profile` as a person runs
# them: a positive read bandwidth (best and median of the reads), decode as
# a share of it in the table and the JSON rows (its figures agreeing with
# one another and with the bytes a decode reads), the kernel table named,
# the per-phase profile adding up to no more than the runs' time, and clear
# usage errors.
# usage: cli_bench.sh GLIMP TESTDATA_DIR
set -u
glimp=$1
# shellcheck source=SCRIPTDIR/lib/cli.sh
. "$(dirname "$0")/lib/cli.sh"

need_node

# near A B R: two numbers agree within a relative tolerance R (or 0.01 absolute)
near() {
    awk -v a="$1" -v b="$2" -v r="$3" \
        'BEGIN { d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); exit !(d <= r * m || d <= 0.01) }' ||
        { echo "  $1 vs $2"; false; }
}
positive() { awk -v x="$1" 'BEGIN { exit !(x > 0) }' || { echo "  not positive: '$1'"; false; }; }

# --- the bandwidth alone: one line, best >= median > 0
"$glimp" bench --bandwidth --bandwidth-size 64 -t 2 -r 1 >"$tmp/bw" 2>"$tmp/err"
check "bandwidth alone exit 0" test $? -eq 0
check "bandwidth alone: one line" test "$(wc -l <"$tmp/bw")" -eq 1
re='^read bandwidth: 2 threads, 64 MiB, 5 reads: best ([0-9.]+) GB/s, median ([0-9.]+) GB/s$'
check "bandwidth line" grep -qE "$re" "$tmp/bw"
best=$(sed -nE "s#$re#\1#p" "$tmp/bw")
median=$(sed -nE "s#$re#\2#p" "$tmp/bw")
check "bandwidth positive" positive "$median"
check "best >= median" awk -v b="$best" -v m="$median" 'BEGIN { exit !(b >= m) }'

"$glimp" bench --bandwidth --bandwidth-size 64 -t 1 -r 7 -o json >"$tmp/bw.json" 2>"$tmp/err"
check "bandwidth alone -o json exit 0" test $? -eq 0
check "bandwidth alone -o json: best and median of the reads" js "$tmp/bw.json" '
    const r = j[0], s = r.read_bw_samples_gbs.slice().sort((a, b) => a - b);
    return j.length === 1 && r.n_threads === 1 && r.read_bw_bytes === 64 * 1048576 &&
        s.length === 7 && s[0] > 0 && r.read_bw_gbs === s[6] && r.read_bw_median_gbs === s[3];'

# --- with a model: decode as a share of the bandwidth
m=$tmp/m.gguf
"$glimp" mkmodel -o "$m" --type Q8_0 --untied --seed 3 >/dev/null 2>&1
check "mkmodel untied" test -f "$m"
"$glimp" mkmodel -o "$tmp/tied.gguf" --type Q8_0 --tied --seed 3 >/dev/null 2>&1
check "mkmodel tied" test -f "$tmp/tied.gguf"

"$glimp" bench -m "$m" -p 16 -n 4 -r 2 -t 1 --bandwidth --bandwidth-size 32 >"$tmp/b" 2>"$tmp/err"
check "bench --bandwidth exit 0" test $? -eq 0
check "bench --bandwidth: quiet on stderr" test ! -s "$tmp/err"
check "bench --bandwidth: the bandwidth first" \
    grep -qE '^read bandwidth: 1 threads, 32 MiB, 5 reads: best [0-9.]+ GB/s, median [0-9.]+ GB/s$' \
    <(head -n 1 "$tmp/b")
best=$(sed -nE 's#^read bandwidth: .* best ([0-9.]+) GB/s.*#\1#p' "$tmp/b")
check "bench --bandwidth header" grep -qE \
    '^\| model +\| +size \| +params \| threads \| +test \| +t/s \| +MB/token \| +GB/s \| +% of bw \|$' "$tmp/b"
check "bench --bandwidth alignment row" grep -qE \
    '^\| -+ \| -+: \| -+: \| -+: \| -+: \| -+: \| -+: \| -+: \| -+: \|$' "$tmp/b"
check "bench --bandwidth pp row: no share" grep -qE \
    '^\| qwen3 \?B Q8_0 +\| .* \| +pp16 \| +[0-9.]+ ± [0-9.]+ \| +- \| +- \| +- \|$' "$tmp/b"
tg='^\| qwen3 \?B Q8_0 +\| .* \| +tg4 \| +([0-9.]+) ± [0-9.]+ \| +([0-9.]+) \| +([0-9.]+) \| +([0-9.]+)% \|$'
check "bench --bandwidth tg row" grep -qE "$tg" "$tmp/b"
ts=$(sed -nE "s/$tg/\1/p" "$tmp/b")
mb=$(sed -nE "s/$tg/\2/p" "$tmp/b")
gbs=$(sed -nE "s/$tg/\3/p" "$tmp/b")
pct=$(sed -nE "s/$tg/\4/p" "$tmp/b")
check "tg row: MB/token positive" positive "$mb"
# (MB/token is rounded to 0.01: GB/s lies within t/s x (MB/token +- 0.005))
check "tg row: GB/s = t/s x MB/token" awk -v t="$ts" -v m="$mb" -v g="$gbs" \
    'BEGIN { exit !(g >= t * (m - 0.005) / 1000 - 0.006 && g <= t * (m + 0.005) / 1000 + 0.006) }' 
check "tg row: % = GB/s / best read bandwidth" near "$pct" "$(awk -v g="$gbs" -v b="$best" 'BEGIN { print g / b * 100 }')" 0.01
dl='^decode reads ([0-9.]+) MB/token \(.*\): ([0-9.]+) GB/s = ([0-9.]+)% of the measured read bandwidth \(best ([0-9.]+) GB/s\)$'
check "decode line" grep -qE "$dl" "$tmp/b"
check "decode line agrees with the row" same "$(sed -nE "s#$dl#\1 \2 \3 \4#p" "$tmp/b")" "$mb $gbs $pct $best"
check "bench names the kernels that ran" grep -qE '^kernels: [a-z0-9]+ \(GLIMP_KERNELS names another\)$' "$tmp/b"
GLIMP_KERNELS=scalar "$glimp" bench -m "$m" -p 0 -n 1 -r 1 -t 1 >"$tmp/bs" 2>"$tmp/err"
check "GLIMP_KERNELS=scalar: bench says scalar" has "$tmp/bs" "kernels: scalar ("

# the bytes a decode reads: all tensors but 255 of the 256 embedding rows
# (64 wide Q8_0: 2 blocks of 34 bytes) untied; all of them tied
"$glimp" inspect "$m" >"$tmp/inspect" 2>&1
n_vocab=$(sed -nE 's/^vocabulary: +([0-9]+) tokens.*/\1/p' "$tmp/inspect")
check "vocabulary size read" positive "${n_vocab:-0}"
"$glimp" bench -m "$m" -p 16 -n 4 -r 2 -t 1 --bandwidth --bandwidth-size 32 -o json \
    >"$tmp/b.json" 2>"$tmp/err"
check "bench --bandwidth -o json exit 0" test $? -eq 0
check "bench --bandwidth -o json: tg row's share" js "$tmp/b.json" "
    const [pp, tg] = j, V = ${n_vocab:-0};
    return j.length === 2 && pp.read_bw_gbs > 0 && !('decode_gbs' in pp) &&
        tg.read_bw_gbs === pp.read_bw_gbs && tg.read_bw_samples_gbs.length === 5 &&
        tg.decode_bytes_per_token === tg.model_size - (V - 1) * 68 &&
        Math.abs(tg.decode_gbs - tg.avg_ts * tg.decode_bytes_per_token / 1e9) <= 1e-9 * tg.decode_gbs &&
        Math.abs(tg.decode_bw_frac - tg.decode_gbs / tg.read_bw_gbs) <= 1e-9 * tg.decode_bw_frac &&
        typeof pp.kernels === 'string' && tg.kernels === pp.kernels;"
"$glimp" bench -m "$tmp/tied.gguf" -p 0 -n 2 -r 1 -t 1 --bandwidth --bandwidth-size 32 -o json \
    >"$tmp/t.json" 2>"$tmp/err"
check "tied: decode reads the whole file's tensors" js "$tmp/t.json" \
    'j.length === 1 && j[0].decode_bytes_per_token === j[0].model_size'

# --- the profile: a row per phase, adding up to no more than the runs
"$glimp" bench -m "$m" -p 16 -n 4 -r 2 -t 2 --profile >"$tmp/p" 2>"$tmp/err"
check "bench --profile exit 0" test $? -eq 0
check "bench --profile: the speed table first" grep -qE '^\| qwen3 \?B Q8_0 .* \| +tg4 \| ' "$tmp/p"
check "profile title" grep -qE '^profile: 2 threads, the 2 timed repetitions of each test' "$tmp/p"
check "profile header" grep -qE \
    '^\| phase +\| +pp16 ms/tok \| +% \| +waits \| +tg4 ms/tok \| +% \| +waits \|$' "$tmp/p"
# a phase: ms/token, share, the waits in its jobs (none of its own for the
# sync row and the sums)
num='[0-9]+\.[0-9]{4} \| +[0-9]+\.[0-9]%'
for ph in "activation quantization" "attention projections (q, k, v, o)" \
    "attention over the KV cache" "feed-forward (gate, up, SiLU, down)" \
    "norms, RoPE, biases, residuals" "output head (norm, logits)" \
    "decode call outside the pass"; do
    esc=$(printf '%s' "$ph" | sed 's/[()]/\\&/g')
    check "profile row: $ph" grep -qE "^\| $esc +\| +$num \| +[0-9.]+ \| +$num \| +[0-9.]+ \|$" "$tmp/p"
done
for ph in "thread hand-off and join waits" "sum of the phases"; do
    check "profile row: $ph" grep -qE "^\| $ph +\| +$num \| +- \| +$num \| +- \|$" "$tmp/p"
done
check "profile: the runs are 100%" grep -qE "^\| the runs \(bench clock\) +\| +[0-9.]+ \| 100\.0% \| +- \| +[0-9.]+ \| 100\.0% \| +- \|$" "$tmp/p"
sums=$(sed -nE 's/^\| sum of the phases +\| +[0-9.]+ \| +([0-9.]+)% \| +- \| +[0-9.]+ \| +([0-9.]+)% \| +- \|$/\1 \2/p' "$tmp/p")
check "profile: the phases cover 50-100% of the runs" \
    awk -v s="$sums" 'BEGIN { n = split(s, a, " "); exit !(n == 2 && a[1] >= 50 && a[1] <= 100 && a[2] >= 50 && a[2] <= 100) }'

"$glimp" bench -m "$m" -p 16 -n 4 -r 3 -t 2 --profile -o json >"$tmp/p.json" 2>"$tmp/err"
check "bench --profile -o json exit 0" test $? -eq 0
check "bench --profile -o json: phases within the runs' time" js "$tmp/p.json" '
    const names = ["quantize", "attn_proj", "attention", "ffn", "elementwise", "output", "sync", "other"];
    return j.length === 2 && j.every(r => {
        const p = r.profile, v = Object.values(p.phases_s);
        const sum = v.reduce((a, b) => a + b, 0);
        const waits = Object.values(p.waits_s).reduce((a, b) => a + b, 0);
        const wall = r.samples_ns.reduce((a, b) => a + b, 0) / 1e9;
        return JSON.stringify(Object.keys(p.phases_s)) === JSON.stringify(names) &&
            p.n_tokens === 3 * (r.n_prompt + r.n_gen) && v.every(x => x >= 0) &&
            p.phases_s.ffn > 0 && p.phases_s.attention > 0 && p.phases_s.output > 0 &&
            Math.abs(p.wall_s - wall) < 1e-6 && sum <= p.wall_s * (1 + 1e-9) && sum >= 0.5 * p.wall_s &&
            JSON.stringify(Object.keys(p.waits_s)) === JSON.stringify(names) &&
            Math.abs(waits - p.phases_s.sync) <= 1e-9 && p.waits_s.sync === 0;
    });'

# --- the profile of many sequences: the decode steps of each count, every
# decoded token of every sequence counted once
"$glimp" bench -m "$m" -p 8 -n 3 -r 2 -t 2 --parallel 1,3 --profile >"$tmp/pp" 2>"$tmp/err"
check "bench --parallel --profile exit 0" test $? -eq 0
check "parallel profile header" grep -qE \
    '^\| phase +\| +1 seq ms/tok \| +% \| +waits \| +3 seq ms/tok \| +% \| +waits \|$' "$tmp/pp"
check "parallel profile: the runs are 100%" grep -qE "^\| the runs \(bench clock\) +\| +[0-9.]+ \| 100\.0% \| +- \| +[0-9.]+ \| 100\.0% \| +- \|$" "$tmp/pp"
"$glimp" bench -m "$m" -p 8 -n 3 -r 2 -t 2 --parallel 1,3 --profile -o json >"$tmp/pp.json" 2>"$tmp/err"
check "bench --parallel --profile -o json: decode steps only" js "$tmp/pp.json" '
    return j.length === 2 && j.every(r => {
        const p = r.profile, sum = Object.values(p.phases_s).reduce((a, b) => a + b, 0);
        const wall = r.samples_ns.reduce((a, b) => a + b, 0) / 1e9;
        return p.n_tokens === 2 * r.n_parallel * r.n_gen &&
            Math.abs(p.wall_s - wall) < 1e-6 && sum <= p.wall_s * (1 + 1e-9) &&
            sum >= 0.5 * p.wall_s && p.phases_s.ffn > 0 && p.phases_s.output > 0;
    });'

# --- usage
want="--bandwidth-size '0'" usage_error "--bandwidth-size 0" "$glimp" bench --bandwidth --bandwidth-size 0
want="--bandwidth-size '70000'" usage_error "--bandwidth-size too large" \
    "$glimp" bench --bandwidth --bandwidth-size 70000
want="--bandwidth-size goes with --bandwidth" usage_error "--bandwidth-size alone" \
    "$glimp" bench -m "$m" --bandwidth-size 64
want="--profile needs a model" usage_error "--profile without -m" "$glimp" bench --profile --bandwidth
want="-m MODEL" usage_error "--profile alone" "$glimp" bench --profile
want="goes without --parallel" usage_error "--bandwidth with --parallel" \
    "$glimp" bench -m "$m" --parallel 2 --bandwidth
"$glimp" bench --help >"$tmp/out" 2>&1
for opt in --bandwidth --bandwidth-size --profile; do
    check "bench --help lists $opt" grep -qE -- "^ +$opt( |$)" "$tmp/out"
done

finish
