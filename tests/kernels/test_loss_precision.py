"""train.loss_precision / gcl.kernels.gemm.loss_precision: the loss kernels' products in bfloat16
stay close to float32 (values and gradients), are really taken, leave other products exact, and
a bad name is refused."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from gcl.errors import GCLConfigError
from gcl.kernels import blockwise_log_denominators, dense_log_denominators, gemm
from gcl.methods import get_method


def _views(n: int = 300, d: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    u = F.normalize(torch.randn(n, d, generator=g), dim=1)
    v = F.normalize(u + 0.5 * torch.randn(n, d, generator=g), dim=1)
    return u, v


def _run(kernel, precision: str, **kwargs) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    u0, v0 = _views()
    u, v = u0.clone().requires_grad_(), v0.clone().requires_grad_()
    weights = torch.linspace(-0.5, 0.5, u.size(0))
    with gemm.loss_precision(precision):
        out = kernel(u, v, 0.5, log_weights=weights, **kwargs)
        sum(o.square().sum() for o in out).backward()     # a non-uniform upstream gradient
    return [o.detach() for o in out], u.grad, v.grad


def _blockwise(*args, **kwargs):
    return blockwise_log_denominators(*args, block_size=64, **kwargs)   # several blocks


@pytest.mark.parametrize('kernel', [pytest.param(_blockwise, id='blockwise'),
                                    pytest.param(dense_log_denominators, id='dense')])
def test_bfloat16_products_stay_close_and_are_taken(kernel) -> None:
    exact = _run(kernel, 'float32')
    low = _run(kernel, 'bfloat16')
    for a, b in zip(exact[0], low[0]):
        assert_close(b, a, rtol=0, atol=2e-2)              # log-denominators of about 6
        assert not torch.equal(a, b)                        # the bfloat16 path really ran
    for ga, gb in zip(exact[1:], low[1:]):
        assert (gb - ga).norm() / ga.norm() < 2e-2
        assert not torch.equal(ga, gb)


def test_only_the_loss_products_are_lowered() -> None:
    a, b = torch.randn(40, 16), torch.randn(16, 30)
    with gemm.loss_precision('bfloat16'):
        plain = gemm.gemm_mm(a, b)                          # an encoder's product: float32
        assert_close(plain, a @ b, rtol=1e-6, atol=1e-5)
        low = gemm.gemm_mm(a, b, allow_bf16=True)
        assert not torch.equal(low, plain)
        assert low.dtype == torch.float32
        assert torch.equal(low, (a.bfloat16() @ b.bfloat16()).float())
        c = torch.zeros(40, 30)
        gemm.gemm_addmm_(c, a, b, 2.0, allow_bf16=True)
        assert_close(c, 2 * low)
    # outside the block everything is float32 again
    assert not torch.equal(gemm.gemm_mm(a, b, allow_bf16=True), low)


def test_kept_casts_follow_in_place_changes() -> None:
    """The bfloat16 copy of a big operand is reused while it is unchanged, and re-made after an
    in-place change (the version counter moves)."""
    a, b = torch.randn(8, 64), torch.randn(64, 5000)        # b: 320,000 elements, kept
    with gemm.loss_precision('bfloat16'):
        first = gemm.gemm_mm(a, b, allow_bf16=True)
        b.mul_(-1)
        second = gemm.gemm_mm(a, b, allow_bf16=True)
    assert torch.equal(second, -first)


def test_slices_and_transposes_of_a_kept_operand_read_the_right_elements() -> None:
    """Views of one big matrix (the kernel's ``x[start:]``, ``v.T``) share its bfloat16 copy."""
    x = torch.randn(5000, 64)                              # 320,000 elements: kept
    a, c = torch.randn(8, 64), torch.randn(8, 4900)
    with gemm.loss_precision('bfloat16'):
        whole = gemm.gemm_mm(a, x.T, allow_bf16=True)
        tail = gemm.gemm_mm(c, x[100:], allow_bf16=True)    # a row slice, offset storage
        part = gemm.gemm_mm(a, x[100:].T, allow_bf16=True)
    assert torch.equal(whole, (a.bfloat16() @ x.T.bfloat16()).float())
    assert torch.equal(tail, (c.bfloat16() @ x[100:].bfloat16()).float())
    assert torch.equal(part, whole[:, 100:])


def test_method_option_is_checked_and_trains(sbm_graph) -> None:
    with pytest.raises(GCLConfigError, match='loss_precision'):
        get_method('grace')(hidden=8, epochs=1, loss_precision='fp8').fit(sbm_graph)
    blockwise = {'loss': {'mode': 'blockwise'}}
    exact = get_method('grace')(blockwise, hidden=8, epochs=3,
                                random_state=0).fit(sbm_graph, device='cpu')
    low = get_method('grace')(blockwise, hidden=8, epochs=3, random_state=0,
                              loss_precision='bfloat16').fit(sbm_graph, device='cpu')
    losses = [h['loss'] for h in exact.history_], [h['loss'] for h in low.history_]
    assert losses[0] != losses[1]
    assert_close(torch.tensor(losses[1]), torch.tensor(losses[0]), rtol=1e-2, atol=0)
