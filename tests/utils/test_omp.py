"""``OMP_WAIT_POLICY=PASSIVE`` for the numpy CPU backend on several threads: when it is needed, the
``gcl`` command that starts again under it (checked in a real process: OpenMP reads the policy
only when torch loads), and the warning a Python program gets without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest
import torch

import gcl.kernels.gemm as gemm
import gcl.utils.memory as memory
from gcl.train.record import environment
from gcl.utils.omp import WAIT_POLICY, passive_env, spinning_pools


@pytest.fixture
def clean_env(monkeypatch):
    for key in ('GCL_CPU_GEMM', WAIT_POLICY, 'OMP_NUM_THREADS', 'GCL_MALLOC', memory.APPLIED,
                'GLIBC_TUNABLES', 'MALLOC_MMAP_MAX_', 'MALLOC_TRIM_THRESHOLD_'):
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def test_passive_only_for_the_numpy_backend_on_several_threads() -> None:
    assert passive_env({'GCL_CPU_GEMM': 'numpy'}) == {WAIT_POLICY: 'PASSIVE'}
    assert passive_env({'GCL_CPU_GEMM': ' NumPy ', 'OMP_NUM_THREADS': '2'}) == \
        {WAIT_POLICY: 'PASSIVE'}
    assert passive_env({'GCL_CPU_GEMM': 'numpy', 'OMP_NUM_THREADS': '1'}) == {}   # one pool
    assert passive_env({'GCL_CPU_GEMM': 'numpy', WAIT_POLICY: 'ACTIVE'}) == {}    # user's choice
    for backend in ('torch', 'auto', ''):
        assert passive_env({'GCL_CPU_GEMM': backend}) == {}
    assert passive_env({}) == {}


def test_the_trap_is_numpy_on_several_spinning_threads() -> None:
    assert spinning_pools('numpy', 2, {})
    assert spinning_pools('numpy', 2, {WAIT_POLICY: 'active'})
    assert not spinning_pools('numpy', 2, {WAIT_POLICY: 'passive'})
    assert not spinning_pools('numpy', 1, {})
    assert not spinning_pools('torch', 2, {})


def test_the_command_starts_again_for_the_policy_alone(clean_env) -> None:
    clean_env.setenv('GCL_MALLOC', 'off')
    clean_env.setenv('GCL_CPU_GEMM', 'numpy')
    settings = {**memory.malloc_env(), **passive_env()}
    assert settings == {WAIT_POLICY: 'PASSIVE'}
    assert memory.reexec_argv(['gcl', 'train', '-m', 'grace'], 'python', settings) == \
        ['python', '-m', 'gcl.cli.main', 'train', '-m', 'grace']
    assert memory.reexec_argv(['gcl', 'datasets', 'list'], 'python', settings) is None
    clean_env.setenv(WAIT_POLICY, 'PASSIVE')                  # started again: nothing left to set
    assert memory.reexec_argv(['gcl', 'train'], 'python', {**memory.malloc_env(),
                                                           **passive_env()}) is None


def test_gcl_train_runs_numpy_products_with_passive_workers(tmp_path, data_root) -> None:
    """The console script, started with ``GCL_CPU_GEMM=numpy`` on two threads and no policy,
    trains under ``OMP_WAIT_POLICY=PASSIVE``: its record says so."""
    env = {k: v for k, v in os.environ.items() if k not in (WAIT_POLICY, memory.APPLIED)}
    env.update({'GCL_CPU_GEMM': 'numpy', 'OMP_NUM_THREADS': '2', 'GCL_MALLOC': 'off'})
    gcl = [sys.executable, '-c', 'import sys; from gcl.cli.main import main; sys.argv[0] = '
           '"gcl"; main()']
    args = ['train', '-m', 'grace', '-d', 'cora', '--epochs', '1', '--tasks', 'cluster',
            '--root', str(data_root), '--out', str(tmp_path / 'runs'), '-q']
    done = subprocess.run([*gcl, *args], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert 'spin-wait' not in done.stderr
    (record,) = [json.loads(line) for line in
                 (tmp_path / 'runs' / 'results.jsonl').read_text().splitlines()]
    assert record['versions']['omp_wait_policy'] == 'PASSIVE'
    assert record['versions']['cpu_gemm'] == 'numpy'


def test_python_programs_are_warned_once(clean_env) -> None:
    before = torch.get_num_threads()
    a = torch.ones(4, 3)
    clean_env.setattr(gemm, '_warned_spinning', [False])
    try:
        torch.set_num_threads(2)
        for policy, warned in ((None, True), (None, False), ('PASSIVE', False)):
            clean_env.setattr(gemm, '_blas_threads', [0])        # the pool is sized again
            if policy:
                clean_env.setenv(WAIT_POLICY, policy)
            with gemm.use_cpu_gemm('numpy'), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always')
                gemm.gemm_mm(a, a.T)
            assert any('OMP_WAIT_POLICY' in str(w.message) for w in caught) == warned
        clean_env.setattr(gemm, '_warned_spinning', [False])
        clean_env.setattr(gemm, '_blas_threads', [0])
        clean_env.delenv(WAIT_POLICY)
        torch.set_num_threads(1)                                # one thread: nothing to fight
        with gemm.use_cpu_gemm('numpy'), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            gemm.gemm_mm(a, a.T)
        assert not caught
    finally:
        torch.set_num_threads(before)


def test_records_say_which_policy_the_process_had(clean_env) -> None:
    assert environment()['omp_wait_policy'] is None
    clean_env.setenv(WAIT_POLICY, 'PASSIVE')
    assert environment()['omp_wait_policy'] == 'PASSIVE'
