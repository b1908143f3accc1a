"""gcl's malloc settings (``GCL_MALLOC``): which one applies where, the environment that sets it,
and the ``gcl`` process that starts again under it (checked in a real process: malloc reads its
settings only when a process starts)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

import gcl.utils.memory as memory
from gcl.train.record import environment

LINUX_GLIBC = platform.system() == 'Linux' and platform.libc_ver()[0] == 'glibc'


@pytest.fixture
def clean_env(monkeypatch):
    for key in ('GCL_MALLOC', memory.APPLIED, 'GLIBC_TUNABLES', 'MALLOC_MMAP_MAX_',
                'MALLOC_TRIM_THRESHOLD_'):
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def _thp(monkeypatch, tmp_path, setting: str) -> None:
    (tmp_path / 'enabled').write_text(setting)
    monkeypatch.setattr(memory, '_THP_FILE', tmp_path / 'enabled')


@pytest.mark.skipif(not LINUX_GLIBC, reason='the settings are glibc malloc tunables')
def test_the_mode_follows_the_kernel_and_the_variable(clean_env, tmp_path):
    _thp(clean_env, tmp_path, 'always [madvise] never\n')
    assert memory.malloc_mode() == ('thp' if memory._glibc_at_least(2, 35) else 'off')
    _thp(clean_env, tmp_path, 'always madvise [never]\n')   # no huge pages to ask for
    assert memory.malloc_mode() == 'off'
    _thp(clean_env, tmp_path, '[always] madvise never\n')   # the kernel already gives them
    assert memory.malloc_mode() == 'off'
    clean_env.setenv('GCL_MALLOC', 'heap')
    assert memory.malloc_mode() == 'heap'
    clean_env.setenv('GCL_MALLOC', 'OFF')
    assert memory.malloc_mode() == 'off'
    clean_env.setenv('GCL_MALLOC', 'fast')
    with pytest.raises(ValueError, match="GCL_MALLOC must be auto, thp, heap or off, got 'fast'"):
        memory.malloc_mode()


def test_the_environment_keeps_the_users_tunables(clean_env):
    assert memory.malloc_env('off') == {}
    assert memory.malloc_env('heap') == {'MALLOC_MMAP_MAX_': '0',
                                         'MALLOC_TRIM_THRESHOLD_': str(64 << 30),
                                         memory.APPLIED: 'heap'}
    assert memory.malloc_env('thp')['GLIBC_TUNABLES'] == 'glibc.malloc.hugetlb=1'
    clean_env.setenv('GLIBC_TUNABLES', 'glibc.malloc.arena_max=2')
    assert memory.malloc_env('thp')['GLIBC_TUNABLES'] == \
        'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1'
    clean_env.setenv('GLIBC_TUNABLES', 'glibc.malloc.hugetlb=0')     # the user's choice wins
    assert 'GLIBC_TUNABLES' not in memory.malloc_env('thp')


def test_only_training_commands_start_again_and_only_once(clean_env, tmp_path):
    _thp(clean_env, tmp_path, 'always [madvise] never\n')
    thp_here = LINUX_GLIBC and memory._glibc_at_least(2, 35)
    for command in ('train', 'embed', 'bench'):
        again = memory.reexec_argv(['gcl', '--debug', command, '-m', 'gca'], 'python')
        assert again == (['python', '-m', 'gcl.cli.main', '--debug', command, '-m', 'gca']
                         if thp_here else None)
    assert memory.reexec_argv(['gcl', 'datasets', 'list'], 'python') is None
    assert memory.reexec_argv(['gcl', 'bench', '--dry-run'], 'python') is None   # no training
    assert memory.reexec_argv(['gcl', 'train', '--help'], 'python') is None
    clean_env.setenv('GCL_MALLOC', 'off')
    assert memory.reexec_argv(['gcl', 'train'], 'python') is None
    clean_env.setenv('GCL_MALLOC', 'heap')
    clean_env.setenv(memory.APPLIED, 'heap')                    # already started again
    assert memory.reexec_argv(['gcl', 'train'], 'python') is None


def test_the_gcl_command_imports_no_torch_before_it_starts_again():
    """Starting again is cheap only if nothing heavy was imported yet: ``gcl/__init__.py`` and
    ``gcl/utils/__init__.py`` load their names lazily, and so does the CLI's entry module."""
    probe = ('import sys, gcl.cli.main, gcl.utils.memory; print(sorted(m for m in '
             '("torch", "torch_geometric", "sklearn") if m in sys.modules))')
    done = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == '[]', done.stdout
    import gcl  # the API as before, names on first use
    assert gcl.GRACE.__name__ == 'GRACE' and callable(gcl.evaluate) and 'GCA' in dir(gcl)


def test_records_say_which_setting_the_process_had(clean_env):
    assert environment()['malloc'] == 'off'
    clean_env.setenv('GLIBC_TUNABLES', 'glibc.malloc.hugetlb=1')
    assert environment()['malloc'] == 'thp'
    clean_env.setenv('MALLOC_MMAP_MAX_', '0')
    assert environment()['malloc'] == 'heap'


@pytest.mark.skipif(not LINUX_GLIBC, reason='the settings are glibc malloc tunables')
def test_gcl_train_runs_under_the_setting(tmp_path, data_root):
    """The console script starts again under ``GCL_MALLOC=heap``: its record says so, and a
    bad value is one line, exit 2, before anything runs."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('GLIBC_TUNABLES', 'MALLOC_MMAP_MAX_', memory.APPLIED)}
    gcl = [sys.executable, '-c', 'import sys; from gcl.cli.main import main; sys.argv[0] = '
           '"gcl"; main()']
    args = ['train', '-m', 'grace', '-d', 'cora', '--epochs', '1', '--tasks', 'cluster',
            '--root', str(data_root), '--out', str(tmp_path / 'runs'), '-q']
    done = subprocess.run([*gcl, *args], env={**env, 'GCL_MALLOC': 'heap'},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    (record,) = [json.loads(line) for line in
                 (tmp_path / 'runs' / 'results.jsonl').read_text().splitlines()]
    assert record['versions']['malloc'] == 'heap'
    bad = subprocess.run([*gcl, *args], env={**env, 'GCL_MALLOC': 'fast'},
                         capture_output=True, text=True, timeout=300, check=False)
    assert bad.returncode == 2 and 'GCL_MALLOC must be' in bad.stderr
