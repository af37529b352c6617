"""dtypes beyond float32/float64/int64/bool: int32, int16, int8, uint8 (storage, casts,
elementwise, comparisons, where, indexing and copies), float16 and bfloat16 (storage, casts,
NumPy/DLPack exchange, arithmetic computed in float32); PyTorch's type promotion; the Tensor
conversion methods; the integer-style operators (//, %, fmod, &, |, ^, ~)."""
import itertools
import pickle

import numpy as np
import pytest

import dlcore
from dlcore import ops
from tests.conftest import rng, run_threads_bitwise, views
from tests.reference import elementwise as ref

ALL = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
NUMPY_OK = [d for d in ALL if d != "bfloat16"]


def make(dtype, values, shape=None):
    """A dlcore Tensor of `dtype` holding `values` (bfloat16 through a float32 cast)."""
    a = np.asarray(values, np.float64)
    if shape is not None:
        a = a.reshape(shape)
    if dtype == "bfloat16":
        return dlcore.from_numpy(a.astype(np.float32)).to(dlcore.bfloat16)
    return dlcore.from_numpy(ref.cast(a, dtype))


def int_values(dtype, shape, seed=0, low=None, high=None):
    info = np.iinfo(dtype)
    low = info.min if low is None else low
    high = info.max if high is None else high
    return rng(seed).integers(low, high, shape, endpoint=True).astype(dtype)


# ---- dtype objects -----------------------------------------------------------------------------
def test_public_dtype_names():
    assert dlcore.int32 == np.int32 and dlcore.int16 == np.int16 and dlcore.int8 == np.int8
    assert dlcore.uint8 == np.uint8 and dlcore.float16 == np.float16 and dlcore.half == np.float16
    assert dlcore.bool == np.bool_ and dlcore.bool_ == np.bool_
    bf = dlcore.bfloat16
    assert str(bf) == "bfloat16" and bf.itemsize == 2 and bf.kind == "f" and bf == "bfloat16"
    assert bf != np.float32 and np.dtype(np.float16) != bf and bf not in (np.float32, np.float16)
    assert pickle.loads(pickle.dumps(bf)) is bf
    assert dlcore.zeros(2, dtype=bf).dtype == bf


def test_torch_dtypes_are_understood(torch):
    for name in ALL:
        t = dlcore.zeros(3, dtype=getattr(torch, name))
        assert str(t.dtype) == name
    assert dlcore.bfloat16 == torch.bfloat16


# ---- promotion: torch.result_type, exactly -----------------------------------------------------
def _torch_operand(torch, kind, dtype):
    if kind == "scalar":
        return dtype  # already a Python/NumPy scalar
    return torch.zeros((2,) if kind == "dim" else (), dtype=getattr(torch, dtype))


def _dl_operand(kind, dtype):
    if kind == "scalar":
        return dtype
    return dlcore.zeros((2,) if kind == "dim" else (), dtype=dtype)


# (np.bool_ is left out: torch reads it as a float scalar, a quirk not worth copying; dlcore reads it
# as a bool, like Python's True.)
SCALARS = [True, 3, -2.5, np.float64(1.5), np.float32(2.0), np.int8(3), np.int64(7)]


@pytest.mark.parametrize("kinds", [("dim", "dim"), ("dim", "0d"), ("0d", "dim"), ("0d", "0d")])
def test_result_type_matches_torch_on_the_dtype_grid(torch, kinds):
    for da, db in itertools.product(ALL, ALL):
        want = str(torch.result_type(_torch_operand(torch, kinds[0], da),
                                     _torch_operand(torch, kinds[1], db))).split(".")[1]
        got = ops.result_type(_dl_operand(kinds[0], da), _dl_operand(kinds[1], db))
        assert got == want, (kinds, da, db)
        assert ref.result_type(da, db, a_0d=kinds[0] == "0d", b_0d=kinds[1] == "0d") == want, (kinds, da, db)


@pytest.mark.parametrize("kind", ["dim", "0d"])
def test_result_type_with_scalars_matches_torch(torch, kind):
    for d, s in itertools.product(ALL, SCALARS):
        t = _torch_operand(torch, kind, d)
        want = str(torch.result_type(t, s)).split(".")[1]
        x = _dl_operand(kind, d)
        assert ops.result_type(x, s) == want, (kind, d, s)
        assert ops.result_type(s, x) == want, (kind, d, s)
        sd = str(np.asarray(s).dtype) if not isinstance(s, (bool, int, float)) else type(s).__name__
        sd = {"bool": "bool", "int": "int64", "float": "float64"}.get(sd, sd)
        assert ref.result_type(d, sd, b_scalar=True, a_0d=kind == "0d") == want


def test_ops_apply_the_promoted_dtype():
    i8 = np.array([1, -2], np.int8)
    assert ops.add(i8, np.array([1, 2], np.uint8)).dtype == np.int16
    assert ops.add(i8, np.array(2.0)).dtype == np.float64  # 0-d float64 raises the category
    assert ops.add(np.ones(2, np.float32), np.array(2.0)).dtype == np.float32  # same category: no
    assert ops.add(np.ones(2, np.int32), np.float64(2.0)).dtype == np.float32  # a NumPy scalar is weak
    assert ops.add(np.ones(2, np.uint8), 300).dtype == np.uint8
    t = dlcore.tensor([1, 2], dtype=dlcore.uint8)
    assert (t + 2.5).dtype == np.float32 and (t * 2).dtype == np.uint8 and (t + t.to(dlcore.int8)).dtype == np.int16
    h = dlcore.tensor([1, 2], dtype=dlcore.float16)
    assert (h + 1.0).dtype == np.float16 and (h + dlcore.tensor(1.0, dtype=dlcore.float64)).dtype == np.float16
    assert (h + h.bfloat16()).dtype == np.float32


# ---- casts ---------------------------------------------------------------------------------------
CAST_VALUES = [-129, -128.5, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2.5, 3.7, 127, 128, 255.5, 256, 300, 1000.25]


def test_casts_match_torch_for_every_pair(torch):
    """Every (source, target) pair, through DLPack both ways, bitwise against torch's .to()."""
    src64 = torch.tensor(CAST_VALUES, dtype=torch.float64)
    for da, db in itertools.product(ALL, ALL):
        ts = src64.to(getattr(torch, da))
        x = dlcore.from_dlpack(ts)
        got = torch.from_dlpack(x.to(getattr(dlcore, db if db != "bool" else "bool_")))
        want = ts.to(getattr(torch, db))
        assert got.dtype == want.dtype and torch.equal(got, want), (da, db, got, want)


def test_float_specials_cast(torch):
    vals = [float("nan"), float("inf"), -float("inf"), -0.0, 65504.0, 65520.0, 1e-8, 6e-8, 3e38]
    for da, db in itertools.product(["float16", "bfloat16", "float32", "float64"], repeat=2):
        ts = torch.tensor(vals, dtype=torch.float64).to(getattr(torch, da))
        got = torch.from_dlpack(dlcore.from_dlpack(ts).to(getattr(dlcore, db)))
        want = ts.to(getattr(torch, db))
        assert torch.equal(got.isnan(), want.isnan()) and torch.equal(got.nan_to_num(), want.nan_to_num()), (da, db)
        ok = ~want.isnan()  # (a NaN's sign is not specified: torch's own paths differ)
        assert torch.equal(got[ok].signbit(), want[ok].signbit())
        assert torch.equal(torch.from_dlpack(dlcore.from_dlpack(ts).bool()), ts.bool())


def test_float16_rounding_is_bitwise_numpys(isa):
    # random bit patterns: normals, subnormals, ties, overflow to inf, NaN
    bits = rng(3).integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    with np.errstate(over="ignore"):
        want = x.astype(np.float16)
    got = run_threads_bitwise(lambda: ops.cast(x, "float16"))
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got.view(np.uint16)[~nan], want.view(np.uint16)[~nan])
    back = ops.cast(want, "float32")
    assert np.array_equal(back[~nan], want[~nan].astype(np.float32))


def test_bfloat16_rounding_matches_reference():
    x = rng(4).integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    bf = dlcore.from_numpy(x).bfloat16()
    got = bf.float().numpy()
    want = ref.from_bfloat16_bits(ref.to_bfloat16_bits(x))
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan) and np.array_equal(got[~nan], want[~nan])


def test_cast_strided_views_and_threads(isa):
    a = rng(5).standard_normal((70, 90)) * 200
    for _, v in views(a):
        for d in ("uint8", "int16", "float16", "int32"):
            got = run_threads_bitwise(lambda: ops.cast(v, d))
            assert np.array_equal(got, ref.cast(v, d))


# ---- elementwise on the integer dtypes --------------------------------------------------------------
ARITH = ["add", "sub", "mul", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
         "bitwise_and", "bitwise_or", "bitwise_xor"]


@pytest.mark.parametrize("dtype", INTS)
def test_integer_arithmetic_wraps_like_numpy(isa, dtype):
    a, b = int_values(dtype, (33, 65), 1), int_values(dtype, (65,), 2)
    for name in ARITH:
        got = run_threads_bitwise(getattr(ops, name), a, b)
        want = ref.binary(name, a, b, dtype)
        assert got.dtype == want.dtype and np.array_equal(got, want), name
    assert np.array_equal(ops.neg(a), -a) and np.array_equal(ops.abs(a), np.abs(a))
    assert np.array_equal(ops.relu(a), np.maximum(a, 0)) and np.array_equal(ops.bitwise_not(a), ~a)
    e = int_values(dtype, (65,), 3, 0, 9)
    with np.errstate(over="ignore"):
        assert np.array_equal(ops.pow(a, e), np.power(a, e))
    assert ops.div(a, b).dtype == np.float32 and ops.exp(a).dtype == np.float32


@pytest.mark.parametrize("dtype", INTS)
def test_integer_division_family_matches_python(isa, dtype):
    a = int_values(dtype, (31, 17), 4)
    b = int_values(dtype, (17,), 5)
    b[b == 0] = 3
    b[:2] = -1 if dtype != "uint8" else 1  # INT_MIN // -1 wraps instead of trapping
    a[0, 0] = np.iinfo(dtype).min
    for name in ("floor_divide", "remainder", "fmod"):
        with np.errstate(all="ignore"):
            want = ref.binary(name, a, b, dtype)
        got = run_threads_bitwise(getattr(ops, name), a, b)
        assert got.dtype == np.dtype(dtype) and np.array_equal(got, want), name
    # spot checks of the sign conventions on plain Python ints
    if dtype != "uint8":
        x, y = np.array([7, -7, 7, -7], dtype), np.array([2, 2, -2, -2], dtype)
        assert ops.floor_divide(x, y).tolist() == [7 // 2, -7 // 2, 7 // -2, -7 // -2]
        assert ops.remainder(x, y).tolist() == [7 % 2, -7 % 2, 7 % -2, -7 % -2]
        assert ops.fmod(x, y).tolist() == [1, -1, 1, -1]


def test_float_floor_divide_and_remainder_match_torch(torch):
    v = torch.tensor([-7.5, -3.0, -1e-30, -0.0, 0.0, 2.0, 5.25, 7.0, float("inf"), float("nan")])
    a, b = v[:, None].expand(10, 10), v[None, :].expand(10, 10)
    for dt in (torch.float32, torch.float64, torch.float16):
        ta, tb = a.to(dt), b.to(dt)
        da, db = dlcore.from_dlpack(ta.contiguous()), dlcore.from_dlpack(tb.contiguous())
        for name, want in (("floor_divide", torch.floor_divide(ta, tb)), ("remainder", torch.remainder(ta, tb)),
                           ("fmod", torch.fmod(ta, tb))):
            got = torch.from_dlpack(getattr(ops, name)(da, db))
            assert got.dtype == want.dtype
            assert torch.equal(got.isnan(), want.isnan()), name
            ok = ~want.isnan()
            assert torch.equal(got[ok], want[ok]) and torch.equal(got[ok].signbit(), want[ok].signbit()), name


def test_operators_and_reflected_versions():
    t = dlcore.tensor([7, -7, 5, 0], dtype=dlcore.int32)
    assert (t // 2).tolist() == [3, -4, 2, 0] and (20 // dlcore.tensor([3, -3])).tolist() == [6, -7]
    assert (t % 3).tolist() == [1, 2, 2, 0] and (7 % dlcore.tensor([3, -3])).tolist() == [1, -2]
    assert (t & 6).tolist() == [6, 0, 4, 0] and (6 & t).tolist() == [6, 0, 4, 0]
    assert (t | 8).tolist() == [15, -7, 13, 8] and (t ^ 1).tolist() == [6, -8, 4, 1] and (1 ^ t).tolist() == [6, -8, 4, 1]
    assert (~t).tolist() == [-8, 6, -6, -1] and (t | np.array([1, 1, 1, 1], np.int32)).dtype == np.int32
    m = dlcore.tensor([True, False])
    assert (~m).tolist() == [False, True] and (m & True).tolist() == [True, False] and (m ^ m).tolist() == [False] * 2
    assert (t // 2).dtype == np.int32 and t.floor_divide(2).tolist() == [3, -4, 2, 0]
    assert t.remainder(3).tolist() == [1, 2, 2, 0] and t.fmod(3).tolist() == [1, -1, 2, 0]
    assert t.bitwise_and(3).tolist() == [3, 1, 1, 0] and t.bitwise_not().tolist() == [-8, 6, -6, -1]
    f = dlcore.tensor([7.5, -7.5])
    assert (f // 2).tolist() == [3.0, -4.0] and (f % 2).tolist() == [1.5, 0.5]


def test_remainder_and_fmod_gradients_match_torch(torch):
    x = rng(6).standard_normal((4, 5)) * 5
    y = rng(7).standard_normal((5,)) + 3
    for op in ("remainder", "fmod"):
        a = dlcore.tensor(x, requires_grad=True)
        b = dlcore.tensor(y, requires_grad=True)
        getattr(a, op)(b).sum().backward()
        ta = torch.tensor(x, dtype=torch.float32, requires_grad=True)
        tb = torch.tensor(y, dtype=torch.float32, requires_grad=True)
        getattr(torch, op)(ta, tb).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy())


# ---- float16 / bfloat16 arithmetic: float32 compute, one rounding --------------------------------
def test_half_arithmetic_rounds_once_like_numpy_and_torch(torch):
    x = rng(8).standard_normal((33, 17)).astype(np.float16)
    y = rng(9).standard_normal((17,)).astype(np.float16)
    for name, f in (("add", np.add), ("mul", np.multiply), ("div", np.divide), ("sub", np.subtract)):
        got = run_threads_bitwise(getattr(ops, name), x, y)
        want = f(x.astype(np.float32), y.astype(np.float32)).astype(np.float16)
        assert got.dtype == np.float16 and np.array_equal(got.view(np.uint16), want.view(np.uint16)), name
    assert ops.exp(x).dtype == np.float16 and np.array_equal(ops.lt(x, y), x < y)
    tx, ty = torch.tensor(x.astype(np.float32)).bfloat16(), torch.tensor(y.astype(np.float32)).bfloat16()
    bx, by = dlcore.from_dlpack(tx), dlcore.from_dlpack(ty)
    for name in ("add", "mul", "sub", "div", "maximum"):
        got = torch.from_dlpack(getattr(ops, name)(bx, by))
        assert got.dtype == torch.bfloat16 and torch.equal(got, getattr(torch, name)(tx, ty)), name
    assert torch.equal(torch.from_dlpack(ops.tanh(bx)), torch.tanh(tx))


# ---- where, indexing and copies on every dtype ----------------------------------------------------
@pytest.mark.parametrize("dtype", ALL)
def test_where_index_slice_cat_stack_copy(dtype):
    vals = np.arange(-10, 14) if dtype != "bool" else np.arange(24) % 3 == 0
    t = make(dtype, vals, (4, 6))
    f = lambda x: x.float().numpy() if dtype == "bfloat16" else x.numpy()  # noqa: E731
    base = f(t)
    assert np.array_equal(f(t[1:3, ::2]), base[1:3, ::2])
    assert np.array_equal(f(t.T.contiguous()), base.T) and t.T.contiguous().dtype == t.dtype
    assert np.array_equal(f(t[dlcore.tensor([2, 0])]), base[[2, 0]])
    assert np.array_equal(f(ops.cat([t, t[:1]], 0)), np.concatenate([base, base[:1]]))
    assert np.array_equal(f(ops.stack([t[0], t[3]])), base[[0, 3]])
    assert np.array_equal(f(t.clone()), base) and np.array_equal(f(t.permute(1, 0).reshape(-1)), base.T.ravel())
    c = t.clone()
    c[1] = t[2]
    c[0, ::2] = 1
    want = base.copy()
    want[1] = base[2]
    want[0, ::2] = 1
    assert np.array_equal(f(c), want)
    cond = np.arange(24).reshape(4, 6) % 2 == 0
    w = ops.where(dlcore.from_numpy(cond), t, t.T.contiguous().T[:, ::-1])
    assert w.dtype == t.dtype and np.array_equal(f(w), np.where(cond, base, base[:, ::-1]))
    z = dlcore.zeros(3, dtype=t.dtype) + dlcore.full((3,), 1, dtype=t.dtype)
    assert z.dtype == t.dtype and f(z).tolist() == [1, 1, 1]


@pytest.mark.parametrize("dtype", ["int16", "float16", "bfloat16", "uint8", "int32"])
def test_pad_and_masked_fill_on_narrow_dtypes(dtype):
    # the kernels move bytes by element size: 2-byte types once fell through to a no-op
    t = make(dtype, np.arange(1, 7), (2, 3))
    f = lambda x: x.float().numpy() if dtype == "bfloat16" else x.numpy().astype(np.float32)  # noqa: E731
    p = ops.pad(t, (1, 1), value=5)
    assert p.dtype == t.dtype and f(p).tolist() == [[5, 1, 2, 3, 5], [5, 4, 5, 6, 5]]
    m = ops.masked_fill(t, dlcore.tensor([[True, False, True], [False, False, True]]), 9)
    assert m.dtype == t.dtype and f(m).tolist() == [[9, 2, 9], [4, 5, 9]]


# ---- NumPy and DLPack exchange ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", NUMPY_OK)
def test_numpy_round_trip_is_zero_copy(dtype):
    a = ref.cast(np.arange(6), dtype)
    t = dlcore.from_numpy(a)
    assert t.dtype == a.dtype and t.numpy().ctypes.data == a.ctypes.data
    assert np.array_equal(np.asarray(t), a) and memoryview(t._impl).format in "?BbhiqefdlL"


def test_bfloat16_numpy_raises_and_dlpack_round_trips(torch):
    tb = torch.tensor([1.5, -2.0, 3.140625], dtype=torch.bfloat16)
    x = dlcore.from_dlpack(tb)
    assert x.dtype == dlcore.bfloat16 and x.float().tolist() == [1.5, -2.0, 3.140625]
    with pytest.raises(TypeError, match=r"^numpy: .*\.float\(\)"):
        x.numpy()
    back = torch.from_dlpack(x)
    assert back.dtype == torch.bfloat16 and back.data_ptr() == tb.data_ptr()  # zero copy both ways
    assert "bfloat16" in repr(x) and x.tolist() == [1.5, -2.0, 3.140625] and x[0].item() == 1.5
    c = dlcore.tensor(x)
    assert c.dtype == dlcore.bfloat16 and c.tolist() == x.tolist() and dlcore.tensor(x, dtype="float64").dtype == np.float64
    y = dlcore.tensor([1.0, 2.0], dtype=dlcore.bfloat16)
    assert torch.equal(torch.from_dlpack(y), torch.tensor([1.0, 2.0], dtype=torch.bfloat16))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float16"])
def test_dlpack_round_trip_with_torch(torch, dtype):
    t = torch.arange(-3, 9).to(getattr(torch, dtype))[::2]
    x = dlcore.from_dlpack(t)
    assert str(x.dtype) == dtype and x.stride() == (2,)
    assert torch.equal(torch.from_dlpack(x), t)


# ---- Tensor conversion methods ----------------------------------------------------------------------
def test_to_forms_and_shorthands():
    t = dlcore.tensor([1.7, -2.5, 300.0])
    assert t.to(dlcore.int32).tolist() == [1, -2, 300] and t.to("cpu") is t and t.to(dtype="float32") is t
    assert t.to(dlcore.tensor([1], dtype=dlcore.uint8)).tolist() == [1, 254, 44]
    assert t.to("cpu", dlcore.float64).dtype == np.float64 and t.to(device="cpu", dtype="int16").dtype == np.int16
    c = t.to(dlcore.float32, copy=True)
    assert c is not t and c.tolist() == t.tolist()
    pairs = [("half", np.float16), ("bfloat16", dlcore.bfloat16), ("int", np.int32), ("short", np.int16),
             ("char", np.int8), ("byte", np.uint8), ("long", np.int64), ("double", np.float64), ("bool", np.bool_)]
    for meth, want in pairs:
        assert getattr(t, meth)().dtype == want, meth
    with pytest.raises(TypeError, match="^to: "):
        t.to(object())
    with pytest.raises(TypeError, match="^to: .*unsupported dtype uint16"):
        t.to(np.uint16)


def test_to_accepts_torch_objects(torch):
    t = dlcore.tensor([1.5, 2.5])
    assert t.to(torch.device("cpu")) is t and t.to(torch.float16).dtype == np.float16
    assert t.to(torch.bfloat16).dtype == dlcore.bfloat16 and t.to(dtype=torch.int8).tolist() == [1, 2]


def test_type_names():
    t = dlcore.tensor([1, 2])
    assert t.type() == "dlcore.LongTensor" and t.byte().type() == "dlcore.ByteTensor"
    assert t.bfloat16().type() == "dlcore.BFloat16Tensor" and t.half().type() == "dlcore.HalfTensor"
    assert t.type("torch.FloatTensor").dtype == np.float32 and t.type(dlcore.int8).dtype == np.int8
    assert t.type("dlcore.BoolTensor").dtype == np.bool_
    with pytest.raises(TypeError):
        t.type("torch.NopeTensor")


def test_to_float_is_differentiable_and_to_int_is_not():
    x = dlcore.tensor([1.5, 2.5], requires_grad=True)
    y = x.double()
    assert y.requires_grad and y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 5.0]
    assert not x.int().requires_grad
    with pytest.raises(RuntimeError, match="^requires_grad: "):
        dlcore.tensor([1, 2], dtype=dlcore.uint8).requires_grad_()


def test_tensor_factory_keeps_numpy_dtypes():
    assert dlcore.tensor(np.zeros(3, np.uint8)).dtype == np.uint8  # images stay uint8
    assert dlcore.tensor([1, 2]).dtype == np.int64 and dlcore.tensor([1.0]).dtype == np.float32
    assert dlcore.tensor([1, 2], dtype=dlcore.int8).dtype == np.int8


# ---- errors ----------------------------------------------------------------------------------------
def test_bad_inputs_raise_with_the_op_name():
    f = np.ones(3, np.float32)
    i = np.array([1, 2, 3], np.int32)
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        with pytest.raises(TypeError, match=f"^{name}: expected integer or bool"):
            getattr(ops, name)(f, i)
    with pytest.raises(TypeError, match="^bitwise_not: "):
        ~dlcore.tensor([1.0])
    with pytest.raises(TypeError, match="^bitwise_and: "):
        dlcore.tensor([1]) & 1.5
    for dt in INTS:
        with pytest.raises(ValueError, match="^pow: integers to negative integer powers"):
            ops.pow(ref.cast(np.array([2, 3]), dt), -1 if dt != "uint8" else np.array([1, -1], np.int8))
        for name in ("floor_divide", "remainder", "fmod"):
            with pytest.raises(RuntimeError, match=f"^{name}: integer division by zero"):
                getattr(ops, name)(ref.cast(np.array([2, 3]), dt), ref.cast(np.array([1, 0]), dt))
    with pytest.raises(ValueError, match="^pow: "):
        dlcore.tensor([2, 3]) ** -2
    for name in ("floor_divide", "remainder", "fmod"):
        with pytest.raises(TypeError, match=f"^{name}: not supported for two bool"):
            getattr(ops, name)(np.ones(2, bool), np.ones(2, bool))
    with pytest.raises(TypeError, match="^cast: "):
        ops.cast(f, "uint16")
    with pytest.raises(TypeError, match="^cast: NumPy has no bfloat16"):
        ops.cast(f, "bfloat16")
    with pytest.raises(TypeError, match="^sum: "):
        ops.sum(i)  # reductions take float32/float64/int64: narrow types are refused, not misread
    with pytest.raises(TypeError, match="^max: "):
        ops.max(np.ones(3, np.float16))
