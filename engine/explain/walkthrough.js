// The interactive walkthrough. All data comes from the JSON block; every piece of text is put
// into the page with textContent, never parsed as HTML, so labels can hold any characters.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("walkthrough-data").textContent);
  var nodes = data.nodes;

  var steps = [];
  data.forward.forEach(function (s, i) { steps.push({ phase: "forward", index: i, node: s.node }); });
  steps.push({ phase: "seed", node: data.root });
  data.backward.forEach(function (s, i) { steps.push({ phase: "backward", index: i, node: s.node }); });
  steps.push({ phase: "summary", node: null });
  var firstBackward = data.forward.length + 1;

  var el = function (id) { return document.getElementById(id); };
  var prev = el("prev"), next = el("next"), slider = el("slider"), counter = el("counter");
  slider.max = String(steps.length - 1);

  function make(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  // Scroll a panel (not the page) so that target is in view: centred if it was outside.
  function keepVisible(container, target) {
    if (!container || !target) { return; }
    var box = container.getBoundingClientRect(), r = target.getBoundingClientRect();
    if (r.top < box.top || r.bottom > box.bottom) {
      container.scrollTop += (r.top + r.bottom - box.top - box.bottom) / 2;
    }
    if (r.left < box.left || r.right > box.right) {
      container.scrollLeft += (r.left + r.right - box.left - box.right) / 2;
    }
  }

  // -- the table of values and gradients ------------------------------------------------------
  var rows = [];
  var tbody = document.querySelector("#grad-table tbody");
  nodes.forEach(function (n, i) {
    if (n.kind === "constant") { return; }
    var tr = make("tr");
    tr.id = "row" + i;
    tr.dataset.node = String(i);
    tr.appendChild(make("td", n.name, "name"));
    tr.appendChild(make("td", "", "value"));
    tr.appendChild(make("td", "", "grad"));
    tr.appendChild(make("td", "", "status"));
    tbody.appendChild(tr);
    rows[i] = tr;
  });

  // The state after step k: which values are known and every gradient's running sum.
  function stateAt(k) {
    var step = steps[k];
    var known = nodes.map(function (n) { return n.kind !== "operation"; });
    var computed = step.phase === "forward" ? step.index : data.forward.length - 1;
    for (var f = 0; f <= computed; f++) { known[data.forward[f].node] = true; }
    var grads = nodes.map(function () { return null; });
    var pending = null;
    if (step.phase !== "forward") {
      // A gradient is pending while some operation that uses the node (once per use) has not
      // handed back its contribution yet.
      var uses = nodes.map(function () { return 0; });
      nodes.forEach(function (n) { n.inputs.forEach(function (i) { uses[i] += 1; }); });
      grads[data.root] = { text: data.seed.gradientText, value: data.seed.gradient };
      var last = step.phase === "backward" ? step.index
        : step.phase === "summary" ? data.backward.length - 1 : -1;
      for (var b = 0; b <= last; b++) {
        var bs = data.backward[b];
        nodes[bs.node].inputs.forEach(function (i) { uses[i] -= 1; });
        bs.contributions.forEach(function (c) {
          if (c.after !== null) { grads[c.input] = { text: c.afterText, value: c.after }; }
        });
      }
      pending = [];
      uses.forEach(function (count, i) {
        if (count > 0 && nodes[i].kind !== "constant") { pending.push(i); }
      });
    }
    return { known: known, grads: grads, pending: pending };
  }

  function statusOf(i, state, step) {
    if (step.phase === "forward") { return state.known[i] ? "known" : "not computed yet"; }
    if (i === step.node && step.phase !== "summary") { return "current"; }
    if (state.pending.indexOf(i) >= 0) {
      return state.grads[i] === null ? "waiting" : "partial sum";
    }
    return "final";
  }

  function renderTable(k, state) {
    var step = steps[k];
    var inputs = step.node === null ? [] : nodes[step.node].inputs;
    rows.forEach(function (tr, i) {
      if (!tr) { return; }
      var n = nodes[i];
      tr.querySelector(".value").textContent = state.known[i] ? n.valueText : "…";
      var gradCell = tr.querySelector(".grad");
      var g = state.grads[i];
      if (step.phase === "forward") { gradCell.textContent = ""; delete gradCell.dataset.value; }
      else if (g === null) {
        var status0 = state.pending.indexOf(i) >= 0 ? "—" : "0.0";
        gradCell.textContent = status0;
        if (status0 === "0.0") { gradCell.dataset.value = "0"; } else { delete gradCell.dataset.value; }
      } else { gradCell.textContent = g.text; gradCell.dataset.value = String(g.value); }
      var status = statusOf(i, state, step);
      tr.querySelector(".status").textContent = status;
      tr.className = status === "current" || (step.phase === "forward" && i === step.node) ? "current"
        : inputs.indexOf(i) >= 0 ? "source"
        : status === "final" ? "done" : status === "partial sum" ? "partial" : "";
    });
    keepVisible(document.querySelector("#table-panel .scroll"), rows[step.node]);
  }

  // -- the graph picture --------------------------------------------------------------------
  // Scale the picture to the panel's width, but never beyond 1.6 times graphviz's own size,
  // nor below 0.6 times it (a wide network scrolls instead of becoming unreadable).
  var picture = document.querySelector("#graph svg");
  var natural = picture ? 4 / 3 * parseFloat(picture.getAttribute("width")) : 0;  // pt to px
  if (natural) {
    picture.style.maxWidth = (1.6 * natural) + "px";
    picture.style.minWidth = (0.6 * natural) + "px";
  }
  var marked = [];
  function highlight(step) {
    marked.forEach(function (m) { m.classList.remove("current", "source", "active"); });
    marked = [];
    if (step.node === null) { return; }
    function mark(id, cls) {
      var g = document.getElementById(id);
      if (g) { g.classList.add(cls); marked.push(g); }
    }
    mark("n" + step.node, "current");
    mark("op" + step.node, "current");
    nodes[step.node].inputs.forEach(function (i) {
      mark("n" + i, "source");
      // The edges from this input into the operation (one per use: a + a has two).
      ["_x", "_y", ""].forEach(function (slot) { mark("e_n" + i + "_op" + step.node + slot, "active"); });
    });
    mark("e_op" + step.node + "_n" + step.node, "active");
    keepVisible(el("graph"), document.getElementById("n" + step.node));
  }

  // -- the step panel -----------------------------------------------------------------------
  function line(parent, text, className) {
    parent.appendChild(make("div", text, "line" + (className ? " " + className : "")));
  }

  function renderStep(k, state) {
    var step = steps[k];
    var phase = el("phase"), title = el("step-title"), eq = el("equation");
    var pendingBox = el("pending"), summary = el("summary");
    clear(eq); clear(pendingBox); clear(summary);
    phase.className = step.phase === "forward" ? "forward" : "backward";
    if (step.phase === "forward") {
      var fs = data.forward[step.index];
      phase.textContent = "Forward pass · step " + (step.index + 1) + " of " + data.forward.length;
      title.textContent = "Compute " + nodes[fs.node].name;
      line(eq, fs.equation, "headline");
      line(eq, fs.explanation);
    } else if (step.phase === "seed") {
      phase.textContent = "Backward pass · start";
      title.textContent = "Start at the output " + nodes[data.root].name;
      line(eq, data.seed.equation, "headline");
      line(eq, data.seed.explanation);
    } else if (step.phase === "backward") {
      var bs = data.backward[step.index];
      phase.textContent = "Backward pass · step " + (step.index + 1) + " of " + data.backward.length;
      title.textContent = "Backpropagate through " + bs.name;
      line(eq, bs.operation, "headline");
      line(eq, bs.upstreamText, "headline");
      line(eq, bs.binding);
      if (bs.skippedText) { line(eq, bs.skippedText); }
      bs.contributions.forEach(function (c) {
        var card = make("div", null, "contribution" + (c.constant ? " constant" : ""));
        card.dataset.input = String(c.input);
        line(card, "→ " + c.inputName, "to");
        c.lines.forEach(function (l) { line(card, l.text, l.kind); });
        eq.appendChild(card);
      });
      if (state.pending.length) {
        pendingBox.textContent = "Still pending (more contributions to come): " +
          state.pending.map(function (i) { return nodes[i].name; }).join(", ");
      }
    } else {
      phase.textContent = "Summary";
      title.textContent = "All gradients, checked";
      line(eq, data.summaryText, "headline");
      renderSummary(summary);
    }
    counter.textContent = "step " + (k + 1) + " / " + steps.length;
  }

  function table(parent, headers, rowsData) {
    var t = make("table"), head = make("tr");
    headers.forEach(function (h) { head.appendChild(make("th", h)); });
    var thead = make("thead"); thead.appendChild(head); t.appendChild(thead);
    var body = make("tbody");
    rowsData.forEach(function (cells) {
      var tr = make("tr");
      cells.forEach(function (c) {
        var td = make("td", c.text, c.className);
        if (c.value !== undefined) { td.dataset.value = String(c.value); }
        if (c.title) { td.title = c.title; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    t.appendChild(body);
    parent.appendChild(t);
    return t;
  }

  function renderSummary(parent) {
    parent.appendChild(make("h3", "Finite-difference check (h = 1e-6 × max(1, |x|))"));
    var t = table(parent, ["leaf", "gradient", "numeric", "check"], data.checks.map(function (c) {
      return [
        { text: c.name }, { text: c.analyticText, value: c.analytic },
        { text: c.numericText }, { text: c.passed ? "✓ pass" : "✗ fail", className: c.passed ? "pass" : "fail", title: c.error || "" },
      ];
    }));
    t.id = "checks";
    if (data.lr !== null) {
      parent.appendChild(make("h3", "One gradient-descent step: w ← w − lr × grad, lr = " + data.lrText));
      var u = table(parent, ["parameter", "update", "new value"], data.updates.map(function (r) {
        return [{ text: r.name }, { text: r.equation }, { text: r.afterText, value: r.after }];
      }));
      u.id = "updates";
    }
  }

  // -- navigation ---------------------------------------------------------------------------
  var current = 0;
  function show(k) {
    current = Math.max(0, Math.min(steps.length - 1, k));
    var state = stateAt(current);
    renderStep(current, state);
    renderTable(current, state);
    highlight(steps[current]);
    slider.value = String(current);
    prev.disabled = current === 0;
    next.disabled = current === steps.length - 1;
    document.body.dataset.step = String(current);
    document.body.dataset.phase = steps[current].phase;
    document.body.dataset.node = steps[current].node === null ? "" : String(steps[current].node);
  }

  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (event) {
    if (event.target === slider || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: steps.length - 1 };
    if (Object.prototype.hasOwnProperty.call(moves, event.key)) {
      event.preventDefault();
      show(moves[event.key]);
    }
  });
  window.chainruleWalkthrough = { steps: steps, show: show, firstBackward: firstBackward };
  show(0);
})();
