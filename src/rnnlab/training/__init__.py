"""The one training loop, length-bucketed batching, checkpoints, distributed training."""

from rnnlab.training.batching import bucket_batches, collate, shard_batches
from rnnlab.training.distributed import (
    DistContext,
    current_context,
    init_distributed,
    shutdown_distributed,
)
from rnnlab.training.loop import History, fit, seed_everything, set_threads

__all__ = [
    "DistContext",
    "History",
    "bucket_batches",
    "collate",
    "current_context",
    "fit",
    "init_distributed",
    "seed_everything",
    "set_threads",
    "shard_batches",
    "shutdown_distributed",
]
