"""dlcore.nn.functional (import as F): activations, linear, dropout, embedding and the losses,
with torch.nn.functional's names, arguments and semantics.

Activations and most losses are compositions of differentiable Tensor operations (each one a
dlcore kernel); cross_entropy, nll_loss, binary_cross_entropy and embedding are fused autograd
Functions (nn/_functions.py).
"""
import math as _math

import numpy as _np

from .. import _core
from .. import ops as _ops
from .._tensor import Tensor
from ..autograd import functions as _AF
from ..autograd.grad_mode import no_grad
from . import _functions as _NF

__all__ = [
    "relu", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax", "linear",
    "dropout", "embedding", "mse_loss", "l1_loss", "gaussian_nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div", "gaussian_kl_standard_normal",
]

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x, op, name="input"):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, _np.ndarray) or hasattr(x, "__dlpack__"):
        return Tensor(_core.as_tensor(_np.asarray(x))) if isinstance(x, _np.ndarray) else Tensor(_core.from_dlpack(x))
    raise TypeError(f"{op}: expected {name} to be a dlcore.Tensor, got {type(x).__name__}")


def _index_tensor(x, op):
    """Class labels / embedding indices: any int64 array-like, as a TensorImpl."""
    if isinstance(x, Tensor):
        return x._impl
    a = _np.asarray(x)
    if a.dtype.kind in "iu" and a.dtype != _np.int64:
        a = a.astype(_np.int64)
    return _core.as_tensor(_np.ascontiguousarray(a))


def _reduce(loss, reduction, op):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_reduction(reduction, op, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {allowed}, got {reduction!r}")


# ---- activations ---------------------------------------------------------------------------------
def relu(input, inplace=False):
    return _AF.Relu.apply(_tensor(input, "relu"))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _AF.LeakyRelu.apply(_tensor(input, "leaky_relu"), float(negative_slope))


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _AF.Gelu.apply(_tensor(input, "gelu"), approximate)


def silu(input, inplace=False):
    return _AF.Silu.apply(_tensor(input, "silu"))


def sigmoid(input):
    return _AF.Sigmoid.apply(_tensor(input, "sigmoid"))


def tanh(input):
    return _AF.Tanh.apply(_tensor(input, "tanh"))


def softplus(input, beta=1.0, threshold=20.0):
    return _AF.Softplus.apply(_tensor(input, "softplus"), float(beta), float(threshold))


def softmax(input, dim):
    return _AF.Softmax.apply(_tensor(input, "softmax"), dim)


def log_softmax(input, dim):
    return _AF.LogSoftmax.apply(_tensor(input, "log_softmax"), dim)


# ---- layers ----------------------------------------------------------------------------------------
def linear(input, weight, bias=None):
    """y = input @ weight.T + bias (one fused GEMM; weight is (out_features, in_features))."""
    return _AF.Linear.apply(_tensor(input, "linear"), weight, bias, None)


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p);
    the identity when not training or p == 0.  The mask comes from dlcore's seeded generator."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: dropout probability has to be between 0 and 1, but got {p}")
    x = _tensor(input, "dropout")
    if not training or p == 0.0:
        return x
    mask = _ops.dropout_mask(x.shape, p, dtype=str(x.dtype))
    mask_impl = _core.as_tensor(mask)
    if x.is_cuda:
        mask_impl = mask_impl.to(x._impl.device)
    return _AF.Mul.apply(x, mask_impl)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0):
    """Rows of weight at the int64 indices `input` (any shape) -> input.shape + (dim,).
    The padding_idx row gets no gradient.  Out-of-range indices raise IndexError.  With max_norm,
    the referenced rows whose norm_type-norm exceeds it are first rescaled to max_norm in place
    (torch's renorm, outside autograd)."""
    if padding_idx is not None:
        n = weight.shape[0]
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx must be within num_embeddings ({n}), got {padding_idx}")
        padding_idx %= n
    indices = _index_tensor(input, "embedding")
    if max_norm is not None:
        from ._embedding import embedding_renorm_

        embedding_renorm_(weight, indices, float(max_norm), float(norm_type))
    return _NF.Embedding.apply(weight, indices, padding_idx)


# ---- regression losses ----------------------------------------------------------------------------
def _same_size(input, target):
    """PyTorch's warning (same text) when target and input differ in shape: broadcasting them
    (say (N, 1) against (N,)) silently gives an (N, N) loss."""
    if input.shape != target.shape:
        import warnings

        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have "
                      "the same size.", UserWarning, stacklevel=3)
    return input, target


def mse_loss(input, target, reduction="mean"):
    """``torch.nn.functional.mse_loss``: mean (or sum, or none) of (input - target)^2; warns like
    torch when the shapes differ."""
    _check_reduction(reduction, "mse_loss")
    input, target = _same_size(_tensor(input, "mse_loss"), _tensor(target, "mse_loss", "target"))
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """``torch.nn.functional.l1_loss``: mean (or sum, or none) of |input - target|; warns like
    torch when the shapes differ."""
    _check_reduction(reduction, "l1_loss")
    input, target = _same_size(_tensor(input, "l1_loss"), _tensor(target, "l1_loss", "target"))
    return _reduce((input - target).abs(), reduction, "l1_loss")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of target under N(input, var), as torch.nn.functional.gaussian_nll_loss:
    0.5 * (log(max(var, eps)) + (input - target)^2 / max(var, eps)) [+ 0.5 log(2 pi) if full].

    var has input's shape (heteroscedastic), or input's shape with the last dim 1 or dropped
    (one variance per sample).  As in torch the clamp at eps is invisible to autograd."""
    _check_reduction(reduction, "gaussian_nll_loss")
    input = _tensor(input, "gaussian_nll_loss")
    target = _tensor(target, "gaussian_nll_loss", "target")
    var = _tensor(var, "gaussian_nll_loss", "var")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.shape[:-1] == var.shape[:-1] and var.shape[-1:] == (1,)):
            raise ValueError(f"gaussian_nll_loss: var is of incorrect size: expected {input.shape} (or with the "
                             f"last dim 1 or dropped), got {var.shape}")
    if var.numel() and float(_ops.min(var._impl).item()) < 0:
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    var = var.clone()
    with no_grad():
        _ops.copy_(var._impl, _ops.maximum(var._impl, float(eps)))
        var._bump_version()
    d = input - target
    loss = (var.log() + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * _math.log(2 * _math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


# ---- classification losses ---------------------------------------------------------------------
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w (t log x + (1 - t) log(1 - x)) with each log clamped at -100 (torch).  The gradient
    w.r.t. target uses the clamped logs, so it stays finite at x = 0 or 1 (torch gives +-inf)."""
    _check_reduction(reduction, "binary_cross_entropy")
    x = _tensor(input, "binary_cross_entropy")
    t = _tensor(target, "binary_cross_entropy", "target")
    if t.shape != x.shape:
        raise ValueError(f"binary_cross_entropy: expected target of the input's size {x.shape}, got {t.shape}")
    if x.numel() and (float(_ops.min(x._impl).item()) < 0 or float(_ops.max(x._impl).item()) > 1):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1")
    w = None if weight is None else _tensor(weight, "binary_cross_entropy", "weight")
    return _reduce(_NF.BinaryCrossEntropy.apply(x, t, w), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """BCE of sigmoid(input), computed stably as (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    x = _tensor(input, "binary_cross_entropy_with_logits")
    t = _tensor(target, "binary_cross_entropy_with_logits", "target")
    if t.shape != x.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: expected target of the input's size {x.shape}, "
                         f"got {t.shape}")
    sp = _AF.Softplus.apply(-x, 1.0, 20.0)  # log(1 + exp(-x)), linear past the threshold: no overflow
    if pos_weight is not None:
        pw = _tensor(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
        loss = (1 - t) * x + ((pw - 1) * t + 1) * sp
    else:
        loss = (1 - t) * x + sp
    if weight is not None:
        loss = loss * _tensor(weight, "binary_cross_entropy_with_logits", "weight")
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """torch.nn.functional.cross_entropy over (N, C), (N, C, d1, ...) or (C,) logits; target holds
    int64 class indices or class probabilities (input's shape).  One fused kernel forward and back."""
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    x = _tensor(input, "cross_entropy")
    t = target._impl if isinstance(target, Tensor) else _index_tensor(target, "cross_entropy")
    w = None if weight is None else _tensor(weight, "cross_entropy", "weight")._impl
    return _NF.CrossEntropy.apply(x, t, w, int(ignore_index), reduction, float(label_smoothing))


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """torch.nn.functional.nll_loss: -weight[t] * input[n, t] over log-probabilities."""
    _check_reduction(reduction, "nll_loss")
    x = _tensor(input, "nll_loss")
    t = _index_tensor(target, "nll_loss")
    w = None if weight is None else _tensor(weight, "nll_loss", "weight")._impl
    return _NF.NllLoss.apply(x, t, w, int(ignore_index), reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """torch.nn.functional.kl_div: input holds log-probabilities; pointwise
    target * (log(target) - input) (0 where target == 0), or exp(target) * (target - input) with
    log_target.  reduction "batchmean" divides the sum by input.size(0) (the true KL divergence
    per sample); "mean" averages over all elements, as torch does.  The gradient w.r.t. target
    is 0 (not torch's nan) where target == 0."""
    _check_reduction(reduction, "kl_div", _REDUCTIONS + ("batchmean",))
    x = _tensor(input, "kl_div")
    t = _tensor(target, "kl_div", "target")
    if log_target:
        loss = t.exp() * (t - x)
    else:
        positive = t > 0
        safe = _AF.Where.apply(positive, t, 1.0)  # log(1) = 0 where t == 0, so 0 * log stays 0
        loss = t * safe.log() - t * x
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return _reduce(loss, reduction, "kl_div")


def gaussian_kl_standard_normal(mu, logvar, reduction="sum"):
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) in closed form, the VAE regulariser:
    0.5 * sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j) over the last (latent) dimension.

    reduction: "none" -> one KL per sample (shape mu.shape[:-1]); "sum" -> their sum;
    "mean" -> their mean over the batch (the per-sample KL averaged, not per latent dim)."""
    _check_reduction(reduction, "gaussian_kl_standard_normal")
    mu = _tensor(mu, "gaussian_kl_standard_normal", "mu")
    logvar = _tensor(logvar, "gaussian_kl_standard_normal", "logvar")
    if mu.shape != logvar.shape:
        raise ValueError(f"gaussian_kl_standard_normal: mu and logvar must have the same shape, "
                         f"got {mu.shape} and {logvar.shape}")
    terms = mu * mu + logvar.exp() - 1.0 - logvar
    per_sample = terms.sum(-1) * 0.5 if mu.ndim else terms * 0.5
    return _reduce(per_sample, reduction, "gaussian_kl_standard_normal")


def one_hot(tensor, num_classes=-1):
    """``torch.nn.functional.one_hot``: int64 class indices of any shape -> an int64 tensor of shape
    ``tensor.shape + (num_classes,)`` with a 1 at each index; ``num_classes=-1`` uses the largest
    index + 1.  TypeError for a non-int64 input; ValueError for negative indices or indices
    ``>= num_classes`` (RuntimeError in torch)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot: expected a dlcore.Tensor of class indices, got {type(tensor).__name__}")
    return Tensor(_ops.one_hot(tensor._impl, num_classes))


__all__.append("one_hot")

# Convolutions and padding (issue 16): autograd Functions in nn/functional_conv.py.
from .functional_conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, pad  # noqa: E402,F401

__all__ += ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "pad"]
from .functional_pool import *  # noqa: E402,F401,F403  (pooling, unpooling, upsampling, pixel shuffle)
from .functional_pool import __all__ as _pool_all  # noqa: E402
__all__ += _pool_all
from .functional_attention import scaled_dot_product_attention  # noqa: E402  (issue 25: fused attention)

__all__.append("scaled_dot_product_attention")

from . import functional_norm as _functional_norm  # noqa: E402
from .functional_norm import *  # noqa: F401,F403,E402  (batch/layer/group/instance norm, dropout1d/2d)
__all__ += _functional_norm.__all__
