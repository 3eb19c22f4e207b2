"""``rnnlab serve``: the web page and the JSON API over HTTP (see :mod:`rnnlab.serve`)."""

from __future__ import annotations

from pathlib import Path

import typer

from rnnlab.cli.common import app, friendly
from rnnlab.serve.limits import ServeLimits

D = ServeLimits()  # the library's defaults, shown in --help


@app.command()
@friendly
def serve(
    model: Path | None = typer.Argument(
        None, help="Model directory (default: the bundled IMDB sentiment model)."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port to listen on (0: any free one)."),
    backend: str = typer.Option("auto", help="auto, onnx or torch."),
    api_key: str | None = typer.Option(
        None,
        envvar="RNNLAB_API_KEY",
        show_default=False,
        help="Require this key (header 'Authorization: Bearer KEY' or 'X-API-Key: KEY') "
        "everywhere but /health, the page and /docs. Prefer the environment variable: "
        "a flag shows in the process list.",
    ),
    max_body_bytes: int | None = typer.Option(
        None, show_default=False, help=f"Largest request body in bytes [{D.max_body_bytes:,}]."
    ),
    max_texts: int | None = typer.Option(
        None, show_default=False, help=f"Texts per /predict request [{D.max_texts:,}]."
    ),
    max_text_chars: int | None = typer.Option(
        None, show_default=False, help=f"Characters per text [{D.max_text_chars:,}]."
    ),
    max_explain_texts: int | None = typer.Option(
        None, show_default=False, help=f"Texts per /explain request [{D.max_explain_texts}]."
    ),
    concurrency: int | None = typer.Option(
        None, show_default=False, help=f"Model calls run at once, in threads [{D.concurrency}]."
    ),
    graceful_timeout: int | None = typer.Option(
        None,
        show_default=False,
        help=f"Seconds to let running requests finish on shutdown [{D.graceful_timeout_s}].",
    ),
) -> None:
    """Serve a web page (/) and an API: POST /predict and /explain {"texts": [...]},
    GET /model, /health, /metrics; API docs at /docs. Limits: docs/serving.md."""
    from rnnlab import load
    from rnnlab.serve import bind_socket, create_app, run_server

    given = {
        "max_body_bytes": max_body_bytes,
        "max_texts": max_texts,
        "max_text_chars": max_text_chars,
        "max_explain_texts": max_explain_texts,
        "concurrency": concurrency,
        "graceful_timeout_s": graceful_timeout,
    }
    limits = ServeLimits(**{k: v for k, v in given.items() if v is not None})
    sock = bind_socket(host, port)  # fails here, before loading anything, if the port is taken
    try:
        loaded = load(model, backend=backend)
        web = create_app(loaded, limits, api_key=api_key)
        port = sock.getsockname()[1]
        kind = web.state.served.kind
        typer.echo(
            f"serving {loaded.path} ({kind}, {getattr(loaded, 'backend', 'torch')}) on "
            f"http://{host}:{port}/ (API docs /docs)"
            + ("; API key required" if api_key is not None else ""),
            err=True,
        )
        del loaded  # the app holds the model and releases it on shutdown
        run_server(web, sock, limits.graceful_timeout_s)
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
        pass
    finally:
        sock.close()
    typer.echo("stopped", err=True)
