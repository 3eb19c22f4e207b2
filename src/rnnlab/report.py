"""The training report: a self-contained ``report.html`` for any model directory.

:func:`write_report` reads what a model directory holds and writes
``report.html`` beside it -- one file, CSS inline, plots as base64 PNG, so it
opens without a network (or without rnnlab)::

    from rnnlab.report import write_report
    write_report("models/imdb")          # -> models/imdb/report.html
    # or: rnnlab report models/imdb

What it shows, from what is there (a section whose source is missing says so):

- **settings**: every section of ``config.json`` (text, embedding, model,
  train, data, ...), versions and the training time (``metrics["timing"]``);
- **learning curves**: loss and accuracy per epoch, train and validation
  (``history.jsonl``), the kept epoch marked;
- **scores** by ``kind``:

  - ``classifier``, ``linear-classifier``: accuracy, precision, recall, F1 and
    ROC-AUC per split, the confusion matrix, per-class scores, and the ROC and
    calibration curves when training stored them
    (``metrics["validation"]["curves"]``, from
    :func:`rnnlab.training.metrics.classifier_curves`; older directories, the
    bundled model's among them, have none); linear models also list their
    heaviest n-grams;
  - ``tagger``: accuracy, unknown-word accuracy, per-tag precision/recall/F1,
    the most confused tag pairs and the confusion matrix;
  - ``seq2seq``: exact match, character error rate, BLEU and sample mistakes;
  - ``generator``: perplexity and next-word accuracy;

- **most confidently wrong examples** (``examples.json``, written at training
  time with :func:`worst_examples`): the validation texts the classifier got
  wrong with the highest confidence, words coloured by attribution.

``report.html`` is not among the files whose sha256 ``config.json`` records:
it is derived from them and rewritten in place (temporary file, then
``os.replace``) by ``rnnlab report``.
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab.errors import ArtifactError, RnnlabError

REPORT = "report.html"
EXAMPLES = "examples.json"
CLASSIFIER_KINDS = ("classifier", "linear-classifier")


# --------------------------------------------------------------------------- examples


def worst_examples(
    clf, texts: Sequence[str], labels: Sequence[int | str], k: int = 10
) -> list[dict[str, Any]]:
    """The ``k`` most confidently wrong predictions, each with its explanation.

    Parameters
    ----------
    clf : TextClassifier or LinearTextClassifier
    texts : list of str
        Labeled texts the model did not train on (the validation split).
    labels : list of int or str
        True labels: indices into ``clf.label_names`` or the names themselves.
    k : int
        How many to return (fewer when fewer are wrong).

    Returns
    -------
    list of dict
        ``{"index", "text", "true", "predicted", "score", "explanation"}``,
        most confident first; ``explanation`` as :func:`rnnlab.explain.explain_model`
        gives it. Training stores the list as ``examples.json``.
    """
    from rnnlab.explain import explain_model
    from rnnlab.explain.inputs import check_texts

    texts = check_texts(texts)
    names = list(clf.label_names)
    if len(labels) != len(texts):
        raise RnnlabError(f"{len(texts)} texts but {len(labels)} labels; give one label per text")
    try:
        y = np.array([names.index(v) if isinstance(v, str) else int(v) for v in labels])
    except ValueError:
        raise RnnlabError(f"labels must be indices or names among {names}") from None
    if len(y) and (y.min() < 0 or y.max() >= len(names)):
        raise RnnlabError(f"label indices must be in 0..{len(names) - 1}")
    if not texts or k < 1:
        return []
    probs = clf.predict_proba(texts)  # (N, C)
    pred = probs.argmax(axis=1)
    confidence = probs[np.arange(len(texts)), pred]
    wrong = np.flatnonzero(pred != y)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:k]
    explanations = explain_model(clf, [texts[i] for i in order])
    return [
        {
            "index": int(i),
            "text": texts[i],
            "true": names[int(y[i])],
            "predicted": names[int(pred[i])],
            "score": float(confidence[i]),
            "explanation": e,
        }
        for i, e in zip(order, explanations, strict=True)
    ]


# --------------------------------------------------------------------------- reading


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}); retrain or restore it") from None


def _read_history(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            raise ArtifactError(
                f"{path} line {n} is not valid JSON; retrain or restore it"
            ) from None
    return rows


# --------------------------------------------------------------------------- plots


def _figure(width: float, height: float, ncols: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    return fig, (list(axes) if ncols > 1 else [axes])


def _png(fig, alt: str) -> str:
    from rnnlab.explain.render import png_img

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return png_img(buf.getvalue(), alt)


def learning_curves_png(history: list[dict], best_epoch: int = 0, kind: str = "") -> str:
    """Loss and accuracy per epoch (train and validation) as an ``<img>``."""
    x = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    acc_name = {"generator": "next-word accuracy", "seq2seq": "token accuracy"}.get(
        kind, "accuracy"
    )
    fig, axes = _figure(9, 3.4, 2)
    for ax, key, title in ((axes[0], "loss", "loss"), (axes[1], "accuracy", acc_name)):
        for split, name in (("train", "train"), ("val", "validation")):
            ys = [h.get(f"{split}_{key}") for h in history]
            if any(v is not None for v in ys):
                ax.plot(x, [np.nan if v is None else v for v in ys], "o-", label=name)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle=":", label="kept")
        ax.set_xlabel("epoch")
        ax.set_xticks(x)
        ax.set_title(title)
        ax.legend()
    return _png(fig, "learning curves")


def roc_png(roc: dict) -> str:
    fig, (ax,) = _figure(4.2, 4.0)
    for name, curve in roc.items():
        if curve:
            ax.plot(curve["fpr"], curve["tpr"], label=f"{name} (AUC {curve['auc']:.4f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC (validation)")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig, "ROC curve")


def calibration_png(cal: dict) -> str:
    fig, (ax,) = _figure(4.2, 4.0)
    pts = [
        (p, o) for p, o in zip(cal["mean_predicted"], cal["observed"], strict=True) if p is not None
    ]
    if pts:
        ax.plot(*zip(*pts, strict=True), "o-", label="model")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    binary = cal["of"] != "confidence"
    ax.set_xlabel(f"predicted {cal['of']}" if binary else "confidence (top class)")
    ax.set_ylabel("observed frequency" if binary else "accuracy")
    ax.set_title(f"calibration (validation), ECE {cal['ece']:.3f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig, "calibration curve")


# --------------------------------------------------------------------------- HTML pieces


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):  # scores and rates to 4 decimals; seconds, sizes to 2 at most
        if abs(v) <= 1:
            return f"{v:.4f}"
        text = f"{v:,.2f}"
        return text.rstrip("0").rstrip(".") if v == round(v, 2) else text
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10000 else str(v)
    if isinstance(v, list | tuple):
        text = ", ".join(_fmt(x) for x in v)
        return text if len(text) <= 200 else text[:197] + "..."
    if isinstance(v, dict):
        return html.escape(json.dumps(v, ensure_ascii=False))[:300]
    return html.escape(str(v))


def kv_table(d: dict, skip: Sequence[str] = ()) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}</td></tr>"
        for k, v in d.items()
        if k not in skip
    )
    return f"<table>{rows}</table>"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def confusion_html(labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> str:
    """The confusion matrix as a table, cells shaded by their share of the row."""
    cm = np.asarray(matrix, dtype=np.float64)
    head = "".join(f"<th>{html.escape(str(n))}</th>" for n in labels)
    rows = []
    for i, name in enumerate(labels):
        total = cm[i].sum() or 1.0
        cells = "".join(
            f'<td style="background:rgba(33,102,172,{0.8 * cm[i, j] / total:.3f})'
            + (';color:#fff"' if cm[i, j] / total > 0.55 else '"')
            + f">{int(cm[i, j])}</td>"
            for j in range(len(labels))
        )
        rows.append(f"<tr><th>{html.escape(str(name))}</th>{cells}</tr>")
    return (
        '<div class="muted">rows: true label, columns: predicted</div><div class="scroll">'
        f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table></div>"
    )


def _section(title: str, body: str) -> str:
    return f'<section class="card"><h2>{html.escape(title)}</h2>{body}</section>'


def _splits(metrics: dict) -> list[tuple[str, dict]]:
    return [
        (name, metrics[name])
        for name in ("validation", "dev", "test")
        if isinstance(metrics.get(name), dict)
    ]


def _classifier_sections(metrics: dict, path: Path, config: dict) -> list[str]:
    out = []
    splits = _splits(metrics)
    if splits:
        keys = ("n", "accuracy", "precision", "recall", "f1", "roc_auc")
        rows = [[name, *(m.get(k) for k in keys)] for name, m in splits]
        avg = splits[0][1].get("average", "")
        out.append(
            _section(
                "Scores",
                table(["split", *keys], rows) + f'<div class="muted">{html.escape(avg)}</div>',
            )
        )
        name, m = splits[-1]
        if "confusion_matrix" in m:
            per_class = m.get("per_class", {})
            pc = table(
                ["class", "precision", "recall", "f1", "support"],
                [[c, *(v.get(k) for k in ("precision", "recall", "f1", "support"))]
                 for c, v in per_class.items()],
            )  # fmt: skip
            out.append(
                _section(
                    f"Confusion matrix and per-class scores ({name})",
                    '<div class="row">'
                    f"<div>{confusion_html(m['labels'], m['confusion_matrix'])}</div>"
                    f"<div>{pc}</div></div>",
                )
            )
    curves = (metrics.get("validation") or {}).get("curves")
    if curves:
        plots = []
        if any(curves.get("roc", {}).values()):
            plots.append(roc_png(curves["roc"]))
        if curves.get("calibration"):
            plots.append(calibration_png(curves["calibration"]))
        out.append(_section("ROC and calibration", f'<div class="row">{"".join(plots)}</div>'))
    else:
        out.append(
            _section(
                "ROC and calibration",
                '<p class="muted">Not stored in this model directory: it was written before '
                'training saved curve points (metrics["validation"]["curves"]). Retrain to '
                "get them; the ROC-AUC above is exact.</p>",
            )
        )
    if config.get("kind") == "linear-classifier":
        out.append(_linear_terms(path))
    return out


def _linear_terms(path: Path, k: int = 15) -> str:
    """The n-grams with the largest effective weights of a linear model."""
    from rnnlab.artifacts import read_config
    from rnnlab.models.linear import LinearTextClassifier

    try:
        clf = LinearTextClassifier.load(path, read_config(path))
    except RnnlabError as exc:
        return _section("Heaviest n-grams", f'<p class="muted">{html.escape(str(exc))}</p>')
    coef = clf.coef_ if clf.r_ is None else clf.coef_ * clf.r_  # (K, V)
    terms = clf.vectorizer.get_feature_names_out()
    names = clf.label_names
    blocks = []
    for row in range(coef.shape[0]):
        w = coef[row]
        top = np.argsort(-w)[:k]
        toward = names[1] if len(names) == 2 else names[row]
        blocks.append(table([f"toward {toward}", "weight"], [[terms[j], float(w[j])] for j in top]))
        if len(names) == 2:
            bottom = np.argsort(w)[:k]
            blocks.append(
                table([f"toward {names[0]}", "weight"], [[terms[j], float(w[j])] for j in bottom])
            )
    return _section(
        "Heaviest n-grams",
        '<div class="muted">Effective weights (NBSVM: coefficient x log-count ratio); a '
        "text's score is the sum of its features times these.</div>"
        f'<div class="row">{"".join(blocks)}</div>',
    )


def _tagger_sections(metrics: dict) -> list[str]:
    out = []
    splits = _splits(metrics)
    if splits:
        rows = [
            [name, m.get("n_tokens"), m.get("accuracy"), m.get("known_accuracy"),
             (m.get("oov") or {}).get("accuracy"), (m.get("oov") or {}).get("share"),
             m.get("macro_f1")]
            for name, m in splits
        ]  # fmt: skip
        out.append(
            _section(
                "Scores",
                table(
                    [
                        "split",
                        "tokens",
                        "accuracy",
                        "known words",
                        "unknown words",
                        "unknown share",
                        "macro F1",
                    ],
                    rows,
                ),  # fmt: skip
            )
        )
        name, m = splits[-1]
        per_tag = m.get("per_tag", {})
        tags = sorted(per_tag.items(), key=lambda kv: -kv[1].get("support", 0))
        body = table(
            ["tag", "precision", "recall", "f1", "support"],
            [[t, *(v.get(k) for k in ("precision", "recall", "f1", "support"))] for t, v in tags],
        )
        confused = m.get("confused", [])
        if confused:
            body += "<h3>Most confused (true → predicted)</h3>" + table(
                ["true", "predicted", "count"],
                [[c["true"], c["predicted"], c["count"]] for c in confused],
            )
        out.append(
            _section(f"Per-tag scores ({name})", f'<div class="row"><div>{body}</div></div>')
        )
        if "confusion_matrix" in m:
            out.append(
                _section(
                    f"Confusion matrix ({name})", confusion_html(m["labels"], m["confusion_matrix"])
                )
            )
    return out


def _seq2seq_sections(metrics: dict) -> list[str]:
    out = []
    splits = _splits(metrics)
    if splits:
        keys = ("n", "exact_match", "cer", "bleu", "beam_size", "pairs_per_second")
        out.append(
            _section("Scores", table(["split", *keys], [[n, *(m.get(k) for k in keys)]
                                                         for n, m in splits]))
        )  # fmt: skip
        name, m = splits[-1]
        errors = m.get("errors") or []
        if errors:
            out.append(
                _section(
                    f"Sample mistakes ({name})",
                    table(
                        ["source", "reference", "output"],
                        [[e.get("source"), e.get("reference"), e.get("output")] for e in errors],
                    ),
                )
            )
    return out


def _generator_sections(metrics: dict) -> list[str]:
    splits = _splits(metrics)
    if not splits:
        return []
    keys = sorted({k for _, m in splits for k, v in m.items() if isinstance(v, int | float)})
    return [
        _section(
            "Scores",
            table(["split", *keys], [[n, *(m.get(k) for k in keys)] for n, m in splits])
            + '<div class="muted">perplexity = exp(mean cross-entropy per next word); lower is '
            "better.</div>",
        )
    ]


def _examples_section(examples: list[dict]) -> str:
    from rnnlab.explain.render import legend_html, tokens_html

    if not examples:
        return _section("Most confidently wrong validation examples", "<p>None were wrong.</p>")
    cards = []
    for ex in examples:
        e = ex.get("explanation") or {}
        head = (
            f"<div><b>true {html.escape(str(ex.get('true')))}</b>, predicted "
            f'<span class="label">{html.escape(str(ex.get("predicted")))}</span>'
            f"{_fmt(ex.get('score'))}</div>"
        )
        words = (
            tokens_html(e) if e.get("tokens") else f"<p>{html.escape(str(ex.get('text', '')))}</p>"
        )
        cards.append(f'<div class="example">{head}{words}</div>')
    return _section(
        "Most confidently wrong validation examples",
        legend_html("the (wrong) predicted label") + "".join(cards),
    )


# --------------------------------------------------------------------------- the report


def render_report(model_dir: str | Path) -> str:
    """The report of ``model_dir`` as an HTML string (see the module docstring)."""
    from rnnlab.artifacts import read_config
    from rnnlab.explain.render import page

    path = Path(model_dir)
    config = read_config(path, verify=False)
    kind = config.get("kind", "?")
    metrics = _read_json(path / "metrics.json") or {}
    history = _read_history(path / "history.jsonl")
    examples = _read_json(path / EXAMPLES)

    title = f"Training report: {path.resolve().name}"
    intro = (
        f"<h1>{html.escape(title)}</h1><div class=muted>kind <b>{html.escape(kind)}</b>"
        + (f" ({html.escape(str(config['model_type']))})" if config.get("model_type") else "")
        + f" · created {html.escape(str(config.get('created', '?')))} · rnnlab "
        f"{html.escape(str(config.get('rnnlab_version', '?')))} · torch "
        f"{html.escape(str(config.get('torch_version', '?')))}</div>"
    )
    sections = [intro]
    labels = config.get("label_names") or config.get("tag_names")
    overview = {
        "labels": labels,
        "best epoch": config.get("best_epoch"),
        "stopped early": config.get("stopped_early"),
        **{k.replace("_", " "): v for k, v in (metrics.get("timing") or {}).items()},
    }
    sections.append(
        _section("Overview", kv_table({k: v for k, v in overview.items() if v is not None}))
    )
    if history:
        sections.append(
            _section(
                "Learning curves",
                learning_curves_png(history, int(config.get("best_epoch") or 0), kind)
                + table(
                    ["epoch", "train loss", "val loss", "train acc", "val acc", "lr", "seconds"],
                    [
                        [
                            h.get("epoch"),
                            h.get("train_loss"),
                            h.get("val_loss"),
                            h.get("train_accuracy"),
                            h.get("val_accuracy"),
                            h.get("lr"),
                            h.get("epoch_seconds"),
                        ]
                        for h in history
                    ],
                ),  # fmt: skip
            )
        )
    else:
        sections.append(
            _section(
                "Learning curves",
                '<p class="muted">No history.jsonl: this model is not trained by epochs '
                "(linear models are fitted in one go) or the file is missing.</p>",
            )
        )
    if kind in CLASSIFIER_KINDS:
        sections += _classifier_sections(metrics, path, config)
    elif kind == "tagger":
        sections += _tagger_sections(metrics)
    elif kind == "seq2seq":
        sections += _seq2seq_sections(metrics)
    elif kind == "generator":
        sections += _generator_sections(metrics)
    if kind in CLASSIFIER_KINDS and examples is not None:
        sections.append(_examples_section(examples))
    skip = ("files",)
    settings = [
        f"<h3>{html.escape(name)}</h3>{kv_table(value)}"
        for name, value in config.items()
        if isinstance(value, dict) and name not in skip and value
    ]
    scalars = {k: v for k, v in config.items() if not isinstance(v, dict)}
    sections.append(
        _section(
            "Settings (config.json)",
            kv_table(scalars)
            + '<div class="row">'
            + "".join(f"<div>{s}</div>" for s in settings)
            + "</div>",
        )  # fmt: skip
    )
    if config.get("files"):
        sections.append(
            _section(
                "Files (sha256 checked when loading)",
                kv_table(config["files"]),
            )
        )
    css = (
        ".row{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}"
        ".example{border-top:1px solid #eef0f4;padding:8px 0}h3{font-size:14px;margin:10px 0 4px}"
    )
    return page(title, f"<style>{css}</style>" + "".join(sections))


def write_report(model_dir: str | Path) -> Path:
    """Write ``model_dir/report.html`` (atomically: temporary file, then ``os.replace``)."""
    from rnnlab.artifacts import write_text_atomic

    path = Path(model_dir)
    text = render_report(path)
    out = path / REPORT
    write_text_atomic(out, text)
    return out
