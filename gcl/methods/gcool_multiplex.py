r"""gCooL on multiplex graphs (ALGORITHMS.md §3.4): contrast between relations, pairwise.

The official repository has no multiplex code (§3.4 [NF]); the abstract says gCooL "can be
naturally adapted to multiplex graphs" by contrasting the relations (layers) pairwise. gcl's
adaptation keeps the single-graph objective and changes only what the views are:

- each relation :math:`r` (``data.edge_index_<r>``, see :mod:`gcl.data.multiplex`) gives **one**
  GCA-adaptive view per step, drawn from that relation's edges and centralities (rates
  ``augment.p_edge`` / ``p_feat``: one value for all relations, or one per relation in order);
- relation :math:`r` is embedded by its own GCN encoder (``multiplex.shared_encoder: false``,
  the default, as DMGI / HDMI keep one encoder per relation) or by one shared encoder; the
  projection head and the ``K`` community centres are shared, so all views live in one space;
- the node loss and ReSC are computed for every pair of relations :math:`(r, s)`, :math:`r < s`,
  with :math:`h_r` as anchors and :math:`h_s` as the other view (gCooL's view 1 / view 2), and
  averaged over pairs; DeCA is computed per relation (soft assignments of that relation's view on
  its own edges) and averaged. With two relations (ACM: PAP, PLP; IMDB: MDM, MAM) this is exactly
  single-graph gCooL with the two relations as the two views;
- the embedding used for evaluation is the **mean over relations** of each encoder's output on
  its un-augmented relation, :math:`z = \frac1R \sum_r f_r(X, A_r)` (``multiplex.combine:
  mean``; ``concat`` concatenates instead), in the spirit of DMGI's consensus embedding.
  The shipped ACM and IMDB configs concatenate (``[N, R * D]``): on the fixed validation sets
  the mean lets the weaker relation (ACM's PLP, a paper-subject-paper near-clique graph) blur
  the stronger one, and concatenation leaves the weighting to the linear probe
  (benchmarks/RESULTS.md, gCooL multiplex).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from gcl.data.multiplex import is_multiplex, relation_names
from gcl.errors import GCLConfigError, GCLDataError
from gcl.methods.gcool import Branch, GCooL

__all__ = ['GCooLMultiplex', 'MultiplexEncoder', 'use_multiplex', 'multiplex_branches',
           'multiplex_edge_indices']

COMBINE = ('mean', 'concat')


class MultiplexEncoder(nn.Module):
    """Encoders of the relations and their combination into one embedding.

    Args:
        encoders: the distinct encoders (one per relation, or one shared).
        index: for each relation, the position of its encoder in ``encoders``.
        combine: ``'mean'`` (``[N, D]``) or ``'concat'`` (``[N, R * D]``).

    Shapes:
        - **input:** ``x [N, F]``, a list of R ``edge_index [2, E_r]``; **output:** see combine
    """

    def __init__(self, encoders: Sequence[nn.Module], index: Sequence[int],
                 combine: str = 'mean') -> None:
        super().__init__()
        if combine not in COMBINE:
            raise GCLConfigError(f'multiplex.combine must be one of {COMBINE}, got {combine!r}')
        self.encoders = nn.ModuleList(encoders)
        self.index = list(index)
        self.combine = combine

    def forward(self, x: Tensor, edge_indices: Sequence[Tensor]) -> Tensor:
        if len(edge_indices) != len(self.index):
            raise GCLDataError(f'expected {len(self.index)} relations, got {len(edge_indices)}')
        zs = [self.encoders[i](x, e) for i, e in zip(self.index, edge_indices)]  # R x [N, D]
        if self.combine == 'concat':
            return torch.cat(zs, dim=1)
        return torch.stack(zs).mean(dim=0)


def use_multiplex(method: GCooL, data: Data) -> bool:
    """``multiplex.mode``: ``auto`` (multiplex when ``data`` has relations), ``on`` (required),
    ``off`` (treat ``data.edge_index``, the union of relations, as one graph)."""
    mode = method.config['multiplex']['mode']
    if isinstance(mode, bool):          # YAML 1.1 reads a bare on / off as a boolean
        mode = 'on' if mode else 'off'
    mode = str(mode).lower()
    if mode not in ('auto', 'on', 'off'):
        raise GCLConfigError(f'multiplex.mode must be auto, on or off, got {mode!r}')
    if mode == 'off':
        return False
    if mode == 'on' and not is_multiplex(data):
        raise GCLDataError('multiplex.mode is on, but this graph has no relations; load a '
                           'multiplex dataset (acm-multiplex, imdb-multiplex) or set '
                           'multiplex.mode=off')
    return is_multiplex(data)


def _relations(method: GCooL, data: Data) -> list[str]:
    available = relation_names(data)
    wanted = method.config['multiplex']['relations'] or available
    if isinstance(wanted, str):
        wanted = [wanted]
    missing = [r for r in wanted if r not in available]
    if missing:
        raise GCLConfigError(f'multiplex.relations names {missing}, but the graph has '
                             f'{", ".join(available)}')
    if len(wanted) < 2:
        raise GCLConfigError('the multiplex variant contrasts relations pairwise and needs at '
                             f'least 2, got {wanted}; use multiplex.mode=off for one graph')
    return list(wanted)


def multiplex_branches(method: GCooL, data: Data) -> list[Branch]:
    """One adaptive view per relation, each with its own drop probabilities."""
    relations = _relations(method, data)
    p_edge = method._rates('p_edge', len(relations))
    p_feat = method._rates('p_feat', len(relations))
    shared = bool(method.config['multiplex']['shared_encoder'])
    cache: dict[Any, Any] = {}
    branches = []
    for i, relation in enumerate(relations):
        edge_index = data[f'edge_index_{relation}']
        pe, pf = method._adaptive(edge_index, data.x, data.num_nodes, p_edge[i], p_feat[i],
                                  cache)
        branches.append(Branch(relation, edge_index, pe, pf, 0 if shared else i))
    return branches


def multiplex_edge_indices(method: GCooL, data: Data) -> list[Tensor]:
    """The un-augmented edges of each relation the model was built for, in branch order."""
    return [data[f'edge_index_{branch.name}'] for branch in method.branches_]


class GCooLMultiplex(GCooL):
    """gCooL's multiplex variant (``multiplex.mode: on``); see the module docstring.

    ``gcl train --method gcool --dataset acm-multiplex`` selects it automatically
    (``mode: auto``); this class makes the choice explicit and fails on single graphs.

    Example:
        >>> data = gcl.load_dataset('acm-multiplex')          # relations PAP, PLP
        >>> z = GCooLMultiplex(random_state=0).fit(data).embed(data)   # [N, D] (mean)
    """

    name = 'gcool-multiplex'
    description = 'gCooL on multiplex graphs: relations contrasted pairwise, one encoder each'

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        config = super().default_config()
        config['multiplex']['mode'] = 'on'
        config['eval']['tasks'] = ['node', 'cluster']
        config['eval']['node_protocol'] = 'public'
        return config
