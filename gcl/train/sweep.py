"""``sweep``: choose hyper-parameters by RankMe, without labels, then run the chosen point.

One model is trained per point of a grid (the cartesian product of ``{key: [values]}``, keys
resolved like ``--set``), its RankMe (:func:`gcl.bench.rankme.rankme`) is taken on the
embeddings that would be evaluated (the kept checkpoint under ``train.select: rankme``, else the
last epoch's), and :func:`gcl.bench.rankme.select_best` picks the highest. Only the chosen
point is then run and evaluated by :func:`gcl.train.run.run`, which records the choice, so no
test number ever exists for the points that lost.

The candidates are trained on a copy of the graph without labels or split masks. Like
:func:`~gcl.train.run.run`, which trains one encoder on the full graph (node classification,
clustering) and another on the graph without the held-out link edges (link prediction), the
choice is made per graph: node/cluster candidates on the full graph, link candidates on the
link-training graph, so no test edge is seen when choosing for link prediction. The two choices
can differ; then the chosen points run as two run directories.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from gcl.errors import GCLConfigError, GCLDataError, TrainingDivergedError

logger = logging.getLogger(__name__)

__all__ = ['parse_sweeps', 'grid_points', 'sweep']

#: the graph each task's encoder is trained (and its hyper-parameters chosen) on
_GRAPH = {'node': 'full', 'cluster': 'full', 'link': 'link', 'link-transductive': 'full'}


def _split_values(raw: str) -> list[str]:
    """``'0.1,[0.2,0.4]'`` -> ``['0.1', '[0.2,0.4]']``: commas inside brackets stay."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(raw):
        depth += (char in '[{') - (char in ']}')
        if char == ',' and depth == 0:
            parts.append(raw[start:i])
            start = i + 1
    return [*parts, raw[start:]]


def parse_sweeps(pairs: Iterable[str]) -> dict[str, list[Any]]:
    """``['loss.tau=0.2,0.4', 'lr=1e-3']`` -> ``{'loss.tau': [0.2, 0.4], 'lr': [0.001]}``.

    Values are parsed with ``yaml.safe_load`` like ``--set`` values, except that a string that
    is a float (``1e-3``, which YAML 1.1 reads as text) becomes one; a list value keeps its
    commas (``p_edge=[0.2,0.4],[0.3,0.5]`` is two values).

    Raises:
        GCLConfigError: a pair without ``=``, an empty key or value, a repeated value, or the
            same key twice.
    """
    grid: dict[str, list[Any]] = {}
    for pair in pairs:
        if '=' not in pair:
            raise GCLConfigError(f'--sweep expects KEY=V1,V2,..., got {pair!r}')
        key, raw = (part.strip() for part in pair.split('=', 1))
        if not key:
            raise GCLConfigError(f'--sweep {pair!r}: the key is empty')
        if key in grid:
            raise GCLConfigError(f'--sweep {key} is given twice; list all its values in one '
                                 f'--sweep {key}=V1,V2')
        values = []
        for text in _split_values(raw):
            if not text.strip():
                raise GCLConfigError(f'--sweep {key}: empty value in {raw!r}; expected '
                                     f'{key}=V1,V2,...')
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise GCLConfigError(f'--sweep {key}: cannot parse value {text!r}') from exc
            value = _number(value)
            if value in values:
                raise GCLConfigError(f'--sweep {key}: the value {text.strip()} is repeated')
            values.append(value)
        grid[key] = values
    return grid


def _number(value: Any) -> Any:
    """``'1e-3'`` -> ``0.001``; anything else unchanged."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def grid_points(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of ``grid``, first key slowest: ``[{key: value, ...}, ...]``."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def _check_paths(paths: Mapping[str, str], keys: Iterable[str]) -> None:
    """Sweep keys must name distinct training options (not the seed, data or evaluation)."""
    seen: dict[str, str] = {}
    for key in keys:
        path = paths[key]
        if path in seen:
            raise GCLConfigError(f'--sweep {seen[path]} and --sweep {key} are the same option '
                                 f'({path}); give it once')
        seen[path] = key
        if path in ('seed', 'method', 'dataset', 'provenance'):
            raise GCLConfigError(f'--sweep {key}: {path} cannot be swept (use --seed, or one '
                                 f'run per method/dataset)')
        if path.split('.')[0] in ('data', 'eval'):
            raise GCLConfigError(f'--sweep {key}: {path} changes the graph or the evaluation, '
                                 'not the training, so RankMe cannot choose it; sweep training '
                                 'options (optim.*, loss.*, augment.*, encoder.*, ...)')


def _without_labels(data: Any) -> Any:
    """A shallow copy of ``data`` without ``y`` and the ``*_mask`` split tensors."""
    graph = copy.copy(data)
    for key in [k for k in graph.keys() if k == 'y' or k.endswith('_mask')]:
        del graph[key]
    return graph


def _score(config: Mapping[str, Any], graph: Any, device: str, progress: bool
           ) -> dict[str, Any]:
    """Train ``config`` on ``graph`` as :func:`gcl.train.run.run` would; RankMe of its output.

    A candidate that diverges (a NaN loss or NaN embeddings) scores ``rankme: None``, with its
    ``error``, and cannot win.
    """
    from gcl.bench.rankme import callbacks_from_config, rankme
    from gcl.methods import get_method
    from gcl.utils.seed import seed_everything

    seed_everything(int(config['seed']))
    method = get_method(config['method'])(dict(config))
    try:
        method.fit(graph, device=device, progress=progress,
                   callbacks=callbacks_from_config(config))
        value = rankme(method.embed(graph))
    except (TrainingDivergedError, GCLDataError) as exc:
        logger.warning('sweep: %s', exc)
        return {'rankme': None, 'epoch': None, 'error': str(exc)}
    selection = getattr(method, 'selection_', None) or {}
    return {'rankme': value, 'epoch': selection.get('epoch'),
            'fit_s': round(method.fit_seconds_, 3)}


def sweep(config: dict[str, Any], grid: Mapping[str, Iterable[Any]], *,
          tasks: list[str] | None = None, data: Any = None,
          root: str | os.PathLike | None = None, out_dir: str | os.PathLike = 'runs',
          device: str = 'auto', progress: bool = False,
          results_file: str | os.PathLike | None = None, save_embeddings: bool = True
          ) -> dict[str, Any]:
    """Train every point of ``grid`` over ``config``, keep the highest RankMe, run only it.

    Each point's values replace the config's (as a last ``--set`` would); ``train.select``
    applies to every candidate. The winner is trained again by :func:`gcl.train.run.run` (same
    seed: on CPU the very same model), so its run directory is a plain run's plus
    ``sweep.json``. The other arguments are those of :func:`gcl.train.run.run`.

    Args:
        config (dict): a resolved config (:func:`gcl.config.load_config`), with its seed.
        grid (Mapping[str, Iterable]): option -> values, e.g. ``{'loss.tau': [0.2, 0.4]}``.

    Returns:
        dict: ``{'keys', 'candidates': [{'point', 'scores': {graph: {'rankme', 'epoch',
        'fit_s'}}}], 'selected': {graph: index}, 'runs': [{'run_dir', 'tasks', 'index',
        'point', 'metrics'}], 'metrics'}`` with graph ``'full'`` (node, cluster) and/or ``'link'``;
        ``metrics`` merges the runs' metrics.

    Raises:
        GCLConfigError: an empty grid or value list, unknown or repeated options, or options of
            the seed, data or evaluation.
        GCLDataError: no candidate could be trained (each diverged or the graph is malformed);
            a candidate that diverges is only left out.
    """
    from gcl.bench.rankme import select_best
    from gcl.config import apply_overrides
    from gcl.train.run import link_split, load_data, resolve_tasks, run

    grid = {key: list(values) for key, values in grid.items()}
    if not grid or not all(grid.values()):
        raise GCLConfigError('sweep: the grid needs at least one option with at least one value')
    points = grid_points(grid)
    paths: dict[str, str] = {}
    configs = [apply_overrides(config, point, paths=paths) for point in points]
    _check_paths(paths, grid)
    tasks = resolve_tasks(config, tasks)
    if data is None:
        data = load_data(config, root)
    graphs: dict[str, Any] = {}
    if any(_GRAPH[t] == 'full' for t in tasks) or not tasks:
        graphs['full'] = _without_labels(data)
    if 'link' in tasks:
        graphs['link'] = _without_labels(link_split(data, config)[0])
    candidates: list[dict[str, Any]] = [{'point': p, 'scores': {}} for p in points]
    for graph_name, graph in graphs.items():
        for i, (candidate, cfg) in enumerate(zip(candidates, configs)):
            score = _score(cfg, graph, device, progress)
            candidate['scores'][graph_name] = score
            value = 'diverged' if score['rankme'] is None else f"{score['rankme']:.3f}"
            logger.info('sweep %d/%d on the %s graph, %s: RankMe %s', i + 1, len(points),
                        graph_name, _label(candidate['point']), value)
    for graph_name in graphs:
        if all(c['scores'][graph_name]['rankme'] is None for c in candidates):
            raise GCLDataError(f'sweep: no candidate could be trained on the {graph_name} graph; '
                               f"the first said: {candidates[0]['scores'][graph_name]['error']}")
    selected = {g: select_best([c['scores'][g] for c in candidates]) for g in graphs}
    plan: dict[int, list[str]] = {}
    for task in tasks or []:
        plan.setdefault(selected[_GRAPH[task]], []).append(task)
    if not plan:
        plan[selected['full']] = []
    runs = []
    for index, run_tasks in plan.items():
        records = {t: _selection_record(grid, candidates, _GRAPH[t], index) for t in run_tasks}
        result = run(configs[index], root=root, out_dir=out_dir, device=device,
                     progress=progress, results_file=results_file, tasks=run_tasks, data=data,
                     save_embeddings=save_embeddings, sweep=records)
        runs.append({'run_dir': str(result['run_dir']), 'tasks': run_tasks, 'index': index,
                     'point': points[index], 'metrics': result['metrics']})
    return {'keys': list(grid), 'candidates': candidates, 'selected': selected, 'runs': runs,
            'metrics': {k: v for r in runs for k, v in r['metrics'].items()}}


def _selection_record(grid: Mapping[str, list[Any]], candidates: list[dict[str, Any]],
                      graph: str, index: int) -> dict[str, Any]:
    """What a chosen run's records say about how its hyper-parameters were chosen."""
    return {'by': 'rankme', 'graph': graph, 'grid': dict(grid), 'index': index,
            'chosen': candidates[index]['point'],
            'candidates': [{'point': c['point'], **c['scores'][graph]} for c in candidates]}


def _label(point: Mapping[str, Any]) -> str:
    return ' '.join(f'{k}={v}' for k, v in point.items())
