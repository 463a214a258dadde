# shellcheck shell=bash
# tests/lib/serve.sh - starting and stopping a glimp serve for a test, after
# tests/lib/cli.sh. Every server listens on 127.0.0.1 on a free port (--port
# 0; the server prints it) and is stopped however the script ends.
#   serve_start NAME ARGS...   start `$glimp serve --port 0 ARGS`, log in
#                              $tmp/NAME.log; sets $pid and $base
#                              (http://127.0.0.1:PORT) once /health says 200
#   serve_stop                 SIGTERM, wait; returns the exit status
# $slow: seconds scale for waits (larger under the sanitizers)

slow=1
[ -n "${GLIMP_SANITIZE:-}" ] && slow=4
servers=()
trap 'for p in "${servers[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

serve_start() {
    local name=$1
    shift
    "$glimp" serve --port 0 "$@" >"$tmp/$name.log" 2>&1 &
    pid=$!
    servers+=("$pid")
    local port="" i
    for ((i = 0; i < 200 * slow; i++)); do
        port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$name.log" 2>/dev/null)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "FAIL: $name: the server did not start"; cat "$tmp/$name.log"; return 1
    fi
    base=http://127.0.0.1:$port
    for ((i = 0; i < 400 * slow; i++)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")" = 200 ] && return 0
        sleep 0.05
    done
    echo "FAIL: $name: /health never said 200"; cat "$tmp/$name.log"; return 1
}

serve_stop() {
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
}

# post PATH BODY [curl options...]: POST JSON, body to $tmp/body, status to
# stdout
post() {
    local path=$1 body=$2
    shift 2
    curl -s -o "$tmp/body" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "$body" "$@" "$base$path"
}
