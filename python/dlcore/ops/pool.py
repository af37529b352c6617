"""Pooling, unpooling and upsampling (array level, forward and backward), NCHW like PyTorch.

* ``max_pool1d/2d``, ``avg_pool1d/2d``: PyTorch's arguments and output sizes (``stride=None``
  means the kernel size; ``ceil_mode`` lets a last window start in the right padding but not past
  it; padding at most half the kernel).  ``return_indices`` gives int64 flat indices into each
  (H, W) plane, PyTorch's; ties pick the first maximum in row-major window order and NaN
  propagates, as in PyTorch.  Inputs: (N, C, [H,] W) or unbatched (C, [H,] W); N may be 0.
* ``adaptive_avg_pool1d/2d``, ``adaptive_max_pool2d``: windows ``[floor(i*I/O), ceil((i+1)*I/O))``.
* ``max_unpool2d``: the inverse scatter of max_pool2d's indices into zeros.
* ``interpolate``: modes ``nearest``, ``nearest-exact``, ``linear`` (3-D input) and ``bilinear``
  (4-D input), ``align_corners`` and ``scale_factor`` / ``recompute_scale_factor`` with PyTorch's
  source-index formulas (computed in float32 for the nearest modes, as PyTorch does).
* ``pixel_shuffle`` / ``pixel_unshuffle``: the (C r^2, H, W) <-> (C, H r, W r) rearrangement.

Every ``*_backward`` takes the forward's arguments with ``grad_output`` first.  Backward kernels
give each (N, C) plane to one thread, which adds in a fixed order: results are bitwise identical
for any thread count, also with overlapping windows.
"""
from __future__ import annotations

import math

from ._util import _core, as_bool, as_int, as_ints, unwrap, wrap
from .shape import contiguous as _contiguous, permute as _permute, reshape as _reshape

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool1d_backward", "max_pool2d_backward",
    "avg_pool1d", "avg_pool2d", "avg_pool1d_backward", "avg_pool2d_backward",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool1d_backward", "adaptive_avg_pool2d_backward",
    "adaptive_max_pool2d", "adaptive_max_pool2d_backward", "max_unpool2d", "max_unpool2d_backward",
    "interpolate", "interpolate_backward",
    "pixel_shuffle", "pixel_unshuffle", "pixel_shuffle_backward", "pixel_unshuffle_backward",
]


def _ints(v, n, op, name):
    """An int or a sequence of 1 or n ints as an n-tuple (PyTorch's _pair / _single)."""
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            v = tuple(v) * n
        if len(v) != n:
            raise ValueError(f"{op}: expected {name} to be an int or a sequence of {n} ints, got {v!r}")
        return tuple(as_int(e, op, name) for e in v)
    return (as_int(v, op, name),) * n


def _window(op, spatial, kernel_size, stride, padding, dilation=1):
    k = _ints(kernel_size, spatial, op, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else \
        _ints(stride, spatial, op, "stride")
    p = _ints(padding, spatial, op, "padding")
    d = _ints(dilation, spatial, op, "dilation")
    if spatial == 1:
        return [1, k[0], 1, s[0], 0, p[0], 1, d[0]]
    return [k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]]


def _shape(x, op):
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(f"{op}: expected an array, got {type(x).__name__}")
    return tuple(shape)


def _divisor(divisor_override, op):
    if divisor_override is None:
        return 0
    d = as_int(divisor_override, op, "divisor_override")
    if d == 0:
        raise ValueError(f"{op}: divisor must be not zero")
    return d


# ---- max pooling ---------------------------------------------------------------------------------

def _max_pool(op, spatial, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    w = _window(op, spatial, kernel_size, stride, padding, dilation)
    return wrap(_core.max_pool(unwrap(x), w, as_bool(ceil_mode, op, "ceil_mode"), spatial,
                                 as_bool(return_indices, op, "return_indices"), op), x)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """``torch.nn.functional.max_pool1d`` on (N, C, L) or (C, L): the maximum of each window;
    with ``return_indices`` also its int64 position in the row."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """``torch.nn.functional.max_pool2d`` on (N, C, H, W) or (C, H, W); with ``return_indices``
    also the int64 flat index (h * W + w) of each maximum in its plane."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _max_pool_backward(op, spatial, g, x, indices, kernel_size, stride, padding, dilation, ceil_mode):
    w = _window(op, spatial, kernel_size, stride, padding, dilation)
    return wrap(_core.max_pool_backward(unwrap(g), unwrap(x), unwrap(indices), w, as_bool(ceil_mode, op, "ceil_mode"), spatial,
                                          op), g, x)


def max_pool1d_backward(grad_output, input, indices, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """Gradient of max_pool1d w.r.t. its input: grad_output added at the indices of the maxima."""
    return _max_pool_backward("max_pool1d_backward", 1, grad_output, input, indices, kernel_size, stride, padding,
                              dilation, ceil_mode)


def max_pool2d_backward(grad_output, input, indices, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """Gradient of max_pool2d w.r.t. its input: grad_output added at the (per-plane flat) indices
    of the maxima; IndexError for an index outside the plane."""
    return _max_pool_backward("max_pool2d_backward", 2, grad_output, input, indices, kernel_size, stride, padding,
                              dilation, ceil_mode)


# ---- average pooling -----------------------------------------------------------------------------

def _avg_pool(op, spatial, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    w = _window(op, spatial, kernel_size, stride, padding)
    return wrap(_core.avg_pool(unwrap(x), w, as_bool(ceil_mode, op, "ceil_mode"), spatial,
                               as_bool(count_include_pad, op, "count_include_pad"),
                               _divisor(divisor_override, op), op), x)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """``torch.nn.functional.avg_pool1d`` on (N, C, L) or (C, L) (plus ``divisor_override`` as in
    avg_pool2d)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """``torch.nn.functional.avg_pool2d``: window sums divided by the window size (padding counted
    when ``count_include_pad``), or by ``divisor_override``."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _avg_pool_backward(op, spatial, g, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override):
    w = _window(op, spatial, kernel_size, stride, padding)
    return wrap(_core.avg_pool_backward(unwrap(g), unwrap(x), w, as_bool(ceil_mode, op, "ceil_mode"), spatial,
                                        as_bool(count_include_pad, op, "count_include_pad"),
                                        _divisor(divisor_override, op), op), g, x)


def avg_pool1d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool1d w.r.t. its input (the input gives the shape)."""
    return _avg_pool_backward("avg_pool1d_backward", 1, grad_output, input, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, divisor_override)


def avg_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d w.r.t. its input (the input gives the shape)."""
    return _avg_pool_backward("avg_pool2d_backward", 2, grad_output, input, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, divisor_override)


# ---- adaptive pooling ----------------------------------------------------------------------------

def _out_size(output_size, x, spatial, op):
    """PyTorch's output_size: an int or a sequence, None entries keeping the input's size."""
    shape = _shape(x, op)
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != spatial:
            raise ValueError(f"{op}: expected output_size of {spatial} elements, got {output_size!r}")
        vals = list(output_size)
    else:
        vals = [output_size] * spatial
    if len(shape) < spatial:
        raise ValueError(f"{op}: expected input of {spatial + 1} or {spatial + 2} dimensions, got shape {shape}")
    out = [shape[len(shape) - spatial + i] if v is None else as_int(v, op, "output_size") for i, v in enumerate(vals)]
    return (1, out[0]) if spatial == 1 else (out[0], out[1])


def adaptive_avg_pool1d(input, output_size):
    """``torch.nn.functional.adaptive_avg_pool1d``: the mean of each of `output_size` windows
    ``[floor(i L / O), ceil((i + 1) L / O))``."""
    oh, ow = _out_size(output_size, input, 1, "adaptive_avg_pool1d")
    return wrap(_core.adaptive_pool(unwrap(input), oh, ow, 1, False, False, "adaptive_avg_pool1d"), input)


def adaptive_avg_pool2d(input, output_size):
    """``torch.nn.functional.adaptive_avg_pool2d`` (output_size an int, a pair, or None entries
    keeping the input's size)."""
    oh, ow = _out_size(output_size, input, 2, "adaptive_avg_pool2d")
    return wrap(_core.adaptive_pool(unwrap(input), oh, ow, 2, False, False, "adaptive_avg_pool2d"), input)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """``torch.nn.functional.adaptive_max_pool2d``; with ``return_indices`` also the int64 flat
    index of each maximum in its plane."""
    oh, ow = _out_size(output_size, input, 2, "adaptive_max_pool2d")
    return wrap(_core.adaptive_pool(unwrap(input), oh, ow, 2, True,
                                     as_bool(return_indices, "adaptive_max_pool2d", "return_indices"), "adaptive_max_pool2d"),
                input)


def adaptive_avg_pool1d_backward(grad_output, input):
    """Gradient of adaptive_avg_pool1d w.r.t. its input (the output size is grad_output's)."""
    return wrap(_core.adaptive_pool_backward(unwrap(grad_output), unwrap(input), None, 1, False,
                                             "adaptive_avg_pool1d_backward"), grad_output, input)


def adaptive_avg_pool2d_backward(grad_output, input):
    """Gradient of adaptive_avg_pool2d w.r.t. its input (the output size is grad_output's)."""
    return wrap(_core.adaptive_pool_backward(unwrap(grad_output), unwrap(input), None, 2, False,
                                             "adaptive_avg_pool2d_backward"), grad_output, input)


def adaptive_max_pool2d_backward(grad_output, input, indices):
    """Gradient of adaptive_max_pool2d w.r.t. its input, through the indices of the maxima."""
    return wrap(_core.adaptive_pool_backward(unwrap(grad_output), unwrap(input), unwrap(indices), 2, True,
                                             "adaptive_max_pool2d_backward"), grad_output, input)


# ---- max unpooling -------------------------------------------------------------------------------

def _unpool_size(x, kernel_size, stride, padding, output_size, op):
    k = _ints(kernel_size, 2, op, "kernel_size")
    s = k if stride is None else _ints(stride, 2, op, "stride")
    p = _ints(padding, 2, op, "padding")
    shape = _shape(x, op)
    if len(shape) not in (3, 4):
        raise ValueError(f"{op}: expected input of 3 (unbatched) or 4 dimensions, got shape {shape}")
    if min(k) <= 0 or min(s) <= 0 or min(p) < 0:
        raise ValueError(f"{op}: expected positive kernel_size and stride and non-negative padding, got "
                         f"kernel_size={k}, stride={s}, padding={p}")
    default = [(shape[-2 + d] - 1) * s[d] - 2 * p[d] + k[d] for d in range(2)]
    if output_size is None:
        return default
    size = list(as_ints(output_size, op, "output_size"))
    if len(size) == len(shape):
        size = size[2:] if len(shape) == 4 else size[1:]
    if len(size) != 2:
        raise ValueError(f"{op}: output_size should have 2 or {len(shape)} elements, got {list(output_size)}")
    for d in range(2):
        lo, hi = default[d] - s[d], default[d] + s[d]
        if not lo < size[d] < hi:
            raise ValueError(f"{op}: invalid output_size {tuple(size)} (dim {d} must be between {lo + 1} and {hi - 1})")
    return size


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """``torch.nn.functional.max_unpool2d``: a zero (H_out, W_out) plane per input plane with each
    value written at its index (the last write wins for a repeated index); IndexError for an index
    outside the output plane.  H_out = (H - 1) stride - 2 padding + kernel_size unless given."""
    oh, ow = _unpool_size(input, kernel_size, stride, padding, output_size, "max_unpool2d")
    return wrap(_core.max_unpool(unwrap(input), unwrap(indices), oh, ow, "max_unpool2d"), input)


def max_unpool2d_backward(grad_output, indices):
    """Gradient of max_unpool2d w.r.t. its input: grad_output gathered at the indices."""
    return wrap(_core.max_unpool_backward(unwrap(grad_output), unwrap(indices), "max_unpool2d_backward"),
                grad_output)


# ---- interpolation -------------------------------------------------------------------------------

_MODES = {"nearest": 0, "nearest-exact": 1, "linear": 2, "bilinear": 2}


def _resolve(shape, size, scale_factor, mode, align_corners, recompute_scale_factor, op):
    """(out_h, out_w, scale_h, scale_w, mode id, align_corners): torch.nn.functional.interpolate's
    argument logic (scale <= 0 stands for None)."""
    shape = tuple(shape)
    if len(shape) not in (3, 4):
        raise ValueError(f"{op}: expected input of 3 (N, C, L) or 4 (N, C, H, W) dimensions, got shape {shape}")
    dim = len(shape) - 2
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {tuple(_MODES)}, got {mode!r}")
    if mode == "linear" and dim != 1:
        raise ValueError(f"{op}: mode 'linear' needs a 3-D input (N, C, L), got shape {shape}")
    if mode == "bilinear" and dim != 2:
        raise ValueError(f"{op}: mode 'bilinear' needs a 4-D input (N, C, H, W), got shape {shape}")
    if align_corners is not None:
        align_corners = as_bool(align_corners, op, "align_corners")
    if recompute_scale_factor is not None:
        recompute_scale_factor = as_bool(recompute_scale_factor, op, "recompute_scale_factor")
    if _MODES[mode] < 2:
        if align_corners is not None:
            raise ValueError(f"{op}: align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear")
        align_corners = False
    elif align_corners is None:
        align_corners = False
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: exactly one of size and scale_factor must be given")
    scales = [-1.0] * dim
    if size is not None:
        if isinstance(size, (list, tuple)) and len(size) != dim:
            raise ValueError(f"{op}: expected size of {dim} elements for input of shape {shape}, got {size!r}")
        out = list(_ints(size, dim, op, "size"))
    else:
        sf = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dim
        if len(sf) != dim:
            raise ValueError(f"{op}: expected scale_factor of {dim} elements for input of shape {shape}, "
                             f"got {scale_factor!r}")
        try:
            sf = [float(v) for v in sf]
        except (TypeError, ValueError):
            raise TypeError(f"{op}: expected real numbers for scale_factor, got {scale_factor!r}") from None
        if not all(math.isfinite(v) and v > 0 for v in sf):
            raise ValueError(f"{op}: expected positive finite scale factors, got {scale_factor!r}")
        out = [math.floor(float(shape[2 + d]) * sf[d]) for d in range(dim)]
        if not recompute_scale_factor:
            scales = sf
    if min(out) < 1:
        raise ValueError(f"{op}: output size is too small: {tuple(out)} for input of shape {shape}")
    if dim == 1:
        return 1, out[0], -1.0, scales[0], _MODES[mode], bool(align_corners)
    return out[0], out[1], scales[0], scales[1], _MODES[mode], bool(align_corners)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """``torch.nn.functional.interpolate`` for 3-D (N, C, L) and 4-D (N, C, H, W) input: modes
    'nearest', 'nearest-exact', 'linear' (3-D) and 'bilinear' (4-D), with PyTorch's output sizes
    (floor(size * scale_factor)) and source positions (the given scale_factor is used unless
    ``recompute_scale_factor``; ``align_corners`` maps corner centres onto each other)."""
    op = "interpolate"
    shape = _shape(input, op)
    oh, ow, sh, sw, m, ac = _resolve(shape, size, scale_factor, mode, align_corners, recompute_scale_factor, op)
    return wrap(_core.upsample(unwrap(input), oh, ow, sh, sw, m, ac, op), input)


def interpolate_backward(grad_output, input_size, size=None, scale_factor=None, mode="nearest", align_corners=None,
                         recompute_scale_factor=None):
    """Gradient of interpolate w.r.t. its input, of shape `input_size` (the forward's other
    arguments as given to it); grad_output must have the forward's output shape."""
    op = "interpolate_backward"
    input_size = as_ints(input_size, op, "input_size")
    oh, ow, sh, sw, m, ac = _resolve(input_size, size, scale_factor, mode, align_corners, recompute_scale_factor, op)
    want = input_size[:2] + ((oh, ow) if len(input_size) == 4 else (ow,))
    if tuple(getattr(grad_output, "shape", ())) != want:
        raise ValueError(f"{op}: expected grad_output of shape {want}, got {tuple(getattr(grad_output, 'shape', ()))}")
    return wrap(_core.upsample_backward(unwrap(grad_output), input_size, sh, sw, m, ac, op), grad_output)


# ---- pixel shuffle -------------------------------------------------------------------------------

def _shuffle(x, r, op, up):
    r = as_int(r, op, "upscale_factor" if up else "downscale_factor")
    shape = _shape(x, op)
    if len(shape) < 3:
        raise ValueError(f"{op}: expected input of at least 3 dimensions, got shape {shape}")
    if r <= 0:
        raise ValueError(f"{op}: expected a positive factor, got {r}")
    *b, c, h, w = shape
    nb = len(b)
    if up:
        if c % (r * r):
            raise ValueError(f"{op}: expected channels divisible by the square of upscale_factor {r}, got {c}")
        oc = c // (r * r)
        t = _reshape(x, (*b, oc, r, r, h, w))
        t = _contiguous(_permute(t, (*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)))
        return _reshape(t, (*b, oc, h * r, w * r))
    if h % r or w % r:
        raise ValueError(f"{op}: expected height and width divisible by downscale_factor {r}, got ({h}, {w})")
    t = _reshape(x, (*b, c, h // r, r, w // r, r))
    t = _contiguous(_permute(t, (*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3)))
    return _reshape(t, (*b, c * r * r, h // r, w // r))


def pixel_shuffle(input, upscale_factor):
    """``torch.nn.functional.pixel_shuffle``: (*, C r^2, H, W) -> (*, C, H r, W r) with
    ``out[c, h r + i, w r + j] = in[c r^2 + i r + j, h, w]`` (one copy)."""
    return _shuffle(input, upscale_factor, "pixel_shuffle", True)


def pixel_unshuffle(input, downscale_factor):
    """``torch.nn.functional.pixel_unshuffle``: the inverse of pixel_shuffle,
    (*, C, H r, W r) -> (*, C r^2, H, W)."""
    return _shuffle(input, downscale_factor, "pixel_unshuffle", False)


def pixel_shuffle_backward(grad_output, upscale_factor):
    """Gradient of pixel_shuffle: pixel_unshuffle of grad_output."""
    return _shuffle(grad_output, upscale_factor, "pixel_shuffle_backward", False)


def pixel_unshuffle_backward(grad_output, downscale_factor):
    """Gradient of pixel_unshuffle: pixel_shuffle of grad_output."""
    return _shuffle(grad_output, downscale_factor, "pixel_unshuffle_backward", True)
