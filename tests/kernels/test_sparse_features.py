"""Sparse first layer: X diag(m) W^T from CSR equals the dense masked product (values and
gradients), the encoder and every GCN method give the same numbers either way, and 'auto'
picks sparse only for sparse features."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph

from gcl.augment.functional import (
    drop_feature,
    drop_feature_weighted,
    feature_keep_mask,
    feature_keep_mask_weighted,
)
from gcl.encoders import GCNEncoder
from gcl.errors import GCLConfigError
from gcl.kernels.propagate import TILE_BYTES, column_tile
from gcl.kernels.sparse_features import SparseFeatures, sparse_features_pay_off
from gcl.methods import get_method


def _bag_of_words(n: int, f: int, density: float, seed: int = 0,
                  dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, f, generator=g) < density).to(dtype)
    x[:, 0] = 1.0                                   # no empty rows
    return x / x.sum(1, keepdim=True)               # row-normalised, as the loaders do


@pytest.mark.parametrize('channels', [16, 300])     # 300 > one 256-column tile
def test_linear_equals_dense_masked_product(channels: int) -> None:
    x = _bag_of_words(50, 40, 0.1)
    keep = torch.rand(40, generator=torch.Generator().manual_seed(1)) > 0.3
    w_sparse = torch.randn(channels, 40, dtype=torch.float64, requires_grad=True)
    w_dense = w_sparse.detach().clone().requires_grad_()
    out = SparseFeatures.from_dense(x).masked(keep).linear(w_sparse)      # [50, C]
    ref = (x * keep.double()) @ w_dense.t()
    assert_close(out, ref)
    upstream = torch.randn_like(ref)
    (out * upstream).sum().backward()
    (ref * upstream).sum().backward()
    assert_close(w_sparse.grad, w_dense.grad)
    assert torch.all(w_sparse.grad[:, ~keep] == 0)   # masked columns get no gradient


def test_column_tile_rule() -> None:
    # the largest power of two in [16, 256] whose [rows, tile] float32 tile fits in 8 MiB
    assert column_tile(3703) == 256                  # CiteSeer's features: as before
    assert column_tile(6805) == 256                  # Coauthor-CS forward: W^T [F, C]
    assert column_tile(18333) == 64                  # Coauthor-CS backward: dY [N, C]
    assert column_tile(18333, itemsize=8) == 32
    assert column_tile(10 ** 7) == 16                # never narrower than 16
    for rows in (1, 100, 5000, 18333, 40000):
        tile = column_tile(rows)
        assert tile & (tile - 1) == 0 and 16 <= tile <= 256
        assert tile == 16 or rows * tile * 4 <= TILE_BYTES


def test_tiling_gives_the_same_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forward and weight gradient are bit-identical whatever the column tiles, so the tile
    rule is a speed setting only (float32, C = 300 spans several tiles of every width)."""
    import gcl.kernels.sparse_features as sf

    x = _bag_of_words(400, 90, 0.05, dtype=torch.float32)
    keep = torch.rand(90, generator=torch.Generator().manual_seed(2)) > 0.3
    weight = torch.randn(300, 90, generator=torch.Generator().manual_seed(3))
    upstream = torch.randn(400, 300, generator=torch.Generator().manual_seed(4))
    features = SparseFeatures.from_dense(x).masked(keep)
    results = []
    for tile in (0, 16, 64, 256):
        monkeypatch.setattr(sf, 'column_tile', lambda rows, itemsize=4, t=tile: t)
        w = weight.clone().requires_grad_()
        out = features.linear(w)
        out.backward(upstream)
        results.append((out.detach(), w.grad))
    for out, grad in results[1:]:
        assert torch.equal(out, results[0][0]) and torch.equal(grad, results[0][1])


def test_to_dense_shape_and_errors() -> None:
    x = _bag_of_words(10, 6, 0.3)
    features = SparseFeatures.from_dense(x)
    assert features.shape == (10, 6) and features.size(0) == 10 and features.size(1) == 6
    keep = torch.tensor([True, False, True, True, False, True])
    assert_close(features.masked(keep).to_dense(), x * keep.double())
    assert 0 < features.density < 1
    with pytest.raises(GCLConfigError, match='keep must have shape'):
        features.masked(torch.ones(5, dtype=torch.bool))
    with pytest.raises(GCLConfigError, match=r'\[N, F\]'):
        SparseFeatures.from_dense(torch.ones(3))
    with pytest.raises(GCLConfigError, match='CSR'):
        SparseFeatures(x, x.t())


def test_encoder_reads_sparse_features_like_dense() -> None:
    torch.manual_seed(0)
    x = _bag_of_words(60, 30, 0.1)
    edge_index = torch.randint(0, 60, (2, 300))
    keep = torch.rand(30) > 0.4
    encoder = GCNEncoder(30, 8, propagation='gcnconv').double()
    ref = encoder(x * keep.double(), edge_index)
    out = encoder(SparseFeatures.from_dense(x).masked(keep), edge_index)
    assert_close(out, ref)
    encoder.zero_grad()
    ref.sum().backward()
    dense_grads = [p.grad.clone() for p in encoder.parameters()]
    encoder.zero_grad()
    out.sum().backward()
    for got, want in zip((p.grad for p in encoder.parameters()), dense_grads):
        assert_close(got, want)


def test_keep_masks_draw_what_drop_feature_draws() -> None:
    x = torch.rand(5, 20)
    torch.manual_seed(3)
    _, keep_ref = drop_feature(x, 0.4)
    torch.manual_seed(3)
    assert torch.equal(feature_keep_mask(20, 0.4), keep_ref)
    p = torch.linspace(0, 0.9, 20)
    torch.manual_seed(4)
    _, keep_ref = drop_feature_weighted(x, p)
    torch.manual_seed(4)
    assert torch.equal(feature_keep_mask_weighted(p), keep_ref)


def test_auto_rule() -> None:
    assert sparse_features_pay_off(_bag_of_words(100, 200, 0.01), 'auto')
    assert not sparse_features_pay_off(torch.randn(100, 20), 'auto')
    assert sparse_features_pay_off(torch.randn(10, 5), True)
    assert not sparse_features_pay_off(_bag_of_words(100, 200, 0.01), 'false')
    with pytest.raises(GCLConfigError, match='sparse_input'):
        sparse_features_pay_off(torch.randn(3, 3), 'sometimes')


@pytest.fixture(scope='module')
def bow_graph() -> Data:
    """120 nodes in 3 blocks with sparse bag-of-words features (about 4% non-zero)."""
    torch.manual_seed(0)
    edge_index = stochastic_blockmodel_graph([40, 40, 40], [[0.3, 0.02, 0.02],
                                                           [0.02, 0.3, 0.02],
                                                           [0.02, 0.02, 0.3]])
    y = torch.arange(3).repeat_interleave(40)
    x = _bag_of_words(120, 150, 0.03, dtype=torch.float32)
    x[torch.arange(120), 10 + y] += 0.5                   # a word per block
    return Data(x=x, edge_index=edge_index, y=y, num_nodes=120)


@pytest.mark.parametrize('name', ['grace', 'gca', 'csgcl', 'gcool'])
def test_methods_train_the_same_either_way(name: str, bow_graph: Data) -> None:
    runs = {}
    for sparse in (False, True):
        method = get_method(name)(epochs=4, hidden=16, random_state=0, sparse_input=sparse)
        if name == 'csgcl':
            method.config['loss']['t0'] = 2
        method.fit(bow_graph)
        runs[sparse] = ([h['loss'] for h in method.history_], method.embed(bow_graph))
        assert isinstance(method.input_features(bow_graph), SparseFeatures) is sparse
    assert_close(torch.tensor(runs[True][0]), torch.tensor(runs[False][0]), rtol=1e-5, atol=1e-6)
    assert_close(runs[True][1], runs[False][1], rtol=1e-4, atol=1e-5)


def test_auto_keeps_dense_features_dense(sbm_graph: Data) -> None:
    method = get_method('grace')(epochs=1, hidden=8, random_state=0)
    assert method.config['encoder']['sparse_input'] == 'auto'
    assert method.input_features(sbm_graph) is sbm_graph.x     # Gaussian features: dense
