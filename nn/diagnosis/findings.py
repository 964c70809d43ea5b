"""What :func:`~chainrule.nn.diagnose` returns: :class:`Finding` and :class:`Diagnosis`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

#: ``"problem"``: something keeps the network from learning; ``"note"``: worth knowing, but the
#: run learns (unscaled inputs a healthy run copes with).
Severity = Literal["problem", "note"]


@dataclass(frozen=True)
class Finding:
    """One problem: what it is (``kind``), what it means, the evidence and a fix.

    ``cause`` is the kind of the finding this one follows from (None for a root cause), and
    ``because`` says how, with numbers ("the saturation is caused by the learning rate
    (finding 1): layer0's weights grew to ..."). A finding that follows from another is fixed
    by fixing that one first, and its ``fix`` says so.
    """

    kind: str
    title: str
    evidence: str
    fix: str
    cause: str | None = None
    because: str | None = None
    severity: Severity = "problem"

    @property
    def is_root(self) -> bool:
        """Whether this finding is a cause of its own (it follows from no other finding)."""
        return self.cause is None

    def text(self) -> str:
        """The finding in three or four lines: title, evidence, cause (if it has one), fix."""
        lines = [self.title, f"  evidence: {self.evidence}"]
        if self.because:
            lines.append(f"  cause: {self.because}")
        lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


NOTHING_FOUND = ("No problems found: the checks for chance-level results, the labels, the "
                 "inputs, dead, saturated and identical units, vanishing or exploding "
                 "gradients, the learning rate and separability all passed.")


class Diagnosis(tuple[Finding, ...]):
    """The findings of :func:`~chainrule.nn.diagnose`, ranked: the root cause first, then what
    follows from it (a tuple; empty when nothing is wrong)."""

    @property
    def kinds(self) -> list[str]:
        """The kind of each finding, in order (``"dead_relu_units"``...)."""
        return [f.kind for f in self]

    @property
    def problems(self) -> list[Finding]:
        """The findings that keep the network from learning (not the notes), in order."""
        return [f for f in self if f.severity == "problem"]

    @property
    def root(self) -> Finding | None:
        """The first root cause: what to fix first (None when there is no problem)."""
        return next((f for f in self.problems if f.is_root), None)

    def text(self) -> str:
        """Every finding as text, the cause first, or a line saying that all checks passed."""
        if not self.problems:
            lines = [NOTHING_FOUND]
            lines += [f"note: {finding.text()}" for finding in self]
            return "\n".join(lines)
        header = "1 finding:" if len(self) == 1 else f"{len(self)} findings, the cause first:"
        return "\n".join([header, *(f"{k}. {finding.text()}" for k, finding in enumerate(self, 1))])

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Diagnosis({self.kinds})"


def number(x: float) -> str:
    """``x`` to three significant digits, as findings print their numbers."""
    return f"{x:.3g}"


def unit_list(indices: Sequence[int], limit: int = 8) -> str:
    """``"0, 1, 2"``, at most ``limit`` of them, then how many more."""
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f" and {len(indices) - limit} more" if len(indices) > limit else "")
