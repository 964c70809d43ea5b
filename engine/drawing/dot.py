"""Writing a :class:`~chainrule.engine.drawing.scene.Scene` as graphviz DOT text.

Every label is an HTML-like label built by :func:`html_text`, never a plain DOT string: user
text is escaped once, in one place. Graphviz expands escape sequences such as ``\\N`` (the
node's name) even inside HTML-like labels, so backslashes are doubled as well as ``&<>"``
being written as entities. The only quoted strings are our own names and tooltips built from
numbers and the primitive table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..naming import visible_lines
from .scene import Cluster, GroupBox, OperationBox, Scene, ValueBox

Direction = Literal["LR", "TB", "RL", "BT"]
DIRECTIONS = ("LR", "TB", "RL", "BT")

#: Fill colours by role; pale enough for black text, distinct for colour-blind readers
#: (blue / green / amber differ in lightness as well as hue).
ROLE_COLOURS = {
    "input": "#cfe2f3",
    "parameter": "#d9ead3",
    "intermediate": "#ffffff",
    "output": "#ffd966",
    "constant": "#eeeeee",
    "group": "#e4dcf1",
}
ROLE_NAMES = {
    "input": "input",
    "parameter": "parameter",
    "intermediate": "intermediate value",
    "output": "output",
    "group": "collapsed neuron / layer",
}
HIGHLIGHT_COLOUR = "#cc0000"
OPERATION_COLOUR = "#f3f3f3"
LINE_COLOUR = "#555555"
FONT = "Helvetica"


def html_text(text: str) -> str:
    """``text`` as the content of an HTML-like label: literal, line breaks kept."""
    escaped = []
    for line in visible_lines(text):
        for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
                         ("\\", "\\\\")):
            line = line.replace(old, new)
        escaped.append(line)
    return "<BR/>".join(escaped)


def quoted(text: str) -> str:
    """``text`` as a DOT quoted string for attributes graphviz treats as escString (tooltips).
    Tooltips hold names, so control characters are written as escapes here too."""
    text = "\n".join(visible_lines(text))
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


@dataclass(frozen=True)
class Style:
    direction: Direction
    number: Callable[[float], str]
    show_grad: bool
    colour_roles: bool
    legend: bool


def write_dot(scene: Scene, style: Style) -> str:
    lines = [
        "digraph chainrule {",
        f'  graph [rankdir={style.direction}, fontname="{FONT}", fontsize=10, '
        f'nodesep=0.25, ranksep=0.35, bgcolor="white"];',
        f'  node [fontname="{FONT}", fontsize=10];',
        f'  edge [fontname="{FONT}", fontsize=8, color="{LINE_COLOUR}", arrowsize=0.6];',
    ]
    _write_cluster(scene.top, style, lines, depth=1)
    for edge in scene.edges:
        # The operation node names its operands (q * z), so the edges need no labels; their
        # ids still say which input they feed.
        suffix = "" if edge.input_name is None else f"_{edge.input_name}"
        attributes = f'id="e_{edge.source}_{edge.target}{suffix}"'
        lines.append(f"  {edge.source} -> {edge.target} [{attributes}];")
    if style.legend:
        lines.append(_legend(scene, style))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _write_cluster(cluster: Cluster, style: Style, lines: list[str], depth: int) -> None:
    indent = "  " * depth
    if cluster.path:
        lines.append(f"{indent[2:]}subgraph {cluster.name} {{")
        lines.append(
            f'{indent}id="{cluster.name}"; label=<{html_text(cluster.path[-1])}>; '
            f'labeljust=l; style="rounded,dashed"; color="#999999"; fontcolor="#666666";'
        )
    for box in cluster.boxes:
        if isinstance(box, ValueBox):
            lines.append(indent + _value_node(box, style))
        elif isinstance(box, OperationBox):
            lines.append(indent + _operation_node(box, style))
        else:
            lines.append(indent + _group_node(box, style))
    for child in cluster.children:
        _write_cluster(child, style, lines, depth + 1)
    if cluster.path:
        lines.append(f"{indent[2:]}}}")


def _table(cells_by_row: list[str], fill: str, highlighted: bool, rounded: bool = False) -> str:
    border = f'BORDER="2" COLOR="{HIGHLIGHT_COLOUR}"' if highlighted else 'BORDER="0"'
    extra = ' STYLE="rounded"' if rounded else ""
    rows = "".join(f"<TR>{cells}</TR>" for cells in cells_by_row)
    return (
        f'<<TABLE {border} CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" '
        f'BGCOLOR="{fill}"{extra}>{rows}</TABLE>>'
    )


def _value_cells(box: ValueBox, style: Style) -> list[str]:
    """The name, data and grad of a Value (a page finds the last two by their first word)."""
    v = box.value
    title = box.title or v.label
    cells = [f"<B>{html_text(title)}</B>"] if title and not v.is_constant else []
    cells.append(f"data {html_text(style.number(v.data))}")
    if style.show_grad:
        cells.append(f"grad {html_text(style.number(box.grad))}")
    return cells


def _fill(role: str, style: Style) -> str:
    return ROLE_COLOURS[role] if style.colour_roles else "#ffffff"


def _value_node(box: ValueBox, style: Style) -> str:
    v = box.value
    # Full precision on hover: the label shows rounded numbers, the tooltip the exact floats.
    tooltip = f"data = {v.data!r}" + (f"\ngrad = {box.grad!r}" if style.show_grad else "")
    cells = "".join(f"<TD>{cell}</TD>" for cell in _value_cells(box, style))
    label = _table([cells], _fill(box.role, style), box.highlighted)
    return (
        f'{box.name} [id="{box.name}", shape=plain, '
        f"tooltip={quoted(tooltip)}, label={label}];"
    )


def _operation_node(box: OperationBox, style: Style) -> str:
    # Constants get no gradient: their formula would only distract.
    formulas = "\n".join(box.formulas())
    return (
        f'{box.name} [id="{box.name}", shape=ellipse, style=filled, '
        f'fillcolor="{OPERATION_COLOUR}", color="{LINE_COLOUR}", margin="0.04,0.02", '
        f"height=0.3, tooltip={quoted(formulas)}, label=<{html_text(box.text(style.number))}>];"
    )


def _group_node(group: GroupBox, style: Style) -> str:
    title = html_text(" / ".join(group.path))
    rows = [f"<TD><B>{title}</B> ({group.size} values)</TD>"]
    rows += [f"<TD>{'  '.join(_value_cells(output, style))}</TD>" for output in group.outputs]
    label = _table(rows, _fill("group", style), group.highlighted, rounded=True)
    return f'{group.name} [id="{group.name}", shape=plain, label={label}];'


def _legend(scene: Scene, style: Style) -> str:
    """A key to the colours of the boxes actually drawn."""
    rows = [
        f'<TR><TD BGCOLOR="{_fill(role, style)}">{ROLE_NAMES[role]}</TD></TR>'
        for role in ROLE_NAMES
        if role in scene.roles
    ]
    if "operation" in scene.roles:
        rows.append(f'<TR><TD BGCOLOR="{OPERATION_COLOUR}">operation</TD></TR>')
    if scene.has_highlight:
        rows.append(f'<TR><TD BORDER="2" COLOR="{HIGHLIGHT_COLOUR}">highlighted</TD></TR>')
    table = (
        '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="2" CELLPADDING="3">'
        f"<TR><TD BORDER=\"0\"><B>legend</B></TD></TR>{''.join(rows)}</TABLE>>"
    )
    return f'  legend [id="legend", shape=plain, label={table}];'
