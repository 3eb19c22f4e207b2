"""The one training loop, shared by every model type.

Adam, gradient-norm clipping, validation each epoch, early stopping on the
validation loss (the best weights are restored), rich progress bars, and a
history of per-epoch figures. Three things make long runs safe:

* **Resumable checkpoints** (:mod:`rnnlab.training.checkpoint`) at each epoch
  end and every ``checkpoint_every_s`` seconds / ``checkpoint_every_steps``
  batches. ``fit(..., resume=True)`` continues from the newest valid one: it
  regenerates that epoch's batches, skips those already done and restores
  every state, so with the same seed and thread count a killed and resumed run
  ends with the same weights, bit for bit, as one never stopped.
* **Interrupts**: Ctrl-C (SIGINT) or SIGTERM during ``fit`` saves a checkpoint
  after the current batch and raises :class:`~rnnlab.errors.TrainingInterrupted`
  saying how to resume; a second Ctrl-C stops at once.
* **Divergence**: a NaN or infinite loss stops the run with
  :class:`~rnnlab.errors.TrainingDiverged` before the weights take that step;
  non-finite weights are never written.

Under ``torchrun`` (:mod:`rnnlab.training.distributed`) the model is wrapped in
``DistributedDataParallel``; each rank trains on its share of every global
batch, sums are reduced across ranks, and only rank 0 shows progress, calls
``on_epoch`` and writes checkpoints.

A task plugs in through ``step(model, batch) -> (loss, n_correct, n_items)``:
the loop does not know whether a batch is a review, a tagged sentence or a
translation pair. ``loss`` must be the mean over the ``n_items`` items.
"""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from rnnlab.artifacts import write_text_atomic
from rnnlab.config import TrainConfig
from rnnlab.errors import CheckpointError, RnnlabError, TrainingDiverged, TrainingInterrupted
from rnnlab.training import checkpoint as ckpt
from rnnlab.training.distributed import (
    DistContext,
    all_gather,
    all_reduce_sum,
    barrier,
    broadcast,
    current_context,
    training_device,
)

StepFn = Callable[[torch.nn.Module, Any], tuple[torch.Tensor, float, float]]
Log = Callable[[str], None]

# TrainConfig fields that change the trajectory: a checkpoint made with other values
# belongs to another run. (epochs, patience, threads, the checkpoint cadence and the
# device may change on --resume: more epochs continue the same trajectory, and a run
# started on a CPU may go on on a GPU -- same steps, not the same bits.)
TRAJECTORY = ("batch_size", "lr", "lr_decay", "weight_decay", "clip_norm", "seed", "val_fraction")


def bf16_supported(device: torch.device | str = "cpu") -> bool:
    """Whether bfloat16 arithmetic is fast here: a CUDA device that supports it, or a CPU
    whose flags include AVX512_BF16 or AMX (torch's oneDNN kernels use them)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """``"float32"`` or ``"bfloat16"`` for ``train.precision`` on this device."""
    if precision == "auto":
        return "bfloat16" if bf16_supported(device) else "float32"
    if precision == "bfloat16" and not bf16_supported(device):
        raise RnnlabError(
            "train.precision bfloat16 needs a CPU with AVX512_BF16 or AMX (or a CUDA GPU); "
            "this one has neither: use --precision float32 or auto"
        )
    return precision


def with_precision(step: StepFn, precision: str) -> StepFn:
    """``step`` run under ``torch.autocast`` (bfloat16) for the forward pass and loss;
    unchanged for float32. Weights, optimizer state and gradients stay float32."""
    if precision == "float32":
        return step

    def autocast_step(model, batch):
        device = next((p.device.type for p in model.parameters()), "cpu")
        with torch.autocast(device, dtype=torch.bfloat16):
            loss, n_correct, n = step(model, batch)
        return loss.float(), n_correct, n

    return autocast_step


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so that a run repeats exactly.

    On a GPU this also asks cuDNN for deterministic algorithms: its default
    convolution backward (the tagger's character CNN) adds in a varying order, so
    two runs with one seed differed in the last bits there (measured on an H200).
    """
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def set_threads(threads: int) -> None:
    """Use ``threads`` torch threads; 0: this process's share of the cores.

    Alone, that is every core; under torchrun with N processes on this machine
    (``LOCAL_WORLD_SIZE``), ``cores // N``, so the processes do not fight over cores.
    """
    if not threads:
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
        threads = max(1, (os.cpu_count() or 1) // max(local, 1))
    torch.set_num_threads(threads)


@dataclass
class History:
    """Per-epoch figures; ``best_epoch`` is the one whose weights were kept.

    ``world_size`` is the number of processes that trained (1 without
    torchrun); ``resumed_from`` the checkpoint folder a resumed run went on
    from (None for a run from scratch).
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    world_size: int = 1
    resumed_from: str | None = None

    def write_jsonl(self, path: Path) -> None:
        write_text_atomic(path, "".join(json.dumps(e) + "\n" for e in self.epochs))


def _progress(enabled: bool) -> Progress:
    from rich.console import Console

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
        console=Console(stderr=True),
    )


def _to_device(batch: Any, device: torch.device) -> Any:
    """Move the tensors of a (nested tuple/list/dict) batch; the identity on CPU."""
    if device.type == "cpu":
        return batch
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, tuple | list):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


def _sums(
    model: torch.nn.Module, batches: Sequence[Any], step: StepFn, device: torch.device
) -> tuple[float, float, float]:
    """Summed loss, correct count and item count over batches, in eval mode."""
    model.eval()
    total_loss = correct = items = 0.0
    with torch.inference_mode():
        for batch in batches:
            loss, n_correct, n = step(model, _to_device(batch, device))
            total_loss += float(loss.detach()) * n
            correct += n_correct
            items += n
    return total_loss, correct, items


def evaluate_loss(model: torch.nn.Module, batches: Sequence[Any], step: StepFn) -> dict[str, float]:
    """Mean loss and accuracy over batches, in eval mode, without gradients."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    total_loss, correct, items = _sums(model, batches, step, device)
    return {"loss": total_loss / max(items, 1), "accuracy": correct / max(items, 1)}


class _Interrupts:
    """While active, SIGINT and SIGTERM only set a flag; the loop saves and stops.

    Installed only in the main thread (Python's rule) and only for the duration
    of ``fit``; the previous handlers are put back on exit. A second Ctrl-C, a
    second or more after the first, raises KeyboardInterrupt at once -- except
    under torchrun, whose agent forwards the terminal's Ctrl-C to workers that
    already received it.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.signum: int | None = None
        self.first_at = 0.0
        self.forwarded = "TORCHELASTIC_RUN_ID" in os.environ
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        if self.enabled:
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum, self.first_at = signum, time.monotonic()
        elif signum == signal.SIGINT and self.signum == signal.SIGINT and not self.forwarded:
            if time.monotonic() - self.first_at >= 1.0:
                raise KeyboardInterrupt

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else "interrupt"


@dataclass
class _Totals:
    """Running sums of the epoch in progress, on this rank."""

    loss: float = 0.0
    correct: float = 0.0
    items: float = 0.0
    seconds: float = 0.0

    def as_list(self) -> list[float]:
        return [self.loss, self.correct, self.items, self.seconds]


class _Trainer:
    """The state of one ``fit`` call: what a checkpoint saves and a resume restores."""

    def __init__(
        self,
        model: torch.nn.Module,
        step: StepFn,
        config: TrainConfig,
        checkpoint_dir: Path | None,
        ctx: DistContext,
        run_fingerprint: dict[str, Any] | None,
        log: Log,
    ) -> None:
        self.model, self.config, self.ctx, self.log = model, config, ctx, log
        self.dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.home = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.device = training_device(config.device, ctx)  # cuda:LOCAL_RANK under NCCL
        model.to(self.device)  # fit() puts it back on self.home at the end
        self.step_fn = with_precision(step, resolve_precision(config.precision, self.device))
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(
            self.params, lr=config.lr, weight_decay=config.weight_decay
        )
        self.schedule = torch.optim.lr_scheduler.ExponentialLR(self.optimizer, config.lr_decay)
        self.history = History(world_size=ctx.world_size)
        self.best_loss = math.inf
        self.best_state: dict[str, torch.Tensor] | None = None
        self.bad_epochs = 0
        self.finished = False  # early stopping fired
        self.epochs_done = 0
        self.step = 0  # batches of epoch epochs_done + 1 already trained
        self.totals = _Totals()
        self.rng_epoch_start: dict[str, Any] | None = None
        self.resume_rng: tuple[dict[str, Any], dict[str, Any]] | None = None
        self.run_id = os.urandom(6).hex()  # OS entropy: leaves the seeded generators alone
        self.model_fp = ckpt.model_fingerprint(model)
        train = {k: v for k, v in config.to_dict().items() if k in TRAJECTORY}
        self.run_fp = ckpt.canonical(
            {"fit": {**train, "world_size": ctx.world_size}, **(run_fingerprint or {})}
        )
        self.last_save = time.monotonic()
        self._task: Any = None  # the progress bar of the epoch in progress

    # -- resume ----------------------------------------------------------------------
    def resume(self) -> None:
        """Load the newest valid checkpoint (rank 0 reads it, every rank gets it)."""
        payload: tuple[Any, ...] = ("none",)
        if self.ctx.is_main:
            try:
                found = ckpt.newest_valid(self.dir, self.log)
                if found is not None:
                    self._check_compatible(found)
                    payload = ("ok", found.path, found.tensors, found.state)
            except CheckpointError as exc:
                payload = ("error", str(exc))
        payload = broadcast(payload, self.ctx)
        if payload[0] == "error":
            raise CheckpointError(payload[1])
        if payload[0] == "none":
            self.log(f"warning: --resume found no checkpoint in {self.dir}; starting from scratch")
            return
        _, path, tensors, state = payload
        self._apply(ckpt.Checkpoint(path, tensors, state))
        self.history.resumed_from = path.name
        self.log(f"resuming from {path} ({self._where(self.epochs_done, self.step)})")

    def _check_compatible(self, found: ckpt.Checkpoint) -> None:
        state = found.state
        fix = "start without --resume, or resume with the settings it was made with"
        saved_world = state.get("world_size")
        if saved_world != self.ctx.world_size:
            raise CheckpointError(
                f"checkpoint {found.path} was written by {saved_world} process(es), this run "
                f"has {self.ctx.world_size}; resume with torchrun --nproc-per-node "
                f"{saved_world} (over all machines), or {fix}"
            )
        diff = ckpt.first_difference(state.get("model"), self.model_fp)
        if diff:
            raise CheckpointError(f"checkpoint {found.path} is for another model ({diff}); {fix}")
        diff = ckpt.first_difference(state.get("run"), self.run_fp)
        if diff:
            raise CheckpointError(f"checkpoint {found.path} is from another run ({diff}); {fix}")

    def _apply(self, found: ckpt.Checkpoint) -> None:
        """Restore every state, all or nothing."""
        saved_model = {k: v.clone() for k, v in self.model.state_dict().items()}
        saved_optim = copy.deepcopy(self.optimizer.state_dict())
        saved_schedule = self.schedule.state_dict()
        state = found.state
        try:
            self.model.load_state_dict(found.prefixed("model"), strict=True)
            self.optimizer.load_state_dict(
                ckpt.optimizer_state_dict(self.optimizer, found.tensors, state["optimizer"])
            )
            self.schedule.load_state_dict(state["schedule"])
            stopping = state["early_stopping"]
            best = found.prefixed("best")
            history = state["history"]
            mine = state["ranks"][self.ctx.rank]
            totals = _Totals(*(float(x) for x in mine["totals"]))
            position = state["position"]
            epochs_done, step = int(position["epochs_done"]), int(position["step"])
            resume_rng = (mine["rng_epoch_start"], mine["rng"])
        except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
            self.model.load_state_dict(saved_model)
            self.optimizer.load_state_dict(saved_optim)
            self.schedule.load_state_dict(saved_schedule)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise CheckpointError(
                f"checkpoint {found.path} does not fit this model ({first}); start without --resume"
            ) from None
        self.best_loss = math.inf if stopping["best_loss"] is None else stopping["best_loss"]
        self.bad_epochs = int(stopping["bad_epochs"])
        self.finished = bool(stopping["finished"])
        self.best_state = best or None
        self.history.epochs = list(history["epochs"])
        self.history.best_epoch = int(history["best_epoch"])
        self.history.stopped_early = bool(history["stopped_early"])
        self.epochs_done, self.step, self.totals = epochs_done, step, totals
        self.resume_rng = resume_rng
        self.run_id = state.get("run_id") or self.run_id

    # -- checkpoints -----------------------------------------------------------------
    def save(self, batches_in_epoch: int) -> Path | None:
        """Write a checkpoint at the current position (a collective: every rank calls it)."""
        self._check_finite()
        mine = {
            "rng": ckpt.capture_rng(),
            "rng_epoch_start": self.rng_epoch_start,
            "totals": self.totals.as_list(),
        }
        ranks = all_gather(mine, self.ctx)
        written = None
        if self.ctx.is_main:
            tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
            if self.best_state is not None:
                tensors.update({f"best.{k}": v for k, v in self.best_state.items()})
            optim_tensors, optim_json = ckpt.optimizer_parts(self.optimizer)
            tensors.update(optim_tensors)
            state = {
                "format": ckpt.FORMAT,
                "run_id": self.run_id,
                "position": {
                    "epochs_done": self.epochs_done,
                    "step": self.step,
                    "batches_in_epoch": batches_in_epoch,
                },
                "world_size": self.ctx.world_size,
                "model": self.model_fp,
                "run": self.run_fp,
                "optimizer": optim_json,
                "schedule": ckpt.canonical(self.schedule.state_dict()),
                "early_stopping": {
                    "best_loss": None if math.isinf(self.best_loss) else self.best_loss,
                    "bad_epochs": self.bad_epochs,
                    "finished": self.finished,
                },
                "history": {
                    "epochs": self.history.epochs,
                    "best_epoch": self.history.best_epoch,
                    "stopped_early": self.history.stopped_early,
                },
                "ranks": ranks,
                "torch_version": torch.__version__,
            }
            written = ckpt.write_checkpoint(self.dir, tensors, state)
            ckpt.prune(self.dir, self.run_id)
        self.last_save = time.monotonic()
        return written

    def _check_finite(self) -> None:
        for name, t in self.model.state_dict().items():
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                where = self._where(self.epochs_done, self.step)
                raise self._diverged(f"weight {name} is not finite", where)

    def _due(self, done: int, total: int) -> bool:
        """A checkpoint within the epoch is due after ``done`` of ``total`` batches."""
        if self.dir is None or done >= total:  # the epoch-end checkpoint follows anyway
            return False
        every = self.config.checkpoint_every_steps
        if every and done % every == 0:
            return True
        seconds = self.config.checkpoint_every_s
        return bool(seconds) and time.monotonic() - self.last_save >= seconds

    # -- messages --------------------------------------------------------------------
    @staticmethod
    def _where(epochs_done: int, step: int) -> str:
        if step == 0:
            return f"the end of epoch {epochs_done}" if epochs_done else "the start"
        return f"epoch {epochs_done + 1} step {step}"

    def _diverged(self, what: str, where: str | None = None) -> TrainingDiverged:
        where = where or f"epoch {self.epochs_done + 1} step {self.step + 1}"
        return TrainingDiverged(
            f"training diverged at {where} ({what}); "
            f"lower --lr (now {self.config.lr:g}) or set --clip-norm (now "
            f"{self.config.clip_norm:g}) and train again; no non-finite weights were saved"
        )

    def _interrupted(self, interrupts: _Interrupts) -> TrainingInterrupted:
        where = self._where(self.epochs_done, self.step)
        return TrainingInterrupted(
            f"training stopped by {interrupts.name}; saved a checkpoint at {where} in "
            f"{self.dir}; run the same command with --resume to continue",
            checkpoint_dir=self.dir,
            epoch=self.epochs_done + (1 if self.step else 0),
            step=self.step,
        )

    # -- training --------------------------------------------------------------------
    def run(
        self,
        net: torch.nn.Module,
        train_batches: Callable[[int], Sequence[Any]],
        val_batches: Sequence[Any],
        on_epoch: Callable[[dict[str, float]], None] | None,
        bars: Progress,
        interrupts: _Interrupts,
    ) -> None:
        config, ctx = self.config, self.ctx
        epoch = self.epochs_done + 1
        if self.finished or epoch > config.epochs:
            self.log(f"nothing left to train: the checkpoint finished at epoch {epoch - 1}")
        while not self.finished and epoch <= config.epochs:
            if self.resume_rng is not None and self.step > 0:
                ckpt.restore_rng(self.resume_rng[0])  # as it was when the epoch's batches were made
            elif self.resume_rng is not None:
                ckpt.restore_rng(self.resume_rng[1])
            self.rng_epoch_start = ckpt.capture_rng()
            batches = train_batches(epoch)
            if self.resume_rng is not None and self.step > 0:
                ckpt.restore_rng(self.resume_rng[1])  # as it was after the last batch saved
            self.resume_rng = None
            self._check_batches(epoch, batches)
            self._train_epoch(net, epoch, batches, bars, interrupts)
            record = self._end_epoch(epoch, val_batches, bars, len(batches))
            if on_epoch is not None and ctx.is_main:
                on_epoch(record)
            stop = all_reduce_sum([interrupts.requested], ctx)[0] > 0
            if stop and not self.finished and epoch < config.epochs:
                barrier(ctx)
                raise self._interrupted(interrupts)
            epoch += 1

    def _check_batches(self, epoch: int, batches: Sequence[Any]) -> None:
        counts = all_gather(len(batches), self.ctx)
        if len(set(counts)) > 1:
            raise RnnlabError(
                f"epoch {epoch}: the ranks got different numbers of batches ({counts}); build "
                "training batches with bucket_batches(shuffle=True) or shard_batches"
            )
        if self.step > len(batches):
            raise CheckpointError(
                f"the checkpoint is at batch {self.step} of epoch {epoch}, which now has only "
                f"{len(batches)} batches: the data changed; start without --resume"
            )

    def _train_epoch(
        self,
        net: torch.nn.Module,
        epoch: int,
        batches: Sequence[Any],
        bars: Progress,
        interrupts: _Interrupts,
    ) -> None:
        config, ctx, totals = self.config, self.ctx, self.totals
        total = len(batches)
        task = bars.add_task(
            f"epoch {epoch}/{config.epochs}", total=total, completed=self.step, stats=""
        )
        net.train()
        start = time.perf_counter() - totals.seconds
        for i in range(self.step, total):
            loss, n_correct, n = self.step_fn(net, _to_device(batches[i], self.device))
            value = float(loss.detach())
            bad = not math.isfinite(value)
            if ctx.distributed:
                # one small all_reduce per batch: the global item count (to weight this
                # rank's share) and the decisions every rank must take together
                due = ctx.is_main and self._due(i + 1, total)
                n_all, due_n, stop_n, bad_n = all_reduce_sum(
                    [n, due, interrupts.requested, bad], ctx
                )
                due, stop, bad = due_n > 0, stop_n > 0, bad_n > 0
                loss = loss * (n * ctx.world_size / max(n_all, 1e-12))
            if bad:
                raise self._diverged(f"loss {value}" if not ctx.distributed else "loss not finite")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(self.params, config.clip_norm)
            try:
                self.optimizer.step()
            except RuntimeError as exc:  # e.g. lr / bias correction overflows float32
                if "overflow" not in str(exc):
                    raise
                raise self._diverged("the update overflows float32") from None
            totals.loss += value * n
            totals.correct += n_correct
            totals.items += n
            self.step = i + 1
            totals.seconds = time.perf_counter() - start
            if not ctx.distributed:
                due, stop = self._due(i + 1, total), interrupts.requested
            if self.step % 10 == 0 or self.step == total:
                bars.update(
                    task,
                    completed=self.step,
                    stats=f"loss {totals.loss / max(totals.items, 1):.4f} "
                    f"acc {totals.correct / max(totals.items, 1):.4f}",
                )
            if stop and self.step < total and self.dir is not None:
                self.save(total)
                barrier(ctx)
                raise self._interrupted(interrupts)
            if due:
                self.save(total)
        self._task = task

    def _end_epoch(
        self, epoch: int, val_batches: Sequence[Any], bars: Progress, total: int
    ) -> dict[str, float]:
        ctx, totals = self.ctx, self.totals
        loss_sum, correct, items = all_reduce_sum(totals.as_list()[:3], ctx)
        start = time.perf_counter()
        shard = val_batches[ctx.rank :: ctx.world_size] if ctx.distributed else val_batches
        val_loss, val_correct, val_items = all_reduce_sum(
            _sums(self.model, shard, self.step_fn, self.device), ctx
        )
        record = {
            "epoch": epoch,
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_loss": loss_sum / max(items, 1),
            "train_accuracy": correct / max(items, 1),
            "val_loss": val_loss / max(val_items, 1),
            "val_accuracy": val_correct / max(val_items, 1),
            "epoch_seconds": round(totals.seconds, 3),
            "val_seconds": round(time.perf_counter() - start, 3),
        }
        if not math.isfinite(record["val_loss"]):
            raise self._diverged(f"validation loss {record['val_loss']}", f"epoch {epoch}")
        self.history.epochs.append(record)
        bars.update(
            self._task,
            stats=f"loss {record['train_loss']:.4f} acc {record['train_accuracy']:.4f} "
            f"| val loss {record['val_loss']:.4f} acc {record['val_accuracy']:.4f}",
        )
        if record["val_loss"] < self.best_loss:
            self.best_loss = record["val_loss"]
            self.history.best_epoch = epoch
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        self.schedule.step()
        if self.bad_epochs > self.config.patience:
            self.finished = True
            self.history.stopped_early = epoch < self.config.epochs
        self.epochs_done, self.step, self.totals = epoch, 0, _Totals()
        if self.dir is not None:
            self.save(total)
            if ctx.is_main:
                ckpt.write_history(self.dir, self.history.epochs)
        return record


def fit(
    model: torch.nn.Module,
    train_batches: Callable[[int], Sequence[Any]],
    val_batches: Sequence[Any],
    step: StepFn,
    config: TrainConfig,
    checkpoint_dir: Path | None = None,
    progress: bool = True,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    *,
    resume: bool = False,
    run_fingerprint: dict[str, Any] | None = None,
    dist: DistContext | None = None,
    log: Log | None = None,
) -> History:
    """Train ``model`` in place and leave it holding its best weights (in eval mode).

    It trains on ``config.device`` (``auto``: a CUDA GPU when torch sees one; under
    torchrun each rank its own, see :func:`~rnnlab.training.distributed.training_device`)
    and is handed back on the device it came on -- also after an error -- so the
    caller saves and exports a CPU model whatever the training device was.

    Parameters
    ----------
    train_batches : callable
        ``epoch -> batches`` (a sequence); called once per epoch so batches can be
        reshuffled. It must depend only on ``epoch`` and the seeded random
        generators (a resumed run calls it again for the epoch it resumes). In a
        distributed run it returns this rank's share (``bucket_batches(...,
        shuffle=True)`` does that by itself).
    val_batches : sequence
        Validation batches; the validation loss chooses the epoch kept. In a
        distributed run each rank evaluates ``val_batches[rank::world_size]``.
    step : callable
        ``(model, batch) -> (mean loss tensor, n_correct, n_items)``.
    checkpoint_dir : Path, optional
        Where resumable checkpoints go (layout in :mod:`rnnlab.training.checkpoint`);
        None: no checkpoints, and Ctrl-C raises KeyboardInterrupt as usual.
    on_epoch : callable, optional
        Receives each epoch's record, on the main process only.
    resume : bool
        Continue from the newest valid checkpoint in ``checkpoint_dir``. With none
        there, a warning is logged and training starts from scratch; a corrupt
        newest checkpoint is skipped for the one before it; a checkpoint of
        another model or run, or only corrupt ones, raise CheckpointError.
    run_fingerprint : dict, optional
        JSON-able description of the run (model and text settings, data sha256);
        a checkpoint is resumed only if it was made with the same one. The
        training settings that shape the trajectory (``TRAJECTORY``) and the
        world size are added here. Leave ``epochs`` and ``threads`` out so a
        resumed run may change them.
    dist : DistContext, optional
        Default: the process group already joined (``init_distributed``), if any.
    log : callable, optional
        Receives warnings and resume notices (default: stderr); silent off rank 0.

    Raises
    ------
    TrainingInterrupted
        SIGINT/SIGTERM arrived; a checkpoint was saved (needs ``checkpoint_dir``).
    TrainingDiverged
        The loss became NaN or infinite.
    CheckpointError
        ``resume=True`` and the checkpoint cannot be used.
    """
    ctx = dist or current_context()
    say: Log = log or (lambda msg: print(msg, file=sys.stderr))
    if not ctx.is_main:
        say = lambda msg: None  # noqa: E731
    if resume and checkpoint_dir is None:
        raise RnnlabError("resume=True needs a checkpoint_dir to resume from")
    trainer = _Trainer(model, step, config, checkpoint_dir, ctx, run_fingerprint, say)
    try:
        if trainer.dir is not None:
            problem = None
            if ctx.is_main:
                try:
                    ckpt.prepare_directory(trainer.dir)
                except CheckpointError as exc:
                    problem = str(exc)
            problem = broadcast(problem, ctx)
            if problem:
                raise CheckpointError(problem)
        if resume:
            trainer.resume()
        elif trainer.dir is not None and ckpt.list_checkpoints(trainer.dir) and ctx.is_main:
            say(
                f"warning: {trainer.dir} holds checkpoints of an earlier run; this run replaces "
                "them (stop now and add --resume to continue that run instead)"
            )
        net: torch.nn.Module = model
        if ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(
                model, device_ids=[trainer.device.index] if trainer.device.type == "cuda" else None
            )
        with (
            _progress(progress and ctx.is_main) as bars,
            _Interrupts(enabled=trainer.dir is not None) as interrupts,
        ):
            trainer.run(net, train_batches, val_batches, on_epoch, bars, interrupts)
        if trainer.best_state is not None:
            model.load_state_dict(trainer.best_state)
    finally:  # back where the caller had it (the CPU: saving, ONNX export), error or not
        model.to(trainer.home)
    model.eval()
    return trainer.history
