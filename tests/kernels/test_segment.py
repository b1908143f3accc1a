"""Segment / scatter kernels: equal to a dense one-hot reference; backends agree."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from gcl.errors import GCLConfigError, GCLDataError
from gcl.kernels import (
    has_torch_scatter,
    prototype_similarity,
    prototypes,
    segment_count,
    segment_mean,
    segment_reduce,
    segment_sum,
)


def _data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(57, 6, generator=g, dtype=torch.float64)
    index = torch.randint(0, 5, (57,), generator=g)
    index[index == 3] = 4        # segment 3 is empty
    return h, index


def test_sum_and_mean_equal_one_hot_reference() -> None:
    h, index = _data()
    one_hot = torch.nn.functional.one_hot(index, 6).to(h.dtype)          # [N, K]
    assert_close(segment_sum(h, index, 6, backend='pyg'), one_hot.T @ h)
    counts = one_hot.sum(0).clamp_min(1).unsqueeze(1)
    assert_close(segment_mean(h, index, 6, backend='pyg'), one_hot.T @ h / counts)
    assert torch.equal(segment_count(index, 6), one_hot.sum(0).long())
    assert segment_sum(h, index, 6)[3].abs().sum() == 0                    # empty -> zeros


def test_gradients_flow_to_members() -> None:
    h, index = _data(1)
    h.requires_grad_()
    segment_sum(h, index, 5, backend='pyg').sum().backward()
    assert_close(h.grad, torch.ones_like(h))


@pytest.mark.skipif(not has_torch_scatter(), reason='torch-scatter is not installed')
def test_torch_scatter_backend_identical() -> None:
    h, index = _data(2)
    for reduce in ('sum', 'mean'):
        assert torch.equal(segment_reduce(h, index, 6, reduce, backend='pyg'),
                           segment_reduce(h, index, 6, reduce, backend='torch_scatter'))


def test_auto_backend_equals_pyg() -> None:
    h, index = _data(3)
    assert_close(segment_reduce(h, index, 6, 'sum', backend='auto'),
                 segment_reduce(h, index, 6, 'sum', backend='pyg'))


def test_prototype_similarity_empty_cluster_no_nan() -> None:
    h, index = _data(4)
    centres = prototypes(h, index, 6, reduce='sum')
    sim = prototype_similarity(centres)                                    # [K, K]
    assert torch.isfinite(sim).all()
    assert sim[3].abs().sum() == 0
    assert_close(sim.diagonal()[[0, 1, 2, 4]], torch.ones(4, dtype=h.dtype))


def test_errors() -> None:
    h, index = _data()
    with pytest.raises(GCLDataError, match='segment ids'):
        segment_sum(h, index, 3)
    with pytest.raises(GCLDataError, match='index must be'):
        segment_sum(h, index[:-1], 6)
    with pytest.raises(GCLConfigError, match='backend'):
        segment_reduce(h, index, 6, backend='cuda-magic')
    if not has_torch_scatter():
        with pytest.raises(GCLConfigError, match='torch-scatter'):
            segment_reduce(h, index, 6, backend='torch_scatter')
