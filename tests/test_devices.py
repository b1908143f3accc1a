"""The GPU paths: every method trains on the device, a model trained on the CPU embeds the same
graph to the same numbers there, the loss kernels match the dense reference there (values and
gradients), and ``run()`` evaluates all three tasks there.

Each test runs on ``cpu`` and ``cuda``. The ``cuda`` cases carry the ``cuda`` marker, which the
default test command deselects (CI has no GPU); ``python -m pytest -m cuda tests/test_devices.py``
runs them on a machine with one (``benchmarks/device/papers.sh`` does, before its runs). The
``cpu`` cases run everywhere, so the checks themselves are tested without a GPU.
"""

from __future__ import annotations

import math

import pytest
import torch

from gcl.kernels.blockwise import _fixed_shift, blockwise_log_denominators
from gcl.kernels.dense import dense_log_denominators

DEVICES = ['cpu', pytest.param('cuda', marks=[
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')])]


@pytest.mark.parametrize('device', DEVICES)
def test_method_trains_and_embeds_on(device, small_method_name, small_method, sbm_graph):
    model = small_method(small_method_name, 3).fit(sbm_graph, device=device)
    assert model.device_.type == device
    assert next(model.model_.parameters()).device.type == device
    assert len(model.history_) == 3
    assert all(math.isfinite(h['loss']) for h in model.history_)
    z = model.embed(sbm_graph)
    assert z.device.type == 'cpu' and z.size(0) == 60 and bool(torch.isfinite(z).all())


@pytest.mark.parametrize('device', DEVICES)
def test_a_cpu_trained_model_embeds_alike_on(device, small_method_name, small_method,
                                             sbm_graph, tmp_path):
    """Save on the CPU, load on ``device``: the encoder's propagation (CSR SpMM, sparse or dense
    features) and any community state give the CPU's embeddings to float32 rounding."""
    model = small_method(small_method_name, 2).fit(sbm_graph, device='cpu')
    reference = model.embed(sbm_graph)
    path = model.save(tmp_path / 'model.pt')
    loaded = type(model).load(path, sbm_graph, device=device)
    assert loaded.device_.type == device
    torch.testing.assert_close(loaded.embed(sbm_graph), reference, rtol=1e-4, atol=1e-5)


SWITCHES = [
    dict(intra_view=True, symmetric=True),                       # GRACE / GCA
    dict(intra_view=False, symmetric=False),                     # gCooL's node loss
    dict(intra_view=True, symmetric=True, weighted=True),        # Team-up
    dict(intra_view=True, symmetric=True, positive_in_denominator=False),   # DCL
]


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('switches', SWITCHES, ids=lambda s: '-'.join(f'{k}={v}' for k, v in
                                                                        s.items()))
@pytest.mark.parametrize('normalised', [True, False], ids=['fixed-shift', 'max-subtracting'])
def test_blockwise_equals_dense_on(device, switches, normalised):
    """Both blockwise paths (the fixed shift of normalised inputs, the running maximum of
    unnormalised ones with a wide spread) against the dense [N, N] reference on ``device``."""
    switches = dict(switches)
    weighted = switches.pop('weighted', False)
    generator = torch.Generator().manual_seed(0)
    n, d = 300, 16
    u = torch.randn(n, d, generator=generator, dtype=torch.float64)
    v = u + 0.3 * torch.randn(n, d, generator=generator, dtype=torch.float64)
    if normalised:
        u, v = torch.nn.functional.normalize(u, dim=1), torch.nn.functional.normalize(v, dim=1)
    else:
        u, v = 3.0 * u, 3.0 * v                      # logits spread past the fixed-shift limit
    assert (_fixed_shift(u, v, None, None, 0.5) is None) != normalised
    lw = (0.5 * torch.randn(n, generator=generator, dtype=torch.float64) if weighted else None)
    inputs = [t.to(device).requires_grad_() for t in (u, v)]
    log_weights = lw.to(device).requires_grad_() if weighted else None
    tau = 0.5

    def total(kernel, *extra):  # noqa: ANN001, ANN202
        lse1, lse2 = kernel(*inputs, tau, log_weights=log_weights, **switches, **dict(extra))
        out = lse1.sum() + (0.5 * lse2.sum() if lse2 is not None else 0.0)
        leaves = inputs + ([log_weights] if weighted else [])
        return out.detach(), torch.autograd.grad(out, leaves)

    value, grads = total(blockwise_log_denominators, ('block_size', 64))
    ref_value, ref_grads = total(dense_log_denominators)
    assert value.device.type == device
    torch.testing.assert_close(value, ref_value, rtol=1e-9, atol=1e-9)
    for grad, ref in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(grad, ref, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize('device', DEVICES)
def test_bfloat16_loss_products_stay_close_on(device):
    """``train.loss_precision: bfloat16`` on ``device``: the blockwise kernel's values and
    gradients within bfloat16 rounding of its float32 ones (tensor cores on a GPU)."""
    from gcl.kernels.gemm import loss_precision

    generator = torch.Generator().manual_seed(0)
    u = torch.nn.functional.normalize(torch.randn(600, 64, generator=generator), dim=1)
    v = torch.nn.functional.normalize(u + 0.5 * torch.randn(600, 64, generator=generator), dim=1)
    results = {}
    for precision in ('float32', 'bfloat16'):
        inputs = [t.to(device).requires_grad_() for t in (u, v)]
        with loss_precision(precision):
            lse1, lse2 = blockwise_log_denominators(*inputs, 0.5, block_size=128)
            out = lse1.square().sum() + lse2.square().sum()
            results[precision] = (lse1.detach(), torch.autograd.grad(out, inputs))
    (exact, exact_grads), (low, low_grads) = results['float32'], results['bfloat16']
    assert low.device.type == device and low.dtype == torch.float32
    torch.testing.assert_close(low, exact, rtol=0, atol=2e-2)
    assert not torch.equal(low, exact)
    for a, b in zip(exact_grads, low_grads, strict=True):
        assert ((b - a).norm() / a.norm()).item() < 2e-2


@pytest.mark.parametrize('device', DEVICES)
def test_run_evaluates_three_tasks_on(device, sbm_graph, tmp_path):
    from gcl.config import load_config
    from gcl.train.run import run

    config = load_config('gca', 'cora', overrides={'optim.epochs': 3, 'eval.repeats': 1,
                                                   'encoder.hidden': 16, 'seed': 0})
    result = run(config, data=sbm_graph, out_dir=tmp_path, device=device,
                 tasks=['node', 'cluster', 'link'], save_embeddings=False)
    records = {r['task']: r for r in result['records']}
    assert set(records) >= {'node', 'cluster', 'link'}
    assert all(r['device'].startswith(device) for r in records.values())
    for task in ('node', 'cluster', 'link'):           # the collapse check of each training
        assert set(records[task]['embedding']) == {'zero_rows', 'rankme', 'rankme_rows',
                                                   'collapsed'}
    assert 0.0 <= result['metrics']['node']['test_acc'] <= 1.0
    assert 0.0 <= result['metrics']['link']['test_auc'] <= 1.0
