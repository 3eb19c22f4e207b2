"""``rnnlab export``: a trained classifier as a Keras 3 model or an ONNX graph (see :mod:`rnnlab.export_keras`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from rnnlab.cli.common import app, friendly


class ExportFormat(StrEnum):
    keras = "keras"
    onnx = "onnx"


@app.command()
@friendly
def export(
    model: Path = typer.Argument(..., help="Model directory written by `rnnlab train`."),
    format: ExportFormat = typer.Option(
        ExportFormat.keras,
        "--format",
        help="keras: a Keras 3 .keras file (needs: pip install 'rnnlab\\[keras]'); "
        "onnx: an ONNX graph for onnxruntime.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        show_default=False,
        help="File to write, ending in .keras or .onnx [MODEL.keras / MODEL.onnx, beside MODEL].",
    ),
) -> None:
    """Export a recurrent classifier for use without rnnlab.

    Writes the model file and, beside it, NAME.preprocessing.json (vocabulary,
    padding, labels); docs/keras.md shows the Python that turns raw texts into
    the model's input. The export is checked against rnnlab's own predictions
    (within 1e-4) before it is written.
    """
    from rnnlab.export_keras import export_model

    out = out if out is not None else model.with_name(f"{model.name}.{format.value}")
    result = export_model(model, out, format.value)
    typer.echo(
        f"wrote {result.model} and {result.preprocessing} "
        f"(max probability difference from rnnlab: {result.max_difference:.1e})"
    )
