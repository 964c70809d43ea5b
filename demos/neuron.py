"""The single sigmoid neuron of the classic tutorial, computed and differentiated by chainrule.

    z = w1*x1 + w2*x2 + w3*x3 + b,   y = sigmoid(z)

Then a few steps of gradient descent on one example: with the loss L = (y - target)^2, each
parameter moves against its gradient, w <- w - lr * dL/dw. Last, the same loss and its
gradients compiled by jit: the whole backward pass as the few lines of Python it amounts to.

Run: python demos/neuron.py
"""

from __future__ import annotations

from chainrule.engine import Value, jit, value_and_grad
from chainrule.nn import SGD

INPUTS = {"x1": 0.8, "x2": 0.6, "x3": 0.9}
WEIGHTS = {"w1": 0.5, "w2": 0.7, "w3": 0.3}
BIAS = 0.1
TARGET = 1.0
LEARNING_RATE = 1.0
STEPS = 3


def build_neuron(
    params: dict[str, Value] | None = None,
) -> tuple[Value, dict[str, Value], dict[str, Value]]:
    """The neuron's graph: its output, its named inputs and its named parameters.

    ``params`` (``w1``, ``w2``, ``w3``, ``b``) reuses existing parameters, to recompute the
    neuron after they have been updated; by default they are made from WEIGHTS and BIAS.
    """
    x1, x2, x3 = (Value(v, label=name) for name, v in INPUTS.items())
    if params is None:
        params = {name: Value(v, label=name) for name, v in WEIGHTS.items()}
        params["b"] = Value(BIAS, label="b")
    w1, w2, w3, b = (params[name] for name in ("w1", "w2", "w3", "b"))
    z = w1 * x1 + w2 * x2 + w3 * x3 + b
    z.label = "z"
    y = z.sigmoid()
    y.label = "y"
    return y, {"x1": x1, "x2": x2, "x3": x3}, params


def main() -> None:
    y, xs, params = build_neuron()
    z = y.inputs[0]
    terms = " + ".join(f"{params[f'w{i}'].data}*{xs[f'x{i}'].data}" for i in (1, 2, 3))
    print("A single sigmoid neuron")
    print(f"  weighted sum  z = {terms} + {params['b'].data} = {z.data:.4f}")
    print(f"  output        y = sigmoid(z) = 1 / (1 + exp(-{z.data:.4f})) = {y.data:.4f}")
    y.backward()
    print(f"  dy/dz = y * (1 - y) = {y.data:.4f} * {1 - y.data:.4f} = {z.grad:.4f}")
    print("  gradients of the output (chain rule: dy/dw = dy/dz * dz/dw = dy/dz * x):")
    for name, p in params.items():
        print(f"    dy/d{name:<2} = {p.grad:.4f}")
    gradient_descent()
    compiled()


def neuron_loss(w1: Value, w2: Value, w3: Value, b: Value, x1: Value, x2: Value, x3: Value
                ) -> Value:
    """The neuron's squared error against TARGET, as a function jit can compile."""
    return ((w1 * x1 + w2 * x2 + w3 * x3 + b).sigmoid() - TARGET) ** 2


def compiled() -> None:
    """The loss and its gradients as a generated program, checked against the eager engine."""
    step = jit(value_and_grad(neuron_loss, argnums=(0, 1, 2, 3)))
    arguments = (*WEIGHTS.values(), BIAS, *INPUTS.values())
    loss, gradients = step(*arguments)
    eager = value_and_grad(neuron_loss, argnums=(0, 1, 2, 3))(*arguments)
    print()
    print("The same loss compiled: jit(value_and_grad(neuron_loss)) writes this program once,")
    print("then every call runs only it (the comments are the primitive table's formulas):")
    print()
    print(step.source(*arguments))
    same = "the same numbers as the eager engine" if (loss, gradients) == eager else "DIFFERENT"
    print(f"  L = {loss:.6f}, dL/dw1 = {gradients[0]:+.4f}: {same}")


def gradient_descent() -> None:
    """A few SGD steps towards ``TARGET``, printing each update as arithmetic."""
    _, _, params = build_neuron()
    optimizer = SGD(list(params.values()), lr=LEARNING_RATE)
    print()
    print(f"Gradient descent on this one example: target {TARGET}, loss L = (y - target)^2, "
          f"lr = {LEARNING_RATE}")
    for step in range(1, STEPS + 1):
        y, _, _ = build_neuron(params)
        loss = (y - TARGET) ** 2
        optimizer.zero_grad()
        loss.backward()
        print(f"  step {step}: y = {y.data:.4f}, L = {loss.data:.6f}")
        before = {name: (p.data, p.grad) for name, p in params.items()}
        optimizer.step()
        for name, p in params.items():
            data, grad = before[name]
            print(f"    {name:<2} <- {name:<2} - lr * dL/d{name:<2} = {data:.4f} - {LEARNING_RATE} * "
                  f"({grad:+.4f}) = {p.data:.4f}")
    y, _, _ = build_neuron(params)
    print(f"  after {STEPS} steps: y = {y.data:.4f}, L = {(y.data - TARGET) ** 2:.6f}")


if __name__ == "__main__":
    main()
