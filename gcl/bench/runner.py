"""Run a benchmark grid through :func:`gcl.train.run.run`, resumably, one JSON line per cell.

Cells (:class:`gcl.bench.grid.Cell`) that share a method, dataset, seed and config are one
*group*: trained once and evaluated on all their unfinished tasks. After a group's run directory
is complete, its records are appended to the results file, one :func:`gcl.utils.io.append_jsonl`
call (one ``write``) per record, so a killed benchmark leaves whole lines only. On restart the
file is scanned, finished cells (same :attr:`Cell.key`: method, dataset, seed, task, protocol and
config hash) are skipped, and a corrupted or truncated line is reported with its line number and
skipped, never merged.

A group interrupted mid-training loses little: its trainings checkpoint every few minutes
(``checkpoint_seconds``) under ``<out_dir>/.checkpoints/``, and the next start resumes them (see
:func:`gcl.train.run.run`), so a multi-hour cell killed near its end restarts near its end.

With ``isolate=True`` each group runs in a fresh ``spawn``-ed process: a crash or out-of-memory
kill costs one group, not the grid, and the record's ``peak_rss_mb`` is that group's own peak
(``ru_maxrss`` only grows within a process, so in-process runs report an upper bound).

``jobs > 1`` runs that many isolated groups side by side, each with ``torch.get_num_threads() //
jobs`` intra-op threads; their records are appended as each group finishes. Whether that beats
one group on all cores depends on the CPU: ``benchmarks/bench_jobs.py`` measures it (1.06-1.07x
on the 2-core Intel machine of 2026-12-05, 1.7-2x on an earlier 2-core AMD one).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gcl.bench.grid import Cell, cell_key, config_hash, record_protocol
from gcl.errors import GCLConfigError, GCLError
from gcl.utils.io import append_jsonl

logger = logging.getLogger(__name__)

__all__ = ['ScanResult', 'BenchEvent', 'BenchSummary', 'scan_results', 'record_key',
           'run_cells', 'checkpoint_folder', 'checkpoint_progress']

_REQUIRED = ('method', 'dataset', 'seed', 'task', 'metrics', 'config')


@dataclass
class ScanResult:
    """What :func:`scan_results` found in a results file.

    Attributes:
        records: ``(line_number, record)`` of every valid record.
        problems: ``(line_number, reason)`` of every skipped line (corrupted, truncated,
            not a record).
        torn_tail: the file does not end with a newline (its last write was cut short).
    """

    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    torn_tail: bool = False


@dataclass
class BenchEvent:
    """A progress event for ``on_event``.

    ``kind`` is ``'start'`` (a group begins), ``'done'``, ``'failed'`` or ``'skipped'`` (once,
    before anything runs, with the number of finished cells found).
    """

    kind: str
    cells_done: int
    cells_total: int
    groups_done: int = 0
    groups_total: int = 0
    current: str = ''
    eta_s: float | None = None
    seconds: float | None = None
    error: str | None = None


@dataclass
class BenchSummary:
    """The outcome of :func:`run_cells`.

    Attributes:
        total: cells in the grid; skipped: already finished; ran: cells finished now.
        failed: ``(group label, error)`` per failed group.
        records: the records appended now.
        problems: skipped lines of the results file (line number, reason).
    """

    results_file: Path
    total: int = 0
    skipped: int = 0
    ran: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0


def scan_results(path: str | os.PathLike) -> ScanResult:
    """Read a results file; report and skip corrupted, truncated or incomplete lines.

    Same reading rules as :func:`gcl.utils.io.read_jsonl` (one JSON object per line, blank lines
    ignored), but it works on bytes, so a line of binary garbage (not UTF-8) is reported too
    instead of stopping the read. Each skipped line -- corrupted, truncated, not an object, or a
    record missing any of ``method, dataset, seed, task, metrics, config`` -- is logged and
    listed in :attr:`ScanResult.problems` with its line number. A missing file is empty.
    """
    path = Path(path)
    result = ScanResult()
    if not path.exists():
        return result
    raw = path.read_bytes()
    result.torn_tail = bool(raw) and not raw.endswith(b'\n')
    lines = raw.split(b'\n')
    last = max((i for i, line in enumerate(lines, start=1) if line.strip()), default=0)
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        reason = None
        try:
            record = json.loads(line.decode('utf-8'))
        except UnicodeDecodeError:
            reason = 'corrupted line (not UTF-8 text)'
        except json.JSONDecodeError as exc:
            reason = 'truncated record (the last write was cut short)' \
                if result.torn_tail and lineno == last else f'corrupted line ({exc.msg})'
        else:
            if not isinstance(record, dict):
                reason = 'not a JSON object'
            else:
                missing = [k for k in _REQUIRED if k not in record]
                if missing:
                    reason = f'incomplete record (missing {", ".join(missing)})'
                elif not isinstance(record['config'], dict) or \
                        not isinstance(record['metrics'], dict):
                    reason = 'incomplete record (config and metrics must be objects)'
        if reason is not None:
            logger.warning('%s:%d: skipping: %s', path, lineno, reason)
            result.problems.append((lineno, reason))
        else:
            result.records.append((lineno, record))
    return result


def record_key(record: dict[str, Any]) -> str | None:
    """The :attr:`Cell.key` of a record, recomputed from its fields and resolved config."""
    try:
        return cell_key(str(record['method']), str(record['dataset']), int(record['seed']),
                        str(record['task']), record_protocol(record),
                        config_hash(record['config']))
    except (KeyError, TypeError, ValueError, GCLConfigError):
        return None


def checkpoint_folder(out_dir: str | os.PathLike, method: str, dataset: str, seed: int,
                      chash: str) -> Path:
    """Where a group's resumable checkpoints live (one folder per method, dataset, seed and
    config hash, so a changed config never resumes an old training)."""
    return Path(out_dir) / '.checkpoints' / f'{method}-{dataset}-seed{seed}-{chash}'


def _has_checkpoint(out_dir: str | os.PathLike, method: str, dataset: str, seed: int,
                    chash: str) -> bool:
    """Whether the group has a training checkpoint to resume (no file is read)."""
    folder = checkpoint_folder(out_dir, method, dataset, seed, chash)
    return folder.is_dir() and any(folder.glob('*.pt'))


def checkpoint_progress(out_dir: str | os.PathLike, cell: Cell) -> str | None:
    """``'epoch 1200/2901'`` when ``cell``'s training has a resumable checkpoint, else ``None``
    (the link task trains its own encoder, so it reads ``link.pt``; the others ``node.pt``)."""
    from gcl.train.checkpoint import load_checkpoint

    folder = checkpoint_folder(out_dir, cell.method, cell.dataset, cell.seed, cell.config_hash)
    path = folder / ('link.pt' if cell.task == 'link' else 'node.pt')
    if not path.exists():
        return None
    try:
        state = load_checkpoint(path, method=cell.method)
    except GCLError as exc:
        return f'unreadable ({exc})'
    return f"epoch {int(state['epoch'])}/{int(cell.config['optim']['epochs'])}"


def _run_in_process(config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    from gcl.train.run import run

    return run(config, **kwargs)


def _child(conn: Any, config: dict[str, Any], kwargs: dict[str, Any], level: int,
           parent: int, threads: int | None = None) -> None:
    """Body of an isolated group: run, then send the records back (or the error)."""
    from gcl.utils.numerics import flush_denormals_for_process
    from gcl.utils.signals import exit_on_sigterm

    flush_denormals_for_process()      # first: torch's intra-op threads inherit it
    _die_with_parent(parent)
    exit_on_sigterm()                  # the parent's terminate() lets the run clean up
    if threads is not None:            # groups side by side share the cores out
        import torch

        torch.set_num_threads(threads)
    logging.getLogger('gcl').setLevel(level)  # the run's log.txt keeps the parent's verbosity
    if level <= logging.INFO:  # the training's progress lines reach the bench's stderr too
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter('%(levelname)-8s %(message)s'))
        logging.getLogger('gcl').addHandler(handler)
    try:
        result = _run_in_process(config, **kwargs)
        conn.send({'ok': True, 'records': result['records'], 'run_dir': str(result['run_dir'])})
    except BaseException as exc:  # noqa: BLE001 -- reported to the parent, which decides
        conn.send({'ok': False, 'error': f'{type(exc).__name__}: {exc}'})
    finally:
        conn.close()


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when the bench process dies (a killed bench leaves no orphan
    run); exit at once if it died while this process was starting."""
    if sys.platform.startswith('linux'):
        try:
            import ctypes

            ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, int(signal.SIGKILL))  # PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)


_children: set[Any] = set()            # the isolated groups' processes now running
_children_lock = threading.Lock()


def _terminate_children() -> None:
    """Stop every running isolated group (an interrupted or failed side-by-side grid)."""
    with _children_lock:
        for proc in list(_children):
            proc.terminate()


def _run_isolated(config: dict[str, Any], threads: int | None = None,
                  **kwargs: Any) -> dict[str, Any]:
    """:func:`gcl.train.run.run` in a fresh ``spawn`` process (with ``threads`` intra-op
    threads when given); errors come back as GCLError."""
    import multiprocessing

    ctx = multiprocessing.get_context('spawn')
    receiver, sender = ctx.Pipe(duplex=False)
    level = logging.getLogger('gcl').getEffectiveLevel()
    proc = ctx.Process(target=_child,
                       args=(sender, config, kwargs, level, os.getpid(), threads), daemon=True)
    proc.start()
    with _children_lock:
        _children.add(proc)
    sender.close()
    try:
        try:
            payload = receiver.recv()
        except EOFError:
            payload = None
        proc.join()
    except BaseException:
        proc.terminate()
        proc.join()
        raise
    finally:
        receiver.close()
        with _children_lock:
            _children.discard(proc)
    if payload is None:
        raise GCLError(f'the run process died (exit code {proc.exitcode}; killed for memory?)')
    if not payload['ok']:
        raise GCLError(payload['error'])
    return payload


def _repair_tail(path: Path, scan: ScanResult) -> None:
    """End a torn last line, so the next record starts on a line of its own."""
    if not scan.torn_tail:
        return
    lines = path.read_bytes().count(b'\n') + 1
    logger.warning('%s:%d: the last line is truncated; it is kept (and skipped on reading) and '
                   'new records start on the next line', path, lines)
    with open(path, 'a', encoding='utf-8') as fh:
        fh.write('\n')
        fh.flush()
        os.fsync(fh.fileno())


def _eta(pending: Sequence[tuple[str, str]], times: dict[tuple[str, str], list[float]]
         ) -> float | None:
    """Seconds left: each pending group costs the mean of finished groups of its (method,
    dataset), else the mean over all finished groups."""
    every = [t for values in times.values() for t in values]
    if not every:
        return None
    overall = sum(every) / len(every)
    total = 0.0
    for pair in pending:
        seen = times.get(pair)
        total += sum(seen) / len(seen) if seen else overall
    return total


def _group_label(method: str, dataset: str, seed: int, group_cells: Sequence[Cell]) -> str:
    return f"{method}/{dataset} seed {seed} ({', '.join(_tasks(group_cells))})"


def _tasks(group_cells: Sequence[Cell]) -> list[str]:
    return list(dict.fromkeys(c.task for c in group_cells))


def _threads_per_job(jobs: int) -> int:
    """Intra-op threads for each of ``jobs`` groups run side by side: the cores (torch's thread
    count) shared out, at least one."""
    import torch

    return max(1, torch.get_num_threads() // jobs)


def _append_records(result: dict[str, Any], group_cells: Sequence[Cell], results_file: Path,
                    summary: BenchSummary, isolate: bool, extra: dict[str, Any] | None,
                    label: str) -> int:
    """Append one record per cell of the group that the run evaluated; returns how many. A cell
    without a record is reported as a failure of the group."""
    by_cell = {(c.task, c.protocol): c for c in group_cells}
    found = set()
    for record in result['records']:
        try:
            cell = by_cell.get((record['task'], record_protocol(record)))
        except (KeyError, TypeError, GCLConfigError):
            cell = None
        if cell is None or cell.key in found:
            continue  # a task or protocol finished earlier, evaluated again
        found.add(cell.key)
        record = {**record, 'cell_key': cell.key, 'config_hash': cell.config_hash,
                  'cell_protocol': cell.protocol,
                  'peak_rss_scope': 'group process' if isolate else 'bench process',
                  **(extra or {})}
        append_jsonl(results_file, record)
        summary.records.append(record)
        summary.ran += 1
    missing = [c.task if c.task != 'node' else f'node ({c.protocol})'
               for c in group_cells if c.key not in found]
    if missing:
        message = f'the run returned no record for {", ".join(missing)}'
        summary.failed.append((label, message))
        logger.error('%s: %s', label, message)
    return len(found)


def run_cells(cells: Sequence[Cell], results_file: str | os.PathLike, *,
              out_dir: str | os.PathLike = 'runs/bench', root: str | os.PathLike | None = None,
              device: str = 'auto', isolate: bool = False,
              on_event: Callable[[BenchEvent], None] | None = None, stop_on_error: bool = False,
              save_embeddings: bool = True, run_fn: Callable[..., dict[str, Any]] | None = None,
              extra: dict[str, Any] | None = None,
              checkpoint_seconds: float = 600.0, jobs: int = 1) -> BenchSummary:
    """Run the unfinished ``cells`` and append one record per cell to ``results_file``.

    Args:
        cells: from :func:`gcl.bench.grid.expand_grid` or :func:`~gcl.bench.grid.suite_cells`.
        results_file: the JSONL file (created if missing); finished cells found in it are
            skipped.
        out_dir: where the run directories go (``gcl plot`` reads them).
        root: dataset root, as for :func:`gcl.load_dataset`.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``.
        isolate: run each group in a fresh process (per-group peak memory, crash isolation).
        on_event: called with a :class:`BenchEvent` at each group's start and end.
        stop_on_error: re-raise the first failure instead of recording it and going on.
        save_embeddings: keep ``embeddings.pt`` in each run directory.
        run_fn: replaces :func:`gcl.train.run.run` in-process (tests); ignored with ``isolate``.
        extra: fields added to every record (e.g. ``{'bench': {'suite': 'quick'}}``).
        checkpoint_seconds: a group's trainings checkpoint this often (0: never) under
            ``out_dir/.checkpoints/<method>-<dataset>-seed<seed>-<config hash>/``; a killed
            group started again resumes there instead of from epoch 1, and ends with the same
            records (plus ``resumed_from_epoch``).
        jobs: groups run side by side (needs ``isolate``, or ``run_fn`` in tests), each child
            with ``torch.get_num_threads() // jobs`` threads (at least 1); whether that beats
            one group on all cores depends on the CPU (``benchmarks/bench_jobs.py``). Records
            are appended as groups finish, in that order.

    Groups with a resumable checkpoint run first, the others in grid order.

    Returns:
        BenchSummary: counts, failures, the new records, and the results file's bad lines.
    """
    if int(jobs) < 1:
        raise GCLConfigError(f'jobs must be >= 1, got {jobs}')
    if jobs > 1 and not isolate and run_fn is None:
        raise GCLConfigError('running groups side by side (jobs > 1) needs isolate=True '
                             '(gcl bench --isolate, the default): one process per group')
    started = time.perf_counter()
    results_file = Path(results_file)
    scan = scan_results(results_file)
    summary = BenchSummary(results_file=results_file, total=len(cells), problems=scan.problems)
    finished = {record_key(rec) for _, rec in scan.records}
    todo = [c for c in cells if c.key not in finished]
    summary.skipped = len(cells) - len(todo)
    groups: dict[tuple[str, str, int, str], list[Cell]] = {}
    for cell in todo:
        groups.setdefault(cell.group, []).append(cell)
    cells_done = summary.skipped
    emit = on_event or (lambda event: None)
    emit(BenchEvent('skipped', cells_done, len(cells), 0, len(groups)))
    if summary.skipped:
        logger.info('%d of %d cells already in %s; skipped', summary.skipped, len(cells),
                    results_file)
    if not groups:
        summary.seconds = time.perf_counter() - started
        return summary
    _repair_tail(results_file, scan)
    times: dict[tuple[str, str], list[float]] = {}
    # groups with a resumable checkpoint first (stable otherwise): started work finishes first,
    # and with --jobs N the N slots do not go to fresh groups while a half-done one waits
    order = sorted(groups.items(), key=lambda item: not _has_checkpoint(out_dir, *item[0]))
    threads = _threads_per_job(jobs) if jobs > 1 else None
    lock = threading.Lock()            # events and records, when groups run side by side
    unfinished = set(range(len(order)))
    state = {'cells_done': cells_done, 'groups_done': 0}

    def pending_after(index: int | None = None) -> list[tuple[str, str]]:
        return [(order[i][0][0], order[i][0][1]) for i in sorted(unfinished) if i != index]

    def launch(index: int) -> tuple[int, dict[str, Any] | None, Exception | None, float]:
        """Run group ``index`` (in a worker thread when ``jobs > 1``): its result or error."""
        (method, dataset, seed, chash), group_cells = order[index]
        label = _group_label(method, dataset, seed, group_cells)
        with lock:
            emit(BenchEvent('start', state['cells_done'], len(cells), state['groups_done'],
                            len(order), label, _eta(pending_after(), times)))
            logger.info('[%d/%d] %s', index + 1, len(order), label)
        kwargs = {'root': root, 'out_dir': out_dir, 'device': device, 'progress': False,
                  'results_file': Path(out_dir) / 'runs.jsonl', 'tasks': _tasks(group_cells),
                  'save_embeddings': save_embeddings}
        if checkpoint_seconds > 0:
            kwargs.update(checkpoint_dir=checkpoint_folder(out_dir, method, dataset, seed, chash),
                          checkpoint_seconds=checkpoint_seconds)
        group_start = time.perf_counter()
        try:
            if isolate:
                result = _run_isolated(group_cells[0].config, threads=threads, **kwargs)
            else:
                result = (run_fn or _run_in_process)(group_cells[0].config, **kwargs)
        except Exception as exc:  # noqa: BLE001 -- recorded (or re-raised) by finish()
            return index, None, exc, time.perf_counter() - group_start
        return index, result, None, time.perf_counter() - group_start

    def finish(index: int, result: dict[str, Any] | None, error: Exception | None,
               seconds: float) -> None:
        """Append a finished group's records (or record its failure); main thread only."""
        (method, dataset, seed, _), group_cells = order[index]
        label = _group_label(method, dataset, seed, group_cells)
        with lock:
            unfinished.discard(index)
            if error is not None:
                if stop_on_error:
                    raise error
                message = (str(error) if isinstance(error, GCLError)
                           else f'{type(error).__name__}: {error}')
                summary.failed.append((label, message))
                logger.error('%s failed: %s', label, message)
                state['groups_done'] += 1
                emit(BenchEvent('failed', state['cells_done'], len(cells), state['groups_done'],
                                len(order), label, _eta(pending_after(), times), seconds,
                                message))
                return
            state['cells_done'] += _append_records(result, group_cells, results_file, summary,
                                                   isolate, extra, label)
            times.setdefault((method, dataset), []).append(seconds)
            state['groups_done'] += 1
            emit(BenchEvent('done', state['cells_done'], len(cells), state['groups_done'],
                            len(order), label, _eta(pending_after(), times), seconds))

    if jobs <= 1:
        for index in range(len(order)):
            finish(*launch(index))
    else:
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix='gcl-bench') as pool:
            futures = [pool.submit(launch, index) for index in range(len(order))]
            try:
                for future in as_completed(futures):
                    finish(*future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                _terminate_children()          # the running groups' recv() then ends
                raise
    summary.seconds = time.perf_counter() - started
    return summary
