"""InfoNCE against a hand-computed value and GRACE's own formulation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gcl.errors import GCLDataError
from gcl.losses import InfoNCE, info_nce
from gcl.registry import resolve


def _grace_reference(h1, h2, tau):
    """GRACE/model.py semi_loss, written with exp as the official code does."""
    def semi(z1, z2):
        z1, z2 = F.normalize(z1), F.normalize(z2)
        refl, between = torch.exp(z1 @ z1.T / tau), torch.exp(z1 @ z2.T / tau)
        return -torch.log(between.diag() / (refl.sum(1) + between.sum(1) - refl.diag()))
    return 0.5 * (semi(h1, h2) + semi(h2, h1)).mean()


def test_three_nodes_by_hand():
    # Unit vectors on the axes: every cross-node cosine is 0, every positive pair cosine is 1.
    h = torch.eye(3, dtype=torch.float64)
    tau = 0.5
    # denominator per anchor: e^{1/tau} (positive) + 2 e^0 (inter) + 2 e^0 (intra)
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + 4.0))
    assert info_nce(h, h.clone(), tau).item() == pytest.approx(expected, abs=1e-12)
    # without intra-view negatives only two e^0 terms remain
    expected_inter = -math.log(math.exp(2.0) / (math.exp(2.0) + 2.0))
    assert info_nce(h, h, tau, intra_view=False).item() == pytest.approx(expected_inter, abs=1e-12)


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('batch_size', [None, 3, 7])
def test_matches_grace_reference_and_blocks(seed, batch_size):
    torch.manual_seed(seed)
    h1 = torch.randn(10, 4, dtype=torch.float64, requires_grad=True)
    h2 = torch.randn(10, 4, dtype=torch.float64, requires_grad=True)
    ours = info_nce(h1, h2, 0.4, batch_size=batch_size)
    ref = _grace_reference(h1, h2, 0.4)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)
    g_ours = torch.autograd.grad(ours, (h1, h2))
    g_ref = torch.autograd.grad(_grace_reference(h1, h2, 0.4), (h1, h2))
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


def test_one_directional_is_row_term_only():
    torch.manual_seed(0)
    h1, h2 = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    both = info_nce(h1, h2, 0.5)
    forward = info_nce(h1, h2, 0.5, symmetric=False)
    backward = info_nce(h2, h1, 0.5, symmetric=False)
    torch.testing.assert_close(both, 0.5 * (forward + backward))


def test_gradcheck_small():
    torch.manual_seed(0)
    h1 = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    h2 = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: info_nce(a, b, 0.5, batch_size=4), (h1, h2))


def test_module_registry_and_errors():
    assert resolve('loss', 'Info-NCE') is InfoNCE
    assert resolve('loss', 'grace') is InfoNCE
    with pytest.raises(GCLDataError, match='same'):
        info_nce(torch.ones(3, 2), torch.ones(4, 2))
    with pytest.raises(GCLDataError, match='tau'):
        info_nce(torch.ones(3, 2), torch.ones(3, 2), tau=0.0)
