"""A griffe extension (mkdocs.yml: the python handler's ``extensions``) that lets the API
reference render chainrule's docstrings, which are written for ``help()`` and doctest, as
Markdown: doctest examples (``>>>`` lines and their output) become Python console blocks, and
Sphinx roles (:func:`grad`, :class:`Value`) become code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

#: :func:`grad`, :meth:`Value.backward`, :mod:`chainrule.engine.chain_rule`...
SPHINX_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):`~?([^`]+)`")


def markdown(docstring: str) -> str:
    """``docstring`` with its doctest examples fenced and its Sphinx roles as code."""
    lines, out, index = docstring.splitlines(), [], 0
    while index < len(lines):
        line = lines[index]
        if not line.lstrip().startswith(">>>"):
            out.append(SPHINX_ROLE.sub(r"`\1`", line))
            index += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        block = []
        # An example runs to the first blank line (its output ends there, as for doctest).
        while index < len(lines) and lines[index].strip():
            block.append(lines[index].removeprefix(indent))
            index += 1
        out += [f"{indent}```pycon", *(indent + text for text in block), f"{indent}```"]
    return "\n".join(out)


class DoctestExamples(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
