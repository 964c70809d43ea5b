"""The sentences of the live page's nudge and descent panels, written once, here.

A sentence is a template (:mod:`.template`) of literal text and :class:`~.template.Hole` s the
page fills with a number it computes as the learner types (the slope after a nudge, the loss
after a step) or with a name. Python fills the same sentences (:func:`~.template.fill`): the
refusals of a too-large learning
rate are raised by :func:`~chainrule.engine.explain.walkthrough` from them, so the page's
refusal is the very sentence Python raises.
"""

from __future__ import annotations

from typing import Any

from .template import Hole, Template, template_json

__all__ = ["DESCENT", "FIELD", "NUDGE", "NUDGE_STEPS", "PREDICTED_NUDGE", "sentences_for_page"]

#: A sentence of these panels: a template of literal text and holes (no slots: its numbers are
#: computed by the page as the learner types, not recorded by the lesson).
Sentence = Template

#: The nudges h of the panel: (f(x + h) - f(x)) / h approaches the gradient as h shrinks.
NUDGE_STEPS = (0.1, 0.01, 0.001)
#: The nudge the panel's prediction is about.
PREDICTED_NUDGE = 0.01

_LEAF, _OUTPUT = Hole("leaf", "text"), Hole("output", "text")

NUDGE: dict[str, Sentence] = {
    "heading": ("Nudge a leaf: the derivative's definition, before the chain rule",),
    "quotient": ("(", _OUTPUT, "(", _LEAF, " + h) − ", _OUTPUT, "(", _LEAF, ")) / h"),
    "gradient": ("the gradient d", _OUTPUT, "/d", _LEAF, " = ", Hole("gradient")),
    "predicted": ("nudging ", _LEAF, " by +", Hole("h"), " moves ", _OUTPUT, " by about ",
                  Hole("gradient"), " × ", Hole("h"), " = ", Hole("change")),
    "measured": ("and the forward pass says it moves by ", Hole("actual")),
    "undefined": (_OUTPUT, "(", _LEAF, " + ", Hole("h"), ") is undefined: ",
                  Hole("reason", "text")),
}

DESCENT: dict[str, Sentence] = {
    "heading": ("Descent by hand: p ← p − lr × d", _OUTPUT, "/dp on the parameters",),
    "step": ("step ", Hole("count"), ": ", _OUTPUT, " went from ", Hole("before"), " to ",
             Hole("after"), " (", Hole("change"), ")"),
    "no-parameters": ("This graph has no parameters to update: a leaf named like a weight or "
                      "a bias (w, b), or one created inside an nn layer, is one.",),
    "curve": ("the loss curve: ", _OUTPUT, " over ", Hole("count"), " steps, from ",
              Hole("first"), " to ", Hole("last")),
    "axis": ("steps of descent →",),
    # The refusals of walkthrough(lr=...), raised from these sentences (see walkthrough.py).
    "overflow": ("walkthrough: with lr=", Hole("lr", "repr"), ", the gradient-descent step on ",
                 Hole("name", "text"), " overflows: ", Hole("before", "repr"), " - ",
                 Hole("lr", "repr"), " * ", Hole("grad", "repr"), " is ", Hole("after", "repr"),
                 "; choose a smaller lr"),
    "fails": ("walkthrough: with lr=", Hole("lr", "repr"), ", the forward pass after the "
              "gradient-descent step fails (", Hole("error", "text"), "); choose a smaller lr"),
}

FIELD: dict[str, Sentence] = {
    "invalid": ("“", Hole("text", "text"), "” is not a number: type one such as -1.5, 0.25 or "
                "2e-3",),
    "empty": ("Type a number, such as -1.5, 0.25 or 2e-3",),
    "edited": ("Your values: the page shows what they give. Reset returns to the recorded "
               "ones.",),
}


def sentences_for_page() -> dict[str, Any]:
    """The sentences in the page's data: a list of strings and ``{"hole": name, "as": how}``
    objects each, with the nudges to make."""
    return {"nudge": {key: template_json(s) for key, s in NUDGE.items()},
            "descent": {key: template_json(s) for key, s in DESCENT.items()},
            "field": {key: template_json(s) for key, s in FIELD.items()},
            "nudgeSteps": list(NUDGE_STEPS), "predictedNudge": PREDICTED_NUDGE}
