"""Does a loss precision make the early collapse of a paper config more likely? First epochs only.

At GCA's Amazon-Photo setting (lr = 0.1) the InfoNCE loss can go flat at log(2N - 1): every
similarity equal, the encoder collapsed onto one direction (``gcl.train.loop.StallWatch``,
``benchmarks/diagnose_collapse.py``). Such episodes start within the first few dozen epochs, so
comparing precisions there costs minutes instead of a whole training. For each ``PRECISION:SEED``
this fits the shipped config for ``--epochs`` epochs (``train.loss_precision`` set, nothing else
changed; with no learning-rate schedule these are exactly the first epochs of the full run) and
prints one JSON line: the loss at epoch 10, its minimum and its last value, and the flat-loss
episodes as the training's own check finds them (:func:`gcl.train.loop.flat_episodes`, the
records' ``loss_flat``: 20 epochs within 1e-5). Example (LOSS_PRECISION.md's collapse paragraph):

    GCL_DATASETS_PATH=../shared/datasets OMP_NUM_THREADS=2 python benchmarks/early_flat.py \\
        --method gca --dataset amazon-photo --epochs 100 \\
        float32:0 bfloat16:0 float32:1 bfloat16:1 float32:2 bfloat16:2
"""

from __future__ import annotations

import argparse
import json
import math
import statistics

from gcl.config import load_config
from gcl.kernels.gemm import PRECISIONS
from gcl.methods import get_method
from gcl.train.loop import flat_episodes
from gcl.train.run import load_data


def parse_spec(spec: str) -> tuple[str, int]:
    """``'bfloat16:3'`` -> (``'bfloat16'``, 3), with a clear error for anything else."""
    precision, _, seed = spec.partition(':')
    if precision not in PRECISIONS or not seed.isdigit():
        raise argparse.ArgumentTypeError(
            f'{spec!r}: expected PRECISION:SEED, PRECISION one of {PRECISIONS}, e.g. bfloat16:0')
    return precision, int(seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('runs', nargs='+', type=parse_spec, metavar='PRECISION:SEED')
    parser.add_argument('--method', default='gca')
    parser.add_argument('--dataset', default='amazon-photo')
    parser.add_argument('--epochs', type=int, default=100)
    args = parser.parse_args()

    config = load_config(args.method, args.dataset, overrides={'optim.epochs': args.epochs})
    data = load_data(config)
    flat_value = math.log(2 * data.num_nodes - 1)
    for precision, seed in args.runs:
        config['train']['loss_precision'] = precision
        config['seed'] = seed
        fitted = get_method(args.method)(config).fit(data, device='cpu')
        losses = [float(h['loss']) for h in fitted.history_]
        episodes = flat_episodes(fitted.history_)   # the records' loss_flat criterion
        print(json.dumps({
            'method': args.method, 'dataset': args.dataset, 'precision': precision, 'seed': seed,
            'epochs': args.epochs, 'log_2n_1': round(flat_value, 4),
            'loss_epoch10': round(losses[min(9, len(losses) - 1)], 4),
            'loss_last': round(losses[-1], 4), 'loss_min': round(min(losses), 4),
            'flat_episodes': episodes, 'flat_epochs': sum(b - a + 1 for a, b in episodes),
            's_per_epoch': round(statistics.median(  # the first epoch carries the warm-up
                h['seconds'] for h in fitted.history_[1:] or fitted.history_), 3),
        }), flush=True)


if __name__ == '__main__':
    main()
