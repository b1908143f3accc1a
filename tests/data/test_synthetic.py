"""``synthetic-sbm``: seeded, undirected, exact size, planted communities, config options."""

from __future__ import annotations

import time

import pytest
import torch
from torch_geometric.utils import contains_self_loops, is_undirected

from gcl.config import load_config
from gcl.data import load_dataset
from gcl.data.synthetic import synthetic_sbm
from gcl.errors import GCLConfigError


def test_shape_seed_and_structure() -> None:
    data = synthetic_sbm(num_nodes=5000, num_edges=40_000, num_classes=5, num_features=30,
                         homophily=0.7, seed=3)
    assert data.num_nodes == 5000 and data.x.shape == (5000, 30)
    assert data.edge_index.size(1) == 40_000
    assert is_undirected(data.edge_index, num_nodes=5000)
    assert not contains_self_loops(data.edge_index)
    assert torch.equal(torch.bincount(data.y), torch.full((5,), 1000))
    same = (data.y[data.edge_index[0]] == data.y[data.edge_index[1]]).float().mean()
    assert abs(float(same) - 0.7) < 0.02
    assert torch.unique(data.edge_index[0] * 5000 + data.edge_index[1]).numel() == 40_000
    again = synthetic_sbm(num_nodes=5000, num_edges=40_000, num_classes=5, num_features=30,
                          homophily=0.7, seed=3)
    assert torch.equal(again.edge_index, data.edge_index) and torch.equal(again.x, data.x)
    other = synthetic_sbm(num_nodes=5000, num_edges=40_000, num_classes=5, num_features=30,
                          homophily=0.7, seed=4)
    assert not torch.equal(other.edge_index, data.edge_index)


def test_features_carry_the_communities() -> None:
    data = synthetic_sbm(num_nodes=3000, num_classes=3, num_features=30, seed=0)
    means = torch.stack([data.x[data.y == c].mean(0) for c in range(3)])   # [C, F]
    assert (means.max(0).values - means.min(0).values).max() > 0.15
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=300).fit(data.x[:2000].numpy(), data.y[:2000].numpy())
    assert clf.score(data.x[2000:].numpy(), data.y[2000:].numpy()) > 0.8


def test_p_in_p_out_and_avg_degree() -> None:
    data = synthetic_sbm(num_nodes=2000, num_classes=4, p_in=0.02, p_out=0.001, seed=0)
    size = 500
    expected = 2 * (4 * size * (size - 1) / 2 * 0.02 + (2000 * 1999 / 2 - 4 * size * (size - 1)
                                                           / 2) * 0.001)
    assert abs(data.edge_index.size(1) - expected) <= 2
    assert synthetic_sbm(num_nodes=1000, avg_degree=8).edge_index.size(1) == 8000


def test_catalog_loader_and_config_short_form() -> None:
    data = load_dataset('synthetic-sbm', num_nodes=800, num_classes=4, seed=1)
    assert data.num_nodes == 800 and data.dataset == 'synthetic-sbm'
    assert torch.allclose(data.x.sum(1), torch.ones(800))                 # row-normalised
    config = load_config('grace', 'synthetic-sbm', overrides={'num_nodes': 1000, 'seed': 2})
    assert config['data']['options'] == {'num_nodes': 1000}
    with pytest.raises(GCLConfigError, match='unknown option'):
        load_config('grace', 'synthetic-sbm', overrides={'num_nodez': 1000})
    with pytest.raises(GCLConfigError, match='unknown option'):
        load_config('grace', 'cora', overrides={'num_nodes': 1000})       # not a generator


def test_errors() -> None:
    with pytest.raises(GCLConfigError, match='homophily'):
        synthetic_sbm(num_nodes=100, homophily=1.5)
    with pytest.raises(GCLConfigError, match='p_in and p_out'):
        synthetic_sbm(num_nodes=100, p_in=0.1)
    with pytest.raises(GCLConfigError, match='too dense'):
        synthetic_sbm(num_nodes=10, num_edges=80)
    with pytest.raises(GCLConfigError, match='no option'):
        load_dataset('synthetic-sbm', num_nodez=10)


@pytest.mark.slow
def test_million_nodes_ten_million_edges() -> None:
    start = time.perf_counter()
    data = synthetic_sbm(num_nodes=1_000_000, avg_degree=10, seed=0)
    assert data.edge_index.size(1) == 10_000_000
    assert time.perf_counter() - start < 120
