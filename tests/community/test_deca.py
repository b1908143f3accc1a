"""Sparse DeCA equals the official dense form in values and gradients (ALGORITHMS.md §3.2c)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.utils import erdos_renyi_graph

from gcl.community import deca_loss, deca_loss_dense, soft_assignment
from gcl.errors import GCLConfigError, GCLDataError


def case(seed: int, n: int = 23, k: int = 5, d: int = 4):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    edge_index = erdos_renyi_graph(n, 0.2, directed=True)
    # duplicates and a self-loop, as augmented views may hold
    edge_index = torch.cat([edge_index, edge_index[:, :4], torch.tensor([[3], [3]])], dim=1)
    h = F.normalize(torch.randn(n, d, generator=gen, dtype=torch.float64), dim=1)
    centers = torch.randn(k, d, generator=gen, dtype=torch.float64)
    return edge_index, h, centers


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('similarity', ['cos', 'rbf'])
@pytest.mark.parametrize('lamda', [0.1, 0.9, 1.0])
def test_sparse_equals_dense_values_and_gradients(seed, similarity, lamda):
    edge_index, h, centers = case(seed)
    c_sparse = centers.clone().requires_grad_()
    c_dense = centers.clone().requires_grad_()
    r_sparse = soft_assignment(h, c_sparse, 0.4, similarity)
    r_dense = soft_assignment(h, c_dense, 0.4, similarity)
    sparse = deca_loss(r_sparse, edge_index, lamda)
    dense = deca_loss_dense(r_dense, edge_index, lamda)
    torch.testing.assert_close(sparse, dense, rtol=1e-10, atol=1e-12)
    sparse.backward()
    dense.backward()
    torch.testing.assert_close(c_sparse.grad, c_dense.grad, rtol=1e-8, atol=1e-12)


def test_not_row_stochastic_assignment_also_matches():
    # S = sum_kl DF_kl is computed, not assumed to be |E|
    edge_index, _, _ = case(0)
    r = torch.rand(23, 5, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(deca_loss(r, edge_index, 0.7), deca_loss_dense(r, edge_index, 0.7))
    assert torch.autograd.gradcheck(lambda a: deca_loss(a, edge_index, 0.7), (r,))


def test_closed_form_for_row_stochastic():
    # L = -(lambda + n - 1)/(n(n-1)) tr(R^T A R) + tr(R^T R)/(2n) + lambda |E| / (n(n-1))
    edge_index = torch.tensor([[0, 1, 1, 2, 3], [1, 0, 2, 1, 0]])
    r = torch.softmax(torch.randn(5, 3, dtype=torch.float64), dim=1)
    n, lamda = 5, 0.9
    intra = sum(float(r[i] @ r[j]) for i, j in edge_index.t().tolist())
    expected = (-(lamda + n - 1) * intra + lamda * 5) / (n * (n - 1)) + float((r * r).sum()) / 2 / n
    assert float(deca_loss(r, edge_index, lamda)) == pytest.approx(expected, rel=1e-12)


def test_assignment_shapes_detach_and_errors():
    _, h, centers = case(1)
    h = h.clone().requires_grad_()
    r = soft_assignment(h, centers, 0.5)
    assert r.shape == (23, 5)
    torch.testing.assert_close(r.sum(1), torch.ones(23, dtype=torch.float64))
    assert not r.requires_grad                      # detached h, plain centres
    r2 = soft_assignment(h, centers.requires_grad_(), 0.5, 'rbf', detach=False)
    r2.sum().backward()
    assert h.grad is not None
    with pytest.raises(GCLConfigError, match='rbf'):
        soft_assignment(h, centers, 0.5, 'euclid')
    with pytest.raises(GCLDataError, match='ids 0..4'):
        deca_loss(torch.rand(5, 2), torch.tensor([[0], [5]]))
