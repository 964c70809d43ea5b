"""Linear, Embedding, RMSNorm, LayerNorm, SelfAttention, Block and the in-graph softmax: values
against their formulas, gradients against finite differences, names, scopes and bad input."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainrule.engine import Value, topological_order
from chainrule.nn import (
    Block,
    ConfigurationError,
    DataError,
    Embedding,
    FeedForward,
    KVCache,
    LayerNorm,
    Linear,
    RMSNorm,
    SelfAttention,
    ShapeError,
    cross_entropy,
    log_softmax,
    softmax,
)
from chainrule.nn.losses import running_maximum

from support.gradcheck import assert_gradient_close
from support.sequence import assert_module_gradients, nearest_kink, weighted_sum
from support.strategies import reals

_coefficients = st.lists(reals(-2.0, 2.0), min_size=8, max_size=8)


def _vector(draw_list: list[float]) -> list[Value]:
    return [Value(x) for x in draw_list]


# -- softmax keeps its maximum in the graph ------------------------------------------------------


def test_running_maximum_is_a_node_with_the_largest_value() -> None:
    values = _vector([0.5, 3.0, -1.0, 3.0, 2.0])
    m = running_maximum(values)
    assert m.data == 3.0 and m.op == "maximum"
    m.backward()
    # torch.maximum's tie rule: the two 3.0s share the gradient.
    assert [v.grad for v in values] == [0.0, 0.5, 0.0, 0.5, 0.0]


@pytest.mark.parametrize("function", [softmax, log_softmax,
                                      lambda z: [cross_entropy(z, 1)]])
def test_softmax_family_subtracts_a_maximum_node_not_a_constant(function) -> None:
    logits = _vector([0.3, 2.5, -1.0])
    order = topological_order(function(logits)[0])
    shifts = [node for node in order if node.op == "sub" and node.inputs[0] in logits]
    assert shifts and all(node.inputs[1].op == "maximum" for node in shifts)
    assert not any(node.is_constant and node.data == 2.5 for node in order)


def test_softmax_values_unchanged_and_gradient_cancels_through_the_maximum() -> None:
    logits = _vector([1.0, 2.0, 3.0, 3.0])
    probabilities = softmax(logits)
    reference = [math.exp(z - 3.0) / (math.exp(-2) + math.exp(-1) + 2) for z in (1, 2, 3, 3)]
    assert [p.data for p in probabilities] == reference
    probabilities[0].backward()
    p0 = reference[0]
    expected = [p0 * (1 - p0)] + [-p0 * r for r in reference[1:]]
    for got, want in zip([z.grad for z in logits], expected, strict=True):
        assert got == pytest.approx(want, abs=1e-16)


@given(st.lists(reals(-8.0, 8.0), min_size=1, max_size=6), st.data())
def test_log_softmax_gradient_with_ties(xs: list[float], data: st.DataObject) -> None:
    xs = [*xs, max(xs)]  # a tie at the maximum, always
    k = data.draw(st.integers(0, len(xs) - 1))
    assert_module_gradients(lambda v: log_softmax(v)[k], xs, [])


# -- Linear ------------------------------------------------------------------------------------


def test_linear_computes_w_x_plus_b_and_names_its_parameters() -> None:
    layer = Linear(3, 2, seed=0)
    x = [0.5, -1.0, 2.0]
    out = layer(x)
    for o in range(2):
        expected = sum(layer.weight[o][i].data * x[i] for i in range(3)) + layer.bias[o].data
        assert out[o].data == pytest.approx(expected, abs=1e-15)
    names = [name for name, _ in layer.named_parameters()]
    assert names == ["weight.0.0", "weight.0.1", "weight.0.2", "weight.1.0", "weight.1.1",
                     "weight.1.2", "bias.0", "bias.1"]
    assert layer.parameters() == [p for _, p in layer.named_parameters()]
    assert repr(layer) == "Linear(3, 2, bias=True)"
    assert all(p.scope == ("linear",) for p in layer.parameters())
    assert all(node.scope == ("linear",) for node in topological_order(out[0])
               if not node.is_leaf)
    # The input numbers are made constants once, outside the layer, and shared by its outputs.
    constants = [node for node in topological_order(out[0]) if node.is_constant]
    assert [c.scope for c in constants] == [(), (), ()]
    assert constants == [node for node in topological_order(out[1]) if node.is_constant]


def test_linear_initialisation() -> None:
    bound = 1 / math.sqrt(50)
    default = Linear(50, 40, seed=1)
    weights = [w.data for w in default.parameters()]
    assert all(-bound <= w <= bound for w in weights)  # PyTorch's nn.Linear
    assert max(weights) > 0.9 * bound
    normal = Linear(50, 40, std=0.08, seed=1)
    assert all(b.data == 0.0 for b in normal.bias)
    spread = math.sqrt(sum(w.data ** 2 for row in normal.weight for w in row) / 2000)
    assert spread == pytest.approx(0.08, rel=0.1)
    assert [p.data for p in Linear(3, 2, seed=7).parameters()] == \
        [p.data for p in Linear(3, 2, seed=7).parameters()]
    no_bias = Linear(3, 2, bias=False, seed=0)
    assert no_bias.bias is None and no_bias.num_parameters == 6
    assert repr(no_bias) == "Linear(3, 2, bias=False)"


@given(st.lists(reals(-3.0, 3.0), min_size=3, max_size=3), _coefficients,
       st.integers(0, 2**16), st.booleans())
def test_linear_gradients(xs: list[float], cs: list[float], seed: int, bias: bool) -> None:
    layer = Linear(3, 2, bias, seed=seed)
    assert_module_gradients(lambda v: weighted_sum(layer(v), cs[:2]), xs, layer.parameters())


def test_linear_rejects_wrong_input_sizes() -> None:
    with pytest.raises(ShapeError, match="Linear linear expects 3 inputs, got 2"):
        Linear(3, 2, seed=0)([1.0, 2.0])
    with pytest.raises(ConfigurationError, match="nout"):
        Linear(3, 0)


# -- Embedding ---------------------------------------------------------------------------------


def test_embedding_returns_the_rows_themselves() -> None:
    table = Embedding(5, 3, seed=0)
    assert table(2) is table.weight[2]
    assert [n for n, _ in table.named_parameters()][:4] == ["weight.0.0", "weight.0.1",
                                                           "weight.0.2", "weight.1.0"]
    assert table.weight[1][2].label == "e1.2" and repr(table) == "Embedding(5, 3)"
    # A row used twice receives the sum of both uses' gradients.
    row = table(4)
    total = row[0] * 2.0 + table(4)[0] * 3.0
    total.backward()
    assert table.weight[4][0].grad == 5.0


@given(st.lists(st.integers(0, 4), min_size=1, max_size=4), _coefficients,
       st.integers(0, 2**16))
def test_embedding_gradients(indices: list[int], cs: list[float], seed: int) -> None:
    table = Embedding(5, 2, seed=seed)

    def loss(_: list[Value]) -> Value:
        rows = [table(i) for i in indices]
        return weighted_sum([r[0] * r[1] for r in rows], cs[: len(rows)])

    assert_module_gradients(loss, [], table.parameters())


@settings(max_examples=30)
@given(st.lists(reals(-2.0, 2.0), min_size=3, max_size=3), _coefficients,
       st.integers(0, 2**16))
def test_feed_forward_gradients(xs: list[float], cs: list[float], seed: int) -> None:
    mlp = FeedForward(3, 4, std=0.7, seed=seed)
    assume(nearest_kink(weighted_sum(mlp([Value(x) for x in xs]), cs[:3])) > 1e-3)
    assert_module_gradients(lambda v: weighted_sum(mlp(v), cs[:3]), xs, mlp.parameters())


@pytest.mark.parametrize(("index", "message"), [(5, "index 5 is out of range"),
                                                (-1, "index -1 is out of range"),
                                                (1.0, "must be an integer"),
                                                (True, "must be an integer")])
def test_embedding_rejects_bad_indices(index, message: str) -> None:
    with pytest.raises(DataError, match=message):
        Embedding(5, 3, seed=0)(index)


# -- norms -------------------------------------------------------------------------------------


def test_rmsnorm_and_layernorm_values() -> None:
    x = [1.0, -2.0, 3.0, 0.5]
    rms = math.sqrt(sum(v * v for v in x) / 4 + 1e-5)
    assert [y.data for y in RMSNorm(4)(_vector(x))] == pytest.approx([v / rms for v in x],
                                                                     rel=1e-14)
    mean = sum(x) / 4
    std = math.sqrt(sum((v - mean) ** 2 for v in x) / 4 + 1e-5)
    assert [y.data for y in LayerNorm(4)(_vector(x))] == pytest.approx(
        [(v - mean) / std for v in x], rel=1e-14)
    assert RMSNorm(4).num_parameters == 4 and LayerNorm(4).num_parameters == 8
    assert RMSNorm(4, affine=False).num_parameters == 0
    assert repr(RMSNorm(4, affine=False)) == "RMSNorm(4, eps=1e-05, affine=False)"
    assert [n for n, _ in LayerNorm(2).named_parameters()] == ["weight.0", "weight.1",
                                                              "bias.0", "bias.1"]


@pytest.mark.parametrize("norm", [RMSNorm, LayerNorm])
@given(xs=st.lists(reals(-3.0, 3.0), min_size=4, max_size=4), cs=_coefficients,
       gains=st.lists(reals(-2.0, 2.0), min_size=8, max_size=8))
def test_norm_gradients(norm, xs: list[float], cs: list[float], gains: list[float]) -> None:
    module = norm(4)
    for p, g in zip(module.parameters(), gains, strict=False):
        p.data = g
    assert_module_gradients(lambda v: weighted_sum(module(v), cs[:4]), xs, module.parameters())


def test_norm_errors() -> None:
    with pytest.raises(ConfigurationError, match="eps"):
        RMSNorm(4, eps=0.0)
    with pytest.raises(ShapeError, match="RMSNorm rmsnorm expects 4 inputs"):
        RMSNorm(4)([1.0])


# -- attention ---------------------------------------------------------------------------------


def test_attention_at_the_first_position_is_the_projected_value() -> None:
    attention = SelfAttention(4, 2, seed=3)
    x = _vector([0.3, -0.2, 0.8, 0.1])
    (out,) = attention([x])
    value = [v.data for v in attention.value(x)]
    expected = attention.proj(value)
    assert [o.data for o in out] == pytest.approx([e.data for e in expected], abs=1e-15)


def test_attention_is_causal_and_weights_sum_to_one() -> None:
    attention = SelfAttention(4, 2, seed=3)
    rng = random.Random(0)
    xs = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(4)]
    first = [[o.data for o in out] for out in attention(xs)]
    xs[3] = [5.0, -5.0, 5.0, -5.0]
    second = [[o.data for o in out] for out in attention(xs)]
    assert first[:3] == second[:3] and first[3] != second[3]
    cache = KVCache()
    for x in xs:
        attention.step(x, cache)
    assert len(cache) == 4
    for t, heads in enumerate(cache.weights):
        assert len(heads) == 2
        for weights in heads:
            assert len(weights) == t + 1
            assert sum(w.data for w in weights) == pytest.approx(1.0, abs=1e-15)
    # Position 0 attends only to itself, with weight exactly 1 (a constant: no score needed).
    assert [w[0].data for w in cache.weights[0]] == [1.0, 1.0] and cache.weights[0][0][0].is_constant
    assert cache.scores[0] == [[], []]
    for t in range(1, 4):
        for head in range(2):
            q = [v.data for v in attention.query(xs[t])][2 * head:2 * head + 2]
            for s in range(t + 1):
                k = [v.data for v in cache.keys[s]][2 * head:2 * head + 2]
                expected = (q[0] * k[0] + q[1] * k[1]) / math.sqrt(2)
                assert cache.scores[t][head][s].data == pytest.approx(expected, abs=1e-15)


def test_attention_structure() -> None:
    attention = SelfAttention(8, 4, seed=0)
    assert attention.head_size == 2 and attention.num_parameters == 4 * 64
    assert [n for n, _ in attention.named_parameters()][::64] == [
        "query.weight.0.0", "key.weight.0.0", "value.weight.0.0", "proj.weight.0.0"]
    assert repr(attention) == "SelfAttention(n_embd=8, n_head=4)"
    assert attention.key.weight[0][0].scope == ("attn", "key")
    with pytest.raises(ConfigurationError, match="n_embd=6 is not divisible by n_head=4"):
        SelfAttention(6, 4)


@settings(max_examples=20)
@given(st.lists(reals(-1.5, 1.5), min_size=12, max_size=12), _coefficients,
       st.integers(0, 2**16))
def test_attention_gradients(xs: list[float], cs: list[float], seed: int) -> None:
    attention = SelfAttention(4, 2, std=0.5, seed=seed)

    def loss(v: list[Value]) -> Value:
        outs = attention([v[0:4], v[4:8], v[8:12]])
        return weighted_sum([y for out in outs for y in out], cs + cs[:4])

    assert_module_gradients(loss, xs, attention.parameters())


@settings(max_examples=20)
@given(st.lists(reals(-1.5, 1.5), min_size=8, max_size=8), _coefficients,
       st.integers(0, 2**16), st.randoms(use_true_random=False))
def test_block_gradients(xs: list[float], cs: list[float], seed: int,
                         rng: random.Random) -> None:
    block = Block(4, 2, 8, std=0.5, seed=seed)

    def loss(v: list[Value]) -> Value:
        outs = block([v[0:4], v[4:8]])
        return weighted_sum(outs[0] + outs[1], cs)

    assume(nearest_kink(loss([Value(x) for x in xs])) > 1e-3)
    # A sample of the 128 parameters keeps the test fast; every run draws a different one.
    assert_module_gradients(loss, xs, rng.sample(block.parameters(), 24))


def test_block_is_pre_norm_with_residuals() -> None:
    block = Block(4, 1, 4, seed=0)
    x = _vector([0.1, 0.2, -0.3, 0.4])
    for p in block.parameters():
        p.data = 0.0
    # With every weight zero, attention and MLP add nothing: the residual stream passes through.
    (out,) = block([x])
    assert [o.data for o in out] == [0.1, 0.2, -0.3, 0.4]
    assert block.named_parameters()[0][0] == "attn.query.weight.0.0"
    assert repr(block) == "Block(n_embd=4, n_head=1, mlp_width=4)"


def test_module_gradient_helper_catches_a_wrong_gradient() -> None:
    """The checker itself: a gradient that is off must fail it."""
    with pytest.raises(AssertionError):
        assert_gradient_close(1.0, 1.1, "deliberately wrong")
