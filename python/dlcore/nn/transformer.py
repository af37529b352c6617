"""Transformer layers with torch.nn's names, arguments, defaults, submodule names and
state_dict keys: TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder,
TransformerDecoder and Transformer (post-norm by default, pre-norm with norm_first=True).

Layer normalisation uses ``dlcore.nn.LayerNorm`` when the build has it (looked up when a layer is
built), else the private ``_LayerNorm`` below, composed from Tensor ops with the same parameter
names (weight, bias) so that state_dicts are interchangeable.
"""
from __future__ import annotations

import copy

import numpy as np

from .. import _core
from .._dtype import as_dtype
from .._tensor import Tensor
from . import functional as F
from . import init
from .attention import MultiheadAttention
from .container import ModuleList
from .layers import Dropout, Linear, _empty
from .module import Module
from .parameter import Parameter

__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder",
           "Transformer"]


class _LayerNorm(Module):
    """LayerNorm over the last len(normalized_shape) dims from Tensor ops (mean, biased variance,
    rsqrt): the stand-in for nn.LayerNorm in builds without it.  torch's parameter names."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, float(eps), elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_empty(shape, dtype))
            init.ones_(self.weight)
            if bias:
                self.bias = Parameter(_empty(shape, dtype))
                init.zeros_(self.bias)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        """(x - mean) / sqrt(var + eps) * weight + bias over the normalised dims."""
        k = len(self.normalized_shape)
        if tuple(input.shape[-k:]) != self.normalized_shape:
            raise ValueError(f"LayerNorm: expected input with trailing dims {self.normalized_shape}, got {input.shape}")
        dims = tuple(range(input.ndim - k, input.ndim))
        mean = input.mean(dims, keepdim=True)
        xc = input - mean
        var = (xc * xc).mean(dims, keepdim=True)
        y = xc * (var + self.eps).rsqrt()
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


def _make_norm(d_model, eps, bias, dtype):
    from .. import nn

    cls = getattr(nn, "LayerNorm", None) or _LayerNorm
    return cls(d_model, eps=eps, bias=bias, dtype=dtype)


def _activation(activation, op):
    """"relu"/"gelu" -> the name (fused into linear1's GEMM epilogue); a callable stays as it is."""
    if isinstance(activation, str):
        if activation not in ("relu", "gelu"):
            raise ValueError(f"{op}: activation should be relu/gelu, not {activation}")
        return activation
    if activation is F.relu:
        return "relu"
    if activation is F.gelu:
        return "gelu"
    if not callable(activation):
        raise TypeError(f"{op}: activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


def _ff_block(layer, x):
    """linear2(dropout(activation(linear1(x)))) then dropout_last."""
    if isinstance(layer.activation, str):
        h = layer.linear1._forward_activation(x, layer.activation)
    else:
        h = layer.activation(layer.linear1(x))
    return layer.linear2(layer.dropout(h))


def generate_square_subsequent_mask(sz, device=None, dtype=None) -> Tensor:
    """The (sz, sz) float causal mask: 0 on and below the diagonal, -inf above (torch's)."""
    m = np.triu(np.full((sz, sz), -np.inf, np.dtype(as_dtype(dtype) or np.float32)), 1)
    return Tensor(_core.as_tensor(m))


def _detect_is_causal_mask(mask, is_causal, size):
    """torch's rule: is_causal=True wins; is_causal=None means "True iff mask equals the causal
    mask of its size" (the float -inf form, and also the bool form True-above-the-diagonal, which
    torch does not recognise; the hint changes the path, not the result)."""
    if is_causal is True:
        return True
    if is_causal is None and mask is not None:
        m = mask.numpy() if isinstance(mask, Tensor) else np.asarray(mask)
        sz = size if size is not None else m.shape[-2]
        if m.shape == (sz, sz):
            ref = np.triu(np.full((sz, sz), -np.inf), 1)
            return bool(np.array_equal(m, ref)) if m.dtype.kind == "f" else bool(np.array_equal(m, np.isinf(ref)))
    return False


class TransformerEncoderLayer(Module):
    """torch.nn.TransformerEncoderLayer: self-attention and a feed-forward block, each with a
    residual connection and LayerNorm (after it, or before it with norm_first=True)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = _make_norm(d_model, layer_norm_eps, bias, dtype)
        self.norm2 = _make_norm(d_model, layer_norm_eps, bias, dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation, "TransformerEncoderLayer")
        self.batch_first = batch_first
        if device is not None and str(device) != "cpu":
            self.to(device)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """src (S, N, E), (N, S, E) with batch_first, or (S, E); masks as MultiheadAttention's."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self.dropout2(_ff_block(self, self.norm2(x)))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self.dropout2(_ff_block(self, x)))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)


class TransformerDecoderLayer(Module):
    """torch.nn.TransformerDecoderLayer: self-attention, cross-attention over the encoder's memory
    and a feed-forward block, each with a residual connection and LayerNorm (post or pre)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = _make_norm(d_model, layer_norm_eps, bias, dtype)
        self.norm2 = _make_norm(d_model, layer_norm_eps, bias, dtype)
        self.norm3 = _make_norm(d_model, layer_norm_eps, bias, dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, "TransformerDecoderLayer")
        self.batch_first = batch_first
        if device is not None and str(device) != "cpu":
            self.to(device)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        """tgt (T, N, E) and memory (S, N, E) (batch first with batch_first); masks as
        MultiheadAttention's."""
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self.dropout3(_ff_block(self, self.norm3(x)))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self.dropout3(_ff_block(self, x)))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                           need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)


def _clones(module, n):
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _seq_len(x, batch_first):
    return x.shape[1 if (batch_first and x.ndim == 3) else 0]


class TransformerEncoder(Module):
    """torch.nn.TransformerEncoder: ``num_layers`` deep copies of ``encoder_layer`` (``layers.N``)
    and an optional final ``norm``.  enable_nested_tensor and mask_check are accepted and ignored
    (torch's nested-tensor fast path is an inference optimisation)."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """Runs the layers in turn; is_causal=None detects a causal ``mask`` as torch does."""
        bf = getattr(self.layers[0], "batch_first", False) if len(self.layers) else False
        is_causal = _detect_is_causal_mask(mask, is_causal, _seq_len(src, bf))
        out = src
        for mod in self.layers:
            out = mod(out, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        return self.norm(out) if self.norm is not None else out


class TransformerDecoder(Module):
    """torch.nn.TransformerDecoder: ``num_layers`` deep copies of ``decoder_layer`` (``layers.N``)
    and an optional final ``norm``."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        """Runs the layers in turn; tgt_is_causal=None detects a causal ``tgt_mask`` as torch does."""
        bf = getattr(self.layers[0], "batch_first", False) if len(self.layers) else False
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, _seq_len(tgt, bf))
        out = tgt
        for mod in self.layers:
            out = mod(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    """torch.nn.Transformer: an encoder (``encoder``) and a decoder (``decoder``), each with a final
    LayerNorm; every weight matrix (dim > 1) re-initialised with xavier_uniform, as torch does."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
                 dropout=0.1, activation="relu", custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, dtype=dtype)
            self.encoder = TransformerEncoder(layer, num_encoder_layers,
                                              _make_norm(d_model, layer_norm_eps, bias, dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, dtype=dtype)
            self.decoder = TransformerDecoder(layer, num_decoder_layers,
                                              _make_norm(d_model, layer_norm_eps, bias, dtype))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        if device is not None and str(device) != "cpu":
            self.to(device)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        """The decoder's output for tgt attending to the encoded src (torch's arguments)."""
        batched = src.ndim == 3
        if batched and src.shape[0 if self.batch_first else 1] != tgt.shape[0 if self.batch_first else 1]:
            raise ValueError("Transformer: the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError("Transformer: the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)
