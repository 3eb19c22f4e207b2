"""docs/figures/make_figures.py draws the guide's seven figures in English and Spanish."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "figures" / "make_figures.py"
NAMES = [
    "input_tensor",
    "io_configurations",
    "rnn_unrolled",
    "rnn_multilayer",
    "lstm_network",
    "lstm_block",
    "gru_block",
]

pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="docs/ not in this checkout")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("figures")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    listed = {Path(line) for line in result.stdout.splitlines()}
    assert listed == set(out.rglob("*.svg")) | set(out.rglob("*.png"))
    return out


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("name", NAMES)
def test_every_figure_is_a_valid_svg_and_png(drawn: Path, name: str, lang: str) -> None:
    folder = drawn if lang == "en" else drawn / lang
    root = ET.parse(folder / f"{name}.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 20  # something is drawn
    with Image.open(folder / f"{name}.png") as png:
        png.verify()
    with Image.open(folder / f"{name}.png") as png:
        width, height = png.size
        assert 300 <= width <= 1600 and 300 <= height <= 1000  # readable, and small at dpi 100
        assert len(png.convert("RGB").getcolors(maxcolors=256) or range(257)) > 8  # not blank


@pytest.mark.parametrize("name", NAMES)
def test_spanish_labels_differ_from_english(drawn: Path, name: str) -> None:
    assert (drawn / f"{name}.svg").read_bytes() != (drawn / "es" / f"{name}.svg").read_bytes()


def test_output_is_deterministic(drawn: Path, tmp_path: Path) -> None:
    args = ["--out", str(tmp_path), "--lang", "es", "--only", "lstm_block", "gru_block"]
    subprocess.run([sys.executable, str(SCRIPT), *args], check=True, capture_output=True)
    for name in ("lstm_block.svg", "lstm_block.png", "gru_block.svg"):
        assert (tmp_path / "es" / name).read_bytes() == (drawn / "es" / name).read_bytes()
    assert not (tmp_path / "lstm_block.svg").exists()  # --lang es writes Spanish only


def test_unknown_figure_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--only", "lstm_blok"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "invalid choice: 'lstm_blok'" in result.stderr
    assert list(tmp_path.iterdir()) == []
