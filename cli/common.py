"""Shared CLI plumbing: error handling, logging, rendering. No tensor code lives in ``cli/``."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from gcl.errors import GCLError

F = TypeVar('F', bound=Callable[..., Any])

stdout = Console()
stderr = Console(stderr=True)
STATE: dict[str, Any] = {'debug': False}


def setup_logging(quiet: bool = False) -> None:
    """Install a rich handler on the ``gcl`` logger (the library itself never configures one)."""
    from rich.logging import RichHandler

    logger = logging.getLogger('gcl')
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        handler = RichHandler(console=stderr, show_path=False, show_time=False)
        logger.addHandler(handler)
    level = logging.DEBUG if STATE['debug'] else (logging.WARNING if quiet else logging.INFO)
    logger.setLevel(level)


def handle_errors(func: F) -> F:
    """Print a :class:`GCLError` as one red line and exit 2 (``--debug`` shows the trace)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GCLError as exc:
            if STATE['debug']:
                raise
            stderr.print(f'[bold red]error:[/] {exc}', highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        except OSError as exc:   # a path that cannot be read or written: full disk, no rights
            if STATE['debug']:
                raise
            where = f': {exc.filename}' if exc.filename else ''
            stderr.print(f'[bold red]error:[/] {exc.strerror or exc}{where}', highlight=False,
                         soft_wrap=True)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            stderr.print('[red]interrupted[/]')
            raise typer.Exit(code=130) from None

    return wrapper  # type: ignore[return-value]


def check_output(path: Path | None, option: str, *, folder: bool = False) -> None:
    """Refuse, before any training, an output ``path`` that cannot be written: a folder given
    for a file (or a file for a folder), or a place where the folder cannot be created or written.
    Training can take hours; its results must not be lost at the last step."""
    import os
    import tempfile

    from gcl.errors import GCLConfigError

    if path is None:
        return
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise GCLConfigError(f'{option} {path} is a file; give a folder')
    if not folder and path.is_dir():
        raise GCLConfigError(f'{option} {path} is a folder; give a file name')
    existing = path if folder else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the nearest folder that exists: where mkdir would start
    if not existing.is_dir():
        raise GCLConfigError(f'{option} {path}: {existing} is a file, not a folder')
    try:  # a real write (as root, os.access says yes even on read-only file systems)
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise GCLConfigError(f'{option} {path}: cannot write in {existing} '
                             f'({exc.strerror or exc})') from None
    if not folder and path.exists() and not os.access(path, os.W_OK):
        raise GCLConfigError(f'{option} {path}: the file is not writable')


def compact_table(title: str) -> Any:
    """A rich ``Table`` that fits 80 columns: a header rule, no boxes, two spaces between columns
    (the boxed default cut numbers and names to '491,7…' in a pipe or a narrow terminal)."""
    from rich import box

    return Table(title=title, title_justify='left', box=box.SIMPLE_HEAD, show_edge=False,
                 pad_edge=False, padding=(0, 1, 0, 0))


def help_text(func: Callable[..., Any]) -> str:
    """FUNC's docstring as ``--help`` text: each paragraph joined onto one line.

    Typer's rich mode (0.29) keeps a docstring's single line breaks and then wraps again at the
    terminal's width, so source lines of 95 columns left a short ragged line on every 80-column
    terminal. Paragraphs (blank-line separated) stay apart; rich re-wraps each to fit.
    """
    paragraphs = inspect.cleandoc(func.__doc__ or '').split('\n\n')
    return '\n\n'.join(' '.join(line.strip() for line in p.splitlines()) for p in paragraphs)


def show_progress(quiet: bool) -> bool:
    """Progress bars only when not ``--quiet`` and stderr is a terminal."""
    return not quiet and sys.stderr.isatty()


def metrics_table(title: str, metrics: dict[str, dict[str, Any]]) -> Table:
    """A rich table: one row per (task, metric) with mean +- std."""
    table = Table(title=title, title_justify='left')
    table.add_column('task')
    table.add_column('metric')
    table.add_column('value', justify='right')
    table.add_column('protocol')
    for task, values in metrics.items():
        protocol = str(values.get('protocol', ''))
        for key, value in values.items():
            if key.endswith('_std') or key in ('protocol', 'repeats') or \
                    not isinstance(value, (int, float)):
                continue
            std = values.get(f'{key}_std')
            shown = f'{value:.4f}' if std is None else f'{value:.4f} ± {std:.4f}'
            table.add_row(task, key, shown, protocol)
            protocol = ''
    return table


def emit(payload: Any, fmt: str, render: Callable[[], None]) -> None:
    """Write ``payload`` as JSON on stdout (``--format json``) or call ``render``."""
    if fmt == 'json':
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + '\n')
    elif fmt == 'table':
        render()
    else:
        raise GCLError(f'unknown --format {fmt!r}; use table or json')


def check_graph_source(dataset: str | None, edges: Any, **with_edges: Any) -> None:
    """``--dataset`` and ``--edges`` exclude each other, and the options in ``with_edges``
    (``features=...``, ``labels=...``: given or ``None``) only make sense with ``--edges``."""
    from gcl.errors import GCLConfigError

    if edges is not None and dataset is not None:
        raise GCLConfigError('give one of --dataset NAME or --edges FILE, not both')
    given = [f'--{name}' for name, value in with_edges.items() if value is not None]
    if edges is None and given:
        verb = 'go' if len(given) > 1 else 'goes'
        raise GCLConfigError(f'{" and ".join(given)} {verb} with --edges; a dataset brings its '
                             'own')


def graph_file_options(edges: Any, features: Any = None, labels: Any = None
                       ) -> tuple[dict[str, str], str]:
    """A graph of your own for a run's config: ``({'data.files.edges': PATH, ...}, dataset
    name)``, each file checked to exist. The name is the edge file's stem, safe for a run
    directory's name, with a ``file-`` prefix where the stem names a catalogued dataset
    (``cora.csv`` -> ``file-cora``), so its records are never taken for that dataset's nor its
    runs given that dataset's paper config."""
    import re
    from pathlib import Path

    from gcl.data.catalog import is_catalogued
    from gcl.errors import GCLDataError

    overrides = {}
    for key, path in (('edges', edges), ('features', features), ('labels', labels)):
        if path is not None:
            path = Path(path)
            if not path.is_file():
                raise GCLDataError(f'{path}: no such file')
            overrides[f'data.files.{key}'] = str(path)    # load_config makes it absolute
    name = re.sub(r'[^A-Za-z0-9._-]+', '-', Path(edges).stem).strip('.-') or 'graph'
    if is_catalogued(name):   # cora.csv: not to be filed (or configured) as the real Cora
        name = f'file-{name}'
    return overrides, name
