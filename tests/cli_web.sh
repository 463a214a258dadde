#!/usr/bin/env bash
# cli_web.sh - the web view of glimp serve and the HTML report of glimp eval
# in a real browser (Debian's headless Chromium, driven by playwright-core
# from tests/oracle/web_test.mjs): the page against a server on the demo pair
# with an API key (steps, counters, compare mode, a hostile step, phone
# width, no request to another origin), then report.html from disk (a real
# eval, and a results.jsonl with hostile step text). Screenshots go to
# $GLIMP_SHOTS (default: web-shots/ beside the glimp binary).
# usage: cli_web.sh GLIMP_BINARY TEST_DATA_DIR
set -u
glimp=$1
. "$(dirname "$0")/lib/cli.sh"
. "$(dirname "$0")/lib/serve.sh"
need_node
oracle=$(cd "$(dirname "$0")/oracle" && pwd)
if [ ! -d "$oracle/node_modules/playwright-core" ]; then
    echo "FAIL: the npm playwright-core is missing (run scripts/setup.sh)"; echo "0 passed, 1 failed"; exit 1
fi
if [ ! -x "${GLIMP_CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "FAIL: chromium is missing (run scripts/setup.sh)"; echo "0 passed, 1 failed"; exit 1
fi
shots=${GLIMP_SHOTS:-$(dirname "$(readlink -f "$glimp")")/web-shots}
mkdir -p "$shots"
demo=$(cd "$(dirname "$0")/../models/demo" && pwd)
problem=$(head -n 1 "$demo/taskA.jsonl" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).problem))')

# run_node NAME ARGS...: the browser checks, bounded in time; their ok lines count
run_node() {
    local name=$1
    shift
    timeout $((90 * slow)) node "$oracle/web_test.mjs" "$@" >"$tmp/$name.out" 2>&1
    local rc=$?
    cat "$tmp/$name.out"
    check "$name: every browser check" test $rc = 0
    pass=$((pass + $(grep -c '^ok ' "$tmp/$name.out")))
}

# ---- the live page
serve_start web --slm "$demo/small.gguf" --llm "$demo/large.gguf" --temp 0 --max-think 512 \
    --max-step 48 --max-answer 16 -t 1 --api-key sk-glimp-web || { finish; exit 1; }
check "/ without the key: 200, text/html" \
    test "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$base/")" = "200 text/html; charset=utf-8"
check "/app.js: javascript" \
    test "$(curl -s -o /dev/null -w '%{content_type}' "$base/app.js")" = "text/javascript; charset=utf-8"
check "/style.css: css" \
    test "$(curl -s -o /dev/null -w '%{content_type}' "$base/style.css")" = "text/css; charset=utf-8"
check "/nope: 404" test "$(curl -s -o /dev/null -w '%{http_code}' "$base/nope.js")" = 404
check "POST /: 405" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/")" = 405
curl -s "$base/" >"$tmp/index.html"
check "page: no inline script, nothing from another host" \
    node -e 'const s = require("fs").readFileSync(process.argv[1], "utf8");
             process.exit(/<script>|<script [^>]*>[^<]|https?:\/\/|\son[a-z]+=/.test(s) ? 1 : 0)' "$tmp/index.html"
run_node page serve "$base" sk-glimp-web "$problem" "$shots"
check "graceful stop" serve_stop

finish
