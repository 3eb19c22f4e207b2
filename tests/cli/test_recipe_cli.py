"""``rnnlab train --recipe guide``: the guide's network, with flags still on top."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from rnnlab.recipes import RECIPES

from .helpers import assert_ok, assert_user_error, cli

pytestmark = pytest.mark.slow

SMALL = ["--embedding", "random", "--embedding-dim", "8", "--epochs", "1", "--threads", "1",
         "--quiet"]  # fmt: skip


def test_guide_recipe_trains_the_guides_network(cli_model) -> None:
    trained = cli_model("guide", "--recipe", "guide", "--hidden", "8", *SMALL, n_train=120)
    assert_ok(trained.result)
    config = json.loads((trained.out / "config.json").read_text())
    model, text = config["model"], config["text"]
    guide = RECIPES["guide"]["model"]
    assert model["candidate_bias"] is False and model["init"] == "keras"
    assert model["bidirectional"] is False and model["pooling"] == "last"
    assert model["num_layers"] == guide["num_layers"]
    assert model["hidden_size"] == 8  # the flag overrides the recipe
    assert text["padding"] == "pre" and text["maxlen"] == RECIPES["guide"]["text"]["maxlen"]
    weights = load_file(str(trained.out / "model.safetensors"))
    biases = [k for k in weights if "bias" in k and "_l" in k]
    assert biases
    for key in biases:  # torch's gate order i, f, g, o: the candidate g is the third quarter
        h = weights[key].shape[0] // 4
        assert weights[key][2 * h : 3 * h].abs().max() == 0, key


def test_recipe_errors(cli_model, tmp_path) -> None:
    base = cli_model("recipe-errors", *SMALL, n_train=60)
    data = base.train_csv
    assert_user_error(
        cli("train", "-d", data, "-o", tmp_path / "a", "--recipe", "nope"), "known recipes"
    )
    assert_user_error(
        cli("train", "-d", data, "-o", tmp_path / "a", "--recipe", "best"),
        "rnnlab pretrain --data DATA --out ENC",
    )
    assert_user_error(
        cli("train", "-d", data, "-o", tmp_path / "a", "--model", "nbsvm", "--encoder", "x"),
        "--encoder",
    )
    assert not (tmp_path / "a").exists()
    assert_user_error(
        cli("train", "-d", data, "-o", tmp_path / "b", "--model", "nbsvm", "--recipe", "guide"),
        "--recipe",
    )
    ok = cli("train", "-d", data, "-o", tmp_path / "c", "--recipe", "guide", "--cell", "gru",
             "--hidden", "4", *SMALL)  # fmt: skip
    assert_ok(ok)  # a GRU has no candidate bias to remove: the recipe's setting is dropped
