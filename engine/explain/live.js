// The live layer: every leaf a field. An edit runs the walkthrough's program (compiled from the
// primitive table to JavaScript, chainruleProgram) and shows its numbers everywhere: the
// lesson's templates re-filled (chainruleWalkthrough.showNumbers), the values table's exact numbers, the nudge and
// descent by hand. A refusal is chainrule's own sentence (ChainruleError.message, the same
// text Python raises); the page then keeps the last valid numbers, greyed. Text goes in with
// textContent only, and every sentence comes from Python (engine/explain/nudge.py).
(function () {
  "use strict";
  var program = chainruleProgram;
  var data = JSON.parse(document.getElementById("walkthrough-data").textContent);
  var nodes = data.nodes, words = data.live;
  var root = data.root;
  var el = function (id) { return document.getElementById(id); };
  var leaves = Array.prototype.slice.call(program.leaves);
  var recorded = leaves.map(function (i) { return program.initial[i]; });
  var current = recorded.slice();
  var invalid = {};  // leaf position -> true while its field holds no number
  var shown = null;  // the last valid numbers (complete() below, once it is defined)
  var listeners = [];
  var SVG_NS = "http://www.w3.org/2000/svg";

  var make = window.chainruleWalkthrough.make, clear = window.chainruleWalkthrough.clear;

  // What f returns, as {value}, or chainrule's refusal, as {error}; any other error is a bug
  // and goes on.
  function attempt(f) {
    try {
      return { value: f() };
    } catch (error) {
      if (!(error instanceof ChainruleError)) { throw error; }
      return { error: error };
    }
  }

  // A sentence from Python (a template of holes, engine/explain/nudge.py) filled with values
  // the page computes, by fill.js as every template of the page.
  function say(sentence, values) {
    return fillTemplate(sentence, null, words.digits, values);
  }

  // A number as a person types it: digits, a point, an exponent; the minus sign too.
  function parseNumber(text) {
    var t = text.trim().replace(/\u2212/g, "-");
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) { return null; }
    var x = Number(t);
    return isFinite(x) ? x : null;
  }
  function notANumber(text) {
    return text.trim() ? say(words.field.invalid, { text: text.trim() }) : say(words.field.empty, {});
  }

  // -- the fields ---------------------------------------------------------------------------
  var fields = [];
  var box = el("leaf-fields");
  leaves.forEach(function (i, k) {
    var item = make("div", null, "leaf");
    var id = "leaf-" + i;
    var label = make("label", nodes[i].name);
    label.htmlFor = id;
    var input = make("input");
    input.id = id; input.type = "text"; input.inputMode = "decimal";
    input.autocomplete = "off"; input.spellcheck = false;
    input.dataset.node = String(i);
    input.value = pyRepr(recorded[k]);
    var why = make("span", "", "why");
    why.id = id + "-why";
    input.setAttribute("aria-describedby", why.id + " live-error");
    input.addEventListener("input", function () { typed(k); });
    item.appendChild(label); item.appendChild(input); item.appendChild(why);
    box.appendChild(item);
    fields.push({ input: input, why: why });
  });

  function typed(k) {
    var field = fields[k], x = parseNumber(field.input.value);
    if (x === null) {
      invalid[k] = true;
      field.input.setAttribute("aria-invalid", "true");
      field.why.textContent = notANumber(field.input.value);
      markEdited();
      return;
    }
    delete invalid[k];
    field.input.removeAttribute("aria-invalid");
    field.why.textContent = "";
    current[k] = x;
    losses = [];
    recompute();
    tell();
  }

  function edited() {
    return current.some(function (x, k) { return !Object.is(x, recorded[k]); });
  }
  function markEdited() {
    var changed = edited(), anyInvalid = Object.keys(invalid).length > 0;
    fields.forEach(function (f, k) {
      f.input.classList.toggle("edited", !Object.is(current[k], recorded[k]));
    });
    el("reset").disabled = !changed && !anyInvalid && !document.body.classList.contains("stale");
    el("live-status").textContent = changed ? say(words.field.edited, {}) : "";
    el("quiz-note").hidden = !(changed && document.body.classList.contains("quiz"));
    document.body.classList.toggle("edited", changed);
  }
  new MutationObserver(markEdited).observe(document.body,
                                           { attributes: true, attributeFilter: ["class"] });

  // -- recomputing --------------------------------------------------------------------------
  function refuse(message, where) {
    var banner = el(where || "live-error");
    banner.textContent = message;
    banner.hidden = false;
    if (!where) { document.body.classList.add("stale"); }
    markEdited();
  }
  function recompute() {
    var result = attempt(function () { return complete(program.run(current)); });
    if (result.error) { refuse(result.error.message); return false; }
    accept(result.value);
    return true;
  }

  // The numbers the lesson's templates read beyond the program's run (see lesson.Numbers):
  // the walkthrough's own gradient-descent update (lr=...) with the output after it, refused
  // with Python's sentence where Python would refuse it at these leaves; and each leaf's
  // finite-difference check, which only the summary shows: computed when it is shown (a
  // few forward passes per leaf, the slowest part of an edit on a large graph).
  function onSummary() { return document.body.dataset.phase === "summary"; }
  function addChecks(numbers) {
    if (numbers.numeric !== undefined) { return; }
    var checks = words.checks, n = checks.length;
    numbers.numeric = new Float64Array(n); numbers.left = new Float64Array(n);
    numbers.right = new Float64Array(n); numbers.passed = []; numbers.checkErrors = [];
    checks.forEach(function (i, c) {
      var result = program.check(numbers.values, i, numbers.grads);
      numbers.numeric[c] = result.numeric === null ? NaN : result.numeric;
      numbers.left[c] = result.left === null ? NaN : result.left;
      numbers.right[c] = result.right === null ? NaN : result.right;
      numbers.passed.push(result.passed);
      numbers.checkErrors.push(result.error);
    });
  }
  function complete(numbers) {
    if (onSummary()) { addChecks(numbers); }
    numbers.lr = data.lr === null ? NaN : data.lr;
    numbers.updated = new Float64Array(words.updates.length);
    numbers.lossAfter = NaN;
    if (data.lr !== null) {
      var values = Float64Array.from(numbers.values);
      words.updates.forEach(function (i, u) {
        var after = numbers.values[i] - data.lr * numbers.grads[i];
        if (!isFinite(after)) {
          throw new ChainruleError("NumericOverflowError", i, say(words.descent.overflow,
            { lr: data.lr, name: nodes[i].name, before: numbers.values[i],
              grad: numbers.grads[i], after: after }));
        }
        numbers.updated[u] = after;
        values[i] = after;
      });
      var after = attempt(function () { return program.forward(values); });
      if (after.error) {
        throw new ChainruleError(after.error.kind, after.error.node,
                                 say(words.descent.fails, { lr: data.lr, error: after.error.message }));
      }
      numbers.lossAfter = after.value;
    }
    return numbers;
  }

  function accept(numbers) {
    shown = numbers;
    document.body.classList.remove("stale");
    el("live-error").hidden = true;
    el("live-error").textContent = "";
    window.chainruleWalkthrough.showNumbers(numbers);  // marks the table's rows too
    paintLabels(numbers);
    nudge();
    descentReadout();
    markEdited();
  }

  // -- the edge labels -------------------------------------------------------------------
  // walkthrough.js paints the values and gradients of the pictures with the numbers it is
  // given; the edge labels (upstream × local = product) are drawn with the recorded numbers,
  // and take the live ones here. Contribution k is (operation node, input slot) in the
  // engine's backward order: nodes from the last, slots in order, constants skipped.
  var contributionOf = {};  // "node,slot" -> k
  (function () {
    var k = 0;
    for (var j = nodes.length - 1; j >= 0; j--) {
      if (nodes[j].kind !== "operation") { continue; }
      nodes[j].inputs.forEach(function (input, slot) {
        if (nodes[input].kind !== "constant") { contributionOf[j + "," + slot] = k++; }
      });
    }
  })();
  var SLOTS = ["x", "y"];  // the graph picture's names of a binary operation's edges

  function edgeText(target, slot, numbers) {
    var k = contributionOf[target + "," + slot];
    if (k === undefined || numbers.local[k] !== numbers.local[k]) { return null; }
    return shortNumber(numbers.grads[target]) + " × " + shortNumber(numbers.local[k]) + " = " +
      shortNumber(numbers.product[k]);
  }

  function paintLabels(numbers) {
    Array.prototype.forEach.call(document.querySelectorAll("#circuit .c-label"), function (label) {
      var parts = label.id.replace(/^c-l/, "").split("-");
      var text = edgeText(Number(parts[0]), Number(parts[1]), numbers);
      var t = label.querySelector("text");
      if (t && text !== null) { t.textContent = text; }
      if (text === null) { label.setAttribute("display", "none"); }
    });
    Array.prototype.forEach.call(document.querySelectorAll("#graph text.edge-label"), function (t) {
      var edge = t.parentNode, match = edge && edge.id.match(/^svg-e_n(\d+)_op(\d+)(?:_(\w))?$/);
      if (!match) { return; }
      var target = Number(match[2]), input = Number(match[1]);
      var slot = match[3] ? SLOTS.indexOf(match[3]) : nodes[target].inputs.indexOf(input);
      var text = edgeText(target, slot, numbers);
      t.textContent = text === null ? "" : text;
    });
  }
  // After each step the page shows: the summary's checks, computed when it first needs them,
  // and the edge labels.
  new MutationObserver(function () {
    if (!edited()) { return; }
    if (onSummary() && shown.numeric === undefined) {
      addChecks(shown);
      window.chainruleWalkthrough.showNumbers(shown);
    }
    paintLabels(shown);
  }).observe(document.body, { attributes: true, attributeFilter: ["data-step"] });

  // Full precision for tests and the curious: the row of node i carries its exact numbers.
  // An attribute is written only when its text changes (an edit leaves the numbers of the nodes
  // it does not reach as they were). walkthrough.js calls markRow as it writes a row: at once
  // for a row in view, before the next frame for the others of a long table.
  var exactOf = {};  // node -> {value, grad}: the attributes' text
  function markRow(i, tr, numbers) {
    var exact = exactOf[i] || (exactOf[i] = { value: null, grad: null });
    var value = pyRepr(numbers.values[i]), grad = pyRepr(numbers.grads[i]);
    if (value !== exact.value) { tr.setAttribute("data-value", value); exact.value = value; }
    if (grad !== exact.grad) { tr.setAttribute("data-grad", grad); exact.grad = grad; }
  }
  function markTable(numbers) {
    Array.prototype.forEach.call(document.querySelectorAll("#grad-table tbody tr"), function (tr) {
      markRow(Number(tr.dataset.node), tr, numbers);
    });
  }
  window.chainruleWalkthrough.watchRows(markRow);

  function reset() {
    current = recorded.slice();
    invalid = {};
    fields.forEach(function (f, k) {
      f.input.value = pyRepr(recorded[k]);
      f.input.removeAttribute("aria-invalid");
      f.why.textContent = "";
    });
    losses = [];
    el("descent-error").hidden = true;
    clear(el("descent-steps"));
    recompute();
    drawCurve();
    tell();
  }
  el("reset").addEventListener("click", reset);
  el("quiz-reset").addEventListener("click", function () { reset(); el("quiz-toggle").focus(); });

  // -- the nudge ----------------------------------------------------------------------------
  var nudgeLeaf = el("nudge-leaf");
  var rootName = nodes[root].name;
  el("nudge-title").textContent = say(words.nudge.heading, {});
  leaves.forEach(function (i, k) {
    var option = make("option", nodes[i].name);
    option.value = String(k);
    nudgeLeaf.appendChild(option);
  });
  nudgeLeaf.addEventListener("change", nudge);
  if (!leaves.length) { el("nudge-panel").hidden = true; }

  // f at the last valid numbers with leaf k moved by h; a refusal's sentence when it fails.
  function nudged(k, h) {
    var values = Float64Array.from(shown.values);
    values[leaves[k]] = current[k] + h;
    var result = attempt(function () { return program.forward(values); });
    return result.error ? { reason: result.error.message } : result;
  }

  function nudge() {
    if (!leaves.length) { return; }
    var k = Number(nudgeLeaf.value || 0), i = leaves[k];
    var names = { leaf: nodes[i].name, output: rootName };
    el("nudge-quotient").textContent = say(words.nudge.quotient, names);
    var f = shown.values[root], body = document.querySelector("#nudge-table tbody");
    clear(body);
    words.nudgeSteps.forEach(function (h) {
      var tr = make("tr"), moved = nudged(k, h);
      tr.appendChild(make("td", formatNumber(h, words.digits)));
      var cell = make("td", moved.reason === undefined
        ? formatNumber((moved.value - f) / h, words.digits)
        : say(words.nudge.undefined, { leaf: names.leaf, output: names.output, h: h,
                                      reason: moved.reason }));
      if (moved.reason === undefined) { cell.dataset.value = pyRepr((moved.value - f) / h); }
      tr.appendChild(cell);
      body.appendChild(tr);
    });
    var g = shown.grads[i], h = words.predictedNudge;
    el("nudge-gradient").textContent = say(words.nudge.gradient,
      { leaf: names.leaf, output: names.output, gradient: g });
    el("nudge-predicted").textContent = say(words.nudge.predicted,
      { leaf: names.leaf, output: names.output, h: h, gradient: g, change: g * h });
    var moved = nudged(k, h);
    el("nudge-measured").textContent = moved.reason === undefined
      ? say(words.nudge.measured, { actual: moved.value - f })
      : say(words.nudge.undefined, { leaf: names.leaf, output: names.output, h: h,
                                     reason: moved.reason });
  }

  // -- descent by hand ----------------------------------------------------------------------
  var order = words.parameters;  // Python's order of the updates
  var position = {};
  leaves.forEach(function (i, k) { position[i] = k; });
  var losses = [];  // the output before the first step, then after each step
  var lrField = el("lr");
  el("descent-title").textContent = say(words.descent.heading, { output: rootName });
  if (!order.length) { el("descent-panel").hidden = true; }
  lrField.value = data.lr === null ? words.defaultLr : pyRepr(data.lr);

  function descentError(message) {
    lrField.setAttribute("aria-invalid", "true");
    refuse(message, "descent-error");
  }

  function step() {
    var lr = parseNumber(lrField.value);
    if (lr === null) { descentError(notANumber(lrField.value)); return; }
    if (document.body.classList.contains("stale")) {
      descentError(el("live-error").textContent);
      return;
    }
    var next = current.slice(), values = Float64Array.from(shown.values);
    for (var p = 0; p < order.length; p++) {
      var i = order[p], before = current[position[i]], grad = shown.grads[i];
      var after = before - lr * grad;
      if (!isFinite(after)) {
        descentError(say(words.descent.overflow, { lr: lr, name: nodes[i].name, before: before,
                                                   grad: grad, after: after }));
        return;
      }
      next[position[i]] = after;
      values[i] = after;
    }
    // The forward pass after the step, as Python runs it, then the whole lesson there.
    var moved = attempt(function () { return program.forward(values); });
    if (moved.error) {
      descentError(say(words.descent.fails, { lr: lr, error: moved.error.message }));
      return;
    }
    var loss = moved.value;
    var result = attempt(function () { return complete(program.run(next)); });
    if (result.error) { descentError(result.error.message); return; }
    var numbers = result.value;
    lrField.removeAttribute("aria-invalid");
    el("descent-error").hidden = true;
    var lossBefore = shown.values[root];
    if (!losses.length) { losses.push(lossBefore); }
    losses.push(loss);
    current = next;
    fields.forEach(function (f, k) {
      f.input.value = pyRepr(current[k]);
      f.input.removeAttribute("aria-invalid");
      f.why.textContent = "";
    });
    invalid = {};
    var item = make("li", say(words.descent.step, { count: losses.length - 1,
      output: rootName, before: lossBefore, after: loss, change: loss - lossBefore }));
    var list = el("descent-steps");
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;  // the newest step in view, the page left where it is
    accept(numbers);
    drawCurve();
    tell();
  }
  el("descend").addEventListener("click", step);
  lrField.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); step(); }
  });
  lrField.addEventListener("input", function () {
    lrField.removeAttribute("aria-invalid");
    el("descent-error").hidden = true;
  });

  function descentReadout() {
    if (!losses.length) { clear(el("descent-steps")); }
  }

  // The output after each step, drawn as a small line chart (no library: a few SVG elements).
  function drawCurve() {
    var holder = el("loss-curve");
    clear(holder);
    if (losses.length < 2) { return; }
    var width = 320, height = 120, left = 44, bottom = 22, top = 8, right = 8;
    var low = Math.min.apply(null, losses), high = Math.max.apply(null, losses);
    if (high === low) { high = low + 1; }
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", say(words.descent.curve,
      { output: rootName, count: losses.length - 1, first: losses[0],
        last: losses[losses.length - 1] }));
    function x(k) { return left + (width - left - right) * k / (losses.length - 1); }
    function y(v) { return top + (height - top - bottom) * (high - v) / (high - low); }
    function add(tag, attributes, text) {
      var node = document.createElementNS(SVG_NS, tag);
      Object.keys(attributes).forEach(function (a) { node.setAttribute(a, String(attributes[a])); });
      if (text !== undefined) { node.textContent = text; }
      svg.appendChild(node);
      return node;
    }
    add("line", { x1: left, y1: top, x2: left, y2: height - bottom, "class": "axis" });
    add("line", { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom,
                  "class": "axis" });
    add("text", { x: left - 4, y: top + 8, "text-anchor": "end" }, shortNumber(high));
    add("text", { x: left - 4, y: height - bottom, "text-anchor": "end" }, shortNumber(low));
    add("text", { x: (left + width - right) / 2, y: height - 6, "text-anchor": "middle" },
        say(words.descent.axis, { output: rootName }));
    add("polyline", { points: losses.map(function (v, k) { return x(k) + "," + y(v); }).join(" "),
                      "class": "curve" });
    losses.forEach(function (v, k) { add("circle", { cx: x(k), cy: y(v), r: 2.5, "class": "point" }); });
    holder.appendChild(svg);
  }

  // -- for the Jupyter widget (and the tests): the leaves by name ----------------------------
  function byName() {
    var map = {};
    leaves.forEach(function (i, k) { map[nodes[i].name] = current[k]; });
    return map;
  }
  function tell() {
    var map = byName();
    listeners.forEach(function (listener) { listener(map); });
  }
  window.chainruleLive = {
    leaves: byName,
    numbers: function () { return shown; },
    setLeaves: function (map) {
      var changed = false;
      leaves.forEach(function (i, k) {
        var name = nodes[i].name;
        if (Object.prototype.hasOwnProperty.call(map, name) && !Object.is(map[name], current[k])) {
          current[k] = map[name];
          fields[k].input.value = pyRepr(map[name]);
          fields[k].input.removeAttribute("aria-invalid");
          fields[k].why.textContent = "";
          delete invalid[k];
          changed = true;
        }
      });
      if (changed) { losses = []; recompute(); }
    },
    subscribe: function (listener) {
      listeners.push(listener);
      return function () { listeners = listeners.filter(function (l) { return l !== listener; }); };
    },
    reset: reset,
  };
  shown = complete(program.run(current));
  markTable(shown);
  nudge();
  markEdited();
})();
