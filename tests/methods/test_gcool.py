"""gCooL: schedule, a few epochs on small graphs (single and multiplex), toggles, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph

from gcl.config import load_config
from gcl.errors import GCLConfigError, GCLDataError
from gcl.methods import GCooL, GCooLMultiplex, get_method
from gcl.methods.gcool import gcool_schedule

SMALL = dict(hidden=16, first_hidden=24, proj_hidden=16, num_communities=4)


def sbm_graph(seed: int = 0, blocks: int = 4, size: int = 30, features: int = 12) -> Data:
    torch.manual_seed(seed)
    probs = torch.full((blocks, blocks), 0.02)
    probs.fill_diagonal_(0.3)
    edge_index = stochastic_blockmodel_graph([size] * blocks, probs)
    y = torch.arange(blocks).repeat_interleave(size)
    x = torch.rand(blocks * size, features) * (torch.rand(blocks * size, features) < 0.4)
    x[torch.arange(blocks * size), y] += 1.0           # weakly informative features
    return Data(x=x, edge_index=edge_index, y=y)


def multiplex_graph(seed: int = 0) -> Data:
    data = sbm_graph(seed)
    torch.manual_seed(seed + 100)
    probs = torch.full((4, 4), 0.05)
    probs.fill_diagonal_(0.2)
    other = stochastic_blockmodel_graph([30] * 4, probs)
    data.edge_index_A = data.edge_index
    data.edge_index_B = other
    data.edge_index = torch.cat([data.edge_index, other], dim=1).unique(dim=1)
    data.relations = ['A', 'B']
    return data


def test_schedule_values():
    assert gcool_schedule(0, 500) == (1.0, 1.0)
    alpha, beta = gcool_schedule(50, 500)
    assert alpha == pytest.approx(0.5) and beta == pytest.approx(math.exp(-0.1))
    assert gcool_schedule(100, 500)[0] == 0.0 and gcool_schedule(2900, 500)[0] == 0.0
    assert gcool_schedule(500, 500)[1] == pytest.approx(math.exp(-1))
    # stride 1000 (Computers): community terms on until t = 199
    assert gcool_schedule(199, 1000)[0] > 0 and gcool_schedule(200, 1000)[0] == 0.0
    # while alpha > 0, ReSC never gets more than ~18% of the community weight
    assert 1 - gcool_schedule(99, 500)[1] < 0.19
    with pytest.raises(GCLConfigError):
        gcool_schedule(0, 0)


def test_method_weights_and_toggle():
    method = GCooL(stride=10, alpha_rate=0.2)
    assert method.weights(1) == (1.0, 1.0)          # epoch 1 is t = 0
    assert method.weights(3)[0] == 0.0              # t = 2 = 0.2 * 10
    kept = GCooL(stride=10, keep_community_terms=True)
    assert kept.weights(500)[0] == 1.0


def test_defaults_follow_the_code():
    config = GCooL.default_config()
    assert config['loss'] == {'name': 'info_nce', 'tau': 0.4, 'intra_view': False,
                              'symmetric': False, 'batch_size': None}
    assert config['community']['similarity'] == 'cos' and config['community']['reweight'] is None
    assert config['eval']['node_protocol'] == 'gca'
    cs = load_config('gcool', 'coauthor-cs')
    assert cs['encoder']['first_hidden'] == 7105 and cs['encoder']['activation'] == 'rrelu-random'
    assert cs['optim']['epochs'] == 601 and 'lblaoke/gCooL' in cs['provenance']
    assert get_method('gcool') is GCooL and get_method('gcool-multiplex') is GCooLMultiplex


def test_history_logs_the_loss_terms():
    # stride 20, alpha_rate 0.2: the community terms are on for t = 0..3 (epochs 1-4)
    method = GCooL(**SMALL, epochs=6, stride=20, random_state=0).fit(sbm_graph())
    for h in method.history_:
        alpha, beta = method.weights(h['epoch'])
        if alpha > 0:
            total = h['loss_node'] + alpha * (beta * h['loss_deca'] + (1 - beta) * h['loss_resc'])
            assert h['loss'] == pytest.approx(total, rel=1e-5, abs=1e-6)
        else:
            assert 'loss_deca' not in h and h['loss'] == pytest.approx(h['loss_node'], rel=1e-6)
    assert sum('loss_deca' in h for h in method.history_) == 4


@pytest.mark.parametrize('similarity', ['cos', 'rbf'])
def test_few_epochs_single_graph(similarity):
    data = sbm_graph()
    method = GCooL(**SMALL, epochs=6, stride=20, similarity=similarity, random_state=0,
                   activation='rrelu-random', drop_scheme='pr')
    method.fit(data)
    assert len(method.history_) == 6
    assert all(math.isfinite(h['loss']) for h in method.history_)
    model = method.model_
    assert isinstance(model.encoder.activation, nn.RReLU)
    assert model.encoder.convs[0].out_channels == 24          # explicit H
    z = method.embed(data)
    assert z.shape == (120, 16) and torch.isfinite(z).all()
    assign = method.assign(data)
    assert assign.shape == (120,) and int(assign.max()) < 4
    # projections are unit vectors (gCooL normalises g(z))
    h = model.head(z)
    torch.testing.assert_close(h.norm(dim=1), torch.ones(120), rtol=1e-5, atol=1e-5)


def test_community_terms_reach_only_the_centres_then_switch_off():
    data = sbm_graph(1)
    method = GCooL(**SMALL, epochs=1, stride=10, random_state=0)
    method.fit(data)
    model = method.model_
    model.zero_grad(set_to_none=True)
    method.step(model, data, 1).backward()            # alpha = 1: centres get gradients
    assert model.centers.grad is not None and model.centers.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)
    method.step(model, data, 5).backward()            # t = 4 >= 0.2 * 10: node loss only
    assert model.centers.grad is None
    # DeCA trains the centres only: with detached assignments the encoder gradient of the
    # community terms is the ReSC part, which vanishes at t = 0 (beta = 1)
    torch.manual_seed(0)
    full = method.step(model, data, 1)
    torch.manual_seed(0)
    node_only = GCooL(**SMALL, stride=10, keep_community_terms=False)
    node_only.branches_, node_only.pairs_ = method.branches_, method.pairs_
    node = node_only.step(model, data, 10_000)
    grads = []
    for loss in (full, node):
        model.zero_grad(set_to_none=True)
        loss.backward()
        grads.append(model.encoder.convs[0].lin.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


def test_symmetric_toggle_changes_the_node_loss():
    data = sbm_graph(2)
    one = GCooL(**SMALL, epochs=1, random_state=0).fit(data)
    two = GCooL(**SMALL, epochs=1, random_state=0, symmetric=True).fit(data)
    assert one.model_.loss.symmetric is False and two.model_.loss.symmetric is True
    assert one.history_[0]['loss'] != two.history_[0]['loss']


def test_checkpoint_roundtrip(tmp_path):
    data = sbm_graph(3)
    method = GCooL(**SMALL, epochs=2, random_state=0).fit(data)
    path = method.save(tmp_path / 'gcool.pt')
    loaded = GCooL.load(path, data)
    torch.testing.assert_close(loaded.embed(data), method.embed(data))


def test_multiplex_variant():
    data = multiplex_graph()
    method = GCooL(**SMALL, epochs=3, random_state=0).fit(data)      # mode auto
    assert [b.name for b in method.branches_] == ['A', 'B'] and method.pairs_ == [(0, 1)]
    assert len(method.model_.encoder.encoders) == 2
    z = method.embed(data)
    assert z.shape == (120, 16)
    # the documented combination: mean of each relation's encoder on its own edges
    enc = method.model_.encoder.encoders
    with torch.no_grad():
        expected = (enc[0](data.x, data.edge_index_A) + enc[1](data.x, data.edge_index_B)) / 2
    torch.testing.assert_close(z, expected)
    shared = GCooLMultiplex(**SMALL, epochs=2, shared_encoder=True, combine='concat').fit(data)
    assert len(shared.model_.encoder.encoders) == 1 and shared.embed(data).shape == (120, 32)
    off = GCooL(**SMALL, epochs=1, mode='off').fit(data)
    assert [b.name for b in off.branches_] == ['view1', 'view2']


def test_multiplex_errors():
    with pytest.raises(GCLDataError, match='no relations'):
        GCooLMultiplex(**SMALL, epochs=1).fit(sbm_graph())
    with pytest.raises(GCLConfigError, match='at least 2'):
        GCooL(**SMALL, epochs=1, relations=['A']).fit(multiplex_graph())
    with pytest.raises(GCLConfigError, match='one per view'):
        GCooL(**SMALL, epochs=1, p_edge=[0.1, 0.2, 0.3]).fit(sbm_graph())
    with pytest.raises(GCLConfigError, match='cos or rbf'):
        GCooL(**SMALL, epochs=1, similarity='l1').fit(sbm_graph())


@pytest.mark.parametrize('similarity', ['cos', 'rbf'])
def test_step_equals_the_as_coded_objective(similarity):
    # the whole step against ALGORITHMS.md §3.2 written densely, value and every gradient; 320
    # nodes, so the node loss runs the blockwise kernel on CPU
    data = sbm_graph(5, size=80)
    tau, lamda, gamma, k = 0.5, 0.7, 0.5, 4
    method = GCooL(**SMALL, stride=20, similarity=similarity, tau=tau, lamda=lamda, gamma=gamma)
    method.device_ = torch.device('cpu')
    method.prepare(data)
    model = method.build(data)
    views = [method.view(data, b) for b in method.branches_]

    def sq(a, b):
        return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)

    def reference(epoch):
        (x1, e1), (x2, e2) = views
        h1, h2 = (model.head(model.encoder(x, e)) for x, e in views)
        s = h1 @ h2.T / tau
        node = (torch.logsumexp(s, 1) - s.diag()).mean()
        c = torch.nn.functional.normalize(model.centers, dim=1)

        def assign(h):
            h = h.detach()
            logits = h @ c.T / tau if similarity == 'cos' else -sq(h, c) / tau ** 2
            return logits.softmax(1)

        def deca(r, e):
            n = r.size(0)
            a = torch.zeros(n, n)
            a[e[0], e[1]] = 1
            df = r.T @ a @ r
            return ((lamda * df.sum() - (n - 1 + lamda) * df.trace()) / (n * (n - 1))
                    + (r.T @ r).trace() / (2 * n))

        r1, r2 = assign(h1), assign(h2)
        pi1, pi2 = r1.argmax(1), r2.argmax(1)

        def protos(h, pi):
            return torch.stack([h[pi == j].mean(0) if (pi == j).any() else torch.zeros(h.size(1))
                                for j in range(k)]).detach()

        def resc(h, proto, pi):
            sig = (torch.exp(h @ proto.T / tau) if similarity == 'cos'
                   else torch.exp(-sq(h, proto) / tau ** 2))
            w = torch.ones(k, k) if similarity == 'cos' else torch.exp(-gamma * sq(proto, proto))
            pos = sig.gather(1, pi[:, None]).squeeze(1)
            return -torch.log(pos / (pos + (sig * w[pi]).sum(1) - pos))

        community = ((resc(h1, protos(h2, pi2), pi2) + resc(h2, protos(h1, pi1), pi1)) / 2).mean()
        t = epoch - 1
        alpha, beta = max(0.0, 1 - t / (0.2 * 20)), math.exp(-t / 20)
        return node + alpha * (beta * (deca(r1, e1) + deca(r2, e2)) / 2
                               + (1 - beta) * community)

    for epoch in (1, 3, 5):                       # t = 4 = 0.2 * stride: community terms off
        feed = iter(views)
        method.view = lambda data, branch, feed=feed: next(feed)
        results = []
        for use_gcl in (True, False):
            model.zero_grad(set_to_none=True)
            value = method.step(model, data, epoch) if use_gcl else reference(epoch)
            value.backward()
            results.append((value.detach(), {n: p.grad for n, p in model.named_parameters()}))
        (got, got_grads), (want, want_grads) = results
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        for name, param in model.named_parameters():   # alpha = 0: no gradient means zero
            zero = torch.zeros_like(param)
            torch.testing.assert_close(
                got_grads[name] if got_grads[name] is not None else zero,
                want_grads[name] if want_grads[name] is not None else zero,
                rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f'{name}: {m}')
