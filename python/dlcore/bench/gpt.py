"""``dlcore bench gpt``: the baby GPT (4 layers, 4 heads, 128 wide, block 64, vocabulary 65) in
dlcore and in PyTorch with the same weights, data and thread count:

- one training step (forward, backward, AdamW step) on a batch of 12 x 64 tokens;
- cached greedy generation: 56 new tokens after an 8-token prompt (batch 1), each library with
  its own KV cache (the PyTorch model's, written here, preallocates per-layer key/value buffers
  exactly as dlcore's does), reported as tokens/s.

Each library runs in its own persistent process and they take turns (see ``_interleave``).
"""
from __future__ import annotations

import sys

import numpy as np

from .gemm import time_median

CONFIG = dict(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=True)
BATCH = 12
PROMPT, NEW_TOKENS = 8, 56
CASES = ["train step (batch 12 x 64)", "generate 56 tokens (cache)"]


def case_weights(seed=0):
    """The dlcore GPT's initial state_dict (nanoGPT names) as NumPy arrays, plus data."""
    import dlcore
    from dlcore.zoo.gpt import GPT, GPTConfig

    dlcore.manual_seed(seed)
    sd = {k: v.numpy().copy() for k, v in GPT(GPTConfig(**CONFIG)).state_dict().items()}
    rng = np.random.default_rng(seed)
    x = rng.integers(0, CONFIG["vocab_size"], (BATCH, CONFIG["block_size"] + 1)).astype(np.int64)
    prompt = rng.integers(0, CONFIG["vocab_size"], (1, PROMPT)).astype(np.int64)
    return sd, x, prompt


def dlcore_fns(threads):
    """{case: callable} for dlcore."""
    import dlcore
    from dlcore.zoo.gpt import GPT, GPTConfig

    dlcore.set_num_threads(threads)
    sd, x, prompt = case_weights()
    model = GPT(GPTConfig(**CONFIG))
    model.load_state_dict(sd)
    opt = model.configure_optimizers(0.1, 1e-4, betas=(0.9, 0.99))
    xt, yt = dlcore.from_numpy(np.ascontiguousarray(x[:, :-1])), dlcore.from_numpy(np.ascontiguousarray(x[:, 1:]))

    def step():
        opt.zero_grad()
        model(xt, yt)[1].backward()
        opt.step()

    def gen():
        model.generate(prompt, NEW_TOKENS, temperature=0)
    return {CASES[0]: step, CASES[1]: gen}


def torch_model(torch):
    """nanoGPT's GPT in PyTorch with a KV cache of its own: forward(idx, cache=None) -> logits;
    cache = {"k": [...], "v": [...], "len": n} of preallocated (B, H, block, D) buffers."""
    tnn, TF = torch.nn, torch.nn.functional
    C, H, L = CONFIG["n_embd"], CONFIG["n_head"], CONFIG["n_layer"]

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = tnn.LayerNorm(C), tnn.LayerNorm(C)
            self.attn, self.mlp = tnn.Module(), tnn.Module()
            self.attn.c_attn, self.attn.c_proj = tnn.Linear(C, 3 * C), tnn.Linear(C, C)
            self.mlp.c_fc, self.mlp.c_proj = tnn.Linear(C, 4 * C), tnn.Linear(4 * C, C)

        def forward(self, x, cache, i):
            B, T, _ = x.shape
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in self.attn.c_attn(self.ln_1(x)).split(C, 2))
            causal = True
            if cache is not None:
                s = cache["len"]
                cache["k"][i][:, :, s:s + T] = k
                cache["v"][i][:, :, s:s + T] = v
                k, v = cache["k"][i][:, :, :s + T], cache["v"][i][:, :, :s + T]
                causal = T > 1
            y = TF.scaled_dot_product_attention(q, k, v, is_causal=causal)
            x = x + self.attn.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
            return x + self.mlp.c_proj(TF.gelu(self.mlp.c_fc(self.ln_2(x))))

    class TGPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = tnn.ModuleDict(dict(
                wte=tnn.Embedding(CONFIG["vocab_size"], C), wpe=tnn.Embedding(CONFIG["block_size"], C),
                h=tnn.ModuleList([Block() for _ in range(L)]), ln_f=tnn.LayerNorm(C)))
            self.lm_head = tnn.Linear(C, CONFIG["vocab_size"], bias=False)
            self.lm_head.weight = self.transformer.wte.weight

        def forward(self, idx, cache=None):
            T = idx.shape[1]
            s = 0 if cache is None else cache["len"]
            x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(s, s + T))
            for i, b in enumerate(self.transformer.h):
                x = b(x, cache, i)
            if cache is not None:
                cache["len"] = s + T
            return self.lm_head(self.transformer.ln_f(x))

        @torch.no_grad()
        def generate(self, idx, n):
            shape = (idx.shape[0], H, CONFIG["block_size"], C // H)
            cache = {"k": [torch.zeros(shape) for _ in range(L)], "v": [torch.zeros(shape) for _ in range(L)],
                     "len": 0}
            logits = self(idx, cache)[:, -1]
            out = [idx]
            for _ in range(n):
                nxt = logits.argmax(-1, keepdim=True)
                out.append(nxt)
                if len(out) < n + 1:
                    logits = self(nxt, cache)[:, -1]
            return torch.cat(out, 1)

    return TGPT()


def torch_fns(threads):
    """{case: callable} for PyTorch (same weights and data)."""
    import torch

    torch.set_num_threads(threads)
    sd, x, prompt = case_weights()
    model = torch_model(torch)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.99))
    xt, yt = torch.from_numpy(x[:, :-1].copy()), torch.from_numpy(x[:, 1:].copy())
    pt = torch.from_numpy(prompt)

    def step():
        opt.zero_grad()
        logits = model(xt)
        torch.nn.functional.cross_entropy(logits.view(-1, CONFIG["vocab_size"]), yt.reshape(-1)).backward()
        opt.step()

    def gen():
        model.generate(pt, NEW_TOKENS)
    return {CASES[0]: step, CASES[1]: gen}


def worker_init(impl: str, threads: int):
    """In a worker process (see _interleave): the callables of every case."""
    return dlcore_fns(threads) if impl == "dlcore" else torch_fns(threads)


def worker_case(fns, case: str, repeat: int):
    """Median seconds per call of one case."""
    return time_median(fns[case], repeat, min_sample_s=0.05)


def run_gpt_bench(threads: int = 2, repeat: int = 5, rounds: int = 3, file=None):
    """Times both cases in dlcore and torch (interleaved processes); prints a table with the
    speedup (median over rounds of torch time / dlcore time) and returns the rows."""
    import dlcore

    from .._extras import missing
    from . import _interleave as il
    from ._report import missing_peers

    file = file or sys.stdout
    impls = {"dlcore": ("dlcore", {"OPENBLAS_NUM_THREADS": "1"})}
    if not missing(["torch"]):
        impls["torch"] = ("torch", {"OPENBLAS_NUM_THREADS": "1"})
    with il.Workers("dlcore.bench.gpt", impls, threads, required=("dlcore",)) as w:
        samples = il.interleaved(w, list(impls), CASES, rounds, repeat)
        absent = missing_peers({"torch": "torch"}, w)
    ours_s, torch_s = samples["dlcore"], samples.get("torch")
    print(f"dlcore {dlcore.__version__}  ISA {dlcore.info()['isa_active']}  threads {threads}  baby GPT "
          f"(4 layers, 4 heads, 128 wide, block 64)  median over {rounds} interleaved rounds of {repeat} samples"
          + ("; speedup = torch time / dlcore time" if torch_s else ""), file=file)
    for line in absent:
        print(line, file=file)
    head = f"{'torch':>12s}{'speedup':>10s}{'q1 - q3':>14s}" if torch_s else ""
    print(f"{'case':32s}{'dlcore':>12s}{head}", file=file)
    rows = []
    for case in CASES:
        ours = il.median(ours_s[case])
        gen = case == CASES[1]
        show = (lambda s: f"{NEW_TOKENS / s:9.0f} t/s") if gen else (lambda s: f"{1e3 * s:9.2f} ms")  # noqa: E731
        row = {"case": case, "dlcore_s": ours}
        line = f"{case:32s}{show(ours):>12s}"
        if torch_s:
            row.update(torch_s=il.median(torch_s[case]), speedup=il.paired_ratio(torch_s[case], ours_s[case]),
                       spread=il.paired_ratio_spread(torch_s[case], ours_s[case]))
            line += f"{show(row['torch_s']):>12s}{row['speedup']:10.2f}{'%.2f - %.2f' % row['spread']:>14s}"
        rows.append(row)
        print(line, file=file)
    return rows
