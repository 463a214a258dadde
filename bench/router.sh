#!/usr/bin/env bash
# router.sh - what the router itself costs, on a real-sized pair (a
# benchmark, not a test): runs `glimp run --json` on SLM and LLM and prints
#   (a) the router's own overhead (wall time outside the models' forward
#       passes and sampling) as a share of the total, for each policy;
#   (b) at a 25% LLM share (policy share), time per token against the LLM
#       alone and against the ideal mix (1 - s) x SLM alone + s x LLM alone,
#       s the measured LLM share of tokens;
#   (c) speculative decoding's cost per LLM token with --draft N against
#       none, its measured acceptance, and the break-even acceptance rate
#       (where drafting starts to pay) from the measured costs.
#
#   bench/router.sh [-t THREADS] [-r REPS] [-d DRAFT] [-n THINK] SLM.gguf LLM.gguf
#
# BUILD_DIR (default build) holds glimp. Each configuration runs REPS times
# (default 3, seeds 1..REPS); figures are means. Needs node (for the JSON).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
glimp=${BUILD_DIR:-$root/build}/glimp
threads=2 reps=3 draft=3 think=256
while getopts "t:r:d:n:h" o; do
    case $o in
    t) threads=$OPTARG ;;
    r) reps=$OPTARG ;;
    d) draft=$OPTARG ;;
    n) think=$OPTARG ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { echo "router.sh: give SLM.gguf and LLM.gguf" >&2; exit 2; }
slm=$1 llm=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
prompt="How many positive divisors does 2024 have? Reason step by step."
common=(--slm "$slm" --llm "$llm" -p "$prompt" -t "$threads" -c 4096 --max-think "$think"
    --max-step 16 --max-answer 32 --json)

run() { # name, extra args...
    local name=$1
    shift
    for s in $(seq 1 "$reps"); do
        "$glimp" run "${common[@]}" --seed "$s" "$@" > "$out/$name.$s.json"
    done
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
run slm --policy slm
run llm --policy llm
run share --policy share --share 0.25
run random --policy random --share 0.25
run llm_draft --policy llm --draft "$draft"
run glimp_draft --policy share --share 0.25 --draft "$draft"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

node - "$out" "$reps" "$draft" <<'JS'
const fs = require('fs');
const [dir, reps, draft] = [process.argv[2], +process.argv[3], +process.argv[4]];
const load = (name) => {
  const runs = [];
  for (let s = 1; s <= reps; s++) runs.push(JSON.parse(fs.readFileSync(`${dir}/${name}.${s}.json`)).summary);
  const mean = (f) => runs.reduce((a, r) => a + f(r), 0) / runs.length;
  const tok = (r) => r.tokens_slm + r.tokens_llm;
  return {
    wall: mean((r) => r.wall_s), tpt: mean((r) => r.wall_s / tok(r)), tokens: mean(tok),
    overhead: mean((r) => r.overhead_s / r.wall_s), sync: mean((r) => r.sync_s / r.wall_s),
    share: mean((r) => r.llm_share_tokens), shareSteps: mean((r) => r.llm_share_steps),
    llmTpt: mean((r) => r.llm_s / Math.max(1, r.tokens_llm)),
    accept: mean((r) => (r.draft_proposed ? r.draft_accepted / r.draft_proposed : 0)),
  };
};
const R = {};
for (const n of ['slm', 'llm', 'share', 'random', 'llm_draft', 'glimp_draft']) R[n] = load(n);
const ms = (x) => (1000 * x).toFixed(1) + ' ms';
const pct = (x) => (100 * x).toFixed(2) + '%';
console.log('\n(a) router overhead: wall time outside forward passes and sampling');
console.log('| policy | tokens | wall (s) | time/token | overhead | sync |');
console.log('|---|---|---|---|---|---|');
for (const [n, r] of Object.entries(R))
  console.log(`| ${n} | ${r.tokens.toFixed(0)} | ${r.wall.toFixed(2)} | ${ms(r.tpt)} | ${pct(r.overhead)} | ${pct(r.sync)} |`);
const s = R.share.share;
const ideal = (1 - s) * R.slm.tpt + s * R.llm.tpt;
console.log(`\n(b) policy share 0.25: LLM share ${pct(R.share.shareSteps)} of steps, ${pct(s)} of tokens`);
console.log(`    time/token ${ms(R.share.tpt)}; LLM alone ${ms(R.llm.tpt)} (ratio ${(R.share.tpt / R.llm.tpt).toFixed(3)});` +
  ` ideal mix ${ms(ideal)} (ratio ${(R.share.tpt / ideal).toFixed(3)}); SLM alone ${ms(R.slm.tpt)}`);
const a = R.llm_draft.accept;
const c0 = R.llm_draft.tpt, cl = R.llm.tpt;
console.log(`\n(c) speculative decoding, draft ${draft}, policy llm: time/token ${ms(c0)} vs ${ms(cl)} without` +
  ` (ratio ${(c0 / cl).toFixed(3)}), acceptance ${pct(a)}`);
// a round drafts `draft` tokens and verifies them in one LLM batch; it yields
// E = (1 - a^(n+1)) / (1 - a) tokens. Round cost from the run: tokens per
// round at its acceptance times its time per token.
const E = (x) => (x >= 1 ? draft + 1 : (1 - Math.pow(x, draft + 1)) / (1 - x));
const round = c0 * E(a);
let lo = 0, hi = 1;
for (let i = 0; i < 60; i++) { const m = (lo + hi) / 2; if (round / E(m) > cl) lo = m; else hi = m; }
console.log(`    a round costs ${ms(round)} (${(round / cl).toFixed(2)} LLM tokens);` +
  ` break-even acceptance ${pct(hi)}` + (a < 0.05 ? ' (measured near 0% acceptance: the worst case)' : ''));
console.log(`    with policy share 0.25 and draft ${draft}: time/token ${ms(R.glimp_draft.tpt)}, acceptance ${pct(R.glimp_draft.accept)}`);
JS
