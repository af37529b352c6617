"""NumPy references (float64) for the generative models' maths: the DDPM forward process and
posterior (iterated, not closed-form), the VAE's ELBO terms, the Fréchet distance by scipy."""
import numpy as np


def linear_betas(T=1000, start=1e-4, end=0.02):
    return np.linspace(start, end, T)


def forward_iterate(x0, betas, t, rng, n_samples):
    """Samples of x_t by running q(x_s | x_{s-1}) for s = 1..t, n_samples times (shape (n, *x0.shape))."""
    x = np.broadcast_to(x0, (n_samples,) + x0.shape).astype(np.float64)
    for s in range(t):
        x = np.sqrt(1 - betas[s]) * x + np.sqrt(betas[s]) * rng.standard_normal(x.shape)
    return x


def posterior_by_bayes(x0, xt, betas, t):
    """mean and variance of q(x_{t-1} | x_t, x_0) from Gaussian conditioning: prior
    q(x_{t-1} | x_0) = N(sqrt(abar_{t-1}) x0, 1 - abar_{t-1}) times likelihood
    q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t), as a product of Gaussians in x_{t-1}."""
    alphas = 1 - betas
    abar_prev = np.prod(alphas[:t - 1])
    m0, v0 = np.sqrt(abar_prev) * x0, 1 - abar_prev
    a, b = np.sqrt(alphas[t - 1]), betas[t - 1]
    prec = (1 / v0 if v0 > 0 else np.inf) + a * a / b
    if not np.isfinite(prec):  # t = 1: x_0 is known exactly
        return x0.astype(np.float64), 0.0
    var = 1 / prec
    mean = var * (m0 / v0 + a * xt / b)
    return mean, var


def gaussian_kl(mu, logvar):
    return 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1 - logvar, axis=-1)


def bernoulli_nll(logits, x):
    """-log p(x | logits) summed over all but the first axis, stable."""
    per = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    return per.reshape(len(x), -1).sum(1)


def frechet_scipy(a, b):
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(c1 @ c2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1 + c2 - 2 * covmean))
