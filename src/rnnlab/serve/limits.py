"""The server's limits, with their defaults in one place (the CLI reads them from here).

Importing this module is cheap: it does not import FastAPI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from rnnlab.errors import RnnlabError


@dataclass(frozen=True)
class ServeLimits:
    """Limits of ``rnnlab serve``; each is a ``rnnlab serve`` flag of the same name.

    Attributes
    ----------
    max_body_bytes : int
        Largest request body, in bytes (``--max-body-bytes``). A larger one is
        refused with 413 before it is read: from its Content-Length header, or
        while it streams in.
    max_texts : int
        Texts per ``/predict`` request (``--max-texts``), checked before any
        text is looked at.
    max_text_chars : int
        Characters per text (``--max-text-chars``).
    max_explain_texts : int
        Texts per ``/explain`` request (``--max-explain-texts``): an explanation
        costs tens of forward passes per text.
    concurrency : int
        Model calls run at once, each in a worker thread (``--concurrency``);
        further requests wait their turn while the event loop keeps answering
        ``/health`` and ``/metrics``.
    graceful_timeout_s : int
        On shutdown, seconds to let running requests finish (``--graceful-timeout``).
    """

    max_body_bytes: int = 1_000_000
    max_texts: int = 1000
    max_text_chars: int = 100_000
    max_explain_texts: int = 20
    concurrency: int = 2
    graceful_timeout_s: int = 10

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                flag = "--" + f.name.removesuffix("_s").replace("_", "-")
                raise RnnlabError(f"{flag} must be a positive integer, got {value!r}")

    def to_dict(self) -> dict[str, int]:
        return asdict(self)
