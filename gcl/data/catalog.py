"""The dataset catalog: one table of facts per dataset, like OGB's ``master.csv``.

Loaders read everything they need (PyG class, raw files, where a shipped copy lives, checksums,
split kind, statistics) from this table rather than from ``if name == ...`` branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gcl.errors import GCLConfigError
from gcl.registry import normalize_name

__all__ = ['DatasetSpec', 'CATALOG', 'get_spec', 'is_catalogued', 'list_datasets']


@dataclass(frozen=True)
class DatasetSpec:
    """Facts about one dataset.

    Attributes:
        name: canonical gcl name (``'cora'``, ``'amazon-computers'``).
        display: the dataset's usual spelling (``'Cora'``, ``'Amazon-Computers'``).
        loader: which loader builds it: ``planetoid``, ``amazon``, ``coauthor``, ``wikics``,
            ``ogb``, ``multiplex`` or ``synthetic``.
        pyg_name: the name passed to the PyG / OGB class (``'Cora'``, ``'Computers'``).
        raw_files: files the real loader expects in ``<root>/<folder>/raw``.
        folder: sub-folder of the data root.
        shipped_folder: folder name in a local data directory (this repo's ``datasets/`` or any
            folder on ``GCL_DATASETS_PATH``) holding a staged copy.
        shipped: ``{file name: sha256}`` of the staged copy; a ``.zip`` is extracted into raw.
        split: ``'public'`` (fixed masks), ``'random'`` (none; random 10/10/80 splits),
            ``'public-20'`` (WikiCS's 20 splits) or ``'ogb'``.
        stats: nodes / directed edges / features / classes as loaded by gcl.
        source: where the real loader downloads it from.
        aliases: other names accepted on the command line.
    """

    name: str
    display: str
    loader: str
    pyg_name: str
    raw_files: tuple[str, ...]
    folder: str
    shipped_folder: str | None = None
    shipped: dict[str, str] = field(default_factory=dict)
    split: str = 'random'
    stats: dict[str, int] = field(default_factory=dict)
    source: str = ''
    aliases: tuple[str, ...] = ()
    metric: str = 'accuracy'


def _planetoid_files(prefix: str) -> tuple[str, ...]:
    return tuple(f'ind.{prefix}.{ext}'
                 for ext in ('x', 'tx', 'allx', 'y', 'ty', 'ally', 'graph', 'test.index'))


_PLANETOID_URL = 'github.com/kimiyoung/planetoid (data/ind.<name>.*), via torch_geometric Planetoid'
_SHCHUR_URL = 'github.com/shchur/gnn-benchmark (data/npz), via torch_geometric {}'

CATALOG: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name='cora', display='Cora', loader='planetoid', pyg_name='Cora',
        raw_files=_planetoid_files('cora'), folder='Cora', shipped_folder='Cora',
        shipped={
            'ind.cora.allx': '9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543',
            'ind.cora.ally': '2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71',
            'ind.cora.graph': '58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d',
            'ind.cora.test.index':
                '297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875',
            'ind.cora.tx': 'b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a',
            'ind.cora.ty': '41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad',
            'ind.cora.x': '23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab',
            'ind.cora.y': '94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1',
        },
        split='public',
        stats={'nodes': 2708, 'edges': 10556, 'features': 1433, 'classes': 7},
        source=_PLANETOID_URL,
    ),
    DatasetSpec(
        name='citeseer', display='CiteSeer', loader='planetoid', pyg_name='CiteSeer',
        raw_files=_planetoid_files('citeseer'), folder='CiteSeer', shipped_folder='CiteSeer',
        shipped={
            'ind.citeseer.allx':
                '2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668',
            'ind.citeseer.ally':
                'f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95',
            'ind.citeseer.graph':
                'd79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7',
            'ind.citeseer.test.index':
                '2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4',
            'ind.citeseer.tx':
                '539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21',
            'ind.citeseer.ty':
                '55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce',
            'ind.citeseer.x':
                'd20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6',
            'ind.citeseer.y':
                '8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924',
        },
        split='public',
        stats={'nodes': 3327, 'edges': 9104, 'features': 3703, 'classes': 6},
        source=_PLANETOID_URL,
    ),
    DatasetSpec(
        name='pubmed', display='PubMed', loader='planetoid', pyg_name='PubMed',
        raw_files=_planetoid_files('pubmed'), folder='PubMed', shipped_folder='PubMed',
        split='public',
        stats={'nodes': 19717, 'edges': 88648, 'features': 500, 'classes': 3},
        source=_PLANETOID_URL,
    ),
    DatasetSpec(
        name='dblp', display='DBLP', loader='citationfull', pyg_name='dblp',
        raw_files=('dblp.npz',), folder='dblp', shipped_folder='DBLP',
        stats={'nodes': 17716, 'edges': 105734, 'features': 1639, 'classes': 4},
        source='github.com/abojchevski/graph2gauss (data/dblp.npz), via torch_geometric '
               'CitationFull',
    ),
    DatasetSpec(
        name='amazon-computers', display='Amazon-Computers', loader='amazon',
        pyg_name='Computers', raw_files=('amazon_electronics_computers.npz',),
        folder='Computers', shipped_folder='Amazon-Computers',
        shipped={'amazon-computers.zip':
                 'ef387b28234c0aae28f49a337d5ad4074ec31063ddd7650b8fd0ab986cecd155'},
        stats={'nodes': 13752, 'edges': 491722, 'features': 767, 'classes': 10},
        source=_SHCHUR_URL.format('Amazon'), aliases=('computers',),
    ),
    DatasetSpec(
        name='amazon-photo', display='Amazon-Photo', loader='amazon', pyg_name='Photo',
        raw_files=('amazon_electronics_photo.npz',), folder='Photo',
        shipped_folder='Amazon-Photo',
        shipped={'amazon-photo.zip':
                 '9a1a31380c0480c87d4174f3e76e51956720da6e01ad5332b437e3dc99f11724'},
        stats={'nodes': 7650, 'edges': 238162, 'features': 745, 'classes': 8},
        source=_SHCHUR_URL.format('Amazon'), aliases=('photo',),
    ),
    DatasetSpec(
        name='coauthor-cs', display='Coauthor-CS', loader='coauthor', pyg_name='CS',
        raw_files=('ms_academic_cs.npz',), folder='CS', shipped_folder='Coauthor-CS',
        shipped={'coauthor-cs.zip':
                 'a69e43a2a3418c44e7660f1405c4298ac270ac57884a4318d1deb8861c6ec935'},
        stats={'nodes': 18333, 'edges': 163788, 'features': 6805, 'classes': 15},
        source=_SHCHUR_URL.format('Coauthor'), aliases=('cs',),
    ),
    DatasetSpec(
        name='coauthor-physics', display='Coauthor-Physics', loader='coauthor',
        pyg_name='Physics', raw_files=('ms_academic_phy.npz',), folder='Physics',
        shipped_folder='Coauthor-Physics',
        stats={'nodes': 34493, 'edges': 495924, 'features': 8415, 'classes': 5},
        source=_SHCHUR_URL.format('Coauthor'), aliases=('physics',),
    ),
    DatasetSpec(
        name='wikics', display='WikiCS', loader='wikics', pyg_name='WikiCS',
        raw_files=('data.json',), folder='WikiCS', shipped_folder='WikiCS', split='public-20',
        stats={'nodes': 11701, 'edges': 431726, 'features': 300, 'classes': 10},
        source='github.com/pmernyei/wiki-cs-dataset (dataset/data.json), via torch_geometric '
               'WikiCS',
    ),
    DatasetSpec(
        name='ogbn-arxiv', display='ogbn-arxiv', loader='ogb', pyg_name='ogbn-arxiv',
        raw_files=('edge.csv.gz', 'node-feat.csv.gz', 'node-label.csv.gz',
                   'num-node-list.csv.gz', 'num-edge-list.csv.gz'),
        folder='ogbn_arxiv', shipped_folder='ogbn_arxiv', split='ogb',
        stats={'nodes': 169343, 'edges': 2315598, 'features': 128, 'classes': 40},
        source='OGB server, via ogb.nodeproppred (split: time)', aliases=('arxiv',),
    ),
    DatasetSpec(
        name='ogbn-products', display='ogbn-products', loader='ogb', pyg_name='ogbn-products',
        raw_files=('edge.csv.gz', 'node-feat.csv.gz', 'node-label.csv.gz',
                   'num-node-list.csv.gz', 'num-edge-list.csv.gz'),
        folder='ogbn_products', shipped_folder='ogbn_products', split='ogb',
        stats={'nodes': 2449029, 'edges': 123718280, 'features': 100, 'classes': 47},
        source='OGB server, via ogb.nodeproppred (split: sales_ranking)', aliases=('products',),
    ),
    DatasetSpec(
        name='acm-multiplex', display='ACM-multiplex', loader='multiplex', pyg_name='ACM3025',
        raw_files=('ACM3025.mat',), folder='ACM-multiplex', shipped_folder='ACM-multiplex',
        shipped={'ACM3025.mat':
                 'b10e486a49892307a56a3d9ad48128a948d2bf2da19db9e6e7f79c6622529fdc'},
        split='public',
        stats={'nodes': 3025, 'edges': 2218674, 'features': 1870, 'classes': 3},
        source='HAN / DMGI ACM-3025 (relations PAP, PLP; also PMP, PTP), staged from '
               'github.com/googlebaba/WWW2020-O2MAC data/ACM3025.mat',
        aliases=('acm3025',),
        metric='macro-f1 / micro-f1',
    ),
    DatasetSpec(
        name='imdb-multiplex', display='IMDB-multiplex', loader='multiplex', pyg_name='IMDB',
        raw_files=('imdb.pkl',), folder='IMDB-multiplex', shipped_folder='IMDB-multiplex',
        shipped={'imdb.pkl': '00f888f124c2a32c988c22ba7f3e0ca6572fc90d2a758173fe3500fb619df85d'},
        split='public',
        stats={'nodes': 3550, 'edges': 71792, 'features': 2000, 'classes': 3},
        source='DMGI / HDMI IMDB (relations MDM, MAM), staged from github.com/Cloudy1225/MGFNN '
               'data/imdb.pkl',
        metric='macro-f1 / micro-f1',
    ),
    DatasetSpec(
        name='acm', display='ACM', loader='acm-pap', pyg_name='ACM3025-PAP',
        raw_files=('ACM3025.mat',), folder='ACM-multiplex', shipped_folder='ACM-multiplex',
        split='public',
        stats={'nodes': 3025, 'edges': 26256, 'features': 1870, 'classes': 3},
        source='the PAP layer of acm-multiplex (HAN ACM-3025), as SDCN / PamC use it '
               '(gcl.data.acm3025)',
        aliases=('acm-pap',),
    ),
    DatasetSpec(
        name='synthetic-sbm', display='Synthetic-SBM', loader='synthetic', pyg_name='SBM',
        raw_files=(), folder='synthetic-sbm',
        stats={'nodes': 10000, 'edges': 100000, 'features': 128, 'classes': 10},
        source='generated by gcl.data.synthetic (seeded SBM; options num_nodes, num_edges or '
               'avg_degree, num_classes, num_features, homophily or p_in/p_out, seed); stats '
               'are the defaults',
        aliases=('sbm',),
    ),
)


def _index() -> dict[str, DatasetSpec]:
    table: dict[str, DatasetSpec] = {}
    for spec in CATALOG:
        for key in (spec.name, spec.display, spec.pyg_name, *spec.aliases):
            table.setdefault(normalize_name(key), spec)
    return table


def get_spec(name: str) -> DatasetSpec:
    """Look a dataset up by name, case- and punctuation-insensitively.

    Raises:
        GCLConfigError: for an unknown name; the message lists the known datasets.
    """
    spec = _index().get(normalize_name(name))
    if spec is None:
        raise GCLConfigError(f'unknown dataset {name!r}; known datasets: '
                             f'{", ".join(list_datasets())} (see `gcl datasets list`)')
    return spec


def is_catalogued(name: str) -> bool:
    """Whether ``name`` (any spelling :func:`get_spec` takes) names a catalogued dataset."""
    return normalize_name(name) in _index()


def list_datasets() -> list[str]:
    """Canonical names of every catalogued dataset."""
    return [spec.name for spec in CATALOG]
