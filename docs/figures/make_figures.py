"""Draw the course guide's seven figures, in the guide's notation, as SVG and PNG.

The guide (``Guía de estudio - Redes Neuronales Recurrentes``) illustrates its
text with seven figures; this script draws each one from code so that the docs
can show them in English and Spanish and CI can check that they still draw:

==================  ==============================================================
file                the guide's figure
==================  ==============================================================
input_tensor        1. a sequence of words as vectors; a batch is N × T × D
io_configurations   2. one to many, many to one, many to many (N = M and N ≠ M)
rnn_unrolled        3. the RNN: x, h, shared weights U, V, read-out O (+ b, c)
rnn_multilayer      4. two stacked layers: each step's h of layer 1 feeds layer 2
lstm_network        5. the same network with LSTM blocks (c and h carried over time)
lstm_block          6. the LSTM block: forget, input and output gates, candidate
gru_block           7. the GRU block: reset and update gates
==================  ==============================================================

Notation as in the guide: ``x^<t>`` the input at step t, ``h^<t>`` the hidden
state, ``U`` input weights, ``V`` recurrent weights, ``b`` their bias, ``O`` and
``c`` the read-out, ``ŷ = softmax(h^<N> O + c)``; LSTM gates ``f, i, o``,
candidate ``c̃`` (without bias, as the guide writes it), cell state ``c``.

Usage::

    python docs/figures/make_figures.py                 # both languages, into docs/figures/
    python docs/figures/make_figures.py --out DIR --lang es

English files go to ``OUT/NAME.{svg,png}``, Spanish ones to
``OUT/es/NAME.{svg,png}``. Output is deterministic (no dates, fixed SVG ids),
so regenerating without a change of the drawing leaves git clean.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402
from PIL import Image  # noqa: E402  (a matplotlib dependency)

NAMES = (
    "input_tensor",
    "io_configurations",
    "rnn_unrolled",
    "rnn_multilayer",
    "lstm_network",
    "lstm_block",
    "gru_block",
)
LANGS = ("en", "es")
UNIT = 0.5  # inches per drawing unit: 1 unit = 36 pt
DPI = 100

# Colours: inputs warm, hidden states green, outputs blue, gates yellow.
C_IN, C_H, C_OUT, C_GATE, C_CELL = "#f9d5a7", "#bfe3b4", "#b9d3f3", "#fde9a6", "#eef3f8"
C_LINE, C_MUTED, C_WEIGHT = "#333333", "#9a9a9a", "#b03a2e"

TEXT = {
    "en": {
        "tensor_title": "A batch of texts is a tensor N × T × D",
        "tensor_words": ["the", "film", "was", "really", "good"],
        "tensor_T": "T time steps (time_step)",
        "tensor_D": "D features\nper word\n(n_features)",
        "tensor_N": "N texts\n(batch)",
        "tensor_vec": "one word = one vector of D numbers",
        "io": [
            ("One to many", "image → caption"),
            ("Many to one", "review → sentiment"),
            ("Many to many (N = M)", "words → part of speech"),
            ("Many to many (N ≠ M)", "Spanish → English"),
        ],
        "legend_in": "input",
        "legend_h": "recurrent state",
        "legend_out": "output",
        "rnn_title": "The RNN, folded and unrolled in time: U, V, b shared by every step",
        "rnn_many": "many outputs: read every step",
        "rnn_one": "one output: only the last",
        "multi_title": "A two-layer RNN: each step's state of layer 1 is layer 2's input",
        "layer": "layer",
        "lstm_net_title": "The same network with LSTM blocks: c and h carried from step to step",
        "lstm_block": "LSTM block",
        "forget": "forget gate",
        "input": "input gate",
        "candidate": "candidate (the guide: no bias)",
        "output": "output gate",
        "cell_state": "cell state",
        "hidden": "hidden state",
        "ops": "σ sigmoid   ⊗ ⊙ element-wise product   ⊕ sum",
        "gru_block": "GRU block",
        "reset": "reset gate",
        "update": "update gate",
        "gru_candidate": "candidate",
        "gru_note": "z = 1 keeps the old state. Drawn as Cho et al. (2014); torch and Keras apply r\n"
        "after the product: r ⊙ (h W_hn + b_hn) (rnnlab.scratch has both, `reset_after`)",
    },
    "es": {
        "tensor_title": "Un lote de textos es un tensor N × T × D",
        "tensor_words": ["la", "película", "fue", "muy", "buena"],
        "tensor_T": "T pasos de tiempo (time_step)",
        "tensor_D": "D características\npor palabra\n(n_features)",
        "tensor_N": "N textos\n(lote)",
        "tensor_vec": "una palabra = un vector de D números",
        "io": [
            ("One to many (uno a muchos)", "imagen → descripción"),
            ("Many to one (muchos a uno)", "crítica → sentimiento"),
            ("Many to many (N = M)", "palabras → categoría gramatical"),
            ("Many to many (N ≠ M)", "español → inglés"),
        ],
        "legend_in": "entrada",
        "legend_h": "estado recurrente",
        "legend_out": "salida",
        "rnn_title": "La RNN, plegada y desplegada en el tiempo: U, V, b compartidas por todos los pasos",
        "rnn_many": "varias salidas: se lee cada paso",
        "rnn_one": "una salida: sólo la última",
        "multi_title": "RNN de dos capas: cada estado de la capa 1 es la entrada de la capa 2",
        "layer": "capa",
        "lstm_net_title": "La misma red con bloques LSTM: c y h pasan de un paso al siguiente",
        "lstm_block": "bloque LSTM",
        "forget": "puerta de olvido",
        "input": "puerta de entrada",
        "candidate": "candidato (en la guía, sin sesgo)",
        "output": "puerta de salida",
        "cell_state": "estado de celda",
        "hidden": "estado oculto",
        "ops": "σ sigmoide   ⊗ ⊙ producto elemento a elemento   ⊕ suma",
        "gru_block": "bloque GRU",
        "reset": "puerta de reinicio",
        "update": "puerta de actualización",
        "gru_candidate": "candidato",
        "gru_note": "z = 1 conserva el estado anterior. Dibujada como Cho et al. (2014); torch y Keras\n"
        "aplican r después del producto: r ⊙ (h W_hn + b_hn) (rnnlab.scratch tiene ambas, `reset_after`)",
    },
}


def at(t: str, layer: int | None = None) -> str:
    """The guide's time superscript in mathtext: ``"h" + at("t")`` is h^<t>, with a layer h^[l]<t>."""
    return "^{" + ("" if layer is None else f"[{layer}]") + r"\!<\!" + t + r"\!>}"


def m(s: str) -> str:
    return f"${s}$"


# ---------------------------------------------------------------- drawing primitives


def canvas(width: float, height: float, bottom: float = 0.0):
    """A figure whose axes fill it, 1 data unit = ``UNIT`` inches, no ticks; y from ``bottom``."""
    fig = plt.figure(figsize=(width * UNIT, height * UNIT))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(bottom, bottom + height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def box(ax, cx, cy, w, h, text="", fc=C_H, fontsize=12, ec=C_LINE, lw=1.2, pad=0.08, **kw):
    ax.add_patch(
        FancyBboxPatch(
            (cx - w / 2 + pad, cy - h / 2 + pad),
            w - 2 * pad,
            h - 2 * pad,
            boxstyle=f"round,pad={pad}",
            fc=fc,
            ec=ec,
            lw=lw,
            zorder=kw.pop("zorder", 2),
        )
    )
    if text:
        ax.text(cx, cy, text, ha="center", va="center", fontsize=fontsize, zorder=5, **kw)


def op(ax, cx, cy, symbol, r=0.28, fontsize=14):
    """A round operator node: ⊗, ⊕, tanh, 1−."""
    ax.add_patch(Circle((cx, cy), r, fc="white", ec=C_LINE, lw=1.2, zorder=4))
    ax.text(cx, cy, symbol, ha="center", va="center", fontsize=fontsize, zorder=5)


def arrow(ax, p, q, color=C_LINE, lw=1.3, head=True, ls="-", rad=0.0, zorder=3):
    ax.add_patch(
        FancyArrowPatch(
            p,
            q,
            arrowstyle="-|>,head_length=5,head_width=3" if head else "-",
            mutation_scale=1.6,
            color=color,
            lw=lw,
            ls=ls,
            shrinkA=0,
            shrinkB=0,
            connectionstyle=f"arc3,rad={rad}",
            zorder=zorder,
        )
    )


def line(ax, xs, ys, color=C_LINE, lw=1.3, zorder=3):
    ax.plot(xs, ys, color=color, lw=lw, zorder=zorder, solid_capstyle="round")


def weight(ax, x, y, name, fontsize=13, **kw):
    """A weight-matrix label (U, V, O) in the guide's colour for weights."""
    kw.setdefault("ha", "center")
    kw.setdefault("va", "center")
    ax.text(x, y, m(name), color=C_WEIGHT, fontsize=fontsize, zorder=6, **kw)


def title(ax, x, y, text, fontsize=13):
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, weight="bold")


# ---------------------------------------------------------------- the seven figures


def input_tensor(t: dict):
    """Figure 1: one text is T word vectors of D features; N texts make N × T × D."""
    T, D, N = 5, 4, 3
    cw, ch = 1.5, 0.6  # cell width, height
    dx, dy = 0.55, 0.45  # depth offset of each further text
    x0, y0 = 3.4, 2.3
    fig, ax = canvas(14.6, 7.9)
    title(ax, 7.0, 7.45, t["tensor_title"])
    for n in reversed(range(N)):  # back slices first
        ox, oy = x0 + n * dx, y0 + n * dy
        front = n == 0
        for k in range(T):
            for d in range(D):
                ax.add_patch(
                    FancyBboxPatch(
                        (ox + k * cw, oy + d * ch),
                        cw,
                        ch,
                        boxstyle="square,pad=0",
                        fc=C_IN if front else "#fbe8cf",
                        ec=C_LINE if front else C_MUTED,
                        lw=0.9,
                        zorder=10 - n,
                    )
                )
                if front:
                    ax.text(
                        ox + (k + 0.5) * cw,
                        oy + (d + 0.5) * ch,
                        f"{(0.1 * ((3 * k + 7 * d) % 11) - 0.5):+.1f}",
                        ha="center",
                        va="center",
                        fontsize=9,
                        color="#6b4a1f",
                        zorder=11,
                    )
    for k, word in enumerate(t["tensor_words"]):
        cx = x0 + (k + 0.5) * cw
        ax.text(cx, y0 - 0.4, m("x" + at(str(k + 1))), ha="center", va="center", fontsize=12)
        ax.text(cx, y0 - 0.95, f"“{word}”", ha="center", va="center", fontsize=11)
    # dimension marks: T below, D on the left, N along the depth
    yT = y0 - 1.55
    arrow(ax, (x0, yT), (x0 + T * cw, yT))
    arrow(ax, (x0 + T * cw, yT), (x0, yT))
    ax.text(x0 + T * cw / 2, yT - 0.4, t["tensor_T"], ha="center", va="center", fontsize=11)
    xD = x0 - 0.35
    arrow(ax, (xD, y0), (xD, y0 + D * ch))
    arrow(ax, (xD, y0 + D * ch), (xD, y0))
    ax.text(xD - 0.25, y0 + D * ch / 2, t["tensor_D"], ha="right", va="center", fontsize=11)
    xr, yr = x0 + T * cw + 0.25, y0
    arrow(ax, (xr, yr), (xr + (N - 1) * dx + 0.3, yr + (N - 1) * dy + 0.25))
    ax.text(
        xr + (N - 1) * dx + 0.5, yr + (N - 1) * dy + 0.1, t["tensor_N"], fontsize=11, va="center"
    )
    # one column highlighted: a word's vector
    k = 3
    ax.add_patch(
        FancyBboxPatch(
            (x0 + k * cw, y0),
            cw,
            D * ch,
            boxstyle="square,pad=0",
            fc="none",
            ec=C_WEIGHT,
            lw=2.2,
            zorder=20,
        )
    )
    top = y0 + D * ch + (N - 1) * dy
    cx = x0 + (k + 0.5) * cw
    ax.text(cx, top + 0.85, t["tensor_vec"], fontsize=11, color=C_WEIGHT, ha="center", va="center")
    arrow(ax, (cx, top + 0.6), (cx, y0 + D * ch - 0.05), color=C_WEIGHT, zorder=21)
    return fig


def _chain(ax, x0, y, n, inputs, outputs, w=0.9, gap=0.55, arrows_color=C_LINE):
    """Boxes of one RNN unrolled over n steps; ``inputs``/``outputs``: steps that have one."""
    xs = [x0 + k * (w + gap) + w / 2 for k in range(n)]
    for k, cx in enumerate(xs):
        box(ax, cx, y, w, w, fc=C_H)
        if k:
            arrow(ax, (xs[k - 1] + w / 2 - 0.05, y), (cx - w / 2 + 0.05, y), color=arrows_color)
        if k in inputs:
            box(ax, cx, y - 1.4, w, w * 0.8, fc=C_IN)
            arrow(ax, (cx, y - 1.4 + w * 0.4 - 0.05), (cx, y - w / 2 + 0.05))
        if k in outputs:
            box(ax, cx, y + 1.4, w, w * 0.8, fc=C_OUT)
            arrow(ax, (cx, y + w / 2 - 0.05), (cx, y + 1.4 - w * 0.4 + 0.05))
    return xs


def io_configurations(t: dict):
    """Figure 2: the four input/output configurations."""
    panels = [  # steps, steps with an input, steps with an output
        (4, {0}, {0, 1, 2, 3}),
        (4, {0, 1, 2, 3}, {3}),
        (4, {0, 1, 2, 3}, {0, 1, 2, 3}),
        (5, {0, 1, 2}, {3, 4}),
    ]
    w, gap, margin = 0.9, 0.55, 0.9
    widths = [max(n * (w + gap) - gap, 5.2) for n, _, _ in panels]
    total = sum(widths) + margin * (len(panels) + 1)
    fig, ax = canvas(total, 7.2)
    x = margin
    for (n, ins, outs), pw, (name, example) in zip(panels, widths, t["io"], strict=True):
        chain_w = n * (w + gap) - gap
        _chain(ax, x + (pw - chain_w) / 2, 3.4, n, ins, outs, w, gap)
        ax.text(x + pw / 2, 6.15, name, ha="center", va="center", fontsize=12, weight="bold")
        ax.text(x + pw / 2, 1.0, example, ha="center", va="center", fontsize=11, style="italic")
        x += pw + margin
    # legend
    lx = total / 2 - 5.6
    for k, (fc, key) in enumerate(((C_IN, "legend_in"), (C_H, "legend_h"), (C_OUT, "legend_out"))):
        box(ax, lx + k * 4.2, 0.35, 0.45, 0.4, fc=fc, pad=0.04)
        ax.text(lx + k * 4.2 + 0.4, 0.35, t[key], va="center", fontsize=10)
    return fig


def rnn_unrolled(t: dict):
    """Figure 3: the RNN folded (one cell, a loop) and unrolled, with U, V, O."""
    fig, ax = canvas(17.0, 8.4)
    title(ax, 8.5, 7.95, t["rnn_title"], fontsize=12)
    w = 1.25
    y_x, y_h, y_y = 1.7, 4.0, 6.2
    # folded
    fx = 1.6
    box(ax, fx, y_x, w, 0.9, m("x" + at("t")), fc=C_IN, fontsize=13)
    box(ax, fx, y_h, w, w, m("h" + at("t")), fc=C_H, fontsize=13)
    box(ax, fx, y_y, w, 0.9, m(r"\hat{y}" + at("t")), fc=C_OUT, fontsize=13)
    arrow(ax, (fx, y_x + 0.45), (fx, y_h - w / 2))
    weight(ax, fx + 0.3, (y_x + y_h) / 2, "U", ha="left")
    arrow(ax, (fx, y_h + w / 2), (fx, y_y - 0.45))
    weight(ax, fx + 0.3, (y_h + y_y) / 2 + 0.1, "O", ha="left")
    right = fx + w / 2  # the loop: h<t> goes back in at the next step
    line(ax, [right, right + 0.5, right + 0.5], [y_h + 0.3, y_h + 0.3, y_h - 0.3])
    arrow(ax, (right + 0.5, y_h - 0.3), (right, y_h - 0.3))
    weight(ax, right + 0.65, y_h, "V", ha="left")
    ax.text(3.8, y_h, "=", fontsize=22, ha="center", va="center")
    # unrolled: h<0> then steps 1, 2, 3, ..., T
    h0x = 5.0
    box(ax, h0x, y_h, 1.0, 0.9, m("h" + at("0")), fc="white", fontsize=13)
    steps = ["1", "2", "3", None, "N"]
    xs = [6.9 + 2.3 * k for k in range(len(steps))]
    prev = h0x + 0.5
    for k, (cx, s) in enumerate(zip(xs, steps, strict=True)):
        if s is None:
            ax.text(cx, y_h, "…", fontsize=22, ha="center", va="center")
            arrow(ax, (prev, y_h), (cx - 0.45, y_h))
            weight(ax, (prev + cx - 0.45) / 2, y_h + 0.3, "V")
            prev = cx + 0.45
            continue
        box(ax, cx, y_x, w, 0.9, m("x" + at(s)), fc=C_IN, fontsize=13)
        box(ax, cx, y_h, w, w, m("h" + at(s)), fc=C_H, fontsize=13)
        arrow(ax, (cx, y_x + 0.45), (cx, y_h - w / 2))
        weight(ax, cx + 0.25, (y_x + y_h) / 2 - 0.05, "U", ha="left")
        arrow(ax, (prev, y_h), (cx - w / 2, y_h))
        weight(ax, (prev + cx - w / 2) / 2, y_h + 0.3, "V")
        last = k == len(steps) - 1
        out = r"\hat{y}" if last else r"\hat{y}" + at(s)
        box(
            ax,
            cx,
            y_y,
            w,
            0.9,
            m(out),
            fc=C_OUT if last else "white",
            fontsize=13,
            ec=C_LINE if last else C_MUTED,
            color="black" if last else C_MUTED,
        )
        arrow(
            ax,
            (cx, y_h + w / 2),
            (cx, y_y - 0.45),
            color=C_LINE if last else C_MUTED,
            ls="-" if last else "--",
        )
        weight(ax, cx + 0.25, (y_h + y_y) / 2 + 0.1, "O", ha="left")
        prev = cx + w / 2
    ax.text(xs[0] - w / 2, y_y + 0.85, t["rnn_many"], ha="left", fontsize=10, color=C_MUTED)
    ax.text(xs[-1] + w / 2, y_y + 0.85, t["rnn_one"], ha="right", fontsize=10)
    ax.text(
        8.5,
        0.55,
        m(
            r"h" + at("t") + r" = \tanh(X" + at("t") + r"U + h" + at("t-1") + r"V + b)"
            r"\qquad \hat{y} = \mathrm{softmax}(h" + at("N") + r"O + c)"
        ),
        ha="center",
        va="center",
        fontsize=14,
    )
    return fig


def rnn_multilayer(t: dict):
    """Figure 4: two stacked RNN layers unrolled over time."""
    fig, ax = canvas(16.5, 9.6)
    title(ax, 8.25, 9.15, t["multi_title"], fontsize=12)
    w = 1.75
    y_x, y_1, y_2, y_y = 1.1, 3.5, 6.0, 8.05
    steps = ["1", "2", "3", "N"]
    xs = [5.3 + 3.1 * k for k in range(len(steps))]
    for level, y in ((1, y_1), (2, y_2)):
        ax.text(0.3, y, f"{t['layer']} {level}", fontsize=12, va="center", weight="bold")
        box(ax, 2.55, y, 1.5, 0.9, m("h" + at("0", level)), fc="white", fontsize=12)
    for k, (cx, s) in enumerate(zip(xs, steps, strict=True)):
        box(ax, cx, y_x, w, 0.9, m("x" + at(s)), fc=C_IN, fontsize=13)
        for level, y in ((1, y_1), (2, y_2)):
            box(ax, cx, y, w, w * 0.8, m("h" + at(s, level)), fc=C_H, fontsize=13)
            left = xs[k - 1] + w / 2 if k else 2.55 + 0.7
            arrow(ax, (left, y), (cx - w / 2, y), ls="--" if s == "N" else "-")
            weight(ax, (left + cx - w / 2) / 2, y + 0.3, f"V^{{[{level}]}}", fontsize=11)
        arrow(ax, (cx, y_x + 0.45), (cx, y_1 - w * 0.4))
        weight(ax, cx + 0.2, (y_x + y_1) / 2 - 0.1, "U^{[1]}", fontsize=11, ha="left")
        arrow(ax, (cx, y_1 + w * 0.4), (cx, y_2 - w * 0.4))
        weight(ax, cx + 0.2, (y_1 + y_2) / 2, "U^{[2]}", fontsize=11, ha="left")
    cx = xs[-1]
    box(ax, cx, y_y, w, 0.8, m(r"\hat{y}"), fc=C_OUT, fontsize=13)
    arrow(ax, (cx, y_2 + w * 0.4), (cx, y_y - 0.4))
    weight(ax, cx + 0.2, (y_2 + y_y) / 2, "O", ha="left")
    return fig


def lstm_network(t: dict):
    """Figure 5: the unrolled network with LSTM blocks; c and h go to the next step."""
    fig, ax = canvas(16.0, 8.2)
    title(ax, 8.0, 7.75, t["lstm_net_title"], fontsize=12)
    bw, bh = 2.3, 2.6
    y = 3.8
    steps = ["1", "2", "3"]
    xs = [3.8 + 4.2 * k for k in range(len(steps))]
    c_y, h_y = y + 0.75, y - 0.75
    ax.text(0.35, c_y, m("c" + at("0")), fontsize=13, va="center")
    ax.text(0.35, h_y, m("h" + at("0")), fontsize=13, va="center")
    prev = 1.25
    for k, (cx, s) in enumerate(zip(xs, steps, strict=True)):
        box(ax, cx, y, bw, bh, t["lstm_block"], fc=C_CELL, fontsize=11, pad=0.12)
        arrow(ax, (prev, c_y), (cx - bw / 2, c_y))
        arrow(ax, (prev, h_y), (cx - bw / 2, h_y))
        if k:
            ax.text(
                (prev + cx - bw / 2) / 2,
                c_y + 0.3,
                m("c" + at(steps[k - 1])),
                ha="center",
                fontsize=12,
            )
            ax.text(
                (prev + cx - bw / 2) / 2,
                h_y + 0.3,
                m("h" + at(steps[k - 1])),
                ha="center",
                fontsize=12,
            )
        box(ax, cx, 1.0, 1.2, 0.8, m("x" + at(s)), fc=C_IN, fontsize=13)
        arrow(ax, (cx, 1.4), (cx, y - bh / 2))
        prev = cx + bw / 2
    end = xs[-1] + bw / 2 + 1.6
    arrow(ax, (prev, c_y), (end, c_y))
    ax.text(end + 0.15, c_y, "…", fontsize=16, va="center")
    arrow(ax, (prev, h_y), (end, h_y))
    ax.text(end + 0.15, h_y, "…", fontsize=16, va="center")
    ax.text(xs[-1] + bw / 2 + 0.8, c_y + 0.3, m("c" + at("3")), ha="center", fontsize=12)
    ax.text(xs[-1] + bw / 2 + 0.8, h_y + 0.3, m("h" + at("3")), ha="center", fontsize=12)
    ax.text(0.35, c_y + 0.55, t["cell_state"], fontsize=10, color=C_MUTED)
    for cx, s in zip(xs, steps, strict=True):
        arrow(ax, (cx, y + bh / 2), (cx, 6.45), color=C_MUTED, ls="--")
        ax.text(cx, 6.75, m("h" + at(s)), ha="center", fontsize=12, color=C_MUTED)
    return fig


def _gate(ax, cx, cy, fn, sym, fontsize=12):
    """A gate: its function (σ or tanh) in a box, its symbol at the top left."""
    box(ax, cx, cy, 1.15, 0.8, fn, fc=C_GATE, fontsize=fontsize)
    ax.text(cx - 0.6, cy + 0.55, m(sym), fontsize=12, ha="right", va="center")


def dot(ax, x, y):
    """A junction: the line splits here."""
    ax.add_patch(Circle((x, y), 0.07, color=C_LINE, zorder=4))


def _table(ax, rows, y, t, x_eq=5.6, step=0.62):
    """The block's equations under it: name on the left, the guide's equation on the right."""
    for k, (name, eq) in enumerate(rows):
        ax.text(0.3, y - step * k, name, fontsize=10, va="center")
        ax.text(x_eq, y - step * k, m(eq), fontsize=11, va="center")
    ax.text(0.3, y - step * len(rows) - 0.1, t["ops"], fontsize=9.5, va="center", color=C_MUTED)


def lstm_block(t: dict):
    """Figure 6: the LSTM block with its gates, and the guide's equations under it."""
    fig, ax = canvas(14.4, 12.8, bottom=-4.8)
    bx0, bx1, by0, by1 = 1.7, 11.4, 1.2, 7.6
    box(ax, (bx0 + bx1) / 2, (by0 + by1) / 2, bx1 - bx0, by1 - by0, fc=C_CELL, pad=0.15, zorder=1)
    ax.text(bx0 + 0.3, by1 - 0.35, t["lstm_block"], fontsize=11, va="top", color=C_MUTED)
    c_y, h_y, g_y = 6.6, 1.9, 3.7  # cell-state line, h line, gates row
    gx = {"f": 3.6, "i": 5.6, "c": 7.3, "o": 9.1}
    x_mul_f, x_mul_i, x_add, x_mul_o = gx["f"], gx["c"], 8.3, 10.3
    # cell state: c<t-1> -> ⊗ f -> ⊕ -> c<t>
    ax.text(0.2, c_y, m("c" + at("t-1")), fontsize=13, va="center")
    line(ax, [1.25, x_mul_f - 0.28], [c_y, c_y])
    op(ax, x_mul_f, c_y, "⊗")
    line(ax, [x_mul_f + 0.28, x_add - 0.28], [c_y, c_y])
    op(ax, x_add, c_y, "⊕")
    arrow(ax, (x_add + 0.28, c_y), (bx1 + 1.2, c_y))
    ax.text(bx1 + 1.3, c_y, m("c" + at("t")), fontsize=13, va="center")
    ax.text(
        (x_mul_f + x_add) / 2, c_y + 0.4, t["cell_state"], fontsize=9, ha="center", color=C_MUTED
    )
    # h<t-1> and x<t> join and feed every gate
    ax.text(0.2, h_y, m("h" + at("t-1")), fontsize=13, va="center")
    line(ax, [1.25, gx["o"]], [h_y, h_y])
    x_in = 2.5
    ax.text(x_in, 0.45, m("x" + at("t")), fontsize=13, ha="center", va="center")
    line(ax, [x_in, x_in], [0.75, h_y])
    dot(ax, x_in, h_y)
    for key in gx:
        arrow(ax, (gx[key], h_y), (gx[key], g_y - 0.4))
    _gate(ax, gx["f"], g_y, "σ", "f" + at("t"))
    _gate(ax, gx["i"], g_y, "σ", "i" + at("t"))
    _gate(ax, gx["c"], g_y, "tanh", r"\tilde{c}" + at("t"), fontsize=11)
    _gate(ax, gx["o"], g_y, "σ", "o" + at("t"))
    # f -> ⊗ on the cell line
    arrow(ax, (gx["f"], g_y + 0.4), (x_mul_f, c_y - 0.28))
    # i ⊗ c~ -> ⊕
    y_mul_i = 5.35
    op(ax, x_mul_i, y_mul_i, "⊗")
    line(ax, [gx["i"], gx["i"]], [g_y + 0.4, y_mul_i])
    arrow(ax, (gx["i"], y_mul_i), (x_mul_i - 0.28, y_mul_i))
    arrow(ax, (gx["c"], g_y + 0.4), (x_mul_i, y_mul_i - 0.28))
    line(ax, [x_mul_i + 0.28, x_add], [y_mul_i, y_mul_i])
    arrow(ax, (x_add, y_mul_i), (x_add, c_y - 0.28))
    # c<t> -> tanh -> ⊗ o -> h<t>
    y_tanh, y_mul_o = 5.35, 4.45
    line(ax, [x_mul_o, x_mul_o], [c_y, y_tanh + 0.34])
    dot(ax, x_mul_o, c_y)
    op(ax, x_mul_o, y_tanh, "tanh", r=0.34, fontsize=9)
    arrow(ax, (x_mul_o, y_tanh - 0.34), (x_mul_o, y_mul_o + 0.28))
    op(ax, x_mul_o, y_mul_o, "⊗")
    line(ax, [gx["o"], gx["o"]], [g_y + 0.4, y_mul_o])
    arrow(ax, (gx["o"], y_mul_o), (x_mul_o - 0.28, y_mul_o))
    line(ax, [x_mul_o, x_mul_o], [y_mul_o - 0.28, h_y])
    arrow(ax, (x_mul_o, h_y), (bx1 + 1.2, h_y))
    ax.text(bx1 + 1.3, h_y, m("h" + at("t")), fontsize=13, va="center")
    x, h, h1, c, c1 = "x" + at("t"), "h" + at("t"), "h" + at("t-1"), "c" + at("t"), "c" + at("t-1")
    f, i, o, ct = "f" + at("t"), "i" + at("t"), "o" + at("t"), r"\tilde{c}" + at("t")
    rows = [
        (t["forget"], rf"{f} = \sigma(W_{{xf}}{x} + W_{{hf}}{h1} + b_f)"),
        (t["input"], rf"{i} = \sigma(W_{{xi}}{x} + W_{{hi}}{h1} + b_i)"),
        (t["candidate"], rf"{ct} = \tanh(W_{{xc}}{x} + W_{{hc}}{h1})"),
        (t["cell_state"], rf"{c} = ({c1} \otimes {f}) \oplus ({i} \otimes {ct})"),
        (t["output"], rf"{o} = \sigma(W_{{xo}}{x} + W_{{ho}}{h1} + b_o)"),
        (t["hidden"], rf"{h} = {o} \otimes \tanh({c})"),
    ]
    _table(ax, rows, -0.4, t)
    return fig


def gru_block(t: dict):
    """Figure 7: the GRU block: update gate z, reset gate r, candidate n; equations under it."""
    fig, ax = canvas(14.4, 12.7, bottom=-4.7)
    bx0, bx1, by0, by1 = 1.7, 11.4, 0.9, 7.6
    box(ax, (bx0 + bx1) / 2, (by0 + by1) / 2, bx1 - bx0, by1 - by0, fc=C_CELL, pad=0.15, zorder=1)
    ax.text(bx0 + 0.3, by1 - 0.35, t["gru_block"], fontsize=11, va="top", color=C_MUTED)
    s_y, bus_y, x_y, g_y = 6.6, 2.3, 1.5, 3.7  # state line, [h; x] bus, x line, gates row
    gx = {"z": 3.6, "r": 5.8, "n": 9.3}
    x_mul_z, x_add, x_mul_r, x_one, y_branch = gx["z"], gx["n"], 7.6, 8.35, 5.3
    # state line: h<t-1> -> ⊗ z -> ⊕ -> h<t>
    ax.text(0.2, s_y, m("h" + at("t-1")), fontsize=13, va="center")
    line(ax, [1.25, x_mul_z - 0.28], [s_y, s_y])
    op(ax, x_mul_z, s_y, "⊗")
    line(ax, [x_mul_z + 0.28, x_add - 0.28], [s_y, s_y])
    op(ax, x_add, s_y, "⊕")
    arrow(ax, (x_add + 0.28, s_y), (bx1 + 1.2, s_y))
    ax.text(bx1 + 1.3, s_y, m("h" + at("t")), fontsize=13, va="center")
    # h<t-1> goes down to the gates' bus, where x<t> joins it; x<t> alone reaches the candidate
    x_down, x_in = 2.2, 2.8
    dot(ax, x_down, s_y)
    line(ax, [x_down, x_down], [s_y, bus_y])
    line(ax, [x_down, gx["r"]], [bus_y, bus_y])
    ax.text(x_in, 0.2, m("x" + at("t")), fontsize=13, ha="center", va="center")
    line(ax, [x_in, x_in], [0.5, bus_y])
    dot(ax, x_in, bus_y)
    dot(ax, x_in, x_y)
    line(ax, [x_in, gx["n"]], [x_y, x_y])
    arrow(ax, (gx["n"], x_y), (gx["n"], g_y - 0.4))
    for key in ("z", "r"):
        arrow(ax, (gx[key], bus_y), (gx[key], g_y - 0.4))
    _gate(ax, gx["z"], g_y, "σ", "z" + at("t"))
    _gate(ax, gx["r"], g_y, "σ", "r" + at("t"))
    _gate(ax, gx["n"], g_y, "tanh", "n" + at("t"), fontsize=11)
    # z -> ⊗ with h<t-1>; 1 - z -> ⊗ with n -> ⊕
    arrow(ax, (gx["z"], g_y + 0.4), (x_mul_z, s_y - 0.28))
    dot(ax, gx["z"], y_branch)
    y_mul_n = y_branch
    halo = [patheffects.withStroke(linewidth=6, foreground=C_CELL)]  # passes over the h drop
    ax.plot(
        [gx["z"], x_one - 0.3],
        [y_branch, y_branch],
        color=C_LINE,
        lw=1.3,
        zorder=3.5,
        path_effects=halo,
    )
    op(ax, x_one, y_branch, "1−", r=0.3, fontsize=11)
    arrow(ax, (x_one + 0.3, y_branch), (x_add - 0.28, y_mul_n))
    # (the ⊗ of n and 1 - z sits on the candidate's way up to ⊕)
    op(ax, x_add, y_mul_n, "⊗")
    arrow(ax, (gx["n"], g_y + 0.4), (x_add, y_mul_n - 0.28))
    arrow(ax, (x_add, y_mul_n + 0.28), (x_add, s_y - 0.28))
    # r ⊗ h<t-1> -> candidate
    op(ax, x_mul_r, g_y, "⊗")
    arrow(ax, (gx["r"] + 0.5, g_y), (x_mul_r - 0.28, g_y))
    dot(ax, x_mul_r, s_y)
    arrow(ax, (x_mul_r, s_y), (x_mul_r, g_y + 0.28))
    arrow(ax, (x_mul_r + 0.28, g_y), (gx["n"] - 0.5, g_y))
    x, h, h1 = "x" + at("t"), "h" + at("t"), "h" + at("t-1")
    z, r, n = "z" + at("t"), "r" + at("t"), "n" + at("t")
    rows = [
        (t["update"], rf"{z} = \sigma({x}W_{{xz}} + {h1}W_{{hz}} + b_z)"),
        (t["reset"], rf"{r} = \sigma({x}W_{{xr}} + {h1}W_{{hr}} + b_r)"),
        (t["gru_candidate"], rf"{n} = \tanh({x}W_{{xn}} + ({r} \odot {h1})W_{{hn}} + b_n)"),
        (t["hidden"], rf"{h} = (1 - {z}) \odot {n} + {z} \odot {h1}"),
    ]
    _table(ax, rows, -0.4, t)
    ax.text(0.3, -0.4 - 0.62 * 5 - 0.4, t["gru_note"], fontsize=9.5, va="center", color=C_MUTED)
    return fig


FIGURES: dict[str, Callable[[dict], plt.Figure]] = {
    "input_tensor": input_tensor,
    "io_configurations": io_configurations,
    "rnn_unrolled": rnn_unrolled,
    "rnn_multilayer": rnn_multilayer,
    "lstm_network": lstm_network,
    "lstm_block": lstm_block,
    "gru_block": gru_block,
}


# ---------------------------------------------------------------- writing


def save(fig, path: Path, dpi: int) -> None:
    """Write ``path`` (.svg or .png) through a temporary file, so a crash leaves no half file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        if path.suffix == ".svg":
            fig.savefig(tmp, format="svg", metadata={"Date": None, "Creator": None})
        else:  # 64-colour palette: a third of the size, no visible change for flat drawings
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi)
            image = Image.open(buffer).convert("RGB").quantize(64, Image.Quantize.MEDIANCUT)
            image.save(tmp, format="png", optimize=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def make_figures(out: str | Path, langs=LANGS, names=NAMES, dpi: int = DPI) -> list[Path]:
    """Draw ``names`` in ``langs`` into ``out`` (English) and ``out/es`` (Spanish)."""
    unknown = [n for n in names if n not in FIGURES] + [lang for lang in langs if lang not in TEXT]
    if unknown:
        raise ValueError(f"unknown figure or language {unknown}; known: {list(FIGURES)}, {LANGS}")
    plt.rcParams.update({"svg.hashsalt": "rnnlab", "font.family": "DejaVu Sans"})
    written = []
    for lang in langs:
        folder = Path(out) if lang == "en" else Path(out) / lang
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            fig = FIGURES[name](TEXT[lang])
            try:
                for ext in ("svg", "png"):
                    path = folder / f"{name}.{ext}"
                    save(fig, path, dpi)
                    written.append(path)
            finally:
                plt.close(fig)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder for the English files; Spanish go to OUT/es (default: docs/figures)",
    )
    parser.add_argument("--lang", choices=(*LANGS, "all"), default="all", help="labels' language")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=NAMES,
        default=list(NAMES),
        metavar="NAME",
        help=f"draw only these figures ({', '.join(NAMES)})",
    )
    parser.add_argument("--dpi", type=int, default=DPI, help="PNG resolution (default: 100)")
    args = parser.parse_args(argv)
    langs = LANGS if args.lang == "all" else (args.lang,)
    for path in make_figures(args.out, langs, args.only, args.dpi):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
