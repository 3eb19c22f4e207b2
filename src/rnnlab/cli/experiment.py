"""``rnnlab experiment gradients | exploding | memory``: the glass-box experiments.

Each command parses its options, calls one function of ``rnnlab.experiments``,
prints the result's table, and writes the JSON (``--json``) and the PNG
(``--plot``) when asked. Progress lines go to stderr (``--quiet`` silences them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from rnnlab.cli.common import app, friendly

experiment_app = typer.Typer(
    name="experiment",
    help="Measure what the textbook says about RNN, LSTM and GRU: vanishing and exploding "
    "gradients, memory against sequence length. Each prints a table, writes --json and "
    "--plot, and runs in under 2 minutes on 2 CPU cores with the defaults.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(experiment_app, name="experiment")

SEED_HELP = "Random seed: data, weights and batch order (same seed, same numbers)."
THREADS_HELP = (
    "torch CPU threads, 0 = all cores. Keep 1: these models are too small to gain, and on a "
    "busy 2-core machine 2 threads made runs 2.5x to over 30x slower."
)
JSON_HELP = "Write the full result (rows, curves, settings, timings) as JSON to this file."
PLOT_HELP = "Save the figure as PNG to this file."
QUIET_HELP = "No progress lines on stderr."
CELLS_HELP = "Cells to compare, comma-separated: rnn, lstm, gru."
GATE_HELP = "LSTM/GRU gate biases: chrono (long memories at the start) or default (torch's)."


def _split(value: str, option: str, convert: Callable[[str], Any]) -> list[Any]:
    try:
        items = [convert(v.strip()) for v in value.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated numbers, got {value!r}", param_hint=option
        ) from None
    if not items:
        raise typer.BadParameter("expected at least one value", param_hint=option)
    return items


def _finish(
    result: dict[str, Any],
    table: Callable,
    plot: Callable,
    json_path: Path | None,
    plot_path: Path | None,
) -> None:
    from rnnlab.experiments import write_json

    typer.echo(table(result))
    typer.echo(f"({result['seconds']['total']:.1f}s)")
    if json_path is not None:
        write_json(result, json_path)
        typer.echo(f"wrote {json_path}")
    if plot_path is not None:
        plot(result, plot_path)
        typer.echo(f"wrote {plot_path}")


def _log(quiet: bool) -> Callable[[str], None]:
    return (lambda _msg: None) if quiet else (lambda msg: typer.echo(msg, err=True))


@experiment_app.command()
@friendly
def gradients(
    length: int = typer.Option(100, help="Sequence length T of the first-token task."),
    cells: str = typer.Option("rnn,lstm,gru", help=CELLS_HELP),
    probe: int = typer.Option(256, help="Held-out sequences the gradient norms average over."),
    epochs: int | None = typer.Option(None, help="Training epochs (default 6)."),
    n_train: int | None = typer.Option(None, help="Training sequences (default 2000)."),
    hidden: int | None = typer.Option(None, help="Hidden units H (default 32)."),
    lr: float | None = typer.Option(None, help="Adam learning rate (default 0.01)."),
    gate_init: str | None = typer.Option(None, help=f"{GATE_HELP} (default chrono)."),
    seed: int = typer.Option(0, help=SEED_HELP),
    threads: int = typer.Option(1, help=THREADS_HELP),
    json_path: Path | None = typer.Option(None, "--json", help=JSON_HELP),
    plot: Path | None = typer.Option(None, "--plot", help=PLOT_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Vanishing gradients: ||dL/dx_t|| against the distance T - t, before and after training.

    Reports ||dL/dx_1|| / ||dL/dx_T|| per cell at initialisation and after
    training on the first-token task (label = first token, loss at the last step).
    """
    from rnnlab.experiments import gradients_experiment, gradients_table, plot_gradients
    from rnnlab.experiments.gradients import DEFAULT_TASK

    task = DEFAULT_TASK.replace(
        epochs=epochs, n_train=n_train, hidden_size=hidden, lr=lr, gate_init=gate_init
    )
    result = gradients_experiment(
        cells=tuple(_split(cells, "--cells", str)),
        length=length,
        task=task,
        n_probe=probe,
        seed=seed,
        threads=threads,
        log=_log(quiet),
    )
    _finish(result, gradients_table, plot_gradients, json_path, plot)


@experiment_app.command()
@friendly
def exploding(
    factors: str = typer.Option(
        "1,2,4,8,16", help="Multipliers of the initial recurrent matrix W_hh, comma-separated."
    ),
    clip: float = typer.Option(1.0, help="Gradient-norm threshold of the clipped runs."),
    length: int = typer.Option(20, help="Sequence length T of the first-token task."),
    optimizer: str = typer.Option(
        "sgd", help="sgd (the raw gradient step) or adam (the shared training loop)."
    ),
    lr: float | None = typer.Option(
        None, help="Learning rate (default 0.3 for sgd, 0.01 for adam)."
    ),
    epochs: int | None = typer.Option(None, help="Training epochs (default 3)."),
    n_train: int | None = typer.Option(None, help="Training sequences (default 1000)."),
    hidden: int | None = typer.Option(None, help="Hidden units H (default 32)."),
    seed: int = typer.Option(0, help=SEED_HELP),
    threads: int = typer.Option(1, help=THREADS_HELP),
    json_path: Path | None = typer.Option(None, "--json", help=JSON_HELP),
    plot: Path | None = typer.Option(None, "--plot", help=PLOT_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Exploding gradients: a tanh RNN with W_hh scaled up, trained with and without clipping.

    Reports per setting the spectral radius of W_hh, the largest gradient norm
    (before and after clipping), the final loss and whether training diverged.
    """
    from rnnlab.experiments import exploding_experiment, exploding_table, plot_exploding
    from rnnlab.experiments.exploding import DEFAULT_TASK

    task = DEFAULT_TASK.replace(epochs=epochs, n_train=n_train, hidden_size=hidden)
    result = exploding_experiment(
        factors=tuple(_split(factors, "--factors", float)),
        clip_norm=clip,
        length=length,
        optimizer=optimizer,
        lr=lr,
        task=task,
        seed=seed,
        threads=threads,
        log=_log(quiet),
    )
    _finish(result, exploding_table, plot_exploding, json_path, plot)


@experiment_app.command()
@friendly
def memory(
    lengths: str = typer.Option("10,20,50,100,200", help="Sequence lengths T, comma-separated."),
    cells: str = typer.Option("rnn,lstm,gru", help=CELLS_HELP),
    epochs: int | None = typer.Option(None, help="Training epochs per run (default 6)."),
    n_train: int | None = typer.Option(None, help="Training sequences per run (default 2000)."),
    n_test: int | None = typer.Option(None, help="Fresh held-out sequences scored (default 1000)."),
    hidden: int | None = typer.Option(None, help="Hidden units H (default 32)."),
    embedding_dim: int | None = typer.Option(None, help="Embedding size D (default 16)."),
    batch_size: int | None = typer.Option(None, help="Batch size (default 64)."),
    lr: float | None = typer.Option(None, help="Adam learning rate (default 0.01)."),
    gate_init: str | None = typer.Option(None, help=f"{GATE_HELP} (default chrono)."),
    seed: int = typer.Option(0, help=SEED_HELP),
    threads: int = typer.Option(1, help=THREADS_HELP),
    json_path: Path | None = typer.Option(None, "--json", help=JSON_HELP),
    plot: Path | None = typer.Option(None, "--plot", help=PLOT_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Memory: held-out accuracy against sequence length T for RNN, LSTM and GRU.

    The label of each sequence is its first token; chance is 0.5.
    """
    from rnnlab.experiments import memory_experiment, memory_table, plot_memory
    from rnnlab.experiments.memory import DEFAULT_TASK

    task = DEFAULT_TASK.replace(
        epochs=epochs,
        n_train=n_train,
        n_test=n_test,
        hidden_size=hidden,
        embedding_dim=embedding_dim,
        batch_size=batch_size,
        lr=lr,
        gate_init=gate_init,
    )
    result = memory_experiment(
        cells=tuple(_split(cells, "--cells", str)),
        lengths=tuple(_split(lengths, "--lengths", int)),
        task=task,
        seed=seed,
        threads=threads,
        log=_log(quiet),
    )
    _finish(result, memory_table, plot_memory, json_path, plot)
