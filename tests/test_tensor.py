"""The core tensor, factories, zero-copy interop (buffer protocol, __array__, DLPack), info,
threads, ISA forcing and input errors."""
import gc
import sys

import numpy as np
import pytest

import dlcore
from dlcore import _core
from tests.conftest import run_in_python_threads


# ---- dlcore.Tensor basics ------------------------------------------------------------------
def test_tensor_properties_and_repr():
    t = dlcore.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and len(t) == 2
    assert t.dtype == dlcore.float32 and t.device == dlcore.device("cpu") and str(t.device) == "cpu"
    assert t.is_contiguous() and t.stride() == (3, 1)
    assert "tensor([[1., 2., 3.]" in repr(t) and "dtype" not in repr(t)  # float32 is the default, as in torch
    assert dlcore.tensor(3).dtype == dlcore.int64 and dlcore.tensor(True).dtype == dlcore.bool_
    assert dlcore.tensor(np.zeros(2, np.float64)).dtype == dlcore.float64
    assert dlcore.tensor([1, 2], dtype="float64").dtype == dlcore.float64
    assert dlcore.tensor(2.5).item() == 2.5 and isinstance(dlcore.tensor(7).item(), int)


def test_tensor_copies_its_data():
    a = np.ones(3, np.float32)
    t = dlcore.tensor(a)
    a[0] = 9
    assert t.numpy()[0] == 1


def test_factories():
    np.testing.assert_array_equal(dlcore.zeros(2, 3).numpy(), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(dlcore.ones((2, 3), dtype="float64").numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(dlcore.full((4,), 2.5).numpy(), np.full(4, 2.5, np.float32))
    assert dlcore.full((2,), 3).dtype == dlcore.int64 and dlcore.full((2,), True).dtype == dlcore.bool_
    np.testing.assert_array_equal(dlcore.arange(5).numpy(), np.arange(5))
    np.testing.assert_allclose(dlcore.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    e = dlcore.empty(0, 4)
    assert e.shape == (0, 4) and e.numel() == 0 and e.numpy().shape == (0, 4)
    assert dlcore.zeros(()).shape == () and dlcore.zeros(()).item() == 0.0


def test_item_needs_one_element():
    with pytest.raises(ValueError, match="^item: "):
        dlcore.zeros(2).item()


def test_memory_is_64_byte_aligned():
    for n in (1, 3, 17, 1000):
        assert dlcore.empty(n)._impl.data_ptr % 64 == 0


# ---- zero-copy NumPy interop --------------------------------------------------------------
def test_from_numpy_shares_memory_both_ways():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = dlcore.from_numpy(a)
    a[1, 2] = -5
    assert t.numpy()[1, 2] == -5
    t.numpy()[0, 0] = 42
    assert a[0, 0] == 42
    assert np.shares_memory(np.asarray(t), a)


@pytest.mark.parametrize("view", [
    lambda a: a.T,
    lambda a: a[1:, ::2],
    lambda a: a[::-1, 1:3],
    lambda a: a[2],
    lambda a: a[..., None][:, 1:],
])
def test_from_numpy_strided_and_offset_views(view):
    base = np.arange(35, dtype=np.float64).reshape(5, 7)
    v = view(base)
    t = dlcore.from_numpy(v)
    assert t.shape == v.shape
    np.testing.assert_array_equal(t.numpy(), v)
    np.testing.assert_array_equal(t.contiguous().numpy(), v)
    assert t.contiguous().is_contiguous()
    if v.size:
        t.numpy().flat[0] = -1.0
        assert v.flat[0] == -1.0


def test_unaligned_byte_strides_are_copied_not_misread():
    raw = np.zeros(40, np.uint8)
    rec = raw[1:33].view(np.float32)  # misaligned data pointer
    rec[:] = np.arange(8, dtype=np.float32)
    t = dlcore.from_numpy(rec)
    np.testing.assert_array_equal(t.numpy(), np.arange(8, dtype=np.float32))
    structured = np.zeros(4, dtype=[("a", np.float32), ("b", np.int8)])
    structured["a"] = [1, 2, 3, 4]
    t2 = dlcore.from_numpy(structured["a"])  # byte stride 5: not a multiple of 4
    np.testing.assert_array_equal(t2.numpy(), [1, 2, 3, 4])


def test_array_protocol_and_lifetime():
    t = dlcore.from_numpy(np.arange(6, dtype=np.int64))
    a = np.asarray(t)
    assert np.shares_memory(a, np.asarray(t))
    del t
    gc.collect()
    np.testing.assert_array_equal(a, np.arange(6))  # a keeps the memory alive
    b = dlcore.ones(3)
    arr = np.array(b, dtype=np.float64)
    assert arr.dtype == np.float64 and np.all(arr == 1)


def test_numpy_array_kept_alive_by_tensor():
    a = np.arange(1000, dtype=np.float32)
    t = dlcore.from_numpy(a)
    refs = sys.getrefcount(a)
    del a
    gc.collect()
    np.testing.assert_array_equal(t.numpy(), np.arange(1000, dtype=np.float32))
    assert refs >= 3


def test_bool_and_int64_roundtrip():
    m = np.array([True, False, True])
    np.testing.assert_array_equal(dlcore.from_numpy(m).numpy(), m)
    i = np.array([-(2**62), 5], np.int64)
    np.testing.assert_array_equal(dlcore.from_numpy(i).numpy(), i)


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.uint64, np.complex64, np.longdouble])
def test_unsupported_numpy_dtype_raises_type_error(dtype):
    with pytest.raises(TypeError, match="^as_tensor: unsupported dtype"):
        dlcore.from_numpy(np.zeros(3, dtype))


def test_big_endian_is_rejected_not_misread():
    with pytest.raises(TypeError, match="^as_tensor: "):
        dlcore.from_numpy(np.zeros(3, dtype=">f4"))


def test_from_numpy_rejects_non_arrays():
    with pytest.raises(TypeError, match="^from_numpy: "):
        dlcore.from_numpy([1, 2])


# ---- DLPack ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_dlpack_numpy_roundtrip(dtype):
    a = (np.arange(20).reshape(4, 5) % 3).astype(dtype)
    t = dlcore.from_dlpack(a)
    np.testing.assert_array_equal(t.numpy(), a)
    back = np.from_dlpack(t)
    np.testing.assert_array_equal(back, a)
    assert np.shares_memory(back, a)


def test_dlpack_strided_offset_numpy():
    base = np.arange(60, dtype=np.float32).reshape(6, 10)
    v = base[1:5:2, 3::3]
    t = dlcore.from_dlpack(v)
    np.testing.assert_array_equal(t.numpy(), v)
    v[0, 0] = 1000
    assert t.numpy()[0, 0] == 1000
    exported = np.from_dlpack(t)
    assert exported.strides == v.strides and np.shares_memory(exported, base)


def test_dlpack_torch_both_ways_share_memory(torch):
    x = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    v = x[1:, ::2]  # strided view with a storage offset
    t = dlcore.from_dlpack(v)
    np.testing.assert_array_equal(t.numpy(), v.numpy())
    v[0, 0] = -7.0  # write through torch, read through dlcore
    assert t.numpy()[0, 0] == -7.0
    t.numpy()[1, 1] = 99.0  # write through dlcore, read through torch
    assert float(x[2, 2]) == 99.0
    back = torch.from_dlpack(dlcore.from_numpy(np.arange(6, dtype=np.float32)))
    assert back.tolist() == [0, 1, 2, 3, 4, 5]
    mine = dlcore.ones(3)
    tb = torch.from_dlpack(mine)
    tb[1] = 5
    assert mine.numpy()[1] == 5


@pytest.mark.parametrize("tdtype", ["float32", "float64", "int64", "bool"])
def test_dlpack_torch_dtypes(torch, tdtype):
    x = (torch.arange(10) % 2).to(getattr(torch, tdtype))
    t = dlcore.from_dlpack(x)
    assert t.dtype == np.dtype(tdtype)
    np.testing.assert_array_equal(t.numpy(), x.numpy())
    np.testing.assert_array_equal(torch.from_dlpack(t).numpy(), x.numpy())


def test_dlpack_legacy_capsule_and_consumption():
    t = dlcore.from_numpy(np.arange(4, dtype=np.float32))
    cap = t.__dlpack__()  # no max_version: legacy capsule
    assert "dltensor" in repr(cap)
    u = dlcore.Tensor(_core.from_dlpack(cap))
    np.testing.assert_array_equal(u.numpy(), [0, 1, 2, 3])
    with pytest.raises(TypeError, match="^from_dlpack: "):
        _core.from_dlpack(cap)  # a capsule can be consumed once
    assert t.__dlpack_device__() == (1, 0)
    vcap = t.__dlpack__(max_version=(1, 0))
    assert "dltensor_versioned" in repr(vcap)
    del vcap  # an unconsumed capsule frees its tensor
    gc.collect()


def test_dlpack_unsupported_dtype(torch):
    with pytest.raises(TypeError, match="^from_dlpack: unsupported DLPack dtype"):
        dlcore.from_dlpack(torch.zeros(3, dtype=torch.complex64))


def test_from_dlpack_rejects_non_producers():
    with pytest.raises(TypeError, match="^from_dlpack: "):
        dlcore.from_dlpack(object())


# ---- devices and CUDA without CUDA ----------------------------------------------------------
def test_device_objects():
    assert dlcore.device("cuda") == dlcore.device("cuda:0") and dlcore.device("cpu") == "cpu"
    with pytest.raises(ValueError, match="^device: "):
        dlcore.device("tpu")
    with pytest.raises(ValueError, match="^to: "):
        dlcore.ones(2)._impl.to("gpu")


def test_cuda_tensor_without_device_raises():
    if dlcore.cuda.is_available():
        pytest.skip("a CUDA device is present; this test covers machines without one")
    with pytest.raises(RuntimeError, match="^to: "):
        dlcore.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="^zeros: "):
        dlcore.zeros(2, device="cuda")


@pytest.mark.skipif(not dlcore.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_roundtrip():
    a = np.arange(10, dtype=np.float32)
    t = dlcore.from_numpy(a).to("cuda")
    assert t.is_cuda and str(t.device) == "cuda:0"
    np.testing.assert_array_equal(t.cpu().numpy(), a)
    np.testing.assert_array_equal(dlcore.full((3,), 2.0, device="cuda").cpu().numpy(), [2, 2, 2])
    with pytest.raises(TypeError, match="^numpy: "):
        t.numpy()


# ---- info, threads, ISA -----------------------------------------------------------------------
def test_info_contents():
    info = dlcore.info()
    for key in ("version", "isa_available", "isa_active", "isa_detected", "num_threads", "openmp",
                "cuda_compiled", "cuda_available", "cuda_devices"):
        assert key in info
    assert info["version"] == dlcore.__version__ and info["version"]
    assert info["isa_available"][0] == "baseline"
    assert info["isa_active"] == info["isa_available"][-1] == info["isa_detected"]


def test_set_isa_forces_lower_and_rejects_unsupported():
    best = dlcore.available_isas()[-1]
    try:
        dlcore.set_isa("baseline")
        assert dlcore.info()["isa_active"] == "baseline"
    finally:
        dlcore.set_isa(best)
    with pytest.raises(ValueError, match="^set_isa: "):
        dlcore.set_isa("sse9")
    if "avx512" not in dlcore.available_isas():
        with pytest.raises(ValueError, match="^set_isa: "):
            dlcore.set_isa("avx512")


def test_every_kernel_has_all_cpu_variants():
    kernels = _core.kernels()
    assert "fill" in kernels
    for name, variants in kernels.items():
        cpu = [v for v in variants if v.startswith("cpu:")]
        assert "cpu:baseline" in cpu, name


def test_threads():
    old = dlcore.get_num_threads()
    try:
        dlcore.set_num_threads(1)
        assert dlcore.get_num_threads() == 1
    finally:
        dlcore.set_num_threads(old)
    with pytest.raises(ValueError, match="^set_num_threads: "):
        dlcore.set_num_threads(0)
    with pytest.raises(TypeError, match="^set_num_threads: "):
        dlcore.set_num_threads(1.5)


def test_shapes_that_overflow_or_are_negative():
    with pytest.raises(ValueError, match="^empty: "):
        _core.empty((2**40, 2**40))
    with pytest.raises(ValueError, match="^zeros: "):
        _core.zeros((-1, 2))
    with pytest.raises(MemoryError, match="^empty: "):
        _core.empty((2**61,), "float64")
    with pytest.raises(TypeError, match="^empty: "):
        _core.empty((2, 3), "uint16")


def test_copy_between_layouts_and_errors():
    src = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    dst = np.zeros((4, 3, 2), np.float32).transpose(2, 1, 0)
    dlcore.ops.copy_(dst, src)
    np.testing.assert_array_equal(dst, src)
    with pytest.raises(ValueError, match="^copy_: "):
        dlcore.ops.copy_(np.zeros(3, np.float32), np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="^copy_: "):
        dlcore.ops.copy_(np.zeros(3, np.float32), np.zeros(3, np.float64))


def test_concurrent_calls_from_python_threads():
    a = np.arange(1 << 18, dtype=np.float32)
    errors = []

    def work():
        try:
            for _ in range(20):
                t = dlcore.from_numpy(a[::2]).contiguous()
                assert t.numpy()[5] == 10
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    run_in_python_threads(work)
    assert not errors


def test_read_only_numpy_stays_read_only():
    a = np.arange(6, dtype=np.float32)
    a.setflags(write=False)
    t = dlcore.from_numpy(a)
    view = t.numpy()
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0] = 1
    with pytest.raises(ValueError, match="^copy_: 'dst' is read-only"):
        dlcore.ops.copy_(t, np.zeros(6, np.float32))
    back = np.from_dlpack(t)
    assert not back.flags.writeable


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_to_numpy_views_keep_memory_alive_with_strides_and_flags(dtype):
    # ops return NumPy results through _core.to_numpy: a view of the tensor's memory whose base
    # owns the storage, with the tensor's strides, dtype and read-only flag.
    base = (np.arange(24) % 3).astype(dtype).reshape(4, 6)
    impl = _core.as_tensor(base[1:, ::2])  # offset and strided
    view = _core.to_numpy(impl)
    assert view.dtype == dtype and view.shape == (3, 3) and np.shares_memory(view, base)
    assert view.strides == base[1:, ::2].strides
    del impl
    gc.collect()
    np.testing.assert_array_equal(view, base[1:, ::2])
    fresh = _core.to_numpy(_core.full((2, 3), 1.0, "float64", "cpu"))
    gc.collect()
    np.testing.assert_array_equal(fresh, np.ones((2, 3)))
    assert fresh.flags.writeable
    frozen = base.copy()
    frozen.setflags(write=False)
    assert not _core.to_numpy(_core.as_tensor(frozen)).flags.writeable
    assert _core.to_numpy(_core.as_tensor(np.array(dtype(1)))).shape == ()


def test_matmul_returns_numpy_for_numpy_inputs_only():
    a = np.ones((2, 3), np.float32)
    got = _core.matmul(a, a.T)
    assert type(got) is np.ndarray and got.flags.writeable and got.flags.c_contiguous
    np.testing.assert_array_equal(got, np.full((2, 2), 3, np.float32))
    assert type(_core.matmul(_core.as_tensor(a), a.T)) is _core.TensorImpl
    assert isinstance(dlcore.ops.matmul(dlcore.from_numpy(a), a.T), dlcore.Tensor)
