// serve_abuse.mjs - malformed and hostile requests against a running glimp
// serve, over raw sockets (node's net module), so that bodies can be cut
// short, headers trickle in, connections be left half open and clients
// vanish mid-stream. Every request is bounded by a timeout. Prints one JSON
// object: per kind, how many were sent and what came back, and the list of
// failures (a 5xx, a hang, an answer outside what the kind allows).
//   node serve_abuse.mjs HOST:PORT ROUNDS [--slow-clients N] [--idle S]
// ROUNDS: how many times each kind's variants are sent (each kind has
// several). --slow-clients: connections that send their headers a byte at a
// time and then stall, and connections that connect and say nothing (the
// server must drop them at its idle timeout, --idle S, while answering the
// rest). GLIMP_SANITIZE in the environment stretches the timeouts.
import net from "node:net";

const args = process.argv.slice(2);
const [host, portStr] = args[0].split(":");
const port = Number(portStr);
const rounds = Number(args[1] || "1");
const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
};
const slowClients = opt("--slow-clients", 0);
const idle = opt("--idle", 3);
const slow = process.env.GLIMP_SANITIZE ? 4 : 1;
const TIMEOUT_MS = 15000 * slow; // no answer by then: a hang
const PARALLEL = 8;

// ------------------------------------------------------------ raw HTTP

// Send a request as raw pieces and collect what comes back.
//   pieces: strings or Buffers, written in order (gapMs apart)
//   end: half-close (shutdown the write side) after the last piece
//   vanishAfterData: destroy the socket as soon as the first bytes arrive
//   vanishAfterMs: destroy (RST) this long after the last piece
// Resolves {status, closed, timedOut, ms, bytes}; status 0 when no status
// line came back.
function raw({ pieces, gapMs = 0, end = false, vanishAfterData = false, vanishAfterMs = -1,
               timeoutMs = TIMEOUT_MS }) {
    return new Promise(resolve => {
        const t0 = performance.now();
        const sock = net.connect({ host, port });
        let buf = Buffer.alloc(0), done = false, gotData = false, tLast = 0;
        const finish = (how) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            const head = buf.subarray(0, 64).toString("latin1");
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
            resolve({ status: m ? Number(m[1]) : 0, how, ms: performance.now() - t0,
                      sinceLast: tLast ? performance.now() - tLast : -1, bytes: buf.length });
            sock.destroy();
        };
        const timer = setTimeout(() => finish("timeout"), timeoutMs);
        sock.on("data", d => {
            if (buf.length < 65536) buf = Buffer.concat([buf, d]);
            gotData = true;
            if (vanishAfterData) {
                sock.resetAndDestroy();
                finish("vanished");
            }
        });
        sock.on("error", () => finish(gotData ? "closed" : "reset"));
        sock.on("close", () => finish("closed"));
        sock.on("connect", async () => {
            for (let i = 0; i < pieces.length && !done; i++) {
                if (gotData) break; // answered already (413 before the body): stop sending
                if (i > 0 && gapMs > 0) await new Promise(r => setTimeout(r, gapMs));
                if (done) return;
                const ok = sock.write(pieces[i]);
                tLast = performance.now();
                if (!ok) await new Promise(r => { sock.once("drain", r); sock.once("close", r); });
            }
            if (done) return;
            if (end) sock.end();
            if (vanishAfterMs >= 0)
                setTimeout(() => { if (!done) { sock.resetAndDestroy(); finish("vanished"); } }, vanishAfterMs);
        });
    });
}

const crlf = "\r\n";
function request(method, path, body, { headers = {}, contentLength = true } = {}) {
    const b = body === null ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8");
    let h = `${method} ${path} HTTP/1.1${crlf}Host: ${host}:${port}${crlf}Connection: close${crlf}`;
    if (body !== null) h += `Content-Type: application/json${crlf}`;
    if (contentLength && body !== null && !("Content-Length" in headers) && !("Transfer-Encoding" in headers))
        h += `Content-Length: ${b.length}${crlf}`;
    for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}${crlf}`;
    return [Buffer.from(h + crlf, "latin1"), b];
}
const chat = (extra = {}) => JSON.stringify({ messages: [{ role: "user", content: "x = 1" }], ...extra });
const post = (path, body, o) => ({ pieces: request("POST", path, body, o) });
const C = "/v1/chat/completions", P = "/v1/completions";

// ------------------------------------------------------------ the kinds

// Each kind: variants (each a raw() argument, or a function giving one) and
// what it may answer: "4xx" (a 4xx status, nothing else), "4xx|closed" (a
// 4xx, or the connection closed without one: the request never completed),
// "gone" (the client leaves; only the server's survival is checked).
const tenMB = Buffer.alloc(10 << 20, 0x20);
const kinds = {
    bad_json: { want: "4xx", variants: [
        '{"messages": [', "{", "}", "", "nul", '{"messages":[{"role":"user","content":"x"}]', "{'a':1}",
        '{"messages":[{"role":"user","content":"x"}],}', '{"a" 1}', '{"messages":[{"role":"user","content":"x\\q"}]}',
    ].map(b => post(C, b)) },
    not_an_object: { want: "4xx", variants: ["[1,2]", '"hi"', "42", "null", "true", "[]"].map(b => post(C, b)) },
    wrong_types: { want: "4xx", variants: [
        '{"messages":"hi"}', '{"messages":[1]}', '{"messages":[{"role":5,"content":"x"}]}',
        '{"messages":[{"role":"user","content":5}]}', '{"messages":{"role":"user"}}',
        chat({ temperature: "hot" }), chat({ stream: "yes" }), chat({ max_tokens: "5" }), chat({ stop: 5 }),
        chat({ glimp: [] }), chat({ model: 7 }), chat({ stream_options: 1 }), chat({ seed: "1" }),
        chat({ messages: [{ role: "user", content: [{ type: "image_url", image_url: "x" }] }] }),
        chat({ chat_template_kwargs: { enable_thinking: "no" } }), chat({ logprobs: 3 }), chat({ top_k: [] }),
    ].map(b => post(C, b)) },
    huge_numbers: { want: "4xx", variants: [
        chat({ max_tokens: 1e300 }), '{"messages":[{"role":"user","content":"x"}],"max_tokens":9223372036854775807}',
        '{"messages":[{"role":"user","content":"x"}],"seed":99999999999999999999}', chat({ top_k: 1e20 }),
        chat({ temperature: 1e308 }), chat({ n: 1e15 }), chat({ glimp: { draft: 1e9 } }),
        chat({ glimp: { max_step: 4294967297 } }), chat({ glimp: { glimpse: 1e12 } }),
        '{"messages":[{"role":"user","content":"x"}],"temperature":1e400}',
        JSON.stringify({ model: "slm", prompt: [1, 2147483648] }), JSON.stringify({ model: "slm", prompt: "x", logprobs: 1e9 }),
    ].map(b => post(b.includes("prompt") ? P : C, b)) },
    negative_numbers: { want: "4xx", variants: [
        chat({ max_tokens: -1 }), chat({ temperature: -1 }), chat({ top_p: -0.5 }), chat({ seed: -5 }),
        chat({ n: -3 }), chat({ glimp: { draft: -1 } }), chat({ glimp: { share: -0.1 } }), chat({ top_k: -2 }),
        chat({ min_p: -1e-9 }), chat({ max_tokens: -9.2e18 }), chat({ max_tokens: 0.5 }),
        JSON.stringify({ model: "slm", prompt: [-1] }), JSON.stringify({ model: "slm", prompt: "x", logprobs: -1 }),
    ].map(b => post(b.includes("prompt") ? P : C, b)) },
    nan_inf: { want: "4xx", variants: [
        '{"messages":[{"role":"user","content":"x"}],"temperature":NaN}',
        '{"messages":[{"role":"user","content":"x"}],"temperature":Infinity}',
        '{"messages":[{"role":"user","content":"x"}],"top_p":-Infinity}',
        '{"messages":[{"role":"user","content":"x"}],"glimp":{"tau":NaN}}', chat({ glimp: { tau: "nan" } }),
        chat({ glimp: { tau: "infinity" } }), '{"messages":[{"role":"user","content":"x"}],"max_tokens":-0.0e0,"n":1e-400}',
    ].map(b => post(C, b)) },
    invalid_utf8: { want: "4xx", variants: [
        Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]),
        Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"'), Buffer.from([0xc0, 0x80]), Buffer.from('"}]}')]),
        Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}]}')]),
        Buffer.concat([Buffer.from('{"'), Buffer.from([0xe2, 0x82]), Buffer.from('":1,"messages":[]}')]),
        Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from('"}')]),
        '{"messages":[{"role":"user","content":"\\ud800"}]}', '{"messages":[{"role":"user","content":"\\udc00x"}]}',
    ].map(b => post(C, b)) },
    unknown_fields: { want: "4xx", variants: [
        chat({ glimp: { frobnicate: 1 } }), chat({ glimp: { tau: 1, "": 2 } }), '{"frobnicate":[1,{"a":null}]}',
        JSON.stringify({ prompt_x: "x", model: "slm" }), chat({ messages: [{ role: "tool", content: "x" }] }),
        chat({ messages: [{ role: "user", contents: "x" }] }), chat({ model: "gpt-9" }), chat({ model: "glimp:frob=1" }),
        '{"messages":[{"role":"user","content":"x"}],"stream":true,"stream":false}',
    ].map(b => post(b.includes("prompt") ? P : C, b)) },
    ten_mb_body: { want: "4xx|closed", variants: [
        // declared: refused on the header; the client stops sending at the answer
        () => {
            const [head] = request("POST", C, tenMB);
            return { pieces: [head, ...Array.from({ length: 10 }, (_, i) => tenMB.subarray(i << 20, (i + 1) << 20))] };
        },
    ] },
    ten_mb_chunked: { want: "4xx|closed", variants: [
        () => {
            const head = `POST ${C} HTTP/1.1${crlf}Host: x${crlf}Connection: close${crlf}Transfer-Encoding: chunked${crlf}${crlf}`;
            const pieces = [head];
            const chunk = Buffer.alloc(1 << 20, 0x20);
            for (let i = 0; i < 10; i++) pieces.push(Buffer.concat([Buffer.from((1 << 20).toString(16) + crlf), chunk, Buffer.from(crlf)]));
            pieces.push("0" + crlf + crlf);
            return { pieces };
        },
    ] },
    truncated_body: { want: "4xx|closed", variants: [
        // declared longer than sent, then half-closed or reset
        { pieces: request("POST", C, chat().slice(0, 10), { headers: { "Content-Length": "200" } }), end: true },
        { pieces: request("POST", P, '{"prompt":"x', { headers: { "Content-Length": "50" } }), vanishAfterMs: 50 },
        { pieces: request("POST", "/tokenize", '{"content":', { headers: { "Content-Length": "4000" } }), end: true },
    ] },
    truncated_json: { want: "4xx", variants: [
        chat().slice(0, 5), chat().slice(0, 20), chat().slice(0, chat().length - 1), '{"messages":[{"role":"user","content":"x',
    ].map(b => post(C, b)) },
    bad_completions: { want: "4xx", variants: [
        '{"model":"slm","prompt":[[1,2],[3]]}', '{"model":"slm","prompt":[]}', '{"model":"slm","prompt":""}',
        '{"model":"slm","prompt":["a","b"]}', '{"model":"slm","prompt":[1,99999999]}', '{"model":"slm","prompt":"x","echo":true}',
        '{"model":"slm","prompt":"x","logprobs":21}', '{"prompt":"x","logprobs":2}', '{"model":"slm"}', '{"model":"slm","prompt":[1.5]}',
    ].map(b => post(P, b)) },
    bad_tokenize: { want: "4xx", variants: [
        post("/tokenize", "{}"), post("/tokenize", '{"content":5}'), post("/tokenize", '{"content":"x","add_special":"y"}'),
        post("/detokenize", '{"tokens":"x"}'), post("/detokenize", '{"tokens":[-1]}'), post("/detokenize", '{"tokens":[1e30]}'),
        post("/detokenize", '{"tokens":[99999999]}'), post("/detokenize", '{"tokens":[1,"a"]}'), post("/tokenize", "["),
    ] },
    nul_and_control: { want: "4xx", variants: [
        '{"messages":[{"role":"user","content":"a\\u0000b"}]}', '{"model":"a\\u0000","messages":[{"role":"user","content":"x"}]}',
        '{"messages":[{"role":"user","content":[{"type":"text","text":"\\u0000"}]}]}', '{"messages":[{"role":"user","content":"\u0001x\u0000"}]}',
        JSON.stringify({ messages: [{ role: "user", content: "x" }], stop: "a\u0000" }),
    ].map(b => post(C, b)) },
    deep_nesting: { want: "4xx", variants: [
        "[".repeat(100000), '{"messages":' + "[".repeat(5000) + "]".repeat(5000) + "}",
        '{"messages":[{"role":"user","content":"x"}],"glimp":' + '{"a":'.repeat(3000) + "1" + "}".repeat(3001),
    ].map(b => post(C, b)) },
    many_and_long: { want: "4xx", variants: [
        JSON.stringify({ messages: Array.from({ length: 4097 }, () => ({ role: "user", content: "x" })) }),
        chat({ stop: Array.from({ length: 9 }, (_, i) => "s" + i) }), chat({ stop: "s".repeat(257) }),
        JSON.stringify({ messages: [{ role: "user", content: "x = 1. ".repeat(30000) }] }),
        JSON.stringify({ model: "slm", prompt: Array.from({ length: 100000 }, () => 1) }),
    ].map(b => post(b.includes("prompt") ? P : C, b)) },
    bad_method_path: { want: "4xx", variants: [
        { pieces: request("DELETE", C, null) }, { pieces: request("GET", C, null) }, { pieces: request("PUT", "/tokenize", "{}") },
        { pieces: request("POST", "/health", "{}") }, { pieces: request("GET", "/v1/nothing", null) },
        { pieces: request("GET", "/../../etc/passwd", null) }, { pieces: request("FROB", "/v1/models", null) },
        { pieces: request("GET", "/" + "a".repeat(20000), null) }, { pieces: request("GET", "/%ff%00%c0", null) },
    ] },
    bad_headers: { want: "4xx|closed", variants: [
        { pieces: request("POST", C, chat(), { headers: { "Content-Length": "abc" } }) },
        { pieces: request("POST", C, chat(), { headers: { "Content-Length": "-5" } }) },
        { pieces: request("POST", C, chat(), { headers: { "Content-Length": "99999999999999999999999" } }) },
        { pieces: [`POST ${C} HTTP/1.1${crlf}Host: x${crlf}Content-Length: 3${crlf}Content-Length: 4${crlf}Connection: close${crlf}${crlf}{}}`] },
        { pieces: [`GET /health HTTP/1.1${crlf}Host: x${crlf}NoColonHere${crlf}Connection: close${crlf}${crlf}`] },
        { pieces: [`GET /health HTTP/1.1${crlf}Host: x${crlf}X-Big: ${"b".repeat(100000)}${crlf}Connection: close${crlf}${crlf}`] },
        { pieces: [`POST ${C} HTTP/1.1${crlf}Host: x${crlf}Transfer-Encoding: chunked${crlf}Connection: close${crlf}${crlf}zz${crlf}abc${crlf}0${crlf}${crlf}`] },
        { pieces: [`POST ${C} HTTP/1.1${crlf}Host: x${crlf}Transfer-Encoding: gzip${crlf}Connection: close${crlf}${crlf}{}`] },
    ] },
    bad_http: { want: "4xx|closed", variants: [
        // HTTP/9.9: libmicrohttpd answers 505 before glimp sees the request,
        // which RFC 9110 15.6.6 prescribes; the one 5xx allowed, and counted
        { pieces: [`HELLO${crlf}${crlf}`] }, { pieces: [`GET /health HTTP/9.9${crlf}Host: x${crlf}${crlf}`], also: [505] },
        { pieces: [`GET /health HTTP/1.1${crlf}Connection: close${crlf}${crlf}`] }, // no Host
        { pieces: [Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]), "\r\n\r\n"] }, // TLS hello
        { pieces: [`GET  HTTP/1.1${crlf}Host: x${crlf}${crlf}`] }, { pieces: ["\0\0\0\0\r\n\r\n"] },
    ] },
    half_open_after_request: { want: "4xx|closed", variants: [
        // a whole malformed request, then the write side shut: the answer may still come
        { ...post(C, '{"messages": ['), end: true }, { ...post("/tokenize", "{}"), end: true },
        { pieces: request("POST", C, chat()).slice(0, 1), end: true }, // headers only, body never comes
    ] },
    vanish_mid_request: { want: "gone", variants: [
        { pieces: request("POST", C, chat(), { headers: { "Content-Length": "100000" } }), vanishAfterMs: 5 },
        { pieces: [`POST ${C} HTTP/1.1${crlf}Host: x${crlf}Content-Le`], vanishAfterMs: 5 },
    ] },
    vanish_mid_stream: { want: "gone", variants: [
        // a valid streaming request whose client leaves at the first bytes
        { ...post(C, chat({ stream: true, max_tokens: 64 })), vanishAfterData: true },
        { ...post(P, JSON.stringify({ model: "slm", prompt: "x = 1", max_tokens: 64, stream: true, logprobs: 2 })), vanishAfterData: true },
        { ...post(C, chat({ max_tokens: 64 })), vanishAfterMs: 2 }, // not streamed: leaves while it runs
    ] },
};

// Connections that trickle their headers in, a byte at a time, then stall,
// and connections that connect and say nothing: the server must close each
// at its idle timeout (it answers nothing or a 4xx), and answer others
// meanwhile.
function slowOnes(n) {
    const out = [];
    const head = `GET /health HTTP/1.1${crlf}Host: x${crlf}X-Slow: `;
    for (let i = 0; i < n; i++) {
        if (i % 2 === 0)
            out.push(raw({ pieces: [...head.slice(0, 4 + i)], gapMs: 1000, timeoutMs: (idle + 30) * 1000 * slow })
                .then(r => ({ kind: "slow_headers", r })));
        else
            out.push(raw({ pieces: [], timeoutMs: (idle + 30) * 1000 * slow }).then(r => ({ kind: "idle_connection", r })));
    }
    return out;
}

// ------------------------------------------------------------ run

const results = {}, failures = [];
function record(kind, want, r, also = []) {
    const e = results[kind] ??= { sent: 0, outcomes: {} };
    e.sent++;
    const key = r.status ? String(r.status) : r.how;
    e.outcomes[key] = (e.outcomes[key] || 0) + 1;
    let ok;
    if (r.how === "timeout") ok = false;
    else if (also.includes(r.status)) ok = true;
    else if (r.status >= 500) ok = false;
    else if (want === "4xx") ok = r.status >= 400 && r.status < 500;
    else if (want === "4xx|closed") ok = (r.status >= 400 && r.status < 500) || r.status === 0;
    else ok = true;
    if (!ok && failures.length < 50) failures.push({ kind, status: r.status, how: r.how, ms: Math.round(r.ms) });
}

const jobs = [];
for (let round = 0; round < rounds; round++)
    for (const [kind, k] of Object.entries(kinds))
        for (const v of k.variants) jobs.push([kind, k.want, v]);
// spread the kinds so that each batch mixes them
for (let i = jobs.length - 1; i > 0; i--) {
    const x = (i * 7919 + 17) % (i + 1);
    [jobs[i], jobs[x]] = [jobs[x], jobs[i]];
}
const slowDone = Promise.all(slowOnes(slowClients));
let next = 0;
async function worker() {
    while (next < jobs.length) {
        const [kind, want, v] = jobs[next++];
        const r = await raw(typeof v === "function" ? v() : v);
        record(kind, want, r, v.also);
    }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: PARALLEL }, worker));
for (const { kind, r } of await slowDone) {
    record(kind, "4xx|closed", r);
    // dropped at the idle timeout: not long before, and not much after
    if (r.how !== "timeout" && r.sinceLast >= 0 && r.sinceLast > (idle + 5) * 1000 * slow && failures.length < 50)
        failures.push({ kind, how: "dropped late", ms: Math.round(r.sinceLast) });
}
const total = Object.values(results).reduce((a, e) => a + e.sent, 0);
console.log(JSON.stringify({ total, kinds: Object.keys(results).length, seconds: +((performance.now() - t0) / 1000).toFixed(1),
                             results, failures }));
process.exit(failures.length ? 1 : 0);
