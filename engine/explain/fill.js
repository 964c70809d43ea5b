// Filling the lesson's templates in the browser: the same text Python writes
// (chainrule/engine/explain/template.py), with whatever numbers the page holds. Ports of
// naming.format_number, naming.operand_text and circuit.short. A plain script: it defines
// chainruleFill and, from it, fillTemplate, formatNumber, operandText, shortNumber and
// pageNumber, and nothing else.
var chainruleFill = (function () {
  "use strict";

  // Python's repr of a float is the program's runtime's (engine/compile/runtime.js), which every
  // page and widget carries before this script: one implementation writes the page.
  if (typeof pyRepr !== "function") {
    throw new Error("fill.js needs chainrule's JavaScript runtime (its pyRepr) loaded before it");
  }
  var repr = pyRepr;

  // The significant digits of |x| rounded to `precision` of them as Python rounds them: the exact
  // binary value, a half to even (toExponential(precision - 1) would round a half up). Returns
  // {digits, exponent}. toExponential(100) is the exact value to 101 digits, enough to tell a
  // true half from a near one.
  function roundedDigits(x, precision) {
    // JavaScript rounds the exact value to nearest too, and differs only on an exact half (it
    // rounds it up): one more digit that is not a 5 rules that out, and saves the long way.
    var longer = Math.abs(x).toExponential(precision);
    if (longer.charAt(longer.indexOf("e") - 1) !== "5") {
      var short = Math.abs(x).toExponential(precision - 1).split("e");
      return { digits: short[0].replace(".", ""), exponent: Number(short[1]) };
    }
    var exact = Math.abs(x).toExponential(100).split("e");
    var all = exact[0].replace(".", ""), exponent = Number(exact[1]);
    var kept = all.slice(0, precision), rest = all.slice(precision);
    var half = "5" + "0".repeat(rest.length - 1);
    var up = rest > half || (rest === half && Number(kept[kept.length - 1]) % 2 === 1);
    if (up) {
      var digits = kept.split("").map(Number), at = digits.length - 1;
      while (at >= 0 && digits[at] === 9) { digits[at] = 0; at -= 1; }
      if (at < 0) { digits.unshift(1); digits.pop(); exponent += 1; } else { digits[at] += 1; }
      kept = digits.join("");
    }
    return { digits: kept, exponent: exponent };
  }

  // Python's format(x, ".{precision}g") for a finite x.
  function formatG(x, precision) {
    if (x === 0) { return Object.is(x, -0) ? "-0" : "0"; }
    var p = precision === 0 ? 1 : precision;
    var r = roundedDigits(x, p), sign = x < 0 ? "-" : "";
    var digits = r.digits, exponent = r.exponent, text;
    if (exponent >= -4 && exponent < p) {
      if (exponent < 0) {
        text = "0." + "0".repeat(-exponent - 1) + digits;
      } else {
        text = digits.slice(0, exponent + 1) + "." + digits.slice(exponent + 1);
      }
      if (text.indexOf(".") >= 0) { text = text.replace(/0+$/, "").replace(/\.$/, ""); }
      return sign + text;
    }
    var mantissa = digits[0] + "." + digits.slice(1);
    mantissa = mantissa.replace(/0+$/, "").replace(/\.$/, "");
    var e = Math.abs(exponent);
    return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (e < 10 ? "0" : "") + e;
  }

  // naming.format_number: whole numbers without ".0", short floats as Python's repr, long ones
  // to `digits` significant digits; -0.0 is 0.
  function formatNumber(x, digits) {
    x = x + 0;  // -0 + 0 is 0
    if (Number.isInteger(x) && Math.abs(x) < 1e15) { return String(x); }
    var exact = repr(x);
    if (exact.length <= digits + 4) { return exact; }
    if (!isFinite(x)) { return exact; }
    return formatG(x, digits);
  }

  // naming.operand_text: a negative number (or anything but a plain name) in parentheses.
  function operandText(text) {
    return text[0] === "-" || !/^[\w.#']+$/u.test(text) ? "(" + text + ")" : text;
  }

  // circuit.short: a number as the pictures write it, 4 significant digits.
  function shortNumber(x) {
    return formatNumber(x, 4);
  }

  // The numbers a slot kind reads (template.py's KINDS), by the page's field names.
  var TEMPLATE_FIELDS = {
    v: "values", g: "grads", l: "local", p: "product", b: "before", a: "after", seed: "seed",
    lr: "lr", u: "updated", loss: "lossAfter", cn: "numeric", cl: "left", cr: "right"
  };

  function slotNumber(slot, numbers) {
    var field = numbers[TEMPLATE_FIELDS[slot.slot]];
    var x = typeof field === "number" || field === null || field === undefined ? field
      : field[slot.i];
    return pageNumber(x);
  }

  // A number of the page's data: JSON writes an infinite or NaN float as "inf", "-inf" or "nan"
  // (html.json_for_script), and a missing one (None) as null, which the page takes as NaN.
  function pageNumber(x) {
    if (x === null || x === undefined) { return NaN; }
    if (typeof x === "string") { return x === "inf" ? Infinity : x === "-inf" ? -Infinity : NaN; }
    return x;
  }

  function refNumber(ref, numbers) {
    return typeof ref === "number" ? ref : slotNumber(ref, numbers);
  }

  var TEMPLATE_COMPARE = {
    "<": function (a, b) { return a < b; }, "<=": function (a, b) { return a <= b; },
    ">": function (a, b) { return a > b; }, ">=": function (a, b) { return a >= b; },
    "==": function (a, b) { return a === b; }, "!=": function (a, b) { return a === a && b === b && a !== b; }
  };

  function conditionHolds(when, numbers) {
    if (when === null) { return true; }
    if (when.compare) {
      return TEMPLATE_COMPARE[when.compare[1]](refNumber(when.compare[0], numbers),
                                               refNumber(when.compare[2], numbers));
    }
    if (when.zero !== undefined) { return numbers.grads[when.zero] === 0; }
    if (when.known) { return !isNaN(slotNumber(when.known, numbers)); }
    if (when.recorded) { return Boolean(numbers.recorded); }
    return Boolean(numbers.passed[when.passed]);
  }

  // A template (a list of strings, slots and choices) written with `numbers`.
  // `holes`: the values of the template's holes by name (template.Hole), numbers the page
  // computes itself or names; a sentence of holes alone needs no `numbers`.
  function fillTemplate(template, numbers, digits, holes) {
    var out = "";
    template.forEach(function (part) {
      if (typeof part === "string") { out += part; return; }
      if (part.hole !== undefined) {
        var value = holes[part.hole];
        if (part.as === "text" || typeof value === "string") { out += String(value); return; }
        if (part.as === "repr") { out += repr(value); return; }
        var written = formatNumber(value, digits);
        out += part.as === "operand" ? operandText(written) : written;
        return;
      }
      if (part.choose) {
        for (var v = 0; v < part.choose.length; v++) {
          if (conditionHolds(part.choose[v].when, numbers)) {
            out += fillTemplate(part.choose[v].text, numbers, digits, holes);
            return;
          }
        }
        return;
      }
      var x = slotNumber(part, numbers);
      if (part.as === "short") { out += shortNumber(x); return; }
      var text = formatNumber(x, digits);
      out += part.as === "operand" ? operandText(text) : text;
    });
    return out;
  }

  return { fillTemplate: fillTemplate, formatNumber: formatNumber, operandText: operandText,
           shortNumber: shortNumber, pageNumber: pageNumber, repr: repr };
})();
var fillTemplate = chainruleFill.fillTemplate, formatNumber = chainruleFill.formatNumber,
  operandText = chainruleFill.operandText, shortNumber = chainruleFill.shortNumber,
  pageNumber = chainruleFill.pageNumber;
