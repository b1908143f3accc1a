"""The GCN encoder shared by GRACE, GCA, gCooL and CSGCL (ALGORITHMS.md §0.1)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GCNConv

from gcl.errors import GCLConfigError
from gcl.kernels.gemm import gemm_linear
from gcl.kernels.propagate import CachedAdjacency, csr_propagate
from gcl.kernels.sparse_features import SparseFeatures

__all__ = ['GCNEncoder', 'make_activation']

_PROPAGATIONS = ('auto', 'gcnconv', 'csr')
_CSR_AUTO_BYTES = 2 ** 28   # 'auto' off CPU: CSR once GCNConv's [E, C] messages would pass 256 MiB

# F.rrelu with training=False is a leaky ReLU with slope (lower + upper) / 2 (GRACE/GCA/CSGCL code).
_RRELU_EVAL_SLOPE = (1.0 / 8.0 + 1.0 / 3.0) / 2.0


class _RReLUEval(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, _RRELU_EVAL_SLOPE)


def make_activation(name: str) -> nn.Module:
    """Activation by name, with the official repositories' semantics.

    ``'relu'``; ``'prelu'`` (one learnable slope); ``'rrelu'`` (``F.rrelu(training=False)``,
    i.e. a deterministic leaky ReLU of slope ~0.2292, as GRACE/GCA/CSGCL call it);
    ``'rrelu-random'`` (``nn.RReLU``, randomised in training, as gCooL uses it); ``'elu'``.
    """
    table = {
        'relu': nn.ReLU,
        'prelu': nn.PReLU,
        'rrelu': _RReLUEval,
        'rrelurandom': nn.RReLU,
        'elu': nn.ELU,
        'identity': nn.Identity,
    }
    key = name.lower().replace('-', '').replace('_', '')
    if key not in table:
        raise GCLConfigError(f'unknown activation {name!r}; choose one of: relu, prelu, rrelu, '
                             'rrelu-random, elu, identity')
    return table[key]()


class GCNEncoder(nn.Module):
    r"""``layers`` x :class:`~torch_geometric.nn.GCNConv` (self-loops, symmetric normalisation,
    bias), with the activation applied after **every** layer, the last included, as in the official
    GRACE/GCA/CSGCL code.

    Widths: ``in -> first_hidden -> ... -> first_hidden -> out``. GRACE/GCA/CSGCL use
    ``first_hidden = 2 * out``; gCooL sets it explicitly. One activation module is shared by all
    layers, so ``prelu`` has a single learnable slope, as in the official code.

    ``propagation`` picks how each layer aggregates (same parameters, same numbers up to float
    rounding): ``'gcnconv'`` calls the ``GCNConv`` modules (gather/scatter of an ``[E, C]`` message
    tensor, normalisation recomputed per layer); ``'csr'`` normalises the graph once per forward
    into a sparse CSR matrix (cached for a graph seen again) and runs one SpMM per layer
    (:mod:`gcl.kernels.propagate`; several times faster on CPU, no per-edge buffer, see
    ``benchmarks/KERNELS.md``); ``'auto'`` (default) takes ``'csr'`` on CPU, where it measured
    4.4-6.5x faster per layer at every size from 2,708 to 200,000 nodes (KERNELS.md), and
    elsewhere keeps ``'gcnconv'`` until its message tensor would exceed 256 MiB.

    ``x`` may be a :class:`~gcl.kernels.sparse_features.SparseFeatures` (bag-of-words features in
    CSR, with the view's column mask applied to the first weight matrix): the first layer is then
    one SpMM and the propagation is ``'csr'``; same parameters, same numbers up to rounding.

    Shapes:
        - **input:** x ``[N, F]`` (dense or :class:`SparseFeatures`), edge_index ``[2, E]``;
          **output:** ``[N, out]``
    """

    def __init__(self, in_channels: int, out_channels: int, first_hidden: int | None = None,
                 layers: int = 2, activation: str = 'relu', cached: bool = False,
                 propagation: str = 'auto') -> None:
        super().__init__()
        if layers < 1:
            raise GCLConfigError(f'the encoder needs at least one layer, got layers={layers}')
        if propagation not in _PROPAGATIONS:
            raise GCLConfigError(f'unknown propagation {propagation!r}; choose one of '
                                 f'{", ".join(_PROPAGATIONS)}')
        self.propagation = propagation
        self._adjacency = CachedAdjacency()
        first_hidden = first_hidden or 2 * out_channels
        widths = [in_channels] + [first_hidden] * (layers - 1) + [out_channels]
        self.convs = nn.ModuleList(GCNConv(a, b, cached=cached)
                                   for a, b in zip(widths[:-1], widths[1:]))
        self.activation = make_activation(activation)
        self.out_channels = out_channels

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()
        if isinstance(self.activation, nn.PReLU):
            nn.init.constant_(self.activation.weight, 0.25)

    def forward(self, x: Tensor | SparseFeatures, edge_index: Tensor,
                edge_weight: Tensor | None = None) -> Tensor:
        sparse = isinstance(x, SparseFeatures)
        if sparse or self._use_csr(x, edge_index):
            adjacency = self._adjacency(edge_index, x.size(0), edge_weight, dtype=x.dtype)
            for i, conv in enumerate(self.convs):
                lin = (x.linear(conv.lin.weight) if sparse and i == 0          # [N, C]
                       else gemm_linear(x, conv.lin.weight, conv.lin.bias))
                h = csr_propagate(adjacency, lin)                                      # as GCNConv
                if conv.bias is not None:
                    h = h + conv.bias
                x = self.activation(h)
            return x
        for conv in self.convs:
            x = self.activation(conv(x, edge_index, edge_weight))
        return x

    def _use_csr(self, x: Tensor, edge_index: Tensor) -> bool:
        if self.propagation != 'auto':
            return self.propagation == 'csr'
        if x.device.type == 'cpu':
            return True
        widest = max(conv.out_channels for conv in self.convs)
        return edge_index.size(1) * widest * x.element_size() > _CSR_AUTO_BYTES


