#!/usr/bin/env bash
# serve_overhead.sh - what glimp serve itself costs per generated token: the
# same greedy prompt, the same models and -t, one request at a time, timed
# as `glimp run --json` reports its generation (summary.wall_s, model
# loading excluded) and as a client sees the server (curl's time_total, a
# whole answer and a stream). Runs are interleaved (run, chat, stream, run,
# ...) so that drift in the machine hits all three alike; medians are
# compared. Both sides write the same tokens (checked), so per token and
# per request agree.
# usage: bench/serve_overhead.sh [--slm PATH --llm PATH] [-t N] [-n REPS]
#                                [--glimp BIN] [--prompt TEXT] [-- ROUTER OPTIONS...]
#   defaults: the demo pair, -t 1, 7 repetitions, build/werror/glimp, the
#   first problem of models/demo/taskA.jsonl;
#   ROUTER OPTIONS go to both glimp run and glimp serve (--max-think 64 ...)
set -euo pipefail
cd "$(dirname "$0")/.."
glimp=build/werror/glimp
slm=models/demo/small.gguf
llm=models/demo/large.gguf
threads=1
reps=7
extra=()
prompt=
while [ $# -gt 0 ]; do
    case $1 in
    --slm) slm=$2; shift 2 ;;
    --llm) llm=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -n) reps=$2; shift 2 ;;
    --glimp) glimp=$2; shift 2 ;;
    --prompt) prompt=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: $0 [--slm PATH --llm PATH] [-t N] [-n REPS] [--glimp BIN] [--prompt TEXT] [-- ROUTER OPTIONS]" >&2; exit 2 ;;
    esac
done
command -v node >/dev/null || { echo "node is needed" >&2; exit 1; }
tmp=$(mktemp -d)
spid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$tmp"' EXIT
[ -n "$prompt" ] || prompt=$(head -n 1 models/demo/taskA.jsonl | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).problem))')
opts=(--temp 0 -t "$threads" "${extra[@]}")

"$glimp" serve --port 0 --slm "$slm" --llm "$llm" "${opts[@]}" -np 1 >"$tmp/serve.log" 2>&1 &
spid=$!
port=
for _ in $(seq 600); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/serve.log")
    [ -n "$port" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ] && break
    sleep 0.1
done
base=http://127.0.0.1:$port
body() { node -e 'console.log(JSON.stringify({messages: [{role: "user", content: process.argv[1]}], temperature: 0, stream: process.argv[2] === "1"}))' "$prompt" "$1"; }
body 0 >"$tmp/chat.json"
body 1 >"$tmp/stream.json"

run_once() { /usr/bin/time -f '%U %S' -o "$tmp/run.cpu" "$glimp" run --slm "$slm" --llm "$llm" "${opts[@]}" -p "$prompt" --json 2>/dev/null >"$tmp/run.out"; }
chat_once() { curl -s -o "$tmp/chat.out" -w '%{time_total}' -H 'Content-Type: application/json' --data-binary @"$tmp/chat.json" "$base/v1/chat/completions"; }
stream_once() { curl -s -N -o "$tmp/stream.out" -w '%{time_total}' -H 'Content-Type: application/json' --data-binary @"$tmp/stream.json" "$base/v1/chat/completions"; }

# warm-up: page the weights in, first allocations
run_once; chat_once >/dev/null; stream_once >/dev/null
: >"$tmp/rows"
# the server's CPU time (user + system, in clock ticks) from /proc
ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
hz=$(getconf CLK_TCK)
for i in $(seq "$reps"); do
    run_once
    k0=$(ticks)
    c=$(chat_once)
    k1=$(ticks)
    s=$(stream_once)
    k2=$(ticks)
    node -e '
        const fs = require("fs"), [dir, c, s, k0, k1, k2, hz] = process.argv.slice(1);
        const [ru, rs] = fs.readFileSync(dir + "/run.cpu", "utf8").trim().split(/\s+/).slice(-2).map(Number);
        const r = JSON.parse(fs.readFileSync(dir + "/run.out")), a = JSON.parse(fs.readFileSync(dir + "/chat.out"));
        const tok = x => x.tokens_slm + x.tokens_llm;
        const st = fs.readFileSync(dir + "/stream.out", "utf8").split("\n\n").filter(e => e.startsWith("data: {"))
            .map(e => JSON.parse(e.slice(6))).filter(e => e.glimp && e.glimp.summary).pop();
        const same = a.choices[0].message.content === r.answer && a.choices[0].message.reasoning_content === r.reasoning &&
            tok(a.glimp.summary) === tok(r.summary) && st && tok(st.glimp.summary) === tok(r.summary);
        console.log(JSON.stringify({tokens: tok(r.summary), run_s: r.summary.wall_s, chat_s: +c, stream_s: +s,
                                    server_wall_s: a.glimp.summary.wall_s, stream_wall_s: st ? st.glimp.summary.wall_s : NaN,
                                    run_cpu_s: ru + rs, chat_cpu_s: (k1 - k0) / hz, stream_cpu_s: (k2 - k1) / hz, same}));' \
        "$tmp" "$c" "$s" "$k0" "$k1" "$k2" "$hz" >>"$tmp/rows"
done
kill "$spid"; wait "$spid" 2>/dev/null || true; spid=

node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
    const med = a => { a = [...a].sort((x, y) => x - y); const m = a.length >> 1; return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2; };
    const n = rows[0].tokens, us = x => (x / n * 1e6).toFixed(1), pct = x => ((x - 1) * 100).toFixed(2) + " %";
    const col = k => rows.map(r => r[k]), min = a => Math.min(...a);
    console.log(`${rows.length} interleaved repetitions, ${n} tokens each, outputs identical: ${rows.every(r => r.same && r.tokens === n)}`);
    console.log("                                  median us/token   min us/token   overhead: median of paired ratios, ratio of minima");
    const line = (name, k) => console.log(`${name.padEnd(34)}${us(med(col(k))).padStart(14)}${us(min(col(k))).padStart(15)}` +
        (k.startsWith("run_") ? "" : `   ${pct(med(rows.map(r => r[k] / r.run_s))).padStart(9)}   ${pct(min(col(k)) / min(col("run_s"))).padStart(9)}`));
    line("glimp run (summary.wall_s)", "run_s");
    line("serve, router inside (wall_s)", "server_wall_s");
    line("serve, whole answer (client)", "chat_s");
    line("serve, streamed, router inside", "stream_wall_s");
    line("serve, streamed (client)", "stream_s");
    console.log("CPU time (user + system, 10 ms ticks; for glimp run, the whole process, loading included):");
    line("glimp run, process CPU", "run_cpu_s");
    const line2 = (name, k) => console.log(`${name.padEnd(34)}${us(med(col(k))).padStart(14)}${us(min(col(k))).padStart(15)}` +
        `   ${pct(med(col(k)) / med(col("run_cpu_s"))).padStart(9)}   ${pct(min(col(k)) / min(col("run_cpu_s"))).padStart(9)}`);
    line2("serve, whole answer, server CPU", "chat_cpu_s");
    line2("serve, streamed, server CPU", "stream_cpu_s");
    if (!rows.every(r => r.same)) process.exit(1);' "$tmp/rows"
