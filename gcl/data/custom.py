"""Build a validated, undirected PyG ``Data`` from a user's own graph.

Every constructor ends in :func:`from_edge_index`, so all of them clean and validate the same
way: ids checked against ``num_nodes``, edges made undirected (``to_undirected``), self-loops
removed and duplicates merged (``coalesce``) with a log line saying how many, features checked for
NaN/inf, labels checked for shape.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from gcl.data.validate import check_edge_index, check_graph
from gcl.errors import GCLDataError

logger = logging.getLogger(__name__)

__all__ = ['from_edge_index', 'from_networkx', 'from_scipy', 'from_csv']


def from_edge_index(edge_index: Tensor, x: Tensor | None = None, y: Tensor | None = None, *,
                    num_nodes: int | None = None, undirected: bool = True,
                    self_loops: str = 'remove', identity_if_missing: bool = True) -> Data:
    """Make a ``Data`` from an edge list.

    Args:
        edge_index: ``[2, E]`` integer node ids (0-based); an ``[E, 2]`` list of pairs is
            transposed (``E = 2`` is read as ``[2, E]``).
        x: ``[N, F]`` node features (float). ``None`` uses the identity ``[N, N]`` (only for small
            graphs) -- pass real features where you have them.
        y: ``[N]`` integer labels, optional (needed only by the node and cluster evaluations).
        num_nodes: N; defaults to ``x.size(0)``, else ``max id + 1``.
        undirected: add the reverse of every edge (GCL views assume undirected graphs).
        self_loops: ``'remove'`` (default; GCNConv adds its own), ``'keep'`` or ``'error'``.
        identity_if_missing: with ``x=None``, ``False`` leaves ``data.x`` unset instead of the
            identity: for structure-only uses (community detection) of graphs of any size.
    """
    if not isinstance(edge_index, Tensor):
        edge_index = torch.as_tensor(np.asarray(edge_index))
    if edge_index.dim() == 2 and edge_index.size(1) == 2 and edge_index.size(0) != 2:
        edge_index = edge_index.t()
    if num_nodes is None:
        if x is not None:
            num_nodes = int(x.size(0))
        elif edge_index.numel():
            num_nodes = int(edge_index.max()) + 1
        else:
            num_nodes = 0
    if num_nodes <= 0:
        raise GCLDataError('the graph is empty (0 nodes)')
    check_edge_index(edge_index, num_nodes)
    edge_index = edge_index.long().contiguous()
    if self_loops not in ('remove', 'keep', 'error'):
        raise GCLDataError(f"self_loops must be 'remove', 'keep' or 'error', got {self_loops!r}")
    loops = int((edge_index[0] == edge_index[1]).sum())
    if loops and self_loops == 'error':
        raise GCLDataError(f'the edge list has {loops} self-loops')
    if loops and self_loops == 'remove':
        edge_index, _ = remove_self_loops(edge_index)
        logger.info('removed %d self-loops', loops)
    before = edge_index.size(1)
    if undirected:
        edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    else:
        edge_index = coalesce(edge_index, num_nodes=num_nodes)
    if not undirected and edge_index.size(1) < before:
        logger.info('merged %d duplicate edges', before - edge_index.size(1))
    if x is None and identity_if_missing:
        if num_nodes > 20_000:
            raise GCLDataError(f'no node features given for {num_nodes} nodes, and an identity '
                               f'matrix ({num_nodes} x {num_nodes}) would be too large: pass x= '
                               '(from the command line, --features FILE)')
        x = torch.eye(num_nodes)
    if x is not None:
        x = torch.as_tensor(x)
        if not torch.is_floating_point(x):
            x = x.float()
    data = Data(x=x, edge_index=edge_index, num_nodes=num_nodes)
    if y is not None:
        y = torch.as_tensor(np.asarray(y) if not isinstance(y, Tensor) else y)
        if torch.is_floating_point(y):
            if not torch.equal(y, y.round()):
                raise GCLDataError('labels must be integer class ids, got fractional values')
        data.y = y.long().view(-1) if y.dim() <= 1 else y.long()
    return check_graph(data, require_features=x is not None or identity_if_missing)


def from_networkx(graph: Any, x: Tensor | None = None, y: Tensor | None = None, *,
                  feature_attr: str | None = None, label_attr: str | None = None) -> Data:
    """Make a ``Data`` from a networkx graph; nodes are numbered in ``graph.nodes`` order.

    ``feature_attr`` / ``label_attr`` name node attributes to read features / labels from, as an
    alternative to passing ``x`` / ``y``.
    """
    nodes = list(graph.nodes)
    if not nodes:
        raise GCLDataError('the networkx graph has no nodes')
    index = {node: i for i, node in enumerate(nodes)}
    pairs = [(index[u], index[v]) for u, v in graph.edges]
    edge_index = torch.tensor(pairs, dtype=torch.long).t().reshape(2, -1)
    if feature_attr is not None:
        try:
            x = torch.tensor(np.stack([np.asarray(graph.nodes[n][feature_attr], dtype=np.float32)
                                       for n in nodes]))
        except KeyError as exc:
            raise GCLDataError(f'node {exc.args[0]!r} has no attribute {feature_attr!r}') from exc
    if label_attr is not None:
        try:
            y = torch.tensor([int(graph.nodes[n][label_attr]) for n in nodes])
        except KeyError as exc:
            raise GCLDataError(f'a node has no attribute {label_attr!r}') from exc
    return from_edge_index(edge_index, x, y, num_nodes=len(nodes),
                           undirected=not graph.is_directed())


def from_scipy(adjacency: Any, x: Any = None, y: Any = None) -> Data:
    """Make a ``Data`` from a square scipy sparse (or dense numpy) adjacency matrix."""
    import scipy.sparse as sp

    matrix = sp.coo_matrix(adjacency)
    if matrix.shape[0] != matrix.shape[1]:
        raise GCLDataError(f'the adjacency matrix must be square, got shape {matrix.shape}')
    edge_index = torch.from_numpy(np.vstack([matrix.row, matrix.col]).astype(np.int64))
    if x is not None:
        x = torch.as_tensor(x.toarray() if sp.issparse(x) else np.asarray(x), dtype=torch.float)
    return from_edge_index(edge_index, x, y, num_nodes=matrix.shape[0])


def from_csv(edges: str | os.PathLike, features: str | os.PathLike | None = None,
             labels: str | os.PathLike | None = None, *, delimiter: str | None = None,
             num_nodes: int | None = None, identity_if_missing: bool = True) -> Data:
    """Read a graph from text files.

    The rules, for all three files: lines that are blank or start with ``#`` are skipped, and so
    is the rest of a line after a ``#``; the delimiter (comma, else tab, else runs of
    whitespace) is sniffed from the first such line unless given; fields may be quoted; empty
    fields are dropped; the first line is a header, and skipped, when its first field is not a
    number. Ids and labels are integers (``3`` or ``3.0``, not ``3.5``).

    Args:
        edges: edge list, one ``src,dst`` pair of 0-based node ids per line; further columns
            (weights) are ignored.
        features: optional; one row of floats per node, in id order (``N`` rows).
        labels: optional; one integer label per line, in id order, or ``id,label`` pairs.
        delimiter: force a one-character delimiter instead of sniffing it.
        num_nodes: force N (e.g. when the last nodes are isolated and there are no features).
        identity_if_missing: as in :func:`from_edge_index` (``False``: no ``x`` without features).

    Raises:
        GCLDataError: naming the file and line of the first malformed entry.
    """
    if delimiter is not None and len(delimiter) != 1:
        raise GCLDataError(f'delimiter must be one character, got {delimiter!r}')
    edge_index, rows = _read_edges(edges, delimiter)
    x = None
    if features is not None:
        x = _read_features(features, delimiter)
    y = _read_labels(labels, delimiter) if labels is not None else None
    origin = f'num_nodes is {num_nodes}'          # what fixed N, for the id-range message
    if num_nodes is None and x is not None:
        num_nodes, origin = x.size(0), f'{features} has {x.size(0)} rows'
    if num_nodes is None and y is not None:
        num_nodes, origin = y.size(0), f'{labels} has {y.size(0)} rows'
    if y is not None and num_nodes is not None and y.size(0) != num_nodes:
        raise GCLDataError(f'{labels}: {y.size(0)} labels for {num_nodes} nodes')
    _check_ids_in_file(edges, rows, edge_index, num_nodes, origin, delimiter)
    return from_edge_index(edge_index, x, y, num_nodes=num_nodes,
                           identity_if_missing=identity_if_missing)


_INT64_MAX = 2 ** 63 - 1


def _to_int(text: str) -> int:
    """An integer field: ``'3'`` or an integral float such as ``'3.0'`` (what pandas accepts);
    ``ValueError`` for anything else, ``OverflowError`` outside int64."""
    try:
        value = int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise ValueError(f'{text!r} is not an integer') from None
        value = int(number)
    if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        raise OverflowError(f'{text} does not fit in 64 bits')
    return value


def _read_edges(edges: str | os.PathLike, delimiter: str | None
                ) -> tuple[Tensor, list[tuple[int, list[str]]] | None]:
    """``(edge_index [2, E], rows)``: the first two columns as integer ids. ``rows`` (line number,
    fields) only when the line-by-line parser was needed; a clean file is read in one go."""
    table = _read_numeric(edges, delimiter, np.int64, usecols=[0, 1])
    if table is not None:
        if len(table) == 0:
            raise GCLDataError(f'{edges}: the edge list is empty')
        return torch.from_numpy(np.ascontiguousarray(table.T)), None
    rows = _read_table(edges, delimiter)
    if not rows:
        raise GCLDataError(f'{edges}: the edge list is empty')
    pairs = []
    for lineno, row in rows:
        if len(row) < 2:
            raise GCLDataError(f'{edges}:{lineno}: expected two node ids, got {row!r}')
        try:
            pairs.append((_to_int(row[0]), _to_int(row[1])))
        except OverflowError as exc:
            raise GCLDataError(f'{edges}:{lineno}: node id too large ({exc})') from exc
        except ValueError as exc:
            raise GCLDataError(f'{edges}:{lineno}: node ids must be integers, got {row[:2]!r}') \
                from exc
    return torch.tensor(pairs, dtype=torch.long).t(), rows


def _read_features(features: str | os.PathLike, delimiter: str | None) -> Tensor:
    """``[N, F]`` float32 features, one row per line."""
    table = _read_numeric(features, delimiter, np.float32)
    if table is not None:
        if len(table) == 0:
            raise GCLDataError(f'{features}: no feature rows')
        return torch.from_numpy(np.ascontiguousarray(table))
    feat_rows = _read_table(features, delimiter)
    if not feat_rows:
        raise GCLDataError(f'{features}: no feature rows')
    widths = {len(row) for _, row in feat_rows}
    if len(widths) > 1:
        raise GCLDataError(f'{features}: rows have different lengths {sorted(widths)}')
    try:
        return torch.tensor([[float(v) for v in row] for _, row in feat_rows])
    except ValueError as exc:
        raise GCLDataError(f'{features}: features must be numbers ({exc})') from exc


def _read_labels(labels: str | os.PathLike, delimiter: str | None) -> Tensor:
    """``[N]`` integer labels: one per line in id order, or ``id,label`` pairs (ids ``0..N-1``
    exactly once)."""
    table = _read_numeric(labels, delimiter, np.int64)
    if table is None:
        label_rows = _read_table(labels, delimiter)
        if not label_rows:
            raise GCLDataError(f'{labels}: no labels')
        if len({min(len(row), 2) for _, row in label_rows}) > 1:
            raise GCLDataError(f'{labels}: give one label per line or an id,label pair per '
                               'line, not a mix')
        try:
            table = np.array([[_to_int(v) for v in row[:2]] for _, row in label_rows],
                             dtype=np.int64).reshape(len(label_rows), -1)
        except (ValueError, OverflowError) as exc:
            raise GCLDataError(f'{labels}: labels must be integers ({exc})') from exc
    if len(table) == 0:
        raise GCLDataError(f'{labels}: no labels')
    if table.shape[1] == 1:
        return torch.from_numpy(np.ascontiguousarray(table[:, 0]))
    ids, values = table[:, 0], table[:, 1]
    if not np.array_equal(np.sort(ids), np.arange(len(ids))):
        raise GCLDataError(f'{labels}: node ids must be 0..{len(ids) - 1} exactly once')
    y = np.empty(len(ids), dtype=np.int64)
    y[ids] = values
    return torch.from_numpy(y)


def _read_numeric(path: str | os.PathLike, delimiter: str | None, dtype: type,
                  usecols: list[int] | None = None) -> np.ndarray | None:
    """A clean numeric table read whole by pandas' C parser, with the line parser's rules (see
    :func:`from_csv`; the header test tokenises the first line as the line parser does). ``None``
    for anything else (ragged rows, empty fields, NaN, non-numbers, booleans, a missing file):
    the line-by-line parser then reads it or names the bad line. ``dtype`` ``np.int64`` takes
    integral floats, as the line parser does. ``python benchmarks/bench_from_csv.py``: 2M edges
    and 200k x 32 features, ``from_csv`` 2.29 s against 28.3 s line by line (12x, 2026-12-05,
    two one-thread trainings beside it; identical tensors)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        return None
    found = _first_content_line(path)
    if found is None:
        return None
    first_index, first = found
    if delimiter is None:
        delimiter = _sniff(first)
    fields = _fields(first, delimiter)
    if not fields:
        return None
    integer = np.issubdtype(dtype, np.integer)
    header = None if _is_number(fields[0]) else list(range(first_index + 1))
    try:
        frame = pd.read_csv(path, sep=delimiter or r'\s+', header=None, comment='#',
                            dtype=None if integer else dtype, skiprows=header,
                            skip_blank_lines=True, usecols=usecols, engine='c',
                            encoding='utf-8-sig')
    except (ValueError, TypeError, OverflowError, pd.errors.ParserError,
            pd.errors.EmptyDataError):
        return None
    kinds = {t.kind for t in frame.dtypes}
    if not kinds <= ({'i', 'u', 'f'} if integer else {'f'}):
        return None          # booleans, strings, ids past int64 (object or uint64 past the max)
    table = frame.to_numpy(copy=True)       # writable: torch.from_numpy shares it
    if table.ndim != 2 or (table.dtype.kind == 'f' and not np.isfinite(table).all()):
        return None
    if integer:
        if table.dtype.kind == 'u' and table.size and table.max() > _INT64_MAX:
            return None
        if table.dtype.kind == 'f' and (not np.array_equal(table, np.round(table))
                                        or (table.size and np.abs(table).max() >= 2.0 ** 63)):
            return None
        table = table.astype(np.int64)
    return table


def _strip_comment(line: str) -> str:
    """``line`` without what follows a ``#`` (pandas' ``comment='#'``)."""
    return line.split('#', 1)[0]


def _sniff(line: str) -> str | None:
    """The delimiter of a file from its first content line: comma, else tab, else ``None``
    (runs of whitespace)."""
    return ',' if ',' in line else ('\t' if '\t' in line else None)


def _fields(line: str, delimiter: str | None) -> list[str]:
    """A line's non-empty fields, quotes removed (``csv`` rules), as both parsers see them."""
    if delimiter:
        parts = [p.strip() for p in next(csv.reader([line], delimiter=delimiter))]
    else:
        parts = [p.strip('"') for p in line.split()]
    return [p for p in parts if p != '']


def _first_content_line(path: Path) -> tuple[int, str] | None:
    """``(0-based physical line number, text without its comment)`` of the first line that is
    neither blank nor a comment, or ``None``."""
    with open(path, encoding='utf-8-sig', errors='replace') as fh:
        for i, line in enumerate(fh):
            text = _strip_comment(line)
            if text.strip():
                return i, text
    return None


def _check_ids_in_file(edges: str | os.PathLike, rows: list[tuple[int, list[str]]] | None,
                       edge_index: Tensor, num_nodes: int | None, origin: str,
                       delimiter: str | None) -> None:
    """Name the edge file's line of the first id outside ``0..num_nodes-1``, and (``origin``)
    what set N. A file read in one go is re-read line by line here, for the line number."""
    bad = (edge_index < 0).any(0)
    if num_nodes is not None:
        bad |= (edge_index >= num_nodes).any(0)
    if not bool(bad.any()):
        return
    if rows is None:
        rows = _read_table(edges, delimiter)
    first = int(bad.nonzero()[0])
    lineno, row = rows[first]
    if num_nodes is None:
        raise GCLDataError(f'{edges}:{lineno}: node ids must be 0 or more, got {row[:2]!r}')
    raise GCLDataError(f'{edges}:{lineno}: node id out of range in {row[:2]!r}: {origin}, so ids '
                       f'must be 0..{num_nodes - 1} (1-based ids?)')


def _read_table(path: str | os.PathLike, delimiter: str | None) -> list[tuple[int, list[str]]]:
    """``(line number, fields)`` of each content line, by the rules of :func:`from_csv`."""
    path = Path(path)
    if not path.is_file():
        raise GCLDataError(f'{path}: no such file')
    text = path.read_text(encoding='utf-8-sig', errors='replace')
    lines = [(i, _strip_comment(line)) for i, line in enumerate(text.splitlines(), start=1)]
    lines = [(i, line) for i, line in lines if line.strip()]
    if not lines:
        return []
    if delimiter is None:
        delimiter = _sniff(lines[0][1])
    rows = [(lineno, _fields(line, delimiter)) for lineno, line in lines]
    first = rows[0][1]
    if first and not _is_number(first[0]):
        rows = rows[1:]  # header
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
