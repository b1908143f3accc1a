"""gcl: graph contrastive learning (GRACE, GCA, gCooL, CSGCL, PamC) on PyTorch Geometric.

Python API in one screen::

    import gcl
    data = gcl.data.from_edge_index(edge_index, x, y)      # or gcl.load_dataset('cora')
    model = gcl.GRACE(hidden=128, epochs=200, random_state=0).fit(data)  # or gcl.GCA, CSGCL...
    z = model.embed(data)                                  # [N, 128], projection head unused
    report = gcl.evaluate(z, data, tasks=('node', 'cluster'))
"""

__version__ = '0.1.0'

from gcl._lazy import lazy_names as _lazy_names

# Names load on first use (PEP 562), so that `import gcl.cli.main` -- the `gcl` command --
# does not import torch and PyG (3 s) before it knows what it will do: `gcl --help` answers at
# once, and `gcl bench` starts itself again under its malloc settings cheaply
# (gcl.utils.memory). `from gcl import GRACE` and `gcl.GRACE` work as before.
_LAZY: dict[str, str] = {
    'data': 'gcl.data',
    'load_config': 'gcl.config',
    'load_dataset': 'gcl.data',
    'DatasetNotFoundError': 'gcl.errors',
    'GCLCheckpointError': 'gcl.errors',
    'GCLConfigError': 'gcl.errors',
    'GCLDataError': 'gcl.errors',
    'GCLError': 'gcl.errors',
    'NotFittedError': 'gcl.errors',
    'evaluate': 'gcl.eval',
    'CSGCL': 'gcl.methods',
    'GCA': 'gcl.methods',
    'GRACE': 'gcl.methods',
    'SCGC': 'gcl.methods',
    'GCooL': 'gcl.methods',
    'GCooLMultiplex': 'gcl.methods',
    'Method': 'gcl.methods',
    'PamC': 'gcl.methods',
    'get_method': 'gcl.methods',
    'run': 'gcl.train.run',
    'seed_everything': 'gcl.utils.seed',
}


__getattr__, __dir__ = _lazy_names(__name__, _LAZY)

__all__ = [
    '__version__',
    'data',
    'load_dataset',
    'load_config',
    'evaluate',
    'run',
    'seed_everything',
    'get_method',
    'Method',
    'GRACE',
    'GCA',
    'CSGCL',
    'GCooL',
    'GCooLMultiplex',
    'PamC',
    'SCGC',
    'GCLError',
    'GCLDataError',
    'GCLConfigError',
    'GCLCheckpointError',
    'DatasetNotFoundError',
    'NotFittedError',
]
