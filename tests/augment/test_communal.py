"""CSGCL's CED and CAV (ALGORITHMS.md §4.2, §4.3): hand examples, the official loop as a
reference for the vectorised edge weights, drawn-view statistics, undirectedness, input safety."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import is_undirected, stochastic_blockmodel_graph

from gcl.augment import CommunalAttributeVoting, CommunalDropEdge, cav, cav_dense, ced
from gcl.augment.communal import (
    cav_attribute_weights,
    cav_drop_probabilities,
    ced_edge_weights,
    ced_keep_probabilities,
)
from gcl.errors import GCLDataError

# Two triangles {0, 1, 2} and {3, 4, 5} joined by the bridge 2 - 3 (both directions).
_UNDIRECTED = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]
EDGE_INDEX = torch.tensor(_UNDIRECTED + [(v, u) for u, v in _UNDIRECTED]).t()
COMMUNITIES = torch.tensor([0, 0, 0, 1, 1, 1])
# S_c = m_in / m - (d_c / 2m)^2 with m = 7, m_in = 3, d_c = 7 for both communities
S_HAND = 3 / 7 - (7 / 14) ** 2


def _official_edge_weight(edge_index, com, com_cs):
    """CSGCL's ``get_edge_weight``: a Python loop over edges, then min-max normalisation."""
    def edge_mod(a, b):
        return com_cs[a] if a == b else -(float(com_cs[a]) + float(com_cs[b]))
    weight = np.asarray([edge_mod(com[u], com[v]) for u, v in edge_index.t().tolist()])
    return (weight - weight.min()) / (weight.max() - weight.min())


def test_ced_weights_hand_example():
    strength = torch.tensor([0.3, 0.1])
    weight = ced_edge_weights(EDGE_INDEX, COMMUNITIES, strength)
    # r: 0.3 inside community 0, 0.1 inside community 1, -(0.3 + 0.1) on the bridge
    expected_half = torch.tensor([1.0, 1.0, 1.0, 0.5 / 0.7, 0.5 / 0.7, 0.5 / 0.7, 0.0])
    torch.testing.assert_close(weight, torch.cat([expected_half, expected_half]))


def test_ced_weights_match_the_official_loop():
    torch.manual_seed(0)
    edge_index = stochastic_blockmodel_graph([30, 40, 50], [[0.3, 0.02, 0.01], [0.02, 0.2, 0.02],
                                                            [0.01, 0.02, 0.25]])
    generator = torch.Generator().manual_seed(1)
    communities = torch.randint(0, 6, (120,), generator=generator)
    strength = torch.randn(6, generator=generator, dtype=torch.float64) * 0.1
    expected = _official_edge_weight(edge_index, communities.tolist(), strength.numpy())
    torch.testing.assert_close(ced_edge_weights(edge_index, communities, strength).double(),
                               torch.from_numpy(expected), atol=1e-6, rtol=1e-6)


def test_ced_keep_probabilities_and_always_dropped_minimum():
    strength = torch.tensor([0.3, 0.1])
    weight = ced_edge_weights(EDGE_INDEX, COMMUNITIES, strength)
    mean = weight.mean()
    q = ced_keep_probabilities(weight, p=0.3)
    torch.testing.assert_close(q, (weight / mean * 0.7).clamp(0, 1))
    assert q[6].item() == 0.0 and q[13].item() == 0.0          # the bridge: weight 0
    q_thr = ced_keep_probabilities(weight, p=0.3, threshold=0.6)
    assert q_thr.min().item() == pytest.approx(0.4)            # clip from below at 1 - theta
    for _ in range(200):
        kept, mask = ced(EDGE_INDEX, weight, 0.3)
        assert not bool(mask[6]) and not bool(mask[13])
        assert kept.size(1) == int(mask.sum())


def test_ced_keep_frequencies_follow_probabilities():
    torch.manual_seed(0)
    edge_index = stochastic_blockmodel_graph([100, 100, 100], [[0.2, 0.01, 0.01],
                                                               [0.01, 0.15, 0.01],
                                                               [0.01, 0.01, 0.1]])
    communities = torch.arange(3).repeat_interleave(100)
    strength = torch.tensor([0.2, 0.12, 0.05])
    weight = ced_edge_weights(edge_index, communities, strength)
    q = ced_keep_probabilities(weight, p=0.4)
    draws = 300
    kept = torch.zeros_like(q)
    for _ in range(draws):
        kept += ced(edge_index, weight, 0.4)[1].float()
    for value in q.unique():
        group = q == value
        trials = draws * int(group.sum())
        observed = kept[group].sum().item() / trials
        sd = math.sqrt(value.item() * (1 - value.item()) / trials)
        assert abs(observed - value.item()) <= 5 * sd + 1e-9


def test_ced_undirected_where_claimed():
    torch.manual_seed(3)
    edge_index = stochastic_blockmodel_graph([40, 40], [[0.3, 0.05], [0.05, 0.3]])
    communities = torch.arange(2).repeat_interleave(40)
    weight = ced_edge_weights(edge_index, communities, torch.tensor([0.2, 0.1]))
    # weights are symmetric: entry (u, v) and (v, u) agree
    lookup = {(u, v): w for (u, v), w in zip(edge_index.t().tolist(), weight.tolist())}
    assert all(lookup[(v, u)] == pytest.approx(w) for (u, v), w in lookup.items())
    asymmetric = 0
    for _ in range(20):
        view, _ = ced(edge_index, weight, 0.5, force_undirected=True)
        assert is_undirected(view, num_nodes=80)
        asymmetric += not is_undirected(ced(edge_index, weight, 0.5)[0], num_nodes=80)
    assert asymmetric > 0  # the official per-entry draw does break symmetry
    transform = CommunalDropEdge(0.5, communities, torch.tensor([0.2, 0.1]),
                                 force_undirected=True)
    assert is_undirected(transform(Data(edge_index=edge_index, num_nodes=80)).edge_index)


def test_cav_hand_example():
    x = torch.tensor([[1.0, 0.0, 0.0, 1.0],
                      [1.0, 0.0, 0.0, 0.0],
                      [0.0, 1.0, 0.0, 0.0],
                      [0.0, 1.0, 0.0, 1.0]])
    s = torch.tensor([0.3, 0.3, 0.1, 0.1])
    # votes v = |x|^T s = [0.6, 0.2, 0 -> max = 0.6, 0.4]
    weight = cav_attribute_weights(x, s)
    w3 = math.log(0.6 / 0.4) / math.log(0.6 / 0.2)
    torch.testing.assert_close(weight, torch.tensor([0.0, 1.0, 0.0, w3]))
    mean = (1.0 + w3) / 4
    probs = cav_drop_probabilities(weight, 0.2)
    torch.testing.assert_close(probs, torch.tensor([0.0, 0.2 / mean, 0.0, w3 * 0.2 / mean]))
    capped = cav_drop_probabilities(weight, 0.2, threshold=0.5)
    assert capped[1].item() == pytest.approx(0.5)
    # dense (WikiCS): no zero-vote replacement; the zero vote is guarded to the smallest
    # positive vote (0.2) instead of giving NaN
    dense = cav_attribute_weights(x, s, dense=True)
    torch.testing.assert_close(dense, torch.tensor([0.0, 1.0, 1.0, w3]))
    # the most-voted attribute is never masked, others follow p_a
    torch.manual_seed(0)
    drops = torch.zeros(4)
    for _ in range(2000):
        out, keep = cav(x, s, 0.2)
        drops += (~keep).float()
        assert torch.equal(out, x * keep.float())
    assert drops[0].item() == 0 and drops[2].item() == 0
    assert drops[1].item() / 2000 == pytest.approx(probs[1].item(), abs=0.04)
    assert drops[3].item() / 2000 == pytest.approx(probs[3].item(), abs=0.04)
    out, keep = cav_dense(x, s, 0.2)
    assert out.shape == x.shape and keep.shape == (4,)


def test_cav_negative_votes_do_not_give_nan():
    x = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    s = torch.tensor([0.2, 0.1, -0.5])        # weak communities have negative strength
    weight = cav_attribute_weights(x, s)      # votes [0.2, 0.3, -0.4]
    assert bool(torch.isfinite(weight).all())
    assert weight[2].item() == pytest.approx(1.0)   # negative vote: dropped the most
    assert weight[1].item() == 0.0


def test_transforms_leave_input_unchanged_and_compute_strength():
    x = torch.rand(6, 5)
    x[:, 4] = 0
    data = Data(x=x, edge_index=EDGE_INDEX, num_nodes=6)
    before = (data.x.clone(), data.edge_index.clone())
    edge_t = CommunalDropEdge(0.3, COMMUNITIES)          # strengths from the graph
    torch.testing.assert_close(edge_t.edge_weight(data),
                               ced_edge_weights(EDGE_INDEX, COMMUNITIES,
                                                torch.tensor([S_HAND, S_HAND])))
    attr_t = CommunalAttributeVoting(0.3, COMMUNITIES, torch.tensor([0.3, 0.1]))
    for transform in (edge_t, attr_t):
        torch.manual_seed(0)
        first = transform(data)
        torch.manual_seed(0)
        second = transform(data)
        assert torch.equal(first.x, second.x) and torch.equal(first.edge_index,
                                                               second.edge_index)
        assert torch.equal(data.x, before[0]) and torch.equal(data.edge_index, before[1])
    assert 'threshold=1.0' in repr(edge_t) and 'dense=False' in repr(attr_t)


def test_bad_inputs_raise():
    with pytest.raises(GCLDataError, match='community ids'):
        ced_edge_weights(EDGE_INDEX, torch.tensor([0, 0, 0, 1, 1, 2]), torch.tensor([0.1, 0.2]))
    with pytest.raises(GCLDataError, match='one community id per node'):
        ced_edge_weights(EDGE_INDEX, torch.tensor([0, 0, 0, 1, 1]), torch.tensor([0.1, 0.2]))
    with pytest.raises(GCLDataError, match='communities must be'):
        ced_edge_weights(EDGE_INDEX, torch.zeros(6, 2, dtype=torch.long), torch.tensor([0.1]))
    with pytest.raises(GCLDataError, match='edge_weight must have shape'):
        ced(EDGE_INDEX, torch.ones(3), 0.3)
    with pytest.raises(GCLDataError, match='node_strength'):
        cav_attribute_weights(torch.rand(6, 3), torch.rand(5))
    with pytest.raises(GCLDataError, match='probability'):
        CommunalDropEdge(1.5, COMMUNITIES)
    with pytest.raises(GCLDataError, match='threshold'):
        CommunalAttributeVoting(0.2, COMMUNITIES, threshold=2.0)


def test_weights_follow_a_graph_edited_in_place():
    """CED weights and CAV probabilities are recomputed after an in-place edit of the graph
    (the address-keyed cache returned the old graph's values)."""
    x = torch.rand(6, 5)
    data = Data(x=x, edge_index=EDGE_INDEX.clone(), num_nodes=6)
    edge_t = CommunalDropEdge(0.3, COMMUNITIES)
    attr_t = CommunalAttributeVoting(0.3, COMMUNITIES)
    edge_t.edge_weight(data), attr_t.probabilities(data)
    data.edge_index[:, 6] = torch.tensor([0, 4])             # the bridge 2 - 3 becomes 0 -> 4
    data.edge_index[:, 13] = torch.tensor([4, 0])
    data.x[:, 0] = 0.0
    assert torch.equal(edge_t.edge_weight(data),
                       CommunalDropEdge(0.3, COMMUNITIES).edge_weight(data))
    assert torch.equal(attr_t.probabilities(data),
                       CommunalAttributeVoting(0.3, COMMUNITIES).probabilities(data))
