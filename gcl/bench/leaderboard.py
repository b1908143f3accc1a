"""Records -> leaderboard: ``benchmarks/RESULTS.md`` (between markers) and a CSV.

One row per (dataset, task, method, protocol, config hash): the mean and unbiased std over the
seeds of that exact experiment, the paper's number beside it with the difference, the protocol,
epochs, wall time, peak memory and the command that reproduces the row. Records of different
protocols (or configs) are never averaged together: they become separate, labelled rows. When
a seed was run more than once, the latest record of it counts.

The generated tables sit between ``<!-- gcl:leaderboard:start -->`` and
``<!-- gcl:leaderboard:end -->``; everything outside the markers (hand-written notes) is kept
when the file is regenerated.
"""

from __future__ import annotations

import csv
import glob
import io
import logging
import math
import os
import shlex
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gcl.bench.grid import _canonical, config_hash
from gcl.bench.papers import PaperNumber, find_paper, load_papers
from gcl.bench.runner import scan_results
from gcl.errors import GCLDataError
from gcl.utils.io import atomic_write_text

logger = logging.getLogger(__name__)

__all__ = ['Row', 'START', 'END', 'TASK_METRICS', 'load_records', 'build_rows',
           'render_markdown', 'render_csv', 'update_results_md', 'reproduce_command',
           'write_leaderboard']

START = '<!-- gcl:leaderboard:start -->'
END = '<!-- gcl:leaderboard:end -->'

#: metrics shown per task, in column order; the first one present is the headline (paper, delta)
TASK_METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    'node': (('test_acc', 'test acc'), ('val_acc', 'val acc')),
    'cluster': (('nmi', 'NMI'), ('ari', 'ARI'), ('acc', 'ACC')),
    'link': (('test_auc', 'AUC'), ('test_ap', 'AP'), ('auc', 'AUC'), ('ap', 'AP')),
    'link-transductive': (('auc', 'AUC'), ('ap', 'AP')),
}
TASK_TITLES = {'node': 'node classification', 'cluster': 'node clustering',
               'link': 'link prediction',
               'link-transductive': 'link prediction, transductive (edges seen in training)'}
_TASK_ORDER = {'node': 0, 'cluster': 1, 'link': 2, 'link-transductive': 3}


@dataclass
class Row:
    """One leaderboard row: an experiment (config without seed) over its seeds.

    ``values`` hold fractions per seed (shown x100); ``paper`` the papers' entries for the
    headline metric, the shown one first.
    """

    dataset: str
    task: str
    method: str
    protocol: str
    config_hash: str
    config: dict[str, Any]
    seeds: list[int] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)
    epochs: int | None = None
    wall_s: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    peak_cuda_mb: list[float] = field(default_factory=list)
    shared_process: bool = False
    collapsed: list[int] = field(default_factory=list)   # seeds whose embeddings collapsed
    flat: dict[int, int] = field(default_factory=dict)   # seed -> epochs its loss sat flat
    sources: list[str] = field(default_factory=list)
    paper: list[PaperNumber] = field(default_factory=list)

    @property
    def headline(self) -> str | None:
        """The task's first metric that this row has."""
        for key, _ in TASK_METRICS.get(self.task, ()):
            if key in self.values:
                return key
        return next(iter(self.values), None)

    def stat(self, metric: str) -> tuple[float, float | None, int] | None:
        """``(mean, unbiased std or None for one seed, n)`` of ``metric``, as fractions."""
        values = self.values.get(metric)
        if not values:
            return None
        std = statistics.stdev(values) if len(values) > 1 else None
        return statistics.fmean(values), std, len(values)

    def paper_differs(self) -> bool:
        """The shown paper number came from another protocol than this row's."""
        if not self.paper:
            return False
        theirs = self.paper[0].protocol
        return not (self.protocol == theirs or self.protocol.startswith(theirs + ','))


def _expand(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Files, folders (their ``*.jsonl``) and glob patterns, sorted, without repeats."""
    out: list[Path] = []
    for item in paths:
        text = str(item)
        if any(ch in text for ch in '*?['):
            out.extend(Path(p) for p in sorted(glob.glob(text)))
        elif Path(text).is_dir():
            out.extend(sorted(Path(text).glob('*.jsonl')))
        elif Path(text).is_file():
            out.append(Path(text))
        else:
            raise GCLDataError(f'results file {text} does not exist (run `gcl bench` first, or '
                               'pass --results FILE)')
    return list(dict.fromkeys(out))


def load_records(paths: Sequence[str | os.PathLike]
                 ) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, int, str]]]:
    """Read every results file; return ``([(file:line, record)], [(file, line, problem)])``.

    Corrupted, truncated or incomplete lines are reported (with their line numbers) and skipped.
    """
    records: list[tuple[str, dict[str, Any]]] = []
    problems: list[tuple[str, int, str]] = []
    for path in _expand(paths):
        scan = scan_results(path)
        records.extend((f'{path}:{lineno}', rec) for lineno, rec in scan.records)
        problems.extend((str(path), lineno, reason) for lineno, reason in scan.problems)
    return records, problems


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def build_rows(records: Iterable[tuple[str, dict[str, Any]]],
               papers: Sequence[PaperNumber] | None = None) -> list[Row]:
    """Group records into rows; the latest record of a (row, seed) wins.

    Rows are keyed by dataset, task, method, protocol (the evaluated protocol string in the
    record) and config hash, so protocols are never mixed in one mean.
    """
    papers = list(papers) if papers is not None else load_papers()
    latest: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}
    for source, record in records:
        task = str(record['task'])
        protocol = str(record.get('protocol') or '')
        digest = config_hash(record['config'])
        key = (str(record['dataset']), task, str(record['method']), protocol, digest)
        seed_key = (*key, int(record['seed']))
        if seed_key in latest:
            logger.info('%s supersedes %s (same experiment and seed)', source,
                        latest[seed_key][0])
        latest[seed_key] = (source, record)
    rows: dict[tuple[Any, ...], Row] = {}
    for seed_key, (source, record) in latest.items():
        key = seed_key[:-1]
        row = rows.get(key)
        if row is None:
            config = {k: v for k, v in _canonical(record['config']).items() if k != 'seed'}
            row = rows[key] = Row(*key[:5], config=config)
        row.seeds.append(int(record['seed']))
        row.sources.append(source)
        for metric, value in record['metrics'].items():
            number = _number(value)
            if number is not None and not metric.endswith('_std') and metric != 'repeats':
                row.values.setdefault(metric, []).append(number)
        epochs = record.get('epochs')
        row.epochs = int(epochs) if isinstance(epochs, int) else row.epochs
        for attr, name in (('wall_s', 'wall_s'), ('peak_rss_mb', 'peak_rss_mb'),
                           ('peak_cuda_mb', 'peak_cuda_mb')):
            number = _number(record.get(name))
            if number is not None:
                getattr(row, attr).append(number)
        row.shared_process |= record.get('peak_rss_scope') == 'bench process'
        if (record.get('embedding') or {}).get('collapsed'):     # gcl.eval.collapse
            row.collapsed.append(int(record['seed']))
        flat_epochs = _flat_epochs(record.get('loss_flat'))     # gcl.train.loop.flat_episodes
        if flat_epochs:
            row.flat[int(record['seed'])] = flat_epochs
    out = sorted(rows.values(), key=lambda r: (r.dataset, _TASK_ORDER.get(r.task, 9), r.task,
                                               r.method, r.protocol, r.epochs or 0,
                                               r.config_hash))
    for row in out:
        order = sorted(range(len(row.seeds)), key=row.seeds.__getitem__)
        row.seeds = [row.seeds[i] for i in order]
        row.sources = [row.sources[i] for i in order]
        headline = row.headline
        if headline is not None:
            row.paper = find_paper(papers, row.method, row.dataset, row.task, headline)
    return out


# ------------------------------------------------------------------------------ formatting
def _pct(value: float) -> str:
    return f'{100 * value:.2f}'


def _format_stat(stat: tuple[float, float | None, int] | None) -> str:
    if stat is None:
        return '–'
    mean, std, _ = stat
    return _pct(mean) if std is None else f'{_pct(mean)} ± {_pct(std)}'


def format_seeds(seeds: Sequence[int]) -> str:
    """``[0, 1, 2, 4]`` -> ``'0-2,4'``."""
    parts: list[str] = []
    ordered = sorted(set(seeds))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f'{ordered[i]}-{ordered[j]}')
        i = j + 1
    return ','.join(parts)


def _set_value(value: Any) -> str:
    if isinstance(value, str):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    import json

    return json.dumps(value)


def _flat(config: dict[str, Any], prefix: str = '') -> dict[str, Any]:
    from gcl.config import flatten

    return flatten(config, prefix)


def reproduce_command(row: Row) -> str:
    """The ``gcl bench`` command that reruns ``row`` (its seeds, task and exact config).

    Options that differ from the shipped config are spelled out (:func:`setting_options`);
    when the method is not installed here the config cannot be compared, and the command says
    so.
    """
    from gcl.bench.grid import TASKS

    if row.task not in TASKS:
        return f'(task {row.task!r} is not run by gcl bench; see the records)'
    args = ['gcl', 'bench', '--methods', row.method, '--datasets', row.dataset, '--seeds',
            format_seeds(row.seeds), '--tasks', row.task]
    options = setting_options(row)
    if options is None:
        return shlex.join(args) + '  # config: see the records'
    return shlex.join(args + options)


def setting_options(row: Row) -> list[str] | None:
    """The command-line options by which ``row``'s config differs from the shipped (paper)
    config: ``--epochs``, ``--protocol`` and ``--set key=value``; ``[]`` for the paper
    settings, ``None`` when the method is not installed here (nothing to compare with)."""
    from gcl.config import load_config

    try:
        shipped = _canonical(load_config(row.method, row.dataset))
    except Exception:  # noqa: BLE001 -- an unknown method: no comparison possible
        return None
    ours, theirs = _flat(row.config), _flat({k: v for k, v in shipped.items() if k != 'seed'})
    args: list[str] = []
    for key in sorted(ours):
        same = key in theirs and theirs[key] == ours[key]
        if same or key in ('method', 'dataset', 'provenance'):
            continue
        if key == 'optim.epochs':
            args += ['--epochs', str(ours[key])]
        elif key == 'eval.node_protocol':
            value = ours[key]
            args += ['--protocol', ','.join(value) if isinstance(value, list) else str(value)]
        else:
            args += ['--set', f'{key}={_set_value(ours[key])}']
    return args


def _code(command: str) -> str:
    return f'`{command}`' if command.startswith('gcl ') else command


def _cell(text: str) -> str:
    return text.replace('|', '\\|').replace('\n', ' ')


def _delta(row: Row) -> str:
    headline = row.headline
    stat = row.stat(headline) if headline else None
    if not row.paper or stat is None:
        return '–'
    diff = 100 * stat[0] - row.paper[0].value
    return f'{diff:+.2f}' + (' †' if row.paper_differs() else '')


def _memory(row: Row) -> str:
    if row.peak_cuda_mb:
        return f'{max(row.peak_cuda_mb):.0f} (GPU)'
    if not row.peak_rss_mb:
        return '–'
    return f'{max(row.peak_rss_mb):.0f}' + ('*' if row.shared_process else '')


def render_markdown(rows: Sequence[Row], *, sources: Sequence[str] = (),
                    figures: Sequence[tuple[str, str]] = (),
                    problems: Sequence[tuple[str, int, str]] = ()) -> str:
    """The generated block, markers included (deterministic: no dates, sorted rows).

    Args:
        rows: from :func:`build_rows`.
        sources: the results files, as shown in the header.
        figures: ``(caption, relative path)`` images to embed under the tables.
        problems: skipped lines, listed so they are not silently lost.
    """
    lines = [START, '<!-- Generated by `gcl leaderboard`; edit outside the markers only. -->',
             '']
    shown = ', '.join(f'`{s}`' for s in sources) or 'no files'
    lines += [f'Generated from {sum(len(r.seeds) for r in rows)} records in {shown}. Each row '
              'is one experiment (one config) over the seeds listed: mean ± unbiased std over '
              'seeds, in %. *paper*: the published number with its source tag (ALGORITHMS.md: '
              'V-code / V-readme verified in the official code or README, S-llm machine-'
              'extracted, S-3p third-party copy); Δ = ours − paper, † when the paper used '
              'another protocol. Wall time is per seed (training + evaluation); peak memory is '
              'the run process\'s peak RSS in MiB (* a process that ran several cells: an '
              'upper bound). Rows with different protocols are never averaged together.' +
              (' "seed k collapsed": that seed\'s embeddings fell onto about one direction '
               '(`gcl.eval.collapse`); its numbers stay in the mean, as what the settings gave.'
               if any(r.collapsed for r in rows) else '') +
              (' "seed k flat n ep.": that seed\'s training loss sat still for n epochs in all '
               '(`gcl.train.loop.StallWatch`: a collapse during training, from which it may '
               'have recovered).' if any(r.flat for r in rows) else ''), '']
    if not rows:
        lines += ['_No records yet: run `gcl bench` (see `benchmarks/suites/`)._', '']
    by_table: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        by_table.setdefault((row.dataset, row.task), []).append(row)
    for (dataset, task), table in by_table.items():
        metrics = [(k, label) for k, label in TASK_METRICS.get(task, ())
                   if any(k in r.values for r in table)]
        if not metrics:  # a task this module does not know: every metric, sorted
            metrics = [(k, k) for k in sorted({k for r in table for k in r.values})]
        lines += [f'### {dataset} · {TASK_TITLES.get(task, task)}', '']
        header = ['method', *[f'{label} (%)' for _, label in metrics], 'seeds', 'paper (%)',
                  'Δ', 'protocol', 'epochs', 'wall s', 'peak MiB', 'command']
        lines.append('| ' + ' | '.join(header) + ' |')
        lines.append('|' + '|'.join(['---'] + ['---:'] * len(metrics) +
                                    ['---', '---:', '---:', '---', '---:', '---:', '---:',
                                     '---']) + '|')
        notes = []
        for row in table:
            paper = row.paper[0].label() if row.paper else '–'
            wall = f'{statistics.fmean(row.wall_s):.1f}' if row.wall_s else '–'
            cells = [row.method, *[_format_stat(row.stat(k)) for k, _ in metrics],
                     _seeds_cell(row), paper, _delta(row),
                     row.protocol or '–', str(row.epochs) if row.epochs is not None else '–',
                     wall, _memory(row), _code(reproduce_command(row))]
            lines.append('| ' + ' | '.join(_cell(c) for c in cells) + ' |')
            if row.paper:
                p = row.paper[0]
                more = len(row.paper) - 1
                notes.append(f'{row.method}: {p.label()}, protocol `{p.protocol}`: {p.source}' +
                             (f' ({more} alternative{"s" * (more > 1)} in the CSV)'
                              if more else ''))
        lines.append('')
        if notes:
            lines += ['Paper numbers: ' + '; '.join(dict.fromkeys(notes)) + '.', '']
    for caption, path in figures:
        lines += [f'![{caption}]({path})', '']
    if problems:
        lines += ['Skipped results lines (corrupted or incomplete): ' +
                  ', '.join(f'`{p}:{n}` ({why})' for p, n, why in problems) + '.', '']
    lines.append(END)
    return '\n'.join(lines) + '\n'


def _seeds_cell(row: Row) -> str:
    """``0-4 (n=5)``, and the seeds whose embeddings collapsed (their values stay in the mean:
    they are what the settings gave)."""
    text = f'{format_seeds(row.seeds)} (n={len(row.seeds)}'
    if row.collapsed:
        plural = 's' * (len(set(row.collapsed)) > 1)
        text += f'; seed{plural} {format_seeds(row.collapsed)} collapsed'
    for seed, epochs in sorted(row.flat.items()):
        text += f'; seed {seed} flat {epochs:,} ep.'
    return text + ')'


def _flat_epochs(episodes: Any) -> int:
    """Epochs in all of a record's ``loss_flat`` episodes (``[[first, last], ...]``); 0 when
    absent or malformed."""
    try:
        return sum(int(last) - int(first) + 1 for first, last in episodes or ())
    except (TypeError, ValueError):
        return 0


def render_csv(rows: Sequence[Row]) -> str:
    """One CSV line per (row, metric), numbers in %, with the paper's value and the command."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['dataset', 'task', 'method', 'protocol', 'metric', 'mean', 'std', 'n',
                     'seeds', 'paper', 'paper_std', 'paper_tag', 'paper_protocol', 'delta',
                     'paper_alternatives', 'epochs', 'wall_s_mean', 'peak_rss_mb_max',
                     'peak_cuda_mb_max', 'config_hash', 'command', 'collapsed_seeds',
                     'flat_epochs'])
    for row in rows:
        command = reproduce_command(row)
        order = [k for k, _ in TASK_METRICS.get(row.task, ()) if k in row.values]
        order += sorted(set(row.values) - set(order))
        for metric in order:
            mean, std, n = row.stat(metric)  # type: ignore[misc]
            paper = row.paper if metric == row.headline else []
            first = paper[0] if paper else None
            writer.writerow([
                row.dataset, row.task, row.method, row.protocol, metric,
                f'{100 * mean:.4f}', '' if std is None else f'{100 * std:.4f}', n,
                format_seeds(row.seeds),
                '' if first is None else first.value,
                '' if first is None or first.std is None else first.std,
                '' if first is None else first.tag, '' if first is None else first.protocol,
                '' if first is None else f'{100 * mean - first.value:.4f}',
                '; '.join(f'{p.label()} {p.protocol}' for p in paper[1:]),
                '' if row.epochs is None else row.epochs,
                f'{statistics.fmean(row.wall_s):.3f}' if row.wall_s else '',
                f'{max(row.peak_rss_mb):.1f}' if row.peak_rss_mb else '',
                f'{max(row.peak_cuda_mb):.1f}' if row.peak_cuda_mb else '',
                row.config_hash, command,
                format_seeds(row.collapsed),
                '; '.join(f'{seed}:{epochs}' for seed, epochs in sorted(row.flat.items()))])
    return buffer.getvalue()


def update_results_md(path: str | os.PathLike, block: str, title: str = '# Results') -> Path:
    """Replace the marked block in ``path`` (or append it), keeping everything else.

    Raises:
        GCLDataError: when the file has a start marker without an end marker (or the reverse),
            which would make the replacement destroy hand-written text.
    """
    path = Path(path)
    text = path.read_text(encoding='utf-8') if path.exists() else ''
    has_start, has_end = START in text, END in text
    if has_start != has_end or (has_start and text.index(START) > text.index(END)):
        raise GCLDataError(f'{path}: the leaderboard markers are unbalanced; restore both '
                           f'{START} and {END} (in that order) or remove both')
    if has_start:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        new = head + block.rstrip('\n') + tail
    elif text:
        new = text.rstrip('\n') + '\n\n' + block
    else:
        new = f'{title}\n\n' + block
    return atomic_write_text(path, new)


@dataclass
class LeaderboardOutput:
    """What :func:`write_leaderboard` wrote."""

    markdown: Path
    csv: Path | None
    rows: list[Row]
    problems: list[tuple[str, int, str]]
    figures: list[Path]


def write_leaderboard(results: Sequence[str | os.PathLike], out: str | os.PathLike, *,
                      csv_path: str | os.PathLike | None = None,
                      papers_file: str | os.PathLike | None = None,
                      figures_dir: str | os.PathLike | None = None,
                      kernels_file: str | os.PathLike | None = None) -> LeaderboardOutput:
    """Records -> RESULTS.md (marked block), CSV and, with ``figures_dir``, the plots.

    Args:
        results: results files, folders or glob patterns (``benchmarks/results/*.jsonl``).
        out: the markdown file; text outside the markers is kept.
        csv_path: where the CSV goes (default: ``out`` with ``.csv``).
        papers_file: a papers YAML replacing the shipped ``gcl/bench/papers.yaml``.
        figures_dir: draw ``accuracy_vs_papers`` (PNG + SVG) there and embed it.
        kernels_file: kernel benchmark data (CSV / JSON, see
            :func:`gcl.bench.plots.load_kernel_points`); with ``figures_dir``, also draw and
            embed ``kernels_time_memory``.
    """
    paths = _expand(results)
    if not paths:
        raise GCLDataError(f'no results files match {", ".join(map(str, results))}; run '
                           '`gcl bench` first')
    records, problems = load_records(paths)
    rows = build_rows(records, load_papers(papers_file))
    out = Path(out)
    figures: list[Path] = []
    embedded: list[tuple[str, str]] = []
    if figures_dir is not None:
        from gcl.bench.plots import plot_accuracy_vs_papers

        points = accuracy_points(rows)
        if points:
            figures = plot_accuracy_vs_papers(points, Path(figures_dir) / 'accuracy_vs_papers')
            svg = next(p for p in figures if p.suffix == '.svg')
            embedded.append(('node classification: ours vs the papers',
                             os.path.relpath(svg, out.parent).replace(os.sep, '/')))
        if kernels_file is not None:
            from gcl.bench.plots import load_kernel_points, plot_kernel_scaling

            kernel_points = load_kernel_points(kernels_file)
            if kernel_points:
                drawn = plot_kernel_scaling(kernel_points,
                                            Path(figures_dir) / 'kernels_time_memory')
                figures += drawn
                embedded.append((f'time and memory vs graph size ({Path(kernels_file).name})',
                                 os.path.relpath(drawn[1], out.parent).replace(os.sep, '/')))
    shown = [os.path.relpath(p, out.parent).replace(os.sep, '/') for p in paths]
    relative = [(os.path.relpath(f, out.parent).replace(os.sep, '/'), n, why)
                for f, n, why in problems]
    block = render_markdown(rows, sources=shown, figures=embedded, problems=relative)
    update_results_md(out, block)
    csv_out = Path(csv_path) if csv_path else out.with_suffix('.csv')
    atomic_write_text(csv_out, render_csv(rows))
    return LeaderboardOutput(out, csv_out, rows, problems, figures)


def accuracy_points(rows: Sequence[Row], task: str = 'node') -> list[dict[str, Any]]:
    """Rows of ``task`` as plot points: ours (mean, std in %) and the paper's number."""
    points = []
    for row in rows:
        headline = row.headline
        if row.task != task or headline is None:
            continue
        mean, std, n = row.stat(headline)  # type: ignore[misc]
        paper = row.paper[0] if row.paper else None
        points.append({'method': row.method, 'dataset': row.dataset, 'ours': 100 * mean,
                       'ours_std': 100 * std if std is not None else 0.0, 'n': n,
                       'protocol': row.protocol, 'epochs': row.epochs,
                       'paper': paper.value if paper else None,
                       'paper_std': paper.std if paper else None,
                       'paper_tag': paper.tag if paper else None,
                       'paper_protocol': paper.protocol if paper else None,
                       'same_protocol': not row.paper_differs()})
    return points
