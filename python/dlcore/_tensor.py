"""dlcore.Tensor: the Python face of the C++ tensor (``dlcore._core.TensorImpl``).

A Tensor is a thin handle: its memory, shape, strides and dtype live in C++, and it converts to
and from NumPy (buffer protocol / ``__array__``) and any DLPack producer without copying.
"""
from __future__ import annotations

import copy as _copy

import numpy as np

from . import _core
from ._dtype import as_dtype, device as _device, from_name as _dtype_from_name


class Tensor(_core.BufferExporter):
    """A tensor: C++ memory and metadata (``_impl``) plus the autograd state.

    CPU tensors export the buffer protocol (the C-level base class forwards it to ``_impl``,
    which works on every Python version): ``memoryview(t)``, ``np.frombuffer(t, ...)`` and
    ``np.asarray(t)`` view the tensor's memory without a copy.

    requires_grad / grad / grad_fn behave as in PyTorch: leaves are tensors the user created
    (grad_fn None); operations on tensors that require grad record a graph for backward().
    ``_version`` counts in-place changes (shared by views of the same memory) so backward can
    refuse to use a saved tensor that was modified after it was saved.
    """

    __slots__ = ("_impl", "_requires_grad", "grad", "grad_fn", "_output_nr", "_version", "_is_view", "_view_of",
                 "_hooks", "__weakref__")

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
        self._view_of = None  # (base Tensor, view Function, its other args) for views made by a Function
        self._hooks = None  # a leaf's gradient hooks (autograd/hooks.py); a non-leaf's live on its grad_fn
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
    def dtype(self):
        """The element type: a NumPy dtype, or ``dlcore.bfloat16`` (which NumPy lacks)."""
        return _dtype_from_name(self._impl.dtype)

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
        """``np.asarray(t)`` (NumPy 2 protocol): a view of the tensor's memory when neither
        `dtype` nor ``copy=True`` asks for a copy; ``copy=False`` with a dtype change raises
        ValueError; a CUDA tensor raises TypeError (call ``.cpu()``)."""
        a = self.numpy()
        if dtype is not None and np.dtype(dtype) != a.dtype:
            if copy is False:
                raise ValueError("__array__: a dtype change needs a copy, but copy=False")
            return a.astype(dtype)
        return a.copy() if copy else a

    @property
    def __array_interface__(self):
        """NumPy's array interface (version 3) describing the tensor's own memory (CPU only), so
        ``np.asarray`` views it without a copy and keeps the tensor alive.  A CUDA tensor has none
        (AttributeError, so ``hasattr`` checks and NumPy's fallback to ``__array__`` work)."""
        if self.is_cuda:
            raise AttributeError("__array_interface__: a CUDA tensor has no array interface; use __dlpack__ "
                                 "or .cpu()")
        return self.numpy().__array_interface__

    def item(self):
        return self._impl.item()

    def tolist(self):
        t = self.to("cpu")
        return (t.float() if t._impl.dtype == "bfloat16" else t).numpy().tolist()  # NumPy lacks bfloat16

    # ---- dtype and device conversion (torch's Tensor.to / type / half / int / ...) ------------
    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        """A tensor with the requested device and/or dtype; ``self`` when nothing changes (unless
        ``copy=True``).  Forms, as in torch: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
        ``to(other)`` (other's device and dtype), and the keywords ``dtype=`` / ``device=``.

        A floating -> floating conversion of a tensor that requires grad is recorded for autograd
        (the gradient is converted back); conversions to integer or bool dtypes are not.  Float to
        integer truncates toward zero (values out of range wrap through int64); float16/bfloat16
        round to nearest even.  `non_blocking` is accepted and ignored.
        Raises TypeError (an argument that is neither a device, a dtype nor a Tensor, or an
        unsupported dtype), ValueError (a malformed device string)."""
        if len(args) > 2:
            raise TypeError(f"to: expected at most 2 positional arguments, got {len(args)}")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = (a.device if device is None else device), (a.dtype if dtype is None else dtype)
            elif isinstance(a, _device) or (isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda")):
                device = a
            elif type(a).__name__ == "device":  # a torch.device
                device = str(a)
            elif a is not None:
                try:
                    dtype = as_dtype(a)
                except TypeError as e:
                    raise TypeError(f"to: expected a device, a dtype or a Tensor, got {a!r} ({e})") from None
        out = self
        if device is not None:
            dev = _device(device)
            if dev != out.device:
                out = Tensor(out._impl.to(str(dev)))
        if dtype is not None:
            d = as_dtype(dtype)
            if d != out.dtype:
                if out.is_cuda:
                    raise RuntimeError("to: dtype conversion of CUDA tensors is not supported yet; convert on the cpu")
                if out._requires_grad and d.kind == "f":
                    from .autograd.functions_dtype import Cast

                    return Cast.apply(out, str(d))
                out = Tensor(_core.cast(out._impl, str(d)))
        if copy and out is self:
            out = Tensor(self._impl.clone())
        return out

    def type(self, dtype=None):
        """Without an argument, the legacy type name (``'dlcore.FloatTensor'``, ``'dlcore.ByteTensor'``,
        as torch's ``'torch.FloatTensor'``); with one (a dtype or such a name, ``'torch.LongTensor'``
        included), ``self.to(dtype)``.  Raises TypeError for an unknown name or dtype."""
        from ._dtype import from_type_name, type_name

        if dtype is None:
            return type_name(self.dtype)
        if isinstance(dtype, str) and from_type_name(dtype) is not None:
            dtype = from_type_name(dtype)
        return self.to(dtype=dtype)

    # dtype shorthands (torch's Tensor.float() etc.); they return self when the dtype already fits.
    def float(self):
        """``self.to(dlcore.float32)``."""
        return self.to(dtype="float32")

    def double(self):
        """``self.to(dlcore.float64)``."""
        return self.to(dtype="float64")

    def half(self):
        """``self.to(dlcore.float16)`` (storage type: arithmetic upcasts to float32 and rounds back)."""
        return self.to(dtype="float16")

    def bfloat16(self):
        """``self.to(dlcore.bfloat16)`` (storage type; ``.numpy()`` of it raises, use ``.float()``)."""
        return self.to(dtype="bfloat16")

    def long(self):
        """``self.to(dlcore.int64)``."""
        return self.to(dtype="int64")

    def int(self):
        """``self.to(dlcore.int32)``."""
        return self.to(dtype="int32")

    def short(self):
        """``self.to(dlcore.int16)``."""
        return self.to(dtype="int16")

    def char(self):
        """``self.to(dlcore.int8)``."""
        return self.to(dtype="int8")

    def byte(self):
        """``self.to(dlcore.uint8)``."""
        return self.to(dtype="uint8")

    def bool(self):
        """``self.to(dlcore.bool)``: nonzero (and NaN) is True."""
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
        """torch's layout: ``tensor([...])`` plus, where they apply, ``device='cuda:0'``, the
        shape of an empty tensor (``size=(0, 3)``), a non-default dtype (float32, int64 and bool
        are the defaults) and ``grad_fn=<MulBackward0>`` or ``requires_grad=True``."""
        t = self.cpu() if self.is_cuda else self
        a = (t.float() if t._impl.dtype == "bfloat16" else t).numpy()  # NumPy lacks bfloat16
        extra = []
        if self.is_cuda:
            extra.append(f"device='{self._impl.device}'")
        if a.size == 0:
            body = "[]"
            if a.shape != (0,):
                extra.append(f"size={a.shape}")
        else:
            fixed = a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.trunc(a)))
            body = np.array2string(a, separator=", ", prefix="tensor(", precision=4,
                                   floatmode="fixed" if fixed else "maxprec")
        if self._impl.dtype not in ("float32", "int64", "bool"):
            extra.append(f"dtype=dlcore.{self._impl.dtype}")
        if self.grad_fn is not None:
            extra.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extra]) + ")"

    def __format__(self, spec):
        """``f"{loss:.4f}"``: a one-element tensor formats as its Python number; with an empty
        spec any tensor formats as its repr; a spec on a larger tensor raises TypeError."""
        if self._impl.numel() == 1:
            return format(self._impl.item(), spec)
        if not spec:
            return repr(self)
        raise TypeError(f"__format__: unsupported format string {spec!r} passed to a Tensor of "
                        f"{self._impl.numel()} elements (only one-element tensors take a format spec)")

    def __index__(self):
        """``range(t)``, ``lst[t]``: a one-element integer (or bool) tensor as a Python int;
        TypeError for anything else, as in torch."""
        dt = self._impl.dtype
        if not (dt == "bool" or dt.startswith(("int", "uint"))) or self._impl.numel() != 1:
            raise TypeError("__index__: only integer tensors of a single element can be converted to an index")
        return int(self._impl.item())

    # ---- copying and pickling ---------------------------------------------------------------
    # A tensor pickles as (a copy of its values as a NumPy array, requires_grad, device): no
    # graph, no memory shared with the original, as torch's pickling of a leaf.
    def __reduce_ex__(self, protocol):
        """pickle support: rebuilt by ``_rebuild`` from a copy of the values."""
        return (_rebuild, (np.array(self.detach().cpu().numpy(), copy=True), self._requires_grad,
                           str(self.device), type(self)))

    def __deepcopy__(self, memo):
        """A new leaf with copied values, requires_grad and (deep-copied) .grad; the subclass
        (nn.Parameter) is kept.  RuntimeError for a non-leaf, as in torch."""
        if self.grad_fn is not None:
            raise RuntimeError("deepcopy: only tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment; use .detach().clone()")
        new = Tensor.__new__(type(self))
        Tensor.__init__(new, self._impl.clone(), self._requires_grad)
        memo[id(self)] = new
        if self.grad is not None:
            new.grad = _copy.deepcopy(self.grad, memo)
        return new


def _rebuild(array, requires_grad, device="cpu", cls=None):
    """Unpickles a Tensor (see ``Tensor.__reduce_ex__``)."""
    cls = Tensor if cls is None else cls
    t = Tensor.__new__(cls)
    Tensor.__init__(t, _core.as_tensor(np.require(array, requirements="C")))
    if device != "cpu":
        t._impl = t._impl.to(device)
    t.requires_grad = requires_grad
    return t


def _from_impl(impl) -> Tensor:
    return Tensor(impl)


def tensor(data, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """A new tensor holding a copy of `data` (like ``torch.tensor``): Python floats become float32
    and ints int64 unless `dtype` says otherwise."""
    d = as_dtype(dtype)
    if isinstance(data, Tensor) and data._impl.dtype == "bfloat16":  # NumPy lacks bfloat16: copy in C++
        out = Tensor(data.cpu()._impl.clone()).to(dtype=d)
        return out.to(device).requires_grad_(requires_grad)
    if isinstance(data, Tensor):
        arr = data.cpu().numpy()
    elif hasattr(data, "__dlpack__") and not isinstance(data, np.ndarray):
        arr = np.asarray(Tensor(_core.from_dlpack(data)).cpu().numpy())
    else:
        arr = np.asarray(data)
        if d is None and arr.dtype.kind == "f" and not isinstance(data, np.ndarray):
            arr = arr.astype(np.float32)  # Python floats default to float32, as in torch
        elif d is None and arr.dtype.kind in "iu" and not isinstance(data, np.ndarray):
            arr = arr.astype(np.int64)  # Python ints: int64 (a NumPy array keeps its int32/uint8/...)
    if d is None:
        try:
            as_dtype(arr.dtype)
        except TypeError:
            raise TypeError(f"tensor: unsupported dtype {arr.dtype} (supported: float32, float64, float16, "
                            "bfloat16, int64, int32, int16, int8, uint8, bool)") from None
    if d is not None and d.name == "bfloat16":  # NumPy has no bfloat16: round from float32
        impl = _core.cast(np.array(arr, dtype=np.float32, order="C", copy=True), "bfloat16")
        return Tensor(impl).to(device).requires_grad_(requires_grad)
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
