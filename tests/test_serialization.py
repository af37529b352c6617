"""dlcore.save / dlcore.load (safetensors): round trips, modules, PyTorch's loader both ways, errors."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import nn

pytest.importorskip("safetensors")


def test_round_trip_every_dtype(tmp_path):
    r = np.random.default_rng(0)
    state = {
        "w": dlcore.from_numpy(r.standard_normal((3, 5)).astype(np.float32)),
        "d": r.standard_normal(7),                        # NumPy arrays are accepted too
        "i": dlcore.tensor([1, -2, 3]),
        "b": dlcore.tensor([True, False]),
        "scalar": dlcore.tensor(2.5),
        "empty": np.zeros((0, 4), np.float32),
        "view": dlcore.from_numpy(r.standard_normal((4, 6)).astype(np.float32).T),  # non-contiguous
    }
    path = tmp_path / "s.safetensors"
    dlcore.save(state, path)
    back = dlcore.load(path)
    assert set(back) == set(state)
    for k, v in state.items():
        got = back[k]
        assert isinstance(got, dlcore.Tensor)
        assert np.array_equal(got.numpy(), np.asarray(v)), k
        assert got.numpy().dtype == np.asarray(v).dtype


def test_module_state_dict_round_trip(tmp_path):
    dlcore.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = dlcore.randn(5, 4)
    dlcore.save(model.state_dict(), tmp_path / "m.safetensors", metadata={"note": "hi"})
    dlcore.manual_seed(1)
    other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    assert not np.array_equal(other(x).detach().numpy(), model(x).detach().numpy())
    other.load_state_dict(dlcore.load(tmp_path / "m.safetensors"))
    assert np.array_equal(other(x).detach().numpy(), model(x).detach().numpy())


def test_pytorch_reads_ours_and_we_read_pytorchs(tmp_path, torch):
    from safetensors.torch import load_file, save_file

    dlcore.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 2))
    dlcore.save(model.state_dict(), tmp_path / "ours.safetensors")
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    tmodel.load_state_dict(load_file(str(tmp_path / "ours.safetensors")))
    x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    np.testing.assert_allclose(tmodel(torch.from_numpy(x)).detach().numpy(),
                               model(dlcore.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)

    torch.manual_seed(3)
    tmodel2 = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    save_file(tmodel2.state_dict(), str(tmp_path / "theirs.safetensors"))
    model.load_state_dict(dlcore.load(tmp_path / "theirs.safetensors"))
    np.testing.assert_allclose(model(dlcore.from_numpy(x)).detach().numpy(),
                               tmodel2(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_torch_tensors_can_be_saved(tmp_path, torch):
    dlcore.save({"t": torch.arange(4.0, requires_grad=True)}, tmp_path / "t.safetensors")
    assert dlcore.load(tmp_path / "t.safetensors")["t"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_errors(tmp_path):
    with pytest.raises(TypeError, match="save: keys must be str or int"):
        dlcore.save({(1, 2): np.zeros(2)}, tmp_path / "x")
    with pytest.raises(TypeError, match="save: value of 'a.b' must be a tensor"):
        dlcore.save({"a": {"b": object()}}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"save: value of 'model' .* got Linear \(save its .state_dict\(\)"):
        dlcore.save({"model": nn.Linear(2, 2)}, tmp_path / "x")
    with pytest.raises(TypeError, match="save: value of 'a' has unsupported dtype"):
        dlcore.save({"a": np.zeros(2, np.complex64)}, tmp_path / "x")
    with pytest.raises(TypeError, match="save: metadata must be a dict of str -> str"):
        dlcore.save({}, tmp_path / "x", metadata={"epoch": 3})
    with pytest.raises(ValueError, match="save: metadata key 'dlcore.structure' is reserved"):
        dlcore.save({}, tmp_path / "x", metadata={"dlcore.structure": "{}"})
    cyclic = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="save: .* nested more than 100 levels"):
        dlcore.save(cyclic, tmp_path / "x")
    assert not (tmp_path / "x").exists() and list(tmp_path.iterdir()) == []  # nothing half-written
    with pytest.raises(FileNotFoundError, match="load: no such file"):
        dlcore.load(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(ValueError, match="load: .* is not a valid safetensors file"):
        dlcore.load(bad)
