"""The Keras and ONNX exports: the documented snippet, run WITHOUT rnnlab, predicts what rnnlab does.

Two tiny models, one per recipe ("default": masked BiLSTM with max+mean
pooling; "guide": unidirectional LSTM without candidate bias, last state,
Keras-style pre-padding), are exported to ``.keras`` and ``.onnx``. A
subprocess in which ``import rnnlab`` fails runs the Python blocks of
``docs/keras.md`` on raw texts; its probabilities must equal rnnlab's within
1e-4. TensorFlow is slow to import: the models and exports are made once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnlab.config import EmbeddingConfig, ModelConfig, TextConfig, TrainConfig
from rnnlab.data import TextDataset
from rnnlab.errors import RnnlabError
from rnnlab.recipes import recipe_sections

if importlib.util.find_spec("keras") is None and not os.environ.get("CI"):
    pytest.skip(
        "keras is not installed (pip install 'rnnlab[keras]'); CI runs these tests",
        allow_module_level=True,
    )

pytestmark = [
    pytest.mark.slow,  # trains two tiny networks
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
]
DOC = Path(__file__).resolve().parents[1] / "docs" / "keras.md"
TOL = 1e-4
TEXTS = [
    "A wonderful film, moving and funny. Loved it!",
    "",  # no token: rnnlab reads one padding step
    "<br /><br />",  # only markup: no token either
    "w1 w2 zzqx-unknown dull dull hated",
    "didn't like it: 3.50 for this?! &amp; the_end",
    "¿Qué película tan aburrida! Me encantó… no.",
    " ".join(f"w{i % 40}" for i in range(50)) + " great",  # longer than maxlen
    "GREAT great Great superb",
]


def small(recipe: str) -> dict:
    """The recipe's configs, shrunk to seconds of training."""
    sections = recipe_sections(recipe)
    text = {**sections.get("text", {}), "maxlen": 12}
    model = {**sections.get("model", {}), "hidden_size": 8, "wide_ngrams": 0}
    train = {**sections.get("train", {}), "epochs": 2, "batch_size": 32, "threads": 1}
    return {
        "text": TextConfig(**text),
        "embedding": EmbeddingConfig(**{**sections.get("embedding", {}), "dim": 8, "min_count": 1}),
        "model": ModelConfig(**model),
        "training": TrainConfig(**{**train, "val_fraction": 0.2, "lr": 1e-2}),
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory, reviews) -> SimpleNamespace:
    from rnnlab.export_keras import export_keras, export_onnx_file
    from rnnlab.tasks.classify import load, train

    root = tmp_path_factory.mktemp("export")
    texts, labels = reviews(240, 3)
    data = TextDataset(texts, [("neg", "pos").index(y) for y in labels], ["neg", "pos"], "syn")
    models = {}
    for recipe in ("default", "guide"):
        model_dir = root / recipe
        train(data, model_dir, progress=False, log=lambda _m: None, **small(recipe))
        folder = root / f"{recipe}-export"
        folder.mkdir()
        keras_result = export_keras(model_dir, folder / "model.keras")
        onnx_result = export_onnx_file(model_dir, folder / "model.onnx")
        clf = load(model_dir, backend="torch")
        models[recipe] = SimpleNamespace(
            dir=model_dir,
            folder=folder,
            keras=keras_result,
            onnx=onnx_result,
            want=clf.predict_proba(TEXTS),
            clf=clf,
        )
    return SimpleNamespace(root=root, models=models)


def doc_blocks() -> dict[str, str]:
    """The Python blocks of docs/keras.md, keyed by the comment on their first line."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    out = {}
    for block in blocks:
        first = block.splitlines()[0]
        if first.startswith("# ["):
            out[first[3 : first.index("]")]] = block
    return out


RUNNER = """
import json, os, sys
sys.modules["rnnlab"] = None  # `import rnnlab` now fails: the snippet must not need it
jobs = json.loads(sys.argv[1])
results = {}
for job in jobs:
    os.chdir(job["folder"])
    scope = {}
    exec(job["preprocess"], scope)
    scope["texts"] = job["texts"]
    exec(job["predict"], scope)
    results[job["name"]] = scope["probs"].tolist()
print(json.dumps(results))
"""


def test_the_documented_snippets_reproduce_rnnlab_without_rnnlab(exported) -> None:
    blocks = doc_blocks()
    assert set(blocks) >= {"preprocess", "keras", "onnx"}, sorted(blocks)
    jobs = [
        {
            "name": f"{recipe}-{fmt}",
            "folder": str(m.folder),
            "preprocess": blocks["preprocess"],
            "predict": blocks[fmt],
            "texts": TEXTS,
        }
        for recipe, m in exported.models.items()
        for fmt in ("keras", "onnx")
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(jobs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    for recipe, m in exported.models.items():
        for fmt in ("keras", "onnx"):
            probs = np.asarray(got[f"{recipe}-{fmt}"])
            assert probs.shape == (len(TEXTS), 2)
            np.testing.assert_allclose(probs, m.want, atol=TOL, rtol=0, err_msg=f"{recipe} {fmt}")
    # the two recipes are different networks: the test compared two real exports
    assert not np.allclose(exported.models["default"].want, exported.models["guide"].want)


def test_exports_record_how_to_prepare_the_input(exported) -> None:
    default, guide = exported.models["default"], exported.models["guide"]
    prep = json.loads(default.keras.preprocessing.read_text(encoding="utf-8"))
    assert prep["masked"] and prep["padding"] == "post" and prep["width"] is None
    assert prep["vocabulary"] == default.clf.vocab.itos
    assert prep["label_names"] == ["neg", "pos"]
    guide_prep = json.loads(guide.keras.preprocessing.read_text(encoding="utf-8"))
    assert not guide_prep["masked"] and guide_prep["padding"] == "pre"
    assert guide_prep["width"] == 12
    # one JSON serves both formats (they share the name model.preprocessing.json here)
    assert json.loads(guide.onnx.preprocessing.read_text(encoding="utf-8")) == guide_prep
    for m in (default, guide):
        assert m.keras.max_difference < TOL and m.onnx.max_difference < TOL
        assert m.keras.model.read_bytes()[:2] == b"PK"  # a .keras file is a zip archive
        assert not list(m.folder.glob(".*"))  # no temp file left behind


def test_guide_export_is_the_guide_network(exported) -> None:
    keras = pytest.importorskip("keras")
    model = keras.saving.load_model(exported.models["guide"].keras.model)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Embedding", "LSTM", "LSTM", "Dense"]
    first, second = model.layers[2], model.layers[3]
    assert first.return_sequences and not second.return_sequences  # softmax(h^N O + c)
    h = first.units
    bias = first.get_weights()[2]  # Keras' one bias, gates i, f, c, o
    assert np.all(bias[2 * h : 3 * h] == 0.0)  # the guide's candidate has no bias
    assert not any("not_equal" in layer.name for layer in model.layers)  # no padding mask


def test_export_that_differs_from_rnnlab_writes_nothing(exported, tmp_path, monkeypatch) -> None:
    from rnnlab import export_keras as ek

    monkeypatch.setattr(ek, "TOLERANCE", -1.0)  # no export can pass
    for fmt in ("keras", "onnx"):
        with pytest.raises(RnnlabError, match="differs from rnnlab"):
            ek.export_model(exported.models["guide"].dir, tmp_path / f"m.{fmt}", fmt)
    assert list(tmp_path.iterdir()) == []


def test_export_errors(exported, tmp_path, monkeypatch) -> None:
    from rnnlab import export_keras as ek

    with pytest.raises(RnnlabError, match=r"--out must end in \.keras"):
        ek.export_keras(exported.models["guide"].dir, tmp_path / "m.h5")
    with pytest.raises(RnnlabError, match="model directory not found"):
        ek.export_onnx_file(tmp_path / "missing", tmp_path / "m.onnx")
    with pytest.raises(RnnlabError, match="export format must be one of keras, onnx"):
        ek.export_model(exported.models["guide"].dir, tmp_path / "m.tf", "tf")
    monkeypatch.setitem(sys.modules, "keras", None)  # as if the extra were not installed
    with pytest.raises(RnnlabError, match=r"pip install 'rnnlab\[keras\]'"):
        ek.import_keras()


def test_cli_export(exported, tmp_path) -> None:
    from rnnlab.cli import app

    runner = CliRunner()
    out = tmp_path / "guide.onnx"
    done = runner.invoke(
        app, ["export", str(exported.models["guide"].dir), "--format", "onnx", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert out.is_file() and (tmp_path / "guide.preprocessing.json").is_file()
    assert "max probability difference from rnnlab" in done.output
    bad = runner.invoke(app, ["export", str(exported.models["guide"].dir), "--format", "tf"])
    assert bad.exit_code == 2
    missing = runner.invoke(app, ["export", str(tmp_path / "nope"), "--format", "onnx"])
    assert missing.exit_code == 1 and "model directory not found" in missing.output


def test_a_model_with_an_ngram_part_is_refused_in_one_line(tmp_path, reviews) -> None:
    from rnnlab.export_keras import export_model
    from rnnlab.tasks.classify import train

    texts, labels = reviews(120, 5)
    data = TextDataset(texts, [("neg", "pos").index(y) for y in labels], ["neg", "pos"], "syn")
    cfg = small("default")
    cfg["model"] = cfg["model"].replace(wide_ngrams=2)
    train(data, tmp_path / "m", progress=False, log=lambda _m: None, **cfg)
    for fmt, suffix in (("keras", ".keras"), ("onnx", ".onnx")):
        with pytest.raises(RnnlabError, match="n-gram part.*--wide-ngrams 0"):
            export_model(tmp_path / "m", tmp_path / f"m{suffix}", fmt)
        assert not (tmp_path / f"m{suffix}").exists()


def test_separate_direction_stacks_are_refused_for_keras_and_exported_to_onnx(
    tmp_path, reviews
) -> None:
    from rnnlab.export_keras import export_model
    from rnnlab.tasks.classify import train

    texts, labels = reviews(120, 5)
    data = TextDataset(texts, [("neg", "pos").index(y) for y in labels], ["neg", "pos"], "syn")
    cfg = small("default")
    cfg["model"] = cfg["model"].replace(separate_directions=True, bidirectional=True)
    train(data, tmp_path / "m", progress=False, log=lambda _m: None, **cfg)
    with pytest.raises(RnnlabError, match="separate stacks.*ONNX"):
        export_model(tmp_path / "m", tmp_path / "m.keras", "keras")
    assert not (tmp_path / "m.keras").exists()
    result = export_model(tmp_path / "m", tmp_path / "m.onnx", "onnx")  # checked against torch
    assert (tmp_path / "m.onnx").exists() and result.max_difference < 1e-4
