"""Custom-graph constructors and the bad inputs they must reject with clear messages."""

from __future__ import annotations

import re

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.utils import is_undirected

from gcl.data import check_graph, from_csv, from_edge_index, from_networkx, from_scipy
from gcl.errors import GCLDataError


def test_from_edge_index_makes_undirected_and_cleans():
    edge_index = torch.tensor([[0, 1, 1, 2, 2], [1, 2, 2, 0, 2]])  # duplicate 1->2, loop 2->2
    data = from_edge_index(edge_index, torch.ones(3, 4), torch.tensor([0, 1, 0]))
    assert is_undirected(data.edge_index)
    assert data.num_edges == 6  # 3 undirected edges, both directions, no loop, no duplicate
    assert not bool((data.edge_index[0] == data.edge_index[1]).any())


def test_from_edge_index_accepts_edge_list_rows():
    data = from_edge_index(torch.tensor([[0, 1], [1, 2]]), torch.ones(3, 2))
    assert data.num_edges == 4


@pytest.mark.parametrize('edge_index,x,match', [
    (torch.tensor([[0, 1], [1, 3]]), torch.ones(3, 2), r'node 3.*ids 0\.\.2'),
    (torch.tensor([[0, -1], [1, 2]]), torch.ones(3, 2), 'negative node id'),
    (torch.tensor([[0.0, 1.0], [1.0, 2.0]]), torch.ones(3, 2), 'integer node ids'),
    (torch.tensor([[0, 1], [1, 2]]), torch.tensor([[1.0], [float('nan')], [0.0]]), 'NaN/inf'),
    (torch.tensor([[0, 1], [1, 2]]), torch.ones(3), '2-D'),
    (torch.tensor([[0, 1, 2]]), torch.ones(3, 2), r'shape \[2, E\]'),
])
def test_bad_inputs(edge_index, x, match):
    with pytest.raises(GCLDataError, match=match):
        from_edge_index(edge_index, x)


def test_self_loops_can_be_an_error():
    with pytest.raises(GCLDataError, match='self-loops'):
        from_edge_index(torch.tensor([[0, 1], [0, 2]]), torch.ones(3, 2), self_loops='error')


def test_empty_graph_and_no_edges():
    with pytest.raises(GCLDataError, match='empty'):
        from_edge_index(torch.empty(2, 0, dtype=torch.long))
    with pytest.raises(GCLDataError, match='no edges'):
        from_edge_index(torch.empty(2, 0, dtype=torch.long), torch.ones(3, 2))


def test_labels_shape_checked():
    with pytest.raises(GCLDataError, match='labels must have shape'):
        from_edge_index(torch.tensor([[0, 1], [1, 2]]), torch.ones(3, 2), torch.tensor([0, 1]))


def test_isolated_nodes_warn_not_fail(caplog):
    data = from_edge_index(torch.tensor([[0], [1]]), torch.ones(4, 2))
    assert data.num_nodes == 4
    assert 'isolated' in caplog.text


def test_fit_warns_on_a_directed_graph_or_unused_edge_weights(caplog):
    """A ``Data`` built by hand may be directed or weighted; it is trained on (a choice the
    user may make) but not silently: the methods and their papers assume an undirected,
    unweighted graph. An undirected one gives no such warning."""
    import logging

    from torch_geometric.data import Data

    import gcl

    undirected = from_edge_index(torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]), torch.eye(4))
    with caplog.at_level(logging.WARNING, logger='gcl'):
        gcl.GRACE(hidden=4, epochs=1, random_state=0).fit(undirected)
    assert 'directed' not in caplog.text and 'does not use' not in caplog.text

    one_way = Data(x=torch.eye(4), edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]),
                   edge_weight=torch.rand(4))
    with caplog.at_level(logging.WARNING, logger='gcl'):
        gcl.GRACE(hidden=4, epochs=1, random_state=0).fit(one_way)
    assert 'GRACE: edge_index is directed' in caplog.text
    assert 'GRACE does not use data.edge_weight' in caplog.text


def test_check_graph_duplicates_and_loops_flags():
    from torch_geometric.data import Data

    data = Data(x=torch.ones(3, 1), edge_index=torch.tensor([[0, 0, 1], [1, 1, 1]]))
    with pytest.raises(GCLDataError, match='duplicate'):
        check_graph(data, allow_duplicates=False)
    with pytest.raises(GCLDataError, match='self-loops'):
        check_graph(data, allow_self_loops=False)


def test_from_networkx_with_attributes():
    graph = nx.karate_club_graph()
    for node in graph.nodes:
        graph.nodes[node]['feat'] = [float(node), 1.0]
        graph.nodes[node]['label'] = int(graph.nodes[node]['club'] == 'Officer')
    data = from_networkx(graph, feature_attr='feat', label_attr='label')
    assert data.num_nodes == 34 and data.num_edges == 2 * graph.number_of_edges()
    assert data.x.shape == (34, 2) and data.y.shape == (34,)


def test_from_scipy():
    adjacency = sp.coo_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]))
    data = from_scipy(adjacency, x=np.eye(3))
    assert data.num_edges == 4 and data.x.dtype == torch.float32
    with pytest.raises(GCLDataError, match='square'):
        from_scipy(sp.coo_matrix(np.ones((2, 3))))


def test_from_csv_roundtrip(tmp_path):
    (tmp_path / 'edges.csv').write_text('src,dst\n0,1\n1,2\n2,3\n')
    (tmp_path / 'x.csv').write_text('1,0\n0,1\n1,1\n0,0\n')
    (tmp_path / 'y.csv').write_text('0\n1\n1\n0\n')
    data = from_csv(tmp_path / 'edges.csv', tmp_path / 'x.csv', tmp_path / 'y.csv')
    assert data.num_nodes == 4 and data.num_edges == 6 and data.y.tolist() == [0, 1, 1, 0]


def test_from_csv_malformed_names_file_and_line(tmp_path):
    (tmp_path / 'edges.csv').write_text('0,1\n1,x\n')
    with pytest.raises(GCLDataError, match=r'edges\.csv:2'):
        from_csv(tmp_path / 'edges.csv')
    (tmp_path / 'e2.csv').write_text('0 1\n1 2\n')
    (tmp_path / 'x.csv').write_text('1,0\n0\n1,1\n')
    with pytest.raises(GCLDataError, match='different lengths'):
        from_csv(tmp_path / 'e2.csv', tmp_path / 'x.csv')
    with pytest.raises(GCLDataError, match='no such file'):
        from_csv(tmp_path / 'missing.csv')


def test_from_csv_names_the_line_of_an_id_out_of_range(tmp_path):
    """An id past the features' rows (1-based ids, say) names the edge file's line and the file
    that fixed N, since a command-line user cannot pass ``num_nodes=``."""
    (tmp_path / 'edges.csv').write_text('src,dst\n0,1\n1,2\n2,3\n')
    (tmp_path / 'x.csv').write_text('1,0\n0,1\n1,1\n')
    with pytest.raises(GCLDataError, match=r"edges\.csv:4: .*'2', '3'.*x\.csv has 3 rows.*0\.\.2"):
        from_csv(tmp_path / 'edges.csv', tmp_path / 'x.csv')
    with pytest.raises(GCLDataError, match=r'edges\.csv:3: .*num_nodes is 2'):
        from_csv(tmp_path / 'edges.csv', num_nodes=2)
    with pytest.raises(GCLDataError, match=r'edges\.csv:3: .*num_nodes is 2'):   # N given: not x's
        from_csv(tmp_path / 'edges.csv', tmp_path / 'x.csv', num_nodes=2)
    (tmp_path / 'neg.csv').write_text('0,1\n-1,2\n')
    with pytest.raises(GCLDataError, match=r'neg\.csv:2: node ids must be 0 or more'):
        from_csv(tmp_path / 'neg.csv')


def test_no_features_on_a_large_graph_says_how_to_give_them(tmp_path):
    """No identity features past 20,000 nodes: the message says how to pass real ones, and
    ``identity_if_missing=False`` (structure-only uses) builds the graph without ``x``."""
    n = 20_001
    edge_index = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
    with pytest.raises(GCLDataError, match=r'20001 x 20001\) would be too large.*--features'):
        from_edge_index(edge_index)
    data = from_edge_index(edge_index, identity_if_missing=False)
    assert data.x is None and data.num_nodes == n and data.num_edges == 2 * (n - 1)


@pytest.mark.parametrize('text', [
    'src,dst\n0,1\n1,2\n\n2,3\n',                   # header, blank line
    '# made by hand\n# src dst\n0 1\n1   2\n2 3\n',   # comments, runs of spaces
    'a\tb\n0\t1\n# skip\n1\t2\n2\t3\n',              # tabs, a comment inside
    '0,1,0.5\n1,2,0.1\n2,3,1.0\n',                   # a weight column, ignored
])
def test_from_csv_reads_clean_files_in_one_go_like_the_line_parser(tmp_path, monkeypatch, text):
    """A clean file is read whole by pandas with the line parser's rules: both parsers give the
    same graph (each run is made to use one of them only)."""
    import gcl.data.custom as custom

    (tmp_path / 'e.txt').write_text(text)
    (tmp_path / 'x.txt').write_text('# features\n0.5,1\n1,0.25\n\n0,0\n1e-3,2\n')
    with monkeypatch.context() as patch:
        patch.setattr(custom, '_read_numeric', lambda *args, **kwargs: None)
        slow = from_csv(tmp_path / 'e.txt', tmp_path / 'x.txt')

    def refuse(*args, **kwargs):
        raise AssertionError('the line-by-line parser should not be needed')

    monkeypatch.setattr(custom, '_read_table', refuse)
    fast = from_csv(tmp_path / 'e.txt', tmp_path / 'x.txt')
    assert torch.equal(fast.edge_index, slow.edge_index) and torch.equal(fast.x, slow.x)
    assert fast.edge_index.tolist() == [[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]]
    assert fast.x.dtype == torch.float32 and fast.x.shape == (4, 2)


def _one_parser(monkeypatch, custom, one_go: bool) -> None:
    """Make ``from_csv`` use one parser only: pandas in one go (the line parser then fails the
    test if it is called) or the line-by-line one."""
    if one_go:
        def refuse(*args, **kwargs):
            raise AssertionError('the line-by-line parser should not be needed')
        monkeypatch.setattr(custom, '_read_table', refuse)
    else:
        monkeypatch.setattr(custom, '_read_numeric', lambda *args, **kwargs: None)


@pytest.mark.parametrize('one_go', [True, False])
def test_from_csv_ignores_a_byte_order_mark(tmp_path, monkeypatch, one_go):
    """Spreadsheet exports start with a UTF-8 BOM; it must not turn the first edge into a
    'header' that is skipped."""
    import gcl.data.custom as custom

    _one_parser(monkeypatch, custom, one_go)
    (tmp_path / 'e.csv').write_bytes('\ufeff0,1\n1,2\n'.encode())
    assert from_csv(tmp_path / 'e.csv').num_edges == 4


@pytest.mark.parametrize('one_go', [True, False])
@pytest.mark.parametrize('text', [
    '"0","1"\n"1","2"\n"2","3"\n',          # every field quoted (QUOTE_ALL exports)
    '"src","dst"\n0,1\n1,2\n2,3\n',           # a quoted header
    '0.0,1.0\n1,2\n2e0,3\n',                  # integral floats as ids
    '0,1  # an inline comment\n1,2\n2,3\n',
])
def test_from_csv_rules_shared_by_both_parsers(tmp_path, monkeypatch, one_go, text):
    """Quotes, integral floats and inline comments read the same in both parsers: the first
    line of a quoted file is data, not a header to drop."""
    import gcl.data.custom as custom

    _one_parser(monkeypatch, custom, one_go)
    (tmp_path / 'e.csv').write_text(text)
    assert from_csv(tmp_path / 'e.csv').edge_index.tolist() == [[0, 1, 1, 2, 2, 3],
                                                                [1, 0, 2, 1, 3, 2]]
    (tmp_path / 'x.csv').write_text('"0.5","1"\n"1","2"\n"0","0"\n"1","1"\n')
    assert from_csv(tmp_path / 'e.csv', tmp_path / 'x.csv').x.tolist()[0] == [0.5, 1.0]


@pytest.mark.parametrize('text', [',0,1\n1,2\n2,3\n', '\t0\t1\n1\t2\n2\t3\n'])
def test_from_csv_a_leading_delimiter_keeps_the_first_edge(tmp_path, text):
    """An empty first field is dropped (the line parser's rule), not taken for a header."""
    (tmp_path / 'e.csv').write_text(text)
    assert from_csv(tmp_path / 'e.csv').num_edges == 6


def test_from_csv_a_dataframe_index_column_is_refused(tmp_path):
    """pandas' ``to_csv`` default (an index column, a header starting with a delimiter) gives
    rows one field longer than the header: an error, not the index read as a feature."""
    (tmp_path / 'e.csv').write_text('0,1\n1,2\n')
    (tmp_path / 'x.csv').write_text(',0,1\n0,0.5,1.5\n1,2.5,3.5\n2,1,1\n')
    with pytest.raises(GCLDataError, match='different lengths'):
        from_csv(tmp_path / 'e.csv', tmp_path / 'x.csv')


@pytest.mark.parametrize('one_go', [True, False])
def test_from_csv_bad_files_give_clean_errors(tmp_path, monkeypatch, one_go):
    import gcl.data.custom as custom

    if not one_go:
        monkeypatch.setattr(custom, '_read_numeric', lambda *args, **kwargs: None)
    (tmp_path / 'e.csv').write_text('0,1\n1,2\n')
    (tmp_path / 'big.csv').write_text('0,1\n1,99999999999999999999\n')
    with pytest.raises(GCLDataError, match=r'^.*big\.csv:2: node id too large'):
        from_csv(tmp_path / 'big.csv')
    (tmp_path / 'half.csv').write_text('0,1\n1,2.5\n')
    with pytest.raises(GCLDataError, match=r'^.*half\.csv:2: node ids must be integers'):
        from_csv(tmp_path / 'half.csv')
    for name, text in (('empty.csv', ''), ('header.csv', 'label\n')):
        (tmp_path / name).write_text(text)
        with pytest.raises(GCLDataError, match=rf'^.*{re.escape(name)}: no labels$'):
            from_csv(tmp_path / 'e.csv', labels=tmp_path / name)
    (tmp_path / 'xh.csv').write_text('a,b\n')
    with pytest.raises(GCLDataError, match=r'^.*xh\.csv: no feature rows$'):
        from_csv(tmp_path / 'e.csv', tmp_path / 'xh.csv')
    with pytest.raises(GCLDataError, match='one character'):
        from_csv(tmp_path / 'e.csv', delimiter='::')


@pytest.mark.parametrize('one_go', [True, False])
def test_from_csv_labels_in_id_order_or_as_pairs(tmp_path, monkeypatch, one_go):
    import gcl.data.custom as custom

    (tmp_path / 'e.csv').write_text('0,1\n1,2\n2,3\n')
    (tmp_path / 'y.csv').write_text('label\n2\n0\n1\n1\n')
    (tmp_path / 'pairs.csv').write_text('node,label\n3,1\n0,2\n2,1\n1,0\n')   # any order
    (tmp_path / 'twice.csv').write_text('0,1\n1,0\n1,1\n3,0\n')
    (tmp_path / 'words.csv').write_text('0\ncat\n1\n0\n')
    twice = re.escape(str(tmp_path / 'twice.csv'))
    with monkeypatch.context() as patch:
        _one_parser(patch, custom, one_go)
        assert from_csv(tmp_path / 'e.csv', labels=tmp_path / 'y.csv').y.tolist() == [2, 0, 1, 1]
        assert from_csv(tmp_path / 'e.csv',
                        labels=tmp_path / 'pairs.csv').y.tolist() == [2, 0, 1, 1]
        with pytest.raises(GCLDataError,
                           match=rf'^{twice}: node ids must be 0\.\.3 exactly once$'):
            from_csv(tmp_path / 'e.csv', labels=tmp_path / 'twice.csv')
    if not one_go:      # a word is read by the line parser only: pandas declines the file
        monkeypatch.setattr(custom, '_read_numeric', lambda *args, **kwargs: None)
    with pytest.raises(GCLDataError, match=r'words\.csv: labels must be integers'):
        from_csv(tmp_path / 'e.csv', labels=tmp_path / 'words.csv')
