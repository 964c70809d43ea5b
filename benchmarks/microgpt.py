"""An engine of microgpt's design and microgpt's GPT on it, written from its description
(karpathy's microgpt, February 2026; see the project's field notes), for the GPT benchmark.

The engine: a slotted ``Value`` whose every operation computes its local gradients during the
forward pass and stores them as a tuple beside its inputs; ``backward()`` sorts the graph with
a recursive depth-first search and a visited set, then runs one uniform loop
``child.grad += local * v.grad``. No closures, so, like chainrule's, its graphs are freed by
reference counting.

The model is microgpt's, function by function (``linear``, ``softmax`` with its maximum read
from ``.data``, ``rmsnorm``, ``gpt`` one position at a time with a key/value cache), and its
Adam loop. Its weights are copied from a chainrule ``GPT`` by parameter name, so both start
from the same point.
"""

# microgpt writes zip() without strict=; kept as written so the code reads as its design.
# ruff: noqa: B905

from __future__ import annotations

import math
import sys
from typing import Any


class Value:
    __slots__ = ("_children", "_local_grads", "data", "grad")

    def __init__(self, data: float, children: tuple = (), local_grads: tuple = ()) -> None:
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other: Any) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other: Any) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, other: float) -> Value:
        return Value(self.data**other, (self,), (other * self.data ** (other - 1),))

    def log(self) -> Value:
        return Value(math.log(self.data), (self,), (1 / self.data,))

    def exp(self) -> Value:
        return Value(math.exp(self.data), (self,), (math.exp(self.data),))

    def relu(self) -> Value:
        return Value(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self) -> Value:
        return self * -1

    def __radd__(self, other: Any) -> Value:
        return self + other

    def __sub__(self, other: Any) -> Value:
        return self + (-other)

    def __rsub__(self, other: Any) -> Value:
        return other + (-self)

    def __rmul__(self, other: Any) -> Value:
        return self * other

    def __truediv__(self, other: Any) -> Value:
        return self * other**-1

    def __rtruediv__(self, other: Any) -> Value:
        return other * self**-1

    def backward(self) -> None:
        topo = []
        visited = set()

        def build_topo(v: Value) -> None:
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad


class MicroGPT:
    """microgpt's model and training step, with weights copied from a chainrule GPT."""

    def __init__(self, model: Any, lr: float, betas: tuple[float, float], eps: float,
                 total_steps: int) -> None:
        self.n_layer, self.n_head = model.n_layer, model.n_head
        self.head_dim = model.n_embd // model.n_head
        names = dict(model.named_parameters())

        def matrix(prefix: str, rows: int, cols: int) -> list[list[Value]]:
            return [[Value(names[f"{prefix}.weight.{r}.{c}"].data) for c in range(cols)]
                    for r in range(rows)]

        n, v, width = model.n_embd, model.vocab_size, model.mlp_width
        self.state_dict = {"wte": matrix("wte", v, n), "wpe": matrix("wpe", model.block_size, n),
                           "lm_head": matrix("lm_head", v, n)}
        for i in range(self.n_layer):
            for part, key in (("query", "wq"), ("key", "wk"), ("value", "wv"), ("proj", "wo")):
                self.state_dict[f"layer{i}.attn_{key}"] = matrix(f"layers.{i}.attn.{part}", n, n)
            self.state_dict[f"layer{i}.mlp_fc1"] = matrix(f"layers.{i}.mlp.fc1", width, n)
            self.state_dict[f"layer{i}.mlp_fc2"] = matrix(f"layers.{i}.mlp.fc2", n, width)
        self.params = [p for mat in self.state_dict.values() for row in mat for p in row]
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.total_steps = total_steps
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)
        self.step_count = 0

    # -- microgpt's functions --------------------------------------------------------------

    @staticmethod
    def linear(x: list[Value], w: list[list[Value]]) -> list[Value]:
        return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]

    @staticmethod
    def softmax(logits: list[Value]) -> list[Value]:
        max_val = max(val.data for val in logits)
        exps = [(val - max_val).exp() for val in logits]
        total = sum(exps)
        return [e / total for e in exps]

    @staticmethod
    def rmsnorm(x: list[Value]) -> list[Value]:
        ms = sum(xi * xi for xi in x) / len(x)
        scale = (ms + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    def gpt(self, token_id: int, pos_id: int, keys: list, values: list) -> list[Value]:
        sd, hd = self.state_dict, self.head_dim
        x = [t + p for t, p in zip(sd["wte"][token_id], sd["wpe"][pos_id])]
        x = self.rmsnorm(x)
        for li in range(self.n_layer):
            x_residual = x
            x = self.rmsnorm(x)
            q = self.linear(x, sd[f"layer{li}.attn_wq"])
            k = self.linear(x, sd[f"layer{li}.attn_wk"])
            v = self.linear(x, sd[f"layer{li}.attn_wv"])
            keys[li].append(k)
            values[li].append(v)
            x_attn = []
            for h in range(self.n_head):
                hs = h * hd
                q_h = q[hs:hs + hd]
                k_h = [ki[hs:hs + hd] for ki in keys[li]]
                v_h = [vi[hs:hs + hd] for vi in values[li]]
                attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(hd)) / hd**0.5
                               for t in range(len(k_h))]
                attn_weights = self.softmax(attn_logits)
                head_out = [sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h)))
                            for j in range(hd)]
                x_attn.extend(head_out)
            x = self.linear(x_attn, sd[f"layer{li}.attn_wo"])
            x = [a + b for a, b in zip(x, x_residual)]
            x_residual = x
            x = self.rmsnorm(x)
            x = self.linear(x, sd[f"layer{li}.mlp_fc1"])
            x = [xi.relu() for xi in x]
            x = self.linear(x, sd[f"layer{li}.mlp_fc2"])
            x = [a + b for a, b in zip(x, x_residual)]
        return self.linear(x, sd["lm_head"])

    def train_step(self, tokens: list[int]) -> float:
        """One name: forward, backward, Adam with linear decay; returns the loss."""
        n = len(tokens) - 1
        keys, values = [[] for _ in range(self.n_layer)], [[] for _ in range(self.n_layer)]
        losses = []
        for pos_id in range(n):
            token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
            logits = self.gpt(token_id, pos_id, keys, values)
            probs = self.softmax(logits)
            losses.append(-probs[target_id].log())
        loss = (1 / n) * sum(losses)
        loss.backward()
        step = self.step_count
        lr_t = self.lr * (1 - step / self.total_steps)
        beta1, beta2 = self.beta1, self.beta2
        for i, p in enumerate(self.params):
            self.m[i] = beta1 * self.m[i] + (1 - beta1) * p.grad
            self.v[i] = beta2 * self.v[i] + (1 - beta2) * p.grad**2
            m_hat = self.m[i] / (1 - beta1 ** (step + 1))
            v_hat = self.v[i] / (1 - beta2 ** (step + 1))
            p.data -= lr_t * m_hat / (v_hat**0.5 + self.eps)
            p.grad = 0
        self.step_count += 1
        return loss.data


def recursion_needed() -> int:
    """build_topo recurses once per node on the longest path; a 16-position GPT loss is a
    few thousand deep."""
    return max(sys.getrecursionlimit(), 20_000)
