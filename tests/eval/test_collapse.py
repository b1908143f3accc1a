"""The collapse check: healthy, all-zero, rank-1 and half-dead embeddings, the row sample on big
graphs, and the warning."""

from __future__ import annotations

import logging

import pytest
import torch

from gcl.eval import collapse
from gcl.eval.collapse import embedding_health


def test_healthy_embeddings_pass():
    z = torch.randn(200, 16, generator=torch.Generator().manual_seed(0))
    out = embedding_health(z)
    assert out['zero_rows'] == 0 and out['rankme_rows'] == 200 and not out['collapsed']
    assert 10 < out['rankme'] <= 16


def test_one_direction_is_collapsed(caplog):
    generator = torch.Generator().manual_seed(0)
    z = torch.rand(300, 1, generator=generator) * torch.randn(1, 32, generator=generator)
    with caplog.at_level(logging.WARNING, logger='gcl'):
        out = embedding_health(z + 1e-6 * torch.randn(300, 32, generator=generator), name='z')
    assert out['collapsed'] and out['zero_rows'] == 0 and out['rankme'] < 1.1
    assert 'z have collapsed' in caplog.text and 'RankMe' in caplog.text


def test_all_zero_and_half_dead_are_collapsed():
    assert embedding_health(torch.zeros(50, 8)) == {
        'zero_rows': 50, 'rankme': 0.0, 'rankme_rows': 50, 'collapsed': True}
    z = torch.randn(100, 8, generator=torch.Generator().manual_seed(1))
    z[::2] = 0.0                                         # half the rows dead, the rest healthy
    out = embedding_health(z)
    assert out['zero_rows'] == 50 and out['rankme'] > 4 and out['collapsed']
    z[0] = 1.0                                           # one row fewer than half: not collapsed
    assert not embedding_health(z)['collapsed']


def test_big_graphs_use_a_row_sample(monkeypatch):
    monkeypatch.setattr(collapse, 'MAX_RANKME_ROWS', 64)
    z = torch.randn(500, 8, generator=torch.Generator().manual_seed(2))
    out = embedding_health(z)
    assert out['rankme_rows'] == 64 and out['zero_rows'] == 0
    assert out['rankme'] == pytest.approx(embedding_health(z[:64])['rankme'], rel=0.2)
    assert embedding_health(z) == out                    # the sample is seeded
