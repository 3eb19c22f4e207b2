"""The shared task template: every task trains, saves and loads through here.

A task (many-to-one classification, tagging, seq2seq, generation, the linear
baselines) is a subclass of :class:`Task` that supplies only what is its own:

======================================  ==========================================
hook                                    what the task gives
======================================  ==========================================
``read(log)``                           its data (train / validation / test), any
                                        object the other hooks understand
``build(data, log)``                    a :class:`Built`: vocabularies, network,
                                        batches, the files beside the weights
``step(model, batch)``                  ``(mean loss, n_correct, n_items)``
``predictor(built)``                    the object users call (``predict``,
                                        ``tag``, ``translate``, ``generate``)
``evaluate(model, data, log)``          validation metrics (``{"validation": ...}``)
``test(model, data, log)``              held-out metrics, or None
======================================  ==========================================

and :func:`run` owns the steps every task has, in this order::

    check --out -> seed, threads -> read -> build -> fit (progress, early
    stopping, checkpoints, history) -> evaluate -> test -> config.json ->
    atomic, sha256-checked model directory (weights, metrics, history, plots)
    -> report.html

Optional hooks with defaults: ``fit`` (the one training loop,
:func:`rnnlab.training.fit`; the linear baselines replace it with a closed-form
fit), ``describe_epoch`` (the one-line epoch log), ``plots`` (learning curve;
classifiers add a confusion matrix) and ``weights`` (a torch module's state).

Loading is the mirror image: :func:`open_model_dir` reads and verifies a
directory, :func:`load_state` fills a network, :func:`apply_threads` decides
threads once for every task, :func:`check_texts` guards the inputs. Which
loader a directory needs is decided above the tasks (``rnnlab.tasks.load``
dispatches on ``kind``), so this module never imports a task.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnlab.artifacts import (
    base_config,
    build_for_weights,
    check_output_dir,
    checkpoint_dir_for,
    json_writer,
    load_weights,
    read_config,
    weights_writer,
    write_model_dir,
)
from rnnlab.config import TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.report import write_report
from rnnlab.text.sequences import check_texts  # noqa: F401  (the tasks import it from here)

Log = Callable[[str], None]
Writer = Callable[[Path], None]


@dataclass
class TrainResult:
    """What every task's ``train`` returns.

    ``out`` the model directory; ``metrics`` what ``metrics.json`` holds
    ("validation", "test" when held-out data was given, "timing");
    ``history`` one dict per epoch (empty for closed-form fits);
    ``best_epoch`` the epoch whose weights were kept (0: none); ``model`` the
    trained model, ready to use (as ``rnnlab.load(out)`` would return it).
    """

    out: Path
    metrics: dict[str, Any]
    history: list[dict[str, float]]
    seconds: float
    best_epoch: int
    model: Any = None


@dataclass
class Built:
    """What a task's ``build`` hands to the template.

    ``net`` the model to fit (a torch module, or the linear classifier);
    ``config`` the task's own config.json entries (sizes, label names, its
    config sections, data description); ``files`` the task's files beside
    the weights, all sha256-checked (e.g. ``{"vocab.json": vocab.save}``);
    ``train_batches(epoch)`` / ``val_batches`` feed the training loop;
    ``timing`` task-specific seconds for metrics.json (e.g. Word2Vec's).
    """

    net: Any
    config: dict[str, Any]
    files: dict[str, Writer]
    train_batches: Callable[[int], Sequence[Any]] | None = None
    val_batches: Sequence[Any] | None = None
    timing: dict[str, float] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # anything predictor() needs


class Task:
    """Base class of the tasks; see the module docstring for the hooks."""

    kind: str = ""  # config.json "kind"
    val_name: str = "val"  # what the epoch log calls the validation data
    accuracy_name: str = "acc"  # what the epoch log calls the accuracy

    def __init__(self, training: TrainConfig) -> None:
        self.training = training
        self.history = None  # the fit's History, set by run() before evaluate()

    # -- hooks every task supplies -------------------------------------------------
    def read(self, log: Log) -> Any:
        raise NotImplementedError

    def build(self, data: Any, log: Log) -> Built:
        raise NotImplementedError

    @staticmethod
    def step(model, batch):  # pragma: no cover - each task supplies its own
        raise NotImplementedError

    def predictor(self, built: Built) -> Any:
        raise NotImplementedError

    def evaluate(self, model: Any, data: Any, log: Log) -> dict[str, Any]:
        raise NotImplementedError

    def test(self, model: Any, data: Any, log: Log) -> dict[str, Any] | None:
        return None

    # -- hooks with defaults -------------------------------------------------------
    def fit(self, built: Built, checkpoint_dir: Path, progress: bool, log: Log, resume=False):
        """Train ``built.net`` with the one training loop; returns its History.

        The loop checkpoints into ``checkpoint_dir`` (weights, optimizer, schedule,
        early-stopping state, history, every random state), resumes from the
        newest valid checkpoint with ``resume``, and runs under torchrun with
        DistributedDataParallel (:mod:`rnnlab.training.distributed`).
        """
        from rnnlab.training import fit

        history = fit(
            built.net,
            built.train_batches,
            built.val_batches,
            self.step,
            self.training,
            checkpoint_dir=checkpoint_dir,
            progress=progress,
            on_epoch=lambda record: log(self.describe_epoch(record)),
            resume=resume,
            run_fingerprint=self.fingerprint(built),
            log=log,
        )
        log(f"kept epoch {history.best_epoch} (lowest {self.val_name} loss)")
        return history

    def describe_epoch(self, r: dict[str, float]) -> str:
        acc = self.accuracy_name
        return (
            f"epoch {r['epoch']}: train loss {r['train_loss']:.4f} {acc} "
            f"{r['train_accuracy']:.4f} | {self.val_name} loss {r['val_loss']:.4f} {acc} "
            f"{r['val_accuracy']:.4f} ({r['epoch_seconds']:.0f} s)"
        )

    def plots(self, history, metrics: dict[str, Any]) -> dict[str, Writer]:
        """Report images written into the model directory (not checksummed)."""
        if not history.epochs:
            return {}

        def learning_curve(path: Path) -> None:
            from rnnlab.training.metrics import plot_history

            plot_history(history.epochs, path, history.best_epoch)

        return {"learning_curve.png": learning_curve}

    def fingerprint(self, built: Built) -> dict[str, Any]:
        """What a checkpoint must match to be resumed: the kind and the task's settings
        and data (the training settings are added by the loop)."""
        return {"kind": self.kind, **built.config}

    def settings(self) -> dict[str, Any]:
        """What config.json records under "train"."""
        return self.training.to_dict()

    def extras(self, model: Any, data: Any, log: Log) -> dict[str, Writer]:
        """More report files for the model directory (not checksummed), e.g. the
        classifiers' ``examples.json`` (most confidently wrong validation examples)."""
        return {}

    def weights(self, built: Built) -> Writer:
        """The writer of ``model.safetensors``."""
        return weights_writer(built.net)


def run(
    task: Task, out: str | Path, progress: bool = True, log: Log = print, resume: bool = False
) -> TrainResult:
    """Train ``task`` and write its model directory at ``out``: the template.

    ``resume``: continue from the newest valid checkpoint in ``<out>.checkpoints``
    (a killed, interrupted or stopped run). Under ``torchrun`` every process
    runs this; each trains on its shard, and only the main process (rank 0)
    evaluates, writes the model directory and logs.
    """
    from rnnlab.training.distributed import init_distributed, resolve_device, shutdown_distributed

    device = getattr(task.training, "device", "auto")
    resolve_device(device)  # a device this machine lacks fails before any data is read
    ctx = init_distributed(device=device)  # one process unless torchrun started us
    try:
        if not ctx.is_main:
            log, progress = (lambda _msg: None), False
        return _run(task, out, progress, log, resume, ctx)
    finally:
        if ctx.distributed:
            shutdown_distributed()


def _run(task: Task, out, progress: bool, log: Log, resume: bool, ctx) -> TrainResult:
    from rnnlab.training import seed_everything, set_threads
    from rnnlab.training.loop import History

    training = task.training
    start = time.perf_counter()
    out = check_output_dir(out)
    seed_everything(training.seed)
    set_threads(training.threads)
    data = task.read(log)
    built = task.build(data, log)
    t0 = time.perf_counter()
    history: History = task.fit(built, checkpoint_dir_for(out), progress, log, resume)
    if not ctx.is_main:  # rank 0 evaluates and writes; the others are done
        seconds = time.perf_counter() - start
        return TrainResult(out, {}, history.epochs, seconds, history.best_epoch, None)
    task.history = history  # what evaluate may read (e.g. the best epoch's validation loss)
    network_seconds = time.perf_counter() - t0
    model = task.predictor(built)
    metrics = task.evaluate(model, data, log)
    fit_seconds = time.perf_counter() - start
    held_out = task.test(model, data, log)
    if held_out is not None:
        metrics["test"] = held_out
    seconds = time.perf_counter() - start
    metrics["timing"] = {
        "total_seconds": round(seconds, 1),
        "fit_seconds": round(fit_seconds, 1),  # everything before the held-out evaluation
        "network_seconds": round(network_seconds, 1),
        **built.timing,
        "epochs_run": len(history.epochs),
        "peak_rss_mb": peak_rss_mb(),  # of the whole process, up to now
    }
    config = {
        **base_config(task.kind),
        **built.config,
        "train": task.settings(),
        "best_epoch": history.best_epoch,
        "stopped_early": history.stopped_early,
        "world_size": getattr(history, "world_size", 1),  # processes that trained it
    }
    writers: dict[str, Writer] = {
        **built.files,
        "model.safetensors": task.weights(built),
        "metrics.json": json_writer(metrics),
    }
    if history.epochs:
        writers["history.jsonl"] = history.write_jsonl
    writers.update(task.plots(history, metrics))
    writers.update(task.extras(model, data, log))
    write_model_dir(out, config, writers, checked=(*built.files, "model.safetensors"))
    write_report(out)  # report.html: settings, curves, examples; `rnnlab report` redoes it
    log(f"saved {out}")
    if hasattr(model, "path"):  # the model in memory reads as rnnlab.load(out) would
        model.path, model.config = out, read_config(out, verify=False)
    return TrainResult(out, metrics, history.epochs, seconds, history.best_epoch, model)


# ---------------------------------------------------------------------------- loading


def open_model_dir(path: str | Path, kind: str) -> tuple[Path, dict[str, Any]]:
    """``(path, config)`` of a verified model directory of ``kind`` (ArtifactError if not)."""
    path = Path(path)
    return path, read_config(path, kind=kind)


def load_state(build: Callable[[], Any], path: Path) -> Any:
    """The network ``build()`` makes, filled from ``path/model.safetensors``, in eval mode.

    The shapes the config describes are checked against the weight file's
    header before anything is allocated (:func:`rnnlab.artifacts.build_for_weights`),
    so an edited config.json (a huge ``vocab_size``) fails at once with one line.
    """
    net = build_for_weights(build, path / "model.safetensors")
    load_weights(net, path / "model.safetensors")
    return net.eval()


DEFAULT_THREADS = None  # see apply_threads


def resolve_threads(threads: int | None) -> int:
    """The torch thread count a loaded model predicts with.

    ``None`` (the default of every ``load``): half the cores, at least one --
    a model loaded next to other work must not oversubscribe the machine (with
    torch on every core beside another busy process, batch prediction was
    measured falling from ~66,000 to ~550 texts/s on 2 cores). ``0``: every
    core (a machine of its own). ``N``: exactly N.
    """
    cores = os.cpu_count() or 1
    if threads is None:
        return max(1, cores // 2)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise RnnlabError(
            f"threads must be None, 0 (all cores) or a positive integer, got {threads!r}"
        )
    return threads or cores


def apply_threads(threads: int | None) -> int:
    """Set torch's thread count as :func:`resolve_threads` decides; returns it."""
    import torch

    n = resolve_threads(threads)
    torch.set_num_threads(n)
    return n


def bundled_model_path() -> Path:
    """The IMDB sentiment model shipped inside the package."""
    path = Path(__file__).parent.parent / "bundled" / "imdb-sentiment"
    if not (path / "config.json").is_file():
        raise RnnlabError(
            f"the bundled model is missing from this installation ({path}); "
            "pass a model directory trained with `rnnlab train`"
        )
    return path


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MB (None where not POSIX)."""
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux
