"""Atomic writes and tolerant JSONL reading."""

from __future__ import annotations

import logging

import pytest
import torch

from gcl.utils.io import append_jsonl, atomic_save_torch, atomic_write_text, read_jsonl


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_text(tmp_path / 'a.txt', 'hello')
    atomic_save_torch({'w': torch.ones(2)}, tmp_path / 'b.pt')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.txt', 'b.pt']


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / 'a.txt'
    atomic_write_text(target, 'old')

    def boom(*args, **kwargs):
        raise OSError('disk full')

    monkeypatch.setattr('gcl.utils.io.os.replace', boom)
    with pytest.raises(OSError, match='disk full'):
        atomic_write_text(target, 'new')
    assert target.read_text() == 'old'
    assert [p.name for p in tmp_path.iterdir()] == ['a.txt']


def test_read_jsonl_skips_bad_lines_with_line_numbers(tmp_path, caplog):
    path = tmp_path / 'r.jsonl'
    append_jsonl(path, {'a': 1})
    with open(path, 'ab') as fh:
        fh.write(b'{"torn": \n')            # line 2: truncated
        fh.write(b'\xff\xfe not utf-8\n')   # line 3: bad bytes
        fh.write(b'[1, 2]\n')               # line 4: not an object
    append_jsonl(path, {'b': torch.tensor(2)})
    with caplog.at_level(logging.WARNING):
        rows = list(read_jsonl(path))
    assert rows == [(1, {'a': 1}), (5, {'b': 2})]
    for lineno in (2, 3, 4):
        assert f':{lineno}:' in caplog.text


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    """A new file gets 0o666 less the umask (not mkstemp's 0o600); a rewrite keeps the old mode."""
    import os
    import stat

    def mode(p):
        return stat.S_IMODE(p.stat().st_mode)

    old = os.umask(0o022)
    try:
        fresh = atomic_write_text(tmp_path / 'new.json', '{}')
        assert mode(fresh) == 0o644
        fresh.chmod(0o664)
        atomic_write_text(fresh, '{"a": 1}')
        assert mode(fresh) == 0o664 and fresh.read_text() == '{"a": 1}'
        private = atomic_save_torch({'w': torch.ones(1)}, tmp_path / 'ckpt.pt')
        private.chmod(0o600)
        atomic_save_torch({'w': torch.zeros(1)}, private)
        assert mode(private) == 0o600
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt.pt', 'new.json']


def test_atomic_write_on_a_mount_that_refuses_chmod(tmp_path, monkeypatch):
    """Where chmod fails (CIFS, some FUSE mounts) the write still lands, with no temporary
    file left behind."""
    import os

    (tmp_path / 'a.json').write_text('{}')

    def refuse(*args, **kwargs):
        raise PermissionError('operation not permitted')

    monkeypatch.setattr(os, 'chmod', refuse)
    atomic_write_text(tmp_path / 'a.json', '{"b": 2}')
    assert (tmp_path / 'a.json').read_text() == '{"b": 2}'
    assert [p.name for p in tmp_path.iterdir()] == ['a.json']
