"""The ``rnnlab`` command line: thin typed commands over the library.

Each command parses its options, calls one library function and prints.
Library errors (``RnnlabError``) become one line on stderr and exit code 1;
usage errors exit with code 2; nothing prints a traceback for a user mistake.
"""

from __future__ import annotations

import functools
import sys

import typer

from rnnlab import __version__
from rnnlab.errors import RnnlabError

app = typer.Typer(
    name="rnnlab",
    help="Recurrent neural networks on text (RNN, LSTM, GRU), in the guide's four "
    "configurations: classify texts (train/evaluate/predict/serve; many-to-one), tag tokens "
    "(tag; many-to-many), transform sequences (seq2seq; N to M), generate reviews "
    "(generate; one-to-many); plus word vectors (embed) and experiments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def friendly(func):
    """Turn library errors into one line on stderr and a non-zero exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RnnlabError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnnlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Recurrent neural networks on text."""


# Importing the command modules registers their commands on `app`.
from rnnlab.cli import (  # noqa: E402,F401
    classify,
    embed,
    experiment,
    generate,
    seq2seq,
    tag,
)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
