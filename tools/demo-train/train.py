#!/usr/bin/python3
"""train.py - train glimp's demo models: a PyTorch decoder that computes
exactly what glimp's qwen3 forward pass computes (src/model/forward.c),
trained with AdamW on gen.py's documents, exported to GGUF through
`glimp mkmodel --weights`.

Subcommands:
    train   train one model (a preset size or explicit shape) and export it
    export  write a GGUF file from a checkpoint
    eval    teacher-forced accuracy and first-token entropy on a test set
    equiv   write the forward-pass fixture of tests/test_demo_equiv.c

Text never passes through a Python tokenizer: the glimp binary encodes it
with the built-in vocabulary of `glimp mkmodel` (see README.md). Runs on
Debian's python3-torch, one thread by default.
"""

import os

# One thread unless told otherwise, before torch starts its pools.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import bisect
import json
import math
import re
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_GLIMP = os.path.join(REPO, "build", "glimp")

# Model shapes. small and large are the demo pair (the 2-layer
# 64-wide and 4-layer 192-wide); tiny is the equivalence fixture.
PRESETS = {
    "small": dict(n_layer=2, n_embd=64, n_head=4, n_head_kv=2, head_dim=16, n_ff=192,
                  tied=True, lr=1e-2),
    "large": dict(n_layer=4, n_embd=192, n_head=6, n_head_kv=2, head_dim=32, n_ff=576,
                  tied=True, lr=2e-3),
    "tiny": dict(n_layer=2, n_embd=32, n_head=4, n_head_kv=2, head_dim=8, n_ff=64,
                 tied=False, lr=3e-3),
}

# Special tokens of the built-in vocabulary that never occur in the data
# serve as markers when the corpus goes through `glimp tokenize`.
MARK_DOC = "<|endoftext|>"   # between documents
MARK_BEGIN = "<|im_start|>"  # a span of interest opens
MARK_END = "<think>"         # and closes


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ glimp


class Glimp:
    """The glimp binary and a GGUF file holding its built-in vocabulary."""

    def __init__(self, binary, workdir):
        if not os.access(binary, os.X_OK):
            sys.exit(f"train.py: no glimp binary at {binary} (build it, or pass --glimp)")
        self.bin = binary
        os.makedirs(workdir, exist_ok=True)
        self.vocab = os.path.join(workdir, "vocab.gguf")
        out = self.run("mkmodel", "-o", self.vocab, "--layers", "1", "--embd", "32",
                       "--heads", "2", "--kv-heads", "1", "--ff", "32", "--ctx", "64")
        m = re.search(r"vocab (\d+)", out)
        if not m:
            sys.exit(f"train.py: cannot read the vocabulary size from: {out}")
        self.n_vocab = int(m.group(1))
        ids = self.tokenize(MARK_DOC + MARK_BEGIN + MARK_END + "\n\n")
        if len(ids) != 4:
            sys.exit(f"train.py: unexpected marker tokens {ids}")
        self.doc_id, self.begin_id, self.end_id, self.nl2_id = ids

    def run(self, *args):
        r = subprocess.run([self.bin, *args], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"train.py: glimp {' '.join(args)} failed:\n{r.stderr}")
        return r.stdout

    def tokenize(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8",
                                         delete=False) as f:
            f.write(text)
            path = f.name
        try:
            return json.loads(self.run("tokenize", "-m", self.vocab, "-f", path))
        finally:
            os.unlink(path)


def encode_rows(g, rows):
    """Token ids of every row's text, with the token range of each span.

    Each row is {"text", "spans": [[start, end, kind], ...]} (character
    offsets, increasing, not overlapping). The corpus goes through glimp
    once with markers around the spans and once without; both must agree,
    so the markers provably do not change the tokenization."""
    plain, marked = [], []
    for r in rows:
        t, pos, parts = r["text"], 0, []
        for s, e, _ in r["spans"]:
            parts += [t[pos:s], MARK_BEGIN, t[s:e], MARK_END]
            pos = e
        parts.append(t[pos:])
        marked.append("".join(parts))
        plain.append(t)
    ids_m = g.tokenize(MARK_DOC.join(marked))
    ids_p = g.tokenize(MARK_DOC.join(plain))
    docs, cur, spans, cur_spans, open_at = [], [], [], [], None
    for i in ids_m + [g.doc_id]:
        if i == g.doc_id:
            docs.append(cur)
            spans.append(cur_spans)
            cur, cur_spans = [], []
        elif i == g.begin_id:
            open_at = len(cur)
        elif i == g.end_id:
            cur_spans.append((open_at, len(cur)))
        else:
            cur.append(i)
    flat = [i for d in docs for i in d + [g.doc_id]][:-1]
    if flat != ids_p:
        sys.exit("train.py: markers changed the tokenization; span boundaries must fall "
                 "on pre-token boundaries")
    if len(docs) != len(rows):
        sys.exit(f"train.py: {len(rows)} documents in, {len(docs)} out")
    for r, sp in zip(rows, spans):
        if len(sp) != len(r["spans"]):
            sys.exit(f"train.py: {r.get('id')}: {len(r['spans'])} spans, {len(sp)} found")
    return docs, spans


def load_jsonl(path, limit=None):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
                if limit and len(rows) >= limit:
                    break
    return rows


def train_rows(rows):
    """Training rows as text with spans; the prompt is a span of its own."""
    out = []
    for r in rows:
        spans = [[0, r["prompt_len"], "prompt"]] + r["spans"]
        out.append({"id": r["id"], "text": r["text"], "spans": spans})
    return out


def test_rows(rows, template):
    """Test problems as full documents: prompt, then the reference solution."""
    out = []
    for r in rows:
        prompt = template.replace("{problem}", r["problem"])
        n = len(prompt)
        spans = [[0, n, "prompt"]] + [[s + n, e + n, k] for s, e, k in r["spans"]]
        out.append({"id": r["id"], "text": prompt + r["solution"], "spans": spans})
    return out


class Data:
    """Tokenized documents, loss masks and span kinds."""

    def __init__(self, g, rows):
        docs, spans = encode_rows(g, rows)
        self.ids = [torch.tensor(d, dtype=torch.long) for d in docs]
        self.spans = []  # per doc: [(tok_start, tok_end, kind)]
        self.masks = []  # per doc: bool per token, True = a loss target
        for d, sp, r in zip(docs, spans, rows):
            m = torch.ones(len(d), dtype=torch.bool)
            kinds = []
            for (a, b), (_, _, kind) in zip(sp, r["spans"]):
                if kind in ("prompt", "wrong"):
                    m[a:b] = False
                kinds.append((a, b, kind))
            self.masks.append(m)
            self.spans.append(kinds)
        self.lens = torch.tensor([len(d) for d in docs])
        self.nl2 = g.nl2_id

    def __len__(self):
        return len(self.ids)

    def batch(self, idx):
        """Right-padded inputs, targets and target mask for documents idx."""
        T = int(max(self.lens[i] for i in idx)) - 1
        x = torch.zeros(len(idx), T, dtype=torch.long)
        y = torch.zeros(len(idx), T, dtype=torch.long)
        m = torch.zeros(len(idx), T, dtype=torch.bool)
        for b, i in enumerate(idx):
            d, n = self.ids[i], int(self.lens[i]) - 1
            x[b, :n] = d[:-1]
            y[b, :n] = d[1:]
            m[b, :n] = self.masks[i][1:]
        return x, y, m


# ------------------------------------------------------------------ model


class Config:
    def __init__(self, n_vocab, n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff, tied,
                 rope_base=10000.0, rms_eps=1e-6, n_ctx=1024):
        self.n_vocab, self.n_layer, self.n_embd = n_vocab, n_layer, n_embd
        self.n_head, self.n_head_kv, self.head_dim, self.n_ff = n_head, n_head_kv, head_dim, n_ff
        self.tied, self.n_ctx = tied, n_ctx
        # glimp reads both from float32 GGUF keys: train with those values.
        self.rope_base = float(torch.tensor(rope_base, dtype=torch.float32))
        self.rms_eps = float(torch.tensor(rms_eps, dtype=torch.float32))

    def to_dict(self):
        return dict(vars(self))

    @staticmethod
    def from_dict(d):
        return Config(**d)


def rms_norm(x, w, eps):
    """glimp's rms_norm: x / sqrt(mean(x^2) + eps) * w over the last axis."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class Qwen3(torch.nn.Module):
    """glimp's qwen3 forward pass (src/model/forward.c), layer by layer:

        x = token_embd[id]
        per block:  h = rmsnorm(x) * attn_norm
                    q, k, v = h Wq^T, h Wk^T, h Wv^T     (no biases)
                    q, k = rmsnorm per head * q_norm / k_norm
                    q, k = NeoX RoPE: pair (i, i + d/2) turns by
                           pos * base^(-2i/d)
                    attention, scale 1/sqrt(head_dim), causal; query head h
                    reads key/value head h / (n_head / n_head_kv)
                    x += att Wo^T
                    h = rmsnorm(x) * ffn_norm
                    x += (silu(h Wg^T) * (h Wu^T)) Wd^T
        logits = (rmsnorm(x) * output_norm) W_out^T    (W_out = token_embd if tied)

    Parameters are stored as ggml lays the GGUF tensors out: a weight from
    n_in to n_out is an (n_out, n_in) matrix, rows of n_in (ne0 = n_in)."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        P = torch.nn.Parameter
        e, q, kv, ff = c.n_embd, c.n_head * c.head_dim, c.n_head_kv * c.head_dim, c.n_ff
        self.tok_embd = P(torch.empty(c.n_vocab, e))
        self.blocks = torch.nn.ModuleList()
        for _ in range(c.n_layer):
            b = torch.nn.Module()
            b.attn_norm = P(torch.ones(e))
            b.wq = P(torch.empty(q, e))
            b.wk = P(torch.empty(kv, e))
            b.wv = P(torch.empty(kv, e))
            b.wo = P(torch.empty(e, q))
            b.q_norm = P(torch.ones(c.head_dim))
            b.k_norm = P(torch.ones(c.head_dim))
            b.ffn_norm = P(torch.ones(e))
            b.gate = P(torch.empty(ff, e))
            b.up = P(torch.empty(ff, e))
            b.down = P(torch.empty(e, ff))
            self.blocks.append(b)
        self.output_norm = P(torch.ones(e))
        self.output = None if c.tied else P(torch.empty(c.n_vocab, e))
        half = c.head_dim // 2
        inv = torch.tensor([c.rope_base ** (-2.0 * i / c.head_dim) for i in range(half)],
                           dtype=torch.float64)
        self.register_buffer("inv_freq", inv, persistent=False)

    def init_weights(self, gen, std=0.02):
        """GPT-2 style: normal(0, std), residual outputs scaled by 1/sqrt(2L)."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() == 1:
                    p.fill_(1.0)
                    continue
                s = std / math.sqrt(2 * self.c.n_layer) if name.endswith(("wo", "down")) else std
                p.copy_(torch.randn(p.shape, generator=gen) * s)

    def rope(self, T):
        """cos and sin of every (position, pair), float64 angles as glimp."""
        pos = torch.arange(T, dtype=torch.float64)
        a = pos[:, None] * self.inv_freq[None, :]
        return a.cos().float(), a.sin().float()

    def forward(self, ids):
        c = self.c
        B, T = ids.shape
        H, Hk, D = c.n_head, c.n_head_kv, c.head_dim
        cos, sin = self.rope(T)
        half = D // 2
        mask = torch.full((T, T), float("-inf")).triu(1)

        def rope(t):  # (B, heads, T, D), NeoX pairs (i, i + half)
            x0, x1 = t[..., :half], t[..., half:]
            return torch.cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], -1)

        x = self.tok_embd[ids]
        for b in self.blocks:
            h = rms_norm(x, b.attn_norm, c.rms_eps)
            qkv = F.linear(h, torch.cat([b.wq, b.wk, b.wv]))
            q, k, v = qkv.split([H * D, Hk * D, Hk * D], -1)
            q = rms_norm(q.view(B, T, H, D), b.q_norm, c.rms_eps).transpose(1, 2)
            k = rms_norm(k.view(B, T, Hk, D), b.k_norm, c.rms_eps).transpose(1, 2)
            v = v.view(B, T, Hk, D).transpose(1, 2)
            q, k = rope(q), rope(k)
            if H != Hk:
                k = k.repeat_interleave(H // Hk, dim=1)
                v = v.repeat_interleave(H // Hk, dim=1)
            att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D)) + mask
            o = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * D)
            x = x + F.linear(o, b.wo)
            h = rms_norm(x, b.ffn_norm, c.rms_eps)
            gu = F.linear(h, torch.cat([b.gate, b.up]))
            g, u = gu.split([c.n_ff, c.n_ff], -1)
            x = x + F.linear(F.silu(g) * u, b.down)
        x = rms_norm(x, self.output_norm, c.rms_eps)
        return F.linear(x, self.tok_embd if self.output is None else self.output)

    def gguf_tensors(self):
        """(GGUF tensor name, tensor) in glimp mkmodel's order."""
        out = [("token_embd.weight", self.tok_embd)]
        for i, b in enumerate(self.blocks):
            p = f"blk.{i}."
            out += [(p + "attn_norm.weight", b.attn_norm), (p + "attn_q.weight", b.wq),
                    (p + "attn_k.weight", b.wk), (p + "attn_v.weight", b.wv),
                    (p + "attn_output.weight", b.wo), (p + "attn_q_norm.weight", b.q_norm),
                    (p + "attn_k_norm.weight", b.k_norm), (p + "ffn_norm.weight", b.ffn_norm),
                    (p + "ffn_gate.weight", b.gate), (p + "ffn_up.weight", b.up),
                    (p + "ffn_down.weight", b.down)]
        out.append(("output_norm.weight", self.output_norm))
        if self.output is not None:
            out.append(("output.weight", self.output))
        return out


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def export_gguf(g, model, path, wtype="F32", name="glimp demo model"):
    """Write every tensor as raw little-endian float32 and let glimp mkmodel
    build the GGUF file from them."""
    c = model.c
    with tempfile.TemporaryDirectory(prefix="glimp-weights-") as d:
        for tname, t in model.gguf_tensors():
            a = t.detach().to(torch.float32).contiguous().numpy()
            a.astype("<f4").tofile(os.path.join(d, tname + ".f32"))
        out = g.run("mkmodel", "-o", path, "--arch", "qwen3", "--layers", str(c.n_layer),
                    "--embd", str(c.n_embd), "--heads", str(c.n_head),
                    "--kv-heads", str(c.n_head_kv), "--head-dim", str(c.head_dim),
                    "--ff", str(c.n_ff), "--ctx", str(c.n_ctx),
                    "--rope-base", repr(c.rope_base), "--rms-eps", repr(c.rms_eps),
                    "--tied" if c.tied else "--untied", "--type", wtype, "--name", name,
                    "--weights", d)
    return out.strip()


# A task-A document the export check runs through both implementations.
CHECK_TEXT = ("x = 4. a: x + 2. b: (x + 7) * 5 + 3. c: x. Apply a to c mod 10, result first."
              "\n\nx = 4. a: x + 2.\n\n6 = 4 + 2. b: (x + 7) * 5 + 3.\n\n"
              "8 = (6 + 7) * 5 + 3. c: x.\n\n8 = 8.\n\n</think>\n\n\\boxed{8}<|im_end|>")


def verify_gguf(g, model, path, wtype, text=CHECK_TEXT, tol=1e-4):
    """glimp's logits of the exported file (`glimp logits --all`, top 20 per
    position) against PyTorch's: the largest difference relative to the
    position's largest logit. F32 files must agree within tol."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write(text)
        tpath = f.name
    try:
        out = json.loads(g.run("logits", "-m", path, "-f", tpath, "--all", "--top", "20",
                               "-t", "1"))
    finally:
        os.unlink(tpath)
    with torch.no_grad():
        lg = model(torch.tensor([out["tokens"]]))[0]
    worst = 0.0
    for p in out["positions"]:
        row = lg[p["pos"]]
        scale = max(1.0, float(row.abs().max()))
        for i, v in p["top"]:
            worst = max(worst, abs(float(row[i]) - v) / scale)
    msg = f"export check: glimp vs PyTorch logits, {len(out['tokens'])} tokens: " \
          f"largest relative difference {worst:.2e}"
    if wtype.upper() == "F32" and worst > tol:
        sys.exit(f"train.py: {msg}, over {tol}: the export or the forward pass disagree")
    log(msg)
    return worst


# ------------------------------------------------------------ evaluation


def entropy_topk(logits, k=20):
    """glimp's default signal: entropy (nats) of the top k renormalised."""
    top = logits.topk(min(k, logits.shape[-1]), dim=-1).values
    p = top.softmax(-1)
    return -(p * p.clamp_min(1e-30).log()).sum(-1)


def auc(pos, neg):
    """P(a random pos > a random neg), ties counting half."""
    if not pos or not neg:
        return float("nan")
    neg_sorted = sorted(neg)
    s = 0.0
    for v in pos:
        lo = bisect.bisect_left(neg_sorted, v)
        hi = bisect.bisect_right(neg_sorted, v)
        s += lo + 0.5 * (hi - lo)
    return s / (len(pos) * len(neg_sorted))


@torch.no_grad()
def evaluate(model, data, batch=32):
    """Teacher-forced: loss on the reasoning, accuracy of each result (all
    its digits right), and the top-20 entropy at the start of each step
    (the position that predicts the step's first token: H_init)."""
    model.eval()
    tot_loss, tot_n = 0.0, 0
    acc = {}
    h_start = {}
    for i0 in range(0, len(data), batch):
        idx = list(range(i0, min(i0 + batch, len(data))))
        x, y, m = data.batch(idx)
        lg = model(x)
        loss = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), y.reshape(-1), reduction="none")
        tot_loss += float((loss * m.reshape(-1)).sum())
        tot_n += int(m.sum())
        pred = lg.argmax(-1)
        hk = entropy_topk(lg)
        for b, i in enumerate(idx):
            ids = data.ids[i]
            for a, e, kind in data.spans[i]:
                if kind in ("prompt", "wrong"):
                    continue
                # token t is predicted at position t - 1
                ok = bool((pred[b, a - 1:e - 1] == ids[a:e]).all())
                acc.setdefault(kind, []).append(ok)
                # step start: just after the last blank line before the result
                s = a
                while s > 0 and int(ids[s - 1]) != data.nl2:
                    s -= 1
                h_start.setdefault(kind, []).append(float(hk[b, s - 1]))
    model.train()
    res = {"loss": tot_loss / max(tot_n, 1)}
    for k, v in sorted(acc.items()):
        res[f"acc_{k}"] = sum(v) / len(v)
    for k, v in sorted(h_start.items()):
        res[f"h_{k}"] = sum(v) / len(v)
    hard = h_start.get("hard", []) + h_start.get("two", [])
    res["auc_h_hard_vs_easy"] = auc(hard, h_start.get("easy", []))
    return res


def fmt_metrics(r):
    return " ".join(f"{k} {v:.3f}" for k, v in r.items())


# ------------------------------------------------------------------ train


def lr_at(step, total, peak, warmup, min_frac):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def make_config(args, n_vocab):
    p = dict(PRESETS[args.size])
    for k in ("n_layer", "n_embd", "n_head", "n_head_kv", "head_dim", "n_ff"):
        v = getattr(args, k)
        if v:
            p[k] = v
    if args.untied:
        p["tied"] = False
    return Config(n_vocab, p["n_layer"], p["n_embd"], p["n_head"], p["n_head_kv"],
                  p["head_dim"], p["n_ff"], p["tied"], args.rope_base, args.rms_eps,
                  args.ctx), p["lr"]


def load_data(g, args):
    rows = []
    for path in args.train:
        rows += load_jsonl(path, args.limit)
    t0 = time.time()
    train = Data(g, train_rows(rows))
    template = open(args.prompt, encoding="utf-8").read() if args.prompt else "{problem}\n\n"
    test = Data(g, test_rows(load_jsonl(args.test, args.eval_n), template)) if args.test else None
    ntok = int(train.lens.sum())
    nlos = int(sum(int(m.sum()) for m in train.masks))
    log(f"data: {len(train)} train documents, {ntok} tokens ({nlos} loss targets), "
        f"{len(test) if test else 0} test documents; tokenized in {time.time() - t0:.1f} s")
    return train, test


def batch_indices(data, step, args):
    """The documents of one step: drawn from a pool of 32 batches sorted by
    length (less padding), the pool and its order fixed by (seed, step)."""
    pool_steps = 32
    gen = torch.Generator().manual_seed(args.seed * 1000003 + step // pool_steps)
    pool = torch.randint(len(data), (pool_steps * args.batch,), generator=gen)
    pool = pool[torch.argsort(data.lens[pool], stable=True)]
    order = torch.randperm(pool_steps, generator=gen)
    j = int(order[step % pool_steps])
    return pool[j * args.batch:(j + 1) * args.batch].tolist()


def cmd_train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    g = Glimp(args.glimp, args.out)
    cfg, lr = make_config(args, g.n_vocab)
    lr = args.lr or lr
    init = torch.load(args.init) if args.init else None
    if init:  # start from a grown model (train.py grow): its shape, its weights
        cfg = Config.from_dict(init["config"])
    model = Qwen3(cfg)
    model.init_weights(torch.Generator().manual_seed(args.seed))
    if init:
        model.load_state_dict(init["model"])
        log(f"initialised from {args.init} (grown from {init.get('grown_from')} "
            f"at step {init.get('grown_from_step')})")
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95), eps=1e-8)
    step0 = 0
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step0 = ck["step"]
        log(f"resumed at step {step0}")
    log(f"model: {args.size} {cfg.to_dict()}, {n_params(model) / 1e6:.3f}M params, "
        f"lr {lr}, batch {args.batch}, {args.steps} steps, {torch.get_num_threads()} thread(s)")
    train, test = load_data(g, args)

    def save(step):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "config": cfg.to_dict(), "args": vars(args)}, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    logf = open(os.path.join(args.out, "log.jsonl"), "a", encoding="utf-8")
    t_start = time.time()
    t_train = 0.0  # seconds in training steps, evaluation excluded
    tok_seen = pad_seen = tgt_seen = 0
    run_loss, run_n = 0.0, 0
    step = step0
    while step < args.steps:
        if args.time_limit and time.time() - t_start > args.time_limit:
            log(f"time limit reached at step {step}")
            break
        t0 = time.time()
        cur_lr = lr_at(step, args.steps, lr, args.warmup, args.min_lr)
        for grp in opt.param_groups:
            grp["lr"] = cur_lr
        idx = batch_indices(train, step, args)
        x, y, m = train.batch(idx)
        lg = model(x)
        loss = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), y.reshape(-1), reduction="none")
        loss = (loss * m.reshape(-1)).sum() / m.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        t_train += time.time() - t0
        tok_seen += int(train.lens[idx].sum()) - len(idx)  # positions that predict
        pad_seen += x.numel()
        tgt_seen += int(m.sum())
        run_loss += float(loss)
        run_n += 1
        if step % args.log_every == 0 or step == args.steps:
            rec = {"step": step, "loss": run_loss / run_n, "lr": cur_lr,
                   "steps_per_s": (step - step0) / t_train, "tokens_per_s": tok_seen / t_train,
                   "padded_tokens_per_s": pad_seen / t_train,
                   "targets_per_s": tgt_seen / t_train, "elapsed_s": time.time() - t_start}
            log(f"step {step} loss {rec['loss']:.4f} lr {cur_lr:.2e} "
                f"{rec['steps_per_s']:.2f} steps/s {rec['tokens_per_s']:.0f} tok/s "
                f"({rec['padded_tokens_per_s']:.0f} padded, {rec['targets_per_s']:.0f} "
                f"loss targets) {rec['elapsed_s']:.0f} s")
            logf.write(json.dumps(rec) + "\n")
            logf.flush()
            run_loss, run_n = 0.0, 0
        if test and args.eval_every and step % args.eval_every == 0:
            r = evaluate(model, test)
            log(f"eval step {step}: {fmt_metrics(r)}")
            logf.write(json.dumps({"step": step, "eval": r}) + "\n")
            logf.flush()
        if args.save_every and step % args.save_every == 0:
            save(step)
    save(step)
    if test:
        r = evaluate(model, test)
        log(f"final eval step {step}: {fmt_metrics(r)}")
        logf.write(json.dumps({"step": step, "eval": r, "final": True}) + "\n")
    logf.close()
    if not args.no_export:
        path = os.path.join(args.out, "model.gguf")
        log(export_gguf(g, model, path, args.type, args.name or f"glimp demo {args.size}"))
        verify_gguf(g, model, path, args.type)


def load_ckpt(path):
    ck = torch.load(path)
    model = Qwen3(Config.from_dict(ck["config"]))
    model.load_state_dict(ck["model"])
    return model, ck


def cmd_export(args):
    torch.set_num_threads(args.threads)
    model, ck = load_ckpt(args.ckpt)
    g = Glimp(args.glimp, os.path.dirname(os.path.abspath(args.out)) or ".")
    log(export_gguf(g, model, args.out, args.type, args.name or "glimp demo model"))
    verify_gguf(g, model, args.out, args.type)


def cmd_eval(args):
    torch.set_num_threads(args.threads)
    model, ck = load_ckpt(args.ckpt)
    template = open(args.prompt, encoding="utf-8").read() if args.prompt else "{problem}\n\n"
    with tempfile.TemporaryDirectory(prefix="glimp-eval-") as d:
        g = Glimp(args.glimp, d)
        data = Data(g, test_rows(load_jsonl(args.test, args.eval_n), template))
    r = evaluate(model, data)
    print(json.dumps(r, indent=1))


def cmd_grow(args):
    """A larger model that computes exactly what a trained smaller one
    computes, to train on from there (function-preserving growth, as in
    Net2Net): the old weights keep their places; new embedding dimensions
    start at zero and nothing writes to them yet; new heads, FFN units and
    layers read everything but their output weights start at zero, so
    their contribution starts at zero; norm weights are scaled by
    sqrt(old embd / new embd) because RMSNorm now averages over more
    dimensions, of which the new ones are zero. Same head_dim and the same
    query-per-KV-head ratio, so old query heads keep their KV heads."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    small, ck = load_ckpt(args.ckpt)
    c = small.c
    big_c = Config(c.n_vocab, args.n_layer, args.n_embd, args.n_head, args.n_head_kv, c.head_dim,
                   args.n_ff, c.tied, c.rope_base, c.rms_eps, c.n_ctx)
    if (args.n_layer < c.n_layer or args.n_embd < c.n_embd or args.n_ff < c.n_ff
            or args.n_head < c.n_head or args.n_head_kv < c.n_head_kv
            or args.n_head // args.n_head_kv != c.n_head // c.n_head_kv
            or args.n_head % args.n_head_kv):
        sys.exit("train.py grow: the new shape must contain the old one, with the same "
                 "query heads per KV head")
    big = Qwen3(big_c)
    big.init_weights(torch.Generator().manual_seed(args.seed))
    e0, D = c.n_embd, c.head_dim
    q0, kv0 = c.n_head * D, c.n_head_kv * D
    f0 = c.n_ff
    scale = math.sqrt(c.n_embd / args.n_embd)
    with torch.no_grad():
        big.tok_embd.zero_()
        big.tok_embd[:, :e0] = small.tok_embd
        if small.output is not None:
            big.output.zero_()
            big.output[:, :e0] = small.output
        big.output_norm[:] = 1.0
        big.output_norm[:e0] = small.output_norm * scale
        for i, b in enumerate(big.blocks):
            if i >= c.n_layer:  # a new layer: an identity block to begin with
                b.wo.zero_()
                b.down.zero_()
                continue
            o = small.blocks[i]
            b.attn_norm[:] = 1.0
            b.attn_norm[:e0] = o.attn_norm * scale
            b.ffn_norm[:] = 1.0
            b.ffn_norm[:e0] = o.ffn_norm * scale
            b.q_norm[:] = o.q_norm
            b.k_norm[:] = o.k_norm
            b.wq[:q0, :e0] = o.wq
            b.wk[:kv0, :e0] = o.wk
            b.wv[:kv0, :e0] = o.wv
            b.wo.zero_()
            b.wo[:e0, :q0] = o.wo
            b.gate[:f0, :e0] = o.gate
            b.up[:f0, :e0] = o.up
            b.down.zero_()
            b.down[:e0, :f0] = o.down
    os.makedirs(os.path.dirname(os.path.abspath(args.out)) or ".", exist_ok=True)
    torch.save({"model": big.state_dict(), "config": big_c.to_dict(), "grown_from": args.ckpt,
                "grown_from_step": ck["step"]}, args.out)
    # the grown model must compute what the small one computes
    ids = torch.randint(c.n_vocab, (2, 64), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        d = (big(ids) - small(ids)).abs().max().item()
    log(f"grew {n_params(small) / 1e6:.3f}M -> {n_params(big) / 1e6:.3f}M params "
        f"({big_c.to_dict()}), wrote {args.out}; largest logit difference {d:.2e}")
    if d > 1e-3:
        sys.exit("train.py grow: the grown model does not compute what the small one does")


def read_gguf(path):
    """An F32 GGUF file as written by export: (metadata dict, {tensor name:
    float32 tensor shaped as ggml lays it out, (ne1, ne0)}). Enough of the
    format for glimp's own files; anything else is refused."""
    import struct
    import numpy as np
    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal pos
        n = take("Q")
        v = data[pos:pos + n].decode("utf-8")
        pos += n
        return v

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
              12: "d"}

    def value(t):
        if t in scalar:
            return take(scalar[t])
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        sys.exit(f"train.py: {path}: metadata type {t} unknown")

    if data[:4] != b"GGUF" or take("4sI")[1] != 3:
        sys.exit(f"train.py: {path}: not a GGUF v3 file")
    n_tensors, n_kv = take("Q"), take("Q")
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        ttype, off = take("I"), take("Q")
        if ttype != 0:
            sys.exit(f"train.py: {path}: tensor {name} is not F32 (type {ttype})")
        infos.append((name, dims, off))
    align = meta.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    tensors = {}
    for name, dims, off in infos:
        n = int(np.prod(dims))
        a = np.frombuffer(data, dtype="<f4", count=n, offset=base + off)
        tensors[name] = torch.tensor(a.reshape(list(reversed(dims)))).squeeze()
    return meta, tensors


def cmd_import(args):
    """A GGUF file written by export back into a file for train --init, so
    that training can go on from shipped weights (models/demo/large.gguf)."""
    meta, tensors = read_gguf(args.gguf)
    a = meta.get("general.architecture")
    if a != "qwen3":
        sys.exit(f"train.py import: {args.gguf}: architecture {a}, not qwen3")
    k = lambda key: meta[f"qwen3.{key}"]  # noqa: E731
    cfg = Config(len(meta["tokenizer.ggml.tokens"]), k("block_count"), k("embedding_length"),
                 k("attention.head_count"), k("attention.head_count_kv"),
                 k("attention.key_length"), k("feed_forward_length"),
                 "output.weight" not in tensors, k("rope.freq_base"),
                 k("attention.layer_norm_rms_epsilon"), k("context_length"))
    model = Qwen3(cfg)
    with torch.no_grad():
        for name, p in model.gguf_tensors():
            t = tensors[name]
            if tuple(t.shape) != tuple(p.shape):
                sys.exit(f"train.py import: {name}: shape {tuple(t.shape)}, expected "
                         f"{tuple(p.shape)}")
            p.copy_(t)
    torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "grown_from": args.gguf,
                "grown_from_step": None}, args.out)
    log(f"imported {args.gguf} ({n_params(model) / 1e6:.3f}M params, {cfg.to_dict()}) -> "
        f"{args.out}; continue with train --init {args.out}")


# ------------------------------------------------------------ equivalence


def cmd_equiv(args):
    """A tiny qwen3 (GQA, untied output, non-default RoPE base and RMS eps)
    with weights drawn large enough that attention is far from uniform,
    exported through glimp mkmodel --weights, and PyTorch's logits at every
    position of a fixed task-A text: tests/test_demo_equiv.c holds glimp's
    forward pass to them."""
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(prefix="glimp-equiv-")
    g = Glimp(args.glimp, tmp.name)
    p = PRESETS["tiny"]
    cfg = Config(g.n_vocab, p["n_layer"], p["n_embd"], p["n_head"], p["n_head_kv"],
                 p["head_dim"], p["n_ff"], p["tied"], rope_base=10000.0, rms_eps=1e-5,
                 n_ctx=256)
    model = Qwen3(cfg)
    gen = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        for name, t in model.named_parameters():
            if t.dim() == 1:  # norms away from 1, so a missing one shows
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            else:
                t.copy_(torch.randn(t.shape, generator=gen) * (1.5 / math.sqrt(t.shape[1])))
    # 38 tokens: the fixture stays near 130 KB
    text = "x = 7. x + 2 (a).\n\n9 = 7 + 2 (a)\n\n</think>\n\n\\boxed{9}<|im_end|>"
    ids = g.tokenize(text)
    with torch.no_grad():
        lg = model(torch.tensor([ids]))[0]
    gguf = os.path.join(args.out, "tiny.gguf")
    log(export_gguf(g, model, gguf, "F32", "glimp demo equivalence fixture"))
    fixture = {
        "comment": "written by tools/demo-train/train.py equiv: PyTorch's logits (float32) "
                   "of tiny.gguf at every position of tokens; tests/test_demo_equiv.c "
                   "holds glimp to them",
        "model": "tiny.gguf",
        "torch": torch.__version__,
        "seed": args.seed,
        "config": cfg.to_dict(),
        "text": text,
        "tokens": ids,
        "n_vocab": g.n_vocab,
        "logits": [[float(f"{v:.8g}") for v in row.tolist()] for row in lg],
    }
    path = os.path.join(args.out, "logits.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    log(f"wrote {gguf} ({os.path.getsize(gguf)} bytes) and {path} ({os.path.getsize(path)} "
        f"bytes): {len(ids)} tokens, logits in [{float(lg.min()):.2f}, {float(lg.max()):.2f}]")


# ------------------------------------------------------------------ main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--glimp", default=DEFAULT_GLIMP, help="the glimp binary")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train one model and export it")
    t.add_argument("--train", action="append", required=True,
                   help="gen.py train JSONL (repeatable: the files are mixed)")
    t.add_argument("--test", help="gen.py test JSONL for evaluation")
    t.add_argument("--prompt", help="prompt template (default: gen.py's \"{problem}\\n\\n\")")
    t.add_argument("--out", required=True, help="folder: ckpt.pt, log.jsonl, model.gguf")
    t.add_argument("--size", choices=sorted(PRESETS), default="small")
    t.add_argument("--layers", dest="n_layer", type=int)
    t.add_argument("--embd", dest="n_embd", type=int)
    t.add_argument("--heads", dest="n_head", type=int)
    t.add_argument("--kv-heads", dest="n_head_kv", type=int)
    t.add_argument("--head-dim", dest="head_dim", type=int)
    t.add_argument("--ff", dest="n_ff", type=int)
    t.add_argument("--untied", action="store_true")
    t.add_argument("--rope-base", type=float, default=10000.0)
    t.add_argument("--rms-eps", type=float, default=1e-6)
    t.add_argument("--ctx", type=int, default=1024, help="context length in the GGUF")
    t.add_argument("--steps", type=int, default=2000)
    t.add_argument("--batch", type=int, default=16, help="documents per step")
    t.add_argument("--lr", type=float, help="peak learning rate (default: the preset's)")
    t.add_argument("--min-lr", type=float, default=0.1, help="final lr as a fraction of peak")
    t.add_argument("--warmup", type=int, default=100)
    t.add_argument("--wd", type=float, default=0.1)
    t.add_argument("--clip", type=float, default=1.0)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--limit", type=int, help="read at most this many train documents a file")
    t.add_argument("--eval-every", type=int, default=500)
    t.add_argument("--eval-n", type=int, default=200, help="test problems to evaluate on")
    t.add_argument("--log-every", type=int, default=50)
    t.add_argument("--save-every", type=int, default=500)
    t.add_argument("--time-limit", type=float, help="stop after this many seconds")
    t.add_argument("--resume", action="store_true", help="continue from OUT/ckpt.pt")
    t.add_argument("--init", help="start from this model instead of random weights: a "
                                  "grown (train.py grow), imported (train.py import) or "
                                  "trained one (OUT/ckpt.pt), with a fresh optimizer")
    t.add_argument("--type", default="F32", help="GGUF weight type (glimp mkmodel --type)")
    t.add_argument("--name", help="general.name of the GGUF file")
    t.add_argument("--no-export", action="store_true")

    e = sub.add_parser("export", help="write a GGUF file from a checkpoint")
    e.add_argument("--ckpt", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--type", default="F32")
    e.add_argument("--name")

    v = sub.add_parser("eval", help="teacher-forced metrics of a checkpoint")
    v.add_argument("--ckpt", required=True)
    v.add_argument("--test", required=True)
    v.add_argument("--prompt")
    v.add_argument("--eval-n", type=int)

    w = sub.add_parser("grow", help="a larger model computing what a trained one computes")
    w.add_argument("--ckpt", required=True, help="the trained smaller model")
    w.add_argument("--out", required=True, help="the grown model (a file for train --init)")
    w.add_argument("--layers", dest="n_layer", type=int, default=4)
    w.add_argument("--embd", dest="n_embd", type=int, default=192)
    w.add_argument("--heads", dest="n_head", type=int, default=12)
    w.add_argument("--kv-heads", dest="n_head_kv", type=int, default=6)
    w.add_argument("--ff", dest="n_ff", type=int, default=576)
    w.add_argument("--seed", type=int, default=1)

    m = sub.add_parser("import", help="a GGUF file from export back into a file for train --init")
    m.add_argument("--gguf", required=True)
    m.add_argument("--out", required=True)

    q = sub.add_parser("equiv", help="write the forward-pass equivalence fixture")
    q.add_argument("--out", default=os.path.join(REPO, "tests", "data", "demo-equiv"))
    q.add_argument("--seed", type=int, default=7)

    args = ap.parse_args(argv)
    {"train": cmd_train, "export": cmd_export, "eval": cmd_eval, "grow": cmd_grow,
     "import": cmd_import, "equiv": cmd_equiv}[args.cmd](args)


if __name__ == "__main__":
    main()
