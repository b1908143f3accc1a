"""Atomic file writes: results and checkpoints are either complete or absent.

Each writer goes to a temporary file in the target's folder, ``fsync``\\ s it and ``os.replace``\\ s
it over the target, so a crash never leaves a half-written file behind. JSONL records are appended
in one ``write`` call, and :func:`read_jsonl` skips (and reports) a torn or corrupted line.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

logger = logging.getLogger(__name__)

__all__ = ['atomic_write_bytes', 'atomic_write_text', 'atomic_save_torch', 'append_jsonl',
           'read_jsonl']


def _open_temp(path: Path) -> tuple[int, Path]:
    """Create a fresh temporary file beside ``path``: ``(fd, temp path)``.

    Its permissions are those a plain ``open(path, 'w')`` would give: an existing target's mode
    is kept, a new file gets ``0o666`` less the umask. (``tempfile.mkstemp`` would make every
    result and checkpoint ``0o600``, unreadable to the rest of a group sharing the folder.)
    """
    try:
        keep: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        keep = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_BINARY', 0)
    for _ in range(100):
        tmp = path.with_name(f'.{path.name}.{secrets.token_hex(4)}.tmp')
        try:
            fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask
        except FileExistsError:
            continue
        if keep is not None:
            try:         # best effort: some mounts (CIFS, FUSE) refuse chmod; the data matters
                os.chmod(tmp, keep)
            except OSError as exc:
                logger.debug('could not give %s the mode of %s: %s', tmp, path, exc)
        return fd, tmp
    raise FileExistsError(f'could not create a temporary file beside {path}')


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _open_temp(path)
    try:
        with os.fdopen(fd, 'wb') as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode('utf-8'))


def atomic_save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically (plain types and tensors only)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def append_jsonl(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one JSON record as a single line, in one ``write``, then ``fsync``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, default=_json_default) + '\n'
    with open(path, 'a', encoding='utf-8') as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)``; malformed lines are logged with their number and skipped."""
    with open(path, encoding='utf-8', errors='replace') as fh:  # bad bytes fail json, not us
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                logger.warning('%s:%d: skipping a corrupted or truncated record (%s)', path,
                               lineno, exc.msg)
                continue
            if not isinstance(record, dict):
                logger.warning('%s:%d: skipping a record that is not a JSON object', path, lineno)
                continue
            yield lineno, record


def _json_default(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, 'item'):
        return obj.item()
    raise TypeError(f'{type(obj).__name__} is not JSON serialisable')
