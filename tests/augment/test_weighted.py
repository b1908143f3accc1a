"""``WeightedFeatureMask``, the base of GCA's and CSGCL's feature masks, as a user extends it:
the probabilities are computed once per graph, every call draws a fresh mask from them."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment import AdaptiveMaskFeature, CommunalAttributeVoting, WeightedFeatureMask


class _Fixed(WeightedFeatureMask):
    """Drop column j with probability p[j]; counts how often the probabilities are computed."""

    def __init__(self, p: Tensor) -> None:
        super().__init__()
        self.p, self.calls = p, 0

    def compute_probabilities(self, data: Data) -> Tensor:
        self.calls += 1
        return self.p


def _graph() -> Data:
    return Data(x=torch.ones(2000, 4), edge_index=torch.tensor([[0, 1], [1, 0]]))


def test_probabilities_are_computed_once_per_graph_and_redrawn_per_call() -> None:
    mask = _Fixed(torch.tensor([0.0, 1.0, 0.5, 0.5]))
    data = _graph()
    torch.manual_seed(0)
    views = [mask(data).x for _ in range(200)]
    assert mask.calls == 1
    kept = torch.stack([v[0] for v in views])              # [200, 4]: every node's row alike
    assert all(torch.equal(v, v[:1].expand_as(v)) for v in views[:5])   # whole columns drop
    assert kept[:, 0].eq(1).all() and kept[:, 1].eq(0).all()
    assert 0.35 < kept[:, 2].mean().item() < 0.65          # Bernoulli(0.5) over 200 draws
    assert not torch.equal(kept[:, 2], kept[:, 3])         # columns draw independently
    assert torch.equal(data.x, torch.ones(2000, 4))        # the input is left alone


def test_an_edited_graph_gets_new_probabilities() -> None:
    mask = _Fixed(torch.tensor([0.0, 0.0, 0.0, 0.0]))
    data = _graph()
    mask.probabilities(data)
    data.x.mul_(2.0)                                        # same tensor, edited in place
    mask.probabilities(data)
    mask.probabilities(_graph())                            # another graph
    assert mask.calls == 3


def test_the_method_masks_share_the_base() -> None:
    with pytest.raises(TypeError, match='abstract'):
        WeightedFeatureMask()   # an abstract base: it does not know its probabilities
    assert issubclass(AdaptiveMaskFeature, WeightedFeatureMask)
    assert issubclass(CommunalAttributeVoting, WeightedFeatureMask)
