"""Shared fixtures: small graphs, a per-session data root, and the staged datasets folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / 'shared' / 'datasets'

# Staged copies of datasets beyond the shipped Cora / CiteSeer (Amazon, Coauthor, multiplex).
if SHARED_DATASETS.is_dir() and 'GCL_DATASETS_PATH' not in os.environ:
    os.environ['GCL_DATASETS_PATH'] = str(SHARED_DATASETS)

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(autouse=True)
def _ieee_subnormals():
    """Every test starts with torch's default float semantics: the ``gcl`` command (run here
    in-process by CliRunner) turns on flush-to-zero for its whole process."""
    torch.set_flush_denormal(False)
    yield
    torch.set_flush_denormal(False)


@pytest.fixture(scope='session')
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dataset cache for the whole test session (processing Cora once)."""
    return tmp_path_factory.mktemp('gcl-data')


@pytest.fixture(scope='session')
def cora(data_root: Path) -> Data:
    from gcl.data import load_dataset

    return load_dataset('cora', root=data_root)


@pytest.fixture
def sbm_graph() -> Data:
    """A 3-block planted-partition graph (60 nodes) with features correlated with the blocks."""
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    sizes = [20, 20, 20]
    probs = [[0.5, 0.02, 0.02], [0.02, 0.5, 0.02], [0.02, 0.02, 0.5]]
    edge_index = stochastic_blockmodel_graph(sizes, probs, directed=False)
    y = torch.arange(3).repeat_interleave(20)
    x = torch.nn.functional.one_hot(y, 3).float().repeat(1, 4)
    x = x + 0.3 * torch.randn(x.shape, generator=generator)
    return Data(x=x, edge_index=edge_index, y=y, num_nodes=60)


def shared_dataset_or_skip(folder: str) -> Path:
    """The staged folder ``folder`` under ../shared/datasets, or skip the test with a reason."""
    path = SHARED_DATASETS / folder
    if not path.is_dir():
        pytest.skip(f'{path} is not available (staged datasets live in ../shared/datasets)')
    return path


# Each registered method at a size that trains in well under a second on the graph above.
SMALL_METHOD_PARAMS = {
    'grace': dict(hidden=8),
    'gca': dict(hidden=8),
    'csgcl': dict(hidden=8, t0=2, gamma_max=1.0),
    'gcool': dict(hidden=16, first_hidden=24, proj_hidden=16, num_communities=3, stride=2),
    'pamc': dict(hidden=[32, 32, 64], ae_epochs=2, kmeans_n_init=2),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test asking for ``small_method_name`` runs once per method of SMALL_METHOD_PARAMS."""
    if 'small_method_name' in metafunc.fixturenames:
        metafunc.parametrize('small_method_name', sorted(SMALL_METHOD_PARAMS))


@pytest.fixture
def small_method(tmp_path: Path) -> Callable:
    """``small_method(name, epochs)``: an unfitted method of SMALL_METHOD_PARAMS, seed 0 (CSGCL's
    community cache in the test's own folder)."""
    from gcl.methods import get_method

    def make(name: str, epochs: int):  # noqa: ANN202
        params = dict(SMALL_METHOD_PARAMS[name], epochs=epochs, random_state=0)
        if name == 'csgcl':
            params['cache_dir'] = str(tmp_path / 'communities')
        return get_method(name)(**params)

    return make
