"""What every ``rnnlab`` command module shares: the Typer app, error handling,
configuration from defaults + a JSON file + flags, and reading input texts.

Command modules import from here and never from each other.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import typer

from rnnlab.version import __version__
from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig, TrainConfig
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


SECTIONS = {
    "text": TextConfig,
    "embedding": EmbeddingConfig,
    "model": ModelConfig,
    "train": TrainConfig,
}


def build_configs(
    config_file: Path | None,
    overrides: dict[str, dict[str, Any]],
    sections: dict[str, Any] | None = None,
):
    """Configs from defaults, then a JSON file, then explicit flags (``None`` = not given).

    ``sections`` maps a section name to a config class (its defaults apply) or
    to a config instance (its values are the defaults). It defaults to the
    recurrent classifier's (text, embedding, model, train); ``rnnlab train``
    adds ``linear``; ``rnnlab tag`` and ``rnnlab seq2seq`` pass their own.
    """
    sections = SECTIONS if sections is None else sections
    classes = {n: c if isinstance(c, type) else type(c) for n, c in sections.items()}
    data: dict[str, dict[str, Any]] = {
        name: {} if isinstance(c, type) else c.to_dict() for name, c in sections.items()
    }
    if config_file is not None:
        try:
            loaded = json.loads(Path(config_file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RnnlabError(f"config file not found: {config_file}") from None
        except json.JSONDecodeError as exc:
            raise RnnlabError(f"config file {config_file} is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise RnnlabError(f"config file {config_file} must hold a JSON object")
        unknown = sorted(set(loaded) - set(sections))
        if unknown:
            raise RnnlabError(
                f"config file {config_file}: unknown section(s) {', '.join(unknown)}; "
                f"known: {', '.join(sections)}"
            )
        for name, values in loaded.items():
            if not isinstance(values, dict):
                raise RnnlabError(f"config file {config_file}: section {name!r} must be an object")
            data[name].update(values)
    for name, values in overrides.items():
        data[name].update({k: v for k, v in values.items() if v is not None})
    try:
        return {name: cls.from_dict(data[name]) for name, cls in classes.items()}
    except TypeError as exc:
        raise RnnlabError(f"bad configuration value: {exc}") from None


def gather_texts(
    args: list[str], file: Path | None, text_col: str | None, what: str, tables: bool = True
) -> list[str]:
    """The texts a command works on: its TEXT arguments, ``--file``, or standard input.

    ``what`` names the action in error messages ("classify", "tag", ...).
    ``tables=False`` reads a .tsv/.csv ``--file`` as plain lines.
    """
    if args and file is not None:
        raise RnnlabError("give texts as arguments or with --file, not both")
    if args:
        return list(args)
    if file is None and sys.stdin.isatty():
        raise RnnlabError(
            f"no text to {what}: pass TEXT arguments, --file PATH, or pipe text on standard input"
        )
    texts = read_inputs(file, text_col, tables)
    if not texts:
        raise RnnlabError(f"no text to {what}: the input is empty")
    return texts


def read_inputs(file: Path | None, text_col: str | None, tables: bool = True) -> list[str]:
    """Non-empty lines of ``file`` (or stdin for None / "-"), or a table's text column."""
    from rnnlab.data import load_texts

    if file is None or str(file) == "-":
        data = sys.stdin.read()
        return [line for line in data.splitlines() if line.strip()]
    if tables and file.suffix.lower() in (".csv", ".tsv", ".tab", ".jsonl", ".ndjson"):
        return load_texts(file, text_col or "text")
    if not file.is_file():
        raise RnnlabError(f"input file not found: {file}")
    try:
        data = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        raise RnnlabError(
            f"{file} line {line}: not valid UTF-8; re-save the file as UTF-8"
        ) from None
    return [line for line in data.splitlines() if line.strip()]
