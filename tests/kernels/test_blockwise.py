"""The blockwise exact kernel equals the dense reference: loss and gradients, float64, 1e-6."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.testing import assert_close

from gcl.errors import GCLConfigError, GCLDataError
from gcl.kernels import blockwise as bw
from gcl.kernels import (
    blockwise_log_denominators,
    choose_mode,
    contrastive_loss,
    default_block_size,
    dense_log_denominators,
)
from gcl.losses import InfoNCE, info_nce

TOL = dict(rtol=1e-6, atol=1e-6)


def _inputs(n: int, d: int, seed: int, scale: float = 1.0, weights: bool = False,
            groups: bool = False) -> dict:
    g = torch.Generator().manual_seed(seed)
    h1 = (scale * torch.randn(n, d, generator=g, dtype=torch.float64)).requires_grad_()
    h2 = (scale * torch.randn(n, d, generator=g, dtype=torch.float64)).requires_grad_()
    lw = torch.randn(n, generator=g, dtype=torch.float64).requires_grad_() if weights else None
    gr = torch.randint(0, 3, (2, n), generator=g) if groups else None
    return {'h1': h1, 'h2': h2, 'log_weights': lw, 'groups': gr}


def _loss_and_grads(mode: str, inp: dict, block: int | None, tau: float, normalize: bool = True,
                    **switches: object) -> tuple[torch.Tensor, list[torch.Tensor]]:
    loss = contrastive_loss(inp['h1'], inp['h2'], tau, mode=mode, block_size=block,
                            log_weights=inp['log_weights'], groups=inp['groups'],
                            normalize=normalize, **switches)
    leaves = [inp['h1'], inp['h2']] + ([inp['log_weights']] if inp['log_weights'] is not None
                                       else [])
    return loss, list(torch.autograd.grad(loss, leaves))


SWITCHES = [dict(intra_view=i, symmetric=s, positive_in_denominator=p)
            for i, s, p in itertools.product([True, False], repeat=3)]


@pytest.mark.parametrize('n,block', [(6, 4), (37, 8), (64, 64), (101, 33)])
@pytest.mark.parametrize('switches', SWITCHES)
def test_blockwise_matches_dense_all_switches(n: int, block: int, switches: dict) -> None:
    for seed in (0, 1):
        inp = _inputs(n, 5, seed)
        ref, ref_grads = _loss_and_grads('dense', inp, None, 0.4, **switches)
        out, grads = _loss_and_grads('blockwise', inp, block, 0.4, **switches)
        assert_close(out, ref, **TOL)
        for a, b in zip(grads, ref_grads):
            assert_close(a, b, **TOL)


@pytest.mark.parametrize('weights,groups', [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize('n,block', [(23, 5), (50, 50)])
def test_blockwise_weighted_matches_dense(weights: bool, groups: bool, n: int, block: int) -> None:
    """Team-up candidate weights (with their gradient) and MEOW pairwise weights."""
    for switches in (SWITCHES[0], SWITCHES[5]):
        inp = _inputs(n, 4, 3, weights=weights, groups=groups)
        ref, ref_grads = _loss_and_grads('dense', inp, None, 0.5, **switches)
        out, grads = _loss_and_grads('blockwise', inp, block, 0.5, **switches)
        assert_close(out, ref, **TOL)
        for a, b in zip(grads, ref_grads):
            assert_close(a, b, **TOL)


def test_stable_path_for_wide_logits() -> None:
    """Unnormalised inputs and a small tau exceed the fixed-shift range: the max-subtracting
    path runs and still matches dense."""
    inp = _inputs(40, 6, 2, scale=3.0, weights=True)
    u, v = inp['h1'], inp['h2']
    assert bw._fixed_shift(u, v, inp['log_weights'], None, 0.05) is None
    for switches in SWITCHES:
        ref, ref_grads = _loss_and_grads('dense', inp, None, 0.05, normalize=False, **switches)
        out, grads = _loss_and_grads('blockwise', inp, 7, 0.05, normalize=False, **switches)
        assert_close(out, ref, rtol=1e-9, atol=1e-9)
        for a, b in zip(grads, ref_grads):
            assert_close(a, b, rtol=1e-9, atol=1e-6)


def test_positive_weight_dclw_form() -> None:
    inp = _inputs(30, 4, 5)
    pw = torch.rand(30, dtype=torch.float64)
    a = contrastive_loss(inp['h1'], inp['h2'], 0.3, mode='dense', positive_weight=pw,
                         positive_in_denominator=False)
    b = contrastive_loss(inp['h1'], inp['h2'], 0.3, mode='blockwise', positive_weight=pw,
                         positive_in_denominator=False, block_size=7)
    assert_close(a, b, **TOL)


def test_log_denominators_agree_directly() -> None:
    g = torch.Generator().manual_seed(0)
    u = torch.nn.functional.normalize(torch.randn(19, 3, generator=g, dtype=torch.float64), dim=1)
    v = torch.nn.functional.normalize(torch.randn(19, 3, generator=g, dtype=torch.float64), dim=1)
    d1, d2 = dense_log_denominators(u, v, 0.5)
    b1, b2 = blockwise_log_denominators(u, v, 0.5, block_size=4)
    assert_close(b1, d1, **TOL)
    assert_close(b2, d2, **TOL)
    _, none = blockwise_log_denominators(u, v, 0.5, symmetric=False, block_size=4)
    assert none is None


def test_gradcheck_small() -> None:
    g = torch.Generator().manual_seed(0)
    u = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    lw = torch.randn(6, generator=g, dtype=torch.float64, requires_grad=True)

    def fn(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        l1, l2 = blockwise_log_denominators(a, b, 0.7, log_weights=w, block_size=4)
        return l1.sum() + 2 * l2.sum()

    assert torch.autograd.gradcheck(fn, (u, v, lw))


def test_info_nce_modes_equal_and_default_unchanged() -> None:
    """``info_nce``'s value does not depend on the kernel; batch_size is the block size."""
    g = torch.Generator().manual_seed(0)
    h1 = torch.randn(45, 8, generator=g, dtype=torch.float64)
    h2 = torch.randn(45, 8, generator=g, dtype=torch.float64)
    ref = info_nce(h1, h2, 0.4, mode='dense')
    for kwargs in ({}, {'mode': 'blockwise'}, {'batch_size': 16}, {'mode': 'dense',
                                                                    'batch_size': 10}):
        assert_close(info_nce(h1, h2, 0.4, **kwargs), ref, **TOL)
    for intra, sym in itertools.product([True, False], repeat=2):
        a = info_nce(h1, h2, 0.4, intra_view=intra, symmetric=sym, mode='dense')
        b = info_nce(h1, h2, 0.4, intra_view=intra, symmetric=sym, mode='blockwise',
                     batch_size=7)
        assert_close(a, b, **TOL)
    assert InfoNCE().mode == 'auto' and InfoNCE().tau == 0.5 and InfoNCE().batch_size is None


def test_mode_errors() -> None:
    h = torch.randn(5, 3)
    with pytest.raises(GCLConfigError, match='unknown loss mode'):
        contrastive_loss(h, h, mode='fast')
    with pytest.raises(GCLConfigError, match='num_negatives'):
        contrastive_loss(h, h, mode='sampled')
    with pytest.raises(GCLConfigError, match='num_negatives'):
        InfoNCE(mode='sampled')
    with pytest.raises(GCLDataError, match='at least 2 nodes'):
        blockwise_log_denominators(h[:1], h[:1], 0.5)
    with pytest.raises(GCLDataError, match='same'):
        contrastive_loss(h, h[:4])


def test_choose_mode_and_block_size() -> None:
    assert choose_mode(100) == 'dense'
    assert choose_mode(1_000_000) == 'blockwise'
    assert choose_mode(5000, max_dense_nodes=10_000, memory_fraction=1e-9) == 'blockwise'
    assert default_block_size(10) == 10
    assert 64 <= default_block_size(1_000_000) <= 1_000_000
