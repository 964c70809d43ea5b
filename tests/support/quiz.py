"""The quiz's test cases, shared by the command-line and the browser tests: one wrong answer
for every kind of mistake the feedback engine recognises."""

from __future__ import annotations

from chainrule.engine import walkthrough
from chainrule.engine.explain.walkthrough import Walkthrough

#: (expression, assignments, --steps?, the question, a wrong answer, its mistake, the words
#: that name it). Between them they make every kind of mistake the engine recognises.
CASES = [
    ("(x + y) * z", ("x=-2", "y=5", "z=-4"), False, "df/dx = ?", "1", "local",
     "that is the local derivative d/dx (x + y) alone"),
    ("(x + y) * z", ("x=-2", "y=5", "z=-4"), False, "df/dx = ?", "4", "sign", "wrong sign"),
    ("(x + y) * z", ("x=-2", "y=5", "z=-4"), False, "df/dx = ?", "-3", "added",
     "adds the upstream gradient df/dn1 and the local derivative"),
    ("(x + y) * z", ("x=-2", "y=5", "z=-4"), False, "df/dy = ?", "5", "value",
     "that is the value of y from the forward pass, not its gradient"),
    ("(x + y) * z", ("x=-2", "y=5", "z=-4"), False, "df/dz = ?", "-4", "swap",
     "the local derivative of z is the value of n1"),
    ("(x + y) * z", ("x=-2", "y=5", "z=-4"), False, "df/dn1 = ?", "1", "upstream",
     "that is the upstream gradient df/df passed on unchanged"),
    ("(x + y) * z", ("x=-2", "y=5", "z=-4"), True, "d/dx (x + y) = ?", "-4", "product",
     "that already multiplies by the upstream gradient df/dn1"),
    ("a*a + a", ("a=3",), False, "df/da = ?", "4", "partial",
     "that adds up only 2 of the 3 contributions a receives"),
    ("sigmoid(z)", ("z=1",), False, "df/dz = ?", "0.19", "close",
     "close: right to 2 significant digits, give 3"),
    ("(x + y) * z", ("x=-2", "y=5", "z=-4"), False, "df/dx = ?", "17.25", None,
     "not right, and not a slip I recognise"),
]


def lesson_of(expression: str, assignments: tuple[str, ...]) -> Walkthrough:
    from chainrule.engine.console.expression import parse_expression

    values = {name: float(value) for name, value in (a.split("=") for a in assignments)}
    return walkthrough(parse_expression(expression, values), picture=False)


