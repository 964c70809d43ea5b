"""The training explorer: watch a recorded run epoch by epoch in one offline page
(:func:`explore`, or ``history.save_html(path, model, X, y)``)."""

from ..training.history import register_page
from .page import Explorer, explore

register_page(explore)  # what history.explorer() and history.save_html() build

__all__ = ["Explorer", "explore"]
