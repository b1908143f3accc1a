import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gcl.errors import GCLConfigError, GCLDataError
from gcl.eval import ClusteringEvaluator, clustering_accuracy, evaluate_clustering

KEYS = {'nmi', 'nmi_std', 'ari', 'ari_std', 'acc', 'acc_std', 'f1', 'f1_std', 'protocol', 'repeats'}


def separable(num_nodes=150, num_classes=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) % num_classes
    z = F.one_hot(y, num_classes).float() + 0.05 * torch.randn(
        num_nodes, num_classes, generator=gen
    )
    return z, y


def test_accuracy_of_permuted_labelling_is_one():
    y = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    perm = torch.tensor([2, 0, 1])
    assert clustering_accuracy(y, perm[y]) == 1.0
    assert clustering_accuracy(y.numpy(), (perm[y] + 10).numpy()) == 1.0  # arbitrary ids


@pytest.mark.parametrize(
    ('y_true', 'y_pred', 'expected'),
    [
        # cluster 1 -> class 0 (2 hits), cluster 0 -> class 1 (3 hits): 5/6
        ([0, 0, 0, 1, 1, 1], [1, 1, 0, 0, 0, 0], 5 / 6),
        # more clusters than classes: cluster 2 -> class 1 (2), one of 0/1 -> class 0 (1): 3/4
        ([0, 0, 1, 1], [0, 1, 2, 2], 3 / 4),
        # fewer clusters than classes: cluster 1 -> class 2 (2), cluster 0 -> 0 or 1 (1): 3/4
        ([0, 1, 2, 2], [0, 0, 1, 1], 3 / 4),
        # negative and large label values
        ([-1, -1, 7, 7], [5, 5, 5, 9], 3 / 4),
    ],
)
def test_accuracy_hand_examples(y_true, y_pred, expected):
    assert clustering_accuracy(torch.tensor(y_true), torch.tensor(y_pred)) == pytest.approx(
        expected
    )


def test_accuracy_not_fooled_by_greedy_matching():
    # contingency: cluster 0 = {class 0: 3, class 1: 2}, cluster 1 = {class 0: 2}.
    # greedy (largest cell first) takes 0->0 (3) and is left with 1->1 (0): 3/7;
    # the optimal matching takes 0->1 (2) and 1->0 (2): 4/7.
    y_true = [0, 0, 0, 1, 1, 0, 0]
    y_pred = [0, 0, 0, 0, 0, 1, 1]
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(4 / 7)


def test_evaluator_format_and_keys():
    ev = ClusteringEvaluator()
    assert ev.expected_input_format == "{'y_true': LongTensor [N], 'y_pred': LongTensor [N]}"
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    out = ev.eval({'y_true': y, 'y_pred': torch.tensor([1, 1, 2, 2, 0, 0])})
    assert out == {'nmi': pytest.approx(1.0), 'ari': pytest.approx(1.0), 'acc': 1.0}
    assert set(out) == {'nmi', 'ari', 'acc'}


def test_evaluator_random_prediction_near_zero():
    gen = np.random.default_rng(0)
    y = gen.integers(0, 4, 2000)
    out = ClusteringEvaluator().eval({'y_true': y, 'y_pred': gen.integers(0, 4, 2000)})
    assert out['nmi'] < 0.01 and abs(out['ari']) < 0.01 and out['acc'] < 0.3


@pytest.mark.parametrize(
    ('input_dict', 'match'),
    [
        ({'y_true': torch.tensor([0, 1])}, 'lacks'),
        ({'y_true': torch.tensor([0, 1]), 'y_pred': torch.tensor([0, 1, 1])}, 'aligned'),
        ({'y_true': torch.tensor([0.0, 1.0]), 'y_pred': torch.tensor([0, 1])}, 'integer'),
        ({'y_true': torch.zeros(2, 2, dtype=torch.long), 'y_pred': torch.tensor([0, 1])}, '1-D'),
        ({'y_true': torch.tensor([], dtype=torch.long), 'y_pred': torch.tensor([])}, 'empty'),
    ],
)
def test_evaluator_bad_inputs_raise(input_dict, match):
    with pytest.raises(GCLDataError, match=match):
        ClusteringEvaluator().eval(input_dict)


def test_separable_embeddings_cluster_perfectly():
    z, y = separable()
    out = evaluate_clustering(z, y, repeats=2)
    assert set(out) == KEYS
    for key in ('nmi', 'ari', 'acc', 'f1'):
        assert out[key] == pytest.approx(1.0)
        assert out[f'{key}_std'] == pytest.approx(0.0, abs=1e-12)
    assert out['protocol'] == 'kmeans-k=3, n_init=10'
    assert out['repeats'] == 2


def test_random_embeddings_are_at_chance():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(600, 8, generator=gen)
    y = torch.randint(0, 4, (600,), generator=gen)
    out = evaluate_clustering(z, y, repeats=2)
    assert out['nmi'] < 0.05
    assert abs(out['ari']) < 0.05
    assert out['acc'] < 0.4


def test_scale_invariance_from_l2_normalisation():
    z, y = separable()
    scale = torch.rand(z.size(0), 1, generator=torch.Generator().manual_seed(1)) * 100 + 0.01
    assert evaluate_clustering(z * scale, y, repeats=1)['acc'] == pytest.approx(1.0)


def test_num_clusters_and_seeds():
    z, y = separable()
    out = evaluate_clustering(z, y, num_clusters=6, repeats=1)
    assert out['protocol'] == 'kmeans-k=6, n_init=10'
    assert out['acc'] < 0.8  # each class is split in two; 3 of the 6 clusters stay unmatched
    a = evaluate_clustering(z, y, repeats=2, random_state=3)
    assert a == evaluate_clustering(z, y, repeats=2, random_state=3)


def test_clustering_bad_inputs_raise():
    z, y = separable()
    bad = z.clone()
    bad[0, 0] = math.nan
    with pytest.raises(GCLDataError, match='NaN'):
        evaluate_clustering(bad, y)
    with pytest.raises(GCLDataError, match='aligned'):
        evaluate_clustering(z, y[:-1])
    with pytest.raises(GCLDataError, match='missing'):
        evaluate_clustering(z, None)
    with pytest.raises(GCLConfigError, match='num_clusters'):
        evaluate_clustering(z, y, num_clusters=1)
    with pytest.raises(GCLDataError, match='exceeds'):
        evaluate_clustering(z[:4], y[:4], num_clusters=5)
