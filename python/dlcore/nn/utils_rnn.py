"""``nn.utils.rnn``: padded batches of variable-length sequences.

dlcore's recurrent kernels take a padded batch plus per-row lengths directly (steps past a
row's length neither update its state nor receive gradient), so its :class:`PackedSequence` is
not torch's interleaved ``(sum(lengths), *)`` layout: it carries the **padded** data and the
lengths, which is all the layers need, and converts back without copying.  The functions keep
torch's names, arguments and checks:

* ``pad_sequence(sequences, batch_first=False, padding_value=0.0)``;
* ``pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True)``: lengths
  must be sorted in decreasing order unless ``enforce_sorted=False`` (then any order; the
  rows are never reordered, so h_n follows the input's batch order, as in torch);
* ``pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None)``
  -> ``(padded, lengths)``.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from .._tensor import Tensor, tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence"]


class PackedSequence:
    """A padded batch and its lengths: ``data`` (T, B, *) or (B, T, *) when ``batch_first``,
    ``lengths`` (B,) int64 NumPy array.  Produced by pack_padded_sequence and by the recurrent
    layers given one."""

    __slots__ = ("data", "lengths", "batch_first")

    def __init__(self, data, lengths, batch_first=False):
        self.data, self.lengths, self.batch_first = data, np.asarray(lengths, np.int64), bool(batch_first)

    def __repr__(self):
        return f"PackedSequence(data.shape={tuple(self.data.shape)}, lengths={self.lengths.tolist()}, " \
               f"batch_first={self.batch_first})"


def _lengths(lengths, op):
    ln = lengths.numpy() if isinstance(lengths, Tensor) else np.asarray(lengths)
    if ln.ndim != 1 or (ln.size and ln.dtype.kind not in "iu"):
        raise ValueError(f"{op}: expected a 1-D sequence of integer lengths, got {ln.dtype} of shape {ln.shape}")
    return ln.astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    """Marks a padded batch with its per-row lengths (see the module docstring); ValueError for
    lengths that do not match the batch, lie outside [1, T], or (enforce_sorted) increase."""
    op = "pack_padded_sequence"
    ln = _lengths(lengths, op)
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise ValueError(f"{op}: expected input of at least 2 dimensions, got shape {shape}")
    T, B = (shape[1], shape[0]) if batch_first else (shape[0], shape[1])
    if ln.shape != (B,):
        raise ValueError(f"{op}: expected {B} lengths (one per batch row), got {ln.shape[0]}")
    if ln.size and (ln.min() < 1 or ln.max() > T):
        raise ValueError(f"{op}: lengths must lie in [1, {T}] (the padded length), got min {ln.min()} and "
                         f"max {ln.max()}")
    if enforce_sorted and np.any(np.diff(ln) > 0):
        raise ValueError(f"{op}: `lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                         "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                         "sidestep this requirement if you do not need ONNX exportability.")
    return PackedSequence(input, ln, batch_first)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The padded tensor (T = max length, or total_length) and the lengths (int64 Tensor); steps
    past each row's length hold `padding_value`."""
    op = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{op}: expected a PackedSequence, got {type(sequence).__name__}")
    data, ln = sequence.data, sequence.lengths
    T = int(ln.max())
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"{op}: expected total_length to be at least the length of the longest sequence "
                             f"({T}), got {total_length}")
        T = int(total_length)
    if sequence.batch_first != batch_first:
        data = data.transpose(0, 1)
    t_dim = 1 if batch_first else 0
    have = data.shape[t_dim]
    if have > T:  # drop trailing all-padding steps
        data = data[:, :T] if batch_first else data[:T]
    elif have < T:
        pad_shape = list(data.shape)
        pad_shape[t_dim] = T - have
        data = ops.cat([data, tensor(np.full(pad_shape, padding_value, _np_dtype(data)))], t_dim)
    steps = np.arange(T)[:, None] < ln[None, :]  # (T, B)
    if batch_first:
        steps = steps.T
    mask = steps.reshape(steps.shape + (1,) * (len(data.shape) - 2))
    keep = tensor(mask.astype(_np_dtype(data)))
    out = data * keep
    if padding_value != 0:
        out = out + tensor((~mask).astype(_np_dtype(data)) * padding_value)
    return out, tensor(ln)


def _np_dtype(t):
    return np.dtype(str(t.dtype).replace("dlcore.", ""))


def pad_sequence(sequences, batch_first=False, padding_value=0.0):
    """Stacks variable-length Tensors (L_i, *) into (max L, B, *) (or (B, max L, *)), padding with
    `padding_value`; differentiable with respect to every sequence."""
    op = "pad_sequence"
    seqs = list(sequences)
    if not seqs:
        raise ValueError(f"{op}: received an empty list of sequences")
    seqs = [s if isinstance(s, Tensor) else tensor(np.asarray(s)) for s in seqs]
    trail = tuple(seqs[0].shape[1:])
    for s in seqs:
        if len(s.shape) < 1 or tuple(s.shape[1:]) != trail:
            raise ValueError(f"{op}: every sequence must have the trailing shape {trail}, got {tuple(s.shape)}")
    T = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        if s.shape[0] < T:
            pad = tensor(np.full((T - s.shape[0],) + trail, padding_value, _np_dtype(s)))
            s = ops.cat([s, pad], 0)
        rows.append(s)
    return ops.stack(rows, 0 if batch_first else 1)
