"""A `gcl train` stopped by SIGTERM (kill, timeout, a scheduler) exits 143 and leaves no
half-written run folder and no record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def test_sigterm_mid_training_cleans_up(tmp_path, data_root):
    out = tmp_path / 'runs'
    env = {**os.environ, 'GCL_DATA_ROOT': str(data_root), 'OMP_NUM_THREADS': '1'}
    proc = subprocess.Popen(
        [sys.executable, '-m', 'gcl.cli.main', 'train', '--method', 'grace', '--dataset', 'cora',
         '--epochs', '100000', '--tasks', 'node', '--quiet', '--out', str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        # training has begun once the partial folder holds its config
        while not list(out.glob('.partial-*/config.yaml')):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, 'the run never started'
            time.sleep(0.2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert 'Traceback' not in stderr
    assert list(out.iterdir()) == []          # no .partial-* folder, no run, no results.jsonl
