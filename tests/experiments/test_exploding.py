"""The exploding-gradient experiment: scaled recurrent weights, with and without clipping."""

from __future__ import annotations

import math

import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.experiments import TaskConfig, exploding_experiment, exploding_table
from rnnlab.experiments.exploding import GradientRecorder, spectral_radius

SMALL = TaskConfig(n_train=256, n_val=32, n_test=64, epochs=1)


def without_timing(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "seconds"}


@pytest.fixture(scope="module")
def result() -> dict:
    return exploding_experiment(factors=(1.0, 8.0), length=20, task=SMALL, seed=0)


def rows_by(result: dict) -> dict:
    return {(r["factor"], r["clip_norm"]): r for r in result["rows"]}


def test_structure(result: dict) -> None:
    assert result["experiment"] == "exploding"
    assert set(rows_by(result)) == {(1.0, 0.0), (1.0, 1.0), (8.0, 0.0), (8.0, 1.0)}
    steps = math.ceil(256 / 64)
    for curve in result["curves"]:
        assert len(curve["loss"]) == steps and len(curve["grad_norm"]) == steps
    for row in result["rows"]:
        assert row["diverged"] in (True, False)
        assert set(row) >= {
            "spectral_radius",
            "max_grad_norm",
            "max_applied_norm",
            "final_loss",
            "final_spectral_radius",
            "test_accuracy",
        }
    assert "| 8" in exploding_table(result)


def test_scaling_w_hh_scales_its_spectral_radius(result: dict) -> None:
    rows = rows_by(result)
    assert rows[8.0, 0.0]["spectral_radius"] == pytest.approx(
        8 * rows[1.0, 0.0]["spectral_radius"], rel=1e-6
    )
    assert rows[1.0, 0.0]["spectral_radius"] < 1 < rows[8.0, 0.0]["spectral_radius"]


def test_large_factor_explodes_and_clipping_bounds_the_step(result: dict) -> None:
    rows = rows_by(result)
    # the raw gradient explodes with the factor ...
    assert rows[8.0, 0.0]["max_grad_norm"] > 100 * rows[1.0, 0.0]["max_grad_norm"]
    # ... and without clipping the gradient applied is far larger than with it
    assert rows[8.0, 1.0]["max_applied_norm"] <= 1.0 + 1e-9
    assert rows[8.0, 0.0]["max_applied_norm"] > 100 * rows[8.0, 1.0]["max_applied_norm"]
    # an unclipped exploded SGD step throws W_hh far away; a clipped one does not
    assert rows[8.0, 0.0]["final_spectral_radius"] > 2 * rows[8.0, 1.0]["final_spectral_radius"]
    # with small weights there is nothing to clip: both runs are identical
    assert rows[1.0, 0.0]["max_grad_norm"] < 1.0
    assert result["curves"][0]["loss"] == result["curves"][1]["loss"]


def test_deterministic_by_seed(result: dict) -> None:
    again = exploding_experiment(factors=(1.0, 8.0), length=20, task=SMALL, seed=0)
    assert without_timing(again) == without_timing(result)


def test_adam_uses_the_shared_loop() -> None:
    out = exploding_experiment(factors=(8.0,), length=10, optimizer="adam", task=SMALL, seed=1)
    assert out["settings"]["lr"] == 1e-2
    assert len(out["curves"][0]["loss"]) == math.ceil(256 / 64)  # training steps only


def test_recorder_sees_the_raw_gradient_before_clipping() -> None:
    layer = torch.nn.Linear(3, 2)
    params = list(layer.parameters())
    recorder = GradientRecorder(params)
    loss = (layer(torch.ones(4, 3)) * 100).sum()
    loss.backward()
    raw = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    recorder.close()
    assert recorder.norms == [pytest.approx(raw)]
    assert raw > 1.0
    assert math.isnan(spectral_radius(torch.full((2, 2), float("nan"))))


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"factors": ()}, "factors"),
        ({"factors": (0.0,)}, "factors"),
        ({"clip_norm": 0.0}, "clip_norm"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"lr": -1.0}, "lr"),
    ],
)
def test_rejects_bad_input(kwargs: dict, needle: str) -> None:
    with pytest.raises(RnnlabError, match=needle):
        exploding_experiment(**{"task": SMALL, **kwargs})
