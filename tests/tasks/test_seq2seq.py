"""rnnlab.tasks.seq2seq: data specs, train -> model directory -> load -> translate, metrics."""

from __future__ import annotations

import json

import pytest

from rnnlab.artifacts import read_config
from rnnlab.config import TrainConfig
from rnnlab.data.conllu import Sentence, to_conllu_text
from rnnlab.data.parallel import write_parallel_tsv
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.models.seq2seq import Seq2SeqConfig
from rnnlab.tasks.base import TrainResult
from rnnlab.tasks.seq2seq import (
    Seq2SeqTextConfig,
    Translator,
    build_vocabs,
    evaluate,
    load,
    load_pairs,
    train_seq2seq,
)
from rnnlab.training.metrics import edit_distance, score_outputs

TINY_MODEL = Seq2SeqConfig(embedding_dim=8, hidden_size=8, max_output_len=12)
TINY_TRAIN = TrainConfig(epochs=2, batch_size=16, lr=1e-2, threads=1)


def word_pairs(n: int = 60) -> list[tuple[str, str]]:
    words = ["red", "blue", "green", "cat", "dog", "big", "small"]
    out = []
    for i in range(n):
        a, b = words[i % 7], words[(3 * i + 1) % 7]
        out.append((f"{a} {b}", f"{b.upper()} {a.upper()} ."))
    return out


@pytest.fixture(scope="module")
def word_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("s2s") / "model"
    pairs = word_pairs()
    result = train_seq2seq(
        pairs[:50],
        out,
        test_data=pairs[50:],
        text=Seq2SeqTextConfig(level="word"),
        model=TINY_MODEL,
        training=TINY_TRAIN,
        progress=False,
        log=lambda _m: None,
    )
    return result


@pytest.mark.slow
def test_model_directory_and_round_trip(word_model):
    out = word_model.out
    names = {p.name for p in out.iterdir()}
    assert {
        "config.json",
        "vocab.json",
        "model.safetensors",
        "metrics.json",
        "history.jsonl",
        "learning_curve.png",
    } <= names
    config = read_config(out, kind="seq2seq")
    assert config["text"]["level"] == "word" and config["model"]["hidden_size"] == 8
    assert config["data"]["n_train"] + config["data"]["n_validation"] == 50
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["n"] == 10 and metrics["test"]["bleu"] is not None
    vocab = json.loads((out / "vocab.json").read_text())
    assert vocab["target"]["itos"][:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert "RED" in vocab["target"]["itos"] and "red" in vocab["source"]["itos"]

    # the saved model decodes the test pairs exactly as the in-memory model did at the
    # end of training: same metrics and the same outputs for every mistake (10 pairs, all kept)
    assert isinstance(word_model, TrainResult) and isinstance(word_model.model, Translator)
    assert word_model.model.path == out and word_model.model.config["kind"] == "seq2seq"
    assert set(metrics) == {"validation", "test", "timing"}
    assert metrics["timing"]["epochs_run"] == len(word_model.history)
    re_eval = evaluate(out, word_pairs()[50:])
    assert re_eval["exact_match"] == metrics["test"]["exact_match"]
    assert re_eval["cer"] == pytest.approx(metrics["test"]["cer"])
    assert re_eval["errors"] == metrics["test"]["errors"]
    # two loads agree, greedy and beam
    texts = [s for s, _ in word_pairs(20)]
    a, b = load(out, threads=1), load(out, threads=1)
    for beam in (1, 3):
        assert a.predict(texts, beam_size=beam) == b.predict(texts, beam_size=beam)
    # the in-memory model returned by training translates as the loaded one
    assert word_model.model.translate(texts) == a.translate(texts)
    # the package-level loader dispatches on kind "seq2seq" to the same loader
    from rnnlab.tasks import load as load_any

    assert load_any(out, threads=1).translate(texts) == a.translate(texts)


@pytest.mark.slow
def test_char_level_predict_and_validation_split(tmp_path):
    pairs = [(w, w[::-1]) for w in ["abc", "hola", "perro", "gato", "sol", "luna"] * 4]
    lines: list[str] = []
    result = train_seq2seq(
        pairs,
        tmp_path / "m",
        model=TINY_MODEL,
        training=TINY_TRAIN,
        progress=False,
        log=lines.append,
    )
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == len(result.history) and "token acc" in epochs[0]
    texts = ["abc", "luna", "xyz", ""]
    loaded = load(result.out, threads=1)
    outputs = loaded.predict(texts, beam_size=2)
    assert [o["translation"] for o in outputs] == loaded.translate(texts, beam_size=2)
    assert all(isinstance(o["score"], float) and o["score"] <= 0 for o in outputs)
    assert result.metrics["validation"]["n"] == round(len(pairs) * 0.1)


def test_data_specs(tmp_path):
    train = load_pairs("dates:40", "train", seed=1)
    assert len(train) == 40 and all(len(t) == 10 for _, t in train)
    test = load_pairs("dates:40", "test", seed=1, exclude={s for s, _ in train})
    assert not {s for s, _ in train} & {s for s, _ in test}
    assert load_pairs("dates:40", "train", seed=1) == train

    s1 = Sentence(["Dogs", "ran", "dogs"], ["dog", "run", "dog"], ["NOUN", "VERB", "NOUN"])
    s2 = Sentence(["ran"], ["run"], ["VERB"])
    path = tmp_path / "tb.conllu"
    path.write_text(to_conllu_text([s1, s2]), encoding="utf-8")
    assert load_pairs(f"lemmas:{path}", "train") == [
        ("Dogs", "dog"),
        ("ran", "run"),
        ("dogs", "dog"),
    ]
    assert len(load_pairs(f"lemmas:{path}", "test")) == 4  # every token

    tsv = write_parallel_tsv([("a", "b")], tmp_path / "p.tsv")
    assert load_pairs(str(tsv)) == [("a", "b")]
    with pytest.raises(DataError, match="dates:N"):
        load_pairs("dates:many")
    with pytest.raises(DataError, match="not found"):
        load_pairs(str(tmp_path / "nope.tsv"))
    with pytest.raises(DataError, match="pair 1"):
        load_pairs([("a", "b"), ("c",)])


def test_vocabularies_have_specials_and_come_from_training_pairs():
    src, tgt = build_vocabs([("ab", "xy"), ("b", "y")], Seq2SeqTextConfig())
    assert src.itos == ["<pad>", "<unk>", "b", "a"]
    assert tgt.itos == ["<pad>", "<unk>", "<s>", "</s>", "y", "x"]


def test_metrics_by_hand():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    m = score_outputs(["2020-01-01", "2020-01-02"], ["2020-01-01", "2020-01-03"], "char")
    assert m["exact_match"] == 0.5 and m["cer"] == pytest.approx(1 / 20) and m["bleu"] is None
    w = score_outputs(["the cat sat on the mat"], ["the cat sat on the mat"], "word")
    assert w["bleu"] == pytest.approx(100.0)


@pytest.mark.slow
def test_user_errors(tmp_path, word_model):
    model = load(word_model.out, threads=1)
    with pytest.raises(RnnlabError, match="single str"):
        model.translate("red cat")
    with pytest.raises(RnnlabError, match="beam_size"):
        model.translate(["red cat"], beam_size=0)
    with pytest.raises(ArtifactError, match="not found"):
        load(tmp_path / "missing")
    with pytest.raises(DataError, match="at least 4"):
        train_seq2seq([("a", "b")], tmp_path / "x", progress=False, log=lambda _m: None)
    with pytest.raises(RnnlabError, match="text.level"):
        Seq2SeqTextConfig(level="byte")
