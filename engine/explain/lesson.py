"""What a walkthrough shows, as plain data: the traces, the update and the picture.

The renderers (text, Markdown, HTML, quiz) read a :class:`Lesson` and nothing else; the builder
(:func:`chainrule.engine.explain.walkthrough`) makes a :class:`~.walkthrough.Walkthrough`, a
Lesson that can render itself. Data first, so that no renderer imports the builder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from .template import Numbers, Template, fill
from .trace import BackwardStep, BackwardTrace, Contribution, ForwardTrace

if TYPE_CHECKING:
    from ..value import Value
    from .geometry import Circuit


@dataclass(frozen=True)
class Update:
    """One gradient-descent update of a parameter: ``after = before - lr * grad``."""

    node: int
    name: str
    before: float
    grad: float
    after: float


@dataclass(frozen=True)
class Lesson:
    """Everything the renderers show. Build it with
    :func:`~chainrule.engine.explain.walkthrough`."""

    title: str
    forward: ForwardTrace
    backward: BackwardTrace
    lr: float | None
    updates: tuple[Update, ...]
    digits: int = 6
    svg: str | None = None  # the graph picture (inline SVG), None when it could not be drawn
    graph_note: str = ""  # why there is no picture
    loss_after: float | None = None  # the output after the update, forward pass run again
    #: Node -> a shortcut that gives its gradient at once (``dL/dz = y - t`` under a
    #: cross-entropy), shown with the step that completes the node's gradient.
    shortcuts: Mapping[int, Template] = field(default_factory=dict)
    circuit: Circuit | None = None  # the compact circuit of a small graph (see .circuit)
    #: The graph as the lesson's recording sorted it (topological order, the root last: the
    #: loss, when one was attached): the live page compiles it to JavaScript, and the widget
    #: rebuilds it with the learner's leaf values.
    order: tuple[Value, ...] = ()

    @property
    def loss_before(self) -> float:
        """The output (the loss) before any update."""
        return self.forward.nodes[self.forward.root].value

    @property
    def root_name(self) -> str:
        """The name the walkthrough gives the output (its label, or ``f``)."""
        return self.forward.nodes[self.forward.root].name

    @cached_property
    def numbers(self) -> Numbers:
        """The recorded numbers (see :class:`Numbers`), read from the traces."""
        contributions = sorted(
            (c for step in self.backward.steps for c in step.contributions if c.k is not None),
            key=lambda c: c.k or 0)
        checks = self.backward.checks
        return Numbers(
            values=tuple(node.value for node in self.forward.nodes),
            grads=self.backward.gradients,
            local=tuple(c.local for c in contributions),
            product=tuple(c.contribution for c in contributions),
            before=tuple(c.grad_before for c in contributions),
            after=tuple(c.grad_after for c in contributions),
            seed=self.backward.seed,
            lr=self.lr,
            updated=tuple(u.after for u in self.updates),
            loss_after=self.loss_after,
            numeric=tuple(c.numeric for c in checks),
            left=tuple(c.left for c in checks),
            right=tuple(c.right for c in checks),
            passed=tuple(c.passed for c in checks),
        )

    def said(self, text: Template) -> str:
        """``text`` filled with the recorded numbers, as the text and Markdown show it."""
        return fill(text, self.numbers, self.digits)

    @cached_property
    def received(self) -> dict[int, list[tuple[BackwardStep, Contribution]]]:
        """Every contribution each node receives, with the step that hands it over, in the
        order they are added (computed once: renderers ask for it node by node)."""
        by_node: dict[int, list[tuple[BackwardStep, Contribution]]] = {}
        for step in self.backward.steps:
            for c in step.contributions:
                by_node.setdefault(c.input, []).append((step, c))
        return by_node
