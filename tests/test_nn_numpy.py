"""numpy and scikit-learn habits: arrays and numpy scalars work wherever a list of numbers
does (numpy stays optional: chainrule converts with ``tolist()`` and never imports it), and a
batch passed where one sample is expected gets an error that says so."""

from __future__ import annotations

import pytest

from chainrule.engine import Value
from chainrule.nn import MLP, Layer, Neuron, ShapeError, load, predict, save

np = pytest.importorskip("numpy")  # the `bench` and `dev` extras install it


def _model() -> MLP:
    return MLP(2, [3, 1], activation="tanh", seed=0)


@pytest.mark.parametrize("sample", [
    np.array([0.5, -1.0]),
    np.array([0.5, -1.0], dtype=np.float32),
    np.array([[0.5, -1.0]])[0],                 # a row of a 2-D array
    [np.float64(0.5), np.float64(-1.0)],
    (np.float32(0.5), np.int64(-1)),
    [np.float16(0.5), -1.0],
], ids=["float64 array", "float32 array", "row", "float64 scalars", "mixed scalars", "float16"])
def test_model_calls_accept_numpy(sample) -> None:
    expected = _model()([0.5, -1.0]).data
    assert _model()(sample).data == pytest.approx(expected, rel=1e-6)  # float32/16 inputs round


def test_numpy_inputs_give_plain_values_with_exact_gradients() -> None:
    model = _model()
    out = model(np.array([0.5, -1.0]))
    assert type(out) is Value and type(out.data) is float
    out.backward()
    reference = _model()
    reference([0.5, -1.0]).backward()
    assert [p.grad for p in model.parameters()] == [p.grad for p in reference.parameters()]


@pytest.mark.parametrize("x", [np.float32(0.25), np.float64(0.25), np.array(0.25), np.array([0.25])])
def test_a_single_input_may_be_a_numpy_scalar_or_zero_d_array(x) -> None:
    neuron = Neuron(1, "tanh", seed=0)
    out = neuron(x)
    assert type(out) is Value and out.data == neuron(0.25).data


def test_lists_of_arrays_work_in_predict() -> None:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    model = _model()
    assert predict(model, list(X)) == predict(model, X.tolist())


def test_state_dicts_and_saving_after_numpy_training(tmp_path) -> None:
    model = _model()
    model.load_state_dict({name: np.float32(0.25) for name in model.state_dict()})
    save(model, tmp_path / "m.json")  # every value is a plain float: valid JSON
    assert load(tmp_path / "m.json").state_dict() == model.state_dict()


@pytest.mark.parametrize(("call", "message"), [
    (lambda: _model()(np.array([[0.5, -1.0], [1.0, 2.0]])),
     r"MLP expects one sample \(2 numbers\), got a batch of 2 samples; call it on each sample"),
    (lambda: _model()(np.zeros((5, 2))), "got a batch of 5 samples"),
    (lambda: _model()([np.zeros(2), np.zeros(2), np.zeros(2)]), "got a batch of 3 samples"),
    (lambda: Neuron(1, seed=0)(np.zeros((4, 1))), r"Neuron neuron0 expects one sample \(1 numbers\), got a batch of 4"),
    (lambda: Layer(3, 2, seed=0)([[1.0, 2.0, 3.0]]), "got a batch of 1 sample;"),
    (lambda: _model()(np.array([1.0, 2.0, 3.0])), "MLP expects 2 inputs, got 3"),
    (lambda: _model()(x for x in (1.0, 2.0)), r"expects 2 inputs as a list or tuple of numbers or Values \(a numpy array works too\), got generator"),
    (lambda: _model()({"a": 1.0, "b": 2.0}), "got dict"),
])
def test_batches_and_other_shapes_are_named(call, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        call()


def test_fit_predict_and_evaluate_take_numpy_arrays_whole() -> None:
    np = pytest.importorskip("numpy")
    from chainrule.nn import MLP, SGD, evaluate, fit, mse, predict

    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    model = MLP(2, [3, 1], seed=0)
    history = fit(model, X, y, loss=mse, optimizer=SGD(model.parameters(), lr=0.1), epochs=2,
                  progress=False)
    assert len(history.loss) == 2
    assert predict(model, X) == predict(model, X.tolist())
    assert evaluate(model, X, y, mse) == evaluate(model, X.tolist(), y.tolist(), mse)
