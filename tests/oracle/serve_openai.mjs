// serve_openai.mjs - the official OpenAI client (npm openai, pinned in
// package.json) against a glimp serve the calling test started (chat whole,
// streamed and continued with logprobs; completions; errors):
//   node serve_openai.mjs BASE_URL API_KEY PROBLEM
// Prints "ok NAME" or "FAIL NAME: why" per check; exits 1 on any failure.
import OpenAI from "openai";

const [base, key, problem] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base + "/v1", apiKey: key, maxRetries: 0 });
let failed = 0;
const check = (name, ok, why = "") => {
    console.log(ok ? `ok ${name}` : `FAIL ${name}: ${why}`);
    if (!ok) failed++;
};

const messages = [{ role: "user", content: problem }];

// the model list
const models = [];
for await (const m of client.models.list()) models.push(m.id);
check("models.list: glimp, slm, llm", models.join() === "glimp,slm,llm", models.join());

// chat, whole: reasoning and answer in their fields, the steps
const chat = await client.chat.completions.create({ model: "glimp", messages, temperature: 0 });
const msg = chat.choices[0].message;
check("chat: reasoning_content", typeof msg.reasoning_content === "string" && msg.reasoning_content.length > 0);
check("chat: reasoning equals reasoning_content", msg.reasoning === msg.reasoning_content);
check("chat: content", typeof msg.content === "string" && msg.content.includes("boxed"), JSON.stringify(msg.content));
check("chat: glimp steps", Array.isArray(chat.glimp.steps) && chat.glimp.steps.length > 1 &&
    chat.glimp.steps.every((s, i) => s.index === i && (s.writer === "slm" || s.writer === "llm") && "h_init" in s && s.n_tokens >= 0));
check("chat: usage reasoning tokens", chat.usage.completion_tokens_details.reasoning_tokens > 0);

// chat, streamed: the same text, steps opened in order, usage at the end
const stream = await client.chat.completions.create({
    model: "glimp", messages, temperature: 0, stream: true, stream_options: { include_usage: true },
});
let reasoning = "", content = "", steps = [], usage = null, finish = null;
for await (const chunk of stream) {
    for (const c of chunk.choices) {
        reasoning += c.delta.reasoning_content ?? "";
        content += c.delta.content ?? "";
        if (c.finish_reason) finish = c.finish_reason;
    }
    if (chunk.glimp && "step" in chunk.glimp) steps.push(chunk.glimp);
    if (chunk.usage) usage = chunk.usage;
}
check("stream: reasoning as whole", reasoning === msg.reasoning_content);
check("stream: content as whole", content === msg.content);
check("stream: steps open in order", steps.length === chat.glimp.steps.length &&
    steps.every((s, i) => s.step === i && s.writer === chat.glimp.steps[i].writer));
check("stream: usage", usage && usage.completion_tokens === chat.usage.completion_tokens, JSON.stringify(usage));
check("stream: finish_reason", finish === "stop", finish);

// per-request routing through the model name
const byName = await client.chat.completions.create({ model: "glimp:tau=inf", messages, temperature: 0 });
check("model glimp:tau=inf", byName.glimp.steps.filter(s => s.phase === "think").every(s => s.writer === "slm"));

// completions: logprobs and token-id prompts
const comp = await client.completions.create({
    model: "slm", prompt: "x = 1. a:", max_tokens: 5, temperature: 0, logprobs: 5, return_token_ids: true,
});
const lp = comp.choices[0].logprobs;
check("completions: logprobs", lp.tokens.length === 5 && lp.token_logprobs.every(x => x <= 0) &&
    lp.top_logprobs.every(t => Object.keys(t).length >= 1 && Object.keys(t).length <= 5) && lp.text_offset.length === 5);
check("completions: top logprob is the greedy token", lp.tokens.every((t, i) => Math.max(...Object.values(lp.top_logprobs[i])) === lp.token_logprobs[i]));
const ids = comp.choices[0].prompt_token_ids;
const comp2 = await client.completions.create({ model: "slm", prompt: ids, max_tokens: 5, temperature: 0 });
check("completions: token-id prompt", comp2.choices[0].text === comp.choices[0].text,
    JSON.stringify([comp.choices[0].text, comp2.choices[0].text]));
const cs = await client.completions.create({ model: "slm", prompt: "x = 1. a:", max_tokens: 5, temperature: 0, stream: true });
let ctext = "";
for await (const chunk of cs) ctext += chunk.choices[0]?.text ?? "";
check("completions: streamed", ctext === comp.choices[0].text, JSON.stringify(ctext));

// text mode: a continued assistant message (vLLM's extra fields pass
// through the SDK as they are) with chat logprobs, whole and streamed
const partial = [...messages, { role: "assistant", content: "x = 1. a: 1 + 1.\n\n" }];
const tm = await client.chat.completions.create({
    model: "slm", messages: partial, temperature: 0, max_tokens: 8, logprobs: true, top_logprobs: 2,
    continue_final_message: true, add_generation_prompt: false,
});
const tlp = tm.choices[0].logprobs?.content ?? [];
check("chat logprobs: content entries", tlp.length === 8 && tlp.every(e => typeof e.token === "string" &&
    e.logprob <= 0 && Array.isArray(e.bytes) && e.top_logprobs.length === 2 && e.top_logprobs[0].token === e.token),
    JSON.stringify(tm.choices[0].logprobs));
check("chat logprobs: the tokens spell the continuation", tlp.map(e => e.token).join("").replace("</think>", "") ===
    (tm.choices[0].message.reasoning_content ?? "") + (tm.choices[0].message.content ?? ""));
const tms = await client.chat.completions.create({
    model: "slm", messages: partial, temperature: 0, max_tokens: 8, logprobs: true, top_logprobs: 2,
    continue_final_message: true, stream: true,
});
let slp = [];
for await (const chunk of tms) for (const c of chunk.choices) slp = slp.concat(c.logprobs?.content ?? []);
check("chat logprobs: streamed as whole", JSON.stringify(slp) === JSON.stringify(tlp));

// the SDK's own error classes
try {
    await new OpenAI({ baseURL: base + "/v1", apiKey: "wrong", maxRetries: 0 }).models.list();
    check("bad key: AuthenticationError", false, "no error");
} catch (e) {
    check("bad key: AuthenticationError", e instanceof OpenAI.AuthenticationError && e.status === 401, String(e));
}
try {
    await client.chat.completions.create({ model: "glimp", messages, temperature: -1 });
    check("bad parameter: BadRequestError", false, "no error");
} catch (e) {
    check("bad parameter: BadRequestError", e instanceof OpenAI.BadRequestError && e.status === 400 &&
        e.param === "temperature", String(e));
}
try {
    await client.chat.completions.create({ model: "glimp", messages: [] });
    check("empty messages: BadRequestError", false, "no error");
} catch (e) {
    check("empty messages: BadRequestError", e instanceof OpenAI.BadRequestError && e.param === "messages", String(e));
}
process.exit(failed ? 1 : 0);
