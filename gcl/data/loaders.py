"""``load_dataset``: offline-first loading through the real PyG / OGB loaders.

Resolution order for a dataset's raw files:

1. ``<root>/<folder>/raw`` already holds them (``root`` = ``--root`` / ``root=``, else
   ``$GCL_DATA_ROOT``, else ``~/.cache/gcl/datasets``);
2. a staged copy in a local data directory -- this repository's ``datasets/`` (Cora, CiteSeer),
   ``./datasets``, or any folder on ``$GCL_DATASETS_PATH`` laid out like ``datasets/`` (e.g.
   ``Amazon-Computers/amazon-computers.zip``). Checksums are verified, zips extracted, and the
   files copied into ``<root>/<folder>/raw`` atomically;
3. the library's own download (``download=True``).

If none works, :class:`DatasetNotFoundError` names the files and the folder to put them in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import torch
import torch_geometric.transforms as T
from torch_geometric.data import Data

from gcl.data.catalog import DatasetSpec, get_spec
from gcl.errors import DatasetNotFoundError, GCLDataError

logger = logging.getLogger(__name__)

__all__ = ['load_dataset', 'data_root', 'data_search_paths', 'dataset_status', 'stage_raw_files',
           'get_idx_split']

REPO_DATASETS = Path(__file__).resolve().parents[2] / 'datasets'


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The dataset cache: ``root``, else ``$GCL_DATA_ROOT``, else ``~/.cache/gcl/datasets``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get('GCL_DATA_ROOT')
    if env:
        return Path(env).expanduser()
    return Path.home() / '.cache' / 'gcl' / 'datasets'


def data_search_paths() -> list[Path]:
    """Local data directories searched for staged copies, in order."""
    paths = [REPO_DATASETS, Path.cwd() / 'datasets']
    for entry in os.environ.get('GCL_DATASETS_PATH', '').split(os.pathsep):
        if entry.strip():
            paths.append(Path(entry).expanduser())
    unique: list[Path] = []
    for path in paths:
        if path.is_dir() and path.resolve() not in [p.resolve() for p in unique]:
            unique.append(path)
    return unique


def _raw_dir(spec: DatasetSpec, root: Path) -> Path:
    return root / spec.folder / 'raw'


def _has_raw(spec: DatasetSpec, raw_dir: Path) -> bool:
    return all((raw_dir / name).is_file() for name in spec.raw_files)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as fh:
        for block in iter(lambda: fh.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _find_staged(spec: DatasetSpec) -> Path | None:
    if spec.shipped_folder is None:
        return None
    wanted = list(spec.shipped) or list(spec.raw_files)
    for base in data_search_paths():
        folder = base / spec.shipped_folder
        if folder.is_dir() and all((folder / name).is_file() for name in wanted):
            return folder
    return None


def stage_raw_files(spec: DatasetSpec, source: Path, raw_dir: Path) -> None:
    """Verify the staged copy in ``source`` and place the raw files in ``raw_dir`` atomically.

    Raises:
        GCLDataError: when a file's checksum differs from the catalog (truncated or altered).
    """
    files = list(spec.shipped) or list(spec.raw_files)
    for name in files:
        expected = spec.shipped.get(name)
        if expected is not None and _sha256(source / name) != expected:
            raise GCLDataError(f'{source / name} is corrupted or truncated: its sha256 differs '
                               f'from the catalog; copy it again from its source (`gcl datasets '
                               f'info {spec.name}` shows it)')
    raw_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=raw_dir) as tmp:
        tmp_path = Path(tmp)
        for name in files:
            src = source / name
            if src.suffix == '.zip':
                try:
                    with zipfile.ZipFile(src) as archive:
                        archive.extractall(tmp_path)
                except zipfile.BadZipFile as exc:
                    raise GCLDataError(f'{src} is not a valid zip archive ({exc})') from exc
            else:
                shutil.copyfile(src, tmp_path / name)
        for name in spec.raw_files:
            if not (tmp_path / name).is_file():
                raise GCLDataError(f'{source} does not provide {name}, which the '
                                   f'{spec.display} loader needs')
            os.replace(tmp_path / name, raw_dir / name)
    logger.info('staged %s raw files from %s into %s', spec.display, source, raw_dir)


def _missing_message(spec: DatasetSpec, raw_dir: Path, reason: str) -> str:
    files = ', '.join(spec.raw_files)
    staged = ''
    if spec.shipped_folder:
        staged_files = ', '.join(spec.shipped) if spec.shipped else files
        staged = (f', or put {staged_files} in a folder {spec.shipped_folder}/ inside a directory '
                  'listed in $GCL_DATASETS_PATH')
    return (f'dataset {spec.display!r} is not available offline and could not be downloaded '
            f'({reason}). Put {files} in {raw_dir}{staged}. Source: {spec.source}')


def dataset_status(name: str, root: str | os.PathLike | None = None) -> str:
    """``'cached'`` (raw files under the root), ``'shipped'`` (a local staged copy exists),
    ``'generated'`` or ``'download'`` (only the online loader can get it)."""
    spec = get_spec(name)
    if spec.loader in ('synthetic',):
        return 'generated'
    if _has_raw(spec, _raw_dir(spec, data_root(root))):
        return 'cached'
    if _find_staged(spec) is not None:
        return 'shipped'
    return 'download'


def load_dataset(name: str, root: str | os.PathLike | None = None, *,
                 normalize_features: bool = True, download: bool = True, **options: object) -> Data:
    """Load a catalogued dataset as a PyG ``Data``.

    The returned graph has ``x [N, F]``, undirected ``edge_index [2, E]``, ``y [N]``, and the
    split where the dataset defines one: ``train_mask``/``val_mask``/``test_mask`` (``[N]``, or
    ``[N, 20]`` for WikiCS's 20 splits). ``data.dataset`` holds the canonical name. Features are
    row-normalised (``T.NormalizeFeatures``) as in GRACE / GCA / gCooL / CSGCL, unless
    ``normalize_features=False``. Extra ``options`` go to generated datasets (e.g. ``num_nodes``).

    Raises:
        GCLConfigError: unknown dataset name.
        DatasetNotFoundError: files absent and no download possible; says where to put them.
        GCLDataError: files present but malformed or truncated.
    """
    spec = get_spec(name)
    root_path = data_root(root)
    if spec.loader in _GENERATED:
        data = _GENERATED[spec.loader](spec, root_path, **options)
    else:
        if options:
            raise GCLDataError(f'dataset {spec.display} takes no options, got {sorted(options)}')
        raw_dir = _raw_dir(spec, root_path)
        if not _has_raw(spec, raw_dir):
            staged = _find_staged(spec)
            if staged is not None:
                stage_raw_files(spec, staged, raw_dir)
            elif not download:
                raise DatasetNotFoundError(_missing_message(spec, raw_dir, 'download disabled'))
        data = _LOADERS[spec.loader](spec, root_path, raw_dir)
    if normalize_features and data.x is not None:
        data = T.NormalizeFeatures()(data)
    data.dataset = spec.name
    return data


def _download_guard(spec: DatasetSpec, raw_dir: Path, build):  # noqa: ANN001, ANN202
    had_raw = _has_raw(spec, raw_dir)
    try:
        return build()
    except (GCLDataError, DatasetNotFoundError):
        raise
    except Exception as exc:  # noqa: BLE001 - PyG raises many kinds; re-raise as ours
        if not had_raw and not _has_raw(spec, raw_dir):
            raise DatasetNotFoundError(_missing_message(
                spec, raw_dir, f'{type(exc).__name__}: {exc}'.strip()[:200])) from exc
        raise GCLDataError(f'the raw files of {spec.display} in {raw_dir} are malformed or '
                           f'truncated ({type(exc).__name__}: {str(exc)[:200]}); delete the '
                           f'folder {raw_dir.parent} and stage the files again') from exc


def _load_planetoid(spec: DatasetSpec, root: Path, raw_dir: Path) -> Data:
    from torch_geometric.datasets import Planetoid

    dataset = _download_guard(spec, raw_dir, lambda: Planetoid(str(root), spec.pyg_name))
    return dataset[0]


def _load_amazon(spec: DatasetSpec, root: Path, raw_dir: Path) -> Data:
    from torch_geometric.datasets import Amazon

    return _download_guard(spec, raw_dir, lambda: Amazon(str(root), spec.pyg_name))[0]


def _load_coauthor(spec: DatasetSpec, root: Path, raw_dir: Path) -> Data:
    from torch_geometric.datasets import Coauthor

    return _download_guard(spec, raw_dir, lambda: Coauthor(str(root), spec.pyg_name))[0]


def _load_wikics(spec: DatasetSpec, root: Path, raw_dir: Path) -> Data:
    from torch_geometric.datasets import WikiCS

    dataset = _download_guard(spec, raw_dir,
                              lambda: WikiCS(str(root / spec.folder), is_undirected=True))
    return dataset[0]


def _load_citationfull(spec: DatasetSpec, root: Path, raw_dir: Path) -> Data:
    from torch_geometric.datasets import CitationFull

    return _download_guard(spec, raw_dir, lambda: CitationFull(str(root), spec.pyg_name))[0]


def _load_ogb(spec: DatasetSpec, root: Path, raw_dir: Path) -> Data:
    from gcl.data.ogb import load_ogb_node_dataset

    return _download_guard(spec, raw_dir, lambda: load_ogb_node_dataset(spec.pyg_name, root))


_LOADERS = {
    'planetoid': _load_planetoid,
    'amazon': _load_amazon,
    'coauthor': _load_coauthor,
    'wikics': _load_wikics,
    'citationfull': _load_citationfull,
    'ogb': _load_ogb,
}

# Generated / custom-format datasets register a builder here: loader name -> fn(spec, root, **opt).
_GENERATED: dict = {}


def get_idx_split(data: Data, index: int = 0) -> dict[str, torch.Tensor] | None:
    """The dataset's fixed split as OGB-style index tensors ``{'train', 'valid', 'test'}``.

    ``index`` picks one of several splits (WikiCS has 20). Returns ``None`` when the dataset has
    no fixed split (Amazon, Coauthor: use random splits).
    """
    masks = [getattr(data, key, None) for key in ('train_mask', 'val_mask', 'test_mask')]
    if any(mask is None for mask in masks):
        return None
    out = {}
    for key, mask in zip(('train', 'valid', 'test'), masks):
        if mask.dim() == 2:
            mask = mask[:, index % mask.size(1)]
        out[key] = mask.nonzero().view(-1)
    return out
