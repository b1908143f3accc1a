"""PamC's meta-node block loss and SCGC*'s dense loss (ALGORITHMS.md §5.2, §5.6)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.testing import assert_close

from gcl.losses import PamCLoss, SCGCLoss, pamc_block_loss, scgc_dense_loss


def _problem(seed: int = 0, n: int = 25) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 4, generator=g, dtype=torch.float64, requires_grad=True)
    adj = (torch.rand(n, n, generator=g) < 0.2).double()
    adj = ((adj + adj.T) > 0).double()
    adj.fill_diagonal_(1.0)
    adj = adj / adj.sum(1, keepdim=True)                                   # D^-1 (A + I)
    return z, adj, torch.randint(0, 4, (n,), generator=g)


def _dense_reference(z: torch.Tensor, adj: torch.Tensor, assignment: torch.Tensor,
                     tau: float) -> torch.Tensor:
    """§5.2 with dense matrices and a one-hot assignment matrix (the code's form)."""
    unit = F.normalize(z, dim=1)
    cos = unit @ unit.T * (1 - torch.eye(z.size(0), dtype=z.dtype))
    positives = (adj * torch.exp(tau * cos)).sum(1)
    one_hot = F.one_hot(assignment).to(z.dtype)                            # [N, K']
    meta = one_hot.T @ z
    meta_unit = meta / meta.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sim = meta_unit @ meta_unit.T * (1 - torch.eye(meta.size(0), dtype=z.dtype))
    negatives = torch.exp(tau * sim).sum(1)
    return -torch.log(positives + 1e-10).mean() + torch.log(negatives + 1e-10).mean()


def test_block_loss_equals_dense_reference() -> None:
    for seed in range(3):
        z, adj, assignment = _problem(seed)
        index = adj.nonzero().T
        weight = adj[index[0], index[1]]
        out = pamc_block_loss(z, index, weight, assignment, tau=0.5)
        ref = _dense_reference(z, adj, assignment, 0.5)
        assert_close(out, ref, rtol=1e-6, atol=1e-6)
        assert_close(torch.autograd.grad(out, z)[0], torch.autograd.grad(ref, z)[0],
                     rtol=1e-6, atol=1e-6)


def test_empty_cluster_gives_no_nan() -> None:
    """An empty cluster below the largest used index (spec 5.6, trap 2): finite loss, grads."""
    z, adj, _ = _problem(4)
    assignment = torch.zeros(z.size(0), dtype=torch.long)
    assignment[::2] = 3                                                    # clusters 1, 2 empty
    index = adj.nonzero().T
    loss = PamCLoss(tau=1.0)(z, positive_index=index, positive_weight=adj[index[0], index[1]],
                             assignment=assignment)
    assert torch.isfinite(loss)
    grad = torch.autograd.grad(loss, z)[0]
    assert torch.isfinite(grad).all()
    assert_close(loss, _dense_reference(z, adj, assignment, 1.0), rtol=1e-6, atol=1e-6)


def test_scgc_dense_loss_formula() -> None:
    z, adj, _ = _problem(5)
    unit = F.normalize(z, dim=1)
    sim = torch.exp(0.25 * unit @ unit.T * (1 - torch.eye(z.size(0), dtype=z.dtype)))
    ref = -torch.log((adj * sim).sum(1) / sim.sum(1) + 1e-8).mean()
    assert_close(scgc_dense_loss(z, adj, 0.25), ref)
    assert_close(SCGCLoss(0.25)(z, adjacency=adj), ref)


def test_self_term_always_in_positives() -> None:
    """With only self pairs, P_i = A_r[i, i] (c_ii := 0), independent of z (spec 5.6, trap 3)."""
    z, _, assignment = _problem(6, n=10)
    index = torch.arange(10).repeat(2, 1)
    weight = torch.full((10,), 0.5, dtype=torch.float64)
    a = pamc_block_loss(z, index, weight, assignment, tau=0.5)
    assert_close(a, _dense_reference(z, torch.eye(10, dtype=z.dtype) * 0.5, assignment, 0.5))
    positives_only = a - _dense_reference(z, torch.eye(10, dtype=z.dtype), assignment, 0.5)
    assert_close(positives_only, -torch.log(torch.tensor(0.5 + 1e-10, dtype=torch.float64))
                 + torch.log(torch.tensor(1 + 1e-10, dtype=torch.float64)))
