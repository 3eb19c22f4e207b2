"""``rnnlab explain`` and ``rnnlab report``: why a classifier decided, and a model's training report."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rnnlab.cli.common import app, friendly, gather_texts, split_model_argument


@app.command()
@friendly
def explain(
    args: list[str] | None = typer.Argument(
        None,
        help="[MODEL_DIR] TEXT... — texts to explain; a first argument that is a model "
        "directory selects the model.",
    ),
    model: Path | None = typer.Option(
        None, "--model", "-m", help="Model directory (default: the bundled IMDB sentiment model)."
    ),
    file: Path | None = typer.Option(
        None,
        "--file",
        "-f",
        help="Texts to explain: one per line, or a CSV/TSV/JSONL file with --text-col; - is stdin.",
    ),
    text_col: str | None = typer.Option(None, help="Text column when --file is a table."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print one JSON object per text: label, score, and per token the word, its "
        "attribution and the trajectory value.",
    ),
    html: Path | None = typer.Option(
        None,
        "--html",
        help="Also write a self-contained HTML page (words, trajectory chart and, for an "
        "LSTM, the memory view of the first texts).",
    ),
    method: str | None = typer.Option(
        None,
        "--method",
        help="ig (integrated gradients) or occlusion, for recurrent models; linear models "
        "are explained exactly from their coefficients. (default: ig)",
    ),
    steps: int | None = typer.Option(
        None,
        "--steps",
        help="Integrated-gradients intervals to start with; raised until the attributions "
        "are complete within 5%. (default: 16)",
    ),
    layer: int | None = typer.Option(
        None, "--layer", help="LSTM layer shown in the HTML memory view. (default: 0)"
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="CPU threads; 0 = all cores. (default: half the cores)"
    ),
) -> None:
    """Explain predictions: which words carried them and how P(label) moved while reading.

    Prints each text with its words coloured by attribution (blue toward the
    predicted label, red against it), the label, and the running probability
    as a sparkline. Texts come from the arguments, --file, or standard input.
    """
    from rnnlab.explain import explain_model
    from rnnlab.explain.explainers import explain_page

    texts = list(args or [])
    if model is None and texts:
        model, texts = split_model_argument(texts)
    texts = gather_texts(texts, file, text_col, "explain")
    clf = load_explainable(model, threads)
    explanations = explain_model(clf, texts, method, **({} if steps is None else {"steps": steps}))
    if as_json:
        for e in explanations:
            typer.echo(json.dumps(e, ensure_ascii=False))
    else:
        from rich.console import Console

        from rnnlab.explain import render_terminal

        render_terminal(explanations, Console(highlight=False))
    if html is not None:
        from rnnlab.artifacts import write_text_atomic

        write_text_atomic(html, explain_page(clf, texts, explanations, layer=layer or 0))
        typer.echo(f"wrote {html}", err=True)


def load_explainable(path: Path | None, threads: int | None):
    """``rnnlab.load`` for explaining: a classifier, a recurrent one with the torch backend.

    Explanations need the network's gradients, so a recurrent classifier is
    loaded without the onnxruntime session (its label and score then come
    from torch too). Other kinds of model are refused with a one-line error.
    """
    from rnnlab.artifacts import read_config
    from rnnlab.errors import RnnlabError
    from rnnlab.tasks import load
    from rnnlab.tasks.base import bundled_model_path

    path = Path(path) if path is not None else bundled_model_path()
    kind = read_config(path, verify=False).get("kind")
    if kind not in ("classifier", "linear-classifier"):
        raise RnnlabError(
            f"{path} holds a {kind!r} model; explanations are for text classifiers "
            "(trained with `rnnlab train`)"
        )
    return load(path, backend="torch" if kind == "classifier" else "auto", threads=threads)


@app.command()
@friendly
def report(
    model_dir: Path = typer.Argument(..., help="Model directory written by any `rnnlab` training."),
) -> None:
    """(Re)write MODEL_DIR/report.html: settings, learning curves and scores, viewable offline."""
    from rnnlab.report import write_report

    typer.echo(f"wrote {write_report(model_dir)}")
