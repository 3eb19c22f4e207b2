"""Metrics and the plots that go with them.

Classification (scikit-learn: accuracy, P/R/F1, ROC-AUC, confusion matrix),
their plots and :func:`write_evaluation`; sequence-output metrics for seq2seq
(edit distance, exact match, CER, BLEU via sacrebleu).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, label_names: Sequence[str]
) -> dict:
    """Accuracy, precision, recall, F1, ROC-AUC and the confusion matrix.

    ``probs`` is (N, C). Binary problems report precision/recall/F1 of the
    second label (e.g. "pos") and ROC-AUC of its probability; multi-class
    problems report macro averages and one-vs-rest ROC-AUC. Per-class figures
    are included either way.
    """
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    y_pred = probs.argmax(axis=1)
    labels = list(range(len(label_names)))
    binary = len(label_names) == 2
    average = "binary" if binary else "macro"
    p, r, f, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels if not binary else None, average=average, zero_division=0
    )
    pc, rc, fc, sc = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    present = np.unique(y_true)
    auc: float | None
    try:
        if binary:
            auc = float(skm.roc_auc_score(y_true, probs[:, 1])) if len(present) == 2 else None
        else:
            auc = float(skm.roc_auc_score(y_true, probs, multi_class="ovr", labels=labels))
    except ValueError:
        auc = None
    if auc is not None and not np.isfinite(
        auc
    ):  # sklearn warns and returns nan for a missing class
        auc = None
    return {
        "n": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "roc_auc": auc,
        "average": average if not binary else f"binary (positive label: {label_names[1]})",
        "labels": list(label_names),
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "per_class": {
            name: {
                "precision": float(pc[i]),
                "recall": float(rc[i]),
                "f1": float(fc[i]),
                "support": int(sc[i]),
            }
            for i, name in enumerate(label_names)
        },
    }


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(metrics: dict, path: Path) -> None:
    plt = _pyplot()
    cm = np.asarray(metrics["confusion_matrix"])
    names = metrics["labels"]
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2.5, 1.2 * len(names) + 2))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            color = "white" if cm[i, j] > cm.max() / 2 else "black"
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color=color)
    ax.set_title(f"confusion matrix (accuracy {metrics['accuracy']:.4f})")
    fig.tight_layout()
    _save(fig, path)


def plot_history(epochs: list[dict], path: Path, best_epoch: int = 0) -> None:
    """Learning curve: loss and accuracy per epoch, train and validation."""
    plt = _pyplot()
    x = [e["epoch"] for e in epochs]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key in ((ax1, "loss"), (ax2, "accuracy")):
        ax.plot(x, [e[f"train_{key}"] for e in epochs], "o-", label="train")
        ax.plot(x, [e[f"val_{key}"] for e in epochs], "o-", label="validation")
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle=":", label="kept")
        ax.set_xlabel("epoch")
        ax.set_xticks(x)
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path: Path) -> None:
    import os

    plt = _pyplot()
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


# ------------------------------------------------------- an evaluation's files


def write_evaluation(metrics: dict, out: str | Path) -> Path:
    """Write ``metrics.json`` and ``confusion_matrix.png`` into folder ``out`` (created).

    ``metrics`` holds ``labels`` and ``confusion_matrix`` (see
    :func:`plot_confusion`); the JSON is written atomically.
    """
    import json

    from rnnlab.artifacts import write_text_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    plot_confusion(metrics, out / "confusion_matrix.png")
    return out


# ------------------------------------------------------- sequence-output metrics (seq2seq)


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance (insertions, deletions, substitutions cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def score_outputs(hypotheses: Sequence[str], references: Sequence[str], level: str) -> dict:
    """Exact match, CER (sum of edit distances / sum of reference lengths), BLEU (word level).

    CER is a corpus figure: edits summed over all pairs, divided by the
    summed reference length in characters (not a mean of per-pair rates).
    BLEU is sacrebleu's corpus BLEU for ``level="word"``, else None.
    """
    from rnnlab.errors import RnnlabError

    if len(hypotheses) != len(references):
        raise RnnlabError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    n = len(references)
    exact = sum(h == r for h, r in zip(hypotheses, references, strict=True))
    edits = sum(edit_distance(h, r) for h, r in zip(hypotheses, references, strict=True))
    chars = sum(len(r) for r in references)
    bleu = None
    if level == "word":
        import sacrebleu

        bleu = round(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score, 2)
    return {
        "n": n,
        "exact_match": exact / max(n, 1),
        "cer": edits / max(chars, 1),
        "bleu": bleu,
    }


# ------------------------------------------------------- curves for the training report


def classifier_curves(
    y_true: np.ndarray,
    probs: np.ndarray,
    label_names: Sequence[str],
    max_points: int = 200,
    bins: int = 10,
) -> dict:
    """ROC and calibration curves as JSON-ready points (for ``rnnlab.report``).

    Training stores them as ``metrics["validation"]["curves"]``, so that the
    report can draw them without keeping every example's probabilities.

    - ``roc``: ``{label: {"fpr": [...], "tpr": [...], "auc": float}}``. Two
      classes: one curve, of the second label's probability (e.g. "pos").
      More classes: one-vs-rest, one curve per class (a class absent from
      ``y_true`` gets None). Curves longer than ``max_points`` keep evenly
      spaced vertices of scikit-learn's ``roc_curve``.
    - ``calibration``: ``bins`` equal-width bins of the predicted value, with
      each bin's mean prediction, the observed frequency and the count (None
      for an empty bin), and the expected calibration error
      ``ECE = sum_b (n_b / N) |observed_b - predicted_b|``. Two classes:
      ``of = "P(<second label>)"`` against the share of that label. More
      classes: ``of = "confidence"``, the top class's probability against
      accuracy (a reliability diagram).
    """
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    probs = np.asarray(probs, dtype=np.float64)  # (N, C)
    if probs.ndim != 2 or probs.shape != (len(y_true), len(label_names)):
        raise ValueError(
            f"probs must be (N, C) = ({len(y_true)}, {len(label_names)}), got {probs.shape}"
        )
    binary = len(label_names) == 2
    roc: dict[str, dict | None] = {}
    for k in [1] if binary else range(len(label_names)):
        positive = y_true == k
        if positive.all() or not positive.any():
            roc[label_names[k]] = None
            continue
        fpr, tpr, _ = skm.roc_curve(positive, probs[:, k])
        if len(fpr) > max_points:
            keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
            fpr, tpr = fpr[keep], tpr[keep]
        roc[label_names[k]] = {
            "fpr": np.round(fpr, 5).tolist(),
            "tpr": np.round(tpr, 5).tolist(),
            "auc": float(skm.roc_auc_score(positive, probs[:, k])),
        }
    if binary:
        of, value, hit = f"P({label_names[1]})", probs[:, 1], (y_true == 1)
    else:
        of, value, hit = "confidence", probs.max(axis=1), (probs.argmax(axis=1) == y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, value, side="right") - 1, 0, bins - 1)  # (N,)
    predicted, observed, count = [], [], []
    ece = 0.0
    for b in range(bins):
        in_bin = which == b
        n = int(in_bin.sum())
        count.append(n)
        if n == 0:
            predicted.append(None)
            observed.append(None)
            continue
        p, o = float(value[in_bin].mean()), float(hit[in_bin].mean())
        predicted.append(round(p, 5))
        observed.append(round(o, 5))
        ece += n / len(y_true) * abs(o - p)
    return {
        "roc": roc,
        "calibration": {
            "of": of,
            "bin_edges": np.round(edges, 5).tolist(),
            "mean_predicted": predicted,
            "observed": observed,
            "count": count,
            "ece": ece,
        },
    }
