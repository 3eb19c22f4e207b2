"""See what the network read: token attributions, the running prediction, the LSTM's memory.

A many-to-one network reads a review left to right, carrying a state ``h_t``,
and reads out ``softmax(h O + c)`` at the end. This package answers the three
questions a user asks next::

    import rnnlab
    from rnnlab.explain import explain_model, memory_view, render_html, render_terminal

    model = rnnlab.load()                                  # bundled 2-layer BiLSTM
    [e] = explain_model(model, ["Not great, but the ending is wonderful."])
    e["label"], e["score"]                                  # as model.predict gives
    [(t["token"], t["attribution"], t["trajectory"]) for t in e["tokens"]]
    render_terminal([e])                                    # coloured words + sparkline
    view = memory_view(model, "Not great, but the ending is wonderful.", layer=0)
    view.forget_gate.shape                                  # (tokens, units)
    open("why.html", "w").write(render_html([e], memory=view))

- **Which words carried the decision** (:mod:`~rnnlab.explain.attributions`):
  integrated gradients over the word vectors, complete within 5% (the
  attributions add up to f(x) - f(baseline), f the log-odds of the label);
  occlusion as the model-agnostic alternative; exact for linear models.
- **Where the network changed its mind** (:mod:`~rnnlab.explain.trajectory`):
  P(label) after each token -- from one pass for a unidirectional network,
  from re-running every prefix for a bidirectional one.
- **What the memory did** (:mod:`~rnnlab.explain.memory`): the LSTM's
  forget/input/output gates and cell state per token and unit.

``rnnlab explain`` prints the same in the terminal (``--json`` for the dicts,
``--html`` for a self-contained page). The dict format is documented in
:mod:`rnnlab.explain.explainers`.
"""

from __future__ import annotations

from rnnlab.explain.explainers import explain_classifier, explain_linear, explain_model
from rnnlab.explain.memory import MemoryView, memory_view
from rnnlab.explain.render import render_html, render_terminal, sparkline

__all__ = [
    "MemoryView",
    "explain_classifier",
    "explain_linear",
    "explain_model",
    "memory_view",
    "render_html",
    "render_terminal",
    "sparkline",
]
