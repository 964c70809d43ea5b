"""A computation graph as a plain-text tree, for the terminal (no graphviz needed).

Each Value is written once, as ``#i`` (its position in the topological order, the same number
as the ``n{i}`` node of ``draw``), and referenced by that number when it is reached again, so
the text grows linearly with the graph even when subexpressions are shared. Very deep chains
are cut at ``max_depth`` levels and continued as separate trees below, which keeps the
indentation, and so the text, bounded too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..errors import OperandTypeError
from ..graph import topological_order
from ..value import Value
from .errors import DrawOptionError
from .labels import NumberFormat, number_formatter, one_line


def render_text(
    root: Value,
    *,
    number_format: NumberFormat = ".4g",
    show_grad: bool = True,
    parameters: Iterable[Value] | None = None,
    max_depth: int = 24,
) -> str:
    """``root``'s graph as an indented tree, output first::

        #4 y = sigmoid(#3)  data 0.7311  grad 1
        └── #3 = w * x  data 1  grad 0.1966
            ├── #0 w  data 0.5  grad 0.3932  [parameter]
            └── #1 x  data 2  grad 0.0983  [input]

    ``parameters`` marks leaves as parameters (leaves created inside a ``scope`` already are).
    """
    if not isinstance(root, Value):
        raise OperandTypeError(f"render_text: root must be a Value, got {type(root).__name__}")
    if not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 1:
        raise DrawOptionError(f"render_text: max_depth must be an int >= 1, got {max_depth!r}")
    number = number_formatter(number_format)
    given_parameters = set(parameters or ())
    order = topological_order(root)
    index = {v: i for i, v in enumerate(order)}
    label_uses = Counter(v.label for v in order if v.label and not v.is_constant)

    def reference(v: Value) -> str:
        """How an operand is written inside an expression."""
        if v.is_constant:
            return number(v.data)
        if v.label and label_uses[v.label] == 1:
            return one_line(v.label)
        return f"#{index[v]}"

    def describe(v: Value) -> str:
        name = f" {one_line(v.label)}" if v.label else ""
        if v.is_leaf:
            head = f"#{index[v]}{name}"
        else:
            expression = v.primitive.write(*(reference(u) for u in v.inputs))
            head = f"#{index[v]}{name} = {expression}"
        numbers = f"data {number(v.data)}"
        if show_grad:
            numbers += f"  grad {number(v.grad)}"
        return f"{head}  {numbers}{_role_tag(v, root, given_parameters)}"

    lines: list[str] = []
    written: set[Value] = set()
    continued: list[Value] = [root]
    postponed: set[Value] = {root}
    while continued:
        tree_root = continued.pop(0)
        if lines:
            lines.append("")
            lines.append(f"#{index[tree_root]} continued:")
        # Depth-first, without recursion: (node, prefix of its line, prefix of its inputs, depth)
        stack = [(tree_root, "", "", 0)]
        while stack:
            node, line_prefix, child_prefix, depth = stack.pop()
            if node in written:
                lines.append(f"{line_prefix}#{index[node]} (see above)")
                continue
            if node in postponed and node is not tree_root:
                lines.append(f"{line_prefix}#{index[node]} (continued below)")
                continue
            inputs = [u for u in node.inputs if not u.is_constant]
            if inputs and depth >= max_depth:
                postponed.add(node)
                continued.append(node)
                lines.append(f"{line_prefix}#{index[node]} (continued below)")
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


def _role_tag(v: Value, root: Value, given_parameters: set[Value]) -> str:
    if v is root or not v.is_leaf:
        return ""
    if v.scope or v in given_parameters:
        where = f" {'/'.join(one_line(part) for part in v.scope)}" if v.scope else ""
        return f"  [parameter{where}]"
    return "  [input]"
