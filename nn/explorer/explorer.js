// The training explorer. Every number comes from the JSON block, computed by chainrule in
// Python; this script only draws it (it never evaluates the model), and it puts text into the
// page with textContent only.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("explorer-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var LOW = [0, 114, 178], HIGH = [230, 159, 0];
  var PALETTE = [[0, 114, 178], [230, 159, 0], [0, 158, 115], [204, 121, 167], [86, 180, 233],
    [213, 94, 0]];
  var frames = data.frames, layers = data.layers;
  var el = function (id) { return document.getElementById(id); };
  var slider = el("slider"), play = el("play"), counter = el("counter");
  slider.max = String(frames.length - 1);
  slider.value = "0";  // training is a story: it starts from the initial parameters

  function svg(tag, attributes, parent) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes || {}).forEach(function (k) { node.setAttribute(k, attributes[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function text(tag, content, attributes, parent) {
    var node = svg(tag, attributes, parent);
    node.textContent = content;
    return node;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function bytes(b64) {
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  function mix(colour, t) {
    return colour.map(function (c) { return Math.round(255 + (c - 255) * t); });
  }
  // A value in [0, 1] on the two-colour scale: 0.5 is white, the ends the two classes.
  function diverging(v, strength) {
    return v < 0.5 ? mix(LOW, (0.5 - v) * 2 * strength) : mix(HIGH, (v - 0.5) * 2 * strength);
  }
  function rgb(c) { return "rgb(" + c[0] + "," + c[1] + "," + c[2] + ")"; }
  function fmt(x) {
    if (x === null || x === undefined) { return "n/a"; }
    var a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) { return x.toExponential(2); }
    return String(Math.round(x * 10000) / 10000);
  }
  function percent(x) { return x === null || x === undefined ? "n/a" : Math.round(x * 1000) / 10 + "%"; }
  function labelColour(label) {
    if (data.mode === "binary") { return label === data.labels[1] ? HIGH : LOW; }
    return PALETTE[label % PALETTE.length];
  }

  var heatCache = frames.map(function () { return null; });
  var activationCache = frames.map(function () { return null; });
  function activationsOf(f) {
    if (!activationCache[f]) { activationCache[f] = bytes(frames[f].activations); }
    return activationCache[f];
  }
  var unitOffset = [], offset = 0, shown = data.pointIndex.length;
  layers.forEach(function (layer, l) {
    unitOffset[l] = [];
    for (var j = 0; j < layer.units; j++) { unitOffset[l][j] = offset; offset += shown; }
  });

  // -- the decision boundary -----------------------------------------------------------------
  var canvas = el("heat"), pointsSvg = el("points"), boundaryLine = null;
  if (data.grid) {
    boundaryLine = svg("path", { id: "boundary-line", fill: "none", stroke: "#1d2330",
      "stroke-width": 0.6 }, pointsSvg);
    canvas.width = data.grid;
    canvas.height = data.grid;
    var box = data.box;
    var px = function (x) { return (x - box[0]) / (box[1] - box[0]) * 100; };
    var py = function (y) { return (box[3] - y) / (box[3] - box[2]) * 100; };
    data.points.forEach(function (p, k) {
      svg("circle", { cx: px(p[0]), cy: py(p[1]), r: 1.5, fill: rgb(labelColour(data.pointLabels[k])),
        stroke: "#1d2330", "stroke-width": 0.4 }, pointsSvg);
    });
    data.chosenSamples.forEach(function (i) {
      var k = data.pointIndex.indexOf(i);
      if (k < 0) { return; }
      svg("circle", { cx: px(data.points[k][0]), cy: py(data.points[k][1]), r: 3.2, fill: "none",
        stroke: "#6f42c1", "stroke-width": 0.8 }, pointsSvg);
    });
    el("boundary-legend").textContent = data.mode === "binary"
      ? "Blue regions: the model says " + data.labels[0] + "; orange: " + data.labels[1]
        + ". Paler means less sure; the line is the decision boundary; circles are the data" + (data.chosenSamples.length
        ? ", ringed ones the samples you can step through below." : ".")
      : "Each colour is the class the model picks there; circles are the data.";
  } else {
    el("boundary").className = "empty";
    el("boundary-note").textContent = data.mode === "none"
      ? "No decision boundary: the targets are not class labels."
      : "The decision boundary is drawn for models with 2 inputs; this one has " + data.nin + ".";
  }
  // Where the shade crosses the middle (the decision threshold): marching squares between
  // cell centres, with the crossing placed by linear interpolation along each cell edge.
  function boundaryPath(values, n) {
    var parts = [], level = 127.5;
    var at = function (i, j) { return values[j * n + i]; };
    var cx = function (i) { return (i + 0.5) / n * 100; };
    for (var j = 0; j < n - 1; j++) {
      for (var i = 0; i < n - 1; i++) {
        var corners = [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], cuts = [];
        for (var k = 0; k < 4; k++) {
          var p = corners[k], q = corners[(k + 1) % 4];
          var u = at(p[0], p[1]) - level, w = at(q[0], q[1]) - level;
          if ((u < 0) !== (w < 0)) {
            var t = u / (u - w);
            cuts.push([cx(p[0] + (q[0] - p[0]) * t), cx(p[1] + (q[1] - p[1]) * t)]);
          }
        }
        for (var c = 0; c + 1 < cuts.length; c += 2) {
          parts.push("M" + cuts[c][0].toFixed(2) + " " + cuts[c][1].toFixed(2) + "L"
            + cuts[c + 1][0].toFixed(2) + " " + cuts[c + 1][1].toFixed(2));
        }
      }
    }
    return parts.join("");
  }
  function drawHeat(f) {
    if (!data.grid) { return; }
    if (data.mode === "binary") {
      boundaryLine.setAttribute("d", boundaryPath(bytes(frames[f].heat), data.grid));
    }
    if (!heatCache[f]) {
      var values = bytes(frames[f].heat), image = new ImageData(data.grid, data.grid);
      for (var i = 0; i < values.length; i++) {
        var c = data.mode === "binary" ? diverging(values[i] / 255, 0.55)
          : mix(PALETTE[values[i] % PALETTE.length], 0.35);
        image.data[4 * i] = c[0]; image.data[4 * i + 1] = c[1]; image.data[4 * i + 2] = c[2];
        image.data[4 * i + 3] = 255;
      }
      heatCache[f] = image;
    }
    canvas.getContext("2d").putImageData(heatCache[f], 0, 0);
  }

  // -- the network -----------------------------------------------------------------------------
  var net = el("network");
  var columns = [data.nin].concat(layers.map(function (l) { return l.units; }));
  var tallest = Math.max.apply(null, columns), step = 26, width = 420;
  var height = tallest * step + 40;
  net.setAttribute("viewBox", "0 0 " + width + " " + height);
  function position(c, j) {
    var x = 34 + c * (width - 68) / Math.max(1, columns.length - 1);
    var y = (height - 20 - columns[c] * step) / 2 + j * step + step / 2;
    return [x, y];
  }
  var edges = [];
  var edgeGroup = svg("g", {}, net);
  layers.forEach(function (layer, l) {
    edges[l] = [];
    for (var j = 0; j < layer.units; j++) {
      edges[l][j] = [];
      for (var i = 0; i < columns[l]; i++) {
        var a = position(l, i), b = position(l + 1, j);
        edges[l][j][i] = svg("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1] }, edgeGroup);
      }
    }
  });
  for (var i = 0; i < data.nin; i++) {
    var p = position(0, i);
    var g = svg("g", { "class": "input" }, net);
    svg("rect", { x: p[0] - 8, y: p[1] - 8, width: 16, height: 16, fill: "#fff", stroke: "#1d2330" }, g);
    text("text", "x" + (i + 1), { x: p[0] - 12, y: p[1] + 4, "text-anchor": "end" }, g);
  }
  var unitNodes = [];
  layers.forEach(function (layer, l) {
    unitNodes[l] = [];
    for (var j = 0; j < layer.units; j++) {
      var q = position(l + 1, j);
      var g = svg("g", { "class": "unit", tabindex: "0", role: "button",
        "aria-label": layer.name + " neuron " + j + " (" + layer.activation + ")" }, net);
      svg("circle", { cx: q[0], cy: q[1], r: 8 }, g);
      g.addEventListener("mouseenter", showUnit.bind(null, l, j));
      g.addEventListener("focus", showUnit.bind(null, l, j));
      g.addEventListener("click", showUnit.bind(null, l, j));
      unitNodes[l][j] = g;
    }
    var bottom = position(l + 1, 0);
    text("text", layer.name, { x: bottom[0], y: height - 6, "text-anchor": "middle" }, net);
  });
  text("text", "inputs", { x: position(0, 0)[0], y: height - 6, "text-anchor": "middle" }, net);

  function drawNetwork(f) {
    var weights = frames[f].weights, top = 0;
    weights.forEach(function (layer) {
      layer.forEach(function (unit) {
        unit.slice(0, -1).forEach(function (w) { top = Math.max(top, Math.abs(w)); });
      });
    });
    weights.forEach(function (layer, l) {
      layer.forEach(function (unit, j) {
        unit.slice(0, -1).forEach(function (w, i) {
          var line = edges[l][j][i];
          line.setAttribute("stroke", w >= 0 ? "#b35900" : "#0072b2");
          line.setAttribute("stroke-width", String(0.3 + 5.2 * Math.abs(w) / (top || 1)));
          line.setAttribute("stroke-opacity", "0.8");
        });
      });
    });
  }

  var selected = null;
  function showUnit(l, j) {
    if (selected) { unitNodes[selected[0]][selected[1]].classList.remove("current"); }
    selected = [l, j];
    unitNodes[l][j].classList.add("current");
    drawUnit(current());
  }
  function drawUnit(f) {
    if (!selected) { return; }
    var l = selected[0], j = selected[1], layer = layers[l];
    var summary = frames[f].units[l][j], weights = frames[f].weights[l][j];
    el("unit").className = "shown";
    el("unit-title").textContent = layer.name + " · neuron " + j + " (" + layer.activation
      + ") at epoch " + frames[f].epoch;
    var words = "On the " + shown + " samples shown: mean " + fmt(summary.mean) + ", min "
      + fmt(summary.min) + ", max " + fmt(summary.max);
    if (summary.active !== undefined) { words += "; active (> 0) on " + summary.active + " of " + shown; }
    if (summary.saturated !== undefined) { words += "; saturated on " + summary.saturated + " of " + shown; }
    words += ". Weights " + weights.slice(0, -1).map(fmt).join(", ") + "; bias "
      + fmt(weights[weights.length - 1]) + ".";
    el("unit-text").textContent = words;
    var picture = el("unit-picture"), values = activationsOf(f), start = unitOffset[l][j];
    clear(picture);
    if (data.grid) {
      data.points.forEach(function (p, k) {
        svg("circle", { cx: (p[0] - data.box[0]) / (data.box[1] - data.box[0]) * 100,
          cy: (data.box[3] - p[1]) / (data.box[3] - data.box[2]) * 100, r: 2.6,
          fill: rgb(diverging(values[start + k] / 255, 1)), stroke: "#1d2330",
          "stroke-width": 0.3 }, picture);
      });
    } else {
      for (var k = 0; k < shown; k++) {
        svg("rect", { x: k * 100 / shown, y: 0, width: 100 / shown + 0.05, height: 100,
          fill: rgb(diverging(values[start + k] / 255, 1)) }, picture);
      }
    }
  }

  // -- curves ----------------------------------------------------------------------------------
  var curves = data.curves, total = Math.max(1, data.totalEpochs);
  function chart(node, series, options) {
    var W = 420, H = options.height, right = 12, top = 24, bottom = 26;
    var values = [];
    series.forEach(function (s) { if (s.values) { s.values.forEach(function (v) { if (v !== null) { values.push(v); } }); } });
    var lo = options.lo !== undefined ? options.lo : Math.min.apply(null, values);
    var hi = options.hi !== undefined ? options.hi : Math.max.apply(null, values);
    // The axis starts right of its widest number (a loss of 1.23e-4 or 12345.6 is wide).
    var left = 52;
    [options.format(hi), options.format(lo)].forEach(function (label) {
      var probe = text("text", label, { x: 0, y: 0 }, node);
      var width = probe.getBBox ? probe.getBBox().width : 0;
      left = Math.max(left, Math.ceil(width || label.length * 8) + 10);
      node.removeChild(probe);
    });
    var log = options.log && lo > 0 && hi / lo > 20;
    var f = function (v) { return log ? Math.log(v) : v; };
    if (f(hi) === f(lo)) { hi = lo + 1; }
    var x = function (e) { return left + (W - left - right) * e / total; };
    var y = function (v) { return top + (H - top - bottom) * (1 - (f(v) - f(lo)) / (f(hi) - f(lo))); };
    svg("line", { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, "class": "axis" }, node);
    svg("line", { x1: left, y1: top, x2: left, y2: H - bottom, "class": "axis" }, node);
    text("text", options.format(hi), { x: left - 4, y: top + 4, "text-anchor": "end" }, node);
    text("text", options.format(lo), { x: left - 4, y: H - bottom, "text-anchor": "end" }, node);
    text("text", "0", { x: left, y: H - 8, "text-anchor": "middle" }, node);
    text("text", "epoch " + total, { x: W - right, y: H - 8, "text-anchor": "end" }, node);
    var legendX = W - right - 4;
    series.slice().reverse().forEach(function (s) {
      if (!s.values) { return; }
      var label = text("text", s.name, { x: legendX, y: 13, "text-anchor": "end" }, node);
      var widthGuess = s.name.length * 7 + 6;
      svg("line", { x1: legendX - widthGuess - 18, y1: 9, x2: legendX - widthGuess - 2, y2: 9,
        "class": "curve " + s.kind }, node);
      legendX -= widthGuess + 26;
      label.setAttribute("data-kind", s.kind);
      var pts = [];
      s.values.forEach(function (v, k) { if (v !== null) { pts.push(x(curves.epochs[k]) + "," + y(v)); } });
      svg("polyline", { points: pts.join(" "), "class": "curve " + s.kind }, node);
    });
    var cursor = svg("line", { y1: top, y2: H - bottom, "class": "cursor" }, node);
    return function (epoch) {
      cursor.setAttribute("x1", x(epoch)); cursor.setAttribute("x2", x(epoch));
    };
  }
  var lossCursor = chart(el("loss-chart"), [
    { name: "training loss", kind: "train", values: curves.loss },
    { name: "validation loss", kind: "validation", values: curves.valLoss }],
    { height: 170, log: true, format: fmt });
  var accuracyCursor = curves.accuracy ? chart(el("accuracy-chart"), [
    { name: "training accuracy", kind: "train", values: curves.accuracy },
    { name: "validation accuracy", kind: "validation", values: curves.valAccuracy }],
    { height: 120, lo: 0, hi: 1, format: percent }) : null;
  if (!accuracyCursor) { el("accuracy-chart").style.display = "none"; }

  // -- gradient norms --------------------------------------------------------------------------
  var gradientChart = el("gradient-chart"), norms = [];
  frames.forEach(function (fr) { if (fr.gradientNorms) { fr.gradientNorms.forEach(function (n) { if (n > 0) { norms.push(n); } }); } });
  var gHi = norms.length ? Math.max.apply(null, norms) : 1;
  var gLo = norms.length ? Math.min(Math.min.apply(null, norms), gHi / 10) : 0.1;
  gradientChart.setAttribute("viewBox", "0 0 420 " + (layers.length * 22 + 34));
  function drawGradients(f) {
    clear(gradientChart);
    var values = frames[f].gradientNorms;
    if (!values) {
      el("gradient-note").textContent = "Epoch 0 is before training: no gradient has been computed yet.";
      return;
    }
    el("gradient-note").textContent = "Norm of each layer's parameter gradients at the last step of epoch "
      + frames[f].epoch + ", on a log scale from " + fmt(gLo) + " to " + fmt(gHi)
      + ": a first layer far shorter than the last means vanishing gradients.";
    var left = 62, right = 70, span = 420 - left - right, scale = Math.log(gHi / gLo) || 1;
    values.forEach(function (n, l) {
      var yTop = 8 + l * 22;
      var w = n > 0 ? Math.max(1, span * Math.log(n / gLo) / scale) : 0;
      text("text", layers[l].name, { x: left - 6, y: yTop + 13, "text-anchor": "end" }, gradientChart);
      svg("rect", { x: left, y: yTop, width: w, height: 16, "class": "bar" }, gradientChart);
      text("text", fmt(n), { x: left + w + 4, y: yTop + 13 }, gradientChart);
    });
  }

  // -- walkthrough links -----------------------------------------------------------------------
  function drawLinks(f) {
    var list = el("walkthroughs");
    clear(list);
    var epoch = frames[f].epoch;
    if (!data.walkthroughs.length) {
      var note = document.createElement("li");
      note.className = "note";
      note.textContent = data.chosenSamples.length
        ? "save_html() writes the step-by-step pages of samples " + data.chosenSamples.join(", ")
          + " next to the page; this inline view has no files to link to."
        : "Give explore() (or save_html) the loss to link step-by-step walkthroughs of chosen samples.";
      list.appendChild(note);
      return;
    }
    data.chosenSamples.forEach(function (sample) {
      var pages = data.walkthroughs.filter(function (w) { return w.sample === sample; });
      var best = pages[0];
      pages.forEach(function (w) { if (w.epoch <= epoch) { best = w; } });
      var item = document.createElement("li"), link = document.createElement("a");
      link.href = best.href;
      link.textContent = "Sample " + sample + ": its loss at epoch " + best.epoch + ", step by step";
      item.appendChild(link);
      list.appendChild(item);
    });
  }

  // -- the current frame -----------------------------------------------------------------------
  function current() { return Number(slider.value); }
  function show(f) {
    var frame = frames[f];
    document.body.setAttribute("data-frame", String(f));
    counter.textContent = "epoch " + frame.epoch + " of " + data.totalEpochs;
    drawHeat(f);
    drawNetwork(f);
    drawUnit(f);
    lossCursor(frame.epoch);
    if (accuracyCursor) { accuracyCursor(frame.epoch); }
    var words = frame.epoch === 0 ? "Epoch 0: the starting parameters, before any step."
      : "Epoch " + frame.epoch + ": loss " + fmt(frame.loss)
        + (frame.accuracy !== null ? ", accuracy " + percent(frame.accuracy) : "")
        + (frame.valLoss !== null ? "; validation loss " + fmt(frame.valLoss) : "")
        + (frame.valAccuracy !== null ? ", validation accuracy " + percent(frame.valAccuracy) : "") + ".";
    el("curve-values").textContent = words;
    drawGradients(f);
    drawLinks(f);
  }
  slider.addEventListener("input", function () { show(current()); });

  var timer = null;
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.textContent = "▶ Play";
    play.setAttribute("aria-pressed", "false");
  }
  play.addEventListener("click", function () {
    if (timer !== null) { stop(); return; }
    if (current() === frames.length - 1) { slider.value = "0"; show(0); }
    play.textContent = "❚❚ Pause";
    play.setAttribute("aria-pressed", "true");
    timer = setInterval(function () {
      var next = current() + 1;
      if (next >= frames.length) { stop(); return; }
      slider.value = String(next);
      show(next);
    }, 300);
  });
  slider.addEventListener("keydown", function () { stop(); });
  show(current());
}());
