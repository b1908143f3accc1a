"""How much a single-split accuracy varies, and what picking the best of many printouts gives.

CSGCL's and GCA's ``train.py`` print one linear-probe accuracy every 100 epochs, each on a fresh
random 10/10/80 split, and the papers do not say which printout they report (ALGORITHMS.md
§4.6). gcl reports the final model averaged over 5 splits. This script probes one run's saved
embeddings (``RUN_DIR/embeddings.pt``) on ``--splits`` single random splits with gcl's GCA probe
(GCA's ``log_regression``: the same linear layer, Adam, 3,000 epochs, best-validation test
accuracy) and prints the mean, std and max of the single-split accuracies, and the expected
maximum of ``--splits`` draws (bootstrap): what a best-of-printouts number would be from this
final model alone, before any variation between checkpoints.

    GCL_DATASETS_PATH=../shared/datasets python benchmarks/probe_split_spread.py RUN_DIR \
        --dataset amazon-photo --splits 30
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from gcl.data import load_dataset
from gcl.eval.node_classification import _TORCH_DEFAULTS, _gca_probe, _random_split
from gcl.utils.embeddings import load_embeddings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('run_dir', type=Path)
    parser.add_argument('--dataset', required=True)
    parser.add_argument('--splits', type=int, default=30)
    parser.add_argument('--first-seed', type=int, default=1000,
                        help='Split r uses seed first_seed + r (gcl runs use 0..4 + the run seed).')
    args = parser.parse_args()

    z = load_embeddings(args.run_dir / 'embeddings.pt').float()
    y = load_dataset(args.dataset).y
    epochs, every, decay = _TORCH_DEFAULTS['gca']
    splits = [_random_split(z.size(0), args.first_seed + r) for r in range(args.splits)]
    start = time.perf_counter()
    runs = _gca_probe(z, y, splits, epochs=epochs, eval_every=every, lr=0.01,
                      weight_decay=decay, random_state=args.first_seed)
    acc = np.array([r['test_acc'] for r in runs]) * 100
    rng = np.random.default_rng(0)
    best_of = np.mean([rng.choice(acc, args.splits).max() for _ in range(2000)])
    print(f'{args.run_dir.name}: {args.splits} single splits, test accuracy mean {acc.mean():.2f} '
          f'± {acc.std(ddof=1):.2f}, min {acc.min():.2f}, max {acc.max():.2f}; expected best of '
          f'{args.splits} printouts {best_of:.2f} ({time.perf_counter() - start:.0f} s, '
          f'{torch.get_num_threads()} threads)')


if __name__ == '__main__':
    main()
