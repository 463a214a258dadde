// render.mjs - the reference chat-template renderer for glimp's tests: the
// real Jinja template run by @huggingface/jinja.
//
// stdin:  {"template": "...", "bos_token": "...", "eos_token": "...",
//          "cases": [{"messages": [...], "add_generation_prompt": true,
//                     "enable_thinking": false}, ...]}
// stdout: a JSON array with one rendered string per case.
// A case without enable_thinking leaves it undefined, as transformers does
// when the caller does not pass it. Any failure exits 1 with a message.
import { Template } from "@huggingface/jinja";

async function readStdin() {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
}

function fail(msg) {
    process.stderr.write(`render.mjs: ${msg}\n`);
    process.exit(1);
}

let req;
try {
    req = JSON.parse(await readStdin());
} catch (e) {
    fail(`request is not valid JSON: ${e.message}`);
}
if (typeof req?.template !== "string") fail("request needs a string 'template'");
if (!Array.isArray(req.cases)) fail("request needs an array 'cases'");

let template;
try {
    template = new Template(req.template);
} catch (e) {
    fail(`template does not parse: ${e.message}`);
}

const out = req.cases.map((c, i) => {
    if (!Array.isArray(c?.messages)) fail(`case ${i}: needs an array 'messages'`);
    const ctx = {
        messages: c.messages,
        add_generation_prompt: c.add_generation_prompt ?? false,
        bos_token: req.bos_token ?? "",
        eos_token: req.eos_token ?? "",
    };
    if (c.enable_thinking !== undefined && c.enable_thinking !== null)
        ctx.enable_thinking = c.enable_thinking;
    try {
        return template.render(ctx);
    } catch (e) {
        fail(`case ${i}: render failed: ${e.message}`);
    }
});
process.stdout.write(JSON.stringify(out));
