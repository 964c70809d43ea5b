"""The diagnosis test suite: training runs built to fail in one way each, with the finding that
must come first (the root cause), what must follow from it, and healthy runs that get no
problem. Every run is tiny, seeded and short."""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from chainrule import nn
from chainrule.nn.diagnosis.evidence import gather
from chainrule.nn.diagnosis.findings import NOTHING_FOUND

XOR_X, XOR_Y = nn.datasets.xor()
MOONS_X, MOONS_Y = nn.datasets.moons(40, noise=0.1, seed=0)


@dataclass(frozen=True)
class Outcome:
    diagnosis: nn.Diagnosis
    accuracy: float | None
    model: nn.MLP


def _trained(model: nn.MLP, X: list[list[float]], y: list[int], loss: Callable[..., object],
             optimizer: object, epochs: int) -> Outcome:
    history = nn.fit(model, X, y, loss, optimizer, epochs=epochs, progress=False)
    return Outcome(nn.diagnose(model, X, y, loss=loss, history=history), history.accuracy[-1], model)


def keras_recipe(lr: float = 0.01, epochs: int = 300) -> Outcome:
    """The tutorials' Keras XOR recipe: sigmoid 2-4-1, Glorot weights, SGD, MSE."""
    model = nn.MLP(2, [4, 1], activation="sigmoid", output_activation="sigmoid",
                init="xavier_uniform", seed=0)
    return _trained(model, XOR_X, XOR_Y, nn.mse, nn.SGD(model, lr=lr), epochs)


def tanh_at_lr_20() -> Outcome:
    model = nn.MLP(2, [8, 8, 1], activation="tanh", seed=0)
    return _trained(model, MOONS_X, MOONS_Y, nn.bce_with_logits, nn.SGD(model, lr=20), 40)


def saturated_by_30x_weights() -> Outcome:
    model = nn.MLP(2, [8, 1], activation="sigmoid", seed=0)
    for neuron in model.layers[0].neurons:
        for p in neuron.parameters():
            p.data *= 30
    return _trained(model, MOONS_X, MOONS_Y, nn.bce_with_logits, nn.Adam(model, lr=0.01), 60)


def dead_from_the_bias() -> Outcome:
    model = nn.MLP(2, [8, 1], activation="relu", seed=0)
    for neuron in model.layers[0].neurons:
        neuron.bias.data = -10.0  # below anything w·x reaches on the data
    return _trained(model, MOONS_X, MOONS_Y, nn.bce_with_logits, nn.Adam(model, lr=0.01), 30)


def identical_inputs_with_different_labels() -> Outcome:
    points = MOONS_X[:20]
    model = nn.MLP(2, [8, 1], activation="tanh", seed=0)
    return _trained(model, points + points, [0] * 20 + [1] * 20, nn.bce_with_logits,
                    nn.Adam(model, lr=0.05), 30)


def unscaled_inputs() -> Outcome:
    model = nn.MLP(2, [8, 1], activation="tanh", seed=0)
    big = [[1000 * a, 1000 * b] for a, b in MOONS_X]
    return _trained(model, big, MOONS_Y, nn.bce_with_logits, nn.Adam(model, lr=0.01), 30)


def shuffled_labels() -> Outcome:
    labels = list(MOONS_Y)
    random.Random(0).shuffle(labels)
    model = nn.MLP(2, [8, 1], activation="tanh", seed=0)
    return _trained(model, MOONS_X, labels, nn.bce_with_logits, nn.Adam(model, lr=0.01), 30)


def healthy_xor() -> Outcome:
    model = nn.MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    return _trained(model, XOR_X, XOR_Y, nn.binary_cross_entropy, nn.Adam(model, lr=0.05), 300)


def healthy_moons() -> Outcome:
    model = nn.MLP(2, [8, 1], activation="tanh", seed=0)
    return _trained(model, MOONS_X, MOONS_Y, nn.bce_with_logits, nn.Adam(model, lr=0.05), 60)


#: Each failing run and the kind of finding that must come first.
FAILING = {
    "too small lr (the Keras recipe, 300 epochs)": (keras_recipe, "learning_rate_too_small"),
    "too large lr (tanh at lr 20)": (tanh_at_lr_20, "learning_rate_too_large"),
    "saturation at 30x weights": (saturated_by_30x_weights, "saturated_units"),
    "dead units from the bias": (dead_from_the_bias, "dead_relu_units"),
    "not separable (identical inputs, different labels)": (
        identical_inputs_with_different_labels, "contradictory_labels"),
    "unscaled inputs (x 1000)": (unscaled_inputs, "unscaled_inputs"),
    "labels shuffled": (shuffled_labels, "no_signal"),
}
CHANCE_RUNS = ["too small lr (the Keras recipe, 300 epochs)", "dead units from the bias",
               "not separable (identical inputs, different labels)", "labels shuffled"]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    return {name: make() for name, (make, _) in FAILING.items()}


@pytest.mark.parametrize("name", list(FAILING))
def test_each_failing_run_gets_its_root_cause_first(outcomes: dict[str, Outcome],
                                                    name: str) -> None:
    diagnosis = outcomes[name].diagnosis
    first = diagnosis[0]
    assert first.kind == FAILING[name][1], diagnosis.text()
    assert first.is_root and first.severity == "problem" and diagnosis.root is first
    assert first.because is None and any(ch.isdigit() for ch in first.evidence)
    # Every later problem says what it follows from, and that fixing the cause comes first.
    for k, later in enumerate(diagnosis.problems[1:], 2):
        assert later.cause is not None, diagnosis.text()
        cause_number = diagnosis.kinds.index(later.cause) + 1
        assert cause_number < k and f"(finding {cause_number})" in (later.because or "")
        assert later.fix.startswith(f"fix finding {cause_number} first")
        assert f"  cause: {later.because}" in diagnosis.text()


@pytest.mark.parametrize("name", CHANCE_RUNS)
def test_a_run_no_better_than_chance_always_gets_a_finding(outcomes: dict[str, Outcome],
                                                           name: str) -> None:
    diagnosis = outcomes[name].diagnosis
    assert diagnosis.problems and not diagnosis.text().startswith("No problems found")
    assert {"no_better_than_chance", "no_signal"} & set(diagnosis.kinds), diagnosis.text()


def test_the_keras_recipe_is_told_its_learning_rate_and_that_chance_follows(
        outcomes: dict[str, Outcome]) -> None:
    diagnosis = outcomes["too small lr (the Keras recipe, 300 epochs)"].diagnosis
    assert diagnosis.kinds == ["learning_rate_too_small", "no_better_than_chance"]
    chance = diagnosis[1]
    assert chance.cause == "learning_rate_too_small"
    # Chance defined from the data: the majority class (2 of 4) and the best constant output's
    # MSE, that of answering the mean 0.5 everywhere.
    assert "always answering 0 gets 50%" in chance.evidence
    assert "the best constant output (ignoring the inputs) gets 0.25." in chance.evidence
    assert "lr 0.1 to 0.5" in diagnosis[0].fix


def test_the_large_learning_rate_causes_the_rest_and_no_fix_names_an_absent_activation(
        outcomes: dict[str, Outcome]) -> None:
    diagnosis = outcomes["too large lr (tanh at lr 20)"].diagnosis
    assert diagnosis.kinds[:3] == ["learning_rate_too_large", "saturated_units",
                                   "vanishing_gradients"], diagnosis.text()
    saturated = diagnosis[1]
    assert saturated.because is not None and saturated.because.startswith(
        "the saturation is caused by the learning rate (finding 1): layer0's weights grew to "
        "a mean |w| of ")
    assert diagnosis[2].cause == "saturated_units"
    assert "sigmoid" not in diagnosis.text()


def test_saturation_is_a_majority_of_units_flat_on_most_samples(
        outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["saturation at 30x weights"]
    assert outcome.accuracy is not None and 0.75 <= outcome.accuracy < 1.0  # it stalls
    finding = outcome.diagnosis[0]
    assert finding.evidence.startswith("layer0 (sigmoid): 6 of 8 units")
    assert "init='xavier_uniform'" in finding.fix and "learning rate" not in finding.fix
    assert "times the largest any initialisation scheme gives it (0.866)" in finding.evidence


def test_units_dead_from_their_bias_get_an_initialisation_fix_first(
        outcomes: dict[str, Outcome]) -> None:
    diagnosis = outcomes["dead units from the bias"].diagnosis
    finding = diagnosis[0]
    assert "their biases (mean -10)" in finding.evidence
    assert finding.fix.startswith("fix the initialisation first")
    assert "learning rate" not in finding.fix
    assert diagnosis.kinds == ["dead_relu_units", "no_better_than_chance"]


def test_data_problems_name_their_numbers(outcomes: dict[str, Outcome]) -> None:
    contradiction = outcomes["not separable (identical inputs, different labels)"].diagnosis
    assert "20 groups of identical inputs (40 samples)" in contradiction[0].evidence
    assert "at best 50% of the samples can be right" in contradiction[0].evidence
    assert all(f.cause == "contradictory_labels" for f in contradiction[1:])
    unscaled = outcomes["unscaled inputs (x 1000)"].diagnosis
    assert "x0 " in unscaled[0].evidence and "standardise" in unscaled[0].fix
    assert unscaled.kinds[1:] and all(f.cause == "unscaled_inputs" for f in unscaled[1:])
    shuffled = outcomes["labels shuffled"].diagnosis[0]
    assert "nearest neighbours share its label in" in shuffled.evidence
    assert "shuffled separately" in shuffled.fix


@pytest.mark.parametrize("make", [healthy_xor, healthy_moons])
def test_healthy_runs_get_no_problem(make: Callable[[], Outcome]) -> None:
    outcome = make()
    assert outcome.diagnosis.problems == [], outcome.diagnosis.text()
    assert outcome.diagnosis.text().startswith("No problems found")


def test_unscaled_inputs_a_run_copes_with_are_a_note() -> None:
    X = [[100 * a, b] for a, b in MOONS_X]
    model = nn.MLP(2, [8, 1], activation="relu", init="he_uniform", seed=0)
    for neuron in model.layers[0].neurons:
        neuron.weights[0].data /= 100  # weights made for the scale: the run learns
    history = nn.fit(model, X, MOONS_Y, nn.bce_with_logits, nn.Adam(model, lr=0.02), epochs=60,
                  progress=False)
    diagnosis = nn.diagnose(model, X, MOONS_Y, loss=nn.bce_with_logits, history=history)
    assert diagnosis.kinds == ["unscaled_inputs"] and diagnosis.problems == []
    assert diagnosis.root is None and diagnosis[0].severity == "note"
    assert diagnosis.text().startswith("No problems found") and "\nnote: The inputs" in \
        diagnosis.text()


def test_chance_comes_from_the_data() -> None:
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    X = [[0.1 * k, 0.0] for k in range(10)]
    labels = [1, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    run = gather(model, X, labels, nn.bce_with_logits, None)
    assert run.chance.accuracy == 0.8 and run.chance.majority == 1
    # The best constant logit is logit(0.8); its loss is the entropy of 80/20.
    import math
    entropy = -(0.8 * math.log(0.8) + 0.2 * math.log(0.2))
    assert run.chance.loss == pytest.approx(entropy, abs=1e-9)
    targets = [0.5, 1.5, 2.5, 4.5]
    linear = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    regression = gather(linear, X[:4], targets, nn.mse, None)
    assert regression.chance.accuracy is None
    assert regression.chance.loss == pytest.approx(2.1875, abs=1e-9)  # the targets' variance


def test_the_guides_explorer_example_prints_what_the_guide_shows_and_its_advice_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/guide/explorer.md (where the README's explorer section lives): the example's output
    is shown as printed, and the fix it advises (lr 5 to 25) is the one it then takes."""
    from test_readme import code_blocks

    page = (Path(__file__).resolve().parent.parent / "docs" / "guide" / "explorer.md").read_text()
    blocks = code_blocks(page)
    index = next(i for i, (lang, code) in enumerate(blocks)
                 if lang == "python" and "diagnose(" in code)
    program, (_, shown) = blocks[index][1], blocks[index + 1]
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(program, "explorer.md", "exec"), {})  # the guide's own trusted example
    assert printed.getvalue().strip() == shown.strip()
    assert "lr 5 to 25" in shown and "model, history = keras_recipe(lr=5, epochs=300)" in program
    assert shown.rstrip().endswith(NOTHING_FOUND) and (tmp_path / "xor.html").exists()


def test_a_module_of_ones_own_at_chance_gets_the_chance_finding() -> None:
    """No layers to look into, but outputs, a loss and a history: chance is still measured."""
    from chainrule.engine import Value
    from chainrule.nn import Linear, Module

    class Net(Module):
        def __init__(self) -> None:
            self.hidden = Linear(2, 3, seed=0)
            self.out = Linear(3, 1, seed=1)

        def forward(self, x: list[float]) -> Value:
            return self.out([h.tanh() for h in self.hidden(x)])[0]

    model = Net()
    for p in model.parameters():
        p.data = 0.0  # a constant output: exactly what chance gets
    diagnosis = nn.diagnose(model, MOONS_X, MOONS_Y, loss=nn.bce_with_logits)
    assert diagnosis.kinds == ["no_better_than_chance"], diagnosis.text()
    assert "accuracy 50%, while always answering 0 gets 50%" in diagnosis[0].evidence
    assert diagnosis.root is diagnosis[0]


def test_a_recorded_run_says_how_much_the_weights_grew_since_epoch_0() -> None:
    model = nn.MLP(2, [8, 1], activation="tanh", seed=0)
    history = nn.fit(model, MOONS_X, MOONS_Y, nn.bce_with_logits, nn.SGD(model, lr=20), epochs=40,
                  progress=False, record=True)
    assert history.recording is not None
    start = history.recording.snapshots[0]
    names = [name for name, _ in model.named_parameters()]
    first_layer = [abs(v) for name, v in zip(names, start.parameters, strict=True)
                   if name.startswith("layers.0.") and ".w" in name]
    diagnosis = nn.diagnose(model, MOONS_X, MOONS_Y, loss=nn.bce_with_logits, history=history)
    assert diagnosis.kinds[:2] == ["learning_rate_too_large", "saturated_units"]
    because = diagnosis[1].because
    assert because is not None
    assert f"times their {sum(first_layer) / len(first_layer):.3g} at epoch 0" in because
