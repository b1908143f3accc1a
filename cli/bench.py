"""``gcl bench``: run a grid of methods x datasets x seeds x tasks, resumably."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gcl.cli import common


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return '?'
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f'{hours}h{minutes:02d}m' if hours else (f'{minutes}m{secs:02d}s' if minutes
                                                    else f'{secs}s')


class _Progress:
    """Renders runner events: a rich bar on a terminal, one line per group otherwise."""

    def __init__(self, enabled: bool, lines: bool) -> None:
        self.bar = None
        self.task = None
        self.lines = lines
        self.running: list[str] = []     # groups started and not finished (several with --jobs)
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn('cells'), BarColumn(), MofNCompleteColumn(),
                                TextColumn('ETA {task.fields[eta]}'),
                                TextColumn('[bold]{task.description}'),
                                console=common.stderr, transient=False)

    def __call__(self, event: Any) -> None:
        eta = _duration(event.eta_s)
        if event.kind == 'start':
            self.running.append(event.current)
        elif event.kind in ('done', 'failed') and event.current in self.running:
            self.running.remove(event.current)
        if self.bar is not None:
            if self.task is None:
                self.bar.start()
                self.task = self.bar.add_task('', total=event.cells_total, eta='?')
            self.bar.update(self.task, completed=event.cells_done, eta=eta,
                            description=' | '.join(self.running))
        elif self.lines:
            if event.kind == 'skipped' and event.cells_done:
                common.stderr.print(f'{event.cells_done} of {event.cells_total} cells already '
                                    'done; skipping them')
            elif event.kind == 'start':
                common.stderr.print(f'[{event.cells_done}/{event.cells_total} cells] '
                                    f'{event.current}  ETA {eta}', highlight=False)
            elif event.kind == 'failed':
                common.stderr.print(f'[red]failed:[/] {event.current}: {event.error}',
                                    highlight=False)

    def stop(self) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.stop()


@common.handle_errors
def bench(
    methods: Annotated[str | None, typer.Option(
        '--methods', '-m', help='Comma list, e.g. grace,gca (see `gcl methods list`).')] = None,
    datasets: Annotated[str | None, typer.Option(
        '--datasets', '-d',
        help='Comma list, e.g. cora,citeseer (see `gcl datasets list`).')] = None,
    seeds: Annotated[str | None, typer.Option(
        '--seeds', '-s', help='Seeds: 0-4, or 0,1,2.')] = None,
    suite: Annotated[Path | None, typer.Option(
        help='A YAML suite (e.g. papers.yaml in the benchmarks/suites folder); options '
             'given here override it.')] = None,
    tasks: Annotated[str | None, typer.Option(
        help='Comma list of node, cluster, link, link-transductive. Default: each config\'s '
             'eval.tasks.')] = None,
    epochs: Annotated[int | None, typer.Option(help='Override optim.epochs.')] = None,
    protocol: Annotated[str | None, typer.Option(
        help='Node-classification protocol(s), comma list (one cell each).')] = None,
    set_: Annotated[list[str] | None, typer.Option(
        '--set', help='Override an option for every cell: key=value. Repeatable.')] = None,
    config: Annotated[Path | None, typer.Option(
        '--config', '-c', help='YAML layered over every shipped config.')] = None,
    results: Annotated[Path | None, typer.Option(
        help='JSONL results file. Default: SUITE.jsonl (the suite\'s name), or bench.jsonl '
             'without a suite, in benchmarks/results.')
    ] = None,
    out: Annotated[Path, typer.Option(help='Folder for run directories.')] = Path('runs/bench'),
    device: Annotated[str, typer.Option(help='auto, cpu, cuda, cuda:N')] = 'auto',
    root: Annotated[Path | None, typer.Option(help='Dataset root.')] = None,
    isolate: Annotated[bool, typer.Option(
        '--isolate/--no-isolate',
        help='Run each (method, dataset, seed) in a fresh process: its own peak memory, and a '
             'crash costs one cell, not the grid.')] = True,
    jobs: Annotated[int, typer.Option(
        '--jobs', '-j',
        help='Groups run side by side, each in its own process with the cores shared out '
             '(torch threads // jobs). Whether that beats one job on all cores depends on the '
             'CPU: the bench_jobs.py benchmark measures it (README).')] = 1,
    checkpoint_minutes: Annotated[float, typer.Option(
        help='Checkpoint each training this often (0: never); a killed cell started again '
             'resumes from its last checkpoint.')] = 10.0,
    dry_run: Annotated[bool, typer.Option(
        '--dry-run', help='List the cells, which are done and how far an interrupted one '
                          'got; run nothing.')] = False,
    stop_on_error: Annotated[bool, typer.Option(
        '--stop-on-error', help='Stop at the first failing cell.')] = False,
    quiet: Annotated[bool, typer.Option('--quiet', '-q', help='No progress or info logs.')
                     ] = False,
    fmt: Annotated[str, typer.Option('--format', help='table or json')] = 'table',
) -> None:
    """Run a benchmark grid; one JSON line per (method, dataset, seed, task).

    Resumable: finished cells in the results file are skipped, and an interrupted training
    continues from its last checkpoint (every --checkpoint-minutes), so a killed run restarts
    where it stopped. `gcl leaderboard` turns the results into benchmarks/RESULTS.md.
    """
    from gcl.bench.grid import expand_grid, load_suite, parse_names, parse_seeds
    from gcl.bench.leaderboard import build_rows
    from gcl.bench.runner import checkpoint_progress, record_key, run_cells, scan_results
    from gcl.config import parse_overrides
    from gcl.errors import GCLConfigError

    common.setup_logging(quiet)
    spec = load_suite(suite) if suite else None
    method_list = parse_names(methods) if methods else (spec.methods if spec else [])
    dataset_list = parse_names(datasets) if datasets else (spec.datasets if spec else [])
    seed_list = parse_seeds(seeds) if seeds else (spec.seeds if spec else [])
    if not (method_list and dataset_list and seed_list):
        raise GCLConfigError('give --methods, --datasets and --seeds (or a --suite file), e.g. '
                             'gcl bench --methods grace --datasets cora --seeds 0-4')
    task_list = parse_names(tasks) if tasks else (spec.tasks if spec else None)
    overrides = dict(spec.overrides) if spec else {}
    overrides.update(parse_overrides(set_ or []))
    cells = expand_grid(method_list, dataset_list, seed_list, tasks=task_list,
                        epochs=epochs if epochs is not None else (spec.epochs if spec else None),
                        protocol=protocol or (spec.protocol if spec else None),
                        overrides=overrides, per=spec.per if spec else None,
                        config_file=config)
    name = spec.name if spec else 'bench'
    results_file = results or (Path(spec.results) if spec and spec.results
                               else Path('benchmarks/results') / f'{name}.jsonl')
    if dry_run:
        done = {record_key(r) for _, r in scan_results(results_file).records}
        payload = [{'cell': c.describe(), 'protocol': c.protocol, 'config_hash': c.config_hash,
                    'done': c.key in done,
                    'checkpoint': None if c.key in done else checkpoint_progress(out, c)}
                   for c in cells]

        def render_cells() -> None:
            # long names folded rather than cut ('gca/amazon-compute…' at 80 columns)
            table = common.compact_table(f'{len(cells)} cells -> {results_file}')
            for column in ('cell', 'protocol', 'config', 'done', 'checkpoint'):
                table.add_column(column, overflow='fold')
            for item in payload:
                table.add_row(item['cell'], item['protocol'], item['config_hash'],
                              'yes' if item['done'] else '', item['checkpoint'] or '')
            common.stdout.print(table)

        common.emit(payload, fmt, render_cells)
        return
    common.check_output(out, '--out', folder=True)   # before hours of training, not after
    common.check_output(results_file, '--results')
    progress = _Progress(enabled=common.show_progress(quiet), lines=not quiet)
    try:
        summary = run_cells(cells, results_file, out_dir=out, root=root, device=device,
                            isolate=isolate, jobs=jobs, on_event=progress,
                            stop_on_error=stop_on_error,
                            extra={'bench': {'suite': name}},
                            checkpoint_seconds=max(0.0, 60.0 * checkpoint_minutes))
    finally:
        progress.stop()
    keys = {c.key for c in cells}
    records = [(f'{results_file}:{n}', r) for n, r in scan_results(results_file).records
               if record_key(r) in keys]
    rows = build_rows(records)
    payload = {'results_file': str(results_file), 'cells': summary.total,
               'skipped': summary.skipped, 'ran': summary.ran,
               'failed': [{'cells': c, 'error': e} for c, e in summary.failed],
               'skipped_lines': [{'line': n, 'problem': p} for n, p in summary.problems],
               'seconds': round(summary.seconds, 1), 'rows': [_row_json(r) for r in rows]}

    def render() -> None:
        common.stdout.print(_rows_table(rows, f'{name}: {summary.ran} cells run, '
                                              f'{summary.skipped} skipped, '
                                              f'{len(summary.failed)} failed '
                                              f'({_duration(summary.seconds)})'))
        for lineno, problem in summary.problems:
            common.stderr.print(f'[yellow]{results_file}:{lineno}:[/] {problem}; skipped',
                                highlight=False)
        for label, error in summary.failed:
            common.stderr.print(f'[red]failed:[/] {label}: {error}', highlight=False)
        common.stderr.print(f'results: {results_file}  (next: gcl leaderboard)')

    common.emit(payload, fmt, render)
    if summary.failed:
        raise typer.Exit(code=1)


def _row_json(row: Any) -> dict[str, Any]:
    headline = row.headline
    stat = row.stat(headline) if headline else None
    return {'dataset': row.dataset, 'task': row.task, 'method': row.method,
            'protocol': row.protocol, 'metric': headline, 'seeds': row.seeds,
            'mean': None if stat is None else 100 * stat[0],
            'std': None if stat is None or stat[1] is None else 100 * stat[1],
            'paper': row.paper[0].value if row.paper else None, 'epochs': row.epochs}


def _rows_table(rows: list[Any], title: str) -> Any:
    """The rows for a terminal: one compact table per dataset and task (as RESULTS.md groups
    them), numbers never cut, each row's protocol and how its config differs from the paper's
    (rows of one method are otherwise alike). One wide table showed 'amazo…', 'test_…' and
    'kmean…' at 80 columns. Wall times, memory and commands stay in the markdown and CSV."""
    import shlex

    from rich.console import Group
    from rich.text import Text

    from gcl.bench.leaderboard import setting_options

    groups: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        groups.setdefault((row.dataset, row.task), []).append(row)
    parts: list[Any] = [Text(title, style='bold')]
    for (dataset, task), members in groups.items():
        table = common.compact_table(f'{dataset} · {task}')
        for column in ('method', 'metric', 'mean ± std (%)', 'n', 'paper', 'protocol; settings'):
            table.add_column(column, no_wrap=column != 'protocol; settings', overflow='fold',
                             justify='right' if column in ('mean ± std (%)', 'n', 'paper')
                             else 'left')
        for row in members:
            item = _row_json(row)
            shown = '–' if item['mean'] is None else f"{item['mean']:.2f}" + (
                '' if item['std'] is None else f" ± {item['std']:.2f}")
            paper = '–' if not row.paper else f'{row.paper[0].value:.2f}'
            options = setting_options(row)
            settings = ('paper config' if options == [] else 'see the records'
                        if options is None else shlex.join(options))
            table.add_row(row.method, str(item['metric']), shown, str(len(row.seeds)), paper,
                          f'{row.protocol}; {settings}')
        parts.append(table)
    return Group(*parts)
