"""GCA's adaptive views (ALGORITHMS.md §0.4): centralities against networkx, drop probabilities
against the spec's formulas, statistics of the drawn views, transforms leave the input alone."""

from __future__ import annotations

import math

import networkx as nx
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.datasets import KarateClub
from torch_geometric.utils import stochastic_blockmodel_graph, to_networkx

from gcl.augment import (
    AdaptiveDropEdge,
    AdaptiveMaskFeature,
    adaptive_probabilities,
    edge_drop_weights,
    feature_drop_weights,
)
from gcl.augment.centrality import (
    degree_centrality,
    eigenvector_centrality,
    node_centrality,
    pagerank,
)
from gcl.errors import GCLConfigError


@pytest.fixture(scope='module')
def karate() -> Data:
    return KarateClub()[0]


@pytest.fixture(scope='module')
def sbm() -> Data:
    """A connected 3-block graph with ~10k directed edges and sparse binary features."""
    torch.manual_seed(0)
    edge_index = stochastic_blockmodel_graph([100, 150, 200], [[0.15, 0.01, 0.005],
                                                              [0.01, 0.12, 0.01],
                                                              [0.005, 0.01, 0.08]])
    x = (torch.rand(450, 40, generator=torch.Generator().manual_seed(1)) < 0.1).float()
    return Data(x=x, edge_index=edge_index, num_nodes=450)


def _nx_vector(values: dict, n: int) -> torch.Tensor:
    return torch.tensor([values[i] for i in range(n)], dtype=torch.float64)


# ------------------------------------------------------------------------- centralities
def test_degree_matches_networkx(karate):
    ref = _nx_vector(dict(to_networkx(karate, to_undirected=True).degree()), 34)
    torch.testing.assert_close(degree_centrality(karate.edge_index, 34).double(), ref)
    # directed input: degree in the undirected graph, as GCA's to_undirected + degree
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 0, 0]])
    graph = nx.Graph(edge_index.t().tolist())
    torch.testing.assert_close(degree_centrality(edge_index, 4).double(),
                               _nx_vector(dict(graph.degree()), 4))
    torch.testing.assert_close(node_centrality(edge_index, 4, 'degree').double(),
                               _nx_vector(dict(graph.degree()), 4))


@pytest.mark.parametrize('name', ['karate', 'sbm'])
def test_eigenvector_matches_networkx(name, karate, sbm):
    data = karate if name == 'karate' else sbm
    ref = _nx_vector(nx.eigenvector_centrality_numpy(to_networkx(data)), data.num_nodes)
    mine = eigenvector_centrality(data.edge_index, data.num_nodes).double()
    torch.testing.assert_close(mine, ref, atol=1e-5, rtol=0)


def test_eigenvector_directed_is_left_eigenvector():
    edge_index = torch.tensor([[0, 1, 2, 2, 3, 4, 1], [1, 2, 0, 3, 4, 0, 3]])
    graph = nx.DiGraph(edge_index.t().tolist())
    ref = _nx_vector(nx.eigenvector_centrality_numpy(graph), 5)
    torch.testing.assert_close(eigenvector_centrality(edge_index, 5).double(), ref,
                               atol=1e-5, rtol=0)


def _gca_pagerank_reference(graph: nx.DiGraph, n: int, k: int) -> torch.Tensor:
    """GCA's compute_pr written as a plain loop over a networkx graph."""
    x = [1.0] * n
    for _ in range(k):
        agg = [0.0] * n
        for u, v in graph.edges():
            agg[v] += x[u] / graph.out_degree(u)
        x = [0.15 * x[i] + 0.85 * agg[i] for i in range(n)]
    return torch.tensor(x, dtype=torch.float64)


@pytest.mark.parametrize('k', [1, 10, 200])
def test_pagerank_matches_loop_reference(karate, k):
    graph = to_networkx(karate)
    ref = _gca_pagerank_reference(graph, 34, k)
    torch.testing.assert_close(pagerank(karate.edge_index, 34, k=k).double(), ref,
                               atol=1e-5, rtol=1e-5)


def test_pagerank_converges_to_networkx_stationary_vector(karate):
    # GCA's PageRank has no teleport term: a lazy random walk, whose limit is N times the
    # stationary distribution that networkx's pagerank computes with alpha = 1
    ref = _nx_vector(nx.pagerank(to_networkx(karate), alpha=1.0, tol=1e-14, max_iter=10_000), 34)
    torch.testing.assert_close(pagerank(karate.edge_index, 34, k=200).double(), 34 * ref,
                               atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------- weights
def _spec_weights(s: torch.Tensor) -> torch.Tensor:
    return (s.max() - s) / (s.max() - s.mean())


def test_edge_weights_use_target_node_centrality(karate):
    graph = to_networkx(karate, to_undirected=True)
    deg = _nx_vector(dict(graph.degree()), 34)
    col = karate.edge_index[1]
    expected = _spec_weights(deg[col].log())
    torch.testing.assert_close(edge_drop_weights(karate.edge_index, 34, 'degree').double(),
                               expected, atol=1e-5, rtol=1e-5)
    pr = _gca_pagerank_reference(to_networkx(karate), 34, 200)
    torch.testing.assert_close(edge_drop_weights(karate.edge_index, 34, 'pr').double(),
                               _spec_weights(pr[col].log()), atol=1e-5, rtol=1e-5)
    evc = _nx_vector(nx.eigenvector_centrality_numpy(to_networkx(karate)), 34)
    evc = evc.clamp_min(0) + 1e-8
    torch.testing.assert_close(edge_drop_weights(karate.edge_index, 34, 'evc').double(),
                               _spec_weights(evc[col].log()), atol=1e-4, rtol=1e-4)
    weights = edge_drop_weights(karate.edge_index, 34, 'degree')
    assert weights.mean().item() == pytest.approx(1.0, abs=1e-5)
    # a source-only change leaves the weight of u -> v unchanged: only the target counts
    by_target = {}
    for w, v in zip(weights.tolist(), col.tolist()):
        assert by_target.setdefault(v, w) == pytest.approx(w)


def test_feature_weights_binary_dense_and_zero_column_guard():
    x = torch.tensor([[1.0, 0.0, 0.5, 0.0],
                      [0.0, 2.0, 0.5, 0.0],
                      [1.0, 1.0, -3.0, 0.0]])
    phi = torch.tensor([1.0, 2.0, 4.0])
    # binary: c = [5, 6, 7, 0]; the zero column takes the smallest positive score (5)
    c = torch.tensor([5.0, 6.0, 7.0, 5.0], dtype=torch.float64)
    torch.testing.assert_close(feature_drop_weights(x, phi).double(), _spec_weights(c.log()),
                               atol=1e-6, rtol=1e-6)
    # dense (WikiCS): c = |x|^T phi = [5, 8, 13.5, 0 -> 5]
    c = torch.tensor([5.0, 8.0, 13.5, 5.0], dtype=torch.float64)
    torch.testing.assert_close(feature_drop_weights(x, phi, dense=True).double(),
                               _spec_weights(c.log()), atol=1e-6, rtol=1e-6)


def test_adaptive_probabilities_scale_and_cap():
    weights = torch.tensor([0.0, 0.5, 1.0, 2.5])                  # mean 1
    probs = adaptive_probabilities(weights, 0.4, threshold=0.7)
    torch.testing.assert_close(probs, torch.tensor([0.0, 0.2, 0.4, 0.7]))
    assert adaptive_probabilities(weights, 0.4, threshold=1.0)[3].item() == pytest.approx(1.0)


# ------------------------------------------------------------------------- drawn views
def test_edge_drop_frequencies_follow_probabilities(sbm):
    torch.manual_seed(123)
    transform = AdaptiveDropEdge(p=0.4, scheme='degree')
    probs = transform.probabilities(sbm)                           # [E]
    assert sbm.edge_index.size(1) > 8000
    assert probs.max().item() == pytest.approx(0.7)                # the 0.7 cap is reached
    draws = 200
    kept = torch.zeros(sbm.edge_index.size(1))
    key = sbm.edge_index[0] * sbm.num_nodes + sbm.edge_index[1]
    for _ in range(draws):
        out = transform(sbm)
        kept += torch.isin(key, out.edge_index[0] * sbm.num_nodes + out.edge_index[1]).float()
    # group edges by their target's degree (same probability), compare with binomial error
    for value in probs.unique():
        group = probs == value
        trials = draws * int(group.sum())
        observed = 1.0 - kept[group].sum().item() / trials
        sd = math.sqrt(value.item() * (1 - value.item()) / trials) + 1e-12
        assert abs(observed - value.item()) < 5 * sd + 1e-9, (value.item(), observed)
    # overall drop rate is mean(min(w p, 0.7)), slightly under p because of the cap
    overall = 1.0 - kept.sum().item() / (draws * kept.numel())
    assert overall == pytest.approx(probs.mean().item(), abs=0.005)
    assert overall < 0.4


def test_feature_mask_frequencies_follow_probabilities(sbm):
    torch.manual_seed(7)
    transform = AdaptiveMaskFeature(p=0.3, scheme='pr')
    probs = transform.probabilities(sbm)                           # [F]
    centrality = pagerank(sbm.edge_index, sbm.num_nodes, k=10)
    expected = adaptive_probabilities(feature_drop_weights(sbm.x, centrality), 0.3, 0.7)
    torch.testing.assert_close(probs, expected)
    draws = 2000
    dropped = torch.zeros(sbm.x.size(1))
    present = sbm.x.abs().sum(0) > 0
    for _ in range(draws):
        out = transform(sbm)
        dropped += ((out.x.abs().sum(0) == 0) & present).float()
    rate = dropped / draws
    sd = (probs * (1 - probs) / draws).sqrt()
    assert bool(((rate - probs).abs() <= 5 * sd + 1e-3)[present].all())


def test_transforms_leave_input_unchanged_and_are_seeded(sbm):
    x, edge_index = sbm.x.clone(), sbm.edge_index.clone()
    for transform in (AdaptiveDropEdge(0.5, 'evc'), AdaptiveMaskFeature(0.5, 'degree'),
                      AdaptiveMaskFeature(0.5, 'pr', dense=True)):
        torch.manual_seed(0)
        first = transform(sbm)
        torch.manual_seed(0)
        second = transform(sbm)
        assert torch.equal(first.edge_index, second.edge_index)
        assert torch.equal(first.x, second.x)
        assert torch.equal(sbm.x, x) and torch.equal(sbm.edge_index, edge_index)
    assert 'scheme' in repr(AdaptiveDropEdge(0.5, 'pr'))


def test_unknown_scheme_raises():
    with pytest.raises(GCLConfigError, match='drop scheme'):
        AdaptiveDropEdge(0.3, scheme='betweenness')
    with pytest.raises(GCLConfigError, match='drop scheme'):
        edge_drop_weights(torch.tensor([[0], [1]]), 2, 'nope')
    with pytest.raises(GCLConfigError, match='centrality'):
        node_centrality(torch.tensor([[0], [1]]), 2, 'nope')


def test_probabilities_follow_a_graph_edited_in_place(sbm):
    """The cached probabilities belong to the tensors, not to their addresses: after an
    in-place edit (same address) they are computed again (they were stale before)."""
    data = Data(x=sbm.x.clone(), edge_index=sbm.edge_index.clone(), num_nodes=sbm.num_nodes)
    edge_t, feat_t = AdaptiveDropEdge(0.3, 'degree'), AdaptiveMaskFeature(0.3, 'degree')
    edge_t.probabilities(data), feat_t.probabilities(data)
    data.edge_index[1] = data.edge_index[1].flip(0)          # other targets, same address
    data.x[:, :10] = 1.0 - data.x[:, :10]
    assert torch.equal(edge_t.probabilities(data),
                       AdaptiveDropEdge(0.3, 'degree').probabilities(data))
    assert torch.equal(feat_t.probabilities(data),
                       AdaptiveMaskFeature(0.3, 'degree').probabilities(data))
