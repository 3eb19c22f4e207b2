"""docs/glass-box.md quotes code by file:line and names tests: keep both true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "glass-box.md"
SRC = ROOT / "src" / "rnnlab" / "scratch"

pytestmark = pytest.mark.skipif(not DOC.exists(), reason="docs/ not in this checkout")


def source_lines(name: str, first: int, last: int) -> list[str]:
    return [line.strip() for line in (SRC / name).read_text().splitlines()[first - 1 : last]]


def test_quoted_code_blocks_are_at_the_lines_given():
    doc = DOC.read_text()
    blocks = re.findall(r"`(\w+\.py):(\d+)(?:-(\d+))?`[^`]*?```python\n(.*?)```", doc, re.S)
    assert len(blocks) >= 8
    for name, first, last, code in blocks:
        lines = source_lines(name, int(first), int(last or first))
        for quoted in code.strip().splitlines():
            assert quoted.strip() in lines, f"{name}:{first}: {quoted.strip()!r}"


def test_quoted_table_lines_are_at_the_lines_given():
    rows = re.findall(r"\| (\d+): `([^`]+)` \|", DOC.read_text())
    assert len(rows) >= 10
    for number, code in rows:
        assert source_lines("cells.py", int(number), int(number)) == [code]


def test_named_tests_exist():
    defined = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        defined |= {
            f"{path.name}::{n}" for n in re.findall(r"^def (test_\w+)", path.read_text(), re.M)
        }
    names = {n.split("::")[-1] for n in defined}
    for ref in re.findall(r"`((?:test_\w+\.py::)?test_\w+)(?:\[[^\]]*\])?`", DOC.read_text()):
        assert (ref in defined) if "::" in ref else (ref in names), ref
