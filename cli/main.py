"""``gcl``: train, evaluate and embed with graph contrastive learning methods."""

from __future__ import annotations

from typing import Annotated

import typer

from gcl.cli import common
from gcl.cli.bench import bench
from gcl.cli.communities import communities
from gcl.cli.datasets import app as datasets_app
from gcl.cli.embed import embed
from gcl.cli.evaluate import evaluate
from gcl.cli.leaderboard import leaderboard
from gcl.cli.methods import app as methods_app
from gcl.cli.plot import plot
from gcl.cli.train import train

app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help='Graph contrastive learning: GRACE, GCA, gCooL, CSGCL, PamC on PyG.',
                  rich_markup_mode='rich')


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option('--debug', help='Show full tracebacks on errors.')] = False,
) -> None:
    """Graph contrastive learning toolkit. Results go to stdout; progress and logs to stderr."""
    from gcl.utils.numerics import flush_denormals_for_process

    common.STATE['debug'] = debug
    flush_denormals_for_process()   # before torch starts its threads, so they inherit it


@app.command('version')
def version() -> None:
    """Print the versions of gcl, torch and torch_geometric."""
    import torch
    import torch_geometric

    import gcl

    typer.echo(f'gcl {gcl.__version__} (torch {torch.__version__}, '
               f'torch_geometric {torch_geometric.__version__})')


for _name, _command in (('train', train), ('evaluate', evaluate), ('embed', embed),
                        ('communities', communities), ('bench', bench),
                        ('leaderboard', leaderboard), ('plot', plot)):
    app.command(_name, help=common.help_text(_command))(_command)
app.add_typer(datasets_app, name='datasets', help='List datasets and their local status.')
app.add_typer(methods_app, name='methods', help='List methods and show their configs.')


def main() -> None:
    """Console-script entry point (SIGTERM exits cleanly: no half-written run folder).

    ``gcl train``, ``gcl embed`` and ``gcl bench`` first start again under gcl's process settings:
    the malloc ones (:mod:`gcl.utils.memory`) and, for ``GCL_CPU_GEMM=numpy`` on several threads,
    ``OMP_WAIT_POLICY=PASSIVE`` (:mod:`gcl.utils.omp`); malloc and OpenMP read them only when a
    process starts. Nothing imported so far has loaded torch, so this costs about 0.1 s.
    """
    import os
    import sys

    from gcl.utils.memory import malloc_env, reexec_argv
    from gcl.utils.omp import passive_env
    from gcl.utils.signals import exit_on_sigterm

    try:
        settings = {**malloc_env(), **passive_env()}
        again = reexec_argv(sys.argv, sys.executable, settings)
    except ValueError as exc:
        common.stderr.print(f'[bold red]error:[/] {exc}', highlight=False)
        raise SystemExit(2) from None
    if again is not None and sys.executable:   # an embedded interpreter has none to start
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, again, {**os.environ, **settings})
    exit_on_sigterm()
    app()


if __name__ == '__main__':
    main()
