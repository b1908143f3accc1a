"""``gcl communities``: detect communities in a dataset and describe them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gcl.cli import common


@common.handle_errors
def communities(
    dataset: Annotated[str | None, typer.Option(
        '--dataset', '-d', help='See `gcl datasets list`. Default: cora, unless --edges.')] = None,
    edges: Annotated[Path | None, typer.Option(
        help='Your graph instead: an edge list file (src,dst per line, 0-based ids).')] = None,
    labels_file: Annotated[Path | None, typer.Option(
        '--labels', help='With --edges: node labels, for NMI / ARI (optional).')] = None,
    algorithm: Annotated[str, typer.Option(
        '--algorithm', '-a', help='louvain, leiden (extra: gcl-toolkit[leiden]) or '
                                  'label-propagation.')] = 'louvain',
    seed: Annotated[int, typer.Option('--seed', '-s', help='Seed of the detector.')] = 0,
    resolution: Annotated[float | None, typer.Option(
        help='Modularity resolution (louvain, leiden). Default: the detector\'s 1.0.')] = None,
    out: Annotated[Path | None, typer.Option(
        help='Write the assignment here, atomically: .pt (torch dict, labels LongTensor [N]) '
             'or any other suffix (CSV: node,community).')] = None,
    cache: Annotated[bool, typer.Option(
        help='Use the detection cache (~/.cache/gcl/communities or $GCL_CACHE_DIR).')] = False,
    root: Annotated[Path | None, typer.Option(help='Dataset root.')] = None,
    quiet: Annotated[bool, typer.Option('--quiet', '-q', help='No info logs.')] = False,
    fmt: Annotated[str, typer.Option('--format', help='table or json')] = 'table',
) -> None:
    """Detect communities in DATASET (or the graph in --edges): number, modularity, sizes, NMI /
    ARI against the labels (when there are labels) and the time taken."""
    from gcl.community import community_report
    from gcl.data import from_csv, load_dataset
    from gcl.utils.io import atomic_save_torch, atomic_write_text

    common.setup_logging(quiet)
    common.check_output(out, '--out')   # before the detection (minutes on a large graph)
    common.check_graph_source(dataset, edges, labels=labels_file)
    if edges is not None:
        _, name = common.graph_file_options(edges, labels=labels_file)
        data = from_csv(edges, labels=labels_file, identity_if_missing=False)
        data.dataset = name
    else:
        data = load_dataset(dataset or 'cora', root)
    params = {} if resolution is None else {'resolution': resolution}
    labels, report = community_report(data, algorithm, seed, use_cache=cache, **params)
    if out is not None:
        if out.suffix == '.pt':
            atomic_save_torch({'labels': labels, **{k: report[k] for k in (
                'dataset', 'algorithm', 'params', 'seed', 'modularity', 'num_communities')}}, out)
        else:
            rows = ''.join(f'{i},{c}\n' for i, c in enumerate(labels.tolist()))
            atomic_write_text(out, 'node,community\n' + rows)
        report['out'] = str(out)

    def render() -> None:
        from rich.table import Table

        table = Table(title=f"{report['algorithm']} on {report['dataset']} (seed {seed})",
                      title_justify='left')
        table.add_column('quantity')
        table.add_column('value', justify='right')
        shown = {
            'communities': f"{report['num_communities']:,}",
            'modularity': f"{report['modularity']:.4f}",
            'sizes (max / median / min)': f"{report['size_max']:,} / "
                                          f"{report['size_median']:g} / {report['size_min']:,}",
            'largest 10 sizes': ', '.join(str(s) for s in report['sizes_top10']),
            'singletons': f"{report['singletons']:,}",
        }
        if 'nmi' in report:
            shown['NMI with labels'] = f"{report['nmi']:.4f}"
            shown['ARI with labels'] = f"{report['ari']:.4f}"
        shown['time (s)'] = f"{report['seconds']:.2f}" + (' (cached)' if report['cached'] else '')
        for key, value in shown.items():
            table.add_row(key, value)
        common.stdout.print(table)
        if out is not None:
            common.stderr.print(f'assignment written to {out}')

    common.emit(report, fmt, render)
