"""CSGCL's communal augmentations (Chen et al., IJCAI 2023; ALGORITHMS.md §4.2, §4.3).

- **CED**, Communal Edge Dropping: intra-community edges of strong communities are kept, edges
  between communities are dropped most (§4.2).
- **CAV**, Communal Attribute Voting: attributes voted for by nodes of strong communities are
  kept, the others are masked (§4.3).

Both take a community assignment ``communities`` ``[N]`` (ids ``0..C-1``) and community
strengths ``strength`` ``[C]`` (:math:`S_c`, the modularity contribution of community ``c``; see
:func:`gcl.community.community_strength`). Written by hand because no library has them; the
official code builds the edge weights with a Python loop over edges (``get_edge_weight``,
§4.8 item 7), here they are one gather and one ``where`` over ``edge_index``.

Functional forms return ``(result, mask)`` like :mod:`torch_geometric.utils`; the transforms
:class:`CommunalDropEdge` and :class:`CommunalAttributeVoting` wrap them.
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from gcl.augment.functional import _check_p, drop_feature_weighted
from gcl.augment.weighted import WeightedFeatureMask
from gcl.errors import GCLDataError
from gcl.utils.cache import TensorCache

logger = logging.getLogger(__name__)

__all__ = [
    'ced_edge_weights',
    'ced_keep_probabilities',
    'ced',
    'cav_attribute_weights',
    'cav_drop_probabilities',
    'cav',
    'cav_dense',
    'CommunalDropEdge',
    'CommunalAttributeVoting',
]


def _check_communities(communities: Tensor, strength: Tensor, num_nodes: int) -> None:
    if communities.dim() != 1 or communities.numel() != num_nodes:
        raise GCLDataError(f'communities must be a [N] = [{num_nodes}] tensor of community ids, '
                           f'got shape {list(communities.shape)}')
    if communities.dtype not in (torch.int64, torch.int32):
        raise GCLDataError(f'communities must hold integer ids, got {communities.dtype}')
    if communities.numel() and (int(communities.min()) < 0
                                or int(communities.max()) >= strength.numel()):
        raise GCLDataError(f'community ids must lie in 0..{strength.numel() - 1} (one strength '
                           f'per community), got {int(communities.min())}..'
                           f'{int(communities.max())}; every node needs a community')


def _check_threshold(threshold: float) -> None:
    if not 0.0 <= threshold <= 1.0:
        raise GCLDataError(f'threshold must lie in [0, 1], got {threshold}')


# --------------------------------------------------------------------------------------- CED
def ced_edge_weights(edge_index: Tensor, communities: Tensor, strength: Tensor) -> Tensor:
    r"""CED's edge weights :math:`\hat w_e` (ALGORITHMS.md §4.2; CSGCL ``get_edge_weight``).

    .. math::
        r_e = \begin{cases} S_{c(u)} & c(u) = c(v) \\ -(S_{c(u)} + S_{c(v)}) & \text{otherwise}
        \end{cases}, \qquad \hat w_e = \frac{r_e - \min r}{\max r - \min r}

    for every directed entry ``e = (u -> v)``. :math:`r_e` depends only on the unordered pair
    ``{u, v}``, so an undirected input gets symmetric weights. When every ``r_e`` is equal (the
    official code divides by zero) all weights are 1.

    Shapes:
        edge_index ``[2, E]``, communities ``[N]``, strength ``[C]`` -> ``[E]`` float32 in [0, 1]
    """
    num_nodes = communities.numel()
    if edge_index.numel() and int(edge_index.max()) >= num_nodes:
        raise GCLDataError(f'edge_index refers to node {int(edge_index.max())}, but communities '
                           f'has {num_nodes} entries; pass one community id per node')
    _check_communities(communities, strength, num_nodes)
    strength = strength.to(device=edge_index.device, dtype=torch.float64)
    communities = communities.to(edge_index.device)
    cu, cv = communities[edge_index[0]], communities[edge_index[1]]            # [E], [E]
    r = torch.where(cu == cv, strength[cu], -(strength[cu] + strength[cv]))    # [E]
    if r.numel() == 0:
        return r.float()
    low, high = r.min(), r.max()
    if high <= low:
        return torch.ones_like(r, dtype=torch.float32)
    return ((r - low) / (high - low)).float()


def ced_keep_probabilities(edge_weight: Tensor, p: float, threshold: float = 1.0) -> Tensor:
    r"""Keep probabilities :math:`q_e = \mathrm{clip}(\hat w_e / \overline{\hat w}\,(1 - p),
    1 - \theta, 1)` (ALGORITHMS.md §4.2; CSGCL ``ced``).

    With the command-line default ``threshold = 1`` the clip is [0, 1], so the
    minimum-weight edges (``w = 0``) are always dropped.

    Shapes:
        edge_weight ``[E]`` -> ``[E]``
    """
    _check_p(p)
    _check_threshold(threshold)
    q = edge_weight / edge_weight.mean() * (1.0 - p)
    return q.clamp(min=1.0 - threshold, max=1.0)


def ced(edge_index: Tensor, edge_weight: Tensor, p: float, threshold: float = 1.0, *,
        force_undirected: bool = False, generator: torch.Generator | None = None
        ) -> tuple[Tensor, Tensor]:
    r"""Communal Edge Dropping (ALGORITHMS.md §4.2): keep entry ``e`` with probability
    :math:`q_e` from :func:`ced_keep_probabilities`.

    As in the official code each directed entry is drawn independently (a view may keep
    ``u -> v`` and drop ``v -> u``). ``force_undirected=True`` draws once per unordered pair
    ``{u, v}`` and keeps or drops both directions together, so an undirected graph stays
    undirected (:math:`q_e` is the same for both directions, see :func:`ced_edge_weights`).

    Args:
        edge_index: ``[2, E]``.
        edge_weight: :math:`\hat w_e` ``[E]`` from :func:`ced_edge_weights`.
        p: the drop rate ``p_ced`` of this view.
        threshold: :math:`\theta_{ced}` (CSGCL's ``--ced_thr``, default 1).

    Returns:
        ``(edge_index [2, E'], keep [E] bool)``.
    """
    if edge_weight.shape != (edge_index.size(1),):
        raise GCLDataError(f'edge_weight must have shape [{edge_index.size(1)}], '
                           f'got {list(edge_weight.shape)}')
    q = ced_keep_probabilities(edge_weight.to(edge_index.device), p, threshold)   # [E]
    if force_undirected and edge_index.numel():
        low = torch.minimum(edge_index[0], edge_index[1])
        high = torch.maximum(edge_index[0], edge_index[1])
        pair, inverse = torch.unique(low * (int(edge_index.max()) + 1) + high,
                                     return_inverse=True)                          # [P], [E]
        draw = torch.rand(pair.numel(), device=edge_index.device, generator=generator)
        keep = draw[inverse] < q
    else:
        keep = torch.rand(edge_index.size(1), device=edge_index.device,
                          generator=generator) < q
    return edge_index[:, keep], keep


# --------------------------------------------------------------------------------------- CAV
def cav_attribute_weights(x: Tensor, node_strength: Tensor, dense: bool = False) -> Tensor:
    r"""CAV's attribute weights :math:`w_a` (ALGORITHMS.md §4.3; CSGCL ``cav`` / ``cav_dense``).

    .. math::
        v_a = \sum_i |x_{ia}|\, s_i, \qquad \ell_a = \log v_a, \qquad
        w_a = \frac{\max \ell - \ell_a}{\max \ell - \min \ell}

    with :math:`s_i = S_{c(i)}` the strength of node ``i``'s community. Unless ``dense`` (WikiCS),
    attributes with :math:`v_a = 0` (all-zero columns, "redundant attributes of Cora") get
    :math:`v_a = \max v`, hence :math:`w_a = 0`, as in the official ``cav``. Guard (the
    official code would produce NaN): a vote that is still :math:`\le 0` (negative strengths,
    or a zero vote with ``dense=True``) is replaced by the smallest positive vote, so the
    attribute gets the highest drop weight; if no vote is positive, or all are equal, every
    weight is 1 (uniform masking).

    Shapes:
        x ``[N, F]``, node_strength ``[N]`` -> ``[F]`` float32 in [0, 1]
    """
    if node_strength.shape != (x.size(0),):
        raise GCLDataError(f'node_strength must have shape [{x.size(0)}] (one strength per '
                           f'node), got {list(node_strength.shape)}')
    votes = x.abs().double().t() @ node_strength.to(x.device, torch.float64)       # [F]
    if not dense:
        votes = torch.where(votes == 0, votes.max(), votes)
    positive = votes > 0
    if not bool(positive.any()):
        logger.warning('CAV: no attribute has a positive strength-weighted vote; masking '
                       'attributes uniformly')
        return torch.ones(x.size(1), device=x.device)
    if not bool(positive.all()):
        votes = torch.where(positive, votes, votes[positive].min())
    logv = votes.log()
    spread = logv.max() - logv.min()
    if spread <= 0:
        return torch.ones(x.size(1), device=x.device)
    return ((logv.max() - logv) / spread).float()


def cav_drop_probabilities(attr_weight: Tensor, p: float, threshold: float = 1.0) -> Tensor:
    r"""Drop probabilities :math:`p_a = \mathrm{clip}(w_a / \bar w \cdot p, 0, \theta)`
    (ALGORITHMS.md §4.3). The most-voted attribute gets :math:`p_a = 0`.

    Shapes:
        attr_weight ``[F]`` -> ``[F]``
    """
    _check_p(p)
    _check_threshold(threshold)
    mean = attr_weight.mean()
    if mean <= 0:  # every weight 0: nothing to prefer, nothing dropped
        return torch.zeros_like(attr_weight)
    return (attr_weight / mean * p).clamp(min=0.0, max=threshold)


def cav(x: Tensor, node_strength: Tensor, p: float, threshold: float = 1.0, *,
        generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    r"""Communal Attribute Voting for sparse (bag-of-words) features (ALGORITHMS.md §4.3):
    zero column ``a`` for all nodes with probability :math:`p_a`.

    Args:
        x: node features ``[N, F]``.
        node_strength: :math:`s_i = S_{c(i)}` ``[N]``.
        p: the masking rate ``p_cav`` of this view.
        threshold: :math:`\theta_{cav}` (CSGCL's ``--cav_thr``, default 1; the official
            function default is 0.7).

    Returns:
        ``(x [N, F], keep [F] bool)``.
    """
    weight = cav_attribute_weights(x, node_strength, dense=False)
    return drop_feature_weighted(x, cav_drop_probabilities(weight, p, threshold), generator)


def cav_dense(x: Tensor, node_strength: Tensor, p: float, threshold: float = 1.0, *,
              generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """:func:`cav` for dense features (WikiCS): no zero-vote replacement (``cav_dense``).

    Returns:
        ``(x [N, F], keep [F] bool)``.
    """
    weight = cav_attribute_weights(x, node_strength, dense=True)
    return drop_feature_weighted(x, cav_drop_probabilities(weight, p, threshold), generator)


# -------------------------------------------------------------------------------- transforms
def _as_long(communities: Tensor) -> Tensor:
    if not isinstance(communities, Tensor):
        communities = torch.as_tensor(communities)
    return communities.long()


def _strength_for(data: Data, communities: Tensor, strength: Tensor | None) -> Tensor:
    if strength is not None:
        return torch.as_tensor(strength, dtype=torch.float64)
    from gcl.community import community_strength

    return community_strength(data, communities).double()


class CommunalDropEdge(BaseTransform):
    r"""CSGCL's Communal Edge Dropping as a transform (ALGORITHMS.md §4.2): keep edge ``e`` with
    probability :math:`\mathrm{clip}(\hat w_e / \overline{\hat w}\,(1 - p), 1 - \theta, 1)`.

    Args:
        p: drop rate ``p_ced``.
        communities: community id of every node, ``[N]``.
        strength: community strengths :math:`S_c` ``[C]``; ``None`` computes them from the
            graph with :func:`gcl.community.community_strength`.
        threshold: :math:`\theta_{ced}` (default 1, CSGCL's command-line value).
        force_undirected: keep or drop both directions of an edge together (the official
            code draws per directed entry; default ``False``).

    The edge weights depend only on the graph and the communities; they are computed once per
    ``edge_index`` and cached.

    Example:
        >>> view = CommunalDropEdge(0.3, communities, strength)(data)
    """

    def __init__(self, p: float, communities: Tensor, strength: Tensor | None = None,
                 threshold: float = 1.0, force_undirected: bool = False) -> None:
        _check_p(p)
        _check_threshold(threshold)
        self.p, self.threshold, self.force_undirected = p, threshold, force_undirected
        self.communities = _as_long(communities)
        self.strength = strength
        self._cache: TensorCache[Tensor] = TensorCache()

    def edge_weight(self, data: Data) -> Tensor:
        """:math:`\\hat w_e` ``[E]`` of ``data`` (cached per graph)."""
        def compute() -> Tensor:
            strength = _strength_for(data, self.communities, self.strength)
            return ced_edge_weights(data.edge_index, self.communities, strength)

        return self._cache.get((data.edge_index,), data.num_nodes, compute)

    def forward(self, data: Data) -> Data:
        out = copy.copy(data)
        out.edge_index, _ = ced(data.edge_index, self.edge_weight(data), self.p, self.threshold,
                                force_undirected=self.force_undirected)
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(p={self.p}, '
                f'num_communities={int(self.communities.max()) + 1}, '
                f'threshold={self.threshold}, force_undirected={self.force_undirected})')


class CommunalAttributeVoting(WeightedFeatureMask):
    r"""CSGCL's Communal Attribute Voting as a transform (ALGORITHMS.md §4.3): zero feature
    column ``a`` for all nodes with probability :math:`\mathrm{clip}(w_a / \bar w\,p, 0, \theta)`.

    Args:
        p: masking rate ``p_cav``.
        communities: community id of every node, ``[N]``.
        strength: community strengths :math:`S_c` ``[C]``; ``None`` computes them with
            :func:`gcl.community.community_strength`.
        threshold: :math:`\theta_{cav}` (default 1, CSGCL's command-line value).
        dense: dense features (WikiCS, ``cav_dense``): no zero-vote replacement.

    The probabilities depend only on ``x`` and the communities and are cached.
    """

    def __init__(self, p: float, communities: Tensor, strength: Tensor | None = None,
                 threshold: float = 1.0, dense: bool = False) -> None:
        _check_p(p)
        _check_threshold(threshold)
        super().__init__()
        self.p, self.threshold, self.dense = p, threshold, dense
        self.communities = _as_long(communities)
        self.strength = strength

    def compute_probabilities(self, data: Data) -> Tensor:
        """Per-attribute drop probabilities ``[F]`` of ``data``, uncached."""
        strength = _strength_for(data, self.communities, self.strength)
        _check_communities(self.communities, strength, data.num_nodes)
        node_strength = strength[self.communities]                                  # [N]
        weight = cav_attribute_weights(data.x, node_strength, self.dense)
        return cav_drop_probabilities(weight, self.p, self.threshold)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(p={self.p}, '
                f'num_communities={int(self.communities.max()) + 1}, '
                f'threshold={self.threshold}, dense={self.dense})')
