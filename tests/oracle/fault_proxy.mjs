// fault_proxy.mjs - an HTTP proxy on 127.0.0.1 in front of a test's glimp
// serve that injects one kind of fault into the first COUNT completion
// requests (POST .../completions), then passes everything through.
// usage: node fault_proxy.mjs UPSTREAM_PORT FAULT COUNT [LOG]
// (FAULT "down": the first COUNT completion requests pass, every later one
// is answered 503, as a server that died would be behind a balancer)
// Prints "listening PORT" once ready; appends one line per request to LOG
// ("<n> <fault|pass> <method> <path>"). Exits by itself after 300 s.
//   drop       relay the stream, then cut the connection after 2500 bytes
//              (some tokens in, mid-event)
//   stall      relay 2500 bytes of the stream, then send nothing more
//   500        answer 500 with an error object
//   429        answer 429 with Retry-After: 1
//   400        answer 400 (a client error: never retried)
//   truncjson  200, an SSE event whose JSON is cut short, then close
//   badjson    200, an SSE event that is not JSON, then close
//   badsse     200, lines that are no SSE at all, then close
//   eventerr   200, an SSE error event (the server failed mid-stream)
//   hole       200 and a stream with no events, then close (no [DONE])
import fs from "node:fs";
import http from "node:http";

const [upPort, fault, countArg, log] = process.argv.slice(2);
let left = Number(countArg);
let n = 0;
const say = (line) => log && fs.appendFileSync(log, line + "\n");
setTimeout(() => process.exit(0), 300000).unref();

function forward(req, body, res, onChunk) {
    const up = http.request(
        { host: "127.0.0.1", port: Number(upPort), path: req.url, method: req.method,
          headers: { ...req.headers, host: `127.0.0.1:${upPort}` } },
        (ur) => {
            res.writeHead(ur.statusCode, ur.headers);
            ur.on("data", (c) => (onChunk ? onChunk(c, ur) : res.write(c)));
            ur.on("end", () => res.end());
        });
    up.on("error", () => res.destroy());
    res.on("close", () => up.destroy());
    up.end(body);
}

const sse = { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" };

http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
        const body = Buffer.concat(chunks);
        n++;
        const completion = req.method === "POST" && req.url.endsWith("/completions");
        if (fault === "down" && completion && left-- <= 0) {
            say(`${n} down ${req.method} ${req.url}`);
            res.writeHead(503, { "Content-Type": "application/json" });
            return res.end(JSON.stringify({ error: { message: "injected: the server is down", code: 503 } }));
        }
        const target = completion && fault !== "down" && left > 0;
        say(`${n} ${target ? fault : "pass"} ${req.method} ${req.url}`);
        if (!target)
            return forward(req, body, res);
        left--;
        const err = (code) => JSON.stringify({ error: { message: `injected ${code}`, type: "server_error", code } });
        switch (fault) {
        case "drop":
        case "stall": {
            let sent = 0;
            forward(req, body, res, (c, ur) => {
                if (sent >= 2500)
                    return;
                const part = c.subarray(0, Math.max(0, 2500 - sent));
                sent += part.length;
                const cut = sent >= 2500;
                if (cut)
                    ur.pause(); // stall: the client's time-out ends it
                // drop: once the bytes so far are out, cut the connection
                res.write(part, () => cut && fault === "drop" && res.socket && res.socket.destroy());
            });
            return;
        }
        case "500":
            res.writeHead(500, { "Content-Type": "application/json" });
            return res.end(err(500));
        case "429":
            res.writeHead(429, { "Content-Type": "application/json", "Retry-After": "1" });
            return res.end(err(429));
        case "400":
            res.writeHead(400, { "Content-Type": "application/json" });
            return res.end(err(400));
        case "truncjson":
            res.writeHead(200, sse);
            return res.end('data: {"id":"x","choices":[{"index":0,"text":"a","logprobs":{"tokens":["tok\n\n');
        case "badjson":
            res.writeHead(200, sse);
            return res.end("data: this is not json\n\n");
        case "badsse":
            res.writeHead(200, sse);
            return res.end("<html>502 Bad Gateway</html>\n");
        case "eventerr":
            res.writeHead(200, sse);
            return res.end(`data: ${err(500)}\n\ndata: [DONE]\n\n`);
        case "hole":
            res.writeHead(200, sse);
            return res.end(": keep-alive\n\n");
        default:
            res.writeHead(500);
            return res.end("unknown fault");
        }
    });
}).listen(0, "127.0.0.1", function () {
    console.log(`listening ${this.address().port}`);
});
