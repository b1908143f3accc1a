"""``gcl plot RUN_DIR``: draw a run's training curves and its embedding map (PNG + SVG)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gcl.cli import common


@common.handle_errors
def plot(
    run_dir: Annotated[Path, typer.Argument(
        help='A run directory written by `gcl train` or `gcl bench`.')],
    out: Annotated[Path | None, typer.Option(
        help='Folder for the figures (default RUN_DIR/figures).')] = None,
    root: Annotated[Path | None, typer.Option(
        help='Dataset root, to read the labels that colour the map.')] = None,
    embedding_map: Annotated[bool, typer.Option(
        '--map/--no-map', help='Draw the 2-D map of the embeddings.')] = True,
    map_method: Annotated[str, typer.Option(
        help='auto (UMAP if installed, else t-SNE), umap or tsne.')] = 'auto',
    max_points: Annotated[int, typer.Option(help='Nodes drawn in the map at most.')] = 3000,
    quiet: Annotated[bool, typer.Option('--quiet', '-q')] = False,
    fmt: Annotated[str, typer.Option('--format', help='table or json')] = 'table',
) -> None:
    """Draw RUN_DIR's curves (loss, RankMe, probe accuracy per epoch) and embedding map.

    RankMe and probe accuracy appear when the run logged them (`--set train.rankme_every=10`,
    `--set train.probe_every=10`, or `--select rankme`).
    """
    from gcl.bench.plots import plot_run

    common.setup_logging(quiet)
    drawn = plot_run(run_dir, out, root=root, embedding_map=embedding_map,
                     map_method=map_method, max_points=max_points)
    payload = {kind: [str(p) for p in paths] for kind, paths in drawn.items()}

    def render() -> None:
        for kind, paths in payload.items():
            common.stdout.print(f'{kind}: ' + ', '.join(paths), highlight=False)

    common.emit(payload, fmt, render)
