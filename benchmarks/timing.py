"""Timing helper shared by the benchmark scripts: variants timed in alternating rounds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def alternate(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each no-argument callable over ``repeats`` rounds in which every
    variant runs once, in the dict's order, after one untimed warm-up round. Alternating in
    one process lets the machine's drift hit every variant alike."""
    if repeats < 1:
        raise ValueError(f'alternate needs at least one timed round, got repeats={repeats}')
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats + 1):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(v[1:]) for name, v in times.items()}
