"""``rnnlab pretrain``: self-supervised pretraining of the classifier's encoder.

Every default lives in the library (``rnnlab.config``'s dataclasses and
``rnnlab.tasks.pretrain.PretrainConfig``): an option left out is not passed on,
so the library's value applies; the "(default: ...)" in the help texts repeats
them for reading (written out, so that ``rnnlab --help`` does not import torch;
tests/cli/test_pretrain_cli.py keeps them true).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from rnnlab.cli.common import (
    SECTIONS,
    app,
    build_configs,
    device_option,
    friendly,
    quiet_option,
    resume_option,
)
from rnnlab.config import EmbeddingConfig, TextConfig
from rnnlab.recipes import ENCODER_MODEL


@app.command()
@friendly
def pretrain(
    data: str = typer.Option(
        ...,
        "--data",
        "-d",
        help="Texts to learn from: 'imdb' or an IMDB archive/aclImdb folder (its train "
        "split only, never the test split), or a CSV/TSV/JSONL file with a text column "
        "(labels are not needed and not read).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Encoder directory to write."),
    text_col: str = typer.Option("text", help="Text column of a CSV/TSV/JSONL file."),
    config: Path | None = typer.Option(
        None,
        help="JSON file with sections text, embedding, model and pretrain; explicit flags "
        "override it.",
    ),
    objective: str | None = typer.Option(
        None,
        help="lm (next token forwards, previous token backwards: every layer of separate "
        "stacks, the first layer of joint ones) or mlm (predict masked tokens from both "
        "sides, whole stack). (default: lm)",
    ),
    epochs: int | None = typer.Option(None, help="Passes over the texts. (default: 4)"),
    hidden: int | None = typer.Option(
        None, help=f"Hidden units per direction. (default: {ENCODER_MODEL.hidden_size})"
    ),
    layers: int | None = typer.Option(
        None, help=f"Stacked recurrent layers. (default: {ENCODER_MODEL.num_layers})"
    ),
    separate_directions: bool | None = typer.Option(
        None,
        "--separate-directions/--joint-directions",
        help="Forward and backward directions as separate stacks (ELMo's biLM: lm trains "
        "every layer) or joint (layer l > 0 reads both; lm trains the first layer only). "
        "(default: separate)",
    ),
    maxlen: int | None = typer.Option(
        None, help=f"Tokens kept per text. (default: {TextConfig.maxlen})"
    ),
    max_vocab: int | None = typer.Option(
        None, help=f"Vocabulary size. (default: {TextConfig.max_vocab})"
    ),
    mask: float | None = typer.Option(
        None, help="mlm: share of the tokens masked and predicted. (default: 0.15)"
    ),
    negatives: int | None = typer.Option(
        None,
        help="Sampled-softmax negatives per batch (the output layer 2 cores can afford). "
        "(default: 512)",
    ),
    lr: float | None = typer.Option(
        None,
        help="Peak Adam learning rate (warm-up, then linear decay). (default: 0.002)",
    ),
    seed: int | None = typer.Option(None, help="Random seed. (default: 0)"),
    threads: int | None = typer.Option(None, help="CPU threads, 0 = all. (default: 0)"),
    device: str | None = device_option(),
    embedding: str | None = typer.Option(
        None,
        help="Initial word vectors: word2vec (trained on the texts), random, a word2vec/GloVe "
        f"vector file, or a folder from `rnnlab embed train`. (default: {EmbeddingConfig.source})",
    ),
    cache_dir: Path | None = typer.Option(None, help="Download cache. (default: ~/.cache/rnnlab)"),
    quiet: bool = quiet_option(),
    resume: bool = resume_option(),
) -> None:
    """Pretrain the classifier's embedding and recurrent encoder on texts, without labels.

    The network is the one `rnnlab train` builds (same --hidden, --layers, text
    and embedding settings), with a cheap output layer instead of the classifier's
    head: a sampled softmax over the tied word vectors. A held-out 5% of the texts
    gives the validation loss. The result is an encoder directory (atomic,
    sha256-checked): fine-tune it for classification with
    `rnnlab train --data PATH --encoder DIR` (the same model settings), or load it
    with rnnlab.load(DIR) and encode texts into feature vectors.
    """
    from rnnlab.tasks.pretrain import PretrainConfig, train_encoder

    overrides = {
        "text": {"maxlen": maxlen, "max_vocab": max_vocab},
        "embedding": {"source": embedding},
        "model": {
            "hidden_size": hidden,
            "num_layers": layers,
            "separate_directions": separate_directions,
        },
        "pretrain": {
            "objective": objective,
            "epochs": epochs,
            "mask": mask,
            "negatives": negatives,
            "lr": lr,
            "seed": seed,
            "threads": threads,
            "device": device,
        },
    }
    sections = {name: SECTIONS[name] for name in ("text", "embedding")}
    sections["model"] = ENCODER_MODEL  # the best recipe's network: its values are the defaults
    cfg = build_configs(config, overrides, {**sections, "pretrain": PretrainConfig})
    result = train_encoder(
        data,
        out,
        cfg["text"],
        cfg["embedding"],
        cfg["model"],
        cfg["pretrain"],
        text_col=text_col,
        cache_dir=cache_dir,
        progress=not quiet and sys.stderr.isatty(),
        log=(lambda _msg: None) if quiet else (lambda msg: typer.echo(msg, err=True)),
        resume=resume,
    )
    if result.metrics:  # under torchrun only the main process reports
        m = result.metrics["validation"]
        typer.echo(
            f"validation: loss {m['loss']:.4f}  acc {m['accuracy']:.4f}  texts {m['n_texts']}"
        )
        typer.echo(f"encoder: {result.out}")
