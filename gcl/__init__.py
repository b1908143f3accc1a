"""gcl: graph contrastive learning (GRACE, GCA, gCooL, CSGCL, PamC) on PyTorch Geometric.

Python API in one screen::

    import gcl
    data = gcl.data.from_edge_index(edge_index, x, y)      # or gcl.load_dataset('cora')
    model = gcl.GRACE(hidden=128, epochs=200, random_state=0).fit(data)  # or gcl.GCA, CSGCL...
    z = model.embed(data)                                  # [N, 128], projection head unused
    report = gcl.evaluate(z, data, tasks=('node', 'cluster'))
"""

__version__ = '0.1.0'

from gcl import data  # noqa: E402
from gcl.config import load_config  # noqa: E402
from gcl.data import load_dataset  # noqa: E402
from gcl.errors import (  # noqa: E402
    DatasetNotFoundError,
    GCLCheckpointError,
    GCLConfigError,
    GCLDataError,
    GCLError,
    NotFittedError,
)
from gcl.eval import evaluate  # noqa: E402
from gcl.methods import (  # noqa: E402
    CSGCL,
    GCA,
    GRACE,
    SCGC,
    GCooL,
    GCooLMultiplex,
    Method,
    PamC,
    get_method,
)
from gcl.train.run import run  # noqa: E402
from gcl.utils.seed import seed_everything  # noqa: E402

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
