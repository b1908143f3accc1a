"""``Method``: the sklearn-shaped estimator every GCL method is (``Data`` in, embeddings out).

A method subclass says what its model is (:meth:`Method.build`), what one training step computes
(:meth:`Method.step`) and its defaults (:meth:`Method.default_config`); :meth:`Method.fit` runs the
shared loop (:func:`gcl.train.fit_loop`), and :meth:`Method.embed` returns the encoder output on the
un-augmented graph (the projection head is never used for embeddings).
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import re
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from gcl.config import as_number, flatten, merge_config
from gcl.data.validate import check_graph, warn_unusual_form
from gcl.errors import GCLConfigError, GCLDataError, GCLError, NotFittedError
from gcl.kernels.exp_cache import release_exp_cache
from gcl.kernels.gemm import loss_precision, precision_name
from gcl.kernels.sparse_features import SparseFeatures, sparse_features_pay_off
from gcl.registry import resolve
from gcl.train.checkpoint import load_checkpoint, save_checkpoint
from gcl.train.loop import Callback, fit_loop
from gcl.train.record import git_commit
from gcl.utils.cache import TensorCache
from gcl.utils.device import resolve_device
from gcl.utils.numerics import keep_subnormals_out
from gcl.utils.seed import seed_everything

logger = logging.getLogger(__name__)

__all__ = ['Method', 'COMMON_DEFAULTS']

#: config keys (prefixes of the dotted paths) that may differ between a checkpoint and the fit
#: resuming it: they choose how the result is evaluated or saved, not what is trained
RESUME_MAY_DIFFER: tuple[str, ...] = ('eval.', 'provenance', 'train.checkpoint_every',
                                      'train.select', 'train.rankme_every', 'train.probe_every')

COMMON_DEFAULTS: dict[str, Any] = {
    'method': '',
    'dataset': None,
    'provenance': '',
    'seed': 0,
    'optim': {'lr': 5e-4, 'weight_decay': 1e-5, 'epochs': 200},
    # files: a graph of your own instead of a catalogued dataset (gcl train --edges ...), read
    # with gcl.data.from_csv; absolute paths, so `gcl evaluate RUN` finds them again
    'data': {'normalize_features': True, 'options': {},
             'files': {'edges': None, 'features': None, 'labels': None}},
    'eval': {
        'tasks': ['node', 'cluster', 'link'],
        'node_protocol': 'random-10-10-80',
        'repeats': 5,
        'link_val': 0.05,
        'link_test': 0.10,
        'link_scorer': 'cosine',
        # L2-normalise embeddings before the node probe: null = each protocol's official code
        # (no for 'gca', as GCA/CSGCL's eval.py; yes for the sklearn protocols, as GRACE's)
        'node_normalize': None,
        # epochs of the GCA probes' linear layer: null = 3000 (GCA's eval.py; WikiCS: 800)
        'probe_epochs': None,
    },
    # select: 'last' epoch, or 'rankme' (the highest-RankMe epoch after the first select_after
    # fraction of the epochs; no labels; gcl.bench.rankme, benchmarks/RANKME.md)
    # rankme_every / probe_every: log RankMe / a one-split probe accuracy every k epochs
    # loss_precision: 'float32' (exact), or 'bfloat16' for the contrastive loss kernels' products
    # (gcl.kernels.gemm.loss_precision; faster on CPUs with AVX512-BF16 and on GPUs; measured in
    # benchmarks/LOSS_PRECISION.md)
    'train': {'checkpoint_every': 0, 'select': 'last', 'select_after': 0.5, 'rankme_every': 0,
              'probe_every': 0, 'loss_precision': 'float32'},
}


class Method(ABC):
    """Base class of GCL methods.

    Args:
        config: a nested config (see ``default_config()``) or ``None``.
        random_state: the seed (sklearn's name; the CLI says ``--seed``).
        **params: leaf options by name, e.g. ``hidden=128, epochs=200, tau=0.4``.

    Attributes (after ``fit``):
        model_: the trained ``nn.Module`` (``model_.encoder`` embeds).
        history_: per-epoch ``{'epoch', 'loss', 'seconds', ...}``.
        fit_seconds_: wall time of ``fit`` (with the earlier fits a resumed one continues).
        n_features_in_: the node-feature width ``F`` of the graph it was fitted on (sklearn's
            name); :meth:`embed` refuses a graph of another width.
        git_commits_: the gcl commits the training ran under, oldest first (more than one when
            a fit resumed a checkpoint written under other code).
    """

    name: str = 'method'
    description: str = ''

    def __init__(self, config: dict[str, Any] | None = None, *, random_state: int | None = None,
                 **params: Any) -> None:
        layers: list[dict[str, Any]] = [config or {}, params]
        self.config = merge_config(self.default_config(), *layers)
        if random_state is not None:
            self.config['seed'] = int(random_state)
        self.config['method'] = self.name
        # the first layer's view of data.x, built once per feature tensor (input_features)
        self._input_features: TensorCache[Tensor | SparseFeatures] = TensorCache()

    # ----------------------------------------------------------------- to override
    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """The full nested config with defaults; every valid key appears here."""
        return copy.deepcopy(COMMON_DEFAULTS)

    @abstractmethod
    def build(self, data: Data) -> nn.Module:
        """Create the model (an ``nn.Module`` with an ``encoder`` attribute) for ``data``."""

    def prepare(self, data: Data) -> None:  # noqa: B027 - optional hook
        """One-off preprocessing before training (centralities, communities); default none."""

    @abstractmethod
    def step(self, model: nn.Module, data: Data, epoch: int) -> Tensor:
        """The loss of one training step at ``epoch`` (1-based); the loop backpropagates it."""

    def after_step(self, model: nn.Module, data: Data, epoch: int) -> None:  # noqa: B027 - optional hook
        """Called after each optimiser step (e.g. to update a target distribution)."""

    def loss_terms(self) -> dict[str, float]:
        """The parts of the last :meth:`step`'s loss worth logging beside the total (the
        training history stores them as ``loss_<name>``); none by default."""
        return {}

    def encode(self, model: nn.Module, data: Data) -> Tensor:
        """Embeddings of the un-augmented graph, ``[N, D]``."""
        return model.encoder(self.input_features(data), data.edge_index)

    def extra_state(self) -> dict[str, Any]:
        """Plain-typed state (besides the model) that a checkpoint must keep."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Restore :meth:`extra_state`."""

    # ----------------------------------------------------------------- helpers
    def input_features(self, data: Data) -> Tensor | SparseFeatures:
        """``data.x`` as the encoder's first layer reads it.

        With ``encoder.sparse_input`` true, or ``'auto'`` and at most 5% non-zeros (bag-of-words
        features), a :class:`~gcl.kernels.sparse_features.SparseFeatures` built once per graph
        (CSR); otherwise the dense ``data.x`` itself. Methods without the option (an MLP
        encoder) always get ``data.x``.
        """
        x = data.x
        setting = (self.config.get('encoder') or {}).get('sparse_input', False)
        if setting is False:
            return x
        return self._input_features.get((x,), str(setting), lambda: (
            SparseFeatures.from_dense(x) if sparse_features_pay_off(x, setting) else x))

    def masked_features(self, data: Data, keep: Tensor) -> Tensor | SparseFeatures:
        """The features of a view with the columns where ``keep [F]`` is false zeroed: dense
        ``x * keep`` ``[N, F]``, or the sparse features with the mask moved onto the first weight
        matrix (same numbers, see :mod:`gcl.kernels.sparse_features`)."""
        x = self.input_features(data)
        if isinstance(x, SparseFeatures):
            return x.masked(keep)
        return x * keep.to(x.dtype)

    def make_loss(self, section: str = 'loss') -> nn.Module:
        """Instantiate the registered loss named in ``config[section]['name']``.

        Only the options that the loss's constructor accepts are passed on.
        """
        options = dict(self.config[section])
        cls = resolve('loss', options.pop('name'))
        accepted = inspect.signature(cls.__init__).parameters
        kwargs = {k: v for k, v in options.items() if k in accepted}
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise GCLConfigError(f'cannot build loss {cls.__name__}: {exc}') from exc

    def get_params(self) -> dict[str, Any]:
        """The flattened config (dotted keys), as sklearn's ``get_params`` feeds records."""
        return flatten(self.config)

    @property
    def seed(self) -> int:
        return int(self.config['seed'])

    # ----------------------------------------------------------------- public API
    def fit(self, data: Data, *, device: str | torch.device = 'auto', progress: bool = False,
            checkpoint_path: str | Path | None = None, resume_from: str | Path | None = None,
            checkpoint_seconds: float = 0.0,
            callbacks: tuple[Callback, ...] | list[Callback] = ()) -> Method:
        """Train on ``data`` (validated first) and return ``self``.

        ``resume_from`` continues a checkpoint written by an earlier ``fit`` of the same method
        and settings (another seed, dataset or training option is refused, naming it; see
        :meth:`_check_resume`), restoring model, optimiser, RNG, epoch, history and training
        time, and sets ``resumed_from_epoch_`` (``None`` without it), so an interrupted fit
        resumed from its last checkpoint ends with the same model as an uninterrupted one.
        ``checkpoint_path`` receives a checkpoint every ``train.checkpoint_every`` epochs, after
        any epoch ending ``checkpoint_seconds`` (if > 0) after the previous one, and at the end.
        """
        check_graph(data)
        warn_unusual_form(data, type(self).__name__)
        seed_everything(self.seed)
        self.device_ = resolve_device(device)
        self.git_commits_ = [git_commit() or 'unknown']
        precision = precision_name(self.config['train'].get('loss_precision'))  # fail early
        _check_optim(self.config['optim'])   # before prepare(), which may take minutes
        _check_widths(self.config.get('encoder') or {})
        start = time.perf_counter()
        data = self._input(data)
        self.n_features_in_ = _feature_width(data)  # in every checkpoint this fit writes
        state = None
        if resume_from is not None:  # checked before prepare(), which may take minutes (Leiden)
            state = load_checkpoint(resume_from, method=self.name)
            _check_feature_width(resume_from, state, self.n_features_in_)
            self._check_resume(resume_from, state)
        self.prepare(data)
        model = self.build(data).to(self.device_)
        optimizer = torch.optim.Adam(model.parameters(), lr=float(self.config['optim']['lr']),
                                     weight_decay=float(self.config['optim']['weight_decay']))
        start_epoch = 1
        prior_seconds = 0.0  # training time of the earlier fits a checkpoint continues
        history: list[dict[str, Any]] = []
        if state is not None:
            try:
                model.load_state_dict(state['state_dict'])
            except RuntimeError as exc:
                raise GCLConfigError(f'{resume_from} does not fit this model (different config '
                                     f'or dataset?): {_mismatch(exc)}') from exc
            if state.get('optimizer'):
                optimizer.load_state_dict(state['optimizer'])
            self.load_extra_state(state.get('extra') or {})
            history = list((state.get('extra') or {}).get('history', []))
            prior_seconds = float((state.get('extra') or {}).get('fit_seconds', 0.0))
            self.git_commits_ = _commits_after(
                (state.get('extra') or {}).get('git_commits'), self.git_commits_[0])
            if state.get('rng') is not None:
                torch.set_rng_state(state['rng'])
            if state.get('cuda_rng') is not None and self.device_.type == 'cuda' and \
                    len(state['cuda_rng']) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(state['cuda_rng'])
            start_epoch = int(state['epoch']) + 1
            logger.info('resuming %s from epoch %d', self.name, start_epoch)
        self.resumed_from_epoch_ = start_epoch - 1 if resume_from is not None else None
        epochs = int(self.config['optim']['epochs'])
        with loss_precision(precision), keep_subnormals_out(optimizer):
            history += fit_loop(self, model, data, optimizer, epochs=epochs,
                                start_epoch=start_epoch, progress=progress,
                                checkpoint_path=checkpoint_path,
                                checkpoint_every=int(self.config['train']['checkpoint_every']),
                                checkpoint_seconds=checkpoint_seconds, prior_history=history,
                                prior_seconds=prior_seconds + time.perf_counter() - start,
                                callbacks=callbacks)
        for callback in callbacks:  # e.g. RankMe(select=True) loads its chosen epoch's weights
            finish = getattr(callback, 'on_fit_end', None)
            if finish is not None:
                finish(self, model)
        release_exp_cache()   # the loss kernel's exp buffer (up to a few GB) is not needed now
        self.model_ = model
        self.optimizer_ = optimizer
        self.history_ = history
        self.n_features_in_ = _feature_width(data)
        self.fit_seconds_ = prior_seconds + time.perf_counter() - start
        if checkpoint_path is not None:
            self.save(checkpoint_path)
        return self

    def resolve_saved_config(self, config: Any) -> Any:
        """A checkpoint's ``config`` as this class resolves it (over its defaults), so that an
        option added to gcl after the checkpoint was written (at its default) does not make it
        "another config"; returned as it is when this gcl does not know its keys (then it is
        another config) or it is not a dict."""
        if not isinstance(config, dict):
            return config
        try:
            return type(self)(config).config
        except GCLError:
            return config

    def _check_resume(self, path: str | Path, state: dict[str, Any]) -> None:
        """Refuse to continue a checkpoint trained with other settings.

        Epochs 1..k ran under the checkpoint's config; continuing them under another seed, loss,
        augmentation or dataset gives a model no single config describes, while the run's record
        would name this one. Only evaluation and bookkeeping options may differ
        (:data:`RESUME_MAY_DIFFER`), and ``optim.epochs`` (training continues to the new count,
        with a warning when it changed, since schedules such as gCooL's depend on it).
        """
        done, epochs = int(state.get('epoch', 0)), int(self.config['optim']['epochs'])
        if done > epochs:
            raise GCLConfigError(f'{path} is at epoch {done}, past the {epochs} epochs asked for; '
                                 f'give at least --epochs {done} (optim.epochs) to continue it')
        saved = self.resolve_saved_config(state.get('config'))
        if not isinstance(saved, dict):
            return  # a checkpoint without its config: nothing to compare
        ours, theirs = flatten(self.config), flatten(saved)
        first = ('dataset', 'seed')  # the likeliest slips, named before the rest
        differ = [key for key in [*first, *sorted(set(ours) | set(theirs) - set(first))]
                  if canonical(ours.get(key)) != canonical(theirs.get(key))
                  and not key.startswith(RESUME_MAY_DIFFER) and key != 'optim.epochs']
        if differ:
            shown = ', '.join(f'{key} {theirs.get(key)!r} (here {ours.get(key)!r})'
                              for key in differ[:5])
            more = f' and {len(differ) - 5} more' if len(differ) > 5 else ''
            config_file = Path(path).parent / 'config.yaml'
            how = (f'gcl train -m {self.name} -d {theirs.get("dataset")} --config {config_file} '
                   f'--resume {path}' if config_file.is_file() else
                   f"{type(self).__name__}(load_checkpoint(path)['config']).fit(data, "
                   'resume_from=path)')
            raise GCLConfigError(f'{path} was trained with other settings: {shown}{more}. Resume '
                                 f"with the checkpoint's own config ({how}), or train afresh.")
        if ours.get('optim.epochs') != theirs.get('optim.epochs'):
            logger.warning('%s was written for %s epochs; training continues to %s, so any '
                           'schedule over the epochs differs from an uninterrupted run',
                           path, theirs.get('optim.epochs'), ours.get('optim.epochs'))

    @torch.no_grad()
    def embed(self, data: Data) -> Tensor:
        """Encoder output on the un-augmented ``data``: a CPU float tensor ``[N, D]``."""
        model = self._fitted()
        check_graph(data, warn_isolated=False)  # fit already said so
        fitted, width = getattr(self, 'n_features_in_', None), _feature_width(data)
        if fitted is not None and width is not None and width != fitted:
            raise GCLDataError(f'this {type(self).__name__} was fitted on {fitted} node features, '
                               f'but this graph has {width}; embed graphs with the same feature '
                               'columns, or fit again')
        model.eval()
        z = self.encode(model, self._input(data))
        return z.detach().float().cpu()

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint (state_dict, config, epoch, history) atomically."""
        return self.write_checkpoint(path, self._fitted(), getattr(self, 'optimizer_', None),
                                     self.history_, getattr(self, 'fit_seconds_', None))

    def write_checkpoint(self, path: str | Path, model: nn.Module,
                         optimizer: torch.optim.Optimizer | None,
                         history: list[dict[str, Any]], fit_seconds: float | None) -> Path:
        """The one place a checkpoint's content is decided (:meth:`save` at the end of a fit,
        the training loop during one): model and optimiser state, config, the last epoch of
        ``history``, and in ``extra`` the method's state, the history and the training time."""
        extra = {**self.extra_state(), 'history': list(history)}
        if fit_seconds is not None:
            extra['fit_seconds'] = float(fit_seconds)
        if getattr(self, 'git_commits_', None):
            extra['git_commits'] = list(self.git_commits_)
        if getattr(self, 'n_features_in_', None) is not None:
            extra['n_features_in'] = int(self.n_features_in_)
        return save_checkpoint(path, method=self.name, config=self.config,
                               state_dict=model.state_dict(),
                               optimizer=optimizer.state_dict() if optimizer else None,
                               epoch=int(history[-1]['epoch']) if history else 0, extra=extra)

    @classmethod
    def load(cls, path: str | Path, data: Data, device: str | torch.device = 'cpu') -> Method:
        """Rebuild a fitted method from a checkpoint; ``data`` gives the input shapes."""
        state = load_checkpoint(path, method=cls.name)
        method = cls(state['config'])
        method.device_ = resolve_device(device)
        data = method._input(data)
        _check_feature_width(path, state, _feature_width(data))
        method.prepare(data)
        model = method.build(data).to(method.device_)
        try:
            model.load_state_dict(state['state_dict'])
        except RuntimeError as exc:
            raise GCLConfigError(f'{path} does not fit this data (another graph or feature '
                                 f'width?): {_mismatch(exc)}') from exc
        method.load_extra_state(state.get('extra') or {})
        method.model_ = model
        method.n_features_in_ = _feature_width(data)
        method.history_ = list((state.get('extra') or {}).get('history', []))
        commits = (state.get('extra') or {}).get('git_commits')
        if isinstance(commits, list) and commits:
            method.git_commits_ = [str(c) for c in commits]
        return method

    def _input(self, data: Data) -> Data:
        """``data`` as every fit, embed and prediction reads it: float32 features, on the
        method's device (:func:`float32_features`)."""
        return float32_features(data).to(self.device_)

    def _fitted(self) -> nn.Module:
        model = getattr(self, 'model_', None)
        if model is None:
            raise NotFittedError(f'this {type(self).__name__} is not fitted yet; call '
                                 '.fit(data) first')
        return model

    def __repr__(self) -> str:
        return f'{type(self).__name__}(seed={self.seed})'


def float32_features(data: Data) -> Data:
    """``data`` with float64 / float16 / bfloat16 features as float32, the caller's untouched.

    The encoders' weights are float32; features from numpy arrive as float64 and used to stop
    the first matrix product with a dtype RuntimeError. A shallow copy gets the cast ``x``.
    """
    x = getattr(data, 'x', None)
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dtype == torch.float32:
        return data
    logger.info('node features are %s; training on a float32 copy', str(x.dtype).split('.')[-1])
    data = copy.copy(data)
    data.x = x.float()
    return data


def _feature_width(data: Data) -> int | None:
    """``F`` of ``data.x [N, F]`` (dense or sparse), or ``None`` for a graph without features."""
    x = getattr(data, 'x', None)
    return int(x.size(1)) if isinstance(x, Tensor) and x.dim() == 2 else None


def canonical(value: Any) -> str:
    """A config (or one value of it) as JSON with sorted keys, for comparisons: a tuple from
    Python and a list from YAML compare equal."""
    return json.dumps(value, sort_keys=True, default=str)


def _mismatch(exc: RuntimeError) -> str:
    """``load_state_dict``'s error in one line: the first size mismatch as two shapes, and which
    parameters are missing or unexpected (its own message runs over several long lines)."""
    text = str(exc)
    shape = r'torch\.Size\((\[[^\]]*\])\)'
    sizes = re.findall(rf'size mismatch for ([\w.]+): copying a param with shape {shape} from '
                       rf'checkpoint, the shape in current model is {shape}', text)
    parts = []
    if sizes:
        name, saved, here = sizes[0]
        more = f' ({len(sizes) - 1} more size mismatches)' if len(sizes) > 1 else ''
        parts.append(f'{name} is {saved} in the checkpoint and {here} here{more}')
    for label, what in (('Missing key(s)', 'missing from the checkpoint'),
                        ('Unexpected key(s)', 'not in this model')):
        found = re.search(re.escape(label) + r' in state_dict: ([^\n]*)', text)
        if found:
            names = re.findall(r'"([^"]+)"', found.group(1))
            parts.append(f'{what}: {", ".join(names[:3])}'
                         + (f' and {len(names) - 3} more' if len(names) > 3 else ''))
    return '; '.join(parts) or text.splitlines()[0][:200]


def _check_feature_width(path: str | Path, state: dict[str, Any], width: int | None) -> None:
    """Refuse a graph whose feature width differs from the one the checkpoint was fitted on,
    naming both (checkpoints before this field fail later, in ``load_state_dict``)."""
    fitted = (state.get('extra') or {}).get('n_features_in')
    if fitted is None or width is None or int(fitted) == int(width):
        return
    dataset = (state.get('config') or {}).get('dataset')
    where = f' (dataset {dataset!r})' if dataset else ''
    raise GCLDataError(f'{path} was fitted on {fitted} node features{where}, but this graph has '
                       f'{width}; use it with the graph it was trained on')


def _check_optim(optim: dict[str, Any]) -> None:
    """Refuse optimiser settings no training can use, naming the option.

    ``--set optim.lr=-1`` used to reach ``torch.optim.Adam`` (a traceback) and ``--epochs -3``
    trained nothing and evaluated the initial encoder without a word. ``epochs: 0`` stays allowed:
    it evaluates the untrained encoder, a baseline.
    """
    def number(key: str) -> float:
        value = as_number(optim.get(key))
        if value is None:
            raise GCLConfigError(f'optim.{key} must be a number, got {optim.get(key)!r}')
        return value

    epochs, lr, weight_decay = number('epochs'), number('lr'), number('weight_decay')
    if epochs < 0 or epochs != int(epochs):
        raise GCLConfigError(f'optim.epochs must be a whole number >= 0, got {optim["epochs"]!r}')
    if not 0 < lr < float('inf'):
        raise GCLConfigError(f'optim.lr must be a positive number, got {optim["lr"]!r}')
    if not 0 <= weight_decay < float('inf'):
        raise GCLConfigError(f'optim.weight_decay must be 0 or more, got '
                             f'{optim["weight_decay"]!r}')


def _check_widths(encoder: dict[str, Any]) -> None:
    """Layer widths (``encoder.hidden``, ``first_hidden``, ``proj_hidden``, ``n_z``) are >= 1.

    ``--set encoder.hidden=0`` used to fail deep inside a matrix product with an IndexError.
    ``None`` keeps its meaning (the method's default width); ``hidden`` may be a list of widths.
    """
    for key in ('hidden', 'first_hidden', 'proj_hidden', 'n_z'):
        value = encoder.get(key)
        if value is None:
            continue
        widths = list(value) if key == 'hidden' and isinstance(value, (list, tuple)) else [value]
        if not widths or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1
                                 for w in widths):
            raise GCLConfigError(f'encoder.{key} must be a width >= 1'
                                 f'{" (or a list of them)" if key == "hidden" else ""}, '
                                 f'got {value!r}')


def _commits_after(earlier: Any, current: str) -> list[str]:
    """The commits a resumed training ran under: a checkpoint's ``earlier`` list (none in
    checkpoints older than this field: ``'unknown'``), then ``current`` unless it is the last."""
    commits = [str(c) for c in earlier] if isinstance(earlier, list) and earlier else ['unknown']
    return commits if commits[-1] == current else [*commits, current]
