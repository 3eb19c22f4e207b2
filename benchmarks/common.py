"""What the benchmark scripts share: timestamped progress lines and atomic JSON results.

Each script runs as ``python benchmarks/NAME.py``, so this folder is on ``sys.path``
and ``from common import log, write_json_atomic`` works.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_T0 = time.perf_counter()


def log(msg: str) -> None:
    """One progress line on stderr, prefixed with the seconds since the script started."""
    print(f"[{time.perf_counter() - _T0:7.1f} s] {msg}", file=sys.stderr, flush=True)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON (non-ASCII kept) to ``path``: temp file, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
