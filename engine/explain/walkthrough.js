// The interactive walkthrough. All data comes from the JSON block; every piece of text is put
// into the page with textContent, never parsed as HTML, so labels can hold any characters.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("walkthrough-data").textContent);
  var nodes = data.nodes;

  // -- the numbers ----------------------------------------------------------------------------
  // Every sentence with numbers is a template (chainrule/engine/explain/template.py) filled
  // with fill.js from `numbers`: the recorded ones, or those showNumbers() is given.
  var NUMBER_ARRAYS = ["values", "grads", "local", "product", "before", "after", "updated",
                       "numeric", "left", "right"];
  function numbersOf(given, fallback) {
    var result = {};
    NUMBER_ARRAYS.forEach(function (name) {
      var source = given[name] !== undefined ? given[name] : fallback[name];
      // The program's arrays are used as they are (they hold NaN, never null, already).
      result[name] = source instanceof Float64Array ? source : Float64Array.from(source || [], pageNumber);
    });
    ["seed", "lr", "lossAfter"].forEach(function (name) {
      result[name] = pageNumber(given[name] !== undefined ? given[name] : fallback[name]);
    });
    result.passed = Array.from(given.passed !== undefined ? given.passed : fallback.passed || [],
                               Boolean);
    // The recorded numbers (a template's {"recorded": true}): the recorded leaves again (the
    // rest follows from them, up to the last bit of the browser's Math).
    result.recorded = given === data.numbers || (recorded !== undefined &&
      result.values.every(function (x, i) {
        return nodes[i].kind === "operation" || Object.is(x, recorded.values[i]);
      }));
    return result;
  }
  var recorded;
  recorded = numbersOf(data.numbers, {});
  var numbers = recorded;
  function T(template) { return fillTemplate(template, numbers, data.digits); }
  function valueText(i) { return formatNumber(numbers.values[i], data.digits); }
  function valueShort(i) { return shortNumber(numbers.values[i]); }
  // A gradient as the table and the pictures write it, formatted only when one of them does
  // (a state holds every running sum, most of which no one shows).
  function gradientOf(x) {
    return {
      value: x,
      get text() { return formatNumber(x, data.digits); },
      get short() { return shortNumber(x); }
    };
  }
  var SVG_NS = "http://www.w3.org/2000/svg";

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

  // Scroll a panel (not the page) so that target is in view: centred if it was outside. Only
  // vertically: scrolling sideways by itself would hide the names in the first column.
  function keepVisible(container, target, sideways) {
    if (!container || !target) { return; }
    var box = container.getBoundingClientRect(), r = target.getBoundingClientRect();
    if (r.top < box.top || r.bottom > box.bottom) {
      container.scrollTop += (r.top + r.bottom - box.top - box.bottom) / 2;
    }
    if (sideways && (r.left < box.left || r.right > box.right)) {
      container.scrollLeft += (r.left + r.right - box.left - box.right) / 2;
    }
  }

  // -- the quiz's seam ------------------------------------------------------------------------
  // The quiz (quiz.js, appended to this script) plugs in through chainruleWalkthrough.useQuiz:
  // it may hide a step's backward numbers until they are answered, puts its questions into the
  // step panel and moves the focus when a step is shown.
  var quiz = {
    numbersShown: function () { return true; },
    render: function () {},
    shown: function () {}
  };
  function numbersShown(step) { return quiz.numbersShown(step); }

  // -- the table of values and gradients ------------------------------------------------------
  var rows = [], cells = [], tableOrder = [];  // tableOrder: the nodes with a row, top down
  var tbody = document.querySelector("#grad-table tbody");
  nodes.forEach(function (n, i) {
    if (n.kind === "constant") { return; }
    var tr = make("tr");
    tr.id = "row" + i;
    tr.dataset.node = String(i);
    tr.appendChild(make("td", n.name, "name"));
    var row = { value: make("td", "", "value"), grad: make("td", "", "grad"),
                status: make("td", "", "status") };
    tr.appendChild(row.value); tr.appendChild(row.grad); tr.appendChild(row.status);
    tbody.appendChild(tr);
    rows[i] = tr;
    cells[i] = row;
    tableOrder.push(i);
  });

  // Writes that change nothing are skipped: after an edit most of the table keeps its status
  // and class, and every write would cost the browser a new style and layout of the row.
  function setText(node, text) { if (node.textContent !== text) { node.textContent = text; } }
  function setClass(node, name) { if (node.className !== name) { node.className = name; } }
  function setValueData(node, value) {
    if (value === null) { if (node.dataset.value !== undefined) { delete node.dataset.value; } }
    else if (node.dataset.value !== value) { node.dataset.value = value; }
  }

  // The state after step k: which values are known and every gradient's running sum.
  function stateAt(k) {
    var step = steps[k];
    var known = nodes.map(function (n) { return n.kind !== "operation"; });
    var computed = step.phase === "forward" ? step.index : data.forward.length - 1;
    for (var f = 0; f <= computed; f++) { known[data.forward[f].node] = true; }
    var grads = nodes.map(function () { return null; });
    var pending = null, waiting = nodes.map(function () { return false; });
    if (step.phase !== "forward") {
      // A gradient is pending while some operation that uses the node (once per use) has not
      // handed back its contribution yet.
      var uses = nodes.map(function () { return 0; });
      nodes.forEach(function (n) { n.inputs.forEach(function (i) { uses[i] += 1; }); });
      grads[data.root] = gradientOf(numbers.seed);
      var last = step.phase === "backward" ? step.index
        : step.phase === "summary" ? data.backward.length - 1 : -1;
      for (var b = 0; b <= last; b++) {
        var bs = data.backward[b];
        nodes[bs.node].inputs.forEach(function (i) { uses[i] -= 1; });
        bs.contributions.forEach(function (c) {
          if (c.k !== null && !isNaN(numbers.after[c.k])) { grads[c.input] = gradientOf(numbers.after[c.k]); }
        });
      }
      pending = [];
      uses.forEach(function (count, i) {
        if (count > 0 && nodes[i].kind !== "constant") { pending.push(i); waiting[i] = true; }
      });
    }
    return { known: known, grads: grads, pending: pending, waiting: waiting };
  }

  function statusOf(i, state, step) {
    if (step.phase === "forward") { return state.known[i] ? "known" : "not computed yet"; }
    if (i === step.node && step.phase !== "summary") { return "current"; }
    if (state.waiting[i]) {
      return state.grads[i] === null ? "waiting" : "partial sum";
    }
    return "final";
  }

  var rowWatchers = [];  // functions (i, tr, numbers) called whenever row i is written
  function fillRow(i, state, step, inputs) {
    var tr = rows[i], row = cells[i];
    rowWatchers.forEach(function (watcher) { watcher(i, tr, numbers); });
    setText(row.value, state.known[i] ? valueText(i) : "…");
    var gradCell = row.grad;
    var g = state.grads[i];
    if (step.phase === "forward") { setText(gradCell, ""); setValueData(gradCell, null); }
    else if (g === null) {
      var status0 = state.waiting[i] ? "—" : "0";
      setText(gradCell, status0);
      setValueData(gradCell, status0 === "0" ? "0" : null);
    } else { setText(gradCell, g.text); setValueData(gradCell, String(g.value)); }
    var status = statusOf(i, state, step);
    setText(row.status, status);
    setClass(tr, status === "current" || (step.phase === "forward" && i === step.node) ? "current"
      : inputs.indexOf(i) >= 0 ? "source"
      : status === "final" ? "done" : status === "partial sum" ? "partial" : "");
  }

  // A long table after an edit: the rows in view are written at once, the others over the next
  // frames, a few milliseconds of them before each is drawn (an edit then costs a few rows, not
  // thousands, and no frame waits for the rest). A short table is written at once, all of it.
  var DEFERRED_ROWS = 200, FRAME_BUDGET_MS = 4;
  var laterRows = null;
  function cancelLaterRows() {
    if (laterRows !== null) { cancelAnimationFrame(laterRows); laterRows = null; }
  }

  // The positions in tableOrder of the first and after the last row in view (in the table's
  // scrolling panel and in the window). Read before the update writes anything, so the layout
  // is still the one drawn and reading it costs nothing.
  function rowsInView() {
    var box = document.querySelector("#table-panel .scroll").getBoundingClientRect();
    var top = Math.max(box.top, 0), bottom = Math.min(box.bottom, window.innerHeight);
    function firstEndingBelow(y) {
      var low = 0, high = tableOrder.length;
      while (low < high) {
        var middle = (low + high) >> 1;
        if (rows[tableOrder[middle]].getBoundingClientRect().bottom > y) { high = middle; } else { low = middle + 1; }
      }
      return low;
    }
    if (bottom <= top) { return [0, 0]; }  // the panel is out of sight, or closed
    return [firstEndingBelow(top), Math.min(tableOrder.length, firstEndingBelow(bottom) + 1)];
  }

  // The table at step k. view: new numbers at the step already shown (showNumbers), with the
  // rows in view (rowsInView); the panel is then left where the learner scrolled it.
  function renderTable(k, state, view) {
    var step = steps[k];
    var inputs = step.node === null ? [] : nodes[step.node].inputs;
    cancelLaterRows();
    if (!view || tableOrder.length <= DEFERRED_ROWS) {
      tableOrder.forEach(function (i) { fillRow(i, state, step, inputs); });
    } else {
      var shown = tableOrder.slice(view[0], view[1]);
      shown.forEach(function (i) { fillRow(i, state, step, inputs); });
      var position = 0;
      var writeSome = function () {
        var until = performance.now() + FRAME_BUDGET_MS;
        for (; position < tableOrder.length && performance.now() < until; position++) {
          if (position < view[0] || position >= view[1]) { fillRow(tableOrder[position], state, step, inputs); }
        }
        laterRows = position < tableOrder.length ? requestAnimationFrame(writeSome) : null;
      };
      laterRows = requestAnimationFrame(writeSome);
    }
    if (!view) { keepVisible(document.querySelector("#table-panel .scroll"), rows[step.node], false); }
  }

  // -- the graph picture --------------------------------------------------------------------
  // Scale the picture to the panel's width, but never beyond 1.6 times graphviz's own size,
  // nor below 0.85 times it (a wide graph scrolls inside its panel instead of becoming
  // unreadable; the panel follows the current node).
  var picture = document.querySelector("#graph svg");
  // The picture's ids are prefixed (picture.py's PICTURE_ID_PREFIX), so that none of them can
  // stand in for one of the page's own elements.
  var part = function (id) { return document.getElementById("svg-" + id); };
  var natural = picture ? 4 / 3 * parseFloat(picture.getAttribute("width")) : 0;  // pt to px
  if (natural) {
    picture.style.maxWidth = (1.6 * natural) + "px";
    picture.style.minWidth = (0.85 * natural) + "px";
  }
  // Each value's box shows "data ..." and "grad ...": the script rewrites both as the steps go.
  var boxes = nodes.map(function (n, i) {
    var g = part("n" + i);
    if (!g) { return null; }
    var box = { group: g, data: null, grad: null };
    Array.prototype.forEach.call(g.querySelectorAll("text"), function (t) {
      if (t.textContent.indexOf("data ") === 0) { box.data = t; }
      if (t.textContent.indexOf("grad ") === 0) { box.grad = t; }
    });
    return box;
  });

  function paintGraph(k, state) {
    var step = steps[k];
    boxes.forEach(function (box, i) {
      if (!box) { return; }
      var known = state.known[i];
      box.group.classList.toggle("unknown", !known);
      if (box.data) { box.data.textContent = "data " + (known ? valueShort(i) : "?"); }
      var operation = part("op" + i);
      if (operation) { operation.classList.toggle("unknown", !known); }
      if (!box.grad) { return; }
      var text = "?", partial = false;
      if (step.phase !== "forward") {
        var g = state.grads[i], waiting = state.waiting[i];
        if (g !== null) { text = g.short + (waiting ? " …" : ""); partial = waiting; }
        else if (!waiting) { text = "0"; }
      }
      box.grad.textContent = "grad " + text;
      box.group.classList.toggle("partial", partial);
      box.group.classList.toggle("final", step.phase !== "forward" && text !== "?" && !partial);
    });
  }

  var edgeLabels = [];
  function labelEdges(step) {
    edgeLabels.forEach(function (t) { t.parentNode.removeChild(t); });
    edgeLabels = [];
    if (step.phase !== "backward" || !numbersShown(step)) { return; }
    data.backward[step.index].contributions.forEach(function (c) {
      if (!c.edgeText) { return; }
      var edge = part("e_n" + c.input + "_op" + step.node + "_" + c.slot) ||
        part("e_n" + c.input + "_op" + step.node);
      var path = edge && edge.querySelector("path");
      if (!path || !path.getTotalLength) { return; }
      var middle = path.getPointAtLength(path.getTotalLength() / 2);
      var text = document.createElementNS(SVG_NS, "text");
      text.setAttribute("x", String(middle.x));
      text.setAttribute("y", String(middle.y - 4));
      text.setAttribute("text-anchor", "middle");
      text.setAttribute("class", "edge-label");
      text.textContent = c.edgeText;
      edge.appendChild(text);
      // Two edges into one operation run close together, and a short edge is narrower than its
      // label: move the label up until it is clear of the other labels and of the nodes.
      var svg = edge.ownerSVGElement;
      var obstacles = edgeLabels.concat(svg ? Array.prototype.slice.call(svg.querySelectorAll("g.node")) : []);
      for (var tries = 0; tries < 8 && obstacles.some(function (other) {
        var a = text.getBBox(), b = other.getBBox();
        return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
      }); tries++) {
        text.setAttribute("y", String(Number(text.getAttribute("y")) - 12));
      }
      edgeLabels.push(text);
    });
  }

  var marked = [];
  function highlight(step) {
    marked.forEach(function (m) { m.classList.remove("current", "source", "active"); });
    marked = [];
    if (step.node === null) { return; }
    function mark(id, cls) {
      var g = part(id);
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
    // The operation sits between its inputs and its result: centring it shows all three.
    keepVisible(el("graph"), part("op" + step.node) || part("n" + step.node), true);
  }

  // -- the circuit ------------------------------------------------------------------------
  // Laid out in Python (chainrule.engine.explain.circuit): the script only writes each wire's
  // value and gradient, marks the step's gate, wires and edges, and shows the step's labels.
  var circuitBox = el("circuit"), circuitSvg = circuitBox.querySelector("svg");
  var graphBox = el("graph"), tools = el("picture-tools");
  var MIN_ZOOM = 10 / 11;  // the picture's text is 11 units high: never below 10 px
  var zoom = 1, fitting = true;
  function fitZoom() {
    var room = circuitBox.clientWidth - 2;
    return Math.max(MIN_ZOOM, Math.min(1.5, room / data.circuit.width));
  }
  function setZoom(z, fit) {
    var box = circuitBox.getBoundingClientRect();
    var cx = circuitBox.scrollLeft + box.width / 2, cy = circuitBox.scrollTop + box.height / 2;
    var before = zoom;
    zoom = Math.max(MIN_ZOOM, Math.min(3, z));
    fitting = !!fit;
    circuitSvg.style.width = (data.circuit.width * zoom) + "px";
    circuitSvg.style.height = (data.circuit.height * zoom) + "px";
    circuitBox.scrollLeft = cx * zoom / before - box.width / 2;
    circuitBox.scrollTop = cy * zoom / before - box.height / 2;
    circuitBox.dataset.zoom = String(zoom);
  }
  function showView(circuitView) {
    circuitBox.hidden = !circuitView;
    el("circuit-key").hidden = !circuitView;
    graphBox.hidden = circuitView;
    el("view-circuit").setAttribute("aria-pressed", String(circuitView));
    el("view-graph").setAttribute("aria-pressed", String(!circuitView));
    ["zoom-out", "zoom-fit", "zoom-in", "follow"].forEach(function (id) { el(id).disabled = !circuitView; });
  }
  if (circuitSvg) {
    tools.hidden = false;
    el("view-graph").hidden = !data.circuit.graph;
    el("view-circuit").hidden = !data.circuit.graph;
    showView(true);
    var key = el("circuit-key");
    key.appendChild(make("span", "Above each wire: its name and value; below: its gradient " +
      "once known (“+ …” while more contributions are to come)."));
    if (data.circuit.legend.length) {  // folded away: a phone shows the steps first
      var names = make("details", null, "short-names");
      names.appendChild(make("summary", "Short names: the superscript is the layer, the " +
        "subscripts the neuron and its input"));
      names.appendChild(make("span", data.circuit.legend.join(", ") + "."));
      key.appendChild(names);
    }
    setZoom(fitZoom(), true);
    el("view-circuit").addEventListener("click", function () { showView(true); });
    el("view-graph").addEventListener("click", function () { showView(false); });
    el("zoom-in").addEventListener("click", function () { setZoom(zoom * 1.25); });
    el("zoom-out").addEventListener("click", function () { setZoom(zoom / 1.25); });
    el("zoom-fit").addEventListener("click", function () { setZoom(fitZoom(), true); });
    window.addEventListener("resize", function () { if (fitting) { setZoom(fitZoom(), true); } });
    circuitBox.addEventListener("keydown", function (event) {
      var keys = { "+": 1.25, "=": 1.25, "-": 0.8, "−": 0.8 };
      var pans = { ArrowLeft: [-60, 0], ArrowRight: [60, 0], ArrowUp: [0, -40], ArrowDown: [0, 40] };
      if (keys[event.key]) { event.preventDefault(); setZoom(zoom * keys[event.key]); }
      else if (event.key === "0") { event.preventDefault(); setZoom(fitZoom(), true); }
      else if (pans[event.key]) {  // at once, not the browser's animated scroll
        event.preventDefault();
        circuitBox.scrollLeft += pans[event.key][0];
        circuitBox.scrollTop += pans[event.key][1];
      }
    });
    // Drag to pan.
    var drag = null;
    circuitBox.addEventListener("pointerdown", function (event) {
      drag = { x: event.clientX, y: event.clientY, left: circuitBox.scrollLeft, top: circuitBox.scrollTop };
    });
    window.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      circuitBox.scrollLeft = drag.left - (event.clientX - drag.x);
      circuitBox.scrollTop = drag.top - (event.clientY - drag.y);
    });
    window.addEventListener("pointerup", function () { drag = null; });
  } else {
    circuitBox.hidden = true;
    el("circuit-key").hidden = true;
  }

  function circuitGrad(step, state, i) {
    if (step.phase === "forward") { return ""; }
    var g = state.grads[i], waiting = state.waiting[i];
    if (g === null) { return waiting ? "" : "0"; }
    return g.short + (waiting ? " + …" : "");
  }

  var circuitMarked = [];
  function paintCircuit(k, state, sameStep) {
    if (!circuitSvg) { return; }
    var step = steps[k];
    nodes.forEach(function (n, i) {
      var value = document.getElementById("c-v" + i);
      if (!value) { return; }
      var known = state.known[i];
      value.textContent = n.kind === "constant" ? n.name
        : n.pictureName + " = " + (known ? valueShort(i) : "?");
      var grad = document.getElementById("c-g" + i);
      if (grad) { grad.textContent = circuitGrad(step, state, i); }
      el("c-w" + i).classList.toggle("unknown", !known);
      var gate = document.getElementById("c-op" + i);
      if (gate) { gate.classList.toggle("unknown", !known); }
    });
    circuitMarked.forEach(function (m) { m.classList.remove("current", "source", "active"); });
    circuitMarked = [];
    Array.prototype.forEach.call(circuitSvg.querySelectorAll(".c-label"), function (l) {
      l.setAttribute("display", "none");
    });
    if (step.node === null) { return; }
    var focus = [];
    function mark(element, cls) {
      if (element) { element.classList.add(cls); circuitMarked.push(element); focus.push(element); }
    }
    mark(document.getElementById("c-w" + step.node), "current");
    if (step.phase !== "seed") {
      mark(document.getElementById("c-op" + step.node), "current");
      nodes[step.node].inputs.forEach(function (i) { mark(document.getElementById("c-w" + i), "source"); });
      Array.prototype.forEach.call(circuitSvg.querySelectorAll('.c-edge[data-target="' + step.node + '"]'),
        function (e) { mark(e, "active"); });
    }
    if (step.phase === "backward" && numbersShown(step)) {
      Array.prototype.forEach.call(circuitSvg.querySelectorAll('.c-label[data-target="' + step.node + '"]'),
        function (l) { l.removeAttribute("display"); focus.push(l); });
    }
    if (el("follow").checked && !circuitBox.hidden && !sameStep) { follow(focus); }
  }

  // Scroll the circuit so that the step's gate, its wires and its labels are in view.
  function follow(elements) {
    var box = circuitBox.getBoundingClientRect();
    var r = null;
    elements.forEach(function (e) {
      var b = e.getBoundingClientRect();
      r = r === null ? { left: b.left, top: b.top, right: b.right, bottom: b.bottom }
        : { left: Math.min(r.left, b.left), top: Math.min(r.top, b.top),
            right: Math.max(r.right, b.right), bottom: Math.max(r.bottom, b.bottom) };
    });
    if (r === null) { return; }
    var inner = { left: box.left + circuitBox.clientLeft, top: box.top + circuitBox.clientTop };
    inner.right = inner.left + circuitBox.clientWidth;
    inner.bottom = inner.top + circuitBox.clientHeight;
    if (r.left < inner.left || r.right > inner.right) {
      circuitBox.scrollLeft += r.right - r.left > inner.right - inner.left
        ? r.right - inner.right + 8  // wider than the view: the gate, at the right, comes first
        : (r.left + r.right - inner.left - inner.right) / 2;
    }
    if (r.top < inner.top || r.bottom > inner.bottom) {
      circuitBox.scrollTop += (r.top + r.bottom - inner.top - inner.bottom) / 2;
    }
  }

  // -- the step panel -----------------------------------------------------------------------
  function line(parent, text, className) {
    parent.appendChild(make("div", text, "line" + (className ? " " + className : "")));
  }

  function contributionCards(eq, bs) {
    bs.contributions.forEach(function (c) {
      var card = make("div", null, "contribution" + (c.constant ? " constant" : ""));
      card.dataset.input = String(c.input);
      line(card, "→ " + c.inputName, "to");
      c.lines.forEach(function (l) {
        var text = T(l.text);
        if (text) { line(card, text, l.kind); }  // a zero upstream empties some lines
      });
      eq.appendChild(card);
    });
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
      line(eq, T(fs.equation), "headline");
      line(eq, T(fs.explanation));
    } else if (step.phase === "seed") {
      phase.textContent = "Backward pass · start";
      title.textContent = "Start at the output " + nodes[data.root].name;
      quiz.render(eq, step);
      if (numbersShown(step)) {
        line(eq, T(data.seed.equation), "headline");
        line(eq, data.seed.explanation);
      }
    } else if (step.phase === "backward") {
      var bs = data.backward[step.index];
      phase.textContent = "Backward pass · step " + (step.index + 1) + " of " + data.backward.length;
      title.textContent = "Backpropagate through " + bs.name;
      line(eq, T(bs.operation), "headline");
      line(eq, T(bs.upstreamText), "headline");
      var skipped = T(bs.skippedText), rule = bs.rule === null ? "" : T(bs.rule);
      if (skipped) { line(eq, skipped); }
      if (rule) { line(eq, rule, "rule"); }
      quiz.render(eq, step);
      if (numbersShown(step)) {
        contributionCards(eq, bs);
        bs.notes.forEach(function (n) { line(eq, T(n), "shortcut"); });
        data.layers.forEach(function (view) {
          if (view.step === step.index) { layerBlock(eq, view); }
        });
      }
      if (state.pending.length && numbersShown(step)) {
        pendingBox.textContent = "Still pending (more contributions to come): " +
          state.pending.map(function (i) { return nodes[i].name; }).join(", ");
      }
    } else {
      phase.textContent = "Summary";
      title.textContent = "All gradients, checked";
      line(eq, T(data.summaryText), "headline");
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
    var wrap = make("div", null, "wide");
    wrap.appendChild(t);
    parent.appendChild(wrap);
    return t;
  }

  function layerBlock(parent, view) {
    var block = make("div", null, "neuron");
    block.appendChild(make("div", "The layer rule for " + view.heading, "to"));
    view.lines.forEach(function (l) { line(block, T(l)); });
    parent.appendChild(block);
  }

  function renderSummary(parent) {
    if (data.layers.length) {
      parent.appendChild(make("h3", "Layer by layer: δ = dL/dz, dL/dW = δ xᵀ, δ_prev = (Wᵀ δ) ⊙ f'(z)"));
      data.layers.forEach(function (view) { layerBlock(parent, view); });
    }
    parent.appendChild(make("h3", "Finite-difference check (h = 1e-6 × max(1, |x|))"));
    var t = table(parent, ["leaf", "gradient", "numeric", "check"], data.checks.map(function (c) {
      var passed = numbers.passed[c.check], kink = c.kink ? T(c.kink) : "";
      return [
        { text: c.name }, { text: T(c.analyticText), value: numbers.grads[c.node] },
        { text: T(c.numericText) }, { text: T(c.verdict), className: passed ? "pass" : "fail", title: kink || (c.error ? T(c.error) : "") },
      ];
    }));
    t.id = "checks";
    data.checks.forEach(function (c) {
      var kink = c.kink ? T(c.kink) : "";  // empty where these numbers are at no kink
      if (kink) { line(parent, c.name + ": " + kink, "kink"); }
    });
    data.kinks.forEach(function (k) { var said = T(k); if (said) { line(parent, said, "kink"); } });
    if (data.lr !== null) {
      parent.appendChild(make("h3", "One gradient-descent step: p ← p − lr × d" + data.rootName +
                              "/dp, lr = " + T(data.lrText)));
      var u = table(parent, ["parameter", "update", "new value"], data.updates.map(function (r, k) {
        return [{ text: r.name }, { text: T(r.equation) }, { text: T(r.afterText), value: numbers.updated[k] }];
      }));
      u.id = "updates";
      if (data.lossChange) { line(parent, T(data.lossChange), "loss-change"); }
    }
  }

  // -- navigation ---------------------------------------------------------------------------
  var current = 0;
  // sameStep: only the numbers changed (showNumbers), so the marks, the edge labels (live.js
  // writes their numbers) and the panels' scrolling stay as they are; nothing then reads the
  // layout, which would make the browser lay out the whole page within the edit.
  function show(k, keepFocus, sameStep) {
    var view = sameStep ? rowsInView() : null;
    current = Math.max(0, Math.min(steps.length - 1, k));
    var step = steps[current];
    // In quiz mode a step's own numbers stay hidden until its questions are answered.
    var state = stateAt(numbersShown(step) || current === 0 ? current : current - 1);
    if (!numbersShown(step) && step.phase === "seed") { state = stateAt(current); state.grads[data.root] = null; }
    renderStep(current, state);
    renderTable(current, state, view);
    paintGraph(current, state);
    if (!sameStep) {
      highlight(step);
      labelEdges(step);
    }
    paintCircuit(current, state, sameStep);
    slider.value = String(current);
    prev.disabled = current === 0;
    next.disabled = current === steps.length - 1;
    document.body.dataset.step = String(current);
    document.body.dataset.phase = step.phase;
    document.body.dataset.node = step.node === null ? "" : String(step.node);
    quiz.shown(keepFocus);
  }

  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (event) {
    var tag = event.target && event.target.tagName;
    if (event.target === slider || event.target === circuitBox || tag === "INPUT" ||
        tag === "SELECT" || tag === "TEXTAREA" ||
        event.altKey || event.ctrlKey || event.metaKey) { return; }
    var moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: steps.length - 1 };
    if (Object.prototype.hasOwnProperty.call(moves, event.key)) {
      event.preventDefault();
      show(moves[event.key]);
    }
  });
  // Show the page with other numbers (the live page's, after a learner edits a leaf): every
  // template on the page is filled again, the step, the table, the picture, the checks and the
  // update. `given` has the fields of the recorded numbers (values, grads, local, product,
  // before, after, seed; lr, updated, lossAfter, numeric, left, right, passed), arrays or
  // Float64Arrays, NaN or null where a number is missing; a field left out keeps its recorded
  // numbers. With no argument, the recorded numbers come back.
  function showNumbers(given) {
    numbers = given ? numbersOf(given, data.numbers) : recorded;
    show(current, true, true);
  }
  window.chainruleWalkthrough = {
    steps: steps, show: show, firstBackward: firstBackward, data: data, make: make, clear: clear,
    current: function () { return current; },
    useQuiz: function (hooks) { quiz = hooks; },
    // The live layer writes each row's exact numbers when (and only when) the row is written.
    watchRows: function (watcher) { rowWatchers.push(watcher); },
    // Whether rows of a long table are still to be written (after an edit, over a few frames).
    pendingRows: function () { return laterRows !== null; },
    showNumbers: showNumbers,
    numbers: function () { return numbers; }
  };
  show(0);
})();
