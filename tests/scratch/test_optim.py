"""Gradient clipping, SGD and Adam: properties, and the same steps as torch.optim."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.scratch import SGD, Adam, clip_grad_norm, global_norm


def random_grads(scale: float, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"U": scale * rng.normal(size=(3, 4)), "b": scale * rng.normal(size=4)}


def test_clip_scales_the_global_norm_to_the_max_and_keeps_the_direction():
    grads = random_grads(10.0)
    norm = np.sqrt(sum((g**2).sum() for g in grads.values()))
    clipped, reported = clip_grad_norm(grads, 1.5)
    assert reported == pytest.approx(norm, rel=1e-14)
    assert global_norm(clipped) == pytest.approx(1.5, rel=1e-14)
    for name, g in grads.items():  # every array scaled by the same factor
        np.testing.assert_allclose(clipped[name], g * (1.5 / norm), rtol=1e-14)
    assert global_norm(grads) == pytest.approx(norm)  # the input is not modified


def test_clip_leaves_small_gradients_untouched():
    grads = random_grads(1e-3)
    clipped, norm = clip_grad_norm(grads, 1.0)
    assert norm < 1.0
    assert all(clipped[name] is g for name, g in grads.items())
    at_max, _ = clip_grad_norm(grads, norm)  # exactly at the limit: untouched too
    assert all(at_max[name] is g for name, g in grads.items())


def test_clip_agrees_with_torch_up_to_its_epsilon():
    grads = random_grads(7.0, seed=1)
    tensors = [torch.tensor(g) for g in grads.values()]
    for t in tensors:
        t.grad = t.clone()
    torch_norm = torch.nn.utils.clip_grad_norm_(tensors, 2.0)
    clipped, norm = clip_grad_norm(grads, 2.0)
    assert norm == pytest.approx(torch_norm.item(), rel=1e-14)
    for ours, t in zip(clipped.values(), tensors, strict=True):  # torch divides by norm + 1e-6
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("max_norm", [0.0, -1.0, float("nan"), float("inf")])
def test_clip_rejects_bad_max_norm(max_norm):
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(random_grads(1.0), max_norm)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda p: SGD(p, lr=0.1), lambda t: torch.optim.SGD(t, lr=0.1)),
        (
            lambda p: SGD(p, lr=0.1, momentum=0.9),
            lambda t: torch.optim.SGD(t, lr=0.1, momentum=0.9),
        ),
        (lambda p: Adam(p, lr=0.01), lambda t: torch.optim.Adam(t, lr=0.01)),
        (
            lambda p: Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6),
            lambda t: torch.optim.Adam(t, lr=0.05, betas=(0.8, 0.99), eps=1e-6),
        ),
    ],
    ids=["sgd", "sgd-momentum", "adam", "adam-options"],
)
def test_optimisers_take_the_same_steps_as_torch(ours, theirs):
    params = random_grads(1.0, seed=2)
    tensors = {name: torch.tensor(p.copy(), requires_grad=True) for name, p in params.items()}
    opt, torch_opt = ours(params), theirs(list(tensors.values()))
    for step in range(6):
        grads = random_grads(1.0, seed=10 + step)
        for name, t in tensors.items():
            t.grad = torch.tensor(grads[name])
        opt.step(grads)
        torch_opt.step()
    for name, p in params.items():  # updated in place
        np.testing.assert_allclose(p, tensors[name].detach().numpy(), rtol=1e-12, atol=1e-12)


def test_optimiser_checks_gradient_keys_and_shapes():
    opt = Adam(random_grads(1.0))
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        opt.step({"U": np.zeros((3, 4))})
    with pytest.raises(ValueError, match=r"grads\['b'\] must have shape \(4,\); got \(5,\)"):
        opt.step({"U": np.zeros((3, 4)), "b": np.zeros(5)})
    with pytest.raises(ValueError, match="lr"):
        SGD(random_grads(1.0), lr=0.0)
