# shellcheck shell=bash
# tests/lib/remote.sh - what the remote tests share, after tests/lib/cli.sh
# and tests/lib/serve.sh: a fault proxy, what a run wrote and how it was
# routed, and the run matrix (every policy run all-local, then with each
# pairing of local and remote models, each run compared with the local one).
#   remote_matrix ROUTED CHECK_EXTRA
#     reads the arrays policies ("NAME|OPTIONS") and pairs ("NAME|MODEL
#     OPTIONS"), the local models $slm and $llm, and a function run NAME
#     ARGS... that writes $tmp/NAME.json and $tmp/NAME.err; ROUTED FILE
#     prints what must agree; CHECK_EXTRA LOCAL REMOTE LABEL (or "") adds
#     checks of its own to each pair.

remote_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# proxy_start UPSTREAM_PORT FAULT COUNT: a fault proxy
# (tests/oracle/fault_proxy.mjs) in front of a server; sets $proxy (its
# URL) and $proxy_log; injected FAULT: how many requests it spoiled
proxy_start() {
    n_proxies=$((${n_proxies:-0} + 1))
    proxy_log=$tmp/proxy-$n_proxies.log
    local out=$tmp/proxy-$n_proxies.out
    : >"$proxy_log"
    : >"$out"
    node "$remote_lib_dir/../oracle/fault_proxy.mjs" "$1" "$2" "$3" "$proxy_log" >"$out" 2>&1 &
    servers+=("$!")
    local i port=""
    for ((i = 0; i < 100; i++)); do
        port=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$out")
        [ -n "$port" ] && break
        sleep 0.05
    done
    proxy=http://127.0.0.1:$port/v1
}
injected() { grep -c " $1 " "$proxy_log"; }

# routed FILE: what a run wrote and how it was routed, H_init rounded (a
# server sends log-probabilities, the local engine entropies from logits:
# float rounding); routed_text FILE: the same without the token ids (text
# mode has none of the model's)
routed() {
    node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             const r = (x) => (x === null ? null : Math.round(x * 1e4) / 1e4);
             console.log(JSON.stringify([j.reasoning, j.answer, process.argv[2] ? null : j.ids,
               j.summary.think_end, j.steps.map((s) => [s.phase, s.writer, s.n_tokens, s.text,
               s.rewritten, r(s.h_init)])]));' "$1" "${2:-}"
}
routed_text() { routed "$1" text; }

remote_matrix() {
    local routed=$1 extra=$2 pol pname pair name rc want
    local -a pargs margs
    for pol in "${policies[@]}"; do
        pname=${pol%%|*}
        # shellcheck disable=SC2206 # the options split on spaces on purpose
        pargs=(${pol#*|})
        run "local-$pname" --slm "$slm" --llm "$llm" "${pargs[@]}"
        check "$pname local: exit 0" test $? -eq 0
        want=$("$routed" "$tmp/local-$pname.json")
        for pair in "${pairs[@]}"; do
            name=${pair%%|*}
            # shellcheck disable=SC2206
            margs=(${pair#*|})
            run "$name-$pname" "${margs[@]}" "${pargs[@]}"
            rc=$?
            check "$pname $name: exit 0" test $rc -eq 0
            [ $rc -eq 0 ] || cat "$tmp/$name-$pname.err"
            check "$pname $name: what the local run wrote and how it was routed" \
                same "$("$routed" "$tmp/$name-$pname.json")" "$want"
            [ -z "$extra" ] ||
                "$extra" "$tmp/local-$pname.json" "$tmp/$name-$pname.json" "$pname $name"
        done
    done
}
