"""GPT: the issue's example, causality, loss, sampling, gradients, attention maps, save/load,
and the pictures of its insides (draw with collapse, walkthrough); CharTokenizer and names."""

from __future__ import annotations

import json
import math
import random
import shutil
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainrule.engine import Value, draw, topological_order, walkthrough
from chainrule.nn import (
    GPT,
    Adam,
    Block,
    CharTokenizer,
    ConfigurationError,
    DataError,
    Embedding,
    FeedForward,
    LayerNorm,
    Linear,
    ModelFileError,
    RMSNorm,
    SelfAttention,
    ShapeError,
    cross_entropy,
    datasets,
    load,
    save,
    train_test_split,
)
from chainrule.nn.datasets import MissingExtraError

from support.sequence import assert_module_gradients, nearest_kink

TINY = {"vocab_size": 5, "n_embd": 4, "n_head": 2, "n_layer": 2, "block_size": 4,
        "mlp_width": 8}


@pytest.fixture(scope="module")
def names() -> list[str]:
    pytest.importorskip("names")
    return datasets.names()


# -- the issue's example -------------------------------------------------------------------------


def test_the_issue_example(names: list[str]) -> None:
    tok = CharTokenizer(names)
    model = GPT(vocab_size=tok.vocab_size, n_embd=16, n_head=4, n_layer=1, block_size=16, seed=42)
    assert model.num_parameters == 4192  # microgpt's count for 27 tokens
    opt = Adam(model.parameters(), lr=0.01, betas=(0.85, 0.99))
    loss = model.loss(tok.encode("emma"))
    # Small random weights: close to guessing uniformly among 27 tokens.
    assert abs(loss.data - math.log(27)) < 0.5
    loss.backward()
    opt.step()
    opt.zero_grad()
    assert model.loss(tok.encode("emma")).data < loss.data
    samples = model.generate(tok, count=10, temperature=0.5, seed=0)
    assert len(samples) == 10 and all(set(s) <= set(tok.chars) for s in samples)
    assert model.generate(tok, count=10, temperature=0.5, seed=0) == samples
    assert model.generate(tok, count=10, temperature=0.5, seed=1) != samples


def test_same_seed_same_model_and_parameter_names() -> None:
    a, b = GPT(**TINY, seed=3), GPT(**TINY, seed=3)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert [p.data for p in GPT(**TINY, seed=4).parameters()] != [p.data for p in a.parameters()]
    names = [n for n, _ in a.named_parameters()]
    assert len(set(names)) == len(names) == a.num_parameters
    assert names[0] == "wte.weight.0.0" and names[-1] == "lm_head.weight.4.3"
    assert "layers.1.attn.query.weight.3.2" in names and "layers.0.mlp.fc2.weight.3.7" in names
    assert "wpe.weight.3.3" in names
    assert a.parameters() == [p for _, p in a.named_parameters()]
    assert repr(a) == ("GPT(vocab_size=5, n_embd=4, n_head=2, n_layer=2, block_size=4, "
                       "mlp_width=8)")
    spread = math.sqrt(sum(p.data ** 2 for p in GPT(27, seed=0).parameters()) / 4192)
    assert spread == pytest.approx(0.08, rel=0.05)  # N(0, 0.08), as microgpt


# -- what it computes ----------------------------------------------------------------------------


def test_logits_at_every_position_and_causality() -> None:
    model = GPT(**TINY, seed=0)
    logits = model([4, 1, 2, 3])
    assert len(logits) == 4 and all(len(row) == 5 for row in logits)
    for position in range(4):
        for replacement in range(5):
            tokens = [4, 1, 2, 3]
            tokens[position] = replacement
            changed = model(tokens)
            for t in range(position):
                assert [z.data for z in changed[t]] == [z.data for z in logits[t]]


def test_loss_is_the_mean_next_token_cross_entropy() -> None:
    model = GPT(**TINY, seed=1)
    tokens = [4, 0, 3, 1, 4]
    logits = model(tokens[:-1])
    by_hand = 0.0
    for t in range(4):
        z = [v.data for v in logits[t]]
        top = max(z)
        by_hand += math.log(sum(math.exp(v - top) for v in z)) + top - z[tokens[t + 1]]
    assert model.loss(tokens).data == pytest.approx(by_hand / 4, rel=1e-14)
    assert model.loss(tokens).data == cross_entropy(model(tokens[:-1]), tokens[1:]).data


@settings(max_examples=15)
@given(st.lists(st.integers(0, 4), min_size=2, max_size=5), st.integers(0, 2**16),
       st.randoms(use_true_random=False))
def test_gpt_gradients(tokens: list[int], seed: int, rng: random.Random) -> None:
    model = GPT(**TINY, std=0.5, seed=seed)
    assume(nearest_kink(model.loss(tokens)) > 1e-3)
    # The loss depends on no input Values (tokens are indices): check a sample of parameters,
    # among those the sequence uses (rows of unused tokens and positions get zero gradient).
    graph = set(topological_order(model.loss(tokens)))
    used = [p for p in model.parameters() if p in graph]
    assert_module_gradients(lambda _: model.loss(tokens), [], rng.sample(used, 30))


def test_unused_rows_get_zero_gradient() -> None:
    model = GPT(**TINY, seed=2)
    model.loss([4, 0, 4]).backward()
    assert all(p.grad == 0.0 for p in model.wte.weight[2])
    assert all(p.grad == 0.0 for p in model.wpe.weight[3])
    assert any(p.grad != 0.0 for p in model.wte.weight[0])


def test_training_lowers_the_loss() -> None:
    model = GPT(**TINY, seed=0)
    optimizer = Adam(model.parameters(), lr=0.05)
    tokens = [4, 0, 1, 2, 4]
    first = model.loss(tokens).data
    for _ in range(30):
        loss = model.loss(tokens)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert model.loss(tokens).data < first / 4


def test_attention_maps_are_causal_rows_that_sum_to_one() -> None:
    model = GPT(**TINY, seed=0)
    maps = model.attention([4, 1, 2, 3])
    assert len(maps) == 2 and all(len(layer) == 2 for layer in maps)
    for layer in maps:
        for head in layer:
            for t, row in enumerate(head):
                assert len(row) == 4 and sum(row) == pytest.approx(1.0, abs=1e-15)
                assert all(w == 0.0 for w in row[t + 1:])


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda m: m([]), ShapeError, "got 0 tokens; it takes 1 to 4"),
    (lambda m: m([0] * 5), ShapeError, "got 5 tokens"),
    (lambda m: m.loss([0]), ShapeError, "got 1 tokens; it takes 2 to 5"),
    (lambda m: m([0, 5]), DataError, "token 1 is 5, not a token id from 0 to 4"),
    (lambda m: m("abc"), DataError, "use a tokenizer's encode"),
    (lambda m: m([0, 1.5]), DataError, "token 1 is 1.5"),
    (lambda m: m.step(0, []), ShapeError, "caches must be 2 KVCache"),
    (lambda m: m.generate(CharTokenizer(["ab"]), 1), ConfigurationError,
     "the tokenizer has 3 tokens but the model has vocab_size=5"),
    (lambda m: m.generate(CharTokenizer(["abcd"]), 1, temperature=0.0), ConfigurationError,
     "temperature"),
])
def test_bad_input_is_named(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call(GPT(**TINY, seed=0))


def test_bad_configuration() -> None:
    with pytest.raises(ConfigurationError, match="n_embd=6 is not divisible by n_head=4"):
        GPT(10, n_embd=6, n_head=4)
    with pytest.raises(ConfigurationError, match="n_layer"):
        GPT(10, n_layer=0)


@pytest.mark.parametrize("temperature", [1e-320, 1e-300, 5e-324])
def test_a_tiny_temperature_samples_the_most_likely_token(temperature: float) -> None:
    tok = CharTokenizer(["abcd", "bcda"])
    model = GPT(**{**TINY, "vocab_size": tok.vocab_size}, seed=0)
    greedy = []
    for _ in range(3):  # the argmax path, by hand
        caches, token, text = model.new_cache(), tok.bos, []
        for _ in range(model.block_size):
            logits = [z.data for z in model.step(token, caches)]
            token = logits.index(max(logits))
            if token == tok.bos:
                break
            text.append(token)
        greedy.append(tok.decode(text))
    assert model.generate(tok, count=3, temperature=temperature, seed=0) == greedy


def test_generation_stops_at_block_size() -> None:
    tok = CharTokenizer(["abcd"])
    model = GPT(**TINY, seed=0)
    samples = model.generate(tok, count=20, temperature=2.0, seed=0)
    assert all(len(s) <= TINY["block_size"] for s in samples)


# -- save and load -------------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path) -> None:
    model = GPT(**TINY, seed=5)
    path = tmp_path / "gpt.json"
    save(model, path)
    loaded = load(path)
    assert isinstance(loaded, GPT) and repr(loaded) == repr(model)
    assert [p.data for p in loaded.parameters()] == [p.data for p in model.parameters()]
    assert loaded.loss([4, 1, 4]).data == model.loss([4, 1, 4]).data
    target = GPT(**TINY, seed=6)
    assert load(path, into=target) is target
    assert [p.data for p in target.parameters()] == [p.data for p in model.parameters()]
    with pytest.raises(ModelFileError, match="does not match"):
        load(path, into=GPT(**{**TINY, "n_layer": 1}, seed=0))


@pytest.mark.parametrize("module", [
    Linear(3, 2, seed=1), Linear(3, 2, bias=False, seed=1), Embedding(4, 3, seed=1), RMSNorm(3),
    LayerNorm(3, eps=1e-3, affine=False), SelfAttention(4, 2, seed=1), FeedForward(4, 8, seed=1),
    Block(4, 2, 8, seed=1),
], ids=repr)
def test_every_sequence_module_saves_and_loads(tmp_path, module) -> None:
    for i, p in enumerate(module.parameters()):
        p.data = 0.25 * i - 1.0
    save(module, tmp_path / "module.json")
    loaded = load(tmp_path / "module.json")
    assert type(loaded) is type(module) and repr(loaded) == repr(module)
    assert [p.data for p in loaded.parameters()] == [p.data for p in module.parameters()]


@pytest.mark.parametrize(("architecture", "message"), [
    ({"type": "Linear", "nin": 2, "nout": 2, "bias": 1}, "'bias' must be true or false"),
    ({"type": "RMSNorm", "dim": 2, "eps": -1.0, "affine": True}, "'eps' must be a positive"),
    ({"type": "Embedding", "num": 10**5, "dim": 10**3}, "more than the limit of 1,000,000"),
])
def test_load_checks_module_architectures(tmp_path, architecture, message: str) -> None:
    path = tmp_path / "module.json"
    document = {"format": "chainrule.nn/model", "version": 1, "architecture": architecture,
                "parameters": {}}
    path.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match=message):
        load(path)


@pytest.mark.parametrize(("change", "message"), [
    (lambda a: a.update(n_head=3), "n_embd=4 is not divisible by n_head=3"),
    (lambda a: a.update(n_embd=0), "'n_embd' must be a positive integer"),
    (lambda a: a.pop("mlp_width"), "no 'mlp_width' field"),
    (lambda a: a.update(extra=1), r"unexpected architecture field\(s\) \['extra'\] for GPT"),
    (lambda a: a.update(n_embd=10**6), "more than the limit of 1,000,000"),
    (lambda a: a.update(n_layer=1), "parameter"),
])
def test_load_checks_the_gpt_architecture(tmp_path, change, message: str) -> None:
    path = tmp_path / "gpt.json"
    save(GPT(**TINY, seed=0), path)
    document = json.loads(path.read_text())
    change(document["architecture"])
    path.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match=message):
        load(path)


# -- seeing inside -------------------------------------------------------------------------------


def _score(model: GPT, tokens: list[int], position: int, head: int, key: int) -> Value:
    caches = model.new_cache()
    for token in tokens:
        model.step(token, caches)
    score = caches[0].scores[position][head][key]
    # The weight is the softmax of the scores: exp(score - max) / total.
    weight = caches[0].weights[position][head][key]
    assert weight.inputs[0].inputs[0].inputs[0] is score
    return score


def test_one_attention_score_drawn_one_box_per_module() -> None:
    model = GPT(27, seed=0)
    score = _score(model, [26, 4], position=1, head=0, key=0)
    expanded = len([v for v in topological_order(score) if not v.is_constant])
    assert expanded > 300  # too many to draw one by one
    graph = draw(score, collapse=2)
    boxes = graph.source
    for module in ("embed_wte", "embed_wpe", "embed_norm", "layer0_attn_norm",
                   "layer0_attn_query", "layer0_attn_key"):
        assert f"group_{module}" in boxes
    assert "group_layer0_attn_value" not in boxes  # a score needs no values
    # The score's own arithmetic stays visible: the dot product of q and k, then / sqrt(4).
    assert graph.group_count == 7 and graph.value_count == 2
    assert [v.op for v in topological_order(score) if v.scope == ("layer0.attn",)] == [
        "dot", "const", "div"]


def test_walkthrough_of_a_tiny_gpt_fits_the_page() -> None:
    tok = CharTokenizer(["ab", "ba"])
    model = GPT(tok.vocab_size, n_embd=4, n_head=1, n_layer=1, block_size=2, mlp_width=4,
                seed=0)
    loss = model.loss(tok.encode("a")[:2])
    steps = walkthrough(loss, lr=0.1)
    if shutil.which("dot") is not None:
        assert steps.svg is not None, steps.graph_note
    assert "Backpropagation" in steps.title
    assert steps.backward.checks and steps.backward.all_checks_passed
    graph = set(topological_order(loss))
    assert len(steps.updates) == len([p for p in model.parameters() if p in graph])


# -- CharTokenizer -------------------------------------------------------------------------------


def test_tokenizer_round_trip() -> None:
    tok = CharTokenizer(["emma", "olivia", "ava"])
    assert tok.chars == "aeilmov" and tok.vocab_size == 8 and tok.bos == 7 and len(tok) == 8
    assert tok.encode("emma") == [7, 1, 4, 4, 0, 7]
    assert tok.encode("emma", bos=False) == [1, 4, 4, 0]
    assert tok.decode(tok.encode("olivia")) == "olivia"
    assert repr(tok) == "CharTokenizer('aeilmov' + BOS, vocab_size=8)"


@pytest.mark.parametrize(("call", "message"), [
    (lambda t: t.encode("josé"), r"the character 'é' \(U\+00E9\) at position 3"),
    (lambda t: t.encode(3), "expected a str"),
    (lambda t: t.decode([0, 99]), "token 1 is 99, not an id from 0 to 26"),
    (lambda t: t.decode("ab"), "expected a list of token ids"),
])
def test_tokenizer_errors(call, message: str) -> None:
    tok = CharTokenizer(["abcdefghijklmnopqrstuvwxyz"])
    with pytest.raises(DataError, match=message):
        call(tok)


def test_tokenizer_needs_texts() -> None:
    with pytest.raises(DataError, match="not a single string"):
        CharTokenizer("emma")
    with pytest.raises(DataError, match="hold no characters"):
        CharTokenizer(["", ""])
    with pytest.raises(DataError, match="text 1 must be a str"):
        CharTokenizer(["a", 1])


# -- datasets.names ------------------------------------------------------------------------------


def test_names(names: list[str]) -> None:
    assert len(names) == 5163 and len(set(names)) == len(names)
    assert all(name.isascii() and name.isalpha() and name.islower() for name in names)
    assert max(len(name) for name in names) == 11
    assert {"emma", "olivia", "james", "mary"} <= set(names)
    assert datasets.names() == names  # seed 42 by default
    assert datasets.names(seed=1) != names and sorted(datasets.names(seed=1)) == sorted(names)
    train, test = train_test_split(names, test_fraction=0.1, seed=0)
    assert len(test) == 517 and len(train) + len(test) == len(names)
    assert not set(train) & set(test)


def test_names_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "names", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'chainrule\[text\]'"):
        datasets.names()
    with pytest.raises(ImportError):
        datasets.names()
