"""PyTorch-shaped modules and optimizers: parameters found from attributes, state dicts that
round-trip through JSON and are checked like model files, parameter groups, and CosineDecay
against torch's CosineAnnealingLR."""

from __future__ import annotations

import copy
import json
import math

import pytest

from chainrule.engine import Value
from chainrule.nn import (
    MLP,
    SGD,
    Adam,
    AdamW,
    ConfigurationError,
    CosineDecay,
    Layer,
    ModelFileError,
    Module,
    Neuron,
    fit,
    mse,
)


class Affine(Module):
    """y = w . x + b, written the way a torch user would."""

    def __init__(self, nin: int) -> None:
        self.nin = nin
        self.w = [Value(0.1 * (i + 1)) for i in range(nin)]
        self.b = Value(0.0)
        self.name = "affine"      # not a parameter
        self.sizes = [nin, 1]     # a list of ints is not registered either

    def __call__(self, x):
        return sum((w * xi for w, xi in zip(self.w, x, strict=True)), self.b)


class Net(Module):
    def __init__(self) -> None:
        self.nin = 2
        self.scale = Value(2.0)
        self.body = MLP(2, [2, 1], seed=0)
        self.heads = {"left": Affine(1), "right": Neuron(1, "linear", seed=1)}
        self.pair = (Value(3.0), Value(4.0))
        self.last = self.scale * 2         # a graph node, not a parameter
        self.const_ = Value(1.0) * 1.0     # also computed: never registered
        self._hidden = Value(5.0)          # private: never registered
        self.tied = self.scale             # the same Value again: listed once

    def __call__(self, x):
        return self.scale * self.body(x)


def test_parameters_are_found_from_attributes_in_assignment_order() -> None:
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == [
        "scale",
        *[f"body.{name}" for name, _ in net.body.named_parameters()],
        "heads.left.w.0", "heads.left.b", "heads.right.w0", "heads.right.b",
        "pair.0", "pair.1",
    ]
    assert names[1] == "body.layers.0.neurons.0.w0"
    assert net.num_parameters == 1 + 9 + 2 + 2 + 2
    assert net.parameters()[0] is net.scale
    assert [name for name, _ in net.named_modules()] == [
        "", "body", "body.layers.0", "body.layers.0.neurons.0", "body.layers.0.neurons.1",
        "body.layers.1", "body.layers.1.neurons.0", "heads.left", "heads.right"]


def test_parameters_added_later_are_found() -> None:
    model = Affine(2)
    model.w.append(Value(9.0))
    model.extra = Value(1.0)
    assert [name for name, _ in model.named_parameters()] == ["w.0", "w.1", "w.2", "b", "extra"]


def test_the_built_in_modules_keep_their_documented_names() -> None:
    assert [n for n, _ in Neuron(2, seed=0).named_parameters()] == ["w0", "w1", "b"]
    assert [n for n, _ in Layer(1, 2, seed=0).named_parameters()] == [
        "neurons.0.w0", "neurons.0.b", "neurons.1.w0", "neurons.1.b"]


def test_an_explicit_override_still_wins() -> None:
    class Explicit(Module):
        def __init__(self) -> None:
            self.a, self.b = Value(1.0), Value(2.0)

        def named_parameters(self):
            return [("only_b", self.b)]

    holder = Net()
    holder.extra = Explicit()
    assert [n for n, _ in Explicit().named_parameters()] == ["only_b"]
    assert [n for n, _ in holder.named_parameters()][-1] == "extra.only_b"


def test_a_custom_module_trains_with_fit_and_an_optimizer() -> None:
    model = Affine(2)
    X = [[1.0, 2.0], [2.0, -1.0], [0.5, 0.5], [-1.0, 1.0]]
    y = [2 * a - b + 0.5 for a, b in X]
    history = fit(model, X, y, loss=mse, optimizer=SGD(model.parameters(), lr=0.1),
                  epochs=300, progress=False)
    assert history.loss[-1] < 1e-10
    assert [p.data for p in model.parameters()] == pytest.approx([2.0, -1.0, 0.5])


# -- model state dicts -----------------------------------------------------------------------


def test_state_dict_round_trips_through_json_exactly() -> None:
    source, target = Net(), Net()
    for p in source.parameters():
        p.data += 1 / 3
    state = json.loads(json.dumps(source.state_dict()))
    assert target.load_state_dict(state) == ([], [])
    assert target.state_dict() == source.state_dict()
    assert list(state) == [name for name, _ in source.named_parameters()]


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.pop("scale"), r"1 parameter\(s\) are missing, e.g. 'scale'"),
    (lambda s: s.update(bogus=1.0), r"do not belong to the model, e.g. 'bogus'"),
    (lambda s: s.update(scale=float("nan")), "parameter 'scale' is nan, not finite"),
    (lambda s: s.update(scale=10**400), "parameter 'scale' is 1000.*not finite"),
    (lambda s: s.update(scale="1.0"), "parameter 'scale' must be a number, got '1.0'"),
    (lambda s: s.update(scale=True), "must be a number, got True"),
])
def test_a_bad_state_dict_is_refused_and_changes_nothing(change, message: str) -> None:
    net = Net()
    state = {name: 0.5 for name in net.state_dict()}
    change(state)
    before = net.state_dict()
    with pytest.raises(ModelFileError, match=message):
        net.load_state_dict(state)
    assert net.state_dict() == before


def test_a_custom_module_names_itself_in_errors() -> None:
    assert repr(Affine(2)) == "Affine(3 parameters)"
    with pytest.raises(ModelFileError, match=r"Affine.load_state_dict: Affine\(3 parameters\): 1 parameter"):
        Affine(2).load_state_dict({"w.0": 1.0, "w.1": 2.0})


def test_load_state_dict_is_not_a_dict() -> None:
    with pytest.raises(ModelFileError, match="expected a dict of parameter values by name, got list"):
        Net().load_state_dict([1.0, 2.0])


def test_non_strict_loading_reports_what_did_not_match() -> None:
    net = Net()
    state = net.state_dict()
    state.pop("pair.1")
    state["bogus"] = 1.0
    state["scale"] = 7.0
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["pair.1"] and result.unexpected_keys == ["bogus"]
    assert net.scale.data == 7.0


def test_numpy_scalars_are_accepted_in_state_dicts() -> None:
    np = pytest.importorskip("numpy")
    net = Neuron(2, seed=0)
    net.load_state_dict({"w0": np.float32(0.5), "w1": np.float64(-1.0), "b": np.int64(2)})
    assert net.state_dict() == {"w0": 0.5, "w1": -1.0, "b": 2.0}


# -- optimizer parameter groups --------------------------------------------------------------

GRADS = [[0.5, -1.0, 2.0, 0.3], [0.25, 0.5, -1.0, -0.7], [-0.75, 0.125, 0.5, 0.1]]


def _trajectory(build) -> list[list[float]]:
    params = [Value(x) for x in (1.0, -2.0, 0.5, 3.0)]
    optimizers = build(params)
    out = []
    for grads in GRADS:
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        for optimizer in optimizers:
            optimizer.step()
        out.append([p.data for p in params])
    return out


@pytest.mark.parametrize("kind", [SGD, Adam, AdamW])
def test_groups_behave_like_separate_optimizers(kind) -> None:
    extra = {"momentum": 0.9} if kind is SGD else {"weight_decay": 0.1}
    grouped = _trajectory(lambda ps: [kind(
        [{"params": ps[:2], "lr": 0.5, **extra}, {"params": ps[2:]}], lr=0.01)])
    separate = _trajectory(lambda ps: [kind(ps[:2], lr=0.5, **extra), kind(ps[2:], lr=0.01)])
    assert grouped == separate


def test_groups_take_defaults_and_lr_setter_sets_every_group() -> None:
    a, b = Value(1.0), Value(2.0)
    optimizer = SGD([{"params": [a], "lr": 0.5}, {"params": [b], "momentum": 0.9}], lr=0.1)
    assert [(g["lr"], g["momentum"]) for g in optimizer.param_groups] == [(0.5, 0.0), (0.1, 0.9)]
    assert optimizer.params == [a, b] and optimizer.lr == 0.5
    optimizer.lr = 0.2
    assert [g["lr"] for g in optimizer.param_groups] == [0.2, 0.2]
    assert Adam(MLP(2, [2], seed=0)).params  # a Module is still accepted
    assert len(SGD([{"params": MLP(1, [1], seed=0)}]).params) == 2


@pytest.mark.parametrize(("build", "message"), [
    (lambda a, b: SGD([{"params": [a], "lr": -1.0}]), r"SGD: param_groups\[0\] learning rate lr must be"),
    (lambda a, b: Adam([{"params": [a]}, {"params": [b], "betas": (0.9, 1.5)}]),
     r"Adam: param_groups\[1\] beta2 must lie in \[0, 1\)"),
    (lambda a, b: SGD([{"params": [a], "nesterov": True}]), r"param_groups\[0\] nesterov momentum needs"),
    (lambda a, b: SGD([{"params": [a], "momentun": 0.9}]), r"unknown setting\(s\) \['momentun'\]; SGD knows lr, momentum"),
    (lambda a, b: SGD([{"lr": 0.1}]), r"param_groups\[0\] has no 'params'"),
    (lambda a, b: SGD([{"params": [a]}, {"params": [a]}]), "appears more than once"),
    (lambda a, b: SGD([{"params": [1.0]}]), r"param_groups\[0\]: parameters must be Values"),
    (lambda a, b: SGD([{"params": []}]), "got an empty parameter list"),
    (lambda a, b: SGD("ab"), "params must be a Module, a list of Values or a list of parameter groups"),
    (lambda a, b: SGD([{"params": [a], "nesterov": 1, "momentum": 0.9}]), "nesterov must be True or False"),
])
def test_bad_groups_are_named(build, message: str) -> None:
    with pytest.raises((ConfigurationError, TypeError), match=message):  # TypeError: not a Value
        build(Value(1.0), Value(2.0))


# -- optimizer state dicts -------------------------------------------------------------------


def _train(model: MLP, optimizer, steps: int) -> None:
    for k in range(steps):
        model.zero_grad()
        out = model([0.3 + 0.1 * k, -0.2])
        (out * out).backward()
        optimizer.step()


@pytest.mark.parametrize("build", [
    lambda m: SGD(m, lr=0.1, momentum=0.9, nesterov=True),
    lambda m: SGD(m, lr=0.1),
    lambda m: Adam([{"params": m.layers[0].parameters(), "lr": 0.05},
                    {"params": m.layers[1].parameters()}], lr=0.01, weight_decay=0.1),
    lambda m: AdamW(m, lr=0.02),
], ids=["SGD nesterov", "SGD plain", "Adam groups", "AdamW"])
def test_training_resumes_exactly_from_json_state(build) -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    optimizer = build(model)
    _train(model, optimizer, 3)
    saved = json.dumps({"model": model.state_dict(), "optimizer": optimizer.state_dict()})
    _train(model, optimizer, 3)

    resumed = MLP(2, [3, 1], activation="tanh", seed=7)
    resumed_optimizer = build(resumed)
    state = json.loads(saved)
    resumed.load_state_dict(state["model"])
    resumed_optimizer.load_state_dict(state["optimizer"])
    assert resumed_optimizer.steps == 3
    _train(resumed, resumed_optimizer, 3)
    assert resumed.state_dict() == model.state_dict()
    assert resumed_optimizer.state_dict() == optimizer.state_dict()


def test_optimizer_state_dict_layout() -> None:
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    optimizer = Adam([{"params": [a, b]}, {"params": [c], "lr": 0.1}])
    a.grad = b.grad = c.grad = 1.0
    optimizer.step()
    state = optimizer.state_dict()
    assert state["optimizer"] == "Adam" and state["steps"] == 1
    assert state["param_groups"] == [
        {"params": [0, 1], "lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0},
        {"params": [2], "lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}]
    assert state["state"]["exp_avg"] == pytest.approx([0.1, 0.1, 0.1])


def _adam_state() -> tuple[Adam, dict]:
    params = [Value(1.0), Value(2.0)]
    optimizer = Adam(params, lr=0.1)
    for p in params:
        p.grad = 0.5
    optimizer.step()
    return optimizer, optimizer.state_dict()


BAD_OPTIMIZER_STATES = {
    "not a dict": (lambda s: [1], "expected a dict, got list"),
    "other optimizer": (lambda s: {**s, "optimizer": "SGD"}, "this is the state of 'SGD', not Adam"),
    "missing key": (lambda s: {k: v for k, v in s.items() if k != "steps"}, "expected the keys"),
    "negative steps": (lambda s: {**s, "steps": -1}, r"steps must be an integer from 0 to 2\*\*63"),
    "float steps": (lambda s: {**s, "steps": 1.5}, r"steps must be an integer from 0 to 2\*\*63"),
    "400-digit steps": (lambda s: {**s, "steps": 10**400}, "steps must be an integer from 0"),
    "two groups": (lambda s: {**s, "param_groups": s["param_groups"] * 2}, r"expected a list of 1 parameter group"),
    "other params": (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "params": [0, 5]}]},
                     r"holds parameters \[0, 5\]; this optimizer's group 0 holds \[0, 1\]"),
    "bad lr": (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "lr": float("inf")}]},
               r"param_groups\[0\] learning rate lr must be a finite number"),
    "extra setting": (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "momentum": 0.9}]},
                      r"param_groups\[0\] must have the keys"),
    "short state": (lambda s: {**s, "state": {**s["state"], "exp_avg": [0.1]}},
                    "state 'exp_avg' must be a list of 2 numbers"),
    "nan moment": (lambda s: {**s, "state": {**s["state"], "exp_avg": [0.1, float("nan")]}},
                   r"state exp_avg\[1\] must be a finite number"),
    "negative second moment": (lambda s: {**s, "state": {**s["state"], "exp_avg_sq": [0.1, -1.0]}},
                               r"exp_avg_sq\[1\] must be a finite number >= 0.0"),
    "state of SGD": (lambda s: {**s, "state": {"momentum_buffer": None}}, "state must be"),
}


@pytest.mark.parametrize("case", list(BAD_OPTIMIZER_STATES))
def test_a_bad_optimizer_state_is_refused_and_changes_nothing(case: str) -> None:
    optimizer, state = _adam_state()
    change, message = BAD_OPTIMIZER_STATES[case]
    bad = change(copy.deepcopy(state))
    optimizer.param_groups[0]["lr"] = 0.25
    before = optimizer.state_dict()
    with pytest.raises(ModelFileError, match=message):
        optimizer.load_state_dict(bad)
    assert optimizer.state_dict() == before


def test_adam_steps_up_to_the_bound_load_and_step() -> None:
    optimizer, state = _adam_state()
    optimizer.load_state_dict({**state, "steps": 2**63 - 1})
    for p in optimizer.params:
        p.grad = 1.0
    optimizer.step()  # beta ** steps is 0.0 here, not an OverflowError
    assert all(math.isfinite(p.data) for p in optimizer.params)


# -- CosineDecay and torch's CosineAnnealingLR ------------------------------------------------


def test_cosine_decay_ends_exactly_at_end_and_stays_there() -> None:
    cosine = CosineDecay(1.0, 0.01, 10)
    assert cosine(0) == 1.0 and cosine(10) == 0.01 and cosine(11) == cosine(1000) == 0.01
    for k in range(11):
        closed = 0.01 + 0.99 * (1 + math.cos(math.pi * k / 10)) / 2
        assert cosine(k) == pytest.approx(closed, rel=1e-14, abs=0)


def test_cosine_decay_with_cycle_climbs_back_like_torch() -> None:
    cosine = CosineDecay(1.0, 0.01, 10, cycle=True)
    assert cosine(15) == pytest.approx(0.505, rel=1e-13)
    assert cosine(20) == pytest.approx(1.0, rel=1e-13) and cosine(30) == pytest.approx(0.01, rel=1e-12)
    assert CosineDecay(1.0, 0.01, 10)(3) == cosine(3)
    with pytest.raises(ConfigurationError, match="cycle must be True or False"):
        CosineDecay(1.0, 0.1, 5, cycle="yes")


@pytest.mark.parametrize(("start", "end", "steps"), [(1.0, 0.01, 10), (0.3, 1e-4, 7), (0.5, 0.1, 1),
                                                     (0.1, 0.001, 100)])
def test_cosine_decay_is_torchs_cosine_annealing_bit_for_bit(start: float, end: float, steps: int) -> None:
    torch = pytest.importorskip("torch")  # the `torch` extra
    parameter = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([parameter], lr=start)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=end)
    cycled, held = CosineDecay(start, end, steps, cycle=True), CosineDecay(start, end, steps)
    for k in range(5 * steps + 3):
        lr = optimizer.param_groups[0]["lr"]
        assert cycled(k) == lr, k
        if k <= steps:
            assert held(k) == lr, k
        optimizer.step()
        scheduler.step()
