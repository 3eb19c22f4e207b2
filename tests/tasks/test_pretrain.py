"""Self-supervised pretraining (``rnnlab.tasks.pretrain``): settings, the sampled-softmax
objectives, the encoder the classifier can load by name, the directory and its loader."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig
from rnnlab.data import TextDataset
from rnnlab.errors import ArtifactError, DataError, RnnlabError
from rnnlab.models import SequenceClassifier
from rnnlab.models.recurrent import pool
from rnnlab.tasks.pretrain import (
    Encoder,
    EncoderTask,
    PretrainConfig,
    PretrainNet,
    encoder_state,
    pretrain_step,
    scheduled_lr,
    train_encoder,
)

WORDS = [f"w{i}" for i in range(20)]


def cyclic_texts(n: int, seed: int = 0) -> list[str]:
    """Runs of consecutive words of a 20-word cycle: each token is fixed by its neighbours
    (what mlm learns) and by the one before or after it (what lm learns)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        start, length = rng.randrange(20), rng.randint(8, 20)
        texts.append(" ".join(WORDS[(start + k) % 20] for k in range(length)))
    return texts


# Small and fast: random 16-d vectors, 2-layer BiLSTM(16) without dropout, batches of 4.
TINY_MODEL = ModelConfig(hidden_size=16, dropout=0.0)
TINY_EMBEDDING = EmbeddingConfig(source="random", dim=16)


def tiny(objective: str = "mlm", **changes) -> PretrainConfig:
    settings = dict(objective=objective, epochs=3, negatives=32, mask=0.3, lr=2e-2, batch_size=4)
    return PretrainConfig(**{**settings, "threads": 1, **changes})


def pretrain(texts, out, objective="mlm", seed=0, **changes):
    return train_encoder(
        texts,
        out,
        embedding=TINY_EMBEDDING,
        model=TINY_MODEL,
        pretrain=tiny(objective, seed=seed, **changes),
        progress=False,
        log=lambda _msg: None,
    )


# ------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("objective", "gpt", "pretrain.objective must be 'mlm' or 'lm'"),
        ("mask", 1.5, "pretrain.mask must be in (0, 1)"),
        ("mask", 0.0, "pretrain.mask"),
        ("mask", float("nan"), "pretrain.mask"),
        ("epochs", 0, "pretrain.epochs must be an integer >= 1"),
        ("negatives", 0, "pretrain.negatives"),
        ("batch_size", 2.5, "pretrain.batch_size"),
        ("warmup", 1.0, "pretrain.warmup"),
        ("final_lr", -0.1, "pretrain.final_lr"),
        ("lr", 0, "pretrain.lr"),
        ("device", "gpu", "pretrain.device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        ("device", "cuda:", "pretrain.device"),
        ("val_fraction", 0.5, "pretrain.val_fraction"),
        ("threads", -1, "pretrain.threads"),
    ],
)
def test_config_refuses_bad_values_naming_the_field(field, value, needle) -> None:
    with pytest.raises(RnnlabError) as err:
        PretrainConfig(**{field: value})
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_config_from_dict_refuses_unknown_keys() -> None:
    with pytest.raises(RnnlabError, match="unknown PretrainConfig key"):
        PretrainConfig.from_dict({"masking": 0.2})


def test_schedule_is_the_prototypes_warmup_then_linear_decay() -> None:
    """benchmarks/pretrain_explore.py: lr * min(1, 20 f) * (1 - 0.9 f), f = step / total."""
    cfg, total = PretrainConfig(lr=2e-3), 400
    for step in (0, 1, 10, 19, 20, 21, 200, 399):
        f = step / total
        assert scheduled_lr(cfg, step, total) == pytest.approx(
            2e-3 * min(1.0, 20 * f) * (1 - 0.9 * f)
        )
    flat = PretrainConfig(lr=1e-3, warmup=0.0, final_lr=1.0)
    assert {scheduled_lr(flat, s, 10) for s in range(10)} == {1e-3}


def test_the_loops_settings_come_from_the_pretrain_config() -> None:
    train = PretrainConfig(epochs=4, lr=1e-3, batch_size=16, seed=3).training()
    assert (train.epochs, train.lr, train.batch_size, train.seed) == (4, 1e-3, 16, 3)
    assert train.lr_decay == 1.0  # the rate is scheduled per step instead
    assert train.patience >= train.epochs  # the whole planned schedule runs


# -------------------------------------------------------------------------- network


def test_embedding_and_rnn_are_the_classifiers_names_shapes_and_initial_values() -> None:
    cfg = ModelConfig(hidden_size=8, num_layers=2)
    torch.manual_seed(0)
    net = PretrainNet(cfg, 30, 6, PretrainConfig())
    torch.manual_seed(0)
    clf = SequenceClassifier(cfg, 30, 6, 2)
    shared = {k: v for k, v in net.state_dict().items() if not k.startswith("proj.")}
    theirs = {k: v for k, v in clf.state_dict().items() if not k.startswith("head.")}
    assert shared.keys() == theirs.keys()
    assert any(k.startswith("rnn.") for k in shared) and "embedding.weight" in shared
    for name, value in shared.items():
        assert torch.equal(value, theirs[name]), name


def test_a_classifier_loading_the_encoder_pools_the_same_features() -> None:
    cfg = ModelConfig(hidden_size=8, num_layers=2, dropout=0.0)
    net = PretrainNet(cfg, 30, 6, PretrainConfig()).eval()
    clf = SequenceClassifier(cfg, 30, 6, 2).eval()
    state = {k: v for k, v in net.state_dict().items() if not k.startswith("proj.")}
    missing, unexpected = clf.load_state_dict(state, strict=False)
    assert sorted(missing) == ["head.bias", "head.weight"] and not unexpected
    ids = torch.tensor([[5, 6, 7, 8, 9], [10, 11, 12, 0, 0]])  # (2, 5), post-padded
    lengths = torch.tensor([5, 3])
    with torch.no_grad():
        ours = net.features(ids, lengths)  # (2, 4H)
        out = clf.rnn(clf.embedding(ids), lengths)
        theirs = pool(out, lengths, cfg.pooling, clf.rnn.directions)
    assert ours.shape == (2, 4 * 8)
    assert torch.allclose(ours, theirs)


def test_cell_none_has_nothing_to_pretrain() -> None:
    with pytest.raises(RnnlabError, match="recurrent encoder"):
        PretrainNet(ModelConfig(cell="none"), 30, 6, PretrainConfig())


@pytest.mark.parametrize("objective", ["mlm", "lm"])
def test_step_is_deterministic_given_the_batch_seed_and_counts_its_tokens(objective) -> None:
    net = PretrainNet(ModelConfig(hidden_size=8), 30, 6, tiny(objective)).eval()
    ids = torch.randint(2, 30, (4, 12), generator=torch.Generator().manual_seed(1))  # (4, 12)
    lengths = torch.tensor([12, 9, 5, 2])
    a = pretrain_step(net, (ids, lengths, 7))
    b = pretrain_step(net, (ids, lengths, 7))
    c = pretrain_step(net, (ids, lengths, 8))
    assert float(a[0].detach()) == float(b[0].detach()) and a[1:] == b[1:]
    assert float(a[0].detach()) != float(c[0].detach())
    assert torch.isfinite(a[0]) and 0 <= a[1] <= a[2]
    if objective == "lm":  # every true token but the first (forward) and last (backward)
        assert a[2] == 2 * sum(int(n) - 1 for n in lengths)


def test_lm_targets_are_the_next_and_the_previous_token() -> None:
    net = PretrainNet(ModelConfig(hidden_size=8, dropout=0.0), 30, 6, tiny("lm"))
    ids = torch.tensor([[2, 3, 4, 5], [6, 7, 0, 0]])  # (2, 4)
    _, targets = net._lm_hidden(ids, torch.tensor([4, 2]))
    # forward heads at t predict t+1, then the backward heads at t predict t-1
    assert targets.tolist() == [3, 4, 5, 7] + [2, 3, 4, 6]


def test_unknown_tokens_are_never_targets_and_an_empty_batch_gives_zero_loss() -> None:
    net = PretrainNet(ModelConfig(hidden_size=8), 30, 6, tiny("mlm", mask=0.99))
    ids = torch.ones((3, 6), dtype=torch.long)  # every token <unk>
    loss, correct, n = pretrain_step(net, (ids, torch.tensor([6, 6, 6]), 0))
    assert (float(loss.detach()), correct, n) == (0.0, 0.0, 0.0)
    loss.backward()  # a graph, no NaN: the loop can step on it


def test_accidental_hits_are_removed_from_the_negatives() -> None:
    """A proposal that only ever draws the target: every negative is an accidental hit,
    so the true token stands alone (loss ~0, ranked first every time)."""
    counts = np.zeros(30)
    counts[5] = 1.0
    net = PretrainNet(ModelConfig(hidden_size=8), 30, 6, tiny("mlm", mask=0.5), counts=counts)
    ids = torch.full((2, 10), 5)
    loss, correct, n = pretrain_step(net, (ids, torch.tensor([10, 10]), 3))
    assert n > 0 and correct == n
    assert float(loss) < 1e-6


# --------------------------------------------------------------------------- reading


def test_read_takes_texts_only_and_holds_out_a_seeded_share() -> None:
    texts = cyclic_texts(60)
    labeled = TextDataset(texts, [i % 2 for i in range(60)], ["neg", "pos"], source="mem")
    task = EncoderTask(labeled, TextConfig(), TINY_EMBEDDING, TINY_MODEL, tiny(), "text", None)
    data = task.read(lambda _msg: None)
    assert len(data["val"]) == 3 and len(data["train"]) == 57  # 5% of 60
    assert sorted(data["train"] + data["val"]) == sorted(texts)
    again = EncoderTask(texts, TextConfig(), TINY_EMBEDDING, TINY_MODEL, tiny(), "text", None)
    assert again.read(lambda _msg: None)["val"] == data["val"]  # the same seed, the same split
    other = EncoderTask(texts, TextConfig(), TINY_EMBEDDING, TINY_MODEL, tiny(seed=1), "text", None)
    assert other.read(lambda _msg: None)["val"] != data["val"]


def test_read_refuses_too_few_texts() -> None:
    task = EncoderTask(["only one"], TextConfig(), TINY_EMBEDDING, TINY_MODEL, tiny(), "text", None)
    with pytest.raises(DataError, match="at least 2 texts"):
        task.read(lambda _msg: None)


# ------------------------------------------------------------------------- training


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["mlm", "lm"])
def test_loss_goes_down_on_a_learnable_corpus(tmp_path, objective) -> None:
    """Calibration (corpus and run seeds 0-4, 60 texts, 3 epochs of 15 batches): the last
    epoch's train loss was 0.48-0.75 of the first's for mlm (0.63 at seed 0, the one
    tested), 0.02-0.05 for lm; the held-out loss fell every time (mlm 3.0-3.5 -> 1.4-2.5,
    lm 0.7-1.1 -> 0.03-0.08). The limit, 0.85, leaves room above the worst seed."""
    result = pretrain(cyclic_texts(60), tmp_path / "enc", objective)
    first, last = result.history[0], result.history[-1]
    assert len(result.history) == 3
    assert last["train_loss"] < 0.85 * first["train_loss"]
    assert last["val_loss"] < first["val_loss"]
    assert last["train_accuracy"] > first["train_accuracy"]
    # the rate was set before every step: at each epoch's end, the schedule's last value
    cfg, per_epoch = tiny(objective), 15
    for record in result.history:
        done = record["epoch"] * per_epoch
        assert record["lr"] == pytest.approx(scheduled_lr(cfg, done - 1, 3 * per_epoch))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain") / "enc"
    return pretrain(cyclic_texts(60), out, "mlm")


@pytest.mark.slow
def test_directory_loads_as_an_encoder_that_encodes(trained) -> None:
    enc = rnnlab.load(trained.out, threads=1)
    assert isinstance(enc, Encoder)
    texts = cyclic_texts(7, seed=5)
    features = enc.encode(texts)
    p = 2 * 2 * TINY_MODEL.hidden_size  # max+mean pooling of a BiLSTM
    assert features.shape == (7, p) == (7, enc.config["feature_size"])
    assert features.dtype == np.float32 and np.isfinite(features).all()
    assert np.array_equal(features, trained.model.encode(texts))  # as trained, as loaded
    assert np.array_equal(enc.encode(texts[::-1]), features[::-1])  # input order
    assert enc.encode([]).shape == (0, p)
    with pytest.raises(RnnlabError, match="list of strings"):
        enc.encode("a single text")
    config = enc.config
    assert config["kind"] == "encoder" and config["pretrain"]["objective"] == "mlm"
    assert config["data"]["n_train"] == 57 and config["data"]["n_validation"] == 3
    assert set(trained.metrics["validation"]) >= {"loss", "accuracy"}


@pytest.mark.slow
def test_encoder_state_holds_what_the_classifier_shares(trained) -> None:
    config, vocab, tokenizer, state = encoder_state(trained.out)
    assert config["kind"] == "encoder" and len(vocab) == config["vocab_size"]
    assert tokenizer("w1 w2") == ["w1", "w2"]
    assert state and all(k.startswith(("embedding.", "rnn.")) for k in state)
    clf = SequenceClassifier(
        ModelConfig.from_dict(config["model"]), config["vocab_size"], config["embedding_dim"], 2
    )
    missing, unexpected = clf.load_state_dict(state, strict=False)
    assert sorted(missing) == ["head.bias", "head.weight"] and not unexpected


@pytest.mark.slow
def test_a_tampered_weight_file_is_refused_in_one_line(trained, tmp_path) -> None:
    import shutil

    copy = tmp_path / "enc"
    shutil.copytree(trained.out, copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one bit pattern of one weight
    weights.write_bytes(bytes(data))
    for opener in (rnnlab.load, encoder_state):
        with pytest.raises(ArtifactError) as err:
            opener(copy)
        assert "model.safetensors" in str(err.value) and "\n" not in str(err.value)


def test_a_classifier_fine_tunes_the_encoder(trained, tmp_path) -> None:
    """``train(..., encoder=DIR)``: the encoder's tokenizer, vocabulary and sizes, its
    weights as the starting point (no Word2Vec step), the encoder recorded."""
    from rnnlab.config import TrainConfig
    from rnnlab.tasks.classify import train as train_classifier

    texts = cyclic_texts(120, seed=3)
    labels = [int(t.split()[0] in WORDS[:10]) for t in texts]
    ds = TextDataset(texts, labels, ["a", "b"], source="cyclic")
    logs: list[str] = []
    enc = encoder_state(trained.out)
    res = train_classifier(
        ds,
        tmp_path / "clf",
        model=ModelConfig(hidden_size=99, num_layers=1, wide_ngrams=0),  # sizes: the encoder's
        training=TrainConfig(epochs=1, lr=1e-12, threads=1),  # (almost) no step: compare
        progress=False,
        log=logs.append,
        encoder=trained.out,
    )
    config = res.model.config
    assert config["encoder"]["path"] == str(trained.out)
    assert config["embedding"]["source"] == "encoder"
    assert not any("word2vec" in line for line in logs)
    assert config["model"]["hidden_size"] == 16 and config["model"]["num_layers"] == 2
    assert res.model.vocab.itos == enc.vocab.itos
    state = res.model.net.state_dict()
    for name, tensor in enc.state.items():
        assert torch.allclose(state[name], tensor, atol=1e-6), name


def test_a_missing_encoder_is_one_line(tmp_path) -> None:
    from rnnlab.tasks.classify import train as train_classifier

    ds = TextDataset(cyclic_texts(40), [0, 1] * 20, ["a", "b"], source="cyclic")
    with pytest.raises(RnnlabError, match="encoder not found.*rnnlab pretrain"):
        train_classifier(ds, tmp_path / "m", progress=False, log=lambda _m: None,
                         encoder=tmp_path / "nope")  # fmt: skip
    assert not (tmp_path / "m").exists()
