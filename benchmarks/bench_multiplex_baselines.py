"""Training-free reference points for the multiplex tables (ACM-3025, IMDB): what the probe gets
from the raw features, and from the features smoothed over one relation.

For each dataset: the ``public`` probe of ``gcl.eval`` (sklearn logistic regression, C chosen on
the fixed validation set, scored on the fixed test set) on

- ``raw``: the (row-normalised) features ``X``;
- ``<REL> k=K``: :math:`\\hat A_{REL}^K X`, ``K`` GCN-normalised propagations over one relation
  (SGC's features, no training), the same :func:`gcl.kernels.propagate.gcn_csr_adjacency` the
  encoders use.

So a reader of the gCooL multiplex rows sees how much a learnt embedding adds over features a
linear model already separates. k-means NMI of each input is printed beside it.

Usage::

    GCL_DATASETS_PATH=../shared/datasets python benchmarks/bench_multiplex_baselines.py \
        [--datasets acm-multiplex imdb-multiplex] [--hops 1 2]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from gcl.data import load_dataset
from gcl.eval import evaluate_clustering
from gcl.eval.node_classification import evaluate_node_classification
from gcl.kernels.propagate import gcn_csr_adjacency


def smoothed(x: torch.Tensor, edge_index: torch.Tensor, num_nodes: int, hops: int) -> torch.Tensor:
    """:math:`\\hat A^{hops} X` with the GCN-normalised adjacency (self-loops added). ``[N, F]``."""
    adjacency = gcn_csr_adjacency(edge_index, num_nodes)
    for _ in range(hops):
        x = torch.sparse.mm(adjacency, x)
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--datasets', nargs='+', default=['acm-multiplex', 'imdb-multiplex'])
    parser.add_argument('--hops', nargs='+', type=int, default=[1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f'# {time.strftime("%Y-%m-%d")}, {platform.machine()}, torch {torch.__version__}, '
          '1 thread; probe: public (fixed split, C on validation); NMI: k-means, 5 seeds')
    print('| dataset | input | Macro-F1 | Micro-F1 | val acc | NMI |')
    print('|---|---|---|---|---|---|')
    for name in args.datasets:
        data = load_dataset(name)
        splits = {'train': data.train_mask, 'valid': data.val_mask, 'test': data.test_mask}
        inputs = [('raw', data.x.to_dense() if data.x.is_sparse else data.x)]
        for relation in data.relations:
            for hops in args.hops:
                inputs.append((f'{relation} k={hops}', smoothed(
                    inputs[0][1], data[f'edge_index_{relation}'], data.num_nodes, hops)))
        for label, z in inputs:
            node = evaluate_node_classification(z, data.y, protocol='public', splits=splits)
            nmi = evaluate_clustering(z, data.y)['nmi']
            print(f'| {name} | {label} | {100 * node["macro_f1"]:.2f} | '
                  f'{100 * node["micro_f1"]:.2f} | {100 * node["val_acc"]:.2f} | '
                  f'{100 * nmi:.2f} |', flush=True)


if __name__ == '__main__':
    main()
