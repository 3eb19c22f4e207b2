"""The guide's network in torch: an LSTM whose candidate has no bias, and Keras' initial weights.

``ModelConfig(candidate_bias=False)`` holds the g block (torch gate order i, f,
g, o) of ``bias_ih`` and ``bias_hh`` at exactly zero through training, so the
classifier equals the NumPy glass box (``LSTMCell(candidate_bias=False)``
stacked, read out as softmax(h^N O + c)) with copied weights.
``ModelConfig(init="keras")`` starts from Keras' LSTM defaults.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.models import SequenceClassifier
from rnnlab.models.recurrent import StackedRNN
from rnnlab.recipes import RECIPES, recipe_configs, recipe_sections
from rnnlab.scratch import LSTMCell, RecurrentNetwork
from rnnlab.scratch.convert import from_torch_state_dict
from rnnlab.training import fit

TOL = 1e-10  # float64, absolute and relative
N, T, V, D, H, C = 4, 7, 30, 5, 6, 2
GUIDE = ModelConfig(
    cell="lstm",
    hidden_size=H,
    num_layers=2,
    bidirectional=False,
    dropout=0.0,
    pooling="last",
    candidate_bias=False,
    init="keras",
)


def guide_net(seed: int = 0, **changes) -> SequenceClassifier:
    torch.manual_seed(seed)
    return SequenceClassifier(GUIDE.replace(**changes), V, D, C)


def bias_blocks(net: SequenceClassifier) -> list[tuple[str, torch.Tensor]]:
    """Every LSTM bias vector (4H,), named ``layer.bias_ih`` / ``layer.bias_hh``."""
    return [
        (f"{k}.{name}", p)
        for k, lstm in enumerate(net.rnn.forward_layers)
        for name, p in lstm.named_parameters()
        if name.startswith("bias")
    ]


def candidate(bias: torch.Tensor) -> torch.Tensor:
    return bias[2 * H : 3 * H]  # gate order i, f, g, o


def pre_padded_batch(rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Keras-style ids: every row padded on the left to T, every length T."""
    ids = np.zeros((N, T), dtype=np.int64)  # (N, T)
    for row, n in enumerate([T, 4, 1, 6]):
        ids[row, T - n :] = rng.integers(1, V, n)
    return torch.from_numpy(ids), torch.full((N,), T, dtype=torch.int64)


def test_candidate_bias_starts_and_stays_at_zero_through_adam_with_weight_decay() -> None:
    net = guide_net()
    for name, bias in bias_blocks(net):
        assert torch.count_nonzero(candidate(bias)) == 0, name
    before = {name: bias.detach().clone() for name, bias in bias_blocks(net)}
    rng = np.random.default_rng(0)
    batches = []
    for _ in range(6):
        ids, lengths = pre_padded_batch(rng)
        batches.append((ids, lengths, torch.from_numpy(rng.integers(0, C, N))))

    def step(model, batch):
        ids, lengths, y = batch
        logits = model(ids, lengths)
        return F.cross_entropy(logits, y), float((logits.argmax(1) == y).sum()), float(len(y))

    # the training loop's own Adam, with weight decay and clipping, then AdamW and SGD+momentum
    train = TrainConfig(epochs=3, lr=0.05, weight_decay=0.1, patience=5, threads=1)
    fit(net, lambda epoch: batches, batches[:2], step, train, progress=False)
    for opt in (
        torch.optim.AdamW(net.parameters(), lr=0.05, weight_decay=0.5),
        torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1),
    ):
        for batch in batches:
            opt.zero_grad()
            step(net, batch)[0].backward()
            opt.step()
    for name, bias in bias_blocks(net):
        assert torch.equal(candidate(bias), torch.zeros(H)), name
        moved = (bias - before[name]).abs()
        assert moved[: 2 * H].max() > 1e-3 and moved[3 * H :].max() > 1e-3, name  # i, f, o learn


def test_copies_hold_the_candidate_bias_too() -> None:
    """deepcopy and pickling drop tensor hooks; the module registers them again."""
    net = guide_net()
    ids, lengths = pre_padded_batch(np.random.default_rng(4))
    for copy_ in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        F.cross_entropy(copy_(ids, lengths), torch.ones(N, dtype=torch.int64)).backward()
        grads = [p.grad for name, p in bias_blocks(copy_)]
        assert all(torch.count_nonzero(candidate(g)) == 0 for g in grads)
        assert all(g[: 2 * H].abs().max() > 0 for g in grads)  # the other gates learn


def test_default_lstm_keeps_a_learnable_candidate_bias() -> None:
    torch.manual_seed(0)
    net = SequenceClassifier(ModelConfig(hidden_size=H, bidirectional=False), V, D, C)
    biases = [p for n, p in net.rnn.named_parameters() if "bias" in n]
    assert all(torch.count_nonzero(candidate(b)) == H for b in biases)
    ids, lengths = pre_padded_batch(np.random.default_rng(1))
    F.cross_entropy(net(ids, lengths), torch.zeros(N, dtype=torch.int64)).backward()
    assert all(candidate(b.grad).abs().max() > 0 for b in biases)


@pytest.mark.parametrize("init", ["torch", "keras"])
def test_zero_pre_padding_is_inert_without_candidate_bias(init: str) -> None:
    """h and c stay exactly 0 while the input is 0: tanh(0 W_xc + 0 W_hc) = 0, whatever the
    other gates' biases. With a candidate bias the padding moves the state."""
    ids, _ = pre_padded_batch(np.random.default_rng(5))
    short = ids[2:3, -1:]  # the row with one real token, unpadded
    for candidate_bias, inert in ((False, True), (True, False)):
        net = guide_net(seed=6, init=init, candidate_bias=candidate_bias).eval()
        if candidate_bias:  # give the candidate a bias, as training would
            with torch.no_grad():
                for _, bias in bias_blocks(net):
                    candidate(bias).fill_(0.5)
        padded = net(ids[2:3], torch.tensor([T]))  # (1, C), T-1 padding steps read
        alone = net(short, torch.tensor([1]))
        assert torch.allclose(padded, alone, atol=1e-6) == inert, candidate_bias


def test_learn_padding_trains_the_padding_row_only_when_asked() -> None:
    rng = np.random.default_rng(7)
    ids, lengths = pre_padded_batch(rng)
    y = torch.from_numpy(rng.integers(0, C, N))
    for learn in (False, True):
        net = guide_net(learn_padding=learn)
        assert torch.count_nonzero(net.embedding.weight[0]) == 0  # starts at zero either way
        opt = torch.optim.Adam(net.parameters(), lr=0.05)
        for _ in range(3):
            opt.zero_grad()
            F.cross_entropy(net(ids, lengths), y).backward()
            opt.step()
        assert (torch.count_nonzero(net.embedding.weight[0]) > 0) == learn


def glass_box(net: SequenceClassifier) -> RecurrentNetwork:
    """The NumPy reference with the torch network's weights, through ``convert``."""
    box = RecurrentNetwork("lstm", D, H, C, num_layers=2, candidate_bias=False, rng=0)
    for k, lstm in enumerate(net.rnn.forward_layers):
        (converted,) = from_torch_state_dict(lstm.state_dict(), "lstm").layers
        params = dict(converted.params)
        assert np.all(params.pop("b_c") == 0.0)  # b_ih[g] + b_hh[g], held at zero
        box.stack.layers[k].cell.set_params(params)
    box.head.params = {
        "O": net.head.weight.detach().numpy().T.copy(),  # (H, C)
        "c": net.head.bias.detach().numpy().copy(),  # (C,)
    }
    return box


@pytest.mark.parametrize("init", ["torch", "keras"])
def test_equals_the_glass_box_with_copied_weights(init: str) -> None:
    net = guide_net(seed=3, init=init).double()
    rng = np.random.default_rng(2)
    # move every weight away from its initial value, as training does (the candidate's
    # bias entries excepted: training holds them at zero)
    with torch.no_grad():
        for name, p in net.named_parameters():
            noise = torch.from_numpy(rng.normal(scale=0.3, size=tuple(p.shape)))
            if name.startswith("rnn.") and ".bias_" in name:
                candidate(noise).zero_()
            p.add_(noise)
    ids, lengths = pre_padded_batch(rng)
    y = torch.from_numpy(rng.integers(0, C, N))
    logits = net(ids, lengths)  # (N, C)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    box = glass_box(net)
    assert isinstance(box.stack.layers[0].cell, LSTMCell)
    assert not box.stack.layers[0].cell.candidate_bias and "b_c" not in box.stack.parameters()
    x = net.embedding.weight.detach().numpy()[ids.numpy()]  # (N, T, D), pad rows are zero
    np.testing.assert_allclose(
        box.predict_proba(x), F.softmax(logits, dim=1).detach().numpy(), rtol=TOL, atol=TOL
    )
    box_loss, grads, _ = box.loss_and_grads(x, y.numpy())
    np.testing.assert_allclose(box_loss, float(loss.detach()), rtol=TOL, atol=TOL)
    # gradients: torch (hooked) and the glass box agree on every weight of every gate
    for k, lstm in enumerate(net.rnn.forward_layers):
        for j, gate in enumerate("ifco"):
            rows = slice(j * H, (j + 1) * H)
            for ours, theirs in (
                (f"W_x{gate}", lstm.weight_ih_l0.grad[rows].T),
                (f"W_h{gate}", lstm.weight_hh_l0.grad[rows].T),
            ):
                np.testing.assert_allclose(
                    grads[f"layers.{k}.{ours}"], theirs.numpy(), rtol=1e-8, atol=TOL
                )
            bias_grad = lstm.bias_ih_l0.grad[rows].numpy()
            if gate == "c":
                assert np.all(bias_grad == 0.0)
            else:
                np.testing.assert_allclose(grads[f"layers.{k}.b_{gate}"], bias_grad, atol=TOL)
    np.testing.assert_allclose(grads["O"], net.head.weight.grad.numpy().T, atol=TOL)


def test_keras_init_matches_keras_lstm_defaults() -> None:
    torch.manual_seed(0)
    d, h = 40, 16
    rnn = StackedRNN("lstm", d, h, num_layers=2, init="keras")
    for k, lstm in enumerate(rnn.forward_layers):
        d_in = d if k == 0 else h
        w_hh, w_ih = lstm.weight_hh_l0.detach(), lstm.weight_ih_l0.detach()  # (4H, H), (4H, D)
        # Keras' recurrent_kernel (H, 4H) is orthogonal as a whole: orthonormal rows
        torch.testing.assert_close(w_hh.T @ w_hh, torch.eye(h), atol=1e-5, rtol=0)
        # Glorot-uniform over the fused (D, 4H) kernel: U(-a, a), a = sqrt(6 / (D + 4H))
        limit = (6 / (d_in + 4 * h)) ** 0.5
        assert w_ih.abs().max() <= limit and w_ih.abs().max() > 0.9 * limit
        assert abs(float(w_ih.std()) - limit / 3**0.5) < 0.15 * limit / 3**0.5
        total = lstm.bias_ih_l0.detach() + lstm.bias_hh_l0.detach()  # Keras' one bias
        want = torch.zeros(4 * h)
        want[h : 2 * h] = 1.0  # unit_forget_bias: i, [f], g, o
        assert torch.equal(total, want)
    net = guide_net(init="keras")
    assert torch.equal(net.head.bias.detach(), torch.zeros(C))
    torch.manual_seed(0)
    default = StackedRNN("lstm", d, h, init="torch").forward_layers[0]
    gram = default.weight_hh_l0.detach().T @ default.weight_hh_l0.detach()
    assert not torch.allclose(gram, torch.eye(h), atol=0.1)  # torch's init is not orthogonal


def test_gru_keras_init_zero_biases_and_orthogonal() -> None:
    torch.manual_seed(0)
    gru = StackedRNN("gru", 8, 5, init="keras").forward_layers[0]
    torch.testing.assert_close(
        gru.weight_hh_l0.detach().T @ gru.weight_hh_l0.detach(), torch.eye(5), atol=1e-5, rtol=0
    )
    assert torch.count_nonzero(gru.bias_ih_l0) == 0 and torch.count_nonzero(gru.bias_hh_l0) == 0


def test_config_checks_and_old_configs_load() -> None:
    new_keys = ("candidate_bias", "init", "learn_padding")
    old = {k: v for k, v in ModelConfig().to_dict().items() if k not in new_keys}
    cfg = ModelConfig.from_dict(old)  # a model directory written before these keys existed
    assert cfg.candidate_bias is True and cfg.init == "torch" and cfg.learn_padding is False
    with pytest.raises(RnnlabError, match="model.candidate_bias must be true for model.cell 'gru'"):
        ModelConfig(cell="gru", candidate_bias=False)
    with pytest.raises(RnnlabError, match="model.init must be 'torch' or 'keras'"):
        ModelConfig(init="glorot")
    with pytest.raises(RnnlabError, match="model.candidate_bias must be true or false"):
        ModelConfig(candidate_bias="no")
    with pytest.raises(ValueError, match="candidate_bias=False needs cell 'lstm'"):
        StackedRNN("rnn", 3, 4, candidate_bias=False)


def test_recipes_build_valid_configs_and_the_guide_is_the_guides_network() -> None:
    for name in RECIPES:
        configs = recipe_configs(name)
        assert set(configs) == {"text", "embedding", "model", "train"}
    assert recipe_configs("default")["model"] == ModelConfig()  # the dataclass defaults
    guide = recipe_configs("guide")
    model, text = guide["model"], guide["text"]
    assert (model.cell, model.bidirectional, model.pooling) == ("lstm", False, "last")
    assert not model.candidate_bias and model.num_layers == 2
    assert (text.padding, text.maxlen) == ("pre", 200)
    assert guide["embedding"].source == "word2vec"
    sections = recipe_sections("guide")
    sections["model"]["hidden_size"] = 1  # a copy: the recipe itself is unchanged
    assert recipe_sections("guide")["model"]["hidden_size"] == 64


def test_unknown_recipe_lists_the_known_ones() -> None:
    with pytest.raises(
        RnnlabError, match="unknown recipe 'keras'; known recipes: default, best, guide"
    ):
        recipe_sections("keras")
