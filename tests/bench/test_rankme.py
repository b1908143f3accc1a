"""RankMe on matrices of known rank, the training callback, and --select rankme in run()."""

from __future__ import annotations

import math

import pytest
import torch

from gcl.bench.rankme import RankMe, callbacks_from_config, rankme, select_best
from gcl.errors import GCLConfigError, GCLDataError
from gcl.methods import GRACE


def _orthonormal(n: int, k: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, k, generator=g, dtype=torch.float64))
    return q


@pytest.mark.parametrize('r', [1, 3, 10, 40])
def test_equal_singular_values_give_exactly_r(r):
    z = _orthonormal(500, r, 0) @ _orthonormal(64, r, 1).T        # [500, 64], r equal sigmas
    # eps = 1e-7 adds at most eps * (1 - ln eps) ~ 1.7e-6 to the entropy per singular value
    assert rankme(z) == pytest.approx(r, rel=64 * 2e-6)


@pytest.mark.parametrize('r', [2, 5, 20])
def test_random_rank_r_products_are_near_r(r):
    g = torch.Generator().manual_seed(r)
    z = torch.randn(2000, r, generator=g) @ torch.randn(r, 128, generator=g)   # rank r
    value = rankme(z)
    assert 0.8 * r < value <= r * (1 + 1e-4)


@pytest.mark.parametrize(('n', 'd'), [(4000, 32), (30, 300)])
def test_full_rank_isotropic_is_near_min_n_d(n, d):
    g = torch.Generator().manual_seed(0)
    value = rankme(torch.randn(n, d, generator=g))
    k = min(n, d)
    assert 0.9 * k < value <= k * (1 + 1e-4)
    if n > 50 * d:
        assert value > 0.98 * k


def test_collapse_lowers_rankme_and_scale_does_not_matter():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(1000, 32, generator=g)
    squashed = z * torch.logspace(0, -4, 32)                       # a few directions dominate
    assert rankme(squashed) < 0.5 * rankme(z)
    assert rankme(7.5 * z) == pytest.approx(rankme(z), rel=1e-9)


def test_degenerate_inputs():
    assert rankme(torch.zeros(10, 4)) == 0.0
    with pytest.raises(GCLDataError, match='2-D'):
        rankme(torch.ones(5))
    with pytest.raises(GCLDataError, match='NaN'):
        rankme(torch.tensor([[1.0, float('nan')], [0.0, 1.0]]))


def test_select_best():
    assert select_best([{'rankme': 3.0}, {'rankme': 9.0}, {'rankme': float('nan')}]) == 1
    with pytest.raises(GCLDataError, match='no candidate'):
        select_best([{'loss': 1.0}])


def _grace(**kw):
    return GRACE(hidden=16, epochs=6, lr=0.01, random_state=0, **kw)


def test_callback_does_not_change_training(sbm_graph):
    plain = _grace().fit(sbm_graph)
    logged = _grace().fit(sbm_graph, callbacks=[RankMe(every=1, probe_every=3)])
    assert [h['loss'] for h in plain.history_] == [h['loss'] for h in logged.history_]
    assert all('rankme' in h for h in logged.history_)
    assert [h['epoch'] for h in logged.history_ if 'probe_acc' in h] == [3, 6]
    assert all(0.0 <= h['probe_acc'] <= 1.0 for h in logged.history_ if 'probe_acc' in h)


def test_select_keeps_the_best_rankme_epoch(sbm_graph):
    callback = RankMe(every=2, select=True)
    method = _grace().fit(sbm_graph, callbacks=[callback])
    ranks = {h['epoch']: h['rankme'] for h in method.history_ if 'rankme' in h}
    assert sorted(ranks) == [2, 4, 6]
    best = max(ranks, key=ranks.get)
    assert method.selection_ == {'by': 'rankme', 'epoch': best, 'rankme': ranks[best]}
    assert rankme(method.embed(sbm_graph)) == pytest.approx(ranks[best], rel=1e-5)
    last = _grace().fit(sbm_graph)
    if best != 6:  # the selected weights are not the last epoch's
        assert not torch.allclose(last.embed(sbm_graph), method.embed(sbm_graph))


def test_select_from_skips_the_first_epochs(sbm_graph):
    method = _grace().fit(sbm_graph, callbacks=[RankMe(every=1, select=True, select_from=4)])
    ranks = {h['epoch']: h['rankme'] for h in method.history_}
    assert sorted(ranks) == [1, 2, 3, 4, 5, 6]                    # logged from the start
    late = max((4, 5, 6), key=ranks.get)
    assert method.selection_['epoch'] == late


def test_callbacks_from_config():
    assert callbacks_from_config({'train': {'select': 'last'}}) == []
    (cb,) = callbacks_from_config({'train': {'select': 'rankme'}, 'seed': 3,
                                   'optim': {'epochs': 100}})
    assert cb.select and cb.every == 1 and cb.random_state == 3
    assert cb.select_from == 51                                     # default: second half
    (cb,) = callbacks_from_config({'train': {'select': 'rankme', 'select_after': 0.0},
                                   'optim': {'epochs': 100}})
    assert cb.select_from == 1
    with pytest.raises(GCLConfigError, match='select_after'):
        callbacks_from_config({'train': {'select': 'rankme', 'select_after': 1.0}})
    (cb,) = callbacks_from_config({'train': {'select': 'last', 'probe_every': 5}})
    assert not cb.select and cb.every == 0 and cb.probe_every == 5
    with pytest.raises(GCLConfigError, match="'last' or 'rankme'"):
        callbacks_from_config({'train': {'select': 'best'}})
    with pytest.raises(GCLConfigError, match='every'):
        RankMe(every=0, select=True)


def test_run_with_select_rankme_records_the_choice(sbm_graph, tmp_path):
    from gcl.config import merge_config
    from gcl.train.run import run

    config = merge_config(GRACE.default_config(), {
        'dataset': 'sbm', 'encoder': {'hidden': 16}, 'optim': {'epochs': 4, 'lr': 0.01},
        'train': {'select': 'rankme'}, 'eval': {'repeats': 1}})
    config['method'] = 'grace'
    result = run(config, data=sbm_graph, out_dir=tmp_path, tasks=['node'])
    (record,) = result['records']
    history = [h for h in _read_history(result['run_dir'])]
    assert [h['epoch'] for h in history if 'rankme' in h] == [1, 2, 3, 4]
    # select_after 0.5 of 4 epochs: epochs 3 and 4 can be chosen
    best = max((h for h in history if h['epoch'] >= 3), key=lambda h: h['rankme'])
    assert record['selection']['by'] == 'rankme'
    assert record['selection']['epoch'] == best['epoch']
    assert math.isclose(record['selection']['rankme'], best['rankme'])


def _read_history(run_dir):
    import json

    return [json.loads(line) for line in (run_dir / 'history.jsonl').read_text().splitlines()]
