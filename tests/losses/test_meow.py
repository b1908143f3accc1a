"""MEOW-style cluster-weighted negatives (ALGORITHMS.md §6.2): weights, formula, kernels."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from gcl.errors import GCLConfigError
from gcl.kernels import pair_log_weights
from gcl.losses import ClusterWeightedInfoNCE
from gcl.losses.meow import cluster_assignments
from gcl.registry import resolve


def test_pair_weights_count_separating_clusterings() -> None:
    groups = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 2]])                  # M = 2, N = 4
    w = pair_log_weights(groups, groups, torch.float64).exp()
    expected = torch.tensor([[0, 1, 2, 2], [1, 0, 1, 2], [2, 1, 0, 1], [2, 2, 1, 0]],
                            dtype=torch.float64)
    assert_close(w, expected)


def _reference(h1: torch.Tensor, h2: torch.Tensor, groups: torch.Tensor, tau: float,
               intra_view: bool) -> torch.Tensor:
    """The formula of §6.2, written out: -log(e^{s_ii} / sum_j w_ij e^{s_ij} [+ intra])."""
    w = pair_log_weights(groups, groups, h1.dtype).exp()                  # [N, N]

    def one(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
        cross, same = torch.exp(a @ b.T / tau), torch.exp(a @ a.T / tau)
        den = (w * cross).sum(1)
        if intra_view:
            den = den + (w * same).sum(1)       # w_ii = 0 drops the anchor itself
        return -(torch.log(cross.diagonal()) - torch.log(den)).mean()

    return 0.5 * (one(h1, h2) + one(h2, h1))


@pytest.mark.parametrize('intra_view', [True, False])
@pytest.mark.parametrize('mode', ['dense', 'blockwise'])
def test_loss_matches_formula(intra_view: bool, mode: str) -> None:
    g = torch.Generator().manual_seed(0)
    h1 = torch.randn(40, 5, generator=g, dtype=torch.float64, requires_grad=True)
    h2 = torch.randn(40, 5, generator=g, dtype=torch.float64, requires_grad=True)
    loss = ClusterWeightedInfoNCE(tau=0.5, num_clusters=[3, 7], intra_view=intra_view, mode=mode,
                                  batch_size=9)
    out = loss(h1, h2)
    assert loss.groups_.shape == (2, 40)
    ref = _reference(h1, h2, loss.groups_, 0.5, intra_view)
    assert_close(out, ref, rtol=1e-6, atol=1e-6)
    ga, gb = torch.autograd.grad(ref, (h1, h2)), torch.autograd.grad(out, (h1, h2))
    for a, b in zip(ga, gb):
        assert_close(b, a, rtol=1e-6, atol=1e-6)


def test_clustering_runs_and_recluster_schedule() -> None:
    g = torch.Generator().manual_seed(1)
    h = torch.randn(30, 4, generator=g)
    groups = cluster_assignments(h, [2, 5, 100], random_state=0)
    assert groups.shape == (3, 30)
    assert int(groups[2].max()) < 29                                     # K clamped to N - 1
    assert torch.equal(groups, cluster_assignments(h, [2, 5, 100], random_state=0))
    loss = ClusterWeightedInfoNCE(num_clusters=[3], recluster_every=2)
    loss(h, h.flip(0))
    first = loss.groups_
    loss(h, h)
    assert loss.groups_ is first                                         # kept for one call
    loss(h, h)
    assert loss.groups_ is not first


def test_registration_and_errors() -> None:
    assert resolve('loss', 'meow') is ClusterWeightedInfoNCE
    assert resolve('loss', 'cluster_weighted') is ClusterWeightedInfoNCE
    with pytest.raises(GCLConfigError, match='num_clusters'):
        ClusterWeightedInfoNCE(num_clusters=[1])
    with pytest.raises(GCLConfigError, match='recluster_every'):
        ClusterWeightedInfoNCE(recluster_every=0)
    with pytest.raises(GCLConfigError, match='mode'):
        ClusterWeightedInfoNCE(mode='approx')
    with pytest.raises(GCLConfigError, match='num_negatives'):
        ClusterWeightedInfoNCE(mode='sampled')
    from gcl.config import load_config

    config = load_config('grace', 'cora', overrides={'loss.name': 'meow',
                                                     'loss.num_clusters': [20, 50]})
    assert config['loss']['num_clusters'] == [20, 50]
