"""Small classifiers to explain: seeded random weights (completeness and the
trajectory's definition hold for any weights) over a tiny vocabulary."""

from __future__ import annotations

import pytest
import torch

from rnnlab.config import ModelConfig, TextConfig
from rnnlab.models import SequenceClassifier
from rnnlab.tasks.classify import TextClassifier
from rnnlab.text import Vocab

WORDS = "the film was not great but a wonderful ending . boring dull loved awful it".split()


def build_classifier(
    cell: str = "lstm",
    bidirectional: bool = True,
    pooling: str = "maxmean",
    num_layers: int = 2,
    classes: tuple[str, ...] = ("neg", "pos"),
    text: TextConfig | None = None,
    seed: int = 0,
    separate: bool = False,
) -> TextClassifier:
    """A classifier with seeded random weights; every word of WORDS is in its vocabulary."""
    vocab = Vocab.build([WORDS])
    torch.manual_seed(seed)
    cfg = ModelConfig(
        cell=cell,
        hidden_size=6,
        num_layers=num_layers,
        bidirectional=bidirectional,
        pooling=pooling,
        dropout=0.3,  # explanations must switch dropout off
        separate_directions=separate,
    )
    net = SequenceClassifier(cfg, len(vocab), 5, len(classes))
    with torch.no_grad():  # larger weights than torch's default: outputs far from uniform
        for p in net.parameters():
            p.mul_(2.5)
        net.embedding.weight[0].zero_()
    return TextClassifier(net.eval(), vocab, text or TextConfig(), list(classes), path=None)


@pytest.fixture(scope="session")
def make_classifier():
    return build_classifier
