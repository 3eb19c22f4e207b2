"""Data-parallel training under ``torchrun``: one process per core group, GPU or machine.

``torchrun`` starts W copies of the same command and tells each one who it is
through the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``). :func:`init_distributed` reads it, joins the
process group (gloo on CPU, NCCL on GPU) and returns a :class:`DistContext`;
without those variables it returns the single-process context and starts
nothing, so the same code runs under ``python -m rnnlab`` and ``torchrun``::

    ctx = init_distributed()          # DistContext(rank=0, world_size=1, ...) alone
    history = fit(model, ...)         # wraps the model in DistributedDataParallel
    if ctx.is_main:                   # only rank 0 writes the model directory
        write_model_dir(...)          # ... recording ctx.world_size in config.json
    shutdown_distributed()

How the work is split (see ``docs/distributed.md``): every rank draws the same
global batches from the seed and takes its share of each
(:func:`rnnlab.training.batching.shard_batches`); DistributedDataParallel
averages the gradients, which :func:`rnnlab.training.fit` weights by each
share's item count, so W processes with global batch B take the same steps as
one process with batch B. Losses and counts are summed across ranks with
``all_reduce``; only rank 0 shows progress and writes checkpoints.

Which device a process trains on is decided here too (:func:`resolve_device`,
:func:`training_device`): ``--device auto`` takes a CUDA GPU when torch sees
one, and under torchrun every process takes its own GPU, ``cuda:LOCAL_RANK``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rnnlab.errors import RnnlabError

ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
DEVICES = ("auto", "cpu", "cuda")  # and "cuda:N", one GPU by index


@dataclass(frozen=True)
class DistContext:
    """Who this process is in a (possibly one-process) training group.

    ``rank`` 0..W-1 across all machines; ``world_size`` W; ``local_rank`` the
    index on this machine (which GPU to use); ``backend`` ``"gloo"``,
    ``"nccl"`` or None when no process group was started.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """True on rank 0: the process that logs, checkpoints and writes the model."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def device(self) -> torch.device:
        """Where this rank's collectives run: its own GPU under NCCL (which moves CUDA
        tensors only), else the CPU. The model's device is :func:`training_device`'s."""
        if self.backend == "nccl":
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")

    def to_dict(self) -> dict[str, Any]:
        """What a model directory records about how it was trained."""
        return {"world_size": self.world_size, "backend": self.backend}


def is_device_name(name: object) -> bool:
    """Whether ``name`` is a ``--device`` value: auto, cpu, cuda or cuda:N."""
    if not isinstance(name, str):
        return False
    return name in DEVICES or re.fullmatch(r"cuda:[0-9]+", name) is not None


def resolve_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """The torch device a ``--device`` value means on this machine.

    ``"auto"``: ``cuda:local_rank`` when ``torch.cuda.is_available()``, else the
    CPU; ``"cpu"``; ``"cuda"``: GPU ``local_rank`` (0 alone; under torchrun each
    process its own); ``"cuda:N"``: GPU N. Asking for CUDA where torch sees no
    GPU (a CPU-only wheel, no driver, ``CUDA_VISIBLE_DEVICES=""``) is a one-line
    RnnlabError rather than torch's "Torch not compiled with CUDA enabled"
    traceback at the first tensor moved.
    """
    if not is_device_name(name):
        raise RnnlabError(f"--device must be auto, cpu, cuda or cuda:N, got {name!r}")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RnnlabError(
            f"--device {name}: no CUDA GPU is visible to torch (torch.cuda.is_available() "
            "is False); use --device cpu or auto"
        )
    index = int(name.partition(":")[2]) if ":" in name else local_rank
    count = torch.cuda.device_count()
    if index >= count:
        raise RnnlabError(
            f"--device {name}: GPU {index} asked for, but torch sees {count} "
            f"(cuda:0 to cuda:{count - 1}); give --device cuda or a smaller index"
        )
    return torch.device("cuda", index)


def training_device(name: str, ctx: DistContext) -> torch.device:
    """Where this rank trains: :func:`resolve_device`, kept coherent with the process group.

    Under NCCL each rank must hold its own GPU, ``cuda:LOCAL_RANK`` (NCCL moves
    CUDA tensors only; two ranks on one GPU fail), so ``cpu`` or another rank's
    ``cuda:N`` is refused there. A gloo group trains on the CPU, or on each
    rank's GPU when ``--device cuda`` (or ``auto`` with a GPU) asks for it.
    """
    if ctx.backend == "nccl":
        own = f"cuda:{ctx.local_rank}"
        if name == "cpu" or (name.startswith("cuda:") and name != own):
            raise RnnlabError(
                f"--device {name} under torchrun with NCCL: each process trains on its own "
                f"GPU (this one on {own}); give --device auto or cuda, or hide the GPUs "
                "(CUDA_VISIBLE_DEVICES=) to train on CPUs with gloo"
            )
        return resolve_device("cuda", ctx.local_rank)
    return resolve_device(name, ctx.local_rank)


def _env_int(name: str) -> int:
    raw = os.environ.get(name)
    try:
        value = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RnnlabError(
            f"environment variable {name} must be an integer, got {raw!r}; "
            "start distributed training with torchrun (see docs/distributed.md)"
        ) from None
    return value


def init_distributed(backend: str | None = None, device: str = "auto") -> DistContext:
    """Join the process group torchrun described, or return the one-process context.

    Parameters
    ----------
    backend : {"gloo", "nccl"}, optional
        Default: NCCL when the processes train on GPUs, gloo otherwise.
    device : str
        The ``--device`` the run will train on (``TrainConfig.device``): with
        ``"cpu"`` the default backend is gloo even where CUDA is available.

    Without ``WORLD_SIZE`` in the environment (a plain ``python`` or ``rnnlab``
    command), or with ``WORLD_SIZE=1``, nothing is started. Called twice, the
    second call returns the context of the group already joined.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return current_context()
    if "WORLD_SIZE" not in os.environ:
        return DistContext()
    world_size = _env_int("WORLD_SIZE")
    rank = _env_int("RANK") if "RANK" in os.environ else 0
    local_rank = _env_int("LOCAL_RANK") if "LOCAL_RANK" in os.environ else 0
    if world_size < 1 or not 0 <= rank < world_size:
        raise RnnlabError(
            f"RANK={rank} and WORLD_SIZE={world_size} do not describe a process group "
            "(need 0 <= RANK < WORLD_SIZE); start distributed training with torchrun"
        )
    if world_size == 1:
        return DistContext()
    missing = [name for name in ENV_VARS if name not in os.environ]
    if missing:
        raise RnnlabError(
            f"WORLD_SIZE={world_size} is set but {', '.join(missing)} is not; start "
            "distributed training with torchrun (see docs/distributed.md)"
        )
    if not dist.is_available():
        raise RnnlabError("this torch build has no torch.distributed; install the standard wheel")
    if backend is None:
        on_gpu = device != "cpu" and torch.cuda.is_available()
        backend = "nccl" if on_gpu else "gloo"
    if backend not in ("gloo", "nccl"):
        raise RnnlabError(f"backend must be 'gloo' or 'nccl', got {backend!r}")
    if backend == "nccl":
        if local_rank >= torch.cuda.device_count():
            raise RnnlabError(
                f"LOCAL_RANK={local_rank} but this machine has {torch.cuda.device_count()} "
                "GPU(s); give torchrun --nproc-per-node at most the number of GPUs, or pass "
                "--device cpu to train on the CPU"
            )
        torch.cuda.set_device(local_rank)
    try:
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    except (RuntimeError, ValueError, OSError) as exc:
        where = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RnnlabError(
            f"rank {rank} of {world_size} could not join the training group at {where} "
            f"({first}); check that every machine reaches --rdzv-endpoint"
        ) from None
    return DistContext(rank, world_size, local_rank, backend)


def current_context() -> DistContext:
    """The context of the process group already joined, or the one-process context."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return DistContext()
    local_rank = int(os.environ.get("LOCAL_RANK", "0") or 0)
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, dist.get_backend())


def shutdown_distributed() -> None:
    """Leave the process group (a no-op when none was joined)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


# ------------------------------------------------------------- collectives used by fit
# Each is the identity in a one-process run, so the loop calls them unconditionally.


def all_reduce_sum(values: Sequence[float], ctx: DistContext) -> list[float]:
    """Sum each value across ranks (float64, so counts stay exact)."""
    if not ctx.distributed:
        return [float(v) for v in values]
    import torch.distributed as dist

    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.cpu().tolist()


def all_gather(obj: Any, ctx: DistContext) -> list[Any]:
    """Every rank's ``obj``, in rank order (JSON-like values)."""
    if not ctx.distributed:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast(obj: Any, ctx: DistContext, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` on every rank."""
    if not ctx.distributed:
        return obj
    import torch.distributed as dist

    box = [obj if ctx.rank == src else None]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        import torch.distributed as dist

        dist.barrier()
