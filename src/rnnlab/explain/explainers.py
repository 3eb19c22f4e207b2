"""One explanation per text: attributions, trajectory and completeness, as plain dicts.

Each result follows the contract shared with the server page::

    {"label": "pos", "score": 0.97, "target": "pos",
     "method": "integrated-gradients" | "occlusion" | "exact-linear",
     "unit": "log-odds", ...,
     "tokens": [{"token": "wonderful", "attribution": 0.41, "trajectory": 0.83,
                 "known": true, "read": true}, ...],
     "trajectory_kind": "one-pass" | "prefix-reruns" | "none",
     "completeness": {"sum_attributions": 1.23, "f_x_minus_f_baseline": 1.25,
                      "relative_error": 0.016, "steps": 16},
     "known_share": 0.95}

``tokens`` are the user's words as :func:`rnnlab.text.tokenize` splits them
(lowercased; ``<br />`` tags dropped), one entry per token of the ORIGINAL
text (a model trained with ``--tokenizer chars|subword`` gives its characters
or subword pieces instead: the units it reads). Words outside the vocabulary are read as ``<unk>`` (``known: false``);
words cut by ``text.maxlen`` (``truncating="pre"`` keeps the last ``maxlen``
tokens) were never read: attribution 0.0, trajectory null, ``read: false``.
``attribution`` is signed: positive pushes toward ``target`` (the predicted
label), in the units named by ``unit`` (see :mod:`rnnlab.explain.attributions`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from rnnlab.errors import RnnlabError
from rnnlab.explain.attributions import (
    integrated_gradients,
    linear_attributions,
    occlusion,
    relative_error,
)
from rnnlab.explain.inputs import check_texts, encode_text, model_input
from rnnlab.explain.trajectory import classifier_trajectory, linear_trajectory
from rnnlab.text import tokenize

METHODS = {"ig": "integrated-gradients", "occlusion": "occlusion"}
MEMORY_TEXTS = 5  # the HTML page shows the LSTM memory view of this many texts


def check_steps(steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise RnnlabError(f"steps must be an integer >= 1, got {steps!r}")


def explain_classifier(
    clf, texts: Sequence[str], method: str = "ig", steps: int = 16
) -> list[dict]:
    """Explain a recurrent classifier's prediction for each text.

    Parameters
    ----------
    clf : rnnlab.tasks.classify.TextClassifier
        From ``rnnlab.load(...)``; ``clf.net`` is a
        :class:`~rnnlab.models.SequenceClassifier` (run with torch whatever
        ``clf.backend`` is; ``label`` and ``score`` come from ``clf.predict``).
    texts : list of str
    method : {"ig", "occlusion"}
        Integrated gradients over the word vectors (complete within 5%:
        ``steps`` is raised while it is not), or occlusion.
    steps : int
        Trapezoid intervals integrated gradients starts with (16 by default).

    Returns
    -------
    list of dict
        One explanation per text, in input order (see the module docstring).
    """
    texts = check_texts(texts)
    if method not in METHODS:
        raise RnnlabError(
            f"method must be 'ig' (integrated gradients) or 'occlusion', got {method!r}"
        )
    check_steps(steps)
    net = clf.net
    was_training = net.training
    net.eval()  # no dropout, for the prediction and its explanation alike
    # The attributions and the trajectory are independent: with cores to spare (torch
    # using at most half of them, rnnlab's default) the trajectory runs in a second
    # thread beside them, and the wall time is the slower of the two, not their sum.
    side_by_side = 2 * torch.get_num_threads() <= (os.cpu_count() or 1)
    try:
        with ThreadPoolExecutor(1) if side_by_side else nullcontext() as pool:
            preds = clf.predict(texts)
            results = [
                _explain_recurrent(clf, t, p, method, steps, pool)
                for t, p in zip(texts, preds, strict=True)
            ]
    finally:
        net.train(was_training)
    if getattr(clf, "wide", None) is None:
        return results
    return [_add_ngrams(clf, t, r) for t, r in zip(texts, results, strict=True)]


def _add_ngrams(clf, text: str, res: dict) -> dict:
    """A fused model's explanation: the network's attributions plus its n-gram part's.

    The fused log-odds of the target is ``alpha f_net + beta f_ngrams + (gamma_t -
    gamma_other)`` (two classes, :mod:`rnnlab.models.fusion`), so token ``i``'s
    attribution is ``alpha a_net_i + beta a_ngrams_i`` -- integrated gradients (or
    occlusion) for the network, the exact linear split for the n-grams -- and the
    sums stay complete: they add up to ``alpha (f_net(x) - f_net(x')) + beta (z -
    b)``. The trajectory fuses both parts' running probabilities (two classes;
    with more classes it stays the network's, and the attributions add the two
    parts' own target scores, which only approximates the fused log-odds).
    Tokens cut by ``maxlen`` were not read by the network but still carry n-gram
    evidence.
    """
    fusion, wide = clf.fusion, clf.wide
    tokens = [row["token"] for row in res["tokens"]]
    if wide.tokenizer(text) != tokens:  # pragma: no cover - one tokenizer serves both parts
        raise RnnlabError("the n-gram part tokenized the text differently from the network")
    target = clf.label_names.index(res["target"])
    attr, covered = linear_attributions(wide, text, tokens, target)
    a, b = fusion.alpha, fusion.beta
    net_part = res["completeness"]
    ngram_part = attr.completeness() if tokens else _zero_completeness()
    total = a * net_part["sum_attributions"] + b * ngram_part["sum_attributions"]
    delta = a * net_part["f_x_minus_f_baseline"] + b * ngram_part["f_x_minus_f_baseline"]
    completeness = {"sum_attributions": total, "f_x_minus_f_baseline": delta,
                    "relative_error": relative_error(total, delta)}  # fmt: skip
    if "steps" in net_part:
        completeness["steps"] = net_part["steps"]
    two = len(clf.label_names) == 2
    p_wide = linear_trajectory(wide, tokens, target) if two else None
    bias = fusion.gamma[target] - fusion.gamma[1 - target] if two else 0.0
    rows = []
    for i, row in enumerate(res["tokens"]):
        p = row["trajectory"]
        if two and p is not None:
            z = a * _logit(p) + b * _logit(float(p_wide[i])) + bias
            p = 1.0 / (1.0 + np.exp(-z))
        rows.append({**row, "attribution": a * row["attribution"] + b * float(attr.values[i]),
                     "trajectory": p, "known": row["known"] or bool(covered[i])})  # fmt: skip
    known = [r["known"] for r in rows]
    return {
        **_result(res, res["method"] + "+exact-linear", res["unit"], tokens,
                  [r["attribution"] for r in rows], [r["trajectory"] for r in rows], known,
                  [r["read"] for r in rows], res["trajectory_kind"], completeness),
        "parts": {"network_weight": round(a, 6), "ngram_weight": round(b, 6)},
    }  # fmt: skip


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return float(np.log(p) - np.log1p(-p))


def _explain_recurrent(
    clf, text: str, pred: dict, method: str, steps: int, pool: ThreadPoolExecutor | None = None
) -> dict:
    net = clf.net
    enc = encode_text(clf, text)
    target = clf.label_names.index(pred["label"])
    attributions = np.zeros(len(enc.tokens))
    trajectory: list[float | None] = [None] * len(enc.tokens)
    if not enc.read_ids:
        completeness = _zero_completeness()
        kind = "none"
    else:
        ids, _, positions = model_input(enc.read_ids, clf.text)
        with torch.no_grad():
            emb = net.embedding(ids)  # (1, T, D)
        baseline = net.embedding.weight[0].detach().expand_as(emb)  # the padding vector
        read_index = np.flatnonzero(enc.read)  # (n,) positions in the original tokens
        args = (clf, enc.read_ids, emb[:, positions], target)
        trajectory_job = pool.submit(classifier_trajectory, *args) if pool else None

        # One text alone fills its input: length T (bucket: its n tokens; "pre"/"post":
        # maxlen, the padding read as input), so the backward direction just flips time.

        def forward(x: torch.Tensor) -> torch.Tensor:
            return net.forward_embedded(x)  # (A, T, D) -> (A, C)

        if method == "ig":
            attr = integrated_gradients(forward, emb, baseline, target, steps)
        else:
            attr = occlusion(forward, emb, baseline, positions, target)
        attributions[read_index] = attr.values[positions.numpy()]
        completeness = attr.completeness()
        probs, kind = trajectory_job.result() if trajectory_job else classifier_trajectory(*args)
        for k, p in zip(read_index, probs, strict=True):
            trajectory[k] = float(p)
    known = [t in clf.vocab for t in enc.tokens]
    return _result(
        pred, METHODS[method], "log-odds", enc.tokens, attributions, trajectory, known,
        enc.read, kind, completeness,
    )  # fmt: skip


def explain_linear(clf, texts: Sequence[str]) -> list[dict]:
    """Exact explanations of a linear model (:class:`rnnlab.models.linear.LinearTextClassifier`).

    Each n-gram's contribution ``x_j W_tj`` is shared among its occurrences and
    the tokens each covers, so the attributions sum to ``z_t - b_t`` exactly
    (``relative_error`` ~1e-15). The trajectory re-scores every prefix
    ("prefix-reruns"). ``known`` marks tokens covered by one of the model's
    n-grams.
    """
    texts = check_texts(texts)
    preds = clf.predict(texts)
    two = len(clf.label_names) == 2
    unit = "log-odds" if two else ("one-vs-rest log-odds" if clf.kind == "nbsvm" else "logit")
    out = []
    split = getattr(clf, "tokenizer", None) or tokenize  # the model's own tokenizer
    for text, pred in zip(texts, preds, strict=True):
        tokens = split(text)
        target = clf.label_names.index(pred["label"])
        attr, covered = linear_attributions(clf, text, tokens, target)
        trajectory = [float(p) for p in linear_trajectory(clf, tokens, target)]
        out.append(
            _result(
                pred,
                "exact-linear",
                unit,
                tokens,
                attr.values,
                trajectory,
                covered.tolist(),
                [True] * len(tokens),
                "prefix-reruns" if tokens else "none",
                attr.completeness() if tokens else _zero_completeness(),
            )  # fmt: skip
        )
    return out


def explain_model(model, texts: Sequence[str], method: str | None = None, steps: int = 16):
    """Explain with whatever classifier ``rnnlab.load`` returned (recurrent or linear).

    ``method`` None picks the model's own: integrated gradients for a
    recurrent classifier (it has ``net.forward_embedded``), the exact split
    for a linear one (it has ``coef_`` and a ``vectorizer``; only None or
    "exact"). Other models (tagger, seq2seq, generator) raise RnnlabError.
    """
    if hasattr(model, "coef_") and hasattr(model, "vectorizer"):  # LinearTextClassifier
        if method not in (None, "exact"):
            raise RnnlabError(
                f"a linear model is explained exactly from its coefficients; method {method!r} "
                "applies to recurrent models (leave it out)"
            )
        return explain_linear(model, texts)
    if hasattr(getattr(model, "net", None), "forward_embedded") and hasattr(model, "vocab"):
        return explain_classifier(model, texts, method or "ig", steps)
    raise RnnlabError(
        f"explanations are for text classifiers (recurrent or linear); got {type(model).__name__}"
    )


def explain_page(
    model, texts: Sequence[str], explanations: Sequence[dict], layer: int = 0,
    memory_texts: int = MEMORY_TEXTS,
) -> str:  # fmt: skip
    """The ``--html`` page: :func:`render_html` plus, for an LSTM, the memory view
    (layer ``layer``, forward direction) of the first ``memory_texts`` texts."""
    from rnnlab.explain.memory import memory_view
    from rnnlab.explain.render import render_html

    rnn = getattr(getattr(model, "net", None), "rnn", None)
    memory = []
    if rnn is not None and rnn.cell == "lstm":
        memory = [
            memory_view(model, text, layer) if any(t["read"] for t in e["tokens"]) else None
            for text, e in zip(texts[:memory_texts], explanations, strict=False)
        ]
    name = model.path.name if getattr(model, "path", None) else type(model).__name__
    return render_html(explanations, memory, title=f"rnnlab explain: {name}")


def _zero_completeness() -> dict[str, float]:
    return {"sum_attributions": 0.0, "f_x_minus_f_baseline": 0.0, "relative_error": 0.0}


def _result(
    pred: dict, method: str, unit: str, tokens: list[str], attributions, trajectory, known,
    read, kind: str, completeness: dict,
) -> dict[str, Any]:  # fmt: skip
    rows = [
        {
            "token": tok,
            "attribution": round(float(a), 6),
            "trajectory": None if p is None else round(float(p), 6),
            "known": bool(k),
            "read": bool(r),
        }
        for tok, a, p, k, r in zip(tokens, attributions, trajectory, known, read, strict=True)
    ]
    return {
        "label": pred["label"],
        "score": float(pred["score"]),
        "target": pred["label"],
        "method": method,
        "unit": unit,
        "tokens": rows,
        "trajectory_kind": kind,
        "completeness": {
            k: v if isinstance(v, int) else round(float(v), 6) for k, v in completeness.items()
        },
        "known_share": round(float(np.mean(known)), 6) if tokens else 0.0,
    }
