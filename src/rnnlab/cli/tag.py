"""``rnnlab tag train | evaluate | predict``: the many-to-many aligned sequence tagger.

Every default lives in the library: ``TaggerConfig`` (model) and
``rnnlab.tasks.tag.DEFAULT_TRAINING`` (train). An option left out is ``None``
and is not passed on, so the library's value applies; the "(default: ...)" in
the help texts repeats them for reading, and a test keeps it true.
"""

from __future__ import annotations

import json
import sys
import tarfile
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
from rnnlab.errors import RnnlabError

tag_app = typer.Typer(
    name="tag",
    help="Part-of-speech tagging (many-to-many aligned: one tag per token) with a BiLSTM "
    "over word and character embeddings, trained on CoNLL-U treebanks (Universal Dependencies).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(tag_app, name="tag")


def _configs(config_file: Path | None, overrides: dict[str, dict[str, Any]]):
    """(TaggerConfig, TrainConfig) from the tagger defaults, a JSON file, then flags.

    The file holds the sections ``model`` (TaggerConfig keys) and ``train``
    (TrainConfig keys); unknown sections and keys are rejected.
    """
    from rnnlab.models.tagger import TaggerConfig
    from rnnlab.tasks.tag import DEFAULT_TRAINING

    cfg = build_configs(config_file, overrides, {"model": TaggerConfig, "train": DEFAULT_TRAINING})
    return cfg["model"], cfg["train"]


def _source(path: str, split: str) -> str | tuple[str, str]:
    """A CLI path: an archive is read at ``split``, a .conllu file as it is."""
    p = Path(path).expanduser()
    return (path, split) if p.is_file() and tarfile.is_tarfile(p) else path


@tag_app.command("train")
@friendly
def train(
    data: str | None = typer.Option(
        None,
        "--data",
        "-d",
        help="A UD archive (.tar.gz): its train, dev and test splits are used.",
    ),
    train_file: str | None = typer.Option(
        None, "--train", help="Training treebank: a .conllu file (or an archive: its train split)."
    ),
    dev_file: str | None = typer.Option(
        None, "--dev", help="Dev treebank for early stopping (.conllu, or an archive's dev split)."
    ),
    test_file: str | None = typer.Option(
        None, "--test", help="Test treebank, evaluated once after training (optional)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Model directory to write."),
    config: Path | None = typer.Option(
        None, help="JSON file with sections model and train; explicit flags override it."
    ),
    cell: str | None = typer.Option(None, help="Recurrent cell: lstm, gru or rnn. (default: lstm)"),
    hidden: int | None = typer.Option(None, help="Hidden units per direction. (default: 128)"),
    layers: int | None = typer.Option(None, help="Stacked recurrent layers. (default: 1)"),
    char: bool | None = typer.Option(
        None,
        "--char/--no-char",
        help="Character encoder for rare and unknown words. (default: --char)",
    ),
    char_encoder: str | None = typer.Option(
        None, help="cnn or lstm (character BiLSTM). (default: cnn)"
    ),
    word_dropout: float | None = typer.Option(
        None, help="Training: chance a known word is read as <unk>. (default: 0)"
    ),
    dropout: float | None = typer.Option(None, help="Dropout rate. (default: 0.33)"),
    epochs: int | None = typer.Option(None, help="Maximum epochs (early stopping). (default: 10)"),
    batch_size: int | None = typer.Option(None, help="Sentences per batch. (default: 64)"),
    lr: float | None = typer.Option(None, help="Adam learning rate. (default: 0.003)"),
    patience: int | None = typer.Option(
        None, help="Worse-than-best dev epochs tolerated before stopping. (default: 2)"
    ),
    seed: int | None = typer.Option(None, help="Random seed. (default: 0)"),
    threads: int | None = typer.Option(None, help="CPU threads, 0 = all. (default: 0)"),
    device: str | None = device_option(),
    quiet: bool = quiet_option(),
    resume: bool = resume_option(),
) -> None:
    """Train a part-of-speech tagger on CoNLL-U treebanks and write its model directory.

    Give either --data ARCHIVE (a UD release: train, dev and test splits) or
    --train and --dev files (plus --test to report on). Dev chooses the epoch;
    test is evaluated once at the end. Example:

        rnnlab tag train --data ud_english_ewt_v2.15.tar.gz --out models/pos --threads 1
    """
    from rnnlab.tasks.tag import train_tagger

    if data is not None and (train_file or dev_file or test_file):
        raise RnnlabError("give --data ARCHIVE or --train/--dev/--test files, not both")
    if data is not None:
        if not Path(data).expanduser().exists():
            raise RnnlabError(f"treebank not found: {data}")
        train_src, dev_src, test_src = (data, "train"), (data, "dev"), (data, "test")
    else:
        if train_file is None or dev_file is None:
            raise RnnlabError(
                "training needs --train and --dev treebanks (or --data ARCHIVE with all splits)"
            )
        train_src, dev_src = _source(train_file, "train"), _source(dev_file, "dev")
        test_src = None if test_file is None else _source(test_file, "test")
    model_cfg, train_cfg = _configs(
        config,
        {
            "model": {
                "cell": cell,
                "hidden_size": hidden,
                "num_layers": layers,
                "char": char,
                "char_encoder": char_encoder,
                "word_dropout": word_dropout,
                "dropout": dropout,
            },
            "train": {
                "epochs": epochs,
                "batch_size": batch_size,
                "lr": lr,
                "patience": patience,
                "seed": seed,
                "threads": threads,
                "device": device,
            },
        },
    )
    result = train_tagger(
        train_src,
        dev_src,
        test_src,
        out=out,
        model=model_cfg,
        training=train_cfg,
        progress=not quiet and sys.stderr.isatty(),
        log=(lambda _msg: None) if quiet else (lambda msg: typer.echo(msg, err=True)),
        resume=resume,
    )
    for split in ("dev", "test"):
        if split in result.metrics:
            m = result.metrics[split]
            oov = m["oov"]["accuracy"]
            typer.echo(
                f"{split}: accuracy {m['accuracy']:.4f}  unknown words "
                f"{'n/a' if oov is None else f'{oov:.4f}'} ({m['oov']['n']})  "
                f"tokens {m['n_tokens']}"
            )
    typer.echo(f"model: {result.out}")


@tag_app.command("evaluate")
@friendly
def evaluate(
    model: Path = typer.Argument(..., help="Tagger model directory written by `rnnlab tag train`."),
    data: str = typer.Option(..., "--data", "-d", help="A .conllu file or a UD archive."),
    split: str | None = typer.Option(
        None, help="Split of an archive: train, dev or test (required for an archive)."
    ),
    out: Path | None = typer.Option(None, help="Folder for metrics.json and confusion_matrix.png."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Token accuracy, unknown-word accuracy, per-tag F1 and the most confused tags."""
    from rnnlab.tasks.tag import evaluate_tagger

    p = Path(data).expanduser()
    if split is None and p.is_file() and tarfile.is_tarfile(p):
        raise RnnlabError(f"{data} is an archive; pass --split train, dev or test")
    m = evaluate_tagger(model, data, split=split, out=out)
    if as_json:
        typer.echo(json.dumps(m, indent=2))
        return
    oov = m["oov"]["accuracy"]
    typer.echo(
        f"sentences {m['n_sentences']}  tokens {m['n_tokens']}  accuracy {m['accuracy']:.4f}  "
        f"unknown words {'n/a' if oov is None else f'{oov:.4f}'} "
        f"({m['oov']['n']}, {m['oov']['share']:.1%})  macro F1 {m['macro_f1']:.4f}"
    )
    typer.echo(f"{'tag':<8}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for name, r in m["per_tag"].items():
        typer.echo(
            f"{name:<8}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>10.4f}"
            f"{r['support']:>10}"
        )
    if m["confused"]:
        typer.echo("most confused (true -> predicted: count)")
        for c in m["confused"]:
            typer.echo(f"  {c['true']} -> {c['predicted']}: {c['count']}")
    if out is not None:
        typer.echo(f"wrote {out / 'metrics.json'} and {out / 'confusion_matrix.png'}")


@tag_app.command("predict")
@friendly
def predict(
    model: Path = typer.Argument(..., help="Tagger model directory."),
    texts: list[str] | None = typer.Argument(
        None, help="Sentences to tag (raw text; tokenized by rnnlab, case kept)."
    ),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Sentences to tag, one per line; - is stdin."
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help='Print one {"line", "tokens": [...], "tags": [...]} object per input line.',
    ),
    progress: bool | None = typer.Option(
        None,
        "--progress/--no-progress",
        help="Progress bar on stderr; without either flag, shown when stderr is a terminal.",
    ),
    device: str = device_option(training=False),
) -> None:
    """Tag raw sentences: prints token/TAG pairs, one sentence per line.

    Sentences come from the arguments, from --file, or from standard input
    (one per line) when neither is given. Output line i answers input line i
    (a blank line gets an empty one); input is read and tagged 512 lines at
    a time, each chunk's output flushed. Example:

        rnnlab tag predict models/pos "I want to book a flight."
    """
    from rnnlab.tasks.tag import load

    inputs = stream_inputs(list(texts or []), file, None, "tag", tables=False)
    tagger = load(model, device=device)

    def render(number: int, _text: str, pairs) -> str:
        pairs = pairs or []
        if not as_json:
            return " ".join(f"{t}/{g}" for t, g in pairs) + "\n"
        row = {"line": number, "tokens": [t for t, _ in pairs], "tags": [g for _, g in pairs]}
        if not pairs:
            row["reason"] = "empty text"
        return json.dumps(row, ensure_ascii=False) + "\n"

    predict_stream(inputs, tagger.tag_texts, render, progress=progress_wanted(progress))
