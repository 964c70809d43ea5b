"""A character-level GPT in microgpt's configuration: embeddings, pre-norm blocks of causal
self-attention and a ReLU MLP with residual connections, and a language-model head.

Scopes (for ``draw(..., collapse=...)``): ``embed`` holds ``wte``, ``wpe``, ``sum`` and
``norm``; block i is two scopes, ``layer{i}.attn`` (``norm``, ``query``, ``key``, ``value``,
``proj``; the scores, softmax, mixing and residual at its own level) and ``layer{i}.mlp``
(``norm``, ``fc1``, ``fc2``); then ``lm_head``. So ``collapse=2`` draws each module as one box
and keeps the attention arithmetic itself visible, and ``collapse=1`` shows one box per stage.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chainrule.engine import Value, no_grad, scope

from .._checks import positive_float, positive_int
from ..errors import ConfigurationError, DataError, ShapeError
from ..losses import cross_entropy
from ..module import Module, random_source
from .attention import KVCache, SelfAttention
from .embedding import Embedding
from .linear import Linear
from .norm import RMSNorm

if TYPE_CHECKING:
    from ..text import CharTokenizer


class FeedForward(Module):
    """The block's MLP: ``fc2(relu(fc1(x)))``, ``n_embd -> width -> n_embd``, no biases."""

    def __init__(self, n_embd: int, width: int, *, std: float = 0.08,
                 seed: int | random.Random | None = None, name: str = "mlp") -> None:
        self.nin = positive_int(n_embd, "FeedForward: n_embd")
        self.width = positive_int(width, "FeedForward: width")
        self.name = name
        rng = random_source(seed)
        with scope(name):
            self.fc1 = Linear(n_embd, width, False, std=std, seed=rng, name="fc1")  # type: ignore[arg-type]
            self.fc2 = Linear(width, n_embd, False, std=std, seed=rng, name="fc2")  # type: ignore[arg-type]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return ([(f"fc1.{n}", p) for n, p in self.fc1.named_parameters()]
                + [(f"fc2.{n}", p) for n, p in self.fc2.named_parameters()])

    def parameters(self) -> list[Value]:
        return [p for _, p in self.named_parameters()]

    def __call__(self, x: Any) -> list[Value]:
        with scope(self.name):
            return self.fc2([h.relu() for h in self.fc1(x)])

    def architecture(self) -> dict[str, Any]:
        return {"type": "FeedForward", "n_embd": self.nin, "width": self.width}

    def __repr__(self) -> str:
        return f"FeedForward({self.nin}, {self.width})"


class Block(Module):
    """One transformer block, pre-norm as in GPT-2 and microgpt::

        x = x + attn(rmsnorm(x))
        x = x + mlp(rmsnorm(x))

    The norms have no learned gain (microgpt's). ``block.step(x, cache)`` processes one
    position; ``block(xs)`` a whole sequence.
    """

    def __init__(self, n_embd: int, n_head: int, mlp_width: int | None = None, *,
                 std: float = 0.08, seed: int | random.Random | None = None,
                 name: str = "layer0") -> None:
        self.nin = positive_int(n_embd, "Block: n_embd")
        width = 4 * self.nin if mlp_width is None else mlp_width
        self.name = name
        rng = random_source(seed)
        self.attn = SelfAttention(n_embd, n_head, std=std, seed=rng, name=f"{name}.attn")  # type: ignore[arg-type]
        self.mlp = FeedForward(n_embd, width, std=std, seed=rng, name=f"{name}.mlp")  # type: ignore[arg-type]
        with scope(self.attn.name):
            self.norm1 = RMSNorm(n_embd, affine=False, name="norm")
        with scope(self.mlp.name):
            self.norm2 = RMSNorm(n_embd, affine=False, name="norm")

    def named_parameters(self) -> list[tuple[str, Value]]:
        return ([(f"attn.{n}", p) for n, p in self.attn.named_parameters()]
                + [(f"mlp.{n}", p) for n, p in self.mlp.named_parameters()])

    def parameters(self) -> list[Value]:
        return [p for _, p in self.named_parameters()]

    def step(self, x: list[Value], cache: KVCache) -> list[Value]:
        """The block's output for the next position's vector ``x``, with the keys and values
        of the positions before it in ``cache`` (which it extends)."""
        with scope(self.attn.name):
            normed = self.norm1(x)
        attended = self.attn.step(normed, cache)
        with scope(self.attn.name):
            x = [a + b for a, b in zip(attended, x, strict=True)]
        with scope(self.mlp.name):
            normed = self.norm2(x)
        fed = self.mlp(normed)
        with scope(self.mlp.name):
            return [a + b for a, b in zip(fed, x, strict=True)]

    def __call__(self, xs: Sequence[list[Value]]) -> list[list[Value]]:
        cache = KVCache()
        return [self.step(x, cache) for x in xs]

    def architecture(self) -> dict[str, Any]:
        return {"type": "Block", "n_embd": self.nin, "n_head": self.attn.n_head,
                "mlp_width": self.mlp.width}

    def __repr__(self) -> str:
        return f"Block(n_embd={self.nin}, n_head={self.attn.n_head}, mlp_width={self.mlp.width})"


class GPT(Module):
    """A GPT that reads tokens and predicts the next one, as karpathy's microgpt.

    ``GPT(vocab_size, n_embd=16, n_head=4, n_layer=1, block_size=16, seed=42)`` is microgpt's
    configuration (4,192 parameters for 27 tokens). Every weight starts N(0, ``std``) with
    std 0.08, drawn from ``seed`` (an int gives a private generator: the same model every
    time). The MLP is ``mlp_width`` wide (4 * n_embd by default).

    * ``model(tokens)``: the logits (``vocab_size`` Values) at every position;
    * ``model.loss(tokens)``: the mean cross-entropy of predicting ``tokens[t + 1]`` from
      ``tokens[: t + 1]``, over every position;
    * ``model.generate(tokenizer, count, temperature, seed)``: made-up texts;
    * ``model.attention(tokens)``: the attention weights, to look at.

    Parameter names: ``wte.weight.{token}.{i}``, ``wpe.weight.{position}.{i}``,
    ``lm_head.weight.{token}.{i}``, ``layers.{l}.attn.query.weight.{o}.{i}`` (also ``key``,
    ``value``, ``proj``) and ``layers.{l}.mlp.fc1.weight.{o}.{i}`` (and ``fc2``).
    """

    def __init__(
        self,
        vocab_size: int,
        n_embd: int = 16,
        n_head: int = 4,
        n_layer: int = 1,
        block_size: int = 16,
        *,
        mlp_width: int | None = None,
        std: float = 0.08,
        seed: int | random.Random | None = None,
    ) -> None:
        self.vocab_size = positive_int(vocab_size, "GPT: vocab_size")
        self.n_embd = positive_int(n_embd, "GPT: n_embd")
        self.n_head = positive_int(n_head, "GPT: n_head")
        self.n_layer = positive_int(n_layer, "GPT: n_layer")
        self.block_size = positive_int(block_size, "GPT: block_size")
        self.mlp_width = positive_int(4 * self.n_embd if mlp_width is None else mlp_width,
                                      "GPT: mlp_width")
        if self.n_embd % self.n_head:
            raise ConfigurationError(
                f"GPT: n_embd={n_embd} is not divisible by n_head={n_head} "
                f"(each head gets n_embd // n_head dimensions)"
            )
        self.std = positive_float(std, "GPT: std")
        rng = random_source(seed)
        # microgpt's order of initialisation: wte, wpe, lm_head, then each layer.
        with scope("embed"):
            self.wte = Embedding(vocab_size, n_embd, std=std, seed=rng, name="wte")  # type: ignore[arg-type]
            self.wpe = Embedding(block_size, n_embd, std=std, seed=rng, name="wpe")  # type: ignore[arg-type]
            self.norm = RMSNorm(n_embd, affine=False, name="norm")
        self.lm_head = Linear(n_embd, vocab_size, False, std=std, seed=rng, name="lm_head")  # type: ignore[arg-type]
        self.layers = [
            Block(n_embd, n_head, self.mlp_width, std=std, seed=rng, name=f"layer{i}")  # type: ignore[arg-type]
            for i in range(self.n_layer)
        ]

    # -- parameters ----------------------------------------------------------------------------

    def named_parameters(self) -> list[tuple[str, Value]]:
        named = [(f"wte.{n}", p) for n, p in self.wte.named_parameters()]
        named += [(f"wpe.{n}", p) for n, p in self.wpe.named_parameters()]
        for i, layer in enumerate(self.layers):
            named += [(f"layers.{i}.{n}", p) for n, p in layer.named_parameters()]
        named += [(f"lm_head.{n}", p) for n, p in self.lm_head.named_parameters()]
        return named

    def parameters(self) -> list[Value]:
        return [p for _, p in self.named_parameters()]

    # -- running it ----------------------------------------------------------------------------

    def new_cache(self) -> list[KVCache]:
        """An empty key/value cache per layer, for :meth:`step`."""
        return [KVCache() for _ in self.layers]

    def step(self, token: int, caches: list[KVCache]) -> list[Value]:
        """The logits for the token after ``token``, at the next position of ``caches`` (the
        positions already processed, see :meth:`new_cache`)."""
        if len(caches) != self.n_layer or not all(isinstance(c, KVCache) for c in caches):
            raise ShapeError(f"GPT.step: caches must be {self.n_layer} KVCache(s), one per layer "
                             f"(from new_cache()), got {caches!r:.60}")
        position = len(caches[0])
        if position >= self.block_size:
            raise ShapeError(f"GPT: position {position} is beyond block_size={self.block_size}")
        with scope("embed"):
            token_row = self.wte(token)
            position_row = self.wpe(position)
            with scope("sum"):
                x = [t + p for t, p in zip(token_row, position_row, strict=True)]
            x = self.norm(x)
        for layer, cache in zip(self.layers, caches, strict=True):
            x = layer.step(x, cache)
        return self.lm_head(x)

    def _tokens(self, tokens: Any, who: str, minimum: int, most: int) -> list[int]:
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
            raise DataError(f"GPT.{who}: tokens must be a list of token ids (use a tokenizer's "
                            f"encode), got {type(tokens).__name__} {tokens!r:.40}")
        if not minimum <= len(tokens) <= most:
            raise ShapeError(f"GPT.{who}: got {len(tokens)} tokens; it takes {minimum} to {most} "
                             f"(block_size={self.block_size})")
        for i, token in enumerate(tokens):
            if (isinstance(token, bool) or not isinstance(token, numbers.Integral)
                    or not 0 <= int(token) < self.vocab_size):
                raise DataError(f"GPT.{who}: token {i} is {token!r:.40}, not a token id "
                                f"from 0 to {self.vocab_size - 1}")
        return [int(t) for t in tokens]

    def __call__(self, tokens: Sequence[int]) -> list[list[Value]]:
        """The logits at every position: ``out[t]`` scores each possible token ``t + 1``."""
        tokens = self._tokens(tokens, "__call__", 1, self.block_size)
        caches = self.new_cache()
        return [self.step(token, caches) for token in tokens]

    def loss(self, tokens: Sequence[int]) -> Value:
        """Mean next-token cross-entropy over the sequence: position t predicts
        ``tokens[t + 1]``. A tokenizer's ``encode`` puts BOS at both ends, so the first
        character and the end of the text are predicted too. Stable (log-softmax with the
        maximum in the graph)."""
        tokens = self._tokens(tokens, "loss", 2, self.block_size + 1)
        return cross_entropy(self(tokens[:-1]), tokens[1:])

    def attention(self, tokens: Sequence[int]) -> list[list[list[list[float]]]]:
        """The attention weights ``out[layer][head][t][s]`` (how much position t looks at
        position s <= t; zero above the diagonal), for a heat map. Records no graph."""
        tokens = self._tokens(tokens, "attention", 1, self.block_size)
        caches = self.new_cache()
        with no_grad():
            for token in tokens:
                self.step(token, caches)
        n = len(tokens)
        return [
            [[[w.data for w in cache.weights[t][h]] + [0.0] * (n - t - 1) for t in range(n)]
             for h in range(self.n_head)]
            for cache in caches
        ]

    def generate(
        self,
        tokenizer: CharTokenizer,
        count: int = 10,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> list[str]:
        """``count`` texts sampled one token at a time, starting from BOS and stopping at BOS
        (or after ``block_size`` tokens). Lower ``temperature`` is more conservative
        (probabilities ``softmax(logits / temperature)``; as it tends to 0, sampling tends to
        always picking the most likely token, and a temperature as small as 1e-320 does that,
        sharing the choice among tied tokens). Sampling uses a private
        ``random.Random(seed)``: the same seed gives the same texts. Records no graph."""
        count = positive_int(count, "GPT.generate: count")
        temperature = positive_float(temperature, "GPT.generate: temperature")
        if tokenizer.vocab_size != self.vocab_size:
            raise ConfigurationError(
                f"GPT.generate: the tokenizer has {tokenizer.vocab_size} tokens but the model "
                f"has vocab_size={self.vocab_size}"
            )
        rng = random.Random(seed)
        choices = range(self.vocab_size)
        texts = []
        with no_grad():
            for _ in range(count):
                caches = self.new_cache()
                token = tokenizer.bos
                sampled: list[int] = []
                for _ in range(self.block_size):
                    logits = [z.data for z in self.step(token, caches)]
                    scaled = [z / temperature for z in logits]
                    top = max(scaled)
                    if math.isfinite(top):
                        weights = [math.exp(s - top) for s in scaled]
                    else:  # z / T overflowed: T is so small that only the largest logit counts
                        largest = max(logits)
                        weights = [1.0 if z == largest else 0.0 for z in logits]
                    token = rng.choices(choices, weights=weights)[0]
                    if token == tokenizer.bos:
                        break
                    sampled.append(token)
                texts.append(tokenizer.decode(sampled))
        return texts

    def architecture(self) -> dict[str, Any]:
        return {"type": "GPT", "vocab_size": self.vocab_size, "n_embd": self.n_embd,
                "n_head": self.n_head, "n_layer": self.n_layer, "block_size": self.block_size,
                "mlp_width": self.mlp_width}

    def __repr__(self) -> str:
        return (f"GPT(vocab_size={self.vocab_size}, n_embd={self.n_embd}, n_head={self.n_head}, "
                f"n_layer={self.n_layer}, block_size={self.block_size}, "
                f"mlp_width={self.mlp_width})")
