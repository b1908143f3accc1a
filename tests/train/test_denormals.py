"""Training and the linear probe keep subnormal floats out (x86 CPUs process them 10-30x slower):
the thread's flush-to-zero flag, restored afterwards, and the optimiser's subnormal parameters and
moments zeroed after every step; ``GCL_FLUSH_DENORMAL=0`` keeps IEEE subnormals."""

from __future__ import annotations

import os

import pytest
import torch

from gcl.eval.node_classification import evaluate_node_classification
from gcl.utils.numerics import flush_denormal_enabled, flush_denormals, zero_subnormals_

SUBNORMAL = 1e-40   # below float32's smallest normal, 1.18e-38


def _product_of_subnormal() -> float:
    return (torch.tensor([SUBNORMAL]) * 2.0).item()


def test_flush_denormals_sets_and_restores():
    assert not flush_denormal_enabled()            # torch's default: IEEE subnormals
    assert _product_of_subnormal() == pytest.approx(2 * SUBNORMAL, rel=1e-3)
    with flush_denormals() as active:
        assert active and flush_denormal_enabled()
        assert _product_of_subnormal() == 0.0
        with flush_denormals(False) as inner:      # nested: an explicit opt-out wins inside
            assert not inner and not flush_denormal_enabled()
        assert flush_denormal_enabled()            # and the outer block's setting comes back
    assert not flush_denormal_enabled()


def test_flush_denormals_restores_after_an_exception():
    with pytest.raises(RuntimeError, match='boom'), flush_denormals():
        raise RuntimeError('boom')
    assert not flush_denormal_enabled()


def test_environment_opts_out(monkeypatch):
    monkeypatch.setenv('GCL_FLUSH_DENORMAL', '0')
    with flush_denormals() as active:
        assert not active and not flush_denormal_enabled()


def test_fit_flushes_during_training_only(small_method, sbm_graph):
    seen: list[bool] = []

    def watch(epoch, method, model, data, loss):
        seen.append(flush_denormal_enabled())

    small_method('grace', 3).fit(sbm_graph, device='cpu', callbacks=[watch])
    assert seen == [True, True, True]
    assert not flush_denormal_enabled()


def test_probe_trains_with_flushing(sbm_graph, monkeypatch):
    import gcl.utils.numerics as numerics

    entered: list[bool] = []

    def spy(enabled=None):
        entered.append(True)
        return flush_denormals(enabled)

    monkeypatch.setattr(numerics, 'flush_denormals', spy)
    zeroed: list[int] = []
    monkeypatch.setattr(numerics, 'zero_subnormals_', lambda optimizer: zeroed.append(1) or 0)
    z = torch.randn(sbm_graph.num_nodes, 8, generator=torch.Generator().manual_seed(0))
    evaluate_node_classification(z, sbm_graph.y, protocol='gca', epochs=20, repeats=2,
                                 random_state=0)
    assert entered and len(zeroed) >= 20      # every probe step, every split at once
    assert not flush_denormal_enabled()


def test_zero_subnormals_changes_only_subnormal_entries():
    param = torch.nn.Parameter(torch.tensor([1e-40, -3e-39, 2e-38, 0.0, 0.5]))
    optimizer = torch.optim.Adam([param], lr=0.1)
    param.grad = torch.ones(5)
    optimizer.step()                                   # creates the moments
    state = optimizer.state[param]
    state['exp_avg'].copy_(torch.tensor([0.1, 5e-41, -2e-45, 1.0, 1e-37]))
    with torch.no_grad():
        param.copy_(torch.tensor([1e-40, -3e-39, 2e-38, 0.0, 0.5]))
    half = torch.tensor([1e-40, 1.0], dtype=torch.float16)   # float16 is left alone
    optimizer.add_param_group({'params': [torch.nn.Parameter(half)]})

    assert zero_subnormals_(optimizer) == 4
    assert param.detach().tolist() == pytest.approx([0.0, 0.0, 2e-38, 0.0, 0.5], abs=0, rel=1e-6)
    assert state['exp_avg'].tolist() == pytest.approx([0.1, 0.0, 0.0, 1.0, 1e-37], rel=1e-6)
    assert optimizer.param_groups[1]['params'][0].detach().equal(half)
    assert zero_subnormals_(optimizer) == 0


@pytest.mark.parametrize('setting, calls', [('1', 3), ('0', 0)])
def test_fit_zeroes_subnormals_after_every_step(small_method, sbm_graph, monkeypatch, setting,
                                                 calls):
    import gcl.utils.numerics as numerics

    seen: list[int] = []
    monkeypatch.setattr(numerics, 'zero_subnormals_', lambda optimizer: seen.append(1) or 0)
    monkeypatch.setenv('GCL_FLUSH_DENORMAL', setting)
    small_method('grace', 3).fit(sbm_graph, device='cpu')
    assert len(seen) == calls


PROCESS_CHECK = r'''
import sys, torch
from gcl.utils.numerics import flush_denormals_for_process
if sys.argv[1] == 'first':
    assert flush_denormals_for_process()
torch.set_num_threads(2)
tiny = torch.full((1 << 20,), 1e-40)
_ = tiny * 2.0                      # torch's intra-op threads exist from here on
if sys.argv[1] == 'late':
    torch.set_flush_denormal(True)
print(int(((tiny * 2.0) != 0).sum()))
'''


def test_flushing_first_reaches_torchs_worker_threads():
    """Set first thing, the flag reaches every intra-op thread (they inherit it); set once the
    threads exist, only the calling thread's share of a parallel op is flushed."""
    import subprocess
    import sys

    def nonzero(when: str) -> int:
        out = subprocess.run([sys.executable, '-c', PROCESS_CHECK, when], check=True,
                             capture_output=True, text=True, env={**os.environ,
                                                                  'GCL_FLUSH_DENORMAL': '1'})
        return int(out.stdout.strip())

    assert nonzero('first') == 0
    assert 0 < nonzero('late') < 1 << 20


def test_gcl_command_flushes_for_its_process(monkeypatch):
    from typer.testing import CliRunner

    from gcl.cli.main import app

    monkeypatch.setenv('GCL_FLUSH_DENORMAL', '1')
    assert CliRunner().invoke(app, ['version']).exit_code == 0
    assert flush_denormal_enabled()
    torch.set_flush_denormal(False)
    monkeypatch.setenv('GCL_FLUSH_DENORMAL', '0')
    assert CliRunner().invoke(app, ['version']).exit_code == 0
    assert not flush_denormal_enabled()
