"""``gcl leaderboard``: results records -> benchmarks/RESULTS.md (+ CSV and figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gcl.cli import common

#: where the kernel benchmarks' measurements are looked for when --kernels is not given
KERNEL_DATA = ('benchmarks/results/kernels.csv', 'benchmarks/results/kernels.json',
               'benchmarks/kernels.csv', 'benchmarks/kernels.json')


@common.handle_errors
def leaderboard(
    results: Annotated[list[str] | None, typer.Option(
        '--results', '-r', help='Results files, folders or globs; repeatable. Default: '
                                'benchmarks/results/*.jsonl.')] = None,
    out: Annotated[Path, typer.Option(
        help='Markdown file; only the part between the gcl:leaderboard markers is replaced.')
    ] = Path('benchmarks/RESULTS.md'),
    csv_path: Annotated[Path | None, typer.Option(
        '--csv', help='CSV output (default: OUT with .csv).')] = None,
    papers: Annotated[Path | None, typer.Option(
        help='Papers YAML replacing the shipped gcl/bench/papers.yaml.')] = None,
    figures: Annotated[Path | None, typer.Option(
        help='Folder for the figures (default: OUT\'s folder/figures).')] = None,
    no_figures: Annotated[bool, typer.Option('--no-figures', help='Draw no figures.')] = False,
    kernels: Annotated[Path | None, typer.Option(
        help='Kernel benchmark data (CSV/JSON) for the time/memory vs graph size figure. '
             'Default: benchmarks/results/kernels.{csv,json} if present.')] = None,
    quiet: Annotated[bool, typer.Option('--quiet', '-q')] = False,
    fmt: Annotated[str, typer.Option('--format', help='table or json')] = 'table',
) -> None:
    """Write the leaderboard: mean ± std over seeds per dataset and task, papers beside.

    Hand-written text in OUT outside the generated block is kept. Corrupted or truncated
    results lines are reported with their line numbers and skipped.
    """
    from gcl.bench.leaderboard import write_leaderboard
    from gcl.cli.bench import _row_json, _rows_table

    common.setup_logging(quiet)
    figures_dir = None if no_figures else (figures or out.parent / 'figures')
    common.check_output(out, '--out')
    common.check_output(csv_path, '--csv')
    common.check_output(figures_dir, '--figures', folder=True)
    kernel_file = kernels or next((Path(p) for p in KERNEL_DATA if Path(p).is_file()), None)
    output = write_leaderboard(results or ['benchmarks/results/*.jsonl'], out,
                               csv_path=csv_path, papers_file=papers, figures_dir=figures_dir,
                               kernels_file=kernel_file)
    drawn = list(output.figures)
    payload = {'markdown': str(output.markdown), 'csv': str(output.csv),
               'figures': [str(p) for p in drawn],
               'rows': [_row_json(r) for r in output.rows],
               'skipped_lines': [{'file': f, 'line': n, 'problem': p}
                                 for f, n, p in output.problems]}

    def render() -> None:
        common.stdout.print(_rows_table(output.rows, f'{len(output.rows)} leaderboard rows'))
        for path, lineno, problem in output.problems:
            common.stderr.print(f'[yellow]{path}:{lineno}:[/] {problem}; skipped',
                                highlight=False)
        common.stderr.print(f'wrote {output.markdown}, {output.csv}' +
                            ''.join(f', {p}' for p in drawn))

    common.emit(payload, fmt, render)
