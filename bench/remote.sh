#!/usr/bin/env bash
# remote.sh - the same pair run locally and through a server (a benchmark,
# not a test): starts SERVER on the LLM (and, with -b, on the SLM) on free
# 127.0.0.1 ports, runs `glimp run --json` locally and remotely with the
# same greedy settings, and prints
#   (a) steps and writers of both runs, whether they agree token for token,
#       the probe's top-1 agreement and max |dH_init| against the local run;
#   (b) requests per step and model, streams closed early (the probe's when
#       the LLM writes), for the streamed probe and for the reference code's
#       probe-then-write pattern (--remote-probe request), with the wall
#       time of each;
#   (c) the latency split of the remote run: wall, SLM, LLM, sync, and the
#       network figures (time to first bytes, time streaming);
#   (d) eager sync against lazy and against the ideal mix: the remote run's
#       wall with --remote-sync eager and lazy, and what its tokens would
#       cost at each model's own speed (tokens_slm x the SLM alone's time per
#       token + tokens_llm x the LLM alone's: the time charged to the model
#       over the tokens it wrote, with policy slm and policy llm through the
#       same set-up).
#
#   bench/remote.sh [-s SERVER] [-a ARGS] [-b] [-n THINK] [-m STEP] [-p PROMPT] SLM.gguf LLM.gguf
#
# THINK: thinking budget (512), STEP: tokens per step (64); answer 32.
#
# SERVER: a llama-server binary you built yourself (the script never builds
# one; it is started as `SERVER -m LLM.gguf --port P -c 4096 ARGS`), or
# "glimp" (default: glimp serve -m, the same engine as the local run). ARGS:
# more arguments for SERVER, split at spaces (`-a "-t 1"` keeps llama-server
# to one thread on a shared machine). -b puts the SLM behind a server too.
# BUILD_DIR (default build) holds glimp. Needs node and curl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
glimp=${BUILD_DIR:-$root/build}/glimp
server=glimp server_args="" both=0 think=512 step=64 prompt="How many positive divisors does 2024 have?"
while getopts "s:a:bn:m:p:h" o; do
    case $o in
    s) server=$OPTARG ;;
    a) server_args=$OPTARG ;;
    b) both=1 ;;
    n) think=$OPTARG ;;
    m) step=$OPTARG ;;
    p) prompt=$OPTARG ;;
    *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
slm=$1 llm=$2
tmp=$(mktemp -d)
# start runs in a command substitution (a subshell): the servers' pids go
# through a file, or the trap would find none and leave them running
cleanup() {
    local p
    while read -r p; do kill "$p" 2>/dev/null; done <"$tmp/pids"
    rm -rf "$tmp"
}
trap cleanup EXIT
: >"$tmp/pids"

free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'; }
# start MODEL: a server on MODEL; prints its URL
start() {
    local port
    port=$(free_port)
    if [ "$server" = glimp ]; then
        # shellcheck disable=SC2086 # ARGS is split on purpose
        "$glimp" serve -m "$1" --port "$port" $server_args >"$tmp/server-$port.log" 2>&1 &
    else
        # shellcheck disable=SC2086
        "$server" -m "$1" --port "$port" -c 4096 $server_args >"$tmp/server-$port.log" 2>&1 &
    fi
    echo "$!" >>"$tmp/pids"
    for _ in $(seq 1 600); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ] && break
        sleep 0.1
    done
    echo "http://127.0.0.1:$port/v1"
}
llm_url=$(start "$llm")
slm_arg=$slm
[ $both = 1 ] && slm_arg=$(start "$slm")
common=(-p "$prompt" --temp 0 --max-think "$think" --max-step "$step" --max-answer 32
    --policy random --share 0.3 --json --llm-vocab "$llm")
[ $both = 1 ] && common+=(--slm-vocab "$slm")

"$glimp" run --slm "$slm" --llm "$llm" "${common[@]}" >"$tmp/local.json" 2>/dev/null
"$glimp" run --slm "$slm_arg" --llm "$llm_url" "${common[@]}" >"$tmp/stream.json" 2>"$tmp/stream.err"
"$glimp" run --slm "$slm_arg" --llm "$llm_url" "${common[@]}" --remote-probe request \
    >"$tmp/request.json" 2>/dev/null
"$glimp" run --slm "$slm_arg" --llm "$llm_url" "${common[@]}" --remote-sync lazy \
    >"$tmp/lazy.json" 2>/dev/null
for alone in slm llm; do
    "$glimp" run --slm "$slm_arg" --llm "$llm_url" "${common[@]}" --policy "$alone" \
        >"$tmp/$alone.json" 2>/dev/null
done
cat "$tmp/stream.err"

node - "$tmp/local.json" "$tmp/stream.json" "$tmp/request.json" "$tmp/lazy.json" \
    "$tmp/slm.json" "$tmp/llm.json" <<'EOF'
const fs = require("fs");
const [l, s, r, lazy, sa, la] = process.argv.slice(2).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
const think = (j) => j.steps.filter((x) => x.phase === "think");
const ls = think(l), ss = think(s);
let top1 = 0, dh = 0, n = Math.min(ls.length, ss.length);
for (let i = 0; i < n; i++) {
    if (ls[i].writer === ss[i].writer && ls[i].text.split(/(?=\s)/)[0] === ss[i].text.split(/(?=\s)/)[0]) top1++;
    if (ls[i].h_init !== null && ss[i].h_init !== null) dh = Math.max(dh, Math.abs(ls[i].h_init - ss[i].h_init));
}
const same = JSON.stringify([l.reasoning, l.answer]) === JSON.stringify([s.reasoning, s.answer]);
console.log(`(a) steps: local ${ls.length} (llm ${l.summary.steps_llm}), remote ${ss.length} (llm ${s.summary.steps_llm}); same text: ${same}`);
console.log(`    probe: first token and writer agree on ${top1} of ${n} steps; max |dH_init| ${dh.toExponential(2)}`);
const per = (j, w) => (j.network && j.network[w] ? j.network[w] : null);
for (const [name, j] of [["streamed probe", s], ["probe request (reference)", r]]) {
    const st = j.steps.length;
    const parts = ["slm", "llm"].filter((w) => per(j, w)).map((w) =>
        `${w} ${per(j, w).requests} requests (${(per(j, w).requests / st).toFixed(2)}/step, ${per(j, w).aborted} closed early)`);
    console.log(`(b) ${name}: ${st} steps, ${parts.join(", ")}, wall ${j.summary.wall_s.toFixed(3)} s`);
}
const m = s.summary, net = ["slm", "llm"].filter((w) => per(s, w));
console.log(`(c) wall ${m.wall_s.toFixed(3)} s: slm ${m.slm_s.toFixed(3)}, llm ${m.llm_s.toFixed(3)}, sync ${m.sync_s.toFixed(3)}, router ${m.overhead_s.toFixed(3)}` +
    net.map((w) => `; ${w} network: ${per(s, w).first_byte_s.toFixed(3)} s to first bytes, ${per(s, w).stream_s.toFixed(3)} s streaming`).join(""));
console.log(`    local wall ${l.summary.wall_s.toFixed(3)} s`);
// a model's time per token alone: the time charged to it over the tokens
// it wrote, in the run where it wrote every step
const tslm = sa.summary.slm_s / sa.summary.tokens_slm, tllm = la.summary.llm_s / la.summary.tokens_llm;
const ideal = m.tokens_slm * tslm + m.tokens_llm * tllm;
console.log(`(d) eager sync ${m.wall_s.toFixed(3)} s (${s.network.llm.prefills} prefills, ${s.network.llm.prefill_wait_s.toFixed(3)} s waited), ` +
    `lazy ${lazy.summary.wall_s.toFixed(3)} s, ideal mix ${ideal.toFixed(3)} s ` +
    `(${m.tokens_slm} SLM tokens at ${(tslm * 1e3).toFixed(2)} ms, ${m.tokens_llm} LLM tokens at ${(tllm * 1e3).toFixed(2)} ms): ` +
    `eager/ideal ${(m.wall_s / ideal).toFixed(3)}, lazy/ideal ${(lazy.summary.wall_s / ideal).toFixed(3)}`);
EOF
