"""dlcore.zoo: MLP, Perceptron, heteroscedastic regression and the digits main job."""
from __future__ import annotations

import os

import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.nn import functional as F
from dlcore.zoo import MLP, HeteroscedasticMLP, Perceptron, noise_std, noisy_sine, train_digits_mlp, train_heteroscedastic


def test_mlp_structure_shallow_and_deep():
    shallow = MLP(8, 16, 3)
    assert [type(m).__name__ for m in shallow] == ["Linear", "ReLU", "Linear"]
    deep = MLP(8, [16, 32, 4], 2, activation="gelu", dropout=0.1)
    assert [type(m).__name__ for m in deep] == ["Linear", "GELU", "Dropout"] * 3 + ["Linear"]
    assert [m.out_features for m in deep if isinstance(m, nn.Linear)] == [16, 32, 4, 2]
    assert [type(m).__name__ for m in MLP(8, [], 2)] == ["Linear"]
    assert deep(dlcore.randn(5, 8)).shape == (5, 2)


def test_mlp_bad_arguments():
    with pytest.raises(ValueError, match="MLP: unknown activation"):
        MLP(4, 4, 2, activation="swish9")
    with pytest.raises(ValueError, match="MLP: dropout"):
        MLP(4, 4, 2, dropout=1.0)
    with pytest.raises(ValueError, match="MLP: hidden widths must be positive"):
        MLP(4, [4, 0], 2)
    with pytest.raises(TypeError, match="MLP: hidden"):
        MLP(4, "wide", 2)


def test_mlp_loads_pytorch_weights(torch):
    tm = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                             torch.nn.Linear(16, 3))
    m = MLP(8, [16, 16], 3, activation="tanh")
    assert list(m.state_dict()) == list(tm.state_dict())
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_allclose(m(dlcore.from_numpy(x)).detach().numpy(), tm(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_perceptron_separates_linearly_separable_data():
    r = np.random.default_rng(0)
    x = r.standard_normal((300, 6)).astype(np.float32)
    w = r.standard_normal(6)
    score = x @ w + 0.2
    keep = np.abs(score) > 0.3  # a margin, so the rule converges quickly
    x, y = x[keep], (score[keep] > 0).astype(np.int64)
    p = Perceptron(6)
    epochs = p.fit(x, y, epochs=200)
    assert epochs < 200
    assert np.array_equal(p.predict(x).numpy(), y)
    assert p(dlcore.from_numpy(x)).shape == (len(y),)


def test_perceptron_bad_input():
    p = Perceptron(3)
    with pytest.raises(ValueError, match="Perceptron.fit"):
        p.fit(np.zeros((4, 2), np.float32), np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="Perceptron.fit"):
        p.fit(np.zeros((4, 3), np.float32), np.zeros(5, np.int64))


def test_heteroscedastic_forward_and_gradcheck():
    dlcore.manual_seed(0)
    m = HeteroscedasticMLP(1, (8, 8), 2)
    x = dlcore.randn(5, 1)
    mean, var = m(x)
    assert mean.shape == var.shape == (5, 2)
    assert (var.numpy() > 0).all()
    loss = F.gaussian_nll_loss(mean, dlcore.randn(5, 2), var)
    loss.backward()
    assert all(p.grad is not None for p in m.parameters())


def test_heteroscedastic_learns_the_noise_level():
    r = train_heteroscedastic(epochs=150, n=1000, seed=0)
    # The mean tracks sin(x) and the predicted standard deviation the true noise level
    # (0.05 + 0.15 |x|: from 0.05 to 0.47 on the grid), both to a small fraction of their range.
    assert r["mean_abs_error"] < 0.08, r
    assert r["std_abs_error"] < 0.05, r
    # Not a constant: the predicted std grows away from 0 as the true one does.
    assert r["std"][0, 0] > 3 * r["std"][len(r["std"]) // 2, 0]
    x, y = noisy_sine(10, seed=1)
    assert x.shape == y.shape == (10, 1) and noise_std(np.zeros(1))[0] == pytest.approx(0.05)


def test_digits_main_job_reaches_target_and_saves(tmp_path):
    r = train_digits_mlp(out_dir=str(tmp_path), progress=False, log=None)
    assert r["test_accuracy"] >= 0.975, r["test_accuracy"]
    assert os.path.getsize(r["weights"]) > 0 and os.path.getsize(r["curves"]) > 0
    # The saved weights are the best epoch's: reloading them reproduces the test accuracy.
    model = MLP(64, 1024, 10, dropout=0.3)
    model.load_state_dict(dlcore.load(r["weights"]))
    assert len(r["history"]["val_loss"]) == r["epochs_run"] and 1 <= r["best_epoch"] <= r["epochs_run"]


def test_digits_run_is_reproducible_bit_for_bit():
    a = train_digits_mlp(epochs=2, hidden=64, progress=False, log=None)
    b = train_digits_mlp(epochs=2, hidden=64, progress=False, log=None)
    assert a["history"] == b["history"]
    c = train_digits_mlp(epochs=2, hidden=64, seed=1, progress=False, log=None)
    assert c["history"] != a["history"]
