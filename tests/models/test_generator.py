"""The one-to-many ConditionalLM: shapes, conditioning of the initial state, sampling."""

from __future__ import annotations

import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.models.generator import ConditionalLM, GeneratorConfig

V, BOS, EOS = 12, 2, 3


def make(seed: int = 0, **kw) -> ConditionalLM:
    torch.manual_seed(seed)
    cfg = GeneratorConfig(embed_dim=8, hidden_size=16, condition_dim=4, dropout=0.0, **kw)
    return ConditionalLM(cfg, V, 2).eval()


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"num_layers": 2},
        {"use_rating": True},
        {"condition_every_step": True},
        {"tie_weights": False},
    ],
)
def test_forward_shapes_and_padding_does_not_leak(kw):
    net = make(**kw)
    ids = torch.randint(4, V, (3, 7))
    labels = torch.tensor([0, 1, 1])
    ratings = torch.tensor([2, 9, 0]) if kw.get("use_rating") else None
    logits = net(ids, labels, ratings)
    assert logits.shape == (3, 7, V)
    # a forward-only LSTM: appending padding never changes earlier outputs
    padded = torch.cat([ids, torch.zeros(3, 4, dtype=torch.long)], dim=1)
    torch.testing.assert_close(net(padded, labels, ratings)[:, :7], logits)


def test_initial_state_comes_from_the_condition():
    net = make(num_layers=2)
    h0, c0 = net.initial_state(net.condition(torch.tensor([0, 1, 0])))
    assert h0.shape == c0.shape == (2, 3, 16)
    torch.testing.assert_close(h0[:, 0], h0[:, 2])
    assert not torch.allclose(h0[:, 0], h0[:, 1])
    assert h0.abs().max() < 1 and c0.abs().max() < 1  # tanh
    # the same input ids give different next-word distributions under different labels
    ids = torch.full((2, 3), 5)
    logits = net(ids, torch.tensor([0, 1]))
    assert not torch.allclose(logits[0], logits[1])


def test_rating_changes_the_state_and_zero_means_not_given():
    net = make(use_rating=True)
    z = net.condition(torch.tensor([1, 1, 1]), torch.tensor([2, 9, 0]))
    assert z.shape == (3, 8)
    assert not torch.allclose(z[0], z[1])
    torch.testing.assert_close(net.condition(torch.tensor([1])), z[2:3])


def test_tied_weights_are_stored_once():
    tied, untied = make(), make(tie_weights=False)
    assert not any(k.startswith("output.") for k in tied.state_dict())
    n_tied = sum(p.numel() for p in tied.parameters())
    n_untied = sum(p.numel() for p in untied.parameters())
    assert n_untied - n_tied == V * 16 - 16 * 8  # output matrix (V x H) minus projection (H x D)
    # with D == H no projection is needed
    cfg = GeneratorConfig(embed_dim=16, hidden_size=16, condition_dim=4)
    assert ConditionalLM(cfg, V, 2).projection is None


def sample(net, seed=0, **kw):
    kw.setdefault("max_len", 20)
    return net.sample(torch.tensor([0, 1] * 4), None, BOS, EOS, seed=seed, **kw)


def test_same_seed_same_samples_different_seed_different():
    net = make()
    a, b, c = sample(net, 1), sample(net, 1), sample(net, 2)
    assert a == b
    assert a != c


def test_sampling_leaves_the_global_rng_alone():
    net = make()
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    sample(net, 9)
    torch.testing.assert_close(torch.rand(3), expected)


def test_top_k_1_and_temperature_0_are_greedy():
    net = make()
    greedy = sample(net, temperature=0)
    assert sample(net, seed=3, top_k=1) == greedy
    assert sample(net, seed=4, top_k=1, temperature=2.0) == greedy
    # greedy = argmax of the teacher-forced logits at every step
    for label, seq in zip([0, 1], greedy[:2], strict=True):
        ids = torch.tensor([[BOS, *seq]])
        steps = net(ids, torch.tensor([label]))[0].argmax(-1).tolist()
        assert steps[: len(seq)] == seq
        if len(seq) < 20:
            assert steps[len(seq)] == EOS


def test_temperature_towards_zero_approaches_greedy():
    net = make()
    greedy = sample(net, temperature=0, max_len=15)

    def agreement(t: float) -> float:
        runs = [sample(net, seed=s, temperature=t, max_len=15) for s in range(5)]
        same = sum(run == greedy for run in runs)
        return same / len(runs)

    assert agreement(1e-4) == 1.0
    assert agreement(3.0) < 1.0


def test_top_k_restricts_each_step_to_the_k_best():
    net = make()
    out = sample(net, seed=0, top_k=2, temperature=5.0, max_len=6)
    for label, seq in zip([0, 1], out[:2], strict=True):
        logits = net(torch.tensor([[BOS, *seq]]), torch.tensor([label]))[0]
        for t, tok in enumerate(seq):
            assert tok in torch.topk(logits[t], 2).indices.tolist()


def test_sampling_stops_at_eos_and_never_emits_banned_ids():
    net = make()
    with torch.no_grad():
        net.output_bias[EOS] = 4.0  # make </s> likely
    out = sample(net, seed=0, temperature=1.0, banned=(0, 1, BOS), max_len=30)
    assert all(EOS not in seq and not {0, 1, BOS} & set(seq) for seq in out)
    assert any(len(seq) < 30 for seq in out)
    assert all(len(seq) <= 30 for seq in out)


@pytest.mark.parametrize(
    ("kw", "needle"),
    [({"max_len": 0}, "max_len"), ({"temperature": -1.0}, "temperature"), ({"top_k": -2}, "top_k")],
)
def test_bad_sampling_arguments(kw, needle):
    with pytest.raises(ValueError, match=needle):
        sample(make(), **kw)


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"num_layers": 3}, "num_layers"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"dropout": 1.0}, "dropout"),
        ({"rating_dropout": -0.1}, "rating_dropout"),
    ],
)
def test_config_rejects_bad_values(kw, needle):
    with pytest.raises(RnnlabError, match=needle):
        GeneratorConfig(**kw)


def test_config_round_trips_and_rejects_unknown_keys():
    cfg = GeneratorConfig(use_rating=True, hidden_size=32)
    assert GeneratorConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(RnnlabError, match="hiden"):
        GeneratorConfig.from_dict({"hiden": 3})


def test_guidance_against_the_same_condition_changes_nothing():
    net = make()
    labels = torch.tensor([0, 1] * 4)
    plain = sample(net, temperature=0)
    same = sample(net, temperature=0, guidance=2.0, contrast=(labels, None))
    assert same == plain
    other = sample(net, temperature=0, guidance=2.0, contrast=(1 - labels, None))
    assert other != plain


def test_guidance_pushes_towards_the_requested_condition():
    """With guidance the sampled words score higher under z than under the contrast."""
    net = make(seed=3)
    labels, other = torch.zeros(16, dtype=torch.long), torch.ones(16, dtype=torch.long)

    @torch.no_grad()
    def margin(seqs) -> float:
        total = 0.0
        for seq in seqs:
            ids = torch.tensor([[BOS, *seq]])
            lp = [torch.log_softmax(net(ids, torch.tensor([y]))[0], -1) for y in (0, 1)]
            total += sum(float(lp[0][t, w] - lp[1][t, w]) for t, w in enumerate(seq))
        return total

    kw = {"max_len": 10, "seed": 0}
    plain = net.sample(labels, None, BOS, EOS, **kw)
    guided = net.sample(labels, None, BOS, EOS, guidance=3.0, contrast=(other, None), **kw)
    assert margin(guided) > margin(plain)


def test_max_run_limits_repeats():
    net = make()
    with torch.no_grad():
        net.output_bias[7] = 6.0  # token 7 would fill every step
    runs = sample(net, temperature=1.0, max_run=2, max_len=15)
    for seq in runs:
        assert all(not (seq[i] == seq[i + 1] == seq[i + 2]) for i in range(len(seq) - 2))
    assert any(seq.count(7) >= 2 for seq in runs)


def test_guidance_needs_a_contrast():
    with pytest.raises(ValueError, match="contrast"):
        sample(make(), guidance=1.0)
