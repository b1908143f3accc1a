"""The blockwise kernel's exp cache: same numbers as recomputing, safe when the buffer is shared."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from gcl.kernels import blockwise_log_denominators, dense_log_denominators
from gcl.kernels import exp_cache as ec

SWITCHES = [dict(intra_view=i, symmetric=s, positive_in_denominator=p)
            for i, s, p in itertools.product([True, False], repeat=3)]


@pytest.fixture(autouse=True)
def _fresh_pool():
    ec.release_exp_cache()
    yield
    ec.release_exp_cache()


def _views(n: int, seed: int, weights: bool = False, groups: bool = False) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {'u': torch.randn(n, 6, generator=g, dtype=torch.float64),
            'v': torch.randn(n, 6, generator=g, dtype=torch.float64),
            'lw': torch.randn(n, generator=g, dtype=torch.float64) if weights else None,
            'groups': torch.randint(0, 3, (2, n), generator=g) if groups else None}


def _run(inp: dict, kernel=blockwise_log_denominators, **kw: object):
    """Log-denominators and the gradients of a fixed weighting of them w.r.t. u, v (and lw)."""
    u = inp['u'].clone().requires_grad_()
    v = inp['v'].clone().requires_grad_()
    lw = inp['lw'].clone().requires_grad_() if inp['lw'] is not None else None
    lse1, lse2 = kernel(F.normalize(u, dim=1), F.normalize(v, dim=1), 0.4, log_weights=lw,
                        groups=inp['groups'], **kw)
    loss = 1.3 * lse1.sum() + (0.7 * lse2.sum() if lse2 is not None else 0.0)
    leaves = [u, v] + ([lw] if lw is not None else [])
    return [lse1.detach()] + list(torch.autograd.grad(loss, leaves))


@pytest.mark.parametrize('switches', SWITCHES)
@pytest.mark.parametrize('weights,groups', [(False, False), (True, False), (False, True)])
def test_cached_equals_recomputed_bitwise_and_dense(switches: dict, weights: bool,
                                                   groups: bool) -> None:
    inp = _views(53, 0, weights, groups)
    recomputed = _run(inp, block_size=16, cache=False, **switches)
    assert ec.exp_cache_bytes() == 0
    cached = _run(inp, block_size=16, cache=True, **switches)
    assert ec.exp_cache_bytes() > 0
    for a, b in zip(cached, recomputed):
        assert torch.equal(a, b)
    dense = _run(inp, dense_log_denominators, **switches)
    for a, b in zip(cached, dense):
        assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_layout_size_is_about_two_n_squared() -> None:
    n, block = 1000, 256
    layout = ec.ExpLayout(n, range(0, n, block), block, intra_view=True, symmetric=True)
    expected = n * n + 2 * sum((min(s + block, n) - s) * (n - s) for s in range(0, n, block))
    assert layout.numel == expected
    assert 2 * n * n <= layout.numel <= 2 * n * n + 2 * n * block
    gcool = ec.ExpLayout(n, range(0, n, block), block, intra_view=False, symmetric=True)
    assert gcool.numel == n * n


def test_two_forwards_before_backward_stay_exact() -> None:
    """The second forward takes the buffer; the first backward must notice and recompute."""
    a, b = _views(40, 1), _views(40, 2)
    ref_a = _run(a, block_size=8, cache=False)
    ref_b = _run(b, block_size=8, cache=False)
    leaves, losses = [], []
    for inp in (a, b):
        u = inp['u'].clone().requires_grad_()
        v = inp['v'].clone().requires_grad_()
        l1, l2 = blockwise_log_denominators(F.normalize(u, dim=1), F.normalize(v, dim=1), 0.4,
                                            block_size=8, cache=True)
        leaves.append((u, v))
        losses.append(1.3 * l1.sum() + 0.7 * l2.sum())
    (losses[0] + losses[1]).backward()
    for (u, v), ref in zip(leaves, (ref_a, ref_b)):
        assert torch.equal(u.grad, ref[1])
        assert torch.equal(v.grad, ref[2])


def test_retain_graph_second_backward_reads_unchanged_blocks() -> None:
    inp = _views(30, 3)
    u = inp['u'].clone().requires_grad_()
    v = inp['v'].clone().requires_grad_()
    l1, l2 = blockwise_log_denominators(F.normalize(u, dim=1), F.normalize(v, dim=1), 0.4,
                                        block_size=8, cache=True)
    loss = l1.sum() + l2.sum()
    first = torch.autograd.grad(loss, [u, v], retain_graph=True)
    second = torch.autograd.grad(loss, [u, v])
    for x, y in zip(first, second):
        assert torch.equal(x, y)


def test_auto_cache_respects_the_memory_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    inp = _views(50, 4)
    monkeypatch.setattr(ec, 'available_memory', lambda device=None: 1024)   # 1 KB free
    small = _run(inp, block_size=16)                # cache=None: does not fit, recomputes
    assert ec.exp_cache_bytes() == 0
    forced = _run(inp, block_size=16, cache=True)   # True skips the check
    assert ec.exp_cache_bytes() > 0
    for x, y in zip(small, forced):
        assert torch.equal(x, y)


def test_buffer_is_reused_and_grows_only_when_needed() -> None:
    _run(_views(60, 5), block_size=16, cache=True)
    held = ec.exp_cache_bytes()
    buffer = ec._pool()[('cpu', torch.float64)][0]
    _run(_views(30, 6), block_size=16, cache=True)     # smaller: same buffer
    assert ec._pool()[('cpu', torch.float64)][0] is buffer
    _run(_views(90, 7), block_size=16, cache=True)     # larger: replaced by a larger one
    assert ec.exp_cache_bytes() > held
    ec.release_exp_cache()
    assert ec.exp_cache_bytes() == 0


def test_fit_releases_the_buffer(sbm_graph) -> None:
    """A trained method leaves no exp buffer behind (it can be gigabytes)."""
    from gcl.methods import get_method

    method = get_method('grace')(hidden=8, epochs=2, mode='blockwise', random_state=0)
    seen = []
    original = ec.claim_exp_cache

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        out = original(*args, **kwargs)
        seen.append(out is not None)
        return out

    ec_claim = 'gcl.kernels.blockwise.claim_exp_cache'
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ec_claim, spy)
        method.fit(sbm_graph)
    assert seen and all(seen)          # the blockwise loss used the buffer in training
    assert ec.exp_cache_bytes() == 0   # and fit released it


def _count_exp_blocks(monkeypatch: pytest.MonkeyPatch) -> list:
    """Count the exp blocks the kernel computes (a cached backward computes none)."""
    from gcl.kernels import blockwise as bw

    calls = []
    original = bw._exp_block

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(bw, '_exp_block', counting)
    return calls


def test_backward_on_another_thread_reads_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Autograd runs CUDA backward passes on its own thread: the handle must still work there."""
    import threading

    inp = _views(40, 8)
    ref = _run(inp, block_size=8, cache=False)
    calls = _count_exp_blocks(monkeypatch)
    u = inp['u'].clone().requires_grad_()
    v = inp['v'].clone().requires_grad_()
    l1, l2 = blockwise_log_denominators(F.normalize(u, dim=1), F.normalize(v, dim=1), 0.4,
                                        block_size=8, cache=True)
    forward_blocks = len(calls)
    loss = 1.3 * l1.sum() + 0.7 * l2.sum()
    out = {}
    worker = threading.Thread(target=lambda: out.update(g=torch.autograd.grad(loss, [u, v])))
    worker.start()
    worker.join()
    assert len(calls) == forward_blocks            # no block recomputed in the backward
    assert torch.equal(out['g'][0], ref[1]) and torch.equal(out['g'][1], ref[2])


@pytest.mark.parametrize('event', ['release', 'grow'])
def test_backward_after_the_buffer_is_gone_recomputes(event: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    inp = _views(40, 9)
    ref = _run(inp, block_size=8, cache=False)
    u = inp['u'].clone().requires_grad_()
    v = inp['v'].clone().requires_grad_()
    l1, l2 = blockwise_log_denominators(F.normalize(u, dim=1), F.normalize(v, dim=1), 0.4,
                                        block_size=8, cache=True)
    if event == 'release':
        ec.release_exp_cache()
    else:                                           # a larger forward replaces the buffer
        _run(_views(80, 10), block_size=8, cache=True)
    calls = _count_exp_blocks(monkeypatch)
    grads = torch.autograd.grad(1.3 * l1.sum() + 0.7 * l2.sum(), [u, v])
    assert len(calls) > 0                           # recomputed
    assert torch.equal(grads[0], ref[1]) and torch.equal(grads[1], ref[2])
