"""The page's quiz in a real headless Chromium: the page judges every answer as Python's
feedback engine does (the same mistakes, the same words), a wrong answer gets a hint and a
second try, "Show the step" clears the box, and the learner's progress names the kind of
question to work on and jumps to its step."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainrule.engine.explain.feedback import mistakes, verdict
from chainrule.engine.explain.quiz import questions

from support.quiz import CASES, lesson_of

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at "
                       "/usr/bin/chromium (make system-deps installs it)"),
]

#: The lessons of CASES, each once.
LESSONS = list(dict.fromkeys((expression, assignments) for expression, assignments, *_ in CASES))


def open_quiz(browser, path: Path, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 860})
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(path.resolve().as_uri())
    page.click("#quiz-toggle")
    return page, problems


def type_answer(page, text: str, nth: int = 0) -> str:
    field = page.locator("#equation .question input").nth(nth)
    field.fill(text)
    field.press("Enter")
    return page.locator("#equation .question .feedback").nth(nth).text_content()


@pytest.mark.parametrize(("expression", "assignments"), LESSONS)
def test_the_page_and_python_agree_on_every_recognised_mistake(browser, tmp_path, expression,
                                                               assignments):
    """Each mistake's number, its neighbours within and just outside the tolerance, the
    right answer, "close" answers and unrecognised ones: one verdict in Python and the page."""
    w = lesson_of(expression, assignments)
    page, problems = open_quiz(browser, w.save_html(tmp_path / "agree.html"))
    checked = 0
    for level, steps in (("steps", True), ("gradients", False)):
        data = page.evaluate(f"window.chainruleWalkthrough.data.quiz.{level}")
        for q, shown in zip(questions(w, steps=steps, times="×"), data, strict=True):
            candidates = [q.answer, q.answer * 1.03, -q.answer, 17.25, float(f"{q.answer:.2g}")]
            for m in mistakes(w, q):
                candidates += [m.value, m.value * 1.004, m.value + 0.5]
            for answer in candidates:
                python = verdict(w, q, answer)
                js = page.evaluate("([l, i, a]) => window.chainruleWalkthrough.quizJudge(l, i, a)",
                                   [level, shown["id"], answer])
                assert (js["correct"], js["kind"], js["message"]) == (
                    python.correct, python.mistake, python.message), (q.prompt, answer)
                checked += 1
    assert checked > 20 and problems == []


@pytest.mark.parametrize(("expression", "assignments", "steps", "prompt", "wrong", "kind",
                          "words"), CASES)
def test_each_mistake_is_named_in_the_page(browser, tmp_path, expression, assignments, steps,
                                           prompt, wrong, kind, words):
    w = lesson_of(expression, assignments)
    page, problems = open_quiz(browser, w.save_html(tmp_path / "mistake.html"))
    if not steps:
        page.select_option("#quiz-level", "gradients")
    question = next(q for q in questions(w, steps=steps, times="×")
                    if q.prompt == prompt.replace(" x ", " × "))
    first = page.evaluate("window.chainruleWalkthrough.firstBackward")
    at = first - 1 if question.step is None else first + question.step
    page.evaluate(f"window.chainruleWalkthrough.show({at})")
    labels = page.locator("#equation .question .prompt").all_text_contents()
    nth = labels.index(prompt.replace(" = ?", " ="))
    said = type_answer(page, wrong, nth)
    assert said.startswith("✗ ") and words in said
    assert page.locator("#equation .question").nth(nth).get_attribute("data-mistake") == (
        kind or "")
    assert page.locator("#equation .question .hints").nth(nth).locator("p").count() == 1
    assert type_answer(page, repr(question.answer), nth) == f"✓ {verdict(w, question, question.answer).message}"
    assert problems == []


def test_a_second_try_hints_in_steps_and_show_the_step_clears_the_box(browser, tmp_path):
    w = lesson_of("(x + y) * z", ("x=-2", "y=5", "z=-4"))
    page, problems = open_quiz(browser, w.save_html(tmp_path / "tries.html"))
    page.select_option("#quiz-level", "gradients")
    page.evaluate("window.chainruleWalkthrough.show(window.chainruleWalkthrough.firstBackward + 1)")
    assert page.locator("#equation .question .prompt").all_text_contents() == ["df/dx =", "df/dy ="]
    # the names the questions use are on the screen: the forward pass, in those names
    assert page.locator(".quiz-forward li").all_text_contents() == [
        "given inputs x = -2, y = 5, z = -4", "n1 = x + y = -2 + 5 = 3",
        "f = n1 * z = 3 * (-4) = -12"]
    # not a number: refused, no try used
    assert type_answer(page, "foo") == "Type a number, such as -4, 0.25 or 1/4."
    assert page.locator("#equation .question input").first.is_enabled()
    said = type_answer(page, "1")
    assert said.startswith("✗ that is the local derivative d/dx (x + y) alone")
    assert said.endswith("Try again, with the hint below.")
    hints = page.locator("#equation .question .hints").first.locator("p")
    assert hints.all_text_contents()[0].startswith("Hint 1: chain rule: x is used once, by n1")
    button = page.locator("#equation .question button", has_text="Hint").first
    button.click()
    button.click()
    assert [h.split(":")[0] for h in hints.all_text_contents()] == ["Hint 1", "Hint 2", "Hint 3"]
    assert "-4" not in " ".join(hints.all_text_contents()[:2])  # never the answer first
    page.locator("#equation .question button", has_text="Show the step").first.click()
    assert page.locator("#equation .question input").first.input_value() == ""
    assert page.locator("#equation .question input").first.is_disabled()
    assert page.locator("#equation .question .feedback").first.text_content() == (
        "The step: df/dx = df/dn1 × d/dx (x + y) = (-4) × 1 = -4")
    # the second question: two wrong tries use it up, with the step shown and the box empty
    assert type_answer(page, "4", 1).startswith("✗ right size, wrong sign")
    said = type_answer(page, "17", 1)
    assert said == "✗ The step: df/dy = df/dn1 × d/dy (x + y) = (-4) × 1 = -4"
    assert page.locator("#equation .question input").nth(1).input_value() == ""
    assert page.text_content("#score") == "Score: 0 right of 2 answered"
    assert problems == []


def test_the_progress_names_the_weakest_kind_and_jumps_to_its_step(browser, tmp_path):
    w = lesson_of("(x + y) * z", ("x=-2", "y=5", "z=-4"))
    page, problems = open_quiz(browser, w.save_html(tmp_path / "progress.html"))
    assert page.is_hidden("#quiz-progress")
    asked = questions(w, steps=True, times="×")
    right = {q.prompt.replace(" = ?", " ="): repr(q.answer) for q in asked}
    first = page.evaluate("window.chainruleWalkthrough.firstBackward")
    type_answer(page, "1")  # df/df, at the start of the backward pass
    page.click("#next")
    labels = page.locator("#equation .question .prompt").all_text_contents()
    for nth, label in enumerate(labels):
        # every local derivative right, the first contribution wrong twice
        answer = "99" if label == "df/df × d/dn1 (n1 * z) =" else right[label]
        type_answer(page, answer, nth)
        if answer == "99":
            type_answer(page, "98", nth)
    page.click("#next")
    labels = page.locator("#equation .question .prompt").all_text_contents()
    for nth, label in enumerate(labels):
        type_answer(page, right[label], nth)
    kinds = page.locator("#quiz-progress li").all_text_contents()
    assert kinds == ["local derivatives: 4 of 4", "contributions: 3 of 4",
                     "gradients (sums): 5 of 5"]
    assert "The contributions need the most work" in page.text_content("#quiz-progress .revisit")
    revisit = page.locator("#quiz-revisit")
    assert revisit.text_content() == f"Revisit step {first + 1}"
    revisit.focus()
    page.keyboard.press("Enter")  # keyboard alone
    assert page.get_attribute("body", "data-step") == str(first)
    assert page.get_attribute("body", "data-phase") == "backward"
    assert problems == []


@pytest.mark.parametrize("width", [1280, 390])
def test_the_quiz_fits_a_phone_and_every_text_is_readable(browser, tmp_path, width):
    from test_walkthrough_browser import CONTRAST

    w = lesson_of("a*a + a", ("a=3",))
    for scheme in ("light", "dark"):
        page = browser.new_page(viewport={"width": width, "height": 844}, color_scheme=scheme)
        page.goto(w.save_html(tmp_path / "fit.html").resolve().as_uri())
        page.click("#quiz-toggle")
        type_answer(page, "1")
        page.click("#next")
        type_answer(page, "5")  # a mistake, its hint
        type_answer(page, "4", 1)
        page.locator("#equation .question button", has_text="Hint").nth(2).click()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        low = [(text, round(ratio, 2)) for text, ratio in page.evaluate(CONTRAST) if ratio < 4.5]
        assert low == [], scheme
        page.close()
