"""The ``chainrule`` console command.

    chainrule explain "sigmoid(w1*x1 + w2*x2 + b)" x1=0.8 x2=0.6 w1=0.5 w2=0.7 b=0.1 --html steps.html

prints the forward and backward passes step by step and writes the requested files (exit
status 0 when every gradient agrees with finite differences, a kink included, 1 otherwise);

    chainrule quiz "(x + y) * z" x=-2 y=5 z=-4

asks the learner for the gradients, one line per question, and reads the answers from standard
input (exit status 0 when all are right, 1 otherwise). Every problem with the input is reported
as one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ..errors import ChainruleError
from ..graph import topological_order
from ..naming import one_line as visible
from ..primitives import PRIMITIVES
from ..value import Value
from . import course

if TYPE_CHECKING:
    from ..explain import Walkthrough

EXIT_WRONG = 1

#: The functions an expression may call, from the primitive table.
FUNCTION_NAMES = sorted(p.function for p in PRIMITIVES.values() if p.function)
EXIT_USAGE = 2

EXAMPLE = (
    'chainrule explain "sigmoid(w1*x1 + w2*x2 + b)" x1=0.8 x2=0.6 w1=0.5 w2=0.7 b=0.1 '
    "--html steps.html"
)


class UsageError(Exception):
    """A problem to report in one line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage block and exits; one line is easier to read and to test.
    def error(self, message: str) -> NoReturn:
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            first = message.removeprefix(prefix).split(" ")[0]
            if first.startswith("--"):
                message = f"unknown option {first} (see chainrule COMMAND --help)"
            elif first.startswith("-"):
                message += (
                    f" (an EXPR that starts with '-' reads as an option: write it in "
                    f"parentheses, '({first})', or put '--' after the options and before "
                    "EXPR: explain --html f.html -- EXPR NAME=VALUE ...)"
                )
        raise UsageError(message)


def _positive_count(text: str) -> int:
    """``--tries N``: a whole number of at least 1."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"needs a whole number of at least 1, got {text!r}")
    return count


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chainrule",
        description="chainrule: backpropagation you can see, step through and trust.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    explain = commands.add_parser(
        "explain",
        help="show the forward and backward passes of an expression step by step",
        description=(
            "Show the forward and backward passes of EXPR step by step, with the chain rule in "
            "numbers, and check every gradient by finite differences. EXPR may use numbers, "
            f"names, + - * / ** and chainrule's functions ({' '.join(FUNCTION_NAMES)}). "
            "If EXPR starts with '-', write it in parentheses, '(-x)*2'. Exit status 0 when "
            "every gradient agrees with finite differences (at a kink, with one side's slope), "
            f"1 otherwise. Example: {EXAMPLE}"
        ),
    )
    explain.add_argument("expression", metavar="EXPR", help="the expression, quoted")
    explain.add_argument(
        "assignments", metavar="NAME=VALUE", nargs="*", help="a value for each name in EXPR"
    )
    explain.add_argument("--html", metavar="FILE", type=Path,
                         help="write the interactive step-by-step page (one offline HTML file)")
    explain.add_argument("--md", metavar="FILE", type=Path, help="write the steps as Markdown")
    explain.add_argument("--svg", metavar="FILE", type=Path,
                         help="write the graph picture (needs graphviz's dot)")
    explain.add_argument("--circuit", metavar="FILE", type=Path,
                         help="write the compact circuit for a slide or a handout: SVG, or PDF "
                         "if FILE ends in .pdf (needs rsvg-convert or chromium)")
    explain.add_argument("--step", metavar="K", type=int,
                         help="with --circuit: the circuit at step K of the page (from 1; "
                         "default: the last step, every gradient known)")
    _add_loss_arguments(explain)
    explain.add_argument("--lr", metavar="LR", type=float,
                         help="also show one gradient-descent step p <- p - LR * dL/dp on the "
                         "parameters, and the loss before and after it")
    explain.add_argument("--params", metavar="NAMES",
                         help="comma-separated names updated by --lr (default: the names that "
                         "start with w or b followed by a digit, _ or nothing: w1, w_2, b)")
    explain.add_argument("--quiet", "-q", action="store_true",
                         help="do not print the steps (only write the files)")
    explain.add_argument("--worksheet", metavar="FILE", type=Path,
                         help="write a printable worksheet with blanks, questions and an answer "
                         "key: a page for FILE.html, else Markdown with the circuit beside it "
                         "(FILE-circuit.svg)")

    quiz = commands.add_parser(
        "quiz",
        help="your turn: work out the gradients of an expression, checked as you go",
        description=(
            "Ask for the gradient of the output with respect to every node of EXPR, in the "
            "order the backward pass completes them, one line per question (df/dz = ?). "
            "Answers are read one per line from standard input (numbers such as -4, 0.25 or "
            "1/4; three significant digits are enough); the forward pass is shown first, in the "
            "names the questions use. A wrong answer is told which mistake it is (the local "
            "derivative alone, a wrong sign, a fan-out summed in part...) and gets a hint and "
            "another try (--tries); the last wrong try gets the worked step. Input that is not "
            "a number is refused and the question asked again. Exit status 0 when every "
            'answer is right, 1 otherwise. Example: chainrule quiz "(x + y) * z" x=-2 y=5 z=-4'
        ),
    )
    quiz.add_argument("expression", metavar="EXPR", help="the expression, quoted")
    quiz.add_argument(
        "assignments", metavar="NAME=VALUE", nargs="*", help="a value for each name in EXPR"
    )
    quiz.add_argument("--steps", action="store_true",
                      help="also ask each local derivative and each contribution upstream x local")
    from ..explain.quiz import TRIES

    quiz.add_argument("--tries", metavar="N", type=_positive_count, default=TRIES,
                      help="tries per question (default 2): a wrong answer is told which "
                      "mistake it is and gets the next hint, the last one the worked step")
    _add_loss_arguments(quiz)
    course.add_command(commands)
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("chainrule")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "(not installed)"


def _add_loss_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--target", metavar="T", type=float,
                         help="put a loss on EXPR's output against the target T (otherwise EXPR "
                         "is taken to be the loss)")
    command.add_argument("--loss", choices=("mse", "bce"), default="mse",
                         help="the loss with --target: mse, (y - T)^2 (default), or bce, binary "
                         "cross-entropy of a probability y")


def _parse(args: argparse.Namespace) -> Value:
    """The graph of EXPR with its NAME=VALUE assignments."""
    import math

    from .expression import ExpressionError, parse_assignment, parse_expression

    values: dict[str, float] = {}
    for text in args.assignments:
        name, value = parse_assignment(text)
        if name in values:
            raise ExpressionError(f"{name} is given more than once")
        values[name] = value
    if args.target is not None and not math.isfinite(args.target):
        raise UsageError(f"--target must be a finite number, got {args.target}")
    if args.target is None and args.loss != "mse":
        raise UsageError("--loss needs --target")
    return parse_expression(args.expression, values)


def _explain(args: argparse.Namespace) -> int:
    import math
    import shutil

    from ..explain import walkthrough

    if args.lr is not None and not math.isfinite(args.lr):
        raise UsageError(f"--lr must be a finite number, got {args.lr}")
    root = _parse(args)
    parameters = None
    if args.params is not None:
        if args.lr is None:
            raise UsageError("--params needs --lr")
        names = [name.strip() for name in args.params.split(",") if name.strip()]
        leaves = {node.label: node for node in _leaves(root)}
        unknown = [name for name in names if name not in leaves]
        if unknown or not names:
            raise UsageError(f"--params: {', '.join(unknown) or 'no names'}: not a name of EXPR")
        parameters = [leaves[name] for name in names]
    wants_picture = args.html is not None or args.svg is not None or args.circuit is not None
    if args.step is not None and args.circuit is None:
        raise UsageError("--step needs --circuit")
    if args.svg is not None and shutil.which("dot") is None:
        raise UsageError(
            "--svg needs graphviz's dot program, which is not installed "
            "(Debian/Ubuntu: sudo apt-get install graphviz)"
        )
    w = walkthrough(root, lr=args.lr, parameters=parameters, title=f"Backpropagation through "
                    f"{args.expression.strip()}", picture=wants_picture, target=args.target,
                    loss=args.loss)
    if not args.quiet:
        sys.stdout.write(w.text())
    if args.svg is not None:
        if w.svg is None:
            raise UsageError(f"cannot write {args.svg}: {w.graph_note}")
        _write(args.svg, w.svg)
    if args.circuit is not None:
        _write_circuit(w, args.circuit, args.step)
    if args.md is not None:
        _write(args.md, w.markdown())
    if args.worksheet is not None:
        _write_worksheet(w, args.worksheet)
    if args.html is not None:
        _write(args.html, w.html())
        if w.svg is None and w.circuit is None:  # a small graph's circuit needs no graphviz
            print(visible(f"chainrule explain: note: {w.graph_note}"), file=sys.stderr)
    # As the page's summary says: a gradient that disagrees with finite differences is a
    # failure; one of the two one-sided slopes at a kink is not.
    return 0 if w.backward.all_checks_passed else EXIT_WRONG


def _quiz(args: argparse.Namespace) -> int:
    from ..explain import walkthrough
    from ..explain.feedback import verdict
    from ..explain.quiz import ABSOLUTE, RELATIVE, definitions, questions

    w = walkthrough(_parse(args), picture=False, target=args.target, loss=args.loss)
    asked = questions(w, steps=args.steps)
    print(visible(f"Backpropagation through {args.expression.strip()}: {len(asked)} questions"))
    # Every name a question uses is on the screen first: the forward pass, in those names.
    print("the forward pass:")
    for line in definitions(w):
        print(visible(f"   {line}"))
    tries = "1 try" if args.tries == 1 else f"{args.tries} tries"
    print(f"answers within {ABSOLUTE:g} + {RELATIVE:.0%} count as right; {tries} each")
    right = later = 0
    for number, question in enumerate(asked, 1):
        hints = 0
        for attempt in range(1, args.tries + 1):
            answer = _ask(f"{number}. {question.prompt} ")
            if answer is None:  # end of input
                print(visible(f"   no answer (end of input): {question.worked}"))
                break
            said = verdict(w, question, answer, hints)
            if said.correct:
                right += 1
                later += attempt > 1
                print(visible(f"   {said.message}"))
                break
            if said.mistake is not None or attempt < args.tries:
                print(visible(f"   {said.message}"))
            if attempt == args.tries:
                print(visible(f"   wrong. Expected {_number(w, question.answer)}: "
                              f"{question.worked}"))
            elif said.next_hint is not None:
                hints += 1
                print(visible(f"   hint: {said.next_hint}"))
    score = f"score: {right} of {len(asked)}"
    print(score + (f" ({later} on a later try)" if later else ""))
    return 0 if right == len(asked) else EXIT_WRONG


def _ask(prompt: str) -> float | None:
    """A number typed after ``prompt``; anything else is refused and asked again, so a typo
    neither uses up a try nor shifts the later answers. None at the end of the input."""
    from ..explain.quiz import parse_answer

    while True:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not sys.stdin.isatty():  # answers from a file or a pipe: show them as if typed
            sys.stdout.write(visible(line.strip()) + "\n")
        if not line:
            return None
        answer = parse_answer(line)
        if answer is not None:
            return answer
        print(visible(f"   {line.strip()[:40]!r} is not a number: type one such as -4, 0.25 "
                      "or 1/4"))


def _number(w: object, x: float) -> str:
    from ..explain import wording

    return wording.number(w, x)  # type: ignore[arg-type]


def _leaves(root: Value) -> list[Value]:
    return [node for node in topological_order(root) if node.is_leaf and not node.is_constant]


def _write_circuit(w: Walkthrough, path: Path, step: int | None) -> None:
    from ..explain.circuit_svg import CircuitStepError

    try:
        svg = w.circuit_svg(step)
    except CircuitStepError as error:
        raise UsageError(f"--step {str(error).removeprefix('circuit: step ')}") from None
    if path.suffix.lower() != ".pdf":
        _write(path, svg)
        return
    try:
        w.save_svg(path, step)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    print(visible(f"wrote {path}"), file=sys.stderr)


def _write_worksheet(w: Walkthrough, path: Path) -> None:
    from ..explain.worksheet import save_worksheet

    try:
        written = save_worksheet(w, path)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    for file in written:
        print(visible(f"wrote {file}"), file=sys.stderr)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    print(visible(f"wrote {path}"), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chainrule`` command; returns the exit status (0; 1 for a quiz with a wrong
    answer; 2 for a usage error)."""
    _degrade_to_ascii_escapes()
    parser = _build_parser()
    command = "chainrule"
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        command = args.command
        if command == "course":
            sys.stdout.write(course.copy_course(args.folder, force=args.force))
            return 0
        if command == "quiz":
            return _quiz(args)
        return _explain(args)
    except UsageError as error:
        return _fail(str(error))
    except ChainruleError as error:
        # The expression's own errors and evaluation errors (log of a negative number, an
        # overflowing power...), whose messages name the operation and the value; those of the
        # walkthrough are said in the command's terms, not the Python function's.
        return _fail(_in_command_terms(str(error), command))
    except RecursionError:
        return _fail("the expression is too deeply nested")
    return 0


def _degrade_to_ascii_escapes() -> None:
    # On a terminal or pipe that cannot encode a character (an ASCII-only locale, say), write
    # it as an escape such as \u03b4 instead of failing with UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _in_command_terms(message: str, command: str) -> str:
    for function in ("walkthrough", "trace_backward", "trace_forward", "recompute"):
        if message.startswith(function + ":"):
            message = f"{command}:{message.removeprefix(function + ':')}"
            break
    return _PYTHON_OPTION.sub(lambda m: f"--{m.group(1)} ", message)


# A keyword argument in a message (``lr=0.1``) is an option on the command line (``--lr 0.1``).
_PYTHON_OPTION = re.compile(r"\b(lr|target|loss)=")


def _fail(message: str) -> int:
    one_line = " ".join(message.split())
    if len(one_line) > 300:  # a message may quote the input, which can be 2,000 characters
        one_line = one_line[:297] + "..."
    print(f"chainrule: error: {visible(one_line)}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
