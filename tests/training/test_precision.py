"""``train.precision``: float32 by default, bfloat16 where the CPU has it, auto picks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.models import SequenceClassifier
from rnnlab.training import fit
from rnnlab.training.loop import bf16_supported, resolve_precision, with_precision


def step(model, batch):
    ids, lengths, y = batch
    logits = model(ids, lengths)
    return F.cross_entropy(logits, y), float((logits.argmax(1) == y).sum()), float(len(y))


def batches(seed: int, n: int = 6):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        ids = torch.randint(2, 50, (8, 12), generator=g)
        y = (ids == 7).any(dim=1).long()
        out.append((ids, torch.full((8,), 12), y))
    return out


def test_precision_is_validated() -> None:
    assert TrainConfig().precision == "float32"
    with pytest.raises(RnnlabError, match="train.precision"):
        TrainConfig(precision="fp16")


def test_auto_resolves_to_what_the_machine_has() -> None:
    expected = "bfloat16" if bf16_supported("cpu") else "float32"
    assert resolve_precision("auto") == expected
    assert resolve_precision("float32") == "float32"
    if not bf16_supported("cpu"):
        with pytest.raises(RnnlabError, match="AVX512_BF16"):
            resolve_precision("bfloat16")


def test_float32_leaves_the_step_as_it_is() -> None:
    assert with_precision(step, "float32") is step


@pytest.mark.skipif(not bf16_supported("cpu"), reason="this CPU has no fast bfloat16")
def test_bfloat16_trains_with_float32_weights_and_a_float32_loss() -> None:
    torch.manual_seed(0)
    net = SequenceClassifier(ModelConfig(hidden_size=8, num_layers=1), 50, 8, 2)
    loss, _, _ = with_precision(step, "bfloat16")(net, batches(0)[0])
    assert loss.dtype == torch.float32
    history = fit(net, lambda e: batches(e), batches(99, 2), step,
                  TrainConfig(epochs=2, precision="bfloat16", threads=1), progress=False)  # fmt: skip
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in net.parameters())
    assert len(history.epochs) >= 1
