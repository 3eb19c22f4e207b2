"""Gradient-norm clipping and the SGD and Adam update rules.

Parameters and gradients are dicts of arrays with the same keys and shapes,
as returned by ``RecurrentNetwork.parameters()`` and ``loss_and_grads``. The
optimisers update the parameter arrays in place.
"""

from __future__ import annotations

import numpy as np


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """:math:`\\sqrt{\\sum_k \\lVert g_k \\rVert^2}` over every gradient array."""
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))


def clip_grad_norm(
    grads: dict[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Scale all gradients together so that their global norm is at most ``max_norm``.

    The cure for the guide's exploding gradients: the direction is kept, only
    the length is capped. Gradients whose norm is already <= ``max_norm`` are
    returned unchanged (the same arrays).

    Returns
    -------
    clipped : dict
        New arrays when clipped.
    norm : float
        The global norm before clipping.

    Notes
    -----
    ``torch.nn.utils.clip_grad_norm_`` scales by ``max_norm / (norm + 1e-6)``
    and works in place; here the scale is exactly ``max_norm / norm``.
    """
    if not np.isfinite(max_norm) or max_norm <= 0:
        raise ValueError(f"max_norm must be a positive finite number; got {max_norm!r}")
    norm = global_norm(grads)
    if norm <= max_norm:
        return dict(grads), norm
    scale = max_norm / norm
    return {name: g * scale for name, g in grads.items()}, norm


class Optimizer:
    """Holds the parameters; ``step(grads)`` updates them in place."""

    def __init__(self, params: dict[str, np.ndarray], lr: float) -> None:
        if not isinstance(params, dict) or not params:
            raise ValueError(
                f"params must be a non-empty dict of arrays; got {type(params).__name__}"
            )
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a positive finite number; got {lr!r}")
        self.params, self.lr, self.steps = params, lr, 0

    def check_value(self, grads: dict[str, np.ndarray]) -> None:
        if set(grads) != set(self.params):
            missing, extra = (
                sorted(set(self.params) - set(grads)),
                sorted(set(grads) - set(self.params)),
            )
            raise ValueError(
                f"grads must have the keys of params; missing {missing}, extra {extra}"
            )
        for name, p in self.params.items():
            if np.shape(grads[name]) != p.shape:
                raise ValueError(
                    f"grads[{name!r}] must have shape {p.shape}; got {np.shape(grads[name])}"
                )


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (torch's form).

    .. math:: v \\leftarrow \\mu v + g, \\qquad w \\leftarrow w - \\eta v
    """

    def __init__(
        self, params: dict[str, np.ndarray], lr: float = 0.1, momentum: float = 0.0
    ) -> None:
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {momentum!r}")
        self.momentum = momentum
        self.velocity = {name: np.zeros_like(p) for name, p in params.items()}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.check_value(grads)
        self.steps += 1
        for name, w in self.params.items():
            v = self.velocity[name]
            v *= self.momentum
            v += grads[name]
            w -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), as ``torch.optim.Adam`` without weight decay.

    .. math::
        m &\\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\quad
        v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2 \\\\
        w &\\leftarrow w - \\eta \\, \\frac{m / (1 - \\beta_1^t)}{\\sqrt{v / (1 - \\beta_2^t)} + \\epsilon}
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1); got {betas!r}")
        if eps <= 0:
            raise ValueError(f"eps must be positive; got {eps!r}")
        self.betas, self.eps = betas, eps
        self.m = {name: np.zeros_like(p) for name, p in params.items()}
        self.v = {name: np.zeros_like(p) for name, p in params.items()}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.check_value(grads)
        self.steps += 1
        b1, b2 = self.betas
        for name, w in self.params.items():
            g, m, v = grads[name], self.m[name], self.v[name]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1**self.steps)
            v_hat = v / (1 - b2**self.steps)
            w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
