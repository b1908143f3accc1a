"""Datasets: the catalog, offline-first loaders, custom graphs and validation."""

from gcl.data.acm3025 import build_acm_pap  # noqa: F401  (registers acm)
from gcl.data.catalog import CATALOG, DatasetSpec, get_spec, list_datasets
from gcl.data.custom import from_csv, from_edge_index, from_networkx, from_scipy
from gcl.data.loaders import (
    data_root,
    data_search_paths,
    dataset_status,
    get_idx_split,
    load_dataset,
)
from gcl.data.multiplex import is_multiplex, multiplex_layer, relation_names
from gcl.data.synthetic import synthetic_sbm  # noqa: F401  (registers synthetic-sbm)
from gcl.data.validate import check_graph

__all__ = [
    'CATALOG',
    'DatasetSpec',
    'get_spec',
    'list_datasets',
    'load_dataset',
    'data_root',
    'data_search_paths',
    'dataset_status',
    'get_idx_split',
    'check_graph',
    'from_edge_index',
    'from_networkx',
    'from_scipy',
    'from_csv',
    'is_multiplex',
    'multiplex_layer',
    'relation_names',
]
