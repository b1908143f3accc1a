"""``synthetic-sbm``: a seeded stochastic-block-model graph with community-correlated features.

Planted communities (balanced, ``num_classes`` of them) are the labels. Edges are sampled
directly, pair by pair: with probability ``homophily`` both ends are in the same community,
otherwise in two different ones, each end uniform within its community. That is the SBM with
:math:`p_{in} / p_{out}` fixed by the homophily and the edge count, in :math:`O(E)` time and
memory (PyG's ``stochastic_blockmodel_graph`` draws all :math:`N^2` pairs, out of reach at a million
nodes). Self-loops and duplicates are removed, and the graph is undirected: ``edge_index`` holds
both directions, so ``num_edges`` counts directed entries as PyG's ``data.num_edges`` does
(``avg_degree`` = ``num_edges / num_nodes``).

Features are binary "bag of words": community ``c`` has ``num_features // num_classes`` topic
words, present with probability ``base_rate + feature_signal``; every other word with probability
``base_rate``. A million nodes with 10 million edges and 128 features take a few seconds and
about 1.5 GB.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.data.catalog import DatasetSpec
from gcl.data.loaders import _GENERATED
from gcl.errors import GCLConfigError

logger = logging.getLogger(__name__)

__all__ = ['synthetic_sbm', 'build_synthetic_sbm']


def _check(name: str, value: float, low: float, high: float | None = None) -> None:
    if value < low or (high is not None and value > high):
        bound = f'in [{low}, {high}]' if high is not None else f'>= {low}'
        raise GCLConfigError(f'synthetic-sbm option {name} must be {bound}, got {value}')


def _pairs_from_probabilities(num_nodes: int, num_classes: int, p_in: float,
                              p_out: float) -> tuple[int, float]:
    """Expected undirected edge count and homophily of an SBM with ``p_in`` / ``p_out``."""
    size = num_nodes / num_classes
    intra = num_classes * size * (size - 1) / 2
    inter = num_nodes * (num_nodes - 1) / 2 - intra
    m_in, m_out = p_in * intra, p_out * inter
    total = m_in + m_out
    if total < 1:
        raise GCLConfigError(f'p_in={p_in}, p_out={p_out} give no edges on {num_nodes} nodes')
    return int(round(total)), m_in / total


def _sample_pairs(communities: Tensor, members: Tensor, offsets: Tensor, sizes: Tensor,
                  count: int, homophily: float, num_classes: int,
                  generator: torch.Generator) -> Tensor:
    """``count`` node pairs ``[2, count]``: same community with probability ``homophily``."""
    n = communities.numel()
    u = torch.randint(0, n, (count,), generator=generator)
    cu = communities[u]
    same = torch.rand(count, generator=generator) < homophily
    shift = torch.randint(1, max(2, num_classes), (count,), generator=generator)
    cv = torch.where(same, cu, (cu + shift) % num_classes)
    pick = (torch.rand(count, generator=generator) * sizes[cv]).long()
    v = members[offsets[cv] + pick.clamp_max(sizes[cv] - 1)]
    return torch.stack([u, v])


def synthetic_sbm(num_nodes: int = 10_000, num_edges: int | None = None,
                  avg_degree: float = 10.0, num_classes: int = 10, num_features: int = 128,
                  homophily: float = 0.8, p_in: float | None = None, p_out: float | None = None,
                  feature_signal: float = 0.25, base_rate: float = 0.05,
                  seed: int = 0) -> Data:
    """Generate the graph (module docstring). Same arguments, same graph.

    Args:
        num_nodes: N.
        num_edges: directed ``edge_index`` entries (2 per undirected pair); default
            ``avg_degree * num_nodes``. Ignored when ``p_in`` and ``p_out`` are given.
        avg_degree: mean degree when ``num_edges`` is not given.
        num_classes: planted communities (= classes), balanced.
        num_features: feature dimension.
        homophily: fraction of edges inside a community (edge homophily).
        p_in, p_out: SBM edge probabilities inside / across communities (both or neither);
            they fix the edge count and the homophily.
        feature_signal: extra probability of a community's topic words.
        base_rate: probability of every other word.
        seed: the generator's seed.

    Returns:
        ``Data(x [N, F] float, edge_index [2, E] undirected, y [N] long)``.
    """
    num_nodes, num_classes, num_features = int(num_nodes), int(num_classes), int(num_features)
    _check('num_nodes', num_nodes, 2)
    _check('num_classes', num_classes, 1, num_nodes)
    _check('num_features', num_features, 1)
    _check('feature_signal', feature_signal, 0.0, 1.0)
    _check('base_rate', base_rate, 0.0, 1.0 - feature_signal)
    if (p_in is None) != (p_out is None):
        raise GCLConfigError('synthetic-sbm: give both p_in and p_out, or neither')
    if p_in is not None:
        _check('p_in', p_in, 0.0, 1.0)
        _check('p_out', p_out, 0.0, 1.0)
        pairs, homophily = _pairs_from_probabilities(num_nodes, num_classes, p_in, p_out)
    else:
        _check('homophily', homophily, 0.0, 1.0)
        total = int(num_edges) if num_edges is not None else int(round(avg_degree * num_nodes))
        _check('num_edges', total, 2)
        pairs = total // 2
    if num_classes == 1:
        homophily = 1.0
    max_pairs = num_nodes * (num_nodes - 1) // 2
    if pairs > max_pairs // 2:
        raise GCLConfigError(f'synthetic-sbm: {2 * pairs} directed edges is too dense for '
                             f'{num_nodes} nodes (at most {max_pairs} for this sampler)')
    gen = torch.Generator().manual_seed(int(seed))
    communities = torch.arange(num_nodes) % num_classes
    communities = communities[torch.randperm(num_nodes, generator=gen)]          # [N]
    members = torch.argsort(communities, stable=True)                           # [N]
    sizes = torch.bincount(communities, minlength=num_classes)                  # [C]
    offsets = torch.cumsum(sizes, 0) - sizes                                    # [C]

    keys = torch.empty(0, dtype=torch.long)
    while keys.numel() < pairs:   # oversample a little, drop loops and duplicates, trim
        need = pairs - keys.numel()
        pair = _sample_pairs(communities, members, offsets, sizes, int(need * 1.05) + 16,
                             homophily, num_classes, gen)
        pair = pair[:, pair[0] != pair[1]]
        low, high = pair.min(0).values, pair.max(0).values
        keys = torch.unique(torch.cat([keys, low * num_nodes + high]))
    if keys.numel() > pairs:
        keys = keys[torch.randperm(keys.numel(), generator=gen)[:pairs]].sort().values
    row, col = keys // num_nodes, keys % num_nodes
    del keys
    directed = torch.cat([torch.stack([row, col]), torch.stack([col, row])], dim=1)
    order = torch.argsort(directed[0] * num_nodes + directed[1])
    edge_index = directed[:, order]
    del directed, order, row, col

    topic = torch.zeros(num_classes, num_features)
    words = max(1, num_features // num_classes)
    for c in range(num_classes):
        topic[c, torch.randperm(num_features, generator=gen)[:words]] = feature_signal
    probs = topic + base_rate                                                    # [C, F]
    x = torch.empty(num_nodes, num_features)
    step = 131072
    for start in range(0, num_nodes, step):     # chunks keep the peak at [step, F]
        stop = min(start + step, num_nodes)
        draw = torch.rand(stop - start, num_features, generator=gen)
        x[start:stop] = (draw < probs[communities[start:stop]]).float()
    logger.info('synthetic-sbm: %d nodes, %d directed edges, %d classes, homophily %.2f',
                num_nodes, edge_index.size(1), num_classes, homophily)
    return Data(x=x, edge_index=edge_index, y=communities, num_nodes=num_nodes)


def build_synthetic_sbm(spec: DatasetSpec, root: Path, num_nodes: int = 10_000,
                        num_edges: int | None = None, avg_degree: float = 10.0,
                        num_classes: int = 10, num_features: int = 128, homophily: float = 0.8,
                        p_in: float | None = None, p_out: float | None = None,
                        feature_signal: float = 0.25, base_rate: float = 0.05,
                        seed: int = 0, **unknown: object) -> Data:
    """Catalog builder for ``loader='synthetic'`` (options come from ``data.options`` or
    ``load_dataset('synthetic-sbm', num_nodes=...)``); nothing is read from or written to
    ``root``."""
    if unknown:
        raise GCLConfigError(f'synthetic-sbm has no option(s) {sorted(unknown)}; options: '
                             'num_nodes, num_edges, avg_degree, num_classes, num_features, '
                             'homophily, p_in, p_out, feature_signal, base_rate, seed')
    return synthetic_sbm(num_nodes=num_nodes, num_edges=num_edges, avg_degree=avg_degree,
                         num_classes=num_classes, num_features=num_features, homophily=homophily,
                         p_in=p_in, p_out=p_out, feature_signal=feature_signal,
                         base_rate=base_rate, seed=seed)


_GENERATED['synthetic'] = build_synthetic_sbm
