#!/usr/bin/env bash
# serve_vs_llamaserver.sh - glimp serve -m against llama.cpp's llama-server
# on the same GGUF file, slots and threads, as their clients see them: N
# concurrent streaming /v1/completions requests (distinct short prompts,
# greedy, max_tokens fixed) sent to each server in turn, rounds interleaved
# (the order swapped every round, so that a noisy neighbour hits both
# alike). Per request the time to first token (first chunk with text) and
# the total time; per round the aggregate generated tokens/s (tokens of all
# N requests over the round's wall time; tokens from the final chunk's
# usage, else one per chunk with text). Prints medians side by side and the
# ratios glimp / llama.cpp. Each round has prompts of its own, so that
# llama-server's prompt cache gains nothing from the round before.
# llama.cpp is not part of glimp and is never built here: pass the path of
# a llama-server you built yourself. Both servers listen on 127.0.0.1 only
# and are stopped on exit.
#
#   bench/serve_vs_llamaserver.sh [-np 16] [-t 2] [-r 3] [-n 64] [-c 256]
#                                 /path/to/llama-server MODEL.gguf
#   bench/serve_vs_llamaserver.sh --routed [-np 8] [-t 2] [-r 3] [-n 64] SLM.gguf LLM.gguf
#
#   -np N  slots of each server and requests of a round (llama-server gets
#          -c N x CTX, so each slot holds CTX tokens as glimp's -c CTX does)
#   -n N   max_tokens of each request; --timeout S bounds each request (300)
#   --routed  glimp alone (glimp serve --slm --llm, policy glimp, greedy,
#          budgets --max-think N --max-answer 16): N routed streaming chat
#          requests at once against the same N one after another, rounds
#          interleaved; prints the ratio at once / one after another.
#
# BUILD_DIR (default build) holds glimp. Needs node (18 or later) and curl.
# The environment reaches llama-server: on a machine shared with other
# work, OMP_WAIT_POLICY=passive keeps its OpenMP threads from spinning at
# barriers while a neighbour holds a core.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
glimp=${BUILD_DIR:-$root/build}/glimp
np=16 threads=2 reps=3 ntok=64 ctx=256 timeout=300 routed=0 np_set=0
usage() { sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    -np) np=$2; np_set=1; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    -n) ntok=$2; shift 2 ;;
    -c) ctx=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --routed) routed=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -eq 2 ] || { usage >&2; exit 2; }
[ "$routed" = 1 ] && [ "$np_set" = 0 ] && np=8
command -v node >/dev/null || { echo "serve_vs_llamaserver.sh: node is needed" >&2; exit 2; }
[ -x "$glimp" ] || { echo "serve_vs_llamaserver.sh: $glimp not built" >&2; exit 2; }
if [ "$routed" = 1 ]; then
    slm=$1 llm=$2
    for m in "$slm" "$llm"; do [ -f "$m" ] || { echo "serve_vs_llamaserver.sh: no model $m" >&2; exit 2; }; done
else
    llama=$1 model=$2
    [ -x "$llama" ] || { echo "serve_vs_llamaserver.sh: $llama is not an executable (build llama.cpp yourself)" >&2; exit 2; }
    [ -f "$model" ] || { echo "serve_vs_llamaserver.sh: no model $model" >&2; exit 2; }
fi

out=$(mktemp -d)
pids=()
# SIGTERM to both; each gets 15 s to go, then SIGKILL. glimp exits 0 on
# SIGTERM, so anything else is said; llama-server's exit is not checked.
stop() {
    local p rc
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
        rc=0; { wait "$p"; } 2>/dev/null || rc=$?
        [ "$p" = "${pids[0]}" ] && [ "$rc" != 0 ] && echo "serve_vs_llamaserver.sh: glimp serve exited $rc" >&2
    done
    rm -rf "$out"
}
trap stop EXIT
trap 'exit 130' INT TERM

# The clients: one round of N streaming requests, all at once or one after
# another, each bounded by a timeout; one line of JSON on stdout.
cat >"$out/client.mjs" <<'EOF'
const [base, kind, n, maxTokens, round, mode, timeoutS] = process.argv.slice(2);
const topics = ["the sea", "a lighthouse", "prime numbers", "bread", "a violin", "the moon",
    "winter", "a library", "trains", "bees", "a chess game", "rivers", "paper", "a comet",
    "gardens", "clocks"];
const prompt = i => `${topics[i % topics.length]}, round ${round} request ${i}: write about it.`;
const body = i => JSON.stringify(Object.assign(
    kind === "chat" ? { model: "glimp", messages: [{ role: "user", content: prompt(i) }] } // budgets: the server's
                    : { prompt: prompt(i), max_tokens: +maxTokens },
    { temperature: 0, stream: true, stream_options: { include_usage: true } }));
async function one(i, t0) {
    const r = { ttft: null, total: null, tokens: 0, text: "", error: null };
    const start = performance.now();
    try {
        const res = await fetch(`${base}/v1/${kind === "chat" ? "chat/completions" : "completions"}`, {
            method: "POST", headers: { "Content-Type": "application/json" }, body: body(i),
            signal: AbortSignal.timeout(+timeoutS * 1000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
        const dec = new TextDecoder();
        let buf = "", chunks = 0, usage = null;
        for await (const part of res.body) {
            buf += dec.decode(part, { stream: true });
            let k;
            while ((k = buf.indexOf("\n\n")) >= 0) {
                const ev = buf.slice(0, k); buf = buf.slice(k + 2);
                if (!ev.startsWith("data: {")) continue;
                const e = JSON.parse(ev.slice(6)), c = e.choices && e.choices[0];
                const t = c ? (c.text ?? c.delta?.content ?? c.delta?.reasoning_content ?? "") : "";
                if (t) {
                    if (r.ttft === null) r.ttft = (performance.now() - start) / 1000;
                    chunks++; r.text += t;
                }
                if (e.usage) usage = e.usage;
            }
        }
        r.tokens = usage ? usage.completion_tokens : chunks;
    } catch (e) { r.error = String(e.message || e); }
    r.total = (performance.now() - start) / 1000;
    r.end = (performance.now() - t0) / 1000;
    return r;
}
const t0 = performance.now(), reqs = [];
if (mode === "serial") for (let i = 0; i < +n; i++) reqs.push(await one(i, t0));
else reqs.push(...await Promise.all([...Array(+n).keys()].map(i => one(i, t0))));
console.log(JSON.stringify({ wall: (performance.now() - t0) / 1000, reqs }));
EOF

# medians of the rounds in files $2... by name $1 (sides), as a table
cat >"$out/summary.cjs" <<'EOF'
const fs = require("fs");
const [names, ...files] = process.argv.slice(2);
const med = a => { a = a.filter(x => x !== null).sort((x, y) => x - y); const m = a.length >> 1;
    return a.length === 0 ? NaN : a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2; };
const pct = (a, q) => { a = a.filter(x => x !== null).sort((x, y) => x - y);
    return a.length ? a[Math.min(a.length - 1, Math.ceil(q * a.length) - 1)] : NaN; };
const sides = names.split(",").map((name, s) => {
    const rounds = fs.readFileSync(files[s], "utf8").trim().split("\n").map(l => JSON.parse(l));
    const reqs = rounds.flatMap(r => r.reqs), errors = reqs.filter(q => q.error);
    return { name, rounds, errors,
        tps: med(rounds.map(r => r.reqs.reduce((a, q) => a + q.tokens, 0) / r.wall)),
        wall: med(rounds.map(r => r.wall)),
        ttft50: med(reqs.map(q => q.ttft)), ttft90: pct(reqs.map(q => q.ttft), 0.9),
        total50: med(reqs.map(q => q.total)), tokens: med(reqs.map(q => q.tokens)) };
});
const f = (x, d = 2) => Number.isFinite(x) ? x.toFixed(d) : "nan";
console.log(`| server | aggregate t/s | round wall (s) | TTFT p50 (s) | TTFT p90 (s) | request p50 (s) | tokens/request p50 | errors |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|---:|`);
for (const s of sides)
    console.log(`| ${s.name} | ${f(s.tps)} | ${f(s.wall)} | ${f(s.ttft50, 3)} | ${f(s.ttft90, 3)} | ${f(s.total50)} | ${s.tokens} | ${s.errors.length} |`);
for (const s of sides) for (const e of s.errors.slice(0, 3)) console.log(`${s.name} error: ${e.error}`);
if (sides.length === 2) {
    const [a, b] = sides;
    console.log(`\nratio ${a.name}/${b.name}: throughput ${f(a.tps / b.tps)}x, TTFT p50 ${f(a.ttft50 / b.ttft50)}x (below 1: ${a.name} answers first), round wall ${f(a.wall / b.wall)}x`);
    // the same greedy prompts: do the answers agree between the sides, round by round?
    let same = 0, all = 0;
    a.rounds.forEach((r, k) => r.reqs.forEach((q, i) => { all++; if (b.rounds[k] && b.rounds[k].reqs[i].text === q.text) same++; }));
    console.log(`identical texts ${a.name} vs ${b.name}: ${same} of ${all}`);
}
EOF

# start_server LOGFILE CMD... : runs it in the background, remembers its pid
start_server() {
    local log=$1; shift
    "$@" >"$log" 2>&1 &
    pids+=($!)
}
# wait_health URL PID LOG: until /health answers 200 (at most 600 s)
wait_health() {
    for _ in $(seq 6000); do
        kill -0 "$2" 2>/dev/null || { echo "serve_vs_llamaserver.sh: server exited:" >&2; tail -5 "$3" >&2; exit 1; }
        [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$1/health" || true)" = 200 ] && return 0
        sleep 0.1
    done
    echo "serve_vs_llamaserver.sh: $1 not healthy after 600 s" >&2; exit 1
}
# glimp's port: it picks a free one and prints it
glimp_port() {
    local p=
    for _ in $(seq 6000); do
        p=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -n 1)
        [ -n "$p" ] && { echo "$p"; return 0; }
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    echo "serve_vs_llamaserver.sh: glimp serve printed no port:" >&2; tail -5 "$1" >&2; exit 1
}
free_port() { node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
round() { # base kind mode round-number outfile
    node "$out/client.mjs" "$1" "$2" "$np" "$ntok" "$4" "$3" "$timeout" >>"$5"
}
# alternate "BASE KIND MODE OUTFILE" "BASE KIND MODE OUTFILE": $reps rounds
# of both, the order swapped each round, so that a noisy neighbour hits
# both alike
alternate() {
    local a b r
    read -r -a a <<<"$1"
    read -r -a b <<<"$2"
    for r in $(seq "$reps"); do
        if [ $((r % 2)) = 1 ]; then
            round "${a[@]:0:3}" "$r" "${a[3]}"; round "${b[@]:0:3}" "$r" "${b[3]}"
        else
            round "${b[@]:0:3}" "$r" "${b[3]}"; round "${a[@]:0:3}" "$r" "${a[3]}"
        fi
        echo "round $r of $reps done" >&2
    done
}

echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $threads threads; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "glimp: $glimp ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ', tree modified'))"
if [ "$routed" = 1 ]; then
    start_server "$out/glimp.log" "$glimp" serve --host 127.0.0.1 --port 0 --slm "$slm" --llm "$llm" \
        -np "$np" -t "$threads" --temp 0 --max-think "$ntok" --max-answer 16
    port=$(glimp_port "$out/glimp.log" "${pids[0]}")
    base=http://127.0.0.1:$port
    wait_health "$base" "${pids[0]}" "$out/glimp.log"
    round "$base" chat parallel 0 /dev/null # warm-up
    alternate "$base chat parallel $out/par" "$base chat serial $out/ser" # the same prompts both ways
    echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "$(basename "$slm") + $(basename "$llm"), $np routed streaming chat requests (greedy, --max-think $ntok --max-answer 16), -np $np -t $threads, median of $reps rounds"
    echo
    node "$out/summary.cjs" "$np at once,one after another" "$out/par" "$out/ser"
    exit 0
fi

lport=$(free_port)
start_server "$out/glimp.log" "$glimp" serve --host 127.0.0.1 --port 0 -m "$model" -np "$np" -t "$threads" -c "$ctx"
start_server "$out/llama.log" "$llama" --host 127.0.0.1 --port "$lport" -m "$model" -np "$np" -t "$threads" \
    -tb "$threads" -c $((np * ctx))
disown "${pids[1]}" # this llama-server aborts as it exits ("terminate called ..."): not news
gbase=http://127.0.0.1:$(glimp_port "$out/glimp.log" "${pids[0]}")
lbase=http://127.0.0.1:$lport
wait_health "$gbase" "${pids[0]}" "$out/glimp.log"
wait_health "$lbase" "${pids[1]}" "$out/llama.log"
round "$gbase" cmpl parallel 0 /dev/null; round "$lbase" cmpl parallel 0 /dev/null # warm-up
alternate "$gbase cmpl parallel $out/glimp" "$lbase cmpl parallel $out/llama"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "$(basename "$model"), $np streaming /v1/completions at once (greedy, max_tokens $ntok), -np $np -t $threads, $ctx tokens a slot, median of $reps rounds"
echo
node "$out/summary.cjs" "glimp,llama.cpp" "$out/glimp" "$out/llama"
