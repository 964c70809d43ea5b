"""Neurons, layers and multi-layer perceptrons built from :class:`~chainrule.engine.Value`.

Parameters are plain leaf Values, so a model's output is an ordinary chainrule graph: it can be
backpropagated, drawn and stepped through like any other.

Naming scheme (one, used everywhere):

* parameter labels are ``"w0"``, ``"w1"``, ... (one weight per input) and ``"b"`` (the bias);
* :meth:`Module.named_parameters` gives dotted paths: ``"w0"`` for a Neuron,
  ``"neurons.1.w0"`` for a Layer, ``"layers.0.neurons.1.w0"`` for an MLP;
* every Value a neuron creates (its parameters, and the nodes of each forward pass) carries the
  scope ``("layer0", "neuron1")`` (see :func:`chainrule.engine.scope`), so a rendered graph can
  group a network's nodes by layer and neuron.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, Protocol, overload

from chainrule.engine import OperandTypeError, Value, constant, dot, scope
from chainrule.engine.value import as_float

from ._checks import choice, flag, positive_int
from .activations import ACTIVATIONS
from .errors import ConfigurationError, ModelFileError, ShapeError

Scalar = Value | int | float
Output = Value | list[Value]

if TYPE_CHECKING:
    from typing_extensions import TypeVar, Unpack

    #: What calling an :class:`MLP` returns: ``MLP[Value]`` for one output neuron,
    #: ``MLP[list[Value]]`` for several; unknown (``Value | list[Value]``) unless said.
    OutputT = TypeVar("OutputT", default=Output)
else:
    from typing import TypeVar

    OutputT = TypeVar("OutputT")


class RandomSource(Protocol):
    """What weight initialisation draws from: a :class:`random.Random` or the ``random`` module."""

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float, sigma: float) -> float: ...


def _uniform(rng: RandomSource, fan_in: int, fan_out: int) -> float:
    return rng.uniform(-1.0, 1.0)


def _xavier_uniform(rng: RandomSource, fan_in: int, fan_out: int) -> float:
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound)


def _xavier_normal(rng: RandomSource, fan_in: int, fan_out: int) -> float:
    return rng.gauss(0.0, math.sqrt(2.0 / (fan_in + fan_out)))


def _he_uniform(rng: RandomSource, fan_in: int, fan_out: int) -> float:
    bound = math.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound)


def _he_normal(rng: RandomSource, fan_in: int, fan_out: int) -> float:
    return rng.gauss(0.0, math.sqrt(2.0 / fan_in))


#: Weight initialisation schemes: ``scheme(rng, fan_in, fan_out)`` draws one weight. Biases
#: always start at 0 (as in micrograd and most textbooks).
#:
#: * ``"uniform"``: U(-1, 1), micrograd's;
#: * ``"xavier_uniform"`` / ``"xavier_normal"``: Glorot and Bengio (2010), variance
#:   2 / (fan_in + fan_out), suited to tanh and sigmoid;
#: * ``"he_uniform"`` / ``"he_normal"``: He et al. (2015), variance 2 / fan_in, suited to relu.
INIT_SCHEMES: dict[str, Callable[[RandomSource, int, int], float]] = {
    "uniform": _uniform,
    "xavier_uniform": _xavier_uniform,
    "xavier_normal": _xavier_normal,
    "he_uniform": _he_uniform,
    "he_normal": _he_normal,
}


def random_source(seed: int | random.Random | None) -> RandomSource:
    """The generator a seed stands for.

    ``None`` uses Python's global ``random`` state, as micrograd does (so ``random.seed(1337)``
    before building a model reproduces micrograd's weights); an int makes a private generator,
    so ``seed=0`` gives the same model every time whatever else uses ``random``.
    """
    if seed is None or seed is random:  # type: ignore[comparison-overlap]  # the module itself
        return random  # the module has uniform() and gauss()
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigurationError(
            f"seed must be an int, a random.Random or None, got {type(seed).__name__} {seed!r}"
        )
    return random.Random(int(seed))


#: What a sample may be, for error messages.
ACCEPTED_SAMPLE = "a list or tuple of numbers or Values (a numpy array works too)"


def as_features(x: Any, nin: int, who: str) -> Sequence[Scalar]:
    """``x`` as a sequence of ``nin`` numbers or Values, or a :class:`ShapeError`.

    A lone number or Value is accepted when the module takes a single input. numpy arrays and
    numpy scalars are converted with their ``tolist()`` (numpy itself is never imported).
    """
    if isinstance(x, (Value, numbers.Real)) and not isinstance(x, bool):
        if nin == 1:
            return (as_plain(x),)  # a numpy scalar first: numpy * Value would make an array
        raise ShapeError(f"{who} expects {nin} inputs, got a single number {x!r}")
    if not isinstance(x, (list, tuple)):
        x = as_plain(x)
        if isinstance(x, numbers.Real) and not isinstance(x, bool):  # a 0-d array
            return as_features(x, nin, who)
        if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
            raise ShapeError(
                f"{who} expects {nin} inputs as {ACCEPTED_SAMPLE}, "
                f"got {type(x).__name__} {x!r:.60}"
            )
    if len(x) != nin or not x:
        if x and _is_row(x[0]):
            raise ShapeError(_batch_message(x, nin, who))
        raise ShapeError(f"{who} expects {nin} inputs, got {len(x)}: {list(x)!r:.80}")
    first = x[0]
    if type(first) is float or type(first) is Value or type(first) is int:
        return x  # type: ignore[no-any-return]  # the common case, checked in O(1): the engine names any bad element later
    if _is_row(first):
        raise ShapeError(_batch_message(x, nin, who))
    return [as_plain(element) for element in x]


def as_inputs(x: Any, nin: int, who: str) -> list[Value]:
    """``x`` as :func:`as_features` checks it, with each number made a constant node once, so
    that the neurons of a layer share their inputs (one node per feature, not one per neuron)."""
    features = as_features(x, nin, who)
    if set(map(type, features)) == _ONLY_VALUES:
        return list(features)  # type: ignore[arg-type]  # all Values: the usual hidden layer
    return [feature if isinstance(feature, Value) else constant(as_float(feature, who, f" input {i}:"))
            for i, feature in enumerate(features)]


_ONLY_VALUES = {Value}


def as_plain(x: Any) -> Any:
    """A numpy array or scalar (anything with ``tolist()``, except a Value) as plain Python."""
    tolist = getattr(x, "tolist", None)
    if tolist is None or isinstance(x, Value) or not callable(tolist):
        return x
    return tolist()


def _is_row(x: Any) -> bool:
    """Whether ``x`` looks like a whole sample rather than one feature."""
    if isinstance(x, (list, tuple)):
        return True
    return not isinstance(x, (str, bytes, Value)) and hasattr(x, "__len__")


def _batch_message(x: Sequence[Any], nin: int, who: str) -> str:
    samples = f"{len(x)} sample" + ("s" if len(x) != 1 else "")
    return (
        f"{who} expects one sample ({nin} numbers), got a batch of {samples}; "
        f"call it on each sample ([model(x) for x in X]) or use predict(model, X)"
    )


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` with ``strict=False`` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class: something with parameters that maps inputs to outputs.

    As in ``torch.nn.Module``, parameters are found from the attributes: a leaf Value, a
    sub-module, or a list, tuple or dict (with str keys) of them, assigned to an attribute whose
    name does not start with ``_``, is registered under that name (``"layers.0.neurons.1.w0"``),
    in the order the attributes were first set. Values computed by an operation are graph nodes,
    not parameters, and are never registered; neither are ``_private`` attributes (the place for
    anything you keep that is not a parameter). A parameter reached twice (tied weights) is
    listed once. A subclass may override :meth:`named_parameters` to choose its own names
    (:class:`Neuron` does: ``"w0"``, ``"b"``).

    Subclasses implement :meth:`forward` (calling a module calls it, as in PyTorch) or
    :meth:`__call__` itself (the built-in modules do), and set ``nin`` if they take a fixed
    number of inputs: :func:`~chainrule.nn.fit` then checks every sample against it (without
    ``nin``, samples reach ``forward`` as they are given).

    ``training`` is True until :meth:`eval` (or ``train(False)``) turns it off, for this module
    and every sub-module; no built-in module behaves differently in the two modes (none has
    dropout or batch statistics), but a module of yours may read it. :func:`~chainrule.nn.fit`
    trains in training mode and validates in eval mode; :func:`~chainrule.nn.predict` and
    :func:`~chainrule.nn.evaluate` run in eval mode. Each restores the mode it found.
    """

    nin: int
    #: Whether the module is in training mode (see :meth:`train` and :meth:`eval`).
    training: bool = True

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``(dotted name, parameter)`` pairs, always in the same order."""
        pairs: list[tuple[str, Value]] = []
        seen: set[int] = set()
        for name, item in _registered(self):
            found = [(name, item)] if isinstance(item, Value) else [
                (f"{name}.{inner}", p) for inner, p in item.named_parameters()]
            for dotted, p in found:
                if id(p) not in seen:
                    seen.add(id(p))
                    pairs.append((dotted, p))
        return pairs

    def named_modules(self) -> list[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (named ``""``) and every sub-module."""
        pairs: list[tuple[str, Module]] = [("", self)]
        seen = {id(self)}
        for name, item in _registered(self):
            if isinstance(item, Module):
                for inner, module in item.named_modules():
                    if id(module) not in seen:
                        seen.add(id(module))
                        pairs.append((f"{name}.{inner}" if inner else name, module))
        return pairs

    def parameters(self) -> list[Value]:
        """Every parameter, in the order of :meth:`named_parameters`."""
        if type(self).named_parameters is not Module.named_parameters:
            return [p for _, p in self.named_parameters()]
        # The same walk without building names: zero_grad() runs this on every training step.
        params: list[Value] = []
        seen: set[int] = set()
        for _, item in _registered(self):
            for p in [item] if isinstance(item, Value) else item.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        return params

    @property
    def num_parameters(self) -> int:
        """How many parameters (scalars) the module has."""
        return len(self.named_parameters())

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's gradient to 0 (gradients accumulate across ``backward()``).

        ``set_to_none`` is accepted so that PyTorch code runs, and both values do the same: a
        chainrule gradient is a float, always, so that ``backward()`` and the optimizers can
        add to it and read it; ``None`` would break that arithmetic. PyTorch's ``None`` frees a
        tensor's memory and makes its optimizers skip the parameter; a float needs no freeing,
        and chainrule's optimizers update every parameter they hold (a zero gradient still
        moves momentum and Adam's averages, as it does in PyTorch with ``set_to_none=False``).
        """
        flag(set_to_none, "zero_grad: set_to_none")
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> Module:
        """Put this module and every sub-module in training mode (``mode=False``: eval
        mode); returns the module, as PyTorch's does."""
        flag(mode, "train: mode")
        for _, module in self.named_modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Put this module and every sub-module in eval mode: ``train(False)``."""
        return self.train(False)

    def state_dict(self) -> dict[str, float]:
        """Every parameter's value by its dotted name, in order: plain JSON data, a copy."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Set the parameters from ``state`` (as made by :meth:`state_dict`).

        Checked like :func:`~chainrule.nn.load`: names must match (with ``strict=False``,
        missing and unexpected names are returned instead), values must be finite real numbers
        (numpy scalars are fine) or Values, whose numbers are copied (as PyTorch copies the
        tensors of ``other.state_dict()``: ``dict(other.named_parameters())`` works too). Any
        problem raises :class:`ModelFileError` before a single parameter changes.
        """
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, Mapping):
            raise ModelFileError(
                f"{who}: expected a dict of parameter values by name, got {type(state).__name__}"
            )
        named = self.named_parameters()
        names = [name for name, _ in named]
        if strict:
            check_names(names, state, f"{who}: {self!r}")
        present = [name for name in names if name in state]
        values = checked_values(state, present, who)
        known = set(names)
        result = IncompatibleKeys(
            [name for name in names if name not in state],
            [str(key) for key in state if key not in known],
        )
        by_name = dict(named)
        for name, value in zip(present, values, strict=True):
            by_name[name].data = value
        return result

    def architecture(self) -> dict[str, Any]:
        """What is needed to rebuild this module (without its parameter values), as JSON data."""
        raise NotImplementedError(
            f"{type(self).__name__} does not describe its architecture; save its state_dict() "
            f"and rebuild it in code instead"
        )

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The module's output for its input (each subclass says what it takes and returns)."""
        raise NotImplementedError(
            f"{type(self).__name__} defines neither forward() nor __call__(): define "
            f"forward(self, x) to say what the module computes")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls :meth:`forward`, as a PyTorch module does."""
        return self.forward(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_parameters} parameters)"


def _registered(module: Module) -> Iterator[tuple[str, Value | Module]]:
    """The parameters and sub-modules held in ``module``'s public attributes, in order."""
    for name, item in getattr(module, "__dict__", {}).items():
        if name.startswith("_"):
            continue
        if isinstance(item, Value):
            if _is_parameter(item):
                yield name, item
        elif isinstance(item, Module):
            yield name, item
        elif isinstance(item, (list, tuple)) and item and all(
                isinstance(element, (Value, Module)) for element in item):
            for i, element in enumerate(item):
                if isinstance(element, Module) or _is_parameter(element):
                    yield f"{name}.{i}", element
        elif isinstance(item, dict) and item and all(
                isinstance(key, str) and isinstance(element, (Value, Module))
                for key, element in item.items()):
            for key, element in item.items():
                if isinstance(element, Module) or _is_parameter(element):
                    yield f"{name}.{key}", element


def _is_parameter(value: Value) -> bool:
    return value.is_leaf and not value.is_constant


def check_names(names: Sequence[str], stored: Mapping[Any, Any], who: str) -> None:
    """Refuse ``stored`` unless its keys are exactly ``names``; ``who`` names the model."""
    missing = [name for name in names if name not in stored]
    if missing:
        raise ModelFileError(
            f"{who}: {len(missing)} parameter(s) are missing, e.g. {missing[0]!r}"
        )
    known = set(names)
    extra = sorted((key for key in stored if key not in known), key=str)
    if extra:
        raise ModelFileError(
            f"{who}: {len(extra)} parameter(s) do not belong to the model, e.g. {extra[0]!r}"
        )


def checked_values(stored: Mapping[Any, Any], names: Sequence[str], who: str) -> list[float]:
    """The stored values of ``names`` as finite floats, or a :class:`ModelFileError`."""
    values = []
    for name in names:
        value = stored[name]
        value = value.data if isinstance(value, Value) else as_plain(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ModelFileError(
                f"{who}: parameter {name!r} must be a number, got {value!r:.40}"
            )
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            number = math.inf
        if not math.isfinite(number):
            raise ModelFileError(f"{who}: parameter {name!r} is {value!r:.40}, not finite")
        values.append(number)
    return values


class Neuron(Module):
    """One neuron: ``activation(w0*x0 + w1*x1 + ... + b)``.

    ``name`` is the neuron's scope (``"neuron{j}"`` inside a layer); ``fan_out`` is the number
    of neurons in its layer, used by the Xavier schemes.
    """

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        *,
        init: str = "uniform",
        seed: int | random.Random | None = None,
        name: str = "neuron0",
        fan_out: int = 1,
    ) -> None:
        self.nin = positive_int(nin, "Neuron: nin (number of inputs)")
        self.activation = choice(activation, ACTIVATIONS, "activation")
        self._activate = ACTIVATIONS[activation]
        draw = INIT_SCHEMES[choice(init, INIT_SCHEMES, "init scheme")]
        fan_out = positive_int(fan_out, "Neuron: fan_out")
        rng = random_source(seed)
        self.name = name
        with scope(name):
            self.weights = [
                Value(draw(rng, self.nin, fan_out), label=f"w{i}") for i in range(self.nin)
            ]
            self.bias = Value(0.0, label="b")

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(f"w{i}", w) for i, w in enumerate(self.weights)] + [("b", self.bias)]

    def __call__(self, x: Any) -> Value:
        return self._forward(as_inputs(x, self.nin, f"Neuron {self.name}"))

    def _forward(self, x: list[Value]) -> Value:
        """The neuron on inputs already checked: ``activation(w . x + b)``."""
        with scope(self.name):
            z = dot(self.weights, x) + self.bias
            z.label = "z"
            return self._activate(z)

    def architecture(self) -> dict[str, Any]:
        return {"type": "Neuron", "nin": self.nin, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons reading the same inputs; calling it always returns a list of Values."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        *,
        init: str = "uniform",
        seed: int | random.Random | None = None,
        name: str = "layer0",
    ) -> None:
        self.nin = positive_int(nin, "Layer: nin (number of inputs)")
        self.nout = positive_int(nout, "Layer: nout (number of neurons)")
        rng = random_source(seed)
        self.name = name
        with scope(name):
            self.neurons = [
                Neuron(nin, activation, init=init, seed=rng, name=f"neuron{j}", fan_out=nout)  # type: ignore[arg-type]
                for j in range(self.nout)
            ]
        self.activation = activation

    def __call__(self, x: Any) -> list[Value]:
        x = as_inputs(x, self.nin, f"Layer {self.name}")
        with scope(self.name):
            return [neuron._forward(x) for neuron in self.neurons]

    def architecture(self) -> dict[str, Any]:
        return {"type": "Layer", "nin": self.nin, "nout": self.nout, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module, Generic[OutputT]):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` has two hidden layers of 16 neurons.

    Hidden layers use ``activation``, the last one ``output_activation`` (``"linear"`` by
    default, as in micrograd). Calling it returns a Value when the last layer has one neuron,
    a list of Values otherwise.

    For type checkers, ``MLP(2, (16, 16, 1))`` (sizes as a tuple ending in 1) is an
    ``MLP[Value]``, so ``model(x).backward()`` checks; with a list, say what it returns:
    ``model: MLP[Value] = MLP(2, [16, 16, 1])`` (or ``MLP[list[Value]]`` for several outputs).

    >>> model = MLP(2, [3, 1], activation="tanh", seed=0)
    >>> model
    MLP(2, [3, 1], activation='tanh', output_activation='linear')
    >>> model.num_parameters
    13
    >>> y = model([0.5, -1.0])   # one output neuron: a Value
    >>> y.backward()
    >>> round(y.data, 6), round(model.layers[0].neurons[0].weights[0].grad, 6)
    (-0.256077, 0.275614)
    """

    @overload
    def __init__(
        self: MLP[Value],
        nin: int,
        sizes: tuple[Unpack[tuple[int, ...]], Literal[1]],
        activation: str = ...,
        output_activation: str = ...,
        *,
        init: str = ...,
        seed: int | random.Random | None = ...,
    ) -> None: ...

    @overload
    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str = ...,
        output_activation: str = ...,
        *,
        init: str = ...,
        seed: int | random.Random | None = ...,
    ) -> None: ...

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str = "relu",
        output_activation: str = "linear",
        *,
        init: str = "uniform",
        seed: int | random.Random | None = None,
    ) -> None:
        self.nin = positive_int(nin, "MLP: nin (number of inputs)")
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or not sizes:
            raise ConfigurationError(
                f"MLP: sizes must be a non-empty list of layer sizes, got {sizes!r}"
            )
        self.sizes = [positive_int(n, f"MLP: sizes[{i}]") for i, n in enumerate(sizes)]
        choice(activation, ACTIVATIONS, "activation")
        choice(output_activation, ACTIVATIONS, "output_activation")
        self.activation = activation
        self.output_activation = output_activation
        rng = random_source(seed)
        widths = [self.nin, *self.sizes]
        last = len(self.sizes) - 1
        self.layers = [
            Layer(
                widths[i],
                widths[i + 1],
                output_activation if i == last else activation,
                init=init,
                seed=rng,  # type: ignore[arg-type]
                name=f"layer{i}",
            )
            for i in range(len(self.sizes))
        ]

    @property
    def nout(self) -> int:
        """The number of outputs: the size of the last layer."""
        return self.sizes[-1]

    def __call__(self, x: Any) -> OutputT:
        """The network's output for one sample ``x`` of ``nin`` numbers: a Value when the last
        layer has one neuron, a list of Values otherwise."""
        out: Sequence[Scalar] = as_features(x, self.nin, "MLP")
        values: list[Value] = []
        for layer in self.layers:
            out = values = layer(out)
        return values[0] if len(values) == 1 else values  # type: ignore[return-value]  # OutputT

    def architecture(self) -> dict[str, Any]:
        return {
            "type": "MLP",
            "nin": self.nin,
            "sizes": list(self.sizes),
            "activation": self.activation,
            "output_activation": self.output_activation,
        }

    def summary(self) -> str:
        """A table of the layers: shape, activation and parameter count."""
        rows = [f"{'layer':<8}{'shape':<12}{'activation':<12}{'parameters':>10}"]
        for layer in self.layers:
            rows.append(
                f"{layer.name:<8}{f'{layer.nin} -> {layer.nout}':<12}{layer.activation:<12}"
                f"{layer.num_parameters:>10}"
            )
        rows.append(f"{'total':<32}{self.num_parameters:>10}")
        return "\n".join(rows)

    def __repr__(self) -> str:
        return (
            f"MLP({self.nin}, {self.sizes}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r})"
        )


def iter_parameters(source: Module | Iterable[Any], who: str) -> list[Value]:
    """The parameters of a module, or the Values of an iterable, checked to be Values."""
    params: list[Any] = source.parameters() if isinstance(source, Module) else list(source)
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise OperandTypeError(
                f"{who}: parameters must be Values, item {i} is {type(p).__name__} {p!r:.40}"
            )
    return params
