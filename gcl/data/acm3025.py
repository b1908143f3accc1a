"""``acm``: ACM-3025's paper-author-paper (PAP) graph as a plain graph, for PamC / SDCN.

SDCN's ACM (the dataset PamC clusters, ALGORITHMS.md §5.3) is HAN's ACM-3025: 3,025 papers,
1,870 binary features, 3 classes, with the PAP relation as its graph (13,128 undirected edges,
the count of SDCN's ``acm_graph.txt``). gcl reads the staged ``ACM-multiplex/ACM3025.mat``
through the multiplex loader (:mod:`gcl.data.multiplex`, dataset ``acm-multiplex``) and keeps
the PAP layer, without self-loops; nothing is duplicated on disk.
"""

from __future__ import annotations

from pathlib import Path

from torch_geometric.data import Data
from torch_geometric.utils import remove_self_loops

from gcl.data.catalog import DatasetSpec, get_spec
from gcl.data.loaders import _GENERATED
from gcl.data.multiplex import build_multiplex

__all__ = ['build_acm_pap']


def build_acm_pap(spec: DatasetSpec, root: Path, relation: str = 'PAP') -> Data:
    """Catalog builder (``loader='acm-pap'``): one relation of ACM-3025 (default PAP)."""
    data = build_multiplex(get_spec('acm-multiplex'), root, relation=relation)
    data.edge_index, _ = remove_self_loops(data.edge_index)
    return data


_GENERATED['acm-pap'] = build_acm_pap
