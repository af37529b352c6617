"""dlcore.save / dlcore.load as full checkpoints: nested structures, plain values, optimizer and
scheduler state, metadata, byte-identical saves, files of other tools and of older dlcore."""
from __future__ import annotations

import copy
import json
import math
import os

import numpy as np
import pytest

import dlcore
from dlcore import _dtype, nn, optim

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _same(a, b):
    """Structural equality with tensors compared by value, dtype and shape, nan == nan."""
    if isinstance(a, dlcore.Tensor):
        return (isinstance(b, dlcore.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a.numpy(), b.numpy(), equal_nan=a.dtype.kind == "f"))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def test_nested_structure_round_trip(tmp_path):
    r = np.random.default_rng(0)
    obj = {
        "model": {"0.weight": dlcore.from_numpy(r.standard_normal((3, 2)).astype(np.float32))},
        "list": [dlcore.tensor([1, 2]), 1, 2.5, "s", True, None, [], {}],
        "tuple": (dlcore.tensor(3.0), (False,)),
        "int_keys": {0: "zero", 7: {"x": -3}},
        "floats": [float("nan"), float("inf"), -float("inf"), -0.0, 1e-300],
        "big": 2 ** 62,
        "numpy_scalar": np.float32(1.5),
        "empty": np.zeros((0, 3), np.float32),
    }
    dlcore.save(obj, tmp_path / "c.safetensors")
    back = dlcore.load(tmp_path / "c.safetensors")
    expected = dict(obj, numpy_scalar=1.5, empty=dlcore.from_numpy(obj["empty"]))
    assert _same(back, expected)
    assert math.copysign(1.0, back["floats"][3]) == -1.0
    assert isinstance(back["int_keys"], dict) and list(back["int_keys"]) == [0, 7]


def test_root_may_be_a_tensor_list_or_plain_value(tmp_path):
    for obj in (dlcore.tensor([1.0, 2.0]), [dlcore.tensor([1])], 42, None, "text"):
        dlcore.save(obj, tmp_path / "r.safetensors")
        assert _same(dlcore.load(tmp_path / "r.safetensors"), obj)


def test_every_dtype_dlcore_holds_round_trips(tmp_path):
    state = {}
    for d in _dtype.SUPPORTED:
        if d == _dtype.bfloat16:  # NumPy has no bfloat16: load names it (test below)
            continue
        d = np.dtype(d)
        if d.name in ("bool",):
            state[d.name] = np.array([[True, False, True]])
        elif d.kind in "iuf":
            state[d.name] = (np.arange(6) % 5).astype(d).reshape(2, 3)
    dlcore.save(state, tmp_path / "d.safetensors")
    back = dlcore.load(tmp_path / "d.safetensors")
    for k, v in state.items():
        assert back[k].dtype == v.dtype and np.array_equal(back[k].numpy(), v), k


def test_metadata_is_returned(tmp_path):
    dlcore.save({"w": np.ones(2, np.float32)}, tmp_path / "m.safetensors", metadata={"b": "2", "a": "1"})
    obj, meta = dlcore.load(tmp_path / "m.safetensors", with_metadata=True)
    assert meta == {"a": "1", "b": "2"}
    assert list(obj) == ["w"]


def test_identical_saves_give_identical_bytes(tmp_path):
    dlcore.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    meta = {f"key{i}": str(i) for i in range(12)}  # safetensors' own writer orders these by a hash seed
    obj = {"model": model.state_dict(), "epoch": 3, "lrs": [0.1, 0.01]}
    dlcore.save(obj, tmp_path / "a.safetensors", metadata=meta)
    dlcore.save(copy.deepcopy(obj), tmp_path / "b.safetensors", metadata=dict(reversed(meta.items())))
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()


def test_saving_into_a_missing_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="save: folder .*nope.* does not exist"):
        dlcore.save({"w": np.ones(2)}, tmp_path / "nope" / "w.safetensors")


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "w.safetensors"
    dlcore.save({"w": np.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        dlcore.save({"w": np.ones(2), "x": object()}, path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["w.safetensors"]


def test_files_of_other_tools_and_of_older_dlcore_load(tmp_path):
    # The zoo's checkpoints before the structured format: a flat dict plus str metadata.
    arrays = {"0.weight": np.ones((2, 3), np.float32), "0.bias": np.zeros(2, np.float32)}
    safetensors_numpy.save_file(arrays, str(tmp_path / "old.safetensors"), metadata={"model": json.dumps({"h": 2})})
    obj, meta = dlcore.load(tmp_path / "old.safetensors", with_metadata=True)
    assert sorted(obj) == sorted(arrays) and meta == {"model": '{"h": 2}'}
    assert all(np.array_equal(obj[k].numpy(), arrays[k]) for k in arrays)
    safetensors_numpy.save_file(arrays, str(tmp_path / "plain.safetensors"))
    assert dlcore.load(tmp_path / "plain.safetensors", with_metadata=True)[1] == {}


def test_safetensors_reads_our_nested_files(tmp_path):
    dlcore.save({"model": {"0.weight": np.ones((2, 2), np.float32)}, "step": 4}, tmp_path / "n.safetensors")
    raw = safetensors_numpy.load_file(str(tmp_path / "n.safetensors"))
    assert list(raw) == ["model.0.weight"] and np.array_equal(raw["model.0.weight"], np.ones((2, 2)))


def test_colliding_dotted_names_stay_apart(tmp_path):
    obj = {"a.b": dlcore.tensor([1.0]), "a": {"b": dlcore.tensor([2.0])}}
    dlcore.save(obj, tmp_path / "c.safetensors")
    assert _same(dlcore.load(tmp_path / "c.safetensors"), obj)


def test_malformed_structure_raises(tmp_path):
    path = tmp_path / "m.safetensors"
    for structure, match in [('{"version": 99, "root": {"value": 1}}', "format 99"),
                             ('{"version": 1, "root": {"tensor": "nope"}}', "names tensor 'nope'"),
                             ('{"version": 1, "root": {"what": 1}}', "malformed structure"),
                             ("not json", "malformed 'dlcore.structure'")]:
        safetensors_numpy.save_file({"w": np.ones(1)}, str(path), metadata={"dlcore.structure": structure})
        with pytest.raises(ValueError, match=f"load: .*{match}"):
            dlcore.load(path)


def test_deepcopy_of_tensors_and_state_dicts():
    dlcore.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.AdamW(model.parameters(), lr=0.1)
    model(dlcore.randn(4, 3)).sum().backward()
    opt.step()
    state = opt.state_dict()
    snap = copy.deepcopy(state)
    assert _same(snap, state) and snap["state"][0]["exp_avg"] is not state["state"][0]["exp_avg"]
    opt.step()  # the optimizer's own buffers move on, the snapshot does not
    assert not np.array_equal(snap["state"][0]["exp_avg"].numpy(), state["state"][0]["exp_avg"].numpy())
    clone = copy.deepcopy(model)
    assert type(clone.weight) is nn.Parameter and clone.weight.requires_grad
    assert np.array_equal(clone.weight.grad.numpy(), model.weight.grad.numpy())
    view = dlcore.from_numpy(np.arange(12.0).reshape(3, 4)).T
    copied = copy.deepcopy(view)
    view.numpy()[...] = 0
    assert np.array_equal(copied.numpy(), np.arange(12.0).reshape(3, 4).T)
    with pytest.raises(RuntimeError, match="deepcopy: only tensors created explicitly by the user"):
        copy.deepcopy(model.weight * 2)


def _setup(seed=0):
    dlcore.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2))
    opt = optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def _train(model, opt, sched, steps, x, y):
    for _ in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def test_resume_from_a_checkpoint_gives_identical_steps(tmp_path):
    r = np.random.default_rng(1)
    x = dlcore.from_numpy(r.standard_normal((16, 5)).astype(np.float32))
    y = dlcore.from_numpy(r.standard_normal((16, 2)).astype(np.float32))
    model, opt, sched = _setup()
    _train(model, opt, sched, 3, x, y)
    dlcore.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                 "epoch": 3}, tmp_path / "ckpt.safetensors")
    _train(model, opt, sched, 3, x, y)

    model2, opt2, sched2 = _setup(seed=5)  # different init: everything must come from the file
    ckpt = dlcore.load(tmp_path / "ckpt.safetensors")
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    assert ckpt["epoch"] == 3
    _train(model2, opt2, sched2, 3, x, y)
    for (k, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), k
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"] == 6.0


def test_a_dtype_dlcore_cannot_load_is_named(tmp_path, torch):
    from safetensors.torch import save_file

    save_file({"w": torch.ones(2), "h": torch.ones(2, dtype=torch.complex64)}, str(tmp_path / "c.safetensors"))
    with pytest.raises(TypeError, match="load: tensor 'h' has dtype C64, which dlcore cannot load"):
        dlcore.load(tmp_path / "c.safetensors")
