"""Configs: nested dicts with the papers' settings, shipped as YAML per method x dataset.

Precedence (low to high): the method's defaults < ``gcl/configs/<method>/<dataset>.yaml`` (the
paper's settings, when shipped) < a user's ``--config file.yaml`` < ``--set key=value`` < flags.
Keys are checked against the method's defaults, so a typo fails loudly. A ``--set`` key is a
dotted path (``optim.lr``) or a leaf name that is unique in the config (``lr``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gcl.errors import GCLConfigError

__all__ = ['merge_config', 'load_config', 'parse_overrides', 'shipped_config', 'flatten',
           'set_path', 'leaf_paths', 'shipped_config_names']

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
    close = [p for p in flat if key.rsplit('.', 1)[-1] in p] or sorted(flat)[:12]
    raise GCLConfigError(f'unknown option {key!r}; valid options include: {", ".join(close)}')


def set_path(config: dict[str, Any], path: str, value: Any) -> None:
    """Set ``config['a']['b'] = value`` for ``path='a.b'``, creating free-form dicts."""
    node = config
    parts = path.split('.')
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def merge_config(schema: Mapping[str, Any], *layers: Mapping[str, Any] | None,
                 source: str = 'config') -> dict[str, Any]:
    """Deep-merge ``layers`` over ``schema``; keys absent from ``schema`` raise."""
    result = copy.deepcopy(dict(schema))
    for layer in layers:
        if not layer:
            continue
        for key, value in flatten(layer).items():
            path = _resolve_path(schema, key)
            set_path(result, path, copy.deepcopy(value))
    return result


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


def _read_yaml(path: Path | Any) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise GCLConfigError(f'{path}: not valid YAML ({exc})') from exc
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
    config = merge_config(schema, shipped, user, overrides)
    config['method'] = cls.name
    config['dataset'] = dataset_name
    config['provenance'] = (shipped or {}).get('provenance', 'gcl defaults (no paper config '
                                               f'shipped for {cls.name} on {dataset_name})')
    return config
