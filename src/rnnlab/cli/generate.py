"""``rnnlab generate [train | evaluate]``: the one-to-many conditional review generator.

``rnnlab generate --model DIR --sentiment positive --n 3`` samples reviews;
``rnnlab generate train`` trains a model directory; ``rnnlab generate evaluate``
measures perplexity and whether samples follow the condition. The group runs
its own callback when no subcommand is given (``invoke_without_command``), so
sampling needs no extra word; group options go before a subcommand name.

Every default lives in the library (``rnnlab.tasks.generate``: ``DEFAULT_TEXT``,
``DEFAULT_TRAIN``, ``DEFAULT_SAMPLE``; ``GeneratorConfig``): an option left out
is not passed on, so the library's value applies. The "(default: ...)" in the
help texts repeats them for reading, and a test keeps it true.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from rnnlab.cli.common import (
    app,
    build_configs,
    device_option,
    friendly,
    quiet_option,
    resume_option,
)
from rnnlab.errors import RnnlabError

generate_app = typer.Typer(
    name="generate",
    help="One-to-many: write reviews of a requested sentiment (and star rating) with a "
    "conditional LSTM language model. Sample: rnnlab generate --model DIR --sentiment "
    "positive --n 3. Train: rnnlab generate train --data ARCHIVE --out DIR. "
    "Measure: rnnlab generate evaluate DIR --data ARCHIVE.",
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(generate_app, name="generate")


def _given(**values: Any) -> dict[str, Any]:
    """The options the user gave (``None`` = left out: the library's default applies)."""
    return {k: v for k, v in values.items() if v is not None}


@generate_app.callback()
@friendly
def sample(
    ctx: typer.Context,
    model: Path | None = typer.Option(
        None, "--model", "-m", help="Generator model directory (from `rnnlab generate train`)."
    ),
    sentiment: str | None = typer.Option(
        None,
        "--sentiment",
        "-s",
        help="positive or negative, or a label name of the training data (pos, neg, ...).",
    ),
    rating: int | None = typer.Option(
        None, help="Star rating 1-10 (models trained with --use-rating only)."
    ),
    n: int | None = typer.Option(None, "--n", "-n", help="Number of texts to write. (default: 1)"),
    temperature: float | None = typer.Option(
        None,
        help="Softmax temperature: lower is safer and more repetitive; 0 is greedy. (default: 0.8)",
    ),
    top_k: int | None = typer.Option(
        None, help="Sample among the k most likely words; 0 = all, 1 = greedy. (default: 40)"
    ),
    max_len: int | None = typer.Option(
        None, help="Most words per text (a text also ends at </s>). (default: 80)"
    ),
    seed: int | None = typer.Option(None, help="Random seed: same seed, same texts. (default: 0)"),
    guidance: float | None = typer.Option(
        None,
        help="Contrastive guidance towards the requested sentiment and away from the other "
        "(0 = plain sampling). (default: 1.5 for two-label models)",
    ),
    max_run: int | None = typer.Option(
        None, help="No word more than this many times in a row; 0 = off. (default: 3)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of text."),
) -> None:
    """Sample reviews from a trained generator (when no subcommand is given)."""
    if ctx.invoked_subcommand is not None:
        return
    from rnnlab.tasks.generate import load

    if model is None:
        raise RnnlabError(
            "--model is required to sample: pass a directory from `rnnlab generate train`, "
            "e.g. rnnlab generate --model models/gen --sentiment positive"
        )
    if sentiment is None:
        raise RnnlabError("--sentiment is required: positive or negative (or a label name)")
    gen = load(model)
    options = _given(
        n=n, temperature=temperature, top_k=top_k, max_len=max_len, seed=seed,
        guidance=guidance, max_run=max_run,
    )  # fmt: skip
    texts = gen.generate(sentiment, rating=rating, **options)
    if as_json:
        label = gen.label_names[gen.label_index(sentiment)]
        rows = [{"sentiment": label, "rating": rating, "text": t} for t in texts]
        typer.echo(json.dumps(rows, indent=2))
        return
    for i, text in enumerate(texts):
        if i:
            typer.echo("")
        typer.echo(text)


@generate_app.command("train")
@friendly
def train_cmd(
    data: str = typer.Option(
        ...,
        "--data",
        "-d",
        help="An IMDB archive or aclImdb folder ('imdb' downloads it), or a labeled "
        "CSV/TSV/JSONL file; the label is the condition.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Model directory to write."),
    text_col: str = typer.Option("text", help="Text column of a CSV/TSV/JSONL file."),
    label_col: str = typer.Option("label", help="Label column (the condition)."),
    test_data: str | None = typer.Option(
        None, help="Held-out labeled data for the test perplexity (IMDB: its test split)."
    ),
    config: Path | None = typer.Option(
        None,
        help="JSON file with sections text, generator (model sizes) and train; explicit "
        "flags override it.",
    ),
    use_rating: bool | None = typer.Option(
        None,
        "--use-rating/--no-rating",
        help="Also condition on the 1-10 star rating (IMDB file names carry it). "
        "(default: --no-rating)",
    ),
    every_step: bool | None = typer.Option(
        None,
        "--every-step/--initial-state-only",
        help="Also feed the condition at every input step, not only as the initial state "
        "(on IMDB the initial state alone was not followed after one epoch). "
        "(default: --every-step)",
    ),
    max_vocab: int | None = typer.Option(
        None, help="Vocabulary size (specials included). (default: 10000)"
    ),
    maxlen: int | None = typer.Option(
        None, help="First tokens of each text kept for training. (default: 100)"
    ),
    embed_dim: int | None = typer.Option(None, help="Word-embedding size. (default: 256)"),
    hidden: int | None = typer.Option(None, help="LSTM hidden units. (default: 256)"),
    layers: int | None = typer.Option(None, help="LSTM layers (1 or 2). (default: 1)"),
    tie: bool | None = typer.Option(
        None,
        "--tie/--no-tie",
        help="Share the word embedding with the output layer. (default: --tie)",
    ),
    epochs: int | None = typer.Option(
        None, help="Maximum epochs (early stopping on validation loss). (default: 2)"
    ),
    batch_size: int | None = typer.Option(None, help="Batch size. (default: 64)"),
    lr: float | None = typer.Option(None, help="Adam learning rate. (default: 0.002)"),
    val_fraction: float | None = typer.Option(
        None, help="Validation share of the training data. (default: 0.05)"
    ),
    max_train: int | None = typer.Option(
        None, help="Use only this many training texts (a quick run)."
    ),
    test_limit: int | None = typer.Option(
        None, help="Test perplexity on this many held-out texts (random subset)."
    ),
    seed: int | None = typer.Option(None, help="Random seed. (default: 0)"),
    threads: int | None = typer.Option(None, help="CPU threads, 0 = all cores. (default: 1)"),
    device: str | None = device_option(),
    quiet: bool = quiet_option(),
    resume: bool = resume_option(),
) -> None:
    """Train a conditional LSTM language model and write its model directory.

    Example: rnnlab generate train --data aclImdb_v1.tar.gz --out models/gen --use-rating
    """
    from rnnlab.models.generator import GeneratorConfig
    from rnnlab.tasks.generate import DEFAULT_TEXT, DEFAULT_TRAIN, train_generator

    cfg = build_configs(
        config,
        {
            "text": {"max_vocab": max_vocab, "maxlen": maxlen},
            "generator": {
                "embed_dim": embed_dim,
                "hidden_size": hidden,
                "num_layers": layers,
                "use_rating": use_rating,
                "condition_every_step": every_step,
                "tie_weights": tie,
            },
            "train": {
                "epochs": epochs,
                "batch_size": batch_size,
                "lr": lr,
                "val_fraction": val_fraction,
                "seed": seed,
                "threads": threads,
                "device": device,
            },
        },
        {"text": DEFAULT_TEXT, "generator": GeneratorConfig, "train": DEFAULT_TRAIN},
    )
    result = train_generator(
        data,
        out,
        text=cfg["text"],
        generator=cfg["generator"],
        training=cfg["train"],
        text_col=text_col,
        label_col=label_col,
        test_data=test_data,
        max_train=max_train,
        test_limit=test_limit,
        progress=not quiet,
        log=(lambda _m: None) if quiet else (lambda m: typer.echo(m, err=True)),
        resume=resume,
    )
    val = result.metrics["validation"]["perplexity"]
    line = f"validation perplexity {val:.1f}"
    if "test" in result.metrics:
        line += f", test perplexity {result.metrics['test']['perplexity']:.1f}"
    typer.echo(f"{line} ({result.seconds:.0f} s); saved {result.out}")


@generate_app.command("evaluate")
@friendly
def evaluate_cmd(
    model: Path = typer.Argument(..., help="Generator model directory."),
    data: str | None = typer.Option(
        None, "--data", "-d", help="Labeled data for the perplexity (IMDB: the --split split)."
    ),
    split: str = typer.Option("test", help="IMDB split: train or test."),
    text_col: str = typer.Option("text", help="Text column of a CSV/TSV/JSONL file."),
    label_col: str = typer.Option("label", help="Label column."),
    n: int | None = typer.Option(
        None, "--n", "-n", help="Samples per sentiment for the check. (default: 200)"
    ),
    check: bool = typer.Option(
        True,
        "--check/--no-check",
        help="Classify samples with the bundled sentiment model (needs neg/pos labels).",
    ),
    temperature: float | None = typer.Option(
        None, help="Sampling temperature for the check. (default: 0.8)"
    ),
    top_k: int | None = typer.Option(None, help="Top-k for the check. (default: 40)"),
    max_len: int | None = typer.Option(None, help="Most words per sample. (default: 80)"),
    seed: int | None = typer.Option(None, help="Random seed of the samples. (default: 0)"),
    guidance: float | None = typer.Option(
        None, help="Contrastive guidance of the samples, 0 = plain. (default: 1.5)"
    ),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the result as JSON."),
) -> None:
    """Perplexity on labeled data and the conditioning check.

    The check samples --n reviews per sentiment and reports the share the bundled
    IMDB sentiment classifier reads as requested (and, for rating models, its
    mean P(pos) per rating).
    """
    from rnnlab.tasks.generate import evaluate_generator

    if data is None and not check:
        raise RnnlabError("nothing to do: give --data for perplexity or drop --no-check")
    classifier = None
    if check:
        from rnnlab.tasks.classify import load as load_classifier

        classifier = load_classifier(threads=1)  # the bundled IMDB sentiment model
    options = _given(
        n=n, seed=seed, temperature=temperature, top_k=top_k, max_len=max_len, guidance=guidance
    )
    result = evaluate_generator(
        model,
        data,
        split=split,
        text_col=text_col,
        label_col=label_col,
        check=check,
        classifier=classifier,
        **options,
    )
    if "perplexity" in result:
        p = result["perplexity"]
        typer.echo(f"perplexity {p['perplexity']:.2f} over {p['tokens']} tokens ({p['data']})")
    if "conditioning" in result:
        c = result["conditioning"]
        typer.echo(
            f"samples: temperature {c['temperature']}, top-k {c['top_k']}, "
            f"guidance {c['guidance']}, seed {c['seed']}"
        )
        for name, share in c["shares"].items():
            typer.echo(f"{name}: {share:.1%} of {c['n']} samples classified {name}")
        for r, row in (c.get("rating_p_pos") or {}).items():
            typer.echo(f"rating {r:>2} ({row['label']}): mean P(pos) {row['mean_p_pos']:.3f}")
    if json_path is not None:
        from rnnlab.artifacts import write_text_atomic

        write_text_atomic(Path(json_path), json.dumps(result, indent=2) + "\n")
        typer.echo(f"wrote {json_path}")
