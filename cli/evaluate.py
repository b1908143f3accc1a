"""``gcl evaluate``: evaluate a saved run or an embeddings file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from gcl.cli import common


@common.handle_errors
def evaluate(
    source: Annotated[Path, typer.Argument(
        help='A run directory (from `gcl train`) or an embeddings file (.pt with a [N, D] tensor '
             'or {"embeddings": tensor}, or .npy).')],
    dataset: Annotated[str | None, typer.Option(
        '--dataset', '-d', help='Dataset the embeddings belong to (default: the run\'s).')] = None,
    tasks: Annotated[str, typer.Option(
        help='Comma list of node, cluster, link-transductive.')] = 'node,cluster',
    protocol: Annotated[str | None, typer.Option(
        help='Node protocol(s), comma list: random-10-10-80, public, grace-10-90, gca, '
             'gca-public, gcool. Default: the run\'s (random-10-10-80 for a file).')] = None,
    repeats: Annotated[int | None, typer.Option(
        help='Random splits / k-means seeds. Default: the run\'s (5 for a file).')] = None,
    seed: Annotated[int | None, typer.Option(
        help='Seed of splits, k-means and negatives. Default: the run\'s (0 for a file).')] = None,
    results: Annotated[Path | None, typer.Option(
        help='Append one record per task to this JSONL file, as `gcl train` does (run '
             'directories only; marked rescored_from).')] = None,
    root: Annotated[Path | None, typer.Option(help='Dataset root.')] = None,
    quiet: Annotated[bool, typer.Option('--quiet', '-q', help='No info logs.')] = False,
    fmt: Annotated[str, typer.Option('--format', help='table or json')] = 'table',
) -> None:
    """Evaluate saved embeddings on chosen tasks (node classification, clustering, CSGCL's
    transductive link prediction).

    A run directory is evaluated with its own settings (protocol, repeats, seed) unless options
    say otherwise, and `--results` records the numbers beside the run's. Link prediction is
    evaluated by `gcl train`, because its test edges must be removed before the encoder is
    trained; embeddings of a full graph cannot be scored fairly on its own edges.
    `link-transductive` does exactly that, as CSGCL's code does: its number is optimistic and
    labelled so, for comparison with CSGCL's tables only.
    """
    from gcl.data import load_dataset
    from gcl.errors import GCLConfigError, GCLDataError
    from gcl.eval import evaluate as evaluate_embeddings
    from gcl.train.rescore import read_run_config, rescore_run
    from gcl.utils.embeddings import load_embeddings

    common.setup_logging(quiet=quiet or fmt == 'json')
    common.check_output(results, '--results')
    task_list = [t.strip() for t in tasks.split(',') if t.strip()]
    if 'link' in task_list:
        raise GCLConfigError('link prediction needs edges held out before training; run '
                             '`gcl train --tasks link` instead')
    if not source.exists():
        raise GCLDataError(f'{source} does not exist; pass a run directory or an embeddings file')
    if source.is_dir():
        trained_on = read_run_config(source)['dataset']
        if dataset is not None and dataset != trained_on:
            raise GCLConfigError(f'{source} was trained on {trained_on}, not {dataset}; drop '
                                 '--dataset')
        dataset = trained_on
        metrics, records = rescore_run(source, task_list, protocol=protocol, repeats=repeats,
                                       seed=seed, root=root, results_file=results)
        if records:
            logging.getLogger('gcl').info('%d record(s) appended to %s', len(records), results)
        path = source / 'embeddings.pt'
    else:
        if results is not None:
            raise GCLConfigError('--results needs a run directory (its config says what the '
                                 'numbers describe); an embeddings file has none')
        if dataset is None:
            raise GCLConfigError('say which dataset the embeddings belong to: --dataset NAME')
        z = load_embeddings(source)
        data = load_dataset(dataset, root)
        metrics = evaluate_embeddings(z, data, tasks=tuple(task_list),
                                      node_protocol=protocol or 'random-10-10-80',
                                      repeats=5 if repeats is None else repeats,
                                      random_state=0 if seed is None else seed)
        path = source
    common.emit(metrics, fmt, lambda: common.stdout.print(
        common.metrics_table(f'{path} on {dataset}', metrics)))
