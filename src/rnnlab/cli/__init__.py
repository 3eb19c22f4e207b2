"""The ``rnnlab`` command line: thin typed commands over the library.

Each command parses its options, calls one library function and prints.
Library errors (``RnnlabError``) become one line on stderr and exit code 1;
usage errors exit with code 2; nothing prints a traceback for a user mistake.
"""

from __future__ import annotations

# Importing the command modules registers their commands on `app`.
from rnnlab.cli import (  # noqa: E402,F401
    classify,
    embed,
    experiment,
    explain,
    export,
    generate,
    pretrain,
    seq2seq,
    serve,
    tag,
)
from rnnlab.cli.common import app


def main() -> None:
    app()
