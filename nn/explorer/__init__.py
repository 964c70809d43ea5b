"""The training explorer: watch a recorded run epoch by epoch in one offline page
(:func:`explore`, or ``history.save_html(path, model, X, y)``)."""

from .page import Explorer, explore

__all__ = ["Explorer", "explore"]
