"""The vanishing-gradient experiment: norms against distance, before and after training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.experiments import (
    TaskConfig,
    build_classifier,
    gradients_experiment,
    gradients_table,
    input_gradient_norms,
    task_data,
)

SMALL = TaskConfig(n_train=128, n_val=32, n_test=64, epochs=1)


def without_timing(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "seconds"}


def test_tanh_rnn_gradient_vanishes_with_distance_at_init() -> None:
    length = 30
    data = task_data(SMALL, length, seed=0)
    torch.manual_seed(0)
    model = build_classifier("rnn", SMALL, length)  # torch's init: spectral radius ~0.6
    norms = input_gradient_norms(model, *data.test)
    assert norms.shape == (length,)
    assert np.all(norms > 0)
    assert norms[-1] < 1e-5 * norms[0]  # distance T - 1 vs distance 0
    # geometric decay: every 10 steps cost at least a factor 10
    assert norms[10] < 0.1 * norms[0] and norms[20] < 0.1 * norms[10]


def test_input_gradient_norms_match_a_direct_float64_computation() -> None:
    """Entry d is ||dL_n/dx_{n,T-1-d}|| averaged over n, from the full classifier."""
    length = 6
    data = task_data(SMALL, length, seed=1)
    ids, labels = data.test[0][:5], data.test[1][:5]
    torch.manual_seed(1)
    model = build_classifier("gru", SMALL, length)
    norms = input_gradient_norms(model, ids, labels)
    ref = model.double()
    expected = np.zeros(length)
    for n in range(len(labels)):
        x = ref.embedding(ids[n : n + 1]).detach().requires_grad_(True)  # (1, T, D)
        lengths = torch.tensor([length])
        logits = ref.head(ref.rnn(x, lengths)[:, -1])  # (1, 2)
        loss = torch.nn.functional.cross_entropy(logits, labels[n : n + 1])
        (grad,) = torch.autograd.grad(loss, x)
        expected += grad[0].norm(dim=1).flip(0).numpy() / len(labels)
    np.testing.assert_allclose(norms, expected, rtol=1e-10)


def test_gradients_experiment_structure_and_determinism() -> None:
    kwargs = {"cells": ("rnn", "lstm"), "length": 12, "task": SMALL, "n_probe": 16, "seed": 5}
    result = gradients_experiment(**kwargs)
    assert result["experiment"] == "gradients"
    assert [r["cell"] for r in result["rows"]] == ["rnn", "lstm"]
    for row in result["rows"]:
        assert 0.0 <= row["test_accuracy"] <= 1.0
        assert row["init_ratio"] > 0 and row["trained_ratio"] > 0
    for cell in ("rnn", "lstm"):
        assert len(result["norms"][cell]["init"]) == 12
        assert len(result["norms"][cell]["trained"]) == 12
    assert result["settings"]["task"]["epochs"] == 1
    assert "total" in result["seconds"]
    assert without_timing(gradients_experiment(**kwargs)) == without_timing(result)
    other = gradients_experiment(**{**kwargs, "seed": 6})
    assert without_timing(other) != without_timing(result)
    table = gradients_table(result)
    assert "| rnn" in table and "| lstm" in table and "T = 12" in table


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"cells": ("rnn", "elman")}, "cells"),
        ({"cells": ()}, "cells"),
        ({"length": 2}, "length"),
        ({"n_probe": 0}, "n_probe"),
        ({"seed": -1}, "seed"),
    ],
)
def test_gradients_experiment_rejects_bad_input(kwargs: dict, needle: str) -> None:
    with pytest.raises(RnnlabError, match=needle):
        gradients_experiment(**{"task": SMALL, **kwargs})
