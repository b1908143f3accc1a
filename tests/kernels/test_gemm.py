"""gcl.kernels.gemm: numpy's BLAS gives torch's products, in place, with torch's thread count."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from gcl.kernels import blockwise_log_denominators, dense_log_denominators, gemm


@pytest.fixture(autouse=True)
def _fresh_machine_check():
    yield
    gemm.machine_prefers_numpy.cache_clear()      # tests below monkeypatch what it reads


def _rand(*shape: int, dtype: torch.dtype = torch.float32, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_mm_matches_torch_and_writes_into_out(dtype: torch.dtype) -> None:
    a, b = _rand(37, 9, dtype=dtype), _rand(50, 9, dtype=dtype, seed=1)
    out = torch.full((37, 50), float('nan'), dtype=dtype)
    with gemm.use_cpu_gemm('numpy'):
        result = gemm.gemm_mm(a, b.T, out=out)               # a transposed operand
        fresh = gemm.gemm_mm(a, b.T)
    assert result.data_ptr() == out.data_ptr()
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert_close(out, a @ b.T, rtol=tol, atol=tol)
    assert_close(fresh, a @ b.T, rtol=tol, atol=tol)


def test_addmm_accumulates_into_views_with_strided_operands() -> None:
    """The kernel's shapes: a row slice of the gradient, a column slice of a block, transposed."""
    m, x = _rand(8, 30), _rand(30, 5, seed=1)
    grad = _rand(30, 5, seed=2)
    expected = grad.clone()
    expected[12:].addmm_(m[:, 12:].T, x[:8], alpha=0.25)
    with gemm.use_cpu_gemm('numpy'):
        view = grad[12:]
        returned = gemm.gemm_addmm_(view, m[:, 12:].T, x[:8], 0.25)
    assert returned.data_ptr() == view.data_ptr()
    assert_close(grad, expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(grad[:12], _rand(30, 5, seed=2)[:12])   # rows outside the view untouched


def test_torch_backend_is_torch_bit_for_bit() -> None:
    a, b, c = _rand(16, 7), _rand(7, 11, seed=1), _rand(16, 11, seed=2)
    with gemm.use_cpu_gemm('torch'):
        assert torch.equal(gemm.gemm_mm(a, b), torch.mm(a, b))
        expected = c.clone().addmm_(a, b, alpha=0.5)
        assert torch.equal(gemm.gemm_addmm_(c.clone(), a, b, 0.5), expected)


def test_unrouted_inputs_keep_torch() -> None:
    """Half precision and tensors that record a graph stay with torch (numpy would drop it)."""
    a = _rand(4, 3).requires_grad_()
    b = _rand(3, 5, seed=1)
    with gemm.use_cpu_gemm('numpy'):
        out = gemm.gemm_mm(a, b)
        assert out.grad_fn is not None
        out.sum().backward()
        assert a.grad is not None
        half = gemm.gemm_mm(a.detach().bfloat16(), b.bfloat16())
    assert half.dtype == torch.bfloat16


def test_backend_choice_env_and_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(gemm.ENV_VAR, 'torch')
    assert gemm.cpu_gemm_backend() == 'torch'
    monkeypatch.setenv(gemm.ENV_VAR, 'NumPy')
    assert gemm.cpu_gemm_backend() == 'numpy'
    with gemm.use_cpu_gemm('torch'):                         # the context wins over the env
        assert gemm.cpu_gemm_backend() == 'torch'
    assert gemm.cpu_gemm_backend() == 'numpy'
    monkeypatch.setenv(gemm.ENV_VAR, 'openblas')
    with pytest.raises(ValueError, match='GCL_CPU_GEMM'):
        gemm.cpu_gemm_backend()
    with pytest.raises(ValueError, match='auto, torch, numpy'):
        with gemm.use_cpu_gemm('mkl'):
            pass
    monkeypatch.setenv(gemm.ENV_VAR, 'auto')
    before = torch.get_num_threads()
    try:
        for vendor, blas, threads, expected in [('AuthenticAMD', 'scipy-openblas', 1, 'numpy'),
                                                ('AuthenticAMD', 'scipy-openblas', 2, 'torch'),
                                                ('GenuineIntel', 'scipy-openblas', 1, 'torch'),
                                                ('AuthenticAMD', 'mkl', 1, 'torch')]:
            monkeypatch.setattr(gemm, '_cpu_vendor', lambda v=vendor: v)
            monkeypatch.setattr(gemm, '_numpy_blas', lambda b=blas: b)
            gemm.machine_prefers_numpy.cache_clear()
            torch.set_num_threads(threads)
            if not torch.backends.mkl.is_available():
                expected = 'torch'
            assert gemm.cpu_gemm_backend() == expected, (vendor, blas, threads)
            with gemm.use_cpu_gemm('numpy'):                 # explicit: any thread count
                assert gemm.cpu_gemm_backend() == 'numpy'
    finally:
        torch.set_num_threads(before)


def test_numpy_pool_follows_torch_threads(monkeypatch) -> None:
    threadpoolctl = pytest.importorskip('threadpoolctl')
    monkeypatch.setenv('OMP_WAIT_POLICY', 'PASSIVE')   # not the pools-fight warning (test_omp.py)
    before = torch.get_num_threads()
    a, b = _rand(8, 4), _rand(4, 8, seed=1)
    try:
        for wanted in (1, 2):
            torch.set_num_threads(wanted)
            with gemm.use_cpu_gemm('numpy'):
                gemm.gemm_mm(a, b)
            pools = [p for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']
            assert pools and all(p['num_threads'] == wanted for p in pools)
    finally:
        torch.set_num_threads(before)


def _grads(u0: torch.Tensor, v0: torch.Tensor, lw0: torch.Tensor | None,
           groups: torch.Tensor | None, kernel=blockwise_log_denominators, **kw: object):
    u, v = u0.clone().requires_grad_(), v0.clone().requires_grad_()
    lw = lw0.clone().requires_grad_() if lw0 is not None else None
    lse1, lse2 = kernel(F.normalize(u, dim=1), F.normalize(v, dim=1), 0.4, log_weights=lw,
                        groups=groups, **kw)
    loss = 1.3 * lse1.sum() + (0.7 * lse2.sum() if lse2 is not None else 0.0)
    leaves = [u, v] + ([lw] if lw is not None else [])
    return [lse1.detach()] + list(torch.autograd.grad(loss, leaves))


@pytest.mark.parametrize('intra,sym,positive', itertools.product([True, False], repeat=3))
@pytest.mark.parametrize('extra', ['plain', 'weights', 'groups'])
@pytest.mark.parametrize('cache', [True, False])
def test_kernel_backends_agree_with_each_other_and_dense(intra: bool, sym: bool, positive: bool,
                                                         extra: str, cache: bool) -> None:
    """float32, as in training: numpy and torch within rounding, both close to the dense form."""
    switches = dict(intra_view=intra, symmetric=sym, positive_in_denominator=positive)
    u, v = _rand(61, 8), _rand(61, 8, seed=1)
    lw = _rand(61, seed=2) if extra == 'weights' else None
    groups = (torch.randint(0, 3, (2, 61), generator=torch.Generator().manual_seed(3))
              if extra == 'groups' else None)
    runs = {}
    for backend in ('torch', 'numpy'):
        with gemm.use_cpu_gemm(backend):
            runs[backend] = _grads(u, v, lw, groups, block_size=16, cache=cache, **switches)
    dense = _grads(u.double(), v.double(), lw.double() if lw is not None else None, groups,
                   dense_log_denominators, **switches)
    for a, b, ref in zip(runs['numpy'], runs['torch'], dense):
        assert_close(a, b, rtol=1e-5, atol=1e-5)
        assert_close(a.double(), ref, rtol=1e-4, atol=1e-4)


def test_stable_path_backends_agree() -> None:
    """Unnormalised wide logits take the max-subtracting path; numpy serves it too."""
    u, v = _rand(40, 5) * 6, _rand(40, 5, seed=1) * 6
    out = {}
    for backend in ('torch', 'numpy'):
        a, b = u.clone().requires_grad_(), v.clone().requires_grad_()
        with gemm.use_cpu_gemm(backend):
            lse1, lse2 = blockwise_log_denominators(a, b, 0.1, block_size=16)
            (lse1.sum() + lse2.sum()).backward()
        out[backend] = (lse1.detach(), lse2.detach(), a.grad, b.grad)
    dense = dense_log_denominators(u.double(), v.double(), 0.1)
    assert_close(out['numpy'][0].double(), dense[0], rtol=1e-5, atol=1e-4)
    for a, b in zip(out['numpy'], out['torch']):
        assert_close(a, b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize('bias', [True, False])
def test_linear_matches_f_linear_values_and_gradients(bias: bool) -> None:
    x, w = _rand(23, 7), _rand(5, 7, seed=1)
    b = _rand(5, seed=2) if bias else None
    out = {}
    for backend in ('torch', 'numpy'):
        leaves = [t.clone().requires_grad_() for t in (x, w) + ((b,) if bias else ())]
        with gemm.use_cpu_gemm(backend):
            y = gemm.gemm_linear(*leaves)
            (y * _rand(23, 5, seed=3)).sum().backward()
        out[backend] = [y.detach()] + [t.grad for t in leaves]
    for a, ref in zip(out['numpy'], out['torch']):
        assert_close(a, ref, rtol=1e-5, atol=1e-5)


def test_linear_twice_differentiable_and_unrouted_cases() -> None:
    x = _rand(6, 4, dtype=torch.float64).requires_grad_()
    w = _rand(3, 4, dtype=torch.float64, seed=1).requires_grad_()
    b = _rand(3, dtype=torch.float64, seed=2).requires_grad_()
    with gemm.use_cpu_gemm('numpy'):
        assert torch.autograd.gradcheck(gemm.gemm_linear, (x, w, b))
        assert torch.autograd.gradgradcheck(gemm.gemm_linear, (x, w, b))
        batched = gemm.gemm_linear(_rand(2, 6, 4), _rand(3, 4, seed=1))   # 3-D: F.linear
        assert batched.shape == (2, 6, 3)


def test_encoder_and_projection_agree_across_backends() -> None:
    from gcl.encoders.gcn import GCNEncoder
    from gcl.encoders.projection import ProjectionHead

    torch.manual_seed(0)
    enc, head = GCNEncoder(12, 8, propagation='csr'), ProjectionHead(8, 6)
    x = _rand(30, 12)
    edge_index = torch.randint(0, 30, (2, 90), generator=torch.Generator().manual_seed(4))
    out = {}
    for backend in ('torch', 'numpy'):
        enc.zero_grad()
        head.zero_grad()
        with gemm.use_cpu_gemm(backend):
            z = head(enc(x, edge_index))
            z.square().sum().backward()
        out[backend] = [z.detach()] + [p.grad.clone() for p in
                                       (*enc.parameters(), *head.parameters())]
    for a, ref in zip(out['numpy'], out['torch']):
        assert_close(a, ref, rtol=1e-4, atol=1e-5)


def test_overflow_propagates_silently_like_torch(monkeypatch) -> None:
    import warnings

    monkeypatch.setenv('OMP_WAIT_POLICY', 'PASSIVE')   # not the pools-fight warning (test_omp.py)
    a = torch.full((3, 2), 3e38)
    with gemm.use_cpu_gemm('numpy'), warnings.catch_warnings():
        warnings.simplefilter('error')                       # a numpy RuntimeWarning would raise
        out = gemm.gemm_mm(a, a.T)
        acc = gemm.gemm_addmm_(torch.zeros(3, 3), a, a.T, 1.0)
    assert torch.isinf(out).all() and torch.isinf(acc).all()


def test_cpuinfo_fields_match_whole_and_the_generation_names_the_extensions(monkeypatch,
                                                                          tmp_path) -> None:
    info = tmp_path / 'cpuinfo'
    info.write_text('processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n'
                    'model\t\t: 17\nmodel name\t: AMD EPYC\n'
                    'flags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16\n')
    monkeypatch.setattr(gemm, '_CPUINFO', str(info))
    assert gemm.cpuinfo('model') == '17' and gemm.cpuinfo('model name') == 'AMD EPYC'
    assert gemm.cpu_generation() == '25/17 avx2 fma avx512f avx512_bf16'
    info.write_text(info.read_text().replace('model\t\t: 17', 'model\t\t: 1')
                    .replace(' avx512f avx512_bf16', ''))
    assert gemm.cpu_generation() == '25/1 avx2 fma'
    monkeypatch.setattr(gemm, '_CPUINFO', str(tmp_path / 'missing'))
    assert gemm.cpu_generation() == '' and gemm.cpuinfo('vendor_id') == ''
