"""Moved to :mod:`chainrule.engine.naming`, which every renderer shares (the drawing, the text
tree, the walkthrough and the command line); this name keeps old imports working."""

from ..naming import (
    ACTIVATIONS,
    Role,
    format_number,
    is_parameter_name,
    local_formula,
    local_numbers,
    node_names,
    node_roles,
    operand_text,
    operation_text,
)

__all__ = [
    "ACTIVATIONS", "Role", "format_number", "is_parameter_name", "local_formula",
    "local_numbers", "node_names", "node_roles", "operand_text", "operation_text",
]
