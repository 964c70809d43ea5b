"""The workloads, each as one case per engine (see :mod:`timing` for how cases are run).

Engines: ``chainrule``; ``micrograd`` 0.1.0 from PyPI; ``floats``, the same computation on
plain floats with its backward pass written by hand (the pure-Python floor).
"""

from __future__ import annotations

import gc
import math
import tracemalloc
from typing import Any

import moons
from timing import Case, recursion_limit

# micrograd's backward() recurses once per node of the longest path; these are the depths
# the workloads need, with room to spare.
MICROGRAD_DEPTH_MARGIN = 1_000


# -- micrograd additions -----------------------------------------------------------------------


def micrograd_tanh(x: Any) -> Any:
    """tanh for micrograd 0.1.0, which has none, written the way micrograd writes its
    operations (and the way its later versions define tanh): a closure per node."""
    from micrograd.engine import Value

    t = math.tanh(x.data)
    out = Value(t, (x,), "tanh")

    def _backward() -> None:
        x.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def count_nodes(root: Any, inputs_of: Any) -> int:
    """Nodes of a graph, for any engine (iteratively: graphs here are deep)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for child in inputs_of(stack.pop()):
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


# -- the moons training step, and the whole demo -----------------------------------------------


def moons_step_cases(
    data: moons.Moons, weights: list[moons.Layer], steps: int = 1, in_loop: bool = False
) -> dict[str, Case]:
    """Training steps (forward, zero_grad, backward, SGD update) from the initial weights.

    ``in_loop``: ``steps`` consecutive steps, then the garbage they left is collected, all
    timed, as in a training loop where each engine pays for tearing down its own graphs.
    Otherwise the step's garbage is left for the (untimed) collection before the next
    measurement: micrograd's graphs, which only the cyclic collector frees, then cost it less.
    """

    def case(engine: str) -> Case:
        def prepare() -> Any:
            model = moons.MODELS[engine](weights)

            def work() -> moons.StepResult:
                with recursion_limit(10_000):
                    for k in range(steps):
                        result = model.step(data, moons.learning_rate(k))
                if in_loop:
                    gc.collect()
                return result

            return work

        return prepare

    return {engine: case(engine) for engine in moons.MODELS}


def moons_demo_cases(data: moons.Moons, weights: list[moons.Layer], steps: int) -> dict[str, Case]:
    """micrograd's demo end to end: ``steps`` training steps from the initial weights."""

    def case(engine: str) -> Case:
        def prepare() -> Any:
            model = moons.MODELS[engine](weights)

            def work() -> moons.StepResult:
                with recursion_limit(10_000):
                    return moons.train(model, data, steps)

            return work

        return prepare

    return {engine: case(engine) for engine in moons.MODELS}


# -- a chain of tanh links: cost per link as the graph gets deeper -----------------------------
# One link is x <- tanh(w * x + b), with shared leaves w = 1, b = 0 and x0 = 0.5: at w = 1 the
# gradient neither vanishes nor explodes along the chain, so every link carries real work
# (and an engine that skips zero gradients gets no shortcut).

CHAIN_START, CHAIN_W, CHAIN_B = 0.5, 1.0, 0.0


def chainrule_chain(links: int) -> tuple[float, float, float]:
    from chainrule.engine import Value

    x0, w, b = Value(CHAIN_START), Value(CHAIN_W), Value(CHAIN_B)
    x = x0
    for _ in range(links):
        x = (w * x + b).tanh()
    x.backward()
    return x0.grad, w.grad, b.grad


def micrograd_chain(links: int) -> tuple[float, float, float]:
    from micrograd.engine import Value

    x0, w, b = Value(CHAIN_START), Value(CHAIN_W), Value(CHAIN_B)
    x = x0
    for _ in range(links):
        x = micrograd_tanh(w * x + b)
    with recursion_limit(3 * links + MICROGRAD_DEPTH_MARGIN):
        x.backward()
    return x0.grad, w.grad, b.grad


def floats_chain(links: int) -> tuple[float, float, float]:
    w, b = CHAIN_W, CHAIN_B
    outputs = []
    x = CHAIN_START
    for _ in range(links):
        x = math.tanh(w * x + b)
        outputs.append(x)
    # Backward: through tanh (1 - t^2), then w * x + b (d/dx = w, d/dw = x, d/db = 1).
    grad_x, grad_w, grad_b = 1.0, 0.0, 0.0
    for index in range(links - 1, -1, -1):
        t = outputs[index]
        grad_z = grad_x * (1.0 - t * t)
        grad_w += grad_z * (outputs[index - 1] if index else CHAIN_START)
        grad_b += grad_z
        grad_x = grad_z * w
    return grad_x, grad_w, grad_b


CHAINS = {"chainrule": chainrule_chain, "micrograd": micrograd_chain, "floats": floats_chain}


def chain_cases(links: int, engines: list[str]) -> dict[str, Case]:
    def case(engine: str) -> Case:
        def prepare() -> Any:
            return lambda: CHAINS[engine](links)

        return prepare

    return {engine: case(engine) for engine in engines}


# -- per-operation cost: a sum of products -----------------------------------------------------


def sum_of_products_cases(count: int) -> dict[str, Case]:
    """sum(x_i * y_i) over ``count`` pairs of leaves (created outside the timed region), forward
    and backward: 2 * count operations, each timed run measuring both passes."""
    xs = [((i * 7919) % 1000) / 1000.0 - 0.5 for i in range(count)]
    ys = [((i * 104729) % 1000) / 1000.0 - 0.5 for i in range(count)]

    def scalar_case(engine: str) -> Case:
        def prepare() -> Any:
            if engine == "chainrule":
                from chainrule.engine import Value
            else:
                from micrograd.engine import Value
            left, right = [Value(x) for x in xs], [Value(y) for y in ys]

            def work() -> float:
                with recursion_limit(2 * count + MICROGRAD_DEPTH_MARGIN):
                    total = sum(x * y for x, y in zip(left, right, strict=True))
                    total.backward()
                return left[-1].grad

            return work

        return prepare

    def floats_prepare() -> Any:
        def work() -> float:
            total = sum(x * y for x, y in zip(xs, ys, strict=True))
            grads_x, grads_y = list(ys), list(xs)  # d/dx_i = y_i, d/dy_i = x_i
            return total + grads_x[-1] + grads_y[-1]

        return work

    return {"chainrule": scalar_case("chainrule"), "micrograd": scalar_case("micrograd"),
            "floats": floats_prepare}


# -- memory: bytes per graph node --------------------------------------------------------------


def bytes_per_node(engine: str, data: moons.Moons, weights: list[moons.Layer]) -> dict[str, float]:
    """Memory allocated while recording the moons loss graph (tracemalloc): in all, and per
    graph node; and after backward() (which gives every node a gradient). ``"chainrule
    binary"`` is chainrule's engine recording micrograd's graph (each weighted sum a chain of
    binary nodes), beside ``"chainrule"``'s network of ``dot`` nodes."""
    model = (moons.chainrule_model(weights) if engine == "chainrule binary"
             else moons.MODELS[engine](weights))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        total, _ = model.loss(data)
        built = tracemalloc.get_traced_memory()[0]
        with recursion_limit(10_000):
            total.backward()
        after_backward = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    if engine.startswith("chainrule"):
        nodes = count_nodes(total, lambda v: v.inputs)
    else:
        nodes = count_nodes(total, lambda v: v._prev)
    # Parameters existed before recording: they are not part of what the graph cost.
    nodes -= len(model.parameters)
    return {
        "nodes": nodes,
        "bytes": built - before,
        "bytes_per_node": (built - before) / nodes,
        "bytes_per_node_after_backward": (after_backward - before) / nodes,
    }
