"""``gcl datasets``: list datasets with local status and statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gcl.cli import common

app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False)


@app.command('list')
@common.handle_errors
def list_(
    root: Annotated[Path | None, typer.Option(help='Dataset root.')] = None,
    fmt: Annotated[str, typer.Option('--format', help='table or json')] = 'table',
) -> None:
    """List every supported dataset: local status, size, classes and split."""

    from gcl.data import CATALOG, dataset_status

    rows = []
    for spec in CATALOG:
        rows.append({'name': spec.name, 'display': spec.display,
                     'status': dataset_status(spec.name, root), **spec.stats,
                     'split': spec.split})

    def render() -> None:
        table = common.compact_table(
            'gcl datasets (status: cached / shipped / generated / download)')
        for column in ('name', 'status', 'nodes', 'edges', 'feats', 'classes', 'split'):
            table.add_column(column, no_wrap=True, justify='right' if column in
                             ('nodes', 'edges', 'feats', 'classes') else 'left')
        for row in rows:
            table.add_row(row['name'], row['status'], *(f"{row.get(k, '')}" if
                          not isinstance(row.get(k), int) else f'{row[k]:,}'
                          for k in ('nodes', 'edges', 'features', 'classes')), row['split'])
        common.stdout.print(table)

    common.emit(rows, fmt, render)


@app.command('info')
@common.handle_errors
def info(
    name: Annotated[str, typer.Argument(help='Dataset name, e.g. cora.')],
    root: Annotated[Path | None, typer.Option(help='Dataset root.')] = None,
    load: Annotated[bool, typer.Option(help='Load it and report measured statistics.')] = False,
    fmt: Annotated[str, typer.Option('--format', help='table or json')] = 'table',
) -> None:
    """Show one dataset's facts, source and local status (and measured statistics with --load)."""
    from gcl.data import data_root, dataset_status, get_spec, load_dataset

    spec = get_spec(name)
    facts = {'name': spec.name, 'display': spec.display, 'status': dataset_status(name, root),
             'loader': spec.loader, 'split': spec.split, 'source': spec.source,
             'raw_files': list(spec.raw_files),
             'raw_folder': str(data_root(root) / spec.folder / 'raw'),
             'aliases': list(spec.aliases), **{f'catalog_{k}': v for k, v in spec.stats.items()}}
    if load:
        from torch_geometric.utils import is_undirected

        data = load_dataset(name, root)
        facts.update({'nodes': data.num_nodes, 'edges': data.num_edges,
                      'features': data.num_features,
                      'classes': int(data.y.max()) + 1 if data.y is not None else None,
                      'undirected': is_undirected(data.edge_index)})

    def render() -> None:
        for key, value in facts.items():
            common.stdout.print(f'[bold]{key:>16}[/]  {value}', highlight=False)

    common.emit(facts, fmt, render)
