"""Moving models between chainrule.nn and PyTorch, with the same parameters and the same numbers.

:func:`to_torch` turns a :class:`~chainrule.nn.Neuron`, :class:`~chainrule.nn.Layer` or
:class:`~chainrule.nn.MLP` into a ``torch.nn.Sequential`` in float64; :func:`from_torch` turns
such a stack back into a chainrule model. PyTorch is imported only when one of them is called,
so ``import chainrule.nn`` never imports it.

The layout: each chainrule layer becomes a ``Linear`` followed by its activation module
(``ReLU``, ``Tanh``, ``Sigmoid``, ``LeakyReLU(0.01)``, or ``Identity`` for ``"linear"``), so
layer ``i`` is always module ``2 * i`` of the Sequential, and neuron ``j`` of a layer is row ``j``
of that Linear's ``weight`` and entry ``j`` of its ``bias``:

=================================  ===========================
chainrule name                     PyTorch name and index
=================================  ===========================
``layers.i.neurons.j.wk`` (MLP)    ``{2i}.weight[j, k]``
``layers.i.neurons.j.b``           ``{2i}.bias[j]``
``neurons.j.wk`` (Layer)           ``0.weight[j, k]``
``wk`` / ``b`` (Neuron)            ``0.weight[0, k]`` / ``0.bias[0]``
=================================  ===========================

:func:`parameter_map` gives this mapping for a given model.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Any

from chainrule.engine import ChainruleError

from ..activations import ACTIVATIONS
from ..errors import ConfigurationError
from ..module import MLP, Layer, Module, Neuron

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    import torch
    from torch.nn import Sequential

#: The attribute :func:`to_torch` leaves on the Sequential it builds: the chainrule architecture
#: it came from, so that :func:`from_torch` gives back a Neuron or Layer, not a one-layer MLP.
ARCHITECTURE_ATTRIBUTE = "chainrule_architecture"

INSTALL_HINT = "pip install 'chainrule[torch]'"


class TorchNotInstalledError(ChainruleError, ImportError):
    """PyTorch is needed (by :func:`to_torch` or :func:`from_torch`) but is not installed."""


class UnsupportedModuleError(ChainruleError, TypeError):
    """A model (or a PyTorch module inside one) that has no counterpart on the other side."""


class PrecisionWarning(UserWarning):
    """A PyTorch module in a precision below float64 was converted: chainrule computes in
    float64, so the two agree only to the module's own precision."""


def _torch(who: str) -> ModuleType:
    try:
        import torch
    except ImportError as error:
        raise TorchNotInstalledError(
            f"{who} needs PyTorch, which is not installed: {INSTALL_HINT}"
        ) from error
    return torch


def _layers(model: Module, who: str) -> list[tuple[list[Neuron], str]]:
    """The model as (neurons, activation) per layer: a Neuron is a layer of one."""
    if isinstance(model, MLP):
        return [(layer.neurons, layer.activation) for layer in model.layers]
    if isinstance(model, Layer):
        return [(model.neurons, model.activation)]
    if isinstance(model, Neuron):
        return [([model], model.activation)]
    raise UnsupportedModuleError(
        f"{who}: expected a chainrule.nn Neuron, Layer or MLP, got {type(model).__name__} "
        f"{model!r:.60}"
    )


def _activation_module(torch: ModuleType, activation: str) -> Any:
    record = ACTIVATIONS[activation]
    module = getattr(torch.nn, record.torch_module)
    return module() if record.slope is None else module(record.slope)


def to_torch(model: Module) -> torch.nn.Sequential:
    """A float64 ``torch.nn.Sequential`` with ``model``'s parameters, computing the same function.

    Each layer becomes ``Linear`` + activation module (``Identity`` for ``"linear"``), so MLP
    layer ``i`` is module ``2 * i``; see :func:`parameter_map` for the name of every parameter.
    The copy is independent: training one does not change the other.

    >>> model = MLP(3, [4, 1], activation="relu", output_activation="sigmoid", seed=0)
    >>> to_torch(model)  # doctest: +SKIP
    Sequential(
      (0): Linear(in_features=3, out_features=4, bias=True)
      (1): ReLU()
      (2): Linear(in_features=4, out_features=1, bias=True)
      (3): Sigmoid()
    )
    """
    layers = _layers(model, "to_torch")
    torch = _torch("to_torch")
    modules = []
    for neurons, activation in layers:
        # skip_init: the weights are overwritten at once, and drawing them would move the
        # caller's torch random state (torch.manual_seed(0); to_torch(m); torch.rand(...)).
        linear = torch.nn.utils.skip_init(
            torch.nn.Linear, neurons[0].nin, len(neurons), dtype=torch.float64
        )
        with torch.no_grad():
            linear.weight.copy_(
                torch.tensor([[w.data for w in n.weights] for n in neurons], dtype=torch.float64)
            )
            linear.bias.copy_(torch.tensor([n.bias.data for n in neurons], dtype=torch.float64))
        modules += [linear, _activation_module(torch, activation)]
    sequential: Sequential = torch.nn.Sequential(*modules)
    setattr(sequential, ARCHITECTURE_ATTRIBUTE, model.architecture())
    return sequential


def parameter_map(model: Module) -> list[tuple[str, str, tuple[int, ...]]]:
    """``(chainrule name, PyTorch parameter name, index)`` for every parameter of ``model``, in
    the order of ``model.named_parameters()``: ``("layers.1.neurons.0.w2", "2.weight", (0, 2))``
    means ``to_torch(model).get_parameter("2.weight")[0, 2]``. Needs no PyTorch."""
    mapping: list[tuple[str, str, tuple[int, ...]]] = []
    for i, (neurons, _) in enumerate(_layers(model, "parameter_map")):
        for j, neuron in enumerate(neurons):
            if isinstance(model, Neuron):
                stem = ""
            elif isinstance(model, Layer):
                stem = f"neurons.{j}."
            else:
                stem = f"layers.{i}.neurons.{j}."
            for k in range(neuron.nin):
                mapping.append((f"{stem}w{k}", f"{2 * i}.weight", (j, k)))
            mapping.append((f"{stem}b", f"{2 * i}.bias", (j,)))
    return mapping


# -- from PyTorch ------------------------------------------------------------------------------


def _activation_of(torch: ModuleType, module: Any, position: int) -> str:
    """The chainrule activation a PyTorch activation module stands for."""
    for record in ACTIVATIONS.values():
        if type(module) is not getattr(torch.nn, record.torch_module):
            continue
        if record.slope is not None and module.negative_slope != record.slope:
            raise ConfigurationError(
                f"from_torch: module {position} is {record.torch_module}(negative_slope="
                f"{module.negative_slope}); chainrule's {record.name} has slope {record.slope}"
            )
        return record.name
    raise UnsupportedModuleError(
        f"from_torch: module {position} is {module!r:.80}, which chainrule.nn has no counterpart "
        f"for; supported: Linear, ReLU, Tanh, Sigmoid, LeakyReLU(0.01) and Identity"
    )


def _floats(torch: ModuleType, tensor: Any, what: str) -> list[Any]:
    floats = tensor.detach().to(device="cpu", dtype=torch.float64)
    if not bool(torch.isfinite(floats).all()):
        bad = floats[~torch.isfinite(floats)][0].item()
        raise ConfigurationError(f"from_torch: {what} holds {bad!r}; parameters must be finite")
    numbers: list[Any] = floats.tolist()
    return numbers


def _stack(torch: ModuleType, module: Any) -> list[tuple[Any, str]]:
    """The Sequential as (Linear, activation name) pairs, checked."""
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        if isinstance(module, nn.Linear):
            module = nn.Sequential(module)
        else:
            raise UnsupportedModuleError(
                f"from_torch: expected a torch.nn.Sequential of Linear layers and activations, "
                f"got {type(module).__name__}"
            )
    pairs: list[tuple[Any, str]] = []
    for position, child in enumerate(module):
        if isinstance(child, nn.Linear):
            if type(child) is not nn.Linear:
                raise UnsupportedModuleError(
                    f"from_torch: module {position} is {type(child).__name__}, a subclass of "
                    f"Linear that chainrule cannot see inside"
                )
            if child.bias is None:
                raise ConfigurationError(
                    f"from_torch: module {position} is {child!r} without a bias; every chainrule "
                    f"neuron has one"
                )
            if pairs and pairs[-1][0].out_features != child.in_features:
                raise ConfigurationError(
                    f"from_torch: module {position} expects {child.in_features} inputs but the "
                    f"layer before it has {pairs[-1][0].out_features} outputs"
                )
            pairs.append((child, "linear"))
            continue
        activation = _activation_of(torch, child, position)
        if activation == "linear":
            continue  # Identity changes nothing, wherever it sits
        if not pairs or pairs[-1][1] != "linear":
            raise ConfigurationError(
                f"from_torch: module {position} ({child!r}) does not directly follow a Linear; "
                f"chainrule applies one activation to each layer's output"
            )
        pairs[-1] = (pairs[-1][0], activation)
    if not pairs:
        raise ConfigurationError("from_torch: the Sequential has no Linear layer")
    return pairs


def _check_precision(torch: ModuleType, linears: list[Any]) -> None:
    dtypes = {p.dtype for linear in linears for p in linear.parameters()}
    if any(not d.is_floating_point for d in dtypes):
        raise UnsupportedModuleError(
            f"from_torch: parameters of type {sorted(map(str, dtypes))}; need floating point"
        )
    lower = sorted(str(d) for d in dtypes if d != torch.float64)
    if lower:
        warnings.warn(
            f"from_torch: the module's parameters are {', '.join(lower)}; chainrule computes in "
            f"float64 from exactly the same weights, but the two models' outputs and gradients "
            f"will agree only to {lower[0]} precision (convert the module with .double() first "
            f"to compare them exactly)",
            PrecisionWarning,
            stacklevel=3,
        )


def from_torch(module: torch.nn.Module) -> Module:
    """A chainrule model with the parameters of a PyTorch ``Sequential`` stack.

    Accepts ``Linear`` layers (with bias), each followed by at most one of ``ReLU``, ``Tanh``,
    ``Sigmoid``, ``LeakyReLU(0.01)`` or ``Identity`` (no activation means ``"linear"``), with
    the same activation after every hidden layer (a chainrule MLP has one hidden activation).
    Gives an :class:`~chainrule.nn.MLP`, or the Neuron or Layer that :func:`to_torch` was given.
    Anything else raises :class:`UnsupportedModuleError` or
    :class:`~chainrule.nn.ConfigurationError` naming the module. Parameters below float64
    (float32, say) are converted exactly, with a :class:`PrecisionWarning`.
    """
    torch = _torch("from_torch")
    pairs = _stack(torch, module)
    linears = [linear for linear, _ in pairs]
    _check_precision(torch, linears)
    activations = [activation for _, activation in pairs]
    hidden = set(activations[:-1])
    if len(hidden) > 1:
        raise ConfigurationError(
            f"from_torch: the hidden layers use different activations ({', '.join(activations[:-1])});"
            f" a chainrule MLP uses one activation for every hidden layer"
        )
    model = _empty_model(module, [linear.out_features for linear in linears],
                         linears[0].in_features, activations)
    for (neurons, _), linear in zip(_layers(model, "from_torch"), linears, strict=True):
        weights = _floats(torch, linear.weight, "a Linear weight")
        biases = _floats(torch, linear.bias, "a Linear bias")
        for neuron, row, bias in zip(neurons, weights, biases, strict=True):
            for w, x in zip(neuron.weights, row, strict=True):
                w.data = x
            neuron.bias.data = bias
    return model


def _empty_model(source: Any, sizes: list[int], nin: int, activations: list[str]) -> Module:
    """The chainrule model to fill: what to_torch started from when the stack still matches it."""
    origin = getattr(source, ARCHITECTURE_ATTRIBUTE, None)
    if isinstance(origin, dict) and len(sizes) == 1:
        if origin.get("type") == "Neuron" and sizes == [1] and origin.get("nin") == nin:
            return Neuron(nin, activations[0], seed=0)
        if origin.get("type") == "Layer" and origin.get("nin") == nin:
            return Layer(nin, sizes[0], activations[0], seed=0)
    if len(activations) > 1:
        hidden = activations[0]
    elif isinstance(origin, dict) and origin.get("activation") in ACTIVATIONS:
        hidden = origin["activation"]  # a one-layer MLP's unused hidden activation, kept
    else:
        hidden = "relu"
    return MLP(nin, sizes, activation=hidden, output_activation=activations[-1], seed=0)
