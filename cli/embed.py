"""``gcl embed``: write embeddings of a dataset or of a user's graph file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gcl.cli import common


@common.handle_errors
def embed(
    output: Annotated[Path, typer.Option(
        '--out', '-o', help='Output file: .pt (or .pth), .npy or .csv.')],
    method: Annotated[str, typer.Option('--method', '-m', help='See `gcl methods list`.')
                      ] = 'grace',
    dataset: Annotated[str | None, typer.Option(
        '--dataset', '-d', help='A catalogued dataset. Default: cora, unless --edges.')] = None,
    edges: Annotated[Path | None, typer.Option(
        help='Your graph: an edge list file (src,dst per line, 0-based ids).')] = None,
    features: Annotated[Path | None, typer.Option(help='Node features, one row per node.')
                        ] = None,
    labels: Annotated[Path | None, typer.Option(help='Node labels (optional).')] = None,
    seed: Annotated[int, typer.Option(help='Random seed.')] = 0,
    config: Annotated[Path | None, typer.Option('--config', '-c', help='YAML config file.')
                      ] = None,
    set_: Annotated[list[str] | None, typer.Option('--set', help='key=value override.')] = None,
    epochs: Annotated[int | None, typer.Option(help='Override optim.epochs.')] = None,
    device: Annotated[str, typer.Option(help='auto, cpu, cuda, cuda:N')] = 'auto',
    root: Annotated[Path | None, typer.Option(help='Dataset root.')] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help='Use this trained checkpoint instead of training.')] = None,
    quiet: Annotated[bool, typer.Option('--quiet', '-q')] = False,
) -> None:
    """Train METHOD (or load a checkpoint) and write the embeddings of a graph."""
    from gcl.config import load_config, parse_overrides
    from gcl.methods import get_method
    from gcl.train.run import load_data
    from gcl.utils.embeddings import check_embeddings_path, save_embeddings
    from gcl.utils.seed import seed_everything

    common.setup_logging(quiet)
    check_embeddings_path(output)   # before training, not after it
    common.check_output(output, '--out')
    common.check_graph_source(dataset, edges, features=features, labels=labels)
    overrides = parse_overrides(set_ or [])
    if epochs is not None:
        overrides['optim.epochs'] = epochs
    if edges is not None:
        files, name = common.graph_file_options(edges, features, labels)
        cfg = load_config(method, 'custom', config_file=config, overrides={**overrides, **files})
        cfg['dataset'] = name
    else:
        cfg = load_config(method, dataset or 'cora', config_file=config, overrides=overrides)
    cfg['seed'] = seed
    seed_everything(seed)
    data = load_data(cfg, root)   # the same graph `gcl train` builds from these options
    cls = get_method(method)
    if checkpoint is not None:
        model = cls.load(checkpoint, data, device=device)
    else:
        model = cls(cfg).fit(data, device=device, progress=common.show_progress(quiet))
    z = model.embed(data)
    save_embeddings(z, output)
    common.stderr.print(f'wrote embeddings [{z.size(0)}, {z.size(1)}] to {output}')
