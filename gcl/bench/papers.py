"""Published numbers, read from the data file ``gcl/bench/papers.yaml`` (never from code).

Each entry is one number with its source tag from ALGORITHMS.md (``V-code``, ``V-readme``,
``S-llm``, ``S-3p``); the first entry for a (method, dataset, task, metric) is the one the
leaderboard shows, later ones are alternatives (conflicting copies, re-runs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gcl.config import yaml_problem
from gcl.errors import GCLConfigError

__all__ = ['PaperNumber', 'load_papers', 'find_paper']

_FIELDS = {'method', 'dataset', 'task', 'metric', 'value', 'std', 'protocol', 'tag', 'source',
           'note'}
_TAGS = {'V-code', 'V-readme', 'S-llm', 'S-3p', 'derived'}


@dataclass(frozen=True)
class PaperNumber:
    """One published number (percent) with where it came from."""

    method: str
    dataset: str
    task: str
    metric: str
    value: float
    std: float | None
    protocol: str
    tag: str
    source: str

    def label(self) -> str:
        """``83.30 ± 0.40 [S-3p]``."""
        std = f' ± {self.std:.2f}' if self.std is not None else ''
        return f'{self.value:.2f}{std} [{self.tag}]'


def load_papers(path: str | Path | None = None) -> list[PaperNumber]:
    """Read the papers' numbers (default: the shipped ``gcl/bench/papers.yaml``).

    Raises:
        GCLConfigError: a missing file, invalid YAML, an unknown field or tag, a non-numeric value.
    """
    if path is None:
        text = (resources.files('gcl.bench') / 'papers.yaml').read_text(encoding='utf-8')
        where = 'gcl/bench/papers.yaml'
    else:
        if not Path(path).is_file():
            raise GCLConfigError(f'papers file {path} does not exist')
        text = Path(path).read_text(encoding='utf-8')
        where = str(path)
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise GCLConfigError(f'{where}: not valid YAML ({yaml_problem(exc)})') from exc
    entries = raw.get('entries') if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise GCLConfigError(f'{where}: expected a mapping with a list under "entries"')
    out = []
    for i, entry in enumerate(entries, start=1):
        out.append(_parse(entry, f'{where}: entry {i}'))
    return out


def _parse(entry: Any, where: str) -> PaperNumber:
    if not isinstance(entry, dict):
        raise GCLConfigError(f'{where}: an entry must be a mapping')
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise GCLConfigError(f'{where}: unknown field(s) {unknown}; valid: {sorted(_FIELDS)}')
    missing = [k for k in ('method', 'dataset', 'task', 'metric', 'value', 'protocol', 'tag',
                           'source') if entry.get(k) in (None, '')]
    if missing:
        raise GCLConfigError(f'{where}: missing {", ".join(missing)}')
    if entry['tag'] not in _TAGS:
        raise GCLConfigError(f'{where}: tag {entry["tag"]!r} is not one of {sorted(_TAGS)}')
    try:
        value = float(entry['value'])
        std = None if entry.get('std') is None else float(entry['std'])
    except (TypeError, ValueError) as exc:
        raise GCLConfigError(f'{where}: value and std must be numbers') from exc
    if not math.isfinite(value):
        raise GCLConfigError(f'{where}: value must be finite')
    return PaperNumber(str(entry['method']).lower(), str(entry['dataset']).lower(),
                       str(entry['task']), str(entry['metric']), value, std,
                       str(entry['protocol']), str(entry['tag']), str(entry['source']))


def find_paper(papers: list[PaperNumber], method: str, dataset: str, task: str, metric: str
               ) -> list[PaperNumber]:
    """Every entry for (method, dataset, task, metric), the shown one first."""
    method, dataset = method.lower(), dataset.lower()
    return [p for p in papers if p.method == method and p.dataset == dataset and
            p.task == task and p.metric == metric]
