"""``gcl train``: train METHOD on DATASET, then evaluate the frozen embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gcl.cli import common


def _sweep_table(title: str, result: dict[str, Any]) -> Table:
    """One row per candidate: the swept values, RankMe per training graph, what it was run for."""
    table = Table(title=title, title_justify='left')
    for key in result['keys']:
        table.add_column(key)
    graphs = list(result['selected'])
    names = {'full': 'full graph', 'link': 'link-training graph'}
    for graph in graphs:
        table.add_column('RankMe' + (f' ({names[graph]})' if len(graphs) > 1 else ''),
                         justify='right')
    table.add_column('selected for')
    chosen = {r['index']: r['tasks'] for r in result['runs']}
    for i, candidate in enumerate(result['candidates']):
        cells = [str(candidate['point'][key]) for key in result['keys']]
        for graph in graphs:
            score = candidate['scores'][graph]
            epoch = f" (epoch {score['epoch']})" if score.get('epoch') is not None else ''
            cells.append('diverged' if score['rankme'] is None else
                         f"{score['rankme']:.3f}{epoch}")
        cells.append(('* ' + ', '.join(chosen[i] or ['train'])) if i in chosen else '')
        table.add_row(*cells)
    return table


@common.handle_errors
def train(
    method: Annotated[str, typer.Option('--method', '-m',
                                        help='Method name; see `gcl methods list`.')],
    dataset: Annotated[str | None, typer.Option(
        '--dataset', '-d', help='See `gcl datasets list`. Default: cora, unless --edges.')] = None,
    edges: Annotated[Path | None, typer.Option(
        help='Your graph instead of a dataset: an edge list file (src,dst per line, 0-based '
             'ids), read as `gcl embed` reads it.')] = None,
    features: Annotated[Path | None, typer.Option(
        help='With --edges: node features, one row per node (default: identity).')] = None,
    labels: Annotated[Path | None, typer.Option(
        help='With --edges: node labels, needed by the node and cluster evaluations; without '
             'them the default tasks are link prediction only.')] = None,
    seed: Annotated[list[str] | None, typer.Option(
        '--seed', '-s', help='Seed; repeatable, or a range/list: 0-4, 0,1,2. Default: the config.')
    ] = None,
    config: Annotated[Path | None, typer.Option(
        '--config', '-c', help='YAML file layered over the shipped paper config.')] = None,
    set_: Annotated[list[str] | None, typer.Option(
        '--set', help='Override an option: key=value (dotted path or unique leaf name, e.g. '
                      'optim.lr=0.01 or tau=0.5). Repeatable.')] = None,
    epochs: Annotated[int | None, typer.Option(help='Override optim.epochs.')] = None,
    loss: Annotated[str | None, typer.Option(
        help='Override loss.name (registered losses).')] = None,
    negatives: Annotated[int | None, typer.Option(
        '--negatives', help='K sampled negatives per anchor: an approximation of the loss that '
                            'scales to millions of nodes (sets loss.mode=sampled, '
                            'loss.num_negatives=K). Default: the exact loss.')] = None,
    tasks: Annotated[str | None, typer.Option(
        help='Comma list of node, cluster, link, link-transductive (CSGCL\'s protocol: scored '
             'on the training edges, no extra training). Default: the config.')] = None,
    protocol: Annotated[str | None, typer.Option(
        help='Node-classification protocol(s), comma list: random-10-10-80, public, '
             'grace-10-90, gca, gca-public, gcool.')] = None,
    device: Annotated[str, typer.Option(help='auto, cpu, cuda, cuda:N')] = 'auto',
    root: Annotated[Path | None, typer.Option(
        help='Dataset root (default $GCL_DATA_ROOT or ~/.cache/gcl/datasets).')] = None,
    out: Annotated[Path, typer.Option(help='Folder for run directories.')] = Path('runs'),
    results: Annotated[Path | None, typer.Option(
        help='JSONL file to append results to (default OUT/results.jsonl).')] = None,
    resume: Annotated[Path | None, typer.Option(
        help="Continue from a checkpoint.pt, under its own settings (give its run's config.yaml "
             'with --config).')] = None,
    select: Annotated[str | None, typer.Option(
        help='Which epoch to keep: last (default) or rankme (the highest RankMe in the second '
             'half of training, chosen without labels; sets train.select, see '
             'train.select_after).')] = None,
    sweep_: Annotated[list[str] | None, typer.Option(
        '--sweep', help='Choose hyper-parameters without labels: KEY=V1,V2,... (keys as in --set; '
                        'repeat for a grid: the cartesian product). Per seed, one model is trained '
                        'per point on an unlabelled copy of the graph and the highest RankMe wins '
                        '(of the kept epoch with --select rankme, else of the last epoch); only '
                        'the winner is evaluated and recorded, with all candidates, in sweep.json '
                        'and its records. Link prediction chooses on the graph without its '
                        'held-out edges, so its winner may differ (then two run directories). '
                        'Sweep values replace --set/--config values of the same option.')] = None,
    quiet: Annotated[bool, typer.Option('--quiet', '-q', help='No progress bar or info logs.')
                     ] = False,
    fmt: Annotated[str, typer.Option('--format', help='table or json')] = 'table',
) -> None:
    """Train METHOD on DATASET, then evaluate the frozen embeddings.

    Prints node classification (linear probe), clustering (k-means) and link prediction (edges
    held out before training) results, and writes a run directory plus one JSON line per task.

    With --sweep KEY=V1,V2 the hyper-parameters are chosen by RankMe, without labels: a table of
    the candidates comes first, and only the chosen point is evaluated (no test number exists
    for the others, so none can sway the choice).
    """
    from gcl.bench.grid import parse_seeds
    from gcl.config import load_config, parse_overrides
    from gcl.errors import GCLConfigError
    from gcl.train.run import run
    from gcl.train.sweep import parse_sweeps, sweep

    common.setup_logging(quiet)
    common.check_output(out, '--out', folder=True)   # before training, not after it
    common.check_output(results, '--results')
    grid = parse_sweeps(sweep_) if sweep_ else None
    if grid and resume is not None:
        raise GCLConfigError('--resume continues one training; it cannot be combined with --sweep')
    overrides = parse_overrides(set_ or [])
    if epochs is not None:
        overrides['optim.epochs'] = epochs
    if loss is not None:
        overrides['loss.name'] = loss
    if negatives is not None:
        overrides['loss.mode'] = 'sampled'
        overrides['loss.num_negatives'] = negatives
    if select is not None:
        overrides['train.select'] = select
    if protocol is not None:
        protocols = [p.strip() for p in protocol.split(',') if p.strip()]
        overrides['eval.node_protocol'] = protocols[0] if len(protocols) == 1 else protocols
    task_list = [t.strip() for t in tasks.split(',')] if tasks else None
    common.check_graph_source(dataset, edges, features=features, labels=labels)
    if edges is not None:
        files, name = common.graph_file_options(edges, features, labels)
        if labels is None and task_list is None:
            task_list = ['link']
            common.stderr.print('no --labels: evaluating link prediction only')
        base = load_config(method, 'custom', config_file=config, overrides={**overrides, **files})
        base['dataset'] = name
    else:
        base = load_config(method, dataset or 'cora', config_file=config, overrides=overrides)
    seeds = parse_seeds(seed) or [int(base['seed'])]
    if resume is not None and len(seeds) > 1:
        raise GCLConfigError('--resume continues one training; give one --seed (or none)')
    outputs = []
    for one_seed in seeds:
        cfg = dict(base, seed=one_seed)
        if grid:
            result = sweep(cfg, grid, root=root, out_dir=out, device=device,
                           progress=common.show_progress(quiet), results_file=results,
                           tasks=task_list)
            outputs.append({'seed': one_seed, **result})
        else:
            result = run(cfg, root=root, out_dir=out, device=device,
                         progress=common.show_progress(quiet), resume=resume,
                         results_file=results, tasks=task_list)
            outputs.append({'seed': one_seed, 'run_dir': str(result['run_dir']),
                            'metrics': result['metrics']})

        def render(result: dict = result, one_seed: int = one_seed, cfg: dict = cfg) -> None:
            title = f"{cfg['method']} on {cfg['dataset']} (seed {one_seed})"
            if grid:
                common.stdout.print(_sweep_table(f'{title}: candidates by RankMe (no labels)',
                                                 result))
            common.stdout.print(common.metrics_table(title, result['metrics']))
            for one_run in result.get('runs') or [result]:
                common.stderr.print(f"run directory: {one_run['run_dir']}")

        if fmt != 'json':
            common.emit(None, fmt, render)
    if fmt == 'json':
        common.emit(outputs, fmt, lambda: None)
