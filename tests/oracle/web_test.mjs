// web_test.mjs - the web view of glimp serve and the HTML eval report in a
// real browser: Debian's headless Chromium driven by playwright-core.
//   node web_test.mjs serve BASE_URL API_KEY PROBLEM SHOT_DIR
//   node web_test.mjs report REPORT_HTML SHOT_DIR
// Prints "ok NAME" or "not ok NAME: why" per check; exits 1 on any failure.
// Every request the page makes to another origin is blocked and counted (a
// check fails if there is one); screenshots go to SHOT_DIR.
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [mode, ...args] = process.argv.slice(2);
const slow = process.env.GLIMP_SANITIZE ? 4 : 1;
let failed = 0;
function check(name, ok, why = "") {
  if (ok) console.log("ok " + name);
  else { failed++; console.log("not ok " + name + (why ? ": " + why : "")); }
}

const browser = await chromium.launch({
  executablePath: process.env.GLIMP_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
// only the page's own origin (and data: / file: for the report) may load
const foreign = [];
function guard(allowed) {
  return context.route("**/*", (route) => {
    const url = route.request().url();
    if (allowed(url)) return route.continue();
    foreign.push(url);
    return route.abort("blockedbyclient");
  });
}
const page = await context.newPage();
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));
page.on("console", (m) => { if (m.type() === "error" && !/401/.test(m.text())) pageErrors.push(m.text()); });
page.setDefaultTimeout(30000 * slow);

try {
  if (mode === "serve") await serve(...args);
  else if (mode === "report") await report(...args);
  else throw new Error("mode must be serve or report");
} catch (e) {
  check("no exception", false, e.stack || String(e));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

// ---------------------------------------------------------------- serve

async function sse(base, key, body) { // the API's answer to the same request
  const r = await fetch(base + "/v1/chat/completions", {
    method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + key },
  });
  const text = await r.text();
  const chunks = text.split("\n\n").filter((e) => e.startsWith("data: ") && e !== "data: [DONE]")
    .map((e) => JSON.parse(e.slice(6)));
  return { opened: chunks.filter((c) => c.glimp && c.glimp.step !== undefined).map((c) => c.glimp),
           final: chunks.find((c) => c.glimp && c.glimp.steps).glimp };
}

async function blocks(sel) {
  return page.$$eval(sel, (bs) => bs.map((b) => ({
    writer: b.getAttribute("data-writer"), h: b.getAttribute("data-h-init"),
    phase: b.dataset.phase, text: b.querySelector(".text").textContent })));
}

async function ask(text) {
  await page.fill("textarea", text);
  await page.press("textarea", "Enter");
}

async function serve(base, key, problem, shots) {
  const origin = new URL(base).origin;
  await guard((u) => u.startsWith(origin + "/") || u.startsWith("data:"));
  const chats = [];
  page.on("request", (r) => { if (r.url().endsWith("/v1/chat/completions")) chats.push(r.postDataJSON()); });

  const resp = await page.goto(base + "/");
  const csp = resp.headers()["content-security-policy"] || "";
  check("page: 200 with a CSP of default-src 'self'", resp.status() === 200 && csp.includes("default-src 'self'"), csp);
  check("page: one textarea", (await page.$$("textarea")).length === 1);

  // the server wants a key: the page asks for it once
  await page.waitForSelector("#keyform:not([hidden])");
  check("api key: asked for after a 401", true);
  await page.fill("#key", key);
  await page.click("#keyform button");
  await page.waitForFunction(() => document.getElementById("st-conn").textContent === "server up");
  check("status strip: read from /metrics", /^\d+$/.test(await page.textContent("#st-running")));

  // mid-answer: the stream arrives slowly (the network throttled), so the
  // page is caught while it thinks
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions",
                 { offline: false, latency: 0, downloadThroughput: 6000, uploadThroughput: -1 });
  await ask(problem);
  let mid = false;
  try {
    await page.waitForFunction(() => document.querySelectorAll(".step").length >= 5 &&
                               document.querySelector(".run").dataset.state === "thinking",
                               null, { timeout: 15000 * slow, polling: 20 });
    await page.screenshot({ path: shots + "/web-mid-answer.png" });
    mid = true;
  } catch (e) { /* too fast to catch: checked below */ }
  check("mid-answer: steps shown while it thinks", mid);
  await cdp.send("Network.emulateNetworkConditions",
                 { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.waitForSelector(".run[data-state=done]");

  // the step blocks equal the API's glimp metadata for the same request
  const body = chats[0];
  check("request: streamed chat with the page's routing", body && body.stream === true && body.glimp &&
        body.glimp.policy === "glimp" && typeof body.glimp.tau === "number", JSON.stringify(body));
  const api = await sse(base, key, body);
  const got = await blocks(".run .step");
  const want = api.final.steps;
  check("steps: as many blocks as the API's steps", got.length === want.length, `${got.length} vs ${want.length}`);
  check("steps: writers equal", got.map((b) => b.writer).join() === want.map((s) => s.writer).join());
  check("steps: H_init equal", got.every((b, i) => want[i] && (want[i].h_init === null ? b.h === "" : Number(b.h) === want[i].h_init)),
        JSON.stringify(got.map((b) => b.h)) + " vs " + JSON.stringify(want.map((s) => s.h_init)));
  check("steps: both writers seen on this problem", got.some((b) => b.writer === "slm") && got.some((b) => b.writer === "llm"));
  check("steps: text shown", got.every((b) => b.text.length > 0));
  const sm = api.final.summary;
  const pct = (x) => (100 * x).toFixed(1) + "%";
  check("counters: LLM share of steps", (await page.textContent(".c-share-steps")) === pct(sm.llm_share_steps));
  check("counters: LLM share of tokens", (await page.textContent(".c-share-tokens")) === pct(sm.llm_share_tokens));
  check("counters: tokens/s and TTFT", /^\d+\.\d$/.test(await page.textContent(".c-tps")) &&
        /^\d+\.\d\d s$/.test(await page.textContent(".c-ttft")));
  const dl = await page.$$eval(".summary dt, .summary dd", (e) => e.map((x) => x.textContent));
  const at = (k) => dl[dl.indexOf(k) + 1];
  check("summary: glimp run's figures", at("steps SLM") === String(sm.steps_slm) &&
        at("steps LLM") === String(sm.steps_llm) && at("thinking ended") === sm.think_end, JSON.stringify(dl));
  check("chart: a point per step and the threshold", (await page.$$(".chart svg .pt-slm, .chart svg .pt-llm")).length ===
        want.filter((s) => s.h_init !== null).length && (await page.$$(".chart svg line.tau")).length === 1);
  check("answer: shown", (await page.textContent(".answer")).length > 0);
  await page.screenshot({ path: shots + "/web-done.png", fullPage: true });

  // compare: the LLM alone, then GlimpRouter, side by side with their times
  await page.check("#compare");
  await ask(problem);
  await page.waitForFunction(() => document.querySelectorAll(".run[data-state=done]").length === 2);
  const runs = await page.$$eval(".run", (rs) => rs.map((r) => ({
    model: r.dataset.model, time: r.querySelector(".c-time").textContent,
    writers: [...r.querySelectorAll(".step")].map((b) => b.dataset.writer) })));
  check("compare: two runs, llm then glimp", runs.length === 2 && runs[0].model === "llm" && runs[1].model === "glimp");
  check("compare: the LLM alone writes every step", runs[0].writers.length > 0 && runs[0].writers.every((w) => w === "llm"));
  check("compare: both times shown", runs.every((r) => /^\d+\.\d\d s$/.test(r.time)), JSON.stringify(runs.map((r) => r.time)));
  await page.screenshot({ path: shots + "/web-compare.png", fullPage: true });
  await page.uncheck("#compare");

  // hostile model text: a crafted stream, answered in the browser
  const evil = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
  const chunk = (o) => "data: " + JSON.stringify(o) + "\n\n";
  const crafted =
    chunk({ choices: [{ index: 0, delta: { role: "assistant", reasoning_content: evil } }],
            glimp: { step: 0, writer: "llm", h_init: 1.5, phase: "think" } }) +
    chunk({ choices: [{ index: 0, delta: { content: evil } }],
            glimp: { step: 1, writer: "slm", h_init: 0.25, phase: "answer" } }) +
    chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
            glimp: { policy: evil, tau: 0.5, steps: [], summary: { steps_slm: 1, steps_llm: 1, think_end: evil } } }) +
    "data: [DONE]\n\n";
  await page.route("**/v1/chat/completions", (route) =>
    route.fulfill({ status: 200, contentType: "text/event-stream", body: crafted }));
  await ask("hostile");
  await page.waitForSelector(".run[data-state=done]");
  const hb = await blocks(".run .step");
  check("escaping: the step text shows as text", hb.length === 2 && hb[0].text === evil && hb[1].text === evil);
  check("escaping: no element made from it", (await page.$$(".run img, .run script")).length === 0);
  check("escaping: no script ran", await page.evaluate(() => window.__pwned === undefined));
  check("escaping: marked by writer and H_init", hb[0].writer === "llm" && hb[0].h === "1.5");
  await page.screenshot({ path: shots + "/web-hostile.png", fullPage: true });
  await page.unroute("**/v1/chat/completions");

  // phone width: nothing wider than the screen
  await page.setViewportSize({ width: 390, height: 844 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check("phone width: no horizontal scroll", wide <= 390, String(wide));
  await page.screenshot({ path: shots + "/web-phone.png", fullPage: true });

  check("no request to another origin", foreign.length === 0, foreign.join(" "));
  check("no page errors", pageErrors.length === 0, pageErrors.join(" | "));
}

// ---------------------------------------------------------------- report

async function report(file, shots) {
  await guard((u) => u.startsWith("file:") || u.startsWith("data:"));
  await page.goto(pathToFileURL(file).href);
  check("report: the table", (await page.$$("table.methods tbody tr")).length >= 2);
  check("report: the Pareto and H_init plots inline", (await page.$$("svg")).length >= 2 &&
        (await page.$$("img, object, iframe, embed")).length === 0);
  const problems = await page.$$("details.problem");
  check("report: a view per problem", problems.length >= 1);
  await page.$$eval("details.problem", (ds) => ds.forEach((d) => { d.open = true; }));
  const steps = await page.$$eval("details.problem .step", (bs) => bs.map((b) => ({
    writer: b.getAttribute("data-writer"), h: b.getAttribute("data-h-init"), text: b.textContent })));
  check("report: steps marked by writer and H_init", steps.length > 0 &&
        steps.every((s) => (s.writer === "slm" || s.writer === "llm") && s.h !== null));
  check("report: expected and given answers", (await page.$$("details.problem .expected")).length === problems.length &&
        (await page.$$("details.problem .given")).length >= problems.length);
  check("report: step text shown", steps.every((s) => s.text.length > 0));
  const evil = await page.$$eval("details.problem", (ds) => ds.map((d) => d.textContent).join("\n"));
  if (process.env.GLIMP_HOSTILE)
    check("report: hostile text shows as text", evil.includes("<script>window.__pwned=1</script>") &&
          evil.includes("<img src=x onerror="));
  check("report: no script ran", await page.evaluate(() => window.__pwned === undefined));
  check("report: no element made from model text", (await page.$$("details.problem img, details.problem script")).length === 0);
  await page.screenshot({ path: shots + "/" + (process.env.GLIMP_HOSTILE ? "report-hostile" : "report") + ".png",
                         fullPage: true });
  check("report: no request to another origin", foreign.length === 0, foreign.join(" "));
  check("report: no page errors", pageErrors.length === 0, pageErrors.join(" | "));
}
