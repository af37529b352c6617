"""A BERT training step in dlcore and in an identical PyTorch model, for ``dlcore bench train``
(bench/zoo_models.py dispatches the "bert" case here) and for the PyTorch parity tests.

The PyTorch twin (``torch_bert``) is written with torch.nn: embeddings, LayerNorm, dropout,
``torch.nn.TransformerEncoder`` (batch first, GELU, post-LN), the pooler, the MLM head tied to
the token embedding and the NSP head, with dlcore's parameter names so the dlcore model's
state_dict loads into it as it is.  torch is imported only inside the torch builders.

The case: the ``dlcore train bert`` default model (vocabulary 2048, 2 layers, 128 wide, 4 heads,
intermediate 512) on one pre-training batch of 32 x 128 tokens (15% of them labelled for MLM),
dropout 0.1, AdamW with gradient clipping: forward, backward, clip, step.
"""
from __future__ import annotations

import numpy as np

CONFIG = dict(vocab_size=2048, hidden_size=128, num_layers=2, num_heads=4, max_position=128, dropout=0.1)
BATCH, SEQ = 32, 128


def case_data(seed=0):
    """(dlcore BERT state_dict as NumPy, input ids, token types, MLM labels, NSP labels)."""
    import dlcore
    from dlcore.zoo.bert import BERT, BertConfig

    dlcore.manual_seed(seed)
    sd = {k: v.numpy().copy() for k, v in BERT(BertConfig(**CONFIG)).state_dict().items()}
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, CONFIG["vocab_size"] - 4, (BATCH, SEQ)).astype(np.int64)
    types = (np.arange(SEQ)[None, :] >= SEQ // 2).astype(np.int64).repeat(BATCH, 0)
    labels = np.where(rng.random((BATCH, SEQ)) < 0.15, ids, -100).astype(np.int64)
    nsp = rng.integers(0, 2, BATCH).astype(np.int64)
    return sd, ids, types, labels, nsp


def dlcore_step():
    """One pre-training step of dlcore's BERT (a closure)."""
    import dlcore
    from dlcore import optim
    from dlcore.nn.utils import clip_grad_norm_
    from dlcore.zoo.bert import BERT, BertConfig

    sd, ids, types, labels, nsp = case_data()
    model = BERT(BertConfig(**CONFIG))
    model.load_state_dict(sd)
    opt = optim.AdamW(model.param_groups(0.01), lr=1e-4)
    x, t, y = dlcore.from_numpy(ids), dlcore.from_numpy(types), dlcore.from_numpy(nsp)

    def step():
        _, _, loss = model(x, t, None, labels, y)
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return step


def torch_bert(config, norm_first=False, eps=1e-12):
    """The PyTorch twin of dlcore.zoo.BERT(config) (a torch.nn.Module with the same
    state_dict keys); forward(ids, types, key_padding_mask=None) -> (hidden, pooled), and
    mlm(hidden) / nsp(pooled) for the heads."""
    import torch
    tnn = torch.nn

    c = dict(CONFIG, **config) if isinstance(config, dict) else config.to_dict()
    H, V = c["hidden_size"], c["vocab_size"]
    inter = c.get("intermediate_size") or 4 * H
    p = c.get("dropout", 0.1)

    class Embeddings(tnn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = tnn.Embedding(V, H)
            self.position_embeddings = tnn.Embedding(c["max_position"], H)
            self.token_type_embeddings = tnn.Embedding(c.get("type_vocab_size", 2), H)
            self.LayerNorm = tnn.LayerNorm(H, eps=eps)
            self.dropout = tnn.Dropout(p)

        def forward(self, ids, types):
            pos = torch.arange(ids.shape[1])
            x = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(types)
            return self.dropout(self.LayerNorm(x))

    class Pooler(tnn.Module):
        def __init__(self):
            super().__init__()
            self.dense = tnn.Linear(H, H)

        def forward(self, h):
            return torch.tanh(self.dense(h[:, 0]))

    class Model(tnn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = Embeddings()
            layer = tnn.TransformerEncoderLayer(H, c["num_heads"], inter, p, "gelu", eps, batch_first=True,
                                                norm_first=norm_first)
            self.encoder = tnn.TransformerEncoder(layer, c["num_layers"], tnn.LayerNorm(H, eps=eps) if norm_first
                                                  else None, enable_nested_tensor=False)
            self.pooler = Pooler()

        def forward(self, ids, types, key_padding_mask=None):
            h = self.encoder(self.embeddings(ids, types), src_key_padding_mask=key_padding_mask)
            return h, self.pooler(h)

    class Transform(tnn.Module):
        def __init__(self):
            super().__init__()
            self.dense = tnn.Linear(H, H)
            self.LayerNorm = tnn.LayerNorm(H, eps=eps)

    class Predictions(tnn.Module):
        def __init__(self):
            super().__init__()
            self.transform = Transform()
            self.bias = tnn.Parameter(torch.zeros(V))

    class Heads(tnn.Module):
        def __init__(self):
            super().__init__()
            self.predictions = Predictions()
            self.seq_relationship = tnn.Linear(H, 2)

    class Bert(tnn.Module):
        def __init__(self):
            super().__init__()
            self.bert = Model()
            self.cls = Heads()

        def forward(self, ids, types, key_padding_mask=None):
            return self.bert(ids, types, key_padding_mask)

        def mlm(self, h):
            t = self.cls.predictions.transform
            x = t.LayerNorm(torch.nn.functional.gelu(t.dense(h)))
            return x @ self.bert.embeddings.word_embeddings.weight.T + self.cls.predictions.bias

        def nsp(self, pooled):
            return self.cls.seq_relationship(pooled)
    return Bert()


def torch_step(threads):
    """The same step as dlcore_step in PyTorch, same weights and data."""
    import torch

    torch.set_num_threads(threads)
    sd, ids, types, labels, nsp = case_data()
    m = torch_bert(CONFIG)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    decay = [q for q in m.parameters() if q.ndim >= 2]
    rest = [q for q in m.parameters() if q.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=1e-4)
    x, t, y = torch.from_numpy(ids), torch.from_numpy(types), torch.from_numpy(nsp)
    flat = torch.from_numpy(labels.reshape(-1))
    rows = torch.nonzero(flat != -100).squeeze(1)
    F = torch.nn.functional

    def step():
        h, pooled = m(x, t)
        # as dlcore's BERT: the MLM logits only at the labelled positions
        logits = m.mlm(h.reshape(-1, h.shape[-1])[rows])
        loss = F.cross_entropy(logits, flat[rows]) + F.cross_entropy(m.nsp(pooled), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
    return step
