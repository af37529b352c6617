"""``dlcore bench seq2seq``: the ``dlcore train seq2seq`` model (3 + 3 layers, d_model 128, 4 heads,
feed-forward 512, dropout 0.1, vocabulary 45) in dlcore and in PyTorch with the same weights, data
and thread count:

- one training step (forward with padding and causal masks, label-smoothed cross-entropy,
  backward, AdamW step) on a batch of 128 number/words pairs;
- greedy decoding of 64 numbers (24 tokens at most): dlcore on its KV cache; PyTorch through
  ``nn.Transformer``'s decoder on the whole prefix every step (its API has no incremental
  decoding), the encoder run once in both.

Each library runs in its own persistent process and they take turns (see ``_interleave``).
"""
from __future__ import annotations

import sys

import numpy as np

from .gemm import time_median

BATCH, DECODE_BATCH, DECODE_LEN = 128, 64, 24
CASES = ["train step (batch 128 pairs)", "greedy decode (64 numbers)"]


def case_data(seed=0):
    """(initial state_dict as NumPy arrays, config, training batch, decode sources)."""
    import dlcore
    from dlcore.zoo.numwords import NumberVocab, sample_numbers
    from dlcore.zoo.seq2seq import Seq2SeqConfig, Seq2SeqTransformer
    from dlcore.zoo.seq2seq_recipe import MAX_LEN, make_batch

    vocab = NumberVocab()
    cfg = Seq2SeqConfig(len(vocab), len(vocab), max_len=MAX_LEN)
    dlcore.manual_seed(seed)
    sd = {k: v.numpy().copy() for k, v in Seq2SeqTransformer(cfg).state_dict().items()}
    rng = np.random.default_rng(seed)
    batch = make_batch(vocab, sample_numbers(rng, BATCH))
    src = make_batch(vocab, sample_numbers(rng, DECODE_BATCH))[0]
    return sd, cfg, batch, src


def dlcore_fns(threads):
    """{case: callable} for dlcore."""
    import dlcore
    from dlcore import optim
    from dlcore.zoo.seq2seq import Seq2SeqTransformer

    dlcore.set_num_threads(threads)
    sd, cfg, (src, tin, tout), dsrc = case_data()
    model = Seq2SeqTransformer(cfg)
    model.load_state_dict(sd)
    opt = optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98))

    def step():
        model.train()
        opt.zero_grad()
        model(src, tin, tout, label_smoothing=0.1)[1].backward()
        opt.step()

    def decode():
        model.greedy(dsrc, max_len=DECODE_LEN)
    return {CASES[0]: step, CASES[1]: decode}


def torch_model(torch, cfg):
    """The same model in PyTorch (same parameter names): embeddings * sqrt(d) + sinusoidal
    positions -> torch.nn.Transformer (batch_first) -> the tied output projection."""
    from dlcore.nn.positional import sinusoidal_table

    tnn = torch.nn

    class TSeq2Seq(tnn.Module):
        def __init__(self):
            super().__init__()
            self.src_embed = tnn.Embedding(cfg.src_vocab_size, cfg.d_model)
            self.tgt_embed = tnn.Embedding(cfg.tgt_vocab_size, cfg.d_model)
            self.transformer = tnn.Transformer(cfg.d_model, cfg.nhead, cfg.num_encoder_layers, cfg.num_decoder_layers,
                                               cfg.dim_feedforward, cfg.dropout, batch_first=True)
            self.generator = tnn.Linear(cfg.d_model, cfg.tgt_vocab_size, bias=False)
            self.generator.weight = self.tgt_embed.weight
            self.register_buffer("pe", torch.from_numpy(sinusoidal_table(cfg.max_len, cfg.d_model)), persistent=False)
            self.drop = tnn.Dropout(cfg.dropout)

        def embed(self, table, ids):
            return self.drop(table(ids) * cfg.d_model ** 0.5 + self.pe[:ids.shape[1]])

        def encode(self, src):
            pad = src == cfg.pad_id
            return self.transformer.encoder(self.embed(self.src_embed, src), src_key_padding_mask=pad), pad

        def decode(self, tgt, memory, pad):
            T = tgt.shape[1]
            h = self.transformer.decoder(self.embed(self.tgt_embed, tgt), memory,
                                         tgt_mask=self.transformer.generate_square_subsequent_mask(T),
                                         tgt_key_padding_mask=tgt == cfg.pad_id, memory_key_padding_mask=pad,
                                         tgt_is_causal=True)
            return self.generator(h)

        @torch.no_grad()
        def greedy(self, src, max_len):
            memory, pad = self.encode(src)
            prefix = torch.full((src.shape[0], 1), cfg.bos_id, dtype=torch.long)
            alive = torch.ones(src.shape[0], dtype=torch.bool)
            for _ in range(max_len):
                tok = self.decode(prefix, memory, pad)[:, -1].argmax(-1)
                tok = torch.where(alive, tok, torch.full_like(tok, cfg.eos_id))
                prefix = torch.cat([prefix, tok[:, None]], 1)
                alive &= tok != cfg.eos_id
                if not alive.any():
                    break
            return prefix

    return TSeq2Seq()


def torch_fns(threads):
    """{case: callable} for PyTorch (same weights and data)."""
    import warnings

    import torch

    warnings.filterwarnings("ignore")  # nested-tensor and mask-type notices of nn.Transformer
    torch.set_num_threads(threads)
    sd, cfg, (src, tin, tout), dsrc = case_data()
    model = torch_model(torch, cfg)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98))
    s, ti, to, ds = (torch.from_numpy(a) for a in (src, tin, tout, dsrc))

    def step():
        model.train()
        opt.zero_grad()
        memory, pad = model.encode(s)
        logits = model.decode(ti, memory, pad)
        torch.nn.functional.cross_entropy(logits.reshape(-1, cfg.tgt_vocab_size), to.reshape(-1),
                                          ignore_index=cfg.pad_id, label_smoothing=0.1).backward()
        opt.step()

    def decode():
        model.eval()
        model.greedy(ds, DECODE_LEN)
    return {CASES[0]: step, CASES[1]: decode}


def worker_init(impl: str, threads: int):
    """In a worker process (see _interleave): the callables of every case."""
    return dlcore_fns(threads) if impl == "dlcore" else torch_fns(threads)


def worker_case(fns, case: str, repeat: int):
    """Median seconds per call of one case."""
    return time_median(fns[case], repeat, min_sample_s=0.05)


def run_seq2seq_bench(threads: int = 2, repeat: int = 3, rounds: int = 3, file=None):
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
    with il.Workers("dlcore.bench.seq2seq", impls, threads, required=("dlcore",)) as w:
        samples = il.interleaved(w, list(impls), CASES, rounds, repeat)
        absent = missing_peers({"torch": "torch"}, w)
    ours_s, torch_s = samples["dlcore"], samples.get("torch")
    print(f"dlcore {dlcore.__version__}  ISA {dlcore.info()['isa_active']}  threads {threads}  seq2seq Transformer "
          f"(3 + 3 layers, d_model 128, 4 heads, ff 512)  median over {rounds} interleaved rounds of {repeat} samples"
          + ("; speedup = torch time / dlcore time (torch decodes without a cache: nn.Transformer has none)"
             if torch_s else ""), file=file)
    for line in absent:
        print(line, file=file)
    head = f"{'torch ms':>12s}{'speedup':>10s}{'q1 - q3':>14s}" if torch_s else ""
    print(f"{'case':32s}{'dlcore ms':>12s}{head}", file=file)
    rows = []
    for case in CASES:
        row = {"case": case, "dlcore_s": il.median(ours_s[case])}
        line = f"{case:32s}{1e3 * row['dlcore_s']:12.2f}"
        if torch_s:
            row.update(torch_s=il.median(torch_s[case]), speedup=il.paired_ratio(torch_s[case], ours_s[case]),
                       spread=il.paired_ratio_spread(torch_s[case], ours_s[case]))
            line += f"{1e3 * row['torch_s']:12.2f}{row['speedup']:10.2f}{'%.2f - %.2f' % row['spread']:>14s}"
        rows.append(row)
        print(line, file=file)
    return rows
