"""``gcl methods``: registered methods and their configs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gcl.cli import common

app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False)


@app.command('list')
@common.handle_errors
def list_(fmt: Annotated[str, typer.Option('--format', help='table or json')] = 'table') -> None:
    """List registered methods with the datasets that have a shipped paper config."""
    from rich.table import Table

    from gcl.config import shipped_config_names
    from gcl.methods import __all__ as names
    from gcl.registry import registered

    classes = {cls for cls in registered('method').values() if cls.__name__ in names and
               cls.__name__ != 'Method'}
    rows = [{'name': cls.name, 'class': cls.__name__, 'description': cls.description,
             'paper_configs': shipped_config_names(cls.name)}
            for cls in sorted(classes, key=lambda c: c.name)]

    def render() -> None:
        table = Table(title='gcl methods')
        for column in ('name', 'description', 'paper configs'):
            table.add_column(column)
        for row in rows:
            table.add_row(row['name'], row['description'], ', '.join(row['paper_configs']))
        common.stdout.print(table)

    common.emit(rows, fmt, render)


@app.command('show')
@common.handle_errors
def show(
    name: Annotated[str, typer.Argument(help='Method name.')],
    dataset: Annotated[str, typer.Option(
        '--dataset', '-d', help='Resolve for this dataset (`custom`: your own graph files).'
    )] = 'cora',
    config: Annotated[Path | None, typer.Option('--config', '-c')] = None,
    set_: Annotated[list[str] | None, typer.Option('--set', help='key=value override.')] = None,
) -> None:
    """Print the resolved config (YAML) of NAME on DATASET, as `gcl train` would use it."""
    import yaml

    from gcl.config import load_config, parse_overrides
    from gcl.data.catalog import get_spec

    if dataset != 'custom':
        get_spec(dataset)   # an unknown name fails here, as in `gcl train`, not as a custom graph
    cfg = load_config(name, dataset, config_file=config, overrides=parse_overrides(set_ or []))
    typer.echo(yaml.safe_dump(cfg, sort_keys=False).rstrip())
