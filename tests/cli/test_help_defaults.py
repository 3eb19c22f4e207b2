"""Every "(default: X)" in a command's --help is the library's default.

The commands pass an option on only when it is given (``None`` otherwise), so
the library's config dataclasses decide every default; the help texts repeat
the values for reading. Here each option is given its documented default and
the library call must receive exactly what it receives when the option is left
out. The library's train function is replaced by a recorder: nothing trains.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from typer.testing import CliRunner

from rnnlab.cli import app
from rnnlab.tasks.base import TrainResult

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def documented_defaults(*names: str) -> dict:
    """{click option: the value its help gives as "(default: X)"} of one command."""
    import typer.main

    command = typer.main.get_command(app)
    for name in names:
        command = command.commands[name]
    found = {}
    for param in command.params:
        m = re.search(r"\(default: ([^,)]+)", param.help or "")
        if m:
            found[param] = m.group(1)
    return found


# command, the arguments it needs, the library function it calls, the arguments
# that carry defaults, and how many options document one.
CASES = {
    "tag train": (
        ["--train", "a.conllu", "--dev", "b.conllu"],
        ("rnnlab.tasks.tag", "train_tagger"),
        ("model", "training", "column"),
        13,  # every model and train flag
    ),
    "seq2seq train": (
        ["--data", "dates:10"],
        ("rnnlab.tasks.seq2seq", "train_seq2seq"),
        ("text", "model", "training", "beam_size"),
        17,  # every text, model and train flag, and --beam
    ),
}


@pytest.mark.parametrize("command", sorted(CASES))
def test_each_documented_default_is_what_leaving_the_option_out_gives(
    command, monkeypatch, tmp_path
) -> None:
    needed, (module_name, function), keys, n_documented = CASES[command]
    module = importlib.import_module(module_name)
    calls, signature = [], inspect.signature(getattr(module, function))

    def record(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        calls.append({k: bound.arguments[k] for k in keys})
        return TrainResult(tmp_path, {}, [], 0.0, 0)

    monkeypatch.setattr(module, function, record)
    base = [*command.split(), *needed, "--out", str(tmp_path / "m")]
    documented = documented_defaults(*command.split())
    assert len(documented) == n_documented
    for option, value in [(None, None), *documented.items()]:
        flag = (
            [] if option is None else [value] if value.startswith("--") else [option.opts[0], value]
        )
        result = runner.invoke(app, [*base, *flag])
        assert result.exit_code == 0, (flag, result.output, result.exception)
        assert calls[-1] == calls[0], (flag, calls[-1])


def test_left_out_options_give_the_library_configs(monkeypatch, tmp_path) -> None:
    import rnnlab.tasks.seq2seq as s2s
    import rnnlab.tasks.tag as tag

    got = {}

    def recorder(name):
        return lambda *a, **kw: got.update({name: kw}) or TrainResult(tmp_path, {}, [], 0.0, 0)

    monkeypatch.setattr(tag, "train_tagger", recorder("tag"))
    monkeypatch.setattr(s2s, "train_seq2seq", recorder("s2s"))
    for args in (
        ["tag", "train", "--train", "a", "--dev", "b"],
        ["seq2seq", "train", "-d", "dates"],
    ):
        result = runner.invoke(app, [*args, "--out", str(tmp_path)])
        assert result.exit_code == 0, (result.output, result.exception)
    assert got["tag"]["model"] == tag.TaggerConfig()
    assert got["tag"]["training"] == tag.DEFAULT_TRAINING
    assert got["s2s"]["text"] == s2s.Seq2SeqTextConfig()
    assert got["s2s"]["model"] == s2s.Seq2SeqConfig()
    assert got["s2s"]["training"] == s2s.DEFAULT_TRAIN
    assert "beam_size" not in got["s2s"]  # left to train_seq2seq's own default


def test_seq2seq_decoding_and_data_defaults() -> None:
    import rnnlab.tasks.seq2seq as s2s
    from rnnlab.cli.seq2seq import DATA_HELP

    assert f"default {s2s.DEFAULT_DATES})" in DATA_HELP  # "dates" without ":N"
    for command, decode in (("evaluate", s2s.evaluate), ("translate", s2s.Translator.predict)):
        (value,) = documented_defaults("seq2seq", command).values()  # --beam
        assert int(value) == inspect.signature(decode).parameters["beam_size"].default
