"""Which finding causes which, and the order :func:`~chainrule.nn.diagnose` reports them in:
each root cause, then what follows from it, each saying how (with numbers) and that fixing the
cause comes first.

The causes each kind of finding can have, most likely first, are in :data:`CAUSES`: unscaled
inputs make weighted sums, and so the gradient steps, as large as the inputs; a learning rate
too large grows the weights until units saturate or die; saturated or dead units pass no
gradient back; and a run at chance follows from whatever root cause was found."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from ..anatomy import saturates
from .evidence import Run, weight_growth
from .findings import Finding, number

#: The order of root causes, earliest in the chain first: the data, then the model and its
#: initialisation, then the optimiser, then symptoms that no other finding explains.
STAGES = ("labels_do_not_fit_loss", "contradictory_labels", "no_signal", "unscaled_inputs",
          "not_linearly_separable", "symmetric_initialisation", "dead_relu_units",
          "saturated_units", "learning_rate_too_large", "learning_rate_too_small",
          "exploding_gradients", "vanishing_gradients", "no_better_than_chance")

#: What each kind of finding can follow from, the likeliest cause first.
CAUSES: dict[str, tuple[str, ...]] = {
    "no_signal": ("contradictory_labels",),
    "learning_rate_too_large": ("unscaled_inputs",),
    "saturated_units": ("unscaled_inputs", "learning_rate_too_large"),
    "dead_relu_units": ("unscaled_inputs", "learning_rate_too_large"),
    "exploding_gradients": ("unscaled_inputs", "learning_rate_too_large"),
    "vanishing_gradients": ("saturated_units", "dead_relu_units", "unscaled_inputs",
                            "learning_rate_too_large"),
}

#: A plateau is not blamed on the learning rate when one of these explains it (a larger rate
#: cannot revive dead units or find labels that are not in the data).
EXPLAINS_A_PLATEAU = frozenset(STAGES) - {"learning_rate_too_small", "learning_rate_too_large",
                                          "no_better_than_chance", "unscaled_inputs"}

#: Each kind in a few words, as a later finding names its cause.
NAMES = {
    "labels_do_not_fit_loss": "the labels do not fit the loss",
    "contradictory_labels": "identical inputs with different labels",
    "no_signal": "labels unrelated to the inputs",
    "unscaled_inputs": "the unscaled inputs",
    "not_linearly_separable": "a single neuron on data no line separates",
    "symmetric_initialisation": "identical neurons",
    "dead_relu_units": "the dead relu units",
    "saturated_units": "the saturated units",
    "learning_rate_too_large": "the learning rate",
    "learning_rate_too_small": "the learning rate",
    "exploding_gradients": "the exploding gradients",
    "vanishing_gradients": "the vanishing gradients",
}


def _first_hidden(run: Run, wanted: Callable[[str], bool]) -> int:
    assert run.layers is not None
    return next((k for k, layer in enumerate(run.layers[:-1]) if wanted(layer.activation)), 0)


def _largest_weighted_sum(run: Run) -> float:
    """The largest |w·x + b| of the first layer's units on the data."""
    assert run.layers is not None
    inputs = run.layer_inputs(0)
    return max(abs(math.fsum(w.data * x for w, x in zip(neuron.weights, row, strict=True))
                   + neuron.bias.data)
               for neuron in run.layers[0].neurons for row in inputs)


def _because(run: Run, finding: Finding, cause: str, at: int) -> str:
    """How ``finding`` follows from the finding of kind ``cause`` (numbered ``at``)."""
    kind, name = finding.kind, NAMES.get(cause, cause)
    if kind == "no_better_than_chance":
        return f"follows from {name} (finding {at})"
    if cause == "unscaled_inputs" and kind == "learning_rate_too_large":
        return (f"caused by {name} (finding {at}): a first-layer weight's gradient is "
                "proportional to its input, so every step is as much too large as the inputs are")
    if cause == "unscaled_inputs" and run.layers is not None:
        return (f"caused by {name} (finding {at}): the first layer's weighted sums reach "
                f"|w·x + b| = {number(_largest_weighted_sum(run))} on the data")
    if cause == "learning_rate_too_large" and kind == "saturated_units":
        return (f"the saturation is caused by the learning rate (finding {at}): "
                f"{weight_growth(run, _first_hidden(run, saturates))}")
    if cause == "learning_rate_too_large" and kind == "dead_relu_units":
        return (f"caused by the learning rate (finding {at}): steps too large pushed these "
                "units' weighted sums below 0 on every sample, and nothing pulls them back")
    if cause == "learning_rate_too_large":
        return f"caused by the learning rate (finding {at}): {weight_growth(run, 0)}"
    if cause == "saturated_units":
        return (f"follows from {name} (finding {at}): a flat unit passes almost no gradient "
                "back to the layers before it")
    if cause == "dead_relu_units":
        return f"follows from {name} (finding {at}): a dead unit passes no gradient back"
    return f"follows from {name} (finding {at})"


def _fix(finding: Finding, at: int) -> str:
    if finding.kind == "no_better_than_chance":
        return f"fix finding {at} first: the accuracy and the loss follow from it."
    return (f"fix finding {at} first, then train again from a fresh initialisation (what the "
            "cause did to the weights does not undo itself).")


def rank(run: Run, found: list[Finding]) -> list[Finding]:
    """``found`` ordered root causes first, each followed by what follows from it, with the
    ``cause``, ``because`` and ``fix`` of each consequence filled in."""
    kinds = {f.kind for f in found}
    if kinds & EXPLAINS_A_PLATEAU:
        found = [f for f in found if f.kind != "learning_rate_too_small"]
        kinds = {f.kind for f in found}
    causes: dict[str, str | None] = {}
    for finding in found:
        candidates = CAUSES.get(finding.kind, ())
        causes[finding.kind] = next((c for c in candidates if c in kinds), None)
    roots = sorted((f for f in found if causes[f.kind] is None
                    and f.kind != "no_better_than_chance"), key=lambda f: STAGES.index(f.kind))
    chance = next((f for f in found if f.kind == "no_better_than_chance"), None)
    if chance is not None:
        problems = [r for r in roots if r.kind != "unscaled_inputs"] or roots
        causes[chance.kind] = problems[0].kind if problems else None
        if causes[chance.kind] is None:
            roots.append(chance)
    ordered: list[Finding] = []

    def place(finding: Finding) -> None:
        ordered.append(finding)
        children = sorted((f for f in found if causes[f.kind] == finding.kind),
                          key=lambda f: STAGES.index(f.kind))
        for child in children:
            place(child)

    # Unscaled inputs that nothing follows from are worth a note, not a problem: the run copes.
    notes = [] if any(causes[f.kind] == "unscaled_inputs" for f in found) else [
        replace(f, severity="note") for f in roots if f.kind == "unscaled_inputs"]
    for root in roots:
        if root.kind != "unscaled_inputs" or not notes:
            place(root)
    number_of = {f.kind: k for k, f in enumerate(ordered, 1)}
    ranked = []
    for finding in ordered:
        cause = causes[finding.kind]
        if cause is None:
            ranked.append(finding)
        else:
            at = number_of[cause]
            ranked.append(replace(finding, cause=cause, because=_because(run, finding, cause, at),
                                  fix=_fix(finding, at)))
    return ranked + notes
