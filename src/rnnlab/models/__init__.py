"""The torch engine: one shared stacked-RNN block, one module per input/output configuration.

- many-to-one: :class:`SequenceClassifier` (sentiment);
- many-to-many, aligned: :class:`SequenceTagger` (one tag per token);
- many-to-many, N != M: :class:`Seq2Seq` (encoder-decoder with attention);
- one-to-many: :class:`ConditionalLM` (a review from a label);
- beside them, the linear baselines (:mod:`rnnlab.models.linear`: BoW/TF-IDF/NBSVM).
"""

from rnnlab.models.classifier import SequenceClassifier
from rnnlab.models.generator import ConditionalLM, GeneratorConfig
from rnnlab.models.recurrent import StackedRNN, length_mask, pool, reverse_within_length
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.models.tagger import SequenceTagger, TaggerConfig

__all__ = [
    "ConditionalLM",
    "GeneratorConfig",
    "Seq2Seq",
    "Seq2SeqConfig",
    "SequenceClassifier",
    "SequenceTagger",
    "StackedRNN",
    "TaggerConfig",
    "length_mask",
    "pool",
    "reverse_within_length",
]
