"""``rnnlab train | evaluate | predict``: the many-to-one text classifier."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import typer

from rnnlab.cli.common import (
    SECTIONS,
    app,
    build_configs,
    device_option,
    friendly,
    predict_stream,
    progress_wanted,
    quiet_option,
    resume_option,
    split_model_argument,
    stream_inputs,
)
from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig, TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.recipes import recipe_configs

# Flags of `train` whose name differs from their config key (section, key).
_FLAG_NAMES = {
    ("embedding", "source"): "--embedding",
    ("embedding", "dim"): "--embedding-dim",
    ("embedding", "algorithm"): "--w2v-algorithm",
    ("embedding", "window"): "--w2v-window",
    ("embedding", "epochs"): "--w2v-epochs",
    ("embedding", "freeze"): "--freeze-embedding/--tune-embedding",
    ("model", "num_layers"): "--layers",
    ("model", "hidden_size"): "--hidden",
    ("model", "bidirectional"): "--bidirectional/--unidirectional",
    ("model", "separate_directions"): "--separate-directions/--joint-directions",
}


@app.command()
@friendly
def train(
    data: str = typer.Option(
        ...,
        "--data",
        "-d",
        help="'imdb' (downloaded and cached), an IMDB archive or aclImdb "
        "folder, or a CSV/TSV/JSONL file with text and label columns.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Model directory to write."),
    model_type: str = typer.Option(
        "recurrent",
        "--model",
        help="recurrent (Word2Vec + RNN/LSTM/GRU), or a linear baseline: bow-logreg "
        "(word counts + logistic regression), tfidf-logreg (the guide's TF-IDF + logistic "
        "regression) or nbsvm (Wang & Manning's NB-weighted uni+bigrams).",
    ),
    text_col: str = typer.Option("text", help="Text column of a CSV/TSV/JSONL file."),
    label_col: str = typer.Option("label", help="Label column (strings or integers)."),
    test_data: str | None = typer.Option(
        None,
        help="Held-out labeled data evaluated after training (IMDB: its test split by default).",
    ),
    recipe: str = typer.Option(
        "default",
        "--recipe",
        help="A named set of defaults: 'default' (rnnlab's measured recipe: Word2Vec + "
        "2-layer BiLSTM(48), masked max+mean pooling, length buckets, fused with NBSVM "
        "1-3-gram evidence), 'best' (2 x BiLSTM(96) as separate direction stacks, fine-tuned "
        "from `rnnlab pretrain`'s encoder, with the n-gram part: needs --encoder) or 'guide' (the "
        "guide's network exactly: 2 x LSTM(64) without candidate bias, last hidden state "
        "into softmax(h O + c), Keras-style pre-padding to 200 tokens, Keras' "
        "initialisation and optimiser settings; see rnnlab.recipes). --config and "
        "explicit flags override it.",
    ),
    config: Path | None = typer.Option(
        None,
        help="JSON file with sections text, embedding, model, train (recurrent) or linear, "
        "train (linear models); explicit flags override it.",
    ),
    cell: str | None = typer.Option(
        None,
        help=f"Recurrent cell: lstm, gru or rnn; none = the order-blind baseline (pooled embeddings -> one hidden layer).  (default: {ModelConfig.cell})",
    ),
    layers: int | None = typer.Option(
        None, help=f"Stacked recurrent layers. (default: {ModelConfig.num_layers})"
    ),
    hidden: int | None = typer.Option(
        None, help=f"Hidden units per direction. (default: {ModelConfig.hidden_size})"
    ),
    bidirectional: bool | None = typer.Option(
        None,
        "--bidirectional/--unidirectional",
        help="Add a backward direction. (default: bidirectional)",
    ),
    separate_directions: bool | None = typer.Option(
        None,
        "--separate-directions/--joint-directions",
        help="Bidirectional: the two directions as separate stacks that meet at the top "
        "(ELMo's biLM; the 'best' recipe's network) or joint (layer l > 0 reads both). "
        "(default: joint)",
    ),
    dropout: float | None = typer.Option(
        None, help=f"Dropout rate. (default: {ModelConfig.dropout})"
    ),
    init: str | None = typer.Option(
        None,
        help="Initial weights: torch (PyTorch's defaults) or keras (orthogonal recurrent "
        f"matrices, forget-gate bias 1). (default: {ModelConfig.init})",
    ),
    candidate_bias: bool | None = typer.Option(
        None,
        "--candidate-bias/--no-candidate-bias",
        help="LSTM: a bias in the candidate c~ (the guide's equation has none; "
        "--no-candidate-bias holds it at zero). (default: --candidate-bias)",
    ),
    learn_padding: bool | None = typer.Option(
        None,
        "--learn-padding/--fixed-padding",
        help="Train the padding vector (Keras does; matters with --padding pre/post) or keep "
        "it at zero. (default: --fixed-padding)",
    ),
    pooling: str | None = typer.Option(
        None,
        help=f"last (the guide's h_N), max, mean or maxmean.  (default: {ModelConfig.pooling})",
    ),
    wide_ngrams: int | None = typer.Option(
        None,
        help="n-gram evidence beside the network: NBSVM over word 1..N-grams fitted on the "
        "training split, fused with the network by weights fitted on the validation split; "
        f"0 = the recurrent network alone. (default: {ModelConfig.wide_ngrams})",
    ),
    wide_max_features: int | None = typer.Option(
        None,
        help="n-gram part: keep the most frequent n-grams (model size), 0 = all. "
        f"(default: {ModelConfig.wide_max_features})",
    ),
    embedding: str | None = typer.Option(
        None,
        help="word2vec (trained on the training texts), "
        "random, a word2vec/GloVe vector file, or a folder from `rnnlab embed train`. "
        f"(default: {EmbeddingConfig.source})",
    ),
    embedding_dim: int | None = typer.Option(
        None, help=f"Embedding size. (default: {EmbeddingConfig.dim})"
    ),
    w2v_algorithm: str | None = typer.Option(
        None, help=f"cbow or skipgram. (default: {EmbeddingConfig.algorithm})"
    ),
    w2v_window: int | None = typer.Option(
        None, help=f"Word2Vec context window. (default: {EmbeddingConfig.window})"
    ),
    w2v_epochs: int | None = typer.Option(
        None, help=f"Word2Vec epochs. (default: {EmbeddingConfig.epochs})"
    ),
    freeze_embedding: bool | None = typer.Option(
        None, "--freeze-embedding/--tune-embedding", help="Keep embeddings fixed. (default: tune)"
    ),
    max_vocab: int | None = typer.Option(
        None, help=f"Vocabulary size. (default: {TextConfig.max_vocab})"
    ),
    min_freq: int | None = typer.Option(
        None, help=f"Minimum token count. (default: {TextConfig.min_freq})"
    ),
    maxlen: int | None = typer.Option(
        None, help=f"Tokens kept per text. (default: {TextConfig.maxlen})"
    ),
    truncating: str | None = typer.Option(
        None, help=f"pre (keep the end) or post. (default: {TextConfig.truncating})"
    ),
    tokenizer: str | None = typer.Option(
        None,
        help="words (Unicode word rules: whole words, one token per CJK/Thai character), "
        "chars (grapheme clusters) or subword (BPE learned from the training texts, saved "
        f"in the model directory). (default: {TextConfig.tokenizer})",
    ),
    padding: str | None = typer.Option(
        None,
        help="bucket (length buckets, padding masked), or pre/post: Keras-style padding to "
        "--maxlen that the network reads (no mask), to measure the padding trap. "
        f"(default: {TextConfig.padding})",
    ),
    epochs: int | None = typer.Option(
        None, help=f"Maximum epochs (early stopping). (default: {TrainConfig.epochs})"
    ),
    batch_size: int | None = typer.Option(
        None, help=f"Batch size. (default: {TrainConfig.batch_size})"
    ),
    lr: float | None = typer.Option(None, help=f"Adam learning rate. (default: {TrainConfig.lr})"),
    lr_decay: float | None = typer.Option(
        None, help=f"Learning-rate factor per epoch. (default: {TrainConfig.lr_decay})"
    ),
    clip_norm: float | None = typer.Option(
        None, help=f"Gradient-norm clipping, 0 = off. (default: {TrainConfig.clip_norm})"
    ),
    patience: int | None = typer.Option(
        None,
        help=f"Worse-than-best validation epochs tolerated before stopping. (default: {TrainConfig.patience})",
    ),
    val_fraction: float | None = typer.Option(
        None, help=f"Validation share of train. (default: {TrainConfig.val_fraction})"
    ),
    seed: int | None = typer.Option(None, help=f"Random seed. (default: {TrainConfig.seed})"),
    threads: int | None = typer.Option(
        None, help=f"CPU threads, 0 = all. (default: {TrainConfig.threads})"
    ),
    precision: str | None = typer.Option(
        None,
        help="Training arithmetic: float32, bfloat16 (where the CPU has AVX512_BF16 or AMX) "
        f"or auto. Prediction is always float32. (default: {TrainConfig.precision})",
    ),
    device: str | None = device_option(),
    cache_dir: Path | None = typer.Option(None, help="Download cache. (default: ~/.cache/rnnlab)"),
    ngrams: str | None = typer.Option(
        None, help="Linear models: word n-gram sizes, e.g. 1-2 or 1. (default: 1-2)"
    ),
    max_features: int | None = typer.Option(
        None, help="Linear models: keep the most frequent terms, 0 = all. (default: 400000)"
    ),
    c: float | None = typer.Option(
        None,
        "--C",
        help="Linear models: inverse regularisation strength. "
        "(default: bow-logreg 0.1, tfidf-logreg 30, nbsvm 0.1)",
    ),
    encoder: Path | None = typer.Option(
        None,
        "--encoder",
        help="Start from an encoder pretrained without labels by `rnnlab pretrain --out DIR`: "
        "its tokenizer, vocabulary, embedding and recurrent layers are fine-tuned (no "
        "Word2Vec step; its network sizes replace --cell/--layers/--hidden/--tokenizer).",
    ),
    quiet: bool = quiet_option(),
    resume: bool = resume_option(),
) -> None:
    """Train a sentiment (text classification) model and write its model directory.

    The defaults (the values of rnnlab.config's dataclasses, shown with each
    flag) are rnnlab's measured recipe: Word2Vec (CBOW) trained on the
    training reviews, then a 2-layer bidirectional LSTM with masked max+mean
    pooling over length-bucketed batches; the epoch is chosen on a validation
    split carved from the training data. The guide itself gives no
    hyperparameters, and its network reads only the last hidden state.

    --model bow-logreg|tfidf-logreg|nbsvm trains a linear baseline instead
    (seconds, not minutes) with the same data options and model directory;
    its settings are --ngrams, --max-features, --C, --tokenizer (n-grams of
    words, characters or subword pieces) or the config file's "linear" section.
    """
    from rnnlab.models.linear import KINDS, LinearConfig
    from rnnlab.tasks.classify import train as run

    if model_type != "recurrent" and model_type not in KINDS:
        raise RnnlabError(f"--model must be recurrent, {', '.join(KINDS)}; got {model_type!r}")
    linear_flags = {
        "ngram_range": _parse_ngrams(ngrams) if ngrams is not None else None,
        "max_features": max_features,
        "C": c,
        "tokenizer": tokenizer,  # --tokenizer applies to both kinds of model
    }
    overrides = {
        "text": {
            "max_vocab": max_vocab,
            "min_freq": min_freq,
            "maxlen": maxlen,
            "truncating": truncating,
            "padding": padding,
            "tokenizer": tokenizer,
        },
        "embedding": {
            "source": embedding,
            "dim": embedding_dim,
            "algorithm": w2v_algorithm,
            "window": w2v_window,
            "epochs": w2v_epochs,
            "freeze": freeze_embedding,
        },
        "model": {
            "cell": cell,
            "num_layers": layers,
            "hidden_size": hidden,
            "bidirectional": bidirectional,
            "separate_directions": separate_directions,
            "dropout": dropout,
            "pooling": pooling,
            "init": init,
            "candidate_bias": candidate_bias,
            "learn_padding": learn_padding,
            "wide_ngrams": wide_ngrams,
            "wide_max_features": wide_max_features,
        },
        "train": {
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "lr_decay": lr_decay,
            "clip_norm": clip_norm,
            "patience": patience,
            "val_fraction": val_fraction,
            "seed": seed,
            "threads": threads,
            "precision": precision,
            "device": device,
        },
    }
    flags = {"--ngrams": ngrams, "--max-features": max_features, "--C": c}
    if model_type == "recurrent":
        given = [name for name, v in flags.items() if v is not None]
        if given:
            raise RnnlabError(
                f"{', '.join(given)} apply to linear models only; add --model nbsvm "
                "(or bow-logreg, tfidf-logreg)"
            )
    else:
        recurrent_only = sorted(
            _FLAG_NAMES.get((section, key), f"--{key.replace('_', '-')}")
            for section, values in overrides.items()
            for key, v in values.items()
            if v is not None
            and not (section == "train" and key in ("val_fraction", "seed"))
            and (section, key) != ("text", "tokenizer")
        )
        if recipe != "default":
            recurrent_only.append("--recipe")
        if encoder is not None:
            recurrent_only.append("--encoder")
        if recurrent_only:
            raise RnnlabError(
                f"--model {model_type} is a linear model; {', '.join(recurrent_only)} apply to "
                "--model recurrent only (linear options: --ngrams, --max-features, --C, "
                "--tokenizer)"
            )
        return _train_linear(
            model_type, data, out, config, linear_flags, val_fraction, seed,
            text_col, label_col, test_data, cache_dir, quiet,
        )  # fmt: skip
    if recipe == "best" and encoder is None:
        raise RnnlabError(
            "--recipe best fine-tunes a pretrained encoder: run `rnnlab pretrain --data DATA "
            "--out ENC` first, then add --encoder ENC"
        )
    if cell not in (None, "lstm") and candidate_bias is None:
        overrides["model"]["candidate_bias"] = True  # only an LSTM has a candidate
    sections = {**SECTIONS, "linear": LinearConfig, **recipe_configs(recipe)}
    cfg = build_configs(config, overrides, sections)
    if _nondefault_sections(config, ("linear",)):
        raise RnnlabError(
            f"config file {config}: section 'linear' applies to linear models; "
            "add --model nbsvm (or bow-logreg, tfidf-logreg)"
        )
    result = run(
        data,
        out,
        cfg["text"],
        cfg["embedding"],
        cfg["model"],
        cfg["train"],
        text_col=text_col,
        label_col=label_col,
        test_data=test_data,
        cache_dir=cache_dir,
        progress=not quiet and sys.stderr.isatty(),
        log=(lambda _msg: None) if quiet else (lambda msg: typer.echo(msg, err=True)),
        resume=resume,
        encoder=encoder,
    )
    if result.metrics:  # under torchrun only the main process reports
        _report(result)


def _report(result) -> None:
    for split in ("validation", "test"):
        if split in result.metrics:
            m = result.metrics[split]
            typer.echo(f"{split}: accuracy {m['accuracy']:.4f}  f1 {m['f1']:.4f}  n {m['n']}")
    typer.echo(f"model: {result.out}")


def _parse_ngrams(value: str) -> list[int]:
    """``"1-2"`` -> [1, 2]; ``"2"`` -> [2, 2]."""
    parts = value.split("-")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) not in (1, 2):
        raise RnnlabError(f"--ngrams must look like 1-2 or 1, got {value!r}")
    return [nums[0], nums[-1]]


def _train_linear(
    kind, data, out, config, flags, val_fraction, seed, text_col, label_col, test_data,
    cache_dir, quiet,
) -> None:  # fmt: skip
    """``rnnlab train --model bow-logreg|tfidf-logreg|nbsvm``."""
    from rnnlab.models.linear import LinearConfig
    from rnnlab.tasks.linear import train as run

    cfg = build_configs(
        config,
        {"linear": flags, "train": {"val_fraction": val_fraction, "seed": seed}},
        {**SECTIONS, "linear": LinearConfig},
    )
    ignored = _nondefault_sections(config, ("text", "embedding", "model"))
    if ignored:
        raise RnnlabError(
            f"config file {config}: section(s) {', '.join(ignored)} apply to --model recurrent "
            f"only; --model {kind} reads 'linear' and 'train'"
        )
    train_cfg = cfg["train"]
    result = run(
        data,
        out,
        kind,
        cfg["linear"],
        val_fraction=train_cfg.val_fraction,
        seed=train_cfg.seed,
        text_col=text_col,
        label_col=label_col,
        test_data=test_data,
        cache_dir=cache_dir,
        log=(lambda _msg: None) if quiet else (lambda msg: typer.echo(msg, err=True)),
    )
    _report(result)


def _nondefault_sections(config: Path | None, names: tuple[str, ...]) -> list[str]:
    if config is None:
        return []
    loaded = json.loads(Path(config).read_text(encoding="utf-8"))
    return [name for name in names if loaded.get(name)]


@app.command()
@friendly
def evaluate(
    model: Path = typer.Argument(..., help="Model directory written by `rnnlab train`."),
    data: str = typer.Option(
        "imdb",
        "--data",
        "-d",
        help="'imdb', an IMDB archive/folder, or a labeled CSV/TSV/JSONL file.",
    ),
    split: str = typer.Option("test", help="IMDB split to evaluate (train or test)."),
    text_col: str = typer.Option("text", help="Text column of a table file."),
    label_col: str = typer.Option("label", help="Label column of a table file."),
    out: Path | None = typer.Option(None, help="Folder for metrics.json and confusion_matrix.png."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    cache_dir: Path | None = typer.Option(None, help="Download cache. (default: ~/.cache/rnnlab)"),
) -> None:
    """Accuracy, precision, recall, F1, ROC-AUC and confusion matrix on labeled data."""
    from rnnlab.tasks import load
    from rnnlab.tasks.classify import evaluate as run

    metrics = run(
        load(model),
        data,
        text_col=text_col,
        label_col=label_col,
        split=split,
        out=out,
        cache_dir=cache_dir,
    )
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
        return
    auc = "n/a" if metrics["roc_auc"] is None else f"{metrics['roc_auc']:.4f}"
    typer.echo(
        f"n {metrics['n']}  accuracy {metrics['accuracy']:.4f}  precision "
        f"{metrics['precision']:.4f}  recall {metrics['recall']:.4f}  f1 "
        f"{metrics['f1']:.4f}  roc_auc {auc}"
    )
    names = metrics["labels"]
    cells = [str(v) for row in metrics["confusion_matrix"] for v in row]
    width = max(len(n) for n in [*names, *cells]) + 2  # 25,000 reviews need 5 digits
    typer.echo("confusion matrix (rows: true, columns: predicted)")
    typer.echo(" " * width + "".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, metrics["confusion_matrix"], strict=True):
        typer.echo(f"{name:<{width}}" + "".join(f"{v:>{width}}" for v in row))
    if out is not None:
        typer.echo(f"wrote {out / 'metrics.json'} and {out / 'confusion_matrix.png'}")


@app.command()
@friendly
def predict(
    args: list[str] | None = typer.Argument(
        None,
        help="[MODEL_DIR] TEXT... — texts to classify. Without --model, a first argument "
        "that is a folder is the model directory; one that looks like a path (contains / "
        "or \\, starts with ~, or is a file) but is not a model directory is an error; any "
        "other single word followed by more texts is classified as text, with a warning.",
    ),
    model: Path | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Model directory (default: the bundled IMDB sentiment model); every argument "
        "is then a text.",
    ),
    file: Path | None = typer.Option(
        None,
        "--file",
        "-f",
        help="Texts to classify: one per line (only a line feed ends a line), or a "
        "CSV/TSV/JSONL file with --text-col (one output per row); - is stdin.",
    ),
    text_col: str | None = typer.Option(None, help="Text column when --file is a table."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help='Print one {"line", "label", "score", "known"} JSON object per input line '
        '("known": share of its words the model knows; a blank line gets label null and a '
        '"reason").',
    ),
    backend: str = typer.Option("auto", help="auto, onnx or torch."),
    device: str = device_option(training=False),
    progress: bool | None = typer.Option(
        None,
        "--progress/--no-progress",
        help="Progress bar (rate, ETA) on stderr; without either flag, shown when stderr "
        "is a terminal.",
    ),
) -> None:
    """Classify texts with a trained model (default: the bundled IMDB sentiment model).

    Texts come from the arguments, from --file, or from standard input (one per
    line) when neither is given. Output line i answers input line i (a blank
    line gets an empty label and the reason); input is read, classified and
    written 512 lines at a time, so memory stays flat and a stopped run leaves
    whole lines. A warning on stderr counts the texts made mostly of words the
    model never saw (their scores mean little).
    """
    from rnnlab.tasks import load

    texts = list(args or [])
    if model is None and texts:
        model, texts = split_model_argument(texts)
    inputs = stream_inputs(texts, file, text_col, "classify")
    clf = load(model, backend=backend, device=device)
    unknown = {"texts": 0, "mostly_unknown": 0}

    def render(number: int, text: str, res: dict | None) -> str:
        if res is None:
            if as_json:
                row = {"line": number, "label": None, "score": None, "known": None}
                return json.dumps({**row, "reason": "empty text"}) + "\n"
            return "\t\t(empty text)\n"
        score, known = float(res["score"]), res.get("known")
        if not math.isfinite(score):
            raise RnnlabError(
                f"{inputs.name} line {number}: the model gave the score {score}, not a "
                "probability; its weights are broken (a diverged training run?) — retrain it"
            )
        unknown["texts"] += 1
        unknown["mostly_unknown"] += known is not None and known < 0.5
        if as_json:
            row = {"line": number, "label": res["label"], "score": round(score, 6)}
            if known is not None:
                row["known"] = round(float(known), 4)
            return json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n"
        short = " ".join(text.split())
        short = short if len(short) <= 70 else short[:67] + "..."
        return f"{res['label']}\t{score:.4f}\t{short}\n"

    predict_stream(inputs, clf.predict, render, progress=progress_wanted(progress))
    if unknown["mostly_unknown"]:
        typer.echo(
            f"warning: {unknown['mostly_unknown']} of {unknown['texts']} texts are mostly "
            "words this model has never seen (known share < 50%); their scores mean little",
            err=True,
        )
