"""The torch engine: one shared stacked-RNN block, one module per configuration."""

from rnnlab.models.classifier import SequenceClassifier
from rnnlab.models.recurrent import StackedRNN, length_mask, pool, reverse_within_length

__all__ = ["SequenceClassifier", "StackedRNN", "length_mask", "pool", "reverse_within_length"]
