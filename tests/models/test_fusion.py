"""Late fusion of two classifiers (rnnlab.models.fusion): fitted weights, not guessed ones."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.models.fusion import Fusion, fit_fusion, fuse, fused_logits


def _probs(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _two_views(n: int = 4000, seed: int = 0):
    """Labels and two noisy views of the truth; the second view is shrunk towards 0.5
    (as NBSVM's interpolation shrinks its scores), so equal weights under-use it."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    signal = np.where(y == 1, 1.0, -1.0)
    d1 = 1.5 * signal + rng.normal(0, 1.5, n)
    d2 = 0.3 * (1.5 * signal + rng.normal(0, 1.5, n))  # as informative, 0.3 x the scale
    p1 = _probs(np.stack([np.zeros(n), d1], 1))
    p2 = _probs(np.stack([np.zeros(n), d2], 1))
    return y, p1, p2


def test_fit_recovers_the_scale_of_a_shrunk_model_and_beats_either_alone():
    y, p1, p2 = _two_views()
    f = fit_fusion(p1, p2, y)
    assert f.alpha > 0 and f.beta > 0
    assert f.beta / f.alpha == pytest.approx(1 / 0.3, rel=0.25)  # undoes the shrinking
    yt, q1, q2 = _two_views(seed=1)  # fresh data
    acc = {
        "one": ((q1[:, 1] > 0.5) == yt).mean(),
        "two": ((q2[:, 1] > 0.5) == yt).mean(),
        "fused": (fuse(f, q1, q2).argmax(1) == yt).mean(),
    }
    assert acc["fused"] > max(acc["one"], acc["two"]) + 0.02


def test_fused_probabilities_are_a_softmax_of_the_weighted_log_probabilities():
    rng = np.random.default_rng(3)
    p1, p2 = _probs(rng.normal(size=(5, 3))), _probs(rng.normal(size=(5, 3)))
    f = Fusion(0.7, 2.0, (0.1, -0.3, 0.2))
    z = 0.7 * np.log(p1) + 2.0 * np.log(p2) + np.array([0.1, -0.3, 0.2])
    np.testing.assert_allclose(fused_logits(f, p1, p2), z)
    np.testing.assert_allclose(fuse(f, p1, p2), _probs(z))
    np.testing.assert_allclose(fuse(f, p1, p2).sum(1), 1.0)


def test_separable_held_out_data_keeps_the_weights_finite():
    y = np.array([0, 1] * 20)
    perfect = np.stack([1 - y, y], 1).astype(float) * 0.98 + 0.01
    f = fit_fusion(perfect, perfect, y)
    assert np.isfinite([f.alpha, f.beta, *f.gamma]).all()
    assert max(f.alpha, f.beta) < 50


def test_gradient_matches_finite_differences():
    """The hand-written gradient of the fitting loss (checked through the optimum it finds:
    a nudge in any direction may not lower the penalised held-out loss)."""
    y, p1, p2 = _two_views(800, seed=5)
    f = fit_fusion(p1, p2, y)

    def loss(alpha, beta, gamma):
        z = fused_logits(Fusion(alpha, beta, tuple(gamma)), p1, p2)
        z = z - z.max(1, keepdims=True)
        nll = np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y])
        return nll + 1e-3 * (alpha**2 + beta**2 + float(np.dot(gamma, gamma)))

    g = np.array(f.gamma)
    best = loss(f.alpha, f.beta, g)
    for da, db, dg in [(1e-2, 0, 0), (-1e-2, 0, 0), (0, 1e-2, 0), (0, -1e-2, 0), (0, 0, 1e-2)]:
        assert loss(f.alpha + da, f.beta + db, g + np.array([dg, -dg])) >= best - 1e-9


@pytest.mark.parametrize(
    "bad", [{"alpha": -1, "beta": 1, "gamma": [0, 0]}, {"alpha": float("nan"), "beta": 1,
                                                        "gamma": [0, 0]}, {"alpha": 1}]
)  # fmt: skip
def test_bad_stored_weights_are_refused(bad):
    with pytest.raises((ValueError, KeyError)):
        Fusion.from_dict(bad)
