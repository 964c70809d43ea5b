"""Compiled programs against eager, hand-written floats, micrograd and PyTorch (issue 17).

Two workloads, each verified against the eager engine in every run:

* **moons step, compiled**: micrograd's moons training step (the model and data of
  :mod:`moons`) as per-sample programs looped over the batch (``compile_gradient``, the Python
  backend), as one numpy program over the batch (the numpy backend), eagerly, in micrograd,
  on hand-written floats and in PyTorch float64 batched on one thread. Also what building
  the per-sample programs costs (trace + generate + compile).
  The same step through the public per-sample loop (``jit(value_and_grad(loss,
  argnums=0))`` once per point, 337 parameters as a flat list) and what its dispatch costs
  beside the program (``dispatch``: a call against the program run on prepared arguments).
* **digits epoch**: one epoch of ``fit`` on the 8x8 digits (an MLP(64, [32, 10]) with softmax
  cross-entropy, Adam, batches of 32) eagerly, with ``compile=True``, with
  ``compile="numpy"``, and the same loop in PyTorch float64.
"""

from __future__ import annotations

import gc
import math
import random
import statistics
import time
from typing import Any

import moons
import workloads
from timing import interleaved, time_work

TOLERANCE = 1e-9  # gradients and losses against eager (relative for losses)


_timed = time_work


# -- the moons step ----------------------------------------------------------------------------


class CompiledMoons:
    """micrograd's moons step through per-sample programs (the Python backend)."""

    def __init__(self, weights: list[moons.Layer]) -> None:
        from chainrule.engine import Value
        from chainrule.engine.compile import compile_gradient

        self.model = moons.ScalarMLP(Value, weights)
        params = self.model.parameters

        def sample(x0: Any, x1: Any, label: int) -> Any:
            return (1 + -label * self.model([x0, x1])).relu()  # as ScalarMLP.loss writes it

        def penalty() -> Any:
            return moons.ALPHA * sum(p * p for p in params)

        self.sample = compile_gradient(sample, params, static_argnums=(2,))
        self.penalty = compile_gradient(penalty, params)
        self.build_seconds = 0.0

    def build(self, data: moons.Moons) -> float:
        """Trace, generate and compile every program the step needs; their total time."""
        for label in sorted(set(data.labels)):
            point = data.points[data.labels.index(label)]
            self.sample(point[0], point[1], label)
        self.penalty()
        return sum(p.build_seconds for p in self.sample.programs + self.penalty.programs)

    def step(self, data: moons.Moons, rate: float) -> moons.StepResult:
        results, sums = self.sample.run_batch(
            [(x0, x1, label) for (x0, x1), label in zip(data.points, data.labels, strict=True)])
        scale = 1.0 / len(results)
        penalty, penalty_grads = self.penalty()
        loss = sum(results) * scale + penalty
        grads = [s * scale + g for s, g in zip(sums, penalty_grads, strict=True)]
        return _update(self.model, loss, grads, rate)


def _update(model: moons.ScalarMLP, loss: float, grads: list[float], rate: float
            ) -> moons.StepResult:
    """SGD on the model's parameters; the step's result (no accuracy: not measured here)."""
    for p, g in zip(model.parameters, grads, strict=True):
        p.data -= rate * g
    return moons.StepResult(loss, math.nan, grads)


class JitPerSampleMoons:
    """The moons step through the public per-sample loop a JAX user writes:
    ``jit(value_and_grad(loss, argnums=0))`` called once per point with the 337 parameters
    as a flat list of floats, the gradients summed in Python."""

    def __init__(self, weights: list[moons.Layer]) -> None:
        from chainrule.engine import jit, value_and_grad

        self.widths = [[len(ws) for ws, _ in layer] for layer in weights]
        self.params = [float(p) for layer in weights for ws, b in layer for p in (*ws, b)]
        widths = self.widths

        def loss(params: Any, x0: Any, x1: Any, label: Any) -> Any:
            x, k, last = [x0, x1], 0, len(widths) - 1
            for index, layer in enumerate(widths):
                activations = []
                for n in layer:
                    ws, b = params[k : k + n], params[k + n]
                    k += n + 1
                    activations.append(sum((w * xi for w, xi in zip(ws, x, strict=True)), b))
                x = activations if index == last else [a.relu() for a in activations]
            return (1 + -label * x[0]).relu()  # as ScalarMLP.loss writes it

        def penalty(params: Any) -> Any:
            return moons.ALPHA * sum(p * p for p in params)

        self.sample = jit(value_and_grad(loss, argnums=0))
        self.penalty = jit(value_and_grad(penalty, argnums=0))

    def build(self, data: moons.Moons) -> float:
        for label in sorted(set(data.labels)):
            point = data.points[data.labels.index(label)]
            self.sample(self.params, point[0], point[1], float(label))
        self.penalty(self.params)
        return sum(p.build_seconds for p in self.sample.programs + self.penalty.programs)

    def step(self, data: moons.Moons, rate: float) -> moons.StepResult:
        params, sample = self.params, self.sample
        total = 0.0
        sums = [0.0] * len(params)
        for (x0, x1), label in zip(data.points, data.labels, strict=True):
            value, grads = sample(params, x0, x1, float(label))
            total += value
            sums = list(map(float.__add__, sums, grads))
        scale = 1.0 / len(data.points)
        penalty, penalty_grads = self.penalty(params)
        loss = total * scale + penalty
        grads = [s * scale + g for s, g in zip(sums, penalty_grads, strict=True)]
        self.params = [p - rate * g for p, g in zip(params, grads, strict=True)]
        return moons.StepResult(loss, math.nan, grads)


def dispatch_share(repeats: int) -> dict[str, Any]:
    """What calling ``jit(value_and_grad(loss, argnums=0))`` costs beside its program, on the
    moons step's 100 per-sample calls: the calls through ``Compiled.__call__`` against the
    program run directly on prepared arguments (interleaved, medians)."""
    data, weights = moons.make_moons(), moons.initial_weights()
    engine = JitPerSampleMoons(weights)
    engine.build(data)
    params, sample = engine.params, engine.sample
    calls = [(params, x0, x1, float(label))
             for (x0, x1), label in zip(data.points, data.labels, strict=True)]
    programs = {label: sample.program(params, 0.0, 0.0, float(label)) for label in (-1, 1)}
    direct = [(programs[int(label)].run, [*params, x0, x1, label])
              for _, x0, x1, label in calls]

    def through_jit() -> Any:
        def work() -> Any:
            for args in calls:
                result = sample(*args)
            return result
        return work

    def program_alone() -> Any:
        def work() -> Any:
            for run, leaves in direct:
                result = run(leaves, ())
            return result
        return work

    timed = interleaved({"call": through_jit, "program": program_alone}, repeats)
    call, program = timed["call"].median / len(calls), timed["program"].median / len(calls)
    return {"call_us": call * 1e6, "program_us": program * 1e6,
            "dispatch_us": (call - program) * 1e6, "dispatch/program": (call - program) / program,
            "calls_per_step": len(calls), "parameters": len(params), "repeats": repeats}


class NumpyMoons:
    """micrograd's moons step as one numpy program over the 100 points (the numpy backend),
    its layers lifted to matrix products (``lift``) or node by node."""

    lift = True

    def __init__(self, weights: list[moons.Layer]) -> None:
        import numpy as np

        from chainrule.engine import Value
        from chainrule.engine.compile import compile_gradient

        self.np = np
        self.model = moons.ScalarMLP(Value, weights)
        params = self.model.parameters
        self.penalty = compile_gradient(lambda: moons.ALPHA * sum(p * p for p in params), params)
        self.program: Any = None
        self.inputs: Any = None

    def build(self, data: moons.Moons) -> float:
        from chainrule.engine.compile import numpy_backend, trace

        started = time.perf_counter()
        model = self.model

        def sample(x0: Any, x1: Any, label: Any) -> Any:
            return (1 + -label * model([x0, x1])).relu()

        x0, x1 = data.points[0]
        traced = trace(sample, (x0, x1, float(data.labels[0])), "sample")
        self.program = numpy_backend.generate(traced, model.parameters, "moons_step",
                                              lift=self.lift)
        self.inputs = self.np.array([[p[0] for p in data.points], [p[1] for p in data.points],
                                     [float(y) for y in data.labels]])
        self.penalty()
        return time.perf_counter() - started

    def step(self, data: moons.Moons, rate: float) -> moons.StepResult:
        (losses,), sums = self.program(self.inputs)
        n = self.inputs.shape[1]
        penalty, penalty_grads = self.penalty()
        loss = float(losses.sum()) / n + penalty
        grads = [s + g for s, g in zip((sums / n).tolist(), penalty_grads, strict=True)]
        return _update(self.model, loss, grads, rate)


class NumpyPerNodeMoons(NumpyMoons):
    lift = False


class TorchMoons:
    """The same step in PyTorch, float64, batched (one thread), with autograd."""

    def __init__(self, weights: list[moons.Layer]) -> None:
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        self.layers = [
            (torch.tensor([ws for ws, _ in layer], dtype=torch.float64, requires_grad=True),
             torch.tensor([b for _, b in layer], dtype=torch.float64, requires_grad=True))
            for layer in weights
        ]
        self.X: Any = None

    def build(self, data: moons.Moons) -> float:
        torch = self.torch
        self.X = torch.tensor(data.points, dtype=torch.float64)
        self.y = torch.tensor(data.labels, dtype=torch.float64)
        return 0.0

    def step(self, data: moons.Moons, rate: float) -> moons.StepResult:
        torch = self.torch
        h = self.X
        last = len(self.layers) - 1
        for index, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if index != last:
                h = torch.relu(h)
        losses = torch.relu(1 + -self.y * h[:, 0])
        params = [p for layer in self.layers for p in layer]
        total = losses.mean() + moons.ALPHA * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        total.backward()
        grads = []
        for w, b in self.layers:  # micrograd's order: each neuron's weights, then its bias
            for row, bias in zip(w.grad.tolist(), b.grad.tolist(), strict=True):
                grads.extend([*row, bias])
        with torch.no_grad():
            for p in params:
                p -= rate * p.grad
        return moons.StepResult(total.item(), math.nan, grads)


def moons_compiled(step_repeats: int, steps: int) -> dict[str, Any]:
    """Per moons step, ``steps`` consecutive steps per measurement, every engine interleaved."""
    data, weights = moons.make_moons(), moons.initial_weights()
    engines: dict[str, Any] = {
        "eager": moons.chainrule_model, "micrograd": moons.micrograd_model,
        "floats": moons.float_model, "compiled": CompiledMoons, "numpy": NumpyMoons,
        "numpy_per_node": NumpyPerNodeMoons, "jit_per_sample": JitPerSampleMoons,
    }
    try:
        import torch  # noqa: F401

        engines["pytorch"] = TorchMoons
    except ImportError:
        pass
    builds: dict[str, float] = {}

    def case(name: str) -> Any:
        def prepare() -> Any:
            model = engines[name](weights)
            if hasattr(model, "build"):
                builds[name] = model.build(data)

            def work() -> moons.StepResult:
                with workloads.recursion_limit(10_000):
                    for k in range(steps):
                        result = model.step(data, moons.learning_rate(k))
                # No gc.collect() here: with PyTorch loaded, one full collection of its large
                # heap costs more than the compiled steps themselves.
                return result

            return work

        return prepare

    # The first step's result (its gradients at the initial weights) is the check: a
    # separate interleaved run of a single step.
    checks = interleaved({name: case_first(name, engines, weights, data) for name in engines}, 1)
    reference = checks["eager"].result
    differences = {
        name: max(abs(a - b) for a, b in zip(reference.gradients, s.result.gradients,
                                             strict=True))
        for name, s in checks.items() if name != "eager"
    }
    loss_differences = {name: abs(s.result.loss - reference.loss) / reference.loss
                        for name, s in checks.items()}
    samples = interleaved({name: case(name) for name in engines}, step_repeats)
    summary = {name: {"unit": "ms", "median": s.median * 1e3 / steps,
                      "samples": [t * 1e3 / steps for t in s.seconds],
                      "collector_median": s.median_collector * 1e3 / steps}
               for name, s in samples.items()}
    # Build time of the per-sample programs (traced once, here on the initial weights).
    compiled = CompiledMoons(weights)
    build_seconds = compiled.build(data)
    numpy_build = NumpyMoons(weights).build(data)
    eager_step = summary["eager"]["median"] / 1e3
    return {
        "engines": summary,
        "ratios": {f"{name}/floats": summary[name]["median"] / summary["floats"]["median"]
                   for name in summary},
        "numpy/pytorch": (summary["numpy"]["median"] / summary["pytorch"]["median"]
                          if "pytorch" in summary else None),
        "numpy_per_node/pytorch": (summary["numpy_per_node"]["median"]
                                   / summary["pytorch"]["median"] if "pytorch" in summary
                                   else None),
        "build_seconds": {"compiled (2 programs: labels -1 and +1, and the L2 term)":
                          build_seconds, "numpy (1 program)": numpy_build},
        "build_over_eager_epoch": build_seconds / eager_step,
        "check": {"max_gradient_difference": differences, "loss_relative_difference":
                  loss_differences,
                  "agree": all(d <= TOLERANCE for d in differences.values())
                  and all(d <= TOLERANCE for d in loss_differences.values())},
        "repeats": step_repeats, "steps_per_sample": steps,
        "pytorch_threads": 1 if "pytorch" in summary else None,
        "dispatch": dispatch_share(step_repeats),
    }


def case_first(name: str, engines: dict[str, Any], weights: list[moons.Layer],
               data: moons.Moons) -> Any:
    def prepare() -> Any:
        model = engines[name](weights)
        if hasattr(model, "build"):
            model.build(data)

        def work() -> moons.StepResult:
            with workloads.recursion_limit(10_000):
                return model.step(data, moons.learning_rate(0))

        return work

    return prepare


# -- a digits epoch ----------------------------------------------------------------------------

HIDDEN, BATCH, LR, SEED = 32, 32, 0.01, 0  # HIDDEN: the default width of the hidden layer


def _digits(samples: int | None) -> tuple[list[list[float]], list[int]]:
    from chainrule.nn import datasets

    X, y = datasets.digits()
    if samples is not None:
        X, y = X[:samples], y[:samples]
    return X, y


def _network(hidden: int) -> Any:
    from chainrule.nn import MLP

    return MLP(64, [hidden, 10], activation="relu", init="he_uniform", seed=SEED)


def _fit_epochs(compile: bool | str, X: list, y: list, epochs: int, hidden: int
                ) -> tuple[list[float], list[float]]:
    """Epoch times and losses of ``fit`` from the same initial weights."""
    from chainrule.nn import Adam, fit

    model = _network(hidden)
    times: list[float] = []
    marks = [time.perf_counter()]

    def mark(epoch: int, history: Any) -> None:
        now = time.perf_counter()
        times.append(now - marks[-1])
        marks.append(now)

    history = fit(model, X, y, loss=_cross_entropy(), optimizer=Adam(model, lr=LR),
                  epochs=epochs, batch_size=BATCH, seed=SEED, progress=False, compile=compile,
                  callback=mark)
    return times, history.loss


def _cross_entropy() -> Any:
    from chainrule.nn import cross_entropy

    return cross_entropy


def _torch_epochs(X: list, y: list, epochs: int, hidden: int
                  ) -> tuple[list[float], list[float]]:
    """fit's loop in PyTorch float64: the same shuffles, batches, initial weights and Adam."""
    import torch

    torch.set_num_threads(1)
    model = _network(hidden)
    weights = [(torch.tensor([[w.data for w in n.weights] for n in layer.neurons],
                             dtype=torch.float64, requires_grad=True),
                torch.tensor([n.bias.data for n in layer.neurons], dtype=torch.float64,
                             requires_grad=True)) for layer in model.layers]
    params = [p for layer in weights for p in layer]
    optimizer = torch.optim.Adam(params, lr=LR)
    data, labels = torch.tensor(X, dtype=torch.float64), torch.tensor(y)
    rng = random.Random(SEED)
    order = list(range(len(X)))
    times, losses = [], []
    for _ in range(epochs):
        started = time.perf_counter()
        rng.shuffle(order)
        total = 0.0
        for start in range(0, len(X), BATCH):
            batch = torch.tensor(order[start : start + BATCH])
            h = torch.relu(data[batch] @ weights[0][0].T + weights[0][1])
            logits = h @ weights[1][0].T + weights[1][1]
            loss = torch.nn.functional.cross_entropy(logits, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(X))
        times.append(time.perf_counter() - started)
    return times, losses


def digits_epoch(repeats: int, samples: int | None, hidden: int = HIDDEN) -> dict[str, Any]:
    """One epoch of fit on the digits: eager (first epoch), compiled and numpy (their second
    epoch: the first one also traces, compiles and checks a step against eager; both are
    reported), PyTorch (second epoch). Interleaved, medians."""
    X, y = _digits(samples)
    names = ["eager", "compiled", "numpy"]
    try:
        import torch  # noqa: F401

        names.append("pytorch")
    except ImportError:
        pass
    first: dict[str, list[float]] = {n: [] for n in names}
    steady: dict[str, list[float]] = {n: [] for n in names}
    losses: dict[str, list[float]] = {}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            if name == "pytorch":
                times, loss = _torch_epochs(X, y, 2, hidden)
            else:
                mode = {"eager": False, "compiled": True, "numpy": "numpy"}[name]
                times, loss = _fit_epochs(mode, X, y, 1 if name == "eager" else 2, hidden)
            first[name].append(times[0])
            steady[name].append(times[-1])
            losses[name] = loss
    reference = losses["eager"][0]
    loss_differences = {n: abs(losses[n][0] - reference) / reference for n in names}
    medians = {n: statistics.median(steady[n]) for n in names}
    first_medians = {n: statistics.median(first[n]) for n in names}
    return {
        "samples": len(X), "batch_size": BATCH, "hidden": hidden, "repeats": repeats,
        "epoch_seconds": medians, "first_epoch_seconds": first_medians,
        "eager/compiled": medians["eager"] / medians["compiled"],
        "eager/numpy": medians["eager"] / medians["numpy"],
        "numpy/pytorch": medians["numpy"] / medians["pytorch"] if "pytorch" in names else None,
        "compiled/pytorch": (medians["compiled"] / medians["pytorch"]
                             if "pytorch" in names else None),
        "check": {"first_epoch_loss": reference, "relative_loss_difference": loss_differences,
                  "agree": all(d <= TOLERANCE for d in loss_differences.values())},
        "note": "eager: one epoch; compiled, numpy, pytorch: the second epoch of two (the "
                "first, with tracing, compiling and the check against eager, is "
                "first_epoch_seconds)",
    }


def digits_build(samples: int | None, hidden: int = HIDDEN) -> dict[str, Any]:
    """Trace + generate + compile of the digits per-sample programs (one per class)."""
    from chainrule.engine.compile import compile_gradient
    from chainrule.nn import cross_entropy

    X, y = _digits(samples)
    model = _network(hidden)
    params = model.parameters()

    def sample(x: Any, target: int) -> Any:
        output = model(x)
        return [cross_entropy([output], [target]), output]

    compiled = compile_gradient(sample, params, static_argnums=(1,))
    for label in sorted(set(y)):
        compiled.program(X[y.index(label)], label)
    seconds = [p.build_seconds for p in compiled.programs]
    return {"programs": len(seconds), "seconds_each": statistics.median(seconds),
            "seconds_total": sum(seconds), "lines_each": compiled.programs[0].line_count}
