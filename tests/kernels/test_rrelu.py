"""The CPU randomised leaky ReLU (gcl.encoders.rrelu) computes nn.RReLU's function: slopes in
[lower, upper) on non-positive inputs only, uniform and independent, the mean slope in eval
mode, grad * slope backward, reproducible under a torch seed."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gcl.encoders.gcn import make_activation
from gcl.encoders.rrelu import RandomizedLeakyReLU, rrelu_train_cpu

LOWER, UPPER = 1.0 / 8.0, 1.0 / 3.0


def _input(n: int = 400, c: int = 300, seed: int = 0) -> torch.Tensor:
    x = torch.randn(n, c, generator=torch.Generator().manual_seed(seed))
    x[0, :10] = 0.0                                   # exact zeros: slope side, output 0
    return x


def test_slopes_follow_the_distribution() -> None:
    x = _input()
    torch.manual_seed(0)
    y = rrelu_train_cpu(x, LOWER, UPPER)
    positive = x > 0
    assert torch.equal(y[positive], x[positive])      # positives pass unchanged
    assert torch.all(y[x == 0] == 0)
    negative = x < 0
    slopes = (y[negative] / x[negative]).double()
    assert slopes.min() >= LOWER - 1e-6 and slopes.max() < UPPER + 1e-6
    # U(1/8, 1/3): mean 0.2292, variance (1/3 - 1/8)^2 / 12 = 3.62e-3; ~60k draws
    assert abs(float(slopes.mean()) - (LOWER + UPPER) / 2) < 2e-3
    assert abs(float(slopes.var()) - (UPPER - LOWER) ** 2 / 12) < 2e-4
    # uniform: each tenth of the interval gets about a tenth of the slopes
    counts = torch.histc(slopes, bins=10, min=LOWER, max=UPPER)
    share = counts / counts.sum()
    assert torch.all((share - 0.1).abs() < 0.01)
    # independent of position: neighbouring slopes are uncorrelated
    flat = slopes.float()
    corr = torch.corrcoef(torch.stack([flat[:-1], flat[1:]]))[0, 1]
    assert abs(float(corr)) < 0.02


def test_gradient_is_the_saved_slope() -> None:
    x = _input(50, 20).double().requires_grad_()
    torch.manual_seed(3)
    y = rrelu_train_cpu(x, LOWER, UPPER)
    upstream = torch.randn_like(y)
    (y * upstream).sum().backward()
    slope = torch.where(x.detach() > 0, torch.ones_like(y), y.detach() / x.detach())
    slope[x.detach() == 0] = x.grad[x.detach() == 0] / upstream[x.detach() == 0]
    torch.testing.assert_close(x.grad, upstream * slope)
    assert torch.all((slope[x.detach() <= 0] >= LOWER) & (slope[x.detach() <= 0] < UPPER))


def test_reproducible_under_a_torch_seed_and_new_each_call() -> None:
    x = _input()
    torch.manual_seed(7)
    a, b = rrelu_train_cpu(x), rrelu_train_cpu(x)
    torch.manual_seed(7)
    assert torch.equal(rrelu_train_cpu(x), a)
    assert not torch.equal(a, b)


def test_module_modes_and_registry() -> None:
    act = make_activation('rrelu-random')
    assert isinstance(act, RandomizedLeakyReLU) and isinstance(act, nn.RReLU)
    assert type(make_activation('rrelu-random-torch')) is nn.RReLU
    x = _input()
    act.eval()                                        # the mean slope, as nn.RReLU
    torch.testing.assert_close(act(x), nn.functional.leaky_relu(x, (LOWER + UPPER) / 2))
    act.train()
    torch.manual_seed(1)
    y = act(x)
    assert y.shape == x.shape and not torch.equal(y, nn.functional.leaky_relu(x, 0.2292))
    torch.manual_seed(2)                              # in place: torch's own kernel
    ours = RandomizedLeakyReLU(inplace=True)(x.clone())
    torch.manual_seed(2)
    assert torch.equal(ours, nn.RReLU(inplace=True)(x.clone()))


def test_rejects_what_it_cannot_sample() -> None:
    with pytest.raises(ValueError, match='float32 / float64 CPU'):
        rrelu_train_cpu(torch.randn(3, 3).half())
