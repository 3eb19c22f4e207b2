"""A faster prediction path: the torch network exported to ONNX, run by onnxruntime.

Measured here (2-core CPU, the bundled 2-layer BiLSTM(48),
``benchmarks/predict_speed.py``): onnxruntime answers one review 2-4x faster
than torch (p50 about 1 ms against 2-4 ms: torch pays a fixed cost per
operator), while in batch, one thread each, the two are within 10% of each
other (about 410 us a review at 16 texts a call for onnxruntime, 435 us at 64
for torch). The graph is exported from the safetensors weights
(the model directory stores no second copy of them), checked against torch's
outputs on a probe batch, and cached under ``$RNNLAB_CACHE/onnx`` (default
``~/.cache/rnnlab/onnx``) keyed by the weights' sha256, so it is built once;
a cached file that no longer loads or passes the check is rebuilt.

Threads. A recurrent network over a small batch does little work per time
step, so splitting each step's matrix products between threads costs more in
synchronisation than it gains, and when another process takes one of the cores
a thread team waits at every step for its descheduled member: measured on the
shared 2-core machine, one review with torch on 2 threads took p50 9.4 ms and
p95 4.9 s, against 2.2 / 3.2 ms on one thread. Batch prediction therefore runs
one network call per worker thread, each on a single thread (torch and
onnxruntime release the GIL, so two workers use two cores, and one worker's
tokenizing overlaps the other's network): :func:`one_torch_thread` holds
torch's (process-wide) setting at one thread meanwhile, and the onnxruntime
session runs each call on the calling thread, never spinning.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from rnnlab.errors import RnnlabError

TOLERANCE = 1e-4  # max |logit difference| allowed between onnxruntime and torch


def export_onnx(net) -> bytes:
    """Export ``net(ids (N, T), lengths (N,)) -> logits (N, C)`` with dynamic N and T."""
    import torch

    ids = torch.randint(2, 10, (3, 7))  # (N, T)
    lengths = torch.tensor([7, 4, 1])
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (ids, lengths),
            buf,
            input_names=["ids", "lengths"],
            output_names=["logits"],
            dynamic_axes={"ids": {0: "N", 1: "T"}, "lengths": {0: "N"}, "logits": {0: "N"}},
            opset_version=17,
            dynamo=False,
        )
    return buf.getvalue()


def check_value(session, net) -> float:
    """Largest |logit| difference between onnxruntime and torch on a probe batch."""
    import torch

    rng = np.random.default_rng(0)
    vocab = net.embedding.num_embeddings
    lengths = np.array([1, 5, 23, 60, 37], dtype=np.int64)
    ids = np.zeros((len(lengths), int(lengths.max())), dtype=np.int64)  # (N, T)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(1, vocab, n)
    got = session.run(None, {"ids": ids, "lengths": lengths})[0]
    with torch.inference_mode():
        want = net(torch.from_numpy(ids), torch.from_numpy(lengths)).numpy()
    return float(np.abs(got - want).max())


def _cache_dir() -> Path:
    return Path(os.environ.get("RNNLAB_CACHE", Path.home() / ".cache" / "rnnlab")) / "onnx"


def session_options(threads: int = 1, spinning: bool = False):
    """onnxruntime options: ``threads`` intra-op threads (0: every core), sequential
    execution, every graph optimisation, and idle threads that sleep rather than spin.

    Spinning threads keep a core busy between calls, which on a machine shared
    with a tokenizing worker (or another process) takes the core they wait for.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def _session(data: bytes, net, threads: int):
    """An onnxruntime session of ``data``, checked against torch (else an exception)."""
    import onnxruntime as ort

    options = session_options(threads)
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    diff = check_value(session, net)
    if not diff <= TOLERANCE:  # NaN too
        raise RnnlabError(f"onnx export differs from torch by {diff:.2e} (> {TOLERANCE})")
    return session


def cache_path(net) -> Path:
    """Where the export of ``net`` is cached: keyed by weights, architecture and versions."""
    import onnxruntime as ort
    import torch

    state = net.state_dict()
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].detach().contiguous().numpy().tobytes())
    config = getattr(net, "config", None)
    architecture = f"{repr(net)}|{config.to_dict() if config is not None else ''}"
    digest.update(f"{architecture}|{torch.__version__}|{ort.__version__}".encode())
    return _cache_dir() / f"{digest.hexdigest()[:32]}.onnx"


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def onnx_session(
    net, required: bool = False, threads: int = 1, warn: Callable[[str], None] | None = None
):
    """An onnxruntime session equivalent to ``net``, or None if unavailable.

    ``threads``: intra-op threads of each call (1, the default: see the module
    docstring; 0: every core).

    The cached export is used when it loads and passes the check against
    torch; a cached file that does not (corrupt, truncated, stale) is rebuilt:
    a new export is checked, then written to a temporary file and moved over
    it. If the new export fails the check too, ``required=True`` raises
    RnnlabError naming the cache file; otherwise ``warn`` (default: a line on
    stderr) receives a warning naming it and None is returned (the caller
    then uses torch). Without onnxruntime, None (or RnnlabError if required).
    """
    try:
        cached = cache_path(net)
    except Exception as exc:  # noqa: BLE001 - onnxruntime missing or broken: use torch
        if required:
            raise RnnlabError(f"onnx backend unavailable: {_first_line(exc)}") from None
        return None
    if cached.is_file():
        try:
            return _session(cached.read_bytes(), net, threads)
        except Exception:  # noqa: BLE001 - corrupt or stale: rebuilt below
            pass
    try:
        data = export_onnx(net)
        session = _session(data, net, threads)
    except Exception as exc:  # noqa: BLE001 - any exporter/runtime failure means: use torch
        with contextlib.suppress(OSError):
            cached.unlink(missing_ok=True)  # a failing file is never left to be tried again
        problem = f"cannot build the ONNX export {cached}: {_first_line(exc)}"
        if required:
            raise RnnlabError(
                f"onnx backend unavailable: {problem}; use --backend torch (or auto)"
            ) from None
        (warn or _stderr)(f"warning: {problem}; running the model with torch instead")
        return None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, cached)
    except OSError:
        pass  # a read-only cache only costs a re-export next time
    return session


_torch_threads_lock = threading.Lock()
_torch_threads_users = 0
_torch_threads_saved = 1


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block with torch on one intra-op thread, then restore the setting.

    torch's thread count is one setting for the whole process, so concurrent
    users (two ``predict`` calls of a server) share it: the first one in sets
    it to 1, the last one out restores what the first one found.
    """
    global _torch_threads_users, _torch_threads_saved
    import torch

    with _torch_threads_lock:
        if _torch_threads_users == 0:
            _torch_threads_saved = torch.get_num_threads()
            if _torch_threads_saved != 1:
                torch.set_num_threads(1)
        _torch_threads_users += 1
    try:
        yield
    finally:
        with _torch_threads_lock:
            _torch_threads_users -= 1
            if _torch_threads_users == 0 and _torch_threads_saved != 1:
                torch.set_num_threads(_torch_threads_saved)
