"""The Spanish docs stay true: links resolve, quoted code is in its file, named tests exist,
examples print what they show, and every figure is one measured in the English docs."""

from __future__ import annotations

import doctest
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ES = ROOT / "docs" / "es"
GLASS = ES / "caja-de-cristal.md"
ACTIVITY = ES / "actividad.md"
PAGES = [ROOT / "README.es.md", GLASS, ACTIVITY]
NOTEBOOK = ROOT / "notebooks" / "01-criticas-de-peliculas.ipynb"
SCRATCH = ROOT / "src" / "rnnlab" / "scratch"

pytestmark = pytest.mark.skipif(not GLASS.exists(), reason="docs/ not in this checkout")


def markdown_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("page", [*PAGES, NOTEBOOK], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", markdown_of(page))
    local = [link.split("#")[0] for link in links if not re.match(r"[a-z]+://", link)]
    assert local, "no links found"
    missing = [link for link in local if link and not (page.parent / link).exists()]
    assert missing == []


def test_quoted_code_is_in_the_file_named() -> None:
    blocks = re.findall(r"`(\w+\.py)`:\n\n\s*```python\n(.*?)```", GLASS.read_text(), re.S)
    assert len(blocks) >= 10
    for name, code in blocks:
        lines = {line.strip() for line in (SCRATCH / name).read_text().splitlines()}
        for quoted in code.strip().splitlines():
            assert quoted.strip() in lines, f"{name}: {quoted.strip()!r}"


def test_quoted_table_code_is_in_cells_py() -> None:
    rows = re.findall(r"^\|[^|\n]*\$[^|\n]*\| `([^`]+)` \|$", GLASS.read_text(), re.M)
    assert len(rows) >= 10  # seven LSTM rows, three GRU rows
    lines = {line.strip() for line in (SCRATCH / "cells.py").read_text().splitlines()}
    assert [code for code in rows if code not in lines] == []


def test_named_tests_exist() -> None:
    refs = re.findall(r"`(test_\w+\.py)::(test_\w+)(\[[^\]*]*\])?`", GLASS.read_text())
    assert len(refs) >= 15
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-o", "addopts=", "-p",
         "no:cacheprovider", str(ROOT / "tests" / "scratch")],
        capture_output=True, text=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    ids = {line.split("/")[-1] for line in collected.splitlines() if "::" in line}
    names = {i.split("[")[0] for i in ids}
    for file, name, param in refs:
        wanted = f"{file}::{name}{param}"
        assert wanted in (ids if param else names), wanted


def test_examples_print_what_the_page_shows() -> None:
    blocks = [
        b for b in re.findall(r"```python\n(.*?)```", ACTIVITY.read_text(), re.S) if ">>>" in b
    ]
    assert len(blocks) >= 2
    parser, runner = (
        doctest.DocTestParser(),
        doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE),
    )
    globs: dict = {}
    for k, block in enumerate(blocks):  # one page: names carry from block to block
        test = parser.get_doctest(block, globs, f"actividad.md[{k}]", str(ACTIVITY), 0)
        runner.run(test, clear_globs=False)
        globs = test.globs
    assert runner.summarize(verbose=False).failed == 0


def english_numbers() -> str:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in pages)


# Numbers in the Spanish pages that are settings or facts, not measurements.
NOT_MEASURED = {"0,3"}  # rnnlab's default dropout (rnnlab.config.ModelConfig)


@pytest.mark.parametrize("page", [*PAGES, NOTEBOOK], ids=lambda p: p.name)
def test_every_decimal_figure_comes_from_the_english_docs(page: Path) -> None:
    english = english_numbers()
    text = re.sub(r"```.*?```", "", markdown_of(page), flags=re.S)  # code output is checked above
    figures = set(re.findall(r"(?<![\w.,])\d+,\d+(?:e-\d+)?", text)) - NOT_MEASURED
    assert figures, "no figures found"
    missing = [f for f in sorted(figures) if f.replace(",", ".") not in english]
    assert missing == []
