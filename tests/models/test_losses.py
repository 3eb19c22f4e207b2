"""masked_token_loss: the one token-level loss of the tagger, seq2seq and the language model."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.models.losses import masked_token_loss


def reference(logits: torch.Tensor, targets: torch.Tensor, ignore: int):
    """Loop over real positions in float64: the guide's mean of -log y_t[target_t]."""
    total, correct, n = 0.0, 0, 0
    log_probs = torch.log_softmax(logits.double(), dim=-1)
    for i in range(targets.shape[0]):
        for t in range(targets.shape[1]):
            k = int(targets[i, t])
            if k == ignore:
                continue
            total -= float(log_probs[i, t, k])
            correct += int(int(logits[i, t].argmax()) == k)
            n += 1
    return total / n, correct, n


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 4),
    t=st.integers(1, 6),
    v=st.integers(2, 7),
    ignore=st.sampled_from([-100, 0]),
    seed=st.integers(0, 2**16),
)
def test_equals_the_mean_over_real_positions(n, t, v, ignore, seed) -> None:
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, t, v, generator=gen, dtype=torch.float64)
    low = 1 if ignore == 0 else 0  # class 0 is padding when ignore_index is 0
    targets = torch.randint(low, v, (n, t), generator=gen)
    lengths = torch.randint(1, t + 1, (n,), generator=gen)
    for i in range(n):
        targets[i, int(lengths[i]) :] = ignore  # post-padding
    loss, correct, items = masked_token_loss(logits, targets, ignore)
    want_loss, want_correct, want_n = reference(logits, targets, ignore)
    assert items == want_n == int(lengths.sum())
    assert correct == want_correct
    assert float(loss) == pytest.approx(want_loss, rel=1e-12)


def test_padded_logits_change_nothing_and_get_no_gradient() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 4, requires_grad=True)
    targets = torch.tensor([[1, 2, 3, -100, -100], [0, 1, -100, -100, -100]])
    loss, correct, n = masked_token_loss(logits, targets, -100)
    loss.backward()
    assert n == 5.0
    assert torch.all(logits.grad[0, 3:] == 0) and torch.all(logits.grad[1, 2:] == 0)
    assert torch.any(logits.grad[0, :3] != 0)
    junk = logits.detach().clone()
    junk[0, 3:] = 1e3  # whatever the network says at padding is ignored
    loss2, correct2, _ = masked_token_loss(junk, targets, -100)
    torch.testing.assert_close(loss2, loss.detach())
    assert correct2 == correct


def test_matches_torch_cross_entropy_without_padding() -> None:
    torch.manual_seed(1)
    logits = torch.randn(3, 4, 6)
    targets = torch.randint(1, 6, (3, 4))
    loss, correct, n = masked_token_loss(logits, targets, 0)
    torch.testing.assert_close(loss, F.cross_entropy(logits.reshape(12, 6), targets.reshape(12)))
    assert n == 12.0 and correct == float((logits.argmax(-1) == targets).sum())


def test_shape_mismatch_names_the_shapes() -> None:
    with pytest.raises(
        ValueError, match=r"logits \(N, T, V\) and targets \(N, T\), got \(2, 3, 4\)"
    ):
        masked_token_loss(torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="expected logits"):
        masked_token_loss(torch.zeros(6, 4), torch.zeros(6, dtype=torch.long), 0)
