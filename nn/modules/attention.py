"""Causal multi-head self-attention, one position at a time with a key/value cache.

This is how microgpt computes attention, and why a sequence's graph is exactly what a learner
would draw: position t projects its input to a query, a key and a value; its key and value go
into the cache; each head scores its query against every cached key (positions 0..t: the
cache is what makes attention causal), turns the scores into weights with a softmax and mixes
the cached values with them; the heads side by side go through an output projection.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chainrule.engine import Value, constant, dot, scope

from .._checks import positive_int
from ..errors import ConfigurationError
from ..losses import softmax
from ..module import Module, as_features, random_source


@dataclass
class KVCache:
    """What one attention layer remembers of the positions it has seen: each position's key and
    value vectors and, to look at, its attention scores and weights:
    ``scores[t][head][s]`` is ``q_t . k_s / sqrt(head_size)`` and ``weights[t][head]`` their
    softmax (position 0 has a weight of exactly 1 and no score, see SelfAttention.step)."""

    keys: list[list[Value]] = field(default_factory=list)
    values: list[list[Value]] = field(default_factory=list)
    scores: list[list[list[Value]]] = field(default_factory=list)
    weights: list[list[list[Value]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)


class SelfAttention(Module):
    """``n_head`` heads of size ``n_embd // n_head`` over the positions seen so far.

    ``attention.step(x, cache)`` processes one position (``x``, a vector of ``n_embd``) and
    appends its key and value to ``cache``; ``attention(xs)`` runs a whole sequence with a
    fresh cache. Submodules: ``query``, ``key``, ``value`` and ``proj`` (Linear, no bias by
    default, as microgpt). Nodes carry the scope ``name``; each projection its own below it.
    """

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        *,
        bias: bool = False,
        std: float | None = 0.08,
        seed: int | random.Random | None = None,
        name: str = "attn",
    ) -> None:
        from .linear import Linear

        self.n_embd = self.nin = positive_int(n_embd, "SelfAttention: n_embd")
        self.n_head = positive_int(n_head, "SelfAttention: n_head")
        if self.n_embd % self.n_head:
            raise ConfigurationError(
                f"SelfAttention: n_embd={n_embd} is not divisible by n_head={n_head} "
                f"(each head gets n_embd // n_head dimensions)"
            )
        self.head_size = self.n_embd // self.n_head
        self.name = name
        rng = random_source(seed)
        with scope(name):
            self.query, self.key, self.value, self.proj = (
                Linear(n_embd, n_embd, bias, std=std, seed=rng, name=part)  # type: ignore[arg-type]
                for part in ("query", "key", "value", "proj")
            )

    def submodules(self) -> list[tuple[str, Module]]:
        """The four projections by name: query, key, value and output (``proj``)."""
        return [("query", self.query), ("key", self.key), ("value", self.value),
                ("proj", self.proj)]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(f"{part}.{name}", p) for part, module in self.submodules()
                for name, p in module.named_parameters()]

    def parameters(self) -> list[Value]:
        return [p for _, p in self.named_parameters()]

    def step(self, x: Any, cache: KVCache) -> list[Value]:
        """The output at the next position, attending to it and every position in ``cache``."""
        x = as_features(x, self.n_embd, f"SelfAttention {self.name}")
        size = self.head_size
        # Dividing by sqrt(size), as microgpt does (a multiplication would round differently).
        root = math.sqrt(size)
        with scope(self.name):
            cache.keys.append(self.key(x))
            cache.values.append(self.value(x))
            if len(cache) == 1:
                # The first position can only attend to itself: a softmax of one score is
                # exactly 1 whatever the score (and its gradient exactly 0), so no query and no
                # score are computed, and the output is the projected value, as it would be.
                one = constant(1.0)
                cache.scores.append([[] for _ in range(self.n_head)])
                cache.weights.append([[one] for _ in range(self.n_head)])
                return self.proj(cache.values[0])
            q = self.query(x)
            mixed: list[Value] = []
            scores_by_head = []
            weights_by_head = []
            for start in range(0, self.n_embd, size):
                end = start + size
                q_head = q[start:end]
                scores = [dot(q_head, k[start:end]) / root for k in cache.keys]
                weights = softmax(scores)
                scores_by_head.append(scores)
                weights_by_head.append(weights)
                for j in range(start, end):
                    mixed.append(dot(weights, [v[j] for v in cache.values]))
            cache.scores.append(scores_by_head)
            cache.weights.append(weights_by_head)
            return self.proj(mixed)

    def __call__(self, xs: Sequence[Any]) -> list[list[Value]]:
        """The outputs at every position of the sequence ``xs`` (a list of vectors)."""
        cache = KVCache()
        return [self.step(x, cache) for x in xs]

    def architecture(self) -> dict[str, Any]:
        return {"type": "SelfAttention", "n_embd": self.n_embd, "n_head": self.n_head,
                "bias": self.query.bias is not None}

    def __repr__(self) -> str:
        return f"SelfAttention(n_embd={self.n_embd}, n_head={self.n_head})"
