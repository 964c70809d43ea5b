"""The single sigmoid neuron of the classic tutorial, computed and differentiated by chainrule.

    z = w1*x1 + w2*x2 + w3*x3 + b,   y = sigmoid(z)

Run: python demos/neuron.py
"""

from __future__ import annotations

from chainrule.engine import Value

INPUTS = {"x1": 0.8, "x2": 0.6, "x3": 0.9}
WEIGHTS = {"w1": 0.5, "w2": 0.7, "w3": 0.3}
BIAS = 0.1


def build_neuron() -> tuple[Value, dict[str, Value], dict[str, Value]]:
    """The neuron's graph: its output, its named inputs and its named parameters."""
    x1, x2, x3 = (Value(v, label=name) for name, v in INPUTS.items())
    w1, w2, w3 = (Value(v, label=name) for name, v in WEIGHTS.items())
    b = Value(BIAS, label="b")
    z = w1 * x1 + w2 * x2 + w3 * x3 + b
    z.label = "z"
    y = z.sigmoid()
    y.label = "y"
    return y, {"x1": x1, "x2": x2, "x3": x3}, {"w1": w1, "w2": w2, "w3": w3, "b": b}


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


if __name__ == "__main__":
    main()
