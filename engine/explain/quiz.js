// The quiz mode of the walkthrough page, appended to walkthrough.js in the page's one script
// and plugged in through window.chainruleWalkthrough.useQuiz. Every word a verdict says comes
// from Python (chainrule.engine.explain.quiz and .feedback) as data.
(function () {
  "use strict";
  var page = window.chainruleWalkthrough;
  var data = page.data, make = page.make, show = page.show;
  var el = function (id) { return document.getElementById(id); };
  var next = el("next");

  // The questions come from Python (chainrule.engine.explain.quiz), grouped by the step they
  // belong to: -1 is the start of the backward pass.
  var quiz = { on: false, level: "steps", answers: {}, right: 0, answered: 0 };
  function questionsAt(step) {
    if (step.phase !== "seed" && step.phase !== "backward") { return []; }
    var at = step.phase === "seed" ? -1 : step.index;
    return data.quiz[quiz.level].filter(function (q) { return q.step === at; });
  }
  function stepSolved(step) {
    return questionsAt(step).every(function (q) { return quiz.answers[q.id]; });
  }
  // Whether the backward numbers of a step may be shown: always, outside quiz mode.
  function numbersShown(step) { return !quiz.on || stepSolved(step); }

  function parseAnswer(text) {
    text = text.trim().replace(/\u2212/g, "-");
    if (!/^[-+0-9.eE\/ ]+$/.test(text)) { return null; }
    var parts = text.split("/");
    var value = parts.length === 2 ? Number(parts[0]) / Number(parts[1])
      : parts.length === 1 ? Number(text) : NaN;
    return isFinite(value) && text !== "" ? value : null;
  }
  function isRight(answer, expected) {
    return Math.abs(answer - expected) <= data.quizTolerance.absolute +
      data.quizTolerance.relative * Math.abs(expected);
  }

  function renderScore() {
    el("score").textContent = quiz.on
      ? "Score: " + quiz.right + " right of " + quiz.answered + " answered" : "";
  }

  function questionRow(q, onSolved) {
    var row = make("div", null, "question");
    var id = "q-" + q.id;
    var label = make("label", q.prompt.replace(/ = \?$/, " ="), "prompt");
    label.htmlFor = id;
    var input = make("input");
    input.id = id; input.type = "text"; input.inputMode = "decimal"; input.autocomplete = "off";
    input.setAttribute("aria-describedby", id + "-feedback");
    var check = make("button", "Check"); check.type = "button";
    var hint = make("button", "Hint"); hint.type = "button";
    var feedback = make("div", "", "feedback"); feedback.id = id + "-feedback";
    feedback.setAttribute("aria-live", "polite");
    var hints = 0;
    var done = quiz.answers[q.id];
    function finish(status) {
      if (!quiz.answers[q.id]) {
        quiz.answers[q.id] = status;
        quiz.answered += 1;
        if (status === "right") { quiz.right += 1; }
        renderScore();
      }
      input.disabled = true; check.disabled = true; hint.disabled = true;
      onSolved();
      // Keyboard users go on where they were: the next open question, else the Next button.
      var open = document.querySelector("#equation .question input:not([disabled])");
      (open || next).focus({ preventScroll: true });
    }
    function submit() {
      var answer = parseAnswer(input.value);
      if (answer === null) {
        feedback.className = "feedback wrong";
        feedback.textContent = "Type a number, such as -4, 0.25 or 1/4.";
      } else if (isRight(answer, q.answer)) {
        feedback.className = "feedback right";
        feedback.textContent = "✓ Right: " + q.answerText;
        finish("right");
      } else {
        feedback.className = "feedback wrong";
        feedback.textContent = "✗ Not " + input.value.trim() + ". Try again, or take a hint.";
      }
    }
    check.addEventListener("click", submit);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); submit(); }
    });
    hint.addEventListener("click", function () {
      hints += 1;
      feedback.className = "feedback hint";
      if (hints === 1) {
        feedback.textContent = "Hint: " + q.hint;
        hint.textContent = "Show the step";
      } else {
        feedback.textContent = "The step: " + q.worked;
        finish("shown");
      }
    });
    if (done) {
      input.disabled = true; check.disabled = true; hint.disabled = true;
      input.value = q.answerText;
      feedback.className = "feedback " + (done === "right" ? "right" : "hint");
      feedback.textContent = done === "right" ? "✓ Right: " + q.answerText : "The step: " + q.worked;
    }
    var controls = make("span", null, "answer");
    controls.appendChild(input); controls.appendChild(check); controls.appendChild(hint);
    row.appendChild(label); row.appendChild(controls); row.appendChild(feedback);
    return row;
  }

  function renderQuestions(eq, step) {
    var box = make("div", null, "quiz-box");
    box.appendChild(make("p", quiz.level === "steps"
      ? "Your turn: the local derivative of each input, then upstream × local."
      : "Your turn: the gradient of every node that is complete after this step.", "quiz-intro"));
    questionsAt(step).forEach(function (q) {
      box.appendChild(questionRow(q, function () {
        if (stepSolved(step)) { show(page.current(), true); }
      }));
    });
    eq.appendChild(box);
  }

  var toggle = el("quiz-toggle"), level = el("quiz-level");
  toggle.addEventListener("click", function () {
    quiz.on = !quiz.on;
    toggle.setAttribute("aria-pressed", String(quiz.on));
    toggle.textContent = quiz.on ? "Quiz: on" : "Quiz me";
    level.hidden = !quiz.on;
    document.body.classList.toggle("quiz", quiz.on);
    renderScore();
    // The quiz is about the backward pass: it starts at the output's own gradient.
    var current = page.current();
    show(quiz.on && current < data.forward.length ? data.forward.length : current, true);
  });
  level.addEventListener("change", function () { quiz.level = level.value; show(page.current(), true); });

  page.useQuiz({
    numbersShown: numbersShown,
    render: function (eq, step) {
      if (quiz.on && questionsAt(step).length > 0) { renderQuestions(eq, step); }
    },
    shown: function (keepFocus) {
      if (quiz.on && !keepFocus) {
        var first = document.querySelector("#equation .question input:not([disabled])");
        if (first && document.activeElement && document.activeElement.tagName !== "INPUT") {
          first.focus({ preventScroll: true });
        }
      }
    }
  });
})();
