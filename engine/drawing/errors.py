"""The errors :func:`~chainrule.engine.draw` raises, each also a built-in exception type."""

from __future__ import annotations

from ..errors import ChainruleError

#: How to get graphviz's ``dot`` program, quoted by every "dot is missing" message.
INSTALL_DOT = (
    "install graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install graphviz`"
)


class DrawOptionError(ChainruleError, ValueError):
    """An option of ``draw`` or ``render_text`` has a value it cannot use."""


class GraphTooLargeError(ChainruleError, ValueError):
    """The graph has more nodes than ``max_nodes``: for ``draw``, graphviz would be slow and
    the picture unreadable (collapse neurons or layers, or raise the limit); for
    ``walkthrough``, too many steps to follow (walk through one sample, or raise the limit)."""


class GraphvizNotFoundError(ChainruleError, RuntimeError):
    """Rendering SVG, PNG or PDF needs graphviz's ``dot`` program, which is not on ``PATH``."""


class GraphvizError(ChainruleError, RuntimeError):
    """``dot`` ran but failed (or took too long); the message carries what it printed."""
