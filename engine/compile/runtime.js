// chainrule's JavaScript runtime: what a program emitted by emit_javascript needs to recompute
// a recorded graph in a page. The functions of the primitive table, each computing and refusing
// what its Python float function does; Python's float repr; chainrule's errors, with Python's
// very messages (their wording comes from Python as data: WORDING below); and the program's
// driver (run, forward, backward, the finite-difference check). Plain script: no eval, no
// new Function, no export, so a page can inline it under a Content-Security-Policy hash and an
// ES module can include it. It defines chainruleRuntime, ChainruleError and pyRepr.
const chainruleRuntime = ((wording) => {
  "use strict";

  // A chainrule error: kind is the Python class's name ("DomainError", "DivisionByZeroError",
  // "NumericOverflowError", "GradientError"), node the node's number, message Python's message.
  class ChainruleError extends Error {
    constructor(kind, node, message) {
      super(message);
      this.name = kind;
      this.kind = kind;
      this.node = node;
    }
  }

  // What a function refuses, said by the step that called it (forward or backward); node is
  // known only to a step's own finiteness check.
  class Refusal {
    constructor(kind, text, node) {
      this.kind = kind;
      this.text = text;
      this.node = node;
    }
  }

  // Python's repr of a float: the shortest digits that round-trip, in fixed notation when the
  // decimal point falls within 16 digits to the left and 4 zeros to the right, else with an
  // exponent of at least two digits ('1e-05', '1.5e+16'); '.0' ends a whole number.
  function pyRepr(x) {
    // Where both write a number in positional notation, JavaScript's shortest round-trip digits
    // are Python's repr, "1" aside ("1.0"): the fast path of a page writing thousands of them.
    const size = Math.abs(x);
    if (size >= 1e-4 && size < 1e16) {
      const text = String(x);
      return text.indexOf(".") < 0 ? `${text}.0` : text;
    }
    if (Number.isNaN(x)) { return "nan"; }
    if (x === Infinity) { return "inf"; }
    if (x === -Infinity) { return "-inf"; }
    const sign = x < 0 || Object.is(x, -0) ? "-" : "";
    const [mantissa, exponent] = Math.abs(x).toExponential().split("e");
    const digits = mantissa.replace(".", "");
    const point = Number(exponent) + 1; // x = 0.digits * 10^point
    if (point > 16 || point < -3) {
      const written = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
      const e = Math.abs(point - 1);
      return `${sign}${written}e${point - 1 < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
    }
    if (point <= 0) { return `${sign}0.${"0".repeat(-point)}${digits}`; }
    if (point >= digits.length) { return `${sign}${digits}${"0".repeat(point - digits.length)}.0`; }
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }

  function refuse(kind, text) { throw new Refusal(kind, text); }
  const reasons = wording.reasons;
  const raised = wording.raised;

  // The functions of the primitive table (engine/primitives.py FUNCTIONS), and Python's / and
  // ** on floats, which raise where JavaScript gives inf or NaN.
  const functions = {
    exp: (x) => { const r = Math.exp(x); return r === Infinity ? refuse("NumericOverflowError", raised.exp) : r; },
    log: (x) => (x <= 0 ? refuse("DomainError", reasons.log) : Math.log(x)),
    log1p: (x) => (x <= -1 ? refuse("DomainError", reasons.log1p) : Math.log1p(x)),
    sqrt: (x) => (x < 0 ? refuse("DomainError", reasons.sqrt) : Math.sqrt(x)),
    tanh: Math.tanh,
    sin: Math.sin,
    cos: Math.cos,
    tan: Math.tan,
    fabs: Math.abs,
    // Two branches so that exp never sees a large positive argument, as in Python.
    sigmoid: (x) => {
      if (x >= 0) { return 1 / (1 + Math.exp(-x)); }
      const z = Math.exp(x);
      return z / (1 + z);
    },
    softplus: (x) => (x >= 0 ? x : 0) + Math.log1p(Math.exp(-Math.abs(x))),
    logSigmoid: (x) => (x <= 0 ? x : 0) - Math.log1p(Math.exp(-Math.abs(x))),
    power: (x, y) => (x < 0 && !Number.isInteger(y) ? refuse("DomainError", reasons.power) : pow(x, y)),
    div: (x, y) => (y === 0 ? refuse("DivisionByZeroError", raised.division) : x / y),
    pow,
    // A step's result, unless it is not finite (Python raises where JavaScript gives inf).
    fin: (x, node) => {
      if (x - x !== 0) { throw new Refusal("NumericOverflowError", "", node); }
      return x;
    },
  };

  // Python's float ** : 0 to a negative power divides by zero, an overflow raises, and a
  // negative base with a fractional exponent (which Python makes complex) is refused.
  function pow(x, y) {
    if (y === 0) { return 1; }
    if (x === 0 && y < 0) { return refuse("DivisionByZeroError", raised.zeroPower); }
    if (x < 0 && !Number.isInteger(y)) { return refuse("DomainError", reasons.power); }
    const r = Math.pow(x, y);
    return r - r === 0 ? r : refuse("NumericOverflowError", raised.power);
  }

  function format(template, fields) {
    return template.replace(/\{(\w+)\}/g, (_, name) => fields[name]);
  }

  // A program's graph, as its data says: how node i is written and described in messages.
  function graphOf(spec) {
    const operands = (i, v) => {
      const found = [];
      for (let j = spec.inputStart[i]; j < spec.inputStart[i + 1]; j++) { found.push(v[spec.inputs[j]]); }
      return found;
    };
    return {
      operation: (i) => spec.ops[spec.opOf[i]],
      expression(i, v) {
        const values = operands(i, v);
        return this.operation(i)[1].map((part) => (typeof part === "number" ? pyRepr(values[part]) : part)).join("");
      },
      describe(i, v) {
        const [before, after] = spec.described[spec.describedOf[i]];
        return `${before}${pyRepr(v[i])}${after}`;
      },
    };
  }

  function forwardError(graph, error, node, v) {
    const fields = { op: graph.operation(node)[0], expression: graph.expression(node, v), reason: error.text };
    return new ChainruleError(error.kind, node, format(wording.forward[error.kind], fields));
  }

  // A program from its emitted spec: the object of live-interface.md.
  function program(spec) {
    const n = spec.size, m = spec.contributions, root = spec.root, targets = spec.targets;
    const graph = graphOf(spec);

    function forward(values) {
      const state = { at: -1 };
      try {
        for (const part of spec.forward) { part(values, state); }
      } catch (error) {
        if (!(error instanceof Refusal)) { throw error; }
        throw forwardError(graph, error, error.node === undefined ? state.at : error.node, values);
      }
      return values[root];
    }

    // The backward pass's working state: one run's arrays, which the generated parts reach
    // through c (one object, its functions made once, so that the engine inlines them).
    let v, g, local, product, before, after;
    const c = {
      at: -1,
      give(k, u, l) {
        const t = targets[k], p = l === 0 ? 0 : u * l, b = g[t];
        local[k] = l; product[k] = p; before[k] = b;
        g[t] = after[k] = b + p;
      },
      skip(from, to) {
        for (let k = from; k < to; k++) { before[k] = after[k] = g[targets[k]]; }
      },
      // Node i's gradient, reached in the backward pass: it must be finite.
      up(i) {
        const u = g[i];
        if (u - u !== 0) {
          throw new ChainruleError("GradientError", i, format(wording.nonFinite, {
            caller: "backward", name: graph.describe(i, v), gradient: pyRepr(u) }));
        }
        return u;
      },
    };

    // The chain rule by engine/chain_rule.py's rules, recording every contribution k.
    function backward(values) {
      v = values;
      // One buffer for the five arrays: one allocation per run instead of five.
      const buffer = new ArrayBuffer(8 * (n + 4 * m));
      g = new Float64Array(buffer, 0, n);
      [local, product, before, after] = [0, 1, 2, 3].map((j) => new Float64Array(buffer, 8 * (n + j * m), m));
      local.fill(NaN);
      product.fill(NaN);
      g[root] = spec.seed;
      c.at = -1;
      try {
        for (const part of spec.backward) { part(v, g, c); }
      } catch (error) {
        if (!(error instanceof Refusal)) { throw error; }
        throw new ChainruleError("GradientError", c.at, format(wording.undefinedDerivative, {
          caller: "backward", name: graph.describe(c.at, v), at: graph.expression(c.at, v), reason: error.text }));
      }
      for (const i of spec.constants) { g[i] = NaN; }
      return { values: v, grads: g, local, product, before, after, seed: spec.seed };
    }

    function run(leafValues) {
      const v = spec.initial.slice();
      spec.leaves.forEach((i, j) => { v[i] = leafValues[j]; });
      forward(v);
      return backward(v);
    }

    return {
      size: n, contributions: m, leaves: spec.leaves.slice(), initial: spec.initial.slice(),
      run, forward, check: (values, i, grads) => check(values, i, grads === undefined ? backward(values.slice()).grads : grads),
    };

    // The nodes whose value depends on node i, as a mask.
    function dependants(i) {
      const reached = new Uint8Array(n);
      reached[i] = 1;
      for (let j = i + 1; j < n; j++) {
        for (let p = spec.inputStart[j]; p < spec.inputStart[j + 1]; p++) {
          if (reached[spec.inputs[p]]) { reached[j] = 1; break; }
        }
      }
      return reached;
    }

    // engine/explain/trace.py's _finite_difference_checks for leaf i, on these values.
    function check(values, i, grads) {
      const analytic = grads[i], x = values[i], h = 1e-6 * Math.max(1, Math.abs(x));
      const at = (value) => {
        const v = values.slice();
        v[i] = value;
        return spec.seed * forward(v);
      };
      const agrees = (a, b) => b - b === 0 && Math.abs(a - b) <= wording.atol + wording.rtol * Math.abs(b);
      const oneSided = (side) => {
        try {
          return side * (-3.0 * at(x) + 4.0 * at(x + side * h) - at(x + 2.0 * side * h)) / (2.0 * h);
        } catch (error) {
          if (error instanceof ChainruleError) { return null; }
          throw error;
        }
      };
      const result = (numeric, passed, error = null, left = null, right = null) => (
        { numeric, left, right, step: h, passed, error });
      let numeric;
      try {
        numeric = (at(x + h) - at(x - h)) / (2.0 * h);
      } catch (error) {
        if (!(error instanceof ChainruleError)) { throw error; }
        const slopes = [oneSided(1.0), oneSided(-1.0)].filter((s) => s !== null);
        const one = slopes.length ? slopes[0] : null;
        const passed = one !== null && agrees(analytic, one);
        const reason = slopes.length ? format(wording.oneSided, { error: error.message }) : error.message;
        return result(one, passed, passed ? null : reason);
      }
      let kink = false;
      if (spec.kinks.length) {
        const reached = dependants(i);
        kink = spec.kinks.some(([node, holds]) => reached[node] && holds(values));
      }
      if (agrees(analytic, numeric) && !kink) { return result(numeric, true); }
      const left = oneSided(-1.0), right = oneSided(1.0);
      if (left === null || right === null || agrees(left, right)) {
        return result(numeric, agrees(analytic, numeric));
      }
      const passed = agrees(analytic, left) || agrees(analytic, right) || agrees(analytic, (left + right) / 2.0)
        || (Math.min(left, right) <= analytic && analytic <= Math.max(left, right));
      return result(numeric, passed, null, left, right);
    }
  }

  return { ChainruleError, pyRepr, functions, program };
})(/* WORDING */);
const { ChainruleError, pyRepr } = chainruleRuntime;
