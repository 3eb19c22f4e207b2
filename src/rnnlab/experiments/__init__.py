"""Experiments that turn the textbook claims about recurrent networks into measurements.

Three experiments, each a function that returns a plain dict (``rows`` for a
table, curves for a plot, ``settings`` and ``seconds``), with a ``*_table``
and a ``plot_*`` function beside it; ``rnnlab experiment NAME`` runs the same
functions from the command line.

``gradients_experiment``
    The vanishing gradient: ``||dL/dx_t||`` against the distance from the
    loss, for RNN, LSTM and GRU, at initialisation and after training.
``exploding_experiment``
    The exploding gradient: a tanh RNN with its recurrent matrix scaled up,
    trained with and without gradient-norm clipping.
``memory_experiment``
    Held-out accuracy against sequence length for RNN, LSTM and GRU.

All three use the *first-token task* of :mod:`rnnlab.experiments.task`: the
label of a length-T sequence is its first token, the rest is noise, and the
model answers from its last state, so the answer must be carried across
T - 1 steps. The models are the project's many-to-one classifier on the shared
:class:`~rnnlab.models.StackedRNN` block, trained by the shared loop
:func:`rnnlab.training.fit`; everything is seeded, so a seed gives the same
numbers on the same machine and thread count (only ``seconds`` differs).

Example
-------
>>> from rnnlab.experiments import memory_experiment, memory_table
>>> result = memory_experiment(lengths=(10, 50), cells=("rnn", "lstm"))  # doctest: +SKIP
>>> print(memory_table(result))  # doctest: +SKIP
"""

from rnnlab.experiments.exploding import exploding_experiment, exploding_table, plot_exploding
from rnnlab.experiments.gradients import (
    gradients_experiment,
    gradients_table,
    input_gradient_norms,
    plot_gradients,
)
from rnnlab.experiments.memory import memory_experiment, memory_table, plot_memory
from rnnlab.experiments.report import write_json
from rnnlab.experiments.task import TaskConfig, build_classifier, first_token_data, task_data

__all__ = [
    "TaskConfig",
    "build_classifier",
    "exploding_experiment",
    "exploding_table",
    "first_token_data",
    "gradients_experiment",
    "gradients_table",
    "input_gradient_norms",
    "memory_experiment",
    "memory_table",
    "plot_exploding",
    "plot_gradients",
    "plot_memory",
    "task_data",
    "write_json",
]
