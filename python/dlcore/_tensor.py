"""dlcore.Tensor: the Python face of the C++ tensor (``dlcore._core.TensorImpl``).

A Tensor is a thin handle: its memory, shape, strides and dtype live in C++, and it converts to
and from NumPy (buffer protocol / ``__array__``) and any DLPack producer without copying.
"""
from __future__ import annotations

import numpy as np

from . import _core
from ._dtype import as_dtype, device as _device


class Tensor:
    """A tensor: C++ memory and metadata (``_impl``) plus the autograd state.

    requires_grad / grad / grad_fn behave as in PyTorch: leaves are tensors the user created
    (grad_fn None); operations on tensors that require grad record a graph for backward().
    ``_version`` counts in-place changes (shared by views of the same memory) so backward can
    refuse to use a saved tensor that was modified after it was saved.
    """

    __slots__ = ("_impl", "_requires_grad", "grad", "grad_fn", "_output_nr", "_version", "_is_view",
                 "__weakref__")

    # NumPy defers binary operators with a numpy scalar/array on the left to Tensor's reflected
    # methods (np.float64(2) * t is a Tensor with a graph, not an ndarray), as with torch.
    __array_priority__ = 1000

    def __init__(self, impl, requires_grad=False):
        if type(impl) is not _core.TensorImpl:
            raise TypeError("Tensor: construct tensors with dlcore.tensor(data), dlcore.from_numpy(a) "
                            "or the factories (zeros, ones, ...)")
        self._impl = impl
        self._requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version = [0]
        self._is_view = False
        if requires_grad:
            self.requires_grad = True

    # ---- autograd -----------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        # The autograd layer writes _requires_grad directly; this is the user-facing, checked path.
        value = bool(value)
        if self.grad_fn is not None:
            if not value:
                raise RuntimeError("requires_grad: you can only change requires_grad flags of leaf tensors; "
                                   "use .detach() to get a tensor that does not require grad")
            return
        if value and self._impl.dtype not in ("float32", "float64"):
            raise RuntimeError(f"requires_grad: only floating point tensors can require gradients, "
                               f"got {self._impl.dtype}")
        self._requires_grad = value

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def requires_grad_(self, requires_grad: bool = True):
        self.requires_grad = requires_grad
        return self

    def backward(self, gradient=None, retain_graph=None):
        """Accumulates d(self)/d(leaf) * gradient into every leaf's .grad (like torch)."""
        from .autograd.engine import backward

        backward((self,), None if gradient is None else (gradient,), retain_graph=retain_graph)

    def detach(self):
        """The same memory, cut from the graph."""
        t = Tensor(self._impl)
        t._version = self._version
        t._is_view = True  # shares memory with self: an in-place change of either shows in both
        return t

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError("data: expected a Tensor")
        self._impl = value._impl

    def _bump_version(self):
        self._version[0] += 1

    def _check_inplace(self, op):
        from .autograd.grad_mode import is_grad_enabled

        if self._requires_grad and self.grad_fn is None and is_grad_enabled():
            raise RuntimeError(f"{op}: a leaf tensor that requires grad is being used in an in-place operation; "
                               "wrap it in dlcore.no_grad()")

    # ---- properties -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._impl.shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self._impl.dtype)

    @property
    def device(self) -> _device:
        return _device(self._impl.device)

    @property
    def ndim(self) -> int:
        return self._impl.ndim

    def dim(self) -> int:
        return self._impl.ndim

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def stride(self, dim=None):
        return self._impl.strides if dim is None else self._impl.strides[dim]

    def numel(self) -> int:
        return self._impl.numel()

    def is_contiguous(self) -> bool:
        return self._impl.is_contiguous()

    @property
    def is_cuda(self) -> bool:
        return self._impl.device != "cpu"

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ---- conversion -------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The tensor's memory as a NumPy array (no copy). CPU tensors only."""
        if self.is_cuda:
            raise TypeError(f"numpy: tensor is on {self._impl.device}; call .cpu() or .to('cpu') first")
        return _core.to_numpy(self._impl)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        if dtype is not None and np.dtype(dtype) != a.dtype:
            if copy is False:
                raise ValueError("__array__: a dtype change needs a copy, but copy=False")
            return a.astype(dtype)
        return a.copy() if copy else a

    def item(self):
        return self._impl.item()

    def tolist(self):
        return self.to("cpu").numpy().tolist()

    def to(self, device=None, dtype=None):
        """A tensor on `device` (self if already there) with `dtype` (self if unchanged)."""
        out = self
        if device is not None:
            dev = _device(device)
            if dev != self.device:
                out = Tensor(out._impl.to(str(dev)))
        if dtype is not None:
            d = as_dtype(dtype)
            if d != out.dtype:
                if out.is_cuda:
                    raise RuntimeError("to: dtype conversion of CUDA tensors is not supported yet; convert on the cpu")
                out = Tensor(_core.as_tensor(out.numpy().astype(d)))
        return out

    # dtype shorthands (torch's Tensor.float() etc.); they return self when the dtype already fits.
    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def long(self):
        return self.to(dtype="int64")

    def bool(self):
        return self.to(dtype="bool")

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index: int = 0):
        return self.to(f"cuda:{index}")

    def contiguous(self):
        return self if self._impl.is_contiguous() else Tensor(self._impl.contiguous())


    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        return self._impl.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)

    def __dlpack_device__(self):
        return self._impl.__dlpack_device__()

    def __repr__(self):
        if self.is_cuda:
            body = np.array2string(self.cpu().numpy(), separator=", ", prefix="tensor(")
            return f"tensor({body}, device='{self._impl.device}', dtype={self.dtype})"
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        return f"tensor({body}, dtype={self.dtype})"


def _from_impl(impl) -> Tensor:
    return Tensor(impl)


def tensor(data, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """A new tensor holding a copy of `data` (like ``torch.tensor``): Python floats become float32
    and ints int64 unless `dtype` says otherwise."""
    d = as_dtype(dtype)
    if isinstance(data, Tensor):
        arr = data.cpu().numpy()
    elif hasattr(data, "__dlpack__") and not isinstance(data, np.ndarray):
        arr = np.asarray(Tensor(_core.from_dlpack(data)).cpu().numpy())
    else:
        arr = np.asarray(data)
        if d is None and arr.dtype.kind == "f" and not isinstance(data, np.ndarray):
            arr = arr.astype(np.float32)  # Python floats default to float32, as in torch
        elif d is None and arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
    if d is None and arr.dtype not in (np.float32, np.float64, np.int64, np.bool_):
        raise TypeError(f"tensor: unsupported dtype {arr.dtype} (supported: float32, float64, int64, bool)")
    arr = np.array(arr, dtype=d, order="C", copy=True)
    return Tensor(_core.as_tensor(arr)).to(device).requires_grad_(requires_grad)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing `a`'s memory (no copy); writes through either are seen by both."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(a).__name__}")
    return Tensor(_core.as_tensor(a))


def from_dlpack(x) -> Tensor:
    """A tensor sharing the memory of any DLPack producer (NumPy, PyTorch, JAX, CuPy)."""
    if isinstance(x, Tensor):
        return x
    return Tensor(_core.from_dlpack(x))


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def empty(*size, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    return Tensor(_core.empty(_shape(size), str(as_dtype(dtype) or "float32"), str(_device(device))), requires_grad)


def zeros(*size, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    return Tensor(_core.zeros(_shape(size), str(as_dtype(dtype) or "float32"), str(_device(device))), requires_grad)


def full(size, fill_value, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, bool) else np.int64 if isinstance(fill_value, int)
                 else np.float32)
    shape = (size,) if isinstance(size, int) else tuple(size)
    return Tensor(_core.full(shape, fill_value, str(as_dtype(dtype)), str(_device(device))), requires_grad)


def ones(*size, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    return full(_shape(size), 1.0, dtype=dtype or np.float32, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, int) for v in (start, end, step))
        dtype = np.int64 if integral else np.float32
    return Tensor(_core.as_tensor(np.arange(start, end, step, dtype=as_dtype(dtype)))).to(device).requires_grad_(
        requires_grad)
