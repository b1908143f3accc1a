"""ReSC equals a dense reference written like the official gCooL code (ALGORITHMS.md §3.2d)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gcl.errors import GCLConfigError, GCLDataError
from gcl.losses import ReSC, resc_loss
from gcl.registry import resolve


def reference(h1, h2, index1, index2, k, tau, similarity, gamma, reweight):
    """Loops and N x K x D stacks, as ``community_contrast`` in lblaoke/gCooL src/model.py."""
    def protos(h, index):
        out = []
        for i in range(k):
            members = h[index == i]
            out.append(members.sum(0) / members.shape[0] if members.shape[0] > 0
                       else torch.zeros(h.shape[1], dtype=h.dtype))
        return torch.stack(out)

    def sim(x1, x2):
        if similarity == 'cos':
            return torch.exp(x1 @ x2.T / tau)
        sub = torch.stack(len(x2) * [x1]).transpose(0, 1) - torch.stack(len(x1) * [x2])
        return torch.exp(-(sub * sub).sum(2) / (tau * tau))

    def weights(c):
        ext = torch.stack([c] * len(c))
        sub = ext - ext.transpose(0, 1)
        return torch.exp(-gamma * (sub * sub).sum(2))

    c1, c2 = protos(h1, index1).detach(), protos(h2, index2).detach()
    s12, s21 = sim(h1, c2), sim(h2, c1)
    ws12 = s12 * weights(c2)[index2] if reweight else s12
    ws21 = s21 * weights(c1)[index1] if reweight else s21
    self12 = s12.gather(1, index2[:, None]).squeeze(-1)
    self21 = s21.gather(1, index1[:, None]).squeeze(-1)
    loss12 = -torch.log(self12) + torch.log(
        self12 + ws12.sum(1) - ws12.gather(1, index2[:, None]).squeeze(-1))
    loss21 = -torch.log(self21) + torch.log(
        self21 + ws21.sum(1) - ws21.gather(1, index1[:, None]).squeeze(-1))
    return ((loss12 + loss21) / 2).mean()


def case(seed, n=37, d=6, k=7):
    gen = torch.Generator().manual_seed(seed)
    h1 = F.normalize(torch.randn(n, d, generator=gen, dtype=torch.float64), dim=1)
    h2 = F.normalize(torch.randn(n, d, generator=gen, dtype=torch.float64), dim=1)
    pi1 = torch.randint(0, k - 1, (n,), generator=gen)   # community k-1 stays empty
    pi2 = torch.randint(0, k, (n,), generator=gen)
    return h1, h2, pi1, pi2, k


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('similarity,reweight,gamma', [
    ('cos', False, 8e-5), ('rbf', True, 8e-5), ('rbf', True, 2.0), ('cos', True, 1.5),
    ('rbf', False, 0.0)])
def test_equals_reference_values_and_gradients(seed, similarity, reweight, gamma):
    h1, h2, pi1, pi2, k = case(seed)
    a1, a2 = h1.clone().requires_grad_(), h2.clone().requires_grad_()
    b1, b2 = h1.clone().requires_grad_(), h2.clone().requires_grad_()
    ours = resc_loss(a1, a2, pi1, pi2, k, 0.4, similarity=similarity, gamma=gamma,
                     reweight=reweight)
    ref = reference(b1, b2, pi1, pi2, k, 0.4, similarity, gamma, reweight)
    torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-10)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(a1.grad, b1.grad, rtol=1e-7, atol=1e-10)
    torch.testing.assert_close(a2.grad, b2.grad, rtol=1e-7, atol=1e-10)


def test_as_coded_reweighting_default():
    h1, h2, pi1, pi2, k = case(0)
    rbf = resc_loss(h1, h2, pi1, pi2, k, 0.4, similarity='rbf', gamma=3.0)
    torch.testing.assert_close(rbf, reference(h1, h2, pi1, pi2, k, 0.4, 'rbf', 3.0, True))
    cos = resc_loss(h1, h2, pi1, pi2, k, 0.4, similarity='cos', gamma=3.0)
    torch.testing.assert_close(cos, reference(h1, h2, pi1, pi2, k, 0.4, 'cos', 3.0, False))


def test_gradcheck_small():
    h1, h2, pi1, pi2, k = case(2, n=6, d=3, k=3)
    h1.requires_grad_()
    h2.requires_grad_()
    # with prototypes detached finite differences would see them move: check the full gradient
    assert torch.autograd.gradcheck(
        lambda a, b: resc_loss(a, b, pi1, pi2, k, 0.5, similarity='rbf', gamma=0.7,
                               detach_prototypes=False), (h1, h2))


def test_registered_module_and_inputs():
    assert resolve('loss', 'ReSC') is ReSC
    h1, h2, pi1, pi2, k = case(1)
    loss = ReSC(tau=0.4)
    expected = resc_loss(h1, h2, pi1, pi2, k, 0.4)
    torch.testing.assert_close(loss(h1, h2, communities=(pi1, pi2), num_communities=k), expected)
    # soft assignments: argmax is taken, K from their width
    soft1 = F.one_hot(pi1, k).double() + 0.01
    soft2 = F.one_hot(pi2, k).double() + 0.01
    torch.testing.assert_close(loss(h1, h2, communities=(soft1, soft2)), expected)
    # one shared assignment (e.g. from Louvain)
    shared = loss(h1, h2, communities=pi2)
    torch.testing.assert_close(shared, resc_loss(h1, h2, pi2, pi2, k, 0.4))


def test_errors():
    h1, h2, pi1, pi2, k = case(0)
    with pytest.raises(GCLDataError, match='outside 0..5'):
        resc_loss(h1, h2, pi1, pi2, k - 1, 0.4)
    with pytest.raises(GCLDataError, match=r'LongTensor \[37\]'):
        resc_loss(h1, h2, pi1[:-1], pi2, k, 0.4)
    with pytest.raises(GCLConfigError, match='cos or rbf'):
        resc_loss(h1, h2, pi1, pi2, k, 0.4, similarity='l2')
