"""The one token-level loss shared by every model that emits a token per position.

The tagger (a tag per word), the seq2seq decoder (a target token per output
step) and the language model (the next token per step) all train on the
guide's summed per-step cross-entropy ``L = -sum_t log y_t[target_t]``,
averaged over the true positions of a batch: padded positions carry the
target ``ignore_index`` and count neither in the loss nor in the accuracy.

Shape legend: N batch, T time (padded length), V classes (tags or tokens).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_token_loss(
    logits: torch.Tensor, targets: torch.Tensor, ignore_index: int
) -> tuple[torch.Tensor, float, float]:
    """Mean cross-entropy over the real positions, correct argmax count, real count.

    Parameters
    ----------
    logits : tensor (N, T, V)
        Unnormalised scores at every position.
    targets : tensor (N, T) of int64
        The class of every position; ``ignore_index`` where a position is padding.
    ignore_index : int
        Target value of padded positions (the tagger uses -100, seq2seq and the
        language model use the padding id 0).

    Returns
    -------
    (loss, n_correct, n_items)
        ``loss`` a scalar tensor to backpropagate (the mean over real
        positions), the number of real positions whose argmax is the target,
        and the number of real positions -- the ``(loss, n_correct, n_items)``
        contract of :func:`rnnlab.training.fit`'s step functions.
    """
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(
            f"expected logits (N, T, V) and targets (N, T), got {tuple(logits.shape)} "
            f"and {tuple(targets.shape)}"
        )
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),  # (N*T, V)
        targets.reshape(-1),  # (N*T,)
        ignore_index=ignore_index,
    )
    real = targets != ignore_index  # (N, T)
    correct = float(((logits.argmax(dim=-1) == targets) & real).sum())
    return loss, correct, float(real.sum())
