"""The memory view re-runs torch's LSTM step by step: same h, gates in range, text order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.config import TextConfig
from rnnlab.errors import RnnlabError
from rnnlab.explain import memory_view
from rnnlab.explain.memory import lstm_steps
from rnnlab.models.recurrent import reverse_within_length

TEXT = "not great , but the ending was wonderful ."


def test_steps_reproduce_torch_lstm_in_float64():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, batch_first=True).double()
    x = torch.randn(7, 3, dtype=torch.float64)
    s = lstm_steps(lstm, x)
    with torch.no_grad():
        out, (h_n, c_n) = lstm(x[None])
    torch.testing.assert_close(s["h"], out[0].detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(s["c"][-1], c_n[0, 0].detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(s["h"], s["o"] * torch.tanh(s["c"]))  # h_t = o_t * tanh(c_t)
    c_prev = torch.cat([torch.zeros(1, 4, dtype=torch.float64), s["c"][:-1]])
    torch.testing.assert_close(s["c"], s["f"] * c_prev + s["i"] * s["g"])


@pytest.mark.parametrize("separate", [False, True])
@pytest.mark.parametrize("layer, direction", [(0, "forward"), (1, "forward"), (1, "backward")])
def test_view_matches_the_networks_own_outputs(make_classifier, layer, direction, separate):
    clf = make_classifier("lstm", bidirectional=True, num_layers=2, separate=separate)
    view = memory_view(clf, TEXT, layer=layer, direction=direction)
    n, h = len(TEXT.split()), clf.net.rnn.hidden_size
    for name in ("input_gate", "forget_gate", "output_gate", "candidate", "cell", "hidden"):
        assert getattr(view, name).shape == (n, h)
    for gate in (view.input_gate, view.forget_gate, view.output_gate):
        assert gate.min() >= 0.0 and gate.max() <= 1.0
    assert np.abs(view.candidate).max() <= 1.0
    assert view.tokens == TEXT.split()
    # the stack's output of this layer: forward half, or backward half, of (1, T, 2H)
    net = clf.net
    ids = torch.tensor([clf.vocab.encode(TEXT.split())])
    lengths = torch.tensor([n])
    with torch.no_grad():
        emb = net.embedding(ids)
        if layer + 1 < net.rnn.num_layers:  # what the next layer reads
            out = net.layer_inputs(emb, lengths, layer + 1)  # (1, T, 2H)
        else:
            out = net.rnn(emb, lengths)  # (1, T, 2H)
    half = out[0, :, :h] if direction == "forward" else out[0, :, h:]
    np.testing.assert_allclose(view.hidden, half.numpy(), atol=1e-5)


def test_backward_rows_are_in_text_order(make_classifier):
    clf = make_classifier("lstm", bidirectional=True, num_layers=1)
    view = memory_view(clf, TEXT, direction="backward")
    lstm = clf.net.rnn.backward_layers[0]
    ids = torch.tensor([clf.vocab.encode(TEXT.split())])
    with torch.no_grad():
        x = clf.net.embedding(ids)
        back, _ = lstm(reverse_within_length(x, torch.tensor([ids.shape[1]])))
    # the backward direction's state at the LAST token is its first step: it has read one word
    np.testing.assert_allclose(view.hidden[-1], back[0, 0].numpy(), atol=1e-6)
    np.testing.assert_allclose(view.hidden[0], back[0, -1].numpy(), atol=1e-6)


def test_truncated_text_shows_the_tokens_read(make_classifier):
    clf = make_classifier("lstm", bidirectional=False, text=TextConfig(maxlen=4))
    view = memory_view(clf, TEXT)
    assert view.tokens == TEXT.split()[-4:] and view.cell.shape[0] == 4


def test_errors(make_classifier):
    with pytest.raises(RnnlabError, match="LSTM gates"):
        memory_view(make_classifier("gru"), TEXT)
    clf = make_classifier("lstm", bidirectional=False, num_layers=2)
    with pytest.raises(RnnlabError, match="layer must be 0..1"):
        memory_view(clf, TEXT, layer=2)
    with pytest.raises(RnnlabError, match="unidirectional"):
        memory_view(clf, TEXT, direction="backward")
    with pytest.raises(RnnlabError, match="no tokens"):
        memory_view(clf, "   ")
    with pytest.raises(RnnlabError, match="must be a string"):
        memory_view(clf, [TEXT])


def test_to_dict_is_json_ready(make_classifier):
    import json

    d = memory_view(make_classifier(), TEXT).to_dict()
    assert json.loads(json.dumps(d))["tokens"] == TEXT.split()
    assert len(d["forget_gate"]) == len(TEXT.split())
