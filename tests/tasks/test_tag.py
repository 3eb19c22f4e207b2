"""train_tagger / load / evaluate_tagger on a generated tagging language.

The toy language (:func:`rnnlab.data.synthetic.toy_treebank`) has ambiguous words whose
tag only the left context gives (NOUN after "the", VERB after "to") and made-up
words whose tag only the ending gives (-ous ADJ, -ly ADV).
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.artifacts import read_config
from rnnlab.config import TrainConfig
from rnnlab.data.conllu import to_conllu_text
from rnnlab.data.synthetic import AMBIGUOUS, SUFFIX_TAGS, toy_treebank
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.models.tagger import TaggerConfig
from rnnlab.tasks.base import TrainResult
from rnnlab.tasks.tag import Tagger, evaluate_tagger, load, train_tagger
from rnnlab.text import tokenize

SMALL = TaggerConfig(hidden_size=24, word_dim=16, char_dim=12, char_features=24, dropout=0.1)
FAST = TrainConfig(epochs=6, batch_size=16, lr=1e-2, lr_decay=0.9, patience=2, threads=1)
QUIET = dict(progress=False, log=lambda _m: None)


def write_conllu(path: Path, tb) -> Path:
    path.write_text(to_conllu_text(tb.sentences), encoding="utf-8")
    return path


def ambiguous_and_suffix_accuracy(tagger, tb) -> tuple[float, float]:
    pred = tagger.tag([s.forms for s in tb.sentences])
    amb, suf = [], []
    for s, tags in zip(tb.sentences, pred, strict=True):
        for form, gold, got in zip(s.forms, s.upos, tags, strict=True):
            if form.lower() in AMBIGUOUS:
                amb.append(got == gold)
            elif form.endswith(tuple(SUFFIX_TAGS)):
                suf.append(got == gold)
    return float(np.mean(amb)), float(np.mean(suf))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small char-CNN tagger trained from .conllu files (train, dev, test)."""
    d = tmp_path_factory.mktemp("tagger")
    files = {
        name: write_conllu(d / f"toy-ud-{name}.conllu", toy_treebank(n, seed))
        for name, n, seed in (("train", 160, 0), ("dev", 40, 1), ("test", 80, 2))
    }
    result = train_tagger(
        files["train"],
        files["dev"],
        files["test"],
        out=d / "model",
        model=SMALL,
        training=FAST,
        **QUIET,
    )
    return result, files


@pytest.mark.slow
def test_learns_context_and_suffixes_of_unseen_words(trained) -> None:
    # Calibration (data and weight seeds 0-4, these settings): ambiguous words 1.00 and
    # unseen-suffix words 1.00 with chars; without chars unseen words score 0.37-0.63
    # (they are all one <unk>; chance is 0.5).
    result, _ = trained
    amb, suf = ambiguous_and_suffix_accuracy(result.model, toy_treebank(120, seed=7))
    assert amb >= 0.95
    assert suf >= 0.90
    test = result.metrics["test"]
    assert test["oov"]["n"] > 0  # the made-up words are out of the vocabulary
    assert test["oov"]["accuracy"] >= 0.90
    assert test["accuracy"] >= 0.95


@pytest.mark.slow
def test_without_characters_unseen_words_are_guesses(tmp_path) -> None:
    lines: list[str] = []
    result = train_tagger(
        toy_treebank(160, 0),
        toy_treebank(40, 1),
        out=tmp_path / "m",
        model=SMALL.replace(char=False),
        training=FAST,
        progress=False,
        log=lines.append,
    )
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == len(result.history)
    assert " acc " in epochs[0] and "| dev loss " in epochs[0]  # the dev treebank validates
    assert f"kept epoch {result.best_epoch} (lowest dev loss)" in lines
    amb, suf = ambiguous_and_suffix_accuracy(result.model, toy_treebank(120, seed=7))
    assert amb >= 0.95  # context still works
    assert suf <= 0.75  # but an <unk> word's ending is invisible


@pytest.mark.slow
def test_model_directory_and_round_trip(trained) -> None:
    result, files = trained
    out = result.out
    config = read_config(out, kind="tagger")
    assert set(config["files"]) == {"vocab.json", "chars.json", "model.safetensors"}
    assert config["tag_names"] == sorted(
        {"PRON", "VERB", "PART", "DET", "NOUN", "AUX", "ADJ", "ADV", "PUNCT"}
    )
    assert config["data"]["train"]["sentences"] == 160
    for name in ("metrics.json", "history.jsonl", "learning_curve.png", "confusion_matrix.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    assert isinstance(result, TrainResult) and isinstance(result.model, Tagger)
    assert result.model.path == out and result.model.config["tag_names"] == config["tag_names"]
    assert set(metrics) == {"dev", "test", "timing"}
    assert metrics["timing"]["epochs_run"] == len(result.history) >= result.best_epoch >= 1
    loaded = load(out)
    sents = [s.forms for s in toy_treebank(30, seed=9).sentences]
    assert loaded.tag(sents) == result.model.tag(sents)
    assert loaded.tag_names == config["tag_names"]
    # the package-level loader dispatches on kind "tagger" to the same loader
    from rnnlab.tasks import load as load_any

    via_registry = load_any(out, threads=1)
    assert isinstance(via_registry, Tagger) and via_registry.tag(sents) == loaded.tag(sents)
    assert torch.get_num_threads() == 1  # load's threads=N sets torch's thread count
    with pytest.raises(RnnlabError, match="threads must be None, 0"):
        load(out, threads=-1)


@pytest.mark.slow
def test_tags_do_not_depend_on_batch_composition(trained) -> None:
    tagger = trained[0].model
    sents = [s.forms for s in toy_treebank(25, seed=4).sentences] + [["Book"], []]
    together = tagger.tag(sents)
    assert [tagger.tag([s])[0] for s in sents] == together
    tagger.batch_size = 3
    assert tagger.tag(sents) == together
    assert together[-1] == []


@pytest.mark.slow
def test_tag_texts_keeps_the_case_of_tokens(trained) -> None:
    tagger = trained[0].model
    (pairs,) = tagger.tag_texts(["We want to play the song."])
    assert [t for t, _ in pairs] == ["We", "want", "to", "play", "the", "song", "."]
    assert dict(pairs)["play"] == "VERB"
    assert tagger.tag_texts([]) == []


@pytest.mark.slow
def test_evaluate_figures_are_consistent(trained, tmp_path) -> None:
    result, files = trained
    m = evaluate_tagger(result.out, files["test"], out=tmp_path / "eval")
    tb = toy_treebank(80, 2)
    pred = result.model.tag([s.forms for s in tb.sentences])
    gold = [t for s in tb.sentences for t in s.upos]
    flat = [t for p in pred for t in p]
    assert m["n_tokens"] == len(gold)
    assert m["accuracy"] == pytest.approx(np.mean(np.array(gold) == np.array(flat)))
    vocab = result.model.encoder.vocab
    assert m["oov"]["n"] == sum(f.lower() not in vocab for s in tb.sentences for f in s.forms)
    assert sum(r["support"] for r in m["per_tag"].values()) == len(gold)
    counts = [c["count"] for c in m["confused"]]
    assert counts == sorted(counts, reverse=True) and len(counts) <= 10
    assert all(c["true"] != c["predicted"] for c in m["confused"])
    cm = np.array(m["confusion_matrix"])
    assert int(np.trace(cm)) == int(round(m["accuracy"] * len(gold)))
    assert (tmp_path / "eval" / "metrics.json").is_file()
    assert (tmp_path / "eval" / "confusion_matrix.png").is_file()


@pytest.mark.slow
def test_same_seed_same_weights(tmp_path) -> None:
    import torch

    cfg, tr = SMALL.replace(hidden_size=6), FAST.replace(epochs=1)
    nets = [
        train_tagger(
            toy_treebank(24, 0),
            toy_treebank(8, 1),
            out=tmp_path / f"m{i}",
            model=cfg,
            training=tr,
            **QUIET,
        ).model.net
        for i in range(2)
    ]
    for a, b in zip(nets[0].state_dict().values(), nets[1].state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_archive_sources_and_errors(tmp_path, trained) -> None:
    archive = tmp_path / "ud_toy.tar.gz"
    member = write_conllu(tmp_path / "toy-ud-test.conllu", toy_treebank(12, 3))
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(member, arcname="UD_Toy/toy-ud-test.conllu")
    model = trained[0].out
    assert evaluate_tagger(model, archive, split="test")["n_sentences"] == 12
    assert evaluate_tagger(model, (archive, "test"))["n_sentences"] == 12
    with pytest.raises(DataError, match="archive; also give the split"):
        evaluate_tagger(model, archive)
    with pytest.raises(DataError, match="no \\*-ud-dev.conllu"):
        evaluate_tagger(model, archive, split="dev")
    with pytest.raises(DataError, match="treebank not found"):
        train_tagger(tmp_path / "nope.conllu", member, out=tmp_path / "x", **QUIET)
    with pytest.raises(RnnlabError, match="column must be one of upos"):
        train_tagger(member, member, out=tmp_path / "x", column="xpos", **QUIET)


def test_loading_something_else_is_a_clear_error(tmp_path) -> None:
    from rnnlab.artifacts import base_config, json_writer, write_model_dir

    other = tmp_path / "clf"
    write_model_dir(
        other,
        base_config("classifier"),
        {"vocab.json": json_writer({}), "model.safetensors": json_writer({})},
    )
    with pytest.raises(ArtifactError, match="holds a 'classifier' model, expected 'tagger'"):
        load(other)
    with pytest.raises(ArtifactError, match="model directory not found"):
        load(tmp_path / "missing")


@pytest.mark.slow
def test_bad_inputs_name_the_problem(trained) -> None:
    tagger = trained[0].model
    with pytest.raises(RnnlabError, match="single str"):
        tagger.tag("The book")
    with pytest.raises(RnnlabError, match="sentence 0 must be a list of str tokens"):
        tagger.tag(["The book"])
    with pytest.raises(RnnlabError, match="single str"):
        tagger.tag_texts("The book")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="aBcDéÉ '.,-_3<>/&;!", max_size=40))
def test_tokenize_can_keep_the_case_and_otherwise_splits_the_same(text: str) -> None:
    kept = tokenize(text, lowercase=False)
    assert [t.lower() for t in kept] == tokenize(text)
