// The quiz mode of the walkthrough page, appended to walkthrough.js in the page's one script
// and plugged in through window.chainruleWalkthrough.useQuiz. Every word a verdict says comes
// from Python (chainrule.engine.explain.quiz and .feedback) as data: each question carries
// its right answer's words, its recognised mistakes (number, kind, words) and its hints in
// order; this script only matches the typed number against them, with Python's tolerance.
// The quiz asks about the recorded numbers, which it reads from its own data.
(function () {
  "use strict";
  var page = window.chainruleWalkthrough;
  var data = page.data, make = page.make, show = page.show;
  var feedback = data.quizFeedback, tolerance = data.quizTolerance;
  var el = function (id) { return document.getElementById(id); };
  var next = el("next");

  // The questions come from Python, grouped by the step they belong to: -1 is the start of
  // the backward pass. answers[id]: "right" (first try), "later" (right on a later try),
  // "wrong" (every try used) or "shown" (the step was shown).
  var quiz = { on: false, level: "steps", answers: {}, right: 0, answered: 0, tries: {},
               hints: {}, said: {}, forwardOpen: true };
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
  // feedback.is_right, close_digits and verdict, on the data Python wrote.
  function isRight(answer, expected) {
    return isFinite(answer) &&
      Math.abs(answer - expected) <= tolerance.absolute + tolerance.relative * Math.abs(expected);
  }
  function closeDigits(answer, expected) {
    if (isRight(answer, expected) || !isFinite(answer) || expected === 0 ||
        (answer < 0) !== (expected < 0)) { return null; }
    var exponent = Math.floor(Math.log10(Math.abs(expected)));
    for (var digits = 3; digits >= 2; digits--) {
      if (Math.abs(answer - expected) < Math.pow(10, exponent - digits + 1)) { return digits; }
    }
    return null;
  }
  function judge(q, answer) {
    if (isRight(answer, q.answer)) { return { correct: true, kind: null, message: q.right }; }
    for (var i = 0; i < q.mistakes.length; i++) {
      if (isRight(answer, q.mistakes[i].value)) {
        return { correct: false, kind: q.mistakes[i].kind, message: q.mistakes[i].message };
      }
    }
    var digits = closeDigits(answer, q.answer);
    if (digits !== null) {
      return { correct: false, kind: "close", message: feedback.close
        .replace("{digits}", String(digits)).replace("{more}", String(digits + 1)) };
    }
    return { correct: false, kind: null, message: feedback.unrecognised };
  }

  function renderScore() {
    el("score").textContent = quiz.on
      ? "Score: " + quiz.right + " right of " + quiz.answered + " answered" : "";
    renderProgress();
  }

  // -- the learner's progress: the score per kind of question, and where to look again -------
  var progress = make("div", null, "quiz-progress");
  progress.id = "quiz-progress";
  progress.setAttribute("aria-live", "polite");
  el("step-panel").appendChild(progress);

  // The step of the walkthrough (an index into page.steps) a question belongs to.
  function stepOf(q) { return q.step === -1 ? page.firstBackward - 1 : page.firstBackward + q.step; }

  function renderProgress() {
    while (progress.firstChild) { progress.removeChild(progress.firstChild); }
    progress.hidden = !quiz.on || quiz.answered === 0;
    if (progress.hidden) { return; }
    var kinds = {}, order = [], seen = {};
    ["steps", "gradients"].forEach(function (level) {
      data.quiz[level].forEach(function (q) {
        var status = quiz.answers[q.id];
        if (!status || seen[q.id]) { return; }
        seen[q.id] = true;
        if (!kinds[q.kind]) { kinds[q.kind] = { right: 0, answered: 0, missed: null }; order.push(q.kind); }
        var k = kinds[q.kind];
        k.answered += 1;
        if (status === "right") { k.right += 1; } else if (k.missed === null) { k.missed = q; }
      });
    });
    order.sort(function (a, b) {
      return Object.keys(feedback.kinds).indexOf(a) - Object.keys(feedback.kinds).indexOf(b);
    });
    progress.appendChild(make("h3", "Your progress (right at the first try)"));
    var list = make("ul");
    var weakest = null;
    order.forEach(function (kind) {
      var k = kinds[kind];
      var item = make("li", feedback.kinds[kind] + ": " + k.right + " of " + k.answered);
      item.dataset.kind = kind;
      list.appendChild(item);
      if (k.missed && (weakest === null ||
          k.right / k.answered < kinds[weakest].right / kinds[weakest].answered)) { weakest = kind; }
    });
    progress.appendChild(list);
    if (weakest === null) { return; }
    var missed = kinds[weakest].missed;
    var target = stepOf(missed);
    var suggestion = make("p", "The " + feedback.kinds[weakest] + " need the most work: look " +
                          "again at the step where you missed " +
                          missed.prompt.replace(/ = \?$/, "") + ". ", "revisit");
    var go = make("button", "Revisit step " + (target + 1));
    go.type = "button";
    go.id = "quiz-revisit";
    go.dataset.step = String(target);
    go.addEventListener("click", function () { show(target); });
    suggestion.appendChild(go);
    progress.appendChild(suggestion);
  }

  // -- one question -------------------------------------------------------------------------
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
    var said = make("div", "", "feedback"); said.id = id + "-feedback";
    said.setAttribute("aria-live", "polite");
    var hints = make("div", null, "hints");
    var done = quiz.answers[q.id];
    var tries = quiz.tries[q.id] || 0;

    function showHints() {
      while (hints.firstChild) { hints.removeChild(hints.firstChild); }
      var shown = quiz.hints[q.id] || 0;
      for (var i = 0; i < shown; i++) { hints.appendChild(make("p", "Hint " + (i + 1) + ": " + q.hints[i])); }
      hint.textContent = shown < q.hints.length ? "Hint" : "Show the step";
    }
    function nextHint() {
      var shown = quiz.hints[q.id] || 0;
      if (shown < q.hints.length) { quiz.hints[q.id] = shown + 1; showHints(); return true; }
      return false;
    }
    function close(status) {
      input.disabled = true; check.disabled = true; hint.disabled = true;
      if (status === "right" || status === "later") { input.value = q.answerText; }
      else { input.value = ""; }  // the wrong answer does not stay next to the step
    }
    function finish(status) {
      quiz.said[q.id] = { className: said.className, text: said.textContent };
      if (!quiz.answers[q.id]) {
        quiz.answers[q.id] = status;
        quiz.answered += 1;
        if (status === "right" || status === "later") { quiz.right += 1; }
      }
      close(status);
      renderScore();
      onSolved();
      // Keyboard users go on where they were: the next open question, else the Next button.
      var open = document.querySelector("#equation .question input:not([disabled])");
      (open || next).focus({ preventScroll: true });
    }
    function showStep(status) {
      said.className = "feedback hint";
      said.textContent = "The step: " + q.worked;
      finish(status);
    }
    function submit() {
      var answer = parseAnswer(input.value);
      if (answer === null) {  // refused: it uses up no try
        said.className = "feedback wrong";
        said.textContent = "Type a number, such as -4, 0.25 or 1/4.";
        return;
      }
      var verdict = judge(q, answer);
      tries += 1;
      quiz.tries[q.id] = tries;
      if (verdict.correct) {
        said.className = "feedback right";
        said.textContent = "✓ " + verdict.message;
        finish(tries === 1 ? "right" : "later");
        return;
      }
      row.dataset.mistake = verdict.kind || "";
      if (tries >= feedback.tries) {
        said.className = "feedback wrong";
        // The last try: the mistake, if it is one, and the worked step (as the command says).
        said.textContent = "✗ " + (verdict.kind ? verdict.message + ". " : "") + "The step: " +
          q.worked;
        finish("wrong");
        return;
      }
      said.className = "feedback wrong";
      said.textContent = "✗ " + verdict.message + ". Try again" +
        (nextHint() ? ", with the hint below." : ".");
      input.select();
    }
    check.addEventListener("click", submit);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); submit(); }
    });
    hint.addEventListener("click", function () {
      if (!nextHint()) { showStep("shown"); }
    });
    showHints();
    if (done) {  // shown again (the step re-drawn, or revisited): as it was left
      close(done);
      said.className = quiz.said[q.id].className;
      said.textContent = quiz.said[q.id].text;
    }
    var controls = make("span", null, "answer");
    controls.appendChild(input); controls.appendChild(check); controls.appendChild(hint);
    row.appendChild(label); row.appendChild(controls); row.appendChild(said);
    row.appendChild(hints);
    return row;
  }

  // The forward pass in the names the questions use, so every name asked about is on screen.
  function forwardPass() {
    var box = make("details", null, "quiz-forward");
    box.open = quiz.forwardOpen;
    box.addEventListener("toggle", function () { quiz.forwardOpen = box.open; });
    box.appendChild(make("summary", "The forward pass, in the names the questions use"));
    var list = make("ul");
    feedback.definitions.forEach(function (line) { list.appendChild(make("li", line)); });
    box.appendChild(list);
    return box;
  }

  function renderQuestions(eq, step) {
    var box = make("div", null, "quiz-box");
    box.appendChild(make("p", quiz.level === "steps"
      ? "Your turn: the local derivative of each input, then upstream × local."
      : "Your turn: the gradient of every node that is complete after this step.", "quiz-intro"));
    box.appendChild(forwardPass());
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
  renderProgress();
  // For the tests: Python's verdicts and this script's must agree on every number.
  page.quizJudge = function (level, id, answer) {
    var q = data.quiz[level].filter(function (x) { return x.id === id; })[0];
    return judge(q, answer);
  };
})();
