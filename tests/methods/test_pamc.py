"""PamC and SCGC* as methods (ALGORITHMS.md §5): graph, DEC pieces, training, protocols."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from gcl.config import load_config
from gcl.data.synthetic import synthetic_sbm
from gcl.errors import GCLConfigError
from gcl.methods import SCGC, PamC, get_method
from gcl.methods.pamc import influence_positives, soft_assignment, target_distribution


def _dense(index: torch.Tensor, value: torch.Tensor, n: int) -> torch.Tensor:
    out = torch.zeros(n, n, dtype=torch.float64)
    out[index[0], index[1]] = value.double()
    return out


def test_influence_positives_are_powers_of_row_normalised_adjacency() -> None:
    edge_index = torch.tensor([[0, 1, 1, 2, 3], [1, 0, 2, 1, 4]])           # 3-4 one way only
    a = torch.zeros(5, 5, dtype=torch.float64)
    a[edge_index[0], edge_index[1]] = 1
    a = ((a + a.T) > 0).double() + torch.eye(5, dtype=torch.float64)
    hat = a / a.sum(1, keepdim=True)
    assert_close(_dense(*influence_positives(edge_index, 5, 1), 5), hat, rtol=1e-6, atol=1e-6)
    assert_close(_dense(*influence_positives(edge_index, 5, 3), 5), hat + hat @ hat
                 + hat @ hat @ hat, rtol=1e-6, atol=1e-6)
    with pytest.raises(GCLConfigError, match='order'):
        influence_positives(edge_index, 5, 0)


def test_dec_assignment_and_target() -> None:
    g = torch.Generator().manual_seed(0)
    z, mu = torch.randn(20, 3, generator=g), torch.randn(4, 3, generator=g)
    q = soft_assignment(z, mu, 1.0)
    assert_close(q.sum(1), torch.ones(20))
    ref = 1 / (1 + ((z[:, None] - mu[None]) ** 2).sum(-1))
    assert_close(q, ref / ref.sum(1, keepdim=True))
    p = target_distribution(q)
    weight = q ** 2 / q.sum(0)
    assert_close(p, weight / weight.sum(1, keepdim=True))
    assert not p.requires_grad


@pytest.mark.parametrize('cls', [PamC, SCGC])
def test_fit_reports_both_protocols(cls: type[PamC]) -> None:
    data = synthetic_sbm(num_nodes=150, avg_degree=6, num_classes=3, num_features=40, seed=1)
    method = cls(epochs=4, random_state=0, ae_epochs=2, kmeans_n_init=2,
                 hidden=[32, 32, 64], num_clusters=3)
    method.fit(data)
    report = method.clustering_metrics_
    assert set(report) == {'final', 'best-epoch'}
    for key in ('acc', 'nmi', 'ari', 'f1'):
        assert report['best-epoch'][key] == max(h[f'q_{key}'] for h in method.history_)
        assert 0.0 <= report['final']['acc'] <= 1.0
    assert 'label-selected' in report['best-epoch']['protocol']
    pred = method.predict(data)
    assert pred.shape == (150,) and int(pred.max()) < 3
    assert method.embed(data).shape == (150, 10)
    assert all(torch.isfinite(torch.tensor(h['loss'])) for h in method.history_)


def test_configs_and_registration() -> None:
    assert get_method('pamc') is PamC and get_method('scgc') is SCGC
    cite = load_config('pamc', 'citeseer')
    assert cite['loss'] == {'name': 'pamc', 'alpha': 2.0, 'beta': 2.5, 'tau': 0.5, 'order': 3}
    assert 'PAMC README' in cite['provenance']
    acm = load_config('scgc', 'acm')
    assert acm['loss']['tau'] == 0.25 and acm['optim']['lr'] == 1e-3
    assert cite['data']['normalize_features'] is False
