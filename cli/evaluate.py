"""``gcl evaluate``: evaluate a saved run or an embeddings file."""

from __future__ import annotations

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
    protocol: Annotated[str, typer.Option(
        help='Node protocol: random-10-10-80, public, grace-10-90, gca, '
             'gca-public, gcool.')] = 'random-10-10-80',
    repeats: Annotated[int, typer.Option(help='Random splits / k-means seeds.')] = 5,
    seed: Annotated[int, typer.Option(help='Seed of splits and k-means.')] = 0,
    root: Annotated[Path | None, typer.Option(help='Dataset root.')] = None,
    fmt: Annotated[str, typer.Option('--format', help='table or json')] = 'table',
) -> None:
    """Evaluate saved embeddings on chosen tasks (node classification, clustering, CSGCL's
    transductive link prediction).

    Link prediction is evaluated by `gcl train`, because its test edges must be removed before the
    encoder is trained; embeddings of a full graph cannot be scored fairly on its own edges.
    `link-transductive` does exactly that, as CSGCL's code does: its number is optimistic and
    labelled so, for comparison with CSGCL's tables only.
    """
    import yaml

    from gcl.data import load_dataset
    from gcl.errors import GCLConfigError, GCLDataError
    from gcl.eval import evaluate as evaluate_embeddings
    from gcl.utils.embeddings import load_embeddings

    common.setup_logging(quiet=fmt == 'json')
    task_list = [t.strip() for t in tasks.split(',') if t.strip()]
    if 'link' in task_list:
        raise GCLConfigError('link prediction needs edges held out before training; run '
                             '`gcl train --tasks link` instead')
    path = source
    normalize = True
    if source.is_dir():
        config_file = source / 'config.yaml'
        if not config_file.is_file():
            raise GCLDataError(f'{source} is not a run directory (no config.yaml)')
        config = yaml.safe_load(config_file.read_text())
        dataset = dataset or config.get('dataset')
        normalize = bool(config.get('data', {}).get('normalize_features', True))
        path = source / 'embeddings.pt'
    if dataset is None:
        raise GCLConfigError('say which dataset the embeddings belong to: --dataset NAME')
    z = load_embeddings(path)
    data = load_dataset(dataset, root, normalize_features=normalize)
    metrics = evaluate_embeddings(z, data, tasks=tuple(task_list), node_protocol=protocol,
                                  repeats=repeats, random_state=seed)
    common.emit(metrics, fmt, lambda: common.stdout.print(
        common.metrics_table(f'{path} on {dataset}', metrics)))
