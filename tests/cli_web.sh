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

# ---- report.html of a real eval on the demo pair, opened from disk
ev=(--slm "$demo/small.gguf" --llm "$demo/large.gguf" --prompt "$demo/prompt.txt" --no-chat --temp 0 -t 1)
"$glimp" eval "${ev[@]}" --data "$demo/taskA.jsonl" --limit 4 --method slm --method llm \
    --method glimp:tau=0.5 --out "$tmp/ev" >/dev/null 2>"$tmp/ev.err"
check "eval: report.html written" test -s "$tmp/ev/report.html"
check "report.html: well-formed XML apart from the doctype" \
    sh -c "sed 1d '$tmp/ev/report.html' | xmllint --noout --html - 2>/dev/null"
check "report.html: nothing from another host" \
    node -e 'const s = require("fs").readFileSync(process.argv[1], "utf8").replace(/xmlns(:\w+)?="http:\/\/www\.w3\.org\/[^"]*"/g, "");
             process.exit(/<script|https?:\/\/|<link|<img|\ssrc=/.test(s) ? 1 : 0)' "$tmp/ev/report.html"
run_node report report "$tmp/ev/report.html" "$shots"

# ---- a results.jsonl whose steps and answers are hostile: the report is
# rebuilt from it (--resume with every problem done runs nothing)
mkdir -p "$tmp/evil"
node -e 'const evil = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\"> \u00e9";
    const step = (w, h) => ({w, h, sig: h, easy: -1, n: 3, rw: false, t: evil});
    const rec = {method: "glimp:tau=0.5", run: 0, id: "<b>A-0000</b>", correct: false, extracted: evil,
        policy: "glimp", signal: "hinit", tau: 0.5, share: 0.25, draft: 0, latency_s: 0.5, ttft_s: 0.1,
        steps_slm: 1, steps_llm: 1, tokens_slm: 3, tokens_llm: 3, slm_s: 0.1, llm_s: 0.3, sync_s: 0,
        overhead_s: 0, llm_share_steps: 0.5, llm_share_tokens: 0.5, draft_proposed: 0, draft_accepted: 0,
        rewrites: 0, think_end: "tag", steps: [step("slm", 0.1), step("llm", 1.2)], expected: evil};
    console.log(JSON.stringify(rec));
    console.log(JSON.stringify({...rec, method: "llm", policy: "llm", steps: [step("llm", null)]}));' \
    >"$tmp/evil/results.jsonl"
printf '{"id": "<b>A-0000</b>", "problem": "x", "answer": "1"}\n' >"$tmp/evil.jsonl"
"$glimp" eval "${ev[@]}" --data "$tmp/evil.jsonl" --method llm --method glimp:tau=0.5 --resume \
    --out "$tmp/evil" >/dev/null 2>"$tmp/evil.err"
check "hostile: report.html rebuilt" test -s "$tmp/evil/report.html" || cat "$tmp/evil.err"
check "hostile: no markup from model text" lacks "$tmp/evil/report.html" "<script>window"
GLIMP_HOSTILE=1 run_node report-hostile report "$tmp/evil/report.html" "$shots"

finish
