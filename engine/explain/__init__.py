"""Step-by-step explanations of the forward and backward passes (``chainrule explain``)."""

from .html import walkthrough_html
from .markdown import walkthrough_markdown
from .text import walkthrough_text
from .trace import (
    BackwardStep,
    BackwardTrace,
    Contribution,
    ForwardStep,
    ForwardTrace,
    GradientCheck,
    NodeInfo,
    format_number,
    trace_backward,
    trace_forward,
)
from .walkthrough import Update, Walkthrough, walkthrough

__all__ = [
    "BackwardStep",
    "BackwardTrace",
    "Contribution",
    "ForwardStep",
    "ForwardTrace",
    "GradientCheck",
    "NodeInfo",
    "Update",
    "Walkthrough",
    "format_number",
    "trace_backward",
    "trace_forward",
    "walkthrough",
    "walkthrough_html",
    "walkthrough_markdown",
    "walkthrough_text",
]
