"""Benchmarks: grids of runs, the leaderboard, plots, and label-free model selection (RankMe).

- :mod:`gcl.bench.grid`: methods x datasets x seeds x tasks -> cells; YAML suites.
- :mod:`gcl.bench.runner`: run cells resumably, one JSON line per cell.
- :mod:`gcl.bench.leaderboard`: records -> ``benchmarks/RESULTS.md`` + CSV, papers beside.
- :mod:`gcl.bench.papers`: the papers' numbers, from ``gcl/bench/papers.yaml``.
- :mod:`gcl.bench.plots`: PNG + SVG figures (imported lazily: matplotlib).
- :mod:`gcl.bench.rankme`: RankMe (effective rank) and its training callback.
"""

from gcl.bench.grid import Cell, Suite, expand_grid, load_suite, parse_seeds, suite_cells
from gcl.bench.leaderboard import build_rows, load_records, write_leaderboard
from gcl.bench.papers import PaperNumber, load_papers
from gcl.bench.rankme import RankMe, rankme, select_best
from gcl.bench.runner import BenchEvent, BenchSummary, run_cells, scan_results

__all__ = [
    'Cell',
    'Suite',
    'expand_grid',
    'load_suite',
    'parse_seeds',
    'suite_cells',
    'run_cells',
    'scan_results',
    'BenchEvent',
    'BenchSummary',
    'build_rows',
    'load_records',
    'write_leaderboard',
    'PaperNumber',
    'load_papers',
    'RankMe',
    'rankme',
    'select_best',
]
