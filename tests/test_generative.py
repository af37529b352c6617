"""Generative models: DDPM maths against an iterated forward process and Bayes' rule, the VAE's
ELBO against NumPy, GAN losses, gradchecks, EMA, the Fréchet distance against scipy, seeded
sampling, and tiny end-to-end recipes (Fashion-MNIST; skipped without it)."""
import json
import os

import numpy as np
import pytest

import dlcore
from dlcore import zoo
from dlcore.autograd.gradcheck import gradcheck
from dlcore.zoo import diffusion, gan, metrics, vae
from tests.reference import generative as ref

HAVE_FMNIST = os.path.isdir("/usr/share/datasets/fashion-mnist")
needs_fmnist = pytest.mark.skipif(not HAVE_FMNIST, reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_basics(kind):
    s = diffusion.NoiseSchedule(1000, kind)
    assert s.betas.shape == (1000,) and np.all(s.betas > 0) and np.all(s.betas < 1)
    np.testing.assert_allclose(s.alpha_bars, np.cumprod(1 - s.betas))
    assert s.alpha_bars[-1] < 1e-3  # the end of the chain is (nearly) pure noise
    if kind == "linear":
        np.testing.assert_allclose(s.betas[[0, -1]], [1e-4, 0.02])


def test_closed_form_marginal_matches_iterating_the_forward_process():
    s = diffusion.NoiseSchedule(1000)
    rng = np.random.default_rng(0)
    x0 = np.array([0.8, -0.3, 0.0])
    for t in (1, 10, 300):
        xs = ref.forward_iterate(x0, s.betas, t, rng, 40000)
        np.testing.assert_allclose(xs.mean(0), np.sqrt(s.alpha_bars[t - 1]) * x0, atol=0.015)
        np.testing.assert_allclose(xs.var(0), 1 - s.alpha_bars[t - 1], rtol=0.04, atol=2e-4)
        # q_sample with the same noise is exactly sqrt(abar) x0 + sqrt(1 - abar) eps
        eps = rng.standard_normal((2, 3))
        got = s.q_sample(np.broadcast_to(x0, (2, 3)).astype(np.float32), np.array([t, t]), eps.astype(np.float32))
        np.testing.assert_allclose(got, np.sqrt(s.alpha_bars[t - 1]) * x0 + np.sqrt(1 - s.alpha_bars[t - 1]) * eps,
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_posterior_matches_bayes_rule(kind):
    s = diffusion.NoiseSchedule(50, kind)
    rng = np.random.default_rng(1)
    for t in (1, 2, 17, 50):
        x0, xt = rng.standard_normal(4), rng.standard_normal(4)
        mean, var = s.posterior(x0[None], xt[None], np.array([t]))
        rm, rv = ref.posterior_by_bayes(x0, xt, s.betas, t)
        np.testing.assert_allclose(mean[0], rm, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(var.ravel()[0], rv, rtol=1e-5, atol=1e-9)


def test_schedule_rejects_bad_timesteps_and_kinds():
    s = diffusion.NoiseSchedule(10)
    with pytest.raises(IndexError, match="^NoiseSchedule: timesteps"):
        s.q_sample(np.zeros((1, 2), np.float32), np.array([0]), np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match="^NoiseSchedule: kind"):
        diffusion.NoiseSchedule(10, "quadratic")


def test_timestep_embedding_formula():
    from dlcore.zoo.unet import timestep_embedding

    e = timestep_embedding(np.array([0, 5]), 6)
    f = np.exp(-np.log(10000) * np.arange(3) / 3)
    np.testing.assert_allclose(e[1], np.concatenate([np.sin(5 * f), np.cos(5 * f)]), rtol=1e-6)
    np.testing.assert_allclose(e[0], [0, 0, 0, 1, 1, 1])


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_vae_negative_elbo_matches_numpy(likelihood):
    dlcore.manual_seed(0)
    m = vae.VAE(latent_dim=3, hidden=(7,), likelihood=likelihood, image_size=4)
    x = np.random.default_rng(0).random((5, 1, 4, 4)).astype(np.float32)
    dlcore.manual_seed(42)
    loss, rec, kl = m.negative_elbo(dlcore.tensor(x))
    # recompute from the model's own pieces with the same noise
    mu, logvar = (t.numpy().astype(np.float64) for t in m.encode(dlcore.tensor(x)))
    dlcore.manual_seed(42)
    m.encode(dlcore.tensor(x))
    eps = dlcore.randn(5, 3).numpy()  # reparameterize draws right after encode
    z = mu + np.exp(logvar / 2) * eps
    out = m.decode(dlcore.tensor(z.astype(np.float32))).numpy().astype(np.float64)
    if likelihood == "bernoulli":
        r = ref.bernoulli_nll(out, x).mean()
    else:
        ls = float(m.log_sigma.numpy()[0])
        r = (((x - out) ** 2).reshape(5, -1).sum(1) / (2 * np.exp(2 * ls)) + 16 * (ls + 0.5 * np.log(2 * np.pi))).mean()
    k = ref.gaussian_kl(mu, logvar).mean()
    np.testing.assert_allclose(kl.item(), k, rtol=1e-4)
    np.testing.assert_allclose(rec.item(), r, rtol=1e-4)
    np.testing.assert_allclose(loss.item(), r + k, rtol=1e-4)


def test_vae_loss_gradcheck():
    dlcore.manual_seed(0)
    m = vae.VAE(latent_dim=2, hidden=(3,), image_size=2).double()
    x = dlcore.tensor(np.random.default_rng(0).random((2, 1, 2, 2)))
    mu = dlcore.tensor(np.random.default_rng(1).standard_normal((2, 2)), requires_grad=True)
    logvar = dlcore.tensor(np.random.default_rng(2).standard_normal((2, 2)) * 0.3, requires_grad=True)

    def f(mu, logvar):
        dlcore.manual_seed(3)
        z = vae.VAE.reparameterize(mu, logvar)
        out = m.decode(z)
        return (dlcore.nn.functional.binary_cross_entropy_with_logits(out, x, reduction="sum")
                + dlcore.nn.functional.gaussian_kl_standard_normal(mu, logvar))
    assert gradcheck(f, (mu, logvar))


def test_gan_losses_and_gradcheck():
    real = dlcore.tensor(np.array([[2.0], [-1.0]]), requires_grad=True)
    fake = dlcore.tensor(np.array([[0.5], [-3.0]]), requires_grad=True)
    sp = lambda v: np.log1p(np.exp(v))  # noqa: E731
    d = gan.discriminator_loss(real, fake).item()
    np.testing.assert_allclose(d, np.mean(sp(-np.array([2.0, -1.0]))) + np.mean(sp(np.array([0.5, -3.0]))))
    np.testing.assert_allclose(gan.generator_loss(fake).item(), np.mean(sp(-np.array([0.5, -3.0]))))
    assert gradcheck(lambda r, f: gan.discriminator_loss(r, f), (real, fake))
    assert gradcheck(lambda f: gan.generator_loss(f), (fake,))


def test_mlp_gan_shapes_and_training_step_moves_the_generator():
    dlcore.manual_seed(0)
    g = gan.GAN("mlp", latent_dim=8)
    z = dlcore.randn(4, 8)
    assert tuple(g.generate(z).shape) == (4, 1, 28, 28)
    assert np.all(np.abs(g.generate(z).numpy()) <= 1)
    with pytest.raises(ValueError, match="^GAN: the conditional"):
        gan.GAN("mlp", num_classes=10)


def test_ema():
    m = dlcore.nn.Linear(2, 2)
    e = diffusion.EMA(m, decay=0.5)
    w0 = m.weight.numpy().copy()
    with dlcore.no_grad():
        m.weight.add_(1.0)
    e.update(m)
    np.testing.assert_allclose(e.state_dict()["weight"], w0 + 0.5, rtol=1e-6)
    e.copy_to(m)
    np.testing.assert_allclose(m.weight.numpy(), w0 + 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="^EMA"):
        diffusion.EMA(m, decay=1.0)


def test_frechet_distance_matches_scipy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 5))
    b = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 5)) * 0.7 + 0.3
    np.testing.assert_allclose(metrics.frechet_distance(a, b), ref.frechet_scipy(a, b), rtol=1e-6)
    assert abs(metrics.frechet_distance(a, a)) < 1e-8
    with pytest.raises(ValueError, match="^frechet_distance"):
        metrics.frechet_distance(a, b[:, :3])


# ---- recipes, tiny ------------------------------------------------------------------------------
@needs_fmnist
def test_vae_recipe_end_to_end_with_2d_latent(tmp_path):
    r = zoo.train_generative("vae", epochs=2, batch_size=64, max_train=512, latent_dim=2, score=False,
                             model_config={"hidden": [64]}, out_dir=str(tmp_path), progress=False, log=None)
    h = r["history"]["loss"]
    assert h[1] < h[0] and -600 < r["test_elbo_nats"] < 0
    for f in ("model.safetensors", "metrics.json", "curves.png", "reconstructions.png", "latent.png",
              "manifold.png", "samples_epoch1.png", "samples_epoch2.png"):
        assert (tmp_path / f).is_file(), f
    # same seed, same bits
    r2 = zoo.train_generative("vae", epochs=2, batch_size=64, max_train=512, latent_dim=2, score=False,
                              model_config={"hidden": [64]}, progress=False, log=None)
    assert r2["history"]["loss"] == h


@needs_fmnist
@pytest.mark.parametrize("recipe", ["gan", "dcgan", "cgan", "ddpm"])
def test_other_recipes_run_and_sample_reproducibly(recipe, tmp_path, capsys):
    cfg = {"widths": [8, 16], "time_dim": 16, "T": 50} if recipe == "ddpm" else ({"width": 8} if recipe != "gan" else {})
    zoo.train_generative(recipe, epochs=1, batch_size=32, max_train=96, model_config=cfg, score=False,
                         sample_steps=3, out_dir=str(tmp_path), progress=False, log=None)
    ck = tmp_path / "model.safetensors"
    meta = json.loads(dlcore.load(str(ck), with_metadata=True)[1]["config"])
    assert meta["recipe"] == recipe
    a = zoo.sample_from_checkpoint(str(ck), str(tmp_path / "a.png"), n=10, steps=5, seed=7, log=None)
    b = zoo.sample_from_checkpoint(str(ck), str(tmp_path / "b.png"), n=10, steps=5, seed=7, log=None)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (10, 1, 28, 28) and a.min() >= 0 and a.max() <= 1
    from dlcore.cli import main
    assert main(["sample", str(ck), "--n", "4", "--steps", "3", "--out", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").is_file()


@needs_fmnist
def test_ddpm_ancestral_and_ddim_sampling_are_seeded():
    dlcore.manual_seed(0)
    m = diffusion.DDPM(widths=(4, 8), time_dim=8, T=20)
    dlcore.manual_seed(5)
    a = m.sample(2, method="ddpm")
    dlcore.manual_seed(5)
    b = m.sample(2, method="ddpm")
    np.testing.assert_array_equal(a, b)
    c = m.sample(2, steps=4, method="ddim")
    assert c.shape == (2, 1, 28, 28) and np.all(np.abs(c) <= 1)
    with pytest.raises(ValueError, match="^DDPM.sample: steps"):
        m.sample(1, steps=21, method="ddim")


def test_scorer_on_a_tiny_classifier():
    """The scorer's plumbing (features, predictions, histogram, label accuracy) on an untrained LeNet."""
    dlcore.manual_seed(0)
    model = zoo.LeNet5()
    model.eval()
    s = metrics.SampleScorer(model, 0.3, 0.35)
    imgs = np.random.default_rng(0).random((30, 1, 28, 28)).astype(np.float32)
    out = s.score(imgs, imgs[::-1].copy(), labels=np.zeros(30, np.int64))
    assert out["fld"] < 1e-6 and sum(out["class_histogram"]) == 30
    assert out["label_accuracy"] == np.mean(s.predict(imgs) == 0)


def test_ddpm_unet_blocks_carry_their_input():
    """The time-conditioned U-Net's blocks add their input (a 1x1 convolution where the widths
    differ) to their GroupNorm'd output, so the noise predictor sees the overall brightness of
    x_t: shifting the input changes the output, which a stack of conv -> GroupNorm blocks alone
    nearly ignores.  The plain U-Net (the denoiser, no time_dim) keeps its layout."""
    from dlcore.zoo.unet import UNet

    dlcore.manual_seed(0)
    net = UNet(1, 1, widths=(4, 8), residual=False, time_dim=8)
    keys = net.state_dict().keys()
    assert "encoders.0.skip.weight" in keys and "encoders.1.skip.weight" in keys
    assert "decoders.0.skip.weight" in keys  # 2 * 4 -> 4 channels
    assert not any("skip" in k for k in UNet(1, 1, widths=(4, 8)).state_dict())
    x = np.random.default_rng(0).standard_normal((2, 1, 12, 12)).astype(np.float32)
    t = np.array([3, 7])
    blk = net.encoders[0]
    temb = net.time_mlp(dlcore.from_numpy(zoo.unet.timestep_embedding(t, 8)))
    with dlcore.no_grad():
        h = blk.norm1(blk.conv1(dlcore.from_numpy(x))) + blk.time(temb).reshape(2, -1, 1, 1)
        inner = blk.norm2(blk.conv2(h.relu())).relu().numpy()
        out = blk(dlcore.from_numpy(x), temb).numpy()
        skip = dlcore.nn.functional.conv2d(dlcore.from_numpy(x), blk.skip.weight).numpy()
        np.testing.assert_allclose(out, inner + skip, rtol=1e-5, atol=1e-6)
        shifted = net(dlcore.from_numpy(x + 0.5), t).numpy() - net(dlcore.from_numpy(x), t).numpy()
    assert np.abs(shifted).mean() > 1e-2
