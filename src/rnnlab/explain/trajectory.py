"""The sentiment trajectory: P(target) after each token, as the network reads.

Shape legend: n tokens the network read, T its input length, D embedding
size, C classes.

A many-to-one network carries a state ``h_t`` from word to word and reads out
``softmax(h O + c)`` once, at the end. The trajectory asks the read-out the
same question after every word: what would the network say had the text ended
here? Value ``i`` is ``P(target | tokens 0..i)``, exactly the network's output
on that prefix. How it is computed depends on the network, and is reported in
``trajectory_kind``:

- ``"one-pass"``: a unidirectional network (or the order-blind baseline) never
  looks ahead, so its state after token i is the same whether or not the text
  goes on. One pass gives every prefix's output: the pooling becomes a running
  max/mean over the steps read so far, and with ``pooling="last"`` it is the
  guide's ``softmax(h_i O + c)`` at each step
  (:meth:`rnnlab.models.SequenceClassifier.prefix_logits`).
- ``"prefix-reruns"``: a bidirectional network reads each prefix backward from
  that prefix's own last word, so the state after token i depends on where the
  text ends. The network is re-run on every prefix (batched; the first layer's
  forward direction is shared). The same holds for models that read padding
  (``text.padding`` "pre"/"post") and for linear models, which are re-scored on
  every prefix.

Tokens the network never read (cut by ``text.maxlen``) have no value (None).
"""

from __future__ import annotations

import numpy as np
import torch

from rnnlab.explain.inputs import padded_ids

RERUN_BATCH = 64  # prefixes per forward pass when re-running padded inputs


def classifier_trajectory(clf, read_ids: list[int], emb: torch.Tensor, target: int):
    """P(target) after each read token of a recurrent classifier.

    Parameters
    ----------
    clf : TextClassifier
        ``clf.net`` in eval mode; ``clf.text`` says how inputs are padded.
    read_ids : list of int
        The n ids the network reads (after truncation).
    emb : (1, n, D) tensor
        Their word vectors (used when inputs are not padded, ``padding="bucket"``).

    Returns
    -------
    (n,) float64 array, and the trajectory kind ("one-pass" or "prefix-reruns").
    """
    net = clf.net
    with torch.no_grad():
        if clf.text.padding == "bucket":
            logits = net.prefix_logits(emb)  # (n, C)
            kind = "one-pass" if net.reads_left_to_right else "prefix-reruns"
        else:  # the network reads padding: re-run each prefix padded as in training
            prefixes = [read_ids[: i + 1] for i in range(len(read_ids))]
            parts = []
            for lo in range(0, len(prefixes), RERUN_BATCH):
                ids, lengths = padded_ids(prefixes[lo : lo + RERUN_BATCH], clf.text)
                parts.append(net(ids, lengths))  # (B, C)
            logits = torch.cat(parts)  # (n, C)
            kind = "prefix-reruns"
        probs = torch.softmax(logits.double(), dim=1)[:, target]  # (n,)
    return probs.numpy(), kind


def linear_trajectory(clf, tokens: list[str], target: int) -> np.ndarray:
    """P(target) of a linear model re-scored on every prefix of ``tokens``: (n,) array.

    A prefix is its tokens joined by spaces (words) or by nothing (characters,
    subword pieces), which the model's tokenizer splits back into the same tokens.
    """
    if not tokens:
        return np.zeros(0)
    tokenizer = getattr(clf, "tokenizer", None)
    glue = " " if tokenizer is None or tokenizer.name == "words" else ""
    prefixes = [glue.join(tokens[: i + 1]) for i in range(len(tokens))]
    return clf.predict_proba(prefixes)[:, target]  # (n,)
