"""Config precedence, overrides by leaf or dotted name, and loud failures on typos."""

from __future__ import annotations

import pytest

from gcl.config import load_config, merge_config, parse_overrides
from gcl.errors import GCLConfigError


def test_paper_config_is_shipped_and_layered(tmp_path):
    config = load_config('grace', 'citeseer')
    assert config['loss']['tau'] == 0.9 and config['encoder']['activation'] == 'prelu'
    assert 'GRACE config.yaml' in config['provenance']
    user = tmp_path / 'mine.yaml'
    user.write_text('optim: {lr: 0.123}\n')
    config = load_config('grace', 'citeseer', config_file=user,
                         overrides=parse_overrides(['tau=0.3', 'optim.epochs=7']))
    assert config['optim']['lr'] == 0.123 and config['loss']['tau'] == 0.3
    assert config['optim']['epochs'] == 7 and config['encoder']['hidden'] == 256


def test_unknown_and_ambiguous_keys_fail():
    schema = {'a': {'x': 1}, 'b': {'x': 2, 'y': 3}}
    with pytest.raises(GCLConfigError, match='ambiguous'):
        merge_config(schema, {'x': 5})
    with pytest.raises(GCLConfigError, match="unknown option 'z'"):
        merge_config(schema, {'z': 5})
    assert merge_config(schema, {'y': 5})['b']['y'] == 5
    with pytest.raises(GCLConfigError, match='key=value'):
        parse_overrides(['lr'])


@pytest.mark.parametrize('key, hint', [
    ('hiden', 'did you mean encoder.hidden'),          # a misspelt leaf
    ('optim.lrr', 'did you mean optim.lr?'),           # a misspelt dotted path
    ('tua', 'did you mean loss.tau?'),                 # transposed letters
    ('epoch', 'did you mean optim.epochs?'),
    ('zzz', 'valid options include: '),                # nothing close: a list instead
])
def test_an_unknown_option_suggests_the_close_ones(key, hint):
    with pytest.raises(GCLConfigError, match=f"unknown option '{key}'; {hint}"):
        load_config('grace', 'cora', overrides={key: 1})


@pytest.mark.parametrize('override, message', [
    ('optim.lr=abc', "option 'optim.lr' takes a number, got 'abc'"),
    ('lr=true', "option 'lr' takes a number, got True"),
    ('loss.symmetric=maybe', "option 'loss.symmetric' is a flag: give true or false, got 'maybe'"),
    ('loss.symmetric=1', "option 'loss.symmetric' is a flag"),
])
def test_a_value_of_the_wrong_kind_fails_when_the_config_is_read(override, message):
    """Before, optim.lr=abc failed inside torch.optim with a traceback; a flag took any string."""
    with pytest.raises(GCLConfigError, match=message):
        load_config('gca', 'cora', overrides=parse_overrides([override]))


@pytest.mark.parametrize('override, path, value', [
    ('optim.lr=1e-3', ('optim', 'lr'), '1e-3'),        # YAML reads 1e-3 as text; still a number
    ('encoder.hidden=[256,128]', ('encoder', 'hidden'), [256, 128]),   # layer sizes
    ('optim.epochs=20', ('optim', 'epochs'), 20),
    ('loss.symmetric=false', ('loss', 'symmetric'), False),
])
def test_values_of_the_right_kind_pass(override, path, value):
    config = load_config('gca', 'cora', overrides=parse_overrides([override]))
    assert config[path[0]][path[1]] == value


def test_free_form_options_section():
    config = load_config('grace', 'cora', overrides={'data.options.num_nodes': 10})
    assert config['data']['options'] == {'num_nodes': 10}


def test_bad_yaml_file(tmp_path):
    path = tmp_path / 'bad.yaml'
    path.write_text('optim: [unclosed\n')
    with pytest.raises(GCLConfigError, match='not valid YAML'):
        load_config('grace', 'cora', config_file=path)
    path.write_text('- a list\n')
    with pytest.raises(GCLConfigError, match='mapping'):
        load_config('grace', 'cora', config_file=path)


def test_every_shipped_config_loads():
    from gcl.config import shipped_config_names
    from gcl.methods import __all__ as names
    from gcl.registry import registered

    methods = {cls.name for cls in registered('method').values() if cls.__name__ in names
               and cls.__name__ != 'Method'}
    checked = 0
    for method in sorted(methods):
        for dataset in shipped_config_names(method):
            config = load_config(method, dataset)
            assert config['provenance'], (method, dataset)
            checked += 1
    assert checked >= 8
