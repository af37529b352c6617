"""Training recipes of the generative models: ``dlcore train vae|gan|dcgan|cgan|ddpm`` and
``dlcore sample CHECKPOINT``, on Fashion-MNIST.

Each run writes to ``out_dir``: ``model.safetensors`` (the weights, for DDPM the EMA weights used
for sampling, with the recipe and model config in its metadata, so ``dlcore sample`` needs nothing
else), ``samples_epochN.png`` (fixed noise, one grid per epoch; per class rows for the conditional
GAN), ``curves.png``, ``metrics.json``; the VAE also ``reconstructions.png`` and, with a 2-D
latent, ``latent.png`` (test means coloured by class) and ``manifold.png`` (decoded grid).
Unless ``score=False``, the samples are scored at the end (``dlcore.zoo.metrics``): FLD on 2,000
samples against the test set, the class histogram and, for the conditional GAN, label accuracy.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np

from .. import optim
from .._random import manual_seed, randint, randn
from .._tensor import from_numpy
from ..autograd.grad_mode import no_grad
from ..serialization import load, save
from ._parallel import DataParallel
from .cnn_data import image_splits
from .diffusion import DDPM, EMA
from .gan import GAN, discriminator_loss, generator_loss
from .vae import VAE

RECIPES = ("vae", "gan", "dcgan", "cgan", "ddpm")
DEFAULTS = {"vae": dict(epochs=20, batch_size=128, lr=1e-3), "gan": dict(epochs=30, batch_size=128, lr=2e-4),
            "dcgan": dict(epochs=10, batch_size=128, lr=2e-4), "cgan": dict(epochs=10, batch_size=128, lr=2e-4),
            "ddpm": dict(epochs=14, batch_size=128, lr=2e-3)}
N_SCORE = 2000


def build(recipe, config):
    """The model of a generative recipe from its config."""
    if recipe == "vae":
        return VAE(**config)
    if recipe in ("gan", "dcgan", "cgan"):
        return GAN(**config)
    if recipe == "ddpm":
        return DDPM(**config)
    raise ValueError(f"unknown generative recipe {recipe!r}; expected one of {RECIPES}")


def save_grid(images, path, nrow=8, title=None):
    """Save images (N, 1, H, W) in [0, 1] as one PNG grid of ``nrow`` columns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    rows = -(-n // nrow)
    h, w = images.shape[-2:]
    canvas = np.ones((rows * (h + 2), nrow * (w + 2)), np.float32)
    for i, im in enumerate(images):
        r, c = divmod(i, nrow)
        canvas[r * (h + 2) + 1:r * (h + 2) + 1 + h, c * (w + 2) + 1:c * (w + 2) + 1 + w] = np.clip(im[0], 0, 1)
    fig = plt.figure(figsize=(nrow * 0.6, rows * 0.6 + (0.3 if title else 0)))
    plt.imshow(canvas, cmap="gray", vmin=0, vmax=1)
    plt.axis("off")
    if title:
        plt.title(title, fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def _samples(recipe, model, n, labels=None, steps=50, method="ddim", noise=None):
    """n images in [0, 1] (NumPy) from a trained model."""
    was = model.training
    model.eval()
    with no_grad():
        if recipe == "vae":
            z = noise if noise is not None else randn(n, model.config["latent_dim"])
            out = model.mean_image(z).numpy()
        elif recipe == "ddpm":
            out = (model.sample(n, steps=steps, method=method) + 1) / 2
        else:
            z = noise if noise is not None else randn(n, model.config["latent_dim"])
            lab = from_numpy(np.asarray(labels, np.int64)) if model.conditional else None
            out = (model.generate(z, lab).numpy() + 1) / 2
    model.train(was)
    return np.clip(out, 0.0, 1.0)


def _default_config(recipe, latent_dim=None, kind=None):
    if recipe == "vae":
        return {"latent_dim": int(latent_dim or 16), "kind": kind or "mlp"}
    if recipe == "gan":
        return {"kind": "mlp", "latent_dim": int(latent_dim or 64)}
    if recipe in ("dcgan", "cgan"):
        return {"kind": "dcgan", "latent_dim": int(latent_dim or 100), "num_classes": 10 if recipe == "cgan" else 0}
    return {}


def _fixed_inputs(recipe, model):
    if recipe == "ddpm":
        return None, None
    z = randn(80 if recipe == "cgan" else 64, model.config["latent_dim"])
    labels = np.tile(np.arange(10), 8) if recipe == "cgan" else None
    return z, labels


def train_generative(recipe, epochs=None, batch_size=None, lr=None, seed=0, out_dir=None, latent_dim=None,
                     kind=None, model_config=None, max_train=None, score=True, classifier=None, ema_decay=0.999,
                     sample_steps=50, progress=True, log=print, distributed=False):
    """Train generative recipe ``recipe`` (vae, gan, dcgan, cgan, ddpm) on Fashion-MNIST; see the
    module docstring for what is written. ``latent_dim``/``kind`` configure the VAE ("mlp" or
    "conv") and GANs; ``model_config`` overrides constructor arguments; ``max_train`` trains on
    the first images only (tests); ``score`` runs the FLD scoring at the end with ``classifier``
    (a LeNet5 checkpoint; default: the cached one, trained if missing). ``distributed``:
    data-parallel under ``mpirun -n P`` (both GAN networks wrapped; rank 0 samples, scores, writes).
    ``sample_steps``: DDIM steps of the DDPM's per-epoch grids and scoring samples.

    Returns a dict of metrics (test_elbo_nats for the VAE; fld, class_histogram, min_class_share,
    label_accuracy where they apply), seconds and the history."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown generative recipe {recipe!r}; expected one of {RECIPES}")
    if out_dir is not None:
        from .._extras import require
        require(f"train {recipe}", ["matplotlib", "safetensors"], extra="zoo")
    from .cnn_recipes import _progress, _schedule, _write

    d = DEFAULTS[recipe]
    epochs = d["epochs"] if epochs is None else int(epochs)
    batch_size = d["batch_size"] if batch_size is None else int(batch_size)
    lr = d["lr"] if lr is None else float(lr)
    dp = DataParallel(distributed)
    if not dp.main:
        log, progress, out_dir, score = None, False, None, False
    manual_seed(seed)
    splits, info = image_splits("fashion-mnist", normalize=False)
    train = splits["train"]
    if max_train is not None:
        train.images, train.labels = train.images[:max_train], train.labels[:max_train]
    cfg = dict(_default_config(recipe, latent_dim, kind), **(model_config or {}))
    model = build(recipe, cfg)
    config = {"recipe": recipe, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed, "model": cfg,
              "max_train": max_train}
    adversarial = recipe in ("gan", "dcgan", "cgan")
    # DDP's gradient hooks average every gradient during backward whichever method computed it, so
    # the recipe keeps calling the model's own methods (loss, negative_elbo, generate, ...); each GAN
    # network gets its own wrapper since they step separately.
    wrappers = [dp.wrap(m) for m in ((model.generator, model.discriminator) if adversarial else (model,))]
    fixed_z, fixed_labels = _fixed_inputs(recipe, model)
    dp.reseed(seed)
    loader = dp.loader(train, batch_size, drop_last=len(train) > batch_size, seed=seed)
    if adversarial:
        betas = (0.5, 0.999)
        opt_g = optim.Adam(model.generator.parameters(), lr=lr, betas=betas)
        opt_d = optim.Adam(model.discriminator.parameters(), lr=lr, betas=betas)
    else:
        opt = optim.Adam(model.parameters(), lr=lr)
        sched = optim.lr_scheduler.LambdaLR(opt, _schedule(len(loader), epochs)) if recipe == "ddpm" else None
    ema = EMA(model, ema_decay) if recipe == "ddpm" else None
    history = {"loss": [], "loss_d": [], "epoch_seconds": []}
    bar = _progress(progress, recipe, len(loader) * epochs)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0, tot, tot_d, seen = time.perf_counter(), 0.0, 0.0, 0
        dp.set_epoch(epoch)
        for xb, yb in loader:
            n = xb.shape[0]
            if recipe == "vae":
                loss = model.negative_elbo(xb)[0]
                opt.zero_grad()
                loss.backward()
                opt.step()
            elif recipe == "ddpm":
                loss = model.loss(xb * 2.0 - 1.0)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                ema.update(model)
            else:
                real = xb * 2.0 - 1.0
                fake_labels = randint(0, 10, size=(n,)) if model.conditional else None
                real_labels = yb if model.conditional else None
                fake = model.generate(randn(n, model.config["latent_dim"]), fake_labels)
                loss_d = discriminator_loss(model.discriminate(real, real_labels),
                                            model.discriminate(fake.detach(), fake_labels))
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
                loss = generator_loss(model.discriminate(fake, fake_labels))
                opt_g.zero_grad()
                loss.backward()
                opt_g.step()
                tot_d += loss_d.item() * n * dp.world
            tot, seen = tot + loss.item() * n * dp.world, seen + n * dp.world
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"loss {tot / seen:.4f} {seen / (time.perf_counter() - t0):.0f} img/s")
        secs = time.perf_counter() - t0
        history["loss"].append(tot / max(seen, 1))
        history["loss_d"].append(tot_d / max(seen, 1))
        history["epoch_seconds"].append(secs)
        line = f"epoch {epoch:3d}  {'-elbo' if recipe == 'vae' else 'loss'} {tot / max(seen, 1):.4f}"
        _write(log, bar, line + (f"  loss_d {tot_d / seen:.4f}" if adversarial else "") + f"  {secs:.1f} s")
        if out_dir is not None:
            os.makedirs(out_dir, exist_ok=True)
            if ema is not None:
                live = {k: v.numpy().copy() for k, v in model.state_dict().items()}
                ema.copy_to(model)
            save_grid(_samples(recipe, model, 64, noise=fixed_z, labels=fixed_labels, steps=sample_steps),
                      os.path.join(out_dir, f"samples_epoch{epoch}.png"), nrow=10 if recipe == "cgan" else 8,
                      title=f"{recipe} epoch {epoch}")
            if ema is not None:
                model.load_state_dict(live)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    del wrappers
    if not dp.main:
        return {"seconds": seconds, "rank": dp.rank}
    if ema is not None:
        ema.copy_to(model)  # sample and save with the averaged weights
    model.eval()
    result = {"seconds": seconds, "history": history}
    if recipe == "vae":
        result["test_elbo_nats"] = test_elbo(model, splits["test"])
    if score:
        result.update(score_model(recipe, model, classifier, steps=sample_steps, log=log))
    if out_dir is not None:
        _write_gen_outputs(out_dir, recipe, model, config, result, splits["test"])
    _write(log, None, f"{seconds:.1f} s of training")
    if recipe == "vae":
        _write(log, None, f"test elbo {result['test_elbo_nats']:.2f} nats")
    elif "fld" in result:
        _write(log, None, (f"label accuracy {result['label_accuracy']:.4f}; " if "label_accuracy" in result else "")
               + f"fld {result['fld']:.2f}")
    return result


def test_elbo(model, ds, batch_size=1000):
    """Mean ELBO per test image in nats (one reparameterised sample each, from the generator)."""
    total = 0.0
    with no_grad():
        for i in range(0, len(ds), batch_size):
            x, _ = ds.__getitems__(np.arange(i, min(len(ds), i + batch_size)))
            total += model.negative_elbo(x)[0].item() * x.shape[0]
    return -total / len(ds)


def score_model(recipe, model, classifier=None, n=N_SCORE, steps=50, log=print):
    """FLD, class histogram and (conditional) label accuracy of n samples against the test set."""
    from .metrics import default_scorer

    scorer, real = default_scorer(classifier, log=log)
    labels = np.arange(n) % 10 if recipe == "cgan" else None
    images = np.concatenate([_samples(recipe, model, min(500, n - i), steps=steps,
                                      labels=None if labels is None else labels[i:i + 500])
                             for i in range(0, n, 500)])
    return scorer.score(images, real, labels)


def _write_gen_outputs(out_dir, recipe, model, config, result, test_ds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    metrics = {k: v for k, v in result.items() if k != "history"}
    save(model.state_dict(), os.path.join(out_dir, "model.safetensors"),
         metadata={"config": json.dumps(config), "metrics": json.dumps(metrics)})
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump({"config": config, "metrics": metrics, "history": result["history"]}, f, indent=2)
    h = result["history"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.arange(1, len(h["loss"]) + 1), h["loss"], label="generator" if recipe in ("gan", "dcgan", "cgan")
            else ("-ELBO (nats)" if recipe == "vae" else "noise MSE"))
    if any(h["loss_d"]):
        ax.plot(np.arange(1, len(h["loss_d"]) + 1), h["loss_d"], label="discriminator")
    ax.set_xlabel("epoch")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "curves.png"), dpi=100)
    plt.close(fig)
    if recipe != "vae":
        return
    x, y = test_ds.__getitems__(np.arange(min(len(test_ds), 2000)))
    with no_grad():
        mu, _ = model.encode(x)
        rec = model.mean_image(mu[:32]).numpy()
    save_grid(np.concatenate([x.numpy()[:32], rec]), os.path.join(out_dir, "reconstructions.png"), nrow=8,
              title="test images (top) and reconstructions (bottom)")
    if model.config["latent_dim"] == 2:
        m = mu.numpy()
        fig, ax = plt.subplots(figsize=(6, 5))
        sc = ax.scatter(m[:, 0], m[:, 1], c=y.numpy(), cmap="tab10", s=4)
        fig.colorbar(sc, ax=ax, label="class")
        ax.set_title("VAE latent means of test images")
        fig.savefig(os.path.join(out_dir, "latent.png"), dpi=100)
        plt.close(fig)
        from scipy.stats import norm as _norm  # scipy comes with scikit-learn (the zoo extra)
        grid = _norm.ppf(np.linspace(0.05, 0.95, 15))
        z = np.array([[a, b] for b in grid[::-1] for a in grid], np.float32)
        with no_grad():
            imgs = model.mean_image(from_numpy(z)).numpy()
        save_grid(imgs, os.path.join(out_dir, "manifold.png"), nrow=15, title="decoded 2-D latent manifold")


def sample_from_checkpoint(path, out_png, n=64, steps=50, method="ddim", label=None, seed=0, log=print):
    """Write a PNG grid of n samples from a ``model.safetensors`` of a generative recipe
    (``label``: the class for the conditional GAN; default one row per class)."""
    state, meta = load(path, with_metadata=True)
    config = json.loads(meta.get("config", "{}"))
    if config.get("recipe") not in RECIPES:
        raise ValueError(f"sample: {path} is not a checkpoint of a dlcore generative recipe")
    recipe = config["recipe"]
    model = build(recipe, config["model"])
    model.load_state_dict(state)
    manual_seed(seed)
    labels = None
    if recipe == "cgan":
        if label is not None and not 0 <= int(label) < 10:
            raise ValueError(f"sample: --label must be in 0..9, got {label}")
        labels = np.full(n, int(label)) if label is not None else np.arange(n) % 10
    elif label is not None:
        raise ValueError(f"sample: --label needs a conditional model (cgan), this is {recipe}")
    t0 = time.perf_counter()
    images = _samples(recipe, model, n, labels=labels, steps=steps, method=method)
    save_grid(images, out_png, nrow=10 if recipe == "cgan" and label is None else 8,
              title=f"{recipe}" + (f" ({method}, {steps} steps)" if recipe == "ddpm" else ""))
    if log:
        log(f"wrote {n} samples to {out_png} in {time.perf_counter() - t0:.1f} s")
    return images
