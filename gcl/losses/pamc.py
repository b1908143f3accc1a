r"""PamC's meta-node block contrastive loss and the dense SCGC* loss it approximates.

ALGORITHMS.md §5.2 (Kulatilleke, Portmann, Chandra, arXiv 2209.14067; code ``gayanku/PAMC``
``NcontrastCCSP`` and ``gayanku/SCGC`` ``Ncontrast``). With :math:`c_{ij} = \cos(z_i, z_j)`,
:math:`c_{ii} := 0`, and the influence positives :math:`\hat A_r = \sum_{k=1}^r \hat A^k`:

.. math::
    P_i = \sum_{j:\,\hat A_r[i,j] \neq 0} \hat A_r[i,j]\, e^{\tau c_{ij}},\qquad
    \tilde\mu_k = \sum_{i:\,\pi_i = k} z_i,\qquad
    \mathrm{Neg}_k = \sum_l e^{\tau \cos(\tilde\mu_k, \tilde\mu_l)}\ (\text{diagonal} := 0)

.. math::
    L_{PamC} = -\frac{1}{N}\sum_i \log(P_i + 10^{-10})
               + \frac{1}{K'}\sum_k \log(\mathrm{Neg}_k + 10^{-10})

:math:`\tau` **multiplies** the cosine (an inverse temperature), as in the code. The positive sum
runs over the non-zeros of :math:`\hat A_r` (a scatter, :math:`O(\mathrm{nnz}\cdot d)`) and the
negatives over the ``K x K`` meta-nodes (segment sums, :math:`O(Nd + K^2 d)`); nothing is
``N x N``. :math:`K' = \max_i \pi_i + 1`, as ``one_hot(argmax q)`` gives in the code; an empty
cluster below that index has a zero meta-node, whose cosine is taken as 0 instead of 0/0 (§5.6,
trap 2).

SCGC* (the dense baseline):

.. math::
    L_{SCGC*} = -\frac{1}{N}\sum_i \log\Big(\frac{\sum_j \hat A_r[i,j]\, e^{\tau c_{ij}}}
                                              {\sum_j e^{\tau c_{ij}}} + 10^{-8}\Big)

which needs the ``[N, N]`` similarity matrix and the dense :math:`\hat A_r`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter

from gcl.errors import GCLDataError
from gcl.kernels.segment import prototype_similarity, segment_sum

__all__ = ['PamCLoss', 'SCGCLoss', 'pamc_block_loss', 'scgc_dense_loss']


def pamc_block_loss(z: Tensor, positive_index: Tensor, positive_weight: Tensor,
                    assignment: Tensor, tau: float = 0.5) -> Tensor:
    r""":math:`L_{PamC}` (module docstring).

    Args:
        z: embeddings.
        positive_index: the non-zeros ``(i, j)`` of :math:`\hat A_r` (self pairs included).
        positive_weight: their values :math:`\hat A_r[i, j]`.
        assignment: hard cluster ids :math:`\pi_i = \arg\max_k q_{ik}` (detached).
        tau: the inverse temperature (multiplies the cosine).

    Shapes:
        - **input:** ``z [N, d]``, ``positive_index [2, nnz]``, ``positive_weight [nnz]``,
          ``assignment [N]``; **output:** scalar
    """
    n = z.size(0)
    if assignment.shape != (n,):
        raise GCLDataError(f'assignment must be [N] = [{n}], got {list(assignment.shape)}')
    unit = F.normalize(z, dim=1)                                         # [N, d]
    row, col = positive_index
    cos = (unit[row] * unit[col]).sum(dim=1)                             # [nnz]
    cos = torch.where(row == col, torch.zeros_like(cos), cos)            # c_ii := 0
    positives = scatter(positive_weight.to(z.dtype) * torch.exp(tau * cos), row, dim=0,
                        dim_size=n, reduce='sum')                        # [N]
    k = int(assignment.max()) + 1
    meta = segment_sum(z, assignment.detach(), k)                        # [K', d]
    sim = prototype_similarity(meta)                                     # [K', K']
    sim = sim * (1.0 - torch.eye(k, dtype=sim.dtype, device=sim.device))  # C_kk := 0
    negatives = torch.exp(tau * sim).sum(dim=1)                          # [K']
    return -torch.log(positives + 1e-10).mean() + torch.log(negatives + 1e-10).mean()


def scgc_dense_loss(z: Tensor, adjacency: Tensor, tau: float = 0.25) -> Tensor:
    r""":math:`L_{SCGC*}` with the dense influence matrix (module docstring).

    Shapes:
        - **input:** ``z [N, d]``, ``adjacency [N, N]`` (dense :math:`\hat A_r`);
          **output:** scalar
    """
    n = z.size(0)
    if adjacency.shape != (n, n):
        raise GCLDataError(f'adjacency must be dense [N, N] = [{n}, {n}], got '
                           f'{list(adjacency.shape)}')
    unit = F.normalize(z, dim=1)
    sim = unit @ unit.T                                                  # [N, N]
    sim = sim * (1.0 - torch.eye(n, dtype=sim.dtype, device=sim.device))
    sim = torch.exp(tau * sim)
    ratio = (adjacency.to(sim.dtype) * sim).sum(dim=1) / sim.sum(dim=1)
    return -torch.log(ratio + 1e-8).mean()


class PamCLoss(nn.Module):
    """PamC's meta-node block loss as a module: ``loss(z, positive_index=, positive_weight=,
    assignment=)``; see :func:`pamc_block_loss`."""

    name = 'pamc'
    aliases = ('pamc-block', 'meta-node')

    def __init__(self, tau: float = 0.5) -> None:
        super().__init__()
        self.tau = tau

    def forward(self, z: Tensor, h2: Tensor | None = None, *, positive_index: Tensor,
                positive_weight: Tensor, assignment: Tensor, **context: object) -> Tensor:
        return pamc_block_loss(z, positive_index, positive_weight, assignment, self.tau)

    def extra_repr(self) -> str:
        return f'tau={self.tau}'


class SCGCLoss(nn.Module):
    """SCGC*'s dense influence-augmented contrastive loss: ``loss(z, adjacency=)``; see
    :func:`scgc_dense_loss`."""

    name = 'scgc'
    aliases = ('scgc-dense', 'ncontrast')

    def __init__(self, tau: float = 0.25) -> None:
        super().__init__()
        self.tau = tau

    def forward(self, z: Tensor, h2: Tensor | None = None, *, adjacency: Tensor,
                **context: object) -> Tensor:
        return scgc_dense_loss(z, adjacency, self.tau)

    def extra_repr(self) -> str:
        return f'tau={self.tau}'
