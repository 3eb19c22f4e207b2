"""Token attributions: integrated gradients, occlusion, and the exact linear split.

Shape legend: A points on the integration path (or occluded copies), T time
(the network's input length), D embedding size, C classes, V features.

**What is attributed.** For a recurrent classifier the explained quantity is
the *log-odds* of the target class ``t`` (the predicted one), computed from the
logits ``z`` of the guide's read-out ``softmax(h O + c)``::

    f(x) = log P_t - log(1 - P_t) = z_t - logsumexp_{k != t} z_k

With two classes this is ``z_t - z_other``, the difference of the two logits.
The log-odds, unlike ``log P_t``, does not flatten out for confident
predictions, so a review read at 0.999 still shows which words carried it.

**Integrated gradients** (Sundararajan, Taly & Yan, 2017) over the word
vectors ``x_i`` (rows of the embedding output)::

    a_i = (x_i - x'_i) . integral_0^1 df(x' + alpha (x - x')) / dx_i  d alpha

(the dot product sums word i's D components). The attributions are
*complete*: ``sum_i a_i = f(x) - f(x')``. The integral is taken with the
trapezoid rule over ``steps`` intervals (``steps + 1`` points of the path in
one batch); when ``|sum_i a_i - (f(x) - f(x'))|`` exceeds 5% of
``max(|f(x) - f(x')|, 0.01)`` the number of intervals is doubled (only the new
midpoints are evaluated) up to 512. The 0.01 log-odds floor keeps the ratio
meaningful for a text that barely moves the output. On 100 IMDB test reviews
and the bundled model, the default 16 intervals were enough for 84 of them, 32
for 13 (worst 55% before doubling, 4.94% after; ``benchmarks/explain_speed.py``).

**Baseline.** ``x'`` puts the padding vector (row 0 of the embedding) at every
position. Training keeps that row at zero (``padding_idx``) unless the model
learnt its padding vector (``--learn-padding``, which the guide recipe sets, as
Keras does); either way ``x'`` is what the network reads for "no word here",
with the same length as the text so that the network runs the same number of
steps.
A zero vector is also what the embedding of an unseen dimension would be; an
``<unk>`` baseline would instead carry whatever the network learnt for rare
words.

**Occlusion** is model-agnostic: ``a_i = f(x) - f(x with x_i replaced by the
padding vector)``, every word at once as one batch. It needs no gradients but
is not complete in general (its completeness figures are reported for
comparison, not guaranteed).

**Linear models** are split exactly: with ``z = x W^T + b`` each feature
(n-gram) ``j`` present in the text contributes ``x_j W_tj``; that contribution is
shared equally among the n-gram's occurrences in the text and each
occurrence's share equally among the n tokens it covers. The token
attributions therefore sum to ``z_t - b_t`` exactly, which is ``f(x) - f(empty
text)`` (see :func:`linear_attributions` for the units).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from rnnlab.errors import RnnlabError

TOLERANCE = 0.05  # completeness: |sum a_i - (f(x) - f(x'))| within 5% ...
FLOOR = 0.01  # ... of max(|f(x) - f(x')|, FLOOR) log-odds
MAX_STEPS = 512  # the doubling stops here
BATCH = 20  # at most this many path points (or occluded copies) per pass, split evenly:
# on the bundled BiLSTM, passes of 12-20 rows were the fastest per row on CPU

Forward = Callable[[torch.Tensor], torch.Tensor]  # word vectors (A, T, D) -> logits (A, C)


def log_odds(logits: torch.Tensor, target: int) -> torch.Tensor:
    """(A, C) logits -> (A,) log-odds of class ``target``: ``z_t - logsumexp_{k != t} z_k``."""
    others = torch.cat([logits[:, :target], logits[:, target + 1 :]], dim=1)  # (A, C-1)
    return logits[:, target] - torch.logsumexp(others, dim=1)


def relative_error(total: float, delta: float) -> float:
    """``|total - delta| / max(|delta|, FLOOR)``: how far attributions are from complete."""
    return abs(total - delta) / max(abs(delta), FLOOR)


@dataclass
class Attribution:
    """Attributions over the network's input positions, and the completeness figures.

    ``values`` is (T,) float64; ``f_x``/``f_baseline`` are the explained
    quantity on the input and on the baseline; ``steps`` the trapezoid
    intervals used (0 for occlusion and linear models).
    """

    values: np.ndarray
    f_x: float
    f_baseline: float
    steps: int = 0

    def completeness(self) -> dict[str, float | int]:
        total = float(self.values.sum())
        delta = self.f_x - self.f_baseline
        out: dict[str, float | int] = {
            "sum_attributions": total,
            "f_x_minus_f_baseline": delta,
            "relative_error": relative_error(total, delta),
        }
        if self.steps:
            out["steps"] = self.steps
        return out


def integrated_gradients(
    forward: Forward,
    emb: torch.Tensor,
    baseline: torch.Tensor,
    target: int,
    steps: int = 16,
    tolerance: float = TOLERANCE,
    max_steps: int = MAX_STEPS,
    batch: int = BATCH,
) -> Attribution:
    """Integrated gradients of the target's log-odds with respect to the word vectors.

    Parameters
    ----------
    forward : callable
        Word vectors (A, T, D) -> logits (A, C); the network in eval mode.
    emb, baseline : (1, T, D) tensors
        The text's word vectors and the baseline's.
    target : int
        Class whose log-odds is explained.
    steps : int
        Trapezoid intervals to start with; doubled while the completeness
        error exceeds ``tolerance``, up to ``max(steps, max_steps)``.

    Returns
    -------
    Attribution
        ``values`` (T,): one attribution per input position.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise RnnlabError(f"steps must be an integer >= 1, got {steps!r}")
    delta = (emb - baseline).detach()  # (1, T, D)
    baseline = baseline.detach()

    def weighted_gradients(alphas: torch.Tensor, weights: torch.Tensor):
        """Sum over path points of weight * gradient (T, D), and f at each point (A,)."""
        total = torch.zeros(emb.shape[1:], dtype=torch.float64)  # (T, D)
        values = []
        parts = -(-len(alphas) // batch)  # passes; 33 points -> 17 + 16, not 20 + 13
        for a, w in zip(alphas.tensor_split(parts), weights.tensor_split(parts), strict=True):
            x = (baseline + a.view(-1, 1, 1) * delta).requires_grad_(True)  # (A, T, D)
            f = log_odds(forward(x), target)  # (A,)
            (grad,) = torch.autograd.grad(f.sum(), x)  # (A, T, D)
            total += (w.view(-1, 1, 1) * grad).sum(dim=0).double()
            values.append(f.detach())
        return total, torch.cat(values)

    with torch.inference_mode(False), torch.enable_grad():
        m = steps
        alphas = torch.linspace(0.0, 1.0, m + 1)  # (m+1,)
        weights = torch.ones(m + 1)
        weights[0] = weights[-1] = 0.5  # trapezoid: m * integral ~ sum of these * g
        summed, f = weighted_gradients(alphas, weights)
        f_baseline, f_x = float(f[0]), float(f[-1])
        d = delta[0].double()  # (T, D)
        values = (d * summed / m).sum(dim=1)  # (T,)
        while relative_error(float(values.sum()), f_x - f_baseline) > tolerance and 2 * m <= max(
            steps, max_steps
        ):
            midpoints = (torch.arange(m, dtype=torch.float32) + 0.5) / m  # (m,) new interior points
            more, _ = weighted_gradients(midpoints, torch.ones(m))
            summed += more
            m *= 2
            values = (d * summed / m).sum(dim=1)
    return Attribution(values.numpy(), f_x, f_baseline, m)


def occlusion(
    forward: Forward,
    emb: torch.Tensor,
    baseline: torch.Tensor,
    positions: torch.Tensor,
    target: int,
    batch: int = BATCH,
) -> Attribution:
    """``f(x) - f(x with the vector at each position replaced by the baseline's)``.

    ``positions`` (n,) are the input positions to occlude (the words the
    network read); other positions get 0.
    """
    t = emb.shape[1]
    with torch.no_grad():
        f_x = log_odds(forward(emb), target)  # (1,)
        f_baseline = float(log_odds(forward(baseline), target)[0])
        values = torch.zeros(t, dtype=torch.float64)
        for chunk in positions.split(batch):
            x = emb.expand(len(chunk), -1, -1).clone()  # (B, T, D)
            rows = torch.arange(len(chunk))
            x[rows, chunk] = baseline[0, chunk]
            values[chunk] = (f_x - log_odds(forward(x), target)).double()
    return Attribution(values.numpy(), float(f_x[0]), f_baseline)


def ngram_occurrences(tokens: list[str], vocabulary: dict[str, int], ngram_range):
    """Where each known n-gram occurs: ``{column: (n, [start, ...])}``.

    N-grams are built as scikit-learn's ``CountVectorizer`` builds them for
    :class:`rnnlab.text.BagOfWords`: ``n`` consecutive tokens joined by a space.
    """
    lo, hi = ngram_range
    found: dict[int, tuple[int, list[int]]] = {}
    for n in range(lo, hi + 1):
        for start in range(len(tokens) - n + 1):
            col = vocabulary.get(" ".join(tokens[start : start + n]))
            if col is not None:
                found.setdefault(col, (n, []))[1].append(start)
    return found


def linear_attributions(clf, text: str, tokens: list[str], target: int):
    """Exact per-token split of a linear model's score for class ``target``.

    Units: two classes -- the log-odds of the target, ``z`` for the second
    class and ``-z`` for the first (``P(second) = sigmoid(z)``); more classes --
    the target's own score ``z_t`` (a softmax logit for bow-/tfidf-logreg,
    the one-vs-rest log-odds for nbsvm).

    Returns
    -------
    Attribution over the tokens (f_baseline is the empty text's score, the
    intercept), and a (n,) bool array: tokens covered by at least one of the
    model's features.
    """
    coef = clf.coef_ if clf.r_ is None else clf.coef_ * clf.r_  # nbsvm: (x * r) W^T = x (r * W)^T
    coef = np.asarray(coef).astype(np.float64)  # (K, V), as the model's own decision_function
    intercept = np.asarray(clf.intercept_, dtype=np.float64)  # (K,)
    if len(clf.label_names) == 2:  # one row scores the second class
        sign = 1.0 if target == 1 else -1.0
        w, b = sign * coef[0], sign * intercept[0]  # (V,), scalar
    else:
        w, b = coef[target], intercept[target]
    x = clf.vectorizer.transform([text])  # (1, V) sparse
    features = dict(zip(x.indices.tolist(), x.data.tolist(), strict=True))
    values = np.zeros(len(tokens), dtype=np.float64)
    covered = np.zeros(len(tokens), dtype=bool)
    vec = clf.vectorizer
    for col, (n, starts) in ngram_occurrences(tokens, vec.vocabulary_, vec.ngram_range).items():
        share = features.get(col, 0.0) * w[col] / len(starts) / n
        for s in starts:
            values[s : s + n] += share
            covered[s : s + n] = True
    f_x = b + float(sum(v * w[c] for c, v in features.items()))
    return Attribution(values, f_x, b), covered
