// app.js - the web view's client. It talks to the server only through the
// API every client uses (/v1/chat/completions streamed, /metrics), so it
// shows exactly what clients get. Model text is untrusted: it reaches the
// page only through textContent and setAttribute, never as markup.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";

  // ---------------------------------------------------------------- the key
  // A server started with --api-key answers 401: the page asks for the key
  // once, keeps it in sessionStorage (this tab only) and retries.
  let key = sessionStorage.getItem("glimp-api-key") || "";
  let keyWaiters = [];
  function needKey() {
    $("keyform").hidden = false;
    $("key").focus();
    return new Promise((resolve) => keyWaiters.push(resolve));
  }
  $("keyform").addEventListener("submit", (e) => {
    e.preventDefault();
    key = $("key").value.trim();
    sessionStorage.setItem("glimp-api-key", key);
    $("keyform").hidden = true;
    keyWaiters.splice(0).forEach((r) => r());
  });
  async function api(path, opts = {}) {
    for (;;) {
      const headers = {};
      if (opts.body) headers["Content-Type"] = "application/json";
      if (key) headers.Authorization = "Bearer " + key;
      const r = await fetch(path, { ...opts, headers });
      if (r.status !== 401) return r;
      await needKey();
    }
  }

  // ---------------------------------------------------------------- helpers
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const fmtH = (h) => (typeof h === "number" ? h.toFixed(3) : "n/a");
  const pct = (x) => (typeof x === "number" && isFinite(x) ? (100 * x).toFixed(1) + "%" : "–");
  const secs = (s) => (typeof s === "number" && isFinite(s) ? s.toFixed(2) + " s" : "–");

  // ---------------------------------------------------------------- status
  // The server's load from /metrics (Prometheus text), every 2 s.
  function parseMetrics(text) {
    const m = {};
    for (const line of text.split("\n")) {
      if (!line || line[0] === "#") continue;
      const i = line.lastIndexOf(" ");
      m[line.slice(0, i)] = Number(line.slice(i + 1));
    }
    return m;
  }
  function sum(m, prefix) {
    let s = 0;
    for (const k in m) if (k.startsWith(prefix)) s += m[k];
    return s;
  }
  async function pollStatus() {
    try {
      const r = await api("/metrics");
      if (!r.ok) throw new Error("HTTP " + r.status);
      const m = parseMetrics(await r.text());
      $("st-conn").textContent = "server up";
      $("st-conn").className = "";
      $("st-running").textContent = m["glimp:num_requests_running"] ?? "–";
      $("st-waiting").textContent = m["glimp:num_requests_waiting"] ?? "–";
      $("st-done").textContent = sum(m, "glimp:request_success_total");
      $("st-tokens").textContent =
        (m['glimp:generation_tokens_total{writer="slm"}'] ?? 0) + " / " +
        (m['glimp:generation_tokens_total{writer="llm"}'] ?? 0);
    } catch (e) {
      $("st-conn").textContent = "server unreachable";
      $("st-conn").className = "bad";
    }
    setTimeout(pollStatus, 2000);
  }

  // ---------------------------------------------------------------- controls
  $("tau").addEventListener("input", () => {
    $("tau-out").textContent = Number($("tau").value).toFixed(2);
  });
  function routing() {
    const policy = $("policy").value;
    const g = { policy, draft: Number($("draft").value) || 0 };
    if (policy === "glimp") g.tau = Number($("tau").value);
    if (policy === "share" || policy === "random") g.share = Number($("share").value);
    return g;
  }

  // ---------------------------------------------------------------- a run
  // One request and what it shows: step blocks, the chart, the counters.
  function newRun(title) {
    const node = $("run-tpl").content.firstElementChild.cloneNode(true);
    node.querySelector(".run-title").textContent = title;
    $("runs").appendChild(node);
    const q = (s) => node.querySelector(s);
    return {
      node, steps: q(".steps"), chart: q(".chart"), answer: q(".answer"), summary: q(".summary"),
      error: q(".error"), state: q(".c-state"),
      c: { shareSteps: q(".c-share-steps"), shareTokens: q(".c-share-tokens"), tps: q(".c-tps"),
           ttft: q(".c-ttft"), time: q(".c-time") },
      points: [], cur: null, tokens: [0, 0], nSteps: [0, 0], tau: null,
      t0: 0, tFirst: 0,
    };
  }

  function setState(run, s) {
    run.node.dataset.state = s;
    run.state.textContent = s;
  }

  function openStep(run, g) {
    const w = g.writer === "llm" ? "llm" : "slm";
    const block = el("div", "step");
    block.dataset.writer = w;
    block.dataset.hInit = typeof g.h_init === "number" ? String(g.h_init) : "";
    block.dataset.step = String(g.step);
    block.dataset.phase = g.phase || "think";
    const head = el("span", "head");
    head.appendChild(el("span", "tag " + w, w.toUpperCase()));
    head.appendChild(document.createTextNode(
      " step " + g.step + (g.phase === "answer" ? " (answer)" : "") + " · H_init " + fmtH(g.h_init)));
    block.appendChild(head);
    const text = el("span", "text");
    block.appendChild(text);
    run.steps.appendChild(block);
    run.cur = { w: w === "llm" ? 1 : 0, text };
    run.nSteps[run.cur.w]++;
    run.points.push({ step: g.step, h: g.h_init, w });
    drawChart(run);
  }

  function drawChart(run) {
    const W = 320, H = 200, L = 34, R = 8, T = 10, B = 26;
    const hs = run.points.map((p) => p.h).filter((h) => typeof h === "number" && isFinite(h));
    const tau = typeof run.tau === "number" && isFinite(run.tau) ? run.tau : null;
    const ymax = Math.max(1, ...hs, tau ?? 0) * 1.1;
    const n = Math.max(run.points.length, 2);
    const x = (i) => L + ((W - L - R) * i) / (n - 1);
    const y = (h) => T + (H - T - B) * (1 - h / ymax);
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
                           "aria-label": "H_init per step, threshold dashed" });
    for (let k = 0; k <= 4; k++) {
      const v = (ymax * k) / 4;
      s.appendChild(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
      s.appendChild(svg("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" }, v.toFixed(2)));
    }
    s.appendChild(svg("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));
    s.appendChild(svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
    s.appendChild(svg("text", { x: (L + W) / 2, y: H - 6, "text-anchor": "middle" },
                      "step (circle SLM, square LLM)"));
    s.appendChild(svg("text", { x: 10, y: (T + H - B) / 2, "text-anchor": "middle",
                                transform: `rotate(-90 10 ${(T + H - B) / 2})` }, "H_init"));
    if (tau !== null) {
      s.appendChild(svg("line", { x1: L, x2: W - R, y1: y(tau), y2: y(tau), class: "tau" }));
      s.appendChild(svg("text", { x: W - R, y: y(tau) - 3, "text-anchor": "end", class: "tau-label" },
                        "tau " + tau.toFixed(2)));
    }
    run.points.forEach((p, i) => {
      if (typeof p.h !== "number") return;
      const cx = x(i), cy = y(p.h);
      const mark = p.w === "llm"
        ? svg("rect", { x: cx - 3.5, y: cy - 3.5, width: 7, height: 7, class: "pt-llm" })
        : svg("circle", { cx, cy, r: 3.5, class: "pt-slm" });
      mark.appendChild(svg("title", {}, `step ${p.step}: ${p.w.toUpperCase()}, H_init ${fmtH(p.h)}`));
      s.appendChild(mark);
    });
    run.chart.replaceChildren(s);
  }

  function counters(run, final) {
    const steps = run.nSteps[0] + run.nSteps[1], toks = run.tokens[0] + run.tokens[1];
    const sm = final && final.summary;
    run.c.shareSteps.textContent = pct(sm ? sm.llm_share_steps : steps ? run.nSteps[1] / steps : NaN);
    run.c.shareTokens.textContent = pct(sm ? sm.llm_share_tokens : toks ? run.tokens[1] / toks : NaN);
    const now = performance.now();
    if (run.tFirst) {
      const dt = (now - run.tFirst) / 1000;
      if (dt > 0) run.c.tps.textContent = (toks / dt).toFixed(1);
      run.c.ttft.textContent = secs((run.tFirst - run.t0) / 1000);
    }
    run.c.time.textContent = secs((now - run.t0) / 1000);
  }

  // glimp run's summary, as the last chunk carries it
  const SUMMARY = [
    ["steps_slm", "steps SLM", String], ["steps_llm", "steps LLM", String],
    ["tokens_slm", "tokens SLM", String], ["tokens_llm", "tokens LLM", String],
    ["llm_share_steps", "LLM share of steps", pct], ["llm_share_tokens", "LLM share of tokens", pct],
    ["wall_s", "wall", secs], ["ttft_s", "time to first token", secs],
    ["slm_s", "SLM time", secs], ["llm_s", "LLM time", secs], ["sync_s", "sync", secs],
    ["draft_proposed", "draft proposed", String], ["draft_accepted", "draft accepted", String],
    ["rewrites", "rewrites", String], ["think_end", "thinking ended", String],
  ];
  function showSummary(run, g) {
    const dl = run.summary;
    dl.replaceChildren();
    const add = (k, v) => { dl.appendChild(el("dt", "", k)); dl.appendChild(el("dd", "", v)); };
    add("policy", String(g.policy) + (g.policy === "glimp" ? ", tau " + g.tau : "") +
        (g.policy === "share" || g.policy === "random" ? ", share " + g.share : ""));
    for (const [k, label, f] of SUMMARY)
      if (g.summary && k in g.summary) add(label, f(g.summary[k]));
    dl.hidden = false;
  }

  function onChunk(run, c) {
    const g = c.glimp;
    if (g && g.step !== undefined) openStep(run, g);
    if (g && g.steps) { // the last chunk: the whole routing
      run.final = g;
      if (g.policy === "glimp") run.tau = typeof g.tau === "number" ? g.tau : null;
      drawChart(run);
      showSummary(run, g);
    }
    const d = c.choices && c.choices[0] && c.choices[0].delta;
    if (!d) return;
    const r = typeof d.reasoning_content === "string" ? d.reasoning_content : "";
    const a = typeof d.content === "string" ? d.content : "";
    if (!r && !a) return;
    if (!run.tFirst) run.tFirst = performance.now();
    if (!run.cur) openStep(run, { step: run.points.length, writer: "slm", h_init: null });
    run.cur.text.appendChild(document.createTextNode(r + a));
    if (a) run.answer.appendChild(document.createTextNode(a));
    run.tokens[run.cur.w]++;
    counters(run);
  }

  async function stream(run, body) {
    run.t0 = performance.now();
    run.tau = body.glimp && body.glimp.policy === "glimp" ? body.glimp.tau : null;
    setState(run, "thinking");
    try {
      const r = await api("/v1/chat/completions", { method: "POST", body: JSON.stringify(body) });
      if (!r.ok) {
        let msg = "HTTP " + r.status;
        try { msg += ": " + (await r.json()).error.message; } catch (e) { /* not JSON */ }
        throw new Error(msg);
      }
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "", done = false;
      while (!done) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buf += dec.decode(value, { stream: true });
        let at;
        while ((at = buf.indexOf("\n\n")) >= 0) {
          const ev = buf.slice(0, at);
          buf = buf.slice(at + 2);
          for (const line of ev.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            const data = line.slice(6);
            if (data === "[DONE]") { done = true; break; }
            onChunk(run, JSON.parse(data));
          }
        }
      }
      counters(run, run.final);
      setState(run, "done");
    } catch (e) {
      run.error.textContent = String(e.message || e);
      run.error.hidden = false;
      setState(run, "failed");
    }
  }

  function requestBody(prompt, model, glimp) {
    const b = {
      model, stream: true, stream_options: { include_usage: true },
      messages: [{ role: "user", content: prompt }],
      chat_template_kwargs: { enable_thinking: $("think").checked },
    };
    if (glimp) b.glimp = glimp;
    return b;
  }

  let busy = false;
  async function send() {
    const prompt = $("prompt").value.trim();
    if (!prompt || busy) return;
    busy = true;
    $("send").disabled = true;
    const compare = $("compare").checked;
    $("runs").replaceChildren();
    $("runs").classList.toggle("compare", compare);
    const g = routing();
    // compare: the large model alone first, then the router, one after the
    // other so that neither slows the other down
    const runs = compare
      ? [[newRun("LLM alone"), requestBody(prompt, "llm", null)],
         [newRun("GlimpRouter (" + g.policy + ")"), requestBody(prompt, "glimp", g)]]
      : [[newRun("GlimpRouter (" + g.policy + ")"), requestBody(prompt, "glimp", g)]];
    for (const [run, body] of runs) {
      run.node.dataset.model = body.model;
      setState(run, "waiting");
    }
    for (const [run, body] of runs) await stream(run, body);
    busy = false;
    $("send").disabled = false;
  }

  $("ask").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  pollStatus();
})();
