"""The first-token task, the chrono initialisation and the task settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.experiments import TaskConfig, build_classifier, first_token_data, task_data
from rnnlab.experiments.task import accuracy, batches, torch_threads


def test_label_is_the_first_token_and_the_rest_is_noise() -> None:
    ids, labels = first_token_data(500, 12, 10, np.random.default_rng(0))
    assert ids.shape == (500, 12) and labels.shape == (500,)
    assert ids.dtype == torch.int64 and labels.dtype == torch.int64
    assert torch.equal(ids[:, 0], labels + 1)
    assert int(ids[:, 1:].min()) >= 3 and int(ids[:, 1:].max()) <= 9
    assert 0.4 < float(labels.float().mean()) < 0.6
    # the noise carries no information about the label
    for label in (0, 1):
        counts = torch.bincount(ids[labels == label, 1:].flatten(), minlength=10)[3:]
        share = counts.float() / counts.sum()
        assert float((share - 1 / 7).abs().max()) < 0.02


def test_task_data_depends_only_on_seed_and_length() -> None:
    task = TaskConfig(n_train=50, n_val=10, n_test=20)
    a, b = task_data(task, 15, seed=3), task_data(task, 15, seed=3)
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(a, split)[0], getattr(b, split)[0])
    assert a.length == 15
    assert not torch.equal(a.train[0], task_data(task, 15, seed=4).train[0])
    # held-out sequences are fresh draws, not copies of training ones
    assert not torch.equal(a.test[0][:10], a.train[0][:10])


def test_chrono_init_opens_the_keep_gates() -> None:
    length, h = 100, TaskConfig().hidden_size
    torch.manual_seed(0)
    lstm = build_classifier("lstm", TaskConfig(), length).rnn.forward_layers[0]
    forget = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()[h : 2 * h]
    inputs = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()[:h]
    assert float(forget.min()) >= 0.0 and float(forget.max()) <= np.log(length - 1) + 1e-6
    assert torch.allclose(inputs, -forget)
    torch.manual_seed(0)
    gru = build_classifier("gru", TaskConfig(), length).rnn.forward_layers[0]
    update = (gru.bias_ih_l0 + gru.bias_hh_l0).detach()[h : 2 * h]
    assert float(update.min()) >= 0.0 and float(update.mean()) > 2.0
    torch.manual_seed(0)
    default = build_classifier("gru", TaskConfig(gate_init="default"), length)
    z = default.rnn.forward_layers[0].bias_hh_l0.detach()[h : 2 * h]
    assert float(z.abs().max()) <= 1 / np.sqrt(h)  # torch's U(-1/sqrt(H), 1/sqrt(H))


def test_untrained_classifier_is_near_chance() -> None:
    task = TaskConfig(n_test=400)
    data = task_data(task, 10, seed=0)
    torch.manual_seed(0)
    model = build_classifier("lstm", task, 10)
    assert 0.3 < accuracy(model, *data.test) < 0.7
    assert all(b[0].shape[1] == 10 for b in batches(*data.test, batch_size=64))


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"vocab_size": 3}, "vocab_size"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"lr": 0.0}, "lr"),
        ({"clip_norm": -1.0}, "clip_norm"),
        ({"gate_init": "orthogonal"}, "gate_init"),
    ],
)
def test_task_config_names_the_bad_field(changes: dict, needle: str) -> None:
    with pytest.raises(RnnlabError, match=needle):
        TaskConfig(**changes)


def test_replace_ignores_none_and_validates() -> None:
    assert TaskConfig().replace(epochs=None, lr=0.1).lr == 0.1
    with pytest.raises(RnnlabError, match="epochs"):
        TaskConfig().replace(epochs=0)


def test_torch_threads_restores_the_count() -> None:
    before = torch.get_num_threads()
    with torch_threads(2):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    with pytest.raises(RnnlabError, match="threads"), torch_threads(-1):
        pass


def test_training_sets_every_field_the_shared_loop_reads(monkeypatch) -> None:
    """TrainConfig's defaults may change; the experiments' numbers must not."""
    import rnnlab.experiments.task as task_module

    seen: dict = {}
    real = task_module.TrainConfig

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(task_module, "TrainConfig", spy)
    task = TaskConfig(n_train=32, n_val=8, n_test=8, epochs=1)
    torch.manual_seed(0)
    model = build_classifier("rnn", task, 5)
    task_module.train_classifier(model, task_data(task, 5, seed=0), task, seed=0)
    fit_reads = {"epochs", "lr", "lr_decay", "weight_decay", "clip_norm", "patience"}
    assert fit_reads <= set(seen)
