"""DCL / DCLW (ALGORITHMS.md §6.1): the formula, every kernel, registration, GRACE training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from gcl.config import load_config
from gcl.errors import GCLConfigError
from gcl.losses import DCL, DCLW, dcl_loss
from gcl.losses.dcl import dclw_weights
from gcl.registry import resolve


def _views(n: int = 31, d: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    h1 = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    h2 = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    return h1, h2


def _reference(h1: torch.Tensor, h2: torch.Tensor, tau: float,
               weights: torch.Tensor | None = None) -> torch.Tensor:
    """lightly / Decoupled-Contrastive-Learning form: -pos + logsumexp([z1 z1^T, z1 z2^T]),
    both diagonals masked with log(1e-45); symmetrised as GRACE does."""
    def one(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
        cross, same = a @ b.T / tau, a @ a.T / tau
        pos = cross.diagonal()
        if weights is not None:
            pos = pos * weights
        mask = torch.eye(a.size(0), dtype=torch.bool) * torch.log(torch.tensor(1e-45))
        neg = torch.logsumexp(torch.cat([same + mask, cross + mask], dim=1), dim=1)
        return (-pos + neg).mean()

    return 0.5 * (one(h1, h2) + one(h2, h1))


@pytest.mark.parametrize('mode,batch', [('dense', None), ('blockwise', 7), ('auto', None)])
def test_dcl_matches_reference_formula(mode: str, batch: int | None) -> None:
    h1, h2 = _views()
    ref = _reference(h1, h2, 0.4)
    out = DCL(tau=0.4, mode=mode, batch_size=batch)(h1, h2)
    assert_close(out, ref, rtol=1e-6, atol=1e-6)
    ga = torch.autograd.grad(ref, (h1, h2))
    gb = torch.autograd.grad(out, (h1, h2))
    for a, b in zip(ga, gb):
        assert_close(b, a, rtol=1e-6, atol=1e-6)


def test_dclw_weights_and_formula() -> None:
    h1, h2 = _views(seed=1)
    w = dclw_weights(h1, h2, sigma=0.5)
    assert not w.requires_grad
    assert_close(w.mean(), torch.tensor(1.0, dtype=w.dtype))
    cos = (F.normalize(h1, dim=1) * F.normalize(h2, dim=1)).sum(1).detach()
    assert_close(w, 2 - h1.size(0) * torch.softmax(cos / 0.5, dim=0))
    ref = _reference(h1, h2, 0.5, weights=w)
    for mode in ('dense', 'blockwise'):
        assert_close(DCLW(tau=0.5, mode=mode, batch_size=9)(h1, h2), ref, rtol=1e-6, atol=1e-6)


def test_dcl_differs_from_infonce_by_the_positive_only() -> None:
    """With the positive added back to the denominator, DCL's value is InfoNCE's."""
    from gcl.losses import info_nce

    h1, h2 = _views(seed=2)
    dcl = dcl_loss(h1, h2, 0.5, mode='dense')
    assert float(dcl.detach()) < float(info_nce(h1, h2, 0.5, mode='dense').detach())


def test_sampled_mode_and_registration() -> None:
    h1, h2 = _views(seed=3)
    exact = DCL(tau=0.5, mode='dense')(h1, h2)
    full = DCL(tau=0.5, mode='sampled', num_negatives=31)(h1, h2)
    assert_close(full, exact, rtol=1e-6, atol=1e-6)     # K = N: every node, exact
    assert resolve('loss', 'dcl') is DCL
    assert resolve('loss', 'DCLW') is DCLW
    with pytest.raises(GCLConfigError, match='sigma'):
        DCLW(sigma=0.0)
    with pytest.raises(GCLConfigError, match='mode'):
        DCL(mode='approx')
    with pytest.raises(GCLConfigError, match='num_negatives'):   # the check InfoNCE makes
        DCLW(mode='sampled')


def test_grace_trains_with_dcl() -> None:
    """``gcl train --method grace --loss dcl`` resolves to DCL and trains."""
    from torch_geometric.data import Data
    from torch_geometric.utils import stochastic_blockmodel_graph

    from gcl.methods import GRACE

    config = load_config('grace', 'cora', overrides={'loss.name': 'dcl', 'optim.epochs': 3})
    torch.manual_seed(0)
    edge_index = stochastic_blockmodel_graph([30, 30], [[0.2, 0.02], [0.02, 0.2]])
    data = Data(x=torch.rand(60, 8), edge_index=edge_index, y=torch.arange(60) // 30)
    method = GRACE(config).fit(data)
    assert isinstance(method.model_.loss, DCL)
    assert all(torch.isfinite(torch.tensor(h['loss'])) for h in method.history_)
    sampled = load_config('grace', 'cora', overrides={'loss.name': 'dclw', 'loss.mode': 'sampled',
                                                      'loss.num_negatives': 16})
    assert sampled['loss']['num_negatives'] == 16
