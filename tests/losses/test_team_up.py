"""Team-up (ALGORITHMS.md §4.4): the official shifted-similarity form, the candidate-weighted
form it reduces to, the gamma ramp, row blocks, gradients and the dense size limit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gcl.errors import GCLConfigError, GCLDataError
from gcl.losses import TeamUp, info_nce, team_up
from gcl.losses.team_up import team_up_gamma
from gcl.registry import resolve


def _official(h1, h2, s, gamma, tau):
    """CSGCL ``src/model.py`` ``_team_up`` (shifted similarity), both directions averaged."""
    def one(z1, z2):
        def sim(a, b):
            return F.normalize(a) @ F.normalize(b).t()

        def temp(x):
            return torch.exp(x / tau)

        shift = gamma * s + gamma * s.unsqueeze(1)             # s_i + s_j
        refl = temp(sim(z1, z1) + shift)
        between = temp(sim(z1, z2) + shift)
        return -torch.log(between.diag() / (refl.sum(1) + between.sum(1) - refl.diag()))
    return (0.5 * (one(h1, h2) + one(h2, h1))).mean()


def _weighted(h1, h2, s, gamma, tau):
    """The candidate-weighted InfoNCE, omega_j = exp(gamma s_j / tau), with explicit sums."""
    u, v = F.normalize(h1), F.normalize(h2)
    omega = torch.exp(gamma * s / tau)
    n = u.size(0)

    def one(a, b):
        total = 0.0
        for i in range(n):
            num = omega[i] * torch.exp(a[i] @ b[i] / tau)
            den = sum(omega[j] * torch.exp(a[i] @ b[j] / tau) for j in range(n))
            den = den + sum(omega[j] * torch.exp(a[i] @ a[j] / tau) for j in range(n) if j != i)
            total = total - torch.log(num / den)
        return total / n
    return 0.5 * (one(u, v) + one(v, u))


def _inputs(seed, n=6, d=3):
    generator = torch.Generator().manual_seed(seed)
    h1 = torch.randn(n, d, generator=generator, dtype=torch.float64, requires_grad=True)
    h2 = torch.randn(n, d, generator=generator, dtype=torch.float64, requires_grad=True)
    s = 0.2 * torch.randn(n, generator=generator, dtype=torch.float64)
    return h1, h2, s


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('gamma', [0.0, 0.37, 5.0])
@pytest.mark.parametrize('batch_size', [None, 4, 5])
def test_matches_official_shifted_form_values_and_gradients(seed, gamma, batch_size):
    h1, h2, s = _inputs(seed)
    tau = 0.4
    ref = _official(h1, h2, s, gamma, tau)
    val = team_up(h1, h2, s, gamma, tau, batch_size=batch_size)
    torch.testing.assert_close(val, ref, rtol=1e-10, atol=1e-10)
    grads = torch.autograd.grad(val, (h1, h2))
    grads_ref = torch.autograd.grad(ref, (h1, h2))
    for g, g_ref in zip(grads, grads_ref):
        torch.testing.assert_close(g, g_ref, rtol=1e-9, atol=1e-10)


def test_anchor_term_cancels_into_candidate_weights():
    h1, h2, s = _inputs(5)
    for gamma in (0.0, 1.3):
        weighted = _weighted(h1, h2, s, gamma, 0.5)
        official = _official(h1, h2, s, gamma, 0.5)
        torch.testing.assert_close(weighted, official, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(team_up(h1, h2, s, gamma, 0.5), weighted,
                                   rtol=1e-10, atol=1e-10)
    # shifting every strength by a constant only rescales all weights: same loss
    torch.testing.assert_close(team_up(h1, h2, s + 0.3, 1.3, 0.5), team_up(h1, h2, s, 1.3, 0.5))


def test_gamma_zero_is_grace_info_nce():
    h1, h2, s = _inputs(3, n=9, d=4)
    torch.testing.assert_close(team_up(h1, h2, s, 0.0, 0.7), info_nce(h1, h2, 0.7))


def test_gradcheck():
    h1, h2, s = _inputs(4)
    assert torch.autograd.gradcheck(lambda a, b: team_up(a, b, s, 0.8, 0.5), (h1, h2))
    assert torch.autograd.gradcheck(lambda a, b: team_up(a, b, s, 0.8, 0.5, batch_size=4),
                                    (h1, h2))


def test_gamma_ramp():
    assert team_up_gamma(1, 0, 1.0) == pytest.approx(0.01)
    assert team_up_gamma(2000, 2000, 5.0) == 0.0
    assert team_up_gamma(1500, 2000, 5.0) == 0.0
    assert team_up_gamma(2050, 2000, 5.0) == pytest.approx(0.5)
    assert team_up_gamma(2400, 2000, 5.0) == pytest.approx(4.0)
    assert team_up_gamma(3000, 2000, 5.0) == 5.0
    loss = TeamUp(tau=0.5, t0=10, gamma_max=2.0)
    assert loss.gamma(10) == 0.0 and loss.gamma(160) == pytest.approx(1.5)


def test_module_context_forms_and_ramp():
    h1, h2, _ = _inputs(6, n=8)
    communities = torch.tensor([0, 0, 1, 1, 1, 2, 2, 0])
    strength = torch.tensor([0.3, -0.05, 0.1], dtype=torch.float64)
    loss = TeamUp(tau=0.5, t0=100, gamma_max=1.0)
    by_nodes = loss(h1, h2, epoch=150, node_strength=strength[communities])
    by_communities = loss(h1, h2, epoch=150, communities=communities, strength=strength)
    torch.testing.assert_close(by_nodes, by_communities)
    torch.testing.assert_close(by_nodes, team_up(h1, h2, strength[communities], 0.5, 0.5))
    # before t0 it is plain InfoNCE
    torch.testing.assert_close(loss(h1, h2, epoch=100, node_strength=strength[communities]),
                               info_nce(h1, h2, 0.5))
    assert resolve('loss', 'team_up') is TeamUp and resolve('loss', 'Team-Up') is TeamUp


def test_errors():
    h1, h2, s = _inputs(0)
    loss = TeamUp(tau=0.5)
    with pytest.raises(GCLDataError, match='epoch'):
        loss(h1, h2, node_strength=s)
    with pytest.raises(GCLDataError, match='community strengths'):
        loss(h1, h2, epoch=1)
    with pytest.raises(GCLDataError, match='node_strength must have shape'):
        team_up(h1, h2, s[:3], 1.0)
    with pytest.raises(GCLDataError, match='same'):
        team_up(h1, h2[:4], s, 1.0)
    with pytest.raises(GCLConfigError, match='tau'):
        TeamUp(tau=0.0)
    with pytest.raises(GCLConfigError, match='mode'):
        TeamUp(mode='fast')
    with pytest.raises(GCLConfigError, match='batch_size'):
        team_up(h1, h2, s, 1.0, batch_size=0)


@pytest.mark.parametrize('mode', ['dense', 'blockwise'])
def test_kernel_modes_agree_with_official_form(mode):
    h1, h2, s = _inputs(8, n=11, d=5)
    ref = _official(h1, h2, s, 1.7, 0.3)
    val = team_up(h1, h2, s, 1.7, 0.3, mode=mode, batch_size=4 if mode == 'blockwise' else None)
    torch.testing.assert_close(val, ref, rtol=1e-10, atol=1e-10)
    grads = torch.autograd.grad(val, (h1, h2))
    for g, g_ref in zip(grads, torch.autograd.grad(ref, (h1, h2))):
        torch.testing.assert_close(g, g_ref, rtol=1e-9, atol=1e-10)
    loss = TeamUp(tau=0.3, t0=0, gamma_max=1.7, mode=mode, batch_size=3)
    torch.testing.assert_close(loss(h1, h2, epoch=500, node_strength=s), ref)
