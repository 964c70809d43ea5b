"""chainrule.nn: neurons, layers and MLPs built on chainrule.engine.Value, with losses,
optimizers, data sets, a training loop and JSON save/load.

>>> from chainrule.nn import MLP, Adam, binary_cross_entropy, datasets, fit
>>> X, y = datasets.xor()
>>> model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
>>> history = fit(model, X, y, loss=binary_cross_entropy,
...               optimizer=Adam(model.parameters(), lr=0.05), epochs=500, progress=False)
>>> history.accuracy[-1]
1.0
"""

from . import datasets
from .datasets import train_test_split
from .errors import ConfigurationError, DataError, ModelFileError, ShapeError
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
from .module import ACTIVATIONS, INIT_SCHEMES, MLP, Layer, Module, Neuron
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
from .train import Evaluation, History, accuracy, evaluate, fit, predict

__all__ = [
    "ACTIVATIONS",
    "GPT",
    "INIT_SCHEMES",
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "Block",
    "CharTokenizer",
    "ConfigurationError",
    "CosineDecay",
    "DataError",
    "Embedding",
    "Evaluation",
    "ExponentialDecay",
    "FeedForward",
    "History",
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
    "Schedule",
    "SelfAttention",
    "ShapeError",
    "StepDecay",
    "accuracy",
    "bce_with_logits",
    "binary_cross_entropy",
    "cross_entropy",
    "datasets",
    "evaluate",
    "fit",
    "hinge",
    "l2_penalty",
    "load",
    "log_softmax",
    "mse",
    "predict",
    "save",
    "softmax",
    "train_test_split",
]
