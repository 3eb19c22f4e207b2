"""Input checks shared by the NumPy reference: every error names the parameter,
what was expected and what was received.

Shape legend: N batch, T time, D input features, H hidden units, L layers,
V output classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def check_dtype(dtype: object) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, float64 or float32 only."""
    try:
        resolved = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError as err:
        raise ValueError(f"dtype must be float64 or float32; got {dtype!r}") from err
    if resolved not in DTYPES:
        raise ValueError(f"dtype must be float64 or float32; got {resolved}")
    return resolved


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int >= 1 (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_array(
    name: str,
    value: object,
    shape: Sequence[int | None],
    legend: Sequence[str],
    dtype: np.dtype,
) -> np.ndarray:
    """Return ``value`` as a ``dtype`` array of the given shape.

    ``None`` in ``shape`` leaves that axis free; ``legend`` names the axes for
    the message, e.g. ``x must have shape (N, T, D=3); got (2, 5, 4)``.
    """
    try:
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    except ValueError as err:  # a ragged list
        raise ValueError(f"{name} must be a rectangular array; got {err}") from err
    if arr.ndim != len(shape) or any(
        s is not None and s != n for s, n in zip(shape, arr.shape, strict=False)
    ):
        expected = ", ".join(
            a if s is None else f"{a}={s}" for a, s in zip(legend, shape, strict=False)
        )
        got = type(value).__name__ if arr.dtype.kind in "OSU" else str(arr.shape)
        raise ValueError(f"{name} must have shape ({expected}); got {got}")
    if arr.dtype.kind not in "fiu":  # float, int, unsigned
        raise ValueError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    return arr.astype(dtype, copy=False)


def check_state(
    name: str,
    value: object,
    state_names: tuple[str, ...],
    shape: Sequence[int | None],
    legend: Sequence[str],
    dtype: np.dtype,
) -> tuple[np.ndarray, ...]:
    """Check a recurrent state: a tuple ``(h,)`` (RNN, GRU) or ``(h, c)`` (LSTM)."""
    described = "(" + ", ".join(state_names) + (",)" if len(state_names) == 1 else ")")
    if not isinstance(value, tuple | list) or len(value) != len(state_names):
        got = f"{len(value)} arrays" if isinstance(value, tuple | list) else type(value).__name__
        raise ValueError(f"{name} must be a tuple {described} of arrays; got {got}")
    return tuple(
        check_array(f"{name}[{k}] ({s})", v, shape, legend, dtype)
        for k, (s, v) in enumerate(zip(state_names, value, strict=True))
    )
