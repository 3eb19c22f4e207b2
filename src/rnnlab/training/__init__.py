"""The one training loop, length-bucketed batching, metrics and plots."""

from rnnlab.training.batching import bucket_batches, collate
from rnnlab.training.loop import History, fit, seed_everything, set_threads

__all__ = ["History", "bucket_batches", "collate", "fit", "seed_everything", "set_threads"]
