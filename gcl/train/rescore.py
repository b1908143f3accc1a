"""Re-evaluate a finished run directory and, on request, record the result like the run did.

A run directory (``gcl train``, ``gcl bench``) keeps its resolved ``config.yaml``, the frozen
``embeddings.pt`` of the full-graph training and ``metrics.json``. Evaluating those embeddings
again -- under another node protocol (``gcool``: gCooL's own probe), or on CSGCL's transductive
link prediction, which needs no new training -- costs seconds, where training again costs hours.
:func:`rescore_run` does that with the run's own evaluation settings (``eval.*`` and seed) unless
told otherwise, and its records carry the run's config, so the leaderboard groups them with the
run's other rows and ``gcl bench`` counts the cell as done.

``'link'`` is refused: its encoder must be trained without the held-out edges, and the saved
embeddings saw them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from gcl.config import yaml_problem
from gcl.errors import GCLConfigError, GCLDataError
from gcl.train.loop import flat_episodes
from gcl.train.record import data_checksum, make_record
from gcl.utils.embeddings import load_embeddings
from gcl.utils.io import append_jsonl, read_jsonl

__all__ = ['rescore_run', 'read_run_config']


def read_run_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The resolved config a run directory was trained with (``config.yaml``)."""
    run_dir = Path(run_dir)
    path = run_dir / 'config.yaml'
    if not path.is_file():
        raise GCLDataError(f'{run_dir} is not a run directory (no config.yaml); pass a folder '
                           'that `gcl train` or `gcl bench` wrote, e.g. runs/grace-cora-seed0-...')
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise GCLDataError(f'{path} is not valid YAML ({yaml_problem(exc)})') from exc
    missing = [k for k in ('method', 'dataset', 'seed', 'eval', 'optim') if
               not isinstance(config, dict) or k not in config]
    if missing:
        raise GCLDataError(f'{path} is not a gcl run config (missing {", ".join(missing)})')
    return config


def _run_summary(run_dir: Path) -> dict[str, Any]:
    """What the run recorded about its training (``metrics.json``): seconds, device, s/epoch.

    Returns ``fit_seconds`` (0 when not recorded), ``device`` (``'unknown'`` for runs made
    before ``metrics.json`` carried it), ``seconds_per_epoch`` (``None`` when absent) and
    ``loss_flat``, the flat-loss episodes of its ``history.jsonl`` (``None`` without one), and
    ``git_commits``, the commits its full-graph training ran under (``None`` for runs made
    before ``metrics.json`` carried them).
    """
    try:
        summary = json.loads((run_dir / 'metrics.json').read_text())
    except (OSError, ValueError):
        summary = {}
    summary = summary if isinstance(summary, dict) else {}
    seconds = summary.get('seconds') if isinstance(summary.get('seconds'), dict) else {}
    fit = seconds.get('fit', 0.0)
    per_epoch = summary.get('seconds_per_epoch')
    return {'fit_seconds': float(fit) if isinstance(fit, (int, float)) else 0.0,
            'device': str(summary.get('device') or 'unknown'),
            'seconds_per_epoch': per_epoch if isinstance(per_epoch, (int, float)) else None,
            'loss_flat': _flat_episodes_of(run_dir / 'history.jsonl'),
            'git_commits': _commits_of(summary)}


def _commits_of(summary: dict[str, Any]) -> list[str] | None:
    """``metrics.json``'s commits of the full-graph (``'node'``) training, if recorded."""
    commits = summary.get('git_commits')
    node = commits.get('node') if isinstance(commits, dict) else None
    return [str(c) for c in node] if isinstance(node, list) and node else None


def _flat_episodes_of(path: Path) -> list[list[int]] | None:
    """The flat-loss episodes of the full-graph training whose epochs ``path``
    (``history.jsonl``) lists, or ``None`` when it is missing or unreadable."""
    try:
        return flat_episodes([entry for _, entry in read_jsonl(path)])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def rescore_run(run_dir: str | os.PathLike, tasks: Sequence[str], *,
                protocol: str | None = None, repeats: int | None = None,
                seed: int | None = None, root: str | os.PathLike | None = None,
                results_file: str | os.PathLike | None = None,
                ) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Evaluate ``run_dir``'s saved embeddings on ``tasks`` with the run's settings.

    Args:
        run_dir: a run directory with ``config.yaml`` and ``embeddings.pt``.
        tasks: any of ``node``, ``cluster``, ``link-transductive`` (not ``link``).
        protocol: node protocol(s), comma list; default the run's ``eval.node_protocol``.
        repeats: random splits / k-means seeds; default the run's ``eval.repeats``.
        seed: seed of the splits, k-means and negatives; default the run's seed. A record is
            only written for the run's own seed, so it describes that run.
        root: dataset root.
        results_file: append one record per task here (as ``gcl train`` does), marked
            ``rescored_from`` with the run directory; ``wall_s`` is the run's training time
            plus this evaluation; ``device`` and ``seconds_per_epoch`` are the run's training's
            (from its ``metrics.json``); ``peak_rss_mb`` is this process's
            (``peak_rss_scope: 'rescoring process'``).

    Returns:
        ``(metrics, records)``: ``{task: {...}}`` as :func:`gcl.train.run.evaluate_embeddings`
        returns it, and the records written (empty without ``results_file``).
    """
    from gcl.train.run import _FULL_GRAPH_TASKS, evaluate_embeddings, load_data

    run_dir = Path(run_dir)
    tasks = list(dict.fromkeys(tasks))
    if 'link' in tasks:
        raise GCLConfigError('link prediction needs edges held out before training; run '
                             '`gcl train --tasks link` instead (link-transductive scores the '
                             "training edges, as CSGCL's code does)")
    unknown = [t for t in tasks if t not in _FULL_GRAPH_TASKS]
    if unknown or not tasks:
        raise GCLConfigError(f'unknown task(s) {unknown}; choose from '
                             f'{", ".join(_FULL_GRAPH_TASKS)}')
    config = read_run_config(run_dir)     # a fresh dict per call: edited in place below
    if seed is not None and int(seed) != int(config['seed']) and results_file is not None:
        raise GCLConfigError(f'--seed {seed} differs from the run\'s seed {config["seed"]}: a '
                             'record must describe the run, so leave --seed out with --results')
    if seed is not None:
        config['seed'] = int(seed)
    if protocol is not None:
        names = [p.strip() for p in protocol.split(',') if p.strip()]
        config['eval']['node_protocol'] = names[0] if len(names) == 1 else names
    if repeats is not None:
        config['eval']['repeats'] = int(repeats)
    if not (Path(run_dir) / 'embeddings.pt').is_file():
        raise GCLDataError(f'{run_dir} has no embeddings.pt: the run did not finish (a .partial-* '
                           'folder is one in progress or interrupted: the same `gcl bench` '
                           'command resumes its cell, `gcl train --resume CHECKPOINT` a run)')
    z = load_embeddings(run_dir / 'embeddings.pt')
    data = load_data(config, root)
    start = time.perf_counter()
    metrics = evaluate_embeddings(z, data, config, tasks)
    seconds = time.perf_counter() - start
    records: list[dict[str, Any]] = []
    if results_file is not None:
        data_sha = data_checksum(data)
        summary = _run_summary(run_dir)
        wall_s = summary['fit_seconds'] + seconds
        for task, values in metrics.items():
            records.append(make_record(
                config=config, task=task.split(':')[0], metrics=values, wall_s=wall_s,
                epochs=int(config['optim']['epochs']), device=summary['device'],
                data_sha=data_sha,
                extra={'run_dir': str(run_dir), 'rescored_from': str(run_dir),
                       'eval_seconds': round(seconds, 3),
                       'seconds_per_epoch': summary['seconds_per_epoch'],
                       **({'loss_flat': summary['loss_flat']}
                          if summary['loss_flat'] is not None else {}),
                       # the training's code; the record's git_commit is the rescoring one's
                       **({'git_commits': summary['git_commits']}
                          if summary['git_commits'] is not None else {}),
                       'peak_rss_scope': 'rescoring process'}))
        for record in records:
            append_jsonl(results_file, record)
    return metrics, records
