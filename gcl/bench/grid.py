"""Benchmark grids: methods x datasets x seeds x tasks, expanded into resolved cells.

A :class:`Cell` is one future results line: ``(method, dataset, seed, task)`` with its evaluation
protocol and a hash of its resolved config. The cell :attr:`Cell.key` identifies a finished record
in a results file, so a restarted benchmark skips it (:mod:`gcl.bench.runner`).

A suite is a YAML file (``benchmarks/suites/*.yaml``)::

    name: quick                       # default results file: benchmarks/results/quick.jsonl
    description: GRACE on the shipped Planetoid graphs, short budget
    methods: [grace]
    datasets: [cora, citeseer]
    seeds: 0-1                        # or [0, 1, 2], or 3
    tasks: [node, cluster]            # default: each config's eval.tasks
    epochs: 20                        # optional, overrides optim.epochs
    protocol: random-10-10-80         # optional, overrides eval.node_protocol (a,b: both)
    set: {eval.repeats: 3}            # optional overrides for every cell (dotted keys)
    overrides:                        # optional, per method, */dataset or method/dataset
      grace/citeseer: {optim.lr: 0.001}
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gcl.config import yaml_problem
from gcl.errors import GCLConfigError
from gcl.eval.evaluate import TASKS
from gcl.eval.link_prediction import TRANSDUCTIVE_PROTOCOL

__all__ = ['Cell', 'Suite', 'TASKS', 'parse_seeds', 'parse_names', 'config_hash',
           'cell_protocols', 'node_protocols', 'record_protocol', 'expand_grid', 'load_suite',
           'suite_cells']


#: config keys that do not change what a run computes (left out of the hash)
_UNHASHED = ('seed', 'provenance')

_SUITE_KEYS = {'name', 'description', 'methods', 'datasets', 'seeds', 'tasks', 'epochs',
               'protocol', 'set', 'overrides', 'results'}


@dataclass(frozen=True)
class Cell:
    """One (method, dataset, seed, task) of a grid, with its resolved config.

    Attributes:
        method, dataset: canonical names (``config['method']``, ``config['dataset']``).
        seed: the run's seed.
        task: one of :data:`TASKS` (``'node'``, ``'cluster'``, ``'link'``, ``'link-transductive'``).
        protocol: the requested protocol (:func:`cell_protocols`).
        config_hash: :func:`config_hash` of ``config`` (its differences from the defaults).
        config: the resolved config the run receives (``config['seed'] == seed``).
    """

    method: str
    dataset: str
    seed: int
    task: str
    protocol: str
    config_hash: str
    config: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def key(self) -> str:
        """``method|dataset|seed|task|protocol|config_hash``: what "finished" is checked on."""
        return cell_key(self.method, self.dataset, self.seed, self.task, self.protocol,
                        self.config_hash)

    @property
    def group(self) -> tuple[str, str, int, str]:
        """Cells sharing a group are trained once and evaluated on all their tasks."""
        return (self.method, self.dataset, self.seed, self.config_hash)

    def describe(self) -> str:
        """A short label: ``grace/cora seed 0 node``."""
        return f'{self.method}/{self.dataset} seed {self.seed} {self.task}'


@dataclass
class Suite:
    """A benchmark suite read from YAML (see the module docstring)."""

    name: str
    methods: list[str]
    datasets: list[str]
    seeds: list[int]
    tasks: list[str] | None = None
    epochs: int | None = None
    protocol: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    per: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: str | None = None
    description: str = ''
    path: str | None = None


def cell_key(method: str, dataset: str, seed: int, task: str, protocol: str,
             config_hash_: str) -> str:
    """The identity of a results line (see :attr:`Cell.key`)."""
    return f'{method}|{dataset}|{int(seed)}|{task}|{protocol}|{config_hash_}'


def parse_names(value: str | Iterable[str] | None) -> list[str]:
    """``'grace, gca'`` or ``['grace', 'gca']`` -> ``['grace', 'gca']`` (order kept, no repeats)."""
    if value is None:
        return []
    parts = value.split(',') if isinstance(value, str) else \
        [p for item in value for p in str(item).split(',')]
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def parse_seeds(value: str | int | Iterable[int | str] | None) -> list[int]:
    """Seeds from ``'0-4'``, ``'0,2,5'``, ``3`` (one seed) or a list of those.

    Raises:
        GCLConfigError: for anything but integers and ``low-high`` ranges.
    """
    if value is None:
        return []
    items: Iterable[Any] = [value] if isinstance(value, (str, int)) else value
    seeds: list[int] = []
    for item in items:
        if isinstance(item, bool):
            raise GCLConfigError(f'seeds must be integers or ranges like 0-4, got {item!r}')
        if isinstance(item, int):
            seeds.append(item)
            continue
        for part in str(item).split(','):
            part = part.strip()
            if not part:
                continue
            try:
                if '-' in part:
                    low, high = (int(x) for x in part.split('-', 1))
                    if high < low:
                        raise ValueError
                    seeds.extend(range(low, high + 1))
                else:
                    seeds.append(int(part))
            except ValueError as exc:
                raise GCLConfigError(f'seeds must be integers or ranges like 0-4, got {part!r}') \
                    from exc
    return list(dict.fromkeys(seeds))


def _canonical(config: Mapping[str, Any]) -> Any:
    """The config as plain JSON types (tuples -> lists, numbers kept), as records store it."""
    return json.loads(json.dumps(config, sort_keys=True, default=str))


def config_hash(config: Mapping[str, Any]) -> str:
    """12 hex digits of sha256 over what ``config`` changes from its method's defaults.

    Only the leaves that differ from ``Method.default_config()`` count (seed and provenance never
    do), so a later gcl that adds an option with a default keeps the hashes -- and the finished
    cells -- of earlier records, while a changed value (or a changed default) gives a new hash.
    Records store the resolved config, so the hash can be recomputed from any record. For a
    method that is not installed the whole config is hashed.
    """
    plain = {k: v for k, v in _canonical(config).items() if k not in _UNHASHED}
    defaults = _flat_defaults(str(plain.get('method', '')))
    if defaults is not None:
        from gcl.config import flatten

        plain = {k: v for k, v in flatten(plain).items()
                 if k not in defaults or defaults[k] != v}
    payload = json.dumps(plain, sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


@functools.lru_cache(maxsize=32)
def _flat_defaults(method: str) -> dict[str, Any] | None:
    """The method's default config, flattened and canonical; ``None`` if unknown."""
    from gcl.config import flatten
    from gcl.methods import get_method

    try:
        cls = get_method(method)
    except Exception:  # noqa: BLE001 -- an unknown or broken method: hash everything
        return None
    return flatten(_canonical(cls.default_config()))


def node_protocols(config: Mapping[str, Any]) -> list[str]:
    """``eval.node_protocol`` as a list (one run may evaluate several node protocols)."""
    value = (config.get('eval') or {}).get('node_protocol', 'random-10-10-80')
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def cell_protocols(task: str, config: Mapping[str, Any]) -> list[str]:
    """The protocols a task's cells ask for, from the config's ``eval`` section.

    ``node``: each of ``eval.node_protocol`` (a name or a list of names; one cell each);
    ``cluster``: ``'kmeans'``; ``link``: ``'held-out <val>/<test>, <scorer>'``;
    ``link-transductive``: CSGCL's protocol name.
    """
    ev = config.get('eval') or {}
    if task == 'node':
        return node_protocols(config)
    if task == 'cluster':
        return ['kmeans']
    if task == 'link':
        return [f"held-out {ev.get('link_val', 0.05)}/{ev.get('link_test', 0.1)}, "
                f"{ev.get('link_scorer', 'cosine')}"]
    if task == 'link-transductive':
        return [TRANSDUCTIVE_PROTOCOL]
    raise GCLConfigError(f'unknown task {task!r}; choose from {list(TASKS)}')


def record_protocol(record: Mapping[str, Any]) -> str:
    """The cell protocol of a results record: the evaluated protocol name for ``node`` (a run
    with several node protocols writes one record each), else as :func:`cell_protocols`."""
    task = str(record['task'])
    if task == 'node':
        return str(record.get('protocol') or node_protocols(record['config'])[0])
    return cell_protocols(task, record['config'])[0]


def _check_tasks(tasks: Sequence[str]) -> list[str]:
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise GCLConfigError(f'unknown task(s) {unknown}; choose from {list(TASKS)}')
    return list(dict.fromkeys(tasks))


def _layer_for(per: Mapping[str, Mapping[str, Any]], method: str, dataset: str,
               method_alias: str, dataset_alias: str) -> dict[str, Any]:
    """Merge the per-cell override layers: METHOD < */DATASET < METHOD/DATASET."""
    merged: dict[str, Any] = {}
    for keys in ((method, method_alias), (f'*/{dataset}', f'*/{dataset_alias}'),
                 (f'{method}/{dataset}', f'{method_alias}/{dataset_alias}')):
        for key in dict.fromkeys(keys):
            merged.update(per.get(key) or {})
    return merged


def expand_grid(methods: Sequence[str], datasets: Sequence[str], seeds: Sequence[int], *,
                tasks: Sequence[str] | None = None, epochs: int | None = None,
                protocol: str | None = None, overrides: Mapping[str, Any] | None = None,
                per: Mapping[str, Mapping[str, Any]] | None = None,
                config_file: str | Path | None = None) -> list[Cell]:
    """Expand the grid into cells, in the order method, dataset, seed, task.

    Each config is resolved with :func:`gcl.config.load_config` (defaults < shipped paper config
    < ``config_file`` < ``overrides`` < ``per`` < ``epochs`` / ``protocol``), so unknown methods,
    datasets and options fail here, before anything runs.

    Args:
        methods, datasets: names as ``gcl methods list`` / ``gcl datasets list`` show them.
        seeds: one run per seed.
        tasks: evaluation tasks; ``None`` takes each config's ``eval.tasks``.
        epochs: overrides ``optim.epochs``.
        protocol: overrides ``eval.node_protocol`` (a name or a comma list: one cell each).
        overrides: dotted ``key: value`` pairs for every cell (as ``--set``).
        per: overrides keyed ``METHOD``, ``*/DATASET`` or ``METHOD/DATASET``.
        config_file: a YAML layered over every shipped config.

    Raises:
        GCLConfigError: empty grid, unknown task / method / dataset / option.
    """
    from gcl.config import load_config

    if not methods or not datasets or not seeds:
        raise GCLConfigError('an empty grid: give at least one method, one dataset and one seed '
                             '(e.g. --methods grace --datasets cora --seeds 0-4)')
    if tasks is not None:
        tasks = _check_tasks(tasks)
        if not tasks:
            raise GCLConfigError(f'no tasks given; choose from {", ".join(TASKS)}')
    cells: list[Cell] = []
    for method in methods:
        for dataset in datasets:
            layer = dict(overrides or {})
            base = load_config(method, dataset, config_file=config_file)
            layer.update(_layer_for(per or {}, base['method'], base['dataset'], method, dataset))
            if epochs is not None:
                layer['optim.epochs'] = int(epochs)
            if protocol is not None:
                names = parse_names(protocol)
                layer['eval.node_protocol'] = names[0] if len(names) == 1 else names
            resolved = load_config(method, dataset, config_file=config_file, overrides=layer)
            cell_tasks = list(tasks) if tasks is not None else \
                _check_tasks(list(resolved['eval']['tasks']))
            for seed in seeds:
                config = copy.deepcopy(resolved)
                config['seed'] = int(seed)
                digest = config_hash(config)
                for task in cell_tasks:
                    for proto in cell_protocols(task, config):
                        cells.append(Cell(config['method'], config['dataset'], int(seed), task,
                                          proto, digest, config))
    return cells


def load_suite(path: str | Path) -> Suite:
    """Read a suite YAML (see the module docstring).

    Raises:
        GCLConfigError: missing file, invalid YAML, unknown keys, missing methods / datasets /
            seeds.
    """
    path = Path(path)
    if not path.is_file():
        raise GCLConfigError(f'suite file {path} does not exist (suites live in '
                             'benchmarks/suites/*.yaml)')
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise GCLConfigError(f'{path}: not valid YAML ({yaml_problem(exc)})') from exc
    if not isinstance(raw, dict):
        raise GCLConfigError(f'{path}: a suite must be a mapping of {sorted(_SUITE_KEYS)}')
    unknown = sorted(set(raw) - _SUITE_KEYS)
    if unknown:
        raise GCLConfigError(f'{path}: unknown suite key(s) {unknown}; valid: '
                             f'{sorted(_SUITE_KEYS)}')
    missing = [k for k in ('methods', 'datasets', 'seeds') if raw.get(k) in (None, [], '')]
    if missing:
        raise GCLConfigError(f'{path}: the suite needs {", ".join(missing)}')
    per = raw.get('overrides') or {}
    if not isinstance(per, dict) or not all(isinstance(v, dict) for v in per.values()):
        raise GCLConfigError(f'{path}: overrides must map METHOD, */DATASET or METHOD/DATASET '
                             'to {key: value} mappings')
    overrides = raw.get('set') or {}
    if not isinstance(overrides, dict):
        raise GCLConfigError(f'{path}: set must be a mapping of dotted keys to values')
    tasks = parse_names(raw['tasks']) if raw.get('tasks') is not None else None
    return Suite(name=str(raw.get('name') or path.stem),
                 methods=parse_names(raw['methods']), datasets=parse_names(raw['datasets']),
                 seeds=parse_seeds(raw['seeds']), tasks=tasks,
                 epochs=int(raw['epochs']) if raw.get('epochs') is not None else None,
                 protocol=raw.get('protocol'), overrides=dict(overrides),
                 per={str(k): dict(v) for k, v in per.items()},
                 results=raw.get('results'), description=str(raw.get('description') or ''),
                 path=str(path))


def suite_cells(suite: Suite, *, config_file: str | Path | None = None) -> list[Cell]:
    """:func:`expand_grid` over a :class:`Suite`."""
    return expand_grid(suite.methods, suite.datasets, suite.seeds, tasks=suite.tasks,
                       epochs=suite.epochs, protocol=suite.protocol, overrides=suite.overrides,
                       per=suite.per, config_file=config_file)
