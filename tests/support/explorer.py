"""Small recorded runs for the training-explorer tests."""

from __future__ import annotations

from chainrule.nn import MLP, SGD, Adam, bce_with_logits, datasets, fit, mse


def xor_run(epochs: int = 60, record: bool | int = True):
    """A 2-3-1 tanh network learning XOR with Adam, recorded every epoch."""
    X, y = datasets.xor()
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    history = fit(model, X, y, bce_with_logits, Adam(model, lr=0.1), epochs=epochs,
                  progress=False, record=record)
    return model, X, y, history


def moons_run(points: int = 40, epochs: int = 30):
    X, y = datasets.moons(points, noise=0.1, seed=0)
    X_val, y_val = datasets.moons(20, noise=0.1, seed=1)
    model = MLP(2, [6, 6, 1], activation="tanh", seed=0)
    history = fit(model, X, y, bce_with_logits, Adam(model, lr=0.05), epochs=epochs,
                  progress=False, record=True, validation=(X_val, y_val))
    return model, X, y, history


def regression_run():
    X = [[x / 10, (x % 3) / 3, 1.0] for x in range(12)]
    y = [0.3 * a - b + 0.1 for a, b, _ in X]
    model = MLP(3, [4, 1], activation="tanh", seed=0)
    history = fit(model, X, y, mse, SGD(model, lr=0.1), epochs=10, progress=False, record=True)
    return model, X, y, history
