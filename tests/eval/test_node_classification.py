import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gcl.errors import GCLConfigError, GCLDataError
from gcl.eval import NodeClassificationEvaluator, evaluate_node_classification
from gcl.eval.node_classification import _random_split

KEYS = {
    'test_acc',
    'test_acc_std',
    'val_acc',
    'val_acc_std',
    'micro_f1',
    'micro_f1_std',
    'macro_f1',
    'macro_f1_std',
    'protocol',
    'repeats',
}
FAST = {'epochs': 100, 'eval_every': 20}  # 'gca' protocol kept short in tests


def separable(num_nodes=200, num_classes=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) % num_classes
    z = 5.0 * F.one_hot(y, num_classes).float() + 0.01 * torch.randn(
        num_nodes, num_classes, generator=gen
    )
    return z, y


def random_embeddings(num_nodes=600, num_classes=4, dim=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, num_classes, (num_nodes,), generator=gen)
    z = torch.randn(num_nodes, dim, generator=gen)
    return z, y


@pytest.mark.parametrize('protocol', ['random-10-10-80', 'grace-10-90', 'gca', 'gcool'])
def test_separable_embeddings_are_classified_perfectly(protocol):
    z, y = separable()
    out = evaluate_node_classification(z, y, protocol=protocol, repeats=2, **FAST)
    assert set(out) == KEYS
    assert out['protocol'] == protocol
    assert out['repeats'] == 2
    assert out['test_acc'] == 1.0
    assert out['micro_f1'] == 1.0
    assert out['macro_f1'] == 1.0
    assert out['test_acc_std'] == 0.0
    assert all(isinstance(out[k], float) for k in KEYS - {'protocol', 'repeats'})


@pytest.mark.parametrize('protocol', ['random-10-10-80', 'gca'])
def test_random_embeddings_give_chance_level(protocol):
    z, y = random_embeddings()
    out = evaluate_node_classification(z, y, protocol=protocol, repeats=2, **FAST)
    assert abs(out['test_acc'] - 0.25) < 0.08
    assert out['macro_f1'] < 0.35


def test_grace_protocol_random_embeddings_chance_level():
    z, y = random_embeddings(num_nodes=300)
    out = evaluate_node_classification(z, y, protocol='grace-10-90', repeats=1)
    assert abs(out['test_acc'] - 0.25) < 0.1


def test_std_is_unbiased_and_zero_for_one_repeat():
    z, y = random_embeddings(num_nodes=200)
    runs = [
        evaluate_node_classification(z, y, repeats=1, random_state=s)['test_acc'] for s in (3, 4, 5)
    ]
    out = evaluate_node_classification(z, y, repeats=3, random_state=3)
    assert out['test_acc'] == pytest.approx(np.mean(runs))
    assert out['test_acc_std'] == pytest.approx(np.std(runs, ddof=1))
    one = evaluate_node_classification(z, y, repeats=1)
    assert one['test_acc_std'] == 0.0 and one['repeats'] == 1


def test_same_seed_same_result():
    z, y = random_embeddings(num_nodes=200)
    a = evaluate_node_classification(z, y, repeats=2, random_state=7)
    b = evaluate_node_classification(z, y, repeats=2, random_state=7)
    assert a == b


def test_rows_are_l2_normalised_first():
    z, y = random_embeddings(num_nodes=200)
    scale = torch.rand(z.size(0), 1, generator=torch.Generator().manual_seed(1)) * 10 + 0.1
    a = evaluate_node_classification(z, y, repeats=1)
    b = evaluate_node_classification(z * scale, y, repeats=1)
    assert a['test_acc'] == pytest.approx(b['test_acc'])


def test_random_split_is_10_10_80_and_disjoint():
    train, val, test = _random_split(1000, seed=0)
    assert (train.numel(), val.numel(), test.numel()) == (100, 100, 800)
    assert torch.cat([train, val, test]).sort().values.equal(torch.arange(1000))


def xavier_linear(dim, num_classes, seed):
    """``nn.Linear`` as GCA's and gCooL's ``LogReg`` set it up (xavier weight, zero bias)."""
    lin = nn.Linear(dim, num_classes)
    w = torch.empty_like(lin.weight)
    nn.init.xavier_uniform_(w, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        lin.weight.copy_(w)
        lin.bias.zero_()
    return lin


def reference_gca(z, y, split, seed, epochs, eval_every=20):
    """GCA's pGRACE/eval.py loop, one split, written plainly."""
    train, val, test = split
    lin = xavier_linear(z.size(1), int(y.max()) + 1, seed)
    opt = torch.optim.Adam(lin.parameters(), lr=0.01, weight_decay=0.0)
    best_val, best_test = -1.0, 0.0
    for epoch in range(epochs):
        opt.zero_grad()
        F.nll_loss(F.log_softmax(lin(z[train]), dim=-1), y[train]).backward()
        opt.step()
        if (epoch + 1) % eval_every == 0:
            with torch.no_grad():
                pred = lin(z).argmax(dim=-1)
            val_acc = (pred[val] == y[val]).double().mean().item()
            if val_acc > best_val:
                best_val = val_acc
                best_test = (pred[test] == y[test]).double().mean().item()
    return best_val, best_test


def test_gca_batched_repeats_equal_separate_reference_runs():
    z, y = random_embeddings(num_nodes=150, num_classes=3, dim=8)
    zn = F.normalize(z, dim=1)
    refs = [reference_gca(zn, y, _random_split(150, s), s, epochs=60) for s in (0, 1, 2)]
    out = evaluate_node_classification(z, y, protocol='gca', repeats=3, epochs=60,
                                       normalize=True)
    assert out['test_acc'] == pytest.approx(np.mean([t for _, t in refs]), abs=1e-9)
    assert out['val_acc'] == pytest.approx(np.mean([v for v, _ in refs]), abs=1e-9)


def reference_gcool(z, y, split, seed, epochs, eval_every=5):
    """gCooL's src/eval.py log_regression, one split, written plainly (sklearn F1 scores)."""
    from sklearn.metrics import f1_score

    train, _, test = split
    lin = xavier_linear(z.size(1), int(y.max()) + 1, seed)
    opt = torch.optim.Adam(lin.parameters(), lr=0.01, weight_decay=1e-5)
    best_micro, best_macro = 0.0, 0.0
    for epoch in range(epochs + 1):
        opt.zero_grad()
        F.cross_entropy(lin(z[train]), y[train]).backward()
        opt.step()
        if epoch % eval_every == 0:
            with torch.no_grad():
                pred = lin(z[test]).argmax(dim=-1)
            best_micro = max(best_micro, f1_score(y[test], pred, average='micro'))
            best_macro = max(best_macro, f1_score(y[test], pred, average='macro'))
    return best_micro, best_macro


def test_gcool_protocol_equals_gcools_eval_loop():
    z, y = random_embeddings(num_nodes=150, num_classes=3, dim=8)
    refs = [reference_gcool(z, y, _random_split(150, s), s, epochs=60) for s in (0, 1, 2)]
    out = evaluate_node_classification(z, y, protocol='gcool', repeats=3, epochs=60)
    assert out['protocol'] == 'gcool'          # raw embeddings, as gCooL's code feeds them
    assert out['test_acc'] == pytest.approx(np.mean([a for a, _ in refs]), abs=1e-6)
    assert out['micro_f1'] == out['test_acc']
    assert out['macro_f1'] == pytest.approx(np.mean([m for _, m in refs]), abs=1e-6)


def test_masked_f1_equals_sklearn():
    from sklearn.metrics import f1_score

    from gcl.eval.node_classification import _masked_f1

    gen = torch.Generator().manual_seed(0)
    num_classes = 5
    y = torch.randint(0, num_classes - 1, (300,), generator=gen)   # class 4 never true
    pred = torch.randint(0, num_classes, (3, 300), generator=gen)
    pred[1] = torch.where(pred[1] == 2, 0, pred[1])                 # class 2 never predicted
    pred[2, :] = 1                                                    # one class predicted
    mask = torch.rand(3, 300, generator=gen) < 0.5
    acc, macro = _masked_f1(pred, y, mask, num_classes)
    for r in range(3):
        t, p = y[mask[r]].numpy(), pred[r][mask[r]].numpy()
        assert acc[r].item() == pytest.approx(f1_score(t, p, average='micro'), abs=1e-12)
        assert macro[r].item() == pytest.approx(
            f1_score(t, p, average='macro', zero_division=0), abs=1e-12)


def test_gca_protocol_uses_the_raw_embeddings_like_gcas_eval():
    # GCA's / CSGCL's eval.py feed the encoder output to nn.Linear without normalising it
    z, y = random_embeddings(num_nodes=150, num_classes=3, dim=8)
    z = z * torch.rand(150, 1) * 5                        # row norms that normalising would drop
    refs = [reference_gca(z, y, _random_split(150, s), s, epochs=60) for s in (0, 1)]
    out = evaluate_node_classification(z, y, protocol='gca', repeats=2, epochs=60)
    assert out['test_acc'] == pytest.approx(np.mean([t for _, t in refs]), abs=1e-9)
    normed = evaluate_node_classification(z, y, protocol='gca', repeats=2, epochs=60,
                                          normalize=True)
    assert normed['test_acc'] != out['test_acc'] or normed['val_acc'] != out['val_acc']


def test_gca_runs_under_no_grad_and_inference_mode():
    z, y = separable(num_nodes=100)
    with torch.no_grad():
        a = evaluate_node_classification(z, y, protocol='gca', repeats=1, **FAST)
    with torch.inference_mode():
        b = evaluate_node_classification(z.clone(), y, protocol='gca', repeats=1, **FAST)
    assert a['test_acc'] == b['test_acc'] == 1.0


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_gca_runs_on_the_device_of_z():
    z, y = separable(num_nodes=100)
    cpu = evaluate_node_classification(z, y, protocol='gca', repeats=2, **FAST)
    gpu = evaluate_node_classification(z.cuda(), y.cuda(), protocol='gca', repeats=2, **FAST)
    assert gpu['test_acc'] == pytest.approx(cpu['test_acc'], abs=0.02)


def test_public_splits_single_and_list():
    z, y = separable(num_nodes=100)
    split = {
        'train': torch.arange(0, 20),
        'valid': torch.arange(20, 40),
        'test': torch.arange(40, 100),
    }
    one = evaluate_node_classification(z, y, protocol='public', splits=split, repeats=5)
    assert one['repeats'] == 1 and one['test_acc'] == 1.0 and one['test_acc_std'] == 0.0
    mask = torch.zeros(100, dtype=torch.bool)
    mask[40:] = True
    as_mask = {'train': split['train'], 'val': split['valid'], 'test': mask}
    many = evaluate_node_classification(z, y, protocol='public', splits=[split, as_mask, split])
    assert many['repeats'] == 3 and many['protocol'] == 'public'


def test_public_split_uses_the_given_nodes():
    # labels of test nodes are flipped relative to their embedding: a probe trained on the
    # given train nodes must get them all wrong, which only happens if the split is honoured
    z, y = separable(num_nodes=100, num_classes=2)
    y = y.clone()
    y[60:] = 1 - y[60:]
    split = {
        'train': torch.arange(0, 40),
        'valid': torch.arange(40, 60),
        'test': torch.arange(60, 100),
    }
    out = evaluate_node_classification(z, y, protocol='public', splits=split)
    assert out['test_acc'] == 0.0


def test_gca_with_wikics_style_split_list():
    z, y = separable(num_nodes=100)
    splits = [
        {
            'train': torch.arange(s, s + 10),
            'valid': torch.arange(50, 60),
            'test': torch.arange(60, 100),
        }
        for s in (0, 10, 20)
    ]
    out = evaluate_node_classification(z, y, protocol='gca', splits=splits, **FAST)
    assert out['repeats'] == 3 and out['test_acc'] == 1.0


def test_evaluator_object():
    z, y = separable(num_nodes=100)
    ev = NodeClassificationEvaluator(protocol='gca', repeats=1, epochs=60)
    assert "'z'" in ev.expected_input_format and "'y'" in ev.expected_input_format
    assert ev.eval({'z': z, 'y': y}) == evaluate_node_classification(
        z, y, protocol='gca', repeats=1, epochs=60
    )
    assert ev.get_params()['epochs'] == 60
    with pytest.raises(GCLDataError, match='lacks'):
        ev.eval({'z': z})


def test_ogb_style_labels_n_by_1_accepted():
    z, y = separable(num_nodes=100)
    a = evaluate_node_classification(z, y, repeats=1)
    b = evaluate_node_classification(z, y[:, None], repeats=1)
    assert a == b


@pytest.mark.parametrize(
    ('z', 'y', 'match'),
    [
        (torch.randn(50), torch.zeros(50, dtype=torch.long), '2-D'),
        (torch.randn(50, 4), torch.arange(49) % 2, 'aligned'),
        (torch.randint(0, 3, (50, 4)), torch.arange(50) % 2, 'floating-point'),
        (torch.randn(50, 4), torch.rand(50), 'integer'),
        (torch.randn(50, 4), torch.zeros(50, dtype=torch.long), '2 distinct'),
        (torch.randn(50, 4), torch.arange(50) % 2 - 1, 'negative'),
        (torch.randn(5, 4), torch.arange(5) % 2, 'too few'),
    ],
)
def test_bad_inputs_raise(z, y, match):
    with pytest.raises(GCLDataError, match=match):
        evaluate_node_classification(z, y, repeats=1)


def test_nan_rows_raise_with_count():
    z, y = separable(num_nodes=100)
    z[[3, 7]] = math.nan
    z[9, 0] = math.inf
    with pytest.raises(GCLDataError, match='3 of 100 rows'):
        evaluate_node_classification(z, y)


def test_protocol_and_split_errors():
    z, y = separable(num_nodes=100)
    with pytest.raises(GCLConfigError, match='unknown protocol'):
        evaluate_node_classification(z, y, protocol='nope')
    with pytest.raises(GCLDataError, match='needs splits'):
        evaluate_node_classification(z, y, protocol='public')
    split = {
        'train': torch.arange(10),
        'valid': torch.arange(10, 20),
        'test': torch.arange(20, 100),
    }
    with pytest.raises(GCLConfigError, match='own random splits'):
        evaluate_node_classification(z, y, splits=split)
    with pytest.raises(GCLDataError, match='no nodes'):
        evaluate_node_classification(
            z, y, protocol='public', splits={**split, 'valid': torch.tensor([], dtype=torch.long)}
        )
    with pytest.raises(GCLDataError, match='lacks'):
        evaluate_node_classification(z, y, protocol='public', splits={'train': split['train']})
    with pytest.raises(GCLDataError, match='ids 0..99'):
        evaluate_node_classification(
            z, y, protocol='public', splits={**split, 'test': torch.tensor([5, 100])}
        )
    with pytest.raises(GCLConfigError, match='repeats'):
        evaluate_node_classification(z, y, repeats=0)
