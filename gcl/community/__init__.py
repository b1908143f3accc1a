"""Community detection and community strength (ALGORITHMS.md §3, §4.1).

Detectors are sklearn-shaped (``fit(data) -> self``, ``labels_``, ``modularity_``,
``fit_predict``, ``get_params``); graphs are a PyG ``Data`` or ``(edge_index, num_nodes)``.
Exporting a detector here registers it (``detect(data, algorithm='louvain')``).
"""

from gcl.community.base import (
    CommunityDetector,
    as_graph,
    check_communities,
    relabel_communities,
    to_networkx_graph,
)
from gcl.community.deca import SIMILARITIES, deca_loss, deca_loss_dense, soft_assignment
from gcl.community.detect import (
    DETECTORS,
    cache_path,
    default_cache_dir,
    detect,
    get_detector,
    graph_checksum,
)
from gcl.community.label_propagation import LabelPropagation
from gcl.community.leiden import Leiden
from gcl.community.louvain import Louvain
from gcl.community.modularity import community_strength, modularity, node_strength
from gcl.community.report import community_report, describe_communities

__all__ = [
    'CommunityDetector',
    'Louvain',
    'Leiden',
    'LabelPropagation',
    'detect',
    'cache_path',
    'get_detector',
    'DETECTORS',
    'default_cache_dir',
    'graph_checksum',
    'soft_assignment',
    'deca_loss',
    'deca_loss_dense',
    'SIMILARITIES',
    'modularity',
    'community_strength',
    'node_strength',
    'community_report',
    'describe_communities',
    'as_graph',
    'check_communities',
    'relabel_communities',
    'to_networkx_graph',
]
