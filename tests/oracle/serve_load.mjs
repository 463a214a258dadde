// serve_load.mjs - load on a running glimp serve: C clients at once, each
// streaming R chat requests (problems from a JSONL file), every request
// completed (its stream ends in [DONE] with its own id throughout) or
// refused with 503. Prints the figures as one JSON line:
//   node serve_load.mjs BASE_URL PROBLEMS.jsonl CLIENTS REQUESTS_EACH
import fs from "node:fs";

const [base, file, clients = "32", each = "4"] = process.argv.slice(2);
const problems = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l).problem);
let done = 0, refused = 0, lost = 0, mixed = 0;
const ttft = [], tpot = [];

async function one(k) {
    const t0 = performance.now();
    const res = await fetch(base + "/v1/chat/completions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: problems[k % problems.length] }],
                               temperature: 0, stream: true, stream_options: { include_usage: true } }),
    });
    if (res.status === 503) { refused++; await res.text(); return; }
    if (res.status !== 200) { lost++; await res.text(); return; }
    const text = await (async () => {
        let s = "", first = 0;
        const dec = new TextDecoder();
        for await (const part of res.body) {
            if (!first) first = performance.now();
            s += dec.decode(part, { stream: true });
        }
        return [s, first];
    })();
    const [body, tFirst] = text;
    const t1 = performance.now();
    if (!body.endsWith("data: [DONE]\n\n")) { lost++; return; }
    const events = body.split("\n\n").filter(e => e.startsWith("data: {")).map(e => JSON.parse(e.slice(6)));
    if (new Set(events.map(e => e.id)).size !== 1) { mixed++; return; }
    const usage = events[events.length - 1].usage;
    done++;
    ttft.push((tFirst - t0) / 1e3);
    if (usage && usage.completion_tokens > 1) tpot.push((t1 - tFirst) / 1e3 / (usage.completion_tokens - 1));
}

const t0 = performance.now();
await Promise.all(Array.from({ length: +clients }, async (_, c) => {
    for (let r = 0; r < +each; r++) await one(c * +each + r);
}));
const wall = (performance.now() - t0) / 1e3;
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : null; };
console.log(JSON.stringify({
    clients: +clients, requests: +clients * +each, done, refused, lost, mixed, wall_s: wall,
    requests_per_s: done / wall, ttft_p50_s: q(ttft, 0.5), ttft_p90_s: q(ttft, 0.9),
    tpot_p50_s: q(tpot, 0.5), tpot_p90_s: q(tpot, 0.9),
}));
process.exit(lost || mixed || done + refused !== +clients * +each ? 1 : 0);
