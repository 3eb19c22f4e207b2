"""``rnnlab serve``: prediction over HTTP (see :mod:`rnnlab.serve`)."""

from __future__ import annotations

from pathlib import Path

import typer

from rnnlab.cli.common import app, friendly


@app.command()
@friendly
def serve(
    model: Path | None = typer.Argument(
        None, help="Model directory (default: the bundled IMDB sentiment model)."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    backend: str = typer.Option("auto", help="auto, onnx or torch."),
) -> None:
    """Serve predictions over HTTP: POST /predict {"texts": [...]}, GET /health, GET /model."""
    import uvicorn

    from rnnlab import load
    from rnnlab.serve import create_app

    clf = load(model, backend=backend)
    typer.echo(f"serving {clf.path} ({clf.backend}) on http://{host}:{port}", err=True)
    uvicorn.run(create_app(clf), host=host, port=port, log_level="warning")
