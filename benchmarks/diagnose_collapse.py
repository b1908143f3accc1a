"""What a collapsed training looks like inside: encoder output and projected views of a checkpoint.

When a run's loss sits at log(2N - 1) (``gcl.train.loop.StallWatch`` warns), every similarity in
the InfoNCE is equal. That can be dead ReLUs (rows of zeros) or a collapse onto one direction
(rows that differ only in length). This script loads a checkpoint -- a run's ``checkpoint.pt`` or
a bench cell's resumable ``<out>/.checkpoints/<cell>/{node,link}.pt`` -- rebuilds the graph it
was trained on (``--graph link``: the run's held-out-edge training graph, same seed) and prints,
for the encoder output z [N, D] and the projection head's output h [N, D]: all-zero rows,
effective rank (RankMe), the smallest cosine of a row to the rows' mean direction, and the
median row length. Example (GCA, Amazon-Photo, held-out link graph, seed 0, epoch 1,052):

    GCL_DATASETS_PATH=../shared/datasets python benchmarks/diagnose_collapse.py \\
        /tmp/benchruns/.checkpoints/gca-amazon-photo-seed0-8b2728e5dfe2/link.pt --graph link
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.eval.collapse import embedding_health
from gcl.train.checkpoint import load_checkpoint


def row_stats(x: Tensor, name: str) -> dict[str, float]:
    """Zero rows and RankMe (the run's own collapse check, :func:`embedding_health`), min
    cosine to the mean direction and median length of ``x`` [N, D]."""
    x = x.detach().double()
    health = embedding_health(x, name=name)
    mean_dir = F.normalize(x.mean(0), dim=0)
    return {'zero_rows': health['zero_rows'], 'rankme': health['rankme'],
            'min_cos_to_mean': float((F.normalize(x, dim=1) @ mean_dir).min()),
            'median_length': float(x.norm(dim=1).median())}


@torch.no_grad()
def diagnose(method: Any, data: Any) -> dict[str, dict[str, float]]:
    """``row_stats`` of a fitted ``method``'s encoder output on ``data`` and, when its model has a
    projection head (``model.head``), of the head's output."""
    model = method.model_
    model.eval()
    z = method.encode(model, data)
    out = {'encoder': row_stats(z, 'the encoder outputs')}
    if hasattr(model, 'head'):
        out['projection'] = row_stats(model.head(z), 'the projections')
    return out


def main() -> None:
    from gcl.methods import get_method
    from gcl.train.run import link_split, load_data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint')
    parser.add_argument('--graph', choices=['node', 'link'], default='node',
                        help="the graph it trained on: the full one, or the link task's training "
                             'graph (held-out edges removed, the run seed)')
    args = parser.parse_args()
    state = load_checkpoint(args.checkpoint)
    config = state['config']
    data = load_data(config)
    if args.graph == 'link':
        data, _ = link_split(data, config)
    method = get_method(state['method']).load(args.checkpoint, data)
    print(json.dumps({'checkpoint': args.checkpoint, 'method': state['method'],
                      'dataset': config['dataset'], 'seed': config['seed'],
                      'epoch': state['epoch'], 'graph': args.graph,
                      **diagnose(method, data.to(method.device_))}, indent=1))


if __name__ == '__main__':
    main()
