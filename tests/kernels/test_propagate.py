"""CSR propagation equals GCNConv (values and gradients); the encoder's two paths agree."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.testing import assert_close
from torch_geometric.nn import GCNConv
from torch_geometric.utils import dropout_edge

from gcl.encoders import GCNEncoder
from gcl.errors import GCLConfigError
from gcl.kernels import CachedAdjacency, csr_propagate, gcn_adjacency, gcn_csr_adjacency


def _graph(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, 80, (2, 400), generator=g)
    x = torch.randn(80, 12, generator=g, dtype=torch.float64)
    return x, edge_index


@pytest.mark.parametrize('weighted', [False, True])
def test_csr_equals_gcnconv_propagation(weighted: bool) -> None:
    x, edge_index = _graph()
    torch.manual_seed(0)
    view, _ = dropout_edge(edge_index, p=0.3)
    weight = torch.rand(view.size(1), dtype=torch.float64) if weighted else None
    conv = GCNConv(12, 12).double()
    torch.nn.init.eye_(conv.lin.weight)
    torch.nn.init.zeros_(conv.bias)
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    ref = conv(x1, view, weight)
    out = csr_propagate(gcn_csr_adjacency(view, 80, weight, dtype=torch.float64), x2)
    assert_close(out, ref)
    ref.pow(2).sum().backward()
    out.pow(2).sum().backward()
    assert_close(x2.grad, x1.grad)


def test_encoder_paths_agree_on_an_asymmetric_view() -> None:
    torch.manual_seed(0)
    x, edge_index = _graph(1)
    view, _ = dropout_edge(edge_index, p=0.4)               # directed entries dropped
    a = GCNEncoder(12, 8, propagation='gcnconv').double()
    b = GCNEncoder(12, 8, propagation='csr').double()
    b.load_state_dict(a.state_dict())                       # same parameters
    assert_close(b(x, view), a(x, view))
    assert GCNEncoder(12, 8).propagation == 'auto'
    assert GCNEncoder(12, 8)._use_csr(x, view)              # 'auto' is CSR on CPU
    assert not a._use_csr(x, view)
    copy.deepcopy(b)                                        # the cache does not block copies
    with pytest.raises(GCLConfigError, match='propagation'):
        GCNEncoder(12, 8, propagation='magic')


def test_cache_hits_same_graph_and_misses_new_one() -> None:
    _, edge_index = _graph(2)
    cache = CachedAdjacency()
    first = cache(edge_index, 80)
    assert cache(edge_index, 80) is first
    assert cache(edge_index.clone(), 80) is not first
    edge_index.add_(0)                                      # in-place change bumps the version
    assert cache(edge_index, 80) is not first


@pytest.mark.parametrize('weighted', [False, True])
def test_fast_path_on_coalesced_graph_matches_gcnconv_with_gradients(weighted: bool) -> None:
    """A coalesced, loop-free graph and its dropout views take the sort-free fast path (self-loops
    as a diagonal, transposed CSR for backward); values and parameter gradients match GCNConv."""
    from torch_geometric.utils import remove_self_loops, to_undirected

    torch.manual_seed(3)
    x, edge_index = _graph(3)
    edge_index, _ = remove_self_loops(to_undirected(edge_index, num_nodes=80))
    view, _ = dropout_edge(edge_index, p=0.3)
    weight = torch.rand(view.size(1), dtype=torch.float64) if weighted else None
    adjacency = gcn_adjacency(view, 80, weight, dtype=torch.float64)
    assert adjacency.self_weight is not None                               # fast path taken
    a = GCNEncoder(12, 8, propagation='gcnconv').double()
    b = GCNEncoder(12, 8, propagation='csr').double()
    b.load_state_dict(a.state_dict())
    out_a, out_b = a(x, view, weight), b(x, view, weight)
    assert_close(out_b, out_a)
    out_a.pow(2).sum().backward()
    out_b.pow(2).sum().backward()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert_close(pb.grad, pa.grad)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_sparse_mm_gives_torch_sparse_mm_bits(dtype: torch.dtype) -> None:
    from gcl.kernels.propagate import sparse_mm

    x, edge_index = _graph()
    matrix = gcn_adjacency(edge_index, 80, dtype=dtype).forward                  # CSR [80, 80]
    dense = x.to(dtype)
    for operand in (dense, dense.t().contiguous().t(), dense[:, :5]):          # any strides
        assert torch.equal(sparse_mm(matrix, operand), torch.sparse.mm(matrix, operand))


def test_addmm_out_with_beta_zero_ignores_what_out_held() -> None:
    # sparse_mm writes into an uninitialised tensor; torch must not read it when beta = 0
    x, edge_index = _graph()
    matrix = gcn_adjacency(edge_index, 80, dtype=torch.float32).forward
    dense = x.float()
    out = torch.full((80, 12), float('nan'))
    result = torch.addmm(out, matrix, dense, beta=0, out=out)
    assert result.data_ptr() == out.data_ptr()
    assert torch.equal(result, torch.sparse.mm(matrix, dense))


def test_sparse_mm_stays_differentiable_under_grad_mode() -> None:
    from gcl.kernels.propagate import sparse_mm

    x, edge_index = _graph()
    matrix = gcn_adjacency(edge_index, 80).forward.double()
    dense = x.clone().requires_grad_()
    sparse_mm(matrix, dense).sum().backward()                  # falls back to torch.sparse.mm
    assert dense.grad is not None and dense.grad.shape == dense.shape
