"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory, with the session's dataset cache as ``GCL_DATA_ROOT``."""
    monkeypatch.setenv('GCL_DATA_ROOT', str(data_root))
    monkeypatch.chdir(tmp_path)
    return tmp_path
