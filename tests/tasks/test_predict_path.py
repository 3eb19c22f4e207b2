"""The batch-prediction path of TextClassifier: worker threads, one intra-op thread each,
tokens cut before the vocabulary lookup, bfloat16 opt-in -- and the same predictions as
the one-pass path it replaced (tokenize everything, then the network batch by batch)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from rnnlab.config import ModelConfig, TextConfig
from rnnlab.errors import RnnlabError
from rnnlab.export import one_torch_thread, session_options
from rnnlab.models import SequenceClassifier
from rnnlab.tasks.classify import TextClassifier, encode, known_share
from rnnlab.text import Vocab, tokenize

WORDS = "a fine dull film plot great awful acting it was not 3.50 didn't !".split()


def texts(n: int, seed: int = 0) -> list[str]:
    """``n`` texts of 0-30 words (some longer than maxlen, one empty)."""
    rng = np.random.default_rng(seed)
    out = [" ".join(rng.choice(WORDS, int(rng.integers(0, 31)))) for _ in range(n)]
    out[0] = ""
    return out


def classifier(text: TextConfig | None = None, **kw) -> TextClassifier:
    torch.manual_seed(0)
    vocab = Vocab.build([tokenize(t) for t in WORDS[:10]], max_size=50, min_freq=1)
    cfg = ModelConfig(hidden_size=8, num_layers=2, dropout=0.0)
    net = SequenceClassifier(cfg, len(vocab), 6, 2).eval()
    return TextClassifier(net, vocab, text or TextConfig(maxlen=12), ["neg", "pos"], None, **kw)


def one_pass(clf: TextClassifier, batch: list[str]) -> np.ndarray:
    """The path before: every text encoded, then the network over length buckets."""
    return clf._proba(encode(batch, clf.vocab, clf.text, clf.tokenizer))


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_workers_give_the_one_pass_predictions(backend: str, truncating: str) -> None:
    clf = classifier(TextConfig(maxlen=12, truncating=truncating), backend=backend, threads=2)
    assert clf.backend == backend
    clf.chunk_size = 64  # 300 texts: five chunks for two workers
    batch = texts(300)
    want = one_pass(clf, batch)
    got = clf.predict_proba(batch)
    assert got.shape == (300, 2)
    np.testing.assert_allclose(got, want, atol=1e-6)  # buckets differ: float rounding only
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()
    seqs = encode(batch, clf.vocab, clf.text, clf.tokenizer)
    assert clf._encode(batch) == seqs  # cut, then looked up == looked up, then cut
    assert any(len(tokenize(t)) > 12 for t in batch)  # truncation was exercised
    predictions = clf.predict(batch)
    assert [p["label"] for p in predictions] == [["neg", "pos"][k] for k in want.argmax(axis=1)]
    assert [p["known"] for p in predictions] == [known_share(ids) for ids in seqs]
    assert predictions[0]["known"] == 0.0  # the empty text


def test_batch_work_is_shared_by_workers_on_one_torch_thread_each(monkeypatch) -> None:
    clf = classifier(backend="torch", threads=2)
    clf.chunk_size = 64
    seen: list[tuple[str, int]] = []
    logits = clf._logits

    def spy(ids, lengths):
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        return logits(ids, lengths)

    monkeypatch.setattr(clf, "_logits", spy)
    torch.set_num_threads(2)
    try:
        clf.predict_proba(texts(400))
        assert torch.get_num_threads() == 2  # restored afterwards
    finally:
        torch.set_num_threads(1)
    names = {name for name, _ in seen}
    assert len(names) == 2 and all(n.startswith("rnnlab-predict") for n in names)
    assert {n for _, n in seen} == {1}


def test_one_worker_and_small_inputs_run_in_the_calling_thread(monkeypatch) -> None:
    for threads, n in ((1, 300), (2, 10)):
        clf = classifier(backend="torch", threads=threads)
        seen: list[str] = []

        def spy(batch, run=clf._encode_and_run, seen=seen):
            seen.append(threading.current_thread().name)
            return run(batch)

        monkeypatch.setattr(clf, "_encode_and_run", spy)
        assert clf.predict_proba(texts(n)).shape == (n, 2)
        assert seen == [threading.current_thread().name]  # one call, no pool


def test_inputs_are_read_once_and_checked() -> None:
    clf = classifier(backend="torch", threads=2)
    batch = texts(150)
    want = clf.predict_proba(batch)
    np.testing.assert_allclose(clf.predict_proba(t for t in batch), want, atol=1e-6)
    assert len(clf.predict(iter(batch))) == 150
    assert clf.predict([]) == [] and clf.predict_proba([]).shape == (0, 2)
    with pytest.raises(RnnlabError, match="got a single str"):
        clf.predict("a fine film")


def test_one_torch_thread_nests_and_restores() -> None:
    torch.set_num_threads(2)
    try:
        with one_torch_thread():
            assert torch.get_num_threads() == 1
            with one_torch_thread():
                assert torch.get_num_threads() == 1
            assert torch.get_num_threads() == 1  # the outer user still holds it
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_onnx_sessions_run_on_the_calling_thread_without_spinning() -> None:
    options = session_options(1)
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert session_options(2, spinning=True).intra_op_num_threads == 2


def test_precision_is_checked(monkeypatch) -> None:
    with pytest.raises(RnnlabError, match="precision must be float32, bfloat16 or auto"):
        classifier(precision="float16")
    monkeypatch.setattr("rnnlab.training.loop.bf16_supported", lambda device="cpu": False)
    with pytest.raises(RnnlabError, match="needs a CPU with AVX512_BF16 or AMX"):
        classifier(backend="torch", precision="bfloat16")
    assert classifier(backend="torch", precision="auto").precision == "float32"
    monkeypatch.setattr("rnnlab.training.loop.bf16_supported", lambda device="cpu": True)
    with pytest.raises(RnnlabError, match="precision bfloat16 runs the network with torch"):
        classifier(backend="onnx", precision="bfloat16")
    auto = classifier(backend="auto", precision="bfloat16")
    assert (auto.backend, auto.precision) == ("torch", "bfloat16")  # not onnx
    assert classifier(backend="onnx", precision="auto").precision == "float32"


def test_bfloat16_predictions_are_close_to_float32() -> None:
    from rnnlab.training.loop import bf16_supported

    if not bf16_supported():
        pytest.skip("this CPU has neither AVX512_BF16 nor AMX")
    batch = texts(200)
    fp32 = classifier(backend="torch", threads=1).predict_proba(batch)
    bf16 = classifier(backend="torch", threads=1, precision="bfloat16").predict_proba(batch)
    diff = np.abs(bf16 - fp32).max()
    assert 0 < diff < 0.02  # bfloat16 really ran (the scores moved), and only a little
