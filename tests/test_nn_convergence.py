"""micrograd's moons demo, exactly its recipe, reaches 100% training accuracy (about 15 s)."""

from __future__ import annotations

from chainrule.nn import MLP, SGD, LinearDecay, accuracy, datasets, fit, hinge


def test_micrograd_moons_recipe_reaches_full_training_accuracy() -> None:
    X, labels = datasets.moons(100, noise=0.1, seed=1337)
    y = datasets.signed_labels(labels)
    model = MLP(2, [16, 16, 1], activation="relu", seed=1337)
    history = fit(model, X, y, loss=hinge, optimizer=SGD(model, lr=1.0), epochs=100, l2=1e-4,
                  schedule=LinearDecay(1.0, 0.1, 100), progress=False)
    assert accuracy(model, X, y, loss=hinge) == 1.0
    assert history.loss[-1] < 0.05 < history.loss[0]
