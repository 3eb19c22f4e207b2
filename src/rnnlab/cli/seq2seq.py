"""``rnnlab seq2seq train | evaluate | translate | dates``: the encoder-decoder (N != M).

Every default lives in the library: ``Seq2SeqTextConfig`` (text),
``Seq2SeqConfig`` (model), ``rnnlab.tasks.seq2seq.DEFAULT_TRAIN`` (train), and
the decoding functions' ``beam_size``. An option left out is ``None`` and is
not passed on, so the library's value applies; the "(default: ...)" in the help
texts repeats them for reading, and a test keeps it true.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from rnnlab.cli.common import (
    app,
    build_configs,
    device_option,
    friendly,
    predict_stream,
    progress_wanted,
    quiet_option,
    resume_option,
    stream_inputs,
)

seq2seq_app = typer.Typer(
    help="Encoder-decoder models (input length != output length): Spanish dates in words "
    "-> ISO dates, word forms -> lemmas, or any parallel TSV (e.g. Tatoeba translations).",
    no_args_is_help=True,
)
app.add_typer(seq2seq_app, name="seq2seq")

DATA_HELP = (
    "dates[:N] (N generated Spanish dates -> ISO, default 20000), "
    "lemmas:PATH[:SPLIT] (form -> lemma pairs of a CoNLL-U file or UD .tar.gz), "
    "or a TSV file of source<TAB>target lines."
)


def _configs(config_file: Path | None, overrides: dict[str, dict[str, Any]]):
    """Configs from seq2seq defaults, then a JSON file, then explicit flags (None = not given)."""
    from rnnlab.models.seq2seq import Seq2SeqConfig
    from rnnlab.tasks.seq2seq import DEFAULT_TRAIN, Seq2SeqTextConfig

    sections = {"text": Seq2SeqTextConfig, "model": Seq2SeqConfig, "train": DEFAULT_TRAIN}
    return build_configs(config_file, overrides, sections)


def _beam(beam: int | None) -> dict[str, int]:
    """``beam_size`` for the library call when --beam was given (else its default applies)."""
    return {} if beam is None else {"beam_size": beam}


def _fmt(m: dict[str, Any]) -> str:
    bleu = "" if m.get("bleu") is None else f"  bleu {m['bleu']:.2f}"
    return f"n {m['n']}  exact {m['exact_match']:.4f}  cer {m['cer']:.4f}{bleu}"


@seq2seq_app.command("train")
@friendly
def train(
    data: str = typer.Option(..., "--data", "-d", help=f"Training pairs: {DATA_HELP}"),
    out: Path = typer.Option(..., "--out", "-o", help="Model directory to write."),
    test_data: str | None = typer.Option(
        None, help="Held-out pairs decoded once after training (same forms as --data)."
    ),
    val_data: str | None = typer.Option(
        None, help="Validation pairs for early stopping; without it, a share of --data is held out."
    ),
    config: Path | None = typer.Option(
        None, help="JSON file with sections text, model, train; explicit flags override it."
    ),
    level: str | None = typer.Option(None, help="char or word tokens. (default: char)"),
    attention: str | None = typer.Option(
        None, help="none, bahdanau (additive) or luong (general). (default: bahdanau)"
    ),
    cell: str | None = typer.Option(None, help="gru, lstm or rnn. (default: gru)"),
    hidden: int | None = typer.Option(
        None, help="Encoder units per direction; the decoder has K times as many. (default: 128)"
    ),
    embedding_dim: int | None = typer.Option(None, help="Token embedding size. (default: 64)"),
    layers: int | None = typer.Option(None, help="Stacked encoder layers. (default: 1)"),
    bidirectional: bool | None = typer.Option(
        None,
        "--bidirectional/--unidirectional",
        help="Encoder directions. (default: --bidirectional)",
    ),
    dropout: float | None = typer.Option(None, help="Dropout rate. (default: 0.1)"),
    max_output_len: int | None = typer.Option(
        None, help="Longest output, in tokens. (default: 64)"
    ),
    epochs: int | None = typer.Option(None, help="Maximum epochs (early stopping). (default: 20)"),
    batch_size: int | None = typer.Option(None, help="Batch size. (default: 64)"),
    lr: float | None = typer.Option(None, help="Adam learning rate. (default: 0.003)"),
    lr_decay: float | None = typer.Option(None, help="LR factor per epoch. (default: 0.9)"),
    patience: int | None = typer.Option(
        None, help="Worse-than-best validation epochs tolerated. (default: 2)"
    ),
    seed: int | None = typer.Option(
        None, help="Random seed (also of generated dates). (default: 0)"
    ),
    threads: int | None = typer.Option(None, help="CPU threads, 0 = all. (default: 0)"),
    beam: int | None = typer.Option(
        None, help="Beam size for the final validation/test decoding. (default: 1, greedy)"
    ),
    device: str | None = device_option(),
    quiet: bool = quiet_option(),
    resume: bool = resume_option(),
) -> None:
    """Train an encoder-decoder and write its model directory.

    Examples:

      rnnlab seq2seq train --data dates:20000 --test-data dates:2000 --out models/dates

      rnnlab seq2seq train --data lemmas:ud_english_ewt_v2.15.tar.gz
      --val-data lemmas:ud_english_ewt_v2.15.tar.gz:dev --out models/lemmas

      rnnlab seq2seq train --data spa.txt --level word --out models/spa
    """
    from rnnlab.tasks.seq2seq import train_seq2seq

    cfg = _configs(
        config,
        {
            "text": {"level": level},
            "model": {
                "cell": cell,
                "attention": attention,
                "hidden_size": hidden,
                "embedding_dim": embedding_dim,
                "num_layers": layers,
                "bidirectional": bidirectional,
                "dropout": dropout,
                "max_output_len": max_output_len,
            },
            "train": {
                "epochs": epochs,
                "batch_size": batch_size,
                "lr": lr,
                "lr_decay": lr_decay,
                "patience": patience,
                "seed": seed,
                "threads": threads,
                "device": device,
            },
        },
    )
    result = train_seq2seq(
        data,
        out,
        test_data=test_data,
        val_data=val_data,
        text=cfg["text"],
        model=cfg["model"],
        training=cfg["train"],
        **_beam(beam),
        progress=not quiet and sys.stderr.isatty(),
        log=(lambda _msg: None) if quiet else (lambda msg: typer.echo(msg, err=True)),
        resume=resume,
    )
    for split in ("validation", "test"):
        if split in result.metrics:
            typer.echo(f"{split}: {_fmt(result.metrics[split])}")
    typer.echo(f"model: {result.out}")


@seq2seq_app.command("evaluate")
@friendly
def evaluate(
    model: Path = typer.Argument(..., help="Model directory written by `rnnlab seq2seq train`."),
    data: str = typer.Option(..., "--data", "-d", help=f"Pairs to score: {DATA_HELP}"),
    beam: int | None = typer.Option(None, help="Beam size. (default: 1, greedy decoding)"),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Exact match, character error rate and (word level) BLEU on held-out pairs.

    For dates:N the pairs are generated so that none repeats a training source
    of a model trained on dates. lemmas: reads every token of the split (test
    unless :SPLIT is given).
    """
    from rnnlab.tasks.seq2seq import evaluate as run

    metrics = run(model, data, **_beam(beam))
    if as_json:
        typer.echo(json.dumps(metrics, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{_fmt(metrics)}  beam {metrics['beam_size']}")
    for e in metrics["errors"][:5]:
        typer.echo(f"  {e['source']!r} -> {e['output']!r} (expected {e['reference']!r})")


@seq2seq_app.command("translate")
@friendly
def translate(
    model: Path = typer.Argument(..., help="Model directory written by `rnnlab seq2seq train`."),
    texts: list[str] | None = typer.Argument(None, help="Texts to translate."),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Texts to translate, one per line; - is standard input."
    ),
    beam: int | None = typer.Option(None, help="Beam size. (default: 1, greedy decoding)"),
    as_json: bool = typer.Option(
        False,
        "--json",
        help='Print one {"line", "source", "translation", "score"} JSON object per input line.',
    ),
    progress: bool | None = typer.Option(
        None,
        "--progress/--no-progress",
        help="Progress bar on stderr; without either flag, shown when stderr is a terminal.",
    ),
) -> None:
    """Translate texts with a trained encoder-decoder, one output line per input.

    Texts come from the arguments, from --file, or from standard input (one
    per line) when neither is given. Output line i answers input line i (a
    blank line gets an empty one); input is read and translated 512 lines at
    a time, each chunk's output flushed. The score is the model's
    log-probability of the output.
    """
    from rnnlab.tasks.seq2seq import load

    inputs = stream_inputs(list(texts or []), file, None, "translate", tables=False)
    translator = load(model)
    strip = not texts  # lines read from a file or stdin lose their surrounding spaces

    def translate_chunk(batch: list[str]) -> list[dict[str, Any]]:
        return translator.predict([t.strip() for t in batch] if strip else batch, **_beam(beam))

    def render(number: int, text: str, res: dict[str, Any] | None) -> str:
        if not as_json:
            return ("" if res is None else res["translation"]) + "\n"
        row = {"line": number, "source": text.strip() if strip else text}
        if res is None:
            row.update(translation=None, score=None, reason="empty text")
        else:
            row.update(translation=res["translation"], score=res["score"])
        return json.dumps(row, ensure_ascii=False) + "\n"

    predict_stream(inputs, translate_chunk, render, progress=progress_wanted(progress))


@seq2seq_app.command("dates")
@friendly
def dates(
    n: int = typer.Option(1000, "--n", help="Number of pairs (distinct sources)."),
    out: Path = typer.Option(..., "--out", "-o", help="TSV file to write (source<TAB>ISO date)."),
    seed: int = typer.Option(0, help="Random seed: same seed, same pairs."),
    exclude: Path | None = typer.Option(
        None, help="A TSV whose sources must not be repeated (e.g. the training file)."
    ),
) -> None:
    """Write generated Spanish dates in words and their ISO dates as a parallel TSV.

    Example: rnnlab seq2seq dates --n 2000 --seed 1 --exclude train.tsv --out test.tsv
    """
    from rnnlab.data.dates import generate_dates
    from rnnlab.data.parallel import read_parallel_tsv, write_parallel_tsv

    avoid = {s for s, _ in read_parallel_tsv(exclude)} if exclude is not None else set()
    pairs = generate_dates(n, seed, exclude=avoid)
    write_parallel_tsv(pairs, out)
    typer.echo(f"wrote {len(pairs)} pairs to {out}")
