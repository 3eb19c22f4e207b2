"""Showing explanations: coloured words in the terminal (rich) and a self-contained HTML page.

Colours: blue words pushed the prediction toward the explained label, red
words away from it; the stronger the colour, the larger ``|attribution|``
relative to the text's largest. Struck-through words were cut by ``maxlen``
and never read; underlined words are outside the vocabulary (read as
``<unk>``). The trajectory is drawn as a unicode sparkline (terminal) or an
inline SVG chart (HTML); the memory view as a PNG heatmap embedded as base64.
The page loads nothing from the network: CSS inline, images as data URIs.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence

from rnnlab.explain.memory import MemoryView

TOWARD = (33, 102, 172)  # blue: pushes toward the explained label
AGAINST = (214, 60, 50)  # red: pushes away from it
BARS = "▁▂▃▄▅▆▇█"
METHOD_NAMES = {
    "integrated-gradients": "integrated gradients",
    "occlusion": "occlusion",
    "exact-linear": "exact (linear coefficients)",
}
KIND_NAMES = {
    "one-pass": "one pass: the state after each token",
    "prefix-reruns": "re-run on every prefix",
    "none": "none",
}


def _strength(explanation: dict) -> float:
    values = [abs(t["attribution"]) for t in explanation["tokens"] if t.get("read", True)]
    return max(values, default=0.0) or 1.0


def _tint(a: float, scale: float) -> tuple[tuple[int, int, int], float]:
    """Colour and opacity (0..1) of attribution ``a`` on a text whose largest |a| is ``scale``."""
    return (TOWARD if a >= 0 else AGAINST), min(1.0, abs(a) / scale)


def sparkline(values: Sequence[float | None], width: int = 60) -> str:
    """Unicode bars for probabilities in [0, 1] (None skipped), at most ``width`` of them.

    A longer series is cut into ``width`` equal runs and each bar shows the
    value at the end of its run (P after reading that stretch). The scale is
    absolute: ``▄`` is about 0.5.
    """
    vals = [v for v in values if v is not None]
    n = len(vals)
    if n > width:
        vals = [vals[math.ceil((j + 1) * n / width) - 1] for j in range(width)]
    return "".join(BARS[min(len(BARS) - 1, max(0, int(v * len(BARS))))] for v in vals)


def _summary(e: dict) -> str:
    c = e["completeness"]
    parts = [METHOD_NAMES.get(e["method"], e["method"])]
    if e["method"] != "exact-linear" and e["tokens"]:
        steps = f", {c['steps']} steps" if "steps" in c else ""
        parts.append(f"completeness error {c['relative_error']:.1%}{steps}")
    n_read = sum(t.get("read", True) for t in e["tokens"])
    read = (
        f"{n_read} of {len(e['tokens'])} tokens read"
        if n_read < len(e["tokens"])
        else (f"{len(e['tokens'])} tokens")
    )
    parts.append(f"{read}, {e['known_share']:.0%} known")
    return " · ".join(parts)


def _top(e: dict, k: int = 4) -> tuple[list[dict], list[dict]]:
    read = [t for t in e["tokens"] if t.get("read", True)]
    toward = sorted((t for t in read if t["attribution"] > 0), key=lambda t: -t["attribution"])
    against = sorted((t for t in read if t["attribution"] < 0), key=lambda t: t["attribution"])
    return toward[:k], against[:k]


# --------------------------------------------------------------------------- terminal


def terminal_text(explanation: dict, width: int = 60):
    """A rich ``Text`` for one explanation: header, coloured words, sparkline, top words."""
    from rich.text import Text

    e = explanation
    out = Text()
    out.append(f" {e['label']} ", style="bold reverse")
    out.append(f" {e['score']:.3f}", style="bold")
    out.append(f"   {_summary(e)}\n", style="dim")
    scale = _strength(e)
    for i, t in enumerate(e["tokens"]):
        if i:
            out.append(" ")
        style = ""
        if not t.get("read", True):
            style = "dim strike"
        else:
            color, s = _tint(t["attribution"], scale)
            if s >= 0.08:
                r, g, b = (round(255 - s * (255 - c)) for c in color)
                style = f"#000000 on rgb({r},{g},{b})"
            if not t["known"]:
                style = f"{style} underline".strip()
        out.append(t["token"], style=style)
    out.append("\n")
    traj = [t["trajectory"] for t in e["tokens"] if t["trajectory"] is not None]
    if traj:
        out.append(f"P({e['target']}) ", style="bold")
        out.append(sparkline(traj, width), style="cyan")
        out.append(f"  {traj[0]:.2f} → {traj[-1]:.2f}")
        out.append(
            f"  ({KIND_NAMES.get(e['trajectory_kind'], e['trajectory_kind'])})\n", style="dim"
        )
    toward, against = _top(e)
    if toward or against:
        out.append(f"toward {e['target']}: ", style="dim")
        out.append(", ".join(f"{t['token']} {t['attribution']:+.2f}" for t in toward) or "-")
        out.append("   against: ", style="dim")
        out.append(", ".join(f"{t['token']} {t['attribution']:+.2f}" for t in against) or "-")
        out.append(f"   ({e['unit']})\n", style="dim")
    return out


def render_terminal(explanations: Sequence[dict], console=None, width: int = 60) -> None:
    """Print explanations with rich: words coloured by attribution, label, trajectory sparkline."""
    from rich.console import Console

    console = console or Console()
    for i, e in enumerate(explanations):
        if i:
            console.print()
        console.print(terminal_text(e, width))


# --------------------------------------------------------------------------- HTML

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
  background:#f6f7f9;color:#1d2430}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.muted{color:#5b6475;font-size:13px}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:16px 18px;margin:16px 0}
.card>h2:first-child{margin-top:0}
.label{display:inline-block;font-weight:700;padding:2px 10px;border-radius:12px;
  background:#1d2430;color:#fff;margin-right:8px}
.words{line-height:2.1;margin:12px 0}
.tok{padding:2px 3px;border-radius:3px}
.tok.unread{color:#9aa1ad;text-decoration:line-through}
.tok.unk{text-decoration:underline dotted}
.legend span{display:inline-block;padding:1px 8px;border-radius:3px;margin-right:6px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
td,th{border:1px solid #dde1e8;padding:3px 8px;text-align:right}
th{background:#eef0f4}td:first-child,th:first-child{text-align:left}
svg text{font:11px system-ui,sans-serif;fill:#5b6475}
"""


def _rgba(color: tuple[int, int, int], alpha: float) -> str:
    return f"rgba({color[0]},{color[1]},{color[2]},{alpha:.3f})"


def tokens_html(explanation: dict) -> str:
    """The words as ``<span>``s coloured by attribution, with a tooltip per word."""
    e = explanation
    scale = _strength(e)
    spans = []
    for t in e["tokens"]:
        word = html.escape(t["token"])
        if not t.get("read", True):
            spans.append(f'<span class="tok unread" title="not read (beyond maxlen)">{word}</span>')
            continue
        color, s = _tint(t["attribution"], scale)
        tip = f"attribution {t['attribution']:+.4f} {e['unit']}"
        if t["trajectory"] is not None:
            tip += f" · P({e['target']}) after it {t['trajectory']:.3f}"
        if not t["known"]:
            tip += " · unknown word"
        cls = "tok" if t["known"] else "tok unk"
        style = f"background:{_rgba(color, 0.85 * s)}" + (";color:#fff" if s > 0.6 else "")
        spans.append(
            f'<span class="{cls}" style="{style}" title="{html.escape(tip)}">{word}</span>'
        )
    return '<div class="words">' + " ".join(spans) + "</div>"


def trajectory_svg(explanation: dict, width: int = 1000, height: int = 150) -> str:
    """P(target) after each read token as an inline SVG line chart ('' when there is none)."""
    e = explanation
    pts = [(t["token"], t["trajectory"]) for t in e["tokens"] if t["trajectory"] is not None]
    if not pts:
        return ""
    left, right, top, bottom = 34, 8, 8, 22
    w, h = width - left - right, height - top - bottom
    n = len(pts)

    def xy(i: int, p: float) -> tuple[float, float]:
        return left + (w * i / max(n - 1, 1)), top + h * (1.0 - p)

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, p) for i, (_, p) in enumerate(pts)))
    hits = []
    for i, (tok, p) in enumerate(pts):
        x, _ = xy(i, p)
        tip = html.escape(f"{i + 1}: {tok} → P({e['target']}) {p:.3f}")
        hits.append(
            f'<rect x="{x - w / n / 2:.1f}" y="{top}" width="{max(w / n, 1):.1f}" height="{h}" '
            f'fill="transparent"><title>{tip}</title></rect>'
        )
    mid = top + h / 2
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="P({html.escape(e["target"])}) after each token">'
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fafbfc" stroke="#dde1e8"/>'
        f'<line x1="{left}" x2="{left + w}" y1="{mid}" y2="{mid}" stroke="#9aa1ad" '
        'stroke-dasharray="4 3"/>'
        f'<text x="{left - 6}" y="{top + 9}" text-anchor="end">1</text>'
        f'<text x="{left - 6}" y="{mid + 4}" text-anchor="end">0.5</text>'
        f'<text x="{left - 6}" y="{top + h}" text-anchor="end">0</text>'
        f'<text x="{left}" y="{height - 6}">token 1</text>'
        f'<text x="{left + w}" y="{height - 6}" text-anchor="end">token {n}</text>'
        f'<polyline points="{line}" fill="none" stroke="rgb{TOWARD}" stroke-width="2"/>'
        + "".join(hits)
        + "</svg>"
    )


def memory_png(view: MemoryView, dpi: int = 90) -> bytes:
    """Heatmaps (units x tokens) of the forget, input and output gates and the cell state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t, units = view.cell.shape
    panels = (
        ("forget gate f_t", view.forget_gate, "viridis", 0.0, 1.0),
        ("input gate i_t", view.input_gate, "viridis", 0.0, 1.0),
        ("output gate o_t", view.output_gate, "viridis", 0.0, 1.0),
        ("cell state c_t", view.cell, "RdBu_r", None, None),
    )
    fig = Figure(figsize=(min(max(6.0, 0.11 * t + 2.0), 32.0), 1.3 + 1.55 * len(panels)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, sharex=True)
    for ax, (title, data, cmap, vmin, vmax) in zip(axes, panels, strict=True):
        if vmin is None:
            vmax = float(abs(data).max()) or 1.0
            vmin = -vmax
        im = ax.imshow(data.T, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                       interpolation="nearest")  # fmt: skip
        ax.set_ylabel("unit", fontsize=8)
        ax.set_title(title, fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        fig.colorbar(im, ax=ax, pad=0.005, fraction=0.02)
    every = max(1, math.ceil(t / 300))
    axes[-1].set_xticks(range(0, t, every), view.tokens[::every], rotation=90, fontsize=6)
    fig.suptitle(
        f"LSTM layer {view.layer}, {view.direction} direction: {units} units x {t} tokens",
        fontsize=10,
        x=0.01,
        ha="left",
    )
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def png_img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def explanation_html(e: dict, memory: MemoryView | None = None, heading: str = "") -> str:
    """One explanation as an HTML card (words, trajectory, strongest words, memory view)."""
    toward, against = _top(e, 6)

    def rows(items: list[dict]) -> str:
        return (
            "".join(
                f"<tr><td>{html.escape(t['token'])}</td><td>{t['attribution']:+.4f}</td></tr>"
                for t in items
            )
            or '<tr><td colspan="2">-</td></tr>'
        )

    parts = [
        '<section class="card">',
        f"<h2>{html.escape(heading)}</h2>" if heading else "",
        f'<div><span class="label">{html.escape(e["label"])}</span>'
        f"<b>{e['score']:.3f}</b> <span class=muted>{html.escape(_summary(e))}</span></div>",
        tokens_html(e),
    ]
    svg = trajectory_svg(e)
    if svg:
        kind = KIND_NAMES.get(e["trajectory_kind"], e["trajectory_kind"])
        parts.append(
            f'<div class="muted">P({html.escape(e["target"])}) after each token '
            f"({html.escape(kind)})</div>{svg}"
        )
    c = e["completeness"]
    parts.append(
        '<div style="display:flex;gap:32px;flex-wrap:wrap">'
        f"<div><div class=muted>toward {html.escape(e['target'])}</div><table>{rows(toward)}</table></div>"
        f"<div><div class=muted>against</div><table>{rows(against)}</table></div>"
        f"<div><div class=muted>completeness ({html.escape(e['unit'])})</div><table>"
        f"<tr><td>sum of attributions</td><td>{c['sum_attributions']:+.4f}</td></tr>"
        f"<tr><td>f(x) − f(baseline)</td><td>{c['f_x_minus_f_baseline']:+.4f}</td></tr>"
        f"<tr><td>relative error</td><td>{c['relative_error']:.2%}</td></tr></table></div></div>"
    )
    if memory is not None:
        parts.append(
            "<h2>Memory: LSTM gates and cell state</h2><div class=muted>Each column is a token "
            "the network read, each row one unit. Forget gate near 1 keeps the cell, near 0 "
            "wipes it; input gate near 1 writes the candidate in; the output gate decides how "
            "much of tanh(c_t) becomes h_t.</div>"
            f'<div class="scroll">{png_img(memory_png(memory), "LSTM gates heatmap")}</div>'
        )
    parts.append("</section>")
    return "".join(parts)


def legend_html(target_note: str = "the explained label") -> str:
    return (
        '<div class="legend muted">'
        f'<span style="background:{_rgba(TOWARD, 0.7)};color:#fff">toward {target_note}</span>'
        f'<span style="background:{_rgba(AGAINST, 0.7)};color:#fff">against it</span>'
        '<span class="tok unk">unknown word</span>'
        '<span class="tok unread">not read (beyond maxlen)</span></div>'
    )


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document (inline CSS, nothing fetched)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def render_html(
    explanations: Sequence[dict],
    memory: MemoryView | Sequence[MemoryView | None] | None = None,
    title: str = "rnnlab explain",
) -> str:
    """A self-contained HTML page for ``explanations`` (from ``explain``).

    ``memory`` is one :class:`MemoryView` (shown with the first explanation)
    or a list aligned with ``explanations`` (None where there is none).
    """
    if isinstance(memory, MemoryView) or memory is None:
        memory = [memory]
    memory = list(memory) + [None] * max(0, len(explanations) - len(memory))
    body = [
        f"<h1>{html.escape(title)}</h1>",
        '<div class="muted">Words coloured by their attribution to the predicted label; '
        "hover a word for its value and the probability after reading it.</div>",
        legend_html(),
    ]
    for i, (e, m) in enumerate(zip(explanations, memory, strict=False)):
        body.append(explanation_html(e, m, f"Text {i + 1}" if len(explanations) > 1 else ""))
    return page(title, "".join(body))
