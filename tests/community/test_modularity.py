"""Modularity and community strength against networkx (ALGORITHMS.md §4.1)."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.datasets import KarateClub
from torch_geometric.utils import erdos_renyi_graph

import gcl.community as C
from gcl.errors import GCLConfigError, GCLDataError


def nx_modularity(data: Data, labels: torch.Tensor, resolution: float = 1.0) -> float:
    graph = C.to_networkx_graph(data)
    groups = [set((labels == c).nonzero().view(-1).tolist()) for c in labels.unique()]
    return nx.algorithms.community.modularity(graph, groups, resolution=resolution)


def random_case(seed: int) -> tuple[Data, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n = 30 + seed
    edge_index = erdos_renyi_graph(n, 0.15, directed=True)      # not symmetric: union is taken
    loops = torch.randint(0, n, (1, 3), generator=gen).repeat(2, 1)  # self-loops
    dup = edge_index[:, :5]                                          # duplicated entries
    edge_index = torch.cat([edge_index, loops, dup], dim=1)
    labels = torch.randint(0, 5, (n,), generator=gen)
    return Data(edge_index=edge_index, num_nodes=n + 2), torch.cat([labels, torch.tensor([5, 6])])


@pytest.mark.parametrize('seed', range(5))
@pytest.mark.parametrize('resolution', [1.0, 0.5, 2.0])
def test_modularity_equals_networkx(seed, resolution):
    data, labels = random_case(seed)   # includes isolated nodes, self-loops, duplicates
    ours = C.modularity(data, labels, resolution=resolution)
    assert ours == pytest.approx(nx_modularity(data, labels, resolution), abs=1e-6)


def test_modularity_karate_detected_partition():
    data = KarateClub()[0]
    labels = C.Louvain(random_state=0).fit_predict(data)
    assert C.modularity(data, labels) == pytest.approx(nx_modularity(data, labels), abs=1e-6)
    assert C.modularity((data.edge_index, data.num_nodes), labels) == C.modularity(data, labels)


@pytest.mark.parametrize('seed', range(3))
def test_strength_sums_to_modularity(seed):
    data, labels = random_case(seed)
    strength = C.community_strength(data, labels, dtype=torch.float64)
    assert strength.shape == (int(labels.max()) + 1,)
    assert float(strength.sum()) == pytest.approx(C.modularity(data, labels), abs=1e-9)
    nodes = C.node_strength(data, labels, dtype=torch.float64)
    assert torch.equal(nodes, strength[labels])
    assert C.community_strength(data, labels).dtype == torch.float32


def test_strength_hand_made_graph():
    # two triangles joined by one edge: m = 7, each community m_in = 3, d_c = 7
    edge_index = torch.tensor([[0, 0, 1, 2, 3, 3, 4], [1, 2, 2, 3, 4, 5, 5]])
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    data = Data(edge_index=edge_index, num_nodes=6)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    expected = 3 / 7 - (7 / 14) ** 2
    strength = C.community_strength(data, labels, dtype=torch.float64)
    torch.testing.assert_close(strength, torch.tensor([expected, expected], dtype=torch.float64))
    # a community id without nodes has strength 0
    gap = torch.tensor([0, 0, 0, 2, 2, 2])
    assert C.community_strength(data, gap, dtype=torch.float64)[1] == 0


def getmod_e497d32_reference(data: Data, labels: torch.Tensor) -> list[float]:
    """The first official ``getmod``'s counting, written as a networkx loop: every neighbour in
    the node's own community adds 1 to ``inc`` (so an edge counts from both ends, a self-loop
    once), ``S_c = inc_c / m - (deg_c / 2m)^2``."""
    graph = C.to_networkx_graph(data)
    inc: dict[int, float] = {}
    deg: dict[int, float] = {}
    for node in graph:
        com = int(labels[node])
        deg[com] = deg.get(com, 0.0) + graph.degree(node)
        for neighbour in graph[node]:
            if int(labels[neighbour]) == com:
                inc[com] = inc.get(com, 0.0) + 1.0
    links = graph.size()
    return [inc.get(c, 0.0) / links - (deg.get(c, 0.0) / (2 * links)) ** 2
            for c in range(int(labels.max()) + 1)]


@pytest.mark.parametrize('seed', range(3))
def test_getmod_e497d32_formula_equals_the_old_loop(seed):
    data, labels = random_case(seed)   # self-loops, duplicates and isolated nodes included
    ours = C.community_strength(data, labels, dtype=torch.float64, formula='getmod-e497d32')
    expected = torch.tensor(getmod_e497d32_reference(data, labels), dtype=torch.float64)
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-12)
    # it differs from the paper's formula exactly by m_c^in / m on loop-free communities
    paper = C.community_strength(data, labels, dtype=torch.float64)
    assert (ours >= paper).all() and not torch.equal(ours, paper)


def test_getmod_e497d32_hand_made_graph_and_unknown_formula():
    edge_index = torch.tensor([[0, 0, 1, 2, 3, 3, 4], [1, 2, 2, 3, 4, 5, 5]])
    data = Data(edge_index=torch.cat([edge_index, edge_index.flip(0)], dim=1), num_nodes=6)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    strength = C.community_strength(data, labels, dtype=torch.float64, formula='getmod-e497d32')
    expected = 2 * 3 / 7 - (7 / 14) ** 2
    torch.testing.assert_close(strength, torch.tensor([expected, expected], dtype=torch.float64))
    with pytest.raises(GCLConfigError, match='unknown community strength formula'):
        C.community_strength(data, labels, formula='getmod')


def test_empty_graph_has_zero_modularity():
    data = Data(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=4)
    assert C.modularity(data, torch.tensor([0, 1, 2, 3])) == 0.0


def test_bad_assignments():
    data = KarateClub()[0]
    with pytest.raises(GCLDataError, match='34 nodes'):
        C.modularity(data, torch.zeros(33, dtype=torch.long))
    with pytest.raises(GCLDataError, match='negative'):
        C.community_strength(data, torch.full((34,), -1))
