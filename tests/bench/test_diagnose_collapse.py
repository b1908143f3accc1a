"""benchmarks/diagnose_collapse.py tells a healthy model, a one-direction collapse and dead ReLUs
apart, on a model reloaded from its checkpoint."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / 'benchmarks' / 'diagnose_collapse.py'


@pytest.fixture(scope='module')
def diagnose_module():
    spec = importlib.util.spec_from_file_location('diagnose_collapse', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthy_collapsed_and_dead(diagnose_module, small_method, sbm_graph, tmp_path):
    from gcl.methods import get_method

    method = small_method('gca', 30).fit(sbm_graph, device='cpu')
    path = method.save(tmp_path / 'gca.pt')
    loaded = get_method('gca').load(path, sbm_graph)
    healthy = diagnose_module.diagnose(loaded, sbm_graph)
    assert healthy['encoder']['zero_rows'] < 60 and healthy['encoder']['rankme'] > 1.5
    assert healthy['projection']['min_cos_to_mean'] < 0.99

    with torch.no_grad():                      # one huge shared direction in every projection
        loaded.model_.head.fc2.bias.fill_(1e6)
    one_way = diagnose_module.diagnose(loaded, sbm_graph)
    assert one_way['projection']['min_cos_to_mean'] > 0.99999
    assert one_way['projection']['rankme'] < 1.01
    assert one_way['projection']['median_length'] > 1e6
    assert one_way['encoder'] == healthy['encoder']   # the encoder is untouched

    with torch.no_grad():                      # the last ReLU dead for every node
        loaded.model_.encoder.convs[-1].bias.fill_(-1e6)
    dead = diagnose_module.diagnose(loaded, sbm_graph)
    assert dead['encoder']['zero_rows'] == 60 and dead['encoder']['rankme'] == 0.0
