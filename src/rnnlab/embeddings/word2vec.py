"""Word2Vec on the training texts, and word vectors loaded from files or folders.

The guide's embedding step: CBOW predicts a word from its context, skip-gram
the context from the word; both are gensim's (see :func:`rnnlab.embeddings.train_word2vec`).
This module trains vectors on a dataset and saves them as an rnnlab vectors
directory, and loads vectors back from such a directory or a word2vec/GloVe file::

    from rnnlab.embeddings.word2vec import load_word_vectors, train_vectors
    train_vectors("aclImdb_v1_labeled.tar.gz", out="vectors/imdb-cbow")   # IMDB train split
    kv = load_word_vectors("vectors/imdb-cbow")

A vectors directory holds ``vectors.bin`` (word2vec binary format, readable by
gensim) and ``config.json`` (settings, data sha256, vocabulary size, training
seconds, sha256 of ``vectors.bin``), written atomically by
:func:`rnnlab.artifacts.write_model_dir`. How good the vectors are is
:mod:`rnnlab.embeddings.quality`'s subject.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from rnnlab.artifacts import FORMAT, base_config, check_output_dir, sha256_file, write_model_dir
from rnnlab.config import Config, EmbeddingConfig, check_value
from rnnlab.data import TextDataset, is_imdb_source, load_dataset
from rnnlab.data.tabular import TABLE_FORMATS, ByteLines, iter_lines, iter_table_texts, open_binary
from rnnlab.embeddings import TokenFile, load_vectors, train_word2vec
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.text import tokenize

KIND = "word2vec"  # config.json "kind" of a vectors directory
VECTORS_FILE = "vectors.bin"


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class Word2VecConfig(Config):
    """Settings of ``rnnlab embed train``; defaults are those of `EmbeddingConfig`."""

    dim: int = EmbeddingConfig.dim  # D, vector size
    algorithm: str = EmbeddingConfig.algorithm  # "cbow" (context -> word) or "skipgram"
    window: int = EmbeddingConfig.window  # context words on each side
    min_count: int = EmbeddingConfig.min_count  # rarer tokens get no vector
    epochs: int = EmbeddingConfig.epochs  # passes over the texts
    seed: int = 0  # initial vectors and sampling
    workers: int = 1  # gensim threads; only 1 gives the same vectors on every run

    def __post_init__(self) -> None:
        check_value(self.dim >= 1, "word2vec.dim", "an integer >= 1", self.dim)
        check_value(
            self.algorithm in ("cbow", "skipgram"),
            "word2vec.algorithm",
            "'cbow' or 'skipgram'",
            self.algorithm,
        )
        check_value(self.window >= 1, "word2vec.window", "an integer >= 1", self.window)
        check_value(self.min_count >= 1, "word2vec.min_count", "an integer >= 1", self.min_count)
        check_value(self.epochs >= 1, "word2vec.epochs", "an integer >= 1", self.epochs)
        check_value(self.workers >= 1, "word2vec.workers", "an integer >= 1", self.workers)


def _check_not_other_model(out: Path) -> None:
    """Refuse to replace an rnnlab model directory of another kind (e.g. a classifier)."""
    try:
        config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(config, dict) and config.get("format") == FORMAT and config.get("kind") != KIND:
        raise ArtifactError(
            f"--out {out} holds a {config.get('kind')!r} model, not word vectors; "
            "choose a new path (only a vectors directory is replaced)"
        )


def train_vectors(
    data: str | Path | TextDataset,
    out: str | Path,
    config: Word2VecConfig | None = None,
    text_col: str = "text",
    cache_dir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train Word2Vec on the texts of `data` and write a vectors directory.

    Parameters
    ----------
    data : str, Path or TextDataset
        ``"imdb"``, an IMDB archive or ``aclImdb`` folder (its *train* split
        only: the test reviews are never seen), a CSV/TSV/JSONL file (only
        the `text_col` column is read; no labels needed) or a .txt file (one
        text per line). Files are streamed: read and tokenized once into a
        temporary token file that gensim re-reads on each pass, so a corpus
        larger than memory works; empty texts are skipped.
    out : str or Path
        Directory to write: ``vectors.bin`` + ``config.json``. A new path, an
        empty folder or an earlier vectors directory (replaced) are accepted.
    config : Word2VecConfig, optional
        Training settings; default ``Word2VecConfig()``.
    text_col : str, optional
        Text column of a table file.
    cache_dir : str or Path, optional
        Download cache for ``"imdb"``.
    log : callable, optional
        Receives one-line progress messages.

    Returns
    -------
    dict
        The config written to ``out/config.json`` plus ``"out"`` (the path).

    Raises
    ------
    ArtifactError
        `out` is a file, a folder of other files, or another kind of model.
    DataError
        The data cannot be read, or no word occurs `min_count` times.
    """
    config = config or Word2VecConfig()
    log = log or (lambda _msg: None)
    out = check_output_dir(out)  # before any work
    _check_not_other_model(out)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rnnlab-w2v-") as tmp:
        corpus, data_meta, counts = _corpus(data, text_col, cache_dir, Path(tmp))
        log(
            f"tokenized {data_meta['texts']} texts ({data_meta['tokens']} tokens) in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        if not counts or max(counts.values()) < config.min_count:
            raise DataError(
                f"{data_meta['source']}: no word occurs {config.min_count} times, so there is "
                "nothing to learn; give more text or lower --min-count"
            )
        del counts
        log(
            f"training {config.algorithm} ({config.dim}-d, window {config.window}, "
            f"min_count {config.min_count}, {config.epochs} epochs)"
        )
        t0 = time.perf_counter()
        kv = train_word2vec(
            corpus,
            dim=config.dim,
            algorithm=config.algorithm,
            window=config.window,
            min_count=config.min_count,
            epochs=config.epochs,
            seed=config.seed,
            workers=config.workers,
        )
    seconds = time.perf_counter() - t0
    log(f"{len(kv.index_to_key)} words in {seconds:.1f} s")
    meta = base_config(KIND)
    meta.update(
        {
            "word2vec": config.to_dict(),
            "data": data_meta,
            "vocab_size": len(kv.index_to_key),
            "vector_size": kv.vector_size,
            "train_seconds": round(seconds, 3),
            "vectors": VECTORS_FILE,
            "vectors_format": "word2vec-binary",
            "gensim_version": _gensim_version(),
        }
    )

    def write_vectors(path: Path) -> None:
        kv.save_word2vec_format(str(path), binary=True)

    written = write_model_dir(out, meta, {VECTORS_FILE: write_vectors}, checked=(VECTORS_FILE,))
    meta["out"] = str(written)
    return meta


def _corpus(data, text_col: str, cache_dir, tmp: Path):
    """``(token lists, data metadata, word counts)`` of the training texts.

    A CSV/TSV/JSONL or plain-text file (one text per line) is streamed:
    read once, tokenized, and the tokens written to a :class:`TokenFile` in
    ``tmp`` that gensim re-reads on each pass -- memory for one text, however
    large the corpus. IMDB (bounded, read from an archive) and an in-memory
    TextDataset give a list.
    """
    if isinstance(data, TextDataset) or is_imdb_source(data):
        if isinstance(data, TextDataset):
            ds, split = data, None
        else:
            ds = load_dataset(data, label_col=None, split="train", cache_dir=cache_dir)
            split = "train"
        tokens = [tokenize(t) for t in ds.texts]
        counts = Counter(chain.from_iterable(tokens))
        meta = {
            "source": ds.source,
            "sha256": ds.sha256,
            "split": split,
            "texts": len(tokens),
            "tokens": sum(counts.values()),
        }
        return tokens, meta, counts
    path = Path(data).expanduser()
    if path.is_dir():
        raise DataError(
            f"{path} is a folder but not an IMDB one; pass a .csv, .tsv, .jsonl or .txt file "
            "(one text per line), an IMDB archive, or 'imdb'"
        )
    suffix = path.suffix.lower()
    if suffix not in (*TABLE_FORMATS, ".txt"):
        raise DataError(
            f"{path}: unsupported file type '{suffix or '(none)'}'; use one of "
            f"{', '.join(TABLE_FORMATS)} or .txt (one text per line)"
        )
    counts: Counter[str] = Counter()
    n_texts = 0

    def token_lists():
        nonlocal n_texts
        for _, text in texts:
            if text.strip():
                tokens = tokenize(text)
                counts.update(tokens)
                n_texts += 1
                yield tokens

    with open_binary(path) as fh:
        lines = ByteLines(fh)
        if suffix == ".txt":
            texts = iter_lines(lines, str(path))
        else:
            texts = iter_table_texts(lines, str(path), suffix, text_col)
        corpus = TokenFile.write(tmp / "tokens.jsonl", token_lists())
        sha = lines.sha256
    if not n_texts:
        raise DataError(f"{path} has no texts; it needs at least one non-empty line or row")
    meta = {
        "source": str(path),
        "sha256": sha,
        "split": None,
        "texts": n_texts,
        "tokens": sum(counts.values()),
    }
    return corpus, meta, counts


def _gensim_version() -> str:
    import gensim

    return gensim.__version__


# --------------------------------------------------------------------------- loading


def load_word_vectors(source: Any):
    """Word vectors from a directory of ``rnnlab embed train`` or a vector file.

    Parameters
    ----------
    source : str, Path or KeyedVectors
        A vectors directory (its ``vectors.bin`` sha256 is checked against
        ``config.json``), a word2vec text/binary or GloVe file (see
        :func:`rnnlab.embeddings.load_vectors`), or vectors already loaded
        (returned as they are).

    Returns
    -------
    gensim.models.KeyedVectors
    """
    if not isinstance(source, str | Path):
        if hasattr(source, "key_to_index") and hasattr(source, "vectors"):
            return source
        raise RnnlabError(
            "vectors must be a KeyedVectors, a vectors directory or a word2vec/GloVe file path, "
            f"got {type(source).__name__}"
        )
    path = Path(source).expanduser()
    if not path.exists():
        raise RnnlabError(
            f"vectors not found: {path}; give a folder written by `rnnlab embed train` "
            "or a word2vec/GloVe file"
        )
    if not path.is_dir():
        return load_vectors(path)
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(
            f"{path} has no config.json: not a vectors directory; give a folder written by "
            "`rnnlab embed train` or a word2vec/GloVe file"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path / 'config.json'} is corrupted ({exc}); train again") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not an rnnlab directory (config.json has no format)")
    if config.get("kind") != KIND:
        raise ArtifactError(
            f"{path} holds a {config.get('kind')!r} model, not word vectors; give a folder "
            "written by `rnnlab embed train` or a word2vec/GloVe file"
        )
    name = config.get("vectors", VECTORS_FILE)
    file = path / name
    if not file.is_file():
        raise ArtifactError(f"vectors directory {path} is incomplete: missing {name}; train again")
    expected = config.get("files", {}).get(name)
    if expected is not None and sha256_file(file) != expected:
        raise ArtifactError(
            f"{file} is corrupted (sha256 differs from the one recorded at training); train again"
        )
    return load_vectors(file, fmt=config.get("vectors_format", "word2vec-binary"))
