r"""gCooL's soft community assignment and DeCA, Dense Community Aggregation, in sparse form.

gCooL (Li, Jing, Tong, WWW 2022; ALGORITHMS.md §3.2b-c) assigns nodes softly to ``K`` learnable
centres and rewards soft intra-community edge mass. The official code builds a dense
:math:`N \times N` adjacency every step (1.3 GB for Coauthor-CS); with
:math:`DF = R^\top \tilde A R` its objective is

.. math::
    \mathcal{L}_{DeCA} = \frac{\lambda \big(\sum_{k,l} DF_{kl} - \operatorname{tr} DF\big)
        - (n - 1) \operatorname{tr} DF}{n (n - 1)} + \frac{\operatorname{tr}(R^\top R)}{2n},

and both sums over :math:`DF` are edge sums: :math:`\operatorname{tr} DF = \sum_{(i,j) \in
\tilde E} \langle R_i, R_j \rangle` and :math:`\sum_{k,l} DF_{kl} = \sum_{(i,j) \in \tilde E}
(\mathbf 1^\top R_i)(\mathbf 1^\top R_j)`. :func:`deca_loss` computes them from the edge list in
:math:`O(|E| K)` time and memory -- the same value and gradients as the dense form (written by hand
because no library has it; the dense reference :func:`deca_loss_dense` is kept for tests).

:math:`\tilde A` is the 0/1 matrix with ``A[edge_index] = 1``: duplicate entries count once,
a self-loop entry counts on the diagonal, and no self-loops are added -- as in the code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import coalesce

from gcl.errors import GCLConfigError, GCLDataError

__all__ = ['soft_assignment', 'deca_loss', 'deca_loss_dense', 'SIMILARITIES']

SIMILARITIES: tuple[str, ...] = ('cos', 'rbf')


def _check_similarity(similarity: str) -> str:
    key = similarity.lower()
    if key not in SIMILARITIES:
        raise GCLConfigError(f'unknown similarity {similarity!r}; choose cos (gCooL_c, the '
                             'released default) or rbf (gCooL_e)')
    return key


def soft_assignment(h: Tensor, centers: Tensor, tau: float, similarity: str = 'cos', *,
                    detach: bool = True) -> Tensor:
    r"""Soft community assignment :math:`R_{ik}` of gCooL (ALGORITHMS.md §3.2b).

    .. math::
        R_{ik} = \operatorname{softmax}_k\big(\langle h_i, \hat c_k\rangle / \tau\big)
        \quad\text{(cos)} \qquad
        R_{ik} = \operatorname{softmax}_k\big(-\lVert h_i - \hat c_k\rVert^2 / \tau^2\big)
        \quad\text{(rbf)}

    with :math:`\hat c_k = c_k / \lVert c_k \rVert`. ``detach=True`` (the code) stops the
    gradient into ``h``, so DeCA trains the centres only. The RBF distances are expanded as
    :math:`\lVert h\rVert^2 - 2 h c^\top + \lVert c\rVert^2`: memory :math:`O(NK)`, not the
    code's :math:`O(NKD)`.

    Shapes:
        - **input:** ``h`` :math:`(N, D)`, ``centers`` :math:`(K, D)`; **output:** :math:`(N, K)`
    """
    similarity = _check_similarity(similarity)
    if tau <= 0:
        raise GCLConfigError(f'the temperature tau must be > 0, got {tau}')
    if h.dim() != 2 or centers.dim() != 2 or h.size(1) != centers.size(1):
        raise GCLDataError(f'h [N, D] and centers [K, D] must share D, got {list(h.shape)} and '
                           f'{list(centers.shape)}')
    if detach:
        h = h.detach()
    c = F.normalize(centers, dim=-1)                                  # [K, D]
    if similarity == 'cos':
        logits = h @ c.T / tau                                        # [N, K]
    else:
        dist = (h * h).sum(-1, keepdim=True) - 2 * h @ c.T + (c * c).sum(-1)  # [N, K]
        logits = -dist.clamp_min(0) / (tau * tau)
    return torch.softmax(logits, dim=1)


def deca_loss(assignment: Tensor, edge_index: Tensor, lamda: float = 1.0) -> Tensor:
    r"""DeCA objective of gCooL as coded (ALGORITHMS.md §3.2c), in sparse :math:`O(|E| K)` form.

    .. math::
        \mathcal{L}_{DeCA} = \frac{\lambda S - (n - 1 + \lambda)\,T}{n(n-1)}
            + \frac{\lVert R\rVert_F^2}{2n}, \quad
        T = \sum_{(i,j)\in\tilde E} \langle R_i, R_j\rangle, \quad
        S = \sum_{(i,j)\in\tilde E} (\mathbf 1^\top R_i)(\mathbf 1^\top R_j)

    :math:`T` is the soft intra-community edge mass (:math:`\operatorname{tr} R^\top\tilde AR`)
    and :math:`S - T` the inter-community mass. For row-stochastic :math:`R`, :math:`S = |\tilde
    E|` is a constant; it is computed rather than assumed, so the value equals the dense code for
    any :math:`R`.

    Args:
        assignment: :math:`R`, soft assignment ``[N, K]`` (rows usually sum to 1).
        edge_index: the view's edges ``[2, E]``; duplicates count once.
        lamda: :math:`\lambda`, weight of the inter-community density ("lamda" in the configs).

    Shapes:
        - **input:** ``[N, K]``, ``[2, E]``; **output:** scalar
    """
    if assignment.dim() != 2:
        raise GCLDataError(f'assignment must be [N, K], got {list(assignment.shape)}')
    n = assignment.size(0)
    if n < 2:
        raise GCLDataError(f'DeCA needs at least 2 nodes, got {n}')
    if edge_index.numel() and int(edge_index.max()) >= n:
        raise GCLDataError(f'edge_index refers to node {int(edge_index.max())}, but the '
                           f'assignment has {n} rows (ids 0..{n - 1})')
    edge_index = coalesce(edge_index, num_nodes=n)                   # A[edge_index] = 1
    row, col = edge_index
    intra = (assignment[row] * assignment[col]).sum()                # tr(R^T A R)
    mass = assignment.sum(dim=1)                                     # [N]
    total = (mass[row] * mass[col]).sum()                            # sum_kl (R^T A R)_kl
    m = n * (n - 1)
    return (lamda * total - (n - 1 + lamda) * intra) / m + (assignment * assignment).sum() / n / 2


def deca_loss_dense(assignment: Tensor, edge_index: Tensor, lamda: float = 1.0) -> Tensor:
    r"""The official dense DeCA (``gCooL/src/model.py``): builds :math:`\tilde A` as
    :math:`N \times N`. :math:`O(N^2)` memory -- a reference for tests and benchmarks only."""
    n = assignment.size(0)
    adjacency = torch.zeros(n, n, dtype=assignment.dtype, device=assignment.device)
    adjacency[edge_index[0], edge_index[1]] = 1
    df = assignment.T @ adjacency @ assignment                       # [K, K]
    m = n * (n - 1)
    return ((lamda * df.sum() - (n - 1 + lamda) * df.trace()) / m
            + (assignment.T @ assignment).trace() / n / 2)
