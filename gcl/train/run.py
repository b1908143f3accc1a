"""``run``: one experiment from a resolved config -- load, train, embed, evaluate, record.

Link prediction needs edges the encoder never saw, so when ``'link'`` is among the tasks a second
encoder is trained, with the same config and seed, on the graph without the validation and test
edges (:func:`gcl.eval.split_edges`); node classification, clustering and CSGCL's transductive
link prediction (``'link-transductive'``, scored on the training edges) use the encoder trained on
the full graph, as the papers do.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch_geometric.transforms import NormalizeFeatures

from gcl.data.catalog import is_catalogued
from gcl.data.custom import from_csv
from gcl.data.loaders import get_idx_split, load_dataset
from gcl.errors import GCLConfigError, GCLError
from gcl.eval.collapse import embedding_health
from gcl.eval.evaluate import TASKS as _TASKS
from gcl.train.loop import flat_episodes
from gcl.train.record import data_checksum, make_record
from gcl.utils.io import append_jsonl, atomic_save_torch, atomic_write_text
from gcl.utils.seed import seed_everything

logger = logging.getLogger(__name__)

__all__ = ['run', 'evaluate_embeddings', 'load_data', 'link_split', 'resolve_tasks']

#: the tasks that score the full graph's encoder (``'link'`` trains its own)
_FULL_GRAPH_TASKS = tuple(t for t in _TASKS if t != 'link')


def evaluate_embeddings(z: torch.Tensor, data: Any, config: dict[str, Any], tasks: list[str],
                        edge_split: dict | None = None) -> dict[str, dict[str, Any]]:
    """Evaluate frozen embeddings with the protocol settings of ``config['eval']``."""
    from gcl.eval import evaluate

    ev = config['eval']
    protocols = ev['node_protocol']
    protocols = [protocols] if isinstance(protocols, str) else list(protocols)
    out: dict[str, dict[str, Any]] = {}
    for i, protocol in enumerate(protocols):
        # The first node protocol also runs the other tasks; further protocols only 'node'.
        wanted = list(tasks) if i == 0 else [t for t in tasks if t == 'node']
        if not wanted:
            break
        probe = {'epochs': int(ev['probe_epochs'])} if ev.get('probe_epochs') else {}
        result = evaluate(z, data, tasks=tuple(wanted), node_protocol=protocol,
                          edge_split=edge_split, repeats=int(ev['repeats']),
                          random_state=int(config['seed']), scorer=ev['link_scorer'],
                          normalize=ev.get('node_normalize'), **probe)
        for task, values in result.items():
            out[task if i == 0 or task != 'node' else f'node:{protocol}'] = values
    return out


def resolve_tasks(config: Mapping[str, Any], tasks: list[str] | None = None) -> list[str]:
    """``tasks``, or ``config['eval']['tasks']`` when ``None``; unknown names raise."""
    tasks = list(tasks if tasks is not None else config['eval']['tasks'])
    unknown = [t for t in tasks if t not in _TASKS]
    if unknown:
        raise GCLConfigError(f'unknown task(s) {unknown}; choose from {list(_TASKS)}')
    return tasks


def load_data(config: Mapping[str, Any], root: str | os.PathLike | None = None) -> Any:
    """The graph ``config`` names: the files of ``data.files`` when it has an edge list (read by
    :func:`gcl.data.from_csv`), else the catalogued ``dataset``; ``data.normalize_features`` and
    ``data.options`` as :func:`gcl.data.load_dataset` takes them."""
    normalize = bool(config['data']['normalize_features'])
    files = dict(config['data'].get('files') or {})
    if files.get('edges'):
        if is_catalogued(str(config['dataset'])):
            raise GCLConfigError(
                f"data.files.edges ({files['edges']}) is set, but the run's dataset "
                f"{config['dataset']!r} is a catalogued one: its records would pass your graph "
                'off as that dataset. Give your graph with --edges FILE (and no --dataset)')
        data = from_csv(files['edges'], files.get('features'), files.get('labels'))
        if normalize and files.get('features'):
            data = NormalizeFeatures()(data)
        data.dataset = config['dataset']
        return data
    return load_dataset(config['dataset'], root, normalize_features=normalize,
                        **dict(config['data'].get('options') or {}))


def link_split(data: Any, config: Mapping[str, Any]) -> tuple[Any, dict]:
    """The link-prediction split of a run: ``(train_data, edge_split)`` from
    :func:`gcl.eval.split_edges` with ``eval.link_val`` / ``eval.link_test`` and the run's seed
    (the encoder for ``'link'`` is trained on ``train_data`` only)."""
    from gcl.eval import split_edges

    ev = config['eval']
    return split_edges(data, val_ratio=float(ev['link_val']), test_ratio=float(ev['link_test']),
                       random_state=int(config['seed']))


def run(config: dict[str, Any], *, root: str | os.PathLike | None = None,
        out_dir: str | os.PathLike = 'runs', device: str = 'auto', progress: bool = False,
        resume: str | os.PathLike | None = None, results_file: str | os.PathLike | None = None,
        tasks: list[str] | None = None, data: Any = None, save_embeddings: bool = True,
        sweep: Mapping[str, Mapping[str, Any]] | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_seconds: float = 600.0) -> dict[str, Any]:
    """Train ``config['method']`` on ``config['dataset']`` and evaluate it.

    Writes ``<out_dir>/<method>-<dataset>-seed<seed>-<time>/`` (``config.yaml``, ``metrics.json``,
    ``history.jsonl``, ``embeddings.pt``, ``checkpoint.pt``) -- built in a hidden temporary folder
    and renamed into place only when complete -- and appends one JSON line per task to
    ``results_file`` (default ``<out_dir>/results.jsonl``). ``sweep`` (task -> how this config
    was chosen, from :func:`gcl.train.sweep.sweep`) is written to ``sweep.json`` and into each
    task's records as ``'sweep'``.

    ``checkpoint_dir`` makes the run survive being killed: each training (``node.pt`` for the
    full graph, ``link.pt`` for the link-prediction one) checkpoints there every
    ``checkpoint_seconds`` and resumes from its checkpoint when the same config runs again, with
    the same result as an uninterrupted run (the RNG state travels with the model). The records
    then say ``resumed_from_epoch``; the folder is removed once the run is complete. Not with
    ``train.select: rankme``, whose chosen epoch is not in the checkpoint.

    Returns:
        ``{'run_dir', 'metrics': {task: {...}}, 'records': [...], 'config'}``.
    """
    from gcl.bench.rankme import callbacks_from_config
    from gcl.methods import get_method

    tasks = resolve_tasks(config, tasks)
    seed = seed_everything(int(config['seed']))
    if data is None:
        data = load_data(config, root)
    cls = get_method(config['method'])
    out_dir = Path(out_dir)
    stamp = time.strftime('%Y%m%d-%H%M%S')
    name = stem = f"{config['method']}-{config['dataset']}-seed{seed}-{stamp}"
    for i in range(2, 1000):  # two runs of one seed within a second (a sweep's two choices)
        if not (out_dir / name).exists():
            break
        name = f'{stem}-{i}'
    final_dir = out_dir / name
    tmp_dir = out_dir / f'.partial-{name}'
    if tmp_dir.exists():
        shutil.rmtree(tmp_dir)
    tmp_dir.mkdir(parents=True)
    handler = logging.FileHandler(tmp_dir / 'log.txt')
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(name)s: %(message)s'))
    logging.getLogger('gcl').addHandler(handler)
    try:
        atomic_write_text(tmp_dir / 'config.yaml', yaml.safe_dump(config, sort_keys=False))
        if sweep:
            atomic_write_text(tmp_dir / 'sweep.json', json.dumps(sweep, indent=2, default=str))
        data_sha = data_checksum(data)
        metrics: dict[str, dict[str, Any]] = {}
        timings: dict[str, float] = {}
        method = None
        trainings: dict[str, _Training] = {}   # 'node' (the full graph's) and / or 'link'
        saves = _Checkpoints(checkpoint_dir, config, checkpoint_seconds)

        def fit(training: str, model: Any, graph: Any, checkpoint: Path | None,
                start_from: Any) -> torch.Tensor:
            """Train ``model`` on ``graph``, note what its records need, return its embeddings."""
            model.fit(graph, device=device, progress=progress, checkpoint_path=checkpoint,
                      resume_from=start_from, checkpoint_seconds=saves.seconds,
                      callbacks=callbacks_from_config(config))
            timings['fit' if training == 'node' else 'fit_link'] = model.fit_seconds_
            z = model.embed(graph)
            trainings[training] = _Training.of(model, z, training)
            return z

        if any(t in tasks for t in _FULL_GRAPH_TASKS) or not tasks:
            method = cls(config)
            z = fit('node', method, data, saves.path('node') or tmp_dir / 'checkpoint.pt',
                    resume or saves.resume_point('node', method))
            if saves.path('node') is not None:
                shutil.copyfile(saves.path('node'), tmp_dir / 'checkpoint.pt')
            if save_embeddings:
                atomic_save_torch({'embeddings': z, 'method': config['method'],
                                   'dataset': config['dataset'], 'seed': seed},
                                  tmp_dir / 'embeddings.pt')
            node_tasks = [t for t in tasks if t in _FULL_GRAPH_TASKS]
            if node_tasks:
                start = time.perf_counter()
                metrics.update(evaluate_embeddings(z, data, config, node_tasks))
                timings['eval'] = time.perf_counter() - start
            _write_history(tmp_dir / 'history.jsonl', method.history_)
            # Methods with their own clustering head (PamC) report its protocols beside k-means.
            for name, values in (getattr(method, 'clustering_metrics_', None) or {}).items():
                if 'cluster' in tasks and isinstance(values, dict):
                    metrics[f'cluster:{name}'] = values
        if 'link' in tasks:
            train_data, edge_split = link_split(data, config)
            seed_everything(seed)
            link_method = cls(config)
            z_link = fit('link', link_method, train_data, saves.path('link'),
                         saves.resume_point('link', link_method))
            metrics.update(evaluate_embeddings(z_link, train_data, config, ['link'], edge_split))
            if method is None:
                method = link_method
                _write_history(tmp_dir / 'history.jsonl', method.history_)
        summary = {'metrics': metrics, 'seconds': timings, 'epochs': int(config['optim']['epochs']),
                   'seconds_per_epoch': _seconds_per_epoch(method), 'device': str(method.device_),
                   'git_commits': {k: t.commits for k, t in trainings.items()}}
        atomic_write_text(tmp_dir / 'metrics.json', json.dumps(summary, indent=2, default=str))
        records = []
        for task, values in metrics.items():
            base = task.split(':')[0]
            training = trainings.get(_training_of(base))
            record = make_record(config=config, task=base, metrics=values,
                                 wall_s=sum(timings.values()),
                                 epochs=int(config['optim']['epochs']), device=str(method.device_),
                                 data_sha=data_sha,
                                 extra={'run_dir': str(final_dir),
                                        'seconds_per_epoch': summary['seconds_per_epoch'],
                                        **(training.record_fields() if training else {}),
                                        **({'sweep': dict(sweep[base])}
                                           if sweep and base in sweep else {})})
            records.append(record)
    except BaseException:
        logging.getLogger('gcl').removeHandler(handler)
        handler.close()
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    logging.getLogger('gcl').removeHandler(handler)
    handler.close()
    os.replace(tmp_dir, final_dir)
    saves.remove()
    results = Path(results_file) if results_file else out_dir / 'results.jsonl'
    for record in records:
        append_jsonl(results, record)
    return {'run_dir': final_dir, 'metrics': metrics, 'records': records, 'config': config,
            'split': get_idx_split(data) is not None}


@dataclass
class _Training:
    """What one training of a run (``'node'``: the full graph's, serving node, cluster and
    transductive link; ``'link'``: the one without the held-out edges) gives its records."""

    health: dict[str, Any]                  # embedding_health of its embeddings
    flat: list[list[int]]                   # its flat-loss episodes (StallWatch's)
    # the commits it ran under: all in metrics.json; in a record only when several (a resumed
    # checkpoint written under other code), since the record's git_commit names this process's
    commits: list[str]
    resumed: int | None = None              # the epoch its checkpoint had reached, if any
    selection: Any = None                   # the epoch train.select='rankme' kept

    @classmethod
    def of(cls, method: Any, z: torch.Tensor, training: str) -> _Training:
        """Read a fitted method and its embeddings ``z`` ``[N, D]``."""
        name = 'the embeddings' if training == 'node' else "the link training's embeddings"
        return cls(health=embedding_health(z, name=name), flat=flat_episodes(method.history_),
                   commits=method.git_commits_, resumed=method.resumed_from_epoch_,
                   selection=getattr(method, 'selection_', None) or None)

    def record_fields(self) -> dict[str, Any]:
        """The keys it adds to the records of the tasks it serves."""
        return {**({'selection': self.selection} if self.selection else {}),
                'embedding': self.health, 'loss_flat': self.flat,
                **({'git_commits': self.commits} if len(self.commits) > 1 else {}),
                **({'resumed_from_epoch': self.resumed} if self.resumed is not None else {})}


def _training_of(task: str) -> str:
    """The training whose embeddings a task evaluates: ``'link'`` (its own, without the
    held-out edges) or ``'node'`` (the full graph's, shared by the other tasks)."""
    return 'link' if task == 'link' else 'node'


def _seconds_per_epoch(method: Any) -> float | None:
    history = getattr(method, 'history_', None) or []
    seconds = [h['seconds'] for h in history if 'seconds' in h]
    if not seconds:
        return None
    tail = seconds[1:] if len(seconds) > 1 else seconds  # drop the warm-up epoch
    return round(sum(tail) / len(tail), 5)


def _write_history(path: Path, history: list[dict[str, Any]]) -> None:
    atomic_write_text(path, ''.join(json.dumps(h) + '\n' for h in history))


class _Checkpoints:
    """Where a resumable run keeps its trainings' checkpoints (see :func:`run`)."""

    def __init__(self, folder: str | os.PathLike | None, config: Mapping[str, Any],
                 seconds: float) -> None:
        select = str((config.get('train') or {}).get('select') or 'last')
        if folder is not None and select == 'rankme':
            logger.info('train.select=rankme: this run is not resumable (the chosen epoch is '
                        'not in the checkpoint)')
            folder = None
        self.folder = Path(folder) if folder is not None else None
        self.seconds = float(seconds) if self.folder is not None else 0.0
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path | None:
        return self.folder / f'{name}.pt' if self.folder is not None else None

    def resume_point(self, name: str, method: Any) -> Path | None:
        """The checkpoint ``name`` if it continues this very config, else ``None`` (a stale or
        unreadable one is set aside with a warning, and training starts afresh)."""
        from gcl.methods.base import canonical
        from gcl.train.checkpoint import load_checkpoint

        path = self.path(name)
        if path is None or not path.exists():
            return None
        try:
            state = load_checkpoint(path, method=method.name)
        except GCLError as exc:
            logger.warning('%s; starting this training afresh', exc)
            path.unlink(missing_ok=True)
            return None
        saved = method.resolve_saved_config(state.get('config'))
        if canonical(saved) != canonical(method.config):
            logger.warning('%s was written by another config; starting this training afresh',
                           path)
            path.unlink(missing_ok=True)
            return None
        logger.info('%s: resuming the %s training after epoch %d', path, name,
                    int(state.get('epoch', 0)))
        return path

    def remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
