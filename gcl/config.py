"""Configs: nested dicts with the papers' settings, shipped as YAML per method x dataset.

Precedence (low to high): the method's defaults < ``gcl/configs/<method>/<dataset>.yaml`` (the
paper's settings, when shipped) < a user's ``--config file.yaml`` < ``--set key=value`` < flags.
Keys are checked against the method's defaults, so a typo fails loudly. A ``--set`` key is a
dotted path (``optim.lr``) or a leaf name that is unique in the config (``lr``). Two kinds of keys
outside the defaults are accepted by :func:`load_config`: an option of the configured loss class
(``loss.num_negatives``, ``loss.sigma``; checked against its constructor) and, as a bare name, an
option of a generated dataset's builder (``num_nodes`` -> ``data.options.num_nodes``).
"""

from __future__ import annotations

import copy
import difflib
import inspect
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gcl.errors import GCLConfigError

__all__ = ['as_number', 'merge_config', 'load_config', 'apply_overrides', 'parse_overrides',
           'shipped_config', 'flatten', 'set_path', 'leaf_paths', 'shipped_config_names']

# Keys that may hold free-form dicts (no schema check below them).
_FREE_SECTIONS = {'options'}


def flatten(config: Mapping[str, Any], prefix: str = '') -> dict[str, Any]:
    """``{'a': {'b': 1}}`` -> ``{'a.b': 1}``."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        path = f'{prefix}{key}'
        if isinstance(value, Mapping) and key not in _FREE_SECTIONS:
            out.update(flatten(value, path + '.'))
        else:
            out[path] = value
    return out


def leaf_paths(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """Leaf name -> the dotted paths ending in it."""
    table: dict[str, list[str]] = {}
    for path in flatten(config):
        table.setdefault(path.rsplit('.', 1)[-1], []).append(path)
    return table


def _resolve_path(schema: Mapping[str, Any], key: str) -> str:
    flat = flatten(schema)
    if key in flat:
        return key
    if '.' not in key:
        paths = leaf_paths(schema).get(key, [])
        if len(paths) == 1:
            return paths[0]
        if len(paths) > 1:
            raise GCLConfigError(f'option {key!r} is ambiguous; say one of: {", ".join(paths)}')
    parts = key.split('.')
    for i in range(len(parts) - 1, 0, -1):  # a free-form section such as data.options.num_nodes
        head = '.'.join(parts[:i])
        if head in flat and parts[i - 1] in _FREE_SECTIONS:
            return key
    raise GCLConfigError(f'unknown option {key!r}; {_suggest(key, list(flat))}')


def _suggest(key: str, paths: list[str]) -> str:
    """'did you mean ...?' for a misspelt option (by its dotted path or its leaf name), else a
    list of valid options that contain the key's leaf."""
    leaf = key.rsplit('.', 1)[-1]
    by_leaf: dict[str, list[str]] = {}
    for path in paths:
        by_leaf.setdefault(path.rsplit('.', 1)[-1], []).append(path)
    near = difflib.get_close_matches(key, paths, n=3, cutoff=0.75)
    for name in difflib.get_close_matches(leaf, list(by_leaf), n=3, cutoff=0.6):
        near += [p for p in by_leaf[name] if p not in near]
    if near:
        return f'did you mean {" or ".join(near[:3])}?'
    close = [p for p in paths if leaf in p] or sorted(paths)[:12]
    return f'valid options include: {", ".join(close)}'


def as_number(value: Any) -> float | None:
    """``value`` as a float when it is a number or a number written as text; ``None`` otherwise
    (``True``/``False`` are flags, not numbers, although Python would read them as 1 and 0)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _check_value(key: str, default: Any, value: Any) -> None:
    """Raise when ``value`` cannot be what the option's ``default`` is (a number, a flag).

    Without this a typo such as ``--set optim.lr=abc`` or ``--set loss.symmetric=maybe`` got
    past the config and failed later inside torch with a traceback, or silently read a string as
    True. Numbers written as text are kept (YAML reads ``1e-3`` as a string; the code calls
    ``float``), and an integer option may take a list (``encoder.hidden``: layer sizes).
    """
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise GCLConfigError(f'option {key!r} is a flag: give true or false, got {value!r}')
    elif isinstance(default, (int, float)) and isinstance(value, (bool, str)) and \
            as_number(value) is None:
        raise GCLConfigError(f'option {key!r} takes a number, got {value!r}')


def set_path(config: dict[str, Any], path: str, value: Any) -> None:
    """Set ``config['a']['b'] = value`` for ``path='a.b'``, creating free-form dicts."""
    node = config
    parts = path.split('.')
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def merge_config(schema: Mapping[str, Any], *layers: Mapping[str, Any] | None,
                 source: str = 'config',
                 open_key: Callable[[str, dict[str, Any]], str | None] | None = None,
                 paths: dict[str, str] | None = None) -> dict[str, Any]:
    """Deep-merge ``layers`` over ``schema``; keys absent from ``schema`` raise.

    ``open_key(key, merged)`` may place a key the schema lacks (default: an option of the
    configured loss class, :func:`_loss_option`); it sees the config merged from all layers and
    returns the dotted path, or ``None`` to keep the error. ``paths``, when given, is filled with
    each layer key's resolved dotted path (``'tau'`` -> ``'loss.tau'``).
    """
    result = copy.deepcopy(dict(schema))
    defaults = flatten(schema)
    deferred: list[tuple[str, Any, GCLConfigError]] = []
    for layer in layers:
        if not layer:
            continue
        for key, value in flatten(layer).items():
            try:
                path = _resolve_path(schema, key)
            except GCLConfigError as exc:
                deferred.append((key, value, exc))
                continue
            _check_value(key, defaults.get(path), value)
            set_path(result, path, copy.deepcopy(value))
            if paths is not None:
                paths[key] = path
    for key, value, exc in deferred:
        path = (open_key or _loss_option)(key, result)
        if path is None:
            raise exc
        set_path(result, path, copy.deepcopy(value))
        if paths is not None:
            paths[key] = path
    return result


def _loss_option(key: str, config: dict[str, Any]) -> str | None:
    """``loss.<option>`` (or a bare ``<option>``) when the configured loss class's constructor
    takes it (``loss.num_negatives``, ``loss.sigma``), else ``None``."""
    parts = key.split('.')
    section = config.get('loss')
    if not (len(parts) == 1 or (len(parts) == 2 and parts[0] == 'loss')) \
            or not isinstance(section, dict) or not section.get('name'):
        return None
    from gcl.registry import resolve

    try:
        cls = resolve('loss', section['name'])
    except GCLConfigError:
        return None
    if parts[-1] in list(inspect.signature(cls.__init__).parameters)[1:]:
        return f'loss.{parts[-1]}'
    return None


def _open_key(dataset: str) -> Callable[[str, dict[str, Any]], str | None]:
    """Where a key outside the method's schema may go (see :func:`load_config`)."""

    def place(key: str, config: dict[str, Any]) -> str | None:
        parts = key.split('.')
        path = _loss_option(key, config)
        if path is not None:
            return path
        if len(parts) == 1:
            builder = _generated_builder(dataset)
            if builder is not None:
                params = list(inspect.signature(builder).parameters.values())[2:]
                options = [p.name for p in params if p.kind is not p.VAR_KEYWORD]
                if key in options:                                   # after spec, root
                    return f'data.options.{key}'
        return None

    return place


def _generated_builder(dataset: str) -> Callable[..., Any] | None:
    """The builder of a generated dataset (``synthetic-sbm``, multiplex), else ``None``."""
    try:
        from gcl.data.catalog import get_spec
        from gcl.data.loaders import _GENERATED

        return _GENERATED.get(get_spec(dataset).loader)
    except GCLConfigError:
        return None


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """``['optim.lr=0.01', 'p_edge=[0.2,0.4]']`` -> ``{'optim.lr': 0.01, 'p_edge': [0.2, 0.4]}``.

    Values are parsed with ``yaml.safe_load`` (numbers, lists, booleans, null).
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        if '=' not in pair:
            raise GCLConfigError(f'--set expects key=value, got {pair!r}')
        key, raw = pair.split('=', 1)
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise GCLConfigError(f'--set {key}: cannot parse value {raw!r}') from exc
    return out


def yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error on one line: ``'line 2, column 1: expected the node content, ...'``.

    ``str(exc)`` spans four lines with a caret drawing, which broke the CLI's one-line errors.
    """
    mark = getattr(exc, 'problem_mark', None)
    problem = getattr(exc, 'problem', None) or ' '.join(str(exc).split())
    where = f'line {mark.line + 1}, column {mark.column + 1}: ' if mark is not None else ''
    return f'{where}{problem}'


def _read_yaml(path: Path | Any) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise GCLConfigError(f'{path}: not valid YAML ({yaml_problem(exc)})') from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise GCLConfigError(f'{path}: a config must be a mapping, got {type(loaded).__name__}')
    return loaded


def shipped_config(method: str, dataset: str) -> dict[str, Any] | None:
    """The shipped paper config for (method, dataset), or ``None`` when there is none."""
    folder = resources.files('gcl') / 'configs' / method
    candidate = folder / f'{dataset}.yaml'
    if candidate.is_file():
        return _read_yaml(candidate)
    return None


def shipped_config_names(method: str) -> list[str]:
    """Datasets with a shipped config for ``method``."""
    folder = resources.files('gcl') / 'configs' / method
    if not folder.is_dir():
        return []
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith('.yaml'))


def load_config(method: str, dataset: str, *, config_file: str | Path | None = None,
                overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The resolved config of a run: defaults < shipped YAML < ``config_file`` < ``overrides``."""
    from gcl.methods import get_method

    cls = get_method(method)
    dataset_name = dataset
    try:
        from gcl.data.catalog import get_spec

        dataset_name = get_spec(dataset).name
    except GCLConfigError:
        pass  # a custom graph file: no shipped config
    schema = cls.default_config()
    shipped = shipped_config(cls.name, dataset_name)
    user = _read_yaml(Path(config_file)) if config_file else None
    config = merge_config(schema, shipped, user, overrides, open_key=_open_key(dataset_name))
    files = (config.get('data') or {}).get('files') or {}
    for key, path in files.items():       # a run read again from elsewhere finds its files
        if path:
            files[key] = str(Path(path).expanduser().resolve())
    config['method'] = cls.name
    config['dataset'] = dataset_name
    config['provenance'] = (shipped or {}).get('provenance', 'gcl defaults (no paper config '
                                               f'shipped for {cls.name} on {dataset_name})')
    return config


def apply_overrides(config: Mapping[str, Any], overrides: Mapping[str, Any], *,
                    paths: dict[str, str] | None = None) -> dict[str, Any]:
    """A copy of the resolved ``config`` with ``overrides`` applied as ``--set`` would apply them.

    Keys are resolved exactly as in :func:`load_config` (dotted paths, unique leaf names, loss
    options, generated-dataset options); unknown keys raise :class:`GCLConfigError`. ``paths``
    is filled as in :func:`merge_config`. Used by :func:`gcl.train.sweep.sweep` to place each
    point of a grid on one base config.
    """
    from gcl.methods import get_method

    schema = get_method(config['method']).default_config()
    return merge_config(schema, config, overrides, open_key=_open_key(str(config['dataset'])),
                        paths=paths)
