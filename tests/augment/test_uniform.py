"""Uniform views: drop rates near p, symmetry options, input untouched, seeded."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.utils import erdos_renyi_graph, is_undirected

from gcl.augment import DropEdge, MaskFeature, drop_edge_weighted, drop_feature
from gcl.errors import GCLDataError


@pytest.fixture
def big_graph():
    from torch_geometric.data import Data

    torch.manual_seed(0)
    edge_index = erdos_renyi_graph(400, 0.06, directed=False)  # ~9.6k directed entries
    return Data(x=torch.rand(400, 2000) + 0.1, edge_index=edge_index)


@pytest.mark.parametrize('p', [0.0, 0.2, 0.6])
def test_drop_edge_rate(big_graph, p):
    torch.manual_seed(1)
    before = big_graph.edge_index.clone()
    view = DropEdge(p)(big_graph)
    kept = view.num_edges / big_graph.num_edges
    assert abs(kept - (1 - p)) < 0.02
    assert torch.equal(big_graph.edge_index, before)  # input untouched


def test_drop_edge_force_undirected(big_graph):
    torch.manual_seed(2)
    view = DropEdge(0.4, force_undirected=True)(big_graph)
    assert is_undirected(view.edge_index)
    torch.manual_seed(2)
    directed = DropEdge(0.4)(big_graph)
    assert not is_undirected(directed.edge_index)  # GRACE drops each direction independently


@pytest.mark.parametrize('p', [0.1, 0.5])
def test_mask_feature_rate_and_columns(big_graph, p):
    torch.manual_seed(3)
    original = big_graph.x.clone()
    view = MaskFeature(p)(big_graph)
    zero_cols = (view.x == 0).all(dim=0)
    assert abs(float(zero_cols.float().mean()) - p) < 0.04
    kept = ~zero_cols
    assert torch.equal(view.x[:, kept], original[:, kept])  # whole columns, nothing else
    assert torch.equal(big_graph.x, original)


def test_same_seed_same_view(big_graph):
    torch.manual_seed(5)
    a = DropEdge(0.3)(big_graph).edge_index
    torch.manual_seed(5)
    b = DropEdge(0.3)(big_graph).edge_index
    assert torch.equal(a, b)


def test_weighted_functional_and_checks():
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    out, keep = drop_edge_weighted(edge_index, torch.tensor([0.0, 1.0, 0.0, 1.0]))
    assert keep.tolist() == [True, False, True, False] and out.size(1) == 2
    with pytest.raises(GCLDataError, match='p_edge must have shape'):
        drop_edge_weighted(edge_index, torch.zeros(3))
    with pytest.raises(GCLDataError, match='probability'):
        drop_feature(torch.ones(2, 2), 1.5)
    with pytest.raises(GCLDataError, match='probability'):
        DropEdge(-0.1)


def test_repr_shows_parameters():
    assert repr(DropEdge(0.2)) == 'DropEdge(p=0.2, force_undirected=False)'
    assert repr(MaskFeature(0.3)) == 'MaskFeature(p=0.3)'
