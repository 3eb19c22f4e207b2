"""Shared test fixtures: a private rnnlab cache and a tiny synthetic review corpus."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator

import pytest

FILLER = [f"w{i}" for i in range(40)]
CUES = {
    "neg": ["awful", "terrible", "boring", "hated", "dull"],
    "neu": ["okay", "average", "fine", "decent", "mediocre"],
    "pos": ["great", "wonderful", "excellent", "loved", "superb"],
}

Reviews = Callable[..., tuple[list[str], list[str]]]


def make_reviews(
    n: int, seed: int = 0, classes: tuple[str, ...] = ("neg", "pos")
) -> tuple[list[str], list[str]]:
    """``n`` short reviews: 4-14 filler words plus one or two cue words of the label.

    Labels cycle through ``classes`` so every class is (nearly) equally frequent.
    """
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = classes[i % len(classes)]
        words = [rng.choice(FILLER) for _ in range(rng.randint(4, 14))]
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randint(0, len(words)), rng.choice(CUES[label]))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


@pytest.fixture(autouse=True, scope="session")
def _private_rnnlab_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep ONNX exports (and any download) out of the user's ~/.cache/rnnlab."""
    old = os.environ.get("RNNLAB_CACHE")
    os.environ["RNNLAB_CACHE"] = str(tmp_path_factory.mktemp("rnnlab-cache"))
    yield
    if old is None:
        os.environ.pop("RNNLAB_CACHE", None)
    else:
        os.environ["RNNLAB_CACHE"] = old


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    """One torch thread per test: on a busy 2-core machine OpenMP threads spinning
    against each other make a tiny RNN forward ~100x slower. (``rnnlab.load`` and
    ``train(threads=0)`` raise the count again; tests pass ``threads=1`` where they can.)
    """
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def reviews() -> Reviews:
    """The synthetic corpus generator ``make_reviews(n, seed, classes)``."""
    return make_reviews
