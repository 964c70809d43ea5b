"""Modules for sequences, each made only of engine operations: ``Linear``, ``Embedding``,
``RMSNorm``, ``LayerNorm``, causal ``SelfAttention``, the transformer ``Block`` and ``GPT``."""

from .attention import KVCache, SelfAttention
from .embedding import Embedding
from .gpt import GPT, Block, FeedForward
from .linear import Linear
from .norm import LayerNorm, RMSNorm

__all__ = ["GPT", "Block", "Embedding", "FeedForward", "KVCache", "LayerNorm", "Linear",
           "RMSNorm", "SelfAttention"]
