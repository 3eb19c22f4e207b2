"""``rnnlab generate [train | evaluate]``: the one-to-many conditional review generator.

``rnnlab generate --model DIR --sentiment positive --n 3`` samples reviews;
``rnnlab generate train`` trains a model directory; ``rnnlab generate evaluate``
measures perplexity and whether samples follow the condition. The group runs
its own callback when no subcommand is given (``invoke_without_command``), so
sampling needs no extra word; group options go before a subcommand name.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rnnlab.cli.common import app, friendly
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
    n: int = typer.Option(1, "--n", "-n", help="Number of texts to write."),
    temperature: float = typer.Option(
        0.8, help="Softmax temperature: lower is safer and more repetitive; 0 is greedy."
    ),
    top_k: int = typer.Option(
        40, help="Sample among the k most likely words; 0 = all, 1 = greedy."
    ),
    max_len: int = typer.Option(80, help="Most words per text (a text also ends at </s>)."),
    seed: int = typer.Option(0, help="Random seed: same seed, same texts."),
    guidance: float | None = typer.Option(
        None,
        help="Contrastive guidance towards the requested sentiment and away from the other "
        "(0 = plain sampling). (default: 1.5 for two-label models)",
    ),
    max_run: int = typer.Option(3, help="No word more than this many times in a row; 0 = off."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of text."),
) -> None:
    """Sample reviews from a trained generator (when no subcommand is given)."""
    if ctx.invoked_subcommand is not None:
        return
    from rnnlab.tasks.generate import load_generator

    if model is None:
        raise RnnlabError(
            "--model is required to sample: pass a directory from `rnnlab generate train`, "
            "e.g. rnnlab generate --model models/gen --sentiment positive"
        )
    if sentiment is None:
        raise RnnlabError("--sentiment is required: positive or negative (or a label name)")
    gen = load_generator(model)
    texts = gen.generate(
        sentiment,
        rating=rating,
        n=n,
        temperature=temperature,
        top_k=top_k,
        max_len=max_len,
        seed=seed,
        guidance=guidance,
        max_run=max_run,
    )
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
    use_rating: bool = typer.Option(
        False,
        "--use-rating/--no-rating",
        help="Also condition on the 1-10 star rating (IMDB file names carry it).",
    ),
    every_step: bool = typer.Option(
        True,
        "--every-step/--initial-state-only",
        help="Also feed the condition at every input step, not only as the initial state "
        "(on IMDB the initial state alone was not followed after one epoch).",
    ),
    max_vocab: int = typer.Option(10_000, help="Vocabulary size (specials included)."),
    maxlen: int = typer.Option(100, help="First tokens of each text kept for training."),
    embed_dim: int = typer.Option(256, help="Word-embedding size."),
    hidden: int = typer.Option(256, help="LSTM hidden units."),
    layers: int = typer.Option(1, help="LSTM layers (1 or 2)."),
    tie: bool = typer.Option(
        True, "--tie/--no-tie", help="Share the word embedding with the output layer."
    ),
    epochs: int = typer.Option(2, help="Maximum epochs (early stopping on validation loss)."),
    batch_size: int = typer.Option(64, help="Batch size."),
    lr: float = typer.Option(2e-3, help="Adam learning rate."),
    val_fraction: float = typer.Option(0.05, help="Validation share of the training data."),
    max_train: int | None = typer.Option(
        None, help="Use only this many training texts (a quick run)."
    ),
    test_limit: int | None = typer.Option(
        None, help="Test perplexity on this many held-out texts (random subset)."
    ),
    seed: int = typer.Option(0, help="Random seed."),
    threads: int = typer.Option(1, help="CPU threads, 0 = all cores."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Train a conditional LSTM language model and write its model directory.

    Example: rnnlab generate train --data aclImdb_v1.tar.gz --out models/gen --use-rating
    """
    from rnnlab.config import TextConfig, TrainConfig
    from rnnlab.models.generator import GeneratorConfig
    from rnnlab.tasks.generate import train_generator

    result = train_generator(
        data,
        out,
        text=TextConfig(max_vocab=max_vocab, min_freq=2, maxlen=maxlen, truncating="post"),
        generator=GeneratorConfig(
            embed_dim=embed_dim,
            hidden_size=hidden,
            num_layers=layers,
            use_rating=use_rating,
            condition_every_step=every_step,
            tie_weights=tie,
        ),
        training=TrainConfig(
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            clip_norm=1.0,
            val_fraction=val_fraction,
            seed=seed,
            threads=threads,
        ),
        text_col=text_col,
        label_col=label_col,
        test_data=test_data,
        max_train=max_train,
        test_limit=test_limit,
        progress=not quiet,
        log=(lambda _m: None) if quiet else (lambda m: typer.echo(m, err=True)),
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
    n: int = typer.Option(200, "--n", "-n", help="Samples per sentiment for the check."),
    check: bool = typer.Option(
        True,
        "--check/--no-check",
        help="Classify samples with the bundled sentiment model (needs neg/pos labels).",
    ),
    temperature: float = typer.Option(0.8, help="Sampling temperature for the check."),
    top_k: int = typer.Option(40, help="Top-k for the check."),
    max_len: int = typer.Option(80, help="Most words per sample."),
    seed: int = typer.Option(0, help="Random seed of the samples."),
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
    result = evaluate_generator(
        model,
        data,
        split=split,
        text_col=text_col,
        label_col=label_col,
        n=n,
        seed=seed,
        check=check,
        temperature=temperature,
        top_k=top_k,
        max_len=max_len,
        guidance=guidance,
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
        from rnnlab.training.loop import write_text_atomic

        write_text_atomic(Path(json_path), json.dumps(result, indent=2) + "\n")
        typer.echo(f"wrote {json_path}")
