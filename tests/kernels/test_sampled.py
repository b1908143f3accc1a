"""Sampled negatives: exact at K = N, unbiased denominators (as claimed), biased-down log."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from gcl.errors import GCLDataError
from gcl.kernels import (
    contrastive_loss,
    dense_log_denominators,
    sample_negatives,
    sampled_log_denominators,
)


def _unit(n: int, d: int, seed: int, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    u = scale * F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    v = scale * F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    return u, v


@pytest.mark.parametrize('intra,sym,pos', list(itertools.product([True, False], repeat=3)))
@pytest.mark.parametrize('scale,tau', [(1.0, 0.5), (4.0, 0.05)])   # shifted / logsumexp paths
def test_all_nodes_sampled_is_exact(intra: bool, sym: bool, pos: bool, scale: float,
                                    tau: float) -> None:
    u, v = _unit(17, 4, 0, scale)
    g = torch.Generator().manual_seed(0)
    lw = torch.randn(17, generator=g, dtype=torch.float64)
    groups = torch.randint(0, 3, (2, 17), generator=g)
    for extra in ({}, {'log_weights': lw}, {'groups': groups}):
        ref = dense_log_denominators(u, v, tau, intra_view=intra, symmetric=sym,
                                     positive_in_denominator=pos, **extra)
        out = sampled_log_denominators(u, v, tau, 17, intra_view=intra, symmetric=sym,
                                       positive_in_denominator=pos, block_size=5, **extra)
        assert_close(out[0], ref[0], rtol=1e-9, atol=1e-9)
        if sym:
            assert_close(out[1], ref[1], rtol=1e-9, atol=1e-9)
        else:
            assert out[1] is None


@pytest.mark.parametrize('weighted', [False, True])
def test_sampled_denominator_is_unbiased(weighted: bool) -> None:
    """E[exp(lse_sampled)] = exp(lse_exact) for every anchor: each mean over T draws lies
    within 5 standard errors of the exact denominator."""
    n, k, draws = 30, 6, 3000
    u, v = _unit(n, 5, 1)
    lw = torch.linspace(-1.0, 1.0, n, dtype=torch.float64) if weighted else None
    exact = dense_log_denominators(u, v, 0.5, log_weights=lw)[0].exp()
    g = torch.Generator().manual_seed(7)
    samples = torch.stack([
        sampled_log_denominators(u, v, 0.5, k, log_weights=lw, symmetric=False,
                                 generator=g)[0].exp() for _ in range(draws)])   # [T, N]
    mean, stderr = samples.mean(0), samples.std(0) / draws ** 0.5
    assert bool(((mean - exact).abs() <= 5 * stderr + 1e-12).all())
    assert bool((samples.std(0) > 0).all())            # it is a random estimate, not exact


def test_sampled_loss_is_biased_down_and_converges() -> None:
    """Jensen: E[log Z_hat] <= log Z, so the sampled loss underestimates the exact one on
    average; the gap shrinks as K grows."""
    g0 = torch.Generator().manual_seed(0)
    h1 = torch.randn(40, 6, generator=g0, dtype=torch.float64)
    h2 = h1 + 0.3 * torch.randn(40, 6, generator=g0, dtype=torch.float64)
    exact = contrastive_loss(h1, h2, 0.5, mode='dense')
    gaps = []
    for k in (4, 16):
        g = torch.Generator().manual_seed(1)
        mean = torch.stack([contrastive_loss(h1, h2, 0.5, mode='sampled', num_negatives=k,
                                             generator=g) for _ in range(400)]).mean()
        gaps.append(float(exact - mean))
    assert gaps[0] > 0 and gaps[1] > 0
    assert gaps[1] < gaps[0]


def test_sampled_gradients_checkpointed_equal_plain() -> None:
    u0, v0 = _unit(50, 4, 3)
    negatives = sample_negatives(50, 9, generator=torch.Generator().manual_seed(0))
    grads = []
    for block in (50, 7):
        u = u0.clone().requires_grad_()
        v = v0.clone().requires_grad_()
        l1, l2 = sampled_log_denominators(u, v, 0.5, 9, negatives=negatives, block_size=block)
        (l1.sum() + l2.sum()).backward()
        grads.append((u.grad, v.grad))
    assert_close(grads[0][0], grads[1][0])
    assert_close(grads[0][1], grads[1][1])


def test_sampled_reproducible_and_validated() -> None:
    u, v = _unit(20, 3, 0)
    a = sampled_log_denominators(u, v, 0.5, 5, generator=torch.Generator().manual_seed(3))
    b = sampled_log_denominators(u, v, 0.5, 5, generator=torch.Generator().manual_seed(3))
    assert_close(a[0], b[0])
    assert sample_negatives(10, 50).numel() == 10
    assert sample_negatives(10, 4).unique().numel() == 4
    with pytest.raises(GCLDataError, match='num_negatives'):
        sampled_log_denominators(u, v, 0.5, 0)


@pytest.mark.parametrize('weighted', [False, True])
def test_all_nodes_sampled_gradients_equal_dense(weighted: bool) -> None:
    g = torch.Generator().manual_seed(4)
    h1 = torch.randn(23, 5, generator=g, dtype=torch.float64, requires_grad=True)
    h2 = torch.randn(23, 5, generator=g, dtype=torch.float64, requires_grad=True)
    lw = torch.randn(23, generator=g, dtype=torch.float64) if weighted else None
    grads = []
    for mode in ('dense', 'sampled'):
        loss = contrastive_loss(h1, h2, 0.4, mode=mode, num_negatives=23, block_size=6,
                                log_weights=lw)
        grads.append(torch.autograd.grad(loss, (h1, h2)))
    for a, b in zip(*grads):
        assert_close(b, a, rtol=1e-6, atol=1e-6)
