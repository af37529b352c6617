"""The CNN zoo: LeNet5, ResNet (pre-activation and plain) and UNet; PyTorch weights load and give
the same outputs; tiny end-to-end runs of `dlcore train lenet|resnet|unet` and `dlcore eval`."""
import json
import os

import numpy as np
import pytest

import dlcore
from dlcore import zoo
from dlcore.cli import main as cli_main

try:
    import torch
    tnn = torch.nn
except ImportError:  # parity tests skip
    torch = tnn = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_lenet_shapes_and_variants():
    for size in (8, 28, 32):
        for variant in ("modern", "classic"):
            m = zoo.LeNet5(input_size=size, variant=variant)
            assert tuple(m(dlcore.tensor(_x((2, 1, size, size)))).shape) == (2, 10)
    m = zoo.LeNet5()
    assert tuple(m.penultimate(dlcore.tensor(_x((3, 1, 28, 28)))).shape) == (3, 84)
    with pytest.raises(ValueError, match="^LeNet5: variant"):
        zoo.LeNet5(variant="x")


def test_resnet_depth_widths_plain_and_zero_init():
    m = zoo.ResNet(depth=8, widths=(4, 8), zero_init_residual=True)
    assert tuple(m(dlcore.tensor(_x((2, 1, 28, 28)))).shape) == (2, 10)
    assert all(float(np.abs(b.bn2.weight.numpy()).sum()) == 0 for b in m.layers)
    plain = zoo.ResNet(depth=8, widths=(4, 8), plain=True)
    assert not any("shortcut" in k for k in plain.state_dict())
    assert any("shortcut" in k for k in m.state_dict())
    with pytest.raises(ValueError, match="^ResNet: depth"):
        zoo.ResNet(depth=9)


@pytest.mark.parametrize("down,up,norm", [("maxpool", "transpose", "group"), ("conv", "bilinear", "batch")])
def test_unet_odd_sizes(down, up, norm):
    m = zoo.UNet(widths=(4, 8, 8), down=down, up=up, norm=norm)
    for hw in ((28, 28), (13, 9)):
        assert tuple(m(dlcore.tensor(_x((2, 1) + hw))).shape) == (2, 1) + hw


# ---- PyTorch parity: the same architecture written in torch.nn, weights loaded across --------------
class _TorchLeNet(tnn.Module if torch is not None else object):
    def __init__(self, act, pool):
        super().__init__()
        self.features = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), act(), pool(2), tnn.Conv2d(6, 16, 5), act(), pool(2))
        self.classifier = tnn.Sequential(tnn.Linear(400, 120), act(), tnn.Linear(120, 84), act(), tnn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def _load(dl_model, t_model):
    dl_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})


@needs_torch
@pytest.mark.parametrize("variant", ["modern", "classic"])
def test_lenet_loads_torch_weights(variant):
    torch.manual_seed(0)
    t = _TorchLeNet(tnn.ReLU if variant == "modern" else tnn.Tanh, tnn.MaxPool2d if variant == "modern" else tnn.AvgPool2d)
    m = zoo.LeNet5(variant=variant)
    _load(m, t)
    x = _x((4, 1, 28, 28))
    np.testing.assert_allclose(m(dlcore.tensor(x)).numpy(), t(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


if torch is not None:
    class _TorchBlock(tnn.Module):
        def __init__(self, cin, cout, stride, plain):
            super().__init__()
            self.bn1, self.conv1 = tnn.BatchNorm2d(cin), tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn2, self.conv2 = tnn.BatchNorm2d(cout), tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.plain = plain
            self.shortcut = tnn.Conv2d(cin, cout, 1, stride, bias=False) if not plain and (stride != 1 or cin != cout) else None

        def forward(self, x):
            pre = torch.relu(self.bn1(x))
            out = self.conv2(torch.relu(self.bn2(self.conv1(pre))))
            if self.plain:
                return out
            return out + (self.shortcut(pre) if self.shortcut is not None else x)

    class _TorchResNet(tnn.Module):
        def __init__(self, widths, blocks, plain):
            super().__init__()
            self.stem = tnn.Conv2d(1, widths[0], 3, padding=1, bias=False)
            layers, c = [], widths[0]
            for i, w in enumerate(widths):
                for j in range(blocks):
                    layers.append(_TorchBlock(c, w, 2 if i > 0 and j == 0 else 1, plain))
                    c = w
            self.layers = tnn.Sequential(*layers)
            self.bn, self.pool, self.fc = tnn.BatchNorm2d(c), tnn.AdaptiveAvgPool2d(1), tnn.Linear(c, 10)

        def forward(self, x):
            return self.fc(self.pool(torch.relu(self.bn(self.layers(self.stem(x))))).flatten(1))


@needs_torch
@pytest.mark.parametrize("plain", [False, True])
def test_resnet_loads_torch_weights_train_and_eval(plain):
    torch.manual_seed(1)
    t = _TorchResNet((4, 8), 1, plain)
    m = zoo.ResNet(depth=8, widths=(4, 8), plain=plain)
    _load(m, t)
    x = _x((3, 1, 12, 12))
    for train in (True, False):
        t.train(train)
        m.train(train)
        np.testing.assert_allclose(m(dlcore.tensor(x)).numpy(), t(torch.from_numpy(x)).detach().numpy(),
                                   rtol=1e-4, atol=1e-4)
    for k, v in t.state_dict().items():  # running statistics moved the same way
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


# ---- the recipes, tiny --------------------------------------------------------------------------
def _run(argv, capsys):
    code = cli_main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out.strip().splitlines()


@pytest.mark.parametrize("recipe", ["lenet", "resnet"])
def test_train_classifier_on_digits_end_to_end(recipe, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(zoo.cnn_recipes.DEFAULTS, "resnet", dict(zoo.cnn_recipes.DEFAULTS["resnet"], lr=0.05))
    out = tmp_path / recipe
    lines = _run(["train", recipe, "--data", "digits", "--epochs", "2", "--batch-size", "64", "--out", str(out),
                  "--no-progress"], capsys)
    assert lines[-1].startswith("test accuracy ")
    acc = float(lines[-1].split()[-1])
    assert acc > 0.3  # two epochs on 1,257 images: well above chance (0.1)
    for f in ("best.safetensors", "last.safetensors", "curves.png", "metrics.json"):
        assert (out / f).is_file(), f
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["recipe"] == recipe and len(metrics["history"]["train_loss"]) == 2
    # LeNet5 sees the digits enlarged to 24x24 with random crops (DATA_DEFAULTS); ResNet the 8x8 originals
    scale = 3 if recipe == "lenet" else 1
    assert metrics["config"]["scale"] == scale and metrics["config"]["augment"] == (recipe in ("lenet", "resnet"))
    if recipe == "lenet":
        assert metrics["config"]["model"]["input_size"] == 24
    assert metrics["history"]["train_loss"][1] < metrics["history"]["train_loss"][0]
    # eval recomputes the same test metric from the checkpoint alone
    assert _run(["eval", str(out / "best.safetensors")], capsys)[-1] == lines[-1]


def test_training_is_reproducible_and_resumes(tmp_path):
    kw = dict(data="digits", epochs=2, batch_size=64, progress=False, log=None)
    a = zoo.train_cnn("lenet", out_dir=str(tmp_path / "a"), **kw)
    b = zoo.train_cnn("lenet", **kw)
    assert a["history"]["train_loss"] == b["history"]["train_loss"]
    zoo.train_cnn("lenet", out_dir=str(tmp_path / "c"), **dict(kw, epochs=1))
    # continuing needs the same schedule: resume a 2-epoch run from its first epoch
    first = zoo.train_cnn("lenet", out_dir=str(tmp_path / "d"), **kw)
    resumed = zoo.train_cnn("lenet", resume=str(tmp_path / "d" / "last.safetensors"), **dict(kw, epochs=3))
    assert resumed["history"]["train_loss"][:2] == first["history"]["train_loss"]
    assert len(resumed["history"]["train_loss"]) == 3


def test_unet_denoiser_end_to_end(tmp_path, capsys):
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    r = zoo.train_cnn("unet", epochs=1, batch_size=32, max_train=256, model_config={"widths": [8, 16]},
                      out_dir=str(tmp_path), progress=False, log=None)
    assert r["psnr_gain_db"] > 0.1  # starts as the identity (gain 0); 8 steps already smooth the noise
    assert (tmp_path / "denoised.png").is_file()
    assert _run(["eval", str(tmp_path / "best.safetensors")], capsys)[-1] == f"test psnr_gain_db {r['psnr_gain_db']:.2f}"


def test_missing_data_is_reported_before_work(tmp_path, capsys, monkeypatch):
    from dlcore.data import fashion_mnist as fm

    monkeypatch.setattr(fm, "DEBIAN_DIR", str(tmp_path / "none"))
    monkeypatch.delenv("DLCORE_DATA", raising=False)
    assert cli_main(["train", "lenet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "apt-get install dataset-fashion-mnist" in err and not (tmp_path / "o").exists()


@needs_torch
@pytest.mark.parametrize("name", ["lenet", "resnet", "dcgan", "ddpm"])
def test_bench_twins_compute_what_the_zoo_models_compute(name):
    """The PyTorch models `dlcore bench train` races against are the same functions (a fair race),
    and for the DDPM U-Net with time embedding this is also its PyTorch parity test."""
    from dlcore.bench import zoo_models as zm

    m, t = zm._dl_model(name), zm.torch_zoo_model(name)
    x = _x((3, 1, 28, 28))
    if name == "dcgan":
        z = _x((3, 100), 1)
        m.eval()
        t.eval()
        np.testing.assert_allclose(m.generate(dlcore.tensor(z)).numpy(), t.generator(torch.from_numpy(z)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(m.discriminate(dlcore.tensor(x)).numpy(),
                                   t.discriminator(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
        return
    if name == "ddpm":
        steps = np.array([1, 500, 1000])
        got, want = m(dlcore.tensor(x), steps).numpy(), t(torch.from_numpy(x), steps).detach().numpy()
    else:
        got, want = m(dlcore.tensor(x)).numpy(), t(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_default_output_folder_is_runs_recipe(tmp_path, capsys, monkeypatch):
    """Without --out the recipe writes to runs/<recipe> (the check once crashed on the None default)."""
    monkeypatch.chdir(tmp_path)
    _run(["train", "lenet", "--data", "digits", "--epochs", "1", "--no-progress"], capsys)
    assert (tmp_path / "runs" / "lenet" / "best.safetensors").is_file()
