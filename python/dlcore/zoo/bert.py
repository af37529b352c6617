"""BERT: a bidirectional Transformer encoder pre-trained by masked language modelling (MLM) and
next-sentence prediction (NSP), and its fine-tuning heads (Devlin et al. 2019).

    cfg = BertConfig(vocab_size=2048, hidden_size=128, num_layers=2, num_heads=4)
    model = BERT(cfg)                                    # the pre-training model
    mlm_logits, nsp_logits, loss = model(ids, token_type_ids, mlm_labels=labels, nsp_labels=is_random)
    clf = BertForSequenceClassification.from_pretrained(model, num_labels=6)
    tagger = BertForTokenClassification.from_pretrained(model, num_labels=2)

Architecture (BERT's): the sum of token, position (learned, ``max_position`` rows) and segment
(token type) embeddings, then LayerNorm and dropout; ``num_layers`` encoder blocks
``nn.TransformerEncoderLayer`` (GELU feed-forward ``intermediate_size`` wide, post-LayerNorm as
in the paper, or pre-LayerNorm with ``norm_first=True``, which then adds a final LayerNorm)
running the fused attention kernel through ``nn.MultiheadAttention`` with a key-padding mask for
[PAD] positions; a pooler (dense + tanh) on the [CLS] (first) position.

Heads: the MLM head is dense + GELU + LayerNorm, then a decoder whose weight IS the token
embedding matrix (tied: one Parameter, so one state_dict entry) plus its own output bias; it
is evaluated only at the positions that carry a label (the others never contribute to the
loss, so their vocabulary-sized logits are not formed).  The NSP head is a Linear(hidden, 2) on
the pooled [CLS] vector: class 0 "B follows A", class 1 "B is a random passage".

state_dict keys (documented here because checkpoints and the PyTorch parity test rely on them):

- ``bert.embeddings.{word_embeddings,position_embeddings,token_type_embeddings}.weight``,
  ``bert.embeddings.LayerNorm.{weight,bias}`` (Hugging Face's names);
- ``bert.encoder.layers.N.*``: exactly torch.nn.TransformerEncoder's keys
  (``self_attn.in_proj_weight``, ``self_attn.out_proj.*``, ``linear1.*``, ``linear2.*``,
  ``norm1.*``, ``norm2.*``), so a torch encoder's state_dict loads as it is; ``bert.encoder.norm.*``
  with ``norm_first=True`` only;
- ``bert.pooler.dense.*``;
- pre-training: ``cls.predictions.transform.dense.*``, ``cls.predictions.transform.LayerNorm.*``,
  ``cls.predictions.bias`` (the decoder's weight is the word embedding), ``cls.seq_relationship.*``;
- fine-tuning: ``classifier.{weight,bias}``.

Initialisation (BERT's): every Linear and Embedding weight ~ N(0, 0.02^2), biases 0, LayerNorm
gains 1.
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np

from .. import _core, nn
from .._tensor import Tensor
from ..nn import functional as F
from ..nn import init
from ._gpt_parts import ConfigDict, as_index

__all__ = ["BertConfig", "BertModel", "BERT", "BertForSequenceClassification", "BertForTokenClassification"]

_INT_FIELDS = ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_position",
               "type_vocab_size")


@dataclasses.dataclass
class BertConfig(ConfigDict):
    """Hyper-parameters of the BERT models (BERT's names).

    vocab_size: token ids (the tokenizer's, special tokens included); hidden_size, num_layers,
    num_heads, intermediate_size: width, depth, heads and feed-forward width (hidden_size
    divisible by num_heads; intermediate_size 0 means 4 * hidden_size); max_position: the longest
    sequence; type_vocab_size: segments (2: A and B); dropout: on embeddings, attention weights and
    residual branches; layer_norm_eps: every LayerNorm's epsilon; norm_first: pre-LayerNorm blocks
    (the original is post-LayerNorm); pad_token_id: the [PAD] id (positions holding it are masked
    out of attention when no attention_mask is given), or None."""

    vocab_size: int = 2048
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 0
    max_position: int = 128
    type_vocab_size: int = 2
    dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    norm_first: bool = False
    pad_token_id: int | None = None

    def __post_init__(self):
        if self.intermediate_size == 0:
            self.intermediate_size = 4 * self.hidden_size
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"BertConfig: {name} must be a positive int, got {value!r}")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"BertConfig: hidden_size ({self.hidden_size}) must be divisible by num_heads "
                             f"({self.num_heads})")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"BertConfig: dropout must be in [0, 1), got {self.dropout}")
        if self.pad_token_id is not None and not 0 <= int(self.pad_token_id) < self.vocab_size:
            raise ValueError(f"BertConfig: pad_token_id must be in [0, {self.vocab_size}), got {self.pad_token_id}")


def _np(x):
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


class BertEmbeddings(nn.Module):
    """word + position + token-type embeddings, LayerNorm, dropout."""

    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids, token_type_ids):
        """(B, T) ids and segment ids -> (B, T, hidden)."""
        T = input_ids.shape[1]
        pos = Tensor(_core.as_tensor(np.arange(T, dtype=np.int64)))
        x = self.word_embeddings(input_ids) + self.position_embeddings(pos)
        x = x + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))


class BertPooler(nn.Module):
    """tanh(dense(h[:, 0])): the [CLS] position's summary of the sequence."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden):
        """(B, T, hidden) -> (B, hidden)."""
        return F.tanh(self.dense(hidden[:, 0]))


class BertModel(nn.Module):
    """The encoder: embeddings, ``nn.TransformerEncoder`` (batch first, GELU) and the pooler.
    ``forward(input_ids, token_type_ids=None, attention_mask=None)`` returns
    ``(sequence_output (B, T, hidden), pooled_output (B, hidden))``."""

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"BertModel: expected a BertConfig, got {type(config).__name__}")
        self.config = config
        self.embeddings = BertEmbeddings(config)
        layer = nn.TransformerEncoderLayer(config.hidden_size, config.num_heads, config.intermediate_size,
                                           config.dropout, "gelu", config.layer_norm_eps, batch_first=True,
                                           norm_first=config.norm_first)
        final = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps) if config.norm_first else None
        self.encoder = nn.TransformerEncoder(layer, config.num_layers, norm=final)
        self.pooler = BertPooler(config)

    def key_padding_mask(self, input_ids, attention_mask):
        """The bool (B, T) mask, True = padding (not attended to), as NumPy, or None when every
        position takes part.  attention_mask follows Hugging Face: 1/True = a real token."""
        if attention_mask is not None:
            m = _np(attention_mask)
            if m.shape != tuple(input_ids.shape):
                raise ValueError(f"BertModel: attention_mask must have input_ids' shape {tuple(input_ids.shape)}, "
                                 f"got {m.shape}")
            pad = m == 0
        elif self.config.pad_token_id is not None:
            pad = input_ids.numpy() == self.config.pad_token_id
        else:
            return None
        if pad.all(axis=1).any():
            raise ValueError("BertModel: a sequence is all padding (nothing to attend to)")
        # no mask at all when nothing is padded: the kernel then skips the masking work
        return pad if pad.any() else None

    def forward(self, input_ids, token_type_ids=None, attention_mask=None):
        """(B, T) int64 ids (T <= max_position), optional segment ids (default all 0) and
        attention mask (1 = token, 0 = padding) -> (sequence_output, pooled_output)."""
        ids = as_index(input_ids, "BertModel")
        if ids.ndim != 2 or ids.shape[1] == 0:
            raise ValueError(f"BertModel: expected input_ids of shape (B, T), got {tuple(ids.shape)}")
        B, T = ids.shape
        if T > self.config.max_position:
            raise ValueError(f"BertModel: sequence length {T} exceeds max_position {self.config.max_position}")
        a = ids.numpy()
        if a.size and (a.min() < 0 or a.max() >= self.config.vocab_size):
            raise IndexError(f"BertModel: token ids must be in [0, {self.config.vocab_size}), got {a.min()}..{a.max()}")
        if token_type_ids is None:
            types = Tensor(_core.as_tensor(np.zeros((B, T), np.int64)))
        else:
            types = as_index(token_type_ids, "BertModel")
            if tuple(types.shape) != (B, T):
                raise ValueError(f"BertModel: token_type_ids must have input_ids' shape {(B, T)}, got "
                                 f"{tuple(types.shape)}")
            t = types.numpy()
            if t.min() < 0 or t.max() >= self.config.type_vocab_size:
                raise IndexError(f"BertModel: token_type_ids must be in [0, {self.config.type_vocab_size})")
        pad = self.key_padding_mask(ids, attention_mask)
        kpm = None if pad is None else Tensor(_core.as_tensor(np.ascontiguousarray(pad)))
        h = self.encoder(self.embeddings(ids, types), src_key_padding_mask=kpm)
        return h, self.pooler(h)


def init_bert_weights(module):
    """BERT's initialisation of every parameter of `module`: Linear/Embedding weights (and the
    attention's in_proj_weight) ~ N(0, 0.02^2), biases 0, LayerNorm gains 1."""
    for name, p in module.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if "norm" in name.lower() and leaf == "weight":
            init.ones_(p)
        elif leaf == "bias" or leaf.endswith("_bias"):
            init.zeros_(p)
        else:
            init.normal_(p, 0.0, 0.02)


class BertPredictionHeadTransform(nn.Module):
    """dense -> GELU (fused into the GEMM) -> LayerNorm: the MLM head's transform."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x):
        """(..., hidden) -> (..., hidden)."""
        return self.LayerNorm(self.dense._forward_activation(x, "gelu"))


class BertMLMHead(nn.Module):
    """transform, then logits = h @ word_embeddings^T + bias (the decoder is tied to the token
    embeddings; only ``bias`` is its own parameter)."""

    def __init__(self, config, word_embeddings):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.bias = nn.Parameter(Tensor(_core.as_tensor(np.zeros(config.vocab_size, np.float32))))
        # a plain attribute, not a submodule: the embedding is registered once, under bert.*
        object.__setattr__(self, "_embedding", word_embeddings)

    @property
    def decoder_weight(self):
        """The decoder's (vocab, hidden) weight: the token embedding matrix itself."""
        return self._embedding.weight

    def forward(self, x):
        """(..., hidden) -> (..., vocab) logits."""
        return F.linear(self.transform(x), self.decoder_weight, self.bias)


class _PreTrainingHeads(nn.Module):
    def __init__(self, config, word_embeddings):
        super().__init__()
        self.predictions = BertMLMHead(config, word_embeddings)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)


class BERT(nn.Module):
    """The BERT pre-training model (module docstring): ``bert`` (a :class:`BertModel`) and ``cls``
    (the tied MLM head ``cls.predictions`` and the NSP head ``cls.seq_relationship``).

    ``forward(input_ids, token_type_ids=None, attention_mask=None, mlm_labels=None,
    nsp_labels=None)`` returns ``(mlm_logits, nsp_logits, loss)``.  mlm_labels (B, T): the
    original id at the masked positions and -100 elsewhere; with them, mlm_logits are only the
    (M, vocab) logits of the M labelled positions (row-major order), else (B, T, vocab).
    nsp_logits (B, 2).  loss: the MLM cross-entropy (mean over labelled positions) plus the NSP
    cross-entropy (mean over the batch), each term when its labels are given, else None."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.bert = BertModel(config)
        self.cls = _PreTrainingHeads(config, self.bert.embeddings.word_embeddings)
        init_bert_weights(self)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, mlm_labels=None, nsp_labels=None):
        """See the class docstring."""
        h, pooled = self.bert(input_ids, token_type_ids, attention_mask)
        B, T, C = h.shape
        loss = None
        if mlm_labels is not None:
            labels = _np(mlm_labels).astype(np.int64, copy=False)
            if labels.shape != (B, T):
                raise ValueError(f"BERT: mlm_labels must have input_ids' shape {(B, T)}, got {labels.shape}")
            rows = np.flatnonzero(labels.reshape(-1) != -100)
            if rows.size == 0:
                raise ValueError("BERT: mlm_labels holds no labelled position (all -100)")
            target = labels.reshape(-1)[rows]
            if target.min() < 0 or target.max() >= self.config.vocab_size:
                raise IndexError(f"BERT: mlm_labels must be -100 or in [0, {self.config.vocab_size})")
            picked = h.reshape(B * T, C)[Tensor(_core.as_tensor(rows.astype(np.int64)))]
            mlm_logits = self.cls.predictions(picked)
            loss = F.cross_entropy(mlm_logits, Tensor(_core.as_tensor(np.ascontiguousarray(target))))
        else:
            mlm_logits = self.cls.predictions(h)
        nsp_logits = self.cls.seq_relationship(pooled)
        if nsp_labels is not None:
            y = as_index(nsp_labels, "BERT")
            if tuple(y.shape) != (B,):
                raise ValueError(f"BERT: nsp_labels must have shape {(B,)}, got {tuple(y.shape)}")
            nsp = F.cross_entropy(nsp_logits, y)
            loss = nsp if loss is None else loss + nsp
        return mlm_logits, nsp_logits, loss

    def param_groups(self, weight_decay):
        """Two AdamW groups: matrices (>= 2-D) with `weight_decay`, biases and LayerNorm gains without."""
        return _param_groups(self, weight_decay)

    def extra_repr(self):
        return json.dumps(self.config.to_dict())


def _param_groups(model, weight_decay):
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": decay, "weight_decay": float(weight_decay)}, {"params": no_decay, "weight_decay": 0.0}]


class _FineTuned(nn.Module):
    """A BertModel, dropout and a Linear ``classifier``; shared by the two fine-tuning heads."""

    _op = "BertFineTuning"

    def __init__(self, config, num_labels):
        super().__init__()
        if not isinstance(num_labels, (int, np.integer)) or isinstance(num_labels, bool) or num_labels < 2:
            raise ValueError(f"{self._op}: num_labels must be an int >= 2, got {num_labels!r}")
        self.config, self.num_labels = config, int(num_labels)
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.hidden_size, self.num_labels)
        init_bert_weights(self)

    @classmethod
    def from_pretrained(cls, pretrained, num_labels, **kwargs):
        """A new head whose ``bert`` encoder starts from `pretrained`'s (a :class:`BERT`); the
        classifier is new.  kwargs go to the constructor (``pooling`` of the sequence head)."""
        if not isinstance(pretrained, BERT):
            raise TypeError(f"{cls._op}.from_pretrained: expected a BERT, got {type(pretrained).__name__}")
        model = cls(pretrained.config, num_labels, **kwargs)
        model.bert.load_state_dict(pretrained.bert.state_dict())
        return model

    def param_groups(self, weight_decay):
        """Two AdamW groups: matrices (>= 2-D) with `weight_decay`, biases and LayerNorm gains without."""
        return _param_groups(self, weight_decay)


class BertForSequenceClassification(_FineTuned):
    """Sequence classification: classifier(dropout(pooled)) -> (B, num_labels) logits.
    ``pooling``: "cls" (BERT's: the pooler's tanh(dense(h[CLS]))) or "mean" (the mean of the
    final hidden states over the non-padding positions; the pooler is then unused).  MLM trains
    every token's hidden state but not the [CLS] one, which only NSP trains, so where NSP does not
    learn, "mean" is the pooled vector that pre-training shaped.
    ``forward(input_ids, token_type_ids=None, attention_mask=None, labels=None)`` returns
    ``(logits, loss)`` (loss: mean cross-entropy when labels (B,) are given, else None)."""

    _op = "BertForSequenceClassification"

    def __init__(self, config, num_labels, pooling="cls"):
        if pooling not in ("cls", "mean"):
            raise ValueError(f"{self._op}: pooling must be 'cls' or 'mean', got {pooling!r}")
        super().__init__(config, num_labels)
        self.pooling = pooling

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None):
        """See the class docstring."""
        h, pooled = self.bert(input_ids, token_type_ids, attention_mask)
        if self.pooling == "mean":
            pad = self.bert.key_padding_mask(as_index(input_ids, self._op), attention_mask)
            if pad is None:
                pooled = h.mean(dim=1)
            else:  # weights 1/count on the real tokens, 0 on padding
                keep = (~pad).astype(np.float32)
                w = keep / keep.sum(axis=1, keepdims=True)
                pooled = (h * Tensor(_core.as_tensor(w[:, :, None].astype(h.numpy().dtype)))).sum(dim=1)
        logits = self.classifier(self.dropout(pooled))
        if labels is None:
            return logits, None
        y = as_index(labels, self._op)
        if tuple(y.shape) != (logits.shape[0],):
            raise ValueError(f"{self._op}: labels must have shape {(logits.shape[0],)}, got {tuple(y.shape)}")
        return logits, F.cross_entropy(logits, y)

    def extra_repr(self):
        return f"pooling={self.pooling!r}"


class BertForTokenClassification(_FineTuned):
    """Token classification (NER-style): classifier(dropout(h)) at every position -> (B, T,
    num_labels) logits.  ``forward(input_ids, token_type_ids=None, attention_mask=None,
    labels=None)`` returns ``(logits, loss)``; labels (B, T) with -100 at positions to ignore
    (padding, [CLS], [SEP]); loss: the mean cross-entropy over the other positions."""

    _op = "BertForTokenClassification"

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None):
        """See the class docstring."""
        h, _ = self.bert(input_ids, token_type_ids, attention_mask)
        logits = self.classifier(self.dropout(h))
        if labels is None:
            return logits, None
        y = as_index(labels, self._op)
        B, T, K = logits.shape
        if tuple(y.shape) != (B, T):
            raise ValueError(f"{self._op}: labels must have shape {(B, T)}, got {tuple(y.shape)}")
        return logits, F.cross_entropy(logits.reshape(B * T, K), y.reshape(B * T))
