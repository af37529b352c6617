"""Denoising diffusion probabilistic models (Ho et al., 2020) with DDIM sampling (Song et al.,
2021), following the course notes' notation.

Forward process: q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I), t = 1..T, whose
marginal is closed-form: q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with
alpha_t = 1 - beta_t and abar_t = prod_{s<=t} alpha_s. The posterior of one step back is
q(x_{t-1} | x_t, x_0) = N(mu_t, betatilde_t I) with
mu_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x_0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t
and betatilde_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t.

Training: t uniform in 1..T, eps ~ N(0, I), loss = || eps - eps_theta(x_t, t) ||^2 (the simplified
objective). Ancestral sampling: x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps_theta) / sqrt(alpha_t)
+ sqrt(betatilde_t) z. DDIM (eta = 0): a deterministic walk over a subsequence of timesteps,
x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps_theta with x0_hat clipped to [-1, 1].

Timesteps are 1-based in the maths and 0-based in the arrays (index t-1). Images live in [-1, 1].
Noise (training and sampling) comes from dlcore's seeded generator.
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from .._random import randint, randn
from .._tensor import from_numpy
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from .unet import UNet


class NoiseSchedule:
    """beta_1..beta_T: ``"linear"`` from beta_start to beta_end (DDPM: 1e-4 to 0.02, T = 1000) or
    ``"cosine"`` (Nichol & Dhariwal 2021: abar(t) = cos^2(((t/T + s) / (1 + s)) pi / 2) / abar(0),
    s = 0.008, betas capped at 0.999). Arrays are float64, index t-1 for timestep t."""

    def __init__(self, T=1000, kind="linear", beta_start=1e-4, beta_end=0.02):
        if int(T) < 1:
            raise ValueError(f"NoiseSchedule: T must be >= 1, got {T}")
        self.T, self.kind = int(T), kind
        if kind == "linear":
            if not 0 < beta_start <= beta_end < 1:
                raise ValueError(f"NoiseSchedule: need 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}")
            self.betas = np.linspace(beta_start, beta_end, self.T, dtype=np.float64)
        elif kind == "cosine":
            s = 0.008
            steps = np.arange(self.T + 1, dtype=np.float64) / self.T
            f = np.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
            abar = f / f[0]
            self.betas = np.minimum(1 - abar[1:] / abar[:-1], 0.999)
        else:
            raise ValueError(f"NoiseSchedule: kind must be 'linear' or 'cosine', got {kind!r}")
        self.alphas = 1.0 - self.betas
        self.alpha_bars = np.cumprod(self.alphas)
        self.alpha_bars_prev = np.concatenate([[1.0], self.alpha_bars[:-1]])
        self.posterior_variance = (1 - self.alpha_bars_prev) / (1 - self.alpha_bars) * self.betas
        self.posterior_coef_x0 = np.sqrt(self.alpha_bars_prev) * self.betas / (1 - self.alpha_bars)
        self.posterior_coef_xt = np.sqrt(self.alphas) * (1 - self.alpha_bars_prev) / (1 - self.alpha_bars)

    def _col(self, values, t, ndim):
        t = np.asarray(t, dtype=np.int64)
        if t.size and (t.min() < 1 or t.max() > self.T):
            raise IndexError(f"NoiseSchedule: timesteps must be in 1..{self.T}, got {t.min()}..{t.max()}")
        return values[t - 1].reshape((-1,) + (1,) * (ndim - 1)).astype(np.float32)

    def q_sample(self, x0, t, noise):
        """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise (NumPy arrays or Tensors; t (N,))."""
        a = self._col(np.sqrt(self.alpha_bars), t, len(x0.shape))
        b = self._col(np.sqrt(1 - self.alpha_bars), t, len(x0.shape))
        if isinstance(x0, np.ndarray):
            return a * x0 + b * noise
        return x0 * from_numpy(a) + noise * from_numpy(b)

    def posterior(self, x0, xt, t):
        """(mean, variance) of q(x_{t-1} | x_t, x_0) as NumPy arrays (see the module docstring)."""
        nd = np.ndim(x0)
        mean = self._col(self.posterior_coef_x0, t, nd) * x0 + self._col(self.posterior_coef_xt, t, nd) * xt
        return mean, self._col(self.posterior_variance, t, nd)


class DDPM(nn.Module):
    """A noise-predicting U-Net (``UNet(time_dim=...)``, residual off) and its noise schedule.

    ``loss(x0)``: the simplified DDPM objective on a batch of images in [-1, 1].
    ``sample(n, steps=None, method="ddpm"|"ddim")``: n images (NumPy, in [-1, 1]); DDPM ancestral
    sampling walks all T steps, DDIM ``steps`` evenly spaced ones (default 50)."""

    def __init__(self, in_channels=1, image_size=28, widths=(32, 64, 128), time_dim=128, T=1000, schedule="linear",
                 norm="group"):
        super().__init__()
        self.config = {"in_channels": int(in_channels), "image_size": int(image_size), "widths": list(widths),
                       "time_dim": int(time_dim), "T": int(T), "schedule": schedule, "norm": norm}
        self.net = UNet(in_channels, in_channels, widths=widths, norm=norm, residual=False, time_dim=time_dim)
        self.schedule = NoiseSchedule(T, schedule)

    def forward(self, x, t):
        """The predicted noise eps_theta(x_t, t) for timesteps t (N,) in 1..T."""
        return self.net(x, t)

    def loss(self, x0):
        """|| eps - eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t) ||^2, mean over all
        elements, t uniform in 1..T and eps ~ N(0, I) from dlcore's generator."""
        n = x0.shape[0]
        t = randint(1, self.schedule.T + 1, size=(n,)).numpy()
        eps = randn(*x0.shape)
        xt = self.schedule.q_sample(x0, t, eps)
        return F.mse_loss(self.net(xt, t), eps)

    def sample(self, n, steps=None, method="ddpm", progress=None):
        """n images (n, C, S, S) float32 NumPy in [-1, 1]; ``progress(i, total)`` after each step."""
        if method not in ("ddpm", "ddim"):
            raise ValueError(f"DDPM.sample: method must be 'ddpm' or 'ddim', got {method!r}")
        c, s, sch = self.config["in_channels"], self.config["image_size"], self.schedule
        was = self.training
        self.eval()
        x = randn(n, c, s, s).numpy()
        with no_grad():
            if method == "ddpm":
                ts = list(range(sch.T, 0, -1))
                for i, t in enumerate(ts):
                    tt = np.full(n, t)
                    eps = self.net(from_numpy(x), tt).numpy()
                    mean = (x - sch.betas[t - 1] / math.sqrt(1 - sch.alpha_bars[t - 1]) * eps) / math.sqrt(sch.alphas[t - 1])
                    x = mean + (math.sqrt(sch.posterior_variance[t - 1]) * randn(*x.shape).numpy() if t > 1 else 0.0)
                    x = x.astype(np.float32)
                    if progress:
                        progress(i + 1, len(ts))
            else:
                steps = 50 if steps is None else int(steps)
                if not 1 <= steps <= sch.T:
                    raise ValueError(f"DDPM.sample: steps must be in 1..{sch.T}, got {steps}")
                ts = np.unique(np.linspace(1, sch.T, steps).round().astype(np.int64))[::-1]
                for i, t in enumerate(ts):
                    ab = sch.alpha_bars[t - 1]
                    ab_prev = sch.alpha_bars[ts[i + 1] - 1] if i + 1 < len(ts) else 1.0
                    eps = self.net(from_numpy(x), np.full(n, t)).numpy()
                    x0 = np.clip((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab), -1.0, 1.0)
                    eps = (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)  # consistent with the clipped x0
                    x = (math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps).astype(np.float32)
                    if progress:
                        progress(i + 1, len(ts))
        self.train(was)
        return np.clip(x, -1.0, 1.0)


class EMA:
    """An exponential moving average of a model's parameters and buffers (shadow = d * shadow +
    (1 - d) * value after each step), used for sampling; ``copy_to(model)`` loads it."""

    def __init__(self, model, decay=0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA: decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.shadow = {k: v.numpy().astype(np.float32, copy=True) for k, v in model.state_dict().items()}

    def update(self, model):
        """One step of the average (integer buffers are copied, not averaged)."""
        d = np.float32(self.decay)
        for k, v in model.state_dict().items():
            a = v.numpy()
            if a.dtype.kind == "f":
                self.shadow[k] *= d
                self.shadow[k] += (1 - d) * a
            else:
                self.shadow[k] = a.copy()

    def state_dict(self):
        """The averaged weights (a state_dict of the model)."""
        return dict(self.shadow)

    def copy_to(self, model):
        """Load the averaged weights into ``model``."""
        model.load_state_dict({k: v.astype(model.state_dict()[k].numpy().dtype) for k, v in self.shadow.items()})
