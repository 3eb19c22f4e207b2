"""The guide's read-out, softmax(h O + c), and the cross-entropy loss.

Shape legend: N batch, T time, H hidden units, V output classes.

Many-to-one reads the last state, :math:`\\hat y = \\mathrm{softmax}(h^{<T>} O + c)`;
many-to-many applies the same ``O, c`` at every step. The loss of a sequence
is the guide's sum over time, :math:`\\mathcal{L} = \\sum_t \\mathcal{L}^{<t>}`,
averaged over the batch.
"""

from __future__ import annotations

import numpy as np

from rnnlab.scratch.checks import check_dtype, check_positive_int


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the max so that exp never overflows."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits: object, y: object) -> tuple[float, np.ndarray]:
    """Cross-entropy of softmax(logits) against integer labels, and its gradient.

    Parameters
    ----------
    logits : array (N, V) or (N, T, V)
    y : int array (N,) or (N, T)
        Class indices in [0, V).

    Returns
    -------
    loss : float
        :math:`\\frac{1}{N} \\sum_n \\sum_t -\\log \\hat y_{n,t}[y_{n,t}]`: summed
        over time steps (the guide's :math:`\\sum_t \\mathcal{L}^{<t>}`), averaged
        over the batch. With (N, V) logits it is the usual batch mean.
    d_logits : array like ``logits``
        :math:`(\\hat y - \\mathrm{onehot}(y)) / N`.
    """
    logits = np.asarray(logits)
    if logits.ndim not in (2, 3) or not np.issubdtype(logits.dtype, np.floating):
        raise ValueError(f"logits must be a float array (N, V) or (N, T, V); got {logits.shape}")
    y = check_labels(y, logits.shape[:-1], logits.shape[-1])
    n, v = logits.shape[0], logits.shape[-1]
    flat = logits.reshape(-1, v)  # (N*T, V)
    labels = y.reshape(-1)  # (N*T,)
    shifted = flat - flat.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N*T, V)
    rows = np.arange(labels.size)
    loss = -log_probs[rows, labels].sum() / n
    d_flat = np.exp(log_probs)  # softmax, (N*T, V)
    d_flat[rows, labels] -= 1.0
    return float(loss), (d_flat / n).reshape(logits.shape)  # (N, V) or (N, T, V)


def check_labels(y: object, shape: tuple[int, ...], num_classes: int) -> np.ndarray:
    """Return ``y`` as an int array of ``shape`` with values in [0, num_classes)."""
    arr = np.asarray(y)
    legend = "(N,)" if len(shape) == 1 else "(N, T)"
    if arr.shape != shape:
        raise ValueError(f"y must have shape {legend} = {shape}; got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"y must hold integer class indices; got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(
            f"y must hold class indices in [0, {num_classes}); got values in "
            f"[{arr.min()}, {arr.max()}]"
        )
    return arr


class SoftmaxHead:
    """The output layer ``logits = h O + c`` (softmax is applied by the loss).

    Parameters
    ----------
    hidden_size : int
        H.
    output_size : int
        V, number of classes.
    rng, dtype
        As for the cells; ``O`` (H, V) and ``c`` (V,) start in U(-1/sqrt(H), 1/sqrt(H))
        like ``torch.nn.Linear``, whose ``weight`` is ``O.T`` and ``bias`` is ``c``.
    """

    def __init__(
        self,
        hidden_size: int,
        output_size: int,
        *,
        rng: np.random.Generator | int | None = None,
        dtype: object = np.float64,
    ) -> None:
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.output_size = check_positive_int("output_size", output_size)
        self.dtype = check_dtype(dtype)
        rng = np.random.default_rng(rng)
        bound = 1.0 / np.sqrt(self.hidden_size)
        self.params = {
            "O": rng.uniform(-bound, bound, (self.hidden_size, self.output_size)).astype(
                self.dtype
            ),
            "c": rng.uniform(-bound, bound, self.output_size).astype(self.dtype),
        }

    def forward(self, h: object) -> np.ndarray:
        """``h`` (N, H) or (N, T, H) -> logits (N, V) or (N, T, V)."""
        h = np.asarray(h)
        if h.ndim not in (2, 3) or h.shape[-1] != self.hidden_size:
            raise ValueError(
                f"h must have shape (N, H={self.hidden_size}) or (N, T, H={self.hidden_size}); "
                f"got {h.shape}"
            )
        return h @ self.params["O"] + self.params["c"]

    def backward(
        self, d_logits: np.ndarray, h: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dL/dh (like ``h``) and dL/dO, dL/dc, given dL/d logits."""
        flat_h = h.reshape(-1, self.hidden_size)  # (N*T, H) or (N, H)
        flat_d = d_logits.reshape(-1, self.output_size)  # (N*T, V) or (N, V)
        grads = {"O": flat_h.T @ flat_d, "c": flat_d.sum(axis=0)}
        return d_logits @ self.params["O"].T, grads
