"""ELMo-style separate direction stacks (``model.separate_directions``): each direction's
stack reads only its own side, every layer; the classifier's other paths agree with it."""

from __future__ import annotations

import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.errors import RnnlabError
from rnnlab.models import SequenceClassifier
from rnnlab.models.recurrent import StackedRNN
from rnnlab.tasks.pretrain import PretrainConfig, PretrainNet, pretrain_step

H = 5


def stack(separate: bool, layers: int = 3) -> StackedRNN:
    torch.manual_seed(0)
    return StackedRNN("lstm", 4, H, layers, bidirectional=True, separate=separate).eval()


def test_layers_above_the_first_read_one_direction() -> None:
    sep, joint = stack(True), stack(False)
    for layer in (1, 2):
        assert sep.forward_layers[layer].input_size == H
        assert sep.backward_layers[layer].input_size == H
        assert joint.forward_layers[layer].input_size == 2 * H
    assert sep(torch.randn(2, 6, 4), torch.tensor([6, 4])).shape == (2, 6, 2 * H)


@pytest.mark.parametrize("separate", [True, False])
def test_each_half_sees_only_its_own_side_when_separate(separate: bool) -> None:
    """Changing token 3 of 7: with separate stacks the forward half before t=3 and the
    backward half after it are unchanged at every depth; a joint stack mixes them."""
    rnn = stack(separate)
    x = torch.randn(1, 7, 4)
    y = x.clone()
    y[0, 3] += 1.0
    lengths = torch.tensor([7])
    with torch.no_grad():
        a, b = rnn(x, lengths), rnn(y, lengths)
    fwd_before = torch.allclose(a[0, :3, :H], b[0, :3, :H])
    back_after = torch.allclose(a[0, 4:, H:], b[0, 4:, H:])
    assert fwd_before and back_after if separate else not (fwd_before and back_after)
    assert not torch.allclose(a[0, 3], b[0, 3])  # the changed step itself moves


def classifier() -> SequenceClassifier:
    torch.manual_seed(1)
    cfg = ModelConfig(hidden_size=H, num_layers=3, dropout=0.0, separate_directions=True)
    return SequenceClassifier(cfg, 20, 4, 2).eval()


def test_unpadded_path_and_prefix_logits_match_the_padded_forward() -> None:
    net = classifier()
    ids = torch.tensor([[3, 7, 2, 9, 4, 11]])
    with torch.no_grad():
        full = net(ids, torch.tensor([6]))
        emb = net.embedding(ids)
        assert torch.allclose(net.forward_embedded(emb), full, atol=1e-6)
        prefixes = net.prefix_logits(emb, chunk=4)  # (T, C)
        for i in range(6):
            alone = net(ids[:, : i + 1], torch.tensor([i + 1]))
            assert torch.allclose(prefixes[i], alone[0], atol=1e-5)


def test_layer_inputs_are_the_stack_below() -> None:
    net = classifier()
    ids = torch.tensor([[3, 7, 2, 9]])
    lengths = torch.tensor([4])
    with torch.no_grad():
        emb = net.embedding(ids)
        below = net.layer_inputs(emb, lengths, 2)  # (1, T, 2H): layer 1's outputs
        two = StackedRNN("lstm", 4, H, 2, True, separate=True)
        two.forward_layers, two.backward_layers = (
            net.rnn.forward_layers[:2],
            net.rnn.backward_layers[:2],
        )
        assert torch.allclose(below, two(emb, lengths), atol=1e-6)


def test_config_needs_bidirectional() -> None:
    with pytest.raises(RnnlabError, match="separate_directions"):
        ModelConfig(bidirectional=False, separate_directions=True)
    with pytest.raises(RnnlabError, match="separate_directions"):
        ModelConfig(separate_directions="yes")


def test_lm_pretraining_trains_every_layer_of_separate_stacks() -> None:
    """Joint stacks: only layer 0 is a language model; separate: all of them."""
    ids = torch.randint(2, 30, (3, 9), generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([9, 7, 4])
    for separate, top_trained in ((True, True), (False, False)):
        cfg = ModelConfig(hidden_size=6, dropout=0.0, separate_directions=separate)
        net = PretrainNet(cfg, 30, 6, PretrainConfig(objective="lm", negatives=16))
        loss, _, n = pretrain_step(net, (ids, lengths, 1))
        loss.backward()
        top = net.rnn.forward_layers[1].weight_ih_l0.grad
        assert (top is not None and bool(top.abs().sum() > 0)) == top_trained
        assert n == 2 * sum(int(k) - 1 for k in lengths)
