"""Length-bucketed batches: sequences of similar length share a batch.

On CPU a dense, post-padded batch lets torch use its fast fused RNN kernel;
``pack_padded_sequence`` loses it (measured 3-4x slower here). Sorting by
length keeps the padding small; shuffling *within* windows of similar length
and then shuffling the batch order keeps training stochastic.

Distributed training (``torchrun``, see ``docs/distributed.md``) keeps the
*global* batch: every rank draws the same global batches from the seed, and
rank ``r`` of ``W`` takes items ``r, r+W, r+2W, ...`` of each one
(:func:`shard_batches`). A step of W processes then sees exactly the items one
process would see in that step, so with gradients weighted by item count
(``rnnlab.training.fit`` does this) the two runs follow the same trajectory up
to float rounding. Like ``torch.utils.data.DistributedSampler``, a training
sampler (``shuffle=True``) shards by the default process group when one is
initialised; pass ``rank``/``world_size`` to choose explicitly.
"""

from __future__ import annotations

import numpy as np
import torch

from rnnlab.config import TextConfig
from rnnlab.errors import RnnlabError
from rnnlab.text import PAD


def bucket_batches(
    lengths: np.ndarray,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    window: int = 50,
    *,
    rank: int | None = None,
    world_size: int | None = None,
) -> list[np.ndarray]:
    """Split indices into batches of similar length.

    With ``shuffle=False`` batches are in ascending length order (inference).
    With ``shuffle=True`` indices are shuffled, sorted by length within
    windows of ``window * batch_size`` items, cut into batches, and the batch
    order is shuffled, all from ``seed``; then, in a distributed run, this
    rank's share of each batch is kept (:func:`shard_batches`; ``rank`` and
    ``world_size`` default to the initialised process group's, else 0 and 1).
    ``batch_size`` is the global batch either way.
    """
    lengths = np.asarray(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rank is None or world_size is None:
        from rnnlab.training.distributed import current_context

        ctx = current_context()
        rank = ctx.rank if rank is None else rank
        world_size = ctx.world_size if world_size is None else world_size
    if batch_size < world_size:
        raise RnnlabError(
            f"batch size {batch_size} cannot be shared by {world_size} processes; "
            f"use --batch-size {world_size} or more (it is the global batch)"
        )
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(lengths))
    chunk = batch_size * window
    batches = []
    for start in range(0, len(perm), chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return shard_batches(batches, rank, world_size)


def shard_batches(batches: list[np.ndarray], rank: int, world_size: int) -> list[np.ndarray]:
    """Rank ``rank``'s share of each global batch: items ``rank::world_size``.

    Every rank gets one part of every global batch, so all ranks take the same
    number of steps and step ``k`` of all ranks together covers global batch
    ``k``. Parts of one batch differ in size by at most one item (the training
    loop weights each part by its size). A global batch with fewer than
    ``world_size`` items (at most one per length window, the last) cannot give
    every rank an item and is left out. ``world_size == 1`` returns the batches
    unchanged.
    """
    if not (isinstance(world_size, int) and world_size >= 1 and 0 <= rank < world_size):
        raise ValueError(
            f"rank must be in [0, world_size) with world_size >= 1, got rank={rank!r}, "
            f"world_size={world_size!r}"
        )
    if world_size == 1:
        return batches
    return [b[rank::world_size] for b in batches if len(b) >= world_size]


def collate(sequences: list[list[int]], indices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Post-pad the chosen sequences: ids (N, T) int64 and lengths (N,) int64.

    Empty sequences become a single <pad> step of length 1 so that every
    sequence has a last state to read; the model sees only padding for them.
    """
    chosen = [sequences[i] for i in indices]
    lengths = np.fromiter((max(len(s), 1) for s in chosen), dtype=np.int64, count=len(chosen))
    ids = np.full((len(chosen), int(lengths.max(initial=1))), PAD, dtype=np.int64)  # (N, T)
    for row, seq in enumerate(chosen):
        ids[row, : len(seq)] = seq
    return torch.from_numpy(ids), torch.from_numpy(lengths)


def padded_batches(
    seqs: list[list[int]], text: TextConfig, batch_size: int, shuffle: bool = False, seed: int = 0
):
    """Yield ``(indices, ids (B, T), lengths (B,))`` batches as ``text.padding`` says.

    ``"bucket"`` (the default): length-bucketed, post-padded to the batch's
    longest text, true lengths (the network masks the padding). ``"pre"`` /
    ``"post"``: Keras-style, every text padded to ``text.maxlen`` on that side and
    every length reported as ``maxlen``, so the network reads the padding as
    input -- the trap the guide's padding question is about.
    """
    import torch

    from rnnlab.text import pad_sequences

    if text.padding == "bucket":
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        for idx in bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed):
            ids, lens = collate(seqs, idx)
            yield idx, ids, lens
        return
    order = np.random.default_rng(seed).permutation(len(seqs)) if shuffle else np.arange(len(seqs))
    starts = range(0, len(seqs), batch_size)
    batches = [order[start : start + batch_size] for start in starts]
    if shuffle:  # training: under torchrun each process takes its share of every batch
        from rnnlab.training.distributed import current_context

        ctx = current_context()
        if ctx.distributed:
            batches = shard_batches(batches, ctx.rank, ctx.world_size)
    for idx in batches:
        ids = pad_sequences([seqs[i] for i in idx], maxlen=text.maxlen, padding=text.padding)
        yield idx, torch.from_numpy(ids), torch.full((len(idx),), text.maxlen, dtype=torch.int64)
