"""The graph picture of a walkthrough: drawn by :func:`chainrule.engine.draw` in the
walkthrough's names and with its gradients, then reduced to inert SVG for the page."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from ..drawing.vocabulary import format_number
from ..errors import ChainruleError

if TYPE_CHECKING:
    from ..value import Value

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
NO_DOT_NOTE = (
    "No graph picture: graphviz's dot program is not installed "
    "(Debian/Ubuntu: apt-get install graphviz). The steps below work without it."
)


def graph_picture(
    root: Value,
    names: Sequence[str] | None = None,
    parameters: Collection[Value] | None = None,
    gradients: Sequence[float | None] | None = None,
    digits: int = 4,
) -> tuple[str | None, str]:
    """The graph as inline SVG (from :func:`chainrule.engine.draw`) and a note for the page.

    ``names[i]`` is the walkthrough's name of the i-th node of ``topological_order(root)`` and
    ``gradients[i]`` its gradient from the trace (the picture shows these, not the nodes'
    ``.grad``, which the walkthrough never touches); nothing is written onto the nodes.
    Returns ``(None, reason)`` when the picture cannot be made (no ``dot`` program, or the
    rendering module is unavailable): the walkthrough works without it.
    """
    if shutil.which("dot") is None:
        return None, NO_DOT_NOTE
    try:
        from ..drawing import draw
    except ImportError as error:
        return None, f"No graph picture: chainrule's graph rendering is not available ({error})."
    try:
        graph = draw(root, names=names, parameters=parameters, gradients=gradients,
                     number_format=lambda x: format_number(x, digits))
        return sanitize_svg(graph.svg()), ""
    except (ImportError, OSError, RuntimeError, subprocess.SubprocessError, ChainruleError,
            ElementTree.ParseError) as error:
        return None, f"No graph picture: rendering the graph failed ({error})."


_FORBIDDEN_ELEMENTS = {"script", "foreignObject", "iframe", "object", "embed", "use", "image",
                       "animate", "set", "animateTransform", "animateMotion", "handler"}


def sanitize_svg(svg: str) -> str:
    """Graphviz's SVG reduced to drawing: no scripts, event handlers, external references or
    embedded documents, whatever text the labels held. The XML prologue is dropped."""
    ElementTree.register_namespace("", _SVG_NS)
    ElementTree.register_namespace("xlink", _XLINK_NS)
    # The DOCTYPE is dropped before parsing: no entity of any kind is ever expanded.
    body = re.sub(r"<!DOCTYPE[^>\[]*(\[[^\]]*\])?\s*>", "", svg, flags=re.IGNORECASE)
    root = ElementTree.fromstring(body)
    for parent in root.iter():
        for child in list(parent):
            local = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
            if local in _FORBIDDEN_ELEMENTS or not isinstance(child.tag, str):
                parent.remove(child)
        for attribute in list(parent.attrib):
            local = attribute.rsplit("}", 1)[-1].lower()
            value = parent.attrib[attribute].strip().lower()
            if local.startswith("on") or (local == "href" and not value.startswith("#")) or "javascript:" in value or ("url(" in value and "url(#" not in value):
                del parent.attrib[attribute]
    return ElementTree.tostring(root, encoding="unicode")


