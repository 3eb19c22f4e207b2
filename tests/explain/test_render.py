"""Terminal and HTML rendering of explanations."""

from __future__ import annotations

import re

from rich.console import Console

from rnnlab.explain import explain_classifier, memory_view, render_html, render_terminal, sparkline
from rnnlab.explain.render import BARS

TEXT = "not great , but the ending was wonderful"


def test_sparkline_scale_and_width():
    assert sparkline([0.0, 0.5, 1.0]) == BARS[0] + BARS[4] + BARS[-1]
    assert sparkline([0.2, None, 0.9]) == BARS[1] + BARS[7]  # None (not read) is skipped
    long = [i / 999 for i in range(1000)]
    line = sparkline(long, width=40)
    assert len(line) == 40 and line[-1] == BARS[-1] and line[0] == BARS[0]
    assert list(line) == sorted(line)  # a rising series stays rising


def test_terminal_shows_label_words_and_trajectory(make_classifier):
    clf = make_classifier()
    explanations = explain_classifier(clf, [TEXT, "boring"])
    console = Console(record=True, width=120, color_system="truecolor")
    render_terminal(explanations, console)
    out = console.export_text()
    for e in explanations:
        assert e["label"] in out and f"P({e['target']})" in out
    for word in TEXT.split():
        assert word in out
    assert "integrated gradients" in out
    styled = console.export_html(inline_styles=True)
    assert "background-color" in styled  # words are coloured


def test_html_escapes_words_and_embeds_everything(make_classifier):
    clf = make_classifier()
    text = "a < b && 'not' great"  # "<" and "&" are tokens of their own
    [e] = explain_classifier(clf, [text])
    page = render_html([e], memory=memory_view(clf, text))
    assert ">&lt;</span>" in page and ">&amp;</span>" in page  # words are text, never markup
    assert "< b" not in page
    assert not re.findall(r"""(?:src|href)\s*=\s*["'](?!data:)""", page)
    assert page.count("data:image/png;base64,") == 1
    assert page.count('class="card"') == 1


def test_html_memory_list_aligns_with_explanations(make_classifier):
    clf = make_classifier()
    explanations = explain_classifier(clf, [TEXT, "boring film"])
    page = render_html(explanations, memory=[None, memory_view(clf, "boring film")])
    assert page.count("data:image/png;base64,") == 1
    assert "Text 1" in page and "Text 2" in page
    assert page.index("Text 2") < page.index("data:image/png")  # drawn with the second text
