"""Step-by-step explanations of the forward and backward passes (``chainrule explain``).

The modules depend on each other one way only: the data (``trace``, ``geometry``, ``lesson``),
the sentences every renderer shares (``wording``), the compact circuit (``circuit`` lays it
out, ``circuit_svg`` writes it at a step), the renderers (``text``, ``markdown``, ``quiz``,
``html``), the graph picture (``picture``), and last the builder (``walkthrough``).
"""

from .html import walkthrough_html
from .lesson import Lesson
from .markdown import walkthrough_markdown
from .quiz import Question, questions
from .text import walkthrough_text
from .trace import (
    BackwardStep,
    BackwardTrace,
    Contribution,
    ForwardStep,
    ForwardTrace,
    GradientCheck,
    NodeInfo,
    Pending,
    format_number,
    trace_backward,
    trace_forward,
)
from .walkthrough import MAX_NODES, Update, Walkthrough, walkthrough

__all__ = [
    "MAX_NODES",
    "BackwardStep",
    "BackwardTrace",
    "Contribution",
    "ForwardStep",
    "ForwardTrace",
    "GradientCheck",
    "Lesson",
    "NodeInfo",
    "Pending",
    "Question",
    "Update",
    "Walkthrough",
    "format_number",
    "questions",
    "trace_backward",
    "trace_forward",
    "walkthrough",
    "walkthrough_html",
    "walkthrough_markdown",
    "walkthrough_text",
]
