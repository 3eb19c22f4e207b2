"""What every ``rnnlab`` command module shares: the Typer app, error handling,
configuration from defaults + a JSON file + flags, and reading input texts.

Command modules import from here and never from each other.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from rnnlab.errors import RnnlabError
from rnnlab.version import __version__

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


from rnnlab.recipes import SECTIONS  # noqa: E402  (the recurrent classifier's sections)


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


# --------------------------------------------------------------------------- input texts

CHUNK = 512  # texts predicted, written and flushed at a time by the streaming commands


@dataclass
class Inputs:
    """The texts a command works on, read lazily: iterate for ``(number, text)``.

    ``number`` is the 1-based line of a plain-text file or of standard input,
    the line where a row starts in a CSV/TSV/JSONL file, or the position of a
    TEXT argument. Every line is yielded, blank ones too (as they are), so
    that output ``i`` can answer input ``i``. ``total`` is the size to
    expect (bytes of a file, count of arguments; None for standard input) and
    ``done()`` how much has been read, in the same unit, for a progress bar.
    """

    items: Iterable[tuple[int, str]]
    name: str
    total: int | None = None
    done: Callable[[], int] = field(default=lambda: 0)

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return iter(self.items)


def stream_inputs(
    args: list[str], file: Path | None, text_col: str | None, what: str, tables: bool = True
) -> Inputs:
    """The texts of TEXT arguments, ``--file`` or standard input, as a lazy stream.

    Only a line feed (or CRLF) ends a line: U+2028, U+0085 or a form feed are
    part of a text. Bytes that are not UTF-8 are refused, naming the file (or
    ``<stdin>``) and the line. ``tables=False`` reads a .tsv/.csv ``--file``
    as plain lines. ``what`` names the action in error messages. The first
    text is read here, so an empty input (or a bad first line) fails before
    any model is loaded.
    """
    from rnnlab.data.tabular import TABLE_FORMATS, ByteLines, iter_lines, iter_table_texts

    if args and file is not None:
        raise RnnlabError("give texts as arguments or with --file, not both")
    if args:
        texts = list(args)
        count = {"n": 0}

        def numbered() -> Iterator[tuple[int, str]]:
            for count["n"], text in enumerate(texts, 1):
                yield count["n"], text

        return _peeked(Inputs(numbered(), "<arguments>", len(texts), lambda: count["n"]), what)
    if file is None or str(file) == "-":
        if file is None and sys.stdin.isatty():
            raise RnnlabError(
                f"no text to {what}: pass TEXT arguments, --file PATH, or pipe text on "
                "standard input"
            )
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:  # a text stream without bytes underneath: encode what it gives
            stdin = (line.encode("utf-8", "surrogateescape") for line in sys.stdin)
        lines = ByteLines(stdin)
        return _peeked(
            Inputs(iter_lines(lines, "<stdin>"), "<stdin>", None, lambda: lines.bytes_read), what
        )
    if not file.is_file():
        what_is = "is a folder" if file.is_dir() else "not found"
        raise RnnlabError(f"input file {what_is}: {file}; give a text file with one text per line")
    try:
        fh = open(file, "rb")  # noqa: SIM115 - closed when the stream ends (see _closing)
    except OSError as exc:
        raise RnnlabError(f"cannot read {file}: {exc.strerror or exc}") from None
    lines = ByteLines(fh)
    suffix = file.suffix.lower()
    if tables and suffix in TABLE_FORMATS:
        items = iter_table_texts(lines, str(file), suffix, text_col or "text")
    else:
        items = iter_lines(lines, str(file))
    size = os.fstat(fh.fileno()).st_size
    return _peeked(
        Inputs(_closing(items, fh), str(file), size or None, lambda: lines.bytes_read), what
    )


def _closing(items: Iterator[tuple[int, str]], fh) -> Iterator[tuple[int, str]]:
    with fh:
        yield from items


def _peeked(inputs: Inputs, what: str) -> Inputs:
    """``inputs`` with its first text read: an empty input is an error before any work."""
    it = iter(inputs.items)
    first = next(it, None)
    if first is None:
        where = "" if inputs.name in ("<stdin>", "<arguments>") else f" ({inputs.name} is empty)"
        raise RnnlabError(
            f"no text to {what}: the input is empty{where}; give one text per line "
            "(or TEXT arguments)"
        )
    inputs.items = itertools.chain([first], it)
    return inputs


def gather_texts(
    args: list[str], file: Path | None, text_col: str | None, what: str, tables: bool = True
) -> list[str]:
    """The non-blank texts of :func:`stream_inputs`, in memory (for small inputs only).

    Commands that answer each input line stream instead (see
    :func:`predict_stream`), keeping blank lines so that outputs line up.
    """
    texts = [text for _, text in stream_inputs(args, file, text_col, what, tables)]
    if not args:
        texts = [t for t in texts if t.strip()]
    if not texts:
        raise RnnlabError(f"no text to {what}: the input is empty")
    return texts


def progress_wanted(flag: bool | None) -> bool:
    """``--progress/--no-progress``, default: a bar when stderr is a terminal."""
    return sys.stderr.isatty() if flag is None else flag


def predict_stream(
    inputs: Inputs,
    predict: Callable[[list[str]], Sequence[Any]],
    render: Callable[[int, str, Any], str],
    progress: bool = False,
    chunk: int = CHUNK,
) -> int:
    """Answer every input text in order, ``chunk`` texts at a time; return how many.

    ``predict`` gets the non-blank texts of a chunk and returns one result per
    text; ``render(number, text, result)`` returns the output line(s) of one
    input (``result`` is None for a blank one). Each chunk's output is written
    and flushed before the next chunk is read, so memory does not grow with
    the input and a run killed half-way leaves whole lines of answers.
    """
    n = 0
    with _progress_bar(inputs, progress) as update:
        for batch in _chunks(inputs, chunk):
            todo = [text for _, text in batch if text.strip()]
            results = iter(predict(todo) if todo else ())
            out = [
                render(number, text, next(results) if text.strip() else None)
                for number, text in batch
            ]
            typer.echo("".join(out), nl=False)  # click flushes after each echo
            n += len(batch)
            update(n)
    return n


def _chunks(items: Iterable[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


@contextlib.contextmanager
def _progress_bar(inputs: Inputs, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (rate, and ETA when the size is known) -> update(n)."""
    if not enabled:
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[texts]} texts, {task.fields[rate]}/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    start = time.perf_counter()
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(inputs.name, total=inputs.total, texts=0, rate="-")

        def update(n: int) -> None:
            rate = n / max(time.perf_counter() - start, 1e-9)
            bar.update(task, completed=inputs.done(), texts=n, rate=f"{rate:,.0f}")

        yield update


def resume_option() -> Any:
    """``--resume``, as every training command has it."""
    return typer.Option(
        False,
        "--resume",
        help="Continue a killed or interrupted run (same command) from its newest valid "
        "checkpoint in OUT.checkpoints; the result is bit-identical to an uninterrupted run.",
    )


def device_option(training: bool = True) -> Any:
    """``--device auto|cpu|cuda|cuda:N``, as every training command (and the recurrent
    prediction commands) has it.

    A training command passes None on when the flag is left out, so TrainConfig's
    default (or the config file's ``train.device``) applies; a prediction command
    gets ``"auto"``. A value given is checked while the flags are parsed
    (:func:`rnnlab.training.distributed.resolve_device`), so ``--device cuda``
    without a GPU is a one-line error before any data is read.
    """
    if training:
        return typer.Option(
            None,
            "--device",
            callback=_check_device,
            help="Where to train: auto (the default: a CUDA GPU when torch sees one, else "
            "the CPU), cpu, cuda or cuda:N. Under torchrun each process takes its own GPU. "
            "The model directory is the same either way (weights saved from the CPU).",
        )
    return typer.Option(
        "auto",
        "--device",
        callback=_check_device,
        help="Where the network runs: auto (a CUDA GPU when torch sees one, else the CPU), "
        "cpu, cuda or cuda:N.",
    )


def _check_device(value: str | None) -> str | None:
    if value in (None, "auto", "cpu"):  # always valid: no torch import just to parse flags
        return value
    from rnnlab.training.distributed import resolve_device

    try:
        resolve_device(value)
    except RnnlabError as exc:
        fail(str(exc))
    return value


def quiet_option() -> Any:
    """``--quiet``, as every training command has it."""
    return typer.Option(False, "--quiet", "-q", help="No progress bars or log lines.")


def path_kind(arg: str) -> str:
    """``"dir"``, ``"file"`` or ``"none"`` for a command-line argument that may be a path.

    A review given as an argument can be longer than a file name may be (or
    hold a NUL byte): that is "none", never an OSError.
    """
    try:
        path = Path(arg).expanduser()
        return "dir" if path.is_dir() else "file" if path.is_file() else "none"
    except (OSError, ValueError):
        return "none"


def split_model_argument(args: list[str]) -> tuple[Path | None, list[str]]:
    """``(model directory or None, texts)`` from ``rnnlab predict``/``explain`` arguments.

    Used when no ``--model`` is given.

    The rule (also in --help): a first argument that is a folder is the model;
    one that looks like a path -- it contains ``/`` or ``\\``, starts with
    ``~``, or is a file -- but is no folder is an error naming it; any other
    single word followed by more texts is classified as text, with a warning.
    """
    first = args[0]
    kind = path_kind(first)
    if kind == "dir":
        return Path(first).expanduser(), args[1:]
    if any(c.isspace() for c in first):
        return None, args  # a sentence, not a path
    if kind == "file":
        raise RnnlabError(
            f"{first} is a file, not a model directory; to classify its lines use "
            f"--file {first}, or give a model with --model DIR"
        )
    if "/" in first or "\\" in first or first.startswith("~"):
        raise RnnlabError(
            f"model directory not found: {first}; give an existing model directory "
            "(or --model DIR), or, to classify it as text, pipe it on standard input"
        )
    if len(args) > 1:
        typer.echo(
            f"warning: '{first}' is not a model directory, so it is classified as a text "
            "with the bundled model; to use a model, give its folder (or --model DIR)",
            err=True,
        )
    return None, args
