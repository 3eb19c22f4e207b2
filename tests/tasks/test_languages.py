"""Reviews in scripts without spaces between words train and predict end to end.

Chinese, Japanese and Hindi reviews are made here from cue words and filler;
``rnnlab train`` learns them with each ``--tokenizer`` and the saved model
predicts held-out reviews right. Calibration (seeds 0-4, these settings, 40
held-out reviews): words and chars on 240 reviews, held-out accuracy >= 0.975
in every run (the test asks >= 0.9); subword BPE needs more text to learn its
pieces (240 Chinese reviews: 0.675-0.925), so it trains on 600: >= 0.875 in
every run (the test asks >= 0.85).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rnnlab
from rnnlab.cli import app
from rnnlab.text.tokenizers import TOKENIZER_FILE


def cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


pytestmark = pytest.mark.slow

LANGUAGES = {
    "zh": {
        "pos": ["非常好看", "我很喜欢", "精彩极了", "感人至深"],
        "neg": ["太无聊了", "非常难看", "浪费时间", "令人失望"],
        "filler": ["这部电影", "演员", "故事", "导演", "音乐", "昨天", "我们", "看了"],
        "join": "",
    },
    "ja": {
        "pos": ["とても面白かった", "大好きです", "感動しました", "素晴らしい"],
        "neg": ["つまらなかった", "退屈でした", "がっかりした", "ひどい映画"],
        "filler": ["この映画は", "俳優が", "物語は", "昨日", "友達と", "見ました"],
        "join": "",
    },
    "hi": {
        "pos": ["बहुत अच्छी", "शानदार फिल्म", "मुझे पसंद आई", "बेहतरीन"],
        "neg": ["बहुत बुरी", "बेकार फिल्म", "उबाऊ कहानी", "निराशाजनक"],
        "filler": ["यह फिल्म", "अभिनेता", "कहानी", "संगीत", "कल", "हमने", "देखी"],
        "join": " ",
    },
}


def reviews(lang: str, n: int, seed: int) -> list[tuple[str, str]]:
    spec, rng = LANGUAGES[lang], random.Random(seed)
    rows = []
    for i in range(n):
        label = ("neg", "pos")[i % 2]
        parts = [rng.choice(spec["filler"]) for _ in range(rng.randint(3, 7))]
        parts.insert(rng.randint(0, len(parts)), rng.choice(spec[label]))
        rows.append((spec["join"].join(parts) + "。" * (lang != "hi"), label))
    return rows


def write(path: Path, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("text", "label"))
        w.writerows(rows)
    return path


@pytest.mark.parametrize("tokenizer", ["words", "chars", "subword"])
@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_train_and_predict(tmp_path: Path, lang: str, tokenizer: str) -> None:
    n, floor = (600, 0.85) if tokenizer == "subword" else (240, 0.9)
    data = write(tmp_path / "train.csv", reviews(lang, n, 0))
    out = tmp_path / "m"
    result = cli("train", "--data", data, "--out", out, "--tokenizer", tokenizer,
                 "--embedding", "random", "--embedding-dim", "16", "--hidden", "16",
                 "--layers", "1", "--epochs", "6", "--patience", "2", "--lr", "0.01",
                 "--lr-decay", "1", "--dropout", "0", "--val-fraction", "0.2",
                 "--threads", "1", "--quiet")  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert (out / TOKENIZER_FILE).exists() == (tokenizer == "subword")
    model = rnnlab.load(out, threads=1)
    held_out = reviews(lang, 40, 99)
    predicted = [p["label"] for p in model.predict([t for t, _ in held_out])]
    accuracy = sum(p == y for p, (_, y) in zip(predicted, held_out, strict=True)) / len(held_out)
    assert accuracy >= floor, (lang, tokenizer, accuracy)
    # the tokens the model reads are whole words/characters, not whole clauses
    longest = max(len(t) for t in model.tokenizer(held_out[0][0]))
    assert longest <= 8, model.tokenizer(held_out[0][0])
