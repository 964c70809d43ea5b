"""The graph picture of a walkthrough: drawn by :func:`chainrule.engine.draw` in the
walkthrough's names and with its gradients, then reduced to inert SVG for the page."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING
from xml.parsers import expat

from ..errors import ChainruleError, OperandTypeError
from ..naming import format_number
from .circuit import picture_name

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
    order: list[Value] | None = None,
) -> tuple[str | None, str]:
    """The graph as inline SVG (from :func:`chainrule.engine.draw`) and a note for the page.

    ``names[i]`` is the walkthrough's name of the i-th node of ``topological_order(root)``
    (drawn short: ``w¹₀₀`` for ``layer1.neuron0.w0``, see
    :func:`~chainrule.engine.explain.circuit.picture_name`) and ``gradients[i]`` its gradient
    from the trace (the picture shows these, not the nodes'
    ``.grad``, which the walkthrough never touches); nothing is written onto the nodes.
    ``order`` is ``topological_order(root)`` when the caller has it.
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
        short = None if names is None else [picture_name(name) for name in names]
        graph = draw(root, names=short, parameters=parameters, gradients=gradients,
                     number_format=lambda x: format_number(x, digits), order=order)
        return sanitize_svg(graph.svg()), ""
    except (ImportError, OSError, RuntimeError, subprocess.SubprocessError, ChainruleError,
            ElementTree.ParseError) as error:
        return None, f"No graph picture: rendering the graph failed ({error})."


class SvgError(ChainruleError, ValueError):
    """An ``svg=`` picture is not well-formed XML, or declares entities or a DTD subset."""


# What a drawing needs and nothing more: shapes, text, groups, tooltips, gradients and markers.
# Anything else (script, style, foreignObject, image, use, animation, any HTML element) is
# dropped with everything inside it; an element the HTML parser would lift out of the SVG
# (``meta``, ``form``, ``div``...) is never among these.
_ALLOWED_ELEMENTS = frozenset({
    "svg", "g", "title", "desc", "a", "path", "polygon", "polyline", "line", "rect", "circle",
    "ellipse", "text", "tspan", "defs", "linearGradient", "radialGradient", "stop", "clipPath",
    "marker",
})
_ALLOWED_ATTRIBUTES = frozenset({
    "id", "class", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy",
    "width", "height", "viewBox", "preserveAspectRatio", "version", "points", "d", "transform",
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
    "stroke-dasharray", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "opacity",
    "font-family", "font-size", "font-weight", "font-style", "text-anchor",
    "dominant-baseline", "offset", "stop-color", "stop-opacity", "gradientUnits",
    "gradientTransform", "clip-path", "clipPathUnits", "marker-start", "marker-mid",
    "marker-end", "markerWidth", "markerHeight", "refX", "refY", "orient", "markerUnits",
    "role", "aria-label", "aria-hidden", "focusable", "xml:space",
})
# Namespaced attributes kept: a tooltip, and a link within the picture (checked below).
_XLINK_TITLE = f"{{{_XLINK_NS}}}title"
_XLINK_HREF = f"{{{_XLINK_NS}}}href"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_URL = re.compile(r"url\s*\(", re.IGNORECASE)
#: Every id in a sanitized picture starts with this, and no id of the page does: the picture
#: inlined in a page can never stand in for one of the page's own elements (its data block, a
#: button) that the page's script finds by id. walkthrough.js looks up the picture's parts
#: (``svg-n0``, ``svg-op1``...) under it.
PICTURE_ID_PREFIX = "svg-"
# A reference in url(#...) not yet in the picture's namespace.
_LOCAL_URL = re.compile(rf"(url\s*\(\s*#)(?!{PICTURE_ID_PREFIX})", re.IGNORECASE)


def _parse_without_dtd(svg: str) -> ElementTree.Element:
    """``svg`` parsed by expat with no DTD at all: a document type declaration is skipped (as
    graphviz writes one), but one with an internal subset or any entity declaration is refused,
    and no external entity is ever read."""
    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def name(raw: str) -> str:
        return "{" + raw if "}" in raw else raw

    def start(tag: str, attributes: dict[str, str]) -> None:
        builder.start(name(tag), {name(k): v for k, v in attributes.items()})

    def doctype(_name: str, _system: str | None, _public: str | None, subset: int) -> None:
        if subset:
            raise SvgError("sanitize_svg: the SVG declares a DTD subset, which is not allowed")

    def entity(*_: object) -> None:
        raise SvgError("sanitize_svg: the SVG declares an entity, which is not allowed")

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = lambda *_: 0  # never fetch: an error, not a file read
    try:
        parser.Parse(svg, True)
        root = builder.close()
    except expat.ExpatError as error:
        raise SvgError(f"sanitize_svg: the SVG is not well-formed XML ({error})") from None
    return root


def _local(tag: object) -> str | None:
    """An SVG element's local name; None for anything outside the SVG namespace."""
    if not isinstance(tag, str):
        return None
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return local if namespace == _SVG_NS else None
    return tag


def _safe_value(value: str) -> bool:
    lowered = value.strip().lower()
    if "javascript:" in lowered or "data:" in lowered:
        return False
    # A paint or clip may point into the picture (url(#id)), never outside it.
    return all(value[m.end():].lstrip().startswith("#") for m in _URL.finditer(value))


def _clean_attributes(element: ElementTree.Element) -> None:
    for attribute, value in list(element.attrib.items()):
        if attribute == _XML_SPACE:
            key = "xml:space"
        elif attribute in (_XLINK_TITLE, _XLINK_HREF):
            key = attribute
        else:
            key = attribute if not attribute.startswith("{") else ""
        keep = key in _ALLOWED_ATTRIBUTES or key == _XLINK_TITLE
        if key in ("href", _XLINK_HREF):
            keep = value.strip().startswith("#")
        if not keep or not _safe_value(value):
            del element.attrib[attribute]
        elif key == "id":
            element.attrib[attribute] = _prefixed(value)
        elif key in ("href", _XLINK_HREF):
            element.attrib[attribute] = "#" + _prefixed(value.strip()[1:])
        elif "#" in value:  # url(#id) in a paint, a clip or a marker
            element.attrib[attribute] = _LOCAL_URL.sub(
                lambda match: match.group(1) + PICTURE_ID_PREFIX, value)


def _prefixed(name: str) -> str:
    """An id (or a reference to one) in the picture's own namespace; sanitizing twice changes
    nothing."""
    return name if name.startswith(PICTURE_ID_PREFIX) else PICTURE_ID_PREFIX + name


def sanitize_svg(svg: str) -> str:
    """An SVG picture reduced to drawing, whatever text it holds: only the elements and
    attributes a drawing needs (a whitelist: no ``style``, ``script``, ``foreignObject``,
    images, animations or HTML elements, no event handlers, no references outside the picture),
    parsed without any DTD. Every id (and every reference to one) is prefixed with
    :data:`PICTURE_ID_PREFIX`, so that no element of the picture can take the place of one of
    the page's. The XML prologue and comments are dropped. Raises
    :class:`SvgError` for text that is not well-formed XML or whose root is not ``<svg>``."""
    if not isinstance(svg, str):
        raise OperandTypeError(f"sanitize_svg: svg must be a str, got {type(svg).__name__}")
    ElementTree.register_namespace("", _SVG_NS)
    ElementTree.register_namespace("xlink", _XLINK_NS)
    root = _parse_without_dtd(svg)
    if _local(root.tag) != "svg":
        raise SvgError(f"sanitize_svg: the root element must be <svg>, got <{root.tag!s:.40}>")
    if not root.tag.startswith("{"):  # inline in HTML it is SVG either way; say so in XML too
        for element in root.iter():
            if isinstance(element.tag, str) and not element.tag.startswith("{"):
                element.tag = f"{{{_SVG_NS}}}{element.tag}"
    for parent in root.iter():
        for child in list(parent):
            if _local(child.tag) not in _ALLOWED_ELEMENTS:
                parent.remove(child)
        _clean_attributes(parent)
    return ElementTree.tostring(root, encoding="unicode")
