"""``rnnlab embed train | neighbors | analogy | evaluate``: Word2Vec vectors and their quality."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rnnlab.cli.common import app, friendly
from rnnlab.config import EmbeddingConfig
from rnnlab.errors import RnnlabError

embed_app = typer.Typer(
    help="Word2Vec embeddings: train vectors on texts, then inspect them "
    "(nearest neighbours, analogies) and score them on standard test sets.",
    no_args_is_help=True,
)
app.add_typer(embed_app, name="embed")

VECTORS_HELP = (
    "A folder written by `rnnlab embed train`, or a word2vec (text/binary) or GloVe vector file."
)


def _echo_json(obj) -> None:
    typer.echo(json.dumps(obj, indent=2))


@embed_app.command("train")
@friendly
def train(
    data: str = typer.Option(
        ...,
        "--data",
        "-d",
        help="'imdb' (downloaded and cached), an IMDB archive or aclImdb folder (train "
        "split only), or a CSV/TSV/JSONL file (only --text-col is read).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Vectors folder to write."),
    text_col: str = typer.Option("text", help="Text column of a CSV/TSV/JSONL file."),
    algorithm: str = typer.Option(
        EmbeddingConfig.algorithm,
        help="cbow (predict a word from its context) or skipgram (the reverse).",
    ),
    dim: int = typer.Option(EmbeddingConfig.dim, help="Vector size."),
    window: int = typer.Option(EmbeddingConfig.window, help="Context words on each side."),
    min_count: int = typer.Option(
        EmbeddingConfig.min_count, help="Tokens rarer than this get no vector."
    ),
    epochs: int = typer.Option(EmbeddingConfig.epochs, help="Passes over the texts."),
    seed: int = typer.Option(0, help="Random seed."),
    threads: int = typer.Option(
        1, help="gensim worker threads; only 1 gives identical vectors on every run."
    ),
    cache_dir: Path | None = typer.Option(None, help="Download cache. (default: ~/.cache/rnnlab)"),
    as_json: bool = typer.Option(False, "--json", help="Print the written config.json as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No log lines."),
) -> None:
    """Train Word2Vec (CBOW or skip-gram) on the texts of DATA and write a vectors folder.

    The folder holds vectors.bin (word2vec binary format, no pickle: usable with
    `rnnlab train --embedding OUT/vectors.bin` and with gensim) and config.json
    (settings, data sha256, vocabulary size, training seconds). It is written
    atomically; an existing vectors folder is replaced, any other folder is refused.

    Example: rnnlab embed train --data aclImdb_v1.tar.gz --out vectors/imdb-cbow
    """
    from rnnlab.embeddings.word2vec import Word2VecConfig, train_vectors

    config = Word2VecConfig(
        dim=dim,
        algorithm=algorithm,
        window=window,
        min_count=min_count,
        epochs=epochs,
        seed=seed,
        workers=threads,
    )
    meta = train_vectors(
        data,
        out,
        config,
        text_col=text_col,
        cache_dir=cache_dir,
        log=(lambda _msg: None) if quiet else (lambda msg: typer.echo(msg, err=True)),
    )
    if as_json:
        _echo_json(meta)
        return
    typer.echo(
        f"{config.algorithm} {config.dim}-d vectors for {meta['vocab_size']} words, trained on "
        f"{meta['data']['texts']} texts in {meta['train_seconds']:.1f} s"
    )
    typer.echo(f"vectors: {Path(meta['out']) / meta['vectors']}")


@embed_app.command("neighbors")
@friendly
def neighbors(
    vectors: Path = typer.Argument(..., help=VECTORS_HELP),
    words: list[str] = typer.Argument(..., help="One or more query words."),
    k: int = typer.Option(10, "-k", "--k", help="Neighbours per word."),
    restrict_vocab: int | None = typer.Option(
        None, help="Only consider this many most frequent words. (default: all)"
    ),
    as_json: bool = typer.Option(
        False, "--json", help='Print {"word": [{"word", "similarity"}, ...]} as JSON.'
    ),
) -> None:
    """The K nearest neighbours (cosine similarity) of each WORD.

    Example: rnnlab embed neighbors vectors/imdb-cbow good awful -k 5
    """
    from rnnlab.embeddings.quality import neighbors as run
    from rnnlab.embeddings.word2vec import load_word_vectors

    kv = load_word_vectors(vectors)
    results = {w: run(kv, w, k=k, restrict_vocab=restrict_vocab) for w in words}
    if as_json:
        _echo_json(results)
        return
    for word, found in results.items():
        typer.echo(f"{word}: " + ", ".join(f"{r['word']} ({r['similarity']:.3f})" for r in found))


@embed_app.command("analogy")
@friendly
def analogy(
    vectors: Path = typer.Argument(..., help=VECTORS_HELP),
    a: str = typer.Argument(..., help="The word to start from (king)."),
    b: str = typer.Argument(..., help="The word subtracted (man)."),
    c: str = typer.Argument(..., help="The word added (woman)."),
    k: int = typer.Option(5, "-k", "--k", help="Answers to show."),
    restrict_vocab: int | None = typer.Option(
        None, help="Only answer among this many most frequent words. (default: all)"
    ),
    as_json: bool = typer.Option(
        False, "--json", help='Print [{"word", "similarity"}, ...] as JSON.'
    ),
) -> None:
    """Words closest to A - B + C: `king man woman` asks king - man + woman ~ queen.

    Read it as "A is to B as ? is to C". A, B and C themselves are never answers.

    Example: rnnlab embed analogy vectors/imdb-cbow actor man woman
    """
    from rnnlab.embeddings.quality import analogy as run

    found = run(vectors, a, b, c, k=k, restrict_vocab=restrict_vocab)
    if as_json:
        _echo_json(found)
        return
    typer.echo(
        f"{a} - {b} + {c} ~ " + ", ".join(f"{r['word']} ({r['similarity']:.3f})" for r in found)
    )


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1%}" if pct else f"{value:.3f}"


@embed_app.command("evaluate")
@friendly
def evaluate(
    vectors: Path = typer.Argument(..., help=VECTORS_HELP),
    restrict_vocab: int = typer.Option(
        30000, help="Answer analogies among this many most frequent words (0: all)."
    ),
    similarity: list[Path] | None = typer.Option(
        None,
        "--similarity",
        help="A word-similarity file (word1<TAB>word2<TAB>rating per line); repeatable. "
        "(default: WordSim353 and SimLex-999 from gensim's test data)",
    ),
    analogies: Path | None = typer.Option(
        None,
        help="Analogy questions in word2vec's questions-words.txt format. "
        "(default: the file shipped in gensim's test data)",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print all results as JSON."),
) -> None:
    """Score vectors on word similarity (Spearman/Pearson) and analogies (accuracy).

    Out-of-vocabulary pairs/questions are skipped and counted; "all" accuracy
    also counts them as wrong. Words are lowercased as the tokenizer does when
    the vectors have no entry for them as written.

    Example: rnnlab embed evaluate vectors/imdb-cbow
    """
    from rnnlab.embeddings.quality import evaluate as run

    if restrict_vocab < 0:
        raise RnnlabError(f"--restrict-vocab must be >= 0 (0: all words), got {restrict_vocab}")
    sims = None if not similarity else {p.stem: p for p in similarity}
    result = run(
        vectors, restrict_vocab=restrict_vocab or None, similarity=sims, analogies=analogies
    )
    if as_json:
        _echo_json(result)
        return
    typer.echo(f"vocabulary: {result['vocab_size']} words, {result['vector_size']}-d")
    for name, r in result["similarity"].items():
        typer.echo(
            f"{name}: spearman {_fmt(r['spearman'])}  pearson {_fmt(r['pearson'])}  "
            f"pairs {r['scored']}/{r['pairs']} (OOV {_fmt(r['oov_share'], pct=True)})"
        )
    an = result["analogy"]
    if an is not None:
        typer.echo(f"analogies (top 1 among the {an['restrict_vocab']} most frequent words):")
        for part in ("semantic", "syntactic", "overall"):
            t = an[part]
            typer.echo(
                f"  {part:<9} accuracy {_fmt(t['accuracy'], pct=True)} of "
                f"{t['answered']} answered, {_fmt(t['accuracy_all'], pct=True)} of all "
                f"{t['questions']} (OOV {t['oov']})"
            )
    for note in result["notes"]:
        typer.echo(f"note: {note}", err=True)
    if not result["similarity"] and an is None:
        typer.echo("nothing evaluated: no test files found", err=True)
