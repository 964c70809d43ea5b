"""chainrule.nn: neurons, layers and MLPs built on chainrule.engine.Value, with losses,
optimizers, data sets, a training loop, a training explorer page, a diagnosis of failing runs
and JSON save/load.

>>> from chainrule.nn import MLP, Adam, binary_cross_entropy, datasets, fit
>>> X, y = datasets.xor()
>>> model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
>>> history = fit(model, X, y, loss=binary_cross_entropy,
...               optimizer=Adam(model.parameters(), lr=0.05), epochs=500, progress=False)
>>> history.accuracy[-1]
1.0
"""

from . import datasets, plot
from .activations import ACTIVATIONS, Activation
from .datasets import train_test_split
from .diagnosis import Diagnosis, Finding, diagnose
from .errors import ConfigurationError, DataError, ModelFileError, ShapeError
from .explorer import Explorer, explore
from .interop import from_torch, to_torch
from .io import load, save
from .losses import (
    bce_with_logits,
    binary_cross_entropy,
    cross_entropy,
    hinge,
    l2_penalty,
    log_softmax,
    mse,
    softmax,
)
from .module import INIT_SCHEMES, MLP, IncompatibleKeys, Layer, Module, Neuron
from .modules import (
    GPT,
    Block,
    Embedding,
    FeedForward,
    KVCache,
    LayerNorm,
    Linear,
    RMSNorm,
    SelfAttention,
)
from .optim import (
    SGD,
    Adam,
    AdamW,
    CosineDecay,
    ExponentialDecay,
    LinearDecay,
    Optimizer,
    Schedule,
    StepDecay,
)
from .text import CharTokenizer
from .training import (
    EarlyStopping,
    Evaluation,
    History,
    Recording,
    Snapshot,
    accuracy,
    evaluate,
    fit,
    predict,
)

__all__ = [
    "ACTIVATIONS",
    "GPT",
    "INIT_SCHEMES",
    "MLP",
    "SGD",
    "Activation",
    "Adam",
    "AdamW",
    "Block",
    "CharTokenizer",
    "ConfigurationError",
    "CosineDecay",
    "DataError",
    "Diagnosis",
    "EarlyStopping",
    "Embedding",
    "Evaluation",
    "Explorer",
    "ExponentialDecay",
    "FeedForward",
    "Finding",
    "History",
    "IncompatibleKeys",
    "KVCache",
    "Layer",
    "LayerNorm",
    "Linear",
    "LinearDecay",
    "ModelFileError",
    "Module",
    "Neuron",
    "Optimizer",
    "RMSNorm",
    "Recording",
    "Schedule",
    "SelfAttention",
    "ShapeError",
    "Snapshot",
    "StepDecay",
    "accuracy",
    "bce_with_logits",
    "binary_cross_entropy",
    "cross_entropy",
    "datasets",
    "diagnose",
    "evaluate",
    "explore",
    "fit",
    "from_torch",
    "hinge",
    "l2_penalty",
    "load",
    "log_softmax",
    "mse",
    "plot",
    "predict",
    "save",
    "softmax",
    "to_torch",
    "train_test_split",
]
