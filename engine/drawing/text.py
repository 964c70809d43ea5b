"""A computation graph as a plain-text tree, for the terminal (no graphviz needed).

Each Value is written once, under the name :func:`draw` and the walkthrough give it, and referred
to by that name when it is reached again, so the text grows linearly with the graph even when
subexpressions are shared. Very deep chains
are cut at ``max_depth`` levels and continued as separate trees below, which keeps the
indentation, and so the text, bounded too.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import OperandTypeError
from ..graph import topological_order
from ..naming import node_names, node_roles, one_line, operation_text
from ..value import Value
from .errors import DrawOptionError
from .labels import NumberFormat, number_formatter


def render_text(
    root: Value,
    *,
    number_format: NumberFormat = ".4g",
    show_grad: bool = True,
    parameters: Iterable[Value] | None = None,
    max_depth: int = 24,
) -> str:
    """``root``'s graph as an indented tree, output first::

        y = sigmoid(n1)  data 0.7311  grad 1
        └── n1 = w * x  data 1  grad 0.1966
            ├── w  data 0.5  grad 0.3932  [parameter]
            └── x  data 2  grad 0.0983  [input]

    Values are called what :func:`draw` and the walkthrough call them (see
    :mod:`~chainrule.engine.naming`). ``parameters`` marks leaves as parameters
    (leaves created inside a ``scope`` already are; without it, so are leaves named like a weight
    or a bias, ``w1``, ``b``).
    """
    if not isinstance(root, Value):
        raise OperandTypeError(f"render_text: root must be a Value, got {type(root).__name__}")
    if not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 1:
        raise DrawOptionError(f"render_text: max_depth must be an int >= 1, got {max_depth!r}")
    number = number_formatter(number_format)
    order = topological_order(root)
    index = {v: i for i, v in enumerate(order)}
    names = node_names(order)
    roles = node_roles(order, None if parameters is None else set(parameters), names)

    def reference(v: Value) -> str:
        """How an operand is written inside an expression."""
        return number(v.data) if v.is_constant else one_line(names[index[v]])

    def describe(v: Value) -> str:
        i = index[v]
        head = one_line(names[i])
        if v.primitive is not None:  # every operation node has its primitive
            head += " = " + operation_text(v.primitive, [reference(u) for u in v.inputs])
        numbers = f"data {number(v.data)}"
        if show_grad:
            numbers += f"  grad {number(v.grad)}"
        return f"{head}  {numbers}{_role_tag(v, roles[i])}"

    lines: list[str] = []
    written: set[Value] = set()
    continued: list[Value] = [root]
    postponed: set[Value] = {root}
    while continued:
        tree_root = continued.pop(0)
        if lines:
            lines.append("")
            lines.append(f"{one_line(names[index[tree_root]])} continued:")
        # Depth-first, without recursion: (node, prefix of its line, prefix of its inputs, depth)
        stack = [(tree_root, "", "", 0)]
        while stack:
            node, line_prefix, child_prefix, depth = stack.pop()
            if node in written:
                lines.append(f"{line_prefix}{one_line(names[index[node]])} (see above)")
                continue
            if node in postponed and node is not tree_root:
                lines.append(f"{line_prefix}{one_line(names[index[node]])} (continued below)")
                continue
            inputs = [u for u in node.inputs if not u.is_constant]
            if inputs and depth >= max_depth:
                postponed.add(node)
                continued.append(node)
                lines.append(f"{line_prefix}{one_line(names[index[node]])} (continued below)")
                continue
            written.add(node)
            lines.append(line_prefix + describe(node))
            children = []
            for position, u in enumerate(inputs):
                last = position == len(inputs) - 1
                children.append((
                    u,
                    child_prefix + ("└── " if last else "├── "),
                    child_prefix + ("    " if last else "│   "),
                    depth + 1,
                ))
            stack.extend(reversed(children))
    return "\n".join(lines) + "\n"


def _role_tag(v: Value, role: str) -> str:
    if role == "parameter":
        where = f" {'/'.join(one_line(part) for part in v.scope)}" if v.scope else ""
        return f"  [parameter{where}]"
    return "  [input]" if role == "input" else ""
