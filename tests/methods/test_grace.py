"""GRACE end to end on small graphs: fit/embed, determinism, resume, NaN guard, bad checkpoints."""

from __future__ import annotations

import pytest
import torch

import gcl
from gcl.errors import (
    GCLCheckpointError,
    GCLConfigError,
    GCLDataError,
    NotFittedError,
    TrainingDivergedError,
)
from gcl.methods import GRACE, get_method
from gcl.train import load_checkpoint


def test_fit_embed_shapes_and_learning(sbm_graph):
    model = GRACE(hidden=16, epochs=30, lr=0.01, random_state=0).fit(sbm_graph)
    z = model.embed(sbm_graph)
    assert z.shape == (60, 16) and z.dtype == torch.float32
    assert len(model.history_) == 30
    assert model.history_[-1]['loss'] < model.history_[0]['loss']
    report = gcl.evaluate(z, sbm_graph, tasks=('cluster',), repeats=2)
    assert report['cluster']['nmi'] > 0.8  # the planted blocks are recovered


def test_same_seed_same_embeddings(sbm_graph):
    z1 = GRACE(hidden=8, epochs=5, random_state=3).fit(sbm_graph).embed(sbm_graph)
    z2 = GRACE(hidden=8, epochs=5, random_state=3).fit(sbm_graph).embed(sbm_graph)
    z3 = GRACE(hidden=8, epochs=5, random_state=4).fit(sbm_graph).embed(sbm_graph)
    assert torch.equal(z1, z2)
    assert not torch.equal(z1, z3)


def test_resume_continues_exactly(sbm_graph, tmp_path):
    full = GRACE(hidden=8, epochs=6, random_state=0).fit(sbm_graph)
    half = GRACE(hidden=8, epochs=3, random_state=0).fit(sbm_graph,
                                                          checkpoint_path=tmp_path / 'c.pt')
    assert load_checkpoint(tmp_path / 'c.pt', 'grace')['epoch'] == 3
    resumed = GRACE(hidden=8, epochs=6, random_state=0).fit(sbm_graph,
                                                            resume_from=tmp_path / 'c.pt')
    assert [h['epoch'] for h in resumed.history_] == list(range(1, 7))
    assert half.history_[-1]['loss'] == pytest.approx(full.history_[2]['loss'])
    torch.testing.assert_close(resumed.embed(sbm_graph), full.embed(sbm_graph))



def test_nan_guard_on_huge_learning_rate(sbm_graph):
    with pytest.raises(TrainingDivergedError, match='loss became'):
        GRACE(hidden=8, epochs=40, lr=1e30, random_state=0).fit(sbm_graph)


def test_not_fitted_and_unknown_options(sbm_graph):
    with pytest.raises(NotFittedError, match='fit'):
        GRACE().embed(sbm_graph)
    with pytest.raises(GCLConfigError, match='unknown option'):
        GRACE(hiden=3)
    with pytest.raises(GCLConfigError, match='unknown method'):
        get_method('nope')
    with pytest.raises(GCLConfigError, match='p_edge'):
        GRACE(p_edge=[0.2, 1.5], epochs=1).fit(sbm_graph)


def test_checkpoint_save_load_roundtrip(sbm_graph, tmp_path):
    model = GRACE(hidden=8, epochs=2, random_state=0).fit(sbm_graph)
    path = model.save(tmp_path / 'model.pt')
    again = GRACE.load(path, sbm_graph)
    torch.testing.assert_close(again.embed(sbm_graph), model.embed(sbm_graph))


def test_embedding_a_graph_of_another_feature_width_is_refused(sbm_graph, tmp_path):
    """It used to fail inside a matrix product with numpy's gufunc message."""
    model = GRACE(hidden=8, epochs=1, random_state=0).fit(sbm_graph)
    other = sbm_graph.clone()
    other.x = torch.cat([other.x, other.x[:, :3]], dim=1)
    width = sbm_graph.num_features
    assert model.n_features_in_ == width
    with pytest.raises(GCLDataError, match=f'fitted on {width} node features, but this graph '
                                           f'has {width + 3}'):
        model.embed(other)
    again = GRACE.load(model.save(tmp_path / 'model.pt'), sbm_graph)   # a loaded one knows too
    with pytest.raises(GCLDataError, match='fitted on'):
        again.embed(other)
    # loading or resuming it with such a graph: it used to stop in load_state_dict, its
    # size-mismatch message cut off at 200 characters
    with pytest.raises(GCLDataError, match=f'model.pt was fitted on {width} node features, but '
                                           f'this graph has {width + 3}'):
        GRACE.load(tmp_path / 'model.pt', other)
    with pytest.raises(GCLDataError, match=f'fitted on {width} node features'):
        GRACE(hidden=8, epochs=2, random_state=0).fit(other, resume_from=tmp_path / 'model.pt')
    # a checkpoint from before the width was recorded: load_state_dict's several long lines
    # are one short one, naming the parameter and both shapes
    old = torch.load(tmp_path / 'model.pt', weights_only=True)
    del old['extra']['n_features_in']
    torch.save(old, tmp_path / 'old.pt')
    with pytest.raises(GCLConfigError) as error:
        GRACE.load(tmp_path / 'old.pt', other)
    message = str(error.value)
    assert f'is [16, {width}] in the checkpoint and [16, {width + 3}] here' in message, message
    assert '\n' not in message and 'copying a param' not in message
    with pytest.raises(GCLConfigError, match='optim.lr must be a positive number'):
        GRACE(lr=0.0, epochs=1).fit(sbm_graph)


def test_unsafe_or_foreign_checkpoints_are_refused(tmp_path, sbm_graph):
    class Evil:
        def __reduce__(self):
            return (print, ('pwned',))

    torch.save({'format': 'gcl-checkpoint-v1', 'payload': Evil()}, tmp_path / 'evil.pt')
    with pytest.raises(GCLCheckpointError, match='not a safe'):
        load_checkpoint(tmp_path / 'evil.pt')
    torch.save({'weights': torch.ones(2)}, tmp_path / 'foreign.pt')
    with pytest.raises(GCLCheckpointError, match='not a gcl checkpoint'):
        load_checkpoint(tmp_path / 'foreign.pt')
    (tmp_path / 'trunc.pt').write_bytes(b'PK\x03\x04garbage')
    with pytest.raises(GCLCheckpointError, match='not a readable'):
        load_checkpoint(tmp_path / 'trunc.pt')
    with pytest.raises(GCLCheckpointError, match='does not exist'):
        load_checkpoint(tmp_path / 'missing.pt')
    (tmp_path / 'x.csv').write_text('1,2\n3,4\n')     # a wrong file, not an unsafe one
    with pytest.raises(GCLCheckpointError, match='x.csv is not a checkpoint: not a file'):
        load_checkpoint(tmp_path / 'x.csv')
    (tmp_path / 'empty.pt').write_bytes(b'')
    with pytest.raises(GCLCheckpointError, match='not a checkpoint'):
        load_checkpoint(tmp_path / 'empty.pt')
    model = GRACE(hidden=8, epochs=1, random_state=0).fit(sbm_graph)
    model.save(tmp_path / 'grace.pt')
    with pytest.raises(GCLCheckpointError, match="method 'grace'"):
        load_checkpoint(tmp_path / 'grace.pt', method='gca')


def test_encoder_is_f_2d_d_with_activation_after_each_layer(sbm_graph):
    model = GRACE(hidden=16, epochs=1, activation='prelu', random_state=0).fit(sbm_graph)
    convs = model.model_.encoder.convs
    assert [c.in_channels for c in convs] == [12, 32]
    assert [c.out_channels for c in convs] == [32, 16]
    assert isinstance(model.model_.encoder.activation, torch.nn.PReLU)
